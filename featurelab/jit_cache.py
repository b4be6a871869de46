"""Tell, with stat calls only, whether numba's on-disk caches are complete for a configuration.

Before worker processes start, extraction runs every feature set once in the parent so that the
numba kernels (librosa's and featurelab's, ``cache=True``) are compiled and written once: workers
that compile the same kernel at the same moment can read each other's half-written cache files
and crash. That warm-up costs the parent ~2 s of imports even when the caches are complete, which
is the usual case. So after a warm-up, a small marker records a fingerprint of the cache index
files (path, size, modification time of every ``*.nbi`` under librosa and featurelab, or under
``NUMBA_CACHE_DIR``) and of those packages' sources; a later run whose fingerprint matches skips
the warm-up. Any change to the caches or the sources (a kernel recompiled, cache files deleted, a
module edited or upgraded) changes the fingerprint, and the next run warms up again. Where nothing
can be written, the warm-up simply always runs.

:func:`ensure_numba_cache` runs before any ``cache=True`` kernel is defined (importing
:mod:`featurelab.features` or :mod:`featurelab.io`): where numba could not write a cache anywhere
(a read-only installation and a read-only or missing ``$HOME``, as for a service account), numba
refuses to define the kernels ("cannot cache function ...: no locator available"). It then points
``NUMBA_CACHE_DIR`` at a private folder in the temporary directory (inherited by the worker
processes started afterwards) and says so once, as a ``featurelab`` logging warning.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import logging
import os
import sys
import tempfile
from pathlib import Path

__all__ = ["cache_fingerprint", "ensure_numba_cache", "is_private", "is_warm", "mark_warm"]

logger = logging.getLogger(__name__)

_PACKAGES = ("librosa", "featurelab")


def _package_roots() -> list[Path]:
    roots = []
    for name in _PACKAGES:
        spec = importlib.util.find_spec(name)  # locates the package without importing it
        if spec is not None and spec.origin:
            roots.append(Path(spec.origin).parent)
    return roots


def _cache_roots() -> list[Path]:
    custom = os.environ.get("NUMBA_CACHE_DIR")
    return [Path(custom)] if custom else _package_roots()


def _stamps(roots: list[Path], pattern: str) -> list[tuple[str, int, int]]:
    entries = []
    for root in roots:
        for path in sorted(root.rglob(pattern)):
            try:
                stat = path.stat()
            except OSError:
                continue
            entries.append((str(path), stat.st_size, stat.st_mtime_ns))
    return entries


def cache_fingerprint(key: str) -> str | None:
    """Digest of ``key`` and every numba cache index file, or ``None`` when none is found.

    Parameters
    ----------
    key : str
        What the warm-up covered (feature sets, sampling rate, ...).
    """
    from importlib.metadata import PackageNotFoundError, version

    caches = _stamps(_cache_roots(), "*.nbi")
    if not caches:
        return None
    # The sources too: an edited or upgraded module makes its cached kernels stale before any
    # index file changes.
    sources = _stamps(_package_roots(), "*.py")
    try:
        numba_version = version("numba")
    except PackageNotFoundError:  # pragma: no cover - librosa requires numba
        numba_version = "?"
    blob = json.dumps([key, sys.version, numba_version, caches, sources])
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _marker(key: str) -> Path | None:
    roots = _cache_roots()
    if not roots:
        return None
    folder = roots[0] if os.environ.get("NUMBA_CACHE_DIR") else roots[-1] / "__pycache__"
    name = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    return folder / f"featurelab-warm-{name}.json"


def is_warm(key: str) -> bool:
    """Whether a warm-up for ``key`` ran and the numba caches have not changed since."""
    marker = _marker(key)
    if marker is None:
        return False
    try:
        recorded = json.loads(marker.read_text(encoding="utf-8")).get("fingerprint")
    except (OSError, ValueError, AttributeError):
        return False
    return recorded is not None and recorded == cache_fingerprint(key)


def mark_warm(key: str) -> None:
    """Record that the caches are complete for ``key`` (silently skipped where not writable)."""
    marker = _marker(key)
    fingerprint = cache_fingerprint(key)
    if marker is None or fingerprint is None:
        return
    from .io import atomic_path

    try:
        with atomic_path(marker) as tmp:
            tmp.write_text(json.dumps({"key": key, "fingerprint": fingerprint}), encoding="utf-8")
    except OSError:
        pass


# ----------------------------------------------------------------------------- numba's cache folder
def _writable(folder: Path) -> bool:
    """Whether numba can cache in ``folder``: its own test (create it, then a temporary file in it)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError:
        return False
    return True


