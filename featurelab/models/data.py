"""Feature tables as model inputs: features, labels, tracks and groups.

A *track table* has one row per audio file (``features_30_sec.csv``); a *segment table* has one row
per fixed-length window of a file (``features_3_sec.csv``: ``blues.00000.3.wav`` is window 3 of
``blues.00000.wav``). Segments of one track must never be split between training and test data, so
:func:`load_dataset` derives each row's track and, by default, uses it as the cross-validation
group.

A table made with ``extract --augment`` also holds augmented copies of its rows (``augmented``
column, non-zero): :attr:`Dataset.augmented` marks them, and every split
(:func:`featurelab.models.splits.split_originals`) uses them only to train, with their track.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..datasets import segment_track_id, track_id
from ..exceptions import ParameterError, TableError
from ..features.schema import NON_FEATURE_COLUMNS
from ..settings import ExtractionSettings

__all__ = [
    "Dataset",
    "load_dataset",
    "track_id",
    "segment_track_id",
    "read_features_file",
    "feature_matrix",
    "MAX_FEATURE_MAGNITUDE",
]

#: The largest feature magnitude accepted (float32's largest value, about 3.4e38). Beyond it the
#: models are no longer exact -- XGBoost and LightGBM store features as float32 -- and a scaler's
#: squares of values near float64's limit overflow to infinity; such values are damage, not data.
MAX_FEATURE_MAGNITUDE = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class Dataset:
    """A feature table split into model inputs.

    Attributes
    ----------
    X : pandas.DataFrame [shape=(n_rows, n_features), dtype=float64]
        The feature columns.
    y : np.ndarray [shape=(n_rows,), dtype=str]
        Labels.
    groups : np.ndarray [shape=(n_rows,)] or None
        Cross-validation groups (tracks), or ``None`` for ungrouped splits.
    feature_names : list of str
        ``list(X.columns)``.
    is_segment_table : bool
        Rows are windows of longer tracks.
    frame : pandas.DataFrame
        The table as read.
    track_ids : np.ndarray [shape=(n_rows,), dtype=str]
        The track of each row (the file stem for track tables).
    source : str or None
        The table's path.
    extraction : ExtractionSettings or None
        Extraction settings, from the table's sidecar or assumed (then ``extraction.assumed`` is
        ``True``).
    augmented : np.ndarray [shape=(n_rows,), dtype=bool] or None
        Rows that are augmented copies (training rows only), or ``None`` when the table has no
        ``augmented`` column.
    """

    X: pd.DataFrame
    y: np.ndarray
    groups: np.ndarray | None
    feature_names: list[str]
    is_segment_table: bool
    frame: pd.DataFrame
    track_ids: np.ndarray
    source: str | None = None
    extraction: ExtractionSettings | None = field(default=None)
    augmented: np.ndarray | None = field(default=None)

    @property
    def n_samples(self) -> int:
        """Number of rows."""
        return len(self.y)

    @property
    def classes(self) -> list[str]:
        """Sorted distinct labels."""
        return sorted(np.unique(self.y).tolist())


def read_features_file(path: str | os.PathLike) -> list[str]:
    """Read a features file: one column name per line; blank lines and ``#`` comments ignored."""
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"Features file {str(path)!r} does not exist.")
    names = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(line)
    if not names:
        raise ParameterError(f"Features file {str(path)!r} lists no column names.")
    return names


def _columns_text(columns: list[str]) -> str:
    shown = ", ".join(repr(str(c)) for c in columns[:5])
    return shown + (f" and {len(columns) - 5} more" if len(columns) > 5 else "")


