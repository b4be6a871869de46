"""Windows, frequency grids and filter banks of the GTZAN engine, without importing librosa.

Each function performs the operations of the librosa (or scipy) function it names, in the same order
and the same dtypes, so its result is the same array bit for bit (``tests/test_filters.py`` compares
them with ``np.array_equal``). They exist because importing :mod:`librosa` costs seconds (it imports
:mod:`scipy.signal` and :mod:`scipy.stats` and builds numba wrappers), more than the engine needs to
compute a 30 s track; see issue 15 (latency).
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

__all__ = [
    "chroma_filter",
    "fft_frequencies",
    "hann_window",
    "hz_to_mel",
    "hz_to_octs",
    "mel_filter",
    "mel_frequencies",
    "mel_to_hz",
    "normalize",
    "window_sumsquare",
]


def hann_window(n: int) -> np.ndarray:
    """Periodic Hann window, ``scipy.signal.get_window("hann", n, fftbins=True)``.

    Parameters
    ----------
    n : int >= 0
        Window length.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float64]

    Examples
    --------
    >>> hann_window(4)
    array([0. , 0.5, 1. , 0.5])
    """
    if n <= 1:
        return np.ones(n, dtype=np.float64)
    fac = np.linspace(-np.pi, np.pi, n + 1, dtype=np.float64)  # the symmetric window of n + 1 ...
    w = np.zeros(n + 1, dtype=np.float64)
    for k, a in enumerate(np.asarray([0.5, 0.5], dtype=np.float64)):
        w += a * np.cos(k * fac)
    return w[:-1]  # ... without its last sample


def fft_frequencies(*, sr: float, n_fft: int) -> np.ndarray:
    """Centre frequency of each FFT bin, ``librosa.fft_frequencies``.

    Examples
    --------
    >>> fft_frequencies(sr=8, n_fft=4)
    array([0., 2., 4.])
    """
    return np.fft.rfftfreq(n=n_fft, d=1.0 / sr)


def hz_to_octs(
    frequencies: np.ndarray | float, *, tuning: float = 0.0, bins_per_octave: int = 12
) -> np.ndarray:
    """Octave numbers of frequencies (A440 = 4.75 octaves), ``librosa.hz_to_octs``."""
    a440 = 440.0 * 2.0 ** (tuning / bins_per_octave)
    return np.log2(np.asanyarray(frequencies) / (float(a440) / 16))


def hz_to_mel(frequencies: np.ndarray | float) -> np.ndarray:
    """Slaney mel scale (linear below 1 kHz, logarithmic above), ``librosa.hz_to_mel(htk=False)``."""
    frequencies = np.asanyarray(frequencies)
    f_min, f_sp = 0.0, 200.0 / 3
    mels = (frequencies - f_min) / f_sp
    min_log_hz = 1000.0
    min_log_mel = (min_log_hz - f_min) / f_sp
    logstep = np.log(6.4) / 27.0
    if frequencies.ndim:
        log_t = frequencies >= min_log_hz
        mels[log_t] = min_log_mel + np.log(frequencies[log_t] / min_log_hz) / logstep
    elif frequencies >= min_log_hz:
        mels = min_log_mel + np.log(frequencies / min_log_hz) / logstep
    return mels


def mel_to_hz(mels: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`, ``librosa.mel_to_hz(htk=False)``."""
    mels = np.asanyarray(mels)
    f_min, f_sp = 0.0, 200.0 / 3
    freqs = f_min + f_sp * mels
    min_log_hz = 1000.0
    min_log_mel = (min_log_hz - f_min) / f_sp
    logstep = np.log(6.4) / 27.0
    if mels.ndim:
        log_t = mels >= min_log_mel
        freqs[log_t] = min_log_hz * np.exp(logstep * (mels[log_t] - min_log_mel))
    elif mels >= min_log_mel:
        freqs = min_log_hz * np.exp(logstep * (mels - min_log_mel))
    return freqs


def mel_frequencies(n_mels: int, *, fmin: float, fmax: float) -> np.ndarray:
    """``n_mels`` frequencies evenly spaced on the Slaney mel scale, ``librosa.mel_frequencies``."""
    return mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels))


