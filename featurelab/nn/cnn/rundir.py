"""The CNN's run directory: :func:`train_cnn` evaluates and writes it through the one run writer.

The run directory is the contract of every run (:mod:`featurelab.models.rundir`): written
atomically by :class:`~featurelab.models.rundir.RunWriter`, with ``results.json``, ``report.md``
and the confusion matrices of every evaluation, the training curves (``curves.png``,
``history.csv``), the predictions, ``config.json`` and, with ``save_model``, the model files of
:func:`featurelab.models.save_model` (``model.skops``, ``model.joblib``, ``model.json``), which
``featurelab predict`` reads like any other model.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from ...models.rundir import RunWriter
    from .evaluate import CNNRun

__all__ = ["plot_curves", "train_cnn", "write_cnn_run", "model_metadata"]


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


def model_metadata(run: CNNRun) -> dict[str, Any]:
    """Return the metadata saved with the final model: classes, inputs, training summary.

    ``extraction`` (:class:`~featurelab.settings.ExtractionSettings`: ``sr``, ``segment``, ...) and
    ``inputs`` (:meth:`featurelab.arrays.LogMel.to_dict`) say how ``featurelab predict`` recomputes
    the model's inputs from audio; ``feature_names`` is empty (the model takes arrays, not
    columns), and so are the feature sets of ``extraction`` (the product replaces them).
    """
    results = run.results
    assert run.model is not None
    extraction = run.config.extraction.to_dict()
    for key in ("features", "backend"):  # they choose table columns: not the inputs of a CNN
        extraction.pop(key)
    return {
        "model": "cnn",
        "feature_names": [],
        "classes": [str(c) for c in run.model.classes_],
        "extraction": extraction,
        "inputs": run.config.logmel.to_dict(),
        "is_segment_table": True,
        "config": run.config.to_dict(),
        "training": {
            "table": results.table,
            "n_samples": results.n_samples,
            "n_tracks": results.n_tracks,
            "protocol": results.protocol,
            "accuracy_mean": results.get("accuracy_mean"),
            "accuracy_std": results.get("accuracy_std"),
            "track_accuracy_mean": results.get("track_accuracy_mean"),
            "seed": results.seed,
        },
        "created": results.created,
    }


def write_cnn_run(run: CNNRun, writer: RunWriter, *, formats: tuple[str, ...] = ("skops", "joblib")) -> None:
    """Write the files of a CNN run into an open run writer.

    Files: ``results.json``, ``report.md``, ``confusion_matrix.png``,
    ``track_confusion_matrix.png``, ``curves.png``, ``history.csv``, ``predictions.csv``
    (segments), ``track_predictions.csv``, ``config.json`` and, when the run kept a final model,
    ``model.skops`` / ``model.joblib`` / ``model.json`` (:func:`featurelab.models.save_model`).

    Parameters
    ----------
    run : CNNRun
        From :func:`~featurelab.nn.cnn.evaluate_cnn`.
    writer : RunWriter
        The run directory being written (:meth:`RunWriter.start`).
    formats : tuple of {"skops", "joblib"}
        Model file formats.
    """
    from ...models.persist import save_model

    results = run.results
    writer.write_csv("history.csv", run.history)
    writer.write_csv("predictions.csv", run.predictions)
    writer.write_csv("track_predictions.csv", run.track_predictions)
    writer.write_json("config.json", run.config.to_dict())
    with writer.writing() as folder:
        plot_curves(run.history, folder / "curves.png")
    title = f"cnn: {results.protocol}"
    writer.plot_confusion_matrix(
        "confusion_matrix.png", results.confusion_matrix, results.classes, title=title
    )
    writer.plot_confusion_matrix(
        "track_confusion_matrix.png",
        results.track_confusion_matrix,
        results.classes,
        title=f"{title} (tracks)",
    )
    if run.model is not None:
        with writer.writing() as folder:
            written = save_model(run.model, folder, metadata=model_metadata(run), formats=formats)
        files = sorted(path.name for path in written.values())
        results.update(final_model={**(results.get("final_model") or {}), "files": files})
    writer.write_report_md(results)
    writer.write_results(results)


def train_cnn(
    source: str | os.PathLike,
    *,
    out: str | os.PathLike | None = None,
    save_model: bool = False,
    formats: tuple[str, ...] = ("skops", "joblib"),
    **options: Any,
) -> CNNRun:
    """Evaluate the CNN on an audio corpus and write a run directory (``featurelab train-cnn``).

    The destination is checked before anything is computed, and the run directory appears only
    when every file is written (a failed or interrupted run leaves none behind).

    Parameters
    ----------
    source : path
        A folder in the GTZAN layout ``<root>/<label>/<file>`` or a manifest CSV.
    out : path or None
        Run directory (default ``runs/<timestamp>-cnn``); a previous run there is replaced.
    save_model : bool
        Also train (or keep) a final model and save it with :func:`featurelab.models.save_model`.
    formats : tuple of {"skops", "joblib"}
        Model file formats.
    **options
        ``cv``, ``split_dir``, ``config``, ``cache``, ``n_jobs``, ``progress``, ``augmenter``,
        ``on_augment``, ``command``: see :func:`~featurelab.nn.cnn.evaluate_cnn`.

    Returns
    -------
    CNNRun
        With :attr:`~CNNRun.run_dir` set.

    Examples
    --------
    >>> from featurelab.nn.cnn import load_cnn_config, train_cnn  # doctest: +SKIP
    >>> config, _ = load_cnn_config(epochs=8)  # doctest: +SKIP
    >>> run = train_cnn("genres", out="runs/cnn", config=config, save_model=True)  # doctest: +SKIP
    >>> run.results.get("track_accuracy_mean")  # doctest: +SKIP
    0.71...
    """
    from ...models.rundir import RunWriter
    from .evaluate import evaluate_cnn

    with RunWriter.start(out, name="cnn") as writer:
        run = evaluate_cnn(source, save_model=save_model, **options)
        write_cnn_run(run, writer, formats=formats)
    run.run_dir = writer.target
    return run
