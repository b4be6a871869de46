"""Commands of the first-run experience: ``report``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._app import EXIT_OK, Quiet, app


@app.command(no_args_is_help=True)
def report(
    run_dirs: Annotated[
        list[Path],
        typer.Argument(
            help="Run directories of gridsearch/train/select, or folders of runs such as runs/.",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="The HTML file to write.")
    ] = Path("report.html"),
    title: Annotated[str, typer.Option("--title", help="Page title.")] = "featurelab report",
    quiet: Quiet = False,
) -> int:
    """Build one self-contained HTML report (leaderboard and per-run details) from run directories.

    The page has a leaderboard (model, protocol, accuracy mean ± std, balanced accuracy, macro F1,
    fit and predict times) and, per run, the per-class metrics, confusion matrix, SHAP and
    accuracy-versus-k plots, training curves and, for selection runs, the top of the SHAP
    ranking. Images are embedded and there is no JavaScript, so the file can be mailed as is.

    For example:

    * `featurelab report runs/ -o report.html`

    * `featurelab report runs/svm runs/select-xgb --title "GTZAN, artist-filtered split"`
    """
    from ..report import build_report, find_report_runs

    runs = find_report_runs(run_dirs)
    path = build_report(runs, out, title=title)
    if not quiet:
        typer.echo(f"Wrote {path} ({len(runs)} run{'s' if len(runs) != 1 else ''}).")
    return EXIT_OK
