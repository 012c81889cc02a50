"""The running model: Mesa integration, determinism, common random numbers, directions."""

from __future__ import annotations

import math
import warnings

import mesa
import numpy as np
import pandas as pd
import pytest

import sim
from sim.experiments.runs import compare, run, run_replication
from sim.model import CXModel
from sim.scenario import with_overrides


@pytest.mark.slow
def test_cxmodel_is_a_mesa_model_stepping_one_month(baseline):
    model = sim.CXModel(baseline, seed=5)
    assert isinstance(model, mesa.Model)
    model.step()
    model.step()
    assert model.month == 2 and model.steps == 2
    table = model.recorder.timeseries()
    assert list(table["month"]) == [1, 2]
    model.run_to_horizon()
    assert model.month == baseline.months and not model.running


@pytest.mark.slow
def test_same_seed_same_tables_different_seed_different(baseline):
    a_ts, a_tp = run_replication(baseline, seed=9, replication=0)
    b_ts, b_tp = run_replication(baseline, seed=9, replication=0)
    pd.testing.assert_frame_equal(a_ts, b_ts)
    pd.testing.assert_frame_equal(a_tp, b_tp)
    c_ts, _ = run_replication(baseline, seed=10, replication=0)
    assert not np.array_equal(a_ts["active"], c_ts["active"])


@pytest.mark.slow
def test_replications_do_not_depend_on_how_many_run(baseline):
    three = run(baseline, replications=3, seed=4).timeseries
    one = run(baseline, replications=1, seed=4).timeseries
    pd.testing.assert_frame_equal(three[three["replication"] == 0], one)
    rep2 = three[three["replication"] == 2].reset_index(drop=True)
    alone, _ = run_replication(baseline, seed=4, replication=2)
    pd.testing.assert_frame_equal(rep2[alone.columns], alone[alone.columns])


@pytest.mark.slow
def test_rows_carry_replication_and_seed(baseline):
    result = run(baseline, replications=2, seed=12)
    ts, tp = result.timeseries, result.touchpoints
    assert len(ts) == 2 * baseline.months
    assert set(ts["seed"]) == {12} and set(ts["replication"]) == {0, 1}
    assert list(ts.columns[:3]) == ["replication", "seed", "month"]
    assert len(tp) == 2 * baseline.months * len(baseline.touchpoints)
    assert {"experiences", "perceived_quality", "satisfaction", "touchpoint"} <= set(tp.columns)


@pytest.mark.slow
def test_common_random_numbers_make_paired_differences_precise(baseline):
    better = with_overrides(baseline, {"firm.capabilities.technology": 3.0, "name": "better"})
    comparison = compare(baseline, better, replications=8, seed=21, workers=1)
    row = comparison.summary.set_index("metric").loc["revenue_total"]
    paired_half_width = (row["ci_high"] - row["ci_low"]) / 2
    assert row["difference"] > 0
    # Pairing removes the noise both scenarios share: the interval is several times narrower.
    assert paired_half_width < row["unpaired_half_width"] / 4
    paired = comparison.paired
    assert len(paired) == 8 and set(paired["alternative"]) == {"better"}


@pytest.mark.slow
def test_crn_variance_of_paired_difference_far_below_unpaired(baseline):
    """Same seed: the variance of the paired difference is far below the variance of a
    difference between independently seeded runs."""
    close = with_overrides(baseline, {"support.mean_wait_minutes": 5.0, "name": "close"})
    reps = 10
    base = run(baseline, replications=reps, seed=100).outcomes["active"].to_numpy()
    same = run(close, replications=reps, seed=100).outcomes["active"].to_numpy()
    other = run(close, replications=reps, seed=200).outcomes["active"].to_numpy()
    paired_var = np.var(same - base, ddof=1)
    unpaired_var = np.var(other - base, ddof=1)
    assert paired_var < unpaired_var / 10


@pytest.mark.slow
def test_better_capabilities_raise_satisfaction_retention_and_revenue(baseline):
    strong = with_overrides(
        baseline,
        {f"firm.capabilities.{c}": 4.0 for c in ("technology", "experience_design", "processes")}
        | {"name": "strong"},
    )
    summary = compare(baseline, strong, replications=4, seed=3).summary.set_index("metric")
    for metric in ("satisfaction_mean", "retention_of_initial", "revenue_total", "nps_true"):
        assert summary.loc[metric, "ci_low"] > 0, metric
    assert summary.loc["churned_total", "difference"] != 0


@pytest.mark.slow
def test_longer_waits_raise_effort_and_lower_satisfaction(baseline):
    desk = {"support.mode": "service_level"}  # the simple desk; the contact centre: test_support
    fast = with_overrides(baseline, desk)
    slow = with_overrides(
        fast, {"support.mean_wait_minutes": 30.0, "support.first_contact_resolution": 0.4}
    )
    fast_ts = run(fast, replications=3, seed=8).timeseries
    slow_ts = run(slow, replications=3, seed=8).timeseries
    assert slow_ts["effort_mean"].mean() > fast_ts["effort_mean"].mean()
    assert slow_ts["satisfaction_mean"].mean() < fast_ts["satisfaction_mean"].mean()
    assert slow_ts["ces_true"].mean() > fast_ts["ces_true"].mean()
    assert slow_ts["churned"].sum() > fast_ts["churned"].sum()


