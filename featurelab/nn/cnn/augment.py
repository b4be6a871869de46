"""Augmentation of training segments: waveform perturbations and SpecAugment-style masks.

:class:`WaveAugmenter` perturbs the waveform of a *training* segment with ``audiomentations``
(noise at 15-35 dB SNR, gain, polarity inversion, circular shift, time stretch, low/high-pass);
the CNN trainer reads the segment's waveform again (:func:`load_segment`) and recomputes the
log-mel of the perturbed waveform with the model's :class:`~featurelab.arrays.LogMel`.
:func:`spec_augment` masks random frequency bands and time spans of a log-mel batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ...augment import seeded_global_rngs
from ...exceptions import ParameterError
from .._torch import TORCH_INSTALL_HINT, import_torch

if TYPE_CHECKING:  # pragma: no cover
    from .config import CNNConfig

__all__ = ["AugmentHook", "WaveAugmenter", "load_segment", "seeded_global_rngs", "spec_augment"]

#: ``on_augment(kind, fold, rows)``: ``kind`` is ``"wave"`` or ``"spec"``, ``rows`` segment rows.
AugmentHook = Callable[[str, int, np.ndarray], None]


def load_segment(path: str, start: float, config: CNNConfig) -> np.ndarray:
    """Read the waveform of one segment again (for augmentation).

    Parameters
    ----------
    path : str
        Audio file.
    start : float
        Segment start in seconds (a ``start`` of the segment table).
    config : CNNConfig
        Gives the sampling rate and the segment length.

    Returns
    -------
    y : np.ndarray [shape=(segment_samples,), dtype=float32]
        The segment's samples (zero-padded should the file end early).
    """
    from ...io import load_audio

    settings = config.extraction
    n = config.logmel.segment_samples(settings)
    y, _ = load_audio(path, sr=settings.sr, offset=float(start), duration=settings.segment)
    y = np.asarray(y[:n], dtype=np.float32)
    return np.pad(y, (0, n - y.size)) if y.size < n else y


class WaveAugmenter:
    """Random waveform perturbations of training segments (``audiomentations``).

    Each transform is applied with its own probability ``p``: Gaussian noise at ``snr_db`` SNR,
    gain in ``+-gain_db``, polarity inversion, circular shift by up to ``shift`` of the segment,
    time stretch by a rate in ``stretch`` (length kept), and one of a low-pass or high-pass filter.

    Parameters
    ----------
    snr_db : (float, float)
        Range of the signal-to-noise ratio of the added noise, in dB.
    gain_db : float
        Maximum absolute gain change, in dB.
    shift : float
        Maximum circular shift as a fraction of the segment.
    stretch : (float, float)
        Range of the time-stretch rate.
    p : float
        Probability of each transform (the filters share one draw).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.sin(2 * np.pi * 440 * np.arange(22050) / 22050).astype(np.float32)
    >>> aug = WaveAugmenter()
    >>> z = aug(y, 22050, seed=1)
    >>> z.shape == y.shape, np.array_equal(z, aug(y, 22050, seed=1))
    (True, True)
    """

    def __init__(
        self,
        snr_db: Sequence[float] = (15.0, 35.0),
        gain_db: float = 4.0,
        shift: float = 0.25,
        stretch: Sequence[float] = (0.9, 1.1),
        p: float = 0.5,
    ) -> None:
        self.snr_db = tuple(float(v) for v in snr_db)
        self.gain_db = float(gain_db)
        self.shift = float(shift)
        self.stretch = tuple(float(v) for v in stretch)
        self.p = float(p)
        self._compose: Any = None

    def _build(self) -> Any:
        try:
            import audiomentations as am
        except ImportError as error:
            raise ParameterError(
                f"Waveform augmentation needs audiomentations ({error}). Install the extra: "
                f"{TORCH_INSTALL_HINT}, or train with augmentation off."
            ) from error
        p = self.p
        return am.Compose(
            [
                am.AddGaussianSNR(min_snr_db=self.snr_db[0], max_snr_db=self.snr_db[1], p=p),
                am.Gain(min_gain_db=-self.gain_db, max_gain_db=self.gain_db, p=p),
                am.PolarityInversion(p=p),
                am.Shift(min_shift=-self.shift, max_shift=self.shift, rollover=True, p=p),
                am.TimeStretch(
                    min_rate=self.stretch[0],
                    max_rate=self.stretch[1],
                    leave_length_unchanged=True,
                    p=p / 2,
                ),
                am.OneOf(
                    [
                        am.LowPassFilter(min_cutoff_freq=2000.0, max_cutoff_freq=7500.0),
                        am.HighPassFilter(min_cutoff_freq=20.0, max_cutoff_freq=400.0),
                    ],
                    p=p / 2,
                ),
            ]
        )

    def __call__(self, y: np.ndarray, sr: int, *, seed: int) -> np.ndarray:
        """Return a perturbed copy of ``y`` (same length), deterministic for a given ``seed``.

        Parameters
        ----------
        y : np.ndarray [shape=(n,)]
            Mono waveform.
        sr : int
            Its sampling rate.
        seed : int
            Seed of this draw.

        Returns
        -------
        y_aug : np.ndarray [shape=(n,), dtype=float32]
            The perturbed waveform.
        """
        if self._compose is None:
            self._compose = self._build()
        y = np.ascontiguousarray(y, dtype=np.float32)
        with seeded_global_rngs(seed):
            out = self._compose(samples=y.copy(), sample_rate=sr)
        out = np.asarray(out, dtype=np.float32)
        if out.shape != y.shape:  # time stretch may be off by a few samples
            out = np.resize(out, y.shape) if out.size else np.zeros_like(y)
        return np.nan_to_num(out, copy=False)

    def __repr__(self) -> str:
        return (
            f"WaveAugmenter(snr_db={self.snr_db}, gain_db={self.gain_db}, shift={self.shift}, "
            f"stretch={self.stretch}, p={self.p})"
        )


def spec_augment(x: Any, generator: Any, config: CNNConfig) -> Any:
    """Mask random frequency bands and time spans of a batch (SpecAugment without warping).

    Parameters
    ----------
    x : torch.Tensor [shape=(batch, n_mels, n_frames)]
        Log-mel batch (not modified).
    generator : torch.Generator
        Source of the random masks.
    config : CNNConfig
        Number and maximum width of the masks.

    Returns
    -------
    x_masked : torch.Tensor [shape=(batch, n_mels, n_frames)]
        A copy with masked cells set to each example's mean.
    """
    torch = import_torch()
    batch, n_freq, n_time = x.shape
    mask = torch.zeros((batch, n_freq, n_time), dtype=torch.bool)
    for count, width, size, axis in (
        (config.freq_masks, config.freq_mask_width, n_freq, 1),
        (config.time_masks, config.time_mask_width, n_time, 2),
    ):
        width = min(width, size)
        positions = torch.arange(size)
        for _ in range(count):
            w = torch.randint(0, width + 1, (batch,), generator=generator)
            start = (torch.rand(batch, generator=generator) * (size - w + 1)).long()
            band = (positions[None, :] >= start[:, None]) & (positions[None, :] < (start + w)[:, None])
            mask |= band[:, :, None] if axis == 1 else band[:, None, :]
    fill = x.mean(dim=(1, 2), keepdim=True).expand_as(x)
    return torch.where(mask.to(x.device), fill, x)
