"""Command-line pieces shared by the `cxm` subcommands: scenario overrides, output paths,
where runs execute, progress and one-line parse errors."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from sim.errors import CXMError, OptionError
from sim.experiments import parallel

if TYPE_CHECKING:
    from tqdm import tqdm

FLAG_OF = {
    "targets": "--target",
    "overrides": "--set",
    "parameters": "-p",
    "budget_per_month": "--budget",
}
"""Parameters of the library whose command-line flag is not ``--`` + the name with dashes."""


def flag(parameter: str) -> str:
    """The command-line flag of a library parameter (``max_evaluations`` →
    ``--max-evaluations``); a name that is already a flag is returned as it is."""
    if parameter.startswith("-"):
        return parameter
    return FLAG_OF.get(parameter, "--" + parameter.replace("_", "-"))


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


def add_execution_options(parser: argparse.ArgumentParser, tiny: str) -> None:
    """Add where the runs execute (see `sim.experiments.parallel`): ``--workers``/``-w N`` or
    ``--scheduler ADDRESS`` (one of the two), ``--dashboard``, and the TLS files
    ``--tls-ca-file``, ``--tls-cert`` and ``--tls-key``; read them with
    `execution_options`.

    Args:
        parser: the subcommand's parser.
        tiny: the jobs that run in this process when no worker count is given, with ``{n}``
            for `sim.experiments.parallel.SERIAL_BELOW`, e.g. ``"sweeps of fewer than {n} runs"``.
    """
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        "-w",
        type=int,
        metavar="N",
        help="local worker processes (default: one per core; 1 runs in this process; "
        f"{tiny.format(n=parallel.SERIAL_BELOW)} run in this process unless a number is "
        "given); results do not depend on it",
    )
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on the Dask cluster whose scheduler is at ADDRESS, e.g. tcp://10.0.0.5:8786 "
        "or tls://10.0.0.5:8786; its workers must be trusted (results come back pickled)",
    )
    parser.add_argument(
        "--dashboard",
        action="store_true",
        help="start the local cluster's Dask dashboard on 127.0.0.1 and print its address "
        "(default: no dashboard)",
    )
    add_threads_option(parser)
    for option, meaning in (
        ("--tls-ca-file", "the certificate authority that signed the scheduler's certificate"),
        ("--tls-cert", "this client's certificate"),
        ("--tls-key", "this client's private key (if not inside the --tls-cert file)"),
    ):
        parser.add_argument(
            option,
            type=Path,
            metavar="FILE",
            help=f"with a tls:// --scheduler: PEM file of {meaning}",
        )


def add_threads_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--threads N``: threads for the per-person passes of a run in this process
    (`sim.threads`; read it with `use_threads`)."""
    parser.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="threads for the per-person passes of the runs in this process (default: every "
        "core; Dask workers use one each); results do not depend on it",
    )


def use_threads(args: argparse.Namespace) -> int:
    """Set the threads ``--threads`` asks for (default every core) and return the count.

    Raises:
        OptionError: a count below 1 or above the cores numba may use.
    """
    from sim import threads

    try:
        return threads.set_threads(args.threads)
    except ValueError:
        raise OptionError(
            "threads", f"got {args.threads}; must be a whole number from 1 to {threads.available()}"
        ) from None


def execution_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options of `add_execution_options`, checked before any work, as keyword arguments
    of `sim.experiments.parallel.execute`: workers, scheduler, dashboard, tls_ca_file, tls_cert,
    tls_key; ``--threads`` is applied to this process (`use_threads`).

    Raises:
        CXMError: a bad value, as `sim.experiments.parallel.check_options` says.
    """
    use_threads(args)
    options = {
        "workers": args.workers,
        "scheduler": args.scheduler,
        "dashboard": args.dashboard,
        "tls_ca_file": args.tls_ca_file,
        "tls_cert": args.tls_cert,
        "tls_key": args.tls_key,
    }
    parallel.check_options(**options)
    return options


def progress_bar(total: int | None, quiet: bool, label: str, unit: str = "month") -> tqdm:
    """A tqdm bar on standard error with done, rate and time left; `quiet` hides it (it is
    also hidden when standard error is not a terminal)."""
    from tqdm import tqdm

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


def parse_assignments(texts: Sequence[str], option: str) -> dict[str, str]:
    """``NAME=VALUE`` strings as a mapping (for --target and --bounds).

    Raises:
        CXMError: a text without ``=`` or a name given twice.
    """
    pairs: dict[str, str] = {}
    for text in texts:
        name, sep, value = text.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise CXMError(f"{option}: got {text!r}; expected NAME=VALUE")
        if name.strip() in pairs:
            raise CXMError(f"{option}: {name.strip()!r} is given twice")
        pairs[name.strip()] = value.strip()
    return pairs


def parse_targets(texts: Sequence[str]) -> dict[str, float]:
    """``--target NAME=NUMBER`` options as a mapping.

    Raises:
        CXMError: a text that is not NAME=NUMBER with a finite number, or a name given twice.
    """
    targets = {}
    for name, value in parse_assignments(texts, "--target").items():
        number = _finite(value)
        if number is None:
            raise CXMError(
                f"--target: got {f'{name}={value}'!r}; the value must be a finite number, "
                "e.g. churn_rate_mean=0.015"
            )
        targets[name] = number
    return targets


def parse_bounds(texts: Sequence[str]) -> dict[str, tuple[float, float]]:
    """``--bounds PATH=LOW:HIGH`` options as a mapping.

    Raises:
        CXMError: a text that is not PATH=LOW:HIGH with finite numbers LOW < HIGH, or a path
            given twice.
    """
    bounds = {}
    for path, value in parse_assignments(texts, "--bounds").items():
        low, sep, high = value.partition(":")
        pair = (_finite(low), _finite(high))
        if not sep or None in pair or not pair[0] < pair[1]:
            raise CXMError(
                f"--bounds: got {f'{path}={value}'!r}; expected PATH=LOW:HIGH with finite "
                "numbers LOW < HIGH, e.g. 0.005:0.05"
            )
        bounds[path] = pair
    return bounds


def _finite(text: str) -> float | None:
    """The finite number written in `text`, or None."""
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
