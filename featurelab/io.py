"""Reading audio and reading/writing feature tables.

Audio is decoded with :mod:`soundfile` (wav, flac, ogg, au/snd, aiff, and mp3 where libsndfile supports
it) and falls back to :func:`librosa.load` (audioread) for anything else. Long files can be decoded
block by block instead (:func:`open_audio_stream`, :class:`StreamedSignal`), resampled with soxr's
streaming resampler: the same signal, in memory of one block. Tables are CSV or Parquet,
chosen by extension, and are always written atomically: a temporary file in the destination folder
is renamed over the target only once it is complete, so a crash never leaves a half-written table.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .exceptions import AudioLoadError, ParameterError, TableError

if TYPE_CHECKING:  # pandas is imported where a table is read (start-up time of one-file commands)
    import pandas as pd

__all__ = [
    "AUDIO_EXTENSIONS",
    "SAMPLE_RATE_RANGE",
    "load_audio",
    "AudioStream",
    "open_audio_stream",
    "StreamedSignal",
    "read_table",
    "write_table",
    "atomic_path",
    "remove_stale_temporaries",
    "remove_unheld",
    "table_format",
    "check_writable",
]

#: Formats that libsndfile decodes natively; other extensions (mp3, m4a) may fall back to audioread.
_SNDFILE_EXTENSIONS = (".wav", ".au", ".snd", ".flac", ".ogg", ".oga", ".aif", ".aiff")

#: Sample rates accepted in audio files and as decoding targets (Hz).
SAMPLE_RATE_RANGE = (1000, 768_000)

#: File extensions recognised as audio when scanning folders.
AUDIO_EXTENSIONS = (".wav", ".au", ".snd", ".flac", ".ogg", ".oga", ".aif", ".aiff", ".mp3", ".m4a")


def _to_mono_float(data: np.ndarray) -> np.ndarray:
    """Average channels (samples x channels -> samples) and return float32."""
    if data.ndim == 2:
        data = data.mean(axis=1)
    return np.ascontiguousarray(data, dtype=np.float32)


def load_audio(
    path: str | os.PathLike,
    *,
    sr: int | None = 22050,
    offset: float = 0.0,
    duration: float | None = None,
    res_type: str = "soxr_hq",
) -> tuple[np.ndarray, int]:
    """Decode an audio file to a mono float32 signal.

    Parameters
    ----------
    path : str or path-like
        Audio file.
    sr : int or None
        Target sampling rate; ``None`` keeps the file's own rate. Resampling uses ``res_type``
        (librosa's default ``soxr_hq``), as :func:`librosa.load` does.
    offset : float
        Start reading after this many seconds.
    duration : float or None
        Read at most this many seconds.
    res_type : str
        Resampling method passed to :func:`librosa.resample`.

    Returns
    -------
    y : np.ndarray [shape=(n,), dtype=float32]
        The mono signal (channels averaged).
    sr : int
        Its sampling rate.

    Raises
    ------
    AudioLoadError
        The file is missing, empty, not decodable, has no samples in the requested range, or
        contains non-finite samples.
    """
    path = Path(path)
    if offset < 0:
        raise AudioLoadError(path, f"offset must be >= 0 seconds, got {offset}")
    if duration is not None and duration <= 0:
        raise AudioLoadError(path, f"duration must be > 0 seconds, got {duration}")
    if not path.exists():
        raise AudioLoadError(path, "file not found")
    if not path.is_file():
        raise AudioLoadError(path, "not a regular file")
    if path.stat().st_size == 0:
        raise AudioLoadError(path, "empty file (0 bytes)")

    y, native_sr = _decode(path, offset=offset, duration=duration)
    low, high = SAMPLE_RATE_RANGE
    if not low <= native_sr <= high:  # a lying header: 1 Hz would "upsample" to hours of audio
        raise AudioLoadError(
            path, f"implausible sample rate {native_sr} Hz in the header (expected {low}-{high} Hz)"
        )
    if y.size == 0:
        where = f" at offset {offset:g} s" if offset else ""
        raise AudioLoadError(path, f"no audio samples{where}")
    if not np.all(np.isfinite(y)):
        raise AudioLoadError(path, "audio contains NaN or infinite samples")
    if sr is not None and native_sr != sr:
        import librosa

        from .jit_cache import ensure_numba_cache

        ensure_numba_cache()  # librosa's kernels need a writable numba cache folder

        y = librosa.resample(y, orig_sr=native_sr, target_sr=sr, res_type=res_type)
        y = np.ascontiguousarray(y, dtype=np.float32)
        native_sr = sr
    return y, int(native_sr)


#: Formats whose header gives the exact frame count, so that a file can be decoded block by block
#: with its length known in advance (:func:`open_audio_stream`).
_STREAMABLE_EXTENSIONS = (".wav", ".flac", ".aif", ".aiff", ".au", ".snd")

#: Samples (at the file's own rate) decoded per block by :meth:`AudioStream.blocks`.
STREAM_BLOCK_SAMPLES = 1 << 18


class AudioStream:
    """An audio file decoded block by block, each pass from its start, to a mono float32 signal.

    The blocks of one pass, concatenated, are :func:`load_audio`'s signal: bit for bit at the
    file's own rate; when resampling, within the rounding of the resampler (its streaming mode
    processes the same samples as its one-shot mode; the length is fixed as
    :func:`librosa.resample` fixes it). Memory is that of one block, whatever the file's length.
    Created by :func:`open_audio_stream`.

    Attributes
    ----------
    path : Path
        The file.
    sr : int
        The rate of the blocks.
    native_sr : int
        The file's own rate.
    n_samples : int
        Samples of the whole signal at ``sr``.
    """

    def __init__(
        self,
        path: Path,
        *,
        sr: int,
        native_sr: int,
        start: int,
        frames: int,
        res_type: str,
    ) -> None:
        self.path, self.sr, self.native_sr = path, int(sr), int(native_sr)
        self._start, self._frames, self._res_type = start, frames, res_type
        self.n_samples = frames if sr == native_sr else int(math.ceil(frames * sr / native_sr))

    @property
    def duration(self) -> float:
        """Seconds of audio."""
        return self.n_samples / self.sr

    def _native_blocks(self, block_samples: int) -> Iterator[np.ndarray]:
        import soundfile as sf

        done = 0
        try:
            with sf.SoundFile(str(self.path)) as handle:
                handle.seek(self._start)
                while done < self._frames:
                    data = handle.read(
                        min(block_samples, self._frames - done), dtype="float32", always_2d=True
                    )
                    if not len(data):
                        break
                    done += len(data)
                    block = _to_mono_float(data)
                    if not np.all(np.isfinite(block)):
                        raise AudioLoadError(self.path, "audio contains NaN or infinite samples")
                    yield block
        except AudioLoadError:
            raise
        except Exception as error:  # noqa: BLE001 - libsndfile raises a variety of types
            reason = f"cannot decode audio data ({_libsndfile_text(error)})"
            raise AudioLoadError(self.path, reason) from error
        if done != self._frames:
            raise AudioLoadError(
                self.path, f"decoded {done} samples where the header announces {self._frames}"
            )

    def blocks(self, block_samples: int | None = None) -> Iterator[np.ndarray]:
        """Yield the signal in consecutive float32 blocks, from its start.

        Parameters
        ----------
        block_samples : int > 0 or None
            Samples read from the file per block (blocks of a resampled signal differ in length);
            ``None``: :data:`STREAM_BLOCK_SAMPLES`.

        Raises
        ------
        AudioLoadError
            The audio data cannot be decoded or has non-finite samples.
        """
        block_samples = block_samples or STREAM_BLOCK_SAMPLES
        if self.sr == self.native_sr:
            yield from self._native_blocks(block_samples)
            return
        import soxr

        resampler = soxr.ResampleStream(self.native_sr, self.sr, 1, dtype="float32", quality=self._res_type)
        emitted = 0
        pending = None
        for block in self._native_blocks(block_samples):
            if pending is not None:  # one block behind, so that the last one flushes the resampler
                out = resampler.resample_chunk(pending)
                out = out[: self.n_samples - emitted]
                emitted += len(out)
                if len(out):
                    yield np.ascontiguousarray(out, dtype=np.float32)
            pending = block
        if pending is not None:
            out = resampler.resample_chunk(pending, last=True)[: self.n_samples - emitted]
            emitted += len(out)
            if len(out):
                yield np.ascontiguousarray(out, dtype=np.float32)
        if emitted < self.n_samples:  # as librosa.util.fix_length: zeros at the end
            yield np.zeros(self.n_samples - emitted, dtype=np.float32)


def open_audio_stream(
    path: str | os.PathLike,
    *,
    sr: int | None = 22050,
    offset: float = 0.0,
    duration: float | None = None,
    res_type: str = "soxr_hq",
) -> AudioStream | None:
    """Open an audio file for block-wise decoding (:class:`AudioStream`), when its format allows.

    Parameters are those of :func:`load_audio`. Only formats whose header gives the exact number
    of samples (wav, flac, aiff, au) can be streamed; ``res_type`` must be one of soxr's
    (``"soxr_hq"``, ...).

    Returns
    -------
    AudioStream or None
        ``None`` where the file must be decoded whole (:func:`load_audio`): another format or
        resampler, or a header that libsndfile cannot read (:func:`load_audio` then says why).

    Raises
    ------
    AudioLoadError
        As :func:`load_audio`, for what the header shows: a missing or empty file, an implausible
        sample rate, no samples in the requested range.
    """
    import soundfile as sf

    path = Path(path)
    if path.suffix.lower() not in _STREAMABLE_EXTENSIONS or not res_type.startswith("soxr"):
        return None
    if offset < 0 or (duration is not None and duration <= 0) or not path.is_file():
        return None  # load_audio gives the reason
    try:
        info = sf.info(str(path))
    except Exception:  # noqa: BLE001 - load_audio gives the reason
        return None
    low, high = SAMPLE_RATE_RANGE
    if not low <= info.samplerate <= high or info.channels <= 0 or info.frames <= 0:
        return None
    start = int(round(offset * info.samplerate))
    frames = info.frames - start
    if duration is not None:
        frames = min(frames, int(round(duration * info.samplerate)))
    if frames <= 0:
        return None
    target = info.samplerate if sr is None else sr
    return AudioStream(
        path, sr=target, native_sr=info.samplerate, start=start, frames=frames, res_type=res_type
    )


class StreamedSignal:
    """A signal of shape ``(1, n)`` that decodes only the slices asked for (``signal[:, lo:hi]``).

    Slices are read forward, as a block-wise feature engine reads them: a slice may start before
    the previous one ends, but not before it starts; a slice that starts earlier (a second pass)
    decodes the file again from its start. Only the samples from the last slice's start on are
    kept (about one block of the engine, plus one decoding block).

    Parameters
    ----------
    stream : AudioStream
        The decoded file.
    block_samples : int or None
        Samples decoded per read (``None``: :data:`STREAM_BLOCK_SAMPLES`).

    Examples
    --------
    >>> import numpy as np, soundfile as sf, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.wav"
    >>> sf.write(path, np.arange(100, dtype=np.float32) / 100, 8000, subtype="FLOAT")
    >>> signal = StreamedSignal(open_audio_stream(path, sr=None), block_samples=16)
    >>> signal.shape, signal[:, 40:43]
    ((1, 100), array([[0.4 , 0.41, 0.42]], dtype=float32))
    """

    def __init__(self, stream: AudioStream, block_samples: int | None = None) -> None:
        self.stream, self.block_samples = stream, block_samples
        self.shape = (1, stream.n_samples)
        self.dtype = np.dtype(np.float32)
        self.passes = 0
        self._restart()

    def _restart(self) -> None:
        self._blocks = self.stream.blocks(self.block_samples)
        self._buffer = np.zeros(0, dtype=np.float32)
        self._origin = 0  # signal index of self._buffer[0]
        self.passes += 1

    def __getitem__(self, key: tuple[slice, slice]) -> np.ndarray:
        rows, cols = key
        if rows != slice(None) or cols.step not in (None, 1):
            raise IndexError("a StreamedSignal is read as signal[:, lo:hi]")
        lo, hi, _ = cols.indices(self.shape[1])
        hi = max(lo, hi)
        if lo < self._origin:
            self._restart()
        end = self._origin + len(self._buffer)
        parts = [self._buffer[lo - self._origin :]] if lo < end else []
        while end < hi:
            block = next(self._blocks, None)
            if block is None:  # pragma: no cover - the stream yields exactly n_samples
                raise AudioLoadError(self.stream.path, "the audio ended before its announced length")
            parts.append(block[max(0, lo - end) :])
            end += len(block)
        self._origin = lo if lo < end else end
        self._buffer = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
        return self._buffer[np.newaxis, : hi - self._origin].copy()


def _decode(path: Path, *, offset: float, duration: float | None) -> tuple[np.ndarray, int]:
    """Decode with soundfile, falling back to librosa/audioread for other formats."""
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except Exception as sf_error:  # noqa: BLE001 - libsndfile raises a variety of types
        if path.suffix.lower() in _SNDFILE_EXTENSIONS:
            raise AudioLoadError(path, _unreadable_reason(path, sf_error)) from sf_error
        return _decode_fallback(path, offset=offset, duration=duration, first_error=sf_error)
    if info.samplerate <= 0:
        raise AudioLoadError(path, f"invalid sample rate {info.samplerate} in header")
    if info.channels <= 0:
        raise AudioLoadError(path, f"invalid channel count {info.channels} in header")
    start = int(round(offset * info.samplerate))
    frames = -1 if duration is None else int(round(duration * info.samplerate))
    try:
        data, file_sr = sf.read(str(path), start=start, frames=frames, dtype="float32", always_2d=True)
    except Exception as error:  # noqa: BLE001
        raise AudioLoadError(path, f"cannot decode audio data ({_libsndfile_text(error)})") from error
    return _to_mono_float(data), int(file_sr)


#: What libsndfile says of data it cannot parse after all (an MPEG-like header on garbage, say),
#: although the file exists and is a regular file.
_FALSE_MISSING = "does not exist or is not a regular file"


def _libsndfile_text(error: BaseException) -> str:
    """Return libsndfile's reason without its ``Error opening '<path>': `` prefix (the path is known)."""
    text = getattr(error, "error_string", None) or str(error)
    return text.strip() or type(error).__name__


