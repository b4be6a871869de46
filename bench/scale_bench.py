"""Scale benchmark: many short synthesized files through `featurelab extract`, on joblib and on Dask.

Synthesizes N short files (default 20,000 x 0.5 s, ten "genres" of chords + noise + clicks) in a
GTZAN layout, then runs the real command line on them once per mode:

* ``jobs``: ``featurelab extract MANIFEST --manifest -o OUT --jobs W`` (joblib/loky processes),
* ``dask``: the same with ``--scheduler local --jobs W`` (a W-worker dask LocalCluster).

While a run goes, a monitor samples every process of the run (driver and workers) twice a second:
resident memory now and its peak (``VmHWM``), and the number of finished files (entries in the resume
cache). At each checkpoint (2,000, 10,000, 20,000 files done) it records the elapsed time, the
throughput (files/s and x realtime) and the memory of the driver and of the largest worker, so a
memory that grows with the corpus shows as growth between checkpoints. A smaller separate run
(``--small``) shows how much the driver's start-up memory depends on the corpus size.

A run that exceeds ``--budget-minutes`` is stopped and its end extrapolated from the steady rate
(this is said in the report). The machine's load average is reported with each run: other work on
the machine slows the throughput, not the memory.

Usage (about 10-20 minutes on 2 idle cores)::

    python bench/scale_bench.py --root /tmp/featurelab-scale --n 20000 --workers 2

Results: a Markdown table on stdout and ``<root>/scale_report.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import soundfile as sf

SR = 22050
LABELS = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")


# ----------------------------------------------------------------------------- the corpus
def synthesize(index: int, seconds: float) -> np.ndarray:
    """A short, deterministic, genre-flavoured signal: a chord, clicks at a tempo, some noise."""
    rng = np.random.default_rng(index)
    genre = index % len(LABELS)
    t = np.arange(int(seconds * SR)) / SR
    root = 80.0 * 2 ** (genre / 4) * rng.uniform(0.95, 1.05)
    y = sum(0.15 * np.sin(2 * np.pi * root * r * t) for r in (1.0, 1.26, 1.5, 2.0))
    clicks = np.zeros_like(t)
    clicks[:: int(SR * 60 / (70 + 10 * genre))] = 0.8
    y = y + np.convolve(clicks, np.exp(-np.arange(300) / 40.0))[: t.size]
    y = y + (0.01 + 0.01 * genre) * rng.standard_normal(t.size)
    return (0.8 * y / np.max(np.abs(y))).astype(np.float32)


def make_corpus(root: Path, n: int, seconds: float) -> tuple[Path, float]:
    """Write ``n`` files (skipping those present) and ``manifest_<n>.csv``; return (manifest, s)."""
    start = time.perf_counter()
    rows = []
    for i in range(n):
        label = LABELS[i % len(LABELS)]
        path = root / "audio" / label / f"{label}.{i:05d}.wav"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, synthesize(i, seconds), SR, subtype="PCM_16")
        rows.append({"path": str(path.relative_to(root)), "label": label})
    manifest = root / f"manifest_{n}.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    return manifest, time.perf_counter() - start


# ----------------------------------------------------------------------------- monitoring
def _hwm(proc: psutil.Process) -> int:
    """Peak resident memory (bytes) of a live process, from /proc (Linux) or its current RSS."""
    try:
        with open(f"/proc/{proc.pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return proc.memory_info().rss
    except psutil.Error:
        return 0


def _count_entries(cache: Path) -> int:
    if not cache.is_dir():
        return 0
    total = 0
    for sub in os.scandir(cache):
        if sub.is_dir():
            total += sum(1 for entry in os.scandir(sub.path) if entry.name.endswith(".json"))
    return total


class Monitor(threading.Thread):
    """Samples a process tree: RSS and peak RSS of the driver and of every descendant."""

    def __init__(self, pid: int, cache: Path, checkpoints: list[int], interval: float = 0.5):
        super().__init__(daemon=True)
        self.driver = psutil.Process(pid)
        self.cache = cache
        self.checkpoints = sorted(checkpoints)
        self.interval = interval
        self.started = time.perf_counter()
        self.stop_event = threading.Event()
        self.samples: list[dict] = []
        self.marks: list[dict] = []
        self.driver_peak = 0
        self.worker_peaks: dict[int, int] = {}
        self.first_done_at: float | None = None
        self.done = 0
        self.loads: list[float] = []

    def run(self) -> None:
        last_count = 0.0
        while not self.stop_event.is_set():
            now = time.perf_counter() - self.started
            try:
                driver_rss = self.driver.memory_info().rss
                self.driver_peak = max(self.driver_peak, _hwm(self.driver))
                children = self.driver.children(recursive=True)
            except psutil.Error:
                break
            workers_rss = []
            for child in children:
                try:
                    workers_rss.append(child.memory_info().rss)
                    self.worker_peaks[child.pid] = max(self.worker_peaks.get(child.pid, 0), _hwm(child))
                except psutil.Error:
                    continue
            # Count often near a checkpoint: the last one is reached just before the run exits.
            near = bool(self.checkpoints) and self.done >= 0.95 * self.checkpoints[0]
            if near or now - last_count >= 2.0 or not self.samples:
                self.done = _count_entries(self.cache)
                last_count = now
                if self.done and self.first_done_at is None:
                    self.first_done_at = now
            self.loads.append(os.getloadavg()[0])
            sample = {
                "t": round(now, 2),
                "done": self.done,
                "driver_rss": driver_rss,
                "workers_rss_max": max(workers_rss, default=0),
                "workers_rss_sum": sum(workers_rss),
                "n_processes": 1 + len(children),
            }
            self.samples.append(sample)
            while self.checkpoints and self.done >= self.checkpoints[0]:
                self.marks.append(
                    {
                        "checkpoint": self.checkpoints.pop(0),
                        **sample,
                        "driver_peak": self.driver_peak,
                        "worker_peak": max(self.worker_peaks.values(), default=0),
                    }
                )
            self.stop_event.wait(self.interval)
        if self.checkpoints and self.samples and self.samples[-1]["done"] > 0:
            # The run ended between two samples: report its last sample, at the files it had done.
            last = self.samples[-1]
            self.marks.append(
                {
                    "checkpoint": last["done"],
                    **last,
                    "driver_peak": self.driver_peak,
                    "worker_peak": max(self.worker_peaks.values(), default=0),
                }
            )


# ----------------------------------------------------------------------------- one run
def run_once(
    root: Path,
    manifest: Path,
    n: int,
    mode: str,
    workers: int,
    budget_s: float,
    checkpoints: list[int],
    seconds: float,
) -> dict:
    tag = f"{mode}-{n}"
    out = root / "runs" / tag / "table.csv"
    cache = root / "runs" / tag / "cache"
    shutil.rmtree(out.parent, ignore_errors=True)
    out.parent.mkdir(parents=True)
    argv = [
        sys.executable,
        "-m",
        "featurelab",
        "extract",
        str(manifest),
        "--manifest",
        "-o",
        str(out),
        "--cache",
        str(cache),
        "--jobs",
        str(workers),
        "-q",
    ]
    if mode == "dask":
        argv += ["--scheduler", "local"]
    load_before = os.getloadavg()
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    monitor = Monitor(proc.pid, cache, [c for c in checkpoints if c <= n])
    monitor.start()
    stopped = False
    try:
        proc.wait(timeout=budget_s)
    except subprocess.TimeoutExpired:
        stopped = True
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    elapsed = time.perf_counter() - started
    monitor.stop_event.set()
    monitor.join(timeout=10)
    done = _count_entries(cache)
    steady_t0 = monitor.first_done_at or 0.0
    steady_rate = (done / (elapsed - steady_t0)) if done and elapsed > steady_t0 else 0.0
    result = {
        "mode": mode,
        "n_files": n,
        "workers": workers,
        "seconds_per_file": seconds,
        "completed": not stopped and proc.returncode == 0,
        "returncode": proc.returncode,
        "stopped_at_budget": stopped,
        "files_done": done,
        "elapsed_s": round(elapsed, 1),
        "startup_s": round(steady_t0, 1),
        "files_per_s": round(done / elapsed, 2),
        "steady_files_per_s": round(steady_rate, 2),
        "x_realtime": round(done * seconds / elapsed, 2),
        "driver_peak_mb": round(monitor.driver_peak / 2**20, 1),
        "worker_peak_mb": round(max(monitor.worker_peaks.values(), default=0) / 2**20, 1),
        "n_worker_processes_seen": len(monitor.worker_peaks),
        "load_before": [round(x, 2) for x in load_before],
        "load_during_mean": round(float(np.mean(monitor.loads)) if monitor.loads else 0.0, 2),
        "checkpoints": [
            {
                "files": m["checkpoint"],
                "t_s": m["t"],
                "files_per_s": round(m["done"] / m["t"], 2) if m["t"] else None,
                "driver_rss_mb": round(m["driver_rss"] / 2**20, 1),
                "driver_peak_mb": round(m["driver_peak"] / 2**20, 1),
                "worker_rss_max_mb": round(m["workers_rss_max"] / 2**20, 1),
                "worker_peak_mb": round(m["worker_peak"] / 2**20, 1),
            }
            for m in monitor.marks
        ],
    }
    if stopped and steady_rate:
        result["extrapolated_total_s"] = round(steady_t0 + n / steady_rate, 1)
    if proc.returncode not in (0, None) and not stopped:
        result["stderr_tail"] = (proc.stderr.read() if proc.stderr else "")[-2000:]
    if not stopped and out.exists():
        table = pd.read_csv(out)
        result["rows"] = len(table)
        result["rows_unique"] = bool(table["filename"].is_unique)
        result["nan_free"] = bool(np.isfinite(table.select_dtypes("number").to_numpy()).all())
    return result


def markdown(results: list[dict]) -> str:
    lines = [
        "| mode | files | done | wall s | startup s | files/s (steady) | x realtime | driver peak MB "
        "| worker peak MB | load (mean) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['mode']} | {r['n_files']} | {r['files_done']}{'' if r['completed'] else ' (stopped)'} "
            f"| {r['elapsed_s']} | {r['startup_s']} | {r['files_per_s']} ({r['steady_files_per_s']}) "
            f"| {r['x_realtime']} | {r['driver_peak_mb']} | {r['worker_peak_mb']} "
            f"| {r['load_during_mean']} |"
        )
    lines += [
        "",
        "| mode | checkpoint (files) | t s | files/s | driver RSS MB | driver peak MB | "
        "largest worker RSS MB | worker peak MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for c in r["checkpoints"]:
            lines.append(
                f"| {r['mode']}-{r['n_files']} | {c['files']} | {c['t_s']} | "
                f"{c['files_per_s']} | {c['driver_rss_mb']} | {c['driver_peak_mb']} | "
                f"{c['worker_rss_max_mb']} | {c['worker_peak_mb']} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=Path("/tmp/featurelab-scale"))
    parser.add_argument("--n", type=int, default=20000, help="Files of the large run.")
    parser.add_argument("--small", type=int, default=2000, help="Files of the small run (0: none).")
    parser.add_argument("--checkpoints", default="2000,10000,20000")
    parser.add_argument("--seconds", type=float, default=0.5, help="Length of each file.")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--modes", default="jobs,dask")
    parser.add_argument(
        "--budget-minutes", type=float, default=12.0, help="Per large run; stopped and extrapolated beyond."
    )
    args = parser.parse_args()

    root = args.root
    root.mkdir(parents=True, exist_ok=True)
    checkpoints = [int(c) for c in args.checkpoints.split(",") if c]
    manifest, gen_s = make_corpus(root, args.n, args.seconds)
    small_manifest = make_corpus(root, args.small, args.seconds)[0] if args.small else None
    print(
        f"corpus: {args.n} files x {args.seconds} s in {gen_s:.1f} s "
        f"({sum(f.stat().st_size for f in (root / 'audio').rglob('*.wav')) / 2**20:.0f} MiB)",
        flush=True,
    )
    results = []
    for mode in args.modes.split(","):
        if small_manifest is not None:
            results.append(
                run_once(
                    root,
                    small_manifest,
                    args.small,
                    mode,
                    args.workers,
                    args.budget_minutes * 60,
                    checkpoints,
                    args.seconds,
                )
            )
            print(json.dumps(results[-1]), flush=True)
        results.append(
            run_once(
                root,
                manifest,
                args.n,
                mode,
                args.workers,
                args.budget_minutes * 60,
                checkpoints,
                args.seconds,
            )
        )
        print(json.dumps(results[-1]), flush=True)
    report = {
        "cpu_count": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30),
        "python": sys.version.split()[0],
        "results": results,
    }
    (root / "scale_report.json").write_text(json.dumps(report, indent=2))
    print(markdown(results))


if __name__ == "__main__":
    main()
