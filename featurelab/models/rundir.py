"""Run directories: the one place that writes, reads and finds them.

The run-directory contract
--------------------------
A *run directory* is what ``featurelab gridsearch``, ``select`` and ``train-cnn`` write and what
``compare``, ``report`` and ``predict`` read. It is a folder holding at least one of these files
(:data:`RUN_MARKERS`):

``results.json``
    The results of an evaluation (:class:`~featurelab.models.results.RunResults`; gridsearch and
    train-cnn). Keys, all written by every producer (``null`` where not measured):

    - ``schema_version`` (1), ``model``, ``protocol`` (text), ``table``;
    - ``n_samples``, ``n_tracks``, ``n_features``, ``n_classes``, ``classes`` (sorted labels),
      ``is_segment_table``;
    - ``accuracy_mean``/``_std``, ``balanced_accuracy_mean``/``_std``, ``f1_macro_mean``/``_std``
      and the same with a ``track_`` prefix (segment tables; a track's prediction is the arg-max
      of the mean of its segments' probabilities) -- mean and std (ddof=0) over outer folds and
      repeats (:mod:`featurelab.models.scoring`);
    - ``fit_time_mean``/``_std`` (s per outer fold), ``predict_time_per_track`` (s);
    - ``best_params`` and ``fold_scores`` (one entry per outer fold), ``per_class``
      (precision/recall/F1/support per label) and ``confusion_matrix`` (rows = true labels),
      pooled over the outer test sets; ``track_per_class``/``track_confusion_matrix`` for segment
      tables;
    - ``seed``, ``featurelab_version``, ``created`` (ISO 8601, UTC), ``command``;
    - optional: ``protocol_settings`` (with a predefined split, its ``split``: names listed and
      matched and rows per list, rows in no list), ``search`` (search settings), ``final_model``
      (the saved model: ``best_params``, ``fit_time``, ``files`` and ``fitted_on`` -- ``part``
      ``"all"`` or ``"train"`` (a split's train part), ``rows`` fitted on,
      ``early_stopping_rows`` held out), and producer-specific keys (gridsearch: ``config``,
      ``features_file``; CNN: ``config``, ``device``, ``skipped_files``).

``selection.json`` and ``ranking.csv``
    A SHAP selection run (``featurelab select``; :func:`featurelab.selection.write_selection_run`),
    with ``schema_version``, ``model``, ``downstream``, ``protocol``, ``rule``, ``k``,
    ``threshold``, ``selected``, ``selection_accuracy_mean``/``_std``, ``curve``, ...

Other files are the producer's: ``report.md`` and ``confusion_matrix.png`` (every evaluation),
``cv_results.csv``, ``folds.csv``, ``config.yaml`` and ``model.skops``/``model.joblib``/``model.json``
(gridsearch), ``curves.png``, ``history.csv``, ``predictions.csv`` (CNN), ``curve.csv``,
``selected.txt``, SHAP plots (select).

Writing is atomic (:class:`RunWriter`): the files go into a hidden temporary folder beside the
destination (``.NAME.partial-PID-XXXX``), created before any computation (so an unwritable
destination fails at once), and the folder is renamed into place only when everything is written.
A failed or interrupted run leaves no run directory, and a rerun into the same destination
replaces the previous run as a whole. Temporary folders of runs that were killed are removed the
next time a run is written beside them.

Reading is guarded (:func:`featurelab._json.read_json`): hostile files (huge numbers, deep
nesting) are refused with one line. Finding (:func:`find_runs`) accepts run directories, folders
of them (such as ``runs/``, one level deep, hidden folders skipped) and ``results.json`` paths.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..exceptions import FeaturelabError, ParameterError
from .plots import plot_confusion_matrix
from .results import RunResults, check_schema_version

__all__ = [
    "RUN_MARKERS",
    "RunWriter",
    "Run",
    "FoundRuns",
    "default_run_dir",
    "is_run_dir",
    "locate_runs",
    "find_runs",
    "read_run",
    "read_results",
    "read_results_json",
    "write_results_json",
    "write_report_md",
    "plot_confusion_matrix",
]

#: Files whose presence makes a folder a run directory.
RUN_MARKERS = ("results.json", "selection.json", "ranking.csv")
_PARTIAL = ".partial-"
_OLD = ".old-"


# ----------------------------------------------------------------------------- writing
def default_run_dir(model: str, root: str | os.PathLike = "runs") -> Path:
    """``runs/<YYYYmmdd-HHMMSS>-<model>``, with a numeric suffix if that exists already."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{stamp}-{model}"
    candidate, i = base, 1
    while candidate.exists():
        i += 1
        candidate = base.with_name(f"{base.name}-{i}")
    return candidate


