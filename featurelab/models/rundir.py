"""Run directories: ``results.json``, ``cv_results.csv``, ``report.md``, ``confusion_matrix.png``.

Every run directory, classical or neural, has a ``results.json`` with the keys listed in
``MODELS_CONTRACT.md``, so that ``featurelab compare`` and reports work on all of them. The helpers
here are public so that other commands can write the same files.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..io import atomic_path

__all__ = [
    "default_run_dir",
    "write_results_json",
    "read_results_json",
    "plot_confusion_matrix",
    "write_report_md",
]


def default_run_dir(model: str, root: str | os.PathLike = "runs") -> Path:
    """``runs/<YYYYmmdd-HHMMSS>-<model>``, with a numeric suffix if that exists already."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{stamp}-{model}"
    candidate, i = base, 1
    while candidate.exists():
        i += 1
        candidate = base.with_name(f"{base.name}-{i}")
    return candidate


def _clean(value: Any) -> Any:
    """JSON-safe copy: numpy types -> Python, NaN/inf -> None."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def write_results_json(run_dir: str | os.PathLike, results: dict[str, Any]) -> Path:
    """Write ``results.json`` (atomically; numpy values converted, NaN -> null).

    Returns
    -------
    Path
        The written file.
    """
    path = Path(run_dir) / "results.json"
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(_clean(results), indent=2, default=str) + "\n", encoding="utf-8")
    return path


def read_results_json(run_dir: str | os.PathLike) -> dict[str, Any]:
    """Read a run directory's ``results.json``.

    Raises
    ------
    FeaturelabError
        The folder has no readable ``results.json``.
    """
    from ..exceptions import FeaturelabError

    path = Path(run_dir) / "results.json"
    if not path.is_file():
        raise FeaturelabError(
            f"{str(run_dir)!r} is not a run directory (no results.json). Create one with "
            "`featurelab gridsearch`."
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise FeaturelabError(f"{str(path)!r} is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise FeaturelabError(f"{str(path)!r} does not hold a JSON object.")
    return data


def plot_confusion_matrix(
    cm: Any,
    labels: Sequence[str],
    path: str | os.PathLike,
    *,
    title: str | None = None,
    normalize: bool = True,
) -> Path:
    """Save a confusion matrix as a PNG heat map.

    Parameters
    ----------
    cm : array-like [shape=(n_classes, n_classes)]
        Counts, rows = true labels.
    labels : sequence of str
        Class names.
    path : path
        Output ``.png``.
    title : str or None
        Figure title.
    normalize : bool
        Colour by row-normalized recall, annotate with counts.

    Returns
    -------
    Path
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    cm = np.asarray(cm, dtype=float)
    rows = cm.sum(axis=1, keepdims=True)
    shown = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0) if normalize else cm
    n = len(labels)
    size = max(4.0, 0.55 * n + 2.0)
    fig, ax = plt.subplots(figsize=(size, size * 0.9))
    try:
        image = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
        fig.colorbar(
            image, ax=ax, fraction=0.046, pad=0.04, label="recall (row-normalized)" if normalize else "count"
        )
        ax.set(xticks=range(n), yticks=range(n), xlabel="predicted", ylabel="true")
        ax.set_xticklabels(labels, rotation=45, ha="right")
        ax.set_yticklabels(labels)
        for i in range(n):
            for j in range(n):
                if cm[i, j]:
                    ax.text(
                        j,
                        i,
                        f"{int(cm[i, j])}",
                        ha="center",
                        va="center",
                        fontsize=8,
                        color="white" if shown[i, j] > 0.5 * (shown.max() or 1) else "black",
                    )
        if title:
            ax.set_title(title)
        fig.tight_layout()
        path = Path(path)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=120, format="png")
    finally:
        plt.close(fig)
    return path


def _pm(results: dict[str, Any], key: str) -> str:
    mean, std = results.get(f"{key}_mean"), results.get(f"{key}_std")
    if mean is None:
        return "-"
    return f"{mean:.4f} ± {std:.4f}" if std is not None else f"{mean:.4f}"


