"""Nested evaluation: planted parameters are found, nothing is fitted on test rows, seeds
reproduce results, segment tables are scored per track."""

from __future__ import annotations

import numpy as np
import pytest
from models_helpers import rings_table, segment_table, track_table
from sklearn.preprocessing import StandardScaler

from featurelab.exceptions import ParameterError
from featurelab.models import (
    ModelSpec,
    Protocol,
    evaluate,
    fit_final,
    iter_outer_splits,
    load_dataset,
)
from featurelab.models import registry as registry_module
from featurelab.models.evaluate import aggregate_tracks
from featurelab.models.search import make_search


def test_search_finds_the_planted_kernel_and_c():
    """Ring-shaped classes: only the RBF kernel with a non-tiny C separates them."""
    grid = {"clf__kernel": ["linear", "rbf"], "clf__C": [0.001, 10.0]}
    result = evaluate(rings_table(90), "svm", grid=grid, cv=3, inner_cv=3, seed=0)
    assert [p["clf__kernel"] for p in result.summary()["best_params"]] == ["rbf"] * 3
    assert [p["clf__C"] for p in result.summary()["best_params"]] == [10.0] * 3
    assert result.mean("accuracy") > 0.9


@pytest.mark.parametrize("search", ["random", "halving"])
def test_random_and_halving_search_find_it_too(search):
    grid = {"clf__kernel": ["linear", "rbf"], "clf__C": [10.0]}
    result = evaluate(rings_table(90), "svm", grid=grid, search=search, n_iter=5, cv=3, seed=0)
    assert [p["clf__kernel"] for p in result.summary()["best_params"]] == ["rbf"] * 3
    assert result.settings["search"] == search


class SpyScaler(StandardScaler):
    """Records the row labels of every fit (shared across clones through the class)."""

    fits: list[frozenset] = []

    def fit(self, X, y=None, sample_weight=None):
        SpyScaler.fits.append(frozenset(X.index))
        return super().fit(X, y, sample_weight)


def make_spy(*, random_state=0, n_jobs=1, class_weight=None):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    return Pipeline([("scale", SpyScaler()), ("clf", LogisticRegression(C=1.0))])


@pytest.fixture
def spy_model(monkeypatch):
    spec = ModelSpec("spy", "test spy", factory=f"{__name__}:make_spy")
    monkeypatch.setitem(registry_module.MODELS._items, "spy", spec)
    SpyScaler.fits = []
    return "spy"


def test_scaler_is_fitted_on_training_rows_only(spy_model):
    ds = load_dataset(segment_table(6, 3))
    evaluate(ds, spy_model, grid={"clf__C": [0.1, 1.0]}, cv=3, inner_cv=2, seed=3, n_jobs=1)  # spy in-process
    splits = list(iter_outer_splits(ds, Protocol(n_splits=3, seed=3, grouped=True)))
    trains = [frozenset(train) for *_, train, _ in splits]
    tests = [frozenset(test) for *_, test in splits]
    assert SpyScaler.fits, "the spy was never fitted"
    all_rows = frozenset(range(ds.n_samples))
    for rows in SpyScaler.fits:
        assert rows != all_rows
        # each fit used the training rows of one outer fold (or a subset: inner folds) ...
        assert any(rows <= train for train in trains)
        # ... and whole tracks only (inner folds are group-aware)
        tracks = set(ds.track_ids[list(rows)])
        assert rows == frozenset(np.flatnonzero(np.isin(ds.track_ids, list(tracks))))
    # the refit of each outer fold saw exactly its training rows, never its test rows
    for train, test in zip(trains, tests, strict=True):
        assert train in SpyScaler.fits
        assert not any(rows & test for rows in SpyScaler.fits if rows == train)


def test_fitted_scaler_statistics_are_those_of_the_training_rows():
    ds = load_dataset(track_table(10))
    rows = np.arange(0, ds.n_samples, 2)
    sub = load_dataset(ds.frame.iloc[rows].reset_index(drop=True))
    outcome = fit_final(sub, "logreg", grid={})
    scaler = outcome.estimator.named_steps["scale"]
    np.testing.assert_allclose(scaler.mean_, ds.X.iloc[rows].mean().to_numpy())


