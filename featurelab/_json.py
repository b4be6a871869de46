"""JSON in and out: one sanitiser for what featurelab writes, one guarded reader for what it reads.

Results, settings and metadata hold numpy scalars and arrays, NaN and paths; :func:`to_jsonable` turns
them into plain JSON (NaN and infinities become ``null``). Files written by others may be hostile or
damaged: :func:`read_json` bounds their size, nesting and numbers, and reports any problem as one
:class:`~featurelab.exceptions.FeaturelabError` line instead of a traceback.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from .exceptions import FeaturelabError

__all__ = ["to_jsonable", "dumps", "write_json", "read_json"]

#: Largest JSON file :func:`read_json` accepts by default (run files are a few hundred kB).
MAX_BYTES = 64 * 2**20
#: Deepest nesting :func:`read_json` accepts (featurelab's own files nest fewer than 10 levels).
MAX_DEPTH = 64


def to_jsonable(value: Any) -> Any:
    """Return a copy of ``value`` made of plain JSON types.

    numpy scalars and arrays become Python numbers and lists, tuples and sets become lists, mapping
    keys become strings, NaN and infinities become ``None``, paths become strings and any other
    object its ``repr``.

    Examples
    --------
    >>> import numpy as np
    >>> to_jsonable({"a": np.float64(0.5), "b": (1, float("nan")), 3: np.arange(2)})
    {'a': 0.5, 'b': [1, None], '3': [0, 1]}
    """
    if isinstance(value, dict):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(item) for item in value]
    if hasattr(value, "tolist") and type(value).__module__ == "numpy":  # arrays and scalars
        return to_jsonable(value.tolist())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return repr(value)


def dumps(value: Any, *, indent: int | None = 2) -> str:
    """Serialize ``value`` (sanitised with :func:`to_jsonable`) as strict JSON text."""
    return json.dumps(to_jsonable(value), indent=indent, allow_nan=False)


def write_json(path: str | os.PathLike, value: Any) -> Path:
    """Write ``value`` as JSON to ``path`` atomically (a temporary file renamed into place)."""
    from .io import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(dumps(value) + "\n", encoding="utf-8")
    return path


def _bounded_int(text: str) -> int | float:
    # Beyond 2**63 an integer is not a count featurelab writes; keep it as a float (inf if huge).
    if len(text.lstrip("-")) > 18:
        return float(text) if len(text) < 300 else (math.inf if text[0] != "-" else -math.inf)
    return int(text)


def _depth(value: Any, limit: int) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            stack.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, level + 1) for child in item)
    return deepest


def read_json(path: str | os.PathLike, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """Read a JSON file defensively.

    Parameters
    ----------
    path : path
        The file.
    max_bytes : int
        Larger files are refused.
    max_depth : int
        More deeply nested documents are refused.

    Returns
    -------
    object
        The document. ``NaN``/``Infinity`` literals and integers of more than 18 digits are read as
        floats, so a number never needs unbounded work to format.

    Raises
    ------
    FeaturelabError
        The file is missing, unreadable, too large, not JSON, or nested too deeply.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise FeaturelabError(
                f"{str(path)!r} is {size / 2**20:.0f} MB; featurelab reads JSON files of at most "
                f"{max_bytes / 2**20:.0f} MB."
            )
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise FeaturelabError(f"Cannot read {str(path)!r} ({error.strerror or error}).") from None
    except UnicodeDecodeError:
        raise FeaturelabError(f"{str(path)!r} is not UTF-8 text.") from None
    try:
        data = json.loads(text, parse_int=_bounded_int)
        if _depth(data, max_depth) > max_depth:
            raise RecursionError
    except RecursionError:
        raise FeaturelabError(
            f"{str(path)!r} nests deeper than {max_depth} levels; it is not a featurelab file."
        ) from None
    except ValueError as error:
        raise FeaturelabError(f"{str(path)!r} is not valid JSON: {error}") from None
    return data
