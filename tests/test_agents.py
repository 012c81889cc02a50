"""The agents engine: Mesa agents, order-free results, agreement with the vector engine
(month by month and in distribution), journey history, the size limit and the bench."""

from __future__ import annotations

import json

import mesa
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_cli import BENCH_KEYS

import sim
from sim.cli.main import main
from sim.customers import rules
from sim.customers.population import ACTIVE
from sim.engines.agents import AGENTS_ENGINE_MAX_PEOPLE
from sim.engines.customer import Customer
from sim.experiments.runs import finished_model, run
from sim.results import PROJECT_ROOT
from sim.scenario import with_overrides
from sim.stats import mean_interval

BASELINE = str(PROJECT_ROOT / "scenarios" / "baseline.yaml")
SMALL_WORLD = {"market.network.kind": "watts_strogatz", "market.network.mean_degree": 8}
COUNTS = ("active", "churned", "acquired", "contacts", "respondents", "repeat_purchases")


@pytest.fixture
def small(baseline):
    """600 people (about 180 customers), 6 months."""
    return with_overrides(baseline, {"market.size": 600, "months": 6})


def test_every_person_is_a_mesa_agent(small):
    model = sim.CXModel(small, seed=2, engine="agents")
    assert len(model.agents) == small.market.size
    assert set(model.agent_types) == {Customer}
    person = model.customer(7)
    assert isinstance(person, mesa.Agent) and person in model.agents and person.index == 7
    assert model.population is None and model.space is None
    assert sum(p.status == ACTIVE for p in model.agents) == pytest.approx(0.3 * 600, abs=40)
    with pytest.raises(sim.CXMError, match="agents"):
        sim.CXModel(small, seed=2).customer(7)


@pytest.mark.slow
def test_random_stepping_order_does_not_change_results(small, monkeypatch):
    """Same seed, a different Mesa random state: customers act in another order, yet every
    table is identical."""
    orders, tables = [], []
    original = Customer.experience

    def logged(self):
        orders[-1].append(self.index)
        original(self)

    monkeypatch.setattr(Customer, "experience", logged)
    for reseed in (None, 12345):
        model = sim.CXModel(small, seed=4, engine="agents")
        if reseed is not None:
            model.random.seed(reseed)
        orders.append([])
        model.run_to_horizon()
        r = model.recorder
        tables.append((r.timeseries(), r.touchpoint_table(), r.segment_table()))
    assert sorted(orders[0]) == sorted(orders[1]) and orders[0] != orders[1]
    assert orders[0][:50] != sorted(orders[0][:50])  # shuffled, not in market order
    for a, b in zip(tables[0], tables[1], strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)


@pytest.mark.slow
@pytest.mark.parametrize("network", [{}, SMALL_WORLD], ids=["complete", "small_world"])
def test_engines_agree_month_by_month(small, network):
    """Both engines read the same random numbers for the same person: counts are equal
    month by month; money and NPS differ only by float32 rounding."""
    scenario = with_overrides(small, network)
    vector, agents = (finished_model(scenario, 3, 0, engine) for engine in ("vector", "agents"))
    if network:
        assert agents.space is not None and len(agents.space.all_cells) == 600
    v, a = vector.recorder.timeseries(), agents.recorder.timeseries()
    for column in COUNTS:
        np.testing.assert_array_equal(a[column], v[column], err_msg=column)
    for column in ("revenue", "profit", "nps_true", "nps_measured", "satisfaction_mean"):
        np.testing.assert_allclose(a[column], v[column], rtol=1e-4, err_msg=column)
    v_tp, a_tp = vector.recorder.touchpoint_table(), agents.recorder.touchpoint_table()
    np.testing.assert_array_equal(a_tp["experiences"], v_tp["experiences"])
    np.testing.assert_array_equal(a_tp["problems"], v_tp["problems"])
    np.testing.assert_allclose(a_tp["satisfaction"], v_tp["satisfaction"], rtol=1e-4)
    v_seg, a_seg = vector.recorder.segment_table(), agents.recorder.segment_table()
    np.testing.assert_array_equal(a_seg["churned"], v_seg["churned"])
    np.testing.assert_allclose(a_seg["revenue"], v_seg["revenue"], rtol=1e-6)


def test_peak_end_breaks_ties_alike_in_float32_and_float64():
    """Moments about equally far from the baseline (within the rounding that separates the
    vector engine's float32 from an agent's float64) count as ties: the first is the peak
    in both."""
    rng = np.random.default_rng(0)
    baseline = rng.uniform(0.4, 0.8, 10_000)
    gap = rng.uniform(0.05, 0.2, 10_000)
    moments = np.column_stack([baseline - gap, baseline + gap])  # equally far, either side
    for x, b in ((moments.astype(np.float32), baseline.astype(np.float32)), (moments, baseline)):
        first = x[:, 0].astype(np.float64)
        mean = x.astype(np.float64).mean(axis=1)
        expected = 0.25 * (first + x[:, 1].astype(np.float64)) + 0.5 * mean
        np.testing.assert_allclose(rules.peak_end(x, b, 0.5), expected, rtol=1e-6)
    assert rules.peak_end([0.2, 0.9, 0.5], 0.5, 1.0)[0] == pytest.approx((0.9 + 0.5) / 2)


