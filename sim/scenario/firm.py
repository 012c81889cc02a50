"""The firm's section of a scenario: capabilities and their dynamics, investments, maturity,
organisational model, employees, personalisation and privacy, and support sourcing.

These are data only (validated, frozen, with documented defaults); `sim.firm.delivery` and
`sim.firm.practices` give them behaviour. Organisational models and sourcing options are named
presets whose parameters a scenario may override field by field.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from sim.scenario.fields import SHARE_TOLERANCE, Level, MonthNumber, NonNegative, Share, Strict

CAPABILITIES: tuple[str, ...] = (
    "experience_strategy",
    "customer_understanding",
    "experience_design",
    "governance",
    "culture",
    "measurement",
    "technology",
    "processes",
)
"""The eight CXM capabilities, each a level from 0 (absent) to 5 (leading)."""

CHANNELS: tuple[str, ...] = ("phone", "chat", "self_service")
"""The support channels a scenario may open (`support.channels`), in routing order; each has
a level from 0 to 5 that investment raises as it raises a capability's."""

MATURITY_LEVELS: tuple[str, ...] = (
    "reactive",
    "managed",
    "proactive",
    "predictive",
    "transformative",
)
"""Maturity levels in order; each unlocks the practices of the levels below it too."""

ORG_MODELS: dict[str, dict[str, float]] = {
    # Central CX office: one standard, consistent, slow to reach the front line.
    "centralised": {
        "decision_latency_months": 4, "spread_factor": 0.8, "handoff_breakdown": 0.008,
        "local_fix_speed": 0.7, "overhead_per_customer": 4.2,
    },
    # CX owned by each unit: fast local fixes, silos between them.
    "distributed": {
        "decision_latency_months": 1, "spread_factor": 1.25, "handoff_breakdown": 0.035,
        "local_fix_speed": 1.5, "overhead_per_customer": 2.5,
    },
    # Central standards with embedded CX leads in units.
    "hybrid": {
        "decision_latency_months": 2, "spread_factor": 1.0, "handoff_breakdown": 0.018,
        "local_fix_speed": 1.1, "overhead_per_customer": 3.7,
    },
    # A C-level owner: aligned and quick to decide, costly.
    "executive_led": {
        "decision_latency_months": 1, "spread_factor": 0.9, "handoff_breakdown": 0.012,
        "local_fix_speed": 1.0, "overhead_per_customer": 5.3,
    },
}  # fmt: skip
"""The organisational models' presets (see `Organisation`)."""

SOURCING: dict[str, dict[str, float]] = {
    "in_house": {"cost_factor": 1.0, "quality_shift": 0.0, "resolution_shift": 0.0,
                 "wait_factor": 1.0},
    # A partner chosen for quality and flexibility.
    "creative_partner": {"cost_factor": 0.85, "quality_shift": -0.01, "resolution_shift": -0.02,
                         "wait_factor": 0.8},
    # A supplier chosen on price: scripted, less empowered, less flexible.
    "transactional_supplier": {"cost_factor": 0.6, "quality_shift": -0.06,
                               "resolution_shift": -0.1, "wait_factor": 1.3},
}  # fmt: skip
"""The sourcing options' presets (see `Sourcing`)."""

Capability = Literal[CAPABILITIES]
Channel = Literal[CHANNELS]
OrgModel = Literal[tuple(ORG_MODELS)]
SourcingOption = Literal[tuple(SOURCING)]


def _with_overrides(settings: BaseModel, preset: dict[str, float]) -> dict[str, float]:
    """A preset's parameters, each replaced by the field of the same name when it is set."""
    return {
        key: value if getattr(settings, key) is None else getattr(settings, key)
        for key, value in preset.items()
    }


