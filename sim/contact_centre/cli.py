"""The ``contact-centre`` command: queue metrics, or the staffing a service level needs.

Given an arrival rate, a mean handle time and a number of agents, the command prints the
probability of waiting, the average speed of answer, the service level, the abandon rate and
the occupancy of the centre, either from the closed forms (Erlang C, or Erlang A when callers
have a patience) or from a SimPy simulation of many hours of the centre. Given a target
service level instead, it finds the smallest number of agents that reaches it. The command is
a subcommand of the package's command line (`add_parser`) and also runs on its own as
``python -m sim.contact_centre.cli``.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Sequence

from sim.contact_centre.erlang import QueueMetrics, agents_for_service_level, erlang_a, erlang_c
from sim.contact_centre.simulation import simulate

__all__ = ["add_parser", "main"]

COMMAND = "contact-centre"
METRICS = ("p_wait", "asa_seconds", "service_level", "abandon_rate", "occupancy")
DEFAULT_SIMULATED_HOURS = 1000.0
DEFAULT_SEED = 0

DESCRIPTION = (
    "Performance of an inbound contact centre: probability of waiting (p_wait), average "
    "speed of answer over all callers in seconds (asa_seconds), share of offered calls "
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
        type=float,
        required=True,
        metavar="X",
        help="mean arrival rate of calls, in calls per hour (>= 0)",
    )
    parser.add_argument(
        "--aht-seconds",
        type=float,
        required=True,
        metavar="Y",
        help="average handle time of a call, in seconds (> 0)",
    )
    parser.add_argument(
        "--agents",
        type=int,
        metavar="N",
        help="number of agents answering calls; required unless --target-service-level is given",
    )
    parser.add_argument(
        "--patience-seconds",
        type=float,
        metavar="P",
        help="mean time a caller waits before hanging up, in seconds (> 0; exponential "
        "patience, Erlang A); omit for callers who never hang up (Erlang C)",
    )
    parser.add_argument(
        "--answer-within-seconds",
        type=float,
        default=20.0,
        metavar="T",
        help="service-level target time: a call counts as answered in time if an agent "
        "takes it within T seconds (default: %(default)g)",
    )
    parser.add_argument(
        "--mode",
        choices=("erlang", "simpy"),
        default="erlang",
        help="'erlang' for the closed forms, 'simpy' to simulate the centre (default: %(default)s)",
    )
    parser.add_argument(
        "--hours",
        type=float,
        metavar="H",
        help="simpy mode only: length of the measured simulated period, in hours, after a "
        f"warm-up of up to one hour (default: {DEFAULT_SIMULATED_HOURS:g})",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        metavar="S",
        help="simpy mode only: seed of the random numbers; the same seed gives the same "
        "result (default: %(default)s)",
    )
    parser.add_argument(
        "--target-service-level",
        type=float,
        metavar="FRACTION",
        help="find the fewest agents whose service level reaches FRACTION, in (0, 1), e.g. "
        "0.8; the staffing comes from the closed form, the metrics shown at that staffing "
        "from --mode",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print a JSON object with the keys " + ", ".join(METRICS) + " (plus "
        "agents_needed with --target-service-level); an unbounded wait is null",
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


def _option_message(message: str) -> str:
    """Rewrite a library message that starts with an argument name to name the option."""
    name, colon, rest = message.partition(":")
    if not colon or name not in _OPTION_FOR:
        return message
    for argument, option in _OPTION_FOR.items():
        rest = re.sub(rf"\b{argument}\b", option, rest)
    return _OPTION_FOR[name] + colon + rest


def _metrics(args: argparse.Namespace, agents: int) -> QueueMetrics:
    """Metrics of the centre with ``agents`` agents, by the chosen mode."""
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
        agents_needed = None
        if args.target_service_level is not None:
            agents_needed = agents_for_service_level(
                args.calls_per_hour,
                args.aht_seconds,
                args.target_service_level,
                answer_within_seconds=args.answer_within_seconds,
                patience_seconds=args.patience_seconds,
            )
            agents = agents_needed
        elif args.agents is None:
            raise ValueError("agents: required unless --target-service-level is given")
        else:
            agents = args.agents
        metrics = _metrics(args, agents)
    except ValueError as error:
        print(f"error: {_option_message(str(error))}", file=sys.stderr)
        return 2

    values = {name: getattr(metrics, name) for name in METRICS}
    if args.json:
        document = {name: None if math.isinf(v) else v for name, v in values.items()}
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
        prog="python -m sim.contact_centre.cli", description=DESCRIPTION
    )
    _configure(parser)
    return main(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(_run())