def write_report_md(run_dir: str | os.PathLike, results: dict[str, Any]) -> Path:
    """Write a human-readable ``report.md`` from a ``results.json`` dictionary.

    Returns
    -------
    Path
    """
    lines = [
        f"# {results.get('model')} -- {results.get('protocol')}",
        "",
        f"- table: `{results.get('table')}`",
        f"- rows: {results.get('n_samples')}, tracks: {results.get('n_tracks', '-')}, "
        f"features: {results.get('n_features')}, classes: {results.get('n_classes')}",
    ]
    search = results.get("search") or {}
    if search:
        lines.append(
            f"- search: {search.get('search')} over {search.get('grid_size') or 'sampled'} "
            f"candidates, inner {search.get('inner_validation', search.get('inner_cv'))}, "
            f"scoring {search.get('scoring')}, class_weight {search.get('class_weight')}, "
            f"log_var {search.get('log_var')}"
        )
    lines += [
        f"- seed: {results.get('seed')}, featurelab {results.get('featurelab_version')}, "
        f"created {results.get('created')}",
    ]
    if results.get("command"):
        lines.append(f"- command: `{results['command']}`")
    lines += [
        "",
        "## Scores (mean ± std over outer folds and repeats)",
        "",
        "| metric | value |",
        "| --- | --- |",
    ]
    for key in (
        "accuracy",
        "balanced_accuracy",
        "f1_macro",
        "track_accuracy",
        "track_balanced_accuracy",
        "track_f1_macro",
    ):
        if results.get(f"{key}_mean") is not None:
            lines.append(f"| {key.replace('_', ' ')} | {_pm(results, key)} |")
    fit = results.get("fit_time_mean")
    if fit is not None:
        lines.append(f"| fit time per outer fold (s) | {fit:.2f} |")
    per_track = results.get("predict_time_per_track")
    if per_track is not None:
        lines.append(f"| predict time per track (ms) | {1000 * per_track:.3f} |")

    folds = results.get("fold_scores") or []
    if folds:
        track = "track_accuracy" in folds[0]
        lines += [
            "",
            "## Outer folds",
            "",
            "| repeat | fold | accuracy | balanced acc. | macro F1 |"
            + (" track acc. |" if track else "")
            + " fit (s) | best params |",
            "| --- | --- | --- | --- | --- |" + (" --- |" if track else "") + " --- | --- |",
        ]
        best = results.get("best_params") or [{}] * len(folds)
        for fold, params in zip(folds, best, strict=False):
            lines.append(
                f"| {fold['repeat']} | {fold['fold']} | {fold['accuracy']:.4f} | "
                f"{fold['balanced_accuracy']:.4f} | {fold['f1_macro']:.4f} |"
                + (f" {fold['track_accuracy']:.4f} |" if track else "")
                + f" {fold.get('fit_time', float('nan')):.1f} | `{json.dumps(params)}` |"
            )
    per_class = results.get("per_class") or {}
    if per_class:
        lines += [
            "",
            "## Per class (pooled outer test sets)",
            "",
            "| class | precision | recall | F1 | support |",
            "| --- | --- | --- | --- | --- |",
        ]
        for label, row in per_class.items():
            lines.append(
                f"| {label} | {row['precision']:.3f} | {row['recall']:.3f} | "
                f"{row['f1']:.3f} | {row['support']} |"
            )
    lines += ["", "![confusion matrix](confusion_matrix.png)", ""]
    final = results.get("final_model")
    if final:
        lines += [
            "## Saved model",
            "",
            f"Refitted on all {results.get('n_samples')} rows with `{json.dumps(final.get('best_params'))}`:",
            f"`{', '.join(final.get('files', []))}`. Load the `.skops` file with "
            "`featurelab.models.load_model(run_dir)`; joblib/pickle files can run arbitrary code "
            "when loaded -- load them only from trusted sources (`trust=True`).",
            "",
        ]
    path = Path(run_dir) / "report.md"
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines), encoding="utf-8")
    return path
