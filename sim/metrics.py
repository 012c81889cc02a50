"""Every metric the model records, declared once: name, unit, meaning, the phase that reports
it, and how it adds up.

- `TIMESERIES`: the columns of the time series (one row per month), in table order, each with
  the phase that reports it (`CXModel.step`'s phases; ``accounts`` are derived by
  `sim.firm.economics.month_accounts` when the month is recorded); `FIRM_COST_LINES` and
  `MARKET_COST_LINES` name its cost lines, which `sim.firm.economics` totals. The recorder stores
  exactly these columns (`check_month`), the support desk and the survey report the metrics
  declared here (`DESK_METRICS`, `SURVEY_METRICS`), and the model card's tables
  (docs/model.md §13.3, §13.6) list exactly these.
- `OUTCOMES`: the outcomes of one replication (one row per replication), each computed from a
  time-series column by a declared rule over the months (`replication_outcomes`), with the
  label the command line shows.
- `HEADLINE`: the outcomes a strategist looks at first, in table order; `RETURNS`: the paired
  measures of an alternative's extra investment (`sim.experiments.runs.investment_returns`).

Units: "cu" is the scenario's currency; shares and probabilities are 0–1; the quality scale
runs from 0 to 1; counts are per month.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from sim.errors import CXMError
from sim.market import FIRM_COLUMN
from sim.scenario.firm import CAPABILITIES, CHANNELS

Phase = Literal[
    "record",
    "customers.answer",
    "customers.decide",
    "market.acquire",
    "firm.learn",
    "accounts",
]
"""Where a time-series metric comes from: the phase that reports it, or the month's
accounts."""


@dataclass(frozen=True)
class Metric:
    """A column of the time series."""

    name: str
    unit: str
    phase: Phase


def _declare(phase: Phase, **units: str) -> tuple[Metric, ...]:
    return tuple(Metric(name, unit, phase) for name, unit in units.items())


DESK = _declare(
    "record",
    aht_seconds="seconds",
    asa_seconds="seconds",
    mean_wait_seconds="seconds",
    service_level="share",
    abandon_rate="share",
    occupancy="share",
)
"""Operational metrics of a month a support desk reports: average handle time, average
speed of answer (mean wait of answered contacts), mean wait of all callers (answered or
abandoned), share answered within the target time, share abandoned, agent occupancy."""

SURVEY = _declare(
    "customers.answer",
    nps_true="NPS points",
    nps_measured="NPS points",
    csat_true="1–5",
    csat_measured="1–5",
    ces_true="1–7",
    ces_measured="1–7",
    respondents="customers",
)
"""What a month's survey measures (true values from everyone's latent state, measured ones
from the respondents)."""


TIMESERIES: tuple[Metric, ...] = (
    *_declare(
        "record",
        satisfaction_mean="quality scale",
        effort_mean="quality scale",
        expectation_mean="quality scale",
        experiencing="customers",
        problems="customers",
        contacts="contacts",
        repeat_contacts="contacts",
        abandoned_contacts="contacts",
        mean_wait_minutes="minutes",
        first_contact_resolution="share",
        recovered_complaints="contacts",
        products_per_customer="products",
        initial_customers_active="customers",
        capability_index="level 0–5",
        maturity="code 0–4",
        engagement="0–1",
        staff="people",
        staff_leavers="people",
        privacy_incident="0 or 1",
        personalisation="0–1",
        support_cost_factor="multiplier",
    ),
    *DESK,
    *_declare("record", agents="agents", staffing_cost="cu"),
    *_declare(
        "record",
        chat_contacts="contacts",
        self_service_sessions="sessions",
        self_service_resolved="sessions",
        **{f"{c}_level": "level 0–5" for c in CHANNELS},
    ),
    *_declare("record", **{f"cap_{c}": "level 0–5" for c in CAPABILITIES}),
    *SURVEY,
    *_declare("customers.answer", loop_calls="calls", loop_cost="cu"),
    *_declare(
        "customers.decide",
        active_start="customers",
        churned="customers",
        renewal_due="customers",
        repeat_purchases="purchases",
        upsells="products",
        revenue="cu",
        interventions="customers",
        saved_customers="customers",
        retention_cost="cu",
        flag_precision="share",
        flag_recall="share",
    ),
    *_declare(
        "market.acquire",
        acquired="customers",
        acquired_prospects="customers",
        acquired_by_word_of_mouth="customers",
        informed_share="share of market",
        switched_in="customers",
        switched_out="customers",
        share_of_voice="share",
        market_share="share",
    ),
    *_declare(
        "firm.learn",
        investment_cost="cu",
        capability_cost="cu",
        overhead_cost="cu",
        staff_cost="cu",
        attrition_cost="cu",
        recovery_cost="cu",
        frontier_cost="cu",
        improvement_cost="cu",
        reviews="0 or 1",
        improvements="changes",
        preventions="changes",
        channel_cost="cu",
    ),
    *_declare(
        "accounts",
        active="customers",
        churn_rate="per month",
        retention_rate="per month",
        repeat_purchase_rate="per customer per month",
        margin="cu",
        marketing_cost="cu",
        acquisition_cost="cu",
        support_cost="cu",
        fixed_cost="cu",
        total_cost="cu",
        profit="cu",
        discounted_profit="cu (present value)",
        clv="cu per customer",
        discount_factor="—",
        npv_to_date="cu (present value)",
    ),
)
"""The time series' columns besides ``replication``, ``seed`` and ``month``, in table order."""

