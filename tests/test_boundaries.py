"""Every boundary value of every scenario field runs, or the schema refuses it.

The cases are discovered from the schema itself: `Scenario` is walked through its pydantic
fields (nested sections, the baseline's first segment, two touchpoints, each capability,
list and tuple items) and every number with a finite bound is tried at that bound — the
bound itself for ``ge``/``le``, a hair inside it for ``gt``/``lt``, and a large finite
value for a number unbounded above — as well as every choice of a ``Literal``, both values
of a flag and ``None`` for an optional field. Each value runs a tiny version of the baseline
(300 people, 3 months, one replication).

A `ScenarioError` is an acceptable outcome (a cross-field rule excludes the value); any
other exception is a failure, and so is a non-finite number where a finite one is expected:
infinity anywhere in the tables, NaN in a money or count column. The CLV estimate may be
NaN where it is undefined (no discounting and no churn in the month, docs/model.md §13.1).

Settings that only act when a switch is on are tried with the switch on (personalisation
enabled, a budget and an investment line, transformative maturity with monthly reviews, the
service-level desk for its mean wait, each network kind for the network parameters), and
the support settings with both queueing desks (Erlang and SimPy). Values that a cross-field
rule would refuse alone are tried with what keeps the rule: the other shares making up the
rest, thresholds kept increasing, a market larger than the mean degree. Each distinct
scenario runs once with the vector engine and, unless only code both engines share acts on
it (the firm's side, the desk, the accounts), once with the agents engine.
"""

from __future__ import annotations

import copy
import functools
import math
import types
import typing
from collections.abc import Iterator
from typing import Annotated, Any, Literal, get_args, get_origin

import annotated_types
import numpy as np
import pandas as pd
import pytest
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from sim.customers import rules
from sim.errors import ScenarioError
from sim.experiments.runs import RunResult, run
from sim.firm.economics import FIRM_COST_LINES
from sim.results import PROJECT_ROOT
from sim.scenario import Scenario, load_scenario, with_overrides
from sim.support.contact_centre import _palm
from sim.support.contact_centre.erlang import erlang_a

pytestmark = pytest.mark.slow  # many runs or subprocesses: `make test-fast` leaves them out

TINY = {
    "market.size": 300,
    "months": 3,
    "replications": 1,
    "support.mode": "erlang",
    # a 300-person market makes a few contacts a month: over 20 opening hours they arrive
    # at a sixth of the baseline's rate (1.6 an hour), and a simulated period of the contact
    # centre (mode simpy) holds the fewest contacts allowed, to stay short
    "support.contact_centre.hours_per_month": 20.0,
    "support.contact_centre.min_simulated_contacts": 50,
    "support.contact_centre.max_simulated_contacts": 50,
}
"""The baseline shrunk to a run of a few hundredths of a second. Support runs on the Erlang
desk, the support settings also on the simulated (SimPy) desk."""

LARGE = 1e6
"""Value tried for a number without an upper bound."""

EPSILON = 1e-9
"""Distance inside an open bound (``gt``, ``lt``)."""

SEGMENT = "mainstream"
TOUCHPOINTS = ("advertising", "product_use")
"""The first touchpoint (met on joining) and the one every customer meets each month."""

SAMPLES: dict[str, Any] = {
    "firm.investments": [{"capability": "culture", "per_month": 20_000.0}],
    "firm.budget.allocation": {"technology": 0.5, "processes": 0.5},
}
"""Example entries for collections the baseline leaves empty, so their items are walked."""

SWITCHES: dict[str, dict[str, Any]] = {
    "firm.investments.": {"firm.investments": SAMPLES["firm.investments"]},
    "firm.investments.0.per_year": {"firm.investments.0.per_month": None},
    "firm.budget.": {
        "firm.budget.per_month": 20_000.0,
        "firm.budget.allocation": SAMPLES["firm.budget.allocation"],
    },
    "firm.personalisation.": {"firm.personalisation.enabled": True},
    "firm.maturity.": {
        "firm.maturity.level": "transformative",
        "firm.maturity.review_every_months": 1.0,
    },
    "support.mean_wait_minutes": {"support.mode": "service_level"},
    "market.network.rewiring": {"market.network.kind": "watts_strogatz"},
}
"""Overrides that switch on what a field acts on, by path prefix (the field's own value is
applied after them). Maturity `level` and `thresholds` are tried without the switch."""

