"""The run contract: RunResults (schema versions), atomic run directories, finding and reading runs."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from models_helpers import segment_table, track_table

from featurelab.exceptions import FeaturelabError, ParameterError
from featurelab.models import evaluate
from featurelab.models.reportmd import report_markdown
from featurelab.models.results import SCHEMA_VERSION, SCORE_KEYS, RunResults
from featurelab.models.rundir import (
    RunWriter,
    find_runs,
    is_run_dir,
    locate_runs,
    read_results,
    read_run,
    write_results_json,
)


# ----------------------------------------------------------------------------- RunResults
def test_results_of_an_evaluation_round_trip_with_the_same_keys():
    results = evaluate(segment_table(4, 3), "logreg", grid={"clf__C": [1.0]}, cv=2, n_jobs=1).to_results()
    data = results.to_dict()
    assert data["schema_version"] == SCHEMA_VERSION
    assert set(SCORE_KEYS) <= set(data)
    assert {"track_per_class", "track_confusion_matrix", "search", "protocol_settings"} <= set(data)
    again = RunResults.from_dict(json.loads(json.dumps(data)))
    assert again.to_dict() == json.loads(json.dumps(data))


def test_track_tables_leave_the_optional_track_keys_out():
    data = evaluate(track_table(6), "logreg", grid={}, cv=2, n_jobs=1).summary()
    assert "track_per_class" not in data and "track_confusion_matrix" not in data
    assert data["track_accuracy_mean"] is None  # score keys are always written


def test_unversioned_results_load_as_version_1_and_keep_extra_keys():
    old = {"model": "cnn", "accuracy_mean": 0.7, "device": "cpu", "skipped_files": []}
    results = RunResults.from_dict(old)
    assert results.schema_version == 1 and results.model == "cnn"
    assert results.get("device") == "cpu" and results.score("accuracy") == (0.7, None)
    assert list(results.to_dict())[-2:] == ["device", "skipped_files"]


def test_newer_or_invalid_schema_version_fails_with_one_line():
    with pytest.raises(FeaturelabError, match=r"schema_version 2, newer than this featurelab"):
        RunResults.from_dict({"schema_version": SCHEMA_VERSION + 1})
    with pytest.raises(FeaturelabError, match="invalid schema_version"):
        RunResults.from_dict({"schema_version": "one"})
    with pytest.raises(FeaturelabError, match="does not hold a JSON object"):
        RunResults.from_dict([1, 2])


def test_score_is_none_for_anything_not_a_finite_number():
    results = RunResults.from_dict({"accuracy_mean": "high", "accuracy_std": float("inf")})
    assert results.score("accuracy") == (None, None)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('{"accuracy_mean": 1' + "0" * 4000 + "}", None),  # read as inf: no crash
        ("[" * 100_000 + "]" * 100_000, "nests deeper than"),
        ("{not json", "is not valid JSON"),
    ],
)
def test_read_results_is_guarded_against_hostile_files(tmp_path, text, match):
    (tmp_path / "results.json").write_text(text)
    if match is None:
        assert read_results(tmp_path).score("accuracy") == (None, None)
    else:
        with pytest.raises(FeaturelabError, match=match):
            read_results(tmp_path)


# ----------------------------------------------------------------------------- report.md
def test_report_md_escapes_labels_and_text():
    evil = "<script>alert(1)</script>"
    text = report_markdown(
        {
            "model": evil,
            "protocol": "a|b",
            "classes": [evil],
            "per_class": {evil: {"precision": 1, "recall": 1, "f1": 1, "support": 3}},
            "fold_scores": [{"repeat": 0, "fold": 0, "accuracy": 1.0}],
            "best_params": [{"clf__C": evil}],
            "command": "featurelab `rm -rf` <x>",
            "accuracy_mean": 0.5,
        }
    )
    assert "<script" not in text and "<x>" not in text
    assert "&lt;script&gt;" in text and "a\\|b" in text
    assert "| accuracy | 0.5000 |" in text


# ----------------------------------------------------------------------------- writing
def test_writer_moves_a_complete_run_into_place(tmp_path):
    with RunWriter.start(tmp_path / "runs" / "svm", name="svm") as run:
        run.write_results({"model": "svm", "accuracy_mean": 0.8})
        assert not (tmp_path / "runs" / "svm").exists()  # nothing visible before the end
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["svm"]
    assert json.loads((tmp_path / "runs" / "svm" / "results.json").read_text())["schema_version"] == 1
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "runs" / "svm").stat().st_mode & 0o777 == 0o777 & ~umask  # not mkdtemp's 0700


def test_a_failed_or_interrupted_run_leaves_nothing(tmp_path):
    for error in (ValueError("boom"), KeyboardInterrupt()):
        with pytest.raises(type(error)):
            with RunWriter.start(tmp_path / "deep" / "run", name="svm") as run:
                run.write_text("half.txt", "x")
                raise error
    assert list(tmp_path.iterdir()) == []  # not even the parent folders it created


def test_a_rerun_replaces_the_previous_run_as_a_whole(tmp_path):
    target = tmp_path / "run"
    with RunWriter.start(target, name="svm") as run:
        run.write_results({"model": "svm"})
        run.write_text("model.skops", "old model")
    with RunWriter.start(target, name="svm") as run:
        run.write_results({"model": "lgbm"})
    assert sorted(p.name for p in target.iterdir()) == ["results.json"]  # no stale model
    assert read_results(target).model == "lgbm"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_a_folder_of_other_files_is_never_replaced(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ParameterError, match="holds files that are not a run"):
        RunWriter.start(tmp_path, name="svm")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ParameterError, match="is not a folder"):
        RunWriter.start(tmp_path / "file", name="svm")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs POSIX permissions, not root")
def test_an_unwritable_destination_fails_before_any_work(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(FeaturelabError, match="Cannot create the run directory"):
            RunWriter.start(locked / "run", name="svm")
    finally:
        locked.chmod(0o700)


def test_an_unwritable_destination_fails_in_gridsearch_before_computing(tmp_path, monkeypatch):
    from featurelab.models import runner

    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    calls = []
    module = importlib.import_module("featurelab.models.evaluate")
    monkeypatch.setattr(module, "evaluate", lambda *a, **k: calls.append(1))
    with pytest.raises(FeaturelabError, match="Cannot create the run directory"):
        runner.gridsearch(track_table(5), "logreg", out=blocker / "run", grid={}, cv=2)
    assert calls == []


def test_stale_temporaries_of_a_killed_run_are_removed(tmp_path):
    code = (
        "import os, sys; from featurelab.models.rundir import RunWriter\n"
        f"run = RunWriter.start({str(tmp_path / 'run')!r}, name='svm')\n"
        "run.write_text('half.txt', 'x'); os._exit(9)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    subprocess.run([sys.executable, "-c", code], env=env, check=False)
    stale = [p.name for p in tmp_path.iterdir()]
    assert len(stale) == 1 and stale[0].startswith(".run.partial-")
    assert find_runs_or_none(tmp_path) is None  # a partial run is no run
    with RunWriter.start(tmp_path / "run", name="svm") as run:
        run.write_results({"model": "svm"})
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def find_runs_or_none(path):
    try:
        return find_runs([path])
    except ParameterError:
        return None


def test_write_results_json_adds_the_schema_version(tmp_path):
    write_results_json(tmp_path, {"model": "cnn", "accuracy_mean": 0.5})
    assert json.loads((tmp_path / "results.json").read_text())["schema_version"] == SCHEMA_VERSION


# ----------------------------------------------------------------------------- finding and reading
def _make(root: Path, name: str, marker: str = "results.json", content: str = '{"model": "x"}') -> Path:
    run = root / name
    run.mkdir(parents=True)
    (run / marker).write_text(content)
    return run


def test_locate_runs_in_folders_files_and_duplicates(tmp_path):
    a = _make(tmp_path / "runs", "a")
    b = _make(tmp_path / "runs", "b", "selection.json")
    (tmp_path / "runs" / "leaderboard.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (tmp_path / "runs" / ".hidden").mkdir()
    found = locate_runs([tmp_path / "runs", a / "results.json", b])
    assert found.runs == [a, b] and found.folders == [tmp_path / "runs"]
    assert find_runs(tmp_path / "runs", markers=("results.json",)) == [a]
    assert is_run_dir(a) and not is_run_dir(tmp_path / "runs")


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda p: p / "missing", "does not exist"),
        (lambda p: (p / "f.txt").write_text("x") and p / "f.txt", "is not a folder"),
        (lambda p: p, "is not a run directory and holds none"),
    ],
)
def test_locate_runs_errors(tmp_path, make, match):
    with pytest.raises(ParameterError, match=match):
        locate_runs([make(tmp_path)])


def test_read_run_notes_what_it_cannot_read(tmp_path):
    run = _make(tmp_path, "r", content="[1]")
    (run / "selection.json").write_text('{"schema_version": 7}')
    read = read_run(run)
    assert read.results is None and read.selection == {}
    assert read.notes == [
        "results.json does not hold a JSON object; ignored.",
        "selection.json could not be read: selection.json has schema_version 7, newer than this "
        f"featurelab {__import__('featurelab').__version__} reads (up to 1); upgrade featurelab to read it.",
    ]


def test_the_current_folder_as_destination(tmp_path, monkeypatch):
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    with RunWriter.start(".", name="svm") as run:
        run.write_results({"model": "svm"})
    assert read_results(tmp_path / "here").model == "svm"


@pytest.mark.parametrize(
    ("model", "settings", "fitted_on", "expected"),
    [
        ("svm", {"kind": "split"}, {"part": "all", "rows": 90}, "Refitted on all 90 rows with"),
        ("svm", {"kind": "split"}, None, "Refitted on all 90 rows with"),  # before fitted_on
        (
            "cnn",
            {"kind": "split"},
            {"part": "train", "rows": 50, "early_stopping_rows": 10},
            "Trained on the split's train part (50 rows, 10 held out for early stopping; "
            "the test rows were not used) with",
        ),
        ("cnn", {"kind": "split"}, None, "Trained on the split's train part (its test rows were not used)"),
        (
            "cnn",
            {"kind": "cv"},
            {"part": "all", "rows": 80, "early_stopping_rows": 10},
            "Trained on all 90 rows (80 to fit the weights, 10 held out for early stopping) with",
        ),
    ],
)
def test_report_md_says_what_the_saved_model_was_fitted_on(model, settings, fitted_on, expected):
    final = {"best_params": {}, "files": ["model.skops"]}
    if fitted_on is not None:
        final["fitted_on"] = fitted_on
    text = report_markdown(
        {"model": model, "protocol_settings": settings, "n_samples": 90, "final_model": final}
    )
    assert expected in text
    assert ("all 90 rows" in text) == ("all" in expected)
