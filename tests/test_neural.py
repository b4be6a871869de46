"""The old import paths featurelab.models.{neural,cnn,melspec}: aliases of featurelab.nn."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "mlp_torch_0.1.0"

MOVED = {
    "featurelab.models.neural": {
        "make_mlp_torch": "featurelab.nn.mlp",
        "build_mlp": "featurelab.nn.mlp",
        "MLP_TORCH_PARAMS": "featurelab.nn.mlp",
        "TORCH_INSTALL_HINT": "featurelab.nn._torch",
        "import_torch": "featurelab.nn._torch",
        "resolve_device": "featurelab.nn._torch",
        "torch_scope": "featurelab.nn._torch",
    },
    "featurelab.models.cnn": {
        "CNNConfig": "featurelab.nn.cnn.config",
        "load_cnn_config": "featurelab.nn.cnn.config",
        "build_cnn": "featurelab.nn.cnn.network",
        "predict_proba": "featurelab.nn.cnn.network",
        "scale_input": "featurelab.nn.cnn.network",
        "spec_augment": "featurelab.nn.cnn.augment",
        "AugmentHook": "featurelab.nn.cnn.augment",
        "CNNRun": "featurelab.nn.cnn.evaluate",
        "evaluate_cnn": "featurelab.nn.cnn.evaluate",
        "write_cnn_run": "featurelab.nn.cnn.rundir",
        "plot_curves": "featurelab.nn.cnn.rundir",
    },
    "featurelab.models.melspec": {
        "log_mel": "featurelab.arrays",
        "load_segment": "featurelab.nn.cnn.augment",
        "WaveAugmenter": "featurelab.nn.cnn.augment",
        "seeded_global_rngs": "featurelab.nn.cnn.augment",
    },
}


@pytest.mark.parametrize(
    ("old", "name", "home"),
    [(old, name, home) for old, names in MOVED.items() for name, home in names.items()],
)
def test_old_paths_resolve_with_a_future_warning(old, name, home):
    module = importlib.import_module(old)
    with pytest.warns(FutureWarning, match=rf"{old}\.{name} has moved to featurelab\.(nn|arrays)"):
        obj = getattr(module, name)
    assert obj is getattr(importlib.import_module(home), name)
    assert name in dir(module) and name in module.__all__


@pytest.mark.parametrize(
    ("old", "name"),
    [
        ("featurelab.models.cnn", "load_cnn_model"),
        ("featurelab.models.melspec", "MelParams"),
        ("featurelab.models.melspec", "compute_segments"),
    ],
)
def test_removed_cnn_helpers_are_gone(old, name):
    """The CNN's own model.pt loader and extraction driver were replaced, not moved."""
    with pytest.raises(AttributeError, match=f"has no attribute '{name}'"):
        getattr(importlib.import_module(old), name)


def test_old_class_path_of_saved_models_is_silent():
    import warnings

    from featurelab.models import neural
    from featurelab.nn.mlp import MLPTorchClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert neural.MLPTorchClassifier is MLPTorchClassifier
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        neural.nothing  # noqa: B018


def test_old_style_import_statement_works():
    with pytest.warns(FutureWarning, match="featurelab.models.cnn.evaluate_cnn has moved"):
        from featurelab.models.cnn import evaluate_cnn
    from featurelab.nn.cnn import evaluate_cnn as new

    assert evaluate_cnn is new


def test_registry_builds_mlp_torch_from_its_new_home():
    from featurelab.models import get_model_spec

    assert get_model_spec("mlp_torch").factory == "featurelab.nn.mlp:make_mlp_torch"


@pytest.mark.nn
def test_mlp_torch_model_saved_by_0_1_0_still_loads():
    pytest.importorskip("torch")
    from featurelab.models import load_model
    from featurelab.nn import MLPTorchClassifier

    X = np.loadtxt(FIXTURE / "X.csv", delimiter=",")
    expected = np.loadtxt(FIXTURE / "proba.csv", delimiter=",")
    safe = load_model(FIXTURE / "model.skops")  # the old class path is a trusted type
    pickled = load_model(FIXTURE / "model.joblib", trust=True)
    for saved in (safe, pickled):
        assert isinstance(saved.estimator.named_steps["clf"], MLPTorchClassifier)
        np.testing.assert_allclose(saved.estimator.predict_proba(X), expected, rtol=0, atol=1e-15)