@pytest.mark.slow
@pytest.mark.parametrize("network", [{}, SMALL_WORLD], ids=["complete", "small_world"])
def test_engines_agree_in_distribution(baseline, network):
    """Independent seeds for the two engines (no common random numbers): final active
    customers, cumulative revenue and true NPS have the same distribution — Welch's t-test
    does not reject at a family-wise 1 % (Bonferroni over the three metrics and the two
    networks: the engines give identical runs on one seed, so any rejection here is the
    chance of two samples of twelve) and the 95% intervals overlap."""
    scenario = with_overrides(baseline, {"market.size": 800, "months": 12} | network)
    reps = 12
    vector = run(scenario, replications=reps, seed=1, engine="vector").outcomes
    agents = run(scenario, replications=reps, seed=2, engine="agents").outcomes
    for metric in ("active", "revenue_total", "nps_true"):
        a, v = agents[metric].to_numpy(), vector[metric].to_numpy()
        assert a.std() > 0 and not np.array_equal(a, v)  # genuinely independent samples
        assert stats.ttest_ind(a, v, equal_var=False).pvalue > 0.01 / 6, metric
        ia, iv = mean_interval(a), mean_interval(v)
        assert ia["ci_low"] <= iv["ci_high"] and iv["ci_low"] <= ia["ci_high"], metric


@pytest.mark.slow
def test_a_customer_reports_its_journey_history(small):
    model = sim.CXModel(small, seed=6, engine="agents")
    model.run_to_horizon()
    throughout = [p for p in model.agents if len(p.months) == 6]  # a customer all 6 months
    person = max(throughout, key=lambda p: len(p.history))
    journey = person.journey()
    assert list(journey.columns) == [
        "month", "touchpoint", "perceived_quality", "satisfaction", "effort",
    ]  # fmt: skip
    assert set(journey["month"]) <= set(range(1, 7)) and len(journey) >= 6
    assert set(journey["touchpoint"]) <= set(small.journeys[person.profile.journey])
    for column in ("perceived_quality", "satisfaction", "effort"):
        assert journey[column].between(0.0, 1.0).all(), column
    timeline = person.timeline()
    assert list(timeline["month"]) == [1, 2, 3, 4, 5, 6]
    assert set(timeline["status"]) == {"active"} and (timeline["revenue"] > 0).all()
    assert timeline["satisfaction"].between(0.0, 1.0).all()
    assert timeline["satisfaction"].iloc[-1] == pytest.approx(person.satisfaction)
    # Everyone's histories add up to the recorder's touchpoint table.
    counts = pd.concat([p.journey() for p in model.agents if p.history]).value_counts(
        ["month", "touchpoint"]
    )
    table = model.recorder.touchpoint_table().set_index(["month", "touchpoint"])
    met = table["experiences"][table["experiences"] > 0]
    pd.testing.assert_series_equal(
        counts.sort_index(), met.sort_index(), check_names=False, check_index_type=False
    )


@pytest.mark.slow
def test_batch_runs_keep_no_history(small):
    model = finished_model(small, 1, 0, "agents", history=False)
    assert all(p.history is None for p in model.agents)
    assert model.customer(0).journey().empty


def test_agents_engine_refuses_a_market_above_its_limit(baseline, tmp_path, capsys):
    too_big = with_overrides(baseline, {"market.size": AGENTS_ENGINE_MAX_PEOPLE + 1})
    with pytest.raises(sim.ScenarioError, match=r"market\.size") as error:
        sim.CXModel(too_big, engine="agents")
    assert error.value.path == "market.size"
    out = tmp_path / "out"
    args = ["run", BASELINE, "--engine", "agents", "--set", "market.size=300000"]
    assert main([*args, "--out", str(out), "-q"]) == 2
    message = capsys.readouterr().err.strip()
    assert "\n" not in message and "market.size" in message and "300000" in message
    assert f"{AGENTS_ENGINE_MAX_PEOPLE:,}" in message and "vector" in message
    assert not out.exists()
    assert main(["bench", "--engine", "agents", "--customers", "100000", "--months", "1"]) == 2


@pytest.mark.slow
def test_run_and_compare_with_the_agents_engine(tmp_path):
    small = ["--set", "market.size=400", "--months", "3", "-r", "2", "-q"]
    out = tmp_path / "run"
    assert main(["run", BASELINE, "--engine", "agents", "--out", str(out), *small]) == 0
    assert json.loads((out / "manifest.json").read_text())["engine"] == "agents"
    alt = str(PROJECT_ROOT / "scenarios" / "service_excellence.yaml")
    compare = ["compare", BASELINE, alt, "--engine", "agents", "--out", str(tmp_path / "c")]
    assert main([*compare, *small]) == 0


@pytest.mark.slow
def test_bench_agents_engine_json_keys(capsys):
    args = ["bench", "--engine", "agents", "--customers", "3000", "--months", "3", "--json"]
    assert main(args) == 0
    figures = json.loads(capsys.readouterr().out)
    assert list(figures) == BENCH_KEYS
    assert figures["customer_months"] > 3 * 2500 and figures["customer_months_per_s"] > 0
