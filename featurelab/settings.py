"""Extraction settings: the one object that says how the numbers of a feature table were made.

:class:`ExtractionSettings` carries every extraction option from the command line and the API through
the extraction driver to the table's ``<stem>.meta.json`` sidecar, the model trained on the table
(``Dataset.extraction``, ``model.json["extraction"]``) and ``featurelab predict``, which extracts new
audio with the model's settings. It validates itself, reads and writes the sidecar, knows the settings
of the published GTZAN tables (assumed for a table without sidecar) and compares itself with the
settings of another table or model (:meth:`ExtractionSettings.differences`).

Adding an extraction option is one field here (with its constraint in :meth:`_constraints`) and one
``featurelab extract`` option of the same name; its value then reaches the workers, the resume-cache
key, the sidecar, saved models and ``predict`` without further code. Field metadata says how a field
takes part:

- ``segment_only``: it describes segments, and a track table records ``None``;
- ``match``: a model and a table whose values differ do not fit together (it changes a row's numbers);
- ``key``: it is part of the resume-cache key (it changes the numbers the workers compute);
- ``optional``: left out of the sidecar, model files and cache keys while at its default, so the
  files of versions that did not know the option stay the same bytes and keep their meaning;
- ``train_only``: it makes extra training rows (augmentation); ``predict`` never applies it
  (:meth:`ExtractionSettings.for_prediction`).

Examples
--------
>>> settings = ExtractionSettings(segment=3.0)
>>> settings.features, settings.sr, settings.hop, settings.segment_mode
(('gtzan',), 22050, 3.0, 'gtzan')
>>> settings.for_table("track").segment is None
True
>>> ExtractionSettings(sr=16000).differences(ExtractionSettings(), labels=("model", "table"))
['sr: model 16000, table 22050']
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .exceptions import FeaturelabError, ParameterError, TableError

__all__ = [
    "ExtractionSettings",
    "SEGMENT_MODES",
    "NORMALIZE_METHODS",
    "SHORT_CLIP_POLICIES",
    "PREDICT_SHORT_CLIPS",
    "TableKind",
    "PUBLISHED_SEGMENT",
]

TableKind = Literal["track", "segment"]

#: Segment presets: "gtzan" reproduces the published 3 s table (``y[i*w : i*w + w - 1]``).
SEGMENT_MODES = ("gtzan", "exact")

#: Segment length of the published ``features_3_sec.csv`` (seconds).
PUBLISHED_SEGMENT = 3.0

#: Loudness normalisation of each unit before its features (see :mod:`featurelab.loudness`).
NORMALIZE_METHODS = ("none", "peak", "rms")

#: What a segment table does with a clip shorter than one segment (see :mod:`featurelab.units`):
#: "drop" it (an error row, as the published tables), score it as one shorter "window", "loop" it
#: (repeat it) to one segment, or "pad" it with silence to one segment.
SHORT_CLIP_POLICIES = ("drop", "window", "loop", "pad")

#: The policy ``predict`` and augmented crops use when the table's is "drop" (the best on held-out
#: 2-3 s crops in ``bench/shift_bench.py``; see the README, "How well does it generalize?").
PREDICT_SHORT_CLIPS = "loop"


def _option(
    default: Any,
    *,
    segment_only: bool = False,
    match: bool = True,
    key: bool = True,
    optional: bool = False,
    train_only: bool = False,
) -> Any:
    """Declare an extraction option (see the module docstring for the flags)."""
    metadata = {
        "segment_only": segment_only,
        "match": match,
        "key": key,
        "optional": optional,
        "train_only": train_only,
    }
    return field(default=default, metadata=metadata)


def _provenance(default: Any) -> Any:
    """Where the settings come from: recorded, never compared, never an option."""
    return field(default=default, compare=False, repr=False, kw_only=True, metadata={"provenance": True})


def _parse_features(features: Any) -> tuple[str, ...] | None:
    if features is None:
        return None
    parts = features.split(",") if isinstance(features, str) else list(features)
    if not all(isinstance(part, str) for part in parts):
        raise ParameterError(f"features must be feature-set names. Got {features!r} instead.")
    names = tuple(part.strip() for part in parts if part.strip())
    if not names:
        raise ParameterError("features must name at least one feature set. Got an empty list.")
    from .features.registry import expand_feature_names

    return expand_feature_names(names)


@dataclass(frozen=True, eq=False)
class ExtractionSettings:
    """Everything that determines the numbers of a feature table.

    Parameters
    ----------
    features : str, sequence of str or None
        Feature-set names in column order (``"gtzan,contrast"`` or a sequence); ``None``: the
        backend's set; a named combination (``"generalize"``, see
        :data:`featurelab.features.registry.COMBINATIONS`) stands for its sets. Stored as a tuple
        of set names. Names are looked up in the registry when
        extraction starts, so the settings of a stored table load even where a set is not installed.
    sr : int
        Decoding sampling rate in Hz (audio is resampled to it).
    segment : float or None
        Segment window in seconds (3.0 for the GTZAN 3 s table); ``None``: whole files only.
    segment_hop : float or None
        Seconds between segment starts; ``None``: ``segment`` (consecutive windows).
    segment_mode : {"gtzan", "exact"}
        ``"gtzan"``: segment ``i`` is ``y[i*w : i*w + w - 1]`` like the published table (one sample
        short); ``"exact"``: full windows.
    backend : {"librosa", "pyaudioanalysis"}
        Gives the default feature set (the GTZAN schema, or pyAudioAnalysis statistics).
    normalize : {"none", "peak", "rms"}
        Scale each unit (the file of a track row, the window of a segment row) to a peak of 1 or
        an RMS of 0.1 (-20 dBFS) before its features, which makes them independent of the input
        gain (:mod:`featurelab.loudness`); ``"none"``: as decoded, like the published tables.
    short_clips : {"drop", "window", "loop", "pad"}
        Segment tables: a clip shorter than one segment is dropped (an error row, like the
        published tables), one shorter window, looped to one segment or zero-padded to one.
        ``predict`` uses :data:`PREDICT_SHORT_CLIPS` instead of ``"drop"``.
    augment : str or None
        Waveform augmentation spec (``"shift"``, ``"gain=-20:0,noise=10:30,crop=2:3"``; see
        :mod:`featurelab.augment`): each file adds ``copies`` augmented copies of its rows, marked
        in an ``augmented`` column (training rows only; never applied by ``predict``).
    copies : int
        Augmented copies of each file's rows (with ``augment``).
    augment_seed : int
        Seed of the augmentation (with ``augment``); a row's draw depends only on it, the file's
        name and the row, never on the order or the number of workers.
    featurelab_version : str or None
        Provenance: the version that extracted the table (keyword only, not compared).
    assumed : bool
        Provenance: the table had no sidecar and these are the published GTZAN settings assumed
        for it (keyword only, not compared).
    note : str or None
        Provenance: why the settings were assumed (keyword only, not compared).

    Raises
    ------
    ParameterError
        A value is out of range or of the wrong type.

    Notes
    -----
    Two settings are equal when they make the same tables: options that do not apply (segment
    options without ``segment``) and provenance are not compared, and ``segment_hop=None`` equals
    ``segment_hop=segment``.
    """

    features: tuple[str, ...] = _option(None)  # type: ignore[assignment]
    sr: int = _option(22050)
    segment: float | None = _option(None, segment_only=True)
    segment_hop: float | None = _option(None, segment_only=True, match=False)
    segment_mode: str = _option("gtzan", segment_only=True, match=False)
    backend: str = _option("librosa", match=False, key=False)
    normalize: str = _option("none", optional=True)
    short_clips: str = _option("drop", segment_only=True, match=False, optional=True)
    augment: str | None = _option(None, match=False, optional=True, train_only=True)
    copies: int = _option(1, match=False, optional=True, train_only=True)
    augment_seed: int = _option(0, match=False, optional=True, train_only=True)
    featurelab_version: str | None = _provenance(None)
    assumed: bool = _provenance(False)
    note: str | None = _provenance(None)

    @staticmethod
    def _constraints() -> dict[str, list[Any]]:
        """Return the accepted values of each field (scikit-learn's declarative constraints).

        Deferred (:data:`featurelab._validation.deferred`): valid settings never import
        scikit-learn, which would cost ``featurelab extract`` and ``predict`` a good part of a second.
        """
        from ._validation import Integral, Real, deferred
        from .features.registry import BACKENDS
        from .io import SAMPLE_RATE_RANGE

        Interval, StrOptions = deferred.Interval, deferred.StrOptions  # noqa: N806 - scikit-learn's names
        positive = [Interval(Real, 0, None, closed="neither"), None]
        return {
            "features": [str, list, tuple, None],
            "sr": [Interval(Integral, *SAMPLE_RATE_RANGE, closed="both")],
            "segment": positive,
            "segment_hop": positive,
            "segment_mode": [StrOptions(set(SEGMENT_MODES))],
            "backend": [StrOptions(set(BACKENDS))],
            "normalize": [StrOptions(set(NORMALIZE_METHODS))],
            "short_clips": [StrOptions(set(SHORT_CLIP_POLICIES))],
            "augment": [str, None],
            "copies": [Interval(Integral, 1, None, closed="left")],
            "augment_seed": [Interval(Integral, 0, None, closed="left")],
            "featurelab_version": [str, None],
            "assumed": ["boolean"],
            "note": [str, None],
        }

    def __post_init__(self) -> None:
        from ._validation import validate_params

        values = dataclasses.asdict(self)
        if isinstance(self.sr, float) and self.sr.is_integer():  # 22050.0 from a JSON file
            values["sr"] = int(self.sr)
        for name in ("segment", "segment_hop"):
            if isinstance(values[name], bool):
                raise ParameterError(f"{name} must be a number of seconds. Got {values[name]!r} instead.")
        validate_params(values, self._constraints(), caller="ExtractionSettings")
        features = _parse_features(self.features)
        if features is None:
            from .features.registry import BACKENDS

            features = BACKENDS[self.backend]
        values.update(features=features, sr=int(values["sr"]))
        for name in ("segment", "segment_hop"):
            if values[name] is not None:
                values[name] = float(values[name])
        if values["segment"] is not None:
            self._check_samples(values)
        self._check_augment(values)
        for name, value in values.items():
            object.__setattr__(self, name, value)

    @staticmethod
    def _check_samples(values: Mapping[str, Any]) -> None:
        sr, segment = values["sr"], values["segment"]
        hop = values["segment_hop"] or segment
        shortest = 2 if values["segment_mode"] == "gtzan" else 1  # a gtzan window drops one sample
        if int(round(segment * sr)) < shortest or int(round(hop * sr)) < 1:
            raise ParameterError(
                f"segment must be at least {shortest} samples and segment_hop at least 1 sample at "
                f"sr={sr}. Got {segment:g} s / {hop:g} s instead."
            )

    @staticmethod
    def _check_augment(values: dict[str, Any]) -> None:
        if values["augment"] is None:
            for name in ("copies", "augment_seed"):
                if values[name] != ExtractionSettings.__dataclass_fields__[name].default:
                    raise ParameterError(f"{name} needs augment (an augmentation spec such as 'shift').")
            return
        from .augment import parse_augment

        values["augment"] = values["augment"].strip()
        parse_augment(values["augment"])  # a clear error for a bad spec, before any work

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ExtractionSettings):
            return NotImplemented
        return type(self) is type(other) and self.to_dict(provenance=False) == other.to_dict(provenance=False)

    def __hash__(self) -> int:
        return hash(repr(sorted(self.to_dict(provenance=False).items())))

    # ------------------------------------------------------------------ construction
    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        """Names of the extraction options (the fields that are not provenance)."""
        return tuple(f.name for f in dataclasses.fields(cls) if not f.metadata.get("provenance"))

    @classmethod
    def coerce(
        cls, settings: ExtractionSettings | None = None, /, *, caller: str = "extract", **options: Any
    ) -> ExtractionSettings:
        """Return ``settings`` (default: the defaults) with ``options`` replaced.

        This is how the API functions take settings: a ``settings=`` object, its fields as keywords,
        or both (keywords win).

        Parameters
        ----------
        settings : ExtractionSettings or None
            The base settings.
        caller : str
            Named in the error for an unknown keyword.
        **options
            Extraction options, named like the fields (``segment=3.0, sr=16000``).

        Raises
        ------
        TypeError
            A keyword is not an extraction option.
        ParameterError
            ``settings`` is not an :class:`ExtractionSettings`, or a value is invalid.

        Examples
        --------
        >>> ExtractionSettings.coerce(ExtractionSettings(sr=16000), segment=1.5).segment
        1.5
        """
        names = cls.option_names()
        unknown = [name for name in options if name not in names]
        if unknown:
            raise TypeError(
                f"{caller}() got an unexpected keyword argument {unknown[0]!r}; extraction options are "
                f"{', '.join(names)}."
            )
        if settings is None:
            return cls(**options)
        if not isinstance(settings, cls):
            raise ParameterError(f"settings must be an ExtractionSettings. Got {settings!r} instead.")
        return dataclasses.replace(settings, **options) if options else settings

    @classmethod
    def from_options(cls, params: Mapping[str, Any]) -> ExtractionSettings:
        """Build settings from the values in ``params`` named like an option (others are ignored).

        The command line passes its parsed options: every ``featurelab extract`` option named like a
        field of this class is an extraction setting.
        """
        return cls(**{name: params[name] for name in cls.option_names() if name in params})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExtractionSettings:
        """Read settings written by :meth:`to_dict` (a sidecar, or ``model.json["extraction"]``).

        Unknown keys (``table``) are ignored and ``None`` stands for a field's default, so every
        sidecar and model file written by earlier versions loads.

        Raises
        ------
        ParameterError
            A value is invalid.
        """
        if not isinstance(data, Mapping):
            raise ParameterError(f"Extraction settings must be a JSON object. Got {data!r} instead.")
        names = [f.name for f in dataclasses.fields(cls)]
        return cls(**{name: data[name] for name in names if data.get(name) is not None})

    @classmethod
    def published(cls, segment: bool = False) -> ExtractionSettings:
        """Return the settings of the published GTZAN tables (``features_30_sec.csv``, ``..._3_sec``).

        Parameters
        ----------
        segment : bool
            The 3 s segment table (GTZAN mode) instead of the track table.
        """
        return cls(segment=PUBLISHED_SEGMENT if segment else None)

    @classmethod
    def assume_published(cls, segment: bool, columns: Sequence[str] = ()) -> ExtractionSettings:
        """Return the published settings, marked as assumed for a table without sidecar.

        Parameters
        ----------
        segment : bool
            The table holds segments.
        columns : sequence of str
            Its feature columns (a note warns when some are not GTZAN columns).
        """
        from .features.schema import GTZAN_FEATURE_COLUMNS

        note = (
            "No <table>.meta.json sidecar: assumed the GTZAN defaults (gtzan features, sr 22050, "
            + ("3 s GTZAN segments" if segment else "whole files")
            + ")."
        )
        if not set(columns) <= set(GTZAN_FEATURE_COLUMNS):
            note += " Some columns are not GTZAN columns; `featurelab predict` may not reproduce them."
        return dataclasses.replace(cls.published(segment), assumed=True, note=note)

    # ------------------------------------------------------------------ views
    def for_table(self, kind: TableKind) -> ExtractionSettings:
        """Return the settings of one table of a run: a track table has no segment settings."""
        if kind == "track":
            return dataclasses.replace(self, segment=None)
        if kind != "segment":
            raise ParameterError(f"tables must contain 'track' and/or 'segment'. Got {kind!r} instead.")
        if self.segment is None:
            raise ParameterError("A segment table needs segment=SECONDS (e.g. segment=3.0).")
        return self

    def for_prediction(self) -> ExtractionSettings:
        """Return the settings ``predict`` extracts new audio with: those of the model's table.

        Training-only options (augmentation) are dropped, and a segment model scores a clip shorter
        than one segment with :data:`PREDICT_SHORT_CLIPS` where its table dropped such clips: a
        decodable clip always gets a prediction.

        Examples
        --------
        >>> model = ExtractionSettings(segment=3.0, augment="shift", copies=2)
        >>> model.for_prediction().augment, model.for_prediction().short_clips
        (None, 'loop')
        """
        replace: dict[str, Any] = {
            f.name: f.default for f in dataclasses.fields(self) if f.metadata.get("train_only")
        }
        if self.segment is not None:
            replace["short_clips"] = self.clip_policy
        return dataclasses.replace(self, **replace)

    @property
    def clip_policy(self) -> str:
        """How a clip shorter than one segment is scored when it must be (``predict``, crops).

        ``short_clips``, or :data:`PREDICT_SHORT_CLIPS` when that is ``"drop"``.
        """
        return PREDICT_SHORT_CLIPS if self.short_clips == "drop" else self.short_clips

    @property
    def hop(self) -> float | None:
        """Seconds between segment starts (``segment_hop``, else ``segment``)."""
        return self.segment_hop or self.segment

    @property
    def table(self) -> TableKind:
        """``"segment"`` when these settings make segments, else ``"track"``."""
        return "track" if self.segment is None else "segment"

    def to_dict(self, *, provenance: bool = True) -> dict[str, Any]:
        """Return the settings as plain JSON values (segment options ``None`` for a track table).

        Optional options (those added after version 0.1) appear only when they are not at their
        default, so the dictionaries of default settings are those earlier versions wrote.

        With ``provenance``, ``featurelab_version`` (when known), ``assumed`` and ``note`` (when
        assumed) follow: the form saved in ``model.json["extraction"]``.
        """
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.metadata.get("provenance"):
                continue
            value = getattr(self, f.name)
            if f.metadata["segment_only"] and self.segment is None:
                value = None
            elif f.name == "segment_hop":
                value = self.hop
            if f.metadata["optional"] and value in (None, f.default):
                continue
            out[f.name] = list(value) if isinstance(value, tuple) else value
        if provenance:
            if self.featurelab_version is not None:
                out["featurelab_version"] = self.featurelab_version
            out["assumed"] = self.assumed
            if self.note is not None:
                out["note"] = self.note
        return out

    def cache_key_values(self, kind: str) -> dict[str, Any]:
        """Return the options that change the numbers of ``kind`` rows (resume-cache key part).

        ``features`` is left out (the key holds each set's version with its name); segment options
        only for segment rows; optional options only when not at their default. Values as given
        (``segment_hop=None`` stays ``None``), so the keys of earlier versions, and their caches,
        stay valid.
        """
        values = {}
        for f in dataclasses.fields(self):
            if f.metadata.get("provenance") or not f.metadata["key"] or f.name == "features":
                continue
            if f.metadata["segment_only"] and kind == "track":
                continue
            if f.metadata["optional"] and getattr(self, f.name) == f.default:
                continue
            values[f.name] = getattr(self, f.name)
        return values

    def cache_description(self, kind: TableKind, versions: Mapping[str, str]) -> dict[str, Any]:
        """Return the part of a cache key that describes the settings of one table kind."""
        features = [[name, versions[name]] for name in self.features]
        return {"kind": kind, "features": features, **self.cache_key_values(kind)}

    def differences(
        self, other: ExtractionSettings | Mapping[str, Any], *, labels: tuple[str, str] = ("these", "those")
    ) -> list[str]:
        """List the options that change a row's numbers and differ between ``self`` and ``other``.

        When either side was assumed (a table without sidecar), only track vs segment length is
        compared: the rest is not known.

        Parameters
        ----------
        other : ExtractionSettings or mapping
            The settings to compare with (a mapping is read with :meth:`from_dict`).
        labels : (str, str)
            How the two sides are named in the messages (``("model", "table")``).

        Returns
        -------
        list of str
            ``"sr: model 22050, table 16000"``, one per differing option; empty when they fit.
        """
        if not isinstance(other, ExtractionSettings):
            other = ExtractionSettings.from_dict(other)
        defaults = {f.name: f.default for f in dataclasses.fields(self) if f.metadata.get("match")}
        names = ["segment"] if self.assumed or other.assumed else list(defaults)
        out = []
        mine_all, theirs_all = self.to_dict(), other.to_dict()
        for name in names:  # an optional option at its default is absent from to_dict
            mine, theirs = mine_all.get(name, defaults[name]), theirs_all.get(name, defaults[name])
            if mine != theirs:
                out.append(f"{name}: {labels[0]} {mine!r}, {labels[1]} {theirs!r}")
        return out

    # ------------------------------------------------------------------ the sidecar
    @staticmethod
    def sidecar_path(table: str | os.PathLike) -> Path:
        """Where the sidecar of ``table`` is written: ``features.csv`` -> ``features.meta.json``."""
        return Path(table).with_suffix(".meta.json")

    def sidecar(self) -> dict[str, Any]:
        """Return the ``<table>.meta.json`` sidecar contents of a table made with these settings."""
        from ._version import __version__

        return {"table": self.table, **self.to_dict(provenance=False), "featurelab_version": __version__}

    def write_sidecar(self, table: str | os.PathLike) -> Path:
        """Write the sidecar of ``table`` atomically (beside it) and return its path.

        Raises
        ------
        TableError
            The sidecar cannot be written.
        """
        from ._json import write_json

        path = self.sidecar_path(table)
        try:
            return write_json(path, self.sidecar())
        except OSError as error:
            raise TableError(f"Cannot write {str(path)!r} ({error.strerror or error}).") from error

    @classmethod
    def read_sidecar(cls, table: str | os.PathLike) -> ExtractionSettings | None:
        """Read the settings of ``table`` from its sidecar, or ``None`` when it has none.

        Both ``features.csv.meta.json`` and ``features.meta.json`` are recognised.

        Raises
        ------
        TableError
            The sidecar is unreadable or holds invalid settings.
        """
        from ._json import read_json

        table = Path(table)
        for candidate in (table.with_name(table.name + ".meta.json"), cls.sidecar_path(table)):
            if not candidate.is_file():
                continue
            try:
                data = read_json(candidate)
            except FeaturelabError as error:
                raise TableError(f"Cannot read table metadata: {error}") from None
            if not isinstance(data, dict):
                continue
            try:
                return cls.from_dict(data)
            except (ParameterError, TypeError) as error:
                raise TableError(f"Table metadata {str(candidate)!r} is invalid: {error}") from None
        return None
