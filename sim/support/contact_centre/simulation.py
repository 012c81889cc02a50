"""A SimPy process model of one period of an inbound contact centre.

Customers ring a pool of ``agents``, a fixed headcount or an hour-by-hour schedule (agents
go on a break at the end of the call in hand and come back when their next hour on duty
starts). Each call waits in one first-come-first-served queue until an agent is free or, if
callers have a ``patience``, until that patience runs out and the caller hangs up
(abandons). An answered call keeps its agent for a handle time; with some
probability it is transferred and needs a second handle-time segment from another agent,
ahead of the calls still queueing. When the call ends the customer's issue is resolved with
probability ``first_contact_resolution``; otherwise the same customer rings again, as a
repeat contact, after a delay. Fresh calls arrive as a Poisson stream whose rate may follow an
hour-by-hour intraday profile. Statistics exclude a warm-up that starts the centre empty.

The model gives two things. Its aggregate metrics, in the same `QueueMetrics` shape as the
closed forms in `sim.support.contact_centre.erlang`, check those formulas and go beyond them
(lognormal handle times, repeats, transfers, intraday peaks). Its per-contact table couples
the centre to a population model: to know what a month of contacts from a large population
experiences, simulate a representative period of the centre at that month's arrival rate and
staffing, then give each of the population's contacts the outcome of a contact of the
simulated table (`outcomes_for_contacts` draws them at random; the journey model's desk,
`sim.support.desk`, picks them by each customer's own uniform). This representative-period
resampling keeps the joint law of wait, abandonment and resolution that queueing produces,
at a cost that does not grow with the population. The table, the result and the resampling
live in `sim.support.contact_centre.results`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Sequence

import numpy as np
import simpy

from sim.support.contact_centre import _validate as check
from sim.support.contact_centre._validate import HANDLE_TIME_DISTRIBUTIONS
from sim.support.contact_centre.erlang import SECONDS_PER_HOUR
from sim.support.contact_centre.intraday import hourly_weights
from sim.support.contact_centre.results import (
    ContactLog,
    ContactTable,
    SimulationResult,
    generator,
    outcomes_for_contacts,
    period_result,
)

__all__ = [
    "HANDLE_TIME_DISTRIBUTIONS",
    "ContactTable",
    "SimulationResult",
    "outcomes_for_contacts",
    "simulate",
]


# Queue priorities: an agent going on a break takes the next seat to free up, ahead of every
# caller; a transferred caller is already talking to the centre, so it goes ahead of new ones.
_BREAK_PRIORITY = -1
_TRANSFER_PRIORITY = 0
_NEW_CALL_PRIORITY = 1


class _TimeAverage:
    """The area under a piecewise-constant level (calls waiting, agents busy) in a window."""

    def __init__(self, start: float, stop: float) -> None:
        self.start, self.stop = start, stop
        self.level = 0
        self.since = 0.0
        self.area = 0.0

    def change(self, now: float, delta: int) -> None:
        low, high = max(self.since, self.start), min(now, self.stop)
        if high > low:
            self.area += self.level * (high - low)
        self.level += delta
        self.since = now

    def mean(self) -> float:
        self.change(self.stop, 0)
        return self.area / (self.stop - self.start)


def _handle_time_sampler(
    rng: np.random.Generator, distribution: str, mean: float, cv: float
) -> Callable[[], float]:
    """Return a function drawing one handle-time segment (seconds) with the given mean."""
    if distribution == "exponential":
        return lambda: rng.exponential(mean)
    sigma = math.sqrt(math.log1p(cv * cv))
    mu = math.log(mean) - sigma * sigma / 2.0
    return lambda: rng.lognormal(mu, sigma)


def _schedule(calls_per_hour: float, agents: int | Sequence[int]) -> tuple[int, ...]:
    """Validate a headcount or an hourly schedule of agents; return the schedule."""
    if isinstance(agents, Sequence) and not isinstance(agents, (str, bytes)):
        if not agents:
            raise check.fail("agents", agents, "a whole number or a non-empty list of them")
        return tuple(check.staffing(calls_per_hour, n) for n in agents)
    return (check.staffing(calls_per_hour, agents),)


def _mean_on_duty(schedule: tuple[int, ...], hours: float) -> float:
    """Time-average agents on duty over the first ``hours`` hours of the schedule (agents)."""
    if len(set(schedule)) == 1:
        return float(schedule[0])
    whole = math.floor(hours)
    total = sum(schedule[hour % len(schedule)] for hour in range(whole))
    total += (hours - whole) * schedule[whole % len(schedule)]
    return total / hours


def simulate(
    calls_per_hour: float,
    aht_seconds: float,
    agents: int | Sequence[int],
    hours: float,
    rng: np.random.Generator | int,
    patience_seconds: float | None = None,
    answer_within_seconds: float = 20.0,
    handle_time: str = "exponential",
    handle_time_cv: float = 1.0,
    first_contact_resolution: float = 1.0,
    repeat_delay_seconds: float = 3600.0,
    transfer_probability: float = 0.0,
    intraday_profile: Sequence[float] | None = None,
    warmup_hours: float | None = None,
) -> SimulationResult:
    """Simulate ``hours`` of a contact centre after a warm-up and measure what callers get.

    The simulated clock runs a warm-up of ``warmup_hours`` (default: 10% of ``hours``, at
    most one hour) from an empty centre, then the measured period of ``hours``. Afterwards no
    new calls arrive and the centre works on (for at most another ``hours``) until every
    measured contact is answered or abandoned; a contact still waiting then is recorded as
    neither, with its wait so far.

    Args:
        calls_per_hour: Mean arrival rate of fresh calls (calls per hour), >= 0; repeat
            contacts come on top.
        aht_seconds: Mean of one handle-time segment (seconds), > 0.
        agents: Number of agents, >= 1 when calls arrive; or the agents on duty in each
            successive hour, repeated cyclically and aligned with ``intraday_profile`` (a
            schedule as long as the profile staffs each of its hours).
        hours: Length of the measured period (hours), > 0.
        rng: A ``numpy.random.Generator``, or an integer seed for a new one.
        patience_seconds: Mean of the callers' exponential patience (seconds), > 0; None (or
            ``math.inf``) for callers who never hang up.
        answer_within_seconds: Service-level target time (seconds), >= 0.
        handle_time: Handle-time distribution, one of `HANDLE_TIME_DISTRIBUTIONS`.
        handle_time_cv: Coefficient of variation of lognormal handle times, > 0.
        first_contact_resolution: Probability an answered call resolves the issue, in (0, 1].
        repeat_delay_seconds: Mean (exponential) delay before an unresolved customer calls
            back (seconds), > 0. Call-backs due after the measured period are not simulated.
        transfer_probability: Probability an answered call needs a second segment, in [0, 1].
        intraday_profile: Relative arrival weights for successive hours of the measured
            period, repeated cyclically (the warm-up takes the hours before it); scaled to
            average 1, so ``calls_per_hour`` stays the mean rate. None for a flat rate.
        warmup_hours: Length of the excluded warm-up (hours), >= 0.

    Returns:
        The `SimulationResult` of the measured period.

    Raises:
        ValueError: If an argument is out of range; the message names it.
    """
    rate = check.non_negative("calls_per_hour", calls_per_hour)
    aht = check.positive("aht_seconds", aht_seconds)
    schedule = _schedule(rate, agents)
    horizon_hours = check.positive("hours", hours)
    rng = generator(rng)
    patience = None
    if patience_seconds is not None:
        patience = check.positive("patience_seconds", patience_seconds, allow_inf=True)
        patience = None if math.isinf(patience) else patience
    target = check.non_negative("answer_within_seconds", answer_within_seconds)
    if handle_time not in HANDLE_TIME_DISTRIBUTIONS:
        allowed = " or ".join(repr(name) for name in HANDLE_TIME_DISTRIBUTIONS)
        raise check.fail("handle_time", handle_time, allowed)
    cv = check.positive("handle_time_cv", handle_time_cv)
    fcr = check.probability(
        "first_contact_resolution", first_contact_resolution, low_open=True, high_open=False
    )
    repeat_delay = check.positive("repeat_delay_seconds", repeat_delay_seconds)
    p_transfer = check.probability(
        "transfer_probability", transfer_probability, low_open=False, high_open=False
    )
    weights = hourly_weights(intraday_profile)
    if warmup_hours is None:
        warmup = min(1.0, 0.1 * horizon_hours)
    else:
        warmup = check.non_negative("warmup_hours", warmup_hours)

    env = simpy.Environment()
    centre = simpy.PriorityResource(env, capacity=max(*schedule, 1))
    start = warmup * SECONDS_PER_HOUR
    stop = start + horizon_hours * SECONDS_PER_HOUR
    queue = _TimeAverage(start, stop)
    busy = _TimeAverage(start, stop)
    log = ContactLog()
    handle_segment = _handle_time_sampler(rng, handle_time, aht, cv)
    hourly_rate = [rate / SECONDS_PER_HOUR * weight for weight in weights]

    def talk() -> Generator[simpy.Event, object, float]:
        """An agent handles one segment of a call; return its length (seconds)."""
        busy.change(env.now, +1)
        segment = handle_segment()
        yield env.timeout(segment)
        busy.change(env.now, -1)
        return segment

    def caller(is_repeat: bool = False) -> Generator[simpy.Event, object, None]:
        """One customer: ring, wait or hang up, be handled, and call back if unresolved."""
        while True:
            row = log.arrive(env.now, is_repeat)
            queue.change(env.now, +1)
            with centre.request(priority=_NEW_CALL_PRIORITY) as request:
                if patience is None:
                    yield request
                else:
                    yield request | env.timeout(rng.exponential(patience))
                queue.change(env.now, -1)
                log.wait_over(row, env.now, answered=request.triggered)
                if not request.triggered:
                    return  # patience ran out first: the caller hangs up for good
                handle = yield from talk()
            transferred = rng.random() < p_transfer
            if transferred:
                with centre.request(priority=_TRANSFER_PRIORITY) as colleague:
                    yield colleague
                    handle += yield from talk()
            resolved = rng.random() < fcr
            log.call_over(row, handle, transferred, resolved)
            if resolved:
                return
            yield env.timeout(rng.exponential(repeat_delay))
            if env.now >= stop:
                return  # the call back falls after the period: not simulated
            is_repeat = True

    def on_duty(agent: int, hour: int) -> bool:
        """Whether the schedule counts `agent` (numbered from 0) in hour `hour`."""
        return agent < schedule[hour % len(schedule)]

    def agent_shift(agent: int) -> Generator[simpy.Event, object, None]:
        """One agent's rota: spells on duty in the hours whose schedule counts the agent,
        and breaks in between. A break holds a seat of the centre: it takes the next seat to
        free up, so the agent first finishes the call in hand, and gives it back when the
        agent's next hour on duty starts. (Only agents who are on duty in some hours and on
        a break in others have a rota, so every spell ends.)"""
        hour = math.floor(-warmup)  # the hour the clock starts in
        while True:
            working = on_duty(agent, hour)
            ends = hour + 1
            while on_duty(agent, ends) == working:
                ends += 1
            if working:
                yield env.timeout(start + ends * SECONDS_PER_HOUR - env.now)
            else:
                with centre.request(priority=_BREAK_PRIORITY):
                    yield env.timeout(start + ends * SECONDS_PER_HOUR - env.now)
            hour = ends

    def arrivals() -> Generator[simpy.Event, object, None]:
        """Fresh calls: a Poisson stream whose rate is constant within each hour."""
        hour = math.floor(-warmup)
        hour_ends = start + (hour + 1) * SECONDS_PER_HOUR
        while env.now < stop:
            until = min(hour_ends, stop)
            rate_now = hourly_rate[hour % len(hourly_rate)]
            gap = rng.exponential(1.0 / rate_now) if rate_now > 0 else math.inf
            if env.now + gap < until:
                yield env.timeout(gap)
                env.process(caller())
            else:
                yield env.timeout(until - env.now)  # memoryless: draw afresh next hour
                hour += 1
                hour_ends += SECONDS_PER_HOUR

    if rate > 0:
        for agent in range(min(schedule), max(schedule)):
            env.process(agent_shift(agent))
        env.process(arrivals())
        env.run(until=stop + horizon_hours * SECONDS_PER_HOUR)
    table = log.table(start, stop, env.now, target)
    mean_agents = _mean_on_duty(schedule, horizon_hours)
    return period_result(
        table, mean_agents, schedule, horizon_hours, warmup, target, queue.mean(), busy.mean()
    )
