"""A light reader of the skops files of featurelab's common models (no ``import skops.io``).

``import skops.io`` costs seconds: it lists every scikit-learn estimator (importing all of
scikit-learn, and torch and dask where they are installed) to build its default trusted types. A
``featurelab predict`` of an SVM needs none of that. This module reads a skops archive itself, but
only when *every* node of the file is of a kind it knows (dicts, lists, tuples, JSON values, numpy
arrays, types and plain objects, in skops protocol 2) and of a type in an explicit allowlist that is a
subset of what :func:`featurelab.models.persist.load_model` trusts through skops (skops's defaults plus
:data:`~featurelab.models.persist.TRUSTED_TYPES`; ``tests/test_models_persist.py`` checks the
inclusion against skops's own lists). It then builds the objects exactly as skops's nodes do
(``cls.__new__`` then ``__setstate__``; arrays with ``numpy.load(allow_pickle=False)``), importing a
module only for a type of the allowlist, and only after the whole file has been checked.

Anything else -- another node kind or protocol, a type outside the allowlist, a damaged archive, an
error while building -- returns ``None``, and the caller loads the file with skops as before (which
refuses untrusted types and words the errors). So this is an optimisation with skops's outcome:
it never accepts a file that the skops path would refuse.
"""

from __future__ import annotations

import importlib
import io
import json
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ._light import LightObject

#: skops protocols whose node semantics this reader mirrors (skops 0.10-0.16 write 2).
PROTOCOLS = (2,)

#: scikit-learn estimators of featurelab's models that skops trusts by default and that this reader
#: may build (``ObjectNode``); each is in skops's ``SKLEARN_ESTIMATOR_TYPE_NAMES``.
SKLEARN_OBJECTS = (
    "sklearn.calibration.CalibratedClassifierCV",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.neighbors._classification.KNeighborsClassifier",
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._label.LabelEncoder",
    "sklearn.svm._classes.SVC",
)

#: Packages whose types a light read builds (cheap to import, present anyway).
_LIGHT_MODULES = ("builtins", "collections", "numpy")

_PRIMITIVES = ("builtins.int", "builtins.float", "builtins.str", "builtins.bool")
_CONTAINERS = ("builtins.list", "builtins.set", "builtins.map", "builtins.tuple")


class _Unsupported(Exception):
    """The file needs skops itself (an unknown node kind, protocol or type)."""


def numpy_dtype_names() -> frozenset[str]:
    """Names of numpy's scalar types (``numpy.float64``, ...), as skops trusts them by default."""
    import numpy as np

    return frozenset(
        name for t in np.sctypeDict.values() if (name := f"{t.__module__}.{t.__name__}").startswith("numpy")
    )


def allowlist(trusted_types: Iterable[str]) -> dict[str, frozenset[str]]:
    """Types this reader builds, per skops node kind (each kind's skops defaults or fewer).

    Parameters
    ----------
    trusted_types : iterable of str
        featurelab's :data:`~featurelab.models.persist.TRUSTED_TYPES`, accepted in every node
        kind as :func:`~featurelab.models.persist.load_model` accepts them.
    """
    extra = frozenset(trusted_types)
    dtypes = numpy_dtype_names()
    return {
        "DictNode": frozenset({"builtins.dict", "collections.OrderedDict"}) | extra,
        "ListNode": frozenset({"builtins.list"}) | extra,
        "TupleNode": frozenset({"builtins.tuple"}) | extra,
        "TypeNode": frozenset(_PRIMITIVES + _CONTAINERS) | dtypes | extra,
        "NdArrayNode": frozenset({"numpy.ndarray"}) | dtypes | extra,
        "ObjectNode": frozenset(SKLEARN_OBJECTS) | extra,
        "CachedNode": extra,
    }


def _gettype(module: str, name: str) -> Any:
    return getattr(importlib.import_module(module), name)


