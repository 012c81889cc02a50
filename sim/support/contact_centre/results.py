"""What a simulated period of the contact centre produced, and how a population reuses it.

A simulation logs one row per contact: when it arrived, how long it waited, whether it was
answered, abandoned or still waiting when the simulation ended, how long agents spent on it,
whether it was transferred and whether it resolved the customer's issue. The rows of the
measured period become a `ContactTable`, and their averages, with the time-average queue
length and busy agents, a `SimulationResult` whose `QueueMetrics` read like the closed forms.

`outcomes_for_contacts` couples the centre to any population model by representative-period
resampling: each of a large population's contacts in a month gets the whole row of a contact
drawn at random from a simulated period at that month's arrival rate and staffing. (The
journey model's own desk, `sim.support.desk.ContactCentreDesk`, uses a variant that picks the
row by each customer's own uniform, so that scenarios share their random numbers.)
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from sim.support.contact_centre import _validate as check
from sim.support.contact_centre.erlang import SECONDS_PER_HOUR, QueueMetrics

__all__ = ["ContactTable", "SimulationResult", "outcomes_for_contacts"]


@dataclass(frozen=True)
class ContactTable:
    """One row per contact that arrived in the measured period (parallel numpy arrays).

    Attributes:
        arrival_seconds: Arrival time after the end of the warm-up (seconds), ascending.
        wait_seconds: Time spent queueing before being answered or hanging up (seconds).
        answered: Whether an agent took the call.
        abandoned: Whether the caller hung up before an agent was free.
        answered_within_target: Whether the call was answered within the target time.
        resolved: Whether the customer's issue was resolved by this contact.
        is_repeat: Whether the contact is a call back about an unresolved issue.
        transferred: Whether the call needed a second handle-time segment.
        handle_seconds: Total agent time spent on the call, NaN if not answered (seconds).
    """

    arrival_seconds: np.ndarray
    wait_seconds: np.ndarray
    answered: np.ndarray
    abandoned: np.ndarray
    answered_within_target: np.ndarray
    resolved: np.ndarray
    is_repeat: np.ndarray
    transferred: np.ndarray
    handle_seconds: np.ndarray

    def __len__(self) -> int:
        return int(self.arrival_seconds.size)


@dataclass(frozen=True)
class SimulationResult:
    """What one simulated period of the centre produced.

    Attributes:
        metrics: Aggregate metrics over the contacts that arrived in the measured period;
            occupancy and mean queue length are time averages over that period.
        table: The per-contact outcomes.
        agents: Time-average number of agents on duty in the measured period (agents): the
            headcount when it does not vary.
        schedule: Agents on duty in successive hours, repeated cyclically (one entry for a
            fixed headcount).
        hours: Length of the measured period (hours).
        warmup_hours: Length of the warm-up excluded before it (hours).
        answer_within_seconds: Service-level target time used (seconds).
        aht_seconds: Observed mean agent time per answered contact (seconds).
        fcr: Observed share of answered contacts that resolved the issue.
        contacts: Number of contacts in the measured period, repeats included.
        repeat_contacts: Number of those that were repeat contacts.
        mean_patience_abandoned_seconds: Mean wait, i.e. patience, of callers who hung up
            (seconds); NaN if nobody did.
    """

    metrics: QueueMetrics
    table: ContactTable
    agents: float
    schedule: tuple[int, ...]
    hours: float
    warmup_hours: float
    answer_within_seconds: float
    aht_seconds: float
    fcr: float
    contacts: int
    repeat_contacts: int
    mean_patience_abandoned_seconds: float


class ContactLog:
    """Rows of contacts, filled in as each contact's story unfolds (times in seconds)."""

    def __init__(self) -> None:
        self.arrival: list[float] = []
        self.wait: list[float] = []
        self.answered: list[bool] = []
        self.abandoned: list[bool] = []
        self.is_repeat: list[bool] = []
        self.resolved: list[bool] = []
        self.transferred: list[bool] = []
        self.handle: list[float] = []

    def arrive(self, now: float, is_repeat: bool) -> int:
        """Open a row for a contact arriving at ``now``; return its row number."""
        self.arrival.append(now)
        self.wait.append(math.nan)
        self.answered.append(False)
        self.abandoned.append(False)
        self.is_repeat.append(is_repeat)
        self.resolved.append(False)
        self.transferred.append(False)
        self.handle.append(math.nan)
        return len(self.arrival) - 1

    def wait_over(self, row: int, now: float, answered: bool) -> None:
        """The contact's wait ended at ``now``: an agent answered, or the caller hung up."""
        self.wait[row] = now - self.arrival[row]
        self.answered[row] = answered
        self.abandoned[row] = not answered

    def call_over(self, row: int, handle: float, transferred: bool, resolved: bool) -> None:
        """The answered contact ended after ``handle`` seconds of agent time."""
        self.handle[row] = handle
        self.transferred[row] = transferred
        self.resolved[row] = resolved

    def table(self, start: float, stop: float, now: float, target: float) -> ContactTable:
        """The contacts that arrived in ``[start, stop)``, with arrival times from ``start``.

        A contact still waiting at ``now`` gets its wait so far and is neither answered nor
        abandoned.
        """
        arrival = np.asarray(self.arrival, dtype=float)
        keep = (arrival >= start) & (arrival < stop)
        arrival = arrival[keep]
        wait = np.asarray(self.wait, dtype=float)[keep]
        wait = np.where(np.isnan(wait), now - arrival, wait)
        answered = np.asarray(self.answered, dtype=bool)[keep]
        return ContactTable(
            arrival_seconds=arrival - start,
            wait_seconds=wait,
            answered=answered,
            abandoned=np.asarray(self.abandoned, dtype=bool)[keep],
            answered_within_target=answered & (wait <= target),
            resolved=np.asarray(self.resolved, dtype=bool)[keep],
            is_repeat=np.asarray(self.is_repeat, dtype=bool)[keep],
            transferred=np.asarray(self.transferred, dtype=bool)[keep],
            handle_seconds=np.asarray(self.handle, dtype=float)[keep],
        )


