"""The extraction driver: corpus in, feature tables out.

``extract`` discovers the inputs (:mod:`featurelab.datasets`), decodes each file once, computes the
requested feature sets (:mod:`featurelab.features`) for the whole file and/or for consecutive
segments, and assembles the rows in input order. Files run in parallel worker processes (joblib/loky,
one BLAS thread per worker) and results stream back through a bounded queue, so memory is bounded by
the work in flight rather than by the corpus. Every finished item is stored in the resume cache
(:mod:`featurelab.cache`) at once; an interrupted run started again recomputes only what is missing.
Inputs that fail are collected with their reason and never stop the run.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ._version import __version__
from .cache import ResultCache, file_identity
from .datasets import AudioItem, discover, segment_name
from .exceptions import AudioLoadError, ParameterError
from .features.registry import FeatureSet, resolve_feature_sets
from .progress import ProgressBar, ProgressOption

__all__ = [
    "ExtractionSettings",
    "ExtractionResult",
    "extract",
    "extract_tables",
    "extract_to_files",
    "extract_features",
    "write_extraction_table",
    "segment_bounds",
    "default_jobs",
]

TableKind = Literal["track", "segment"]

#: Segments computed together by a feature set's batch function (bounds memory for long files).
BATCH_UNITS = 16

#: Segment presets: "gtzan" reproduces the published 3 s table (``y[i*w : i*w + w - 1]``).
SEGMENT_MODES = ("gtzan", "exact")


@dataclass(frozen=True)
class ExtractionSettings:
    """Everything that determines the numbers in a table (and therefore the cache key).

    Parameters
    ----------
    features : tuple of str
        Feature-set names, in column order.
    sr : int
        Decoding sampling rate.
    segment : float or None
        Segment window in seconds (``None``: no segment table).
    segment_hop : float or None
        Segment hop in seconds (defaults to ``segment``).
    segment_mode : {"gtzan", "exact"}
        ``"gtzan"`` drops the last sample of every window, as the published 3 s table does.
    """

    features: tuple[str, ...] = ("gtzan",)
    sr: int = 22050
    segment: float | None = None
    segment_hop: float | None = None
    segment_mode: str = "gtzan"

    def cache_description(self, kind: TableKind, versions: dict[str, str]) -> dict[str, Any]:
        """Return the part of a cache key that describes the settings of one table kind."""
        desc: dict[str, Any] = {
            "kind": kind,
            "features": [[name, versions[name]] for name in self.features],
            "sr": self.sr,
        }
        if kind == "segment":
            desc.update(segment=self.segment, segment_hop=self.segment_hop, segment_mode=self.segment_mode)
        return desc

    def meta(self, kind: TableKind, backend: str) -> dict[str, Any]:
        """Return the contents of the ``<table>.meta.json`` sidecar."""
        return {
            "table": kind,
            "features": list(self.features),
            "sr": self.sr,
            "segment": self.segment if kind == "segment" else None,
            "segment_hop": (self.segment_hop or self.segment) if kind == "segment" else None,
            "segment_mode": self.segment_mode if kind == "segment" else None,
            "backend": backend,
            "featurelab_version": __version__,
        }


@dataclass
class ExtractionResult:
    """Tables and failures of one extraction run.

    Attributes
    ----------
    tables : dict
        ``{"track": DataFrame, "segment": DataFrame}`` (only the kinds requested; empty when the
        tables were streamed to disk by :func:`extract_to_files`).
    errors : pandas.DataFrame
        One row per failed input: ``path, reason``.
    settings : ExtractionSettings
    n_cached : int
        Items served from the resume cache.
    n_computed : int
        Items computed in this run.
    audio_seconds : float
        Seconds of audio decoded in this run (cached items excluded).
    elapsed : float
        Wall-clock seconds of the run.
    meta : dict
        ``{kind: settings}``, the contents of each table's ``.meta.json`` sidecar.
    n_rows : dict
        ``{kind: rows}`` in each table.
    paths : dict
        ``{kind: path}`` of the tables written by :func:`extract_to_files`.
    """

    tables: dict[str, pd.DataFrame]
    errors: pd.DataFrame
    settings: ExtractionSettings
    n_cached: int = 0
    n_computed: int = 0
    audio_seconds: float = 0.0
    elapsed: float = 0.0
    meta: dict[str, dict[str, Any]] = field(default_factory=dict)
    n_rows: dict[str, int] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)


def default_jobs() -> int:
    """All usable cores (respects CPU affinity and container limits)."""
    from joblib import cpu_count

    return max(1, cpu_count(only_physical_cores=False))


def _check_positive(name: str, value: float | None, *, allow_none: bool = True) -> None:
    if value is None and allow_none:
        return
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ParameterError(f"{name} must be a positive number. Got {value!r} instead.")


def segment_bounds(
    n: int, sr: int, segment: float, hop: float | None = None, mode: str = "gtzan"
) -> list[tuple[int, int]]:
    """Sample bounds ``[(start, stop), ...]`` of the consecutive segments of an ``n``-sample signal.

    Segment ``i`` starts at ``i * hop`` samples; windows that do not fit entirely are dropped. In
    ``"gtzan"`` mode each segment stops one sample short (``y[i*66150 : i*66150 + 66149]`` for 3 s at
    22050 Hz), reproducing the published ``features_3_sec.csv``.

    Examples
    --------
    >>> segment_bounds(661794, 22050, 3.0)[:2]
    [(0, 66149), (66150, 132299)]
    >>> len(segment_bounds(661794, 22050, 3.0))
    10
    """
    win = int(round(segment * sr))
    step = int(round((hop or segment) * sr))
    if win < 1 or step < 1:
        raise ParameterError(
            f"segment and segment_hop must be at least one sample at sr={sr}. Got {segment} s / {hop} s."
        )
    length = win - 1 if mode == "gtzan" else win
    if length < 1:
        raise ParameterError("A gtzan-mode segment must be at least two samples long.")
    count = 0 if n < win else (n - win) // step + 1
    return [(i * step, i * step + length) for i in range(count)]


# ----------------------------------------------------------------------------- worker side
def _compute_sets(sets: Sequence[FeatureSet], y_units: np.ndarray, sr: int) -> list[dict[str, float]]:
    """Compute every feature set on each row of ``y_units`` (shape (k, n)); merged rows."""
    rows: list[dict[str, float]] = [{} for _ in range(len(y_units))]
    for feature_set in sets:
        batch = feature_set.load_batch()
        if batch is not None and len(y_units) > 1:
            # Chunks of equal-length units: memory stays bounded for files with many segments.
            results = [
                row
                for start in range(0, len(y_units), BATCH_UNITS)
                for row in batch(y_units[start : start + BATCH_UNITS], sr, **feature_set.defaults)
            ]
        else:
            compute = feature_set.load()
            results = [compute(unit, sr, **feature_set.defaults) for unit in y_units]
        for row, result in zip(rows, results, strict=True):
            for key, value in result.items():
                if key in row:
                    raise ParameterError(f"Feature sets produce the column {key!r} twice.")
                row[key] = float(value)
    for row in rows:
        bad = [key for key, value in row.items() if not math.isfinite(value)]
        if bad:
            raise ValueError(f"non-finite feature values in {', '.join(bad[:5])}")
    return rows


def _describe_error(error: BaseException) -> str:
    if isinstance(error, AudioLoadError):
        return error.reason
    text = str(error).strip() or type(error).__name__
    return f"{type(error).__name__}: {text}" if not isinstance(error, (ValueError, OSError)) else text


def process_item(
    item: AudioItem, settings: ExtractionSettings, kinds: tuple[TableKind, ...]
) -> dict[str, Any]:
    """Decode one item once and compute its rows for each requested table kind.

    Never raises for bad input: failures come back as ``{"error": reason}`` per kind.

    Returns
    -------
    dict
        ``{kind: {"rows": [...], "error": str | None}}`` and ``"seconds"`` (audio duration).
    """
    from .io import load_audio

    out: dict[str, Any] = {"seconds": 0.0}
    try:
        sets = resolve_feature_sets(list(settings.features))
        y, sr = load_audio(item.path, sr=settings.sr, offset=item.start or 0.0, duration=item.duration)
        if item.duration is not None:
            expected = int(round(item.duration * sr))
            if len(y) < expected - max(1, sr // 100):
                got = (item.start or 0.0) + len(y) / sr
                raise AudioLoadError(
                    item.path,
                    f"clip end {item.end:g} s is beyond the end of the file ({got:.3f} s)",
                )
    except Exception as error:  # noqa: BLE001 - reported, never raised
        reason = _describe_error(error)
        return {**out, **{kind: {"rows": [], "error": reason} for kind in kinds}}
    out["seconds"] = len(y) / sr
    for kind in kinds:
        try:
            if kind == "track":
                rows = _compute_sets(sets, y[np.newaxis, :], sr)
                for row in rows:
                    row["length"] = len(y)
            else:
                assert settings.segment is not None
                bounds = segment_bounds(
                    len(y), sr, settings.segment, settings.segment_hop, settings.segment_mode
                )
                if not bounds:
                    raise ValueError(
                        f"shorter than one {settings.segment:g} s segment "
                        f"({len(y) / sr:.3f} s): no segment rows"
                    )
                units = np.stack([y[a:b] for a, b in bounds])
                rows = _compute_sets(sets, units, sr)
                for row, (a, b) in zip(rows, bounds, strict=True):
                    row["length"] = b - a
            out[kind] = {"rows": rows, "error": None}
        except Exception as error:  # noqa: BLE001
            out[kind] = {"rows": [], "error": _describe_error(error)}
    return out


def _worker(item: AudioItem, settings: ExtractionSettings, kinds: tuple[TableKind, ...]) -> dict[str, Any]:
    """Entry point in a worker process: one BLAS/OpenMP thread, so workers never oversubscribe."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return process_item(item, settings, kinds)


