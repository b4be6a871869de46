"""Spectral peaks for the tuning estimate, without librosa's full-size intermediate arrays.

:func:`librosa.estimate_tuning` (behind ``chroma_stft``'s tuning) keeps the positive pitches of
:func:`librosa.piptrack`, which computes the parabolic shift, the gradient and the interpolated
magnitude at *every* bin and then keeps the local maxima. :func:`piptrack_peaks` finds the maxima
first and evaluates the same expressions only there, in the same precision (the parabolic shift in
float64, as librosa's numba stencil computes it, then rounded to the spectrogram's dtype), so the
peaks and their values are bit-identical.
"""

from __future__ import annotations

import numpy as np

from .compiled import kernel
from .filters import fft_frequencies

__all__ = ["piptrack_peaks"]


@kernel(
    ("i8", ("f4[:,::1]", "i8", "i8", "f4", "f4", "f8", "f8", "f4[::1]", "f4[::1]")),
    nogil=True,
    cache=True,
    error_model="numpy",
)
def _peaks(S, f_lo, f_hi, threshold, half, sr, n_fft, pitches, mags):  # noqa: ANN001, ANN202
    # threshold and half are in S's dtype, sr and n_fft float64; the stores into pitches and mags
    # (S's dtype) do the final rounding, as librosa's assignments into zeros_like(S) do.
    n_bins, n_frames = S.shape
    ref = np.empty(n_frames, dtype=S.dtype)
    for t in range(n_frames):  # threshold x the frame's maximum over all bins
        top = S[0, t]
        for f in range(1, n_bins):
            top = S[f, t] if S[f, t] > top else top
        ref[t] = threshold * top
    rounded = np.empty(1, dtype=S.dtype)
    count = 0
    for f in range(f_lo, f_hi):  # bin-major, the order of numpy.nonzero on (bins, frames)
        for t in range(n_frames):
            floor = ref[t]
            below, here, above = S[f - 1, t], S[f, t], S[f + 1, t]
            # librosa.util.localmax of S * (S > ref): above the lower bin, not below the upper one
            x_here = here if here > floor else 0.0
            x_below = below if below > floor else 0.0
            x_above = above if above > floor else 0.0
            if not (x_here > x_below and x_here >= x_above):
                continue
            # librosa.core.pitch._pi_stencil (float64 arithmetic), stored in S's dtype
            a = (above + below) - 2.0 * np.float64(here)
            b = np.float64(above - below) / 2.0
            rounded[0] = 0.0 if np.abs(b) >= np.abs(a) else -b / a
            shift = rounded[0]
            pitches[count] = (np.float64(f) + np.float64(shift)) * sr / n_fft
            slope = (above - below) * half  # np.gradient: (x[f+1] - x[f-1]) / 2
            mags[count] = here + (half * slope) * shift  # S + 0.5 * gradient * shift
            count += 1
    return count


def piptrack_peaks(
    S: np.ndarray,
    sr: float,
    n_fft: int,
    *,
    fmin: float = 150.0,
    fmax: float = 4000.0,
    threshold: float = 0.1,
) -> tuple[np.ndarray, np.ndarray]:
    """Pitches and magnitudes of the spectral peaks that :func:`librosa.piptrack` reports.

    Equal to ``pitch[pitch > 0], mag[pitch > 0]`` for ``pitch, mag = librosa.piptrack(S=S, sr=sr,
    n_fft=n_fft, fmin=fmin, fmax=fmax, threshold=threshold)``, in the same order.

    Parameters
    ----------
    S : np.ndarray [shape=(d, t)], float32 or float64, non-negative
        Spectrogram of one signal (magnitude or power, as librosa would receive it).
    sr : float > 0
        Sampling rate.
    n_fft : int > 0
        FFT size (``d == 1 + n_fft // 2``).
    fmin, fmax : float
        Frequency range searched for peaks.
    threshold : float
        Peaks below ``threshold`` x the frame's maximum are ignored.

    Returns
    -------
    pitches, mags : np.ndarray [shape=(n_peaks,), dtype=S.dtype]
    """
    S = np.asarray(S)
    if S.ndim != 2 or S.dtype not in (np.float32, np.float64):
        raise ValueError(f"S must be a 2-D float32/float64 array. Got {S.dtype} {S.shape} instead.")
    freqs = fft_frequencies(sr=sr, n_fft=n_fft)
    inside = np.nonzero((max(fmin, 0.0) <= freqs) & (freqs < min(fmax, float(sr) / 2)))[0]
    # The stencils need both neighbours; librosa's edges (bins 0 and d - 1) are never peaks here
    # because fmin > 0 and fmax <= sr / 2 keep them out of the range.
    f_lo, f_hi = (int(inside[0]), int(inside[-1]) + 1) if inside.size else (1, 1)
    f_lo, f_hi = max(f_lo, 1), min(f_hi, S.shape[0] - 1)
    capacity = max(0, f_hi - f_lo) * S.shape[1]
    pitches = np.empty(capacity, dtype=S.dtype)
    mags = np.empty(capacity, dtype=S.dtype)
    dtype = S.dtype.type
    count = _peaks(
        np.ascontiguousarray(S),
        f_lo,
        f_hi,
        dtype(threshold),
        dtype(0.5),
        float(sr),
        float(n_fft),
        pitches,
        mags,
    )
    keep = pitches[:count] > 0
    return pitches[:count][keep], mags[:count][keep]
