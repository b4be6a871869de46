"""The typer application object and the options shared by several commands."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from .._version import __version__

#: Exit codes, documented in ``featurelab --help`` and the README.
EXIT_OK = 0
EXIT_PARTIAL = 1  # output written, but some inputs failed (see the errors table)
EXIT_USAGE = 2  # bad arguments, missing or unusable input: nothing (new) was written
EXIT_INTERRUPTED = 130

HELP = f"""featurelab {__version__}: music genre classification with classical machine learning.

Extract GTZAN-schema feature tables from audio, grid-search SVM / XGBoost / LightGBM / voting
models with honest (group-aware, nested) evaluation, select features with SHAP, and compare with
small neural nets.

Exit codes: 0 success; 1 output written but some inputs failed (see the errors table);
2 usage or input error (nothing written); 130 interrupted.
"""

app = typer.Typer(
    name="featurelab",
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)


class _EchoHandler(logging.Handler):
    """Library warnings (``logging``) as plain lines on standard error, like the errors."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            typer.echo(self.format(record), err=True)
        except Exception:  # noqa: BLE001 - a warning must never break a command
            self.handleError(record)


def show_warnings() -> None:
    """Show featurelab's logged warnings on standard error (once per process).

    Without this, Python shows them only while no logging handler exists anywhere; a command
    must say them regardless (split lists that match partly, GTZAN scored on random folds, ...).
    """
    logger = logging.getLogger("featurelab")
    if not any(isinstance(handler, _EchoHandler) for handler in logger.handlers):
        handler = _EchoHandler(logging.WARNING)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"featurelab {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            callback=_version_callback,
            is_eager=True,
            help="Show the version and exit.",
        ),
    ] = False,
) -> None:
    """Music genre classification with classical machine learning."""
    show_warnings()


# ----------------------------------------------------------------------------- shared options
Jobs = Annotated[
    int,
    typer.Option("--jobs", "-j", help="Parallel worker processes; 0 or -1 = all cores.", show_default=True),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or summaries.")]
Seed = Annotated[int, typer.Option("--seed", help="Random seed (same seed, same results).")]
Scheduler = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="Run on Dask: a scheduler address (tcp://host:8786) or 'local' to start a "
        "LocalCluster for this run. Needs the [dask] extra.",
    ),
]
OutDir = Annotated[Path | None, typer.Option("--out", "-o", help="Output (run) directory.")]
#: A predefined split (``--split``; ``--split-dir`` and ``--split-file`` are older names of it).
Split = Annotated[
    str | None,
    typer.Option(
        "--split",
        "--split-dir",
        "--split-file",
        metavar="SPLIT",
        help="'gtzan-filtered' (the artist-filtered GTZAN split, built in) or a folder of "
        "train/valid/test lists: train (+valid) -> test, segments mapped to their track. "
        "--split-dir and --split-file are aliases.",
        show_default=False,
    ),
]


def show_progress(quiet: bool) -> bool:
    """Progress bars only on a terminal, and never with ``--quiet``."""
    return not quiet and sys.stderr.isatty()
