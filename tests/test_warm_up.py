"""The warm-up (`market.warm_up_months`, `CXModel.warm_up`): months before month 1 in which
leavers are replaced in place by new customers of their segment, so that a run starts from
a settled base — its churn-frailty mix selected, its satisfaction, expectations and effort
memory formed — and nothing of those months is reported, counted or learned."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.customers import rules
from sim.customers.population import ACTIVE, INITIAL, PROSPECT
from sim.errors import ScenarioError
from sim.experiments.runs import finished_model
from sim.results import PROJECT_ROOT
from sim.scenario import Scenario, load_scenario, with_overrides
from sim.stats import mean_interval

SCENARIOS = PROJECT_ROOT / "scenarios"
STATE = ("status", "segment", "tenure", "expectation", "satisfaction", "effort", "products",
         "revenue_to_date", "source", "frailty")  # fmt: skip

FRAIL = {
    # One segment with strong unobserved heterogeneity (twice the default frailty spread)
    # and a brisk base churn, so that selection shows within a few years; expectations
    # above what the firm delivers, so that satisfaction must fall from its month-0 value.
    "market.size": 6000,
    "market.initial_customers": 0.15,
    "market.segments.0.churn_per_month": 0.04,
    "market.segments.0.churn_frailty_sd": 1.0,
    "market.segments.0.expectation.mean": 0.82,
    "market.segments.0.contract_months": 0,
    # A market that stays as it is: advertising replaces about as many customers as leave,
    # nobody comes back, expectations do not drift.
    "acquisition.advertising_per_month": 0.0045,
    "acquisition.imitation_per_month": 0.0,
    "acquisition.winback_factor": 0.0,
    "behaviour.satisfaction.market_drift_per_month": 0.0,
    "support.mode": "service_level",
    "months": 36,
}
"""The settling scenario (docs/model.md §2.2, "Warm-up: a steady start")."""


def small(file: str = "baseline", **overrides: object) -> Scenario:
    """A ready scenario in a market of 2,000 people over 12 months."""
    base = {"market.size": 2000, "months": 12}
    return with_overrides(load_scenario(SCENARIOS / f"{file}.yaml"), base | overrides)


def state(model: sim.CXModel) -> dict[str, np.ndarray]:
    """Every person's state, by attribute (vector engine)."""
    return {name: getattr(model.population, name).copy() for name in STATE}


def test_the_field_defaults_to_no_warm_up_and_is_bounded():
    assert Scenario(name="x").market.warm_up_months == 0
    plain = small()
    assert with_overrides(plain, {"market.warm_up_months": 0}) == plain
    for bad in (-1, 601, 2.5):
        with pytest.raises(ScenarioError, match=r"market\.warm_up_months"):
            with_overrides(plain, {"market.warm_up_months": bad})


def test_no_warm_up_runs_exactly_as_before():
    """W = 0 builds the very market `Population.initial` draws and steps no month early."""
    plain = small()
    model = sim.CXModel(with_overrides(plain, {"market.warm_up_months": 0}), seed=5)
    drawn = sim.CXModel(plain, seed=5)
    for name, values in state(drawn).items():
        np.testing.assert_array_equal(state(model)[name], values, err_msg=name)
    active = model.population.status == ACTIVE
    assert model.population.tenure[active].min() >= 1  # nobody was replaced


