"""The `cxm` subcommands for experiments at scale: sweep, discover, calibrate and optimise.

`add_parsers` adds them to the `cxm` parser; each handler takes the parsed arguments and
returns an exit status. Bad input raises `sim.errors.CXMError`, which `cxm` reports as one
line with exit status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim import output_paths
from sim.choices import OBJECTIVES, SPLIT_OVER
from sim.cli.options import (
    add_execution_options,
    add_out_options,
    add_quiet_option,
    add_set_option,
    execution_options,
    parse_bounds,
    parse_targets,
    progress_bar,
    report_repair,
    shown_path,
)
from sim.errors import CXMError, OptionError

if TYPE_CHECKING:
    import pandas as pd

    from sim.experiments import calibrate as calibration
    from sim.experiments import fit_firm as fitting
    from sim.experiments import optimise as optimisation
    from sim.experiments.sweep import SweepResult
    from sim.experiments.sweep_spec import Sweep
    from sim.experiments.uncertainty import UncertainComparison
    from sim.scenario import Scenario

# The handlers import the experiments, the scenario schema and the results writer when they
# run: building the parser (`cxm --help`, a bad option) loads none of them.


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    """Add the sweep, discover, calibrate, fit-firm and optimise subcommands to `cxm`'s
    subparsers."""
    _add_sweep(subparsers)
    _add_discover(subparsers)
    _add_calibrate(subparsers)
    _add_fit_firm(subparsers)
    _add_optimise(subparsers)


def _add_sweep(subparsers: argparse._SubParsersAction) -> None:
    sweep = subparsers.add_parser(
        "sweep",
        help="run a design of parameter values over a scenario",
        description="Run every sample of SWEEP's design (grid, random, latin_hypercube, "
        "sobol, morris) for its replications, and write runs.parquet (one row per run), "
        "sensitivity.parquet (Sobol' or Morris indices) and manifest.json to DIR. Every "
        "sample uses the same seeds (common random numbers). A sweep file with compare: "
        "runs each sample's base and alternative on the same seed and records the paired "
        "differences (incremental_npv, roi, payback_month, delta_<outcome>). Each run is "
        "saved as it finishes: a stopped sweep continues with --resume.",
        epilog="Sweep files are YAML; see docs/experiments.md and scenarios/sweeps/.",
    )
    sweep.add_argument("sweep", type=Path, metavar="SWEEP", help="sweep YAML file")
    add_execution_options(sweep, "sweeps of fewer than {n} runs")
    sweep.add_argument(
        "--resume",
        action="store_true",
        help="finish the unfinished sweep in DIR, running only its missing runs",
    )
    add_out_options(sweep, "results/sweep-<name>/")
    add_quiet_option(sweep)
    sweep.set_defaults(handler=sweep_command)


def _add_discover(subparsers: argparse._SubParsersAction) -> None:
    discover = subparsers.add_parser(
        "discover",
        help="find the input regions of a sweep where an outcome condition holds",
        description="Scenario discovery with PRIM (Friedman & Fisher 1999): boxes of the "
        "sweep's parameters in which the runs meeting every --where condition concentrate. "
        "Each box is reported with its limits, coverage (share of the runs of interest "
        "inside it), density (share of its runs that are of interest) and mass (share of "
        "all runs inside it). Writes discovery.json.",
    )
    discover.add_argument("runs_dir", type=Path, metavar="RUNS_DIR", help="a sweep result dir")
    discover.add_argument(
        "--where",
        action="append",
        required=True,
        metavar="CONDITION",
        help="an outcome condition such as 'retention_of_initial >= 0.5' or 'profit_npv > 1e7' "
        "(operators >=, <=, >, <, ==, !=; repeat to require several)",
    )
    discover.add_argument(
        "--min-mass",
        type=float,
        default=0.05,
        metavar="SHARE",
        help="smallest share of all runs a box may hold (default 0.05)",
    )
    discover.add_argument(
        "--peel-alpha",
        type=float,
        default=0.05,
        metavar="SHARE",
        help="share of a box's runs peeled off per step (default 0.05)",
    )
    discover.add_argument(
        "--threshold",
        type=float,
        metavar="DENSITY",
        help="choose the largest box with at least this density (default: the densest box "
        "less one standard error)",
    )
    discover.add_argument(
        "--max-boxes",
        type=int,
        default=1,
        metavar="K",
        help="boxes to find by covering (default 1)",
    )
    add_out_options(discover, "RUNS_DIR/discovery.json", "file")
    discover.set_defaults(handler=discover_command)


def _add_calibrate(subparsers: argparse._SubParsersAction) -> None:
    calibrate = subparsers.add_parser(
        "calibrate",
        help="fit free scenario parameters to observed KPIs",
        description="Search the --free parameters of SCENARIO, within their bounds, for the "
        "values whose simulated outcomes best match every --target (least sum of squared "
        "relative errors; a Latin-hypercube search, then Nelder-Mead, every evaluation on "
        "the same seeds). Prints the fit and writes the calibrated scenario as YAML.",
        epilog="Targets: an outcome (churn_rate_mean, nps_true, retention_of_initial, ...) "
        "or METRIC_mean, the mean over months of a time-series metric (e.g. csat_true_mean).",
    )
    calibrate.add_argument("scenario", type=Path, metavar="SCENARIO", help="scenario YAML file")
    calibrate.add_argument(
        "--target",
        action="append",
        required=True,
        metavar="NAME=VALUE",
        help="an observed KPI, e.g. --target churn_rate_mean=0.015 --target nps_true=25",
    )
    calibrate.add_argument(
        "--free",
        action="append",
        required=True,
        metavar="PATH[,PATH...]",
        help="dotted scenario paths to fit, e.g. market.segments.mainstream.churn_per_month",
    )
    calibrate.add_argument(
        "--bounds",
        action="append",
        default=[],
        metavar="PATH=LOW:HIGH",
        help="search range of a free parameter (default: its schema bounds, when finite)",
    )
    calibrate.add_argument(
        "--replications",
        "-r",
        type=int,
        default=4,
        metavar="R",
        help="replications per evaluation, on the same seeds each time (default 4)",
    )
    calibrate.add_argument(
        "--seed", "-s", type=int, metavar="S", help="seed (default: the scenario's)"
    )
    calibrate.add_argument(
        "--months", type=int, metavar="M", help="months to simulate (default: the scenario's)"
    )
    add_set_option(calibrate)
    calibrate.add_argument(
        "--max-evaluations",
        type=int,
        default=150,
        metavar="N",
        help="scenario evaluations in all (default 150)",
    )
    calibrate.add_argument(
        "--search",
        type=int,
        metavar="K",
        help="Latin-hypercube points before the local search (default 4 + 4 per free parameter)",
    )
    add_execution_options(calibrate, "evaluations of fewer than {n} replications")
    add_out_options(calibrate, "results/<name>_calibrated.yaml", "file")
    add_quiet_option(calibrate)
    calibrate.set_defaults(handler=calibrate_command)


def _add_fit_firm(subparsers: argparse._SubParsersAction) -> None:
    fit = subparsers.add_parser(
        "fit-firm",
        help="turn a firm's key figures (the scenario's profile) into a calibrated scenario",
        description="Fit SCENARIO's profile (active customers, monthly churn, NPS or CSAT, "
        "ARPU, contacts per customer per month, service level, annual CX budget): sets the "
        "market's size (a smaller stand-in for a large firm), the contact centre's target, "
        "the capabilities' holding cost and a warm-up, then moves churn, problems, revenue "
        "and delivered quality together until the simulated steady state shows every "
        "figure (docs/strategy.md). Prints the fit and writes the fitted scenario as YAML.",
    )
    fit.add_argument(
        "scenario", type=Path, metavar="SCENARIO", help="scenario YAML file with a profile"
    )
    fit.add_argument(
        "--replications",
        "-r",
        type=int,
        default=4,
        metavar="R",
        help="replications per iteration, on the same seeds each time (default 4)",
    )
    fit.add_argument("--seed", "-s", type=int, metavar="S", help="seed (default: the scenario's)")
    fit.add_argument(
        "--max-iterations",
        type=int,
        default=15,
        metavar="N",
        help="most iterations (default 15)",
    )
    add_set_option(fit)
    add_execution_options(fit, "iterations of fewer than {n} replications")
    add_out_options(fit, "results/<name>_fitted.yaml", "file")
    add_quiet_option(fit)
    fit.set_defaults(handler=fit_firm_command)


def _add_optimise(subparsers: argparse._SubParsersAction) -> None:
    optimise = subparsers.add_parser(
        "optimise",
        help="find the split of a CX budget over capabilities (or support channels) that "
        "serves the firm best",
        description="Search the splits of a budget over the capabilities (or, with --over "
        "channels, the support channels the scenario opens) for the one that "
        "maximises --objective against the same scenario without the budget, every split on "
        "the same seed and replications (common random numbers): a start design (the even "
        "split, each capability alone, the scenario's own split, --search random splits), "
        "then Nelder-Mead (SciPy) on the simplex of shares (docs/experiments.md, 'Budget "
        "allocation'). Prints the best split, its gain over the even split and over the best "
        "single capability with 95%% intervals, and writes the scenario of the best split.",
        epilog="The budget replaces the scenario's firm.budget (its firm.investments stay). "
        "Without --budget the scenario's own budget is split. Intervals are paired 95%% "
        "t-intervals over the replications: random noise only, not uncertainty about the "
        "model's assumptions.",
    )
    optimise.add_argument("scenario", type=Path, metavar="SCENARIO", help="scenario YAML file")
    optimise.add_argument(
        "--budget",
        type=float,
        metavar="CU",
        help="budget per year, cu (default: the scenario's firm.budget)",
    )
    optimise.add_argument(
        "--years",
        type=float,
        metavar="Y",
        help="years of spend from --start-month, whole months (default: to the horizon)",
    )
    optimise.add_argument(
        "--start-month", type=int, metavar="M", help="first month of spend (default 1)"
    )
    optimise.add_argument(
        "--over",
        default="capabilities",
        choices=SPLIT_OVER,
        help="what the budget is split over: the eight capabilities (default) or the support "
        "channels the scenario opens (support.channels: phone, chat, self_service)",
    )
    optimise.add_argument(
        "--capabilities",
        metavar="NAME[,NAME...]",
        help="the capabilities (or, with --over channels, the channels) to split over, at "
        "least two (default: all of them)",
    )
    optimise.add_argument(
        "--objective",
        default="npv",
        choices=tuple(OBJECTIVES),
        help="npv: paired profit NPV difference (default); roi: per cu of budget; "
        "retention: share of the initial customers kept",
    )
    optimise.add_argument(
        "--replications", "-r", type=int, default=4, metavar="R",
        help="replications per split, on the same seed every time (default 4)",
    )  # fmt: skip
    optimise.add_argument(
        "--seed", "-s", type=int, metavar="S", help="seed (default: the scenario's)"
    )
    optimise.add_argument(
        "--months", type=int, metavar="M", help="months to simulate (default: the scenario's)"
    )
    add_set_option(optimise)
    optimise.add_argument(
        "--max-evaluations", type=int, default=40, metavar="N",
        help="distinct splits simulated in all, start design included (default 40)",
    )  # fmt: skip
    optimise.add_argument(
        "--search", type=int, default=0, metavar="K",
        help="random splits added to the start design (default 0)",
    )  # fmt: skip
    optimise.add_argument(
        "--uncertain",
        type=Path,
        metavar="FILE",
        help="optimise across the uncertain assumptions of FILE (e.g. "
        "scenarios/uncertainty/firm_effects.yaml): every split and the base run in each of "
        "its Latin-hypercube parameter sets, on the same random numbers, and the objective is "
        "the mean over the sets; prints the best split's median and 5-95%% range across them "
        "and how often it beats the even split and the best single capability, and writes "
        "across_sets.csv too",
    )
    optimise.add_argument(
        "--samples",
        type=int,
        metavar="N",
        help="with --uncertain: parameter sets to draw, at least 2 (default: the file's)",
    )
    add_execution_options(optimise, "evaluations of fewer than {n} replications")
    add_out_options(optimise, "results/optimise-<name>/")
    add_quiet_option(optimise)
    optimise.set_defaults(handler=optimise_command)


# ---------------------------------------------------------------------------- handlers


def sweep_command(args: argparse.Namespace) -> int:
    """``cxm sweep``: run a sweep file and print what it found."""
    from sim.experiments.sweep import sweep_out_dir
    from sim.experiments.sweep_spec import load_sweep

    execution = execution_options(args)
    sweep = load_sweep(args.sweep)
    out = sweep_out_dir(sweep, args.out)
    with output_paths.claim(out, "sweep", args.overwrite, report=report_repair):
        return _sweep_into(args, sweep, out, execution)


def _sweep_into(
    args: argparse.Namespace, sweep: Sweep, out: Path, execution: dict[str, Any]
) -> int:
    from sim.experiments.sweep import run_sweep

    bar = progress_bar(None, args.quiet, sweep.spec.name, "run")

    def progress(done: int, total: int) -> None:
        if bar.total is None:
            bar.reset(total=total)
        bar.n = done
        bar.refresh()

    start = time.perf_counter()
    try:
        result = run_sweep(
            sweep,
            resume=args.resume,
            out=out,
            progress=progress,
            command=_command(args),
            overwrite=args.overwrite,
            **execution,
        )
    finally:
        bar.close()
    print(format_sweep(result, time.perf_counter() - start))
    return 0


def discover_command(args: argparse.Namespace) -> int:
    """``cxm discover``: PRIM boxes for conditions on a sweep's outcomes."""
    from sim import results
    from sim.experiments import discover as discovery

    discovery.check_discover_options(args.min_mass, args.peel_alpha, args.threshold, args.max_boxes)
    if args.out is not None:
        out = output_paths.output_path(args.out)
    elif Path(args.runs_dir).is_dir():
        out = output_paths.output_path(Path(args.runs_dir) / "discovery.json")
    else:
        raise CXMError(f"RUNS_DIR: got {str(args.runs_dir)!r}; no such sweep result folder")
    with output_paths.claim(out, "file", args.overwrite, report=report_repair):
        result = discovery.discover(
            args.runs_dir,
            args.where,
            min_mass=args.min_mass,
            peel_alpha=args.peel_alpha,
            threshold=args.threshold,
            max_boxes=args.max_boxes,
        )
        results.write_discovery(result, out, args.overwrite)
    print(f"{' and '.join(result.conditions)}: {result.of_interest} of {result.cases} runs")
    if result.skipped_inputs:
        print(f"(non-numeric parameters left out: {', '.join(result.skipped_inputs)})")
    for i, box in enumerate(result.boxes, 1):
        print(
            f"box {i}: {box.describe()}\n"
            f"       coverage {box.coverage:.3f}  density {box.density:.3f}  mass {box.mass:.3f}"
        )
    if not result.boxes:
        print("no box: no run meets the condition")
    print(f"written to {shown_path(out)}")
    return 0


