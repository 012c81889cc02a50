"""The firm: how its CXM capabilities turn into the quality it delivers, and how it changes.

The firm holds a level (0–5) for each of the eight capabilities. Each touchpoint's delivered
quality moves with the weighted level of the capabilities that drive it, with what reviews,
redesigns and the transformative frontier have added, and — at staffed touchpoints — with
employee engagement. Consistency (processes, governance and the organisational model) sets
the spread customers perceive; processes prevent problems; hand-offs between silos fail at
the organisational model's rate.

Each month `plan()` states what is delivered and `learn()` moves the firm on: investments
flow through a lagged pipeline into capability levels with diminishing returns (governance
and culture make them work better), levels above the floor decay, engagement follows
culture, tools and workload, staff leave and are replaced, and maturity follows the
capability index unless the scenario fixes it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim.customers import rules
from sim.scenario import STAGES, Channels, Scenario
from sim.scenario.fields import MAX_LEVEL
from sim.scenario.firm import CAPABILITIES, MATURITY_LEVELS, CapabilityDynamics

PREDICTIVE = MATURITY_LEVELS.index("predictive")
TRANSFORMATIVE = MATURITY_LEVELS.index("transformative")
MIN_HANDLE_TIME_FACTOR = 0.1
"""Engagement never cuts handle time below this share of the desk's own."""


@dataclass(frozen=True)
class TouchpointPlan:
    """What the firm delivers this month, one entry per touchpoint (in model order)."""

    quality: np.ndarray
    """Delivered quality, 0–1."""
    spread: np.ndarray
    """Standard deviation of perceived quality around delivered quality, 0–1 scale."""
    problem_probability: np.ndarray
    """Probability that an interaction creates a problem (hand-off failures included)."""
    fit_gain: np.ndarray
    """Personalisation's rise of perceived quality, 0–1 scale."""
    resolution_shift: float
    """Change of first-contact resolution from sourcing and engagement."""
    wait_factor: float
    """Multiplier on support waits from sourcing."""


