"""Figures of runs and comparisons (`sim.plots.results`): each draws the numbers of the tables
it is given (docs/model.md §13), checked from the figure's artists rather than its pixels."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from matplotlib._pylab_helpers import Gcf
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.container import BarContainer, ErrorbarContainer
from matplotlib.figure import Figure
from scipy import stats

import sim
from sim.plots import results as plots
from sim.results import PROJECT_ROOT
from sim.scenario import STAGES, load_scenario, with_overrides

SMALL = {
    "market.size": 2000,
    "months": 24,
    "support.mode": "service_level",
    # the premium segment on the standard journey: no journey includes account_manager
    "market.segments.premium.journey": "standard",
}
DESIGN = "invest_design"
CULTURE = "culture_no_spend"


@pytest.fixture(scope="module")
def comparison() -> sim.Comparison:
    """The baseline (2,000 people, 24 months, account_manager never met) against a small
    investment in journey design and against stronger culture without any investment,
    3 replications on common random numbers."""
    base = with_overrides(load_scenario(PROJECT_ROOT / "scenarios" / "baseline.yaml"), SMALL)
    design = with_overrides(
        base,
        {
            "name": DESIGN,
            "firm.capabilities.experience_design": 3.0,
            "firm.investments": [
                {"capability": "experience_design", "per_year": 4000, "end_month": 6}
            ],
        },
    )
    culture = with_overrides(base, {"name": CULTURE, "firm.capabilities.culture": 3.5})
    return sim.compare(base, design, culture, replications=3, seed=3, workers=1)


@pytest.fixture(scope="module")
def result(comparison) -> sim.RunResult:
    return comparison.runs[0]


def t_interval(values) -> tuple[float, float]:
    """The Student-t 95% interval of the mean, computed here from its definition."""
    x = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return x.mean() - half, x.mean() + half


def band_limits(collection) -> pd.DataFrame:
    """Lower and upper edge of a `fill_between` band at each month it spans."""
    vertices = collection.get_paths()[0].vertices
    frame = pd.DataFrame(vertices, columns=["month", "y"])
    return frame.groupby("month")["y"].agg(["min", "max"])


def drawn(fig: Figure) -> Figure:
    """The figure, rendered once off-screen (any error in drawing shows here)."""
    FigureCanvasAgg(fig).draw()
    return fig


def summary_row(comparison, alternative: str, metric: str) -> pd.Series:
    summary = comparison.summary
    rows = summary[(summary["alternative"] == alternative) & (summary["metric"] == metric)]
    assert len(rows) == 1
    return rows.iloc[0]


# ------------------------------------------------------------------------------ time series


def test_time_series_is_the_monthly_mean_with_its_t_interval(result):
    fig = drawn(plots.time_series(result, "revenue"))

    (ax,) = fig.axes
    assert ax.get_xlabel() == "Month"
    assert ax.get_ylabel() == "Revenue (cu)"
    assert "Revenue" in ax.get_title() and "95% interval" in ax.get_title()
    (line,) = ax.get_lines()
    by_month = result.timeseries.groupby("month")["revenue"]
    np.testing.assert_array_equal(line.get_xdata(), by_month.mean().index)
    np.testing.assert_allclose(line.get_ydata(), by_month.mean().to_numpy(), rtol=1e-12)
    (band,) = ax.collections
    limits = band_limits(band)
    for month, values in by_month:
        low, high = t_interval(values)
        assert limits.loc[month, "min"] == pytest.approx(low, rel=1e-9)
        assert limits.loc[month, "max"] == pytest.approx(high, rel=1e-9)


def test_time_series_draws_one_line_per_scenario(comparison):
    names = [run.scenario.name for run in comparison.runs]
    for given in (comparison, comparison.runs):
        fig = plots.time_series(given, "nps_true")
        (ax,) = fig.axes
        assert [line.get_label() for line in ax.get_lines()] == names
        assert [t.get_text() for t in ax.get_legend().get_texts()] == names
        assert ax.get_ylabel() == "True NPS (NPS points, −100 to 100)"
        for line, run in zip(ax.get_lines(), comparison.runs, strict=True):
            mean = run.timeseries.groupby("month")["nps_true"].mean().to_numpy()
            np.testing.assert_allclose(line.get_ydata(), mean, rtol=1e-12)
        assert len(ax.collections) == len(names)


def test_time_series_refuses_an_unknown_metric(result):
    with pytest.raises(ValueError, match=r"unknown metric 'revenu'.*revenue"):
        plots.time_series(result, "revenu")
    with pytest.raises(ValueError, match="no run given"):
        plots.time_series([], "revenue")


# ------------------------------------------------------------------------------ forest


def test_forest_draws_the_summary_differences_and_intervals(comparison):
    metrics = ["profit_npv", "retention_of_initial", "nps_true", "roi"]
    fig = drawn(plots.forest(comparison, metrics))

    assert len(fig.axes) == len(metrics)
    alternatives = [DESIGN, CULTURE]
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [
        "Profit NPV",
        "Retention of the initial customers",
        "True NPS in the last month",
        "ROI of the extra investment",
    ]
    assert fig.axes[0].get_xlabel() == "Difference, alternative − base (cu, present value)"
    assert fig.axes[1].get_xlabel() == "Difference, alternative − base (share, 0–1)"
    for ax, metric in zip(fig.axes, metrics, strict=True):
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert [label.split(" (")[0] for label in labels] == alternatives
        (errorbar,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
        points, _, (whiskers,) = errorbar.lines
        for i, alternative in enumerate(alternatives):
            row = summary_row(comparison, alternative, metric)
            if np.isnan(row["difference"]):
                assert np.isnan(points.get_xdata()[i])
                continue
            assert points.get_xdata()[i] == pytest.approx(row["difference"], rel=1e-12)
            segment = whiskers.get_segments()[i]
            assert segment[0][0] == pytest.approx(row["ci_low"], rel=1e-9)
            assert segment[1][0] == pytest.approx(row["ci_high"], rel=1e-9)
        zero = [line for line in ax.get_lines() if list(line.get_xdata()) == [0, 0]]
        assert len(zero) == 1  # the line of no difference (break-even for ROI)
    # the alternative that invests nothing has no ROI: said, not drawn
    roi_texts = [t.get_text() for t in fig.axes[3].texts]
    assert roi_texts == ["n/a: defined in no replication"]
    assert fig.axes[3].get_yticklabels()[1].get_text() == f"{CULTURE} (0 of 3)"


def test_forest_refuses_an_unknown_metric(comparison):
    with pytest.raises(ValueError, match=r"unknown metric 'profit'.*profit_npv"):
        plots.forest(comparison, ["profit_npv", "profit"])
    with pytest.raises(TypeError, match="Comparison"):
        plots.forest(comparison.runs[0])


# ------------------------------------------------------------------------------ waterfall


def test_profit_waterfall_adds_up_to_the_profit_npv_difference(comparison):
    fig = drawn(plots.profit_waterfall(comparison))

    (ax,) = fig.axes
    assert ax.get_ylabel() == "Difference, alternative − base (cu, present value)"
    assert DESIGN in ax.get_title()
    steps, (total,) = [c for c in ax.containers if isinstance(c, BarContainer)]
    heights = np.array([bar.get_height() for bar in steps])
    bottoms = np.array([bar.get_y() for bar in steps])
    npv = summary_row(comparison, DESIGN, "profit_npv")["difference"]
    assert heights.sum() == pytest.approx(npv, rel=1e-9, abs=1e-6)
    assert total.get_height() == pytest.approx(npv, rel=1e-9, abs=1e-6)
    np.testing.assert_allclose(bottoms[1:], np.cumsum(heights)[:-1], rtol=1e-12)  # floating

    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[:2] == ["Revenue", "Cost of sales"] and labels[-1] == "Profit NPV"
    # the extra investment is a step down of its present value (sim.metrics' investment_pv)
    investment = summary_row(comparison, DESIGN, "investment_pv")["difference"]
    assert investment > 0
    assert heights[labels.index("Capability investment")] == pytest.approx(-investment)
    # what both scenarios pay alike is named under the chart, not drawn
    assert "Advertising" not in labels and "advertising" in ax.get_xlabel()
    unchanged = ax.get_xlabel().replace("\n", " ").removeprefix("No difference in: ").split(", ")
    cost_lines = [c for c in comparison.runs[0].timeseries if c.endswith("_cost")]
    shown = labels[2:-1]
    assert len(shown) + len(unchanged) == len(cost_lines) - 1  # every line but total_cost


def test_waterfall_steps_decompose_each_replication(comparison):
    steps = plots.waterfall_steps(comparison, CULTURE)
    paired = comparison.paired[comparison.paired["alternative"] == CULTURE]
    parts = steps.drop(columns="profit_npv").sum(axis=1)
    np.testing.assert_allclose(parts.to_numpy(), steps["profit_npv"].to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(
        steps["profit_npv"].to_numpy(), paired["profit_npv"].to_numpy(), rtol=1e-9, atol=1e-6
    )
    assert (steps["investment_cost"] == 0).all()


def test_profit_waterfall_refuses_an_unknown_alternative(comparison):
    with pytest.raises(ValueError, match=rf"unknown alternative scenario 'digital'.*{DESIGN}"):
        plots.profit_waterfall(comparison, "digital")


# ------------------------------------------------------------------------------ ROI, payback


def test_roi_payback_shows_every_replication_and_the_ones_that_never_paid_back(comparison):
    fig = drawn(plots.roi_payback(comparison, DESIGN))

    roi_ax, payback_ax = fig.axes
    paired = comparison.paired[comparison.paired["alternative"] == DESIGN]
    roi = paired["roi"].to_numpy()
    assert not np.isnan(roi).any()
    (histogram,) = [c for c in roi_ax.containers if isinstance(c, BarContainer)]
    assert sum(bar.get_height() for bar in histogram) == len(roi)
    (rug,) = [line for line in roi_ax.get_lines() if line.get_label() == "one replication"]
    np.testing.assert_allclose(np.sort(rug.get_xdata()), np.sort(roi))
    assert roi_ax.get_ylabel() == "Replications"
    assert "net return per cu of extra investment" in roi_ax.get_xlabel()

    bars = {c.get_label(): c for c in payback_ax.containers}
    payback = paired["payback_month"].dropna().astype(int).value_counts().sort_index()
    paid = bars["paid back in this month"]
    centres = [bar.get_x() + bar.get_width() / 2 for bar in paid]
    assert centres == pytest.approx(list(payback.index))
    assert [bar.get_height() for bar in paid] == list(payback.to_numpy())
    (never,) = bars["never"]
    assert never.get_height() == paired["payback_month"].isna().sum()
    assert "never" in [t.get_text() for t in payback_ax.get_xticklabels()]
    assert f"({payback.sum()} of 3 replications paid back)" in payback_ax.get_title()


def test_roi_payback_says_when_there_is_no_roi(comparison):
    fig = drawn(plots.roi_payback(comparison, CULTURE))

    roi_ax, payback_ax = fig.axes
    (text,) = roi_ax.texts
    assert text.get_text().startswith("No ROI")
    assert not [c for c in roi_ax.containers if isinstance(c, BarContainer)]
    paired = comparison.paired[comparison.paired["alternative"] == CULTURE]
    (never,) = {c.get_label(): c for c in payback_ax.containers}["never"]
    assert never.get_height() == paired["payback_month"].isna().sum()


# ------------------------------------------------------------------------------ J-curve


@pytest.mark.parametrize("alternative", [DESIGN, CULTURE])
def test_j_curve_is_the_cumulative_incremental_npv(comparison, alternative):
    fig = drawn(plots.j_curve(comparison, alternative))

    (ax,) = fig.axes
    assert ax.get_xlabel() == "Month"
    assert ax.get_ylabel() == "Cumulative extra profit (cu, present value)"
    base = comparison.runs[0].timeseries.set_index(["replication", "month"])
    runs = {run.scenario.name: run for run in comparison.runs}
    alt = runs[alternative].timeseries.set_index(["replication", "month"])
    incremental = (alt["npv_to_date"] - base["npv_to_date"]).groupby("month")
    line = next(line for line in ax.get_lines() if line.get_label().startswith("mean"))
    np.testing.assert_allclose(
        line.get_ydata(), incremental.mean().to_numpy(), rtol=1e-6, atol=1e-6
    )
    npv = summary_row(comparison, alternative, "profit_npv")["difference"]
    assert line.get_ydata()[-1] == pytest.approx(npv, rel=1e-9, abs=1e-6)
    limits = band_limits(ax.collections[0])
    for month, values in incremental:
        low, high = t_interval(values)
        assert limits.loc[month, "min"] == pytest.approx(low, rel=1e-6, abs=1e-6)
        assert limits.loc[month, "max"] == pytest.approx(high, rel=1e-6, abs=1e-6)
    assert any(list(line.get_ydata()) == [0, 0] for line in ax.get_lines())  # the zero line

    payback = summary_row(comparison, alternative, "payback_month")
    marks = [line for line in ax.get_lines() if line.get_label().startswith("payback month")]
    if payback["n"] > 0:
        (mark,) = marks
        assert list(mark.get_xdata()) == [payback["difference"]] * 2
        assert f"of {int(payback['n'])} of 3 replications" in mark.get_label()
    else:
        assert not marks
        assert "no payback within the horizon" in [t.get_text() for t in ax.get_legend().texts]


def test_j_curve_says_when_no_replication_pays_back(comparison):
    summary = comparison.summary.copy()
    payback = summary["metric"] == "payback_month"
    summary.loc[payback, ["difference", "ci_low", "ci_high"]] = np.nan
    summary.loc[payback, "n"] = 0
    fig = plots.j_curve(dataclasses.replace(comparison, summary=summary), DESIGN)

    (ax,) = fig.axes
    assert not [line for line in ax.get_lines() if line.get_label().startswith("payback")]
    assert "no payback within the horizon" in [t.get_text() for t in ax.get_legend().texts]


def test_j_curve_names_a_missing_column(comparison):
    base, *alternatives = comparison.runs
    stripped = dataclasses.replace(base, timeseries=base.timeseries.drop(columns="profit"))
    broken = dataclasses.replace(comparison, runs=[stripped, *alternatives])
    with pytest.raises(ValueError, match="time series has no column 'profit'"):
        plots.j_curve(broken)


# ------------------------------------------------------------------------------ tornado

STUDY = pd.DataFrame(
    {
        "assumption": ["Word of mouth", "Gross margin", "Churn sensitivity"],
        "low_value": [0.015, 0.45, 4.5],
        "high_value": [0.025, 0.75, 7.5],
        "low": [-410_000.0, -497_000.0, -380_000.0],
        "high": [-385_000.0, -293_000.0, -428_000.0],
    }
)
"""A one-at-a-time study of a profit NPV difference: churn sensitivity lowers it when it
rises, and one assumption's results both lie on one side of the base case."""
STUDY_BASE = -395_000.0


