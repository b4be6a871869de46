"""Evaluation of the CNN: track-grouped folds or a split folder, scores per segment and per track.

The inputs are log-mel segments from the extraction driver (:func:`featurelab.arrays.extract_arrays`:
the same discovery, segmentation rule, resume cache, ``n_jobs`` rule and progress as ``featurelab
extract``; a file shorter than one segment is skipped and reported). Evaluation is track-grouped
k-fold (:func:`featurelab.models.splits.make_cv`: all segments of a track fall on the same side) or
a predefined split folder (``train`` trains, ``valid`` drives early stopping, ``test`` is scored).
Inside every training fold a stratified set of *tracks* is held out for early stopping.
Augmentation touches training rows only (see :mod:`.training`). Predictions are scored by
:mod:`featurelab.models.scoring` into a :class:`~featurelab.models.RunResults`, like every model.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ...exceptions import ParameterError
from ...models.results import RunResults
from ...parallel import DEFAULT_N_JOBS
from ...progress import ProgressBar, ProgressOption
from .._torch import import_torch, resolve_device
from ..training import early_stopping_split
from .augment import AugmentHook, WaveAugmenter
from .classifier import CNNClassifier
from .config import CNNConfig, load_cnn_config
from .training import Fold, Trainer

if TYPE_CHECKING:
    from ...models.splits import SplitMembership

__all__ = ["CNNRun", "evaluate_cnn"]

logger = logging.getLogger(__name__)


@dataclass
class CNNRun:
    """Everything an evaluation produced (written as a run directory by :func:`~featurelab.nn.cnn.train_cnn`).

    Attributes
    ----------
    results : RunResults
        The ``results.json`` content (the keys of every run; see :mod:`featurelab.models.rundir`).
    history : pandas.DataFrame
        One row per fold and epoch: ``fold, epoch, train_loss, train_accuracy, val_loss,
        val_accuracy, lr``.
    predictions : pandas.DataFrame
        One row per test segment: ``fold, filename, group, label, pred`` and ``proba_<class>``.
    track_predictions : pandas.DataFrame
        One row per test track: ``fold, group, label, pred`` (mean of segment probabilities).
    folds : list of dict
        ``{"fold", "train", "valid", "test", "augmented"}``: segment row positions of each fold
        and the rows that got waveform augmentation.
    segments : pandas.DataFrame
        The segment table (``filename, label, group, path, start, end``).
    model : CNNClassifier or None
        The final model (``save_model=True``).
    config : CNNConfig
        The settings used.
    problems : list of (str, str)
        Files that could not be used (undecodable, shorter than one segment, unlabelled), with the
        reason.
    run_dir : Path or None
        The run directory, once written (:func:`~featurelab.nn.cnn.train_cnn`).
    """

    results: RunResults
    history: pd.DataFrame
    predictions: pd.DataFrame
    track_predictions: pd.DataFrame
    folds: list[dict[str, Any]]
    segments: pd.DataFrame
    model: CNNClassifier | None
    config: CNNConfig
    problems: list[tuple[str, str]]
    run_dir: Path | None = None


def _validation_tracks(
    rows: np.ndarray, segments: pd.DataFrame, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Split training rows by track into (train, valid), stratified by label when possible."""
    tracks = segments.iloc[rows][["group", "label"]].drop_duplicates("group")
    held_out = early_stopping_split(tracks["label"].to_numpy(), fraction, seed)
    if held_out is None:
        return rows, rows[:0]
    val_tracks = set(tracks["group"].to_numpy()[held_out])
    in_val = segments.iloc[rows]["group"].isin(val_tracks).to_numpy()
    return rows[~in_val], rows[in_val]


