"""Figures for teaching service (`sim.plots.service`): what is drawn is the numbers of the
tables — the closed forms of the contact centre at each headcount, the customers each run
won by advertising and by word of mouth, each run's outcomes with their intervals."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.container import BarContainer, ErrorbarContainer
from matplotlib.figure import Figure
from test_plots_studies import rendered

import sim
from sim.plots import service
from sim.results import PROJECT_ROOT
from sim.stats import mean_interval
from sim.support.contact_centre import agents_for_service_level, erlang_a, erlang_c

BASELINE = PROJECT_ROOT / "scenarios" / "baseline.yaml"
RATE, AHT, PATIENCE = 60.0, 420.0, 240.0


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return service.staffing_table(RATE, AHT, range(6, 14), PATIENCE)


@pytest.fixture(scope="module")
def small_runs() -> sim.Comparison:
    """The baseline on 400 people for 4 months, with and without word of mouth."""
    base = sim.with_overrides(
        sim.load_scenario(BASELINE),
        {"market.size": 400, "months": 4, "support.mode": "service_level"},
    )
    quiet = sim.with_overrides(base, {"name": "quiet", "acquisition.imitation_per_month": 0.0})
    return sim.compare(base, quiet, replications=2, seed=11, workers=1)


def line(ax, label: str):
    return next(artist for artist in ax.get_lines() if artist.get_label() == label)


# ------------------------------------------------------------------------- staffing


def test_the_staffing_table_is_the_closed_forms_at_each_headcount(table):
    assert list(table.columns) == list(service.STAFFING_COLUMNS)
    assert table["agents"].tolist() == list(range(6, 14))
    for row in table.itertuples(index=False):
        c = erlang_c(RATE, AHT, row.agents)
        a = erlang_a(RATE, AHT, row.agents, PATIENCE)
        assert row.offered_load_erlangs == pytest.approx(7.0)
        assert row.service_level_c == c.service_level and row.asa_seconds_c == c.asa_seconds
        assert row.occupancy == c.occupancy
        assert row.service_level_a == a.service_level and row.asa_seconds_a == a.asa_seconds
        assert row.abandon_rate_a == a.abandon_rate
    # below the load Erlang C never settles; Erlang A does, with hang-ups
    overloaded = table[table["agents"] <= 7]
    assert np.isinf(overloaded["asa_seconds_c"]).all()
    assert (overloaded["abandon_rate_a"] > 0.1).all()


def test_the_staffing_curve_draws_the_table_and_marks_the_target(table):
    fig = rendered(service.staffing_curve(table, 0.8))
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    left, middle, right = fig.axes
    agents = table["agents"].to_numpy()
    np.testing.assert_array_equal(line(left, "Erlang C (nobody hangs up)").get_xdata(), agents)
    np.testing.assert_allclose(
        line(left, "Erlang C (nobody hangs up)").get_ydata(), table["service_level_c"]
    )
    np.testing.assert_allclose(
        line(left, "Erlang A (callers hang up)").get_ydata(), table["service_level_a"]
    )
    target = line(left, "target 80% within 20 s")
    np.testing.assert_allclose(target.get_ydata(), [0.8, 0.8])
    fewest = agents_for_service_level(RATE, AHT, 0.8, 20.0)
    marked = line(left, f"fewest agents on target (Erlang C): {fewest}")
    np.testing.assert_allclose(marked.get_xdata(), [fewest, fewest])
    # Erlang C's infinite waits are left out of the speed of answer
    finite = np.isfinite(table["asa_seconds_c"])
    np.testing.assert_allclose(line(middle, "Erlang C").get_ydata(), table["asa_seconds_c"][finite])
    np.testing.assert_allclose(line(middle, "Erlang A").get_ydata(), table["asa_seconds_a"])
    np.testing.assert_allclose(
        line(right, "callers who hang up (Erlang A)").get_ydata(), table["abandon_rate_a"]
    )
    assert "7.0 erlangs" in fig.get_suptitle()


def test_staffing_refuses_what_it_cannot_draw(table):
    with pytest.raises(ValueError, match="agents"):
        service.staffing_table(RATE, AHT, [], PATIENCE)
    with pytest.raises(ValueError, match="missing occupancy"):
        service.staffing_curve(table.drop(columns="occupancy"))
    with pytest.raises(ValueError, match="target_service_level"):
        service.staffing_curve(table, 1.2)


# ------------------------------------------------------------------------- word of mouth


def test_acquisition_sources_stack_advertising_and_word_of_mouth(small_runs):
    runs = small_runs.runs
    fig = rendered(service.acquisition_sources(runs))
    (ax,) = fig.axes
    bars = {c.get_label(): c for c in ax.containers if isinstance(c, BarContainer)}
    word = [bar.get_height() for bar in bars["won by word of mouth"]]
    advert = [bar.get_height() for bar in bars["won by advertising"]]
    for i, run in enumerate(runs):
        per_rep = run.timeseries.groupby("replication")[
            ["acquired_prospects", "acquired_by_word_of_mouth"]
        ].mean()
        assert word[i] == pytest.approx(per_rep["acquired_by_word_of_mouth"].mean())
        assert advert[i] + word[i] == pytest.approx(per_rep["acquired_prospects"].mean())
    # the run without word of mouth wins nobody by it
    assert word[1] == 0.0
    assert any(isinstance(c, ErrorbarContainer) for c in ax.containers)
    assert [t.get_text() for t in ax.get_xticklabels()] == [r.scenario.name for r in runs]


def test_acquisition_sources_refuses_runs_it_cannot_read(small_runs):
    with pytest.raises(ValueError, match="none"):
        service.acquisition_sources([])
    run = small_runs.runs[0]
    broken = dataclasses.replace(run, timeseries=run.timeseries.drop(columns="acquired_prospects"))
    with pytest.raises(ValueError, match="acquired_prospects"):
        service.acquisition_sources([broken])


# ------------------------------------------------------------------------- outcome ladder


def test_the_outcome_ladder_draws_each_runs_mean_and_interval(small_runs):
    metrics = ["nps_true", "active"]
    fig = rendered(service.outcome_ladder(small_runs, metrics))
    assert len(fig.axes) == len(metrics)
    for ax, metric in zip(fig.axes, metrics, strict=True):
        (container,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
        data_line, _, (bars,) = container.lines
        for i, run in enumerate(small_runs.runs):
            interval = mean_interval(run.outcomes[metric])
            assert data_line.get_ydata()[i] == pytest.approx(interval["mean"])
            segment = bars.get_segments()[i]
            assert segment[0][1] == pytest.approx(interval["ci_low"])
            assert segment[1][1] == pytest.approx(interval["ci_high"])
        assert [t.get_text() for t in ax.get_xticklabels()] == ["baseline", "quiet"]
    # a list of runs draws the same as the comparison
    again = service.outcome_ladder(small_runs.runs, "nps_true")
    assert len(again.axes) == 1 and math.isfinite(again.axes[0].get_ylim()[0])


def test_the_outcome_ladder_refuses_unknown_outcomes(small_runs):
    with pytest.raises(ValueError, match="lack no_such"):
        service.outcome_ladder(small_runs, "no_such")
    with pytest.raises(ValueError, match="one or more"):
        service.outcome_ladder([], "nps_true")
