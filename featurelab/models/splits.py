"""Evaluation protocols: stratified (group) k-fold, holdout and predefined split files.

Whenever a dataset has groups (the tracks of a segment table), every split is group-aware: all rows
of a track land on the same side, in the outer splits and in the inner search folds alike.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
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
]


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
        Row positions; for split files, rows in no list are left out of both.
    """
    y = dataset.y
    groups = dataset.groups if protocol.grouped else None
    rows = np.arange(dataset.n_samples)
    if protocol.kind == "split":
        member = split_membership(dataset, protocol.split_dir)  # type: ignore[arg-type]
        train = rows[(member == "train") | (member == "valid")]
        test = rows[member == "test"]
        for repeat in range(protocol.repeats):
            yield repeat, 0, train, test
        return
    if protocol.kind == "holdout":
        yield from _holdout(y, groups, protocol)
        return
    check_n_splits(y, groups, protocol.n_splits, "cv (the number of outer folds)")
    for repeat in range(protocol.repeats):
        cv = make_cv(protocol.n_splits, groups=groups, seed=protocol.seed + repeat)
        for fold, (train, test) in enumerate(cv.split(dataset.X, y, groups)):
            yield repeat, fold, np.sort(train), np.sort(test)


def _holdout(
    y: np.ndarray, groups: np.ndarray | None, protocol: Protocol
) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    from sklearn.model_selection import StratifiedShuffleSplit

    test_size = float(protocol.test_size)  # type: ignore[arg-type]
    for repeat in range(protocol.repeats):
        seed = protocol.seed + repeat
        if groups is None:
            splitter = StratifiedShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
            train, test = next(splitter.split(np.zeros(len(y)), y))
        else:
            # A stratified group holdout: the first fold of a StratifiedGroupKFold of 1/test_size.
            n_splits = max(2, int(round(1.0 / test_size)))
            check_n_splits(y, groups, n_splits, "1/test_size (group holdout folds)")
            cv = make_cv(n_splits, groups=groups, seed=seed)
            train, test = next(cv.split(np.zeros(len(y)), y, groups))
        yield repeat, 0, np.sort(train), np.sort(test)
