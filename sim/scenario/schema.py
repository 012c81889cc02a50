"""The scenario's validated types: the market and its segments, touchpoints and journeys, the
support desk, acquisition, behaviour and economics (the firm's section is `sim.scenario.firm`),
with every default. docs/model.md explains each field."""

from __future__ import annotations

import hashlib
import json
import math
from typing import Annotated, Literal

import yaml
from pydantic import Field, model_validator

from sim.scenario.fields import (
    SHARE_TOLERANCE,
    Level,
    Name,
    NonNegative,
    Probability,
    Seed,
    Share,
    Strict,
)
from sim.scenario.firm import CHANNELS, Capability, FirmSettings, Sourcing
from sim.support.contact_centre._validate import HANDLE_TIME_DISTRIBUTIONS
from sim.support.contact_centre.profiles import PROFILES

STAGES: tuple[str, ...] = (
    "awareness",
    "sales",
    "onboarding",
    "delivery",
    "use",
    "support",
    "billing",
    "renewal",
)
"""Journey stages, in the order a customer meets them."""

Stage = Literal[STAGES]


class Expectation(Strict):
    """Distribution of a segment's initial expectations (quality units, 0–1)."""

    mean: Share = 0.75
    sd: Annotated[float, Field(ge=0.0, le=0.5)] = 0.06


class Segment(Strict):
    """A group of people who share expectations, value and behaviour."""

    name: Annotated[str, Field(min_length=1)]
    share: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0
    journey: Annotated[str, Field(min_length=1)] = "standard"
    expectation: Expectation = Expectation()
    tolerance: Annotated[float, Field(ge=0.0, le=0.5)] = 0.02
    """Half-width of the zone of tolerance around expectation (quality units)."""
    revenue_per_month: NonNegative = 40.0
    """Recurring revenue of one product held, currency per month."""
    repeat_purchase_value: NonNegative = 25.0
    """Revenue of one repeat purchase, currency."""
    churn_per_month: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.015
    """Base monthly churn probability at reference satisfaction and effort."""
    churn_frailty_sd: Annotated[float, Field(ge=0.0, le=3.0)] = 0.5
    """Spread (log scale) of a persistent personal multiplier on the churn hazard, mean 1:
    unobserved heterogeneity in propensity to leave (0: everyone alike)."""
    contract_months: Annotated[int, Field(ge=0, le=120)] = 12
    """Contract length in months; renewal decisions every this many months (0: none)."""
    support_propensity: Probability = 0.6
    """Probability that a customer with a problem contacts support."""
    survey_response: Probability = 0.15
    """Probability of answering a survey when asked, at average satisfaction."""


class Touchpoint(Strict):
    """One moment of the journey where the firm delivers an experience."""

    stage: Stage
    when: Literal["on_join", "monthly", "renewal", "problem"] = "monthly"
    """on_join: the first month as a customer; monthly: each month with
    `probability_per_month`; renewal: at each contract renewal; problem: when the
    customer contacts support about a problem."""
    probability_per_month: Probability = 1.0
    base_quality: Share = 0.78
    """Delivered quality (0–1) when every driving capability is at the reference level."""
    drivers: dict[Capability, NonNegative] = Field(default_factory=lambda: {"processes": 1.0})
    """Capability weights that move this touchpoint's quality (normalised to sum to 1)."""
    effort: Share = 0.2
    """Customer effort of the interaction (0 effortless – 1 maximal)."""
    staffed: bool = False
    """Delivered by front-line staff, so employee engagement moves its quality."""
    problem_probability: Probability = 0.02
    """Chance the interaction goes wrong and creates a problem for the customer."""


class Network(Strict):
    """The social network word of mouth runs over."""

    kind: Literal["complete", "erdos_renyi", "watts_strogatz", "barabasi_albert"] = "complete"
    """complete: everyone hears everyone (the Bass model); erdos_renyi: random ties;
    watts_strogatz: a ring lattice with a share of ties rewired (small world);
    barabasi_albert: preferential attachment (scale-free)."""
    mean_degree: Annotated[int, Field(ge=2, le=1000)] = 10
    """Mean number of ties per person (even for watts_strogatz)."""
    rewiring: Probability = 0.1
    """Share of lattice ties rewired at random (watts_strogatz only)."""


