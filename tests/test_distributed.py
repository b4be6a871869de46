"""Dask: the same tables and scores as one machine, and faults (a worker killed, the whole run
killed, no scheduler) lose and duplicate nothing. Everything runs on loopback, bounded in time."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import GATE_HOOK, checkout_env, music_like
from models_helpers import track_table

from featurelab.cli import main
from featurelab.distributed import check_scheduler, dask_backend, dask_client, is_dask_active
from featurelab.exceptions import ParameterError
from featurelab.extraction import extract_tables

pytest.importorskip("distributed", reason="dask is not installed: pip install 'featurelab[dask]'")
pytestmark = pytest.mark.dask

N_FILES = 20


def _corpus(root, n_files=N_FILES, seconds=1.5):
    import soundfile as sf

    for i in range(n_files):
        label = ("beat", "tone")[i % 2]
        path = root / label / f"{label}.{i:05d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, music_like(seconds, seed=i), 22050)
    (root / "beat" / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    return root


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return _corpus(tmp_path_factory.mktemp("dask") / "corpus")


@pytest.fixture(scope="module")
def reference(corpus):
    """The single-machine, uninterrupted result."""
    return extract_tables(corpus, segment=0.5, tables=("segment", "track"), n_jobs=1)


@pytest.fixture(scope="module")
def client():
    """One 2-worker LocalCluster (processes, 1 thread each, 127.0.0.1) for the module."""
    with dask_client("local", n_workers=2, timeout=60) as c:
        c.wait_for_workers(2, timeout=60)
        yield c


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ----------------------------------------------------------------------------- no cluster needed
@pytest.mark.parametrize(
    "value", ["local", " LOCAL ", "tcp://127.0.0.1:8786", "10.0.0.5:8786", "tls://scheduler.example.org:8786"]
)
def test_check_scheduler_accepts_local_and_addresses(value):
    expected = "local" if value.strip().lower() == "local" else value.strip()
    assert check_scheduler(value) == expected


@pytest.mark.parametrize("value", ["", "   ", "tcp://", "two words", "http ://x", 8786])
def test_check_scheduler_rejects_garbage(value):
    with pytest.raises(ParameterError, match="must be 'local' or a Dask scheduler address"):
        check_scheduler(value)


def test_none_scheduler_changes_nothing():
    with dask_backend(None) as client:
        assert client is None and not is_dask_active()


def test_missing_dask_says_how_to_install(monkeypatch, corpus, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(ParameterError, match=r"pip install 'featurelab\[dask\]'"):
        with dask_backend("local"):
            pass
    out = tmp_path / "t.csv"
    assert main(["extract", str(corpus), "-o", str(out), "--scheduler", "local", "-q"]) == 2
    assert "pip install 'featurelab[dask]'" in capsys.readouterr().err
    assert not out.exists()


def test_unreachable_scheduler_is_one_clear_error(corpus, tmp_path, capsys):
    address = f"tcp://127.0.0.1:{_free_port()}"
    start = time.monotonic()
    with pytest.raises(ParameterError, match="Cannot connect to a Dask scheduler"):
        with dask_backend(address, timeout=2):
            pass
    assert time.monotonic() - start < 30
    out = tmp_path / "t.csv"
    code = main(["extract", str(corpus), "-o", str(out), "--scheduler", "tcp://", "-q"])
    assert code == 2 and not out.exists()
    assert "must be 'local' or a Dask scheduler address" in capsys.readouterr().err


def test_cluster_failures_become_clear_errors():
    from types import SimpleNamespace

    from distributed import KilledWorker

    from featurelab.distributed import describe_failure
    from featurelab.exceptions import FeaturelabError

    last = SimpleNamespace(address="tcp://127.0.0.1:1")
    error = describe_failure(KilledWorker("batch_of__worker_3_calls-1", last, 3))
    assert isinstance(error, FeaturelabError) and "Rerun to resume" in str(error)
    assert describe_failure(ValueError("a bug")) is None


# ----------------------------------------------------------------------------- on the cluster
def test_cluster_is_loopback_only(client):
    info = client.scheduler_info()
    addresses = [info["address"], *info["workers"]]
    assert len(info["workers"]) == 2
    assert all(a.startswith("tcp://127.0.0.1:") for a in addresses), addresses
    assert {w["nthreads"] for w in info["workers"].values()} == {1}
    psutil = pytest.importorskip("psutil")
    processes = [psutil.Process(), *psutil.Process().children(recursive=True)]
    listening = [
        c.laddr for p in processes for c in p.net_connections("inet") if c.status == psutil.CONN_LISTEN
    ]
    assert listening and all(a.ip == "127.0.0.1" for a in listening), listening


def test_local_scheduler_keeps_short_logs(client):
    # The local cluster's scheduler lives in the driver: its event logs must stay short.
    def maxlens(dask_scheduler):
        found = [dask_scheduler.transition_log.maxlen]
        broker = getattr(dask_scheduler, "_broker", None)  # event topics (distributed >= 2024.2)
        if broker is not None:
            found.append(broker._topics["featurelab-probe"].events.maxlen)
        return found

    assert all(n <= 100 for n in client.run_on_scheduler(maxlens))  # dask's default: 1000


def test_extraction_on_dask_equals_single_machine(client, corpus, reference):
    with dask_backend(client):
        assert is_dask_active()
        result = extract_tables(corpus, segment=0.5, tables=("segment", "track"), n_jobs=1)
    assert not is_dask_active()
    for kind in ("segment", "track"):
        pd.testing.assert_frame_equal(result.tables[kind], reference.tables[kind])
    pd.testing.assert_frame_equal(result.errors, reference.errors)
    assert len(result.tables["track"]) == N_FILES and len(result.errors) == 1


def _evaluate(**kwargs):
    from featurelab.models import evaluate

    return evaluate(
        track_table(24, seed=3),
        "logreg",
        grid={"clf__C": [0.01, 0.1, 1.0, 10.0]},
        cv=3,
        inner_cv=3,
        seed=7,
        **kwargs,
    )


def test_model_search_on_dask_equals_single_machine_and_scatters_data_once(client, monkeypatch):
    local = _evaluate(n_jobs=1)
    scattered = []
    original = client.scatter

    def counting_scatter(data, *args, **kwargs):
        scattered.append(type(data).__name__)
        return original(data, *args, **kwargs)

    monkeypatch.setattr(client, "scatter", counting_scatter)
    with dask_backend(client):
        remote = _evaluate(n_jobs=1)
    pd.testing.assert_frame_equal(
        remote.fold_frame().drop(columns=["fit_time", "predict_time"]),
        local.fold_frame().drop(columns=["fit_time", "predict_time"]),
    )
    for name in ("mean_test_score", "std_test_score", "params", "rank_test_score"):
        pd.testing.assert_series_equal(remote.cv_results[name], local.cv_results[name])
    assert [f.best_params for f in remote.folds] == [f.best_params for f in local.folds]
    # 3 outer folds x (4 candidates x 3 inner folds) = 36 fits, but the training matrix went to
    # the cluster once per search, not once per fit.
    assert scattered.count("DataFrame") == 3, scattered


def test_shap_selection_on_dask_equals_single_machine(client, monkeypatch):
    from featurelab.selection import select_features

    def run():
        return select_features(track_table(10, seed=2), "rf", cv=3, ks=[2, "all"], seed=1)

    local = run()
    scattered = []
    original = client.scatter

    def counting_scatter(data, *args, **kwargs):
        scattered.append(type(data).__name__)
        return original(data, *args, **kwargs)

    monkeypatch.setattr(client, "scatter", counting_scatter)
    with dask_backend(client):
        remote = run()
    pd.testing.assert_frame_equal(remote.ranking, local.ranking)
    pd.testing.assert_frame_equal(remote.curve, local.curve)
    assert remote.selected == local.selected
    assert scattered.count("Dataset") == 1, scattered  # once for the 3 folds


def test_gridsearch_cli_on_a_scheduler_address_equals_local(client, tmp_path):
    track_table(12, seed=5).to_csv(tmp_path / "t.csv", index=False)
    common = [
        "gridsearch",
        str(tmp_path / "t.csv"),
        "-m",
        "logreg",
        "--cv",
        "2",
        "--inner-cv",
        "2",
        "--no-save-model",
        "-q",
    ]
    assert main([*common, "-o", str(tmp_path / "local")]) == 0
    assert main([*common, "-o", str(tmp_path / "dask"), "--scheduler", client.scheduler.address]) == 0
    local = pd.read_csv(tmp_path / "local" / "cv_results.csv")
    remote = pd.read_csv(tmp_path / "dask" / "cv_results.csv")
    for name in ("params", "mean_test_score", "rank_test_score"):
        pd.testing.assert_series_equal(remote[name], local[name])


def test_killing_a_worker_mid_extraction_loses_and_duplicates_nothing(client, corpus, reference):
    pids = client.run(os.getpid)
    killed: list[int] = []

    def kill_a_busy_worker(done, total):
        if done == 3 and not killed:
            busy = [addr for addr, keys in client.processing().items() if keys] or list(pids)
            killed.append(pids[busy[0]])
            os.kill(pids[busy[0]], signal.SIGKILL)

    with dask_backend(client):
        result = extract_tables(corpus, segment=0.5, tables=("segment", "track"), progress=kill_a_busy_worker)
    assert killed, "no worker was killed"
    for kind in ("segment", "track"):
        table = result.tables[kind]
        assert table["filename"].is_unique
        pd.testing.assert_frame_equal(table, reference.tables[kind])
    client.wait_for_workers(2, timeout=60)  # the nanny restarted it
    assert killed[0] not in client.run(os.getpid).values()


@pytest.mark.slow
def test_kill_9_of_a_dask_run_then_resume_equals_uninterrupted(client, tmp_path, capsys):
    import psutil
    import soundfile as sf

    corpus = _corpus(tmp_path / "c", n_files=24, seconds=2.0)
    (corpus / "zz").mkdir()
    sf.write(corpus / "zz" / "gate.wav", music_like(2.0, seed=99), 22050)  # the last input
    n_inputs = 26  # 24 files, broken.wav, gate.wav
    out = tmp_path / "run" / "t.csv"
    cache = tmp_path / "run" / "t.featurelab-cache"
    (tmp_path / "gate.py").write_text(GATE_HOOK)
    release = tmp_path / "release"
    env = {
        **checkout_env(),
        "DASK_DISTRIBUTED__WORKER__PRELOAD": repr([str(tmp_path / "gate.py")]),
        "FEATURELAB_TEST_GATE": str(release),
    }
    argv = ["extract", str(corpus), "-o", str(out), "--scheduler", "local", "--jobs", "2", "-q"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "featurelab", *argv],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Kill once some files are in the cache. The run cannot be complete then, however slow or
        # busy the machine: gate.wav, which the table needs, stays undecoded until the release.
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if cache.exists() and len(list(cache.glob("*/*.json"))) >= 2:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be killed"
        family = psutil.Process(proc.pid).children(recursive=True)
        assert family, "no worker processes"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        release.touch()
        # The workers notice their parent's death and exit: no orphans left running.
        _, alive = psutil.wait_procs(family, timeout=30)
        assert not alive, f"orphaned worker processes: {alive}"
    finally:
        release.touch()
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert not out.exists(), "an interrupted run must not write the table"
    cached = len(list(cache.glob("*/*.json")))
    assert 2 <= cached < n_inputs

    # Resume on the module's cluster (no gate there), through its address.
    capsys.readouterr()
    address = client.scheduler.address
    assert main(["extract", str(corpus), "-o", str(out), "--scheduler", address]) == 1  # broken.wav
    assert f"{n_inputs - cached} computed, {cached} from cache" in capsys.readouterr().err

    reference = tmp_path / "ref" / "t.csv"
    assert main(["extract", str(corpus), "-o", str(reference), "--no-cache", "-j", "1", "-q"]) == 1
    resumed, uninterrupted = pd.read_csv(out), pd.read_csv(reference)
    assert resumed["filename"].is_unique and len(resumed) == n_inputs - 1
    pd.testing.assert_frame_equal(resumed, uninterrupted)
    np.testing.assert_array_equal(
        pd.read_csv(out.with_name("t.errors.csv"))["path"],
        pd.read_csv(reference.with_name("t.errors.csv"))["path"],
    )


# ----------------------------------------------------------------------------- a real cluster
def _stop(proc: subprocess.Popen) -> None:
    """Stop a command started in its own session, with everything it started."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


