"""The classroom page in a real browser: `cxm app` on a free loopback port, driven by headless
Chromium (Debian's `chromium` package, through Playwright; nothing is downloaded)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from test_notebook_runner import PROJECT_ROOT, cxm

import sim
from sim.classroom import levers
from sim.scenario import load_scenario
from tests.conftest import free_port, wait_until_serving

START_SECONDS = 120
"""Longest wait for the server to answer (imports on a busy machine)."""
STEP_SECONDS = 120
"""Longest wait for the page to show a month."""


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory):
    """The scenario the page opens with: the baseline, in a folder of the test's."""
    path = tmp_path_factory.mktemp("scenario") / "classroom_test.yaml"
    path.write_text(f"extends: {PROJECT_ROOT / 'scenarios' / 'baseline.yaml'}\nname: lesson\n")
    return path


@pytest.fixture(scope="module")
def server(scenario_file, tmp_path_factory):
    """`cxm app SCENARIO --host 127.0.0.1 --port P` in its own process group, stopped at the
    end (also on failure); its URL."""
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sim.cli.main",
                "app",
                str(scenario_file),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=PROJECT_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_serving(process, url, log, START_SECONDS)
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def open_page(browser, url: str):
    """A new page at `url`, recording failed requests, HTTP errors and console errors."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    problems: list[str] = []
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    page.on(
        "response", lambda r: problems.append(f"{r.status}: {r.url}") if r.status >= 400 else None
    )
    page.on(
        "console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None
    )
    page.goto(url)
    page.get_by_role("button", name="Step").wait_for(timeout=STEP_SECONDS * 1000)
    return page, problems


def month_shown(page, month: int, months: int) -> None:
    page.locator(".cxm-month", has_text=f"Month {month} of {months}").wait_for(
        timeout=STEP_SECONDS * 1000
    )


def slider(page, label: str):
    """The slider whose label starts with `label`."""
    field = page.locator(".v-input", has=page.locator("label", has_text=label)).first
    return field.locator("[role=slider]")


def move(page, label: str, presses: int, shown: str) -> None:
    """Move a slider by `presses` steps with the keyboard and wait for its label to read
    `label: shown` (the page has rebuilt the run with it)."""
    handle = slider(page, label)
    handle.focus()
    for _ in range(abs(presses)):
        handle.press("ArrowRight" if presses > 0 else "ArrowLeft")
    page.get_by_text(f"{label}: {shown}", exact=True).wait_for(timeout=STEP_SECONDS * 1000)


PNG_DIGEST = """async (img) => {
    const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
    const png = bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    return (png ? "png:" : "other:") + Array.from(digest, (b) => b.toString(16)).join("");
}"""
"""The chart image's bytes as the browser holds them: ``png:<sha256>`` (or ``other:``)."""


def chart_images(page) -> list[str]:
    """Each chart's image, as `PNG_DIGEST`."""
    return [img.evaluate(PNG_DIGEST) for img in page.locator(".cxm-chart img").all()]


def numbers(page) -> pd.DataFrame:
    """The Numbers tab's table, as the browser shows it."""
    table = page.locator("table.cxm-numbers")
    table.wait_for(timeout=STEP_SECONDS * 1000)
    head = table.evaluate("t => Array.from(t.tHead.rows[0].cells, c => c.innerText.trim())")
    body = table.evaluate(
        "t => Array.from(t.tBodies[0].rows, r => Array.from(r.cells, c => c.innerText.trim()))"
    )
    return pd.DataFrame(body, columns=head).replace("—", "nan").astype(float)