NAMES = tuple(metric.name for metric in TIMESERIES)
"""The names of `TIMESERIES`, in table order."""
DESK_METRICS = tuple(metric.name for metric in DESK)
SURVEY_METRICS = tuple(metric.name for metric in SURVEY)

FIRM_COST_LINES = (
    "investment_cost",
    "capability_cost",
    "overhead_cost",
    "staff_cost",
    "staffing_cost",
    "attrition_cost",
    "recovery_cost",
    "loop_cost",
    "retention_cost",
    "improvement_cost",
    "frontier_cost",
    "channel_cost",
)
"""The firm's cost lines, cu per month (capability and channel spend and holding,
organisation, staff, the contact centre's agents, practices, chat and self-service), in the
order they are totalled."""
MARKET_COST_LINES = ("marketing_cost", "acquisition_cost", "support_cost", "fixed_cost")
"""The market-facing cost lines, cu per month: advertising, signing new customers, support
contacts and the fixed cost."""


REPORTED = tuple(m.name for m in TIMESERIES if m.phase != "accounts")
"""The metrics the phases report each month (the rest are the month's accounts)."""


def check_month(values: dict[str, float]) -> None:
    """Refuse a month whose reported measures are not exactly the declared ones
    (`REPORTED`, in order).

    Raises:
        ValueError: naming the missing and the undeclared metrics.
    """
    if tuple(values) == REPORTED:
        return
    missing = [name for name in REPORTED if name not in values]
    extra = [name for name in values if name not in REPORTED]
    raise ValueError(
        f"a month's metrics differ from sim.metrics.TIMESERIES: missing {missing}, "
        f"undeclared {extra}" + ("" if missing or extra else " (order differs)")
    )


# ---------------------------------------------------------------------------- outcomes

Rule = Literal["last", "sum", "mean", "present_value", "share_of_first_active"]
"""How an outcome adds up a time-series column over a replication's months: its value in the
last month, its sum, its mean, its sum discounted to the start (× ``discount_factor``), or
its last value as a share of the customers active at the start of month 1."""


@dataclass(frozen=True)
class Outcome:
    """An outcome of one replication."""

    name: str
    source: str
    """The time-series column it is computed from."""
    rule: Rule
    label: str
    """How the command line names it."""


