"""The results of a run: :class:`RunResults`, the content of every ``results.json``.

Classical searches (``featurelab gridsearch``), the CNN (``featurelab train-cnn``) and any other
evaluation write the same keys, so ``compare``, ``report`` and notebooks read every run alike. The
keys are listed in :mod:`featurelab.models.rundir` (the run-directory contract); this module holds
their type, the schema version and the conversion from and to JSON dictionaries.

``schema_version`` is written into every file. Files written before it existed (no
``schema_version``) are version 1; a file of a newer version than this featurelab knows is refused
with one line naming the version.

Examples
--------
>>> results = RunResults.from_dict({"model": "svm", "protocol": "5-fold", "accuracy_mean": 0.8})
>>> results.model, results.get("accuracy_mean"), results.to_dict()["schema_version"]
('svm', 0.8, 1)
>>> RunResults.from_dict({"schema_version": 9})
Traceback (most recent call last):
...
featurelab.exceptions.FeaturelabError: results.json has schema_version 9, newer than this featurelab ...
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._format import finite
from .._json import to_jsonable
from ..exceptions import FeaturelabError

__all__ = ["SCHEMA_VERSION", "SCORE_KEYS", "RunResults", "check_schema_version"]

#: The version of the run files (``results.json``, ``selection.json``) this featurelab writes.
SCHEMA_VERSION = 1

#: The summary scores: ``<metric>_mean`` / ``<metric>_std`` over outer folds (and repeats).
SCORE_KEYS = tuple(
    f"{prefix}{metric}_{stat}"
    for prefix in ("", "track_")
    for metric in ("accuracy", "balanced_accuracy", "f1_macro")
    for stat in ("mean", "std")
)

# Keys a producer may leave out (written only when set): search settings of models without a
# search, track-level tables of track tables.
_OPTIONAL = frozenset({"protocol_settings", "search", "table", "track_per_class", "track_confusion_matrix"})


def check_schema_version(data: Mapping[str, Any], name: str = "results.json") -> int:
    """Return the ``schema_version`` of a run file's dictionary (1 when absent).

    Raises
    ------
    FeaturelabError
        The version is not an integer, or is newer than :data:`SCHEMA_VERSION`.
    """
    from .._version import __version__

    version = data.get("schema_version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise FeaturelabError(f"{name} has an invalid schema_version {str(version)[:40]!r}.")
    if version > SCHEMA_VERSION:
        raise FeaturelabError(
            f"{name} has schema_version {version}, newer than this featurelab {__version__} reads "
            f"(up to {SCHEMA_VERSION}); upgrade featurelab to read it."
        )
    return version


@dataclass
class RunResults:
    """What a run measured: the ``results.json`` of a run directory.

    Values stay as read (a damaged file may hold a string where a number belongs); use
    :meth:`score` for a checked number. Keys other than the fields below (``config``,
    ``final_model``, ``device``, ...) are kept in :attr:`extra`, in order.

    Attributes
    ----------
    model : str
        Registry name (``"svm"``) or ``"cnn"``.
    protocol : str
        Human-readable protocol (``"5-fold StratifiedGroupKFold"``).
    protocol_settings : dict or None
        ``kind``, ``cv``, ``repeats``, ``test_size``, ``split_dir``, ``grouped``, ``nested``; with a
        predefined split also ``split``: ``name``, per list the tracks ``listed`` and ``matched``
        and the ``rows``, and ``unlisted_rows``/``unlisted_tracks`` (in no list, left out). Runs
        written before it have no ``split``.
    search : dict or None
        Search settings (method, grid, inner validation, scoring, ...); ``None`` without a search.
    table : str or None
        The feature table (or corpus) evaluated.
    n_samples, n_tracks, n_features, n_classes : int
        Sizes of the data.
    classes : list of str
        The labels, sorted; the order of ``per_class`` and of the confusion matrices.
    is_segment_table : bool
        Rows are segments of tracks (track-level scores are then given too).
    scores : dict
        :data:`SCORE_KEYS` -> mean or std over outer folds (``None`` where not measured).
    fit_time_mean, fit_time_std : float
        Seconds to fit one outer fold (search included).
    predict_time_per_track : float
        Seconds to predict one track.
    best_params : list of dict
        The chosen parameters of each outer fold.
    fold_scores : list of dict
        Scores of each outer fold (``repeat``, ``fold``, ``accuracy``, ...).
    per_class, track_per_class : dict
        ``{label: {"precision", "recall", "f1", "support"}}`` over the pooled outer test sets.
    confusion_matrix, track_confusion_matrix : list of list of int
        Pooled over the outer test sets; rows = true labels.
    seed : int
        The base seed.
    featurelab_version, created, command : str
        Who wrote the run, when (ISO 8601, UTC) and with which command line.
    extra : dict
        Every other key.
    schema_version : int
        The version of the file read (:data:`SCHEMA_VERSION` for new results).
    """

    model: Any = None
    protocol: Any = None
    protocol_settings: Any = None
    search: Any = None
    table: Any = None
    n_samples: Any = None
    n_tracks: Any = None
    n_features: Any = None
    n_classes: Any = None
    classes: Any = None
    is_segment_table: Any = None
    scores: dict[str, Any] = field(default_factory=dict)
    fit_time_mean: Any = None
    fit_time_std: Any = None
    predict_time_per_track: Any = None
    best_params: Any = None
    fold_scores: Any = None
    per_class: Any = None
    confusion_matrix: Any = None
    track_per_class: Any = None
    track_confusion_matrix: Any = None
    seed: Any = None
    featurelab_version: Any = None
    created: Any = None
    command: Any = None
    extra: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    # ------------------------------------------------------------------------- dict access
    def get(self, key: str, default: Any = None) -> Any:
        """Return the value of a ``results.json`` key (a field, a score or an extra key)."""
        if key in _FIELDS:
            value = getattr(self, key)
        elif key in SCORE_KEYS:
            value = self.scores.get(key)
        else:
            value = self.extra.get(key)
        return default if value is None else value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def score(self, metric: str) -> tuple[float | None, float | None]:
        """Return ``(mean, std)`` of a metric (``"accuracy"``, ``"track_f1_macro"``, ...) as finite floats.

        Anything missing, non-numeric or non-finite is ``None``.
        """
        return finite(self.get(f"{metric}_mean")), finite(self.get(f"{metric}_std"))

    # ------------------------------------------------------------------------- conversion
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, name: str = "results.json") -> RunResults:
        """Build from a ``results.json`` dictionary (any version up to :data:`SCHEMA_VERSION`).

        Raises
        ------
        FeaturelabError
            ``data`` is not a mapping, or is of a newer schema version.
        """
        if not isinstance(data, Mapping):
            raise FeaturelabError(f"{name} does not hold a JSON object.")
        version = check_schema_version(data, name)
        values: dict[str, Any] = {"scores": {}, "extra": {}, "schema_version": version}
        for key, value in data.items():
            if key == "schema_version":
                continue
            if key in _FIELDS:
                values[key] = value
            elif key in SCORE_KEYS:
                values["scores"][key] = value
            else:
                values["extra"][key] = value
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """Return the ``results.json`` dictionary (``schema_version`` first, then the contract keys).

        Values are plain JSON types (numpy values converted, NaN -> ``None``). Score keys that were
        never set are written as ``null``; optional keys (``search``, ``protocol_settings``,
        ``table``, ``track_per_class``, ``track_confusion_matrix``) only when set.
        """
        out: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
        for name in _FIELDS:
            if name == "scores":
                out.update({key: self.scores.get(key) for key in SCORE_KEYS})
                continue
            value = getattr(self, name)
            if value is None and name in _OPTIONAL:
                continue
            out[name] = value
        out.update(self.extra)
        return to_jsonable(out)

    def update(self, **values: Any) -> RunResults:
        """Set keys (fields, scores or extra keys) in place; return ``self``."""
        for key, value in values.items():
            if key in _FIELDS:
                setattr(self, key, value)
            elif key in SCORE_KEYS:
                self.scores[key] = value
            else:
                self.extra[key] = value
        return self

    # ------------------------------------------------------------------------- files
    @classmethod
    def read(cls, path: str | os.PathLike) -> RunResults:
        """Read ``results.json`` (a run directory or the file itself), guarded against hostile files.

        Raises
        ------
        FeaturelabError
            The file is missing, unreadable, not a JSON object, too large or deep, or newer.
        """
        from .._json import read_json

        path = Path(path)
        if path.is_dir():
            path = path / "results.json"
        if not path.is_file():
            raise FeaturelabError(
                f"{str(path.parent)!r} is not a run directory (no results.json). Create one with "
                "`featurelab gridsearch`."
            )
        return cls.from_dict(read_json(path), name=str(path))

    def write(self, run_dir: str | os.PathLike) -> Path:
        """Write ``results.json`` into ``run_dir`` (atomically; NaN -> null)."""
        from .._json import write_json

        return write_json(Path(run_dir) / "results.json", self.to_dict())


_FIELDS = tuple(f.name for f in dataclasses.fields(RunResults) if f.name not in ("extra", "schema_version"))
