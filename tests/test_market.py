"""Several firms in one market (`sim.market`, ``firms:``): one firm reproduces the one-firm
model exactly, the engines agree, identical firms split the market and dock to Bass, a
better firm wins share at the others' expense, and the scenario checks name the field."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import sim
from sim import market
from sim.customers import rules
from sim.errors import ScenarioError
from sim.experiments.runs import finished_model, run_replication
from sim.scenario import load_scenario, scenario_from_dict, with_overrides
from tests.conftest import PROJECT_ROOT

BASELINE = PROJECT_ROOT / "scenarios" / "baseline.yaml"
RIVALS = PROJECT_ROOT / "scenarios" / "market" / "rivals.yaml"
SMALL = {"market.size": 1_500, "months": 18}
COUNTS = (
    "active_start",
    "churned",
    "acquired",
    "acquired_prospects",
    "switched_in",
    "switched_out",
    "contacts",
    "abandoned_contacts",
    "respondents",
    "repeat_purchases",
)


def _firms(base: sim.Scenario, *entries: dict) -> sim.Scenario:
    """`base` with ``firms:`` set to `entries`."""
    data = base.model_dump(mode="json")
    data.pop("firms", None)
    return scenario_from_dict(data | {"firms": list(entries)})


@pytest.fixture(scope="module")
def small() -> sim.Scenario:
    return with_overrides(load_scenario(BASELINE), SMALL)


@pytest.mark.parametrize("engine", ["vector", "agents"])
def test_one_firm_in_firms_reproduces_the_one_firm_model_exactly(small, engine):
    """The market machinery with one firm — its months, the market's drift, acquisition
    and choice — computes exactly what the one-firm model computes."""
    alone = _firms(small, {"name": "only"})
    one, other = (finished_model(s, 5, 1, engine) for s in (small, alone))
    (_, mine), (_, theirs) = one.recorders()[0], other.recorders()[0]
    for a, b in (
        (mine.timeseries(), theirs.timeseries()),
        (mine.touchpoint_table(), theirs.touchpoint_table()),
        (mine.segment_table(), theirs.segment_table()),
    ):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    ts = mine.timeseries()
    assert (ts["market_share"] == 1.0).all() and (ts["switched_in"] == 0).all()


def test_one_firm_with_a_warm_up_reproduces_the_one_firm_model_exactly(small):
    warm = with_overrides(small, {"market.warm_up_months": 6, "months": 6})
    alone = _firms(warm, {"name": "only"})
    tables = [finished_model(s, 2, 0).recorders()[0][1].timeseries() for s in (warm, alone)]
    pd.testing.assert_frame_equal(*tables, check_exact=True)


@pytest.mark.slow
def test_engines_agree_month_by_month_with_three_firms(small):
    """Both engines read the same numbers for the same person whichever firm they are
    with: every count agrees month by month, firm by firm; money up to float32 rounding."""
    scenario = _firms(
        with_overrides(small, {"months": 12, "market.size": 900}),
        {"name": "a"},
        {"name": "b", "firm": {"price": 1.1, "capabilities": {"technology": 3.5}}},
        {"name": "c", "marketing_per_person_per_month": 0.7, "support": {"mode": "erlang"}},
    )
    vector, agents = (finished_model(scenario, 3, 0, e) for e in ("vector", "agents"))
    for (name, v), (_, a) in zip(vector.recorders(), agents.recorders(), strict=True):
        v_ts, a_ts = v.timeseries(), a.timeseries()
        for column in COUNTS:
            np.testing.assert_array_equal(a_ts[column], v_ts[column], err_msg=f"{name} {column}")
        for column in ("revenue", "profit", "satisfaction_mean", "market_share"):
            np.testing.assert_allclose(a_ts[column], v_ts[column], rtol=1e-4, err_msg=column)
    total = sum(r.timeseries()["switched_in"].sum() for _, r in vector.recorders())
    assert total > 0  # the firms did exchange customers


def _identical(count: int, size: int, months: int, **firm: object) -> sim.Scenario:
    """`count` identical firms in a market without churn feedback, so that the category's
    adoption is the Bass model's."""
    return scenario_from_dict(
        {
            "name": "identical",
            "months": months,
            "market": {
                "size": size,
                "initial_customers": 0.0,
                "segments": [{"name": "all", "churn_per_month": 0.0}],
            },
            "acquisition": {
                "advertising_per_month": 0.01,
                "imitation_per_month": 0.3,
                "word_of_mouth": "customers",
            },
            "behaviour": {
                "churn": {"satisfaction_effect": 0, "effort_effect": 0, "renewal_max_leave": 0}
            },
            "firms": [{"name": f"f{k}"} | firm for k in range(count)],
        }
    )


