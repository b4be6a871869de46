"""The ``pyaudioanalysis`` feature set: pyAudioAnalysis's mid-term statistics, one row per signal.

pyAudioAnalysis (0.3.14) computes 34 short-term features per 50 ms frame (zero-crossing rate,
energy, energy entropy, spectral centroid/spread/entropy/flux/rolloff, 13 MFCCs, 12 chroma bins and
their standard deviation) plus their frame-to-frame deltas: 68 features. Mid-term windows (1 s, half
overlapping) summarise each of them by its mean and standard deviation (136 values); the file-level
row is the mean of those mid-term vectors over the signal, as pyAudioAnalysis's own
``MidTermFeatures.directory_feature_extraction`` does (without its beat estimate).

Columns are pyAudioAnalysis's ``mid_feature_names`` made into identifiers and prefixed with
``pyaa_`` (``zcr_mean`` -> ``pyaa_zcr_mean``, ``delta zcr_mean`` -> ``pyaa_delta_zcr_mean``), so
that they never collide with the GTZAN columns (both have a ``spectral_centroid_mean``).

Input scale
-----------
pyAudioAnalysis expects the integer-scale samples of a 16-bit WAV: it divides by ``2**15``, removes
the DC offset of the *whole* signal and divides by its peak (``dc_normalize``). featurelab decodes
to float32 in [-1, 1], so the signal is passed as ``y * 2**15`` (float64). The result is then what
pyAudioAnalysis computes on the same samples read from a 16-bit WAV file, and all features are
invariant to the input gain (energy is relative to the signal's own peak: a sine has energy 0.5).

pyAudioAnalysis is imported lazily (it pulls matplotlib, eyed3, pydub, hmmlearn, plotly and
scikit-learn at import time and emits deprecation warnings).
"""

from __future__ import annotations

import numbers
import sys
import warnings
from typing import Any

import numpy as np

from ..exceptions import FeaturelabError, ParameterError
from ._signal import check_signal

__all__ = ["pyaudioanalysis_features", "pyaudioanalysis_columns"]

_N_MFCC = 13
_N_CHROMA = 12
_SHORT_TERM_NAMES: tuple[str, ...] = (
    "zcr",
    "energy",
    "energy_entropy",
    "spectral_centroid",
    "spectral_spread",
    "spectral_entropy",
    "spectral_flux",
    "spectral_rolloff",
    *(f"mfcc_{i}" for i in range(1, _N_MFCC + 1)),
    *(f"chroma_{i}" for i in range(1, _N_CHROMA + 1)),
    "chroma_std",
)
#: pyAudioAnalysis 0.3.14's ``mid_feature_names``, in its order (all means, then all stds).
_PYAA_MID_NAMES: tuple[str, ...] = tuple(
    f"{name}_{stat}"
    for stat in ("mean", "std")
    for name in (*_SHORT_TERM_NAMES, *(f"delta {n}" for n in _SHORT_TERM_NAMES))
)
_PREFIX = "pyaa_"


def _column_name(pyaa_name: str) -> str:
    return _PREFIX + pyaa_name.lower().replace(" ", "_")


def pyaudioanalysis_columns() -> list[str]:
    """Return the 136 column names of the ``pyaudioanalysis`` set, in order, without importing it.

    Returns
    -------
    list of str
        ``pyaa_zcr_mean, pyaa_energy_mean, ..., pyaa_delta_chroma_std_std``.
    """
    return [_column_name(name) for name in _PYAA_MID_NAMES]


def _aifc_stand_in() -> Any:
    """Return a stand-in for the ``aifc`` module, removed from the standard library in Python 3.13.

    pyAudioAnalysis imports ``aifc`` at module level only to read AIFF files in its own file
    readers, which featurelab never calls (featurelab decodes audio itself).
    """
    import types

    module = types.ModuleType("aifc", "Stand-in for the removed aifc module (featurelab).")

    def open(*args: Any, **kwargs: Any) -> Any:  # noqa: A001 - the module's own name
        raise OSError("aifc is not available on this Python; decode AIFF with featurelab.load_audio")

    module.open = open  # type: ignore[attr-defined]
    module.Error = OSError  # type: ignore[attr-defined]
    return module


