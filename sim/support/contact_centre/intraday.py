"""The opening day hour by hour: an intraday arrival profile, staffing each hour to its own
load, and the day's metrics from the hours' steady states.

Calls to an inbound centre do not arrive at one rate all day. A typical weekday rises from
the opening to a late-morning peak, dips over lunch, peaks again, more gently, in the early
afternoon and falls off towards the close: the two-humped shape that Gans, Koole &
Mandelbaum (2003, M&SOM 5(2)) and Brown et al. (2005, JASA 100(469)) show for the weekday
arrivals of call centres. `TYPICAL_WEEKDAY` is that shape over ten opening hours (08:00–18:00);
its weights are a plausibility choice, not fitted to data. A profile holds relative weights,
one per opening hour, and is scaled to average 1, so a mean rate keeps its meaning.

Centres staff such a day hour by hour. `agents_by_hour` gives each hour the fewest agents
that reach the service-level target at that hour's own load, as if the hour were a steady
state of its own: the stationary independent period-by-period (SIPP) approach, which Green,
Kolesar & Soares (2001, Operations Research 49(4)) found reliable when, as here, handle
times are short against the one-hour period. `day_metrics` combines the hours' steady states
into the day's: shares and waits weighted by each hour's calls (the ASA by its answered
calls), occupancy as busy agent-time over agent-time on duty.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from sim.support.contact_centre import _validate as check
from sim.support.contact_centre.erlang import QueueMetrics, agents_for_service_level
from sim.support.contact_centre.profiles import FLAT, PROFILES, TYPICAL_WEEKDAY

__all__ = [
    "FLAT",
    "MIN_AGENTS",
    "PROFILES",
    "TYPICAL_WEEKDAY",
    "agents_by_hour",
    "day_metrics",
    "hourly_weights",
]

MIN_AGENTS = 1
"""Fewest agents on duty in an opening hour, even one expected to bring no calls."""
MAX_AGENTS_PER_HOUR = 100_000
"""Most agents the staffing of an opening hour searches."""


def hourly_weights(profile: Sequence[float] | None) -> list[float]:
    """Validate an intraday profile and scale it to a mean of 1.

    Args:
        profile: Relative arrival weights, one per hour, each >= 0 and some > 0; None for a
            flat day.

    Returns:
        The weights divided by their mean (``[1.0]`` for None).

    Raises:
        ValueError: naming ``intraday_profile`` if the profile is empty, negative or all 0.
    """
    if profile is None:
        return [1.0]
    if isinstance(profile, (str, bytes)) or not isinstance(profile, Sequence) or not profile:
        raise check.fail("intraday_profile", profile, "a non-empty list of weights per hour")
    weights = [check.non_negative("intraday_profile", weight) for weight in profile]
    total = sum(weights)
    if total <= 0:
        raise check.fail("intraday_profile", profile, "a list with some weight > 0")
    return [weight * len(weights) / total for weight in weights]


def agents_by_hour(
    calls_per_hour: Sequence[float],
    aht_seconds: float,
    target_service_level: float,
    answer_within_seconds: float = 20.0,
    patience_seconds: float | None = None,
    max_agents: int = MAX_AGENTS_PER_HOUR,
) -> tuple[int, ...]:
    """Staff every hour to its own load: the fewest agents whose steady-state service level
    reaches the target (Erlang A, or Erlang C without patience), at least `MIN_AGENTS`.

    Args:
        calls_per_hour: Expected calls in each hour (calls per hour), each >= 0.
        aht_seconds: Mean handle time (seconds), > 0.
        target_service_level: Wanted share answered within the target time, in (0, 1).
        answer_within_seconds: Service-level target time (seconds), >= 0.
        patience_seconds: Mean patience (seconds), > 0, or None for callers who never hang up.
        max_agents: Largest staffing of an hour searched, >= 1.

    Returns:
        The agents on duty in each hour.

    Raises:
        ValueError: If an argument is out of range, or an hour needs more than
            ``max_agents``.
    """
    return tuple(
        max(
            MIN_AGENTS,
            agents_for_service_level(
                rate,
                aht_seconds,
                target_service_level,
                answer_within_seconds,
                patience_seconds,
                max_agents,
            ),
        )
        for rate in calls_per_hour
    )


def day_metrics(
    hours: Sequence[QueueMetrics], calls_per_hour: Sequence[float], agents: Sequence[int]
) -> QueueMetrics:
    """The metrics of a day of one-hour steady states.

    Shares and the mean wait are averages over the day's calls (each hour weighted by its
    calls), the ASA over its answered calls; occupancy is busy agent-time over agent-time on
    duty; the offered load and the queue length are averages over the hours.

    Args:
        hours: Each hour's steady-state metrics.
        calls_per_hour: Each hour's offered calls (calls per hour), the weights.
        agents: Each hour's agents on duty.

    Returns:
        The day's `QueueMetrics`.
    """
    if not len(hours) == len(calls_per_hour) == len(agents) or not hours:
        raise ValueError("hours: need one metrics, one rate and one staffing per hour")
    calls = math.fsum(calls_per_hour)
    if len(hours) == 1 or calls == 0:
        return hours[0]

    weighted = list(zip(hours, calls_per_hour, strict=True))

    def by_calls(name: str) -> float:
        return math.fsum(r * getattr(m, name) for m, r in weighted) / calls

    answered = [r * (1.0 - m.abandon_rate) for m, r in weighted]
    all_answered = math.fsum(answered)
    waited = math.fsum(w * m.asa_seconds for m, w in zip(hours, answered, strict=True) if w > 0)
    on_duty = sum(agents)
    busy = math.fsum(m.occupancy * n for m, n in zip(hours, agents, strict=True))
    return QueueMetrics(
        p_wait=by_calls("p_wait"),
        asa_seconds=waited / all_answered if all_answered > 0 else math.nan,
        mean_wait_seconds=by_calls("mean_wait_seconds"),
        service_level=by_calls("service_level"),
        abandon_rate=by_calls("abandon_rate"),
        occupancy=busy / on_duty if on_duty else 0.0,
        offered_load_erlangs=math.fsum(m.offered_load_erlangs for m in hours) / len(hours),
        mean_queue_length=math.fsum(m.mean_queue_length for m in hours) / len(hours),
    )
