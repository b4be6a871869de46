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
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .exceptions import ParameterError
from .io import AUDIO_EXTENSIONS

__all__ = [
    "AudioItem",
    "InputProblem",
    "discover",
    "scan_folder",
    "read_manifest",
    "read_split_dir",
    "BUILTIN_SPLITS",
    "segment_name",
    "segment_source",
    "track_id",
    "segment_track_id",
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

    def absolute(self) -> AudioItem:
        """Return the item with an absolute path (a relative one is taken from the working folder).

        Extraction sends items to its workers this way: a worker of a cluster may run in another
        folder (or machine) than the driver.
        """
        location = os.path.abspath(self.location)
        if location == self.location:
            return self
        return AudioItem(location, self.name, self.label, self.start, self.end, self.group)

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


# "<track>.<i>.<ext>" with an unpadded window index i (GTZAN track numbers are zero-padded).
_SEGMENT_NAME = re.compile(r"^(?P<track>.+)\.(?P<index>0|[1-9][0-9]{0,6})(?P<ext>\.[A-Za-z0-9]{2,5})$")


def segment_source(name: str) -> str | None:
    """Return the file name a segment row was cut from, or ``None`` if ``name`` is no segment name.

    Inverse of :func:`segment_name`, folders kept: ``"rock/intro.12.wav"`` -> ``"rock/intro.wav"``.
    ``"blues.00000.wav"`` is not a segment name (``00000`` is a zero-padded track number).

    Examples
    --------
    >>> segment_source("blues.00000.3.wav"), segment_source("blues.00000.wav")
    ('blues.00000.wav', None)
    """
    match = _SEGMENT_NAME.match(str(name).replace("\\", "/"))
    return match.group("track") + match.group("ext") if match else None


def track_id(name: str) -> str:
    """Return the track of a file name: its stem without folders (the one track-id rule).

    Split lists, groups and predictions identify tracks this way: ``"blues/blues.00042.wav"`` ->
    ``"blues.00042"``.

    Examples
    --------
    >>> track_id("blues/blues.00042.wav")
    'blues.00042'
    """
    base = str(name).replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = base.rpartition(".")
    return stem if dot and 1 <= len(ext) <= 5 and ext.isalnum() and not ext.isdigit() else base


def segment_track_id(name: str) -> str | None:
    """Return the track of a segment row's name, or ``None`` for a name that is not a segment name.

    ``"blues.00000.3.wav"`` -> ``"blues.00000"``; ``"blues.00000.wav"`` -> ``None``.
    """
    source = segment_source(name)
    return None if source is None else track_id(source)


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

    Raises
    ------
    ParameterError
        ``root`` is not a folder, or it or one of its sub-folders cannot be listed (no file is
        skipped silently; :func:`discover` reports such a sub-folder as an input problem instead).
    """
    items, problems = _scan_folder(root)
    if problems:
        raise ParameterError(f"{problems[0].path!r}: {problems[0].reason}.")
    return items


def _scan_folder(root: str | os.PathLike) -> tuple[list[AudioItem], list[InputProblem]]:
    """:func:`scan_folder`, with the sub-folders that cannot be listed returned as problems."""
    root = Path(root)
    if not root.is_dir():
        raise ParameterError(f"Input folder {str(root)!r} does not exist or is not a folder.")
    problems: list[InputProblem] = []

    def unreadable(error: OSError) -> None:
        folder = Path(error.filename if error.filename is not None else root)
        why = error.strerror or str(error)
        if folder == root:
            raise ParameterError(f"Cannot read the input folder {str(root)!r} ({why}).") from error
        reason = f"cannot read this folder ({why}): its audio files are not in the table"
        problems.append(InputProblem(str(folder), reason))

    items = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for filename in sorted(filenames):
            path = Path(dirpath) / filename
            if not _is_audio(path):
                continue
            rel = path.relative_to(root)
            label = rel.parts[0] if len(rel.parts) > 1 else ""
            items.append(AudioItem(path=path, name=path.name, label=label))
    items.sort(key=lambda item: (item.label, str(item.path.relative_to(root))))
    return _unique_names(items, root), sorted(problems, key=lambda problem: problem.path)


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
    import pandas as pd

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
        Inputs that cannot be extracted: missing files, bad manifest rows, sub-folders of a
        folder that cannot be listed.

    Raises
    ------
    ParameterError
        No input, a folder among several inputs, an unreadable input folder or manifest.
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
            return _scan_folder(only)
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


#: Split lists shipped with featurelab: ``--split NAME`` instead of a folder.
BUILTIN_SPLITS: dict[str, str] = {
    "gtzan-filtered": "The artist-filtered GTZAN split of Kereliuk, Sturm & Larsen (2015): "
    "443 train / 197 valid / 290 test tracks, no artist in two parts.",
}

SPLIT_PARTS = ("train", "valid", "test")


def _split_files(source: str | os.PathLike) -> tuple[str, dict[str, str | None]]:
    """Return a split's display name and ``{part: text or None}`` (a folder or a built-in name)."""
    if isinstance(source, str) and source in BUILTIN_SPLITS:
        from importlib import resources

        folder = resources.files("featurelab").joinpath("_data", "splits", source)
        return source, {
            part: folder.joinpath(f"{part}_filtered.txt").read_text(encoding="utf-8") for part in SPLIT_PARTS
        }
    directory = Path(source)
    if not directory.is_dir():
        raise ParameterError(
            f"split must be a folder of train/valid/test lists or one of {', '.join(BUILTIN_SPLITS)}. "
            f"Got {str(source)!r}, which does not exist."
        )
    texts: dict[str, str | None] = {}
    for part in SPLIT_PARTS:
        candidates = [directory / f"{part}.txt", directory / f"{part}_filtered.txt"]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None and part != "valid":
            raise ParameterError(f"Split folder {str(directory)!r} has no {part}.txt or {part}_filtered.txt.")
        texts[part] = None if found is None else found.read_text(encoding="utf-8")
    return directory.name, texts


def read_split_dir(source: str | os.PathLike) -> dict[str, set[str]]:
    """Read predefined ``train``/``valid``/``test`` lists into sets of track ids.

    Parameters
    ----------
    source : path or str
        A folder holding ``train.txt`` or ``train_filtered.txt`` (and so on; ``valid`` is
        optional), or the name of a built-in split (:data:`BUILTIN_SPLITS`, e.g.
        ``"gtzan-filtered"``). Each line names one track, e.g. ``blues/blues.00029.wav``, which
        becomes the track id ``blues.00029`` (:func:`track_id`); blank lines and ``#`` comments
        are ignored.

    Returns
    -------
    dict
        ``{"train": set, "valid": set, "test": set}`` (``valid`` may be empty).

    Raises
    ------
    ParameterError
        The folder is missing, has no train or test list, or a track is in two lists.

    Examples
    --------
    >>> parts = read_split_dir("gtzan-filtered")
    >>> {part: len(tracks) for part, tracks in parts.items()}
    {'train': 443, 'valid': 197, 'test': 290}
    """
    name, texts = _split_files(source)
    parts: dict[str, set[str]] = {}
    for part, text in texts.items():
        lines = [line.split("#", 1)[0].strip() for line in (text or "").splitlines()]
        parts[part] = {track_id(line) for line in lines if line}
    for a, b in (("train", "valid"), ("train", "test"), ("valid", "test")):
        shared = sorted(parts[a] & parts[b])
        if shared:
            raise ParameterError(
                f"Tracks appear in both the {a} and {b} lists of {name!r}: {', '.join(shared[:5])}."
            )
    return parts


def make_synthetic_corpus(*args: object, **kwargs: object):  # noqa: ANN201 - re-export
    """Write a small synthetic labelled corpus; see :func:`featurelab.synthetic.make_synthetic_corpus`."""
    from .synthetic import make_synthetic_corpus as _make

    return _make(*args, **kwargs)