@pytest.mark.slow
def test_a_class_moves_levers_runs_and_reads_the_same_numbers_as_sim_run(
    server, browser, scenario_file, tmp_path
):
    page, problems = open_page(browser, server)
    try:
        month_shown(page, 0, 60)
        # two sliders: the horizon (60 → 12 months) and culture (2.5 → 3.5)
        move(page, "Months to simulate", -8, "12")
        month_shown(page, 0, 12)
        page.get_by_text("Capabilities (level 0–5)").click()
        move(page, "Customer-centric culture", 4, "3.5")

        page.get_by_role("button", name="Step").click()
        month_shown(page, 1, 12)
        first = chart_images(page)
        assert len(first) == 3 and all(d.startswith("png:") for d in first)
        page.get_by_role("button", name="▶").click()
        month_shown(page, 12, 12)
        page.wait_for_timeout(1500)
        last = chart_images(page)
        assert len(last) == 3 and all(a != b for a, b in zip(first, last, strict=True))
        page.screenshot(path=str(tmp_path / "classroom.png"), full_page=True)
        assert (tmp_path / "classroom.png").stat().st_size > 30_000

        # the numbers behind the charts are sim.run's, same settings and seed
        page.get_by_role("tab", name="Numbers").click()
        shown = numbers(page)
        settings = {
            "market_size": str(levers.CLASSROOM_MARKET_SIZE),
            "months": 12,
            "level_culture": 3.5,
        }
        scenario = levers.apply_settings(load_scenario(scenario_file), settings)
        run = sim.run(scenario, replications=3, seed=scenario.seed, workers=1)
        means = run.timeseries.groupby("month")[["active", "revenue", "nps_true", "service_level"]]
        expected = means.mean().reset_index()
        assert list(shown["month"]) == list(range(1, 13))
        for column in ["active", "revenue", "nps_true", "service_level"]:
            pd.testing.assert_series_equal(
                shown[column], expected[column], check_names=False, rtol=1e-8
            )

        # one customer's journey
        page.get_by_role("tab", name="Journey").click()
        rows = page.locator("table.cxm-journey tbody tr")
        rows.first.wait_for(timeout=STEP_SECONDS * 1000)
        customer = int(page.locator(".cxm-customer .v-select__selection").inner_text())
        log = sim.run(scenario, replications=1, seed=scenario.seed, customer_log=True).customers
        assert rows.count() == int((log["customer"] == customer).sum()) > 0
        assert page.locator("img").count() >= 1

        # the word-of-mouth view
        page.get_by_role("tab", name="Network").click()
        page.get_by_text("Green: promoters").wait_for()
        assert page.locator("img").count() >= 1

        # export the settings and validate them as `cxm run` would
        page.get_by_role("tab", name="Scenario").click()
        exported = page.locator("pre.cxm-export").inner_text()
        path = tmp_path / "exported.yaml"
        path.write_text(exported)
        status, _, stderr = cxm("validate", str(path))
        assert status == 0, stderr
        assert load_scenario(path).model_dump(exclude={"name", "description"}) == (
            scenario.model_dump(exclude={"name", "description"})
        )
        with page.expect_download() as download:
            page.get_by_text("Export settings as scenario YAML").click()
        assert Path(download.value.path()).read_text() == exported

        # compare with the scenario as written: paired differences
        page.get_by_text("Compare with the scenario as written").click()
        month_shown(page, 0, 12)
        page.get_by_role("button", name="Step").click()
        month_shown(page, 1, 12)
        page.get_by_role("tab", name="Numbers").click()
        changed = numbers(page)
        reference = levers.apply_settings(
            load_scenario(scenario_file), {"market_size": "2000", "months": 12}
        )
        base = sim.run(reference, replications=3, seed=scenario.seed, workers=1).timeseries
        ours = run.timeseries
        difference = ours[ours.month == 1]["active"].mean() - base[base.month == 1]["active"].mean()
        assert changed["active change"].iloc[0] == pytest.approx(difference, rel=1e-8, abs=1e-9)
        assert problems == [], "\n".join(problems)
    finally:
        page.close()


@pytest.mark.slow
def test_a_bad_scenario_shows_the_clis_one_line_error_in_the_page(server, browser, scenario_file):
    """The file the page opens with breaks while the server runs: a new page says so with
    the command line's message, and falls back to the baseline."""
    good = scenario_file.read_text()
    scenario_file.write_text(good + "months: -3\n")
    try:
        _, _, cli = cxm("validate", str(scenario_file))
        page, _ = open_page(browser, server)
        try:
            error = page.locator(".cxm-error")
            error.wait_for(timeout=STEP_SECONDS * 1000)
            assert error.inner_text().strip() == cli.strip()
            assert "months" in cli and cli.startswith("error: ")
            assert "CXM Lab classroom: baseline" in page.content()
        finally:
            page.close()
    finally:
        scenario_file.write_text(good)
