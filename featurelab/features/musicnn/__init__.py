"""Pretrained musicnn embeddings and tags as feature sets, in PyTorch, without TensorFlow.

musicnn (Pons & Serra, 2019, "musicnn: pre-trained convolutional neural networks for music audio
tagging", ISMIR LBD) is a musically motivated CNN: 96-band log-mel patches of 3 s at 16 kHz feed
timbral (7x38, 7x67) and temporal (128, 64, 32 frames) filters, a dense residual mid end, temporal
max/mean pooling, a 200-unit penultimate layer and 50 sigmoid tag outputs. The same wheel ships a
VGG-like baseline (five 3x3 conv / max-pool blocks, 128 filters) trained on the same data and
input. This subpackage ports both forward passes to PyTorch and reads the trained weights of the
four published models (``MSD_musicnn``, ``MTT_musicnn``, ``MSD_vgg``, ``MTT_vgg``) from the
``musicnn`` wheel's TensorFlow checkpoints with a small pure-Python reader (install the weights with
``pip install --no-deps musicnn==0.1.0``). The ports are checked against the original TensorFlow
implementation on stored reference outputs (``tests/test_musicnn.py``).

Public functions (torch is imported only when a model runs):

- :func:`musicnn_features` (``f(y, sr, *, model, pool) -> dict``) and its batch version: every
  musicnn feature set (embedding mean/std/max over patches + mean tag probabilities);
  :func:`musicnn_mtt_features` and its batch version: the ``musicnn_mtt`` set;
- :func:`musicnn_predict`: per-patch taggram and embeddings;
- :func:`musicnn_columns`, :func:`model_labels`, :func:`load_musicnn`, :func:`load_weights`.
"""

from __future__ import annotations

from ._features import (
    load_musicnn,
    musicnn_columns,
    musicnn_features,
    musicnn_features_batch,
    musicnn_mtt_features,
    musicnn_mtt_features_batch,
    musicnn_predict,
)
from ._weights import INSTALL_HINT, MODELS, cache_dir, load_weights, model_labels

__all__ = [
    "INSTALL_HINT",
    "MODELS",
    "cache_dir",
    "load_musicnn",
    "load_weights",
    "model_labels",
    "musicnn_columns",
    "musicnn_features",
    "musicnn_features_batch",
    "musicnn_mtt_features",
    "musicnn_mtt_features_batch",
    "musicnn_predict",
]
