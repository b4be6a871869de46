"""Extraction benchmark: the naive librosa loop against featurelab, same files, one run.

The naive loop is how the studies compute the published tables: decode each file, call librosa once
per feature (each call recomputing its STFT), once for the track table and once per 3 s segment, in a
single process (``featurelab.features.reference`` is exactly that code). featurelab computes both
tables from one decoding per file with its fast engine, with 1 and with 2 worker processes.

Each mode runs in its own child process so that its peak RSS is its own. Prints audio seconds,
x-realtime, speed-up ratios, peak RSS and the largest relative deviation per column between the naive
and the featurelab tables. Uses ../shared/data/gtzan-excerpts when present, synthesized audio otherwise.

    python bench/extract_bench.py                 # 2 files per genre
    python bench/extract_bench.py --per-genre 10  # all 100 excerpts
    python bench/extract_bench.py --long          # also: peak RSS of one 10-minute file
    python bench/extract_bench.py --long 10,20,40 --long-only   # peak RSS per file length only

``--long`` runs ``featurelab extract DIR -o seg.csv --segment 3 --track-out tracks.csv --jobs 1`` on
a folder holding one synthesized file of each length (a new process each; peak RSS: the kernel's
high-water mark of that process, or the sampled sum of its process tree if larger); run it with ``PYTHONPATH=<other checkout>`` to measure another version's CLI.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data" / "gtzan-excerpts"


def peak_rss_mb() -> float:
    """Peak RSS of this process plus the largest finished child (Linux reports kB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + children) / 1024