def _unreadable_reason(path: Path, error: BaseException) -> str:
    """Return the errors-table reason for a file that libsndfile (and any fallback) cannot open."""
    reason = _libsndfile_text(error)
    if _FALSE_MISSING in reason:
        try:  # the file was found and is regular: can it be read at all?
            with open(path, "rb") as handle:
                handle.read(1)
        except OSError as os_error:  # a permission error, a file removed meanwhile, ...
            return f"not a readable audio file ({os_error.strerror or os_error})"
        kind = path.suffix.lower().lstrip(".") or "audio"
        return f"not a decodable audio file (no valid {kind} data)"
    return f"not a readable audio file ({reason})"


def _decode_fallback(
    path: Path, *, offset: float, duration: float | None, first_error: Exception
) -> tuple[np.ndarray, int]:
    import warnings

    import librosa

    from .jit_cache import ensure_numba_cache

    ensure_numba_cache()  # librosa's kernels need a writable numba cache folder
    failed = False
    with warnings.catch_warnings():
        # Also silences the ResourceWarning of the file that audioread leaves open when it fails:
        # the failed decoder is freed here, at the end of the except clause.
        warnings.simplefilter("ignore")
        try:
            y, file_sr = librosa.load(str(path), sr=None, mono=True, offset=offset, duration=duration)
        except Exception:  # noqa: BLE001
            failed = True
    if failed:
        reason = _unreadable_reason(path, first_error)
        if path.suffix.lower() == ".mp3" and reason.startswith("not a readable"):
            reason = f"cannot decode mp3 (no working mp3 decoder: {_libsndfile_text(first_error)})"
        raise AudioLoadError(path, reason) from None
    return np.ascontiguousarray(y, dtype=np.float32), int(file_sr)