def _os_error(what: str, path: Path, error: OSError) -> FeaturelabError:
    reason = error.strerror or str(error)
    return FeaturelabError(f"Cannot {what} {str(path)!r}: {reason}.")


@contextmanager
def _writing(path: Path, what: str = "write the run directory") -> Iterator[None]:
    try:
        yield
    except OSError as error:
        raise _os_error(what, path, error) from None


def _pid_alive(pid: int) -> bool:
    if os.name != "posix":  # os.kill(pid, 0) would terminate the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _remove_stale(target: Path) -> None:
    """Remove temporary folders of runs into ``target`` whose process is gone."""
    prefix = f".{target.name}"
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return
    for entry in entries:
        rest = entry.name[len(prefix) :] if entry.name.startswith(prefix) else ""
        for marker in (_PARTIAL, _OLD):
            if rest.startswith(marker):
                pid = rest[len(marker) :].split("-", 1)[0]
                if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
                    shutil.rmtree(entry, ignore_errors=True)


def _fresh_folder(parent: Path, stem: str) -> Path:
    import secrets

    while True:  # like tempfile.mkdtemp, but with the umask's permissions (mkdtemp: 0700)
        path = parent / f"{stem}{secrets.token_hex(4)}"
        try:
            path.mkdir(mode=0o777)
        except FileExistsError:  # pragma: no cover - 32 random bits
            continue
        return path


class RunWriter:
    """Write one run directory atomically.

    Use :meth:`start` before computing (it checks that the destination can be written), write the
    files into :attr:`path` while or after computing, and leave the ``with`` block (or call
    :meth:`commit`) to move the run into place. On an exception -- or Ctrl-C -- nothing is moved
    and the temporary folder is removed.

    Attributes
    ----------
    target : Path
        The run directory that :meth:`commit` creates (or replaces, if it holds a previous run).
    path : Path
        The temporary folder to write the files into.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> with RunWriter.start(root / "run", name="svm") as run:
    ...     _ = run.write_results({"model": "svm", "accuracy_mean": 0.8})
    ...     _ = run.write_text("notes.txt", "hello")
    >>> sorted(p.name for p in (root / "run").iterdir())
    ['notes.txt', 'results.json']
    """

    def __init__(self, target: Path, path: Path, created: tuple[Path, ...] = ()) -> None:
        self.target = target
        self.path = path
        self.committed = False
        self._created = created  # parent folders made by start(), removed again on abort if empty

    # ------------------------------------------------------------------------- life cycle
    @classmethod
    def start(
        cls, out: str | os.PathLike | None = None, *, name: str, root: str | os.PathLike = "runs"
    ) -> RunWriter:
        """Reserve a run directory: check the destination and create the temporary folder.

        Parameters
        ----------
        out : path or None
            The run directory; ``None``: ``<root>/<timestamp>-<name>``.
        name : str
            Model or run name, for the default folder name.
        root : path
            Folder of the default run directories.

        Returns
        -------
        RunWriter

        Raises
        ------
        FeaturelabError
            ``out`` is a file, a folder that holds something other than a run, or its folder cannot
            be written.
        """
        target = Path(out) if out is not None else default_run_dir(name, root)
        if target.name in ("", ".", ".."):  # "." has no name to put a temporary folder beside
            target = target.resolve()
        if target.exists() or target.is_symlink():
            if not target.is_dir():
                raise ParameterError(f"The run directory {str(target)!r} exists and is not a folder.")
            if not is_run_dir(target) and any(target.iterdir()):
                raise ParameterError(
                    f"The run directory {str(target)!r} exists and holds files that are not a run; "
                    "give a new or empty folder (a previous run directory is replaced)."
                )
        created = tuple(parent for parent in target.parents if not parent.exists())
        with _writing(target, "create the run directory"):
            target.parent.mkdir(parents=True, exist_ok=True)
            _remove_stale(target)
            path = _fresh_folder(target.parent, f".{target.name}{_PARTIAL}{os.getpid()}-")
        return cls(target, path, created)

    def commit(self) -> Path:
        """Move the written run into place (replacing a previous run there); return :attr:`target`."""
        if self.committed:
            return self.target
        target = self.target
        with _writing(target, "move the run into"):
            if target.is_dir() and any(target.iterdir()):
                old = _fresh_folder(target.parent, f".{target.name}{_OLD}{os.getpid()}-")
                os.replace(target, old / target.name)
                try:
                    os.replace(self.path, target)
                except OSError:
                    os.replace(old / target.name, target)
                    raise
                shutil.rmtree(old, ignore_errors=True)
            else:
                if target.is_dir():
                    target.rmdir()
                os.replace(self.path, target)
        self.committed = True
        return target

    def abort(self) -> None:
        """Remove the temporary folder (nothing is moved into place)."""
        if not self.committed:
            shutil.rmtree(self.path, ignore_errors=True)
            for folder in self._created:  # deepest first
                try:
                    folder.rmdir()
                except OSError:
                    break

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            try:
                self.commit()
            except BaseException:
                self.abort()
                raise
        else:
            self.abort()

    # ------------------------------------------------------------------------- files
    def file(self, name: str) -> Path:
        """Return the path of a file of the run (inside the temporary folder until committed)."""
        return (self.target if self.committed else self.path) / name

    @contextmanager
    def writing(self) -> Iterator[Path]:
        """Context in which an ``OSError`` (disk full, ...) becomes one :class:`FeaturelabError` line."""
        with _writing(self.target):
            yield self.path

    def write_results(self, results: RunResults | dict[str, Any]) -> Path:
        """Write ``results.json`` (with ``schema_version``)."""
        if not isinstance(results, RunResults):
            results = RunResults.from_dict(results)
        with self.writing():
            return results.write(self.path)

    def write_json(self, name: str, value: Any) -> Path:
        """Write a JSON file (numpy values converted, NaN -> null)."""
        from .._json import write_json

        with self.writing():
            return write_json(self.path / name, value)

    def write_text(self, name: str, text: str) -> Path:
        """Write a UTF-8 text file."""
        with self.writing():
            path = self.path / name
            path.write_text(text, encoding="utf-8")
            return path

    def write_csv(self, name: str, frame: Any, **kwargs: Any) -> Path:
        """Write a pandas DataFrame as CSV (``index=False``; other ``to_csv`` arguments allowed)."""
        with self.writing():
            path = self.path / name
            frame.to_csv(path, index=False, **kwargs)
            return path

    def save_figure(self, name: str, fig: Any, *, dpi: int = 120) -> Path:
        """Save a matplotlib figure as PNG."""
        from .plots import figure_png

        with self.writing():
            path = self.path / name
            path.write_bytes(figure_png(fig, dpi=dpi))
            return path

    def write_report_md(self, results: RunResults | dict[str, Any]) -> Path:
        """Write ``report.md`` (see :func:`featurelab.models.reportmd.report_markdown`)."""
        from .reportmd import report_markdown

        return self.write_text("report.md", report_markdown(results))

    def plot_confusion_matrix(self, name: str, cm: Any, labels: Any, *, title: str | None = None) -> Path:
        """Save a confusion matrix figure (see :func:`featurelab.models.plots.confusion_figure`)."""
        with self.writing():
            return plot_confusion_matrix(cm, labels, self.path / name, title=title)


