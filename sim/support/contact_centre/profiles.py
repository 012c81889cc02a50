"""Intraday arrival profiles: relative inbound calls in each opening hour of the day.

A profile holds one weight per opening hour; `sim.support.contact_centre.intraday` scales it to
average 1 and staffs the day hour by hour (its docstring gives the shape's sources). The
profiles live in this module, which loads nothing, because a scenario names one
(``support.contact_centre.intraday_profile``) and the scenario schema must not load SciPy,
which the Erlang formulas of `intraday` need.
"""

from __future__ import annotations

TYPICAL_WEEKDAY: tuple[float, ...] = (0.6, 1.1, 1.35, 1.3, 0.95, 1.05, 1.25, 1.1, 0.8, 0.5)
"""Relative inbound calls in each opening hour of a weekday, 08:00 to 18:00 (mean 1)."""

FLAT: tuple[float, ...] = (1.0,)
"""The same rate in every opening hour."""

PROFILES: dict[str, tuple[float, ...]] = {"typical_weekday": TYPICAL_WEEKDAY, "flat": FLAT}
"""The named intraday profiles a scenario may choose."""