def _make_folds(
    segments: pd.DataFrame, config: CNNConfig, cv: int, split_dir: str | None
) -> tuple[list[Fold], str, SplitMembership | None]:
    """Return the folds, the protocol's description and, for a split folder, what its lists matched."""
    from ...datasets import track_id
    from ...models.splits import check_n_splits, make_cv, match_split

    rows = np.arange(len(segments))
    labels = segments["label"].to_numpy()
    groups = segments["group"].to_numpy()
    if split_dir is not None:
        summary = match_split(segments["path"].map(track_id).to_numpy(), split_dir)
        member = {part: summary.parts == part for part in ("train", "valid", "test")}
        for part in ("train", "test"):
            if not member[part].any():
                raise ParameterError(
                    f"split_dir must list files of the corpus. No segment belongs to the {part} "
                    f"list of {str(split_dir)!r} (lines like blues/blues.00029.wav are matched "
                    "on the file stem)."
                )
        if not summary.complete:  # names the corpus lacks, or files in no list: said, as gridsearch does
            logger.warning(summary.describe().replace(" rows", " segments"))
        train, valid = rows[member["train"]], rows[member["valid"]]
        if not len(valid):
            train, valid = _validation_tracks(train, segments, config.validation_fraction, 0)
        n_tracks = {p: segments.iloc[rows[member[p]]]["group"].nunique() for p in member}
        protocol = (
            f"predefined split {Path(split_dir).name} (train {n_tracks['train']} -> test "
            f"{n_tracks['test']} tracks; valid {n_tracks['valid']} tracks for early stopping)"
        )
        return [Fold(0, train, valid, rows[member["test"]])], protocol, summary
    if not isinstance(cv, (int, np.integer)) or cv < 2:
        raise ParameterError(f"cv must be an integer >= 2. Got {cv!r} instead.")
    check_n_splits(labels, groups, int(cv), "cv (the number of folds)")
    splitter = make_cv(int(cv), groups=groups, seed=config.seed)
    folds = []
    for index, (train, test) in enumerate(splitter.split(rows, labels, groups)):
        fit_rows, valid = _validation_tracks(
            np.sort(train), segments, config.validation_fraction, config.seed + index
        )
        folds.append(Fold(index, fit_rows, valid, np.sort(test)))
    protocol = f"{int(cv)}-fold StratifiedGroupKFold (groups = tracks)"
    return folds, protocol, None


def _load_inputs(
    source: str | os.PathLike,
    config: CNNConfig,
    *,
    cache: str | os.PathLike | None,
    n_jobs: int | None,
    progress: ProgressOption,
) -> tuple[pd.DataFrame, np.ndarray, list[tuple[str, str]]]:
    """Log-mel segments of the labelled files of ``source``, and the files that were skipped."""
    from ...arrays import extract_arrays

    inputs = extract_arrays(
        source, config.logmel, settings=config.extraction, n_jobs=n_jobs, cache=cache, progress=progress
    )
    segments, mels = inputs.segments, inputs.arrays
    problems = [(str(path), str(reason)) for path, reason in inputs.errors.itertuples(index=False)]
    labelled = segments["label"].fillna("").astype(str).to_numpy() != ""
    if not labelled.all():
        unlabelled = segments.loc[~labelled, "path"].drop_duplicates()
        reason = "no label (not in a <root>/<label>/ folder or manifest row)"
        problems += [(str(path), reason) for path in unlabelled]
        segments, mels = segments[labelled].reset_index(drop=True), mels[labelled]
    if segments.empty:
        if not problems:
            raise ParameterError(
                "source must contain labelled audio files (<root>/<label>/<file> or a manifest with a "
                f"label column). Got none in {str(source)!r}."
            )
        path, reason = problems[0]
        raise ParameterError(
            f"source must contain labelled audio of at least one {config.extraction.segment:g} s "
            f"segment. Got none in {str(source)!r}: {len(problems)} files skipped ({path}: {reason})."
        )
    n_labels = segments["label"].nunique()
    if n_labels < 2:
        raise ParameterError(f"source must contain at least 2 labels. Got {n_labels} in {str(source)!r}.")
    return segments, mels, problems


