"""Figures for teaching service: staffing a contact centre, where customers come from, and
how scenarios rank on an outcome.

A contact centre is staffed against a queue: with too few agents callers wait and hang up,
with many the agents sit idle. `staffing_table` lays out, for a range of headcounts, what the
closed forms of `sim.support.contact_centre` promise (Erlang C: callers who never hang up;
Erlang A: callers with exponential patience), and `staffing_curve` draws it against a
service-level target such as the industry's 80/20 (80 % of calls answered within 20 s).

Word of mouth brings customers beside advertising: `acquisition_sources` draws, for each
run, the customers won a month by advertising and by word of mouth (the time series'
``acquired_prospects`` split by ``acquired_by_word_of_mouth``). `outcome_ladder` puts several
runs side by side (the steps of a maturity ladder, a set of organisational models) on one
or more headline outcomes, each with its 95 % interval across replications.

Every function returns a `matplotlib.figure.Figure` built without pyplot.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from sim.experiments.runs import Comparison, RunResult
from sim.plots.labels import axis_label, outcome_name, outcome_unit
from sim.stats import mean_interval
from sim.support.contact_centre import erlang_a, erlang_c

__all__ = ["acquisition_sources", "outcome_ladder", "staffing_curve", "staffing_table"]

SECONDS_PER_HOUR = 3600.0

STAFFING_COLUMNS = (
    "agents",
    "offered_load_erlangs",
    "occupancy",
    "service_level_c",
    "asa_seconds_c",
    "service_level_a",
    "asa_seconds_a",
    "abandon_rate_a",
)
"""Columns of `staffing_table`: ``_c`` from Erlang C, ``_a`` from Erlang A."""


def staffing_table(
    calls_per_hour: float,
    aht_seconds: float,
    agents: Sequence[int],
    patience_seconds: float,
    answer_within_seconds: float = 20.0,
) -> pd.DataFrame:
    """What each headcount promises, by Erlang C and by Erlang A.

    Args:
        calls_per_hour: arrival rate of calls (calls per hour), ≥ 0.
        aht_seconds: mean handle time (seconds), > 0.
        agents: the headcounts to tabulate (agents, each ≥ 1).
        patience_seconds: callers' mean patience for Erlang A (seconds), > 0.
        answer_within_seconds: the service-level target time (seconds).

    Returns:
        One row per headcount with the columns of `STAFFING_COLUMNS`: the offered load
        (erlangs), the occupancy of Erlang C (share 0–1, 1 when the centre cannot keep up),
        the service level (share answered within the target, 0–1) and the average speed of
        answer (seconds; infinite when Erlang C cannot keep up) of each model, and Erlang
        A's abandon rate (share of callers who hang up, 0–1).

    Raises:
        ValueError: no headcount, or a setting the closed forms refuse.
    """
    agents = [int(n) for n in agents]
    if not agents:
        raise ValueError("agents: got none; pass one or more headcounts")
    rows = []
    for n in agents:
        c = erlang_c(calls_per_hour, aht_seconds, n, answer_within_seconds)
        a = erlang_a(calls_per_hour, aht_seconds, n, patience_seconds, answer_within_seconds)
        rows.append(
            {
                "agents": n,
                "offered_load_erlangs": calls_per_hour * aht_seconds / SECONDS_PER_HOUR,
                "occupancy": c.occupancy,
                "service_level_c": c.service_level,
                "asa_seconds_c": c.asa_seconds,
                "service_level_a": a.service_level,
                "asa_seconds_a": a.asa_seconds,
                "abandon_rate_a": a.abandon_rate,
            }
        )
    return pd.DataFrame(rows, columns=list(STAFFING_COLUMNS))


def staffing_curve(
    table: pd.DataFrame, target_service_level: float = 0.8, answer_within_seconds: float = 20.0
) -> Figure:
    """Service level, speed of answer and abandonment against the number of agents.

    Left: the service level of Erlang C and Erlang A against agents, with the target as a
    dashed line and the fewest agents that reach it by Erlang C marked. Middle: the average
    speed of answer of both (seconds; Erlang C's is left out where the centre cannot keep
    up). Right: Erlang A's abandon rate and the agents' occupancy (shares).

    Args:
        table: what `staffing_table` returns.
        target_service_level: the share to answer within the target time (0–1).
        answer_within_seconds: the target time (seconds), for the labels.

    Returns:
        A figure of three panels; x axis: agents on duty.

    Raises:
        ValueError: a column of `STAFFING_COLUMNS` missing, or no rows.
    """
    if not isinstance(table, pd.DataFrame) or table.empty:
        raise ValueError("table: expected the non-empty table of staffing_table")
    missing = [c for c in STAFFING_COLUMNS if c not in table]
    if missing:
        raise ValueError(f"table: missing {', '.join(missing)}; pass staffing_table's table")
    if not 0.0 < target_service_level < 1.0:
        raise ValueError(f"target_service_level: got {target_service_level!r}; must be in (0, 1)")
    table = table.sort_values("agents")
    agents = table["agents"].to_numpy()
    target = f"{answer_within_seconds:g} s"
    fig = Figure(figsize=(13.0, 4.2), layout="constrained")
    left, middle, right = fig.subplots(1, 3, sharex=True)
    left.plot(agents, table["service_level_c"], marker="o", label="Erlang C (nobody hangs up)")
    left.plot(agents, table["service_level_a"], marker="s", label="Erlang A (callers hang up)")
    left.axhline(target_service_level, color="0.3", linestyle="--", linewidth=1,
                 label=f"target {target_service_level:.0%} within {target}")  # fmt: skip
    reached = agents[table["service_level_c"].to_numpy() >= target_service_level]
    if reached.size:
        left.axvline(reached.min(), color="tab:green", linewidth=1, alpha=0.7,
                     label=f"fewest agents on target (Erlang C): {reached.min()}")  # fmt: skip
    left.set_ylim(-0.02, 1.02)
    left.set_ylabel(f"Service level (share answered within {target}, 0–1)")
    left.set_title("Service level")
    left.legend(fontsize="small", loc="lower right")
    finite = np.isfinite(table["asa_seconds_c"].to_numpy(np.float64))
    middle.plot(agents[finite], table["asa_seconds_c"].to_numpy()[finite], marker="o",
                label="Erlang C")  # fmt: skip
    middle.plot(agents, table["asa_seconds_a"], marker="s", label="Erlang A")
    middle.set_yscale("log")
    middle.set_ylabel("Average speed of answer (seconds, log scale)")
    middle.set_title("Waiting")
    middle.legend(fontsize="small")
    right.plot(agents, table["abandon_rate_a"], marker="s", color="tab:red",
               label="callers who hang up (Erlang A)")  # fmt: skip
    right.plot(agents, table["occupancy"], marker="^", color="tab:purple",
               label="agents' occupancy (Erlang C)")  # fmt: skip
    right.set_ylim(-0.02, 1.02)
    right.set_ylabel("Share (0–1)")
    right.set_title("Hang-ups and busy agents")
    right.legend(fontsize="small")
    for ax in (left, middle, right):
        ax.set_xlabel("Agents on duty")
    load = float(table["offered_load_erlangs"].iloc[0])
    fig.suptitle(f"Staffing a queue of {load:.1f} erlangs of work")
    return fig


def acquisition_sources(runs: Sequence[RunResult]) -> Figure:
    """Customers won a month by advertising and by word of mouth, run by run.

    For each run (labelled by its scenario's name) a stacked bar: the mean over months and
    replications of the prospects won by word of mouth (``acquired_by_word_of_mouth``) and
    of the others (``acquired_prospects`` minus those: won by advertising); won-back
    customers are not counted. Each bar's total carries the 95 % interval across
    replications of the run's mean monthly prospects won.

    Args:
        runs: one or more results of `sim.run` (or a `Comparison`'s ``runs``).

    Returns:
        A figure with one axes: x the runs, y customers won a month.

    Raises:
        ValueError: no run, or a time series without those columns.
    """
    runs = list(runs)
    if not runs:
        raise ValueError("runs: got none; pass one or more results of sim.run")
    names, word, advert, low, high = [], [], [], [], []
    for run in runs:
        table = run.timeseries
        needed = ("replication", "acquired_prospects", "acquired_by_word_of_mouth")
        missing = [c for c in needed if c not in table]
        if missing:
            raise ValueError(f"{run.scenario.name}: time series lacks {', '.join(missing)}")
        per_rep = table.groupby("replication")[list(needed[1:])].mean()
        total = mean_interval(per_rep["acquired_prospects"])
        names.append(run.scenario.name)
        word.append(float(per_rep["acquired_by_word_of_mouth"].mean()))
        advert.append(total["mean"] - word[-1])
        low.append(total["mean"] - total["ci_low"])
        high.append(total["ci_high"] - total["mean"])
    x = np.arange(len(runs))
    fig = Figure(figsize=(max(5.0, 1.6 * len(runs) + 2.0), 4.2), layout="constrained")
    ax = fig.subplots()
    ax.bar(x, advert, color="tab:blue", label="won by advertising")
    ax.bar(x, word, bottom=advert, color="tab:green", label="won by word of mouth")
    tops = np.add(advert, word)
    ax.errorbar(x, tops, yerr=[low, high], fmt="none", ecolor="0.2", capsize=4,
                label="95 % interval of the total")  # fmt: skip
    ax.set_xticks(x, names, rotation=15 if len(runs) > 3 else 0)
    ax.set_ylabel("Customers won a month (mean)")
    ax.set_title("Where new customers come from")
    ax.legend(fontsize="small")
    return fig


def outcome_ladder(
    results: Comparison | Sequence[RunResult],
    metrics: str | Sequence[str] = ("nps_true", "retention_of_initial"),
) -> Figure:
    """Several runs side by side on headline outcomes, each with its 95 % interval.

    One panel per outcome (a column of the runs' ``outcomes``, e.g. ``nps_true``,
    ``retention_of_initial``, ``profit_npv``); x: the runs in the order given (the steps of
    a ladder read left to right), labelled by scenario name; y: the mean across
    replications with its Student-t 95 % interval (`sim.stats.mean_interval`), joined by a
    line so that the steps show.

    Args:
        results: a `Comparison` (its runs, base first) or a sequence of `sim.run` results.
        metrics: the outcome or outcomes to show.

    Returns:
        A figure with one panel per outcome.

    Raises:
        ValueError: no run, no metric, or a metric a run's outcomes lack.
    """
    runs = list(results.runs if isinstance(results, Comparison) else results)
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    if not runs or not metrics:
        raise ValueError("outcome_ladder: pass one or more runs and one or more outcomes")
    for run in runs:
        missing = [m for m in metrics if m not in run.outcomes]
        if missing:
            raise ValueError(f"{run.scenario.name}: outcomes lack {', '.join(missing)}")
    x = np.arange(len(runs))
    names = [run.scenario.name for run in runs]
    panel_width = min(6.0, max(4.0, 0.8 * len(runs) + 1.5))  # inches
    fig = Figure(figsize=(panel_width * len(metrics), 4.6), layout="constrained")
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    for ax, metric in zip(axes, metrics, strict=True):
        band = [mean_interval(run.outcomes[metric]) for run in runs]
        mean = np.array([b["mean"] for b in band])
        low = mean - np.array([b["ci_low"] for b in band])
        high = np.array([b["ci_high"] for b in band]) - mean
        ax.errorbar(x, mean, yerr=[low, high], marker="o", capsize=4, linewidth=1.2)
        ax.set_xticks(x, names, rotation=30, ha="right")
        ax.set_ylabel(axis_label(outcome_name(metric), outcome_unit(metric)), fontsize="small")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.6g}"))
        ax.set_title(outcome_name(metric))
        if not all(math.isfinite(v) for v in mean):
            ax.text(0.5, 0.5, "some values undefined", transform=ax.transAxes, ha="center")
    return fig
