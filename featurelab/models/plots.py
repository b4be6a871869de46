"""Figures of a run: the confusion matrix (scikit-learn's :class:`~sklearn.metrics.ConfusionMatrixDisplay`).

Figures are made as :class:`matplotlib.figure.Figure` objects, never through pyplot's figure
manager, so writing a run or a report leaves a notebook's pyplot state alone.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["confusion_figure", "plot_confusion_matrix", "figure_png"]


def confusion_figure(
    cm: Any, labels: Sequence[Any] | None = None, *, title: str | None = None, normalize: bool = True
) -> Figure:
    """Draw a confusion matrix: colours by row-normalized recall, each cell annotated with its count.

    Parameters
    ----------
    cm : array-like [shape=(n_classes, n_classes)]
        Counts, rows = true labels.
    labels : sequence or None
        Class names (default ``0 .. n_classes - 1``).
    title : str or None
        Figure title.
    normalize : bool
        Colour by the row-normalized matrix (recall); ``False``: by the counts.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        ``cm`` is not a non-empty square matrix of finite numbers, or ``labels`` has another length.
    """
    from matplotlib.figure import Figure
    from sklearn.metrics import ConfusionMatrixDisplay

    counts = np.asarray(cm, dtype=float)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.size == 0:
        raise ValueError(f"expected a square matrix, got shape {counts.shape}")
    if not np.all(np.isfinite(counts)):
        raise ValueError("it contains non-finite values")
    n = counts.shape[0]
    labels = [str(label) for label in labels] if labels is not None else [str(i) for i in range(n)]
    if len(labels) != n:
        raise ValueError(f"{len(labels)} labels for a {n} x {n} matrix")
    rows = counts.sum(axis=1, keepdims=True)
    shown = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0) if normalize else counts
    size = max(4.0, 0.55 * n + 2.0)
    fig = Figure(figsize=(size, size * 0.9))
    ax = fig.add_subplot()
    display = ConfusionMatrixDisplay(shown, display_labels=labels).plot(
        ax=ax,
        cmap="Blues",
        xticks_rotation=45,
        colorbar=True,
        im_kw={"vmin": 0.0, "vmax": 1.0} if normalize else None,
        text_kw={"fontsize": 8},
    )
    for (i, j), text in np.ndenumerate(display.text_):
        count = counts[i, j]
        text.set_text(f"{int(count)}" if count.is_integer() else f"{count:g}")
        text.set_visible(bool(counts[i, j]))
    for tick in ax.get_xticklabels():
        tick.set_horizontalalignment("right")
    display.im_.colorbar.set_label("recall (row-normalized)" if normalize else "count")
    ax.set(xlabel="predicted", ylabel="true")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def figure_png(fig: Figure, *, dpi: int = 120) -> bytes:
    """Return a figure as PNG bytes."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def plot_confusion_matrix(
    cm: Any,
    labels: Sequence[str],
    path: str | os.PathLike,
    *,
    title: str | None = None,
    normalize: bool = True,
) -> Path:
    """Save :func:`confusion_figure` (same parameters) as a PNG file at ``path`` (atomically).

    Returns
    -------
    Path
    """
    from ..io import atomic_path

    path = Path(path)
    fig = confusion_figure(cm, labels, title=title, normalize=normalize)
    with atomic_path(path) as tmp:
        tmp.write_bytes(figure_png(fig))
    return path