NO_SWITCH = ("firm.maturity.level", "firm.maturity.thresholds", "firm.personalisation.enabled")

VARIANTS: dict[str, dict[str, dict[str, Any]]] = {
    "support.": {"simpy": {"support.mode": "simpy"}, "erlang": {"support.mode": "erlang"}},
    "market.network.mean_degree": {
        kind: {"market.network.kind": kind}
        for kind in ("erdos_renyi", "watts_strogatz", "barabasi_albert")
    },
}
"""Fields tried under each of several settings, by path prefix."""

NO_VARIANT = ("support.mode", "support.mean_wait_minutes")

FIRM_SIDE = ("seed", "replications", "economics.", "firm.", "support.contact_centre.")
CUSTOMER_SIDE = ("firm.personalisation.", "firm.maturity.")
"""Settings that act only on the firm's side of the month (the firm, the desk, the accounts:
code both engines share) run with the vector engine; the rest with both engines."""

VECTOR_ONLY = {"months": 600}
"""Values too slow for the agents engine in a unit test (600 months take 20 s)."""

MONEY = (
    "revenue",
    "margin",
    "acquisition_cost",
    "support_cost",
    "fixed_cost",
    "total_cost",
    "profit",
    "discounted_profit",
    "npv_to_date",
    "discount_factor",
    *FIRM_COST_LINES,
)
COUNTS = ("active_start", "active", "churned", "acquired", "contacts", "problems")
OUTCOME_MONEY = (
    "revenue_total",
    "profit_total",
    "profit_npv",
    "investment_total",
    "investment_pv",
    "active",
    "churned_total",
    "acquired_total",
)


# ------------------------------------------------------------------ walking the schema


def _unwrap(annotation: Any, metadata: list[Any]) -> tuple[Any, list[Any]]:
    """Strip `Annotated` layers, gathering their constraints."""
    while get_origin(annotation) is Annotated:
        base, *extra = get_args(annotation)
        for item in extra:
            metadata = [*metadata, *(item.metadata if isinstance(item, FieldInfo) else [item])]
        annotation = base
    return annotation, metadata


def _bound_values(kind: type, metadata: list[Any]) -> list[float | int]:
    """The values at a number's bounds (a large one when unbounded above)."""
    step = 1 if kind is int else EPSILON
    low = high = None
    for constraint in metadata:
        if isinstance(constraint, annotated_types.Ge):
            low = constraint.ge
        elif isinstance(constraint, annotated_types.Gt):
            low = constraint.gt + step
        elif isinstance(constraint, annotated_types.Le):
            high = constraint.le
        elif isinstance(constraint, annotated_types.Lt):
            high = constraint.lt - step
    if high is None:
        high = int(LARGE) if kind is int else LARGE
    values = [] if low is None else [low]
    return [kind(v) for v in [*values, high]]


def _walk(annotation: Any, metadata: list[Any], path: str, current: Any) -> Iterator[tuple]:
    """(path, value) cases of one field, recursing into sections and collections."""
    current = SAMPLES.get(path, current)
    annotation, metadata = _unwrap(annotation, metadata)
    origin = get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in get_args(annotation):
            if arg is type(None):
                yield path, None
            else:
                yield from _walk(arg, metadata, path, current)
    elif origin is Literal:
        yield from ((path, choice) for choice in get_args(annotation))
    elif annotation is bool:
        yield from ((path, flag) for flag in (False, True))
    elif annotation in (int, float):
        yield from ((path, value) for value in _bound_values(annotation, metadata))
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, info in annotation.model_fields.items():
            value = current.get(name) if isinstance(current, dict) else None
            yield from _walk(info.annotation, list(info.metadata), f"{path}.{name}", value)
    elif origin is list:
        (item,) = get_args(annotation)
        item_type, _ = _unwrap(item, [])
        if isinstance(item_type, type) and issubclass(item_type, BaseModel):
            for i, element in enumerate(current or []):
                if path == "market.segments" and element["name"] != SEGMENT:
                    continue
                key = element["name"] if path == "market.segments" else str(i)
                yield from _walk(item, [], f"{path}.{key}", element)
        elif item_type in (int, float):  # a list of numbers: one item at each bound
            yield from ((p, [v]) for p, v in _walk(item, [], path, None))
    elif origin is tuple:
        for i, (item, value) in enumerate(zip(get_args(annotation), current, strict=True)):
            yield from _walk(item, [], f"{path}.{i}", value)
    elif origin is dict:
        key_type, value_type = get_args(annotation)
        if get_origin(_unwrap(key_type, [])[0]) is Literal:  # e.g. capability levels
            for key in current:
                yield from _walk(value_type, [], f"{path}.{key}", current[key])
        elif path == "touchpoints":
            for key in TOUCHPOINTS:
                yield from _walk(value_type, [], f"{path}.{key}", current[key])
    # text (names, descriptions, journeys) has no numeric boundary


