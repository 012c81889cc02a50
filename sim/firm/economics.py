"""Economics of a month: revenue, margin, costs, profit, discounting and a CLV estimate.

All amounts are in the scenario's currency per month; discounting is monthly at the rate
equivalent to `economics.discount_rate_per_year`, with month t's cash flow discounted by
(1 + d)^t (flows at the end of the month).
"""

from __future__ import annotations

from sim.customers import rules
from sim.firm.delivery import Firm
from sim.metrics import FIRM_COST_LINES
from sim.scenario import Scenario, Support


def staffing(support: Support, cost_factor: float) -> tuple[float, float]:
    """The contact centre's agents and their monthly cost, currency, at the sourcing
    option's `cost_factor` (no agents are counted when the desk is modelled by its service
    level alone)."""
    agents = support.contact_centre.agents if support.mode != "service_level" else 0
    return float(agents), agents * support.contact_centre.agent_cost_per_month * cost_factor


def firm_running_costs(firm: Firm, recovered: int) -> dict[str, float]:
    """The month's running cost lines of the firm, currency: the organisational model's
    overhead, CX staff salaries, replacing the staff who left, and recovering `recovered`
    complaints."""
    settings = firm.settings
    employees = settings.employees
    return {
        "overhead_cost": firm.organisation["overhead_per_month"],
        "staff_cost": employees.staff * employees.salary_per_month,
        "attrition_cost": firm.staff_leavers * employees.replacement_cost,
        "recovery_cost": recovered * settings.maturity.recovery_cost,
    }


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
    acquisition_cost = scenario.acquisition.cost_per_acquisition * values["acquired"]
    support_cost = (
        scenario.support.cost_per_contact * values["contacts"] * values["support_cost_factor"]
    )
    fixed_cost = economics.fixed_cost_per_month
    firm_costs = sum(values[line] for line in FIRM_COST_LINES)  # in their declared order
    total_cost = acquisition_cost + support_cost + fixed_cost + firm_costs
    profit = margin - total_cost
    margin_per_customer = margin / survivors if survivors else 0.0
    return {
        "active": survivors + values["acquired"],
        "churn_rate": churn_rate,
        # customer retention rate (E − N) / S: customers kept from the start of the month
        "retention_rate": 1.0 - churn_rate if start else float("nan"),
        "repeat_purchase_rate": values["repeat_purchases"] / survivors if survivors else 0.0,
        "margin": margin,
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
