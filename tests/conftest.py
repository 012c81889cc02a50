"""Shared fixtures: small scenarios that run in well under a second."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from sim.results import PROJECT_ROOT
from sim.scenario import Scenario, load_scenario, with_overrides

SCENARIOS = PROJECT_ROOT / "scenarios"
CHROMIUM = "/usr/bin/chromium"
"""Debian's Chromium (`apt-get install chromium chromium-driver`; `.ci/run` installs it), which
the browser tests drive through Playwright (nothing is downloaded)."""

# The contact centre's simulated periods of this test session live in a folder of their own
# (commands and notebook kernels started by the tests inherit it), not in the user's cache.
os.environ["CXM_PERIODS_DIR"] = tempfile.mkdtemp(prefix="cxm-periods-")


@pytest.fixture
def baseline() -> Scenario:
    """The baseline scenario, shrunk to 4,000 people and 24 months."""
    return with_overrides(
        load_scenario(SCENARIOS / "baseline.yaml"), {"market.size": 4000, "months": 24}
    )


@pytest.fixture
def scenario_file(tmp_path: Path):
    """Write a scenario file from text and return its path."""

    def write(text: str, name: str = "case.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


@pytest.fixture
def on_each_thread_count(monkeypatch: pytest.MonkeyPatch):
    """Run a callable on one thread and on two (one only where the machine has one core),
    with every pass over ten people or more spread over the threads (`sim.threads`);
    returns what it gave on each thread count, by count. The thread count is put back."""
    import sim.threads as threads

    monkeypatch.setattr(threads, "PARALLEL_FROM", 10)

    def run[T](task: Callable[[], T]) -> dict[int, T]:
        before, results = threads.threads(), {}
        try:
            for count in (1, 2) if threads.available() > 1 else (1,):
                threads.set_threads(count)
                results[count] = task()
        finally:
            threads.set_threads(before)
        return results

    return run


def free_port() -> int:
    """A TCP port free on the loopback address now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_serving(
    process: subprocess.Popen, url: str, log: Path, seconds: float, pause: float = 0.5
) -> None:
    """Return once `url` answers 200; fail the test, with the server's `log`, if the server
    `process` exits first or nothing answers within `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}: {log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"the server did not answer within {seconds} s: {log.read_text()}")
        time.sleep(pause)


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium from Debian's package, for the module's browser tests."""
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.fail(
            f"{CHROMIUM} not found: apt-get update && apt-get install -y chromium chromium-driver"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()
