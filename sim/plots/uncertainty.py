"""Figures of a comparison across uncertain assumptions (`sim.experiments.uncertainty`).

- `tornado`: which assumptions move an alternative's answer most — each assumption alone at
  its 5th and 95th percentile, the others at their median, on common random numbers (drawn
  by `sim.plots.results.tornado`).
- `outcome_distribution`: each alternative's paired outcome in every drawn parameter set,
  its median and 5–95 % range, beside the noise interval of the replications at the median
  set — the picture of "how sure are we" against "how precise were the runs".

Both take an `UncertainComparison` and return a `matplotlib.figure.Figure` built without
pyplot. Bad input (an unknown alternative or metric) raises `ValueError` naming what is
allowed.
"""

from __future__ import annotations

import textwrap

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from sim.experiments.uncertainty import SUMMARY_METRICS, TORNADO_METRICS, UncertainComparison
from sim.plots.labels import axis_label, outcome_name, outcome_unit
from sim.plots.results import TORNADO_COLUMNS
from sim.plots.results import tornado as tornado_diagram

__all__ = ["outcome_distribution", "tornado"]

TITLE_CHARACTERS = 90
"""Longest line of a figure's title, in characters."""
_POINT_SPREAD = 0.28
"""Vertical spread of a row's points (rows are 1 apart), so that equal values stay visible."""
_NOISE_OFFSET = 0.36
"""How far below a row's points its noise interval is drawn."""


def tornado(
    result: UncertainComparison, alternative: str | None = None, metric: str = "profit_npv"
) -> Figure:
    """A tornado of one alternative's paired outcome: for each assumption, the outcome with
    it at its 5th and at its 95th percentile and every other assumption at its median,
    around the outcome at the median set; the widest swing on top.

    Args:
        result: the comparison across assumptions.
        alternative: whose answer (default: the first alternative).
        metric: ``profit_npv`` (the incremental NPV, default) or ``roi``.

    Raises:
        ValueError: an unknown alternative or metric, or an outcome that is not a number
            (e.g. ROI where the alternative invests no more than the base).
    """
    alternative = _alternative(result, alternative)
    if metric not in TORNADO_METRICS:
        raise ValueError(f"metric: got {metric!r}; allowed: {', '.join(TORNADO_METRICS)}")
    table = result.tornado
    rows = table[(table["alternative"] == alternative) & (table["metric"] == metric)]
    study = rows.rename(columns={"parameter": "assumption"})[list(TORNADO_COLUMNS)]
    base = result.study.scenarios[0].name
    title = (
        f"{alternative} against {base}: {outcome_name(metric)} with each of {len(rows)} "
        "assumptions alone at its 5th and 95th percentile, the others at their median"
    )
    fig = tornado_diagram(study, float(rows["median"].iloc[0]), metric, True, title)
    # The assumptions' names are long: the title goes above the whole figure, not the axes.
    fig.axes[0].set_title("")
    fig.suptitle(textwrap.fill(title, TITLE_CHARACTERS), fontsize=11)
    return fig


def outcome_distribution(result: UncertainComparison, metric: str = "roi") -> Figure:
    """Each alternative's paired outcome across the drawn parameter sets, one row per
    alternative: a point per set, a bar from the 5th to the 95th percentile with a tick at
    the median, and below it the paired 95 % interval of the replications at the median set
    (the noise). A dotted line marks zero.

    Args:
        result: the comparison across assumptions.
        metric: one of `sim.experiments.uncertainty.SUMMARY_METRICS` (default ``roi``).

    Raises:
        ValueError: an unknown metric.
    """
    if metric not in SUMMARY_METRICS:
        raise ValueError(f"metric: got {metric!r}; allowed: {', '.join(SUMMARY_METRICS)}")
    alternatives = result.alternatives
    summary = result.summary.set_index(["alternative", "metric"])
    fig = Figure(figsize=(9, 1.8 + 1.0 * len(alternatives)), layout="constrained")
    ax = fig.subplots()
    labelled = False
    for i, alternative in enumerate(alternatives):
        values = result.sets.loc[result.sets["alternative"] == alternative, metric]
        values = values.dropna().to_numpy(dtype=np.float64)
        row = summary.loc[(alternative, metric)]
        if len(values) == 0:
            ax.text(
                0.5,
                i,
                "not defined in any set",
                ha="center",
                va="center",
                transform=ax.get_yaxis_transform(),
            )
            continue
        first, labelled = not labelled, True
        # Points spread by their rank, not at random, so the figure is the same every time.
        ranks = np.argsort(np.argsort(values, kind="stable"), kind="stable")
        spread = np.linspace(-_POINT_SPREAD, _POINT_SPREAD, len(values))[ranks] / 2
        ax.scatter(
            values,
            i - 0.1 + spread,
            s=14,
            color="tab:blue",
            alpha=0.6,
            label="one set of assumptions" if first else None,
        )
        ax.plot(
            [row["p05"], row["p95"]],
            [i - 0.1, i - 0.1],
            color="tab:blue",
            linewidth=7,
            alpha=0.25,
            solid_capstyle="butt",
            label="5–95 % across the assumptions" if first else None,
        )
        ax.plot(
            [row["median"]] * 2,
            [i - 0.3, i + 0.1],
            color="tab:blue",
            linewidth=2,
            label="median across the assumptions" if first else None,
        )
        if np.isfinite(row["noise_half_width"]):
            ax.errorbar(
                row["median_set_difference"],
                i + _NOISE_OFFSET,
                xerr=row["noise_half_width"],
                fmt="o",
                color="tab:orange",
                capsize=4,
                markersize=4,
                label="noise: paired 95 % interval at the median set" if first else None,
            )
    ax.axvline(0.0, color="grey", linestyle=":", linewidth=1)
    ax.set_yticks(range(len(alternatives)), labels=alternatives)
    ax.set_ylim(len(alternatives) - 0.4, -0.6)
    shown = outcome_name(metric)
    if metric not in ("roi", "payback_month"):
        shown += ", alternative − base"
    ax.set_xlabel(axis_label(shown, outcome_unit(metric)))
    if outcome_unit(metric).startswith("cu"):
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    if labelled:
        ax.legend(fontsize=8, loc="best")
    study = result.study
    ax.set_title(
        f"{outcome_name(metric)} across {study.samples} sets of assumptions "
        f"({study.uncertainty.spec.name}) against the noise of {study.replications} "
        "replications",
        fontsize=10,
    )
    return fig


def _alternative(result: UncertainComparison, alternative: str | None) -> str:
    if alternative is None:
        return result.alternatives[0]
    if alternative not in result.alternatives:
        allowed = ", ".join(result.alternatives)
        raise ValueError(f"alternative: got {alternative!r}; allowed: {allowed}")
    return alternative
