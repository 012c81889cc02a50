"""The lesson figures of `sim.plots.journeys` draw the data they are given, and the
conservative NPS margin of error (`sim.customers.surveys.nps_margin_of_error`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from test_plots_studies import rendered

import sim
from sim.customers import rules
from sim.customers.surveys import nps_margin_of_error
from sim.plots import journeys as figures
from sim.scenario import with_overrides

WEIGHT = 0.5
ORDER = ["product_use", "support_contact", "billing"]


@pytest.fixture(scope="module")
def small_runs():
    base = sim.load_scenario(sim.PROJECT_ROOT / "scenarios/baseline.yaml")
    base = with_overrides(base, {"market.size": 400, "months": 4, "support.mode": "erlang"})
    raised = with_overrides(base, {"touchpoints.product_use.base_quality": 0.9, "name": "raised"})
    lowered = with_overrides(base, {"touchpoints.product_use.base_quality": 0.7, "name": "lowered"})
    return sim.compare(base, raised, lowered, replications=2, seed=3, workers=1)


def one_customer():
    journey = pd.DataFrame(
        {
            "month": [1, 1, 2, 2, 2],
            "touchpoint": ["billing", "product_use", "product_use", "support_contact", "billing"],
            "satisfaction": [0.8, 0.7, 0.75, 0.2, 0.8],
        }
    )
    timeline = pd.DataFrame(
        {"month": [1, 2], "episode": [0.74, np.nan], "satisfaction": [0.76, 0.7],
         "expectation": [0.75, 0.74]}
    )  # fmt: skip
    timeline.loc[1, "episode"] = rules.peak_end(np.array([0.75, 0.2, 0.8]), 0.76, WEIGHT)[0]
    return journey, timeline


def test_remembered_months_orders_moments_by_stage_and_recalls_the_episode():
    journey, timeline = one_customer()
    table = figures.remembered_months(journey, timeline, ORDER, WEIGHT)
    assert list(table["month"]) == [1, 2]
    first, second = table.iloc[0], table.iloc[1]
    assert first["end"] == 0.8 and np.isnan(first["prior"]) and np.isnan(first["recalled"])
    assert second["peak_touchpoint"] == "support_contact" and second["peak"] == 0.2
    assert second["mean"] == pytest.approx(1.75 / 3)
    assert second["recalled"] == pytest.approx(second["episode"], abs=1e-12)
    with pytest.raises(ValueError, match="not in"):
        figures.remembered_months(journey, timeline, ORDER[:2], WEIGHT)
    with pytest.raises(ValueError, match="missing columns"):
        figures.remembered_months(journey.drop(columns="satisfaction"), timeline, ORDER, WEIGHT)


def test_customer_journey_draws_every_moment_and_the_memory():
    journey, timeline = one_customer()
    fig = rendered(figures.customer_journey(journey, timeline, ORDER, WEIGHT, title="x"))
    ax = fig.axes[0]
    dots = sum(len(c.get_offsets()) for c in ax.collections)
    assert dots == len(journey)
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_allclose(
        lines["remembered month (peak-end)"].get_ydata(), timeline["episode"]
    )
    np.testing.assert_allclose(
        lines["cumulative satisfaction"].get_ydata(), timeline["satisfaction"]
    )
    assert ax.get_title() == "x"


def test_satisfaction_rule_draws_the_models_rule_and_marks_gain_and_loss():
    fig = rendered(figures.satisfaction_rule(0.75, 0.02, 0.5, 2.0, step=0.1))
    ax = fig.axes[0]
    rule = next(line for line in ax.get_lines() if line.get_label().startswith("the model's rule"))
    q = np.asarray(rule.get_xdata())
    expected = rules.transaction_satisfaction(q, rules.disconfirmation(q, 0.75, 0.02), 0.5, 2.0)
    np.testing.assert_allclose(rule.get_ydata(), expected)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("gain from +0.1 quality: +0.150") for t in labels)
    assert any(t.startswith("loss from −0.1 quality: -0.200") for t in labels)
    with pytest.raises(ValueError):
        figures.satisfaction_rule(0.75, 0.02, 0.5, 0.5)


def test_gains_and_losses_bars_are_the_paired_means(small_runs):
    metrics = ["satisfaction_mean", "nps_true"]
    fig = rendered(figures.gains_and_losses(small_runs, "raised", "lowered", metrics))
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    paired = small_runs.paired
    for ax, metric in zip(fig.axes, metrics, strict=True):
        heights = [p.get_height() for p in ax.patches]
        up = paired.loc[paired["alternative"] == "raised", metric].mean()
        down = -paired.loc[paired["alternative"] == "lowered", metric].mean()
        np.testing.assert_allclose(heights, [up, down])
    with pytest.raises(ValueError, match="not in the comparison"):
        figures.gains_and_losses(small_runs, "raised", "nope", metrics)


def test_survey_figures_show_measured_against_true(small_runs):
    base, raised = small_runs.runs[0], small_runs.runs[1]
    table = figures.survey_error_table(base, "nps")
    ts = base.timeseries
    np.testing.assert_allclose(table["error"], ts["nps_measured"] - ts["nps_true"])
    fig = rendered(figures.measured_vs_true(base, "nps"))
    ax = fig.axes[0]
    assert len(ax.collections[1].get_offsets()) == len(ts)  # band first, then the dots
    true = next(line for line in ax.get_lines() if line.get_label() == "true NPS")
    np.testing.assert_allclose(true.get_ydata(), ts.groupby("month")["nps_true"].mean())
    rendered(figures.measured_vs_true(base, "ces"))
    fig = rendered(figures.survey_errors({"a": base, "b": raised}, "csat"))
    assert len(fig.axes[0].patches) == 2
    fig = rendered(figures.nps_difference(base, raised))
    line = next(line for line in fig.axes[0].get_lines() if line.get_label() == "true difference")
    first = ts["replication"] == ts["replication"].min()
    other = raised.timeseries
    np.testing.assert_allclose(
        line.get_ydata(),
        other.loc[other["replication"] == other["replication"].min(), "nps_true"].to_numpy()
        - ts.loc[first, "nps_true"].to_numpy(),
    )
    with pytest.raises(ValueError, match="metric"):
        figures.measured_vs_true(base, "loyalty")
    with pytest.raises(ValueError, match="replication"):
        figures.nps_difference(base, raised, replication=99)


def test_nps_margin_of_error_bounds_the_standard_error():
    np.testing.assert_allclose(nps_margin_of_error([100, 400]), [19.6, 9.8])
    assert np.isnan(nps_margin_of_error(0))
    # the bound holds for any mix of promoters and detractors
    for p, d in [(0.5, 0.5), (0.3, 0.2), (0.9, 0.0)]:
        se = 100 * np.sqrt((p + d - (p - d) ** 2) / 150)
        assert 1.96 * se <= nps_margin_of_error(150) + 1e-12
