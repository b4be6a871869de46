"""The CNN's run folder: training curves, the written files and the saved weights (``model.pt``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._torch import import_torch
from .config import CNNConfig
from .network import load_module

if TYPE_CHECKING:  # pragma: no cover
    from .evaluate import CNNRun

__all__ = ["plot_curves", "write_cnn_run", "load_cnn_model"]


def plot_curves(history: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Plot loss and accuracy per epoch, training vs validation, one thin line per fold.

    Parameters
    ----------
    history : pandas.DataFrame
        :attr:`~featurelab.nn.cnn.CNNRun.history`.
    path : path
        Destination image (``curves.png``).

    Returns
    -------
    Path
        ``path``.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from ...io import atomic_path

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for ax, metric, title in ((axes[0], "loss", "Loss"), (axes[1], "accuracy", "Accuracy")):
        for split, color in (("train", "tab:blue"), ("val", "tab:orange")):
            column = f"{split}_{metric}"
            label = "train" if split == "train" else "validation"
            per_fold = history.pivot_table(index="epoch", columns="fold", values=column)
            for i, fold in enumerate(per_fold.columns):
                ax.plot(
                    per_fold.index,
                    per_fold[fold],
                    color=color,
                    alpha=0.25,
                    lw=1,
                    label=None if i else f"{label} (per fold)",
                )
            mean = per_fold.mean(axis=1)
            if mean.notna().any():
                ax.plot(mean.index, mean, color=color, lw=2.2, label=f"{label} (mean)")
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", dpi=110)
    plt.close(fig)
    return path


def write_cnn_run(run: CNNRun, run_dir: str | os.PathLike) -> Path:
    """Write a run folder: the classical models' files plus curves and (optionally) the weights.

    Files: ``results.json``, ``report.md``, ``confusion_matrix.png``, ``curves.png``,
    ``history.csv``, ``predictions.csv`` (segments), ``track_predictions.csv``, ``config.json`` and,
    when the run kept a final model, ``model.pt`` (``torch.save`` of ``{"state_dict", "classes",
    "config", "featurelab_version"}``).

    Parameters
    ----------
    run : CNNRun
        From :func:`~featurelab.nn.cnn.evaluate_cnn`.
    run_dir : path
        Destination folder (created).

    Returns
    -------
    Path
        ``run_dir``.
    """
    import json

    from ...io import atomic_path, write_table
    from ...models.rundir import plot_confusion_matrix, write_report_md, write_results_json

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_results_json(run_dir, run.results)
    write_table(run.history, run_dir / "history.csv")
    write_table(run.predictions, run_dir / "predictions.csv")
    write_table(run.track_predictions, run_dir / "track_predictions.csv")
    with atomic_path(run_dir / "config.json") as tmp:
        tmp.write_text(json.dumps(run.config.to_dict(), indent=2) + "\n", encoding="utf-8")
    plot_curves(run.history, run_dir / "curves.png")
    plot_confusion_matrix(
        np.asarray(run.results["confusion_matrix"]),
        run.results["classes"],
        run_dir / "confusion_matrix.png",
    )
    write_report_md(run_dir, run.results)
    if run.model_state is not None:
        torch = import_torch()
        payload = {
            "state_dict": {k: torch.from_numpy(np.asarray(v)) for k, v in run.model_state.items()},
            "classes": run.results["classes"],
            "config": run.config.to_dict(),
            "featurelab_version": run.results["featurelab_version"],
        }
        with atomic_path(run_dir / "model.pt") as tmp:
            torch.save(payload, tmp)
    return run_dir


def load_cnn_model(path: str | os.PathLike) -> tuple[Any, list[str], CNNConfig]:
    """Load a ``model.pt`` written by :func:`write_cnn_run`.

    Parameters
    ----------
    path : path
        The ``model.pt`` file.

    Returns
    -------
    module : torch.nn.Module
        The network in evaluation mode (CPU).
    classes : list of str
        Class labels, in output order.
    config : CNNConfig
        Its settings (use ``config.mel_params()`` to compute inputs).
    """
    torch = import_torch()
    payload = torch.load(Path(path), map_location="cpu", weights_only=True)
    config = CNNConfig(**{**payload["config"], "channels": tuple(payload["config"]["channels"])})
    state = {k: v.numpy() for k, v in payload["state_dict"].items()}
    return load_module(state, len(payload["classes"]), config), list(payload["classes"]), config