def test_tornado_bars_are_the_study_around_the_base_case():
    fig = drawn(plots.tornado(STUDY, STUDY_BASE))

    (ax,) = fig.axes
    low_bars, high_bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert low_bars.get_label() == "assumption at its low value"
    assert high_bars.get_label() == "assumption at its high value"
    # rows by swing |high - low|, the widest on top (y = 0)
    order = ["Gross margin", "Churn sensitivity", "Word of mouth"]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "Gross margin\n(low 0.45, high 0.75)",
        "Churn sensitivity\n(low 4.5, high 7.5)",
        "Word of mouth\n(low 0.015, high 0.025)",
    ]
    assert ax.get_ylim()[0] > ax.get_ylim()[1]  # the first row at the top
    study = STUDY.set_index("assumption").loc[order]
    for i, (bars, column, side) in enumerate([(low_bars, "low", -1), (high_bars, "high", 1)]):
        for row, bar in enumerate(bars):
            # the low value's bar above the row's centre, the high value's below it
            centre = bar.get_y() + bar.get_height() / 2
            assert side * (centre - row) > 0 and abs(centre - row) < 0.5
            # from the base case to the outcome at the value (leftwards when below it)
            assert bar.get_x() == STUDY_BASE, (i, row)
            end = study[column].iloc[row]
            assert bar.get_x() + bar.get_width() == pytest.approx(end, rel=1e-12), (i, row)
    (line,) = [line for line in ax.get_lines() if line.get_label().startswith("base case")]
    assert list(line.get_xdata()) == [STUDY_BASE, STUDY_BASE]
    assert line.get_label() == "base case (-395,000)"
    assert ax.get_xlabel() == "Profit NPV, alternative − base (cu, present value)"
    assert "3 assumptions" in ax.get_title()

    plain = plots.tornado(STUDY, STUDY_BASE, metric="nps_true", paired=False, title="NPS")
    assert plain.axes[0].get_xlabel() == "True NPS in the last month (NPS points, −100 to 100)"
    assert plain.axes[0].get_title() == "NPS"


