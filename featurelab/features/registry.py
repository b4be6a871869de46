"""The feature-set registry: the single source of truth for ``--features`` and ``--backend``.

A *feature set* turns one mono signal into a flat, ordered mapping of named columns. The extraction
driver knows nothing about individual sets: it looks them up here by name, so adding a set (say a
pretrained embedding) never touches the driver.

Implementations are referenced as ``"module:function"`` strings and imported on first use, so that
listing the sets (``featurelab extract --help``) never imports heavy modules such as torch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .._registry import Component, Registry, import_object
from ..exceptions import ParameterError

__all__ = [
    "FEATURE_SETS",
    "FeatureSet",
    "register_feature_set",
    "get_feature_set",
    "available_feature_sets",
    "BACKENDS",
    "COMBINATIONS",
    "expand_feature_names",
    "resolve_feature_sets",
]

#: ``compute(y, sr, **params) -> {column: value}`` for one signal.
ComputeFn = Callable[..., Mapping[str, float]]
#: ``compute_batch(Y, sr, **params) -> [{column: value}, ...]`` for equal-length signals ``Y[i]``.
BatchFn = Callable[..., list[Mapping[str, float]]]


@dataclass(frozen=True)
class FeatureSet(Component):
    """A named group of feature columns computed from one signal.

    Parameters
    ----------
    name : str
        Registry name, used on the command line (``--features NAME``).
    description : str
        One line shown in ``--help`` and error messages.
    compute : str
        ``"module:function"`` of a function ``f(y, sr, **params) -> Mapping[str, float]``. ``y`` is a
        finite mono float32 signal of at least one sample; the function must return finite values
        (documented fallbacks for silence) and the same keys, in the same order, for every input.
    compute_batch : str or None
        Optional ``"module:function"`` of ``g(Y, sr, **params) -> list[Mapping]`` computing the same
        columns for each row of a 2-D array of equal-length signals (used for segment tables).
    version : str
        Bumped whenever the definition of a column changes; part of the resume-cache key.
    defaults : mapping
        Keyword arguments passed to the compute functions.
    n_columns : int or None
        How many columns the set makes (listed by ``featurelab extract --list-features`` without
        importing the implementation); ``None``: not declared.
    requires, extra, install_hint
        What the set needs installed (see :class:`featurelab._registry.Component`).
    """

    kind: ClassVar[str] = "Feature set"

    compute: str
    compute_batch: str | None = None
    version: str = "1"
    defaults: Mapping[str, Any] = field(default_factory=dict)
    n_columns: int | None = field(default=None, kw_only=True)

    def load(self) -> ComputeFn:
        """Import and return the compute function."""
        return import_object(self.compute)

    def load_batch(self) -> BatchFn | None:
        """Import and return the batch function, or ``None`` when the set has none."""
        return import_object(self.compute_batch) if self.compute_batch else None

    def __call__(self, y: np.ndarray, sr: int, **params: Any) -> Mapping[str, float]:
        """Compute the set on one signal."""
        return self.load()(y, sr, **{**self.defaults, **params})


#: The registered feature sets (``--features`` names).
FEATURE_SETS: Registry[FeatureSet] = Registry("features")


def register_feature_set(feature_set: FeatureSet, *, replace: bool = False) -> FeatureSet:
    """Add a feature set to the registry.

    Parameters
    ----------
    feature_set : FeatureSet
        The set to add.
    replace : bool
        Allow replacing a set of the same name.
    """
    return FEATURE_SETS.register(feature_set, replace=replace)


def available_feature_sets() -> list[str]:
    """Names of the registered feature sets, in registration order."""
    return FEATURE_SETS.names()


def get_feature_set(name: str) -> FeatureSet:
    """Look a feature set up by name; unknown names list the valid ones."""
    return FEATURE_SETS.get(name)


#: ``--backend`` -> the feature sets it stands for.
BACKENDS: dict[str, tuple[str, ...]] = {
    "librosa": ("gtzan",),
    "pyaudioanalysis": ("pyaudioanalysis",),
}


#: Named combinations of feature sets: ``--features NAME`` stands for these sets, in this order
#: (tables and sidecars record the sets themselves, so a combination can change without making
#: stored tables ambiguous).
COMBINATIONS: dict[str, tuple[str, ...]] = {
    # The best of the shift benchmark (bench/shift_bench.py): held-out tracks as short clips at
    # random gain and with noise, see README "How well does it generalize?".
    "generalize": ("gtzan", "musicnn", "musicnn_vgg"),
}


def expand_feature_names(names: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Replace each named combination in ``names`` by its sets; reject a set named twice.

    Parameters
    ----------
    names : sequence of str
        Feature-set or combination names.

    Returns
    -------
    tuple of str
        Feature-set names in column order.

    Raises
    ------
    ParameterError
        A set is named twice (directly or through a combination).

    Examples
    --------
    >>> expand_feature_names(["generalize"])
    ('gtzan', 'musicnn', 'musicnn_vgg')
    >>> expand_feature_names(["generalize", "contrast"])
    ('gtzan', 'musicnn', 'musicnn_vgg', 'contrast')
    """
    expanded = tuple(part for name in names for part in COMBINATIONS.get(name, (name,)))
    if len(set(expanded)) != len(expanded):
        raise ParameterError(f"features lists a set twice: {','.join(expanded)}.")
    return expanded


def resolve_feature_sets(
    features: str | list[str] | tuple[str, ...] | None = None, backend: str = "librosa"
) -> list[FeatureSet]:
    """Turn ``--features``/``--backend`` into a list of :class:`FeatureSet`.

    Parameters
    ----------
    features : str or sequence of str or None
        Comma-separated names (``"gtzan,contrast"``) or a sequence, where a named combination
        (:data:`COMBINATIONS`) stands for its sets; ``None`` uses the backend's set.
    backend : {"librosa", "pyaudioanalysis"}
        Used when ``features`` is ``None``.
    """
    if backend not in BACKENDS:
        raise ParameterError(f"backend must be one of {', '.join(BACKENDS)}. Got {backend!r} instead.")
    if features is None:
        names: list[str] = list(BACKENDS[backend])
    elif isinstance(features, str):
        names = [part.strip() for part in features.split(",") if part.strip()]
    else:
        names = [str(part).strip() for part in features]
    if not names:
        raise ParameterError("features must name at least one feature set. Got an empty list.")
    sets = [get_feature_set(name) for name in expand_feature_names(names)]
    for feature_set in sets:
        feature_set.check_available()
    return sets
