"""Journeys: what one person goes through in a month, written once for both engines.

A customer meets the touchpoints of their segment's journey that are due this month; at each
they perceive the quality the firm delivers (plus personal fit and noise, less a problem's
drop) and form a transaction satisfaction against what they expected. A problem may bring
them to support, where the wait, a hang-up, a failed resolution or a recovered complaint
shape what they perceive and the effort it costs. At the end of the month they pay for
what they hold and, as customers, speak for or against the firm; prospects hear their ties
and may adopt.

Every function here works on one person's numbers (the agents engine, `sim.engines.customer`) and on
arrays of people alike (the vector engine, `sim.engines.vector`), so each mechanism has one
definition; the behavioural rules they combine are in `sim.customers.rules`. Quality, satisfaction
and effort are on the 0–1 scale; probabilities and hazards are per month.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np
from numba.extending import register_jitable
from numpy.typing import ArrayLike

from sim.customers import rules
from sim.customers.population import ADVERTISING, WINBACK, WORD_OF_MOUTH
from sim.customers.rules import Numbers
from sim.engines import contract as engine
from sim.scenario import (
    ChurnRules,
    PurchaseRules,
    SatisfactionRules,
    Scenario,
    Support,
    Touchpoint,
)

NETWORK_SUBSTEPS = 4
"""Sub-steps of a month in which word of mouth spreads over a network."""


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


@numba.njit(cache=True, nogil=True)
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
    contact: engine.Contacts | ContactOutcome,
    desk: Support,
    recovery_effect: float,
) -> ArrayLike:
    """Quality perceived at a support contact before clipping: falls with the felt wait,
    if the problem was not resolved and if the caller hung up; a recovered complaint lifts
    it (Maister 1985; Smith, Bolton & Wagner 1999); its channel shifts it."""
    return (
        delivered
        + spread * noise
        - desk.wait_quality_per_minute * contact.felt_wait_minutes
        - desk.unresolved_quality_drop * contact.unresolved
        - desk.abandon_quality_drop * contact.abandoned
        + recovery_effect * contact.recovered
        + contact.quality_shift
    )


def contact_effort(
    effort: float, contact: engine.Contacts | ContactOutcome, desk: Support
) -> ArrayLike:
    """Effort of a support contact (0–1): the touchpoint's own, plus waiting, a repeat
    contact when unresolved and a hang-up, shifted by its channel (a failed self-service
    session before it included)."""
    total = (
        effort
        + desk.wait_effort_per_minute * contact.felt_wait_minutes
        + desk.unresolved_effort * contact.unresolved
        + desk.abandon_effort * contact.abandoned
        + contact.effort_shift
    )
    return np.clip(total, 0.0, 1.0)


@dataclass(frozen=True)
class ContactOutcome:
    """One customer's contact with support, as the desk left it (wait in minutes)."""

    felt_wait_minutes: float
    unresolved: bool
    abandoned: bool
    recovered: bool
    quality_shift: float = 0.0
    """Change of perceived quality from the contact's channel."""
    effort_shift: float = 0.0
    """Change of effort from the contact's channel."""
    by_phone: bool = True
    """Whether the contact went to the phone desk."""


@numba.njit(cache=True, nogil=True)
def interaction(
    raw_quality: Numbers,
    expectation: Numbers,
    tolerance: Numbers,
    weight: float,
    loss_aversion: float,
) -> tuple[Numbers, Numbers]:
    """Perceived quality (clipped to 0–1) and transaction satisfaction of interactions:
    expectation-disconfirmation with a zone of tolerance and loss aversion (`sim.customers.rules`;
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


@numba.vectorize(cache=True)
def felt_effort(month_effort: ArrayLike, service_effort: ArrayLike) -> np.ndarray:
    """The month's effort as the customer remembers it (0–1): a service episode's effort
    when they had one (it is what they remember of the month; Dixon, Freeman & Toman 2010),
    the mean effort of the month's interactions otherwise (NaN without interactions)."""
    if np.isnan(service_effort):
        return month_effort
    return service_effort


# ---------------------------------------------------------------------------- memory


class Memory(NamedTuple):
    """What a customer (or each) carries from one month to the next, 0–1 each."""

    satisfaction: ArrayLike
    """Cumulative satisfaction."""
    effort: ArrayLike
    """Remembered effort."""
    expectation: ArrayLike
    """Expected quality (before the market's drift)."""


def remember(
    satisfaction_rules: SatisfactionRules,
    tenure_months: float,
    memory: Memory,
    episode: float,
    felt: float,
    service_effort: float,
    mean_perceived: float,
    trust_shock: float,
) -> Memory:
    """Fold a month into a customer's memory (`remembered`, with the scenario's
    `satisfaction_rules`): cumulative satisfaction is anchored on the prior with a weight
    that grows with tenure and adjusted towards the month's remembered `episode`, then moved
    by the effort of a service episode (`rules.service_effort_shift`; NaN without one) and
    lowered by a privacy incident's `trust_shock`; remembered effort moves towards the
    month's `felt` effort (`felt_effort`); expectation adapts to the mean quality perceived.
    NaN inputs (no interaction this month) leave the prior as it was."""
    settings = memory_settings(satisfaction_rules)
    return Memory(
        *remembered(
            settings,
            tenure_weight(settings, tenure_months),
            memory.satisfaction,
            memory.effort,
            memory.expectation,
            episode,
            felt,
            service_effort,
            mean_perceived,
            trust_shock,
        )
    )


