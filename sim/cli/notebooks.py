"""The `cxm notebooks` subcommand: run the notebook suite with papermill and render it to HTML.

`add_parser` adds it to the `cxm` parser; `run` takes the parsed arguments and returns the
exit status: 0 when no notebook failed (one skipped for a missing optional module, reported
on one line, counts as no failure), 1 when one failed (the others still run). Bad input
raises `sim.errors.CXMError` before any notebook runs, which `cxm` reports as one line with
exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from sim.choices import ALL_TRACKS, TRACKS
from sim.cli.options import add_out_options, report_repair, shown_path

if TYPE_CHECKING:
    from sim import notebooks


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the notebooks subcommand to `cxm`'s subparsers."""
    parser = subparsers.add_parser(
        "notebooks",
        help="run the notebook suite with papermill and render it to HTML",
        description="Execute the notebooks of notebooks/ (and notebooks/lessons/) with "
        "papermill from the project root, render each to a standalone HTML report (figures "
        "embedded; strategist reports without code) and write index.html and index.json, "
        "which list every report with its title, track, question, parameters, scenario "
        "sha256, git commit, time and status. A failing notebook is reported with its cell "
        "and error, and the others still run; the exit status is then 1.",
        epilog="Each notebook declares its track, title, question and quick parameters in its "
        "metadata; see notebooks/README.md.",
    )
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help="notebooks to run, by file name without .ipynb, e.g. 00_quickstart "
        "(default: every notebook of the track)",
    )
    parser.add_argument(
        "--track",
        default=ALL_TRACKS,
        metavar="TRACK",
        help=f"run the notebooks of one track: {', '.join(TRACKS)} or "
        f"{ALL_TRACKS} (default {ALL_TRACKS})",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="inject each notebook's quick parameters (what it declares for a small, fast run: "
        "few replications, a short horizon)",
    )
    parser.add_argument(
        "-p",
        "--parameter",
        dest="parameters",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a parameter of every notebook run, the value read as YAML, e.g. "
        "-p replications=3 -p scenario_path=scenarios/digital_first.yaml (repeatable; after "
        "--quick's; the notebooks' parameters cells must define KEY)",
    )
    add_out_options(parser, "results/notebooks/")
    parser.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="no line as each notebook starts and finishes (failures are still reported)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the notebooks `args` names; 1 if any failed, else 0."""
    from sim import notebooks

    given = notebooks.parse_parameters(args.parameters)

    def started(notebook: notebooks.Notebook) -> None:
        if not args.quiet:
            print(f"{notebook.name}: running", file=sys.stderr, flush=True)

    def finished(report: notebooks.Report) -> None:
        if report.failure is not None:
            print(f"error: {report.line()}", file=sys.stderr, flush=True)
        elif report.skipped is not None or not args.quiet:  # a skip is shown with -q too
            print(report.line(), file=sys.stderr, flush=True)

    suite = notebooks.run_suite(
        args.names,
        args.track,
        args.quick,
        given,
        args.out,
        args.overwrite,
        started=started,
        finished=finished,
        report=report_repair,
        command=args.command_line,
    )
    ok = len(suite.reports) - len(suite.failed) - len(suite.skipped)
    skipped = f", {len(suite.skipped)} skipped" if suite.skipped else ""
    print(f"{len(suite.reports)} notebook(s): {ok} ok, {len(suite.failed)} failed{skipped}")
    print(f"written to {shown_path(suite.out)} (open index.html)")
    return 1 if suite.failed else 0
