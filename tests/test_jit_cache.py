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