def write_results_json(run_dir: str | os.PathLike, results: RunResults | dict[str, Any]) -> Path:
    """Write ``results.json`` into an existing folder (atomically, with ``schema_version``).

    Prefer :class:`RunWriter`, which writes the whole run directory atomically.
    """
    if not isinstance(results, RunResults):
        results = RunResults.from_dict(results)
    return results.write(run_dir)


def write_report_md(run_dir: str | os.PathLike, results: RunResults | dict[str, Any]) -> Path:
    """Write ``report.md`` into an existing folder (atomically)."""
    from ..io import atomic_path
    from .reportmd import report_markdown

    path = Path(run_dir) / "report.md"
    with atomic_path(path) as tmp:
        tmp.write_text(report_markdown(results), encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- finding
def is_run_dir(path: str | os.PathLike, markers: Iterable[str] = RUN_MARKERS) -> bool:
    """Whether ``path`` is a folder holding one of ``markers`` (a run directory)."""
    path = Path(path)
    return path.is_dir() and any((path / marker).is_file() for marker in markers)


@dataclass
class FoundRuns:
    """What :func:`locate_runs` found.

    Attributes
    ----------
    runs : list of Path
        The run directories, in the order given (children of a folder sorted by name), without
        duplicates.
    folders : list of Path
        The folders given that are not runs themselves (such as ``runs/``): their own files (a
        leaderboard chart) belong to no run.
    """

    runs: list[Path] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)


