"""Paired sweeps: every sample of a sweep run as a base and an alternative on common random
numbers, recording what the alternative changes.

A sweep file with ``compare: {alternative: …}`` asks "across these assumptions, where does
the alternative pay?" rather than "what happens under these assumptions?". Each run (one
sample × one replication) simulates the base and the alternative on the same seed and
replication stream, so person i draws the same numbers for the same purpose in both runs and
the difference carries little noise: the pairing of `sim.experiments.runs.compare`, one
replication at a time. A run records (`paired_outcome_names`):

- the returns of the alternative's extra investment (`RETURN_OUTCOMES`, computed by
  `sim.experiments.runs.investment_returns` as `compare` computes them): ``incremental_npv``
  (cu, present value, investment deducted), ``roi`` (net return per cu of extra capability
  investment, present values; NaN where the alternative invests no more than the base) and
  ``payback_month`` (NaN where the cumulative gain is negative at the horizon);
- ``delta_<o>`` = alternative − base for every outcome o of
  `sim.metrics.replication_outcomes`, in o's unit;
- on request only, ``base_<o>`` and ``alternative_<o>``, each scenario's own outcome.

The alternative is a scenario file or overrides of the base (``{set: {path: value}}``).
Every sample's parameter values apply to both scenarios, so both face the same assumptions;
a parameter whose path starts with ``alternative.`` applies to the alternative alone, so
the size of the investment itself can be swept. Both scenarios must have the same market:
the same people, so that the same random numbers mean the same customers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.errors import ScenarioError
from sim.experiments.runs import investment_returns, run_replication
from sim.metrics import RETURNS, replication_outcomes
from sim.scenario import Scenario, validation_error, with_overrides

ALTERNATIVE = "alternative."
"""Prefix of a sweep parameter that applies to the alternative alone."""
RETURN_OUTCOMES = ("incremental_npv", *RETURNS)
"""The returns of the alternative's extra investment, in the order of `investment_returns`."""
DELTA, BASE_LEVEL, ALTERNATIVE_LEVEL = "delta_", "base_", "alternative_"
"""Prefixes of a paired outcome: alternative − base, the base's own value, the
alternative's own value."""
PREFIXES = (DELTA, BASE_LEVEL, ALTERNATIVE_LEVEL)
SCENARIO_COLUMN = "scenario"
"""The time-series column that says which run a month belongs to (``base`` or
``alternative``)."""
SHARED_MARKET = "market"
"""The section both scenarios must share for the comparison to be paired."""


class AlternativeSet(BaseModel):
    """The alternative as overrides of the sweep's base (after the sweep's `set`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    fixed: dict[str, Any] = Field(alias="set")
    """Dotted scenario paths and their values in the alternative."""


class CompareSpec(BaseModel):
    """A sweep file's ``compare:`` field: what each sample's base is compared with."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    alternative: str | dict[str, Any]
    """A scenario file (.yaml or .yml, relative to the sweep file) or ``{set: {…}}``,
    overrides of the base (checked by `alternative_overrides`)."""


def alternative_overrides(compare: CompareSpec, source: str) -> dict[str, Any] | None:
    """The overrides that make the alternative from the base, or None for a file.

    Raises:
        ScenarioError: the mapping is not ``{set: {path: value, …}}``, reported at
            ``compare.alternative.<key>``.
    """
    given = compare.alternative
    if isinstance(given, str):
        return None
    try:
        return dict(AlternativeSet.model_validate(given).fixed)
    except ValidationError as exc:
        error = validation_error(exc, given, source, AlternativeSet)
    path = ".".join(p for p in ("compare.alternative", error.path) if p)
    raise ScenarioError(source, path, error.value, error.allowed)


def paired_outcome_names(outcomes: Sequence[str], levels: bool = False) -> list[str]:
    """The outcomes of a paired run: the returns, then ``delta_<o>`` for each of `outcomes`
    (a run's own outcomes, `replication_outcomes`); with `levels`, also ``base_<o>`` and
    ``alternative_<o>``."""
    prefixes = PREFIXES if levels else (DELTA,)
    return [*RETURN_OUTCOMES, *(f"{p}{o}" for p in prefixes for o in outcomes)]


