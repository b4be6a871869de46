"""The model registry, factories, configs and featurelab's own estimators."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from models_helpers import track_table

from featurelab.exceptions import ParameterError
from featurelab.models import (
    available_models,
    default_grid,
    final_estimator,
    make_model,
)
from featurelab.models.config import (
    SearchConfig,
    grid_size,
    load_model_config,
    merge_config,
    read_config_file,
    resolve_grid,
)
from featurelab.models.estimators import LabelEncodingClassifier, SignedLogTransformer
from featurelab.models.runner import resolve_config

CLASSICAL = ["svm", "logreg", "knn", "rf", "xgb", "lgbm", "mlp", "voting"]


def test_available_models_lists_the_issue_models():
    names = available_models()
    for name in [*CLASSICAL, "mlp_torch"]:
        assert name in names


def test_unknown_model_lists_valid_names():
    with pytest.raises(ParameterError, match=r"model must be one of svm, logreg.*Got 'svn'"):
        make_model("svn")


@pytest.mark.parametrize("name", CLASSICAL)
def test_every_model_is_a_pipeline_ending_in_clf_and_scales_where_needed(name):
    model = make_model(name)
    steps = [step for step, _ in model.steps]
    assert steps[-1] == "clf"
    assert ("scale" in steps) == (name in ("svm", "logreg", "knn", "mlp"))


@pytest.mark.parametrize("name", CLASSICAL)
def test_default_grid_addresses_real_parameters(name):
    """Every key of configs/<name>.yaml (grid and fixed params) is settable on the model."""
    config = load_model_config(name)
    model = make_model(name, **config.options)
    model.set_params(**config.params)
    grids = config.grid if isinstance(config.grid, list) else [config.grid]
    for grid in grids:
        resolved = resolve_grid(grid, search="random")
        model.set_params(**{key: values[0] for key, values in resolved.items()})


def test_svm_default_grid_is_the_studies_grid():
    grid = default_grid("svm")
    cs = {c for sub in grid for c in sub["clf__C"]}
    assert cs == {0.1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100}
    assert {k for sub in grid for k in sub["clf__kernel"]} == {"linear", "rbf"}
    rbf = next(sub for sub in grid if sub["clf__kernel"] == ["rbf"])
    assert set(rbf["clf__gamma"]) == {"scale", "auto", 0.1, 0.01, 0.005, 1}
    assert grid_size(grid) == 12 + 12 * 6


def test_make_model_routes_factory_options_and_pipeline_params():
    model = make_model("voting", members="svm,lgbm", clf__lgbm__clf__num_leaves=7)
    voter = model.named_steps["clf"]
    assert [name for name, _ in voter.estimators] == ["svm", "lgbm"]
    assert model.get_params()["clf__lgbm__clf__num_leaves"] == 7
    # the SVM member is calibrated (SVC(probability=True) is deprecated)
    assert type(voter.estimators[0][1]).__name__ == "CalibratedClassifierCV"
    with pytest.raises(ParameterError, match="Invalid parameter"):
        make_model("svm", clf__not_a_param=1)


def test_voting_member_grid_makes_a_self_tuning_member():
    model = make_model("voting", members=["svm", "logreg"], member_grids={"svm": {"clf__C": [1, 10]}})
    svm = dict(model.named_steps["clf"].estimators)["svm"]
    assert type(svm.estimator).__name__ == "GridSearchCV"
    with pytest.raises(ParameterError, match="member_grids names models that are not members"):
        make_model("voting", members=["svm", "logreg"], member_grids={"knn": {}})


def test_voting_members_are_validated():
    with pytest.raises(ParameterError, match="at least two different models"):
        make_model("voting", members=["svm"])
    with pytest.raises(ParameterError, match="at least two different models"):
        make_model("voting", members=["svm", "voting"])


def test_class_weight_support():
    for name in ("svm", "xgb", "lgbm", "rf", "logreg"):
        params = make_model(name, class_weight="balanced").get_params()
        assert params["clf__class_weight"] == "balanced", name
    with pytest.raises(ParameterError, match="class_weight is not supported by model 'knn'"):
        make_model("knn", class_weight="balanced")


def test_log_var_prepends_a_stateless_step():
    model = make_model("svm", log_var=True)
    assert [s for s, _ in model.steps] == ["logvar", "scale", "clf"]


def test_final_estimator_unwraps_xgb():
    table = track_table(10)
    X, y = table[["signal_mean", "spread_var"]], table["label"]
    model = make_model("xgb", clf__estimator__n_estimators=5).fit(X, y)
    assert type(final_estimator(model)).__name__ == "XGBClassifier"
    assert list(model.classes_) == ["blues", "jazz", "rock"]
    assert set(model.predict(X)) <= {"blues", "jazz", "rock"}


# ----------------------------------------------------------------------------- estimators
def test_signed_log_transformer_values_and_columns():
    X = pd.DataFrame({"a_mean": [-2.0, 0.0, 3.0], "a_var": [0.0, 1e-6, 1e-2], "b_var": [-1.0, 0.0, 1.0]})
    out = SignedLogTransformer(scale=1e-8).fit_transform(X)
    np.testing.assert_allclose(out[:, 0], X["a_mean"])  # not a *_var column: untouched
    np.testing.assert_allclose(out[:, 1], np.log1p(X["a_var"] / 1e-8))
    np.testing.assert_allclose(out[:, 2], np.sign(X["b_var"]) * np.log1p(np.abs(X["b_var"]) / 1e-8))
    # monotone: ranks of each column are preserved
    assert (np.argsort(out[:, 1]) == np.argsort(X["a_var"].to_numpy())).all()
    assert list(SignedLogTransformer().fit(X).get_feature_names_out()) == list(X.columns)


def test_signed_log_transformer_is_stateless():
    a = pd.DataFrame({"v_var": [1.0, 10.0]})
    b = pd.DataFrame({"v_var": [1e3, 1e6]})
    t1 = SignedLogTransformer().fit(a)
    t2 = SignedLogTransformer().fit(b)
    np.testing.assert_array_equal(t1.transform(b), t2.transform(b))


def test_signed_log_transformer_validation():
    with pytest.raises(ParameterError, match="needs a pandas DataFrame"):
        SignedLogTransformer(columns="*_var").fit(np.ones((3, 2)))
    with pytest.raises(
        ParameterError, match="The 'scale' parameter of SignedLogTransformer must be a float in the range"
    ):
        SignedLogTransformer(scale=0).fit(np.ones((3, 2)))
    with pytest.raises(ParameterError, match="columns must name columns"):
        SignedLogTransformer(columns=["nope"]).fit(pd.DataFrame({"a": [1.0]}))


def test_label_encoding_classifier_class_weight_equals_sample_weight():
    from sklearn.linear_model import LogisticRegression
    from sklearn.utils.class_weight import compute_sample_weight

    table = track_table(10)
    table = table.iloc[: 10 + 10 + 4]  # imbalanced: 10 blues, 10 jazz, 4 rock
    X, y = table[["signal_mean", "spread_var"]].to_numpy(), table["label"].to_numpy()
    weighted = LabelEncodingClassifier(LogisticRegression(), class_weight="balanced").fit(X, y)
    manual = LogisticRegression().fit(
        X, np.searchsorted(weighted.classes_, y), sample_weight=compute_sample_weight("balanced", y)
    )
    np.testing.assert_allclose(weighted.predict_proba(X), manual.predict_proba(X))


# ----------------------------------------------------------------------------- configs
def test_config_precedence(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("grid:\n  clf__C: [1, 2]\ncv: 4\nseed: 7\nlog_var: true\n")
    cfg = resolve_config("svm", path, cv=3, seed=None)
    assert cfg.grid == {"clf__C": [1, 2]}  # config file replaces the packaged grid
    assert cfg.cv == 3  # flag beats config
    assert cfg.seed == 7  # config beats default (flag not given)
    assert cfg.log_var is True
    assert resolve_config("xgb").search == "random"  # packaged config
    assert resolve_config("xgb", search="grid").search == "grid"


def test_config_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("grdi: {}\n")
    with pytest.raises(ParameterError, match="unknown keys: grdi"):
        read_config_file(bad)
    with pytest.raises(ParameterError, match="search must be one of grid, halving, random"):
        merge_config(SearchConfig(), {"search": "bayes"})
    with pytest.raises(ParameterError, match="cv must be an integer >= 2"):
        merge_config(SearchConfig(), {"cv": 1})
    with pytest.raises(ParameterError, match="exclusive"):
        merge_config(SearchConfig(), {"test_size": 0.2, "split_dir": "x"})
    with pytest.raises(ParameterError, match="does not exist"):
        read_config_file(tmp_path / "missing.yaml")


def test_resolve_grid_distributions():
    grid = {"clf__C": {"loguniform": [0.1, 100]}, "clf__kernel": ["rbf"]}
    resolved = resolve_grid(grid, search="random")
    assert hasattr(resolved["clf__C"], "rvs")
    assert grid_size(grid) is None
    with pytest.raises(ParameterError, match="grid search cannot take"):
        resolve_grid(grid, search="grid")
    with pytest.raises(ParameterError, match="must be a list or one of"):
        resolve_grid({"clf__C": {"normal": [0, 1]}}, search="random")


def test_bench_script_skips_cleanly_without_data(tmp_path, capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "bench" / "models_bench.py"
    spec = importlib.util.spec_from_file_location("models_bench", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--data", str(tmp_path), "--out", str(tmp_path / "out")]) == 0
    assert "skipped" in capsys.readouterr().err


def test_package_exports():
    import featurelab.models as models

    assert callable(models.evaluate) and callable(models.gridsearch)
    assert callable(models.load_model) and callable(models.load_dataset)
