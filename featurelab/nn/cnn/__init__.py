"""The log-mel CNN of ``featurelab train-cnn``, one module per concern.

- :mod:`.config` -- :class:`CNNConfig` (network, training and augmentation settings, validated by
  declared constraints shared with the MLP) and :func:`load_cnn_config` (``configs/cnn.yaml`` <
  a user file < flags).
- :mod:`.melspec` -- :class:`MelParams`, :func:`log_mel` and the segments of a corpus
  (:func:`list_corpus`, :func:`compute_segments`, :func:`load_segment`).
- :mod:`.augment` -- :class:`WaveAugmenter` (audiomentations) and :func:`spec_augment`.
- :mod:`.network` -- :func:`build_cnn`, :func:`scale_input`, :func:`predict_proba`,
  :func:`load_module`.
- :mod:`.training` -- one fold's training on :func:`featurelab.nn.fit_network`.
- :mod:`.evaluate` -- :func:`evaluate_cnn` (track-grouped folds or a split folder) and
  :class:`CNNRun`.
- :mod:`.rundir` -- :func:`write_cnn_run`, :func:`plot_curves`, :func:`load_cnn_model`.

Every name is imported on first use; PyTorch only when a network is built or run.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "augment": ["AugmentHook", "WaveAugmenter", "seeded_global_rngs", "spec_augment"],
        "config": ["CNNConfig", "load_cnn_config"],
        "evaluate": ["CNNRun", "evaluate_cnn"],
        "melspec": [
            "MelParams",
            "compute_segments",
            "list_corpus",
            "load_segment",
            "log_mel",
            "split_signal",
        ],
        "network": ["build_cnn", "load_module", "predict_proba", "scale_input"],
        "rundir": ["load_cnn_model", "plot_curves", "write_cnn_run"],
    },
)