def calibrate_command(args: argparse.Namespace) -> int:
    """``cxm calibrate``: fit free parameters to targets and write the calibrated scenario."""
    from sim import results
    from sim.experiments import calibrate as calibration
    from sim.scenario import load_scenario, with_overrides

    calibration.check_options(args.replications, args.search, args.max_evaluations, args.seed)
    execution = execution_options(args)
    scenario = load_scenario(args.scenario, args.overrides)
    if args.months is not None:
        scenario = with_overrides(scenario, {"months": args.months})
    free = [p.strip() for text in args.free for p in text.split(",") if p.strip()]
    targets = parse_targets(args.target)
    bounds = parse_bounds(args.bounds)
    unknown = sorted(set(bounds) - set(free))
    if unknown:
        raise CXMError(f"--bounds: {', '.join(unknown)} is not among the --free parameters")
    out = output_paths.chosen_path(args.out, f"{scenario.name}_calibrated.yaml")
    with output_paths.claim(out, "file", args.overwrite, report=report_repair):
        with search_progress(None, args.quiet, scenario.name, "evaluation") as progress:
            result = calibration.calibrate(
                scenario,
                targets,
                free,
                bounds,
                replications=args.replications,
                seed=args.seed,
                search=args.search,
                max_evaluations=args.max_evaluations,
                progress=progress,
                **execution,
            )
        results.write_calibrated(result, out, args.overwrite)
    print(f"{scenario.name}: {result.evaluations} evaluations × {args.replications} replications")
    print(format_calibration(result))
    print(f"written to {shown_path(out)}")
    return 0


