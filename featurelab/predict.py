"""Genre predictions for audio files or feature tables with a saved model.

A model saved by ``featurelab gridsearch`` records how its training table was extracted (its
:class:`~featurelab.settings.ExtractionSettings`: feature sets, sampling rate, segment length);
:func:`predict_files` extracts new audio with exactly those settings (loudness normalisation
included; augmentation never). A model saved by ``featurelab train-cnn`` records its array product
too (log-mel spectrograms, see :mod:`featurelab.arrays`), and its inputs are computed by the same
driver. A segment-trained model scores every segment of a file and the file's prediction is the
mean of its segments' probabilities (a soft vote); a clip shorter than one segment is scored as one
window, looped to the segment length (the ``short_clips`` policy of the model's table, ``"loop"``
where the table dropped short clips: see
:meth:`~featurelab.settings.ExtractionSettings.for_prediction`). Each prediction says how many
windows it averages.

Examples
--------
>>> from featurelab.predict import top_k
>>> top_k([0.1, 0.7, 0.2], ["blues", "jazz", "rock"], k=2)
[('jazz', 0.7), ('rock', 0.2)]
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .exceptions import ParameterError
from .parallel import DEFAULT_N_JOBS
from .progress import ProgressOption
from .settings import ExtractionSettings

__all__ = [
    "Prediction",
    "top_k",
    "predict_table",
    "predict_files",
    "expand_audio_paths",
    "check_model_for_table",
]


@dataclass
class Prediction:
    """The top genres of one file.

    Attributes
    ----------
    path : str
        The audio file (or the table's file/track name).
    top : list of (label, probability)
        Best first.
    n_segments : int
        Rows (windows: segments, or 1 for a track model) the prediction averages.
    error : str or None
        Why no prediction could be made (then ``top`` is empty).
    """

    path: str
    top: list[tuple[str, float]] = field(default_factory=list)
    n_segments: int = 0
    error: str | None = None

    @property
    def label(self) -> str | None:
        """The predicted label."""
        return self.top[0][0] if self.top else None

    def to_dict(self) -> dict[str, Any]:
        """``{"path": ..., "top": [{"label": ..., "probability": ...}, ...], "n_windows": ...}``.

        ``error`` instead of ``n_windows`` when no prediction could be made.
        """
        out: dict[str, Any] = {
            "path": self.path,
            "top": [{"label": label, "probability": round(float(p), 6)} for label, p in self.top],
        }
        if self.error is not None:
            out["error"] = self.error
        else:
            out["n_windows"] = self.n_segments
        return out

    def to_text(self) -> str:
        """One tab-separated line: the path, the top labels with probabilities, the windows averaged.

        Examples
        --------
        >>> print(Prediction("a.wav", [("jazz", 0.7), ("rock", 0.2)], n_segments=3).to_text())
        a.wav   jazz 0.700, rock 0.200  (3 windows)
        """
        ranked = ", ".join(f"{label} {p:.3f}" for label, p in self.top)
        windows = f"{self.n_segments} window{'s' if self.n_segments != 1 else ''}"
        return f"{self.path}\t{ranked}\t({windows})"


def top_k(proba: Sequence[float] | np.ndarray, classes: Sequence[str], k: int = 3) -> list[tuple[str, float]]:
    """Return the ``k`` most probable labels, best first (ties broken by label order).

    Parameters
    ----------
    proba : array-like [shape=(n_classes,)]
        Probabilities.
    classes : sequence of str [shape=(n_classes,)]
        Labels of the entries of ``proba``.
    k : int
        How many (at most ``n_classes``).

    Returns
    -------
    list of (label, probability)
    """
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ParameterError(f"top must be a positive integer. Got {k!r} instead.")
    proba = np.asarray(proba, dtype=float)
    order = np.argsort(-proba, kind="stable")[:k]
    return [(str(classes[i]), float(proba[i])) for i in order]


def _load(model: Any, trust: bool) -> Any:
    from .models.persist import SavedModel, load_model

    return model if isinstance(model, SavedModel) else load_model(model, trust=trust)


def _row_keys(frame: Any, segmented: bool | None = None) -> np.ndarray:
    """Which file each row of a feature table belongs to: its full file name, never its stem.

    A ``path`` column names the file directly. Otherwise the rows of a segment table
    (``segmented``, or, when unknown, every name a segment name with some file cut in several
    segments) belong to the file they were cut from (``rock/song.3.wav`` -> ``rock/song.wav``), and
    every other row is its own file (``filename``, or ``row<i>`` without that column).
    """
    from .datasets import segment_source

    if "path" in frame.columns:
        return frame["path"].astype(str).to_numpy()
    if "filename" not in frame.columns:
        return np.array([f"row{i}" for i in range(len(frame))])
    names = frame["filename"].astype(str).tolist()
    sources = [segment_source(name) for name in names]
    if segmented is None:
        segmented = all(s is not None for s in sources) and len(set(sources)) < len(sources)
    if segmented:
        return np.array(
            [source if source is not None else name for source, name in zip(sources, names, strict=True)]
        )
    return np.array(names)


def predict_table(
    model: Any,
    table: Any,
    *,
    top: int = 3,
    trust: bool = False,
    keys: Sequence[str] | np.ndarray | None = None,
) -> list[Prediction]:
    """Predict every file of a feature table (segments of one file are averaged).

    Parameters
    ----------
    model : SavedModel or path
        A model loaded with :func:`featurelab.models.load_model`, or its path.
    table : pandas.DataFrame or path
        Feature table holding the model's feature columns.
    top : int
        Labels per file.
    trust : bool
        Passed to :func:`~featurelab.models.load_model` when ``model`` is a path.
    keys : array-like [shape=(n_rows,)] or None
        The file of each row; by default the ``path`` column, else the full file name: the
        ``filename`` of each row of a track table, the file a segment was cut from in a segment
        table (``blues.00000.3.wav`` -> ``blues.00000.wav``). Rows of different files never merge,
        even when the files share a stem (``blues/song.wav``, ``metal/song.wav``; ``x.au``, ``x.wav``).

    Returns
    -------
    list of Prediction
        One per file (one per row of a track table), in order of first appearance.

    Raises
    ------
    ModelFileError
        The table lacks some of the model's features, or the model takes audio (a CNN).
    """
    import pandas as pd

    saved = _load(model, trust)
    saved.check_tabular()
    segmented = None
    if not isinstance(table, pd.DataFrame):
        from .io import read_table

        settings = ExtractionSettings.read_sidecar(table)
        saved.check_extraction(settings)
        segmented = None if settings is None else settings.segment is not None
        table = read_table(table)
    if table.empty:
        return []
    keys = _row_keys(table, segmented) if keys is None else np.asarray(keys)
    return _predictions(saved, table, keys, top)


def _predictions(saved: Any, rows: Any, keys: Any, top: int) -> list[Prediction]:
    """Predict ``rows`` (table rows or arrays) and average their probabilities per key."""
    from collections import Counter

    proba = saved.predict_proba(rows)
    keys = np.asarray(keys)
    counts = Counter(keys.tolist())
    if len(counts) == 1:  # one file's windows (predict_files): no grouping, no pandas
        names, mean = keys[:1], proba.mean(axis=0, keepdims=True)
    else:
        from .models.scoring import aggregate_tracks

        names, mean = aggregate_tracks(proba, saved.classes, keys)
    return [
        Prediction(path=str(name), top=top_k(row, saved.classes, top), n_segments=int(counts[name]))
        for name, row in zip(names, mean, strict=True)
    ]


def expand_audio_paths(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Files as given; folders replaced by the audio files below them (sorted)."""
    from .io import AUDIO_EXTENSIONS

    out: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)
            if not found:
                raise ParameterError(f"Folder {str(path)!r} holds no audio files.")
            out.extend(found)
        else:
            out.append(path)
    return out


