"""The resume cache: JSON entries and arrays beside them, atomic writes, damaged entries missed."""

from __future__ import annotations

import numpy as np

from featurelab.cache import ResultCache


def test_json_entries_round_trip(tmp_path):
    store = ResultCache(tmp_path)
    key = ResultCache.key({"file": "a.wav", "settings": {"sr": 22050}})
    assert not store.has(key) and store.get(key) is None
    store.put(key, {"rows": [{"a": 1.0}], "error": None})
    assert store.has(key) and store.get(key) == {"rows": [{"a": 1.0}], "error": None}
    assert [p.suffix for p in tmp_path.rglob("*") if p.is_file()] == [".json"]


def test_array_entries_go_to_an_npz_beside_the_json(tmp_path):
    store = ResultCache(tmp_path)
    array = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    store.put("ab12", {"array": array, "bounds": [[0, 3], [3, 6]], "error": None})
    assert sorted(p.name for p in (tmp_path / "ab").iterdir()) == ["ab12.json", "ab12.npz"]
    entry = store.get("ab12")
    assert entry["bounds"] == [[0, 3], [3, 6]] and entry["error"] is None and "__arrays__" not in entry
    np.testing.assert_array_equal(entry["array"], array)
    assert entry["array"].dtype == np.float32
    # a missing or damaged array file is a miss (the item is recomputed), never an exception
    (tmp_path / "ab" / "ab12.npz").write_bytes(b"garbage")
    assert store.get("ab12") is None
    (tmp_path / "ab" / "ab12.npz").unlink()
    assert store.get("ab12") is None


def test_damaged_json_is_a_miss_and_no_temporary_is_left(tmp_path):
    store = ResultCache(tmp_path)
    store.put("cd34", {"rows": []})
    (tmp_path / "cd" / "cd34.json").write_text("{half")
    assert store.get("cd34") is None
    assert not list(tmp_path.rglob(".entry.*"))


def test_disabled_cache():
    store = ResultCache(None)
    store.put("x", {"array": np.zeros(2)})
    assert not store.has("x") and store.get("x") is None


def _stale_temporary(cache, key):
    """The temporary a write of ``key`` killed midway (``kill -9``) leaves behind."""
    cache.put(key, {"x": 1})  # makes the entry's folder
    tmp = cache.directory / key[:2] / ".entry.k1ll3d.tmp"
    tmp.write_text('{"x": ')
    return tmp


def test_stale_temporaries_are_removed_and_those_being_written_kept(tmp_path):
    import fcntl
    import os

    cache = ResultCache(tmp_path / "cache")
    stale = _stale_temporary(cache, "ab" + "0" * 62)
    busy = cache.directory / "ab" / ".entry.wr1t1ng.tmp"  # held by a running writer
    busy.write_text("")
    other = cache.directory / "ab" / "notes.tmp"  # not the cache's
    other.write_text("mine")
    fd = os.open(busy, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert cache.remove_stale_temporaries() == [stale]
        assert busy.exists() and other.exists() and not stale.exists()
        assert cache.get("ab" + "0" * 62) == {"x": 1}
    finally:
        os.close(fd)
    assert cache.remove_stale_temporaries() == [busy]
    assert ResultCache(None).remove_stale_temporaries() == []


def test_a_writer_holds_its_temporary_until_it_is_renamed(tmp_path, monkeypatch):
    import json

    import featurelab.cache

    cache = ResultCache(tmp_path / "cache")
    key = "cd" + "0" * 62
    seen = []

    def dumps(entry, **kwargs):  # another process cleaning the cache during the write
        seen.append(ResultCache(cache.directory).remove_stale_temporaries())
        return json.dumps(entry, **kwargs)

    monkeypatch.setattr(featurelab.cache, "json", type("J", (), {"dumps": staticmethod(dumps)}))
    cache.put(key, {"x": 1})
    monkeypatch.undo()
    assert seen == [[]] and cache.get(key) == {"x": 1}
    assert not list(cache.directory.glob("*/.entry.*"))


def test_extraction_removes_stale_cache_temporaries(tmp_path, write_wav):
    from featurelab.cli import main

    write_wav("c/a/one.wav", np.zeros(2205, dtype=np.float32) + 0.1)
    stale = _stale_temporary(ResultCache(tmp_path / "t.featurelab-cache"), "ef" + "0" * 62)
    assert main(["extract", str(tmp_path / "c"), "-o", str(tmp_path / "t.csv"), "-q", "--jobs", "1"]) == 0
    assert not stale.exists()
