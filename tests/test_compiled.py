"""The ahead-of-time compiled kernels (featurelab.features.compiled): same results as numba's JIT.

The module is built once here, into a temporary folder (a few seconds); where no C compiler is
found, the build is expected to fail cleanly (recorded, JIT fallback) instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest
from conftest import checkout_env, music_like

from featurelab.features import compiled, hpss
from featurelab.features.gtzan import gtzan_features, gtzan_features_batch

#: numba.pycc needs a C compiler and Python's headers (python3-dev on a system Python)
HAS_COMPILER = (
    shutil.which((sysconfig.get_config_var("CC") or "cc").split()[0]) is not None
    and (Path(sysconfig.get_paths()["include"]) / "Python.h").is_file()
)


@pytest.fixture
def kernel_folder(tmp_path, monkeypatch):
    """A private, empty folder for the compiled module; the process forgets any module loaded."""
    folder = tmp_path / "kernels"
    monkeypatch.setenv(compiled.ENV_FOLDER, str(folder))
    monkeypatch.delenv(compiled.ENV_SWITCH, raising=False)
    compiled.compiled_module.cache_clear()
    yield folder
    compiled.compiled_module.cache_clear()


@pytest.fixture(scope="module")
def built_folder(tmp_path_factory):
    """A folder holding a freshly built module (skipped where no C compiler exists)."""
    if not HAS_COMPILER:
        pytest.skip("no C compiler or no Python headers: the compiled module cannot be built here")
    folder = tmp_path_factory.mktemp("built")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(compiled.ENV_FOLDER, str(folder))
        patch.delenv(compiled.ENV_SWITCH, raising=False)
        assert compiled.ensure_compiled(), compiled.failure_path().read_text()
    compiled.compiled_module.cache_clear()
    return folder


def _all_features(monkeypatch, switch: str) -> tuple[dict, list[dict]]:
    monkeypatch.setenv(compiled.ENV_SWITCH, switch)
    compiled.compiled_module.cache_clear()
    y = music_like(6.0, seed=3)
    units = np.stack([music_like(3.0, seed=s) for s in range(4)])
    return gtzan_features(y, 22050), gtzan_features_batch(units, 22050)


def test_compiled_kernels_give_the_jit_results_bit_for_bit(built_folder, monkeypatch):
    monkeypatch.setenv(compiled.ENV_FOLDER, str(built_folder))
    track_jit, batch_jit = _all_features(monkeypatch, "0")
    track, batch = _all_features(monkeypatch, "1")
    assert compiled.compiled_module() is not None
    # every kernel of the engine has a function in the module for the engine's calls
    calls = []
    for item in compiled._kernels():
        original = item.compiled_for
        monkeypatch.setattr(
            item, "compiled_for", lambda args, o=original, c=calls: c.append(o(args)) or o(args)
        )
    track, batch = (
        gtzan_features(music_like(6.0, seed=3), 22050),
        gtzan_features_batch(np.stack([music_like(3.0, seed=s) for s in range(4)]), 22050),
    )
    assert calls and all(function is not None for function in calls)
    for got, want in [(track, track_jit), *zip(batch, batch_jit, strict=True)]:
        assert got.keys() == want.keys()
        for key in want:
            assert np.array_equal(np.asarray(got[key]), np.asarray(want[key])), key


def test_calls_of_other_types_run_on_the_jit(built_folder, monkeypatch, rng):
    monkeypatch.setenv(compiled.ENV_FOLDER, str(built_folder))
    compiled.compiled_module.cache_clear()
    data32 = rng.random((3, 40, 5), dtype=np.float32)
    padded = np.ascontiguousarray(np.pad(data32, ((0, 0), (2, 2), (0, 0)), mode="symmetric"))
    out = np.zeros(data32.shape, np.float32)
    assert hpss._sliding_median.compiled_for((padded, 5, out, 128)) is not None
    # float64, or a strided view: not what the module was built for
    assert (
        hpss._sliding_median.compiled_for((padded.astype(np.float64), 5, out.astype(np.float64), 128)) is None
    )
    assert hpss._sliding_median.compiled_for((padded[:, ::2], 5, out, 128)) is None
    assert hpss._sliding_median.compiled_for((padded, True, out, 128)) is None
    for dtype in (np.float32, np.float64):
        got = hpss.median_filter_1d(data32.astype(dtype), 5, axis=1)
        assert np.array_equal(got, np.median(np.lib.stride_tricks.sliding_window_view(padded, 5, axis=1), -1))


def test_argument_keys_follow_numba_typing():
    c = np.zeros((3, 4), np.float32)
    assert compiled._arg_key(c) == ("<f4", 2, "C")
    assert compiled._arg_key(np.asfortranarray(c)) == ("<f4", 2, "F")
    assert compiled._arg_key(c[:, ::2]) == ("<f4", 2, "A")
    assert compiled._arg_key(np.float32(1)) == "<f4"
    assert compiled._arg_key(1.0) == "<f8"
    assert compiled._arg_key(3) == "<i8"
    assert compiled._arg_key(2**70) is None
    assert compiled._arg_key(True) is None
    assert compiled._arg_key("x") is None
    misaligned = np.frombuffer(b"\0" * 17, dtype=np.uint8)[1:].view(np.float32)
    assert compiled._arg_key(misaligned) is None
    assert compiled._spec_key("f4[::1,:,:]") == ("<f4", 3, "F")
    assert compiled._spec_key("f8[:,:]") == ("<f8", 2, "A")
    assert compiled._matches((("<f4", 2, "A"),), (("<f4", 2, "C"),))
    assert not compiled._matches((("<f4", 2, "C"),), (("<f4", 2, "A"),))
    readonly = c.copy()
    readonly.flags.writeable = False
    assert compiled._arg_key(readonly) == ("<f4", 2, "C")  # kernels only read their inputs


def test_a_damaged_module_is_not_loaded_and_is_built_again(kernel_folder, monkeypatch):
    kernel_folder.mkdir(mode=0o700)
    path = compiled.module_path()
    path.write_bytes(b"\x7fELF not a module")
    assert compiled.compiled_module() is None
    data = np.random.default_rng(0).random((2, 50), dtype=np.float32)
    assert hpss.median_filter_1d(data, 3, axis=1).shape == data.shape  # the JIT serves the call
    runs = []
    monkeypatch.setattr(compiled.subprocess, "run", lambda *a, **k: runs.append(a) or pytest.fail("stop"))
    with pytest.raises(pytest.fail.Exception):
        compiled.ensure_compiled()
    assert runs and not path.exists()  # the damaged file went; a build was started


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_a_module_in_a_folder_others_can_write_is_not_loaded(built_folder, kernel_folder):
    shutil.copytree(built_folder, kernel_folder)
    kernel_folder.chmod(0o700)
    assert compiled.compiled_module() is not None
    kernel_folder.chmod(0o777)
    compiled.compiled_module.cache_clear()
    assert compiled.compiled_module() is None
    assert not compiled.ensure_compiled()  # and nothing is built there


def test_a_failed_build_is_recorded_with_its_reason_and_not_retried(kernel_folder, monkeypatch):
    runs = []

    def failing(*args, **kwargs):
        runs.append(args)
        return subprocess.CompletedProcess(args, 1, "", "Traceback ...\nCompileError: no compiler found\n")

    monkeypatch.setattr(compiled.subprocess, "run", failing)
    assert not compiled.ensure_compiled()
    assert "no compiler found" in compiled.failure_path().read_text()
    assert not compiled.ensure_compiled()
    assert len(runs) == 1
    assert compiled.compiled_module() is None


def test_switched_off_nothing_is_built_or_loaded(kernel_folder, monkeypatch):
    monkeypatch.setenv(compiled.ENV_SWITCH, "0")
    monkeypatch.setattr(compiled.subprocess, "run", lambda *a, **k: pytest.fail("built"))
    assert not compiled.ensure_compiled()
    assert compiled.compiled_module() is None
    assert not kernel_folder.exists()


def test_extract_tables_are_identical_with_and_without_the_module(built_folder, tmp_path, write_wav):
    for i in range(2):
        write_wav(f"in/g/{i}.wav", np.clip(music_like(7.0, seed=i), -1, 1))
    tables = {}
    for switch in ("0", "1"):
        env = checkout_env() | {compiled.ENV_FOLDER: str(built_folder), compiled.ENV_SWITCH: switch}
        code = (
            "import sys\nfrom featurelab.cli import main\n"
            f"code = main(['extract', 'in', '-o', 't{switch}.csv', '--segment', '3', '--track-out', "
            f"'tt{switch}.csv', '-j', '1', '-q', '--no-cache'])\n"
            "print('NUMBA', 'numba' in sys.modules)\nsys.exit(code)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert f"NUMBA {switch == '0'}" in done.stdout  # the module spares the run numba entirely
        tables[switch] = [(tmp_path / f"{kind}{switch}.csv").read_bytes() for kind in ("t", "tt")]
    assert tables["0"] == tables["1"]
