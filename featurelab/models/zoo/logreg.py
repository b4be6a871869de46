"""Multinomial logistic regression: StandardScaler -> LogisticRegression."""

from __future__ import annotations

from typing import Any

from ..registry import ModelSpec
from ._pipeline import scaled

#: Position in ``--model`` listings (built-ins count in tens; a new model may leave it out).
ORDER = 20
MODEL = ModelSpec(
    "logreg", "Multinomial logistic regression (standardized).", factory=f"{__name__}:make_logreg"
)


def make_logreg(*, random_state: int | None = 0, n_jobs: int = 1, class_weight: Any = None) -> Any:
    """StandardScaler -> multinomial LogisticRegression (lbfgs)."""
    from sklearn.linear_model import LogisticRegression

    return scaled(
        LogisticRegression(C=1.0, max_iter=5000, class_weight=class_weight, random_state=random_state)
    )
