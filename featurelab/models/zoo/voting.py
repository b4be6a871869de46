"""Soft vote over registry models."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...exceptions import ParameterError
from ..registry import ModelSpec
from ._pipeline import plain, with_probabilities

#: Position in ``--model`` listings (built-ins count in tens; a new model may leave it out).
ORDER = 80
MODEL = ModelSpec(
    "voting",
    "Soft vote over member models (default svm,xgb,lgbm; SVM calibrated).",
    factory=f"{__name__}:make_voting",
)


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

    from ..registry import make_model

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

            from ..config import resolve_grid

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
    return plain(voter)