def fit_firm_command(args: argparse.Namespace) -> int:
    """``cxm fit-firm``: fit a scenario's profile and write the fitted scenario."""
    from sim import results
    from sim.experiments import fit_firm as fitting
    from sim.scenario import load_scenario

    execution = execution_options(args)
    scenario = load_scenario(args.scenario, args.overrides)
    if scenario.profile is None:
        raise CXMError(
            f"{args.scenario}: no profile section; state the firm's key figures under "
            "profile: (docs/strategy.md)"
        )
    out = output_paths.chosen_path(args.out, f"{scenario.name}_fitted.yaml")
    with output_paths.claim(out, "file", args.overwrite, report=report_repair):
        bar = progress_bar(args.max_iterations, args.quiet, scenario.name, "iteration")
        try:

            def progress(iteration: int, worst: float) -> None:
                bar.update(iteration - bar.n)
                bar.set_postfix(worst=f"{worst:.3g}× tolerance", refresh=False)

            result = fitting.fit_firm(
                scenario,
                replications=args.replications,
                seed=args.seed,
                max_iterations=args.max_iterations,
                progress=progress,
                **execution,
            )
        finally:
            bar.close()
        results.write_fitted(result, out, args.overwrite)
    print(format_fit(result))
    print(f"written to {shown_path(out)}")
    return 0


