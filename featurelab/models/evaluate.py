"""Nested, group-aware evaluation of a registry model.

For every outer split of the protocol (k-fold x repeats, a holdout, or a predefined split), the
hyper-parameter search runs on the outer training rows only -- with its own group-aware inner folds
-- and the best model is scored on the outer test rows. Every fitted step (scaler, calibration,
search) therefore sees training rows only, and the reported scores estimate the whole procedure.

For segment tables, scores are reported per segment and per track (a track's prediction is the
arg-max of the mean of its segments' probabilities).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .._json import to_jsonable
from .._version import __version__
from ..exceptions import ParameterError
from ..parallel import DEFAULT_N_JOBS, resolve_n_jobs
from ..progress import ProgressBar, ProgressOption
from .config import grid_size
from .registry import default_grid, get_model_spec, make_model
from .results import SCORE_KEYS, RunResults
from .scoring import METRICS, aggregate_tracks, confusion, per_class_metrics, score_fold, summarize_scores

if TYPE_CHECKING:  # pandas is imported when used, so that `import featurelab.models` stays light
    import pandas as pd

    from .data import Dataset
    from .search import SearchOutcome
    from .splits import Protocol

__all__ = ["FoldResult", "EvaluationResult", "evaluate", "fit_final", "aggregate_tracks"]

# aggregate_tracks lives in featurelab.models.scoring; it is re-exported here for existing callers.

logger = logging.getLogger(__name__)


@dataclass
class FoldResult:
    """Scores of one outer split.

    Attributes
    ----------
    repeat, fold : int
        Position in the protocol.
    accuracy, balanced_accuracy, f1_macro : float
        Row-level (segment-level) scores on the outer test rows.
    track_accuracy, track_balanced_accuracy, track_f1_macro : float or None
        Track-level scores (segment tables only).
    fit_time : float
        Seconds for search + refit (+ calibration) on the outer training rows.
    predict_time : float
        Seconds to predict the outer test rows.
    best_params : dict
        Chosen grid values.
    best_inner_score : float or None
        Inner cross-validation score of the chosen candidate.
    test_index : np.ndarray of int
        Outer test rows.
    y_pred : np.ndarray
        Predicted labels of the test rows.
    tracks_true, tracks_pred : np.ndarray or None
        Track-level labels (segment tables only).
    """

    repeat: int
    fold: int
    n_train: int
    n_test: int
    accuracy: float
    balanced_accuracy: float
    f1_macro: float
    fit_time: float
    predict_time: float
    n_test_tracks: int
    best_params: dict[str, Any]
    best_inner_score: float | None
    test_index: np.ndarray
    y_pred: np.ndarray
    track_accuracy: float | None = None
    track_balanced_accuracy: float | None = None
    track_f1_macro: float | None = None
    tracks_true: np.ndarray | None = None
    tracks_pred: np.ndarray | None = None

    def scores(self) -> dict[str, Any]:
        """Return the fold's scores as a flat dict (a ``fold_scores`` entry of ``results.json``)."""
        out: dict[str, Any] = {
            "repeat": self.repeat,
            "fold": self.fold,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "accuracy": self.accuracy,
            "balanced_accuracy": self.balanced_accuracy,
            "f1_macro": self.f1_macro,
        }
        if self.track_accuracy is not None:
            out.update(
                track_accuracy=self.track_accuracy,
                track_balanced_accuracy=self.track_balanced_accuracy,
                track_f1_macro=self.track_f1_macro,
            )
        out.update(
            fit_time=self.fit_time, predict_time=self.predict_time, best_inner_score=self.best_inner_score
        )
        return out


