"""Progress display shared by every long-running function: extraction, searches, selection, training.

Every public function that can run for minutes takes ``progress``:

- ``None`` (the default): a bar when someone is watching -- standard error is a terminal, or the code
  runs in a Jupyter kernel -- and nothing otherwise (pipes, log files, test runs);
- ``True`` / ``False``: always / never show a bar;
- a callable ``progress(done, total)``: called after each step instead of drawing a bar.

The command line passes ``False`` for ``--quiet`` and ``None`` otherwise, so the API and the CLI behave
the same. Bars are drawn by :mod:`rich` on standard error (imported only when a bar is shown).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

__all__ = ["ProgressOption", "ProgressBar", "progress_enabled"]

#: The type of every ``progress`` argument.
ProgressOption = bool | None | Callable[[int, int], Any]


def _in_notebook() -> bool:
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # noqa: BLE001 - an odd IPython: no bar rather than a crash
        return False
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def progress_enabled(progress: ProgressOption) -> bool:
    """Whether ``progress`` asks for a drawn bar (``None``: a terminal or a notebook is watching)."""
    if progress is None:
        stream = sys.stderr
        return bool(getattr(stream, "isatty", lambda: False)()) or _in_notebook()
    return progress is True


class ProgressBar:
    """A progress display: a rich bar on standard error, a callback, or nothing.

    Use it as a context manager; one object can show several bars one after the other
    (:meth:`new_bar`, e.g. one per fold).

    Parameters
    ----------
    progress : bool, None or callable
        See the module docstring.
    total : int or None
        Number of steps; ``None`` for work of unknown length (an animated bar).
    description : str
        Text before the bar.
    completed : int
        Steps already done (e.g. served from a cache).
    unit : str or None
        Show the rate in ``unit``/s (``"files"``).
    eta : bool
        Show the estimated time remaining.
    transient : bool
        Remove the bar when done.

    Examples
    --------
    >>> with ProgressBar(False, total=3, description="work") as bar:
    ...     for _ in range(3):
    ...         bar.advance()
    >>> bar.done
    3
    """

    def __init__(
        self,
        progress: ProgressOption,
        *,
        total: int | None,
        description: str,
        completed: int = 0,
        unit: str | None = None,
        eta: bool = False,
        transient: bool = True,
    ) -> None:
        self.total = total
        self.done = completed
        self._callback = progress if callable(progress) and not isinstance(progress, bool) else None
        self._rich: Any = None
        self._task: Any = None
        if self._callback is None and progress_enabled(progress):
            self._rich = _make_rich(unit=unit, eta=eta, transient=transient)
            self._rich.start()
            self._task = self._rich.add_task(description, total=total, completed=completed, text="")

    @property
    def shown(self) -> bool:
        """Whether a bar is drawn."""
        return self._rich is not None

    def advance(self, steps: int = 1) -> None:
        """Record ``steps`` more finished steps."""
        self.done += steps
        if self._callback is not None:
            self._callback(self.done, self.total if self.total is not None else 0)
        if self._rich is not None:
            self._rich.advance(self._task, steps)

    def update(
        self, *, completed: int | None = None, description: str | None = None, text: str | None = None
    ) -> None:
        """Set the position, the description or the text shown after the bar."""
        if completed is not None:
            self.done = completed
            if self._callback is not None:
                self._callback(self.done, self.total if self.total is not None else 0)
        if self._rich is not None:
            fields: dict[str, Any] = {}
            if text is not None:
                fields["text"] = text
            self._rich.update(self._task, completed=completed, description=description, **fields)

    def new_bar(self, description: str, total: int | None) -> None:
        """Finish the current bar (it stays visible) and start another one below it."""
        self.total, self.done = total, 0
        if self._rich is not None:
            self._task = self._rich.add_task(description, total=total, text="")

    def close(self) -> None:
        """Remove the bar (when transient) and stop drawing."""
        if self._rich is not None:
            self._rich.stop()
            self._rich = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _make_rich(*, unit: str | None, eta: bool, transient: bool) -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class _Rate(ProgressColumn):
        def render(self, task):  # noqa: ANN001, ANN202
            return Text(f"{task.speed:.2f} {unit}/s" if task.speed else "", style="cyan")

    columns: list[Any] = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn()]
    if unit:
        columns.append(_Rate())
    columns.append(TimeElapsedColumn())
    if eta:
        columns += [TextColumn("ETA"), TimeRemainingColumn()]
    columns.append(TextColumn("{task.fields[text]}"))
    return Progress(*columns, console=Console(stderr=True), transient=transient)