class CapabilityDynamics(Strict):
    """How capability levels grow with investment and decay without upkeep."""

    cost_scale: Annotated[float, Field(gt=0.0)] = 750_000.0
    """Realised spend per month (currency) at which one month closes 63% of the gap to level
    5: gain = (5 − L)·(1 − exp(−spend/cost_scale)) — diminishing returns."""
    lag_months: Annotated[float, Field(ge=1.0, le=60.0)] = 6.0
    """Mean delay from spending to capability (first-order pipeline), months."""
    decay_per_month: Share = 0.03
    """Share of the level above the floor lost each month."""
    floor: Literal["initial"] | Level = "initial"
    """Level a capability decays towards: its initial level (existing budgets keep it) or a
    number."""
    enabler_effect: Annotated[float, Field(ge=0.0, le=1.0)] = 0.15
    """Relative rise in investment effectiveness per level of the mean of governance and
    culture above the reference."""
    alignment_bonus: Annotated[float, Field(ge=0.0, le=1.0)] = 0.2
    """Extra effectiveness when strategy aligns investments (transformative maturity)."""
    holding_cost_per_customer: NonNegative = 0.035
    """Running cost of holding the capabilities (the people, tools and governance a level
    needs), cu per active customer per month per unit of Σ level^`holding_cost_exponent`:
    about 2 % of revenue for the baseline's eight capabilities at level 2.5."""
    holding_cost_exponent: Annotated[float, Field(ge=1.0, le=3.0)] = 1.5
    """How steeply holding a capability costs more with its level: each level up needs a
    broader scope of people and systems than the last."""


class Investment(Strict):
    """Spend on one capability, or on one support channel, over a span of months (give
    per_month or per_year)."""

    capability: Capability | None = None
    channel: Channel | None = None
    """A support channel of `support.channels` instead of a capability: the spend raises the
    channel's level (docs/model.md §6.4)."""
    per_month: NonNegative | None = None
    per_year: NonNegative | None = None
    start_month: MonthNumber = 1
    end_month: MonthNumber | None = None
    """Last month of spend (default: the horizon)."""

    @model_validator(mode="after")
    def _one_rate(self) -> Investment:
        if (self.capability is None) == (self.channel is None):
            raise ValueError("give exactly one of capability or channel")
        if (self.per_month is None) == (self.per_year is None):
            raise ValueError("give exactly one of per_month or per_year")
        if self.end_month is not None and self.end_month < self.start_month:
            raise ValueError(f"end_month {self.end_month} is before start_month {self.start_month}")
        return self

    @property
    def monthly(self) -> float:
        """Spend per month, currency."""
        return self.per_month if self.per_month is not None else self.per_year / 12.0

    @property
    def target(self) -> str:
        """The capability or channel the spend goes to."""
        return self.capability if self.capability is not None else str(self.channel)


class Budget(Strict):
    """A total CX budget allocated to capabilities (and support channels) by share."""

    per_month: NonNegative = 0.0
    start_month: MonthNumber = 1
    end_month: MonthNumber | None = None
    allocation: dict[Capability | Channel, Share] = Field(default_factory=dict)
    """Share of the budget for each capability or support channel of `support.channels`;
    shares must sum to 1."""

    @model_validator(mode="after")
    def _shares(self) -> Budget:
        total = sum(self.allocation.values())
        if self.per_month > 0 and not math.isclose(total, 1.0, abs_tol=SHARE_TOLERANCE):
            raise ValueError(
                f"allocation shares must sum to 1 (within {SHARE_TOLERANCE:g}); "
                f"they sum to {total:.6g}"
            )
        if self.end_month is not None and self.end_month < self.start_month:
            raise ValueError(f"end_month {self.end_month} is before start_month {self.start_month}")
        return self


