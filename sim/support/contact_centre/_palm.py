"""Erlang A compiled: the stationary law of an M/M/n+M centre, a tagged caller's wait summed
over it, the fewest agents that reach a service level, and a month's staffing fixed point.

`sim.support.contact_centre.erlang.erlang_a` and `agents_for_service_level` check their
arguments and call these kernels; `sim.support.staffing.month_rota` calls `month_rota` for a
month's staffing, which runs Erlang A some seventy times (each opening hour, each step of the
abandonment fixed point and of the search for the fewest agents). Erlang A's special
functions become recurrences over the queue position ``j = first, first + 1, …``:

- the mean of the stage sum, ``ψ(β + j + 2) − ψ(β + 1) = Σ_{i=0..j} 1 / (β + 1 + i)``;
- the regularised incomplete beta ``I_x(j + 1, β + 1)``, stepped down by
  ``I_x(a + 1, b) = I_x(a, b) − Γ(a + b) / (Γ(a + 1) Γ(b)) · x^a (1 − x)^b``, the terms
  carried in log space so that none underflows before it matters;

started at ``j = 0`` from ``I_x(1, b) = 1 − (1 − x)^b``, or, for a queue law held only
around its mode (``first > 0``), from `digamma` (asymptotic series) and `betainc` (Lentz's
continued fraction). They agree with SciPy's ``digamma`` and ``betainc`` to about 1e-13
(tests/test_boundaries.py, tests/test_erlang.py).

Statuses: `HELD` (a result), `TOO_LONG` (the queue law needs more than ``max_states``
states, even around its mode), `NO_STAFFING` (no staffing up to the limit reaches the
target).
"""

from __future__ import annotations

import math

import numba
import numpy as np

TAIL_LOG = 40.0
"""The queue part of the law is cut where its terms fall below exp(−TAIL_LOG) of the
largest state probability (exp(−40) ≈ 4e-18, well under 1e-15)."""
SECONDS_PER_HOUR = 3600.0
HELD, TOO_LONG, NO_STAFFING = 0, 1, 2
_FIXED_POINT_STEPS = 200
_FIXED_POINT_TOLERANCE = 1e-9


@numba.njit(cache=True, nogil=True)
def digamma(z: float) -> float:
    """ψ(z) for z > 0: shifted up to z >= 6 by ψ(z) = ψ(z + 1) − 1/z, then the asymptotic
    series (error under 1e-15)."""
    result = 0.0
    while z < 6.0:
        result -= 1.0 / z
        z += 1.0
    f = 1.0 / (z * z)
    series = f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f / 132))))
    return result + math.log(z) - 0.5 / z - series


@numba.njit(cache=True, nogil=True)
def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    c = 1.0
    d = 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 1_000_000):
        m2 = 2 * m
        for aa in (
            m * (b - m) * x / ((a - 1.0 + m2) * (a + m2)),
            -(a + m) * (a + b + m) * x / ((a + m2) * (a + 1.0 + m2)),
        ):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-16:
            break
    return h


@numba.njit(cache=True, nogil=True)
def betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b), a, b > 0, x in [0, 1]."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, 1.0 - x) / b


@numba.njit(cache=True, nogil=True)
def _queue_window(
    lam: float, mu: float, theta: float, n: int, log_servers: np.ndarray, max_states: int
) -> tuple[int, np.ndarray, int]:
    """The queue law around its mode, for a queue too long to hold from its first state.

    With ``x = λ/θ`` and ``β = nμ/θ`` the queue law is ``π(n + j) ∝ x^j / Γ(β + j + 1)``,
    log-concave with its mode at ``j* = max(⌊x − β⌋, 0)`` and a spread of about
    ``√(β + j*)``, so the states left out are fewer still and their mass is negligible. The
    log-probabilities are summed outwards from the mode (accurate for any queue length);
    the mode's own level against the busy states comes from the gamma function.
    Returns ``(status, log_queue, first)``: the queue's log-probabilities, on the scale of
    `log_servers`, from queue position ``first``."""
    x = lam / theta
    beta = n * mu / theta
    mode = max(math.floor(x - beta), 0)
    half = math.ceil(math.sqrt(2.0 * TAIL_LOG * (beta + mode + 1.0))) + 50
    while True:
        low, high = max(mode - half, 0), mode + half
        if high - low + 1 > max_states:
            return TOO_LONG, np.empty(0), 0
        size = high - low + 1
        log_queue = np.empty(size)
        at_mode = mode - low
        log_queue[at_mode] = 0.0
        # log π(n + j) − log π(n + j − 1) = log x − log(β + j)
        for i in range(at_mode - 1, -1, -1):  # below the mode: back out the step into i + 1
            log_queue[i] = log_queue[i + 1] + math.log1p((beta + (low + i + 1) - x) / x)
        for i in range(at_mode + 1, size):
            log_queue[i] = log_queue[i - 1] - math.log1p((beta + (low + i) - x) / x)
        if (low == 0 or log_queue[0] < -TAIL_LOG) and log_queue[-1] < -TAIL_LOG:
            break
        half *= 2
    mode_level = (
        log_servers[n]
        + mode * math.log(x)
        - (math.lgamma(beta + mode + 1.0) - math.lgamma(beta + 1.0))
    )
    return HELD, log_queue + mode_level, low


