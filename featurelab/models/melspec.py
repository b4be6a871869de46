"""Moved to :mod:`featurelab.nn.cnn` (log-mel segments and augmentation); this alias remains.

Every name warns with a :class:`FutureWarning` naming its new home.
"""

from .._moved import moved_module

__getattr__, __dir__, __all__ = moved_module(
    __name__,
    dict.fromkeys(
        [
            "MelParams",
            "WaveAugmenter",
            "compute_segments",
            "list_corpus",
            "load_segment",
            "log_mel",
            "seeded_global_rngs",
            "split_signal",
        ],
        "featurelab.nn.cnn",
    ),
)
