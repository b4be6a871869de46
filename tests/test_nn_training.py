"""featurelab.nn.training: the one training loop (plateau schedule, early stopping, best weights)."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from featurelab.nn.training import (  # noqa: E402
    Schedule,
    early_stopping_split,
    epoch_batches,
    fit_network,
    plateau_patience,
)

pytestmark = pytest.mark.nn


class Scripted(torch.nn.Module):
    """A one-weight model whose validation loss follows a script, to test the loop's decisions."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return torch.cat([x * self.weight, -x * self.weight], dim=1)


def _run(val_losses, *, patience=3, lr_patience=1, max_epochs=None, **kwargs):
    torch.manual_seed(0)
    module = Scripted()
    X = torch.ones(4, 1)
    y = torch.zeros(4, dtype=torch.long)
    losses = iter(val_losses)

    def validate(module):
        return next(losses), 0.5

    schedule = Schedule(
        max_epochs=max_epochs or len(val_losses),
        lr=0.1,
        weight_decay=0.0,
        patience=patience,
        lr_patience=lr_patience,
    )
    return fit_network(
        module,
        lambda epoch: [(X, y)],
        torch.nn.CrossEntropyLoss(),
        schedule,
        validate=validate,
        **kwargs,
    )


def test_early_stopping_restores_the_best_epoch():
    result = _run([1.0, 0.5, 0.6, 0.7, 0.8, 0.1], patience=3)
    assert [entry["epoch"] for entry in result.history] == [1, 2, 3, 4, 5]  # stopped: 3 stale epochs
    assert result.best_epoch == 2
    assert set(result.state) == {"weight"} and isinstance(result.state["weight"], np.ndarray)


def test_best_weights_are_those_of_the_best_epoch():
    weights = []
    result = _run(
        [1.0, 0.2, 0.9, 0.9, 0.9],
        patience=10,
        on_epoch=lambda entry: weights.append(entry["epoch"]),
    )
    assert weights == [1, 2, 3, 4, 5] and result.best_epoch == 2
    # replaying two epochs of the same seeded training gives the restored weights
    again = _run([1.0, 0.2], patience=10)
    np.testing.assert_array_equal(result.state["weight"], again.state["weight"])


def test_plateau_halves_the_learning_rate():
    result = _run([1.0, 1.0, 1.0, 1.0, 1.0], patience=10, lr_patience=1)
    assert [entry["lr"] for entry in result.history] == [0.1, 0.1, 0.1, 0.05, 0.05]
    assert len(result.history) == 5


def test_without_validation_it_trains_all_epochs_on_the_training_loss():
    torch.manual_seed(0)
    module = Scripted()
    X, y = torch.ones(4, 1), torch.zeros(4, dtype=torch.long)
    schedule = Schedule(max_epochs=6, lr=0.1, weight_decay=0.0, patience=1, lr_patience=1)
    result = fit_network(
        module, lambda epoch: [(X, y)], torch.nn.CrossEntropyLoss(), schedule, tags={"fold": 3}
    )
    assert len(result.history) == 6
    entry = result.history[0]
    assert list(entry)[:2] == ["fold", "epoch"] and entry["fold"] == 3
    assert math.isnan(entry["val_loss"]) and math.isnan(entry["val_accuracy"])
    losses = [e["train_loss"] for e in result.history]
    assert losses == sorted(losses, reverse=True)  # a convex problem: the loss only goes down
    assert result.best_epoch == 6 and entry["train_accuracy"] in (0.0, 1.0)


def test_progress_bar_follows_the_epochs():
    from featurelab.progress import ProgressBar

    calls = []
    with ProgressBar(lambda done, total: calls.append((done, total)), total=4, description="fit") as bar:
        _run([1.0, 0.9, 0.8, 0.7], progress=bar)
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_epoch_batches():
    gen = torch.Generator().manual_seed(0)
    batches = list(epoch_batches(7, 3, gen))
    assert [len(b) for b in batches] == [3, 3, 1]
    assert sorted(torch.cat(batches).tolist()) == list(range(7))
    assert [len(b) for b in epoch_batches(7, 3, gen, min_size=2)] == [3, 3]  # trailing 1 skipped
    assert [len(b) for b in epoch_batches(5, 1, gen, min_size=2)] == [2, 2]  # batch raised to 2
    first = torch.cat(list(epoch_batches(9, 4, torch.Generator().manual_seed(1))))
    second = torch.cat(list(epoch_batches(9, 4, torch.Generator().manual_seed(1))))
    assert torch.equal(first, second)


def test_plateau_patience():
    assert plateau_patience(20, 4) == 5 and plateau_patience(10, 3) == 3 and plateau_patience(1, 4) == 1


def test_early_stopping_split():
    labels = np.repeat(["a", "b", "c"], [10, 10, 4])
    held = early_stopping_split(labels, 0.25, seed=0)
    assert len(held) == 6 and np.all(np.diff(held) > 0)
    assert set(labels[held]) == {"a", "b", "c"}  # stratified
    np.testing.assert_array_equal(held, early_stopping_split(labels, 0.25, seed=0))
    assert early_stopping_split(labels, 0.0, seed=0) is None
    assert early_stopping_split(labels[:2], 0.5, seed=0) is None  # would leave one to train on
    single = early_stopping_split(np.array(["a", "a", "b", "c", "c"]), 0.4, seed=0)
    assert len(single) == 2  # "b" has one item: not stratified, still split