def _import_pyaudioanalysis() -> tuple[Any, Any]:
    """Import pyAudioAnalysis quietly and undo what its import does to the interpreter.

    It inserts a ``sys.path`` entry (undone here) and imports ``aifc``, which Python 3.13 removed:
    a stand-in is placed in ``sys.modules`` for the duration of this import only.
    """
    saved_path = list(sys.path)
    had_aifc, saved_aifc = "aifc" in sys.modules, sys.modules.get("aifc")
    stand_in = None
    try:
        with warnings.catch_warnings():
            # aifc/audioop/scipy.fftpack deprecations and pydub's "Couldn't find ffmpeg".
            warnings.simplefilter("ignore")
            try:
                import aifc  # noqa: F401 - in the standard library up to Python 3.12
            except ImportError:
                stand_in = sys.modules["aifc"] = _aifc_stand_in()
            from pyAudioAnalysis import MidTermFeatures, ShortTermFeatures
    except ImportError as exc:
        hint = (
            " (pydub needs the audioop module, removed in Python 3.13: pip install audioop-lts)"
            if getattr(exc, "name", None) in ("audioop", "pyaudioop")
            else ""
        )
        raise FeaturelabError(
            f"The pyaudioanalysis feature set could not import pyAudioAnalysis: {exc}{hint}."
        ) from exc
    finally:
        # MidTermFeatures does sys.path.insert(0, <site-packages>) when first imported.
        sys.path[:] = saved_path
        if stand_in is not None and sys.modules.get("aifc") is stand_in:
            if had_aifc:
                sys.modules["aifc"] = saved_aifc  # type: ignore[assignment]
            else:
                del sys.modules["aifc"]
    return MidTermFeatures, ShortTermFeatures


