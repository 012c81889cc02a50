"""The ``contact-centre`` command: queue metrics, or the staffing a service level needs.

Given an arrival rate, a mean handle time and a number of agents, the command prints the
probability of waiting, the average speed of answer (of answered calls), the mean wait of
all callers, the service level, the abandon rate and the occupancy of the centre, either
from the closed forms (Erlang C, or Erlang A when callers have a patience) or from a SimPy
simulation of many hours of the centre. Given a target
service level instead, it finds the smallest number of agents that reaches it. The command is
a subcommand of the package's command line (`add_parser`) and also runs on its own as
``python -m sim.support.contact_centre.cli``.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sim.errors import EXIT_BAD_INPUT
from sim.support.contact_centre import _validate as check

if TYPE_CHECKING:
    from sim.support.contact_centre.erlang import QueueMetrics

__all__ = ["add_parser", "main"]

COMMAND = "contact-centre"
METRICS = (
    "p_wait",
    "asa_seconds",
    "mean_wait_seconds",
    "service_level",
    "abandon_rate",
    "occupancy",
)
DEFAULT_SIMULATED_HOURS = 1000.0
DEFAULT_SEED = 0

# Upper bounds of the options, so that every command finishes in seconds to minutes.
MAX_CALLS_PER_HOUR = 1_000_000
MAX_AGENTS = 100_000  # as the scenario schema's support.contact_centre.agents
MAX_HANDLE_SECONDS = 86_400  # a day
MAX_WAIT_SECONDS = 3_600  # patience and service-level target time: an hour
MAX_HOURS = 100_000
MAX_SEED = 2**32 - 1
MAX_SIMULATED_CALLS = 2_000_000
"""Most calls a SimPy run may expect (calls per hour × simulated hours, warm-up included)."""

DESCRIPTION = (
    "Performance of an inbound contact centre: probability of waiting (p_wait), average "
    "speed of answer of the answered calls in seconds (asa_seconds), mean wait of all "
    "callers, answered or abandoned, in seconds (mean_wait_seconds), share of offered calls "
    "answered within the target time (service_level), share of calls abandoned "
    "(abandon_rate) and share of agent time spent on calls (occupancy). Closed forms: "
    "Erlang C when callers never hang up, Erlang A when --patience-seconds is given."
)

# Argument names used in error messages by the library, and the options that set them.
_OPTION_FOR = {
    "calls_per_hour": "--calls-per-hour",
    "aht_seconds": "--aht-seconds",
    "agents": "--agents",
    "patience_seconds": "--patience-seconds",
    "answer_within_seconds": "--answer-within-seconds",
    "hours": "--hours",
    "rng": "--seed",
    "target_service_level": "--target-service-level",
}


def _configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options to ``parser``."""
    parser.add_argument(
        "--calls-per-hour",
        type=_number,
        required=True,
        metavar="X",
        help=f"mean arrival rate of calls, in calls per hour (0 to {MAX_CALLS_PER_HOUR})",
    )
    parser.add_argument(
        "--aht-seconds",
        type=_number,
        required=True,
        metavar="Y",
        help=f"average handle time of a call, in seconds (> 0, at most {MAX_HANDLE_SECONDS})",
    )
    parser.add_argument(
        "--agents",
        type=_number,
        metavar="N",
        help=f"number of agents answering calls (at most {MAX_AGENTS}); required unless "
        "--target-service-level is given",
    )
    parser.add_argument(
        "--patience-seconds",
        type=_number,
        metavar="P",
        help="mean time a caller waits before hanging up, in seconds (> 0, at most "
        f"{MAX_WAIT_SECONDS}; exponential "
        "patience, Erlang A); omit for callers who never hang up (Erlang C)",
    )
    parser.add_argument(
        "--answer-within-seconds",
        type=_number,
        default=20.0,
        metavar="T",
        help="service-level target time: a call counts as answered in time if an agent "
        f"takes it within T seconds (0 to {MAX_WAIT_SECONDS}; default: %(default)g)",
    )
    parser.add_argument(
        "--mode",
        choices=("erlang", "simpy"),
        default="erlang",
        help="'erlang' for the closed forms, 'simpy' to simulate the centre (default: %(default)s)",
    )
    parser.add_argument(
        "--hours",
        type=_number,
        metavar="H",
        help="simpy mode only: length of the measured simulated period, in hours, after a "
        f"warm-up of up to one hour (> 0, at most {MAX_HOURS}; default: "
        f"{DEFAULT_SIMULATED_HOURS:g}); calls per hour × hours may not exceed "
        f"{MAX_SIMULATED_CALLS}",
    )
    parser.add_argument(
        "--seed",
        type=_number,
        default=DEFAULT_SEED,
        metavar="S",
        help="simpy mode only: seed of the random numbers; the same seed gives the same "
        f"result (0 to {MAX_SEED}; default: %(default)s)",
    )
    parser.add_argument(
        "--target-service-level",
        type=_number,
        metavar="FRACTION",
        help="find the fewest agents whose service level reaches FRACTION, in (0, 1), e.g. "
        "0.8; the staffing comes from the closed form, the metrics shown at that staffing "
        "from --mode",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print a JSON object with the keys " + ", ".join(METRICS) + " (plus "
        "agents_needed with --target-service-level); an unbounded or undefined wait is null",
    )


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``contact-centre`` subcommand to ``subparsers``.

    The subcommand's parser gets ``func=main`` as a default, so a caller can dispatch with
    ``args.func(args)``.

    Args:
        subparsers: The object returned by ``ArgumentParser.add_subparsers()``.
    """
    parser = subparsers.add_parser(
        COMMAND,
        help="queue metrics and staffing of a contact centre (Erlang C/A or SimPy)",
        description=DESCRIPTION,
    )
    _configure(parser)
    parser.set_defaults(func=main)


def _number(text: str) -> int | float | str:
    """An option's text as an int or a float; text that is neither is kept, so that
    `check_options` can refuse it in the command's own one-line error format."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _finite(value: object) -> float:
    """``value`` as a float; NaN for anything that is not a finite real number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return math.nan
    number = float(value)
    return number if math.isfinite(number) else math.nan


def _bounded(
    option: str, value: object, low: float, high: float, *, low_open: bool = False
) -> float:
    """``value`` as a finite float in [low, high] (or (low, high] when ``low_open``)."""
    number = _finite(value)
    above_low = low < number if low_open else low <= number
    if not (above_low and number <= high):  # NaN fails both
        bound = f"{'>' if low_open else '>='} {check.describe(low)}"
        raise check.fail(option, value, f"a number {bound} and at most {check.describe(high)}")
    return number


def _whole(option: str, value: object, low: int, high: int) -> int:
    """``value`` as an int in [low, high] (a float such as 1e3 counts if it is whole)."""
    rule = f"a whole number from {low} to {high}"
    try:
        whole = check.count(option, value, minimum=low)
    except ValueError:
        raise check.fail(option, value, rule) from None
    if whole > high:
        raise check.fail(option, value, rule)
    return whole


def check_options(args: argparse.Namespace) -> None:
    """Refuse an option outside its range, NaN or infinity, before any work; every numeric
    option has an upper bound, and so has the work of a simulation (calls × hours). Whole
    numbers given as floats (``--agents 1e3``) are stored back as ints.

    Raises:
        ValueError: ``"<option>: got <value>; must be <rule>"``.
    """
    calls = _bounded("--calls-per-hour", args.calls_per_hour, 0, MAX_CALLS_PER_HOUR)
    _bounded("--aht-seconds", args.aht_seconds, 0, MAX_HANDLE_SECONDS, low_open=True)
    if args.agents is not None:
        args.agents = _whole("--agents", args.agents, 0, MAX_AGENTS)
    if args.patience_seconds is not None:
        _bounded("--patience-seconds", args.patience_seconds, 0, MAX_WAIT_SECONDS, low_open=True)
    _bounded("--answer-within-seconds", args.answer_within_seconds, 0, MAX_WAIT_SECONDS)
    if args.hours is not None:
        _bounded("--hours", args.hours, 0, MAX_HOURS, low_open=True)
    args.seed = _whole("--seed", args.seed, 0, MAX_SEED)
    if args.target_service_level is not None:
        level = args.target_service_level
        if not 0 < _finite(level) < 1:
            raise check.fail("--target-service-level", level, "in (0, 1)")
    if args.mode == "simpy":
        hours = DEFAULT_SIMULATED_HOURS if args.hours is None else float(args.hours)
        expected = calls * (hours + min(1.0, 0.1 * hours))
        if expected > MAX_SIMULATED_CALLS:
            given = "" if args.hours is not None else " (the default)"
            raise ValueError(
                f"--hours: got {check.describe(hours)}{given} at --calls-per-hour "
                f"{check.describe(calls)}: about {expected:.3g} calls to simulate with the "
                f"warm-up; must be at most {MAX_SIMULATED_CALLS} calls (lower --hours)"
            )


def _option_message(message: str) -> str:
    """Rewrite a library message that starts with an argument name to name the option."""
    name, colon, rest = message.partition(":")
    if not colon or name not in _OPTION_FOR:
        return message
    for argument, option in _OPTION_FOR.items():
        rest = re.sub(rf"\b{argument}\b", option, rest)
    return _OPTION_FOR[name] + colon + rest


def _staffing(args: argparse.Namespace) -> int:
    """The fewest agents, up to `MAX_AGENTS`, that reach ``--target-service-level``."""
    from sim.support.contact_centre.erlang import agents_for_service_level  # loads SciPy

    try:
        return agents_for_service_level(
            args.calls_per_hour,
            args.aht_seconds,
            args.target_service_level,
            answer_within_seconds=args.answer_within_seconds,
            patience_seconds=args.patience_seconds,
            max_agents=MAX_AGENTS,
        )
    except ValueError as error:
        if not str(error).startswith("max_agents:"):
            raise
        raise check.fail(
            "--target-service-level",
            args.target_service_level,
            f"reachable with at most {MAX_AGENTS} agents at these --calls-per-hour and "
            "--aht-seconds",
        ) from None


def _metrics(args: argparse.Namespace, agents: int) -> QueueMetrics:
    """Metrics of the centre with ``agents`` agents, by the chosen mode."""
    from sim.support.contact_centre.erlang import erlang_a, erlang_c  # loads SciPy
    from sim.support.contact_centre.simulation import simulate  # loads SimPy

    if args.mode == "simpy":
        hours = DEFAULT_SIMULATED_HOURS if args.hours is None else args.hours
        return simulate(
            args.calls_per_hour,
            args.aht_seconds,
            agents,
            hours,
            args.seed,
            patience_seconds=args.patience_seconds,
            answer_within_seconds=args.answer_within_seconds,
        ).metrics
    if args.patience_seconds is None:
        return erlang_c(args.calls_per_hour, args.aht_seconds, agents, args.answer_within_seconds)
    return erlang_a(
        args.calls_per_hour,
        args.aht_seconds,
        agents,
        args.patience_seconds,
        args.answer_within_seconds,
    )


def _format(value: float) -> str:
    return "inf" if math.isinf(value) else f"{value:.4f}"


def main(args: argparse.Namespace) -> int:
    """Run the ``contact-centre`` command with parsed ``args``; return the exit status.

    Prints the metrics as an aligned table (or JSON with ``--json``) and returns 0; on bad
    input prints one ``error: ...`` line to stderr and returns 2.
    """
    try:
        if args.mode != "simpy" and args.hours is not None:
            raise ValueError("hours: only used with --mode simpy")
        check_options(args)
        agents_needed = None
        if args.target_service_level is not None:
            agents_needed = _staffing(args)
            agents = agents_needed
        elif args.agents is None:
            raise ValueError("agents: required unless --target-service-level is given")
        else:
            agents = args.agents
        metrics = _metrics(args, agents)
    except ValueError as error:
        print(f"error: {_option_message(str(error))}", file=sys.stderr)
        return EXIT_BAD_INPUT

    values = {name: getattr(metrics, name) for name in METRICS}
    if args.json:
        document = {name: v if math.isfinite(v) else None for name, v in values.items()}
        if agents_needed is not None:
            document["agents_needed"] = agents_needed
        print(json.dumps(document))
        return 0
    rows = [] if agents_needed is None else [("agents_needed", str(agents_needed))]
    rows += [(name, _format(value)) for name, value in values.items()]
    width = max(len(name) for name, _ in rows)
    model = "simulated" if args.mode == "simpy" else "Erlang C"
    if args.mode == "erlang" and args.patience_seconds is not None:
        model = "Erlang A"
    print(
        f"{args.calls_per_hour:g} calls/hour, AHT {args.aht_seconds:g} s, {agents} agents, "
        f"answer within {args.answer_within_seconds:g} s ({model})"
    )
    for name, text in rows:
        print(f"  {name:<{width}}  {text:>10}")
    return 0


def _run(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` as the standalone command and run it."""
    parser = argparse.ArgumentParser(
        prog="python -m sim.support.contact_centre.cli", description=DESCRIPTION
    )
    _configure(parser)
    return main(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(_run())
