"""One training loop for every featurelab network: AdamW, plateau schedule, early stopping.

:func:`fit_network` trains a module on the mini-batches a model hands it, one epoch at a time:
AdamW with decoupled weight decay; after each epoch a validation pass (when the model has held-out
data), one history entry (the learning-rate curve and the loss/accuracy curves of ``curves.png``),
``ReduceLROnPlateau`` on the monitored loss and early stopping after ``patience`` epochs without
improvement; the weights of the best epoch are returned. What differs between models -- how
batches are drawn and augmented, the loss, the validation metric -- comes in as callables, so the
MLP and the CNN share this loop and keep their exact results.

Why not skorch: its ``NeuralNet`` owns batching and the validation split (the CNN holds out whole
tracks and augments batches in place, drawing from the same generator as the shuffling) and its
callbacks would change the order in which random numbers are drawn, so seeded results would not be
kept; the loop below is short and has no extra dependency.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ._torch import import_torch

if TYPE_CHECKING:  # pragma: no cover
    from ..progress import ProgressBar

__all__ = [
    "FitResult",
    "Schedule",
    "early_stopping_split",
    "epoch_batches",
    "fit_network",
    "plateau_patience",
]

#: ``validate(module) -> (loss, accuracy)`` on the held-out data.
Validate = Callable[[Any], tuple[float, float]]
#: ``loss_fn(logits, target) -> loss``: the (scalar) training loss of one batch.
LossFn = Callable[[Any, Any], Any]


def plateau_patience(patience: int, divisor: int) -> int:
    """Epochs without improvement before the learning rate is halved: ``max(1, patience // divisor)``.

    The MLP uses ``divisor=4``, the CNN ``divisor=3``.

    Examples
    --------
    >>> plateau_patience(20, 4), plateau_patience(10, 3), plateau_patience(2, 3)
    (5, 3, 1)
    """
    return max(1, int(patience) // int(divisor))


@dataclass(frozen=True)
class Schedule:
    """Optimization and stopping settings of one :func:`fit_network` call.

    Attributes
    ----------
    max_epochs : int
        Maximum passes over the training data.
    lr : float
        Initial AdamW learning rate.
    weight_decay : float
        AdamW (decoupled) weight decay.
    patience : int
        Stop after this many epochs without improvement of the validation loss (only when there
        is validation data).
    lr_patience : int
        Epochs without improvement before ``ReduceLROnPlateau`` multiplies the rate by
        ``lr_factor`` (see :func:`plateau_patience`).
    lr_factor : float
        The plateau factor.
    min_delta : float
        How much lower a loss must be to count as an improvement.
    """

    max_epochs: int
    lr: float
    weight_decay: float
    patience: int
    lr_patience: int
    lr_factor: float = 0.5
    min_delta: float = 1e-6


@dataclass
class FitResult:
    """What :func:`fit_network` returns.

    Attributes
    ----------
    state : dict of str to np.ndarray
        The weights of the best epoch (copies, on the CPU, as numpy arrays).
    history : list of dict
        One entry per epoch: the ``tags``, then ``epoch, train_loss, train_accuracy, val_loss,
        val_accuracy, lr`` (``val_*`` are NaN without validation data; ``lr`` is the rate used
        during the epoch).
    best_epoch : int
        The (1-based) epoch whose weights are in ``state``.
    """

    state: dict[str, np.ndarray]
    history: list[dict[str, float]]
    best_epoch: int


def epoch_batches(n: int, batch_size: int, generator: Any, *, min_size: int = 1) -> Iterator[Any]:
    """Shuffled mini-batches of ``range(n)`` for one epoch.

    Parameters
    ----------
    n : int
        Number of training examples.
    batch_size : int
        Examples per batch (raised to ``min_size``).
    generator : torch.Generator
        Source of the permutation (one :func:`torch.randperm` draw per epoch).
    min_size : int
        Smaller batches (the trailing one) are skipped; 2 for networks with BatchNorm.

    Yields
    ------
    index : torch.Tensor [shape=(batch,), dtype=int64]
        Positions of one batch, on the CPU.

    Examples
    --------
    >>> import torch
    >>> batches = list(epoch_batches(5, 2, torch.Generator().manual_seed(0), min_size=2))
    >>> [len(b) for b in batches]
    [2, 2]
    """
    torch = import_torch()
    size = max(int(batch_size), int(min_size))
    order = torch.randperm(n, generator=generator)
    for begin in range(0, n, size):
        index = order[begin : begin + size]
        if len(index) < min_size:
            continue
        yield index


def early_stopping_split(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray | None:
    """Positions of the items held out for early stopping, stratified by label when possible.

    ``ceil(fraction * n)`` items are held out (scikit-learn's ``train_test_split``), stratified when
    every label has two items or more and both parts can hold one item of each label.

    Parameters
    ----------
    labels : np.ndarray [shape=(n,)]
        Label of each item (a sample for the MLP, a track for the CNN).
    fraction : float
        Share to hold out, in [0, 1).
    seed : int
        Seed of the split.

    Returns
    -------
    held_out : np.ndarray or None
        Sorted positions of the held-out items; ``None`` when ``fraction`` is 0 or the split
        would leave fewer than two items to train on.

    Examples
    --------
    >>> early_stopping_split(np.repeat(["a", "b"], 10), 0.2, seed=0)
    array([ 0,  5, 14, 17])
    """
    n = len(labels)
    if fraction <= 0:
        return None
    n_val = int(math.ceil(fraction * n))
    if n_val < 1 or n - n_val < 2:
        return None
    from sklearn.model_selection import train_test_split

    counts = np.unique(labels, return_counts=True)[1]
    stratify = labels if counts.min() >= 2 and min(n_val, n - n_val) >= len(counts) else None
    _, held_out = train_test_split(np.arange(n), test_size=n_val, random_state=seed, stratify=stratify)
    return np.sort(held_out)


def _epoch_text(entry: Mapping[str, float]) -> str:
    return (
        f"loss {entry['train_loss']:.3f} acc {entry['train_accuracy']:.3f} | "
        f"val loss {entry['val_loss']:.3f} acc {entry['val_accuracy']:.3f}"
    )


def fit_network(
    module: Any,
    batches: Callable[[int], Iterable[tuple[Any, Any]]],
    loss_fn: LossFn,
    schedule: Schedule,
    *,
    validate: Validate | None = None,
    tags: Mapping[str, Any] | None = None,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
    progress: ProgressBar | None = None,
) -> FitResult:
    """Train ``module`` with AdamW, ``ReduceLROnPlateau`` and early stopping; keep the best weights.

    Call it inside :func:`~featurelab.nn.torch_scope`, after building the module there, so that
    the seed determines initialization, shuffling and augmentation.

    Parameters
    ----------
    module : torch.nn.Module
        The network, on its device.
    batches : callable
        ``batches(epoch)`` yields the ``(inputs, targets)`` batches of one epoch (1-based), on the
        module's device; it shuffles and augments as the model wants (see :func:`epoch_batches`).
    loss_fn : callable
        ``loss_fn(logits, targets)``: the scalar training loss of a batch.
    schedule : Schedule
        Epochs, optimizer and stopping settings.
    validate : callable or None
        ``validate(module) -> (loss, accuracy)`` on the held-out data; it watches (schedules and
        stops on) that loss. ``None``: the training loss is watched and the network trains for
        ``max_epochs``.
    tags : mapping or None
        Keys put first in every history entry (e.g. ``{"fold": 2}``).
    on_epoch : callable or None
        Called with each history entry.
    progress : ProgressBar or None
        A bar advanced to the epoch number, showing the epoch's losses and accuracies.

    Returns
    -------
    FitResult
        The best weights, the history and the best epoch.
    """
    torch = import_torch()
    optimizer = torch.optim.AdamW(
        module.parameters(), lr=float(schedule.lr), weight_decay=float(schedule.weight_decay)
    )
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=schedule.lr_factor, patience=int(schedule.lr_patience)
    )
    history: list[dict[str, float]] = []
    best_loss, best_epoch, best_state, stale = math.inf, 0, None, 0
    for epoch in range(1, int(schedule.max_epochs) + 1):
        module.train()
        loss_sum, correct, seen = 0.0, 0, 0
        for inputs, targets in batches(epoch):
            logits = module(inputs)
            loss = loss_fn(logits, targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += float(loss.detach()) * len(targets)
            correct += int((logits.detach().argmax(1) == targets).sum())
            seen += len(targets)
        entry = {
            **(tags or {}),
            "epoch": epoch,
            "train_loss": loss_sum / max(seen, 1),
            "train_accuracy": correct / max(seen, 1),
            "val_loss": float("nan"),
            "val_accuracy": float("nan"),
            "lr": float(optimizer.param_groups[0]["lr"]),
        }
        if validate is not None:
            entry["val_loss"], entry["val_accuracy"] = (float(v) for v in validate(module))
            watched = entry["val_loss"]
        else:
            watched = entry["train_loss"]
        history.append(entry)
        if on_epoch is not None:
            on_epoch(entry)
        if progress is not None:
            progress.update(completed=epoch, text=_epoch_text(entry))
        scheduler.step(watched)
        if watched < best_loss - schedule.min_delta or best_state is None:
            best_loss, best_epoch, stale = watched, epoch, 0
            best_state = {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}
        else:
            stale += 1
            if validate is not None and stale >= int(schedule.patience):
                break
    assert best_state is not None
    return FitResult({k: v.numpy().copy() for k, v in best_state.items()}, history, best_epoch)
