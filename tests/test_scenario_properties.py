"""Property tests of the scenario readers: whatever a file, a mapping or an override holds,
the result is a valid `Scenario` or a `ScenarioError` whose message is one bounded line —
never any other exception; and a valid scenario survives its own JSON and YAML dumps."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.errors import ScenarioError
from sim.scenario import (
    Scenario,
    load_scenario,
    parse_yaml,
    scenario_from_dict,
    with_overrides,
)
from sim.scenario.firm import CAPABILITIES

pytestmark = pytest.mark.slow  # many runs or subprocesses: `make test-fast` leaves them out

PROPERTY = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MAX_MESSAGE = 1_000

BASE = scenario_from_dict({"name": "prop", "months": 3, "market": {"size": 300}})
BASE_DATA = BASE.model_dump(mode="json")


def _paths(node: Any, prefix: str = "") -> list[str]:
    """Every dotted path of a scenario's data (list items by index)."""
    found = []
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        path = f"{prefix}{key}"
        found.append(path)
        if isinstance(value, dict | list) and value:
            found += _paths(value, path + ".")
    return found


PATHS = sorted(_paths(BASE_DATA))

# YAML-ish text: syntax characters, pieces of scenario files and odd characters.
SNIPPETS = [
    "\n", "  ", ": ", "- ", "[", "]", "{", "}", ", ", "&a ", "*a", "&b ", "*b", "<<: ", "? ",
    "'", '"', "#", "|\n", ">\n", "!!binary ", "!!set ", "!!omap ", "!!python/tuple ", "!x ",
    "---\n", "...\n", "~", "null", "true", "yes", "off", ".inf", "-.inf", ".nan", "1e3",
    "0x1f", "0o17", "1_000", "1:30", "2001-12-14", "2001-13-45", "12", "-3", "0.333333",
    "name: ", "months: ", "seed: ", "market:\n  size: ", "  segments:\n    - name: ",
    "share: ", "touchpoints:\n  t: {stage: use, drivers: {", "technology: ", "journeys: ",
    "firm:\n  capabilities:\n    ", "extends: ", "base.yaml", "description: ", "\t", "\x00",
    "\x85", "\u2028", "\ufeff", "é", "\U0001f600", "\\", "%YAML 1.1\n", "@", "`",
]  # fmt: skip
yaml_text = st.lists(st.one_of(st.sampled_from(SNIPPETS), st.text(max_size=6)), max_size=40).map(
    "".join
)

json_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["use", "standard", "advertising", "technology", "initial", "simpy"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=8) | st.sampled_from(PATHS), children, max_size=4)
    ),
    max_leaves=12,
)


def check(call) -> Scenario | None:
    """Run `call`: a Scenario, or a ScenarioError with one bounded printable line."""
    try:
        result = call()
    except ScenarioError as error:
        message = str(error)
        assert len(message) <= MAX_MESSAGE, message
        assert message.isprintable(), message  # no line breaks or control characters
        return None
    assert isinstance(result, Scenario)
    return result


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Put `value` at a dotted path, creating mappings (list items by index)."""
    keys = dotted.split(".")
    node: Any = data
    for key in keys[:-1]:
        if isinstance(node, list):
            index = int(key) if key.isdecimal() and int(key) < len(node) else None
            if index is None:
                return
            node = node[index]
        else:
            if not isinstance(node.get(key), dict | list):
                node[key] = {}
            node = node[key]
    if isinstance(node, dict):
        node[keys[-1]] = value
    elif keys[-1].isdecimal() and int(keys[-1]) < len(node):
        node[int(keys[-1])] = value


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("property_files")


@PROPERTY
@given(text=yaml_text, named=st.booleans(), raw=st.booleans())
def test_any_file_text_gives_a_scenario_or_one_line(folder, text, named, raw):
    file = folder / "case.yaml"
    body = ("name: x\n" + text) if named else text
    file.write_bytes(body.encode("utf-8", "surrogatepass") if raw else body.encode("utf-8"))
    check(lambda: load_scenario(file))


@PROPERTY
@given(changes=st.lists(st.tuples(st.sampled_from(PATHS) | st.text(max_size=10), json_like),
                        max_size=4))  # fmt: skip
def test_any_values_merged_into_a_valid_scenario_give_a_scenario_or_one_line(changes):
    data = copy.deepcopy(BASE_DATA)
    for dotted, value in changes:
        _set(data, dotted, value)
    check(lambda: scenario_from_dict(data))


@PROPERTY
@given(changes=st.dictionaries(st.sampled_from(PATHS) | st.text(max_size=10), json_like,
                               max_size=3))  # fmt: skip
def test_any_with_overrides_give_a_scenario_or_one_line(changes):
    check(lambda: with_overrides(BASE, changes))


override_text = st.one_of(
    st.text(max_size=40),
    st.tuples(st.sampled_from(PATHS) | st.text(max_size=12), yaml_text).map("=".join),
    st.tuples(
        st.sampled_from([f"firm.capabilities.{c}" for c in CAPABILITIES] + PATHS), json_like
    ).map(lambda pair: f"{pair[0]}={pair[1]!r}"),
)


@PROPERTY
@given(overrides=st.lists(override_text, min_size=1, max_size=3))
def test_any_set_strings_give_a_scenario_or_one_line(overrides):
    check(lambda: scenario_from_dict(BASE_DATA, source="base.yaml", overrides=overrides))


valid_changes = st.fixed_dictionaries(
    {},
    optional={
        "months": st.integers(1, 600),
        "seed": st.integers(0, 2**63 - 1),
        "replications": st.integers(1, 100_000),
        "market.size": st.integers(1, 100_000_000),
        "market.initial_customers": st.floats(0, 1),
        "market.segments": st.floats(0.01, 0.99).map(
            lambda p: [{"name": "a", "share": p}, {"name": "b", "share": 1 - p}]
        ),
        "market.segments.0.revenue_per_month": st.floats(0, 1e12),
        "market.segments.0.contract_months": st.integers(0, 120),
        "firm.capabilities.technology": st.floats(0, 5) | st.integers(0, 5),
        "firm.capabilities.culture": st.floats(0, 5),
        "firm.noise_sd": st.floats(0, 0.5),
        "firm.dynamics.floor": st.just("initial") | st.floats(0, 5),
        "firm.maturity.thresholds": st.lists(st.floats(0, 5), min_size=4, max_size=4).map(sorted),
        "firm.personalisation.enabled": st.booleans(),
        "firm.personalisation.forced_incident_months": st.lists(st.integers(1, 600), max_size=3),
        "support.mode": st.sampled_from(["simpy", "erlang", "service_level"]),
        "support.contact_centre.patience_seconds": st.none() | st.floats(1, 86_400),
        "acquisition.word_of_mouth": st.sampled_from(["net_promoters", "customers"]),
        "description": st.text(max_size=30),
    },
)


@PROPERTY
@given(changes=valid_changes)
def test_a_valid_scenario_survives_its_json_dump(changes):
    scenario = with_overrides(BASE, changes)
    again = scenario_from_dict(scenario.model_dump(mode="json"))
    assert again == scenario and again.sha256 == scenario.sha256


@settings(PROPERTY, max_examples=25)  # reading a whole scenario's YAML takes a while
@given(changes=valid_changes)
def test_a_valid_scenario_survives_its_yaml_dump(changes):
    scenario = with_overrides(BASE, changes)
    assert scenario_from_dict(parse_yaml(scenario.to_yaml())).sha256 == scenario.sha256
