"""Closed forms: published worked examples, exact arithmetic, independent formulas, limits."""

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy.linalg import expm
from scipy.stats import poisson

from sim.support.contact_centre import agents_for_service_level, erlang_a, erlang_b, erlang_c


def exact_erlang_c(calls_per_hour, aht_seconds, agents):
    """Erlang C from the textbook factorial formula in exact rational arithmetic."""
    load = Fraction(calls_per_hour) * Fraction(aht_seconds) / 3600
    terms = [load**k / math.factorial(k) for k in range(agents)]
    top = load**agents / math.factorial(agents) * agents / (agents - load)
    return float(top / (sum(terms) + top)), float(load)


def test_call_centre_helper_worked_example():
    # The worked example of Call Centre Helper's "Erlang C Formula - Made Simple": 100 calls
    # per 30 minutes, AHT 3 minutes, 80% of calls answered within 20 seconds. The published
    # answer (reproduced in pyworkforce's ErlangC tutorial) is 14 agents, with a probability
    # of waiting of 0.174, a service level of 0.888 and an occupancy of 0.714.
    assert agents_for_service_level(200, 180, 0.8, answer_within_seconds=20) == 14
    metrics = erlang_c(200, 180, 14, answer_within_seconds=20)
    assert metrics.p_wait == pytest.approx(0.174, abs=5e-4)
    assert metrics.service_level == pytest.approx(0.888, abs=5e-4)
    assert metrics.occupancy == pytest.approx(0.714, abs=5e-4)
    assert metrics.offered_load_erlangs == pytest.approx(10.0)
    assert erlang_c(200, 180, 13).service_level < 0.8
    # ASA = C · AHT / (n − a) and Lq = C · a / (n − a); nobody hangs up, so the ASA of the
    # answered calls is the mean wait of all of them.
    assert metrics.asa_seconds == pytest.approx(metrics.p_wait * 180 / 4)
    assert metrics.mean_wait_seconds == metrics.asa_seconds
    assert metrics.mean_queue_length == pytest.approx(metrics.p_wait * 10 / 4)


@pytest.mark.parametrize(
    "calls_per_hour, aht_seconds, agents",
    [(200, 180, 11), (200, 180, 12), (720, 240, 55), (20, 300, 3), (45, 400, 6), (1, 60, 1)],
)
def test_erlang_c_matches_exact_factorial_formula(calls_per_hour, aht_seconds, agents):
    p_wait, load = exact_erlang_c(calls_per_hour, aht_seconds, agents)
    metrics = erlang_c(calls_per_hour, aht_seconds, agents, answer_within_seconds=15)
    assert metrics.p_wait == pytest.approx(p_wait, rel=1e-12)
    expected_sl = 1 - p_wait * math.exp(-(agents - load) * 15 / aht_seconds)
    assert metrics.service_level == pytest.approx(expected_sl, rel=1e-12)
    assert metrics.occupancy == pytest.approx(load / agents)
    assert metrics.abandon_rate == 0.0


@pytest.mark.parametrize("agents, load", [(500, 480.0), (2000, 1950.0), (5000, 4990.0)])
def test_erlang_b_and_c_stay_accurate_for_thousands_of_agents(agents, load):
    # Independent form: B(n, a) = P(X = n) / P(X <= n) for X ~ Poisson(a).
    expected_b = poisson.pmf(agents, load) / poisson.cdf(agents, load)
    assert erlang_b(load, agents) == pytest.approx(expected_b, rel=1e-9)
    metrics = erlang_c(load * 3600 / 180, 180, agents)
    expected_c = agents * expected_b / (agents - load * (1 - expected_b))
    assert metrics.p_wait == pytest.approx(expected_c, rel=1e-9)
    assert 0 < metrics.p_wait < 1 and 0 < metrics.service_level < 1


def test_erlang_c_overloaded_centre_is_reported_as_unbounded():
    metrics = erlang_c(200, 180, 10)  # a = n = 10 erlangs
    assert metrics.p_wait == 1.0 and metrics.service_level == 0.0 and metrics.occupancy == 1.0
    assert math.isinf(metrics.asa_seconds) and math.isinf(metrics.mean_queue_length)
    assert math.isinf(metrics.mean_wait_seconds)


