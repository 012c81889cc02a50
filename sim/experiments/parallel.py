"""Where runs execute: in this process, on a local Dask cluster, or on any Dask scheduler.

This is the only module that knows about Dask. Callers hand over a function, the data every
task shares (e.g. the base scenario) and a list of tasks, and receive each result through a
callback in this process, in completion order. Because a run is a pure function of its task,
the results do not depend on where or in which order tasks ran; the caller stores each one as
it arrives, so nothing finished is lost if the process stops.

Three modes:

- **serial**: ``workers=1``, or tiny jobs (fewer than `SERIAL_BELOW` tasks) when no worker
  count is asked for, where starting processes would cost more than it saves;
- **local cluster**: a `dask.distributed.LocalCluster` of ``workers`` processes (default: the
  number of cores), one thread each — the model is NumPy-bound and single-threaded. The
  scheduler, the workers and their HTTP servers listen on 127.0.0.1 only, and the dashboard
  is off unless asked for (then on 127.0.0.1 too);
- **scheduler**: an existing cluster at ``tcp://host:port`` or, with TLS, ``tls://host:port``
  (see docs/experiments.md for starting one by hand, on Kubernetes or on an HPC batch
  system). Workers need the `sim` package installed; they need no shared file system,
  because tasks carry their data and results come back to this process. Results come back
  pickled: the scheduler and its workers must be trusted, since whoever controls them can
  run code in this process.

`execute` opens where the tasks run, runs them and closes it again. A caller that runs many
small jobs one after another (e.g. calibration, one job per objective evaluation) opens a
`pool` once and calls its `Pool.execute` for each job, so one cluster serves them all.

Tasks go out in small batches (amortising Dask's per-task overhead of about a millisecond)
and come back with `as_completed`. If a worker dies, the scheduler reruns its tasks on
another worker (up to ``distributed.scheduler.allowed-failures`` times, default 3).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypedDict, Unpack

from sim.errors import OptionError

SERIAL_BELOW = 16
"""Without an explicit worker count, jobs with fewer tasks than this run serially."""
MAX_BATCH = 16
"""Most tasks sent to a worker as one Dask task."""
BATCHES_PER_WORKER = 4
"""Aim for at least this many batches per worker, so work stays balanced to the end."""
CONNECT_TIMEOUT_S = 30
"""Seconds to wait for a scheduler to answer."""
LOOPBACK = "127.0.0.1"
"""The only interface a local cluster listens on."""
SCHEDULER_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")
"""Address schemes of a remote Dask scheduler (an address without one is tcp)."""
TLS_SCHEMES = ("tls", "wss")
"""Schemes whose connections are encrypted with TLS."""


class ExecutionOptions(TypedDict, total=False):
    """Where Dask runs, beyond ``workers`` and ``scheduler``: keyword arguments taken by every
    function that runs tasks (`execute`, `pool`, `sim.experiments.runs.run`, sweeps,
    calibration, ...) and read only by this module. A key left out takes its default.

    Attributes:
        dashboard: bool; start the local cluster's dashboard on 127.0.0.1 (a free port) and
            print its address to stderr; any job then runs on a local cluster (default
            False).
        tls_ca_file, tls_cert, tls_key: str | Path | None; PEM files for a TLS connection to
            the scheduler: the certificate authority, this client's certificate and its
            private key (the key may be inside the certificate file). Without them a
            ``tls://`` address uses Dask's configuration (``distributed.comm.tls``) (default
            None).
    """

    dashboard: bool
    tls_ca_file: str | Path | None
    tls_cert: str | Path | None
    tls_key: str | Path | None


def execute(
    fn: Callable[[Any, Any], Any],
    shared: Any,
    tasks: Sequence[Any],
    on_result: Callable[[Any, Any], None],
    workers: int | None = None,
    scheduler: str | None = None,
    batch_size: int | None = None,
    **execution: Unpack[ExecutionOptions],
) -> str:
    """Run ``fn(shared, task)`` for every task and pass each result to `on_result`.

    Args:
        fn: a picklable top-level function of (shared, task).
        shared: data common to all tasks (sent with each batch).
        tasks: the tasks; each must be picklable.
        on_result: called in this process as ``on_result(task, result)`` when a task is
            done, in completion order.
        workers: local worker processes (default: cores; 1 runs serially here).
        scheduler: address of a running Dask scheduler, e.g. ``tcp://10.0.0.5:8786`` or
            ``tls://10.0.0.5:8786``; excludes `workers`. Its workers must be trusted: results
            are unpickled in this process.
        batch_size: tasks per Dask task (default: small, from the task and worker counts).
        execution: where Dask runs (`ExecutionOptions`).

    Returns:
        A description of where the tasks ran, e.g. ``"local cluster of 4 workers"``.

    Raises:
        CXMError: bad worker count, or both `workers` and `scheduler` given, a malformed
            scheduler address, missing TLS files, or no scheduler at the address.
    """
    check_options(workers, scheduler, **execution)
    if not tasks:
        return "nothing to run"
    with pool(workers, scheduler, len(tasks), **execution) as where:
        return where.execute(fn, shared, tasks, on_result, batch_size)


class Pool:
    """Where tasks run — this process, a local cluster or a scheduler's cluster — open for
    any number of `execute` calls until the `pool` block that opened it ends.

    Attributes:
        description: where tasks run, e.g. ``"serial"`` or ``"local cluster of 4 workers"``.
    """

    def __init__(self, description: str, client: Any = None, workers: int | None = None) -> None:
        self.description = description
        self._client = client
        self._workers = workers
        self._open = True

    @property
    def in_process(self) -> bool:
        """Whether tasks run serially in this process, so that the shared data may hold
        things that cannot travel to another process (such as a progress callback)."""
        return self._client is None

    def execute(
        self,
        fn: Callable[[Any, Any], Any],
        shared: Any,
        tasks: Sequence[Any],
        on_result: Callable[[Any, Any], None],
        batch_size: int | None = None,
    ) -> str:
        """Run ``fn(shared, task)`` for every task and pass each result to `on_result`, in
        completion order; the arguments are those of the module's `execute`.

        Returns:
            `description`, or ``"nothing to run"`` without tasks.

        Raises:
            RuntimeError: the pool's block has ended.
        """
        if not self._open:
            raise RuntimeError(f"the pool ({self.description}) is closed")
        if not tasks:
            return "nothing to run"
        if self._client is None:
            for task in tasks:
                on_result(task, fn(shared, task))
            return self.description
        workers = self._workers or sum(self._client.nthreads().values()) or 1
        size = batch_size or _batch_size(len(tasks), workers)
        _submit_all(self._client, fn, shared, tasks, on_result, size)
        return self.description


@contextmanager
def pool(
    workers: int | None = None,
    scheduler: str | None = None,
    tasks: int | None = None,
    **execution: Unpack[ExecutionOptions],
) -> Iterator[Pool]:
    """Open where tasks run, for one or several `Pool.execute` calls, and close it at the end
    of the ``with`` block (a local cluster stops; a scheduler's cluster is left running).

    Args:
        workers, scheduler: as in `execute`.
        tasks: the most tasks one `Pool.execute` call will hand over (None: no limit).
            Without a worker count, fewer than `SERIAL_BELOW` run serially in this process,
            and a local cluster has no more workers than this.
        execution: where Dask runs (`ExecutionOptions`).

    Raises:
        CXMError: as `execute`, before anything starts.
    """
    check_options(workers, scheduler, **execution)
    dashboard = execution.get("dashboard", False)
    if scheduler is not None:
        with _scheduler_client(scheduler, _security(execution)) as client:
            yield from _open_while(Pool(f"scheduler {scheduler}", client))
    elif _serial(workers, tasks, dashboard):
        yield from _open_while(Pool("serial"))
    else:
        n = min(workers or os.cpu_count() or 1, tasks or sys.maxsize)
        with _local_client(n, dashboard) as client:
            yield from _open_while(Pool(f"local cluster of {n} workers", client, n))


def _serial(workers: int | None, tasks: int | None, dashboard: bool) -> bool:
    """Whether jobs of at most `tasks` tasks run serially in this process without a
    scheduler: with ``workers=1``, or with no worker count for fewer than `SERIAL_BELOW`
    tasks (starting processes would cost more than it saves) unless a dashboard is asked for.
    """
    tiny = workers is None and tasks is not None and tasks < SERIAL_BELOW and not dashboard
    return workers == 1 or tiny


def _open_while(where: Pool) -> Iterator[Pool]:
    """Yield `where` once; mark it closed however the block ends."""
    try:
        yield where
    finally:
        where._open = False


def check_options(
    workers: int | None,
    scheduler: str | None,
    *,
    dashboard: bool = False,
    tls_ca_file: str | Path | None = None,
    tls_cert: str | Path | None = None,
    tls_key: str | Path | None = None,
) -> None:
    """Reject bad execution options before any work: a bad worker count, a worker count
    together with a scheduler, a malformed scheduler address, a dashboard without a local
    cluster, TLS files without a TLS scheduler address, or TLS files that do not exist.

    The keyword arguments are the keys of `ExecutionOptions`; every function that takes
    those passes them here first, so a misspelt one is refused (a `TypeError`) before any work.

    Raises:
        CXMError: naming the option, the value and what is allowed.
    """
    if workers is not None and workers < 1:
        raise OptionError("workers", f"got {workers}; must be at least 1")
    if workers is not None and scheduler is not None:
        raise OptionError("scheduler", "excludes {workers}; give one of the two", ("workers",))
    scheme = check_scheduler_address(scheduler) if scheduler is not None else None
    if dashboard and scheduler is not None:
        raise OptionError(
            "dashboard",
            "only for a local cluster; a {scheduler} cluster has its own dashboard",
            ("scheduler",),
        )
    if dashboard and workers == 1:
        raise OptionError("dashboard", "needs a local cluster; not with {workers} 1", ("workers",))
    files = {"tls_ca_file": tls_ca_file, "tls_cert": tls_cert, "tls_key": tls_key}
    for option, path in files.items():
        if path is None:
            continue
        if scheduler is None:
            raise OptionError(
                option, "only with {scheduler} (a remote Dask cluster)", ("scheduler",)
            )
        if scheme not in TLS_SCHEMES:
            raise OptionError(
                option,
                f"needs a TLS scheduler address (tls://HOST:PORT); {{scheduler}} is {scheduler!r}",
                ("scheduler",),
            )
        if not Path(path).is_file():
            raise OptionError(option, f"got {str(path)!r}; no such file")
    if tls_key is not None and tls_cert is None:
        raise OptionError(
            "tls_key", "needs {tls_cert} (the certificate the key belongs to)", ("tls_cert",)
        )


def check_scheduler_address(address: str) -> str:
    """Check a Dask scheduler address such as ``tcp://10.0.0.5:8786``; return its scheme.

    An address without a scheme (``HOST:PORT``) is tcp, as in Dask.

    Raises:
        CXMError: an unknown scheme, or no host and port.
    """
    allowed = (
        "must be tcp://HOST:PORT or, with TLS, tls://HOST:PORT (also ws://, wss://, ucx://), "
        "e.g. tcp://10.0.0.5:8786"
    )
    scheme, sep, location = address.rpartition("://")
    scheme = scheme if sep else "tcp"
    if scheme not in SCHEDULER_SCHEMES or any(c.isspace() for c in address):
        raise OptionError("scheduler", f"got {address!r}; {allowed}")
    from distributed.comm.addressing import parse_host_port

    try:
        host, port = parse_host_port(location)
    except ValueError:
        raise OptionError("scheduler", f"got {address!r}; {allowed}") from None
    if not host or "/" in host or not 0 < port < 65536:
        raise OptionError("scheduler", f"got {address!r}; {allowed}")
    return scheme


def _security(execution: ExecutionOptions) -> Any:
    """Dask `Security` requiring encryption with the TLS files of `execution`, or None
    without files."""
    files = {
        "tls_ca_file": execution.get("tls_ca_file"),
        "tls_client_cert": execution.get("tls_cert"),
        "tls_client_key": execution.get("tls_key"),
    }
    given = {name: str(path) for name, path in files.items() if path is not None}
    if not given:
        return None
    from distributed.security import Security

    return Security(require_encryption=True, **given)


@contextmanager
def _local_client(workers: int, dashboard: bool = False) -> Iterator[Any]:
    """A client of a new local cluster of `workers` single-threaded processes on loopback."""
    import dask
    from distributed import Client, LocalCluster

    # Every server binds to the loopback interface: the scheduler and worker comms (host),
    # and the HTTP servers that Dask starts on each of them. Without a dashboard those
    # serve no pages at all.
    http = (
        {}
        if dashboard
        else {
            "distributed.scheduler.http.routes": [],
            "distributed.worker.http.routes": [],
        }
    )
    with (
        dask.config.set(http),
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host=LOOPBACK,
            dashboard_address=f"{LOOPBACK}:0",
            worker_dashboard_address=None,
            scheduler_kwargs={"dashboard": dashboard},
            # One thread for the per-person passes too (`sim.threads`): the workers share
            # the cores already.
            env={"NUMBA_NUM_THREADS": "1"},
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        if dashboard:
            print(_dashboard_line(client), file=sys.stderr, flush=True)
        yield client


def _dashboard_line(client: Any) -> str:
    """Where the local cluster's dashboard is, and what it needs if bokeh is missing."""
    import importlib.util

    port = client.scheduler_info()["services"]["dashboard"]
    line = f"Dask dashboard: http://{LOOPBACK}:{port}/status"
    if importlib.util.find_spec("bokeh") is None:
        line += " (its plots need the bokeh package: pip install 'bokeh>=3.1')"
    return line


@contextmanager
def _scheduler_client(address: str, security: Any = None) -> Iterator[Any]:
    """A client of the scheduler at `address`, closed at the end (the cluster keeps running).

    Raises:
        CXMError: no scheduler answers at the address.
    """
    from distributed import Client

    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S, security=security)
    except (OSError, TimeoutError, ValueError, TypeError, RuntimeError, ImportError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise OptionError(
            "scheduler", f"cannot reach a Dask scheduler at {address} ({reason})"
        ) from None
    with client:
        yield client


def _submit_all(
    client: Any,
    fn: Callable[[Any, Any], Any],
    shared: Any,
    tasks: Sequence[Any],
    on_result: Callable[[Any, Any], None],
    size: int,
) -> None:
    from distributed import as_completed

    batches = [list(tasks[i : i + size]) for i in range(0, len(tasks), size)]
    run_batch = partial(_run_batch, fn, shared)
    futures = {client.submit(run_batch, batch, pure=False): batch for batch in batches}
    try:
        for future, results in as_completed(futures, with_results=True):
            for task, result in zip(futures[future], results, strict=True):
                on_result(task, result)
    finally:
        client.cancel(list(futures))


def _run_batch(fn: Callable[[Any, Any], Any], shared: Any, batch: list[Any]) -> list[Any]:
    return [fn(shared, task) for task in batch]


def _batch_size(tasks: int, workers: int) -> int:
    return max(1, min(MAX_BATCH, tasks // (workers * BATCHES_PER_WORKER)))
