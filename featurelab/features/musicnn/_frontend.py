"""musicnn's input representation: 16 kHz, 96-band mel power, float16 storage, log compression.

Mirrors ``batch_data`` of ``musicnn/extractor.py`` (musicnn 0.1.0)::

    audio, sr = librosa.load(file, sr=16000)
    rep = librosa.feature.melspectrogram(y=audio, sr=sr, hop_length=256, n_fft=512, n_mels=96).T
    rep = rep.astype(np.float16)
    rep = np.log10(10000 * rep + 1)

with these choices made explicit:

- resampling to 16 kHz uses ``librosa.resample(res_type="soxr_hq")``, which is what
  ``librosa.load(sr=16000)`` does in librosa >= 0.10;
- the STFT frames are centred with ``pad_mode="reflect"``, the librosa default when the models were
  trained and released (librosa 0.7-0.9; 0.10 changed the default to zero padding);
- the mel power is rounded to float16 (as the original stores it) but the log compression runs in
  float32, as it did with numpy < 2 (value-based casting promoted ``float16 * 10000`` to float32;
  in float16 the product overflows for ordinary music);
- patches of 187 frames (3 s) without overlap, starting at frame 0; trailing frames that do not
  fill a patch are dropped, as in the original. A signal shorter than one patch (where the original
  fails) is repeated in time until it fills one ("repeat-pad", the ``pad_short`` setting the models
  were trained with). A signal shorter than one FFT window is zero-padded to 512 samples first.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SR", "N_FFT", "HOP_LENGTH", "N_MELS", "N_FRAMES", "to_16k", "log_mel", "patches"]

SR = 16000
N_FFT = 512
HOP_LENGTH = 256
N_MELS = 96
N_FRAMES = 187  # librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1


def to_16k(y: np.ndarray, sr: int) -> np.ndarray:
    """Resample ``y`` [shape=(..., n)] to 16 kHz (soxr_hq), float32, at least ``N_FFT`` samples."""
    import librosa

    y = np.asarray(y, dtype=np.float32)
    if sr != SR:
        y = librosa.resample(y, orig_sr=sr, target_sr=SR, res_type="soxr_hq", axis=-1)
    if y.shape[-1] < N_FFT:
        pad = [(0, 0)] * (y.ndim - 1) + [(0, N_FFT - y.shape[-1])]
        y = np.pad(y, pad)
    return np.ascontiguousarray(y, dtype=np.float32)


def log_mel(y16: np.ndarray) -> np.ndarray:
    """Log-compressed mel spectrogram of a 16 kHz signal, as musicnn computes it.

    Parameters
    ----------
    y16 : np.ndarray [shape=(..., n)]
        Signal(s) at 16 kHz, ``n >= 512``.

    Returns
    -------
    rep : np.ndarray [shape=(..., t, 96)], float32
        ``log10(10000 * float16(mel power) + 1)``, time first as in the original.
    """
    mel = mel_power(y16)
    return np.log10(10000 * mel.astype(np.float32) + 1)


def mel_power(y16: np.ndarray) -> np.ndarray:
    """Mel power spectrogram [shape=(..., t, 96)] rounded to float16, as musicnn stores it."""
    import librosa

    mel = librosa.feature.melspectrogram(
        y=y16, sr=SR, n_fft=N_FFT, hop_length=HOP_LENGTH, n_mels=N_MELS, pad_mode="reflect"
    )
    # clip at the float16 maximum: only absurdly loud input (|y| >> 1) reaches it, and the
    # original would turn it into inf (then NaN)
    mel = np.minimum(mel, np.finfo(np.float16).max)
    return np.swapaxes(mel, -1, -2).astype(np.float16)


def patches(rep: np.ndarray, n_frames: int = N_FRAMES) -> np.ndarray:
    """Cut a ``(t, 96)`` representation into non-overlapping ``(n_patches, n_frames, 96)`` patches.

    Patches start at frames ``0, n_frames, 2 * n_frames, ...`` and the remainder is dropped, as in
    musicnn's ``batch_data``; a representation shorter than ``n_frames`` is tiled in time
    ("repeat-pad") to give exactly one patch.
    """
    n = rep.shape[0]
    if n < n_frames:
        rep = np.tile(rep, (-(-n_frames // n), 1))[:n_frames]
        n = n_frames
    n_patches = n // n_frames
    return np.ascontiguousarray(rep[: n_patches * n_frames].reshape(n_patches, n_frames, -1))
