"""Arrays per segment from the extraction driver: log-mel spectrograms for the CNN.

:func:`extract_arrays` is the extraction driver of :mod:`featurelab.extraction` making another
product than table rows: the same input discovery (folders, manifests, files), the same
segmentation (:func:`~featurelab.extraction.segment_bounds` with the settings' ``segment``,
``segment_hop`` and ``segment_mode``; a file shorter than one segment is an error row, as in the
segment table), the same resume cache (arrays stored as ``.npz`` beside the JSON entries), the same
``n_jobs`` rule and progress bar. It returns one row per segment (``filename, label, group, path,
start, end``) and the stacked arrays, in that row order. Workers compute with one BLAS thread, so
the numbers do not depend on ``n_jobs`` or on the machine's thread count.

A product is a small frozen dataclass with ``name``, ``version``, ``compute(y, sr, settings)`` and
``cache_description(settings)``; :data:`ARRAY_PRODUCTS` lists them by name. :class:`LogMel` makes
the CNN's input: :func:`log_mel` (the one implementation of featurelab's log-mel spectrograms) of
each segment, in dB relative to the segment's peak. A model trained on a product records it
(:meth:`LogMel.to_dict`, read back with :func:`array_product`) beside its
:class:`~featurelab.settings.ExtractionSettings`, so ``featurelab predict`` recomputes its inputs.

Examples
--------
>>> import numpy as np
>>> y = np.sin(2 * np.pi * 440 * np.arange(22050) / 22050).astype(np.float32)
>>> log_mel(y[np.newaxis], sr=22050).shape
(1, 128, 44)
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .datasets import AudioItem, segment_name, track_id
from .exceptions import ParameterError
from .extraction import Source, _plan, _run, errors_frame, segment_bounds
from .parallel import DEFAULT_N_JOBS
from .progress import ProgressOption
from .settings import ExtractionSettings

__all__ = ["ARRAY_PRODUCTS", "ArrayResult", "LogMel", "array_product", "extract_arrays", "log_mel"]

#: Columns of the segment table of :class:`ArrayResult`.
SEGMENT_COLUMNS = ("filename", "label", "group", "path", "start", "end")


def log_mel(
    segments: np.ndarray,
    *,
    sr: int,
    n_mels: int = 128,
    n_fft: int = 2048,
    hop_length: int = 512,
    top_db: float = 80.0,
) -> np.ndarray:
    """Log-mel spectrograms (dB) of equal-length segments.

    Parameters
    ----------
    segments : np.ndarray [shape=(..., n)]
        One segment, or a stack of segments, sampled at ``sr``.
    sr : int > 0
        Their sampling rate.
    n_mels, n_fft, hop_length : int > 0
        Mel bands, FFT window and hop (samples) of :func:`librosa.feature.melspectrogram`.
    top_db : float > 0
        Dynamic range kept below each segment's peak.

    Returns
    -------
    S_db : np.ndarray [shape=(..., n_mels, 1 + n // hop_length), dtype=float32]
        ``10 log10(S / peak)`` of the power mel spectrogram ``S`` of each segment, clipped at
        ``-top_db``.
    """
    import librosa

    S = librosa.feature.melspectrogram(
        y=np.asarray(segments, dtype=np.float32),
        sr=sr,
        n_fft=n_fft,
        hop_length=hop_length,
        n_mels=n_mels,
        power=2.0,
    )
    peak = S.max(axis=(-2, -1), keepdims=True)
    S_db = 10.0 * np.log10(np.maximum(S, 1e-10)) - 10.0 * np.log10(np.maximum(peak, 1e-10))
    return np.maximum(S_db, -top_db).astype(np.float32)


@dataclass(frozen=True)
class LogMel:
    """The log-mel product: one ``(n_mels, n_frames)`` spectrogram per segment (see :func:`log_mel`).

    Parameters
    ----------
    n_mels : int
        Mel bands.
    n_fft : int
        FFT window length (samples).
    hop_length : int
        Hop between frames (samples).
    top_db : float
        Dynamic range kept below each segment's peak (dB).
    """

    name: ClassVar[str] = "logmel"
    #: Bumped whenever the numbers change; part of the resume-cache key.
    version: ClassVar[str] = "1"

    n_mels: int = 128
    n_fft: int = 2048
    hop_length: int = 512
    top_db: float = field(default=80.0)

    def __post_init__(self) -> None:
        from ._validation import Integral, Interval, Real, validate_params

        positive_int = [Interval(Integral, 1, None, closed="left")]
        constraints = {
            "n_mels": positive_int,
            "n_fft": positive_int,
            "hop_length": positive_int,
            "top_db": [Interval(Real, 0, None, closed="neither")],
        }
        validate_params(dataclasses.asdict(self), constraints, caller="LogMel")

    def segment_samples(self, settings: ExtractionSettings) -> int:
        """Return the samples per segment under ``settings`` (one fewer in ``"gtzan"`` mode)."""
        assert settings.segment is not None
        window = int(round(settings.segment * settings.sr))
        return window - 1 if settings.segment_mode == "gtzan" else window

    def shape(self, settings: ExtractionSettings) -> tuple[int, int]:
        """Shape of one segment's array: ``(n_mels, 1 + segment_samples // hop_length)``."""
        return (self.n_mels, 1 + self.segment_samples(settings) // self.hop_length)

    def check(self, settings: ExtractionSettings) -> None:
        """Raise :class:`ParameterError` unless a segment is longer than half an FFT window."""
        if self.segment_samples(settings) < self.n_fft // 2 + 1:
            raise ParameterError(
                f"segment must be longer than half an FFT window ({self.n_fft} samples at "
                f"sr={settings.sr}). Got {settings.segment!r} s instead."
            )

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"product": "logmel", "version": ..., **parameters}`` (read by :func:`array_product`).

        Examples
        --------
        >>> LogMel(n_mels=64).to_dict()
        {'product': 'logmel', 'version': '1', 'n_mels': 64, 'n_fft': 2048, 'hop_length': 512, 'top_db': 80.0}
        """
        return {"product": self.name, "version": self.version, **dataclasses.asdict(self)}

    def cache_description(self, settings: ExtractionSettings) -> dict[str, Any]:
        """Return the part of a cache key that describes this product under ``settings``."""
        return {
            "kind": self.name,
            "version": self.version,
            "params": dataclasses.asdict(self),
            **settings.cache_key_values("segment"),
        }

    def compute(self, y: np.ndarray, sr: int, settings: ExtractionSettings) -> dict[str, Any]:
        """Compute the arrays of one decoded file (in a worker).

        Returns
        -------
        dict
            ``{"array": np.ndarray [shape=(n_segments, n_mels, n_frames)], "bounds": [[start,
            stop], ...] (samples), "error": None}``.

        Raises
        ------
        ValueError
            The signal is shorter than one segment and ``settings.short_clips`` is ``"drop"``
            (otherwise it is one segment, looped or zero-padded to the segment length).
        """
        assert settings.segment is not None
        bounds = segment_bounds(len(y), sr, settings.segment, settings.segment_hop, settings.segment_mode)
        if not bounds and settings.short_clips != "drop" and len(y):  # featurelab.units' policies
            from .units import fit_to_window, window_samples

            policy = "pad" if settings.short_clips == "pad" else "loop"  # arrays have one shape
            n = window_samples(sr, settings)  # the window the clip fills (its bounds)
            return {
                "array": self.transform(fit_to_window(y, n, policy)[np.newaxis], sr),
                "bounds": [[0, n]],
                "error": None,
            }
        if not bounds:
            raise ValueError(
                f"shorter than one {settings.segment:g} s segment ({len(y) / sr:.3f} s): no segments"
            )
        # All segments of a file in one call, as the CNN's inputs always were: a stack of another
        # size can round differently in float32 (the mel projection is one BLAS product).
        array = self.transform(np.stack([y[a:b] for a, b in bounds]), sr)
        return {"array": array, "bounds": [[a, b] for a, b in bounds], "error": None}

    def transform(self, segments: np.ndarray, sr: int) -> np.ndarray:
        """Return :func:`log_mel` of equal-length ``segments`` (shape ``(..., n)``) with these parameters."""
        return log_mel(segments, sr=sr, **dataclasses.asdict(self))


#: Array products by name (``extract_arrays(product=NAME)``).
ARRAY_PRODUCTS: dict[str, type[LogMel]] = {LogMel.name: LogMel}


def array_product(data: Mapping[str, Any]) -> LogMel:
    """Rebuild a product from :meth:`LogMel.to_dict` (such as a saved model's ``inputs``).

    Raises
    ------
    ParameterError
        An unknown product, a product of another version (its numbers would differ), or invalid
        parameters.

    Examples
    --------
    >>> array_product(LogMel(n_mels=64).to_dict()) == LogMel(n_mels=64)
    True
    """
    if not isinstance(data, Mapping):
        raise ParameterError(f"An array product must be a JSON object. Got {data!r} instead.")
    name = data.get("product")
    if name not in ARRAY_PRODUCTS:
        raise ParameterError(
            f"product must be one of {', '.join(ARRAY_PRODUCTS)}. Got {name!r} instead; a newer "
            "featurelab may know it."
        )
    kind = ARRAY_PRODUCTS[name]
    if str(data.get("version")) != kind.version:
        raise ParameterError(
            f"The {name} product of version {data.get('version')!r} cannot be recomputed: this "
            f"featurelab computes version {kind.version}."
        )
    names = {f.name for f in dataclasses.fields(kind)}
    unknown = sorted(set(data) - names - {"product", "version"})
    if unknown:
        raise ParameterError(f"{name} parameters must be among {', '.join(sorted(names))}. Got {unknown}.")
    try:
        return kind(**{key: data[key] for key in names if key in data})
    except TypeError as error:  # pragma: no cover - every field has a default
        raise ParameterError(f"Invalid {name} parameters: {error}") from None


@dataclass
class ArrayResult:
    """Segments and their arrays from :func:`extract_arrays`.

    Attributes
    ----------
    segments : pandas.DataFrame
        One row per segment: ``filename`` (``<stem>.<i><ext>``, as in the segment table),
        ``label``, ``group`` (the manifest's group, else the track id of the file), ``path`` (the
        audio file), ``start`` and ``end`` (seconds within the file).
    arrays : np.ndarray [shape=(n_segments, *product.shape(settings)), dtype=float32]
        The arrays, in the row order of ``segments``.
    errors : pandas.DataFrame
        One row per failed input: ``path, reason``.
    settings : ExtractionSettings
    product : LogMel
    n_cached, n_computed : int
        Files served from the resume cache / computed in this run.
    n_damaged : int
        Files whose cache entry was damaged and that were computed again (in ``n_computed``).
    audio_seconds, elapsed : float
        Seconds of audio decoded in this run, and of the run.
    """

    segments: pd.DataFrame
    arrays: np.ndarray
    errors: pd.DataFrame
    settings: ExtractionSettings
    product: Any
    n_cached: int = 0
    n_computed: int = 0
    n_damaged: int = 0
    audio_seconds: float = 0.0
    elapsed: float = 0.0


class _ArrayAssembler:
    """Collects the arrays of finished items and names their segments (driver side).

    ``shape`` is the shape of one segment's array and ``length`` its samples (what :meth:`check`
    expects of a cached entry).
    """

    def __init__(self, sr: int, shape: tuple[int, ...], length: int) -> None:
        self.sr = sr
        self.shape = tuple(shape)
        self.length = length
        self.rows: list[tuple[Any, ...]] = []
        self.blocks: list[np.ndarray] = []

    def check(self, entry: Any) -> str | None:
        """Say why a stored entry cannot be added, or ``None`` if it can."""
        if not isinstance(entry, dict):
            return "not a JSON object"
        if entry.get("error") is not None:
            error = entry["error"]
            return None if isinstance(error, str) and error.strip() else "the error is not a reason"
        array, bounds = entry.get("array"), entry.get("bounds")
        if not isinstance(array, np.ndarray) or array.shape[1:] != self.shape or not len(array):
            return "no array of the expected shape"
        if not isinstance(bounds, list) or len(bounds) != len(array):
            return "no bounds for every segment"
        for pair in bounds:
            if not (
                isinstance(pair, list)
                and len(pair) == 2
                and all(type(b) is int for b in pair)
                and 0 <= pair[0]
                and pair[1] - pair[0] == self.length
            ):
                return "a segment's bounds differ from the settings'"
        if not np.isfinite(array).all():
            return "a value is not a finite number"
        return None

    def add(self, item: AudioItem, entry: Mapping[str, Any]) -> str | None:
        if entry.get("error"):
            return str(entry["error"])
        array, bounds = entry.get("array"), entry.get("bounds") or []
        if array is None or len(array) != len(bounds) or not len(bounds):
            return "no segments"
        offset = item.start or 0.0
        group = item.group or track_id(item.name)
        for i, (a, b) in enumerate(bounds):
            name = segment_name(item.name, i)
            self.rows.append(
                (name, item.label, group, str(item.path), offset + a / self.sr, offset + b / self.sr)
            )
        self.blocks.append(np.asarray(array, dtype=np.float32))
        return None

    def finish(self) -> None:
        """Nothing to flush: :func:`extract_arrays` stacks the blocks."""


def _split_options(product: Any, options: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Return the product (built from its name and its options) and the extraction options."""
    if isinstance(product, str):
        if product not in ARRAY_PRODUCTS:
            raise ParameterError(
                f"product must be one of {', '.join(ARRAY_PRODUCTS)}. Got {product!r} instead."
            )
        names = {f.name for f in dataclasses.fields(ARRAY_PRODUCTS[product])}
        params = {key: options.pop(key) for key in list(options) if key in names}
        return ARRAY_PRODUCTS[product](**params), options
    if not hasattr(product, "compute") or not hasattr(product, "cache_description"):
        raise ParameterError(f"product must be a product name or object. Got {product!r} instead.")
    return product, options


def extract_arrays(
    source: Source,
    product: str | LogMel = "logmel",
    *,
    settings: ExtractionSettings | None = None,
    n_jobs: int | None = DEFAULT_N_JOBS,
    cache: str | os.PathLike | None = None,
    manifest: bool | None = None,
    progress: ProgressOption = None,
    **options: Any,
) -> ArrayResult:
    """Cut every file of a corpus into segments and compute an array per segment (log-mel).

    Parameters
    ----------
    source : path or sequence of paths
        A folder in the GTZAN layout ``<root>/<label>/<file>``, a manifest CSV, one audio file or a
        list of files (see :func:`featurelab.extraction.extract_tables`).
    product : str or product
        ``"logmel"`` (:class:`LogMel`, built from the product's keywords in ``options``), or a
        product object.
    settings : ExtractionSettings or None
        Extraction settings; ``segment`` is required (``segment_mode="exact"`` for full windows).
    n_jobs : int or None
        Worker processes; ``-1`` (the default), ``0`` or ``None``: all usable cores.
    cache : path or None
        Resume-cache folder (arrays are stored as ``.npz``); ``None`` disables caching.
    manifest : bool or None
        Force manifest interpretation of ``source`` (default: by ``.csv`` extension).
    progress : bool, None or callable
        ``None`` (the default) shows a progress bar in a terminal or notebook; pass
        ``progress=False`` to silence it, or a callable ``progress(done, total)``.
    **options
        Fields of :class:`~featurelab.settings.ExtractionSettings` (``sr``, ``segment``,
        ``segment_hop``, ``segment_mode``) and of the product (``n_mels``, ``n_fft``,
        ``hop_length``, ``top_db``).

    Returns
    -------
    ArrayResult
        ``segments`` (one row per segment) and ``arrays`` (stacked, same order), ``errors``.

    Raises
    ------
    ParameterError
        No ``segment``, a segment shorter than half an FFT window, or an invalid value.

    Examples
    --------
    The CNN's inputs: full 3 s windows at 22050 Hz, 128 mel bands.

    >>> from featurelab.arrays import extract_arrays  # doctest: +SKIP
    >>> result = extract_arrays(  # doctest: +SKIP
    ...     "gtzan/genres_original", "logmel", segment=3.0, segment_mode="exact", n_mels=128,
    ...     cache="mels.cache",
    ... )
    >>> result.arrays.shape, list(result.segments.columns)  # doctest: +SKIP
    ((9990, 128, 130), ['filename', 'label', 'group', 'path', 'start', 'end'])
    """
    product, options = _split_options(product, dict(options))
    settings = ExtractionSettings.coerce(settings, caller="extract_arrays", **options)
    if settings.segment is None:
        raise ParameterError("extract_arrays needs segment=SECONDS (e.g. segment=3.0).")
    product.check(settings)
    plan = _plan(source, settings, (product,), n_jobs=n_jobs, cache=cache, manifest=manifest)
    assembler = _ArrayAssembler(settings.sr, product.shape(settings), product.segment_samples(settings))
    stats = _run(plan, {product: assembler}, progress, description=product.name)
    shape = (0, *product.shape(settings))
    return ArrayResult(
        segments=pd.DataFrame(assembler.rows, columns=list(SEGMENT_COLUMNS)),
        arrays=np.concatenate(assembler.blocks) if assembler.blocks else np.zeros(shape, np.float32),
        errors=errors_frame(stats.failures),
        settings=settings,
        product=product,
        n_cached=stats.n_cached,
        n_computed=stats.n_computed,
        n_damaged=stats.n_damaged,
        audio_seconds=stats.audio_seconds,
        elapsed=stats.elapsed,
    )
