"""Progress bars on standard error (rich), shared by extraction, searches and selection."""

from __future__ import annotations

from typing import Any

__all__ = ["start_progress"]


def start_progress(enabled: bool, *, total: int, description: str) -> tuple[Any, Any] | None:
    """Start a transient rich progress bar on stderr; ``None`` when disabled.

    Parameters
    ----------
    enabled : bool
        Whether to show a bar at all (callers pass ``--quiet``/terminal state here).
    total : int
        Number of steps.
    description : str
        Text before the bar.

    Returns
    -------
    (rich.progress.Progress, TaskID) or None
        Call ``bar.advance(task)`` per step and ``bar.stop()`` at the end.
    """
    if not enabled:
        return None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    bar.start()
    return bar, bar.add_task(description, total=total)
