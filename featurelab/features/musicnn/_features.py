"""Feature-set functions: musicnn embeddings and tag probabilities summarised over 3 s patches.

The embedding of each patch is pooled over the patches of a signal with the statistics of ``pool``
(``mean``, ``std``, ``max``; default mean and std); tag probabilities are always averaged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from ...exceptions import ParameterError
from . import _frontend
from ._weights import MODELS, architecture, load_weights, model_labels

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Sequence

    from torch import nn

__all__ = [
    "musicnn_features",
    "musicnn_features_batch",
    "musicnn_mtt_features",
    "musicnn_mtt_features_batch",
    "musicnn_columns",
    "musicnn_predict",
    "load_musicnn",
]

#: Column prefix of each model's feature sets (no prefix is the start of another's columns).
_PREFIX = {
    "MSD_musicnn": "musicnn",
    "MTT_musicnn": "musicnn_mtt",
    "MSD_vgg": "musicnn_vgg",
    "MTT_vgg": "musicnn_mtt_vgg",
}
#: Embedding size of each architecture: musicnn's penultimate dense layer, vgg's flattened pool5.
_N_EMBEDDING = {"musicnn": 200, "vgg": 256}
#: Pooling statistics over patches, in column order.
_POOLS = {"mean": np.mean, "std": np.std, "max": np.max}
DEFAULT_POOL = ("mean", "std")


@lru_cache(maxsize=len(MODELS))
def load_musicnn(model: str = "MSD_musicnn") -> nn.Module:
    """Load the PyTorch port of a published model (musicnn or vgg) with its weights, in eval mode.

    Loaded once per process (converted weights are cached on disk, see ``_weights``).
    """
    if architecture(model) == "vgg":
        from ._vgg import VGG as Net
        from ._vgg import tf_to_state_dict
    else:
        from ._model import MusiCNN as Net
        from ._model import tf_to_state_dict

    net = Net()
    net.load_state_dict(tf_to_state_dict(load_weights(model)), strict=True)
    net.eval()
    for param in net.parameters():
        param.requires_grad_(False)
    return net


def _check_args(sr: int, batch_size: int, n_threads: int | None, model: str) -> None:
    from ..._validation import Integral, check_scalar

    architecture(model)  # a clear error for an unknown model
    check_scalar(sr, "sr", Integral, min_val=1)
    check_scalar(batch_size, "batch_size", Integral, min_val=1)
    check_scalar(n_threads, "n_threads", Integral, min_val=1, allow_none=True)


def _check_pool(pool: str | Sequence[str]) -> tuple[str, ...]:
    """Validate ``pool`` (``"mean,max"`` or a sequence); return its statistics in column order."""
    try:
        names = [part.strip() for part in pool.split(",")] if isinstance(pool, str) else list(pool)
    except TypeError:
        names = []
    valid = all(isinstance(name, str) and name in _POOLS for name in names)
    if not names or not valid or len(set(names)) != len(names):
        raise ParameterError(
            f"pool must list one or more distinct statistics among {', '.join(_POOLS)}. Got {pool!r} instead."
        )
    return tuple(name for name in _POOLS if name in names)


def _run(x: np.ndarray, model: str, batch_size: int, n_threads: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Tag probabilities ``(n, 50)`` and embeddings ``(n, 200 or 256)`` of log-mel patches ``x``."""
    from ...nn._torch import torch_threads

    net = load_musicnn(model)
    probs, embs = [], []
    with torch_threads(n_threads) as torch, torch.inference_mode():
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
    """Taggram and embeddings of a signal, patch by patch, as musicnn's ``extractor``.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono signal (resampled to 16 kHz inside with soxr_hq).
    sr : int
        Sample rate of ``y``.
    model : {"MSD_musicnn", "MTT_musicnn", "MSD_vgg", "MTT_vgg"}
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
    embeddings : np.ndarray [shape=(n_patches, 200) or (n_patches, 256)]
        The layer before the tag logits: for musicnn models the 200-d penultimate dense layer
        (after its batch norm, the original's ``features["penultimate"]``); for vgg models the
        flattened last pooling map (``features["pool5"]``, 2 time positions x 128 channels).

    Notes
    -----
    Patches are consecutive, non-overlapping 187-frame (2.99 s) windows; the remainder is dropped.
    A signal shorter than one patch is repeated to fill one (see ``_frontend``).
    """
    _check_args(sr, batch_size, n_threads, model)
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1 or y.size == 0:
        raise ParameterError(f"y must be a non-empty 1-D signal. Got shape {y.shape} instead.")
    x = _frontend.patches(_frontend.log_mel(_frontend.to_16k(y, sr)))
    return _run(x, model, batch_size, n_threads)


