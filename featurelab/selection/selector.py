"""The :class:`ShapSelector` transformer and the SHAP output shapes it accepts.

Explainers: ``shap.TreeExplainer`` (exact and fast) for XGBoost, LightGBM, CatBoost and the
scikit-learn tree ensembles; for every other model (SVM, logistic regression, kNN, MLP, ...) the
model-agnostic ``shap.PermutationExplainer`` on a small background sample. Its cost grows as
``max_samples x background x (2 n_features + 1)`` model evaluations per fit (about 1.2 million
predictions for 100 explained rows, 100 background rows and 57 features) -- minutes for an SVM,
where the tree explainer takes seconds; the first call in a process also compiles shap's numba
kernels (about 20 s).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.feature_selection import SelectorMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .._validation import Integral, Interval, Real, StrOptions, validate_params
from ..exceptions import ParameterError

__all__ = ["ShapSelector", "normalize_shap_values", "mean_abs_shap", "n_selected"]

_EXPLAINERS = ("auto", "tree", "permutation")
_TREE_PACKAGES = ("xgboost", "lightgbm", "catboost")
_SKLEARN_TREE_ENSEMBLES = frozenset(
    {
        "RandomForestClassifier",
        "RandomForestRegressor",
        "ExtraTreesClassifier",
        "ExtraTreesRegressor",
        "GradientBoostingClassifier",
        "GradientBoostingRegressor",
    }
)


def _import_shap() -> Any:
    """Import shap lazily, hiding the deprecation notices its import triggers in matplotlib."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        import shap
    return shap


def normalize_shap_values(values: Any, n_features: int | None = None) -> np.ndarray:
    """Bring SHAP values of any shap version into one ``(samples, features, outputs)`` array.

    shap < 0.45 returns a list with one ``(samples, features)`` array per class for multiclass
    models; recent versions return one ``(samples, features, classes)`` array; regressors, binary
    XGBoost/LightGBM models and 1-D decision functions give a ``(samples, features)`` array.

    Parameters
    ----------
    values : np.ndarray, list of np.ndarray or shap.Explanation
        ``(n, f)``, ``(n, f, c)`` or a list of ``c`` arrays of shape ``(n, f)``.
    n_features : int or None
        Expected number of features (checked when given).

    Returns
    -------
    np.ndarray [shape=(n_samples, n_features, n_outputs), dtype=float64]

    Raises
    ------
    ParameterError
        The shape is none of the above or does not match ``n_features``.

    Examples
    --------
    >>> per_class = [np.ones((4, 3)), np.zeros((4, 3))]
    >>> normalize_shap_values(per_class).shape
    (4, 3, 2)
    >>> normalize_shap_values(np.ones((4, 3))).shape
    (4, 3, 1)
    """
    values = getattr(values, "values", values)  # shap.Explanation
    if isinstance(values, (list, tuple)):
        arrays = [np.asarray(v, dtype=np.float64) for v in values]
        if not arrays or any(a.ndim != 2 or a.shape != arrays[0].shape for a in arrays):
            shapes = [a.shape for a in arrays]
            raise ParameterError(
                "A list of SHAP values must hold 2-D arrays of one shape (samples, features). "
                f"Got shapes {shapes} instead."
            )
        out = np.stack(arrays, axis=-1)
    else:
        out = np.asarray(values, dtype=np.float64)
        if out.ndim == 2:
            out = out[:, :, np.newaxis]
        elif out.ndim != 3:
            raise ParameterError(
                "SHAP values must be 2-D (samples, features), 3-D (samples, features, outputs) "
                f"or a list of 2-D arrays. Got an array of shape {out.shape} instead."
            )
    if n_features is not None and out.shape[1] != n_features:
        raise ParameterError(
            f"SHAP values must have {n_features} features on axis 1. Got shape {out.shape} instead."
        )
    return out


def mean_abs_shap(values: Any, n_features: int | None = None) -> np.ndarray:
    """Mean absolute SHAP value of every feature, over samples and outputs (classes).

    Parameters
    ----------
    values : np.ndarray, list of np.ndarray or shap.Explanation
        Any shape accepted by :func:`normalize_shap_values`.
    n_features : int or None
        Expected number of features.

    Returns
    -------
    np.ndarray [shape=(n_features,), dtype=float64]

    Examples
    --------
    >>> values = np.zeros((2, 3, 2))
    >>> values[:, 1, 0] = [1.0, -3.0]
    >>> mean_abs_shap(values)
    array([0., 1., 0.])
    """
    return np.abs(normalize_shap_values(values, n_features)).mean(axis=(0, 2))


