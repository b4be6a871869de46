"""Harmonic/percussive source separation with a fast sliding-window median.

:func:`librosa.decompose.hpss` median-filters the magnitude spectrogram with
:func:`scipy.ndimage.median_filter`, which sorts every window from scratch. A sliding-window median
(:func:`bottleneck.move_median`, a double-heap that updates in O(log w) per step) gives bit-identical
results roughly an order of magnitude faster, provided the window is centred and the edges are
extended exactly as scipy's ``mode="reflect"`` does (``d c b a | a b c d | d c b a``, which is
numpy's ``"symmetric"`` padding).
"""

from __future__ import annotations

import numpy as np

__all__ = ["median_filter_1d", "hpss_spectrogram"]


def median_filter_1d(data: np.ndarray, width: int, axis: int) -> np.ndarray:
    """Centred running median along one axis, with scipy's ``mode="reflect"`` edges.

    Equal to ``scipy.ndimage.median_filter(data, size=s, mode="reflect")`` where ``s`` is ``width``
    along ``axis`` and 1 elsewhere.

    Parameters
    ----------
    data : np.ndarray [shape=(..., n, ...)]
        Real-valued input without NaN.
    width : int > 0, odd
        Window length. Even widths are refused: scipy then picks the upper of the two middle
        values while a sliding median averages them.
    axis : int
        Axis to filter along.

    Returns
    -------
    np.ndarray
        Same shape and dtype as ``data``.
    """
    import bottleneck as bn

    if width < 1 or width % 2 == 0:
        raise ValueError(f"width must be a positive odd integer. Got {width} instead.")
    if width == 1:
        return data.copy()
    axis = axis % data.ndim
    half = width // 2  # scipy centres the window: [i - half, i + half]
    pad = [(0, 0)] * data.ndim
    pad[axis] = (half, half)
    padded = np.pad(data, pad, mode="symmetric")
    n = data.shape[axis]
    if axis != data.ndim - 1:
        # bottleneck is fastest along a contiguous last axis.
        moved = np.ascontiguousarray(np.moveaxis(padded, axis, -1))
        out = bn.move_median(moved, width, axis=-1)[..., width - 1 : width - 1 + n]
        return np.ascontiguousarray(np.moveaxis(out, -1, axis)).astype(data.dtype, copy=False)
    out = bn.move_median(padded, width, axis=-1)[..., width - 1 : width - 1 + n]
    return np.ascontiguousarray(out).astype(data.dtype, copy=False)


def hpss_spectrogram(
    D: np.ndarray, *, kernel_size: int = 31, power: float = 2.0
) -> tuple[np.ndarray, np.ndarray]:
    """Split a complex STFT into harmonic and percussive STFTs (soft masks, margin 1).

    Same result as ``librosa.decompose.hpss(D, kernel_size=kernel_size, power=power)``.

    Parameters
    ----------
    D : np.ndarray [shape=(..., 1 + n_fft/2, t), dtype=complex]
        Complex STFT.
    kernel_size : int
        Median filter width in frames (harmonic) and bins (percussive).
    power : float > 0
        Soft-mask exponent.

    Returns
    -------
    D_harmonic, D_percussive : np.ndarray [shape=D.shape]
    """
    import librosa

    S, phase = librosa.magphase(D)
    harm = median_filter_1d(S, kernel_size, axis=-1)
    perc = median_filter_1d(S, kernel_size, axis=-2)
    # margin == 1 for both, hence split_zeros=True, exactly as librosa.decompose.hpss.
    mask_harm = librosa.util.softmask(harm, perc, power=power, split_zeros=True)
    mask_perc = librosa.util.softmask(perc, harm, power=power, split_zeros=True)
    return (S * mask_harm) * phase, (S * mask_perc) * phase