def _setting(path: str, table: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(prefix, item) for prefix, item in table.items() if (path + ".").startswith(prefix)]


def _overrides(path: str, value: Any, base: Scenario) -> dict[str, Any]:
    """The case's overrides: switches first, then what keeps the cross-field rules (shares
    summing to one, increasing thresholds, a market larger than the mean degree), the
    field's own value last."""
    overrides: dict[str, Any] = {}
    if not path.startswith(NO_SWITCH):
        for _, switch in sorted(_setting(path, SWITCHES)):
            overrides |= switch
    parent, _, key = path.rpartition(".")
    if path == f"market.segments.{SEGMENT}.share":
        # the other segments make up the rest; a share of 1 leaves this segment alone
        segments = base.market.segments
        if value < 1.0:
            shares = {s.name: s.share for s in segments}
            for name, share in _rest(shares, SEGMENT, value).items():
                overrides[f"market.segments.{name}.share"] = share
        else:
            overrides["market.segments"] = [
                s.model_dump(mode="json") for s in segments if s.name == SEGMENT
            ]
    elif parent == "firm.budget.allocation":
        allocation = SAMPLES[parent]
        overrides[parent] = allocation | _rest(allocation, key, value) | {key: value}
    elif parent == "firm.maturity.thresholds":
        i, old = int(key), base.firm.maturity.thresholds
        overrides[parent] = [min(t, value) if j < i else max(t, value) for j, t in enumerate(old)]
    elif path == "market.network.mean_degree" and value >= base.market.size:
        overrides["market.size"] = value + 1
    overrides.pop(path, None)
    return overrides | {path: value}


def _rest(shares: dict[str, float], key: str, value: float) -> dict[str, float]:
    """The other shares, scaled to make up 1 − `value` together."""
    others = {k: v for k, v in shares.items() if k != key}
    total = sum(others.values())
    return {k: v / total * (1.0 - value) for k, v in others.items()}


@functools.cache
def _base() -> Scenario:
    return with_overrides(load_scenario(PROJECT_ROOT / "scenarios" / "baseline.yaml"), TINY)


def _cases() -> list[tuple[str, str, Any, dict[str, Any]]]:
    base = _base()
    data = base.model_dump(mode="json")
    cases: dict[str, tuple[str, str, Any, dict[str, Any]]] = {}
    for name, info in Scenario.model_fields.items():
        for path, value in _walk(info.annotation, list(info.metadata), name, data.get(name)):
            variants = [] if path.startswith(NO_VARIANT) else _setting(path, VARIANTS)
            for label, extra in variants[0][1].items() if variants else [("", {})]:
                overrides = extra | _overrides(path, value, base)
                case_id = f"{path}={value!r}" + (f"[{label}]" if label else "")
                cases.setdefault(case_id, (case_id, path, value, overrides))
    return list(cases.values())


def _distinct(cases: list[tuple[str, str, Any, dict[str, Any]]]) -> list[tuple]:
    """The cases less those that leave the scenario as an earlier case made it (a default,
    or the base's own value): each distinct scenario runs once."""
    seen, kept = set(), []
    for case in cases:
        try:
            key = with_overrides(_base(), copy.deepcopy(case[3])).sha256
        except ScenarioError:
            key = case[0]  # refused: checked on its own
        if key not in seen:
            seen.add(key)
            kept.append(case)
    return kept