def memory_settings(satisfaction_rules: SatisfactionRules) -> tuple[float, ...]:
    """The settings `remembered` takes, from the scenario's satisfaction rules."""
    s = satisfaction_rules
    return (
        float(s.prior_weight_new),
        float(s.prior_weight_loyal),
        float(s.tenure_scale_months),
        float(s.service_effort_effect),
        float(s.neutral_service_effort),
        float(s.effort_memory),
        float(s.expectation_adaptation),
    )


@numba.njit(cache=True, nogil=True)
def tenure_weight(settings: tuple[float, ...], tenure_months: float) -> float:
    """The weight on prior cumulative satisfaction of a customer of `tenure_months`
    (`rules.prior_weight` with the `memory_settings`)."""
    new, loyal, scale = settings[0], settings[1], settings[2]
    return rules.prior_weight(tenure_months, new, loyal, scale)


@numba.njit(cache=True, nogil=True)
def remembered(
    settings: tuple[float, ...],
    weight: float,
    satisfaction: float,
    effort: float,
    expectation: float,
    episode: float,
    felt: float,
    service_effort: float,
    mean_perceived: float,
    trust_shock: float,
) -> tuple[float, float, float]:
    """One customer's cumulative satisfaction, remembered effort and expectation (0–1 each)
    after a month (`remember`; `settings` from `memory_settings`, `weight` on their prior
    satisfaction their `tenure_weight`): what both engines compute, the vector engine inside
    its compiled pass (`sim.engines.kernels.evaluate`, which looks up each tenure's weight)."""
    effect, neutral, effort_memory, adaptation = settings[3], settings[4], settings[5], settings[6]
    anchored = rules.anchor_and_adjust(satisfaction, episode, weight)
    moved = anchored + rules.service_effort_shift(service_effort, effect, neutral) - trust_shock
    return (
        min(max(moved, 0.0), 1.0),
        rules.anchor_and_adjust(effort, felt, effort_memory),
        rules.adapted_expectation(expectation, mean_perceived, adaptation, 0.0),
    )


# ---------------------------------------------------------------------------- decisions


def churn_chance(
    churn: ChurnRules,
    base_per_month: ArrayLike,
    satisfaction: ArrayLike,
    effort: ArrayLike,
    shock: float,
    frailty: ArrayLike,
) -> ArrayLike:
    """Monthly churn probability of a customer (or of each), from their segment's base rate,
    cumulative satisfaction and remembered effort (0–1), a market-wide log-hazard `shock`
    and their frailty (`rules.churn_probability` with the scenario's `churn` rules)."""
    return rules.churn_probability(
        base_per_month,
        satisfaction,
        effort,
        churn.satisfaction_effect,
        churn.effort_effect,
        churn.reference_satisfaction,
        churn.reference_effort,
        shock,
        frailty,
    )


def renewal_leave_chance(churn: ChurnRules, satisfaction: ArrayLike) -> ArrayLike:
    """Probability of not renewing a contract that is due (`rules.renewal_leave_probability`
    with the scenario's `churn` rules), from cumulative satisfaction (0–1)."""
    return rules.renewal_leave_probability(
        satisfaction, churn.renewal_max_leave, churn.renewal_threshold, churn.renewal_steepness
    )


def leaving(
    p_churn: ArrayLike,
    renewal: ArrayLike,
    p_leave: ArrayLike,
    u_hazard: ArrayLike,
    u_renewal: ArrayLike,
) -> tuple[ArrayLike, ArrayLike]:
    """Whether a customer (or each) means to leave this month, by the churn hazard
    (`p_churn` against `u_hazard`) or, with a contract due (`renewal`), by not renewing
    (`p_leave` against `u_renewal`); returns their risk (the probability of leaving) and
    the intent."""
    would_leave = (u_hazard < p_churn) | (renewal & (u_renewal < p_leave))
    return p_churn + renewal * p_leave, would_leave


def intervention_succeeds(flagged: ArrayLike, u_success: ArrayLike, success: float) -> ArrayLike:
    """Whether a retention intervention reaches a flagged customer and works (chance
    `success`); one that works lifts satisfaction and keeps a customer who meant to leave."""
    return flagged & (u_success < success)


def lifted(satisfaction: ArrayLike, gain: float) -> ArrayLike:
    """Satisfaction after a gesture that raises it by `gain` (a successful intervention or
    call-back), at most 1."""
    return np.minimum(satisfaction + gain, 1.0)


class Purchases(NamedTuple):
    """What a staying customer (or each) buys this month."""

    repeat: ArrayLike
    """Whether they make a repeat purchase."""
    upsell: ArrayLike
    """Whether they take one more product (never beyond the most allowed)."""


