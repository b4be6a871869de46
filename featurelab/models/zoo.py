"""Factories of the built-in models (registered in :mod:`featurelab.models.registry`).

Each factory takes ``random_state``, ``n_jobs`` and ``class_weight`` (plus its own options) and
returns an unfitted :class:`~sklearn.pipeline.Pipeline` ending in a step named ``clf``. Models that
depend on feature scale (SVM, logistic regression, kNN, MLP) standardize inside the pipeline;
tree ensembles take the raw features. Heavy libraries are imported inside the factories.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..exceptions import ParameterError

__all__ = [
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


def _scaled(clf: Any) -> Any:
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return Pipeline([("scale", StandardScaler()), ("clf", clf)])


def _plain(clf: Any) -> Any:
    from sklearn.pipeline import Pipeline

    return Pipeline([("clf", clf)])


def _no_class_weight(name: str, class_weight: Any) -> None:
    if class_weight is not None:
        raise ParameterError(
            f"class_weight is not supported by model {name!r}. Got {class_weight!r}; use svm, "
            "logreg, rf, xgb, lgbm or voting for class weighting, or resample the table."
        )


def make_svm(*, random_state: int | None = 0, n_jobs: int = 1, class_weight: Any = None) -> Any:
    """StandardScaler -> SVC (RBF kernel, ``C=1``, ``gamma="scale"``).

    ``SVC`` has no ``predict_proba`` here (scikit-learn 1.9 deprecates ``probability=True``);
    :func:`with_probabilities` adds calibrated probabilities where they are needed.
    """
    from sklearn.svm import SVC

    return _scaled(
        SVC(kernel="rbf", C=1.0, gamma="scale", class_weight=class_weight, random_state=random_state)
    )


def make_logreg(*, random_state: int | None = 0, n_jobs: int = 1, class_weight: Any = None) -> Any:
    """StandardScaler -> multinomial LogisticRegression (lbfgs)."""
    from sklearn.linear_model import LogisticRegression

    return _scaled(
        LogisticRegression(C=1.0, max_iter=5000, class_weight=class_weight, random_state=random_state)
    )


def make_knn(*, random_state: int | None = 0, n_jobs: int = 1, class_weight: Any = None) -> Any:
    """StandardScaler -> KNeighborsClassifier (k=5)."""
    from sklearn.neighbors import KNeighborsClassifier

    _no_class_weight("knn", class_weight)
    return _scaled(KNeighborsClassifier(n_neighbors=5, n_jobs=n_jobs))


def make_rf(*, random_state: int | None = 0, n_jobs: int = 1, class_weight: Any = None) -> Any:
    """RandomForestClassifier (300 trees)."""
    from sklearn.ensemble import RandomForestClassifier

    return _plain(
        RandomForestClassifier(
            n_estimators=300, class_weight=class_weight, random_state=random_state, n_jobs=n_jobs
        )
    )


def make_xgb(*, random_state: int | None = 0, n_jobs: int = 1, class_weight: Any = None) -> Any:
    """XGBClassifier (hist trees) inside a :class:`LabelEncodingClassifier`.

    The wrapper lets XGBoost take string labels and turns ``class_weight`` into sample weights;
    grid parameters are therefore ``clf__estimator__<xgboost parameter>``.
    """
    from xgboost import XGBClassifier

    from .estimators import LabelEncodingClassifier

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
    return _plain(LabelEncodingClassifier(booster, class_weight=class_weight))


def make_lgbm(*, random_state: int | None = 0, n_jobs: int = 1, class_weight: Any = None) -> Any:
    """LGBMClassifier (300 trees, 15 leaves, row and column subsampling), silent."""
    from lightgbm import LGBMClassifier

    return _plain(
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


def make_mlp(*, random_state: int | None = 0, n_jobs: int = 1, class_weight: Any = None) -> Any:
    """StandardScaler -> MLPClassifier (128 hidden units, early stopping)."""
    from sklearn.neural_network import MLPClassifier

    _no_class_weight("mlp", class_weight)
    return _scaled(
        MLPClassifier(
            hidden_layer_sizes=(128,),
            alpha=1e-3,
            max_iter=1000,
            early_stopping=True,
            n_iter_no_change=20,
            random_state=random_state,
        )
    )


def with_probabilities(
    model: Any, *, method: str = "temperature", cv: Any = 3, n_jobs: int | None = None
) -> Any:
    """Give ``model`` a ``predict_proba`` by calibration, if it has none.

    Uses ``CalibratedClassifierCV(model, ensemble=False)`` -- scikit-learn's replacement for
    ``SVC(probability=True)``: cross-validated decision values fit the calibrator, and the model
    itself is refitted on all the data. Temperature scaling keeps the model's own predictions
    (the arg-max of the decision function) unchanged.

    Parameters
    ----------
    model : estimator
        Unfitted classifier.
    method : {"temperature", "sigmoid", "isotonic"}
        Calibration method.
    cv : int or iterable of (train, test) splits
        Cross-validation for the calibration (pass group-aware splits for segment tables).
    n_jobs : int or None
        Parallel calibration folds.

    Returns
    -------
    estimator
        ``model`` itself when it already has ``predict_proba``, else the calibrated wrapper.
    """
    from sklearn.calibration import CalibratedClassifierCV

    if hasattr(model, "predict_proba"):
        return model
    return CalibratedClassifierCV(model, method=method, ensemble=False, cv=cv, n_jobs=n_jobs)


def make_voting(
    *,
    random_state: int | None = 0,
    n_jobs: int = 1,
    class_weight: Any = None,
    members: Sequence[str] | str = ("svm", "xgb", "lgbm"),
    calibration: str = "sigmoid",
    weights: Sequence[float] | None = None,
    member_params: Mapping[str, Mapping[str, Any]] | None = None,
    member_grids: Mapping[str, Any] | None = None,
    member_cv: int = 3,
) -> Any:
    """Soft vote (mean of probabilities) over registry models.

    Parameters
    ----------
    random_state, n_jobs, class_weight
        Passed to every member.
    members : sequence of str or str
        Registry names (or a comma-separated string) of at least two models; ``voting`` itself
        is not allowed.
    calibration : {"sigmoid", "temperature", "isotonic"}
        Calibration of members without ``predict_proba`` (the SVM).
    weights : sequence of float or None
        Weight of each member's probabilities.
    member_params : mapping or None
        ``{member: {param: value}}`` set on each member pipeline (``{"svm": {"clf__C": 5}}``).
    member_grids : mapping or None
        ``{member: grid}``: that member tunes itself with a
        :class:`~sklearn.model_selection.GridSearchCV` (``member_cv`` stratified folds) every time
        the vote is fitted -- cheap for the SVM, whose fits take milliseconds, and it spares a
        search over the whole ensemble. (The member's folds are not group-aware: on segment tables
        its choice may be optimistic, but test rows are never involved.)
    member_cv : int
        Folds of the member searches.

    Returns
    -------
    sklearn.pipeline.Pipeline
        ``Pipeline([("clf", VotingClassifier(...))])``; member parameters are addressed as
        ``clf__<member>__<member parameter>``, the calibrated SVM's as
        ``clf__svm__estimator__clf__C``.
    """
    from sklearn.ensemble import VotingClassifier

    from .registry import make_model

    if isinstance(members, str):
        members = [part.strip() for part in members.split(",") if part.strip()]
    members = list(members)
    if len(members) < 2 or len(set(members)) != len(members) or "voting" in members:
        raise ParameterError(
            "members must list at least two different models other than 'voting'. "
            f"Got {','.join(members) or 'nothing'} instead."
        )
    member_params = dict(member_params or {})
    member_grids = dict(member_grids or {})
    for what, given in (("member_params", member_params), ("member_grids", member_grids)):
        unknown = set(given) - set(members)
        if unknown:
            raise ParameterError(
                f"{what} names models that are not members: {', '.join(sorted(unknown))}. "
                f"The members are {', '.join(members)}."
            )
    estimators = []
    for name in members:
        member = make_model(
            name,
            random_state=random_state,
            n_jobs=1,
            class_weight=class_weight,
            **dict(member_params.get(name, {})),
        )
        if member_grids.get(name):
            from sklearn.model_selection import GridSearchCV, StratifiedKFold

            from .config import resolve_grid

            folds = StratifiedKFold(member_cv, shuffle=True, random_state=random_state)
            member = GridSearchCV(
                member,
                resolve_grid(member_grids[name], search="grid"),
                cv=folds,
                scoring="accuracy",
                n_jobs=1,
            )
        estimators.append((name, with_probabilities(member, method=calibration, cv=3)))
    voter = VotingClassifier(estimators, voting="soft", weights=weights, n_jobs=n_jobs)
    return _plain(voter)
