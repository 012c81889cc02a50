"""The classroom's levers and model: every setting a page can send is a valid scenario, and
the page's numbers are `sim.run`'s numbers."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from test_notebook_runner import PROJECT_ROOT, cxm

import sim
from sim.classroom import levers
from sim.classroom.model import PEOPLE_GROUPS, Classroom
from sim.classroom.page import export_yaml, numbers_table
from sim.errors import ScenarioError
from sim.scenario import load_scenario

BASELINE = PROJECT_ROOT / "scenarios" / "baseline.yaml"
READY = sorted((PROJECT_ROOT / "scenarios").glob("*.yaml"))


def test_the_words_name_every_choice_the_schema_allows():
    from typing import get_args

    from sim.scenario.firm import CAPABILITIES, MATURITY_LEVELS, ORG_MODELS, SOURCING
    from sim.scenario.schema import Network

    assert list(levers.CAPABILITY_WORDS) == list(CAPABILITIES)
    assert list(levers.MATURITY_WORDS) == ["auto", *MATURITY_LEVELS]
    assert list(levers.ORG_WORDS) == list(ORG_MODELS)
    assert list(levers.SOURCING_WORDS) == list(SOURCING)
    assert list(levers.NETWORK_WORDS) == list(get_args(Network.model_fields["kind"].annotation))


def test_every_slider_stays_inside_its_fields_bounds():
    assert levers.check_levers() == []
    groups = {lever.group for lever in levers.LEVERS}
    assert groups == set(levers.GROUPS)
    assert len({lever.key for lever in levers.LEVERS}) == len(levers.LEVERS)


@pytest.mark.parametrize("path", READY, ids=[p.stem for p in READY])
def test_a_scenario_untouched_is_the_scenario_and_every_extreme_is_valid(path):
    """Settings read from a scenario give it back unchanged; each lever at each end of its
    range (each choice of a selector) gives a valid scenario with that value."""
    scenario = load_scenario(path)
    settings = levers.settings_of(scenario)
    assert levers.apply_settings(scenario, settings) is scenario
    for lever in levers.levers_for(scenario):
        values = list(lever.choices) if not lever.is_slider else [lever.low, lever.high]
        for value in values:
            changed = levers.apply_settings(scenario, {**settings, lever.key: value})
            if lever.key.startswith("invest_") and value == 0:
                assert changed is scenario
            elif lever.key != "market_size":
                assert levers.settings_of(changed)[lever.key] == value or lever.key.startswith(
                    "invest_"
                )


def test_levers_set_the_fields_they_name():
    scenario = load_scenario(BASELINE)
    settings = levers.settings_of(scenario) | {
        "market_size": "1000",
        "level_culture": 4.0,
        "invest_processes": 10_000.0,
        "maturity": "proactive",
        "organisation": "distributed",
        "agents": 3,
        "sourcing": "transactional_supplier",
        "survey_response": 0.5,
        "network": "watts_strogatz",
        "months": 12,
    }
    changed = levers.apply_settings(scenario, settings)
    assert changed.market.size == 1000
    assert changed.firm.capabilities["culture"] == 4.0
    assert changed.firm.capabilities["processes"] == 2.5
    assert [(i.capability, i.per_year, i.start_month) for i in changed.firm.investments] == [
        ("processes", 10_000.0, 1)
    ]
    assert changed.firm.maturity.level == "proactive"
    assert changed.firm.organisation.model == "distributed"
    assert changed.support.contact_centre.agents == 3
    assert changed.support.sourcing.option == "transactional_supplier"
    assert {s.survey_response for s in changed.market.segments} == {0.5}
    assert changed.market.network.kind == "watts_strogatz"
    assert changed.months == 12
    # the investment slider's top follows the market: 25 cu per person per year
    top = {lever.key: lever.high for lever in levers.levers_for(changed)}["invest_processes"]
    assert top == pytest.approx(levers.INVESTMENT_PER_PERSON_PER_YEAR * 1000)
    assert levers.apply_settings(
        scenario, {**settings, "agents": 0}
    ).support.contact_centre.agents == ("auto")


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("level_culture", 5.5, "allowed: 0 to 5 in steps of 0.25"),
        ("level_culture", "high", "allowed: 0 to 5"),
        ("agents", 2.5, "allowed: 0 to 40"),
        ("maturity", "heroic", "allowed: auto, reactive, managed"),
        ("colour", 1, "levers: market_size, months"),
    ],
)
def test_a_value_no_control_can_send_is_refused_naming_the_lever(key, value, words):
    scenario = load_scenario(BASELINE)
    with pytest.raises(ScenarioError) as caught:
        levers.apply_settings(scenario, {key: value})
    assert key in str(caught.value)
    assert words in str(caught.value)


SETTINGS = {"market_size": "1000", "months": 6, "level_culture": 3.5, "agents": 2}


@pytest.fixture(scope="module")
def stepped():
    """A classroom of 1,000 people, compared, stepped to month 4 of 6."""
    model = Classroom(str(BASELINE), SETTINGS, replications=3, compare=True)
    for _ in range(4):
        model.step()
    return model


def test_the_page_runs_what_sim_run_runs(stepped):
    """Month by month, every replication's time series equals `sim.run`'s with the same
    scenario and seed, and the reference is the file with only the market and horizon."""
    scenario = levers.apply_settings(load_scenario(BASELINE), SETTINGS)
    run = sim.run(scenario, replications=3, seed=scenario.seed, workers=1)
    ours = stepped.timeseries().sort_values(["replication", "month"]).reset_index(drop=True)
    theirs = run.timeseries[run.timeseries["month"] <= 4]
    theirs = theirs.sort_values(["replication", "month"]).reset_index(drop=True)
    columns = [c for c in ours.columns if c in theirs.columns]
    assert len(columns) > 60
    pd.testing.assert_frame_equal(ours[columns], theirs[columns], check_dtype=False)

    reference = levers.apply_settings(load_scenario(BASELINE), {"market_size": "1000", "months": 6})
    assert stepped.reference == reference
    base = sim.run(reference, replications=3, seed=scenario.seed, workers=1).timeseries
    change = stepped.difference(["active", "nps_true"]).set_index(["replication", "month"])
    expected = (
        run.timeseries.set_index(["replication", "month"])[["active", "nps_true"]]
        - base.set_index(["replication", "month"])[["active", "nps_true"]]
    ).loc[change.index]
    np.testing.assert_allclose(change.to_numpy(), expected.to_numpy())
    assert (change["active"] != 0).any()

    table = numbers_table(stepped)
    assert list(table["month"]) == [1, 2, 3, 4]
    means = theirs.groupby("month")["revenue"].mean()
    np.testing.assert_allclose(table["revenue"], means.to_numpy())
    assert "active change" in table


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"replications": 11}, "replications: got 11; must be a whole number from 1 to 10"),
        ({"replications": 2.5}, "replications: got 2.5; must be a whole number from 1 to 10"),
        ({"replications": True}, "replications: got True"),
        ({"compare": "yes"}, "compare: got 'yes'; must be true or false"),
    ],
)
def test_a_run_option_no_control_can_send_is_refused_in_one_line(options, message):
    from sim.errors import CXMError

    with pytest.raises(CXMError, match=message):
        Classroom(str(BASELINE), {"market_size": "500"}, **options)


def test_stepping_stops_at_the_horizon():
    model = Classroom(str(BASELINE), {"market_size": "500", "months": 6}, replications=1)
    steps = 0
    while model.running and steps < 10:
        model.step()
        steps += 1
    assert steps == 6 and model.month == 6
    model.step()
    assert model.month == 6


def test_people_journeys_and_export(stepped, tmp_path):
    people = stepped.people()
    assert len(people) == 1000
    assert set(people["group"]) <= set(PEOPLE_GROUPS)
    active = int((stepped.runs[0].population.status == 1).sum())
    assert people["group"].isin(["promoter", "passive", "detractor"]).sum() == active
    assert people.loc[people["group"] == "prospect", "satisfaction"].isna().all()

    followed = stepped.followed(5)
    assert len(followed) == 5
    journey = stepped.journey(followed[0])
    log = stepped.runs[0].log.tables()[0]
    assert len(journey) == int((log["customer"] == followed[0]).sum()) >= 4
    assert journey["month"].is_monotonic_increasing

    text = export_yaml(stepped)
    path = tmp_path / "exported.yaml"
    path.write_text(text)
    exported = load_scenario(path)
    assert exported.name == "baseline_classroom"
    assert exported.model_dump(exclude={"name", "description"}) == stepped.spec.model_dump(
        exclude={"name", "description"}
    )
    for key, value in itertools.islice(SETTINGS.items(), 4):
        assert f"{key}={value}" in exported.description


def test_cxm_app_refuses_bad_input_in_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"extends: {BASELINE}\nname: bad\nfirm:\n  capabilities:\n    culture: 7\n")
    status, _, stderr = cxm("app", str(bad), "--port", "8765")
    _, _, validate = cxm("validate", str(bad))
    assert status == 2
    assert stderr.count("\n") == 1 and stderr.startswith("error: ")
    assert stderr == validate
    assert "firm.capabilities.culture" in stderr

    status, _, stderr = cxm("app", "--port", "70000")
    assert status == 2 and stderr == "error: --port: got 70000; allowed: 1 to 65535\n"


def test_the_page_passes_on_what_no_control_shows_for_the_server_to_refuse():
    """A value that did not come from the page's controls (a crafted message) reaches
    `apply_settings` as it came, which refuses it naming the lever."""
    from sim.classroom.page import _from_control

    by_key = {lever.key: lever for lever in levers.LEVERS}
    assert _from_control(by_key["network"], "Small world") == "watts_strogatz"
    assert _from_control(by_key["network"], "<script>") == "<script>"
    assert _from_control(by_key["months"], 12.0) == 12
    assert _from_control(by_key["months"], 12.5) == 12.5
    scenario = load_scenario(BASELINE)
    for key, value in [("network", "<script>"), ("months", 12.5), ("level_culture", "1e9")]:
        with pytest.raises(ScenarioError, match=key):
            levers.apply_settings(scenario, {key: _from_control(by_key[key], value)})
