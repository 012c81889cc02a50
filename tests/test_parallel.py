"""Execution on Dask: a local cluster, a real scheduler with workers, and a worker killed;
pools that serve several jobs; runs and comparisons that do not depend on where they ran."""

from __future__ import annotations

import operator
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

from sim.errors import CXMError
from sim.experiments import parallel
from sim.experiments import runs as experiments
from sim.experiments.sweep import run_sweep
from sim.results import PROJECT_ROOT
from sim.scenario import load_scenario, with_overrides

BASELINE = PROJECT_ROOT / "scenarios" / "baseline.yaml"
ALTERNATIVE = PROJECT_ROOT / "scenarios" / "service_excellence.yaml"
SMALL_MARKET = {"market.size": 1500, "months": 6}
RUN_TABLES = ("timeseries", "touchpoints", "segments", "outcomes", "summary")
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


@pytest.mark.slow
def test_local_cluster_of_two_workers_equals_serial(small, tmp_path):
    path, serial = small
    assert serial.execution == "serial" and (serial.runs["status"] == "error").any()
    result = run_sweep(path, workers=2, out=tmp_path / "local")
    assert result.execution == "local cluster of 2 workers"
    pd.testing.assert_frame_equal(comparable(result.runs), comparable(serial.runs))


@pytest.mark.slow
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
    with pytest.raises(CXMError, match="workers"):
        parallel.execute(len, None, [1], print, workers=0)
    with pytest.raises(CXMError, match="exclude"):
        parallel.execute(len, None, [1], print, workers=2, scheduler="tcp://127.0.0.1:1")


@pytest.mark.slow
def test_unreachable_scheduler_is_a_clear_error_and_writes_nothing(small, tmp_path, monkeypatch):
    monkeypatch.setattr(parallel, "CONNECT_TIMEOUT_S", 1)
    path, _ = small
    out = tmp_path / "none"
    with pytest.raises(CXMError, match="cannot reach"):
        run_sweep(path, scheduler="tcp://127.0.0.1:9", out=out)
    assert not out.exists()


# ---------------------------------------------------------------- network exposure


def listening_sockets() -> list[tuple[int, str, int]]:
    """(pid, address, port) of every listening TCP socket of this process and its children."""
    import psutil

    me = psutil.Process()
    found = []
    for process in [me, *me.children(recursive=True)]:
        try:
            connections = process.net_connections(kind="inet")
        except psutil.NoSuchProcess:
            continue
        for connection in connections:
            if connection.status == psutil.CONN_LISTEN:
                found.append((process.pid, connection.laddr.ip, connection.laddr.port))
    return found


def http_status(port: int, path: str) -> int:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code


def comm_ports(client) -> set[int]:
    """Ports of the Dask comms (scheduler, workers, nannies): not HTTP, so not probed."""
    info = client.scheduler_info()
    addresses = [info["address"]]
    for address, worker in info["workers"].items():
        addresses += [address, worker.get("nanny") or address]
    return {int(address.rsplit(":", 1)[1]) for address in addresses}


@pytest.mark.slow
@pytest.mark.parametrize("dashboard", [False, True])
def test_local_cluster_listens_on_loopback_only(dashboard, capsys):
    from distributed import default_client

    seen: dict[str, object] = {}

    def inspect(task, result):
        if seen:
            return
        client = default_client()
        sockets = listening_sockets()
        http = sorted({port for _, _, port in sockets} - comm_ports(client))
        seen["sockets"] = sockets
        seen["workers"] = len(client.scheduler_info()["workers"])
        seen["status"] = {port: http_status(port, "/status") for port in http}
        seen["pages"] = {port: http_status(port, "/info/main/workers.html") for port in http}

    mode = parallel.execute(operator.mul, 3, [1, 2, 3, 4], inspect, workers=2, dashboard=dashboard)
    assert mode == "local cluster of 2 workers" and seen["workers"] == 2
    sockets = seen["sockets"]
    assert len({pid for pid, _, _ in sockets}) == 3  # this process (scheduler) and 2 workers
    assert {address for _, address, _ in sockets} <= {"127.0.0.1", "::1"}, sockets
    err = capsys.readouterr().err
    if dashboard:
        line = next(line for line in err.splitlines() if line.startswith("Dask dashboard: "))
        url = line.split()[2]
        port = int(url.removeprefix("http://127.0.0.1:").removesuffix("/status"))
        assert url.startswith("http://127.0.0.1:") and seen["status"][port] == 200
    else:
        assert "dashboard" not in err
        # Every HTTP server Dask starts is on loopback and serves no page at all.
        assert seen["status"] and set(seen["status"].values()) == {404}
        assert set(seen["pages"].values()) == {404}


# ---------------------------------------------------------------- scheduler options


