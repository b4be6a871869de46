"""Numbers as people read them: one formatter for scores in tables, reports and summaries."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["finite", "format_number", "format_mean_std"]


def finite(value: Any) -> float | None:
    """Return ``value`` as a finite float, or ``None`` (missing, NaN, infinite, text, bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def format_number(value: Any, digits: int = 4, *, missing: str = "-") -> str:
    """Format a number with ``digits`` decimals; ``missing`` for anything that is not finite.

    Examples
    --------
    >>> format_number(0.81234), format_number(None), format_number(float("nan"), missing="–")
    ('0.8123', '-', '–')
    """
    number = finite(value)
    return missing if number is None else f"{number:.{digits}f}"


def format_mean_std(mean: Any, std: Any = None, digits: int = 4, *, missing: str = "-") -> str:
    """Format ``mean ± std`` (``mean`` alone when ``std`` is missing; ``missing`` without a mean).

    Examples
    --------
    >>> format_mean_std(0.8, 0.02), format_mean_std(0.8, None), format_mean_std(None, 0.1)
    ('0.8000 ± 0.0200', '0.8000', '-')
    """
    if finite(mean) is None:
        return missing
    text = format_number(mean, digits)
    return text if finite(std) is None else f"{text} ± {format_number(std, digits)}"
