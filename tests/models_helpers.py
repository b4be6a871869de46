"""Small synthetic feature tables with known structure, shared by the model tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

LABELS = ("blues", "jazz", "rock")


def track_table(
    n_per_class: int = 20, *, seed: int = 0, shift: float = 2.5, n_noise: int = 3
) -> pd.DataFrame:
    """A GTZAN-like track table: ``signal_mean`` separates the classes, ``spread_var`` is a
    positive heavy-tailed column, the rest is noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for k, label in enumerate(LABELS):
        for i in range(n_per_class):
            row = {
                "filename": f"{label}.{i:05d}.wav",
                "length": 661794,
                "signal_mean": rng.normal(k * shift, 1.0),
                "spread_var": float(np.exp(rng.normal(k, 1.0))),
            }
            for j in range(n_noise):
                row[f"noise{j}_mean"] = rng.normal()
            row["label"] = label
            rows.append(row)
    return pd.DataFrame(rows)


def segment_table(
    n_tracks_per_class: int = 8, n_segments: int = 5, *, seed: int = 0, shift: float = 1.5
) -> pd.DataFrame:
    """A segment table: rows ``<label>.<i:05d>.<s>.wav``; each track has its own offset, so
    segments of one track are alike (the leak group-aware splits must prevent)."""
    rng = np.random.default_rng(seed)
    rows = []
    for k, label in enumerate(LABELS):
        for i in range(n_tracks_per_class):
            track_offset = rng.normal(0, 1.0, size=2)
            for s in range(n_segments):
                rows.append(
                    {
                        "filename": f"{label}.{i:05d}.{s}.wav",
                        "length": 66149,
                        "signal_mean": k * shift + track_offset[0] + rng.normal(0, 0.3),
                        "track_mean": track_offset[1] + rng.normal(0, 0.05),
                        "noise_var": float(np.exp(rng.normal())),
                        "label": label,
                    }
                )
    return pd.DataFrame(rows)


def rings_table(n: int = 90, *, seed: int = 0) -> pd.DataFrame:
    """Two features; the label is the ring (radius band) a point lies in: only an RBF kernel
    separates the classes, a linear one cannot."""
    rng = np.random.default_rng(seed)
    radius = np.repeat([1.0, 3.0, 5.0], n // 3) + rng.normal(0, 0.25, size=3 * (n // 3))
    angle = rng.uniform(0, 2 * np.pi, size=radius.size)
    labels = np.repeat(LABELS, n // 3)
    return pd.DataFrame(
        {
            "filename": [f"{lab}.{i:05d}.wav" for i, lab in enumerate(labels)],
            "x_mean": radius * np.cos(angle),
            "y_mean": radius * np.sin(angle),
            "label": labels,
        }
    )
