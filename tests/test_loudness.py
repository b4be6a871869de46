"""Loudness normalisation: scaled units, silent units untouched, gain-free features."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import music_like

from featurelab.exceptions import ParameterError
from featurelab.extraction import extract_features
from featurelab.loudness import RMS_TARGET, normalize_units

#: The GTZAN columns that follow the input gain (measured: the other 50 do not move).
GAIN_COLUMNS = (
    "rms_mean",
    "rms_var",
    "harmony_mean",
    "harmony_var",
    "perceptr_mean",
    "perceptr_var",
    "mfcc1_mean",
)


def test_none_is_the_units_themselves():
    units = np.ones((2, 5), dtype=np.float32)
    assert normalize_units(units, "none") is units


def test_peak_and_rms_levels_per_row():
    units = np.stack([0.01 * music_like(1.0, seed=1), 0.5 * music_like(1.0, seed=2)])
    peak = normalize_units(units, "peak")
    np.testing.assert_allclose(np.abs(peak).max(axis=1), 1.0, rtol=1e-6)
    rms = normalize_units(units, "rms")
    np.testing.assert_allclose(np.sqrt(np.mean(rms.astype(np.float64) ** 2, axis=1)), RMS_TARGET, rtol=1e-5)
    assert peak.dtype == rms.dtype == np.float32
    # the shape of each row is kept
    np.testing.assert_allclose(rms[0] / rms[0].max(), units[0] / units[0].max(), rtol=1e-5, atol=1e-6)


def test_silence_is_left_alone():
    units = np.zeros((1, 100), dtype=np.float32)
    units[0, 3] = 1e-9
    np.testing.assert_array_equal(normalize_units(units, "rms"), units)
    np.testing.assert_array_equal(
        normalize_units(np.zeros((1, 0), dtype=np.float32), "peak"), np.zeros((1, 0))
    )


def test_unknown_method_is_refused():
    with pytest.raises(ParameterError, match="normalize must be one of none, peak, rms. Got 'loud'"):
        normalize_units(np.ones((1, 4)), "loud")


@pytest.mark.parametrize("method", ["peak", "rms"])
def test_normalised_features_do_not_move_with_gain(method):
    y = music_like(2.0, seed=3)
    raw = {gain: extract_features(gain * y, 22050) for gain in (1.0, 0.1)}
    moved = [c for c in raw[1.0] if not np.isclose(raw[1.0][c], raw[0.1][c], rtol=1e-3, atol=1e-6)]
    assert set(moved) == set(GAIN_COLUMNS)  # what moves today (see featurelab.loudness)
    normal = {
        gain: extract_features(normalize_units(gain * y[np.newaxis], method)[0], 22050) for gain in (1.0, 0.1)
    }
    for column in GAIN_COLUMNS:
        assert normal[1.0][column] == pytest.approx(normal[0.1][column], rel=1e-3, abs=1e-6), column
