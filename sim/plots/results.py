"""Figures of runs and comparisons: what a run's tables and a paired comparison show.

Each function takes what `sim.run` returns (a `RunResult`) or what `sim.compare` returns (a
`Comparison`), reads its tidy tables (docs/model.md §13) and returns a
`matplotlib.figure.Figure` built without pyplot, so nothing enters pyplot's global state and
no display is needed: a notebook shows the returned figure, a script saves it with
``fig.savefig(path)``.

- `time_series`: one metric month by month, mean across replications with its 95% band, one
  line per scenario;
- `forest`: paired differences alternative − base with their 95% intervals;
- `profit_waterfall`: where an alternative's profit NPV difference comes from, line by line;
- `roi_payback`: ROI and payback month of an alternative's extra investment, replication by
  replication;
- `j_curve`: the cumulative incremental NPV month by month, with its 95% band;
- `tornado`: how an outcome moves when each assumption is changed on its own (a
  one-at-a-time study's low and high results around the base case);
- `touchpoint_heatmap`: a touchpoint metric by touchpoint and month;
- `journey_funnel`: interactions per month at each stage of the journey;
- `budget_splits`: how several splits of one budget share it out over the capabilities.

The tables behind the figures are functions too: `monthly_interval`, `waterfall_steps`,
`incremental_npv_by_month`, `touchpoint_matrix` and `stage_reach`.

Units: "cu" is the scenario's currency; amounts "cu (present value)" are discounted to the
start as the project discounts profit NPV (each month's ``discount_factor``); shares are 0–1;
NPS is in points from −100 to 100; months are counted from 1. Bands and whiskers are Student-t
95% intervals across replications (`sim.stats.mean_interval`).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from sim.experiments.runs import Comparison, RunResult, investment_returns
from sim.market import FIRM_COLUMN
from sim.metrics import FIRM_COST_LINES, MARKET_COST_LINES, present_value
from sim.plots.labels import (
    COST_NAMES,
    axis_label,
    outcome_name,
    outcome_unit,
    plain,
    timeseries_name,
    timeseries_unit,
)
from sim.scenario import STAGES
from sim.scenario.firm import CAPABILITIES
from sim.stats import mean_interval

_TOUCHPOINT_VALUES = {
    "satisfaction": ("Mean transaction satisfaction", "quality scale, 0–1", "RdYlGn"),
    "perceived_quality": ("Mean perceived quality", "quality scale, 0–1", "RdYlGn"),
    "delivered_quality": ("Delivered quality", "quality scale, 0–1", "RdYlGn"),
    "experiences": ("Interactions", "interactions per month", "Blues"),
    "problems": ("Problems created", "problems per month", "OrRd"),
}
"""Name, unit and colour map of each value of the touchpoint table (docs/model.md §13.4)."""

__all__ = [
    "FOREST_METRICS",
    "TORNADO_COLUMNS",
    "budget_splits",
    "draw_band",
    "forest",
    "incremental_npv_by_month",
    "j_curve",
    "journey_funnel",
    "monthly_interval",
    "profit_waterfall",
    "roi_payback",
    "stage_reach",
    "time_series",
    "tornado",
    "touchpoint_heatmap",
    "touchpoint_matrix",
    "waterfall_steps",
]

FOREST_METRICS = ("profit_npv", "revenue_total", "retention_of_initial", "nps_true")
"""The outcomes `forest` shows unless told otherwise."""

_BAND_ALPHA = 0.2


def _wrapped(text: str, fig: Figure, size: float = 12.0) -> str:
    """`text` broken into lines that fit the figure's width (at about `size` points)."""
    width = int(fig.get_figwidth() * 130 / size)
    return textwrap.fill(text, width=max(30, width))


