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
  number of cores), one thread each — the model is NumPy-bound and single-threaded;
- **scheduler**: an existing cluster at ``tcp://host:port`` (see docs/experiments.md for
  starting one by hand, on Kubernetes or on an HPC batch system). Workers need the `sim`
  package installed; they need no shared file system, because tasks carry their data and
  results come back to this process.

Tasks go out in small batches (amortising Dask's per-task overhead of about a millisecond)
and come back with `as_completed`. If a worker dies, the scheduler reruns its tasks on
another worker (up to ``distributed.scheduler.allowed-failures`` times, default 3).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from sim.errors import CXMError

SERIAL_BELOW = 16
"""Without an explicit worker count, jobs with fewer tasks than this run serially."""
MAX_BATCH = 16
"""Most tasks sent to a worker as one Dask task."""
BATCHES_PER_WORKER = 4
"""Aim for at least this many batches per worker, so work stays balanced to the end."""
CONNECT_TIMEOUT_S = 30
"""Seconds to wait for a scheduler to answer."""


def execute(
    fn: Callable[[Any, Any], Any],
    shared: Any,
    tasks: Sequence[Any],
    on_result: Callable[[Any, Any], None],
    workers: int | None = None,
    scheduler: str | None = None,
    batch_size: int | None = None,
) -> str:
    """Run ``fn(shared, task)`` for every task and pass each result to `on_result`.

    Args:
        fn: a picklable top-level function of (shared, task).
        shared: data common to all tasks (sent with each batch).
        tasks: the tasks; each must be picklable.
        on_result: called in this process as ``on_result(task, result)`` when a task is
            done, in completion order.
        workers: local worker processes (default: cores; 1 runs serially here).
        scheduler: address of a running Dask scheduler, e.g. ``tcp://10.0.0.5:8786``;
            excludes `workers`.
        batch_size: tasks per Dask task (default: small, from the task and worker counts).

    Returns:
        A description of where the tasks ran, e.g. ``"local cluster of 4 workers"``.

    Raises:
        CXMError: bad worker count, or both `workers` and `scheduler` given, or no scheduler
            at the address.
    """
    check_options(workers, scheduler)
    if not tasks:
        return "nothing to run"
    if scheduler is not None:
        return _on_scheduler(fn, shared, tasks, on_result, scheduler, batch_size)
    if workers == 1 or (workers is None and len(tasks) < SERIAL_BELOW):
        for task in tasks:
            on_result(task, fn(shared, task))
        return "serial"
    n = min(workers or os.cpu_count() or 1, len(tasks))
    return _on_local_cluster(fn, shared, tasks, on_result, n, batch_size)


def check_options(workers: int | None, scheduler: str | None) -> None:
    """Reject a bad worker count, or a worker count together with a scheduler.

    Raises:
        CXMError: naming the option and what is allowed.
    """
    if workers is not None and workers < 1:
        raise CXMError(f"--workers: got {workers}; must be at least 1")
    if workers is not None and scheduler is not None:
        raise CXMError("--workers and --scheduler exclude each other; give one")


def _on_local_cluster(
    fn: Callable[[Any, Any], Any],
    shared: Any,
    tasks: Sequence[Any],
    on_result: Callable[[Any, Any], None],
    workers: int,
    batch_size: int | None,
) -> str:
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True,
            dashboard_address=":0", silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):  # fmt: skip
        size = batch_size or _batch_size(len(tasks), workers)
        _submit_all(client, fn, shared, tasks, on_result, size)
    return f"local cluster of {workers} workers"


def _on_scheduler(
    fn: Callable[[Any, Any], Any],
    shared: Any,
    tasks: Sequence[Any],
    on_result: Callable[[Any, Any], None],
    address: str,
    batch_size: int | None,
) -> str:
    from distributed import Client

    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        raise CXMError(f"--scheduler: cannot reach a Dask scheduler at {address} ({exc})") from None
    with client:
        workers = sum(client.nthreads().values()) or 1
        size = batch_size or _batch_size(len(tasks), workers)
        _submit_all(client, fn, shared, tasks, on_result, size)
    return f"scheduler {address}"


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
