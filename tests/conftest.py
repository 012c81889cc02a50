"""Shared fixtures: small scenarios that run in well under a second."""

from __future__ import annotations

import os
import shutil
import tempfile
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