class Market(Strict):
    """The fixed population of people: prospects, customers and lapsed customers."""

    size: Annotated[int, Field(ge=1, le=100_000_000)] = 20_000
    initial_customers: Share = 0.3
    """Share of the market that are customers at month 0."""
    initial_tenure_months: Annotated[int, Field(ge=1, le=600)] = 36
    """Initial customers' tenure is uniform over 1..this many months."""
    warm_up_months: Annotated[int, Field(ge=0, le=600)] = 0
    """Months the initial customers live through before month 1, each leaver replaced in
    place by a new customer of the same segment, so that their satisfaction, expectations,
    effort memory, tenure, products and churn-frailty mix are those of a market that has run
    for a while (the firm stands still; nothing is reported or counted in NPV). 0: start
    from the drawn market."""
    segments: Annotated[list[Segment], Field(min_length=1)] = Field(
        default_factory=lambda: [Segment(name="all")]
    )
    network: Network = Network()


class ContactCentre(Strict):
    """The contact centre behind problem-triggered touchpoints (modes `simpy` and `erlang`).

    A month's contacts (first contacts and their repeats) arrive as a Poisson stream over the
    opening hours, shaped within each opening day by `intraday_profile`, and queue for the
    agents on duty; callers hang up when their patience runs out. By default each opening
    hour is staffed to `target_service_level` at that hour's expected load. See
    docs/contact_centre.md, "Coupling with the journey".
    """

    agents: Annotated[int, Field(ge=1, le=100_000)] | Literal["auto"] = "auto"
    """Agents on duty. `auto`: each opening hour gets the fewest agents whose Erlang A
    service level (Erlang C without patience) reaches `target_service_level` at the hour's
    expected load — the month's first contacts plus the repeats the desk expects, spread by
    `intraday_profile`, a perfect forecast — and at least 1. A whole number fixes the
    headcount in every opening hour."""
    target_service_level: Annotated[float, Field(gt=0.0, le=0.999)] = 0.8
    """Share of offered contacts to answer within `answer_within_seconds` that `agents: auto`
    staffs each hour for; 0.8 with 20 s is the industry's common 80/20 target."""
    intraday_profile: (
        Literal[tuple(PROFILES)]
        | Annotated[list[Annotated[float, Field(gt=0.0)]], Field(min_length=1, max_length=24)]
    ) = "typical_weekday"
    """Relative arrival rate in each hour of the opening day (scaled to average 1).
    `typical_weekday`: ten hours (08:00–18:00) with a late-morning peak, a lunchtime dip and
    an early-afternoon peak, the shape Gans, Koole & Mandelbaum (2003) and Brown et al.
    (2005) report (weights: a plausibility choice); `flat`: one rate all day; or a list of
    1 to 24 weights, one per opening hour."""
    hours_per_month: Annotated[float, Field(ge=1.0, le=744.0)] = 220.0
    """Opening hours per month (shifts × hours), over which contacts arrive: opening days of
    as many hours as `intraday_profile` holds."""
    aht_seconds: Annotated[float, Field(gt=0.0, le=36_000.0)] = 420.0
    """Average handle time at engagement 0.5, seconds."""
    handle_time: Literal[HANDLE_TIME_DISTRIBUTIONS] = "exponential"
    """Distribution of handle times (mode `simpy`; `erlang` assumes exponential)."""
    handle_time_cv: Annotated[float, Field(gt=0.0, le=10.0)] = 1.0
    """Coefficient of variation of lognormal handle times."""
    patience_seconds: Annotated[float, Field(gt=0.0, le=86_400.0)] | None = 240.0
    """Mean (exponential) time a caller waits before hanging up, seconds; null: never."""
    answer_within_seconds: Annotated[float, Field(ge=0.0, le=3_600.0)] = 20.0
    """Service-level target: share of contacts answered within this many seconds."""
    aht_engagement_effect: Annotated[float, Field(ge=-1.0, le=1.0)] = -0.3
    """Relative change of handle time per unit of employee engagement above 0.5 (engaged
    agents are faster)."""
    agent_cost_per_month: NonNegative = 3_500.0
    """Cost of one agent on duty in every opening hour of a month, currency (times the
    sourcing cost factor); staffing varying by hour is paid by the agent-hour at
    `agent_cost_per_month` / `hours_per_month`."""
    announces_wait: bool = False
    """Whether callers are told their expected wait or place in the queue."""
    uncertain_wait_multiplier: Annotated[float, Field(ge=1.0, le=5.0)] = 1.5
    """How much longer an unannounced wait feels (Maister 1985: uncertain, unexplained waits
    feel longer); 1 when `announces_wait`."""
    simulated_hours: Annotated[float, Field(gt=0.0, le=100_000.0)] = 200.0
    """Length of the representative period simulated for a month (mode `simpy`), hours;
    stretched to hold `min_simulated_contacts`, cut to hold `max_simulated_contacts`, and
    rounded to whole opening days of the intraday profile."""
    min_simulated_contacts: Annotated[int, Field(ge=50, le=1_000_000)] = 500
    """Fewest contacts a simulated period holds, for a stable distribution of outcomes."""
    max_simulated_contacts: Annotated[int, Field(ge=50, le=1_000_000)] = 5_000
    """Cap on the contacts of a simulated period, so that a month's cost does not grow with
    the population (the cap wins over the minimum; a period holds at least one opening day
    of the intraday profile, even when that day brings more contacts)."""
    reuse_tolerance: Annotated[float, Field(ge=0.0, le=0.2)] = 0.02
    """Relative step of the grid on which arrival rate and handle time are rounded in mode
    `simpy`, so that months of nearly the same load reuse one simulated period (0: simulate
    every month at its exact load)."""


