"""Command-line pieces shared by the `cxm` subcommands: scenario overrides, output paths,
progress and one-line parse errors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from tqdm import tqdm

from sim.errors import CXMError


def add_set_option(parser: argparse.ArgumentParser) -> None:
    """Add the repeatable ``--set PATH=VALUE`` scenario override (into `overrides`)."""
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="override a scenario value by its dotted path, e.g. "
        "--set firm.capabilities.technology=4 or --set market.segments.premium.share=0.4 "
        "(repeatable; validated like the file)",
    )


def add_quiet_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--quiet``/``-q``, which hides the progress bar (into `quiet`)."""
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def progress_bar(total: int | None, quiet: bool, label: str, unit: str = "month") -> tqdm:
    """A tqdm bar on standard error with done, rate and time left; `quiet` hides it (it is
    also hidden when standard error is not a terminal)."""
    return tqdm(
        total=total, unit=unit, desc=label, disable=quiet or None, leave=False, file=sys.stderr
    )


def add_out_options(parser: argparse.ArgumentParser, default: str, kind: str = "folder") -> None:
    """Add ``--out PATH`` (into `out`, a string) and ``--overwrite``: where the result goes
    and whether it may replace a previous result there (see `sim.output_paths`)."""
    parser.add_argument(
        "--out",
        metavar="FILE" if kind == "file" else "DIR",
        help=f"output {kind} (default {default}); it must not exist yet, or hold a previous "
        "result of cxm (replaced only with --overwrite); anything else is refused",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help=f"replace a previous cxm result in the output {kind}",
    )


def shown_path(path: Path) -> str:
    """`path` relative to the working directory when inside it, else absolute."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def report_repair(line: str) -> None:
    """Tell the user, on standard error, what claiming the output path repaired."""
    print(f"note: {line}", file=sys.stderr)


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (``error: cxm run: …``), raised as
    `UsageError` for the command to report with exit status 2, instead of the usage block."""

    def error(self, message: str) -> NoReturn:
        """Raise the parse error as one line naming the command."""
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


class UsageError(CXMError):
    """A command line that does not parse."""