def predict_files(
    model: Any,
    paths: Iterable[str | os.PathLike],
    *,
    top: int = 3,
    trust: bool = False,
    n_jobs: int | None = DEFAULT_N_JOBS,
    progress: ProgressOption = None,
) -> list[Prediction]:
    """Extract audio files with the model's own settings and predict their top genres.

    Parameters
    ----------
    model : SavedModel or path
        A saved model (run directory, ``.skops`` or, with ``trust``, ``.joblib`` file).
    paths : iterable of path
        Audio files or folders of audio files.
    top : int
        Labels per file.
    trust : bool
        Allow loading a pickle-based model file (only from a trusted source).
    n_jobs : int or None
        Extraction workers; ``-1`` (the default), ``0`` or ``None``: all usable cores.
    progress : bool, None or callable
        ``None`` (the default) shows a progress bar in a terminal or notebook; pass
        ``progress=False`` to silence it.

    Returns
    -------
    list of Prediction
        One per file, in input order, with the windows it averages; a file that could not be
        decoded has an ``error`` and no ``top``.

    Raises
    ------
    ModelFileError
        The model cannot be loaded or its features do not match what extraction produces.
    """
    saved = _load(model, trust)
    files = expand_audio_paths(paths)
    if not files:
        raise ParameterError("paths must name at least one audio file.")
    top_k([0.0], ["x"], top)  # validate early
    settings = saved.extraction.for_prediction()
    inputs = _extract(files, settings, saved, n_jobs=n_jobs, progress=progress)
    results = []
    for path in files:
        rows = inputs.get(str(path))
        if isinstance(rows, str):
            results.append(Prediction(path=str(path), error=rows))
            continue
        if rows is None or not len(rows):
            results.append(Prediction(path=str(path), error="no features were extracted"))
            continue
        results += _predictions(saved, rows, [str(path)] * len(rows), top)
    return results