def test_no_calls_means_no_waiting():
    for metrics in (erlang_c(0, 180, 0), erlang_a(0, 180, 3, 60)):
        assert metrics.p_wait == 0 and metrics.service_level == 1 and metrics.occupancy == 0
        assert metrics.asa_seconds == 0 and metrics.mean_wait_seconds == 0
    assert agents_for_service_level(0, 180, 0.8) == 0


def test_erlang_a_matches_pyworkforce_regression_values():
    # pyworkforce's ErlangA test (an independent implementation by uniformisation of the
    # tagged-caller chain): 100 calls / 30 min, AHT 3 min, patience 5 min, 14 agents.
    metrics = erlang_a(200, 180, 14, patience_seconds=300, answer_within_seconds=20)
    assert round(metrics.p_wait, 5) == 0.14526
    assert round(metrics.abandon_rate, 6) == 0.013984
    assert round(metrics.occupancy, 6) == 0.704297
    # pyworkforce's "ASA" averages the waits of all callers, abandoned ones included.
    assert metrics.mean_wait_seconds == pytest.approx(0.069919 * 60, abs=1e-4)
    assert round(metrics.service_level, 6) == 0.916792
    assert metrics.asa_seconds < metrics.mean_wait_seconds


def truncated_stationary_law(lam, mu, theta, agents, extra):
    """The stationary law of the M/M/n+M chain truncated `extra` callers above `agents`, by
    its balance equations (rates per second)."""
    size = agents + extra
    generator = np.zeros((size + 1, size + 1))
    for k in range(size):
        generator[k, k + 1] = lam
        generator[k + 1, k] = min(k + 1, agents) * mu + max(k + 1 - agents, 0) * theta
    np.fill_diagonal(generator, -generator.sum(axis=1))
    system = np.vstack([generator.T, np.ones(size + 1)])
    rhs = np.zeros(size + 2)
    rhs[-1] = 1
    return np.linalg.lstsq(system, rhs, rcond=None)[0]


def tagged_caller_service_level(calls_per_hour, aht, agents, patience, target, extra=120):
    """Erlang A service level by brute force: the truncated chain's balance equations for the
    stationary law, and a matrix exponential of the tagged caller's absorbing chain."""
    lam, mu, theta = calls_per_hour / 3600, 1 / aht, 1 / patience
    stationary = truncated_stationary_law(lam, mu, theta, agents, extra)
    # Tagged caller with j callers ahead: states j = 0..extra, then served, abandoned.
    ahead = extra + 1
    tagged = np.zeros((ahead + 2, ahead + 2))
    served, abandoned = ahead, ahead + 1
    for j in range(ahead):
        tagged[j, j - 1 if j else served] = agents * mu + j * theta
        tagged[j, abandoned] = theta
    np.fill_diagonal(tagged, -tagged.sum(axis=1))
    reached = expm(tagged * target)[:, served]
    forever = expm(tagged * 1e6)[:, abandoned]
    sl = stationary[:agents].sum() + np.dot(stationary[agents:], reached[:ahead])
    ab = np.dot(stationary[agents:], forever[:ahead])
    return sl, ab, stationary[agents:].sum()


def tagged_caller_waits(calls_per_hour, aht, agents, patience, extra=120):
    """Erlang A waits by brute force: the stationary law of the truncated chain, and the
    tagged caller's absorbing chain through its fundamental matrix N = (−Q)⁻¹. From j callers
    ahead the mean time to leave the queue is (N·1)_j, the probability of being answered
    (N·r)_j and the mean wait counted only when answered (N²·r)_j, r the rates of being
    answered. Returns (mean wait of answered callers, mean wait of all callers)."""
    lam, mu, theta = calls_per_hour / 3600, 1 / aht, 1 / patience
    stationary = truncated_stationary_law(lam, mu, theta, agents, extra)
    ahead = extra + 1
    transient = np.zeros((ahead, ahead))
    answered_rate = np.zeros(ahead)
    for j in range(ahead):
        if j:
            transient[j, j - 1] = agents * mu + j * theta
        else:
            answered_rate[j] = agents * mu
        transient[j, j] = -(agents * mu + (j + 1) * theta)
    fundamental = np.linalg.inv(-transient)
    p_answered = fundamental @ answered_rate
    wait_if_answered = fundamental @ p_answered  # N²·r
    wait = fundamental @ np.ones(ahead)
    queued = stationary[agents:]
    answered = stationary[:agents].sum() + np.dot(queued, p_answered[: queued.size])
    asa = np.dot(queued, wait_if_answered[: queued.size]) / answered
    return asa, np.dot(queued, wait[: queued.size])


