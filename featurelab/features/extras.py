"""Optional librosa feature sets that complement the GTZAN schema.

Each set is a function ``f(y, sr) -> dict`` that summarises one librosa feature over time by its
mean and variance (population variance, as in the published GTZAN tables), with column names in
the GTZAN style (``<feature><index>_mean``, ``<feature><index>_var``). Short-time Fourier
transforms use the GTZAN set's framing: ``n_fft=2048``, ``hop_length=512``, centred frames with
reflect padding.

=====================  ======================================================  =====
set                    columns                                                 count
=====================  ======================================================  =====
``contrast``           ``contrast1_mean`` ... ``contrast7_var``                14
``tonnetz``            ``tonnetz1_mean`` ... ``tonnetz6_var``                  12
``mfcc_delta``         ``mfcc1_delta_mean`` ... ``mfcc20_delta2_var``          80
``spectral_flatness``  ``spectral_flatness_mean``, ``spectral_flatness_var``   2
``onset``              ``onset_strength_mean``, ``onset_strength_var``,        3
                       ``onset_rate``
=====================  ======================================================  =====

Every set returns finite values for any finite signal of at least one sample, including silence
and signals shorter than ``n_fft`` (librosa's "n_fft is too large" warning is silenced for those:
the centred frame is reflect-padded as librosa does). Fallbacks are documented per function.
"""

from __future__ import annotations

from collections.abc import Sequence

import librosa
import numpy as np

from ._signal import check_signal, quiet_edge_warnings

__all__ = [
    "contrast_features",
    "tonnetz_features",
    "mfcc_delta_features",
    "spectral_flatness_features",
    "onset_features",
]

N_FFT = 2048
HOP_LENGTH = 512
_STFT = {"n_fft": N_FFT, "hop_length": HOP_LENGTH, "center": True, "pad_mode": "reflect"}
N_MFCC = 20
#: librosa.feature.delta's default (and largest) width.
DELTA_WIDTH = 9


def _mean_var(names: Sequence[str], features: np.ndarray) -> dict[str, float]:
    """Interleave per-row mean and variance over frames: ``{name_mean, name_var}`` for each row."""
    features = np.asarray(features, dtype=np.float64).reshape(len(names), -1)
    means, variances = features.mean(axis=1), features.var(axis=1)
    out: dict[str, float] = {}
    for name, mean, var in zip(names, means.tolist(), variances.tolist(), strict=True):
        out[f"{name}_mean"] = mean
        out[f"{name}_var"] = var
    return out


def contrast_features(y: np.ndarray, sr: int) -> dict[str, float]:
    """Spectral contrast of 6 octave bands plus the residual band, mean and variance over frames.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono float signal.
    sr : int > 0
        Sampling rate in Hz.

    Returns
    -------
    dict of str to float
        ``contrast1_mean, contrast1_var, ..., contrast7_var`` (14 values) from
        ``librosa.feature.spectral_contrast`` (``fmin=200``, ``n_bands=6``, in dB). Silence gives
        0 (peak and valley are both at librosa's power floor).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.sin(2 * np.pi * 440 * np.arange(22050) / 22050).astype(np.float32)
    >>> len(contrast_features(y, 22050))
    14
    """
    y, sr = check_signal(y, sr)
    with quiet_edge_warnings():
        contrast = librosa.feature.spectral_contrast(y=y, sr=sr, **_STFT)
    return _mean_var([f"contrast{i}" for i in range(1, contrast.shape[0] + 1)], contrast)


def tonnetz_features(y: np.ndarray, sr: int) -> dict[str, float]:
    """Tonal centroid features (6 dimensions), mean and variance over frames.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono float signal.
    sr : int > 0
        Sampling rate in Hz.

    Returns
    -------
    dict of str to float
        ``tonnetz1_mean, tonnetz1_var, ..., tonnetz6_var`` (12 values) from
        ``librosa.feature.tonnetz(y=y, sr=sr, hop_length=512)``: fifths (x, y), minor thirds (x, y),
        major thirds (x, y). As in librosa, the chroma is ``chroma_cqt`` (constant-Q, tuning
        estimated from the signal), not the STFT chroma of the GTZAN set. Silence gives 0 (an
        all-zero chroma is left at zero by librosa's normalisation).
    """
    y, sr = check_signal(y, sr)
    with quiet_edge_warnings():
        tonnetz = librosa.feature.tonnetz(y=y, sr=sr, hop_length=HOP_LENGTH)
    return _mean_var([f"tonnetz{i}" for i in range(1, 7)], tonnetz)