class Firm:
    """A firm with a capability profile, delivering the scenario's touchpoints.

    Args:
        scenario: the validated scenario.
        touchpoints: touchpoint names in the model's order.
    """

    def __init__(self, scenario: Scenario, touchpoints: list[str]) -> None:
        self.settings = s = scenario.firm
        self.months = scenario.months
        self.levels = np.array([scenario.capability(c) for c in CAPABILITIES], dtype=np.float64)
        self.initial_levels = self.levels.copy()
        self.pipeline = np.zeros(len(CAPABILITIES))
        weights = np.zeros((len(touchpoints), len(CAPABILITIES)))
        for k, name in enumerate(touchpoints):
            for capability, weight in scenario.touchpoints[name].drivers.items():
                weights[k, CAPABILITIES.index(capability)] = weight
        self.driver_weights = weights / weights.sum(axis=1, keepdims=True)
        tps = [scenario.touchpoints[t] for t in touchpoints]
        self.base_quality = np.array([t.base_quality for t in tps])
        self.base_problem = np.array([t.problem_probability for t in tps])
        self.staffed = np.array([t.staffed for t in tps])
        self.is_support = np.array([t.when == "problem" for t in tps])
        # Hand-offs: a customer passed from one silo to another — joining (after the first
        # stage), renewal and support contacts; routine monthly touchpoints are not hand-offs.
        first_stage = min(STAGES.index(t.stage) for t in tps)
        self.receives_handoff = np.array(
            [STAGES.index(t.stage) > first_stage and t.when != "monthly" for t in tps]
        )
        self._touchpoints = list(touchpoints)
        self.personalised = self._personalised()
        self.improvement = np.zeros(len(touchpoints))
        """Quality added to each touchpoint by fixes and redesigns."""
        self.frontier = 0.0
        """Quality added to every touchpoint by the transformative frontier."""
        self.problem_factor = np.ones(len(touchpoints))
        """Share of each touchpoint's problems left after prevention."""
        self.organisation = s.organisation.resolved()
        self.sourcing = scenario.support.sourcing.resolved()
        self.engagement = s.employees.initial_engagement
        self.staff = 0.0 if s.employees.staff == "auto" else float(s.employees.staff)
        """Front-line staff this month (set by `update_workforce` when staffed to demand)."""
        self.staff_leavers = 0.0
        self.trust_shock = 0.0
        """Rise of every customer's churn log-hazard left by privacy incidents."""
        self.maturity = self._maturity_from_levels()
        self.spend_plan = spend_plan(scenario, CAPABILITIES)
        channels = scenario.support.channels
        self.channels = ChannelLevels(scenario, channels) if channels is not None else None
        """The support channels' levels, which investment raises (None: phone only)."""

    def revise(self, scenario: Scenario, month: int) -> None:
        """Run with the firm's settings of `scenario` from month `month` on (a decision taken
        during a run, as a team's in the classroom game): its investment spend from that
        month (earlier months keep theirs), its organisation, sourcing, personalisation,
        maturity rule, employees' settings and price. What the firm has built carries on:
        capability and channel levels and their pipelines, improvements, the frontier,
        engagement, staff and the trust shock. Its touchpoints and support channels must be
        those it started with."""
        self.settings = s = scenario.firm
        self.organisation = s.organisation.resolved()
        self.sourcing = scenario.support.sourcing.resolved()
        self.personalised = self._personalised()
        self.spend_plan[month:] = spend_plan(scenario, CAPABILITIES)[month:]
        if self.channels is not None and scenario.support.channels is not None:
            self.channels.spend_plan[month:] = spend_plan(scenario, self.channels.names)[month:]
        self.maturity = self._maturity_from_levels()

    def _personalised(self) -> np.ndarray:
        """Which touchpoints are personalised: those named, or all but the support ones;
        none unless personalisation is enabled."""
        p = self.settings.personalisation
        chosen = p.touchpoints
        return np.array(
            [
                (name in chosen) if chosen is not None else not support
                for name, support in zip(self._touchpoints, self.is_support, strict=True)
            ]
        ) & bool(p.enabled)

    # ------------------------------------------------------------------ state

    def level(self, capability: str) -> float:
        """Current level (0–5) of one capability."""
        return float(self.levels[CAPABILITIES.index(capability)])

    @property
    def capability_index(self) -> float:
        """Mean capability level, 0–5 (``levels.mean()`` by its own steps, without its
        overhead: once or twice a month)."""
        return float(np.add.reduce(self.levels) / self.levels.size)

    @property
    def maturity_name(self) -> str:
        """Name of the current maturity level."""
        return MATURITY_LEVELS[self.maturity]

    def at_least(self, maturity: str) -> bool:
        """Whether the firm is at `maturity` or above."""
        return self.maturity >= MATURITY_LEVELS.index(maturity)

    def _maturity_from_levels(self) -> int:
        fixed = self.settings.maturity.level
        if fixed != "auto":
            return MATURITY_LEVELS.index(fixed)
        return rules.maturity_from_index(self.capability_index, self.settings.maturity.thresholds)

    def spend(self, month: int) -> np.ndarray:
        """Investment spend of a month on each capability, currency."""
        return self.spend_plan[min(month, len(self.spend_plan) - 1)]

    # ------------------------------------------------------------------ delivery

    def plan(self) -> TouchpointPlan:
        """Delivered quality, spread, problem rates and support adjustments of this month."""
        s = self.settings
        ref = s.reference_level
        driver_level = self.driver_weights @ self.levels
        engagement_gain = s.employees.quality_effect * (self.engagement - 0.5)
        quality = (
            rules.delivered_quality(self.base_quality, driver_level, ref, s.quality_per_level)
            + self.improvement
            + self.frontier
            + np.where(self.staffed, engagement_gain, 0.0)
            + np.where(self.is_support, self.sourcing["quality_shift"], 0.0)
        )
        consistency = 0.5 * (self.level("processes") + self.level("governance"))
        spread = rules.consistency_spread(s.noise_sd, consistency, ref, s.consistency_per_level)
        spread = spread * self.organisation["spread_factor"]
        prevention = max(
            1.0 - s.problem_prevention_per_level * (self.level("processes") - ref), 0.0
        )
        handoff = np.where(self.receives_handoff, self.organisation["handoff_breakdown"], 0.0)
        problems = self.base_problem * prevention * self.problem_factor
        problems = 1.0 - (1.0 - problems) * (1.0 - handoff)
        fit = s.personalisation.max_fit_gain * self.personalisation_level()
        return TouchpointPlan(
            quality=np.clip(quality, 0.0, 1.0),
            spread=np.full(len(quality), float(spread)),
            problem_probability=np.clip(problems, 0.0, 1.0),
            fit_gain=np.where(self.personalised, fit, 0.0),
            resolution_shift=self.sourcing["resolution_shift"]
            + s.employees.resolution_effect * (self.engagement - 0.5),
            wait_factor=self.sourcing["wait_factor"],
        )

    def personalisation_level(self) -> float:
        """How personalised the experience can be, 0–1: technology × customer understanding."""
        if not self.settings.personalisation.enabled:
            return 0.0
        full = MAX_LEVEL * MAX_LEVEL
        return self.level("technology") * self.level("customer_understanding") / full

    def privacy_incident_probability(self) -> float:
        """Monthly probability of a privacy incident (0 without personalisation)."""
        p = self.settings.personalisation
        return rules.privacy_incident_probability(
            p.incident_per_month,
            self.personalisation_level(),
            self.level("governance") - self.settings.reference_level,
            p.governance_protection,
        )

    def privacy_incident(self, month: int, draw: Callable[[], float]) -> bool:
        """Whether a privacy incident happens in `month`: forced by the scenario, or by the
        month's uniform (`draw`, called only when an incident is possible)."""
        p = self.settings.personalisation
        if month in p.forced_incident_months:
            return True
        chance = self.privacy_incident_probability()
        return chance > 0 and draw() < chance

    def suffer_privacy_incident(self) -> float:
        """An incident raises every customer's churn log-hazard; returns the fall of every
        customer's satisfaction it causes (quality scale)."""
        p = self.settings.personalisation
        self.trust_shock += p.churn_shock
        return p.trust_shock

    def recovery_chance(self) -> float:
        """Chance that a complaint (or a detractor's call-back) is recovered: rises with
        culture (empowered staff)."""
        ladder = self.settings.maturity
        culture = self.level("culture") - self.settings.reference_level
        return rules.clamp(
            ladder.recovery_probability + ladder.recovery_per_culture_level * culture, 0, 1
        )

    def handle_time_factor(self, engagement_effect: float) -> float:
        """Multiplier on the desk's handle time: engaged staff work faster (relative change
        `engagement_effect` per unit of engagement above 0.5)."""
        engaged = engagement_effect * (self.engagement - 0.5)
        return max(1.0 + engaged, MIN_HANDLE_TIME_FACTOR)

    # ------------------------------------------------------------------ change

    def investment_effectiveness(self) -> float:
        """Multiplier on this month's investment: governance and culture enable it, and
        strategy aligns it at transformative maturity."""
        d = self.settings.dynamics
        enablers = 0.5 * (self.level("governance") + self.level("culture"))
        effectiveness = rules.investment_effectiveness(
            enablers - self.settings.reference_level, d.enabler_effect
        )
        if self.maturity >= TRANSFORMATIVE:
            effectiveness *= 1.0 + d.alignment_bonus
        return effectiveness

    def invest(self, month: int) -> float:
        """Move the month's spend through the pipelines into capability levels and channel
        levels; returns the month's spend, cu."""
        spend = self.spend(month)
        effectiveness = self.investment_effectiveness()
        if self.channels is not None:  # before the capabilities move, at this month's enablers
            channel_spend = self.channels.invest(month, effectiveness)
        d = self.settings.dynamics
        self.pipeline, self.levels = _grow(
            d, d.cost_scale, self.pipeline, self.levels, self.initial_levels, spend * effectiveness
        )
        total = float(spend.sum())
        return total + channel_spend if self.channels is not None else total

    def update_workforce(self, staffed_interactions: float, u_attrition: float) -> None:
        """Staff follow the month's demand (unless the headcount is fixed); engagement moves
        towards its target; staff leave (and are replaced)."""
        e = self.settings.employees
        ref = self.settings.reference_level
        if e.staff == "auto":
            self.staff = float(math.ceil(staffed_interactions / e.interactions_per_staff_month))
        capacity = max(self.staff * e.interactions_per_staff_month, 1e-9)
        target = rules.engagement_target(
            self.level("culture") - ref,
            self.level("technology") - ref,
            staffed_interactions / capacity,
            e.culture_effect,
            e.technology_effect,
            e.workload_effect,
        )
        self.engagement += e.engagement_adjustment * (target - self.engagement)
        rate = rules.staff_attrition(
            e.attrition_per_month, self.engagement, e.attrition_engagement_effect
        )
        # Expected leavers, with the month's uniform deciding the rounding (unbiased).
        expected = rate * self.staff
        self.staff_leavers = float(np.floor(expected + u_attrition))

    def fade_trust_shock(self) -> None:
        """A month on, part of the incidents' churn shock is forgotten."""
        self.trust_shock *= self.settings.personalisation.churn_shock_kept_per_month

    def update_maturity(self) -> None:
        """Maturity follows the capability index (unless fixed); past improvements and
        preventions erode; the transformative frontier advances."""
        self.maturity = self._maturity_from_levels()
        ladder = self.settings.maturity
        kept = 1.0 - ladder.improvement_decay_per_month
        self.improvement *= kept
        self.problem_factor = 1.0 - (1.0 - self.problem_factor) * kept
        if self.maturity >= TRANSFORMATIVE:
            self.frontier = min(
                self.frontier + ladder.frontier_gain_per_month,
                ladder.frontier_cap,
            )

    def expectation_drift(self, market_drift: float) -> float:
        """Monthly rise of customers' expectations: the market's, plus what a
        transformative firm's frontier passes on to the market."""
        if self.maturity >= TRANSFORMATIVE and self.frontier < self.settings.maturity.frontier_cap:
            pass_through = self.settings.maturity.expectation_pass_through
            return market_drift + pass_through * self.settings.maturity.frontier_gain_per_month
        return market_drift


