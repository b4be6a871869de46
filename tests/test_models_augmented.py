"""Augmented rows train only: every split, outer and inner, on every protocol (a spy on the folds)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from models_helpers import segment_table, track_table

from featurelab.exceptions import TableError
from featurelab.models import Protocol, evaluate, iter_outer_splits, load_dataset
from featurelab.models.search import inner_splits
from featurelab.models.splits import split_originals


def augmented(table: pd.DataFrame, copies: int = 2, seed: int = 0) -> pd.DataFrame:
    """``table`` followed by ``copies`` noisy copies of every row, marked as extract --augment marks them."""
    rng = np.random.default_rng(seed)
    table = table.copy()
    if "group" not in table:
        table["group"] = [name.split(".")[0] + "." + name.split(".")[1] for name in table["filename"]]
    parts = [table.assign(augmented=0)]
    numeric = [c for c in table.columns if c not in ("filename", "length", "label", "group")]
    for copy in range(1, copies + 1):
        part = table.assign(augmented=copy)
        part[numeric] = part[numeric] + rng.normal(0, 0.1, size=part[numeric].shape)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def check_rule(dataset, train, test):
    """No augmented test row; no copy of a test track in training; the other training tracks' copies used."""
    aug, tracks = dataset.augmented, dataset.track_ids
    assert not aug[test].any()
    assert not np.isin(tracks[train[aug[train]]], tracks[test]).any()
    copies = np.flatnonzero(aug & np.isin(tracks, tracks[train]) & ~np.isin(tracks, tracks[test]))
    assert len(copies) and np.isin(copies, train).all()


def test_dataset_marks_copies_and_never_reads_them_as_features():
    dataset = load_dataset(augmented(track_table(4)))
    assert "augmented" not in dataset.feature_names and dataset.augmented.sum() == 2 * 12
    assert not dataset.is_segment_table  # copies do not make a track table a segment table
    assert load_dataset(track_table(4)).augmented is None
    assert load_dataset(augmented(segment_table(3, 2))).is_segment_table


@pytest.mark.parametrize(("values", "message"), [(["x", 0], "must hold copy numbers"), ([1, 2], "Every row")])
def test_bad_augmented_columns(values, message):
    table = track_table(1).iloc[:2].assign(augmented=values)
    with pytest.raises(TableError, match=message):
        load_dataset(table)


@pytest.mark.parametrize(
    ("protocol", "group"),
    [
        (Protocol(n_splits=3, grouped=True), "auto"),
        (Protocol(n_splits=3, grouped=False), "none"),  # rows split alone: copies still follow their track
        (Protocol(test_size=0.3, repeats=2, grouped=True), "auto"),
        (Protocol(test_size=0.3, grouped=False), "none"),
    ],
)
def test_outer_splits_keep_copies_on_the_training_side(protocol, group):
    for base in (segment_table(4, 3), track_table(6)):
        dataset = load_dataset(augmented(base), group=group)
        splits = list(iter_outer_splits(dataset, protocol))
        assert splits
        for _, _, train, test in splits:
            check_rule(dataset, train, test)
        # the originals are split as they would be without copies
        plain = load_dataset(augmented(base, copies=0).drop(columns="augmented"), group=group)
        originals = np.flatnonzero(~dataset.augmented)
        for (_, _, train, test), (_, _, plain_train, plain_test) in zip(
            splits, iter_outer_splits(plain, protocol), strict=True
        ):
            np.testing.assert_array_equal(test, originals[plain_test])
            np.testing.assert_array_equal(np.intersect1d(train, originals), originals[plain_train])


def test_split_files_keep_copies_of_test_tracks_out(tmp_path):
    base = track_table(6)
    (tmp_path / "train.txt").write_text("\n".join(f"{t}.wav" for t in base["filename"].str[:-4][::2]))
    (tmp_path / "test.txt").write_text("\n".join(f"{t}.wav" for t in base["filename"].str[:-4][1::2]))
    dataset = load_dataset(augmented(base))
    ((_, _, train, test),) = iter_outer_splits(dataset, Protocol(split_dir=str(tmp_path), grouped=True))
    check_rule(dataset, train, test)
    assert len(test) == 9 and len(train) == 9 * 3


def test_inner_splits_validate_on_originals_only():
    dataset = load_dataset(augmented(segment_table(4, 2)))
    for groups in (dataset.groups, None):
        splits = inner_splits(
            dataset.y, groups, n_splits=3, seed=0, augmented=dataset.augmented, tracks=dataset.track_ids
        )
        for train, test in splits:
            check_rule(dataset, train, test)
    validation = np.isin(dataset.track_ids, ["blues.00000", "jazz.00001", "rock.00002"])
    ((train, test),) = inner_splits(
        dataset.y,
        None,
        n_splits=3,
        seed=0,
        validation=validation,
        augmented=dataset.augmented,
        tracks=dataset.track_ids,
    )
    check_rule(dataset, train, test)
    assert set(dataset.track_ids[test]) == {"blues.00000", "jazz.00001", "rock.00002"}
    # without copies, the splits are today's
    plain = inner_splits(dataset.y, dataset.groups, n_splits=3, seed=0)
    same = inner_splits(
        dataset.y,
        dataset.groups,
        n_splits=3,
        seed=0,
        augmented=np.zeros(dataset.n_samples, bool),
        tracks=dataset.track_ids,
    )
    for (a, b), (c, d) in zip(plain, same, strict=True):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)


def test_split_originals_passes_through_without_copies():
    def halves(rows):
        yield rows[:2], rows[2:]

    ((train, test),) = split_originals(halves, None, np.array(["a", "b", "c"]))
    assert train.tolist() == [0, 1] and test.tolist() == [2]


@pytest.mark.parametrize("model", ["logreg", "svm"])
def test_evaluation_trains_on_copies_and_tests_on_originals(monkeypatch, model):
    """A spy on what the folds fit and score: gridsearch's nested evaluation, search and calibration."""
    import featurelab.models.search as search

    dataset = load_dataset(augmented(segment_table(4, 3)))
    fits, inner = [], []
    real_fit, real_inner = search.search_and_fit, search.inner_splits

    def spy_fit(estimator, grid, X, y, groups=None, **options):
        fits.append(X.index.to_numpy())
        return real_fit(estimator, grid, X, y, groups, **options)

    def spy_inner(y, groups, **options):
        splits = real_inner(y, groups, **options)
        inner.append((fits[-1], splits))
        return splits

    monkeypatch.setattr(search, "search_and_fit", spy_fit)
    monkeypatch.setattr(search, "inner_splits", spy_inner)
    result = evaluate(dataset, model, grid={"clf__C": [0.1, 1.0]}, cv=3, inner_cv=2, n_jobs=1)
    assert len(fits) == len(result.folds) == 3
    for rows, fold in zip(fits, result.folds, strict=True):
        check_rule(dataset, rows, fold.test_index)
    assert len(inner) == (3 if model == "logreg" else 6)  # svm: search, then calibration folds
    for number, (rows, splits) in enumerate(inner):
        for train, test in splits:
            if model == "svm" and number % 2:  # calibration: a partition, copies with their track
                assert not np.isin(dataset.track_ids[rows[train]], dataset.track_ids[rows[test]]).any()
            else:
                check_rule(dataset, rows[train], rows[test])
