"""Old import paths that keep working after a module moved (librosa's ``moved`` aliases).

A moved module keeps a thin alias at its old path::

    # featurelab/models/neural.py
    from .._moved import moved_module

    __getattr__, __dir__, __all__ = moved_module(__name__, {"make_mlp_torch": "featurelab.nn"})

``featurelab.models.neural.make_mlp_torch`` then resolves to ``featurelab.nn.make_mlp_torch`` (the
same object) and warns once per use with a :class:`FutureWarning` naming the new path. Names in
``silent`` resolve without a warning: the class paths that saved model files (skops, joblib)
record, which a user cannot change by editing code.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Collection, Mapping
from typing import Any

__all__ = ["moved_module"]


def moved_module(
    old: str, names: Mapping[str, str], *, silent: Collection[str] = ()
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """Build the ``__getattr__``, ``__dir__`` and ``__all__`` of an alias module.

    Parameters
    ----------
    old : str
        The alias module's name (its ``__name__``).
    names : mapping of str to str
        Each name the old module offered -> the module that now holds it.
    silent : collection of str
        Names that resolve without a warning.

    Returns
    -------
    __getattr__, __dir__, __all__
        For the alias module's namespace.

    Examples
    --------
    >>> get, _, _ = moved_module("old.place", {"dumps": "json"})
    >>> import json, warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     assert get("dumps") is json.dumps
    >>> str(caught[0].message)
    'old.place.dumps has moved to json.dumps; import it from there (the old path will be removed).'
    """
    table = dict(names)
    quiet = frozenset(silent)

    def __getattr__(name: str) -> Any:
        if name not in table:
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        new = table[name]
        if name not in quiet:
            warnings.warn(
                f"{old}.{name} has moved to {new}.{name}; import it from there (the old path will "
                "be removed).",
                FutureWarning,
                stacklevel=2,
            )
        return getattr(importlib.import_module(new), name)

    def __dir__() -> list[str]:
        return sorted(table)

    return __getattr__, __dir__, sorted(table)
