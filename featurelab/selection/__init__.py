"""SHAP-based feature selection that is honest (selection inside each fold) and measured.

Public API
----------
- :class:`ShapSelector` -- a scikit-learn transformer: fit an estimator, rank the features by their
  mean absolute SHAP value, keep the top ``k`` (or those covering a cumulative share ``threshold``
  of the total). Inside a :class:`~sklearn.pipeline.Pipeline` the ranking is redone in every
  training fold, so test rows never influence which features are kept.
- :func:`select_features` -- the ``featurelab select`` procedure: a ranking in every outer
  training fold (mean |SHAP|, its spread across folds, how often each feature is selected) and the
  accuracy-vs-k curve of a downstream model refitted on the top-k features of each fold.
- :class:`SelectionResult` -- its tables (``ranking``, ``curve``) and plots (``plot_bar``,
  ``plot_beeswarm``, ``plot_curve``); :func:`write_selection_run` writes a run directory.
- :func:`normalize_shap_values`, :func:`mean_abs_shap`, :func:`n_selected` -- SHAP outputs of any
  shap version (a list of per-class arrays, a 2-D array, a ``(samples, features, classes)`` array)
  as one ``(samples, features, outputs)`` array, its per-feature importance, and the size of a
  ``k``/``threshold`` selection.

shap, matplotlib and the model libraries are imported only when used.
"""

from __future__ import annotations

from .procedure import DEFAULT_KS, select_features
from .result import SelectionResult, write_selection_run
from .selector import ShapSelector, mean_abs_shap, n_selected, normalize_shap_values

__all__ = [
    "ShapSelector",
    "SelectionResult",
    "select_features",
    "write_selection_run",
    "normalize_shap_values",
    "mean_abs_shap",
    "n_selected",
    "DEFAULT_KS",
]
