"""The firm's size: lump sums stated for a reference firm follow the firm's own size
(sim/scenario/sizing.py, docs/model.md §13.8), so the same programme per customer earns the
same ROI in a market a hundred times larger."""

from __future__ import annotations

import pytest

import sim
from sim.model import CXModel
from sim.results import PROJECT_ROOT
from sim.scenario import Scenario, load_scenario, with_overrides
from sim.scenario.sizing import SCALED_AMOUNTS, at_own_size, initial_customers, size_factor

SCENARIOS = PROJECT_ROOT / "scenarios"
FIXED = {
    "firm.organisation.overhead_per_month": 12_000.0,
    "economics.fixed_cost_per_month": 30_000.0,
    "firm.employees.staff": 40,
    "support.contact_centre.agents": 9,
}


def baseline(**changes: object) -> Scenario:
    return with_overrides(load_scenario(SCENARIOS / "baseline.yaml"), changes)


def value(scenario: Scenario, path: str) -> object:
    node: object = scenario
    for part in path.split("."):
        node = getattr(node, part)
    return node


def test_the_baseline_is_the_reference_firm_and_runs_unchanged():
    scenario = load_scenario(SCENARIOS / "baseline.yaml")
    assert initial_customers(scenario) == 6_000.0
    assert size_factor(scenario) == 1.0
    assert at_own_size(scenario) is scenario
    for name in ("invest_technology", "understaffed_support", "maturity_transformative"):
        ready = load_scenario(SCENARIOS / f"{name}.yaml")
        assert at_own_size(ready) is ready


def test_lump_sums_follow_the_size_and_the_firms_own_figures_do_not():
    channels = {"support.channels": {"phone": {"share": 1.0}}}
    small = baseline(**{"market.size": 5_000} | FIXED | channels)  # 1 500 customers: a quarter
    assert size_factor(small) == 0.25
    resolved = at_own_size(small)
    for path in SCALED_AMOUNTS:
        assert value(resolved, path) == pytest.approx(0.25 * value(small, path), rel=1e-12)
    assert resolved.firm.dynamics.cost_scale == 187_500.0
    assert resolved.firm.maturity.review_cost == 1_250.0
    assert resolved.firm.maturity.frontier_cost_per_month == 5_000.0
    # the firm's own figures, and amounts per unit, are as written
    for path in FIXED:
        assert value(resolved, path) == value(small, path)
    assert resolved.firm.employees.salary_per_month == small.firm.employees.salary_per_month
    assert resolved.firm.maturity.recovery_cost == small.firm.maturity.recovery_cost
    assert resolved.firm.dynamics.holding_cost_per_customer == 0.035
    # resolving is done once: the reference becomes the firm's own size
    assert size_factor(resolved) == 1.0 and at_own_size(resolved) is resolved
    big = at_own_size(baseline(**{"market.size": 200_000}))
    assert big.firm.dynamics.cost_scale == 7_500_000.0
    assert big.firm.maturity.fix_cost == 150_000.0


def test_scaling_can_be_switched_off_and_the_reference_moved():
    small = baseline(**{"market.size": 5_000, "firm.scale.with_size": False})
    assert size_factor(small) == 1.0 and at_own_size(small) is small
    moved = baseline(**{"market.size": 5_000, "firm.scale.reference_customers": 1_500.0})
    assert at_own_size(moved) is moved


def test_the_model_runs_the_resolved_scenario():
    small = baseline(**{"market.size": 2_000, "months": 3, "support.mode": "erlang"} | FIXED)
    model = CXModel(small)
    assert model.spec.firm.dynamics.cost_scale == pytest.approx(75_000.0)
    assert model.spec.firm.maturity.redesign_cost == pytest.approx(4_000.0)
    run = sim.run(small, replications=1, workers=1)
    table = run.timeseries
    assert list(table["fixed_cost"]) == [30_000.0] * 3
    assert list(table["overhead_cost"]) == [12_000.0] * 3
    assert list(table["agents"]) == [9.0] * 3
    assert list(table["staff"]) == [40.0] * 3


def per_customer(scenario: Scenario, programme: Scenario, customers: int) -> Scenario:
    """`programme` in a market with `customers` initial customers, its investments
    converted at the same spend per customer as at the reference firm."""
    share = scenario.market.initial_customers
    changes = {"market.size": round(customers / share), "months": 24}
    changes["support.mode"] = "service_level"  # the closed-form desk keeps the big run short
    factor = customers / initial_customers(scenario)
    lines = [
        {
            "capability": i.capability,
            "per_month": i.monthly * factor,
            "start_month": i.start_month,
            "end_month": i.end_month,
        }
        for i in programme.firm.investments
    ]
    return with_overrides(programme, changes | {"firm.investments": lines})


@pytest.mark.slow
def test_the_same_programme_per_customer_has_the_same_roi_at_a_hundred_times_the_size():
    base = load_scenario(SCENARIOS / "baseline.yaml")
    programme = load_scenario(SCENARIOS / "invest_technology.yaml")
    rows = {}
    for customers, replications in ((5_000, 12), (500_000, 2)):
        comparison = sim.compare(
            per_customer(base, base, customers),
            per_customer(base, programme, customers),
            replications=replications,
            workers=1,
        )
        rows[customers] = comparison.summary.set_index("metric")
    small, big = rows[5_000], rows[500_000]
    roi_small, roi_big = small.loc["roi"], big.loc["roi"]
    half = (roi_small["ci_high"] - roi_small["ci_low"] + roi_big["ci_high"] - roi_big["ci_low"]) / 2
    # measured: -0.940 (-0.948 to -0.931) and -0.949 (-0.953 to -0.946)
    assert abs(roi_small["difference"] - roi_big["difference"]) < half
    npv_small = small.loc["profit_npv", "difference"] / 5_000
    npv_big = big.loc["profit_npv", "difference"] / 500_000
    assert npv_big == pytest.approx(npv_small, rel=0.03)  # about -114 cu per customer
