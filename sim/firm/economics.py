"""Economics of a month: revenue, margin, costs, profit, discounting and a CLV estimate.

All amounts are in the scenario's currency per month; discounting is monthly at the rate
equivalent to `economics.discount_rate_per_year`, with month t's cash flow discounted by
(1 + d)^t (flows at the end of the month).
"""

from __future__ import annotations

import math

import numpy as np

from sim.customers import rules
from sim.firm.delivery import Firm
from sim.metrics import FIRM_COST_LINES
from sim.scenario import Scenario, Support
from sim.support.contact_centre.intraday import MIN_AGENTS


def staffing(
    support: Support, cost_factor: float, agents_on_duty: float | None = None
) -> tuple[float, float]:
    """The contact centre's agents on duty and their monthly cost, currency, at the sourcing
    option's `cost_factor`.

    `agents_on_duty` is what the desk staffed this month, the mean agents on duty over the
    opening hours (the desk's ``agents`` metric); a month without contacts (None or NaN)
    has the fixed headcount on duty, or the minimum of one agent with `agents: auto`. The
    cost is the paid agent-hours (agents on duty × `hours_per_month`) at
    `agent_cost_per_month` / `hours_per_month` each, so a fixed headcount costs headcount ×
    `agent_cost_per_month`. No agents are counted when the desk is modelled by its service
    level alone.
    """
    if support.mode == "service_level":
        return 0.0, 0.0
    centre = support.contact_centre
    if agents_on_duty is None or math.isnan(agents_on_duty):
        agents_on_duty = MIN_AGENTS if centre.agents == "auto" else centre.agents
    return float(agents_on_duty), agents_on_duty * centre.agent_cost_per_month * cost_factor


def capability_holding_cost(
    levels: np.ndarray, customers: float, per_customer: float, exponent: float
) -> float:
    """The month's cost of holding capabilities at `levels`, cu: `per_customer` × active
    `customers` × Σ level^`exponent` (rising faster than the level, and with the firm's
    size)."""
    return float(per_customer * customers * np.sum(np.power(levels, exponent)))


def overhead(firm: Firm, customers: float) -> float:
    """The month's cost of running the CX organisation, cu: the organisational model's
    overhead per active customer, or the fixed amount a scenario sets instead."""
    fixed = firm.settings.organisation.overhead_per_month
    if fixed is not None:
        return fixed
    return firm.organisation["overhead_per_customer"] * customers


def firm_running_costs(firm: Firm, recovered: int, customers: float) -> dict[str, float]:
    """The month's running cost lines of the firm, currency: holding its capabilities for
    its active `customers`, the organisational model's overhead, front-line staff salaries,
    replacing the staff who left, recovering `recovered` complaints, and the frontier's
    innovation (transformative)."""
    settings = firm.settings
    employees, maturity, dynamics = settings.employees, settings.maturity, settings.dynamics
    innovating = firm.at_least("transformative")
    return {
        "capability_cost": capability_holding_cost(
            firm.levels,
            customers,
            dynamics.holding_cost_per_customer,
            dynamics.holding_cost_exponent,
        ),
        "overhead_cost": overhead(firm, customers),
        "staff_cost": firm.staff * employees.salary_per_month,
        "attrition_cost": firm.staff_leavers * employees.replacement_cost,
        "recovery_cost": recovered * maturity.recovery_cost,
        "frontier_cost": maturity.frontier_cost_per_month if innovating else 0.0,
    }


def acquisition_costs(scenario: Scenario, values: dict[str, float]) -> float:
    """The month's cost of signing its new customers, cu, by how each was won: advertising
    (`cost_per_acquisition`), word of mouth (`cost_per_referral`) or win-back
    (`cost_per_winback`)."""
    a = scenario.acquisition
    referred = values["acquired_by_word_of_mouth"]
    advertised = values["acquired_prospects"] - referred
    won_back = values["acquired"] - values["acquired_prospects"]
    return (
        a.cost_per_acquisition * advertised
        + a.cost_per_referral * referred
        + a.cost_per_winback * won_back
    )


def month_accounts(
    values: dict[str, float], scenario: Scenario, month: int, discount_per_month: float
) -> dict[str, float]:
    """Derived customer and money metrics of one month from the model's raw counts.

    Args:
        values: the month's raw measures (active_start, churned, acquired, revenue,
            contacts, repeat_purchases…).
        scenario: the scenario (margins, unit costs).
        month: month number, 1 for the first simulated month.
        discount_per_month: monthly discount rate.
    """
    economics = scenario.economics
    start = values["active_start"]
    survivors = start - values["churned"]
    churn_rate = values["churned"] / start if start else 0.0
    margin = economics.gross_margin * values["revenue"]
    acquisition_cost = acquisition_costs(scenario, values)
    marketing_cost = scenario.acquisition.marketing_per_person_per_month * scenario.market.size
    support_cost = (
        scenario.support.cost_per_contact * values["contacts"] * values["support_cost_factor"]
    )
    fixed_cost = economics.fixed_cost_per_month
    firm_costs = sum(values[line] for line in FIRM_COST_LINES)  # in their declared order
    total_cost = marketing_cost + acquisition_cost + support_cost + fixed_cost + firm_costs
    profit = margin - total_cost
    margin_per_customer = margin / survivors if survivors else 0.0
    return {
        "active": survivors + values["acquired"],
        "churn_rate": churn_rate,
        # customer retention rate (E − N) / S: customers kept from the start of the month
        "retention_rate": 1.0 - churn_rate if start else float("nan"),
        "repeat_purchase_rate": values["repeat_purchases"] / survivors if survivors else 0.0,
        "margin": margin,
        "marketing_cost": marketing_cost,
        "acquisition_cost": acquisition_cost,
        "support_cost": support_cost,
        "fixed_cost": fixed_cost,
        "total_cost": total_cost,
        "profit": profit,
        "discounted_profit": profit / (1.0 + discount_per_month) ** month,
        "clv": rules.customer_lifetime_value(
            margin_per_customer, 1.0 - churn_rate, discount_per_month
        ),
    }
