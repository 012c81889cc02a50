"""The `cxm report` subcommand: one command from scenario files to a report a strategist can
email.

`cxm report BASE ALT [ALT ...]` runs the notebook ``notebooks/investment_case.ipynb`` (the
investment case: summary, headline table, forest plot, profit waterfall, J-curve, ROI and
payback, and an uncertainty study) on those scenarios with `sim.notebooks.run_suite`, and
writes into one folder (default ``results/report-<base name>/``) its standalone HTML report
(figures embedded, no code), the executed notebook, and the suite's ``index.html``,
``index.json`` and ``manifest.json``. The folder follows `sim.output_paths` like every cxm
result: it is written whole, and replaces only a previous cxm result, with ``--overwrite``.

Replications and seed default to the base scenario's, as for `cxm compare`, so the report's
headline table is the table ``cxm compare`` writes for the same scenarios, replications,
seed, months and market size. Bad input (a missing or invalid scenario, a name used twice, a
bad number, an output folder that may not be written) is one line with exit status 2, found
before the notebook runs, and nothing is written. A notebook that fails gives exit status 1
with its one-line report (the folder then holds the executed notebook up to the error).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim import PROJECT_ROOT, output_paths
from sim.cli.options import add_out_options, report_repair, shown_path
from sim.errors import CXMError, OptionError, ScenarioError, check_whole

if TYPE_CHECKING:
    from sim import notebooks
    from sim.scenario import Scenario

NOTEBOOK = "investment_case"
"""The notebook `cxm report` runs (in `sim.notebooks.NOTEBOOKS_DIR`)."""
OUT_PREFIX = "report-"
"""The default output folder is ``results/report-<base scenario name>``."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the report subcommand to `cxm`'s subparsers."""
    parser = subparsers.add_parser(
        "report",
        help="write an investment-case report (HTML) comparing programmes with a base",
        description="Compare each ALT with BASE on common random numbers and write one "
        "standalone HTML report for decision makers (figures embedded, no code): a summary "
        "and verdict written from the numbers, the headline table, the differences with "
        "their 95% intervals, where the profit difference comes from, when each programme "
        "pays back, its ROI replication by replication, and how the answer moves when key "
        "assumptions are wrong. It runs notebooks/investment_case.ipynb with papermill; the "
        "executed notebook and an index are written beside the report.",
        epilog="The headline table is the table `cxm compare` writes for the same scenarios, "
        "--replications, --seed, --months and market size (--set market.size=N there). "
        "Exit status 1 if the report's notebook fails (its cell and error are printed).",
    )
    parser.add_argument("base", type=Path, help="base scenario YAML file (carrying on as before)")
    parser.add_argument(
        "alternatives",
        type=Path,
        nargs="+",
        metavar="ALT",
        help="alternative scenario files (the programmes)",
    )
    parser.add_argument(
        "--replications", "-r", type=int, help="replications (default: the base scenario's)"
    )
    parser.add_argument("--seed", "-s", type=int, help="random seed (default: the base scenario's)")
    parser.add_argument(
        "--months", type=int, help="months to simulate, in every scenario (default: the base's)"
    )
    parser.add_argument(
        "--market-size",
        type=int,
        metavar="N",
        help="people in the market, in every scenario (default: each scenario's own)",
    )
    parser.add_argument(
        "--study-replications",
        type=int,
        metavar="N",
        help="replications of each run of the uncertainty study (the first ones of the "
        "comparison; at most --replications; default: the report notebook's)",
    )
    parser.add_argument(
        "--study-spread",
        type=float,
        metavar="F",
        help="how far the uncertainty study moves each assumption below and above its value, "
        "as a fraction between 0 and 1, e.g. 0.25 for 25%% (default: the report notebook's)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a small, fast report: the quick settings the notebook declares (a small "
        "market, a short horizon, few replications); the options above, when given, win",
    )
    add_out_options(parser, "results/report-<base>/")
    parser.add_argument(
        "--quiet", "-q", action="store_true", help="no line as the report starts and finishes"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Write the report `args` asks for; 1 if its notebook failed, else 0."""
    from sim import notebooks

    notebook = notebooks.read_notebook(notebooks.NOTEBOOKS_DIR / f"{NOTEBOOK}.ipynb")
    given, base = report_parameters(args, notebook)
    out = output_paths.chosen_path(args.out, f"{OUT_PREFIX}{base.name}")
    return run_notebook(NOTEBOOK, args.quick, given, out, args, label="report")


def run_notebook(
    name: str,
    quick: bool,
    given: dict[str, Any],
    out: Path,
    args: argparse.Namespace,
    label: str,
) -> int:
    """Run one notebook of the suite with the parameters `given` into `out` (``--overwrite``,
    ``--quiet`` and the command line from `args`), saying on standard error as it starts and
    finishes, and print where its HTML went (after `label`); 1 if it failed, else 0."""
    from sim import notebooks

    quiet = getattr(args, "quiet", False)

    def started(chosen: notebooks.Notebook) -> None:
        if not quiet:
            print(f"{chosen.name}: running", file=sys.stderr, flush=True)

    def finished(done: notebooks.Report) -> None:
        if done.failure is not None:
            print(f"error: {done.line()}", file=sys.stderr, flush=True)
        elif not quiet:
            print(done.line(), file=sys.stderr, flush=True)

    suite = notebooks.run_suite(
        [name],
        notebooks.ALL_TRACKS,
        quick,
        given,
        out,
        args.overwrite,
        started=started,
        finished=finished,
        report=report_repair,
        command=args.command_line,
    )
    done = suite.reports[0]
    if done.html is not None:
        print(f"{label}: {shown_path(suite.out / done.html)}")
    print(f"written to {shown_path(suite.out)}")
    return 0 if done.ok else 1


def report_parameters(
    args: argparse.Namespace, notebook: notebooks.Notebook
) -> tuple[dict[str, Any], Scenario]:
    """The parameters `cxm report` injects into the notebook (on top of its quick ones with
    ``--quick``), and the base scenario, after checking everything the notebook will read.

    Replications and seed default to the base scenario's, as in `cxm compare` (unless
    ``--quick`` sets them), so that the two commands give the same table.

    Raises:
        CXMError: a bad number, a scenario that is missing or invalid (at the report's
            months and market size), or a scenario name used twice.
    """
    explicit = {
        "replications": args.replications,
        "seed": args.seed,
        "months": args.months,
        "market_size": args.market_size,
        "study_replications": args.study_replications,
        "study_spread": args.study_spread,
    }
    given: dict[str, Any] = {key: value for key, value in explicit.items() if value is not None}
    if args.replications is not None:
        check_whole("replications", args.replications, 1, schema_maximum("replications"))
    if args.seed is not None and args.seed < 0:
        raise OptionError("seed", f"got {args.seed}; must be 0 or more")
    quick = notebook.quick if args.quick else {}
    planned = notebook.defaults | quick | given
    if planned["months"] is not None:
        check_whole("months", planned["months"], 1, schema_maximum("months"))
    if planned["market_size"] is not None:
        check_whole("market_size", planned["market_size"], 1, market_maximum())
    check_whole(
        "study_replications", planned["study_replications"], 1, schema_maximum("replications")
    )
    spread = planned["study_spread"]
    if isinstance(spread, bool) or not isinstance(spread, int | float) or not 0 < spread < 1:
        raise OptionError("study_spread", f"got {spread!r}; must be a fraction between 0 and 1")
    paths = [args.base, *args.alternatives]
    scenarios = [_load(path, planned) for path in paths]
    base = scenarios[0]
    names = [scenario.name for scenario in scenarios]
    for name in names:
        if names.count(name) > 1:
            raise CXMError(f"report: scenario name {name!r} is used twice; names must differ")
    for key, value in (("replications", base.replications), ("seed", base.seed)):
        if key not in given and key not in quick:
            given[key] = value
    planned |= given
    check_whole("replications", planned["replications"], 1, schema_maximum("replications"))
    files = {
        "base_path": _notebook_path(args.base),
        "alternative_paths": [_notebook_path(path) for path in args.alternatives],
    }
    return files | given, base


def schema_maximum(field: str) -> int:
    """The scenario schema's upper bound of a top-level count, as `cxm compare` uses it."""
    from sim.cli.main import schema_maximum as maximum  # main imports this module

    return maximum(field)


def market_maximum() -> int:
    """The largest market a scenario may have (the schema's bound of ``market.size``)."""
    from sim.scenario import Market

    return int(next(m.le for m in Market.model_fields["size"].metadata if getattr(m, "le", None)))


def _load(path: Path, planned: dict[str, Any]) -> Scenario:
    """A scenario as the notebook will run it: its file, at the report's months (the base's
    when none is given) and market size."""
    from sim.scenario import load_scenario, with_overrides

    scenario = load_scenario(path)
    if scenario.firms is not None:
        names = ", ".join(entry.name for entry in scenario.firms)
        raise ScenarioError(
            str(path),
            "firms",
            names,
            "the investment case reports one firm; `cxm compare` reports a market of "
            "several firms firm by firm",
        )
    changes: dict[str, object] = {}
    if planned["months"] is not None:
        changes["months"] = planned["months"]
    if planned["market_size"] is not None:
        changes["market.size"] = planned["market_size"]
    return with_overrides(scenario, changes) if changes else scenario


def _notebook_path(path: Path) -> str:
    """A scenario path as the notebook reads it (relative paths from the project root): the
    path from the project root when the file is inside it, else the absolute path."""
    absolute = path.resolve()
    try:
        return str(absolute.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(absolute)