def normalize(S: np.ndarray, *, norm: float, axis: int) -> np.ndarray:
    """Scale ``S`` to unit ``norm`` along ``axis``, ``librosa.util.normalize`` with its defaults.

    Slices whose norm is below the smallest normal number of ``S``'s dtype are left unscaled.

    Parameters
    ----------
    S : np.ndarray
        Finite values.
    norm : float > 0 or np.inf
        Order of the norm.
    axis : int
        Axis along which to normalise.

    Returns
    -------
    np.ndarray
        Same shape and dtype as ``S``.

    Examples
    --------
    >>> normalize(np.array([[1.0, 0.0], [3.0, 0.0]]), norm=np.inf, axis=0)
    array([[0.33333333, 0.        ],
           [1.        , 0.        ]])
    """
    threshold = np.finfo(S.dtype if np.issubdtype(S.dtype, np.inexact) else np.float32).tiny
    if not np.all(np.isfinite(S)):
        raise ValueError("Input must be finite")
    mag = np.abs(S).astype(float)
    if norm == np.inf:
        length = np.max(mag, axis=axis, keepdims=True)
    elif norm > 0:
        length = np.sum(mag**norm, axis=axis, keepdims=True) ** (1.0 / norm)
    else:
        raise ValueError(f"norm must be positive or np.inf. Got {norm!r} instead.")
    length[length < threshold] = 1.0
    Snorm = np.empty_like(S)
    Snorm[:] = S / length
    return Snorm


@functools.lru_cache(maxsize=8)
def mel_filter(*, sr: int, n_fft: int, n_mels: int = 128) -> np.ndarray:
    """Slaney-normalised mel filter bank from 0 Hz to ``sr / 2``, ``librosa.filters.mel`` (read-only).

    Parameters
    ----------
    sr, n_fft : int > 0
        Sampling rate and FFT size.
    n_mels : int > 0
        Number of mel bands.

    Returns
    -------
    np.ndarray [shape=(n_mels, 1 + n_fft // 2), dtype=float32]
    """
    fmax = float(sr) / 2
    weights = np.zeros((n_mels, int(1 + n_fft // 2)), dtype=np.float32)
    fftfreqs = fft_frequencies(sr=sr, n_fft=n_fft)
    mel_f = mel_frequencies(n_mels + 2, fmin=0.0, fmax=fmax)
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels])
    weights *= enorm[:, np.newaxis]
    if not np.all((mel_f[:-2] == 0) | (weights.max(axis=1) > 0)):
        warnings.warn(
            "Empty filters detected in mel frequency basis. Some channels will produce empty responses. "
            "Try increasing your sampling rate (and fmax) or reducing n_mels.",
            stacklevel=2,
        )
    weights.setflags(write=False)
    return weights


@functools.lru_cache(maxsize=256, typed=True)  # typed: a float32 tuning is computed as float32
def chroma_filter(*, sr: int, n_fft: int, tuning: float = 0.0, n_chroma: int = 12) -> np.ndarray:
    """Chroma filter bank (C first, octave-weighted around C5), ``librosa.filters.chroma``.

    Built once per ``(sr, n_fft, tuning, n_chroma)`` (tunings are multiples of 0.01 bin, so
    segments and files share them), read-only.

    Parameters
    ----------
    sr, n_fft : int > 0
        Sampling rate and FFT size.
    tuning : float
        Tuning deviation from A440 in fractions of a chroma bin.
    n_chroma : int > 0
        Chroma bins per octave.

    Returns
    -------
    np.ndarray [shape=(n_chroma, 1 + n_fft // 2), dtype=float32]
    """
    frequencies = np.linspace(0, sr, n_fft, endpoint=False)[1:]
    frqbins = n_chroma * hz_to_octs(frequencies, tuning=tuning, bins_per_octave=n_chroma)
    frqbins = np.concatenate(([frqbins[0] - 1.5 * n_chroma], frqbins))
    binwidthbins = np.concatenate((np.maximum(frqbins[1:] - frqbins[:-1], 1.0), [1]))
    D = np.subtract.outer(frqbins, np.arange(0, n_chroma, dtype="d")).T
    n_chroma2 = np.round(float(n_chroma) / 2)
    D = np.remainder(D + n_chroma2 + 10 * n_chroma, n_chroma) - n_chroma2
    wts = np.exp(-0.5 * (2 * D / np.tile(binwidthbins, (n_chroma, 1))) ** 2)
    wts = normalize(wts, norm=2, axis=0)
    wts *= np.tile(np.exp(-0.5 * (((frqbins / n_chroma - 5.0) / 2) ** 2)), (n_chroma, 1))
    wts = np.roll(wts, -3 * (n_chroma // 12), axis=0)
    weights = np.ascontiguousarray(wts[:, : int(1 + n_fft / 2)], dtype=np.float32)
    weights.setflags(write=False)
    return weights


@functools.lru_cache(maxsize=8)
def window_sumsquare(*, n_frames: int, n_fft: int, hop_length: int) -> np.ndarray:
    """Sum of squared Hann windows over ``n_frames`` frames, ``librosa.filters.window_sumsquare``.

    The normaliser of the inverse STFT (float32, read-only).
    """
    n = n_fft + hop_length * (n_frames - 1)
    x = np.zeros(n, dtype=np.float32)
    win_sq = hann_window(n_fft) ** 2
    for i in range(n_frames):
        sample = i * hop_length
        stop = min(n, sample + n_fft)
        x[sample:stop] += win_sq[: max(0, min(n_fft, n - sample))]
    x.setflags(write=False)
    return x
