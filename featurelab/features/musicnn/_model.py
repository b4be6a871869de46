"""The musicnn network (Pons & Serra, 2019) re-implemented in PyTorch, inference only.

This mirrors ``build_musicnn`` of ``musicnn/models.py`` (musicnn 0.1.0) layer by layer. TensorFlow
tensors are NHWC with H = time and W = mel band; here the same computations run on
``(batch, channels, time, freq)`` (front end) and ``(batch, channels, time)`` (mid end).
Equivalences that matter for an exact port:

- every ``tf.layers.batch_normalization`` is applied in inference mode (stored moving mean and
  variance), epsilon ``1e-3``, *after* the ReLU of the preceding convolution;
- timbral convolutions: time zero-padded by 3 frames on both sides *after* the input batch norm,
  then "valid" in time and frequency, max-pooled over all remaining frequency positions;
- temporal convolutions: TF "same" padding in time for even kernels (128, 64, 32) is
  ``(k - 1) // 2`` frames before and ``k // 2`` after; max-pooled over all 96 bands;
- mid end: three 7-frame convolutions over the full feature axis (zero-padded by 3 frames),
  with residual connections on the 2nd and 3rd;
- back end: max and mean over time of the 753 mid-end channels, concatenated and *flattened in
  interleaved order* ``[max_0, mean_0, max_1, mean_1, ...]`` (TF ``concat(axis=2)`` then
  ``flatten``), batch norm, dense 200 + ReLU, batch norm (= the "penultimate" embedding), dense 50.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["MusiCNN", "N_FRAMES", "N_MELS"]

N_MELS = 96
N_FRAMES = 187
_BN_EPS = 1e-3
_TEMPORAL_KERNELS = (128, 64, 32)


def _bn(n: int) -> nn.BatchNorm1d:
    return nn.BatchNorm1d(n, eps=_BN_EPS)


def _bn2d(n: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(n, eps=_BN_EPS)


class MusiCNN(nn.Module):
    """musicnn with the front end ``7774timbraltemporal``, dense mid end and global-pool back end.

    Parameters
    ----------
    n_classes : int
        Number of tags (50 for both published models).
    n_filt_frontend : float
        Front-end width multiplier (1.6: 204 timbral and 51 temporal filters per branch).
    n_filt_midend : int
        Mid-end filters (64).
    n_units_backend : int
        Penultimate dense units (200).

    Notes
    -----
    ``forward`` takes log-compressed mel patches ``x`` of shape ``(batch, time, 96)`` and returns
    ``(logits, penultimate)`` of shapes ``(batch, n_classes)`` and ``(batch, n_units_backend)``.
    Any number of frames works (as in the original); the published models were trained on 187.
    """

    def __init__(
        self,
        n_classes: int = 50,
        n_filt_frontend: float = 1.6,
        n_filt_midend: int = 64,
        n_units_backend: int = 200,
    ) -> None:
        super().__init__()
        n_timbral = int(n_filt_frontend * 128)
        n_temporal = int(n_filt_frontend * 32)
        self.bn_input = nn.BatchNorm2d(1, eps=_BN_EPS)
        self.timbral = nn.ModuleList(
            [nn.Conv2d(1, n_timbral, (7, int(frac * N_MELS))) for frac in (0.4, 0.7)]
        )
        self.bn_timbral = nn.ModuleList([_bn2d(n_timbral) for _ in range(2)])
        self.temporal = nn.ModuleList([nn.Conv2d(1, n_temporal, (k, 1)) for k in _TEMPORAL_KERNELS])
        self.bn_temporal = nn.ModuleList([_bn2d(n_temporal) for _ in _TEMPORAL_KERNELS])
        n_front = 2 * n_timbral + len(_TEMPORAL_KERNELS) * n_temporal
        self.midend = nn.ModuleList(
            [nn.Conv1d(n_front, n_filt_midend, 7)]
            + [nn.Conv1d(n_filt_midend, n_filt_midend, 7) for _ in range(2)]
        )
        self.bn_midend = nn.ModuleList([_bn(n_filt_midend) for _ in range(3)])
        n_mid = n_front + 3 * n_filt_midend
        self.bn_pool = _bn(2 * n_mid)
        self.dense = nn.Linear(2 * n_mid, n_units_backend)
        self.bn_dense = _bn(n_units_backend)
        self.output = nn.Linear(n_units_backend, n_classes)
        self.eval()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Tag logits and penultimate embedding of log-mel patches ``x`` (batch, time, mels)."""
        out = self.layers(x)
        return out["logits"], out["penultimate"]

    def layers(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Named intermediate outputs, as musicnn's ``extractor`` exposes them.

        Returns ``max_pool`` and ``mean_pool`` (batch, 753), ``penultimate`` (batch, 200) and
        ``logits`` (batch, n_classes) for log-mel patches ``x`` of shape (batch, time, 96).
        """
        x = self.bn_input(x.unsqueeze(1))  # (B, 1, T, F)
        front = []
        x_pad = F.pad(x, (0, 0, 3, 3))
        for conv, bn in zip(self.timbral, self.bn_timbral, strict=True):
            # BN before the max over frequency: a negative BN scale would not commute with max
            front.append(bn(F.relu(conv(x_pad))).amax(dim=3))  # (B, C, T)
        for conv, bn, k in zip(self.temporal, self.bn_temporal, _TEMPORAL_KERNELS, strict=True):
            h = F.relu(conv(F.pad(x, (0, 0, (k - 1) // 2, k // 2))))
            front.append(bn(h).amax(dim=3))
        feats = [torch.cat(front, dim=1)]  # (B, 561, T)
        h = feats[0]
        for i, (conv, bn) in enumerate(zip(self.midend, self.bn_midend, strict=True)):
            out = bn(F.relu(conv(F.pad(h, (3, 3)))))
            h = out if i == 0 else out + h
            feats.append(h)
        mid = torch.cat(feats, dim=1)  # (B, 753, T)
        max_pool, mean_pool = mid.amax(dim=2), mid.mean(dim=2)
        pooled = torch.stack([max_pool, mean_pool], dim=2).flatten(1)  # interleaved, as TF
        pen = self.bn_dense(F.relu(self.dense(self.bn_pool(pooled))))
        return {
            "max_pool": max_pool,
            "mean_pool": mean_pool,
            "penultimate": pen,
            "logits": self.output(pen),
        }


def _bn_state(prefix: str, weights: Mapping[str, np.ndarray], tf_name: str) -> dict:
    return {
        f"{prefix}.weight": weights[f"{tf_name}/gamma"],
        f"{prefix}.bias": weights[f"{tf_name}/beta"],
        f"{prefix}.running_mean": weights[f"{tf_name}/moving_mean"],
        f"{prefix}.running_var": weights[f"{tf_name}/moving_variance"],
    }


def _conv2d_state(prefix: str, weights: Mapping[str, np.ndarray], tf_name: str) -> dict:
    # TF HWIO (time, freq, in, out) -> torch OIHW (out, in, time, freq)
    return {
        f"{prefix}.weight": weights[f"{tf_name}/kernel"].transpose(3, 2, 0, 1),
        f"{prefix}.bias": weights[f"{tf_name}/bias"],
    }


def _dense_state(prefix: str, weights: Mapping[str, np.ndarray], tf_name: str) -> dict:
    # TF (in, out) -> torch (out, in)
    return {f"{prefix}.weight": weights[f"{tf_name}/kernel"].T, f"{prefix}.bias": weights[f"{tf_name}/bias"]}


def _to_tensors(state: Mapping[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {
        key: torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32)) for key, value in state.items()
    }


def tf_to_state_dict(weights: Mapping[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """Map musicnn's TF variable names and layouts to :class:`MusiCNN`'s state dict.

    TF auto-names layers in creation order (``conv2d``, ``conv2d_1``, ...; ``batch_normalization``,
    ``batch_normalization_1``, ...). Creation order in ``build_musicnn``: input BN; timbral 74
    (conv, BN); timbral 77; temporal 128, 64, 32; mid-end conv 1-3; pooled BN; dense; dense BN;
    output dense.
    """
    state: dict[str, np.ndarray] = {}
    state.update(_bn_state("bn_input", weights, "batch_normalization"))

    def conv1d(prefix: str, tf_name: str) -> None:
        # TF (time, features, 1, out) -> torch (out, features, time)
        state[f"{prefix}.weight"] = weights[f"{tf_name}/kernel"][:, :, 0, :].transpose(2, 1, 0)
        state[f"{prefix}.bias"] = weights[f"{tf_name}/bias"]

    for i in range(2):
        state.update(_conv2d_state(f"timbral.{i}", weights, f"conv2d_{i}" if i else "conv2d"))
        state.update(_bn_state(f"bn_timbral.{i}", weights, f"batch_normalization_{i + 1}"))
    for i in range(3):
        state.update(_conv2d_state(f"temporal.{i}", weights, f"conv2d_{i + 2}"))
        state.update(_bn_state(f"bn_temporal.{i}", weights, f"batch_normalization_{i + 3}"))
    for i in range(3):
        conv1d(f"midend.{i}", f"conv2d_{i + 5}")
        state.update(_bn_state(f"bn_midend.{i}", weights, f"batch_normalization_{i + 6}"))
    state.update(_bn_state("bn_pool", weights, "batch_normalization_9"))
    state.update(_dense_state("dense", weights, "dense"))
    state.update(_bn_state("bn_dense", weights, "batch_normalization_10"))
    state.update(_dense_state("output", weights, "dense_1"))
    return _to_tensors(state)
