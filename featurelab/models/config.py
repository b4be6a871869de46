"""Search configurations: ``configs/<model>.yaml`` and ``--config FILE``.

A configuration is a YAML mapping with these keys (all optional except where noted)::

    model: svm                 # registry name
    grid: {clf__C: [1, 10]}    # or a list of such sub-grids; values may also be distributions
                               # for random search: {loguniform: [0.01, 100]}, {uniform: [a, b]},
                               # {randint: [low, high]}
    params: {clf__kernel: rbf} # fixed parameters set on the pipeline
    options: {members: [svm, lgbm]}  # keyword arguments of the model factory
    search: grid               # grid | halving | random
    n_iter: 20                 # candidates of a random search
    cv: 5                      # outer folds
    repeats: 1
    inner_cv: 3
    seed: 42
    test_size: null            # a holdout fraction instead of k-fold
    split_dir: null            # predefined train/valid/test lists
    group: auto                # auto | none | <column>
    class_weight: null         # balanced
    log_var: false
    scoring: accuracy

Precedence: command-line flag > ``--config`` file > the model's ``configs/<model>.yaml`` >
defaults. The packaged configs are read with :mod:`importlib.resources` (``featurelab/configs``).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..exceptions import ParameterError

__all__ = [
    "SearchConfig",
    "load_model_config",
    "read_config_file",
    "merge_config",
    "grid_size",
    "check_search",
    "check_scoring",
]

SEARCH_METHODS = ("grid", "halving", "random")
_DISTRIBUTIONS = ("loguniform", "uniform", "randint")


@dataclass(frozen=True)
class SearchConfig:
    """A resolved search configuration (see the module docstring for the meaning of each field)."""

    model: str = "svm"
    grid: dict[str, Any] | list[dict[str, Any]] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    search: str = "grid"
    n_iter: int = 20
    cv: int = 5
    repeats: int = 1
    inner_cv: int = 3
    seed: int = 42
    test_size: float | None = None
    split_dir: str | None = None
    group: str = "auto"
    class_weight: str | None = None
    log_var: bool = False
    scoring: str = "accuracy"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly copy."""
        return dataclasses.asdict(self)


_KEYS = tuple(f.name for f in dataclasses.fields(SearchConfig))


def read_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate the keys of a YAML configuration file.

    Raises
    ------
    ParameterError
        The file is missing, is not YAML, is not a mapping or has unknown keys.
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"Config file {str(path)!r} does not exist.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ParameterError(f"Config file {str(path)!r} is not valid YAML: {error}") from None
    return _check_keys(data or {}, str(path))


