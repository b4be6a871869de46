"""Leaderboards of run directories (``featurelab compare``).

Works on every run directory whose ``results.json`` follows ``MODELS_CONTRACT.md`` -- classical
grid searches and neural runs alike.

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
    "n_samples",
)


def find_runs(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Find the run directories among ``paths``.

    A folder without ``results.json`` (such as ``runs/``) is replaced by its sub-folders that
    have one.

    Raises
    ------
    FeaturelabError
        A path does not exist or holds no run directory.
    """
    runs: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_file() and path.name == "results.json":
            path = path.parent
        if not path.is_dir():
            raise FeaturelabError(f"Run directory {str(path)!r} does not exist.")
        if (path / "results.json").is_file():
            runs.append(path)
            continue
        children = sorted(p for p in path.iterdir() if (p / "results.json").is_file())
        if not children:
            raise FeaturelabError(
                f"{str(path)!r} is not a run directory and holds none (no results.json). Create "
                "runs with `featurelab gridsearch`."
            )
        runs.extend(children)
    if not runs:
        raise FeaturelabError("Give at least one run directory.")
    return runs


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
        ``track_accuracy_std``, ``fit_time_mean``, ``n_samples`` (missing values are NaN).
    """
    import pandas as pd

    from .models.rundir import read_results_json

    rows = []
    for run in find_runs(paths):
        results = read_results_json(run)
        row: dict[str, Any] = {"run": str(run)}
        for key in _COLUMNS:
            row[key] = results.get(key)
        if row["accuracy_mean"] is None:
            raise FeaturelabError(f"{str(run)!r}: results.json has no accuracy_mean.")
        rows.append(row)
    frame = pd.DataFrame(rows, columns=["run", *_COLUMNS])
    numeric = [c for c in _COLUMNS if c.endswith(("_mean", "_std")) or c == "n_samples"]
    frame[numeric] = frame[numeric].apply(pd.to_numeric, errors="coerce")
    return frame.sort_values("accuracy_mean", ascending=False, kind="stable").reset_index(drop=True)


def _pm(mean: float, std: float) -> str:
    if mean != mean:  # NaN
        return "-"
    return f"{mean:.4f} ± {std:.4f}" if std == std else f"{mean:.4f}"


def format_leaderboard(frame: Any) -> str:
    """Format the leaderboard as an aligned plain-text table.

    Columns: rank, model, protocol, accuracy mean ± std, macro F1, track accuracy, fit time per
    fold, run.
    """
    header = ["#", "model", "protocol", "accuracy", "macro F1", "track acc.", "fit s/fold", "run"]
    body = []
    for rank, row in enumerate(frame.itertuples(index=False), start=1):
        body.append(
            [
                str(rank),
                str(row.model),
                str(row.protocol),
                _pm(row.accuracy_mean, row.accuracy_std),
                "-" if row.f1_macro_mean != row.f1_macro_mean else f"{row.f1_macro_mean:.4f}",
                _pm(row.track_accuracy_mean, row.track_accuracy_std),
                "-" if row.fit_time_mean != row.fit_time_mean else f"{row.fit_time_mean:.1f}",
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
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from .io import atomic_path

    frame = frame.iloc[::-1]  # best on top
    labels = [f"{m}  [{Path(r).name}]" for m, r in zip(frame["model"], frame["run"], strict=True)]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(frame) + 1.5))
    try:
        std = frame["accuracy_std"].fillna(0.0).to_numpy()
        ax.barh(labels, frame["accuracy_mean"], xerr=std, color="tab:blue", alpha=0.8, capsize=3)
        for i, (mean, s) in enumerate(zip(frame["accuracy_mean"], std, strict=True)):
            ax.text(mean + s + 0.005, i, f"{mean:.3f}", va="center", fontsize=8)
        ax.set_xlim(0, min(1.0, float((frame["accuracy_mean"] + std).max()) + 0.08))
        ax.set_xlabel("accuracy (mean ± std over folds)")
        ax.set_title(title or "featurelab leaderboard")
        fig.tight_layout()
        path = Path(path)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=120, format=path.suffix.lstrip(".") or "png")
    finally:
        plt.close(fig)
    return path
