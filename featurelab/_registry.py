"""One registry for named, lazily imported components (feature sets, models).

A component is declared with its name, a one-line description and ``"module:attribute"`` strings for
its implementation, so listing the components (``--help``, error messages) never imports the heavy
libraries behind them. :class:`Registry` is the single source of truth for the valid names: an
unknown name is answered with the list of valid ones.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from .exceptions import ParameterError

__all__ = ["Component", "Registry", "import_object"]


def import_object(spec: str) -> Any:
    """Import ``"package.module:attribute"`` and return the attribute."""
    module_name, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module_name), attr)


@dataclass(frozen=True)
class Component:
    """Base of registry entries: a name, a description and what it needs installed.

    Parameters
    ----------
    name : str
        Registry name (used on the command line).
    description : str
        One line shown in ``--help``, listings and error messages.
    requires : tuple of str
        Importable modules the component needs (checked before it is used, to fail with a hint).
    extra : str or None
        The pip extra that provides ``requires`` (for the install hint).
    install_hint : str or None
        The exact install command to show when ``requires`` are missing (overrides ``extra``).
    """

    #: What the component is called in messages ("Model", "Feature set").
    kind: ClassVar[str] = "Component"

    name: str
    description: str
    requires: tuple[str, ...] = field(default=(), kw_only=True)
    extra: str | None = field(default=None, kw_only=True)
    install_hint: str | None = field(default=None, kw_only=True)

    def missing(self) -> list[str]:
        """Return the required modules that are not installed."""
        return [module for module in self.requires if importlib.util.find_spec(module) is None]

    @property
    def available(self) -> bool:
        """Whether every required module is installed."""
        return not self.missing()

    def hint(self) -> str:
        """Return the command that installs what the component needs."""
        if self.install_hint:
            return self.install_hint
        if self.extra:
            return f"pip install 'featurelab[{self.extra}]'"
        return "pip install " + " ".join(self.requires)

    def check_available(self) -> None:
        """Raise :class:`ParameterError` with an install hint if a required module is missing."""
        missing = self.missing()
        if missing:
            raise ParameterError(
                f"{self.kind} {self.name!r} needs the Python package {missing[0]!r}, which is not "
                f"installed. Install it with: {self.hint()}"
            )


T = TypeVar("T", bound=Component)


class Registry(Generic[T]):
    """Named components of one kind, in registration order.

    Parameters
    ----------
    param : str
        The parameter the names are given for (``"model"``), used in error messages:
        ``"model must be one of svm, lgbm. Got 'x' instead."``.
    """

    def __init__(self, param: str) -> None:
        self.param = param
        self._items: dict[str, T] = {}

    def register(self, item: T, *, replace: bool = False) -> T:
        """Add ``item``; an existing name is an error unless ``replace``."""
        if not replace and item.name in self._items:
            raise ParameterError(f"A {item.kind.lower()} named {item.name!r} is already registered.")
        self._items[item.name] = item
        return item

    def unregister(self, name: str) -> None:
        """Remove a component (no error when it is absent)."""
        self._items.pop(name, None)

    def get(self, name: str) -> T:
        """Return the component called ``name``; an unknown name lists the valid ones."""
        try:
            return self._items[name]
        except (KeyError, TypeError):
            raise ParameterError(
                f"{self.param} must be one of {', '.join(self._items)}. Got {name!r} instead."
            ) from None

    def names(self) -> list[str]:
        """Return the registered names, in registration order."""
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[T]:
        return iter(list(self._items.values()))

    def __len__(self) -> int:
        return len(self._items)