@dataclass
class EvaluationResult:
    """The outcome of :func:`evaluate`.

    Attributes
    ----------
    model : str
        Registry name.
    protocol : Protocol
        The evaluation protocol.
    classes : list of str
        Sorted labels.
    folds : list of FoldResult
        One per outer split.
    dataset : Dataset
        The evaluated data.
    settings : dict
        Search settings (search, grid, inner_cv, n_iter, scoring, class_weight, log_var, ...).
    cv_results : pandas.DataFrame
        Inner search results of every outer split (``repeat``, ``fold`` columns added).
    split : dict or None
        With a predefined split: the names each list gives and matched, its rows, and the rows in
        no list (:meth:`~featurelab.models.splits.SplitMembership.to_dict`); written to
        results.json as ``protocol_settings.split``.
    """

    model: str
    protocol: Protocol
    classes: list[str]
    folds: list[FoldResult]
    dataset: Dataset
    settings: dict[str, Any] = field(default_factory=dict)
    cv_results: pd.DataFrame | None = None
    split: dict[str, Any] | None = None

    def _values(self, key: str) -> np.ndarray:
        return np.array([getattr(f, key) for f in self.folds], dtype=float)

    def mean(self, key: str) -> float:
        """Compute the mean of a fold score over folds and repeats."""
        return float(np.mean(self._values(key)))

    def std(self, key: str) -> float:
        """Compute the standard deviation (ddof=0) of a fold score over folds and repeats."""
        return float(np.std(self._values(key)))

    def confusion_matrix(self, level: str = "row") -> np.ndarray:
        """Confusion matrix summed over all outer test sets (rows = true labels).

        Parameters
        ----------
        level : {"row", "track"}
            Row (segment) level or track level (segment tables).

        Returns
        -------
        np.ndarray [shape=(n_classes, n_classes), dtype=int]
        """
        return confusion(*self._pooled(level), self.classes)

    def _pooled(self, level: str) -> tuple[np.ndarray, np.ndarray]:
        if level == "track":
            if not self.dataset.is_segment_table:
                level = "row"
            else:
                return (
                    np.concatenate([f.tracks_true for f in self.folds]),  # type: ignore[misc]
                    np.concatenate([f.tracks_pred for f in self.folds]),
                )  # type: ignore[misc]
        if level != "row":
            raise ParameterError(f"level must be 'row' or 'track'. Got {level!r} instead.")
        y_true = np.concatenate([self.dataset.y[f.test_index] for f in self.folds])
        return y_true, np.concatenate([f.y_pred for f in self.folds])

    def per_class(self, level: str = "row") -> dict[str, dict[str, float]]:
        """Precision, recall, F1 and support of each class over the pooled outer test sets."""
        return per_class_metrics(*self._pooled(level), self.classes)

    def fold_frame(self) -> pd.DataFrame:
        """Tabulate the scores, one row per outer split."""
        import pandas as pd

        return pd.DataFrame([f.scores() for f in self.folds])

    def to_results(self) -> RunResults:
        """Build the run's results (the ``results.json`` of :mod:`featurelab.models.rundir`)."""
        from datetime import datetime, timezone

        segment = self.dataset.is_segment_table
        n_tracks = sum(f.n_test_tracks for f in self.folds)
        folds = [f.scores() for f in self.folds]
        keys = [*METRICS, *(f"track_{key}" for key in METRICS)] if segment else METRICS
        scores = {key: None for key in SCORE_KEYS} | summarize_scores(folds, keys)
        times = summarize_scores(folds, ["fit_time"])
        return RunResults(
            model=self.model,
            protocol=self.protocol.describe(),
            protocol_settings={
                "kind": self.protocol.kind,
                "cv": self.protocol.n_splits,
                "repeats": self.protocol.repeats,
                "test_size": self.protocol.test_size,
                "split_dir": self.protocol.split_dir,
                "grouped": self.protocol.grouped,
                "nested": True,
                **({} if self.split is None else {"split": self.split}),
            },
            search=self.settings,
            table=self.dataset.source,
            n_samples=self.dataset.n_samples,
            n_tracks=int(len(np.unique(self.dataset.track_ids))),
            n_features=len(self.dataset.feature_names),
            n_classes=len(self.classes),
            classes=list(self.classes),
            is_segment_table=segment,
            scores=scores,
            fit_time_mean=times["fit_time_mean"],
            fit_time_std=times["fit_time_std"],
            predict_time_per_track=float(sum(f.predict_time for f in self.folds) / max(n_tracks, 1)),
            best_params=[f.best_params for f in self.folds],
            fold_scores=folds,
            per_class=self.per_class("row"),
            confusion_matrix=self.confusion_matrix("row").tolist(),
            track_per_class=self.per_class("track") if segment else None,
            track_confusion_matrix=self.confusion_matrix("track").tolist() if segment else None,
            seed=self.settings.get("seed"),
            featurelab_version=__version__,
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            command=None,
        )

    def summary(self) -> dict[str, Any]:
        """Build the ``results.json`` dictionary (see :mod:`featurelab.models.rundir`)."""
        return self.to_results().to_dict()


