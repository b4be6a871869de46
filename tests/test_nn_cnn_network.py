"""featurelab.nn.cnn.network: the CNN's layers, input scaling, predictions and reloading."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from nn_helpers import cnn_config  # noqa: E402

from featurelab.nn.cnn import build_cnn, load_module, predict_proba, scale_input  # noqa: E402

pytestmark = pytest.mark.nn


def test_build_cnn_shapes():
    config = cnn_config(channels=(4, 8, 16))
    n_mels, n_frames = config.input_shape
    torch.manual_seed(0)
    module = build_cnn(3, config)
    convs = [layer for layer in module if isinstance(layer, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [4, 8, 16]
    x = torch.zeros(2, 1, n_mels, n_frames)
    assert module.eval()(x).shape == (2, 3)
    head = [layer for layer in module if isinstance(layer, torch.nn.Linear)]
    assert head[0].in_features == 16 * (n_mels // 8) and head[-1].out_features == 3


def test_scale_input_maps_the_db_range():
    mels = np.array([[-80.0, -40.0, 0.0]])
    np.testing.assert_allclose(scale_input(mels, 80.0), [[-2.0, 0.0, 2.0]])
    assert scale_input(mels).dtype == np.float32 and scale_input(mels).flags.c_contiguous


def test_predict_proba_and_reload():
    config = cnn_config(channels=(4, 8))
    torch.manual_seed(0)
    module = build_cnn(3, config)
    state = {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}
    mels = np.random.default_rng(0).uniform(-80, 0, (5, *config.input_shape))
    proba = predict_proba(module, mels, "cpu", batch_size=2, top_db=config.logmel.top_db)
    assert proba.shape == (5, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-9)
    np.testing.assert_array_equal(predict_proba(load_module(state, 3, config), mels, "cpu", 2), proba)
    assert predict_proba(module, mels[:0], "cpu").shape == (0, 3)
