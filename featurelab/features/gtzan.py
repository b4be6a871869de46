"""The fast GTZAN feature engine.

Computes the 57 columns of the published GTZAN tables (see :mod:`featurelab.features.reference` for
the definitions) from **one** STFT per signal: the magnitude spectrogram feeds centroid, bandwidth and
rolloff; its square feeds chroma and the mel spectrogram; the log-mel spectrogram feeds both the MFCCs
and the onset envelope behind the tempo; the complex STFT feeds harmonic/percussive separation, whose
median filters use a sliding-window median (:mod:`featurelab.features.hpss`). Where librosa builds
full-size temporaries around a small computation (the HPSS soft mask times the phase, the rolloff,
the spectral peaks behind the tuning estimate, the zero-crossing count), small compiled kernels do
the same arithmetic in one pass (:mod:`~featurelab.features.hpss`, :mod:`~featurelab.features.spectral`,
:mod:`~featurelab.features.pitch`, :mod:`~featurelab.features.temporal`,
:mod:`~featurelab.features.inverse`; tested equal to librosa in ``tests/test_kernels.py``).
The engine never imports librosa (its import costs seconds): what it takes from librosa -- STFT,
RMS, chroma, tuning, mel filter bank, dB scaling, onset strength, MFCC, tempogram and tempo -- are
numpy functions performing librosa's operations in the same order and dtypes
(:mod:`~featurelab.features.frames`, :mod:`~featurelab.features.filters`,
:mod:`~featurelab.features.chroma`, :mod:`~featurelab.features.cepstrum`,
:mod:`~featurelab.features.rhythm`; equal bit for bit, ``tests/test_filters.py``,
``tests/test_rhythm.py``).

Memory is bounded by the block, not by the signal: frames are processed in blocks of
``block_frames`` with just enough context on each side (15 frames for the harmonic median filter,
3 more for the overlap-add of the inverse STFT) that every per-frame value, and every sample of the
harmonic/percussive waveforms, equals the whole-signal computation exactly. Only small per-frame
arrays (mel bands, frame statistics) and the two separated waveforms are kept for the whole signal;
:func:`gtzan_features_streamed` (long files, decoded while they are read) keeps not even the
waveforms, only their running statistics, so its memory does not grow with the samples.
The three global steps -- the chroma tuning estimate, the 80 dB floor of the log-mel spectrogram and
the tempo -- run on those. Results equal the one-call-per-feature reference up to float32 rounding
(see ``tests/test_gtzan_reference.py``). One shortcut is not librosa's: the percussive waveform is the
signal minus the harmonic one (the soft masks sum to one and the STFT pair reconstructs the signal),
which saves one inverse STFT and agrees with librosa's separately inverted waveform to ~1e-7 of full
scale per sample.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .cepstrum import mfcc as cepstrum_mfcc
from .cepstrum import power_to_db
from .chroma import chroma_stft, pitch_tuning
from .filters import fft_frequencies
from .frames import rms, stft
from .hpss import harmonic_stft, median_filter_1d
from .inverse import istft
from .pitch import piptrack_peaks
from .rhythm import onset_strength, tempo, tempogram, time_to_frames
from .spectral import centroid_bandwidth, melspectrogram, rolloff
from .temporal import zero_crossing_rate

__all__ = ["gtzan_features", "gtzan_features_batch", "gtzan_features_streamed", "N_FFT", "HOP_LENGTH"]

N_FFT = 2048
HOP_LENGTH = 512
PAD_MODE = "reflect"
ROLL_PERCENT = 0.85
N_MFCC = 20
HPSS_KERNEL = 31
#: Frames per block (~47 s at 22050 Hz): a 30 s track is one block.
BLOCK_FRAMES = 2048
# Context frames on each side of a block: the harmonic median (kernel // 2) plus the frames that
# overlap a sample in the inverse STFT (n_fft / hop - 1).
_ISTFT_CONTEXT = N_FFT // HOP_LENGTH - 1
_CONTEXT = HPSS_KERNEL // 2 + _ISTFT_CONTEXT
#: Keep the power spectrogram for the second (chroma) pass when the signal has at most this many
#: frames (~3 min); longer signals recompute their STFT instead of holding it.
_KEEP_POWER_FRAMES = 8192


def gtzan_features(y: np.ndarray, sr: int, *, block_frames: int = BLOCK_FRAMES) -> dict[str, float]:
    """Compute the 57 GTZAN feature columns of one signal.

    Parameters
    ----------
    y : np.ndarray [shape=(n,), dtype=float32]
        Mono signal, finite, at least one sample.
    sr : int > 0
        Sampling rate.
    block_frames : int > 0
        Frames per processing block; only memory use depends on it, never the result.

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
    return dict(gtzan_features_batch(np.asarray(y)[np.newaxis, :], sr, block_frames=block_frames)[0])


