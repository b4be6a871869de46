"""Command-line interface: ``featurelab <command> ...``.

A thin typer application. Each command parses its options, calls one public library function and
formats the result; errors raised by the library (:class:`featurelab.exceptions.FeaturelabError`) are
shown as one clear line without a traceback.
"""

from __future__ import annotations

import sys

import click

from ..exceptions import FeaturelabError
from ._app import EXIT_INTERRUPTED, EXIT_USAGE, app

# Importing the command modules registers their commands on ``app`` (order = order in --help).
from . import _extract, _models, _select, _neural, _demo  # noqa: E402, F401, I001

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit code (see ``featurelab --help``)."""
    try:
        code = app(args=argv, prog_name="featurelab", standalone_mode=False)
    except click.exceptions.ClickException as error:
        error.show()
        return error.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return EXIT_INTERRUPTED
    except FeaturelabError as error:
        click.echo(f"Error: {error}", err=True)
        return EXIT_USAGE
    return code if isinstance(code, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
