"""Random forest."""

from __future__ import annotations

from typing import Any

from ..registry import ModelSpec
from ._pipeline import plain

#: Position in ``--model`` listings (built-ins count in tens; a new model may leave it out).
ORDER = 40
MODEL = ModelSpec("rf", "Random forest.", factory=f"{__name__}:make_rf")


def make_rf(*, random_state: int | None = 0, n_jobs: int = 1, class_weight: Any = None) -> Any:
    """RandomForestClassifier (300 trees)."""
    from sklearn.ensemble import RandomForestClassifier

    return plain(
        RandomForestClassifier(
            n_estimators=300, class_weight=class_weight, random_state=random_state, n_jobs=n_jobs
        )
    )
