"""Light table chunks (issue 15): CSV bytes equal pandas' ``to_csv``, DataFrames equal the old ones.

``TableChunk.write_csv`` replaces ``DataFrame.to_csv(index=False)`` on the extraction path, so every
test here compares bytes with pandas writing the same table; the assembler's chunks are compared with
the DataFrames it built before chunks existed (the pandas code kept below as the oracle).
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from featurelab.assembly import TableAssembler
from featurelab.chunk import TableChunk
from featurelab.datasets import AudioItem, segment_name, track_id
from featurelab.extraction import ERROR_COLUMNS, errors_frame, extract_to_files


def _ours(chunks: list[TableChunk]) -> str:
    text = io.StringIO(newline="")
    for i, chunk in enumerate(chunks):
        chunk.write_csv(text, header=i == 0)
    return text.getvalue()


def _pandas(chunks: list[TableChunk]) -> str:
    text = io.StringIO(newline="")
    for i, chunk in enumerate(chunks):
        chunk.to_frame().to_csv(text, index=False, header=i == 0)
    return text.getvalue()


# ----------------------------------------------------------------------------- CSV bytes
_TEXT = st.text(alphabet=st.sampled_from(list("ab,\"'\n\r\t ;é.-_0N")), max_size=6)
_FLOATS = st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True)
_SPECIAL = [0.0, -0.0, 0.1, 1e16, 1e-5, 1e-4, 9999999999999998.0, 0.1 + 0.2, 5e-324, 1.7976931348623157e308]


@st.composite
def _chunk(draw, n_rows: int, names: list[str], kinds: list[str]) -> TableChunk:
    columns: dict = {}
    for name, kind in zip(names, kinds, strict=True):
        if kind == "float64":
            values = draw(st.lists(_FLOATS | st.sampled_from(_SPECIAL), min_size=n_rows, max_size=n_rows))
            columns[name] = np.array(values, dtype=np.float64)
        elif kind == "float32":
            values = draw(st.lists(st.floats(width=32), min_size=n_rows, max_size=n_rows))
            columns[name] = np.array(values, dtype=np.float32)
        elif kind == "int64":
            values = draw(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=n_rows, max_size=n_rows))
            columns[name] = np.array(values, dtype=np.int64)
        else:
            columns[name] = draw(st.lists(st.none() | _TEXT, min_size=n_rows, max_size=n_rows))
    return TableChunk(columns)


@st.composite
def _chunks(draw) -> list[TableChunk]:
    names = draw(st.lists(_TEXT, min_size=1, max_size=5, unique=True))
    kinds = draw(st.lists(st.sampled_from(["float64", "float32", "int64", "str"]), min_size=len(names)))
    sizes = draw(st.lists(st.integers(1, 6), min_size=1, max_size=3))
    return [draw(_chunk(n, names, kinds[: len(names)])) for n in sizes]


@given(_chunks())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example([TableChunk({"x": np.array([np.nan, np.inf, -np.inf, -0.0, 1e16, 1e-5, 0.1 + 0.2])})])
@example([TableChunk({"": [""]})])  # one empty field alone on a line is quoted ("")
@example([TableChunk({"a,b": ['say "hi"', "two\nlines", "cr\r", None, ""], "n": np.arange(5)})])
def test_csv_bytes_equal_pandas_to_csv(chunks):
    assert _ours(chunks) == _pandas(chunks)


@pytest.mark.parametrize("names", [[], ["filename"], ["filename", "length", "a,b", 'say "x"', "label"]])
def test_a_table_without_rows_is_its_header_as_pandas_writes_it(names):
    chunk = TableChunk.empty(names)
    assert len(chunk) == 0 and chunk.names == names
    text = io.StringIO(newline="")
    pd.DataFrame(columns=names).to_csv(text, index=False)
    assert _ours([chunk]) == text.getvalue()
    pd.testing.assert_frame_equal(chunk.to_frame(), pd.DataFrame(columns=names))


def test_chunks_refuse_ragged_columns_and_unwritable_dtypes():
    with pytest.raises(ValueError, match="one length"):
        TableChunk({"a": np.zeros(2), "b": ["x"]})
    with pytest.raises(TypeError, match="float or integer"):
        _ours([TableChunk({"a": np.array(["x"])})])


# ----------------------------------------------------------------------------- the errors table
_OLD_ERRORS = [
    [],
    [("a.wav", "cannot decode")],
    [("a.wav", "x"), ("b,c.wav", 'bad "header"'), ("a.wav", "x"), ("a.wav", "y"), ("d\n.wav", "")],
]


@pytest.mark.parametrize("pairs", _OLD_ERRORS)
def test_errors_table_equals_the_old_one_and_writes_the_same_bytes(pairs):
    rows = [{"path": path, "reason": reason} for path, reason in pairs]
    old = pd.DataFrame(rows, columns=["path", "reason"]).drop_duplicates(ignore_index=True)
    unique = list(dict.fromkeys(pairs))  # what extraction keeps
    pd.testing.assert_frame_equal(errors_frame(unique), old, check_index_type=True)
    assert _ours([TableChunk.from_rows(ERROR_COLUMNS, unique)]) == old.to_csv(index=False)


def test_extract_to_files_writes_the_errors_csv_pandas_would(tmp_path, write_wav):
    from conftest import music_like

    write_wav('in/a, "b".wav', music_like(1.0))
    (tmp_path / "in" / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot audio")
    missing = tmp_path / "in" / "gone,\nnew.wav"
    files = sorted((tmp_path / "in").iterdir()) + [missing]
    result = extract_to_files(files, {"track": tmp_path / "t.csv"}, n_jobs=1, progress=False)
    assert len(result.failures) == 2 and result.errors_path == tmp_path / "t.errors.csv"
    expected = result.errors.to_csv(index=False).encode()
    assert result.errors_path.read_bytes() == expected
    assert b'"' in expected  # the quoted names went through the csv quoting


# ----------------------------------------------------------------------------- assembled chunks
def _old_frame(assembler: TableAssembler, pending: list[tuple[AudioItem, np.ndarray]]) -> pd.DataFrame:
    """The assembler's DataFrame chunk as built before chunks (pandas), kept as the oracle."""
    names: list[str] = []
    owned: list[AudioItem] = []
    values = pd.DataFrame(np.concatenate([v for _, v in pending]), columns=list(assembler.columns))
    copies = values.pop("augmented").to_numpy().astype(np.int64) if assembler.augmented else None
    for item, rows in pending:
        n_rows = len(rows)
        if assembler.kind == "track":
            names.extend([item.name] * n_rows)
        else:
            own = n_rows if copies is None else int(np.count_nonzero(copies[len(names) :][:n_rows] == 0))
            names.extend(segment_name(item.name, i % own) for i in range(n_rows))
        owned.extend([item] * n_rows)
    frame = {"filename": names, "length": values.pop("length").to_numpy().astype(np.int64)}
    frame.update(values.items())
    frame["label"] = [item.label for item in owned]
    if assembler.manifest_cols["group"]:
        frame["group"] = [
            item.group or (track_id(item.name) if assembler.augmented else "") for item in owned
        ]
    if assembler.manifest_cols["start"]:
        frame["start"] = [item.start if item.start is not None else 0.0 for item in owned]
    if assembler.manifest_cols["end"]:
        frame["end"] = [item.end if item.end is not None else float("nan") for item in owned]
    if copies is not None:
        frame["augmented"] = copies
    return pd.DataFrame(frame)