def test_tornado_refuses_what_it_cannot_draw():
    with pytest.raises(ValueError, match="tornado table has no column 'high_value'"):
        plots.tornado(STUDY.drop(columns="high_value"), STUDY_BASE)
    with pytest.raises(ValueError, match="no row"):
        plots.tornado(STUDY.iloc[:0], STUDY_BASE)
    twice = pd.concat([STUDY, STUDY.iloc[[1]]], ignore_index=True)
    with pytest.raises(ValueError, match="more than once: 'Gross margin'"):
        plots.tornado(twice, STUDY_BASE)
    missing = STUDY.assign(high=[np.nan, -293_000.0, -428_000.0])
    with pytest.raises(ValueError, match="assumption 'Word of mouth'"):
        plots.tornado(missing, STUDY_BASE)
    with pytest.raises(ValueError, match="base"):
        plots.tornado(STUDY, float("nan"))
    with pytest.raises(TypeError, match="DataFrame"):
        plots.tornado(STUDY.to_dict(), STUDY_BASE)


# ------------------------------------------------------------------------------ touchpoints


def expected_cell(table: pd.DataFrame, touchpoint: str, month: int, value: str) -> float:
    cell = table[(table["touchpoint"] == touchpoint) & (table["month"] == month)][value]
    return float(np.nanmean(cell)) if cell.notna().any() else np.nan


