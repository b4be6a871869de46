"""Parameter validation in one home, on scikit-learn's declarative constraints.

Public functions and dataclasses declare what each parameter accepts, as scikit-learn estimators do
with ``_parameter_constraints``::

    CONSTRAINTS = {"segment": [Interval(Real, 0, None, closed="neither"), None]}
    validate_params({"segment": segment}, CONSTRAINTS, caller="extract")

and a violation is one :class:`~featurelab.exceptions.ParameterError` in scikit-learn's words:
"The 'segment' parameter of extract must be a float in the range (0.0, inf) or None. Got -1
instead."

Importing scikit-learn takes a good part of a second, so this module imports it only when needed:
``Interval``, ``Options`` and ``StrOptions`` are scikit-learn's own classes, loaded on first access
(estimators' ``_parameter_constraints`` must hold them), and :data:`deferred` declares the same
constraints without importing scikit-learn (``deferred.Interval(Real, 0, None, closed="neither")``).
:func:`validate_params` accepts a plainly valid value (a plain int, float or str inside a deferred
constraint, ``None``, an instance of a type) without scikit-learn; anything else goes to
scikit-learn's checks, which word the error, so the outcome is scikit-learn's in every case. The
command-line paths that run on every start (``featurelab extract``, ``predict``) use deferred
constraints.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any

from .exceptions import ParameterError

if TYPE_CHECKING:  # at run time: module __getattr__ below
    from sklearn.utils._param_validation import Interval, Options, StrOptions

__all__ = [
    "Integral",
    "Interval",
    "Options",
    "Real",
    "StrOptions",
    "check_scalar",
    "deferred",
    "validate_params",
]

_SKLEARN_CONSTRAINTS = ("Interval", "Options", "StrOptions")


def __getattr__(name: str) -> Any:
    """``Interval``, ``Options``, ``StrOptions``: scikit-learn's classes, imported on first use."""
    if name in _SKLEARN_CONSTRAINTS:
        from sklearn.utils import _param_validation

        return getattr(_param_validation, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class DeferredConstraint:
    """A scikit-learn constraint declared without importing scikit-learn; built when needed.

    Parameters
    ----------
    kind : {"Interval", "Options", "StrOptions"}
        The class of ``sklearn.utils._param_validation``.
    *args, **kwargs
        Its arguments.
    """

    def __init__(self, kind: str, *args: Any, **kwargs: Any) -> None:
        if kind not in _SKLEARN_CONSTRAINTS:
            raise ValueError(f"kind must be one of {_SKLEARN_CONSTRAINTS}. Got {kind!r} instead.")
        self.kind, self.args, self.kwargs = kind, args, kwargs

    def __repr__(self) -> str:
        arguments = [*map(repr, self.args), *(f"{k}={v!r}" for k, v in self.kwargs.items())]
        return f"deferred.{self.kind}({', '.join(arguments)})"

    def build(self) -> Any:
        """Return the scikit-learn constraint object."""
        from sklearn.utils import _param_validation

        return getattr(_param_validation, self.kind)(*self.args, **self.kwargs)

    def plainly_satisfied_by(self, value: Any) -> bool:
        """Whether ``value`` certainly satisfies the constraint (``False``: ask scikit-learn).

        Only plain Python values are judged here (a finite int or float that is no bool, a str),
        and only where scikit-learn's rule is a plain comparison, so ``True`` is never wrong.
        """
        if self.kind == "Interval":
            if not _plain_number(value) or len(self.args) != 3:
                return False
            target, left, right = self.args
            closed = self.kwargs.get("closed")
            if target not in (Integral, Real) or closed not in ("left", "right", "both", "neither"):
                return False
            if not isinstance(value, target):
                return False
            if left is not None and (value < left if closed in ("left", "both") else value <= left):
                return False
            return right is None or (value <= right if closed in ("right", "both") else value < right)
        if self.kind == "StrOptions":
            options = self.args[0] if self.args else self.kwargs.get("options")
            return type(value) is str and value in options
        return False  # Options: scikit-learn judges


def _plain_number(value: Any) -> bool:
    """Return whether ``value`` is a Python int or a finite Python float (no bool, no numpy scalar)."""
    return type(value) is int or (type(value) is float and math.isfinite(value))


class _Deferred:
    """Factory of :class:`DeferredConstraint`: ``deferred.Interval(...)``, ``deferred.StrOptions(...)``."""

    def __getattr__(self, kind: str) -> Any:
        if kind not in _SKLEARN_CONSTRAINTS:
            raise AttributeError(kind)
        return lambda *args, **kwargs: DeferredConstraint(kind, *args, **kwargs)


#: Declares scikit-learn constraints without importing scikit-learn (see the module docstring).
deferred = _Deferred()


def _plainly_satisfied(value: Any, constraints: list[Any]) -> bool:
    for constraint in constraints:
        if constraint is None:
            if value is None:
                return True
        elif isinstance(constraint, DeferredConstraint):
            if constraint.plainly_satisfied_by(value):
                return True
        elif isinstance(constraint, type):
            if isinstance(value, constraint):  # scikit-learn's rule for a type
                return True
        elif constraint == "boolean" and isinstance(value, bool):
            return True
    return False


def validate_params(params: Mapping[str, Any], constraints: Mapping[str, list[Any]], *, caller: str) -> None:
    """Check ``params`` against scikit-learn style ``constraints``.

    Parameters
    ----------
    params : mapping
        Parameter name -> value (names without a constraint are not checked).
    constraints : mapping
        Parameter name -> list of accepted constraints (types, :class:`Interval`,
        :class:`StrOptions`, ``None``, ``"boolean"``, ...; see scikit-learn's
        ``sklearn.utils._param_validation``), or the same declared with :data:`deferred`.
    caller : str
        Named in the message ("The 'x' parameter of CALLER must be ...").

    Raises
    ------
    ParameterError
        A value satisfies none of its constraints.

    Examples
    --------
    >>> from featurelab._validation import Interval
    >>> validate_params({"k": 3}, {"k": [Interval(Integral, 1, None, closed="left")]}, caller="f")
    >>> validate_params({"k": 0}, {"k": [Interval(Integral, 1, None, closed="left")]}, caller="f")
    Traceback (most recent call last):
    ...
    featurelab.exceptions.ParameterError: The 'k' parameter of f must be an int in the range [1, ...
    >>> validate_params({"k": 0}, {"k": [deferred.Interval(Integral, 1, None, closed="left")]}, caller="f")
    Traceback (most recent call last):
    ...
    featurelab.exceptions.ParameterError: The 'k' parameter of f must be an int in the range [1, ...
    """
    checked = {name: value for name, value in params.items() if name in constraints}
    if all(_plainly_satisfied(value, list(constraints[name])) for name, value in checked.items()):
        return
    from sklearn.utils._param_validation import InvalidParameterError, validate_parameter_constraints

    built = {
        name: [c.build() if isinstance(c, DeferredConstraint) else c for c in accepted]
        for name, accepted in constraints.items()
    }
    try:
        validate_parameter_constraints(built, checked, caller_name=caller)
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
    if value is None and allow_none:
        return value
    if _plain_scalar_ok(value, target_type, min_val, max_val, include_boundaries):
        return value
    from sklearn.utils import check_scalar as _check

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


def _plain_scalar_ok(
    value: Any, target_type: Any, low: float | None, high: float | None, bounds: str
) -> bool:
    """Whether a plain int or float certainly passes :func:`check_scalar` (``False``: ask scikit-learn)."""
    if not _plain_number(value) or bounds not in ("left", "right", "both", "neither"):
        return False
    if not isinstance(value, target_type) or (high is None and bounds == "right"):
        return False
    if low is None and bounds == "left":  # scikit-learn refuses the inconsistent bounds
        return False
    left, right = bounds in ("left", "both"), bounds in ("right", "both")
    if low is not None and (value < low if left else value <= low):
        return False
    return high is None or (value <= high if right else value < high)


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
