"""Figures of a classroom game's debrief (`sim.game.debrief`): the market month by month, the
teams' decisions round by round, what each team's profit is made of, and how its result
spreads when the same decisions meet other customers (other seeds).

Every function returns a `matplotlib.figure.Figure` built without pyplot.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from sim.game.debrief import COST_LINES
from sim.market import FIRM_COLUMN
from sim.scenario.firm import CAPABILITIES

__all__ = ["decisions_chart", "luck_chart", "market_chart", "profit_chart"]


def market_chart(series: pd.DataFrame) -> Figure:
    """Each firm's market share and true NPS, month by month (a game's time series)."""
    figure = Figure(figsize=(10, 3.6), layout="constrained")
    share, nps = figure.subplots(1, 2)
    for team, part in series.groupby(FIRM_COLUMN, sort=False):
        share.plot(part["month"], 100 * part["market_share"], marker="o", label=team)
        nps.plot(part["month"], part["nps_true"], marker="o", label=team)
    share.set(xlabel="month", ylabel="market share, %", title="Market share")
    nps.set(xlabel="month", ylabel="NPS (true), points", title="NPS")
    share.legend(fontsize="small")
    return figure


def decisions_chart(decisions: pd.DataFrame) -> Figure:
    """Each team's CX spend by capability, round by round (stacked bars, cu per month), with
    its price marked above each bar."""
    teams = list(dict.fromkeys(decisions["team"]))
    figure = Figure(figsize=(3.2 * len(teams) + 1, 3.6), layout="constrained")
    axes = figure.subplots(1, len(teams), sharey=True, squeeze=False)[0]
    for ax, team in zip(axes, teams, strict=True):
        mine = decisions[decisions["team"] == team]
        bottom = pd.Series(0.0, index=mine.index)
        for capability in CAPABILITIES:
            if mine[capability].any():
                ax.bar(mine["round"], mine[capability], bottom=bottom, label=capability)
                bottom = bottom + mine[capability]
        for _, row in mine.iterrows():
            ax.annotate(
                f"price {row['price']:.2f}",
                (row["round"], bottom[row.name]),
                ha="center",
                va="bottom",
                fontsize="x-small",
            )
        ax.set(title=team, xlabel="round", xticks=list(mine["round"]))
    axes[0].set_ylabel("CX spend, cu per month")
    handles = {
        label: h for ax in axes for h, label in zip(*ax.get_legend_handles_labels(), strict=True)
    }
    if handles:
        figure.legend(handles.values(), handles.keys(), loc="outside right", fontsize="small")
    return figure


def profit_chart(drivers: pd.DataFrame) -> Figure:
    """Each team's profit NPV taken apart: its margin (right of zero) and its cost lines
    (left), all discounted to the game's start, with the profit NPV marked (cu)."""
    figure = Figure(figsize=(10, 0.8 * len(drivers) + 1.6), layout="constrained")
    ax = figure.subplots()
    teams = list(drivers["team"])
    ax.barh(teams, drivers["margin"], color="#2ca02c", label="margin")
    left = pd.Series(0.0, index=drivers.index)
    for line in COST_LINES:
        if drivers[line].abs().sum() > 0:
            ax.barh(teams, -drivers[line], left=left, label=line.replace("_", " "))
            left = left - drivers[line]
    ax.scatter(drivers["profit_npv"], teams, color="black", zorder=3, label="profit NPV")
    ax.axvline(0.0, color="grey", linewidth=0.8)
    ax.invert_yaxis()
    ax.set(xlabel="present value over the game, cu", title="What each team's profit is made of")
    ax.legend(loc="best", fontsize="x-small", ncol=2)
    return figure


def luck_chart(replays: pd.DataFrame) -> Figure:
    """Each team's profit NPV when the game's decisions are replayed on other seeds (dots),
    the game as played marked (a ring)."""
    teams = list(dict.fromkeys(replays.sort_values("rank")["team"]))
    figure = Figure(figsize=(8, 0.7 * len(teams) + 1.6), layout="constrained")
    ax = figure.subplots()
    for row, team in enumerate(teams):
        mine = replays[replays["team"] == team]
        ax.scatter(mine["profit_npv"], [row] * len(mine), alpha=0.5, color="#1f77b4")
        played = mine[mine["played"]]
        ax.scatter(
            played["profit_npv"], [row] * len(played), s=160, facecolors="none", edgecolors="red"
        )
    ax.set_yticks(range(len(teams)), teams)
    ax.invert_yaxis()
    ax.set(
        xlabel="profit NPV, cu",
        title="The same decisions on other customers (one dot per seed; ring: as played)",
    )
    return figure
