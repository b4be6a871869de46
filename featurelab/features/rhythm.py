"""Onset strength, tempogram and tempo without importing librosa.

Each function repeats its librosa 0.11 counterpart (:func:`librosa.onset.onset_strength` with a
precomputed log-power spectrogram, :func:`librosa.feature.tempogram`, :func:`librosa.feature.tempo`,
:func:`librosa.time_to_frames`, :func:`librosa.tempo_frequencies`) operation by operation, in the
same order and the same dtypes, so the arrays are equal bit for bit (``np.array_equal``, same dtype;
tested in ``tests/test_rhythm.py``). Only numpy and scipy's pocketfft extension
(:mod:`._pocketfft`) are imported: the Hann window is built as :func:`scipy.signal.get_window`
builds it, the autocorrelation is librosa's FFT-based one, and the normalization is
:func:`librosa.util.normalize`'s with ``norm=np.inf``.

Not supported (librosa needs scipy.signal / scipy.ndimage for them): onset ``detrend``, a
``max_size`` above 1, other windows than Hann, and tempo priors.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..exceptions import ParameterError
from . import _pocketfft
from ._signal import check_positive_int
from .filters import hann_window, normalize
from .frames import frame

__all__ = [
    "onset_strength",
    "tempogram",
    "tempo",
    "tempo_frequencies",
    "time_to_frames",
    "autocorrelate",
]


def autocorrelate(y: np.ndarray, *, max_size: int | None = None, axis: int = -1) -> np.ndarray:
    """Bounded auto-correlation of real data, as :func:`librosa.autocorrelate`.

    The power spectrum of the zero-padded real FFT, transformed back (:func:`scipy.fft.rfft` /
    :func:`scipy.fft.irfft`, the library librosa uses), cut to ``max_size`` lags.

    Parameters
    ----------
    y : np.ndarray, real floating point
        Array to autocorrelate.
    max_size : int > 0 or None
        Number of lags kept (all if ``None``).
    axis : int
        Axis along which to autocorrelate.

    Returns
    -------
    z : np.ndarray
        Auto-correlation for lags ``0 .. max_size - 1`` along ``axis`` (a view of the full one, as
        librosa returns), dtype of the FFT of ``y`` (float64 for float64 input).

    Raises
    ------
    ParameterError
        If ``y`` is complex (librosa's complex branch is not reproduced).

    Examples
    --------
    >>> autocorrelate(np.array([1.0, 2.0, 3.0]))
    array([14.,  8.,  3.])
    """
    y = np.asarray(y)
    if np.iscomplexobj(y):
        raise ParameterError("y must be real. Got complex values.")
    if max_size is None:
        max_size = y.shape[axis]
    max_size = int(min(max_size, y.shape[axis]))
    n_pad = _pocketfft.next_fast_len(2 * y.shape[axis] - 1, real=True)
    spectrum = _pocketfft.rfft(y, n=n_pad, axis=axis)
    # librosa: irfft(abs2(spectrum)) with abs2 = re**2 + im**2 (a numba ufunc), which irfft turns
    # into the complex array ``abs2 + 0j``. The same values, made in place in the spectrum:
    re, im = spectrum.real, spectrum.imag
    np.square(re, out=re)
    np.square(im, out=im)
    re += im  # never -0.0, so adding +0j would not change it either
    im[...] = 0.0
    autocorr = _pocketfft.irfft(spectrum, n=n_pad, axis=axis)
    subslice = [slice(None)] * autocorr.ndim
    subslice[axis] = slice(max_size)
    return autocorr[tuple(subslice)]


def onset_strength(
    *,
    S: np.ndarray,
    sr: float = 22050,
    hop_length: int = 512,
    n_fft: int = 2048,
    lag: int = 1,
    center: bool = True,
    aggregate: Callable[..., np.ndarray] | None = np.mean,
) -> np.ndarray:
    """Spectral-flux onset strength of a log-power spectrogram, as librosa's.

    Equal to ``librosa.onset.onset_strength(S=S, sr=sr, hop_length=hop_length, n_fft=n_fft,
    lag=lag, max_size=1, detrend=False, center=center, aggregate=aggregate)``: the positive part of
    ``S[:, t] - S[:, t - lag]``, aggregated over the frequency axis, delayed by ``lag`` zeros (plus
    ``n_fft // (2 * hop_length)`` when ``center``) and, when ``center``, cut to ``S``'s frames.

    Parameters
    ----------
    S : np.ndarray [shape=(..., d, t)], real floating point
        Log-power spectrogram, e.g. ``power_to_db(mel)``.
    sr : number > 0
        Sampling rate (unused with ``S`` given; kept for librosa's signature).
    hop_length : int > 0
        Hop between frames, for the centring delay.
    n_fft : int > 0
        FFT size behind ``S``, for the centring delay.
    lag : int > 0
        Time lag of the difference, in frames.
    center : bool
        Shift the envelope to the centres of the frames and trim it to ``t`` frames.
    aggregate : callable or None
        Reduction over frequencies, called as ``aggregate(x, axis=-2)`` (``None``: ``np.mean``).

    Returns
    -------
    onset_envelope : np.ndarray [shape=(..., t)] if ``center``, else ``(..., t + n_fft // ...)``
        Onset strength per frame, dtype of ``S``.

    Raises
    ------
    ParameterError
        If ``lag``, ``hop_length`` or ``n_fft`` is not a positive integer or ``aggregate`` is not
        callable.

    Examples
    --------
    >>> S = np.array([[0.0, 1.0, 1.0, 3.0], [0.0, 2.0, 0.0, 0.0]], dtype=np.float32)
    >>> onset_strength(S=S, hop_length=1024, aggregate=np.max)
    array([0., 0., 2., 0.], dtype=float32)
    """
    lag = check_positive_int("lag", lag)
    hop_length = check_positive_int("hop_length", hop_length)
    n_fft = check_positive_int("n_fft", n_fft)
    if aggregate is None:
        aggregate = np.mean
    if not callable(aggregate):
        raise ParameterError(f"aggregate must be a callable such as np.median. Got {aggregate!r} instead.")
    S = np.atleast_2d(S)
    onset_env = S[..., lag:] - S[..., :-lag]  # ref is S itself when max_size == 1
    onset_env = np.maximum(0.0, onset_env)
    # librosa.util.sync over one slice spanning every row: one aggregate into a (..., 1, t) array.
    agg_shape = list(onset_env.shape)
    agg_shape[-2] = 1
    data_agg = np.empty(agg_shape, order="F" if np.isfortran(onset_env) else "C", dtype=onset_env.dtype)
    data_agg[..., 0, :] = aggregate(onset_env[..., :, :], axis=-2)
    pad_width = lag
    if center:
        pad_width += n_fft // (2 * hop_length)
    padding = [(0, 0) for _ in data_agg.shape]
    padding[-1] = (int(pad_width), 0)
    onset_env = np.pad(data_agg, padding, mode="constant")
    if center:
        onset_env = onset_env[..., : S.shape[-1]]
    return onset_env[..., 0, :]


def tempogram(
    *,
    onset_envelope: np.ndarray,
    sr: float = 22050,
    hop_length: int = 512,
    win_length: int = 384,
    center: bool = True,
    norm: float | None = np.inf,
) -> np.ndarray:
    """Autocorrelation tempogram of an onset envelope, as :func:`librosa.feature.tempogram`.

    Equal to ``librosa.feature.tempogram(onset_envelope=..., sr=sr, hop_length=hop_length,
    win_length=win_length, center=center, window="hann", norm=norm)``: Hann-windowed frames of
    ``win_length`` envelope values (hop 1), each autocorrelated and scaled to a maximum of 1.

    Parameters
    ----------
    onset_envelope : np.ndarray [shape=(..., n)], real floating point
        Onset strength envelope, e.g. from :func:`onset_strength`.
    sr : number > 0
        Sampling rate (unused with the envelope given; kept for librosa's signature).
    hop_length : int > 0
        Hop of the envelope's frames (unused here; kept for librosa's signature).
    win_length : int > 0
        Autocorrelation window, in envelope frames.
    center : bool
        Pad the envelope by ``win_length // 2`` on both sides (linear ramps to 0), so that frame
        ``t`` is centred on envelope frame ``t``; otherwise frames start at each envelope frame.
    norm : np.inf or None
        Scale each frame to a maximum absolute value of 1 (``np.inf``) or not at all (``None``).

    Returns
    -------
    tempogram : np.ndarray [shape=(..., win_length, n_frames)], float64
        Lags along ``-2``; ``n_frames`` is ``n`` when ``center``, else ``n - win_length + 1``.

    Raises
    ------
    ParameterError
        If ``win_length`` is not a positive integer, ``norm`` is not ``np.inf`` or ``None``, the
        envelope is shorter than ``win_length`` with ``center=False``, or it is not finite.

    Examples
    --------
    >>> env = np.zeros(8, dtype=np.float32)
    >>> env[::2] = 1.0
    >>> tempogram(onset_envelope=env, win_length=4, center=False)[:, 1]  # window [0, .5, 1, .5]
    array([1. , 0. , 0.5, 0. ])
    """
    win_length = check_positive_int("win_length", win_length)
    if norm is not None and norm != np.inf:
        raise ParameterError(f"norm must be np.inf or None. Got {norm!r} instead.")
    ac_window = hann_window(win_length)
    onset_envelope = np.asarray(onset_envelope)
    n = onset_envelope.shape[-1]
    if center:
        padding = [(0, 0) for _ in onset_envelope.shape]
        padding[-1] = (int(win_length // 2),) * 2
        onset_envelope = np.pad(onset_envelope, padding, mode="linear_ramp", end_values=[0, 0])
    if onset_envelope.shape[-1] < win_length:
        raise ParameterError(
            f"onset_envelope is too short (n={onset_envelope.shape[-1]}) for win_length={win_length} "
            "without centring; pad it or pass center=True."
        )
    odf_frame = frame(onset_envelope, frame_length=win_length, hop_length=1)
    if center:
        odf_frame = odf_frame[..., :n]
    ac_window = ac_window.reshape((1,) * (odf_frame.ndim - 2) + (-1, 1))
    tg = autocorrelate(odf_frame * ac_window, axis=-2)
    if norm is None:
        return tg
    if not np.all(np.isfinite(tg)):
        raise ParameterError("The tempogram input must be finite. Got NaN or infinite values.")
    return normalize(tg, norm=np.inf, axis=-2)


def tempo_frequencies(n_bins: int, *, hop_length: int = 512, sr: float = 22050) -> np.ndarray:
    """Tempo in BPM of each autocorrelation lag, as :func:`librosa.tempo_frequencies`.

    Parameters
    ----------
    n_bins : int > 0
        Number of lags.
    hop_length : int > 0
        Hop between onset frames.
    sr : number > 0
        Sampling rate.

    Returns
    -------
    bpms : np.ndarray [shape=(n_bins,)], float64
        ``60 sr / (hop_length k)`` for lag ``k``; ``inf`` for lag 0.

    Examples
    --------
    >>> tempo_frequencies(3, hop_length=512, sr=22050)
    array([         inf, 2583.984375 , 1291.9921875])
    """
    bin_frequencies = np.zeros(int(n_bins), dtype=np.float64)
    bin_frequencies[0] = np.inf
    bin_frequencies[1:] = 60.0 * sr / (hop_length * np.arange(1.0, n_bins))
    return bin_frequencies


def time_to_frames(
    times: float | np.ndarray, *, sr: float = 22050, hop_length: int = 512, n_fft: int | None = None
) -> np.ndarray:
    """Frame indices of times in seconds, as :func:`librosa.time_to_frames`.

    Parameters
    ----------
    times : number or np.ndarray
        Times in seconds.
    sr : number > 0
        Sampling rate.
    hop_length : int > 0
        Hop between frames.
    n_fft : int > 0 or None
        If given, frames are centred: ``n_fft // 2`` samples are subtracted first.

    Returns
    -------
    frames : np.ndarray [shape=np.shape(times)], int
        ``floor((int(times * sr) - n_fft // 2) // hop_length)``; a 0-d array for a scalar time.

    Examples
    --------
    >>> int(time_to_frames(8.0, sr=22050, hop_length=512))
    344
    """
    samples = (np.asanyarray(times) * sr).astype(int)
    offset = 0 if n_fft is None else int(n_fft // 2)
    return np.asarray(np.floor((samples - offset) // hop_length), dtype=int)


def tempo(
    *,
    tg: np.ndarray,
    sr: float = 22050,
    hop_length: int = 512,
    start_bpm: float = 120,
    std_bpm: float = 1.0,
    max_tempo: float | None = 320.0,
    aggregate: Callable[..., np.ndarray] | None = np.mean,
) -> np.ndarray:
    """Tempo estimate from a tempogram, as :func:`librosa.feature.tempo` with ``tg=`` given.

    Equal to ``librosa.feature.tempo(tg=tg, sr=sr, hop_length=hop_length, start_bpm=start_bpm,
    std_bpm=std_bpm, max_tempo=max_tempo, aggregate=aggregate, prior=None)``: the lag whose
    (aggregated) autocorrelation, ``log1p(1e6 x)``, plus a log-normal prior around ``start_bpm`` is
    largest, among lags slower than ``max_tempo``.

    Parameters
    ----------
    tg : np.ndarray [shape=(..., win_length, t)]
        Tempogram, e.g. from :func:`tempogram`.
    sr : number > 0
        Sampling rate.
    hop_length : int > 0
        Hop between onset frames.
    start_bpm : float > 0
        Centre of the log-normal tempo prior.
    std_bpm : float > 0
        Its standard deviation, in octaves.
    max_tempo : float > 0 or None
        Lags faster than this are excluded.
    aggregate : callable or None
        Reduction over frames, called as ``aggregate(tg, axis=-1, keepdims=True)``; ``None`` gives
        one tempo per frame.

    Returns
    -------
    tempo : np.ndarray [shape=(..., 1) or (..., t)], float64
        Tempo in beats per minute.

    Raises
    ------
    ParameterError
        If ``start_bpm`` is not positive.

    Examples
    --------
    >>> env = np.tile(np.array([1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]), 40)
    >>> tg = tempogram(onset_envelope=env, sr=22050, hop_length=512, win_length=384)
    >>> tempo(tg=tg, sr=22050, hop_length=512)
    array([129.19921875])
    """
    if start_bpm <= 0:
        raise ParameterError(f"start_bpm must be strictly positive. Got {start_bpm!r} instead.")
    win_length = tg.shape[-2]
    if aggregate is not None:
        tg = aggregate(tg, axis=-1, keepdims=True)
    bpms = tempo_frequencies(win_length, hop_length=hop_length, sr=sr)
    logprior = -0.5 * ((np.log2(bpms) - np.log2(start_bpm)) / std_bpm) ** 2
    if max_tempo is not None:
        max_idx = int(np.argmax(bpms < max_tempo))
        logprior[:max_idx] = -np.inf
    logprior = logprior.reshape((1,) * (tg.ndim - 2) + (-1, 1))
    best_period = np.argmax(np.log1p(1e6 * tg) + logprior, axis=-2)
    return np.take(bpms, best_period)
