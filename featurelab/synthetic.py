"""A small built-in corpus of synthesized, music-like clips in six styles.

:func:`make_synthetic_corpus` writes labelled ``.wav`` files in the GTZAN folder layout
(``<root>/<label>/<label>.000NN.wav``) so that every featurelab command can be tried -- and
tested -- without downloading a dataset. The styles differ the way genres do: tempo and beat
pattern, percussive versus sustained sound, bright versus dark timbre, harmonic content and
dynamics. Every clip draws its own tempo, key, instrument timbres, mix, noise level and master EQ,
and some clips borrow from other styles (a downtempo beat under ambient pads, a techno breakdown,
pizzicato strings), so telling the styles apart is learnable but not trivial.

=============  ================================================================================
style          arrangement
=============  ================================================================================
``ambient``    50-80 bpm, no drums (a soft beat in a quarter of the clips); slow-attack detuned
               pads, a low drone, wind noise, sparse bells; dark, long reverb
``classical``  60-110 bpm, no drums; string ensemble with vibrato, cellos and a melody; slow
               dynamic swells; pizzicato in 30% of the clips
``hiphop``     82-98 bpm, swung; heavy syncopated kick, snare (and clap) on 2 and 4, hats;
               808-like sub bass; low-passed electric-piano chords; vinyl crackle
``jazz``       100-220 bpm, swing; ride pattern (or brushes), hi-hat on 2 and 4, walking bass,
               piano comping with seventh and ninth chords
``rock``       95-150 bpm; kick on 1 and 3, backbeat snare, eighth-note hats or ride, crashes;
               distorted power-chord guitar (clean in 20% of the clips), bass
``techno``     124-136 bpm four-on-the-floor kick; 16th hats, off-beat open hats, claps; short
               filtered bass, minor stabs; a breakdown in 25% of the clips
=============  ================================================================================

With the defaults (6 styles x 10 clips x 6 s), a standardized SVM on the 57 GTZAN features scores
about 0.85-0.95 in 5-fold cross-validation, depending on the seed.

Synthesis is vectorized numpy/scipy: drums are one-shot samples placed at their onsets,
pitched lines are wavetable oscillators (band-limited to the Nyquist frequency) driven by per-sample
note envelopes. The output is deterministic: the same arguments give byte-identical files, and a
clip does not depend on which other styles or how many other clips are generated.
"""

from __future__ import annotations

import math
import numbers
import os
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .exceptions import ParameterError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["SYNTHETIC_STYLES", "make_synthetic_corpus", "synthesize_clip"]

#: Names of the synthetic styles (the corpus labels), in the order they are generated.
SYNTHETIC_STYLES: tuple[str, ...] = ("ambient", "classical", "hiphop", "jazz", "rock", "techno")

_MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])
_MINOR = np.array([0, 2, 3, 5, 7, 8, 10])
_TABLE_SIZE = 4096


# ----------------------------------------------------------------------------- public API
def make_synthetic_corpus(
    root: str | os.PathLike,
    n_per_class: int = 10,
    *,
    seed: int = 0,
    duration: float = 6.0,
    sr: int = 22050,
    styles: Iterable[str] | str | None = None,
) -> pd.DataFrame:
    """Write a small labelled corpus of synthesized music-like clips in the GTZAN layout.

    Parameters
    ----------
    root : str or path-like
        Destination folder (created if needed). Files are written to
        ``<root>/<style>/<style>.<index:05d>.wav``; existing files of the same name are replaced.
    n_per_class : int > 0
        Number of clips per style.
    seed : int >= 0
        Random seed. The same seed gives byte-identical files.
    duration : float > 0
        Length of every clip in seconds (exactly ``round(duration * sr)`` samples).
    sr : int >= 8000
        Sampling rate of the files.
    styles : str, iterable of str or None
        Which of :data:`SYNTHETIC_STYLES` to generate; ``None`` means all of them.

    Returns
    -------
    pandas.DataFrame [shape=(n_styles * n_per_class, 2)]
        One row per written file: ``path`` (str) and ``label`` (the style name).

    Raises
    ------
    ParameterError
        An argument is out of range, a style is unknown, or ``root`` is an existing file.

    See Also
    --------
    synthesize_clip : one clip as a numpy array, without writing anything.

    Notes
    -----
    Each clip is seeded from ``(seed, style, index)``, so clip ``rock.00003.wav`` is the same
    whatever ``styles`` and ``n_per_class`` are. Samples are 16-bit PCM, peak-normalized to a random
    level between -10 and -0.5 dBFS.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from featurelab.synthetic import make_synthetic_corpus
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     corpus = make_synthetic_corpus(tmp, 2, duration=2.0, styles=["rock", "jazz"])
    ...     print(len(corpus), sorted(corpus["label"].unique()))
    ...     print(Path(corpus["path"][0]).relative_to(tmp).as_posix())
    4 ['jazz', 'rock']
    rock/rock.00000.wav
    """
    import pandas as pd
    import soundfile as sf

    from .io import atomic_path

    n_per_class = _check_positive_int(n_per_class, "n_per_class")
    if n_per_class > 99999:
        raise ParameterError(
            f"n_per_class must be at most 99999 (five-digit file numbers). Got {n_per_class} instead."
        )
    seed = _check_seed(seed)
    sr = _check_sr(sr)
    n = _check_duration(duration, sr)
    style_list = _check_styles(styles)
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise ParameterError(
            f"root must be a folder. Got the existing file {str(root)!r} instead; choose a new path."
        )

    rows: list[dict[str, str]] = []
    for style in style_list:
        folder = root / style
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(n_per_class):
            y = _render(style, index, seed=seed, n=n, sr=sr)
            pcm = _to_pcm16(y)
            path = folder / f"{style}.{index:05d}.wav"
            with atomic_path(path) as tmp:
                sf.write(tmp, pcm, sr, format="WAV", subtype="PCM_16")
            rows.append({"path": str(path), "label": style})
    return pd.DataFrame(rows, columns=["path", "label"])