def evaluate_cnn(
    source: str | os.PathLike,
    *,
    cv: int = 5,
    split_dir: str | os.PathLike | None = None,
    config: CNNConfig | None = None,
    cache: str | os.PathLike | None = None,
    n_jobs: int | None = DEFAULT_N_JOBS,
    save_model: bool = False,
    progress: ProgressOption = None,
    augmenter: Callable[..., np.ndarray] | None = None,
    on_augment: AugmentHook | None = None,
    command: str | None = None,
) -> CNNRun:
    """Cross-validate (or split-evaluate) the CNN on an audio corpus.

    Parameters
    ----------
    source : path
        A folder in the GTZAN layout ``<root>/<label>/<file>`` or a manifest CSV.
    cv : int
        Folds of the track-grouped stratified k-fold (ignored with ``split_dir``).
    split_dir : path or None
        A folder with ``train*.txt``, ``test*.txt`` and optional ``valid*.txt`` lists of
        ``genre/file.wav`` lines.
    config : CNNConfig or None
        Settings; ``None`` uses the defaults of ``configs/cnn.yaml``.
    cache : path or None
        Resume-cache folder of the extraction driver (the spectrograms are computed once for good;
        ``None``: computed for this run only).
    n_jobs : int or None
        Worker processes computing the spectrograms; ``-1`` (the default), ``0`` or ``None``: all
        usable cores. The numbers do not depend on it.
    save_model : bool
        Also train a final model on all tracks (CV) -- or keep the split's model -- and return it
        as :attr:`CNNRun.model`.
    progress : bool, None or callable
        Progress bars on standard error: spectrograms (files), then one bar per fold advancing by
        epoch (see :mod:`featurelab.progress`; ``None``: when a terminal or a notebook is
        watching; a callable gets ``(done, total)``).
    augmenter : callable or None
        ``augmenter(y, sr, *, seed) -> y_aug``; ``None`` uses a
        :class:`~featurelab.nn.cnn.WaveAugmenter` when ``config.augment``.
    on_augment : callable or None
        ``on_augment(kind, fold, rows)`` is called before each augmentation with ``kind`` in
        ``{"wave", "spec"}`` and the segment rows affected (for auditing).
    command : str or None
        The command line, stored in the results.

    Returns
    -------
    CNNRun
        Results, training curves, predictions and (optionally) the final model.

    Raises
    ------
    ParameterError
        Invalid settings, no usable audio, too few tracks per class for ``cv``, PyTorch missing.
    """
    config = config if config is not None else load_cnn_config()[0]
    import_torch()
    device = resolve_device(config.device)
    segments, mels, problems = _load_inputs(source, config, cache=cache, n_jobs=n_jobs, progress=progress)
    classes, y = np.unique(segments["label"].to_numpy(), return_inverse=True)
    labels = classes[y]
    folds, protocol, split = _make_folds(segments, config, cv, None if split_dir is None else str(split_dir))
    if augmenter is None and config.augment:
        augmenter = WaveAugmenter()

    histories: list[dict[str, Any]] = []
    pred_frames, track_frames, fold_info, fold_scores, best_params = [], [], [], [], []
    final, final_fit = None, None
    first = f"fold 1/{len(folds)}"
    with ProgressBar(progress, total=config.epochs, description=first, transient=False) as bar:
        # A fresh trainer per fold (it records that fold's augmented rows), same data and settings.
        new_trainer = functools.partial(
            Trainer, mels, y, segments, len(classes), config, device, augmenter, on_augment, progress=bar
        )
        for fold in folds:
            trainer = new_trainer()
            if fold.index:
                bar.new_bar(f"fold {fold.index + 1}/{len(folds)}", config.epochs)
            start = time.perf_counter()
            fitted = trainer.fit(fold)
            fit_time = time.perf_counter() - start
            model = CNNClassifier.from_weights(config, classes, fitted.state)
            start = time.perf_counter()
            proba = model.predict_proba(mels[fold.test])
            predict_time = time.perf_counter() - start
            histories.extend(fitted.history)
            preds, tracks, scores = _score_fold(fold, segments, labels, classes, proba)
            scores.update(fit_time=fit_time, predict_time=predict_time)
            pred_frames.append(preds)
            track_frames.append(tracks)
            fold_scores.append(scores)
            best_params.append({"best_epoch": fitted.best_epoch, "epochs_run": len(fitted.history)})
            augmented = np.unique(np.concatenate(trainer.augmented_rows or [np.zeros(0, int)]))
            fold_info.append(
                {
                    "fold": fold.index,
                    "train": fold.train,
                    "valid": fold.valid,
                    "test": fold.test,
                    "augmented": augmented,
                }
            )
            if save_model and split_dir is not None:  # the split's model is the final model
                final, final_fit = model, {"best_params": best_params[-1], "fit_time": fit_time}
                final_fit["fitted_on"] = _fitted_on("train", fold.train, fold.valid)
        if save_model and split_dir is None:  # a final model on all tracks
            rows = np.arange(len(segments))
            train, valid = _validation_tracks(
                rows, segments, config.validation_fraction, config.seed + len(folds)
            )
            bar.new_bar("final model", config.epochs)
            start = time.perf_counter()
            fitted = new_trainer().fit(Fold(len(folds), train, valid, rows[:0]))
            final = CNNClassifier.from_weights(config, classes, fitted.state)
            final_fit = {
                "best_params": {"best_epoch": fitted.best_epoch, "epochs_run": len(fitted.history)},
                "fit_time": time.perf_counter() - start,
                "fitted_on": _fitted_on("all", train, valid),
            }

    predictions = pd.concat(pred_frames, ignore_index=True)
    track_predictions = pd.concat(track_frames, ignore_index=True)
    results = _results(
        source=source,
        segments=segments,
        predictions=predictions,
        track_predictions=track_predictions,
        fold_scores=fold_scores,
        best_params=best_params,
        classes=classes,
        config=config,
        protocol=protocol,
        split_dir=split_dir,
        split=split,
        cv=cv,
        device=device,
        problems=problems,
        command=command,
    )
    if final_fit is not None:
        results.update(final_model=final_fit)
    return CNNRun(
        results=results,
        history=pd.DataFrame(histories),
        predictions=predictions,
        track_predictions=track_predictions,
        folds=fold_info,
        segments=segments,
        model=final,
        config=config,
        problems=problems,
    )


