"""Moved: log-mel spectrograms to :mod:`featurelab.arrays`, augmentation to :mod:`featurelab.nn.cnn`.

Every name warns with a :class:`FutureWarning` naming its new home. The CNN's own corpus listing and
cache (``MelParams``, ``list_corpus``, ``compute_segments``, ``split_signal``) are gone: its inputs
come from :func:`featurelab.arrays.extract_arrays`.
"""

from .._moved import moved_module

__getattr__, __dir__, __all__ = moved_module(
    __name__,
    {
        "WaveAugmenter": "featurelab.nn.cnn",
        "load_segment": "featurelab.nn.cnn",
        "log_mel": "featurelab.arrays",
        "seeded_global_rngs": "featurelab.nn.cnn",
    },
)
