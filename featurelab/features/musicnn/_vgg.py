"""musicnn's VGG-like baseline (MSD_vgg, MTT_vgg) re-implemented in PyTorch, inference only.

This mirrors ``vgg`` of ``musicnn/models.py`` (musicnn 0.1.0) with ``num_filters=128``: five blocks
of 3x3 convolution (TF "same" padding = one zero frame/band on each side) + ReLU, batch norm and
max pooling ("valid"), then the flattened last pooling map feeds a dense layer of 50 tag logits.
The same equivalences as in ``_model`` hold (inference-mode batch norm, epsilon ``1e-3``, after the
ReLU; dropout is the identity at inference). The pooling windows and strides (time, frequency)::

    pool1 (4, 1) / (2, 2)   187 x 96 -> 92 x 48
    pool2 (2, 2) / (2, 2)    -> 46 x 24
    pool3 (2, 2) / (2, 2)    -> 23 x 12
    pool4 (2, 2) / (2, 2)    -> 11 x 6
    pool5 (4, 4) / (4, 4)    -> 2 x 1

The first pooling keeps every other mel band (window 1, stride 2 in frequency). The flattened pool5
(2 time positions x 128 channels, in TF's NHWC order ``[t0c0 .. t0c127, t1c0 .. t1c127]``) is the
layer before the tag logits: it is this port's 256-d ``penultimate`` embedding. Unlike musicnn the
network only accepts patches of exactly 187 frames (as the original's ``extractor`` says).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._model import N_FRAMES, N_MELS, _bn2d, _bn_state, _conv2d_state, _dense_state, _to_tensors

__all__ = ["VGG", "tf_to_state_dict"]

#: (window, stride) in (time, frequency) of the five max-pooling layers.
_POOLS = (((4, 1), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((4, 4), (4, 4)))


def _pooled_size(n: int, axis: int) -> int:
    for window, stride in _POOLS:
        n = (n - window[axis]) // stride[axis] + 1
    return n


class VGG(nn.Module):
    """musicnn's ``vgg`` network: five conv/BN/max-pool blocks and a dense tag layer.

    Parameters
    ----------
    n_classes : int
        Number of tags (50 for both published models).
    n_filters : int
        Filters per convolution (128 for both published models).

    Notes
    -----
    ``forward`` takes log-compressed mel patches ``x`` of shape ``(batch, 187, 96)`` and returns
    ``(logits, penultimate)`` of shapes ``(batch, n_classes)`` and ``(batch, 2 * n_filters)``.
    """

    def __init__(self, n_classes: int = 50, n_filters: int = 128) -> None:
        super().__init__()
        self.bn_input = _bn2d(1)
        self.convs = nn.ModuleList(
            [nn.Conv2d(1 if i == 0 else n_filters, n_filters, 3, padding=1) for i in range(len(_POOLS))]
        )
        self.bns = nn.ModuleList([_bn2d(n_filters) for _ in _POOLS])
        n_flat = _pooled_size(N_FRAMES, 0) * _pooled_size(N_MELS, 1) * n_filters
        self.output = nn.Linear(n_flat, n_classes)
        self.eval()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Tag logits and penultimate embedding of log-mel patches ``x`` (batch, 187, 96)."""
        out = self.layers(x)
        return out["logits"], out["penultimate"]

    def layers(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Named intermediate outputs, as musicnn's ``extractor`` exposes them.

        Returns ``pool1`` ... ``pool5`` in TF's layout (batch, time, freq, channels),
        ``penultimate`` (batch, 256: pool5 flattened) and ``logits`` (batch, n_classes) for
        log-mel patches ``x`` of shape (batch, 187, 96).
        """
        h = self.bn_input(x.unsqueeze(1))  # (B, 1, T, F)
        out = {}
        for i, (conv, bn, (window, stride)) in enumerate(zip(self.convs, self.bns, _POOLS, strict=True)):
            h = F.max_pool2d(bn(F.relu(conv(h))), window, stride)
            out[f"pool{i + 1}"] = h.permute(0, 2, 3, 1)  # NHWC, as TF
        pen = out["pool5"].flatten(1)
        out["penultimate"] = pen
        out["logits"] = self.output(pen)
        return out


def tf_to_state_dict(weights: Mapping[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """Map the vgg model's TF variables to :class:`VGG`'s state dict.

    Convolutions are named ``1CNN`` ... ``5CNN`` in the original; batch norms are auto-named in
    creation order (input, then one per block) and the output layer is ``dense``.
    """
    state = _bn_state("bn_input", weights, "batch_normalization")
    for i in range(len(_POOLS)):
        state.update(_conv2d_state(f"convs.{i}", weights, f"{i + 1}CNN"))
        state.update(_bn_state(f"bns.{i}", weights, f"batch_normalization_{i + 1}"))
    state.update(_dense_state("output", weights, "dense"))
    return _to_tensors(state)