class MaturitySettings(Strict):
    """Maturity: fixed by the scenario, or following the capability index."""

    level: Literal[("auto", *MATURITY_LEVELS)] = "auto"
    thresholds: Annotated[tuple[Level, Level, Level, Level], Field(strict=False)] = (
        1.5,
        2.75,
        3.5,
        4.25,
    )
    """Capability index (mean level) at which managed, proactive, predictive and
    transformative start (auto mode); increasing. A list of four numbers (the tuple itself
    is not strict, so that a YAML list is accepted; its numbers are)."""
    recovery_probability: Share = 0.35
    """Chance that a complaint (support contact) is recovered at culture's reference level."""
    recovery_per_culture_level: Share = 0.08
    recovery_effect: Share = 0.1
    """Rise of the contact's perceived quality when recovered (service recovery)."""
    recovery_cost: NonNegative = 25.0
    close_loop_effect: Share = 0.05
    """Rise of satisfaction of a detractor respondent whom the firm calls back successfully
    (closing the loop, managed and above; success chance as for complaint recovery)."""
    close_loop_cost: NonNegative = 15.0
    review_every_months: Annotated[float, Field(ge=1.0, le=60.0)] = 6.0
    """Months between improvement reviews at governance's reference level."""
    review_speedup_per_governance_level: Share = 0.2
    review_cost: NonNegative = 5_000.0
    """Cost of one improvement review (managed and above): the analysts' and managers' time
    to read the voice of the customer and decide, cu."""
    fix_size: Share = 0.04
    """Quality gained by fixing the worst-measured touchpoint (managed), at a touchpoint
    delivering 0.75; gains shrink in proportion to the gap to quality 1."""
    fix_cost: NonNegative = 15_000.0
    redesign_size: Share = 0.03
    """Quality gained by redesigning the top driver touchpoint (proactive), at a touchpoint
    delivering 0.75; gains shrink in proportion to the gap to quality 1."""
    improvement_decay_per_month: Share = 0.03
    """Share of past fixes', redesigns' and preventions' gains lost each month (processes
    drift back without continuous improvement)."""
    redesign_cost: NonNegative = 40_000.0
    redesign_per_design_level: Share = 0.1
    """Relative rise of a redesign's size per experience-design level above the reference
    (never below a tenth of its nominal size)."""
    min_ratings_per_touchpoint: Annotated[int, Field(ge=1, le=10_000)] = 10
    """Touchpoint ratings a review needs in its window before it judges that touchpoint."""
    prevention_factor: Share = 0.7
    """Problem probability kept after preventing the most frequent problem (proactive)."""
    prevention_cost: NonNegative = 20_000.0
    """Cost of one prevention (finding and removing a problem's root cause), cu."""
    flag_share: Share = 0.03
    """Share of active customers with the highest churn scores flagged each month
    (predictive)."""
    intervention_success: Share = 0.35
    """Chance that a retention intervention keeps a customer who would have left."""
    intervention_cost: NonNegative = 10.0
    intervention_satisfaction_gain: Share = 0.03
    """Rise of satisfaction of a customer whose intervention succeeded."""
    score_noise_at_zero: Annotated[float, Field(ge=0.0, le=10.0)] = 2.5
    """Noise (logit units) of churn scores at measurement and technology level 0; it falls
    linearly to 0 at level 5 (`MAX_LEVEL`)."""
    frontier_gain_per_month: Annotated[float, Field(ge=0.0, le=0.05)] = 0.002
    """Monthly rise of every touchpoint's quality at transformative maturity."""
    frontier_cap: Share = 0.1
    frontier_cost_per_month: NonNegative = 20_000.0
    """Cost of the innovation that moves the frontier, cu per month at transformative
    maturity."""
    expectation_pass_through: Share = 0.5
    """Share of the firm's frontier gain that becomes the market's expectation drift."""

    @model_validator(mode="after")
    def _increasing(self) -> MaturitySettings:
        if list(self.thresholds) != sorted(self.thresholds):
            raise ValueError(f"thresholds must increase, got {list(self.thresholds)}")
        return self


