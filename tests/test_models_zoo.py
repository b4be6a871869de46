"""The model zoo: one module per model, found automatically; listing models imports no model library."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import featurelab.models.zoo as zoo
from featurelab._registry import import_object
from featurelab.models.registry import ModelRegistry, ModelSpec, available_models

BUILTIN = ["svm", "logreg", "knn", "rf", "xgb", "lgbm", "mlp", "voting", "mlp_torch"]


def test_builtin_models_come_in_their_order():
    assert [spec.name for spec in zoo.builtin_models()] == BUILTIN
    assert available_models()[: len(BUILTIN)] == BUILTIN


@pytest.mark.parametrize("name", BUILTIN[:-1])
def test_old_factory_paths_still_import(name):
    spec = zoo.builtin_models()[BUILTIN.index(name)]
    assert spec.factory == f"featurelab.models.zoo.{name}:make_{name}"
    assert import_object(f"featurelab.models.zoo:make_{name}") is spec.load()


def test_mlp_torch_keeps_its_factory_in_neural():
    assert zoo.builtin_models()[-1].factory == "featurelab.nn.mlp:make_mlp_torch"


def test_a_new_module_is_a_new_model(tmp_path, monkeypatch):
    (tmp_path / "ridge.py").write_text(
        "from featurelab.models.registry import ModelSpec\n"
        "MODEL = ModelSpec('ridge', 'Ridge classifier.', factory=f'{__name__}:make_ridge')\n"
        "def make_ridge(*, random_state=0, n_jobs=1, class_weight=None):\n"
        "    from sklearn.linear_model import RidgeClassifier\n"
        "    from sklearn.pipeline import Pipeline\n"
        "    return Pipeline([('clf', RidgeClassifier(class_weight=class_weight))])\n"
    )
    monkeypatch.setattr(zoo, "__path__", [*zoo.__path__, str(tmp_path)])
    monkeypatch.delitem(sys.modules, "featurelab.models.zoo.ridge", raising=False)
    registry = ModelRegistry("model")
    assert registry.names() == [*BUILTIN, "ridge"]  # no ORDER: after the built-ins
    model = registry.get("ridge").load()(random_state=0)
    assert [step for step, _ in model.steps] == ["clf"]


def test_user_models_follow_the_builtin_ones():
    registry = ModelRegistry("model")
    registry._items["mine"] = ModelSpec("mine", "mine", factory="x:y")  # registered before discovery
    registry.register(ModelSpec("other", "other", factory="x:z"))
    assert registry.names() == [*BUILTIN, "mine", "other"]


def test_listing_models_imports_no_model_library():
    code = (
        "import sys\n"
        "from featurelab.models.registry import available_models\n"
        "available_models()\n"
        "heavy = {'sklearn', 'xgboost', 'lightgbm', 'torch'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))\n"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(root)},
        check=True,
    )
    assert out.stdout.strip() == "[]"