def split_values(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A sample's values as (applied to both scenarios, applied to the alternative alone,
    with the ``alternative.`` prefix removed)."""
    shared = {k: v for k, v in values.items() if not k.startswith(ALTERNATIVE)}
    own = {k.removeprefix(ALTERNATIVE): v for k, v in values.items() if k.startswith(ALTERNATIVE)}
    return shared, own


def paired_outcomes(base: pd.DataFrame, alternative: pd.DataFrame) -> dict[str, float]:
    """Every paired outcome (`paired_outcome_names` with levels) of one replication.

    Args:
        base: the base's time series (one replication).
        alternative: the alternative's, same seed and replication.
    """
    own, other = replication_outcomes(base), replication_outcomes(alternative)
    outcomes = investment_returns(base, alternative)
    outcomes |= {f"{DELTA}{o}": other[o] - own[o] for o in own}
    outcomes |= {f"{BASE_LEVEL}{o}": own[o] for o in own}
    return outcomes | {f"{ALTERNATIVE_LEVEL}{o}": other[o] for o in other}


def run_pair(
    base: Scenario,
    alternative: Scenario,
    values: Mapping[str, Any],
    seed: int,
    replication: int,
) -> tuple[dict[str, float], pd.DataFrame]:
    """Run one sample's base and alternative on the same seed and replication.

    Returns:
        The paired outcomes, and both time series in one table (base months first), told
        apart by `SCENARIO_COLUMN`.

    Raises:
        ScenarioError: a value the base or the alternative rejects.
    """
    shared, own = split_values(values)
    scenarios = {
        "base": with_overrides(base, shared),
        "alternative": with_overrides(alternative, shared | own),
    }
    series = {
        name: run_replication(scenario, seed, replication)[0].assign(**{SCENARIO_COLUMN: name})
        for name, scenario in scenarios.items()
    }
    outcomes = paired_outcomes(series["base"], series["alternative"])
    table = pd.concat(series.values(), ignore_index=True)
    return outcomes, table[[SCENARIO_COLUMN, *(c for c in table if c != SCENARIO_COLUMN)]]


def differences(base: Any, alternative: Any, prefix: str = "") -> list[str]:
    """The dotted paths at which two scenarios' data (`Scenario.model_dump`) differ; lists of
    different lengths differ as a whole."""
    if isinstance(base, dict) and isinstance(alternative, dict):
        keys = [*base, *(k for k in alternative if k not in base)]
        return [
            path
            for k in keys
            for path in differences(base.get(k), alternative.get(k), f"{prefix}{k}.")
        ]
    if isinstance(base, list) and isinstance(alternative, list) and len(base) == len(alternative):
        return [
            path
            for i, (a, b) in enumerate(zip(base, alternative, strict=True))
            for path in differences(a, b, f"{prefix}{i}.")
        ]
    return [] if base == alternative else [prefix.rstrip(".")]


def check_alternative_parameter(name: str, paired: bool, source: str) -> None:
    """Refuse an ``alternative.`` parameter in a sweep without ``compare``, and one that
    would change the alternative's market.

    Raises:
        ScenarioError: at ``parameters.<name>``.
    """
    own = name.removeprefix(ALTERNATIVE)
    if own == name:
        return
    if not paired:
        allowed = (
            f"a path starting with '{ALTERNATIVE}' varies the alternative of a paired sweep; "
            "add compare: {alternative: …}"
        )
    elif own.split(".")[0] == SHARED_MARKET:
        allowed = (
            "the alternative shares the base's market; vary the market without "
            f"'{ALTERNATIVE}' (both scenarios then face it)"
        )
    else:
        return
    raise ScenarioError(source, f"parameters.{name}", name, allowed)


def check_pair(base: Scenario, alternative: Scenario, varied: bool, source: str) -> None:
    """Refuse an alternative that cannot be paired with the base.

    Args:
        base, alternative: both scenarios with the sweep's `set` and horizon applied.
        varied: whether the sweep has ``alternative.`` parameters.
        source: the sweep file, for the message.

    Raises:
        ScenarioError: at ``compare.alternative``: the markets differ (the runs would not
            share their people, so not their random numbers), or the alternative is the base
            itself and no parameter varies it.
    """
    ignored = {"name", "description", "seed", "replications"}
    changed = differences(
        base.model_dump(mode="json", exclude=ignored),
        alternative.model_dump(mode="json", exclude=ignored),
    )
    market = [p for p in changed if p.split(".")[0] == SHARED_MARKET]
    if market:
        shown = ", ".join(market[:3]) + (", …" if len(market) > 3 else "")
        raise ScenarioError(
            source,
            "compare.alternative",
            None,
            f"the alternative's market differs from the base's ({shown}); a paired "
            "comparison needs the same market (the same people on the same random numbers): "
            "give market values in the sweep's set, which applies to both",
        )
    if not changed and not varied:
        raise ScenarioError(
            source,
            "compare.alternative",
            None,
            "the alternative is the base itself; change something in it, or vary it with "
            "'alternative.' parameters",
        )