CASES = _cases()
RUNS = _distinct(CASES)

STAND_INS = {"market.size": 200_000}
"""Largest values run in a unit test; a larger value that fits the schema runs at this one
instead: a market of a hundred million people is a job for a large machine (the agents
engine refuses more than 200,000 people with a `ScenarioError`)."""


def _engines(path: str, value: Any, overrides: dict[str, Any]) -> list[str]:
    customer_side = path.startswith(CUSTOMER_SIDE) or not path.startswith(FIRM_SIDE)
    simulated_desk = overrides.get("support.mode") == "simpy"
    large = overrides.get("market.size", 0) > 1000  # a dense network of 1,001 people
    if customer_side and not simulated_desk and not large and VECTOR_ONLY.get(path) != value:
        return ["vector", "agents"]
    return ["vector"]


# ------------------------------------------------------------------ checks


def _no_infinity(frame: pd.DataFrame, table: str) -> None:
    numbers = frame.select_dtypes("number")
    bad = [c for c in numbers if np.isinf(numbers[c].to_numpy(dtype=float)).any()]
    assert not bad, f"{table}: infinite values in {bad}"


def _finite(frame: pd.DataFrame, columns: tuple[str, ...], table: str) -> None:
    bad = [c for c in columns if c in frame and not np.isfinite(frame[c].to_numpy(float)).all()]
    assert not bad, f"{table}: non-finite values in {bad}"


def _check(result: RunResult) -> None:
    discount = result.scenario.economics.discount_rate_per_year
    for table in ("timeseries", "touchpoints", "segments", "outcomes", "summary"):
        _no_infinity(getattr(result, table), table)
    ts = result.timeseries
    _finite(ts, MONEY + COUNTS, "timeseries")
    _finite(result.outcomes, OUTCOME_MONEY, "outcomes")
    _finite(result.segments, ("active_start", "churned", "revenue", "margin"), "segments")
    # CLV is undefined (NaN) only without discounting in a month without churn, or (per
    # segment) in a segment-month without customers
    undefined = (discount == 0) & (ts["churn_rate"] == 0)
    assert np.isfinite(ts.loc[~undefined, "clv"]).all(), "timeseries: CLV not finite"
    seg = result.segments
    stayers = seg["active_start"] - seg["churned"]
    defined = (stayers > 0) & ~((discount == 0) & (seg["churned"] == 0))
    assert np.isfinite(seg.loc[defined, "clv"]).all(), "segments: CLV not finite"


def _run_case(overrides: dict[str, Any], engine: str) -> RunResult | None:
    overrides = copy.deepcopy(overrides)  # setting a path below an override changes it
    try:
        scenario = with_overrides(_base(), overrides)
    except ScenarioError:
        return None  # excluded by the schema's cross-field rules
    replace = {p: v for p, v in STAND_INS.items() if p in overrides and overrides[p] > v}
    if replace and engine == "vector":
        scenario = with_overrides(scenario, replace)
    try:
        return run(scenario, replications=1, engine=engine)
    except ScenarioError:
        return None  # e.g. a market too large for the agents engine


@pytest.mark.parametrize(
    ("engine", "overrides"),
    [
        pytest.param(engine, o, id=f"{engine}-{i}")
        for i, p, v, o in RUNS
        for engine in _engines(p, v, o)
    ],
)
def test_boundary_value_runs_or_is_refused(engine, overrides):
    result = _run_case(overrides, engine)
    if result is not None:
        _check(result)


def test_walk_reaches_every_kind_of_field():
    paths = {path for _, path, _, _ in CASES}
    assert "economics.discount_rate_per_year" in paths
    assert f"market.segments.{SEGMENT}.contract_months" in paths
    assert "touchpoints.advertising.drivers.experience_strategy" in paths
    assert "firm.capabilities.culture" in paths
    assert "firm.investments.0.per_year" in paths
    assert "firm.maturity.thresholds.3" in paths
    assert "firm.personalisation.forced_incident_months" in paths
    values = {(path, repr(value)) for _, path, value, _ in CASES}
    assert ("support.contact_centre.patience_seconds", "None") in values
    assert ("firm.dynamics.floor", "'initial'") in values
    assert ("support.mode", "'simpy'") in values
    assert len(CASES) > 300


