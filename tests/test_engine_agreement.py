"""The two engines agree month by month on more mechanisms than the baseline's
(tests/test_agents.py): churn scores and retention interventions, personalisation, a privacy
incident, an Erdős–Rényi network, the proactive improvement programme, and a warm-up."""

from __future__ import annotations

import numpy as np
import pytest

from sim.customers.population import ACTIVE, INITIAL
from sim.experiments.runs import finished_model
from sim.results import PROJECT_ROOT
from sim.scenario import load_scenario, with_overrides

SCENARIOS = PROJECT_ROOT / "scenarios"
COUNTS = (
    "active", "churned", "acquired", "contacts", "respondents", "repeat_purchases",
    "problems", "experiencing", "interventions", "saved_customers", "loop_calls",
    "recovered_complaints", "reviews", "improvements", "preventions", "privacy_incident",
    "chat_contacts", "self_service_sessions", "self_service_resolved", "staff",
)  # fmt: skip
MONEY_AND_SCORES = (
    "revenue", "profit", "nps_true", "nps_measured", "satisfaction_mean", "effort_mean",
    "csat_measured", "ces_measured",
)  # fmt: skip

CASES = {
    "maturity_predictive": ("maturity_predictive", {}),
    "privacy_incident": ("privacy_incident", {"firm.personalisation.forced_incident_months": [3]}),
    "personalisation": ("personalisation", {}),
    "erdos_renyi": (
        "baseline",
        {"market.network.kind": "erdos_renyi", "market.network.mean_degree": 8},
    ),
    # Nine months: the review of month 6 decides a redesign and a prevention that take
    # effect in month 8, so both engines' ratings and reported problems must agree.
    "maturity_proactive": ("maturity_proactive", {"months": 9}),
    # A year of warm-up before month 1 (leavers replaced in place; call-backs and retention
    # interventions at work), so both engines must leave it with the same customers.
    "warm_up": ("maturity_predictive", {"market.warm_up_months": 12}),
    # Phone, chat and self-service, with investment in self-service and a warm-up; and the
    # same channels in front of a service-level desk, whose phone contacts (only) count in
    # the front line's workload.
    "channels": ("invest_self_service", {"market.size": 2_000, "market.warm_up_months": 3}),
    "channels_service_level": (
        "invest_contact_centre",
        {"market.size": 2_000, "support.mode": "service_level"},
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_engines_agree_month_by_month(case):
    """Same seed, same random numbers for the same person: counts equal month by month;
    money, NPS and means differ only by float32 rounding (the tolerances of
    tests/test_agents.py: 1e-4 relative for time-series money and scores and touchpoint
    means, 1e-6 for segment revenue)."""
    file, overrides = CASES[case]
    scenario = with_overrides(
        load_scenario(SCENARIOS / f"{file}.yaml"),
        {"market.size": 600, "months": 6} | overrides,
    )
    vector, agents = (finished_model(scenario, 3, 0, engine) for engine in ("vector", "agents"))
    v, a = vector.recorder.timeseries(), agents.recorder.timeseries()
    assert len(v) == len(a) == scenario.months
    for column in COUNTS:
        np.testing.assert_array_equal(a[column], v[column], err_msg=column)
    for column in MONEY_AND_SCORES:
        np.testing.assert_allclose(a[column], v[column], rtol=1e-4, err_msg=column)
    v_tp, a_tp = vector.recorder.touchpoint_table(), agents.recorder.touchpoint_table()
    np.testing.assert_array_equal(a_tp["experiences"], v_tp["experiences"])
    np.testing.assert_array_equal(a_tp["problems"], v_tp["problems"])
    np.testing.assert_allclose(a_tp["satisfaction"], v_tp["satisfaction"], rtol=1e-4)
    np.testing.assert_allclose(a_tp["delivered_quality"], v_tp["delivered_quality"], rtol=1e-4)
    v_seg, a_seg = vector.recorder.segment_table(), agents.recorder.segment_table()
    np.testing.assert_array_equal(a_seg["churned"], v_seg["churned"])
    np.testing.assert_allclose(a_seg["revenue"], v_seg["revenue"], rtol=1e-6)
    # Each case exercises its mechanism, so the agreement is not vacuous.
    if case == "maturity_predictive":
        assert v["interventions"].sum() > 0 and (v["maturity"] == 3).all()
    elif case == "privacy_incident":
        assert list(v["privacy_incident"]) == [0, 0, 1, 0, 0, 0]
        assert (v["personalisation"] > 0).all()
    elif case == "personalisation":
        assert (v["personalisation"] > 0).all()
    elif case.startswith("channels"):
        assert v["self_service_resolved"].sum() > 0 and v["chat_contacts"].sum() > 0
        assert v["self_service_sessions"].sum() > v["self_service_resolved"].sum()
    elif case == "erdos_renyi":
        assert vector.graph is not None and agents.space is not None
        assert v["acquired"].sum() > 0
    elif case == "warm_up":
        # Someone replaced in the warm-up's last months is still an initial customer with
        # a tenure no drawn initial customer can have (at least 1 + 6 months by now).
        pop = vector.population
        replaced = (pop.status == ACTIVE) & (pop.source == INITIAL) & (pop.tenure < 7)
        assert replaced.any() and v["interventions"].sum() > 0
        assert max(len(p.months) for p in agents.customers.people) == scenario.months
    else:
        assert v["reviews"].sum() == 1 and v["improvements"].sum() == 1


AGENTS_AFTER = """
import sys
import sim
from sim.scenario import load_scenario, with_overrides
scenario = with_overrides(
    load_scenario(sys.argv[1]), {"market.size": 800, "months": 8}
)
if sys.argv[2] == "vector first":
    sim.run(scenario, replications=1, seed=7, engine="vector")
result = sim.run(scenario, replications=1, seed=7, engine="agents")
print(result.timeseries.select_dtypes("number").sum().sum().hex())
"""


def test_an_agents_run_does_not_depend_on_what_ran_before_it_in_the_process():
    # Before: the agents engine's memory rules were numba ufuncs called on numpy scalars,
    # and numpy chose among the loops compiled so far in the process, so a vector run
    # before it changed the last bits of its numbers (every ready scenario differed).
    import subprocess
    import sys

    file = str(SCENARIOS / "understaffed_support.yaml")
    sums = {
        order: subprocess.run(
            [sys.executable, "-c", AGENTS_AFTER, file, order],
            capture_output=True,
            text=True,
            check=True,
            cwd=PROJECT_ROOT,
        ).stdout.strip()
        for order in ("alone", "vector first")
    }
    assert sums["alone"] == sums["vector first"] and sums["alone"].startswith("0x1.")
