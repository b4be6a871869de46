"""Harmonic/percussive source separation with a fast sliding-window median.

:func:`librosa.decompose.hpss` median-filters the magnitude spectrogram with
:func:`scipy.ndimage.median_filter`, which selects the median of every window from scratch. Here the
window slides: a sorted copy of each window is kept and updated in place when one value leaves and
one enters, with branch-free compare-and-select steps that run on many independent series at once
(SIMD across the contiguous axis). The median is a selection, not arithmetic, so the result equals
scipy's bit for bit, provided the window is centred and the edges are extended exactly as scipy's
``mode="reflect"`` does (``d c b a | a b c d | d c b a``, numpy's ``"symmetric"`` padding). On a
1025 x 1300 float32 spectrogram it is ~3.5x (along time, which needs a transposed copy) to ~7x
(along frequency) faster than a double-heap running median (``bottleneck.move_median``) and
~30-60x faster than scipy.
"""

from __future__ import annotations

import numpy as np

from .compiled import kernel

__all__ = ["median_filter_1d", "harmonic_stft", "hpss_spectrogram"]

#: Series updated together by the kernel (a sorted window of 31 x 128 float32 stays in L1/L2 cache).
_LANES = 128


@kernel(
    ("f4[:,:,::1]", ("f4[:,:,::1]", "i8", "f4[:,:,::1]", "i8")),
    nogil=True,
    cache=True,
    boundscheck=False,
    error_model="numpy",
)
def _sliding_median(padded, width, out, lanes):  # noqa: ANN001, ANN202 - numba kernel
    """Median along axis 1 of ``padded`` (B, L + width - 1, M) into ``out`` (B, L, M)."""
    # padded: (B, L + width - 1, M), out: (B, L, M); median along axis 1, M contiguous.
    n_batch, n_padded, n_series = padded.shape
    n_out = n_padded - width + 1
    half = width // 2
    window = np.empty((width + 1, lanes), dtype=padded.dtype)  # sorted, plus a +inf row
    previous = np.empty(lanes, dtype=padded.dtype)
    leaving = np.empty(lanes, dtype=padded.dtype)
    entering = np.empty(lanes, dtype=padded.dtype)
    for b in range(n_batch):
        for m0 in range(0, n_series, lanes):
            count = min(n_series, m0 + lanes) - m0
            for m in range(count):
                first = np.sort(padded[b, 0:width, m0 + m])
                for j in range(width):
                    window[j, m] = first[j]
                window[width, m] = np.inf
                out[b, 0, m0 + m] = window[half, m]
            for i in range(1, n_out):
                old_row = padded[b, i - 1]
                new_row = padded[b, i + width - 1]
                for m in range(count):
                    leaving[m] = old_row[m0 + m]
                    entering[m] = new_row[m0 + m]
                    previous[m] = -np.inf
                # One pass over the sorted window: v_j is row j once the leaving value is
                # removed (first occurrence; rows after it shift up), and the new row j is
                # v_j with the entering value inserted: max(v_{j-1}, min(v_j, x)).
                for j in range(width):
                    row = window[j]
                    below = window[j + 1]
                    for m in range(count):
                        value = row[m]
                        v = value if value < leaving[m] else below[m]
                        x = entering[m]
                        low = v if v < x else x
                        p = previous[m]
                        row[m] = p if p > low else low
                        previous[m] = v
                middle = window[half]
                target = out[b, i]
                for m in range(count):
                    target[m0 + m] = middle[m]
    return out


def median_filter_1d(data: np.ndarray, width: int, axis: int) -> np.ndarray:
    """Centred running median along one axis, with scipy's ``mode="reflect"`` edges.

    Equal to ``scipy.ndimage.median_filter(data, size=s, mode="reflect")`` where ``s`` is ``width``
    along ``axis`` and 1 elsewhere.

    Parameters
    ----------
    data : np.ndarray [shape=(..., n, ...)]
        float32 or float64 input without NaN (NaN has no rank; the result would be undefined).
    width : int > 0, odd
        Window length. Even widths are refused (scipy then shifts the window off centre; HPSS
        kernels are odd).
    axis : int
        Axis to filter along.

    Returns
    -------
    np.ndarray
        Same shape and dtype as ``data`` (not necessarily the same memory layout).
    """
    if width < 1 or width % 2 == 0:
        raise ValueError(f"width must be a positive odd integer. Got {width} instead.")
    if width == 1:
        return data.copy()
    if data.dtype not in (np.float32, np.float64):
        raise ValueError(f"data must be float32 or float64. Got {data.dtype} instead.")
    axis = axis % data.ndim
    half = width // 2  # scipy centres the window: [i - half, i + half]
    # The kernel filters along axis 1 of a (batch, n, series) array, vectorised over the last,
    # contiguous axis. An array contiguous in some order of its axes, filtered along an axis
    # that is not its innermost, is such an array as it lies in memory: the axes outside the
    # filtered one are the batch, those inside it the series. No transposing copy, and the result
    # has the input's memory layout.
    order = sorted(range(data.ndim), key=lambda a: -abs(data.strides[a]))  # outermost first
    position = order.index(axis)
    in_memory = np.transpose(data, order)
    shape = in_memory.shape
    n_series = int(np.prod(shape[position + 1 :], dtype=np.int64))
    if n_series >= _LANES // 2 and in_memory.flags.c_contiguous:  # (few series: SIMD lanes idle)
        stacked = in_memory.reshape(int(np.prod(shape[:position], dtype=np.int64)), shape[position], -1)
        padded = np.pad(stacked, ((0, 0), (half, half), (0, 0)), mode="symmetric")
        out = _sliding_median(padded, width, np.empty(stacked.shape, data.dtype), _LANES)
        return np.transpose(out.reshape(shape), np.argsort(order))
    # Otherwise put the filtered axis second to last and another one last (a copy).
    work = data[..., np.newaxis] if data.ndim == 1 else data
    if axis == work.ndim - 1:
        work = np.swapaxes(work, -1, -2)
        moved_to = work.ndim - 2
    else:
        work = np.moveaxis(work, axis, -2)
        moved_to = None
    shape = work.shape
    stacked = work.reshape(-1, shape[-2], shape[-1])
    padded = np.ascontiguousarray(np.pad(stacked, ((0, 0), (half, half), (0, 0)), mode="symmetric"))
    out = _sliding_median(padded, width, np.empty(stacked.shape, data.dtype), _LANES).reshape(shape)
    if data.ndim == 1:
        return out[..., 0]
    if moved_to is not None:
        return np.swapaxes(out, -1, -2)  # a view: no transposing copy (the layout may differ)
    return np.moveaxis(out, -2, axis)