def _settings(model: str, grid: Any, **kwargs: Any) -> dict[str, Any]:
    return {"model": model, "grid": to_jsonable(grid), "grid_size": grid_size(grid), **to_jsonable(kwargs)}


def evaluate(
    dataset: Dataset | Any,
    model: str = "svm",
    *,
    search: str = "grid",
    grid: Any = None,
    cv: int = 5,
    repeats: int = 1,
    test_size: float | None = None,
    split_dir: str | None = None,
    inner_cv: int = 3,
    n_iter: int = 20,
    seed: int = 42,
    n_jobs: int | None = DEFAULT_N_JOBS,
    class_weight: Any = None,
    progress: ProgressOption = None,
    log_var: bool = False,
    scoring: str = "accuracy",
    params: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
    group: str | None = "auto",
) -> EvaluationResult:
    """Nested evaluation of a registry model on a feature table.

    Parameters
    ----------
    dataset : Dataset, path or pandas.DataFrame
        The data (a path/frame is read with :func:`~featurelab.models.data.load_dataset`).
    model : str
        Registry name.
    search : {"grid", "halving", "random"}
        Search method of the inner loop.
    grid : dict, list of dict or None
        Search space; ``None`` uses ``configs/<model>.yaml``; ``{}`` fits without a search.
    cv : int
        Outer folds (stratified, group-aware when the data has groups).
    repeats : int
        Repetitions with seeds ``seed, seed+1, ...`` (splits and models).
    test_size : float or None
        A stratified holdout fraction instead of k-fold.
    split_dir : str or None
        Predefined ``train/valid/test`` lists: train+valid -> test. When a valid list exists, the
        search validates on it (train -> valid) instead of inner k-fold.
    inner_cv : int
        Folds of the inner search.
    n_iter : int
        Candidates of a random search.
    seed : int
        Base seed: same seed, same results.
    n_jobs : int or None
        Parallel fits of the search (models themselves run single-threaded); -1, 0 or ``None``
        (the default): all usable cores (:func:`featurelab.parallel.resolve_n_jobs`). The
        results do not depend on it.
    class_weight : "balanced", dict or None
        Class weighting.
    progress : bool, None or callable
        Progress bar on stderr: ``None`` (the default) shows it on a terminal or in a notebook;
        ``True``/``False`` always/never; a callable ``f(done, total)`` gets the counts instead.
    log_var : bool
        Log-compress the ``*_var`` columns inside the pipeline.
    scoring : str
        Inner search scorer.
    params : dict or None
        Fixed pipeline parameters (``{"clf__kernel": "rbf"}``).
    options : dict or None
        Factory options (``{"members": ["svm", "lgbm"]}`` for voting).
    group : "auto", "none" or str
        Grouping when ``dataset`` is a path or frame.

    Returns
    -------
    EvaluationResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> table = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    >>> table["label"] = np.repeat(["x", "y", "z"], 20)
    >>> table.loc[:, "a"] += np.repeat([0.0, 3.0, 6.0], 20)
    >>> result = evaluate(table, "logreg", grid={"clf__C": [0.1, 1.0]}, cv=3)
    >>> result.mean("accuracy") > 0.8
    True
    """
    import pandas as pd

    from .data import Dataset, load_dataset
    from .splits import Protocol, iter_outer_splits, protocol_notes, split_summary

    n_jobs = resolve_n_jobs(n_jobs)
    if not isinstance(dataset, Dataset):
        dataset = load_dataset(dataset, group=group)
    get_model_spec(model)
    grid = default_grid(model) if grid is None else grid
    _check_settings(search=search, scoring=scoring, inner_cv=inner_cv, n_iter=n_iter)
    protocol = Protocol(
        n_splits=cv,
        repeats=repeats,
        seed=seed,
        test_size=test_size,
        split_dir=None if split_dir is None else str(split_dir),
        grouped=dataset.groups is not None,
    )
    if dataset.is_segment_table and dataset.groups is None:
        logger.warning(
            "The table has segments but no groups: segments of one track may land in both the "
            "training and the test folds, which inflates the scores. Use group='auto'."
        )
    classes = dataset.classes
    if len(classes) < 2:
        raise ParameterError(f"The table must have at least two labels. Got {classes}.")
    split = split_summary(dataset, split_dir) if split_dir is not None else None
    membership = None if split is None else split.parts
    splits = list(iter_outer_splits(dataset, protocol))
    # Everything that can be checked is checked here, before the first fit.
    estimator = _check_search_space(model, grid, search, class_weight, log_var, params, options)
    _check_inner_folds(dataset, splits, grid, estimator, inner_cv, membership)
    protocol_notes(dataset, protocol)

    folds: list[FoldResult] = []
    cv_frames: list[pd.DataFrame] = []
    with ProgressBar(progress, total=len(splits), description=f"{model}: nested search") as bar:
        for repeat, fold, train, test in splits:
            validation = None if membership is None else (membership[train] == "valid")
            outcome = _fit_split(
                dataset,
                model,
                grid,
                train,
                validation=validation,
                seed=seed + repeat,
                search=search,
                inner_cv=inner_cv,
                n_iter=n_iter,
                n_jobs=n_jobs,
                class_weight=class_weight,
                log_var=log_var,
                scoring=scoring,
                params=params,
                options=options,
            )
            result = _score_split(dataset, outcome, repeat, fold, train, test, classes)
            folds.append(result)
            if outcome.cv_results is not None:
                frame = outcome.cv_results.copy()
                frame.insert(0, "fold", fold)
                frame.insert(0, "repeat", repeat)
                cv_frames.append(frame)
            logger.info(
                "%s repeat %d fold %d: accuracy %.4f (fit %.1f s) %s",
                model,
                repeat,
                fold,
                result.accuracy,
                result.fit_time,
                result.best_params,
            )
            bar.advance()

    settings = _settings(
        model,
        grid,
        search=search,
        inner_cv=inner_cv,
        n_iter=n_iter,
        scoring=scoring,
        class_weight=class_weight,
        log_var=log_var,
        params=params or {},
        options=options or {},
        seed=seed,
        inner_validation="valid list"
        if (membership is not None and (membership == "valid").any())
        else f"{inner_cv}-fold",
    )
    return EvaluationResult(
        model=model,
        protocol=protocol,
        classes=classes,
        folds=folds,
        dataset=dataset,
        settings=settings,
        cv_results=pd.concat(cv_frames, ignore_index=True) if cv_frames else None,
        split=None if split is None else split.to_dict(),
    )