def gtzan_features_batch(
    Y: np.ndarray, sr: int, *, block_frames: int = BLOCK_FRAMES
) -> list[Mapping[str, float]]:
    """Compute the GTZAN columns for each row of a 2-D array of equal-length signals.

    Spectral work (STFT, median filters, masks, inverse STFTs, mel/MFCC) runs on the whole batch at
    once; the chroma tuning, the log-mel floor and the tempo, which librosa estimates per signal,
    are computed per row.

    Parameters
    ----------
    Y : np.ndarray [shape=(k, n)]
        ``k`` mono signals of ``n`` samples each.
    sr : int > 0
        Sampling rate.
    block_frames : int > 0
        Frames per processing block.

    Returns
    -------
    list of dict
        One ``{column: value}`` mapping per row of ``Y``.
    """
    Y = np.ascontiguousarray(Y, dtype=np.float32)
    if Y.ndim != 2 or Y.shape[1] == 0:
        raise ValueError(f"Y must be a 2-D array of non-empty signals. Got shape {Y.shape} instead.")
    if block_frames < 1:
        raise ValueError(f"block_frames must be a positive integer. Got {block_frames} instead.")
    return _batch(Y, int(sr), int(block_frames))


def gtzan_features_streamed(signal: Any, sr: int, *, block_frames: int = BLOCK_FRAMES) -> dict[str, float]:
    """Compute the 57 GTZAN columns of a signal that is decoded while it is read (a long file).

    Memory does not grow with the signal's samples, only with its frames (the small per-frame
    arrays): the harmonic and percussive waveforms are summarised block by block instead of being
    kept, and the tempogram is averaged block by block. Every per-frame value equals
    :func:`gtzan_features`'s; the means and variances of ``harmony`` and ``perceptr`` (and the
    tempogram average) are summed in float64 per block instead of NumPy's float32 pairwise sum over
    the whole signal, so they agree with :func:`gtzan_features` within float32 rounding.

    Parameters
    ----------
    signal : featurelab.io.StreamedSignal
        An object of shape ``(1, n)`` whose slices ``signal[:, lo:hi]`` are float32 arrays, read
        forward (a second pass starts again from the beginning).
    sr : int > 0
        Sampling rate.
    block_frames : int > 0
        Frames per processing block.

    Returns
    -------
    dict
        ``{column: value}`` in the order of the published ``features_30_sec.csv``.
    """
    if len(signal.shape) != 2 or signal.shape[0] != 1 or signal.shape[1] == 0:
        raise ValueError(f"signal must have shape (1, n), n > 0. Got {signal.shape} instead.")
    return dict(_batch(signal, int(sr), int(block_frames), streamed=True)[0])


class _MeanVar:
    """Mean and (population) variance of a sequence given in parts.

    Float64 sums per part, combined by Chan et al.'s pairwise update.
    """

    def __init__(self) -> None:
        self.count, self.mean, self.m2 = 0, 0.0, 0.0

    def add(self, values: np.ndarray) -> None:
        n = values.size
        if not n:
            return
        wide = values.astype(np.float64)
        mean = float(wide.mean())
        m2 = float(np.square(wide - mean).sum())
        total = self.count + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += m2 + delta * delta * self.count * n / total
        self.count = total

    def result(self) -> tuple[float, float]:
        return float(np.float32(self.mean)), float(np.float32(self.m2 / self.count))


def _padded_slice(Y: np.ndarray, start: int, stop: int, mode: str) -> np.ndarray:
    """``np.pad(Y, n_fft // 2, mode)[:, start:stop]`` without padding (copying) the whole signal."""
    n = Y.shape[-1]
    half = N_FFT // 2
    lo, hi = start - half, stop - half  # signal coordinates, possibly beyond either end
    if lo >= 0 and hi <= n:
        return Y[:, lo:hi]
    left, right = max(0, -lo), max(0, hi - n)
    ext_lo = 0 if left else lo
    ext_hi = n if right else hi
    if left:  # a reflection needs the samples 1..left beside the edge
        ext_hi = max(ext_hi, min(n, left + 1))
    if right:
        ext_lo = min(ext_lo, max(0, n - right - 1))
    piece = np.pad(Y[:, ext_lo:ext_hi], ((0, 0), (left, right)), mode=mode)
    origin = ext_lo - left
    return piece[:, lo - origin : hi - origin]