def format_fit(result: fitting.FirmFit) -> str:
    """The fit: each figure's target and the value reached, the levers, the stand-in."""
    from sim.experiments.fit_firm import FIT_MONTHS

    fitted = result.scenario
    lines = [
        f"{fitted.name}: {result.iterations} iterations; figures over "
        f"{FIT_MONTHS} months after a {fitted.market.warm_up_months}-month warm-up"
    ]
    for r in result.fit.itertuples():
        mark = "ok" if r.within else "NOT within tolerance"
        lines.append(
            f"  {r.figure:<32} target {r.target:<10g} achieved {r.achieved:<10.4g} "
            f"[{r.ci_low:.4g}, {r.ci_high:.4g}]  {mark} ({r.tolerance})"
        )
    lines.append("levers: " + ", ".join(f"{k} {v:.6g}" for k, v in result.levers.items()))
    if result.stand_in != 1.0:
        real = fitted.firm.scale.stands_for_customers
        lines.append(
            f"the simulated market's {fitted.market.size:,} people stand in for a firm of "
            f"{real:,.0f} customers: amounts the firm writes (investments, budget) are its "
            f"own and are resolved to the stand-in; money in the results is the stand-in's "
            f"(× {1 / result.stand_in:.4g} for the firm); rates, scores and ROI need no "
            "conversion"
        )
    if not result.converged:
        lines.append("not every figure was reached: raise --max-iterations or check the profile")
    return "\n".join(lines)


