"""Every GTZAN column of the fast engine against the one-call-per-feature librosa reference.

Tolerances: relative 1e-5 (absolute 1e-9) for every column but harmony/perceptr: relative 1e-4 and
absolute 1e-7 (full scale = 1). Their waveforms come from inverse STFTs of masked spectra, the
percussive one as the signal minus the harmonic one, and their means sit near zero, where only an
absolute tolerance is meaningful. In practice the engine matches the reference to ~1e-7 relative
(float32 rounding) and the harmonic waveform exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SR, chirp, clicks, music_like, noise, sine
from numpy.testing import assert_allclose

from featurelab.features.gtzan import gtzan_features, gtzan_features_batch
from featurelab.features.hpss import median_filter_1d
from featurelab.features.reference import reference_gtzan_features
from featurelab.features.schema import GTZAN_FEATURE_COLUMNS

RTOL = {"harmony": 1e-4, "perceptr": 1e-4}
DEFAULT_RTOL = 1e-5
ATOL = {"harmony": 1e-7, "perceptr": 1e-7}
DEFAULT_ATOL = 1e-9


def assert_matches_reference(fast: dict, ref: dict) -> None:
    assert list(fast) == list(ref) == list(GTZAN_FEATURE_COLUMNS)
    for column in GTZAN_FEATURE_COLUMNS:
        base = column.rsplit("_", 1)[0]
        rtol, atol = RTOL.get(base, DEFAULT_RTOL), ATOL.get(base, DEFAULT_ATOL)
        assert_allclose(fast[column], ref[column], rtol=rtol, atol=atol, err_msg=column)


@pytest.mark.parametrize("name", ["sine440", "chirp", "noise", "clicks", "music"])
def test_every_column_matches_reference(signals, name):
    y = signals[name]
    assert_matches_reference(gtzan_features(y, SR), reference_gtzan_features(y, SR))


def test_other_sampling_rate_matches_reference():
    y = music_like(2.0, sr=16000, seed=3)
    assert_matches_reference(gtzan_features(y, 16000), reference_gtzan_features(y, 16000))


@pytest.mark.filterwarnings("ignore:Trying to estimate tuning:UserWarning")
def test_batch_equals_single_signal_computation():
    rows = np.stack([music_like(1.0, seed=s) for s in range(3)] + [np.zeros(SR, np.float32)])
    batch = gtzan_features_batch(rows, SR)
    for row, y in zip(batch, rows):
        assert_matches_reference(dict(row), reference_gtzan_features(y, SR))


def test_sine_centroid_near_its_frequency():
    row = gtzan_features(sine(1000, 1.0), SR)
    assert row["spectral_centroid_mean"] == pytest.approx(1000, rel=0.03)
    assert row["rolloff_mean"] == pytest.approx(1000, rel=0.1)


def test_square_wave_zero_crossing_rate_is_two_per_period():
    period = 50  # samples; 5 s so the edge frames (padded) barely move the mean
    t = np.arange(5 * SR)
    y = np.where((t // (period // 2)) % 2 == 0, 0.5, -0.5).astype(np.float32)
    row = gtzan_features(y, SR)
    assert row["zero_crossing_rate_mean"] == pytest.approx(2 / period, rel=0.02)


def test_click_train_tempo():
    row = gtzan_features(clicks(2.0, 8.0), SR)  # 2 clicks/s = 120 BPM
    assert row["tempo"] == pytest.approx(120, rel=0.05)


def test_noise_is_brighter_than_a_low_sine():
    assert (
        gtzan_features(noise(1.0), SR)["spectral_centroid_mean"]
        > 5 * gtzan_features(sine(200, 1.0), SR)["spectral_centroid_mean"]
    )


@pytest.mark.parametrize("n", [1, 100, 1500, SR])
def test_silence_and_tiny_signals_give_finite_values(n):
    for y in (np.zeros(n, np.float32), noise(n / SR + 1e-9)[:n]):
        row = gtzan_features(y, SR)
        assert all(np.isfinite(v) for v in row.values())
    silent = gtzan_features(np.zeros(n, np.float32), SR)
    assert silent["rms_mean"] == 0 and silent["tempo"] == 0 and silent["harmony_var"] == 0


@pytest.mark.parametrize("width", [1, 3, 5, 31])
@pytest.mark.parametrize("axis", [0, 1])
def test_sliding_median_equals_scipy(rng, width, axis):
    from scipy.ndimage import median_filter

    data = rng.random((37, 53)).astype(np.float32)
    size = [1, 1]
    size[axis] = width
    assert_allclose(
        median_filter_1d(data, width, axis),
        median_filter(data, size=size, mode="reflect"),
        rtol=0,
        atol=0,
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(40,), (2, 37, 53), (3, 5, 300)])
def test_sliding_median_ties_any_axis_and_dtype(rng, dtype, shape):
    # Many equal values (ties decide which copy leaves the sorted window), negative values, every
    # axis of 1-D and 3-D inputs, more series than the kernel updates at once (300 > 128 lanes).
    from scipy.ndimage import median_filter

    data = rng.integers(-3, 4, size=shape).astype(dtype)
    for axis in range(len(shape)):
        for width in (3, 31):
            if shape[axis] <= width // 2:
                continue  # scipy's own result is unreliable there (see the short-axis test)
            size = [1] * len(shape)
            size[axis] = width
            got = median_filter_1d(data, width, axis)
            assert got.dtype == dtype and got.shape == data.shape
            assert_allclose(got, median_filter(data, size=size, mode="reflect"), rtol=0, atol=0)


def test_sliding_median_refuses_integer_data():
    with pytest.raises(ValueError, match="float32 or float64"):
        median_filter_1d(np.arange(12).reshape(3, 4), 3, 0)


def test_sliding_median_refuses_even_width(rng):
    with pytest.raises(ValueError, match="odd"):
        median_filter_1d(rng.random((4, 4)), 4, 0)


def test_sliding_median_short_axis(rng):
    # Fewer rows than the window. scipy 1.17's median_filter reads past the array here and returns
    # NaN in about a fifth of the cases, so the oracle is the definition: a centred window over the
    # symmetric extension ("reflect" in scipy's terms), as librosa's hpss would want.
    data = rng.random((3, 40)).astype(np.float32)
    padded = np.pad(data, ((15, 15), (0, 0)), mode="symmetric")
    expected = np.stack([np.median(padded[i : i + 31], axis=0) for i in range(3)])
    assert_allclose(median_filter_1d(data, 31, 0), expected, rtol=0, atol=0)


def test_chirp_is_a_real_signal():
    # Guard against a degenerate fixture: the chirp sweeps, so its centroid varies over time.
    assert gtzan_features(chirp(200, 4000, 1.5), SR)["spectral_centroid_var"] > 1e5


@pytest.mark.parametrize("block_frames", [7, 40, 100])
def test_block_processing_equals_whole_signal(block_frames):
    # 4 s = 173 frames: several blocks, each with less context than the HPSS/istft margins needs
    # when blocks are this small -- the result must not depend on the block size.
    y = music_like(4.0, seed=7)
    whole = gtzan_features(y, SR)
    blocked = gtzan_features(y, SR, block_frames=block_frames)
    assert_matches_reference(blocked, whole)
    for column in ("harmony_var", "perceptr_var", "tempo", "chroma_stft_var", "rms_var"):
        assert blocked[column] == pytest.approx(whole[column], rel=1e-6), column


def test_padded_slice_equals_padding_the_whole_signal(rng):
    from featurelab.features.gtzan import _padded_slice

    for n in (1, 5, 1025, 5000):
        y = rng.random((2, n)).astype(np.float32)
        for mode in ("reflect", "edge"):
            full = np.pad(y, ((0, 0), (1024, 1024)), mode=mode)
            for start in range(0, n + 2048, 331):
                for stop in (start + 1, start + 2048, n + 2048):
                    if start < stop <= n + 2048:
                        assert np.array_equal(_padded_slice(y, start, stop, mode), full[:, start:stop])