class _Blocks:
    """Frame blocks of a centred STFT, computed from the padded signal on demand."""

    def __init__(self, Y: np.ndarray, block_frames: int) -> None:
        self.Y = Y
        self.n_frames = 1 + Y.shape[-1] // HOP_LENGTH
        self.bounds = [
            (a, min(a + block_frames, self.n_frames)) for a in range(0, self.n_frames, block_frames)
        ]

    def samples(self, a: int, b: int, mode: str = PAD_MODE) -> np.ndarray:
        """Return the padded samples covered by frames ``[a, b)``.

        ``mode="reflect"`` is the padding of ``librosa.stft(center=True, pad_mode="reflect")`` and
        ``librosa.feature.rms``; ``"edge"`` that of ``librosa.feature.zero_crossing_rate``.
        """
        return _padded_slice(self.Y, a * HOP_LENGTH, (b - 1) * HOP_LENGTH + N_FFT, mode)

    def stft(self, a: int, b: int) -> np.ndarray:
        return stft(self.samples(a, b), n_fft=N_FFT, hop_length=HOP_LENGTH)


def _tuning(pitches: list[np.ndarray], mags: list[np.ndarray]) -> float:
    """librosa.estimate_tuning from the piptrack peaks of all blocks (order-independent steps)."""
    pitch = np.concatenate(pitches) if pitches else np.zeros(0, np.float32)
    mag = np.concatenate(mags) if mags else np.zeros(0, np.float32)
    threshold = np.median(mag) if pitch.size else 0.0
    return float(pitch_tuning(pitch[mag >= threshold], bins_per_octave=12))