def test_bounds_are_the_limits_or_just_inside_them():
    ge, gt, le, lt = (
        annotated_types.Ge,
        annotated_types.Gt,
        annotated_types.Le,
        annotated_types.Lt,
    )
    assert _bound_values(float, [ge(0.0), le(1.0)]) == [0.0, 1.0]
    assert _bound_values(float, [gt(0.0), lt(1.0)]) == [EPSILON, 1.0 - EPSILON]
    assert _bound_values(int, [gt(0), lt(10)]) == [1, 9]
    assert _bound_values(float, [ge(0.0)]) == [0.0, LARGE]
    assert _bound_values(int, [ge(1)]) == [1, int(LARGE)]


def test_zero_discount_and_no_churn_gives_undefined_clv_not_a_crash():
    scenario = with_overrides(
        _base(),
        {
            "economics.discount_rate_per_year": 0.0,
            "market.segments.mainstream.churn_per_month": 0.0,
            "market.segments.premium.churn_per_month": 0.0,
            "behaviour.churn.renewal_max_leave": 0.0,
        },
    )
    result = run(scenario, replications=1)
    ts = result.timeseries
    assert (ts["churned"] == 0).all()
    assert ts["clv"].isna().all()
    assert np.isfinite(ts["profit"]).all()
    assert result.segments["clv"].isna().all()
    clv = result.summary.set_index("metric").loc["clv"]
    assert clv["n"] == 0 and math.isnan(clv["mean"])


def test_clv_is_undefined_only_without_discounting_and_churn():
    assert math.isnan(rules.customer_lifetime_value(24.0, 1.0, 0.0))
    assert math.isnan(rules.customer_lifetime_value(0.0, 1.0, 0.0))
    assert rules.customer_lifetime_value(24.0, 1.0, 0.01) == pytest.approx(2400.0)
    assert rules.customer_lifetime_value(24.0, 0.98, 0.0) == pytest.approx(24.0 * 0.98 / 0.02)
    assert rules.customer_lifetime_value(24.0, 0.0, 0.0) == 0.0


def test_erlang_a_far_beyond_its_agents_is_finite():
    # Erlang A of a centre offered a billion erlangs (a month's contacts in a microsecond of
    # opening): the queue law is held around its mode; almost every caller hangs up.
    m = erlang_a(5e9, 420.0, 1, 240.0)
    values = [getattr(m, name) for name in m.__dataclass_fields__]
    assert all(math.isfinite(v) for v in values)
    assert m.abandon_rate == pytest.approx(1.0 - 1.0 / m.offered_load_erlangs, rel=1e-6)
    assert m.mean_wait_seconds == pytest.approx(240.0 * m.abandon_rate, rel=1e-6)


@pytest.mark.parametrize(
    ("calls_per_hour", "aht", "agents", "patience"),
    [(5000, 420, 1, 240), (200, 180, 14, 300), (1e6, 420, 3, 240), (100, 420, 1, 86400)],
)
def test_erlang_a_queue_law_around_its_mode_is_the_whole_law(calls_per_hour, aht, agents, patience):
    lam, mu, theta = calls_per_hour / 3600.0, 1.0 / aht, 1.0 / patience
    status, busy, queue, first = _palm.palm_law(lam, mu, theta, agents, 20_000_000)
    assert status == _palm.HELD and first == 0  # within reach of the whole law
    # The same law summed only around its mode (no state summed from the start).
    w_status, w_busy, w_queue, w_first = _palm.palm_law(lam, mu, theta, agents, 20_000_000, 0)
    assert w_status == _palm.HELD
    whole = np.zeros(max(queue.size, w_first + w_queue.size))
    window = whole.copy()
    whole[: queue.size] = queue
    window[w_first : w_first + w_queue.size] = w_queue
    assert np.abs(busy - w_busy).max() < 1e-12
    assert np.abs(whole - window).max() < 1e-12
