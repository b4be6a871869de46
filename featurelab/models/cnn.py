"""Moved to :mod:`featurelab.nn.cnn` (the log-mel CNN); this alias remains.

Every name warns with a :class:`FutureWarning` naming its new home. ``load_cnn_model`` (``model.pt``)
is gone: ``train-cnn --save-model`` writes ``model.skops``, read by :func:`featurelab.models.load_model`.
"""

from .._moved import moved_module

__getattr__, __dir__, __all__ = moved_module(
    __name__,
    dict.fromkeys(
        [
            "AugmentHook",
            "CNNConfig",
            "CNNRun",
            "build_cnn",
            "evaluate_cnn",
            "load_cnn_config",
            "plot_curves",
            "predict_proba",
            "scale_input",
            "spec_augment",
            "write_cnn_run",
        ],
        "featurelab.nn.cnn",
    ),
)
