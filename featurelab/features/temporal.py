"""Frame statistics computed on the waveform, counted once per sample rather than once per frame.

:func:`librosa.feature.zero_crossing_rate` frames the signal (each sample appears in
``frame_length / hop_length`` overlapping frames) and tests every framed sample. A zero crossing is
a property of a pair of neighbouring samples, so :func:`zero_crossing_rate` tests each pair once and
counts the crossings inside each frame with a cumulative sum: integer counts, hence the same rates.
"""

from __future__ import annotations

import numpy as np

__all__ = ["zero_crossing_rate"]


def zero_crossing_rate(
    y: np.ndarray, *, frame_length: int = 2048, hop_length: int = 512, threshold: float = 1e-10
) -> np.ndarray:
    """Zero-crossing rate of each frame of already padded samples.

    Equal to ``librosa.feature.zero_crossing_rate(y, frame_length=frame_length,
    hop_length=hop_length, center=False, threshold=threshold)``: samples within ``threshold`` of
    zero count as positive (``zero_pos=True``), and the first sample of a frame is never a crossing
    (``pad=False``).

    Parameters
    ----------
    y : np.ndarray [shape=(..., n)], float32 or float64
        Samples, padded as the caller wants them (frames start at ``0, hop_length, ...``).
    frame_length, hop_length : int > 0
    threshold : float >= 0

    Returns
    -------
    np.ndarray [shape=(..., 1, 1 + (n - frame_length) // hop_length)], float64
    """
    y = np.asarray(y)
    n = y.shape[-1]
    if n < frame_length:
        raise ValueError(f"y must have at least frame_length={frame_length} samples. Got {n}.")
    # librosa's stencil compares in y's precision and maps |x| <= threshold to +0.
    negative = y < -y.dtype.type(threshold)
    change = negative[..., 1:] != negative[..., :-1]  # change[j - 1]: between samples j - 1, j
    counts = np.zeros((*y.shape[:-1], n), dtype=np.int64)
    np.cumsum(change, axis=-1, out=counts[..., 1:])  # counts[j]: crossings at samples 1..j
    starts = np.arange(0, n - frame_length + 1, hop_length)
    inside = counts[..., starts + frame_length - 1] - counts[..., starts]
    return (inside / frame_length)[..., np.newaxis, :]