class Organisation(Strict):
    """An organisational model: a named preset whose parameters may be overridden."""

    model: OrgModel = "hybrid"
    decision_latency_months: Annotated[int, Field(ge=0, le=36)] | None = None
    """Months from insight (a review) to change in the field."""
    spread_factor: Annotated[float, Field(gt=0.0, le=5.0)] | None = None
    """Multiplier on the spread of perceived quality (below 1: more consistent)."""
    handoff_breakdown: Share | None = None
    """Probability that a hand-off between silos fails at a touchpoint (a problem)."""
    local_fix_speed: Annotated[float, Field(gt=0.0, le=5.0)] | None = None
    """Multiplier on the size of local fixes and redesigns."""
    overhead_per_customer: NonNegative | None = None
    """Cost of running the CX organisation, cu per active customer per month (it grows
    with the firm)."""
    overhead_per_month: NonNegative | None = None
    """A fixed cost of running the CX organisation, cu per month, whatever the firm's size,
    instead of `overhead_per_customer` (not part of the preset)."""

    def resolved(self) -> dict[str, float]:
        """The preset's parameters with any overrides applied."""
        return _with_overrides(self, ORG_MODELS[self.model])


class Employees(Strict):
    """Front-line staff and their engagement (service-profit chain)."""

    staff: Annotated[int, Field(ge=0, le=1_000_000)] | Literal["auto"] = "auto"
    """Front-line staff: `auto` staffs each month to its demand (the month's staffed
    interactions at `interactions_per_staff_month` each, rounded up), as workforce planning
    does; a number fixes the headcount whatever the demand."""
    interactions_per_staff_month: Annotated[float, Field(gt=0.0)] = 100.0
    """Staffed interactions one employee handles in a month at normal workload."""
    salary_per_month: NonNegative = 3_500.0
    initial_engagement: Share = 0.5
    engagement_adjustment: Share = 0.2
    """Share of the gap to the target engagement closed each month."""
    culture_effect: Annotated[float, Field(ge=0.0, le=1.0)] = 0.1
    technology_effect: Annotated[float, Field(ge=0.0, le=1.0)] = 0.04
    workload_effect: Annotated[float, Field(ge=0.0, le=2.0)] = 0.3
    """Fall of target engagement per unit of workload above 1 (interactions / capacity)."""
    quality_effect: Annotated[float, Field(ge=0.0, le=1.0)] = 0.1
    """Quality change at staffed touchpoints per unit of engagement above 0.5."""
    resolution_effect: Annotated[float, Field(ge=0.0, le=1.0)] = 0.2
    """First-contact resolution change per unit of engagement above 0.5."""
    attrition_per_month: Share = 0.025
    """Staff attrition at engagement 0.5; it falls with engagement."""
    attrition_engagement_effect: Annotated[float, Field(ge=0.0, le=10.0)] = 3.0
    replacement_cost: NonNegative = 8_000.0


class Personalisation(Strict):
    """Personalised touchpoints, which use customer data."""

    enabled: bool = False
    touchpoints: list[str] | None = None
    """Touchpoints personalised (default: all but problem-triggered ones)."""
    max_fit_gain: Share = 0.06
    """Rise of perceived quality at full personalisation (technology and customer
    understanding both at 5)."""
    incident_per_month: Share = 0.02
    """Privacy-incident probability per month at full personalisation and governance at the
    reference level; governance lowers it."""
    governance_protection: Annotated[float, Field(ge=0.0, le=5.0)] = 0.5
    """Fall of the log incident probability per governance level above the reference."""
    forced_incident_months: list[MonthNumber] = Field(default_factory=list)
    """Months in which an incident happens regardless (for what-if cases)."""
    trust_shock: Share = 0.08
    """Fall of every active customer's satisfaction at an incident."""
    churn_shock: Annotated[float, Field(ge=0.0, le=10.0)] = 1.0
    """Rise of the churn log-hazard right after an incident; it fades each month (see
    `churn_shock_kept_per_month`)."""
    churn_shock_kept_per_month: Share = 0.5
    """Share of the churn shock still felt a month later (0.5: it halves each month)."""


