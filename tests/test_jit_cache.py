"""The numba warm-up marker: skipped only while the caches and sources are unchanged."""

from __future__ import annotations

import os

import featurelab.jit_cache as jit_cache


def _fake_packages(tmp_path, monkeypatch):
    root = tmp_path / "pkg"
    (root / "__pycache__").mkdir(parents=True)
    (root / "mod.py").write_text("x = 1\n")
    index = root / "__pycache__" / "mod.kernel-3.py311.nbi"
    index.write_bytes(b"index")
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setattr(jit_cache, "_package_roots", lambda: [root])
    return root, index


def test_marker_round_trip_and_invalidation(tmp_path, monkeypatch):
    root, index = _fake_packages(tmp_path, monkeypatch)
    assert not jit_cache.is_warm("k")
    jit_cache.mark_warm("k")
    assert jit_cache.is_warm("k") and not jit_cache.is_warm("other settings")
    # A recompiled kernel rewrites its index file: warm up again.
    index.write_bytes(b"index, longer")
    assert not jit_cache.is_warm("k")
    jit_cache.mark_warm("k")
    assert jit_cache.is_warm("k")
    # An edited source (stale kernels, index untouched): warm up again.
    (root / "mod.py").write_text("x = 2  # edited\n")
    assert not jit_cache.is_warm("k")
    jit_cache.mark_warm("k")
    # Cache files deleted: warm up again.
    index.unlink()
    assert not jit_cache.is_warm("k")


def test_no_cache_files_means_never_warm(tmp_path, monkeypatch):
    root, index = _fake_packages(tmp_path, monkeypatch)
    index.unlink()
    jit_cache.mark_warm("k")  # nothing to fingerprint: no marker
    assert not jit_cache.is_warm("k")
    assert not list((root / "__pycache__").glob("featurelab-warm-*"))


def test_numba_cache_dir_and_unreadable_marker(tmp_path, monkeypatch):
    root, _ = _fake_packages(tmp_path, monkeypatch)
    custom = tmp_path / "numba-cache"
    custom.mkdir()
    (custom / "f.nbi").write_bytes(b"i")
    monkeypatch.setenv("NUMBA_CACHE_DIR", os.fspath(custom))
    jit_cache.mark_warm("k")
    markers = list(custom.glob("featurelab-warm-*.json"))
    assert len(markers) == 1 and jit_cache.is_warm("k")
    markers[0].write_text("{not json")
    assert not jit_cache.is_warm("k")


def test_extraction_skips_the_warm_up_only_when_warm(tiny_corpus, monkeypatch):
    import featurelab.extraction as extraction

    calls = []
    monkeypatch.setattr(extraction, "_warm_up", lambda settings: calls.append(settings))
    monkeypatch.setattr(jit_cache, "is_warm", lambda key: False)
    marked = []
    monkeypatch.setattr(jit_cache, "mark_warm", lambda key: marked.append(key))
    extraction.extract_tables(tiny_corpus, n_jobs=2)
    assert len(calls) == 1 and len(marked) == 1
    monkeypatch.setattr(jit_cache, "is_warm", lambda key: True)
    extraction.extract_tables(tiny_corpus, n_jobs=2)
    assert len(calls) == 1


# ----------------------------------------------------------------------------- no writable cache
def _unwritable_install(tmp_path):
    """A copy of featurelab where numba can write neither beside the modules nor in ``$HOME``.

    A file stands where each ``__pycache__`` folder and ``~/.cache`` would be: no folder can be made
    there, even by root (for whom ``chmod -w`` would not stop writes), so the test runs as anyone.
    """
    import shutil
    from pathlib import Path

    import featurelab

    site = tmp_path / "site"
    shutil.copytree(
        Path(featurelab.__file__).parent, site / "featurelab", ignore=shutil.ignore_patterns("__pycache__")
    )
    for folder in [site / "featurelab", *(p for p in (site / "featurelab").rglob("*") if p.is_dir())]:
        (folder / "__pycache__").write_text("not a folder\n")
    home = tmp_path / "home"
    home.mkdir()
    (home / ".cache").write_text("not a folder\n")
    (tmp_path / "tmp").mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME")}
    env.update(HOME=str(home), PYTHONPATH=str(site), TMPDIR=str(tmp_path / "tmp"))
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


_KERNELS = """
import numpy as np
import featurelab.features.hpss as hpss  # defines cache=True kernels: needs a cache folder
import featurelab.features.spectral, featurelab.features.pitch
data = np.random.default_rng(0).random((6, 9)).astype(np.float32)
print(float(hpss.median_filter_1d(data, 3, axis=1).sum()))
"""


def test_no_writable_numba_cache_falls_back_to_a_private_temporary_folder_and_says_so_once(tmp_path):
    import subprocess
    import sys

    env = _unwritable_install(tmp_path)
    run = dict(env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)  # cwd: not this tree
    done = subprocess.run([sys.executable, "-c", _KERNELS], **run)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "no locator available" not in done.stderr
    notes = [line for line in done.stderr.splitlines() if "NUMBA_CACHE_DIR" in line]
    assert len(notes) == 1, done.stderr
    folders = list((tmp_path / "tmp").glob("featurelab-numba-*"))
    assert len(folders) == 1 and str(folders[0]) in notes[0]
    assert folders[0].stat().st_mode & 0o077 == 0  # private: compiled code is loaded from there
    assert list(folders[0].rglob("*_sliding_median*.nbi"))  # the kernel was cached there
    # A second run reuses the folder (kernels compile once) and says so again, once.
    again = subprocess.run([sys.executable, "-c", _KERNELS], **run)
    assert again.returncode == 0 and again.stdout == done.stdout
    assert list((tmp_path / "tmp").glob("featurelab-numba-*")) == folders
    assert [line for line in again.stderr.splitlines() if "NUMBA_CACHE_DIR" in line] == notes


def test_numba_cache_left_alone_where_numba_can_write(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "cache"))
    jit_cache.ensure_numba_cache.cache_clear()
    try:
        assert jit_cache.ensure_numba_cache() is None
        assert os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / "cache")
    finally:
        jit_cache.ensure_numba_cache.cache_clear()
