"""Support vector machine: StandardScaler -> SVC."""

from __future__ import annotations

from typing import Any

from ..registry import ModelSpec
from ._pipeline import scaled

#: Position in ``--model`` listings (built-ins count in tens; a new model may leave it out).
ORDER = 10
MODEL = ModelSpec(
    "svm", "Support vector machine (standardized; RBF/linear kernels).", factory=f"{__name__}:make_svm"
)


def make_svm(*, random_state: int | None = 0, n_jobs: int = 1, class_weight: Any = None) -> Any:
    """StandardScaler -> SVC (RBF kernel, ``C=1``, ``gamma="scale"``).

    ``SVC`` has no ``predict_proba`` here (scikit-learn 1.9 deprecates ``probability=True``);
    :func:`with_probabilities` adds calibrated probabilities where they are needed.
    """
    from sklearn.svm import SVC

    return scaled(
        SVC(kernel="rbf", C=1.0, gamma="scale", class_weight=class_weight, random_state=random_state)
    )
