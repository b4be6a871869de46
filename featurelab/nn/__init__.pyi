from . import cnn
from ._torch import (
    TORCH_INSTALL_HINT,
    import_torch,
    resolve_device,
    seed_int,
    torch_scope,
    torch_threads,
)
from .mlp import MLPTorchClassifier, make_mlp_torch
from .training import FitResult, Schedule, epoch_batches, fit_network, plateau_patience

__all__ = [
    "FitResult",
    "MLPTorchClassifier",
    "Schedule",
    "TORCH_INSTALL_HINT",
    "cnn",
    "epoch_batches",
    "fit_network",
    "import_torch",
    "make_mlp_torch",
    "plateau_patience",
    "resolve_device",
    "seed_int",
    "torch_scope",
    "torch_threads",
]
