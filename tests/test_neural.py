"""Neural backends: the PyTorch MLP (``mlp_torch``) and the log-mel CNN (``train-cnn``)."""

from __future__ import annotations

import json
import pickle
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from sklearn.base import clone  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from featurelab.exceptions import ParameterError  # noqa: E402
from featurelab.models.neural import MLPTorchClassifier, make_mlp_torch  # noqa: E402

pytestmark = pytest.mark.nn

SR = 22050
LABELS = ("high", "low", "noise")


# ----------------------------------------------------------------------------- MLP
def _blobs(n_per_class: int = 40, n_features: int = 8, seed: int = 0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 4, size=(3, n_features))
    X = np.concatenate([c + rng.normal(0, 1, size=(n_per_class, n_features)) for c in centers])
    y = np.repeat(np.array(["blues", "jazz", "rock"]), n_per_class)
    return X, y


def _expected_failed_checks(estimator):
    return {
        "check_class_weight_classifiers": (
            "weights {0: 1000, others: 1e-4} train the network on class 0 alone; unlike a linear "
            "model, a ReLU network extrapolates arbitrarily to the far-away clusters of the other "
            "classes, so predicting class 0 there is not guaranteed. class_weight itself is "
            "checked in test_mlp_class_weight_shifts_predictions."
        )
    }


@parametrize_with_checks(
    [MLPTorchClassifier(hidden=(16,), max_epochs=25, patience=5, batch_size=32, n_jobs=1)],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_mlp_class_weight_shifts_predictions():
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(-0.5, 1, (150, 4)), rng.normal(0.5, 1, (30, 4))]
    y = np.repeat(["major", "minor"], [150, 30])
    kw = dict(hidden=(16,), max_epochs=40, patience=40, n_jobs=1)
    plain = MLPTorchClassifier(**kw).fit(X, y)
    balanced = MLPTorchClassifier(class_weight="balanced", **kw).fit(X, y)
    favour = MLPTorchClassifier(class_weight={"minor": 20.0}, **kw).fit(X, y)
    n_minor = [(clf.predict(X) == "minor").sum() for clf in (plain, balanced, favour)]
    assert n_minor[0] < n_minor[1] < n_minor[2]
    with pytest.raises(ParameterError, match="class_weight keys must be class labels"):
        MLPTorchClassifier(class_weight={"other": 2.0}, max_epochs=1).fit(X, y)


def test_defaults_and_clone():
    clf = MLPTorchClassifier()
    params = clf.get_params()
    assert params["hidden"] == (256, 128) and params["dropout"] == 0.3
    assert params["validation_fraction"] == 0.15 and params["random_state"] == 0
    twin = clone(clf.set_params(hidden=(32, 16), lr=3e-3))
    assert twin.get_params()["hidden"] == (32, 16) and twin.lr == 3e-3
    pipe = make_mlp_torch(random_state=1, n_jobs=1)
    assert [name for name, _ in pipe.steps] == ["scale", "clf"]
    assert clone(pipe).get_params()["clf__random_state"] == 1
    with pytest.raises(ParameterError, match="mlp_torch parameters must be among"):
        make_mlp_torch(widths=(3,))


def test_registry_builds_mlp_torch():
    from featurelab.models import available_models, default_grid, make_model

    assert "mlp_torch" in available_models()
    model = make_model("mlp_torch", random_state=3, clf__hidden=(8,))
    assert model.get_params()["clf__hidden"] == (8,)
    grid = default_grid("mlp_torch")
    assert grid and all(key.startswith("clf__") for key in grid)


def test_mlp_separable_accuracy_and_early_stopping():
    from sklearn.model_selection import cross_val_score

    X, y = _blobs()
    model = make_mlp_torch(hidden=(32,), max_epochs=60, patience=8, n_jobs=1)
    scores = cross_val_score(model, X, y, cv=3)
    assert scores.mean() > 0.9
    clf = model.fit(X, y).named_steps["clf"]
    assert 1 <= clf.best_epoch_ <= clf.n_iter_ <= 60
    assert len(clf.history_) == clf.n_iter_
    assert np.isfinite(clf.history_[0]["val_loss"])  # a validation split was carved out of X
    assert set(clf.classes_) == set(y)


def test_mlp_reproducible_and_no_global_side_effects():
    X, y = _blobs(20)
    torch_state = torch.random.get_rng_state().clone()
    threads = torch.get_num_threads()
    np_state = np.random.get_state()[1].copy()
    first = MLPTorchClassifier(hidden=(16,), max_epochs=10, random_state=7, n_jobs=1).fit(X, y)
    second = MLPTorchClassifier(hidden=(16,), max_epochs=10, random_state=7, n_jobs=1).fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    other = MLPTorchClassifier(hidden=(16,), max_epochs=10, random_state=8, n_jobs=1).fit(X, y)
    assert not np.array_equal(first.predict_proba(X), other.predict_proba(X))
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    assert torch.get_num_threads() == threads
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)


