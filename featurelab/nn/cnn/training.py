"""Training the CNN on one fold: batches, augmentation and the shared loop."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._torch import import_torch, torch_scope
from ..training import FitResult, Schedule, epoch_batches, fit_network, plateau_patience
from .augment import AugmentHook, load_segment, spec_augment
from .network import build_cnn, predict_proba, scale_input

if TYPE_CHECKING:  # pragma: no cover
    from ...progress import ProgressBar
    from .config import CNNConfig

__all__ = ["Fold", "Trainer"]


@dataclass
class Fold:
    """Rows of one evaluation fold (positions in the segment table)."""

    index: int
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray


@dataclass
class Trainer:
    """Trains one network on the training rows of a fold (a fresh trainer per fold).

    Attributes
    ----------
    mels : np.ndarray [shape=(n_segments, n_mels, n_frames)]
        Log-mels of every segment (dB).
    y : np.ndarray [shape=(n_segments,)]
        Encoded labels.
    segments : pandas.DataFrame
        The segment table (``path`` and ``start`` to reload waveforms for augmentation).
    n_classes : int
        Number of classes.
    config : CNNConfig
        Settings.
    device : str
        Training device.
    augmenter : callable or None
        ``augmenter(y, sr, *, seed)`` for waveform augmentation.
    on_augment : callable or None
        Audit hook called before each augmentation (see :data:`~.augment.AugmentHook`).
    progress : ProgressBar or None
        Advanced once per epoch.
    augmented_rows : list of np.ndarray
        The rows that got waveform augmentation, one array per refresh.
    """

    mels: np.ndarray
    y: np.ndarray
    segments: pd.DataFrame
    n_classes: int
    config: CNNConfig
    device: str
    augmenter: Callable[..., np.ndarray] | None
    on_augment: AugmentHook | None
    progress: ProgressBar | None = None
    augmented_rows: list[np.ndarray] = field(default_factory=list)

    def _check_training_rows(self, rows: np.ndarray, train: np.ndarray, kind: str) -> None:
        if not np.isin(rows, train).all():  # pragma: no cover - a bug guard, never expected
            raise AssertionError(f"{kind} augmentation requested for rows outside the training set")

    def _refresh_pool(self, fold: Fold, epoch: int, rng: np.random.Generator) -> dict[int, Any]:
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
        sr = cfg.extraction.sr
        pool = {}
        waves = []
        for row in rows:
            record = self.segments.iloc[row]
            y = load_segment(record["path"], float(record["start"]), cfg)
            seq = np.random.SeedSequence([cfg.seed, fold.index, epoch, int(row)])
            waves.append(self.augmenter(y, sr, seed=int(seq.generate_state(1)[0])))
        mels = cfg.logmel.transform(np.stack(waves), sr)
        for row, mel in zip(rows, mels, strict=True):
            pool[int(row)] = torch.from_numpy(scale_input(mel, cfg.logmel.top_db))
        return pool

    def fit(self, fold: Fold) -> FitResult:
        """Train on ``fold.train``, stop early on ``fold.valid``; return the best weights."""
        cfg = self.config
        seed = int(np.random.SeedSequence([cfg.seed, fold.index]).generate_state(1)[0])
        with torch_scope(seed, cfg.threads, self.device) as torch:
            module = build_cnn(self.n_classes, cfg).to(self.device)
            criterion = torch.nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
            schedule = Schedule(
                max_epochs=cfg.epochs,
                lr=cfg.lr,
                weight_decay=cfg.weight_decay,
                patience=cfg.patience,
                lr_patience=plateau_patience(cfg.patience, 3),
            )
            validate = self._validate(fold) if len(fold.valid) else None
            return fit_network(
                module,
                self._batches(torch, fold, seed),
                criterion,
                schedule,
                validate=validate,
                tags={"fold": fold.index},
                progress=self.progress,
            )

    def _batches(self, torch: Any, fold: Fold, seed: int) -> Callable[[int], Iterator[tuple[Any, Any]]]:
        """Return the batches of each epoch: shuffled training rows, waveform and SpecAugment masks.

        One generator serves shuffling and the SpecAugment masks, a numpy generator picks the rows
        to augment, both seeded from ``seed``.
        """
        cfg = self.config
        X = torch.from_numpy(scale_input(self.mels, cfg.logmel.top_db))
        y = torch.from_numpy(self.y.astype(np.int64))
        generator = torch.Generator().manual_seed(seed)
        rng = np.random.default_rng(seed)
        train = fold.train
        pool: dict[int, Any] = {}

        def batches(epoch: int) -> Iterator[tuple[Any, Any]]:
            nonlocal pool
            if cfg.augment and (epoch - 1) % cfg.augment_every == 0:
                pool = self._refresh_pool(fold, epoch, rng)
            for index in epoch_batches(len(train), cfg.batch_size, generator, min_size=2):
                rows = train[index.numpy()]
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
                yield xb.unsqueeze(1).to(self.device), y[rows].to(self.device)

        return batches

    def _validate(self, fold: Fold) -> Callable[[Any], tuple[float, float]]:
        """Loss (cross-entropy, no smoothing) and accuracy on the early-stopping rows."""
        cfg = self.config
        target = self.y[fold.valid]

        def validate(module: Any) -> tuple[float, float]:
            proba = predict_proba(
                module, self.mels[fold.valid], self.device, cfg.batch_size, cfg.logmel.top_db
            )
            loss = float(-np.mean(np.log(np.clip(proba[np.arange(len(target)), target], 1e-12, 1))))
            return loss, float(np.mean(proba.argmax(1) == target))

        return validate