@pytest.mark.slow
def test_identical_firms_split_the_market_evenly_and_their_total_docks_to_bass():
    """K identical firms: the category adopts as one firm would (Bass, with the firms'
    advertising added), and each firm's expected share is 1/K."""
    size, months, count = 30_000, 30, 3
    scenario = _identical(count, size, months)
    p = market.market_scenario(scenario, market.seats(scenario)).acquisition.innovation_per_month
    assert p == pytest.approx(0.01 * count**0.24)  # three firms' advertising
    shares = []
    for replication in range(4):
        ts, _ = run_replication(scenario, seed=11, replication=replication)
        total = ts.groupby("month", sort=True)["active"].sum().to_numpy() / size
        expected = rules.bass_cumulative(np.arange(1, months + 1), p, 0.3)
        np.testing.assert_allclose(total, expected, atol=0.012)
        last = ts[ts["month"] == months].set_index("firm")["market_share"]
        shares.append(last.to_numpy())
        assert last.sum() == pytest.approx(1.0)
    shares = np.array(shares)
    # Each firm's mean share over the replications is a third, within sampling error
    # (the spread of a share is about 0.02 here).
    np.testing.assert_allclose(shares.mean(axis=0), 1 / count, atol=0.03)
    assert shares.std() > 0  # the split is random, not forced


@pytest.mark.slow
def test_a_firm_that_raises_quality_gains_share_at_the_others_expense(small):
    """One of three firms raises quality (two capabilities a level up): it ends with more
    than a third of the customers, each rival with less; the rivals' leavers switch to it
    more than the other way; and everyone expects more than when the firms are alike."""
    base = with_overrides(small, {"months": 36, "market.size": 6_000})
    alike = _firms(base, {"name": "a"}, {"name": "b"}, {"name": "c"})
    better = _firms(
        base,
        {"name": "a", "firm": {"capabilities": {"experience_design": 3.5, "processes": 3.5}}},
        {"name": "b"},
        {"name": "c"},
    )
    last = {}
    for label, scenario in (("alike", alike), ("better", better)):
        ts = sim.run(scenario, replications=3, seed=8).timeseries
        last[label] = ts[ts["month"] == 36].set_index(["replication", "firm"])
        if label == "better":
            flows = ts.groupby("firm")[["switched_in", "switched_out"]].sum()
            assert flows.loc["a", "switched_in"] > flows.loc["a", "switched_out"]
    # paired by replication (common random numbers): a gains, each rival loses
    gain = (last["better"]["market_share"] - last["alike"]["market_share"]).unstack("firm")
    assert (gain["a"] > 0.02).all() and gain["a"].mean() > 0.03
    assert (gain[["b", "c"]] < 0).all().all()
    # the best experience available raises what everyone expects
    expects = (last["better"]["expectation_mean"] - last["alike"]["expectation_mean"]).unstack()
    assert (expects > 0).all().all()


def test_every_switch_leaves_one_firm_and_joins_another():
    scenario = with_overrides(load_scenario(RIVALS), {"market.size": 3_000, "months": 24})
    result = sim.run(scenario, replications=1, seed=4)
    ts, flows = result.timeseries, result.switching
    # the firm × firm flows: each firm's switches in and out, month by month
    into = flows.groupby(["month", "to_firm"])["customers"].sum()
    out_of = flows.groupby(["month", "from_firm"])["customers"].sum()
    mine = ts.set_index(["month", "firm"])
    np.testing.assert_array_equal(into.to_numpy(), mine.loc[into.index, "switched_in"])
    np.testing.assert_array_equal(out_of.to_numpy(), mine.loc[out_of.index, "switched_out"])
    assert set(zip(flows["from_firm"], flows["to_firm"], strict=True)) == {
        ("incumbent", "challenger"),
        ("challenger", "incumbent"),
    }
    by_month = ts.groupby("month")[["switched_in", "switched_out"]].sum()
    np.testing.assert_array_equal(by_month["switched_in"], by_month["switched_out"])
    assert by_month["switched_in"].sum() > 0
    shares = ts.groupby("month")["market_share"].sum()
    np.testing.assert_allclose(shares, 1.0)
    assert set(ts["firm"]) == {"incumbent", "challenger"}
    # the firms' active customers add up to the market's customers month by month
    active = ts.groupby("month")["active"].sum()
    start = ts.groupby("month")["active_start"].sum()
    np.testing.assert_array_equal(start.to_numpy()[1:], active.to_numpy()[:-1])


