"""The firm's size: lump sums stated for a reference firm, resolved for this one.

A firm with ten times the customers needs ten times the spend to move a capability by the
same amount (more people to train, larger systems to change) and pays ten times for an
improvement project or for innovation. The scenario states those lump sums for a firm of
`firm.scale.reference_customers` active customers (6 000 by default: the baseline's), and the
model runs with them multiplied by the firm's size factor; every other firm-side amount is
per customer, per contact or per employee, staffed to demand, or the firm's own figure. So the
same programme expressed per customer gives the same ROI at 5 000 and at 500 000 customers,
and a small, fast market can stand in for a large one (docs/model.md §13.8).
"""

from __future__ import annotations

import math

from sim.scenario.loading import with_overrides
from sim.scenario.overrides import value_at
from sim.scenario.schema import Scenario

SCALED_AMOUNTS: tuple[str, ...] = (
    "firm.dynamics.cost_scale",
    "firm.maturity.review_cost",
    "firm.maturity.fix_cost",
    "firm.maturity.redesign_cost",
    "firm.maturity.prevention_cost",
    "firm.maturity.frontier_cost_per_month",
    "support.channels.cost_scale",
)
"""The lump sums stated for the reference firm (currency per month or per project),
multiplied by the size factor. Everything else already follows the size or is the firm's own
figure, taken as written (docs/model.md §13.8)."""


def initial_customers(scenario: Scenario) -> float:
    """The firm's expected active customers at month 0: market size × initial customer share."""
    return scenario.market.size * scenario.market.initial_customers


def size_factor(scenario: Scenario) -> float:
    """How many reference firms this firm is: its initial customers ÷
    `firm.scale.reference_customers` (1 when scaling is off)."""
    scale = scenario.firm.scale
    if not scale.with_size:
        return 1.0
    return initial_customers(scenario) / scale.reference_customers


def at_own_size(scenario: Scenario) -> Scenario:
    """`scenario` with its lump sums resolved for its own size.

    The scenario itself when the size factor is 1 (to 12 digits) or there are no customers;
    otherwise every amount of `SCALED_AMOUNTS` multiplied by the factor and the reference set
    to the firm's own size, so that resolving twice changes nothing.
    """
    factor = size_factor(scenario)
    if factor == 0.0 or math.isclose(factor, 1.0, rel_tol=1e-12):
        return scenario
    data = scenario.model_dump()
    changes: dict[str, object] = {"firm.scale.reference_customers": initial_customers(scenario)}
    for path in SCALED_AMOUNTS:
        value = value_at(data, path)
        if value is not None:  # a section the scenario does not have (support.channels)
            changes[path] = value * factor
    return with_overrides(scenario, changes)