def synthesize_clip(
    style: str, *, index: int = 0, seed: int = 0, duration: float = 6.0, sr: int = 22050
) -> np.ndarray:
    """Synthesize one clip of a style as a float array, exactly as the corpus would write it.

    Parameters
    ----------
    style : str
        One of :data:`SYNTHETIC_STYLES`.
    index : int >= 0
        Clip number within the style (the ``NN`` of ``<style>.000NN.wav``).
    seed : int >= 0
        Random seed.
    duration : float > 0
        Length in seconds.
    sr : int >= 8000
        Sampling rate.

    Returns
    -------
    y : np.ndarray [shape=(round(duration * sr),), dtype=float32]
        The clip, within [-1, 1]: exactly the samples that reading the corpus file with
        :func:`featurelab.io.load_audio` (or soundfile) returns.

    Examples
    --------
    >>> from featurelab.synthetic import synthesize_clip
    >>> y = synthesize_clip("techno", duration=1.5, sr=22050)
    >>> y.shape, bool(abs(y).max() <= 1.0)
    ((33075,), True)
    """
    seed = _check_seed(seed)
    sr = _check_sr(sr)
    n = _check_duration(duration, sr)
    (style,) = _check_styles([style])
    if isinstance(index, bool) or not isinstance(index, numbers.Integral) or index < 0:
        raise ParameterError(f"index must be a non-negative integer. Got {index!r} instead.")
    pcm = _to_pcm16(_render(style, int(index), seed=seed, n=n, sr=sr))
    return (pcm / np.float32(32768.0)).astype(np.float32)


def _to_pcm16(y: np.ndarray) -> np.ndarray:
    """Quantize a signal within [-1, 1] to 16-bit integers (full scale 32767)."""
    return np.round(y * 32767.0).astype(np.int16)


# ----------------------------------------------------------------------------- validation
def _check_positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ParameterError(f"{name} must be a positive integer. Got {value!r} instead.")
    return int(value)


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ParameterError(f"seed must be a non-negative integer. Got {seed!r} instead.")
    return int(seed)


def _check_sr(sr: object) -> int:
    if isinstance(sr, bool) or not isinstance(sr, numbers.Integral) or sr < 8000:
        raise ParameterError(f"sr must be an integer sampling rate of at least 8000 Hz. Got {sr!r} instead.")
    return int(sr)


def _check_duration(duration: object, sr: int) -> int:
    ok = isinstance(duration, numbers.Real) and not isinstance(duration, bool)
    if not ok or not math.isfinite(float(duration)) or float(duration) < 0.1:  # type: ignore[arg-type]
        raise ParameterError(
            f"duration must be a finite number of seconds, at least 0.1. Got {duration!r} instead."
        )
    return int(round(float(duration) * sr))  # type: ignore[arg-type]


def _check_styles(styles: Iterable[str] | str | None) -> list[str]:
    if styles is None:
        return list(SYNTHETIC_STYLES)
    if isinstance(styles, str):
        styles = [styles]
    try:
        style_list = list(styles)
    except TypeError:
        raise ParameterError(
            f"styles must be None or a list of style names. Got {styles!r} instead."
        ) from None
    valid = ", ".join(SYNTHETIC_STYLES)
    if not style_list:
        raise ParameterError(f"styles must name at least one style ({valid}). Got [] instead.")
    for style in style_list:
        if style not in SYNTHETIC_STYLES:
            raise ParameterError(f"Unknown style {style!r}. Valid styles: {valid}.")
    if len(set(style_list)) != len(style_list):
        raise ParameterError(f"styles must not repeat a style. Got {style_list!r} instead.")
    return style_list


# ----------------------------------------------------------------------------- DSP building blocks
class _Ctx:
    """What every renderer needs: the random generator, length, rate and the time axis."""

    def __init__(self, rng: np.random.Generator, n: int, sr: int) -> None:
        self.rng = rng
        self.n = n
        self.sr = sr
        self.samples = np.arange(n)
        self._basis: dict[int, np.ndarray] = {}

    def basis(self, k_max: int) -> np.ndarray:
        """Sines of harmonics 1..k_max over one wavetable period [shape=(k_max, _TABLE_SIZE)]."""
        if k_max not in self._basis:
            x = np.arange(_TABLE_SIZE) / _TABLE_SIZE
            self._basis[k_max] = np.sin(2 * np.pi * np.outer(np.arange(1, k_max + 1), x))
        return self._basis[k_max]

    def u(self, low: float, high: float) -> float:
        return float(self.rng.uniform(low, high))

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)


def _sos(kind: str, cutoff: float | tuple[float, float], sr: int, order: int = 2) -> np.ndarray:
    from scipy.signal import butter

    nyq = 0.5 * sr
    if isinstance(cutoff, tuple):
        wn: float | list[float] = [min(max(c / nyq, 1e-4), 0.95) for c in cutoff]
    else:
        wn = min(max(cutoff / nyq, 1e-4), 0.95)
    return butter(order, wn, btype=kind, output="sos")


def _filter(x: np.ndarray, kind: str, cutoff: float | tuple[float, float], sr: int, order: int = 2):
    from scipy.signal import sosfilt

    return sosfilt(_sos(kind, cutoff, sr, order), x)


def _decay(n: int, sr: int, tau: float) -> np.ndarray:
    return np.exp(-np.arange(n) / (sr * tau))


