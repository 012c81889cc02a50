"""The customer log: both engines write the same rows, the log changes no result, its rows
add up to the aggregate tables, its size is checked before a run, and the files hold the
documented columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim
from sim import customer_log
from sim.cli.main import main
from sim.customer_log import DECISION_COLUMNS, INTERACTION_COLUMNS
from sim.errors import OptionError
from sim.experiments.runs import finished_model
from sim.results import PROJECT_ROOT
from sim.scenario import load_scenario, with_overrides

SCENARIOS = PROJECT_ROOT / "scenarios"
BASELINE = str(SCENARIOS / "baseline.yaml")
SMALL = {"market.size": 1500, "months": 12}
SMALL_FLAGS = ["--set", "market.size=1500", "--months", "12", "-q"]
SEED = 3


def small(name: str = "baseline"):
    """A ready scenario in a market of 1,500 people, for 12 months."""
    return with_overrides(load_scenario(SCENARIOS / f"{name}.yaml"), SMALL)


@pytest.fixture(scope="module")
def model():
    """Finished models of small ready scenarios, by (scenario, engine, log), made once."""
    made = {}

    def get(name: str = "baseline", engine: str = "vector", log: bool = True):
        if (name, engine, log) not in made:
            made[name, engine, log] = finished_model(
                small(name), SEED, 0, engine, history=False, customer_log=log
            )
        return made[name, engine, log]

    return get


def tables(model) -> tuple[pd.DataFrame, pd.DataFrame]:
    return model.log.tables()


def pairs(table: pd.DataFrame) -> set[tuple[int, int]]:
    """The (month, customer) pairs of a table's rows."""
    return set(zip(table["month"], table["customer"], strict=True))


def assert_same_rows(one: pd.DataFrame, other: pd.DataFrame) -> None:
    """Same columns, types and keys; integers, booleans and categories exactly equal and
    floats equal up to float32 rounding of the agents engine's float64 state."""
    assert list(one.columns) == list(other.columns) and len(one) == len(other)
    for column in one.columns:
        assert one[column].dtype == other[column].dtype, column
        if one[column].dtype.kind == "f":
            np.testing.assert_allclose(
                one[column], other[column], rtol=1e-5, atol=1e-6, err_msg=column
            )
        else:
            pd.testing.assert_series_equal(one[column], other[column], check_exact=True)


# ---------------------------------------------------------------------------- engines


@pytest.mark.slow
@pytest.mark.parametrize("name", ["baseline", "maturity_predictive", "invest_self_service"])
def test_both_engines_write_the_same_rows(model, name):
    vector, agents = tables(model(name, "vector")), tables(model(name, "agents"))
    for one, other in zip(vector, agents, strict=True):
        assert len(one) > 0
        assert_same_rows(one, other)
    if name == "maturity_predictive":  # retention interventions: some customers are kept
        assert (vector[1]["decision"] == "kept").any()


@pytest.mark.parametrize("engine", ["vector", pytest.param("agents", marks=pytest.mark.slow)])
def test_the_log_changes_no_result(model, engine):
    """The same run with and without the log: every aggregate table identical."""
    with_log, without = model("baseline", engine, True), model("baseline", engine, False)
    assert without.log is None
    for table in ("timeseries", "touchpoint_table", "segment_table"):
        pd.testing.assert_frame_equal(
            getattr(with_log.recorder, table)(),
            getattr(without.recorder, table)(),
            check_exact=True,
        )


# ---------------------------------------------------------------------------- columns and order


def test_tables_have_the_declared_columns_and_order(model):
    interactions, decisions = tables(model())
    for table, columns in ((interactions, INTERACTION_COLUMNS), (decisions, DECISION_COLUMNS)):
        assert list(table.columns) == list(columns)
        assert {name: str(table[name].dtype) for name in columns} == columns
        assert (table["replication"] == 0).all()
        assert set(table["month"]) == set(range(1, 13))
    scenario = small()
    assert list(interactions["touchpoint"].cat.categories) == model().touchpoints
    assert list(interactions["segment"].cat.categories) == [
        s.name for s in scenario.market.segments
    ]
    keys = interactions[["month", "customer"]].assign(k=interactions["touchpoint"].cat.codes)
    assert keys.equals(keys.sort_values(["month", "customer", "k"]))
    assert not keys.duplicated().any()
    keys = decisions[["month", "customer"]].assign(k=decisions["decision"].cat.codes)
    assert keys.equals(keys.sort_values(["month", "customer", "k"]))
    assert not keys.duplicated().any()


