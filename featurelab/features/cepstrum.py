"""Decibel scaling and mel-frequency cepstral coefficients without importing librosa.

:func:`power_to_db` and :func:`mfcc` repeat :func:`librosa.power_to_db` and
:func:`librosa.feature.mfcc` (librosa 0.11, ``S=`` given) operation by operation, in the same order
and the same dtypes, so their arrays are equal bit for bit (``np.array_equal``, same dtype and
memory layout; tested in ``tests/test_rhythm.py``). Only numpy and scipy's pocketfft extension
(:mod:`._pocketfft`) are imported: ``import librosa`` costs seconds (scipy.signal, scipy.stats,
numba), these cost milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..exceptions import ParameterError
from . import _pocketfft
from ._signal import check_positive_int

__all__ = ["power_to_db", "mfcc"]


def power_to_db(
    S: np.ndarray,
    *,
    ref: float | Callable[[np.ndarray], float] = 1.0,
    amin: float = 1e-10,
    top_db: float | None = 80.0,
) -> np.ndarray:
    """Convert a power spectrogram to decibels, as :func:`librosa.power_to_db`.

    ``10 * log10(max(amin, S)) - 10 * log10(max(amin, |ref|))``, then floored at ``top_db`` below
    its maximum. Float32 input stays float32 (the Python-float constants do not promote it).

    Parameters
    ----------
    S : np.ndarray [shape=(..., d, t)], real floating point
        Power spectrogram (squared magnitudes).
    ref : float or callable
        Reference power: a number (its absolute value is used) or a function of ``S`` returning
        one, e.g. ``np.max``.
    amin : float > 0
        Smallest power considered (avoids ``log10(0)``).
    top_db : float >= 0 or None
        Floor the result at ``max - top_db``; ``None`` keeps every value.

    Returns
    -------
    S_db : np.ndarray [shape=(..., d, t)]
        ``S`` in decibels relative to ``ref``, dtype of ``S``.

    Raises
    ------
    ParameterError
        If ``amin`` is not positive, ``top_db`` is negative, or ``S`` is complex (pass
        ``np.abs(D) ** 2``; librosa warns and takes the magnitude instead).

    Examples
    --------
    >>> import numpy as np
    >>> power_to_db(np.array([1.0, 10.0, 1e-12], dtype=np.float32))  # floored at 10 - 80 dB
    array([  0.,  10., -70.], dtype=float32)
    """
    S = np.asarray(S)
    if amin <= 0:
        raise ParameterError(f"amin must be strictly positive. Got {amin!r} instead.")
    if np.issubdtype(S.dtype, np.complexfloating):
        raise ParameterError("S must be a real power spectrogram. Got complex values; pass np.abs(D) ** 2.")
    magnitude = S
    ref_value = ref(magnitude) if callable(ref) else np.abs(ref)
    log_spec: np.ndarray = 10.0 * np.log10(np.maximum(amin, magnitude))
    log_spec -= 10.0 * np.log10(np.maximum(amin, ref_value))
    if top_db is not None:
        if top_db < 0:
            raise ParameterError(f"top_db must be non-negative or None. Got {top_db!r} instead.")
        log_spec = np.maximum(log_spec, log_spec.max() - top_db)
    return log_spec


def mfcc(S: np.ndarray, *, n_mfcc: int = 20, dct_type: int = 2, norm: str | None = "ortho") -> np.ndarray:
    """Mel-frequency cepstral coefficients of a log-power mel spectrogram, as librosa's.

    Equal to ``librosa.feature.mfcc(S=S, n_mfcc=n_mfcc, dct_type=dct_type, norm=norm, lifter=0)``:
    the DCT of every frame along the mel axis (:func:`scipy.fft.dct`, which librosa calls), cut to
    the first ``n_mfcc`` coefficients. As in librosa, the result is a view of the full DCT.

    Parameters
    ----------
    S : np.ndarray [shape=(..., n_mels, t)], real floating point
        Log-power mel spectrogram, e.g. from :func:`power_to_db`.
    n_mfcc : int > 0
        Number of coefficients kept.
    dct_type : {1, 2, 3, 4}
        DCT type (2 is librosa's default).
    norm : {"ortho", None, "backward", "forward"}
        DCT normalization (librosa's default is orthonormal).

    Returns
    -------
    M : np.ndarray [shape=(..., n_mfcc, t)]
        MFCC sequence, dtype of ``S`` (float32 in, float32 out).

    Raises
    ------
    ParameterError
        If ``n_mfcc`` is not a positive integer.

    Examples
    --------
    >>> import numpy as np
    >>> M = mfcc(np.ones((4, 3)), n_mfcc=2)  # a flat spectrum: only the 0th coefficient
    >>> M.shape, np.allclose(M, [[2.0], [0.0]])
    ((2, 3), True)
    """
    n_mfcc = check_positive_int("n_mfcc", n_mfcc)
    return _pocketfft.dct(S, axis=-2, type=dct_type, norm=norm)[..., :n_mfcc, :]
