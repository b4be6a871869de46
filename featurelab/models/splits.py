"""Evaluation protocols: stratified (group) k-fold, holdout and predefined split files.

Whenever a dataset has groups (the tracks of a segment table), every split is group-aware: all rows
of a track land on the same side, in the outer splits and in the inner search folds alike.

Augmented rows (``extract --augment``) are training rows only, in every split: the split is made on
the original rows, and each augmented row joins the training side when its track trains there and
is tested nowhere in that split (:func:`split_originals`). No evaluation tests on an augmented row
or trains on a copy of a test track.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..datasets import read_split_dir
from ..exceptions import ParameterError, TableError
from .data import Dataset

__all__ = [
    "Protocol",
    "SplitMembership",
    "make_cv",
    "iter_outer_splits",
    "read_split_dir",
    "split_membership",
    "split_summary",
    "match_split",
    "check_n_splits",
    "split_originals",
    "check_holdout",
    "protocol_notes",
]

logger = logging.getLogger(__name__)

#: ``split(rows) -> [(train, test), ...]``: splits of some row positions, as positions.
Splitter = Callable[[np.ndarray], Iterable[tuple[np.ndarray, np.ndarray]]]

#: The ten genres of GTZAN; its files are named ``<genre>.000NN.wav``.
GTZAN_GENRES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")
_GTZAN_TRACK = re.compile(rf"^({'|'.join(GTZAN_GENRES)})\.000[0-9][0-9]$")


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


@dataclass(frozen=True)
class SplitMembership:
    """How the rows of a table fall into the lists of a split folder.

    Attributes
    ----------
    name : str
        The split (the folder's name or the built-in name).
    parts : np.ndarray of str [shape=(n_rows,)]
        ``"train"``, ``"valid"``, ``"test"`` or ``""`` (in no list) for each row.
    listed : dict
        Part -> number of tracks its list names.
    matched : dict
        Part -> number of those tracks found in the table.
    rows : dict
        Part -> number of rows in it.
    unlisted_rows, unlisted_tracks : int
        Rows (and their tracks) in no list: left out of training and test alike.
    """

    name: str
    parts: np.ndarray
    listed: dict[str, int] = field(default_factory=dict)
    matched: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    unlisted_rows: int = 0
    unlisted_tracks: int = 0

    def describe(self) -> str:
        """One line: names matched and rows of each list, and the rows in no list."""
        parts = ", ".join(
            f"{part} {self.matched[part]}/{self.listed[part]} tracks ({self.rows[part]} rows)"
            for part in self.listed
            if self.listed[part]
        )
        left = (
            f"; {self.unlisted_rows} rows ({self.unlisted_tracks} tracks) are in no list and are left out"
            if self.unlisted_rows
            else ""
        )
        return f"Split {self.name!r}: names matched in the table: {parts}{left}."

    def to_dict(self) -> dict[str, Any]:
        """Return the counts (not the parts of each row): ``protocol_settings.split`` of results.json."""
        return {
            "name": self.name,
            "listed": dict(self.listed),
            "matched": dict(self.matched),
            "rows": dict(self.rows),
            "unlisted_rows": self.unlisted_rows,
            "unlisted_tracks": self.unlisted_tracks,
        }

    @property
    def complete(self) -> bool:
        """Every listed name matched a track and every row is in a list."""
        return self.unlisted_rows == 0 and self.matched == self.listed


def match_split(track_ids: np.ndarray, split_dir: str | os.PathLike) -> SplitMembership:
    """Match rows, given by their track ids, to the lists of a split folder (or a built-in split).

    Parameters
    ----------
    track_ids : np.ndarray [shape=(n_rows,)]
        The track of each row (:func:`featurelab.datasets.track_id`; segments: the track they were
        cut from).
    split_dir : path or str
        A folder of ``train*.txt`` / ``valid*.txt`` / ``test*.txt`` lists, or a built-in split name.

    Returns
    -------
    SplitMembership
        Also for a split that matches no row (see :func:`split_summary` for the check).
    """
    from ..datasets import BUILTIN_SPLITS

    parts = read_split_dir(split_dir)
    name = str(split_dir) if str(split_dir) in BUILTIN_SPLITS else Path(split_dir).name
    track_ids = np.asarray(track_ids)
    member = np.full(len(track_ids), "", dtype=object)
    present = set(track_ids.tolist())
    for part, tracks in parts.items():
        member[np.isin(track_ids, list(tracks))] = part
    return SplitMembership(
        name=name,
        parts=member,
        listed={part: len(tracks) for part, tracks in parts.items()},
        matched={part: len(tracks & present) for part, tracks in parts.items()},
        rows={part: int((member == part).sum()) for part in parts},
        unlisted_rows=int((member == "").sum()),
        unlisted_tracks=len(set(track_ids[member == ""].tolist())),
    )


def split_summary(dataset: Dataset, split_dir: str | os.PathLike) -> SplitMembership:
    """Match the rows of ``dataset`` to the lists of a split folder (or a built-in split).

    Rows are matched by track (:func:`featurelab.datasets.track_id`; segments by the track they
    were cut from).

    Returns
    -------
    SplitMembership

    Raises
    ------
    TableError
        No row of the table belongs to the train list or to the test list.
    """
    summary = match_split(dataset.track_ids, split_dir)
    for part in ("train", "test"):
        if not summary.rows[part]:
            raise TableError(
                f"No row of the table belongs to the {part} list of {str(split_dir)!r} (0 of its "
                f"{summary.listed[part]} tracks found). The lists name files such as "
                "blues/blues.00029.wav, matched on the file stem; check that the table and the split "
                "describe the same corpus."
            )
    return summary


def split_membership(dataset: Dataset, split_dir: str | os.PathLike) -> np.ndarray:
    """Which part (``"train"``, ``"valid"``, ``"test"`` or ``""``) each row belongs to.

    See :func:`split_summary`, which also counts the names matched and the rows left out.
    """
    return split_summary(dataset, split_dir).parts


def looks_like_gtzan(dataset: Dataset) -> bool:
    """Whether every track is named like a GTZAN file (``<genre>.000NN``) of its own label."""
    tracks = dataset.track_ids
    if not len(tracks):
        return False
    return all(
        _GTZAN_TRACK.match(str(track)) is not None and str(track).split(".", 1)[0] == str(label)
        for track, label in zip(tracks, dataset.y, strict=True)
    )


def protocol_notes(dataset: Dataset, protocol: Protocol, *, log: bool = True) -> list[str]:
    """Warnings about how a protocol splits this table (each also logged, unless ``log=False``).

    - a predefined split that leaves rows out or names tracks the table lacks
      (:meth:`SplitMembership.describe`);
    - a random split (k-fold or holdout) of a GTZAN table, where one artist's tracks land on both
      sides: the artist-filtered split gives the honest figure.

    Raises
    ------
    TableError
        A predefined split whose train or test list matches no row (see :func:`split_summary`).
    """
    notes = []
    if protocol.kind == "split":
        summary = split_summary(dataset, protocol.split_dir)  # type: ignore[arg-type]
        if not summary.complete:
            notes.append(summary.describe())
        if summary.listed.get("valid") and not summary.rows.get("valid"):
            notes.append(
                f"No row belongs to the valid list of {summary.name!r}: the search validates on "
                "inner folds of the training rows instead."
            )
    elif looks_like_gtzan(dataset):
        notes.append(
            "This table looks like GTZAN: random folds put one artist's tracks on both sides, which inflates "
            "the accuracy; --split gtzan-filtered (split_dir='gtzan-filtered') gives the honest, "
            "artist-filtered figure."
        )
    if log:
        for note in notes:
            logger.warning(note)
    return notes


def check_holdout(y: np.ndarray, test_size: float) -> None:
    """Raise a clear :class:`ParameterError` when a stratified holdout of ``y`` is impossible.

    Every class needs two rows (one on each side), and both sides at least one row per class.
    """
    import math

    import pandas as pd

    counts = pd.Series(y).value_counts()
    n, n_classes = len(y), len(counts)
    if counts.min() < 2:
        raise ParameterError(
            f"A stratified holdout (test_size) needs at least 2 rows of every class. Got class "
            f"{counts.idxmin()!r} with only {int(counts.min())} row; drop it, or use --cv."
        )
    n_test = math.ceil(test_size * n)
    n_train = n - n_test
    if n_test < n_classes or n_train < n_classes:
        side, count = ("test", n_test) if n_test < n_classes else ("training", n_train)
        low, high = n_classes / n, 1 - n_classes / n
        raise ParameterError(
            f"test_size must leave at least one row of each of the {n_classes} classes on both "
            f"sides. Got {test_size:g}, which gives {count} {side} rows of {n}; use a value in "
            f"[{low:.2g}, {high:.2g}]."
        )


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
        check_holdout(y, test_size)
        splitter = StratifiedShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
        train, test = next(splitter.split(np.zeros(len(y)), y))
    else:
        # A stratified group holdout: the first fold of a StratifiedGroupKFold of 1/test_size.
        n_splits = max(2, int(round(1.0 / test_size)))
        check_n_splits(y, groups, n_splits, "1/test_size (group holdout folds)")
        cv = make_cv(n_splits, groups=groups, seed=seed)
        train, test = next(cv.split(np.zeros(len(y)), y, groups))
    return np.sort(train), np.sort(test)
