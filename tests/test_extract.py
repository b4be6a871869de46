"""The extraction driver and ``featurelab extract``: schema, segments, naming, manifests, CLI, cache."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import SR, checkout_env, music_like, noise, sine
from numpy.testing import assert_allclose

from featurelab.cli import main
from featurelab.datasets import discover, read_split_dir, segment_name, segment_source
from featurelab.exceptions import ParameterError
from featurelab.extraction import extract, extract_features, extract_tables, segment_bounds
from featurelab.features.reference import reference_gtzan_features
from featurelab.features.registry import available_feature_sets
from featurelab.features.schema import GTZAN_FEATURE_COLUMNS, gtzan_columns


def test_track_table_schema_and_values(tiny_corpus):
    df = extract(tiny_corpus, n_jobs=1)
    assert list(df.columns) == gtzan_columns()
    assert len(df) == 9 and df["filename"].is_unique
    assert sorted(set(df["label"])) == ["bright", "dark", "rhythm"]
    assert df[list(GTZAN_FEATURE_COLUMNS)].notna().all().all()
    # each row equals the reference computation on the decoded file
    import soundfile as sf

    row = df.iloc[4]
    y, _ = sf.read(tiny_corpus / row["label"] / row["filename"], dtype="float32")
    ref = reference_gtzan_features(y, SR)
    assert row["length"] == len(y)
    assert_allclose(row[list(GTZAN_FEATURE_COLUMNS)].astype(float), list(ref.values()), rtol=1e-5, atol=1e-9)


def test_segment_bounds_gtzan_preset():
    bounds = segment_bounds(661794, 22050, 3.0)
    assert len(bounds) == 10
    assert bounds[0] == (0, 66149) and bounds[1] == (66150, 132299)
    assert segment_bounds(66150, 22050, 3.0) == [(0, 66149)]
    assert segment_bounds(66149, 22050, 3.0) == []  # partial window dropped
    assert segment_bounds(100, 10, 3.0, hop=1.0, mode="exact") == [
        (0, 30),
        (10, 40),
        (20, 50),
        (30, 60),
        (40, 70),
        (50, 80),
        (60, 90),
        (70, 100),
    ]


def test_segment_table_rows_are_features_of_the_slices(tiny_corpus):
    result = extract_tables(tiny_corpus, segment=1.0, tables=("track", "segment"), n_jobs=1)
    seg = result.tables["segment"]
    track = result.tables["track"]
    assert list(seg.columns) == gtzan_columns()
    assert len(seg) == 2 * len(track)  # 2.2 s files -> two full 1 s windows each
    assert seg["filename"].iloc[:2].tolist() == ["bright.00000.0.wav", "bright.00000.1.wav"]
    assert (seg["length"] == SR - 1).all()
    import soundfile as sf

    y, _ = sf.read(tiny_corpus / "bright" / "bright.00000.wav", dtype="float32")
    ref = reference_gtzan_features(y[SR : 2 * SR - 1], SR)
    assert_allclose(
        seg.iloc[1][list(GTZAN_FEATURE_COLUMNS)].astype(float),
        list(ref.values()),
        rtol=1e-5,
        atol=1e-9,
    )
    # the track table from the same run equals a track-only run
    pd.testing.assert_frame_equal(track, extract(tiny_corpus, n_jobs=1))


def test_segment_names_round_trip():
    assert segment_name("blues.00000.wav", 3) == "blues.00000.3.wav"
    assert segment_source("blues.00000.3.wav") == "blues.00000.wav"
    assert segment_source("rock/intro.12.wav") == "rock/intro.wav"
    assert segment_source(segment_name("rock/intro.wav", 12345)) == "rock/intro.wav"
    assert segment_source("blues.00000.wav") is None


def test_parallel_equals_serial(tiny_corpus):
    serial = extract_tables(tiny_corpus, segment=1.0, tables=("track", "segment"), n_jobs=1)
    parallel = extract_tables(tiny_corpus, segment=1.0, tables=("track", "segment"), n_jobs=2)
    for kind in ("track", "segment"):
        pd.testing.assert_frame_equal(serial.tables[kind], parallel.tables[kind])


def test_extract_features_single_signal_and_validation():
    row = extract_features(sine(440, 1.0), SR)
    assert list(row) == list(GTZAN_FEATURE_COLUMNS)
    stereo = np.stack([sine(440, 1.0), sine(440, 1.0)])
    assert extract_features(stereo, SR) == pytest.approx(row)
    with pytest.raises(ParameterError, match="finite"):
        extract_features(np.array([0.0, np.nan]), SR)
    with pytest.raises(ParameterError, match="features must be one of gtzan, .*Got 'nope' instead"):
        extract_features(sine(440, 0.1), SR, features="nope")
    with pytest.raises(ParameterError, match="backend must be one of"):
        extract_features(sine(440, 0.1), SR, backend="essentia")


def test_extra_feature_sets_are_appended(tiny_corpus):
    df = extract(tiny_corpus, features="gtzan,spectral_flatness", n_jobs=1)
    assert list(df.columns) == [
        *gtzan_columns()[:-1],
        "spectral_flatness_mean",
        "spectral_flatness_var",
        "label",
    ]


def test_duplicate_basenames_get_relative_paths(tmp_path, write_wav):
    write_wav("c/rock/intro.wav", sine(300, 0.5))
    write_wav("c/jazz/intro.wav", sine(500, 0.5))
    write_wav("c/jazz/solo.wav", sine(700, 0.5))
    df = extract(tmp_path / "c", n_jobs=1)
    assert df["filename"].tolist() == ["jazz/intro.wav", "solo.wav", "rock/intro.wav"]


def test_non_ascii_labels_round_trip(tmp_path, write_wav):
    write_wav("c/música_ñ/canção.wav", sine(300, 0.5))
    write_wav("c/電子/曲.wav", sine(600, 0.5))
    out = tmp_path / "t.csv"
    assert main(["extract", str(tmp_path / "c"), "-o", str(out), "--quiet", "--jobs", "1"]) == 0
    df = pd.read_csv(out)
    assert set(df["label"]) == {"música_ñ", "電子"}
    assert "canção.wav" in set(df["filename"])


def test_manifest_clips_groups_and_bad_rows(tmp_path, write_wav):
    y = music_like(4.0, seed=1)
    write_wav("audio/long.wav", y)
    manifest = tmp_path / "m.csv"
    manifest.write_text(
        "path,label,start,end,group\n"
        "audio/long.wav,a,0,1.5,t1\n"
        "audio/long.wav,b,2,3.5,t1\n"
        "audio/missing.wav,a,,,t2\n"
        "audio/long.wav,a,3,9,t1\n"  # end beyond the 4 s file
        "audio/long.wav,a,2,1,t1\n"  # end before start
        "audio/long.wav,a,x,1,t1\n"  # not a number
        "audio/long.wav,a,10,11,t1\n",  # start beyond the file
        encoding="utf-8",
    )
    result = extract_tables(manifest, n_jobs=1)
    df = result.tables["track"]
    assert df["filename"].tolist() == ["long.0-1.5s.wav", "long.2-3.5s.wav"]
    assert list(df.columns[-4:]) == ["label", "group", "start", "end"]
    assert df["group"].tolist() == ["t1", "t1"] and df["end"].tolist() == [1.5, 3.5]
    assert df["length"].tolist() == [int(1.5 * SR)] * 2
    import soundfile as sf

    decoded, _ = sf.read(tmp_path / "audio" / "long.wav", dtype="float32")
    ref = reference_gtzan_features(decoded[2 * SR : int(3.5 * SR)], SR)
    assert df.iloc[1]["spectral_centroid_mean"] == pytest.approx(ref["spectral_centroid_mean"], rel=1e-5)
    reasons = " | ".join(result.errors["reason"])
    assert len(result.errors) == 5, reasons
    for needle in (
        "file not found",
        "beyond the end of the file",
        "must be after start",
        "bad start/end",
        "no audio samples",
    ):
        assert needle in reasons


def test_manifest_without_path_column(tmp_path):
    bad = tmp_path / "m.csv"
    bad.write_text("file,label\nx.wav,a\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="must have a 'path' column"):
        discover(bad)


def test_single_files_have_empty_label(tmp_path, write_wav):
    a = write_wav("a.wav", sine(300, 0.5))
    b = write_wav("sub/b.flac", sine(600, 0.5))
    df = extract([a, b], n_jobs=1)
    assert df["filename"].tolist() == ["a.wav", "b.flac"]
    assert df["label"].fillna("").tolist() == ["", ""]


def test_read_split_dir(tmp_path):
    (tmp_path / "train_filtered.txt").write_text("blues/blues.00001.wav\nrock/rock.00002.wav\n")
    (tmp_path / "test_filtered.txt").write_text("jazz/jazz.00003.wav\n")
    splits = read_split_dir(tmp_path)
    assert splits == {"train": {"blues.00001", "rock.00002"}, "valid": set(), "test": {"jazz.00003"}}
    with pytest.raises(ParameterError, match="does not exist"):
        read_split_dir(tmp_path / "nope")


def test_builtin_gtzan_filtered_split():
    parts = read_split_dir("gtzan-filtered")
    assert {part: len(tracks) for part, tracks in parts.items()} == {"train": 443, "valid": 197, "test": 290}
    assert "blues.00029" in parts["train"]
    assert not (parts["train"] & parts["test"]) and not (parts["valid"] & parts["test"])


# ----------------------------------------------------------------------------- CLI
def test_cli_writes_table_meta_and_exit_codes(tiny_corpus, tmp_path, capsys):
    out = tmp_path / "out" / "t.parquet"
    assert (
        main(
            [
                "extract",
                str(tiny_corpus),
                "-o",
                str(out),
                "--segment",
                "1",
                "--track-out",
                str(tmp_path / "out" / "tr.csv"),
                "-q",
            ]
        )
        == 0
    )
    seg = pd.read_parquet(out)
    assert len(seg) == 18 and list(seg.columns) == gtzan_columns()
    meta = json.loads(out.with_suffix(".meta.json").read_text())
    assert meta["table"] == "segment" and meta["segment"] == 1.0 and meta["features"] == ["gtzan"]
    assert len(pd.read_csv(tmp_path / "out" / "tr.csv")) == 9
    assert not (tmp_path / "out" / "t.errors.csv").exists()


def test_cli_usage_errors(tmp_path, capsys):
    assert main(["extract", str(tmp_path / "missing"), "-o", str(tmp_path / "t.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["extract", str(tmp_path), "-o", str(tmp_path / "t.xlsx")]) == 2
    assert ".csv or .parquet" in capsys.readouterr().err
    assert main(["extract", str(tmp_path), "-o", str(tmp_path / "t.csv"), "--features", "nope"]) == 2
    assert "features must be one of gtzan" in capsys.readouterr().err
    assert main(["extract", str(tmp_path), "-o", str(tmp_path / "t.csv"), "--segment", "-1"]) == 2
    assert "'segment' parameter of ExtractionSettings must be a float in the range (0.0, inf)" in (
        capsys.readouterr().err
    )
    assert main(["extract", "--bogus"]) == 2
    assert main(["--version"]) == 0
    assert "featurelab" in capsys.readouterr().out


def test_cli_partial_failure_exit_code_and_errors_table(tmp_path, write_wav, capsys):
    write_wav("c/a/good.wav", sine(300, 0.5))
    (tmp_path / "c" / "a" / "bad.wav").write_bytes(b"this is not audio at all")
    out = tmp_path / "t.csv"
    assert main(["extract", str(tmp_path / "c"), "-o", str(out)]) == 1
    assert pd.read_csv(out)["filename"].tolist() == ["good.wav"]
    errors = pd.read_csv(tmp_path / "t.errors.csv")
    assert errors["path"].str.endswith("bad.wav").all()
    assert "not a readable audio file" in errors["reason"].iloc[0]
    assert "1 inputs failed" in capsys.readouterr().err
    # fixing the input removes the stale errors table
    (tmp_path / "c" / "a" / "bad.wav").unlink()
    assert main(["extract", str(tmp_path / "c"), "-o", str(out), "-q"]) == 0
    assert not (tmp_path / "t.errors.csv").exists()


# ----------------------------------------------------------------------------- cache
def test_cache_reuses_rows_and_invalidates_on_change(tiny_corpus, tmp_path, write_wav):
    cache = tmp_path / "cache"
    first = extract_tables(tiny_corpus, cache=cache, n_jobs=1)
    assert (first.n_computed, first.n_cached) == (9, 0)
    second = extract_tables(tiny_corpus, cache=cache, n_jobs=1)
    assert (second.n_computed, second.n_cached) == (0, 9)
    pd.testing.assert_frame_equal(first.tables["track"], second.tables["track"])
    # a changed file and changed settings are recomputed
    write_wav("corpus/dark/dark.00001.wav", noise(2.2, seed=99))
    third = extract_tables(tiny_corpus, cache=cache, n_jobs=1)
    assert (third.n_computed, third.n_cached) == (1, 8)
    fourth = extract_tables(tiny_corpus, cache=cache, sr=16000, n_jobs=1)
    assert fourth.n_computed == 9


def test_cli_jobs_default_to_all_cores():
    import typer

    from featurelab.cli import app

    commands = typer.main.get_command(app).commands
    for name in ("extract", "predict"):
        (jobs,) = [p for p in commands[name].params if p.name == "jobs"]
        assert jobs.default == -1, name


def test_cli_segment_shorter_than_a_sample_is_a_usage_error(tiny_corpus, tmp_path, capsys):
    """Issue 14, 10: exit 2 with one line, not an error row per file."""
    out = tmp_path / "t.csv"
    assert main(["extract", str(tiny_corpus), "-o", str(out), "--segment", "1e-9", "-q"]) == 2
    assert "segment must be at least 2 samples" in capsys.readouterr().err
    assert not out.exists()


def test_cli_list_features_without_importing_any_implementation():
    import subprocess
    import sys

    from featurelab.features.registry import FEATURE_SETS

    script = (
        "import sys; from featurelab.cli import main; code = main(['extract', '--list-features']); "
        "heavy = sorted({'librosa', 'numba', 'torch', 'pyAudioAnalysis', 'sklearn'} & set(sys.modules)); "
        "print('imported:', heavy); sys.exit(code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=checkout_env(), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["feature", "set", "columns", "installed", "description"]
    listed = {line.split()[0]: line.split()[1:3] for line in lines[1 : 1 + len(FEATURE_SETS)]}
    for feature_set in FEATURE_SETS:
        assert listed[feature_set.name] == [
            str(feature_set.n_columns),
            "yes" if feature_set.available else "no",
        ]
    assert "--features generalize stands for gtzan,musicnn,musicnn_vgg." in lines
    assert lines[-1] == "imported: []"


@pytest.mark.parametrize("name", available_feature_sets())
def test_declared_column_counts_are_what_the_feature_sets_make(name):
    from featurelab.features.registry import get_feature_set

    feature_set = get_feature_set(name)
    assert feature_set.n_columns is not None, f"{name} declares no n_columns"
    if not feature_set.available:
        pytest.skip(f"{name} is not installed: {feature_set.hint()}")
    assert len(feature_set(music_like(4.0), SR)) == feature_set.n_columns


# ----------------------------------------------------------------------------- generalization options
def test_cli_normalize_short_clips_and_augmented_copies(tiny_corpus, tmp_path, write_wav, capsys):
    pytest.importorskip("audiomentations")
    write_wav("corpus/dark/dark.00009.wav", sine(200, 0.6))  # shorter than one 1 s segment
    out = tmp_path / "aug.csv"
    options = ["--segment", "1", "--normalize", "rms", "--short-clips", "loop", "--copies", "2"]
    options += ["--augment", "gain=-20:0,noise=20:30,crop=0.5:0.9", "--augment-seed", "3", "--no-cache", "-q"]
    assert main(["extract", str(tiny_corpus), "-o", str(out), *options, "-j", "1"]) == 0
    table = pd.read_csv(out)
    assert list(table.columns) == [*gtzan_columns(), "group", "augmented"]
    originals = table[table["augmented"] == 0]
    assert len(originals) == 9 * 2 + 1 and len(table) == 3 * len(originals)
    assert sorted(set(table["augmented"])) == [0, 1, 2]
    short = table[table["group"] == "dark.00009"]
    assert list(short["filename"]) == ["dark.00009.0.wav"] * 3 and (short["length"] < SR).all()
    # each copy is named like the window it copies, and follows the file's own rows
    first = table[table["group"] == "bright.00000"]
    assert list(first["filename"]) == ["bright.00000.0.wav", "bright.00000.1.wav"] * 3
    assert list(first["augmented"]) == [0, 0, 1, 1, 2, 2]
    meta = json.loads(out.with_suffix(".meta.json").read_text())
    assert {k: meta[k] for k in ("normalize", "short_clips", "augment", "copies", "augment_seed")} == {
        "normalize": "rms",
        "short_clips": "loop",
        "augment": "gain=-20:0,noise=20:30,crop=0.5:0.9",
        "copies": 2,
        "augment_seed": 3,
    }
    # the same table whatever the number of workers
    again = tmp_path / "again.csv"
    assert main(["extract", str(tiny_corpus), "-o", str(again), *options, "-j", "2"]) == 0
    assert again.read_bytes() == out.read_bytes()
    from featurelab.models import load_dataset

    dataset = load_dataset(out)
    assert dataset.augmented.sum() == 38 and "augmented" not in dataset.feature_names


def test_default_extraction_has_no_new_columns_or_keys(tiny_corpus, tmp_path):
    out = tmp_path / "t.csv"
    assert (
        main(["extract", str(tiny_corpus), "-o", str(out), "--segment", "1", "--no-cache", "-q", "-j", "1"])
        == 0
    )
    assert list(pd.read_csv(out).columns) == gtzan_columns()
    meta = json.loads(out.with_suffix(".meta.json").read_text())
    assert set(meta) == {
        "table",
        "features",
        "sr",
        "segment",
        "segment_hop",
        "segment_mode",
        "backend",
        "featurelab_version",
    }


def test_cli_generalization_usage_errors(tiny_corpus, tmp_path, capsys):
    out = str(tmp_path / "t.csv")
    assert main(["extract", str(tiny_corpus), "-o", out, "--copies", "2", "-q"]) == 2
    assert "copies needs augment" in capsys.readouterr().err
    assert main(["extract", str(tiny_corpus), "-o", out, "--augment", "gain=0:-6", "-q"]) == 2
    assert "range 0:-6 is reversed" in capsys.readouterr().err
    assert main(["extract", str(tiny_corpus), "-o", out, "--normalize", "loud", "-q"]) == 2
    assert "'normalize' parameter" in capsys.readouterr().err


def test_a_worker_imports_no_pandas_or_sklearn(tmp_path, write_wav):
    """Workers unpickle featurelab.worker._worker and its arguments: that must not import the
    table or model stack (each worker would pay their import time)."""
    import pickle
    import subprocess
    import sys

    from featurelab.datasets import AudioItem
    from featurelab.settings import ExtractionSettings

    path = write_wav("a.wav", music_like(3.5))
    task = pickle.dumps((AudioItem(path=path, label="", name="a.wav"), ExtractionSettings(segment=3.0)))
    (tmp_path / "task.pkl").write_bytes(task)
    code = (
        "import pickle, sys; from featurelab.worker import _worker; "
        f"item, settings = pickle.loads(open({str(tmp_path / 'task.pkl')!r}, 'rb').read()); "
        "out = _worker(item, settings, ('segment', 'track')); "
        "assert len(out['segment']['rows']) == 1 and len(out['track']['rows']) == 1, out; "
        "heavy = ('pandas', 'sklearn', 'pyarrow', 'matplotlib', 'torch'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=checkout_env(), capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_prestart_workers_only_for_a_local_pool():
    from joblib import parallel_config

    from featurelab.settings import ExtractionSettings
    from featurelab.worker import prestart_workers

    settings = ExtractionSettings()
    assert not prestart_workers(settings, 1)  # one worker: the driver runs in process
    with parallel_config(backend="threading"):
        assert not prestart_workers(settings, 2)  # not a loky pool (e.g. Dask): nothing to start