class Channel(Strict):
    """What every support channel has: the share of contacts that start in it, its level and
    what the level does (docs/model.md §6.4)."""

    share: Share = 0.0
    """Share of the month's first contacts that start in this channel (the open channels'
    shares sum to 1)."""
    level: Level = 2.5
    """Initial level 0–5 of the channel: its tools, content, scripts and training; investment
    raises it and it decays without upkeep, as a capability does (`firm.dynamics`)."""
    resolution_per_level: Annotated[float, Field(ge=0.0, le=0.2)] = 0.04
    """Change of the channel's resolution per level above the firm's reference level."""
    quality_shift: Annotated[float, Field(ge=-0.5, le=0.5)] = 0.0
    """Change of the perceived quality of a contact in this channel, at the reference level
    (each level above it adds `firm.quality_per_level`)."""
    effort_shift: Annotated[float, Field(ge=-1.0, le=1.0)] = 0.0
    """Change of the effort (0–1) of a contact in this channel."""


class Phone(Channel):
    """The phone: the contact centre of `support.mode` (its waits, hang-ups, agents and
    `support.first_contact_resolution`)."""

    share: Share = 1.0


class Chat(Channel):
    """Chat with agents: waits of a given mean (exponential; nobody leaves), a resolution
    probability, and a cost per contact that includes the agents' time (an agent handles
    several chats at once, so chat is not staffed as the phone is)."""

    mean_wait_minutes: NonNegative = 1.5
    first_contact_resolution: Probability = 0.65
    """Chance that a chat resolves the problem at the reference level (otherwise a repeat
    chat in the month)."""
    cost_per_contact: NonNegative = 4.0
    """Cost of one chat (first or repeat), agents' time included, cu."""
    effort_shift: Annotated[float, Field(ge=-1.0, le=1.0)] = -0.03


