"""Predictions: top-k, soft voting over segments, the CLI, and synthesized audio end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from models_helpers import segment_table, track_table

from featurelab.cli import main
from featurelab.exceptions import ModelFileError, ParameterError
from featurelab.models.persist import SavedModel
from featurelab.predict import Prediction, predict_table, top_k


class StubModel:
    """Returns the probability columns p_a, p_b, p_c of the table as its predictions."""

    classes_ = np.array(["a", "b", "c"])

    def predict_proba(self, X):
        return X[["p_a", "p_b", "p_c"]].to_numpy()


def _stub(extraction=None):
    meta = {
        "feature_names": ["p_a", "p_b", "p_c"],
        "classes": ["a", "b", "c"],
        "extraction": extraction or {"features": ["gtzan"], "sr": 22050, "segment": 3.0},
    }
    return SavedModel(estimator=StubModel(), metadata=meta, path=Path("stub.skops"))


def test_top_k():
    assert top_k([0.2, 0.5, 0.3], ["a", "b", "c"]) == [("b", 0.5), ("c", 0.3), ("a", 0.2)]
    assert top_k([0.5, 0.5], ["x", "y"], k=1) == [("x", 0.5)]  # stable tie break
    assert len(top_k([0.1] * 10, list("abcdefghij"), k=3)) == 3
    with pytest.raises(ParameterError, match="top must be a positive integer"):
        top_k([1.0], ["a"], k=0)


def test_segments_are_soft_voted():
    """Mean probabilities, not a majority of segment labels: 2 of 3 segments say b, yet a wins."""
    table = pd.DataFrame(
        {
            "filename": ["x.00000.0.wav", "x.00000.1.wav", "x.00000.2.wav", "y.00001.0.wav", "y.00001.1.wav"],
            "p_a": [0.9, 0.4, 0.4, 0.1, 0.3],
            "p_b": [0.1, 0.6, 0.6, 0.2, 0.2],
            "p_c": [0.0, 0.0, 0.0, 0.7, 0.5],
            "label": ["a"] * 5,
        }
    )
    predictions = predict_table(_stub(), table, top=2)
    assert [p.path for p in predictions] == ["x.00000.wav", "y.00001.wav"]
    assert predictions[0].label == "a" and predictions[0].n_segments == 3
    np.testing.assert_allclose([p for _, p in predictions[0].top], [1.7 / 3, 1.3 / 3])
    assert [label for label, _ in predictions[1].top] == ["c", "a"]
    assert predictions[1].to_dict() == {
        "path": "y.00001.wav",
        "top": [{"label": "c", "probability": 0.6}, {"label": "a", "probability": 0.2}],
        "n_windows": 2,
    }
    assert predictions[0].to_text().endswith("\t(3 windows)")


@pytest.mark.parametrize(
    "names",
    [
        ["blues/song.wav", "metal/song.wav"],  # one stem in two folders
        ["x.aiff", "x.au", "x.flac", "x.mp3", "x.ogg", "x.wav"],  # one stem, several formats
        ["blues.00000.wav", "blues.00000.au"],
    ],
)
def test_table_rows_of_files_sharing_a_stem_are_never_merged(names, tmp_path):
    """Issue 14, 1: one prediction per row of a track table, keyed by the full file name."""
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(3), size=len(names))
    table = pd.DataFrame({"filename": names, "p_a": proba[:, 0], "p_b": proba[:, 1], "p_c": proba[:, 2]})
    table["label"] = "a"
    predictions = predict_table(_stub({"features": ["gtzan"], "sr": 22050, "segment": None}), table, top=3)
    assert [p.path for p in predictions] == names
    assert [p.n_segments for p in predictions] == [1] * len(names)
    for prediction, row in zip(predictions, proba, strict=True):
        np.testing.assert_allclose(sorted(p for _, p in prediction.top), sorted(row))
    # the same from a file with a track-table sidecar, and for the segments of those files
    path = tmp_path / "t.csv"
    table.to_csv(path, index=False)
    (tmp_path / "t.meta.json").write_text(json.dumps({"table": "track", "features": ["gtzan"], "sr": 22050}))
    assert [p.path for p in predict_table(_stub({"segment": None}), path)] == names
    from featurelab.datasets import segment_name

    segments = pd.concat([table.assign(filename=[segment_name(n, i) for n in names]) for i in range(2)])
    predictions = predict_table(_stub(), segments)
    assert [p.path for p in predictions] == names and {p.n_segments for p in predictions} == {2}


def test_prediction_error_dict():
    assert Prediction(path="p.wav", error="file not found").to_dict() == {
        "path": "p.wav",
        "top": [],
        "error": "file not found",
    }


def test_table_lacking_model_features_is_refused():
    with pytest.raises(ModelFileError, match="feature columns are missing"):
        predict_table(_stub(), pd.DataFrame({"p_a": [1.0], "label": ["a"]}))


# ----------------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("trained")
    table = tmp_path / "seg.csv"
    segment_table(6, 3).to_csv(table, index=False)
    config = tmp_path / "tiny.yaml"
    config.write_text("grid:\n  clf__C: [0.1, 1.0]\n")
    code = main(
        [
            "gridsearch",
            str(table),
            "-m",
            "logreg",
            "--cv",
            "3",
            "--inner-cv",
            "2",
            "--config",
            str(config),
            "--out",
            str(tmp_path / "run"),
            "-q",
        ]
    )
    assert code == 0
    return tmp_path / "run", table


def test_gridsearch_cli_writes_a_complete_run_directory(trained_run):
    run, _ = trained_run
    for name in (
        "results.json",
        "cv_results.csv",
        "folds.csv",
        "report.md",
        "config.yaml",
        "confusion_matrix.png",
        "track_confusion_matrix.png",
        "model.skops",
        "model.joblib",
        "model.json",
    ):
        assert (run / name).is_file(), name
    results = json.loads((run / "results.json").read_text())
    assert results["model"] == "logreg"
    assert results["protocol"] == "3-fold StratifiedGroupKFold"
    assert results["search"]["grid"] == {"clf__C": [0.1, 1.0]}
    assert results["command"].startswith("featurelab")
    assert results["final_model"]["files"] == ["model.joblib", "model.json", "model.skops"]
    cv = pd.read_csv(run / "cv_results.csv")
    assert {"repeat", "fold", "mean_test_score", "params"} <= set(cv.columns)
    assert len(cv) == 3 * 2  # outer folds x candidates
    meta = json.loads((run / "model.json").read_text())
    assert meta["is_segment_table"] and meta["extraction"]["segment"] == 3.0
    assert meta["feature_names"] == ["signal_mean", "track_mean", "noise_var"]


def test_predict_cli_on_a_table_votes_per_track(trained_run, capsys):
    run, table = trained_run
    capsys.readouterr()
    assert main(["predict", str(run), str(table), "--json", "--top", "2"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 18  # tracks, not segments
    assert lines[0]["path"] == "blues.00000.wav"
    assert len(lines[0]["top"]) == 2
    assert lines[0]["top"][0]["probability"] >= lines[0]["top"][1]["probability"]


def test_predict_cli_refuses_joblib_without_trust_and_mismatched_tables(trained_run, tmp_path, capsys):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(trained_run[0], run)  # this test damages the model file
    assert main(["predict", str(run / "model.joblib"), "x.wav"]) == 2
    assert "arbitrary code" in capsys.readouterr().err
    other = tmp_path / "other.csv"
    track_table(3).to_csv(other, index=False)
    assert main(["predict", str(run), str(other)]) == 2
    assert "feature columns are missing" in capsys.readouterr().err
    (run / "model.skops").write_bytes(b"garbage")
    assert main(["predict", str(run), str(other)]) == 2
    assert "SHA-256" in capsys.readouterr().err


def test_compare_cli(trained_run, tmp_path, capsys):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(trained_run[0], run)
    table = trained_run[1]
    knn = tmp_path / "knn.yaml"
    knn.write_text("grid:\n  clf__n_neighbors: [1, 5]\n")
    assert (
        main(
            [
                "gridsearch",
                str(table),
                "-m",
                "knn",
                "--cv",
                "3",
                "--inner-cv",
                "2",
                "--config",
                str(knn),
                "--no-save-model",
                "--out",
                str(tmp_path / "run_knn"),
                "-q",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["compare", str(tmp_path), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {r["model"] for r in rows} == {"logreg", "knn"}
    assert rows[0]["accuracy_mean"] >= rows[1]["accuracy_mean"]
    assert (tmp_path / "leaderboard.png").is_file()
    assert main(["compare", str(run), "--chart", str(tmp_path / "c.png")]) == 0
    out = capsys.readouterr().out
    assert "logreg" in out and "±" in out
    assert main(["compare", str(tmp_path / "nothing")]) == 2


# ----------------------------------------------------------------------------- end to end
@pytest.mark.slow
def test_predict_synthesized_audio_end_to_end(tmp_path, capsys):
    """Synthesize audio, extract 1 s segments, grid-search, predict files: segment voting."""
    from featurelab.synthetic import make_synthetic_corpus

    corpus = tmp_path / "audio"
    make_synthetic_corpus(corpus, n_per_class=4, duration=3.0, styles=["ambient", "techno"], seed=1)
    table = tmp_path / "seg.csv"
    assert (
        main(["extract", str(corpus), "-o", str(table), "--segment", "1", "--no-cache", "-j", "1", "-q"]) == 0
    )
    config = tmp_path / "grid.yaml"
    config.write_text("grid:\n  clf__C: [1.0, 10.0]\n")
    assert (
        main(
            [
                "gridsearch",
                str(table),
                "-m",
                "svm",
                "--cv",
                "2",
                "--inner-cv",
                "2",
                "--config",
                str(config),
                "--out",
                str(tmp_path / "run"),
                "-q",
            ]
        )
        == 0
    )
    files = sorted(corpus.rglob("*.wav"))
    missing = tmp_path / "missing.wav"
    capsys.readouterr()
    code = main(["predict", str(tmp_path / "run"), *map(str, files), str(missing), "--json"])
    assert code == 1  # partial: one input failed
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert [line["path"] for line in lines] == [*map(str, files), str(missing)]
    assert lines[-1]["top"] == [] and "not found" in lines[-1]["error"]
    good = lines[:-1]
    for line in good:
        assert len(line["top"]) == 2 and line["n_windows"] == 3
        assert sum(t["probability"] for t in line["top"]) == pytest.approx(1.0, abs=1e-6)
    # issue 16: a clip shorter than one segment gets a prediction (looped to one window)
    import soundfile as sf

    y, sr = sf.read(files[0], dtype="float32")
    short = tmp_path / "short.wav"
    sf.write(short, y[: sr // 2], sr)
    assert main(["predict", str(tmp_path / "run"), str(short)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{short}\t") and line.endswith("\t(1 window)")
    # the styles are easy: the model recognizes its own training files
    hits = [line["top"][0]["label"] == Path(line["path"]).parent.name for line in good]
    assert np.mean(hits) >= 0.75


def test_predict_applies_the_models_loudness_normalisation(tmp_path, capsys):
    """A model trained on --normalize rms features predicts a file and its -20 dB copy alike."""
    import soundfile as sf

    from featurelab.synthetic import make_synthetic_corpus

    corpus = tmp_path / "audio"
    make_synthetic_corpus(corpus, n_per_class=3, duration=2.0, styles=["ambient", "techno"], seed=2)
    table = tmp_path / "seg.csv"
    extract = [
        "extract",
        str(corpus),
        "-o",
        str(table),
        "--segment",
        "1",
        "--normalize",
        "rms",
        "-q",
        "-j",
        "1",
    ]
    assert main([*extract, "--no-cache"]) == 0
    config = tmp_path / "grid.yaml"
    config.write_text("grid:\n  clf__C: [1.0]\n")
    gridsearch = ["gridsearch", str(table), "-m", "logreg", "--cv", "2", "--config", str(config), "-q"]
    assert main([*gridsearch, "--out", str(tmp_path / "run")]) == 0
    assert json.loads((tmp_path / "run" / "model.json").read_text())["extraction"]["normalize"] == "rms"
    source = sorted(corpus.rglob("*.wav"))[0]
    y, sr = sf.read(source, dtype="float32")
    quiet = tmp_path / "quiet.wav"
    sf.write(quiet, y * 0.1, sr, subtype="FLOAT")
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "run"), str(source), str(quiet), "--json"]) == 0
    loud, soft = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert loud["top"][0]["label"] == soft["top"][0]["label"]
    assert loud["top"][0]["probability"] == pytest.approx(soft["top"][0]["probability"], abs=0.01)
