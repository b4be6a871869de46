"""``report.md``: the human-readable summary of a run directory, built from its results.

Every value taken from the results is escaped: a label such as ``<script>`` is written as
``&lt;script&gt;``, so the file is safe to render as Markdown (which passes raw HTML through).
"""

from __future__ import annotations

import html
import json
from typing import Any

from .._format import format_mean_std, format_number
from .results import RunResults

__all__ = ["report_markdown"]

_SCORES = (
    "accuracy",
    "balanced_accuracy",
    "f1_macro",
    "track_accuracy",
    "track_balanced_accuracy",
    "track_f1_macro",
)


def _md(value: Any) -> str:
    """Escape text for Markdown: no raw HTML, no table-breaking ``|``, no code-span-breaking backtick."""
    return html.escape(str(value), quote=False).replace("|", "\\|").replace("`", "'").replace("\n", " ")


def _code(value: Any) -> str:
    return f"`{_md(value)}`"


def report_markdown(results: RunResults | dict[str, Any]) -> str:
    """Return the ``report.md`` text of a run.

    Parameters
    ----------
    results : RunResults or dict
        The run's results.

    Returns
    -------
    str
    """
    res = results if isinstance(results, RunResults) else RunResults.from_dict(results)
    lines = [
        f"# {_md(res.model)} -- {_md(res.protocol)}",
        "",
        f"- table: {_code(res.table)}",
        f"- rows: {_md(res.n_samples)}, tracks: {_md(res.get('n_tracks', '-'))}, "
        f"features: {_md(res.n_features)}, classes: {_md(res.n_classes)}",
    ]
    search = res.search if isinstance(res.search, dict) else {}
    if search:
        lines.append(
            f"- search: {_md(search.get('search'))} over {_md(search.get('grid_size') or 'sampled')} "
            f"candidates, inner {_md(search.get('inner_validation', search.get('inner_cv')))}, "
            f"scoring {_md(search.get('scoring'))}, class_weight {_md(search.get('class_weight'))}, "
            f"log_var {_md(search.get('log_var'))}"
        )
    lines += _split(res)
    lines.append(
        f"- seed: {_md(res.seed)}, featurelab {_md(res.featurelab_version)}, created {_md(res.created)}"
    )
    if res.command:
        lines.append(f"- command: {_code(res.command)}")
    lines += [
        "",
        "## Scores (mean ± std over outer folds and repeats)",
        "",
        "| metric | value |",
        "| --- | --- |",
    ]
    for key in _SCORES:
        mean, std = res.score(key)
        if mean is not None:
            lines.append(f"| {key.replace('_', ' ')} | {format_mean_std(mean, std)} |")
    if res.score("fit_time")[0] is not None:
        lines.append(f"| fit time per outer fold (s) | {format_number(res.fit_time_mean, 2)} |")
    per_track = res.get("predict_time_per_track")
    if isinstance(per_track, (int, float)) and format_number(per_track) != "-":
        lines.append(f"| predict time per track (ms) | {format_number(1000 * per_track, 3)} |")
    lines += _folds(res) + _per_class(res)
    lines += ["", "![confusion matrix](confusion_matrix.png)", ""]
    final = res.get("final_model")
    if isinstance(final, dict):
        files = final.get("files") if isinstance(final.get("files"), list) else []
        lines += [
            "## Saved model",
            "",
            f"{_fitted_on(res, final)} with {_code(json.dumps(final.get('best_params')))}:",
            f"{_code(', '.join(map(str, files)))}. Load the `.skops` file with "
            "`featurelab.models.load_model(run_dir)`; joblib/pickle files can run arbitrary code "
            "when loaded -- load them only from trusted sources (`trust=True`).",
            "",
        ]
    return "\n".join(lines)


def _split(res: RunResults) -> list[str]:
    """Say how a predefined split matched the table: names and rows per list, rows in no list."""
    settings = res.protocol_settings if isinstance(res.protocol_settings, dict) else {}
    split = settings.get("split")
    if not isinstance(split, dict):
        return []
    listed, matched, rows = (
        split.get(k) if isinstance(split.get(k), dict) else {} for k in ("listed", "matched", "rows")
    )
    parts = ", ".join(
        f"{_md(part)} {_md(matched.get(part, '-'))}/{_md(count)} tracks ({_md(rows.get(part, '-'))} rows)"
        for part, count in listed.items()
        if count
    )
    unlisted = split.get("unlisted_rows")
    left = (
        f"; {_md(unlisted)} rows ({_md(split.get('unlisted_tracks', '-'))} tracks) in no list, left out"
        if unlisted
        else "; every row is in a list"
    )
    return [f"- split {_code(split.get('name'))}: names matched in the table: {parts}{left}"]


def _fitted_on(res: RunResults, final: dict[str, Any]) -> str:
    """Say which rows the saved model learnt from (``final_model.fitted_on``)."""
    fitted = final.get("fitted_on")
    if not isinstance(fitted, dict):  # written before fitted_on existed
        settings = res.protocol_settings if isinstance(res.protocol_settings, dict) else {}
        if res.model != "cnn":
            return f"Refitted on all {_md(res.n_samples)} rows"  # as every classical search did
        if settings.get("kind") == "split":
            return "Trained on the split's train part (its test rows were not used)"
        return f"Trained on all {_md(res.n_samples)} rows (some of them held out for early stopping)"
    rows, stopping = fitted.get("rows"), fitted.get("early_stopping_rows")
    held = f", {_md(stopping)} held out for early stopping" if stopping else ""
    if fitted.get("part") == "train":
        return f"Trained on the split's train part ({_md(rows)} rows{held}; the test rows were not used)"
    if stopping:
        return f"Trained on all {_md(res.n_samples)} rows ({_md(rows)} to fit the weights{held})"
    return f"Refitted on all {_md(rows)} rows"


def _folds(res: RunResults) -> list[str]:
    folds = [fold for fold in (res.fold_scores or []) if isinstance(fold, dict)]
    if not folds:
        return []
    track = "track_accuracy" in folds[0]
    lines = [
        "",
        "## Outer folds",
        "",
        "| repeat | fold | accuracy | balanced acc. | macro F1 |"
        + (" track acc. |" if track else "")
        + " fit (s) | best params |",
        "| --- | --- | --- | --- | --- |" + (" --- |" if track else "") + " --- | --- |",
    ]
    best = res.best_params if isinstance(res.best_params, list) else [{}] * len(folds)
    for fold, params in zip(folds, best, strict=False):
        scores = ["accuracy", "balanced_accuracy", "f1_macro"] + (["track_accuracy"] if track else [])
        cells = [_md(fold.get("repeat")), _md(fold.get("fold"))]
        cells += [format_number(fold.get(key)) for key in scores]
        cells += [format_number(fold.get("fit_time"), 1, missing="nan"), _code(json.dumps(params))]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _per_class(res: RunResults) -> list[str]:
    per_class = res.per_class if isinstance(res.per_class, dict) else {}
    if not per_class:
        return []
    lines = [
        "",
        "## Per class (pooled outer test sets)",
        "",
        "| class | precision | recall | F1 | support |",
        "| --- | --- | --- | --- | --- |",
    ]
    for label, row in per_class.items():
        row = row if isinstance(row, dict) else {}
        cells = [_md(label), *(format_number(row.get(key), 3) for key in ("precision", "recall", "f1"))]
        lines.append("| " + " | ".join([*cells, _md(row.get("support"))]) + " |")
    return lines