def _user_wide_cache() -> Path:
    """Return numba's user-wide cache folder (``appdirs.user_cache_dir("numba")``) without numba."""
    if sys.platform == "win32":  # pragma: no cover - not tested here
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~/AppData/Local")
        return Path(base) / "numba" / "Cache"
    if sys.platform == "darwin":  # pragma: no cover - not tested here
        return Path(os.path.expanduser("~/Library/Caches")) / "numba"
    return Path(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")) / "numba"


def _kernel_folders() -> list[Path]:
    """Folders of the packages whose modules define ``cache=True`` numba kernels."""
    folders = []
    for root in _package_roots():
        folders += [root, *sorted(p.parent for p in root.glob("*/__init__.py"))]
    return folders


def _has_locator(folder: Path, user_wide: Path) -> bool:
    """Whether one of numba's cache locators works for the modules in ``folder`` (numba's order)."""
    path = os.path.abspath(folder)
    subpath = f"{os.path.basename(path)}_{hashlib.sha1(path.encode()).hexdigest()}"
    custom = os.environ.get("NUMBA_CACHE_DIR")
    if custom and _writable(Path(custom) / subpath):
        return True
    return _writable(folder / "__pycache__") or _writable(user_wide / subpath)


def is_private(path: Path) -> bool:
    """Whether ``path`` belongs to this user and nobody else can write it.

    Compiled code is loaded from such places only. Always true where there are no POSIX owners
    (Windows).
    """
    if not hasattr(os, "getuid"):  # pragma: no cover - Windows: the user's own profile folder
        return True
    try:
        stat = path.lstat()
    except OSError:
        return False
    return stat.st_uid == os.getuid() and not stat.st_mode & 0o022


def _private_folder() -> Path | None:
    """Return a cache folder only this user can write: ``<tmp>/featurelab-numba-<uid>`` or a new one."""
    uid = os.getuid() if hasattr(os, "getuid") else None
    if uid is not None:
        folder = Path(tempfile.gettempdir()) / f"featurelab-numba-{uid}"
        try:
            folder.mkdir(mode=0o700, exist_ok=True)
            # Compiled code is loaded from there: never a folder another user made or can write.
            if folder.is_dir() and not folder.is_symlink() and is_private(folder) and _writable(folder):
                return folder
        except OSError:
            pass
    try:
        return Path(tempfile.mkdtemp(prefix="featurelab-numba-"))
    except OSError:
        return None


@functools.cache
def ensure_numba_cache() -> Path | None:
    """Give numba a writable cache folder when it has none (once per process).

    numba caches a ``cache=True`` kernel under ``NUMBA_CACHE_DIR`` when set, else beside its module
    (``__pycache__``), else in the user's cache folder (``~/.cache/numba``); where none can be
    written it refuses to define the kernel. In that case only, ``NUMBA_CACHE_DIR`` is set to a
    private folder of the temporary directory (kept between runs, so kernels compile once) and a
    warning says so; worker processes started afterwards inherit the setting.

    Returns
    -------
    Path or None
        The folder chosen, or ``None`` when numba's own locations work (nothing changed).
    """
    user_wide = _user_wide_cache()
    if all(_has_locator(folder, user_wide) for folder in _kernel_folders()):
        return None
    folder = _private_folder()
    if folder is None:  # pragma: no cover - not even the temporary folder is writable
        logger.warning(
            "featurelab: numba cannot write its cache anywhere (installation, ~/.cache and the "
            "temporary folder are read-only); set NUMBA_CACHE_DIR to a writable folder."
        )
        return None
    os.environ["NUMBA_CACHE_DIR"] = str(folder)
    if "numba.core.config" in sys.modules:  # numba reads its settings once; make it read them again
        sys.modules["numba.core.config"].reload_config()
    logger.warning(
        "featurelab: numba cannot write its cache beside the installed packages nor in ~/.cache; "
        "compiled kernels are cached in %s (set NUMBA_CACHE_DIR to choose another folder).",
        folder,
    )
    return folder
