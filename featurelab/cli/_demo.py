"""Commands of the first-run experience: ``demo`` and ``report``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._app import EXIT_OK, Jobs, Quiet, Seed, app, show_progress


@app.command()
def demo(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for the corpus, tables, runs and report.")
    ] = Path("featurelab-demo"),
    n_per_class: Annotated[
        int, typer.Option("--n-per-class", help="Synthetic clips per style (six styles).")
    ] = 8,
    seed: Seed = 0,
    jobs: Jobs = 0,
    quiet: Quiet = False,
) -> int:
    """Run the whole pipeline on a built-in synthetic corpus (no download), in a few minutes.

    Generates six styles of music-like clips, extracts the GTZAN track and 3 s segment tables,
    runs nested model searches for svm, lgbm and the soft-voting ensemble (and svm on segments,
    grouped by track), selects features with SHAP, and writes a comparison chart and an HTML
    report. Prints the accuracy of each model and where everything is.

    For example:

    * `featurelab demo`

    * `featurelab demo --out /tmp/demo --n-per-class 12 --seed 1`
    """
    from ..demo import run_demo

    result = run_demo(
        out,
        n_per_class=n_per_class,
        seed=seed,
        n_jobs=jobs,
        progress=show_progress(quiet),
        log=None if quiet else (lambda line: typer.echo(line, err=True)),
    )
    if not quiet:
        typer.echo(result.summary())
    return EXIT_OK


@app.command(no_args_is_help=True)
def report(
    run_dirs: Annotated[
        list[Path],
        typer.Argument(
            help="Run directories of gridsearch/train/select, or folders of runs such as runs/.",
            show_default=False,
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write.")] = Path("report.html"),
    title: Annotated[str, typer.Option("--title", help="Page title.")] = "featurelab report",
    quiet: Quiet = False,
) -> int:
    """Build one self-contained HTML report (leaderboard and per-run details) from run directories.

    The page has a leaderboard (model, protocol, accuracy mean ± std, balanced accuracy, macro F1,
    fit and predict times) and one section per run: the per-class metrics, confusion matrix, SHAP
    and accuracy-versus-k plots, training curves and, for selection runs, the top of the SHAP
    ranking. Charts of a folder of runs (such as runs/leaderboard.png from `featurelab compare`)
    are shown beside the leaderboard. Images are embedded and there is no JavaScript, so the file
    can be mailed as is.

    For example:

    * `featurelab report runs/ -o report.html`

    * `featurelab report runs/svm runs/select-xgb --title "GTZAN, artist-filtered split"`
    """
    from ..report import build_report, find_report_runs

    runs = find_report_runs(run_dirs)
    path = build_report(run_dirs, out, title=title)
    if not quiet:
        typer.echo(f"Wrote {path} ({len(runs)} run{'s' if len(runs) != 1 else ''}).")
    return EXIT_OK
