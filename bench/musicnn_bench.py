"""Benchmark the musicnn feature sets on the GTZAN excerpts: extraction speed and genre accuracy.

Usage::

    python bench/musicnn_bench.py [--data ../shared/data/gtzan-excerpts] [--out /tmp/musicnn_bench]
        [--threads 1 2] [--musicnn-models MSD_musicnn MTT_musicnn MSD_vgg MTT_vgg]
        [--sets gtzan musicnn musicnn:mean,std,max musicnn_vgg:max gtzan+musicnn] [--models svm logreg]

1. Speed: every excerpt is decoded once (``featurelab.io.load_audio``, 22050 Hz, not timed), then
   ``musicnn_features(model=M, pool="mean,std,max")`` runs on it for each published model ``M``
   that ``--sets`` needs, with ``n_threads`` torch threads; x realtime = audio seconds / compute
   seconds (resampling + mel + network). The first file is run once before timing (model load,
   librosa warm-up). The models take turns on each file, so a change of machine load hits them
   alike: compare them by their ratios within one run. ``cpu_seconds`` (process CPU time) and
   ``x_realtime_per_cpu_second`` depend less on what else runs on the machine.
2. Tables: one table per model, with all three pooling statistics, from the timing loop; the
   ``gtzan`` table from ``featurelab.extraction.extract(..., features="gtzan")`` (cached in
   ``--out``).
3. Feature variants (``--sets``): ``+`` joins parts; a part is ``gtzan`` or a musicnn column
   prefix (``musicnn``, ``musicnn_mtt``, ``musicnn_vgg``, ``musicnn_mtt_vgg``) with optional
   ``:POOLS`` (comma-separated among mean, std, max; default ``mean,std``, i.e. the registered set
   of that prefix; ``:mean,std,max`` is its ``*_pooled`` set). A part selects the columns
   ``musicnn_columns(model, pools)`` of the model's table: the same values ``featurelab extract
   -f <set>`` writes for those sets.
4. Accuracy: ``featurelab.models.evaluate`` (what ``featurelab gridsearch`` runs; nested: the
   default grid of ``configs/<model>.yaml`` is searched inside each outer training fold) with 5
   outer folds, grouped by track. Each excerpt is its own track, so StratifiedGroupKFold here equals
   StratifiedKFold.

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
ALL_POOLS = "mean,std,max"


def files_of(root: Path) -> list[Path]:
    files = sorted(root.glob("*/*.wav"))
    if not files:
        raise SystemExit(f"no excerpts under {root}")
    return files


def musicnn_tables(files, signals, models: list[str], n_threads: int) -> tuple[dict[str, pd.DataFrame], list]:
    """Tables and speed of each model; the models take turns on each file (fair under varying load)."""
    from featurelab.features.musicnn import musicnn_features

    def run(model, y, sr):
        return musicnn_features(y, sr, model=model, pool=ALL_POOLS, n_threads=n_threads)

    for model in models:
        run(model, *signals[0])  # warm-up: weights, librosa, torch
    rows: dict[str, list] = {model: [] for model in models}
    compute = dict.fromkeys(models, 0.0)
    cpu = dict.fromkeys(models, 0.0)
    for path, (y, sr) in zip(files, signals, strict=True):
        for model in models:
            start, start_cpu = time.perf_counter(), time.process_time()
            feats = run(model, y, sr)
            compute[model] += time.perf_counter() - start
            cpu[model] += time.process_time() - start_cpu
            rows[model].append({"filename": path.name, "length": len(y), **feats, "label": path.parent.name})
    audio = sum(len(y) / sr for y, sr in signals)
    speeds = [
        {
            "set": model,
            "n_threads": n_threads,
            "audio_seconds": round(audio, 2),
            "compute_seconds": round(compute[model], 2),
            "x_realtime": round(audio / compute[model], 2),
            "seconds_per_file": round(compute[model] / len(files), 3),
            "cpu_seconds": round(cpu[model], 2),
            "x_realtime_per_cpu_second": round(audio / cpu[model], 2),
        }
        for model in models
    ]
    return {model: pd.DataFrame(rows[model]) for model in models}, speeds


def gtzan_table(root: Path, out: Path) -> pd.DataFrame:
    from featurelab.extraction import extract

    return extract(root, features="gtzan", n_jobs=1, cache=out / "cache")


def _prefixes() -> dict[str, str]:
    """Column prefix (``musicnn_vgg``) -> model (``MSD_vgg``)."""
    from featurelab.features.musicnn import MODELS, musicnn_columns

    return {musicnn_columns(model)[0].rsplit("_emb", 1)[0]: model for model in MODELS}


def part_columns(part: str) -> tuple[str, list[str] | None]:
    """``(table name, columns)`` of one ``--sets`` part; ``None``: all of the table's features."""
    from featurelab.features.musicnn import musicnn_columns

    name, _, pools = part.partition(":")
    if name == "gtzan":
        return "gtzan", None
    model = _prefixes().get(name)
    if model is None:
        raise SystemExit(f"unknown part {part!r}: gtzan or one of {', '.join(_prefixes())}[:POOLS]")
    return model, musicnn_columns(model, pools or "mean,std")


def combine(tables: dict[str, pd.DataFrame], spec: str) -> pd.DataFrame:
    frame = None
    for part in spec.split("+"):
        name, columns = part_columns(part)
        table = tables[name]
        if columns is not None:
            table = table[["filename", "length", *columns, "label"]]
        if frame is None:
            frame = table
        else:
            other = table.drop(columns=["length", "label"], errors="ignore")
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
    parser.add_argument("--models", nargs="*", default=["svm", "logreg"], help="none: speed only")
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument(
        "--reuse", action="store_true", help="read the feature tables written to --out by an earlier run"
    )
    args = parser.parse_args(argv)

    import torch

    from featurelab.features.musicnn import MODELS
    from featurelab.io import load_audio
    from featurelab.models import evaluate

    args.out.mkdir(parents=True, exist_ok=True)
    files = files_of(args.data)
    needed = {part_columns(part)[0] for spec in args.sets for part in spec.split("+")}
    tables: dict[str, pd.DataFrame] = {}
    speeds = []
    if args.reuse:
        for name in needed:
            tables[name] = pd.read_csv(args.out / f"{name}.csv")
    models = [model for model in MODELS if model in needed and model not in tables]
    if models:
        signals = [load_audio(path, sr=22050) for path in files]
        for n_threads in args.threads:
            new_tables, new_speeds = musicnn_tables(files, signals, models, n_threads)
            for speed in new_speeds:
                print(json.dumps(speed), flush=True)
            speeds += new_speeds
        for model, table in new_tables.items():
            tables[model] = table
            table.to_csv(args.out / f"{model}.csv", index=False)
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
        frame = combine(tables, spec)
        for model in args.models:
            start = time.perf_counter()
            result = evaluate(
                frame, model, cv=args.cv, repeats=args.repeats, seed=42, n_jobs=args.n_jobs, group="group"
            )
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
    if results:
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
