"""Settings of the CNN, its training and its augmentation (:class:`CNNConfig`), and their files."""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from typing import Any

from ..._validation import Integral, Interval, Real, validate_params
from ...exceptions import ParameterError
from .._params import FRACTION, NON_NEGATIVE_INT, POSITIVE_INT, TRAINING_CONSTRAINTS, layer_widths
from .melspec import MEL_CONSTRAINTS, MelParams

__all__ = ["CNNConfig", "load_cnn_config"]


_CONSTRAINTS: dict[str, list[Any]] = {
    **MEL_CONSTRAINTS,
    **TRAINING_CONSTRAINTS,
    "head_hidden": [POSITIVE_INT],
    "head_dropout": [FRACTION],
    "epochs": [POSITIVE_INT],
    "augment": ["boolean"],
    "augment_fraction": [Interval(Real, 0, 1, closed="both")],
    "augment_every": [POSITIVE_INT],
    "spec_augment": ["boolean"],
    "freq_masks": [NON_NEGATIVE_INT],
    "freq_mask_width": [NON_NEGATIVE_INT],
    "time_masks": [NON_NEGATIVE_INT],
    "time_mask_width": [NON_NEGATIVE_INT],
    "seed": [NON_NEGATIVE_INT],
    "threads": [Integral, None],
}


@dataclass(frozen=True)
class CNNConfig:
    """Settings of the CNN, its training and its augmentation (defaults = ``configs/cnn.yaml``).

    Attributes
    ----------
    sr, n_mels, n_fft, hop_length, segment, top_db
        Log-mel segments (see :class:`~featurelab.nn.cnn.MelParams`).
    channels : tuple of int
        Output channels of the conv blocks (one block each; 4-5 blocks). Both ``n_mels`` and the
        frames per segment must be at least ``2 ** len(channels)``.
    dropout : float
        Dropout after each conv block.
    head_hidden : int
        Width of the hidden layer of the head.
    head_dropout : float
        Dropout in the head.
    epochs : int
        Maximum training epochs per fold.
    batch_size : int
        Mini-batch size (segments).
    lr, weight_decay : float
        AdamW learning rate and weight decay.
    label_smoothing : float
        Label smoothing of the training loss.
    patience : int
        Early stopping: epochs without a better validation loss; the learning rate is halved after
        ``max(1, patience // 3)`` such epochs.
    validation_fraction : float
        Fraction of the training *tracks* held out for early stopping (CV; a split folder's
        ``valid`` list is used instead when it has rows). 0 trains for ``epochs``.
    augment : bool
        Waveform augmentation of training segments.
    augment_fraction : float
        Fraction of the training segments given a fresh augmented version every ``augment_every``
        epochs (the others are used clean).
    augment_every : int
        Epochs between augmentation refreshes.
    spec_augment : bool
        SpecAugment-style masks on training batches.
    freq_masks, freq_mask_width, time_masks, time_mask_width : int
        Number and maximum width (bins/frames) of the frequency and time masks.
    seed : int
        Seed of splits, initialization, shuffling and augmentation.
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    threads : int or None
        PyTorch intra-op threads while training (restored afterwards); ``None`` keeps the default.
    """

    sr: int = 22050
    n_mels: int = 128
    n_fft: int = 2048
    hop_length: int = 512
    segment: float = 3.0
    top_db: float = 80.0
    channels: tuple[int, ...] = (8, 16, 32, 64, 128)
    dropout: float = 0.1
    head_hidden: int = 64
    head_dropout: float = 0.3
    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    label_smoothing: float = 0.1
    patience: int = 10
    validation_fraction: float = 0.15
    augment: bool = True
    augment_fraction: float = 0.5
    augment_every: int = 5
    spec_augment: bool = True
    freq_masks: int = 2
    freq_mask_width: int = 16
    time_masks: int = 2
    time_mask_width: int = 20
    seed: int = 0
    device: str = "auto"
    threads: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", layer_widths(self.channels, "channels"))
        validate_params(dataclasses.asdict(self), _CONSTRAINTS, caller=type(self).__name__)
        params = self.mel_params()  # validates the mel settings
        smallest = min(params.n_mels, params.n_frames)
        if smallest < 2 ** len(self.channels):
            raise ParameterError(
                f"channels must have at most log2(min(n_mels, frames per segment)) = "
                f"{int(math.log2(max(smallest, 1)))} blocks for {params.n_mels} mels and "
                f"{params.n_frames} frames. Got {len(self.channels)} blocks instead; use fewer "
                "blocks or longer segments."
            )

    def mel_params(self) -> MelParams:
        """Return the log-mel parameters."""
        return MelParams(
            sr=self.sr,
            n_mels=self.n_mels,
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            segment=float(self.segment),
            top_db=float(self.top_db),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly copy."""
        data = dataclasses.asdict(self)
        data["channels"] = list(self.channels)
        return data


_CONFIG_FIELDS = tuple(f.name for f in dataclasses.fields(CNNConfig))


def load_cnn_config(
    path: str | os.PathLike | None = None, **overrides: Any
) -> tuple[CNNConfig, dict[str, Any]]:
    """Resolve the CNN settings: ``overrides`` > ``path`` > ``configs/cnn.yaml`` > defaults.

    The YAML files use the search-config layout: CNN settings under ``params``, the evaluation
    under ``cv`` / ``seed`` / ``split_dir``.

    Parameters
    ----------
    path : path or None
        A user configuration file.
    **overrides
        Settings from the command line; ``None`` values are ignored. ``cv`` and ``split_dir`` go
        to the protocol, everything else to :class:`CNNConfig`.

    Returns
    -------
    config : CNNConfig
        The resolved settings.
    protocol : dict
        ``{"cv": int, "split_dir": str | None}``.

    Raises
    ------
    ParameterError
        Unreadable file, unknown keys or invalid values.
    """
    from importlib import resources

    from ...models.config import packaged_config, read_config_file

    layers: list[dict[str, Any]] = []
    packaged = packaged_config("cnn")
    if packaged.is_file():
        with resources.as_file(packaged) as packaged_path:
            layers.append(read_config_file(packaged_path))
    if path is not None:
        layers.append(read_config_file(path))
    settings: dict[str, Any] = {}
    protocol: dict[str, Any] = {"cv": 5, "split_dir": None}
    for layer, where in zip(layers, ["configs/cnn.yaml", str(path)][-len(layers) :], strict=False):
        params = dict(layer.get("params") or {})
        unknown = sorted(set(params) - set(_CONFIG_FIELDS))
        if unknown:
            raise ParameterError(
                f"params in {where!r} must be CNN settings ({', '.join(_CONFIG_FIELDS)}). "
                f"Got unknown {', '.join(unknown)} instead."
            )
        settings.update(params)
        if layer.get("seed") is not None:
            settings["seed"] = layer["seed"]
        for key in ("cv", "split_dir"):
            if layer.get(key) is not None:
                protocol[key] = layer[key]
    for key, value in overrides.items():
        if value is None:
            continue
        if key in protocol:
            protocol[key] = value
        elif key in _CONFIG_FIELDS:
            settings[key] = value
        else:
            raise ParameterError(
                f"CNN setting must be one of {', '.join(_CONFIG_FIELDS)}. Got {key!r} instead."
            )
    if "channels" in settings:
        settings["channels"] = tuple(settings["channels"])
    try:
        config = CNNConfig(**settings)
    except TypeError as error:
        raise ParameterError(f"Invalid CNN settings: {error}") from None
    return config, protocol
