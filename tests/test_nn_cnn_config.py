"""featurelab.nn.cnn.config: CNN settings, their constraints and their configuration files."""

from __future__ import annotations

import pytest

from featurelab.exceptions import ParameterError
from featurelab.nn.cnn import CNNConfig, load_cnn_config


def test_cnn_config_precedence(tmp_path):
    config, protocol = load_cnn_config()
    assert config == CNNConfig() and protocol == {"cv": 5, "split_dir": None}
    assert config.n_mels == 128 and config.segment == 3.0 and 4 <= len(config.channels) <= 5
    user = tmp_path / "cnn.yaml"
    user.write_text("cv: 4\nseed: 3\nparams:\n  epochs: 7\n  channels: [4, 8, 16, 32]\n")
    config, protocol = load_cnn_config(user, epochs=9, cv=None)
    got = (config.epochs, config.seed, config.channels, protocol["cv"])
    assert got == (9, 3, (4, 8, 16, 32), 4)
    user.write_text("params:\n  epoch: 7\n")
    with pytest.raises(ParameterError, match="unknown epoch"):
        load_cnn_config(user)
    with pytest.raises(ParameterError, match="at most log2"):
        CNNConfig(segment=0.25)  # 11 frames cannot go through 5 pooling blocks


def test_cnn_config_validates_with_declared_constraints():
    config = CNNConfig(channels=[4, 8, 16, 32])
    assert config.channels == (4, 8, 16, 32)
    assert CNNConfig(**{**config.to_dict(), "channels": tuple(config.to_dict()["channels"])}) == config
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
    with pytest.raises(ParameterError, match=r"'segment' parameter of CNNConfig must be a float"):
        CNNConfig(segment="long")
    with pytest.raises(
        ParameterError, match=r"'augment' parameter of CNNConfig must be an instance of 'bool'"
    ):
        CNNConfig(augment="yes")
    assert CNNConfig(threads=None).threads is None and CNNConfig(augment_fraction=1.0).augment_fraction == 1.0
