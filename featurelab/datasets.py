"""Corpus discovery: folders in the GTZAN layout, manifest CSVs, single files, and split lists.

Every input becomes an :class:`AudioItem` with a table name that is unique within the run.

Naming rules (the ``filename`` column):

- A file is named by its base name (``blues.00000.wav``), as in the published GTZAN tables.
- When two inputs share a base name (``rock/intro.wav`` and ``jazz/intro.wav``) *all* of them are
  named by their path relative to the corpus root instead (``rock/intro.wav``), so names stay unique
  and stable.
- A manifest clip with ``start``/``end`` is named ``<stem>.<start>-<end>s<ext>``
  (``song.12.5-42.5s.wav``).
- Segment rows append the segment index to the stem: ``blues.00000.3.wav``.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pandas as pd

from .exceptions import ParameterError
from .io import AUDIO_EXTENSIONS

__all__ = [
    "AudioItem",
    "InputProblem",
    "discover",
    "scan_folder",
    "read_manifest",
    "read_split_dir",
    "segment_name",
    "track_of_segment",
    "make_synthetic_corpus",
]


@dataclass(frozen=True, slots=True, init=False)
class AudioItem:
    """One unit of extraction input: a file, or a clip of a file.

    A corpus has one item per input held in memory for the whole run, so an item is kept small
    (~0.3 kB): the path is stored as a string (a :class:`~pathlib.Path` holds each of its parts as
    another string, ~2 kB for a deep path) and returned as a ``Path``.

    Attributes
    ----------
    path : Path
        The audio file.
    name : str
        Its unique name in the output table (``filename`` column).
    label : str
        Class label ("" when unknown).
    start, end : float or None
        Clip bounds in seconds (manifest clips only).
    group : str or None
        Track or artist id from a manifest, kept in the output for group-aware splits.
    """

    location: str
    name: str
    label: str = ""
    start: float | None = None
    end: float | None = None
    group: str | None = None

    def __init__(
        self,
        path: str | os.PathLike,
        name: str,
        label: str = "",
        start: float | None = None,
        end: float | None = None,
        group: str | None = None,
    ) -> None:
        for key, value in (
            ("location", os.fspath(path)),
            ("name", name),
            ("label", label),
            ("start", start),
            ("end", end),
            ("group", group),
        ):
            object.__setattr__(self, key, value)

    @property
    def path(self) -> Path:
        """The audio file."""
        return Path(self.location)

    @property
    def duration(self) -> float | None:
        """Requested clip duration in seconds, or ``None`` for the whole file."""
        if self.end is None:
            return None
        return self.end - (self.start or 0.0)


@dataclass(frozen=True)
class InputProblem:
    """An input that cannot be extracted, found before any audio is read."""

    path: str
    reason: str


def segment_name(name: str, index: int) -> str:
    """Name of segment ``index`` of a track named ``name``: ``blues.00000.wav`` -> ``blues.00000.3.wav``."""
    path = PurePosixPath(name)
    return str(path.with_name(f"{path.stem}.{index}{path.suffix}"))


def track_of_segment(name: str) -> str:
    """Track id of a segment row's name: ``blues.00000.3.wav`` -> ``blues.00000``.

    Inverse of :func:`segment_name`: drops the extension and the trailing ``.<index>`` of the stem.
    Only meaningful for names of segment rows (a track name such as ``blues.00000.wav`` would lose its
    track number); ``<table>.meta.json`` written by :func:`featurelab.extract` says which kind of
    table a file is.
    """
    path = PurePosixPath(str(name))
    head, dot, tail = path.stem.rpartition(".")
    stem = head if dot and tail.isdigit() and head else path.stem
    return str(path.with_name(stem)) if str(path.parent) != "." else stem


def _is_audio(path: Path) -> bool:
    return path.suffix.lower() in AUDIO_EXTENSIONS and not path.name.startswith(".")


def _unique_names(items: list[AudioItem], root: Path | None) -> list[AudioItem]:
    counts = Counter(item.name for item in items)
    if all(count == 1 for count in counts.values()):
        return items
    out = []
    for item in items:
        if counts[item.name] > 1:
            try:
                rel = item.path.resolve().relative_to(root.resolve()) if root else None
            except ValueError:
                rel = None
            base = PurePosixPath(*(rel.parts if rel else item.path.resolve().parts[-3:]))
            name = str(base) if item.start is None else str(base.with_name(item.name))
            item = AudioItem(item.location, name, item.label, item.start, item.end, item.group)
        out.append(item)
    return out


def scan_folder(root: str | os.PathLike) -> list[AudioItem]:
    """Find the audio files of a folder in the GTZAN layout ``<root>/<label>/<file>``.

    Files directly inside ``root`` get an empty label; files deeper than one level take the name of
    their top-level folder as label. Hidden files and files with non-audio extensions are skipped.
    The order is deterministic: by label, then by path.

    Parameters
    ----------
    root : str or path-like
        The corpus folder.

    Returns
    -------
    list of AudioItem
    """
    root = Path(root)
    if not root.is_dir():
        raise ParameterError(f"Input folder {str(root)!r} does not exist or is not a folder.")
    items = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for filename in sorted(filenames):
            path = Path(dirpath) / filename
            if not _is_audio(path):
                continue
            rel = path.relative_to(root)
            label = rel.parts[0] if len(rel.parts) > 1 else ""
            items.append(AudioItem(path=path, name=path.name, label=label))
    items.sort(key=lambda item: (item.label, str(item.path.relative_to(root))))
    return _unique_names(items, root)


def _clip_name(path: Path, start: float | None, end: float | None) -> str:
    if start is None and end is None:
        return path.name
    lo = f"{start or 0:g}"
    hi = "end" if end is None else f"{end:g}"
    return f"{path.stem}.{lo}-{hi}s{path.suffix}"


def _parse_time(value: object) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return None
    number = float(value)  # ValueError for junk
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number of seconds")
    return number


def read_manifest(path: str | os.PathLike) -> tuple[list[AudioItem], list[InputProblem]]:
    """Read a manifest CSV with columns ``path,label`` and optional ``start,end,group``.

    Relative paths are relative to the manifest's folder. ``start``/``end`` are seconds (a clip inside
    a longer track); ``group`` is a track or artist id kept in the output for group-aware splits.

    Returns
    -------
    items : list of AudioItem
        The usable rows, in manifest order.
    problems : list of InputProblem
        Rows that cannot be extracted (bad times, missing path), reported in the errors table.

    Raises
    ------
    ParameterError
        The manifest is missing, unreadable or lacks the ``path`` column.
    """
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"Manifest {str(path)!r} does not exist.")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as error:  # noqa: BLE001
        raise ParameterError(f"Cannot read manifest {str(path)!r}: {error}") from error
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if "path" not in frame.columns:
        raise ParameterError(
            f"Manifest {str(path)!r} must have a 'path' column (and usually 'label'; optional "
            f"'start', 'end', 'group'). Got columns {list(frame.columns)} instead."
        )
    base = path.parent
    items: list[AudioItem] = []
    problems: list[InputProblem] = []
    for line, row in enumerate(frame.to_dict("records"), start=2):
        raw = str(row.get("path", "")).strip()
        where = f"{path.name} line {line}"
        if not raw:
            problems.append(InputProblem(where, "empty path"))
            continue
        audio = Path(raw) if Path(raw).is_absolute() else base / raw
        try:
            start = _parse_time(row.get("start"))
            end = _parse_time(row.get("end"))
        except ValueError as error:
            problems.append(InputProblem(str(audio), f"{where}: bad start/end ({error})"))
            continue
        if start is not None and start < 0:
            problems.append(InputProblem(str(audio), f"{where}: start must be >= 0, got {start:g}"))
            continue
        if end is not None and end <= (start or 0.0):
            problems.append(
                InputProblem(str(audio), f"{where}: end ({end:g} s) must be after start ({start or 0:g} s)")
            )
            continue
        group = str(row.get("group", "")).strip() or None
        items.append(
            AudioItem(
                path=audio,
                name=_clip_name(audio, start, end),
                label=str(row.get("label", "")).strip(),
                start=start,
                end=end,
                group=group,
            )
        )
    items = _unique_names(items, base)
    seen: set[str] = set()
    unique: list[AudioItem] = []
    for item in items:
        if item.name in seen:
            problems.append(InputProblem(str(item.path), "duplicate manifest entry (same file and clip)"))
            continue
        seen.add(item.name)
        unique.append(item)
    return unique, problems


def discover(
    source: str | os.PathLike | Sequence[str | os.PathLike], *, manifest: bool | None = None
) -> tuple[list[AudioItem], list[InputProblem]]:
    """Turn an extraction input into items.

    Parameters
    ----------
    source : path or sequence of paths
        A folder in the GTZAN layout, a manifest CSV, one audio file, or a list of audio files.
    manifest : bool or None
        Treat ``source`` as a manifest. ``None`` decides by the ``.csv`` extension.

    Returns
    -------
    items : list of AudioItem
    problems : list of InputProblem
    """
    if isinstance(source, (str, os.PathLike)):
        sources: list[Path] = [Path(source)]
    else:
        sources = [Path(s) for s in source]
        if not sources:
            raise ParameterError("No input given. Pass a folder, a manifest CSV or audio files.")
    if len(sources) == 1:
        only = sources[0]
        if manifest or (manifest is None and only.suffix.lower() == ".csv"):
            return read_manifest(only)
        if only.is_dir():
            return scan_folder(only), []
    items: list[AudioItem] = []
    problems: list[InputProblem] = []
    for path in sources:
        if path.is_dir():
            raise ParameterError(
                f"{str(path)!r} is a folder; pass one folder alone, or a list of audio files."
            )
        if not path.exists():
            problems.append(InputProblem(str(path), "file not found"))
            continue
        items.append(AudioItem(path=path, name=path.name, label=""))
    common = Path(os.path.commonpath([p.resolve() for p in sources])) if sources else None
    if common is not None and common.is_file():
        common = common.parent
    return _unique_names(items, common), problems


def read_split_dir(directory: str | os.PathLike) -> dict[str, list[str]]:
    """Read predefined split lists ``{train,valid,test}[_filtered].txt`` from a folder.

    Each line names one track, e.g. ``blues/blues.00029.wav``. Returns ``{"train": [...], "valid":
    [...], "test": [...]}`` with base names (``blues.00029.wav``); ``valid`` may be empty.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ParameterError(f"Split folder {str(directory)!r} does not exist.")
    splits: dict[str, list[str]] = {}
    for part in ("train", "valid", "test"):
        candidates = [directory / f"{part}.txt", directory / f"{part}_filtered.txt"]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            if part == "valid":
                splits[part] = []
                continue
            raise ParameterError(f"Split folder {str(directory)!r} has no {part}.txt or {part}_filtered.txt.")
        lines = [ln.strip() for ln in found.read_text(encoding="utf-8").splitlines()]
        splits[part] = [PurePosixPath(ln).name for ln in lines if ln and not ln.startswith("#")]
    return splits


def make_synthetic_corpus(*args: object, **kwargs: object):  # noqa: ANN201 - re-export
    """Write a small synthetic labelled corpus; see :func:`featurelab.synthetic.make_synthetic_corpus`."""
    from .synthetic import make_synthetic_corpus as _make

    return _make(*args, **kwargs)
