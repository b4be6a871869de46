"""The resume cache: one small JSON file per extracted item, written atomically.

An entry is keyed by the file's identity (absolute path, size, modification time), the clip bounds
and the extraction settings, so a changed file or changed settings never reuse stale rows. Each entry
is written to a temporary file and renamed with :func:`os.replace`, so a process killed at any
instant (Ctrl-C or ``kill -9``) leaves either a complete entry or none: the rerun recomputes only
what is missing, and rows are never duplicated or partial.

A write killed midway leaves its temporary (``<xx>/.entry.<random>.tmp``) behind. Each writer holds a
lock on its temporary while it lives (the system drops it when the process dies), so
:meth:`ResultCache.remove_stale_temporaries`, run at the start of every extraction, removes exactly
the temporaries no running process is writing -- also while another run shares the cache.

Entries may hold numpy arrays (the log-mel segments of :mod:`featurelab.arrays`): those go to a
``<key>.npz`` file beside the JSON entry, written first, so a JSON entry is only ever present with
its arrays complete.

:func:`user_cache_dir` is featurelab's folder for what it keeps across runs (converted musicnn
weights, the compiled kernels).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

__all__ = ["ResultCache", "file_identity", "user_cache_dir"]


def user_cache_dir() -> Path:
    """Return featurelab's cache folder (not created here).

    ``$FEATURELAB_CACHE``, else ``$XDG_CACHE_HOME/featurelab``, else ``~/.cache/featurelab``.
    """
    root = os.environ.get("FEATURELAB_CACHE")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = str(Path(xdg) / "featurelab") if xdg else str(Path.home() / ".cache" / "featurelab")
    return Path(root).expanduser()


def file_identity(path: str | os.PathLike) -> dict[str, Any]:
    """``{"path", "size", "mtime_ns"}`` of a file, or ``{"path", "missing": True}``."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        return {"path": str(path.absolute()), "missing": True}
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


class ResultCache:
    """A folder of JSON entries, addressed by a key computed from a JSON-able description.

    Parameters
    ----------
    directory : path-like or None
        Where entries live; ``None`` disables the cache (every ``get`` misses, ``put`` does nothing).
    """

    def __init__(self, directory: str | os.PathLike | None) -> None:
        self.directory = Path(directory) if directory is not None else None

    @staticmethod
    def key(description: dict[str, Any]) -> str:
        """SHA-256 of the canonical JSON of ``description``."""
        blob = json.dumps(description, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def _path(self, key: str, suffix: str = ".json") -> Path:
        assert self.directory is not None
        return self.directory / key[:2] / f"{key}{suffix}"

    def has(self, key: str) -> bool:
        """Whether an entry is stored under ``key`` (always ``False`` when disabled)."""
        return self.directory is not None and self._path(key).is_file()

    def get(self, key: str) -> dict[str, Any] | None:
        """Return the stored entry, or ``None`` (missing, disabled, or unreadable: recomputed)."""
        if self.directory is None:
            return None
        try:
            with open(self._path(key), encoding="utf-8") as handle:
                entry = json.load(handle)
            names = entry.pop(_ARRAYS, None) if isinstance(entry, dict) else None
            if names:
                with np.load(self._path(key, ".npz"), allow_pickle=False) as stored:
                    entry.update({name: stored[name] for name in names})
            return entry
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def put(self, key: str, entry: dict[str, Any]) -> None:
        """Store an entry atomically (no-op when disabled); numpy array values go to ``<key>.npz``."""
        if self.directory is None:
            return
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        arrays = {name: value for name, value in entry.items() if isinstance(value, np.ndarray)}
        if arrays:
            with _replacing(self._path(key, ".npz"), "wb") as handle:
                np.savez(handle, **arrays)
            entry = {name: value for name, value in entry.items() if name not in arrays}
            entry[_ARRAYS] = list(arrays)
        with _replacing(target, "w", encoding="utf-8") as handle:
            # dumps, not dump: one call of the C encoder (json.dump streams through the pure-Python
            # one, ~6 ms per 30 s file's rows); the same text
            handle.write(json.dumps(entry, allow_nan=False))

    def remove_stale_temporaries(self) -> list[Path]:
        """Remove the temporaries of writes killed midway (those no running process holds).

        Returns
        -------
        list of Path
            The removed files (none when the cache is disabled or has no such file).
        """
        from .io import remove_unheld

        if self.directory is None:
            return []
        return remove_unheld(sorted(self.directory.glob(f"*/{_TMP_PREFIX}*{_TMP_SUFFIX}")))


#: Key of a JSON entry listing the arrays stored in its ``.npz`` file.
_ARRAYS = "__arrays__"


#: Names of the temporaries of entries being written (``.entry.<random>.tmp``).
_TMP_PREFIX, _TMP_SUFFIX = ".entry.", ".tmp"


@contextlib.contextmanager
def _replacing(target: Path, mode: str, **kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``target`` that replaces it when the block completes.

    The temporary stays locked until it is renamed or removed, so that
    :meth:`ResultCache.remove_stale_temporaries` of another process leaves it alone.
    """
    from .io import _try_lock

    while True:
        fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, suffix=_TMP_SUFFIX, dir=target.parent)
        held = os.name == "posix" and _try_lock(fd)
        if not held or os.fstat(fd).st_nlink:
            break
        os.close(fd)  # removed as stale between its creation and the lock: take another
    try:
        with os.fdopen(os.dup(fd), mode, **kwargs) as handle:  # the lock stays with ``fd``
            yield handle
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    finally:
        os.close(fd)