def _check_settings(*, search: str, scoring: str, inner_cv: int, n_iter: int) -> None:
    from numbers import Integral

    from .._validation import check_scalar
    from .config import check_scoring, check_search

    check_search(search)
    check_scoring(scoring)
    check_scalar(inner_cv, "inner_cv", Integral, min_val=2)
    check_scalar(n_iter, "n_iter", Integral, min_val=1)


def _check_search_space(
    model: str,
    grid: Any,
    search: str,
    class_weight: Any,
    log_var: bool,
    params: dict[str, Any] | None,
    options: dict[str, Any] | None,
) -> Any:
    """Build the model once and check the grid's names and values against it (no fitting)."""
    from .search import check_search_space

    params = dict(params or {})
    options = dict(options or {})
    estimator = make_model(
        model, random_state=0, n_jobs=1, class_weight=class_weight, log_var=log_var, **options, **params
    )
    known = estimator.get_params(deep=True)
    fixed = {key: value for key, value in params.items() if key in known}
    check_search_space(estimator, grid, search=search, params=fixed)
    return estimator


def _check_inner_folds(
    dataset: Dataset,
    splits: list[tuple[int, int, np.ndarray, np.ndarray]],
    grid: Any,
    estimator: Any,
    inner_cv: int,
    membership: np.ndarray | None,
) -> None:
    """Check ``inner_cv`` against every outer training part that the inner folds will split.

    A search (more than one candidate) splits each training part into ``inner_cv`` folds, and the
    probability calibration of a model without ``predict_proba`` into ``min(inner_cv, 3)``. A value
    that no part of the table could hold is refused even when no inner folds are made.
    """
    from .search import check_inner_cv

    size = grid_size(grid)
    folds = inner_cv if size is None or size > 1 else None
    if not hasattr(estimator, "predict_proba"):
        folds = min(inner_cv, 3) if folds is None else folds
    if folds is None:
        checks = [(np.arange(dataset.n_samples), inner_cv, None)]
    else:
        checks = [
            (train, folds, None if membership is None else membership[train] == "valid")
            for _, _, train, _ in splits
        ]
    for rows, n_splits, validation in checks:
        groups = None if dataset.groups is None else dataset.groups[rows]
        check_inner_cv(dataset.y[rows], groups, n_splits, validation)


