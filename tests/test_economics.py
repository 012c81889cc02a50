"""Economics (docs/model.md §13.1–13.2): a month's cost lines, profit, discounting and CLV;
ROI and payback of an alternative against a base, on hand-built time series."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.customers import rules
from sim.experiments.runs import investment_returns
from sim.firm.delivery import Firm
from sim.firm.economics import firm_running_costs, month_accounts, staffing
from sim.metrics import FIRM_COST_LINES
from sim.scenario import scenario_from_dict
from sim.scenario.firm import CAPABILITIES

SCENARIO = scenario_from_dict(
    {
        "name": "books",
        "economics": {"gross_margin": 0.5, "fixed_cost_per_month": 1000.0},
        "acquisition": {"cost_per_acquisition": 100.0, "marketing_per_person_per_month": 0.0},
        "support": {"cost_per_contact": 5.0},
    }
)
D = rules.monthly_rate(0.10)


def month(**changes: float) -> dict[str, float]:
    """A month of 200 customers: 10 leave, 8 join, revenue 10,000, 30 support contacts at
    the sourcing cost factor 0.6, 38 repeat purchases and firm costs of 3,000."""
    values = {
        "active_start": 200.0, "churned": 10.0, "acquired": 8.0, "acquired_prospects": 8.0,
        "acquired_by_word_of_mouth": 0.0, "revenue": 10_000.0,
        "contacts": 30.0, "support_cost_factor": 0.6, "repeat_purchases": 38.0,
        "investment_cost": 2000.0, "overhead_cost": 500.0, "staff_cost": 300.0,
        "staffing_cost": 0.0, "attrition_cost": 0.0, "recovery_cost": 25.0,
        "loop_cost": 15.0, "retention_cost": 10.0, "improvement_cost": 100.0,
        "capability_cost": 40.0, "frontier_cost": 10.0, "channel_cost": 0.0,
    }  # fmt: skip
    return values | changes


def test_a_month_of_accounts_worked_by_hand():
    books = month_accounts(month(), SCENARIO, 12, D)
    assert books["margin"] == 5000.0  # 0.5 × 10,000
    assert books["acquisition_cost"] == 800.0  # 8 × 100
    assert books["support_cost"] == pytest.approx(90.0)  # 30 × 5 × 0.6
    assert books["fixed_cost"] == 1000.0
    assert books["total_cost"] == pytest.approx(800 + 90 + 1000 + 3000)
    assert books["profit"] == pytest.approx(110.0)
    # Month 12 at 10 % a year: discounted by exactly 1.1.
    assert books["discounted_profit"] == pytest.approx(100.0)
    assert books["active"] == 198.0  # 190 survivors + 8 new
    assert books["churn_rate"] == 0.05 and books["retention_rate"] == 0.95
    assert books["repeat_purchase_rate"] == pytest.approx(0.2)  # 38 / 190 survivors


def test_customers_cost_what_their_channel_costs_and_advertising_its_spend():
    scenario = scenario_from_dict({"name": "ads", "market": {"size": 10_000}})
    # 20 new customers: 6 by advertising, 9 by word of mouth, 5 won back.
    changes = {"acquired": 20.0, "acquired_prospects": 15.0, "acquired_by_word_of_mouth": 9.0}
    books = month_accounts(month(**changes), scenario, 1, D)
    assert books["acquisition_cost"] == 6 * 60.0 + 9 * 30.0 + 5 * 40.0
    assert books["marketing_cost"] == pytest.approx(0.35 * 10_000)


def test_advertising_moves_the_innovation_coefficient_with_diminishing_returns():
    def p(spend: float) -> float:
        settings = {"marketing_per_person_per_month": spend}
        return scenario_from_dict(
            {"name": "a", "acquisition": settings}
        ).acquisition.innovation_per_month

    assert p(0.35) == pytest.approx(0.004)  # the reference spend gives advertising_per_month
    assert p(0.0) == 0.0
    assert p(0.7) == pytest.approx(0.004 * 2**0.24)  # twice the spend: 18 % more, not 100 %
    assert p(1.05) - p(0.7) < p(0.7) - p(0.35) < p(0.35) - p(0.0)  # concave


def test_clv_is_the_discounted_sum_of_margins_of_a_survivor():
    """CLV = Σ_t m·r^t/(1+d)^t: margins at the end of each month survived (§1.2)."""
    books = month_accounts(month(), SCENARIO, 1, D)
    m, r = 5000.0 / 190, 0.95
    series = sum(m * (r / (1 + D)) ** t for t in range(1, 5000))
    assert books["clv"] == pytest.approx(series, rel=1e-9)
    # Better retention is worth more; at retention 1 the CLV is the perpetuity m/d.
    kept = month_accounts(month(churned=0.0), SCENARIO, 1, D)
    assert kept["clv"] == pytest.approx((5000.0 / 200) / D)
    assert kept["clv"] > books["clv"]


@pytest.mark.parametrize("line", FIRM_COST_LINES)
def test_every_firm_cost_line_comes_off_profit_one_for_one(line):
    base = month_accounts(month(), SCENARIO, 3, D)
    more = month_accounts(month(**{line: month()[line] + 1234.0}), SCENARIO, 3, D)
    assert more["total_cost"] - base["total_cost"] == pytest.approx(1234.0)
    assert base["profit"] - more["profit"] == pytest.approx(1234.0)
    assert more["margin"] == base["margin"] and more["clv"] == base["clv"]


def test_customer_facing_costs_scale_with_their_counts():
    base = month_accounts(month(), SCENARIO, 1, D)
    busier = month_accounts(
        month(acquired=18.0, acquired_prospects=18.0, contacts=60.0), SCENARIO, 1, D
    )
    assert busier["acquisition_cost"] - base["acquisition_cost"] == pytest.approx(1000.0)
    assert busier["support_cost"] == pytest.approx(2 * base["support_cost"])
    in_house = month_accounts(month(support_cost_factor=1.0), SCENARIO, 1, D)
    assert in_house["support_cost"] == pytest.approx(150.0)
    richer = month_accounts(month(revenue=12_000.0), SCENARIO, 1, D)
    assert richer["profit"] - base["profit"] == pytest.approx(1000.0)  # half is margin


def test_a_month_without_customers_has_no_rates_to_speak_of():
    empty = month(active_start=0.0, churned=0.0, revenue=0.0, repeat_purchases=0.0)
    books = month_accounts(empty, SCENARIO, 1, D)
    assert books["churn_rate"] == 0.0 and math.isnan(books["retention_rate"])
    assert books["repeat_purchase_rate"] == 0.0 and books["clv"] == 0.0
    assert books["profit"] == pytest.approx(-(800 + 90 + 1000 + 3000))
    everyone_left = month_accounts(month(churned=200.0), SCENARIO, 1, D)
    assert everyone_left["churn_rate"] == 1.0 and everyone_left["clv"] == 0.0


def test_without_discounting_a_month_without_churn_has_no_finite_clv():
    books = month_accounts(month(churned=0.0), SCENARIO, 7, 0.0)
    assert math.isnan(books["clv"])  # §13.1: m·1/(1 + 0 − 1)
    assert books["discounted_profit"] == books["profit"]
    leaky = month_accounts(month(), SCENARIO, 7, 0.0)
    assert leaky["clv"] == pytest.approx((5000.0 / 190) * 0.95 / 0.05)


def test_later_months_are_discounted_more():
    factors = [month_accounts(month(), SCENARIO, t, D)["discounted_profit"] for t in (1, 12, 24)]
    assert factors[0] > factors[1] > factors[2] > 0
    assert factors[2] == pytest.approx(110.0 / 1.21)


# ----------------------------------------------------------------- ROI and payback


def series(profit, investment=None, discount: float = 0.0) -> pd.DataFrame:
    months = np.arange(1, len(profit) + 1)
    return pd.DataFrame(
        {
            "month": months,
            "profit": np.asarray(profit, dtype=float),
            "investment_cost": np.zeros(len(profit)) if investment is None else investment,
            "discount_factor": (1.0 + discount) ** -months,
        }
    )


def test_roi_and_payback_of_a_programme_undiscounted():
    """100 invested in month 1 (deducted from that month's profit), then 30 a month more
    profit: cumulative gain −100, −70, −40, −10, +20, +50 → payback in month 5;
    ΔNPV = −100 + 5 × 30 = 50 on ΔI = 100 → ROI 0.5."""
    base = series([200.0] * 6)
    alt = series([100.0] + [230.0] * 5, investment=[100.0, 0, 0, 0, 0, 0])
    r = investment_returns(base, alt)
    assert r["incremental_npv"] == pytest.approx(50.0)
    assert r["roi"] == pytest.approx(0.5)
    assert r["payback_month"] == 5


def test_roi_discounts_gains_and_investment_alike():
    v = 1 / 1.01
    base = series([200.0] * 6, discount=0.01)
    alt = series([100.0] + [230.0] * 5, investment=[100.0, 0, 0, 0, 0, 0], discount=0.01)
    r = investment_returns(base, alt)
    annuity = v**2 * (1 - v**5) / (1 - v)  # months 2–6
    assert r["incremental_npv"] == pytest.approx(-100 * v + 30 * annuity)
    assert r["roi"] == pytest.approx((-100 * v + 30 * annuity) / (100 * v))
    assert r["roi"] < 0.5  # gains come later than the spend, so discounting hurts ROI
    assert r["payback_month"] == 5  # payback is on undiscounted profit


def test_payback_never_comes_or_comes_at_once():
    base = series([100.0] * 4)
    sinking = series([50.0, 120.0, 120.0, 90.0], investment=[50.0, 0, 0, 0])
    # cumulative −50, −30, −10, −20: still negative at the horizon
    r = investment_returns(base, sinking)
    assert math.isnan(r["payback_month"]) and r["roi"] == pytest.approx(-20.0 / 50.0)
    better = series([110.0, 100.0, 130.0, 100.0])
    r = investment_returns(base, better)
    assert r["payback_month"] == 1 and r["incremental_npv"] == pytest.approx(40.0)
    assert math.isnan(r["roi"])  # no extra investment: no ROI
    same = investment_returns(base, series([100.0] * 4))
    assert math.isnan(same["payback_month"]) and math.isnan(same["roi"])
    assert same["incremental_npv"] == 0.0


def test_payback_is_the_month_after_the_last_dip_below_zero():
    base = series([100.0] * 6)
    # cumulative −10, +10, −5, −5, +5, +15: paid back for good only from month 5
    wobbly = series([90.0, 120.0, 85.0, 100.0, 110.0, 110.0], investment=[10.0, 0, 0, 0, 0, 0])
    r = investment_returns(base, wobbly)
    assert r["payback_month"] == 5
    assert r["roi"] == pytest.approx(15.0 / 10.0)
    spender = series([100.0] * 6, investment=[50.0, 0, 0, 0, 0, 0])
    thrifty = investment_returns(spender, series([150.0] * 6))
    assert math.isnan(thrifty["roi"])  # invests less than the base: no ROI
    assert thrifty["payback_month"] == 1 and thrifty["incremental_npv"] == pytest.approx(300.0)


# ----------------------------------------------------------------- the firm's running costs


def test_staffing_cost_counts_agents_only_where_a_contact_centre_runs():
    centre = scenario_from_dict(
        {"name": "c", "support": {"mode": "erlang", "contact_centre": {"agents": 3}}}
    ).support
    assert staffing(centre, 1.0) == (3.0, 10_500.0)  # 3 × 3,500
    assert staffing(centre, 0.6) == (3.0, pytest.approx(6_300.0))  # a supplier's cost factor
    desk = scenario_from_dict({"name": "d", "support": {"mode": "service_level"}}).support
    assert staffing(desk, 1.0) == (0.0, 0.0)


def test_firm_running_costs_of_a_month():
    settings = {"organisation": {"model": "centralised"}, "employees": {"staff": 10}}
    scenario = scenario_from_dict({"name": "f", "firm": settings})
    firm = Firm(scenario, list(scenario.touchpoints))
    firm.staff_leavers = 2.0
    costs = firm_running_costs(firm, recovered=4, customers=1_000)
    assert costs == {
        # 0.035 × 1,000 customers × 8 capabilities × 2.5^1.5
        "capability_cost": pytest.approx(0.035 * 1_000 * 8 * 2.5**1.5),
        "overhead_cost": pytest.approx(4_200.0),  # the centralised preset: 4.2 × 1,000
        "staff_cost": 35_000.0,  # a fixed 10 staff × 3,500
        "attrition_cost": 16_000.0,  # 2 leavers × 8,000
        "recovery_cost": 100.0,  # 4 recovered complaints × 25
        "frontier_cost": 0.0,  # managed: no frontier to move
    }
    assert set(costs) <= set(FIRM_COST_LINES)


def test_overhead_grows_with_the_firm_unless_it_is_fixed():
    def overhead_cost(customers: float, **organisation: object) -> float:
        settings = {"organisation": {"model": "hybrid", **organisation}}
        scenario = scenario_from_dict({"name": "f", "firm": settings})
        firm = Firm(scenario, list(scenario.touchpoints))
        return firm_running_costs(firm, 0, customers)["overhead_cost"]

    assert overhead_cost(6_000) == pytest.approx(3.7 * 6_000)
    assert overhead_cost(60_000) == pytest.approx(10 * overhead_cost(6_000))
    assert overhead_cost(60_000, overhead_per_customer=1.0) == pytest.approx(60_000)
    assert overhead_cost(60_000, overhead_per_month=22_000.0) == 22_000.0
    assert overhead_cost(600, overhead_per_month=22_000.0) == 22_000.0


def test_staff_follow_demand_unless_the_headcount_is_fixed():
    def workforce(staff: object, interactions: float) -> Firm:
        scenario = scenario_from_dict({"name": "f", "firm": {"employees": {"staff": staff}}})
        firm = Firm(scenario, list(scenario.touchpoints))
        firm.update_workforce(interactions, u_attrition=0.5)
        return firm

    auto = workforce("auto", 1_234.0)
    assert auto.staff == 13.0  # ⌈1,234 / 100⌉: normal workload
    assert firm_running_costs(auto, 0, 0)["staff_cost"] == 13 * 3_500.0
    assert workforce("auto", 12_340.0).staff == 124.0  # ten times the demand
    fixed = workforce(10, 1_234.0)
    assert fixed.staff == 10.0
    # a fixed headcount can be overworked (workload 1.23), which lowers engagement
    assert fixed.engagement < auto.engagement == pytest.approx(0.5)


def test_holding_capabilities_costs_more_the_higher_they_stand_and_the_larger_the_firm():
    def holding(level: float, customers: float = 1_000, maturity: str = "auto") -> float:
        caps = dict.fromkeys(CAPABILITIES, level)
        settings = {"capabilities": caps, "maturity": {"level": maturity}}
        scenario = scenario_from_dict({"name": "f", "firm": settings})
        return firm_running_costs(Firm(scenario, list(scenario.touchpoints)), 0, customers)

    costs = {level: holding(level)["capability_cost"] for level in (1.0, 2.5, 4.0, 5.0)}
    assert costs[1.0] == pytest.approx(0.035 * 1_000 * 8)
    assert costs[1.0] < costs[2.5] < costs[4.0] < costs[5.0]
    # convex: the step from 4 to 5 costs more than the step from 1 to 2.5
    assert costs[5.0] - costs[4.0] > costs[2.5] - costs[1.0]
    assert holding(2.5, customers=10_000)["capability_cost"] == pytest.approx(10 * costs[2.5])
    # the transformative frontier is not free
    assert holding(5.0)["frontier_cost"] == 20_000.0
    assert holding(5.0, maturity="managed")["frontier_cost"] == 0.0
