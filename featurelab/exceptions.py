"""Exceptions raised by featurelab.

Every error that featurelab raises on purpose derives from :class:`FeaturelabError`, so a caller (and the
command-line interface) can tell a known, explainable failure from a bug.
"""

from __future__ import annotations

__all__ = [
    "FeaturelabError",
    "ParameterError",
    "AudioLoadError",
    "TableError",
    "ModelFileError",
]


class FeaturelabError(Exception):
    """Base class of all errors raised deliberately by featurelab."""


class ParameterError(FeaturelabError, ValueError):
    """An argument is outside its allowed range or has the wrong type.

    Messages follow scikit-learn's form: what, the constraint, what was given, and what to do next.
    """


class AudioLoadError(FeaturelabError):
    """An audio file could not be decoded into a usable signal (corrupt, empty, unsupported, ...)."""

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class TableError(FeaturelabError, ValueError):
    """A feature table is missing columns, has no usable rows, or cannot be read."""


class ModelFileError(FeaturelabError):
    """A saved model file is missing, corrupt, untrusted or does not match the data."""
