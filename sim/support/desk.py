"""The support desk seen from the customer's side: a contact waits, then is resolved or not.

The model hands the desk the month's first contacts (one per customer who reports a problem)
and their random numbers; the desk returns each contact's wait, whether the caller hung up
before an agent answered, whether the contact resolved the problem, and the month's
operational metrics. Any object with the same `serve` method can be the desk; `desk_for`
builds the one a scenario's `support.mode` asks for:

- `ServiceLevelDesk` (`service_level`): exponential waits of a given mean, nobody hangs up;
- `ContactCentreDesk` (`simpy`, `erlang`): a queue of agents whose waits and abandonment come
  from a SimPy simulation of a representative period at the month's arrival rate, or from
  the Erlang A wait law. Each contact takes the quantile of the period's outcomes (ordered
  from best to worst) at its customer's own uniform draw, so a customer's outcome depends on
  their own random number (common random numbers across scenarios) and the cost of a month
  does not grow with the number of customers. See docs/contact_centre.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from sim.scenario import ContactCentre, Support
from sim.support.contact_centre import QueueMetrics, SimulationResult, erlang_a, erlang_c, simulate

QUEUE_MODES = ("simpy", "erlang")


@dataclass(frozen=True)
class ContactOutcomes:
    """Outcome of each contact, aligned with the contacts passed to `serve`."""

    wait_minutes: np.ndarray
    """Time waited before an agent answered or the caller hung up, minutes."""
    resolved: np.ndarray
    """True where the first contact resolved the problem (otherwise a repeat contact)."""
    abandoned: np.ndarray
    """True where the caller hung up before an agent answered (never resolved)."""
    metrics: dict[str, float] = field(default_factory=dict)
    """The month's operational metrics (keys of `sim.metrics.DESK_METRICS`)."""


class SupportDesk(Protocol):
    """Anything that serves a month's contacts."""

    def serve(
        self,
        month: int,
        u_wait: np.ndarray,
        u_resolve: np.ndarray,
        resolution_shift: float = 0.0,
        wait_factor: float = 1.0,
        aht_factor: float = 1.0,
        rng: np.random.Generator | None = None,
    ) -> ContactOutcomes:
        """Serve one first contact per entry of the uniform draws (one per contacting customer).

        `resolution_shift` changes first-contact resolution (sourcing, engagement),
        `wait_factor` multiplies waits (sourcing flexibility), `aht_factor` multiplies handle
        times (engagement), and `rng` is the month's own stream for whatever the desk draws
        besides the customers' uniforms.
        """
        ...


def desk_for(settings: Support) -> SupportDesk:
    """The desk a scenario's `support.mode` asks for."""
    if settings.mode == "service_level":
        return ServiceLevelDesk(settings)
    return ContactCentreDesk(settings)


def _first_contact_resolution(settings: Support, resolution_shift: float) -> float:
    return float(np.clip(settings.first_contact_resolution + resolution_shift, 0.0, 1.0))


class ServiceLevelDesk:
    """A desk described by its service level: exponential waits of a given mean and a
    first-contact resolution probability."""

    def __init__(self, settings: Support) -> None:
        self.settings = settings

    def serve(
        self,
        month: int,
        u_wait: np.ndarray,
        u_resolve: np.ndarray,
        resolution_shift: float = 0.0,
        wait_factor: float = 1.0,
        aht_factor: float = 1.0,
        rng: np.random.Generator | None = None,
    ) -> ContactOutcomes:
        """Waits by inversion of the exponential distribution; resolution by comparison.

        Nobody hangs up; handle times and agents are not modelled (their metrics are NaN).
        """
        mean = self.settings.mean_wait_minutes * wait_factor
        wait = -mean * np.log1p(-u_wait.astype(np.float64))
        fcr = _first_contact_resolution(self.settings, resolution_shift)
        target_minutes = self.settings.contact_centre.answer_within_seconds / 60.0
        return ContactOutcomes(
            wait_minutes=wait,
            resolved=u_resolve < fcr,
            abandoned=np.zeros(len(u_wait), dtype=bool),
            metrics={
                "aht_seconds": math.nan,
                "asa_seconds": 60.0 * mean,
                "service_level": -math.expm1(-target_minutes / mean) if mean > 0 else 1.0,
                "abandon_rate": 0.0,
                "occupancy": math.nan,
            },
        )