def _items(manifest: bool) -> list[AudioItem]:
    if not manifest:
        return [
            AudioItem(f"/c/{label}/{label}.{i}.wav", f"{label}.{i}.wav", label)
            for i, label in enumerate("ab")
        ]
    return [
        AudioItem("/c/x.wav", "x.wav", "x", start=0.5, end=2.0, group="t,1"),
        AudioItem("/c/y.wav", 'y "1".wav', "", start=None, end=None, group=None),
        AudioItem("/c/z.wav", "z.wav", "y", start=1.0, end=None, group="t2"),
    ]


def _entry(rng, n_rows: int, copies: int) -> dict:
    rows = []
    for i in range(n_rows):
        row = {"a": float(rng.standard_normal()), "b_var": float(rng.uniform(0, 1e-7)), "length": 66149.0}
        if copies:
            row["augmented"] = float(i // (n_rows // (1 + copies)))
        rows.append(row)
    return {"rows": rows, "error": None}


@pytest.mark.parametrize("kind", ["track", "segment"])
@pytest.mark.parametrize("manifest", [False, True])
@pytest.mark.parametrize("copies", [0, 2])
def test_assembled_chunks_are_the_old_dataframes(kind, manifest, copies):
    rng = np.random.default_rng(7)
    items = _items(manifest)
    chunks: list[TableChunk] = []
    assembler = TableAssembler(kind, items, ["gtzan"], chunks.append, copies=copies)
    pending = []
    for item in items:
        entry = _entry(rng, (1 + copies) * (1 if kind == "track" else 2), copies)
        assert assembler.add(item, entry) is None
        pending.append((item, np.array([list(row.values()) for row in entry["rows"]])))
    assembler.finish()
    (chunk,) = chunks
    old = _old_frame(assembler, pending)
    pd.testing.assert_frame_equal(chunk.to_frame(), old, check_index_type=True, check_exact=True)
    assert _ours([chunk]) == old.to_csv(index=False)


def test_an_empty_assembled_table_is_the_old_header_frame():
    chunks: list[TableChunk] = []
    assembler = TableAssembler("track", _items(True), ["gtzan"], chunks.append)
    assembler.finish()
    (chunk,) = chunks
    from featurelab.features.schema import GTZAN_FEATURE_COLUMNS

    columns = ["filename", "length", *GTZAN_FEATURE_COLUMNS, "label", "group", "start", "end"]
    pd.testing.assert_frame_equal(chunk.to_frame(), pd.DataFrame(columns=columns), check_index_type=True)