@numba.njit(cache=True, nogil=True)
def palm_law(
    lam: float, mu: float, theta: float, n: int, max_states: int, from_start: int = -1
) -> tuple[int, np.ndarray, np.ndarray, int]:
    """Stationary law of the number of calls in an M/M/n+M centre: ``(status, busy, queue,
    first)`` with ``busy[k] = P(N = k)`` for ``k < n`` and ``queue[i] = P(N = n + first +
    i)``. Rates per second. The queue law peaks where departures (n·μ + j·θ) catch up with
    arrivals and then falls off like a Poisson law of mean λ/θ; under load it also falls
    geometrically at rate ρ. It is summed from its first state over whichever bound is
    shorter (grown if needed), or, beyond `from_start` states (default `max_states`), around
    its mode, in at most `max_states` states."""
    if from_start < 0:
        from_start = max_states
    log_load = math.log(lam / mu)
    log_servers = np.empty(n + 1)
    log_servers[0] = 0.0
    for k in range(1, n + 1):
        log_servers[k] = k * log_load - math.lgamma(k + 1.0)
    full_rate = n * mu
    peak = max(0.0, (lam - full_rate) / theta)
    extent = peak + 10.0 * math.sqrt(lam / theta) + 50.0
    if lam < full_rate:
        extent = min(extent, TAIL_LOG / -math.log(lam / full_rate) + 50.0)
    states = math.ceil(extent)
    log_lam = math.log(lam)
    first = 0
    while True:
        if states > from_start:
            status, log_queue, first = _queue_window(lam, mu, theta, n, log_servers, max_states)
            if status != HELD:
                return status, np.empty(0), np.empty(0), 0
            break
        log_queue = np.empty(states + 1)
        level = log_servers[n]
        log_queue[0] = level
        for j in range(1, states + 1):
            level += log_lam - math.log(full_rate + j * theta)
            log_queue[j] = level
        top = max(log_servers.max(), log_queue.max())
        if log_queue[-1] < top - TAIL_LOG:
            break
        states *= 2
    top = max(log_servers.max(), log_queue.max())
    busy = np.exp(log_servers[:n] - top)
    queue = np.exp(log_queue - top)
    total = busy.sum() + queue.sum()
    return HELD, busy / total, queue / total, first


@numba.njit(cache=True, nogil=True)
def erlang_a(
    calls_per_hour: float, aht: float, n: int, patience: float, target: float, max_states: int
) -> tuple[int, float, float, float, float, float, float]:
    """Erlang A at `calls_per_hour` (> 0), mean handle time `aht`, `n` agents, mean
    patience `patience` and target time `target` (seconds): ``(status, p_wait, asa_seconds,
    mean_wait_seconds, service_level, abandon_rate, mean_queue_length)``, as
    `sim.support.contact_centre.erlang.erlang_a` documents them."""
    lam = calls_per_hour / SECONDS_PER_HOUR
    mu = 1.0 / aht
    theta = 1.0 / patience
    status, busy, queue, first = palm_law(lam, mu, theta, n, max_states)
    if status != HELD:
        return status, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    beta = n * mu / theta
    b = beta + 1.0
    x = -math.expm1(-theta * target)
    log_x = math.log(x) if x > 0.0 else -math.inf
    log_rest = math.log1p(-x)  # log(1 − x)
    if first == 0:
        within = -math.expm1(b * log_rest)  # I_x(1, b)
        stage = 0.0
    else:
        within = betainc(first + 1.0, b, x)
        stage = digamma(beta + first + 1.0) - digamma(b)  # Σ_{i<first} 1 / (β + 1 + i)
    a = first + 1.0  # the first step down's term, Γ(a + b) / (Γ(a + 1) Γ(b)) x^a (1 − x)^b
    log_gammas = (
        math.log(b) if first == 0 else (math.lgamma(a + b) - math.lgamma(a + 1.0) - math.lgamma(b))
    )
    log_term = log_gammas + a * log_x + b * log_rest
    p_wait = mean_queue = reach_sum = waited = reach_within = 0.0
    for j in range(queue.size):
        q = queue[j]
        ahead = first + j
        p_wait += q
        mean_queue += ahead * q
        reach = q * beta / (beta + ahead + 1.0)  # answered, once `ahead` are ahead of it
        stage += 1.0 / (b + ahead)
        reach_sum += reach
        waited += reach * stage / theta
        reach_within += reach * max(within, 0.0)
        # I_x(a + 1, b) = I_x(a, b) − Γ(a + b) / (Γ(a + 1) Γ(b)) x^a (1 − x)^b, a = ahead + 1
        within -= math.exp(log_term)
        log_term += log_x + math.log(ahead + 1.0 + b) - math.log(ahead + 2.0)
    busy_mass = busy.sum()
    return (
        HELD,
        p_wait,
        waited / (busy_mass + reach_sum),
        mean_queue / lam,
        min(1.0, busy_mass + reach_within),
        min(1.0, theta * mean_queue / lam),
        mean_queue,
    )