def test_same_seed_same_results_different_seed_different_splits():
    table = segment_table(6, 3)
    kwargs = dict(grid={"clf__C": [0.5, 5.0]}, cv=3, repeats=1, inner_cv=2)
    a = evaluate(table, "svm", seed=11, **kwargs)
    b = evaluate(table, "svm", seed=11, **kwargs)
    c = evaluate(table, "svm", seed=12, **kwargs)
    assert a.fold_frame()[["accuracy", "f1_macro", "track_accuracy"]].equals(
        b.fold_frame()[["accuracy", "f1_macro", "track_accuracy"]]
    )
    assert [f.best_params for f in a.folds] == [f.best_params for f in b.folds]
    for fa, fb in zip(a.folds, b.folds, strict=True):
        np.testing.assert_array_equal(fa.y_pred, fb.y_pred)
    assert [f.test_index.tolist() for f in a.folds] != [f.test_index.tolist() for f in c.folds]


def test_segment_tables_report_track_scores():
    result = evaluate(segment_table(6, 4), "logreg", grid={}, cv=3, seed=0)
    summary = result.summary()
    assert summary["is_segment_table"]
    assert summary["protocol"] == "3-fold StratifiedGroupKFold"
    assert 0.0 <= summary["track_accuracy_mean"] <= 1.0
    assert sum(f.n_test_tracks for f in result.folds) == 18
    assert np.asarray(summary["track_confusion_matrix"]).sum() == 18
    assert np.asarray(summary["confusion_matrix"]).sum() == 72


def test_aggregate_tracks_averages_probabilities():
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.4, 0.6], [0.2, 0.8]])
    names, mean = aggregate_tracks(proba, ["a", "b"], np.array(["t1", "t1", "t1", "t2"]))
    assert names.tolist() == ["t1", "t2"]
    np.testing.assert_allclose(mean, [[1.7 / 3, 1.3 / 3], [0.2, 0.8]])


def test_summary_has_the_contract_keys():
    summary = evaluate(track_table(10), "logreg", grid={"clf__C": [1.0]}, cv=3).summary()
    for key in (
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
    ):
        assert key in summary, key
    assert summary["track_accuracy_mean"] is None
    assert set(summary["per_class"]) == {"blues", "jazz", "rock"}
    assert len(summary["fold_scores"]) == 3


def test_holdout_and_class_weight():
    result = evaluate(
        track_table(15),
        "lgbm",
        grid={"clf__n_estimators": [10]},
        test_size=0.2,
        repeats=2,
        class_weight="balanced",
        seed=1,
    )
    assert result.protocol.describe() == "stratified holdout test_size=0.2 x 2 repeats"
    assert [f.n_test for f in result.folds] == [9, 9]


def test_log_var_runs_inside_the_pipeline():
    result = evaluate(track_table(10), "svm", grid={}, cv=3, log_var=True)
    assert result.settings["log_var"] is True
    assert result.mean("accuracy") > 0.5


def test_voting_with_xgb_member_on_string_labels():
    params = {"clf__xgb__clf__estimator__n_estimators": 5, "clf__lgbm__clf__n_estimators": 5}
    result = evaluate(
        track_table(12), "voting", grid={"clf__weights": [None, [2, 1, 1]]}, params=params, cv=2, inner_cv=2
    )
    assert result.mean("accuracy") > 0.5


def test_bad_arguments():
    with pytest.raises(ParameterError, match="model must be one of"):
        evaluate(track_table(5), "nope")
    with pytest.raises(ParameterError, match="search must be one of"):
        make_search(None, {"clf__C": [1]}, search="bayes")


@pytest.mark.parametrize(
    ("model", "params"),
    [
        ("lgbm", {"clf__n_estimators": 10, "clf__subsample": 0.7, "clf__colsample_bytree": 0.5}),
        ("xgb", {"clf__estimator__n_estimators": 10, "clf__estimator__subsample": 0.7}),
    ],
)
def test_tree_models_are_reproducible_by_seed(model, params):
    table = track_table(15, n_noise=6)
    runs = [evaluate(table, model, grid={}, params=params, cv=3, seed=seed) for seed in (4, 4)]
    for fa, fb in zip(runs[0].folds, runs[1].folds, strict=True):
        np.testing.assert_array_equal(fa.y_pred, fb.y_pred)
    assert runs[0].fold_frame()["accuracy"].equals(runs[1].fold_frame()["accuracy"])


