"""Find musicnn's TF checkpoints in the installed ``musicnn`` package; convert them to ``.npz``.

The PyPI wheel ``musicnn==0.1.0`` (ISC licence) ships the trained weights but pins ``numpy<1.17``
and TensorFlow, so it is installed with ``pip install --no-deps musicnn==0.1.0`` and only its weight
files (and tag lists) are used. Nothing is ever downloaded at run time.

Converted weights are cached as ``<cache>/musicnn/<model>-musicnn<version>-<format>.npz`` where
``<cache>`` is ``$FEATURELAB_CACHE`` if set, else ``$XDG_CACHE_HOME/featurelab``, else
``~/.cache/featurelab``. An unwritable cache only costs a re-conversion (about 1 s) per process.
"""

from __future__ import annotations

import importlib.metadata
import os
import zipfile
from importlib.util import find_spec
from pathlib import Path

import numpy as np

from ...cache import user_cache_dir
from ...exceptions import ModelFileError, ParameterError
from ...io import atomic_path
from ._checkpoint import read_checkpoint

__all__ = [
    "MODELS",
    "INSTALL_HINT",
    "architecture",
    "cache_dir",
    "load_weights",
    "model_labels",
    "weights_dir",
]

#: Published musicnn models this port supports -> training data.
MODELS = {
    "MSD_musicnn": "Million Song Dataset",
    "MTT_musicnn": "MagnaTagATune",
    "MSD_vgg": "Million Song Dataset",
    "MTT_vgg": "MagnaTagATune",
}
INSTALL_HINT = "pip install --no-deps musicnn==0.1.0"
_FORMAT = "v1"


def _tf_names(base: str, n: int) -> list[str]:
    """TF's automatic layer names: ``base``, ``base_1``, ..., ``base_<n-1>``."""
    return [f"{base}_{i}" if i else base for i in range(n)]


def _variables(n_batch_norms: int, layers: list[str]) -> frozenset[str]:
    stats = ("gamma", "beta", "moving_mean", "moving_variance")
    return frozenset(
        [f"{bn}/{v}" for bn in _tf_names("batch_normalization", n_batch_norms) for v in stats]
        + [f"{layer}/{v}" for layer in layers for v in ("kernel", "bias")]
    )


#: Inference variables of each architecture (``model.split("_")[1]``); optimizer slots are left out.
_VARIABLES = {
    "musicnn": _variables(11, _tf_names("conv2d", 8) + _tf_names("dense", 2)),
    "vgg": _variables(6, [f"{i}CNN" for i in range(1, 6)] + ["dense"]),
}


def architecture(model: str) -> str:
    """``"musicnn"`` or ``"vgg"``: the network of a published model (after checking its name)."""
    _check_model(model)
    return model.split("_", 1)[1]


def _check_model(model: str) -> None:
    if model not in MODELS:
        raise ParameterError(f"model must be one of {', '.join(MODELS)}. Got {model!r} instead.")


def weights_dir(model: str = "MSD_musicnn") -> Path:
    """Folder of the installed ``musicnn`` package holding ``model``'s checkpoint.

    Raises
    ------
    ParameterError
        If ``musicnn`` is not installed (with the install command) or lacks the model files.
    """
    _check_model(model)
    spec = find_spec("musicnn")
    if spec is None or not spec.submodule_search_locations:
        raise ParameterError(
            "The musicnn feature sets need the pretrained weights shipped by the Python package "
            f"'musicnn', which is not installed. Install it (without its outdated TensorFlow/numpy "
            f"pins) with: {INSTALL_HINT}"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / model
    if not (folder / ".index").is_file():
        raise ParameterError(
            f"The installed musicnn package has no checkpoint for {model!r} in {folder}. "
            f"Reinstall it with: {INSTALL_HINT}"
        )
    return folder


def model_labels(model: str = "MSD_musicnn") -> list[str]:
    """Return the 50 tag names of ``model`` in output order (from ``musicnn.configuration``)."""
    weights_dir(model)  # clear error when musicnn is missing
    from musicnn import configuration

    return list(configuration.MSD_LABELS if model.startswith("MSD") else configuration.MTT_LABELS)


def cache_dir() -> Path:
    """Where converted weights are cached (``musicnn`` in :func:`featurelab.cache.user_cache_dir`)."""
    return user_cache_dir() / "musicnn"


def _version() -> str:
    try:
        return importlib.metadata.version("musicnn")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - source install
        return "unknown"


def load_weights(model: str = "MSD_musicnn", *, use_cache: bool = True) -> dict[str, np.ndarray]:
    """Load the inference variables of ``model`` as numpy arrays keyed by their TF names.

    Parameters
    ----------
    model : {"MSD_musicnn", "MTT_musicnn", "MSD_vgg", "MTT_vgg"}
        Which published model.
    use_cache : bool
        Read/write the converted ``.npz`` in :func:`cache_dir`; otherwise always convert.

    Returns
    -------
    weights : dict of str to np.ndarray
        64 arrays for a musicnn model, 36 for a vgg one (convolution kernels and biases, dense
        layers, batch-norm statistics); optimizer slots are left out.
    """
    folder = weights_dir(model)
    variables = _VARIABLES[architecture(model)]
    path = cache_dir() / f"{model}-musicnn{_version()}-{_FORMAT}.npz"
    if use_cache and path.is_file():
        try:
            with np.load(path, allow_pickle=False) as npz:
                weights = {name: npz[name] for name in npz.files}
            if set(weights) == variables:
                return weights
        except (OSError, ValueError, zipfile.BadZipFile):
            pass  # corrupt or partial cache: convert again below
    weights = read_checkpoint(f"{folder}{os.sep}", variables)
    missing = variables - set(weights)
    if missing:
        raise ModelFileError(
            f"The musicnn checkpoint in {folder} lacks {len(missing)} variables "
            f"(e.g. {sorted(missing)[0]!r}). Reinstall it with: {INSTALL_HINT}"
        )
    if use_cache:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(path) as tmp, open(tmp, "wb") as fh:
                np.savez(fh, **weights)
        except OSError:
            pass  # read-only cache: keep the in-memory conversion
    return weights