class SelfService(Channel):
    """Digital self-service (help centre, app, bot): no wait and no agent; a session that
    resolves the problem deflects a contact from the agents, one that fails comes back as a
    contact in the `fallback` channel with extra effort (Dixon, Freeman & Toman 2010)."""

    resolution: Probability = 0.4
    """Chance that a session resolves the problem at the reference level (containment)."""
    resolution_per_level: Annotated[float, Field(ge=0.0, le=0.2)] = 0.08
    cost_per_contact: NonNegative = 0.25
    """Cost of one session (hosting, licences per use), cu."""
    effort_shift: Annotated[float, Field(ge=-1.0, le=1.0)] = -0.1
    failure_effort: Share = 0.25
    """Extra effort of a failed session: the customer tried, gave up and starts again in
    another channel (channel switching is a main driver of effort)."""
    failure_quality_drop: Share = 0.1
    """Fall of the perceived quality of a contact that follows a failed session."""
    fallback: Literal["phone", "chat"] = "phone"
    """The channel a failed session's customer turns to."""


class Channels(Strict):
    """The support channels the firm opens (any of phone, chat and self-service).

    Without this section every contact goes to the phone (the contact centre)."""

    phone: Phone | None = None
    chat: Chat | None = None
    self_service: SelfService | None = None
    cost_scale: Annotated[float, Field(gt=0.0)] = 150_000.0
    """Realised spend per month on one channel at which one month closes 63 % of the gap to
    level 5, cu, for a firm of `firm.scale.reference_customers` (it scales with the firm's
    size): as `firm.dynamics.cost_scale`, a fifth of it because a channel is a narrower
    thing to change than a firm-wide capability (a plausibility choice). The pipeline's lag
    and the decay are the capabilities' (`firm.dynamics`)."""

    def open(self) -> dict[str, Channel]:
        """The open channels by name, in `sim.scenario.firm.CHANNELS` order."""
        return {name: getattr(self, name) for name in CHANNELS if getattr(self, name) is not None}

    @model_validator(mode="after")
    def _routable(self) -> Channels:
        opened = self.open()
        if not opened:
            raise ValueError(f"open at least one channel of {', '.join(CHANNELS)}")
        total = sum(c.share for c in opened.values())
        if not math.isclose(total, 1.0, abs_tol=SHARE_TOLERANCE):
            shares = {name: c.share for name, c in opened.items()}
            raise ValueError(
                f"the channels' shares must sum to 1 (within {SHARE_TOLERANCE:g}); "
                f"they sum to {total:.6g}: {shares}"
            )
        ss = self.self_service
        if ss is not None and ss.fallback not in opened:
            others = ", ".join(n for n in opened if n != "self_service") or "none"
            raise ValueError(
                f"self_service.fallback is {ss.fallback!r}, a channel that is not open; "
                f"open it or fall back to an open one ({others})"
            )
        return self


class Support(Strict):
    """The support desk, as seen by customers: a staffed contact centre or a simple
    service-level model, and the channels contacts go through."""

    mode: Literal["simpy", "erlang", "service_level"] = "simpy"
    """How contacts are served: `simpy` draws each contact's outcome from a simulated
    representative period of the contact centre; `erlang` from the Erlang A (M/M/n+M) wait
    law; `service_level` gives exponential waits of `mean_wait_minutes` (no agents, no
    abandonment, no staffing cost)."""
    contact_centre: ContactCentre = ContactCentre()
    mean_wait_minutes: NonNegative = 4.0
    """Mean wait before an agent answers, minutes (mode `service_level`; waits are
    exponential)."""
    first_contact_resolution: Probability = 0.72
    wait_quality_per_minute: Annotated[float, Field(ge=0.0, le=0.1)] = 0.01
    """Fall of the perceived quality of a contact per minute waited (Maister 1985)."""
    wait_effort_per_minute: Annotated[float, Field(ge=0.0, le=0.1)] = 0.01
    """Extra effort (0–1 scale) per minute waited."""
    unresolved_quality_drop: Share = 0.2
    """Fall of the perceived quality of a contact that did not resolve the problem."""
    unresolved_effort: Share = 0.35
    """Extra effort of a problem that needs a repeat contact: another contact, the problem
    explained again (repeat contacts are the largest driver of effort; Dixon, Freeman &
    Toman 2010)."""
    abandon_quality_drop: Share = 0.1
    """Further fall of the perceived quality of a contact whose caller hung up unanswered
    (on top of `unresolved_quality_drop`: the problem is not resolved either)."""
    abandon_effort: Share = 0.15
    """Further effort of a contact whose caller hung up unanswered (on top of
    `unresolved_effort`)."""
    problem_quality_drop: Share = 0.25
    """Fall of the perceived quality of an interaction that creates a problem."""
    cost_per_contact: NonNegative = 1.5
    """Cost of one contact (first or repeat) beyond the pay of whoever answers it
    (telephony, systems, case handling tools), cu. The people are paid once, as the contact
    centre's staffing or, with the service-level desk, as front-line staff."""
    sourcing: Sourcing = Sourcing()
    channels: Channels | None = None
    """Phone, chat and self-service (docs/model.md §6.4); none: every contact by phone."""

    @property
    def felt_wait_factor(self) -> float:
        """How much longer a wait feels than it lasts: unannounced queue waits feel longer
        (Maister 1985); the service-level desk's waits are taken as felt."""
        centre = self.contact_centre
        if self.mode == "service_level" or centre.announces_wait:
            return 1.0
        return centre.uncertain_wait_multiplier


