"""Journeys: what one person goes through in a month, written once for both engines.

A customer meets the touchpoints of their segment's journey that are due this month; at each
they perceive the quality the firm delivers (plus personal fit and noise, less a problem's
drop) and form a transaction satisfaction against what they expected. A problem may bring
them to support, where the wait, a hang-up, a failed resolution or a recovered complaint
shape what they perceive and the effort it costs. At the end of the month they pay for
what they hold and, as customers, speak for or against the firm; prospects hear their ties
and may adopt.

Every function here works on one person's numbers (the agents engine, `sim.agents`) and on
arrays of people alike (the vector engine, `sim.vector`), so each mechanism has one
definition; the behavioural rules they combine are in `sim.rules`. Quality, satisfaction and
effort are on the 0–1 scale; probabilities and hazards are per month.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np
from numpy.typing import ArrayLike

from sim import rules
from sim.rules import Numbers
from sim.scenario import Support, Touchpoint

NETWORK_SUBSTEPS = 4
"""Sub-steps of a month in which word of mouth spreads over a network."""


@dataclass
class Month:
    """Tally of the month being simulated, shared by both engines (counts of people,
    contacts and interactions; waits in minutes)."""

    number: int
    who: np.ndarray
    """Market indices of the customers active at the start of the month, ascending."""
    problems: int = 0  # customers with at least one problem
    experiencing: int = 0  # customers with at least one interaction
    staffed_interactions: float = 0.0
    contacts: int = 0
    first_contacts: int = 0
    repeat_contacts: int = 0
    abandoned: int = 0
    wait_minutes: float = 0.0
    resolved: int = 0
    desk_metrics: dict[str, float] | None = None  # the desk's operational metrics
    recovered: int = 0
    privacy_incident: bool = False


@dataclass(frozen=True)
class Contacts:
    """The month's first contacts with support and what the desk made of each (aligned
    arrays, ascending market index)."""

    people: np.ndarray
    felt_wait_minutes: np.ndarray
    unresolved: np.ndarray
    abandoned: np.ndarray
    recovered: np.ndarray


class Decisions(NamedTuple):
    """The month's decisions of the customers active at its start (`Month.who` order)."""

    segment: np.ndarray
    """Segment of each customer."""
    left: np.ndarray
    """Whether each customer left."""
    kept: np.ndarray
    """Whether each customer would have left but an intervention kept them."""
    repeat: np.ndarray
    """Whether each stayer made a repeat purchase (stayers in `Month.who` order)."""
    upsell: np.ndarray
    """Whether each stayer took one more product."""
    revenue: np.ndarray
    """Revenue of each stayer this month, currency."""
    satisfaction: np.ndarray
    """Cumulative satisfaction of each stayer, 0–1."""


# ---------------------------------------------------------------------------- touchpoints


@numba.vectorize(cache=True)
def renewing(contract_months: ArrayLike, tenure_months: ArrayLike) -> np.ndarray:
    """Whether a contract comes up for renewal this month: tenure a positive multiple of the
    contract length (never without a contract)."""
    return contract_months > 0 and tenure_months > 0 and tenure_months % contract_months == 0


def occurs_at_random(touchpoint: Touchpoint) -> bool:
    """Whether a touchpoint happens by a monthly draw (a monthly one with probability < 1)."""
    return touchpoint.when == "monthly" and touchpoint.probability_per_month < 1.0


def is_due(
    touchpoint: Touchpoint,
    tenure_months: ArrayLike,
    renewal: ArrayLike,
    occurs: ArrayLike | None = None,
) -> ArrayLike:
    """Whether a (not problem-triggered) touchpoint of the journey happens this month: on
    joining (tenure 0), at renewal, or by the month's uniform `occurs` (see
    `occurs_at_random`); otherwise every month."""
    if touchpoint.when == "on_join":
        return np.asarray(tenure_months) == 0
    if touchpoint.when == "renewal":
        return renewal
    if occurs is not None:
        return occurs < touchpoint.probability_per_month
    return True


@numba.njit(cache=True)
def touchpoint_quality(
    delivered: Numbers,
    fit_gain: Numbers,
    spread: Numbers,
    noise: Numbers,
    problem: Numbers,
    problem_drop: float,
) -> Numbers:
    """Quality perceived at a touchpoint before clipping: delivered quality + personal fit
    + noise (standard normal `noise` times `spread`), less `problem_drop` if a problem arose."""
    return delivered + fit_gain + spread * noise - problem_drop * problem