def _fit_split(
    dataset: Dataset,
    model: str,
    grid: Any,
    rows: np.ndarray,
    *,
    validation: np.ndarray | None,
    seed: int,
    search: str,
    inner_cv: int,
    n_iter: int,
    n_jobs: int,
    class_weight: Any,
    log_var: bool,
    scoring: str,
    params: dict[str, Any] | None,
    options: dict[str, Any] | None,
) -> SearchOutcome:
    from threadpoolctl import threadpool_limits

    from .search import search_and_fit

    estimator = make_model(
        model,
        random_state=seed,
        n_jobs=1,
        class_weight=class_weight,
        log_var=log_var,
        **(options or {}),
        **(params or {}),
    )
    groups = None if dataset.groups is None else dataset.groups[rows]
    # The models run single-threaded (parallelism is across the search's fits): multi-threaded
    # BLAS on these small matrices only adds overhead, badly so on a busy machine.
    with threadpool_limits(limits=1, user_api="blas"):
        return search_and_fit(
            estimator,
            grid,
            dataset.X.iloc[rows],
            dataset.y[rows],
            groups,
            search=search,
            inner_cv=inner_cv,
            n_iter=n_iter,
            seed=seed,
            n_jobs=n_jobs,
            scoring=scoring,
            validation=validation,
            augmented=None if dataset.augmented is None else dataset.augmented[rows],
            tracks=dataset.track_ids[rows],
        )


def _score_split(
    dataset: Dataset,
    outcome: SearchOutcome,
    repeat: int,
    fold: int,
    train: np.ndarray,
    test: np.ndarray,
    classes: list[str],
) -> FoldResult:
    estimator = outcome.estimator
    start = time.perf_counter()
    proba = estimator.predict_proba(dataset.X.iloc[test])
    predict_time = time.perf_counter() - start
    tracks = dataset.track_ids[test]
    scored = score_fold(
        proba,
        estimator.classes_,
        dataset.y[test],
        tracks=tracks if dataset.is_segment_table else None,
        classes=classes,
    )
    scores = scored.scores
    return FoldResult(
        repeat=repeat,
        fold=fold,
        n_train=len(train),
        n_test=len(test),
        accuracy=scores["accuracy"],
        balanced_accuracy=scores["balanced_accuracy"],
        f1_macro=scores["f1_macro"],
        fit_time=outcome.fit_time,
        predict_time=predict_time,
        n_test_tracks=int(len(np.unique(tracks))),
        best_params=outcome.best_params,
        best_inner_score=outcome.best_score,
        test_index=test,
        y_pred=scored.y_pred,
        track_accuracy=scores.get("track_accuracy"),
        track_balanced_accuracy=scores.get("track_balanced_accuracy"),
        track_f1_macro=scores.get("track_f1_macro"),
        tracks_true=scored.track_true,
        tracks_pred=scored.track_pred,
    )


def fit_final(
    dataset: Dataset,
    model: str = "svm",
    *,
    search: str = "grid",
    grid: Any = None,
    inner_cv: int = 3,
    n_iter: int = 20,
    seed: int = 42,
    n_jobs: int | None = DEFAULT_N_JOBS,
    class_weight: Any = None,
    log_var: bool = False,
    scoring: str = "accuracy",
    params: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
) -> SearchOutcome:
    """Run the search on all rows and refit the best model on all of them (the model to save).

    Parameters are those of :func:`evaluate` (``n_jobs``: parallel fits of the search, all usable
    cores by default).

    Returns
    -------
    SearchOutcome
        ``estimator`` has ``predict_proba`` (calibrated where needed).
    """
    grid = default_grid(model) if grid is None else grid
    return _fit_split(
        dataset,
        model,
        grid,
        np.arange(dataset.n_samples),
        validation=None,
        seed=seed,
        search=search,
        inner_cv=inner_cv,
        n_iter=n_iter,
        n_jobs=resolve_n_jobs(n_jobs),
        class_weight=class_weight,
        log_var=log_var,
        scoring=scoring,
        params=params,
        options=options,
    )
