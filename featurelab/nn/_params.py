"""The parameter rules the neural models share, declared once (scikit-learn's constraints).

:class:`~featurelab.nn.MLPTorchClassifier` (``_parameter_constraints``) and
:class:`~featurelab.nn.cnn.CNNConfig` build their constraint tables from these pieces, so a rule
such as "dropout is a float in [0, 1)" is written once and worded the same way for both.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import Integral, Interval, Real
from ..exceptions import ParameterError

__all__ = [
    "FRACTION",
    "NON_NEGATIVE_INT",
    "POSITIVE_INT",
    "TRAINING_CONSTRAINTS",
    "layer_widths",
]

#: An integer >= 1 (epochs, batch size, patience, layer widths).
POSITIVE_INT = Interval(Integral, 1, None, closed="left")
#: An integer >= 0 (counts that may be zero).
NON_NEGATIVE_INT = Interval(Integral, 0, None, closed="left")
#: A probability-like fraction in [0, 1) (dropout, label smoothing, held-out share).
FRACTION = Interval(Real, 0, 1, closed="left")

#: The settings of :func:`featurelab.nn.training.fit_network` and of the networks' regularization,
#: shared by the MLP and the CNN.
TRAINING_CONSTRAINTS: dict[str, list[Any]] = {
    "dropout": [FRACTION],
    "lr": [Interval(Real, 0, None, closed="neither")],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "label_smoothing": [FRACTION],
    "batch_size": [POSITIVE_INT],
    "patience": [POSITIVE_INT],
    "validation_fraction": [FRACTION],
    "device": [str],
}


def layer_widths(value: Any, name: str) -> tuple[int, ...]:
    """Return layer widths (``hidden``, ``channels``) as a tuple of positive ints.

    Parameters
    ----------
    value : int or sequence of int
        One width or a sequence of widths.
    name : str
        The parameter's name, for the message.

    Returns
    -------
    widths : tuple of int
        The widths.

    Raises
    ------
    ParameterError
        ``value`` is empty, or holds something other than positive integers.

    Examples
    --------
    >>> layer_widths([64, 32], "hidden")
    (64, 32)
    >>> layer_widths([], "channels")
    Traceback (most recent call last):
    ...
    featurelab.exceptions.ParameterError: channels must be a non-empty sequence of positive ...
    """
    widths: tuple[int, ...] = ()
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        widths = (int(value),)
    elif not isinstance(value, (str, bytes)):
        try:
            items = tuple(value)
        except TypeError:
            items = ()
        if all(isinstance(w, (int, np.integer)) and not isinstance(w, bool) for w in items):
            widths = tuple(int(w) for w in items)
    if not widths or any(w < 1 for w in widths):
        raise ParameterError(
            f"{name} must be a non-empty sequence of positive layer widths. Got {value!r} instead."
        )
    return widths
