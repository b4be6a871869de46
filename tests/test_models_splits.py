"""Feature tables as datasets, and evaluation splits that never leak a track."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from models_helpers import segment_table, track_table

from featurelab.datasets import read_split_dir, segment_track_id, track_id
from featurelab.exceptions import ParameterError, TableError
from featurelab.models import Protocol, iter_outer_splits, load_dataset, make_cv
from featurelab.models.search import inner_splits
from featurelab.models.splits import split_membership


# ----------------------------------------------------------------------------- datasets
@pytest.mark.parametrize(
    ("name", "track", "segment_track"),
    [
        ("blues.00000.3.wav", "blues.00000.3", "blues.00000"),
        ("blues.00000.wav", "blues.00000", None),
        ("blues/blues.00042.wav", "blues.00042", None),
        ("my song.12.flac", "my song.12", "my song"),
        ("noext", "noext", None),
    ],
)
def test_track_names(name, track, segment_track):
    assert track_id(name) == track
    assert segment_track_id(name) == segment_track


def test_load_track_table_picks_numeric_features():
    table = track_table(5)
    table["group_note"] = "x"  # non-numeric: ignored
    ds = load_dataset(table)
    assert ds.feature_names == ["signal_mean", "spread_var", "noise0_mean", "noise1_mean", "noise2_mean"]
    assert "length" not in ds.feature_names and "label" not in ds.feature_names
    assert not ds.is_segment_table and ds.groups is None
    assert ds.track_ids[0] == "blues.00000"
    assert ds.X.dtypes.eq(np.float64).all()
    assert ds.extraction.assumed is True and ds.extraction.segment is None


def test_segment_table_is_detected_and_grouped_by_track():
    ds = load_dataset(segment_table(4, 3))
    assert ds.is_segment_table
    assert ds.groups is not None
    assert ds.groups[0] == "blues.00000" and len(set(ds.groups)) == 12
    assert ds.extraction.segment == 3.0
    assert load_dataset(segment_table(4, 3), group="none").groups is None


def test_group_column_wins(tmp_path):
    table = track_table(5)
    table["group"] = [f"artist{i % 4}" for i in range(len(table))]
    ds = load_dataset(table)
    assert set(ds.groups) == {"artist0", "artist1", "artist2", "artist3"}
    assert "group" not in ds.feature_names


def test_features_file_restricts_and_validates(tmp_path):
    path = tmp_path / "features.txt"
    path.write_text("# chosen\nspread_var\nsignal_mean\n\n")
    ds = load_dataset(track_table(5), features_file=path)
    assert ds.feature_names == ["spread_var", "signal_mean"]
    path.write_text("signal_mean\nmfcc99_mean\n")
    with pytest.raises(TableError, match="not in the table.*mfcc99_mean"):
        load_dataset(track_table(5), features_file=path)


def test_table_errors():
    with pytest.raises(TableError, match="no 'label' column"):
        load_dataset(track_table(5).drop(columns="label"))
    bad = track_table(5)
    bad.loc[3, "signal_mean"] = np.nan
    with pytest.raises(TableError, match="1 rows have missing or infinite feature values"):
        load_dataset(bad)


def test_sidecar_metadata_is_read(tmp_path):
    path = tmp_path / "seg.csv"
    segment_table(3, 2).to_csv(path, index=False)
    meta = {
        "table": "segment",
        "features": ["gtzan"],
        "sr": 16000,
        "segment": 1.5,
        "segment_hop": 1.5,
        "segment_mode": "gtzan",
        "backend": "librosa",
    }
    (tmp_path / "seg.meta.json").write_text(json.dumps(meta))
    ds = load_dataset(path)
    assert ds.extraction.sr == 16000 and ds.extraction.segment == 1.5
    assert ds.extraction.assumed is False


# ----------------------------------------------------------------------------- splits
def _assert_no_track_straddles(groups, train, test):
    assert not set(groups[train]) & set(groups[test])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_group_kfold_never_leaks(seed):
    ds = load_dataset(segment_table(6, 4, seed=seed))
    protocol = Protocol(n_splits=3, repeats=2, seed=seed, grouped=True)
    seen_test = {r: [] for r in range(2)}
    for repeat, _, train, test in iter_outer_splits(ds, protocol):
        assert not set(train) & set(test)
        _assert_no_track_straddles(ds.groups, train, test)
        # stratified: every class in every test fold
        assert set(ds.y[test]) == set(ds.y)
        seen_test[repeat].extend(test.tolist())
        # the inner search folds of the training rows are group-aware too
        for inner_train, inner_test in inner_splits(ds.y[train], ds.groups[train], n_splits=2, seed=seed):
            _assert_no_track_straddles(ds.groups[train], inner_train, inner_test)
    for rows in seen_test.values():  # k-fold: every row is tested exactly once per repeat
        assert sorted(rows) == list(range(ds.n_samples))


def test_group_holdout_never_leaks():
    ds = load_dataset(segment_table(10, 3))
    protocol = Protocol(test_size=0.2, repeats=3, grouped=True)
    splits = list(iter_outer_splits(ds, protocol))
    assert len(splits) == 3
    for _, _, train, test in splits:
        _assert_no_track_straddles(ds.groups, train, test)
        assert 0.1 < len(test) / ds.n_samples < 0.3


def test_repeats_use_different_seeds_and_same_seed_same_splits():
    ds = load_dataset(track_table(10))
    protocol = Protocol(n_splits=3, repeats=2, seed=5)
    first = [test.tolist() for *_, test in iter_outer_splits(ds, protocol)]
    again = [test.tolist() for *_, test in iter_outer_splits(ds, protocol)]
    assert first == again
    assert first[:3] != first[3:]


def test_too_many_folds_is_a_clear_error():
    ds = load_dataset(segment_table(3, 4))
    with pytest.raises(ParameterError, match="smallest class.*only 3 tracks"):
        list(iter_outer_splits(ds, Protocol(n_splits=5, grouped=True)))


def test_make_cv_kinds():
    assert type(make_cv(3)).__name__ == "StratifiedKFold"
    assert type(make_cv(3, groups=[1, 2])).__name__ == "StratifiedGroupKFold"
    with pytest.raises(ParameterError, match="n_splits must be an integer >= 2"):
        make_cv(1)


def _write_split(folder, parts):
    folder.mkdir()
    for part, names in parts.items():
        (folder / f"{part}_filtered.txt").write_text(
            "\n".join(f"{n.split('.')[0]}/{n}" for n in names) + "\n"
        )


def test_split_dir_protocol(tmp_path):
    ds = load_dataset(segment_table(4, 2))
    tracks = sorted(set(ds.track_ids))
    train, valid, test = tracks[0::3], tracks[1::3], tracks[2::3][:-1]  # one track in no list
    _write_split(
        tmp_path / "s",
        {
            "train": [f"{t}.wav" for t in train],
            "valid": [f"{t}.wav" for t in valid],
            "test": [f"{t}.wav" for t in test],
        },
    )
    member = split_membership(ds, tmp_path / "s")
    protocol = Protocol(split_dir=str(tmp_path / "s"), grouped=True)
    ((_, _, tr, te),) = list(iter_outer_splits(ds, protocol))
    assert set(ds.track_ids[tr]) == set(train) | set(valid)
    assert set(ds.track_ids[te]) == set(test)
    assert (member == "").sum() == 2  # the unlisted track's two segments are left out
    assert protocol.describe().startswith("predefined split s")


def test_split_dir_overlap_is_refused(tmp_path):
    _write_split(tmp_path / "s", {"train": ["blues.00001.wav"], "test": ["blues.00001.wav"]})
    with pytest.raises(ParameterError, match="both the train and test lists"):
        read_split_dir(tmp_path / "s")


def test_protocol_descriptions():
    assert Protocol(n_splits=5, repeats=3).describe() == "5-fold StratifiedKFold x 3 repeats"
    assert Protocol(n_splits=5, grouped=True).describe() == "5-fold StratifiedGroupKFold"
    assert Protocol(test_size=0.2).describe() == "stratified holdout test_size=0.2"


def _gtzan_named_table(per_part: int = 4) -> pd.DataFrame:
    """Rows named like the tracks of the built-in artist-filtered split, a few of each list."""
    parts = read_split_dir("gtzan-filtered")
    rows = []
    for k, part in enumerate(("train", "valid", "test")):
        for track in sorted(parts[part])[: per_part * 10 : 10] + sorted(parts[part])[-per_part:]:
            label = track.split(".")[0]
            rows.append({"filename": f"{track}.wav", "x_mean": float(hash(label) % 7 + k), "label": label})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("flag", ["--split", "--split-dir", "--split-file"])
def test_cli_split_accepts_the_builtin_split_and_the_old_names(tmp_path, flag, capsys):
    from featurelab.cli import main

    path = tmp_path / "t.csv"
    _gtzan_named_table().to_csv(path, index=False)
    args = ["gridsearch", str(path), "-m", "logreg", flag, "gtzan-filtered", "-o", str(tmp_path / "run")]
    assert main([*args, "--no-save-model", "-q", "-j", "1"]) == 0
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["protocol"] == "predefined split gtzan-filtered (train+valid -> test)"
    assert results["search"]["inner_validation"] == "valid list"
    assert "--split gtzan-filtered" in results["command"]  # the documented name


# ----------------------------------------------------------------------------- split membership
def _partial_split(tmp_path, ds):
    """Lists that name two unknown tracks and leave one track of the table out."""
    tracks = sorted(set(ds.track_ids))
    train, test, left_out = tracks[:-4], tracks[-4:-1], tracks[-1]
    _write_split(
        tmp_path / "s",
        {
            "train": [f"{t}.wav" for t in train] + ["blues.09998.wav"],
            "test": [f"{t}.wav" for t in test] + ["rock.09999.wav"],
        },
    )
    return train, test, left_out


def test_split_summary_counts_names_matched_and_rows_in_no_list(tmp_path, caplog):
    from featurelab.models.splits import split_summary

    ds = load_dataset(segment_table(4, 2))  # 12 tracks, 2 segments each
    train, test, _ = _partial_split(tmp_path, ds)
    summary = split_summary(ds, tmp_path / "s")
    assert summary.listed == {"train": len(train) + 1, "valid": 0, "test": 4}
    assert summary.matched == {"train": len(train), "valid": 0, "test": 3}
    assert summary.rows == {"train": 2 * len(train), "valid": 0, "test": 6}
    assert (summary.unlisted_rows, summary.unlisted_tracks) == (2, 1)
    assert not summary.complete
    line = summary.describe()
    assert f"train {len(train)}/{len(train) + 1} tracks ({2 * len(train)} rows)" in line
    assert "test 3/4 tracks (6 rows)" in line and "2 rows (1 tracks) are in no list" in line


def test_a_partial_split_is_said_on_stderr_by_gridsearch(tmp_path, capsys):
    from featurelab.cli import main

    table = segment_table(4, 2)
    _partial_split(tmp_path, load_dataset(table))
    table.to_csv(tmp_path / "t.csv", index=False)
    argv = ["gridsearch", str(tmp_path / "t.csv"), "-m", "logreg", "--split", str(tmp_path / "s")]
    assert (
        main([*argv, "--inner-cv", "2", "-o", str(tmp_path / "run"), "--no-save-model", "-q", "-j", "1"]) == 0
    )
    err = capsys.readouterr().err
    assert (
        "Split 's': names matched in the table: train 8/9 tracks (16 rows), test 3/4 tracks (6 rows)" in err
    )
    assert "2 rows (1 tracks) are in no list and are left out" in err
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["fold_scores"][0]["n_test"] == 6
    # ... and recorded in results.json and report.md, not only said on stderr
    assert results["schema_version"] == 1  # an added optional key: older readers still read it
    assert results["protocol_settings"]["split"] == {
        "name": "s",
        "listed": {"train": 9, "valid": 0, "test": 4},
        "matched": {"train": 8, "valid": 0, "test": 3},
        "rows": {"train": 16, "valid": 0, "test": 6},
        "unlisted_rows": 2,
        "unlisted_tracks": 1,
    }
    report = (tmp_path / "run" / "report.md").read_text()
    assert (
        "- split `s`: names matched in the table: train 8/9 tracks (16 rows), test 3/4 tracks (6 rows); "
        "2 rows (1 tracks) in no list, left out" in report
    )


def test_an_empty_part_is_an_error_naming_the_counts(tmp_path):
    from featurelab.models.splits import split_summary

    ds = load_dataset(track_table(3))
    _write_split(tmp_path / "s", {"train": ds.frame["filename"].tolist(), "test": ["pop.00001.wav"]})
    with pytest.raises(TableError, match=r"No row of the table belongs to the test list .*0 of its 1 tracks"):
        split_summary(ds, tmp_path / "s")


def test_a_valid_list_matching_no_row_is_said(tmp_path, caplog):
    from featurelab.models.splits import protocol_notes

    ds = load_dataset(track_table(3))
    names = ds.frame["filename"].tolist()
    _write_split(tmp_path / "s", {"train": names[0::2], "valid": ["pop.00001.wav"], "test": names[1::2]})
    notes = protocol_notes(ds, Protocol(split_dir=str(tmp_path / "s")))
    assert any("No row belongs to the valid list" in note for note in notes)
    assert "No row belongs to the valid list" in caplog.text


# ----------------------------------------------------------------------------- the GTZAN split
def test_random_folds_of_a_gtzan_table_point_to_the_artist_filtered_split(caplog):
    from featurelab.models.splits import looks_like_gtzan, protocol_notes

    gtzan = load_dataset(_gtzan_named_table())
    assert looks_like_gtzan(gtzan)
    for protocol in (Protocol(n_splits=2), Protocol(test_size=0.25)):
        (note,) = protocol_notes(gtzan, protocol)
        assert "random folds put one artist's tracks on both sides" in note
        assert "--split gtzan-filtered" in note
    assert protocol_notes(gtzan, Protocol(split_dir="gtzan-filtered")) == [] or all(
        "random folds" not in note for note in protocol_notes(gtzan, Protocol(split_dir="gtzan-filtered"))
    )
    other = track_table(3).assign(filename=lambda t: [f"song{i}.wav" for i in range(len(t))])
    assert not looks_like_gtzan(load_dataset(other))
    relabelled = _gtzan_named_table().assign(label="other")  # GTZAN-like names, other labels
    assert not looks_like_gtzan(load_dataset(relabelled))


def test_gridsearch_says_once_that_random_folds_of_gtzan_are_optimistic(tmp_path, capsys):
    from featurelab.cli import main

    track_table(6).to_csv(tmp_path / "t.csv", index=False)  # blues.00000.wav, ...: GTZAN's names
    argv = ["gridsearch", str(tmp_path / "t.csv"), "-m", "logreg", "--cv", "2", "--inner-cv", "2"]
    assert main([*argv, "-o", str(tmp_path / "run"), "--no-save-model", "-q", "-j", "1"]) == 0
    err = capsys.readouterr().err
    assert err.count("random folds put one artist's tracks on both sides") == 1


def _gtzan_segment_table(per_part: int = 3, n_segments: int = 3) -> pd.DataFrame:
    rows = []
    for track in _gtzan_named_table(per_part)["filename"]:
        for s in range(n_segments):
            label = track.split(".")[0]
            rows.append(
                {
                    "filename": track.replace(".wav", f".{s}.wav"),
                    "x_mean": float(len(label) + s),
                    "label": label,
                }
            )
    return pd.DataFrame(rows)


def test_the_builtin_split_maps_segments_to_their_tracks():
    from featurelab.models import evaluate

    table = _gtzan_segment_table()
    parts = read_split_dir("gtzan-filtered")
    result = evaluate(table, "logreg", grid={}, split_dir="gtzan-filtered", n_jobs=1)
    (fold,) = result.folds
    tested = {segment_track_id(name) for name in table["filename"].iloc[fold.test_index]}
    assert tested <= parts["test"] and fold.n_test == 3 * len(tested)
    assert fold.n_train == len(table) - fold.n_test  # train + valid rows, every segment
    assert result.protocol.describe() == "predefined split gtzan-filtered (train+valid -> test)"


def test_select_accepts_the_builtin_split_by_its_documented_name(tmp_path, capsys):
    from featurelab.cli import main

    _gtzan_named_table(6).to_csv(tmp_path / "t.csv", index=False)
    argv = ["select", str(tmp_path / "t.csv"), "-m", "logreg", "--split", "gtzan-filtered", "--ks", "1"]
    assert main([*argv, "-o", str(tmp_path / "run"), "-q", "-j", "1"]) == 0
    selection = json.loads((tmp_path / "run" / "selection.json").read_text())
    assert selection["protocol"] == "predefined split gtzan-filtered (train+valid -> test)"
