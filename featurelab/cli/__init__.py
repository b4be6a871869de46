"""Command-line interface: ``featurelab <command> ...``.

A thin typer application. Each command parses its options, calls one public library function and
formats the result; errors raised by the library (:class:`featurelab.exceptions.FeaturelabError`) are
shown as one clear line without a traceback.
"""

from __future__ import annotations

import sys

import click
import typer

from ..exceptions import FeaturelabError

# Importing the command modules registers their commands on ``app`` (order = order in --help).
from . import _demo, _extract, _models, _neural, _select  # noqa: E402, F401, I001
from ._app import EXIT_INTERRUPTED, EXIT_USAGE, app

__all__ = ["app", "main"]

# typer >= 0.22 vendors click; older versions raise click's own exceptions. Catch both.
_USAGE_ERRORS: tuple[type[Exception], ...] = (click.exceptions.ClickException,) + (
    (typer.TyperException,) if hasattr(typer, "TyperException") else ()
)
_ABORTS: tuple[type[BaseException], ...] = (click.exceptions.Abort, typer.Abort)


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit code (see ``featurelab --help``)."""
    try:
        code = app(args=argv, prog_name="featurelab", standalone_mode=False)
    except _ABORTS:
        click.echo("Aborted.", err=True)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return EXIT_INTERRUPTED
    except _USAGE_ERRORS as error:
        show = getattr(error, "show", None)
        if callable(show):
            show()
        else:
            click.echo(f"Error: {error}", err=True)
        return int(getattr(error, "exit_code", EXIT_USAGE))
    except FeaturelabError as error:
        click.echo(f"Error: {error}", err=True)
        return EXIT_USAGE
    return code if isinstance(code, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
