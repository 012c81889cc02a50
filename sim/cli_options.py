"""Command-line pieces shared by the `cxm` subcommands: scenario overrides and progress."""

from __future__ import annotations

import argparse
import sys

from tqdm import tqdm


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