@pytest.mark.parametrize(
    "address",
    ["foo://x", "not an address", "http://10.0.0.5:8786", "tcp://", "tcp://host", "tcp://h:0",
     "inproc://x", "tcp://h:99999"],
)  # fmt: skip
def test_bad_scheduler_addresses_are_refused_in_one_line(address):
    with pytest.raises(CXMError) as caught:
        parallel.check_options(None, address)
    message = str(caught.value)
    assert message.startswith(f"scheduler: got {address!r}; must be tcp://HOST:PORT")
    assert "\n" not in message


@pytest.mark.parametrize(
    "address", ["tcp://10.0.0.5:8786", "tls://scheduler.example:8786", "10.0.0.5:8786",
                "tcp://[::1]:8786", "ws://h:80"],
)  # fmt: skip
def test_good_scheduler_addresses_pass(address):
    parallel.check_options(None, address)


def test_bad_scheduler_through_the_cli_exits_2_without_a_traceback(small, tmp_path, capsys):
    from sim.cli.main import main

    path, _ = small
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--scheduler", "foo://x", "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "error: --scheduler: got 'foo://x'; must be tcp://HOST:PORT or, with TLS, "
        "tls://HOST:PORT (also ws://, wss://, ucx://), e.g. tcp://10.0.0.5:8786\n"
    )
    assert not list(out.glob("**/run-*.json"))


def test_tls_options_are_checked_before_any_work(small, tmp_path):
    path, _ = small
    cert = tmp_path / "client.pem"
    cert.write_text("not really a certificate\n")
    out = tmp_path / "out"
    cases = [
        ({"tls_cert": cert}, None, "tls_cert: only with scheduler"),
        ({"tls_ca_file": cert}, None, "tls_ca_file: only with scheduler"),
        ({"tls_cert": cert}, "tcp://10.0.0.5:8786", "tls_cert: needs a TLS scheduler address"),
        ({"tls_cert": tmp_path / "missing.pem"}, "tls://10.0.0.5:8786",
         f"tls_cert: got '{tmp_path / 'missing.pem'}'; no such file"),
        ({"tls_cert": cert, "tls_key": tmp_path / "key.pem"}, "tls://10.0.0.5:8786",
         "tls_key: got"),
        ({"tls_key": cert}, "tls://10.0.0.5:8786", "tls_key: needs tls_cert"),
        ({"dashboard": True}, "tls://10.0.0.5:8786", "dashboard: only for a local cluster"),
    ]  # fmt: skip
    for options, scheduler, message in cases:
        with pytest.raises(CXMError) as caught:
            run_sweep(path, scheduler=scheduler, out=out, **options)
        assert str(caught.value).startswith(message) and "\n" not in str(caught.value)
        assert not out.exists()
    with pytest.raises(CXMError, match=r"^dashboard: needs a local cluster; not with workers 1"):
        run_sweep(path, workers=1, dashboard=True, out=out)


def test_tls_options_through_the_cli(small, tmp_path, capsys):
    from sim.cli.main import main

    path, _ = small
    out = tmp_path / "out"
    argv = ["sweep", str(path), "--out", str(out), "-q", "--tls-cert", str(tmp_path / "c.pem")]
    assert main(argv) == 2
    assert (
        capsys.readouterr().err
        == "error: --tls-cert: only with --scheduler (a remote Dask cluster)\n"
    )
    assert main([*argv, "--scheduler", "tls://127.0.0.1:9"]) == 2
    missing = tmp_path / "c.pem"
    assert capsys.readouterr().err == f"error: --tls-cert: got '{missing}'; no such file\n"
    assert not list(out.glob("**/run-*.json"))


def test_tls_files_reach_dask_security(small, tmp_path, monkeypatch):
    """The files become a Security that requires encryption, handed to Client."""
    import distributed

    files = {name: tmp_path / f"{name}.pem" for name in ("ca", "cert", "key")}
    for file in files.values():
        file.write_text("-\n")
    seen = {}

    def refuse(address, timeout, security):
        seen.update(address=address, security=security)
        raise OSError("Timed out trying to connect to\n" + address)

    monkeypatch.setattr(distributed, "Client", refuse)
    with pytest.raises(CXMError) as caught:
        parallel.execute(
            len, None, [1], print, scheduler="tls://127.0.0.1:9", tls_ca_file=files["ca"],
            tls_cert=files["cert"], tls_key=files["key"],
        )  # fmt: skip
    assert str(caught.value) == (
        "scheduler: cannot reach a Dask scheduler at tls://127.0.0.1:9 "
        "(Timed out trying to connect to tls://127.0.0.1:9)"
    )
    security = seen["security"]
    assert security.require_encryption is True
    assert security.tls_ca_file == str(files["ca"])
    assert security.tls_client_cert == str(files["cert"])
    assert security.tls_client_key == str(files["key"])


@pytest.mark.parametrize("error", [ValueError("bad\naddress"), RuntimeError("refusing"),
                                   TimeoutError()])  # fmt: skip
