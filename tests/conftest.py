"""Shared fixtures: a seeded random generator and small synthesized signals and corpora."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

SR = 22050


def checkout_env() -> dict[str, str]:
    """The environment of a subprocess (``python -m featurelab``, a Dask worker) that imports this
    checkout of featurelab, from any working folder."""
    import featurelab

    root = str(Path(featurelab.__file__).resolve().parents[1])
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


def sine(freq: float, seconds: float = 1.0, sr: int = SR, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def chirp(f0: float, f1: float, seconds: float = 1.0, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    phase = 2 * np.pi * (f0 * t + (f1 - f0) * t**2 / (2 * seconds))
    return (0.4 * np.sin(phase)).astype(np.float32)


def clicks(rate_hz: float, seconds: float = 2.0, sr: int = SR) -> np.ndarray:
    y = np.zeros(int(seconds * sr), dtype=np.float32)
    y[:: int(sr / rate_hz)] = 0.9
    return y


def noise(seconds: float = 1.0, sr: int = SR, seed: int = 0, amp: float = 0.2) -> np.ndarray:
    return (amp * np.random.default_rng(seed).standard_normal(int(seconds * sr))).astype(np.float32)


def music_like(seconds: float = 2.0, sr: int = SR, seed: int = 0) -> np.ndarray:
    """Chords, a kick-like click train and a little noise: every feature is non-trivial."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    root = rng.uniform(110, 220)
    y = sum(0.2 * np.sin(2 * np.pi * root * r * t) for r in (1.0, 1.25, 1.5, 2.0))
    beat = np.zeros_like(t)
    beat[:: int(sr * 60 / rng.uniform(90, 140))] = 1.0
    kick = np.convolve(beat, np.exp(-np.arange(800) / 120.0) * np.sin(np.arange(800) * 0.05))[: t.size]
    y = y + 0.6 * kick + 0.02 * rng.standard_normal(t.size)
    return (0.8 * y / np.max(np.abs(y))).astype(np.float32)


@pytest.fixture
def signals() -> dict[str, np.ndarray]:
    return {
        "sine440": sine(440, 1.5),
        "chirp": chirp(200, 4000, 1.5),
        "noise": noise(1.5),
        "clicks": clicks(4, 2.0),
        "music": music_like(3.0),
    }


@pytest.fixture
def write_wav(tmp_path: Path) -> Callable[..., Path]:
    """``write_wav(relpath, y, sr=SR, subtype="PCM_16")`` -> written path under tmp_path."""
    import soundfile as sf

    def _write(rel: str, y: np.ndarray, sr: int = SR, subtype: str = "PCM_16") -> Path:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, y, sr, subtype=subtype)
        return path

    return _write


@pytest.fixture
def tiny_corpus(tmp_path: Path, write_wav: Callable[..., Path]) -> Path:
    """A GTZAN-layout corpus: 3 labels x 3 files of 2.2 s (enough for two 1 s segments)."""
    root = tmp_path / "corpus"
    for li, label in enumerate(("bright", "dark", "rhythm")):
        for i in range(3):
            if label == "bright":
                y = chirp(2000 + 300 * i, 6000, 2.2) + noise(2.2, seed=i, amp=0.02)
            elif label == "dark":
                y = sine(110 + 20 * i, 2.2) + noise(2.2, seed=10 + i, amp=0.01)
            else:
                y = music_like(2.2, seed=li * 10 + i)
            write_wav(f"corpus/{label}/{label}.{i:05d}.wav", np.clip(y, -1, 1))
    return root


#: Test instrumentation for interrupted runs, imported at start-up by the run's processes (as
#: ``sitecustomize`` or a Dask worker preload): decoding ``gate.wav`` says so (``<gate>.waiting``)
#: and waits until the file named by ``FEATURELAB_TEST_GATE`` exists, so a run cannot finish (or
#: pass a point) before the test says so, whatever the machine's speed.
GATE_HOOK = """
import os, time
import featurelab.io

# Dask may run a preload more than once in a worker: wrap the original function only.
ungated = featurelab.io.__dict__.setdefault("_ungated_load_audio", featurelab.io.load_audio)


def load_audio(path, *args, **kwargs):
    if os.path.basename(os.fspath(path)) == "gate.wav":
        open(os.environ["FEATURELAB_TEST_GATE"] + ".waiting", "w").close()
        deadline = time.monotonic() + 300  # bounds a failing test only
        while not os.path.exists(os.environ["FEATURELAB_TEST_GATE"]) and time.monotonic() < deadline:
            time.sleep(0.05)
    return ungated(path, *args, **kwargs)


featurelab.io.load_audio = load_audio
"""
