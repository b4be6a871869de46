"""Models: one registry, nested group-aware evaluation, run directories and saved models.

Public API
----------
- :func:`available_models`, :func:`make_model`, :func:`default_grid`, :func:`register_model`,
  :class:`ModelSpec`, :func:`final_estimator` -- the model registry.
- :func:`load_dataset`, :class:`Dataset` -- a feature table as model inputs (tracks, groups).
- :func:`make_cv`, :func:`iter_outer_splits`, :class:`Protocol` -- evaluation protocols.
- :func:`evaluate`, :class:`EvaluationResult`, :func:`fit_final` -- nested evaluation.
- :func:`gridsearch` -- evaluation + final model + run directory (``featurelab gridsearch``).
- :func:`save_model`, :func:`load_model`, :class:`SavedModel` -- skops/joblib model files.
- :class:`SignedLogTransformer`, :class:`LabelEncodingClassifier` -- featurelab's estimators.

Heavy modules (xgboost, lightgbm, matplotlib, skops) are imported only when used.
"""

from __future__ import annotations

import importlib
from typing import Any

from .evaluate import EvaluationResult, FoldResult, evaluate, fit_final
from .registry import (
    ModelSpec,
    available_models,
    default_grid,
    final_estimator,
    get_model_spec,
    make_model,
    register_model,
)

__all__ = [
    "ModelSpec",
    "available_models",
    "default_grid",
    "final_estimator",
    "get_model_spec",
    "make_model",
    "register_model",
    "Dataset",
    "load_dataset",
    "Protocol",
    "make_cv",
    "iter_outer_splits",
    "EvaluationResult",
    "FoldResult",
    "evaluate",
    "fit_final",
    "gridsearch",
    "GridSearchRun",
    "SavedModel",
    "save_model",
    "load_model",
    "SignedLogTransformer",
    "LabelEncodingClassifier",
]

_LAZY = {
    "Dataset": "data",
    "load_dataset": "data",
    "Protocol": "splits",
    "make_cv": "splits",
    "iter_outer_splits": "splits",
    "gridsearch": "runner",
    "GridSearchRun": "runner",
    "SavedModel": "persist",
    "save_model": "persist",
    "load_model": "persist",
    "SignedLogTransformer": "estimators",
    "LabelEncodingClassifier": "estimators",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
