"""XGBoost gradient-boosted trees (needs xgboost)."""

from __future__ import annotations

from typing import Any

from ..registry import ModelSpec
from ._pipeline import plain

#: Position in ``--model`` listings (built-ins count in tens; a new model may leave it out).
ORDER = 50
MODEL = ModelSpec(
    "xgb", "XGBoost gradient-boosted trees.", requires=("xgboost",), factory=f"{__name__}:make_xgb"
)


def make_xgb(*, random_state: int | None = 0, n_jobs: int = 1, class_weight: Any = None) -> Any:
    """XGBClassifier (hist trees) inside a :class:`LabelEncodingClassifier`.

    The wrapper lets XGBoost take string labels and turns ``class_weight`` into sample weights;
    grid parameters are therefore ``clf__estimator__<xgboost parameter>``.
    """
    from xgboost import XGBClassifier

    from ..estimators import LabelEncodingClassifier

    booster = XGBClassifier(
        n_estimators=300,
        learning_rate=0.1,
        max_depth=4,
        subsample=0.8,
        colsample_bytree=0.8,
        tree_method="hist",
        random_state=0 if random_state is None else random_state,
        n_jobs=n_jobs,
        verbosity=0,
    )
    return plain(LabelEncodingClassifier(booster, class_weight=class_weight))