@contextlib.contextmanager
def search_progress(
    total: int | None, quiet: bool, name: str, unit: str
) -> Iterator[Callable[[int, float], None]]:
    """A progress bar for a search (calibration, optimisation): yields the callback the
    search calls with (evaluations so far, best objective so far); the bar closes after."""
    bar = progress_bar(total, quiet, name, unit)

    def progress(evaluations: int, best: float) -> None:
        bar.update(evaluations - bar.n)
        bar.set_postfix(best=f"{best:.4g}", refresh=False)

    try:
        yield progress
    finally:
        bar.close()


def optimise_command(args: argparse.Namespace) -> int:
    """``cxm optimise``: the best split of a budget, its gains, and its scenario."""
    from sim import results
    from sim.experiments import optimise as optimisation
    from sim.scenario import load_scenario, with_overrides

    if args.samples is not None and args.uncertain is None:
        raise OptionError(
            "samples", "only with {uncertain} FILE (the sets are drawn from it)", ("uncertain",)
        )
    execution = execution_options(args)
    scenario = load_scenario(args.scenario, args.overrides)
    if args.months is not None:
        scenario = with_overrides(scenario, {"months": args.months})
    per_month, start, end = budget_months(args.budget, args.years, args.start_month, scenario)
    chosen = None
    if args.capabilities is not None:
        chosen = [c.strip() for c in args.capabilities.split(",") if c.strip()]
    out = output_paths.chosen_path(args.out, f"optimise-{scenario.name}")
    started = datetime.now(UTC)
    with output_paths.claim(out, "directory", args.overwrite, report=report_repair):
        with search_progress(args.max_evaluations, args.quiet, scenario.name, "split") as progress:
            result = optimisation.optimise_allocation(
                scenario,
                budget_per_month=per_month,
                start_month=start,
                end_month=end,
                capabilities=chosen,
                over=args.over,
                objective=args.objective,
                replications=args.replications,
                seed=args.seed,
                max_evaluations=args.max_evaluations,
                search=args.search,
                progress=progress,
                uncertainty=args.uncertain,
                samples=args.samples,
                **execution,
            )
        results.write_allocation(
            result, out, started, datetime.now(UTC), _command(args), args.overwrite
        )
    print(format_allocation(result))
    print(f"written to {shown_path(out)}")
    return 0


def budget_months(
    per_year: float | None, years: float | None, start_month: int | None, scenario: Any
) -> tuple[float | None, int | None, int | None]:
    """``--budget`` (cu per year), ``--years`` and ``--start-month`` as the optimiser's budget
    per month and first and last months (None: the scenario's own).

    Raises:
        OptionError: a budget that is not a positive finite number, years that do not make
            whole months, or a span beyond the horizon.
    """
    import math

    if per_year is not None and (not math.isfinite(per_year) or per_year <= 0):
        raise OptionError("budget", f"got {per_year:g}; must be a positive amount per year (cu)")
    if per_year is None and scenario.firm.budget.per_month <= 0:
        raise OptionError(
            "budget",
            f"scenario {scenario.name} has no budget (firm.budget.per_month is 0); give the "
            "amount to split, cu per year",
        )
    per_month = None if per_year is None else per_year / 12.0
    end = None
    if years is not None:
        months = years * 12.0
        if not math.isfinite(months) or months < 1 or not float(months).is_integer():
            raise OptionError("years", f"got {years:g}; must make a whole number of months (≥ 1)")
        first = 1 if start_month is None else start_month
        end = first + int(months) - 1
        if end > scenario.months:
            raise OptionError(
                "years",
                f"got {years:g} from month {first}: spend would run to month {end}, beyond "
                f"the horizon of {scenario.months} months (--months to lengthen it)",
            )
    return per_month, start_month, end


