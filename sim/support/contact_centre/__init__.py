"""The contact centre: closed-form queueing models and a SimPy process model of a period.

`erlang_c` and `erlang_a` give the steady-state metrics of a staffed queue of calls,
`agents_for_service_level` the staffing that reaches a service-level target, `agents_by_hour`
and `day_metrics` staff an opening day hour by hour to its intraday profile
(`TYPICAL_WEEKDAY`) and combine the hours, and `simulate` runs the same centre as a
discrete-event simulation (with repeats, transfers, lognormal handle times, intraday peaks
and agents on duty by the hour) whose per-contact table can give a large population's
contacts their outcomes: `outcomes_for_contacts` resamples it with a generator
(`sim.support.contact_centre.results`), and the journey model's desk (`sim.support.desk`) maps each
customer's own uniform to a contact of the table, keeping common random numbers. The
`contact-centre` command lives in `sim.support.contact_centre.cli`. See docs/contact_centre.md.
"""

from typing import TYPE_CHECKING

from sim.support.contact_centre._validate import HANDLE_TIME_DISTRIBUTIONS
from sim.support.contact_centre.profiles import TYPICAL_WEEKDAY

if TYPE_CHECKING:
    from sim.support.contact_centre.erlang import (
        QueueMetrics,
        agents_for_service_level,
        erlang_a,
        erlang_b,
        erlang_c,
    )
    from sim.support.contact_centre.intraday import agents_by_hour, day_metrics
    from sim.support.contact_centre.results import (
        ContactTable,
        SimulationResult,
        outcomes_for_contacts,
    )
    from sim.support.contact_centre.simulation import simulate

_LAZY = {
    "QueueMetrics": "erlang",
    "agents_for_service_level": "erlang",
    "erlang_a": "erlang",
    "erlang_b": "erlang",
    "erlang_c": "erlang",
    "agents_by_hour": "intraday",
    "day_metrics": "intraday",
    "ContactTable": "results",
    "SimulationResult": "results",
    "outcomes_for_contacts": "results",
    "simulate": "simulation",
}
"""Names imported from their module on first use: reading the package's constants (as a
scenario's validation does) loads neither SciPy (the Erlang formulas) nor SimPy."""


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f"{__name__}.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "HANDLE_TIME_DISTRIBUTIONS",
    "TYPICAL_WEEKDAY",
    "ContactTable",
    "QueueMetrics",
    "SimulationResult",
    "agents_by_hour",
    "agents_for_service_level",
    "day_metrics",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "outcomes_for_contacts",
    "simulate",
]
