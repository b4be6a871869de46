"""Leaderboards of run directories (``featurelab compare``).

Works on every run directory with a ``results.json`` (the contract of
:mod:`featurelab.models.rundir`) -- classical grid searches and neural runs alike.

Examples
--------
>>> import json, tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> for name, acc in [("svm", 0.75), ("lgbm", 0.77)]:
...     (root / name).mkdir()
...     _ = (root / name / "results.json").write_text(json.dumps(
...         {"model": name, "protocol": "5-fold", "accuracy_mean": acc, "accuracy_std": 0.02}))
>>> leaderboard([root / "svm", root / "lgbm"])["model"].tolist()
['lgbm', 'svm']
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ._format import finite, format_mean_std, format_number
from .exceptions import FeaturelabError

__all__ = ["find_runs", "leaderboard", "format_leaderboard", "plot_leaderboard"]

_COLUMNS = (
    "model",
    "protocol",
    "accuracy_mean",
    "accuracy_std",
    "balanced_accuracy_mean",
    "f1_macro_mean",
    "track_accuracy_mean",
    "track_accuracy_std",
    "fit_time_mean",
    "predict_time_per_track",
    "n_samples",
)


def find_runs(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Find the run directories with a ``results.json`` among ``paths``.

    A folder without ``results.json`` (such as ``runs/``) is replaced by its sub-folders that
    have one (see :func:`featurelab.models.rundir.locate_runs`).

    Raises
    ------
    FeaturelabError
        A path does not exist or holds no run directory.
    """
    from .models.rundir import find_runs as _find

    return _find(paths, markers=("results.json",))


def leaderboard(paths: Iterable[str | os.PathLike]) -> Any:
    """Tabulate runs, best accuracy first.

    Parameters
    ----------
    paths : iterable of path
        Run directories (or folders of them).

    Returns
    -------
    pandas.DataFrame
        Columns ``run``, ``model``, ``protocol``, ``accuracy_mean``, ``accuracy_std``,
        ``balanced_accuracy_mean``, ``f1_macro_mean``, ``track_accuracy_mean``,
        ``track_accuracy_std``, ``fit_time_mean`` (s per outer fold), ``predict_time_per_track``
        (s), ``n_samples`` (missing or non-finite values are NaN).

    Raises
    ------
    FeaturelabError
        A run has no readable ``results.json`` or no finite ``accuracy_mean``.
    """
    import pandas as pd

    from .models.rundir import read_results

    rows = []
    for run in find_runs(paths):
        results = read_results(run)
        row: dict[str, Any] = {"run": str(run)}
        for key in _COLUMNS:
            value = results.get(key)
            numeric = key not in ("model", "protocol")
            row[key] = None if numeric and finite(value) is None else value
        if row["accuracy_mean"] is None:
            raise FeaturelabError(f"{str(run)!r}: results.json has no numeric accuracy_mean.")
        rows.append(row)
    frame = pd.DataFrame(rows, columns=["run", *_COLUMNS])
    numeric = [c for c in _COLUMNS if c not in ("model", "protocol")]
    frame[numeric] = frame[numeric].apply(pd.to_numeric, errors="coerce")
    return frame.sort_values("accuracy_mean", ascending=False, kind="stable").reset_index(drop=True)


def format_leaderboard(frame: Any) -> str:
    """Format the leaderboard as an aligned plain-text table.

    Columns: rank, model, protocol, accuracy mean ± std, macro F1, track accuracy, fit time per
    fold (s), predict time per track (ms), run.
    """
    header = [
        "#",
        "model",
        "protocol",
        "accuracy",
        "macro F1",
        "track acc.",
        "fit s/fold",
        "predict ms/track",
        "run",
    ]
    body = []
    for rank, row in enumerate(frame.itertuples(index=False), start=1):
        body.append(
            [
                str(rank),
                str(row.model),
                str(row.protocol),
                format_mean_std(row.accuracy_mean, row.accuracy_std),
                format_number(row.f1_macro_mean),
                format_mean_std(row.track_accuracy_mean, row.track_accuracy_std),
                format_number(row.fit_time_mean, 1),
                format_number(1000 * row.predict_time_per_track, 3),
                Path(row.run).name,
            ]
        )
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in [header, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def plot_leaderboard(frame: Any, path: str | os.PathLike, *, title: str | None = None) -> Path:
    """Save a horizontal bar chart of accuracy (mean ± std) per run.

    Parameters
    ----------
    frame : pandas.DataFrame
        From :func:`leaderboard`.
    path : path
        Output image (``.png``, ``.svg``, ``.pdf``).
    title : str or None
        Chart title.

    Returns
    -------
    Path
    """
    from matplotlib.figure import Figure

    from .io import atomic_path

    path = Path(path)
    frame = frame.iloc[::-1]  # best on top
    labels = [f"{m}  [{Path(r).name}]" for m, r in zip(frame["model"], frame["run"], strict=True)]
    fig = Figure(figsize=(8, 0.45 * len(frame) + 1.5))
    ax = fig.add_subplot()
    std = frame["accuracy_std"].fillna(0.0).to_numpy()
    ax.barh(labels, frame["accuracy_mean"], xerr=std, color="tab:blue", alpha=0.8, capsize=3)
    for i, (mean, s) in enumerate(zip(frame["accuracy_mean"], std, strict=True)):
        ax.text(mean + s + 0.005, i, f"{mean:.3f}", va="center", fontsize=8)
    ax.set_xlim(0, min(1.0, float((frame["accuracy_mean"] + std).max()) + 0.08))
    ax.set_xlabel("accuracy (mean ± std over folds)")
    ax.set_title(title or "featurelab leaderboard")
    fig.tight_layout()
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=120, format=path.suffix.lstrip(".") or "png")
    except OSError as error:
        raise FeaturelabError(f"Cannot write the chart {str(path)!r}: {error.strerror or error}.") from None
    return path
