"""Parameter validation in one home, on scikit-learn's declarative constraints.

Public functions and dataclasses declare what each parameter accepts, as scikit-learn estimators do
with ``_parameter_constraints``::

    CONSTRAINTS = {"segment": [Interval(Real, 0, None, closed="neither"), None]}
    validate_params({"segment": segment}, CONSTRAINTS, caller="extract")

and a violation is one :class:`~featurelab.exceptions.ParameterError` in scikit-learn's words:
"The 'segment' parameter of extract must be a float in the range (0.0, inf) or None. Got -1
instead." This module imports scikit-learn; import it inside functions where start-up time matters.
"""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any

from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
    validate_parameter_constraints,
)

from .exceptions import ParameterError

__all__ = [
    "Integral",
    "Interval",
    "Options",
    "Real",
    "StrOptions",
    "check_scalar",
    "validate_params",
]


def validate_params(params: Mapping[str, Any], constraints: Mapping[str, list[Any]], *, caller: str) -> None:
    """Check ``params`` against scikit-learn style ``constraints``.

    Parameters
    ----------
    params : mapping
        Parameter name -> value (names without a constraint are not checked).
    constraints : mapping
        Parameter name -> list of accepted constraints (types, :class:`Interval`,
        :class:`StrOptions`, ``None``, ``"boolean"``, ...; see scikit-learn's
        ``sklearn.utils._param_validation``).
    caller : str
        Named in the message ("The 'x' parameter of CALLER must be ...").

    Raises
    ------
    ParameterError
        A value satisfies none of its constraints.

    Examples
    --------
    >>> validate_params({"k": 3}, {"k": [Interval(Integral, 1, None, closed="left")]}, caller="f")
    >>> validate_params({"k": 0}, {"k": [Interval(Integral, 1, None, closed="left")]}, caller="f")
    Traceback (most recent call last):
    ...
    featurelab.exceptions.ParameterError: The 'k' parameter of f must be an int in the range [1, ...
    """
    checked = {name: value for name, value in params.items() if name in constraints}
    try:
        validate_parameter_constraints(dict(constraints), checked, caller_name=caller)
    except InvalidParameterError as error:
        raise ParameterError(str(error)) from None


def check_scalar(
    value: Any,
    name: str,
    target_type: type | tuple[type, ...],
    *,
    min_val: float | None = None,
    max_val: float | None = None,
    include_boundaries: str = "both",
    allow_none: bool = False,
) -> Any:
    """Check one scalar's type and range (scikit-learn's ``check_scalar``), in featurelab's words.

    Returns
    -------
    object
        ``value``, unchanged.

    Raises
    ------
    ParameterError
        "NAME must be <type> in <range>. Got VALUE instead."

    Examples
    --------
    >>> check_scalar(3, "hop_length", Integral, min_val=1)
    3
    >>> check_scalar(0, "hop_length", Integral, min_val=1)
    Traceback (most recent call last):
    ...
    featurelab.exceptions.ParameterError: hop_length must be an integer >= 1. Got 0 instead.
    """
    from sklearn.utils import check_scalar as _check

    if value is None and allow_none:
        return value
    try:
        if isinstance(value, bool):
            raise TypeError("bool")
        _check(
            value, name, target_type, min_val=min_val, max_val=max_val, include_boundaries=include_boundaries
        )
    except (TypeError, ValueError):
        raise ParameterError(
            f"{name} must be {_describe(target_type, min_val, max_val, include_boundaries)}"
            f"{' or None' if allow_none else ''}. Got {value!r} instead."
        ) from None
    if isinstance(value, float) and value != value:  # NaN passes every comparison check
        raise ParameterError(f"{name} must be a number, not NaN.")
    return value


def _describe(target_type: Any, low: float | None, high: float | None, bounds: str) -> str:
    types = target_type if isinstance(target_type, tuple) else (target_type,)
    noun = "an integer" if all(t in (int, Integral) for t in types) else "a number"
    left = bounds in ("left", "both")
    right = bounds in ("right", "both")
    if low is not None and high is not None:
        return f"{noun} in {'[' if left else '('}{low}, {high}{']' if right else ')'}"
    if low is not None:
        return f"{noun} {'>=' if left else '>'} {low}"
    if high is not None:
        return f"{noun} {'<=' if right else '<'} {high}"
    return noun
