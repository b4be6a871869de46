"""Spectral frame statistics computed once from a shared magnitude spectrogram.

Each function computes what the librosa function it names computes for ``S=``, with the same
operations in the same dtypes, minus the work librosa repeats when its functions are called one
after the other on the same spectrogram -- the column normalisation that the centroid and the
bandwidth both compute, the input checks, the mel filter bank built again for every call -- and
minus the full-size float64 temporaries (normalised copies, products, a cumulative sum, a NaN
mask), which small compiled loops avoid. The rolloff and the mel spectrogram are bit-identical;
the centroid and bandwidth sum in a different order than NumPy (~1e-15 relative).
"""

from __future__ import annotations

import numpy as np

from .compiled import kernel
from .filters import mel_filter

__all__ = ["centroid_bandwidth", "rolloff", "mel_basis", "melspectrogram"]


@kernel(
    ("UniTuple(f8[:,:,::1], 2)", ("f4[::1,:,:]", "f8[::1]", "f8", "f8[:,:,::1]", "f8[:,:,::1]")),
    nogil=True,
    cache=True,
    error_model="numpy",
)
def _centroid_bandwidth(S, freq, tiny, centroid, bandwidth):  # noqa: ANN001, ANN202 - numba kernel
    n_batch, n_bins, n_frames = S.shape
    normalised = np.empty(n_bins, dtype=S.dtype)  # librosa keeps S / norm in S's dtype
    for b in range(n_batch):
        for t in range(n_frames):
            length = 0.0
            for f in range(n_bins):
                length += np.abs(np.float64(S[b, f, t]))
            if length < tiny:  # librosa.util.normalize leaves near-silent frames as they are
                length = 1.0
            mean = 0.0
            for f in range(n_bins):
                normalised[f] = S[b, f, t] / length
                mean += freq[f] * normalised[f]
            spread = 0.0
            for f in range(n_bins):
                deviation = np.abs(mean - freq[f])
                spread += normalised[f] * deviation**2
            centroid[b, 0, t] = mean
            bandwidth[b, 0, t] = np.sqrt(spread)
    return centroid, bandwidth


def centroid_bandwidth(S: np.ndarray, freq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spectral centroid and bandwidth (``p=2``) of a magnitude spectrogram, in one pass over it.

    The same computation as ``librosa.feature.spectral_centroid(S=S, freq=freq)`` and
    ``librosa.feature.spectral_bandwidth(S=S, freq=freq, centroid=centroid)`` -- L1-normalise each
    frame (in float64, stored in ``S``'s dtype, frames below ``tiny`` left as they are), then the
    weighted mean frequency and the square root of the weighted squared deviation from it, summed
    in float64 -- sharing the normalisation. Sums run bin by bin, so results can differ from
    NumPy's (partly pairwise) summation in the last bits: ~1e-15 relative.

    Parameters
    ----------
    S : np.ndarray [shape=(..., d, t)], float32 or float64, non-negative
        Magnitude spectrogram.
    freq : np.ndarray [shape=(d,)]
        Centre frequency of each bin (``librosa.fft_frequencies``).

    Returns
    -------
    centroid, bandwidth : np.ndarray [shape=(..., 1, t)], float64
    """
    if S.dtype not in (np.float32, np.float64):
        raise ValueError(f"S must be float32 or float64. Got {S.dtype} instead.")
    stacked = S.reshape(-1, *S.shape[-2:])
    shape = (stacked.shape[0], 1, stacked.shape[-1])
    centroid, bandwidth = np.empty(shape), np.empty(shape)
    tiny = float(np.finfo(S.dtype).tiny)
    _centroid_bandwidth(stacked, np.asarray(freq, dtype=np.float64), tiny, centroid, bandwidth)
    out_shape = (*S.shape[:-2], 1, S.shape[-1])
    return centroid.reshape(out_shape), bandwidth.reshape(out_shape)


@kernel(
    ("f8[:,:,::1]", ("f4[::1,:,:]", "f8[::1]", "f4", "f8[:,:,::1]")),
    nogil=True,
    cache=True,
    error_model="numpy",
)
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


def mel_basis(sr: int, n_fft: int) -> np.ndarray:
    """Return librosa's default mel filter bank (128 bands), built once per ``(sr, n_fft)``, read-only."""
    return mel_filter(sr=sr, n_fft=n_fft)


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
