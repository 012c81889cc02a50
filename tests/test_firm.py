"""The firm: capability dynamics, maturity, organisational models, employees, sourcing,
personalisation and privacy — rule shapes and their effects in the running model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.customers import rules
from sim.errors import ScenarioError
from sim.experiments.runs import compare, investment_returns, run
from sim.firm.delivery import Firm
from sim.results import PROJECT_ROOT
from sim.scenario import load_scenario, scenario_from_dict, with_overrides
from sim.scenario.firm import MATURITY_LEVELS, ORG_MODELS

SCENARIOS = PROJECT_ROOT / "scenarios"


def small(name: str, **overrides) -> object:
    """A library scenario shrunk for tests."""
    scenario = load_scenario(SCENARIOS / f"{name}.yaml")
    return with_overrides(scenario, {"market.size": 4000, "months": 36} | overrides)


# ----------------------------------------------------------------- capability dynamics


def test_investment_has_diminishing_returns_in_spend_and_in_level():
    one = rules.capability_step(2.5, 10_000.0, 750_000.0, 0.0, 2.5) - 2.5
    two = rules.capability_step(2.5, 20_000.0, 750_000.0, 0.0, 2.5) - 2.5
    # Gain (5 − L)·(1 − e^(−s/k)): doubling the spend multiplies the gain by 1 + e^(−s/k),
    # less than 2.
    x = 10_000.0 / 750_000.0
    assert one == pytest.approx(2.5 * -np.expm1(-x))
    assert two == pytest.approx(one * (1 + np.exp(-x)))
    high = rules.capability_step(4.0, 10_000.0, 750_000.0, 0.0, 4.0) - 4.0
    assert high == pytest.approx(one * (5 - 4.0) / (5 - 2.5))


def test_levels_decay_towards_the_floor_without_upkeep():
    level = np.array([4.0])
    for _ in range(24):
        level = rules.capability_step(level, 0.0, 750_000.0, 0.03, 2.5)
    assert level[0] == pytest.approx(2.5 + 1.5 * 0.97**24)


def firm_with(capabilities: dict[str, float], spend_per_month: float, months: int = 24) -> Firm:
    scenario = scenario_from_dict(
        {
            "name": "f",
            "months": months,
            "firm": {
                "capabilities": capabilities,
                "investments": [
                    {"capability": "technology", "per_month": spend_per_month, "end_month": 12}
                ],
            },
        }
    )
    return Firm(scenario, list(scenario.touchpoints))


def test_investment_arrives_with_a_lag_and_erodes_after_it_stops():
    firm = firm_with({}, 30_000.0, months=36)
    path = []
    for month in range(1, 37):
        firm.invest(month)
        path.append(firm.level("technology"))
    gains = np.diff([2.5, *path])
    # Month 1 realises a sixth of the month's 30,000 (lag 6 months): 2.5·(1 − e^(−5000/k)).
    assert gains[0] == pytest.approx(2.5 * -np.expm1(-5_000.0 / 750_000.0))
    assert (np.diff(gains[:6]) > 0).all()  # the pipeline fills over the first months
    assert path[11] > 3.0
    # The pipeline keeps delivering after spend stops in month 12, so the level peaks
    # later; from then on it decays every month, towards (not below) its initial 2.5.
    peak = int(np.argmax(path))
    assert 12 < peak + 1 < 36
    assert (np.diff(path[peak:]) < 0).all()
    assert path[35] > 2.5


def test_governance_and_culture_make_investment_work_better():
    weak = firm_with({"governance": 1.0, "culture": 1.0}, 20_000.0)
    strong = firm_with({"governance": 4.0, "culture": 4.0}, 20_000.0)
    for month in range(1, 13):
        weak.invest(month)
        strong.invest(month)
    weak_gain = weak.level("technology") - 2.5
    strong_gain = strong.level("technology") - 2.5
    assert strong_gain > 1.5 * weak_gain > 0


def test_budget_allocation_and_per_year_spend():
    scenario = load_scenario(SCENARIOS / "budget_focused.yaml")
    firm = Firm(scenario, list(scenario.touchpoints))
    spend = firm.spend(1)
    assert spend.sum() == pytest.approx(41_666.67)
    assert firm.spend(37).sum() == 0.0
    insight = Firm(load_scenario(SCENARIOS / "invest_insight.yaml"), ["advertising"])
    assert insight.spend(24).sum() == pytest.approx(400_000 / 12)


# ----------------------------------------------------------------- maturity


def test_maturity_follows_the_capability_index():
    thresholds = (1.5, 2.75, 3.5, 4.25)
    levels = [rules.maturity_from_index(i, thresholds) for i in (1.0, 2.5, 3.0, 4.0, 4.5)]
    assert [MATURITY_LEVELS[x] for x in levels] == [
        "reactive", "managed", "proactive", "predictive", "transformative"
    ]  # fmt: skip


@pytest.mark.slow
def test_maturity_ladder_raises_retention_and_revenue():
    names = [f"maturity_{level}" for level in MATURITY_LEVELS]
    scenarios = [small(n) for n in names]
    comparison = compare(scenarios[0], *scenarios[1:], replications=4, seed=5)
    summary = comparison.summary.set_index(["alternative", "metric"])
    revenue = [summary.loc[(n, "revenue_total"), "difference"] for n in names[1:]]
    retention = [summary.loc[(n, "retention_of_initial"), "difference"] for n in names[1:]]
    # Every level beats reactive on revenue, and the ladder climbs from managed upwards.
    assert all(summary.loc[(n, "revenue_total"), "ci_low"] > 0 for n in names[1:])
    assert revenue == sorted(revenue)
    assert retention[-1] > retention[1] > 0
    assert summary.loc[(names[-1], "retention_of_initial"), "ci_low"] > 0


@pytest.mark.slow
def test_predictive_interventions_lower_churn_among_flagged():
    proactive, predictive = small("maturity_proactive"), small("maturity_predictive")
    result = run(predictive, replications=3, seed=2).timeseries
    # Every month the firm flags 3 % of the customers active at its start, at 10 each.
    flagged = (0.03 * result["active_start"]).round()
    np.testing.assert_array_equal(result["interventions"], flagged)
    np.testing.assert_allclose(result["retention_cost"], 10.0 * flagged)
    assert (result["saved_customers"] <= result["interventions"]).all()
    assert result["saved_customers"].sum() > 0
    # Flagged customers leave more often than customers in general: the score has lift.
    base_rate = result["churn_rate"].mean()
    assert result["flag_precision"].mean() > 1.5 * base_rate
    summary = compare(proactive, predictive, replications=4, seed=2).summary.set_index("metric")
    assert summary.loc["churned_total", "ci_high"] < 0


@pytest.mark.slow
def test_weak_measurement_makes_scores_noisier():
    weak = small("maturity_predictive", **{"firm.capabilities.measurement": 0.5})
    strong = small("maturity_predictive", **{"firm.capabilities.measurement": 5.0})
    weak_ts = run(weak, replications=2, seed=4).timeseries
    strong_ts = run(strong, replications=2, seed=4).timeseries
    assert strong_ts["flag_recall"].mean() > weak_ts["flag_recall"].mean()


@pytest.mark.slow
def test_managed_firm_reviews_and_fixes_touchpoints():
    ts = run(small("maturity_managed"), replications=1, seed=1).timeseries
    # Governance stays at the reference 2.5: a review every 6 months; each decides one fix,
    # which takes effect 2 months later (hybrid latency); the last one falls after month 36.
    assert (ts["cap_governance"] == 2.5).all()
    assert list(ts.loc[ts["reviews"] > 0, "month"]) == [6, 12, 18, 24, 30, 36]
    assert list(ts.loc[ts["improvements"] > 0, "month"]) == [8, 14, 20, 26, 32]
    # fixes and reviews, their lump sums scaled to the firm of 1 200 customers (a fifth)
    assert ts["improvement_cost"].sum() == pytest.approx(0.2 * (5 * 15_000.0 + 6 * 5_000.0))
    reactive = run(small("maturity_reactive"), replications=1, seed=1).timeseries
    assert reactive["reviews"].sum() == 0 and reactive["improvements"].sum() == 0


# ----------------------------------------------------------------- organisation


def test_org_presets_trade_consistency_and_handoffs_against_speed():
    central, distributed = ORG_MODELS["centralised"], ORG_MODELS["distributed"]
    assert central["spread_factor"] < distributed["spread_factor"]
    assert central["handoff_breakdown"] < distributed["handoff_breakdown"]
    assert central["decision_latency_months"] > distributed["decision_latency_months"]
    assert central["local_fix_speed"] < distributed["local_fix_speed"]


@pytest.mark.slow
def test_centralised_is_more_consistent_but_slower_to_fix():
    central = run(small("org_centralised"), replications=1, seed=3)
    distributed = run(small("org_distributed"), replications=1, seed=3)
    c_ts, d_ts = central.timeseries, distributed.timeseries
    first_fix = {
        name: int(ts.loc[ts["improvements"] > 0, "month"].min())
        for name, ts in (("central", c_ts), ("distributed", d_ts))
    }
    assert first_fix["central"] - first_fix["distributed"] == 3  # latency 4 vs 1 months
    # Consistency: perceived quality varies less around delivered quality.
    spread = {}
    for name, result in (("central", central), ("distributed", distributed)):
        tp = result.touchpoints
        use = tp[tp["touchpoint"] == "product_use"]
        spread[name] = (use["delivered_quality"] - use["perceived_quality"]).abs().mean()
    assert spread["central"] < 0.85 * spread["distributed"]
    # More hand-off breakdowns: more problems where customers pass between silos.
    rate = {}
    for name, result in (("central", central), ("distributed", distributed)):
        tp = result.touchpoints
        handoff = tp[tp["touchpoint"].isin(["purchase", "onboarding", "renewal_offer"])]
        rate[name] = handoff["problems"].sum() / handoff["experiences"].sum()
    assert rate["distributed"] > rate["central"] + 0.015
    # The organisation costs its overhead per customer active at the start of the month.
    first = c_ts.iloc[0]
    per_customer = ORG_MODELS["centralised"]["overhead_per_customer"]
    assert first["overhead_cost"] == pytest.approx(per_customer * first["active_start"])


def test_organisation_overrides_apply_field_by_field():
    scenario = small("org_distributed", **{"firm.organisation.decision_latency_months": 5})
    firm = Firm(scenario, list(scenario.touchpoints))
    assert firm.organisation["decision_latency_months"] == 5
    assert firm.organisation["spread_factor"] == ORG_MODELS["distributed"]["spread_factor"]


# ----------------------------------------------------------------- employees, sourcing


@pytest.mark.slow
def test_engagement_follows_culture_and_lowers_attrition():
    fixed = {"firm.employees.staff": 40}  # enough staff for leavers to count
    low = small("baseline", **{"firm.capabilities.culture": 1.0}, **fixed)
    high = small("baseline", **{"firm.capabilities.culture": 4.5}, **fixed)
    low, high = (run(scenario, 1, seed=1).timeseries for scenario in (low, high))
    assert high["engagement"].iloc[-1] > 0.6 > 0.4 > low["engagement"].iloc[-1]
    assert high["staff_leavers"].sum() < low["staff_leavers"].sum()
    assert rules.staff_attrition(0.025, 0.8, 3.0) < 0.025 < rules.staff_attrition(0.025, 0.2, 3.0)


def test_heavy_workload_lowers_engagement_target():
    normal = rules.engagement_target(0.0, 0.0, 1.0, 0.1, 0.04, 0.3)
    overloaded = rules.engagement_target(0.0, 0.0, 2.0, 0.1, 0.04, 0.3)
    assert normal == pytest.approx(0.5) and overloaded == pytest.approx(0.2)


@pytest.mark.slow
def test_transactional_supplier_is_cheaper_per_contact_but_hurts_support():
    base = small("baseline")
    supplier = small("outsource_supplier")
    b = run(base, replications=2, seed=6).timeseries
    s = run(supplier, replications=2, seed=6).timeseries
    # Cost per contact: 1.5 in house, 1.5 × the supplier's cost factor 0.6 = 0.9.
    np.testing.assert_allclose(b["support_cost"] / b["contacts"], 1.5)
    np.testing.assert_allclose(s["support_cost"] / s["contacts"], 0.9)
    # First-contact resolution falls by the supplier's shift of 0.1; the leeway of 0.03 covers
    # what else moves it (engagement, callers who hang up at the longer waits).
    fcr_change = s["first_contact_resolution"].mean() - b["first_contact_resolution"].mean()
    assert fcr_change == pytest.approx(-0.1, abs=0.03)
    base_tp = run(base, 2, seed=6).touchpoints
    supplier_tp = run(supplier, 2, seed=6).touchpoints
    support = "support_contact"
    assert (
        supplier_tp.loc[supplier_tp["touchpoint"] == support, "satisfaction"].mean()
        < base_tp.loc[base_tp["touchpoint"] == support, "satisfaction"].mean()
    )


# ----------------------------------------------------------------- personalisation, privacy


@pytest.mark.slow
def test_personalisation_raises_fit_and_privacy_incident_is_a_trust_shock():
    personal = small("personalisation", months=36)
    incident = small("privacy_incident", months=36)
    base = small("baseline", months=36)
    summary = compare(base, personal, replications=3, seed=9).summary.set_index("metric")
    assert summary.loc["satisfaction_mean", "ci_low"] > 0
    ts = run(incident, replications=3, seed=9).timeseries
    mean = ts.groupby("month")[["satisfaction_mean", "churn_rate", "privacy_incident"]].mean()
    assert mean.loc[24, "privacy_incident"] == 1.0
    # Satisfaction is knocked down in the month of the incident...
    assert mean.loc[24, "satisfaction_mean"] < mean.loc[23, "satisfaction_mean"] - 0.03
    # ...and churn spikes well above its usual level.
    usual = mean.loc[12:22, "churn_rate"].mean()
    assert mean.loc[24, "churn_rate"] > 1.8 * usual


def test_privacy_incidents_are_rarer_with_strong_governance():
    weak = rules.privacy_incident_probability(0.02, 0.5, -1.5, 0.5)
    strong = rules.privacy_incident_probability(0.02, 0.5, 1.5, 0.5)
    # 0.5 off the log probability per governance level: three levels apart is e^−1.5.
    assert weak == pytest.approx(0.02 * 0.5 * np.exp(0.75))
    assert strong / weak == pytest.approx(np.exp(-1.5))
    assert rules.privacy_incident_probability(0.02, 0.0, 0.0, 0.5) == 0.0


# ----------------------------------------------------------------- economics


def test_investment_returns_roi_and_payback():
    months = np.arange(1, 7)
    base = pd.DataFrame(
        {"month": months, "profit": 100.0, "investment_cost": 0.0, "discount_factor": 1.0}
    )
    alt = base.assign(
        profit=[50.0, 50.0, 150.0, 150.0, 150.0, 150.0],
        investment_cost=[50.0, 50.0, 0, 0, 0, 0],
    )
    r = investment_returns(base, alt)
    assert r["incremental_npv"] == pytest.approx(100.0)
    assert r["roi"] == pytest.approx(1.0)
    assert r["payback_month"] == 4  # cumulative gain: -50, -100, -50, 0, 50, 100


@pytest.mark.slow
def test_compare_reports_roi_and_payback_of_an_investment():
    # At the default cost scale no capability programme pays back within five years (ROI
    # from -1.08 to -0.58, docs/model.md §15.3); one fifteen times as effective (a cost scale
    # of 50 000 instead of 750 000) does, in about three and a half years. 26 667 a year for
    # two years on technology, in a firm of 1 200 customers (22 cu per customer a year).
    effective = small("baseline", months=60, **{"firm.dynamics.cost_scale": 50_000.0})
    programme = {"capability": "technology", "per_year": 26_667.0, "end_month": 24}
    invest = with_overrides(effective, {"name": "technology", "firm.investments": [programme]})
    summary = compare(effective, invest, replications=2, seed=1).summary.set_index("metric")
    assert summary.loc["roi", "difference"] > 0  # measured 1.63
    assert 24 < summary.loc["payback_month", "difference"] <= 60  # measured 41.5
    small_firm = compare(small("baseline"), small("invest_technology"), replications=2, seed=1)
    # The ready programme, 400 000 a year in a firm of 1 200 customers, does not pay back.
    assert small_firm.summary.set_index("metric").loc["roi", "difference"] < 0
    ts = run(small("invest_technology"), replications=1, seed=1).timeseries
    assert ts.loc[ts["month"] <= 24, "investment_cost"].sum() == pytest.approx(400_000 * 2)
    assert ts["cap_technology"].iloc[23] > ts["cap_technology"].iloc[0]


@pytest.mark.slow
def test_segment_table_has_clv_per_segment():
    result = run(small("baseline"), replications=1, seed=1)
    seg = result.segments
    assert set(seg["segment"]) == {"mainstream", "premium"}
    by = seg.groupby("segment")["clv"].median()
    assert by["premium"] > by["mainstream"] > 0


# ----------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("firm", "path", "message"),
    [
        (
            {"investments": [{"capability": "magic", "per_month": 1}]},
            "firm.investments.0.capability",
            "experience_strategy",
        ),
        (
            {"investments": [{"capability": "culture", "per_month": -5}]},
            "firm.investments.0.per_month",
            "greater than or equal to 0",
        ),
        (
            {
                "investments": [
                    {"capability": "culture", "per_month": 5, "start_month": 10, "end_month": 3}
                ]
            },
            "firm.investments.0",
            "before start_month",
        ),
        (
            {"investments": [{"capability": "culture"}]},
            "firm.investments.0",
            "exactly one of per_month or per_year",
        ),
        ({"organisation": {"model": "anarchy"}}, "firm.organisation.model", "centralised"),
        ({"maturity": {"level": "enlightened"}}, "firm.maturity.level", "transformative"),
        ({"budget": {"per_month": 10, "allocation": {"culture": 0.5}}}, "firm.budget", "sum to 1"),
        (
            {"personalisation": {"enabled": True, "touchpoints": ["telepathy"]}},
            "firm.personalisation.touchpoints.0",
            "unknown touchpoint",
        ),
    ],
)
def test_bad_firm_input_names_the_field(firm, path, message):
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict({"name": "x", "firm": firm}, source="case.yaml")
    assert info.value.path == path
    assert message in str(info.value)
