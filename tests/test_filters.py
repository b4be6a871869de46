"""The engine's librosa-free windows, filters, STFT, RMS and chroma against the librosa calls they replace.

Each function promises the *same* array as librosa (same operations, order and dtypes), so every
comparison is exact (``np.array_equal``, same dtype and shape), not a tolerance: the extraction
tables must stay byte-identical. Inputs include silence, float64 signals, batches and lengths that
span several of librosa's internal memory blocks.
"""

from __future__ import annotations

import subprocess
import sys

import librosa
import numpy as np
import pytest
import scipy.signal
from conftest import SR, chirp, music_like, noise

from featurelab.features import chroma, filters, frames

N_FFT, HOP = 2048, 512


def _equal(got, expected) -> None:
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


def _signals() -> list[np.ndarray]:
    silent = np.zeros(N_FFT + 3 * HOP, dtype=np.float32)
    music = (music_like(3.0, seed=1) + chirp(200, 4000, 3.0)).astype(np.float32)
    loud = (noise(2.0, seed=2) * 30).astype(np.float32)  # far beyond full scale
    tiny = (noise(1.0, seed=3) * 1e-30).astype(np.float32)  # magnitudes near float32's tiny
    batch = np.stack([music_like(1.5, seed=s) for s in range(3)]).astype(np.float32)
    return [silent, music, loud, tiny, batch, music.astype(np.float64), music[: N_FFT + 1]]


@pytest.mark.parametrize("n", [1, 2, 7, 512, 2048, 4097])
def test_hann_window_equals_scipy(n):
    _equal(filters.hann_window(n), scipy.signal.get_window("hann", n, fftbins=True))


@pytest.mark.parametrize("sr", [8000, 22050, 44100])
def test_frequency_grids_and_filter_banks_equal_librosa(sr):
    _equal(filters.fft_frequencies(sr=sr, n_fft=N_FFT), librosa.fft_frequencies(sr=sr, n_fft=N_FFT))
    _equal(filters.mel_frequencies(130, fmin=0.0, fmax=sr / 2), librosa.mel_frequencies(130, fmax=sr / 2))
    for f in (0.0, 440.0, 1000.0, 5000.0):  # scalars take another branch than arrays
        _equal(filters.hz_to_mel(f), librosa.hz_to_mel(f))
        _equal(filters.mel_to_hz(filters.hz_to_mel(f)), librosa.mel_to_hz(librosa.hz_to_mel(f)))
    bank = filters.mel_filter(sr=sr, n_fft=N_FFT)
    _equal(bank, librosa.filters.mel(sr=sr, n_fft=N_FFT))
    assert not bank.flags.writeable  # cached: nobody may change it
    for tuning in (0.0, -0.23, 0.41, 0.5):
        _equal(
            filters.chroma_filter(sr=sr, n_fft=N_FFT, tuning=tuning),
            librosa.filters.chroma(sr=sr, n_fft=N_FFT, tuning=tuning),
        )


def test_mel_filter_warns_of_empty_bands_as_librosa_does():
    with pytest.warns(UserWarning, match="Empty filters"):
        bank = filters.mel_filter(sr=8000, n_fft=128)
    with pytest.warns(UserWarning, match="Empty filters"):
        expected = librosa.filters.mel(sr=8000, n_fft=128)
    _equal(bank, expected)


@pytest.mark.parametrize("n_frames", [1, 2, 5, 300])
@pytest.mark.parametrize("hop", [256, 512, 2048])
def test_window_sumsquare_equals_librosa(n_frames, hop):
    expected = librosa.filters.window_sumsquare(
        window="hann", n_frames=n_frames, win_length=N_FFT, n_fft=N_FFT, hop_length=hop, dtype=np.float32
    )
    _equal(filters.window_sumsquare(n_frames=n_frames, n_fft=N_FFT, hop_length=hop), expected)


@pytest.mark.parametrize("norm", [np.inf, 2, 1.0])
def test_normalize_equals_librosa_including_all_zero_slices(norm):
    S = np.abs(noise(0.2, seed=5)).reshape(-1, 49)[:, :40].astype(np.float32)
    S[:, 3] = 0  # an all-zero column stays zero
    S[:, 4] = np.finfo(np.float32).tiny / 2  # below the threshold: left unscaled
    for axis in (0, -1):
        _equal(filters.normalize(S, norm=norm, axis=axis), librosa.util.normalize(S, norm=norm, axis=axis))


@pytest.mark.parametrize("index", range(7))
def test_frame_stft_and_rms_equal_librosa(index):
    y = _signals()[index]
    for hop in (HOP, 1000):
        expected = librosa.util.frame(y, frame_length=N_FFT, hop_length=hop)
        _equal(frames.frame(y, frame_length=N_FFT, hop_length=hop), expected)
    D = frames.stft(y, n_fft=N_FFT, hop_length=HOP)
    expected = librosa.stft(y, n_fft=N_FFT, hop_length=HOP, center=False)
    _equal(D, expected)
    assert D.flags.f_contiguous == expected.flags.f_contiguous  # the layout later BLAS calls see
    _equal(
        frames.rms(y, frame_length=N_FFT, hop_length=HOP),
        librosa.feature.rms(y=y, frame_length=N_FFT, hop_length=HOP, center=False),
    )


def test_stft_refuses_what_librosa_refuses():
    with pytest.raises(ValueError, match="not finite"):
        frames.stft(np.full(N_FFT, np.nan, dtype=np.float32), n_fft=N_FFT, hop_length=HOP)
    with pytest.raises(ValueError, match="too large"):
        frames.stft(np.zeros(N_FFT - 1, dtype=np.float32), n_fft=N_FFT, hop_length=HOP)
    with pytest.raises(ValueError, match="too short"):
        frames.frame(np.zeros(3), frame_length=4, hop_length=1)


@pytest.mark.parametrize("index", range(6))
def test_chroma_stft_equals_librosa(index):
    y = _signals()[index]
    power = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP, center=False)) ** 2
    for tuning in (0.0, -0.31, 0.12):
        _equal(
            chroma.chroma_stft(power, sr=SR, n_fft=N_FFT, tuning=tuning),
            librosa.feature.chroma_stft(S=power, sr=SR, n_fft=N_FFT, tuning=tuning),
        )


def test_pitch_tuning_equals_librosa():
    rng = np.random.default_rng(7)
    for frequencies in (
        rng.uniform(50, 5000, 1000),
        440.0 * 2 ** (rng.normal(0.2, 0.05, 300) / 12),  # one tuning dominates
        np.array([261.6]),
        np.array([-1.0, 0.0, 330.0]),  # non-positive values are ignored
        np.array([440.0, 440.0 * 2 ** (0.25 / 12)]),  # a tie: the first bin wins
        np.array([261.6], dtype=np.float32),
    ):
        assert chroma.pitch_tuning(frequencies) == librosa.pitch_tuning(frequencies)
    with pytest.warns(UserWarning, match="empty frequency set"):
        expected = librosa.pitch_tuning(np.zeros(4))
    assert chroma.pitch_tuning(np.zeros(4)) == expected == 0.0


def test_modules_import_neither_librosa_nor_scipy():
    code = (
        "import sys; import featurelab.features.chroma, featurelab.features.frames; "
        "print(sorted(m for m in ('librosa', 'scipy', 'numba') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