def test_touchpoint_heatmap_is_the_mean_over_replications_nan_where_unused(result):
    fig = drawn(plots.touchpoint_heatmap(result))

    ax, colourbar = fig.axes
    assert ax.get_xlabel() == "Month" and ax.get_ylabel() == "Touchpoint (stage)"
    assert colourbar.get_ylabel() == "Mean transaction satisfaction (quality scale, 0–1)"
    assert "Mean transaction satisfaction" in fig.get_suptitle()
    touchpoints = result.scenario.touchpoints
    order = sorted(touchpoints, key=lambda name: STAGES.index(touchpoints[name].stage))
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert [label.split(" (")[0] for label in labels] == order
    assert labels[order.index("account_manager")] == "account_manager (use, never met)"

    array = ax.collections[0].get_array().filled(np.nan)
    table = result.touchpoints
    months = sorted(table["month"].unique())
    assert array.shape == (len(order), len(months))
    expected = np.array(
        [[expected_cell(table, t, m, "satisfaction") for m in months] for t in order]
    )
    np.testing.assert_allclose(array, expected, rtol=1e-12)
    assert np.isnan(array[order.index("account_manager")]).all()
    assert np.isnan(array).sum() > len(months)  # on-join touchpoints also have empty months


def test_touchpoint_heatmap_counts_interactions(result):
    fig = plots.touchpoint_heatmap(result, "experiences")
    ax, colourbar = fig.axes
    array = ax.collections[0].get_array().filled(np.nan)
    counts = result.touchpoints.pivot_table(
        index="touchpoint", columns="month", values="experiences", aggfunc="mean"
    )
    touchpoints = result.scenario.touchpoints
    order = sorted(touchpoints, key=lambda name: STAGES.index(touchpoints[name].stage))
    np.testing.assert_allclose(array, counts.loc[order].to_numpy(), rtol=1e-12)
    assert colourbar.get_ylabel() == "Interactions (interactions per month)"


