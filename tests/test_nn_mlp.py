"""featurelab.nn.mlp: the PyTorch MLP classifier (``mlp_torch``) and its pipeline factory."""

from __future__ import annotations

import pickle
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from nn_helpers import blobs  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from featurelab.exceptions import ParameterError  # noqa: E402
from featurelab.nn import MLPTorchClassifier, make_mlp_torch  # noqa: E402

pytestmark = pytest.mark.nn


def _expected_failed_checks(estimator):
    return {
        "check_class_weight_classifiers": (
            "weights {0: 1000, others: 1e-4} train the network on class 0 alone; unlike a linear "
            "model, a ReLU network extrapolates arbitrarily to the far-away clusters of the other "
            "classes, so predicting class 0 there is not guaranteed. class_weight itself is "
            "checked in test_mlp_class_weight_shifts_predictions."
        )
    }


@parametrize_with_checks(
    [MLPTorchClassifier(hidden=(16,), max_epochs=25, patience=5, batch_size=32, n_jobs=1)],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_mlp_class_weight_shifts_predictions():
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(-0.5, 1, (150, 4)), rng.normal(0.5, 1, (30, 4))]
    y = np.repeat(["major", "minor"], [150, 30])
    kw = dict(hidden=(16,), max_epochs=40, patience=40, n_jobs=1)
    plain = MLPTorchClassifier(**kw).fit(X, y)
    balanced = MLPTorchClassifier(class_weight="balanced", **kw).fit(X, y)
    favour = MLPTorchClassifier(class_weight={"minor": 20.0}, **kw).fit(X, y)
    n_minor = [(clf.predict(X) == "minor").sum() for clf in (plain, balanced, favour)]
    assert n_minor[0] < n_minor[1] < n_minor[2]
    with pytest.raises(ParameterError, match="class_weight keys must be class labels"):
        MLPTorchClassifier(class_weight={"other": 2.0}, max_epochs=1).fit(X, y)


def test_defaults_and_clone():
    clf = MLPTorchClassifier()
    params = clf.get_params()
    assert params["hidden"] == (256, 128) and params["dropout"] == 0.3
    assert params["validation_fraction"] == 0.15 and params["random_state"] == 0
    twin = clone(clf.set_params(hidden=(32, 16), lr=3e-3))
    assert twin.get_params()["hidden"] == (32, 16) and twin.lr == 3e-3
    pipe = make_mlp_torch(random_state=1, n_jobs=1)
    assert [name for name, _ in pipe.steps] == ["scale", "clf"]
    assert clone(pipe).get_params()["clf__random_state"] == 1
    with pytest.raises(ParameterError, match="mlp_torch parameters must be among"):
        make_mlp_torch(widths=(3,))


def test_registry_builds_mlp_torch():
    from featurelab.models import available_models, default_grid, make_model

    assert "mlp_torch" in available_models()
    model = make_model("mlp_torch", random_state=3, clf__hidden=(8,))
    assert model.get_params()["clf__hidden"] == (8,)
    grid = default_grid("mlp_torch")
    assert grid and all(key.startswith("clf__") for key in grid)


def test_mlp_separable_accuracy_and_early_stopping():
    from sklearn.model_selection import cross_val_score

    X, y = blobs()
    model = make_mlp_torch(hidden=(32,), max_epochs=60, patience=8, n_jobs=1)
    scores = cross_val_score(model, X, y, cv=3)
    assert scores.mean() > 0.9
    clf = model.fit(X, y).named_steps["clf"]
    assert 1 <= clf.best_epoch_ <= clf.n_iter_ <= 60
    assert len(clf.history_) == clf.n_iter_
    assert np.isfinite(clf.history_[0]["val_loss"])  # a validation split was carved out of X
    assert set(clf.classes_) == set(y)


def test_mlp_reproducible_and_no_global_side_effects():
    X, y = blobs(20)
    torch_state = torch.random.get_rng_state().clone()
    threads = torch.get_num_threads()
    np_state = np.random.get_state()[1].copy()
    first = MLPTorchClassifier(hidden=(16,), max_epochs=10, random_state=7, n_jobs=1).fit(X, y)
    second = MLPTorchClassifier(hidden=(16,), max_epochs=10, random_state=7, n_jobs=1).fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    other = MLPTorchClassifier(hidden=(16,), max_epochs=10, random_state=8, n_jobs=1).fit(X, y)
    assert not np.array_equal(first.predict_proba(X), other.predict_proba(X))
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    assert torch.get_num_threads() == threads
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)


def test_mlp_pickles_without_torch_objects():
    X, y = blobs(20)
    pipe = make_mlp_torch(hidden=(16,), max_epochs=5, n_jobs=1).fit(X, y)
    clf = pipe.named_steps["clf"]
    assert all(isinstance(v, np.ndarray) for v in clf.state_dict_.values())
    restored = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_allclose(restored.predict_proba(X), pipe.predict_proba(X))


def test_mlp_parameter_errors_and_missing_torch(monkeypatch):
    X, y = blobs(10)
    with pytest.raises(ParameterError, match=r"'dropout' parameter of MLPTorchClassifier must be a float"):
        MLPTorchClassifier(dropout=1.5).fit(X, y)
    with pytest.raises(ParameterError, match="hidden must be a non-empty sequence"):
        MLPTorchClassifier(hidden=()).fit(X, y)
    with pytest.raises(ParameterError, match="hidden must be a non-empty sequence"):
        MLPTorchClassifier(hidden=(8, 0)).fit(X, y)
    with pytest.raises(ParameterError, match="'class_weight' parameter"):
        MLPTorchClassifier(class_weight="heavy").fit(X, y)
    with pytest.raises(ParameterError, match="device must be"):
        MLPTorchClassifier(device="tpu", max_epochs=1).fit(X, y)
    if not torch.cuda.is_available():
        with pytest.raises(ParameterError, match="sees no CUDA GPU"):
            MLPTorchClassifier(device="cuda", max_epochs=1).fit(X, y)
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ParameterError, match=r"pip install torch==2\.13\.0"):
        MLPTorchClassifier(max_epochs=1).fit(X, y)


def test_parameter_constraints_cover_every_parameter():
    # scikit-learn's check_param_validation, in featurelab's exception type
    clf = MLPTorchClassifier()
    assert set(clf._parameter_constraints) == set(clf.get_params())
    X, y = blobs(5)
    bad = type("BadType", (), {})()
    for name in clf.get_params():
        with pytest.raises(ParameterError, match=rf"The '{name}' parameter of MLPTorchClassifier must be"):
            clone(clf).set_params(**{name: bad}).fit(X, y)


def test_random_state_none_trains():
    X, y = blobs(10)
    clf = MLPTorchClassifier(hidden=(8,), max_epochs=2, random_state=None, n_jobs=1).fit(X, y)
    assert clf.n_iter_ == 2
