"""The numpy predictor of saved SVM models (featurelab.models._light) against scikit-learn itself."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from featurelab.models import load_model, make_model, save_model
from featurelab.models._light import CalibratedSVCPredictor
from featurelab.models.zoo import with_probabilities


def _problem(n_classes: int, seed: int, n_features: int = 6) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.repeat([f"genre{k}" for k in range(n_classes)], 14)
    X = rng.normal(size=(y.size, n_features)) + np.repeat(np.arange(n_classes), 14)[:, None] * 0.7
    X[:, 0] *= 50.0  # features of very different scales: the scaler matters
    return X, y


def _frame(X: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])


def _saved(tmp_path, model, X, y, name="svm"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(_frame(X), y)  # as the runs fit them: a table with feature names
    names = [f"f{i}" for i in range(X.shape[1])]
    meta = {"model": name, "feature_names": names, "classes": [str(c) for c in model.classes_]}
    save_model(model, tmp_path / "run", metadata=meta, formats=("skops",))
    return load_model(tmp_path / "run"), model


@pytest.mark.parametrize(
    ("n_classes", "params"),
    [
        (3, {}),
        (5, {"clf__kernel": "linear", "clf__C": 0.5}),
        (10, {"clf__gamma": 0.05, "clf__C": 10.0}),
        (4, {"scale__with_mean": False}),
        (4, {"scale__with_std": False, "clf__gamma": 0.001}),
    ],
)
def test_numpy_probabilities_equal_scikit_learns(tmp_path, n_classes, params):
    X, y = _problem(n_classes, seed=n_classes)
    model = with_probabilities(make_model("svm"))
    model.set_params(**{f"estimator__{key}": value for key, value in params.items()})
    saved, fitted = _saved(tmp_path, model, X, y)
    assert isinstance(saved.predictor, CalibratedSVCPredictor)
    test = np.random.default_rng(99).normal(size=(40, X.shape[1])) * X.std(0) + X.mean(0)
    got = saved.predict_proba(test)
    want = fitted.predict_proba(_frame(test))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    assert np.array_equal(got.argmax(1), want.argmax(1))
    assert saved.classes == [str(c) for c in fitted.classes_]
    # the estimator, built on first read, is scikit-learn's (same probabilities as the fitted one)
    np.testing.assert_array_equal(saved.estimator.predict_proba(_frame(test)), want)


def test_several_calibrated_classifiers_are_averaged(tmp_path):
    from sklearn.calibration import CalibratedClassifierCV

    X, y = _problem(4, seed=1)
    model = CalibratedClassifierCV(make_model("svm"), method="temperature", cv=3, ensemble=True)
    saved, fitted = _saved(tmp_path, model, X, y)
    assert isinstance(saved.predictor, CalibratedSVCPredictor) and len(saved.predictor.models) == 3
    np.testing.assert_allclose(saved.predict_proba(X), fitted.predict_proba(_frame(X)), rtol=0, atol=1e-12)


def test_other_models_are_predicted_by_scikit_learn(tmp_path):
    from sklearn.calibration import CalibratedClassifierCV

    X, y = _problem(3, seed=2)
    cases = {
        "binary": (with_probabilities(make_model("svm")), X[y != "genre2"], y[y != "genre2"]),
        "sigmoid": (CalibratedClassifierCV(make_model("svm"), method="sigmoid", cv=3), X, y),
        "poly": (with_probabilities(make_model("svm").set_params(clf__kernel="poly")), X, y),
        "logreg": (make_model("logreg"), X, y),
    }
    for case, (model, X_fit, y_fit) in cases.items():
        saved, fitted = _saved(tmp_path / case, model, X_fit, y_fit)
        assert saved.predictor is None, case
        np.testing.assert_array_equal(saved.predict_proba(X_fit), fitted.predict_proba(_frame(X_fit)))


def test_rows_the_model_cannot_use_are_refused_as_before(tmp_path):
    from featurelab.exceptions import ModelFileError, TableError

    X, y = _problem(3, seed=3)
    saved, _ = _saved(tmp_path, with_probabilities(make_model("svm")), X, y)
    bad = X[:2].copy()
    bad[1, 2] = np.nan
    with pytest.raises(TableError, match="f2"):
        saved.predict_proba(bad)
    with pytest.raises(ModelFileError, match="6 features"):
        saved.predict_proba(X[:, :4])
