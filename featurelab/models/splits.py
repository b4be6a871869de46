"""Evaluation protocols: stratified (group) k-fold, holdout and predefined split files.

Whenever a dataset has groups (the tracks of a segment table), every split is group-aware: all rows
of a track land on the same side, in the outer splits and in the inner search folds alike.

Augmented rows (``extract --augment``) are training rows only, in every split: the split is made on
the original rows, and each augmented row joins the training side when its track trains there and
is tested nowhere in that split (:func:`split_originals`). No evaluation tests on an augmented row
or trains on a copy of a test track.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..datasets import read_split_dir
from ..exceptions import ParameterError, TableError
from .data import Dataset

__all__ = [
    "Protocol",
    "make_cv",
    "iter_outer_splits",
    "read_split_dir",
    "split_membership",
    "check_n_splits",
    "split_originals",
]

#: ``split(rows) -> [(train, test), ...]``: splits of some row positions, as positions.
Splitter = Callable[[np.ndarray], Iterable[tuple[np.ndarray, np.ndarray]]]


@dataclass(frozen=True)
class Protocol:
    """How a model is evaluated.

    Parameters
    ----------
    n_splits : int
        Outer folds of k-fold cross-validation.
    repeats : int
        Repetitions with seeds ``seed, seed + 1, ...``.
    seed : int
        Base seed.
    test_size : float or None
        A single stratified holdout of this fraction (per repeat) instead of k-fold.
    split_dir : str or None
        A folder of ``train*.txt`` / ``valid*.txt`` / ``test*.txt`` file lists: train (+ valid)
        -> test.
    grouped : bool
        Splits keep groups together.
    """

    n_splits: int = 5
    repeats: int = 1
    seed: int = 42
    test_size: float | None = None
    split_dir: str | None = None
    grouped: bool = False

    @property
    def kind(self) -> str:
        """``"split"``, ``"holdout"`` or ``"cv"``."""
        if self.split_dir is not None:
            return "split"
        return "holdout" if self.test_size is not None else "cv"

    def describe(self) -> str:
        """Describe the protocol, e.g. ``"5-fold StratifiedGroupKFold x 3 repeats"``."""
        rep = f" x {self.repeats} repeats" if self.repeats > 1 else ""
        if self.kind == "split":
            return f"predefined split {Path(self.split_dir).name} (train+valid -> test){rep}"
        if self.kind == "holdout":
            how = "group holdout" if self.grouped else "stratified holdout"
            return f"{how} test_size={self.test_size:g}{rep}"
        splitter = "StratifiedGroupKFold" if self.grouped else "StratifiedKFold"
        return f"{self.n_splits}-fold {splitter}{rep}"


def make_cv(n_splits: int = 5, *, groups: Any = None, seed: int | None = 0, stratify: bool = True) -> Any:
    """Make a shuffled cross-validation splitter, group-aware when ``groups`` is given.

    Parameters
    ----------
    n_splits : int
        Number of folds (>= 2).
    groups : array-like or None
        Only its presence matters: pass the groups again to ``split``.
    seed : int or None
        Shuffling seed.
    stratify : bool
        Keep class proportions in every fold.

    Returns
    -------
    StratifiedGroupKFold, GroupKFold, StratifiedKFold or KFold
    """
    from numbers import Integral

    from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold

    from .._validation import check_scalar

    check_scalar(n_splits, "n_splits", Integral, min_val=2)
    if groups is not None:
        if stratify:
            return StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        return GroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    if stratify:
        return StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return KFold(n_splits=n_splits, shuffle=True, random_state=seed)


def check_n_splits(y: np.ndarray, groups: np.ndarray | None, n_splits: int, what: str) -> None:
    """Raise a clear :class:`ParameterError` when a class has fewer members than folds."""
    import pandas as pd

    if groups is None:
        counts = pd.Series(y).value_counts()
        unit = "rows"
    else:
        counts = pd.DataFrame({"y": y, "g": groups}).drop_duplicates().groupby("y").size()
        unit = "tracks"
    smallest = counts.idxmin()
    if counts.min() < n_splits:
        raise ParameterError(
            f"{what} must not exceed the number of {unit} of the smallest class. Got {n_splits}, "
            f"but class {smallest!r} has only {int(counts.min())} {unit}; use fewer folds."
        )


def split_membership(dataset: Dataset, split_dir: str | os.PathLike) -> np.ndarray:
    """Which part (``"train"``, ``"valid"``, ``"test"`` or ``""``) each row belongs to."""
    parts = read_split_dir(split_dir)
    member = np.full(dataset.n_samples, "", dtype=object)
    for part, tracks in parts.items():
        member[np.isin(dataset.track_ids, list(tracks))] = part
    for part in ("train", "test"):
        if not (member == part).any():
            raise TableError(
                f"No row of the table belongs to the {part} list of {str(split_dir)!r}. The lists "
                "name files such as blues/blues.00029.wav, matched on the file stem."
            )
    return member


def split_originals(
    split: Splitter, augmented: np.ndarray | None, tracks: np.ndarray
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Split the original rows only; each augmented row trains with its track, never tests.

    This is the one train-only rule of every evaluation (outer splits, inner search folds,
    calibration folds).

    Parameters
    ----------
    split : callable
        ``split(rows)`` yields ``(train, test)`` subsets of the positions ``rows``.
    augmented : np.ndarray of bool [shape=(n,)] or None
        Rows that are augmented copies; ``None`` or none marked: ``split(arange(n))`` unchanged.
    tracks : np.ndarray [shape=(n,)]
        The track of each row (a copy has its source's).

    Yields
    ------
    train, test : np.ndarray of int
        Sorted positions: ``test`` holds original rows only; ``train`` adds the augmented rows of
        the tracks in ``train`` that have no row in ``test``.

    Examples
    --------
    >>> tracks = np.array(["a", "b", "a", "b"])
    >>> augmented = np.array([False, False, True, True])
    >>> def halves(rows):
    ...     yield rows[:1], rows[1:]
    >>> [(train.tolist(), test.tolist()) for train, test in split_originals(halves, augmented, tracks)]
    [([0, 2], [1])]
    """
    rows = np.arange(len(tracks))
    if augmented is None or not augmented.any():
        yield from split(rows)
        return
    copies = rows[augmented]
    for train, test in split(rows[~augmented]):
        copy_tracks = tracks[copies]
        joins = np.isin(copy_tracks, tracks[train]) & ~np.isin(copy_tracks, tracks[test])
        train = np.sort(np.concatenate([train, copies[joins]]))
        if augmented[test].any():  # pragma: no cover - guards the rule
            raise AssertionError("an augmented row reached a test fold")
        yield train, np.sort(test)


