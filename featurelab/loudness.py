"""Loudness normalisation: features that do not move with the gain of the input.

Seven of the 57 GTZAN features follow the input gain (``rms_mean/var``, ``harmony_mean/var``,
``perceptr_mean/var`` scale with it, ``mfcc1_mean`` shifts with it; the other 50 are ratios or
shapes and do not move), and musicnn's log-compressed mel input moves every embedding a little. A
model trained on loud studio masters then meets a quiet phone recording with features it never
saw. ``extract --normalize`` scales each unit (the file of a track row, the window of a segment
row) before its features:

- ``"none"``: as decoded (the published tables);
- ``"peak"``: to a peak of 1 (0 dBFS);
- ``"rms"``: to an RMS of :data:`RMS_TARGET` (-20 dBFS), the level of typical mastered music.

A (near) silent unit is left as it is. ``predict`` applies the model's option to new audio.

Examples
--------
>>> import numpy as np
>>> y = np.array([[0.5, -0.25, 0.0, 0.25]], dtype=np.float32)
>>> normalize_units(y, "peak")
array([[ 1. , -0.5,  0. ,  0.5]], dtype=float32)
>>> normalize_units(0.01 * y, "rms").round(4)
array([[ 0.1633, -0.0816,  0.    ,  0.0816]], dtype=float32)
>>> normalize_units(y, "none") is y
True
"""

from __future__ import annotations

import numpy as np

from .exceptions import ParameterError
from .settings import NORMALIZE_METHODS

__all__ = ["normalize_units", "RMS_TARGET", "SILENCE", "NORMALIZE_METHODS"]

#: RMS of a unit after ``normalize="rms"`` (-20 dBFS).
RMS_TARGET = 0.1

#: Units whose peak is below this are (near) silent and left unscaled (-120 dBFS).
SILENCE = 1e-6


def normalize_units(units: np.ndarray, method: str) -> np.ndarray:
    """Scale each unit (the last axis) to a common peak or RMS level.

    Parameters
    ----------
    units : np.ndarray [shape=(..., n)]
        Signals, one per row.
    method : {"none", "peak", "rms"}
        ``"none"`` returns ``units`` itself; otherwise a scaled float32 copy.

    Returns
    -------
    np.ndarray [shape=(..., n), dtype=float32]
        The scaled units; silent rows (peak below :data:`SILENCE`) unchanged.
    """
    if method == "none":
        return units
    if method not in NORMALIZE_METHODS:
        raise ParameterError(
            f"normalize must be one of {', '.join(NORMALIZE_METHODS)}. Got {method!r} instead."
        )
    units = np.asarray(units, dtype=np.float32)
    wide = units.astype(np.float64)
    peak = np.max(np.abs(wide), axis=-1, keepdims=True) if units.shape[-1] else np.zeros(units.shape)
    level = peak if method == "peak" else np.sqrt(np.mean(wide**2, axis=-1, keepdims=True))
    target = 1.0 if method == "peak" else RMS_TARGET
    scale = np.where(peak >= SILENCE, target / np.maximum(level, np.finfo(np.float64).tiny), 1.0)
    return (wide * scale).astype(np.float32)