def test_whatever_client_raises_is_one_line(monkeypatch, error):
    import distributed

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(distributed, "Client", fail)
    with pytest.raises(CXMError) as caught:
        parallel.execute(len, None, [1], print, scheduler="tcp://127.0.0.1:9")
    message = str(caught.value)
    assert message.startswith("scheduler: cannot reach a Dask scheduler at tcp://127.0.0.1:9 (")
    assert "\n" not in message


# ---------------------------------------------------------------- pools


def test_a_serial_pool_serves_several_jobs_and_then_closes():
    seen = []
    with parallel.pool(tasks=3) as where:
        assert where.in_process and where.description == "serial"
        for shared in (2, 5):
            assert where.execute(operator.mul, shared, [1, 2, 3], lambda t, r: seen.append(r))
        assert where.execute(operator.mul, 1, [], print) == "nothing to run"
    assert seen == [2, 4, 6, 5, 10, 15]
    with pytest.raises(RuntimeError, match="closed"):
        where.execute(operator.mul, 1, [1], print)
    with parallel.pool(workers=1) as where:
        assert where.in_process
    with pytest.raises(CXMError, match=r"^workers: got 0"), parallel.pool(workers=0):
        pass


@pytest.mark.slow
def test_a_pool_keeps_one_local_cluster_for_several_jobs():
    from distributed import default_client

    schedulers = set()

    def note(task, result):
        schedulers.add(default_client().scheduler.address)

    with parallel.pool(workers=2, tasks=4) as where:
        assert not where.in_process and where.description == "local cluster of 2 workers"
        for shared in (1, 2, 3):
            assert where.execute(operator.mul, shared, [1, 2, 3, 4], note) == where.description
    assert len(schedulers) == 1


# ---------------------------------------------------------------- run and compare


@pytest.fixture(scope="module")
def market():
    return with_overrides(load_scenario(BASELINE), SMALL_MARKET)


def assert_same_run(a: experiments.RunResult, b: experiments.RunResult) -> None:
    assert a.scenario == b.scenario and (a.seed, a.engine) == (b.seed, b.engine)
    for table in RUN_TABLES:
        pd.testing.assert_frame_equal(getattr(a, table), getattr(b, table), check_exact=True)


class BackwardsPool:
    """A pool that hands results back in reverse order, as a cluster may."""

    in_process = False

    def execute(self, fn, shared, tasks, on_result, batch_size=None):
        results = [(task, fn(shared, task)) for task in tasks]
        for task, result in reversed(results):
            on_result(task, result)
        return "backwards"


def test_tables_do_not_depend_on_the_order_replications_finish_in():
    tiny = with_overrides(load_scenario(BASELINE), {"market.size": 300, "months": 2})
    other = with_overrides(tiny, {"name": "other", "firm.capabilities.technology": 4.0})
    months = []
    with parallel.pool(workers=1) as serial:
        expected = experiments.replicate(serial, [tiny, other], 3, 9)
    backwards = experiments.replicate(BackwardsPool(), [tiny, other], 3, 9, progress=months.append)
    for a, b in zip(expected, backwards, strict=True):
        assert_same_run(a, b)
    assert months == [2] * 6  # one replication's months as it finishes, off the process


@pytest.mark.slow
def test_run_and_compare_on_two_workers_equal_serial(market):
    months: dict[int, list[int]] = {1: [], 2: []}
    runs = {w: experiments.run(market, 3, 5, progress=months[w].append, workers=w) for w in (1, 2)}
    assert_same_run(runs[1], runs[2])
    assert months[1] == [1] * 18  # month by month in this process
    assert months[2] == [6] * 3  # a replication's months as it comes back from a worker

    alternative = with_overrides(load_scenario(ALTERNATIVE), SMALL_MARKET)
    comparisons = {
        w: experiments.compare(market, alternative, replications=3, seed=5, workers=w)
        for w in (1, 2)
    }
    serial, local = comparisons[1], comparisons[2]
    for a, b in zip(serial.runs, local.runs, strict=True):
        assert_same_run(a, b)
    pd.testing.assert_frame_equal(serial.paired, local.paired, check_exact=True)
    pd.testing.assert_frame_equal(serial.summary, local.summary, check_exact=True)
    assert_same_run(serial.runs[0], runs[1])  # the base of a comparison is the same run


def test_run_checks_execution_options_before_any_work(market, monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("a replication was simulated")

    monkeypatch.setattr(experiments, "finished_model", no_work)
    with pytest.raises(CXMError, match=r"^workers: got 0"):
        experiments.run(market, 2, workers=0)
    with pytest.raises(CXMError, match=r"^scheduler: got 'foo://x'"):
        experiments.compare(market, market, replications=2, scheduler="foo://x")
    with pytest.raises(ValueError, match="replications: got 0"):
        experiments.run(market, 0, workers=2)