def test_choice_shares_are_a_logit_of_reputation_reach_and_price():
    scenario = load_scenario(RIVALS)
    u = market.choice_utilities(
        scenario, np.array([0.2, 0.0]), np.array([0.35, 0.35]), np.array([1.0, 1.0])
    )
    shares = market.choice_shares(u)[0]
    assert shares[0] / shares[1] == pytest.approx(np.exp(1.0 * 0.2))
    u = market.choice_utilities(scenario, np.zeros(2), np.zeros(2), np.array([1.0, 1.1]))
    shares = market.choice_shares(u)[0]
    assert shares[0] / shares[1] == pytest.approx(1.1**2.6)
    # a switcher never chooses the firm they left
    allowed = np.array([[False, True], [True, False]])
    np.testing.assert_array_equal(market.choice_shares(u, allowed), [[0.0, 1.0], [1.0, 0.0]])
    picked = market.choose(np.array([[0.25, 0.75]]), np.array([0.0, 0.2499, 0.25, 0.9999]))
    np.testing.assert_array_equal(picked, [0, 0, 1, 1])


def test_a_higher_price_brings_more_revenue_per_customer_and_more_churn(small):
    scenario = with_overrides(small, {"months": 12, "market.size": 3_000})
    dear = with_overrides(scenario, {"firm.price": 1.2})
    a, _ = run_replication(scenario, seed=6, replication=0)
    b, _ = run_replication(dear, seed=6, replication=0)
    first = a.iloc[0], b.iloc[0]
    # month 1: the same customers, paying 20 % more, leaving 20 % more readily
    assert first[1]["active_start"] == first[0]["active_start"]
    per_customer = [row["revenue"] / (row["active_start"] - row["churned"]) for row in first]
    assert per_customer[1] == pytest.approx(1.2 * per_customer[0], rel=0.02)
    assert b["churned"].sum() > a["churned"].sum()


@pytest.mark.parametrize(
    ("entries", "path", "message"),
    [
        ([{"name": "a"}, {"name": "a"}], "firms.1.name", "unique"),
        (
            [{"name": "a", "initial_share": 0.8}, {"name": "b", "initial_share": 0.4}],
            "firms.*.initial_share",
            "sum to",
        ),
        ([{"name": "a", "firm": {"price": 0}}], "firms.0.firm.price", "greater than 0"),
        (
            [{"name": "a", "firm": {"budget": {"allocation": {"chat": 1.0}}}}],
            "firms.0.firm.budget.allocation.chat",
            "not an open support channel",
        ),
        ([], "firms", "at least 1"),
    ],
)
def test_bad_firms_are_refused_with_the_field_named(entries, path, message):
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict({"name": "bad", "firms": entries}, source="market.yaml")
    text = str(caught.value)
    assert path in text and message in text and "market.yaml" in text


def test_a_firm_entry_states_only_how_it_differs_from_the_scenarios_firm():
    scenario = load_scenario(RIVALS)
    incumbent, challenger = scenario.firms
    assert incumbent.firm == scenario.firm and incumbent.support == scenario.support
    assert challenger.firm.price == 0.95
    assert challenger.firm.capabilities["technology"] == 3.5
    assert challenger.firm.capabilities["culture"] == scenario.firm.capabilities["culture"]