def test_the_warm_up_keeps_the_base_its_segments_and_the_prospects():
    """Leavers are replaced in place, so the base keeps its size and segment mix; the
    prospects are untouched; the survivors are the less frail."""
    plain = small(months=3)
    before = state(sim.CXModel(plain, seed=5))
    model = sim.CXModel(with_overrides(plain, {"market.warm_up_months": 36}), seed=5)
    after = state(model)
    recorder = model.recorder
    assert model.month == 0 and recorder.rows == recorder.segment_rows == [] and not recorder._npv
    np.testing.assert_array_equal(after["status"], before["status"])
    np.testing.assert_array_equal(after["segment"], before["segment"])
    active = before["status"] == ACTIVE
    assert active.sum() == 607  # about 30 % of 2,000, as drawn at month 0
    prospects = before["status"] == PROSPECT
    for name in STATE:
        np.testing.assert_array_equal(after[name][prospects], before[name][prospects], err_msg=name)
    # Those who left were replaced: tenure 0 to 35 months at month 0, fresh from the
    # warm-up; everyone counts as an initial customer and has earned nothing yet.
    replaced = after["tenure"][active] < 36
    assert 200 < replaced.sum() < 350
    assert (after["source"][active] == INITIAL).all()
    assert (after["revenue_to_date"] == 0).all()
    assert after["products"][active].mean() > before["products"][active].mean()
    # Selection: the survivors of 36 months are less frail than the drawn base (mean 1.01
    # against 0.91), and so is the base the warm-up leaves (0.92).
    survivors = active & (after["tenure"] >= 36)
    drawn = before["frailty"][active].mean()
    assert drawn == pytest.approx(1.0, abs=0.05)
    assert after["frailty"][survivors].mean() < 0.95 * drawn
    assert after["frailty"][active].mean() < 0.95 * drawn


def test_warm_up_months_are_neither_reported_nor_counted():
    """The time series holds months 1..H; month 1 is discounted once, as without a warm-up;
    the NPV sums months 1..H; retention of the initial customers is measured on the base
    the warm-up left."""
    plain = small(months=12)
    runs = {w: sim.run(with_overrides(plain, {"market.warm_up_months": w}), 2, seed=5)
            for w in (0, 24)}  # fmt: skip
    for w, result in runs.items():
        ts = result.timeseries
        assert list(ts[ts.replication == 0]["month"]) == list(range(1, 13)), w
        monthly = rules.monthly_rate(plain.economics.discount_rate_per_year)
        assert ts[ts.month == 1]["discount_factor"].tolist() == [1 / (1 + monthly)] * 2
        for r, one in ts.groupby("replication"):
            assert one["npv_to_date"].iloc[-1] == pytest.approx(one["discounted_profit"].sum())
            outcome = result.outcomes.set_index("replication").loc[r]
            first_base = one["active_start"].iloc[0]
            assert one["initial_customers_active"].iloc[0] <= first_base
            assert outcome["retention_of_initial"] == pytest.approx(
                one["initial_customers_active"].iloc[-1] / first_base
            )
    # The warm-up's base is as large as the drawn one, and more of it stays a year.
    first = {w: r.timeseries.query("month == 1")["active_start"].tolist() for w, r in runs.items()}
    assert first[0] == first[24]
    kept = {w: r.outcomes["retention_of_initial"].mean() for w, r in runs.items()}
    assert kept[24] > kept[0]


def test_scenarios_that_differ_from_month_one_on_share_their_warm_up():
    """An investment that starts in month 1 changes nothing before it: both scenarios leave
    the warm-up with the same customers and live the same first month (common random
    numbers), and the firm leaves the warm-up as it entered it."""
    warm = {"market.warm_up_months": 24, "months": 3}
    baseline = small("baseline", **warm)
    invest = small("invest_design", **warm)
    a, b = (sim.CXModel(s, seed=5) for s in (baseline, invest))
    for name, values in state(a).items():
        np.testing.assert_array_equal(state(b)[name], values, err_msg=name)
    # The firm's side is as before the warm-up: nothing learned or suffered.
    fresh = sim.CXModel(small("baseline", months=3), seed=5)
    assert a.improvement.voc.n.sum() == 0 and a.improvement.voc.problems.sum() == 0
    assert a.firm.trust_shock == 0.0
    np.testing.assert_array_equal(a.firm.levels, fresh.firm.levels)
    np.testing.assert_array_equal(a.plan.quality, fresh.plan.quality)
    ta, tb = (finished_model(s, 5, 0).recorder.timeseries() for s in (baseline, invest))
    month_1 = ["active_start", "churned", "acquired", "contacts", "respondents", "revenue",
               "satisfaction_mean", "nps_true", "nps_measured", "effort_mean"]  # fmt: skip
    assert ta.loc[0, month_1].tolist() == tb.loc[0, month_1].tolist()
    assert ta.loc[0, "investment_cost"] == 0 < tb.loc[0, "investment_cost"]


