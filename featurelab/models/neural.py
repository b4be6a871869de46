"""Moved to :mod:`featurelab.nn` (the PyTorch MLP and the torch helpers); this alias remains.

``featurelab.models.neural.MLPTorchClassifier`` resolves silently (saved ``mlp_torch`` model files
name it); every other name warns with a :class:`FutureWarning` naming its new home.
"""

from .._moved import moved_module

__getattr__, __dir__, __all__ = moved_module(
    __name__,
    {
        "MLPTorchClassifier": "featurelab.nn",
        "make_mlp_torch": "featurelab.nn",
        "build_mlp": "featurelab.nn.mlp",
        "MLP_TORCH_PARAMS": "featurelab.nn.mlp",
        "TORCH_INSTALL_HINT": "featurelab.nn",
        "import_torch": "featurelab.nn",
        "resolve_device": "featurelab.nn",
        "torch_scope": "featurelab.nn",
    },
    silent={"MLPTorchClassifier"},
)