def test_mlp_pickles_without_torch_objects():
    X, y = _blobs(20)
    pipe = make_mlp_torch(hidden=(16,), max_epochs=5, n_jobs=1).fit(X, y)
    clf = pipe.named_steps["clf"]
    assert all(isinstance(v, np.ndarray) for v in clf.state_dict_.values())
    restored = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_allclose(restored.predict_proba(X), pipe.predict_proba(X))


def test_mlp_parameter_errors_and_missing_torch(monkeypatch):
    X, y = _blobs(10)
    with pytest.raises(ParameterError, match="dropout must be a float in"):
        MLPTorchClassifier(dropout=1.5).fit(X, y)
    with pytest.raises(ParameterError, match="hidden must be a non-empty sequence"):
        MLPTorchClassifier(hidden=()).fit(X, y)
    with pytest.raises(ParameterError, match="device must be"):
        MLPTorchClassifier(device="tpu", max_epochs=1).fit(X, y)
    if not torch.cuda.is_available():
        with pytest.raises(ParameterError, match="sees no CUDA GPU"):
            MLPTorchClassifier(device="cuda", max_epochs=1).fit(X, y)
    monkeypatch.setitem(__import__("sys").modules, "torch", None)
    with pytest.raises(ParameterError, match=r"pip install torch==2\.13\.0"):
        MLPTorchClassifier(max_epochs=1).fit(X, y)


# ----------------------------------------------------------------------------- CNN
def _write_corpus(root: Path, n_per_class: int = 6, seconds: float = 2.0) -> Path:
    """Three clearly separable classes: a high sine, a low harmonic tone, noise bursts."""
    import soundfile as sf

    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * SR)) / SR
    for label in LABELS:
        (root / label).mkdir(parents=True, exist_ok=True)
        for i in range(n_per_class):
            if label == "high":
                y = 0.4 * np.sin(2 * np.pi * rng.uniform(3000, 4500) * t)
            elif label == "low":
                f0 = rng.uniform(80, 160)
                y = sum(0.3 / k * np.sin(2 * np.pi * k * f0 * t) for k in (1, 2, 3))
            else:
                gate = np.sin(2 * np.pi * rng.uniform(2, 4) * t) > 0
                y = 0.4 * gate * rng.standard_normal(t.size)
            y = y + 0.01 * rng.standard_normal(t.size)
            sf.write(root / label / f"{label}.{i:05d}.wav", y.astype(np.float32), SR)
    return root


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return _write_corpus(tmp_path_factory.mktemp("cnn") / "corpus")


def _config(**changes):
    from featurelab.models.cnn import CNNConfig

    base = dict(segment=1.0, epochs=12, batch_size=8, patience=12, augment_every=4, threads=1)
    return CNNConfig(**{**base, **changes})


class RecordingAugmenter:
    """A WaveAugmenter that remembers every waveform it was given."""

    def __init__(self):
        from featurelab.models.melspec import WaveAugmenter

        self.inner = WaveAugmenter()
        self.seen: list[np.ndarray] = []

    def __call__(self, y, sr, *, seed):
        self.seen.append(np.array(y, copy=True))
        return self.inner(y, sr, seed=seed)


@pytest.fixture(scope="module")
def cnn_run(corpus):
    pytest.importorskip("audiomentations")
    from featurelab.models.cnn import evaluate_cnn

    calls: list[tuple[str, int, np.ndarray]] = []
    augmenter = RecordingAugmenter()
    run = evaluate_cnn(
        corpus,
        cv=3,
        config=_config(),
        augmenter=augmenter,
        on_augment=lambda kind, fold, rows: calls.append((kind, fold, np.array(rows))),
    )
    return run, calls, augmenter


@pytest.mark.slow
def test_cnn_learns_separable_corpus(cnn_run):
    run, _, _ = cnn_run
    r = run.results
    assert r["accuracy_mean"] > 0.9
    assert r["track_accuracy_mean"] > 0.9
    assert r["n_tracks"] == 18 and r["n_samples"] == 36 and r["classes"] == list(LABELS)
    assert r["n_features"] == 128 * 44  # 128 mels x frames of a 1 s segment


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
    from featurelab.models.melspec import load_segment

    wave_rows = np.concatenate([rows for kind, _, rows in calls if kind == "wave"])
    params = run.config.mel_params()
    first = run.segments.iloc[wave_rows[0]]
    np.testing.assert_array_equal(
        augmenter.seen[0], load_segment(first["path"], float(first["start"]), params)
    )
    for fold in run.folds:
        assert np.isin(fold["augmented"], fold["train"]).all()