class _Reader:
    """Checks a schema tree (``check``), then builds it (``build``), as skops's nodes do."""

    def __init__(
        self, archive: zipfile.ZipFile, allowed: dict[str, frozenset[str]], light: bool = False
    ) -> None:
        self.archive, self.allowed, self.light = archive, allowed, light
        self.states: dict[Any, dict[str, Any]] = {}  # __id__ -> the first state with that id
        self.built: dict[int, Any] = {}  # id(state) -> object

    # -- audit: nothing is imported or constructed here
    def check(self, state: Any) -> None:
        if not isinstance(state, dict):
            raise _Unsupported("a node that is not an object")
        saved_id = state.get("__id__")
        loader = state.get("__loader__")
        name = f"{state.get('__module__')}.{state.get('__class__')}"
        if loader == "CachedNode":  # skops trusts no type by default for these
            if saved_id not in self.states or name not in self.allowed["CachedNode"]:
                raise _Unsupported("a cached node")
            return
        if saved_id is not None and saved_id in self.states:
            return  # skops reuses the first node with this id
        if saved_id:
            self.states[saved_id] = state
        if loader == "JsonNode":
            if not isinstance(state.get("content"), str):
                raise _Unsupported("a JSON node without content")
            return
        if name not in self.allowed.get(loader, ()):  # type: ignore[arg-type]
            raise _Unsupported(f"{loader} {name}")
        content = state.get("content")
        if loader == "DictNode":
            if not isinstance(content, dict):
                raise _Unsupported("a dict node without content")
            self.check(state["key_types"])
            for value in content.values():
                self.check(value)
        elif loader in ("ListNode", "TupleNode"):
            if not isinstance(content, list):
                raise _Unsupported("a sequence node without content")
            for value in content:
                self.check(value)
        elif loader == "NdArrayNode":
            if state.get("type") == "numpy":
                if not isinstance(state.get("file"), str):
                    raise _Unsupported("an array node without file")
            elif state.get("type") == "json" and isinstance(content, list):
                self.check(state["shape"])
                for value in content:
                    self.check(value)
            else:
                raise _Unsupported("an array node of unknown type")
        elif loader == "ObjectNode" and content is not None:
            self.check(content)

    # -- construction (skops's ``_construct`` of each node kind)
    def build(self, state: dict[str, Any]) -> Any:
        if state["__loader__"] == "CachedNode" or (
            state.get("__id__") is not None and self.states.get(state["__id__"]) is not state
        ):
            state = self.states[state["__id__"]]
        key = id(state)
        if key not in self.built:
            self.built[key] = self._construct(state)
        return self.built[key]

    def _construct(self, state: dict[str, Any]) -> Any:
        loader, content = state["__loader__"], state.get("content")
        if loader == "JsonNode":
            return json.loads(content)
        module, name = state["__module__"], state["__class__"]
        if self.light and module.partition(".")[0] not in _LIGHT_MODULES:
            # light: objects of other packages stay unbuilt (nothing of theirs is imported)
            if loader != "ObjectNode":
                raise _Unsupported(f"{loader} {module}.{name} in a light read")
            attrs = self.build(content) if content is not None else {}
            if not isinstance(attrs, dict):
                raise _Unsupported("an object whose state is not a dict")
            return LightObject(f"{module}.{name}", attrs)
        cls = _gettype(module, name)
        if loader == "TypeNode":
            return cls
        if loader == "DictNode":
            result = cls()
            key_types = self.build(state["key_types"])
            for key_type, (key, value) in zip(key_types, content.items(), strict=False):  # as skops
                result[key_type(key)] = self.build(value)
            return result
        if loader == "ListNode":
            return cls([self.build(value) for value in content])
        if loader == "TupleNode":
            values = tuple(self.build(value) for value in content)
            fields = getattr(cls, "_fields", None)
            is_namedtuple = (
                cls.__bases__ == (tuple,)
                and isinstance(fields, tuple)
                and all(isinstance(f, str) for f in fields)
            )
            return cls(*values) if is_namedtuple else values
        if loader == "NdArrayNode":
            import numpy as np

            if state["type"] == "numpy":
                array = np.load(io.BytesIO(self.archive.read(state["file"])), allow_pickle=False)
                return array if cls is np.ndarray else cls(array)
            shape = self.build(state["shape"])
            items = [self.build(value) for value in content]
            if len(shape) == 1:
                array = np.ndarray(shape=len(items), dtype="O")
                for index, item in enumerate(items):
                    array[index] = item
                return array
            return np.array(items, dtype="O")
        # ObjectNode
        instance = cls.__new__(cls)
        if content is None:
            return instance
        attrs = self.build(content)
        if attrs is not None:
            if hasattr(instance, "__setstate__"):
                instance.__setstate__(attrs)
            else:
                instance.__dict__.update(attrs)
        return instance


def load(path: str | Path, trusted_types: Iterable[str], *, light: bool = False) -> Any | None:
    """Load a skops file without skops, or return ``None`` when skops must do it.

    Parameters
    ----------
    path : path
        A ``.skops`` file (its checksum already verified).
    trusted_types : iterable of str
        Types trusted beyond skops's defaults (featurelab's ``TRUSTED_TYPES``).
    light : bool
        Build only builtins, numpy arrays and scalars; leave every other object as a
        :class:`~featurelab.models._light.LightObject` (its type name and attributes), importing
        nothing of its package. The file is checked against the allowlist all the same.

    Returns
    -------
    object or None
        The loaded object; ``None`` for a file this reader does not cover or cannot read.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            schema = json.loads(archive.read("schema.json"))
            if not isinstance(schema, dict) or type(schema.get("protocol")) is not int:
                return None
            if schema["protocol"] not in PROTOCOLS:
                return None
            reader = _Reader(archive, allowlist(trusted_types), light)
            reader.check(schema)  # the whole tree, before anything is imported or built
            return reader.build(schema)
    except Exception:  # noqa: BLE001 - skops then loads it, or words why it cannot
        return None


def entry_type(path: str | Path, key: str) -> str | None:
    """Return the type (``module.Class``) of entry ``key`` of a skops file holding a dict, or ``None``.

    Reads ``schema.json`` only: what a caller needs to know before reading a whole file.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            node = json.loads(archive.read("schema.json"))["content"][key]
        return f"{node['__module__']}.{node['__class__']}"
    except Exception:  # noqa: BLE001 - not such a file: the caller takes its usual path
        return None
