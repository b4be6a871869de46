"""Command-line interface: ``featurelab <command> ...``.

A thin typer application. Each command parses its options, calls one public library function and
formats the result; errors raised by the library (:class:`featurelab.exceptions.FeaturelabError`) are
shown as one clear line without a traceback.
"""

from __future__ import annotations

import sys

import typer

from ..exceptions import FeaturelabError

# Importing the command modules registers their commands on ``app`` (order = order in --help).
from . import _demo, _extract, _models, _neural, _select  # noqa: E402, F401, I001
from ._app import EXIT_INTERRUPTED, EXIT_USAGE, app

__all__ = ["app", "main"]


def _click_exceptions() -> tuple[tuple[type[Exception], ...], tuple[type[BaseException], ...]]:
    """Usage-error and abort classes: typer's own (recent typer vendors click) and click's if any."""
    usage: list[type[Exception]] = []
    aborts: list[type[BaseException]] = [typer.Abort]
    if hasattr(typer, "TyperException"):
        usage.append(typer.TyperException)
    try:  # older typer raises the exceptions of an installed click
        import click
    except ImportError:
        pass
    else:
        usage.append(click.exceptions.ClickException)
        aborts.append(click.exceptions.Abort)
    return tuple(usage), tuple(aborts)


_USAGE_ERRORS, _ABORTS = _click_exceptions()


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit code (see ``featurelab --help``)."""
    try:
        code = app(args=argv, prog_name="featurelab", standalone_mode=False)
    except _ABORTS:
        typer.echo("Aborted.", err=True)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        typer.echo("Interrupted.", err=True)
        return EXIT_INTERRUPTED
    except _USAGE_ERRORS as error:
        show = getattr(error, "show", None)
        if callable(show):
            show()
        else:
            typer.echo(f"Error: {error}", err=True)
        return int(getattr(error, "exit_code", EXIT_USAGE))
    except FeaturelabError as error:
        typer.echo(f"Error: {error}", err=True)
        return EXIT_USAGE
    return code if isinstance(code, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
