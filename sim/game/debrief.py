"""What a game's debrief shows: who decided what, how the market moved, what made the winner
win, and how much of it was luck (`notebooks/lessons/game_debrief.ipynb`, ``cxm game
report``).

- `decisions_table`: each team's decision round by round, as applied;
- `profit_drivers`: each team's profit NPV taken apart into its margin and its cost lines,
  each discounted as the profit is (present values, cu), so that the parts add up to it;
- `share_drivers`: each team's customers from the start to the end: the initial ones, those
  won (from prospects and lapsed people, and from rivals) and those lost (to lapsing, and to
  rivals), adding up to the customers at the end;
- `luck`: the same decisions replayed on other seeds (other people, other draws): each
  team's rank, profit NPV and share on each, and `luck_summary` per team;
- `demo_game`: a small game played with scripted decisions, for a debrief to show when no
  class has played yet.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

import pandas as pd

from sim.game.decisions import Decision
from sim.game.engine import Game, replay, standing
from sim.market import FIRM_COLUMN
from sim.metrics import FIRM_COST_LINES, MARKET_COST_LINES
from sim.scenario import Scenario
from sim.scenario.firm import CAPABILITIES

COST_LINES = (*MARKET_COST_LINES, *FIRM_COST_LINES)
"""Every cost line of a firm's month (`sim.metrics`), in the order `profit_drivers` lists
them."""


def decisions_table(game: Game) -> pd.DataFrame:
    """One row per round × team: the spend on each capability (cu per month), the total,
    the agents, the maturity practices, the price, the advertising spend, and whether the
    team submitted that round (or kept its last decision)."""
    rows = []
    for entry in game.log:
        for team in game.teams:
            chosen = Decision.model_validate(entry["decisions"][team])
            rows.append(
                {"round": entry["round"], "team": team}
                | {c: chosen.allocation.get(c, 0.0) for c in CAPABILITIES}
                | {
                    "spend_per_month": chosen.spend,
                    "agents": str(chosen.agents),
                    "maturity": chosen.maturity,
                    "price": chosen.price,
                    "marketing_per_person_per_month": chosen.marketing_per_person_per_month,
                    "submitted": team in entry.get("submitted", []),
                }
            )
    return pd.DataFrame(rows)


def profit_drivers(game: Game) -> pd.DataFrame:
    """One row per team (leaderboard order): its margin and each cost line over the months
    played, discounted to the game's start (cu), and its profit NPV, which is the margin less
    the costs."""
    series = game.series
    rows = []
    for team in game.leaderboard()["team"]:
        mine = series[series[FIRM_COLUMN] == team]
        factor = mine["discount_factor"]
        row = {"team": team, "margin": float((mine["margin"] * factor).sum())}
        row |= {line: float((mine[line] * factor).sum()) for line in COST_LINES}
        row["profit_npv"] = float(mine["npv_to_date"].iloc[-1])
        rows.append(row)
    return pd.DataFrame(rows)


def share_drivers(game: Game) -> pd.DataFrame:
    """One row per team (leaderboard order): its customers at the start, won from prospects
    and lapsed people, won from rivals, lost by lapsing, lost to rivals, and at the end
    (start + won − lost = end), with its market share at the end."""
    series = game.series
    rows = []
    for team in game.leaderboard()["team"]:
        mine = series[series[FIRM_COLUMN] == team]
        switched_in, switched_out = mine["switched_in"].sum(), mine["switched_out"].sum()
        rows.append(
            {
                "team": team,
                "start": float(mine["active_start"].iloc[0]),
                "won_from_the_market": float(mine["acquired"].sum() - switched_in),
                "won_from_rivals": float(switched_in),
                "lost_lapsing": float(mine["churned"].sum() - switched_out),
                "lost_to_rivals": float(switched_out),
                "end": float(mine["active"].iloc[-1]),
                "market_share": float(mine["market_share"].iloc[-1]),
            }
        )
    return pd.DataFrame(rows)


def luck(game: Game, seeds: Sequence[int]) -> pd.DataFrame:
    """The game's decisions and events replayed on each of `seeds` (other people, other
    draws; the game's own seed among them if listed): one row per seed × team with its rank,
    profit NPV, market share and NPS after the rounds played, and whether the seed is the
    game's."""
    rows = []
    for seed in seeds:
        other = dataclasses.replace(game.settings, seed=int(seed))
        _, series = replay(other, game.log)
        board = standing(series, game.teams)
        rows += [
            {"seed": int(seed), "played": int(seed) == game.settings.seed} | record
            for record in board.to_dict("records")
        ]
    return pd.DataFrame(rows)


def luck_summary(replays: pd.DataFrame) -> pd.DataFrame:
    """Per team, over the replays of `luck`: mean rank, the share of seeds it wins, its
    profit NPV's mean and 5 % and 95 % quantiles (cu), and its rank on the game's seed."""
    rows = []
    for team, part in replays.groupby("team", sort=False):
        played = part.loc[part["played"], "rank"]
        npv = part["profit_npv"]
        rows.append(
            {
                "team": team,
                "mean_rank": float(part["rank"].mean()),
                "wins": float((part["rank"] == 1).mean()),
                "profit_npv_mean": float(npv.mean()),
                "profit_npv_p05": float(npv.quantile(0.05)),
                "profit_npv_p95": float(npv.quantile(0.95)),
                "rank_played": int(played.iloc[0]) if len(played) else None,
            }
        )
    return pd.DataFrame(rows).sort_values("mean_rank", kind="stable").reset_index(drop=True)


DEMO_PLAYS: tuple[dict[str, dict[str, object]], ...] = (
    {
        "design": {"allocation": {"experience_design": 20_000, "processes": 15_000}},
        "discount": {"price": 0.9, "marketing_per_person_per_month": 0.6},
    },
    {"steady": {"agents": 2}},
    {"design": {"allocation": {"experience_design": 10_000}}, "discount": {"price": 0.95}},
)
"""The demo game's scripted decisions, round by round (a team not named keeps its last)."""


def demo_game(
    out: str | os.PathLike[str], scenario: Scenario, market_size: int = 4_000, months: int = 3
) -> Game:
    """A game of three teams played for three rounds with scripted decisions (`DEMO_PLAYS`):
    ``design`` invests in experience design and processes, ``discount`` cuts its price and
    advertises more, ``steady`` staffs its contact centre and spends nothing on CX."""
    small = scenario.model_copy(
        update={"market": scenario.market.model_copy(update={"size": market_size})}
    )
    game = Game.create(
        out,
        small,
        teams=3,
        rounds=len(DEMO_PLAYS),
        months_per_round=months,
        budget_per_month=40_000.0,
        names=["design", "discount", "steady"],
    )
    for plays in DEMO_PLAYS:
        for team, chosen in plays.items():
            game.submit(team, chosen)
        if plays is DEMO_PLAYS[1]:
            game.trigger({"kind": "market_shock", "expectation_rise": 0.02})
        game.advance()
    return game


__all__ = [
    "COST_LINES",
    "decisions_table",
    "demo_game",
    "luck",
    "luck_summary",
    "profit_drivers",
    "share_drivers",
]
