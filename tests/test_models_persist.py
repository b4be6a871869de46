"""Saved models: skops by default, joblib only when trusted, damaged or foreign files refused."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from models_helpers import track_table

from featurelab.exceptions import ModelFileError
from featurelab.models import load_model, make_model, save_model
from featurelab.models.persist import TRUSTED_TYPES
from featurelab.models.zoo import with_probabilities

FEATURES = ["signal_mean", "spread_var", "noise0_mean"]


def _fit(name="logreg", **params):
    table = track_table(10)
    model = with_probabilities(make_model(name, **params))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter of tiny fits
        model.fit(table[FEATURES], table["label"])
    return model, table


def _metadata(model):
    return {
        "model": "logreg",
        "feature_names": FEATURES,
        "classes": [str(c) for c in model.classes_],
        "extraction": {"features": ["gtzan"], "sr": 22050, "segment": None},
    }


@pytest.fixture
def saved(tmp_path):
    model, table = _fit()
    save_model(model, tmp_path / "run", metadata=_metadata(model))
    return tmp_path / "run", model, table


def test_round_trip_skops_by_default(saved):
    run, model, table = saved
    assert {p.name for p in run.iterdir()} == {"model.skops", "model.joblib", "model.json"}
    loaded = load_model(run)
    assert loaded.path.name == "model.skops"
    np.testing.assert_array_equal(loaded.predict_proba(table), model.predict_proba(table[FEATURES]))
    assert loaded.feature_names == FEATURES
    assert loaded.classes == ["blues", "jazz", "rock"]
    meta = json.loads((run / "model.json").read_text())
    assert meta["versions"]["scikit-learn"] and meta["files"]["model.skops"]["sha256"]


def test_joblib_needs_trust(saved):
    run, model, table = saved
    with pytest.raises(ModelFileError, match="can run arbitrary code.*--trust"):
        load_model(run / "model.joblib")
    loaded = load_model(run / "model.joblib", trust=True)
    np.testing.assert_array_equal(loaded.predict_proba(table), model.predict_proba(table[FEATURES]))


def test_folder_with_only_joblib_needs_trust(saved):
    run, *_ = saved
    (run / "model.skops").unlink()
    with pytest.raises(ModelFileError, match="holds only model.joblib"):
        load_model(run)
    assert load_model(run, trust=True).path.name == "model.joblib"


@pytest.mark.parametrize("name", ["model.skops", "model.joblib"])
def test_modified_file_is_refused_by_checksum(saved, name):
    run, *_ = saved
    data = bytearray((run / name).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (run / name).write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="does not match the SHA-256"):
        load_model(run / name, trust=True)


@pytest.mark.parametrize("name", ["model.skops", "model.joblib"])
def test_truncated_file_without_sidecar_is_a_clear_error(saved, name):
    run, *_ = saved
    (run / "model.json").unlink()
    data = (run / name).read_bytes()
    (run / name).write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelFileError, match="is not a readable (skops|joblib) model file"):
        load_model(run / name, trust=True)


def test_garbage_and_missing_files(tmp_path):
    (tmp_path / "x.skops").write_bytes(b"not a zip file")
    with pytest.raises(ModelFileError, match="not a readable skops model file"):
        load_model(tmp_path / "x.skops")
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model(tmp_path / "missing.skops")
    with pytest.raises(ModelFileError, match="holds no model.skops"):
        load_model(tmp_path)
    (tmp_path / "m.txt").write_text("x")
    with pytest.raises(ModelFileError, match="must end in .skops or .joblib"):
        load_model(tmp_path / "m.txt")


def test_untrusted_types_are_refused(tmp_path):
    """A skops file smuggling a function (here ``builtins.exec``) is not loaded."""
    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    payload = {
        "format": "featurelab-model",
        "format_version": 1,
        "estimator": FunctionTransformer(func=exec),
        "metadata": {"feature_names": []},
    }
    sio.dump(payload, tmp_path / "evil.skops")
    with pytest.raises(ModelFileError, match="does not trust: builtins.exec"):
        load_model(tmp_path / "evil.skops")


def test_foreign_file_is_not_a_featurelab_model(tmp_path):
    import skops.io as sio

    model, _ = _fit()
    sio.dump(model, tmp_path / "plain.skops")
    with pytest.raises(ModelFileError, match="not a featurelab model file"):
        load_model(tmp_path / "plain.skops", trust=True)


def test_mismatched_features_are_refused(saved):
    run, _, table = saved
    loaded = load_model(run)
    with pytest.raises(ModelFileError, match=r"1 of its 3 feature columns are missing"):
        loaded.predict_proba(table.drop(columns="spread_var"))
    with pytest.raises(ModelFileError, match="extraction settings.*sr: model 22050, table 16000"):
        loaded.check_extraction({"features": ["gtzan"], "sr": 16000, "segment": None})
    loaded.check_extraction({"features": ["gtzan"], "sr": 22050, "segment": None})


@pytest.mark.parametrize("name", ["svm", "knn", "rf", "xgb", "lgbm", "mlp", "voting"])
def test_trusted_types_cover_every_registry_model(tmp_path, name):
    import skops.io as sio

    params = {
        "rf": {"clf__n_estimators": 3},
        "xgb": {"clf__estimator__n_estimators": 3},
        "lgbm": {"clf__n_estimators": 3},
        "voting": {
            "clf__xgb__clf__estimator__n_estimators": 3,
            "clf__lgbm__clf__n_estimators": 3,
            "member_grids": {"svm": {"clf__C": [1, 10]}},
        },
    }.get(name, {})
    model, table = _fit(name, **params)
    untrusted = sio.get_untrusted_types(data=sio.dumps(model))
    assert set(untrusted) <= set(TRUSTED_TYPES), set(untrusted) - set(TRUSTED_TYPES)
    meta = _metadata(model)
    save_model(model, tmp_path, metadata=meta, formats=("skops",))
    loaded = load_model(tmp_path)  # no trust needed
    np.testing.assert_allclose(loaded.predict_proba(table), model.predict_proba(table[FEATURES]))
