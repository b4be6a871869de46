"""One self-contained HTML report from run directories.

:func:`build_report` gathers ``featurelab gridsearch`` / ``train`` / ``select`` run directories into
a single HTML file that can be mailed or attached to an issue: a leaderboard of all runs, then per
run its scores, per-class metrics, confusion matrix, SHAP and learning-curve plots and, for feature
selection runs, the top of the SHAP ranking. Images are embedded as base64 PNG, the style sheet is
inline, and there is no JavaScript. Missing files or keys are skipped: the report shows what exists.
"""

from __future__ import annotations

import base64
import csv
import html
import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ._format import finite, format_mean_std, format_number
from .exceptions import FeaturelabError, ParameterError
from .models.results import RunResults

__all__ = ["build_report", "find_report_runs"]

#: Known plots, shown in this order with these captions (other PNGs follow, sorted by name).
_KNOWN_PLOTS = {
    "shap_bar.png": "SHAP importance (mean |SHAP|)",
    "shap_beeswarm.png": "SHAP values per feature (beeswarm)",
    "accuracy_vs_k.png": "Accuracy versus number of selected features",
    "curves.png": "Training curves",
    "track_confusion_matrix.png": "Confusion matrix of tracks (rows: true class)",
    "compare.png": "Comparison",
    "leaderboard.png": "Leaderboard (accuracy mean ± std)",
}
_TOP_RANKING = 15
_MAX_TABLE_ROWS = 60
_MAX_IMAGE_BYTES = 20 * 2**20

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;
color:#1d232a;background:#f6f7f9;line-height:1.45}
main{max-width:1200px;margin:0 auto;padding:1.5rem 1.25rem 3rem}
h1{margin:.2rem 0 .3rem;font-size:1.7rem}h2{margin-top:2.2rem;border-bottom:2px solid #d5dbe3;
padding-bottom:.25rem;font-size:1.3rem}h3{font-size:1.05rem;margin:1.3rem 0 .4rem}
.meta,.note{color:#5b6673;font-size:.9rem}.note{font-style:italic}
nav ul{columns:2;padding-left:1.2rem;margin:.4rem 0}a{color:#1f5aa6}
table{border-collapse:collapse;margin:.4rem 0 1rem;background:#fff;font-size:.86rem}
th,td{border:1px solid #d5dbe3;padding:.26rem .45rem;text-align:left;vertical-align:top}
td{overflow-wrap:break-word}
th{background:#eaeef3}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.best td{background:#e8f4ea;font-weight:600}
section.run{background:#fff;border:1px solid #d5dbe3;border-radius:6px;padding:.3rem 1.1rem 1rem;
margin-top:1.5rem}section.run h2{margin-top:.8rem}
figure{margin:.8rem 0;display:inline-block;vertical-align:top;max-width:100%}
figure img{max-width:100%;height:auto;border:1px solid #e1e5ea}
figcaption{color:#5b6673;font-size:.85rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem .9rem;font-size:.9rem}
dt{color:#5b6673}dd{margin:0;word-break:break-word}code{font-size:.85em}
.scroll{overflow-x:auto;max-width:100%}
"""


# ----------------------------------------------------------------------------- public API
def find_report_runs(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Resolve the run directories that :func:`build_report` will show, one section each.

    A run directory holds ``results.json`` (gridsearch/train runs), ``selection.json`` or
    ``ranking.csv`` (feature selection runs). A folder holding none of these is replaced by its
    sub-folders that do (such as ``runs/``, sorted by name); its own PNG charts (such as
    ``leaderboard.png``) are shown beside the leaderboard, not as a run (see
    :func:`featurelab.models.rundir.locate_runs`).

    Parameters
    ----------
    paths : iterable of str or path-like
        Run directories or folders of run directories.

    Returns
    -------
    list of Path
        The run directories, in the given order, without duplicates.

    Raises
    ------
    ParameterError
        A path does not exist, is not a folder, or holds neither run files nor run directories;
        or no run directory was found.
    """
    from .models.rundir import find_runs

    return find_runs(paths)


def build_report(
    run_dirs: Iterable[str | os.PathLike] | str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    title: str = "featurelab report",
) -> Path:
    """Write one self-contained HTML report (leaderboard + per-run details) of run directories.

    Parameters
    ----------
    run_dirs : path or iterable of paths
        Run directories of ``featurelab gridsearch``, ``train`` or ``select``, or folders of them
        such as ``runs/`` (see :func:`find_report_runs`).
    out_path : str or path-like
        The HTML file to write (atomically; parent folders are created).
    title : str
        Heading and ``<title>`` of the page.

    Returns
    -------
    Path
        ``out_path``.

    Raises
    ------
    ParameterError
        A run directory is missing or holds no run files, or ``out_path`` is a folder.
    FeaturelabError
        ``out_path`` cannot be written (checked before the runs are read).

    Notes
    -----
    The leaderboard ranks runs by mean accuracy and shows protocol, balanced accuracy, macro F1,
    track accuracy (segment tables), fit time per outer fold and prediction time per track. Each
    run section shows the scores, the outer folds, per-class precision/recall/F1, the confusion
    matrix (``confusion_matrix.png``, or drawn from ``results.json``), every PNG in the folder
    (SHAP plots, accuracy versus k, training curves, ...) and, for selection runs, the top 15 rows
    of ``ranking.csv``, the selected features and the accuracy-versus-k table.

    Examples
    --------
    >>> import json, tempfile
    >>> from pathlib import Path
    >>> from featurelab.report import build_report
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     run = Path(tmp, "svm-run")
    ...     run.mkdir()
    ...     _ = (run / "results.json").write_text(json.dumps(
    ...         {"model": "svm", "protocol": "5-fold", "accuracy_mean": 0.8, "accuracy_std": 0.02,
    ...          "classes": ["a", "b"], "confusion_matrix": [[4, 1], [1, 4]]}))
    ...     page = build_report([run], Path(tmp, "report.html")).read_text()
    ...     print("0.8000 ± 0.0200" in page, "<script" in page)
    True False
    """
    from ._version import __version__
    from .io import atomic_path, check_writable
    from .models.rundir import locate_runs, read_run

    out_path = Path(out_path)
    if out_path.is_dir():
        raise ParameterError(
            f"out_path must be a file name. Got the folder {str(out_path)!r} instead; use e.g. report.html."
        )
    found = locate_runs(run_dirs)
    check_writable(out_path)
    runs = [_Run(read_run(path), f"run-{index}") for index, path in enumerate(found.runs, 1)]
    created = datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="featurelab {_e(__version__)}">',
        f"<title>{_e(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<main>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="meta">{len(runs)} run{"s" if len(runs) != 1 else ""}; generated {_e(created)} '
        f"by featurelab {_e(__version__)}.</p>",
        _contents(runs),
        _leaderboard(runs, found.folders),
        *(_run_section(run) for run in runs),
        "</main>",
        "</body>",
        "</html>",
        "",
    ]
    try:
        with atomic_path(out_path) as tmp:
            tmp.write_text("\n".join(parts), encoding="utf-8")
    except OSError as error:
        raise FeaturelabError(f"Cannot write {str(out_path)!r}: {error.strerror or error}.") from None
    return out_path


# ----------------------------------------------------------------------------- loading
@dataclass
class _Run:
    """A run directory (:class:`featurelab.models.rundir.Run`) and its anchor on the page."""

    run: Any
    anchor: str
    results: RunResults = field(init=False)

    def __post_init__(self) -> None:
        self.results = self.run.results if self.run.results is not None else RunResults()

    path = property(lambda self: self.run.path)
    name = property(lambda self: self.run.name)
    selection = property(lambda self: self.run.selection)
    notes = property(lambda self: self.run.notes)
    is_selection = property(lambda self: self.run.is_selection)

    @property
    def has_results(self) -> bool:
        return self.run.results is not None

    def get(self, key: str) -> Any:
        return self.run.get(key)


def _read_csv(path: Path, notes: list[str]) -> tuple[list[str], list[list[str]]] | None:
    """Header and rows of a small CSV file (as strings), or None when absent or unreadable."""
    if not path.is_file():
        return None
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        notes.append(f"{path.name} could not be read: {error}")
        return None
    if not rows:
        notes.append(f"{path.name} is empty.")
        return None
    return rows[0], rows[1:]


# ----------------------------------------------------------------------------- formatting
def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: Any, digits: int = 4) -> str:
    return format_number(value, digits, missing="–")


def _pm(mean: Any, std: Any, digits: int = 4) -> str:
    return format_mean_std(mean, std, digits, missing="–")


def _cell_text(text: str) -> str:
    """Format a CSV cell: numbers right-aligned and shortened, text escaped."""
    try:
        number = float(text)
    except ValueError:
        return f"<td>{_e(text)}</td>"
    if not math.isfinite(number):
        return f'<td class="num">{_e(text)}</td>'
    shown = text if number.is_integer() and "." not in text else f"{number:.4g}"
    return f'<td class="num">{_e(shown)}</td>'


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], *, raw: bool = False) -> str:
    """Build an HTML table; cells are escaped unless ``raw`` (then they are whole ``<td>``s)."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = "".join(row) if raw else "".join(f"<td>{_e(c)}</td>" for c in row)
        body.append(f"<tr>{cells}</tr>")
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>"


def _td(text: str, numeric: bool = True) -> str:
    return f'<td class="num">{_e(text)}</td>' if numeric else f"<td>{_e(text)}</td>"


def _img(data: bytes, alt: str, caption: str) -> str:
    encoded = base64.b64encode(data).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{encoded}" alt="{_e(alt)}">'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


# ----------------------------------------------------------------------------- page parts
def _run_label(run: _Run) -> str:
    model = run.get("model")
    if run.is_selection and not run.has_results:
        downstream = run.selection.get("downstream")
        label = f"select ({model or '?'})"
        if downstream:
            label += f" → {downstream}"
        n_selected = run.selection.get("n_selected")
        if finite(n_selected) is not None:
            label += f", {int(n_selected)} features"
        return label
    return str(model) if model is not None else "–"


def _accuracy(run: _Run) -> tuple[Any, Any]:
    if run.results.get("accuracy_mean") is not None:
        return run.results.get("accuracy_mean"), run.results.get("accuracy_std")
    return run.selection.get("selection_accuracy_mean"), run.selection.get("selection_accuracy_std")


def _contents(runs: list[_Run]) -> str:
    items = "".join(
        f'<li><a href="#{run.anchor}">{_e(run.name)}</a> <span class="meta">'
        f"({_e(_run_label(run))})</span></li>"
        for run in runs
    )
    first = '<li><a href="#leaderboard">Leaderboard</a></li>'
    return f"<nav><h2>Contents</h2><ul>{first}{items}</ul></nav>"


def _charts(folders: list[Path]) -> str:
    """Show the PNG charts of the folders given (such as ``runs/leaderboard.png``); they belong to no run."""
    notes: list[str] = []
    figures = []
    for folder in folders:
        pngs = {p.name: p for p in folder.glob("*.png") if p.is_file()}
        order = [name for name in _KNOWN_PLOTS if name in pngs]
        order += sorted(name for name in pngs if name not in _KNOWN_PLOTS)
        figures += [_png_figure(pngs[name], _caption(name), notes) for name in order]
    figures = [figure for figure in figures if figure]
    text = "<h3>Charts</h3>\n" + "\n".join(figures) if figures else ""
    return text + "".join(f'<p class="note">{_e(note)}</p>' for note in notes)


def _caption(name: str) -> str:
    return _KNOWN_PLOTS.get(name) or Path(name).stem.replace("_", " ").capitalize()


def _leaderboard(runs: list[_Run], folders: list[Path] | None = None) -> str:
    def key(run: _Run) -> float:
        accuracy = finite(_accuracy(run)[0])
        return -math.inf if accuracy is None else accuracy

    scored = [run for run in runs if run.has_results or run.selection or run.is_selection]
    ranked = sorted(scored, key=key, reverse=True)  # stable: runs without accuracy keep their order
    charts = _charts(folders or [])
    if not ranked:
        return (
            '<section id="leaderboard"><h2>Leaderboard</h2>\n'
            '<p class="note">No run folder holds results.json or selection results.</p>'
            f"{charts}</section>"
        )
    with_track = any(finite(r.results.get("track_accuracy_mean")) is not None for r in runs)
    header = ["#", "run", "model", "protocol", "accuracy", "balanced acc.", "macro F1"]
    header += ["track acc."] if with_track else []
    header += ["fit time (s/fold)", "predict (ms/track)"]
    best = key(ranked[0]) if ranked and key(ranked[0]) > -math.inf else None
    rows = []
    for rank, run in enumerate(ranked, 1):
        res = run.results
        acc_mean, acc_std = _accuracy(run)
        per_track = finite(res.get("predict_time_per_track"))
        cells = [
            _td(str(rank)),
            f'<td><a href="#{run.anchor}">{_e(run.name)}</a></td>',
            _td(_run_label(run), numeric=False),
            _td(str(run.get("protocol") or "–"), numeric=False),
            _td(_pm(acc_mean, acc_std)),
            _td(_pm(res.get("balanced_accuracy_mean"), res.get("balanced_accuracy_std"))),
            _td(_pm(res.get("f1_macro_mean"), res.get("f1_macro_std"))),
        ]
        if with_track:
            cells.append(_td(_pm(res.get("track_accuracy_mean"), res.get("track_accuracy_std"))))
        cells += [
            _td(_fmt(res.get("fit_time_mean"), 2)),
            _td("–" if per_track is None else f"{1000 * per_track:.3f}"),
        ]
        is_best = best is not None and finite(acc_mean) == best
        rows.append(("best", cells) if is_best else ("", cells))
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "\n".join(
        f'<tr class="{cls}">{"".join(cells)}</tr>' if cls else f"<tr>{''.join(cells)}</tr>"
        for cls, cells in rows
    )
    note = (
        '<p class="note">Scores are mean ± standard deviation over outer folds (and repeats); '
        "selection runs show the accuracy of the downstream model on the selected features.</p>"
    )
    return (
        '<section id="leaderboard"><h2>Leaderboard</h2>\n<div class="scroll">'
        f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table></div>\n{note}"
        f"{charts}</section>"
    )


def _summary(run: _Run) -> str:
    res, sel = run.results, run.selection
    items: list[tuple[str, str]] = [("folder", str(run.path))]
    for key, label in (("protocol", "protocol"), ("table", "table")):
        if run.get(key) is not None:
            items.append((label, str(run.get(key))))
    sizes = [
        f"{label} {res.get(key)}"
        for key, label in (
            ("n_samples", "rows"),
            ("n_tracks", "tracks"),
            ("n_features", "features"),
            ("n_classes", "classes"),
        )
        if res.get(key) is not None
    ]
    if sizes:
        items.append(("data", ", ".join(sizes)))
    for key in ("downstream", "rule", "k", "threshold", "n_selected", "explainer"):
        if sel.get(key) is not None:
            items.append((key.replace("_", " "), str(sel[key])))
    for key in ("seed", "featurelab_version", "created", "command"):
        if run.get(key) is not None:
            items.append((key.replace("_", " "), str(run.get(key))))
    return "<dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items) + "</dl>"


def _scores(res: dict[str, Any]) -> str:
    rows = []
    for key, label in (
        ("accuracy", "accuracy"),
        ("balanced_accuracy", "balanced accuracy"),
        ("f1_macro", "macro F1"),
        ("track_accuracy", "track accuracy"),
        ("track_balanced_accuracy", "track balanced accuracy"),
        ("track_f1_macro", "track macro F1"),
    ):
        if finite(res.get(f"{key}_mean")) is not None:
            rows.append([_td(label, False), _td(_pm(res.get(f"{key}_mean"), res.get(f"{key}_std")))])
    if finite(res.get("fit_time_mean")) is not None:
        rows.append([_td("fit time per outer fold (s)", False), _td(_fmt(res.get("fit_time_mean"), 2))])
    if finite(res.get("predict_time_per_track")) is not None:
        rows.append(
            [
                _td("predict time per track (ms)", False),
                _td(_fmt(1000 * finite(res.get("predict_time_per_track")), 3)),
            ]
        )
    if not rows:
        return ""
    return "<h3>Scores</h3>\n" + _table(["metric", "mean ± std"], rows, raw=True)


def _folds(res: dict[str, Any]) -> str:
    folds = res.get("fold_scores")
    if not isinstance(folds, list) or not folds:
        return ""
    params = res.get("best_params") if isinstance(res.get("best_params"), list) else []
    rows = []
    for i, fold in enumerate(folds[:_MAX_TABLE_ROWS]):
        if not isinstance(fold, dict):
            continue
        best = params[i] if i < len(params) else None
        rows.append(
            [
                _td(str(fold.get("repeat", "–"))),
                _td(str(fold.get("fold", "–"))),
                _td(_fmt(fold.get("accuracy"))),
                _td(_fmt(fold.get("balanced_accuracy"))),
                _td(_fmt(fold.get("f1_macro"))),
                f"<td><code>{_e(json.dumps(best, default=str))}</code></td>" if best else _td("–", False),
            ]
        )
    if not rows:
        return ""
    header = ["repeat", "fold", "accuracy", "balanced acc.", "macro F1", "best params"]
    return "<h3>Outer folds</h3>\n" + _table(header, rows, raw=True)


def _per_class(res: dict[str, Any]) -> str:
    per_class = res.get("per_class")
    if not isinstance(per_class, dict) or not per_class:
        return ""
    rows = []
    for label, row in per_class.items():
        row = row if isinstance(row, dict) else {}
        support = finite(row.get("support"))
        rows.append(
            [
                _td(str(label), False),
                _td(_fmt(row.get("precision"), 3)),
                _td(_fmt(row.get("recall"), 3)),
                _td(_fmt(row.get("f1"), 3)),
                _td("–" if support is None else f"{support:g}"),
            ]
        )
    header = ["class", "precision", "recall", "F1", "support"]
    return "<h3>Per class</h3>\n" + _table(header, rows, raw=True)


def _confusion(run: _Run) -> str:
    png = run.path / "confusion_matrix.png"
    if png.is_file():
        return _png_figure(png, "Confusion matrix (rows: true class)", run.notes)
    cm = run.results.get("confusion_matrix")
    if cm is None:
        return ""
    try:
        data = _render_confusion(cm, run.results.get("classes"), run.results.get("per_class"))
    except (TypeError, ValueError) as error:
        run.notes.append(f"confusion_matrix in results.json could not be drawn: {error}")
        return ""
    return _img(data, "confusion matrix", "Confusion matrix (rows: true class; drawn from results.json)")


def _render_confusion(cm: Any, classes: Any, per_class: Any) -> bytes:
    """PNG bytes of the confusion matrix (:func:`featurelab.models.plots.confusion_figure`)."""
    import numpy as np

    from .models.plots import confusion_figure, figure_png

    n = np.shape(cm)[0] if np.ndim(cm) == 2 else 0
    labels = [str(c) for c in classes] if isinstance(classes, list) else []
    if len(labels) != n and isinstance(per_class, dict) and len(per_class) == n:
        labels = [str(c) for c in per_class]
    return figure_png(confusion_figure(cm, labels if len(labels) == n else None), dpi=110)


def _png_figure(path: Path, caption: str, notes: list[str]) -> str:
    try:
        size = path.stat().st_size
        if size > _MAX_IMAGE_BYTES:
            notes.append(f"{path.name} is larger than {_MAX_IMAGE_BYTES // 2**20} MiB; not embedded.")
            return ""
        data = path.read_bytes()
    except OSError as error:
        notes.append(f"{path.name} could not be read: {error}")
        return ""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        notes.append(f"{path.name} is not a PNG image; not embedded.")
        return ""
    return _img(data, path.stem.replace("_", " "), caption)


def _plots(run: _Run) -> str:
    pngs = {p.name: p for p in run.path.glob("*.png") if p.is_file()}
    pngs.pop("confusion_matrix.png", None)
    order = [name for name in _KNOWN_PLOTS if name in pngs]
    order += sorted(name for name in pngs if name not in _KNOWN_PLOTS)
    figures = [_png_figure(pngs[name], _caption(name), run.notes) for name in order]
    figures = [f for f in figures if f]
    return "<h3>Plots</h3>\n" + "\n".join(figures) if figures else ""


def _csv_table(path: Path, notes: list[str], heading: str, limit: int) -> str:
    table = _read_csv(path, notes)
    if table is None:
        return ""
    header, rows = table
    shown = rows[:limit]
    more = (
        f'<p class="note">First {limit} of {len(rows)} rows; see {_e(path.name)}.</p>'
        if len(rows) > limit
        else ""
    )
    body = [[_cell_text(cell) for cell in row] for row in shown]
    return f"<h3>{_e(heading)}</h3>\n" + _table(header, body, raw=True) + more


def _selected(run: _Run) -> str:
    path = run.path / "selected.txt"
    names: list[str] = []
    comment = ""
    if path.is_file():
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            run.notes.append(f"selected.txt could not be read: {error}")
            lines = []
        comment = " ".join(line.lstrip("# ").strip() for line in lines if line.startswith("#"))
        names = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    elif isinstance(run.selection.get("selected"), list):
        names = [str(name) for name in run.selection["selected"]]
    if not names:
        return ""
    text = f"<h3>Selected features ({len(names)})</h3>\n"
    if comment:
        text += f'<p class="meta">{_e(comment)}</p>\n'
    return text + "<p>" + ", ".join(f"<code>{_e(name)}</code>" for name in names) + "</p>"


def _run_section(run: _Run) -> str:
    content = [_scores(run.results)]
    if not run.has_results and finite(run.selection.get("selection_accuracy_mean")) is not None:
        accuracy = _pm(run.selection["selection_accuracy_mean"], run.selection.get("selection_accuracy_std"))
        content.append(
            "<h3>Scores</h3>\n"
            + _table(
                ["metric", "mean ± std"],
                [[_td("accuracy on the selected features", False), _td(accuracy)]],
                raw=True,
            )
        )
    content += [_per_class(run.results), _confusion(run), _folds(run.results)]
    if run.is_selection:
        content += [
            _csv_table(
                run.path / "ranking.csv",
                run.notes,
                f"SHAP ranking (top {_TOP_RANKING})",
                _TOP_RANKING,
            ),
            _selected(run),
            _csv_table(
                run.path / "curve.csv",
                run.notes,
                "Accuracy versus number of features",
                _MAX_TABLE_ROWS,
            ),
        ]
    content.append(_plots(run))
    content = [part for part in content if part]
    if not content:
        run.notes.append("No scores, tables or plots found in this folder.")
    notes = "".join(f'<p class="note">{_e(note)}</p>' for note in run.notes)
    return "\n".join(
        part
        for part in (
            f'<section class="run" id="{run.anchor}">',
            f'<h2>{_e(run.name)} <span class="meta">{_e(_run_label(run))}</span></h2>',
            _summary(run),
            *content,
            notes,
            "</section>",
        )
        if part
    )
