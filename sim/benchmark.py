"""Benchmarking the model: timed runs phase by phase, and the machine's yardstick.

`time_runs` runs replications of a scenario one after the other, each built, stepped to the
horizon and tabled as `sim.run` does, from a model built with ``profile=True``
(`sim.model.PhaseTimes`, which gives the same results): the wall time of building the model,
of each phase of `sim.model.CXModel.step()` (`sim.model.PHASES`), of making the tables and
of the rest adds up to the whole (`Timing`), and the support desk's time, inside the
``support.serve`` phase, is kept beside it. A customer-month is one active customer for one
month.

`normal_draw_rate` is the machine's yardstick: standard normal draws per second of numpy's
default generator on one core. A throughput divided by it (customer-months per normal draw)
compares machines, and one machine from day to day, better than seconds do: the shared
machines this project runs on change speed by up to a factor of three. `yardstick` also
draws on every thread of the run at once: how much faster the machine's cores do work that
shares nothing, the most a run can gain from them (on a shared 2-core machine anywhere from
about 1.4 to 2, with its load).

`time_alternating` measures a run's own speed-up on several threads the same way: one run
whose months alternate between one thread and several, in pairs of consecutive months, so
that a change of the machine's speed moves both sides of each pair's ratio alike (a run on
one thread and another on two, one after the other, can differ by more than the speed-up
itself on a shared machine). The numbers of the run are those of any thread count
(`sim.threads`).

`cxm bench` (`sim.cli.bench`) reports them; `sim.results.write_profile` writes them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from sim.model import DESK, MONTH_START, PHASES, CXModel
from sim.scenario import Scenario, with_overrides
from sim.support.desk import PERIODS
from sim.threads import set_threads, threads

BUILD = "model.build"
"""Building the model: the market, its network, the firm, the engine (`CXModel(...)`)."""
TABLES = "results.tables"
"""Making a finished run's tables (time series, touchpoints, segments), as `sim.run` does."""
OTHER = "other"
"""The rest of the timed wall time: the loop over months, Mesa's step bookkeeping, the
progress bar."""
YARDSTICK_SECONDS = 0.5
"""How long the yardstick draws normals, seconds."""
YARDSTICK_BLOCK = 1_000_000
"""Normals drawn per call while measuring the yardstick."""
YARDSTICK_ROUNDS = 5
"""Rounds of one thread against every thread in the yardstick's speed-up (`yardstick`)."""


@dataclass(frozen=True)
class Timing:
    """Consecutive runs of one scenario, timed phase by phase.

    Attributes:
        runs: how many runs.
        market_size: people in the market.
        months: months of each run.
        seconds: wall time of all the runs (building, months, tables), seconds.
        customer_months: active customers at the start of each month, summed over months
            and runs.
        phases: `BUILD`, `sim.model.MONTH_START`, each phase of `sim.model.PHASES`,
            `TABLES` and `OTHER` → seconds; they add up to `seconds`.
        calls: the same keys → how many times each ran.
        desk_seconds: the support desk's `serve` (`sim.model.DESK`), part of the
            ``support.serve`` phase, seconds.
        periods_simulated: representative periods of the contact centre simulated during
            the runs (the others were in the process's library, `sim.support.desk.PERIODS`).
        threads: threads of the per-person passes (`sim.threads`).
    """

    runs: int
    market_size: int
    months: int
    seconds: float
    customer_months: int
    phases: dict[str, float]
    calls: dict[str, int]
    desk_seconds: float
    periods_simulated: int = 0
    threads: int = 1

    def shares(self) -> dict[str, float]:
        """Each of `phases` as a share of `seconds` (they sum to 1)."""
        return {name: seconds / self.seconds for name, seconds in self.phases.items()}

    def phase_table(self) -> dict[str, dict[str, float | int]]:
        """Phase → seconds, share and calls, for a profile file."""
        shares = self.shares()
        return {
            name: {"seconds": seconds, "share": shares[name], "calls": self.calls[name]}
            for name, seconds in self.phases.items()
        }