@pytest.mark.slow
def test_weak_measurement_biases_measured_nps_upward(baseline):
    weak = with_overrides(baseline, {"firm.capabilities.measurement": 0.0, "market.size": 8000})
    ts = run(weak, replications=4, seed=2).timeseries
    gap = (ts["nps_measured"] - ts["nps_true"]).mean()
    assert gap > 2.0  # happier customers answer more often when measurement is weak
    strong = with_overrides(weak, {"firm.capabilities.measurement": 5.0})
    ts_strong = run(strong, replications=4, seed=2).timeseries
    assert abs((ts_strong["nps_measured"] - ts_strong["nps_true"]).mean()) < gap / 2


@pytest.mark.slow
def test_baseline_is_plausible_against_stylised_facts(baseline):
    ts = run(baseline, replications=3, seed=1).timeseries
    churn = ts["churn_rate"].mean()
    assert 0.01 <= churn <= 0.06  # monthly churn of subscription businesses
    nps = ts["nps_true"].mean()
    assert -10 <= nps <= 30  # average NPS: single or low double digits
    assert 3.5 <= ts["csat_true"].mean() <= 4.5
    assert ts["revenue"].min() > 0 and (ts["active"] > 0).all()


@pytest.mark.parametrize("engine", ["vector", "agents"])
def test_detractors_hold_acquisition_below_the_advertising_only_rate(baseline, engine):
    """A firm whose customers warn against it (net promoter score far below 0) wins fewer
    prospects than advertising alone would; one whose customers recommend it wins more."""
    poor = {f"touchpoints.{name}.base_quality": 0.45 for name in baseline.touchpoints}
    size, prospects = 40_000, 28_000  # 70 % of the market starts as prospects
    # Word of mouth fifteen times the default's, so one month shows both sides clearly.
    common = {"market.size": size, "months": 3, "acquisition.imitation_per_month": 0.3}
    won = {}
    for name, overrides in (("poor", poor), ("baseline", {})):
        scenario = with_overrides(baseline, common | overrides)
        model = CXModel(scenario, seed=5, engine=engine)
        model.step()
        month = model.recorder.timeseries().iloc[0]
        won[name] = month["acquired_prospects"] / prospects
        if name == "poor":
            assert month["nps_true"] < -50 and month["informed_share"] < -0.05
    advertising_only = 1 - math.exp(-baseline.acquisition.innovation_per_month)  # 0.0040
    assert won["poor"] < 0.5 * advertising_only  # binomial sd of the share about 0.0004
    assert won["baseline"] > 1.5 * advertising_only


def test_unknown_engine_is_refused(baseline):
    with pytest.raises(ValueError, match="engine"):
        sim.CXModel(baseline, engine="quantum")


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["vector", "agents"])
def test_months_without_interactions_raise_no_floating_point_warnings(baseline, engine):
    """Some customers meet no touchpoint in a month (NaN memory and effort): both engines
    must handle them quietly."""
    sparse = with_overrides(
        baseline,
        {
            "market.size": 1500,
            "months": 4,
            "touchpoints.product_use.probability_per_month": 0.3,
            "touchpoints.billing.probability_per_month": 0.3,
        },
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        ts, _ = run_replication(sparse, seed=3, replication=0, engine=engine)
    assert (ts["experiencing"] < ts["active_start"]).all()


@pytest.mark.slow
def test_profit_per_person_in_the_market_hardly_depends_on_the_market_size(baseline):
    """Staff, agents, overhead, capability holding and advertising follow the size of the
    firm and its market, so the same scenario earns about the same per person at 5,000 and
    at 50,000 people (it earned 23 against 548 when these were fixed headcounts). What is
    left is economies of scale: a contact centre needs at least one agent, front-line staff
    come in whole people, and a review or a fix costs the same in a small firm as in a
    large one; every other line is the same per person."""
    per_person, lines = {}, {}
    scaling = [
        "revenue",
        "margin",
        "overhead_cost",
        "capability_cost",
        "marketing_cost",
        "acquisition_cost",
        "support_cost",
        "loop_cost",
        "recovery_cost",
    ]
    for size in (5_000, 50_000):
        scenario = with_overrides(baseline, {"market.size": size, "months": 60})
        result = run(scenario, replications=2, seed=3)
        per_person[size] = result.outcomes["profit_npv"].mean() / size
        lines[size] = result.timeseries[scaling].sum() / size
    for line in scaling:
        assert lines[5_000][line] == pytest.approx(lines[50_000][line], rel=0.05), line
    assert per_person[5_000] > 0
    assert per_person[5_000] == pytest.approx(per_person[50_000], rel=0.3)
    assert per_person[5_000] < per_person[50_000]  # the economies of scale that remain
