"""Framing, the short-time Fourier transform and the RMS of the GTZAN engine, without librosa.

Same arrays, bit for bit, as ``librosa.util.frame``, ``librosa.stft(center=False)`` and
``librosa.feature.rms(y=..., center=False)`` (``tests/test_filters.py``); see
:mod:`featurelab.features.filters` for why the engine does not import librosa.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .filters import hann_window

__all__ = ["frame", "rms", "stft"]

#: Frames transformed per FFT call: the windowed block (float64) and its spectrum stay in cache.
_STFT_BLOCK = 64


def frame(x: np.ndarray, *, frame_length: int, hop_length: int) -> np.ndarray:
    """Overlapping frames of the last axis as a read-only view, ``librosa.util.frame(axis=-1)``.

    Parameters
    ----------
    x : np.ndarray [shape=(..., n)]
        Signal(s), ``n >= frame_length``.
    frame_length, hop_length : int > 0

    Returns
    -------
    np.ndarray [shape=(..., frame_length, 1 + (n - frame_length) // hop_length)]
        ``frames[..., j, t] == x[..., t * hop_length + j]``.

    Examples
    --------
    >>> frame(np.arange(6), frame_length=4, hop_length=2)
    array([[0, 2],
           [1, 3],
           [2, 4],
           [3, 5]])
    """
    x = np.asarray(x)
    if x.shape[-1] < frame_length:
        raise ValueError(f"Input is too short (n={x.shape[-1]:d}) for frame_length={frame_length:d}")
    if hop_length < 1:
        raise ValueError(f"Invalid hop_length: {hop_length:d}")
    shape = (*x.shape[:-1], x.shape[-1] - frame_length + 1, frame_length)
    windows = as_strided(x, strides=x.strides + x.strides[-1:], shape=shape, writeable=False)
    return np.moveaxis(windows, -1, -2)[..., ::hop_length]


def stft(y: np.ndarray, *, n_fft: int, hop_length: int) -> np.ndarray:
    """Hann-windowed STFT without centring, ``librosa.stft(y, n_fft=..., hop_length=..., center=False)``.

    The windowed frames are float64 and their spectra are rounded to complex64, as librosa does; the
    frames are transformed along their contiguous axis (the same transform, so the same values, as
    librosa's transform along the strided one, and faster).

    Parameters
    ----------
    y : np.ndarray [shape=(..., n), dtype=float32]
        Finite signal(s), ``n >= n_fft``.
    n_fft, hop_length : int > 0

    Returns
    -------
    np.ndarray [shape=(..., 1 + n_fft // 2, 1 + (n - n_fft) // hop_length), dtype=complex64]
        Fortran-ordered, as librosa returns it (the memory layout decides how later BLAS calls round).
    """
    if not np.isfinite(y).all():
        raise ValueError("Audio buffer is not finite everywhere")
    if n_fft > y.shape[-1]:
        raise ValueError(
            f"n_fft={n_fft} is too large for uncentered analysis of input signal of length={y.shape[-1]}"
        )
    frames = np.swapaxes(frame(y, frame_length=n_fft, hop_length=hop_length), -1, -2)  # (..., t, n_fft)
    n_frames = frames.shape[-2]
    window = hann_window(n_fft)
    dtype = np.complex64 if y.dtype == np.float32 else np.complex128
    out = np.empty((*y.shape[:-1], 1 + n_fft // 2, n_frames), dtype=dtype, order="F")
    for a in range(0, n_frames, _STFT_BLOCK):
        b = min(a + _STFT_BLOCK, n_frames)
        spectra = np.fft.rfft(frames[..., a:b, :] * window, axis=-1)  # (..., b - a, 1 + n_fft // 2)
        out[..., a:b] = np.swapaxes(spectra, -1, -2)
    return out


def rms(y: np.ndarray, *, frame_length: int, hop_length: int) -> np.ndarray:
    """Root-mean-square of each frame, ``librosa.feature.rms(y=y, center=False)``.

    Parameters
    ----------
    y : np.ndarray [shape=(..., n)]
        Signal(s), ``n >= frame_length``.
    frame_length, hop_length : int > 0

    Returns
    -------
    np.ndarray [shape=(..., 1, t), dtype=float32]
    """
    x = frame(y, frame_length=frame_length, hop_length=hop_length)
    return np.sqrt(np.mean(np.square(x, dtype=np.float32), axis=-2, keepdims=True))
