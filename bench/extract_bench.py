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
    python bench/extract_bench.py --tracks 36     # 36 synthesized 30 s tracks instead
    python bench/extract_bench.py --cli-only --compare-with ../main   # the CLI of another checkout too

Besides featurelab's in-process time (``extract_tables``, after its imports), the bench times the
whole command ``featurelab extract CORPUS -o seg.csv --segment 3 --track-out tracks.csv --jobs N``
as a new process (start-up, imports, worker start and the CSV writing included; median of
``--repeat`` runs) and prints its ratio to the naive loop, whose time counts its loop only (decoding
included, imports excluded) and runs with one BLAS thread.

``--long`` runs ``featurelab extract DIR -o seg.csv --segment 3 --track-out tracks.csv --jobs 1`` on
a folder holding one synthesized file of each length (a new process each; peak RSS: the kernel's
high-water mark of that process, or the sampled sum of its process tree if larger); run it with
``PYTHONPATH=<other checkout>`` to measure another version's CLI.
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


def pick_files(per_genre: int, workdir: Path, tracks: int = 0) -> list[Path]:
    if tracks:
        return synthesized_tracks(tracks, workdir)
    if DATA.is_dir():
        files = []
        for genre in sorted(p for p in DATA.iterdir() if p.is_dir()):
            files += sorted(genre.glob("*.wav"))[:per_genre]
        return files
    from featurelab.synthetic import make_synthetic_corpus

    frame = make_synthetic_corpus(workdir / "synthetic", n_per_class=per_genre, duration=20.0, seed=0)
    return [Path(p) for p in frame["path"]]


def synthesized_tracks(n: int, workdir: Path) -> list[Path]:
    """``n`` synthesized 30 s tracks (GTZAN layout, styles in turn), cached under ``workdir``."""
    from featurelab.synthetic import SYNTHETIC_STYLES, make_synthetic_corpus

    root = workdir / f"synthetic30-{n}"
    files = []
    for index, style in enumerate(SYNTHETIC_STYLES):
        count = n // len(SYNTHETIC_STYLES) + (index < n % len(SYNTHETIC_STYLES))
        if not count:
            continue
        existing = sorted((root / style).glob("*.wav"))
        if len(existing) != count:
            make_synthetic_corpus(root, n_per_class=count, duration=30.0, seed=0, styles=style)
            existing = sorted((root / style).glob("*.wav"))
        files += existing
    return files


def corpus_folder(files: list[Path], workdir: Path) -> Path:
    """A GTZAN-layout folder of links to ``files`` (the CLI's input)."""
    root = workdir / "corpus"
    for path in files:
        link = root / path.parent.name / path.name
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to(path.resolve())
    return root


