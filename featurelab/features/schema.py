"""Column names of the published GTZAN feature tables (``features_30_sec.csv`` / ``features_3_sec.csv``).

The compatibility target: same names, same order. ``filename`` and ``length`` come first and ``label``
last; featurelab appends ``group``, ``start`` and ``end`` after ``label`` only when the input was a
manifest that has them.
"""

from __future__ import annotations

__all__ = [
    "GTZAN_FEATURE_COLUMNS",
    "META_LEADING",
    "META_TRAILING",
    "NON_FEATURE_COLUMNS",
    "gtzan_columns",
]

META_LEADING = ("filename", "length")
META_TRAILING = ("label",)
#: Columns that are never model features (used by the model code to pick feature columns).
NON_FEATURE_COLUMNS = ("filename", "length", "label", "group", "start", "end", "path", "augmented")


def _feature_columns() -> tuple[str, ...]:
    names: list[str] = []
    for base in (
        "chroma_stft",
        "rms",
        "spectral_centroid",
        "spectral_bandwidth",
        "rolloff",
        "zero_crossing_rate",
        "harmony",
        "perceptr",
    ):
        names += [f"{base}_mean", f"{base}_var"]
    names.append("tempo")
    for i in range(1, 21):
        names += [f"mfcc{i}_mean", f"mfcc{i}_var"]
    return tuple(names)


#: The 57 feature columns of the published tables, in order.
GTZAN_FEATURE_COLUMNS: tuple[str, ...] = _feature_columns()


def gtzan_columns() -> list[str]:
    """All 60 columns of ``features_30_sec.csv``: ``filename, length, <57 features>, label``."""
    return [*META_LEADING, *GTZAN_FEATURE_COLUMNS, *META_TRAILING]
