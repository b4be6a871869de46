"""Shared data of the neural-network tests: feature blobs and a small separable audio corpus."""

from __future__ import annotations

from pathlib import Path

import numpy as np

SR = 22050
LABELS = ("high", "low", "noise")


def blobs(n_per_class: int = 40, n_features: int = 8, seed: int = 0):
    """Three well-separated Gaussian clusters labelled blues / jazz / rock."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 4, size=(3, n_features))
    X = np.concatenate([c + rng.normal(0, 1, size=(n_per_class, n_features)) for c in centers])
    y = np.repeat(np.array(["blues", "jazz", "rock"]), n_per_class)
    return X, y


def write_corpus(root: Path, n_per_class: int = 6, seconds: float = 2.0) -> Path:
    """Three clearly separable classes: a high sine, a low harmonic tone, noise bursts."""
    import soundfile as sf

    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * SR)) / SR
    for label in LABELS:
        (root / label).mkdir(parents=True, exist_ok=True)
        for i in range(n_per_class):
            if label == "high":
                y = 0.4 * np.sin(2 * np.pi * rng.uniform(3000, 4500) * t)
            elif label == "low":
                f0 = rng.uniform(80, 160)
                y = sum(0.3 / k * np.sin(2 * np.pi * k * f0 * t) for k in (1, 2, 3))
            else:
                gate = np.sin(2 * np.pi * rng.uniform(2, 4) * t) > 0
                y = 0.4 * gate * rng.standard_normal(t.size)
            y = y + 0.01 * rng.standard_normal(t.size)
            sf.write(root / label / f"{label}.{i:05d}.wav", y.astype(np.float32), SR)
    return root


def cnn_config(**changes):
    """A CNNConfig small enough for tests (1 s segments, one thread)."""
    from featurelab.nn.cnn import CNNConfig

    base = dict(segment=1.0, epochs=12, batch_size=8, patience=12, augment_every=4, threads=1)
    return CNNConfig.from_dict({**base, **changes})