@pytest.mark.parametrize(
    "calls_per_hour, aht, agents, patience",
    [(200, 180, 14, 300), (300, 180, 12, 120), (40, 600, 5, 60), (90, 240, 4, 500)],
)
def test_erlang_a_waits_of_answered_and_of_all_callers_match_brute_force(
    calls_per_hour, aht, agents, patience
):
    asa, mean_wait = tagged_caller_waits(calls_per_hour, aht, agents, patience)
    metrics = erlang_a(calls_per_hour, aht, agents, patience)
    assert metrics.asa_seconds == pytest.approx(asa, rel=1e-9)
    assert metrics.mean_wait_seconds == pytest.approx(mean_wait, rel=1e-9)
    # Little: the mean wait of all callers is E[Lq] / λ.
    lam = calls_per_hour / 3600
    assert metrics.mean_wait_seconds == pytest.approx(metrics.mean_queue_length / lam)
    # All callers' mean wait = answered share × ASA + abandoned share × their mean wait.
    assert metrics.mean_wait_seconds > (1 - metrics.abandon_rate) * metrics.asa_seconds > 0


@pytest.mark.parametrize(
    "calls_per_hour, aht, agents, patience, target",
    [(200, 180, 14, 300, 20), (300, 180, 12, 120, 30), (40, 600, 5, 60, 60), (90, 240, 4, 500, 0)],
)
def test_erlang_a_matches_brute_force_markov_chain(calls_per_hour, aht, agents, patience, target):
    sl, ab, p_wait = tagged_caller_service_level(calls_per_hour, aht, agents, patience, target)
    metrics = erlang_a(calls_per_hour, aht, agents, patience, answer_within_seconds=target)
    assert metrics.service_level == pytest.approx(sl, abs=1e-9)
    assert metrics.abandon_rate == pytest.approx(ab, abs=1e-9)
    assert metrics.p_wait == pytest.approx(p_wait, abs=1e-9)


@pytest.mark.parametrize("agents", [11, 14, 95])
def test_erlang_a_with_very_patient_callers_is_erlang_c(agents):
    calls = 200 if agents < 50 else 1800
    c = erlang_c(calls, 180, agents)
    a = erlang_a(calls, 180, agents, patience_seconds=1e9)
    assert a.p_wait == pytest.approx(c.p_wait, rel=1e-4)
    assert a.asa_seconds == pytest.approx(c.asa_seconds, rel=1e-4)
    assert a.service_level == pytest.approx(c.service_level, rel=1e-4)
    assert a.occupancy == pytest.approx(c.occupancy, rel=1e-4)
    assert a.mean_wait_seconds == pytest.approx(c.mean_wait_seconds, rel=1e-4)
    assert c.mean_wait_seconds == c.asa_seconds
    assert erlang_a(calls, 180, agents, patience_seconds=math.inf) == c


def test_erlang_a_is_stable_for_500_agents():
    metrics = erlang_a(9000, 180, 500, patience_seconds=300)  # a = 450 erlangs
    c = erlang_c(9000, 180, 500)
    for value in (metrics.p_wait, metrics.service_level, metrics.abandon_rate):
        assert 0 <= value <= 1
    assert metrics.p_wait < c.p_wait and metrics.asa_seconds < c.asa_seconds
    assert metrics.service_level == pytest.approx(c.service_level, abs=1e-3)
    assert metrics.occupancy == pytest.approx(0.9 * (1 - metrics.abandon_rate))