def _slug(label: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", label.lower()).strip("_")


@lru_cache(maxsize=4 * len(MODELS))
def _columns(model: str, pool: tuple[str, ...]) -> tuple[str, ...]:
    prefix = _PREFIX[model]
    n_emb = _N_EMBEDDING[architecture(model)]
    emb = [f"{prefix}_emb{i:03d}_{stat}" for i in range(n_emb) for stat in pool]
    tags = [f"{prefix}_tag_{_slug(label)}" for label in model_labels(model)]
    columns = tuple(emb + tags)
    if len(set(columns)) != len(columns):  # pragma: no cover - guards the tag slugs
        raise AssertionError(f"duplicate musicnn column names for {model}")
    return columns


def musicnn_columns(model: str = "MSD_musicnn", pool: str | Sequence[str] = DEFAULT_POOL) -> list[str]:
    """Column names of the feature set of ``model`` with the pooling statistics ``pool``.

    ``<prefix>_emb000_<stat>, ..., <prefix>_emb<d-1>_<stat>`` (the statistics of ``pool`` over
    patches, in the order mean, std, max, of each dimension of the d-dimensional embedding: 200 for
    musicnn, 256 for vgg models), then ``<prefix>_tag_<tag>`` for the 50 tags (mean probability
    over patches; tag names lower-cased, non-alphanumerics -> ``_``, e.g. ``musicnn_tag_hip_hop``).
    ``<prefix>`` is ``musicnn`` (MSD_musicnn), ``musicnn_mtt`` (MTT_musicnn), ``musicnn_vgg``
    (MSD_vgg) or ``musicnn_mtt_vgg`` (MTT_vgg).

    Examples
    --------
    >>> musicnn_columns()[:3]  # doctest: +SKIP
    ['musicnn_emb000_mean', 'musicnn_emb000_std', 'musicnn_emb001_mean']
    >>> len(musicnn_columns("MSD_vgg", pool="mean,std,max"))  # doctest: +SKIP
    818
    """
    architecture(model)
    return list(_columns(model, _check_pool(pool)))


def _summarise(taggram: np.ndarray, emb: np.ndarray, model: str, pool: tuple[str, ...]) -> dict[str, float]:
    stats = np.stack([_POOLS[stat](emb, axis=0) for stat in pool], axis=1).ravel()
    values = np.concatenate([stats, taggram.mean(axis=0)]).astype(np.float64)
    return dict(zip(_columns(model, pool), values.tolist(), strict=True))


def musicnn_features(
    y: np.ndarray,
    sr: int,
    *,
    model: str = "MSD_musicnn",
    pool: str | Sequence[str] = DEFAULT_POOL,
    batch_size: int = 16,
    n_threads: int | None = None,
) -> dict[str, float]:
    """Compute a musicnn feature set: embedding statistics over 3 s patches and tag probabilities.

    With the defaults this is the ``musicnn`` set (MSD-trained musicnn, mean and std).

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono float signal, any length (shorter than 3 s is repeated to one patch).
    sr : int
        Sample rate of ``y`` (resampled to 16 kHz inside).
    model : {"MSD_musicnn", "MTT_musicnn", "MSD_vgg", "MTT_vgg"}
        Which published model (see :func:`musicnn_predict` for its embedding).
    pool : str or sequence of str
        Statistics of the embedding over patches, among ``"mean"``, ``"std"`` and ``"max"``
        (``"mean,std,max"`` or a sequence); columns always follow the order mean, std, max.
    batch_size : int
        Patches per forward pass.
    n_threads : int or None
        Torch threads for this call (``None``: torch's current setting).

    Returns
    -------
    features : dict of str to float
        ``d * len(pool) + 50`` columns, see :func:`musicnn_columns`. With the defaults 450:
        ``musicnn_emb000_mean`` ... ``musicnn_emb199_std`` (the std is 0 for a single patch) then
        ``musicnn_tag_rock`` ... ``musicnn_tag_happy``.

    Examples
    --------
    >>> import numpy as np
    >>> sr = 22050
    >>> y = 0.3 * np.sin(2 * np.pi * 440 * np.arange(4 * sr) / sr).astype(np.float32)
    >>> feats = musicnn_features(y, sr)  # doctest: +SKIP
    >>> len(feats), 0 <= feats["musicnn_tag_rock"] <= 1  # doctest: +SKIP
    (450, True)
    >>> len(musicnn_features(y, sr, model="MSD_vgg", pool="mean,std,max"))  # doctest: +SKIP
    818
    """
    pool = _check_pool(pool)
    taggram, emb = musicnn_predict(y, sr, model=model, batch_size=batch_size, n_threads=n_threads)
    return _summarise(taggram, emb, model, pool)


def musicnn_features_batch(
    Y: np.ndarray,
    sr: int,
    *,
    model: str = "MSD_musicnn",
    pool: str | Sequence[str] = DEFAULT_POOL,
    batch_size: int = 16,
    n_threads: int | None = None,
) -> list[Mapping[str, float]]:
    """Compute :func:`musicnn_features` for each row of ``Y`` [shape=(n_signals, n)], batched."""
    _check_args(sr, batch_size, n_threads, model)
    pool = _check_pool(pool)
    Y = np.asarray(Y, dtype=np.float32)
    if Y.ndim != 2 or Y.shape[1] == 0:
        raise ParameterError(f"Y must be a 2-D array of equal-length signals. Got shape {Y.shape} instead.")
    if len(Y) == 0:
        return []
    reps = _frontend.log_mel(_frontend.to_16k(Y, sr))  # (n, t, 96)
    per_row = [_frontend.patches(rep) for rep in reps]
    taggram, emb = _run(np.concatenate(per_row), model, batch_size, n_threads)
    bounds = np.cumsum([0] + [len(p) for p in per_row])
    return [
        _summarise(taggram[a:b], emb[a:b], model, pool) for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]


def musicnn_mtt_features(
    y: np.ndarray,
    sr: int,
    *,
    pool: str | Sequence[str] = DEFAULT_POOL,
    batch_size: int = 16,
    n_threads: int | None = None,
) -> dict[str, float]:
    """Compute the ``musicnn_mtt`` set: :func:`musicnn_features` with the MagnaTagATune model.

    Columns are prefixed ``musicnn_mtt_`` (tags: ``musicnn_mtt_tag_guitar`` ...
    ``musicnn_mtt_tag_choral``).
    """
    return musicnn_features(y, sr, model="MTT_musicnn", pool=pool, batch_size=batch_size, n_threads=n_threads)


def musicnn_mtt_features_batch(
    Y: np.ndarray,
    sr: int,
    *,
    pool: str | Sequence[str] = DEFAULT_POOL,
    batch_size: int = 16,
    n_threads: int | None = None,
) -> list[Mapping[str, float]]:
    """Compute :func:`musicnn_mtt_features` for each row of ``Y`` [shape=(n_signals, n)]."""
    return musicnn_features_batch(
        Y, sr, model="MTT_musicnn", pool=pool, batch_size=batch_size, n_threads=n_threads
    )
