"""Log-mel segments for the CNN: corpus listing, segmentation, log-mel, a disk cache.

Every file of a corpus (a folder in the GTZAN layout ``<root>/<label>/<file>`` or a manifest CSV) is
cut into non-overlapping segments of ``segment`` seconds (segment ``i`` is
``y[i * n : (i + 1) * n]``; a file shorter than one segment is zero-padded to one segment), and each
segment becomes a log-mel spectrogram of shape ``(n_mels, n_frames)``. The spectrograms are
computed once per run -- and once for good with a cache folder, keyed by the file's identity (path,
size, modification time) and the mel parameters.

The corpus listing, cache and dispatch here are the CNN's own driver, to be replaced by the
extraction driver's log-mel product; :func:`log_mel` and :class:`MelParams` define the numbers.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..._validation import Interval, Real, validate_params
from ...exceptions import AudioLoadError, ParameterError
from ...progress import ProgressBar, ProgressOption
from .._params import POSITIVE_INT

__all__ = [
    "MelParams",
    "list_corpus",
    "split_signal",
    "log_mel",
    "compute_segments",
    "load_segment",
]

_CACHE_VERSION = 1

#: The rules of :class:`MelParams` (shared with :class:`~featurelab.nn.cnn.CNNConfig`).
MEL_CONSTRAINTS: dict[str, list[Any]] = {
    "sr": [POSITIVE_INT],
    "n_mels": [POSITIVE_INT],
    "n_fft": [POSITIVE_INT],
    "hop_length": [POSITIVE_INT],
    "segment": [Interval(Real, 0, None, closed="neither")],
    "top_db": [Interval(Real, 0, None, closed="neither")],
}


@dataclass(frozen=True)
class MelParams:
    """Parameters of the log-mel segments.

    Attributes
    ----------
    sr : int
        Sampling rate the audio is resampled to.
    n_mels : int
        Mel bands.
    n_fft : int
        FFT window length (samples).
    hop_length : int
        Hop between frames (samples).
    segment : float
        Segment duration in seconds.
    top_db : float
        Dynamic range kept by :func:`librosa.power_to_db` (relative to each segment's peak).
    """

    sr: int = 22050
    n_mels: int = 128
    n_fft: int = 2048
    hop_length: int = 512
    segment: float = 3.0
    top_db: float = 80.0

    def __post_init__(self) -> None:
        validate_params(asdict(self), MEL_CONSTRAINTS, caller=type(self).__name__)
        if self.segment_samples < self.n_fft // 2 + 1:
            raise ParameterError(
                f"segment must be longer than half an FFT window ({self.n_fft} samples). "
                f"Got {self.segment!r} s instead."
            )

    @property
    def segment_samples(self) -> int:
        """Samples per segment."""
        return int(round(self.segment * self.sr))

    @property
    def n_frames(self) -> int:
        """Frames per segment (centered frames, as librosa computes them)."""
        return 1 + self.segment_samples // self.hop_length

    def key(self) -> str:
        """Return a short string identifying these parameters (part of the cache key)."""
        return ",".join(f"{k}={v}" for k, v in sorted(asdict(self).items()))


def list_corpus(source: str | os.PathLike) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """List the labelled audio files of a corpus folder (GTZAN layout) or manifest CSV.

    Parameters
    ----------
    source : str or path-like
        A folder ``<root>/<label>/<file>`` or a manifest CSV (``path,label[,start,end,group]``).

    Returns
    -------
    files : pandas.DataFrame
        One row per file (or manifest clip): ``path, filename, label, group, start, duration``
        (``group`` = the manifest's group, else the track's stem; times in seconds or NaN).
    problems : list of (str, str)
        ``(path, reason)`` of manifest rows that cannot be used.

    Raises
    ------
    ParameterError
        The source is missing, has no labelled audio files, or fewer than two labels.
    """
    from ...datasets import discover

    items, problems = discover(source)
    rows = []
    for item in items:
        if not item.label:
            continue
        stem = item.name.rsplit(".", 1)[0] if "." in item.name else item.name
        rows.append(
            {
                "path": str(item.path),
                "filename": item.name,
                "label": item.label,
                "group": item.group or stem,
                "start": np.nan if item.start is None else float(item.start),
                "duration": np.nan if item.duration is None else float(item.duration),
            }
        )
    files = pd.DataFrame(rows, columns=["path", "filename", "label", "group", "start", "duration"])
    if files.empty:
        raise ParameterError(
            f"source must contain labelled audio files (<root>/<label>/<file> or a manifest with a "
            f"label column). Got none in {str(source)!r}."
        )
    if files["label"].nunique() < 2:
        raise ParameterError(
            f"source must contain at least 2 labels. Got {files['label'].nunique()} in {str(source)!r}."
        )
    return files, [(p.path, p.reason) for p in problems]


def split_signal(y: np.ndarray, n: int) -> np.ndarray:
    """Cut a signal into non-overlapping segments of ``n`` samples.

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,)]
        Mono signal.
    n : int
        Segment length in samples.

    Returns
    -------
    segments : np.ndarray [shape=(max(1, n_samples // n), n), dtype=float32]
        Segment ``i`` is ``y[i * n : (i + 1) * n]``; a signal shorter than ``n`` is zero-padded to
        one segment, and a trailing remainder shorter than ``n`` is dropped.
    """
    y = np.asarray(y, dtype=np.float32)
    if y.size < n:
        return np.pad(y, (0, n - y.size))[np.newaxis]
    count = y.size // n
    return np.ascontiguousarray(y[: count * n].reshape(count, n))


def log_mel(segments: np.ndarray, params: MelParams) -> np.ndarray:
    """Log-mel spectrograms (dB) of equal-length segments.

    Parameters
    ----------
    segments : np.ndarray [shape=(..., n)]
        One segment, or a stack of segments, sampled at ``params.sr``.
    params : MelParams
        Mel parameters.

    Returns
    -------
    S_db : np.ndarray [shape=(..., n_mels, 1 + n // hop_length), dtype=float32]
        ``power_to_db(melspectrogram)`` relative to each segment's peak, clipped at ``-top_db``.
    """
    import librosa

    S = librosa.feature.melspectrogram(
        y=np.asarray(segments, dtype=np.float32),
        sr=params.sr,
        n_fft=params.n_fft,
        hop_length=params.hop_length,
        n_mels=params.n_mels,
        power=2.0,
    )
    peak = S.max(axis=(-2, -1), keepdims=True)
    S_db = 10.0 * np.log10(np.maximum(S, 1e-10)) - 10.0 * np.log10(np.maximum(peak, 1e-10))
    return np.maximum(S_db, -params.top_db).astype(np.float32)


def _cache_file(cache_dir: Path, path: str, start: float, duration: float, params: MelParams) -> Path:
    stat = os.stat(path)
    ident = "|".join(
        [
            str(Path(path).resolve()),
            str(stat.st_size),
            str(stat.st_mtime_ns),
            f"{start!r}",
            f"{duration!r}",
            params.key(),
            f"v{_CACHE_VERSION}",
        ]
    )
    digest = hashlib.sha1(ident.encode("utf-8")).hexdigest()
    return cache_dir / digest[:2] / f"{digest}.npy"


def _file_mels(
    path: str, start: float, duration: float, params: MelParams, cache_dir: str | None
) -> tuple[np.ndarray | None, str | None]:
    """Return the log-mel segments of one file (from the cache when possible), or an error."""
    from ...io import atomic_path, load_audio

    target = None
    if cache_dir is not None:
        try:
            target = _cache_file(Path(cache_dir), path, start, duration, params)
        except OSError as error:
            return None, f"cannot stat file ({error})"
        if target.is_file():
            try:
                return np.load(target, allow_pickle=False), None
            except (OSError, ValueError):
                pass  # a damaged cache entry is recomputed and replaced
    try:
        y, _ = load_audio(
            path,
            sr=params.sr,
            offset=0.0 if np.isnan(start) else start,
            duration=None if np.isnan(duration) else duration,
        )
    except AudioLoadError as error:
        return None, error.reason
    mels = log_mel(split_signal(y, params.segment_samples), params)
    if target is not None:
        with atomic_path(target) as tmp, open(tmp, "wb") as handle:
            np.save(handle, mels, allow_pickle=False)
    return mels, None


def compute_segments(
    files: pd.DataFrame,
    params: MelParams,
    *,
    cache_dir: str | os.PathLike | None = None,
    n_jobs: int = 1,
    progress: ProgressOption = None,
) -> tuple[pd.DataFrame, np.ndarray, list[tuple[str, str]]]:
    """Compute (or read from the cache) the log-mel segments of every file.

    Parameters
    ----------
    files : pandas.DataFrame
        From :func:`list_corpus`.
    params : MelParams
        Mel and segment parameters.
    cache_dir : path or None
        Folder of the spectrogram cache; ``None`` keeps them in memory for this run only.
    n_jobs : int
        Parallel worker processes (joblib); 1 computes in this process.
    progress : bool, None or callable
        A bar on standard error (see :mod:`featurelab.progress`; ``None``: when a terminal or a
        notebook is watching).

    Returns
    -------
    segments : pandas.DataFrame
        One row per segment: ``filename`` (``<stem>.<i><ext>``), ``label``, ``group`` (the
        track), ``path``, ``start`` and ``end`` (seconds within the file), ``file_index`` (row in
        ``files``).
    mels : np.ndarray [shape=(n_segments, n_mels, n_frames), dtype=float32]
        The log-mel spectrograms, in the row order of ``segments``.
    problems : list of (str, str)
        ``(path, reason)`` of files that could not be decoded (skipped).
    """
    from ...datasets import segment_name

    cache = None if cache_dir is None else str(Path(cache_dir))
    jobs = [(str(r.path), float(r.start), float(r.duration)) for r in files.itertuples(index=False)]
    results = _run_jobs(jobs, params, cache, n_jobs=n_jobs, progress=progress)

    rows, blocks, problems = [], [], []
    seg_seconds = params.segment_samples / params.sr
    for file_index, ((mels, error), row) in enumerate(
        zip(results, files.itertuples(index=False), strict=True)
    ):
        if mels is None:
            problems.append((str(row.path), str(error)))
            continue
        offset = 0.0 if np.isnan(row.start) else float(row.start)
        for i in range(mels.shape[0]):
            rows.append(
                {
                    "filename": segment_name(row.filename, i),
                    "label": row.label,
                    "group": row.group,
                    "path": row.path,
                    "start": offset + i * seg_seconds,
                    "end": offset + (i + 1) * seg_seconds,
                    "file_index": file_index,
                }
            )
        blocks.append(mels)
    columns = ["filename", "label", "group", "path", "start", "end", "file_index"]
    segments = pd.DataFrame(rows, columns=columns)
    shape = (0, params.n_mels, params.n_frames)
    mels_all = np.concatenate(blocks) if blocks else np.zeros(shape, dtype=np.float32)
    return segments, mels_all, problems


def _run_jobs(
    jobs: list[tuple[str, float, float]],
    params: MelParams,
    cache: str | None,
    *,
    n_jobs: int,
    progress: ProgressOption,
) -> list[tuple[np.ndarray | None, str | None]]:
    if n_jobs is None or n_jobs == 0:
        n_jobs = 1
    if n_jobs < 0:
        n_jobs = os.cpu_count() or 1
    results: list[tuple[np.ndarray | None, str | None]] = []
    with ProgressBar(progress, total=len(jobs), description="log-mel", eta=True) as bar:
        if n_jobs == 1 or len(jobs) < 2:
            for job in jobs:
                results.append(_file_mels(*job, params, cache))
                bar.advance()
        else:
            from joblib import Parallel, delayed

            parallel = Parallel(n_jobs=n_jobs, return_as="generator")
            for result in parallel(delayed(_file_mels)(*job, params, cache) for job in jobs):
                results.append(result)
                bar.advance()
    return results


def load_segment(path: str, start: float, params: MelParams) -> np.ndarray:
    """Read one segment's waveform again (for augmentation).

    Parameters
    ----------
    path : str
        Audio file.
    start : float
        Segment start in seconds.
    params : MelParams
        Gives the sampling rate and segment length.

    Returns
    -------
    y : np.ndarray [shape=(segment_samples,), dtype=float32]
        The segment, zero-padded if the file ends early.
    """
    from ...io import load_audio

    y, _ = load_audio(path, sr=params.sr, offset=float(start), duration=params.segment)
    return split_signal(y[: params.segment_samples], params.segment_samples)[0]