def format_allocation(result: optimisation.AllocationResult) -> str:
    """The best split, its objective against no budget, and how much worse the even split
    and the best single capability are (paired 95% intervals)."""
    from sim.experiments import optimise as optimisation

    measure = optimisation.OBJECTIVES[result.objective]
    shown = {"profit_npv": "{:+,.0f} cu", "roi": "{:+.4f}", "retention_of_initial": "{:+.4f}"}
    number = shown[measure].format
    gains = result.gains.set_index(["reference", "metric"])
    sets = "" if result.assumptions is None else f" × {result.assumptions.samples} sets"
    lines = [
        f"{result.scenario.name}: {result.evaluations} splits × {result.replications} "
        f"replications{sets}, seed {result.seed}; budget {result.budget_per_month * 12:,.0f} cu "
        f"a year, months {result.start_month}–{result.end_month}",
        "best split: " + ", ".join(f"{c} {s:.1%}" for c, s in result.allocation.items() if s > 0),
    ]
    base = gains.loc[(optimisation.BASE, measure)]
    lines.append(
        f"  {measure} against no budget: {number(base.difference)} "
        f"[{number(base.ci_low)}, {number(base.ci_high)}]"
    )
    single = f"{optimisation.SINGLE}{result.best_single}"
    for reference in (optimisation.EVEN, single):
        alone = reference == single and result.allocation[result.best_single] >= 1.0
        if alone or (reference, measure) not in gains.index:
            lines.append(f"  the best split is {reference} itself")
            continue
        row = gains.loc[(reference, measure)]
        lines.append(
            f"  better than {reference} by {number(row.difference)} "
            f"[{number(row.ci_low)}, {number(row.ci_high)}] ({measure})"
        )
    if result.assumptions is not None:
        return "\n".join(lines + _across_assumptions(result, measure, number))
    lines.append(
        "intervals: paired 95% over the replications, random noise only (not uncertainty "
        "in the model's assumptions); every split ran on the same random numbers"
    )
    return "\n".join(lines)


def _across_assumptions(
    result: optimisation.AllocationResult, measure: str, number: Callable[[float], str]
) -> list[str]:
    """The best split's objective across the sets of uncertain assumptions, how often it
    beats the even split and the best single capability, and how to read noise against
    the spread."""
    from sim.experiments import optimise as optimisation

    assert result.assumptions is not None
    n = result.assumptions.samples
    file = shown_path(Path(result.assumptions.uncertainty.source).absolute())
    splits = result.splits
    best = splits.loc[optimisation.OPTIMISED]
    lines = [
        f"across {n} sets of the uncertain assumptions in {file} (the objective is their mean):",
        f"  the best split's {measure} against no budget, set by set: median "
        f"{number(best['median'])}, 5–95% [{number(best['p05'])}, {number(best['p95'])}]",
    ]
    single = f"{optimisation.SINGLE}{result.best_single}"
    for reference, label in ((optimisation.EVEN, "even"), (single, "the best single capability")):
        if reference == single and result.allocation[result.best_single] >= 1.0:
            lines.append(f"  the best split is {reference} itself")
            continue
        share = splits.loc[reference, "probability_beaten"]
        lines.append(
            f"  beats {reference} in {round(share * n)} of {n} sets (P(beats {label}) {share:.2f})"
        )
    lines.append(
        f"intervals: paired 95% over the replications of the differences averaged over the {n} "
        f"sets, random noise only; 5–95% is the spread across the {n} sets of assumptions. "
        + NOISE_AND_SPREAD
    )
    return lines


def format_sweep(result: SweepResult, seconds: float) -> str:
    """What a sweep ran and, for Sobol' and Morris, its main sensitivity indices."""
    runs = result.runs
    ok = int((runs["status"] == "ok").sum())
    spec = result.sweep.spec if result.sweep is not None else None
    lines = []
    if spec is not None:
        lines.append(
            f"sweep {spec.name}: {spec.design} design, {len(result.sweep.design)} samples × "
            f"{spec.replications} replications = {len(runs)} runs, seed {result.sweep.seed}"
        )
    if spec is not None and spec.compare is not None:
        given = spec.compare.alternative
        alternative = given if isinstance(given, str) else "the base with its set"
        lines.append(
            f"paired: each run is the alternative ({alternative}) against the base on the "
            "same seed and replication"
        )
    rate = f" ({result.executed / seconds:.1f} runs/s)" if result.executed and seconds else ""
    lines.append(
        f"{result.executed} runs executed, {result.reused} found on disk, on "
        f"{result.execution or 'nothing'} in {seconds:.1f} s{rate}; "
        f"{ok} ok, {len(runs) - ok} failed"
    )
    if ok < len(runs):
        first = runs.loc[runs["status"] != "ok", "error"].iloc[0]
        lines.append(f"first failure: {first}")
    if result.sensitivity is not None:
        column = "ST" if "ST" in result.sensitivity else "mu_star"
        label = "total-order Sobol' index ST" if column == "ST" else "Morris mu_star"
        table = result.sensitivity.pivot(index="parameter", columns="outcome", values=column)
        table = table.reindex(index=result.sensitivity["parameter"].unique())
        lines.append(f"\n{label} (parameter × outcome):")
        lines.append(table.to_string(float_format=lambda v: f"{v:.3g}"))
    lines.append(f"written to {result.out}")
    return "\n".join(lines)


