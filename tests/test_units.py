"""Units of the rows: published windows, short-clip policies, augmented copies, loudness."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import music_like

from featurelab.exceptions import ParameterError
from featurelab.extraction import segment_bounds
from featurelab.settings import ExtractionSettings
from featurelab.units import fit_to_window, table_units, window_samples

SR = 22050


def test_default_units_are_the_published_windows():
    y = music_like(7.0, seed=1)
    settings = ExtractionSettings(segment=3.0)
    ((units, extras),) = table_units(y, SR, settings, "segment")
    bounds = segment_bounds(len(y), SR, 3.0)
    np.testing.assert_array_equal(units, np.stack([y[a:b] for a, b in bounds]))
    assert extras == [{"length": 66149}, {"length": 66149}]
    ((track, extras),) = table_units(y, SR, ExtractionSettings(), "track")
    np.testing.assert_array_equal(track, y[np.newaxis])
    assert extras == [{"length": len(y)}]


def test_short_clip_policies():
    y = music_like(1.0, seed=2)  # shorter than one 3 s window
    with pytest.raises(ValueError, match=r"shorter than one 3 s segment \(1.000 s\): no segment rows"):
        table_units(y, SR, ExtractionSettings(segment=3.0), "segment")
    n = window_samples(SR, ExtractionSettings(segment=3.0))
    assert n == 66149 and window_samples(SR, ExtractionSettings(segment=3.0, segment_mode="exact")) == 66150
    for policy, width in (("window", len(y)), ("loop", n), ("pad", n)):
        ((units, extras),) = table_units(
            y, SR, ExtractionSettings(segment=3.0, short_clips=policy), "segment"
        )
        assert units.shape == (1, width) and extras == [{"length": len(y)}], policy
        np.testing.assert_array_equal(units[0, : len(y)], y)
    looped = table_units(y, SR, ExtractionSettings(segment=3.0, short_clips="loop"), "segment")[0][0][0]
    np.testing.assert_array_equal(looped[len(y) : 2 * len(y)], y)
    padded = table_units(y, SR, ExtractionSettings(segment=3.0, short_clips="pad"), "segment")[0][0][0]
    assert not padded[len(y) :].any()


def test_fit_to_window():
    np.testing.assert_array_equal(fit_to_window(np.arange(3.0), 7, "loop"), [0, 1, 2, 0, 1, 2, 0])
    np.testing.assert_array_equal(fit_to_window(np.arange(3.0), 2, "pad"), np.arange(3.0))
    with pytest.raises(ParameterError, match="policy must be 'window', 'loop' or 'pad'. Got 'drop'"):
        fit_to_window(np.arange(3.0), 7, "drop")


def test_loudness_applies_to_each_unit():
    y = music_like(6.5, seed=3)
    y[: len(y) // 2] *= 0.01  # a quiet first window, a loud second one
    ((units, _),) = table_units(y, SR, ExtractionSettings(segment=3.0, normalize="peak"), "segment")
    np.testing.assert_allclose(np.abs(units).max(axis=1), 1.0, rtol=1e-6)


def test_augmented_copies_follow_the_files_own_rows():
    pytest.importorskip("audiomentations")
    y = music_like(6.5, seed=4)
    settings = ExtractionSettings(segment=3.0, augment="crop=1:2,gain=-20:0", copies=2, augment_seed=1)
    batches = table_units(y, SR, settings, "segment", name="a.wav")
    extras = [extra for _, rows in batches for extra in rows]
    assert [e["augmented"] for e in extras] == [0, 0, 1, 1, 2, 2]
    assert [e["length"] for e in extras[:2]] == [66149, 66149]
    assert all(SR <= e["length"] <= 2 * SR for e in extras[2:])
    units = np.concatenate([b for b, _ in batches])
    assert units.shape == (6, 66149)  # the crops are looped to one window, as predict does
    again = table_units(y, SR, settings, "segment", name="a.wav")
    np.testing.assert_array_equal(units, np.concatenate([b for b, _ in again]))
    other = table_units(y, SR, settings, "segment", name="b.wav")
    assert not np.array_equal(units[2:], np.concatenate([b for b, _ in other])[2:])
    # one shorter window: crops keep their own length
    windowed = ExtractionSettings(segment=3.0, short_clips="window", augment="crop=1:2", copies=1)
    lengths = [b.shape[1] for b, _ in table_units(y, SR, windowed, "segment", name="a.wav")]
    assert lengths[0] == 66149 and all(SR <= n <= 2 * SR for n in lengths[1:])
    # a track row's copies
    track = table_units(y, SR, ExtractionSettings(augment="gain=-6", copies=1), "track", name="a.wav")
    assert [rows for _, rows in track] == [
        [{"length": len(y), "augmented": 0}],
        [{"length": len(y), "augmented": 1}],
    ]
    np.testing.assert_allclose(track[1][0][0], y * 10 ** (-6 / 20), rtol=1e-5, atol=1e-7)
