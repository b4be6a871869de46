"""The extraction driver: corpus in, feature tables out.

``extract`` discovers the inputs (:mod:`featurelab.datasets`), decodes each file once, computes the
requested feature sets (:mod:`featurelab.features`) for the whole file and/or for consecutive
segments, and assembles the rows in input order (:mod:`featurelab.assembly`). Files run in parallel
worker processes (joblib/loky, one BLAS thread per worker) and results stream back through a bounded
queue, so memory is bounded by the work in flight rather than by the corpus. Every finished item is
stored in the resume cache (:mod:`featurelab.cache`) at once; an interrupted run started again
recomputes only what is missing, and what is damaged (an entry that is not what the workers make is
recomputed, never trusted). Inputs that fail are collected with their reason and never stop the
run. Workers receive absolute paths, so those of a cluster need not share the driver's folder.

Every function takes the extraction settings as one :class:`~featurelab.settings.ExtractionSettings`
(``settings=``) and/or as its fields in keywords (``segment=3.0, sr=16000``); the same driver makes
the arrays of :mod:`featurelab.arrays` (log-mel segments).
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .cache import ResultCache, file_identity
from .datasets import AudioItem, discover
from .exceptions import ParameterError
from .features.compiled import ensure_compiled
from .features.registry import FeatureSet, resolve_feature_sets
from .parallel import DEFAULT_N_JOBS, local_pool_options, resolve_n_jobs
from .progress import ProgressBar, ProgressOption
from .settings import SEGMENT_MODES, ExtractionSettings, TableKind
from .worker import (
    _compute_sets,
    _warm_up,
    _worker,
    prestart_workers,
    segment_bounds,
    wait_for_prestart,
    warm_key,
)

if TYPE_CHECKING:  # imported where tables are built: `import featurelab` stays light
    import pandas as pd

    from .chunk import TableChunk

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
    "SEGMENT_MODES",
]

#: A source of audio: a folder, a manifest CSV, one file or a list of files.
Source = str | os.PathLike | Sequence[str | os.PathLike]


@dataclass
class ExtractionResult:
    """Tables and failures of one extraction run.

    Attributes
    ----------
    tables : dict
        ``{"track": DataFrame, "segment": DataFrame}`` (only the kinds requested; empty when the
        tables were streamed to disk by :func:`extract_to_files`).
    failures : list of (str, str)
        One ``(path, reason)`` per failed input, in input order (duplicates dropped).
    errors : pandas.DataFrame
        The failures as a table with columns ``path, reason`` (built, importing pandas, when read).
    settings : ExtractionSettings
        The settings of the run (:meth:`ExtractionSettings.for_table` gives each table's).
    n_cached : int
        Items served from the resume cache.
    n_computed : int
        Items computed in this run.
    n_damaged : int
        Items whose resume-cache entry was damaged (unreadable, or not rows the workers make) and
        that were therefore computed again (counted in ``n_computed``).
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
    errors_path : Path or None
        The ``<stem>.errors.csv`` written by :func:`extract_to_files` (``None`` when nothing failed).
    """

    tables: dict[str, pd.DataFrame]
    failures: list[tuple[str, str]]
    settings: ExtractionSettings
    n_cached: int = 0
    n_computed: int = 0
    n_damaged: int = 0
    audio_seconds: float = 0.0
    elapsed: float = 0.0
    meta: dict[str, dict[str, Any]] = field(default_factory=dict)
    n_rows: dict[str, int] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)
    errors_path: Path | None = None

    @functools.cached_property
    def errors(self) -> pd.DataFrame:
        """The failed inputs, one row each: ``path, reason`` (see ``failures``)."""
        return errors_frame(self.failures)


#: The columns of the errors table (``<stem>.errors.csv``).
ERROR_COLUMNS = ("path", "reason")


def errors_frame(failures: Sequence[tuple[str, str]]) -> pd.DataFrame:
    """Return the errors table of ``(path, reason)`` pairs (duplicates dropped, the first kept).

    Examples
    --------
    >>> errors_frame([("a.wav", "empty"), ("a.wav", "empty")]).shape
    (1, 2)
    """
    import pandas as pd

    return pd.DataFrame(list(failures), columns=list(ERROR_COLUMNS)).drop_duplicates(ignore_index=True)


def default_jobs() -> int:
    """All usable cores. Deprecated: use :func:`featurelab.parallel.resolve_n_jobs` (``n_jobs=-1``)."""
    warnings.warn(
        "featurelab.extraction.default_jobs is deprecated; use featurelab.parallel.resolve_n_jobs(-1).",
        DeprecationWarning,
        stacklevel=2,
    )
    return resolve_n_jobs(-1)


# ----------------------------------------------------------------------------- driver side
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

    # A pool started ahead (prestart_workers: while this process planned, the caches being warm)
    # is reused by the Parallel call below.
    key = warm_key(settings)
    if not wait_for_prestart(key) and not is_warm(key):
        _warm_up(settings)
        mark_warm(key)

    # Files go out lazily (on Dask in automatically sized batches of ~0.2-1 s of work) and at most
    # 2 x workers tasks are in flight, so memory is bounded by the work in flight, not the corpus.
    # Local workers end with the driver, even one killed with kill -9 (Dask's end with their nanny).
    watchdog = {} if on_dask else local_pool_options()
    parallel = Parallel(
        n_jobs=-1 if on_dask else min(n_jobs, n_todo),
        return_as="generator",
        batch_size="auto" if on_dask else 1,
        pre_dispatch="2*n_jobs",
        **watchdog,
    )
    yield from parallel(delayed(_worker)(item, settings, kinds) for item in todo)


def _item_key(item: AudioItem, description: dict[str, Any]) -> str:
    return ResultCache.key(
        {"file": file_identity(item.path), "start": item.start, "end": item.end, "settings": description}
    )


@dataclass
class _Plan:
    """A validated extraction run: settings, inputs and where finished items are cached.

    ``kinds`` are table kinds (``"track"``, ``"segment"``) and/or array products
    (:mod:`featurelab.arrays`), which describe their own part of the cache key.
    """

    settings: ExtractionSettings
    sets: list[FeatureSet]
    kinds: tuple[Any, ...]
    items: list[AudioItem]
    problems: list[Any]
    store: ResultCache
    n_jobs: int

    @functools.cached_property
    def versions(self) -> dict[str, str]:
        return {s.name: s.version for s in self.sets}

    @functools.cached_property
    def columns(self) -> tuple[str, ...] | None:
        """The columns of every table row, in order (``length`` last); ``None`` when unknown.

        Resume-cache entries are checked against them. The published GTZAN columns are known; other
        sets are run once on a short probe signal (they return the same columns for any signal).
        """
        from .features.schema import GTZAN_FEATURE_COLUMNS

        noise = np.random.default_rng(0).standard_normal((1, self.settings.sr // 2))
        probe = (0.1 * noise).astype(np.float32)
        names: list[str] = []
        for feature_set in self.sets:
            if feature_set.name == "gtzan":
                names += GTZAN_FEATURE_COLUMNS
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    names += _compute_sets([feature_set], probe, self.settings.sr)[0]
            except Exception:  # noqa: BLE001 - unknown: entries need only agree with each other
                return None
        return (*names, "length", *(("augmented",) if self.settings.augment is not None else ()))

    def keys(self, item: AudioItem) -> dict[Any, str]:
        return {
            kind: _item_key(
                item,
                self.settings.cache_description(kind, self.versions)
                if isinstance(kind, str)
                else kind.cache_description(self.settings),
            )
            for kind in self.kinds
        }


def _plan(
    source: Source,
    settings: ExtractionSettings,
    kinds: tuple[Any, ...],
    *,
    n_jobs: int | None,
    cache: str | os.PathLike | None,
    manifest: bool | None,
) -> _Plan:
    """Check what the settings cannot check alone (feature sets, n_jobs) and discover the inputs."""
    resolve_n_jobs(n_jobs, limit=1)  # a clear error for a bad value, before the discovery
    sets = resolve_feature_sets(list(settings.features))
    items, problems = discover(source, manifest=manifest)
    n_jobs = resolve_n_jobs(n_jobs, limit=max(1, len(items)))  # one file: no core count
    if items:
        # The engine's kernels, compiled ahead of time once per installation (a few seconds, in a
        # child process), spare every later process numba's start-up (features.compiled).
        ensure_compiled()
    if len(items) > 1:
        # Workers start (and load the feature code) while this process prepares the run.
        prestart_workers(settings, n_jobs)
    return _Plan(settings, sets, kinds, items, problems, ResultCache(cache), n_jobs)


def _table_kinds(settings: ExtractionSettings, tables: Sequence[TableKind] | None) -> tuple[TableKind, ...]:
    """Return the tables to build (default: the segment table with ``segment``, else the track table)."""
    kinds: tuple[TableKind, ...] = tuple(dict.fromkeys(tables or (settings.table,)))
    for kind in kinds:
        settings.for_table(kind)  # an unknown kind, or segments without a segment length
    return kinds


@dataclass
class _RunStats:
    failures: list[tuple[str, str]]
    n_cached: int
    n_computed: int
    n_damaged: int
    audio_seconds: float
    elapsed: float


def _run(
    plan: _Plan,
    assemblers: Mapping[Any, Any],
    progress: ProgressOption,
    description: str = "extract",
) -> _RunStats:
    """Compute (or read from the cache) every item, feeding the assemblers in input order.

    The driver holds one byte per input plus the items in flight: finished rows go to the
    assemblers (and from there to disk when streaming) as soon as every earlier input is done.
    ``assemblers`` maps each kind of the plan to an object with ``check(entry)`` (why a cached
    entry cannot be used, or ``None``), ``add(item, entry)`` (returning a failure reason or
    ``None``) and ``finish()``. An item whose cached entry is unreadable or fails ``check`` is
    computed again (and its entry replaced).
    """
    items, kinds, store, settings = plan.items, plan.kinds, plan.store, plan.settings
    started = time.perf_counter()
    cached = bytearray(len(items))
    store.remove_stale_temporaries()  # left by runs killed while writing an entry (kill -9)
    if store.directory is not None:
        for index, item in enumerate(items):
            cached[index] = all(store.has(key) for key in plan.keys(item).values())
    n_cached = sum(cached)
    n_computed = n_damaged = 0
    audio_seconds = 0.0
    failures = [(p.path, p.reason) for p in plan.problems]

    # Workers get absolute paths: a cluster's workers need not share the driver's working folder.
    todo = (item.absolute() for index, item in enumerate(items) if not cached[index])
    report = ProgressBar(
        progress if items else False,
        total=len(items),
        description=description,
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
                if any(entry is None or assemblers[kind].check(entry) for kind, entry in outcome.items()):
                    outcome = None  # damaged (or removed since it was counted): compute it here
                    n_cached -= 1
                    n_damaged += 1
            if outcome is None:
                outcome = next(outcomes) if not cached[index] else _worker(item.absolute(), settings, kinds)
                n_computed += 1
                audio_seconds += outcome.get("seconds", 0.0)
                if keys is not None:
                    for kind in kinds:
                        _store(store, keys[kind], outcome[kind])
            for kind in kinds:
                reason = assemblers[kind].add(item, outcome[kind])
                if reason is not None:
                    failures.append((str(item.path), reason))
            if not cached[index]:
                report.advance()
        if next(outcomes, None) is not None:  # pragma: no cover - a bug, not bad input
            raise RuntimeError("the workers returned more results than inputs")
        for assembler in assemblers.values():
            assembler.finish()
    finally:
        with warnings.catch_warnings():  # joblib's advice on the tasks an interruption cancels
            warnings.simplefilter("ignore", UserWarning)
            outcomes.close()
        report.close()
    unique = list(dict.fromkeys(failures))  # an input failing in two tables is one failure
    return _RunStats(unique, n_cached, n_computed, n_damaged, audio_seconds, time.perf_counter() - started)


def extract_tables(
    source: Source,
    *,
    settings: ExtractionSettings | None = None,
    tables: Sequence[TableKind] | None = None,
    n_jobs: int | None = DEFAULT_N_JOBS,
    cache: str | os.PathLike | None = None,
    manifest: bool | None = None,
    progress: ProgressOption = None,
    **options: Any,
) -> ExtractionResult:
    """Extract one or several feature tables from an audio corpus, decoding each file once.

    The tables are returned in memory; :func:`extract_to_files` streams them to disk instead (for
    corpora whose tables should not be held in memory).

    Parameters
    ----------
    source : path or sequence of paths
        A folder in the GTZAN layout ``<root>/<label>/<file>``, a manifest CSV (``path,label`` and
        optional ``start,end,group``), one audio file, or a list of audio files.
    settings : ExtractionSettings or None
        The extraction settings (default: ``ExtractionSettings()``, the GTZAN track table).
    tables : sequence of {"track", "segment"} or None
        Which tables to build. Default: ``["segment"]`` when ``segment`` is given, else ``["track"]``.
    n_jobs : int or None
        Worker processes; ``-1`` (the default), ``0`` or ``None``: all usable cores (see
        :func:`featurelab.parallel.resolve_n_jobs`). Row order does not depend on it.
    cache : path or None
        Resume-cache folder; ``None`` disables caching.
    manifest : bool or None
        Force manifest interpretation of ``source`` (default: by ``.csv`` extension).
    progress : bool, None or callable
        ``None`` (the default) shows a progress bar in a terminal or notebook; pass
        ``progress=False`` to silence it, ``True`` to force it, or a callable ``progress(done, total)``.
    **options
        Fields of :class:`~featurelab.settings.ExtractionSettings`, replacing those of
        ``settings``: ``features`` (``"gtzan,contrast"``; default: the backend's set), ``sr``,
        ``segment`` (seconds; 3.0 for the GTZAN 3 s table), ``segment_hop``, ``segment_mode``
        (``"gtzan"``: segment ``i`` is ``y[i*w : i*w + w - 1]`` like the published table),
        ``backend`` (``"librosa"`` or ``"pyaudioanalysis"``).

    Returns
    -------
    ExtractionResult

    Examples
    --------
    >>> from featurelab.extraction import extract_tables  # doctest: +SKIP
    >>> result = extract_tables(  # doctest: +SKIP
    ...     "gtzan/genres_original", segment=3.0, tables=("track", "segment")
    ... )
    >>> result.tables["segment"].shape  # doctest: +SKIP
    (9990, 60)
    """
    settings = ExtractionSettings.coerce(settings, caller="extract_tables", **options)
    kinds = _table_kinds(settings, tables)
    plan, stats, chunks = _extract_chunks(source, settings, kinds, n_jobs, cache, manifest, progress)
    import pandas as pd

    frames = {kind: pd.concat([c.to_frame() for c in chunks[kind]], ignore_index=True) for kind in kinds}
    return _result(plan, stats, frames, {kind: len(frame) for kind, frame in frames.items()})


def _extract_chunks(
    source: Source,
    settings: ExtractionSettings,
    kinds: tuple[TableKind, ...],
    n_jobs: int | None,
    cache: str | os.PathLike | None,
    manifest: bool | None,
    progress: ProgressOption,
) -> tuple[_Plan, _RunStats, dict[TableKind, list[TableChunk]]]:
    plan = _plan(source, settings, kinds, n_jobs=n_jobs, cache=cache, manifest=manifest)
    chunks: dict[TableKind, list[TableChunk]] = {kind: [] for kind in kinds}
    assemblers = {kind: _assembler(kind, plan, chunks[kind].append) for kind in kinds}
    stats = _run(plan, assemblers, progress)
    return plan, stats, chunks


def extract_table_chunks(
    source: Source,
    *,
    settings: ExtractionSettings,
    n_jobs: int | None = DEFAULT_N_JOBS,
    progress: ProgressOption = None,
) -> tuple[list[TableChunk], list[tuple[str, str]]]:
    """Extract the table of ``settings`` (:attr:`~ExtractionSettings.table`) as table chunks, no cache.

    What :func:`extract_tables` does without building a DataFrame (no pandas import): for callers
    that only read columns, such as ``featurelab predict``.

    Returns
    -------
    chunks : list of TableChunk
        The rows in input order.
    failures : list of (str, str)
        ``(path, reason)`` of each failed input.
    """
    kinds = _table_kinds(settings, None)
    _, stats, chunks = _extract_chunks(source, settings, kinds, n_jobs, None, None, progress)
    return chunks[kinds[0]], stats.failures


def _assembler(kind: TableKind, plan: _Plan, emit: Callable[[TableChunk], None]) -> Any:
    from .assembly import TableAssembler

    settings = plan.settings
    copies = settings.copies if settings.augment is not None else 0
    segment_length = None
    if kind == "segment" and not copies and settings.short_clips == "drop":  # else rows may be shorter
        assert settings.segment is not None
        window = int(round(settings.segment * settings.sr))
        (start, stop), *_ = segment_bounds(window, settings.sr, settings.segment, None, settings.segment_mode)
        segment_length = stop - start
    return TableAssembler(
        kind,
        plan.items,
        list(settings.features),
        emit,
        columns=lambda: plan.columns,
        segment_length=segment_length,
        copies=copies,
    )


def _result(
    plan: _Plan,
    stats: _RunStats,
    tables: dict[str, pd.DataFrame],
    n_rows: dict[str, int],
    paths: dict[str, Path] | None = None,
) -> ExtractionResult:
    return ExtractionResult(
        tables=tables,
        failures=stats.failures,
        settings=plan.settings,
        n_cached=stats.n_cached,
        n_computed=stats.n_computed,
        n_damaged=stats.n_damaged,
        audio_seconds=stats.audio_seconds,
        elapsed=stats.elapsed,
        meta={kind: plan.settings.for_table(kind).sidecar() for kind in plan.kinds},
        n_rows=n_rows,
        paths=paths or {},
    )


def _errors_path(table: str | os.PathLike) -> Path:
    """Where the failures of a run writing ``table`` go: ``t.csv`` -> ``t.errors.csv``."""
    table = Path(table)
    return table.with_name(f"{table.stem}.errors.csv")


def extract_to_files(
    source: Source,
    outputs: Mapping[TableKind, str | os.PathLike],
    *,
    settings: ExtractionSettings | None = None,
    n_jobs: int | None = DEFAULT_N_JOBS,
    cache: str | os.PathLike | None = None,
    manifest: bool | None = None,
    progress: ProgressOption = None,
    **options: Any,
) -> ExtractionResult:
    """Extract tables straight to disk, streaming rows as they finish (memory flat in corpus size).

    Each table goes to a temporary file beside its target, in input order and in chunks of
    :data:`featurelab.assembly.CHUNK_ROWS` rows, and replaces the target only when the run
    completes, with its ``<stem>.meta.json`` sidecar. Failed inputs go to ``<stem>.errors.csv``
    (``path, reason``) beside the first table of ``outputs``; a stale errors file from an earlier
    run is removed when nothing failed. An interrupted run leaves previous outputs untouched; with
    a ``cache``, running it again resumes. Temporaries that a killed run left beside the outputs
    are removed first (:func:`featurelab.io.remove_stale_temporaries`).

    Parameters
    ----------
    source : path or sequence of paths
        See :func:`extract_tables`.
    outputs : mapping
        ``{"track": path, "segment": path}`` (the tables to build), ``.csv`` or ``.parquet``.
    settings : ExtractionSettings or None
        See :func:`extract_tables`.
    n_jobs, cache, manifest : see :func:`extract_tables`
        All usable cores by default; no cache; manifest by the ``.csv`` extension.
    progress : bool, None or callable
        ``None`` (the default) shows a progress bar in a terminal or notebook; pass
        ``progress=False`` to silence it.
    **options
        Fields of :class:`~featurelab.settings.ExtractionSettings` (see :func:`extract_tables`).

    Returns
    -------
    ExtractionResult
        With ``paths``, ``n_rows`` and ``errors_path`` set and ``tables`` empty.

    Examples
    --------
    >>> import featurelab  # doctest: +SKIP
    >>> outputs = {"track": "fma.parquet"}
    >>> result = featurelab.extract_to_files("fma_full", outputs, cache="fma.cache")  # doctest: +SKIP
    >>> result.errors_path  # doctest: +SKIP
    PosixPath('fma.errors.csv')
    """
    from .chunk import TableChunk
    from .io import remove_stale_temporaries
    from .table_writer import TableWriter

    if "tables" in options:
        raise ParameterError("extract_to_files takes the tables from the keys of outputs.")
    if not outputs:
        raise ParameterError("outputs must name at least one table ({'track': path}).")
    resolved = [Path(path).resolve() for path in outputs.values()]
    if len(set(resolved)) != len(resolved):
        raise ParameterError(f"Each table needs a different file. Got {dict(outputs)} instead.")
    settings = ExtractionSettings.coerce(settings, caller="extract_to_files", **options)
    kinds = _table_kinds(settings, tuple(outputs))
    plan = _plan(source, settings, kinds, n_jobs=n_jobs, cache=cache, manifest=manifest)
    failures = _errors_path(next(iter(outputs.values())))
    for path in (*outputs.values(), *map(ExtractionSettings.sidecar_path, outputs.values()), failures):
        remove_stale_temporaries(path)  # left by a run killed while writing (kill -9)
    with contextlib.ExitStack() as stack:
        writers = {kind: stack.enter_context(TableWriter(outputs[kind])) for kind in kinds}
        assemblers = {kind: _assembler(kind, plan, writers[kind].write) for kind in kinds}
        stats = _run(plan, assemblers, progress)
    result = _result(
        plan,
        stats,
        {},
        {kind: writer.n_rows for kind, writer in writers.items()},
        {kind: Path(outputs[kind]) for kind in kinds},
    )
    for kind in kinds:
        settings.for_table(kind).write_sidecar(outputs[kind])
    if result.failures:
        with TableWriter(failures) as writer:
            writer.write(TableChunk.from_rows(ERROR_COLUMNS, result.failures))
        result.errors_path = failures
    else:
        failures.unlink(missing_ok=True)  # stale, from an earlier run
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
    result.settings.for_table(kind).write_sidecar(path)
    return path


def extract(
    source: Source,
    *,
    settings: ExtractionSettings | None = None,
    n_jobs: int | None = DEFAULT_N_JOBS,
    cache: str | os.PathLike | None = None,
    manifest: bool | None = None,
    progress: ProgressOption = None,
    **options: Any,
) -> pd.DataFrame:
    """Extract a feature table from an audio corpus (the notebook entry point).

    Parameters
    ----------
    source : path or sequence of paths
        A GTZAN-layout folder, a manifest CSV, one audio file or a list of files.
    settings : ExtractionSettings or None
        The extraction settings; ``segment=None`` (the default): one row per file
        (``features_30_sec.csv`` schema); ``segment=3.0``: one row per 3 s segment
        (``features_3_sec.csv`` schema).
    n_jobs, cache, manifest : see :func:`extract_tables`
        All usable cores by default; no cache; manifest by the ``.csv`` extension.
    progress : bool, None or callable
        ``None`` (the default) shows a progress bar in a terminal or notebook; pass
        ``progress=False`` to silence it.
    **options
        Fields of :class:`~featurelab.settings.ExtractionSettings` (``segment``, ``features``,
        ``backend``, ``sr``, ...; see :func:`extract_tables`).

    Returns
    -------
    pandas.DataFrame
        The table. Failed inputs are in ``df.attrs["errors"]`` (a DataFrame with ``path, reason``).

    Examples
    --------
    >>> import featurelab  # doctest: +SKIP
    >>> df = featurelab.extract("gtzan/genres_original")  # doctest: +SKIP
    >>> seg = featurelab.extract("gtzan/genres_original", segment=3.0, progress=False)  # doctest: +SKIP
    """
    settings = ExtractionSettings.coerce(settings, caller="extract", **options)
    result = extract_tables(
        source, settings=settings, n_jobs=n_jobs, cache=cache, manifest=manifest, progress=progress
    )
    frame = result.tables[settings.table]
    frame.attrs["errors"] = result.errors
    frame.attrs["meta"] = result.meta[settings.table]
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
    from ._validation import Real, check_scalar

    check_scalar(sr, "sr", Real, min_val=0, include_boundaries="neither")
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 2:
        y = y.mean(axis=0)
    if y.ndim != 1 or y.size == 0:
        raise ParameterError(f"y must be a non-empty 1-D or 2-D signal. Got shape {y.shape} instead.")
    if not np.all(np.isfinite(y)):
        raise ParameterError("y must contain only finite samples. Got NaN or infinite values.")
    sets = resolve_feature_sets(features, backend=backend)
    return _compute_sets(sets, y[np.newaxis, :], int(sr))[0]
