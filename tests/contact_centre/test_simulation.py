"""The SimPy model against the closed forms, queueing identities, and its own behaviour.

Tolerances. Successive callers' waits are correlated, so the spread of a simulated mean is
estimated by batch means: the measured period is cut into 20 equal batches by arrival time,
the metric is averaged in each, and the standard error is the spread of the 20 batch averages
over sqrt(20). With batches many times longer than the queue's relaxation time the batch
averages are nearly independent, and a simulated mean more than 4 standard errors from the
exact value (|t| > 4 with 19 degrees of freedom: probability under 0.1%) would point to a
model error rather than noise. Occupancy is a time average of handle times: its relative
standard error is about sqrt(2 / contacts) for exponential handle times. All runs are seeded,
so the suite is deterministic.
"""

import functools
import math

import numpy as np
import pytest

from sim.support.contact_centre import erlang_a, erlang_c, outcomes_for_contacts, simulate
from sim.support.contact_centre.intraday import TYPICAL_WEEKDAY, agents_by_hour, day_metrics

BATCHES = 20

# calls/hour, AHT (s), agents, mean patience (s) or None, measured hours, seed.
CASES = {
    "light load, 3 agents": (20, 300, 3, None, 2000, 1),
    "heavy load, 11 agents": (200, 180, 11, None, 600, 2),
    "heavy load, 95 agents": (1800, 180, 95, None, 60, 3),
    "Erlang A, 14 agents": (200, 180, 14, 300, 300, 4),
    "overloaded, 12 agents": (300, 180, 12, 120, 300, 5),
    "overloaded, 70 agents": (1200, 240, 70, 180, 60, 6),
}


@functools.cache
def run(case):
    calls, aht, agents, patience, hours, seed = CASES[case]
    result = simulate(calls, aht, agents, hours, np.random.default_rng(seed), patience)
    exact = (
        erlang_c(calls, aht, agents)
        if patience is None
        else erlang_a(calls, aht, agents, patience_seconds=patience)
    )
    return result, exact


def batch_mean(result, values, rows=None):
    """Mean of a per-contact quantity (over the contacts in ``rows``, a mask, if given) and
    its batch-means standard error."""
    rows = np.ones(len(result.table), dtype=bool) if rows is None else rows
    edges = np.linspace(0.0, result.hours * 3600.0, BATCHES + 1)
    batch = np.clip(np.searchsorted(edges, result.table.arrival_seconds, "right") - 1, 0, None)
    means = np.array([values[rows & (batch == b)].mean() for b in range(BATCHES)])
    return means.mean(), means.std(ddof=1) / math.sqrt(BATCHES)


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_simulation_agrees_with_the_closed_form(case):
    result, exact = run(case)
    table = result.table
    everyone = np.ones(len(table), dtype=bool)
    per_contact = {
        "p_wait": (table.wait_seconds > 0, everyone, exact.p_wait),
        "asa_seconds": (table.wait_seconds, table.answered, exact.asa_seconds),
        "mean_wait_seconds": (table.wait_seconds, everyone, exact.mean_wait_seconds),
        "service_level": (table.answered_within_target, everyone, exact.service_level),
        "abandon_rate": (table.abandoned, everyone, exact.abandon_rate),
    }
    for name, (values, rows, expected) in per_contact.items():
        _, error = batch_mean(result, values.astype(float), rows)
        simulated = getattr(result.metrics, name)
        assert simulated == pytest.approx(values[rows].mean())
        assert abs(simulated - expected) <= 4 * error + 1e-9, (name, simulated, expected, error)
    tolerance = 4 * exact.occupancy * math.sqrt(2 / result.contacts) + 0.002
    assert result.metrics.occupancy == pytest.approx(exact.occupancy, abs=tolerance)


@pytest.mark.parametrize("case", [c for c in CASES if CASES[c][3] is not None])
def test_abandon_rate_is_mean_wait_over_mean_patience(case):
    # With exponential patience each waiting caller abandons at rate 1/patience, so the
    # share abandoning equals the mean wait (of all callers) divided by the mean patience.
    result, _ = run(case)
    patience = CASES[case][3]
    table = result.table
    difference = table.abandoned - table.wait_seconds / patience
    mean, error = batch_mean(result, difference)
    assert abs(mean) <= 4 * error
    assert result.mean_patience_abandoned_seconds > 0