def test_a_sweep_of_several_firms_is_refused_with_a_clear_message(tmp_path, capsys):
    from sim.cli.main import main

    spec = tmp_path / "sweep.yaml"
    spec.write_text(
        f"name: rivals_sweep\nbase: {RIVALS}\ndesign: latin_hypercube\nsamples: 2\n"
        "replications: 1\nmonths: 3\nset:\n  market.size: 600\n"
        "parameters:\n  competition.switching_share: {range: [0.1, 0.9]}\n"
    )
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "several firms (incumbent, challenger)" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_compare_pairs_each_firm_with_itself(tmp_path, capsys):
    """An alternative in which only the incumbent invests: paired firm by firm, the
    incumbent's extra investment shows in its own block and ROI, and the challenger, which
    changed nothing, feels it only through the market."""
    rivals = with_overrides(load_scenario(RIVALS), {"market.size": 2_000, "months": 12})
    data = rivals.model_dump(mode="json")
    data["firms"][0]["firm"]["investments"] = [
        {"capability": "experience_design", "per_year": 200_000, "end_month": 12}
    ]
    invests = scenario_from_dict(data | {"name": "incumbent_invests"})
    comparison = sim.compare(rivals, invests, replications=2)
    summary = comparison.summary.set_index(["firm", "metric"])
    assert set(comparison.paired["firm"]) == {"incumbent", "challenger"}
    assert summary.loc[("incumbent", "profit_npv"), "difference"] < 0  # it paid for it
    assert np.isfinite(summary.loc[("incumbent", "roi"), "difference"])
    assert np.isnan(summary.loc[("challenger", "roi"), "difference"])  # invested nothing more
    renamed = data | {"name": "renamed"}
    renamed["firms"] = [dict(data["firms"][0], name="other"), data["firms"][1]]
    with pytest.raises(sim.CXMError, match="same firms"):
        sim.compare(rivals, scenario_from_dict(renamed), replications=1)


def test_the_investment_case_report_refuses_several_firms(tmp_path, capsys):
    from sim.cli.main import main

    out = tmp_path / "report"
    assert main(["report", str(RIVALS), str(RIVALS), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "field 'firms'" in err and "cxm compare" in err and not out.exists()


def test_a_decision_taken_during_a_run_equals_the_same_plan_written_in_advance(small):
    """Investment lines given to a firm at month 7 (as a team decides a round) give the
    same months as a scenario that states them from the start; months before the decision
    are untouched whatever is decided."""
    scenario = with_overrides(small, {"months": 12})
    lines = [{"capability": "technology", "per_month": 60_000.0, "start_month": 7}]
    planned = with_overrides(scenario, {"firm.investments": lines})
    ahead = finished_model(planned, 3, 0).recorders()[0][1].timeseries()
    model = sim.CXModel(scenario, seed=3)
    for _ in range(6):
        model.step()
    model.revise_firm(0, {"firm.investments": lines})
    model.run_to_horizon()
    during = model.recorders()[0][1].timeseries()
    pd.testing.assert_frame_equal(during, ahead, check_exact=True)
    assert during["investment_cost"].iloc[6:].eq(60_000.0).all()


def test_a_rival_s_price_cut_mid_run_moves_only_the_months_after_it():
    scenario = with_overrides(load_scenario(RIVALS), {"market.size": 3_000, "months": 12})
    tables = []
    for cut in (False, True):
        model = sim.CXModel(scenario, seed=2)
        for _ in range(6):
            model.step()
        if cut:
            model.revise_firm(
                1, {"firm.price": 0.8, "acquisition.marketing_per_person_per_month": 1.0}
            )
        model.run_to_horizon()
        tables.append({name: r.timeseries() for name, r in model.recorders()})
    same, cut = tables
    for firm in ("incumbent", "challenger"):
        pd.testing.assert_frame_equal(same[firm].iloc[:6], cut[firm].iloc[:6], check_exact=True)
    challenger = cut["challenger"].iloc[6:], same["challenger"].iloc[6:]
    assert challenger[0]["marketing_cost"].iloc[0] == pytest.approx(1.0 * 3_000)
    assert challenger[0]["acquired"].sum() > challenger[1]["acquired"].sum()
    per_customer = [
        c["revenue"].sum() / (c["active_start"] - c["churned"]).sum() for c in challenger
    ]
    assert per_customer[0] < 0.85 * per_customer[1]
    with pytest.raises(ScenarioError, match="not revisable"):
        model.revise_firm(0, {"market.size": 10})
    with pytest.raises(ScenarioError, match=r"firm\.price"):
        model.revise_firm(0, {"firm.price": -1.0})


def test_cxm_run_writes_every_firm_and_replaces_its_own_result(tmp_path, capsys):
    from sim.cli.main import main

    out = tmp_path / "rivals"
    args = ["run", str(RIVALS), "-r", "2", "--set", "market.size=1000", "--set", "months=3"]
    for _ in range(2):  # the second run replaces the first (switching.parquet included)
        assert main([*args, "--out", str(out), "--overwrite"]) == 0
    printed = capsys.readouterr().out
    assert "firm incumbent" in printed and "firm challenger" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["firms"]) == {"incumbent", "challenger"}
    assert summary["firms"]["challenger"]["active"]["n"] == 2
    switching = pd.read_parquet(out / "switching.parquet")
    assert set(switching.columns) >= {"replication", "month", "from_firm", "to_firm", "customers"}
    assert set(pd.read_parquet(out / "timeseries.parquet")["firm"]) == {"incumbent", "challenger"}


def test_a_time_series_figure_draws_each_firm():
    from sim.plots.results import time_series

    scenario = with_overrides(load_scenario(RIVALS), {"market.size": 1_500, "months": 4})
    result = sim.run(scenario, replications=2, seed=3)
    figure = time_series(result, "active")
    (ax,) = figure.axes
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["incumbent", "challenger"]
    incumbent = result.timeseries.query("firm == 'incumbent'").groupby("month")["active"].mean()
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), incumbent.to_numpy())
    assert "by firm" in ax.get_title() and ax.get_legend().get_title().get_text() == "Firm"


