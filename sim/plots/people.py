"""Figures of the people side of CX: employees who serve customers, and the customer data
that personalisation runs on.

The service-profit chain (Heskett, Jones, Loveman, Sasser & Schlesinger 1994) reads from the
inside out: the firm's internal quality (culture, tools, a workload people can carry) makes
engaged employees, who stay and serve better; better service makes satisfied customers, who
stay and buy; loyal customers make revenue and profit. docs/model.md §11 states the model's
version: engagement follows culture, technology and workload, and moves the quality of
staffed touchpoints, first-contact resolution, handle time and staff turnover.
Personalisation (§12) fits the experience to each customer and uses their data; a privacy
incident is a trust shock whose chance falls with governance.

- `engagement_targets` (table) and `engagement_drivers` (figure): the engagement that
  culture and workload sustain, and the staff turnover that goes with it;
- `chain_differences` (table) and `service_profit_chain` (figure): a comparison's paired
  differences along the chain, link by link, replication by replication;
- `paired_by_month` (table) and `difference_by_month` (figure): an alternative's paired
  difference in one time-series metric, month by month (the depth and the recovery of a
  shock);
- `incident_risk` (table) and `privacy_tradeoff` (figure): the chance of a privacy incident
  by governance level, and personalisation's gain against the incidents' expected cost.

Units: engagement 0–1; quality on the quality scale 0–1; shares 0–1; money in cu, profit NPV
and incident costs in cu of present value; months from 1; probabilities per month or over
the horizon, as named. Bands and whiskers are Student-t 95% intervals across replications
(`sim.stats.mean_interval`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from sim.customers import rules
from sim.experiments.runs import Comparison, RunResult
from sim.plots.labels import axis_label, timeseries_name, timeseries_unit
from sim.plots.results import draw_band
from sim.scenario import Scenario
from sim.scenario.fields import MAX_LEVEL
from sim.stats import mean_interval

__all__ = [
    "CHAIN_LINKS",
    "chain_differences",
    "difference_by_month",
    "engagement_drivers",
    "engagement_targets",
    "incident_risk",
    "paired_by_month",
    "privacy_tradeoff",
    "service_profit_chain",
]

CHAIN_LINKS = {
    "engagement": ("Employee engagement, monthly mean", "0–1"),
    "staff_leavers": ("Staff who left over the run", "people"),
    "staffed_quality": ("Quality at staffed touchpoints, mean", "quality scale, 0–1"),
    "first_contact_resolution": ("First-contact resolution, monthly mean", "share, 0–1"),
    "satisfaction_mean": ("Customer satisfaction, monthly mean", "quality scale, 0–1"),
    "churned_total": ("Customers lost over the run", "customers"),
    "revenue_total": ("Revenue over the run", "cu"),
    "staff_cost": ("Front-line salaries over the run", "cu"),
    "profit_npv": ("Profit NPV", "cu, present value"),
}
"""The links of the service-profit chain as `chain_differences` measures them, inside out:
column → (plain name, unit)."""

_MONTHLY_MEANS = ("engagement", "first_contact_resolution", "satisfaction_mean")
_RUN_TOTALS = ("staff_leavers", "staff_cost")
_OUTCOMES = ("churned_total", "revenue_total", "profit_npv")


def _thousands(ax: Axes, axis: str = "y") -> None:
    formatter = FuncFormatter(lambda value, _: f"{value:,.0f}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(formatter)


def _checked(comparison: Comparison) -> Comparison:
    if not isinstance(comparison, Comparison):
        raise TypeError(f"expected a Comparison (sim.compare), got {type(comparison).__name__}")
    return comparison


# ------------------------------------------------------------------------- engagement


def engagement_targets(
    scenario: Scenario,
    culture_levels: Sequence[float] = (1.5, 2.5, 3.5, 4.5),
    workloads: Sequence[float] | None = None,
) -> pd.DataFrame:
    """The engagement that culture and workload sustain, at the scenario's technology level.

    Engagement moves towards this target by `engagement_adjustment` of the gap each month
    (docs/model.md §11), so it is also where engagement settles when culture, technology and
    workload stay put.

    Args:
        scenario: its employee settings (`firm.employees`), reference level and technology.
        culture_levels: culture levels, 0–5.
        workloads: staffed interactions over capacity (1 = normal); default 0.5 to 2.

    Returns:
        One row per culture level × workload: ``culture`` (level), ``workload`` (ratio),
        ``engagement`` (0–1) and ``attrition_per_month`` (share of staff leaving a month at
        that engagement).

    Raises:
        ValueError: a culture level outside 0–5 or a negative workload.
    """
    levels = np.asarray(culture_levels, dtype=float)
    loads = np.linspace(0.5, 2.0, 31) if workloads is None else np.asarray(workloads, float)
    if levels.size == 0 or np.any((levels < 0) | (levels > MAX_LEVEL)):
        raise ValueError(f"culture levels must lie in 0–{MAX_LEVEL:g}, got {list(levels)}")
    if loads.size == 0 or np.any(loads < 0):
        raise ValueError(f"workloads must be at least 0, got {list(loads)}")
    firm, e = scenario.firm, scenario.firm.employees
    technology = firm.capabilities["technology"] - firm.reference_level
    rows = []
    for culture in levels:
        for load in loads:
            target = rules.engagement_target(
                culture - firm.reference_level,
                technology,
                float(load),
                e.culture_effect,
                e.technology_effect,
                e.workload_effect,
            )
            attrition = rules.staff_attrition(
                e.attrition_per_month, target, e.attrition_engagement_effect
            )
            rows.append((float(culture), float(load), target, attrition))
    return pd.DataFrame(rows, columns=["culture", "workload", "engagement", "attrition_per_month"])


def engagement_drivers(targets: pd.DataFrame) -> Figure:
    """Where engagement settles, and the staff turnover that goes with it.

    Args:
        targets: what `engagement_targets` returns.

    Returns:
        A figure with two axes side by side, one line per culture level: x the workload
        (staffed interactions over capacity, 1 = normal; a dotted line marks it), y the
        engagement (0–1) on the left and the staff who leave a month (share, 0–1) on the
        right.

    Raises:
        ValueError: `targets` lacks a column of `engagement_targets`.
    """
    needed = ["culture", "workload", "engagement", "attrition_per_month"]
    missing = [c for c in needed if c not in targets]
    if missing:
        raise ValueError(f"engagement targets lack {', '.join(missing)}: use engagement_targets")
    fig = Figure(figsize=(10, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    for culture, part in targets.groupby("culture", sort=True):
        part = part.sort_values("workload")
        label = f"culture {culture:g}"
        (line,) = left.plot(part["workload"], part["engagement"], label=label)
        right.plot(
            part["workload"], part["attrition_per_month"], label=label, color=line.get_color()
        )
    for ax in (left, right):
        ax.axvline(1.0, color="grey", linestyle=":", linewidth=1)
        ax.set_xlabel("Workload (staffed interactions ÷ capacity; 1 = normal)")
    left.set_ylabel(axis_label("Employee engagement it settles at", "0–1"))
    left.set_title("Engagement: culture lifts it, overload pulls it down")
    right.set_ylabel(axis_label("Staff who leave a month", "share, 0–1"))
    right.set_title("Staff turnover at that engagement")
    left.legend(title="Culture level")
    return fig


# ------------------------------------------------------------------- the chain, paired


def _staffed_quality(run: RunResult) -> pd.Series:
    """Mean delivered quality at the staffed touchpoints, weighted by their interactions,
    per replication."""
    staffed = [name for name, t in run.scenario.touchpoints.items() if t.staffed]
    rows = run.touchpoints[run.touchpoints["touchpoint"].isin(staffed)]
    weighted = rows.assign(w=rows["delivered_quality"] * rows["experiences"])
    sums = weighted.groupby("replication")[["w", "experiences"]].sum()
    return sums["w"] / sums["experiences"]


def _chain_values(run: RunResult) -> pd.DataFrame:
    ts = run.timeseries.groupby("replication")
    values = ts[list(_MONTHLY_MEANS)].mean().join(ts[list(_RUN_TOTALS)].sum())
    values["staffed_quality"] = _staffed_quality(run)
    outcomes = run.outcomes.set_index("replication")[list(_OUTCOMES)]
    return values.join(outcomes)[list(CHAIN_LINKS)]


def chain_differences(comparison: Comparison) -> pd.DataFrame:
    """Paired differences alternative − base along the service-profit chain.

    Each link of `CHAIN_LINKS` is measured per replication over the whole run: engagement,
    first-contact resolution and satisfaction as means of their monthly values, staff
    leavers and front-line salaries as totals, the quality of the staffed touchpoints as the
    mean over their interactions, and the comparison's outcomes (customers lost, revenue,
    profit NPV). Replications are paired on common random numbers.

    Args:
        comparison: what `sim.compare` returns (or `paired_comparison`).

    Returns:
        One row per alternative × replication: ``alternative``, ``replication`` and one column
        per link (in the link's unit, see `CHAIN_LINKS`).

    Raises:
        TypeError: not a comparison.
    """
    comparison = _checked(comparison)
    base = _chain_values(comparison.runs[0])
    frames = []
    for run in comparison.runs[1:]:
        difference = (_chain_values(run) - base).reset_index()
        frames.append(difference.assign(alternative=run.scenario.name))
    table = pd.concat(frames, ignore_index=True)
    return table[["alternative", "replication", *CHAIN_LINKS]]


def service_profit_chain(comparison: Comparison) -> Figure:
    """The service-profit chain, link by link: each alternative's paired difference against
    the base with its 95% interval (`chain_differences`), one panel per link, read from
    the top left (employees) to the bottom right (profit).

    Returns:
        A figure with one small axes per link of `CHAIN_LINKS`: a point and whiskers per
        alternative, x the difference in the link's unit, a vertical line at 0.
    """
    table = chain_differences(comparison)
    alternatives = [run.scenario.name for run in comparison.runs[1:]]
    replications = int(table["replication"].nunique())
    columns = 3
    rows = int(np.ceil(len(CHAIN_LINKS) / columns))
    fig = Figure(figsize=(12, 1.2 + rows * (0.9 + 0.35 * len(alternatives))), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    y = np.arange(len(alternatives))
    for step, (ax, (link, (name, unit))) in enumerate(zip(axes, CHAIN_LINKS.items(), strict=False)):
        stats = [mean_interval(table.loc[table["alternative"] == a, link]) for a in alternatives]
        mean = np.array([s["mean"] for s in stats])
        low = np.array([s["ci_low"] for s in stats])
        high = np.array([s["ci_high"] for s in stats])
        ax.errorbar(mean, y, xerr=np.vstack([mean - low, high - mean]), fmt="o", capsize=4)
        ax.axvline(0.0, color="black", linewidth=0.8)
        ax.set_yticks(y, labels=alternatives if step % columns == 0 else [""] * len(y))
        ax.set_ylim(len(alternatives) - 0.5, -0.5)
        ax.set_title(f"{step + 1}. {name}", fontsize=10)
        ax.set_xlabel(axis_label("Difference", unit), fontsize=9)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
        if unit.startswith("cu"):
            _thousands(ax, "x")
    for ax in axes[len(CHAIN_LINKS) :]:
        ax.set_visible(False)
    fig.suptitle(
        f"The service-profit chain against {comparison.runs[0].scenario.name}: paired "
        f"differences, mean over {replications} replications, 95% interval"
    )
    return fig


# ------------------------------------------------------------------- month by month


def paired_by_month(
    comparison: Comparison, metric: str, alternative: str | None = None
) -> pd.DataFrame:
    """An alternative's paired difference alternative − base in one time-series metric,
    month by month (common random numbers pair the replications).

    Args:
        comparison: what `sim.compare` returns.
        metric: a numeric column of the time series (docs/model.md §13.3).
        alternative: the alternative's scenario name (default: the first).

    Returns:
        One row per replication × month: ``replication``, ``month``, ``difference`` (in the
        metric's unit).

    Raises:
        TypeError: not a comparison. ValueError: unknown alternative or metric.
    """
    comparison = _checked(comparison)
    names = [run.scenario.name for run in comparison.runs[1:]]
    name = names[0] if alternative is None else alternative
    if name not in names:
        raise ValueError(f"unknown alternative {name!r}: the comparison has {', '.join(names)}")
    base, alt = comparison.runs[0].timeseries, comparison.runs[1 + names.index(name)].timeseries
    if metric not in base or not pd.api.types.is_numeric_dtype(base[metric]):
        raise ValueError(f"{metric!r} is not a numeric column of the time series")
    keys = ["replication", "month"]
    merged = base[[*keys, metric]].merge(alt[[*keys, metric]], on=keys, suffixes=("_b", "_a"))
    merged["difference"] = merged[f"{metric}_a"] - merged[f"{metric}_b"]
    return merged[[*keys, "difference"]].sort_values(keys, ignore_index=True)


def difference_by_month(
    comparison: Comparison, metric: str, alternative: str | None = None
) -> Figure:
    """An alternative's paired difference in one metric, month by month: the mean over
    replications with its 95% band (`paired_by_month`), and a line at 0.

    Returns:
        A figure with one axes: x the month, y the difference alternative − base in the
        metric's unit.
    """
    table = paired_by_month(comparison, metric, alternative)
    name = alternative or comparison.runs[1].scenario.name
    rows = {int(m): mean_interval(p["difference"]) for m, p in table.groupby("month", sort=True)}
    band = pd.DataFrame.from_dict(rows, orient="index")
    fig = Figure(figsize=(9, 4.2), layout="constrained")
    ax = fig.subplots()
    draw_band(ax, band, "mean paired difference", "95% interval")
    ax.axhline(0.0, color="black", linewidth=0.8)
    unit = timeseries_unit(metric)
    ax.set_xlabel("Month")
    ax.set_ylabel(axis_label(f"Difference, {name} − base", unit))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if unit.startswith("cu"):
        _thousands(ax)
    replications = int(table["replication"].nunique())
    ax.set_title(
        f"{timeseries_name(metric)}: {name} − {comparison.runs[0].scenario.name}, "
        f"month by month (mean of {replications} paired replications)"
    )
    ax.legend()
    return fig


# ------------------------------------------------------------------- privacy risk


def incident_risk(
    scenario: Scenario,
    governance_levels: Sequence[float] = tuple(np.linspace(0.0, MAX_LEVEL, 21)),
    months: int | None = None,
) -> pd.DataFrame:
    """The chance of a privacy incident by governance level, at the personalisation the
    scenario's technology and customer understanding allow (docs/model.md §12), with its
    capability levels held fixed (closed form, as if personalisation were enabled).

    Args:
        scenario: its capabilities and `firm.personalisation` settings.
        governance_levels: governance levels, 0–5.
        months: the horizon (default: the scenario's).

    Returns:
        One row per governance level: ``governance`` (level), ``personalisation`` (Π, 0–1),
        ``incident_per_month`` (probability), ``expected_incidents`` (over the horizon) and
        ``chance_of_any`` (probability of at least one incident within the horizon).

    Raises:
        ValueError: a level outside 0–5 or a horizon below one month.
    """
    levels = np.asarray(governance_levels, dtype=float)
    if levels.size == 0 or np.any((levels < 0) | (levels > MAX_LEVEL)):
        raise ValueError(f"governance levels must lie in 0–{MAX_LEVEL:g}, got {list(levels)}")
    horizon = scenario.months if months is None else int(months)
    if horizon < 1:
        raise ValueError(f"the horizon must be at least one month, got {horizon}")
    firm, p = scenario.firm, scenario.firm.personalisation
    level = firm.capabilities["technology"] * firm.capabilities["customer_understanding"]
    personalisation = level / (MAX_LEVEL * MAX_LEVEL)
    rows = []
    for governance in levels:
        chance = rules.privacy_incident_probability(
            p.incident_per_month,
            personalisation,
            governance - firm.reference_level,
            p.governance_protection,
        )
        rows.append(
            (
                float(governance),
                personalisation,
                chance,
                chance * horizon,
                1.0 - (1.0 - chance) ** horizon,
            )
        )
    columns = ["governance", "personalisation", "incident_per_month"]
    return pd.DataFrame(rows, columns=[*columns, "expected_incidents", "chance_of_any"])


def privacy_tradeoff(risk: pd.DataFrame, gain: float, incident_cost: float) -> Figure:
    """Personalisation's gain against the expected cost of its incidents, by governance.

    Args:
        risk: what `incident_risk` returns.
        gain: personalisation's profit NPV gain without incidents, cu (present value).
        incident_cost: the profit NPV one incident costs, cu (present value), positive.

    Returns:
        A figure with two axes side by side, x the governance level (0–5): on the left the
        chance of at least one incident within the horizon (0–1); on the right the gain, the
        expected cost of incidents (expected incidents × `incident_cost`) and the expected
        net value (gain − expected cost), in cu of present value.

    Raises:
        ValueError: `risk` lacks a column of `incident_risk`.
    """
    needed = ["governance", "chance_of_any", "expected_incidents"]
    missing = [c for c in needed if c not in risk]
    if missing:
        raise ValueError(f"the risk table lacks {', '.join(missing)}: use incident_risk")
    risk = risk.sort_values("governance")
    governance = risk["governance"].to_numpy()
    expected_cost = risk["expected_incidents"].to_numpy() * incident_cost
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    left.plot(governance, risk["chance_of_any"], color="tab:red")
    left.set_ylim(0, 1)
    left.set_xlabel("Governance level (0–5)")
    left.set_ylabel(axis_label("Chance of at least one incident", "share, 0–1"))
    left.set_title("Privacy risk over the horizon")
    right.axhline(gain, color="tab:green", label="gain without incidents")
    right.plot(governance, expected_cost, color="tab:red", label="expected cost of incidents")
    right.plot(governance, gain - expected_cost, color="black", label="expected net value")
    right.axhline(0.0, color="grey", linewidth=0.8)
    right.set_xlabel("Governance level (0–5)")
    right.set_ylabel(axis_label("Profit NPV", "cu, present value"))
    right.set_title("Personalisation: gain against expected incident cost")
    _thousands(right)
    right.legend()
    return fig
