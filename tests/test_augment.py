"""Waveform augmentation specs, presets and seeded draws."""

from __future__ import annotations

import random
import sys

import numpy as np
import pytest
from conftest import music_like

from featurelab.augment import PRESETS, Augmenter, Transform, parse_augment, seeded_global_rngs, unit_seed
from featurelab.exceptions import ParameterError

SR = 22050


def test_presets_and_items_parse():
    assert parse_augment("gain=-6:0") == (Transform("gain", -6.0, 0.0),)
    assert parse_augment("noise=20@0.5") == (Transform("noise", 20.0, 20.0, 0.5),)
    shift = parse_augment("shift")
    assert [t.name for t in shift] == ["crop", "gain", "noise"]
    assert (shift[0].low, shift[0].high) == (2.0, 3.0) and (shift[1].low, shift[1].high) == (-20.0, 0.0)
    # a later item replaces an earlier one of the same name, in place; presets nest
    assert parse_augment("shift, gain=-10:-5")[1] == Transform("gain", -10.0, -5.0)
    assert [t.name for t in parse_augment("robust")] == [
        "crop",
        "gain",
        "noise",
        "stretch",
        "lowpass",
        "highpass",
    ]
    assert set(PRESETS) >= {"shift", "robust"}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "the spec is empty"),
        ("gain=-6,,noise=10", "an item is empty"),
        ("reverb=1:2", "unknown transform or preset 'reverb'"),
        ("gain", "gain needs a value or a range"),
        ("gain=0:-6", "range 0:-6 is reversed"),
        ("crop=0:2", r"crop must lie in 0.001..3600 s"),
        ("noise=x", "'x' is not a number"),
        ("gain=nan", "not a finite number"),
        ("gain=-6@0", r"probability must be in \(0, 1\]"),
        ("gain=-6@1.5", "probability"),
    ],
)
def test_bad_specs_are_one_clear_error(spec, message):
    with pytest.raises(ParameterError, match=message) as error:
        parse_augment(spec)
    assert "presets: shift" in str(error.value)


def test_unit_seeds_depend_on_their_inputs_only():
    seeds = {
        unit_seed(s, n, c, i) for s in (0, 1) for n in ("a.wav", "b.wav") for c in (1, 2) for i in (0, 1)
    }
    assert len(seeds) == 16
    assert unit_seed(0, "a.wav", 1, 0) == unit_seed(0, "a.wav", 1, 0)
    assert 0 <= unit_seed(7, "a.wav", 1, 0) < 2**63


def test_seeded_global_rngs_restore_the_callers_streams():
    random.seed(5)
    np.random.seed(5)
    expected = (random.random(), np.random.random())
    random.seed(5)
    np.random.seed(5)
    with seeded_global_rngs(123):
        inside = (random.random(), np.random.random())
    assert (random.random(), np.random.random()) == expected
    with seeded_global_rngs(123):
        assert (random.random(), np.random.random()) == inside


def test_crop_only_needs_no_audiomentations(monkeypatch):
    monkeypatch.setitem(sys.modules, "audiomentations", None)  # an import now fails
    y = music_like(2.0, seed=1)
    augment = Augmenter("crop=0.5:1")
    lengths = {len(augment(y, SR, seed=seed)) for seed in range(8)}
    assert len(lengths) > 1 and all(SR // 2 <= n <= SR for n in lengths)
    z = augment(y, SR, seed=3)
    np.testing.assert_array_equal(z, augment(y, SR, seed=3))
    start = int(np.flatnonzero(np.isclose(y, z[0]))[0])
    np.testing.assert_array_equal(y[start : start + len(z)], z)  # an excerpt, unchanged
    # a crop longer than the signal keeps it whole
    np.testing.assert_array_equal(Augmenter("crop=5")(y, SR, seed=0), y)
    with pytest.raises(ParameterError, match=r"needs audiomentations .*pip install 'featurelab\[augment\]'"):
        Augmenter("gain=-6")(y, SR, seed=0)


def test_draws_are_seeded_and_probabilities_hold():
    pytest.importorskip("audiomentations")
    y = music_like(1.0, seed=2)
    augment = Augmenter("gain=-20:0,noise=10:30")
    z = augment(y, SR, seed=1)
    assert z.shape == y.shape and z.dtype == np.float32 and np.isfinite(z).all()
    np.testing.assert_array_equal(z, augment(y, SR, seed=1))
    assert not np.array_equal(z, augment(y, SR, seed=2))
    np.testing.assert_array_equal(y, music_like(1.0, seed=2))  # the input is not modified
    # a fixed gain scales by exactly that much
    np.testing.assert_allclose(Augmenter("gain=-6")(y, SR, seed=0), y * 10 ** (-6 / 20), rtol=1e-5, atol=1e-7)
    # p: about half of the draws apply the transform
    half = Augmenter("gain=-6@0.5")
    applied = [not np.array_equal(half(y, SR, seed=s), y) for s in range(40)]
    assert 10 <= sum(applied) <= 30


def test_every_transform_runs():
    pytest.importorskip("audiomentations")
    y = music_like(1.0, seed=4)
    z = Augmenter("stretch=0.9:1.1,pitch=-1:1,lowpass=2000:4000,highpass=50:100")(y, SR, seed=0)
    assert z.shape == y.shape and np.isfinite(z).all() and not np.allclose(z, y)
    assert repr(Augmenter("shift")) == "Augmenter('shift')"