def test_measured_bytes_per_row_and_the_estimate(model):
    """A row costs in memory what `sim.customer_log` declares (43 and 22 bytes, as
    docs/model.md says), and the size estimate bounds the log."""
    assert (customer_log.INTERACTION_ROW_BYTES, customer_log.DECISION_ROW_BYTES) == (43, 22)
    interactions, decisions = tables(model())
    for table, declared in (
        (interactions, customer_log.INTERACTION_ROW_BYTES),
        (decisions, customer_log.DECISION_ROW_BYTES),
    ):
        measured = table.memory_usage(index=False, deep=True).sum() / len(table)
        assert measured == pytest.approx(declared, abs=1.0)
    # The estimate bounds the log: every person a customer every month, and at least as
    # many rows per customer-month as measured.
    customer_months = model().recorder.timeseries()["active_start"].sum()
    estimate = customer_log.estimate(small(), 1)
    assert estimate.customer_months >= customer_months
    assert estimate.interactions >= len(interactions) / customer_months
    assert estimate.decisions >= len(decisions) / customer_months
    used = interactions.memory_usage(deep=True).sum() + decisions.memory_usage(deep=True).sum()
    assert used <= estimate.bytes


# ---------------------------------------------------------------------- against the aggregates


def test_interaction_rows_add_up_to_the_touchpoint_table(model):
    finished = model()
    interactions, _ = tables(finished)
    touchpoints = finished.recorder.touchpoint_table()
    sums = interactions.groupby(["month", "touchpoint"], observed=False).agg(
        experiences=("customer", "size"),
        problems=("problem", "sum"),
        perceived=("perceived", "mean"),
        satisfaction=("satisfaction", "mean"),
        delivered=("delivered", "first"),
    )
    table = touchpoints.set_index(["month", "touchpoint"]).loc[sums.index]
    np.testing.assert_array_equal(sums["experiences"], table["experiences"])
    np.testing.assert_array_equal(sums["problems"], table["problems"])
    np.testing.assert_allclose(sums["perceived"], table["perceived_quality"], rtol=1e-5)
    np.testing.assert_allclose(sums["satisfaction"], table["satisfaction"], rtol=1e-5)
    met = sums["experiences"] > 0
    np.testing.assert_allclose(
        sums.loc[met, "delivered"], table.loc[met, "delivered_quality"], rtol=1e-6
    )
    series = finished.recorder.timeseries().set_index("month")
    month = interactions.groupby("month")
    np.testing.assert_array_equal(month["customer"].nunique(), series["experiencing"])
    problems = interactions[interactions["problem"]].groupby("month")["customer"].nunique()
    np.testing.assert_array_equal(problems, series["problems"])
    # One cumulative satisfaction per customer-month.
    assert (interactions.groupby(["month", "customer"])["satisfaction_after"].nunique() == 1).all()


def test_support_rows_match_the_desk(model):
    finished = model()
    interactions, _ = tables(finished)
    series = finished.recorder.timeseries().set_index("month")
    support = interactions[interactions["waited"].notna()]
    assert set(support["touchpoint"]) == {"support_contact"}
    own = finished.spec.touchpoints["support_contact"].effort  # plus waiting, repeats, hang-ups
    assert (support["effort"] >= np.float32(own)).all() and (support["effort"] <= 1.0).all()
    assert (support["effort"] > np.float32(own)).any()
    routine = interactions[interactions["waited"].isna()]
    assert not routine[["abandoned", "resolved", "recovered"]].any().any()
    assert (routine["repeats"] == 0).all()
    calls = support.groupby("month").agg(
        first=("customer", "size"),
        abandoned=("abandoned", "sum"),
        repeats=("repeats", "sum"),
        resolved=("resolved", "sum"),
        recovered=("recovered", "sum"),
        waited=("waited", "mean"),
    )
    calls = calls.reindex(series.index, fill_value=0)
    first = series["contacts"] - series["repeat_contacts"]
    np.testing.assert_array_equal(calls["first"], first)
    np.testing.assert_array_equal(calls["abandoned"], series["abandoned_contacts"])
    np.testing.assert_array_equal(calls["repeats"], series["repeat_contacts"])
    np.testing.assert_array_equal(calls["recovered"], series["recovered_complaints"])
    np.testing.assert_allclose(
        calls["resolved"] / first, series["first_contact_resolution"], rtol=1e-12
    )
    felt = finished.spec.support.felt_wait_factor * series["mean_wait_minutes"]
    np.testing.assert_allclose(calls["waited"], felt, rtol=1e-5)
    assert (support["resolved"] == ((support["repeats"] == 0) & ~support["abandoned"])).all()
    # without support.channels every contact is a call, and only contacts have a channel
    assert (support["channel"] == "phone").all() and not support["after_self_service"].any()
    assert routine["channel"].isna().all() and not routine["after_self_service"].any()


