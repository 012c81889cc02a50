"""The support desk seen from the customer's side: a contact waits, then is resolved or not.

The model hands the desk the month's first contacts (one per customer who reports a problem)
and their random numbers; the desk returns each contact's wait, whether the caller hung up
before an agent answered, whether the contact resolved the problem, and the month's
operational metrics. Any object with the same `serve` method can be the desk; `desk_for`
builds the one a scenario's `support.mode` asks for:

- `ServiceLevelDesk` (`service_level`): exponential waits of a given mean, nobody hangs up;
- `ContactCentreDesk` (`simpy`, `erlang`): a queue of agents, staffed hour by hour for the
  month's expected load (`sim.support.staffing`), whose waits and abandonment come from a
  SimPy simulation of a representative period at the month's arrival rate and intraday
  profile, or from the hours' Erlang A wait laws. Each contact takes the quantile of the
  period's outcomes (ordered from best to worst) at its customer's own uniform draw, so a
  customer's outcome depends on their own random number (common random numbers across
  scenarios) and the cost of a month does not grow with the number of customers. See
  docs/contact_centre.md.

A simulated period is a function of its inputs (load, handle time, agents by hour, the
centre's callers and profile) and of the seed alone: its random numbers come from a stream
keyed by the seed and those inputs (`sim.streams.Streams.shared_generator`), not by the
replication or the month. So every month, replication and scenario of a seed that meets the
same load is served by the same period, and `PERIODS`, the process's library of periods,
simulates each one once: a result never depends on which run simulated a period first, or
on whether it was kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import tempfile
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from sim import purposes
from sim.compiled import cache_directory, code_digest
from sim.customers.rules import clamp
from sim.scenario import ContactCentre, Support
from sim.streams import Streams
from sim.support.contact_centre import SimulationResult, simulate
from sim.support.contact_centre.intraday import day_metrics
from sim.support.staffing import Rota, intraday_weights, month_rota, steady_states

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
    """The month's operational metrics (keys of `sim.metrics.DESK_METRICS`) and, for a
    staffed centre, ``agents``: the mean agents on duty over the opening hours."""


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
        streams: Streams | None = None,
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
    return clamp(settings.first_contact_resolution + resolution_shift, 0.0, 1.0)


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
        streams: Streams | None = None,
    ) -> ContactOutcomes:
        """Waits by inversion of the exponential distribution; resolution by comparison.

        Nobody hangs up, so the ASA is the mean wait; handle times and agents are not
        modelled (their metrics are NaN).
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
                "mean_wait_seconds": 60.0 * mean,
                "service_level": -math.expm1(-target_minutes / mean) if mean > 0 else 1.0,
                "abandon_rate": 0.0,
                "occupancy": math.nan,
            },
        )


