"""Saving and loading trained models (skops by default, joblib only when trusted).

A saved model is a payload ``{"format": "featurelab-model", "format_version": 1, "estimator": ...,
"metadata": {...}}`` written in up to two formats next to a ``model.json`` copy of the metadata:

- ``model.skops`` -- :mod:`skops.io`, which loads without executing arbitrary code: only the types
  in :data:`TRUSTED_TYPES` (and those skops trusts itself) are accepted unless ``trust=True``. The
  files of common models (svm, logreg, knn) are read by :mod:`featurelab.models._skops_fast`
  without ``import skops.io`` (seconds of start-up), under a stricter allowlist; any other file
  goes through skops.
- ``model.joblib`` -- :mod:`joblib` (pickle). **Loading a pickle can run arbitrary code: only load
  joblib/pickle files from trusted sources.** featurelab refuses them unless ``trust=True``.

``model.json`` records each file's SHA-256, and loading checks it, so a modified or truncated file
is refused with :class:`~featurelab.exceptions.ModelFileError` before it is deserialized.

A model on feature tables names its ``feature_names``; a model on arrays (the CNN of ``train-cnn``,
:class:`~featurelab.nn.cnn.CNNClassifier`) has none and records its ``inputs`` instead (an array
product of :mod:`featurelab.arrays`, such as ``{"product": "logmel", "n_mels": 128, ...}``): with
the ``extraction`` settings, that is what ``featurelab predict`` needs to recompute its inputs.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..exceptions import FeaturelabError, ModelFileError, ParameterError
from ..io import atomic_path
from ..settings import ExtractionSettings

__all__ = [
    "TRUSTED_TYPES",
    "SavedModel",
    "save_model",
    "load_model",
    "library_versions",
    "FORMAT",
    "FORMAT_VERSION",
]

FORMAT = "featurelab-model"
FORMAT_VERSION = 1
_PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle")

#: Types that featurelab's models contain beyond those skops trusts by default.
TRUSTED_TYPES: tuple[str, ...] = (
    "builtins.dict",
    "collections.OrderedDict",
    "featurelab.models.estimators.LabelEncodingClassifier",
    "featurelab.models.estimators.SignedLogTransformer",
    "featurelab.models.neural.MLPTorchClassifier",  # mlp_torch files saved before featurelab.nn
    "featurelab.nn.cnn.classifier.CNNClassifier",
    "featurelab.nn.mlp.MLPTorchClassifier",
    "lightgbm.basic.Booster",
    "lightgbm.sklearn.LGBMClassifier",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.calibration._TemperatureScaling",
    "sklearn.metrics._dist_metrics.ChebyshevDistance64",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.metrics._dist_metrics.ManhattanDistance64",
    "sklearn.metrics._dist_metrics.MinkowskiDistance64",
    "sklearn.metrics._classification.accuracy_score",
    "sklearn.metrics._scorer._Scorer",
    "sklearn.model_selection._split.StratifiedKFold",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
    "sklearn.tree._tree.Tree",
    "sklearn.utils._bunch.Bunch",
    "xgboost.core.Booster",
    "xgboost.sklearn.XGBClassifier",
)


def library_versions() -> dict[str, str | None]:
    """Versions of Python and of the libraries a saved model depends on."""
    from importlib import metadata

    versions: dict[str, str | None] = {
        "python": platform.python_version(),
        "featurelab": __version__,
    }
    for dist in ("numpy", "scikit-learn", "xgboost", "lightgbm", "skops", "joblib", "librosa"):
        # xgboost-cpu (the Linux/Windows install) is xgboost without CUDA: recorded as "xgboost".
        for name in (dist, "xgboost-cpu") if dist == "xgboost" else (dist,):
            try:
                versions[dist] = metadata.version(name)
                break
            except metadata.PackageNotFoundError:
                versions[dist] = None
    return versions


class SavedModel:
    """A loaded model with its metadata.

    Attributes
    ----------
    estimator : estimator
        The fitted model (has ``predict_proba``). For a model whose probabilities featurelab
        computes with numpy alone (:mod:`featurelab.models._light`: the ``svm`` run's calibrated
        SVM), it is built, importing scikit-learn, only when first read.
    metadata : dict
        ``model``, ``feature_names``, ``classes``, ``extraction`` (settings to reproduce the
        features), ``is_segment_table``, ``best_params``, ``versions``, ...
    path : Path
        The file it was loaded from.
    predictor : object or None
        The numpy predictor :meth:`predict_proba` uses instead of ``estimator``, where there is one.
    """

    def __init__(
        self,
        estimator: Any,
        metadata: dict[str, Any],
        path: str | os.PathLike,
        *,
        predictor: Any = None,
        build: Callable[[], Any] | None = None,
    ) -> None:
        self._estimator, self._build = estimator, build
        self.metadata = metadata
        self.path = Path(path)
        self.predictor = predictor

    @property
    def estimator(self) -> Any:
        """The fitted estimator (built on first read after a light load)."""
        if self._estimator is None and self._build is not None:
            self._estimator, self._build = self._build(), None
        return self._estimator

    def __repr__(self) -> str:
        return f"SavedModel(model={self.metadata.get('model')!r}, path={str(self.path)!r})"

    @property
    def feature_names(self) -> list[str]:
        """Feature columns, in the order the model takes them."""
        return list(self.metadata["feature_names"])

    @property
    def classes(self) -> list[str]:
        """Labels, in the order of the probability columns."""
        source = self.predictor if self.predictor is not None else self.estimator
        return [str(c) for c in source.classes_]

    @property
    def product(self) -> Any:
        """The array product the model takes (:class:`~featurelab.arrays.LogMel`), or ``None`` for columns."""
        data = self.metadata.get("inputs")
        if data is None:
            return None
        from ..arrays import array_product

        try:
            return array_product(data)
        except ParameterError as error:
            raise ModelFileError(
                f"Model {str(self.path)!r} has inputs featurelab cannot compute: {error}"
            ) from None

    def check_tabular(self) -> None:
        """Raise :class:`ModelFileError` if the model takes arrays of audio segments, not table rows."""
        product = self.product
        if product is not None:
            raise ModelFileError(
                f"Model {str(self.path)!r} ({self.metadata.get('model', 'cnn')}) takes {product.name} "
                "spectrograms of audio segments, not the rows of a feature table; give it audio files."
            )

    @property
    def extraction(self) -> ExtractionSettings:
        """Extraction settings of the training table (assumed GTZAN ones for a model without)."""
        data = self.metadata.get("extraction")
        if not data:
            return ExtractionSettings.assume_published(bool(self.metadata.get("is_segment_table")))
        try:
            return ExtractionSettings.from_dict(data)
        except (ParameterError, TypeError) as error:
            raise ModelFileError(
                f"Model {str(self.path)!r} has invalid extraction settings: {error}"
            ) from None

    def check_features(self, columns: Any) -> None:
        """Raise :class:`ModelFileError` unless ``columns`` holds every feature of the model."""
        self.check_tabular()
        present = set(map(str, columns))
        missing = [name for name in self.feature_names if name not in present]
        if missing:
            settings = self.extraction
            raise ModelFileError(
                f"Model {str(self.path)!r} does not match the data: {len(missing)} of its "
                f"{len(self.feature_names)} feature columns are missing "
                f"({', '.join(missing[:6])}{' ...' if len(missing) > 6 else ''}). It was trained "
                f"on features {list(settings.features)} at sr={settings.sr} "
                f"(segment={settings.segment}); extract the table with those settings."
            )

    def check_extraction(self, settings: ExtractionSettings | Mapping[str, Any] | None) -> None:
        """Raise :class:`ModelFileError` if a table's extraction settings differ from the model's.

        Parameters
        ----------
        settings : ExtractionSettings, mapping or None
            The table's settings (from its ``<table>.meta.json`` sidecar; ``None``: nothing to
            compare).
        """
        if not settings:
            return
        differences = self.extraction.differences(settings, labels=("model", "table"))
        if differences:
            raise ModelFileError(
                f"Model {str(self.path)!r} does not match the table's extraction settings ("
                + "; ".join(differences)
                + "). Extract the table with the model's settings."
            )

    def predict_proba(self, frame: Any) -> np.ndarray:
        """Probabilities of each row of a feature table (or of each array, for a model on arrays).

        Parameters
        ----------
        frame : pandas.DataFrame or np.ndarray
            Must contain the model's feature columns (others are ignored); for a model on arrays,
            the arrays of its :attr:`product` (shape ``(n, *product.shape(extraction))``).

        Returns
        -------
        np.ndarray [shape=(n_rows, n_classes)]
            Columns in the order of :attr:`classes`.

        Raises
        ------
        TableError
            A feature value is text, missing, infinite or too large
            (:func:`featurelab.models.data.feature_matrix`).
        """
        product = self.product
        if product is not None:
            X = np.asarray(frame, dtype=np.float32)
            shape = product.shape(self.extraction)
            if X.shape[1:] != shape:
                raise ModelFileError(
                    f"Model {str(self.path)!r} takes {product.name} arrays of shape {shape}. Got "
                    f"arrays of shape {X.shape[1:]} instead."
                )
            if not np.isfinite(X).all():
                raise ModelFileError("The arrays contain missing or infinite values.")
            return np.asarray(self.estimator.predict_proba(X))
        if isinstance(frame, np.ndarray):  # rows of the model's features, in its order
            X = np.asarray(frame, dtype=np.float64)
            if X.ndim != 2 or X.shape[1] != len(self.feature_names):
                raise ModelFileError(
                    f"Model {str(self.path)!r} takes rows of {len(self.feature_names)} features. "
                    f"Got an array of shape {X.shape} instead."
                )
            # feature_matrix's limits (models.data.MAX_FEATURE_MAGNITUDE; that module imports pandas)
            usable = np.isfinite(X).all() and not (np.abs(X) > float(np.finfo(np.float32).max)).any()
            if self.predictor is not None and usable:
                return np.asarray(self.predictor.predict_proba(X))
            import pandas as pd  # scikit-learn's estimators, or feature_matrix's wording of the error

            frame = pd.DataFrame(X, columns=self.feature_names)
        from .data import feature_matrix

        self.check_features(frame.columns)
        X = feature_matrix(frame, self.feature_names)
        if self.predictor is not None:
            return np.asarray(self.predictor.predict_proba(X.to_numpy(dtype=np.float64)))
        return np.asarray(self.estimator.predict_proba(X))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_model(
    estimator: Any,
    directory: str | os.PathLike,
    *,
    metadata: dict[str, Any],
    formats: tuple[str, ...] = ("skops", "joblib"),
) -> dict[str, Path]:
    """Save a fitted model as ``model.skops`` / ``model.joblib`` plus ``model.json``.

    Parameters
    ----------
    estimator : estimator
        The fitted model.
    directory : path
        Output folder (created).
    metadata : dict
        JSON-serializable metadata; must hold ``feature_names`` and ``classes``. An
        ``extraction`` :class:`~featurelab.settings.ExtractionSettings` is saved as its dict.
        ``format``, ``versions``, ``files`` are added.
    formats : tuple of {"skops", "joblib"}
        Which files to write.

    Returns
    -------
    dict
        Format (and ``"json"``) -> written path.
    """
    for key in ("feature_names", "classes"):
        if key not in metadata:
            raise ModelFileError(f"Model metadata must hold {key!r}.")
    unknown = set(formats) - {"skops", "joblib"}
    if unknown or not formats:
        raise ModelFileError(f"formats must be among skops, joblib. Got {formats!r} instead.")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        **metadata,
        "versions": library_versions(),
    }
    if isinstance(meta.get("extraction"), ExtractionSettings):  # Dataset.extraction
        meta["extraction"] = meta["extraction"].to_dict()
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, "estimator": estimator, "metadata": meta}
    written: dict[str, Path] = {}
    files: dict[str, dict[str, str]] = {}
    for fmt in formats:
        path = directory / f"model.{fmt}"
        with atomic_path(path) as tmp:
            if fmt == "skops":
                import skops.io as sio

                sio.dump(payload, tmp)
            else:
                import joblib

                joblib.dump(payload, tmp)
        written[fmt] = path
        files[path.name] = {"sha256": _sha256(path)}
    meta["files"] = files
    json_path = directory / "model.json"
    with atomic_path(json_path) as tmp:
        tmp.write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
    written["json"] = json_path
    return written


def _torch_format_error(path: Path) -> ModelFileError:
    """Return the one-line error for a CNN saved as ``model.pt`` (featurelab 0.1.0's ``train-cnn``)."""
    from .._json import read_json

    folder = path if path.is_dir() else path.parent
    version = "0.1.0"
    try:
        results = read_json(folder / "results.json")
        if isinstance(results, dict) and isinstance(results.get("featurelab_version"), str):
            version = results["featurelab_version"][:40]
    except (FeaturelabError, OSError):
        pass  # the version only words the message
    return ModelFileError(
        f"{str(path)!r} holds model.pt, a CNN saved in PyTorch's format by featurelab {version}'s "
        "train-cnn, from before CNN models were saved as model.skops; featurelab cannot load it. "
        "Retrain it with `featurelab train-cnn --save-model`."
    )


def _resolve(path: Path, trust: bool) -> Path:
    if (path.is_file() and path.suffix.lower() == ".pt") or (
        path.is_dir()
        and (path / "model.pt").is_file()
        and not any((path / name).is_file() for name in ("model.skops", "model.joblib"))
    ):
        raise _torch_format_error(path)
    if path.is_dir():
        for name in ("model.skops", "model.joblib") if trust else ("model.skops",):
            if (path / name).is_file():
                return path / name
        if (path / "model.joblib").is_file():
            raise ModelFileError(
                f"{str(path)!r} holds only model.joblib, a pickle that can run arbitrary code when "
                "loaded. Load it only if you trust its source, with trust=True (--trust)."
            )
        raise ModelFileError(f"{str(path)!r} holds no model.skops or model.joblib file.")
    if not path.is_file():
        raise ModelFileError(f"Model file {str(path)!r} does not exist.")
    return path


def _check_checksum(path: Path) -> None:
    sidecar = path.with_name("model.json")
    if not sidecar.is_file():
        return
    try:
        recorded = json.loads(sidecar.read_text(encoding="utf-8")).get("files", {})
    except (OSError, ValueError, AttributeError):
        raise ModelFileError(f"{str(sidecar)!r} is not valid JSON; the model folder is damaged.") from None
    entry = recorded.get(path.name) if isinstance(recorded, dict) else None
    expected = entry.get("sha256") if isinstance(entry, dict) else None
    if entry is not None and not isinstance(expected, str):
        raise ModelFileError(
            f"{str(sidecar)!r} has no valid checksum for {path.name}; the model folder is damaged."
        )
    if expected and expected != _sha256(path):
        raise ModelFileError(
            f"Model file {str(path)!r} does not match the SHA-256 recorded in {sidecar.name}: it "
            "was modified or damaged after it was saved. Retrain or restore the file."
        )


def load_model(path: str | os.PathLike, *, trust: bool = False) -> SavedModel:
    """Load a model saved by :func:`save_model` (or a ``featurelab gridsearch`` run directory).

    Parameters
    ----------
    path : path
        A ``.skops`` or ``.joblib`` file, or a folder holding ``model.skops``.
    trust : bool
        Allow pickle-based files (joblib) and skops files holding types outside
        :data:`TRUSTED_TYPES`. **Only for files from a trusted source**: unpickling can execute
        arbitrary code.

    Returns
    -------
    SavedModel

    Raises
    ------
    ModelFileError
        The file is missing, corrupt, modified since it was saved, not a featurelab model, holds
        untrusted types, or is a pickle and ``trust`` is false.
    """
    path = _resolve(Path(path), trust)
    _check_checksum(path)
    light = _load_light(path) if path.suffix.lower() == ".skops" else None
    if light is not None:
        return light
    if path.suffix.lower() in _PICKLE_SUFFIXES:
        if not trust:
            raise ModelFileError(
                f"{str(path)!r} is a joblib/pickle file, which can run arbitrary code when loaded. "
                "Load it only if you trust its source, with trust=True (--trust), or use the "
                "model.skops file saved beside it."
            )
        payload = _load_joblib(path)
    elif path.suffix.lower() == ".skops":
        payload = _load_skops(path, trust)
    else:
        raise ModelFileError(f"Model file {str(path)!r} must end in .skops or .joblib. Got {path.suffix!r}.")
    if not (
        isinstance(payload, dict)
        and payload.get("format") == FORMAT
        and "estimator" in payload
        and isinstance(payload.get("metadata"), dict)
    ):
        raise ModelFileError(f"{str(path)!r} is not a featurelab model file.")
    if int(payload.get("format_version", 0)) > FORMAT_VERSION:
        raise ModelFileError(
            f"{str(path)!r} was saved by a newer featurelab (model format "
            f"{payload.get('format_version')}); upgrade featurelab to load it."
        )
    estimator = payload["estimator"]
    if not hasattr(estimator, "predict_proba") or not hasattr(estimator, "classes_"):
        raise ModelFileError(f"{str(path)!r} holds no fitted classifier with predict_proba.")
    metadata = payload["metadata"]
    if "feature_names" not in metadata:
        raise ModelFileError(f"{str(path)!r} has no feature names in its metadata.")
    return SavedModel(estimator=estimator, metadata=metadata, path=path)


def _load_light(path: Path) -> SavedModel | None:
    """Load a skops file whose model numpy can predict, without importing scikit-learn; else None.

    The file is read by the light skops reader (the same allowlist check), its estimator left
    unbuilt; :func:`~featurelab.models._light.light_predictor` turns it into a numpy predictor. The
    estimator itself is built (through :func:`load_model`'s usual path, checksum included) only
    if someone reads ``SavedModel.estimator``.
    """
    from ._light import SUPPORTED_TYPE, light_predictor
    from ._skops_fast import entry_type
    from ._skops_fast import load as load_fast

    if entry_type(path, "estimator") != SUPPORTED_TYPE:  # other models: no second read of the file
        return None
    payload = load_fast(path, TRUSTED_TYPES, light=True)
    if not (
        isinstance(payload, dict)
        and payload.get("format") == FORMAT
        and isinstance(payload.get("format_version"), int)
        and payload["format_version"] <= FORMAT_VERSION
        and isinstance(payload.get("metadata"), dict)
        and "feature_names" in payload["metadata"]
        and "inputs" not in payload["metadata"]
    ):
        return None
    predictor = light_predictor(payload.get("estimator"))
    if predictor is None:
        return None
    names = payload["metadata"]["feature_names"]
    if not isinstance(names, (list, tuple)) or len(names) != predictor.n_features_in_:
        return None

    def build() -> Any:
        _check_checksum(path)
        return _load_skops(path, trust=False)["estimator"]

    return SavedModel(None, payload["metadata"], path, predictor=predictor, build=build)


def _load_joblib(path: Path) -> Any:
    import joblib

    try:
        return joblib.load(path)
    except Exception as error:  # noqa: BLE001 - unpickling raises anything
        raise ModelFileError(
            f"{str(path)!r} is not a readable joblib model file ({type(error).__name__}: {error})."
        ) from None


def _load_skops(path: Path, trust: bool) -> Any:
    from ._skops_fast import load as load_fast

    payload = load_fast(path, TRUSTED_TYPES)  # common models, without `import skops.io` (seconds)
    if payload is not None:
        return payload
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as error:  # noqa: BLE001 - zipfile/json errors of a damaged file
        raise ModelFileError(
            f"{str(path)!r} is not a readable skops model file ({type(error).__name__}: {error})."
        ) from None
    unknown = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if unknown and not trust:
        raise ModelFileError(
            f"{str(path)!r} contains types that featurelab does not trust: {', '.join(unknown)}. "
            "Inspect them; if you trust the file's source, load it with trust=True (--trust)."
        )
    try:
        return sio.load(path, trusted=list(untrusted))
    except Exception as error:  # noqa: BLE001
        raise ModelFileError(
            f"{str(path)!r} is not a readable skops model file ({type(error).__name__}: {error})."
        ) from None