class Acquisition(Strict):
    """How prospects become customers: the Bass model with valenced word of mouth."""

    advertising_per_month: Probability = 0.004
    """Bass coefficient of innovation p, per month, at the reference marketing spend
    (`reference_marketing_per_person`); the spend moves it (`innovation_per_month`)."""
    marketing_per_person_per_month: NonNegative = 0.35
    """Advertising spend, cu per person in the market per month (cost line
    `marketing_cost`)."""
    reference_marketing_per_person: Annotated[float, Field(gt=0.0)] = 0.35
    """Spend per person per month at which the innovation coefficient is
    `advertising_per_month`."""
    advertising_elasticity: Share = 0.24
    """Elasticity of the innovation coefficient to advertising spend: diminishing returns
    (the long-term mean of Sethuraman, Tellis & Briesch 2011's meta-analysis)."""
    imitation_per_month: Annotated[float, Field(ge=0.0, le=1.0)] = 0.02
    """Bass coefficient of imitation q, per month, on the share of the market that speaks
    (net promoters, or customers with ``word_of_mouth: customers``)."""
    word_of_mouth: Literal["net_promoters", "customers"] = "net_promoters"
    """What carries imitation: the promoters among active customers less
    `detractor_weight` × detractors (net_promoters), or every active customer (customers,
    the classic Bass model)."""
    detractor_weight: NonNegative = 1.0
    winback_factor: NonNegative = 0.3
    """Acquisition hazard of a lapsed customer relative to a prospect."""
    cost_per_acquisition: NonNegative = 60.0
    """Sales and sign-up cost of a customer won by advertising, cu (the advertising itself
    is `marketing_cost`)."""
    cost_per_referral: NonNegative = 30.0
    """Sales and sign-up cost of a customer won by word of mouth (a referral reward
    included), cu."""
    cost_per_winback: NonNegative = 40.0
    """Cost of winning back a lapsed customer (the offer that brings them back), cu."""

    @property
    def innovation_per_month(self) -> float:
        """Bass coefficient of innovation p at the scenario's marketing spend, per month:
        `advertising_per_month` × (spend / reference spend)^elasticity; 0 without spend."""
        ratio = self.marketing_per_person_per_month / self.reference_marketing_per_person
        return min(self.advertising_per_month * ratio**self.advertising_elasticity, 1.0)


