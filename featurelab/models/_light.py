"""Probabilities of the saved SVM model with numpy alone: ``featurelab predict`` without scikit-learn.

Importing scikit-learn costs a one-file ``featurelab predict`` about a second (``sklearn.base``
imports scipy.stats, pandas and the array-API layer), three times the work of predicting. An ``svm``
run saves ``CalibratedClassifierCV(method="temperature")`` around ``StandardScaler -> SVC``; this
module computes that model's ``predict_proba`` from the fitted attributes the light skops reader
(:mod:`featurelab.models._skops_fast`, ``light=True``) reads, with scikit-learn's operations in
scikit-learn's order:

1. ``StandardScaler.transform``: ``(X - mean_) / scale_`` in float64;
2. ``SVC.decision_function`` (libsvm's one-vs-one values ``sum(dual_coef * K(sv, x)) + intercept``
   per pair of classes, RBF ``exp(-gamma * |x - sv|^2)`` or linear kernel), turned into
   one-vs-rest values as ``sklearn.utils.multiclass._ovr_decision_function`` does (votes plus
   confidences mapped into (-1/3, 1/3));
3. ``_TemperatureScaling.predict``: ``softmax(beta_ * decision)``, then values in (1, 1 + 1e-5]
   clipped to 1, averaged over the calibrated classifiers.

Sums run in numpy's order, not libsvm's, and numpy's ``exp`` is not the C library's: probabilities
agree with scikit-learn's to ~1e-15 (``tests/test_models_light.py`` compares them on random models
of 3-10 classes, both kernels, one or several calibrated classifiers). Any other model or attribute
(binary problems, other kernels or calibration methods, other pipeline steps, sparse support
vectors) returns no predictor, and scikit-learn is used as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["LightObject", "CalibratedSVCPredictor", "light_predictor", "SUPPORTED_TYPE"]

_CALIBRATED = "sklearn.calibration.CalibratedClassifierCV"
#: The type of the estimators :func:`light_predictor` may serve (the svm run's).
SUPPORTED_TYPE = _CALIBRATED
_CALIBRATED_ONE = "sklearn.calibration._CalibratedClassifier"
_TEMPERATURE = "sklearn.calibration._TemperatureScaling"
_PIPELINE = "sklearn.pipeline.Pipeline"
_SCALER = "sklearn.preprocessing._data.StandardScaler"
_SVC = "sklearn.svm._classes.SVC"

#: Rows whose pairwise differences to the support vectors are formed at once (bounded memory).
_BLOCK = 64


@dataclass
class LightObject:
    """An object of a skops file, unbuilt: its type's full name and its saved attributes."""

    type_name: str
    attrs: dict[str, Any]


class _Unsupported(Exception):
    pass


def _need(condition: bool) -> None:
    if not condition:
        raise _Unsupported


def _array(value: Any, ndim: int) -> np.ndarray:
    _need(isinstance(value, np.ndarray) and value.ndim == ndim and value.dtype.kind in "fiu")
    return np.asarray(value, dtype=np.float64)


def _attrs(value: Any, type_name: str) -> dict[str, Any]:
    _need(isinstance(value, LightObject) and value.type_name == type_name)
    return value.attrs


@dataclass
class _SVCModel:
    mean: np.ndarray | None
    scale: np.ndarray | None
    kernel: str
    gamma: float
    support_vectors: np.ndarray
    dual_coef: np.ndarray
    intercept: np.ndarray
    n_support: np.ndarray
    beta: float

    def decision(self, X: np.ndarray) -> np.ndarray:
        """One-vs-rest decision values, as ``SVC.decision_function`` (``ovr``) returns them."""
        X = X.copy()
        if self.mean is not None:
            X -= self.mean
        if self.scale is not None:
            X /= self.scale
        if self.kernel == "linear":
            K = X @ self.support_vectors.T
        else:
            K = np.empty((X.shape[0], self.support_vectors.shape[0]))
            for start in range(0, X.shape[0], _BLOCK):
                diff = X[start : start + _BLOCK, np.newaxis, :] - self.support_vectors[np.newaxis]
                K[start : start + _BLOCK] = np.exp(-self.gamma * np.einsum("nsf,nsf->ns", diff, diff))
        n_classes = self.n_support.size
        bounds = np.concatenate([[0], np.cumsum(self.n_support)])
        pairs = []
        for i in range(n_classes):
            for j in range(i + 1, n_classes):
                a, b = slice(bounds[i], bounds[i + 1]), slice(bounds[j], bounds[j + 1])
                pairs.append(K[:, a] @ self.dual_coef[j - 1, a] + K[:, b] @ self.dual_coef[i, b])
        dec = np.stack(pairs, axis=1) + self.intercept
        # sklearn.utils.multiclass._ovr_decision_function(dec < 0, -dec, n_classes)
        votes = np.zeros((X.shape[0], n_classes))
        confidence = np.zeros((X.shape[0], n_classes))
        k = 0
        for i in range(n_classes):
            for j in range(i + 1, n_classes):
                confidence[:, i] -= -dec[:, k]
                confidence[:, j] += -dec[:, k]
                votes[~(dec[:, k] < 0), i] += 1
                votes[dec[:, k] < 0, j] += 1
                k += 1
        return votes + confidence / (3 * (np.abs(confidence) + 1))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """``_CalibratedClassifier.predict_proba`` with temperature scaling."""
        logits = self.beta * self.decision(X)
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        logits /= logits.sum(axis=1, keepdims=True)
        logits[(1.0 < logits) & (logits <= 1.0 + 1e-5)] = 1.0
        return logits


