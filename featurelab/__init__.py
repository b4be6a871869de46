"""featurelab: music genre classification with classical machine learning.

Public API (imported lazily, so ``import featurelab`` and ``featurelab --help`` stay fast):

- :func:`featurelab.extract` -- audio corpus -> GTZAN-schema feature table (pandas DataFrame).
- :func:`featurelab.extract_to_files` -- the same, streamed to CSV/Parquet files (memory flat in the
  corpus size), for large corpora.
- :func:`featurelab.extract_features` -- one signal ``(y, sr)`` -> dict of named features.
- :func:`featurelab.load_audio`, :func:`featurelab.read_table`, :func:`featurelab.write_table`.
- :mod:`featurelab.datasets` -- corpus discovery, split files, a synthetic demo corpus.
- :mod:`featurelab.features` -- the feature-set registry and the GTZAN schema.
- :mod:`featurelab.models` -- the model registry, nested/grouped evaluation, saved models.
- :mod:`featurelab.selection` -- :class:`~featurelab.selection.ShapSelector` and the accuracy-vs-k curve.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__
from .exceptions import AudioLoadError, FeaturelabError, ModelFileError, ParameterError, TableError

__all__ = [
    "__version__",
    "FeaturelabError",
    "ParameterError",
    "AudioLoadError",
    "TableError",
    "ModelFileError",
    "extract",
    "extract_to_files",
    "extract_features",
    "load_audio",
    "read_table",
    "write_table",
]

_LAZY = {
    "extract": "featurelab.extraction:extract",
    "extract_to_files": "featurelab.extraction:extract_to_files",
    "extract_features": "featurelab.extraction:extract_features",
    "load_audio": "featurelab.io:load_audio",
    "read_table": "featurelab.io:read_table",
    "write_table": "featurelab.io:write_table",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, _, attr = _LAZY[name].partition(":")
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'featurelab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
