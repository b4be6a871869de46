"""featurelab.nn._params: one declaration of the rules the MLP and the CNN share."""

from __future__ import annotations

import numpy as np
import pytest

from featurelab.exceptions import ParameterError
from featurelab.nn._params import TRAINING_CONSTRAINTS, layer_widths


@pytest.mark.parametrize(
    ("name", "bad", "rule"),
    [
        ("dropout", 1.0, r"a float in the range \[0.0, 1.0\)"),
        ("label_smoothing", -0.1, r"a float in the range \[0.0, 1.0\)"),
        ("validation_fraction", 1.5, r"a float in the range \[0.0, 1.0\)"),
        ("lr", 0.0, r"a float in the range \(0.0, inf\)"),
        ("weight_decay", -1e-4, r"a float in the range \[0.0, inf\)"),
        ("batch_size", 0, r"an int in the range \[1, inf\)"),
        ("patience", 0, r"an int in the range \[1, inf\)"),
    ],
)
def test_mlp_and_cnn_share_the_training_rules(name, bad, rule):
    from featurelab.nn import MLPTorchClassifier
    from featurelab.nn.cnn import CNNConfig

    assert name in TRAINING_CONSTRAINTS
    with pytest.raises(ParameterError, match=rf"'{name}' parameter of MLPTorchClassifier must be {rule}"):
        MLPTorchClassifier(**{name: bad})._check_params()
    with pytest.raises(ParameterError, match=rf"'{name}' parameter of CNNConfig must be {rule}"):
        CNNConfig(**{name: bad})


def test_layer_widths():
    assert layer_widths(8, "hidden") == (8,)
    assert layer_widths(np.array([4, 2]), "hidden") == (4, 2)
    for bad in ((), [3, 0], [2.5], "64", None, [True]):
        with pytest.raises(ParameterError, match="channels must be a non-empty sequence of positive"):
            layer_widths(bad, "channels")