def _place(shot: np.ndarray, times: np.ndarray, gains: np.ndarray | float, ctx: _Ctx) -> np.ndarray:
    """Trigger a one-shot sample at ``times`` (seconds) with ``gains`` (sparse convolution).

    Events before the clip start contribute their tails. Adding one slice per event is much faster
    than an FFT convolution for the few dozen events of a clip.
    """
    times = np.asarray(times, dtype=float)
    gains = np.broadcast_to(np.asarray(gains, dtype=float), times.shape)
    starts = np.round(times * ctx.sr).astype(np.int64)
    out = np.zeros(ctx.n)
    m = shot.size
    for start, gain in zip(starts.tolist(), gains.tolist(), strict=True):
        lo, hi = max(start, 0), min(start + m, ctx.n)
        if lo < hi:
            out[lo:hi] += gain * shot[lo - start : hi - start]
    return out


def _kick(ctx: _Ctx, *, f_start: float, f_end: float, decay: float, click: float) -> np.ndarray:
    m = int(min(4 * decay, 1.0) * ctx.sr)
    t = np.arange(m) / ctx.sr
    freq = f_end + (f_start - f_end) * np.exp(-t / ctx.u(0.02, 0.05))
    body = np.sin(2 * np.pi * np.cumsum(freq) / ctx.sr) * np.exp(-t / decay)
    noise = _filter(ctx.rng.standard_normal(m), "lowpass", 4000.0, ctx.sr)
    return body + click * noise * np.exp(-t / 0.004)


def _snare(ctx: _Ctx, *, tone: float, decay: float, snappy: float) -> np.ndarray:
    m = int(4 * decay * ctx.sr)
    t = np.arange(m) / ctx.sr
    body = np.sin(2 * np.pi * tone * t) * np.exp(-t / 0.04)
    noise = _filter(ctx.rng.standard_normal(m), "bandpass", (1200.0, 8000.0), ctx.sr)
    return 0.6 * body + snappy * noise * np.exp(-t / decay)


def _clap(ctx: _Ctx) -> np.ndarray:
    m = int(0.3 * ctx.sr)
    t = np.arange(m) / ctx.sr
    env = np.exp(-t / 0.08)
    for delay in (0.0, 0.011, 0.022):
        env = env + np.exp(-np.maximum(t - delay, 0.0) / 0.006) * (t >= delay)
    noise = _filter(ctx.rng.standard_normal(m), "bandpass", (800.0, 3500.0), ctx.sr)
    return noise * env / 3.0


def _hat(ctx: _Ctx, *, decay: float, cutoff: float = 7000.0) -> np.ndarray:
    m = int(min(5 * decay, 1.5) * ctx.sr)
    noise = _filter(ctx.rng.standard_normal(m), "highpass", min(cutoff, 0.35 * ctx.sr), ctx.sr, 4)
    return noise * _decay(m, ctx.sr, decay)


def _cymbal(ctx: _Ctx, *, decay: float, brightness: float, n_partials: int = 10) -> np.ndarray:
    """Ride or crash: inharmonic metallic partials plus high-passed noise, long decay."""
    m = int(min(4 * decay, 3.0) * ctx.sr)
    t = np.arange(m) / ctx.sr
    top = min(9000.0, 0.45 * ctx.sr)
    freqs = np.exp(ctx.rng.uniform(np.log(350.0), np.log(top), n_partials))
    phases = ctx.rng.uniform(0, 2 * np.pi, n_partials)
    partials = np.sin(2 * np.pi * freqs[:, None] * t[None, :] + phases[:, None]).sum(axis=0)
    noise = _filter(ctx.rng.standard_normal(m), "highpass", min(5000.0, 0.3 * ctx.sr), ctx.sr)
    sig = 0.15 * partials + brightness * noise
    return sig * np.exp(-t / decay) * (1 - np.exp(-t / 0.002))


def _harmonics(ctx: _Ctx, n_harm: int, slope: float, *, odd: float = 1.0) -> np.ndarray:
    """Harmonic amplitudes ``k**-slope`` with random jitter; ``odd`` < 1 weakens even partials."""
    k = np.arange(1, n_harm + 1)
    amps = k ** (-slope) * ctx.rng.uniform(0.6, 1.4, n_harm)
    amps[1::2] *= odd
    amps[0] = 1.0
    return amps


def _wavetable(ctx: _Ctx, amps: np.ndarray, f_max: float) -> np.ndarray:
    """One period of a band-limited waveform (harmonics above 0.45 * sr at ``f_max`` dropped)."""
    k_max = max(1, min(len(amps), int(0.45 * ctx.sr / max(f_max, 1.0))))
    table = amps[:k_max] @ ctx.basis(k_max)
    return table / max(float(np.abs(table).max()), 1e-9)


def _midi_hz(midi: np.ndarray | float) -> np.ndarray:
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=float) - 69.0) / 12.0)


