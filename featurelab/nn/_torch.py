"""PyTorch in one place: the import (with the install hint), the device, seeding and threads.

Every torch-using part of featurelab -- the MLP, the CNN, musicnn embeddings -- imports torch through
:func:`import_torch`, picks its device with :func:`resolve_device` and runs inside
:func:`torch_threads` (inference) or :func:`torch_scope` (training: threads plus a forked, seeded
RNG), so no call leaves PyTorch's global state changed. Nothing here imports torch at module import.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from ..exceptions import ParameterError

__all__ = [
    "TORCH_INSTALL_HINT",
    "import_torch",
    "load_numpy_state",
    "resolve_device",
    "seed_int",
    "torch_scope",
    "torch_threads",
]

#: How to get PyTorch: the CPU wheel first, or pip resolves several GB of CUDA wheels.
TORCH_INSTALL_HINT = "pip install torch==2.13.0 && pip install 'featurelab[nn]'"


def import_torch() -> Any:
    """Import :mod:`torch`, or explain how to install it.

    Returns
    -------
    torch : module
        The imported :mod:`torch` module.

    Raises
    ------
    ParameterError
        PyTorch is not installed.
    """
    try:
        return importlib.import_module("torch")
    except ImportError as error:
        raise ParameterError(
            f"The neural-network models need PyTorch, which is not installed ({error}). "
            f"Install the CPU build and the extra: {TORCH_INSTALL_HINT}"
        ) from error


def resolve_device(device: str) -> str:
    """Map ``"auto"`` / ``"cpu"`` / ``"cuda"`` (or ``"cuda:N"``) to a usable torch device name.

    Parameters
    ----------
    device : str
        ``"auto"`` picks CUDA when available, else the CPU.

    Returns
    -------
    device : str
        ``"cpu"`` or a CUDA device name.

    Raises
    ------
    ParameterError
        Unknown device name, or CUDA requested but not available.
    """
    torch = import_torch()
    if not isinstance(device, str):
        raise ParameterError(f"device must be 'auto', 'cpu' or 'cuda'. Got {device!r} instead.")
    name = device.strip().lower()
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return "cpu"
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ParameterError(
                f"device must be a usable device. Got {device!r}, but this PyTorch build sees no "
                "CUDA GPU; use --device cpu (or auto)."
            )
        return name
    raise ParameterError(f"device must be 'auto', 'cpu' or 'cuda'. Got {device!r} instead.")


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[Any]:
    """Set PyTorch's intra-op thread count for one block, restoring it afterwards.

    Parameters
    ----------
    threads : int or None
        Threads inside the block; ``None``, 0 or negative keep the current setting.

    Yields
    ------
    torch : module
        The :mod:`torch` module.

    Examples
    --------
    >>> import torch
    >>> before = torch.get_num_threads()
    >>> with torch_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    torch = import_torch()
    previous = torch.get_num_threads()
    try:
        if threads is not None and threads > 0 and threads != previous:
            torch.set_num_threads(int(threads))
        yield torch
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


@contextlib.contextmanager
def torch_scope(seed: int, threads: int | None, device: str = "cpu") -> Iterator[Any]:
    """Seed PyTorch and set its thread count for one block, restoring both afterwards.

    The global RNG state (CPU, and CUDA when ``device`` is a GPU) is forked, so seeding here has no
    effect on the caller's random streams; the intra-op thread count is restored on exit (see
    :func:`torch_threads`).

    Parameters
    ----------
    seed : int
        Seed for :func:`torch.manual_seed` inside the block.
    threads : int or None
        Intra-op threads inside the block; ``None``, 0 or negative keep the current setting.
    device : str
        Resolved device name (``"cpu"`` or ``"cuda..."``).

    Yields
    ------
    torch : module
        The :mod:`torch` module.
    """
    with torch_threads(threads) as torch:
        devices: list[int] = []
        if device.startswith("cuda"):
            devices = [torch.device(device).index or 0]
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(int(seed))
            yield torch


def seed_int(random_state: Any) -> int:
    """Turn an int, ``None`` or a numpy random state into a non-negative int seed.

    Parameters
    ----------
    random_state : int, None, numpy.random.RandomState or numpy.random.Generator
        An int is used modulo ``2**32``; ``None`` draws a fresh seed; a random state gives its next
        draw.

    Returns
    -------
    seed : int
        A seed for :func:`torch_scope`.

    Raises
    ------
    ParameterError
        Any other type.

    Examples
    --------
    >>> seed_int(7), seed_int(-1)
    (7, 4294967295)
    """
    if random_state is None:
        return int(np.random.default_rng().integers(0, 2**31 - 1))  # fresh OS entropy
    if isinstance(random_state, (int, np.integer)):
        return int(random_state) % (2**32)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**31 - 1))
    raise ParameterError(
        f"random_state must be an int, None or a numpy RandomState. Got {random_state!r} instead."
    )


def load_numpy_state(module: Any, state: Mapping[str, np.ndarray]) -> Any:
    """Load weights kept as numpy arrays (how featurelab stores them) into ``module``.

    Parameters
    ----------
    module : torch.nn.Module
        A network of the matching architecture.
    state : mapping of str to np.ndarray
        Its state dict, as numpy arrays.

    Returns
    -------
    module : torch.nn.Module
        ``module``, with the weights loaded.
    """
    torch = import_torch()
    module.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in state.items()})
    return module
