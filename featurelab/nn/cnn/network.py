"""The CNN: conv blocks on log-mel segments, its input scaling and its predictions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from .._torch import import_torch, load_numpy_state

if TYPE_CHECKING:  # pragma: no cover
    from .config import CNNConfig

__all__ = ["build_cnn", "scale_input", "predict_proba", "load_module"]


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
    n_freq = config.logmel.n_mels // 2 ** len(config.channels)
    layers += [
        nn.AdaptiveAvgPool2d((n_freq, 1)),
        nn.Flatten(),
        nn.Linear(width * n_freq, config.head_hidden),
        nn.ReLU(),
        nn.Dropout(config.head_dropout),
        nn.Linear(config.head_hidden, n_classes),
    ]
    return nn.Sequential(*layers)


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


def predict_proba(
    module: Any, mels: np.ndarray, device: str, batch_size: int = 64, top_db: float = 80.0
) -> np.ndarray:
    """Class probabilities of log-mel segments (evaluation mode, no augmentation).

    Parameters
    ----------
    module : torch.nn.Module
        A network from :func:`build_cnn`.
    mels : np.ndarray [shape=(n, n_mels, n_frames)]
        Log-mel segments in dB (as :func:`featurelab.arrays.log_mel` returns them).
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


def load_module(state: Mapping[str, np.ndarray], n_classes: int, config: CNNConfig) -> Any:
    """Rebuild a trained network from its weights, in evaluation mode on the CPU.

    Parameters
    ----------
    state : mapping of str to np.ndarray
        The weights (a state dict as numpy arrays).
    n_classes : int
        Output width.
    config : CNNConfig
        The settings the network was built with.

    Returns
    -------
    module : torch.nn.Sequential
        The network.
    """
    module = build_cnn(n_classes, config)
    load_numpy_state(module, state)
    return module.eval()
