"""featurelab.nn.cnn.config: CNN settings, their constraints and their configuration files."""

from __future__ import annotations

import json

import pytest

from featurelab.arrays import LogMel
from featurelab.exceptions import ParameterError
from featurelab.nn.cnn import CNNConfig, load_cnn_config
from featurelab.settings import ExtractionSettings


def test_cnn_config_precedence(tmp_path):
    config, protocol = load_cnn_config()
    assert config == CNNConfig() and protocol == {"cv": 5, "split_dir": None}
    assert config.logmel.n_mels == 128 and config.extraction.segment == 3.0 and 4 <= len(config.channels) <= 5
    user = tmp_path / "cnn.yaml"
    user.write_text("cv: 4\nseed: 3\nparams:\n  epochs: 7\n  channels: [4, 8, 16, 32]\n  n_mels: 64\n")
    config, protocol = load_cnn_config(user, epochs=9, cv=None, segment=2.0)
    got = (config.epochs, config.seed, config.channels, protocol["cv"], config.logmel.n_mels)
    assert got == (9, 3, (4, 8, 16, 32), 4, 64) and config.extraction.segment == 2.0
    user.write_text("params:\n  epoch: 7\n")
    with pytest.raises(ParameterError, match="unknown epoch"):
        load_cnn_config(user)
    with pytest.raises(ParameterError, match="at most log2"):
        CNNConfig.from_dict({"segment": 0.25})  # 11 frames cannot go through 5 pooling blocks


def test_inputs_are_extraction_settings_and_a_log_mel_product():
    """The inputs are declared once, by the objects that compute them (no copies of their fields)."""
    config = CNNConfig.from_dict({"sr": 16000, "segment": 1.5, "n_mels": 64, "hop_length": 256})
    assert config.extraction == ExtractionSettings(sr=16000, segment=1.5, segment_mode="exact")
    assert config.logmel == LogMel(n_mels=64, hop_length=256)
    assert config.input_shape == (64, 1 + 24000 // 256)
    inputs = {"sr", "segment", "n_mels", "n_fft", "hop_length", "top_db"}
    assert not inputs & set(CNNConfig.__dataclass_fields__)
    assert config.replace(n_mels=32).logmel.n_mels == 32 and config.replace(epochs=2).extraction.sr == 16000


def test_flat_dict_round_trip_reads_the_config_json_of_earlier_runs():
    old = {  # config.json of a run written by featurelab 0.1.0
        "sr": 22050, "n_mels": 128, "n_fft": 2048, "hop_length": 512, "segment": 3.0, "top_db": 80.0,
        "channels": [8, 16, 32, 64, 128], "dropout": 0.1, "head_hidden": 64, "head_dropout": 0.3,
        "epochs": 2, "batch_size": 32, "lr": 0.001, "weight_decay": 0.0001, "label_smoothing": 0.1,
        "patience": 10, "validation_fraction": 0.15, "augment": True, "augment_fraction": 0.5,
        "augment_every": 5, "spec_augment": True, "freq_masks": 2, "freq_mask_width": 16,
        "time_masks": 2, "time_mask_width": 20, "seed": 1, "device": "auto", "threads": None,
    }  # fmt: skip
    config = CNNConfig.from_dict(json.loads(json.dumps(old)))
    assert config.to_dict() == old and list(config.to_dict()) == list(old)
    assert CNNConfig.from_dict(config.to_dict()) == config


def test_cnn_config_validates_with_declared_constraints():
    config = CNNConfig(channels=[4, 8, 16, 32])
    assert config.channels == (4, 8, 16, 32)
    with pytest.raises(ParameterError, match="channels must be a non-empty sequence of positive"):
        CNNConfig(channels=[])
    with pytest.raises(
        ParameterError, match=r"'epochs' parameter of CNNConfig must be an int in the range \[1"
    ):
        CNNConfig(epochs=0)
    with pytest.raises(ParameterError, match=r"'augment_fraction' parameter of CNNConfig must be a float"):
        CNNConfig(augment_fraction=1.5)
    with pytest.raises(ParameterError, match=r"'time_masks' parameter of CNNConfig must be an int"):
        CNNConfig(time_masks=-1)
    with pytest.raises(ParameterError, match=r"'segment' parameter of ExtractionSettings must be a float"):
        CNNConfig.from_dict({"segment": "long"})
    with pytest.raises(ParameterError, match=r"'hop_length' parameter of LogMel must be an int"):
        CNNConfig.from_dict({"hop_length": 0})
    with pytest.raises(ParameterError, match="longer than half an FFT window"):
        CNNConfig.from_dict({"segment": 0.01, "channels": [2]})
    with pytest.raises(ParameterError, match="need segment=SECONDS"):
        CNNConfig(extraction=ExtractionSettings())
    with pytest.raises(ParameterError, match=r"'extraction' parameter of CNNConfig must be an instance"):
        CNNConfig(extraction={"segment": 3.0})
    with pytest.raises(ParameterError, match="CNN settings must be among sr, n_mels"):
        CNNConfig.from_dict({"n_mel": 64})
    with pytest.raises(
        ParameterError, match=r"'augment' parameter of CNNConfig must be an instance of 'bool'"
    ):
        CNNConfig(augment="yes")
    assert CNNConfig(threads=None).threads is None and CNNConfig(augment_fraction=1.0).augment_fraction == 1.0
