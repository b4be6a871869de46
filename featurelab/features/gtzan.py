"""The fast GTZAN feature engine.

Computes the 57 columns of the published GTZAN tables (see :mod:`featurelab.features.reference` for
the definitions) from **one** STFT per signal: the magnitude spectrogram feeds centroid, bandwidth and
rolloff; its square feeds chroma and the mel spectrogram; the log-mel spectrogram feeds both the MFCCs
and the onset envelope behind the tempo; the complex STFT feeds harmonic/percussive separation, whose
median filters use a sliding-window median (:mod:`featurelab.features.hpss`). The results equal the
one-call-per-feature reference up to floating-point rounding (see ``tests/test_gtzan_reference.py``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ._signal import quiet_edge_warnings
from .hpss import hpss_spectrogram

__all__ = ["gtzan_features", "gtzan_features_batch", "N_FFT", "HOP_LENGTH"]

N_FFT = 2048
HOP_LENGTH = 512
PAD_MODE = "reflect"
ROLL_PERCENT = 0.85
N_MFCC = 20
HPSS_KERNEL = 31


def _moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance over the last axis (frames), as np.mean / np.var compute them."""
    return np.mean(x, axis=-1), np.var(x, axis=-1)


def gtzan_features(y: np.ndarray, sr: int) -> dict[str, float]:
    """Compute the 57 GTZAN feature columns of one signal.

    Parameters
    ----------
    y : np.ndarray [shape=(n,), dtype=float32]
        Mono signal, finite, at least one sample.
    sr : int > 0
        Sampling rate.

    Returns
    -------
    dict
        ``{column: value}`` in the order of the published ``features_30_sec.csv``.

    Examples
    --------
    >>> import numpy as np
    >>> sr = 22050
    >>> y = np.sin(2 * np.pi * 440 * np.arange(sr) / sr).astype(np.float32)
    >>> row = gtzan_features(y, sr)
    >>> round(row["spectral_centroid_mean"]) in range(400, 500)
    True
    """
    return gtzan_features_batch(np.asarray(y)[np.newaxis, :], sr)[0]


def gtzan_features_batch(Y: np.ndarray, sr: int) -> list[Mapping[str, float]]:
    """Compute the GTZAN columns for each row of a 2-D array of equal-length signals.

    Spectral work (STFT, median filters, masks, inverse STFTs, mel/MFCC) runs on the whole batch at
    once; only chroma tuning and tempo, which librosa estimates per signal, are done per row.

    Parameters
    ----------
    Y : np.ndarray [shape=(k, n)]
        ``k`` mono signals of ``n`` samples each.
    sr : int > 0
        Sampling rate.

    Returns
    -------
    list of dict
        One ``{column: value}`` mapping per row of ``Y``.
    """
    Y = np.ascontiguousarray(Y, dtype=np.float32)
    if Y.ndim != 2:
        raise ValueError(f"Y must be a 2-D array of signals. Got shape {Y.shape} instead.")
    with quiet_edge_warnings():
        return _batch(Y, sr)


def _batch(Y: np.ndarray, sr: int) -> list[Mapping[str, float]]:
    import librosa

    k, n = Y.shape
    D = librosa.stft(Y, n_fft=N_FFT, hop_length=HOP_LENGTH, pad_mode=PAD_MODE)  # (k, f, t)
    S = np.abs(D)
    power = S**2

    cols: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    # Chroma: librosa estimates the tuning from each signal's own spectrogram.
    chroma = np.stack(
        [librosa.feature.chroma_stft(S=power[i], sr=sr, n_fft=N_FFT) for i in range(k)]
    )
    cols["chroma_stft"] = _moments(chroma.reshape(k, -1))
    cols["rms"] = _moments(
        librosa.feature.rms(y=Y, frame_length=N_FFT, hop_length=HOP_LENGTH, pad_mode=PAD_MODE)[:, 0]
    )
    cols["spectral_centroid"] = _moments(
        librosa.feature.spectral_centroid(S=S, sr=sr, n_fft=N_FFT, hop_length=HOP_LENGTH)[:, 0]
    )
    cols["spectral_bandwidth"] = _moments(
        librosa.feature.spectral_bandwidth(S=S, sr=sr, n_fft=N_FFT, hop_length=HOP_LENGTH)[:, 0]
    )
    cols["rolloff"] = _moments(
        librosa.feature.spectral_rolloff(
            S=S, sr=sr, n_fft=N_FFT, hop_length=HOP_LENGTH, roll_percent=ROLL_PERCENT
        )[:, 0]
    )
    cols["zero_crossing_rate"] = _moments(
        librosa.feature.zero_crossing_rate(Y, frame_length=N_FFT, hop_length=HOP_LENGTH)[:, 0]
    )

    D_harm, D_perc = hpss_spectrogram(D, kernel_size=HPSS_KERNEL)
    waves = librosa.istft(
        np.stack([D_harm, D_perc]), hop_length=HOP_LENGTH, n_fft=N_FFT, length=n, dtype=Y.dtype
    )  # (2, k, n)
    del D, D_harm, D_perc
    cols["harmony"] = _moments(waves[0])
    cols["perceptr"] = _moments(waves[1])
    del waves

    mel = librosa.feature.melspectrogram(S=power, sr=sr, n_fft=N_FFT, hop_length=HOP_LENGTH)
    # power_to_db clips at (max - 80 dB) of *each* signal: never across the batch.
    log_mel = np.stack([librosa.power_to_db(m) for m in mel])
    del S, power, mel
    tempo = np.empty(k)
    for i in range(k):
        onset_env = librosa.onset.onset_strength(
            S=log_mel[i], sr=sr, hop_length=HOP_LENGTH, aggregate=np.median
        )
        # beat_track's tempo without its (unused) beat-tracking dynamic programme.
        tempo[i] = (
            float(librosa.feature.tempo(onset_envelope=onset_env, sr=sr, hop_length=HOP_LENGTH)[0])
            if onset_env.any()
            else 0.0
        )
    mfcc = librosa.feature.mfcc(S=log_mel, n_mfcc=N_MFCC)  # (k, 20, t)
    mfcc_mean, mfcc_var = _moments(mfcc)

    rows: list[Mapping[str, float]] = []
    for i in range(k):
        row: dict[str, float] = {}
        for name, (mean, var) in cols.items():
            row[f"{name}_mean"] = float(mean[i])
            row[f"{name}_var"] = float(var[i])
        row["tempo"] = float(tempo[i])
        for j in range(N_MFCC):
            row[f"mfcc{j + 1}_mean"] = float(mfcc_mean[i, j])
            row[f"mfcc{j + 1}_var"] = float(mfcc_var[i, j])
        rows.append(row)
    return rows
