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
