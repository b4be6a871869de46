"""Write a table to CSV or Parquet chunk by chunk, replacing the target atomically at the end.

Extraction streams its rows here as they finish, so the driver never holds a whole corpus table in
memory. The rows go to a temporary file beside the target; :meth:`TableWriter.close` renames it over
the target, and an exception (or :meth:`TableWriter.discard`) removes it, leaving any previous file
untouched. The bytes written equal those of :func:`featurelab.io.write_table` on the concatenated
table (CSV), or a file that reads back to the same table (Parquet; one row group per chunk).

Chunks are :class:`~featurelab.chunk.TableChunk` objects (a CSV is then written without pandas) or
DataFrames; Parquet imports pandas and pyarrow when the first chunk is written.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .chunk import TableChunk
from .exceptions import TableError
from .io import atomic_path, table_format

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TableWriter"]


class TableWriter:
    """Append table chunks to a ``.csv`` or ``.parquet`` file; atomic on close.

    Parameters
    ----------
    path : path-like
        Destination; the format follows the extension.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from featurelab.chunk import TableChunk
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> with TableWriter(target) as writer:
    ...     writer.write(TableChunk({"a": np.array([1, 2])}))
    ...     writer.write(TableChunk({"a": np.array([3])}))
    >>> target.read_text().split()
    ['a', '1', '2', '3']
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.format = table_format(self.path)
        self.n_rows = 0
        self._columns: list[str] | None = None
        self._schema: Any = None
        self._parquet: Any = None
        self._handle: Any = None
        self._stack = contextlib.ExitStack()
        self._tmp: Path | None = None

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.discard()

    def _open(self) -> Path:
        if self._tmp is None:
            self._tmp = self._stack.enter_context(atomic_path(self.path))
        return self._tmp

    def write(self, frame: TableChunk | pd.DataFrame) -> None:
        """Append the rows of ``frame`` (its columns must match the first chunk's, in order).

        Parameters
        ----------
        frame : TableChunk or pandas.DataFrame
            The rows.

        Raises
        ------
        TableError
            If the columns differ from the first chunk's, or the file cannot be written.
        """
        columns = [str(c) for c in frame.columns]
        if self._columns is None:
            self._columns = columns
        elif columns != self._columns:
            raise TableError(
                f"Every chunk written to {str(self.path)!r} must have the columns of the first one. "
                f"Got {columns[:5]}... instead of {self._columns[:5]}..."
            )
        try:
            tmp = self._open()
            if self.format == "csv":
                header = self._handle is None
                if header:
                    self._handle = self._stack.enter_context(open(tmp, "w", encoding="utf-8", newline=""))
                if isinstance(frame, TableChunk):
                    frame.write_csv(self._handle, header=header)
                else:
                    frame.to_csv(self._handle, index=False, header=header)
            else:
                self._write_parquet(tmp, frame)
        except OSError as error:
            self.discard()
            raise TableError(
                f"Cannot write the table {str(self.path)!r} ({error.strerror or error}); any previous "
                "file there is unchanged."
            ) from error
        self.n_rows += len(frame)

    def _write_parquet(self, tmp: Path, frame: TableChunk | pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if isinstance(frame, TableChunk):
            frame = frame.to_frame()
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._parquet is None:
            self._schema = table.schema
            self._parquet = pq.ParquetWriter(tmp, self._schema)
            self._stack.callback(self._parquet.close)
        elif not table.schema.equals(self._schema, check_metadata=False):
            table = table.cast(self._schema)
        self._parquet.write_table(table)

    def close(self) -> Path:
        """Finish the file and move it over the target (an empty header-only table if no chunk).

        Returns
        -------
        Path
            The target path.
        """
        if self._tmp is None:  # nothing written: still produce a valid (empty) table
            self.write(TableChunk.empty(self._columns or []))
        try:
            self._stack.close()  # closes the file, then renames it over the target
        except OSError as error:
            raise TableError(
                f"Cannot write the table {str(self.path)!r} ({error.strerror or error}); any previous "
                "file there is unchanged."
            ) from error
        return self.path

    def discard(self) -> None:
        """Remove the temporary file; the target is left as it was.

        Never raises: rows still buffered when the disk is full (or the file size limit reached)
        fail to flush again as the file is closed, and are discarded with it.
        """
        stack, self._stack = self._stack, contextlib.ExitStack()
        with contextlib.suppress(OSError):
            stack.__exit__(RuntimeError, RuntimeError("discarded"), None)