@numba.njit(cache=True, nogil=True)
def _service_level(
    calls_per_hour: float, aht: float, n: int, patience: float, target: float, max_states: int
) -> tuple[int, float, float]:
    """``(status, service_level, abandon_rate)`` of an hour; an hour without calls is
    idle (everyone answered at once, nobody hangs up)."""
    if calls_per_hour == 0.0:
        return HELD, 1.0, 0.0
    result = erlang_a(calls_per_hour, aht, n, patience, target, max_states)
    return result[0], result[4], result[5]


@numba.njit(cache=True, nogil=True)
def fewest_agents(
    calls_per_hour: float,
    aht: float,
    goal: float,
    target: float,
    patience: float,
    limit: int,
    max_states: int,
) -> tuple[int, int]:
    """``(status, agents)``: the fewest agents whose Erlang A service level reaches `goal`
    (0 when no calls are offered). No staffing below goal·a can work (at most n/a of the
    offered calls can be answered): the search doubles its step up from there until a
    staffing passes, then bisects."""
    load = calls_per_hour * aht / SECONDS_PER_HOUR
    if load == 0.0:
        return HELD, 0
    failing = max(0, math.ceil(goal * load) - 1)
    step = 1
    candidate = failing + 1
    while True:
        status, level, _ = _service_level(
            calls_per_hour, aht, min(candidate, limit), patience, target, max_states
        )
        if status != HELD:
            return status, 0
        if level >= goal:
            break
        if candidate >= limit:
            return NO_STAFFING, 0
        failing = candidate
        candidate += step
        step *= 2
    passing = min(candidate, limit)
    while passing - failing > 1:
        middle = (failing + passing) // 2
        status, level, _ = _service_level(calls_per_hour, aht, middle, patience, target, max_states)
        if status != HELD:
            return status, 0
        if level >= goal:
            passing = middle
        else:
            failing = middle
    return HELD, passing


@numba.njit(cache=True, nogil=True)
def month_rota(
    weights: np.ndarray,
    hours: float,
    first: int,
    unresolved: int,
    aht: float,
    patience: float,
    target: float,
    goal: float,
    auto: bool,
    agents: int,
    min_agents: int,
    limit: int,
    max_states: int,
) -> tuple[int, np.ndarray, np.ndarray]:
    """``(status, calls_per_hour, agents)``: a month's staffing with impatient callers, as
    `sim.support.staffing.month_rota` states it: each hour staffed for the first contacts
    and the unresolved ones' repeats (the fewest agents that reach `goal`, at least
    `min_agents`, when `auto`; else `agents`); then the fixed point of the day's abandon
    rate, the hang-ups' repeats added to the load and an hour given one more agent at a
    time while it misses the goal (never fewer than before)."""
    size = weights.size
    calls = (first + unresolved) / hours * weights
    staffed = np.full(size, agents, dtype=np.int64)
    if auto:
        for h in range(size):
            status, n = fewest_agents(calls[h], aht, goal, target, patience, limit, max_states)
            if status != HELD:
                return status, calls, staffed
            staffed[h] = max(min_agents, n)
    if first == 0:
        return HELD, calls, staffed
    levels = np.empty(size)
    abandons = np.empty(size)
    for h in range(size):
        status, levels[h], abandons[h] = _service_level(
            calls[h], aht, staffed[h], patience, target, max_states
        )
        if status != HELD:
            return status, calls, staffed
    abandon = 0.0
    for _ in range(_FIXED_POINT_STEPS):
        total = calls.sum()
        day = abandons[0] if size == 1 or total == 0.0 else (calls * abandons).sum() / total
        calls = (first + unresolved + day * (first - unresolved)) / hours * weights
        for h in range(size):
            status, levels[h], abandons[h] = _service_level(
                calls[h], aht, staffed[h], patience, target, max_states
            )
            while status == HELD and auto and levels[h] < goal:
                staffed[h] += 1
                status, levels[h], abandons[h] = _service_level(
                    calls[h], aht, staffed[h], patience, target, max_states
                )
            if status != HELD:
                return status, calls, staffed
        if abs(day - abandon) < _FIXED_POINT_TOLERANCE:
            break
        abandon = day
    return HELD, calls, staffed