class ContactCentreDesk:
    """A contact centre of `agents` agents serving the month's contacts (modes `simpy` and
    `erlang`).

    Every first contact that fails (not resolved, or its caller hung up) brings one repeat
    contact in the same month, as in the rest of the model, so the centre is offered the
    first contacts plus their repeats, spread evenly over the opening hours. The repeats load
    the agents; what they cost the customer is the unresolved contact's extra effort. The
    process model runs with first-contact resolution 1, so no repeat is counted twice.

    Args:
        settings: the scenario's support section (`mode` `simpy` or `erlang`).
    """

    def __init__(self, settings: Support) -> None:
        if settings.mode not in QUEUE_MODES:
            raise ValueError(f"mode: got {settings.mode!r}; allowed: {', '.join(QUEUE_MODES)}")
        self.settings = settings
        self.centre = settings.contact_centre
        self._periods: dict[tuple[float, float], _SimulatedPeriod] = {}

    def serve(
        self,
        month: int,
        u_wait: np.ndarray,
        u_resolve: np.ndarray,
        resolution_shift: float = 0.0,
        wait_factor: float = 1.0,
        aht_factor: float = 1.0,
        rng: np.random.Generator | None = None,
    ) -> ContactOutcomes:
        """The month's arrival rate, the queue's steady state at it, and each contact's
        outcome at its customer's quantile (`rng` is needed in mode `simpy`)."""
        centre = self.centre
        resolvable = u_resolve < _first_contact_resolution(self.settings, resolution_shift)
        aht = centre.aht_seconds * aht_factor
        rate = self.calls_per_hour(len(u_wait), int((~resolvable).sum()), aht)
        if self.settings.mode == "simpy":
            period: _SimulatedPeriod | _ErlangPeriod = self._simulated(rate, aht, rng)
        else:
            period = _ErlangPeriod(rate, aht, centre)
        wait_seconds, abandoned = period.outcomes(u_wait)
        return ContactOutcomes(
            wait_minutes=wait_factor * wait_seconds / 60.0,
            resolved=resolvable & ~abandoned,
            abandoned=abandoned,
            metrics=period.metrics(wait_factor, centre.answer_within_seconds),
        )

    def calls_per_hour(self, first: int, unresolved: int, aht_seconds: float) -> float:
        """Contacts offered per opening hour, repeats included.

        `unresolved` first contacts will not resolve even if answered; each brings a repeat,
        and so does each other one whose caller hangs up. The share that hangs up is the
        Erlang A abandon rate at the load all of them make together: a fixed point, reached
        by iterating from no abandonment (the load only grows, so the iteration rises to it).
        """
        centre = self.centre
        rate = (first + unresolved) / centre.hours_per_month
        if centre.patience_seconds is None or first == 0:
            return rate
        abandon = 0.0
        for _ in range(200):
            updated = erlang_a(rate, aht_seconds, centre.agents, centre.patience_seconds)
            rate = (first + unresolved + updated.abandon_rate * (first - unresolved)) / (
                centre.hours_per_month
            )
            if abs(updated.abandon_rate - abandon) < 1e-9:
                break
            abandon = updated.abandon_rate
        return rate

    def _simulated(
        self, rate: float, aht_seconds: float, rng: np.random.Generator | None
    ) -> _SimulatedPeriod:
        """The representative period at this load, simulated once per grid cell of the run."""
        centre = self.centre
        if centre.reuse_tolerance > 0:
            rate = _on_grid(rate, centre.reuse_tolerance)
            aht_seconds = _on_grid(aht_seconds, centre.reuse_tolerance)
        key = (rate, aht_seconds)
        if key in self._periods:
            return self._periods[key]
        if rng is None:
            raise ValueError("rng: mode 'simpy' needs the month's random generator")
        hours = min(
            max(centre.simulated_hours, centre.min_simulated_contacts / rate),
            centre.max_simulated_contacts / rate,
        )
        result = simulate(
            rate,
            aht_seconds,
            centre.agents,
            hours,
            rng,
            patience_seconds=centre.patience_seconds,
            answer_within_seconds=centre.answer_within_seconds,
            handle_time=centre.handle_time,
            handle_time_cv=centre.handle_time_cv,
            first_contact_resolution=1.0,
        )
        period = _SimulatedPeriod(result)
        if centre.reuse_tolerance > 0:
            self._periods[key] = period
        return period


def _on_grid(value: float, step: float) -> float:
    """`value` rounded to the geometric grid of ratio 1 + step (relative error <= step/2)."""
    ratio = math.log1p(step)
    return math.exp(round(math.log(value) / ratio) * ratio)


def _quantile_rows(u: np.ndarray, rows: int) -> np.ndarray:
    """Row of each uniform in a table of `rows` ordered rows: the inverse empirical CDF."""
    return np.minimum((u.astype(np.float64) * rows).astype(np.int64), rows - 1)


