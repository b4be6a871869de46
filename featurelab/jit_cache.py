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
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
from pathlib import Path

__all__ = ["cache_fingerprint", "is_warm", "mark_warm"]

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
