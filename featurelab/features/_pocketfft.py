"""scipy.fft's real FFTs and DCT, without the ~0.15 s that ``import scipy.fft`` costs every process.

The engine needs three transforms of :mod:`scipy.fft` (the library librosa calls): ``rfft`` /
``irfft`` for the tempogram's autocorrelation and ``dct`` for the MFCCs. Importing :mod:`scipy.fft`
also imports scipy.special, the array-API layer and numpy.f2py and rewrites docstrings: 0.15-0.25 s
in each extraction process (the command and every worker). The transforms themselves are scipy's
compiled pocketfft module, ``scipy.fft._pocketfft.pypocketfft``, which needs nothing of that. This
module loads that extension alone (registered under its own name, so a later ``import scipy.fft``
uses the same module) and calls it with the arguments ``scipy.fft`` passes for these calls (the
input converted as ``scipy.fft`` converts it, zero-padded or cut to ``n``, normalisation ``"backward"``
or ``"ortho"``, one thread): the same function on the same arguments, so the same values
(``tests/test_rhythm.py`` and ``tests/test_filters.py`` compare with :mod:`scipy.fft` and librosa
bit for bit). Where the extension cannot be loaded -- scipy 1.18 computes its FFTs with ducc0
instead of pocketfft -- :mod:`scipy.fft` is imported and called instead (the same values as librosa
then, only the import is paid).
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["rfft", "irfft", "dct", "next_fast_len"]

_NAME = "scipy.fft._pocketfft.pypocketfft"
_NORM = {None: 0, "backward": 0, "ortho": 1, "forward": 2}  # scipy.fft's _NORM_MAP


@functools.cache
def _extension() -> Any:
    """Load scipy's pocketfft extension without its packages; ``None`` where that fails."""
    if _NAME in sys.modules:
        return sys.modules[_NAME]
    try:
        spec = importlib.util.find_spec("scipy")  # finds the package without importing it
        if spec is None or not spec.submodule_search_locations:
            return None
        folder = Path(next(iter(spec.submodule_search_locations))) / "fft" / "_pocketfft"
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = folder / f"pypocketfft{suffix}"
            if path.is_file():
                break
        else:
            return None
        loader = importlib.machinery.ExtensionFileLoader(_NAME, str(path))
        spec = importlib.util.spec_from_file_location(_NAME, path, loader=loader)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        loader.exec_module(module)
        if not all(hasattr(module, name) for name in ("r2c", "c2r", "dct", "good_size")):
            return None
    except Exception:  # noqa: BLE001 - scipy.fft itself then serves every call
        return None
    sys.modules.setdefault(_NAME, module)
    return sys.modules[_NAME]


def _scipy_fft() -> Any:
    import scipy.fft

    return scipy.fft


def _asfarray(x: Any) -> np.ndarray:
    """``scipy.fft._pocketfft.helper._asfarray``: a float/complex array, native byte order, aligned."""
    x = np.asarray(x)
    if x.dtype == np.float16:
        return np.asarray(x, np.float32)
    if x.dtype.kind not in "fc":
        return np.asarray(x, np.float64)
    return np.array(x, dtype=x.dtype.newbyteorder("="), copy=True if not x.flags.aligned else None)


def _fix_shape(x: np.ndarray, n: int, axis: int) -> np.ndarray:
    """``scipy.fft``'s ``_fix_shape_1d``: ``x`` cut to, or zero-padded to, ``n`` along ``axis``."""
    if n < 1:
        raise ValueError(f"invalid number of data points ({n}) specified")
    index = [slice(None)] * x.ndim
    index[axis] = slice(0, min(n, x.shape[axis]))
    if x.shape[axis] >= n:
        return x[tuple(index)]
    shape = list(x.shape)
    shape[axis] = n
    padded = np.zeros(shape, x.dtype)
    padded[tuple(index)] = x[tuple(index)]
    return padded


def next_fast_len(target: int, real: bool = False) -> int:
    """:func:`scipy.fft.next_fast_len`."""
    module = _extension()
    return module.good_size(target, real) if module is not None else _scipy_fft().next_fast_len(target, real)


def rfft(x: Any, n: int, axis: int = -1) -> np.ndarray:
    """``scipy.fft.rfft(x, n=n, axis=axis)`` of real ``x``."""
    module = _extension()
    if module is None:
        return _scipy_fft().rfft(x, n=n, axis=axis)
    data = _asfarray(x)
    if not np.isrealobj(data):
        raise TypeError("x must be a real sequence")
    return module.r2c(_fix_shape(data, n, axis), (axis,), True, _NORM[None], None, 1)


def irfft(x: Any, n: int, axis: int = -1) -> np.ndarray:
    """``scipy.fft.irfft(x, n=n, axis=axis)``."""
    module = _extension()
    if module is None:
        return _scipy_fft().irfft(x, n=n, axis=axis)
    data = _asfarray(x)
    if np.isrealobj(data):
        data = data + 0.0j
    return module.c2r(_fix_shape(data, n // 2 + 1, axis), (axis,), n, False, 2 - _NORM[None], None, 1)


def dct(x: Any, type: int = 2, axis: int = -1, norm: str | None = None) -> np.ndarray:  # noqa: A002
    """``scipy.fft.dct(x, type=type, axis=axis, norm=norm)`` of real ``x``."""
    module = _extension()
    data = _asfarray(x)
    if module is None or not np.isrealobj(data) or norm not in _NORM:
        return _scipy_fft().dct(x, type=type, axis=axis, norm=norm)
    if data.shape[axis] < 1:
        raise ValueError(f"invalid number of data points ({data.shape[axis]}) specified")
    # scipy.fft transforms a copy it made in place (its _datacopied), else into a new array
    foreign = not isinstance(x, np.ndarray) and hasattr(x, "__array__")
    copied = data is not x and not foreign and data.base is None
    return module.dct(data, type, (axis,), _NORM[norm], data if copied else None, 1, None)
