"""The straightforward GTZAN feature computation: one librosa call per feature.

This is how the studies compute the published table, and it is kept here **only as the test oracle**
(and the baseline of ``bench/extract_bench.py``): every column of the fast engine in
:mod:`featurelab.features.gtzan` is checked against it. Each feature recomputes its own STFT.

Definitions (those of the published ``features_30_sec.csv``): librosa defaults -- n_fft 2048, hop 512,
centred frames with ``pad_mode="reflect"`` (librosa's default before 0.10) -- rolloff at 0.85,
harmony/perceptr the mean and variance of the waveforms from :func:`librosa.effects.hpss`, tempo from
:func:`librosa.beat.beat_track` (onset envelope aggregated with the median, as ``beat_track`` does),
20 MFCCs; ``*_mean``/``*_var`` are :func:`numpy.mean`/:func:`numpy.var` over frames.
"""

from __future__ import annotations

import numpy as np

from ._signal import quiet_edge_warnings

__all__ = ["reference_gtzan_features"]


def _mv(name: str, x: np.ndarray, out: dict[str, float]) -> None:
    out[f"{name}_mean"] = float(np.mean(x))
    out[f"{name}_var"] = float(np.var(x))


def reference_gtzan_features(y: np.ndarray, sr: int) -> dict[str, float]:
    """Compute the 57 GTZAN columns with one separate librosa call per feature.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono signal.
    sr : int
        Sampling rate.

    Returns
    -------
    dict
        ``{column: value}`` in the published column order.
    """
    with quiet_edge_warnings():
        return _reference(y, sr)


def _reference(y: np.ndarray, sr: int) -> dict[str, float]:
    import librosa

    pad = "reflect"
    out: dict[str, float] = {}
    _mv("chroma_stft", librosa.feature.chroma_stft(y=y, sr=sr, pad_mode=pad), out)
    _mv("rms", librosa.feature.rms(y=y, pad_mode=pad), out)
    _mv("spectral_centroid", librosa.feature.spectral_centroid(y=y, sr=sr, pad_mode=pad), out)
    _mv("spectral_bandwidth", librosa.feature.spectral_bandwidth(y=y, sr=sr, pad_mode=pad), out)
    _mv(
        "rolloff",
        librosa.feature.spectral_rolloff(y=y, sr=sr, roll_percent=0.85, pad_mode=pad),
        out,
    )
    _mv("zero_crossing_rate", librosa.feature.zero_crossing_rate(y), out)
    harmonic, percussive = librosa.effects.hpss(y, pad_mode=pad)
    _mv("harmony", harmonic, out)
    _mv("perceptr", percussive, out)
    onset_env = librosa.onset.onset_strength(y=y, sr=sr, aggregate=np.median, pad_mode=pad)
    tempo, _ = librosa.beat.beat_track(onset_envelope=onset_env, sr=sr)
    out["tempo"] = float(np.atleast_1d(tempo)[0])
    mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20, pad_mode=pad)
    for i, row in enumerate(mfcc, start=1):
        _mv(f"mfcc{i}", row, out)
    return out