class SatisfactionRules(Strict):
    """Expectation-disconfirmation, episode memory and cumulative satisfaction."""

    disconfirmation_weight: Annotated[float, Field(ge=0.0, le=2.0)] = 0.5
    loss_aversion: Annotated[float, Field(ge=1.0, le=5.0)] = 2.0
    """Weight of negative disconfirmation relative to positive (Anderson & Sullivan 1993)."""
    peak_end_weight: Share = 0.5
    """Weight of the peak-end average against the plain mean in a month's episode."""
    prior_weight_new: Share = 0.5
    """Weight of prior cumulative satisfaction for a brand-new customer."""
    prior_weight_loyal: Share = 0.85
    """Weight of prior cumulative satisfaction for a long-tenure customer (Bolton 1998)."""
    tenure_scale_months: Annotated[float, Field(gt=0.0)] = 24.0
    expectation_adaptation: Share = 0.1
    """Share of the gap between experience and expectation closed each month."""
    market_drift_per_month: Annotated[float, Field(ge=-0.05, le=0.05)] = 0.0005
    """Rise of everyone's expectation per month as the market standard improves."""
    effort_memory: Share = 0.7
    """Weight of remembered effort against this month's effort."""
    service_effort_effect: Annotated[float, Field(ge=0.0, le=1.0)] = 0.3
    """Change of cumulative satisfaction per unit of a service episode's effort away from
    `neutral_service_effort` (lower when harder; Dixon, Freeman & Toman 2010)."""
    neutral_service_effort: Share = 0.4
    """Effort of a service episode that leaves cumulative satisfaction where the month's
    experiences put it."""


class ChurnRules(Strict):
    """Monthly churn hazard (proportional hazards) and the renewal decision."""

    satisfaction_effect: Annotated[float, Field(ge=0.0, le=50.0)] = 6.0
    """Log-hazard change per unit of satisfaction below the reference."""
    effort_effect: Annotated[float, Field(ge=0.0, le=50.0)] = 2.0
    """Log-hazard change per unit of remembered effort above the reference."""
    reference_satisfaction: Share = 0.75
    reference_effort: Share = 0.25
    renewal_max_leave: Probability = 0.4
    """Highest probability of leaving at renewal (reached for very dissatisfied customers)."""
    renewal_threshold: Share = 0.6
    """Satisfaction at which half of `renewal_max_leave` leave at renewal."""
    renewal_steepness: Annotated[float, Field(ge=0.0, le=200.0)] = 20.0
    price_effect: Annotated[float, Field(ge=0.0, le=10.0)] = 1.0
    """Elasticity of the churn hazard to the firm's relative price (`firm.price`): the hazard
    is multiplied by price^price_effect (1: a price 10 % above the market's raises churn by
    10 %)."""


class PurchaseRules(Strict):
    """Repeat purchases and upsell, rising with satisfaction."""

    repeat_per_month: Probability = 0.05
    upsell_per_month: Probability = 0.01
    satisfaction_effect: Annotated[float, Field(ge=0.0, le=50.0)] = 4.0
    max_products: Annotated[int, Field(ge=1, le=20)] = 3
    extra_product_revenue_share: NonNegative = 0.5
    """Revenue of each product beyond the first, as a share of `revenue_per_month`."""


class SurveyRules(Strict):
    """How survey answers (NPS, CSAT, CES) are drawn from the latent state."""

    nps_answer_sd: Annotated[float, Field(ge=0.0, le=5.0)] = 1.7
    csat_answer_sd: Annotated[float, Field(ge=0.0, le=2.0)] = 0.6
    ces_answer_sd: Annotated[float, Field(ge=0.0, le=3.0)] = 0.8
    response_per_level: Annotated[float, Field(ge=0.0, le=1.0)] = 0.2
    """Relative rise of survey response per level of measurement above the reference."""
    selection_bias: Annotated[float, Field(ge=0.0, le=20.0)] = 4.0
    """Self-selection of respondents by satisfaction at measurement level 0; it falls
    linearly to 0 at measurement level 5."""


class Behaviour(Strict):
    satisfaction: SatisfactionRules = SatisfactionRules()
    churn: ChurnRules = ChurnRules()
    purchase: PurchaseRules = PurchaseRules()
    surveys: SurveyRules = SurveyRules()


