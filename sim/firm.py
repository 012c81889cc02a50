"""The firm: how its CXM capabilities turn into the quality it delivers at each touchpoint.

The firm holds a level (0–5) for each of the eight capabilities. Each touchpoint's delivered
quality moves with the weighted level of the capabilities that drive it; consistency
(processes and governance) narrows the spread customers perceive around it; processes
prevent problems at the source. `plan()` recomputes the touchpoint arrays from the current
levels each month, so capabilities that change over time only need to update `levels`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim import rules
from sim.scenario import CAPABILITIES, Scenario


@dataclass(frozen=True)
class TouchpointPlan:
    """What the firm delivers this month, one entry per touchpoint (in model order)."""

    quality: np.ndarray
    """Delivered quality, 0–1."""
    spread: np.ndarray
    """Standard deviation of perceived quality around delivered quality, 0–1 scale."""
    problem_probability: np.ndarray
    """Probability that an interaction creates a problem."""


class Firm:
    """A firm with a capability profile, delivering the scenario's touchpoints.

    Args:
        scenario: the validated scenario.
        touchpoints: touchpoint names in the model's order.
    """

    def __init__(self, scenario: Scenario, touchpoints: list[str]) -> None:
        self.settings = scenario.firm
        self.levels = np.array([scenario.capability(c) for c in CAPABILITIES], dtype=np.float64)
        weights = np.zeros((len(touchpoints), len(CAPABILITIES)))
        for k, name in enumerate(touchpoints):
            for capability, weight in scenario.touchpoints[name].drivers.items():
                weights[k, CAPABILITIES.index(capability)] = weight
        self.driver_weights = weights / weights.sum(axis=1, keepdims=True)
        self.base_quality = np.array([scenario.touchpoints[t].base_quality for t in touchpoints])
        self.base_problem = np.array(
            [scenario.touchpoints[t].problem_probability for t in touchpoints]
        )

    def level(self, capability: str) -> float:
        """Current level (0–5) of one capability."""
        return float(self.levels[CAPABILITIES.index(capability)])

    def plan(self) -> TouchpointPlan:
        """Delivered quality, spread and problem probability of every touchpoint."""
        s = self.settings
        driver_level = self.driver_weights @ self.levels
        quality = rules.delivered_quality(
            self.base_quality, driver_level, s.reference_level, s.quality_per_level
        )
        consistency = 0.5 * (self.level("processes") + self.level("governance"))
        spread = rules.consistency_spread(
            s.noise_sd, consistency, s.reference_level, s.consistency_per_level
        )
        prevention = 1.0 - s.problem_prevention_per_level * (
            self.level("processes") - s.reference_level
        )
        problems = np.clip(self.base_problem * max(prevention, 0.0), 0.0, 1.0)
        return TouchpointPlan(
            quality=quality,
            spread=np.full(len(quality), float(spread)),
            problem_probability=problems,
        )