def _seconds(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ParameterError(f"{name} must be a positive number of seconds. Got {value!r} instead.")
    return float(value)


def pyaudioanalysis_features(
    y: np.ndarray,
    sr: int,
    *,
    mid_window: float | None = None,
    mid_step: float | None = None,
    short_window: float = 0.050,
    short_step: float = 0.025,
) -> dict[str, float]:
    """Compute pyAudioAnalysis's mid-term feature statistics, averaged over the whole signal.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono float signal in [-1, 1] (as decoded by :func:`featurelab.io.load_audio`). It is passed
        to pyAudioAnalysis as ``y * 2**15``, the integer scale it expects; pyAudioAnalysis then
        removes the DC offset and peak-normalises the whole signal, so the result does not depend on
        the gain.
    sr : int > 0
        Sampling rate in Hz.
    mid_window : float > 0 or None
        Mid-term window in seconds. ``None``: ``min(1.0, n / sr)``.
    mid_step : float > 0 or None
        Mid-term step in seconds. ``None``: half of ``mid_window``, but at least ``short_step``.
    short_window : float > 0
        Short-term frame length in seconds (pyAudioAnalysis's usual 50 ms).
    short_step : float > 0
        Short-term hop in seconds.

    Returns
    -------
    dict of str to float
        136 finite values keyed by :func:`pyaudioanalysis_columns`: for each of the 68 short-term
        features (``zcr``, ``energy``, ..., ``chroma_std`` and ``delta_*``), the mean over the
        mid-term windows of its per-window mean (``pyaa_<feature>_mean``) and standard deviation
        (``pyaa_<feature>_std``). Silence (or a constant signal) gives finite values: zero for the
        time, spectral and chroma features, a constant ``log10(eps)`` spectrum for the MFCCs.

    Raises
    ------
    ParameterError
        If the signal is shorter than one short-term window, a window or step is not positive, the
        mid-term window/step is shorter than the short-term one, or the short-term window is too
        short for pyAudioAnalysis's chroma mapping at this sampling rate.
    FeaturelabError
        If pyAudioAnalysis cannot be imported, or returns unexpected names or non-finite values.

    Notes
    -----
    The first frame's deltas are zero (pyAudioAnalysis's convention) and the last mid-term windows
    are truncated at the end of the signal; both are included in the averages, as pyAudioAnalysis
    does. Frames are taken with no padding: a signal of ``n`` samples gives
    ``1 + (n - W) // H`` frames for a window of ``W`` and a hop of ``H`` samples.

    Examples
    --------
    >>> import numpy as np
    >>> sr = 22050
    >>> y = 0.3 * np.sin(2 * np.pi * 441 * np.arange(2 * sr) / sr).astype(np.float32)
    >>> feats = pyaudioanalysis_features(y, sr)
    >>> len(feats), round(feats["pyaa_zcr_mean"], 3), round(feats["pyaa_energy_mean"], 2)
    (136, 0.04, 0.5)
    """
    y, sr = check_signal(y, sr)
    short_window = _seconds("short_window", short_window)
    short_step = _seconds("short_step", short_step)
    win, hop = round(short_window * sr), round(short_step * sr)
    if win < 2 or hop < 1:
        raise ParameterError(
            f"short_window and short_step must span at least 2 and 1 samples at sr={sr}. Got "
            f"{win} and {hop} samples instead."
        )
    n = y.shape[0]
    if n < win:
        raise ParameterError(
            f"signal too short for pyAudioAnalysis short-term window ({n} samples < {win}). Use a "
            f"signal of at least {win / sr:.3f} s or a shorter short_window."
        )
    if mid_window is None:
        mid_win = min(round(sr * 1.0), n)
    else:
        mid_win = round(_seconds("mid_window", mid_window) * sr)
    if mid_step is None:
        mid_hop = max(round(mid_win / 2), hop)
    else:
        mid_hop = round(_seconds("mid_step", mid_step) * sr)
    # pyAudioAnalysis counts mid-term windows in short-term frames: a mid-term window shorter than a
    # frame would average nothing (NaN) and a mid-term step shorter than a hop would never advance.
    if mid_win < win:
        raise ParameterError(
            f"mid_window must be at least short_window ({win} samples). Got {mid_win} samples instead."
        )
    if mid_hop < hop:
        raise ParameterError(
            f"mid_step must be at least short_step ({hop} samples). Got {mid_hop} samples instead."
        )

    mid_term, short_term = _import_pyaudioanalysis()
    num_chroma, _ = short_term.chroma_features_init(win // 2, sr)
    if num_chroma.max() >= num_chroma.shape[0]:
        # pyAudioAnalysis's chroma mapping fails (shape mismatch) on frames with fewer FFT bins
        # than chroma indices.
        raise ParameterError(
            f"short_window must span more than {2 * (int(num_chroma.max()) + 1)} samples at "
            f"sr={sr} for pyAudioAnalysis's chroma features. Got {win} samples instead."
        )

    signal = y.astype(np.float64) * 2.0**15
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        mid_features, _, names = mid_term.mid_feature_extraction(signal, sr, mid_win, mid_hop, win, hop)
    if tuple(names) != _PYAA_MID_NAMES:
        raise FeaturelabError(
            "pyAudioAnalysis returned unexpected feature names; featurelab's pyaudioanalysis set "
            "supports pyAudioAnalysis 0.3.14."
        )
    # mid_features: (136, n_mid_windows); pyAudioAnalysis maps NaN to 0 and +-inf to +-max float.
    values = np.asarray(mid_features, dtype=np.float64).mean(axis=1)
    bad = ~np.isfinite(values) | (np.abs(values) > 1e300)
    if bad.any():
        names_bad = ", ".join(np.asarray(pyaudioanalysis_columns())[bad][:5])
        raise FeaturelabError(f"pyAudioAnalysis returned non-finite values for {names_bad}.")
    return dict(zip(pyaudioanalysis_columns(), values.tolist(), strict=True))