def purchases(
    purchase: PurchaseRules,
    reference_satisfaction: float,
    satisfaction: ArrayLike,
    products: ArrayLike,
    u_repeat: ArrayLike,
    u_upsell: ArrayLike,
) -> Purchases:
    """A staying customer's repeat purchase and upsell, each more likely the more satisfied
    they are (`rules.purchase_probability` around `reference_satisfaction`)."""
    p_repeat = rules.purchase_probability(
        purchase.repeat_per_month,
        satisfaction,
        purchase.satisfaction_effect,
        reference_satisfaction,
    )
    p_upsell = rules.purchase_probability(
        purchase.upsell_per_month,
        satisfaction,
        purchase.satisfaction_effect,
        reference_satisfaction,
    )
    upsell = (u_upsell < p_upsell) & (products < purchase.max_products)
    return Purchases(u_repeat < p_repeat, upsell)


# ---------------------------------------------------------------------------- money and word


@numba.njit(cache=True, nogil=True)
def month_revenue(
    revenue_per_month: float,
    products: int,
    repeat: bool,
    repeat_value: float,
    extra_product_share: float,
    price: float = 1.0,
) -> float:
    """A customer's revenue of the month, currency: the segment's monthly revenue, raised by
    `extra_product_share` for each product beyond the first, plus a repeat purchase, all at
    the firm's relative `price` (`firm.price`; the revenue itself at 1, as `priced`)."""
    extra = extra_product_share * (products - 1)
    revenue = revenue_per_month * (1.0 + extra)
    value = revenue + repeat * repeat_value
    return value if price == 1.0 else value * price


def priced(values: ArrayLike, factor: float) -> ArrayLike:
    """`values` × `factor`; `values` themselves at factor 1, so that a firm at the market's
    price computes exactly what it computes without one."""
    return values if factor == 1.0 else values * factor


def price_hazard_factor(scenario: Scenario) -> float:
    """Multiplier on the churn hazard of the firm's relative price: price^price_effect
    (`firm.price`, `behaviour.churn.price_effect`; 1 at the market's price)."""
    price = scenario.firm.price
    return 1.0 if price == 1.0 else price**scenario.behaviour.churn.price_effect


def front_line_answers_support(support: Support) -> bool:
    """Whether the front-line staff answer support contacts (and count them in their
    workload): only when the desk is described by its service level alone; a contact
    centre's own agents answer them otherwise, and are paid as its staffing. Each contact is
    worked, paid and counted once."""
    return support.mode == "service_level"


def voice(
    satisfaction: float, word_of_mouth: str, answer_sd: float, detractor_weight: float
) -> float:
    """Word of mouth an active customer spreads: 1 each (``customers``, the classic Bass
    model) or their `net_voice` (``net_promoters``)."""
    if word_of_mouth == "customers":
        return 1.0
    return net_voice(satisfaction, answer_sd, detractor_weight)


@numba.njit(cache=True, nogil=True)
def net_voice(satisfaction: float, answer_sd: float, detractor_weight: float) -> float:
    """Net word of mouth of a customer with cumulative `satisfaction` (0–1): the chance of
    being a promoter less `detractor_weight` × the chance of being a detractor
    (`rules.promoter_detractor` of the score 10 × satisfaction, worked out in the
    satisfaction's own precision, as numpy multiplies: float32 for the market's arrays)."""
    score = np.float64(np.float32(10.0) * satisfaction)
    promoter, detractor = rules.promoter_detractor(score, answer_sd)
    return promoter - detractor_weight * detractor


@numba.vectorize(["float64(boolean, float64)"], cache=True)
def reluctance(lapsed: ArrayLike, winback_factor: float) -> ArrayLike:
    """Multiplier on the adoption hazard: lapsed customers need more persuading (their
    `winback_factor`; 1 for prospects)."""
    return winback_factor if lapsed else 1.0


@register_jitable
def adopts(u_adopt: ArrayLike, chance: float, reluctance_factor: ArrayLike) -> ArrayLike:
    """Whether a prospect or lapsed customer adopts this month under complete mixing: the
    month's `chance`, times their `reluctance` factor, against their uniform draw."""
    return u_adopt < chance * reluctance_factor


def adoption_source(lapsed: ArrayLike, u_source: ArrayLike, ads_share: ArrayLike) -> ArrayLike:
    """How an adopter was won (`sim.customers.population` source codes): a lapsed customer is won
    back; anyone else by advertising or word of mouth, in proportion to the hazards
    (advertising's share `ads_share` against their uniform draw)."""
    return np.where(lapsed, WINBACK, np.where(u_source < ads_share, ADVERTISING, WORD_OF_MOUTH))


def substep_adoption(hazard: ArrayLike, reluctance_factor: ArrayLike) -> ArrayLike:
    """Probability of adopting in one of the month's `NETWORK_SUBSTEPS` sub-steps."""
    return -np.expm1(-hazard * reluctance_factor / NETWORK_SUBSTEPS)


def advertising_share(advertising: float, hazard: ArrayLike) -> ArrayLike:
    """Share of an adoption hazard due to advertising (the rest is word of mouth); all of it
    when detractors hold the hazard below the advertising-only rate."""
    return np.minimum(advertising / np.maximum(hazard, 1e-12), 1.0)
