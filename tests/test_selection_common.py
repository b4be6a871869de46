"""scikit-learn's estimator checks for ShapSelector (there is no tests/test_common.py yet).

Every check passes with the tree explainer, so no check is marked as an expected failure. The
permutation explainer is not run through the checks: it needs several seconds per fit.
"""

from __future__ import annotations

from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks

from featurelab.selection import ShapSelector


@parametrize_with_checks(
    [ShapSelector(DecisionTreeClassifier(max_depth=3, random_state=0), k=2, random_state=0)]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