class Economics(Strict):
    gross_margin: Share = 0.6
    """Share of revenue left after the cost of goods and service delivery."""
    discount_rate_per_year: Annotated[float, Field(ge=0.0, le=1.0)] = 0.10
    fixed_cost_per_month: NonNegative = 0.0


# name: (stage, when, base quality, drivers, effort, problem probability)
_DEFAULT_JOURNEY: dict[str, tuple[str, str, float, dict[str, float], float, float]] = {
    "advertising": ("awareness", "on_join", 0.78,
                    {"experience_strategy": 0.5, "customer_understanding": 0.5}, 0.1, 0.0),
    "purchase": ("sales", "on_join", 0.79,
                 {"experience_design": 0.5, "technology": 0.5}, 0.3, 0.05),
    "onboarding": ("onboarding", "on_join", 0.77,
                   {"processes": 0.5, "experience_design": 0.5}, 0.35, 0.08),
    "product_use": ("use", "monthly", 0.80,
                    {"experience_design": 0.5, "technology": 0.5}, 0.15, 0.03),
    "support_contact": ("support", "problem", 0.75,
                        {"culture": 0.4, "processes": 0.3, "technology": 0.3}, 0.4, 0.0),
    "billing": ("billing", "monthly", 0.79, {"processes": 0.6, "technology": 0.4}, 0.15, 0.02),
    "renewal_offer": ("renewal", "renewal", 0.77,
                      {"customer_understanding": 0.6, "processes": 0.4}, 0.3, 0.03),
}  # fmt: skip


_STAFFED = ("onboarding", "support_contact")


def _default_touchpoints() -> dict[str, Touchpoint]:
    fields = ("stage", "when", "base_quality", "drivers", "effort", "problem_probability")
    return {
        name: Touchpoint.model_validate(
            dict(zip(fields, values, strict=True)) | {"staffed": name in _STAFFED}
        )
        for name, values in _DEFAULT_JOURNEY.items()
    }


class Profile(Strict):
    """The firm as its managers know it: key figures that `cxm fit-firm` turns into a
    calibrated scenario of the firm (docs/strategy.md, `sim.experiments.fit_firm`). Each
    figure left out keeps the scenario's own behaviour."""

    customers: Annotated[float, Field(ge=1.0, le=1e9)]
    """Active customers today."""
    churn_per_month: Annotated[float, Field(gt=0.0, le=0.5)] | None = None
    """Share of customers who leave in a month."""
    nps: Annotated[float, Field(ge=-100.0, le=100.0)] | None = None
    """The firm's measured NPS (from its surveys), points."""
    csat: Annotated[float, Field(ge=1.0, le=5.0)] | None = None
    """The firm's measured CSAT, 1–5 (instead of `nps`)."""
    arpu_per_month: Annotated[float, Field(gt=0.0, le=1e6)] | None = None
    """Revenue per active customer per month, cu."""
    contacts_per_customer_per_month: Annotated[float, Field(gt=0.0, le=10.0)] | None = None
    """Support contacts (every channel, repeats included) per active customer per month."""
    service_level: Annotated[float, Field(gt=0.0, lt=1.0)] | None = None
    """Share of calls answered within `support.contact_centre.answer_within_seconds`, the
    target the contact centre is staffed to."""
    cx_budget_per_year: NonNegative | None = None
    """What the firm spends a year to run its CX capabilities at their levels today, cu: the
    holding cost of §8.5, at the firm's real size."""
    simulated_customers: Annotated[float, Field(ge=100.0, le=1e9)] | None = None
    """Customers of the market simulated to stand in for the firm (default: the smaller of
    `customers` and `firm.scale.reference_customers`)."""
    warm_up_months: Annotated[int, Field(ge=0, le=600)] = 24
    """Months of warm-up before month 1 (`market.warm_up_months`), so that the figures are
    matched in the steady state."""

    @model_validator(mode="after")
    def _one_score(self) -> Profile:
        if self.nps is not None and self.csat is not None:
            raise ValueError("give nps or csat, not both")
        return self


