"""Evaluation of the CNN: track-grouped folds or a split folder, scores per segment and per track.

Evaluation is track-grouped k-fold (:func:`featurelab.models.splits.make_cv`: all segments of a
track fall on the same side) or a predefined split folder (``train`` trains, ``valid`` drives early
stopping, ``test`` is scored). Inside every training fold a stratified set of *tracks* is held out
for early stopping. Augmentation touches training rows only (see :mod:`.training`).
"""

from __future__ import annotations

import functools
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...exceptions import ParameterError
from ...progress import ProgressBar, ProgressOption
from .._torch import import_torch, resolve_device, torch_scope
from ..training import early_stopping_split
from .augment import AugmentHook, WaveAugmenter
from .config import CNNConfig, load_cnn_config
from .melspec import compute_segments, list_corpus
from .network import load_module, predict_proba
from .training import Fold, Trainer

__all__ = ["CNNRun", "evaluate_cnn"]


@dataclass
class CNNRun:
    """Everything an evaluation produced (a run folder: :func:`~featurelab.nn.cnn.write_cnn_run`).

    Attributes
    ----------
    results : dict
        The ``results.json`` content (keys shared with the classical models).
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
    model_state : dict or None
        Weights of the final model (``save_model=True``).
    config : CNNConfig
        The settings used.
    problems : list of (str, str)
        Files that could not be used, with the reason.
    """

    results: dict[str, Any]
    history: pd.DataFrame
    predictions: pd.DataFrame
    track_predictions: pd.DataFrame
    folds: list[dict[str, Any]]
    segments: pd.DataFrame
    model_state: dict[str, np.ndarray] | None
    config: CNNConfig
    problems: list[tuple[str, str]]


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
) -> tuple[list[Fold], str]:
    from ...datasets import read_split_dir, track_id
    from ...models.splits import check_n_splits, make_cv

    rows = np.arange(len(segments))
    labels = segments["label"].to_numpy()
    groups = segments["group"].to_numpy()
    if split_dir is not None:
        parts = read_split_dir(split_dir)
        tracks = segments["path"].map(track_id)
        member = {part: tracks.isin(parts.get(part, set())).to_numpy() for part in parts}
        member.setdefault("valid", np.zeros(len(segments), dtype=bool))
        for part in ("train", "test"):
            if not member[part].any():
                raise ParameterError(
                    f"split_dir must list files of the corpus. No segment belongs to the {part} "
                    f"list of {str(split_dir)!r} (lines like blues/blues.00029.wav are matched "
                    "on the file stem)."
                )
        train, valid = rows[member["train"]], rows[member["valid"]]
        if not len(valid):
            train, valid = _validation_tracks(train, segments, config.validation_fraction, 0)
        n_tracks = {p: segments.iloc[rows[member[p]]]["group"].nunique() for p in member}
        protocol = (
            f"predefined split {Path(split_dir).name} (train {n_tracks['train']} -> test "
            f"{n_tracks['test']} tracks; valid {n_tracks['valid']} tracks for early stopping)"
        )
        return [Fold(0, train, valid, rows[member["test"]])], protocol
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
    return folds, protocol


