"""``featurelab demo`` end to end on a small corpus (the full demo is the README's first command)."""

from __future__ import annotations

import json

import pytest

from featurelab.cli import main


@pytest.mark.slow
# a corpus this small leaves two clips per class in the voting model's inner calibration folds
@pytest.mark.filterwarnings("ignore:The least populated class in y has only:UserWarning")
def test_demo_runs_end_to_end(tmp_path, capsys):
    from featurelab.demo import run_demo

    lines: list[str] = []
    result = run_demo(tmp_path / "demo", n_per_class=6, duration=3.5, cv=3, n_jobs=1, log=lines.append)
    assert len(lines) == 8 and lines[-1].startswith("[5/5]")
    assert set(result.runs) == {"svm", "lgbm", "voting", "svm-segments", "select-xgb"}
    for name in ("svm", "lgbm", "voting", "svm-segments"):
        results = json.loads((result.runs[name] / "results.json").read_text())
        assert 0 <= results["accuracy_mean"] <= 1
    seg = json.loads((result.runs["svm-segments"] / "results.json").read_text())
    assert "Group" in seg["protocol"] and seg["track_accuracy_mean"] is not None
    assert (result.runs["select-xgb"] / "ranking.csv").is_file()
    html = result.report.read_text(encoding="utf-8")
    assert "data:image/png;base64," in html and "<script" not in html
    summary = result.summary()
    assert "svm-segments" in summary and "Report:" in summary
    assert len(result.top_features) == 10


def test_demo_help_is_fast_and_documented(capsys):
    assert main(["demo", "--help"]) == 0
    out = capsys.readouterr().out
    assert "synthetic corpus" in out and "--n-per-class" in out
