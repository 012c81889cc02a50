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


OWN_AMOUNTS: tuple[str, ...] = (
    "firm.budget.per_month",
    "firm.organisation.overhead_per_month",
    "economics.fixed_cost_per_month",
)
"""The firm's own amounts besides its investment lines: written for the real firm when the
simulated market stands in for it (`firm.scale.stands_for_customers`), and resolved to the
stand-in's size."""


def stand_in_factor(scenario: Scenario) -> float:
    """How much of the real firm the simulated one is: its initial customers ÷
    `firm.scale.stands_for_customers` (1 when the market is not a stand-in)."""
    real = scenario.firm.scale.stands_for_customers
    return 1.0 if real is None else initial_customers(scenario) / real


def at_own_size(scenario: Scenario) -> Scenario:
    """`scenario` with its lump sums resolved for its own size.

    The scenario itself when the size factor is 1 (to 12 digits) or there are no customers
    and the market stands in for no other firm; otherwise every amount of `SCALED_AMOUNTS`
    multiplied by the size factor and the reference set to the firm's own size, and, for a
    stand-in, the firm's own amounts (`OWN_AMOUNTS`, every investment line's rate)
    multiplied by `stand_in_factor` and the firm it stands for set to itself, so that
    resolving twice changes nothing.
    """
    data = scenario.model_dump()
    changes: dict[str, object] = {}
    factor = size_factor(scenario)
    if factor != 0.0 and not math.isclose(factor, 1.0, rel_tol=1e-12):
        changes["firm.scale.reference_customers"] = initial_customers(scenario)
        for path in SCALED_AMOUNTS:
            value = value_at(data, path)
            if value is not None:  # a section the scenario does not have (support.channels)
                changes[path] = value * factor
    own = stand_in_factor(scenario)
    if own != 0.0 and not math.isclose(own, 1.0, rel_tol=1e-12):
        changes["firm.scale.stands_for_customers"] = initial_customers(scenario)
        for path in OWN_AMOUNTS:
            value = value_at(data, path)
            if value is not None:
                changes[path] = value * own
        changes["firm.investments"] = [
            line | {rate: line[rate] * own for rate in ("per_month", "per_year") if line[rate]}
            for line in data["firm"]["investments"]
        ]
    return with_overrides(scenario, changes) if changes else scenario