def _score_fold(
    fold: Fold, segments: pd.DataFrame, labels: np.ndarray, classes: np.ndarray, proba: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Predictions of the segments and tracks of one test fold, and its scores."""
    from ...models.scoring import score_fold

    test = segments.iloc[fold.test]
    y_true = labels[fold.test]
    scored = score_fold(proba, classes, y_true, tracks=test["group"].to_numpy(), sort_tracks=True)
    preds = pd.DataFrame(
        {
            "fold": fold.index,
            "filename": test["filename"].to_numpy(),
            "group": test["group"].to_numpy(),
            "label": y_true,
            "pred": scored.y_pred,
        }
    )
    for k, name in enumerate(classes):
        preds[f"proba_{name}"] = proba[:, k]
    tracks = pd.DataFrame(
        {
            "fold": fold.index,
            "group": scored.track_names,
            "label": scored.track_true,
            "pred": scored.track_pred,
        }
    )
    scores = {"repeat": 0, "fold": fold.index, "n_train": len(fold.train), "n_test": len(fold.test)}
    return preds, tracks, {**scores, **scored.scores}


def _fitted_on(part: str, train: np.ndarray, valid: np.ndarray) -> dict[str, Any]:
    """Return what the final model learnt from (``final_model.fitted_on``: results.json, report.md)."""
    return {"part": part, "rows": int(len(train)), "early_stopping_rows": int(len(valid))}


def _results(
    *,
    source: str | os.PathLike,
    segments: pd.DataFrame,
    predictions: pd.DataFrame,
    track_predictions: pd.DataFrame,
    fold_scores: list[dict[str, Any]],
    best_params: list[dict[str, Any]],
    classes: np.ndarray,
    config: CNNConfig,
    protocol: str,
    split_dir: str | os.PathLike | None,
    split: SplitMembership | None,
    cv: int,
    device: str,
    problems: list[tuple[str, str]],
    command: str | None,
) -> RunResults:
    from datetime import datetime, timezone

    from ..._version import __version__
    from ...models.scoring import METRICS, confusion, per_class_metrics, summarize_scores

    n_mels, n_frames = config.input_shape
    times = summarize_scores(fold_scores, ["fit_time"])
    n_tracks = len(track_predictions)
    segment_labels = (predictions["label"], predictions["pred"])
    track_labels = (track_predictions["label"], track_predictions["pred"])
    return RunResults(
        model="cnn",
        protocol=f"{protocol}; {config.extraction.segment:g} s segments, track = mean of segment probas",
        protocol_settings={
            "kind": "cv" if split_dir is None else "split",
            "cv": None if split_dir is not None else int(cv),
            "repeats": 1,
            "split_dir": None if split_dir is None else str(split_dir),
            "grouped": True,
            "nested": False,
            **({} if split is None else {"split": split.to_dict()}),
        },
        table=str(source),
        n_samples=len(segments),
        n_tracks=int(segments["group"].nunique()),
        n_features=n_mels * n_frames,
        n_classes=len(classes),
        classes=[str(c) for c in classes],
        is_segment_table=True,
        scores=summarize_scores(fold_scores, [*METRICS, *(f"track_{m}" for m in METRICS)]),
        fit_time_mean=times["fit_time_mean"],
        fit_time_std=times["fit_time_std"],
        predict_time_per_track=float(sum(f["predict_time"] for f in fold_scores) / max(n_tracks, 1)),
        best_params=best_params,
        fold_scores=fold_scores,
        per_class=per_class_metrics(*segment_labels, classes),
        confusion_matrix=confusion(*segment_labels, classes).tolist(),
        track_per_class=per_class_metrics(*track_labels, classes),
        track_confusion_matrix=confusion(*track_labels, classes).tolist(),
        seed=int(config.seed),
        featurelab_version=__version__,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        command=command,
        extra={
            "device": device,
            "config": config.to_dict(),
            "skipped_files": [{"path": path, "reason": reason} for path, reason in problems],
        },
    )