@pytest.mark.parametrize("case", list(CASES))
def test_littles_law_for_the_queue(case):
    result, _ = run(case)
    arrival_rate = result.contacts / (result.hours * 3600)
    expected = arrival_rate * result.metrics.mean_wait_seconds
    assert result.metrics.mean_queue_length == pytest.approx(expected, rel=0.02, abs=1e-3)
    # The same identity for agents: busy agents = throughput × handle time.
    handled = np.nansum(result.table.handle_seconds) / (result.hours * 3600)
    assert result.metrics.occupancy * result.agents == pytest.approx(handled, rel=0.01)


@pytest.mark.slow
def test_unresolved_customers_call_back_in_the_expected_proportion():
    # Each answered contact is unresolved with probability 1 − FCR and brings one repeat, so
    # in steady state a share 1 − FCR of all contacts are repeats.
    result = simulate(60, 180, 6, 300, 21, first_contact_resolution=0.7, repeat_delay_seconds=600)
    assert result.repeat_contacts / result.contacts == pytest.approx(0.3, abs=0.015)
    assert result.fcr == pytest.approx(0.7, abs=0.015)
    assert result.contacts == pytest.approx(60 * 300 / 0.7, rel=0.03)
    assert not simulate(60, 180, 6, 20, 21).table.is_repeat.any()


@pytest.mark.slow
def test_transfers_add_a_second_handle_time_segment():
    result = simulate(60, 180, 6, 300, 22, transfer_probability=0.25)
    table = result.table
    assert table.transferred[table.answered].mean() == pytest.approx(0.25, abs=0.015)
    assert result.aht_seconds == pytest.approx(180 * 1.25, rel=0.03)


@pytest.mark.slow
def test_lognormal_handle_times_have_the_asked_mean_and_spread():
    result = simulate(200, 180, 14, 300, 23, handle_time="lognormal", handle_time_cv=0.5)
    handle = result.table.handle_seconds[result.table.answered]
    assert handle.mean() == pytest.approx(180, rel=0.02)
    assert handle.std() / handle.mean() == pytest.approx(0.5, abs=0.03)
    # Less variable handle times than exponential ones mean shorter queues.
    assert result.metrics.asa_seconds < 0.8 * erlang_c(200, 180, 14).asa_seconds