def test_the_firm_learns_nothing_in_the_warm_up():
    """A managed firm reviews its voice-of-the-customer data; the warm-up's answers and
    problems must not reach the first review."""
    scenario = small("maturity_managed", **{"market.warm_up_months": 12, "months": 2})
    model = sim.CXModel(scenario, seed=5)
    assert model.improvement.voc.n.sum() == 0 and model.improvement.last_review == 0
    cold = with_overrides(scenario, {"market.warm_up_months": 0})
    warm, plain = (finished_model(s, 5, 0).recorder.timeseries() for s in (scenario, cold))
    for column in ("capability_index", "maturity", "reviews"):
        assert warm[column].tolist() == plain[column].tolist(), column
    # Not vacuous: every month has survey answers and contacts for a simulated desk.
    assert scenario.support.mode == "simpy"
    assert warm["respondents"].min() > 0 and warm["contacts"].min() > 0


def test_both_engines_leave_the_warm_up_with_the_same_customers():
    scenario = small("maturity_predictive", **{"market.size": 600, "market.warm_up_months": 12})
    vector = sim.CXModel(scenario, seed=3)
    agents = sim.CXModel(scenario, seed=3, engine="agents")
    people = agents.customers.people
    pop = vector.population
    for name in ("status", "segment", "tenure", "products", "source"):
        np.testing.assert_array_equal([getattr(p, name) for p in people], getattr(pop, name))
    for name in ("expectation", "satisfaction", "effort", "frailty"):
        np.testing.assert_allclose(
            [getattr(p, name) for p in people], getattr(pop, name), rtol=1e-5, err_msg=name
        )
    assert (pop.tenure[pop.status == ACTIVE] < 12).any()  # some were replaced
    assert all(not p.history and not p.months and p.revenue_to_date == 0 for p in people)


def settling(warm_up_months: int, replications: int = 16) -> dict[str, dict[str, float]]:
    """Per replication, months 1–3 less months 25–36 of the settling scenario (`FRAIL`):
    churn rate, mean satisfaction and true NPS; their means and 95 % intervals."""
    scenario = with_overrides(
        Scenario(name="frail"), FRAIL | {"market.warm_up_months": warm_up_months}
    )
    gaps: dict[str, list[float]] = {"churn": [], "late_churn": [], "satisfaction": [], "nps": []}
    for r in range(replications):
        ts = finished_model(scenario, 5, r).recorder.timeseries()
        early, late = ts.iloc[:3], ts.iloc[24:36]
        late_churn = late["churned"].sum() / late["active_start"].sum()
        gaps["churn"].append(early["churned"].sum() / early["active_start"].sum() - late_churn)
        gaps["late_churn"].append(late_churn)
        for gap, column in (("satisfaction", "satisfaction_mean"), ("nps", "nps_true")):
            gaps[gap].append(early[column].mean() - late[column].mean())
    return {name: mean_interval(np.array(values)) for name, values in gaps.items()}


@pytest.mark.slow
def test_a_warm_up_starts_the_run_from_its_steady_state():
    """Without a warm-up the first months churn far more than later (the frailest have not
    left yet) and are far more satisfied (satisfaction starts at expectation); 36 months of
    warm-up remove most of both gaps, and 120 leave none beyond noise. Lognormal frailty
    settles slowly: its least frail customers stay for years (docs/model.md §2.2)."""
    cold, warm, settled = settling(0), settling(36), settling(120)
    # Cold start: churn 0.032 against 0.021 later (+0.011), satisfaction +0.017, NPS +6.6.
    assert cold["churn"]["ci_low"] > 0.4 * cold["late_churn"]["mean"]
    assert cold["satisfaction"]["ci_low"] > 0.012
    assert cold["nps"]["ci_low"] > 5.0
    # 36 months: about a fifth of the churn gap is left, a twentieth of the others.
    assert abs(warm["churn"]["mean"]) < 0.3 * cold["churn"]["mean"]
    assert abs(warm["satisfaction"]["mean"]) < 0.1 * cold["satisfaction"]["mean"]
    assert abs(warm["nps"]["mean"]) < 0.1 * cold["nps"]["mean"]
    # 120 months: within noise (every 95 % interval holds 0).
    for gap in ("churn", "satisfaction", "nps"):
        assert settled[gap]["ci_low"] < 0 < settled[gap]["ci_high"], gap