@pytest.fixture(scope="module")
def standalone_cluster(tmp_path_factory):
    """``dask scheduler`` and ``dask worker --nworkers 2`` started as commands, as on a cluster:
    on loopback, free ports, the workers in another working directory than the driver."""
    from distributed import Client

    elsewhere = tmp_path_factory.mktemp("worker-cwd")
    address = f"tcp://127.0.0.1:{_free_port()}"
    common = dict(
        cwd=elsewhere,
        env=checkout_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    port = address.rsplit(":", 1)[1]
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", port]
        + ["--no-dashboard"],
        **common,
    )
    workers = None
    try:
        workers = subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nworkers", "2"]
            + ["--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"],
            **common,
        )
        with Client(address, timeout=120, set_as_default=False) as probe:
            probe.wait_for_workers(2, timeout=120)
            assert {Path(cwd) for cwd in probe.run(os.getcwd).values()} == {elsewhere}
        yield address
    finally:
        for proc in (workers, scheduler):
            if proc is not None:
                _stop(proc)


@pytest.mark.slow
@pytest.mark.parametrize("tables", ["track", "segment+track"])
def test_relative_inputs_on_a_separately_started_cluster_equal_one_machine(
    standalone_cluster, tmp_path, monkeypatch, tables
):
    _corpus(tmp_path / "in", n_files=4, seconds=1.0)
    monkeypatch.chdir(tmp_path)  # the driver's folder, not the workers'
    names = ["t.csv"] if tables == "track" else ["s.csv", "t.csv"]

    def extract(folder: str, *options: str) -> None:
        out = [f"{folder}/{names[0]}"]
        if tables != "track":
            out += ["--segment", "0.5", "--track-out", f"{folder}/t.csv"]
        # exit 1: beat/broken.wav is an errors row, the same on both
        assert main(["extract", "in", "-o", *out, "--no-cache", "-q", *options]) == 1

    extract("one", "--jobs", "1")
    extract("dask", "--scheduler", standalone_cluster)
    for name in [*names, f"{Path(names[0]).stem}.errors.csv"]:
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "one" / name).read_bytes(), name
    assert len(pd.read_csv(tmp_path / "dask" / "t.csv")) == 4
