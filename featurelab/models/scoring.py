"""Scoring in one place: fold scores, per-class metrics, confusion matrices, track aggregation.

Every evaluation of featurelab -- the nested search of classical models, the SHAP selection curve,
the CNN -- turns predictions into the same numbers with these functions, so ``results.json`` means
the same thing whichever command wrote it (see :mod:`featurelab.models.rundir`).

- :func:`classification_scores` -- accuracy, balanced accuracy and macro F1 of one test set.
- :func:`score_fold` -- from class probabilities of one test set (segments or tracks) to
  predictions and scores, per row and, for segment tables, per track (a track's prediction is the
  arg-max of the mean of its segments' probabilities: :func:`aggregate_tracks`).
- :func:`per_class_metrics`, :func:`confusion` -- pooled over the outer test sets.
- :func:`summarize_scores` -- ``<metric>_mean`` / ``<metric>_std`` over folds (std with ddof=0).
- :func:`vote_tracks` -- a track's label by majority vote of its segments' predicted labels.

Examples
--------
>>> import numpy as np
>>> proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.6, 0.4]])
>>> fold = score_fold(proba, ["jazz", "rock"], ["jazz", "jazz", "rock", "rock"],
...                   tracks=["t1", "t1", "t2", "t2"])
>>> fold.y_pred.tolist(), fold.track_pred.tolist()
(['jazz', 'rock', 'rock', 'jazz'], ['jazz', 'rock'])
>>> fold.scores["accuracy"], fold.scores["track_accuracy"]
(0.5, 1.0)
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "METRICS",
    "FoldPredictions",
    "classification_scores",
    "score_fold",
    "per_class_metrics",
    "confusion",
    "aggregate_tracks",
    "track_truth",
    "vote_tracks",
    "summarize_scores",
]

#: The scores of every fold, at row (segment) level and, with a ``track_`` prefix, at track level.
METRICS = ("accuracy", "balanced_accuracy", "f1_macro")


def classification_scores(y_true: Any, y_pred: Any, classes: Sequence[Any]) -> dict[str, float]:
    """Accuracy, balanced accuracy and macro F1 (over ``classes``) of one test set.

    Parameters
    ----------
    y_true, y_pred : array-like [shape=(n,)]
        True and predicted labels.
    classes : sequence
        Every label of the problem: macro F1 averages over all of them (a class absent from a
        small test set counts with F1 0).

    Returns
    -------
    dict
        ``{"accuracy": float, "balanced_accuracy": float, "f1_macro": float}``.
    """
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # classes absent from a small test fold
        return {
            "accuracy": float(accuracy_score(y_true, y_pred)),
            "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
            "f1_macro": float(
                f1_score(y_true, y_pred, labels=list(classes), average="macro", zero_division=0)
            ),
        }


def per_class_metrics(y_true: Any, y_pred: Any, classes: Sequence[Any]) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support of each class (the ``per_class`` of ``results.json``).

    Returns
    -------
    dict
        ``{label: {"precision", "recall", "f1", "support"}}`` in the order of ``classes``.
    """
    from sklearn.metrics import precision_recall_fscore_support

    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=list(classes), zero_division=0)
    return {
        str(label): {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
        for i, label in enumerate(classes)
    }


def confusion(y_true: Any, y_pred: Any, classes: Sequence[Any]) -> np.ndarray:
    """Confusion matrix, rows = true labels, columns = predicted, in the order of ``classes``.

    Returns
    -------
    np.ndarray [shape=(n_classes, n_classes), dtype=int]
    """
    from sklearn.metrics import confusion_matrix

    return confusion_matrix(y_true, y_pred, labels=list(classes))


def aggregate_tracks(
    proba: np.ndarray, classes: Sequence[Any] | np.ndarray, tracks: Any, *, sort: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Average segment probabilities per track.

    Parameters
    ----------
    proba : np.ndarray [shape=(n_segments, n_classes)]
        Segment probabilities, columns in the order of ``classes``.
    classes : array-like [shape=(n_classes,)]
        Labels of the columns.
    tracks : array-like [shape=(n_segments,)]
        Track of each segment.
    sort : bool
        Tracks sorted by name instead of in order of first appearance.

    Returns
    -------
    track_names : np.ndarray [shape=(n_tracks,)]
        Tracks in order of first appearance (or sorted).
    track_proba : np.ndarray [shape=(n_tracks, n_classes)]
        Mean probabilities.
    """
    import pandas as pd

    frame = pd.DataFrame(np.asarray(proba, dtype=float), columns=list(classes))
    frame["__track"] = np.asarray(tracks)
    mean = frame.groupby("__track", sort=sort).mean()
    return mean.index.to_numpy(), mean.to_numpy()


def track_truth(y_true: Any, tracks: Any, names: Any) -> np.ndarray:
    """Return the label of each track in ``names``: the most frequent label of its segments."""
    import pandas as pd

    truth = (
        pd.Series(np.asarray(y_true)).groupby(np.asarray(tracks), sort=False).agg(lambda s: s.mode().iloc[0])
    )
    return truth.loc[names].to_numpy()


def vote_tracks(y_true: Any, y_pred: Any, tracks: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Track labels by majority vote of the segments' predicted labels (ties: the first label).

    Used where a model's labels, not its probabilities, are at hand (the SHAP selection curve).

    Returns
    -------
    track_names : np.ndarray [shape=(n_tracks,)]
        Sorted.
    track_true : np.ndarray [shape=(n_tracks,)]
        The label of each track's first segment.
    track_pred : np.ndarray [shape=(n_tracks,)]
        The most frequent predicted label.
    """
    import pandas as pd

    tracks = np.asarray(tracks)
    votes = pd.crosstab(tracks, np.asarray(y_pred))  # tracks x predicted labels
    truth = pd.Series(np.asarray(y_true), index=tracks).groupby(level=0).first()[votes.index]
    return votes.index.to_numpy(), truth.to_numpy(), votes.idxmax(axis=1).to_numpy()


@dataclass
class FoldPredictions:
    """Predictions and scores of one test set (see :func:`score_fold`).

    Attributes
    ----------
    y_pred : np.ndarray [shape=(n,)]
        Predicted label of each row (the arg-max of its probabilities).
    scores : dict
        ``accuracy``, ``balanced_accuracy``, ``f1_macro`` and, with tracks, ``track_accuracy``,
        ``track_balanced_accuracy``, ``track_f1_macro``.
    track_names, track_true, track_pred : np.ndarray [shape=(n_tracks,)] or None
        Tracks, their labels and predictions (segment tables only).
    track_proba : np.ndarray [shape=(n_tracks, n_classes)] or None
        Mean segment probabilities of each track.
    """

    y_pred: np.ndarray
    scores: dict[str, float]
    track_names: np.ndarray | None = None
    track_true: np.ndarray | None = None
    track_pred: np.ndarray | None = None
    track_proba: np.ndarray | None = None


def score_fold(
    proba: np.ndarray,
    model_classes: Sequence[Any] | np.ndarray,
    y_true: Any,
    *,
    tracks: Any = None,
    classes: Sequence[Any] | None = None,
    sort_tracks: bool = False,
) -> FoldPredictions:
    """Turn the class probabilities of one test set into predictions and scores.

    Parameters
    ----------
    proba : np.ndarray [shape=(n, n_model_classes)]
        Probabilities of each row (segment or track).
    model_classes : array-like [shape=(n_model_classes,)]
        The labels of the columns of ``proba`` (a model's ``classes_``).
    y_true : array-like [shape=(n,)]
        True labels.
    tracks : array-like [shape=(n,)] or None
        Track of each row, for segment tables: track scores are added.
    classes : sequence or None
        Every label of the problem (for macro F1); default ``model_classes``.
    sort_tracks : bool
        Tracks sorted by name in the result instead of in order of first appearance.

    Returns
    -------
    FoldPredictions
    """
    model_classes = np.asarray(model_classes)
    classes = list(model_classes) if classes is None else list(classes)
    y_pred = model_classes[np.argmax(proba, axis=1)]
    scores = classification_scores(y_true, y_pred, classes)
    result = FoldPredictions(y_pred=y_pred, scores=scores)
    if tracks is not None:
        names, track_proba = aggregate_tracks(proba, model_classes, tracks, sort=sort_tracks)
        track_true = track_truth(y_true, tracks, names)
        track_pred = model_classes[np.argmax(track_proba, axis=1)]
        track_scores = classification_scores(track_true, track_pred, classes)
        scores.update({f"track_{key}": value for key, value in track_scores.items()})
        result.track_names, result.track_true = names, track_true
        result.track_pred, result.track_proba = track_pred, track_proba
    return result


def summarize_scores(
    fold_scores: Iterable[Mapping[str, Any]], keys: Iterable[str] = METRICS
) -> dict[str, float | None]:
    """Mean and standard deviation (ddof=0) of fold scores over folds and repeats.

    Parameters
    ----------
    fold_scores : iterable of mapping
        One mapping per fold (``{"accuracy": 0.8, ...}``).
    keys : iterable of str
        The scores to summarize; a key absent from the folds gives ``None``.

    Returns
    -------
    dict
        ``{"<key>_mean": float, "<key>_std": float, ...}``.

    Examples
    --------
    >>> summarize_scores([{"accuracy": 0.5}, {"accuracy": 1.0}], ["accuracy", "track_accuracy"])
    {'accuracy_mean': 0.75, 'accuracy_std': 0.25, 'track_accuracy_mean': None, 'track_accuracy_std': None}
    """
    folds = list(fold_scores)
    out: dict[str, float | None] = {}
    for key in keys:
        values = [fold.get(key) for fold in folds]
        if not folds or any(value is None for value in values):
            out[f"{key}_mean"] = out[f"{key}_std"] = None
            continue
        array = np.asarray(values, dtype=float)
        out[f"{key}_mean"] = float(np.mean(array))
        out[f"{key}_std"] = float(np.std(array))
    return out
