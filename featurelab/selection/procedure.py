"""``featurelab select``: a SHAP ranking in every training fold and the accuracy-vs-k curve."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import clone

from .._validation import Integral, Interval, check_scalar, validate_params
from ..exceptions import ParameterError
from ..parallel import DEFAULT_N_JOBS, resolve_n_jobs
from ..progress import ProgressBar, ProgressOption
from .result import SelectionResult
from .selector import (
    RULE_CONSTRAINTS,
    ShapSelector,
    _check_rule,
    _own_class_values,
    _rank_order,
    n_selected,
)

if TYPE_CHECKING:
    import pandas as pd

    from ..models.data import Dataset

__all__ = ["select_features", "DEFAULT_KS"]

#: Default k values of the accuracy-vs-k curve (``None`` = all features).
DEFAULT_KS: tuple[int | None, ...] = (5, 10, 15, 20, 30, 40, None)

_CONSTRAINTS: dict[str, list[Any]] = {
    **RULE_CONSTRAINTS,
    "cv": [Interval(Integral, 2, None, closed="left")],
    "seed": [Integral],
    "n_jobs": [Integral, None],
}


def _parse_ks(ks: Sequence[int | str | None], n_features: int) -> list[int]:
    if isinstance(ks, (str, bytes)) or not isinstance(ks, Sequence) or len(ks) == 0:
        raise ParameterError(
            f"ks must be a non-empty sequence of positive integers or None/'all'. Got {ks!r} instead."
        )
    out = set()
    for value in ks:
        if value is None or value == "all":
            out.add(n_features)
            continue
        check_scalar(value, "Every k of ks", Integral, min_val=1)
        out.add(min(int(value), n_features))
    return sorted(out)


def _model_name(model: Any) -> str:
    if isinstance(model, str):
        return model
    from ..models.registry import final_estimator

    return type(final_estimator(model)).__name__


def _build(model: Any, seed: int) -> Any:
    if isinstance(model, str):
        from ..models.registry import make_model

        return make_model(model, random_state=seed, n_jobs=1)
    return clone(model)


def _fold_scores(
    estimator: Any, X_test: pd.DataFrame, y_test: np.ndarray, tracks: np.ndarray | None
) -> tuple[float, float | None]:
    """Accuracy of the test rows and, for segment tables, of the tracks (majority vote)."""
    from ..models.scoring import vote_tracks

    y_pred = estimator.predict(X_test)
    accuracy = float(np.mean(y_pred == y_test))
    if tracks is None:
        return accuracy, None
    _, track_true, track_pred = vote_tracks(y_test, y_pred, tracks)
    return accuracy, float(np.mean(track_pred == track_true))


def _run_fold(
    dataset: Dataset,
    fold: int,
    train: np.ndarray,
    test: np.ndarray,
    *,
    model: Any,
    downstream: Any,
    same_model: bool,
    ks: list[int],
    k: int | None,
    threshold: float | None,
    background: int,
    seed: int,
) -> dict[str, Any]:
    """Rank the features on one training fold and score the downstream model for every k."""
    X_train, y_train = dataset.X.iloc[train], dataset.y[train]
    X_test, y_test = dataset.X.iloc[test], dataset.y[test]
    tracks = dataset.track_ids[test] if dataset.is_segment_table else None
    selector = ShapSelector(_build(model, seed), background=background, random_state=seed)
    selector.fit(X_train, y_train)
    importances = selector.feature_importances_
    order = selector.order_
    n_features = importances.size
    rule_k = n_selected(importances, k, threshold)
    scores: dict[int, tuple[float, float | None]] = {}
    for kk in sorted(set(ks) | {rule_k}):
        columns = [dataset.feature_names[i] for i in np.sort(order[:kk])]
        if same_model and kk == n_features:
            estimator = selector.estimator_  # the ranking model is the all-features model
        else:
            estimator = _build(downstream, seed).fit(X_train[columns], y_train)
        scores[kk] = _fold_scores(estimator, X_test[columns], y_test, tracks)
    return {
        "fold": fold,
        "importances": importances,
        "order": order,
        "rule_k": rule_k,
        "scores": scores,
        "explainer": selector.explainer_,
        "train_rows": len(train),
    }


def select_features(
    table: str | os.PathLike | pd.DataFrame | Dataset,
    model: str | Any = "xgb",
    *,
    k: int | None = None,
    threshold: float | None = None,
    cv: int = 5,
    split_dir: str | os.PathLike | None = None,
    ks: Sequence[int | str | None] = DEFAULT_KS,
    downstream: str | Any | None = None,
    background: int = 100,
    seed: int = 42,
    n_jobs: int | None = DEFAULT_N_JOBS,
    group: str | None = "auto",
    progress: ProgressOption = None,
) -> SelectionResult:
    """Rank features by SHAP inside every training fold and measure accuracy against k.

    For every outer training fold: fit ``model``, rank the features by mean |SHAP| (once), then
    for every k refit ``downstream`` on the fold's top-k features and score it on the fold's test
    rows. Test rows never take part in a ranking. The reported ranking averages the folds'
    importances; ``selected_frac`` says how often each feature made its fold's own selection.
    Finally ``model`` is fitted on all rows for the beeswarm plot.

    Parameters
    ----------
    table : path, pandas.DataFrame or Dataset
        Feature table (see :func:`featurelab.models.load_dataset`).
    model : str or estimator
        Ranking model: a registry name (``"xgb"``, ``"lgbm"``, ``"rf"``, ``"svm"``, ...) or an
        unfitted scikit-learn estimator.
    k : int or None
        Select the top ``k`` features.
    threshold : float or None
        Select the fewest top features covering this share of the total mean |SHAP|. With neither
        ``k`` nor ``threshold``, k is read off the curve: the smallest k whose mean accuracy is
        within one standard error of the best (an optimistic choice, noted in the result).
    cv : int
        Outer folds (stratified; group-aware when the table has groups).
    split_dir : path, str or None
        Predefined ``train``/``valid``/``test`` lists instead of k-fold (a folder, or the built-in
        ``"gtzan-filtered"``): one split, ranking on train+valid, curve scored on test.
    ks : sequence of int, "all" or None
        k values of the accuracy-vs-k curve (``None``/``"all"`` = every feature). ``k`` is added.
    downstream : str, estimator or None
        Model scored on the top-k features (registry models scale inside their pipeline);
        default: ``model`` with its default parameters.
    background : int
        Background (and explained) rows of the model-agnostic explainer (SVM, kNN, ...).
    seed : int
        Seed of the folds, the models and the SHAP samples.
    n_jobs : int or None
        Folds computed in parallel processes; -1, 0 or ``None`` (the default): all usable cores
        (:func:`featurelab.parallel.resolve_n_jobs`). Each model uses one thread there, and
        ``n_jobs`` threads in the final all-rows fit. The results do not depend on it.
    group : "auto", "none", None or str
        Grouping of rows (see :func:`featurelab.models.load_dataset`).
    progress : bool, None or callable
        Progress bar on stderr: ``None`` (the default) on a terminal or in a notebook;
        ``True``/``False``; or a callable ``f(done, total)``.

    Returns
    -------
    SelectionResult

    Raises
    ------
    ParameterError
        Invalid arguments (both ``k`` and ``threshold``, an unknown model, too many folds).
    TableError
        The table cannot be used.

    Examples
    --------
    >>> result = select_features("features_30_sec.csv", "xgb", k=14)  # doctest: +SKIP
    >>> result.ranking.head(10)  # doctest: +SKIP
    >>> result.plot_curve()  # doctest: +SKIP
    """
    from datetime import datetime, timezone

    import pandas as pd
    from joblib import Parallel, delayed

    from .._version import __version__
    from ..models.data import Dataset, load_dataset
    from ..models.splits import Protocol, iter_outer_splits, protocol_notes, split_summary

    validate_params(
        {"k": k, "threshold": threshold, "cv": cv, "background": background, "seed": seed, "n_jobs": n_jobs},
        _CONSTRAINTS,
        caller="select_features",
    )
    _check_rule(k, threshold)
    jobs = resolve_n_jobs(n_jobs)
    if isinstance(model, str) or isinstance(downstream, str):
        from ..models.registry import get_model_spec

        for name in (model, downstream):
            if isinstance(name, str):
                get_model_spec(name).check_available()
    downstream = model if downstream is None else downstream
    same_model = downstream is model or (
        isinstance(model, str) and isinstance(downstream, str) and model == downstream
    )

    dataset = table if isinstance(table, Dataset) else load_dataset(table, group=group)
    classes = sorted(set(dataset.y))
    if len(classes) < 2:
        raise ParameterError(
            f"Feature selection needs at least two labels in the table. Got {classes}; check the "
            "'label' column."
        )
    n_features = len(dataset.feature_names)
    curve_ks = _parse_ks(ks, n_features)
    if k is not None:
        curve_ks = sorted(set(curve_ks) | {min(k, n_features)})
    protocol = Protocol(
        n_splits=int(cv),
        seed=seed,
        split_dir=None if split_dir is None else str(split_dir),
        grouped=dataset.groups is not None,
    )
    split = None if split_dir is None else split_summary(dataset, split_dir)
    splits = [(fold, train, test) for _, fold, train, test in iter_outer_splits(dataset, protocol)]
    protocol_notes(dataset, protocol)

    tasks = (
        delayed(_run_fold)(
            dataset,
            fold,
            train,
            test,
            model=model,
            downstream=downstream,
            same_model=same_model,
            ks=curve_ks,
            k=k,
            threshold=threshold,
            background=background,
            seed=seed,
        )
        for fold, train, test in splits
    )
    folds = []
    with ProgressBar(progress, total=len(splits) + 1, description=f"select {_model_name(model)}") as bar:
        for outcome in Parallel(n_jobs=jobs, return_as="generator_unordered")(tasks):
            folds.append(outcome)
            bar.advance()
        folds.sort(key=lambda f: f["fold"])

        # ---- aggregate the folds
        names = dataset.feature_names
        importances = np.vstack([f["importances"] for f in folds])
        fold_scores = pd.DataFrame(
            [
                {
                    "fold": f["fold"],
                    "k": kk,
                    "accuracy": acc,
                    **({"track_accuracy": track} if track is not None else {}),
                }
                for f in folds
                for kk, (acc, track) in sorted(f["scores"].items())
            ]
        )
        curve = _curve(fold_scores, curve_ks)
        rule, rule_k = _resolve_rule(k, threshold, curve)
        mean = importances.mean(axis=0)
        order = _rank_order(mean)
        selected_counts = np.zeros(n_features)
        fold_rule_ks = []
        for f in folds:
            m = rule_k if rule_k is not None else f["rule_k"]
            fold_rule_ks.append(m)
            selected_counts[f["order"][:m]] += 1
        ranking = pd.DataFrame(
            {
                "feature": [names[i] for i in order],
                "mean_abs_shap": mean[order],
                "std_abs_shap": importances.std(axis=0)[order],
                "selected_frac": selected_counts[order] / len(folds),
                "rank": np.arange(1, n_features + 1),
            }
        )
        n_keep = rule_k if rule_k is not None else n_selected(mean, None, threshold)
        selected = ranking["feature"].head(n_keep).tolist()
        accuracies = [
            f["scores"][m][0] if m in f["scores"] else np.nan
            for f, m in zip(folds, fold_rule_ks, strict=True)
        ]

        # ---- the model fitted on all rows, for the beeswarm plot
        final = _build(model, seed)
        if isinstance(model, str):
            final.set_params(**_thread_params(final, jobs))
        full = ShapSelector(final, background=background, random_state=seed)
        full.fit(dataset.X, dataset.y)
        bar.advance()

    explained = full.explained_indices_
    info = {
        "table": dataset.source,
        "n_samples": dataset.n_samples,
        "n_features": n_features,
        "n_classes": len(dataset.classes),
        "classes": dataset.classes,
        "is_segment_table": dataset.is_segment_table,
        "n_folds": len(folds),
        # names matched and rows of each list (as gridsearch's protocol_settings.split)
        **({} if split is None else {"split": split.to_dict()}),
        "fold_selected_k": fold_rule_ks,
        "ks": curve_ks,
        "background": background,
        "seed": seed,
        "featurelab_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": None,
    }
    return SelectionResult(
        ranking=ranking,
        curve=curve,
        selected=selected,
        fold_importances=pd.DataFrame(
            importances, columns=names, index=pd.Index([f["fold"] for f in folds], name="fold")
        ),
        fold_scores=fold_scores,
        model=_model_name(model),
        downstream=_model_name(downstream),
        protocol=protocol.describe(),
        rule=rule,
        k=rule_k if rule == "one-standard-error" else k,
        threshold=threshold,
        selection_accuracy={"mean": float(np.nanmean(accuracies)), "std": float(np.nanstd(accuracies))},
        explainer=folds[0]["explainer"],
        beeswarm_values=_own_class_values(full, dataset.y),
        beeswarm_data=dataset.X.iloc[explained].reset_index(drop=True),
        info=info,
    )


def _thread_params(estimator: Any, n_jobs: int) -> dict[str, int]:
    """``{param: n_jobs}`` for every ``n_jobs`` parameter that the model's factory set.

    Parameters left at ``None`` are not set: some are deprecated (LogisticRegression's, which
    warns since scikit-learn 1.8 when given).
    """
    return {
        name: n_jobs
        for name, value in estimator.get_params(deep=True).items()
        if (name == "n_jobs" or name.endswith("__n_jobs")) and value is not None
    }


def _curve(fold_scores: pd.DataFrame, ks: list[int]) -> pd.DataFrame:
    table = fold_scores[fold_scores["k"].isin(ks)]
    grouped = table.groupby("k")
    curve = grouped["accuracy"].agg(
        accuracy_mean="mean", accuracy_std=lambda s: float(np.std(s)), n_folds="size"
    )
    if "track_accuracy" in table:
        tracks = grouped["track_accuracy"].agg(
            track_accuracy_mean="mean", track_accuracy_std=lambda s: float(np.std(s))
        )
        curve = curve.join(tracks)
    return curve.reset_index()


def _resolve_rule(k: int | None, threshold: float | None, curve: pd.DataFrame) -> tuple[str, int | None]:
    """Name the selection rule and its k (``None`` for a threshold: k varies by fold)."""
    if k is not None:
        return "k", int(min(k, curve["k"].max()))
    if threshold is not None:
        return "threshold", None
    best = curve["accuracy_mean"].idxmax()
    stderr = curve.loc[best, "accuracy_std"] / np.sqrt(max(curve.loc[best, "n_folds"] - 1, 1))
    good = curve[curve["accuracy_mean"] >= curve.loc[best, "accuracy_mean"] - stderr]
    return "one-standard-error", int(good["k"].min())