def _mean(values: np.ndarray, default: float = math.nan) -> float:
    """Mean of ``values``, or ``default`` when there are none."""
    return float(values.mean()) if values.size else default


def period_result(
    table: ContactTable,
    agents: float,
    schedule: tuple[int, ...],
    hours: float,
    warmup_hours: float,
    answer_within_seconds: float,
    mean_queue_length: float,
    mean_busy_agents: float,
) -> SimulationResult:
    """Aggregate a period's table and time averages into a `SimulationResult`.

    Args:
        table: The contacts of the measured period.
        agents: Time-average number of agents on duty (agents).
        schedule: Agents on duty in successive hours, repeated cyclically.
        hours: Length of the measured period (hours).
        warmup_hours: Length of the warm-up before it (hours).
        answer_within_seconds: Service-level target time (seconds).
        mean_queue_length: Time-average number of calls waiting (calls).
        mean_busy_agents: Time-average number of agents handling calls (agents).
    """
    answered = table.answered
    aht = _mean(table.handle_seconds[answered & np.isfinite(table.handle_seconds)])
    contacts = len(table)
    metrics = QueueMetrics(
        p_wait=_mean(table.wait_seconds > 0, 0.0),
        asa_seconds=_mean(table.wait_seconds[answered], 0.0 if not contacts else math.nan),
        mean_wait_seconds=_mean(table.wait_seconds, 0.0),
        service_level=_mean(table.answered_within_target, 1.0),
        abandon_rate=_mean(table.abandoned, 0.0),
        occupancy=mean_busy_agents / agents if agents else 0.0,
        offered_load_erlangs=contacts / (hours * SECONDS_PER_HOUR) * aht if contacts else 0.0,
        mean_queue_length=mean_queue_length,
    )
    return SimulationResult(
        metrics=metrics,
        table=table,
        agents=agents,
        schedule=schedule,
        hours=hours,
        warmup_hours=warmup_hours,
        answer_within_seconds=answer_within_seconds,
        aht_seconds=aht,
        fcr=_mean(table.resolved[answered]),
        contacts=contacts,
        repeat_contacts=int(table.is_repeat.sum()),
        mean_patience_abandoned_seconds=_mean(table.wait_seconds[table.abandoned]),
    )


def generator(rng: np.random.Generator | int) -> np.random.Generator:
    """Return ``rng`` itself, or a new generator seeded with it when it is an integer."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return np.random.default_rng(check.count("rng", rng))
    raise check.fail("rng", rng, "a numpy.random.Generator or a whole-number seed >= 0")


def outcomes_for_contacts(
    result: SimulationResult, n_contacts: int, rng: np.random.Generator | int
) -> dict[str, np.ndarray]:
    """Draw the outcomes of ``n_contacts`` contacts by resampling a simulated period.

    Each contact gets the whole row of a contact drawn uniformly, with replacement, from
    ``result.table``, so its wait, abandonment and resolution stay jointly consistent.

    Args:
        result: A simulated representative period of the centre.
        n_contacts: Number of outcomes wanted, >= 0.
        rng: A ``numpy.random.Generator``, or an integer seed for a new one.

    Returns:
        Arrays of length ``n_contacts``: ``wait_seconds`` (seconds), ``answered``,
        ``abandoned``, ``answered_within_target`` and ``resolved``.

    Raises:
        ValueError: If ``n_contacts`` is negative, or outcomes are wanted from an empty table.
    """
    wanted = check.count("n_contacts", n_contacts)
    rng = generator(rng)
    table = result.table
    if wanted and not len(table):
        raise check.fail("result", "a table with no contacts", "a period with some contacts")
    rows = rng.integers(0, len(table), size=wanted)
    return {
        "wait_seconds": table.wait_seconds[rows],
        "answered": table.answered[rows],
        "abandoned": table.abandoned[rows],
        "answered_within_target": table.answered_within_target[rows],
        "resolved": table.resolved[rows],
    }
