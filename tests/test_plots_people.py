"""Figures of the people side (`sim.plots.people`): engagement, the service-profit chain, paired
differences month by month, and privacy risk. Each figure is drawn from small real runs (or
the model's closed forms) and read back from its artists: what is drawn must be the table's
numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.container import ErrorbarContainer
from test_plots_studies import rendered

import sim
from sim.experiments.runs import paired_comparison
from sim.plots import people
from sim.results import PROJECT_ROOT
from sim.scenario import with_overrides

BASELINE = PROJECT_ROOT / "scenarios" / "baseline.yaml"
PERSONALISATION = PROJECT_ROOT / "scenarios" / "personalisation.yaml"
SMALL = {"market.size": 3000, "months": 8, "support.mode": "erlang"}


@pytest.fixture(scope="module")
def chain() -> sim.Comparison:
    """The baseline against a strong culture and a one-person front line (the baseline
    needs about two at 6,000 people), 2 replications."""
    base = with_overrides(sim.load_scenario(BASELINE), SMALL | {"market.size": 6000})
    culture = with_overrides(base, {"name": "culture", "firm.capabilities.culture": 4.0})
    thin = with_overrides(base, {"name": "thin", "firm.employees.staff": 1})
    return sim.compare(base, culture, thin, replications=2, seed=11, workers=1)


@pytest.fixture(scope="module")
def incident() -> sim.Comparison:
    """Personalisation without incidents against the same with one in month 4."""
    safe = with_overrides(
        sim.load_scenario(PERSONALISATION),
        SMALL | {"firm.personalisation.incident_per_month": 0.0},
    )
    hit = with_overrides(safe, {"name": "hit", "firm.personalisation.forced_incident_months": [4]})
    return sim.compare(safe, hit, replications=2, seed=3, workers=1)


# ---------------------------------------------------------------------------- engagement


def test_engagement_targets_are_the_closed_form():
    scenario = sim.load_scenario(BASELINE)  # technology at the reference, 2.5
    table = people.engagement_targets(scenario, [1.5, 4.0], [0.8, 1.0, 1.5, 4.0])
    assert list(table.columns) == ["culture", "workload", "engagement", "attrition_per_month"]
    expected = np.clip(
        0.5 + 0.1 * (table["culture"] - 2.5) - 0.3 * np.maximum(table["workload"] - 1, 0), 0, 1
    )
    np.testing.assert_allclose(table["engagement"], expected, atol=1e-12)
    np.testing.assert_allclose(
        table["attrition_per_month"], 0.025 * np.exp(-3.0 * (expected - 0.5)), rtol=1e-12
    )
    row = table[(table["culture"] == 4.0) & (table["workload"] == 1.0)].iloc[0]
    assert row["engagement"] == pytest.approx(0.65)  # docs/model.md §11
    with pytest.raises(ValueError, match="culture levels"):
        people.engagement_targets(scenario, [6.0])
    with pytest.raises(ValueError, match="workloads"):
        people.engagement_targets(scenario, [2.5], [-1.0])


def test_engagement_drivers_draws_one_line_per_culture_level():
    table = people.engagement_targets(sim.load_scenario(BASELINE), [1.5, 2.5, 3.5])
    fig = rendered(people.engagement_drivers(table))
    left, right = fig.axes
    assert [line.get_label() for line in left.get_lines()[:3]] == [
        "culture 1.5",
        "culture 2.5",
        "culture 3.5",
    ]
    for culture, line_e, line_a in zip(
        [1.5, 2.5, 3.5], left.get_lines(), right.get_lines(), strict=False
    ):
        part = table[table["culture"] == culture].sort_values("workload")
        np.testing.assert_allclose(line_e.get_ydata(), part["engagement"])
        np.testing.assert_allclose(line_a.get_ydata(), part["attrition_per_month"])
    with pytest.raises(ValueError, match="engagement_targets"):
        people.engagement_drivers(table.drop(columns="engagement"))


# ---------------------------------------------------------------------------- the chain


def test_chain_differences_pair_each_link_by_replication(chain):
    table = people.chain_differences(chain)
    assert list(table.columns) == ["alternative", "replication", *people.CHAIN_LINKS]
    assert list(table["alternative"].unique()) == ["culture", "thin"]
    base = chain.runs[0].timeseries.groupby("replication")
    culture = chain.runs[1].timeseries.groupby("replication")
    rows = table[table["alternative"] == "culture"].set_index("replication")
    np.testing.assert_allclose(
        rows["engagement"], culture["engagement"].mean() - base["engagement"].mean()
    )
    np.testing.assert_allclose(
        rows["staff_cost"], culture["staff_cost"].sum() - base["staff_cost"].sum()
    )
    paired = chain.paired[chain.paired["alternative"] == "culture"].set_index("replication")
    np.testing.assert_allclose(rows["profit_npv"], paired["profit_npv"])
    np.testing.assert_allclose(rows["churned_total"], paired["churned_total"])
    # culture lifts engagement by 0.1 a level, so it rises in every replication;
    # one person for the whole front line overloads it
    assert (rows["engagement"] > 0).all() and (rows["staffed_quality"] > 0).all()
    thin = table[table["alternative"] == "thin"]
    assert (thin["engagement"] < 0).all() and (thin["staff_cost"] < 0).all()


def test_staffed_quality_weights_the_staffed_touchpoints_by_interactions(chain):
    run = chain.runs[0]
    rows = run.touchpoints[
        run.touchpoints["touchpoint"].isin(["onboarding", "account_manager", "support_contact"])
    ]
    first = rows[rows["replication"] == 0]
    expected = (first["delivered_quality"] * first["experiences"]).sum() / first[
        "experiences"
    ].sum()
    assert people._staffed_quality(run)[0] == pytest.approx(expected)


def test_service_profit_chain_draws_every_link(chain):
    table = people.chain_differences(chain)
    fig = rendered(people.service_profit_chain(chain))
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == len(people.CHAIN_LINKS)
    for step, (ax, (link, (name, _))) in enumerate(
        zip(visible, people.CHAIN_LINKS.items(), strict=True)
    ):
        assert ax.get_title() == f"{step + 1}. {name}"
        [container] = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
        x = container.lines[0].get_xdata()
        expected = table.groupby("alternative", sort=False)[link].mean()
        np.testing.assert_allclose(x, expected[["culture", "thin"]].to_numpy())
    with pytest.raises(TypeError, match="Comparison"):
        people.service_profit_chain(chain.runs[0])


# ---------------------------------------------------------------------------- month by month


def test_paired_by_month_is_alternative_minus_base(incident):
    table = people.paired_by_month(incident, "satisfaction_mean")
    assert list(table.columns) == ["replication", "month", "difference"]
    assert len(table) == 2 * 8
    base, hit = (run.timeseries.sort_values(["replication", "month"]) for run in incident.runs)
    np.testing.assert_allclose(
        table["difference"],
        hit["satisfaction_mean"].to_numpy() - base["satisfaction_mean"].to_numpy(),
    )
    before = table[table["month"] < 4]["difference"]
    assert (before == 0).all()  # common random numbers: identical until the incident
    at = table[table["month"] == 4]["difference"]
    assert (at < -0.06).all()  # the trust shock, 0.08 by default
    with pytest.raises(ValueError, match="unknown alternative"):
        people.paired_by_month(incident, "satisfaction_mean", "nope")
    with pytest.raises(ValueError, match="numeric column"):
        people.paired_by_month(incident, "no_such_metric")


def test_difference_by_month_draws_the_mean_difference(incident):
    table = people.paired_by_month(incident, "churn_rate")
    fig = rendered(people.difference_by_month(incident, "churn_rate", "hit"))
    [ax] = fig.axes
    line = ax.get_lines()[0]
    np.testing.assert_allclose(line.get_xdata(), np.arange(1, 9))
    np.testing.assert_allclose(line.get_ydata(), table.groupby("month")["difference"].mean())
    assert "hit" in ax.get_ylabel()


# ---------------------------------------------------------------------------- privacy risk


def test_incident_risk_is_the_closed_form_of_the_model_card():
    scenario = sim.load_scenario(PERSONALISATION)  # technology and understanding at 3.5
    risk = people.incident_risk(scenario, [1.5, 2.5, 3.5], months=60)
    assert list(risk.columns) == [
        "governance",
        "personalisation",
        "incident_per_month",
        "expected_incidents",
        "chance_of_any",
    ]
    np.testing.assert_allclose(risk["personalisation"], 0.49)
    p = 0.02 * 0.49 * np.exp(-0.5 * (risk["governance"] - 2.5))
    np.testing.assert_allclose(risk["incident_per_month"], p, rtol=1e-12)
    np.testing.assert_allclose(risk["expected_incidents"], 60 * p, rtol=1e-12)
    np.testing.assert_allclose(risk["chance_of_any"], 1 - (1 - p) ** 60, rtol=1e-12)
    # docs/model.md §12: 0.98 % a month at 2.5, 0.59 % at 3.5 (30 % in five years), 62 % at 1.5
    assert risk["incident_per_month"].round(4).tolist()[1:] == [0.0098, 0.0059]
    assert risk["chance_of_any"].round(2).tolist() == [0.62, 0.45, 0.30]
    assert len(people.incident_risk(scenario)) == 21
    with pytest.raises(ValueError, match="governance levels"):
        people.incident_risk(scenario, [5.5])
    with pytest.raises(ValueError, match="horizon"):
        people.incident_risk(scenario, [2.5], months=0)


def test_privacy_tradeoff_draws_gain_cost_and_net():
    risk = people.incident_risk(sim.load_scenario(PERSONALISATION), [0.0, 2.5, 5.0], months=48)
    fig = rendered(people.privacy_tradeoff(risk, gain=600_000.0, incident_cost=200_000.0))
    left, right = fig.axes
    np.testing.assert_allclose(left.get_lines()[0].get_ydata(), risk["chance_of_any"])
    lines = {line.get_label(): line for line in right.get_lines()}
    expected_cost = risk["expected_incidents"].to_numpy() * 200_000.0
    np.testing.assert_allclose(lines["expected cost of incidents"].get_ydata(), expected_cost)
    np.testing.assert_allclose(lines["expected net value"].get_ydata(), 600_000.0 - expected_cost)
    np.testing.assert_allclose(lines["gain without incidents"].get_ydata(), 600_000.0)
    with pytest.raises(ValueError, match="incident_risk"):
        people.privacy_tradeoff(pd.DataFrame({"governance": [1.0]}), 1.0, 1.0)


def test_paired_comparison_of_finished_runs_works_with_the_chain(chain):
    # a lesson pairs runs it already has (no re-running): the same table as from compare
    again = paired_comparison([chain.runs[0], chain.runs[2]])
    table = people.chain_differences(again)
    expected = people.chain_differences(chain)
    expected = expected[expected["alternative"] == "thin"].reset_index(drop=True)
    pd.testing.assert_frame_equal(table, expected)
