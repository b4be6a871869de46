"""Benchmark the musicnn feature sets on the GTZAN excerpts: extraction speed and genre accuracy.

Usage::

    python bench/musicnn_bench.py [--data ../shared/data/gtzan-excerpts] [--out /tmp/musicnn_bench]
        [--threads 1 2] [--sets gtzan musicnn gtzan+musicnn] [--models svm lgbm voting]

1. Speed: every excerpt is decoded once (``featurelab.io.load_audio``, 22050 Hz, not timed), then
   ``musicnn_features`` (and ``musicnn_mtt_features`` if asked) runs on it with ``n_threads`` torch
   threads; x realtime = audio seconds / compute seconds (resampling + mel + network). The first
   file is run once before timing (model load, librosa warm-up).
2. Tables: the ``musicnn`` rows come from the timing loop; the ``gtzan`` table from
   ``featurelab.extraction.extract(..., features="gtzan")`` (cached in ``--out``).
3. Accuracy: ``featurelab.models.evaluate`` (nested: the default grid of ``configs/<model>.yaml``
   is searched inside each outer training fold) with 5 outer folds, grouped by track. Each excerpt
   is its own track, so StratifiedGroupKFold here equals StratifiedKFold.

Writes ``speed.json``, ``accuracy.csv`` and the feature tables into ``--out`` and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import pandas as pd

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gtzan-excerpts"


def files_of(root: Path) -> list[Path]:
    files = sorted(root.glob("*/*.wav"))
    if not files:
        raise SystemExit(f"no excerpts under {root}")
    return files


def musicnn_table(files, func, n_threads: int) -> tuple[pd.DataFrame, dict]:
    from featurelab.io import load_audio

    signals = [load_audio(path, sr=22050) for path in files]
    func(signals[0][0], signals[0][1], n_threads=n_threads)  # warm-up: weights, librosa, torch
    rows, compute, audio = [], 0.0, 0.0
    for path, (y, sr) in zip(files, signals, strict=True):
        start = time.perf_counter()
        feats = func(y, sr, n_threads=n_threads)
        compute += time.perf_counter() - start
        audio += len(y) / sr
        rows.append({"filename": path.name, "length": len(y), **feats, "label": path.parent.name})
    speed = {
        "n_threads": n_threads,
        "audio_seconds": round(audio, 2),
        "compute_seconds": round(compute, 2),
        "x_realtime": round(audio / compute, 2),
        "seconds_per_file": round(compute / len(files), 3),
    }
    return pd.DataFrame(rows), speed


def gtzan_table(root: Path, out: Path) -> pd.DataFrame:
    from featurelab.extraction import extract

    return extract(root, features="gtzan", n_jobs=1, cache=out / "cache")


def combine(tables: dict[str, pd.DataFrame], names: list[str]) -> pd.DataFrame:
    frame = tables[names[0]]
    for name in names[1:]:
        other = tables[name].drop(columns=["length", "label"], errors="ignore")
        frame = frame.merge(other, on="filename", how="inner", validate="one_to_one")
    frame = frame.copy()
    frame["group"] = frame["filename"].str.rsplit(".", n=1).str[0]  # one track per excerpt
    return frame


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=Path("/tmp/musicnn_bench"))
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--sets", nargs="+", default=["gtzan", "musicnn", "gtzan+musicnn"])
    parser.add_argument("--models", nargs="+", default=["svm", "lgbm", "voting"])
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument(
        "--reuse", action="store_true", help="read the feature tables written to --out by an earlier run"
    )
    args = parser.parse_args(argv)

    import torch

    from featurelab.features.musicnn import musicnn_features, musicnn_mtt_features
    from featurelab.models import evaluate

    args.out.mkdir(parents=True, exist_ok=True)
    files = files_of(args.data)
    needed = {name for spec in args.sets for name in spec.split("+")}
    tables: dict[str, pd.DataFrame] = {}
    speeds = []
    if args.reuse:
        for name in needed:
            tables[name] = pd.read_csv(args.out / f"{name}.csv")
    for name, func in (("musicnn", musicnn_features), ("musicnn_mtt", musicnn_mtt_features)):
        if name not in needed or name in tables:
            continue
        for n_threads in args.threads:
            table, speed = musicnn_table(files, func, n_threads)
            speeds.append({"set": name, **speed})
            print(json.dumps(speeds[-1]), flush=True)
        tables[name] = table
        table.to_csv(args.out / f"{name}.csv", index=False)
    if "gtzan" in needed and "gtzan" not in tables:
        start = time.perf_counter()
        tables["gtzan"] = gtzan_table(args.data, args.out)
        audio = sum(tables["gtzan"]["length"]) / 22050
        speeds.append(
            {
                "set": "gtzan",
                "n_threads": 1,
                "x_realtime_incl_decoding": round(audio / (time.perf_counter() - start), 2),
            }
        )
        tables["gtzan"].to_csv(args.out / "gtzan.csv", index=False)
    env = {
        "torch": torch.__version__,
        "torch_threads_default": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "load_avg_1min": _load(),
    }
    if speeds:
        (args.out / "speed.json").write_text(json.dumps({"speeds": speeds, "env": env}, indent=2))

    results = []
    for spec in args.sets:
        frame = combine(tables, spec.split("+"))
        for model in args.models:
            start = time.perf_counter()
            result = evaluate(frame, model, cv=args.cv, seed=42, n_jobs=args.n_jobs, group="group")
            summary = result.summary()
            results.append(
                {
                    "features": spec,
                    "n_features": summary.get("n_features"),
                    "model": model,
                    "accuracy_mean": round(result.mean("accuracy"), 4),
                    "accuracy_std": round(result.std("accuracy"), 4),
                    "protocol": summary.get("protocol"),
                    "minutes": round((time.perf_counter() - start) / 60, 1),
                }
            )
            print(json.dumps(results[-1]), flush=True)
            pd.DataFrame(results).to_csv(args.out / "accuracy.csv", index=False)
    print(pd.DataFrame(results).to_string(index=False))
    print(json.dumps({"speeds": speeds, "env": env}, indent=2))


def _load() -> float | None:
    try:
        import os

        return round(os.getloadavg()[0], 2)
    except OSError:  # pragma: no cover
        return None


if __name__ == "__main__":
    main()
