"""Feature-set functions: musicnn embeddings and tag probabilities summarised over 3 s patches."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from ...exceptions import ParameterError
from . import _frontend
from ._weights import MODELS, load_weights, model_labels

if TYPE_CHECKING:  # pragma: no cover
    from ._model import MusiCNN

__all__ = [
    "musicnn_features",
    "musicnn_features_batch",
    "musicnn_mtt_features",
    "musicnn_mtt_features_batch",
    "musicnn_columns",
    "musicnn_predict",
    "load_musicnn",
]

_PREFIX = {"MSD_musicnn": "musicnn", "MTT_musicnn": "musicnn_mtt"}
N_EMBEDDING = 200


@lru_cache(maxsize=len(MODELS))
def load_musicnn(model: str = "MSD_musicnn") -> MusiCNN:
    """Load the PyTorch port of a published musicnn model with its weights, in eval mode.

    Loaded once per process (converted weights are cached on disk, see ``_weights``).
    """
    from ._model import MusiCNN, tf_to_state_dict

    net = MusiCNN()
    net.load_state_dict(tf_to_state_dict(load_weights(model)), strict=True)
    net.eval()
    for param in net.parameters():
        param.requires_grad_(False)
    return net


@contextmanager
def _torch_threads(n_threads: int | None) -> Iterator[None]:
    import torch

    if n_threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _check_args(sr: int, batch_size: int, n_threads: int | None) -> None:
    if not isinstance(sr, (int, np.integer)) or sr <= 0:
        raise ParameterError(f"sr must be a positive integer. Got {sr!r} instead.")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ParameterError(f"batch_size must be a positive integer. Got {batch_size!r} instead.")
    if n_threads is not None and (not isinstance(n_threads, (int, np.integer)) or n_threads < 1):
        raise ParameterError(f"n_threads must be a positive integer or None. Got {n_threads!r} instead.")


def _run(x: np.ndarray, model: str, batch_size: int, n_threads: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Tag probabilities ``(n, 50)`` and embeddings ``(n, 200)`` of log-mel patches ``x``."""
    import torch

    net = load_musicnn(model)
    probs, embs = [], []
    with _torch_threads(n_threads), torch.inference_mode():
        for start in range(0, len(x), batch_size):
            logits, pen = net(torch.from_numpy(x[start : start + batch_size]))
            probs.append(torch.sigmoid(logits).numpy())
            embs.append(pen.numpy())
    return np.concatenate(probs), np.concatenate(embs)