class ContactCentreDesk:
    """A staffed contact centre serving the month's contacts (modes `simpy` and `erlang`).

    Every first contact that fails (not resolved, or its caller hung up) brings one repeat
    contact in the same month, as in the rest of the model, so the centre is offered the
    first contacts plus their repeats, spread over the opening hours by the intraday
    profile, and staffed for that load (`sim.support.staffing.month_rota`). The repeats load
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
        self._inputs: dict[tuple[float, float, tuple[int, ...]], tuple[str, dict]] = {}

    def serve(
        self,
        month: int,
        u_wait: np.ndarray,
        u_resolve: np.ndarray,
        resolution_shift: float = 0.0,
        wait_factor: float = 1.0,
        aht_factor: float = 1.0,
        streams: Streams | None = None,
    ) -> ContactOutcomes:
        """The month's load and staffing, the queue at them, and each contact's outcome at
        its customer's quantile (`streams` is needed in mode `simpy`)."""
        centre = self.centre
        resolvable = u_resolve < _first_contact_resolution(self.settings, resolution_shift)
        aht = centre.aht_seconds * aht_factor
        rota = self.rota(len(u_wait), int((~resolvable).sum()), aht)
        if self.settings.mode == "simpy":
            period: _SimulatedPeriod | _ErlangPeriod = self._simulated(rota, aht, streams)
        else:
            period = _ErlangPeriod(rota, aht, centre)
        wait_seconds, abandoned = period.outcomes(u_wait)
        metrics = period.metrics(wait_factor, centre.answer_within_seconds)
        return ContactOutcomes(
            wait_minutes=wait_factor * wait_seconds / 60.0,
            resolved=resolvable & ~abandoned,
            abandoned=abandoned,
            metrics=metrics | {"agents": rota.agents_on_duty},
        )

    def rota(self, first: int, unresolved: int, aht_seconds: float) -> Rota:
        """The month's contacts per opening hour (repeats included) and agents on duty in
        each: `sim.support.staffing.month_rota`."""
        return month_rota(self.centre, first, unresolved, aht_seconds)

    def _simulated(
        self, rota: Rota, aht_seconds: float, streams: Streams | None
    ) -> _SimulatedPeriod:
        """The representative period at this load and staffing (rate and handle time on the
        grid of `reuse_tolerance`), from the library or simulated with the seed's stream for
        exactly these inputs."""
        centre = self.centre
        rate = rota.mean_calls_per_hour
        if centre.reuse_tolerance > 0:
            rate = _on_grid(rate, centre.reuse_tolerance)
            aht_seconds = _on_grid(aht_seconds, centre.reuse_tolerance)
        if streams is None:
            raise ValueError("streams: mode 'simpy' needs the run's random streams")
        cell = (rate, aht_seconds, rota.agents)
        inputs = self._inputs.get(cell)
        if inputs is None:
            inputs = self._inputs[cell] = self._period_inputs(rate, aht_seconds, rota.agents)
        detail, arguments = inputs

        def simulated() -> _SimulatedPeriod:
            rng = streams.shared_generator(purposes.SUPPORT_CENTRE, detail)
            return _SimulatedPeriod(simulate(rng=rng, **arguments))  # type: ignore[arg-type]

        return PERIODS.get((streams.entropy, detail), simulated)

    def _period_inputs(
        self, rate: float, aht_seconds: float, agents: tuple[int, ...]
    ) -> tuple[str, dict[str, object]]:
        """The simulated period's arguments at this load and staffing, and their text (the
        period's name in its stream and in the library)."""
        centre = self.centre
        hours = min(
            max(centre.simulated_hours, centre.min_simulated_contacts / rate),
            centre.max_simulated_contacts / rate,
        )
        day = len(agents)
        if day > 1:  # whole opening days, so that every hour of the profile counts alike
            most = math.floor(centre.max_simulated_contacts / (rate * day))
            hours = max(1, min(round(hours / day), most)) * day
        arguments = {
            "calls_per_hour": rate,
            "aht_seconds": aht_seconds,
            "agents": agents,
            "hours": hours,
            "patience_seconds": centre.patience_seconds,
            "answer_within_seconds": centre.answer_within_seconds,
            "handle_time": centre.handle_time,
            "handle_time_cv": centre.handle_time_cv,
            "first_contact_resolution": 1.0,
            "intraday_profile": intraday_weights(centre),
        }
        # Floats' repr is exact: equal text, equal inputs.
        return repr(sorted(arguments.items())), arguments


