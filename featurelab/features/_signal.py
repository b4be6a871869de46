"""Validation of the ``(y, sr)`` pair that every feature-set function receives."""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from ..exceptions import ParameterError

__all__ = ["check_positive_int", "check_signal", "quiet_edge_warnings"]


def check_signal(y: np.ndarray, sr: int) -> tuple[np.ndarray, int]:
    """Check a mono signal and its sampling rate at a feature set's public boundary.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio signal, at least one sample, finite floating-point values.
    sr : int > 0
        Sampling rate in Hz.

    Returns
    -------
    y : np.ndarray [shape=(n,)]
        The same signal (not copied).
    sr : int
        The sampling rate as a Python ``int``.

    Raises
    ------
    ParameterError
        If ``y`` is not a non-empty 1-D floating-point array of finite values, or ``sr`` is not a
        positive integer.
    """
    if not isinstance(y, np.ndarray) or y.ndim != 1:
        shape = getattr(y, "shape", type(y).__name__)
        raise ParameterError(f"y must be a 1-D numpy array (mono signal). Got {shape} instead.")
    if not np.issubdtype(y.dtype, np.floating):
        raise ParameterError(f"y must hold floating-point samples. Got dtype {y.dtype} instead.")
    if y.size == 0:
        raise ParameterError("y must contain at least one sample. Got an empty array instead.")
    if not np.isfinite(y).all():
        raise ParameterError("y must contain only finite values. Got NaN or infinite samples.")
    if isinstance(sr, bool) or not isinstance(sr, numbers.Integral) or sr <= 0:
        raise ParameterError(f"sr must be a positive integer. Got {sr!r} instead.")
    return y, int(sr)


def check_positive_int(name: str, value: object) -> int:
    """Return ``value`` as an ``int`` if it is a positive integer (not a bool).

    Raises
    ------
    ParameterError
        "NAME must be a positive integer. Got VALUE instead."
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ParameterError(f"{name} must be a positive integer. Got {value!r} instead.")
    return int(value)


@contextmanager
def quiet_edge_warnings() -> Iterator[None]:
    """Silence librosa's two warnings about documented edge cases, within this block only.

    Signals shorter than ``n_fft`` are zero-padded by the STFT ("n_fft=... is too large"), and silent
    signals have no pitch to estimate a chroma tuning from ("Trying to estimate tuning from empty
    frequency set"; a tuning of 0 is used). Both give finite, documented values.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"n_fft=\d+ is too large", category=UserWarning)
        warnings.filterwarnings(
            "ignore", message="Trying to estimate tuning from empty", category=UserWarning
        )
        yield