def n_selected(importances: np.ndarray, k: int | None = None, threshold: float | None = None) -> int:
    """How many top-ranked features a ``k`` or cumulative ``threshold`` rule keeps.

    Parameters
    ----------
    importances : np.ndarray [shape=(n_features,)]
        Non-negative importances.
    k : int or None
        Keep the ``k`` most important (all when ``k >= n_features``).
    threshold : float or None
        Keep the fewest top features whose importances sum to at least ``threshold`` times the
        total (all features when every importance is 0).

    Returns
    -------
    int
        Between 1 and ``n_features``; ``n_features`` when both rules are ``None``.

    Examples
    --------
    >>> n_selected(np.array([0.5, 0.3, 0.2]), threshold=0.8)
    2
    """
    importances = np.asarray(importances, dtype=np.float64)
    n = importances.size
    if k is not None:
        return int(min(k, n))
    if threshold is None:
        return n
    total = importances.sum()
    if not total > 0:
        return n
    share = np.cumsum(np.sort(importances)[::-1]) / total
    return int(min(np.searchsorted(share, threshold - 1e-12, side="left") + 1, n))


def _rank_order(importances: np.ndarray) -> np.ndarray:
    """Feature indices by decreasing importance (ties keep column order)."""
    return np.argsort(-np.asarray(importances), kind="stable")


#: Constraints of the selection rule, shared by :class:`ShapSelector` and ``select_features``.
RULE_CONSTRAINTS: dict[str, list[Any]] = {
    "k": [Interval(Integral, 1, None, closed="left"), None],
    "threshold": [Interval(Real, 0, 1, closed="right"), None],
    "background": [Interval(Integral, 1, None, closed="left")],
}


def _check_rule(k: Any, threshold: Any) -> None:
    if k is not None and threshold is not None:
        raise ParameterError(
            f"Give k or threshold, not both. Got k={k!r} and threshold={threshold!r} instead."
        )


def _is_tree_model(model: Any) -> bool:
    """Whether ``shap.TreeExplainer`` supports ``model`` (judged by its classes, no import)."""
    for cls in type(model).__mro__:
        package = cls.__module__.split(".")[0]
        if package in _TREE_PACKAGES or cls.__module__.startswith("sklearn.tree"):
            return True
        if package == "sklearn" and cls.__name__ in _SKLEARN_TREE_ENSEMBLES:
            return True
    return False


def _split_fitted(estimator: Any) -> tuple[Any, Any]:
    """``(preprocessing, model)``: a pipeline's leading steps and its innermost fitted model.

    Wrappers that keep their fitted model in ``estimator_`` (such as featurelab's
    ``LabelEncodingClassifier``) are unwrapped until a tree model appears.
    """
    from sklearn.pipeline import Pipeline

    pre = None
    model = estimator
    if isinstance(model, Pipeline):
        if len(model.steps) > 1:
            pre = model[:-1]
        model = model.steps[-1][1]
    for _ in range(5):
        if _is_tree_model(model) or isinstance(model, Pipeline):
            break
        inner = getattr(model, "estimator_", None)
        if inner is None:
            break
        model = inner
    return pre, model


def _output_function(estimator: Any) -> tuple[Any, str]:
    for method in ("predict_proba", "decision_function", "predict"):
        if hasattr(estimator, method):
            return getattr(estimator, method), method
    raise ParameterError(  # pragma: no cover - every fitted estimator predicts
        f"estimator must have predict_proba, decision_function or predict. Got "
        f"{type(estimator).__name__} instead."
    )


