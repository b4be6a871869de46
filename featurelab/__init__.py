"""featurelab: music genre classification with classical machine learning.

Public API (imported lazily with :mod:`lazy_loader`, so ``import featurelab`` and
``featurelab --help`` stay fast; ``featurelab/__init__.pyi`` lists it for type checkers):

- :func:`featurelab.extract` -- audio corpus -> GTZAN-schema feature table (pandas DataFrame).
- :func:`featurelab.extract_to_files` -- the same, streamed to CSV/Parquet files (memory flat in the
  corpus size), for large corpora.
- :func:`featurelab.extract_features` -- one signal ``(y, sr)`` -> dict of named features.
- :class:`featurelab.ExtractionSettings` -- the extraction settings of a table (``settings=`` of the
  functions above; also their fields as keywords, ``segment=3.0``).
- :func:`featurelab.extract_arrays` -- per-segment arrays (log-mel spectrograms) from the same driver.
- :func:`featurelab.load_audio`, :func:`featurelab.read_table`, :func:`featurelab.write_table`.
- :mod:`featurelab.datasets` -- corpus discovery, split lists, a synthetic demo corpus.
- :mod:`featurelab.features` -- the feature-set registry and the GTZAN schema.
- :mod:`featurelab.models` -- the model registry, nested/grouped evaluation, saved models.
- :mod:`featurelab.selection` -- :class:`~featurelab.selection.ShapSelector` and the accuracy-vs-k curve.
- :mod:`featurelab.nn` -- the PyTorch MLP and the log-mel CNN (the optional ``[nn]`` extra).

Long-running functions take ``n_jobs`` (default: all usable cores; see :mod:`featurelab.parallel`)
and ``progress`` (default: a bar when a terminal or notebook is watching; see
:mod:`featurelab.progress`).
"""

import lazy_loader as _lazy

from ._version import __version__

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
__all__ = ["__version__", *__all__]
