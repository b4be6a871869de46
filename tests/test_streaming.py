"""Streaming extraction to disk: same tables as in memory, atomic, resumable, columns checked."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import SR, music_like

import featurelab.assembly as assembly
import featurelab.extraction as extraction
from featurelab.exceptions import ParameterError, TableError
from featurelab.extraction import extract_tables, extract_to_files
from featurelab.io import read_table, write_table
from featurelab.table_writer import TableWriter


@pytest.fixture
def clip_manifest(tmp_path, write_wav):
    """Manifest clips with groups, start/end, one missing file and one clip past the end."""
    write_wav("audio/a.wav", music_like(3.0, seed=1))
    write_wav("audio/b.wav", music_like(2.5, seed=2))
    path = tmp_path / "m.csv"
    path.write_text(
        "path,label,start,end,group\n"
        "audio/a.wav,x,0,1.2,t1\n"
        "audio/missing.wav,x,,,t2\n"
        "audio/b.wav,y,,,t3\n"
        "audio/a.wav,y,1.5,9,t1\n"
        "audio/a.wav,x,1.0,2.9,t1\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("chunk_rows", [2048, 1])
def test_streamed_csv_is_byte_identical_to_the_in_memory_table(
    tmp_path, clip_manifest, monkeypatch, chunk_rows
):
    monkeypatch.setattr(assembly, "CHUNK_ROWS", chunk_rows)  # 1: one chunk per item
    kwargs = dict(segment=1.0, n_jobs=1)
    memory = extract_tables(clip_manifest, tables=("segment", "track"), **kwargs)
    outputs = {"segment": tmp_path / "seg.csv", "track": tmp_path / "track.csv"}
    streamed = extract_to_files(clip_manifest, outputs, **kwargs)
    for kind, path in outputs.items():
        expected = tmp_path / f"expected-{kind}.csv"
        write_table(memory.tables[kind], expected)
        assert path.read_bytes() == expected.read_bytes()
        assert streamed.n_rows[kind] == len(memory.tables[kind]) > 0
        assert path.with_suffix(".meta.json").exists()
    assert streamed.tables == {} and streamed.paths == outputs
    pd.testing.assert_frame_equal(streamed.errors, memory.errors)
    assert len(streamed.errors) == 2  # the missing file and the clip past the end
    assert not list(tmp_path.glob(".*.tmp"))


def test_streamed_parquet_reads_back_equal(tmp_path, tiny_corpus, monkeypatch):
    monkeypatch.setattr(assembly, "CHUNK_ROWS", 4)  # several row groups
    memory = extract_tables(tiny_corpus, segment=1.0, tables=("track", "segment"), n_jobs=1)
    outputs = {"track": tmp_path / "t.parquet", "segment": tmp_path / "s.parquet"}
    extract_to_files(tiny_corpus, outputs, segment=1.0, n_jobs=2)
    for kind, path in outputs.items():
        pd.testing.assert_frame_equal(read_table(path), memory.tables[kind])
    import pyarrow.parquet as pq

    assert pq.ParquetFile(outputs["segment"]).num_row_groups > 1


def test_interrupted_stream_keeps_previous_output_and_resumes(tmp_path, tiny_corpus):
    out = tmp_path / "t.csv"
    out.write_text("previous,table\n1,2\n", encoding="utf-8")
    cache = tmp_path / "cache"

    class Stop(Exception):
        pass

    def stop_after_four(done, total):
        if done == 4:
            raise Stop

    with pytest.raises(Stop):
        extract_to_files(tiny_corpus, {"track": out}, cache=cache, progress=stop_after_four)
    assert out.read_text(encoding="utf-8") == "previous,table\n1,2\n"
    assert not list(tmp_path.glob(".*.tmp"))
    resumed = extract_to_files(tiny_corpus, {"track": out}, cache=cache, n_jobs=1)
    assert (resumed.n_cached, resumed.n_computed) == (4, 5)
    fresh = extract_tables(tiny_corpus, n_jobs=1)
    pd.testing.assert_frame_equal(read_table(out), fresh.tables["track"])


def test_nothing_extracted_still_writes_the_header(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio")
    out = tmp_path / "t.csv"
    result = extract_to_files([bad], {"track": out}, n_jobs=1)
    table = read_table(out)
    assert len(table) == 0 and result.n_rows == {"track": 0} and len(result.errors) == 1
    assert list(table.columns[:3]) == ["filename", "length", "chroma_stft_mean"]


def test_extract_to_files_validates_its_outputs(tmp_path, tiny_corpus):
    with pytest.raises(ParameterError, match="at least one table"):
        extract_to_files(tiny_corpus, {})
    with pytest.raises(ParameterError, match="keys of outputs"):
        extract_to_files(tiny_corpus, {"track": tmp_path / "t.csv"}, tables=("track",))
    with pytest.raises(ParameterError, match="different file"):
        extract_to_files(
            tiny_corpus, {"track": tmp_path / "t.csv", "segment": tmp_path / "t.csv"}, segment=1.0
        )


def test_items_with_other_columns_are_reported_not_misaligned(tmp_path, tiny_corpus, monkeypatch):
    # A plugin feature set whose columns depend on the input: the table keeps the first layout
    # and the odd item becomes an error row, never a shifted or NaN-filled row.
    def fake_worker(item, settings, kinds):
        row = {"length": 10.0, "a": 1.0, "b": 2.0}
        if item.name.startswith("dark"):
            row = {"length": 10.0, "a": 1.0, "c": 3.0}
        return {"seconds": 1.0, "track": {"rows": [row], "error": None}}

    monkeypatch.setattr(extraction, "_worker", fake_worker)
    result = extract_tables(tiny_corpus, n_jobs=1)
    table = result.tables["track"]
    assert list(table.columns) == ["filename", "length", "a", "b", "label"]
    assert len(table) == 6 and not table["filename"].str.startswith("dark").any()
    assert len(result.errors) == 3
    assert result.errors["reason"].str.contains("other columns").all()


def test_table_writer_refuses_changed_columns_and_cleans_up(tmp_path):
    out = tmp_path / "t.csv"
    with pytest.raises(TableError, match="columns of the first"):
        with TableWriter(out) as writer:
            writer.write(pd.DataFrame({"a": [1.0]}))
            writer.write(pd.DataFrame({"b": [1.0]}))
    assert not out.exists() and not list(tmp_path.iterdir())


def test_table_writer_parquet_chunks_keep_dtypes(tmp_path):
    out = tmp_path / "t.parquet"
    with TableWriter(out) as writer:
        writer.write(pd.DataFrame({"name": ["a"], "n": np.array([1], np.int64), "x": [0.5]}))
        writer.write(pd.DataFrame({"name": ["b", "c"], "n": np.array([2, 3], np.int64), "x": [1.5, 2]}))
    table = read_table(out)
    assert table["name"].tolist() == ["a", "b", "c"] and table["n"].dtype == np.int64
    assert writer.n_rows == 3


def test_streamed_lengths_match_sample_counts(tmp_path, tiny_corpus):
    out = tmp_path / "s.csv"
    extract_to_files(tiny_corpus, {"segment": out}, segment=1.0, n_jobs=1)
    assert set(read_table(out)["length"]) == {SR - 1}  # gtzan mode drops one sample per window


def test_written_tables_get_the_umask_permissions(tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "t.csv")
        with TableWriter(tmp_path / "s.csv") as writer:
            writer.write(pd.DataFrame({"a": [1]}))
    finally:
        os.umask(old)
    for name in ("t.csv", "s.csv"):  # not mkstemp's 0600: others may read the tables
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644


def test_extract_to_files_writes_the_errors_table_and_removes_a_stale_one(tmp_path, write_wav):
    """Library users get ``<stem>.errors.csv`` too (it is no longer written by the CLI alone)."""
    good = write_wav("c/good.wav", music_like(1.0, seed=3))
    bad = tmp_path / "c" / "bad.wav"
    bad.write_bytes(b"not audio")
    outputs = {"segment": tmp_path / "seg.parquet", "track": tmp_path / "track.csv"}
    result = extract_to_files([good, bad], outputs, segment=0.5, n_jobs=1)
    assert result.errors_path == tmp_path / "seg.errors.csv"
    errors = read_table(result.errors_path)
    assert errors["path"].tolist() == [str(bad)] and "not a readable audio file" in errors["reason"][0]
    fixed = extract_to_files([good], outputs, segment=0.5, n_jobs=1)
    assert fixed.errors_path is None and not (tmp_path / "seg.errors.csv").exists()


def test_api_defaults_are_all_cores_and_automatic_progress():
    import inspect

    from featurelab.arrays import extract_arrays
    from featurelab.extraction import extract
    from featurelab.predict import predict_files

    for function in (extract, extract_tables, extract_to_files, extract_arrays, predict_files):
        parameters = inspect.signature(function).parameters
        assert parameters["n_jobs"].default == -1, function.__name__
        assert parameters["progress"].default is None, function.__name__
        assert "progress=False" in function.__doc__, function.__name__
    with pytest.deprecated_call():
        assert extraction.default_jobs() >= 1
