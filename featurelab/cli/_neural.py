"""Commands: placeholder, filled in by its own issue."""

from __future__ import annotations

from ._app import app  # noqa: F401
