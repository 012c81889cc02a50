"""Argument checks shared by the closed forms, the simulation and the command line.

Every check raises `ValueError` with one message of the form
``"<argument>: got <value>; must be <rule>"``, so a caller (or the command line, which swaps
the argument name for its option name) can show it to a person unchanged.
"""

from __future__ import annotations

import math
import numbers

HANDLE_TIME_DISTRIBUTIONS = ("exponential", "lognormal")
"""Distributions a simulated handle time may follow (`simulate`'s ``handle_time``)."""


def describe(value: object) -> str:
    """Return a short, readable rendering of ``value`` for an error message."""
    if isinstance(value, bool):
        return repr(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isfinite(number) and number.is_integer():
            return str(int(number))
        return repr(number)
    return repr(value)


def fail(name: str, value: object, rule: str) -> ValueError:
    """Build the ValueError for argument ``name`` holding ``value``, which breaks ``rule``."""
    return ValueError(f"{name}: got {describe(value)}; must be {rule}")


def real(name: str, value: object) -> float:
    """Return ``value`` as a float, refusing booleans, non-numbers and NaN."""
    kind = type(value)
    usual = kind is float or kind is int  # decided without the abstract-class checks
    if not usual and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
        raise fail(name, value, "a number")
    number = float(value)  # type: ignore[arg-type]
    if math.isnan(number):
        raise fail(name, value, "a number")
    return number


def positive(name: str, value: object, *, allow_inf: bool = False) -> float:
    """Return ``value`` as a float after checking it is > 0 (and finite unless allowed)."""
    number = real(name, value)
    if number <= 0 or (math.isinf(number) and not allow_inf):
        raise fail(name, value, "> 0" if allow_inf else "a finite number > 0")
    return number


def non_negative(name: str, value: object) -> float:
    """Return ``value`` as a float after checking it is finite and >= 0."""
    number = real(name, value)
    if number < 0 or math.isinf(number):
        raise fail(name, value, "a finite number >= 0")
    return number


def probability(name: str, value: object, *, low_open: bool, high_open: bool) -> float:
    """Return ``value`` as a float after checking it lies in the stated unit interval."""
    number = real(name, value)
    low_ok = number > 0 if low_open else number >= 0
    high_ok = number < 1 if high_open else number <= 1
    if not (low_ok and high_ok):
        interval = f"{'(' if low_open else '['}0, 1{')' if high_open else ']'}"
        raise fail(name, value, f"in {interval}")
    return number


def count(name: str, value: object, *, minimum: int = 0) -> int:
    """Return ``value`` as an int after checking it is a whole number >= ``minimum``."""
    if type(value) is int:  # the usual case, without the abstract-class checks
        whole = value
    elif isinstance(value, bool):
        raise fail(name, value, f"a whole number >= {minimum}")
    elif isinstance(value, numbers.Integral) or (
        isinstance(value, numbers.Real) and float(value).is_integer()
    ):
        whole = int(value)
    else:
        raise fail(name, value, f"a whole number >= {minimum}")
    if whole < minimum:
        raise fail(name, value, f"a whole number >= {minimum}")
    return whole


def staffing(calls_per_hour: float, agents: object) -> int:
    """Check ``agents`` is a whole number and that calls are never offered to nobody."""
    n = count("agents", agents)
    if n == 0 and calls_per_hour > 0:
        raise fail("agents", agents, ">= 1 when calls_per_hour > 0")
    return n