def iter_outer_splits(
    dataset: Dataset, protocol: Protocol
) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    """Yield the outer training and test rows of a protocol.

    Parameters
    ----------
    dataset : Dataset
        The data (its ``groups`` decide group-awareness when ``protocol.grouped``).
    protocol : Protocol
        The evaluation protocol.

    Yields
    ------
    repeat : int
    fold : int
    train_idx : np.ndarray of int
    test_idx : np.ndarray of int
        Row positions; for split files, rows in no list are left out of both. Augmented rows
        are only ever training rows (:func:`split_originals`).
    """
    member = None
    if protocol.kind == "split":
        member = split_membership(dataset, protocol.split_dir)  # type: ignore[arg-type]
    for repeat in range(protocol.repeats):

        def split(rows: np.ndarray, repeat: int = repeat) -> Iterator[tuple[np.ndarray, np.ndarray]]:
            yield from _outer(dataset, protocol, rows, repeat, member)

        for fold, (train, test) in enumerate(split_originals(split, dataset.augmented, dataset.track_ids)):
            yield repeat, fold, train, test


def _outer(
    dataset: Dataset, protocol: Protocol, rows: np.ndarray, repeat: int, member: np.ndarray | None
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield the outer splits of one repeat of ``protocol`` over the row positions ``rows``."""
    y = dataset.y[rows]
    groups = dataset.groups[rows] if protocol.grouped and dataset.groups is not None else None
    if member is not None:
        yield rows[(member[rows] == "train") | (member[rows] == "valid")], rows[member[rows] == "test"]
        return
    if protocol.kind == "holdout":
        train, test = _holdout(y, groups, protocol, protocol.seed + repeat)
        yield rows[train], rows[test]
        return
    check_n_splits(y, groups, protocol.n_splits, "cv (the number of outer folds)")
    cv = make_cv(protocol.n_splits, groups=groups, seed=protocol.seed + repeat)
    for train, test in cv.split(dataset.X.iloc[rows], y, groups):
        yield rows[np.sort(train)], rows[np.sort(test)]


def _holdout(
    y: np.ndarray, groups: np.ndarray | None, protocol: Protocol, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import StratifiedShuffleSplit

    test_size = float(protocol.test_size)  # type: ignore[arg-type]
    if groups is None:
        splitter = StratifiedShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
        train, test = next(splitter.split(np.zeros(len(y)), y))
    else:
        # A stratified group holdout: the first fold of a StratifiedGroupKFold of 1/test_size.
        n_splits = max(2, int(round(1.0 / test_size)))
        check_n_splits(y, groups, n_splits, "1/test_size (group holdout folds)")
        cv = make_cv(n_splits, groups=groups, seed=seed)
        train, test = next(cv.split(np.zeros(len(y)), y, groups))
    return np.sort(train), np.sort(test)
