"""The inverse STFT of the HPSS harmonic spectrogram, in one compiled pass.

:func:`librosa.istft` inverts a spectrogram in chunks of 256 kB (for a batch of ten 3 s segments,
three frames per chunk): each chunk is inverse-transformed, multiplied by the window into a float64
temporary and overlap-added by a compiled loop; the window sum-square is then built and divided out
through boolean indexing. :func:`istft` inverts all frames with one FFT call (along the contiguous
axis of a frame-major copy) and does the window
product, the overlap-add and the normalisation in one compiled loop, with the same operations in the
same order and precision (float64 product and sum, rounded to float32 on every store, frames added in
order), so its output equals librosa's bit for bit (``tests/test_kernels.py``).
"""

from __future__ import annotations

import numpy as np

from .compiled import kernel
from .filters import hann_window, window_sumsquare

__all__ = ["istft"]


@kernel(
    ("f4[:,::1]", ("f4[:,:,::1]", "f8[::1]", "i8", "f4[::1]", "f4", "f4[:,::1]")),
    nogil=True,
    cache=True,
    error_model="numpy",
)
def _overlap_add(frames, window, hop, norm, tiny, out):  # noqa: ANN001, ANN202 - numba kernel
    # frames: (B, T, n_fft) float32; window: (n_fft,) float64; norm: (L,) float32; out: (B, L) zeros.
    n_batch, n_frames, n_fft = frames.shape
    for b in range(n_batch):
        target = out[b]
        for t in range(n_frames):
            start = t * hop
            frame = frames[b, t]
            for j in range(n_fft):
                # librosa: ytmp = window * irfft(...) in float64, then y[s:s+N] += ytmp (float32 y)
                target[start + j] = np.float32(
                    np.float64(target[start + j]) + window[j] * np.float64(frame[j])
                )
        for i in range(target.shape[0]):
            if norm[i] > tiny:
                target[i] = target[i] / norm[i]
    return out


def istft(D: np.ndarray, *, n_fft: int, hop_length: int) -> np.ndarray:
    """Inverse STFT, bit for bit :func:`librosa.istft` with ``center=False, dtype=np.float32``.

    Parameters
    ----------
    D : np.ndarray [shape=(..., 1 + n_fft // 2, t), dtype=complex64]
        STFT frames (Hann window, not centred).
    n_fft, hop_length : int > 0
        Frame length and hop, ``hop_length <= n_fft``.

    Returns
    -------
    np.ndarray [shape=(..., n_fft + hop_length * (t - 1)), dtype=float32]
    """
    if D.dtype != np.complex64 or D.ndim < 2 or D.shape[-2] != 1 + n_fft // 2:
        raise ValueError(f"D must be a complex64 STFT of n_fft={n_fft}. Got {D.dtype} {D.shape} instead.")
    if not 0 < hop_length <= n_fft:
        raise ValueError(f"hop_length must be in (0, n_fft]. Got {hop_length} instead.")
    lead, n_frames = D.shape[:-2], D.shape[-1]
    # Frames along the contiguous axis: the FFT then reads each frame in place (the same transform,
    # so the same values, as along a strided axis, ~3x faster) and the loop below reads it in order.
    frames_first = np.ascontiguousarray(np.swapaxes(D.reshape(-1, *D.shape[-2:]), -1, -2))
    # numpy's pocketfft: the same transform, so the same values, as the scipy.fft librosa calls.
    frames = np.fft.irfft(frames_first, n=n_fft, axis=-1)
    del frames_first
    out = np.zeros((frames.shape[0], n_fft + hop_length * (n_frames - 1)), dtype=np.float32)
    norm = window_sumsquare(n_frames=n_frames, n_fft=n_fft, hop_length=hop_length)
    tiny = np.float32(np.finfo(np.float32).tiny)
    frames = np.ascontiguousarray(frames, dtype=np.float32)
    _overlap_add(frames, hann_window(n_fft), hop_length, norm, tiny, out)
    return out.reshape(*lead, out.shape[-1])
