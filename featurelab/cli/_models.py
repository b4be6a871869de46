"""Commands ``gridsearch``, ``predict`` and ``compare``."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Annotated

import typer

from ..models.registry import available_models
from ..parallel import DEFAULT_N_JOBS
from ._app import (
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    Jobs,
    OutDir,
    Quiet,
    Scheduler,
    Split,
    app,
    show_progress,
)

_MODELS = ", ".join(available_models())


def _jobs(jobs: int) -> int:
    return -1 if jobs in (0, -1) else jobs


def _candidates(search: dict) -> str:
    """How many candidates the inner search tries ("24", "8 sampled")."""
    size, method = search.get("grid_size"), search.get("search")
    if method == "random":
        n_iter = search.get("n_iter") or 0
        return f"{n_iter if size is None else min(n_iter, size)} sampled"
    return str(size) if size is not None else "sampled"


def _command_line(ctx: typer.Context) -> str:
    """Rebuild the command line from the parsed arguments and the options given."""
    parts = ["featurelab", ctx.info_name or ""]
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        source = ctx.get_parameter_source(param.name)
        if source is not None and source.name == "DEFAULT":
            continue
        if param.param_type_name == "argument":
            parts.extend(map(str, value) if isinstance(value, (list, tuple)) else [str(value)])
        elif getattr(param, "is_flag", False):
            names = param.opts if value else (param.secondary_opts or param.opts)
            parts.append(names[0])
        else:
            parts.extend([param.opts[0], str(value)])
    return shlex.join(parts)


@app.command(no_args_is_help=True)
def gridsearch(
    ctx: typer.Context,
    table: Annotated[Path, typer.Argument(help="Feature table (.csv or .parquet).", show_default=False)],
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help=f"Model: {_MODELS} [default: svm].", show_default=False),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="YAML config overriding `configs/<model>.yaml` (grid, params, "
            "options, protocol). Flags override it.",
        ),
    ] = None,
    features_file: Annotated[
        Path | None,
        typer.Option("--features-file", help="Use only these feature columns (one per line)."),
    ] = None,
    search: Annotated[
        str | None,
        typer.Option("--search", help="grid | halving | random [default: the config's, else grid]."),
    ] = None,
    n_iter: Annotated[
        int | None,
        typer.Option(
            "--n-iter",
            help="Candidates of a random search [default: the model's config: 8 for xgb and lgbm, else 20].",
        ),
    ] = None,
    cv: Annotated[
        int | None,
        typer.Option("--cv", help="Outer folds (stratified; grouped for segment tables) [default: 5]."),
    ] = None,
    repeats: Annotated[
        int | None,
        typer.Option("--repeats", help="Repeat with seeds seed, seed+1, ... [default: 1]."),
    ] = None,
    inner_cv: Annotated[
        int | None, typer.Option("--inner-cv", help="Folds of the inner search [default: 3].")
    ] = None,
    test_size: Annotated[
        float | None,
        typer.Option(
            "--test-size",
            help="A single stratified holdout of this fraction instead of k-fold (0.2 = the 80/20 studies).",
        ),
    ] = None,
    split_dir: Split = None,
    group: Annotated[
        str | None,
        typer.Option(
            "--group",
            help="auto (tracks of segment tables, or a 'group' column) | none | COLUMN [default: auto].",
        ),
    ] = None,
    class_weight: Annotated[
        str | None, typer.Option("--class-weight", help="'balanced' to weight classes.")
    ] = None,
    log_var: Annotated[
        bool | None,
        typer.Option(
            "--log-var/--no-log-var",
            help="Log-compress the *_var columns inside the pipeline [default: off].",
            show_default=False,
        ),
    ] = None,
    members: Annotated[
        str | None,
        typer.Option("--members", help="Members of the voting model [default: svm,xgb,lgbm]."),
    ] = None,
    scoring: Annotated[
        str | None, typer.Option("--scoring", help="Inner search score [default: accuracy].")
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Random seed (same seed, same results) [default: 42].")
    ] = None,
    jobs: Jobs = 0,
    scheduler: Scheduler = None,
    out: OutDir = None,
    save_model: Annotated[
        bool,
        typer.Option("--save-model/--no-save-model", help="Refit on all rows and save the model."),
    ] = True,
    formats: Annotated[
        str, typer.Option("--format", help="Model files: skops, joblib or skops,joblib.")
    ] = "skops,joblib",
    quiet: Quiet = False,
) -> int:
    """Nested, group-aware evaluation of a model on a feature table; saves a run directory.

    The hyper-parameter search runs inside every outer training fold, with the scaler inside the
    pipeline, so no test row is ever seen while fitting. Segment tables are split by track (no
    track straddles train and test) and scored per segment and per track.

    The run directory (--out, default runs/TIMESTAMP-MODEL) holds results.json,
    cv_results.csv, folds.csv, report.md, confusion_matrix.png, config.yaml and the model refitted
    on all rows: model.skops (safe to load), model.joblib (pickle: load only from trusted sources)
    and model.json (metadata). It is written atomically: an interrupted or failed run leaves no
    run directory, and a previous run in the same folder is replaced. The results do not depend
    on --jobs.

    Examples
    --------
    * `featurelab gridsearch features_30_sec.csv --model svm --cv 5 --repeats 3`

    * `featurelab gridsearch features_3_sec.csv -m lgbm --search random --n-iter 20 -j 2`

    * `featurelab gridsearch features_30_sec.csv -m lgbm --split gtzan-filtered`
    """
    from ..distributed import dask_backend
    from ..models.runner import gridsearch as run_gridsearch

    options = {"members": members} if members else None
    fmt = tuple(part.strip() for part in formats.split(",") if part.strip())
    with dask_backend(scheduler, n_workers=jobs if jobs > 1 else None):
        run = run_gridsearch(
            table,
            model,
            config=config,
            out=out,
            features_file=features_file,
            save_model=save_model,
            formats=fmt,
            n_jobs=jobs,
            progress=show_progress(quiet),
            command=_command_line(ctx),
            search=search,
            n_iter=n_iter,
            cv=cv,
            repeats=repeats,
            inner_cv=inner_cv,
            test_size=test_size,
            split_dir=split_dir,
            group=group,
            class_weight=class_weight,
            log_var=log_var,
            scoring=scoring,
            seed=seed,
            options=options,
        )
    if not quiet:
        r = run.results
        typer.echo(
            f"{r['model']}: {r['protocol']}, nested {r['search']['search']} search "
            f"({_candidates(r['search'])} candidates)"
        )
        folds = r.get("fold_scores") or []
        spread = f"on {folds[0].get('n_test')} test rows" if len(folds) == 1 else f"± {r['accuracy_std']:.4f}"
        typer.echo(
            f"  accuracy {r['accuracy_mean']:.4f} {spread}   balanced "
            f"{r['balanced_accuracy_mean']:.4f}   macro F1 {r['f1_macro_mean']:.4f}   "
            f"fit {r['fit_time_mean']:.1f} s/fold"
        )
        if r.get("track_accuracy_mean") is not None:
            typer.echo(f"  track accuracy {r['track_accuracy_mean']:.4f} ± {r['track_accuracy_std']:.4f}")
        final = r.get("final_model")
        if final:
            typer.echo(f"  final model: {json.dumps(final['best_params'])}")
        typer.echo(f"  run directory: {run.run_dir}")
    return EXIT_OK


@app.command(no_args_is_help=True)
def predict(
    model: Annotated[
        Path,
        typer.Argument(
            help="A run directory or a model file (.skops; .joblib with --trust).", show_default=False
        ),
    ],
    audio: Annotated[
        list[Path],
        typer.Argument(
            help="Audio files or folders; or one feature table (.csv/.parquet).", show_default=False
        ),
    ],
    top: Annotated[int, typer.Option("--top", "-k", help="Genres per file.")] = 3,
    json_lines: Annotated[
        bool,
        typer.Option(
            "--json",
            help='One JSON object per line: {"path": ..., "top": [{"label": ..., "probability": ...}, '
            '...], "n_windows": ...}.',
        ),
    ] = False,
    trust: Annotated[
        bool,
        typer.Option(
            "--trust",
            help="Allow pickle-based (joblib) model files and unknown types. "
            "Loading a pickle can run arbitrary code: only for trusted files.",
        ),
    ] = False,
    jobs: Jobs = DEFAULT_N_JOBS,
    quiet: Quiet = False,
) -> int:
    """Print each file's top genres with probabilities, using the model's own extraction settings.

    A model trained on segments scores every segment of a file and averages their probabilities
    (a clip shorter than one segment is looped to one); each line says how many windows it averages.
    For a feature table: one prediction per row, or per file for a segment table, named by the full
    file name (files that share a stem never merge).
    Files that cannot be decoded are reported on stderr (exit code 1 if some failed, 2 if all did).

    Examples
    --------
    * `featurelab predict runs/20250101-120000-svm song.wav other.mp3`

    * `featurelab predict runs/...-lgbm/model.skops music/ --json --top 5`
    """
    from ..io import table_format
    from ..models.persist import load_model
    from ..predict import predict_files, predict_table

    saved = load_model(model, trust=trust)
    is_table = len(audio) == 1 and audio[0].suffix.lower() in (".csv", ".parquet", ".pq")
    if is_table:
        table_format(audio[0])
        predictions = predict_table(saved, audio[0], top=top)
    else:
        predictions = predict_files(saved, audio, top=top, n_jobs=jobs, progress=show_progress(quiet))
    failed = 0
    for prediction in predictions:
        if prediction.error is not None:
            failed += 1
            typer.echo(f"Error: {prediction.path}: {prediction.error}", err=True)
            if json_lines:
                typer.echo(json.dumps(prediction.to_dict()))
            continue
        if json_lines:
            typer.echo(json.dumps(prediction.to_dict()))
        else:
            typer.echo(prediction.to_text())
    if failed and failed == len(predictions):
        return EXIT_USAGE
    return EXIT_PARTIAL if failed else EXIT_OK


@app.command(no_args_is_help=True)
def compare(
    runs: Annotated[
        list[Path],
        typer.Argument(help="Run directories, or folders of them (such as runs/).", show_default=False),
    ],
    chart: Annotated[
        Path | None,
        typer.Option(
            "--chart", help="Bar chart file [default: leaderboard.png in the common parent of the runs]."
        ),
    ] = None,
    json_lines: Annotated[bool, typer.Option("--json", help="Print the leaderboard as JSON lines.")] = False,
    quiet: Quiet = False,
) -> int:
    """Leaderboard of runs: model, protocol, accuracy mean ± std, macro F1, fit/predict time; chart.

    Every run directory with a results.json (gridsearch, train-cnn) is listed; give folders of
    runs (such as runs/) to list all runs in them.

    Examples
    --------
    * `featurelab compare runs/`

    * `featurelab compare runs/*-svm runs/*-voting --chart svm_vs_voting.png`
    """
    import os

    from ..compare import find_runs, format_leaderboard, leaderboard, plot_leaderboard
    from ..exceptions import ParameterError
    from ..io import check_writable

    if chart is not None and chart.is_dir():
        raise ParameterError(
            f"--chart must be a file name. Got the folder {str(chart)!r}; use e.g. leaderboard.png."
        )
    if chart is None:
        found = find_runs(runs)
        common = Path(os.path.commonpath([str(p.resolve()) for p in found]))
        chart = common if common not in [p.resolve() for p in found] else common.parent
        chart = chart / "leaderboard.png"
    check_writable(chart)
    frame = leaderboard(runs)
    path = plot_leaderboard(frame, chart)
    if json_lines:
        for row in frame.to_dict(orient="records"):
            typer.echo(json.dumps({k: (None if v != v else v) for k, v in row.items()}))
    else:
        typer.echo(format_leaderboard(frame))
    if not quiet:
        typer.echo(f"chart: {path}", err=True)
    return EXIT_OK
