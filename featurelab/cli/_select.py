"""Command ``select``: SHAP feature ranking inside every fold and the accuracy-vs-k curve."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..exceptions import ParameterError
from ..models.registry import available_models
from ._app import EXIT_OK, Jobs, OutDir, Quiet, Scheduler, Seed, Split, app, show_progress
from ._models import _command_line

if TYPE_CHECKING:
    from ..selection import SelectionResult

_MODELS = ", ".join(available_models())


def _parse_ks(text: str) -> list[int | None]:
    """``"5,10,20,all"`` -> ``[5, 10, 20, None]``."""
    values: list[int | None] = []
    for part in (p.strip().lower() for p in text.split(",")):
        if not part:
            continue
        if part == "all":
            values.append(None)
        elif part.isdigit() and int(part) > 0:
            values.append(int(part))
        else:
            raise ParameterError(
                f"--ks must be a comma-separated list of positive integers or 'all'. Got {text!r} "
                "instead; for example --ks 5,10,20,all."
            )
    if not values:
        raise ParameterError(f"--ks lists no k values. Got {text!r} instead.")
    return values


@app.command(no_args_is_help=True)
def select(
    ctx: typer.Context,
    table: Annotated[Path, typer.Argument(help="Feature table (.csv or .parquet).", show_default=False)],
    model: Annotated[str, typer.Option("--model", "-m", help=f"Ranking model: {_MODELS}.")] = "xgb",
    k: Annotated[int | None, typer.Option("--k", "-k", help="Select the top K features.", min=1)] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold",
            help="Select the fewest top features covering this share "
            "(0-1] of the total mean |SHAP|. Without --k/--threshold, k is the smallest "
            "k of the curve within one standard error of the best.",
        ),
    ] = None,
    cv: Annotated[
        int, typer.Option("--cv", help="Outer folds (stratified; grouped for segment tables).")
    ] = 5,
    split_dir: Split = None,
    downstream: Annotated[
        str | None,
        typer.Option(
            "--downstream",
            help="Model refitted on the top-k features for the curve [default: the --model].",
            show_default=False,
        ),
    ] = None,
    ks: Annotated[
        str, typer.Option("--ks", help="k values of the accuracy-vs-k curve ('all' = every feature).")
    ] = "5,10,15,20,30,40,all",
    background: Annotated[
        int,
        typer.Option(
            "--background",
            help="Background and explained rows of the model-agnostic "
            "explainer (SVM, kNN, logreg, MLP): cost ~ N x N x (2 x features + 1) "
            "predictions per fold. Tree models (xgb, lgbm, rf) are explained exactly.",
            min=1,
        ),
    ] = 100,
    seed: Seed = 42,
    jobs: Jobs = 0,
    scheduler: Scheduler = None,
    group: Annotated[
        str,
        typer.Option("--group", help="auto (tracks of segment tables, or a 'group' column) | none | COLUMN."),
    ] = "auto",
    out: OutDir = None,
    quiet: Quiet = False,
) -> int:
    """Rank features by mean |SHAP| inside every CV training fold; write ranking and accuracy-vs-k.

    In every outer training fold the model is fitted and explained (shap.TreeExplainer for
    xgb/lgbm/rf, a permutation explainer on --background rows otherwise), so test rows never
    influence the ranking. The downstream model is then refitted on the fold's top-k features for
    every k of --ks and scored on the fold's test rows.

    The run directory (--out, default runs/TIMESTAMP-select-MODEL) holds ranking.csv (feature,
    mean_abs_shap, std_abs_shap over folds, selected_frac = stability, rank), selected.txt (use as
    `featurelab gridsearch --features-file selected.txt`), curve.csv, fold_scores.csv,
    shap_bar.png, shap_beeswarm.png, accuracy_vs_k.png and selection.json. It is written
    atomically (its folder is checked before the work starts; an interrupted run leaves none), and
    the results do not depend on --jobs.

    For example:

    * `featurelab select features_30_sec.csv --model xgb --k 14`

    * `featurelab select features_30_sec.csv -m lgbm --threshold 0.9 --ks 5,10,20,all -j 2`

    * `featurelab select features_30_sec.csv -m xgb --downstream svm`
    """
    from ..distributed import dask_backend
    from ..models.data import load_dataset
    from ..models.rundir import RunWriter
    from ..selection import select_features, write_selection_run

    k_values = _parse_ks(ks)
    dataset = load_dataset(table, group=None if group == "none" else group)
    command = _command_line(ctx)
    with RunWriter.start(out, name=f"select-{model}") as run:
        with dask_backend(scheduler, n_workers=jobs if jobs > 1 else None):
            result = select_features(
                dataset,
                model,
                k=k,
                threshold=threshold,
                cv=cv,
                split_dir=split_dir,
                ks=k_values,
                downstream=downstream,
                background=background,
                seed=seed,
                n_jobs=jobs,
                progress=show_progress(quiet),
            )
        run_dir = write_selection_run(result, run, command=command)
    if not quiet:
        typer.echo(
            f"{result.model} SHAP ranking, {result.protocol}; {len(result.selected)} features "
            f"selected ({_rule(result)})"
        )
        typer.echo("  rank  feature                     mean|SHAP|     std  selected")
        for row in result.top(10).itertuples():
            typer.echo(
                f"  {row.rank:>4}  {row.feature:<26} {row.mean_abs_shap:>10.4f} "
                f"{row.std_abs_shap:>7.4f}  {row.selected_frac:>7.0%}"
            )
        typer.echo(f"  accuracy vs k ({result.downstream}):")
        for row in result.curve.itertuples():
            typer.echo(f"    k={row.k:<4} {row.accuracy_mean:.4f} ± {row.accuracy_std:.4f}")
        typer.echo(f"  run directory: {run_dir}")
    return EXIT_OK


def _rule(result: SelectionResult) -> str:
    if result.rule == "k":
        return f"top {result.k}"
    if result.rule == "threshold":
        return f"cumulative share {result.threshold:g}"
    return f"k={result.k}, smallest k within one standard error of the best"
