"""The `cxm bench` subcommand: how fast the model runs, where its time goes, and how fast
this machine is (`sim.benchmark` measures; this module asks and reports).

Everything is measured in one process, after an untimed two-month run of a small market
that loads (or compiles) the compiled code:

- **one big run** (the default): the baseline with about N initial customers
  (``--customers``, default 100,000) for M months (``--months``, default 60): customer-months
  per second (one customer-month: one active customer for one month) and peak memory, the
  throughput of large markets;
- **many small runs** (``--runs N``): N consecutive runs (replications 0 to N−1 of the seed)
  of a small market, by default 5,000 people for 24 months, the unit of sweeps, notebooks,
  the classroom page and the game: runs per second, which counts every fixed cost of a run
  (the market, the network, the contact centre's periods, the tables) besides its months.

Both report the share of the timed wall time in each phase of the model's month, in building
each model and in making its tables (`sim.benchmark.time_runs`), the support desk's share
(inside ``support.serve``), and the machine's yardstick (`sim.benchmark.yardstick`) with
the throughput in its units, ``customer_months_per_normal``, and the speed-up the machine
gives perfectly parallel work on the run's threads (``yardstick_threads_speedup``), the
ceiling for the run's own speed-up on them.

``--speedup`` measures the big run's own speed-up on its threads instead, in one run whose
months alternate between one thread and ``--threads`` (default every core) in pairs
(`sim.benchmark.time_alternating`): the months on each side, their customer-months per
second and the median of the pairs' ratios, with the yardstick's speed-up beside it. Two
runs one after the other on a shared machine can differ by more than the speed-up itself.
``--profile DIR`` writes a
small and a big run's phases as JSON and a cProfile of a small run, through
`sim.results.write_profile`.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim import PROJECT_ROOT, output_paths
from sim.choices import ENGINES
from sim.cli.options import (
    add_quiet_option,
    add_set_option,
    add_threads_option,
    progress_bar,
    report_repair,
    shown_path,
    use_threads,
)
from sim.errors import CXMError, OptionError, check_whole

if TYPE_CHECKING:
    from sim.benchmark import Alternation, Timing, Yardstick
    from sim.scenario import Scenario

BASELINE = PROJECT_ROOT / "scenarios" / "baseline.yaml"
BENCH_MAX_CUSTOMERS = 10_000_000
"""Most initial customers `cxm bench` times (ten times the largest documented figure)."""
BENCH_MAX_RUNS = 10_000
"""Most runs ``cxm bench --runs`` times."""
BIG_CUSTOMERS = 100_000
"""Initial customers of the big run (the default mode, and ``--profile``'s big run)."""
BIG_MONTHS = 60
"""Months of the big run."""
SMALL_PEOPLE = 5_000
"""People in the market of a small run (``--runs``, and ``--profile``'s small run)."""
SMALL_MONTHS = 24
"""Months of a small run."""
PROFILE_RUNS = 5
"""Small runs ``--profile`` times for the phases of the small run (unless ``--runs``)."""
WARM_UP_PEOPLE = 5_000
"""Market size of the untimed warm-up run before a big run (2 months)."""


def figures(timing: Timing, measured: Yardstick, runs_mode: bool = True) -> dict[str, Any]:
    """What `cxm bench` reports of `timing`, in order: with `runs_mode` the runs, the market
    and runs per second first; then customer-months, seconds, customer-months per second,
    peak memory, the yardstick (`measured`: one thread's normal draws per second, and the
    speed-up of drawing on the run's threads at once) and the throughput in its units, the
    phase shares and the desk's share."""
    per_s = timing.customer_months / timing.seconds
    head: dict[str, Any] = {}
    if runs_mode:
        head = {
            "runs": timing.runs,
            "market_size": timing.market_size,
            "months": timing.months,
            "runs_per_s": _significant(timing.runs / timing.seconds),
        }
    return head | {
        "threads": timing.threads,
        "customer_months": timing.customer_months,
        "seconds": _significant(timing.seconds),
        "customer_months_per_s": round(per_s, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "yardstick_normals_per_s": _significant(measured.normals_per_s),
        "yardstick_threads_speedup": _significant(measured.threads_speedup, 3),
        "customer_months_per_normal": _significant(per_s / measured.normals_per_s),
        "phase_shares": {name: round(share, 9) for name, share in timing.shares().items()},
        "desk_share": round(timing.desk_seconds / timing.seconds, 9),
        "periods_simulated": timing.periods_simulated,
    }


def speedup_figures(alternation: Alternation, measured: Yardstick) -> dict[str, Any]:
    """What ``cxm bench --speedup`` reports of `alternation`, in order: the threads, the
    pairs of months, the wall time on each side, their customer-months per second, the
    run's speed-up (median of the pairs of months, and of the totals), the yardstick's
    speed-up on the same threads (`measured`) and the periods simulated (peak memory is
    the plain run's figure: this process held a warm-up model of the same size first)."""
    one, many = alternation.rates
    return {
        "threads": alternation.threads,
        "month_pairs": len(alternation.pair_speedups),
        "seconds_one_thread": _significant(alternation.seconds[0]),
        "seconds_threads": _significant(alternation.seconds[1]),
        "customer_months_per_s_one_thread": round(one, 1),
        "customer_months_per_s_threads": round(many, 1),
        "threads_speedup": (
            _significant(alternation.speedup, 3) if alternation.pair_speedups else None
        ),
        "threads_speedup_of_totals": _significant(alternation.speedup_of_totals, 3),
        "yardstick_threads_speedup": _significant(measured.threads_speedup, 3),
        "periods_simulated": alternation.periods_simulated,
    }


def _significant(value: float, digits: int = 4) -> float:
    return float(f"{value:.{digits}g}")


# ---------------------------------------------------------------------------- the command


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the bench subcommand to `cxm`'s subparsers."""
    bench = subparsers.add_parser(
        "bench",
        help="measure simulation speed and memory, and where the time goes",
        description="Run the baseline scenario with about N customers for M months and report "
        "customer-months per second (one customer-month: one active customer for one month) "
        "and the process's peak resident memory; with --runs, time that many consecutive "
        "small runs instead and report runs per second. Both report the share of the time "
        "in each phase of the model's month, and the machine's yardstick: numpy's standard "
        "normal draws per second on one core, measured in the same process, and the "
        "customer-months per second divided by it (customer_months_per_normal), which "
        "compares machines and days, and how many times as many it draws on the run's "
        "threads at once (yardstick_threads_speedup: the most those threads can speed a "
        "run up on this machine). The market is N divided by the scenario's initial "
        "customer share, and contact-centre agents scale with it (so --set cannot change "
        "the market size, the months or the agents). Before the clock starts, an untimed "
        "run loads the compiled code: with --runs, one more replication of the small run "
        "(replication N), which also fills the library of simulated contact-centre periods "
        "as a study's first runs do (periods_simulated counts those simulated while timed); "
        "otherwise a two-month run of a small market. Time both engines with the same "
        "arguments to compare them.",
        epilog="The phase shares come from models built with profile=True (sim.model), "
        "which gives the same results. `make profile` writes results/profile/.",
    )
    bench.add_argument(
        "--engine", default="vector", choices=ENGINES, help="model engine (default vector)"
    )
    bench.add_argument(
        "--customers",
        type=int,
        help=f"initial active customers (default {BIG_CUSTOMERS}; with --runs or --profile "
        f"the small run's market is {SMALL_PEOPLE} people unless this is given)",
    )
    bench.add_argument(
        "--months",
        type=int,
        help=f"months to simulate (default {BIG_MONTHS}; {SMALL_MONTHS} with --runs or --profile)",
    )
    bench.add_argument(
        "--runs",
        type=int,
        metavar="N",
        help=f"time N consecutive small runs (replications 0 to N-1 of the seed; default "
        f"market {SMALL_PEOPLE} people, {SMALL_MONTHS} months) and report runs per second",
    )
    bench.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    bench.add_argument(
        "--scenario", type=Path, default=BASELINE, help="scenario to time (default the baseline)"
    )
    add_set_option(bench)
    bench.add_argument(
        "--profile",
        metavar="DIR",
        help="write where the time goes to DIR: profile_small.json and profile_big.json "
        "(phase -> seconds, share, calls) for a small run (the --runs mode's market, "
        f"{PROFILE_RUNS} runs unless --runs) and a big run (--big-customers x --big-months), "
        "profile_small.prof (cProfile of one small run) and profile_small.txt (its top "
        "functions by cumulative time)",
    )
    bench.add_argument(
        "--big-customers",
        type=int,
        metavar="N",
        help=f"with --profile: initial customers of the big run (default {BIG_CUSTOMERS})",
    )
    bench.add_argument(
        "--big-months",
        type=int,
        metavar="M",
        help=f"with --profile: months of the big run (default {BIG_MONTHS})",
    )
    bench.add_argument(
        "--overwrite",
        action="store_true",
        help="with --profile: replace a previous profile in DIR",
    )
    bench.add_argument(
        "--speedup",
        action="store_true",
        help="measure the big run's speed-up on --threads threads (default every core): "
        "its months alternate between one thread and those threads in pairs, and the "
        "median of the pairs' ratios of customer-months per second is reported "
        "(threads_speedup), beside the yardstick's; the run's numbers do not change",
    )
    bench.add_argument("--json", action="store_true", help="print a JSON object")
    add_threads_option(bench)
    add_quiet_option(bench)
    bench.set_defaults(handler=run)


@dataclass(frozen=True)
class _Size:
    """A market to time: `customers` initial customers (None: `people` in the market)."""

    customers: int | None
    people: int
    months: int
    option: str

    def scenario(self, base: Scenario) -> Scenario:
        from sim.benchmark import bench_scenario

        share = base.market.initial_customers or 1.0
        size = self.people if self.customers is None else max(round(self.customers / share), 1)
        return bench_scenario(base, size, self.months)


def run(args: argparse.Namespace) -> int:
    """``cxm bench``: time the runs `args` asks for and report them (or write a profile)."""
    small, big = _check(args)
    if args.speedup:
        return _measure_speedup(args, big)
    if args.profile is None:
        return _measure(args, small if args.runs is not None else big, args.runs is not None)
    out = output_paths.output_path(args.profile, "profile")
    with output_paths.claim(out, "directory", args.overwrite, "profile", report_repair):
        return _profile(args, small, big, out)


def _check(args: argparse.Namespace) -> tuple[_Size, _Size]:
    """The small and the big run's sizes, every option checked before any work."""
    if args.customers is not None:
        check_whole("customers", args.customers, 1, BENCH_MAX_CUSTOMERS)
    if args.months is not None:
        check_whole("months", args.months, 1, _months_maximum())
    if args.runs is not None:
        check_whole("runs", args.runs, 1, BENCH_MAX_RUNS)
    if args.seed < 0:
        raise CXMError(f"--seed: got {args.seed}; must be 0 or more")
    if args.profile is None:
        used = [o for o in ("big_customers", "big_months") if getattr(args, o) is not None]
        used += ["overwrite"] if args.overwrite else []
        if used:
            raise OptionError(used[0], "is used only with {profile}", ("profile",))
    if args.big_customers is not None:
        check_whole("big_customers", args.big_customers, 1, BENCH_MAX_CUSTOMERS)
    if args.big_months is not None:
        check_whole("big_months", args.big_months, 1, _months_maximum())
    count = use_threads(args)
    if args.speedup:
        for other in ("runs", "profile"):
            if getattr(args, other) is not None:
                raise OptionError(other, "cannot be used with {speedup}", ("speedup",))
        if count < 2:
            raise OptionError(
                "speedup", f"needs two threads or more; {{threads}} is {count}", ("threads",)
            )
        if args.months is not None and args.months < 2:
            raise OptionError(
                "months", f"got {args.months}; must be 2 or more with {{speedup}}", ("speedup",)
            )
    small = _Size(args.customers, SMALL_PEOPLE, args.months or SMALL_MONTHS, "--customers")
    if args.profile is None:
        big = _Size(args.customers or BIG_CUSTOMERS, 0, args.months or BIG_MONTHS, "--customers")
    else:
        customers = args.big_customers or BIG_CUSTOMERS
        big = _Size(customers, 0, args.big_months or BIG_MONTHS, "--big-customers")
    return small, big


def _months_maximum() -> int:
    from sim.cli.main import schema_maximum  # main imports this module

    return schema_maximum("months")


def _scenarios(args: argparse.Namespace, *sizes: _Size) -> tuple[Scenario, list[Scenario]]:
    """The warm-up scenario and one scenario per size, checked against the engine."""
    from sim.benchmark import bench_scenario
    from sim.model import check_engine
    from sim.scenario import load_scenario

    base = load_scenario(args.scenario, args.overrides)
    chosen = []
    for size in sizes:
        scenario = size.scenario(base)
        source = "" if size.customers is None else f"{size.option} {size.customers}"
        check_engine(scenario, args.engine, source)
        chosen.append(scenario)
    warm_up = bench_scenario(base, min(chosen[0].market.size, WARM_UP_PEOPLE), 2)
    return warm_up, chosen


def _warm_up(scenario: Scenario, args: argparse.Namespace, replication: int = 0) -> float:
    """Load (or, the first time after a change, compile) the compiled code before the clock
    starts: a one-off cost per process, not part of the simulation's throughput; and fill
    the period library with the loads `scenario` meets. Seconds."""
    from sim.experiments.runs import run_replication

    start = time.perf_counter()
    run_replication(scenario, args.seed, replication, args.engine)
    return time.perf_counter() - start


def _measure(args: argparse.Namespace, size: _Size, runs_mode: bool) -> int:
    """One big run, or ``--runs`` small ones: time them and print the figures."""
    from sim.benchmark import time_runs, yardstick

    warm_up, (scenario,) = _scenarios(args, size)
    runs = args.runs if runs_mode else 1
    if runs_mode:  # one more replication than those timed: what a study's first runs do
        warm_up_seconds = _warm_up(scenario, args, replication=runs)
    else:
        warm_up_seconds = _warm_up(warm_up, args)
    label = f"bench {args.engine}"
    with progress_bar(runs * scenario.months, args.quiet, label) as bar:
        timing = time_runs(scenario, runs, args.seed, args.engine, bar.update)
    shown = figures(timing, yardstick(timing.threads), runs_mode)
    if args.json:
        print(json.dumps(shown))
        return 0
    runs_text = f", {runs} runs" if runs_mode else ""
    print(
        f"engine {args.engine}, market of {scenario.market.size} people, "
        f"{scenario.months} months{runs_text}"
    )
    print(format_figures(shown))
    print(f"(before timing: {warm_up_seconds:.2f} s loading compiled code, warm-up run)")
    return 0


def _measure_speedup(args: argparse.Namespace, size: _Size) -> int:
    """``--speedup``: one big run whose months alternate between one thread and the
    chosen threads; print its figures (`speedup_figures`)."""
    from sim.benchmark import time_alternating, yardstick
    from sim.model import CXModel
    from sim.scenario import with_overrides
    from sim.threads import threads

    _, (scenario,) = _scenarios(args, size)
    count = threads()
    # Two months of the same market on the threads: the compiled code of passes spread
    # over them loaded, and the periods of the first months' loads in the library.
    _warm_up(with_overrides(scenario, {"months": 2}), args)
    model = CXModel(scenario, seed=args.seed, replication=0, engine=args.engine, history=False)
    with progress_bar(scenario.months, args.quiet, f"bench {args.engine} speedup") as bar:
        alternation = time_alternating(model, count, bar.update)
    shown = speedup_figures(alternation, yardstick(count))
    if args.json:
        print(json.dumps(shown))
        return 0
    print(
        f"engine {args.engine}, market of {scenario.market.size} people, "
        f"{scenario.months} months alternating between 1 and {count} threads"
    )
    print(aligned(shown))
    return 0


def _profile(args: argparse.Namespace, small: _Size, big: _Size, out: Path) -> int:
    """Time small runs and a big run phase by phase, profile one small run with cProfile,
    write them to `out` and print the phase tables."""
    import cProfile

    from sim import results
    from sim.benchmark import time_runs, yardstick
    from sim.experiments.runs import run_replication

    started = datetime.now(UTC)
    warm_up, (small_scenario, big_scenario) = _scenarios(args, small, big)
    _warm_up(warm_up, args)
    runs = args.runs or PROFILE_RUNS
    with progress_bar(runs * small_scenario.months, args.quiet, "profile small") as bar:
        small_timing = time_runs(small_scenario, runs, args.seed, args.engine, bar.update)
    with progress_bar(big_scenario.months, args.quiet, "profile big") as bar:
        big_timing = time_runs(big_scenario, 1, args.seed, args.engine, bar.update)
    profiler = cProfile.Profile()  # of a run as `sim.run` makes it, without phase timers
    profiler.runcall(run_replication, small_scenario, args.seed, 0, args.engine)
    measured = yardstick(big_timing.threads)
    profiles = {
        "small": profile_data(small_timing, measured, args, small_scenario),
        "big": profile_data(big_timing, measured, args, big_scenario),
    }
    results.write_profile(
        out, profiles, profiler, started, datetime.now(UTC), args.command_line, args.overwrite
    )
    if args.json:
        print(json.dumps(profiles))
        return 0
    for name, timing in (("small", small_timing), ("big", big_timing)):
        shown = figures(timing, measured)
        print(
            f"{name}: engine {args.engine}, market of {timing.market_size} people, "
            f"{timing.months} months, {timing.runs} run(s): {shown['runs_per_s']} runs/s, "
            f"{shown['customer_months_per_s']:,} customer-months/s"
        )
        print(format_shares(shown["phase_shares"], shown["desk_share"]))
    print(
        f"yardstick: {_significant(measured.normals_per_s):,.0f} normal draws/s on one core; "
        f"{measured.threads_speedup:.2f} times as many on {measured.threads} threads at once"
    )
    print(f"written to {shown_path(out)}")
    return 0


def profile_data(
    timing: Timing, measured: Yardstick, args: argparse.Namespace, scenario: Scenario
) -> dict[str, Any]:
    """One size's profile file: what was timed, its throughput, and phase → seconds, share,
    calls (the desk's under ``inside``: it runs inside ``support.serve``)."""
    from sim.model import DESK

    shown = figures(timing, measured)
    return {
        "scenario": scenario.name,
        "scenario_sha256": scenario.sha256,
        "engine": args.engine,
        "seed": args.seed,
        **{key: value for key, value in shown.items() if key not in ("phase_shares", "desk_share")},
        "phases": timing.phase_table(),
        "inside": {
            DESK: {
                "within": "support.serve",
                "seconds": timing.desk_seconds,
                "share": timing.desk_seconds / timing.seconds,
                "calls": timing.calls["support.serve"],
            }
        },
    }


def format_figures(shown: Mapping[str, Any]) -> str:
    """The figures of `figures` as aligned lines, then the phase shares."""
    listed = {
        key: value for key, value in shown.items() if key not in ("phase_shares", "desk_share")
    }
    return "\n".join([aligned(listed), format_shares(shown["phase_shares"], shown["desk_share"])])


def aligned(shown: Mapping[str, Any]) -> str:
    """One line per figure, its name right-aligned to the longest, two spaces, its value."""
    width = max(map(len, shown))
    return "\n".join(f"{key:>{width}}  {value}" for key, value in shown.items())


def format_shares(shares: Mapping[str, float], desk: float) -> str:
    """Phase shares as a table, the desk's (inside support.serve) last."""
    lines = ["  where the time goes (share of the timed wall time):"]
    lines += [f"    {name:<22}{share:>7.1%}" for name, share in shares.items()]
    lines.append(f"    ({'support.desk':<21}{desk:>7.1%}, inside support.serve)")
    return "\n".join(lines)
