"""Spectral frame statistics computed once from a shared magnitude spectrogram.

Each function returns exactly what the librosa function it names returns for ``S=``: the same
operations in the same order and dtypes (so the same bits), minus the work librosa repeats when its
functions are called one after the other on the same spectrogram -- the column normalisation that
the centroid and the bandwidth both compute, the input checks, the mel filter bank built again for
every call -- and minus the full-size temporaries of the rolloff (a cumulative sum, a NaN mask and a
product, all ``(..., n_bins, n_frames)`` in float64), which a small compiled loop avoids.
"""

from __future__ import annotations

import functools

import numba
import numpy as np

__all__ = ["centroid_bandwidth", "rolloff", "mel_basis", "melspectrogram"]


def centroid_bandwidth(S: np.ndarray, freq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spectral centroid and bandwidth (``p=2``) of a magnitude spectrogram, sharing one normalisation.

    Equal to ``librosa.feature.spectral_centroid(S=S, freq=freq)`` and
    ``librosa.feature.spectral_bandwidth(S=S, freq=freq, centroid=centroid)``.

    Parameters
    ----------
    S : np.ndarray [shape=(..., d, t)], non-negative
        Magnitude spectrogram.
    freq : np.ndarray [shape=(d,)]
        Centre frequency of each bin (``librosa.fft_frequencies``).

    Returns
    -------
    centroid, bandwidth : np.ndarray [shape=(..., 1, t)]
    """
    import librosa

    S_norm = librosa.util.normalize(S, norm=1, axis=-2)
    freq_b = librosa.util.expand_to(freq, ndim=S.ndim, axes=-2)
    centroid = np.sum(freq_b * S_norm, axis=-2, keepdims=True)
    deviation = np.abs(np.subtract.outer(centroid[..., 0, :], freq).swapaxes(-2, -1))
    bandwidth = np.sum(S_norm * deviation**2.0, axis=-2, keepdims=True) ** (1.0 / 2.0)
    return centroid, bandwidth


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _rolloff(S, freq, roll_percent, out):  # noqa: ANN001, ANN202 - numba kernel
    n_batch, n_bins, n_frames = S.shape
    cumulative = np.empty(n_bins, dtype=S.dtype)
    for b in range(n_batch):
        for t in range(n_frames):
            cumulative[0] = S[b, 0, t]
            for f in range(1, n_bins):
                cumulative[f] = cumulative[f - 1] + S[b, f, t]
            threshold = roll_percent * cumulative[n_bins - 1]
            out[b, 0, t] = np.nan
            for f in range(n_bins):
                if not cumulative[f] < threshold:
                    out[b, 0, t] = freq[f]
                    break
    return out


def rolloff(S: np.ndarray, freq: np.ndarray, roll_percent: float = 0.85) -> np.ndarray:
    """Spectral roll-off frequency of each frame.

    Equal to ``librosa.feature.spectral_rolloff(S=S, freq=freq, roll_percent=roll_percent)``: the
    centre frequency of the first bin whose cumulative energy (summed in ``S``'s dtype, in bin
    order, like :func:`numpy.cumsum`) is not below ``roll_percent`` of the frame's total.

    Parameters
    ----------
    S : np.ndarray [shape=(..., d, t)], float32 or float64, non-negative
    freq : np.ndarray [shape=(d,)], float64
    roll_percent : float in (0, 1)

    Returns
    -------
    np.ndarray [shape=(..., 1, t)], float64
    """
    if not 0.0 < roll_percent < 1.0:
        raise ValueError(f"roll_percent must lie in (0, 1). Got {roll_percent} instead.")
    if S.dtype not in (np.float32, np.float64):
        raise ValueError(f"S must be float32 or float64. Got {S.dtype} instead.")
    stacked = S.reshape(-1, *S.shape[-2:])
    # librosa multiplies a Python float by the total in S's dtype (NumPy's weak scalar rule).
    percent = S.dtype.type(roll_percent)
    out = np.empty((stacked.shape[0], 1, stacked.shape[-1]), dtype=np.float64)
    _rolloff(stacked, np.asarray(freq, dtype=np.float64), percent, out)
    return out.reshape(*S.shape[:-2], 1, S.shape[-1])


@functools.lru_cache(maxsize=8)
def mel_basis(sr: int, n_fft: int) -> np.ndarray:
    """Return librosa's default mel filter bank (128 bands), built once per ``(sr, n_fft)``, read-only."""
    import librosa

    basis = librosa.filters.mel(sr=sr, n_fft=n_fft)
    basis.setflags(write=False)
    return basis


def melspectrogram(S: np.ndarray, sr: int, n_fft: int) -> np.ndarray:
    """Mel spectrogram of a power spectrogram, equal to ``librosa.feature.melspectrogram(S=S, ...)``.

    Parameters
    ----------
    S : np.ndarray [shape=(d, t)]
        Power spectrogram of one signal (a batch would change the BLAS call and its rounding).
    sr, n_fft : int

    Returns
    -------
    np.ndarray [shape=(128, t)]
    """
    return np.einsum("...ft,mf->...mt", S, mel_basis(sr, n_fft), optimize=True)
