"""Rows to tables: finished extraction items become table chunks in the published column order.

The extraction driver hands each item's rows (``{column: value}`` per row) to a
:class:`TableAssembler` in input order; it names the rows (``filename``: the item's name, or
``<stem>.<i><ext>`` for segment ``i``), adds the label and the manifest columns and hands the rows on
in chunks of :data:`CHUNK_ROWS` (:class:`~featurelab.chunk.TableChunk`, plain columns: no pandas) --
to a :class:`~featurelab.table_writer.TableWriter`, or to a list.

A table with augmented rows (``extract --augment``) also has an ``augmented`` column (0 for a
file's own rows, ``c`` for its copy ``c``, named like the row it copies) and a ``group`` column (the
manifest's group, else the file's track), so that every evaluation keeps a file's copies with it
and trains on them only (:mod:`featurelab.models.splits`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .chunk import TableChunk
from .datasets import AudioItem, segment_name, track_id
from .settings import TableKind

__all__ = ["TableAssembler", "CHUNK_ROWS", "entry_problem"]


#: Rows assembled into one chunk before it is handed on (written, or kept).
CHUNK_ROWS = 2048


def _is_number(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def entry_problem(
    entry: Any,
    kind: TableKind,
    columns: Sequence[str] | None = None,
    segment_length: int | None = None,
    copies: int = 0,
) -> str | None:
    """Say why a stored (resume-cache) entry of ``kind`` rows cannot be used, or ``None`` if it can.

    A usable entry is what the workers return: ``{"rows": [...], "error": None}`` with finite
    numbers in every row (one row for a track), or ``{"rows": [], "error": "reason"}``.

    Parameters
    ----------
    entry : object
        The entry as read from JSON.
    kind : {"track", "segment"}
        The table its rows belong to.
    columns : sequence of str or None
        The columns of every row, in order (``length`` included); ``None``: not known, the rows
        need only agree with each other.
    segment_length : int or None
        The ``length`` of every segment row (samples), when known.
    copies : int
        Augmented copies of each row (``extract --augment``): a track entry holds ``1 + copies``
        rows.

    Examples
    --------
    >>> entry_problem({"rows": [{"a": 1.0, "length": 5}], "error": None}, "track")
    >>> entry_problem({"rows": [{"a": float("nan"), "length": 5}], "error": None}, "track")
    'a value is not a finite number'
    """
    if not isinstance(entry, dict):
        return "not a JSON object"
    rows, error = entry.get("rows"), entry.get("error")
    if error is not None:
        if not isinstance(error, str) or not error.strip():
            return "the error is not a reason"
        return None if rows in (None, []) else "rows and an error"
    if not isinstance(rows, list) or not rows:
        return "no rows"
    if kind == "track" and len(rows) != 1 + copies:
        return "a track entry holds one row" + (f" and {copies} copies" if copies else "")
    if not all(isinstance(row, dict) for row in rows):
        return "a row is not a JSON object"
    expected = tuple(columns) if columns is not None else tuple(rows[0])
    if "length" not in expected or any(tuple(row) != expected for row in rows):
        return "rows with other columns"
    if not all(_is_number(value) for row in rows for value in row.values()):
        return "a value is not a finite number"
    lengths = {row["length"] for row in rows}
    if not all(float(length).is_integer() and length >= 1 for length in lengths):
        return "a length is not a number of samples"
    if kind == "segment" and segment_length is not None and lengths != {segment_length}:
        return "a segment length differs from the settings'"
    return None


class TableAssembler:
    """Turns finished items into table chunks (filename, length, features, label, manifest columns).

    The feature columns of a table are those of its first successful item; an item whose feature
    sets return other columns is reported as failed rather than written misaligned.

    Parameters
    ----------
    kind : {"track", "segment"}
        Which table: one row per item, or rows named ``<stem>.<i><ext>`` per segment.
    items : sequence of AudioItem
        Every input of the run (decides which manifest columns the table has).
    feature_sets : sequence of str
        The feature-set names (the header of a table without rows).
    emit : callable
        Receives each finished chunk (a :class:`~featurelab.chunk.TableChunk` of up to
        :data:`CHUNK_ROWS` rows), in order.
    columns : callable or None
        Returns the columns of every row, in order (``length`` last), or ``None`` when not known;
        called once, when :meth:`check` first needs it.
    segment_length : int or None
        The ``length`` of every segment row, checked by :meth:`check`.
    copies : int
        Augmented copies of each row (``extract --augment``): the rows carry an ``augmented`` copy
        number, and the table has ``group`` and ``augmented`` columns.
    """

    def __init__(
        self,
        kind: TableKind,
        items: Sequence[AudioItem],
        feature_sets: Sequence[str],
        emit: Callable[[TableChunk], None],
        *,
        columns: Callable[[], Sequence[str] | None] | None = None,
        segment_length: int | None = None,
        copies: int = 0,
    ) -> None:
        self.kind = kind
        self.emit = emit
        self._columns = columns
        self._segment_length = segment_length
        self.copies = copies
        self.augmented = copies > 0
        self.manifest_cols = {
            "group": self.augmented or any(item.group is not None for item in items),
            "start": any(item.start is not None for item in items),
            "end": any(item.end is not None for item in items),
        }
        self.columns: tuple[str, ...] | None = None
        self._column_set: frozenset[str] = frozenset()
        self._gtzan_only = list(feature_sets) == ["gtzan"]
        self._pending: list[tuple[AudioItem, np.ndarray]] = []
        self._pending_rows = 0
        self.n_rows = 0

    @functools.cached_property
    def expected_columns(self) -> tuple[str, ...] | None:
        """The columns of every row, in order, when known (see the ``columns`` parameter)."""
        found = self._columns() if self._columns is not None else None
        return None if found is None else tuple(found)

    def check(self, entry: Any) -> str | None:
        """Say why a stored entry cannot be added (see :func:`entry_problem`), or ``None``."""
        return entry_problem(entry, self.kind, self.expected_columns, self._segment_length, self.copies)

    def add(self, item: AudioItem, entry: dict[str, Any]) -> str | None:
        """Queue the rows of one item; return a failure reason instead when it has none."""
        if entry.get("error"):
            return str(entry["error"])
        rows = entry.get("rows") or []
        if not rows:
            return "no rows"
        if self.columns is None:
            self.columns = tuple(rows[0])
            self._column_set = frozenset(self.columns)
        if any(row.keys() != self._column_set for row in rows):
            missing = sorted(set(self.columns) - set(rows[0]))[:3]
            extra = sorted(set(rows[0]) - set(self.columns))[:3]
            return (
                "its feature sets returned other columns than the table's first row "
                f"(missing {missing}, extra {extra})"
            )
        values = np.array([[row[c] for c in self.columns] for row in rows], dtype=np.float64)
        self._pending.append((item, values))
        self._pending_rows += len(values)
        if self._pending_rows >= CHUNK_ROWS:
            self.flush()
        return None

    def flush(self) -> None:
        """Hand the queued rows on as one chunk."""
        if not self._pending:
            return
        chunk = self._frame(self._pending)
        self._pending, self._pending_rows = [], 0
        self.n_rows += len(chunk)
        self.emit(chunk)

    def finish(self) -> None:
        """Hand on the last rows; a table without any row is handed on as its header."""
        self.flush()
        if self.n_rows == 0:
            self.emit(self._empty())

    def _empty(self) -> TableChunk:
        """Return the table without rows (its header)."""
        columns = ["filename", "length"]
        if self.columns is not None:
            columns += [c for c in self.columns if c != "length"]
        elif self._gtzan_only:
            from .features.schema import GTZAN_FEATURE_COLUMNS

            columns += list(GTZAN_FEATURE_COLUMNS)
        columns = [c for c in columns if c != "augmented"] + ["label"]
        columns += [name for name, present in self.manifest_cols.items() if present]
        if self.augmented:
            columns.append("augmented")
        return TableChunk.empty(columns)

    def _group(self, item: AudioItem) -> str:
        """Return the ``group`` of ``item``'s rows: the manifest's, else its track when augmented."""
        return item.group or (track_id(item.name) if self.augmented else "")

    def _frame(self, pending: list[tuple[AudioItem, np.ndarray]]) -> TableChunk:
        assert self.columns is not None
        names: list[str] = []
        owned: list[AudioItem] = []
        values = np.concatenate([v for _, v in pending])
        index = {name: i for i, name in enumerate(self.columns)}
        copies = values[:, index["augmented"]].astype(np.int64) if self.augmented else None
        for item, rows in pending:
            n_rows = len(rows)
            if self.kind == "track":
                names.extend([item.name] * n_rows)
            else:
                # copies follow the file's own rows, window by window: named like the window copied
                own = n_rows if copies is None else int(np.count_nonzero(copies[len(names) :][:n_rows] == 0))
                names.extend(segment_name(item.name, i % own) for i in range(n_rows))
            owned.extend([item] * n_rows)
        columns: dict[str, Any] = {"filename": names, "length": values[:, index["length"]].astype(np.int64)}
        apart = {"length", "augmented"} if self.augmented else {"length"}
        columns.update((name, values[:, i]) for name, i in index.items() if name not in apart)
        columns["label"] = [item.label for item in owned]
        if self.manifest_cols["group"]:
            columns["group"] = [self._group(item) for item in owned]
        if self.manifest_cols["start"]:
            columns["start"] = np.array([item.start or 0.0 for item in owned], dtype=np.float64)
        if self.manifest_cols["end"]:
            ends = [np.nan if item.end is None else item.end for item in owned]
            columns["end"] = np.array(ends, dtype=np.float64)
        if copies is not None:
            columns["augmented"] = copies
        return TableChunk(columns)