def test_touchpoint_heatmap_refuses_an_unknown_value(result):
    with pytest.raises(ValueError, match=r"unknown metric 'satisfaction_mean'.*satisfaction"):
        plots.touchpoint_heatmap(result, "satisfaction_mean")


def test_journey_funnel_stacks_each_stage_in_journey_order(result):
    fig = drawn(plots.journey_funnel(result))

    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == list(STAGES)
    assert ax.get_ylabel() == "Journey stage"
    assert ax.get_xlabel().startswith("Interactions per month")
    table = result.touchpoints
    per_month = table.groupby("touchpoint")["experiences"].sum() / (
        table["replication"].nunique() * table["month"].nunique()
    )
    stage_of = {name: tp.stage for name, tp in result.scenario.touchpoints.items()}
    in_order = [t for stage in STAGES for t in stage_of if stage_of[t] == stage]
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert [c.get_label().split(" ")[0] for c in bars] == in_order
    stacked: dict[str, float] = {}  # each stage's bars end to end, in the journey's order
    for bar_container, touchpoint in zip(bars, in_order, strict=True):
        (bar,) = bar_container
        stage = stage_of[touchpoint]
        assert bar.get_y() + bar.get_height() / 2 == pytest.approx(STAGES.index(stage))
        assert bar.get_x() == pytest.approx(stacked.get(stage, 0.0))
        assert bar.get_width() == pytest.approx(per_month[touchpoint], rel=1e-12)
        stacked[stage] = bar.get_x() + bar.get_width()
    use = per_month[["account_manager", "product_use"]].sum()
    assert stacked["use"] == pytest.approx(use)
    assert "account_manager (never met)" in [c.get_label() for c in bars]
    assert " no touchpoint at this stage" in [t.get_text() for t in ax.texts]  # delivery


# ------------------------------------------------------------------------------ no global state


def test_figures_stay_out_of_pyplot(comparison, result):
    before = len(Gcf.get_all_fig_managers())
    figures = [
        plots.time_series(comparison, "active"),
        plots.forest(comparison),
        plots.profit_waterfall(comparison),
        plots.roi_payback(comparison),
        plots.j_curve(comparison),
        plots.tornado(STUDY, STUDY_BASE),
        plots.touchpoint_heatmap(result),
        plots.journey_funnel(result),
    ]
    assert all(isinstance(fig, Figure) for fig in figures)
    assert len(Gcf.get_all_fig_managers()) == before