def musicnn_predict(
    y: np.ndarray,
    sr: int,
    *,
    model: str = "MSD_musicnn",
    batch_size: int = 16,
    n_threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Taggram and penultimate embeddings of a signal, patch by patch, as musicnn's ``extractor``.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono signal (resampled to 16 kHz inside with soxr_hq).
    sr : int
        Sample rate of ``y``.
    model : {"MSD_musicnn", "MTT_musicnn"}
        Which published model.
    batch_size : int
        Patches per forward pass.
    n_threads : int or None
        Torch intra-op threads for this call (restored afterwards); ``None`` keeps torch's
        setting (inside joblib workers that is already limited to cores / n_jobs).

    Returns
    -------
    taggram : np.ndarray [shape=(n_patches, 50)]
        Sigmoid tag probabilities per 3 s patch (tag names: ``model_labels(model)``).
    embeddings : np.ndarray [shape=(n_patches, 200)]
        The penultimate layer (after its batch norm), musicnn's ``features["penultimate"]``.

    Notes
    -----
    Patches are consecutive, non-overlapping 187-frame (2.99 s) windows; the remainder is dropped.
    A signal shorter than one patch is repeated to fill one (see ``_frontend``).
    """
    _check_args(sr, batch_size, n_threads)
    if model not in MODELS:
        raise ParameterError(f"model must be one of {', '.join(MODELS)}. Got {model!r} instead.")
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1 or y.size == 0:
        raise ParameterError(f"y must be a non-empty 1-D signal. Got shape {y.shape} instead.")
    x = _frontend.patches(_frontend.log_mel(_frontend.to_16k(y, sr)))
    return _run(x, model, batch_size, n_threads)


def _slug(label: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", label.lower()).strip("_")


@lru_cache(maxsize=len(MODELS))
def _columns(model: str) -> tuple[str, ...]:
    prefix = _PREFIX[model]
    emb = [f"{prefix}_emb{i:03d}_{stat}" for i in range(N_EMBEDDING) for stat in ("mean", "std")]
    tags = [f"{prefix}_tag_{_slug(label)}" for label in model_labels(model)]
    columns = tuple(emb + tags)
    if len(set(columns)) != len(columns):  # pragma: no cover - guards the tag slugs
        raise AssertionError(f"duplicate musicnn column names for {model}")
    return columns


def musicnn_columns(model: str = "MSD_musicnn") -> list[str]:
    """Column names of the ``musicnn`` (``MSD_musicnn``) or ``musicnn_mtt`` feature set.

    ``<prefix>_emb000_mean, <prefix>_emb000_std, ..., <prefix>_emb199_std`` (mean and standard
    deviation over patches of the 200-d penultimate embedding), then ``<prefix>_tag_<tag>`` for the
    50 tags (mean probability over patches; tag names lower-cased, non-alphanumerics -> ``_``,
    e.g. ``musicnn_tag_hip_hop``), with ``<prefix>`` ``musicnn`` or ``musicnn_mtt``.
    """
    if model not in MODELS:
        raise ParameterError(f"model must be one of {', '.join(MODELS)}. Got {model!r} instead.")
    return list(_columns(model))


def _summarise(taggram: np.ndarray, emb: np.ndarray, model: str) -> dict[str, float]:
    stats = np.stack([emb.mean(axis=0), emb.std(axis=0)], axis=1).ravel()
    values = np.concatenate([stats, taggram.mean(axis=0)]).astype(np.float64)
    return dict(zip(_columns(model), values.tolist(), strict=True))


def _features(y: np.ndarray, sr: int, model: str, batch_size: int, n_threads: int | None) -> dict[str, float]:
    taggram, emb = musicnn_predict(y, sr, model=model, batch_size=batch_size, n_threads=n_threads)
    return _summarise(taggram, emb, model)


def _features_batch(
    Y: np.ndarray, sr: int, model: str, batch_size: int, n_threads: int | None
) -> list[Mapping[str, float]]:
    _check_args(sr, batch_size, n_threads)
    Y = np.asarray(Y, dtype=np.float32)
    if Y.ndim != 2 or Y.shape[1] == 0:
        raise ParameterError(f"Y must be a 2-D array of equal-length signals. Got shape {Y.shape} instead.")
    if len(Y) == 0:
        return []
    reps = _frontend.log_mel(_frontend.to_16k(Y, sr))  # (n, t, 96)
    per_row = [_frontend.patches(rep) for rep in reps]
    taggram, emb = _run(np.concatenate(per_row), model, batch_size, n_threads)
    bounds = np.cumsum([0] + [len(p) for p in per_row])
    return [_summarise(taggram[a:b], emb[a:b], model) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def musicnn_features(
    y: np.ndarray, sr: int, *, batch_size: int = 16, n_threads: int | None = None
) -> dict[str, float]:
    """Compute the ``musicnn`` set: MSD-trained musicnn embedding statistics and tag probabilities.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono float signal, any length (shorter than 3 s is repeated to one patch).
    sr : int
        Sample rate of ``y`` (resampled to 16 kHz inside).
    batch_size : int
        Patches per forward pass.
    n_threads : int or None
        Torch threads for this call (``None``: torch's current setting).

    Returns
    -------
    features : dict of str to float
        450 columns, see :func:`musicnn_columns`: ``musicnn_emb000_mean`` ... ``musicnn_emb199_std``
        (the std is 0 for a single patch) then ``musicnn_tag_rock`` ... ``musicnn_tag_happy``.

    Examples
    --------
    >>> import numpy as np
    >>> sr = 22050
    >>> y = 0.3 * np.sin(2 * np.pi * 440 * np.arange(4 * sr) / sr).astype(np.float32)
    >>> feats = musicnn_features(y, sr)  # doctest: +SKIP
    >>> len(feats), 0 <= feats["musicnn_tag_rock"] <= 1  # doctest: +SKIP
    (450, True)
    """
    return _features(y, sr, "MSD_musicnn", batch_size, n_threads)


def musicnn_mtt_features(
    y: np.ndarray, sr: int, *, batch_size: int = 16, n_threads: int | None = None
) -> dict[str, float]:
    """Compute the ``musicnn_mtt`` set: :func:`musicnn_features` with the MagnaTagATune model.

    Columns are prefixed ``musicnn_mtt_`` (tags: ``musicnn_mtt_tag_guitar`` ...
    ``musicnn_mtt_tag_choral``).
    """
    return _features(y, sr, "MTT_musicnn", batch_size, n_threads)


def musicnn_features_batch(
    Y: np.ndarray, sr: int, *, batch_size: int = 16, n_threads: int | None = None
) -> list[Mapping[str, float]]:
    """Compute :func:`musicnn_features` for each row of ``Y`` [shape=(n_signals, n)], batched."""
    return _features_batch(Y, sr, "MSD_musicnn", batch_size, n_threads)


def musicnn_mtt_features_batch(
    Y: np.ndarray, sr: int, *, batch_size: int = 16, n_threads: int | None = None
) -> list[Mapping[str, float]]:
    """Compute :func:`musicnn_mtt_features` for each row of ``Y`` [shape=(n_signals, n)]."""
    return _features_batch(Y, sr, "MTT_musicnn", batch_size, n_threads)