MAX_FIRMS = 32
"""Most firms a market may hold (`Scenario.firms`)."""


class MarketFirm(Strict):
    """One of several firms competing in the market (`Scenario.firms`). Its `firm` and
    `support` sections are merged over the scenario's own `firm` and `support` when the
    scenario is read, so an entry states only how the firm differs."""

    name: Name
    firm: FirmSettings = FirmSettings()
    support: Support = Support()
    marketing_per_person_per_month: NonNegative | None = None
    """The firm's advertising spend, cu per person in the market per month (default:
    `acquisition.marketing_per_person_per_month`)."""
    initial_share: Share | None = None
    """Share of the initial customers who are this firm's (default: an even split of what
    the other entries leave)."""


class Competition(Strict):
    """How several firms compete for the market's people (docs/model.md §16): which firm an
    adopter chooses, whether a leaver switches, how the best firm moves expectations."""

    reputation_weight: Annotated[float, Field(ge=0.0, le=50.0)] = 1.0
    """Weight, in the choice of a firm, of its reputation: the net word of mouth per
    customer of its customers (promoters less `acquisition.detractor_weight` × detractors;
    0 for a firm without customers)."""
    reach_weight: Annotated[float, Field(ge=0.0, le=10.0)] = 1.0
    """Weight of its marketing reach, ln(1 + spend ÷ the reference spend,
    `acquisition.reference_marketing_per_person`)."""
    price_weight: Annotated[float, Field(ge=0.0, le=20.0)] = 2.6
    """Weight of its relative price: the utility falls by price_weight × ln(`firm.price`);
    a small firm's own-price elasticity of choice is about −price_weight, here the mean of
    Bijmolt, van Heerde & Pieters's (2005) meta-analysis."""
    switching_share: Probability = 0.5
    """Share of the customers who leave a firm who switch at once to another firm (chosen
    among the others by the same choice model); the rest lapse and may adopt again later."""
    leader_pull_per_month: Share = 0.02
    """Monthly rise of every person's expectation, as a share of the gap between the best
    firm's mean delivered quality and the customer-weighted mean of all firms' (the best
    experience available sets what everyone expects)."""


class Scenario(Strict):
    """A validated scenario: frozen, typed, with every default filled."""

    name: Name
    description: str = ""
    months: Annotated[int, Field(ge=1, le=600)] = 60
    seed: Seed = 20261125
    replications: Annotated[int, Field(ge=1, le=100_000)] = 10
    market: Market = Market()
    touchpoints: dict[str, Touchpoint] = Field(default_factory=_default_touchpoints)
    journeys: dict[str, list[str]] = Field(
        default_factory=lambda: {"standard": list(_default_touchpoints())}
    )
    firm: FirmSettings = FirmSettings()
    support: Support = Support()
    acquisition: Acquisition = Acquisition()
    behaviour: Behaviour = Behaviour()
    economics: Economics = Economics()
    profile: Profile | None = None
    """The firm's key figures, to be fitted by `cxm fit-firm` before the scenario runs."""
    firms: Annotated[list[MarketFirm], Field(min_length=1, max_length=MAX_FIRMS)] | None = None
    """Several firms competing in the market (None: the scenario's `firm` alone). Each runs
    its own touchpoints, support desk, investments, price and advertising; the market's
    people adopt, choose, switch and lapse among them (docs/model.md §16)."""
    competition: Competition = Competition()

    @property
    def sha256(self) -> str:
        """Hash of the resolved scenario (canonical JSON), the key of its provenance."""
        return hashlib.sha256(canonical_json(self).encode()).hexdigest()

    def capability(self, name: str) -> float:
        """Capability level (0–5), the reference level for one not named."""
        return self.firm.capabilities.get(name, self.firm.reference_level)

    def to_yaml(self) -> str:
        """The resolved scenario as YAML, defaults filled."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False, width=100)


def canonical_json(scenario: Scenario) -> str:
    """Deterministic JSON text of a scenario (sorted keys, no whitespace)."""
    return json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


# --------------------------------------------------------------------------- limits