class CalibratedSVCPredictor:
    """``predict_proba`` of a saved ``CalibratedClassifierCV(StandardScaler -> SVC)``, in numpy.

    Attributes
    ----------
    classes_ : np.ndarray
        The labels, in the order of the probability columns.
    n_features_in_ : int
        Features each row must have, in the model's order.
    """

    def __init__(self, classes: np.ndarray, models: list[_SVCModel]) -> None:
        self.classes_ = classes
        self.models = models
        self.n_features_in_ = models[0].support_vectors.shape[1]

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Probabilities of each row of ``X`` (float64, shape ``(n, n_features_in_)``)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(f"X must have {self.n_features_in_} columns. Got shape {X.shape} instead.")
        mean = np.zeros((X.shape[0], self.classes_.size))
        for model in self.models:
            mean += model.predict_proba(X)
        mean /= len(self.models)
        return mean


def _svc_model(calibrated: Any, classes: np.ndarray) -> _SVCModel:
    one = _attrs(calibrated, _CALIBRATED_ONE)
    _need(one.get("method") == "temperature")
    calibrators = one.get("calibrators")
    _need(isinstance(calibrators, list) and len(calibrators) == 1)
    beta = _attrs(calibrators[0], _TEMPERATURE).get("beta_")
    _need(isinstance(beta, (float, int, np.floating)) and np.isfinite(beta))
    _need(np.array_equal(np.asarray(one.get("classes")), classes))
    steps = _attrs(one.get("estimator"), _PIPELINE).get("steps")
    _need(
        isinstance(steps, list)
        and len(steps) == 2
        and all(isinstance(s, tuple) and len(s) == 2 for s in steps)
    )
    scaler, svc = _attrs(steps[0][1], _SCALER), _attrs(steps[1][1], _SVC)
    with_mean, with_std = scaler.get("with_mean"), scaler.get("with_std")
    _need(isinstance(with_mean, bool) and isinstance(with_std, bool))
    mean = _array(scaler.get("mean_"), 1) if with_mean else None
    scale = _array(scaler.get("scale_"), 1) if with_std else None
    _need(
        svc.get("_sparse") is False  # SVC's libsvm type is c_svc (a class attribute)
        and svc.get("decision_function_shape") == "ovr"
        and not svc.get("break_ties")
        and svc.get("kernel") in ("rbf", "linear")
    )
    gamma = svc.get("_gamma")
    _need(isinstance(gamma, (float, int, np.floating)) and np.isfinite(gamma))
    support_vectors = _array(svc.get("support_vectors_"), 2)
    dual_coef = _array(svc.get("_dual_coef_"), 2)
    intercept = _array(svc.get("_intercept_"), 1)
    n_support = np.asarray(svc.get("_n_support"))
    n_classes = classes.size
    n_features = support_vectors.shape[1]
    # the SVC's columns are the calibrated classes, as labels or as their codes (sklearn's fits)
    svc_classes = np.asarray(svc.get("classes_"))
    _need(n_classes >= 3 and svc_classes.shape == classes.shape)
    _need(np.array_equal(svc_classes, classes) or np.array_equal(svc_classes, np.arange(n_classes)))
    _need(n_support.ndim == 1 and n_support.size == n_classes and n_support.dtype.kind in "iu")
    _need(int(n_support.sum()) == support_vectors.shape[0])
    _need(dual_coef.shape == (n_classes - 1, support_vectors.shape[0]))
    _need(intercept.shape == (n_classes * (n_classes - 1) // 2,))
    for vector in (mean, scale):
        _need(vector is None or vector.shape == (n_features,))
    values = [support_vectors, dual_coef, intercept, *(v for v in (mean, scale) if v is not None)]
    _need(all(np.isfinite(v).all() for v in values))
    return _SVCModel(
        mean,
        scale,
        str(svc["kernel"]),
        float(gamma),
        support_vectors,
        dual_coef,
        intercept,
        n_support,
        float(beta),
    )


def light_predictor(estimator: Any) -> CalibratedSVCPredictor | None:
    """Return a numpy predictor of an unbuilt saved estimator, or ``None`` where scikit-learn must do it.

    Parameters
    ----------
    estimator : LightObject
        The estimator of a model file, as the light skops reader leaves it.
    """
    try:
        calibrated = _attrs(estimator, _CALIBRATED)
        classes = calibrated.get("classes_")
        _need(isinstance(classes, np.ndarray) and classes.ndim == 1)
        parts = calibrated.get("calibrated_classifiers_")
        _need(isinstance(parts, list) and len(parts) >= 1)
        models = [_svc_model(part, classes) for part in parts]
        _need(len({m.support_vectors.shape[1] for m in models}) == 1)
        return CalibratedSVCPredictor(classes, models)
    except (_Unsupported, KeyError, TypeError, ValueError):
        return None
