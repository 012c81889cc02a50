"""Closed-form queueing models of an inbound contact centre: Erlang B, Erlang C and Erlang A.

Calls arrive as a Poisson stream at ``calls_per_hour``; each is handled by one of ``agents``
identical agents for an exponentially distributed handle time with mean ``aht_seconds``;
callers who find every agent busy wait in one first-come-first-served queue. Erlang C (the
M/M/n queue) assumes callers wait for ever. Erlang A (M/M/n+M, Palm's model) gives each
waiting caller an exponentially distributed patience with mean ``patience_seconds``: a caller
whose patience runs out before an agent is free abandons. Abandonment keeps the queue finite,
so Erlang A has an answer for any load, including the overloaded centres that Erlang C cannot
describe.

All results are returned as a `QueueMetrics`. The service level is the share of *offered*
calls that are answered within ``answer_within_seconds`` (calls that abandon count as not
answered within the target, whenever they hang up). Some centres instead exclude calls that
abandon within the target from the denominator; that variant is not computed here. The
average speed of answer (ASA) is, as the industry defines it, the mean wait of the calls
that were *answered*; the mean wait of every caller, answered or abandoned (the quantity
Little's law gives), is reported beside it as ``mean_wait_seconds``. Without abandonment
(Erlang C) the two are equal.

Erlang C is computed through Erlang B with the stable recursion
``B(0) = 1, B(k) = a·B(k−1) / (k + a·B(k−1))`` and ``C = n·B / (n − a·(1 − B))``, which stays
accurate for thousands of agents. Erlang A is computed exactly from the stationary
distribution of the birth–death chain of the number of calls in the centre, worked in log
space and truncated where the remaining tail mass is below 1e-15, and from the exact law of a
tagged caller's wait (Garnett, Mandelbaum & Reiman 2002; Mandelbaum & Zeltyn 2007), by the
compiled kernels of `sim.support.contact_centre._palm`. See docs/contact_centre.md for the
equations and their derivation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.support.contact_centre import _palm
from sim.support.contact_centre import _validate as check
from sim.support.contact_centre._palm import SECONDS_PER_HOUR

__all__ = [
    "QueueMetrics",
    "agents_for_service_level",
    "erlang_a",
    "erlang_b",
    "erlang_c",
]

MAX_QUEUE_STATES = 20_000_000
"""The longest queue the exact Erlang A distribution may need before it is refused."""


@dataclass(frozen=True)
class QueueMetrics:
    """Steady-state performance of one queue of agents.

    Attributes:
        p_wait: Probability that a call finds every agent busy and has to wait (0..1).
        asa_seconds: Average speed of answer: the mean wait in queue of the calls that were
            answered (seconds).
        mean_wait_seconds: Mean wait in queue of all offered calls, answered or abandoned
            (seconds); equal to ``asa_seconds`` when nobody abandons.
        service_level: Share of offered calls answered within the target time (0..1).
        abandon_rate: Share of offered calls that hang up before being answered (0..1).
        occupancy: Share of agent time spent handling calls (0..1).
        offered_load_erlangs: Calls per second times mean handle time (erlangs).
        mean_queue_length: Time-average number of calls waiting (calls).
    """

    p_wait: float
    asa_seconds: float
    mean_wait_seconds: float
    service_level: float
    abandon_rate: float
    occupancy: float
    offered_load_erlangs: float
    mean_queue_length: float


def erlang_b(offered_load_erlangs: float, agents: int) -> float:
    """Return the Erlang B blocking probability of ``agents`` servers offered a load.

    Args:
        offered_load_erlangs: Arrival rate times mean handle time (erlangs), >= 0.
        agents: Number of servers, a whole number >= 0.

    Returns:
        The probability that an arriving call finds all servers busy in a loss system.
    """
    load = check.non_negative("offered_load_erlangs", offered_load_erlangs)
    n = check.count("agents", agents)
    blocking = 1.0
    for k in range(1, n + 1):
        blocking = load * blocking / (k + load * blocking)
    return blocking


def _idle_centre() -> QueueMetrics:
    """Metrics of a centre that is offered no calls at all."""
    return QueueMetrics(
        p_wait=0.0,
        asa_seconds=0.0,
        mean_wait_seconds=0.0,
        service_level=1.0,
        abandon_rate=0.0,
        occupancy=0.0,
        offered_load_erlangs=0.0,
        mean_queue_length=0.0,
    )


def _erlang_c_from_b(load: float, agents: int, blocking: float) -> float:
    """Probability of waiting in M/M/n from the Erlang B value of the same n and load."""
    return agents * blocking / (agents - load * (1.0 - blocking))


def erlang_c(
    calls_per_hour: float,
    aht_seconds: float,
    agents: int,
    answer_within_seconds: float = 20.0,
) -> QueueMetrics:
    """Return the Erlang C (M/M/n, callers never hang up) metrics of a centre.

    ``p_wait`` is Erlang's C(n, a) with offered load ``a = calls_per_hour · aht / 3600``;
    the mean wait (of every caller, all of whom are answered, so also the ASA) is
    ``C · AHT / (n − a)`` and the service level is ``1 − C · exp(−(n − a) · T / AHT)``. When
    the centre cannot keep up (``a >= n``) the queue grows without bound: the result then
    has ``p_wait = 1``, ``asa_seconds = mean_wait_seconds = inf``, ``service_level = 0``,
    ``occupancy = 1`` and an infinite queue.

    Args:
        calls_per_hour: Arrival rate of calls (calls per hour), >= 0.
        aht_seconds: Mean handle time of a call (seconds), > 0.
        agents: Number of agents answering calls, >= 1 when calls arrive.
        answer_within_seconds: Service-level target time T (seconds), >= 0.

    Returns:
        The steady-state `QueueMetrics`; ``abandon_rate`` is always 0.

    Raises:
        ValueError: If an argument is out of range; the message names it.
    """
    rate = check.non_negative("calls_per_hour", calls_per_hour)
    aht = check.positive("aht_seconds", aht_seconds)
    n = check.staffing(rate, agents)
    target = check.non_negative("answer_within_seconds", answer_within_seconds)
    load = rate * aht / SECONDS_PER_HOUR
    if load == 0.0:
        return _idle_centre()
    if load >= n:
        return QueueMetrics(
            p_wait=1.0,
            asa_seconds=math.inf,
            mean_wait_seconds=math.inf,
            service_level=0.0,
            abandon_rate=0.0,
            occupancy=1.0,
            offered_load_erlangs=load,
            mean_queue_length=math.inf,
        )
    p_wait = _erlang_c_from_b(load, n, erlang_b(load, n))
    wait = p_wait * aht / (n - load)
    return QueueMetrics(
        p_wait=p_wait,
        asa_seconds=wait,
        mean_wait_seconds=wait,
        service_level=1.0 - p_wait * math.exp(-(n - load) * target / aht),
        abandon_rate=0.0,
        occupancy=load / n,
        offered_load_erlangs=load,
        mean_queue_length=p_wait * load / (n - load),
    )


def kernel_error(status: int, patience: float, limit: int, goal: float) -> ValueError:
    """The error for a compiled kernel's failure `status` (`sim.support.contact_centre._palm`):
    a queue law too long to sum exactly, or no staffing up to `limit` reaching `goal`."""
    if status == _palm.NO_STAFFING:
        return check.fail("max_agents", limit, f"large enough to reach {goal:g} (raise it)")
    return check.fail(
        "patience_seconds",
        patience,
        "small enough for the exact Erlang A distribution (use erlang_c instead)",
    )


def erlang_a(
    calls_per_hour: float,
    aht_seconds: float,
    agents: int,
    patience_seconds: float,
    answer_within_seconds: float = 20.0,
) -> QueueMetrics:
    """Return the Erlang A (M/M/n+M, exponential patience) metrics of a centre.

    The metrics come from the exact stationary distribution ``π`` of the number of calls in
    the centre (births at rate λ, deaths at ``min(k, n)·μ + max(k − n, 0)·θ`` with
    ``θ = 1/patience``). By PASTA an arriving call sees ``π``, so ``p_wait = P(N >= n)``.
    Little's law gives the mean wait of all callers, ``mean_wait_seconds = E[Lq] / λ``, and,
    because each waiting caller abandons at rate θ, ``abandon_rate = θ · E[Lq] / λ``. A
    caller who arrives behind ``j`` others is answered with probability ``β / (β + j + 1)``
    with ``β = nμ/θ``; given that it is answered, its wait is a sum of exponential stages of
    rates ``nμ + (i + 1)θ``, ``i = 0..j``, whose distribution function at T is
    ``I_{1 − e^{−θT}}(j + 1, β + 1)`` (regularised incomplete beta) and whose mean is
    ``(ψ(β + j + 2) − ψ(β + 1)) / θ``. Summing over ``π`` gives the exact service level, the
    share of offered calls answered within T, and the ASA, the mean wait of answered calls.
    This is valid for any load: an overloaded centre (λ·AHT > n) has a finite queue and an
    abandon rate near ``1 − n / (λ·AHT)``.

    Args:
        calls_per_hour: Arrival rate of calls (calls per hour), >= 0.
        aht_seconds: Mean handle time of a call (seconds), > 0.
        agents: Number of agents answering calls, >= 1 when calls arrive.
        patience_seconds: Mean time a caller will wait before hanging up (seconds), > 0;
            ``math.inf`` means callers never hang up and gives `erlang_c`.
        answer_within_seconds: Service-level target time T (seconds), >= 0.

    Returns:
        The steady-state `QueueMetrics`.

    Raises:
        ValueError: If an argument is out of range; the message names it.
    """
    rate = check.non_negative("calls_per_hour", calls_per_hour)
    aht = check.positive("aht_seconds", aht_seconds)
    n = check.staffing(rate, agents)
    patience = check.positive("patience_seconds", patience_seconds, allow_inf=True)
    target = check.non_negative("answer_within_seconds", answer_within_seconds)
    if math.isinf(patience):
        return erlang_c(rate, aht, n, target)
    if rate == 0.0:
        return _idle_centre()

    status, p_wait, asa, mean_wait, service_level, abandon, mean_queue = _palm.erlang_a(
        float(rate), float(aht), int(n), float(patience), float(target), MAX_QUEUE_STATES
    )
    if status != _palm.HELD:
        raise kernel_error(status, patience, 0, 0.0)
    lam = rate / SECONDS_PER_HOUR
    return QueueMetrics(
        p_wait=p_wait,
        asa_seconds=asa,
        mean_wait_seconds=mean_wait,
        service_level=service_level,
        abandon_rate=abandon,
        occupancy=min(1.0, lam * (1.0 - abandon) * aht / n),
        offered_load_erlangs=lam * aht,
        mean_queue_length=mean_queue,
    )


def agents_for_service_level(
    calls_per_hour: float,
    aht_seconds: float,
    target_service_level: float,
    answer_within_seconds: float = 20.0,
    patience_seconds: float | None = None,
    max_agents: int = 10000,
) -> int:
    """Return the smallest number of agents whose service level reaches a target.

    Uses Erlang C, or Erlang A when ``patience_seconds`` is given. Service level is the
    share of offered calls answered within ``answer_within_seconds``. With impatient callers
    the answer can be fewer agents than the offered load, at the price of many abandons:
    check the ``abandon_rate`` at that staffing too.

    Args:
        calls_per_hour: Arrival rate of calls (calls per hour), >= 0.
        aht_seconds: Mean handle time of a call (seconds), > 0.
        target_service_level: Wanted share answered within the target time, in (0, 1).
        answer_within_seconds: Service-level target time T (seconds), >= 0.
        patience_seconds: Mean patience (seconds), > 0, or None for callers who never hang up.
        max_agents: Largest staffing searched, >= 1.

    Returns:
        The number of agents; 0 when no calls are offered.

    Raises:
        ValueError: If an argument is out of range, or no staffing up to ``max_agents``
            reaches the target.
    """
    rate = check.non_negative("calls_per_hour", calls_per_hour)
    aht = check.positive("aht_seconds", aht_seconds)
    goal = check.probability(
        "target_service_level", target_service_level, low_open=True, high_open=True
    )
    target = check.non_negative("answer_within_seconds", answer_within_seconds)
    if patience_seconds is not None:
        patience = check.positive("patience_seconds", patience_seconds, allow_inf=True)
    limit = check.count("max_agents", max_agents, minimum=1)
    load = rate * aht / SECONDS_PER_HOUR
    if load == 0.0:
        return 0

    if patience_seconds is None or math.isinf(patience):
        blocking = 1.0
        for n in range(1, limit + 1):
            blocking = load * blocking / (n + load * blocking)
            if n > load:
                p_wait = _erlang_c_from_b(load, n, blocking)
                if 1.0 - p_wait * math.exp(-(n - load) * target / aht) >= goal:
                    return n
        raise check.fail("max_agents", limit, f"large enough to reach {goal:g} (raise it)")

    status, agents = _palm.fewest_agents(
        float(rate), float(aht), float(goal), float(target), float(patience), int(limit),
        MAX_QUEUE_STATES,
    )  # fmt: skip
    if status != _palm.HELD:
        raise kernel_error(status, patience, limit, goal)
    return agents
