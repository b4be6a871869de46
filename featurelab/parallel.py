"""One rule for ``n_jobs`` in every command and API function.

``n_jobs`` counts worker processes (or parallel fits). ``0`` and ``-1`` mean all usable cores, ``-2``
all but one, and so on (as in joblib and scikit-learn); ``None`` is the default, all usable cores.
"Usable" respects the process's CPU affinity and container CPU limits, so a job pinned to two cores
of a 64-core machine starts two workers, not 64.
"""

from __future__ import annotations

import numbers
import os
import threading

from .exceptions import ParameterError

__all__ = ["DEFAULT_N_JOBS", "usable_cpus", "resolve_n_jobs", "local_pool_options", "exit_with_parent"]

#: The default of every ``n_jobs`` argument and ``--jobs`` option: all usable cores.
DEFAULT_N_JOBS = -1


def usable_cpus() -> int:
    """Return the number of CPUs this process may use (affinity and cgroup quota aware)."""
    from joblib import cpu_count  # loky's count: os.sched_getaffinity, cgroup CPU quota

    return max(1, int(cpu_count(only_physical_cores=False)))


def resolve_n_jobs(n_jobs: int | None = DEFAULT_N_JOBS, *, limit: int | None = None) -> int:
    """Turn an ``n_jobs`` argument into a positive number of workers.

    Parameters
    ----------
    n_jobs : int or None
        ``>= 1``: that many; ``0``, ``-1`` or ``None``: all usable cores; ``-k`` (k >= 2): all but
        ``k - 1`` of them (at least one).
    limit : int or None
        An upper bound (e.g. the number of tasks); ``None`` for none.

    Returns
    -------
    int
        The number of workers, at least 1.

    Raises
    ------
    ParameterError
        ``n_jobs`` is not an integer.

    Examples
    --------
    >>> resolve_n_jobs(3)
    3
    >>> resolve_n_jobs(8, limit=2)
    2
    >>> resolve_n_jobs(-1) == usable_cpus()
    True
    """
    if n_jobs is None:
        n_jobs = DEFAULT_N_JOBS
    if not isinstance(n_jobs, numbers.Integral) or isinstance(n_jobs, bool):
        raise ParameterError(
            f"n_jobs must be an integer (0 or -1 = all usable cores). Got {n_jobs!r} instead."
        )
    n_jobs = int(n_jobs)
    if limit is not None and int(limit) <= 1:
        return 1  # one task (a one-file command): no need to count cores (importing joblib)
    if n_jobs < 1:
        n_jobs = max(1, usable_cpus() + 1 + n_jobs) if n_jobs < 0 else usable_cpus()
    if limit is not None:
        n_jobs = max(1, min(n_jobs, int(limit)))
    return n_jobs


def local_pool_options() -> dict[str, object]:
    """Return the ``Parallel`` options of a local (loky) worker pool: its workers end with this process.

    Every local pool of a run passes the same options, so joblib reuses one executor (a pool
    started ahead, :func:`featurelab.worker.prestart_workers`, is the run's pool).
    """
    return {"initializer": exit_with_parent, "initargs": (os.getpid(),)}


def exit_with_parent(parent: int, interval: float = 0.5) -> None:
    """End this (worker) process soon after process ``parent`` has ended.

    An initializer of worker processes (``Parallel(initializer=exit_with_parent,
    initargs=(os.getpid(),))``): a driver killed with ``kill -9`` cannot stop its workers, which
    would otherwise live on (with their memory) until their idle timeout. A daemon thread checks
    every ``interval`` seconds whether this process has been handed to another parent, which the
    system does when the parent dies, and then exits at once. Nothing is done in ``parent`` itself
    (a thread pool's initializer) nor where parents are not tracked so (Windows).

    Parameters
    ----------
    parent : int
        Process id of the parent (the driver).
    interval : float
        Seconds between checks.
    """
    if os.name != "posix" or os.getpid() == parent:  # no re-parenting to watch; not a child
        return

    def watch() -> None:
        while os.getppid() == parent:
            threading.Event().wait(interval)
        os._exit(1)  # the driver is gone: nobody will collect this worker's results

    threading.Thread(target=watch, name="featurelab-exit-with-parent", daemon=True).start()