def children_cpu() -> float:
    """CPU seconds (user + system) of the finished child processes of this process, and theirs."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_cli(root: Path, out: Path, jobs: int, pythonpath: str) -> tuple[float, float, float]:
    """Wall time, CPU seconds (the process and its workers) and process-tree peak RSS (MB) of one
    ``featurelab extract`` writing both tables."""
    import shutil

    for name in ("seg.csv", "tracks.csv"):
        (out / name).unlink(missing_ok=True)
    shutil.rmtree(out / "seg.featurelab-cache", ignore_errors=True)  # the default resume cache
    command = [
        sys.executable, "-m", "featurelab", "extract", str(root), "-o", str(out / "seg.csv"),
        "--segment", "3", "--track-out", str(out / "tracks.csv"), "--jobs", str(jobs), "--quiet",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": pythonpath}
    cpu = children_cpu()
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    with TreeMemory(proc.pid) as memory:
        proc.wait()
    elapsed = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(f"featurelab extract failed with exit code {proc.returncode}")
    return elapsed, children_cpu() - cpu, memory.peak


def run_naive(files: list[Path], out: Path) -> dict:
    import librosa
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)  # the naive loop: one process, one BLAS thread

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
    parser.add_argument(
        "--tracks",
        type=int,
        default=0,
        help="use this many synthesized 30 s tracks instead of GTZAN excerpts",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each CLI command (median)")
    parser.add_argument("--cli-only", action="store_true", help="skip the in-process featurelab modes")
    parser.add_argument(
        "--compare-with",
        metavar="CHECKOUT",
        help="also time the CLI of another featurelab checkout (e.g. main), interleaved with this one",
    )
    parser.add_argument(
        "--workdir", help="keep the synthesized tracks here (default: a new temporary folder)"
    )
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
    files = pick_files(args.per_genre, Path(args.workdir) if args.workdir else work, args.tracks)
    (work / "files.json").write_text(json.dumps([str(f) for f in files]))
    modes = ["naive"] + ([] if args.cli_only else ["featurelab1", "featurelab2"])
    results = {}
    for mode in modes:
        cpu = children_cpu()
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
        r["cpu"] = children_cpu() - cpu  # the whole child process: imports, decoding, writing
        r["peak_rss_mb"] = max(r["peak_rss_mb"], memory.peak)
        print(
            f"{mode:12s} {r['seconds']:8.1f} s audio  {r['elapsed']:7.1f} s  {r['seconds'] / r['elapsed']:6.1f}x realtime  peak RSS (process tree) {r['peak_rss_mb']:6.0f} MB",
            flush=True,
        )

    naive = results["naive"]["elapsed"]
    seconds = results["naive"]["seconds"]
    source = (
        "synthesized 30 s tracks" if args.tracks else "GTZAN excerpts" if DATA.is_dir() else "synthesized"
    )
    print(f"\nsource: {source}, {len(files)} files, {seconds:.0f} s of audio, track + 3 s segment tables")
    if not args.cli_only:
        for jobs in (1, 2):
            print(
                f"speed-up featurelab --jobs {jobs} (in process, after imports) vs naive loop: "
                f"{naive / results[f'featurelab{jobs}']['elapsed']:.1f}x"
            )

    # The whole command, start-up included, each run a new process; checkouts interleaved.
    root = corpus_folder(files, work)
    checkouts = {"this": str(HERE.parent)}
    if args.compare_with:
        checkouts["other"] = str(Path(args.compare_with).resolve())
    times: dict[tuple[str, int], list[float]] = {}
    cpus: dict[tuple[str, int], list[float]] = {}
    peaks: dict[tuple[str, int], float] = {}
    tiny = corpus_folder(files[:2], work / "warm")  # compiles/loads each checkout's numba caches
    for path in checkouts.values():
        run_cli(tiny, work / "warm", 2, path)
    for _ in range(args.repeat):
        for jobs in (1, 2):
            for name, path in checkouts.items():
                elapsed, cpu, peak = run_cli(root, work, jobs, path)
                times.setdefault((name, jobs), []).append(elapsed)
                cpus.setdefault((name, jobs), []).append(cpu)
                peaks[name, jobs] = max(peak, peaks.get((name, jobs), 0.0))
                for table in ("seg", "tracks"):
                    (work / f"{table}.csv").replace(work / f"{table}-{name}{jobs}.csv")
    print("\nfeaturelab extract CORPUS -o seg.csv --segment 3 --track-out tracks.csv --jobs N (new process):")
    for (name, jobs), values in times.items():
        median = float(np.median(values))
        label = "this checkout" if name == "this" else checkouts[name]
        print(
            f"  --jobs {jobs} {label}: median {median:.2f} s (min {min(values):.2f}, max {max(values):.2f}), "
            f"{seconds / median:.0f}x realtime, {naive / median:.1f}x the naive loop "
            f"({naive / max(values):.1f}-{naive / min(values):.1f}x), peak RSS {peaks[name, jobs]:.0f} MB"
        )
        cpu = float(np.median(cpus[name, jobs]))
        print(
            f"    CPU {cpu:.1f} s (the naive process: {results['naive']['cpu']:.1f} s): "
            f"{results['naive']['cpu'] / cpu:.1f}x less work; spread perfectly over {jobs} idle "
            f"core(s), {results['naive']['cpu'] / (cpu / jobs):.1f}x the naive loop (load-independent)"
        )
    tables = {
        key: tuple((work / f"{table}-{key[0]}{key[1]}.csv").read_bytes() for table in ("seg", "tracks"))
        for key in times
    }
    print(
        "  tables (segment, track) byte-identical across --jobs"
        + (" and checkouts" if len(checkouts) > 1 else "")
        + f": {len(set(tables.values())) == 1}"
    )
    if args.cli_only:
        return
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