def _thousands(ax: Axes, axis: str = "y") -> None:
    """Thousands separators on an axis of amounts or counts."""
    formatter = FuncFormatter(lambda value, _: f"{value:,.0f}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(formatter)


# ------------------------------------------------------------------------------ inputs


def _runs(results: RunResult | Comparison | Sequence[RunResult]) -> list[RunResult]:
    """The runs a figure of one or several scenarios draws."""
    if isinstance(results, RunResult):
        return [results]
    if isinstance(results, Comparison):
        return list(results.runs)
    if isinstance(results, Sequence) and not isinstance(results, str):
        runs = list(results)
        if not runs:
            raise ValueError("no run given: pass a RunResult, several, or a Comparison")
        for run in runs:
            if not isinstance(run, RunResult):
                raise TypeError(f"expected RunResult objects, got {type(run).__name__}")
        return runs
    raise TypeError(
        f"expected a RunResult, a sequence of them or a Comparison, got {type(results).__name__}"
    )


def _require_columns(frame: pd.DataFrame, columns: Iterable[str], table: str) -> None:
    """Refuse a table without `columns`.

    Raises:
        ValueError: naming the table and every missing column.
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"the {table} has no column {', '.join(repr(c) for c in missing)} "
            f"(its columns: {', '.join(map(str, frame.columns))})"
        )


def _require_metric(frame: pd.DataFrame, metric: str, table: str) -> None:
    """Refuse a metric that is not a numeric column of `frame`.

    Raises:
        ValueError: naming the metric, the table and the metrics it has.
    """
    numeric = [
        c
        for c in frame.columns
        if c not in ("replication", "seed", "month") and pd.api.types.is_numeric_dtype(frame[c])
    ]
    if metric not in numeric:
        raise ValueError(
            f"unknown metric {metric!r}: the {table} has no such numeric column; "
            f"choose one of {', '.join(numeric)}"
        )


def _checked_comparison(comparison: Comparison) -> Comparison:
    if not isinstance(comparison, Comparison):
        raise TypeError(f"expected a Comparison (sim.compare), got {type(comparison).__name__}")
    if len(comparison.runs) < 2:
        raise ValueError("the comparison has no alternative scenario, only its base")
    return comparison


def _pair(comparison: Comparison, alternative: str | None) -> tuple[RunResult, RunResult]:
    """The base run and the named alternative's run (the first alternative by default).

    Raises:
        ValueError: no such alternative in the comparison, naming the ones it has.
    """
    comparison = _checked_comparison(comparison)
    base, *alternatives = comparison.runs
    if alternative is None:
        return base, alternatives[0]
    for run in alternatives:
        if run.scenario.name == alternative:
            return base, run
    names = ", ".join(repr(run.scenario.name) for run in alternatives)
    raise ValueError(
        f"unknown alternative scenario {alternative!r}: the comparison's alternatives are "
        f"{names} (its base is {base.scenario.name!r})"
    )


def _by_replication(run: RunResult, columns: Sequence[str]) -> dict[int, pd.DataFrame]:
    """A run's time series, one frame per replication in month order."""
    _require_columns(run.timeseries, ["replication", "month", *columns], "time series")
    return {
        int(r): part.sort_values("month").reset_index(drop=True)
        for r, part in run.timeseries.groupby("replication", sort=True)
    }


def _paired_series(
    base: RunResult, alternative: RunResult, columns: Sequence[str]
) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """The two runs' time series, replication by replication (common random numbers).

    Raises:
        ValueError: the runs do not hold the same replications and months.
    """
    base_series = _by_replication(base, columns)
    alt_series = _by_replication(alternative, columns)
    if set(base_series) != set(alt_series):
        raise ValueError(
            f"the runs of {base.scenario.name!r} and {alternative.scenario.name!r} hold "
            f"different replications ({sorted(base_series)} and {sorted(alt_series)})"
        )
    pairs = []
    for r in sorted(base_series):
        b, a = base_series[r], alt_series[r]
        if not np.array_equal(b["month"].to_numpy(), a["month"].to_numpy()):
            raise ValueError(
                f"replication {r} of {base.scenario.name!r} and {alternative.scenario.name!r} "
                "covers different months"
            )
        pairs.append((b, a))
    return pairs


def monthly_interval(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Mean and 95% t-interval of `column` across replications, month by month.

    Args:
        frame: a table with a ``month`` column and one row per replication × month (a time
            series, or `incremental_npv_by_month`).
        column: the numeric column.

    Returns:
        One row per month (the index, ascending) with columns mean, sd, ci_low, ci_high, n
        (`sim.stats.mean_interval`; NaN values are left out, as in the summaries).
    """
    rows = {
        int(month): mean_interval(part[column]) for month, part in frame.groupby("month", sort=True)
    }
    return pd.DataFrame.from_dict(rows, orient="index")


def draw_band(
    ax: Axes, band: pd.DataFrame, label: str, band_label: str | None = None, **line: object
) -> None:
    """Draw a mean line and its shaded 95% band on `ax`, in the line's colour.

    Args:
        ax: the axes.
        band: one row per x value (the index) with columns mean, ci_low and ci_high (as
            `monthly_interval` gives); rows whose interval is NaN (one replication) leave a
            gap in the band only.
        label: the line's legend entry.
        band_label: the band's legend entry (None: not in the legend).
        **line: further keywords for the line (`Axes.plot`).
    """
    (drawn,) = ax.plot(band.index, band["mean"], label=label, **line)
    ax.fill_between(
        band.index,
        band["ci_low"],
        band["ci_high"],
        color=drawn.get_color(),
        alpha=_BAND_ALPHA,
        linewidth=0,
        label=band_label if band_label is not None else f"_{label}: 95% interval",
    )


# ------------------------------------------------------------------------------ figures


def time_series(results: RunResult | Comparison | Sequence[RunResult], metric: str) -> Figure:
    """One metric month by month: the mean across replications with its 95% band.

    Shows one line per scenario (each `RunResult` given, or every run of a `Comparison`,
    base first; with several firms, one per firm of each), the mean of the metric over the
    scenario's replications in each month, and a shaded band for the Student-t 95% interval
    of that mean across replications
    (`monthly_interval`). Months in which a replication has no value (e.g. a measured NPS
    with no respondents) average the replications that have one.

    Args:
        results: a run (`sim.run`), several runs, or a comparison (`sim.compare`).
        metric: a numeric column of the time series (``RunResult.timeseries``, one row per
            replication × month; docs/model.md §13.3), e.g. ``"active"``, ``"revenue"``,
            ``"nps_true"``, ``"churn_rate"``.

    Returns:
        A figure with one axes: x the month (months, from 1), y the metric in its unit
        (customers, cu, NPS points, shares 0–1, …); a legend names the scenarios when there
        are several.

    Raises:
        ValueError: the metric is not a numeric column of a run's time series (the message
            lists the ones there are), or no run is given.
        TypeError: `results` is not a run, runs or a comparison.
    """
    runs = _runs(results)
    for run in runs:
        _require_columns(run.timeseries, ["replication", "month"], "time series")
        _require_metric(run.timeseries, metric, f"time series of {run.scenario.name!r}")
    fig = Figure(figsize=(9, 4.5), layout="constrained")
    ax = fig.subplots()
    lines = [line for run in runs for line in _lines(run, len(runs) > 1)]
    for label, series in lines:
        draw_band(ax, monthly_interval(series, metric), label, f"_{label}: 95% interval")
    name, unit = timeseries_name(metric), timeseries_unit(metric)
    ax.set_xlabel("Month")
    ax.set_ylabel(axis_label(name, unit))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if unit.startswith("cu"):
        _thousands(ax)
    replications = sorted({int(run.timeseries["replication"].nunique()) for run in runs})
    counted = " or ".join(map(str, replications))
    if len(lines) == 1:
        ax.set_title(
            f"{name} in {runs[0].scenario.name}: mean of {counted} replications, 95% interval"
        )
    elif len(runs) == 1:
        ax.set_title(
            f"{name} in {runs[0].scenario.name}, by firm: mean of {counted} replications, "
            "95% interval"
        )
        ax.legend(title="Firm")
    else:
        ax.set_title(f"{name}: mean of {counted} replications per scenario, 95% interval")
        ax.legend(title="Scenario")
    return fig


def _lines(run: RunResult, named: bool) -> list[tuple[str, pd.DataFrame]]:
    """The lines a run draws: its time series, or each firm's with several firms (labelled
    by the firm, after the scenario when `named`)."""
    series = run.timeseries
    if FIRM_COLUMN not in series.columns:
        return [(run.scenario.name, series)]
    prefix = f"{run.scenario.name}: " if named else ""
    return [(f"{prefix}{firm}", part) for firm, part in series.groupby(FIRM_COLUMN, sort=False)]


def forest(comparison: Comparison, metrics: str | Sequence[str] = FOREST_METRICS) -> Figure:
    """Paired differences alternative − base, each with its 95% interval, one panel per metric.

    Reads ``Comparison.summary`` (one row per alternative × outcome: ``difference``, the mean
    over replications of the paired difference alternative − base, and its Student-t 95%
    interval ``ci_low``–``ci_high`` over the ``n`` replications where it is defined). Each
    panel shows one metric: a point and whiskers per alternative, and a vertical line at 0
    (no difference; break-even for ROI; none for the payback month, which is a month, not a
    difference). An interval that does not cross 0 is a difference the replications agree
    on. A difference defined in no replication (ROI without extra investment, a
    payback that never comes) is written "n/a" instead of drawn.

    Args:
        comparison: what `sim.compare` returns.
        metrics: one outcome or several from the summary's ``metric`` column (docs/model.md
            §13.6 and §13.2: ``profit_npv``, ``revenue_total``, ``retention_of_initial``,
            ``nps_true``, ``roi``, ``payback_month``, …); default `FOREST_METRICS`.

    Returns:
        A figure with one axes per metric, stacked: x the difference in the metric's unit
        (cu, NPS points, shares 0–1, months, customers, …), y the alternatives by name; the
        panel title names the metric.

    Raises:
        ValueError: a metric the summary does not hold (naming it and listing the ones it
            has), no metric, or a summary without its columns.
        TypeError: `comparison` is not a `Comparison`.
    """
    comparison = _checked_comparison(comparison)
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    if not metrics:
        raise ValueError("forest needs at least one metric")
    summary = comparison.summary
    columns = ["alternative", "metric", "difference", "ci_low", "ci_high", "n"]
    _require_columns(summary, columns, "comparison summary")
    known = list(dict.fromkeys(summary["metric"]))
    unknown = [m for m in metrics if m not in known]
    if unknown:
        raise ValueError(
            f"unknown metric {', '.join(map(repr, unknown))}: the comparison summary has "
            f"{', '.join(known)}"
        )
    alternatives = [run.scenario.name for run in comparison.runs[1:]]
    replications = int(comparison.runs[0].outcomes["replication"].nunique())
    height = 1.0 + len(metrics) * (0.9 + 0.35 * len(alternatives))
    fig = Figure(figsize=(8, height), layout="constrained")
    axes = fig.subplots(len(metrics), 1, squeeze=False)[:, 0]
    for ax, metric in zip(axes, metrics, strict=True):
        rows = summary[summary["metric"] == metric].set_index("alternative").reindex(alternatives)
        y = np.arange(len(alternatives))
        difference = rows["difference"].to_numpy(dtype=float)
        low, high = rows["ci_low"].to_numpy(dtype=float), rows["ci_high"].to_numpy(dtype=float)
        ax.errorbar(
            difference,
            y,
            xerr=np.vstack([difference - low, high - difference]),
            fmt="o",
            capsize=4,
            color="tab:blue",
            label="mean paired difference, 95% interval",
        )
        if metric != "payback_month":  # 0: no difference, or break-even for ROI
            ax.axvline(0.0, color="black", linewidth=0.8)
        labels = []
        for i, name in enumerate(alternatives):
            n = rows["n"].iloc[i]
            n = 0 if pd.isna(n) else int(n)
            if np.isnan(difference[i]):
                ax.text(
                    0.02,
                    y[i],
                    "n/a: defined in no replication",
                    va="center",
                    fontsize=9,
                    transform=ax.get_yaxis_transform(),
                )
            labels.append(name if n >= replications else f"{name} ({n} of {replications})")
        ax.set_yticks(y, labels=labels)
        ax.set_ylim(len(alternatives) - 0.5, -0.5)
        name, unit = outcome_name(metric), outcome_unit(metric)
        ax.set_title(name)
        if metric == "roi":  # a measure of the pair, not a difference of two values
            ax.set_xlabel("Net return per cu of extra investment (present value)")
        elif metric == "payback_month":
            ax.set_xlabel("Month")
        else:
            ax.set_xlabel(axis_label("Difference, alternative − base", unit))
        if unit.startswith("cu"):
            _thousands(ax, "x")
    fig.suptitle(
        f"Paired differences against {comparison.runs[0].scenario.name}: "
        f"mean over {replications} replications, 95% interval"
    )
    return fig


def waterfall_steps(comparison: Comparison, alternative: str | None = None) -> pd.DataFrame:
    """The steps of `profit_waterfall`, replication by replication.

    Each step is a present-value difference alternative − base over the whole run, in cu:
    ``revenue``, ``cost_of_sales`` (revenue less margin, as a negative amount when it grows),
    then every cost line (each ``*_cost`` column of the time series but ``total_cost``, a
    rise in cost being negative); their sum is ``profit_npv``, the difference of the profit
    NPVs (`sim.experiments.runs.investment_returns`).

    Returns:
        One row per replication (the index), one column per step then ``profit_npv``.

    Raises:
        ValueError: the alternative is unknown, a time series lacks a column it needs, or
            the cost lines do not add up to the profit difference.
    """
    base, alt = _pair(comparison, alternative)
    columns = [c for c in alt.timeseries.columns if c.endswith("_cost") and c != "total_cost"]
    declared = [c for c in (*MARKET_COST_LINES, *FIRM_COST_LINES) if c in columns]
    lines = declared + [c for c in columns if c not in declared]
    needed = ["revenue", "margin", "profit", "discount_factor", "investment_cost", *lines]
    rows = {}
    for b, a in _paired_series(base, alt, needed):
        replication = int(a["replication"].iloc[0])
        row = {  # a cost is a step down when it grows: base − alternative
            "revenue": present_value(a, "revenue") - present_value(b, "revenue"),
            "cost_of_sales": (present_value(b, "revenue") - present_value(b, "margin"))
            - (present_value(a, "revenue") - present_value(a, "margin")),
        }
        for line in lines:
            row[line] = present_value(b, line) - present_value(a, line)
        row["profit_npv"] = investment_returns(b, a)["incremental_npv"]
        gap = abs(sum(v for k, v in row.items() if k != "profit_npv") - row["profit_npv"])
        scale = max(1.0, *(abs(v) for v in row.values()))
        if gap > 1e-6 * scale:
            raise ValueError(
                f"replication {replication}: margin less the cost lines ({', '.join(lines)}) "
                f"differs from the profit difference by {gap:,.2f} cu; the time series' cost "
                "lines do not add up to its profit"
            )
        rows[replication] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def profit_waterfall(comparison: Comparison, alternative: str | None = None) -> Figure:
    """Where an alternative's profit NPV difference against the base comes from.

    A waterfall over the whole run, each bar a present-value difference alternative − base
    in cu, the mean over replications (`waterfall_steps`): the revenue difference, the
    cost of sales (revenue less gross margin), then each cost line of the time series (a
    cost that grows is a bar downwards), ending at the profit NPV difference, so the
    floating bars add up to the last one (the ``profit_npv`` difference of
    ``Comparison.summary``). Whiskers are the 95% interval of each step across
    replications. Cost lines that are the same in both scenarios in every replication are
    left out and named under the chart. Amounts are discounted with the runs' own
    ``discount_factor`` column, as profit NPV is (docs/model.md §13.1).

    Args:
        comparison: what `sim.compare` returns; the time series of the base and the
            alternative need ``revenue``, ``margin``, ``profit``, ``discount_factor`` and
            the ``*_cost`` columns.
        alternative: the alternative scenario's name (default: the first alternative).

    Returns:
        A figure with one axes: x the steps (revenue, cost of sales, cost lines, profit
        NPV), y the difference in cu (present value).

    Raises:
        ValueError: an unknown alternative (naming the ones there are), a missing column,
            or cost lines that do not add up to profit.
        TypeError: `comparison` is not a `Comparison`.
    """
    base, alt = _pair(comparison, alternative)
    steps = waterfall_steps(comparison, alt.scenario.name)
    parts = [c for c in steps.columns if c != "profit_npv"]
    unchanged = [c for c in parts if c.endswith("_cost") and (steps[c] == 0.0).all()]
    shown = [c for c in parts if c not in unchanged]
    intervals = {c: mean_interval(steps[c]) for c in [*shown, "profit_npv"]}
    heights = np.array([intervals[c]["mean"] for c in shown])
    bottoms = np.concatenate([[0.0], np.cumsum(heights)[:-1]])
    names = {"revenue": "Revenue", "cost_of_sales": "Cost of sales", **COST_NAMES}
    fig = Figure(figsize=(max(7.0, 1.0 + 0.75 * (len(shown) + 1)), 5), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(shown))
    colours = ["tab:green" if h >= 0 else "tab:red" for h in heights]
    ax.bar(x, heights, bottom=bottoms, color=colours, label="steps")
    total = intervals["profit_npv"]
    ax.bar([len(shown)], [total["mean"]], color="tab:blue", label="profit NPV difference")
    ends = np.concatenate([bottoms + heights, [total["mean"]]])
    half = [intervals[c]["ci_high"] - intervals[c]["mean"] for c in [*shown, "profit_npv"]]
    ax.errorbar(np.arange(len(shown) + 1), ends, yerr=half, fmt="none", ecolor="black", capsize=3)
    for i in range(len(shown)):  # connectors from one step to the next
        ax.plot([i + 0.4, i + 0.6], [ends[i], ends[i]], color="grey", linewidth=0.8)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_xticks(
        np.arange(len(shown) + 1),
        labels=[names.get(c, plain(c)) for c in shown] + ["Profit NPV"],
        rotation=35,
        ha="right",
    )
    ax.set_ylabel("Difference, alternative − base (cu, present value)")
    _thousands(ax)
    replications = len(steps)
    ax.set_title(
        _wrapped(
            f"Profit NPV difference, {alt.scenario.name} − {base.scenario.name}, by line "
            f"(mean of {replications} replications, 95% interval)",
            fig,
        )
    )
    if unchanged:
        unchanged_names = ", ".join(names.get(c, plain(c)).lower() for c in unchanged)
        ax.set_xlabel(_wrapped(f"No difference in: {unchanged_names}", fig, 10))
    return fig


def roi_payback(comparison: Comparison, alternative: str | None = None) -> Figure:
    """ROI and payback month of an alternative's extra investment, replication by replication.

    Reads ``Comparison.paired`` (one row per alternative × replication; docs/model.md §13.2):
    ``roi`` (net return per cu of extra investment, both in present value; undefined when
    the alternative invests no more than the base) and ``payback_month`` (the first month
    from which the cumulative extra profit stays at or above 0; undefined when it is below 0
    at the horizon). The left panel is a histogram of the ROIs with break-even (0), their
    mean and its 95% interval; the right panel counts the replications that paid back in
    each month and, in a separate grey bar, those that never did within the horizon.

    Args:
        comparison: what `sim.compare` returns.
        alternative: the alternative scenario's name (default: the first alternative).

    Returns:
        A figure with two axes: ROI (x: net return per cu of extra investment; y:
        replications) and payback (x: month, with a "never" bar; y: replications).

    Raises:
        ValueError: an unknown alternative, or a paired table without ``roi`` or
            ``payback_month``.
        TypeError: `comparison` is not a `Comparison`.
    """
    base, alt = _pair(comparison, alternative)
    _require_columns(
        comparison.paired, ["alternative", "replication", "roi", "payback_month"], "paired table"
    )
    rows = comparison.paired[comparison.paired["alternative"] == alt.scenario.name]
    replications = len(rows)
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    roi_ax, payback_ax = fig.subplots(1, 2)

    roi = rows["roi"].to_numpy(dtype=float)
    defined = roi[~np.isnan(roi)]
    roi_ax.set_xlabel("ROI: net return per cu of extra investment (present value)")
    roi_ax.set_ylabel("Replications")
    roi_ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if len(defined):
        bins = max(5, min(20, int(np.sqrt(len(defined))) + 1))
        roi_ax.hist(defined, bins=bins, color="tab:blue", alpha=0.8, zorder=2)
        roi_ax.plot(
            defined,
            np.zeros(len(defined)),
            "|",
            color="black",
            markersize=12,
            zorder=3,
            label="one replication",
        )
        summary = mean_interval(defined)
        roi_ax.axvspan(
            summary["ci_low"],
            summary["ci_high"],
            color="tab:orange",
            alpha=0.15,
            zorder=0,
            label="95% interval of the mean",
        )
        roi_ax.axvline(summary["mean"], color="tab:orange", label=f"mean {summary['mean']:.2f}")
        roi_ax.axvline(0.0, color="black", linewidth=0.8, linestyle="--", label="break-even")
        roi_ax.set_ylim(0, roi_ax.get_ylim()[1] * 1.3)  # room for the legend
        roi_ax.legend(fontsize=8)
        roi_ax.set_title(f"ROI ({len(defined)} of {replications} replications)")
    else:
        roi_ax.text(
            0.5,
            0.5,
            "No ROI: the alternative invests\nno more than the base",
            ha="center",
            va="center",
            transform=roi_ax.transAxes,
        )
        roi_ax.set_title("ROI (not defined)")

    payback = rows["payback_month"].to_numpy(dtype=float)
    paid = payback[~np.isnan(payback)]
    never = replications - len(paid)
    horizon = int(alt.timeseries["month"].max())
    months, counts = np.unique(paid.astype(int), return_counts=True)
    payback_ax.bar(months, counts, width=0.8, color="tab:green", label="paid back in this month")
    never_at = horizon + max(2, horizon // 10)
    payback_ax.bar(
        [never_at], [never], width=0.8 * max(1, horizon // 20), color="grey", label="never"
    )
    payback_ax.annotate(
        f"{never} of {replications}",
        (never_at, never),
        textcoords="offset points",
        xytext=(0, 3),
        ha="center",
        fontsize=9,
    )
    ticks = [int(t) for t in MaxNLocator(nbins=6, integer=True).tick_values(1, horizon)]
    ticks = [t for t in ticks if 1 <= t <= horizon]
    payback_ax.set_xticks([*ticks, never_at], labels=[*map(str, ticks), "never"])
    payback_ax.set_xlim(0, never_at + max(1.5, horizon // 15))
    payback_ax.set_ylim(0, max([never, *counts, 1]) * 1.15)
    payback_ax.set_xlabel("Payback month (cumulative extra profit stays ≥ 0 from then on)")
    payback_ax.set_ylabel("Replications")
    payback_ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    payback_ax.set_title(f"Payback ({len(paid)} of {replications} replications paid back)")
    fig.suptitle(f"Returns of {alt.scenario.name}'s extra investment over {base.scenario.name}")
    return fig


def incremental_npv_by_month(
    comparison: Comparison, alternative: str | None = None
) -> pd.DataFrame:
    """The cumulative incremental NPV of an alternative, replication by replication.

    Month t's value is Σ_{τ ≤ t} (profit_τ(alternative) − profit_τ(base)) · DF_τ, in cu
    (present value), with the runs' ``discount_factor``; at the horizon it is the paired
    ``profit_npv`` difference.

    Returns:
        One row per replication × month: ``replication``, ``month``, ``incremental_npv``.
    """
    base, alt = _pair(comparison, alternative)
    frames = []
    for b, a in _paired_series(base, alt, ["profit", "discount_factor"]):
        gain = (a["profit"].to_numpy() - b["profit"].to_numpy()) * a["discount_factor"].to_numpy()
        frames.append(
            pd.DataFrame(
                {
                    "replication": a["replication"].to_numpy(),
                    "month": a["month"].to_numpy(),
                    "incremental_npv": np.cumsum(gain),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def j_curve(comparison: Comparison, alternative: str | None = None) -> Figure:
    """The J-curve: cumulative incremental NPV of an alternative, month by month.

    The line is the mean across replications of the cumulative discounted profit difference
    alternative − base to each month (`incremental_npv_by_month`), the band its 95%
    interval; a horizontal line marks 0. An investment dips below 0 while it is paid for and
    climbs as its returns arrive; the last point is the profit NPV difference. When
    replications pay back, a vertical line marks the mean payback month of
    ``Comparison.summary`` (the first month from which the undiscounted cumulative extra
    profit stays at or above 0, docs/model.md §13.2; so it can come a little before the
    discounted curve crosses 0).

    Args:
        comparison: what `sim.compare` returns; the time series need ``profit`` and
            ``discount_factor``.
        alternative: the alternative scenario's name (default: the first alternative).

    Returns:
        A figure with one axes: x the month (months), y the cumulative difference in cu
        (present value).

    Raises:
        ValueError: an unknown alternative, or time series without those columns.
        TypeError: `comparison` is not a `Comparison`.
    """
    base, alt = _pair(comparison, alternative)
    curve = incremental_npv_by_month(comparison, alt.scenario.name)
    band = monthly_interval(curve, "incremental_npv")
    replications = int(curve["replication"].nunique())
    fig = Figure(figsize=(9, 4.5), layout="constrained")
    ax = fig.subplots()
    ax.plot(band.index, band["mean"], color="tab:blue", label="mean cumulative difference")
    ax.fill_between(
        band.index,
        band["ci_low"],
        band["ci_high"],
        color="tab:blue",
        alpha=_BAND_ALPHA,
        linewidth=0,
        label="95% interval",
    )
    ax.axhline(0.0, color="black", linewidth=0.8)
    summary = comparison.summary
    row = summary[
        (summary["alternative"] == alt.scenario.name) & (summary["metric"] == "payback_month")
    ]
    if len(row) and int(row["n"].iloc[0]) > 0:
        month, paid = float(row["difference"].iloc[0]), int(row["n"].iloc[0])
        ax.axvline(
            month,
            color="tab:green",
            linestyle="--",
            label=f"payback month {month:.1f} (mean of {paid} of {replications} replications)",
        )
    else:
        ax.plot([], [], " ", label="no payback within the horizon")
    ax.set_xlabel("Month")
    ax.set_ylabel("Cumulative extra profit (cu, present value)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _thousands(ax)
    ax.set_title(
        _wrapped(
            f"J-curve: cumulative incremental NPV, {alt.scenario.name} − {base.scenario.name} "
            f"({replications} replications)",
            fig,
        )
    )
    ax.legend(fontsize=9)
    return fig


TORNADO_COLUMNS = ("assumption", "low_value", "high_value", "low", "high")
"""The columns of the table `tornado` draws, one row per assumption."""
_TORNADO_BAR = 0.38
"""Height of each of a tornado row's two bars (rows are 1 apart)."""