def _tempo(onset_env: np.ndarray, sr: int, block_frames: int, *, averaged: bool = False) -> float:
    """``librosa.beat.beat_track``'s tempo, without its (unused) beat-tracking dynamic programme.

    The tempogram (8 s autocorrelation windows, one per frame) is built block by block, exactly as
    :func:`librosa.feature.tempogram` frames it, so its FFT buffers stay small for long signals.
    ``averaged``: only its average over frames is kept (summed per block in float64), not the
    whole tempogram (``8 s x frames`` float64 values; 280 MB for 40 minutes).
    """
    if not onset_env.any():
        return 0.0  # beat_track's answer for an envelope without onsets
    win = int(time_to_frames(8.0, sr=sr, hop_length=HOP_LENGTH).item())
    n = onset_env.shape[-1]
    padded = np.pad(onset_env, (win // 2, win // 2), mode="linear_ramp", end_values=[0, 0])
    tg = None
    for a in range(0, n, block_frames):
        b = min(n, a + block_frames)
        part = tempogram(
            onset_envelope=padded[a : b - 1 + win],
            sr=sr,
            hop_length=HOP_LENGTH,
            win_length=win,
            center=False,
        )
        if averaged:
            total = part.sum(axis=-1, dtype=np.float64) + (0.0 if tg is None else tg)
            tg = total
            continue
        if tg is None:
            tg = np.empty((win, n), dtype=part.dtype)
        tg[:, a:b] = part
    if averaged:
        assert tg is not None
        tg = (tg / n)[:, np.newaxis]  # librosa.feature.tempo averages over frames: done here
    return float(tempo(tg=tg, sr=sr, hop_length=HOP_LENGTH)[0])


def _onset_mfcc_in_place(mel: np.ndarray, sr: int, block_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Onset envelope and MFCCs of one mel spectrogram, which becomes its log-mel spectrogram.

    Equal to ``librosa.power_to_db`` (80 dB floor), ``librosa.onset.onset_strength(S=log_mel,
    aggregate=np.median)`` and ``librosa.feature.mfcc(S=log_mel)`` on the whole array -- each is
    elementwise or per frame apart from the global maximum of the floor -- but computed in blocks of
    frames (one frame of overlap for the onset differences), so that no full-size temporaries are
    made.
    """
    T = mel.shape[-1]
    top = None
    for a in range(0, T, block_frames):
        part = mel[:, a : a + block_frames]
        part[...] = power_to_db(part, top_db=None)
        top = part.max() if top is None else max(top, part.max())
    assert top is not None
    np.maximum(mel, top - 80.0, out=mel)  # power_to_db's top_db floor
    # onset_strength(center=True): lag 1 plus n_fft // (2 * hop) leading zeros, cut to T frames.
    lead = 1 + N_FFT // (2 * HOP_LENGTH)
    onset = np.zeros(T, dtype=mel.dtype)
    mfcc = np.empty((N_MFCC, T), dtype=mel.dtype)
    for a in range(0, T, block_frames):
        b = min(T, a + block_frames)
        mfcc[:, a:b] = cepstrum_mfcc(mel[:, a:b], n_mfcc=N_MFCC)
        if b - a + (b < T) < 2 or a + lead >= T:
            continue
        diffs = onset_strength(  # [0, d_a, ..., d_{b'-2}]: the leading zero is lag's
            S=mel[:, a : b + 1], sr=sr, hop_length=HOP_LENGTH, aggregate=np.median, center=False
        )[1:]
        stop = min(T, a + lead + len(diffs))
        onset[a + lead : stop] = diffs[: stop - a - lead]
    return onset, mfcc


def _batch(Y: Any, sr: int, block_frames: int, *, streamed: bool = False) -> list[Mapping[str, float]]:
    k, n = Y.shape
    freq = fft_frequencies(sr=sr, n_fft=N_FFT)
    blocks = _Blocks(Y, block_frames)
    T = blocks.n_frames
    frame_stats: dict[str, list[np.ndarray]] = {
        name: [] for name in ("rms", "spectral_centroid", "spectral_bandwidth", "rolloff", "zcr")
    }
    mel_blocks: list[np.ndarray] = []
    peaks: list[tuple[list[np.ndarray], list[np.ndarray]]] = [([], []) for _ in range(k)]
    kept_power: list[np.ndarray] | None = [] if T <= _KEEP_POWER_FRAMES and not streamed else None
    half = N_FFT // 2
    # The harmonic waveform in padded coordinates (sample 0 = the first frame's start); streamed:
    # only the statistics of each block's part of the harmonic and percussive waveforms.
    padded_length = (T - 1) * HOP_LENGTH + N_FFT
    harmonic_padded = None if streamed else np.zeros((k, padded_length), dtype=np.float32)
    wave_stats = {"harmony": _MeanVar(), "perceptr": _MeanVar()}

    for a, b in blocks.bounds:
        ea, eb = max(0, a - _CONTEXT), min(T, b + _CONTEXT)
        D_ext = blocks.stft(ea, eb)  # (k, f, eb - ea)
        S_ext = np.abs(D_ext)
        core = slice(a - ea, b - ea)
        S = S_ext[..., core]
        power = S**2

        centroid, bandwidth = centroid_bandwidth(S, freq)
        frame_stats["spectral_centroid"].append(centroid[:, 0])
        frame_stats["spectral_bandwidth"].append(bandwidth[:, 0])
        frame_stats["rolloff"].append(rolloff(S, freq, ROLL_PERCENT)[:, 0])
        frame_stats["rms"].append(rms(blocks.samples(a, b), frame_length=N_FFT, hop_length=HOP_LENGTH)[:, 0])
        frame_stats["zcr"].append(
            zero_crossing_rate(blocks.samples(a, b, mode="edge"), frame_length=N_FFT, hop_length=HOP_LENGTH)[
                :, 0
            ]
        )
        # Per signal, not batched: the mel projection then runs through exactly the same BLAS call
        # (and rounding) as librosa's on one signal.
        mel_blocks.append(np.stack([melspectrogram(power[i], sr, N_FFT) for i in range(k)]))
        for i in range(k):
            pitch, mag = piptrack_peaks(power[i], sr, N_FFT)  # = piptrack's pitches > 0
            peaks[i][0].append(pitch)
            peaks[i][1].append(mag)
        if kept_power is not None:
            kept_power.append(power)
        del power

        # Harmonic/percussive separation for the frames that overlap this block's samples.
        ia, ib = max(0, a - _ISTFT_CONTEXT) - ea, min(T, b + _ISTFT_CONTEXT) - ea
        harm = median_filter_1d(S_ext, HPSS_KERNEL, axis=-1)[..., ia:ib]
        S_mid = S_ext[..., ia:ib]
        perc = median_filter_1d(S_mid, HPSS_KERNEL, axis=-2)
        D_harm = harmonic_stft(D_ext[..., ia:ib], S_mid, harm, perc)  # librosa's mask x phase
        del harm, perc, S_ext, S_mid, D_ext
        wave = istft(D_harm, n_fft=N_FFT, hop_length=HOP_LENGTH)  # = librosa.istft(center=False)
        # (k, samples) starting at padded sample (ea + ia) * hop
        del D_harm
        first = (ea + ia) * HOP_LENGTH
        lo = a * HOP_LENGTH
        hi = b * HOP_LENGTH if b < T else padded_length
        if harmonic_padded is not None:
            harmonic_padded[..., lo:hi] = wave[..., lo - first : hi - first]
        else:  # the signal's samples among them (k == 1)
            s_lo, s_hi = max(lo, half), min(hi, half + n)
            if s_lo < s_hi:
                part = wave[0, s_lo - first : s_hi - first]
                wave_stats["harmony"].add(part)
                wave_stats["perceptr"].add(Y[:, s_lo - half : s_hi - half][0] - part)
        del wave

    stats = {name: np.concatenate(parts, axis=-1) for name, parts in frame_stats.items()}
    # The two soft masks sum to one and the STFT/ISTFT pair reconstructs the signal, so the
    # percussive waveform is the signal minus the harmonic one: one inverse STFT instead of two.
    # (Equal to librosa's separately inverted waveform within float32 rounding, ~1e-7.)
    waves: dict[str, Any] = wave_stats
    if harmonic_padded is not None:
        harmonic = harmonic_padded[:, half : half + n]
        waves = {"harmony": harmonic, "perceptr": Y - harmonic}
    mel = np.concatenate(mel_blocks, axis=-1)
    del mel_blocks

    # Chroma needs each signal's tuning, known only now: second pass over the power spectrogram.
    tunings = [_tuning(*peaks[i]) for i in range(k)]
    chroma_blocks = []
    for index, (a, b) in enumerate(blocks.bounds):
        power = kept_power[index] if kept_power is not None else np.abs(blocks.stft(a, b)) ** 2
        chroma_blocks.append(
            np.stack([chroma_stft(power[i], sr=sr, n_fft=N_FFT, tuning=tunings[i]) for i in range(k)])
        )
    chroma = np.concatenate(chroma_blocks, axis=-1)  # (k, 12, T)

    del peaks
    tempos, mfccs = [], []
    for i in range(k):
        if streamed:  # block by block, in place: no full-size temporaries
            onset_env, mfcc = _onset_mfcc_in_place(mel[i], sr, block_frames)
        else:
            log_mel = power_to_db(mel[i])  # 80 dB floor relative to this signal's maximum
            onset_env = onset_strength(S=log_mel, sr=sr, hop_length=HOP_LENGTH, aggregate=np.median)
            mfcc = cepstrum_mfcc(log_mel, n_mfcc=N_MFCC)
        tempos.append(_tempo(onset_env, sr, block_frames, averaged=streamed))
        mfccs.append(mfcc)
    columns = (
        ("chroma_stft", chroma.reshape(k, -1)),
        ("rms", stats["rms"]),
        ("spectral_centroid", stats["spectral_centroid"]),
        ("spectral_bandwidth", stats["spectral_bandwidth"]),
        ("rolloff", stats["rolloff"]),
        ("zero_crossing_rate", stats["zcr"]),
        ("harmony", waves["harmony"]),
        ("perceptr", waves["perceptr"]),
    )
    # Mean and variance of every row at once: a reduction along the contiguous axis of a C-ordered
    # array sums each row in the same (pairwise) order as np.mean / np.var of that row alone, so
    # the values are the same (a reduction along a strided axis would sum in another order).
    moments = {}
    for name, values in columns:
        if isinstance(values, _MeanVar):  # streamed (k == 1): accumulated block by block
            mean, var = values.result()
            moments[name] = np.array([mean]), np.array([var])
            continue
        values = np.ascontiguousarray(values)
        moments[name] = np.mean(values, axis=-1), np.var(values, axis=-1)
    mfcc = np.stack(mfccs)  # (k, N_MFCC, T), C-contiguous
    mfcc_moments = np.mean(mfcc, axis=-1), np.var(mfcc, axis=-1)
    rows: list[Mapping[str, float]] = []
    for i in range(k):
        row: dict[str, float] = {}
        for name, (means, variances) in moments.items():
            row[f"{name}_mean"] = float(means[i])
            row[f"{name}_var"] = float(variances[i])
        row["tempo"] = tempos[i]
        for j in range(N_MFCC):
            row[f"mfcc{j + 1}_mean"] = float(mfcc_moments[0][i, j])
            row[f"mfcc{j + 1}_var"] = float(mfcc_moments[1][i, j])
        rows.append(row)
    return rows
