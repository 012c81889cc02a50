"""The contact centre's month: the load it expects in each opening hour and the agents on duty.

The desk plans a month with a perfect forecast. It knows how many first contacts the month
brings, which of them will not resolve even if answered, and the month's handle time. Each
first contact that fails — not resolved, or its caller hung up — brings one repeat, so the
centre expects the first contacts, the unresolved ones' repeats and the repeats of the
callers who will hang up. Those contacts arrive over `hours_per_month` opening hours, and
within each opening day hour by hour as the intraday profile says.

With a fixed headcount the same agents are on duty in every hour. With `agents: auto` every
hour gets the fewest agents that reach `target_service_level` at that hour's expected load,
by Erlang A (Erlang C without patience) and at least one: the stationary independent
period-by-period approach (Green, Kolesar & Soares 2001), see
`sim.support.contact_centre.intraday`. A month's `Rota` holds both, and the agent-hours it
pays for: the mean agents on duty times `hours_per_month`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from sim.scenario import ContactCentre
from sim.support.contact_centre import QueueMetrics, _palm, erlang_a, erlang_c
from sim.support.contact_centre.erlang import MAX_QUEUE_STATES, kernel_error
from sim.support.contact_centre.intraday import (
    MAX_AGENTS_PER_HOUR,
    MIN_AGENTS,
    PROFILES,
    agents_by_hour,
    hourly_weights,
)


@dataclass(frozen=True)
class Rota:
    """The expected load and the agents on duty in each hour of a month's opening day."""

    calls_per_hour: tuple[float, ...]
    """Contacts expected in each opening hour, repeats included (contacts per hour)."""
    agents: tuple[int, ...]
    """Agents on duty in each opening hour."""

    @property
    def mean_calls_per_hour(self) -> float:
        """Contacts per opening hour over the day (contacts per hour)."""
        return sum(self.calls_per_hour) / len(self.calls_per_hour)

    @property
    def agents_on_duty(self) -> float:
        """Mean agents on duty over the opening hours (agents); times `hours_per_month`,
        the month's paid agent-hours."""
        return sum(self.agents) / len(self.agents)


def intraday_weights(centre: ContactCentre) -> tuple[float, ...]:
    """The centre's intraday profile, one weight per opening hour, scaled to average 1."""
    profile = centre.intraday_profile
    return _weights(profile if isinstance(profile, str) else tuple(profile))


@functools.lru_cache(maxsize=256)
def _weights(profile: str | tuple[float, ...]) -> tuple[float, ...]:
    return tuple(hourly_weights(PROFILES[profile] if isinstance(profile, str) else profile))


def staff(centre: ContactCentre, calls_per_hour: tuple[float, ...], aht_seconds: float) -> Rota:
    """The agents on duty at the given hourly loads (contacts per hour): the fixed headcount,
    or with `agents: auto` the fewest that reach the target in each hour (at least one)."""
    if centre.agents != "auto":
        return Rota(calls_per_hour, (centre.agents,) * len(calls_per_hour))
    agents = agents_by_hour(
        calls_per_hour,
        aht_seconds,
        centre.target_service_level,
        centre.answer_within_seconds,
        centre.patience_seconds,
    )
    return Rota(calls_per_hour, agents)


def steady_states(
    centre: ContactCentre, rota: Rota, aht_seconds: float, target_seconds: float
) -> list[QueueMetrics]:
    """Each hour's closed-form steady state: Erlang A, or Erlang C without patience."""
    if centre.patience_seconds is None:
        return [
            erlang_c(rate, aht_seconds, n, target_seconds)
            for rate, n in zip(rota.calls_per_hour, rota.agents, strict=True)
        ]
    return [
        erlang_a(rate, aht_seconds, n, centre.patience_seconds, target_seconds)
        for rate, n in zip(rota.calls_per_hour, rota.agents, strict=True)
    ]


def month_rota(centre: ContactCentre, first: int, unresolved: int, aht_seconds: float) -> Rota:
    """The month's expected load per opening hour and the agents staffed for it.

    `unresolved` of the `first` contacts will not resolve even if answered; each brings a
    repeat, and so does each other one whose caller hangs up. The share that hangs up is the
    day's Erlang A abandon rate at the load all of them make together, with the agents
    staffed for that load: a fixed point, reached by iterating from no abandonment. As the
    load grows, an hour whose agents no longer reach the target gets one more at a time, and
    an hour's agents never fall during the iteration. So every hour reaches the target at
    the month's load, and none could do with one agent less: with it, that hour's own
    hang-ups would bring the repeats that make it miss the target (when they are all that
    calls for the last agent, the agent is kept).

    Args:
        centre: The scenario's contact centre.
        first: First contacts in the month.
        unresolved: Those of them that will not resolve even if answered.
        aht_seconds: The month's mean handle time (seconds).
    """
    weights = intraday_weights(centre)
    hours = centre.hours_per_month
    patience = centre.patience_seconds
    if patience is None:
        return staff(centre, _spread((first + unresolved) / hours, weights), aht_seconds)
    agents = 0 if centre.agents == "auto" else int(centre.agents)
    return _impatient_rota(
        weights,
        float(hours),
        int(first),
        int(unresolved),
        float(aht_seconds),
        float(patience),
        float(centre.answer_within_seconds),
        float(centre.target_service_level),
        agents,
    )


@functools.lru_cache(maxsize=10_000)
def _impatient_rota(
    weights: tuple[float, ...],
    hours: float,
    first: int,
    unresolved: int,
    aht_seconds: float,
    patience: float,
    target: float,
    goal: float,
    agents: int,
) -> Rota:
    """`month_rota` with impatient callers (`agents` 0: staffed to the goal), by the compiled
    `sim.support.contact_centre._palm.month_rota`; kept for the month whose counts come back
    (a small market's months often bring the same counts, in every replication)."""
    status, calls, staffed = _palm.month_rota(
        np.array(weights, dtype=np.float64),
        hours,
        first,
        unresolved,
        aht_seconds,
        patience,
        target,
        goal,
        agents == 0,
        agents,
        MIN_AGENTS,
        MAX_AGENTS_PER_HOUR,
        MAX_QUEUE_STATES,
    )
    if status != _palm.HELD:
        raise kernel_error(status, patience, MAX_AGENTS_PER_HOUR, goal)
    return Rota(tuple(calls.tolist()), tuple(staffed.tolist()))


def _spread(rate: float, weights: tuple[float, ...]) -> tuple[float, ...]:
    """A mean rate over the opening hours spread by the intraday weights."""
    return tuple(rate * w for w in weights)