def _setting(value: float) -> str:
    """An assumption's value as a bar label: thousands separated, small numbers to 4 digits."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def tornado(
    study: pd.DataFrame,
    base: float,
    metric: str = "profit_npv",
    paired: bool = True,
    title: str | None = None,
) -> Figure:
    """A tornado diagram: how an outcome moves when each assumption is changed on its own.

    A one-at-a-time study sets each assumption to a low and a high value while every other
    one keeps its base value, and records the outcome at each (for a comparison, the paired
    difference alternative − base on common random numbers, so the bars show the
    assumption's effect rather than noise). Each assumption is one row of two horizontal
    bars that start at `base`, the outcome with every assumption at its base value: the
    upper one ends at the outcome with the assumption at its low value, the lower one at
    its high value; the row's label names the assumption and the two values it was set to.
    Rows are sorted by swing (``|high − low|``), the widest at the top, so the assumptions
    that matter most stand out; a vertical line marks `base`. The figure draws the numbers
    it is given and computes none.

    Args:
        study: one row per assumption, with the columns of `TORNADO_COLUMNS`:
            ``assumption`` (its name as shown, unique), ``low_value`` and ``high_value``
            (the values it was set to, in its own unit), ``low`` and ``high`` (the outcome
            at each, in the outcome's unit).
        base: the outcome with every assumption at its base value.
        metric: the outcome, for the axis label (an outcome of ``Comparison.summary``,
            e.g. ``"profit_npv"``, ``"nps_true"``, ``"roi"``; docs/model.md §13.6).
        paired: the values are differences alternative − base (the axis says so).
        title: the figure's title (default: names the outcome and the number of
            assumptions).

    Returns:
        A figure with one axes: x the outcome in its unit (cu, present value, for money),
        y the assumptions.

    Raises:
        ValueError: a missing column, no row, an assumption named twice, or a base or an
            outcome that is not a finite number (naming the assumption).
        TypeError: `study` is not a DataFrame.
    """
    if not isinstance(study, pd.DataFrame):
        raise TypeError(f"expected a DataFrame of the study, got {type(study).__name__}")
    _require_columns(study, TORNADO_COLUMNS, "tornado table")
    if study.empty:
        raise ValueError("the tornado table has no row: give one row per assumption")
    names = study["assumption"].astype(str)
    if names.duplicated().any():
        twice = ", ".join(repr(n) for n in dict.fromkeys(names[names.duplicated()]))
        raise ValueError(f"the tornado table names an assumption more than once: {twice}")
    if not np.isfinite(float(base)):
        raise ValueError(f"base: got {base!r}; give the outcome at the base values (a number)")
    for name, low, high in zip(names, study["low"], study["high"], strict=True):
        if not (np.isfinite(float(low)) and np.isfinite(float(high))):
            raise ValueError(
                f"assumption {name!r}: the outcome is not a number at its low or high value "
                f"(low {low!r}, high {high!r})"
            )
    base = float(base)
    rows = study.assign(
        assumption=names, swing=(study["high"] - study["low"]).abs().astype(float)
    ).sort_values("swing", ascending=False, kind="stable")
    y = np.arange(len(rows))
    low, high = rows["low"].to_numpy(dtype=float), rows["high"].to_numpy(dtype=float)
    fig = Figure(figsize=(9, 1.6 + 0.6 * len(rows)), layout="constrained")
    ax = fig.subplots()
    half = _TORNADO_BAR / 2
    ax.barh(
        y - half,
        low - base,
        left=base,
        height=_TORNADO_BAR,
        color="tab:orange",
        label="assumption at its low value",
    )
    ax.barh(
        y + half,
        high - base,
        left=base,
        height=_TORNADO_BAR,
        color="tab:blue",
        label="assumption at its high value",
    )
    ax.axvline(base, color="black", linewidth=0.8, label=f"base case ({_setting(base)})")
    labels = [
        f"{row.assumption}\n(low {_setting(float(row.low_value))}, "
        f"high {_setting(float(row.high_value))})"
        for row in rows.itertuples(index=False)
    ]
    ax.set_yticks(y, labels=labels)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    name, unit = outcome_name(metric), outcome_unit(metric)
    shown = f"{name}, alternative − base" if paired else name
    ax.set_xlabel(axis_label(shown, unit))
    if unit.startswith("cu"):
        _thousands(ax, "x")
    ax.legend(fontsize=8)
    ax.set_title(
        _wrapped(
            title
            or f"{shown}: each of {len(rows)} assumptions moved on its own, the others at "
            "their base values",
            fig,
        )
    )
    return fig


def _model_order(result: RunResult) -> list[str]:
    """Touchpoints in the model's order: by stage, then as the scenario lists them; any the
    table holds and the scenario does not, after them."""
    touchpoints = result.scenario.touchpoints
    order = sorted(touchpoints, key=lambda name: STAGES.index(touchpoints[name].stage))
    return order + [t for t in dict.fromkeys(result.touchpoints["touchpoint"]) if t not in order]


def touchpoint_matrix(result: RunResult, value: str = "satisfaction") -> pd.DataFrame:
    """A touchpoint metric averaged over replications: one row per touchpoint (the model's
    order, every touchpoint of the scenario), one column per month; NaN where no replication
    had an interaction (a touchpoint no journey includes, or a month nobody met it).

    Raises:
        ValueError: `value` is not a numeric column of the touchpoint table.
    """
    if not isinstance(result, RunResult):
        raise TypeError(f"expected a RunResult (sim.run), got {type(result).__name__}")
    table = result.touchpoints
    _require_columns(table, ["touchpoint", "month"], "touchpoint table")
    _require_metric(table, value, "touchpoint table")
    months = sorted(int(m) for m in table["month"].unique())
    means = table.groupby(["touchpoint", "month"])[value].mean().unstack("month")
    return means.reindex(index=_model_order(result), columns=months).astype(float)


def touchpoint_heatmap(result: RunResult, value: str = "satisfaction") -> Figure:
    """A touchpoint metric by touchpoint and month, averaged over replications.

    Reads ``RunResult.touchpoints`` (one row per replication × month × touchpoint;
    docs/model.md §13.4) and averages `value` over the replications for each touchpoint and
    month (`touchpoint_matrix`), skipping replications without an interaction there. Rows
    follow the journey (the model's stage order); grey cells are months in which nobody met
    the touchpoint, and a touchpoint that no segment's journey includes is a grey row
    marked "never met".

    Args:
        result: what `sim.run` returns.
        value: a numeric column of the touchpoint table: ``satisfaction`` (mean transaction
            satisfaction, quality scale 0–1; default), ``perceived_quality``,
            ``delivered_quality`` (quality scale 0–1), ``experiences`` (interactions per
            month) or ``problems`` (problems per month).

    Returns:
        A figure with the heatmap's axes (x the month, y the touchpoints with their stage)
        and its colour bar (the value in its unit).

    Raises:
        ValueError: `value` is not a numeric column of the touchpoint table (listing the
            ones it has).
        TypeError: `result` is not a `RunResult`.
    """
    matrix = touchpoint_matrix(result, value)
    name, unit, cmap = _TOUCHPOINT_VALUES.get(value, (plain(value), "", "viridis"))
    months = matrix.columns.to_numpy(dtype=float)
    fig = Figure(
        figsize=(max(7.0, 3.0 + 0.12 * len(months)), 1.5 + 0.4 * len(matrix)),
        layout="constrained",
    )
    ax = fig.subplots()
    ax.set_facecolor("lightgrey")  # cells without interactions
    x_edges = np.concatenate([months - 0.5, [months[-1] + 0.5]]) if len(months) else [0, 1]
    y_edges = np.arange(len(matrix) + 1) - 0.5
    values = np.ma.masked_invalid(matrix.to_numpy())
    mesh = ax.pcolormesh(x_edges, y_edges, values, cmap=cmap, shading="flat")
    stages = result.scenario.touchpoints
    labels = []
    for touchpoint, row in matrix.iterrows():
        stage = stages[touchpoint].stage if touchpoint in stages else "?"
        never = row.isna().all()
        labels.append(f"{touchpoint} ({stage}{', never met' if never else ''})")
    ax.set_yticks(np.arange(len(matrix)), labels=labels)
    ax.set_ylim(len(matrix) - 0.5, -0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("Month")
    ax.set_ylabel("Touchpoint (stage)")
    replications = int(result.touchpoints["replication"].nunique())
    fig.suptitle(
        _wrapped(
            f"{name} by touchpoint and month, {result.scenario.name} "
            f"(mean of {replications} replications; grey: no interactions)",
            fig,
        )
    )
    fig.colorbar(mesh, ax=ax, label=axis_label(name, unit))
    return fig


def stage_reach(result: RunResult) -> pd.DataFrame:
    """Interactions per month at each touchpoint, with its stage, in the model's order.

    Returns:
        One row per touchpoint: ``touchpoint``, ``stage`` and ``interactions``, the mean of
        ``experiences`` over the replications × months of the touchpoint table.
    """
    if not isinstance(result, RunResult):
        raise TypeError(f"expected a RunResult (sim.run), got {type(result).__name__}")
    table = result.touchpoints
    _require_columns(table, ["touchpoint", "month", "experiences"], "touchpoint table")
    order = _model_order(result)
    cells = table["replication"].nunique() * table["month"].nunique()
    totals = table.groupby("touchpoint")["experiences"].sum().reindex(order).fillna(0.0)
    stages = result.scenario.touchpoints
    return pd.DataFrame(
        {
            "touchpoint": order,
            "stage": [stages[t].stage if t in stages else "?" for t in order],
            "interactions": (totals / cells).to_numpy() if cells else np.zeros(len(order)),
        }
    )


def journey_funnel(result: RunResult) -> Figure:
    """The journey stage by stage: how many interactions each stage has in a month.

    Reads ``RunResult.touchpoints`` (``experiences`` per replication × month × touchpoint;
    docs/model.md §13.4) and shows, for every stage in the model's order (awareness, sales,
    onboarding, delivery, use, support, billing, renewal; `sim.scenario.STAGES`), the mean
    interactions per month over months and replications (`stage_reach`), one horizontal
    bar per stage stacked by its touchpoints. A customer meets a touchpoint at most once a
    month, so a touchpoint's bar is the customers it reaches in a month; a stage with two
    touchpoints (say product use and an account manager) can count a customer twice. The
    dashed line is the mean number of customers active at the start of a month. The
    on-join stages (awareness, sales, onboarding) are met by new customers only and the
    support stage by those with a problem who made contact, so the bars are flows per
    month, not a cohort followed through its life.

    Args:
        result: what `sim.run` returns.

    Returns:
        A figure with one axes: y the stages, top to bottom in journey order; x the
        interactions per month (customers reached per touchpoint).

    Raises:
        ValueError: a touchpoint table without ``touchpoint``, ``month`` or
            ``experiences``.
        TypeError: `result` is not a `RunResult`.
    """
    reach = stage_reach(result)
    stages = list(STAGES) + [s for s in dict.fromkeys(reach["stage"]) if s not in STAGES]
    fig = Figure(figsize=(10, 1.2 + 0.55 * len(stages)), layout="constrained")
    ax = fig.subplots()
    colours = [f"C{i % 10}" for i in range(len(reach))]
    totals = []
    for y, stage in enumerate(stages):
        left = 0.0
        for i in np.flatnonzero(reach["stage"].to_numpy() == stage):
            width = float(reach["interactions"].iloc[i])
            ax.barh(
                y,
                width,
                left=left,
                color=colours[i],
                edgecolor="white",
                label=reach["touchpoint"].iloc[i] + (" (never met)" if width == 0 else ""),
            )
            left += width
        totals.append(left)
    peak = max([*totals, 1.0])
    for y, (stage, total) in enumerate(zip(stages, totals, strict=True)):
        has_touchpoint = (reach["stage"] == stage).any()
        text = f" {total:,.0f}" if has_touchpoint else " no touchpoint at this stage"
        ax.text(total, y, text, va="center", fontsize=9)
    if "active_start" in result.timeseries.columns:
        customers = float(result.timeseries["active_start"].mean())
        ax.axvline(
            customers,
            color="black",
            linestyle="--",
            linewidth=0.8,
            label=f"customers at the start of a month ({customers:,.0f})",
        )
        peak = max(peak, customers)
    ax.set_xlim(0, peak * 1.2)
    ax.set_yticks(np.arange(len(stages)), labels=stages)
    ax.set_ylim(len(stages) - 0.5, -0.5)
    ax.set_xlabel("Interactions per month (mean over months and replications)")
    ax.set_ylabel("Journey stage")
    _thousands(ax, "x")
    ax.set_title(f"The journey stage by stage, {result.scenario.name}")
    ax.legend(title="Touchpoint", fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig


def budget_splits(splits: pd.DataFrame, title: str | None = None) -> Figure:
    """How each of several splits of one budget shares it out over the capabilities.

    One horizontal bar per split, as long as the whole budget (100 %), divided into one
    segment per capability as wide as its share; a segment of at least 8 % is labelled with
    its share. Capabilities keep one colour across the bars (in the order of
    `sim.scenario.firm.CAPABILITIES`), so splits can be compared at a glance. The figure
    draws the shares it is given and computes none.

    Args:
        splits: one row per split, indexed by its name as shown (top to bottom in the
            table's order), one column per capability (names of
            `sim.scenario.firm.CAPABILITIES`), each a share of the budget from 0 to 1; each
            row sums to 1 (within 0.001). E.g. the capability columns of
            `sim.experiments.optimise.AllocationResult.history`, indexed by ``name``.
        title: the figure's title (default: names the number of splits).

    Returns:
        A figure with one axes: x the share of the budget in per cent (0–100), y the splits.

    Raises:
        ValueError: no row or no column, a column that is not a capability, a share that is
            not a number from 0 to 1, or a row that does not sum to 1 (naming it).
        TypeError: `splits` is not a DataFrame.
    """

    if not isinstance(splits, pd.DataFrame):
        raise TypeError(f"expected a DataFrame of splits, got {type(splits).__name__}")
    if splits.empty:
        raise ValueError("the table of splits is empty: give one row per split")
    unknown = [c for c in splits.columns if c not in CAPABILITIES]
    if unknown:
        raise ValueError(
            f"{', '.join(map(repr, unknown))} is not a capability; the columns are "
            f"capabilities: {', '.join(CAPABILITIES)}"
        )
    shares = splits.astype(float)
    values = shares.to_numpy()
    if not np.isfinite(values).all() or (values < 0).any() or (values > 1).any():
        raise ValueError("a share is not a number from 0 to 1")
    totals = shares.sum(axis=1)
    off = totals[(totals - 1.0).abs() > 1e-3]
    if len(off):
        raise ValueError(
            f"split {off.index[0]!r} sums to {off.iloc[0]:.4g}; each split's shares sum to 1"
        )
    columns = [c for c in CAPABILITIES if c in shares.columns]
    colours = {c: f"C{i}" for i, c in enumerate(CAPABILITIES)}
    names = [str(name) for name in shares.index]
    fig = Figure(figsize=(9, 1.8 + 0.45 * len(names)), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(names))
    left = np.zeros(len(names))
    for capability in columns:
        width = 100.0 * shares[capability].to_numpy()
        ax.barh(
            y, width, left=left, height=0.7, color=colours[capability], edgecolor="white",
            label=plain(capability),
        )  # fmt: skip
        for i, w in enumerate(width):
            if w >= 8.0:
                ax.text(left[i] + w / 2, y[i], f"{w:.0f} %", ha="center", va="center",
                        fontsize=8, color="white")  # fmt: skip
        left += width
    ax.set_xlim(0, 100)
    ax.set_yticks(y, labels=names)
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.set_xlabel("Share of the budget (%)")
    ax.legend(title="Capability", fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.set_title(_wrapped(title or f"How {len(names)} splits share out the same budget", fig))
    return fig