def _line(
    ctx: _Ctx,
    onsets: np.ndarray,
    durs: np.ndarray | float,
    midis: np.ndarray,
    vels: np.ndarray | float,
    amps: np.ndarray,
    *,
    attack: float = 0.005,
    decay: float = 1.0,
    sustain: float = 1.0,
    release: float = 0.05,
    vibrato: tuple[float, float] = (0.0, 0.0),
    detune: tuple[float, ...] = (0.0,),
    glide: float = 0.0,
) -> np.ndarray:
    """Render a note sequence (or chord sequence) with an attack-decay-sustain-release envelope.

    ``midis`` is [shape=(n_events,)] for a melody or [shape=(n_events, n_tones)] for chords. Events
    alternate between two lanes so that a release tail overlaps the next event; the envelope is
    computed once per lane and shared by all tones. ``vibrato`` is ``(rate Hz, depth as a
    fraction of frequency)``, ``detune`` a list of copies' offsets in cents (an ensemble),
    ``glide`` a downward pitch drop at the attack (808-style) as a fraction of frequency.
    """
    onsets = np.asarray(onsets, dtype=float)
    midis = np.asarray(midis, dtype=float).reshape(onsets.size, -1)
    durs = np.broadcast_to(np.asarray(durs, dtype=float), onsets.shape)
    vels = np.broadcast_to(np.asarray(vels, dtype=float), onsets.shape)
    start = np.round(onsets * ctx.sr).astype(np.int64)
    keep = np.flatnonzero(start < ctx.n)
    keep = keep[np.argsort(start[keep], kind="stable")]
    out = np.zeros(ctx.n)
    s = ctx.samples
    vib = None
    if vibrato[1] > 0:
        vib = 1.0 + vibrato[1] * np.sin(2 * np.pi * vibrato[0] * s / ctx.sr + ctx.u(0, 6.28))
    for lane in (keep[0::2], keep[1::2]):
        if lane.size == 0:
            continue
        k = np.searchsorted(start[lane], s, side="right") - 1
        note = lane[np.maximum(k, 0)]
        ts = ((s - start[note]) / ctx.sr).astype(np.float32)
        held = np.minimum(ts, durs[note].astype(np.float32))
        env = np.minimum(held * np.float32(1.0 / attack), np.float32(1.0))
        if sustain < 1.0:
            env *= sustain + (1.0 - sustain) * np.exp(held / np.float32(-decay))
        env *= np.exp(np.minimum(held - ts, 0.0) / np.float32(release))
        env *= vels[note].astype(np.float32)
        env[k < 0] = 0.0
        bend = None if not glide else 1.0 + glide * np.exp(-ts / 0.06)
        for cents in detune:
            hz = _midi_hz(midis[lane] + cents / 100.0)
            for j in range(midis.shape[1]):
                freq = hz[np.maximum(k, 0), j]
                if vib is not None:
                    freq = freq * vib
                if bend is not None:
                    freq = freq * bend
                cycles = np.cumsum(freq) / ctx.sr
                table = _wavetable(ctx, amps, float(hz[:, j].max()) * (1 + glide) * 1.01)
                idx = ((cycles - np.floor(cycles)) * _TABLE_SIZE).astype(np.int64)
                out += table[np.minimum(idx, _TABLE_SIZE - 1)] * env
    return out / len(detune)


def _chords(
    ctx: _Ctx, onsets: np.ndarray, durs: np.ndarray | float, chords: np.ndarray, vels, amps, **kw
) -> np.ndarray:
    """Render ``chords`` [shape=(n_events, n_tones)]: :func:`_line` with one oscillator per tone."""
    return _line(ctx, onsets, durs, np.asarray(chords, dtype=float), vels, amps, **kw)


def _reverb(ctx: _Ctx, x: np.ndarray, *, t60: float, wet: float, tone: float = 5000.0) -> np.ndarray:
    from scipy.signal import fftconvolve

    m = int(t60 * ctx.sr)
    ir = ctx.rng.standard_normal(m) * 10.0 ** (-3.0 * np.arange(m) / m)
    ir = _filter(ir, "lowpass", tone, ctx.sr)
    ir /= np.sqrt(np.sum(ir**2))
    return x + wet * fftconvolve(x, ir)[: ctx.n]


def _scale_notes(root: int, scale: np.ndarray, degrees: np.ndarray) -> np.ndarray:
    degrees = np.asarray(degrees)
    octave, idx = np.divmod(degrees, 7)
    return root + 12 * octave + scale[idx]


def _chord_notes(root: int, scale: np.ndarray, degree: int, size: int) -> np.ndarray:
    return _scale_notes(root, scale, degree + 2 * np.arange(size))


def _grid(ctx: _Ctx, bpm: float) -> tuple[float, float, int]:
    """Beat length, a random start offset within a bar, and how many bars cover the clip."""
    beat = 60.0 / bpm
    offset = ctx.u(0, 4 * beat)
    n_bars = int(np.ceil((ctx.n / ctx.sr + offset) / (4 * beat))) + 1
    return beat, offset, n_bars


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2)) + 1e-12)


def _mix(*parts: tuple[np.ndarray, float]) -> np.ndarray:
    """Sum stems each scaled to a target RMS (so gains are relative loudness)."""
    return sum(gain * x / _rms(x) for x, gain in parts if np.any(x))


# ----------------------------------------------------------------------------- styles
def _ambient(ctx: _Ctx) -> np.ndarray:
    beat, offset, n_bars = _grid(ctx, ctx.u(50, 80))
    scale = _MAJOR if ctx.chance(0.5) else _MINOR
    root = int(ctx.rng.integers(45, 57))
    span = 4 * beat * int(ctx.rng.integers(1, 3))
    onsets = np.arange(0, n_bars * 4 * beat, span) - offset
    degrees = ctx.rng.choice([0, 3, 4, 5, 1], size=onsets.size)
    size = int(ctx.rng.integers(3, 6))
    chords = np.array([_chord_notes(root, scale, int(d), size) for d in degrees])
    amps = _harmonics(ctx, 12, ctx.u(1.8, 3.0))
    pad_kw = dict(attack=ctx.u(0.8, 2.5), release=ctx.u(1.0, 2.5), vibrato=(ctx.u(0.1, 0.4), 0.002))
    pad = _chords(ctx, onsets, span * 0.9, chords, 1.0, amps, detune=(-ctx.u(4, 12), ctx.u(4, 12)), **pad_kw)
    pad = _filter(pad, "lowpass", ctx.u(500, 1800), ctx.sr)
    lfo = 1.0 + ctx.u(0.2, 0.5) * np.sin(2 * np.pi * ctx.u(0.05, 0.25) * ctx.samples / ctx.sr)
    drone = _line(ctx, np.array([-1.0]), 1e3, np.array([root - 12.0]), 1.0, np.ones(2), attack=0.5)
    wind = _filter(ctx.rng.standard_normal(ctx.n), "lowpass", ctx.u(200, 900), ctx.sr) * lfo[::-1]
    parts = [(pad * lfo, 1.0), (drone, ctx.u(0.2, 0.6)), (wind, ctx.u(0.05, 0.3))]
    if ctx.chance(0.5):  # sparse soft bells
        n_bells = int(ctx.rng.integers(2, 6))
        bell_t = np.sort(ctx.rng.uniform(0, ctx.n / ctx.sr, n_bells))
        bell_n = _scale_notes(root + 24, scale, ctx.rng.integers(0, 7, n_bells))
        bells = _line(
            ctx,
            bell_t,
            0.01,
            bell_n,
            1.0,
            np.array([1.0, 0.0, 0.3]),
            decay=ctx.u(0.8, 2),
            sustain=0.0,
            release=ctx.u(0.8, 2),
        )
        parts.append((bells, ctx.u(0.1, 0.35)))
    if ctx.chance(0.25):  # downtempo variant: a soft, dull beat under the pads
        beats = np.arange(n_bars * 4) * beat - offset
        kick = _kick(ctx, f_start=ctx.u(90, 140), f_end=ctx.u(40, 55), decay=ctx.u(0.2, 0.4), click=0.05)
        beat_mix = _place(kick, beats[::2], 1.0, ctx) + _place(
            _hat(ctx, decay=ctx.u(0.02, 0.06), cutoff=4000.0), beats + beat / 2, 0.2, ctx
        )
        parts.append((_filter(beat_mix, "lowpass", ctx.u(1500, 4000), ctx.sr), ctx.u(0.2, 0.5)))
    return _reverb(ctx, _mix(*parts), t60=ctx.u(2.5, 4.0), wet=ctx.u(0.5, 0.9), tone=2500.0)


