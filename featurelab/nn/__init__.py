"""Neural networks on PyTorch: the torch helpers, one training loop, the MLP and the CNN.

Public API
----------
- :class:`MLPTorchClassifier`, :func:`make_mlp_torch` -- a scikit-learn classifier on feature
  tables (the registry's ``mlp_torch`` model).
- :mod:`featurelab.nn.cnn` -- the log-mel CNN of ``featurelab train-cnn`` (config, network,
  augmentation, training, evaluation).
- :func:`fit_network`, :class:`Schedule`, :class:`FitResult`, :func:`epoch_batches`,
  :func:`plateau_patience` -- the training loop both networks use (:mod:`featurelab.nn.training`).
- :func:`import_torch`, :func:`resolve_device`, :func:`torch_scope`, :func:`torch_threads`,
  :func:`seed_int`, :data:`TORCH_INSTALL_HINT` -- PyTorch's import, device, seeding and threads.

PyTorch is the optional ``[nn]`` extra and is imported only when a network is built or run, so
``import featurelab.nn`` (and ``featurelab --help``) never import it.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