def contact_quality(
    delivered: float,
    spread: float,
    noise: ArrayLike,
    contact: Contacts | ContactOutcome,
    desk: Support,
    recovery_effect: float,
) -> ArrayLike:
    """Quality perceived at a support contact before clipping: falls with the felt wait,
    if the problem was not resolved and if the caller hung up; a recovered complaint lifts
    it (Maister 1985; Smith, Bolton & Wagner 1999)."""
    return (
        delivered
        + spread * noise
        - desk.wait_quality_per_minute * contact.felt_wait_minutes
        - desk.unresolved_quality_drop * contact.unresolved
        - desk.abandon_quality_drop * contact.abandoned
        + recovery_effect * contact.recovered
    )


def contact_effort(effort: float, contact: Contacts | ContactOutcome, desk: Support) -> ArrayLike:
    """Effort of a support contact (0–1): the touchpoint's own, plus waiting, a repeat
    contact when unresolved and a hang-up."""
    total = (
        effort
        + desk.wait_effort_per_minute * contact.felt_wait_minutes
        + desk.unresolved_effort * contact.unresolved
        + desk.abandon_effort * contact.abandoned
    )
    return np.minimum(total, 1.0)


@dataclass(frozen=True)
class ContactOutcome:
    """One customer's contact with support, as the desk left it (wait in minutes)."""

    felt_wait_minutes: float
    unresolved: bool
    abandoned: bool
    recovered: bool


@numba.njit(cache=True)
def interaction(
    raw_quality: Numbers,
    expectation: Numbers,
    tolerance: Numbers,
    weight: float,
    loss_aversion: float,
) -> tuple[Numbers, Numbers]:
    """Perceived quality (clipped to 0–1) and transaction satisfaction of interactions:
    expectation-disconfirmation with a zone of tolerance and loss aversion (`sim.rules`;
    `weight` on disconfirmation, `loss_aversion` on its negative part)."""
    perceived = rules.clip_unit(raw_quality)
    gap = rules.disconfirmation(perceived, expectation, tolerance)
    return perceived, rules.transaction_satisfaction(perceived, gap, weight, loss_aversion)


@numba.vectorize(cache=True)
def month_effort(effort_sum: ArrayLike, interactions: ArrayLike) -> np.ndarray:
    """The month's mean effort per interaction (0–1, at most 1), NaN without interactions."""
    # No 0/0 even where the compiler evaluates both branches (it would flag an invalid value).
    if interactions > 0:
        return np.minimum(effort_sum / np.maximum(interactions, 1.0), 1.0)
    return np.nan


# ---------------------------------------------------------------------------- money and word


def month_revenue(
    revenue_per_month: ArrayLike,
    products: ArrayLike,
    repeat: ArrayLike,
    repeat_value: ArrayLike,
    extra_product_share: float,
) -> ArrayLike:
    """A customer's revenue of the month, currency: the segment's monthly revenue, raised by
    `extra_product_share` for each product beyond the first, plus a repeat purchase."""
    extra = extra_product_share * (products - 1)
    revenue = revenue_per_month * (1.0 + extra)
    return revenue + repeat * repeat_value


def voice(
    satisfaction: ArrayLike, word_of_mouth: str, answer_sd: float, detractor_weight: float
) -> ArrayLike:
    """Word of mouth an active customer spreads: 1 each (``customers``, the classic Bass
    model) or the chance of being a promoter less `detractor_weight` × the chance of being
    a detractor (``net_promoters``)."""
    if word_of_mouth == "customers":
        return np.ones(np.shape(satisfaction))
    promoter, detractor = rules.nps_shares(10.0 * satisfaction, answer_sd)
    return promoter - detractor_weight * detractor


def reluctance(lapsed: ArrayLike, winback_factor: float) -> ArrayLike:
    """Multiplier on the adoption hazard: lapsed customers need more persuading."""
    return np.where(lapsed, winback_factor, 1.0)


def adoption_hazard(advertising: float, imitation: float, heard: ArrayLike) -> ArrayLike:
    """Bass hazard of a person who hears a net share `heard` of their ties speak for the
    firm: p + q × heard (Goldenberg, Libai & Muller 2001)."""
    return advertising + imitation * heard


def substep_adoption(hazard: ArrayLike, reluctance_factor: ArrayLike) -> ArrayLike:
    """Probability of adopting in one of the month's `NETWORK_SUBSTEPS` sub-steps."""
    return -np.expm1(-hazard * reluctance_factor / NETWORK_SUBSTEPS)


def advertising_share(advertising: float, hazard: ArrayLike) -> ArrayLike:
    """Share of an adoption hazard due to advertising (the rest is word of mouth)."""
    return advertising / np.maximum(hazard, 1e-12)