class PeriodLibrary:
    """The simulated periods of this process, each under its seed and inputs (the least
    recently used dropped beyond `capacity`), backed by a folder on disk that every process
    of this version of the code shares.

    A period is a function of its key and of the code alone, so keeping, dropping, storing
    or loading one never changes a result, only the time it takes: worker processes of a
    sweep, later commands and notebooks load what another process simulated instead of
    simulating it again. The folder is ``periods/<version>`` under the project's private
    cache root (`sim.compiled.cache_directory`, beside the compiled code), where the version
    is a digest of the package's source and of the numpy and SimPy versions (`_code_version`);
    ``CXM_PERIODS_DIR`` chooses another root for the same ``<version>`` folders, used as
    given, and an empty ``CXM_PERIODS_DIR`` keeps periods in memory only. A period file is
    written whole (a temporary file renamed into place) and one that cannot be read is
    simulated again.
    Safe to share between threads (two threads may both simulate a missing period; they
    get the same).
    """

    def __init__(self, capacity: int = 2_000) -> None:
        self.capacity = capacity
        self._periods: OrderedDict[tuple[int, str], _SimulatedPeriod] = OrderedDict()
        self._lock = threading.Lock()
        self._folder: Path | bool | None = False  # False: not looked up yet
        self.simulated = 0
        """How many periods this process has simulated."""
        self.loaded = 0
        """How many periods this process has read from the folder."""

    @property
    def folder(self) -> Path | None:
        """The folder on disk (None: memory only), looked up on first use."""
        if self._folder is False:
            chosen = os.environ.get(PERIODS_DIR_VARIABLE)
            if chosen is None:
                self._folder = cache_directory(_code_version(), kind="periods")
            elif chosen:
                self._folder = Path(chosen) / _code_version()[:16]
                self._folder.mkdir(parents=True, exist_ok=True)
            else:
                self._folder = None
        return self._folder  # type: ignore[return-value]

    def use_folder(self, folder: Path | None) -> Path | None:
        """Keep periods in `folder` from now on (None: in memory only); returns the folder
        used until now."""
        before = self.folder
        self._folder = folder
        return before

    def get(self, key: tuple[int, str], make: Callable[[], _SimulatedPeriod]) -> _SimulatedPeriod:
        """The period under `key`: from memory, else from the folder, else made by `make`
        (and stored)."""
        with self._lock:
            period = self._periods.get(key)
            if period is not None:
                self._periods.move_to_end(key)
                return period
        folder = self.folder
        path = None if folder is None else folder / f"{_file_name(key)}.npz"
        period = None if path is None else _SimulatedPeriod.read(path)
        loaded = period is not None
        if period is None:
            period = make()
            if path is not None:
                period.write(path)
        with self._lock:
            if loaded:
                self.loaded += 1
            else:
                self.simulated += 1
            self._periods[key] = period
            while len(self._periods) > self.capacity:
                self._periods.popitem(last=False)
        return period

    def clear(self) -> None:
        """Forget every period held in memory (the folder keeps its files)."""
        with self._lock:
            self._periods.clear()

    def __len__(self) -> int:
        return len(self._periods)


PERIODS_DIR_VARIABLE = "CXM_PERIODS_DIR"
"""Environment variable naming the folder of simulated periods (empty: memory only)."""

PERIODS = PeriodLibrary()
"""The process's library of simulated periods, shared by every desk (about 9 bytes per
simulated contact in memory and on disk; at most 5,000 contacts per period by default)."""


def _code_version() -> str:
    """What a simulated period depends on besides its key: the digest of this package's
    source and the versions of numpy (its random distributions) and SimPy."""
    import simpy

    text = f"{code_digest()} numpy {np.__version__} simpy {simpy.__version__}"
    return hashlib.sha256(text.encode()).hexdigest()