def time_runs(
    scenario: Scenario,
    runs: int,
    seed: int,
    engine: str = "vector",
    progress: Callable[[int], object] | None = None,
) -> Timing:
    """Run replications 0 to `runs` − 1 of `scenario` one after the other, each built,
    stepped to the horizon and tabled as `sim.run` does, with the phases timed
    (`sim.model.CXModel` with ``profile=True``); `progress` is called with 1 per month."""
    phases = dict.fromkeys((BUILD, MONTH_START, *PHASES, TABLES), 0.0)
    calls = dict.fromkeys(phases, 0)
    desk = customer_months = 0
    periods_before = PERIODS.simulated
    start = time.perf_counter()
    for replication in range(runs):
        begun = time.perf_counter()
        model = CXModel(
            scenario, seed=seed, replication=replication, engine=engine, history=False,
            profile=True,
        )  # fmt: skip
        built = time.perf_counter()
        while model.running:
            model.step()
            if progress is not None:
                progress(1)
        stepped = time.perf_counter()
        series = model.recorder.timeseries()
        model.recorder.touchpoint_table()
        model.recorder.segment_table()
        phases[BUILD] += built - begun
        phases[TABLES] += time.perf_counter() - stepped
        times = model.phase_times
        assert times is not None  # built with profile=True
        for name in (MONTH_START, *PHASES):
            phases[name] += times.seconds[name]
            calls[name] += times.calls[name]
        desk += times.seconds[DESK]
        calls[BUILD] += 1
        calls[TABLES] += 1
        customer_months += int(series["active_start"].sum())
    seconds = time.perf_counter() - start
    phases[OTHER] = max(seconds - sum(phases.values()), 0.0)
    calls[OTHER] = runs
    return Timing(
        runs=runs,
        market_size=scenario.market.size,
        months=scenario.months,
        seconds=seconds,
        customer_months=customer_months,
        phases=phases,
        calls=calls,
        desk_seconds=desk,
        periods_simulated=PERIODS.simulated - periods_before,
        threads=threads(),
    )


class Alternation(NamedTuple):
    """One run whose months alternated between one thread and `threads` (`time_alternating`)."""

    threads: int
    """The threads of every other month (the others ran on one)."""
    seconds: tuple[float, float]
    """Wall time of the months on one thread and of those on `threads`, seconds."""
    customer_months: tuple[int, int]
    """Customer-months of the months on one thread and of those on `threads`."""
    pair_speedups: tuple[float, ...]
    """Each pair of consecutive months with customers in which no contact-centre period
    was simulated (a month that simulates one takes the SimPy period's time, whatever its
    threads): customer-months per second on `threads` divided by those on one."""
    periods_simulated: int
    """Contact-centre periods simulated during the run."""

    @property
    def speedup(self) -> float:
        """The median of `pair_speedups`: the run's speed-up on `threads` threads (NaN
        without a pair)."""
        return float(np.median(self.pair_speedups)) if self.pair_speedups else math.nan

    @property
    def rates(self) -> tuple[float, float]:
        """Customer-months per second over all the months on one thread and over all those
        on `threads`."""
        one, many = (cm / s for cm, s in zip(self.customer_months, self.seconds, strict=True))
        return one, many

    @property
    def speedup_of_totals(self) -> float:
        """`rates` on `threads` divided by those on one (sensitive to a slow stretch on one
        side)."""
        one, many = self.rates
        return many / one