def test_support_rows_name_their_channel(model):
    """With phone, chat and self-service: the rows of each channel add up to its counts in
    the time series, and a session that failed is followed by a call with more effort."""
    finished = model("invest_self_service")
    interactions, _ = tables(finished)
    series = finished.recorder.timeseries()
    support = interactions[interactions["waited"].notna()]
    by = support.groupby("channel", observed=False)
    phone, chat, self_service = (by.get_group(c) for c in ("phone", "chat", "self_service"))
    assert len(phone) == (series["contacts"] - series["repeat_contacts"]).sum()
    assert len(chat) + chat["repeats"].sum() == series["chat_contacts"].sum()
    assert len(self_service) == series["self_service_resolved"].sum() > 0
    assert self_service["resolved"].all() and (self_service["waited"] == 0).all()
    failed = support[support["after_self_service"]]
    assert len(failed) == (series["self_service_sessions"] - series["self_service_resolved"]).sum()
    assert (failed["channel"] == "phone").all()  # the fallback
    calls = phone[~phone["after_self_service"]]
    assert failed["effort"].mean() > calls["effort"].mean() + 0.15


@pytest.mark.parametrize("name", ["baseline", "maturity_predictive"])
def test_decision_rows_add_up_to_the_timeseries(model, name):
    finished = model(name)
    interactions, decisions = tables(finished)
    series = finished.recorder.timeseries().set_index("month")
    count = pd.crosstab(decisions["month"], decisions["decision"])
    count = count.reindex(index=series.index, columns=customer_log.DECISIONS, fill_value=0)
    np.testing.assert_array_equal(count["churn"], series["churned"])
    np.testing.assert_array_equal(count["adopt"], series["acquired"])
    np.testing.assert_array_equal(count["repeat_purchase"], series["repeat_purchases"])
    np.testing.assert_array_equal(count["upsell"], series["upsells"])
    np.testing.assert_array_equal(count["kept"], series["saved_customers"])
    assert (count["renewal"] <= series["renewal_due"]).all() and count["renewal"].sum() > 0
    adopt = decisions[decisions["decision"] == "adopt"]
    by_word = adopt[adopt["source"] == "word_of_mouth"].groupby("month").size()
    np.testing.assert_array_equal(
        by_word.reindex(series.index, fill_value=0), series["acquired_by_word_of_mouth"]
    )
    assert adopt["source"].notna().all() and adopt["how"].isna().all()
    leaving = decisions[decisions["decision"].isin(["churn", "kept"])]
    assert leaving["how"].notna().all() and leaving["source"].isna().all()
    segments = finished.recorder.segment_table()
    churned = decisions[decisions["decision"] == "churn"].groupby(["month", "segment"]).size()
    np.testing.assert_array_equal(
        churned.reindex(pd.MultiIndex.from_frame(segments[["month", "segment"]]), fill_value=0),
        segments["churned"],
    )
    # A contract that came due shows as a renewal offer met in the same month.
    offers = interactions[interactions["touchpoint"] == "renewal_offer"]
    due = decisions[(decisions["decision"] == "renewal") | (decisions["how"] == "not_renewed")]
    assert len(due) and (decisions["how"] == "not_renewed").any()
    assert pairs(due) <= pairs(offers)


def test_amounts_are_the_purchases(model):
    _, decisions = tables(model())
    scenario = small()
    values = {s.name: s for s in scenario.market.segments}
    share = scenario.behaviour.purchase.extra_product_revenue_share
    for row in decisions.drop_duplicates(["decision", "segment"]).itertuples():
        segment = values[row.segment]
        if row.decision == "repeat_purchase":
            assert row.amount == pytest.approx(segment.repeat_purchase_value)
        elif row.decision == "upsell":
            assert row.amount == pytest.approx(segment.revenue_per_month * share)
        elif row.decision == "renewal":
            assert row.amount >= segment.revenue_per_month
        else:
            assert np.isnan(row.amount)
    money = decisions[decisions["decision"].isin(["renewal", "repeat_purchase", "upsell"])]
    assert money["amount"].notna().all()


def test_satisfaction_after_is_the_evaluated_satisfaction(model):
    """Without call-backs or interventions (a reactive firm), the satisfaction a customer
    decides with is the one the month's evaluation left; in the baseline, call-backs of
    detractors may only raise it after the evaluation."""
    for name, called_back in (("maturity_reactive", False), ("baseline", True)):
        interactions, decisions = tables(model(name))
        after = interactions.groupby(["month", "customer"])["satisfaction_after"].first()
        staying = decisions[decisions["decision"] != "adopt"]
        paired = staying.join(after, on=["month", "customer"], how="inner")
        assert len(paired) > 50
        lift = paired["satisfaction"] - paired["satisfaction_after"]
        assert (lift >= 0).all()
        assert (lift > 0).any() == called_back


# ---------------------------------------------------------------------------- runs, files, size