def _file_name(key: tuple[int, str]) -> str:
    """A period's file name: the SHA-256 of its seed's entropy and its inputs' text."""
    entropy, detail = key
    return hashlib.sha256(f"{entropy}\n{detail}".encode()).hexdigest()[:40]


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
        self.aht_seconds = result.aht_seconds
        """Observed mean agent time per answered contact, seconds."""
        self.occupancy = result.metrics.occupancy
        """Time-average share of the agents on duty who were busy."""
        self._metrics: dict[tuple[float, float], dict[str, float]] = {}
        """`metrics` by its arguments (a period serves many months alike)."""

    @classmethod
    def read(cls, path: Path) -> _SimulatedPeriod | None:
        """The period written to `path` by `write`; None if there is none or it cannot be
        read as one."""
        try:
            with np.load(path, allow_pickle=False) as saved:
                wait, gave_up, figures = saved["wait_seconds"], saved["gave_up"], saved["figures"]
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
            return None
        if (
            wait.dtype != np.float64
            or gave_up.dtype != np.bool_
            or wait.ndim != 1
            or wait.shape != gave_up.shape
            or not wait.size
            or figures.shape != (2,)
        ):
            return None
        period = cls.__new__(cls)
        period.wait_seconds, period.gave_up = wait, gave_up
        period.aht_seconds, period.occupancy = (float(x) for x in figures)
        period._metrics = {}
        return period

    def write(self, path: Path) -> None:
        """Write the period to `path` whole: a temporary file in the same folder renamed
        into place (a reader sees the old file, the new one or none); a folder that cannot
        be written is skipped."""
        try:
            with tempfile.NamedTemporaryFile(
                dir=path.parent, prefix=".period-", suffix=".npz", delete=False
            ) as handle:
                np.savez(
                    handle,
                    wait_seconds=self.wait_seconds,
                    gave_up=self.gave_up,
                    figures=np.array([self.aht_seconds, self.occupancy]),
                )
            os.replace(handle.name, path)
        except OSError:
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(handle.name)

    def outcomes(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Wait (seconds) and hang-up of the contacts whose uniforms are `u`."""
        rows = _quantile_rows(u, self.wait_seconds.size)
        return self.wait_seconds[rows], self.gave_up[rows]

    def metrics(self, wait_factor: float, target_seconds: float) -> dict[str, float]:
        """The period's metrics, with waits as customers meet them (times `wait_factor`)."""
        known = self._metrics.get((wait_factor, target_seconds))
        if known is not None:
            return dict(known)
        waits = wait_factor * self.wait_seconds
        answered = waits[~self.gave_up]
        metrics = self._metrics[wait_factor, target_seconds] = {
            "aht_seconds": self.aht_seconds,
            "asa_seconds": float(answered.mean()) if answered.size else math.nan,
            "mean_wait_seconds": float(waits.mean()),
            "service_level": float((~self.gave_up & (waits <= target_seconds)).mean()),
            "abandon_rate": float(self.gave_up.mean()),
            "occupancy": self.occupancy,
        }
        return dict(metrics)


class _ErlangPeriod:
    """The centre's opening day by the closed forms, hour by hour (Erlang A, or Erlang C
    without patience), and a wait law that matches it.

    Ordered from best to worst as in the simulated period. In hour `h`, with a share `q_h`
    of the day's calls, a share `1 − p_wait_h` is answered at once, a share
    `p_wait_h − a_h` is answered after an exponential wait whose mean makes the hour's ASA
    (the mean wait of answered callers), and a share `a_h` hangs up after an exponential
    wait whose mean makes the hour's mean wait of all callers. The day's law takes those
    three segments in turn, each the `q_h`-weighted mixture of the hours' laws: answered at
    once, answered after a wait (a mixture of exponentials), hung up. Without patience each
    hour's conditional wait is exactly exponential (M/M/n); with patience it is an
    approximation.
    """

    def __init__(self, rota: Rota, aht_seconds: float, centre: ContactCentre) -> None:
        self.rota, self.aht_seconds, self.centre = rota, aht_seconds, centre
        self.hours = hours = steady_states(centre, rota, aht_seconds, centre.answer_within_seconds)
        """Each opening hour's steady state at the centre's own target time."""
        if any(math.isinf(m.mean_wait_seconds) for m in hours):
            load = max(m.offered_load_erlangs for m in hours)
            raise ValueError(
                f"support.contact_centre.agents: {centre.agents} agents cannot keep up with "
                f"{load:.3g} erlangs when callers never hang up"
            )
        total = sum(rota.calls_per_hour)
        share = [rate / total if total > 0 else 1.0 / len(hours) for rate in rota.calls_per_hour]
        later, gave_up = [], []
        for q, m in zip(share, hours, strict=True):
            a = m.abandon_rate
            waited_answered = m.asa_seconds * (1.0 - a)
            p_later = max(m.p_wait - a, 0.0)
            later.append((q * p_later, waited_answered / p_later if p_later > 0 else 0.0))
            gave_up.append((q * a, (m.mean_wait_seconds - waited_answered) / a if a > 0 else 0.0))
        self.p_now = sum(q * (1.0 - m.p_wait) for q, m in zip(share, hours, strict=True))
        self.later = _ExponentialMixture(later)
        self.gave_up = _ExponentialMixture(gave_up)

    def outcomes(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Wait (seconds) and hang-up of the contacts whose uniforms are `u`."""
        u = u.astype(np.float64)
        below_one = np.nextafter(1.0, 0.0)
        p_now, p_gave_up = self.p_now, self.gave_up.weight
        # Without hang-ups everyone above the answered-at-once share waits and is answered.
        p_later = self.later.weight if p_gave_up > 0 else 1.0 - p_now
        later = (u >= p_now) & (u < p_now + p_later)
        gave_up = (u >= p_now + p_later) if p_gave_up > 0 else np.zeros(u.size, dtype=bool)
        wait = np.zeros(u.size)
        if later.any() and p_later > 0:
            v = np.minimum((u[later] - p_now) / p_later, below_one)
            wait[later] = self.later.quantile(v)
        if gave_up.any():
            v = np.minimum((u[gave_up] - p_now - p_later) / p_gave_up, below_one)
            wait[gave_up] = self.gave_up.quantile(v)
        return wait, gave_up

    def metrics(self, wait_factor: float, target_seconds: float) -> dict[str, float]:
        """The closed-form metrics of the day, with waits as customers meet them (times
        `wait_factor`): P(factor · W <= T) = P(W <= T / factor)."""
        rota, centre = self.rota, self.centre
        target = target_seconds / wait_factor
        hours = self.hours
        if target != centre.answer_within_seconds:  # waits felt longer or shorter
            hours = steady_states(centre, rota, self.aht_seconds, target)
        day = day_metrics(hours, rota.calls_per_hour, rota.agents)
        return {
            "aht_seconds": self.aht_seconds,
            "asa_seconds": wait_factor * day.asa_seconds,
            "mean_wait_seconds": wait_factor * day.mean_wait_seconds,
            "service_level": day.service_level,
            "abandon_rate": day.abandon_rate,
            "occupancy": day.occupancy,
        }


class _ExponentialMixture:
    """A mixture of exponential laws, given as (weight, mean seconds) parts; its total
    weight is the share of the day's calls it describes."""

    _GRID = 4097
    _NEWTON_STEPS = 3

    def __init__(self, parts: list[tuple[float, float]]) -> None:
        kept = [(w, max(mean, 0.0)) for w, mean in parts if w > 0]
        self.weight = sum(w for w, _ in kept)
        self.shares = np.array([w / self.weight for w, _ in kept]) if kept else np.ones(1)
        self.means = np.array([mean for _, mean in kept]) if kept else np.zeros(1)

    def _cdf(self, x: np.ndarray) -> np.ndarray:
        timed = self.means > 0  # a part of mean 0 is a wait of 0
        survive = np.exp(-x[:, None] / self.means[timed]) @ self.shares[timed]
        return 1.0 - survive

    def _density(self, x: np.ndarray) -> np.ndarray:
        timed = self.means > 0
        means = self.means[timed]
        return np.exp(-x[:, None] / means) @ (self.shares[timed] / means)

    def quantile(self, v: np.ndarray) -> np.ndarray:
        """The waits (seconds) at probabilities `v` in [0, 1): the inverse of the mixture's
        distribution function. Exact for parts of one mean; otherwise interpolated on a grid
        and polished by Newton steps (the distribution function is concave, so they close
        in on the root from below)."""
        tail = -np.log1p(-v)  # the quantile of a unit-mean exponential
        if np.all(self.means == self.means[0]):
            return self.means[0] * tail
        grid = np.linspace(0.0, self.means.max() * float(tail.max()), self._GRID)
        wait = np.interp(v, self._cdf(grid), grid)
        for _ in range(self._NEWTON_STEPS):
            wait = np.maximum(wait - (self._cdf(wait) - v) / self._density(wait), 0.0)
        return wait