class _SimulatedPeriod:
    """A representative period of the centre simulated with SimPy.

    Its contacts are ordered from the best outcome to the worst: answered at once, answered
    after longer and longer waits, then hung up after longer and longer waits. A customer's
    uniform picks the contact at that quantile, so every contact of the period is equally
    likely (as in resampling) but a customer's outcome depends on their own draw.
    """

    def __init__(self, result: SimulationResult) -> None:
        table = result.table
        if not len(table):
            raise ValueError("the simulated period holds no contacts; raise its length")
        gave_up = ~table.answered  # hung up, or (callers without patience) still waiting
        order = np.lexsort((table.wait_seconds, gave_up))
        self.wait_seconds = table.wait_seconds[order]
        self.gave_up = gave_up[order]
        self.result = result

    def outcomes(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Wait (seconds) and hang-up of the contacts whose uniforms are `u`."""
        rows = _quantile_rows(u, self.wait_seconds.size)
        return self.wait_seconds[rows], self.gave_up[rows]

    def metrics(self, wait_factor: float, target_seconds: float) -> dict[str, float]:
        """The period's metrics, with waits as customers meet them (times `wait_factor`)."""
        waits = wait_factor * self.wait_seconds
        return {
            "aht_seconds": self.result.aht_seconds,
            "asa_seconds": float(waits.mean()),
            "service_level": float((~self.gave_up & (waits <= target_seconds)).mean()),
            "abandon_rate": float(self.gave_up.mean()),
            "occupancy": self.result.metrics.occupancy,
        }


class _ErlangPeriod:
    """The centre's steady state by Erlang A (Erlang C without patience) and a wait law that
    matches it.

    Ordered from best to worst as in the simulated period: a share `1 − p_wait` is answered
    at once; a share `p_wait − abandon_rate` is answered after an exponential wait whose mean
    makes the closed form's mean wait of answered callers; a share `abandon_rate` hangs up
    after an exponential wait whose mean makes its ASA. Without patience the conditional wait
    is exactly exponential (M/M/n); with patience it is an approximation.
    """

    def __init__(self, calls_per_hour: float, aht_seconds: float, centre: ContactCentre) -> None:
        self.calls_per_hour, self.aht_seconds, self.centre = calls_per_hour, aht_seconds, centre
        m = self.steady_state(centre.answer_within_seconds)
        if math.isinf(m.asa_seconds):
            raise ValueError(
                f"support.contact_centre.agents: {centre.agents} agents cannot keep up with "
                f"{m.offered_load_erlangs:.3g} erlangs when callers never hang up"
            )
        abandon = m.abandon_rate
        self.p_now = 1.0 - m.p_wait
        self.p_later = max(m.p_wait - abandon, 0.0)
        self.p_gave_up = abandon
        waited_answered = m.mean_wait_answered_seconds * (1.0 - abandon)
        self.mean_later = waited_answered / self.p_later if self.p_later > 0 else 0.0
        self.mean_gave_up = (m.asa_seconds - waited_answered) / abandon if abandon > 0 else 0.0

    def steady_state(self, target_seconds: float) -> QueueMetrics:
        """The closed-form metrics with service-level target `target_seconds`."""
        centre = self.centre
        if centre.patience_seconds is None:
            return erlang_c(self.calls_per_hour, self.aht_seconds, centre.agents, target_seconds)
        return erlang_a(
            self.calls_per_hour,
            self.aht_seconds,
            centre.agents,
            centre.patience_seconds,
            target_seconds,
        )

    def outcomes(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Wait (seconds) and hang-up of the contacts whose uniforms are `u`."""
        u = u.astype(np.float64)
        below_one = np.nextafter(1.0, 0.0)
        later = (u >= self.p_now) & (u < self.p_now + self.p_later)
        gave_up = u >= self.p_now + self.p_later
        wait = np.zeros(u.size)
        if later.any():
            v = np.minimum((u[later] - self.p_now) / self.p_later, below_one)
            wait[later] = -self.mean_later * np.log1p(-v)
        if gave_up.any():
            v = np.minimum((u[gave_up] - self.p_now - self.p_later) / self.p_gave_up, below_one)
            wait[gave_up] = -self.mean_gave_up * np.log1p(-v)
        return wait, gave_up

    def metrics(self, wait_factor: float, target_seconds: float) -> dict[str, float]:
        """The closed-form metrics, with waits as customers meet them (times `wait_factor`):
        P(factor · W <= T) = P(W <= T / factor)."""
        m = self.steady_state(target_seconds / wait_factor)
        return {
            "aht_seconds": self.aht_seconds,
            "asa_seconds": wait_factor * m.asa_seconds,
            "service_level": m.service_level,
            "abandon_rate": m.abandon_rate,
            "occupancy": m.occupancy,
        }
