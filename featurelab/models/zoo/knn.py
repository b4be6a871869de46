"""k nearest neighbours: StandardScaler -> KNeighborsClassifier."""

from __future__ import annotations

from typing import Any

from ..registry import ModelSpec
from ._pipeline import no_class_weight, scaled

#: Position in ``--model`` listings (built-ins count in tens; a new model may leave it out).
ORDER = 30
MODEL = ModelSpec("knn", "k nearest neighbours (standardized).", factory=f"{__name__}:make_knn")


def make_knn(*, random_state: int | None = 0, n_jobs: int = 1, class_weight: Any = None) -> Any:
    """StandardScaler -> KNeighborsClassifier (k=5)."""
    from sklearn.neighbors import KNeighborsClassifier

    no_class_weight("knn", class_weight)
    return scaled(KNeighborsClassifier(n_neighbors=5, n_jobs=n_jobs))
