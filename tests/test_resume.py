"""An extraction killed mid-run (``kill -9``) and started again recomputes only what is missing and
writes exactly the table of an uninterrupted run: no duplicate, no partial row."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from conftest import music_like

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