@pytest.mark.parametrize("agents, load", [(20, 40.0), (500, 600.0), (1000, 2000.0)])
def test_erlang_a_overload_is_finite_and_abandons_the_excess(agents, load):
    # Heavy overload: agents are always busy, so the throughput is n/AHT and the rest of the
    # offered calls, a share of 1 − n/a, must abandon.
    metrics = erlang_a(load * 20, 180, agents, patience_seconds=60)
    assert math.isfinite(metrics.asa_seconds) and math.isfinite(metrics.mean_queue_length)
    assert metrics.abandon_rate == pytest.approx(1 - agents / load, abs=2e-3)
    assert metrics.occupancy == pytest.approx(1.0, abs=2e-3)
    assert metrics.p_wait > 0.95


def test_erlang_a_identities():
    metrics = erlang_a(300, 180, 12, patience_seconds=120, answer_within_seconds=20)
    # Exponential patience: abandon rate = mean wait of all callers / mean patience.
    assert metrics.abandon_rate == pytest.approx(metrics.mean_wait_seconds / 120)
    # Little: mean queue = arrival rate × mean wait of all callers.
    assert metrics.mean_queue_length == pytest.approx(300 / 3600 * metrics.mean_wait_seconds)
    # Everyone answered eventually is everyone who did not abandon.
    forever = erlang_a(300, 180, 12, patience_seconds=120, answer_within_seconds=1e7)
    assert forever.service_level == pytest.approx(1 - metrics.abandon_rate, abs=1e-12)
    assert erlang_a(300, 180, 12, 120, answer_within_seconds=0).service_level == pytest.approx(
        1 - metrics.p_wait
    )


@pytest.mark.parametrize("patience", [None, 60.0, 600.0])
@pytest.mark.parametrize("calls_per_hour, target", [(200, 0.8), (1800, 0.9), (20000, 0.8)])
def test_agents_for_service_level_is_the_smallest_staffing(calls_per_hour, target, patience):
    agents = agents_for_service_level(calls_per_hour, 180, target, patience_seconds=patience)

    def level(n):
        if patience is None:
            return erlang_c(calls_per_hour, 180, n).service_level
        return erlang_a(calls_per_hour, 180, n, patience).service_level

    assert level(agents) >= target > level(agents - 1)


def test_agents_for_service_level_gives_up_past_max_agents():
    with pytest.raises(ValueError, match="max_agents: got 20"):
        agents_for_service_level(2000, 180, 0.8, max_agents=20)
    with pytest.raises(ValueError, match="max_agents: got 20"):
        agents_for_service_level(2000, 180, 0.8, patience_seconds=60, max_agents=20)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: erlang_c(-5, 180, 3), "calls_per_hour: got -5; must be a finite number >= 0"),
        (lambda: erlang_c(100, 0, 3), "aht_seconds: got 0; must be a finite number > 0"),
        (lambda: erlang_c(100, -3, 3), "aht_seconds: got -3; must be a finite number > 0"),
        (lambda: erlang_c(100, 180, 0), "agents: got 0; must be >= 1 when calls_per_hour > 0"),
        (lambda: erlang_c(100, 180, 2.5), "agents: got 2.5; must be a whole number >= 0"),
        (lambda: erlang_c(100, 180, 3, -1), "answer_within_seconds: got -1; must be"),
        (lambda: erlang_a(100, 180, 3, 0), "patience_seconds: got 0; must be > 0"),
        (lambda: erlang_a(100, 180, 3, -60), "patience_seconds: got -60; must be > 0"),
        (lambda: erlang_c(float("nan"), 180, 3), "calls_per_hour: got nan; must be a number"),
        (lambda: agents_for_service_level(100, 180, 1.0), "target_service_level: got 1; must"),
        (lambda: agents_for_service_level(100, 180, 0), "target_service_level: got 0; must"),
        (lambda: agents_for_service_level(100, 180, 0.8, patience_seconds=-1), "patience"),
    ],
)
def test_bad_arguments_are_named_in_the_error(call, message):
    with pytest.raises(ValueError) as error:
        call()
    assert str(error.value).startswith(message)
