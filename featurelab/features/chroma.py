"""Chromagram and tuning estimate of the GTZAN engine, without librosa.

Same values, bit for bit, as ``librosa.feature.chroma_stft(S=..., tuning=...)`` and
``librosa.pitch_tuning`` (``tests/test_filters.py``); see :mod:`featurelab.features.filters` for why
the engine does not import librosa.
"""

from __future__ import annotations

import numpy as np

from .filters import chroma_filter, hz_to_octs, normalize

__all__ = ["chroma_stft", "pitch_tuning"]


def chroma_stft(S: np.ndarray, *, sr: int, n_fft: int, tuning: float, n_chroma: int = 12) -> np.ndarray:
    """Chromagram of a power spectrogram, each frame scaled to a maximum of 1.

    Parameters
    ----------
    S : np.ndarray [shape=(..., 1 + n_fft // 2, t)]
        Power spectrogram.
    sr, n_fft : int > 0
    tuning : float
        Tuning deviation from A440 in fractions of a chroma bin (:func:`pitch_tuning`).
    n_chroma : int > 0

    Returns
    -------
    np.ndarray [shape=(..., n_chroma, t)]
    """
    weights = chroma_filter(sr=sr, n_fft=n_fft, tuning=tuning, n_chroma=n_chroma)
    raw = np.einsum("cf,...ft->...ct", weights, S, optimize=True)
    return normalize(raw, norm=np.inf, axis=-2)


def pitch_tuning(
    frequencies: np.ndarray, *, resolution: float = 0.01, bins_per_octave: int = 12
) -> np.floating | float:
    """Most frequent deviation of ``frequencies`` from the A440 grid, in fractions of a bin.

    ``0.0`` when no frequency is positive (librosa warns there; the engine documents it instead).

    Examples
    --------
    >>> round(float(pitch_tuning(440.0 * 2 ** (np.array([0.2, 0.21, 0.2]) / 12))), 2)
    0.2
    """
    frequencies = np.atleast_1d(frequencies)
    frequencies = frequencies[frequencies > 0]
    if not np.any(frequencies):
        return 0.0
    residual = np.mod(bins_per_octave * hz_to_octs(frequencies), 1.0)
    residual[residual >= 0.5] -= 1.0
    bins = np.linspace(-0.5, 0.5, int(np.ceil(1.0 / resolution)) + 1)
    counts, tuning = np.histogram(residual, bins)
    return tuning[np.argmax(counts)]
