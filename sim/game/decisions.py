"""A team's decision for one round of the classroom game, and the rules it must keep.

Each round, every team decides for its firm: how its CX budget is split across the eight
capabilities (currency per month, at most the round's budget in total), how its contact
centre is staffed (agents per opening hour, or staffed to its service-level target), which
maturity practices it pursues (a maturity level, or those its capabilities reach), its price
relative to the market's, and its advertising spend. `Decision` validates a submission as a
scenario file is validated (the field, the value, what is allowed); `changes` turns it into
the firm's scenario changes for the round's months (`sim.model.CXModel.revise_firm`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError

from sim.errors import ScenarioError
from sim.scenario.fields import NonNegative, Strict
from sim.scenario.firm import MATURITY_LEVELS, Capability
from sim.scenario.loading import validation_error
from sim.scenario.schema import Acquisition

MAX_PRICE = 2.0
"""Highest relative price a team may set (twice the market's)."""
MIN_PRICE = 0.5
"""Lowest relative price a team may set (half the market's)."""
MAX_MARKETING = 5.0
"""Highest advertising spend a team may set, cu per person in the market per month."""


class Decision(Strict):
    """One team's decision for a round (defaults: no CX spend, the desk staffed to its
    target, practices as the capabilities reach, the market's price, the reference
    advertising spend)."""

    allocation: dict[Capability, NonNegative] = Field(default_factory=dict)
    """CX budget on each capability, cu per month (capabilities not named get none)."""
    agents: Annotated[int, Field(ge=1, le=10_000)] | Literal["auto"] = "auto"
    """Contact-centre agents in each opening hour, or ``auto``: staffed to the service-level
    target hour by hour."""
    maturity: Literal[("auto", *MATURITY_LEVELS)] = "auto"
    """The maturity practices pursued: a level, or ``auto`` (those the capabilities reach)."""
    price: Annotated[float, Field(ge=MIN_PRICE, le=MAX_PRICE)] = 1.0
    """Price relative to the market's."""
    marketing_per_person_per_month: Annotated[float, Field(ge=0.0, le=MAX_MARKETING)] = (
        Acquisition.model_fields["marketing_per_person_per_month"].default
    )
    """Advertising spend, cu per person in the market per month (default: a scenario's
    default)."""

    @property
    def spend(self) -> float:
        """The CX budget spent, cu per month."""
        return float(sum(self.allocation.values()))


def decision(data: Any, budget_per_month: float, source: str = "decision") -> Decision:
    """`data` (a mapping, as a team's form sends it) as a valid `Decision` within the
    round's budget.

    Raises:
        ScenarioError: naming the field, the value and what is allowed (an unknown key, a
            negative amount, a price out of range, a spend over the budget…).
    """
    if not isinstance(data, dict):
        raise ScenarioError(source, "", None, "a decision is a mapping of fields")
    try:
        chosen = Decision.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, data, source, root=Decision) from None
    if chosen.spend > budget_per_month + 1e-9:
        raise ScenarioError(
            source,
            "allocation",
            round(chosen.spend, 2),
            f"the capabilities' spend adds up to more than the budget of "
            f"{budget_per_month:,.0f} a month; spend at most that in total",
        )
    return chosen


def changes(chosen: Decision, first_month: int, last_month: int) -> dict[str, Any]:
    """The firm's scenario changes that carry out `chosen` in months `first_month` to
    `last_month` (paths of `sim.model.REVISABLE`)."""
    lines = [
        {
            "capability": capability,
            "per_month": amount,
            "start_month": first_month,
            "end_month": last_month,
        }
        for capability, amount in chosen.allocation.items()
        if amount > 0
    ]
    return {
        "firm.investments": lines,
        "firm.maturity.level": chosen.maturity,
        "firm.price": chosen.price,
        "support.contact_centre.agents": chosen.agents,
        "acquisition.marketing_per_person_per_month": chosen.marketing_per_person_per_month,
    }
