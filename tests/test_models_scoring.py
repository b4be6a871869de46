"""Scoring: fold scores, per-class metrics, confusion matrices and track aggregation on known answers."""

from __future__ import annotations

import numpy as np
import pytest

from featurelab.models.scoring import (
    aggregate_tracks,
    classification_scores,
    confusion,
    per_class_metrics,
    score_fold,
    summarize_scores,
    track_truth,
    vote_tracks,
)

CLASSES = ["blues", "jazz", "rock"]


def test_classification_scores_on_a_known_answer():
    y_true = ["blues", "blues", "jazz", "rock"]
    y_pred = ["blues", "jazz", "jazz", "rock"]
    scores = classification_scores(y_true, y_pred, CLASSES)
    assert scores["accuracy"] == pytest.approx(0.75)
    assert scores["balanced_accuracy"] == pytest.approx((0.5 + 1 + 1) / 3)
    assert scores["f1_macro"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)


def test_macro_f1_counts_a_class_absent_from_the_test_set():
    scores = classification_scores(["blues", "jazz"], ["blues", "jazz"], CLASSES)
    assert scores["accuracy"] == 1.0
    assert scores["f1_macro"] == pytest.approx(2 / 3)  # rock: F1 0, and no warning


def test_per_class_and_confusion_follow_the_class_order():
    y_true = ["rock", "rock", "blues"]
    y_pred = ["rock", "blues", "blues"]
    per_class = per_class_metrics(y_true, y_pred, CLASSES)
    assert list(per_class) == CLASSES
    assert per_class["rock"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    assert per_class["jazz"]["support"] == 0
    np.testing.assert_array_equal(confusion(y_true, y_pred, CLASSES), [[1, 0, 0], [0, 0, 0], [1, 0, 1]])


def test_aggregate_tracks_keeps_first_appearance_or_sorts():
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5], [0.4, 0.6]])
    names, mean = aggregate_tracks(proba, ["a", "b"], ["t2", "t1", "t2", "t1"])
    assert names.tolist() == ["t2", "t1"]
    np.testing.assert_allclose(mean, [[0.7, 0.3], [0.3, 0.7]])
    names, mean = aggregate_tracks(proba, ["a", "b"], ["t2", "t1", "t2", "t1"], sort=True)
    assert names.tolist() == ["t1", "t2"]
    np.testing.assert_allclose(mean, [[0.3, 0.7], [0.7, 0.3]])


def test_track_truth_is_the_most_frequent_label():
    labels = track_truth(["a", "b", "b", "c"], ["t1", "t1", "t1", "t2"], ["t2", "t1"])
    assert labels.tolist() == ["c", "b"]


def test_score_fold_scores_segments_and_tracks():
    # track t1: segments say jazz (0.6) and rock (0.9 -> mean favours rock); t2 clearly blues
    proba = np.array([[0.0, 0.6, 0.4], [0.0, 0.1, 0.9], [0.8, 0.1, 0.1], [0.7, 0.2, 0.1]])
    fold = score_fold(proba, CLASSES, ["rock", "rock", "blues", "blues"], tracks=["t1", "t1", "t2", "t2"])
    assert fold.y_pred.tolist() == ["jazz", "rock", "blues", "blues"]
    assert fold.scores["accuracy"] == 0.75
    assert fold.track_names.tolist() == ["t1", "t2"]
    assert fold.track_pred.tolist() == ["rock", "blues"] and fold.track_true.tolist() == ["rock", "blues"]
    assert fold.scores["track_accuracy"] == 1.0
    np.testing.assert_allclose(fold.track_proba[0], [0.0, 0.35, 0.65])


def test_score_fold_of_a_track_table_has_no_track_scores():
    fold = score_fold(np.eye(3), CLASSES, CLASSES)
    assert set(fold.scores) == {"accuracy", "balanced_accuracy", "f1_macro"}
    assert fold.track_names is None


def test_score_fold_with_model_classes_that_miss_a_label():
    # the model saw two classes; macro F1 averages over all three of the problem
    fold = score_fold(
        np.array([[1.0, 0.0], [0.0, 1.0]]), ["blues", "rock"], ["blues", "rock"], classes=CLASSES
    )
    assert fold.scores["accuracy"] == 1.0
    assert fold.scores["f1_macro"] == pytest.approx(2 / 3)


def test_integer_coded_labels_score_like_strings():
    """The CNN's encoding (indices into the classes) gives the same numbers as labels."""
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(3), size=30)
    y = rng.integers(0, 3, size=30)
    tracks = np.repeat(np.arange(10), 3)
    by_label = score_fold(proba, CLASSES, np.asarray(CLASSES)[y], tracks=tracks)
    by_index = score_fold(proba, np.arange(3), y, tracks=tracks)
    assert by_label.scores == by_index.scores


def test_vote_tracks_majority_and_first_label_on_ties():
    names, truth, pred = vote_tracks(
        ["a", "a", "a", "b", "b"], ["a", "b", "b", "a", "b"], ["t1", "t1", "t1", "t2", "t2"]
    )
    assert names.tolist() == ["t1", "t2"]
    assert truth.tolist() == ["a", "b"]
    assert pred.tolist() == ["b", "a"]  # t2 is a tie: the first label wins


def test_summarize_scores_mean_and_population_std():
    folds = [{"accuracy": 0.6, "track_accuracy": 0.5}, {"accuracy": 0.8, "track_accuracy": 1.0}]
    out = summarize_scores(folds, ["accuracy", "track_accuracy", "f1_macro"])
    assert out["accuracy_mean"] == pytest.approx(0.7) and out["accuracy_std"] == pytest.approx(0.1)
    assert out["track_accuracy_std"] == pytest.approx(0.25)
    assert out["f1_macro_mean"] is None and out["f1_macro_std"] is None
    assert summarize_scores([], ["accuracy"]) == {"accuracy_mean": None, "accuracy_std": None}
