"""scikit-learn's multi-layer perceptron: StandardScaler -> MLPClassifier."""

from __future__ import annotations

from typing import Any

from ..registry import ModelSpec
from ._pipeline import no_class_weight, scaled

#: Position in ``--model`` listings (built-ins count in tens; a new model may leave it out).
ORDER = 70
MODEL = ModelSpec(
    "mlp", "scikit-learn MLPClassifier (standardized, early stopping).", factory=f"{__name__}:make_mlp"
)


def make_mlp(*, random_state: int | None = 0, n_jobs: int = 1, class_weight: Any = None) -> Any:
    """StandardScaler -> MLPClassifier (128 hidden units, early stopping)."""
    from sklearn.neural_network import MLPClassifier

    no_class_weight("mlp", class_weight)
    return scaled(
        MLPClassifier(
            hidden_layer_sizes=(128,),
            alpha=1e-3,
            max_iter=1000,
            early_stopping=True,
            n_iter_no_change=20,
            random_state=random_state,
        )
    )
