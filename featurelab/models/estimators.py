"""featurelab's own scikit-learn estimators.

- :class:`SignedLogTransformer` -- a stateless ``sign(x) * log1p(|x| / scale)`` of selected columns
  (by default the ``*_var`` columns, whose values span several orders of magnitude).
- :class:`LabelEncodingClassifier` -- lets a classifier that needs integer labels (XGBoost) take
  string labels, and adds ``class_weight`` to classifiers that only take ``sample_weight``.

Both follow the estimator contract (``__init__`` stores arguments, learned attributes end in ``_``)
and are checked with :func:`sklearn.utils.estimator_checks.parametrize_with_checks`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    OneToOneFeatureMixin,
    TransformerMixin,
    clone,
)
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import assert_all_finite
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from .._validation import Interval, Real, StrOptions, validate_params
from ..exceptions import ParameterError

__all__ = ["SignedLogTransformer", "LabelEncodingClassifier"]


class SignedLogTransformer(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Compress the dynamic range of selected columns with ``sign(x) * log1p(|x| / scale)``.

    The transform is stateless (it learns nothing from the values), so it can sit anywhere in a
    pipeline without leaking information across folds. With a small ``scale`` it is, up to a
    constant shift, ``log|x|`` for every value well above ``scale``, while staying finite and
    continuous at zero and defined for negative values.

    Parameters
    ----------
    columns : str, sequence of str or int, or None
        Which columns to transform: a glob pattern matched against the feature names
        (``"*_var"``, needs a DataFrame input), a list of names or of integer positions, or
        ``None`` for all columns.
    scale : float
        Positive; values much smaller than ``scale`` are left nearly linear.

    Attributes
    ----------
    n_features_in_ : int
        Number of input columns.
    feature_names_in_ : np.ndarray of str
        Input column names (only for DataFrame input).
    mask_ : np.ndarray [shape=(n_features_in_,), dtype=bool]
        The transformed columns.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"rms_mean": [0.1, 0.2], "rms_var": [1e-6, 1e-2]})
    >>> SignedLogTransformer(scale=1e-8).fit_transform(X).round(2)
    array([[ 0.1 ,  4.62],
           [ 0.2 , 13.82]])
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "columns": [str, "array-like", None],
        "scale": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, columns: str | Sequence[str | int] | None = "*_var", scale: float = 1e-8):
        self.columns = columns
        self.scale = scale

    def fit(self, X: Any, y: Any = None) -> SignedLogTransformer:
        """Validate ``X`` and work out which columns to transform.

        Parameters
        ----------
        X : array-like [shape=(n_samples, n_features)]
            Training data (a DataFrame when ``columns`` names columns).
        y : ignored

        Returns
        -------
        self : SignedLogTransformer
        """
        validate_params(self.get_params(), self._parameter_constraints, caller=type(self).__name__)
        validate_data(self, X, reset=True, ensure_all_finite="allow-nan")
        self.mask_ = self._column_mask()
        return self

    def _column_mask(self) -> np.ndarray:
        n = self.n_features_in_
        names = getattr(self, "feature_names_in_", None)
        if self.columns is None:
            return np.ones(n, dtype=bool)
        if isinstance(self.columns, str):
            if names is None:
                raise ParameterError(
                    f"columns={self.columns!r} is a name pattern, which needs a pandas DataFrame "
                    "with column names. Got an array without names instead; pass a DataFrame or "
                    "list integer column positions."
                )
            return np.array([fnmatch.fnmatchcase(str(name), self.columns) for name in names])
        mask = np.zeros(n, dtype=bool)
        for column in self.columns:
            if isinstance(column, (int, np.integer)) and not isinstance(column, bool):
                if not 0 <= column < n:
                    raise ParameterError(f"columns must be positions in [0, {n}). Got {column} instead.")
                mask[column] = True
            elif names is not None and column in set(names):
                mask[list(names).index(column)] = True
            else:
                raise ParameterError(
                    f"columns must name columns of X. Got {column!r}, which is not one of them."
                )
        return mask

    def transform(self, X: Any) -> np.ndarray:
        """Apply ``sign(x) * log1p(|x| / scale)`` to the selected columns.

        Parameters
        ----------
        X : array-like [shape=(n_samples, n_features)]

        Returns
        -------
        Xt : np.ndarray [shape=(n_samples, n_features), dtype=float64]
        """
        check_is_fitted(self, "mask_")
        X = validate_data(self, X, reset=False, dtype=np.float64, copy=True, ensure_all_finite="allow-nan")
        selected = X[:, self.mask_]
        X[:, self.mask_] = np.sign(selected) * np.log1p(np.abs(selected) / self.scale)
        return X

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        tags.input_tags.allow_nan = True
        return tags


class LabelEncodingClassifier(ClassifierMixin, BaseEstimator):
    """Fit a classifier on integer-encoded labels and give the original labels back.

    XGBoost's scikit-learn classifier only accepts labels ``0..K-1``; wrapped in this class it
    takes any labels (``"blues"``, ``"jazz"``, ...). ``class_weight`` is turned into
    ``sample_weight``, which gives class weighting to classifiers that lack the parameter.

    Parameters
    ----------
    estimator : classifier
        The classifier to fit (cloned).
    class_weight : dict, "balanced" or None
        As in scikit-learn; multiplied into any ``sample_weight`` passed to :meth:`fit`.

    Attributes
    ----------
    estimator_ : classifier
        The fitted clone.
    classes_ : np.ndarray [shape=(n_classes,)]
        The original labels, sorted.
    n_features_in_ : int
        Number of features seen in :meth:`fit`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = np.array([[0.0], [0.1], [1.0], [1.1]])
    >>> y = np.array(["low", "low", "high", "high"])
    >>> LabelEncodingClassifier(LogisticRegression()).fit(X, y).predict([[0.05], [1.05]])
    array(['low', 'high'], dtype='<U4')
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "estimator": "no_validation",
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(self, estimator: Any, *, class_weight: dict | str | None = None):
        self.estimator = estimator
        self.class_weight = class_weight

    def fit(self, X: Any, y: Any, sample_weight: Any = None, **fit_params: Any):
        """Encode ``y`` and fit a clone of ``estimator``.

        Parameters
        ----------
        X : array-like [shape=(n_samples, n_features)]
        y : array-like [shape=(n_samples,)]
        sample_weight : array-like [shape=(n_samples,)] or None
        **fit_params
            Passed to the estimator's ``fit``.

        Returns
        -------
        self : LabelEncodingClassifier
        """
        validate_params(
            {"class_weight": self.class_weight}, self._parameter_constraints, caller=type(self).__name__
        )
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        y = column_or_1d(y, warn=True)
        if y.dtype.kind in "fc":
            assert_all_finite(y, input_name="y")
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        y_encoded = encoder.transform(y)
        if self.class_weight is not None:
            # Class weights from the weighted class frequencies (as scikit-learn's own
            # estimators do), times the sample weights.
            with np.errstate(divide="ignore"):  # a class whose weights are all zero
                per_class = compute_class_weight(
                    self.class_weight, classes=self.classes_, y=y, sample_weight=sample_weight
                )
            per_class = np.where(np.isfinite(per_class), per_class, 0.0)
            weights = per_class[y_encoded]
            if sample_weight is not None:
                weights = weights * np.asarray(sample_weight, dtype=float)
            sample_weight = weights
        if sample_weight is not None:
            fit_params["sample_weight"] = sample_weight
        self.estimator_ = clone(self.estimator).fit(X, y_encoded, **fit_params)
        for attr in ("n_features_in_", "feature_names_in_"):
            if hasattr(self.estimator_, attr):
                setattr(self, attr, getattr(self.estimator_, attr))
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predict original labels.

        Parameters
        ----------
        X : array-like [shape=(n_samples, n_features)]

        Returns
        -------
        y : np.ndarray [shape=(n_samples,)]
        """
        check_is_fitted(self, "estimator_")
        codes = np.asarray(self.estimator_.predict(X)).astype(np.intp).ravel()
        return self.classes_[codes]

    @available_if(lambda self: hasattr(self.estimator, "predict_proba"))
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in the order of :attr:`classes_`.

        Parameters
        ----------
        X : array-like [shape=(n_samples, n_features)]

        Returns
        -------
        P : np.ndarray [shape=(n_samples, n_classes)]
        """
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_proba(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = self.estimator.__sklearn_tags__()
        tags.input_tags = inner.input_tags
        return tags
