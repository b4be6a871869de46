"""featurelab.nn.cnn.augment: waveform augmentation and SpecAugment masks."""

from __future__ import annotations

import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from nn_helpers import SR, cnn_config  # noqa: E402

from featurelab.nn.cnn import WaveAugmenter, load_segment, spec_augment  # noqa: E402

pytestmark = pytest.mark.nn


def test_wave_augmenter_is_seeded_and_contained():
    pytest.importorskip("audiomentations")
    y = (0.3 * np.sin(2 * np.pi * 440 * np.arange(SR) / SR)).astype(np.float32)
    py_state, np_state = random.getstate(), np.random.get_state()[1].copy()
    aug = WaveAugmenter(p=1.0)
    a, b, c = aug(y, SR, seed=1), aug(y, SR, seed=1), aug(y, SR, seed=2)
    assert a.shape == y.shape and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c) and not np.array_equal(a, y)
    assert random.getstate() == py_state
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)


def test_spec_augment_masks_bands():
    x = torch.arange(4 * 32 * 40, dtype=torch.float32).reshape(4, 32, 40)
    gen = torch.Generator().manual_seed(0)
    config = cnn_config(freq_masks=1, freq_mask_width=8, time_masks=1, time_mask_width=10)
    y = spec_augment(x, gen, config)
    assert y.shape == x.shape and torch.equal(x, torch.arange(4 * 32 * 40.0).reshape(4, 32, 40))
    changed = (y != x).sum(dim=(1, 2))
    assert (changed <= 8 * 40 + 10 * 32).all() and changed.sum() > 0
    none = cnn_config(freq_masks=0, time_masks=0)
    assert torch.equal(spec_augment(x, gen, none), x)


def test_wave_augmenter_without_audiomentations(monkeypatch):
    import sys

    from featurelab.exceptions import ParameterError

    monkeypatch.setitem(sys.modules, "audiomentations", None)
    with pytest.raises(ParameterError, match="Waveform augmentation needs audiomentations"):
        WaveAugmenter()(np.zeros(SR, np.float32), SR, seed=0)


def test_load_segment_reads_one_segment_and_pads_the_end(tmp_path):
    import soundfile as sf

    y = np.linspace(-0.5, 0.5, int(2.5 * SR), dtype=np.float32)
    sf.write(tmp_path / "a.wav", y, SR, subtype="FLOAT")
    config = cnn_config()  # 1 s segments
    np.testing.assert_array_equal(load_segment(str(tmp_path / "a.wav"), 1.0, config), y[SR : 2 * SR])
    tail = load_segment(str(tmp_path / "a.wav"), 2.0, config)
    assert tail.shape == (SR,) and tail.dtype == np.float32
    np.testing.assert_array_equal(tail[: SR // 2], y[2 * SR :])
    assert not tail[SR // 2 :].any()