class Sourcing(Strict):
    """Who runs support: in house, a creative BPO partner or a transactional supplier."""

    option: SourcingOption = "in_house"
    cost_factor: Annotated[float, Field(gt=0.0, le=5.0)] | None = None
    """Multiplier on the cost per contact and support staff cost."""
    quality_shift: Annotated[float, Field(ge=-0.5, le=0.5)] | None = None
    """Change of delivered quality at problem-triggered (support) touchpoints."""
    resolution_shift: Annotated[float, Field(ge=-1.0, le=1.0)] | None = None
    """Change of first-contact resolution."""
    wait_factor: Annotated[float, Field(gt=0.0, le=10.0)] | None = None
    """Multiplier on waits (flexibility to staff for demand)."""

    def resolved(self) -> dict[str, float]:
        """The option's parameters with any overrides applied."""
        return _with_overrides(self, SOURCING[self.option])


REFERENCE_CUSTOMERS = 6_000.0
"""Active customers of the firm at which the defaults' lump sums are stated: the baseline's
20 000-person market with 30 % of it customers."""


class FirmScale(Strict):
    """How the firm's lump sums follow its size (docs/model.md §13.8).

    The amounts that a firm of twice the customers needs twice of (the spend that raises a
    capability, improvement reviews and projects, innovation at the frontier) are stated for
    a firm of `reference_customers` active customers and multiplied by the firm's own
    initial customers ÷ `reference_customers` (`sim.scenario.sizing.size_factor`). Amounts
    per customer, per contact, per person or per employee, and staff and agents staffed to
    demand, already follow the size; the firm's own figures (its investments and budget, a
    fixed headcount, a fixed overhead or fixed costs) are taken as written.
    """

    with_size: bool = True
    """Scale the lump sums with the firm's size (false: take them as written, whatever the
    size)."""
    reference_customers: Annotated[float, Field(gt=0.0, le=1e9)] = REFERENCE_CUSTOMERS
    """Active customers of the firm for which the lump sums are stated."""
    stands_for_customers: Annotated[float, Field(gt=0.0, le=1e9)] | None = None
    """The real firm's active customers when the simulated market is a smaller stand-in for
    it (`cxm fit-firm`): the firm's own amounts (investment lines, budget, a fixed overhead,
    fixed costs) are then written for the real firm and resolved to the stand-in's size
    (× its initial customers ÷ `stands_for_customers`); money in the results is the
    stand-in's (docs/model.md §13.8)."""


class FirmSettings(Strict):
    """The firm: capability profile, how it shapes quality, and how it changes."""

    capabilities: dict[Capability, Level] = Field(
        default_factory=lambda: dict.fromkeys(CAPABILITIES, 2.5)
    )
    """Initial level 0–5 of each capability; capabilities not named are at the reference."""
    reference_level: Level = 2.5
    price: Annotated[float, Field(gt=0.0, le=5.0)] = 1.0
    """The firm's price relative to the market's (segment revenue per month is at price 1):
    it multiplies revenue per month and raises the churn hazard (`behaviour.churn.price_effect`)
    and, with several firms, weighs against the firm in an adopter's choice."""
    quality_per_level: Annotated[float, Field(ge=0.0, le=0.2)] = 0.04
    """Change of delivered quality (0–1 scale) per capability level above the reference."""
    noise_sd: Annotated[float, Field(ge=0.0, le=0.5)] = 0.10
    """Spread of perceived quality around delivered quality at the reference consistency."""
    consistency_per_level: Annotated[float, Field(ge=0.0, le=0.2)] = 0.08
    """Relative fall of that spread per level of processes and governance (mean of the two)
    above the reference."""
    problem_prevention_per_level: Annotated[float, Field(ge=0.0, le=0.2)] = 0.10
    """Relative fall of problem probabilities per level of processes above the reference."""
    dynamics: CapabilityDynamics = CapabilityDynamics()
    investments: list[Investment] = Field(default_factory=list)
    budget: Budget = Budget()
    maturity: MaturitySettings = MaturitySettings()
    organisation: Organisation = Organisation()
    employees: Employees = Employees()
    personalisation: Personalisation = Personalisation()
    scale: FirmScale = FirmScale()