def locate_runs(
    paths: Iterable[str | os.PathLike] | str | os.PathLike, *, markers: tuple[str, ...] = RUN_MARKERS
) -> FoundRuns:
    """Find the run directories among ``paths``.

    Parameters
    ----------
    paths : path or iterable of paths
        Run directories, their marker files (``results.json``) or folders of run directories (one
        level deep; hidden folders skipped). A folder without runs is accepted when it holds PNG
        charts (it is listed in :attr:`FoundRuns.folders` only).
    markers : tuple of str
        Files that make a folder a run (default :data:`RUN_MARKERS`; ``compare`` asks for
        ``results.json``).

    Returns
    -------
    FoundRuns

    Raises
    ------
    ParameterError
        A path does not exist, is not a folder, or holds neither runs nor charts; or no run was
        found at all.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    found = FoundRuns()
    seen: set[Path] = set()
    names = " or ".join(markers) if len(markers) < 3 else ", ".join(markers[:-1]) + f" or {markers[-1]}"
    for item in paths:
        path = Path(item)
        if path.is_file() and path.name in markers:
            path = path.parent
        if not path.exists():
            raise ParameterError(f"Run directory {str(path)!r} does not exist.")
        if not path.is_dir():
            raise ParameterError(f"Run directory {str(path)!r} is not a folder.")
        if is_run_dir(path, markers):
            runs = [path]
        else:
            runs = sorted(
                child
                for child in path.iterdir()
                if not child.name.startswith(".") and is_run_dir(child, markers)
            )
            if not runs and not any(path.glob("*.png")):
                makers = "`featurelab gridsearch`" + (" or `featurelab select`" if len(markers) > 1 else "")
                raise ParameterError(
                    f"{str(path)!r} is not a run directory and holds none (no {names}). Create runs "
                    f"with {makers}."
                )
            if path.resolve() not in {folder.resolve() for folder in found.folders}:
                found.folders.append(path)
        for run in runs:
            if run.resolve() not in seen:
                seen.add(run.resolve())
                found.runs.append(run)
    if not found.runs:
        given = ", ".join(repr(str(p)) for p in found.folders) or "none"
        raise ParameterError(
            f"run_dirs must name at least one run directory (no {names}). Got {given} instead."
        )
    return found


def find_runs(
    paths: Iterable[str | os.PathLike] | str | os.PathLike, *, markers: tuple[str, ...] = RUN_MARKERS
) -> list[Path]:
    """Return the run directories among ``paths`` (see :func:`locate_runs`)."""
    return locate_runs(paths, markers=markers).runs


# ----------------------------------------------------------------------------- reading
@dataclass
class Run:
    """A run directory as read by :func:`read_run`.

    Attributes
    ----------
    path : Path
        The folder.
    results : RunResults or None
        ``results.json`` (``None`` when absent or unreadable).
    selection : dict
        ``selection.json`` (empty when absent or unreadable).
    notes : list of str
        What could not be read, one line each.
    """

    path: Path
    results: RunResults | None = None
    selection: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The folder's name."""
        return self.path.name or str(self.path)

    @property
    def is_selection(self) -> bool:
        """Whether this is a feature-selection run."""
        return bool(self.selection) or (self.path / "ranking.csv").is_file()

    def get(self, key: str) -> Any:
        """Return a key of ``results.json``, else of ``selection.json``."""
        value = None if self.results is None else self.results.get(key)
        return self.selection.get(key) if value is None else value


def read_run(path: str | os.PathLike) -> Run:
    """Read a run directory's ``results.json`` and ``selection.json``, tolerantly.

    A missing, damaged, hostile or too new file is left out and described in :attr:`Run.notes`.
    """
    from .._json import read_json

    run = Run(path=Path(path))
    for name in ("results.json", "selection.json"):
        file = run.path / name
        if not file.is_file():
            continue
        try:
            data = read_json(file)
            if not isinstance(data, dict):
                run.notes.append(f"{name} does not hold a JSON object; ignored.")
                continue
            if name == "results.json":
                run.results = RunResults.from_dict(data, name=name)
            else:
                check_schema_version(data, name)
                run.selection = {key: value for key, value in data.items() if key != "schema_version"}
        except FeaturelabError as error:
            run.notes.append(f"{name} could not be read: {error}")
    return run


def read_results(run_dir: str | os.PathLike) -> RunResults:
    """Read a run directory's ``results.json``, strictly.

    Raises
    ------
    FeaturelabError
        No readable ``results.json`` of a known schema version.
    """
    return RunResults.read(run_dir)


def read_results_json(run_dir: str | os.PathLike) -> dict[str, Any]:
    """Read a run directory's ``results.json`` as a dictionary (see :func:`read_results`)."""
    return read_results(run_dir).to_dict()
