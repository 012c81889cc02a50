"""How the project's columns and outcomes read on a figure: plain names and units.

Names and units come from `sim.metrics`, where every recorded metric and outcome is
declared once; this module only turns them into axis words ("cu", "share, 0–1", "NPS
points"), so every figure of `sim.plots` labels a metric the same way.
"""

from __future__ import annotations

from collections.abc import Mapping

from sim.metrics import LABELS, OUTCOMES, TIMESERIES

_TIMESERIES_UNITS = {metric.name: metric.unit for metric in TIMESERIES}

_UNIT_WORDS = {
    "share": "share, 0–1",
    "share of market": "share of market, 0–1",
    "per month": "share per month, 0–1",
    "quality scale": "quality scale, 0–1",
    "NPS points": "NPS points, −100 to 100",
    "1–5": "scale 1–5",
    "1–7": "scale 1–7, higher = more effort",
    "level 0–5": "level 0–5",
    "code 0–4": "0 reactive … 4 transformative",
    "cu (present value)": "cu, present value",
    "—": "",
}
"""How the units `sim.metrics` declares read on an axis."""

_TIMESERIES_NAMES = {
    "active": "Active customers",
    "active_start": "Customers at the start of the month",
    "acquired": "Customers acquired",
    "churned": "Customers lost",
    "churn_rate": "Churn rate",
    "retention_rate": "Retention rate",
    "repeat_purchase_rate": "Repeat purchase rate",
    "initial_customers_active": "Initial customers still active",
    "revenue": "Revenue",
    "margin": "Gross margin",
    "profit": "Profit",
    "total_cost": "Total cost",
    "discounted_profit": "Profit, discounted",
    "npv_to_date": "Profit NPV to date",
    "clv": "Customer lifetime value",
    "satisfaction_mean": "Mean satisfaction",
    "effort_mean": "Mean remembered effort",
    "expectation_mean": "Mean expectation",
    "nps_true": "True NPS",
    "nps_measured": "Measured NPS",
    "csat_true": "True CSAT",
    "csat_measured": "Measured CSAT",
    "ces_true": "True CES",
    "ces_measured": "Measured CES",
    "contacts": "Support contacts",
    "mean_wait_minutes": "Mean wait of support contacts",
    "first_contact_resolution": "First-contact resolution",
    "informed_share": "Net informed share of the market",
    "capability_index": "Capability index",
    "maturity": "Maturity level",
    "engagement": "Employee engagement",
    "service_level": "Service level",
    "abandon_rate": "Abandonment rate",
}
"""Plain names of time-series columns (the others read as their column name)."""

COST_NAMES = {
    "marketing_cost": "Advertising",
    "acquisition_cost": "Signing new customers",
    "support_cost": "Support contacts",
    "fixed_cost": "Fixed cost",
    "investment_cost": "Capability investment",
    "capability_cost": "Holding capabilities",
    "overhead_cost": "CX organisation overhead",
    "staff_cost": "Front-line salaries",
    "staffing_cost": "Contact-centre agents",
    "attrition_cost": "Replacing staff who left",
    "recovery_cost": "Complaint recovery",
    "loop_cost": "Calling detractors back",
    "retention_cost": "Retention interventions",
    "improvement_cost": "Reviews and fixes",
    "frontier_cost": "Innovation frontier",
}
"""Plain names of the cost lines (docs/model.md §13.1)."""

_OUTCOME_NAMES = {
    "active": "Active customers at the horizon",
    "churn_rate": "Churn rate in the last month",
    "satisfaction_mean": "Mean satisfaction in the last month",
    "nps_true": "True NPS in the last month",
    "nps_measured": "Measured NPS in the last month",
    "csat_true": "True CSAT in the last month",
    "csat_measured": "Measured CSAT in the last month",
    "ces_true": "True CES in the last month",
    "ces_measured": "Measured CES in the last month",
    "clv": "Customer lifetime value in the last month",
    "retention_of_initial": "Retention of the initial customers",
    "churned_total": "Customers lost over the run",
    "acquired_total": "Customers acquired over the run",
    "revenue_total": "Revenue over the run",
    "profit_total": "Profit over the run",
    "profit_npv": "Profit NPV",
    "churn_rate_mean": "Mean monthly churn rate",
    "investment_total": "Capability investment over the run",
    "investment_pv": "Capability investment, present value",
    "roi": "ROI of the extra investment",
    "payback_month": "Payback month",
}
"""Plain names of the outcomes and paired measures a comparison summarises."""


def plain(column: str) -> str:
    words = column.removeprefix("cap_").replace("_", " ")
    return words[:1].upper() + words[1:]


def axis_label(name: str, unit: str) -> str:
    """An axis label: the name and, unless the name already says it, the unit."""
    if not unit or unit.split(",")[0].lower() in name.lower():
        return name
    return f"{name} ({unit})"


def timeseries_name(metric: str) -> str:
    if metric.endswith("_cost") and metric in COST_NAMES:
        return f"Cost: {COST_NAMES[metric].lower()}"
    if metric.startswith("cap_"):
        return f"Capability: {metric.removeprefix('cap_').replace('_', ' ')}"
    return _TIMESERIES_NAMES.get(metric, plain(metric))


def timeseries_unit(metric: str) -> str:
    unit = _TIMESERIES_UNITS.get(metric, "")
    return _UNIT_WORDS.get(unit, unit)


def outcome_name(metric: str) -> str:
    if metric in _OUTCOME_NAMES:
        return _OUTCOME_NAMES[metric]
    return plain(LABELS.get(metric, metric))


def outcome_unit(metric: str) -> str:
    if metric == "roi":
        return "net return per cu of extra investment"
    if metric == "payback_month":
        return "months"
    outcome = next((o for o in OUTCOMES if o.name == metric), None)
    if outcome is None:
        return ""
    if outcome.rule == "share_of_first_active":
        return "share, 0–1"
    if outcome.rule == "present_value":
        return "cu, present value"
    return timeseries_unit(outcome.source)


def number(value: float, digits: int = 0, sign: bool = False) -> str:
    """`value` as a report writes it: thousands separated by commas, `digits` decimals, a
    true minus sign (−), and with `sign` a plus sign on positive values. Units are the
    caller's (the number is not scaled)."""
    return f"{value:{'+' if sign else ''},.{digits}f}".replace("-", "−")


def difference_with_interval(row: Mapping[str, float], digits: int = 0, scale: float = 1.0) -> str:
    """A paired difference and its 95 % interval in words, "+1,234 (−56 to 2,524)", from a
    row of `sim.Comparison.summary` (its ``difference``, ``ci_low`` and ``ci_high``), each
    multiplied by `scale` (e.g. 100 for a share in percentage points); units are the row's
    times `scale`."""
    low, high = row["ci_low"] * scale, row["ci_high"] * scale
    return (
        f"{number(row['difference'] * scale, digits, True)} "
        f"({number(low, digits)} to {number(high, digits)})"
    )
