"""The built-in models: one module per model, found automatically.

Each public module of this package declares one model and holds its factory::

    ORDER = 10  # optional: position in ``--model`` listings
    MODEL = ModelSpec("svm", "Support vector machine ...", factory=f"{__name__}:make_svm")

    def make_svm(*, random_state=0, n_jobs=1, class_weight=None):
        from sklearn.svm import SVC  # heavy imports inside the factory
        ...

:data:`featurelab.models.registry.MODELS` imports these modules the first time a model is looked
up (:func:`builtin_models`), so ``featurelab --help`` never imports scikit-learn, xgboost or torch.
Adding a model is one module here plus its default grid in ``featurelab/configs/<name>.yaml``.

Every factory takes ``random_state``, ``n_jobs`` and ``class_weight`` (plus its own options) and
returns an unfitted :class:`~sklearn.pipeline.Pipeline` ending in a step named ``clf``. Models that
depend on feature scale (SVM, logistic regression, kNN, MLP) standardize inside the pipeline;
tree ensembles take the raw features.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING

from ._pipeline import with_probabilities
from .knn import make_knn
from .lgbm import make_lgbm
from .logreg import make_logreg
from .mlp import make_mlp
from .rf import make_rf
from .svm import make_svm
from .voting import make_voting
from .xgb import make_xgb

if TYPE_CHECKING:
    from ..registry import ModelSpec

__all__ = [
    "builtin_models",
    "make_svm",
    "make_logreg",
    "make_knn",
    "make_rf",
    "make_xgb",
    "make_lgbm",
    "make_mlp",
    "make_voting",
    "with_probabilities",
]


def builtin_models() -> list[ModelSpec]:
    """Import every model module of this package and return their ``MODEL``s, in ``ORDER``."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        spec = getattr(module, "MODEL", None)
        if spec is not None:
            found.append((getattr(module, "ORDER", 1000), spec.name, spec))
    return [spec for *_, spec in sorted(found, key=lambda item: item[:2])]