def test_cnn_run_directory(cnn_run, tmp_path):
    from featurelab.models.cnn import write_cnn_run

    run, _, _ = cnn_run
    out = write_cnn_run(run, tmp_path / "run")
    for name in (
        "results.json",
        "report.md",
        "confusion_matrix.png",
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
    assert not (out / "model.pt").exists()


def test_cnn_reproducible_with_seed(corpus):
    pytest.importorskip("audiomentations")
    from featurelab.models.cnn import evaluate_cnn

    config = _config(epochs=1, augment_fraction=0.3)
    first, second = (evaluate_cnn(corpus, cv=2, config=config) for _ in range(2))
    pd.testing.assert_frame_equal(first.history, second.history)
    pd.testing.assert_frame_equal(first.predictions, second.predictions)
    other = evaluate_cnn(corpus, cv=2, config=_config(epochs=1, seed=1, augment=False))
    assert not first.history["train_loss"].equals(other.history["train_loss"])


@pytest.mark.slow
def test_cnn_cli_split_file_saves_model(corpus, tmp_path):
    from featurelab.cli import main
    from featurelab.models.cnn import load_cnn_model

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
            "--split-file",
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
            "-o",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    assert results["protocol"].startswith("predefined split splits")
    assert results["n_tracks"] == 18 and results["fold_scores"][0]["fold"] == 0
    assert sum(sum(row) for row in results["track_confusion_matrix"]) == 3  # the test tracks
    module, classes, config = load_cnn_model(out / "model.pt")
    assert classes == list(LABELS) and config.segment == 1.0 and not config.augment
    from featurelab.models.cnn import predict_proba
    from featurelab.models.melspec import compute_segments, list_corpus

    files, _ = list_corpus(corpus)
    _, mels, _ = compute_segments(files.iloc[:2], config.mel_params())
    proba = predict_proba(module, mels, "cpu", top_db=config.top_db)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)


def test_cnn_cli_reports_bad_input(tmp_path, capsys):
    from featurelab.cli import main

    (tmp_path / "empty").mkdir()
    assert main(["train-cnn", str(tmp_path / "empty"), "--quiet"]) == 2
    assert "labelled audio files" in capsys.readouterr().err


def test_cnn_config_precedence(tmp_path):
    from featurelab.models.cnn import CNNConfig, load_cnn_config

    config, protocol = load_cnn_config()
    assert config == CNNConfig() and protocol == {"cv": 5, "split_dir": None}
    assert config.n_mels == 128 and config.segment == 3.0 and 4 <= len(config.channels) <= 5
    user = tmp_path / "cnn.yaml"
    user.write_text("cv: 4\nseed: 3\nparams:\n  epochs: 7\n  channels: [4, 8, 16, 32]\n")
    config, protocol = load_cnn_config(user, epochs=9, cv=None)
    got = (config.epochs, config.seed, config.channels, protocol["cv"])
    assert got == (9, 3, (4, 8, 16, 32), 4)
    user.write_text("params:\n  epoch: 7\n")
    with pytest.raises(ParameterError, match="unknown epoch"):
        load_cnn_config(user)
    with pytest.raises(ParameterError, match="at most log2"):
        CNNConfig(segment=0.25)  # 11 frames cannot go through 5 pooling blocks


def test_mel_cache_is_reused(corpus, tmp_path, monkeypatch):
    from featurelab.models import melspec

    files, _ = melspec.list_corpus(corpus)
    files = files.iloc[:3]
    params = melspec.MelParams(segment=1.0)
    first, mels, problems = melspec.compute_segments(files, params, cache_dir=tmp_path / "c")
    assert not problems and mels.shape == (6, 128, 44) and mels.dtype == np.float32
    assert len(list((tmp_path / "c").rglob("*.npy"))) == 3

    def fail(*args, **kwargs):
        raise AssertionError("audio decoded although cached")

    monkeypatch.setattr("featurelab.io.load_audio", fail)
    second, cached, _ = melspec.compute_segments(files, params, cache_dir=tmp_path / "c")
    np.testing.assert_array_equal(cached, mels)
    pd.testing.assert_frame_equal(first, second)
    assert first["filename"].tolist()[:2] == ["high.00000.0.wav", "high.00000.1.wav"]


def test_wave_augmenter_is_seeded_and_contained():
    pytest.importorskip("audiomentations")
    from featurelab.models.melspec import WaveAugmenter

    y = (0.3 * np.sin(2 * np.pi * 440 * np.arange(SR) / SR)).astype(np.float32)
    py_state, np_state = random.getstate(), np.random.get_state()[1].copy()
    aug = WaveAugmenter(p=1.0)
    a, b, c = aug(y, SR, seed=1), aug(y, SR, seed=1), aug(y, SR, seed=2)
    assert a.shape == y.shape and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c) and not np.array_equal(a, y)
    assert random.getstate() == py_state
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)


def test_spec_augment_masks_bands():
    from featurelab.models.cnn import spec_augment

    x = torch.arange(4 * 32 * 40, dtype=torch.float32).reshape(4, 32, 40)
    gen = torch.Generator().manual_seed(0)
    config = _config(freq_masks=1, freq_mask_width=8, time_masks=1, time_mask_width=10)
    y = spec_augment(x, gen, config)
    assert y.shape == x.shape and torch.equal(x, torch.arange(4 * 32 * 40.0).reshape(4, 32, 40))
    changed = (y != x).sum(dim=(1, 2))
    assert (changed <= 8 * 40 + 10 * 32).all() and changed.sum() > 0
    none = _config(freq_masks=0, time_masks=0)
    assert torch.equal(spec_augment(x, gen, none), x)
