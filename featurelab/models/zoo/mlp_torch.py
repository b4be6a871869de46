"""The PyTorch MLP on feature tables (needs the [nn] extra).

Its factory lives with the torch code (:func:`featurelab.nn.mlp.make_mlp_torch`).
"""

from __future__ import annotations

from ..registry import ModelSpec

ORDER = 90
MODEL = ModelSpec(
    "mlp_torch",
    "PyTorch MLP on feature tables (needs the [nn] extra).",
    factory="featurelab.nn.mlp:make_mlp_torch",
    extra="nn",
    requires=("torch",),
)
