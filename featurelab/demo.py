"""``featurelab demo``: the whole pipeline on the built-in synthetic corpus, in a few minutes.

Generates a small labelled corpus (:func:`featurelab.synthetic.make_synthetic_corpus`), extracts the
track and 3 s segment tables, runs a nested model search for an SVM, LightGBM and the soft-voting
ensemble (plus the SVM on segments with group-aware folds), selects features with SHAP, and writes a
leaderboard, a comparison chart and a self-contained HTML report. Everything goes under one folder.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["DemoResult", "run_demo"]

#: Small, fast search settings for the demo (the real defaults live in configs/<model>.yaml).
_DEMO_SEARCH: dict[str, dict[str, Any]] = {
    "svm": {"search": "random", "n_iter": 12},
    "lgbm": {
        "search": "random",
        "n_iter": 4,
        "grid": {
            "clf__n_estimators": [100],
            "clf__num_leaves": [7, 15],
            "clf__learning_rate": [0.1],
            "clf__min_child_samples": [3, 5],
        },
    },
    "voting": {},
}


@dataclass
class DemoResult:
    """Where the demo put everything, and its headline numbers."""

    out: Path
    corpus: Path
    tables: dict[str, Path]
    runs: dict[str, Path]
    leaderboard: Any
    top_features: list[str]
    report: Path
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        """Format a few lines for the terminal."""
        lines = ["", "featurelab demo: accuracy (nested CV, mean ± std over folds)"]
        for row in self.leaderboard.itertuples(index=False):
            track = ""
            if row.track_accuracy_mean == row.track_accuracy_mean:  # not NaN
                track = f"   track-level {row.track_accuracy_mean:.3f} ± {row.track_accuracy_std:.3f}"
            lines.append(
                f"  {Path(row.run).name:16s} {row.accuracy_mean:.3f} ± {row.accuracy_std:.3f}{track}"
            )
        lines.append(f"Top features (SHAP, xgb): {', '.join(self.top_features[:5])}")
        lines.append(f"Report:  {self.report}")
        lines.append(f"Tables:  {', '.join(str(p) for p in self.tables.values())}")
        lines.append(f"Runs:    {self.out / 'runs'}")
        total = sum(self.seconds.values())
        lines.append(
            f"Took {total:.0f} s (" + ", ".join(f"{k} {v:.0f} s" for k, v in self.seconds.items()) + ")"
        )
        return "\n".join(lines)


def run_demo(
    out: str | os.PathLike = "featurelab-demo",
    *,
    n_per_class: int = 8,
    duration: float = 6.0,
    cv: int = 5,
    seed: int = 0,
    n_jobs: int = 0,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> DemoResult:
    """Run the whole pipeline on the synthetic corpus.

    Parameters
    ----------
    out : path
        Folder for the corpus, tables, runs and report (created; reused files are overwritten).
    n_per_class : int
        Clips per style (six styles).
    duration : float
        Clip length in seconds (two 3 s segments per clip at the default).
    cv : int
        Outer folds of every evaluation.
    seed : int
        Seed of the corpus, the folds and the models.
    n_jobs : int
        Worker processes for extraction and searches (0 = all cores).
    progress : bool
        Progress bars on stderr.
    log : callable or None
        Called with one line per step (e.g. ``print``).

    Returns
    -------
    DemoResult
    """
    from .compare import leaderboard, plot_leaderboard
    from .extraction import extract_tables, write_extraction_table
    from .models.runner import gridsearch
    from .parallel import resolve_n_jobs
    from .report import build_report
    from .selection import select_features
    from .synthetic import make_synthetic_corpus

    say = log or (lambda line: None)
    out = Path(out)
    jobs = resolve_n_jobs(n_jobs)
    seconds: dict[str, float] = {}

    start = time.perf_counter()
    corpus = out / "corpus"
    frame = make_synthetic_corpus(corpus, n_per_class=n_per_class, seed=seed, duration=duration)
    seconds["corpus"] = time.perf_counter() - start
    say(f"[1/5] corpus: {len(frame)} clips, {frame['label'].nunique()} styles -> {corpus}")

    start = time.perf_counter()
    result = extract_tables(
        corpus,
        segment=3.0,
        tables=("track", "segment"),
        n_jobs=jobs,
        cache=out / "tables" / "featurelab-cache",
        progress=progress,
    )
    tables = {
        "track": write_extraction_table(result, "track", out / "tables" / "tracks.csv"),
        "segment": write_extraction_table(result, "segment", out / "tables" / "segments.csv"),
    }
    seconds["extract"] = time.perf_counter() - start
    say(
        f"[2/5] extracted {len(result.tables['track'])} track rows and "
        f"{len(result.tables['segment'])} segment rows ({result.audio_seconds:.0f} s of audio)"
    )

    start = time.perf_counter()
    runs: dict[str, Path] = {}
    for model in ("svm", "lgbm", "voting"):
        run = gridsearch(
            tables["track"],
            model,
            out=out / "runs" / model,
            cv=cv,
            seed=seed,
            n_jobs=jobs,
            progress=progress,
            formats=("skops",),
            **_DEMO_SEARCH[model],
        )
        runs[model] = run.run_dir
        say(
            f"[3/5] gridsearch {model}: accuracy {run.results['accuracy_mean']:.3f} "
            f"± {run.results['accuracy_std']:.3f}"
        )
    run = gridsearch(
        tables["segment"],
        "svm",
        out=out / "runs" / "svm-segments",
        cv=cv,
        seed=seed,
        n_jobs=jobs,
        progress=progress,
        formats=("skops",),
        **_DEMO_SEARCH["svm"],
    )
    runs["svm-segments"] = run.run_dir
    say(
        f"[3/5] gridsearch svm on 3 s segments (grouped by track): segment accuracy "
        f"{run.results['accuracy_mean']:.3f}, track accuracy "
        f"{run.results.get('track_accuracy_mean') or float('nan'):.3f}"
    )
    seconds["gridsearch"] = time.perf_counter() - start

    start = time.perf_counter()
    selection = select_features(
        tables["track"],
        "xgb",
        k=10,
        cv=cv,
        ks=(3, 5, 10, 20, "all"),
        seed=seed,
        n_jobs=jobs,
        progress=progress,
    )
    runs["select-xgb"] = selection.write(out / "runs" / "select-xgb")
    top = list(selection.ranking["feature"].head(10))
    seconds["select"] = time.perf_counter() - start
    say(f"[4/5] SHAP selection (xgb): top features {', '.join(top[:5])}")

    start = time.perf_counter()
    board = leaderboard([runs[name] for name in ("svm", "lgbm", "voting", "svm-segments")])
    plot_leaderboard(board, out / "runs" / "compare.png", title="featurelab demo (synthetic corpus)")
    report = build_report(list(runs.values()) + [out / "runs"], out / "report.html", title="featurelab demo")
    seconds["report"] = time.perf_counter() - start
    say(f"[5/5] report -> {report}")
    return DemoResult(
        out=out,
        corpus=corpus,
        tables=tables,
        runs=runs,
        leaderboard=board,
        top_features=top,
        report=report,
        seconds=seconds,
    )
