"""Simulated file-system faults for one folder: read-only, or full.

``chmod`` cannot make a folder read-only for root (CI runs as root), so these helpers refuse the
operating-system calls themselves -- creating folders and files, renaming, opening for writing --
for paths inside the folder, with the errno a real read-only or full file system gives. Reads and
everything outside the folder are untouched.
"""

from __future__ import annotations

import builtins
import errno
import io
import os
from pathlib import Path

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _inside(path: object, folder: Path) -> bool:
    if isinstance(path, int):  # a file descriptor
        return False
    try:
        return Path(os.path.abspath(os.fspath(path))).is_relative_to(folder)
    except TypeError:
        return False


def _refuse(code: int, path: object) -> OSError:
    return OSError(code, os.strerror(code), os.fspath(path))


def _writing(mode: str) -> bool:
    return any(flag in mode for flag in "wax+")


def read_only(monkeypatch, folder: Path) -> Path:
    """Make ``folder`` (existing or not) behave like a read-only file system (EROFS)."""
    folder = Path(os.path.abspath(folder))
    real_mkdir, real_open, real_replace, real_rename = os.mkdir, os.open, os.replace, os.rename
    real_builtin_open = builtins.open

    def mkdir(path, *args, **kwargs):
        if _inside(path, folder):
            raise _refuse(errno.EROFS, path)
        return real_mkdir(path, *args, **kwargs)

    def os_open(path, flags, *args, **kwargs):
        if flags & _WRITE_FLAGS and _inside(path, folder):
            raise _refuse(errno.EROFS, path)
        return real_open(path, flags, *args, **kwargs)

    def move(real):
        def moved(src, dst, *args, **kwargs):
            for path in (src, dst):
                if _inside(path, folder):
                    raise _refuse(errno.EROFS, path)
            return real(src, dst, *args, **kwargs)

        return moved

    def opened(file, mode="r", *args, **kwargs):
        if _writing(mode) and _inside(file, folder):
            raise _refuse(errno.EROFS, file)
        return real_builtin_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(os, "replace", move(real_replace))
    monkeypatch.setattr(os, "rename", move(real_rename))
    monkeypatch.setattr(builtins, "open", opened)
    monkeypatch.setattr(io, "open", opened)
    return folder


class _FullFile:
    """A file opened for writing on a full disk: the first write fails with ENOSPC."""

    def __init__(self, handle, name) -> None:
        self._handle = handle
        self._name = name

    def write(self, *args, **kwargs):
        raise _refuse(errno.ENOSPC, self._name)

    writelines = write

    def __getattr__(self, name):
        return getattr(self._handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._handle.close()

    def __iter__(self):
        return iter(self._handle)


def full_disk(monkeypatch, folder: Path) -> Path:
    """Make every file written inside ``folder`` fail with ENOSPC (folders can still be created)."""
    folder = Path(os.path.abspath(folder))
    real_builtin_open = builtins.open
    real_fdopen = os.fdopen

    def opened(file, mode="r", *args, **kwargs):
        handle = real_builtin_open(file, mode, *args, **kwargs)
        if _writing(mode) and _inside(file, folder):
            return _FullFile(handle, file)
        return handle

    def fdopen(fd, mode="r", *args, **kwargs):
        handle = real_fdopen(fd, mode, *args, **kwargs)
        name = os.readlink(f"/proc/self/fd/{fd}") if os.path.exists(f"/proc/self/fd/{fd}") else ""
        if _writing(mode) and name and _inside(name, folder):
            return _FullFile(handle, name)
        return handle

    monkeypatch.setattr(builtins, "open", opened)
    monkeypatch.setattr(io, "open", opened)
    monkeypatch.setattr(os, "fdopen", fdopen)
    return folder
