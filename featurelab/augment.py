"""Waveform augmentation of feature-table rows: a small spec language, presets, seeded draws.

``featurelab extract --augment SPEC --copies N`` adds, for every file, ``N`` augmented copies of its
rows (training rows only: see :mod:`featurelab.models.splits`). SPEC lists transforms, applied in
the order given, separated by commas; each is ``NAME=LO:HI`` (a value drawn uniformly in
``[LO, HI]``; ``NAME=V`` for a fixed value), optionally ``@P`` to apply it with probability ``P``:

============  =====================================================  ===============================
``gain``      gain in dB                                             ``audiomentations.Gain``
``noise``     white noise at a signal-to-noise ratio in dB           ``audiomentations.AddGaussianSNR``
``crop``      a random excerpt of LO..HI seconds (shorter: whole)    numpy
``stretch``   time stretch by a rate (length kept)                   ``audiomentations.TimeStretch``
``pitch``     pitch shift in semitones                               ``audiomentations.PitchShift``
``lowpass``   low-pass filter, cutoff in Hz                          ``audiomentations.LowPassFilter``
``highpass``  high-pass filter, cutoff in Hz                         ``audiomentations.HighPassFilter``
============  =====================================================  ===============================

A preset name stands for its transforms, and a later item replaces an earlier one of the same name
(``shift,gain=-10:0``); the presets are in :data:`PRESETS`: ``shift`` is the shift benchmark's test
condition (2-3 s crops, -20..0 dB, 10-30 dB SNR noise), ``robust`` adds stretch and filters.

Each unit (a file for a track row, a window for a segment row) of copy ``c`` is drawn from its own
seed, a function of the settings' ``augment_seed``, the file's name, ``c`` and the unit's index
only (:func:`unit_seed`): tables are the same whatever the order of the files or the number of
workers. The audiomentations transforms need the ``[augment]`` extra
(``pip install 'featurelab[augment]'``); parsing a spec does not.

Examples
--------
>>> [t.name for t in parse_augment("shift")]
['crop', 'gain', 'noise']
>>> parse_augment("shift,gain=-6:0@0.5")[1]
Transform(name='gain', low=-6.0, high=0.0, p=0.5)
>>> augmenter = Augmenter("gain=-6")
>>> augmenter(np.ones(4, dtype=np.float32), 22050, seed=0).round(3)  # doctest: +SKIP
array([0.501, 0.501, 0.501, 0.501], dtype=float32)
"""

from __future__ import annotations

import contextlib
import random
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .exceptions import ParameterError

__all__ = [
    "Augmenter",
    "PRESETS",
    "TRANSFORMS",
    "Transform",
    "parse_augment",
    "seeded_global_rngs",
    "unit_seed",
    "AUGMENT_INSTALL_HINT",
]

AUGMENT_INSTALL_HINT = "pip install 'featurelab[augment]'"

#: Transform name -> (unit, smallest allowed value, largest allowed value).
TRANSFORMS: dict[str, tuple[str, float, float]] = {
    "gain": ("dB", -120.0, 60.0),
    "noise": ("dB SNR", -20.0, 120.0),
    "crop": ("s", 1e-3, 3600.0),
    "stretch": ("rate", 0.1, 10.0),
    "pitch": ("semitones", -24.0, 24.0),
    "lowpass": ("Hz", 20.0, 96000.0),
    "highpass": ("Hz", 1.0, 96000.0),
}

#: Named specs (``--augment shift``).
PRESETS: dict[str, str] = {
    "shift": "crop=2:3,gain=-20:0,noise=10:30",
    "robust": "shift,stretch=0.9:1.1@0.5,lowpass=2000:7500@0.25,highpass=20:400@0.25",
}


@dataclass(frozen=True)
class Transform:
    """One parsed item of a spec: a value in ``[low, high]``, applied with probability ``p``."""

    name: str
    low: float
    high: float
    p: float = 1.0


def _spec_error(spec: str, problem: str) -> ParameterError:
    return ParameterError(
        f"augment {spec!r}: {problem}. A spec lists NAME=LO:HI[@P] items or presets, separated by "
        f"commas; names: {', '.join(TRANSFORMS)}; presets: {', '.join(PRESETS)} "
        "(e.g. 'shift' or 'gain=-20:0,noise=10:30,crop=2:3')."
    )


