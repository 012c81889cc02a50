"""The market at month 0 (docs/model.md §2.1–2.2): segments, initial customers, tenure,
expectations, satisfaction and effort, and the churn frailty, against the scenario's
declared shares and distributions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sim.customers.population import ACTIVE, INITIAL, PROSPECT, Population
from sim.scenario import scenario_from_dict
from sim.streams import Streams

N = 60_000
SEGMENTS = [
    {"name": "mass", "share": 0.5, "expectation": {"mean": 0.72, "sd": 0.05},
     "churn_frailty_sd": 0.5},
    {"name": "premium", "share": 0.3, "expectation": {"mean": 0.80, "sd": 0.03},
     "churn_frailty_sd": 1.0},
    {"name": "steady", "share": 0.2, "expectation": {"mean": 0.65, "sd": 0.08},
     "churn_frailty_sd": 0.0},
]  # fmt: skip


def market(size: int = N, seed: int = 11, **fields) -> Population:
    settings = {"size": size, "segments": SEGMENTS, "initial_customers": 0.3} | fields
    scenario = scenario_from_dict({"name": "people", "seed": seed, "market": settings})
    streams = Streams(np.random.SeedSequence(scenario.seed, spawn_key=(0,)), size)
    return Population.initial(scenario, streams)


@pytest.fixture(scope="module")
def people() -> Population:
    return market()


def within_binomial(count: int, n: int, p: float) -> bool:
    """Whether a binomial count is within four standard deviations of n·p."""
    return abs(count - n * p) <= 4 * math.sqrt(n * p * (1 - p))


def test_attributes_have_their_declared_types(people):
    expected = {
        "status": np.int8, "segment": np.int16, "tenure": np.int32, "expectation": np.float32,
        "satisfaction": np.float32, "effort": np.float32, "products": np.int8,
        "revenue_to_date": np.float32, "source": np.int8, "frailty": np.float32,
    }  # fmt: skip
    for name, dtype in expected.items():
        array = getattr(people, name)
        assert array.dtype == dtype and array.shape == (N,), name
    assert people.size == N


def test_initial_customers_are_a_binomial_share_of_the_market(people):
    active = people.status == ACTIVE
    assert set(np.unique(people.status)) == {PROSPECT, ACTIVE}  # nobody lapsed yet
    assert within_binomial(int(active.sum()), N, 0.3)
    np.testing.assert_array_equal(people.products, active.astype(np.int8))
    assert (people.revenue_to_date == 0).all() and (people.source == INITIAL).all()
    # Being a customer does not depend on the segment.
    for k, segment in enumerate(SEGMENTS):
        mine = people.segment == k
        assert within_binomial(int(active[mine].sum()), int(mine.sum()), 0.3), segment["name"]


def test_segment_shares_match_the_scenario(people):
    counts = np.bincount(people.segment, minlength=3)
    for count, segment in zip(counts, SEGMENTS, strict=True):
        assert within_binomial(int(count), N, segment["share"]), segment["name"]
    shares = [s["share"] for s in SEGMENTS]
    assert stats.chisquare(counts, np.multiply(shares, N)).pvalue > 0.001


def test_initial_tenure_is_uniform_over_one_to_the_maximum(people):
    active = people.status == ACTIVE
    assert (people.tenure[~active] == 0).all()
    tenure = people.tenure[active]
    assert tenure.min() == 1 and tenure.max() == 36  # market.initial_tenure_months default
    counts = np.bincount(tenure, minlength=37)[1:]
    assert stats.chisquare(counts).pvalue > 0.001
    assert tenure.mean() == pytest.approx(18.5, abs=4 * 10.4 / math.sqrt(len(tenure)))


def test_expectations_follow_each_segments_distribution(people):
    for k, segment in enumerate(SEGMENTS):
        e = people.expectation[people.segment == k].astype(np.float64)
        mean, sd = segment["expectation"]["mean"], segment["expectation"]["sd"]
        # Clipping at 0 and 1 is more than 3.5 sd away for every segment: negligible.
        assert e.mean() == pytest.approx(mean, abs=4 * sd / math.sqrt(len(e)))
        assert e.std() == pytest.approx(sd, rel=4 / math.sqrt(2 * len(e)))
    assert people.expectation.min() >= 0 and people.expectation.max() <= 1


def test_satisfaction_starts_at_expectation_and_effort_at_the_reference(people):
    np.testing.assert_array_equal(people.satisfaction, people.expectation)
    assert people.satisfaction is not people.expectation  # separate arrays
    np.testing.assert_array_equal(people.effort, np.float32(0.25))


def test_frailty_is_lognormal_with_mean_one_and_the_declared_spread(people):
    for k, segment in enumerate(SEGMENTS):
        frailty = people.frailty[people.segment == k].astype(np.float64)
        sigma, n = segment["churn_frailty_sd"], len(frailty)
        if sigma == 0:
            np.testing.assert_array_equal(frailty, 1.0)  # everyone alike
            continue
        log = np.log(frailty)
        assert log.mean() == pytest.approx(-(sigma**2) / 2, abs=4 * sigma / math.sqrt(n))
        assert log.std() == pytest.approx(sigma, rel=4 / math.sqrt(2 * n))
        sd = math.sqrt(math.exp(sigma**2) - 1)  # sd of a lognormal with mean 1
        assert frailty.mean() == pytest.approx(1.0, abs=4 * sd / math.sqrt(n))
        assert frailty.std() == pytest.approx(sd, rel=0.1)
        assert frailty.min() > 0


def test_limiting_initial_customer_shares_and_tenure():
    nobody = market(size=2000, initial_customers=0.0)
    assert (nobody.status == PROSPECT).all() and (nobody.tenure == 0).all()
    everybody = market(size=2000, initial_customers=1.0, initial_tenure_months=1)
    assert (everybody.status == ACTIVE).all() and (everybody.tenure == 1).all()
    one_segment = market(size=2000, segments=[{"name": "all"}])
    assert (one_segment.segment == 0).all()


def test_a_persons_draws_do_not_depend_on_the_market_size_but_on_the_seed():
    small, large = market(size=1000), market(size=5000)
    for name in ("status", "segment", "tenure", "expectation", "frailty"):
        np.testing.assert_array_equal(getattr(small, name), getattr(large, name)[:1000])
    again, other = market(size=1000), market(size=1000, seed=12)
    np.testing.assert_array_equal(again.expectation, small.expectation)
    assert not np.array_equal(other.expectation, small.expectation)
