"""Table chunks without pandas: the rows extraction hands on, and their CSV text.

Extraction builds its tables chunk by chunk (:mod:`featurelab.assembly`). A :class:`TableChunk` holds
one chunk as named columns -- a float or integer numpy array, or a list of strings, per column -- and
writes itself as CSV with the standard library, byte for byte as pandas writes the same table
(``chunk.to_frame().to_csv(index=False)``), so that ``featurelab extract -o t.csv`` never imports
pandas (~0.4 s). Parquet output and the tables of the Python API convert chunks with
:meth:`TableChunk.to_frame`, which imports pandas there.

pandas writes a CSV through :func:`csv.writer` (minimal quoting, ``os.linesep`` after each row), each
value converted by its column's dtype: a float column as numpy's ``astype(str)`` (the shortest repr,
``inf``, ``-inf``) with NaN as an empty field, an integer column as ``astype(str)``, a column of
strings as the strings themselves with ``None`` as an empty field. :meth:`TableChunk.write_csv`
follows the same rules.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Sequence
from typing import IO, TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # imported by to_frame only
    import pandas as pd

__all__ = ["TableChunk"]

#: A column of a chunk: a 1-D float or integer array, or strings (``None``: missing).
Column = np.ndarray | Sequence[str | None]


def _cells(column: Column) -> list[Any]:
    """Return the CSV fields of one column, as pandas converts them before :func:`csv.writer` sees them."""
    if isinstance(column, np.ndarray):
        if column.dtype.kind == "f":
            text = column.astype(str)
            text[np.isnan(column)] = ""
            return text.tolist()
        if column.dtype.kind in "iu":
            return column.astype(str).tolist()
        raise TypeError(f"A chunk's array columns are float or integer. Got dtype {column.dtype} instead.")
    return ["" if value is None else value for value in column]  # strings as they are


class TableChunk:
    """Consecutive rows of a table, as named columns of equal length.

    Parameters
    ----------
    columns : dict
        ``{name: column}`` in table order; a column is a 1-D float or integer numpy array, or a
        sequence of strings (``None`` for a missing value). All have the same length.

    Examples
    --------
    >>> import io, numpy as np
    >>> chunk = TableChunk({"filename": ["a, b.wav", None], "x": np.array([0.1, np.nan])})
    >>> text = io.StringIO(newline="")
    >>> chunk.write_csv(text)
    >>> print(text.getvalue(), end="")
    filename,x
    "a, b.wav",0.1
    ,
    """

    def __init__(self, columns: dict[str, Column]) -> None:
        lengths = {len(column) for column in columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"The columns of a chunk must have one length. Got lengths {sorted(lengths)}.")
        self.columns = columns
        self.n_rows = lengths.pop() if lengths else 0

    @classmethod
    def empty(cls, names: Iterable[str]) -> TableChunk:
        """Return the chunk of a table without rows (its header)."""
        return cls({name: [] for name in names})

    @classmethod
    def from_rows(cls, names: Sequence[str], rows: Iterable[Sequence[str | None]]) -> TableChunk:
        """Return the chunk of ``rows`` (tuples of strings, in the order of ``names``)."""
        rows = list(rows)
        return cls({name: [row[i] for row in rows] for i, name in enumerate(names)})

    @property
    def names(self) -> list[str]:
        """The column names, in order."""
        return list(self.columns)

    def __len__(self) -> int:
        return self.n_rows

    def write_csv(self, handle: IO[str], *, header: bool = True) -> None:
        """Write the rows (after the header, with ``header``) as pandas' ``to_csv(index=False)`` would.

        Parameters
        ----------
        handle : text file
            Opened for writing with ``newline=""``.
        header : bool
            Write the column names first.
        """
        # the writer pandas' to_csv makes: minimal quoting, os.linesep ends a row
        writer = csv.writer(handle, lineterminator=os.linesep, quoting=csv.QUOTE_MINIMAL)
        if header:
            writer.writerow(self.names)
        if self.n_rows:
            writer.writerows(zip(*map(_cells, self.columns.values()), strict=True))

    def to_frame(self) -> pd.DataFrame:
        """Return the chunk as a DataFrame (a table without rows has ``object`` columns)."""
        import pandas as pd

        if not self.n_rows:
            return pd.DataFrame(columns=self.names)
        return pd.DataFrame(self.columns)