def _classical(ctx: _Ctx) -> np.ndarray:
    beat, offset, n_bars = _grid(ctx, ctx.u(60, 110))
    scale = _MAJOR if ctx.chance(0.6) else _MINOR
    root = int(ctx.rng.integers(48, 60))
    progs = [[0, 3, 4, 0], [0, 5, 1, 4], [0, 4, 5, 3], [0, 1, 4, 0], [5, 3, 4, 0]]
    prog = progs[int(ctx.rng.integers(len(progs)))]
    per_bar = int(ctx.rng.integers(1, 3))
    span = 4 * beat / per_bar
    onsets = np.arange(n_bars * per_bar) * span - offset
    degrees = np.resize(prog, onsets.size)
    chords = np.array([_chord_notes(root, scale, int(d), 3) for d in degrees])
    bass = chords[:, 0] - 12
    amps = _harmonics(ctx, 16, ctx.u(0.9, 1.5), odd=ctx.u(0.5, 1.0))
    vib = (ctx.u(4.5, 6.5), ctx.u(0.002, 0.006))
    kw = dict(attack=ctx.u(0.08, 0.35), release=ctx.u(0.15, 0.5), vibrato=vib)
    if ctx.chance(0.3):  # pizzicato: plucked, percussive strings
        kw = dict(attack=0.003, decay=ctx.u(0.1, 0.3), sustain=0.0, release=0.1)
    strings = _chords(ctx, onsets, span * 0.98, chords, 0.7, amps, detune=(-ctx.u(3, 8), ctx.u(3, 8)), **kw)
    cellos = _line(ctx, onsets, span * 0.98, bass, 0.8, amps, **kw)
    # Melody: chord tones and passing notes on a quarter/eighth grid, one octave up.
    step = beat / (2 if ctx.chance(0.5) else 1)
    mel_t = np.arange(0, n_bars * 4 * beat, step) - offset
    chord_idx = np.clip(np.searchsorted(onsets, mel_t, side="right") - 1, 0, len(degrees) - 1)
    mel_deg = degrees[chord_idx] + ctx.rng.choice([0, 2, 4, 1, 3, 7], size=mel_t.size)
    melody = _line(
        ctx,
        mel_t,
        step * 0.95,
        _scale_notes(root + 12, scale, mel_deg),
        1.0,
        _harmonics(ctx, 12, ctx.u(1.0, 1.6)),
        attack=ctx.u(0.03, 0.1),
        release=0.15,
        vibrato=(vib[0], vib[1] * 1.5),
    )
    mix = _mix((strings, 1.0), (cellos, ctx.u(0.4, 0.8)), (melody, ctx.u(0.5, 1.0)))
    mix = _filter(mix, "lowpass", ctx.u(2500, 6000), ctx.sr)
    period = ctx.u(2.5, 8.0)
    swell = ctx.u(0.05, 0.35) + (
        0.5 - 0.5 * np.cos(2 * np.pi * ctx.samples / (ctx.sr * period) + ctx.u(0, 6.28))
    )
    return _reverb(ctx, mix * swell, t60=ctx.u(1.2, 2.5), wet=ctx.u(0.3, 0.6), tone=4000.0)