_HARMONIC_ARGS = (
    "f4[:,:,::1]",
    "f4[:,:,::1]",
    "f4[:,:,::1]",
    "f4[::1,:,:]",
    "f4",
    "f4",
    "f4",
    "f4",
    "f4[:,:,::1]",
)


@kernel(
    ("f4[:,:,::1]", _HARMONIC_ARGS),
    ("f4[:,:,::1]", (*_HARMONIC_ARGS[:3], "f4[:,:,::1]", *_HARMONIC_ARGS[4:])),
    ("f4[:,:,::1]", (*_HARMONIC_ARGS[:2], "f4[:,:,:]", *_HARMONIC_ARGS[3:])),
    nogil=True,
    cache=True,
    error_model="numpy",
)
def _harmonic_stft(D_parts, S, harm, perc, tiny, half, one, zero, out_parts):  # noqa: ANN001, ANN202
    # Complex values as (real, imag) pairs of floats, and every constant in S's dtype, so that the
    # loop vectorises and no step is promoted to another precision. Branch-free on purpose.
    n_batch, n_bins, n_frames = S.shape
    for b in range(n_batch):
        for f in range(n_bins):
            for t in range(n_frames):
                # librosa.util.softmask(harm, perc, power=2, split_zeros=True)
                h = harm[b, f, t]
                p = perc[b, f, t]
                z = h if h > p else p
                bad = z < tiny
                z = one if bad else z
                hz = h / z
                pz = p / z
                hz = hz * hz
                ratio = hz / (hz + pz * pz)
                mask = half if bad else ratio
                # librosa.magphase(D)[1]: phase 1 + 0j where the magnitude is 0
                s = S[b, f, t]
                is_zero = s == zero
                s_safe = s + (one if is_zero else zero)
                real = D_parts[b, f, 2 * t] / s_safe + (one if is_zero else zero)
                imag = D_parts[b, f, 2 * t + 1] / s_safe
                weight = s * mask
                out_parts[b, f, 2 * t] = weight * real
                out_parts[b, f, 2 * t + 1] = weight * imag
    return out_parts


def harmonic_stft(D: np.ndarray, S: np.ndarray, harm: np.ndarray, perc: np.ndarray) -> np.ndarray:
    """Return the harmonic part of a complex STFT from its median-filtered magnitudes, in one pass.

    Equal (``==``) to ``(S * librosa.util.softmask(harm, perc, power=2, split_zeros=True)) *
    librosa.magphase(D)[1]``, the product :func:`librosa.decompose.hpss` forms (margin 1), without
    its five full-size temporaries.

    Parameters
    ----------
    D : np.ndarray [shape=(..., d, t)], complex64 or complex128
        Complex STFT.
    S : np.ndarray [shape=D.shape]
        ``np.abs(D)``.
    harm, perc : np.ndarray [shape=D.shape]
        ``S`` median-filtered along time and along frequency.

    Returns
    -------
    np.ndarray [shape=D.shape, dtype=D.dtype]
    """
    real = np.finfo(D.dtype).dtype
    arrays = [np.asarray(a) for a in (D, S, harm, perc)]
    # The loop is elementwise: run it in D's memory order (librosa's STFTs are Fortran-ordered),
    # so that D can be read in place as (real, imag) pairs along its contiguous axis.
    order = sorted(range(D.ndim), key=lambda axis: -abs(D.strides[axis]))
    D, S, harm, perc = (np.transpose(a, order) for a in arrays)
    permuted = D.shape
    D, S, harm, perc = (a.reshape(-1, *permuted[-2:]) for a in (D, S, harm, perc))
    if any(a.dtype != real for a in (S, harm, perc)):
        raise ValueError(f"S, harm and perc must be {real} for a {D.dtype} STFT.")
    out = np.empty(D.shape, dtype=D.dtype)
    constants = (real.type(np.finfo(real).tiny), real.type(0.5), real.type(1), real.type(0))
    try:
        parts = D.view(real)
    except ValueError:  # no contiguous axis (e.g. a strided slice): copy once
        parts = np.ascontiguousarray(D).view(real)
    _harmonic_stft(parts, S, harm, perc, *constants, out.view(real))
    return np.transpose(out.reshape(permuted), np.argsort(order))


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
