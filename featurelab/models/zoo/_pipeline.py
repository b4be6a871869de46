"""Building blocks of the model factories: pipelines, class-weight refusal, probabilities."""

from __future__ import annotations

from typing import Any

from ...exceptions import ParameterError

__all__ = ["scaled", "plain", "no_class_weight", "with_probabilities"]


def scaled(clf: Any) -> Any:
    """``Pipeline([("scale", StandardScaler()), ("clf", clf)])``."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return Pipeline([("scale", StandardScaler()), ("clf", clf)])


def plain(clf: Any) -> Any:
    """``Pipeline([("clf", clf)])``."""
    from sklearn.pipeline import Pipeline

    return Pipeline([("clf", clf)])


def no_class_weight(name: str, class_weight: Any) -> None:
    """Refuse ``class_weight`` for a model that cannot weight classes."""
    if class_weight is not None:
        raise ParameterError(
            f"class_weight is not supported by model {name!r}. Got {class_weight!r}; use svm, "
            "logreg, rf, xgb, lgbm or voting for class weighting, or resample the table."
        )


def with_probabilities(
    model: Any, *, method: str = "temperature", cv: Any = 3, n_jobs: int | None = None
) -> Any:
    """Give ``model`` a ``predict_proba`` by calibration, if it has none.

    Uses ``CalibratedClassifierCV(model, ensemble=False)`` -- scikit-learn's replacement for
    ``SVC(probability=True)``: cross-validated decision values fit the calibrator, and the model
    itself is refitted on all the data. Temperature scaling keeps the model's own predictions
    (the arg-max of the decision function) unchanged.

    Parameters
    ----------
    model : estimator
        Unfitted classifier.
    method : {"temperature", "sigmoid", "isotonic"}
        Calibration method.
    cv : int or iterable of (train, test) splits
        Cross-validation for the calibration (pass group-aware splits for segment tables).
    n_jobs : int or None
        Parallel calibration folds.

    Returns
    -------
    estimator
        ``model`` itself when it already has ``predict_proba``, else the calibrated wrapper.
    """
    from sklearn.calibration import CalibratedClassifierCV

    if hasattr(model, "predict_proba"):
        return model
    return CalibratedClassifierCV(model, method=method, ensemble=False, cv=cv, n_jobs=n_jobs)