def _extract(
    files: list[Path],
    settings: ExtractionSettings,
    saved: Any,
    *,
    n_jobs: int | None,
    progress: ProgressOption,
) -> dict[str, Any]:
    """Extract ``files``; return path -> its rows or an error message (str).

    The rows are the model's feature columns (an array, one row per track or segment), or the
    arrays of its product for a model on arrays.
    """
    product = saved.product
    from .datasets import discover, segment_source

    items, problems = discover([str(p) for p in files])
    out: dict[str, Any] = {problem.path: problem.reason for problem in problems}
    if not items:
        return out
    paths = [str(item.path) for item in items]
    if product is None:
        from .extraction import extract_table_chunks

        # Rows as table chunks (no pandas): each file's rows of the model's features, in its order.
        chunks, failures = extract_table_chunks(paths, settings=settings, n_jobs=n_jobs, progress=progress)
        names, matrices = [], []
        for chunk in chunks:
            if len(chunk):
                saved.check_features(chunk.names)
                names += [str(name) for name in chunk.columns["filename"]]
                matrices.append(np.column_stack([chunk.columns[c] for c in saved.feature_names]))
        keys = np.array(names if settings.segment is None else [segment_source(n) for n in names])
        table = np.concatenate(matrices) if matrices else np.empty((0, len(saved.feature_names)))
        rows = {str(item.path): table[keys == item.name] for item in items}
    else:
        from .arrays import extract_arrays

        arrays = extract_arrays(paths, product, settings=settings, n_jobs=n_jobs, progress=progress)
        owner = arrays.segments["path"].astype(str).to_numpy()
        rows = {str(item.path): arrays.arrays[owner == str(item.path)] for item in items}
        failures = list(arrays.errors.itertuples(index=False))
    for path, reason in failures:
        out[str(path)] = str(reason)
    for item in items:
        if str(item.path) not in out:
            out[str(item.path)] = rows[str(item.path)]
    return out


def check_model_for_table(model: Any, table: Any, *, trust: bool = False) -> None:
    """Raise :class:`ModelFileError` if ``table`` lacks the features of ``model``."""
    saved = _load(model, trust)
    columns = table.columns if hasattr(table, "columns") else table
    saved.check_features(columns)
