"""scikit-learn's estimator checks over featurelab's own estimators (as imbalanced-learn does)."""

from __future__ import annotations

from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from featurelab.models.estimators import LabelEncodingClassifier, SignedLogTransformer


@parametrize_with_checks(
    [
        SignedLogTransformer(columns=[0], scale=1e-3),
        LabelEncodingClassifier(LogisticRegression(), class_weight="balanced"),
    ]
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
