"""The contact centre: closed-form queueing models and a SimPy process model of a period.

`erlang_c` and `erlang_a` give the steady-state metrics of a staffed queue of calls,
`agents_for_service_level` the staffing that reaches a service-level target, and `simulate`
runs the same centre as a discrete-event simulation (with repeats, transfers, lognormal
handle times and intraday peaks) whose per-contact table can give a large population's
contacts their outcomes: `outcomes_for_contacts` resamples it with a generator
(`sim.contact_centre.results`), and the journey model's desk (`sim.support`) maps each
customer's own uniform to a contact of the table, keeping common random numbers. The
`contact-centre` command lives in `sim.contact_centre.cli`. See docs/contact_centre.md.
"""

from sim.contact_centre.erlang import (
    QueueMetrics,
    agents_for_service_level,
    erlang_a,
    erlang_b,
    erlang_c,
)
from sim.contact_centre.simulation import (
    HANDLE_TIME_DISTRIBUTIONS,
    ContactTable,
    SimulationResult,
    outcomes_for_contacts,
    simulate,
)

__all__ = [
    "HANDLE_TIME_DISTRIBUTIONS",
    "ContactTable",
    "QueueMetrics",
    "SimulationResult",
    "agents_for_service_level",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "outcomes_for_contacts",
    "simulate",
]