def _delta_width(n_frames: int) -> int:
    """Return librosa's default delta width, or the widest odd width that fits ``n_frames``."""
    return min(DELTA_WIDTH, n_frames if n_frames % 2 else n_frames - 1)


def mfcc_delta_features(y: np.ndarray, sr: int) -> dict[str, float]:
    """First and second time derivatives of 20 MFCCs, mean and variance over frames.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono float signal.
    sr : int > 0
        Sampling rate in Hz.

    Returns
    -------
    dict of str to float
        ``mfcc1_delta_mean, mfcc1_delta_var, mfcc1_delta2_mean, mfcc1_delta2_var, mfcc2_delta_mean,
        ...`` (80 values). The MFCCs are those of the GTZAN set (``librosa.feature.mfcc`` with
        ``n_mfcc=20`` on the reflect-padded 2048/512 STFT); deltas are
        ``librosa.feature.delta(mfcc, width=9, order=1|2)`` (Savitzky-Golay, ``mode="interp"``).

    Notes
    -----
    ``width=9`` needs at least 9 frames (about 0.19 s at 22050 Hz). Shorter signals use the widest
    odd width that fits (3 to 7 frames); with fewer than 3 frames the derivatives are undefined and
    all 80 values are 0. Silence has constant MFCCs, hence zero deltas.
    """
    y, sr = check_signal(y, sr)
    with quiet_edge_warnings():
        mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=N_MFCC, **_STFT)
    width = _delta_width(mfcc.shape[1])
    if width >= 3:
        delta = librosa.feature.delta(mfcc, width=width, order=1)
        delta2 = librosa.feature.delta(mfcc, width=width, order=2)
    else:
        delta = delta2 = np.zeros_like(mfcc)
    # rows: mfcc1_delta, mfcc1_delta2, mfcc2_delta, ...
    stacked = np.stack([delta, delta2], axis=1).reshape(2 * N_MFCC, -1)
    names = [f"mfcc{i}_{kind}" for i in range(1, N_MFCC + 1) for kind in ("delta", "delta2")]
    return _mean_var(names, stacked)


def spectral_flatness_features(y: np.ndarray, sr: int) -> dict[str, float]:
    """Spectral flatness (Wiener entropy), mean and variance over frames.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono float signal.
    sr : int > 0
        Sampling rate in Hz (unused by the feature; kept for the common signature).

    Returns
    -------
    dict of str to float
        ``spectral_flatness_mean, spectral_flatness_var`` from ``librosa.feature.spectral_flatness``
        (power spectrum floored at ``amin=1e-10``): near 0 for a pure tone, larger for noise.
        Silence gives 1 (up to float32 rounding): the floored spectrum is perfectly flat.
    """
    y, sr = check_signal(y, sr)
    with quiet_edge_warnings():
        flatness = librosa.feature.spectral_flatness(y=y, **_STFT)
    return _mean_var(["spectral_flatness"], flatness)


def onset_features(y: np.ndarray, sr: int) -> dict[str, float]:
    """Onset strength mean and variance, and the rate of detected onsets per second.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono float signal.
    sr : int > 0
        Sampling rate in Hz.

    Returns
    -------
    dict of str to float
        ``onset_strength_mean, onset_strength_var`` of ``librosa.onset.onset_strength`` (spectral
        flux of the log-mel spectrogram of the reflect-padded 2048/512 STFT), and ``onset_rate``:
        the number of onsets found by ``librosa.onset.onset_detect`` on that envelope divided by the
        duration ``n / sr`` in seconds. Silence gives 0 for all three.
    """
    y, sr = check_signal(y, sr)
    with quiet_edge_warnings():
        envelope = librosa.onset.onset_strength(y=y, sr=sr, **_STFT)
    onsets = librosa.onset.onset_detect(onset_envelope=envelope, sr=sr, hop_length=HOP_LENGTH)
    out = _mean_var(["onset_strength"], envelope)
    out["onset_rate"] = float(len(onsets) / (y.shape[0] / sr))
    return out
