from .data import Dataset, load_dataset
from .estimators import LabelEncodingClassifier, SignedLogTransformer
from .evaluate import EvaluationResult, FoldResult, evaluate, fit_final
from .persist import SavedModel, load_model, save_model
from .registry import (
    ModelSpec,
    available_models,
    default_grid,
    final_estimator,
    get_model_spec,
    make_model,
    register_model,
)
from .results import RunResults
from .rundir import RunWriter, read_results
from .runner import GridSearchRun, gridsearch
from .splits import Protocol, iter_outer_splits, make_cv

__all__ = [
    "Dataset",
    "EvaluationResult",
    "FoldResult",
    "GridSearchRun",
    "LabelEncodingClassifier",
    "ModelSpec",
    "Protocol",
    "RunResults",
    "RunWriter",
    "SavedModel",
    "SignedLogTransformer",
    "available_models",
    "default_grid",
    "evaluate",
    "final_estimator",
    "fit_final",
    "get_model_spec",
    "gridsearch",
    "iter_outer_splits",
    "load_dataset",
    "load_model",
    "make_cv",
    "make_model",
    "read_results",
    "register_model",
    "save_model",
]
