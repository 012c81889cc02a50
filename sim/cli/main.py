"""The `cxm` command: run, compare and validate scenarios; run the notebook suite;
contact-centre and speed tools.

Bad input (a missing or invalid scenario, an unknown override path, a bad option value) is
reported as one line naming the file, the field, the value and what is allowed, with exit
status 2 and nothing written.

The parser is built from light modules only (`sim.choices` declares the engines and limits
it states): each command imports the model, the experiments, pandas or the scenario schema
when it runs, so `cxm --help`, a subcommand's help and a refused option answer at once, and
`cxm validate` loads the schema but not the model (`tests/test_cli_startup.py`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sim import output_paths
from sim.choices import AGENTS_ENGINE_MAX_PEOPLE, ENGINES, LOG_LIMIT_BYTES, shown_bytes
from sim.cli import app as app_cli
from sim.cli import bench as bench_cli
from sim.cli import experiments as experiments_cli
from sim.cli import game as game_cli
from sim.cli import notebooks as notebooks_cli
from sim.cli import report as report_cli
from sim.cli.options import (
    OneLineParser,
    add_execution_options,
    add_out_options,
    add_quiet_option,
    add_set_option,
    execution_options,
    flag,
    progress_bar,
    report_repair,
    shown_path,
)
from sim.errors import EXIT_BAD_INPUT, CXMError, OptionError, check_whole
from sim.support.contact_centre import cli as contact_centre_cli

if TYPE_CHECKING:
    from sim.experiments import runs as experiments
    from sim.scenario import Scenario


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `cxm` and its subcommands."""
    parser = OneLineParser(
        prog="cxm",
        description="Simulate customer experience management: customers travel journeys of "
        "touchpoints, form satisfaction, and stay, buy, contact support or leave.",
        epilog="Scenarios are YAML files; see scenarios/README.md and docs/model.md. "
        "Results go to results/ in the working directory (or $CXM_RESULTS_DIR) unless --out "
        "says otherwise; a command never writes into a folder or file it did not create: "
        "a previous result is replaced only with --overwrite.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="run a scenario and write its results",
        description="Run SCENARIO for several replications and write timeseries.parquet, "
        "touchpoints.parquet, segments.parquet, outcomes.parquet, summary.json and "
        "manifest.json to DIR (with --customer-log also customers.parquet and "
        "decisions.parquet).",
    )
    run.add_argument("scenario", type=Path, help="scenario YAML file")
    _add_run_options(run, "fewer than {n} replications")
    limit = shown_bytes(LOG_LIMIT_BYTES)
    run.add_argument(
        "--customer-log",
        action="store_true",
        help="also write customers.parquet (one row per interaction of every customer) and "
        "decisions.parquet (one row per decision: churn, kept, renewal, repeat purchase, "
        f"upsell, adoption); refused before the run if its estimated size exceeds {limit}",
    )
    run.add_argument(
        "--force",
        action="store_true",
        help=f"with --customer-log: keep the log even when its estimated size exceeds {limit} "
        "(it is held in memory until written)",
    )
    add_out_options(run, "results/<scenario name>/")
    run.set_defaults(handler=_run)

    compare = sub.add_parser(
        "compare",
        help="compare scenarios on common random numbers",
        description="Run BASE and each ALT on the same seeds (common random numbers) and "
        "report each alternative's paired differences from the base with 95% intervals.",
    )
    compare.add_argument("base", type=Path, help="base scenario YAML file")
    compare.add_argument(
        "alternatives", type=Path, nargs="+", metavar="ALT", help="alternative scenario files"
    )
    _add_run_options(compare, "comparisons of fewer than {n} runs (scenario × replication)")
    compare.add_argument(
        "--plot",
        action="store_true",
        help="also save the figures as PNG files beside the tables: "
        + ", ".join(f"{name} ({what})" for name, what in COMPARE_FIGURES.values()).replace(
            "%", "%%"
        ),
    )
    compare.add_argument(
        "--excel",
        action="store_true",
        help="also write comparison.xlsx (sheets: About, Summary, Per replication, Time series)",
    )
    compare.add_argument(
        "--uncertain",
        type=Path,
        metavar="FILE",
        help="compare across the uncertain assumptions of FILE (e.g. "
        "scenarios/uncertainty/firm_effects.yaml): Latin-hypercube parameter sets and a "
        "one-at-a-time tornado, all on common random numbers; prints each alternative's "
        "median and 5-95%% range across the sets beside the noise interval and writes "
        "results/uncertain-<base>/ (with --plot: the tornado and distribution figures)",
    )
    compare.add_argument(
        "--samples",
        type=int,
        metavar="N",
        help="with --uncertain: parameter sets to draw, at least 2 (default: the file's)",
    )
    add_out_options(compare, "results/compare-<base>/")
    compare.set_defaults(handler=_compare)

    validate = sub.add_parser(
        "validate",
        help="check a scenario file and print it resolved",
        description="Validate SCENARIO and print it with every default filled, as YAML.",
    )
    validate.add_argument("scenario", type=Path, help="scenario YAML file")
    add_set_option(validate)
    validate.set_defaults(handler=_validate)

    bench_cli.add_parser(sub)

    experiments_cli.add_parsers(sub)
    notebooks_cli.add_parser(sub)
    report_cli.add_parser(sub)
    app_cli.add_parser(sub)
    game_cli.add_parser(sub)
    contact_centre_cli.add_parser(sub)
    sub.choices["contact-centre"].set_defaults(handler=contact_centre_cli.main)
    return parser