def feature_matrix(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Return ``frame[columns]`` as float64, refusing values no model can use.

    Parameters
    ----------
    frame : pandas.DataFrame
        A feature table.
    columns : list of str
        The feature columns (all present in ``frame``).

    Returns
    -------
    pandas.DataFrame [shape=(n_rows, len(columns)), dtype=float64]

    Raises
    ------
    TableError
        A cell is text, missing or infinite, or larger in magnitude than
        :data:`MAX_FEATURE_MAGNITUDE`; the message names the columns and the first rows.

    Examples
    --------
    >>> table = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4e300]})
    >>> feature_matrix(table, ["a"]).dtypes.tolist()
    [dtype('float64')]
    >>> feature_matrix(table, ["a", "b"])
    Traceback (most recent call last):
    ...
    featurelab.exceptions.TableError: 1 rows have feature values too large to use (|value| > 3.4e+38) ...
    """
    X = frame[columns]
    text = [c for c in columns if not pd.api.types.is_numeric_dtype(X[c])]
    if text:
        numeric = X[text].apply(pd.to_numeric, errors="coerce")
        broken = X[text].notna() & numeric.isna()
        for column in text:
            if broken[column].any():
                row = int(broken[column].to_numpy().argmax())
                raise TableError(
                    f"Feature column {str(column)!r} must be numeric, but row {row} holds "
                    f"{str(X[column].iloc[row])[:40]!r}; fix or drop that row, or re-extract the table."
                )
        X = X.assign(**{c: numeric[c] for c in text})
    values = X.to_numpy(dtype=np.float64)
    for problem, bad in (
        ("missing or infinite feature values", ~np.isfinite(values)),
        (
            f"feature values too large to use (|value| > {MAX_FEATURE_MAGNITUDE:.2g})",
            np.abs(np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)) > MAX_FEATURE_MAGNITUDE,
        ),
    ):
        rows = bad.any(axis=1)
        if rows.any():
            named = [str(c) for c, hit in zip(columns, bad.any(axis=0), strict=True) if hit]
            raise TableError(
                f"{int(rows.sum())} rows have {problem} (columns {_columns_text(named)}; first rows: "
                f"{np.flatnonzero(rows)[:5].tolist()}). Drop those rows or columns, or re-extract those "
                "files."
            )
    return pd.DataFrame(values, columns=list(columns), index=frame.index)


def load_dataset(
    table: str | os.PathLike | pd.DataFrame,
    *,
    features_file: str | os.PathLike | None = None,
    features: list[str] | None = None,
    group: str | None = "auto",
    label: str = "label",
) -> Dataset:
    """Read a feature table and split it into features, labels, tracks and groups.

    Parameters
    ----------
    table : path or pandas.DataFrame
        A CSV/Parquet table (``featurelab extract`` output or a published GTZAN table).
    features_file : path or None
        File with one feature column name per line; restricts the features to those columns.
    features : list of str or None
        The same, as a list (exclusive with ``features_file``).
    group : "auto", "none", None or str
        ``"auto"``: the ``group`` column if present, else the track derived from segment names
        (``blues.00000.3.wav`` -> ``blues.00000``) when the table has segments, else no groups.
        ``"none"``/``None``: no groups. Any other value names the group column.
    label : str
        The label column.

    Returns
    -------
    Dataset

    Raises
    ------
    TableError
        Missing label/feature columns, no usable rows, or non-finite feature values.
    """
    source = None
    meta = None
    if isinstance(table, pd.DataFrame):
        frame = table.reset_index(drop=True)
    else:
        from ..io import read_table

        source = str(table)
        frame = read_table(table)
        meta = ExtractionSettings.read_sidecar(table)
    if label not in frame.columns:
        raise TableError(
            f"The table has no {label!r} column. Got columns "
            f"{', '.join(map(str, frame.columns[:8]))}"
            f"{', ...' if len(frame.columns) > 8 else ''}; add labels (extract from a "
            "<root>/<label>/<file> folder or a manifest with a label column)."
        )
    if frame.empty:
        raise TableError("The table has no rows.")
    if frame[label].isna().any():
        raise TableError(
            f"The {label!r} column has {int(frame[label].isna().sum())} empty values; "
            "drop or label those rows."
        )

    if features_file is not None and features is not None:
        raise ParameterError("Pass either features_file or features, not both.")
    candidates = [
        str(c)
        for c in frame.columns
        if c not in NON_FEATURE_COLUMNS
        and c != label
        and pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
    ]
    for column in frame.columns:
        values = frame[column]
        if column in NON_FEATURE_COLUMNS or column == label or column in candidates:
            continue
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        numeric = pd.to_numeric(values, errors="coerce")
        # a mostly numeric column with stray text: a damaged table, not a text column
        if numeric.notna().mean() >= 0.5:
            row = int(numeric.isna().to_numpy().argmax())
            raise TableError(
                f"Column {str(column)!r} is numeric but row {row} holds {values.iloc[row]!r}; fix "
                "or drop that row (or the column)."
            )
    wanted = read_features_file(features_file) if features_file is not None else features
    if wanted is not None:
        missing = [name for name in wanted if name not in candidates]
        if missing:
            raise TableError(
                f"Feature columns not in the table (or not numeric): {', '.join(missing[:10])}"
                f"{' ...' if len(missing) > 10 else ''}."
            )
        candidates = list(dict.fromkeys(wanted))
    if not candidates:
        raise TableError("The table has no numeric feature columns.")
    X = feature_matrix(frame, candidates)
    y = frame[label].astype(str).to_numpy()
    augmented = _augmented(frame)
    originals = slice(None) if augmented is None else ~augmented

    names = (
        frame["filename"].astype(str).to_numpy()
        if "filename" in frame.columns
        else np.array([f"row{i}" for i in range(len(frame))])
    )
    segment_tracks = [segment_track_id(name) for name in names]
    if "group" in frame.columns:
        track_ids = frame["group"].astype(str).to_numpy()
        is_segment = bool(pd.Series(track_ids[originals]).duplicated().any())
    else:
        sidecar_segment = meta is not None and meta.segment is not None
        looks_segmented = all(t is not None for t in segment_tracks) and (
            pd.Series(segment_tracks)[originals].duplicated().any()
        )
        is_segment = sidecar_segment or looks_segmented
        if is_segment:
            track_ids = np.array(
                [t if t is not None else track_id(n) for t, n in zip(segment_tracks, names, strict=True)]
            )
        else:
            track_ids = np.array([track_id(n) for n in names])

    if group in (None, "none"):
        groups = None
    elif group == "auto":
        groups = track_ids if (is_segment or "group" in frame.columns) else None
    else:
        if group not in frame.columns:
            raise TableError(f"group column {group!r} is not in the table. Use group='auto' or 'none'.")
        groups = frame[group].astype(str).to_numpy()

    return Dataset(
        X=X,
        y=y,
        groups=groups,
        feature_names=candidates,
        is_segment_table=is_segment,
        frame=frame,
        track_ids=track_ids,
        source=source,
        extraction=meta or ExtractionSettings.assume_published(is_segment, candidates),
        augmented=augmented,
    )


def _augmented(frame: pd.DataFrame) -> np.ndarray | None:
    """Return the rows an ``augmented`` column marks as copies (non-zero), or ``None`` without it."""
    if "augmented" not in frame.columns:
        return None
    values = pd.to_numeric(frame["augmented"], errors="coerce")
    if values.isna().any() or (values < 0).any():
        row = int((values.isna() | (values < 0)).to_numpy().argmax())
        raise TableError(
            f"Column 'augmented' must hold copy numbers (0 for a file's own rows). Row {row} holds "
            f"{frame['augmented'].iloc[row]!r}; fix or drop that row."
        )
    augmented = values.to_numpy() != 0
    if augmented.all():
        raise TableError("Every row of the table is an augmented copy: nothing to test on.")
    return augmented