def format_calibration(result: calibration.CalibrationResult) -> str:
    """The fitted values and, per target, the value reached and its relative error."""
    lines = ["fitted values:"]
    for path, value in result.values.items():
        low, high = result.bounds[path]
        lines.append(f"  {path} = {value:.6g}   (searched {low:g} to {high:g})")
    fit = result.fit.assign(relative_error=lambda f: f["relative_error"].map("{:+.2%}".format))
    lines.append(fit.to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    return "\n".join(lines)


def _command(args: argparse.Namespace) -> list[str]:
    return getattr(args, "command_line", None) or ["cxm", *sys.argv[1:]]


# ---------------------------------------------------------------------------- compare --uncertain

TORNADO_LINES = 5
"""Assumptions of each alternative's tornado that ``cxm compare --uncertain`` prints."""
UNCERTAIN_LABELS = {
    "profit_npv": "incremental NPV",
    "roi": "ROI of extra investment",
    "payback_month": "payback month",
    "retention_of_initial": "Δ retention of initial customers",
    "nps_true": "Δ NPS (true)",
}
"""How ``cxm compare --uncertain`` names the metrics it summarises."""
NOISE_AND_SPREAD = (
    "The first says how precisely the runs answered with the assumptions held fixed; the "
    "second is what 'how sure are we' means."
)
"""How ``cxm compare --uncertain`` and ``cxm optimise --uncertain`` tell the noise interval
from the spread across assumptions."""


def uncertain_compare_command(
    args: argparse.Namespace,
    base: Scenario,
    alternatives: list[Scenario],
    execution: dict[str, Any],
) -> int:
    """``cxm compare --uncertain FILE``: the comparison across the file's uncertain
    assumptions (`sim.experiments.uncertainty`), printed per alternative with the noise
    interval beside the spread across assumptions, and written to one folder."""
    from sim import results
    from sim.experiments import uncertainty

    if args.uncertain is None:
        raise OptionError(
            "samples", "only with {uncertain} FILE (the sets are drawn from it)", ("uncertain",)
        )
    if getattr(args, "excel", False):
        raise OptionError(
            "excel", "not with {uncertain}; its tables are CSV and Parquet", ("uncertain",)
        )
    study = uncertainty.plan_study(
        base,
        *alternatives,
        uncertainty=args.uncertain,
        samples=args.samples,
        replications=args.replications,
        seed=args.seed,
    )
    out = output_paths.chosen_path(args.out, f"uncertain-{base.name}")
    with output_paths.claim(out, overwrite=args.overwrite, report=report_repair):
        started = datetime.now(UTC)
        with progress_bar(study.months, args.quiet, "uncertain") as bar:
            result = uncertainty.run_study(study, args.engine, bar.update, **execution)
        figures = uncertainty_figures(result) if args.plot else {}
        results.write_uncertainty(
            result, out, started, datetime.now(UTC), _command(args), args.overwrite, figures
        )
    print(format_uncertain(result, shown_path(Path(args.uncertain).absolute())))
    if figures:
        print("figures: " + ", ".join(figures))
    print(f"written to {shown_path(out)}")
    return 0


def uncertainty_figures(result: UncertainComparison) -> dict[str, Any]:
    """The figures of ``cxm compare --uncertain --plot``, by file name: the tornado of each
    alternative's incremental NPV (``tornado_<alternative>.png``) and the incremental NPV and
    ROI across the parameter sets beside their noise (``npv_distribution.png``,
    ``roi_distribution.png``)."""
    from sim.plots import uncertainty as figures

    drawn = {f"tornado_{name}.png": figures.tornado(result, name) for name in result.alternatives}
    drawn["npv_distribution.png"] = figures.outcome_distribution(result, "profit_npv")
    drawn["roi_distribution.png"] = figures.outcome_distribution(result, "roi")
    return drawn


def format_uncertain(result: UncertainComparison, file: str) -> str:
    """Each alternative's answer across the assumptions: median, 5–95 % range, noise at the
    median set, P(> 0), P(best) and the top of its tornado; then how to read noise against
    uncertainty."""
    from sim.experiments.uncertainty import SUMMARY_METRICS

    study = result.study
    base = study.scenarios[0].name
    d, n, r = len(study.uncertainty.parameters), study.samples, study.replications
    lines = [
        f"{len(result.alternatives)} alternative(s) against {base} across {d} uncertain "
        f"assumptions ({study.uncertainty.spec.name}, {file})",
        f"{n} parameter sets drawn (Latin hypercube), the median set and {2 * d} one-at-a-time "
        f"sets; in each, {r} paired replications × {study.scenarios[0].months} months on the "
        f"same random numbers, seed {study.seed}",
    ]
    summary = result.summary.set_index(["alternative", "metric"])
    for alternative in result.alternatives:
        lines += ["", f"{alternative} vs {base}"]
        lines.append(
            f"{'metric':<34}{'median':>12}  {'5–95% across assumptions':<28}"
            f"{'noise ±':>10}{'P(> 0)':>8}"
        )
        for metric in SUMMARY_METRICS:
            lines.append(_uncertain_line(summary.loc[(alternative, metric)], metric, n))
        best = summary.loc[(alternative, "profit_npv"), "probability_best"]
        lines.append(
            f"highest profit NPV of the {len(study.scenarios)} scenarios in "
            f"{round(best * n)} of {n} sets (P(best) {best:.2f})"
        )
        lines += _tornado_lines(result, alternative)
    per_set = result.sets.groupby("set")
    rivals = per_set["alternative_profit_npv"].max()
    base_best = int((per_set["base_profit_npv"].first() > rivals).sum())
    lines.append("")
    lines += _head_to_head(result.sets, result.alternatives, n)
    lines += [
        f"{base} itself has the highest profit NPV in {base_best} of {n} sets",
        f"noise ± is half the paired 95% interval of {r} replications at the median "
        f"assumptions; 5–95% is the spread across the {n} sets of assumptions in {file}. "
        + NOISE_AND_SPREAD,
    ]
    return "\n".join(lines)


def _head_to_head(sets: pd.DataFrame, alternatives: Sequence[str], n: int) -> list[str]:
    """For each pair of alternatives: in how many sets the first has the higher profit NPV,
    and the median and 5–95 % range of the difference across the sets."""
    npv = sets.pivot(index="set", columns="alternative", values="alternative_profit_npv")
    lines = []
    for i, first in enumerate(alternatives):
        for second in alternatives[i + 1 :]:
            gap = npv[first] - npv[second]
            wins = int((gap > 0).sum())
            lines.append(
                f"{first} beats {second} on profit NPV in {wins} of {n} sets, by a median "
                f"of {_shown(gap.median())} [{_shown(gap.quantile(0.05))}, "
                f"{_shown(gap.quantile(0.95))}]"
            )
    return lines


def _uncertain_line(row: Any, metric: str, sets: int) -> str:
    label = f"{UNCERTAIN_LABELS[metric]:<34}"
    if row["n"] == 0:
        why = "never pays back" if metric == "payback_month" else "not defined (no extra spend)"
        return f"{label}{'n/a':>12}  {why} in any of the {sets} sets"
    spread = f"[{_shown(row['p05'])}, {_shown(row['p95'])}]"
    if row["n"] < sets:
        spread += f" in {row['n']} of {sets}"
    chance = row["probability_positive"]
    positive = "" if math.isnan(chance) else f"{chance:.2f}"
    return (
        f"{label}{_shown(row['median']):>12}  {spread:<28}"
        f"{_shown(row['noise_half_width']):>10}{positive:>8}"
    )


def _tornado_lines(result: UncertainComparison, alternative: str) -> list[str]:
    table = result.tornado
    rows = table[(table["alternative"] == alternative) & (table["metric"] == "profit_npv")]
    if rows.empty:
        return []
    lines = [
        f"assumptions that move the incremental NPV most (each alone at its 5th and 95th "
        f"percentile, the others at their median, where it is {_shown(rows['median'].iloc[0])}):"
    ]
    for row in rows.head(TORNADO_LINES).itertuples(index=False):
        lines.append(
            f"  {row.parameter:<44} {_shown(row.low_value)} → {_shown(row.high_value)}: "
            f"{_shown(row.low)} to {_shown(row.high)} (swing {_shown(row.swing)})"
        )
    return lines


def _shown(value: float) -> str:
    """A number as the tables print it: thousands separated, from 1 to 1000 with one or two
    decimals, below 1 to three significant digits (a small noise stays visible)."""
    if value is None or math.isnan(value):
        return "n/a"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 1:
        return f"{value:.1f}" if magnitude >= 10 else f"{value:.2f}"
    return f"{value:.3g}"
