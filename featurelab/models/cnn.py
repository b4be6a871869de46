"""A small CNN on log-mel segments, evaluated like the classical models.

The network: blocks of ``3x3 conv -> BatchNorm -> ReLU -> 2x2 max-pool -> dropout`` (``channels``
gives one block per entry; five by default), global average pooling over time, and a small head on
the pooled (channels x remaining frequency rows) features. It is trained on fixed-length segments
(default 3 s, 128 mel bands) and evaluated per segment and per track (the mean of the track's
segment probabilities).

Evaluation is track-grouped k-fold (:func:`featurelab.models.splits.make_cv`: all segments of a
track fall on the same side) or a predefined split folder (``train`` trains, ``valid`` drives early
stopping, ``test`` is scored). Inside every training fold a stratified set of *tracks* is held out
for early stopping. Augmentation -- waveform-level
(:class:`~featurelab.models.melspec.WaveAugmenter`) and SpecAugment-style time/frequency masks --
touches training rows only; the trainer checks this before every augmentation (and reports each
use to an optional ``on_augment`` hook).

PyTorch is imported inside the functions that need it (the ``[nn]`` extra).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import ParameterError
from .melspec import MelParams, WaveAugmenter, compute_segments, list_corpus, load_segment, log_mel
from .neural import import_torch, resolve_device, torch_scope

__all__ = [
    "CNNConfig",
    "CNNRun",
    "load_cnn_config",
    "build_cnn",
    "spec_augment",
    "evaluate_cnn",
    "write_cnn_run",
    "plot_curves",
]

#: ``on_augment(kind, fold, rows)``: ``kind`` is ``"wave"`` or ``"spec"``, ``rows`` segment rows.
AugmentHook = Callable[[str, int, np.ndarray], None]


@dataclass(frozen=True)
class CNNConfig:
    """Settings of the CNN, its training and its augmentation (defaults = ``configs/cnn.yaml``).

    Attributes
    ----------
    sr, n_mels, n_fft, hop_length, segment, top_db
        Log-mel segments (see :class:`~featurelab.models.melspec.MelParams`).
    channels : tuple of int
        Output channels of the conv blocks (one block each; 4-5 blocks). Both ``n_mels`` and the
        frames per segment must be at least ``2 ** len(channels)``.
    dropout : float
        Dropout after each conv block.
    head_hidden : int
        Width of the hidden layer of the head.
    head_dropout : float
        Dropout in the head.
    epochs : int
        Maximum training epochs per fold.
    batch_size : int
        Mini-batch size (segments).
    lr, weight_decay : float
        AdamW learning rate and weight decay.
    label_smoothing : float
        Label smoothing of the training loss.
    patience : int
        Early stopping: epochs without a better validation loss; the learning rate is halved after
        ``max(1, patience // 3)`` such epochs.
    validation_fraction : float
        Fraction of the training *tracks* held out for early stopping (CV; a split folder's
        ``valid`` list is used instead when it has rows). 0 trains for ``epochs``.
    augment : bool
        Waveform augmentation of training segments.
    augment_fraction : float
        Fraction of the training segments given a fresh augmented version every ``augment_every``
        epochs (the others are used clean).
    augment_every : int
        Epochs between augmentation refreshes.
    spec_augment : bool
        SpecAugment-style masks on training batches.
    freq_masks, freq_mask_width, time_masks, time_mask_width : int
        Number and maximum width (bins/frames) of the frequency and time masks.
    seed : int
        Seed of splits, initialization, shuffling and augmentation.
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    threads : int or None
        PyTorch intra-op threads while training (restored afterwards); ``None`` keeps the default.
    """

    sr: int = 22050
    n_mels: int = 128
    n_fft: int = 2048
    hop_length: int = 512
    segment: float = 3.0
    top_db: float = 80.0
    channels: tuple[int, ...] = (8, 16, 32, 64, 128)
    dropout: float = 0.1
    head_hidden: int = 64
    head_dropout: float = 0.3
    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    label_smoothing: float = 0.1
    patience: int = 10
    validation_fraction: float = 0.15
    augment: bool = True
    augment_fraction: float = 0.5
    augment_every: int = 5
    spec_augment: bool = True
    freq_masks: int = 2
    freq_mask_width: int = 16
    time_masks: int = 2
    time_mask_width: int = 20
    seed: int = 0
    device: str = "auto"
    threads: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        if not self.channels or any(c < 1 for c in self.channels):
            raise ParameterError(
                f"channels must be a non-empty list of positive integers. Got {self.channels!r} instead."
            )
        for name in ("epochs", "batch_size", "patience", "augment_every", "head_hidden"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ParameterError(f"{name} must be a positive integer. Got {value!r} instead.")
        for name in ("freq_masks", "freq_mask_width", "time_masks", "time_mask_width"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
                raise ParameterError(f"{name} must be an integer >= 0. Got {value!r} instead.")
        for name in ("dropout", "head_dropout", "label_smoothing", "validation_fraction"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
                raise ParameterError(f"{name} must be a float in [0, 1). Got {value!r} instead.")
        if not isinstance(self.augment_fraction, (int, float)) or not (0.0 <= self.augment_fraction <= 1.0):
            raise ParameterError(
                f"augment_fraction must be a float in [0, 1]. Got {self.augment_fraction!r} instead."
            )
        for name in ("lr", "weight_decay"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value < 0 or (name == "lr" and value == 0):
                raise ParameterError(f"{name} must be a positive float. Got {value!r} instead.")
        params = self.mel_params()  # validates the mel settings
        smallest = min(params.n_mels, params.n_frames)
        if smallest < 2 ** len(self.channels):
            raise ParameterError(
                f"channels must have at most log2(min(n_mels, frames per segment)) = "
                f"{int(math.log2(max(smallest, 1)))} blocks for {params.n_mels} mels and "
                f"{params.n_frames} frames. Got {len(self.channels)} blocks instead; use fewer "
                "blocks or longer segments."
            )

    def mel_params(self) -> MelParams:
        """Return the log-mel parameters."""
        return MelParams(
            sr=self.sr,
            n_mels=self.n_mels,
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            segment=float(self.segment),
            top_db=float(self.top_db),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly copy."""
        data = dataclasses.asdict(self)
        data["channels"] = list(self.channels)
        return data


_CONFIG_FIELDS = tuple(f.name for f in dataclasses.fields(CNNConfig))


def load_cnn_config(
    path: str | os.PathLike | None = None, **overrides: Any
) -> tuple[CNNConfig, dict[str, Any]]:
    """Resolve the CNN settings: ``overrides`` > ``path`` > ``configs/cnn.yaml`` > defaults.

    The YAML files use the search-config layout: CNN settings under ``params``, the evaluation
    under ``cv`` / ``seed`` / ``split_dir``.

    Parameters
    ----------
    path : path or None
        A user configuration file.
    **overrides
        Settings from the command line; ``None`` values are ignored. ``cv`` and ``split_dir`` go
        to the protocol, everything else to :class:`CNNConfig`.

    Returns
    -------
    config : CNNConfig
        The resolved settings.
    protocol : dict
        ``{"cv": int, "split_dir": str | None}``.

    Raises
    ------
    ParameterError
        Unreadable file, unknown keys or invalid values.
    """
    from importlib import resources

    from .config import packaged_config, read_config_file

    layers: list[dict[str, Any]] = []
    packaged = packaged_config("cnn")
    if packaged.is_file():
        with resources.as_file(packaged) as packaged_path:
            layers.append(read_config_file(packaged_path))
    if path is not None:
        layers.append(read_config_file(path))
    settings: dict[str, Any] = {}
    protocol: dict[str, Any] = {"cv": 5, "split_dir": None}
    for layer, where in zip(layers, ["configs/cnn.yaml", str(path)][-len(layers) :], strict=False):
        params = dict(layer.get("params") or {})
        unknown = sorted(set(params) - set(_CONFIG_FIELDS))
        if unknown:
            raise ParameterError(
                f"params in {where!r} must be CNN settings ({', '.join(_CONFIG_FIELDS)}). "
                f"Got unknown {', '.join(unknown)} instead."
            )
        settings.update(params)
        if layer.get("seed") is not None:
            settings["seed"] = layer["seed"]
        for key in ("cv", "split_dir"):
            if layer.get(key) is not None:
                protocol[key] = layer[key]
    for key, value in overrides.items():
        if value is None:
            continue
        if key in protocol:
            protocol[key] = value
        elif key in _CONFIG_FIELDS:
            settings[key] = value
        else:
            raise ParameterError(
                f"CNN setting must be one of {', '.join(_CONFIG_FIELDS)}. Got {key!r} instead."
            )
    if "channels" in settings:
        settings["channels"] = tuple(settings["channels"])
    try:
        config = CNNConfig(**settings)
    except TypeError as error:
        raise ParameterError(f"Invalid CNN settings: {error}") from None
    return config, protocol


# ----------------------------------------------------------------------------- network
def build_cnn(n_classes: int, config: CNNConfig) -> Any:
    """Build the network for log-mel input of shape ``(batch, 1, n_mels, n_frames)``.

    Parameters
    ----------
    n_classes : int
        Output width (logits).
    config : CNNConfig
        Gives ``channels``, ``dropout``, ``head_hidden`` and ``head_dropout``.

    Returns
    -------
    module : torch.nn.Sequential
        Conv blocks, global average pooling over time, head. Feed it :func:`scale_input` of the
        log-mels.
    """
    torch = import_torch()
    nn = torch.nn
    layers: list[Any] = []
    width = 1
    for channels in config.channels:
        layers += [
            nn.Conv2d(width, channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Dropout(config.dropout),
        ]
        width = channels
    # Global pooling over time only: the remaining n_mels / 2**blocks frequency rows are kept, so
    # the head knows *where* in the spectrum a pattern is (bass vs cymbals), not just that it is.
    n_freq = config.n_mels // 2 ** len(config.channels)
    layers += [
        nn.AdaptiveAvgPool2d((n_freq, 1)),
        nn.Flatten(),
        nn.Linear(width * n_freq, config.head_hidden),
        nn.ReLU(),
        nn.Dropout(config.head_dropout),
        nn.Linear(config.head_hidden, n_classes),
    ]
    return nn.Sequential(*layers)


def spec_augment(x: Any, generator: Any, config: CNNConfig) -> Any:
    """Mask random frequency bands and time spans of a batch (SpecAugment without warping).

    Parameters
    ----------
    x : torch.Tensor [shape=(batch, n_mels, n_frames)]
        Log-mel batch (not modified).
    generator : torch.Generator
        Source of the random masks.
    config : CNNConfig
        Number and maximum width of the masks.

    Returns
    -------
    x_masked : torch.Tensor [shape=(batch, n_mels, n_frames)]
        A copy with masked cells set to each example's mean.
    """
    torch = import_torch()
    batch, n_freq, n_time = x.shape
    mask = torch.zeros((batch, n_freq, n_time), dtype=torch.bool)
    for count, width, size, axis in (
        (config.freq_masks, config.freq_mask_width, n_freq, 1),
        (config.time_masks, config.time_mask_width, n_time, 2),
    ):
        width = min(width, size)
        positions = torch.arange(size)
        for _ in range(count):
            w = torch.randint(0, width + 1, (batch,), generator=generator)
            start = (torch.rand(batch, generator=generator) * (size - w + 1)).long()
            band = (positions[None, :] >= start[:, None]) & (positions[None, :] < (start + w)[:, None])
            mask |= band[:, :, None] if axis == 1 else band[:, None, :]
    fill = x.mean(dim=(1, 2), keepdim=True).expand_as(x)
    return torch.where(mask.to(x.device), fill, x)


def scale_input(mels: np.ndarray, top_db: float = 80.0) -> np.ndarray:
    """Map log-mels in ``[-top_db, 0]`` dB to roughly ``[-2, 2]`` (a fixed affine map).

    A fixed map (instead of an input BatchNorm) keeps the first convolution from computing a
    gradient with respect to its full-resolution input, which is most of the CPU cost.

    Parameters
    ----------
    mels : np.ndarray [shape=(..., n_mels, n_frames)]
        Log-mel spectrograms in dB relative to their peak.
    top_db : float
        Their dynamic range.

    Returns
    -------
    x : np.ndarray [shape=(..., n_mels, n_frames), dtype=float32]
        ``(mels + top_db / 2) / (top_db / 4)``.
    """
    half = float(top_db) / 2.0
    return np.ascontiguousarray((np.asarray(mels, dtype=np.float32) + half) / (half / 2.0))


# ----------------------------------------------------------------------------- training
@dataclass
class _Fold:
    """Rows of one evaluation fold (positions in the segment table)."""

    index: int
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray


@dataclass
class _Trainer:
    """Trains one network on the training rows of a fold."""

    mels: np.ndarray
    y: np.ndarray
    segments: pd.DataFrame
    n_classes: int
    config: CNNConfig
    device: str
    augmenter: Callable[..., np.ndarray] | None
    on_augment: AugmentHook | None
    report: Callable[[dict[str, float]], None] | None = None
    augmented_rows: list[np.ndarray] = field(default_factory=list)

    def _check_training_rows(self, rows: np.ndarray, train: np.ndarray, kind: str) -> None:
        if not np.isin(rows, train).all():  # pragma: no cover - a bug guard, never expected
            raise AssertionError(f"{kind} augmentation requested for rows outside the training set")

    def _refresh_pool(self, fold: _Fold, epoch: int, rng: np.random.Generator) -> dict[int, Any]:
        """Augmented log-mels of a random ``augment_fraction`` of the training rows."""
        torch = import_torch()
        cfg = self.config
        n = int(round(cfg.augment_fraction * len(fold.train)))
        if not cfg.augment or self.augmenter is None or n == 0:
            return {}
        rows = np.sort(rng.choice(fold.train, size=n, replace=False))
        self._check_training_rows(rows, fold.train, "wave")
        if self.on_augment is not None:
            self.on_augment("wave", fold.index, rows)
        self.augmented_rows.append(rows)
        params = cfg.mel_params()
        pool = {}
        waves = []
        for row in rows:
            record = self.segments.iloc[row]
            y = load_segment(record["path"], float(record["start"]), params)
            seq = np.random.SeedSequence([cfg.seed, fold.index, epoch, int(row)])
            waves.append(self.augmenter(y, params.sr, seed=int(seq.generate_state(1)[0])))
        mels = log_mel(np.stack(waves), params)
        for row, mel in zip(rows, mels, strict=True):
            pool[int(row)] = torch.from_numpy(scale_input(mel, cfg.top_db))
        return pool

    def fit(self, fold: _Fold) -> tuple[dict[str, np.ndarray], list[dict[str, float]], int]:
        """Train on ``fold.train``, stop early on ``fold.valid``; return the best weights."""
        cfg = self.config
        seed = int(np.random.SeedSequence([cfg.seed, fold.index]).generate_state(1)[0])
        with torch_scope(seed, cfg.threads, self.device) as torch:
            return self._fit(torch, fold, seed)

    def _fit(self, torch: Any, fold: _Fold, seed: int) -> Any:
        cfg = self.config
        nn = torch.nn
        module = build_cnn(self.n_classes, cfg).to(self.device)
        criterion = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
        optimizer = torch.optim.AdamW(module.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="min", factor=0.5, patience=max(1, cfg.patience // 3)
        )
        X = torch.from_numpy(scale_input(self.mels, cfg.top_db))
        y = torch.from_numpy(self.y.astype(np.int64))
        generator = torch.Generator().manual_seed(seed)
        rng = np.random.default_rng(seed)
        train = fold.train
        batch = max(cfg.batch_size, 2)
        history: list[dict[str, float]] = []
        best = (math.inf, 0, None)
        stale = 0
        pool: dict[int, Any] = {}
        for epoch in range(1, cfg.epochs + 1):
            if cfg.augment and (epoch - 1) % cfg.augment_every == 0:
                pool = self._refresh_pool(fold, epoch, rng)
            module.train()
            order = train[torch.randperm(len(train), generator=generator).numpy()]
            loss_sum, correct, seen = 0.0, 0, 0
            for begin in range(0, len(order), batch):
                rows = order[begin : begin + batch]
                if len(rows) < 2:
                    continue  # BatchNorm needs two examples
                xb = X[rows]
                if pool:
                    swap = [i for i, row in enumerate(rows) if int(row) in pool]
                    if swap:
                        xb = xb.clone()
                        for i in swap:
                            xb[i] = pool[int(rows[i])]
                if cfg.spec_augment:
                    self._check_training_rows(rows, train, "spec")
                    if self.on_augment is not None:
                        self.on_augment("spec", fold.index, rows)
                    xb = spec_augment(xb, generator, cfg)
                yb = y[rows].to(self.device)
                logits = module(xb.unsqueeze(1).to(self.device))
                loss = criterion(logits, yb)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                loss_sum += float(loss.detach()) * len(rows)
                correct += int((logits.detach().argmax(1) == yb).sum())
                seen += len(rows)
            entry = {
                "fold": fold.index,
                "epoch": epoch,
                "train_loss": loss_sum / max(seen, 1),
                "train_accuracy": correct / max(seen, 1),
                "val_loss": float("nan"),
                "val_accuracy": float("nan"),
                "lr": float(optimizer.param_groups[0]["lr"]),
            }
            if len(fold.valid):
                proba = predict_proba(module, self.mels[fold.valid], self.device, cfg.batch_size, cfg.top_db)
                target = self.y[fold.valid]
                entry["val_loss"] = float(
                    -np.mean(np.log(np.clip(proba[np.arange(len(target)), target], 1e-12, 1)))
                )
                entry["val_accuracy"] = float(np.mean(proba.argmax(1) == target))
                watched = entry["val_loss"]
            else:
                watched = entry["train_loss"]
            history.append(entry)
            if self.report is not None:
                self.report(entry)
            scheduler.step(watched)
            if watched < best[0] - 1e-6 or best[2] is None:
                state = {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}
                best, stale = (watched, epoch, state), 0
            else:
                stale += 1
                if len(fold.valid) and stale >= cfg.patience:
                    break
        state = {k: v.numpy().copy() for k, v in best[2].items()}
        return state, history, best[1]


def predict_proba(
    module: Any, mels: np.ndarray, device: str, batch_size: int = 64, top_db: float = 80.0
) -> np.ndarray:
    """Class probabilities of log-mel segments (evaluation mode, no augmentation).

    Parameters
    ----------
    module : torch.nn.Module
        A network from :func:`build_cnn`.
    mels : np.ndarray [shape=(n, n_mels, n_frames)]
        Log-mel segments in dB (as :func:`~featurelab.models.melspec.log_mel` returns them).
    device : str
        Device of ``module``.
    batch_size : int
        Segments per forward pass.
    top_db : float
        The ``top_db`` the segments were computed with (for :func:`scale_input`).

    Returns
    -------
    proba : np.ndarray [shape=(n, n_classes)]
    """
    torch = import_torch()
    module.eval()
    out = []
    with torch.no_grad():
        for begin in range(0, len(mels), batch_size):
            xb = torch.from_numpy(scale_input(mels[begin : begin + batch_size], top_db))
            logits = module(xb.unsqueeze(1).to(device))
            out.append(torch.softmax(logits.double(), dim=1).cpu().numpy())
    n_out = module[-1].out_features
    return np.concatenate(out) if out else np.zeros((0, n_out))


def _load_module(state: Mapping[str, np.ndarray], n_classes: int, config: CNNConfig) -> Any:
    torch = import_torch()
    module = build_cnn(n_classes, config)
    module.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in state.items()})
    return module.eval()


# ----------------------------------------------------------------------------- evaluation
@dataclass
class CNNRun:
    """Everything an evaluation produced (written to a run folder by :func:`write_cnn_run`).

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
    if fraction <= 0:
        return rows, rows[:0]
    tracks = segments.iloc[rows][["group", "label"]].drop_duplicates("group")
    n_val = int(math.ceil(fraction * len(tracks)))
    if n_val < 1 or len(tracks) - n_val < 2:
        return rows, rows[:0]
    from sklearn.model_selection import train_test_split

    counts = tracks["label"].value_counts()
    stratify = tracks["label"] if counts.min() >= 2 and n_val >= len(counts) else None
    _, val_tracks = train_test_split(
        tracks["group"].to_numpy(), test_size=n_val, random_state=seed, stratify=stratify
    )
    in_val = segments.iloc[rows]["group"].isin(set(val_tracks)).to_numpy()
    return rows[~in_val], rows[in_val]


def _make_folds(
    segments: pd.DataFrame, config: CNNConfig, cv: int, split_dir: str | None
) -> tuple[list[_Fold], str]:
    from ..datasets import read_split_dir, track_id
    from .splits import check_n_splits, make_cv

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
        return [_Fold(0, train, valid, rows[member["test"]])], protocol
    if not isinstance(cv, (int, np.integer)) or cv < 2:
        raise ParameterError(f"cv must be an integer >= 2. Got {cv!r} instead.")
    check_n_splits(labels, groups, int(cv), "cv (the number of folds)")
    splitter = make_cv(int(cv), groups=groups, seed=config.seed)
    folds = []
    for index, (train, test) in enumerate(splitter.split(rows, labels, groups)):
        fit_rows, valid = _validation_tracks(
            np.sort(train), segments, config.validation_fraction, config.seed + index
        )
        folds.append(_Fold(index, fit_rows, valid, np.sort(test)))
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
    progress: bool = False,
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
    progress : bool
        Progress bars (spectrograms, epochs) on standard error.
    augmenter : callable or None
        ``augmenter(y, sr, *, seed) -> y_aug``; ``None`` uses a
        :class:`~featurelab.models.melspec.WaveAugmenter` when ``config.augment``.
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
    from .._version import __version__

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
    with _EpochProgress(progress, len(folds), config.epochs) as bar:
        # A fresh trainer per fold (it records that fold's augmented rows), same data and settings.
        new_trainer = functools.partial(
            _Trainer,
            mels,
            y,
            segments,
            len(classes),
            config,
            device,
            augmenter,
            on_augment,
            report=bar.update,
        )
        for fold in folds:
            trainer = new_trainer()
            bar.start_fold(fold.index)
            start = time.perf_counter()
            state, history, best_epoch = trainer.fit(fold)
            fit_times.append(time.perf_counter() - start)
            with torch_scope(0, config.threads):
                module = _load_module(state, len(classes), config)
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
            final = _Fold(len(folds), train, valid, rows[:0])
            bar.start_fold(final.index, final=True)
            final_state = new_trainer().fit(final)[0]

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
    fold: _Fold, segments: pd.DataFrame, y: np.ndarray, classes: np.ndarray, proba: np.ndarray
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


class _EpochProgress:
    """Per-epoch progress on standard error (a rich bar), or nothing."""

    def __init__(self, enabled: bool, n_folds: int, epochs: int) -> None:
        self.enabled = enabled
        self.n_folds = n_folds
        self.epochs = epochs
        self._bar: Any = None
        self._task: Any = None
        self._label = ""

    def __enter__(self) -> _EpochProgress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[metrics]}"),
                console=Console(file=sys.stderr),
            )
            self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def start_fold(self, index: int, final: bool = False) -> None:
        """Start a bar for one fold."""
        if self._bar is None:
            return
        self._label = "final model" if final else f"fold {index + 1}/{self.n_folds}"
        self._task = self._bar.add_task(self._label, total=self.epochs, metrics="")

    def update(self, entry: Mapping[str, float]) -> None:
        """Advance by one epoch and show its metrics."""
        if self._bar is None:
            return
        metrics = (
            f"loss {entry['train_loss']:.3f} acc {entry['train_accuracy']:.3f} | "
            f"val loss {entry['val_loss']:.3f} acc {entry['val_accuracy']:.3f}"
        )
        self._bar.update(self._task, completed=entry["epoch"], metrics=metrics)


# ----------------------------------------------------------------------------- run folder
def plot_curves(history: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Plot loss and accuracy per epoch, training vs validation, one thin line per fold.

    Parameters
    ----------
    history : pandas.DataFrame
        :attr:`CNNRun.history`.
    path : path
        Destination image (``curves.png``).

    Returns
    -------
    Path
        ``path``.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from ..io import atomic_path

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for ax, metric, title in ((axes[0], "loss", "Loss"), (axes[1], "accuracy", "Accuracy")):
        for split, color in (("train", "tab:blue"), ("val", "tab:orange")):
            column = f"{split}_{metric}"
            label = "train" if split == "train" else "validation"
            per_fold = history.pivot_table(index="epoch", columns="fold", values=column)
            for i, fold in enumerate(per_fold.columns):
                ax.plot(
                    per_fold.index,
                    per_fold[fold],
                    color=color,
                    alpha=0.25,
                    lw=1,
                    label=None if i else f"{label} (per fold)",
                )
            mean = per_fold.mean(axis=1)
            if mean.notna().any():
                ax.plot(mean.index, mean, color=color, lw=2.2, label=f"{label} (mean)")
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", dpi=110)
    plt.close(fig)
    return path


def write_cnn_run(run: CNNRun, run_dir: str | os.PathLike) -> Path:
    """Write a run folder: the classical models' files plus curves and (optionally) the weights.

    Files: ``results.json``, ``report.md``, ``confusion_matrix.png``, ``curves.png``,
    ``history.csv``, ``predictions.csv`` (segments), ``track_predictions.csv``, ``config.json`` and,
    when the run kept a final model, ``model.pt`` (``torch.save`` of ``{"state_dict", "classes",
    "config", "featurelab_version"}``).

    Parameters
    ----------
    run : CNNRun
        From :func:`evaluate_cnn`.
    run_dir : path
        Destination folder (created).

    Returns
    -------
    Path
        ``run_dir``.
    """
    import json

    from ..io import atomic_path, write_table
    from .rundir import plot_confusion_matrix, write_report_md, write_results_json

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_results_json(run_dir, run.results)
    write_table(run.history, run_dir / "history.csv")
    write_table(run.predictions, run_dir / "predictions.csv")
    write_table(run.track_predictions, run_dir / "track_predictions.csv")
    with atomic_path(run_dir / "config.json") as tmp:
        tmp.write_text(json.dumps(run.config.to_dict(), indent=2) + "\n", encoding="utf-8")
    plot_curves(run.history, run_dir / "curves.png")
    plot_confusion_matrix(
        np.asarray(run.results["confusion_matrix"]),
        run.results["classes"],
        run_dir / "confusion_matrix.png",
    )
    write_report_md(run_dir, run.results)
    if run.model_state is not None:
        torch = import_torch()
        payload = {
            "state_dict": {k: torch.from_numpy(np.asarray(v)) for k, v in run.model_state.items()},
            "classes": run.results["classes"],
            "config": run.config.to_dict(),
            "featurelab_version": run.results["featurelab_version"],
        }
        with atomic_path(run_dir / "model.pt") as tmp:
            torch.save(payload, tmp)
    return run_dir


def load_cnn_model(path: str | os.PathLike) -> tuple[Any, list[str], CNNConfig]:
    """Load a ``model.pt`` written by :func:`write_cnn_run`.

    Parameters
    ----------
    path : path
        The ``model.pt`` file.

    Returns
    -------
    module : torch.nn.Module
        The network in evaluation mode (CPU).
    classes : list of str
        Class labels, in output order.
    config : CNNConfig
        Its settings (use ``config.mel_params()`` to compute inputs).
    """
    torch = import_torch()
    payload = torch.load(Path(path), map_location="cpu", weights_only=True)
    config = CNNConfig(**{**payload["config"], "channels": tuple(payload["config"]["channels"])})
    state = {k: v.numpy() for k, v in payload["state_dict"].items()}
    return _load_module(state, len(payload["classes"]), config), list(payload["classes"]), config
