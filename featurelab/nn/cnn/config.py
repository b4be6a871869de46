"""Settings of the CNN, its inputs, its training and its augmentation (:class:`CNNConfig`), and their files.

The inputs are described by the objects that compute them: the extraction settings
(:class:`~featurelab.settings.ExtractionSettings`: ``sr``, ``segment``) and the log-mel product
(:class:`~featurelab.arrays.LogMel`: ``n_mels``, ``n_fft``, ``hop_length``, ``top_db``). Files and
the command line use flat keys (``segment: 3.0``, ``n_mels: 128``); :meth:`CNNConfig.from_dict`
and :meth:`CNNConfig.to_dict` convert.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..._validation import Integral, Interval, Real, validate_params
from ...arrays import LogMel
from ...exceptions import ParameterError
from ...settings import ExtractionSettings
from .._params import FRACTION, NON_NEGATIVE_INT, POSITIVE_INT, TRAINING_CONSTRAINTS, layer_widths

__all__ = ["CNNConfig", "load_cnn_config"]

#: Flat keys of the inputs: extraction options, then the log-mel product's parameters.
_EXTRACTION_KEYS = ("sr", "segment")
_LOGMEL_KEYS = tuple(f.name for f in dataclasses.fields(LogMel))

_CONSTRAINTS: dict[str, list[Any]] = {
    **TRAINING_CONSTRAINTS,
    "extraction": [ExtractionSettings],
    "logmel": [LogMel],
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


def _default_extraction() -> ExtractionSettings:
    return ExtractionSettings(segment=3.0, segment_mode="exact")


@dataclass(frozen=True)
class CNNConfig:
    """Settings of the CNN, its inputs, its training and its augmentation (defaults = ``configs/cnn.yaml``).

    Build it from flat keys with :meth:`from_dict` (``CNNConfig.from_dict({"segment": 1.0,
    "epochs": 5})``) or :func:`load_cnn_config`; :meth:`replace` changes flat keys.

    Attributes
    ----------
    extraction : ExtractionSettings
        How segments are cut from the audio: ``sr`` and ``segment`` (seconds; full windows,
        ``segment_mode="exact"``; a file shorter than one segment is skipped).
    logmel : LogMel
        The log-mel spectrogram of each segment: ``n_mels``, ``n_fft``, ``hop_length``, ``top_db``.
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

    Examples
    --------
    >>> config = CNNConfig.from_dict({"segment": 1.0, "n_mels": 64, "channels": [8, 16, 32]})
    >>> config.extraction.segment, config.logmel.n_mels, config.input_shape
    (1.0, 64, (64, 44))
    >>> CNNConfig.from_dict(config.to_dict()) == config
    True
    """

    extraction: ExtractionSettings = field(default_factory=_default_extraction)
    logmel: LogMel = field(default_factory=LogMel)
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
        values = {name: getattr(self, name) for name in _CONSTRAINTS}
        validate_params(values, _CONSTRAINTS, caller=type(self).__name__)
        if self.extraction.segment is None:
            raise ParameterError("The CNN's extraction settings need segment=SECONDS (e.g. segment=3.0).")
        self.logmel.check(self.extraction)
        n_mels, n_frames = self.input_shape
        smallest = min(n_mels, n_frames)
        if smallest < 2 ** len(self.channels):
            raise ParameterError(
                f"channels must have at most log2(min(n_mels, frames per segment)) = "
                f"{int(math.log2(max(smallest, 1)))} blocks for {n_mels} mels and "
                f"{n_frames} frames. Got {len(self.channels)} blocks instead; use fewer "
                "blocks or longer segments."
            )

    @property
    def input_shape(self) -> tuple[int, int]:
        """Shape ``(n_mels, n_frames)`` of one segment's log-mel spectrogram."""
        return self.logmel.shape(self.extraction)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CNNConfig:
        """Build the settings from flat keys (those of :meth:`to_dict`); missing keys keep defaults.

        Raises
        ------
        ParameterError
            An unknown key or an invalid value.
        """
        data = dict(data)
        unknown = sorted(set(data) - set(CONFIG_KEYS))
        if unknown:
            raise ParameterError(
                f"CNN settings must be among {', '.join(CONFIG_KEYS)}. Got unknown "
                f"{', '.join(unknown)} instead."
            )
        extraction = {key: data.pop(key) for key in _EXTRACTION_KEYS if key in data}
        logmel = {key: data.pop(key) for key in _LOGMEL_KEYS if key in data}
        return cls(
            extraction=dataclasses.replace(_default_extraction(), **extraction),
            logmel=LogMel(**logmel),
            **data,
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as flat JSON values (``sr``, ``segment``, ``n_mels``, ..., ``threads``)."""
        logmel = self.logmel
        data: dict[str, Any] = {
            "sr": self.extraction.sr,
            "n_mels": logmel.n_mels,
            "n_fft": logmel.n_fft,
            "hop_length": logmel.hop_length,
            "segment": self.extraction.segment,
            "top_db": logmel.top_db,
        }
        for name in _OWN_FIELDS:
            data[name] = getattr(self, name)
        data["channels"] = list(self.channels)
        return data

    def replace(self, **changes: Any) -> CNNConfig:
        """Return a copy with flat keys changed (``config.replace(segment=1.0, epochs=2)``)."""
        return self.from_dict({**self.to_dict(), **changes})


_OWN_FIELDS = tuple(f.name for f in dataclasses.fields(CNNConfig) if f.name not in ("extraction", "logmel"))
#: The flat keys of :meth:`CNNConfig.to_dict` (the ``params`` of ``configs/cnn.yaml``).
CONFIG_KEYS = tuple(CNNConfig().to_dict())


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
        unknown = sorted(set(params) - set(CONFIG_KEYS))
        if unknown:
            raise ParameterError(
                f"params in {where!r} must be CNN settings ({', '.join(CONFIG_KEYS)}). "
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
        elif key in CONFIG_KEYS:
            settings[key] = value
        else:
            raise ParameterError(f"CNN setting must be one of {', '.join(CONFIG_KEYS)}. Got {key!r} instead.")
    return CNNConfig.from_dict(settings), protocol
