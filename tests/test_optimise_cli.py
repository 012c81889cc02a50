"""`cxm optimise`: from a scenario file to the best split, its gains and its scenario, on the
command line; bad options are one line, exit status 2, and nothing is written."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from test_notebook_runner import cxm
from test_optimise import THREE, only_technology_matters

from sim.experiments.optimise import BASE, EVEN, optimise_allocation
from sim.scenario import load_scenario


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("optimise") / "tiny.yaml"
    path.write_text(only_technology_matters(800, 8).to_yaml())
    return path


@pytest.mark.slow
def test_cxm_optimise_writes_the_best_split_its_gains_and_its_scenario(tiny_file, tmp_path):
    out = tmp_path / "best"
    argv = ["optimise", str(tiny_file), "--budget", "1200000", "--years", "0.5",
            "--start-month", "2", "--capabilities", ",".join(THREE), "--objective",
            "retention", "-r", "2", "-s", "5", "--max-evaluations", "10", "--workers", "1",
            "--out", str(out), "-q"]  # fmt: skip
    status, stdout, stderr = cxm(*argv)
    assert status == 0, stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "gains.csv", "history.csv", "manifest.json", "optimised.yaml", "splits.csv",
    ]  # fmt: skip

    # the same search through the library, with the budget the options state
    library = optimise_allocation(
        load_scenario(tiny_file), budget_per_month=100_000.0, start_month=2, end_month=7,
        capabilities=THREE, objective="retention", replications=2, seed=5,
        max_evaluations=10, workers=1,
    )  # fmt: skip
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["allocation"] == library.allocation
    assert manifest["allocation"]["technology"] >= 0.8
    assert manifest["best_single"] == "technology"
    assert (manifest["budget_per_month"], manifest["start_month"], manifest["end_month"]) == (
        100_000.0, 2, 7,
    )  # fmt: skip
    assert manifest["value"] == pytest.approx(library.value, abs=1e-12)
    gains = pd.read_csv(out / "gains.csv")
    pd.testing.assert_frame_equal(gains, library.gains.reset_index(drop=True), check_dtype=False)
    assert len(pd.read_csv(out / "history.csv")) == library.evaluations

    best = load_scenario(out / "optimised.yaml")
    assert best.sha256 == library.scenario.sha256
    assert best.firm.budget.allocation == {c: s for c, s in library.allocation.items() if s > 0}

    retention = gains.set_index(["reference", "metric"]).loc[(BASE, "retention_of_initial")]
    assert f"retention_of_initial against no budget: {retention.difference:+.4f}" in stdout
    assert "the best split is only_technology itself" in stdout or "better than only_" in stdout
    even = gains.set_index(["reference", "metric"]).loc[(EVEN, "retention_of_initial")]
    assert f"better than even by {even.difference:+.4f}" in stdout
    assert "noise only" in stdout


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--budget", "-5"], "error: --budget: got -5; must be a positive amount per year (cu)"),
        (["--budget", "nan"], "error: --budget: got nan; must be a positive amount per year (cu)"),
        (["--budget", "1000", "--years", "0.3"], "error: --years: got 0.3; must make a whole"),
        (["--budget", "1000", "--years", "2"], "spend would run to month 24, beyond the horizon"),
        (["--budget", "1000", "--capabilities", "tech,culture"], "'tech' is not a capability"),
        (["--budget", "1000", "--capabilities", "culture"], "at least two capabilities"),
        (["--budget", "1000", "--max-evaluations", "3"], "--max-evaluations: got 3; must be"),
        (["--budget", "1000", "--objective", "profit"], "argument --objective: invalid choice"),
        (["--budget", "1000", "--over", "touchpoints"], "argument --over: invalid choice"),
        (["--budget", "1000", "--over", "channels"], "opens 0 support channel(s) (none)"),
        ([], "error: --budget: scenario baseline has no budget (firm.budget.per_month is 0)"),
    ],
)
def test_bad_options_are_one_line_and_nothing_is_written(tiny_file, tmp_path, options, message):
    out = tmp_path / "never"
    status, stdout, stderr = cxm("optimise", str(tiny_file), *options, "--out", str(out))
    assert status == 2
    assert stderr.count("\n") == 1 and stderr.startswith("error: ")
    assert message in stderr
    assert stdout == ""
    assert not out.exists()