def _number(text: str, spec: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _spec_error(spec, f"{text!r} is not a number") from None
    if not np.isfinite(value):
        raise _spec_error(spec, f"{text!r} is not a finite number")
    return value


def _parse_item(item: str, spec: str) -> Transform:
    name, _, rest = item.partition("=")
    name = name.strip().lower()
    if name not in TRANSFORMS:
        raise _spec_error(spec, f"unknown transform or preset {name!r}")
    if not rest.strip():
        raise _spec_error(spec, f"{name} needs a value or a range (e.g. {name}=LO:HI)")
    values, _, p_text = rest.partition("@")
    low_text, _, high_text = values.partition(":")
    low = _number(low_text, spec)
    high = _number(high_text, spec) if high_text.strip() else low
    p = _number(p_text, spec) if p_text.strip() else 1.0
    unit, smallest, largest = TRANSFORMS[name]
    if low > high:
        raise _spec_error(spec, f"{name} range {low:g}:{high:g} is reversed")
    if low < smallest or high > largest:
        raise _spec_error(spec, f"{name} must lie in {smallest:g}..{largest:g} {unit}")
    if not 0.0 < p <= 1.0:
        raise _spec_error(spec, f"{name} probability must be in (0, 1]; got {p:g}")
    return Transform(name, low, high, p)


def parse_augment(spec: str) -> tuple[Transform, ...]:
    """Parse an augmentation spec into its transforms, in order (presets expanded).

    Parameters
    ----------
    spec : str
        ``"shift"``, ``"gain=-20:0,noise=10:30@0.5"``, ``"robust,crop=1:2"`` ...

    Returns
    -------
    tuple of Transform

    Raises
    ------
    ParameterError
        An unknown name, a value out of range, a reversed range or a probability outside (0, 1].
    """
    if not isinstance(spec, str) or not spec.strip():
        raise _spec_error(str(spec), "the spec is empty")
    out: dict[str, Transform] = {}

    def expand(text: str, depth: int) -> None:
        for raw in text.split(","):
            item = raw.strip()
            if not item:
                raise _spec_error(spec, "an item is empty")
            if item.lower() in PRESETS and depth < 3:
                expand(PRESETS[item.lower()], depth + 1)
                continue
            transform = _parse_item(item, spec)
            out[transform.name] = transform  # a later item replaces an earlier one, in place

    expand(spec, 0)
    return tuple(out.values())


def unit_seed(seed: int, name: str, copy: int, index: int) -> int:
    """Seed of one augmented unit: a function of the run's seed, the file's name, copy and unit.

    Examples
    --------
    >>> unit_seed(0, "blues.00000.wav", 1, 0) == unit_seed(0, "blues.00000.wav", 1, 0)
    True
    >>> unit_seed(0, "blues.00000.wav", 1, 0) != unit_seed(0, "blues.00000.wav", 2, 0)
    True
    """
    entropy = [int(seed), zlib.crc32(name.encode("utf-8")), int(copy), int(index)]
    return int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0] >> 1)


@contextlib.contextmanager
def seeded_global_rngs(seed: int) -> Iterator[None]:
    """Seed Python's and numpy's *global* random generators for one block, then restore them.

    ``audiomentations`` draws from the global generators; this makes its output a function of
    ``seed`` without leaving the caller's random streams changed.
    """
    py_state = random.getstate()
    np_state = np.random.get_state()
    try:
        random.seed(seed)
        np.random.seed(seed % (2**32))
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)


def _audiomentations() -> Any:
    try:
        import audiomentations
    except ImportError as error:
        raise ParameterError(
            f"Waveform augmentation (augment=...) needs audiomentations ({error}). Install the "
            f"extra: {AUGMENT_INSTALL_HINT}."
        ) from error
    return audiomentations


def _build(transform: Transform) -> Any:
    """Return the audiomentations transform of ``transform`` (always applied: ``p`` is drawn outside)."""
    am = _audiomentations()
    low, high = transform.low, transform.high
    if transform.name == "gain":
        return am.Gain(min_gain_db=low, max_gain_db=high, p=1.0)
    if transform.name == "noise":
        return am.AddGaussianSNR(min_snr_db=low, max_snr_db=high, p=1.0)
    if transform.name == "stretch":
        return am.TimeStretch(min_rate=low, max_rate=high, leave_length_unchanged=True, p=1.0)
    if transform.name == "pitch":
        return am.PitchShift(min_semitones=low, max_semitones=high, p=1.0)
    if transform.name == "lowpass":
        return am.LowPassFilter(min_cutoff_freq=low, max_cutoff_freq=high, p=1.0)
    if transform.name == "highpass":
        return am.HighPassFilter(min_cutoff_freq=low, max_cutoff_freq=high, p=1.0)
    raise AssertionError(transform.name)  # pragma: no cover - crop is applied in numpy


class Augmenter:
    """Apply an augmentation spec to one signal, deterministically for a seed.

    Parameters
    ----------
    spec : str
        An augmentation spec (see the module docstring).

    Examples
    --------
    >>> y = np.sin(np.arange(44100) / 10).astype(np.float32)
    >>> augment = Augmenter("crop=0.5:1,gain=-20:0")
    >>> z = augment(y, 22050, seed=3)  # doctest: +SKIP
    >>> 11025 <= len(z) <= 22050, np.array_equal(z, augment(y, 22050, seed=3))  # doctest: +SKIP
    (True, True)
    """

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.transforms = parse_augment(spec)
        self._built: dict[str, Any] = {}

    def __call__(self, y: np.ndarray, sr: int, *, seed: int) -> np.ndarray:
        """Return an augmented copy of ``y`` [shape=(n,)] (a crop may make it shorter), float32."""
        rng = np.random.default_rng(seed)
        out = np.array(y, dtype=np.float32)
        for transform in self.transforms:
            value_seed = int(rng.integers(2**63))
            if rng.random() >= transform.p:
                continue
            if transform.name == "crop":
                out = _crop(out, sr, transform, np.random.default_rng(value_seed))
                continue
            if transform.name not in self._built:
                self._built[transform.name] = _build(transform)
            with seeded_global_rngs(value_seed):
                out = np.asarray(self._built[transform.name](samples=out, sample_rate=sr), dtype=np.float32)
        if out.size and not np.all(np.isfinite(out)):
            out = np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)
        return out

    def __repr__(self) -> str:
        return f"Augmenter({self.spec!r})"


def _crop(y: np.ndarray, sr: int, transform: Transform, rng: np.random.Generator) -> np.ndarray:
    """Return a random excerpt of ``transform.low..high`` seconds (the whole signal when shorter)."""
    length = int(round(rng.uniform(transform.low, transform.high) * sr))
    if length >= len(y) or length < 1:
        return y
    start = int(rng.integers(0, len(y) - length + 1))
    return y[start : start + length].copy()