def spend_plan(scenario: Scenario, targets: tuple[str, ...]) -> np.ndarray:
    """Spend per month (rows: months 0..horizon; row 0 unused) on each of `targets` (columns:
    capabilities or support channels), currency: the investment lines aimed at them, then
    their shares of the budget."""
    firm, horizon = scenario.firm, scenario.months
    plan = np.zeros((horizon + 1, len(targets)))
    for line in firm.investments:
        if line.target in targets:
            end = min(line.end_month or horizon, horizon)
            plan[line.start_month : end + 1, targets.index(line.target)] += line.monthly
    budget = firm.budget
    if budget.per_month > 0:
        end = min(budget.end_month or horizon, horizon)
        for target, share in budget.allocation.items():
            if target in targets:
                column = targets.index(target)
                plan[budget.start_month : end + 1, column] += budget.per_month * share
    return plan


def _grow(
    d: CapabilityDynamics,
    cost_scale: float,
    pipeline: np.ndarray,
    levels: np.ndarray,
    initial: np.ndarray,
    effective_spend: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """One month of the investment pipeline: effective spend enters it, a `lag_months`-th of
    it is realised and raises the levels (`rules.capability_step` at `cost_scale`, cu per
    month), which decay towards their floor. Returns the new pipeline and levels."""
    pipeline = pipeline + effective_spend
    realised = pipeline / d.lag_months
    pipeline = pipeline - realised
    floor = initial if d.floor == "initial" else np.full_like(levels, d.floor)
    return pipeline, rules.capability_step(levels, realised, cost_scale, d.decay_per_month, floor)


class ChannelLevels:
    """The levels of the open support channels (`support.channels`), moved by investment
    aimed at them through the same pipeline, diminishing returns and decay as the
    capabilities (`firm.dynamics`), at the channels' own `cost_scale`."""

    def __init__(self, scenario: Scenario, channels: Channels) -> None:
        self.dynamics = scenario.firm.dynamics
        self.cost_scale = channels.cost_scale
        self.reference = scenario.firm.reference_level
        self.settings = channels.open()
        self.names = tuple(self.settings)
        self.levels = np.array([c.level for c in self.settings.values()], dtype=np.float64)
        self.initial = self.levels.copy()
        self.pipeline = np.zeros(len(self.names))
        self.spend_plan = spend_plan(scenario, self.names)

    def invest(self, month: int, effectiveness: float) -> float:
        """Move the month's spend into the channels' levels; returns the spend, cu."""
        spend = self.spend_plan[min(month, len(self.spend_plan) - 1)]
        self.pipeline, self.levels = _grow(
            self.dynamics,
            self.cost_scale,
            self.pipeline,
            self.levels,
            self.initial,
            spend * effectiveness,
        )
        return float(spend.sum())

    def above_reference(self, name: str) -> float:
        """Levels of channel `name` above the firm's reference level (negative below)."""
        return float(self.levels[self.names.index(name)]) - self.reference

    def level(self, name: str) -> float:
        """Current level (0–5) of channel `name`, NaN if it is not open."""
        return float(self.levels[self.names.index(name)]) if name in self.names else math.nan