class ShapSelector(SelectorMixin, MetaEstimatorMixin, BaseEstimator):
    """Keep the features with the largest mean absolute SHAP value of a fitted estimator.

    ``fit`` fits a clone of ``estimator``, explains it on (a sample of) the training rows and ranks
    the features by mean |SHAP| over rows and classes. ``transform`` keeps the top ``k`` features,
    or the fewest top features whose importances sum to ``threshold`` times the total. Used as a
    pipeline step, the ranking is recomputed inside every cross-validation training fold.

    Parameters
    ----------
    estimator : estimator
        Classifier or regressor to explain (cloned), for example ``make_model("xgb")``. A pipeline
        whose last model is a tree ensemble is explained exactly on its preprocessed inputs
        (preprocessing must keep one column per feature, as scalers do).
    k : int or None
        Number of features to keep (all when larger than the number of features).
    threshold : float or None
        Cumulative share in (0, 1] of the total mean |SHAP| the kept features must cover.
        With neither ``k`` nor ``threshold`` every feature is kept (the selector only ranks).
    explainer : {"auto", "tree", "permutation"}
        ``"tree"``: ``shap.TreeExplainer`` (XGBoost, LightGBM, CatBoost, scikit-learn trees and
        forests); ``"permutation"``: the model-agnostic ``shap.PermutationExplainer`` with one
        antithetic permutation per explained row; ``"auto"``: tree when supported.
    background : int
        Background rows (sampled from the training rows) of the permutation explainer; its cost is
        ``max_samples x background x (2 n_features + 1)`` model evaluations. Unused by the tree
        explainer.
    max_samples : int or None
        Training rows explained (a random sample). ``None``: all rows with the tree explainer,
        ``background`` rows with the permutation explainer.
    random_state : int, RandomState or None
        Seed of the row samples and the permutations.

    Attributes
    ----------
    estimator_ : estimator
        The fitted clone of ``estimator``.
    feature_importances_ : np.ndarray [shape=(n_features_in_,)]
        Mean |SHAP| of every feature.
    order_ : np.ndarray [shape=(n_features_in_,), dtype=int]
        Feature indices from most to least important.
    rank_ : np.ndarray [shape=(n_features_in_,), dtype=int]
        Rank of every feature, 1 = most important.
    support_ : np.ndarray [shape=(n_features_in_,), dtype=bool]
        The kept features.
    shap_values_ : np.ndarray [shape=(n_explained, n_features_in_, n_outputs)]
        SHAP values of the explained rows (outputs = classes, or 1 for regressors, binary
        boosters and 1-D decision functions).
    explained_indices_ : np.ndarray [shape=(n_explained,), dtype=int]
        Positions of the explained training rows.
    explainer_ : str
        ``"tree"`` or ``"permutation"``.
    output_ : str
        What was explained: ``"raw"`` (tree models' margin), ``"predict_proba"``,
        ``"decision_function"`` or ``"predict"``.
    n_features_in_ : int
        Number of input features.
    feature_names_in_ : np.ndarray of str
        Input column names (DataFrame input only).

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> X, y = make_classification(
    ...     200, 10, n_informative=3, n_redundant=0, shuffle=False, random_state=0)
    >>> selector = ShapSelector(RandomForestClassifier(50, random_state=0), k=3).fit(X, y)
    >>> sorted(selector.get_support(indices=True).tolist())
    [0, 1, 2]
    >>> selector.transform(X).shape
    (200, 3)
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "estimator": "no_validation",
        **RULE_CONSTRAINTS,
        "explainer": [StrOptions(set(_EXPLAINERS))],
        "max_samples": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator: Any,
        *,
        k: int | None = None,
        threshold: float | None = None,
        explainer: str = "auto",
        background: int = 100,
        max_samples: int | None = None,
        random_state: Any = None,
    ):
        self.estimator = estimator
        self.k = k
        self.threshold = threshold
        self.explainer = explainer
        self.background = background
        self.max_samples = max_samples
        self.random_state = random_state

    def fit(self, X: Any, y: Any, **fit_params: Any) -> ShapSelector:
        """Fit the estimator, compute SHAP values and rank the features.

        Parameters
        ----------
        X : array-like [shape=(n_samples, n_features)]
            Training data; a DataFrame is passed on to the estimator as is.
        y : array-like [shape=(n_samples,)]
            Targets.
        **fit_params
            Passed to ``estimator.fit`` (``sample_weight``, ...).

        Returns
        -------
        self : ShapSelector
        """
        params = {k: v for k, v in self.get_params(deep=False).items() if k != "estimator"}
        validate_params(params, self._parameter_constraints, caller=type(self).__name__)
        _check_rule(self.k, self.threshold)
        allow_nan = self.estimator.__sklearn_tags__().input_tags.allow_nan
        X_array, y = validate_data(
            self,
            X,
            y,
            reset=True,
            dtype=np.float64,
            ensure_all_finite="allow-nan" if allow_nan else True,
        )
        X_fit = X if _is_frame(X) else X_array
        self.estimator_ = clone(self.estimator).fit(X_fit, y, **fit_params)

        rng = check_random_state(self.random_state)
        pre, model = _split_fitted(self.estimator_)
        kind = self.explainer
        if kind == "auto":
            kind = "tree" if _is_tree_model(model) else "permutation"
        if kind == "tree" and not _is_tree_model(model):
            raise ParameterError(
                "explainer='tree' needs a tree model (XGBoost, LightGBM, CatBoost, scikit-learn "
                f"trees or forests). Got {type(model).__name__} instead; use 'auto' or "
                "'permutation'."
            )
        n = X_array.shape[0]
        limit = (
            self.max_samples if self.max_samples is not None else (n if kind == "tree" else self.background)
        )
        rows = np.arange(n) if limit >= n else np.sort(rng.choice(n, limit, replace=False))
        values = None
        if kind == "tree":
            values = self._tree_values(pre, model, _take(X_fit, rows))
            if values is None and self.explainer == "tree":
                raise ParameterError(
                    "explainer='tree' needs preprocessing that keeps one column per feature. Got "
                    f"a pipeline whose steps before {type(model).__name__} change the number of "
                    "columns; use 'auto' or 'permutation'."
                )
            self.output_ = "raw"
        if values is None:
            kind = "permutation"
            values = self._permutation_values(X, X_array, rows, rng)
        self.explainer_ = kind
        self.shap_values_ = normalize_shap_values(values, self.n_features_in_)
        self.explained_indices_ = rows
        self.feature_importances_ = np.abs(self.shap_values_).mean(axis=(0, 2))
        self.order_ = _rank_order(self.feature_importances_)
        self.rank_ = np.empty_like(self.order_)
        self.rank_[self.order_] = np.arange(1, self.order_.size + 1)
        m = n_selected(self.feature_importances_, self.k, self.threshold)
        self.support_ = np.zeros(self.n_features_in_, dtype=bool)
        self.support_[self.order_[:m]] = True
        return self

    def _tree_values(self, pre: Any, model: Any, X_rows: Any) -> Any:
        shap = _import_shap()

        X_model = X_rows if pre is None else pre.transform(X_rows)
        if np.shape(X_model)[1] != self.n_features_in_:
            return None
        with warnings.catch_warnings():
            # shap warns that LightGBM binary outputs "changed to a list" -- they are one array.
            warnings.filterwarnings("ignore", message=".*LightGBM binary classifier.*")
            explainer = shap.TreeExplainer(model)
            return explainer.shap_values(X_model, check_additivity=False)

    def _permutation_values(
        self, X: Any, X_array: np.ndarray, rows: np.ndarray, rng: np.random.RandomState
    ) -> Any:
        shap = _import_shap()

        predict, self.output_ = _output_function(self.estimator_)
        names = getattr(self, "feature_names_in_", None) if _is_frame(X) else None

        def model_output(Z: np.ndarray) -> np.ndarray:
            if names is not None:
                import pandas as pd

                Z = pd.DataFrame(Z, columns=names)
            return np.asarray(predict(Z), dtype=np.float64)

        n = X_array.shape[0]
        size = min(n, self.background)
        background = X_array[np.sort(rng.choice(n, size, replace=False))]
        masker = shap.maskers.Independent(background, max_samples=size)
        state = np.random.get_state()  # shap's permutations draw from numpy's global generator
        try:
            explainer = shap.PermutationExplainer(
                model_output, masker, seed=int(rng.randint(np.iinfo(np.int32).max))
            )
            explanation = explainer(X_array[rows], max_evals=2 * self.n_features_in_ + 1, silent=True)
        finally:
            np.random.set_state(state)
        return explanation.values

    def _get_support_mask(self) -> np.ndarray:
        check_is_fitted(self, "support_")
        return self.support_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = self.estimator.__sklearn_tags__()
        tags.target_tags.required = True
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        return tags


def _is_frame(X: Any) -> bool:
    return hasattr(X, "iloc") and hasattr(X, "columns")


def _take(X: Any, rows: np.ndarray) -> Any:
    return X.iloc[rows] if _is_frame(X) else X[rows]


def _own_class_values(selector: ShapSelector, y: np.ndarray) -> np.ndarray:
    """SHAP values toward each explained row's own class, ``(n_explained, n_features)``."""
    values = selector.shap_values_
    y_rows = np.asarray(y)[selector.explained_indices_]
    classes = getattr(selector.estimator_, "classes_", None)
    if classes is None:
        return values[:, :, 0]
    index = (
        np.searchsorted(classes, y_rows)
        if np.all(classes[:-1] <= classes[1:])
        else np.array([list(classes).index(label) for label in y_rows])
    )
    if values.shape[2] == 1:  # binary margin: positive pushes toward classes_[1]
        sign = np.where(index == 1, 1.0, -1.0)
        return values[:, :, 0] * sign[:, np.newaxis]
    return values[np.arange(len(y_rows)), :, index]
