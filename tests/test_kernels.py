"""The engine's compiled kernels against the librosa calls they replace.

Each kernel promises the *same* numbers as a librosa function (same operations, order and
precision), so the tolerance here is zero -- except the centroid/bandwidth, which sum in another
order than NumPy (rtol 1e-12). Inputs include the edge cases the kernels branch on:
silent frames, zero magnitudes, masks below the smallest normal number, float64 input.
"""

from __future__ import annotations

import librosa
import numpy as np
import pytest
from conftest import SR, chirp, music_like, noise

from featurelab.features.hpss import harmonic_stft, median_filter_1d
from featurelab.features.pitch import piptrack_peaks
from featurelab.features.spectral import centroid_bandwidth, melspectrogram, rolloff

N_FFT = 2048


def _stft(dtype=np.float32, seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    y = (music_like(seconds, seed=seed) + chirp(300, 3000, seconds)).astype(dtype)
    y[: SR // 4] = 0  # a silent stretch: all-zero frames and zero magnitudes
    return librosa.stft(y, n_fft=N_FFT)


def _equal(got: np.ndarray, expected: np.ndarray) -> None:
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_harmonic_stft_equals_librosa_mask_times_phase(dtype):
    D = _stft(dtype)[np.newaxis, :, 3:-2]  # a non-contiguous slice, like a block's
    S = np.abs(D)
    harm = median_filter_1d(S, 31, axis=-1)
    perc = median_filter_1d(S, 31, axis=-2)
    harm[..., :4] = 0  # both filters zero: the mask splits 0.5 / 0.5
    perc[..., :4] = 0
    perc[..., 4:6] = np.finfo(dtype).tiny / 4  # below tiny but not zero
    harm[..., 4:6] = np.finfo(dtype).tiny / 8
    mask = librosa.util.softmask(harm, perc, power=2.0, split_zeros=True)
    expected = (S * mask) * librosa.magphase(D)[1]
    _equal(harmonic_stft(D, S, harm, perc), expected)


@pytest.mark.parametrize("layout", ["batch", "C", "slice"])
def test_harmonic_stft_any_memory_layout(layout):
    # librosa's STFTs are Fortran-ordered (a batch's signal axis is the fastest); C-ordered and
    # sliced inputs must give the same numbers.
    y = np.stack([music_like(1.0, seed=s) for s in range(3)]).astype(np.float32)
    D = librosa.stft(y, n_fft=N_FFT)
    if layout == "C":
        D = np.ascontiguousarray(D)
    elif layout == "slice":
        D = D[::2, ::3, 1:]
    S = np.abs(D)
    harm = median_filter_1d(S, 31, axis=-1)
    perc = median_filter_1d(S, 31, axis=-2)
    mask = librosa.util.softmask(harm, perc, power=2.0, split_zeros=True)
    _equal(harmonic_stft(D, S, harm, perc), (S * mask) * librosa.magphase(D)[1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("roll_percent", [0.85, 0.5, 0.01, 0.99])
def test_rolloff_equals_librosa(dtype, roll_percent):
    S = np.abs(_stft(dtype))
    S = np.stack([S, S[::-1]])  # 3-D input, and a spectrum heavy at the top
    freq = librosa.fft_frequencies(sr=SR, n_fft=N_FFT)
    expected = librosa.feature.spectral_rolloff(S=S, sr=SR, n_fft=N_FFT, roll_percent=roll_percent)
    _equal(rolloff(S, freq, roll_percent), expected)


def test_rolloff_validates():
    with pytest.raises(ValueError, match="roll_percent"):
        rolloff(np.ones((5, 3), np.float32), np.arange(5.0), 1.0)
    with pytest.raises(ValueError, match="float32 or float64"):
        rolloff(np.ones((5, 3), np.int64), np.arange(5.0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_centroid_bandwidth_and_mel_equal_librosa(dtype):
    S = np.abs(_stft(dtype))
    freq = librosa.fft_frequencies(sr=SR, n_fft=N_FFT)
    S[:, :3] = 0  # silent frames: left un-normalised, centroid and bandwidth 0
    S[:, 3] = 1e-39  # below float32's tiny
    centroid, bandwidth = centroid_bandwidth(S, freq)
    expected_c = librosa.feature.spectral_centroid(S=S, sr=SR, n_fft=N_FFT)
    expected_b = librosa.feature.spectral_bandwidth(S=S, sr=SR, n_fft=N_FFT, centroid=expected_c)
    # Summation order differs from NumPy's: last bits only.
    assert centroid.dtype == bandwidth.dtype == np.float64
    np.testing.assert_allclose(centroid, expected_c, rtol=1e-12, atol=0)
    np.testing.assert_allclose(bandwidth, expected_b, rtol=1e-12, atol=0)
    assert not centroid[..., :3].any() and not bandwidth[..., :3].any()
    power = S**2
    _equal(melspectrogram(power, SR, N_FFT), librosa.feature.melspectrogram(S=power, sr=SR, n_fft=N_FFT))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sr", [8000, 22050, 44100])
def test_piptrack_peaks_equal_librosa(dtype, sr):
    y = (music_like(2.0, sr=sr, seed=3) + noise(2.0, sr=sr, amp=0.05)).astype(dtype)
    y[: sr // 5] = 0
    for S in (np.abs(librosa.stft(y, n_fft=N_FFT)) ** 2, np.abs(librosa.stft(y, n_fft=N_FFT))):
        for kwargs in ({}, {"fmin": 60.0, "fmax": 6000.0, "threshold": 0.3}):
            pitch, mag = librosa.piptrack(S=S, sr=sr, n_fft=N_FFT, **kwargs)
            keep = pitch > 0
            got_pitch, got_mag = piptrack_peaks(S, sr, N_FFT, **kwargs)
            assert keep.sum() > 10
            _equal(got_pitch, pitch[keep])
            _equal(got_mag, mag[keep])


def test_piptrack_peaks_of_silence_and_validation():
    pitch, mag = piptrack_peaks(np.zeros((1025, 7), np.float32), SR, N_FFT)
    assert pitch.size == mag.size == 0
    with pytest.raises(ValueError, match="2-D"):
        piptrack_peaks(np.zeros((2, 1025, 7), np.float32), SR, N_FFT)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("frame_length", "hop_length"), [(2048, 512), (512, 128), (2048, 2048)])
def test_zero_crossing_rate_equals_librosa(rng, dtype, frame_length, hop_length):
    from featurelab.features.temporal import zero_crossing_rate

    y = (0.1 * rng.standard_normal((2, 30000))).astype(dtype)
    y[:, 100:3000] = 0  # zeros count as positive
    y[:, 5000:7000] = 1e-11  # within the threshold of zero
    y[:, 7000:7100] *= -1e-12
    y[0, 200:300] = -0.0
    expected = librosa.feature.zero_crossing_rate(
        y, frame_length=frame_length, hop_length=hop_length, center=False
    )
    _equal(zero_crossing_rate(y, frame_length=frame_length, hop_length=hop_length), expected)
    with pytest.raises(ValueError, match="at least frame_length"):
        zero_crossing_rate(y[:, :100], frame_length=frame_length)


@pytest.mark.parametrize("k, n", [(1, 30 * SR), (3, 3 * SR - 1), (2, 4096), (1, 2048)])
def test_istft_equals_librosa(k, n):
    from featurelab.features.inverse import istft

    rng = np.random.default_rng(k * n)
    signals = [music_like(n / SR + 1, seed=i)[:n] if n > 4096 else rng.standard_normal(n) for i in range(k)]
    y = np.stack(signals)
    D = librosa.stft(y.astype(np.float32), n_fft=2048, hop_length=512, center=False)
    D[..., ::7] *= np.float32(0.25)  # not a plain STFT: the normalisation must not undo everything
    expected = librosa.istft(D, n_fft=2048, hop_length=512, center=False, dtype=np.float32)
    got = istft(D, n_fft=2048, hop_length=512)
    assert got.dtype == np.float32 and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)  # bit for bit
    np.testing.assert_array_equal(istft(D[0], n_fft=2048, hop_length=512), expected[0])  # 2-D input


def test_istft_validates():
    from featurelab.features.inverse import istft

    with pytest.raises(ValueError, match="complex64 STFT"):
        istft(np.zeros((1025, 3)), n_fft=2048, hop_length=512)
    with pytest.raises(ValueError, match="hop_length"):
        istft(np.zeros((1025, 3), np.complex64), n_fft=2048, hop_length=0)
