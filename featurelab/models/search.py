"""Hyper-parameter search: grid, successive halving and random search over a registry model."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._json import to_jsonable
from ..exceptions import ParameterError
from ..parallel import DEFAULT_N_JOBS, resolve_n_jobs
from .config import check_search, grid_size, resolve_grid
from .splits import check_n_splits, make_cv, split_originals

__all__ = [
    "make_search",
    "inner_splits",
    "check_inner_cv",
    "check_search_space",
    "SearchOutcome",
    "search_and_fit",
]


def make_search(
    estimator: Any,
    grid: Any,
    *,
    search: str = "grid",
    cv: Any = 3,
    n_iter: int = 20,
    seed: int | None = 0,
    n_jobs: int | None = DEFAULT_N_JOBS,
    scoring: str = "accuracy",
    refit: bool = True,
) -> Any:
    """Make a scikit-learn search object over ``grid``.

    Parameters
    ----------
    estimator : estimator
        The unfitted model.
    grid : dict or list of dict
        Candidate values (see :func:`featurelab.models.config.resolve_grid` for distributions).
    search : {"grid", "halving", "random"}
        :class:`~sklearn.model_selection.GridSearchCV`, successive halving
        (:class:`~sklearn.model_selection.HalvingGridSearchCV`, or
        :class:`~sklearn.model_selection.HalvingRandomSearchCV` when the grid has distributions)
        or :class:`~sklearn.model_selection.RandomizedSearchCV` (``n_iter`` candidates, at most
        the grid's size).
    cv : int, splitter or iterable of splits
        Inner cross-validation.
    n_iter : int
        Candidates of a random search.
    seed : int or None
        Seed of random and halving search.
    n_jobs : int or None
        Parallel fits; -1, 0 or ``None`` (the default): all usable cores.
    scoring : str
        A scikit-learn scorer name.
    refit : bool
        Refit the best candidate on all the data given to ``fit``.

    Returns
    -------
    search object
    """
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

    check_search(search)
    resolved = resolve_grid(grid, search=search)
    size = grid_size(grid)
    # A candidate that cannot be fitted (say k=21 neighbours for 18 rows) scores NaN, with a
    # FitFailedWarning, and the search goes on; if every candidate fails, the error is raised.
    common = dict(scoring=scoring, cv=cv, n_jobs=resolve_n_jobs(n_jobs), refit=refit, error_score=np.nan)
    if search == "grid":
        return GridSearchCV(estimator, resolved, **common)
    if search == "random":
        n = n_iter if size is None else min(n_iter, size)
        return RandomizedSearchCV(estimator, resolved, n_iter=n, random_state=seed, **common)
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingGridSearchCV, HalvingRandomSearchCV

    if size is None:
        return HalvingRandomSearchCV(estimator, resolved, factor=3, random_state=seed, **common)
    return HalvingGridSearchCV(estimator, resolved, factor=3, random_state=seed, **common)


def inner_splits(
    y: np.ndarray,
    groups: np.ndarray | None,
    *,
    n_splits: int,
    seed: int | None,
    validation: np.ndarray | None = None,
    augmented: np.ndarray | None = None,
    tracks: np.ndarray | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Materialized inner (search) splits of the training rows.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Training labels.
    groups : np.ndarray [shape=(n,)] or None
        Training groups: inner folds keep them together too.
    n_splits : int
        Inner folds.
    seed : int or None
        Shuffling seed.
    validation : np.ndarray of bool [shape=(n,)] or None
        A predefined validation part (the ``valid`` list of a split folder): one split, train on
        the rest, validate on it.
    augmented, tracks : np.ndarray [shape=(n,)] or None
        Augmented rows and the track of each row: augmented rows only train, with their track
        (:func:`featurelab.models.splits.split_originals`).

    Returns
    -------
    list of (train_idx, test_idx)
    """

    def split(rows: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        part = None if validation is None else validation[rows]
        sub_groups = None if groups is None else groups[rows]
        if check_inner_cv(y[rows], sub_groups, n_splits, part):
            return [(rows[~part], rows[part])]  # type: ignore[operator]
        cv = make_cv(n_splits, groups=sub_groups, seed=seed)
        return [(rows[a], rows[b]) for a, b in cv.split(np.zeros(len(rows)), y[rows], sub_groups)]

    if augmented is not None and tracks is None:
        raise ParameterError("inner_splits needs the tracks of the rows to place augmented rows.")
    return list(split_originals(split, augmented, tracks if tracks is not None else np.arange(len(y))))


def check_inner_cv(
    y: np.ndarray, groups: np.ndarray | None, n_splits: int, validation: np.ndarray | None = None
) -> bool:
    """Check that the inner search can split these training rows; return whether it uses ``validation``.

    Raises
    ------
    ParameterError
        ``n_splits`` is not an integer >= 2, or exceeds the rows (tracks) of the smallest class.
    """
    from numbers import Integral

    from .._validation import check_scalar

    if validation is not None and validation.any() and (~validation).any():
        return True
    check_scalar(n_splits, "inner_cv", Integral, min_val=2)
    check_n_splits(y, groups, n_splits, "inner_cv (the number of search folds)")
    return False


def check_search_space(estimator: Any, grid: Any, *, search: str = "grid", params: Any = None) -> None:
    """Check a grid (and fixed ``params``) against the model before any fitting.

    Every name must be a parameter of ``estimator`` (``clf__C``, not ``C``); every value -- each
    listed value, and both bounds of a distribution -- must satisfy the scikit-learn constraints
    of the step that owns it (``_parameter_constraints``, checked as ``set_params`` followed by
    ``fit`` would). Steps without declared constraints (XGBoost, LightGBM) get a type check: a
    numeric parameter must get numbers.

    Raises
    ------
    ParameterError
        An unknown name, a value its step refuses, a malformed distribution, or a distribution
        with ``search="grid"``.
    """
    resolve_grid(grid, search=search)  # malformed values and distributions
    known = estimator.get_params(deep=True)
    subgrids = grid if isinstance(grid, list) else [grid]
    entries = [(key, values, "Grid") for sub in subgrids for key, values in dict(sub).items()]
    entries += [(key, [value], "Parameter") for key, value in dict(params or {}).items()]
    for key, values, kind in entries:
        if key not in known:
            raise ParameterError(_unknown_parameter(key, known, kind))
        owner_name, _, name = key.rpartition("__")
        owner = known[owner_name] if owner_name else estimator
        if isinstance(values, Mapping):  # a distribution: check its bounds
            values = list(next(iter(values.values())))
        elif not isinstance(values, (list, tuple)):
            values = [values]
        for value in values:
            _check_value(owner, name, value, f"{kind} value of {key!r}")


def _unknown_parameter(key: str, known: Mapping[str, Any], kind: str) -> str:
    names = sorted(name for name in known if "__" in name and not name.endswith("__steps"))
    short = key.rsplit("__", 1)[-1]
    guess = [name for name in names if name.rsplit("__", 1)[-1] == short]
    hint = f" Did you mean {' or '.join(repr(g) for g in guess[:3])}?" if guess else ""
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    return (
        f"{kind} parameter {key!r} is not a parameter of the model.{hint} Names address the "
        f"pipeline steps (step__parameter): {shown}."
    )


def _check_value(owner: Any, name: str, value: Any, what: str) -> None:
    from .._validation import validate_params

    constraints = getattr(owner, "_parameter_constraints", None)
    hint = ""
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            pass
        else:  # YAML 1.1 reads 1e-3 (no dot) as text
            hint = f" (YAML reads {value} as text: write it with a dot, e.g. 1.0e-3)"
    if isinstance(constraints, Mapping) and name in constraints:
        try:
            validate_params({name: value}, {name: constraints[name]}, caller=type(owner).__name__)
        except ParameterError as error:
            raise ParameterError(f"{what}: {error}{hint}") from None
        return
    default = owner.get_params(deep=False).get(name)
    is_number = lambda v: isinstance(v, (int, float, np.number)) and not isinstance(v, bool)  # noqa: E731
    if is_number(default) and not is_number(value):
        raise ParameterError(
            f"{what} must be a number, like its default {default!r}. Got {value!r} instead{hint}."
        )


@dataclass
class SearchOutcome:
    """What one search (or plain fit) produced.

    Attributes
    ----------
    estimator : estimator
        The fitted best model, with ``predict_proba``.
    best_params : dict
        The chosen grid values (empty without a search).
    cv_results : pandas.DataFrame or None
        The search's ``cv_results_`` (``params`` as JSON strings).
    best_score : float or None
        Mean inner score of the best candidate.
    fit_time : float
        Seconds for the search, the refit and the calibration.
    """

    estimator: Any
    best_params: dict[str, Any]
    cv_results: pd.DataFrame | None
    best_score: float | None
    fit_time: float


def search_and_fit(
    estimator: Any,
    grid: Any,
    X: pd.DataFrame,
    y: np.ndarray,
    groups: np.ndarray | None = None,
    *,
    search: str = "grid",
    inner_cv: int = 3,
    n_iter: int = 20,
    seed: int | None = 0,
    n_jobs: int | None = DEFAULT_N_JOBS,
    scoring: str = "accuracy",
    validation: np.ndarray | None = None,
    calibration: str = "temperature",
    augmented: np.ndarray | None = None,
    tracks: np.ndarray | None = None,
) -> SearchOutcome:
    """Search ``grid`` with inner cross-validation on ``(X, y)``; fit the best model on all of it.

    A model without ``predict_proba`` (the SVM) is then wrapped in a temperature-scaling
    :class:`~sklearn.calibration.CalibratedClassifierCV` fitted on group-aware folds, which keeps
    its predictions and adds probabilities. A grid of one candidate is fitted without a search.
    ``n_jobs`` parallel fits of the search (all usable cores by default; results do not depend on
    it). ``augmented`` rows (with ``tracks``, the track of each row) are never validated on in the
    search; the calibration folds, which must partition the rows, keep them with their track.

    Returns
    -------
    SearchOutcome
    """
    import json

    from sklearn.base import clone

    from .zoo import with_probabilities

    start = time.perf_counter()
    size = grid_size(grid)
    needs_calibration = not hasattr(estimator, "predict_proba")
    cv_results = None
    best_score = None
    if size is not None and size <= 1:
        best_params = {} if size == 0 else _single_candidate(grid)
        best = clone(estimator).set_params(**best_params)
    else:
        splits = inner_splits(
            y,
            groups,
            n_splits=inner_cv,
            seed=seed,
            validation=validation,
            augmented=augmented,
            tracks=tracks,
        )
        searcher = make_search(
            estimator,
            grid,
            search=search,
            cv=splits,
            n_iter=n_iter,
            seed=seed,
            n_jobs=n_jobs,
            scoring=scoring,
            refit=not needs_calibration,
        )
        try:
            searcher.fit(X, y)
        except ValueError as error:
            if "fits failed" not in str(error):
                raise
            raise ParameterError(
                f"Every candidate of the grid failed to fit; the first error: {_first_error(str(error))}"
            ) from None
        best_params = dict(searcher.best_params_)
        best_score = float(searcher.best_score_)
        frame = pd.DataFrame(searcher.cv_results_)
        frame["params"] = [json.dumps(to_jsonable(p), sort_keys=True) for p in frame["params"]]
        cv_results = frame
        best = (
            searcher.best_estimator_
            if not needs_calibration
            else (clone(estimator).set_params(**best_params))
        )
    if needs_calibration:
        # Calibration folds must partition the rows (cross_val_predict): copies stay with their
        # track (no copy of a held-out track trains); the temperature never changes a prediction.
        copies = augmented is not None and bool(augmented.any())
        calib_groups = tracks if copies and tracks is not None else groups
        calib_splits = inner_splits(y, calib_groups, n_splits=min(inner_cv, 3), seed=seed)
        best = with_probabilities(best, method=calibration, cv=calib_splits)
        best.fit(X, y)
    elif size is not None and size <= 1:
        best.fit(X, y)
    return SearchOutcome(
        estimator=best,
        best_params=to_jsonable(best_params),
        cv_results=cv_results,
        best_score=best_score,
        fit_time=time.perf_counter() - start,
    )


def _first_error(text: str) -> str:
    """Return the exception line of scikit-learn's "fits failed" report (it quotes tracebacks)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Warning): ", line)]
    return (errors[0] if errors else lines[-1] if lines else text)[:300]


def _single_candidate(grid: Any) -> dict[str, Any]:
    resolved = resolve_grid(grid, search="grid")
    sub = resolved[0] if isinstance(resolved, list) else resolved
    return {key: values[0] for key, values in dict(sub).items()}
