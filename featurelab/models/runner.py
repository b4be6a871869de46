"""``featurelab gridsearch`` as a function: evaluate, refit on all data, write a run directory."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..parallel import DEFAULT_N_JOBS, resolve_n_jobs
from ..progress import ProgressBar, ProgressOption
from .config import SearchConfig, load_model_config, merge_config, read_config_file

__all__ = ["GridSearchRun", "gridsearch", "resolve_config"]

logger = logging.getLogger(__name__)


@dataclass
class GridSearchRun:
    """What :func:`gridsearch` produced.

    Attributes
    ----------
    run_dir : Path
        The run directory.
    results : dict
        The ``results.json`` content (:meth:`RunResults.to_dict`).
    evaluation : EvaluationResult
        Fold-level results.
    config : SearchConfig
        The resolved configuration.
    final : SearchOutcome or None
        The model refitted on all rows (``None`` with ``save_model=False``).
    """

    run_dir: Path
    results: dict[str, Any]
    evaluation: Any
    config: SearchConfig
    final: Any = None


def resolve_config(
    model: str | None = None,
    config: str | os.PathLike | dict[str, Any] | None = None,
    **overrides: Any,
) -> SearchConfig:
    """Merge defaults < ``configs/<model>.yaml`` < ``config`` (file or dict) < ``overrides``.

    ``None`` values in ``overrides`` mean "not given" (except that the packaged config never sets
    ``test_size``/``split_dir``/``class_weight``, so those may be cleared explicitly).
    """
    from .registry import get_model_spec

    if isinstance(config, (str, os.PathLike)):
        user = read_config_file(config)
    else:
        user = dict(config or {})
    name = model or user.get("model") or "svm"
    get_model_spec(name)
    if user.get("model") not in (None, name):
        logger.warning("Config file is for model %r; using it for %r.", user["model"], name)
    merged = merge_config(load_model_config(name), {**user, "model": name})
    given = {key: value for key, value in overrides.items() if value is not None}
    return merge_config(merged, given)


def gridsearch(
    table: Any,
    model: str | None = None,
    *,
    config: str | os.PathLike | dict[str, Any] | None = None,
    out: str | os.PathLike | None = None,
    features_file: str | os.PathLike | None = None,
    save_model: bool = True,
    formats: tuple[str, ...] = ("skops", "joblib"),
    n_jobs: int | None = DEFAULT_N_JOBS,
    progress: ProgressOption = None,
    command: str | None = None,
    **overrides: Any,
) -> GridSearchRun:
    """Nested evaluation of a model on a table, plus the final model, written to a run directory.

    The run directory is written atomically (see :mod:`featurelab.models.rundir`): its destination
    is checked before the evaluation starts, and a failed or interrupted run leaves none behind.

    Parameters
    ----------
    table : path or pandas.DataFrame
        Feature table.
    model : str or None
        Registry name (default: the config's ``model``, else ``svm``).
    config : path, dict or None
        A configuration (see :mod:`featurelab.models.config`) overriding ``configs/<model>.yaml``.
    out : path or None
        Run directory (default ``runs/<timestamp>-<model>``); a previous run there is replaced.
    features_file : path or None
        One feature column per line: restricts the features.
    save_model : bool
        Refit the search on all rows and save the model (``model.skops``, ``model.joblib``,
        ``model.json``).
    formats : tuple of {"skops", "joblib"}
        Model file formats.
    n_jobs : int or None
        Parallel fits of the searches; -1, 0 or ``None`` (the default): all usable cores. The
        results do not depend on it.
    progress : bool, None or callable
        Progress bar on stderr: ``None`` (the default) on a terminal or in a notebook;
        ``True``/``False``; or a callable ``f(done, total)``.
    command : str or None
        The command line, recorded in ``results.json``.
    **overrides
        Any :class:`~featurelab.models.config.SearchConfig` field (``cv=10``, ``search="random"``,
        ``log_var=True``, ``grid={...}``); these win over ``config``.

    Returns
    -------
    GridSearchRun
    """
    import yaml

    from .._json import to_jsonable
    from .data import load_dataset
    from .evaluate import evaluate, fit_final
    from .persist import save_model as _save
    from .rundir import RunWriter

    cfg = resolve_config(model, config, **overrides)
    n_jobs = resolve_n_jobs(n_jobs)
    dataset = load_dataset(table, features_file=features_file, group=cfg.group)
    common = dict(
        search=cfg.search,
        grid=cfg.grid,
        inner_cv=cfg.inner_cv,
        n_iter=cfg.n_iter,
        n_jobs=n_jobs,
        class_weight=cfg.class_weight,
        log_var=cfg.log_var,
        scoring=cfg.scoring,
        params=cfg.params,
        options=cfg.options,
    )
    with RunWriter.start(out, name=cfg.model) as run:
        evaluation = evaluate(
            dataset,
            cfg.model,
            cv=cfg.cv,
            repeats=cfg.repeats,
            test_size=cfg.test_size,
            split_dir=cfg.split_dir,
            seed=cfg.seed,
            progress=progress,
            **common,
        )
        results = evaluation.to_results()
        results.command = command
        results.update(
            config=cfg.to_dict(),
            features_file=None if features_file is None else str(features_file),
        )
        run.write_text("config.yaml", yaml.safe_dump(to_jsonable(cfg.to_dict()), sort_keys=False))
        folds = evaluation.fold_frame()
        run.write_csv("cv_results.csv", evaluation.cv_results if evaluation.cv_results is not None else folds)
        run.write_csv("folds.csv", folds)
        title = f"{cfg.model}: {results.protocol}"
        run.plot_confusion_matrix(
            "confusion_matrix.png", results.confusion_matrix, evaluation.classes, title=title
        )
        if dataset.is_segment_table:
            run.plot_confusion_matrix(
                "track_confusion_matrix.png",
                results.track_confusion_matrix,
                evaluation.classes,
                title=f"{title} (tracks)",
            )

        final = None
        if save_model:
            # The refit on all rows can take as long as a fold: show it as a step of its own.
            with ProgressBar(progress, total=1, description=f"{cfg.model}: final model (all rows)") as bar:
                final = fit_final(dataset, cfg.model, seed=cfg.seed, **common)
                bar.advance()
            metadata = {
                "model": cfg.model,
                "best_params": final.best_params,
                "inner_score": final.best_score,
                "params": cfg.params,
                "options": cfg.options,
                "log_var": cfg.log_var,
                "class_weight": cfg.class_weight,
                "feature_names": dataset.feature_names,
                "classes": [str(c) for c in final.estimator.classes_],
                "extraction": dataset.extraction,
                "is_segment_table": dataset.is_segment_table,
                "training": {
                    "table": dataset.source,
                    "n_samples": dataset.n_samples,
                    "n_tracks": results.n_tracks,
                    "protocol": results.protocol,
                    "accuracy_mean": results.get("accuracy_mean"),
                    "accuracy_std": results.get("accuracy_std"),
                    "track_accuracy_mean": results.get("track_accuracy_mean"),
                    "seed": cfg.seed,
                },
                "created": results.created,
            }
            with run.writing() as folder:
                written = _save(final.estimator, folder, metadata=metadata, formats=formats)
            results.update(
                final_model={
                    "best_params": final.best_params,
                    "inner_score": final.best_score,
                    "fit_time": final.fit_time,
                    "fitted_on": {"part": "all", "rows": dataset.n_samples},
                    "files": sorted(path.name for path in written.values()),
                }
            )
        run.write_report_md(results)
        run.write_results(results)
    return GridSearchRun(
        run_dir=run.target, results=results.to_dict(), evaluation=evaluation, config=cfg, final=final
    )