def _add_run_options(parser: argparse.ArgumentParser, tiny: str) -> None:
    """The options `cxm run` and `cxm compare` share; `tiny` as in `add_execution_options`."""
    parser.add_argument(
        "--replications", "-r", type=int, help="replications (default: the scenario's)"
    )
    parser.add_argument("--seed", "-s", type=int, help="random seed (default: the scenario's)")
    parser.add_argument("--months", type=int, help="months to simulate (default: the scenario's)")
    parser.add_argument(
        "--engine",
        default="vector",
        choices=ENGINES,
        help="model engine: vector (numpy arrays, default) or agents (one Mesa agent per "
        "person, for inspecting customers and cross-checking; at most "
        f"{AGENTS_ENGINE_MAX_PEOPLE:,} people)",
    )
    add_set_option(parser)
    add_execution_options(parser, tiny)
    add_quiet_option(parser)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `cxm` command; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        args.command_line = ["cxm", *(sys.argv[1:] if argv is None else argv)]
        return int(args.handler(args) or 0)
    except OptionError as exc:
        print(f"error: {exc.rendered(flag)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except CXMError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted (cxm sweep --resume continues a sweep)", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (e.g. `| head`) stopped early: say nothing more, as other tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


# ---------------------------------------------------------------------------- commands


def _load(path: Path, args: argparse.Namespace) -> Scenario:
    from sim.scenario import load_scenario, with_overrides

    scenario = load_scenario(path, args.overrides)
    if getattr(args, "months", None) is not None:
        scenario = with_overrides(scenario, {"months": args.months})
    from sim.model import check_engine  # the model loads once the file is known good

    check_engine(scenario, args.engine, str(path))
    return scenario


def _check_counts(args: argparse.Namespace) -> None:
    if args.replications is not None:
        check_whole("replications", args.replications, 1, schema_maximum("replications"))
    if args.seed is not None and args.seed < 0:
        raise CXMError(f"--seed: got {args.seed}; must be 0 or more")


def schema_maximum(field: str) -> int:
    """The scenario schema's upper bound of a top-level count (``months``,
    ``replications``), which the command-line options that set it share."""
    from sim.scenario import Scenario

    metadata = Scenario.model_fields[field].metadata
    return int(next(m.le for m in metadata if getattr(m, "le", None) is not None))


def _run(args: argparse.Namespace) -> int:
    _check_counts(args)
    execution = execution_options(args)
    scenario = _load(args.scenario, args)
    from sim import results  # the model and pandas load once the input is known good
    from sim.experiments import runs as experiments

    replications = args.replications or scenario.replications
    log = {"customer_log": args.customer_log, "force": args.force}
    experiments.check_customer_log(scenario, replications, **log)
    out = output_paths.chosen_path(args.out, scenario.name)
    with output_paths.claim(out, overwrite=args.overwrite, report=report_repair):
        started = datetime.now(UTC)
        with progress_bar(replications * scenario.months, args.quiet, scenario.name) as bar:
            result = experiments.run(
                scenario, replications, args.seed, args.engine, bar.update, **execution, **log
            )
        results.write_run(
            result, out, started, datetime.now(UTC), args.command_line, args.overwrite
        )
    print(f"{scenario.name}: {replications} replications × {scenario.months} months, ", end="")
    print(f"seed {result.seed}")
    print(format_run_table(result))
    if result.customers is not None and result.decisions is not None:
        print(
            f"customer log: {len(result.customers):,} interactions, "
            f"{len(result.decisions):,} decisions"
        )
    print(f"written to {shown_path(out)}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    _check_counts(args)
    execution = execution_options(args)
    from sim import results  # the model and pandas load once the options are known good
    from sim.experiments import runs as experiments

    base = _load(args.base, args)
    alternatives = [_load(path, args) for path in args.alternatives]
    names = [base.name] + [a.name for a in alternatives]
    for name in names:
        if names.count(name) > 1:
            raise CXMError(f"compare: scenario name {name!r} is used twice; names must differ")
    if args.uncertain is not None or args.samples is not None:
        return experiments_cli.uncertain_compare_command(args, base, alternatives, execution)
    replications = args.replications or base.replications
    months = sum(s.months for s in [base, *alternatives]) * replications
    out = output_paths.chosen_path(args.out, f"compare-{base.name}")
    with output_paths.claim(out, overwrite=args.overwrite, report=report_repair):
        started = datetime.now(UTC)
        with progress_bar(months, args.quiet, "compare") as bar:
            comparison = experiments.compare(
                base,
                *alternatives,
                replications=replications,
                seed=args.seed,
                engine=args.engine,
                progress=bar.update,
                **execution,
            )
        write = write_comparison_with_figures if args.plot else results.write_comparison
        write(
            comparison,
            out,
            started,
            datetime.now(UTC),
            args.command_line,
            args.overwrite,
            args.excel,
        )
    print(
        f"{len(alternatives)} alternative(s) against {base.name}: {replications} paired "
        f"replications × {base.months} months, seed {comparison.runs[0].seed}"
    )
    print(format_comparison_table(comparison))
    if args.plot:
        print("figures: " + ", ".join(name for name, _ in COMPARE_FIGURES.values()))
    if args.excel:
        print(f"workbook: {results.WORKBOOK}")
    print(f"written to {shown_path(out)}")
    return 0


COMPARE_FIGURES = {
    "forest": ("forest.png", "each alternative's paired differences with 95% intervals"),
    "active": ("timeseries_active.png", "active customers month by month"),
    "npv_to_date": ("timeseries_npv_to_date.png", "cumulative profit NPV month by month"),
}
"""What ``cxm compare --plot`` saves: figure → (file name, what it shows). The forest plot
is `sim.plots.results.forest` (profit NPV, revenue, retention of the initial customers and
true NPS); the other two are `sim.plots.results.time_series` of every scenario with its 95%
band: the customer base, and the profit NPV to date, whose last month is each scenario's
profit NPV (the gap between a programme's line and the base's is its J-curve)."""
FIGURE_DPI = 150
"""Resolution of the saved figures (dots per inch)."""


def write_comparison_with_figures(
    comparison: experiments.Comparison,
    out: Path,
    started: datetime,
    finished: datetime,
    command: list[str] | None = None,
    overwrite: bool = False,
    excel: bool = False,
) -> Path:
    """`sim.results.write_comparison` (with `excel`, also its workbook), plus the figures of
    `COMPARE_FIGURES` as PNG files beside the tables, all in one folder that replaces `out`
    whole (see `sim.output_paths`); the manifest lists the figures under ``figures``."""
    from sim import results
    from sim.plots.results import forest, time_series

    drawn = {
        "forest": forest(comparison),
        "active": time_series(comparison, "active"),
        "npv_to_date": time_series(comparison, "npv_to_date"),
    }
    with output_paths.replace_directory(out, overwrite) as staging:
        # The tables and the manifest are written whole into the staging folder, which then
        # receives the figures and replaces `out` in one rename.
        results.write_comparison(comparison, staging, started, finished, command, excel=excel)
        for key, figure in drawn.items():
            figure.savefig(staging / COMPARE_FIGURES[key][0], dpi=FIGURE_DPI)
        manifest_path = staging / "manifest.json"
        manifest = json.loads(manifest_path.read_text())
        manifest["figures"] = [COMPARE_FIGURES[key][0] for key in drawn]
        manifest_path.write_text(results.json_text(manifest))
    return out


def _validate(args: argparse.Namespace) -> int:
    from sim.scenario import load_scenario

    scenario = load_scenario(args.scenario, args.overrides)
    print(f"# {args.scenario}: valid; sha256 {scenario.sha256}")
    print(scenario.to_yaml(), end="")
    return 0


# ---------------------------------------------------------------------------- tables


def _fmt(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.3f}"


def format_run_table(result: experiments.RunResult) -> str:
    """Headline metrics of a run: mean and 95% interval (with several firms, a block for
    each firm)."""
    from sim import metrics
    from sim.market import FIRM_COLUMN

    summary = result.summary
    parts = (
        [(None, summary)]
        if FIRM_COLUMN not in summary.columns
        else list(summary.groupby(FIRM_COLUMN, sort=False))
    )
    lines = []
    for firm, part in parts:
        if firm is not None:
            lines.append(f"{'' if not lines else chr(10)}firm {firm}")
        lines.append(f"{'metric':<32}{'mean':>14}  95% interval")
        rows = part.set_index("metric")
        for metric in metrics.HEADLINE:
            row = rows.loc[metric]
            interval = f"[{_fmt(row['ci_low'])}, {_fmt(row['ci_high'])}]"
            lines.append(f"{metrics.LABELS[metric]:<32}{_fmt(row['mean']):>14}  {interval}")
    return "\n".join(lines)


def format_comparison_table(comparison: experiments.Comparison) -> str:
    """Paired differences of each alternative against the base (with several firms, a
    block for each alternative and firm)."""
    from sim import metrics
    from sim.market import FIRM_COLUMN

    lines = []
    base = comparison.runs[0].scenario.name
    summary = comparison.summary
    by = ["alternative", FIRM_COLUMN] if FIRM_COLUMN in summary.columns else ["alternative"]
    for key, part in summary.groupby(by, sort=False):
        part = part.set_index("metric")
        lines.append("")
        firm = f", firm {key[1]}" if len(key) > 1 else ""
        lines.append(f"{key[0]} vs {base}{firm}")
        lines.append(
            f"{'metric':<32}{'base':>14}{'alternative':>14}{'difference':>14}  95% interval"
        )
        for metric in (*metrics.HEADLINE, *metrics.RETURNS):
            row = part.loc[metric]
            interval = f"[{_fmt(row['ci_low'])}, {_fmt(row['ci_high'])}]"
            if metric in metrics.RETURNS and row["n"] < part.loc["active", "n"]:
                interval += f" ({int(row['n'])} of {int(part.loc['active', 'n'])} replications)"
            lines.append(
                f"{metrics.LABELS[metric]:<32}{_fmt(row['base_mean']):>14}"
                f"{_fmt(row['alternative_mean']):>14}{_fmt(row['difference']):>14}  {interval}"
            )
    return "\n".join(lines).lstrip("\n")


if __name__ == "__main__":
    sys.exit(main())
