"""Figures of the classroom page: live charts with a 95% band, the word-of-mouth network and
one customer's journey.

Every function takes plain tables (what `sim.classroom.model.Classroom` gives) and returns
a `matplotlib.figure.Figure`, so the page, a notebook and a test draw the same picture.
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from sim.plots.labels import axis_label, timeseries_name, timeseries_unit
from sim.plots.results import draw_band, monthly_interval

__all__ = ["journey_path", "live_chart", "network_layout", "network_sample", "network_view"]

_DPI = 90
"""Resolution of the live charts: they are re-drawn every month, and a fixed layout at this
resolution draws in a fraction of the time of a constrained one."""
PEOPLE_COLOURS: dict[str, str] = {
    "prospect": "#c7c7c7",
    "promoter": "#2ca02c",
    "passive": "#f2c744",
    "detractor": "#d62728",
    "lapsed": "#7f7f7f",
}
"""The network view's colour of each group of people (`sim.classroom.model.PEOPLE_GROUPS`)."""
NETWORK_SAMPLE = 150
"""People the network view draws at most: a neighbourhood of the market, grown breadth-first
from person 0 (a whole market of thousands is a hairball)."""


def live_chart(
    frame: pd.DataFrame,
    metrics: Sequence[str],
    months: int,
    title: str,
    difference: bool = False,
) -> Figure:
    """Metrics month by month so far: the mean across replications with a 95% band.

    Args:
        frame: one row per replication × month with a ``month`` column and the metrics
            (a time series, or its paired difference against a reference).
        metrics: columns to draw, one line each, sharing one axis (same unit).
        months: the horizon, months: the x axis runs to it from the start, so the lines
            grow across a fixed frame.
        title: the chart's title.
        difference: the values are differences against a reference (draws the zero line).

    Returns:
        A figure with one axes: x the month, y the metrics in their unit; one band per
        metric (Student-t 95% interval across replications, `monthly_interval`; none with
        one replication).
    """
    fig = Figure(figsize=(6, 3.2), dpi=_DPI)
    fig.subplots_adjust(left=0.15, right=0.97, bottom=0.16, top=0.9)
    ax = fig.subplots()
    unit = timeseries_unit(metrics[0])
    for metric in metrics:
        name = timeseries_name(metric)
        if frame.empty or metric not in frame:
            ax.plot([], [], label=name)
            continue
        band = monthly_interval(frame, metric)
        draw_band(ax, band, name, marker="." if len(band) < 3 else "")
    if difference:
        ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_xlim(0.5, max(months, 1) + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("Month")
    shown = axis_label("Change" if difference else timeseries_name(metrics[0]), unit)
    ax.set_ylabel(shown if len(metrics) == 1 or difference else axis_label("", unit).strip(" ()"))
    ax.set_title(title, fontsize=11)
    if len(metrics) > 1:
        ax.legend(fontsize=8)
    return fig


def network_sample(graph: nx.Graph, size: int = NETWORK_SAMPLE) -> list[int]:
    """Up to `size` people of the graph, breadth-first from person 0 (then from the next
    person not reached), so that the sample keeps its ties."""
    chosen: list[int] = []
    seen: set[int] = set()
    for start in sorted(graph.nodes):
        if len(chosen) >= size:
            break
        if start in seen:
            continue
        for node in nx.bfs_tree(graph, start):
            if len(chosen) >= size:
                break
            seen.add(node)
            chosen.append(int(node))
    return chosen


def network_view(
    graph: nx.Graph | None,
    groups: pd.Series,
    positions: dict[int, tuple[float, float]] | None = None,
) -> Figure:
    """Who tells whom: a neighbourhood of the word-of-mouth network, coloured by group.

    Args:
        graph: the market's social graph (None: everyone hears everyone, nothing to draw).
        groups: each person's group (index: person), one of `PEOPLE_COLOURS`.
        positions: node → (x, y); default a spring layout of the sample (seed 1). Pass the
            same positions step after step so that people stay where they are.

    Returns:
        A figure with the sample's ties in grey and its people as coloured dots, with a
        legend counting each group in the whole market.
    """
    fig = Figure(figsize=(6, 5), layout="constrained")
    ax = fig.subplots()
    ax.set_axis_off()
    counts = groups.value_counts()
    handles = [
        Line2D([], [], marker="o", linestyle="", color=colour, label=f"{g} ({counts.get(g, 0):,})")
        for g, colour in PEOPLE_COLOURS.items()
    ]
    if graph is None:
        ax.text(
            0.5,
            0.5,
            "Everyone hears everyone (no network):\nchoose a network under 'Word of mouth'",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
        ax.legend(handles=handles, loc="lower center", ncols=3, fontsize=8)
        return fig
    if positions is None:
        positions = network_layout(graph)
    nodes = list(positions)
    sub = graph.subgraph(nodes)
    for a, b in sub.edges:
        (xa, ya), (xb, yb) = positions[a], positions[b]
        ax.plot([xa, xb], [ya, yb], color="#d0d0d0", linewidth=0.5, zorder=1)
    xy = np.array([positions[n] for n in nodes])
    colours = [PEOPLE_COLOURS[groups.iloc[n]] for n in nodes]
    ax.scatter(xy[:, 0], xy[:, 1], c=colours, s=28, edgecolors="white", linewidths=0.5, zorder=2)
    ax.legend(handles=handles, loc="lower center", ncols=3, fontsize=8, bbox_to_anchor=(0.5, -0.12))
    ax.set_title(f"Word of mouth: {len(nodes)} people and their ties", fontsize=11)
    return fig


def network_layout(graph: nx.Graph, size: int = NETWORK_SAMPLE) -> dict[int, tuple[float, float]]:
    """Positions of `network_sample`'s people: a spring layout with seed 1."""
    sub = graph.subgraph(network_sample(graph, size))
    return {int(n): (float(x), float(y)) for n, (x, y) in nx.spring_layout(sub, seed=1).items()}


def journey_path(journey: pd.DataFrame, customer: int) -> Figure:
    """One customer's journey: every interaction's satisfaction (dots, labelled by
    touchpoint) and cumulative satisfaction after each month (line), 0–1.

    Args:
        journey: the customer's rows of the customer log (`sim.customer_log`), columns
            month, touchpoint, satisfaction, satisfaction_after.
        customer: the customer's number (for the title).
    """
    fig = Figure(figsize=(9, 3.6), layout="constrained")
    ax = fig.subplots()
    if journey.empty:
        ax.text(0.5, 0.5, "No interactions yet", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    touchpoints = list(dict.fromkeys(journey["touchpoint"].astype(str)))
    for index, touchpoint in enumerate(touchpoints):
        rows = journey[journey["touchpoint"].astype(str) == touchpoint]
        offset = (index - (len(touchpoints) - 1) / 2) * 0.06
        ax.scatter(rows["month"] + offset, rows["satisfaction"], s=22, label=touchpoint, zorder=3)
    after = journey.groupby("month")["satisfaction_after"].last()
    ax.plot(after.index, after.values, color="black", linewidth=1.5, label="cumulative", zorder=2)
    ax.set_ylim(0, 1)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("Month")
    ax.set_ylabel("Satisfaction, 0–1")
    ax.set_title(f"Customer {customer}: each interaction and satisfaction so far", fontsize=11)
    ax.legend(fontsize=8, ncols=2, loc="lower left")
    return fig