def _hiphop(ctx: _Ctx) -> np.ndarray:
    beat, offset, n_bars = _grid(ctx, ctx.u(82, 98))
    swing = ctx.u(0.5, 0.62)
    # 16-step positions with swing on the off-16ths.
    steps = np.arange(n_bars * 16)
    s16 = (steps // 2) * (beat / 2) + (steps % 2) * swing * (beat / 2) - offset
    kick_patterns = [
        [0, 3, 7, 10],
        [0, 6, 8, 11],
        [0, 7, 10, 13],
        [0, 3, 8, 10, 14],
        [0, 9, 11],
        [0, 6, 10, 12],
    ]
    pattern = np.zeros(16, dtype=bool)
    pattern[kick_patterns[int(ctx.rng.integers(len(kick_patterns)))]] = True
    kick_on = np.tile(pattern, n_bars)
    kick = _kick(
        ctx,
        f_start=ctx.u(100, 160),
        f_end=ctx.u(40, 52),
        decay=ctx.u(0.3, 0.55),
        click=ctx.u(0.2, 0.6),
    )
    snare_shot = _snare(ctx, tone=ctx.u(160, 230), decay=ctx.u(0.12, 0.25), snappy=ctx.u(0.6, 1.2))
    if ctx.chance(0.5):
        snare_shot = (
            snare_shot
            + 0.8 * np.pad(_clap(ctx), (0, max(0, snare_shot.size - int(0.3 * ctx.sr))))[: snare_shot.size]
        )
    snare_on = np.tile(np.isin(np.arange(16), [4, 12]), n_bars)
    hat_every = int(ctx.rng.choice([1, 2]))
    hat_on = steps % hat_every == 0
    drums = (
        _place(kick, s16[kick_on], ctx.rng.uniform(0.85, 1.0, kick_on.sum()), ctx)
        + _place(snare_shot, s16[snare_on], ctx.u(0.7, 1.0), ctx)
        + _place(
            _hat(ctx, decay=ctx.u(0.02, 0.05)),
            s16[hat_on],
            ctx.rng.uniform(0.1, 0.3, hat_on.sum()),
            ctx,
        )
    )
    root = int(ctx.rng.integers(28, 36))
    bass_deg = ctx.rng.choice([0, 0, 0, 3, 4, 5, 6], size=int(kick_on.sum()))
    sub = _line(
        ctx,
        s16[kick_on],
        beat * ctx.u(0.6, 1.5),
        _scale_notes(root, _MINOR, bass_deg),
        1.0,
        np.array([1.0, 0.08, 0.03]),
        decay=ctx.u(0.3, 0.7),
        sustain=0.2,
        release=0.08,
        glide=ctx.u(0.0, 0.4),
    )
    sub = np.tanh(ctx.u(1.0, 2.5) * sub)
    key_t = np.arange(n_bars * 2) * 2 * beat - offset
    key_deg = np.resize(ctx.rng.choice([0, 5, 3, 6, 4], size=2), key_t.size)
    keys_ch = np.array([_chord_notes(root + 24, _MINOR, int(d), 4) for d in key_deg])
    keys = _chords(
        ctx,
        key_t,
        2 * beat * ctx.u(0.5, 0.95),
        keys_ch,
        0.6,
        _harmonics(ctx, 8, ctx.u(1.8, 2.6)),
        decay=ctx.u(0.4, 1.0),
        sustain=0.2,
        release=0.2,
    )
    keys = _filter(keys, "lowpass", ctx.u(1200, 3000) * (3.0 if ctx.chance(0.3) else 1.0), ctx.sr)
    parts = [(drums, 1.0), (sub, ctx.u(0.6, 1.1)), (keys, ctx.u(0.15, 0.5))]
    if ctx.chance(0.5):  # vinyl crackle
        n_clicks = int(ctx.u(5, 30) * ctx.n / ctx.sr)
        crackle = _place(
            np.array([1.0, -0.6, 0.3]),
            ctx.rng.uniform(0, ctx.n / ctx.sr, n_clicks),
            ctx.rng.uniform(0.05, 0.3, n_clicks),
            ctx,
        )
        parts.append((crackle, ctx.u(0.02, 0.08)))
    return _mix(*parts)


def _jazz(ctx: _Ctx) -> np.ndarray:
    beat, offset, n_bars = _grid(ctx, ctx.u(100, 220))
    swing = ctx.u(0.6, 0.7)
    beats = np.arange(n_bars * 4) * beat - offset
    odd = (np.arange(beats.size) % 2) == 1
    ride_t = np.concatenate([beats, beats[odd] + swing * beat])
    ride_g = np.concatenate([np.where(odd, 0.9, 0.7), np.full(odd.sum(), 0.45)])
    ride_g = ride_g * ctx.rng.uniform(0.8, 1.0, ride_g.size)
    ride = _cymbal(ctx, decay=ctx.u(0.5, 1.1), brightness=ctx.u(0.2, 0.6))
    if ctx.chance(0.3):  # brushes: a dull swish instead of the ride's ping
        m = int(ctx.u(0.15, 0.3) * ctx.sr)
        swish = _filter(ctx.rng.standard_normal(m), "bandpass", (ctx.u(1500, 3000), 7000.0), ctx.sr)
        ride = swish * np.sin(np.pi * np.arange(m) / m) ** 2
    chick = _hat(ctx, decay=ctx.u(0.01, 0.03), cutoff=5000.0)
    drums = _place(ride, ride_t, ride_g, ctx) + _place(chick, beats[odd], 0.5, ctx)
    if ctx.chance(0.6):  # feathered kick and ghost-note snare comping
        kick = _kick(ctx, f_start=ctx.u(90, 130), f_end=ctx.u(50, 65), decay=ctx.u(0.12, 0.2), click=0.1)
        drums = drums + _place(kick, beats, 0.15, ctx)
        ghosts = ctx.rng.random(beats.size) < 0.25
        snare = _snare(ctx, tone=ctx.u(180, 250), decay=ctx.u(0.08, 0.15), snappy=0.6)
        drums = drums + _place(snare, beats[ghosts] + swing * beat, 0.25, ctx)
    scale = _MAJOR
    root = int(ctx.rng.integers(36, 48))
    # ii-V-I(-vi) turnaround, one chord per bar, with sevenths and ninths.
    prog = np.resize([1, 4, 0, 5] if ctx.chance(0.6) else [0, 5, 1, 4], n_bars)
    bar_t = np.arange(n_bars) * 4 * beat - offset
    # Walking bass: chord root on beat 1, then chord tones, scale steps and chromatic approaches.
    walk = []
    for b, degree in enumerate(prog):
        tones = _chord_notes(root, scale, int(degree), 4)
        nxt = _chord_notes(root, scale, int(prog[(b + 1) % n_bars]), 1)[0]
        choices = np.concatenate([tones, _scale_notes(root, scale, degree + np.arange(1, 7))])
        mid = ctx.rng.choice(choices, size=2)
        walk += [tones[0], *mid, nxt + ctx.rng.choice([-1, 1, 2])]
    walk = np.array(walk, dtype=float)
    walk = np.where(walk > root + 19, walk - 12, walk)
    bass = _line(
        ctx,
        beats,
        beat * 0.9,
        walk,
        ctx.rng.uniform(0.8, 1.0, beats.size),
        _harmonics(ctx, 10, ctx.u(1.6, 2.4)),
        decay=ctx.u(0.25, 0.6),
        sustain=0.25,
        release=0.05,
    )
    # Piano comping: a few swung hits per bar of 4-5 note voicings.
    hits_t, hits_c = [], []
    for b, degree in enumerate(prog):
        n_hits = int(ctx.rng.integers(1, 4))
        slots = np.sort(ctx.rng.choice(8, size=n_hits, replace=False))
        hit_t = bar_t[b] + (slots // 2) * beat + (slots % 2) * swing * beat
        voicing = _chord_notes(root + 12, scale, int(degree), int(ctx.rng.integers(4, 6)))
        hits_t += list(hit_t)
        hits_c += [voicing[-4:] + 12 * (voicing[-4:] < root + 20)] * n_hits
    piano = _chords(
        ctx,
        np.array(hits_t),
        beat * ctx.u(0.3, 1.2),
        np.array(hits_c),
        ctx.rng.uniform(0.6, 1.0, len(hits_t)),
        _harmonics(ctx, 14, ctx.u(1.3, 2.0)),
        decay=ctx.u(0.4, 1.0),
        sustain=0.0,
        release=0.15,
    )
    mix = _mix((drums, ctx.u(0.5, 0.9)), (bass, 1.0), (piano, ctx.u(0.5, 1.0)))
    return _reverb(ctx, mix, t60=ctx.u(0.6, 1.2), wet=ctx.u(0.1, 0.3))


def _rock(ctx: _Ctx) -> np.ndarray:
    beat, offset, n_bars = _grid(ctx, ctx.u(95, 150))
    eighths = np.arange(n_bars * 8) * beat / 2 - offset
    pos = np.arange(eighths.size) % 8
    kick_on = np.isin(pos, [0, 4]) | ((pos == 5) & (ctx.rng.random(pos.size) < 0.4))
    snare_on = np.isin(pos, [2, 6])
    kick = _kick(
        ctx,
        f_start=ctx.u(120, 180),
        f_end=ctx.u(50, 65),
        decay=ctx.u(0.12, 0.25),
        click=ctx.u(0.3, 0.8),
    )
    snare = _snare(ctx, tone=ctx.u(170, 240), decay=ctx.u(0.1, 0.2), snappy=ctx.u(0.8, 1.4))
    if ctx.chance(0.7):
        hats = _place(_hat(ctx, decay=ctx.u(0.03, 0.08)), eighths, ctx.rng.uniform(0.3, 0.5, pos.size), ctx)
    else:  # crash-ride on quarters
        hats = _place(_cymbal(ctx, decay=ctx.u(0.4, 0.8), brightness=0.8), eighths[pos % 2 == 0], 0.4, ctx)
    crash_t = eighths[(pos == 0) & (ctx.rng.random(pos.size) < 0.3)]
    drums = (
        _place(kick, eighths[kick_on], 1.0, ctx)
        + _place(snare, eighths[snare_on], ctx.rng.uniform(0.9, 1.0, snare_on.sum()), ctx)
        + hats
        + _place(_cymbal(ctx, decay=ctx.u(0.8, 1.5), brightness=1.0), crash_t, 0.6, ctx)
    )
    scale = _MAJOR if ctx.chance(0.5) else _MINOR
    root = int(ctx.rng.integers(40, 50))
    progs = [[0, 4, 5, 3], [0, 5, 3, 4], [5, 3, 0, 4], [0, 3, 4, 3], [0, 6, 5, 4]]
    prog = np.resize(progs[int(ctx.rng.integers(len(progs)))], n_bars)
    chord_roots = _scale_notes(root, scale, prog)[np.arange(eighths.size) // 8]
    power = np.stack([chord_roots, chord_roots + 7, chord_roots + 12], axis=1)
    strum_on = ctx.rng.random(eighths.size) < ctx.u(0.6, 1.0)
    strum_on[pos == 0] = True
    guitar = _chords(
        ctx,
        eighths[strum_on],
        beat / 2 * ctx.u(0.6, 0.98),
        power[strum_on],
        ctx.rng.uniform(0.8, 1.0, strum_on.sum()),
        _harmonics(ctx, 24, ctx.u(0.8, 1.2)),
        decay=ctx.u(0.3, 1.0),
        sustain=0.5,
        release=0.04,
    )
    drive = ctx.u(0.3, 1.0) if ctx.chance(0.2) else ctx.u(2.0, 12.0)
    guitar = np.tanh(drive * guitar / _rms(guitar) / 3.0)
    guitar = _filter(guitar, "lowpass", ctx.u(3500, 7000), ctx.sr)
    bass = _line(
        ctx,
        eighths,
        beat / 2 * 0.9,
        chord_roots - 12,
        1.0,
        _harmonics(ctx, 12, 1.2),
        decay=0.3,
        sustain=0.6,
        release=0.03,
    )
    bass = _filter(bass, "lowpass", ctx.u(600, 1500), ctx.sr)
    mix = _mix((drums, ctx.u(0.7, 1.1)), (guitar, ctx.u(0.6, 1.1)), (bass, ctx.u(0.3, 0.6)))
    return np.tanh(ctx.u(0.5, 1.5) * mix / np.abs(mix).max() * 2.0)


def _techno(ctx: _Ctx) -> np.ndarray:
    beat, offset, n_bars = _grid(ctx, ctx.u(124, 136))
    s16 = np.arange(n_bars * 16) * beat / 4 - offset
    pos = np.arange(s16.size) % 16
    beats = s16[pos % 4 == 0]
    kick = _kick(
        ctx,
        f_start=ctx.u(140, 200),
        f_end=ctx.u(42, 55),
        decay=ctx.u(0.18, 0.32),
        click=ctx.u(0.1, 0.4),
    )
    accents = np.array([0.35, 0.55, 0.4, 0.7])[pos % 4] * ctx.rng.uniform(0.8, 1.0, s16.size)
    drums = _place(kick, beats, 1.0, ctx) + _place(
        _hat(ctx, decay=ctx.u(0.015, 0.04)), s16, accents * ctx.u(0.2, 0.45), ctx
    )
    if ctx.chance(0.8):
        drums = drums + _place(
            _hat(ctx, decay=ctx.u(0.12, 0.3), cutoff=6000.0),
            s16[pos % 4 == 2],
            ctx.u(0.25, 0.5),
            ctx,
        )
    if ctx.chance(0.6):
        drums = drums + _place(_clap(ctx), s16[np.isin(pos, [4, 12])], ctx.u(0.4, 0.8), ctx)
    root = int(ctx.rng.integers(33, 41))
    bass_patterns = [
        [2, 6, 10, 14],
        [2, 3, 6, 10, 11, 14],
        [0, 2, 4, 6, 8, 10, 12, 14],
        [3, 6, 11, 14],
    ]
    bass_on = np.isin(pos, bass_patterns[int(ctx.rng.integers(len(bass_patterns)))])
    bass_deg = np.where(
        ctx.rng.random(bass_on.sum()) < 0.25, ctx.rng.choice([2, 4, 7], size=bass_on.sum()), 0
    )
    bass = _line(
        ctx,
        s16[bass_on],
        beat * 0.2,
        _scale_notes(root, _MINOR, bass_deg),
        1.0,
        _harmonics(ctx, 30, ctx.u(0.8, 1.3)),
        attack=0.003,
        decay=ctx.u(0.06, 0.15),
        sustain=0.0,
        release=0.03,
    )
    bass = _filter(bass, "lowpass", ctx.u(300, 1400), ctx.sr)
    parts = [(drums, 1.0), (bass, ctx.u(0.4, 0.8))]
    if ctx.chance(0.25):  # breakdown: drums drop out for a while, a filtered pad takes over
        t = ctx.samples / ctx.sr
        cut_start = ctx.u(0, ctx.n / ctx.sr * 0.5)
        gate = ((t < cut_start) | (t > cut_start + ctx.u(1.5, 4.0))).astype(float)
        parts[0] = (drums * _filter(gate, "lowpass", 20.0, ctx.sr), 1.0)
        pad_c = np.array([_chord_notes(root + 24, _MINOR, 0, 4)])
        pad = _chords(
            ctx,
            np.array([-0.5]),
            1e3,
            pad_c,
            1.0,
            _harmonics(ctx, 16, 1.2),
            attack=1.0,
            detune=(-8.0, 8.0),
        )
        parts.append((_filter(pad, "lowpass", ctx.u(600, 2500), ctx.sr) * (1.0 - gate), 0.5))
    if ctx.chance(0.5):  # minor stab once per bar
        stab_t = s16[pos == int(ctx.rng.choice([3, 6, 10, 14]))]
        stab_c = np.tile(_chord_notes(root + 24, _MINOR, 0, 3), (stab_t.size, 1))
        stab = _chords(
            ctx,
            stab_t,
            beat * 0.25,
            stab_c,
            1.0,
            _harmonics(ctx, 20, ctx.u(0.9, 1.4)),
            decay=ctx.u(0.08, 0.2),
            sustain=0.0,
            release=0.05,
        )
        parts.append((_reverb(ctx, stab, t60=ctx.u(0.5, 1.5), wet=0.5), ctx.u(0.2, 0.5)))
    mix = _mix(*parts)
    return np.tanh(ctx.u(0.5, 1.5) * mix / np.abs(mix).max() * 2.0)


_RENDERERS: dict[str, Callable[[_Ctx], np.ndarray]] = {
    "ambient": _ambient,
    "classical": _classical,
    "hiphop": _hiphop,
    "jazz": _jazz,
    "rock": _rock,
    "techno": _techno,
}


def _render(style: str, index: int, *, seed: int, n: int, sr: int) -> np.ndarray:
    """One clip: the style's arrangement, then a random master EQ, noise floor and level."""
    style_id = zlib.crc32(style.encode("ascii"))  # stable, unlike hash() or a position in a list
    ctx = _Ctx(np.random.default_rng([seed, style_id, index]), n, sr)
    y = _RENDERERS[style](ctx)
    if ctx.chance(0.4):  # master EQ: a darker or thinner mix, blurring the timbre cues
        if ctx.chance(0.6):
            y = _filter(y, "lowpass", ctx.u(2500, 9000), sr, 1)
        else:
            y = _filter(y, "highpass", ctx.u(60, 300), sr, 1)
    noise = ctx.rng.standard_normal(n)
    color = ctx.rng.integers(3)
    if color == 1:  # pink-ish
        noise = _filter(noise, "lowpass", ctx.u(500, 3000), sr, 1)
    elif color == 2:  # hum-like low rumble
        noise = _filter(noise, "lowpass", ctx.u(80, 300), sr, 2)
    snr_db = ctx.u(12.0, 45.0)
    y = y / _rms(y) + noise / _rms(noise) * 10.0 ** (-snr_db / 20.0)
    peak = 10.0 ** (ctx.u(-10.0, -0.5) / 20.0)
    return np.clip(y * (peak / max(float(np.abs(y).max()), 1e-9)), -1.0, 1.0)