def evaluate_cnn(
    source: str | os.PathLike,
    *,
    cv: int = 5,
    split_dir: str | os.PathLike | None = None,
    config: CNNConfig | None = None,
    cache_dir: str | os.PathLike | None = None,
    n_jobs: int = 1,
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
    cache_dir : path or None
        Spectrogram cache folder (``None``: computed once and kept in memory for this run).
    n_jobs : int
        Worker processes for the spectrograms.
    save_model : bool
        Also train a final model on all tracks (CV) -- or keep the split's model -- and return
        its weights in ``model_state``.
    progress : bool, None or callable
        Progress bars on standard error: spectrograms, then one bar per fold advancing by epoch
        (see :mod:`featurelab.progress`; ``None``: when a terminal or a notebook is watching; a
        callable gets ``(epoch, epochs)``).
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
        Results, training curves, predictions and (optionally) the final weights.

    Raises
    ------
    ParameterError
        Invalid settings, too few tracks per class for ``cv``, PyTorch missing.
    """
    from ..._version import __version__

    config = config if config is not None else load_cnn_config()[0]
    import_torch()
    device = resolve_device(config.device)
    params = config.mel_params()
    files, problems = list_corpus(source)
    segments, mels, load_problems = compute_segments(
        files, params, cache_dir=cache_dir, n_jobs=n_jobs, progress=progress
    )
    problems = problems + load_problems
    if segments.empty:
        raise ParameterError(f"source must contain decodable audio. Got none in {str(source)!r}.")
    classes, y = np.unique(segments["label"].to_numpy(), return_inverse=True)
    if len(classes) < 2:
        raise ParameterError(f"source must contain at least 2 labels. Got {len(classes)}.")
    folds, protocol = _make_folds(segments, config, cv, None if split_dir is None else str(split_dir))
    if augmenter is None and config.augment:
        augmenter = WaveAugmenter()

    histories, pred_frames, track_frames, fold_info, fold_scores, best_params = (
        [],
        [],
        [],
        [],
        [],
        [],
    )
    fit_times, predict_times, n_test_tracks = [], [], []
    final_state = None
    first = f"fold 1/{len(folds)}"
    with ProgressBar(progress, total=config.epochs, description=first, transient=False) as bar:
        # A fresh trainer per fold (it records that fold's augmented rows), same data and settings.
        new_trainer = functools.partial(
            Trainer,
            mels,
            y,
            segments,
            len(classes),
            config,
            device,
            augmenter,
            on_augment,
            progress=bar,
        )
        for fold in folds:
            trainer = new_trainer()
            if fold.index:
                bar.new_bar(f"fold {fold.index + 1}/{len(folds)}", config.epochs)
            start = time.perf_counter()
            fitted = trainer.fit(fold)
            state, history, best_epoch = fitted.state, fitted.history, fitted.best_epoch
            fit_times.append(time.perf_counter() - start)
            with torch_scope(0, config.threads):
                module = load_module(state, len(classes), config)
                start = time.perf_counter()
                proba = predict_proba(module, mels[fold.test], "cpu", config.batch_size, config.top_db)
                predict_times.append(time.perf_counter() - start)
            histories.extend(history)
            preds, tracks, scores = _score_fold(fold, segments, y, classes, proba)
            pred_frames.append(preds)
            track_frames.append(tracks)
            n_test_tracks.append(len(tracks))
            fold_scores.append(scores)
            best_params.append({"best_epoch": best_epoch, "epochs_run": len(history)})
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
            if save_model and split_dir is not None:
                final_state = state
        if save_model and split_dir is None:
            rows = np.arange(len(segments))
            train, valid = _validation_tracks(
                rows, segments, config.validation_fraction, config.seed + len(folds)
            )
            final = Fold(len(folds), train, valid, rows[:0])
            bar.new_bar("final model", config.epochs)
            final_state = new_trainer().fit(final).state

    predictions = pd.concat(pred_frames, ignore_index=True)
    track_predictions = pd.concat(track_frames, ignore_index=True)
    results = _results(
        predictions=predictions,
        fold_scores=fold_scores,
        classes=classes,
        segments=segments,
        config=config,
        protocol=protocol,
        fit_times=fit_times,
        predict_time_per_track=float(np.sum(predict_times) / max(np.sum(n_test_tracks), 1)),
        best_params=best_params,
        problems=problems,
        version=__version__,
        command=command,
        device=device,
    )
    results["table"] = str(source)
    results["track_per_class"] = _per_class(track_predictions, classes)
    results["track_confusion_matrix"] = _confusion(track_predictions, classes).tolist()
    results["protocol_settings"] = {
        "kind": "cv" if split_dir is None else "split",
        "cv": None if split_dir is not None else int(cv),
        "repeats": 1,
        "split_dir": None if split_dir is None else str(split_dir),
        "grouped": True,
        "nested": False,
    }
    return CNNRun(
        results=results,
        history=pd.DataFrame(histories),
        predictions=predictions,
        track_predictions=track_predictions,
        folds=fold_info,
        segments=segments.drop(columns=["file_index"]),
        model_state=final_state,
        config=config,
        problems=problems,
    )


def _score_fold(
    fold: Fold, segments: pd.DataFrame, y: np.ndarray, classes: np.ndarray, proba: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

    test = segments.iloc[fold.test]
    y_true = y[fold.test]
    y_pred = proba.argmax(axis=1)
    preds = pd.DataFrame(
        {
            "fold": fold.index,
            "filename": test["filename"].to_numpy(),
            "group": test["group"].to_numpy(),
            "label": classes[y_true],
            "pred": classes[y_pred],
        }
    )
    for k, name in enumerate(classes):
        preds[f"proba_{name}"] = proba[:, k]
    by_track = pd.DataFrame(proba, columns=list(classes)).groupby(test["group"].to_numpy()).mean()
    labels = test.groupby("group")["label"].first().loc[by_track.index]
    tracks = pd.DataFrame(
        {
            "fold": fold.index,
            "group": by_track.index.to_numpy(),
            "label": labels.to_numpy(),
            "pred": classes[by_track.to_numpy().argmax(axis=1)],
        }
    )
    scores: dict[str, Any] = {"repeat": 0, "fold": fold.index}
    track_true = np.searchsorted(classes, tracks["label"].to_numpy())
    track_pred = np.searchsorted(classes, tracks["pred"].to_numpy())
    labels = np.arange(len(classes))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # classes absent from a small test fold
        for prefix, (t, p) in (("", (y_true, y_pred)), ("track_", (track_true, track_pred))):
            scores[f"{prefix}accuracy"] = float(accuracy_score(t, p))
            scores[f"{prefix}balanced_accuracy"] = float(balanced_accuracy_score(t, p))
            scores[f"{prefix}f1_macro"] = float(
                f1_score(t, p, labels=labels, average="macro", zero_division=0)
            )
    return preds, tracks, scores


def _per_class(frame: pd.DataFrame, classes: np.ndarray) -> dict[str, dict[str, float]]:
    from sklearn.metrics import precision_recall_fscore_support

    precision, recall, f1, support = precision_recall_fscore_support(
        frame["label"], frame["pred"], labels=list(classes), zero_division=0
    )
    return {
        str(name): {
            "precision": float(precision[k]),
            "recall": float(recall[k]),
            "f1": float(f1[k]),
            "support": int(support[k]),
        }
        for k, name in enumerate(classes)
    }


def _confusion(frame: pd.DataFrame, classes: np.ndarray) -> np.ndarray:
    from sklearn.metrics import confusion_matrix

    return confusion_matrix(frame["label"], frame["pred"], labels=list(classes))


def _results(
    *,
    predictions: pd.DataFrame,
    fold_scores: list[dict[str, Any]],
    classes: np.ndarray,
    segments: pd.DataFrame,
    config: CNNConfig,
    protocol: str,
    fit_times: list[float],
    predict_time_per_track: float,
    best_params: list[dict[str, Any]],
    problems: list[tuple[str, str]],
    version: str,
    command: str | None,
    device: str,
) -> dict[str, Any]:
    from datetime import datetime, timezone

    scores = pd.DataFrame(fold_scores)
    params = config.mel_params()
    results: dict[str, Any] = {
        "model": "cnn",
        "protocol": f"{protocol}; {params.segment:g} s segments, track = mean of segment probas",
        "n_samples": int(len(segments)),
        "n_tracks": int(segments["group"].nunique()),
        "n_features": int(params.n_mels * params.n_frames),
        "n_classes": int(len(classes)),
        "classes": [str(c) for c in classes],
        "is_segment_table": True,
    }
    for metric in ("accuracy", "balanced_accuracy", "f1_macro"):
        for prefix in ("", "track_"):
            results[f"{prefix}{metric}_mean"] = float(scores[prefix + metric].mean())
            results[f"{prefix}{metric}_std"] = float(scores[prefix + metric].std(ddof=0))
    results.update(
        {
            "fit_time_mean": float(np.mean(fit_times)),
            "fit_time_std": float(np.std(fit_times)),
            "predict_time_per_track": predict_time_per_track,
            "best_params": best_params,
            "fold_scores": fold_scores,
            "per_class": _per_class(predictions, classes),
            "confusion_matrix": _confusion(predictions, classes).tolist(),
            "seed": int(config.seed),
            "featurelab_version": version,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": command,
            "device": device,
            "config": config.to_dict(),
            "skipped_files": [{"path": p, "reason": r} for p, r in problems],
        }
    )
    return results
