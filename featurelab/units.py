"""Units: the signals whose features become the rows one file contributes to a table.

A track row's unit is the whole file; a segment row's is one window
(:func:`~featurelab.extraction.segment_bounds`). The
settings decide three more things here, in this order, so the extraction workers stay one loop:

1. **short clips** (segment tables): a clip shorter than one segment is dropped (``"drop"``, the
   published behaviour: an error row), or gives one row from itself (``"window"``), from itself
   repeated to one segment (``"loop"``) or zero-padded to one (``"pad"``);
2. **augmentation** (``augment``, ``copies``): each unit is augmented ``copies`` times
   (:mod:`featurelab.augment`); an augmented window that came out shorter than one segment (a
   crop) is completed by :attr:`~featurelab.settings.ExtractionSettings.clip_policy`, the policy
   ``predict`` applies to short clips, so training rows look like the rows of short clips;
3. **loudness** (``normalize``): each unit is scaled (:mod:`featurelab.loudness`).

With the default settings the units are exactly the published tables' (``y[a:b]`` of each window,
stacked once): the tables stay byte-identical.

Examples
--------
>>> from featurelab.settings import ExtractionSettings
>>> y = np.zeros(22050 * 2, dtype=np.float32)
>>> settings = ExtractionSettings(segment=3.0, short_clips="loop")
>>> [(batch.shape, extras) for batch, extras in table_units(y, 22050, settings, "segment")]
[((1, 66149), [{'length': 44100}])]
>>> table_units(y, 22050, ExtractionSettings(segment=3.0), "segment")
Traceback (most recent call last):
...
ValueError: shorter than one 3 s segment (2.000 s): no segment rows
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .exceptions import ParameterError
from .loudness import normalize_units
from .settings import SHORT_CLIP_POLICIES, ExtractionSettings
from .worker import segment_bounds

__all__ = ["table_units", "window_samples", "fit_to_window"]

#: One batch of equal-length units [shape=(k, n)] and the extra columns of each of its k rows.
Batch = tuple[np.ndarray, list[dict[str, Any]]]


def window_samples(sr: int, settings: ExtractionSettings) -> int:
    """Return the samples of one segment row (``"gtzan"`` windows stop one sample short)."""
    assert settings.segment is not None
    win = int(round(settings.segment * sr))
    return win - 1 if settings.segment_mode == "gtzan" else win


def fit_to_window(y: np.ndarray, n: int, policy: str) -> np.ndarray:
    """Make a clip shorter than one window into the unit of its row, by ``policy``.

    Parameters
    ----------
    y : np.ndarray [shape=(m,)]
        The clip, ``1 <= m``.
    n : int
        Samples of one window.
    policy : {"window", "loop", "pad"}
        ``"window"``: the clip itself; ``"loop"``: repeated until it fills ``n`` samples;
        ``"pad"``: followed by silence up to ``n`` samples. (A clip of ``n`` or more samples is
        returned as it is.)

    Examples
    --------
    >>> fit_to_window(np.array([1.0, 2.0]), 5, "loop")
    array([1., 2., 1., 2., 1.])
    >>> fit_to_window(np.array([1.0, 2.0]), 4, "pad")
    array([1., 2., 0., 0.])
    """
    if policy not in SHORT_CLIP_POLICIES or policy == "drop":
        raise ParameterError(f"policy must be 'window', 'loop' or 'pad'. Got {policy!r} instead.")
    if len(y) >= n or policy == "window":
        return y
    if policy == "loop":
        return np.tile(y, -(-n // len(y)))[:n]
    return np.concatenate([y, np.zeros(n - len(y), dtype=y.dtype)])


def _originals(
    y: np.ndarray, sr: int, settings: ExtractionSettings, kind: str
) -> tuple[list[np.ndarray], list[int]]:
    """Return the file's own units and the samples of audio each of their rows stands for."""
    if kind == "track":
        return [y], [len(y)]
    assert settings.segment is not None
    bounds = segment_bounds(len(y), sr, settings.segment, settings.segment_hop, settings.segment_mode)
    if bounds:
        return [y[a:b] for a, b in bounds], [b - a for a, b in bounds]
    if settings.short_clips == "drop" or not len(y):
        raise ValueError(
            f"shorter than one {settings.segment:g} s segment ({len(y) / sr:.3f} s): no segment rows"
        )
    return [fit_to_window(y, window_samples(sr, settings), settings.short_clips)], [len(y)]


def _batches(units: Sequence[np.ndarray], extras: list[dict[str, Any]], normalize: str) -> list[Batch]:
    """Stack runs of consecutive equal-length units (row order kept), loudness-normalised."""
    out: list[Batch] = []
    start = 0
    for stop in range(1, len(units) + 1):
        if stop == len(units) or len(units[stop]) != len(units[start]):
            batch = np.stack(units[start:stop])
            out.append((normalize_units(batch, normalize), extras[start:stop]))
            start = stop
    return out


def table_units(
    y: np.ndarray, sr: int, settings: ExtractionSettings, kind: str, *, name: str = ""
) -> list[Batch]:
    """Return the units of one decoded file's rows in a table of ``kind``, batched.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        The decoded file (or clip).
    sr : int
        Its sampling rate.
    settings : ExtractionSettings
        The run's settings (``segment``, ``short_clips``, ``augment``, ``copies``,
        ``augment_seed``, ``normalize``).
    kind : {"track", "segment"}
        The table.
    name : str
        The file's name in the table: with the seed, it decides the augmentation draws.

    Returns
    -------
    list of (np.ndarray [shape=(k, m)], list of dict)
        Batches of equal-length units, in row order: the file's own rows, then copy 1's, copy
        2's, ...; each row's extra columns (``length``: samples of audio it stands for; with
        ``augment``, ``augmented``: 0 for the file's own rows, else the copy number).

    Raises
    ------
    ValueError
        A segment table, ``short_clips="drop"`` and a file shorter than one segment.
    """
    own, lengths = _originals(y, sr, settings, kind)
    batches = _batches(own, [{"length": n} for n in lengths], settings.normalize)
    if settings.augment is None:
        return batches
    from .augment import Augmenter, unit_seed

    for batch in batches:
        for extra in batch[1]:
            extra["augmented"] = 0
    augmenter = Augmenter(settings.augment)
    window = window_samples(sr, settings) if kind == "segment" else None
    for copy in range(1, settings.copies + 1):
        units, extras = [], []
        for index, unit in enumerate(own):
            z = augmenter(unit, sr, seed=unit_seed(settings.augment_seed, name, copy, index))
            extras.append({"length": len(z), "augmented": copy})
            if not len(z):  # pragma: no cover - no transform empties a signal
                z = np.zeros(1, dtype=np.float32)
            units.append(z if window is None else fit_to_window(z, window, settings.clip_policy))
        batches += _batches(units, extras, settings.normalize)
    return batches
