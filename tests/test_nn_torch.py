"""featurelab.nn._torch: the torch import, device, threads and seeding helpers; torch stays lazy."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from featurelab.exceptions import ParameterError


def test_help_and_imports_never_load_torch():
    code = (
        "import sys\n"
        "from featurelab.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "import featurelab.nn, featurelab.nn.cnn, featurelab.nn.mlp, featurelab.nn.training\n"
        "import featurelab.nn.cnn.evaluate, featurelab.nn.cnn.rundir, featurelab.nn.cnn.classifier\n"
        "import featurelab.models.neural, featurelab.models.cnn, featurelab.models.melspec\n"
        "from featurelab.models import get_model_spec\n"
        "get_model_spec('mlp_torch')\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_missing_torch_gives_install_hint(monkeypatch):
    from featurelab.nn import import_torch

    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(
        ParameterError, match=r"pip install torch==2\.13\.0 && pip install 'featurelab\[nn\]'"
    ):
        import_torch()


torch = pytest.importorskip("torch")


def test_resolve_device():
    from featurelab.nn import resolve_device

    assert resolve_device("cpu") == "cpu" and resolve_device(" CPU ") == "cpu"
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    for bad in ("tpu", 3):
        with pytest.raises(ParameterError, match="device must be 'auto', 'cpu' or 'cuda'"):
            resolve_device(bad)
    if not torch.cuda.is_available():
        with pytest.raises(ParameterError, match="sees no CUDA GPU"):
            resolve_device("cuda:0")


def test_torch_threads_restores_the_count():
    from featurelab.nn import torch_threads

    before = torch.get_num_threads()
    with torch_threads(1) as module:
        assert module is torch and torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with torch_threads(None):  # None keeps the setting
        assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), torch_threads(1):
        raise RuntimeError("restored on errors too")
    assert torch.get_num_threads() == before


def test_torch_scope_seeds_without_touching_the_caller():
    from featurelab.nn import torch_scope

    state = torch.random.get_rng_state().clone()
    with torch_scope(5, 1):
        first = torch.rand(3)
    with torch_scope(5, None):
        second = torch.rand(3)
    assert torch.equal(first, second)
    assert torch.equal(torch.random.get_rng_state(), state)


def test_seed_int():
    from featurelab.nn import seed_int

    assert seed_int(3) == 3 and seed_int(np.int64(2**32 + 1)) == 1
    assert seed_int(np.random.RandomState(0)) == seed_int(np.random.RandomState(0))
    assert seed_int(np.random.default_rng(0)) == seed_int(np.random.default_rng(0))
    assert 0 <= seed_int(None) < 2**31
    with pytest.raises(ParameterError, match="random_state must be an int"):
        seed_int("seed")


def test_load_numpy_state_round_trip():
    from featurelab.nn._torch import load_numpy_state

    source, target = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    state = {k: v.detach().numpy().copy() for k, v in source.state_dict().items()}
    assert load_numpy_state(target, state) is target
    assert torch.equal(target.weight, source.weight) and torch.equal(target.bias, source.bias)
