"""Leaderboards of run directories: finding runs, hostile files, unwritable charts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from featurelab.cli import main
from featurelab.compare import find_runs, format_leaderboard, leaderboard
from featurelab.exceptions import FeaturelabError, ParameterError


def _run(root: Path, name: str, text: str | dict) -> Path:
    run = root / name
    run.mkdir(parents=True)
    (run / "results.json").write_text(text if isinstance(text, str) else json.dumps(text))
    return run


@pytest.fixture
def runs(tmp_path) -> Path:
    root = tmp_path / "runs"
    _run(root, "svm", {"model": "svm", "protocol": "5-fold", "accuracy_mean": 0.75, "accuracy_std": 0.02})
    _run(root, "lgbm", {"model": "lgbm", "protocol": "5-fold", "accuracy_mean": 0.8, "n_samples": 100})
    select = root / "select"
    select.mkdir()
    (select / "selection.json").write_text('{"model": "xgb"}')
    return root


def test_only_runs_with_results_are_ranked(runs):
    assert [p.name for p in find_runs([runs])] == ["lgbm", "svm"]
    frame = leaderboard([runs])
    assert frame["model"].tolist() == ["lgbm", "svm"]
    text = format_leaderboard(frame)
    assert "0.7500 ± 0.0200" in text and "0.8000 " in text


def test_a_selection_run_alone_is_not_a_leaderboard_run(runs):
    with pytest.raises(ParameterError, match=r"is not a run directory .*no results.json.*gridsearch`\.$"):
        leaderboard([runs / "select"])


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('{"model": "x", "accuracy_mean": 1' + "0" * 4000 + "}", "no numeric accuracy_mean"),
        ("[" * 100_000 + "]" * 100_000, "nests deeper than"),
        ('{"schema_version": 5, "accuracy_mean": 0.5}', "schema_version 5"),
        ('{"model": "x"}', "no numeric accuracy_mean"),
    ],
)
def test_hostile_results_fail_with_one_line(tmp_path, capsys, text, match):
    run = _run(tmp_path, "evil", text)
    with pytest.raises(FeaturelabError, match=match):
        leaderboard([run])
    assert main(["compare", str(run), "--chart", str(tmp_path / "c.png")]) == 2
    err = capsys.readouterr().err
    assert match in err and len(err.strip().splitlines()) == 1


def test_unwritable_chart_fails_before_reading_runs(runs, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["compare", str(runs), "--chart", str(blocker / "c.png")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: Cannot write") and len(err.strip().splitlines()) == 1


def test_default_chart_goes_beside_the_runs(runs, capsys):
    assert main(["compare", str(runs), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["model"] for row in rows] == ["lgbm", "svm"]
    assert rows[0]["n_samples"] == 100
    assert (runs / "leaderboard.png").is_file()


def test_the_table_shows_fit_and_predict_time(tmp_path, capsys):
    run = _run(
        tmp_path,
        "svm",
        {"model": "svm", "accuracy_mean": 0.75, "fit_time_mean": 1.25, "predict_time_per_track": 0.000456},
    )
    frame = leaderboard([run])
    assert frame["predict_time_per_track"].tolist() == [0.000456]
    header, _, row = format_leaderboard(frame).splitlines()
    assert "fit s/fold" in header and "predict ms/track" in header
    assert "1.2" in row.split() and "0.456" in row.split()
    assert main(["compare", str(run), "--json", "--chart", str(tmp_path / "c.png")]) == 0
    assert json.loads(capsys.readouterr().out)["predict_time_per_track"] == 0.000456
