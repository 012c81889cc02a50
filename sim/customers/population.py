"""The market's people as a structure of arrays: one numpy array per attribute.

Everyone in the market — prospect, customer or lapsed customer — has a fixed index for the
whole run, so random numbers drawn per person line up across scenarios (common random
numbers) and no per-person Python object exists. 29 bytes per person (docs/model.md §2.1).

The vector engine keeps the market in these arrays for the whole run. The agents engine
draws its people from `Population.initial` too, so both engines start from the same market,
then keeps each person's state in a `sim.engines.customer.Customer`.

`expectations` and `frailties` are the segments' draws of those two attributes, shared by
the market at month 0 and by the warm-up's `newcomers` (new customers who take a leaver's
place before month 1; `sim.model.CXModel._warm_up`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim import purposes
from sim.scenario import Scenario
from sim.streams import Streams

PROSPECT, ACTIVE, LAPSED = 0, 1, 2
"""Values of `Population.status`."""

INITIAL, ADVERTISING, WORD_OF_MOUTH, WINBACK, SWITCHED = 0, 1, 2, 3, 4
"""Values of `Population.source`: how a customer was acquired (SWITCHED: from another firm
of the market, in the month they left it)."""

NO_FIRM = -1
"""`Population.firm` of a person who has never been a customer."""


@dataclass
class Population:
    """Attributes of every person in the market (arrays of length `size`)."""

    status: np.ndarray  # int8: PROSPECT, ACTIVE or LAPSED
    segment: np.ndarray  # int16 index into scenario.market.segments
    tenure: np.ndarray  # int32 months as a customer in the current spell
    expectation: np.ndarray  # float32, 0–1 quality scale
    satisfaction: np.ndarray  # float32 cumulative satisfaction, 0–1
    effort: np.ndarray  # float32 remembered effort, 0–1
    products: np.ndarray  # int8 products held (0 unless active)
    revenue_to_date: np.ndarray  # float32 currency
    source: np.ndarray  # int8 acquisition source
    frailty: np.ndarray  # float32 personal multiplier on the churn hazard, mean 1
    firm: np.ndarray  # int8 the firm a customer is with, or was last with; NO_FIRM if none

    @property
    def size(self) -> int:
        """Number of people in the market."""
        return len(self.status)

    @classmethod
    def initial(cls, scenario: Scenario, streams: Streams) -> Population:
        """The market at month 0: segments, expectations and the initial customers."""
        market = scenario.market
        n = market.size
        shares = np.cumsum([s.share for s in market.segments])
        segment = np.searchsorted(
            shares[:-1], streams.uniform(purposes.INIT_SEGMENT, 0), side="right"
        )
        segment = segment.astype(np.int16)
        expectation = expectations(scenario, segment, streams.normal(purposes.INIT_EXPECTATION, 0))
        active = streams.uniform(purposes.INIT_CUSTOMER, 0) < market.initial_customers
        u_tenure = streams.uniform(purposes.INIT_TENURE, 0)
        tenure = np.where(active, 1 + (u_tenure * market.initial_tenure_months), 0)
        reference_effort = scenario.behaviour.churn.reference_effort
        frailty = frailties(scenario, segment, streams.normal(purposes.INIT_FRAILTY, 0))
        return cls(
            status=np.where(active, ACTIVE, PROSPECT).astype(np.int8),
            segment=segment,
            tenure=np.minimum(tenure, market.initial_tenure_months).astype(np.int32),
            expectation=expectation,
            satisfaction=expectation.copy(),
            effort=np.full(n, reference_effort, dtype=np.float32),
            products=active.astype(np.int8),
            revenue_to_date=np.zeros(n, dtype=np.float32),
            source=np.full(n, INITIAL, dtype=np.int8),
            frailty=frailty,
            firm=np.where(active, 0, NO_FIRM).astype(np.int8),
        )


def expectations(scenario: Scenario, segment: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Expectations drawn from the segments' distributions, `clip(μ_seg + σ_seg·z, 0, 1)`
    (quality scale, float32), for people of segments `segment` with standard normals `z`."""
    segments = scenario.market.segments
    means = np.array([s.expectation.mean for s in segments], dtype=np.float32)
    sds = np.array([s.expectation.sd for s in segments], dtype=np.float32)
    return np.clip(means[segment] + sds[segment] * z, 0.0, 1.0).astype(np.float32)


def frailties(scenario: Scenario, segment: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Churn frailties drawn from the segments' lognormals of mean 1,
    `exp(σ_seg·z − σ_seg²/2)` with `σ_seg` the `churn_frailty_sd` (float32), for people of
    segments `segment` with standard normals `z` (Vaupel, Manton & Stallard 1979)."""
    sd = np.array([s.churn_frailty_sd for s in scenario.market.segments])[segment]
    return np.exp(sd * z - 0.5 * sd**2).astype(np.float32)


def newcomers(
    scenario: Scenario, streams: Streams, month: int, who: np.ndarray, segment: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Expectation and churn frailty of the new customers who take the places `who` (market
    indices, of segments `segment`) in warm-up stream month `month`: fresh draws from their
    segments' distributions, as at month 0 (`expectations`, `frailties`)."""
    z_expectation = streams.normal(purposes.WARM_UP_EXPECTATION, month, who)
    z_frailty = streams.normal(purposes.WARM_UP_FRAILTY, month, who)
    return expectations(scenario, segment, z_expectation), frailties(scenario, segment, z_frailty)
