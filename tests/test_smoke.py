"""Smoke runs: every ready scenario for two months on both engines, and every ready sweep at
its smallest size. They catch a scenario or sweep file that no longer loads or runs, and
runs that produce missing or negative numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.experiments.runs import finished_model
from sim.experiments.sweep import run_sweep
from sim.experiments.sweep_spec import sweep_from_dict
from sim.metrics import RETURNS
from sim.results import PROJECT_ROOT
from sim.scenario import load_scenario, read_scenario_mapping, with_overrides

pytestmark = pytest.mark.slow  # 30–40 s in all: 48 scenario runs and 3 small sweeps

SCENARIO_FILES = sorted((PROJECT_ROOT / "scenarios").glob("*.yaml"))
SWEEP_FILES = sorted((PROJECT_ROOT / "scenarios" / "sweeps").glob("*.yaml"))
CORE = ("revenue", "churned", "satisfaction_mean")
COUNTS = (
    "active_start", "active", "churned", "acquired", "experiencing", "problems", "contacts",
    "repeat_contacts", "respondents", "repeat_purchases", "upsells", "recovered_complaints",
)  # fmt: skip


def test_the_ready_scenarios_and_sweeps_are_found():
    assert len(SCENARIO_FILES) >= 20 and "baseline.yaml" in {f.name for f in SCENARIO_FILES}
    assert {f.stem for f in SWEEP_FILES} >= {"capabilities_lhs", "morris_screening"}


@pytest.mark.parametrize("engine", ["vector", "agents"])
@pytest.mark.parametrize("file", SCENARIO_FILES, ids=lambda f: f.stem)
def test_every_ready_scenario_runs_two_months(file, engine):
    scenario = with_overrides(load_scenario(file), {"market.size": 300, "months": 2})
    recorder = finished_model(scenario, scenario.seed, 0, engine, history=False).recorder
    ts = recorder.timeseries()
    assert list(ts["month"]) == [1, 2]
    for column in CORE:
        assert ts[column].notna().all(), column
    for column in COUNTS:
        assert (ts[column] >= 0).all(), column
    assert (ts["active_start"] > 0).all() and (ts["revenue"] > 0).all()
    assert ts["satisfaction_mean"].between(0, 1).all()
    # Every month's customers: those at its start, less leavers, plus the newly acquired.
    np.testing.assert_array_equal(ts["active"], ts["active_start"] - ts["churned"] + ts["acquired"])
    np.testing.assert_array_equal(ts["active_start"].iloc[1], ts["active"].iloc[0])
    touchpoints = recorder.touchpoint_table()
    assert len(touchpoints) == 2 * len(scenario.touchpoints)
    assert (touchpoints["experiences"] >= 0).all() and (touchpoints["problems"] >= 0).all()
    segments = recorder.segment_table()
    assert len(segments) == 2 * len(scenario.market.segments)
    assert segments.groupby("month")["churned"].sum().tolist() == ts["churned"].tolist()


def smallest(file: Path) -> dict:
    """A sweep file's content at the smallest size the sweep API accepts: one replication of
    one month in a market of 200, the fewest samples its design allows (Sobol' needs a base
    sample of 8; Morris is given 2 trajectories, as one leaves the spread of the elementary
    effects undefined), and the shortest simulated contact-centre period."""
    raw = dict(read_scenario_mapping(file, kind="sweep file"))
    samples = {"sobol": 8, "morris": 2}.get(raw["design"], 1)
    fixed = dict(raw.get("set", {})) | {
        "market.size": 200,
        "support.contact_centre.min_simulated_contacts": 50,
    }
    return raw | {"samples": samples, "replications": 1, "months": 1, "set": fixed}


@pytest.mark.parametrize("file", SWEEP_FILES, ids=lambda f: f.stem)
def test_every_ready_sweep_runs_at_its_smallest_size(file, tmp_path):
    sweep = sweep_from_dict(smallest(file), str(file), file.parent)
    result = run_sweep(sweep, workers=1, out=tmp_path / "out")
    runs = result.runs
    parameters, outcomes = list(sweep.design.names), list(sweep.outcomes)
    assert len(sweep.design) == {
        "sobol": 8 * (len(parameters) + 2),
        "morris": 2 * (len(parameters) + 1),
    }.get(sweep.spec.design, 1)
    assert runs.shape == (
        len(sweep.design),
        4 + len(parameters) + len(outcomes) + 3,
    )
    assert list(runs.columns) == [
        "run_id", "sample", "replication", "seed", *parameters, *outcomes,
        "status", "error", "wall_seconds",
    ]  # fmt: skip
    assert list(runs["run_id"]) == list(range(len(runs)))
    assert (runs["status"] == "ok").all(), runs.loc[runs["status"] != "ok", "error"].tolist()
    # A paired sweep's ROI and payback month are undefined where nothing pays back (in one
    # month, nothing does); every other outcome is a number.
    always = [o for o in outcomes if o not in RETURNS]
    assert np.isfinite(runs[always].to_numpy()).all()
    assert (tmp_path / "out" / "runs.parquet").exists()
    if sweep.spec.design in ("sobol", "morris"):
        assert result.sensitivity is not None
        assert set(result.sensitivity["parameter"]) == set(parameters)
    else:
        assert result.sensitivity is None