# ----------------------------------------------------------------------------- driver side
def _warm_up(settings: ExtractionSettings) -> None:
    """Run every feature set in this process on one signal and on a batch (see ``_iter_results``).

    Both shapes, because numba compiles (and caches) one specialisation per array layout, and a
    single file's arrays and a batch of segments' arrays have different layouts.
    """
    rng = np.random.default_rng(0)
    probe = (0.1 * rng.standard_normal((2, settings.sr // 2))).astype(np.float32)
    sets = resolve_feature_sets(list(settings.features))
    for signals in (probe[:1], probe):
        try:
            _compute_sets(sets, signals, settings.sr)
        except Exception:  # noqa: BLE001 - a failing set reports its errors per file later
            pass


def _iter_results(
    todo: Iterable[AudioItem],
    n_todo: int,
    settings: ExtractionSettings,
    kinds: tuple[TableKind, ...],
    n_jobs: int,
) -> Iterator[dict[str, Any]]:
    """Outcomes of :func:`process_item` for ``todo`` (an iterable, consumed lazily), in its order."""
    if not n_todo:
        return
    from .distributed import is_dask_active

    on_dask = is_dask_active()  # inside featurelab.distributed.dask_backend: every dask worker
    if not on_dask and (n_jobs == 1 or n_todo == 1):
        for item in todo:
            yield _worker(item, settings, kinds)
        return
    from joblib import Parallel, delayed

    # Compile librosa's and featurelab's numba kernels here, once, before the workers start: on a
    # fresh install, workers compiling the same cached functions at the same moment can read each
    # other's half-written numba cache files and crash. Skipped (saving ~2 s of imports) when a
    # previous warm-up left the caches complete and unchanged (see featurelab.jit_cache).
    from .jit_cache import is_warm, mark_warm

    warm_key = repr((settings.features, settings.sr))
    if not is_warm(warm_key):
        _warm_up(settings)
        mark_warm(warm_key)

    # Files go out lazily (on Dask in automatically sized batches of ~0.2-1 s of work) and at most
    # 2 x workers tasks are in flight, so memory is bounded by the work in flight, not the corpus.
    parallel = Parallel(
        n_jobs=-1 if on_dask else min(n_jobs, n_todo),
        return_as="generator",
        batch_size="auto" if on_dask else 1,
        pre_dispatch="2*n_jobs",
    )
    yield from parallel(delayed(_worker)(item, settings, kinds) for item in todo)


def _item_key(
    item: AudioItem, settings: ExtractionSettings, kind: TableKind, versions: dict[str, str]
) -> str:
    return ResultCache.key(
        {
            "file": file_identity(item.path),
            "start": item.start,
            "end": item.end,
            "settings": settings.cache_description(kind, versions),
        }
    )


@dataclass
class _Plan:
    """A validated extraction run: settings, inputs and where finished items are cached."""

    settings: ExtractionSettings
    sets: list[FeatureSet]
    kinds: tuple[TableKind, ...]
    items: list[AudioItem]
    problems: list[Any]
    store: ResultCache
    n_jobs: int
    backend: str

    @functools.cached_property
    def versions(self) -> dict[str, str]:
        return {s.name: s.version for s in self.sets}

    def keys(self, item: AudioItem) -> dict[TableKind, str]:
        return {kind: _item_key(item, self.settings, kind, self.versions) for kind in self.kinds}


def _plan(
    source: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    segment: float | None = None,
    segment_hop: float | None = None,
    segment_mode: str = "gtzan",
    tables: Sequence[TableKind] | None = None,
    features: str | Sequence[str] | None = None,
    backend: str = "librosa",
    sr: int = 22050,
    n_jobs: int = 1,
    cache: str | os.PathLike | None = None,
    manifest: bool | None = None,
) -> _Plan:
    """Validate the arguments of :func:`extract_tables` and discover the inputs."""
    _check_positive("sr", sr, allow_none=False)
    if int(sr) != sr:
        raise ParameterError(f"sr must be a positive integer. Got {sr!r} instead.")
    from .io import SAMPLE_RATE_RANGE

    if not SAMPLE_RATE_RANGE[0] <= sr <= SAMPLE_RATE_RANGE[1]:
        raise ParameterError(
            f"sr must be between {SAMPLE_RATE_RANGE[0]} and {SAMPLE_RATE_RANGE[1]} Hz. Got {sr!r} instead."
        )
    _check_positive("segment", segment)
    _check_positive("segment_hop", segment_hop)
    if segment_mode not in SEGMENT_MODES:
        raise ParameterError(
            f"segment_mode must be one of {', '.join(SEGMENT_MODES)}. Got {segment_mode!r} instead."
        )
    if tables is None:
        tables = ("segment",) if segment is not None else ("track",)
    kinds: tuple[TableKind, ...] = tuple(dict.fromkeys(tables))  # type: ignore[arg-type]
    for kind in kinds:
        if kind not in ("track", "segment"):
            raise ParameterError(f"tables must contain 'track' and/or 'segment'. Got {kind!r} instead.")
    if "segment" in kinds and segment is None:
        raise ParameterError("A segment table needs segment=SECONDS (e.g. segment=3.0).")
    if not isinstance(n_jobs, int) or isinstance(n_jobs, bool):
        raise ParameterError(f"n_jobs must be an integer. Got {n_jobs!r} instead.")
    n_jobs = default_jobs() if n_jobs in (0, -1) else n_jobs
    if n_jobs < 1:
        raise ParameterError(f"n_jobs must be >= 1, or 0/-1 for all cores. Got {n_jobs} instead.")

    sets = resolve_feature_sets(features, backend=backend)
    settings = ExtractionSettings(
        features=tuple(s.name for s in sets),
        sr=int(sr),
        segment=float(segment) if segment is not None else None,
        segment_hop=float(segment_hop) if segment_hop is not None else None,
        segment_mode=segment_mode,
    )
    items, problems = discover(source, manifest=manifest)
    return _Plan(settings, sets, kinds, items, problems, ResultCache(cache), n_jobs, backend)


#: Rows assembled into one DataFrame chunk before it is handed on (written, or kept).
CHUNK_ROWS = 2048


class _TableAssembler:
    """Turns finished items into table chunks (filename, length, features, label, manifest columns).

    The feature columns of a table are those of its first successful item; an item whose feature
    sets return other columns is reported as failed rather than written misaligned.
    """

    def __init__(self, kind: TableKind, plan: _Plan, emit: Callable[[pd.DataFrame], None]) -> None:
        self.kind = kind
        self.emit = emit
        items = plan.items
        self.manifest_cols = {
            "group": any(item.group is not None for item in items),
            "start": any(item.start is not None for item in items),
            "end": any(item.end is not None for item in items),
        }
        self.columns: tuple[str, ...] | None = None
        self._column_set: frozenset[str] = frozenset()
        self._gtzan_only = [s.name for s in plan.sets] == ["gtzan"]
        self._pending: list[tuple[AudioItem, np.ndarray]] = []
        self._pending_rows = 0
        self.n_rows = 0

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
        """Hand the queued rows on as one DataFrame chunk."""
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

    def _empty(self) -> pd.DataFrame:
        """Return the table without rows (its header)."""
        columns = ["filename", "length"]
        if self.columns is not None:
            columns += [c for c in self.columns if c != "length"]
        elif self._gtzan_only:
            from .features.schema import GTZAN_FEATURE_COLUMNS

            columns += list(GTZAN_FEATURE_COLUMNS)
        columns.append("label")
        columns += [name for name, present in self.manifest_cols.items() if present]
        return pd.DataFrame(columns=columns)

    def _frame(self, pending: list[tuple[AudioItem, np.ndarray]]) -> pd.DataFrame:
        assert self.columns is not None
        names: list[str] = []
        owned: list[AudioItem] = []
        for item, values in pending:
            n_rows = len(values)
            if self.kind == "track":
                names.extend([item.name] * n_rows)
            else:
                names.extend(segment_name(item.name, i) for i in range(n_rows))
            owned.extend([item] * n_rows)
        values = pd.DataFrame(np.concatenate([v for _, v in pending]), columns=list(self.columns))
        frame: dict[str, Any] = {
            "filename": names,
            "length": values.pop("length").to_numpy().astype(np.int64),
        }
        frame.update(values.items())
        frame["label"] = [item.label for item in owned]
        if self.manifest_cols["group"]:
            frame["group"] = [item.group or "" for item in owned]
        if self.manifest_cols["start"]:
            frame["start"] = [item.start if item.start is not None else 0.0 for item in owned]
        if self.manifest_cols["end"]:
            frame["end"] = [item.end if item.end is not None else float("nan") for item in owned]
        return pd.DataFrame(frame)


@dataclass
class _RunStats:
    errors: pd.DataFrame
    n_cached: int
    n_computed: int
    audio_seconds: float
    elapsed: float


def _run(
    plan: _Plan,
    assemblers: dict[TableKind, _TableAssembler],
    progress: ProgressOption,
) -> _RunStats:
    """Compute (or read from the cache) every item, feeding the assemblers in input order.

    The driver holds one byte per input plus the items in flight: finished rows go to the
    assemblers (and from there to disk when streaming) as soon as every earlier input is done.
    """
    items, kinds, store, settings = plan.items, plan.kinds, plan.store, plan.settings
    started = time.perf_counter()
    cached = bytearray(len(items))
    if store.directory is not None:
        for index, item in enumerate(items):
            cached[index] = all(store.has(key) for key in plan.keys(item).values())
    n_cached = sum(cached)
    n_computed = 0
    audio_seconds = 0.0
    error_rows = [asdict(p) for p in plan.problems]

    todo = (item for index, item in enumerate(items) if not cached[index])
    report = ProgressBar(
        progress if items else False,
        total=len(items),
        description="extract",
        completed=n_cached,
        unit="files",
        eta=True,
        transient=False,
    )
    outcomes = _iter_results(todo, len(items) - n_cached, settings, kinds, plan.n_jobs)
    try:
        for index, item in enumerate(items):
            keys = plan.keys(item) if store.directory is not None else None  # no cache: no keys
            outcome: dict[str, Any] | None = None
            if keys is not None and cached[index]:
                outcome = {kind: store.get(keys[kind]) for kind in kinds}
                if any(entry is None for entry in outcome.values()):
                    outcome = None  # removed or damaged since it was counted: compute it here
                    n_cached -= 1
            if outcome is None:
                outcome = next(outcomes) if not cached[index] else _worker(item, settings, kinds)
                n_computed += 1
                audio_seconds += outcome.get("seconds", 0.0)
                if keys is not None:
                    for kind in kinds:
                        _store(store, keys[kind], outcome[kind])
            for kind in kinds:
                reason = assemblers[kind].add(item, outcome[kind])
                if reason is not None:
                    error_rows.append({"path": str(item.path), "reason": reason})
            if not cached[index]:
                report.advance()
        if next(outcomes, None) is not None:  # pragma: no cover - a bug, not bad input
            raise RuntimeError("the workers returned more results than inputs")
        for assembler in assemblers.values():
            assembler.finish()
    finally:
        outcomes.close()
        report.close()
    errors = pd.DataFrame(error_rows, columns=["path", "reason"]).drop_duplicates(ignore_index=True)
    return _RunStats(errors, n_cached, n_computed, audio_seconds, time.perf_counter() - started)


def extract_tables(
    source: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    segment: float | None = None,
    segment_hop: float | None = None,
    segment_mode: str = "gtzan",
    tables: Sequence[TableKind] | None = None,
    features: str | Sequence[str] | None = None,
    backend: str = "librosa",
    sr: int = 22050,
    n_jobs: int = 1,
    cache: str | os.PathLike | None = None,
    manifest: bool | None = None,
    progress: ProgressOption = False,
) -> ExtractionResult:
    """Extract one or several feature tables from an audio corpus, decoding each file once.

    The tables are returned in memory; :func:`extract_to_files` streams them to disk instead (for
    corpora whose tables should not be held in memory).

    Parameters
    ----------
    source : path or sequence of paths
        A folder in the GTZAN layout ``<root>/<label>/<file>``, a manifest CSV (``path,label`` and
        optional ``start,end,group``), one audio file, or a list of audio files.
    segment : float or None
        Segment window in seconds for the segment table (3.0 for the GTZAN 3 s table).
    segment_hop : float or None
        Hop between segment starts in seconds (default: ``segment``).
    segment_mode : {"gtzan", "exact"}
        ``"gtzan"``: segment ``i`` is ``y[i*w : i*w + w - 1]`` like the published table.
    tables : sequence of {"track", "segment"} or None
        Which tables to build. Default: ``["segment"]`` when ``segment`` is given, else ``["track"]``.
    features : str or sequence of str or None
        Feature sets (``"gtzan,contrast"``); ``None`` uses the backend's set.
    backend : {"librosa", "pyaudioanalysis"}
        Default feature set: the GTZAN schema (librosa) or pyAudioAnalysis statistics.
    sr : int
        Decoding sampling rate (audio is resampled to it).
    n_jobs : int
        Worker processes; ``-1`` or ``0`` = all cores. Row order does not depend on it.
    cache : path or None
        Resume-cache folder; ``None`` disables caching.
    manifest : bool or None
        Force manifest interpretation of ``source`` (default: by ``.csv`` extension).
    progress : bool or callable
        Show a progress bar (rich), or call ``progress(done, total)`` after each item.

    Returns
    -------
    ExtractionResult
    """
    plan = _plan(
        source,
        segment=segment,
        segment_hop=segment_hop,
        segment_mode=segment_mode,
        tables=tables,
        features=features,
        backend=backend,
        sr=sr,
        n_jobs=n_jobs,
        cache=cache,
        manifest=manifest,
    )
    chunks: dict[TableKind, list[pd.DataFrame]] = {kind: [] for kind in plan.kinds}
    assemblers = {kind: _TableAssembler(kind, plan, chunks[kind].append) for kind in plan.kinds}
    stats = _run(plan, assemblers, progress)
    frames = {kind: pd.concat(chunks[kind], ignore_index=True) for kind in plan.kinds}
    return _result(plan, stats, frames, {kind: len(frame) for kind, frame in frames.items()})


def _result(
    plan: _Plan,
    stats: _RunStats,
    tables: dict[str, pd.DataFrame],
    n_rows: dict[str, int],
    paths: dict[str, Path] | None = None,
) -> ExtractionResult:
    return ExtractionResult(
        tables=tables,
        errors=stats.errors,
        settings=plan.settings,
        n_cached=stats.n_cached,
        n_computed=stats.n_computed,
        audio_seconds=stats.audio_seconds,
        elapsed=stats.elapsed,
        meta={kind: plan.settings.meta(kind, plan.backend) for kind in plan.kinds},
        n_rows=n_rows,
        paths=paths or {},
    )


def extract_to_files(
    source: str | os.PathLike | Sequence[str | os.PathLike],
    outputs: Mapping[TableKind, str | os.PathLike],
    **kwargs: Any,
) -> ExtractionResult:
    """Extract tables straight to disk, streaming rows as they finish (memory flat in corpus size).

    Each table goes to a temporary file beside its target, in input order and in chunks of
    :data:`CHUNK_ROWS` rows, and replaces the target only when the run completes, with its
    ``<stem>.meta.json`` sidecar. An interrupted run leaves previous outputs untouched; with a
    ``cache``, running it again resumes.

    Parameters
    ----------
    source : path or sequence of paths
        See :func:`extract_tables`.
    outputs : mapping
        ``{"track": path, "segment": path}`` (the tables to build), ``.csv`` or ``.parquet``.
    **kwargs
        The other arguments of :func:`extract_tables` (except ``tables``).

    Returns
    -------
    ExtractionResult
        With ``paths`` and ``n_rows`` set and ``tables`` empty.
    """
    from .table_writer import TableWriter

    if "tables" in kwargs:
        raise ParameterError("extract_to_files takes the tables from the keys of outputs.")
    if not outputs:
        raise ParameterError("outputs must name at least one table ({'track': path}).")
    resolved = [Path(path).resolve() for path in outputs.values()]
    if len(set(resolved)) != len(resolved):
        raise ParameterError(f"Each table needs a different file. Got {dict(outputs)} instead.")
    progress = kwargs.pop("progress", False)
    plan = _plan(source, tables=tuple(outputs), **kwargs)
    with contextlib.ExitStack() as stack:
        writers = {kind: stack.enter_context(TableWriter(outputs[kind])) for kind in plan.kinds}
        assemblers = {kind: _TableAssembler(kind, plan, writers[kind].write) for kind in plan.kinds}
        stats = _run(plan, assemblers, progress)
    result = _result(
        plan,
        stats,
        {},
        {kind: writer.n_rows for kind, writer in writers.items()},
        {kind: Path(outputs[kind]) for kind in plan.kinds},
    )
    for kind in plan.kinds:
        _write_meta(result.meta[kind], Path(outputs[kind]))
    return result


def _store(store: ResultCache, key: str, entry: dict[str, Any]) -> None:
    try:
        store.put(key, entry)
    except OSError as error:
        from .exceptions import FeaturelabError

        raise FeaturelabError(
            f"Cannot write the resume cache in {str(store.directory)!r} ({error.strerror or error})."
            " Items finished so far are kept; free some space (or choose --cache elsewhere, or "
            "--no-cache) and run again to resume."
        ) from error


def _write_meta(meta: dict[str, Any], table_path: Path) -> None:
    import json

    from .exceptions import TableError
    from .io import atomic_path

    meta_path = table_path.with_suffix(".meta.json")
    try:
        with atomic_path(meta_path) as tmp:
            tmp.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    except OSError as error:
        reason = error.strerror or error
        raise TableError(f"Cannot write {str(meta_path)!r} ({reason}).") from error


def write_extraction_table(result: ExtractionResult, kind: TableKind, path: str | os.PathLike) -> Path:
    """Write one table of ``result`` and its ``<path stem>.meta.json`` sidecar, both atomically.

    Parameters
    ----------
    result : ExtractionResult
        From :func:`extract_tables`.
    kind : {"track", "segment"}
        Which table.
    path : path
        Destination ``.csv`` or ``.parquet``; the sidecar goes beside it.

    Returns
    -------
    Path
        The written table.
    """
    from .io import write_table

    path = Path(path)
    write_table(result.tables[kind], path)
    _write_meta(result.meta[kind], path)
    return path


def extract(
    source: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    segment: float | None = None,
    features: str | Sequence[str] | None = None,
    backend: str = "librosa",
    sr: int = 22050,
    n_jobs: int = 1,
    cache: str | os.PathLike | None = None,
    progress: bool = False,
    **kwargs: Any,
) -> pd.DataFrame:
    """Extract a feature table from an audio corpus (the notebook entry point).

    Parameters
    ----------
    source : path or sequence of paths
        A GTZAN-layout folder, a manifest CSV, one audio file or a list of files.
    segment : float or None
        ``None``: one row per file (``features_30_sec.csv`` schema); ``3.0``: one row per 3 s
        segment (``features_3_sec.csv`` schema).
    features, backend, sr, n_jobs, cache, progress, **kwargs
        See :func:`extract_tables`.

    Returns
    -------
    pandas.DataFrame
        The table. Failed inputs are in ``df.attrs["errors"]`` (a DataFrame with ``path, reason``).

    Examples
    --------
    >>> import featurelab  # doctest: +SKIP
    >>> df = featurelab.extract("gtzan/genres_original", n_jobs=-1)  # doctest: +SKIP
    """
    result = extract_tables(
        source,
        segment=segment,
        features=features,
        backend=backend,
        sr=sr,
        n_jobs=n_jobs,
        cache=cache,
        progress=progress,
        **kwargs,
    )
    kind = "segment" if segment is not None else "track"
    frame = result.tables[kind]
    frame.attrs["errors"] = result.errors
    frame.attrs["meta"] = result.meta[kind]
    return frame


def extract_features(
    y: np.ndarray,
    sr: int,
    *,
    features: str | Sequence[str] | None = None,
    backend: str = "librosa",
) -> dict[str, float]:
    """Compute feature columns for one in-memory signal.

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (channels, n)]
        The signal; multi-channel input is averaged to mono.
    sr : int > 0
        Its sampling rate.
    features, backend
        See :func:`extract_tables`.

    Returns
    -------
    dict
        ``{column: value}``; with the default set, the 57 GTZAN feature columns in published order.

    Examples
    --------
    >>> import numpy as np
    >>> sr = 22050
    >>> y = np.sin(2 * np.pi * 440 * np.arange(2 * sr) / sr)
    >>> row = extract_features(y, sr)
    >>> len(row)
    57
    """
    _check_positive("sr", sr, allow_none=False)
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 2:
        y = y.mean(axis=0)
    if y.ndim != 1 or y.size == 0:
        raise ParameterError(f"y must be a non-empty 1-D or 2-D signal. Got shape {y.shape} instead.")
    if not np.all(np.isfinite(y)):
        raise ParameterError("y must contain only finite samples. Got NaN or infinite values.")
    sets = resolve_feature_sets(features, backend=backend)
    return _compute_sets(sets, y[np.newaxis, :], int(sr))[0]