class TreeMemory:
    """Samples the summed RSS of a process and all its descendants (worker pools stay alive, so
    getrusage cannot see them); keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        import threading

        import psutil

        self.proc, self.peak, self.interval = psutil.Process(pid), 0.0, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
                total = sum(p.memory_info().rss for p in procs if p.is_running())
                self.peak = max(self.peak, total / 2**20)
            except psutil.Error:
                pass
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def pick_files(per_genre: int, workdir: Path) -> list[Path]:
    if DATA.is_dir():
        files = []
        for genre in sorted(p for p in DATA.iterdir() if p.is_dir()):
            files += sorted(genre.glob("*.wav"))[:per_genre]
        return files
    from featurelab.synthetic import make_synthetic_corpus

    frame = make_synthetic_corpus(workdir / "synthetic", n_per_class=per_genre, duration=20.0, seed=0)
    return [Path(p) for p in frame["path"]]


def run_naive(files: list[Path], out: Path) -> dict:
    import librosa

    from featurelab.datasets import segment_name
    from featurelab.extraction import segment_bounds
    from featurelab.features.reference import reference_gtzan_features

    track_rows, segment_rows, seconds = [], [], 0.0
    started = time.perf_counter()
    for path in files:  # the 30 s table script
        y, sr = librosa.load(path, sr=22050)
        seconds += len(y) / sr
        track_rows.append({"filename": path.name, **reference_gtzan_features(y, sr)})
    for path in files:  # the 3 s table script
        y, sr = librosa.load(path, sr=22050)
        for i, (a, b) in enumerate(segment_bounds(len(y), sr, 3.0)):
            segment_rows.append(
                {"filename": segment_name(path.name, i), **reference_gtzan_features(y[a:b], sr)}
            )
    elapsed = time.perf_counter() - started
    pd.DataFrame(track_rows).to_parquet(out / "naive_track.parquet")
    pd.DataFrame(segment_rows).to_parquet(out / "naive_segment.parquet")
    return {"elapsed": elapsed, "seconds": seconds}


def run_featurelab(files: list[Path], out: Path, jobs: int) -> dict:
    from featurelab.extraction import extract_tables

    started = time.perf_counter()
    result = extract_tables(files, segment=3.0, tables=("track", "segment"), n_jobs=jobs)
    elapsed = time.perf_counter() - started
    for kind, table in result.tables.items():
        table.to_parquet(out / f"featurelab{jobs}_{kind}.parquet")
    return {"elapsed": elapsed, "seconds": result.audio_seconds}


def synthesize_long(minutes: float, folder: Path) -> Path:
    """One synthesized file of ``minutes`` (22050 Hz, 16 bit) alone in ``folder``, written in pieces."""
    import soundfile as sf

    sr = 22050
    path = folder / f"long_{minutes:g}min.wav"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    n = int(minutes * 60 * sr)
    with sf.SoundFile(path, "w", sr, 1, subtype="PCM_16") as handle:
        for start in range(0, n, 60 * sr):
            t = np.arange(start, min(n, start + 60 * sr)) / sr
            y = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 0.5 * t))
            handle.write((y + 0.05 * rng.standard_normal(t.size)).astype(np.float32))
    return path


def run_long(minutes: float, work: Path) -> dict:
    """Wall time and process-tree peak RSS of the CLI on one file of ``minutes`` (both tables)."""
    folder = work / f"long{minutes:g}"
    synthesize_long(minutes, folder / "in")
    command = [
        sys.executable, "-m", "featurelab", "extract", str(folder / "in"), "-o", str(folder / "seg.csv"),
        "--segment", "3", "--track-out", str(folder / "tracks.csv"), "--jobs", "1", "--quiet",
    ]  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.Popen(  # not in a checkout: `python -m` would import the one in the cwd
        command, env={**os.environ, "PYTHONWARNINGS": "ignore"}, stdout=subprocess.DEVNULL, cwd=folder
    )
    with TreeMemory(proc.pid) as memory:
        # The kernel's high-water mark of the process (it runs the one file in-process): sampling
        # misses short peaks (temporaries that live a few hundred ms) on a busy machine.
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"featurelab extract of {minutes:g} minutes failed with exit code {proc.returncode}")
    peak = max(memory.peak, usage.ru_maxrss / 1024)
    return {"elapsed": time.perf_counter() - started, "seconds": minutes * 60, "peak_rss_mb": peak}


def child(mode: str, files: list[Path], out: Path) -> None:
    if mode == "naive":
        info = run_naive(files, out)
    else:
        info = run_featurelab(files, out, int(mode[len("featurelab") :]))
    info["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(info))


def deviations(naive: pd.DataFrame, fast: pd.DataFrame) -> pd.Series:
    fast = fast.set_index("filename").loc[naive["filename"]]
    naive = naive.set_index("filename")
    cols = [c for c in naive.columns if c in fast.columns]
    a, b = naive[cols].to_numpy(float), fast[cols].to_numpy(float)
    rel = np.abs(a - b) / np.maximum(np.abs(a), 1e-12)
    return pd.Series(rel.max(axis=0), index=cols)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--per-genre", type=int, default=2)
    parser.add_argument(
        "--long",
        nargs="?",
        const="10",
        metavar="MINUTES",
        help="also measure one file of each length (minutes, comma-separated; default 10)",
    )
    parser.add_argument("--long-only", action="store_true", help="only the --long measurements")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--files", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        files = [Path(p) for p in json.loads(Path(args.files).read_text())]
        child(args.child, files, Path(args.out))
        return

    work = Path(tempfile.mkdtemp(prefix="featurelab-bench-"))
    lengths = [float(m) for m in args.long.split(",")] if args.long else []
    if args.long_only:
        print_long(lengths, work)
        return
    files = pick_files(args.per_genre, work)
    (work / "files.json").write_text(json.dumps([str(f) for f in files]))
    modes = ["naive", "featurelab1", "featurelab2"]
    results = {}
    for mode in modes:
        proc = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--child",
                mode,
                "--files",
                str(work / "files.json"),
                "--out",
                str(work),
            ],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        with TreeMemory(proc.pid) as memory:
            stdout, _ = proc.communicate()
        if proc.returncode:
            raise SystemExit(f"{mode} failed with exit code {proc.returncode}")
        results[mode] = json.loads(stdout.strip().splitlines()[-1])
        r = results[mode]
        r["peak_rss_mb"] = max(r["peak_rss_mb"], memory.peak)
        print(
            f"{mode:12s} {r['seconds']:8.1f} s audio  {r['elapsed']:7.1f} s  {r['seconds'] / r['elapsed']:6.1f}x realtime  peak RSS (process tree) {r['peak_rss_mb']:6.0f} MB",
            flush=True,
        )

    naive = results["naive"]["elapsed"]
    print(
        f"\nsource: {'GTZAN excerpts' if DATA.is_dir() else 'synthesized'}, {len(files)} files, track + 3 s segment tables"
    )
    for jobs in (1, 2):
        print(
            f"speed-up featurelab --jobs {jobs} vs naive loop: {naive / results[f'featurelab{jobs}']['elapsed']:.1f}x"
        )
    for kind in ("track", "segment"):
        dev = deviations(
            pd.read_parquet(work / f"naive_{kind}.parquet"),
            pd.read_parquet(work / f"featurelab2_{kind}.parquet"),
        )
        print(
            f"\nlargest relative deviation per column, {kind} table (featurelab vs naive): max {dev.max():.2g}"
        )
        print("  " + ", ".join(f"{c} {v:.1g}" for c, v in dev.sort_values(ascending=False).items()))
    if lengths:
        print()
        print_long(lengths, work)


def print_long(lengths: list[float], work: Path) -> None:
    import featurelab

    print(f"long files, featurelab {featurelab.__version__} from {Path(featurelab.__file__).parent}:")
    for minutes in lengths:
        r = run_long(minutes, work)
        print(
            f"  {minutes:5g} min: {r['seconds'] / r['elapsed']:5.1f}x realtime, peak RSS (process tree) {r['peak_rss_mb']:5.0f} MB",
            flush=True,
        )


if __name__ == "__main__":
    main()