def test_seeded_results_do_not_depend_on_n_jobs():
    table = segment_table(5, 3)
    grid = {"clf__C": [0.1, 1.0, 10.0]}
    one, two = (evaluate(table, "logreg", grid=grid, cv=3, inner_cv=2, seed=7, n_jobs=n) for n in (1, 2))
    a, b = one.summary(), two.summary()
    for key in ("best_params", "per_class", "confusion_matrix", "track_confusion_matrix", "accuracy_mean"):
        assert a[key] == b[key], key
    for fold_a, fold_b in zip(a["fold_scores"], b["fold_scores"], strict=True):
        assert {k: v for k, v in fold_a.items() if "time" not in k} == {
            k: v for k, v in fold_b.items() if "time" not in k
        }


def test_api_defaults_are_all_cores_and_automatic_progress():
    import inspect

    from featurelab.models import gridsearch
    from featurelab.parallel import DEFAULT_N_JOBS
    from featurelab.selection import select_features

    for function in (evaluate, fit_final, gridsearch, select_features):
        parameters = inspect.signature(function).parameters
        assert parameters["n_jobs"].default == DEFAULT_N_JOBS, function.__name__
        if "progress" in parameters:
            assert parameters["progress"].default is None, function.__name__


# ----------------------------------------------------------------------------- checked before fitting
def test_grid_names_and_values_are_checked_against_the_model():
    from featurelab.models import make_model
    from featurelab.models.search import check_search_space

    svm = make_model("svm")
    check_search_space(
        svm, [{"clf__kernel": ["linear"]}, {"clf__C": [0.1, 10], "clf__gamma": ["scale", 0.1]}]
    )
    with pytest.raises(
        ParameterError, match=r"'C' is not a parameter of the model\. Did you mean 'clf__C'\?"
    ):
        check_search_space(svm, {"C": [1, 2]})
    with pytest.raises(ParameterError, match=r"Grid value of 'clf__kernel': The 'kernel' parameter of SVC"):
        check_search_space(svm, {"clf__kernel": ["rbf", "cubic"]})
    with pytest.raises(ParameterError, match=r"Parameter value of 'clf__C'"):
        check_search_space(svm, {}, params={"clf__C": 0})
    with pytest.raises(ParameterError, match=r"YAML reads 1e-3 as text"):
        check_search_space(svm, {"clf__C": ["1e-3"]})
    with pytest.raises(ParameterError, match=r"uniform needs \[low, high\] with two numbers low < high"):
        check_search_space(svm, {"clf__C": {"uniform": [2, 1]}}, search="random")
    with pytest.raises(ParameterError, match="grid search cannot take"):
        check_search_space(svm, {"clf__C": {"loguniform": [0.1, 10]}}, search="grid")
    voting = make_model("voting")
    check_search_space(voting, {"clf__svm__estimator__clf__C": [1, 10], "clf__lgbm__clf__num_leaves": [7]})
    with pytest.raises(
        ParameterError, match=r"'clf__lgbm__clf__num_leaves' must be a number, like its default 15"
    ):
        check_search_space(voting, {"clf__lgbm__clf__num_leaves": ["many"]})  # LightGBM declares none


def test_a_grid_whose_every_candidate_fails_is_one_line():
    grid = {"clf__l1_ratio": [1.0], "clf__C": [1.0, 2.0]}  # each value valid, together not: lbfgs is l2-only
    with pytest.raises(
        ParameterError, match=r"failed to fit; the first error: ValueError: Solver lbfgs"
    ) as info:
        evaluate(track_table(8), "logreg", grid=grid, cv=2, inner_cv=2, n_jobs=1)
    assert "\n" not in str(info.value) and "Traceback" not in str(info.value)


def test_evaluate_checks_scoring_and_inner_folds_even_without_a_search():
    table = track_table(4)
    with pytest.raises(ParameterError, match="scoring must be a scikit-learn scorer name"):
        evaluate(table, "logreg", grid={"clf__C": [1.0]}, scoring="bogus", cv=2)
    with pytest.raises(ParameterError, match=r"inner_cv .* must not exceed .* class 'blues' has only 4 rows"):
        evaluate(table, "logreg", grid={"clf__C": [1.0]}, inner_cv=100, cv=2)
    with pytest.raises(ParameterError, match=r"inner_cv .* class 'blues' has only 2 rows"):
        evaluate(table, "logreg", grid={"clf__C": [1.0, 2.0]}, inner_cv=3, cv=2)  # 2 per class per fold