OUTCOMES: tuple[Outcome, ...] = (
    Outcome("active", "active", "last", "active customers"),
    Outcome("churn_rate", "churn_rate", "last", "churn rate (last month)"),
    Outcome("satisfaction_mean", "satisfaction_mean", "last", "satisfaction (last month)"),
    Outcome("nps_true", "nps_true", "last", "NPS (true)"),
    Outcome("nps_measured", "nps_measured", "last", "NPS (measured)"),
    Outcome("csat_true", "csat_true", "last", "CSAT 1-5 (true)"),
    Outcome("csat_measured", "csat_measured", "last", "CSAT 1-5 (measured)"),
    Outcome("ces_true", "ces_true", "last", "CES 1-7 (true)"),
    Outcome("ces_measured", "ces_measured", "last", "CES 1-7 (measured)"),
    Outcome("clv", "clv", "last", "CLV (last month)"),
    Outcome(
        "retention_of_initial",
        "initial_customers_active",
        "share_of_first_active",
        "retention of initial customers",
    ),
    Outcome("churned_total", "churned", "sum", "customers churned"),
    Outcome("acquired_total", "acquired", "sum", "customers acquired"),
    Outcome("revenue_total", "revenue", "sum", "revenue"),
    Outcome("profit_total", "profit", "sum", "profit"),
    Outcome("profit_npv", "npv_to_date", "last", "profit NPV"),
    Outcome("churn_rate_mean", "churn_rate", "mean", "mean monthly churn rate"),
    Outcome("investment_total", "investment_cost", "sum", "investment"),
    Outcome("investment_pv", "investment_cost", "present_value", "investment (present value)"),
)
"""The outcomes of a replication, in table order."""

HEADLINE = (
    "active",
    "retention_of_initial",
    "churned_total",
    "acquired_total",
    "revenue_total",
    "profit_total",
    "profit_npv",
    "nps_true",
    "nps_measured",
    "csat_measured",
    "ces_measured",
)
"""The outcomes a strategist looks at first, in table order."""

RETURNS = {"roi": "ROI of extra investment", "payback_month": "payback month"}
"""Paired measures of an alternative's extra investment, with their labels."""

LABELS = {outcome.name: outcome.label for outcome in OUTCOMES} | RETURNS
"""How the command line names each outcome and paired measure."""


def present_value(timeseries: pd.DataFrame, column: str) -> float:
    """A time-series column summed over one replication's months at their discount factors
    (the ``present_value`` rule of `OUTCOMES`), in the column's unit (cu for money)."""
    return float((timeseries[column] * timeseries["discount_factor"]).sum())


def replication_outcomes(timeseries: pd.DataFrame) -> dict[str, float]:
    """The outcomes of one replication (`OUTCOMES`, in order) from its time series (of one
    firm).

    Raises:
        CXMError: the time series holds several firms' rows (a study that reduces a run to
            one row of outcomes takes a one-firm scenario).
    """
    if FIRM_COLUMN in timeseries.columns and timeseries[FIRM_COLUMN].nunique() > 1:
        firms = ", ".join(dict.fromkeys(timeseries[FIRM_COLUMN].astype(str)))
        raise CXMError(
            f"this study reduces each run to one firm's outcomes, and the scenario names "
            f"several firms ({firms}); run or compare it (`cxm run`, `cxm compare`), which "
            "report every firm, or study a scenario of one firm"
        )
    last = timeseries.iloc[-1]
    outcomes = {}
    for outcome in OUTCOMES:
        column = timeseries[outcome.source]
        if outcome.rule == "last":
            value = float(last[outcome.source])
        elif outcome.rule == "sum":
            value = float(column.sum())
        elif outcome.rule == "mean":
            value = float(column.mean())
        elif outcome.rule == "present_value":
            value = present_value(timeseries, outcome.source)
        else:
            initial = timeseries["active_start"].iloc[0]
            value = float(last[outcome.source] / initial) if initial else math.nan
        outcomes[outcome.name] = value
    return outcomes
