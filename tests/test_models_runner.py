"""``featurelab gridsearch`` as a function and a command: what it says it runs, and what it shows."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from models_helpers import track_table

from featurelab.cli import main
from featurelab.models.config import load_model_config
from featurelab.models.registry import available_models


def _table(tmp_path, n_per_class: int = 8):
    path = tmp_path / "t.csv"
    table = track_table(n_per_class)
    table.assign(filename=[f"song{i:03d}.wav" for i in range(len(table))]).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-m", "logreg"], 6),  # grid search over the 6 values of configs/logreg.yaml
        (["-m", "logreg", "--search", "random", "--n-iter", "4"], 4),
        (["-m", "logreg", "--search", "random", "--n-iter", "50"], 6),  # at most the grid's size
    ],
)
def test_gridsearch_prints_the_number_of_candidates_it_runs(tmp_path, capsys, args, expected):
    argv = ["gridsearch", str(_table(tmp_path)), *args, "--cv", "2", "--inner-cv", "2", "-j", "1"]
    assert main([*argv, "--no-save-model", "-o", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    printed = int(re.search(r"search \((\d+)(?: sampled)? candidates\)", out).group(1))
    ran = pd.read_csv(tmp_path / "run" / "cv_results.csv").groupby("fold")["params"].nunique()
    assert printed == expected and set(ran) == {expected}, out


def test_n_iter_help_states_the_defaults_of_the_configs():
    import typer

    from featurelab.cli import app

    command = typer.main.get_command(app).commands["gridsearch"]
    (option,) = [param for param in command.params if "--n-iter" in param.opts]
    assert "[default: the model's config: 8 for xgb and lgbm, else 20]" in option.help
    n_iter = {name: load_model_config(name).n_iter for name in available_models()}
    assert {name for name, n in n_iter.items() if n != 20} == {"xgb", "lgbm"}
    assert n_iter["xgb"] == n_iter["lgbm"] == 8


def test_the_final_refit_is_a_progress_step_of_its_own(tmp_path, monkeypatch):
    import featurelab.models.runner as runner
    from featurelab.progress import ProgressBar

    events = []

    class Recorder(ProgressBar):
        def __init__(self, progress, *, total, description, **kwargs):
            events.append(("bar", description, total))
            super().__init__(progress, total=total, description=description, **kwargs)

        def advance(self, steps=1):
            events.append(("advance", self.total))
            super().advance(steps)

    evaluate_module = __import__("featurelab.models.evaluate", fromlist=["fit_final"])
    real_fit_final = evaluate_module.fit_final
    monkeypatch.setattr(runner, "ProgressBar", Recorder)
    monkeypatch.setattr(
        evaluate_module, "fit_final", lambda *a, **k: events.append(("fit_final",)) or real_fit_final(*a, **k)
    )
    runner.gridsearch(
        _table(tmp_path), "logreg", out=tmp_path / "run", cv=2, inner_cv=2, n_jobs=1, progress=False
    )
    start = events.index(("bar", "logreg: final model (all rows)", 1))
    assert events[start + 1 :] == [("fit_final",), ("advance", 1)]
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["final_model"]["files"]
    assert results["final_model"]["fitted_on"] == {"part": "all", "rows": results["n_samples"]}
    assert f"Refitted on all {results['n_samples']} rows" in (tmp_path / "run" / "report.md").read_text()


def test_a_single_split_reports_its_test_rows_not_a_zero_spread(tmp_path, capsys):
    path = _table(tmp_path, 6)
    names = pd.read_csv(path)["filename"].tolist()
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "train.txt").write_text("\n".join(names[0::3] + names[1::3]) + "\n")
    (tmp_path / "s" / "test.txt").write_text("\n".join(names[2::3]) + "\n")
    argv = ["gridsearch", str(path), "-m", "logreg", "--split", str(tmp_path / "s"), "--inner-cv", "2"]
    assert main([*argv, "-j", "1", "--no-save-model", "-o", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert re.search(r"accuracy \d\.\d{4} on 6 test rows", out) and "± 0.0000" not in out, out
