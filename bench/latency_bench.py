"""Cold-start latency of featurelab's commands (issue 15): each command a new process, N runs.

Prints, for each command, the median and the min-max wall-clock seconds of ``--runs`` runs and the median
CPU seconds (after one unmeasured round, so the disk cache and numba's kernel cache are warm), against
the issue's targets:

- ``featurelab predict RUN one.wav`` (an svm run made by ``featurelab gridsearch ... -m svm``);
- ``featurelab extract one.wav -o t.csv`` (a fresh output, so nothing comes from the resume cache);
- ``python -c "import featurelab; featurelab.extract"``;
- ``featurelab --help``.

``one.wav`` is a 30 s track: two GTZAN excerpts of ../shared/data joined when present, else a
synthesized clip. The svm run is fitted on 120 rows of ../shared/data/features_30_sec.csv when present,
else on a table extracted from a small synthetic corpus (``--data`` names another data folder).
``--compare-with DIR`` runs the same commands
with another checkout of featurelab first on ``PYTHONPATH`` (e.g. main, for before/after figures in
one run on the same machine load). ``--throughput`` also runs ``bench/extract_bench.py --cli-only``
(the naive loop against ``featurelab extract ... --segment 3 --track-out ... --jobs 2``, a new process,
start-up included) on 30 synthesized 30 s tracks and, when the shared data is there, on the 100 GTZAN
excerpts, and adds its ``--jobs 2`` ratios to the table (target >= 20x); its own output follows.

    python bench/latency_bench.py
    python bench/latency_bench.py --runs 7 --compare-with ../main
    python bench/latency_bench.py --throughput
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SHARED = ROOT.parent / "shared" / "data"  # the default of --data
SR = 22050


def featurelab_command() -> list[str]:
    """The ``featurelab`` console script beside this interpreter, else ``python -m featurelab``."""
    script = Path(sys.executable).with_name("featurelab")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "featurelab"]


def make_track(path: Path, data: Path) -> str:
    """Write a 30 s mono track; return where it came from."""
    import soundfile as sf

    first, second = (
        data / "gtzan-excerpts/rock/rock.00000.wav",
        data / "gtzan-excerpts/rock/rock.00001.wav",
    )
    if first.is_file() and second.is_file():
        y = np.concatenate([sf.read(first, dtype="float32")[0], sf.read(second, dtype="float32")[0]])[
            : 30 * SR
        ]
        source = "two GTZAN excerpts joined"
    else:
        from featurelab.synthetic import synthesize_clip

        y = synthesize_clip("rock", duration=30.0, sr=SR)
        source = "synthesized"
    sf.write(path, y, SR, subtype="PCM_16")
    return source


def make_svm_run(work: Path, env: dict[str, str], data: Path) -> Path:
    """Fit ``featurelab gridsearch -m svm`` on a small table; return the run folder."""
    table = work / "small.csv"
    published = data / "features_30_sec.csv"
    if published.is_file():
        import pandas as pd

        pd.read_csv(published).groupby("label").head(12).to_csv(table, index=False)
    else:
        from featurelab.synthetic import make_synthetic_corpus

        make_synthetic_corpus(work / "corpus", n_per_class=6, duration=6.0)
        subprocess.run(
            [*featurelab_command(), "extract", str(work / "corpus"), "-o", str(table), "-q"],
            env=env,
            check=True,
        )
    run = work / "run-svm"
    subprocess.run(
        [
            *featurelab_command(),
            "gridsearch",
            str(table),
            "-m",
            "svm",
            "--cv",
            "2",
            "--inner-cv",
            "2",
            "-o",
            str(run),
            "-q",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    return run


def time_run(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall-clock and CPU (user + system) seconds of one run of ``command``.

    ``cwd`` holds no featurelab package: ``python -c`` puts the working folder first on ``sys.path``.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    wall = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def checkout_env(checkout: Path | None) -> dict[str, str]:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    if checkout is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(checkout), os.environ.get("PYTHONPATH")]))
    return env


def measure(
    checkouts: dict[str, Path], work: Path, track: Path, run: Path, runs: int
) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """(checkout, command) -> [(wall, cpu), ...].

    Checkouts alternate run by run, so a change of the machine's load affects them alike; the first
    round is not measured (warm disk and numba caches).
    """
    fl = featurelab_command()
    out = work / "out"
    commands = {
        "predict": [*fl, "predict", str(run), str(track)],
        "extract": [*fl, "extract", str(track), "-o", str(out / "t.csv"), "-q"],
        "import": [sys.executable, "-c", "import featurelab; featurelab.extract"],
        "help": [*fl, "--help"],
    }
    times: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for index in range(runs + 1):
        for key, command in commands.items():
            for name, checkout in checkouts.items():
                shutil.rmtree(out, ignore_errors=True)  # extract: nothing from the resume cache
                out.mkdir()
                measured = time_run(command, checkout_env(checkout), work)
                if index:
                    times.setdefault((name, key), []).append(measured)
    return times


ROWS = [
    ("predict", "`featurelab predict RUN one.wav` (an svm run)", "< 1.0 s"),
    ("extract", "`featurelab extract one.wav -o t.csv`", "< 1.0 s"),
    ("import", "`import featurelab; featurelab.extract`", "< 0.3 s"),
    ("help", "`featurelab --help`", "instant"),
]


def cell(times: list[tuple[float, float]]) -> str:
    wall = [w for w, _ in times]
    cpu = statistics.median(c for _, c in times)
    return f"{statistics.median(wall):.2f} s ({min(wall):.2f}-{max(wall):.2f}); CPU {cpu:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs per command (default 5)")
    parser.add_argument("--compare-with", type=Path, help="another featurelab checkout, measured alongside")
    parser.add_argument("--throughput", action="store_true", help="also run bench/extract_bench.py")
    parser.add_argument(
        "--data", type=Path, default=SHARED, help="the shared data folder (default ../shared/data)"
    )
    args = parser.parse_args()

    checkouts = {"this": ROOT}
    if args.compare_with is not None:
        checkouts = {"other": args.compare_with.resolve(), "this": ROOT}
    with tempfile.TemporaryDirectory(prefix="featurelab-latency-") as tmp:
        work = Path(tmp)
        track = work / "one.wav"
        source = make_track(track, args.data)
        run = make_svm_run(work, checkout_env(ROOT), args.data)
        load = os.getloadavg()[0]
        results = measure(checkouts, work, track, run, args.runs)
    print(
        f"30 s track: {source}; {args.runs} runs per command after one unmeasured round; {os.cpu_count()} cores"
    )
    print(f"load average (1 min) at the start / end: {load:.1f} / {os.getloadavg()[0]:.1f}")
    heads = ["what", "wall median (min-max); CPU median", "target"]
    if args.compare_with is not None:
        heads = ["what", str(args.compare_with), "this checkout", "target"]
    print("\n| " + " | ".join(heads) + " |\n|" + "---|" * len(heads))
    for key, label, target in ROWS:
        cells = [cell(results[(name, key)]) for name in checkouts]
        print(f"| {label} | " + " | ".join(cells) + f" | {target} |")
    if args.throughput:
        outputs = throughput(args.data)
        for label, line in outputs["rows"]:
            cells = ["(this checkout only)"] * (len(checkouts) - 1) + [line]
            print(f"| {label} | " + " | ".join(cells) + " | >= 20x |")
        for text in outputs["texts"]:
            print("\n" + text)
    else:
        print("\nThroughput rows (both tables vs the naive loop): --throughput, or bench/extract_bench.py.")


#: ``extract_bench.py``'s line for a ``--jobs 2`` run of this checkout.
_JOBS2 = re.compile(
    r"--jobs 2 this checkout: median ([\d.]+) s \(min ([\d.]+), max ([\d.]+)\).*?"
    r"([\d.]+)x the naive loop \(([\d.]+)-([\d.]+)x\)"
)


def throughput(data: Path, repeat: int = 3) -> dict[str, list]:
    """Run extract_bench.py (30 synthesized tracks; the 100 excerpts when present); table rows and outputs."""
    runs = [("both tables, 30 synthesized 30 s tracks, `--jobs 2` vs the naive loop", ["--tracks", "30"])]
    if (data / "gtzan-excerpts").is_dir():
        runs.append(
            ("both tables, 100 GTZAN excerpts (1747 s), `--jobs 2` vs the naive loop", ["--per-genre", "10"])
        )
    rows, texts = [], []
    for label, options in runs:
        command = [
            sys.executable,
            str(HERE / "extract_bench.py"),
            *options,
            "--cli-only",
            "--repeat",
            str(repeat),
        ]
        done = subprocess.run(command, env=checkout_env(ROOT), check=True, capture_output=True, text=True)
        match = _JOBS2.search(done.stdout)
        cell = "(not found in the output)"
        if match:
            median, low, high, ratio, worst, best = match.groups()
            cell = f"{ratio}x ({worst}-{best}x); wall {median} s ({low}-{high})"
        rows.append((label, cell))
        texts.append(
            f"$ {' '.join(['python', 'bench/extract_bench.py', *options, '--cli-only', '--repeat', str(repeat)])}\n"
            + done.stdout.strip()
        )
    return {"rows": rows, "texts": texts}


if __name__ == "__main__":
    main()