def _check_keys(data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise ParameterError(f"Config {where!r} must be a YAML mapping. Got {type(data).__name__}.")
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise ParameterError(
            f"Config {where!r} has unknown keys: {', '.join(unknown)}. Valid keys are {', '.join(_KEYS)}."
        )
    grid = data.get("grid")
    if grid is not None and not isinstance(grid, (Mapping, list)):
        raise ParameterError(
            f"grid in {where!r} must be a mapping or a list of mappings. Got {grid!r} instead."
        )
    return dict(data)


def packaged_config(name: str) -> Any:
    """Return the packaged ``featurelab/configs/<name>.yaml`` (a :mod:`importlib.resources` path).

    The repository's top-level ``configs/`` folder shows the same files (it points into the
    package), for users to read and copy.
    """
    return resources.files("featurelab").joinpath("configs", f"{name}.yaml")


def load_model_config(name: str) -> SearchConfig:
    """Load the packaged default configuration ``configs/<name>.yaml`` of a registry model.

    Parameters
    ----------
    name : str
        A model name; a model without a config file gets an empty grid.

    Returns
    -------
    SearchConfig
    """
    import yaml

    data: dict[str, Any] = {}
    resource = packaged_config(name)
    if resource.is_file():
        data = _check_keys(yaml.safe_load(resource.read_text(encoding="utf-8")) or {}, name)
    data["model"] = name
    return merge_config(SearchConfig(), data)


def merge_config(base: SearchConfig, overrides: Mapping[str, Any]) -> SearchConfig:
    """Return ``base`` updated with the non-``None`` values of ``overrides`` (the later wins).

    ``params`` and ``options`` are merged key by key; ``grid`` is replaced as a whole.
    """
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        if key not in _KEYS:
            raise ParameterError(f"Unknown config key {key!r}. Valid keys are {', '.join(_KEYS)}.")
        if value is None and key not in ("test_size", "split_dir", "class_weight"):
            continue
        if key in ("params", "options"):
            value = {**getattr(base, key), **dict(value or {})}
        changes[key] = value
    config = dataclasses.replace(base, **changes)
    _validate(config)
    return config


def check_search(search: Any) -> None:
    """Raise :class:`ParameterError` unless ``search`` is one of :data:`SEARCH_METHODS`."""
    if search not in SEARCH_METHODS:
        raise ParameterError(f"search must be one of {', '.join(SEARCH_METHODS)}. Got {search!r} instead.")


def check_scoring(scoring: Any) -> None:
    """Raise :class:`ParameterError` unless ``scoring`` names a scikit-learn scorer.

    Examples
    --------
    >>> check_scoring("f1_macro")
    >>> check_scoring("bogus")
    Traceback (most recent call last):
    ...
    featurelab.exceptions.ParameterError: scoring must be a scikit-learn scorer name, such as ...
    """
    from sklearn.metrics import get_scorer_names

    if not isinstance(scoring, str) or scoring not in get_scorer_names():
        raise ParameterError(
            "scoring must be a scikit-learn scorer name, such as accuracy, balanced_accuracy, "
            "f1_macro or neg_log_loss (sklearn.metrics.get_scorer_names() lists them all). Got "
            f"{str(scoring)[:60]!r} instead."
        )


def _validate(config: SearchConfig) -> None:
    from numbers import Integral, Real

    from .._validation import StrOptions, check_scalar, validate_params

    check_search(config.search)
    check_scoring(config.scoring)
    validate_params(
        {"class_weight": config.class_weight},
        {"class_weight": [StrOptions({"balanced"}), dict, None]},
        caller="the search configuration",
    )
    for key, low in (("n_iter", 1), ("cv", 2), ("repeats", 1), ("inner_cv", 2)):
        check_scalar(getattr(config, key), key, Integral, min_val=low)
    bounds = dict(min_val=0, max_val=1, include_boundaries="neither", allow_none=True)
    check_scalar(config.test_size, "test_size", Real, **bounds)
    if config.test_size is not None and config.split_dir is not None:
        raise ParameterError("test_size and split_dir are exclusive protocols; choose one.")


def resolve_grid(grid: Any, *, search: str) -> Any:
    """Turn YAML grid values into what scikit-learn's searches take.

    Lists stay lists; ``{loguniform: [a, b]}`` / ``{uniform: [a, b]}`` / ``{randint: [a, b]}``
    become :mod:`scipy.stats` distributions, which only random (and halving-random) search accept.

    Raises
    ------
    ParameterError
        A value is neither a list nor a known distribution, or a distribution is used with grid
        search.
    """
    if isinstance(grid, list):
        return [resolve_grid(sub, search=search) for sub in grid]
    out: dict[str, Any] = {}
    for key, values in dict(grid).items():
        if isinstance(values, Mapping):
            if len(values) != 1 or next(iter(values)) not in _DISTRIBUTIONS:
                raise ParameterError(
                    f"Grid value of {key!r} must be a list or one of "
                    f"{{{', '.join(_DISTRIBUTIONS)}: [low, high]}}. Got {dict(values)!r} instead."
                )
            if search == "grid":
                raise ParameterError(
                    f"Grid value of {key!r} is a distribution, which grid search cannot take. "
                    "Use --search random or --search halving, or list the values."
                )
            out[key] = _distribution(*next(iter(values.items())), key)
        elif isinstance(values, (list, tuple)):
            if not values:
                raise ParameterError(f"Grid value of {key!r} must list at least one value.")
            out[key] = [
                tuple(v) if key.endswith("hidden_layer_sizes") and isinstance(v, list) else v for v in values
            ]
        else:
            out[key] = [values]
    return out


def _distribution(kind: str, bounds: Any, key: str = "") -> Any:
    from numbers import Integral, Real

    from scipy import stats

    number = Integral if kind == "randint" else Real
    valid = (
        isinstance(bounds, (list, tuple))
        and len(bounds) == 2
        and all(isinstance(b, number) and not isinstance(b, bool) and math.isfinite(b) for b in bounds)
    )
    if valid:
        low, high = bounds
        valid = (low < high or (kind == "randint" and low == high)) and (kind != "loguniform" or low > 0)
    if not valid:
        need = {
            "loguniform": "two numbers 0 < low < high",
            "uniform": "two numbers low < high",
            "randint": "two integers low <= high",
        }[kind]
        raise ParameterError(
            f"Grid value of {key!r}: {kind} needs [low, high] with {need}. Got {bounds!r} instead."
        )
    if kind == "loguniform":
        return stats.loguniform(low, high)
    if kind == "uniform":
        return stats.uniform(low, high - low)
    return stats.randint(low, high + 1)


def grid_size(grid: Any) -> int | None:
    """Count the candidates of a grid; ``None`` when it holds distributions (infinite)."""
    if isinstance(grid, list):
        sizes = [grid_size(sub) for sub in grid]
        return None if any(size is None for size in sizes) else sum(sizes)  # type: ignore[misc]
    total = 1
    for values in dict(grid).values():
        if not isinstance(values, (list, tuple)):
            return None
        total *= len(values)
    return total
