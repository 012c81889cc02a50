"""Several firms in one market: who each firm is, and the rules by which they compete.

A scenario with ``firms:`` puts its market's people before several firms (docs/model.md §16).
Each firm runs its own touchpoints, support desk, capabilities, investments, price and
advertising, as a one-firm scenario does; `CXModel` runs the firm's side of a month once per
firm, on that firm's customers. The market's side spans the firms:

- **adoption of the category** is the Bass model of one firm, with the market's advertising
  (the firms' spends added) and the word of mouth of every firm's promoters and detractors;
- **choice of a firm** is a multinomial logit (McFadden 1974; Guadagni & Little 1983): firm f's
  utility is ``reputation_weight × r_f + reach_weight × ln(1 + s_f / s_ref) −
  price_weight × ln(price_f)``, with r_f the net word of mouth per customer of its customers
  and s_f its advertising spend per person (`choice_utilities`, `choice_shares`);
- **switching**: a customer who leaves a firm switches at once to another with probability
  ``switching_share``, choosing among the others by the same logit; the rest lapse;
- **expectations** are the market's: the best firm's drift (a transformative firm's frontier)
  moves everyone, and everyone's expectation is pulled towards the best firm's delivered
  quality (`market_drift`).

With one firm every rule reduces to the one-firm model's, number for number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from sim.scenario import Scenario
from sim.scenario.loading import with_overrides
from sim.scenario.sizing import at_own_size

FIRM_NAME = "firm"
"""The name of the firm of a scenario without ``firms:``."""
FIRM_COLUMN = "firm"
"""The column that names the firm of each row in the tables of a market of several firms."""


class FirmSeat(NamedTuple):
    """One firm of the market as the model runs it."""

    name: str
    spec: Scenario
    """The scenario as this firm's: its firm, support and advertising in place of the
    scenario's, its lump sums resolved for its own initial customers."""
    initial_share: float
    """Expected share of the initial customers who are this firm's."""


def initial_shares(scenario: Scenario) -> list[float]:
    """Each firm's share of the initial customers: as given, the rest split evenly among
    the firms that give none (1.0 for a scenario without ``firms:``)."""
    if scenario.firms is None:
        return [1.0]
    given = [entry.initial_share for entry in scenario.firms]
    missing = given.count(None)
    rest = max(1.0 - sum(share for share in given if share is not None), 0.0)
    return [rest / missing if share is None else share for share in given]


def seats(scenario: Scenario) -> list[FirmSeat]:
    """The market's firms, in the order of ``firms:`` (one, named `FIRM_NAME`, without it).

    A firm's scenario is the scenario with the entry's `firm` and `support` and its
    advertising spend, no ``firms:``, and its lump sums resolved for its own expected initial
    customers (market × initial customer share × its initial share;
    `sim.scenario.sizing.at_own_size`).
    """
    if scenario.firms is None:
        return [FirmSeat(FIRM_NAME, at_own_size(scenario), 1.0)]
    out = []
    for entry, share in zip(scenario.firms, initial_shares(scenario), strict=True):
        spend = entry.marketing_per_person_per_month
        acquisition = scenario.acquisition
        if spend is not None:
            acquisition = acquisition.model_copy(update={"marketing_per_person_per_month": spend})
        own = scenario.model_copy(
            update={
                "firms": None,
                "firm": entry.firm,
                "support": entry.support,
                "acquisition": acquisition,
                "market": scenario.market.model_copy(
                    update={"initial_customers": scenario.market.initial_customers * share}
                ),
            }
        )
        out.append(FirmSeat(entry.name, at_own_size(with_overrides(own, {})), share))
    return out


def market_scenario(scenario: Scenario, firms: Sequence[FirmSeat]) -> Scenario:
    """The scenario the market's phases read: the first firm's when it is alone; otherwise
    the scenario with the firms' advertising spends added (the category's advertising)."""
    if len(firms) == 1:
        return firms[0].spec
    total = sum(seat.spec.acquisition.marketing_per_person_per_month for seat in firms)
    acquisition = scenario.acquisition.model_copy(update={"marketing_per_person_per_month": total})
    return scenario.model_copy(update={"acquisition": acquisition})


def choice_utilities(
    scenario: Scenario, reputation: np.ndarray, spend: np.ndarray, price: np.ndarray
) -> np.ndarray:
    """Each firm's utility in an adopter's choice (`competition`'s weights): reputation
    `reputation` (net word of mouth per customer), advertising `spend` (cu per person per
    month) and relative `price`."""
    c = scenario.competition
    reference = scenario.acquisition.reference_marketing_per_person
    return (
        c.reputation_weight * reputation
        + c.reach_weight * np.log1p(spend / reference)
        - c.price_weight * np.log(price)
    )


def choice_shares(utility: np.ndarray, allowed: np.ndarray | None = None) -> np.ndarray:
    """Multinomial-logit choice probabilities of the firms of `utility` (one row per
    chooser with `allowed`, a boolean matrix of the firms each may choose; one row
    otherwise)."""
    u = np.broadcast_to(utility, allowed.shape) if allowed is not None else utility[None, :]
    u = np.where(allowed, u, -np.inf) if allowed is not None else u
    weights = np.exp(u - u.max(axis=1, keepdims=True))
    return weights / weights.sum(axis=1, keepdims=True)


def choose(shares: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The firm each chooser picks, by inverting their uniform `u` on their row of
    `shares` (rows: choosers, or one row for all)."""
    cumulative = np.cumsum(shares, axis=1)
    cumulative[:, -1] = np.inf  # round-off never leaves a chooser without a firm
    picked = (u[:, None] >= cumulative).sum(axis=1) if len(u) else np.zeros(0, dtype=np.int64)
    return picked.astype(np.int8)


def market_drift(
    scenario: Scenario, drifts: Sequence[float], quality: Sequence[float], customers: Sequence[int]
) -> float:
    """The month's change of every person's expectation: the largest of the firms' drifts
    (`Firm.expectation_drift`: the market's, plus a transformative firm's frontier), plus
    `competition.leader_pull_per_month` × how far the best firm's mean delivered quality
    (`quality`) lies above the customer-weighted mean of all firms' (`customers`).

    With one firm it is that firm's drift, exactly."""
    drift = max(drifts)
    if len(quality) < 2:
        return drift
    weights = np.asarray(customers, dtype=np.float64)
    total = weights.sum()
    mean = float(np.dot(weights, quality) / total) if total else float(np.mean(quality))
    gap = max(quality) - mean
    if gap <= 0.0 or not math.isfinite(gap):
        return drift
    return drift + scenario.competition.leader_pull_per_month * gap
