"""LightGBM gradient-boosted trees (needs lightgbm)."""

from __future__ import annotations

from typing import Any

from ..registry import ModelSpec
from ._pipeline import plain

#: Position in ``--model`` listings (built-ins count in tens; a new model may leave it out).
ORDER = 60
MODEL = ModelSpec(
    "lgbm", "LightGBM gradient-boosted trees.", requires=("lightgbm",), factory=f"{__name__}:make_lgbm"
)


def make_lgbm(*, random_state: int | None = 0, n_jobs: int = 1, class_weight: Any = None) -> Any:
    """LGBMClassifier (300 trees, 15 leaves, row and column subsampling), silent."""
    from lightgbm import LGBMClassifier

    return plain(
        LGBMClassifier(
            n_estimators=300,
            learning_rate=0.05,
            num_leaves=15,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.8,
            class_weight=class_weight,
            random_state=random_state,
            n_jobs=n_jobs,
            verbose=-1,
        )
    )