def time_alternating(
    model: CXModel, count: int, progress: Callable[[int], object] | None = None
) -> Alternation:
    """Step `model` to its horizon with its months alternating between one thread and
    `count` threads in pairs of consecutive months, which side first alternating from pair
    to pair (1 then `count`, `count` then 1, ...), each month timed; `progress` is called
    with 1 per month. The thread count of the process is put back afterwards."""
    before = threads()
    many_months: list[bool] = []
    seconds: list[float] = []
    simulated: list[int] = []
    periods_before = PERIODS.simulated
    try:
        while model.running:
            month = len(seconds)
            many = (month % 2 == 1) == (month // 2 % 2 == 0)
            set_threads(count if many else 1)
            periods, start = PERIODS.simulated, time.perf_counter()
            model.step()
            seconds.append(time.perf_counter() - start)
            many_months.append(many)
            simulated.append(PERIODS.simulated - periods)
            if progress is not None:
                progress(1)
    finally:
        set_threads(before)
    active = model.recorder.timeseries()["active_start"].to_numpy(dtype=np.int64)
    on_many, took = np.array(many_months), np.array(seconds)
    paired = len(seconds) // 2 * 2  # a last month without its pair counts in the totals only
    rates = (active / took)[:paired].reshape(-1, 2)
    many = on_many[:paired].reshape(-1, 2)  # one True per pair: one value per pair below
    counted = (active[:paired].reshape(-1, 2) > 0).all(axis=1)
    counted &= (np.array(simulated)[:paired].reshape(-1, 2) == 0).all(axis=1)
    ratios = (rates[many] / rates[~many])[counted]
    return Alternation(
        threads=count,
        seconds=(float(took[~on_many].sum()), float(took[on_many].sum())),
        customer_months=(int(active[~on_many].sum()), int(active[on_many].sum())),
        pair_speedups=tuple(ratios.tolist()),
        periods_simulated=PERIODS.simulated - periods_before,
    )


class Yardstick(NamedTuple):
    """The machine's yardstick, measured in this process."""

    normals_per_s: float
    """Standard normal draws per second of numpy's default generator on one core."""
    threads_speedup: float
    """Draws per second on `threads` threads at once (each its own generator) divided by
    those on one: how much faster this machine's cores do perfectly parallel work that
    shares nothing (1 on one thread). A run's speed-up on those threads is bounded by it."""
    threads: int
    """The threads of `threads_speedup`."""


def yardstick(
    count: int | None = None,
    seconds: float = YARDSTICK_SECONDS,
    block: int = YARDSTICK_BLOCK,
    rounds: int = YARDSTICK_ROUNDS,
) -> Yardstick:
    """Measure the machine's `Yardstick`: normal draws per second on one thread for
    `seconds`, and on `count` threads at once (default: the threads the per-person passes
    use now) in `rounds` rounds that alternate one thread and all of them, each for
    `seconds` / `rounds`: the median of the rounds' ratios, so that the machine's speed
    changing from one second to the next moves both sides of a ratio alike."""
    count = threads() if count is None else count
    one = normal_draw_rate(seconds, block)
    if count == 1:
        return Yardstick(one, 1.0, 1)
    each = seconds / rounds
    ratios = [
        normal_draw_rate(each, block, count) / normal_draw_rate(each, block) for _ in range(rounds)
    ]
    return Yardstick(one, float(np.median(ratios)), count)


def normal_draw_rate(
    seconds: float = YARDSTICK_SECONDS, block: int = YARDSTICK_BLOCK, count: int = 1
) -> float:
    """The machine's yardstick: standard normal draws per second of numpy's default
    generator (PCG64, ziggurat), drawing blocks of `block` into one buffer for at least
    `seconds`; on `count` Python threads at once (numpy leaves the interpreter's lock
    while it draws), each with its own generator and buffer, their draws added up."""
    if count == 1:
        draws, elapsed = _draws(0, seconds, block)
        return draws / elapsed
    with ThreadPoolExecutor(count) as pool:
        done = list(pool.map(lambda index: _draws(index, seconds, block), range(count)))
    return sum(draws for draws, _ in done) / max(elapsed for _, elapsed in done)


def _draws(stream: int, seconds: float, block: int) -> tuple[int, float]:
    """Normal draws of generator `stream` in blocks of `block` for at least `seconds`:
    how many, and the seconds they took."""
    rng = np.random.default_rng(stream)
    buffer = np.empty(block)
    rng.standard_normal(out=buffer)  # the first call touches the buffer's pages
    draws = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        rng.standard_normal(out=buffer)
        draws += block
    return draws, elapsed


def bench_scenario(base: Scenario, size: int, months: int) -> Scenario:
    """`base` with a market of `size` people, run for `months`, and its contact centre
    staffed for that market, as the firm would (a fixed headcount in proportion to it)."""
    changes: dict[str, object] = {"market.size": size, "months": months}
    agents = base.support.contact_centre.agents
    if agents != "auto":
        changes["support.contact_centre.agents"] = max(round(agents * size / base.market.size), 1)
    return with_overrides(base, changes)