def test_run_returns_the_log_only_when_asked():
    scenario = with_overrides(small(), {"months": 3})
    plain = sim.run(scenario, replications=2, seed=SEED, workers=1)
    assert plain.customers is None and plain.decisions is None
    logged = sim.run(scenario, replications=2, seed=SEED, workers=1, customer_log=True)
    assert list(logged.customers["replication"].unique()) == [0, 1]
    assert list(logged.decisions["replication"].unique()) == [0, 1]
    assert logged.customers["segment"].dtype == "category"
    pd.testing.assert_frame_equal(plain.timeseries, logged.timeseries, check_exact=True)


@pytest.mark.slow
def test_two_workers_give_the_tables_of_one():
    scenario = with_overrides(small(), {"months": 4})
    one, two = (
        sim.run(scenario, replications=3, seed=SEED, workers=w, customer_log=True) for w in (1, 2)
    )
    pd.testing.assert_frame_equal(one.customers, two.customers, check_exact=True)
    pd.testing.assert_frame_equal(one.decisions, two.decisions, check_exact=True)


def test_cli_writes_the_documented_columns(tmp_path, capsys):
    out = tmp_path / "logged"
    args = ["run", BASELINE, "-r", "2", "--seed", "5", "--customer-log", "--out", str(out)]
    assert main([*args, *SMALL_FLAGS]) == 0
    printed = capsys.readouterr().out
    assert "customer log: " in printed and "written to" in printed
    customers = pd.read_parquet(out / "customers.parquet")
    decisions = pd.read_parquet(out / "decisions.parquet")
    assert {name: str(customers[name].dtype) for name in customers} == INTERACTION_COLUMNS
    assert {name: str(decisions[name].dtype) for name in decisions} == DECISION_COLUMNS
    assert set(customers["replication"]) == set(decisions["replication"]) == {0, 1}
    series = pd.read_parquet(out / "timeseries.parquet")
    churn = decisions[decisions["decision"] == "churn"].groupby("replication").size()
    np.testing.assert_array_equal(churn, series.groupby("replication")["churned"].sum())
    plain = tmp_path / "plain"
    assert main(["run", BASELINE, "-r", "1", "--out", str(plain), *SMALL_FLAGS]) == 0
    assert not (plain / "customers.parquet").exists()
    assert not (plain / "decisions.parquet").exists()


def test_too_large_a_log_is_refused_before_anything_is_written(tmp_path, capsys):
    out = tmp_path / "never"
    args = ["run", BASELINE, "--customer-log", "--set", "market.size=100000", "-r", "3"]
    assert main([*args, "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --customer-log: estimated at ") and err.count("\n") == 1
    assert "the limit of 1 GiB" in err and "--force" in err and "100,000 people" in err
    assert list(tmp_path.iterdir()) == []
    scenario = load_scenario(BASELINE, ["market.size=100000"])
    with pytest.raises(OptionError, match="force") as refused:
        sim.run(scenario, replications=3, customer_log=True)
    assert refused.value.option == "customer_log"


def test_force_lets_a_log_past_the_limit(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(customer_log, "LOG_LIMIT_BYTES", 2**20)
    out = tmp_path / "forced"
    args = ["run", BASELINE, "-r", "1", "--customer-log", "--out", str(out), *SMALL_FLAGS]
    assert main(args) == 2
    assert "more than the limit of 1 MiB" in capsys.readouterr().err
    assert not out.exists()
    assert main([*args, "--force"]) == 0
    assert (out / "customers.parquet").exists() and (out / "decisions.parquet").exists()


def test_force_needs_the_log(tmp_path, capsys):
    out = tmp_path / "never"
    assert main(["run", BASELINE, "--force", "--out", str(out), *SMALL_FLAGS]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --force: only with --customer-log") and err.count("\n") == 1
    assert not out.exists()


def test_high_effort_service_makes_customers_far_more_disloyal_than_low_effort_service():
    # Dixon, Freeman & Toman (2010): 96 % of customers whose service took high effort became
    # more disloyal, 9 % after low effort. Measured customer by customer on the log: a fall
    # of half a point in the likelihood to recommend over the episode's month, or leaving
    # within twelve months.
    scenario = with_overrides(load_scenario(BASELINE), {"market.size": 4000, "months": 30})
    result = sim.run(scenario, replications=3, seed=SEED, customer_log=True, workers=1)
    gradient = customer_log.effort_gradient(result.customers, result.decisions)
    low, middle, high = (gradient.loc[band] for band in ("low", "middle", "high"))
    assert low.episodes > 1000 and high.episodes > 40
    assert high.more_disloyal > 0.85 and low.more_disloyal < 0.45
    assert high.more_disloyal > 2.5 * low.more_disloyal
    assert low.more_disloyal < middle.more_disloyal <= high.more_disloyal
    # Each part of disloyalty follows effort: recommendation and leaving.
    assert low.recommend_change > middle.recommend_change > high.recommend_change
    assert high.left > 1.3 * low.left
