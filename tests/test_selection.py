"""Tests of featurelab.selection (ShapSelector, SHAP shapes, select_features) and `select`."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeClassifier

from featurelab.exceptions import ParameterError
from featurelab.models import make_model
from featurelab.selection import (
    ShapSelector,
    mean_abs_shap,
    n_selected,
    normalize_shap_values,
    select_features,
)
from featurelab.selection.selector import _own_class_values

INFORMATIVE = ["f0", "f1", "f2", "f3"]


def planted_table(n_per_class=40, n_noise=12, n_classes=3, seed=0, segments=1):
    """Four informative columns (class means 0, 1.4, 2.8, ...) among ``n_noise`` noise columns.

    With ``segments > 1`` each track contributes that many rows named ``<track>.<i>.wav``.
    """
    rng = np.random.default_rng(seed)
    labels = np.repeat([f"g{c}" for c in range(n_classes)], n_per_class)
    codes = np.repeat(np.arange(n_classes), n_per_class)
    n = labels.size
    frame = {}
    for name in INFORMATIVE:
        frame[name] = 1.4 * codes + rng.normal(size=n)
    for j in range(n_noise):
        frame[f"f{4 + j}"] = rng.normal(size=n)
    table = pd.DataFrame(frame)
    # shuffle the column order so "informative first" cannot come from column positions
    table = table[list(rng.permutation(table.columns))]
    table["label"] = labels
    table["filename"] = [f"{label}.{i:05d}.wav" for i, label in enumerate(labels)]
    if segments > 1:
        parts = []
        for i in range(segments):
            part = table.copy()
            noise = rng.normal(scale=0.3, size=(n, table.shape[1] - 2))
            part.iloc[:, : table.shape[1] - 2] += noise
            part["filename"] = [f"{label}.{t:05d}.{i}.wav" for t, label in enumerate(labels)]
            parts.append(part)
        table = pd.concat(parts, ignore_index=True)
    return table


def small_xgb(**params):
    return make_model("xgb", clf__estimator__n_estimators=25, clf__estimator__max_depth=2, **params)


@pytest.fixture(scope="module")
def table():
    return planted_table()


def features_of(frame):
    return frame.drop(columns=["label", "filename"])


# ----------------------------------------------------------------------------- SHAP shapes
def test_normalize_shap_values_accepts_list_2d_and_3d():
    rng = np.random.default_rng(1)
    values = rng.normal(size=(6, 4, 3))
    as_list = [values[:, :, c] for c in range(3)]  # shap < 0.45 multiclass output
    np.testing.assert_array_equal(normalize_shap_values(as_list), values)
    np.testing.assert_array_equal(normalize_shap_values(values), values)
    two_d = normalize_shap_values(values[:, :, 0])
    assert two_d.shape == (6, 4, 1)
    np.testing.assert_allclose(mean_abs_shap(as_list), mean_abs_shap(values))
    np.testing.assert_allclose(mean_abs_shap(values), np.abs(values).mean(axis=(0, 2)))


@pytest.mark.parametrize(
    "values, match",
    [
        (np.zeros(5), "2-D"),
        (np.zeros((2, 3, 4, 5)), "2-D"),
        ([np.zeros((2, 3)), np.zeros((2, 4))], "one shape"),
        ([], "one shape"),
    ],
)
def test_normalize_shap_values_rejects_bad_shapes(values, match):
    with pytest.raises(ParameterError, match=match):
        normalize_shap_values(values)


def test_normalize_shap_values_checks_n_features():
    with pytest.raises(ParameterError, match="must have 5 features"):
        normalize_shap_values(np.zeros((3, 4, 2)), n_features=5)


def test_n_selected_rules():
    importances = np.array([0.1, 0.5, 0.0, 0.3, 0.1])
    assert n_selected(importances, k=2) == 2
    assert n_selected(importances, k=50) == 5
    assert n_selected(importances) == 5
    assert n_selected(importances, threshold=0.5) == 1  # 0.5 / 1.0
    assert n_selected(importances, threshold=0.8) == 2  # 0.5 + 0.3
    assert n_selected(importances, threshold=0.81) == 3
    assert n_selected(importances, threshold=1.0) == 4  # the zero column is never needed
    assert n_selected(np.zeros(3), threshold=0.5) == 3


# ----------------------------------------------------------------------------- ShapSelector
class FakeTreeExplainer:
    """Stands in for shap.TreeExplainer, returning fixed values in a chosen layout."""

    layout = "3d"
    values = None

    def __init__(self, model, *args, **kwargs):
        self.model = model

    def shap_values(self, X, **kwargs):
        values = FakeTreeExplainer.values[: len(X)]
        if FakeTreeExplainer.layout == "list":
            return [values[:, :, c] for c in range(values.shape[2])]
        return values


@pytest.mark.parametrize("layout", ["list", "3d"])
def test_selector_handles_both_shap_output_layouts(monkeypatch, table, layout):
    import shap

    X = features_of(table)
    values = np.zeros((len(X), X.shape[1], 3))
    values[:, X.columns.get_loc("f7"), 2] = 2.0  # the fake explainer says: f7, then f9
    values[:, X.columns.get_loc("f9"), 0] = -1.0
    monkeypatch.setattr(FakeTreeExplainer, "values", values)
    monkeypatch.setattr(FakeTreeExplainer, "layout", layout)
    monkeypatch.setattr(shap, "TreeExplainer", FakeTreeExplainer)
    selector = ShapSelector(DecisionTreeClassifier(max_depth=2), k=2).fit(X, table["label"])
    assert selector.shap_values_.shape == (len(X), X.shape[1], 3)
    assert list(selector.get_feature_names_out()) == sorted(["f7", "f9"], key=list(X).index)
    assert X.columns[selector.order_[0]] == "f7"
    expected = np.zeros(X.shape[1])
    expected[[X.columns.get_loc("f7"), X.columns.get_loc("f9")]] = [2 / 3, 1 / 3]
    np.testing.assert_allclose(selector.feature_importances_, expected)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("name", ["xgb", "lgbm", "rf"])
def test_selector_puts_planted_features_first(name, n_classes):
    frame = planted_table(n_per_class=40, n_classes=n_classes, seed=3)
    X, y = features_of(frame), frame["label"].to_numpy()
    estimator = {
        "xgb": small_xgb(),
        "lgbm": make_model("lgbm", clf__n_estimators=25, clf__min_child_samples=5),
        "rf": make_model("rf", clf__n_estimators=25),
    }[name]
    selector = ShapSelector(estimator, k=4, random_state=0).fit(X, y)
    assert selector.explainer_ == "tree"
    assert set(selector.get_feature_names_out()) == set(INFORMATIVE)
    assert selector.transform(X).shape == (len(X), 4)
    assert sorted(selector.rank_[selector.support_]) == [1, 2, 3, 4]
    n_outputs = selector.shap_values_.shape[2]
    # binary boosters explain one margin; the forest explains both class probabilities
    assert n_outputs == (n_classes if (n_classes > 2 or name == "rf") else 1)


def test_selector_threshold_keeps_the_covering_features(table):
    X, y = features_of(table), table["label"]
    selector = ShapSelector(small_xgb(), threshold=0.6).fit(X, y)
    importances = selector.feature_importances_
    share = np.sort(importances)[::-1].cumsum() / importances.sum()
    m = selector.support_.sum()
    assert share[m - 1] >= 0.6 and (m == 1 or share[m - 2] < 0.6)
    assert set(selector.get_feature_names_out()) <= set(INFORMATIVE)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"k": 2, "threshold": 0.5}, "not both"),
        ({"k": 0}, r"'k' parameter of ShapSelector must be an int in the range \[1, inf\)"),
        ({"k": 2.5}, r"'k' parameter of ShapSelector must be an int in the range \[1, inf\)"),
        (
            {"threshold": 1.5},
            r"'threshold' parameter of ShapSelector must be a float in the range \(0.0, 1.0\]",
        ),
        ({"explainer": "kernel"}, "'explainer' parameter of ShapSelector must be a str among"),
        ({"background": 0}, r"'background' parameter of ShapSelector must be an int in the range \[1, inf\)"),
        ({"explainer": "tree", "estimator": LogisticRegression()}, "needs a tree model"),
    ],
)
def test_selector_validates_parameters(table, params, match):
    estimator = params.pop("estimator", DecisionTreeClassifier(max_depth=2))
    with pytest.raises(ParameterError, match=match):
        ShapSelector(estimator, **params).fit(features_of(table), table["label"])


SEEN_ROWS: list[np.ndarray] = []


class SpyTree(DecisionTreeClassifier):
    """A decision tree that records which rows (DataFrame index) it was fitted on."""

    def fit(self, X, y, sample_weight=None, check_input=True):
        SEEN_ROWS.append(np.asarray(X.index))
        return super().fit(X, y, sample_weight=sample_weight, check_input=check_input)


def test_selector_in_a_pipeline_never_sees_test_rows(table):
    SEEN_ROWS.clear()
    X, y = features_of(table), table["label"]
    pipe = Pipeline(
        [("select", ShapSelector(SpyTree(max_depth=3, random_state=0), k=4)), ("clf", LogisticRegression())]
    )
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    scores = cross_val_score(pipe, X, y, cv=cv)
    assert scores.mean() > 0.6
    assert len(SEEN_ROWS) == 3
    for seen, (train, test) in zip(SEEN_ROWS, cv.split(X, y), strict=True):
        np.testing.assert_array_equal(np.sort(seen), np.sort(train))
        assert not set(seen) & set(test)


def test_own_class_values_picks_each_rows_class():
    values = np.arange(2 * 3 * 3, dtype=float).reshape(2, 3, 3)
    fitted = SimpleNamespace(
        shap_values_=values,
        explained_indices_=np.array([0, 2]),
        estimator_=SimpleNamespace(classes_=np.array(["a", "b", "c"])),
    )
    out = _own_class_values(fitted, np.array(["c", "x", "b"]))
    np.testing.assert_array_equal(out, [values[0, :, 2], values[1, :, 1]])
    binary = SimpleNamespace(
        shap_values_=values[:, :, :1],
        explained_indices_=np.array([0, 1]),
        estimator_=SimpleNamespace(classes_=np.array(["a", "b"])),
    )
    out = _own_class_values(binary, np.array(["a", "b"]))
    np.testing.assert_array_equal(out, [-values[0, :, 0], values[1, :, 0]])


# ----------------------------------------------------------------------------- select_features
@pytest.fixture(scope="module")
def result(table):
    return select_features(table, small_xgb(), k=4, cv=3, ks=(1, 2, 4, 8, None), downstream="logreg", seed=0)


def test_select_features_ranks_planted_features_first(result):
    ranking = result.ranking
    assert list(ranking.columns) == ["feature", "mean_abs_shap", "std_abs_shap", "selected_frac", "rank"]
    assert set(ranking["feature"].head(4)) == set(INFORMATIVE)
    assert ranking["rank"].tolist() == list(range(1, 17))
    assert (ranking["mean_abs_shap"].diff().dropna() <= 0).all()
    assert (ranking["selected_frac"].head(4) == 1.0).all()
    assert (ranking["selected_frac"].iloc[4:] == 0.0).all()
    assert sorted(result.selected) == sorted(INFORMATIVE)
    assert result.explainer == "tree"
    assert result.fold_importances.shape == (3, 16)


def test_select_features_curve_rises_then_flattens(result):
    curve = result.curve.set_index("k")
    assert list(curve.index) == [1, 2, 4, 8, 16]
    assert (curve["n_folds"] == 3).all()
    acc = curve["accuracy_mean"]
    assert acc[4] > acc[1] + 0.1  # more informative features help ...
    assert abs(acc[16] - acc[4]) < 0.1  # ... noise features do not
    assert result.selection_accuracy["mean"] == pytest.approx(acc[4])


def test_select_features_ranks_inside_training_folds_only(table):
    from featurelab.models import load_dataset
    from featurelab.models.splits import Protocol, iter_outer_splits

    SEEN_ROWS.clear()
    select_features(table, SpyTree(max_depth=3, random_state=0), k=4, cv=3, ks=(4,), seed=5, n_jobs=1)
    splits = list(iter_outer_splits(load_dataset(table), Protocol(n_splits=3, seed=5)))
    fold_fits, final_fit = SEEN_ROWS[:-1], SEEN_ROWS[-1]
    assert len(final_fit) == len(table)  # the beeswarm model, fitted after the folds
    for _, _, train, _ in splits:
        # the ranking fit and the downstream refit of this fold
        fits = [seen for seen in fold_fits if len(seen) == len(train) and set(seen) == set(train)]
        assert len(fits) == 2
    assert all(len(seen) < len(table) for seen in fold_fits)
    assert len(fold_fits) == 2 * len(splits)


def test_select_features_threshold_and_default_rules(table):
    tree = DecisionTreeClassifier(max_depth=4, random_state=0)
    by_threshold = select_features(
        table, tree, threshold=0.7, cv=3, ks=(2, None), downstream=LogisticRegression(), seed=0
    )
    assert by_threshold.rule == "threshold"
    assert 1 <= len(by_threshold.selected) <= 8
    assert set(by_threshold.selected[:2]) <= set(INFORMATIVE)
    default = select_features(table, tree, cv=3, ks=(1, 4, None), downstream=LogisticRegression(), seed=0)
    assert default.rule == "one-standard-error"
    assert default.k == 4 and len(default.selected) == 4


def test_select_features_segment_table_is_grouped():
    frame = planted_table(n_per_class=12, n_noise=4, segments=3, seed=2)
    result = select_features(
        frame, DecisionTreeClassifier(max_depth=3, random_state=0), k=4, cv=3, ks=(2, None), seed=0
    )
    assert "StratifiedGroupKFold" in result.protocol
    assert {"track_accuracy_mean", "track_accuracy_std"} <= set(result.curve.columns)
    assert result.info["is_segment_table"]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"k": 3, "threshold": 0.5}, "not both"),
        ({"ks": ()}, "ks must be a non-empty sequence"),
        ({"ks": (0, 5)}, "Every k of ks must be an integer >= 1"),
        ({"cv": 1}, r"'cv' parameter of select_features must be an int in the range \[2, inf\)"),
        ({"model": "nope"}, "model must be one of"),
        ({"cv": 100}, "smallest class"),
    ],
)
def test_select_features_validates(table, kwargs, match):
    kwargs.setdefault("model", DecisionTreeClassifier())
    with pytest.raises(ParameterError, match=match):
        select_features(table, **kwargs)


def test_write_run_directory(result, tmp_path):
    from featurelab.models import load_dataset
    from featurelab.models.data import read_features_file

    run_dir = result.write(tmp_path / "run", command="featurelab select t.csv")
    names = {p.name for p in run_dir.iterdir()}
    assert {
        "ranking.csv",
        "selected.txt",
        "curve.csv",
        "shap_bar.png",
        "shap_beeswarm.png",
        "accuracy_vs_k.png",
        "selection.json",
    } <= names
    ranking = pd.read_csv(run_dir / "ranking.csv")
    assert list(ranking.columns) == ["feature", "mean_abs_shap", "std_abs_shap", "selected_frac", "rank"]
    curve = pd.read_csv(run_dir / "curve.csv")
    assert list(curve.columns) == ["k", "accuracy_mean", "accuracy_std", "n_folds"]
    assert read_features_file(run_dir / "selected.txt") == result.selected
    # usable as --features-file
    usable = load_dataset(planted_table(), features_file=run_dir / "selected.txt")
    assert usable.feature_names == result.selected
    info = json.loads((run_dir / "selection.json").read_text())
    assert info["rule"] == "k" and info["k"] == 4 and info["selected"] == result.selected
    assert info["command"] == "featurelab select t.csv"
    assert [row["k"] for row in info["curve"]] == [1, 2, 4, 8, 16]
    for png in ("shap_bar.png", "shap_beeswarm.png", "accuracy_vs_k.png"):
        assert (run_dir / png).read_bytes()[:4] == b"\x89PNG"


# ----------------------------------------------------------------------------- model-agnostic
@pytest.mark.slow  # the first permutation explanation compiles shap's numba kernels (~20 s)
def test_svm_path_uses_the_permutation_explainer(table):
    X, y = features_of(table).iloc[::2], table["label"].iloc[::2]
    state = np.random.get_state()
    selector = ShapSelector(make_model("svm"), k=4, background=15, random_state=0).fit(X, y)
    assert selector.explainer_ == "permutation"
    assert selector.output_ == "decision_function"  # SVC without probabilities
    assert selector.shap_values_.shape == (15, X.shape[1], 3)
    assert len(set(selector.get_feature_names_out()) & set(INFORMATIVE)) >= 3
    # shap's permutations use numpy's global generator; the selector leaves it as it was
    np.testing.assert_array_equal(np.random.get_state()[1], state[1])
    again = ShapSelector(make_model("svm"), k=4, background=15, random_state=0).fit(X, y)
    np.testing.assert_allclose(again.feature_importances_, selector.feature_importances_)

    result = select_features(table, "svm", cv=2, ks=(4, None), background=10, seed=0)
    assert result.explainer == "permutation"
    assert len(set(result.ranking["feature"].head(4)) & set(INFORMATIVE)) >= 3


# ----------------------------------------------------------------------------- CLI
def test_cli_select_writes_a_run(table, tmp_path, capsys):
    from featurelab.cli import main

    path = tmp_path / "table.csv"
    table.to_csv(path, index=False)
    out = tmp_path / "run"
    code = main(
        [
            "select",
            str(path),
            "--model",
            "lgbm",
            "--k",
            "4",
            "--cv",
            "2",
            "--ks",
            "2,all",
            "--downstream",
            "logreg",
            "--out",
            str(out),
            "--seed",
            "0",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "lgbm SHAP ranking" in printed and "k=4" in printed
    assert pd.read_csv(out / "curve.csv")["k"].tolist() == [2, 4, 16]  # --k joins the curve
    assert (out / "shap_beeswarm.png").is_file()


@pytest.mark.parametrize(
    "args, match",
    [
        (["--k", "3", "--threshold", "0.5"], "not both"),
        (["--ks", "5,ten"], "--ks must be"),
        (["--model", "nope"], "model must be one of"),
    ],
)
def test_cli_select_usage_errors(table, tmp_path, capsys, args, match):
    from featurelab.cli import main

    path = tmp_path / "table.csv"
    table.to_csv(path, index=False)
    assert main(["select", str(path), *args, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert match in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_select_features_does_not_depend_on_n_jobs(table):
    runs = [
        select_features(
            table, DecisionTreeClassifier(max_depth=3, random_state=0), k=4, cv=3, ks=(2, 8), n_jobs=n
        )
        for n in (1, 2)
    ]
    pd.testing.assert_frame_equal(runs[0].ranking, runs[1].ranking)
    pd.testing.assert_frame_equal(runs[0].curve, runs[1].curve)
    assert runs[0].selected == runs[1].selected


def test_select_features_on_a_predefined_split(table, tmp_path):
    names = table["filename"].tolist()
    split = tmp_path / "split"
    split.mkdir()
    (split / "train.txt").write_text("\n".join(names[0::2]) + "\n")
    (split / "test.txt").write_text("\n".join(names[1::2]) + "\n")
    result = select_features(
        table, DecisionTreeClassifier(max_depth=3, random_state=0), k=4, split_dir=split, n_jobs=1
    )
    assert result.protocol == "predefined split split (train+valid -> test)"
    assert result.curve["n_folds"].tolist() == [1] * len(result.curve)
    # selection.json records what the lists matched, as gridsearch's results.json does
    recorded = result.to_dict()["split"]
    assert recorded["name"] == "split" and recorded["unlisted_rows"] == 0
    assert recorded["rows"] == {"train": len(names[0::2]), "valid": 0, "test": len(names[1::2])}
    assert (
        "split"
        not in select_features(
            table, DecisionTreeClassifier(max_depth=3, random_state=0), k=4, cv=2, n_jobs=1
        ).to_dict()
    )


def test_cli_select_checks_its_destination_before_computing(table, tmp_path, capsys, monkeypatch):
    from featurelab.cli import main

    path = tmp_path / "table.csv"
    table.to_csv(path, index=False)
    (tmp_path / "file").write_text("x")
    monkeypatch.setattr("featurelab.selection.select_features", lambda *a, **k: pytest.fail("computed"))
    assert main(["select", str(path), "--out", str(tmp_path / "file" / "run")]) == 2
    err = capsys.readouterr().err
    assert "Cannot create the run directory" in err and len(err.strip().splitlines()) == 1
