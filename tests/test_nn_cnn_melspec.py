"""featurelab.nn.cnn.melspec: log-mel segments of a corpus, their parameters and their cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from nn_helpers import SR, write_corpus

from featurelab.exceptions import ParameterError
from featurelab.nn.cnn import melspec


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("mel") / "corpus", n_per_class=2)


def test_mel_cache_is_reused(corpus, tmp_path, monkeypatch):
    files, _ = melspec.list_corpus(corpus)
    files = files.iloc[:3]
    params = melspec.MelParams(segment=1.0)
    first, mels, problems = melspec.compute_segments(files, params, cache_dir=tmp_path / "c")
    assert not problems and mels.shape == (6, 128, 44) and mels.dtype == np.float32
    assert len(list((tmp_path / "c").rglob("*.npy"))) == 3

    def fail(*args, **kwargs):
        raise AssertionError("audio decoded although cached")

    monkeypatch.setattr("featurelab.io.load_audio", fail)
    second, cached, _ = melspec.compute_segments(files, params, cache_dir=tmp_path / "c")
    np.testing.assert_array_equal(cached, mels)
    pd.testing.assert_frame_equal(first, second)
    assert first["filename"].tolist()[:2] == ["high.00000.0.wav", "high.00000.1.wav"]


def test_mel_params_constraints_and_frames():
    params = melspec.MelParams(segment=1.0)
    assert params.segment_samples == SR and params.n_frames == 1 + SR // 512
    with pytest.raises(ParameterError, match=r"'hop_length' parameter of MelParams must be an int"):
        melspec.MelParams(hop_length=0)
    with pytest.raises(ParameterError, match="longer than half an FFT window"):
        melspec.MelParams(segment=0.01)


def test_log_mel_of_a_sine_peaks_near_its_frequency():
    import librosa

    params = melspec.MelParams(segment=1.0, n_mels=64)
    y = np.sin(2 * np.pi * 1000 * np.arange(SR) / SR).astype(np.float32)
    S_db = melspec.log_mel(y, params)
    assert S_db.shape == (64, params.n_frames) and S_db.dtype == np.float32
    assert S_db.max() == 0.0 and S_db.min() >= -params.top_db
    centers = librosa.mel_frequencies(n_mels=64, fmax=SR / 2)
    assert abs(centers[S_db.mean(axis=1).argmax()] - 1000) < 150
    np.testing.assert_allclose(melspec.log_mel(np.stack([y, y]), params)[1], S_db, rtol=0, atol=1e-4)


def test_split_signal_pads_short_and_drops_the_remainder():
    assert melspec.split_signal(np.ones(5), 8).shape == (1, 8)
    segments = melspec.split_signal(np.arange(20), 8)
    assert segments.shape == (2, 8) and segments[1, 0] == 8


def test_progress_callback(corpus):
    files, _ = melspec.list_corpus(corpus)
    calls = []
    melspec.compute_segments(
        files.iloc[:2], melspec.MelParams(segment=1.0), progress=lambda d, t: calls.append((d, t))
    )
    assert calls == [(1, 2), (2, 2)]
