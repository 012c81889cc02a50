"""Scenario files: defaults, inheritance, overrides and every kind of bad input."""

from __future__ import annotations

import pytest

from sim.errors import ScenarioError
from sim.firm_config import CAPABILITIES
from sim.results import PROJECT_ROOT
from sim.scenario import load_scenario, scenario_from_dict, with_overrides

SCENARIOS = PROJECT_ROOT / "scenarios"

MINIMAL = "name: tiny\nmonths: 6\nmarket: {size: 500}\n"


def test_minimal_file_gets_every_default(scenario_file):
    scenario = load_scenario(scenario_file(MINIMAL))
    assert scenario.months == 6 and scenario.market.size == 500
    assert scenario.market.segments[0].churn_per_month == 0.015
    assert set(scenario.firm.capabilities) == set(CAPABILITIES)
    assert scenario.behaviour.satisfaction.loss_aversion == 2.0
    assert "support_contact" in scenario.journeys["standard"]


def test_name_defaults_to_file_stem(scenario_file):
    scenario = load_scenario(scenario_file("months: 3\n", name="my_case.yaml"))
    assert scenario.name == "my_case"


def test_scenario_is_frozen_and_hash_is_stable():
    a = load_scenario(SCENARIOS / "baseline.yaml")
    b = load_scenario(SCENARIOS / "baseline.yaml")
    assert a.sha256 == b.sha256 and len(a.sha256) == 64
    with pytest.raises(Exception, match="frozen"):
        a.months = 3
    assert with_overrides(a, {"months": 12}).sha256 != a.sha256


def test_library_scenarios_are_valid():
    files = sorted(SCENARIOS.glob("*.yaml"))
    assert len(files) >= 3
    names = {load_scenario(f).name for f in files}
    assert {"baseline", "service_excellence", "digital_first"} <= names


def test_extends_merges_mappings_and_keeps_the_rest():
    base = load_scenario(SCENARIOS / "baseline.yaml")
    alt = load_scenario(SCENARIOS / "service_excellence.yaml")
    assert alt.firm.capabilities["culture"] == 3.5
    assert alt.firm.capabilities["technology"] == base.firm.capabilities["technology"]
    assert alt.market == base.market and alt.journeys == base.journeys


def test_overrides_by_path_and_by_segment_name():
    scenario = load_scenario(
        SCENARIOS / "baseline.yaml",
        ["months=12", "market.segments.premium.churn_per_month=0.02", "firm.noise_sd=0.05"],
    )
    assert scenario.months == 12 and scenario.firm.noise_sd == 0.05
    assert scenario.market.segments[1].churn_per_month == 0.02


def test_validate_prints_resolved_yaml_roundtrip(scenario_file):
    scenario = load_scenario(scenario_file(MINIMAL))
    again = load_scenario(scenario_file(scenario.to_yaml(), name="again.yaml"))
    assert again == scenario


BAD = [
    ("malformed", "name: x\nmarket: {size: 10\n", "", "malformed YAML"),
    ("unknown key", "name: x\nmonthz: 3\n", "monthz", "unknown key; allowed keys: name"),
    ("nested unknown key", "name: x\nmarket: {sise: 3}\n", "market.sise", "allowed keys: size"),
    ("wrong type", "name: x\nmonths: many\n", "months", "integer"),
    ("negative", "name: x\nmarket: {size: -5}\n", "market.size", "greater than or equal to 1"),
    (
        "probability above one",
        "name: x\nsupport: {first_contact_resolution: 1.5}\n",
        "support.first_contact_resolution",
        "less than or equal to 1",
    ),
    (
        "shares",
        "name: x\nmarket:\n  segments:\n    - {name: a, share: 0.5}\n    - {name: b, share: 0.2}\n",
        "market.segments.*.share",
        "sum to 1",
    ),
    (
        "unknown capability",
        "name: x\ntouchpoints:\n  t: {stage: use, drivers: {magic: 1}}\n"
        "journeys: {standard: [t]}\n",
        "touchpoints.t.drivers.magic",
        "experience_strategy",
    ),
    (
        "unknown touchpoint",
        "name: x\njourneys: {standard: [advertising, teleport]}\n",
        "journeys.standard.1",
        "unknown touchpoint",
    ),
    (
        "unknown journey",
        "name: x\nmarket:\n  segments: [{name: a, journey: vip}]\n",
        "market.segments.0.journey",
        "unknown journey",
    ),
    (
        "unknown stage",
        "name: x\ntouchpoints: {t: {stage: lunch}}\n",
        "touchpoints.t.stage",
        "awareness",
    ),
    ("not a mapping", "- 1\n- 2\n", "", "YAML mapping"),
]


@pytest.mark.parametrize(("case", "text", "path", "allowed"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_names_file_path_value_and_allowed(scenario_file, case, text, path, allowed):
    file = scenario_file(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    error = info.value
    assert error.source == str(file)
    assert error.path == path
    assert allowed in str(error)
    assert str(file) in str(error)


def test_missing_file():
    with pytest.raises(ScenarioError, match="does not exist"):
        load_scenario("scenarios/no_such_file.yaml")


@pytest.mark.parametrize(
    ("override", "path", "message"),
    [
        ("market.sizze=3", "market.sizze", "no such field; allowed:"),
        ("market.segments.gold.share=1", "market.segments.gold", "allowed: 0, 1, mainstream"),
        ("months=-1", "months", "greater than or equal to 1"),
        ("months", "", "dotted.path=value"),
        ("months.x=1", "months.x", "below a plain value"),
    ],
)
def test_bad_overrides(override, path, message):
    with pytest.raises(ScenarioError) as info:
        load_scenario(SCENARIOS / "baseline.yaml", [override])
    assert info.value.path == path
    assert message in str(info.value)
    assert "--set" in str(info.value)


def test_extends_cycle_and_missing_parent(scenario_file):
    scenario_file("extends: b.yaml\n", name="a.yaml")
    b = scenario_file("extends: a.yaml\n", name="b.yaml")
    with pytest.raises(ScenarioError, match="cycle"):
        load_scenario(b)
    orphan = scenario_file("extends: nowhere.yaml\n", name="orphan.yaml")
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(orphan)


def test_scenario_from_dict_rejects_duplicate_segment_names():
    with pytest.raises(ScenarioError, match="unique"):
        scenario_from_dict({"name": "x", "market": {"segments": [{"name": "a", "share": 0.5}] * 2}})
