"""Execution on Dask: a local cluster, a real scheduler with workers, and a worker killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim import parallel
from sim.errors import CXMError
from sim.results import PROJECT_ROOT
from sim.sweep import run_sweep

BASELINE = PROJECT_ROOT / "scenarios" / "baseline.yaml"
BIN = Path(sys.executable).parent
START_TIMEOUT_S = 60


def write_sweep(directory: Path, samples: int, size: int, months: int) -> Path:
    """A Latin-hypercube sweep of the baseline with one failing corner (FCR above 1)."""
    spec = {
        "name": "par",
        "base": str(BASELINE),
        "design": "latin_hypercube",
        "samples": samples,
        "replications": 2,
        "seed": 17,
        "months": months,
        "set": {"market.size": size, "support.mode": "service_level"},
        "parameters": {
            "firm.capabilities.technology": {"range": [1.0, 4.0]},
            "support.first_contact_resolution": {"range": [0.6, 1.05]},
            "behaviour.churn.satisfaction_effect": {"range": [2.0, 10.0]},
        },
        "outcomes": ["retention_of_initial", "profit_npv", "nps_true", "churn_rate_mean"],
    }
    path = directory / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def comparable(runs: pd.DataFrame) -> pd.DataFrame:
    return runs.drop(columns=["wall_seconds"])


class Cluster:
    """A Dask scheduler and workers started as subprocesses on 127.0.0.1."""

    def __init__(self, directory: Path, workers: int) -> None:
        self.file = directory / "scheduler.json"
        self.log = (directory / "cluster.log").open("w")
        env = os.environ | {"PYTHONPATH": str(PROJECT_ROOT)}
        self.processes: list[subprocess.Popen] = []
        self.scheduler = self._start(
            ["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(self.file)], env,
        )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.file.exists():
            assert time.monotonic() < deadline, "the scheduler did not start"
            time.sleep(0.05)
        worker = ["worker", "--scheduler-file", str(self.file), "--nworkers", "1", "--nthreads"]
        worker += ["1", "--no-nanny", "--no-dashboard", "--host", "127.0.0.1"]
        self.workers = [self._start(worker, env) for _ in range(workers)]
        from distributed import Client

        with Client(scheduler_file=str(self.file), timeout=START_TIMEOUT_S) as client:
            client.wait_for_workers(workers, timeout=START_TIMEOUT_S)
            self.address = client.scheduler.address

    def _start(self, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        process = subprocess.Popen(
            [str(BIN / "dask"), *args], env=env, cwd=PROJECT_ROOT,
            stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.log.close()


@pytest.fixture
def cluster(tmp_path):
    running = Cluster(tmp_path, workers=2)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A small sweep and its serial result (the reference)."""
    directory = tmp_path_factory.mktemp("small")
    path = write_sweep(directory, samples=20, size=800, months=4)
    return path, run_sweep(path, workers=1, out=directory / "serial")


def test_local_cluster_of_two_workers_equals_serial(small, tmp_path):
    path, serial = small
    assert serial.execution == "serial" and (serial.runs["status"] == "error").any()
    result = run_sweep(path, workers=2, out=tmp_path / "local")
    assert result.execution == "local cluster of 2 workers"
    pd.testing.assert_frame_equal(comparable(result.runs), comparable(serial.runs))


def test_scheduler_address_equals_serial_and_survives_a_killed_worker(small, cluster, tmp_path):
    path, serial = small
    result = run_sweep(path, scheduler=cluster.address, out=tmp_path / "remote")
    assert result.execution == f"scheduler {cluster.address}"
    pd.testing.assert_frame_equal(comparable(result.runs), comparable(serial.runs))

    # A slower sweep; one worker is killed (SIGKILL) once a few runs are stored.
    slow = write_sweep(tmp_path, samples=24, size=4000, months=10)
    out = tmp_path / "killed"
    at_kill: list[int] = []

    def kill_a_worker() -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            done = len(list(out.glob(".runs/run-*.json")))
            if done >= 4:
                os.kill(cluster.workers[0].pid, signal.SIGKILL)
                at_kill.append(done)
                return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_a_worker)
    killer.start()
    try:
        survived = run_sweep(slow, scheduler=cluster.address, out=out)
    finally:
        killer.join()
    assert at_kill and at_kill[0] < 48, "the worker was not killed mid-sweep"
    assert cluster.workers[0].wait(timeout=10) == -signal.SIGKILL
    assert "Remove worker" in (tmp_path / "cluster.log").read_text()
    assert len(survived.runs) == 48 and survived.executed == 48
    reference = run_sweep(slow, workers=1, out=tmp_path / "reference")
    pd.testing.assert_frame_equal(comparable(survived.runs), comparable(reference.runs))


def test_serial_execution_calls_back_in_order_and_options_are_checked():
    seen = []
    mode = parallel.execute(
        lambda shared, t: shared * t, 10, [1, 2, 3], lambda t, r: seen.append(r)
    )
    assert mode == "serial" and seen == [10, 20, 30]
    assert parallel.execute(len, None, [], print) == "nothing to run"
    with pytest.raises(CXMError, match="--workers"):
        parallel.execute(len, None, [1], print, workers=0)
    with pytest.raises(CXMError, match="exclude"):
        parallel.execute(len, None, [1], print, workers=2, scheduler="tcp://127.0.0.1:1")


def test_unreachable_scheduler_is_a_clear_error_and_writes_nothing(small, tmp_path, monkeypatch):
    monkeypatch.setattr(parallel, "CONNECT_TIMEOUT_S", 1)
    path, _ = small
    out = tmp_path / "none"
    with pytest.raises(CXMError, match="cannot reach"):
        run_sweep(path, scheduler="tcp://127.0.0.1:9", out=out)
    assert not out.exists()
