"""`sim.plots.studies.diffusion_curves`: adoption of several runs against the Bass curve.

The figure is built from small real runs of a diffusion market (no initial customers, no
churn, word of mouth from customers) under complete mixing and on a Watts–Strogatz network,
and read back from its artists: the lines must be the runs' mean adopted shares and monthly
adoption, the bands their 95 % intervals, and the dashed line the Bass closed form.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_plots_studies import rendered

import sim
from sim.customers.rules import bass_cumulative
from sim.plots import studies
from sim.scenario import scenario_from_dict
from sim.stats import mean_interval

P, Q, SIZE, MONTHS = 0.01, 0.3, 600, 8


def diffusion(kind: str) -> sim.RunResult:
    scenario = scenario_from_dict(
        {
            "name": kind,
            "months": MONTHS,
            "market": {
                "size": SIZE,
                "initial_customers": 0.0,
                "segments": [{"name": "all", "churn_per_month": 0.0}],
                "network": {"kind": kind, "mean_degree": 6},
            },
            "acquisition": {
                "advertising_per_month": P,
                "imitation_per_month": Q,
                "word_of_mouth": "customers",
            },
            "behaviour": {
                "churn": {"satisfaction_effect": 0.0, "effort_effect": 0.0,
                          "renewal_max_leave": 0.0},
                "purchase": {"repeat_per_month": 0.0, "upsell_per_month": 0.0},
            },
            "support": {"mode": "service_level"},
        }
    )  # fmt: skip
    return sim.run(scenario, replications=3, seed=11, workers=1)


@pytest.fixture(scope="module")
def runs() -> list[sim.RunResult]:
    return [diffusion("complete"), diffusion("watts_strogatz")]


def line(ax, label: str):
    (found,) = [a for a in ax.get_lines() if a.get_label() == label]
    return found


def test_curves_are_each_runs_mean_adoption_with_its_interval(runs):
    fig = rendered(studies.diffusion_curves(runs, P, Q))
    top, bottom = fig.axes
    month = np.arange(1, MONTHS + 1, dtype=float)
    for index, run in enumerate(runs):
        acquired = run.timeseries.pivot(index="month", columns="replication", values="acquired")
        monthly = acquired / SIZE
        for ax, shares in ((top, monthly.cumsum()), (bottom, monthly)):
            drawn = line(ax, run.scenario.name)
            np.testing.assert_array_equal(drawn.get_xdata(), month)
            expected = [mean_interval(row) for _, row in shares.iterrows()]
            np.testing.assert_allclose(drawn.get_ydata(), [e["mean"] for e in expected])
            band = ax.collections[index].get_paths()[0].vertices
            assert band[:, 1].min() == pytest.approx(min(e["ci_low"] for e in expected))
            assert band[:, 1].max() == pytest.approx(max(e["ci_high"] for e in expected))
    # Without churn the customers acquired to date are the active customers.
    complete = runs[0].timeseries.groupby("month")["active"].mean().to_numpy() / SIZE
    np.testing.assert_allclose(line(top, "complete").get_ydata(), complete, rtol=1e-12)


def test_bass_closed_form_and_its_monthly_steps_are_drawn(runs):
    fig = studies.diffusion_curves(runs, P, Q)
    top, bottom = fig.axes
    label = f"Bass closed form (p = {P:g}, q = {Q:g})"
    grid = np.arange(0, MONTHS + 1, dtype=float)
    closed = line(top, label)
    np.testing.assert_array_equal(closed.get_xdata(), grid)
    np.testing.assert_allclose(closed.get_ydata(), bass_cumulative(grid, P, Q))
    step = line(bottom, label)
    np.testing.assert_array_equal(step.get_xdata(), grid[1:])
    np.testing.assert_allclose(step.get_ydata(), np.diff(bass_cumulative(grid, P, Q)))
    assert top.get_ylabel() == "Share of the market adopted (0–1)"
    assert bottom.get_ylabel() == "Share adopting in the month (0–1)"
    assert bottom.get_xlabel() == "Months since the start"
    assert [t.get_text() for t in top.get_legend().get_texts()] == [
        "complete", "watts_strogatz", label,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (([], P, Q), "runs: got none"),
        ((None, 0.0, Q), "advertising_per_month"),
        ((None, P, -0.1), "imitation_per_month"),
    ],
)
def test_bad_input_is_named(runs, arguments, message):
    given, p, q = arguments
    with pytest.raises(ValueError, match=message):
        studies.diffusion_curves(runs if given is None else given, p, q)
