"""The worker side of the extraction driver: one item in, its rows out.

:func:`process_item` decodes one input once and computes its rows for each requested table; the
driver (:mod:`featurelab.extraction`) runs it in worker processes through :func:`_worker`. This module
imports what a worker needs and nothing more (no pandas: a worker never builds a table), so that a
worker process starts in a fraction of the driver's import time.
"""

from __future__ import annotations

import gc
import math
import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .exceptions import AudioLoadError, ParameterError

if TYPE_CHECKING:  # pragma: no cover
    from .datasets import AudioItem
    from .features.registry import FeatureSet
    from .settings import ExtractionSettings, TableKind

__all__ = ["BATCH_UNITS", "segment_bounds", "process_item", "prestart_workers"]

#: Segments computed together by a feature set's batch function (bounds memory for long files).
BATCH_UNITS = 16

#: Files longer than this (seconds) are decoded block by block, never whole, when that gives the
#: same rows: the GTZAN set alone, without augmentation or loudness normalisation, from a format
#: with exact lengths (:func:`featurelab.io.open_audio_stream`). Shorter files are decoded whole, as
#: before (their rows byte-identical to earlier versions).
STREAM_SECONDS = 300.0


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
    return _checked(rows)


def _checked(rows: list[dict[str, float]]) -> list[dict[str, float]]:
    """Return ``rows``, or raise ``ValueError`` naming the columns of a row that are not finite."""
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
    from .features.registry import resolve_feature_sets
    from .io import load_audio

    out: dict[str, Any] = {"seconds": 0.0}
    y: np.ndarray | None = None
    try:
        sets = resolve_feature_sets(list(settings.features))
        stream = _open_stream(item, settings, kinds)
        if stream is None:
            y, sr = load_audio(item.path, sr=settings.sr, offset=item.start or 0.0, duration=item.duration)
            n = len(y)
        else:
            sr, n = stream.sr, stream.n_samples
        if item.duration is not None:
            expected = int(round(item.duration * sr))
            if n < expected - max(1, sr // 100):
                got = (item.start or 0.0) + n / sr
                raise AudioLoadError(
                    item.path,
                    f"clip end {item.end:g} s is beyond the end of the file ({got:.3f} s)",
                )
    except Exception as error:  # noqa: BLE001 - reported, never raised
        reason = _describe_error(error)
        return {**out, **{kind: {"rows": [], "error": reason} for kind in kinds}}
    out["seconds"] = n / sr
    for kind in kinds:
        try:
            if y is None:  # a long file, decoded block by block
                out[kind] = {"rows": _streamed_rows(stream, settings, kind), "error": None}
                continue
            if not isinstance(kind, str):  # an array product (featurelab.arrays)
                out[kind] = kind.compute(y, sr, settings)
                continue
            # The units of the rows (whole file, windows, short clips, augmented copies, loudness):
            # featurelab.units; each row gets its extra columns ("length", "augmented").
            from .units import table_units

            rows = []
            for units, extras in table_units(y, sr, settings, kind, name=item.name):
                for row, extra in zip(_compute_sets(sets, units, sr), extras, strict=True):
                    rows.append(row | extra)
            out[kind] = {"rows": rows, "error": None}
        except Exception as error:  # noqa: BLE001
            out[kind] = {"rows": [], "error": _describe_error(error)}
    return out


def _open_stream(item: AudioItem, settings: ExtractionSettings, kinds: tuple[Any, ...]) -> Any:
    """Return the stream of a long file whose rows can be computed block by block, else ``None``.

    ``None``: decode the file whole (:func:`featurelab.io.load_audio`).
    """
    from .io import open_audio_stream

    if (
        tuple(settings.features) != ("gtzan",)
        or settings.augment is not None
        or settings.normalize != "none"
        or not all(isinstance(kind, str) for kind in kinds)
    ):
        return None
    stream = open_audio_stream(item.path, sr=settings.sr, offset=item.start or 0.0, duration=item.duration)
    if stream is None or stream.duration <= STREAM_SECONDS:
        return None
    return stream


def _streamed_rows(stream: Any, settings: ExtractionSettings, kind: TableKind) -> list[dict[str, float]]:
    """Return the rows of a long file (see :func:`_open_stream`), decoding it block by block.

    Equal to the rows of the whole decoded signal: segment rows exactly (each window's samples are
    the same, computed in the same batches of :data:`BATCH_UNITS`); the track row within float32
    rounding (:func:`featurelab.features.gtzan.gtzan_features_streamed`).
    """
    from .features.gtzan import gtzan_features_batch, gtzan_features_streamed
    from .io import StreamedSignal

    sr, n = stream.sr, stream.n_samples
    if kind == "track":
        features = gtzan_features_streamed(StreamedSignal(stream), sr)
        row = {key: float(value) for key, value in features.items()}
        return _checked([row | {"length": n}])
    assert settings.segment is not None
    bounds = segment_bounds(n, sr, settings.segment, settings.segment_hop, settings.segment_mode)
    if not bounds:  # pragma: no cover - streamed files are longer than any segment
        raise ValueError(f"shorter than one {settings.segment:g} s segment: no segment rows")
    rows: list[dict[str, float]] = []
    signal = StreamedSignal(stream)
    for first in range(0, len(bounds), BATCH_UNITS):
        batch = bounds[first : first + BATCH_UNITS]
        units = np.stack([signal[:, a:b][0] for a, b in batch])
        # gtzan_features(y) is gtzan_features_batch(y[np.newaxis]): a lone last unit is no different.
        results = gtzan_features_batch(units, sr)
        rows += [
            {key: float(value) for key, value in result.items()} | {"length": b - a}
            for result, (a, b) in zip(results, batch, strict=True)
        ]
    return _checked(rows)


def _worker(item: AudioItem, settings: ExtractionSettings, kinds: tuple[TableKind, ...]) -> dict[str, Any]:
    """Entry point in a worker process: one BLAS/OpenMP thread, so workers never oversubscribe."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return process_item(item, settings, kinds)


# ----------------------------------------------------------------------------- worker pool start
def warm_key(settings: ExtractionSettings) -> str:
    """Return what a warm-up covers (:mod:`featurelab.jit_cache`): feature sets and sampling rate."""
    return repr((settings.features, settings.sr))


def _warm_up(settings: ExtractionSettings) -> None:
    """Run every feature set in this process on one signal and on a batch (see ``_iter_results``).

    Both shapes, because numba compiles (and caches) one specialisation per array layout, and a
    single file's arrays and a batch of segments' arrays have different layouts.
    """
    from .features.registry import resolve_feature_sets

    rng = np.random.default_rng(0)
    probe = (0.1 * rng.standard_normal((2, settings.sr // 2))).astype(np.float32)
    sets = resolve_feature_sets(list(settings.features))
    for signals in (probe[:1], probe):
        try:
            _compute_sets(sets, signals, settings.sr)
        except Exception:  # noqa: BLE001 - a failing set reports its errors per file later
            pass


def _preload(settings: ExtractionSettings) -> int:
    """In a worker: import the feature sets and load their compiled kernels before the first file."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        _warm_up(settings)
    gc.collect()
    gc.freeze()  # what is loaded now stays: no later collection needs to scan it
    return os.getpid()


#: Pool start-ups in flight (:func:`prestart_workers`): ``(warm key, thread)``.
_PRESTARTS: list[tuple[str, threading.Thread]] = []


def _start_pool(settings: ExtractionSettings, n_jobs: int) -> None:
    from joblib import Parallel, delayed

    from .parallel import local_pool_options

    try:
        # The run's own Parallel call passes the same options, so it reuses these workers.
        Parallel(n_jobs=n_jobs, batch_size=1, **local_pool_options())(
            delayed(_preload)(settings) for _ in range(n_jobs)
        )
    except Exception:  # noqa: BLE001 - the run proper starts the pool again and reports failures
        pass


def prestart_workers(settings: ExtractionSettings, n_jobs: int) -> bool:
    """Start ``n_jobs`` loky workers in the background and load the feature code in each.

    The extraction driver's own ``Parallel`` call then reuses these workers (joblib keeps one
    reusable loky executor per process), so their start-up overlaps what this process still does
    before its first task (imports, discovery, opening the outputs). Nothing starts for one
    worker, under another joblib backend (Dask), or while the numba caches are not known complete
    (:mod:`featurelab.jit_cache`: the driver then compiles them once, before any worker starts).

    Parameters
    ----------
    settings : ExtractionSettings
        The run's settings (feature sets, sampling rate).
    n_jobs : int
        Workers of the run.

    Returns
    -------
    bool
        Whether a start-up was launched.
    """
    if n_jobs < 2 or any(key == warm_key(settings) for key, _ in _PRESTARTS):
        return False
    from joblib.parallel import get_active_backend

    from .jit_cache import is_warm

    backend, _ = get_active_backend()
    if type(backend).__name__ != "LokyBackend" or not is_warm(warm_key(settings)):
        return False
    thread = threading.Thread(target=_start_pool, args=(settings, n_jobs), daemon=True)
    thread.start()
    _PRESTARTS.append((warm_key(settings), thread))
    return True


def wait_for_prestart(key: str) -> bool:
    """Wait for the pool start-ups in flight; whether one of them was for ``key`` (caches warm)."""
    found = False
    while _PRESTARTS:
        started, thread = _PRESTARTS.pop()
        thread.join()
        found = found or started == key
    return found
