"""Running featurelab on a Dask cluster (the optional ``featurelab[dask]`` extra).

featurelab does not schedule work itself: every parallel loop goes through :mod:`joblib`
(extraction over files, the model searches of scikit-learn, the SHAP folds), so running on a Dask
cluster is a matter of activating joblib's ``"dask"`` backend around the call.
:func:`dask_backend` does that, and starts (and stops) a :class:`dask.distributed.LocalCluster`
when asked for ``"local"``.

Inside the block:

- joblib sends its tasks to the cluster's workers; ``n_jobs`` is then ignored: every worker thread
  of the cluster takes part.
- Arguments larger than 1 kB (the training matrix of a search) are scattered to the cluster once
  per parallel call and referenced by the tasks, not copied into every task.
- Results come back in submission order, so tables and cross-validation scores equal those of
  a single-machine run with the same seed.
- A worker that dies is replaced; the scheduler reruns its unfinished tasks elsewhere.

Every worker must be able to import the same version of featurelab (and of any feature set or
model it runs): install it on the workers of a remote cluster. A script that starts a ``"local"``
cluster must guard its entry point with ``if __name__ == "__main__":``, as any
multiprocessing program must.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .exceptions import FeaturelabError, ParameterError

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "dask_backend",
    "dask_client",
    "check_scheduler",
    "dask_available",
    "is_dask_active",
    "describe_failure",
    "INSTALL_HINT",
]

#: How to install the optional dependencies.
INSTALL_HINT = "pip install 'featurelab[dask]'"

#: ``tcp://host:port``, ``tls://...``, ``ws://...``, ``inproc://...`` or ``host:port``.
_ADDRESS = re.compile(r"^(?:(?:tcp|tls|ws|wss|inproc|ucx)://)?[^\s/:]+(?::\d+)?(?:/\S*)?$")


def dask_available() -> bool:
    """Whether ``dask.distributed`` can be imported."""
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


def _require_dask() -> None:
    if not dask_available():
        raise ParameterError(
            "Running on Dask (--scheduler) needs dask and distributed, which are not installed. "
            f"Install them with: {INSTALL_HINT}"
        )


def check_scheduler(scheduler: str) -> str:
    """Validate a ``--scheduler`` value: ``"local"`` or a scheduler address.

    Parameters
    ----------
    scheduler : str
        ``"local"`` or an address such as ``tcp://10.0.0.5:8786``.

    Returns
    -------
    str
        The value, stripped.

    Raises
    ------
    ParameterError
        Not ``"local"`` and not an address.

    Examples
    --------
    >>> check_scheduler(" tcp://127.0.0.1:8786 ")
    'tcp://127.0.0.1:8786'
    """
    if not isinstance(scheduler, str) or not scheduler.strip():
        raise ParameterError(
            "scheduler must be 'local' or a Dask scheduler address such as tcp://host:8786. "
            f"Got {scheduler!r} instead."
        )
    value = scheduler.strip()
    if value.lower() == "local":
        return "local"
    if not _ADDRESS.match(value):
        raise ParameterError(
            "scheduler must be 'local' or a Dask scheduler address such as tcp://host:8786. "
            f"Got {scheduler!r} instead."
        )
    return value


def _check_workers(n_workers: int | None) -> int:
    from joblib import cpu_count

    if n_workers is None or n_workers in (0, -1):
        return max(1, cpu_count(only_physical_cores=False))
    if not isinstance(n_workers, int) or isinstance(n_workers, bool) or n_workers < 1:
        raise ParameterError(f"n_workers must be a positive integer or None. Got {n_workers!r} instead.")
    return n_workers


@contextlib.contextmanager
def dask_backend(
    scheduler: str | Client | None,
    *,
    n_workers: int | None = None,
    memory_limit: str | float | None = "auto",
    timeout: float = 30.0,
    quiet: bool = True,
) -> Iterator[Client | None]:
    """Run the joblib-parallel work of the block on a Dask cluster.

    Parameters
    ----------
    scheduler : str, distributed.Client or None
        ``"local"``: start a :class:`~dask.distributed.LocalCluster` on the loopback interface for
        the block (one single-threaded worker process per core, no dashboard) and stop it at the
        end. An address (``tcp://host:8786``): connect to that scheduler. A ``Client``: use it
        as is. ``None``: do nothing (the block runs on the machine, as without this context).
    n_workers : int or None
        Worker processes of a ``"local"`` cluster; ``None``, ``0`` or ``-1`` = all cores.
        Ignored for a remote scheduler, whose workers are all used.
    memory_limit : str, float or None
        Memory limit of each local worker (``"auto"``: the machine's memory shared equally).
    timeout : float
        Seconds to wait for the connection to a remote scheduler.
    quiet : bool
        Keep the local cluster's log messages (worker restarts, ...) below ERROR off the console.

    Yields
    ------
    distributed.Client or None
        The client (``None`` when ``scheduler`` is ``None``).

    Raises
    ------
    ParameterError
        dask is not installed (the message says how to install it), the scheduler value is not
        valid, or no scheduler answers at the address.
    FeaturelabError
        The cluster failed under the block (workers killed repeatedly, connection lost): see
        :func:`describe_failure`.

    Examples
    --------
    >>> from featurelab.distributed import dask_backend  # doctest: +SKIP
    >>> from featurelab.extraction import extract  # doctest: +SKIP
    >>> if __name__ == "__main__":  # doctest: +SKIP
    ...     with dask_backend("local", n_workers=2):
    ...         table = extract("gtzan/genres_original")
    """
    if scheduler is None:
        yield None
        return
    _require_dask()
    import joblib
    from distributed import Client

    with contextlib.ExitStack() as stack:
        if isinstance(scheduler, Client):
            client = scheduler
        else:
            client = stack.enter_context(
                dask_client(
                    scheduler,
                    n_workers=n_workers,
                    memory_limit=memory_limit,
                    timeout=timeout,
                    quiet=quiet,
                )
            )
        _register_sizes()
        with joblib.parallel_config(backend="dask", client=client):
            try:
                yield client
            except Exception as error:
                failure = describe_failure(error)
                if failure is None:
                    raise
                raise failure from error


def _register_sizes() -> None:
    """Tell dask the real size of a :class:`~featurelab.models.data.Dataset`.

    joblib's dask backend scatters an argument to the cluster once per parallel call, instead of
    copying it into every task, when dask sizes it above 1 kB; a dataclass would otherwise be
    sized as a few bytes.
    """
    from dask.sizeof import sizeof

    from .models.data import Dataset

    @sizeof.register(Dataset)
    def _sizeof_dataset(dataset: Dataset) -> int:
        return int(sizeof(dataset.X) + sizeof(dataset.frame) + sizeof(dataset.y))


@contextlib.contextmanager
def dask_client(
    scheduler: str,
    *,
    n_workers: int | None = None,
    memory_limit: str | float | None = "auto",
    timeout: float = 30.0,
    quiet: bool = True,
) -> Iterator[Client]:
    """Open a Dask client for the block: a new local cluster, or a connection to a scheduler.

    Unlike :func:`dask_backend`, this does not change where joblib runs its work; use it to keep
    one cluster for several :func:`dask_backend` blocks (``dask_backend(client)``).

    Parameters
    ----------
    scheduler : str
        ``"local"`` or a scheduler address.
    n_workers, memory_limit, timeout, quiet
        See :func:`dask_backend`.

    Yields
    ------
    distributed.Client
        Closed (with its local cluster) at the end of the block.
    """
    _require_dask()
    scheduler = check_scheduler(scheduler)
    from distributed import Client, LocalCluster

    if scheduler == "local":
        import dask

        # The scheduler runs in this process: keep its diagnostic logs (transition log, event
        # topics, log records) short. At their default lengths the driver still grew by ~0.8 kB
        # per file between 10,000 and 20,000 files in the scale benchmark; at 100, ~0.15 kB.
        with dask.config.set(_LOCAL_LOG_LENGTHS):
            cluster = LocalCluster(
                n_workers=_check_workers(n_workers),
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                # its small HTTP server (health, metrics) on a free loopback port, not 8787
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                memory_limit=memory_limit,
                silence_logs=logging.ERROR if quiet else logging.WARNING,
                config=_local_worker_config(),
            )
        try:
            client = Client(cluster, set_as_default=False)
        except BaseException:
            cluster.close()
            raise
        try:
            yield client
        finally:
            client.close()
            cluster.close()
        return
    try:
        client = Client(scheduler, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        raise _ConnectionError(scheduler, error) from None
    try:
        yield client
    finally:
        client.close()


#: Log lengths of the scheduler of a local cluster (see :func:`dask_client`).
_LOCAL_LOG_LENGTHS = {
    "distributed.admin.log-length": 100,
    "distributed.admin.low-level-log-length": 100,
}


def _local_worker_config() -> dict:
    """Copy the current dask configuration, with the workers' statistical profiler off.

    There is no dashboard to show its samples, and its history grows with every task (~5 kB
    per file per worker in the scale benchmark). A full copy, so that a worker restarted by its
    nanny gets the same settings.
    """
    import copy

    import dask

    config = copy.deepcopy(dask.config.config)
    dask.config.update(config, {"distributed": {"worker": {"profile": {"enabled": False}}}})
    return config


class _ConnectionError(ParameterError):
    """No Dask scheduler answers at the given address."""

    def __init__(self, address: str, error: BaseException) -> None:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        super().__init__(
            f"Cannot connect to a Dask scheduler at {address!r} ({reason}). Start one with "
            "`dask scheduler` (and workers with `dask worker ADDRESS`), or use --scheduler local "
            "to start a cluster on this machine."
        )


def is_dask_active() -> bool:
    """Whether joblib's active backend is the Dask backend (inside :func:`dask_backend`)."""
    if "joblib.parallel" not in sys.modules:  # no backend can be active: spare the import
        return False
    from joblib.parallel import get_active_backend

    backend, _ = get_active_backend()
    return type(backend).__name__ == "DaskDistributedBackend"


def describe_failure(error: BaseException) -> FeaturelabError | None:
    """Turn a cluster-side failure that no input explains into a clear error (else ``None``).

    ``KilledWorker`` (a task's workers died ``allowed-failures`` times, say from running out of
    memory) and a lost scheduler connection become a :class:`FeaturelabError` telling what to do.
    """
    name = type(error).__name__
    if name == "KilledWorker":
        return FeaturelabError(
            "Dask workers died repeatedly while running the same task (out of memory, or an "
            f"input that crashes them?): {error} Rerun to resume (an extraction keeps its finished "
            "files in its cache); if it fails again, give the workers more memory, or run without "
            "--scheduler to find the input."
        )
    if name in ("CommClosedError", "FutureCancelledError", "CancelledError") or (
        isinstance(error, OSError) and "scheduler" in str(error).lower()
    ):
        return FeaturelabError(
            f"The connection to the Dask cluster was lost ({name}: {error}). Rerun to resume (an "
            "extraction keeps its finished files in its cache)."
        )
    return None