def table_format(path: str | os.PathLike) -> str:
    """Return ``"csv"`` or ``"parquet"`` from a table path's extension.

    Raises
    ------
    ParameterError
        The extension is neither ``.csv`` nor ``.parquet``/``.pq``, or it is Parquet and pyarrow
        (the ``[parquet]`` extra) is not installed.
    """
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".parquet", ".pq"):
        import importlib.util

        if importlib.util.find_spec("pyarrow") is None:
            raise ParameterError(
                f"{str(path)!r} is a Parquet table, which needs pyarrow (~55 MB, not in the default "
                "install): pip install 'featurelab[parquet]', or use a .csv name."
            )
        return "parquet"
    raise ParameterError(
        f"Table path must end in .csv or .parquet. Got {str(path)!r} instead; "
        "choose an output name such as features.csv."
    )


#: Hex digits of the random part of a temporary's name (``.<name>.<hex>.tmp``).
_TOKEN_DIGITS = 12


def _temporary_pattern(path: Path) -> re.Pattern[str]:
    """Return the names :func:`atomic_path` gives the temporaries of ``path``."""
    return re.compile(rf"\.{re.escape(path.name)}\.[0-9a-f]{{{_TOKEN_DIGITS}}}\.tmp")


def _try_lock(fd: int) -> bool:
    """Take an exclusive lock on an open file without waiting; ``False`` when it is not free.

    A process holds the lock of its temporary until it is renamed or removed, and the system drops
    it when the process dies (``kill -9`` included), so a temporary whose lock is free is stale.
    Where there are no such locks (Windows) the lock is always "taken": a file that another
    process has open cannot be removed there anyway.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return os.name != "posix"
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # held by a running writer (or no locks on this file system: keep the file)
        return False
    return True


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` that replaces it atomically on success.

    On any exception the temporary file is removed and ``path`` is left untouched. A process
    killed meanwhile leaves the temporary (``.<name>.<hex>.tmp``) behind, locked while it lived:
    :func:`remove_stale_temporaries` removes it.
    """
    import secrets

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:  # like tempfile.mkstemp, but with the umask's permissions (mkstemp: 0600)
        tmp_path = path.parent / f".{path.name}.{secrets.token_hex(_TOKEN_DIGITS // 2)}.tmp"
        try:
            fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:  # pragma: no cover - 48 random bits
            continue
        break
    # Held (open and locked) until the temporary is renamed or removed: it is in use. Where files
    # cannot be locked so (Windows, where an open file cannot be renamed either), closed at once.
    held = fd if os.name == "posix" and _try_lock(fd) else None
    if held is None:
        os.close(fd)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        try:
            if tmp_path.exists():
                tmp_path.unlink()
        finally:
            if held is not None:
                os.close(held)


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Remove the temporaries that writes of ``path`` killed before they finished left behind.

    Only :func:`atomic_path`'s own temporaries of ``path`` (regular files named
    ``.<name>.<hex>.tmp`` in its folder) that no running process is writing are removed; any other
    file, and the temporary of a write still in progress, is left alone.

    Parameters
    ----------
    path : str or path-like
        The file that was being written (a table, its sidecar, ...).

    Returns
    -------
    list of Path
        The removed files.
    """
    path = Path(path)
    pattern = _temporary_pattern(path)
    try:
        entries = [entry.path for entry in os.scandir(path.parent) if pattern.fullmatch(entry.name)]
    except OSError:  # no folder (yet), or not readable: nothing to clean
        return []
    return remove_unheld(entries)


def remove_unheld(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Remove each of ``paths`` that is a regular file (not a link) no running process holds locked.

    The temporaries of :func:`atomic_path` and of the resume cache stay locked by their writer
    until they are renamed or removed, so one whose lock is free was left by a killed process.

    Parameters
    ----------
    paths : iterable of str or path-like
        Candidate files; anything else (a folder, a link, a file gone meanwhile) is left alone.

    Returns
    -------
    list of Path
        The removed files.
    """
    import stat

    removed = []
    for candidate in paths:
        try:
            if not stat.S_ISREG(os.lstat(candidate).st_mode):
                continue
            fd = os.open(candidate, os.O_RDONLY)
        except OSError:
            continue
        try:
            if _try_lock(fd):  # no writer holds it: stale
                os.unlink(candidate)
                removed.append(Path(candidate))
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a table as CSV or Parquet (by extension), atomically.

    Parameters
    ----------
    df : pandas.DataFrame
        The table.
    path : str or path-like
        Destination ending in ``.csv`` or ``.parquet``.

    Returns
    -------
    Path
        The written path.
    """
    fmt = table_format(path)
    try:
        with atomic_path(path) as tmp:
            if fmt == "csv":
                df.to_csv(tmp, index=False)
            else:
                df.to_parquet(tmp, index=False)
    except OSError as error:  # disk full, read-only or missing folder, ...
        raise TableError(
            f"Cannot write the table {str(path)!r} ({error.strerror or error}); any previous file "
            "there is unchanged."
        ) from error
    return Path(path)


def check_writable(path: str | os.PathLike) -> None:
    """Fail early, before any work, if a file cannot be created at ``path``.

    Creates the parent folders and a temporary file beside ``path`` (removed at once).

    Raises
    ------
    TableError
        The folder cannot be created or written to.
    """
    path = Path(path)
    for folder in (path.parent, *path.parent.parents):
        if folder.exists() and not folder.is_dir():
            raise TableError(
                f"Cannot write {str(path)!r}: {str(folder)!r} is a file, not a folder. Choose "
                "another output path."
            )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=path.parent)
        os.close(fd)
        os.unlink(tmp)
    except OSError as error:
        raise TableError(
            f"Cannot write {str(path)!r} ({error.strerror or error}). Choose another output path."
        ) from error


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a CSV or Parquet feature table.

    Raises
    ------
    TableError
        The file does not exist or cannot be parsed.
    """
    path = Path(path)
    if not path.is_file():
        raise TableError(f"Feature table {str(path)!r} does not exist. Create one with `featurelab extract`.")
    fmt = table_format(path)
    import pandas as pd

    try:
        if fmt == "csv":
            return pd.read_csv(path)
        return pd.read_parquet(path)
    except Exception as error:  # noqa: BLE001
        raise TableError(f"Cannot read feature table {str(path)!r}: {error}") from error
