"""A ``train-cnn`` run is a run like any other: ``predict``, ``compare`` and ``report`` use it.

One tiny training (2 folds, 1 epoch, 1 s segments, small network) feeds every test here.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from nn_helpers import LABELS, SR, write_corpus  # noqa: E402

from featurelab.cli import main  # noqa: E402
from featurelab.exceptions import ModelFileError  # noqa: E402
from featurelab.models import load_model  # noqa: E402

pytestmark = pytest.mark.nn


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """``featurelab train-cnn`` on a corpus with one file too short for a segment, plus an svm run."""
    import soundfile as sf

    from featurelab.models.rundir import RunWriter

    root = tmp_path_factory.mktemp("cnn-run")
    corpus = write_corpus(root / "corpus", n_per_class=3)
    sf.write(corpus / "low" / "low.short.wav", np.zeros(SR // 2, np.float32), SR)
    config = root / "cnn.yaml"
    config.write_text("params:\n  channels: [4, 8]\n  batch_size: 8\n  threads: 1\n")
    runs = root / "runs"
    args = ["train-cnn", str(corpus), "--cv", "2", "--epochs", "1", "--segment", "1", "--seed", "1"]
    args += ["--config", str(config), "--no-augment", "--save-model", "-j", "1", "-o", str(runs / "cnn")]
    code = main(args)
    with RunWriter.start(runs / "svm", name="svm") as svm:  # a classical run beside it
        svm.write_results({"model": "svm", "protocol": "5-fold", "accuracy_mean": 0.4, "accuracy_std": 0.1})
    return {"code": code, "corpus": corpus, "runs": runs, "run": runs / "cnn"}


def test_train_cnn_writes_a_run_with_a_safe_model(trained, capsys):
    run = trained["run"]
    assert trained["code"] == 1  # the short file was skipped (and reported)
    results = json.loads((run / "results.json").read_text())
    (skipped,) = results["skipped_files"]
    assert skipped["path"].endswith("low.short.wav") and "shorter than one 1 s segment" in skipped["reason"]
    assert results["model"] == "cnn" and results["schema_version"] == 1 and results["n_tracks"] == 9
    assert results["final_model"]["files"] == ["model.joblib", "model.json", "model.skops"]
    assert {"n_train", "n_test", "fit_time", "accuracy", "track_f1_macro"} <= set(results["fold_scores"][0])
    meta = json.loads((run / "model.json").read_text())
    assert meta["inputs"] == {
        **{"product": "logmel", "version": "1"},
        **{"n_mels": 128, "n_fft": 2048, "hop_length": 512, "top_db": 80.0},
    }
    assert meta["extraction"]["segment"] == 1.0 and meta["extraction"]["segment_mode"] == "exact"
    assert "features" not in meta["extraction"] and meta["feature_names"] == []
    assert set(meta["files"]) == {"model.skops", "model.joblib"}
    saved = load_model(run)  # skops, without trust: every type in it is trusted
    assert saved.path.name == "model.skops" and saved.classes == list(LABELS)
    assert type(saved.estimator).__name__ == "CNNClassifier"
    assert saved.estimator.settings.channels == (4, 8)
    assert all(isinstance(v, np.ndarray) for v in saved.estimator.state_dict_.values())
    with pytest.raises(ModelFileError, match="joblib/pickle file"):
        load_model(run / "model.joblib")
    pickled = load_model(run / "model.joblib", trust=True)
    X = np.random.default_rng(0).uniform(-80, 0, (3, 128, 44)).astype(np.float32)
    np.testing.assert_array_equal(pickled.predict_proba(X), saved.predict_proba(X))
    with pytest.raises(ModelFileError, match=r"takes logmel arrays of shape \(128, 44\)"):
        saved.predict_proba(X[:, :64])


def test_predict_audio_averages_the_segments(trained, capsys):
    run, corpus = trained["run"], trained["corpus"]
    files = [corpus / "high" / "high.00000.wav", corpus / "low" / "low.short.wav", corpus / "noise"]
    code = main(["predict", str(run), *map(str, files), "--top", "2", "--json", "-j", "1", "-q"])
    captured = capsys.readouterr()
    assert code == 0  # the short file is looped to one segment (issue 16)
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert [Path(line["path"]).name for line in lines] == [
        "high.00000.wav",
        "low.short.wav",
        "noise.00000.wav",
        "noise.00001.wav",
        "noise.00002.wav",
    ]
    assert len(lines[0]["top"]) == 2 and {t["label"] for t in lines[0]["top"]} <= set(LABELS)
    assert lines[1]["n_windows"] == 1 and "error" not in lines[1] and lines[0]["n_windows"] == 2

    from featurelab.arrays import extract_arrays
    from featurelab.predict import predict_files

    (prediction,) = predict_files(run, [files[0]], top=3, n_jobs=1, progress=False)
    saved = load_model(run)
    inputs = extract_arrays(
        [str(files[0])], saved.product, settings=saved.extraction, n_jobs=1, progress=False
    )
    mean = saved.predict_proba(inputs.arrays).mean(axis=0)
    assert prediction.n_segments == 2 == len(inputs.arrays)  # 2 s file, 1 s segments
    assert [label for label, _ in prediction.top] == [
        saved.classes[i] for i in np.argsort(-mean, kind="stable")
    ]
    np.testing.assert_allclose([p for _, p in prediction.top], np.sort(mean)[::-1], rtol=1e-12)


def test_predict_table_with_a_cnn_is_one_clear_line(trained, tmp_path, capsys):
    table = tmp_path / "table.csv"
    table.write_text("filename,label,rms_mean\na.wav,low,0.1\n")
    assert main(["predict", str(trained["run"]), str(table)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "takes logmel spectrograms of audio segments, not the rows of a feature table" in err


def test_compare_and_report_treat_the_cnn_like_any_run(trained, tmp_path, capsys):
    runs = trained["runs"]
    assert main(["compare", str(runs), "--json", "--chart", str(tmp_path / "board.png")]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert sorted(row["model"] for row in rows) == ["cnn", "svm"]
    cnn = next(row for row in rows if row["model"] == "cnn")
    assert cnn["track_accuracy_mean"] is not None and cnn["n_samples"] == 18

    out = tmp_path / "report.html"
    assert main(["report", str(runs), "-o", str(out), "-q"]) == 0
    text = out.read_text(encoding="utf-8")
    sections = text.split('<section class="run"')[1:]
    assert len(sections) == 2  # exactly one section per run
    (cnn_section,) = [section for section in sections if "<h2>cnn " in section]
    assert "<figcaption>Training curves</figcaption>" in cnn_section
    assert "Confusion matrix of tracks" in cnn_section and "track accuracy" in cnn_section


def test_an_old_model_pt_run_fails_with_one_line_naming_the_version(tmp_path, capsys):
    old = tmp_path / "old-cnn"
    old.mkdir()
    (old / "model.pt").write_bytes(b"PK\x03\x04 not read")
    (old / "results.json").write_text(json.dumps({"model": "cnn", "featurelab_version": "0.1.0"}))
    message = r"holds model.pt, a CNN saved in PyTorch's format by featurelab 0\.1\.0's train-cnn"
    with pytest.raises(ModelFileError, match=message):
        load_model(old)
    with pytest.raises(ModelFileError, match=message):
        load_model(old / "model.pt", trust=True)
    assert main(["predict", str(old), str(tmp_path / "song.wav")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Retrain it with `featurelab train-cnn --save-model`" in err


def test_destination_is_checked_before_training(tmp_path, monkeypatch):
    from featurelab.exceptions import ParameterError
    from featurelab.nn.cnn import evaluate, train_cnn

    def fail(*args, **kwargs):
        raise AssertionError("evaluated although the destination is unusable")

    monkeypatch.setattr(evaluate, "evaluate_cnn", fail)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ParameterError, match="exists and is not a folder"):
        train_cnn(tmp_path, out=blocker)