@pytest.mark.slow
def test_intraday_profile_shapes_the_arrivals():
    profile = [1, 1, 2, 4, 2, 1, 1, 0]
    result = simulate(100, 120, 20, 400, 24, intraday_profile=profile)
    hour_of_day = (result.table.arrival_seconds // 3600).astype(int) % len(profile)
    counts = np.bincount(hour_of_day, minlength=len(profile)) / (400 / len(profile))
    expected = 100 * np.array(profile) / np.mean(profile)
    assert counts[-1] == 0
    assert counts == pytest.approx(expected, rel=0.05)
    assert result.contacts / 400 == pytest.approx(100, rel=0.02)


def test_asa_is_the_mean_wait_of_the_answered_rows():
    result, _ = run("overloaded, 12 agents")  # a quarter of the callers hang up
    table = result.table
    assert result.metrics.asa_seconds == table.wait_seconds[table.answered].mean()
    assert result.metrics.mean_wait_seconds == table.wait_seconds.mean()
    assert result.metrics.asa_seconds < result.metrics.mean_wait_seconds


def busy_when_answered(result):
    """Hour of the day (from the start of the measured period) in which each answered call
    was taken, and the calls in service just after it was (itself included)."""
    table = result.table
    starts = (table.arrival_seconds + table.wait_seconds)[table.answered]
    ends = starts + table.handle_seconds[table.answered]
    # a call that ends as another is taken frees its agent for it (times to rounding), and a
    # call taken at the instant an hour begins belongs to that hour
    soon = starts + 1e-6
    busy = np.searchsorted(np.sort(starts), starts, "right") - np.searchsorted(
        np.sort(ends), soon, "right"
    )
    return (soon // 3600).astype(int), busy


@pytest.mark.slow
def test_a_schedule_puts_its_agents_on_duty_hour_by_hour():
    profile = [1, 2, 3, 2, 1]
    schedule = [2, 4, 6, 4, 2]
    result = simulate(60, 180, schedule, 500, 31, patience_seconds=300, intraday_profile=profile)
    hour, busy = busy_when_answered(result)
    hour_of_day = hour % len(schedule)
    # A call is only taken while fewer agents than the hour's schedule are busy (agents going
    # on a break first finish the call in hand, then take no new one) ...
    assert (busy <= np.array(schedule)[hour_of_day]).all()
    # ... and in every hour all its agents are busy at some point.
    most = [busy[hour_of_day == h].max() for h in range(len(schedule))]
    assert most == schedule
    assert result.agents == pytest.approx(np.mean(schedule)) and result.schedule == (2, 4, 6, 4, 2)
    # Little's law for the agents on duty: busy agents = handled time per second.
    handled = np.nansum(result.table.handle_seconds) / (result.hours * 3600)
    assert result.metrics.occupancy * result.agents == pytest.approx(handled, rel=0.01)


@pytest.mark.slow
def test_a_day_staffed_hour_by_hour_follows_the_profile_and_meets_the_target():
    # 30 calls an hour on average over the typical weekday (peaks of 40), AHT 420 s,
    # patience 240 s; each hour staffed for 80% in 20 s at its own load (SIPP).
    rates = [30 * w for w in TYPICAL_WEEKDAY]
    schedule = agents_by_hour(rates, 420, 0.8, 20, 240)
    assert schedule[2] > schedule[0] and schedule[2] > schedule[4] < schedule[6]
    days = 200
    hours = days * len(TYPICAL_WEEKDAY)
    result = simulate(
        30, 420, schedule, hours, 32, patience_seconds=240, intraday_profile=TYPICAL_WEEKDAY
    )
    # Arrivals per hour of the day: Poisson counts of mean 30 × weight × days.
    hour_of_day = (result.table.arrival_seconds // 3600).astype(int) % len(TYPICAL_WEEKDAY)
    counts = np.bincount(hour_of_day, minlength=len(TYPICAL_WEEKDAY))
    expected = np.array(rates) * days
    assert np.abs(counts - expected).max() <= 4 * np.sqrt(expected).max()
    # The day as the hours' Erlang A steady states: every hour reaches the target, and the
    # simulated day (whose queues carry over from hour to hour) lands within 0.02 of it.
    hours_exact = [erlang_a(r, 420, n, 240, 20) for r, n in zip(rates, schedule, strict=True)]
    assert min(m.service_level for m in hours_exact) >= 0.8
    exact = day_metrics(hours_exact, rates, schedule)
    assert result.metrics.service_level >= 0.8
    assert result.metrics.service_level == pytest.approx(exact.service_level, abs=0.02)
    assert result.metrics.abandon_rate == pytest.approx(exact.abandon_rate, abs=0.015)
    assert result.metrics.asa_seconds == pytest.approx(exact.asa_seconds, rel=0.15)


def test_warm_up_is_excluded():
    short = simulate(100, 180, 8, 5, 25)
    long = simulate(100, 180, 8, 50, 25, warmup_hours=2.5)
    assert short.warmup_hours == 0.5 and simulate(100, 180, 8, 50, 25).warmup_hours == 1.0
    assert long.warmup_hours == 2.5
    for result in (short, long):
        arrivals = result.table.arrival_seconds
        assert arrivals.min() >= 0 and arrivals.max() < result.hours * 3600
        assert np.all(np.diff(arrivals) >= 0)


def test_contacts_still_waiting_at_the_end_are_neither_answered_nor_abandoned():
    result = simulate(200, 180, 4, 5, 26)  # a = 10 erlangs on 4 agents, no abandonment
    table = result.table
    waiting = ~table.answered & ~table.abandoned
    assert waiting.any() and not table.abandoned.any()
    assert np.all(table.wait_seconds[waiting] > 5 * 3600 * 0.5)
    assert result.metrics.service_level < 0.1


def test_same_seed_same_result_different_seed_different_result():
    first = simulate(200, 180, 11, 20, 7, patience_seconds=120, first_contact_resolution=0.8)
    again = simulate(200, 180, 11, 20, 7, patience_seconds=120, first_contact_resolution=0.8)
    other = simulate(200, 180, 11, 20, 8, patience_seconds=120, first_contact_resolution=0.8)
    for name, column in vars(first.table).items():
        assert np.array_equal(column, getattr(again.table, name), equal_nan=True), name
    assert first.metrics == again.metrics
    assert not np.array_equal(first.table.arrival_seconds[:10], other.table.arrival_seconds[:10])
    assert first.metrics != other.metrics


def test_outcomes_for_contacts_resample_the_simulated_table():
    result, _ = run("overloaded, 12 agents")
    outcomes = outcomes_for_contacts(result, 200_000, np.random.default_rng(9))
    assert set(outcomes) == {
        "wait_seconds",
        "answered",
        "abandoned",
        "answered_within_target",
        "resolved",
    }
    assert all(values.shape == (200_000,) for values in outcomes.values())
    table = result.table
    assert outcomes["abandoned"].mean() == pytest.approx(table.abandoned.mean(), abs=0.005)
    assert outcomes["wait_seconds"].mean() == pytest.approx(table.wait_seconds.mean(), rel=0.02)
    assert np.isin(outcomes["wait_seconds"], table.wait_seconds).all()
    assert not (outcomes["abandoned"] & outcomes["answered"]).any()
    again = outcomes_for_contacts(result, 200_000, 9)
    assert np.array_equal(outcomes["wait_seconds"], again["wait_seconds"])
    assert outcomes_for_contacts(result, 0, 9)["resolved"].shape == (0,)
    with pytest.raises(ValueError, match="n_contacts: got -1"):
        outcomes_for_contacts(result, -1, 9)


def test_no_calls_simulates_an_idle_centre():
    result = simulate(0, 180, 0, 10, 1)
    assert result.contacts == 0 and result.metrics.service_level == 1.0
    assert result.metrics.occupancy == 0.0
    with pytest.raises(ValueError, match="result: got"):
        outcomes_for_contacts(result, 5, 1)


@pytest.mark.parametrize(
    "changes, message",
    [
        (
            {"handle_time": "gamma"},
            "handle_time: got 'gamma'; must be 'exponential' or 'lognormal'",
        ),
        ({"calls_per_hour": -1}, "calls_per_hour: got -1; must be a finite number >= 0"),
        ({"aht_seconds": 0}, "aht_seconds: got 0; must be a finite number > 0"),
        ({"agents": 0}, "agents: got 0; must be >= 1 when calls_per_hour > 0"),
        ({"agents": [3, 0]}, "agents: got 0; must be >= 1 when calls_per_hour > 0"),
        ({"agents": []}, "agents: got []; must be a whole number or a non-empty list"),
        ({"hours": 0}, "hours: got 0; must be a finite number > 0"),
        ({"rng": "seed"}, "rng: got 'seed'; must be a numpy.random.Generator"),
        ({"rng": -3}, "rng: got -3; must be a whole number >= 0"),
        ({"patience_seconds": 0}, "patience_seconds: got 0; must be > 0"),
        ({"handle_time_cv": -1}, "handle_time_cv: got -1; must be a finite number > 0"),
        ({"first_contact_resolution": 0}, "first_contact_resolution: got 0; must be in (0, 1]"),
        ({"transfer_probability": 1.5}, "transfer_probability: got 1.5; must be in [0, 1]"),
        ({"repeat_delay_seconds": 0}, "repeat_delay_seconds: got 0; must be"),
        ({"intraday_profile": []}, "intraday_profile: got []; must be a non-empty list"),
        ({"intraday_profile": [1, -1]}, "intraday_profile: got -1; must be a finite number"),
        ({"intraday_profile": [0, 0]}, "intraday_profile: got [0, 0]; must be a list with"),
        ({"warmup_hours": -1}, "warmup_hours: got -1; must be a finite number >= 0"),
    ],
)
def test_bad_arguments_are_named_in_the_error(changes, message):
    arguments = {"calls_per_hour": 100, "aht_seconds": 180, "agents": 8, "hours": 1, "rng": 1}
    arguments.update(changes)
    with pytest.raises(ValueError) as error:
        simulate(**arguments)
    assert str(error.value).startswith(message)
