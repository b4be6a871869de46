"""The outcome of :func:`~featurelab.selection.select_features`: tables, plots, run directory."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._json import to_jsonable
from ..models.results import SCHEMA_VERSION
from .selector import _import_shap

if TYPE_CHECKING:  # pandas/matplotlib are imported when used
    import pandas as pd
    from matplotlib.figure import Figure

    from ..models.rundir import RunWriter

__all__ = ["SelectionResult", "write_selection_run"]


@dataclass
class SelectionResult:
    """Outcome of :func:`select_features` (the contents of a ``featurelab select`` run).

    Attributes
    ----------
    ranking : pandas.DataFrame
        One row per feature, most important first: ``feature``, ``mean_abs_shap`` (mean over
        folds of the fold's mean |SHAP|), ``std_abs_shap`` (its std over folds), ``selected_frac``
        (fraction of folds whose own selection kept the feature) and ``rank``.
    curve : pandas.DataFrame
        Accuracy-vs-k: ``k``, ``accuracy_mean``, ``accuracy_std`` (ddof=0 over folds),
        ``n_folds``; plus ``track_accuracy_mean``/``track_accuracy_std`` for segment tables.
    selected : list of str
        The selected features (from the cross-fold ranking), most important first.
    fold_importances : pandas.DataFrame [shape=(n_folds, n_features)]
        Mean |SHAP| of every feature in every training fold.
    fold_scores : pandas.DataFrame
        ``fold``, ``k``, ``accuracy`` (and ``track_accuracy``) of every fold and k.
    model, downstream : str
        Ranking model and curve model.
    protocol : str
        Outer cross-validation, e.g. ``"5-fold StratifiedKFold"``.
    rule : str
        ``"k"``, ``"threshold"`` or ``"one-standard-error"`` (neither given: the smallest k of
        the curve within one standard error of the best mean; optimistic, as it is read off the
        same folds).
    k, threshold : int, float or None
        The rule's parameters as given (``k`` is the chosen k for the one-standard-error rule).
    selection_accuracy : dict
        ``mean``/``std`` over folds of the downstream accuracy with each fold's own selection.
    explainer : str
        ``"tree"`` or ``"permutation"``.
    beeswarm_values : np.ndarray [shape=(n_explained, n_features)]
        SHAP values of the model fitted on all rows, for each explained row's own class.
    beeswarm_data : pandas.DataFrame [shape=(n_explained, n_features)]
        The feature values of those rows.
    info : dict
        Table and run facts (``n_samples``, ``n_features``, ``classes``, ``seed``, ...).
    """

    ranking: pd.DataFrame
    curve: pd.DataFrame
    selected: list[str]
    fold_importances: pd.DataFrame
    fold_scores: pd.DataFrame
    model: str
    downstream: str
    protocol: str
    rule: str
    k: int | None
    threshold: float | None
    selection_accuracy: dict[str, float]
    explainer: str
    beeswarm_values: np.ndarray
    beeswarm_data: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)

    def top(self, n: int = 10) -> pd.DataFrame:
        """Return the ``n`` highest-ranked rows of :attr:`ranking`."""
        return self.ranking.head(n)

    def to_dict(self) -> dict[str, Any]:
        """Return the ``selection.json`` dictionary (JSON-safe values)."""
        top = self.ranking.head(20)
        return {
            "model": self.model,
            "downstream": self.downstream,
            "protocol": self.protocol,
            "rule": self.rule,
            "k": self.k,
            "threshold": self.threshold,
            "n_selected": len(self.selected),
            "selected": list(self.selected),
            "selection_accuracy_mean": self.selection_accuracy.get("mean"),
            "selection_accuracy_std": self.selection_accuracy.get("std"),
            "explainer": self.explainer,
            "top_features": _records(top),
            "curve": _records(self.curve),
            **self.info,
        }

    def plot_bar(self, top: int = 20, ax: Any = None) -> Figure:
        """Horizontal bars of mean |SHAP| (error bars: std over folds), selected features dark.

        Parameters
        ----------
        top : int
            Number of features shown.
        ax : matplotlib Axes or None
            Axes to draw on (a new figure when ``None``).

        Returns
        -------
        matplotlib.figure.Figure
        """
        fig, ax = _axes(ax, figsize=(7, 0.28 * min(top, len(self.ranking)) + 1.4))
        rows = self.ranking.head(top).iloc[::-1]
        chosen = set(self.selected)
        colors = ["#1f4e79" if f in chosen else "#9db9d5" for f in rows["feature"]]
        ax.barh(
            rows["feature"],
            rows["mean_abs_shap"],
            xerr=rows["std_abs_shap"],
            color=colors,
            error_kw={"elinewidth": 0.8, "capsize": 2},
        )
        # all-zero importances happen (e.g. trees that could not split on a tiny table)
        right = float((rows["mean_abs_shap"] + rows["std_abs_shap"]).max()) * 1.04 or 1.0
        for y, frac in enumerate(rows["selected_frac"]):
            ax.text(right, y, f"{frac:.0%}", va="center", fontsize=7, color="#444444")
        ax.set_xlim(0, right * 1.1)
        ax.set_xlabel("mean |SHAP| (error bars: std over folds; right: selected in % of folds)")
        ax.set_title(f"SHAP importance ({self.model}, {self.protocol}); dark = selected", fontsize=10)
        ax.tick_params(axis="y", labelsize=8)
        fig.tight_layout()
        return fig

    def plot_beeswarm(self, top: int = 20, ax: Any = None) -> Figure:
        """SHAP beeswarm (summary) plot of the model fitted on all rows.

        Each dot is one explained row; its position is the feature's SHAP value toward the row's
        own class, its colour the feature value.

        Parameters
        ----------
        top : int
            Number of features shown (the rest are summed in one row).
        ax : matplotlib Axes or None
            Axes to draw on (a new figure when ``None``).

        Returns
        -------
        matplotlib.figure.Figure
        """
        shap = _import_shap()

        fig, ax = _axes(ax, figsize=(8, 0.32 * top + 1.5))
        explanation = shap.Explanation(
            values=self.beeswarm_values,
            data=self.beeswarm_data.to_numpy(),
            feature_names=list(self.beeswarm_data.columns),
        )
        shap.plots.beeswarm(explanation, max_display=top, ax=ax, show=False, plot_size=None)
        ax.set_xlabel("SHAP value toward each row's true class")
        ax.set_title(
            f"SHAP beeswarm ({self.model} fitted on all rows, {len(self.beeswarm_values)} rows)", fontsize=10
        )
        fig.tight_layout()
        return fig

    def plot_curve(self, ax: Any = None) -> Figure:
        """Accuracy-vs-k with error bars (std over folds), the selected k marked.

        Parameters
        ----------
        ax : matplotlib Axes or None
            Axes to draw on (a new figure when ``None``).

        Returns
        -------
        matplotlib.figure.Figure
        """
        fig, ax = _axes(ax, figsize=(6.5, 4))
        curve = self.curve
        ax.errorbar(
            curve["k"],
            curve["accuracy_mean"],
            yerr=curve["accuracy_std"],
            marker="o",
            capsize=3,
            label=f"{self.downstream} accuracy",
        )
        if "track_accuracy_mean" in curve:
            ax.errorbar(
                curve["k"],
                curve["track_accuracy_mean"],
                yerr=curve["track_accuracy_std"],
                marker="s",
                capsize=3,
                linestyle="--",
                label="track accuracy",
            )
        ax.axvline(
            len(self.selected),
            color="#999999",
            linestyle=":",
            label=f"selected ({len(self.selected)} features)",
        )
        ticks: list[int] = []
        for k in curve["k"]:  # label every k of the curve that does not crowd the previous one
            if not ticks or k - ticks[-1] >= curve["k"].max() / 25:
                ticks.append(int(k))
        ax.set_xticks(ticks)
        ax.set_xlabel("k (top features by mean |SHAP|, selected inside each training fold)")
        ax.set_ylabel("CV accuracy")
        ax.set_title(f"Accuracy vs k ({self.protocol})", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
        fig.tight_layout()
        return fig

    def write(self, out: str | os.PathLike | None = None, *, command: str | None = None) -> Path:
        """Write the run directory; see :func:`write_selection_run`."""
        return write_selection_run(self, out, command=command)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {key: to_jsonable(value) for key, value in row.items()} for row in frame.to_dict(orient="records")
    ]


def _axes(ax: Any, figsize: tuple[float, float]) -> tuple[Figure, Any]:
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, fig.add_subplot()


def write_selection_run(
    result: SelectionResult,
    out: str | os.PathLike | RunWriter | None = None,
    *,
    command: str | None = None,
) -> Path:
    """Write a ``featurelab select`` run directory (atomically, see :mod:`featurelab.models.rundir`).

    Files: ``ranking.csv`` (feature, mean_abs_shap, std_abs_shap, selected_frac, rank),
    ``selected.txt`` (one feature per line, usable as ``--features-file``), ``curve.csv`` (k,
    accuracy_mean, accuracy_std, n_folds), ``fold_scores.csv``, ``shap_bar.png``,
    ``shap_beeswarm.png``, ``accuracy_vs_k.png`` and ``selection.json``.

    Parameters
    ----------
    result : SelectionResult
        Output of :func:`select_features`.
    out : path, RunWriter or None
        Run directory (a previous run there is replaced); default
        ``runs/<timestamp>-select-<model>``. A :class:`~featurelab.models.rundir.RunWriter`
        started before the selection is written into and left for its caller to commit.
    command : str or None
        The command line, recorded in ``selection.json``.

    Returns
    -------
    Path
        The run directory.
    """
    from ..models.rundir import RunWriter

    if isinstance(out, RunWriter):
        _write_files(result, out, command)
        return out.target
    with RunWriter.start(out, name=f"select-{result.model}") as run:
        _write_files(result, run, command)
    return run.target


def _write_files(result: SelectionResult, run: RunWriter, command: str | None) -> None:
    for name, frame in (
        ("ranking.csv", result.ranking),
        ("curve.csv", result.curve),
        ("fold_scores.csv", result.fold_scores),
    ):
        run.write_csv(name, frame, float_format="%.6g")
    rule = {
        "k": f"top {result.k}",
        "threshold": f"cumulative share {result.threshold}",
        "one-standard-error": f"k={result.k} by the one-standard-error rule",
    }[result.rule]
    header = (
        f"# featurelab select: {len(result.selected)} features by mean |SHAP| of "
        f"{result.model} ({result.protocol}; {rule})\n"
    )
    run.write_text("selected.txt", header + "".join(f"{name}\n" for name in result.selected))
    for name, fig in (
        ("shap_bar.png", result.plot_bar()),
        ("shap_beeswarm.png", result.plot_beeswarm()),
        ("accuracy_vs_k.png", result.plot_curve()),
    ):
        run.save_figure(name, fig)
    summary = result.to_dict()
    summary["command"] = command
    run.write_json("selection.json", {"schema_version": SCHEMA_VERSION, **summary})
