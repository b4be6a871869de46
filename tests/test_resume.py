"""An extraction killed mid-run (``kill -9``) and started again recomputes only what is missing and
writes exactly the table of an uninterrupted run: no duplicate, no partial row."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from conftest import GATE_HOOK, checkout_env, music_like

from featurelab.cli import main


@pytest.mark.slow
def test_kill_9_then_resume_equals_uninterrupted_run(tmp_path, write_wav, capsys):
    n_files = 16
    for i in range(n_files):
        write_wav(f"c/{'ab'[i % 2]}/f{i:02d}.wav", music_like(3.0, seed=i))
    corpus = tmp_path / "c"
    out = tmp_path / "run" / "t.csv"
    cache = tmp_path / "run" / "t.featurelab-cache"

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "featurelab",
            "extract",
            str(corpus),
            "-o",
            str(out),
            "--jobs",
            "1",
            "-q",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    done = 0
    while time.monotonic() < deadline and proc.poll() is None:
        done = len(list(cache.glob("*/*.json"))) if cache.exists() else 0
        if done >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "extraction finished before it could be interrupted"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert not out.exists(), "no table may be written by an interrupted run"
    cached_before = len(list(cache.glob("*/*.json")))
    assert 3 <= cached_before < n_files

    capsys.readouterr()
    assert main(["extract", str(corpus), "-o", str(out), "--jobs", "2"]) == 0
    summary = capsys.readouterr().err
    assert f"{n_files - cached_before} computed, {cached_before} from cache" in summary

    resumed = pd.read_csv(out)
    reference_out = tmp_path / "ref" / "t.csv"
    assert main(["extract", str(corpus), "-o", str(reference_out), "--no-cache", "-q", "--jobs", "1"]) == 0
    uninterrupted = pd.read_csv(reference_out)
    assert resumed["filename"].is_unique and len(resumed) == n_files
    pd.testing.assert_frame_equal(resumed, uninterrupted)


@pytest.mark.slow
def test_kill_9_of_the_driver_ends_its_workers(tmp_path, write_wav):
    psutil = pytest.importorskip("psutil")
    corpus = tmp_path / "c"
    write_wav("c/a/gate.wav", music_like(1.0, seed=9))
    for i in range(4):
        write_wav(f"c/b/f{i}.wav", music_like(1.0, seed=i))
    # The first input stays undecoded until the release, so the driver (which adds rows in input
    # order) is still running when killed, however fast or slow the machine.
    (tmp_path / "gate").mkdir()
    (tmp_path / "gate" / "sitecustomize.py").write_text(GATE_HOOK)
    release = tmp_path / "release"
    env = checkout_env()
    env.update(
        PYTHONPATH=os.pathsep.join([str(tmp_path / "gate"), env["PYTHONPATH"]]),
        FEATURELAB_TEST_GATE=str(release),
    )
    argv = ["extract", str(corpus), "-o", str(tmp_path / "t.csv"), "--jobs", "2", "-q"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "featurelab", *argv],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workers: list = []
    try:
        deadline = time.monotonic() + 300  # bounds a failing test only
        while time.monotonic() < deadline and proc.poll() is None:
            if (tmp_path / "release.waiting").exists():  # a worker is decoding gate.wav
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be killed"
        workers = psutil.Process(proc.pid).children(recursive=True)
        assert len(workers) >= 2, workers
        names = {p.pid: " ".join(p.cmdline()[1:4]) for p in workers}
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        # Reaped or not (a zombie no longer runs), every worker ends soon after the driver.
        _, alive = psutil.wait_procs(workers, timeout=30)
        alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        left = [names[p.pid] for p in alive]
        assert not alive, f"orphaned processes still running 30 s after the driver died: {left}"
    finally:
        release.touch()
        for process in workers:
            with contextlib.suppress(psutil.Error):
                process.kill()
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


def test_exit_with_parent_is_harmless_outside_a_child(tmp_path):
    # Run as an initializer in the driver itself (a thread pool of joblib's threading backend),
    # the watchdog must not end the driver.
    code = (
        "import os, time\nfrom featurelab.parallel import exit_with_parent\n"
        "exit_with_parent(os.getpid(), interval=0.01)\ntime.sleep(0.5)\nprint('alive')"
    )
    run = dict(env=checkout_env(), cwd=tmp_path, capture_output=True, text=True, timeout=120)
    done = subprocess.run([sys.executable, "-c", code], **run)
    assert done.returncode == 0 and done.stdout.strip() == "alive", done.stderr
