"""featurelab.nn.cnn end to end: evaluation, one fold's training, the run folder and ``train-cnn``.

``train-cnn`` writes a run like any other: ``predict`` uses its model, ``compare`` lists it and
``report`` gives it one section (see also test_nn_cnn_run.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from nn_helpers import LABELS, cnn_config, write_corpus  # noqa: E402

from featurelab.nn.cnn import (  # noqa: E402
    WaveAugmenter,
    evaluate_cnn,
    load_segment,
    write_cnn_run,
)

pytestmark = pytest.mark.nn


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("cnn") / "corpus")


class RecordingAugmenter:
    """A WaveAugmenter that remembers every waveform it was given."""

    def __init__(self):
        self.inner = WaveAugmenter()
        self.seen: list[np.ndarray] = []

    def __call__(self, y, sr, *, seed):
        self.seen.append(np.array(y, copy=True))
        return self.inner(y, sr, seed=seed)


@pytest.fixture(scope="module")
def cnn_run(corpus):
    pytest.importorskip("audiomentations")
    calls: list[tuple[str, int, np.ndarray]] = []
    augmenter = RecordingAugmenter()
    run = evaluate_cnn(
        corpus,
        cv=3,
        config=cnn_config(),
        n_jobs=1,
        augmenter=augmenter,
        on_augment=lambda kind, fold, rows: calls.append((kind, fold, np.array(rows))),
    )
    return run, calls, augmenter


@pytest.mark.slow
def test_cnn_learns_separable_corpus(cnn_run):
    run, _, _ = cnn_run
    r = run.results
    assert r.get("accuracy_mean") > 0.9
    assert r.get("track_accuracy_mean") > 0.9
    assert r.n_tracks == 18 and r.n_samples == 36 and r.classes == list(LABELS)
    assert r.n_features == 128 * 44  # 128 mels x frames of a 1 s segment


def test_cnn_folds_are_grouped_by_track(cnn_run):
    run, _, _ = cnn_run
    groups = run.segments["group"].to_numpy()
    tested = np.concatenate([fold["test"] for fold in run.folds])
    assert sorted(tested) == list(range(len(groups)))  # every segment tested exactly once
    for fold in run.folds:
        train, valid, test = (set(groups[fold[p]]) for p in ("train", "valid", "test"))
        assert not (train & test) and not (train & valid) and not (valid & test)
        assert valid  # early stopping tracks come out of the training fold


def test_augmentation_only_touches_training_rows(cnn_run):
    run, calls, augmenter = cnn_run
    kinds = {kind for kind, _, _ in calls}
    assert kinds == {"wave", "spec"}
    for kind, fold_index, rows in calls:
        fold = run.folds[fold_index]
        assert np.isin(rows, fold["train"]).all(), kind
        assert not np.isin(rows, fold["valid"]).any(), kind
        assert not np.isin(rows, fold["test"]).any(), kind
    # the waveforms the augmenter saw are exactly those of the rows reported as augmented
    n_wave = sum(len(rows) for kind, _, rows in calls if kind == "wave")
    assert len(augmenter.seen) == n_wave > 0
    wave_rows = np.concatenate([rows for kind, _, rows in calls if kind == "wave"])
    first = run.segments.iloc[wave_rows[0]]
    np.testing.assert_array_equal(
        augmenter.seen[0], load_segment(first["path"], float(first["start"]), run.config)
    )
    for fold in run.folds:
        assert np.isin(fold["augmented"], fold["train"]).all()


def test_cnn_run_directory(cnn_run, tmp_path):
    from featurelab.models.rundir import RunWriter

    run, _, _ = cnn_run
    with RunWriter.start(tmp_path / "run", name="cnn") as writer:
        write_cnn_run(run, writer)
    out = writer.target
    for name in (
        "results.json",
        "report.md",
        "confusion_matrix.png",
        "track_confusion_matrix.png",
        "curves.png",
        "history.csv",
        "predictions.csv",
        "track_predictions.csv",
        "config.json",
    ):
        assert (out / name).is_file(), name
    results = json.loads((out / "results.json").read_text())
    contract = {
        "model",
        "protocol",
        "n_samples",
        "n_features",
        "n_classes",
        "classes",
        "accuracy_mean",
        "accuracy_std",
        "balanced_accuracy_mean",
        "balanced_accuracy_std",
        "f1_macro_mean",
        "f1_macro_std",
        "track_accuracy_mean",
        "track_accuracy_std",
        "fit_time_mean",
        "predict_time_per_track",
        "best_params",
        "fold_scores",
        "per_class",
        "confusion_matrix",
        "seed",
        "featurelab_version",
        "created",
        "command",
    }
    assert contract <= set(results)
    assert results["model"] == "cnn" and len(results["fold_scores"]) == 3
    assert np.asarray(results["confusion_matrix"]).sum() == results["n_samples"]
    history = pd.read_csv(out / "history.csv")
    assert {"train_loss", "val_loss", "train_accuracy", "val_accuracy"} <= set(history.columns)
    assert history.groupby("fold")["epoch"].max().tolist() == [
        p["epochs_run"] for p in results["best_params"]
    ]
    assert not list(out.glob("model.*")) and "final_model" not in results
    assert results["fold_scores"][0]["n_test"] + results["fold_scores"][0]["n_train"] < 36
    assert json.loads((out / "config.json").read_text()) == run.config.to_dict()


def test_cnn_reproducible_with_seed(corpus):
    pytest.importorskip("audiomentations")
    config = cnn_config(epochs=1, augment_fraction=0.3)
    first, second = (evaluate_cnn(corpus, cv=2, config=config, n_jobs=1) for _ in range(2))
    pd.testing.assert_frame_equal(first.history, second.history)
    pd.testing.assert_frame_equal(first.predictions, second.predictions)
    other = evaluate_cnn(corpus, cv=2, config=cnn_config(epochs=1, seed=1, augment=False), n_jobs=1)
    assert not first.history["train_loss"].equals(other.history["train_loss"])


@pytest.mark.slow
def test_cnn_cli_split_dir_saves_the_split_model(corpus, tmp_path):
    from featurelab.cli import main
    from featurelab.models import load_model

    splits = tmp_path / "splits"
    splits.mkdir()
    parts = {"train": range(0, 4), "valid": range(4, 5), "test": range(5, 6)}
    for part, indices in parts.items():
        lines = [f"{label}/{label}.{i:05d}.wav" for label in LABELS for i in indices]
        (splits / f"{part}_filtered.txt").write_text("\n".join(lines) + "\n")
    out = tmp_path / "run"
    code = main(
        [
            "train-cnn",
            str(corpus),
            "--split-file",  # the older name of --split-dir
            str(splits),
            "--segment",
            "1",
            "--epochs",
            "4",
            "--batch-size",
            "8",
            "--no-augment",
            "--threads",
            "1",
            "--save-model",
            "-j",
            "1",
            "-o",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    assert results["protocol"].startswith("predefined split splits")
    split = results["protocol_settings"]["split"]  # what the lists matched, as gridsearch records it
    assert split["name"] == "splits" and split["unlisted_rows"] == 0
    assert split["matched"] == split["listed"] == {"train": 12, "valid": 3, "test": 3}
    assert results["n_tracks"] == 18 and results["fold_scores"][0]["fold"] == 0
    assert sum(sum(row) for row in results["track_confusion_matrix"]) == 3  # the test tracks
    assert results["final_model"]["best_params"] == results["best_params"][0]
    fitted = results["final_model"]["fitted_on"]  # the split's model: not fitted on the test rows
    assert fitted["part"] == "train" and fitted["rows"] + fitted["early_stopping_rows"] < results["n_samples"]
    report = (out / "report.md").read_text()
    assert (
        f"Trained on the split's train part ({fitted['rows']} rows" in report
        and "Refitted on all" not in report
    )
    saved = load_model(out)
    assert saved.classes == list(LABELS) and saved.extraction.segment == 1.0
    assert not saved.estimator.settings.augment
    # the saved model is the split's model: same probabilities on the test segments
    predictions = pd.read_csv(out / "predictions.csv")
    from featurelab.arrays import extract_arrays

    test = [str(corpus / label / f"{label}.00005.wav") for label in LABELS]
    inputs = extract_arrays(test, saved.product, settings=saved.extraction, n_jobs=1, progress=False)
    expected = predictions[[f"proba_{label}" for label in LABELS]].to_numpy()
    np.testing.assert_allclose(saved.predict_proba(inputs.arrays), expected, rtol=0, atol=1e-12)


def test_cnn_cli_reports_bad_input(tmp_path, capsys):
    from featurelab.cli import main

    (tmp_path / "empty").mkdir()
    out = tmp_path / "run"
    assert main(["train-cnn", str(tmp_path / "empty"), "-o", str(out), "--quiet"]) == 2
    assert "labelled audio files" in capsys.readouterr().err
    (tmp_path / "short" / "a").mkdir(parents=True)
    import soundfile as sf

    sf.write(tmp_path / "short" / "a" / "x.wav", np.zeros(1000, np.float32), 22050)
    args = ["train-cnn", str(tmp_path / "short"), "--segment", "1", "-j", "1", "-o", str(out), "-q"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "at least one 1 s segment" in err and "shorter than one 1 s segment" in err
    assert not out.exists() and not list(tmp_path.glob(".run*"))  # nothing half-written


def test_cnn_progress_has_one_bar_per_fold(corpus):
    calls = []
    config = cnn_config(epochs=2, augment=False, spec_augment=False, validation_fraction=0.0)
    progress = lambda done, total: calls.append((done, total))  # noqa: E731
    evaluate_cnn(corpus, cv=2, config=config, n_jobs=1, progress=progress)
    n_files = len(list(corpus.rglob("*.wav")))
    assert calls[:n_files] == [(i, n_files) for i in range(1, n_files + 1)]  # spectrograms
    assert calls[n_files:] == [(1, 2), (2, 2), (1, 2), (2, 2)]  # epochs of fold 1, then fold 2


def test_a_partial_split_is_said_and_recorded_as_gridsearch_does(tmp_path, caplog):
    from featurelab.nn.cnn.evaluate import _make_folds

    # 3 labels x 4 tracks x 2 segments; the lists name a track the corpus lacks and leave one out
    tracks = [f"{label}/{label}.{i:05d}.wav" for label in LABELS for i in range(4)]
    segments = pd.DataFrame(
        [{"path": f"/data/{t}", "label": t.split("/")[0], "group": t} for t in tracks for _ in range(2)]
    )
    parts = {"train": tracks[0::2], "test": tracks[1::2][:-1] + ["jazz/jazz.00099.wav"]}
    for part, names in parts.items():
        (tmp_path / f"{part}.txt").write_text("\n".join(names) + "\n")
    with caplog.at_level("WARNING"):
        folds, protocol, split = _make_folds(segments, cnn_config(), 5, str(tmp_path))
    assert len(folds) == 1 and protocol.startswith("predefined split")
    recorded = split.to_dict()
    assert recorded["listed"]["test"] == len(parts["test"]) == recorded["matched"]["test"] + 1
    assert recorded["unlisted_rows"] == 2 and recorded["unlisted_tracks"] == 1
    assert recorded["rows"]["train"] == 2 * len(parts["train"])
    assert "are in no list and are left out" in caplog.text and "2 segments (1 tracks)" in caplog.text
    _, _, none = _make_folds(segments, cnn_config(), 2, None)
    assert none is None
