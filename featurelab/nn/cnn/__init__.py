"""The log-mel CNN of ``featurelab train-cnn``, one module per concern.

- :mod:`.config` -- :class:`CNNConfig` (inputs as :class:`~featurelab.settings.ExtractionSettings`
  and :class:`~featurelab.arrays.LogMel`, network, training and augmentation settings, validated
  by declared constraints shared with the MLP) and :func:`load_cnn_config` (``configs/cnn.yaml`` <
  a user file < flags).
- :mod:`.augment` -- :class:`WaveAugmenter` (audiomentations), :func:`load_segment` and
  :func:`spec_augment`.
- :mod:`.network` -- :func:`build_cnn`, :func:`scale_input`, :func:`predict_proba`,
  :func:`load_module`.
- :mod:`.classifier` -- :class:`CNNClassifier`, a trained CNN as a scikit-learn classifier of
  log-mel segments (saved and loaded by :mod:`featurelab.models.persist` like any model).
- :mod:`.training` -- one fold's training on :func:`featurelab.nn.fit_network`.
- :mod:`.evaluate` -- :func:`evaluate_cnn` (track-grouped folds or a split folder; inputs from
  :func:`featurelab.arrays.extract_arrays`, scores from :mod:`featurelab.models.scoring`) and
  :class:`CNNRun`.
- :mod:`.rundir` -- :func:`train_cnn` (evaluate and write a run directory), :func:`write_cnn_run`,
  :func:`plot_curves`.

Every name is imported on first use; PyTorch only when a network is built or run.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "augment": ["AugmentHook", "WaveAugmenter", "load_segment", "seeded_global_rngs", "spec_augment"],
        "classifier": ["CNNClassifier"],
        "config": ["CNNConfig", "load_cnn_config"],
        "evaluate": ["CNNRun", "evaluate_cnn"],
        "network": ["build_cnn", "load_module", "predict_proba", "scale_input"],
        "rundir": ["model_metadata", "plot_curves", "train_cnn", "write_cnn_run"],
    },
)