@pytest.mark.slow
def test_the_quickstart_reads_a_market_and_a_one_firm_notebook_refuses_it(tmp_path, capsys):
    from sim.cli.main import main

    out = tmp_path / "quick"
    given = ["-p", "scenario_path=scenarios/market/rivals.yaml", "-p", "months=3"]
    assert main(["notebooks", "00_quickstart", "--quick", *given, "--out", str(out)]) == 0
    page = (out / "00_quickstart.html").read_text()
    assert "challenger" in page and "incumbent" in page
    refused = tmp_path / "refused"
    assert main(["notebooks", "budget_allocation", *given[:2], "--out", str(refused)]) == 2
    err = capsys.readouterr().err
    assert "names several firms" in err and "studies one firm" in err and not refused.exists()


def test_a_market_of_several_firms_warms_up_alike_in_both_engines():
    scenario = with_overrides(
        load_scenario(RIVALS), {"market.size": 900, "months": 4, "market.warm_up_months": 6}
    )
    vector, agents = (finished_model(scenario, 3, 0, e) for e in ("vector", "agents"))
    for (name, v), (_, a) in zip(vector.recorders(), agents.recorders(), strict=True):
        for column in ("active", "churned", "acquired", "switched_in", "contacts"):
            np.testing.assert_array_equal(
                v.timeseries()[column], a.timeseries()[column], err_msg=f"{name} {column}"
            )
    # the warm-up replaces each leaver by a customer of the same firm: the shares hold
    first = [r.timeseries()["active_start"].iloc[0] for _, r in vector.recorders()]
    assert first[0] / sum(first) == pytest.approx(0.7, abs=0.06)


def test_the_classroom_page_refuses_a_market_of_several_firms():
    from sim.classroom.model import Classroom

    with pytest.raises(ScenarioError, match="classroom game"):
        Classroom(str(RIVALS))


def test_the_customer_log_of_a_market_names_each_row_s_firm_and_adds_up():
    scenario = with_overrides(load_scenario(RIVALS), {"market.size": 2_000, "months": 4})
    result = sim.run(scenario, replications=1, seed=5, customer_log=True)
    ts = result.timeseries.set_index(["firm", "month"])
    decisions = result.decisions
    assert list(decisions.columns[:4]) == ["replication", "month", "customer", "firm"]
    counted = decisions.groupby(["firm", "month", "decision"], observed=True).size()
    for (firm, month), row in ts.iterrows():
        assert counted.get((firm, month, "churn"), 0) == row["churned"]
        assert counted.get((firm, month, "adopt"), 0) == row["acquired"]
    switched = (
        decisions[decisions["source"] == "switched"]
        .groupby(["firm", "month"], observed=True)
        .size()
    )
    assert switched.sum() == ts["switched_in"].sum() > 0
    met = result.customers.groupby(["firm", "month", "touchpoint"], observed=True).size()
    table = result.touchpoints.set_index(["firm", "month", "touchpoint"])["experiences"]
    assert (met == table[table > 0]).all()
