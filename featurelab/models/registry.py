"""The model registry: the single source of truth for ``--model`` and :func:`make_model`.

A model is registered as a :class:`ModelSpec` whose factory is a ``"module:function"`` string,
imported only when the model is built, so that listing the models (``featurelab gridsearch --help``)
never imports xgboost, lightgbm or torch.

Every factory returns a scikit-learn :class:`~sklearn.pipeline.Pipeline` whose last step is named
``clf`` and which standardizes the features itself where the model needs it, so a search never fits
anything outside its training folds. Grid parameters address the pipeline steps (``clf__C``).
Default grids live in ``configs/<name>.yaml`` (see :mod:`featurelab.models.config`).

The built-in models are the modules of :mod:`featurelab.models.zoo`, one per model (adding a model
is one module there plus its grid); others can be added with :func:`register_model`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from .._registry import Component, Registry, import_object
from ..exceptions import ParameterError

__all__ = [
    "MODELS",
    "ModelSpec",
    "register_model",
    "get_model_spec",
    "available_models",
    "make_model",
    "default_grid",
    "final_estimator",
]


@dataclass(frozen=True)
class ModelSpec(Component):
    """A named model of the registry.

    Parameters
    ----------
    name : str
        Registry name (``--model NAME``).
    description : str
        One line for ``--help`` and error messages.
    factory : str
        ``"module:function"`` of
        ``f(*, random_state, n_jobs, class_weight, **options) -> Pipeline``.
    requires, extra, install_hint
        What the model needs installed (see :class:`featurelab._registry.Component`).
    """

    kind: ClassVar[str] = "Model"

    factory: str

    def load(self) -> Callable[..., Any]:
        """Import and return the factory function."""
        return import_object(self.factory)


class ModelRegistry(Registry[ModelSpec]):
    """The model registry: the built-in models of :mod:`featurelab.models.zoo` come first.

    The zoo's modules are imported on the first lookup (not on import), so that importing this
    module stays cheap; models registered by users follow the built-in ones.
    """

    _discovered = False

    @property
    def _items(self) -> dict[str, ModelSpec]:
        if not self._discovered:
            self._discovered = True
            from .zoo import builtin_models

            user = dict(self._store)
            self._store.clear()
            self._store.update({spec.name: spec for spec in builtin_models()})
            self._store.update(user)
        return self._store

    @_items.setter
    def _items(self, value: dict[str, ModelSpec]) -> None:
        self._store = value


#: The registered models (``--model`` names).
MODELS: ModelRegistry = ModelRegistry("model")


def register_model(spec: ModelSpec, *, replace: bool = False) -> ModelSpec:
    """Add a model to the registry.

    Parameters
    ----------
    spec : ModelSpec
        The model to add.
    replace : bool
        Allow replacing a model of the same name.

    Returns
    -------
    ModelSpec
        ``spec``, unchanged.
    """
    return MODELS.register(spec, replace=replace)


def available_models() -> list[str]:
    """Names of the registered models, in registration order."""
    return MODELS.names()


def get_model_spec(name: str) -> ModelSpec:
    """Look a model up by name; an unknown name lists the valid ones.

    Raises
    ------
    ParameterError
        ``name`` is not registered.
    """
    return MODELS.get(name)


def make_model(
    name: str,
    *,
    random_state: int | None = 0,
    n_jobs: int = 1,
    class_weight: dict | str | None = None,
    log_var: bool = False,
    **params: Any,
) -> Any:
    """Build an unfitted model of the registry.

    Parameters
    ----------
    name : str
        A name from :func:`available_models`.
    random_state : int or None
        Seed of the model's own randomness.
    n_jobs : int
        Threads/processes the model itself may use (keep 1 inside a parallel search).
    class_weight : "balanced", dict or None
        Class weighting; a model that cannot weight classes raises :class:`ParameterError`.
    log_var : bool
        Prepend a :class:`~featurelab.models.estimators.SignedLogTransformer` step ``logvar`` that
        log-compresses the ``*_var`` columns (needs DataFrame input).
    **params
        Keyword arguments of the factory (for example ``members`` of ``voting``) are passed to it;
        all others are set on the built pipeline with ``set_params`` (``clf__C=5``).

    Returns
    -------
    sklearn.pipeline.Pipeline
        The unfitted model; its last step is ``clf``.

    Examples
    --------
    >>> model = make_model("svm", clf__C=5)
    >>> [name for name, _ in model.steps]
    ['scale', 'clf']
    """
    spec = get_model_spec(name)
    spec.check_available()
    factory = spec.load()
    signature = inspect.signature(factory).parameters.values()
    accepted = {p.name for p in signature if p.kind is not p.VAR_KEYWORD}
    if any(p.kind is p.VAR_KEYWORD for p in signature):
        # a factory taking **kwargs gets every plain keyword; pipeline parameters contain "__"
        accepted |= {key for key in params if "__" not in key}
    options = {key: value for key, value in params.items() if key in accepted}
    settable = {key: value for key, value in params.items() if key not in accepted}
    model = factory(random_state=random_state, n_jobs=n_jobs, class_weight=class_weight, **options)
    if log_var:
        from sklearn.pipeline import Pipeline

        from .estimators import SignedLogTransformer

        steps = model.steps if isinstance(model, Pipeline) else [("clf", model)]
        model = Pipeline([("logvar", SignedLogTransformer()), *steps])
    if settable:
        try:
            model.set_params(**settable)
        except ValueError as error:
            raise ParameterError(
                f"Invalid parameter for model {name!r}: {error} Parameter names address the "
                f"pipeline steps, for example clf__C; valid top-level keys are "
                f"{', '.join(sorted(model.get_params(deep=False)))}."
            ) from None
    return model


def default_grid(name: str) -> dict[str, list] | list[dict[str, list]]:
    """Return the default search grid of a model, read from ``configs/<name>.yaml``.

    Parameters
    ----------
    name : str
        A registered model name.

    Returns
    -------
    dict or list of dict
        Parameter name -> candidate values (or a list of such sub-grids); empty when the model
        has no config file.
    """
    from .config import load_model_config

    get_model_spec(name)
    return load_model_config(name).grid


def final_estimator(model: Any) -> Any:
    """Return the innermost (fitted or unfitted) classifier of a registry model.

    Unwraps :class:`~sklearn.pipeline.Pipeline`, :class:`LabelEncodingClassifier` and a
    single-model :class:`~sklearn.calibration.CalibratedClassifierCV`, for tools (such as SHAP's
    ``TreeExplainer``) that need the bare XGBoost/LightGBM/SVC object.

    Parameters
    ----------
    model : estimator
        A model built by :func:`make_model`, fitted or not.

    Returns
    -------
    estimator
        The bare classifier (fitted if ``model`` was).
    """
    from sklearn.pipeline import Pipeline

    from .estimators import LabelEncodingClassifier

    current = model
    for _ in range(10):
        if isinstance(current, Pipeline):
            current = current.steps[-1][1]
        elif isinstance(current, LabelEncodingClassifier):
            current = getattr(current, "estimator_", current.estimator)
        elif type(current).__name__ == "CalibratedClassifierCV":
            fitted = getattr(current, "calibrated_classifiers_", None)
            current = fitted[0].estimator if fitted and len(fitted) == 1 else current.estimator
        else:
            break
    return current
