"""Figures of studies (`sim.plots.studies`): what is drawn is the numbers of the tables.

Each figure is built from a small real study — a Sobol' and a Morris sweep, a PRIM discovery,
docking runs against geometric survival, Bass and Erlang A/C — and read back from its
artists: bar widths, error bars, points and lines must equal the table's numbers (or the
project's closed forms at the same points), not merely look right.
"""

from __future__ import annotations

import dataclasses
import io
import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib import _pylab_helpers
from matplotlib.collections import PathCollection
from matplotlib.container import BarContainer, ErrorbarContainer
from matplotlib.figure import Figure

import sim
from sim.customers.rules import bass_cumulative
from sim.experiments.discover import discover
from sim.experiments.prim import Box, PrimResult
from sim.experiments.sweep import run_sweep
from sim.plots import studies
from sim.plots.labels import outcome_name, outcome_unit
from sim.results import PROJECT_ROOT
from sim.scenario import scenario_from_dict
from sim.support.contact_centre import erlang_a, erlang_c, simulate

BASELINE = PROJECT_ROOT / "scenarios" / "baseline.yaml"
PARAMETERS = {
    "firm.capabilities.technology": {"range": [1.0, 4.0]},
    "economics.gross_margin": {"range": [0.2, 0.8]},
}
OUTCOMES = ["retention_of_initial", "profit_npv", "nps_true"]
NO_FEEDBACK = {
    "churn": {"satisfaction_effect": 0.0, "effort_effect": 0.0, "renewal_max_leave": 0.0},
    "purchase": {"repeat_per_month": 0.0, "upsell_per_month": 0.0},
}


def sweep_spec(**fields) -> dict:
    """A tiny sweep of the baseline: 600 people, 3 months, the service-level desk."""
    return {
        "name": "plots",
        "base": str(BASELINE),
        "design": "sobol",
        "samples": 8,
        "replications": 1,
        "seed": 5,
        "months": 3,
        "set": {"market.size": 600, "support.mode": "service_level"},
        "parameters": PARAMETERS,
        "outcomes": OUTCOMES,
    } | fields


@pytest.fixture(scope="module")
def sobol(tmp_path_factory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("sobol") / "sweep"
    return run_sweep(sweep_spec(), workers=1, out=out).sensitivity


@pytest.fixture(scope="module")
def morris(tmp_path_factory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("morris") / "sweep"
    spec = sweep_spec(design="morris", samples=4, morris_levels=4)
    return run_sweep(spec, workers=1, out=out).sensitivity


@pytest.fixture(scope="module")
def discovery(tmp_path_factory) -> tuple[PrimResult, pd.DataFrame]:
    """PRIM on a 40-run Latin hypercube: profit above its median and NPS above its 30th
    percentile (both parameters matter), with the sweep's runs table."""
    out = tmp_path_factory.mktemp("discovery") / "sweep"
    runs = run_sweep(sweep_spec(design="latin_hypercube", samples=40), workers=1, out=out).runs
    profit, nps = runs["profit_npv"].median(), runs["nps_true"].quantile(0.3)
    result = discover(out, [f"profit_npv > {profit}", f"nps_true > {nps}"], max_boxes=2)
    return result, runs


def docking_scenario(name: str, months: int, **sections):
    return scenario_from_dict(
        {"name": name, "months": months, "behaviour": NO_FEEDBACK}
        | {"support": {"mode": "service_level"}}
        | sections
    )


@pytest.fixture(scope="module")
def survival_run() -> pd.DataFrame:
    """Geometric survival (tests/test_docking.py's set-up): 1,200 customers, 3% a month."""
    scenario = docking_scenario(
        "geometric", 10,
        market={
            "size": 1200, "initial_customers": 1.0,
            "segments": [{"name": "all", "churn_per_month": 0.03, "churn_frailty_sd": 0.0}],
        },
        acquisition={"advertising_per_month": 0.0, "imitation_per_month": 0.0},
    )  # fmt: skip
    return sim.run(scenario, replications=2, seed=7, workers=1).timeseries


@pytest.fixture(scope="module")
def bass_run() -> pd.DataFrame:
    """Bass diffusion (tests/test_docking.py's set-up) in a market of 1,200, no churn."""
    scenario = docking_scenario(
        "bass", 10,
        market={
            "size": 1200, "initial_customers": 0.0,
            "segments": [{"name": "all", "churn_per_month": 0.0}],
        },
        acquisition={
            "advertising_per_month": 0.01, "imitation_per_month": 0.3,
            "word_of_mouth": "customers",
        },
    )  # fmt: skip
    return sim.run(scenario, replications=2, seed=3, workers=1).timeseries


@pytest.fixture(scope="module")
def centre() -> pd.DataFrame:
    """The SimPy contact centre at four loads (10 agents, AHT 180 s, patience 300 s), 5 hours
    each, listed out of load order."""
    rows = []
    for calls in (220, 100, 160, 190):
        result = simulate(calls, 180, 10, 5, np.random.default_rng(calls), 300)
        settings = {"calls_per_hour": calls, "aht_seconds": 180, "agents": 10}
        rows.append(settings | {"patience_seconds": 300} | dataclasses.asdict(result.metrics))
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- helpers


def bars(ax, label: str) -> BarContainer:
    (found,) = [c for c in ax.containers if isinstance(c, BarContainer) and c.get_label() == label]
    return found


def widths(container: BarContainer) -> np.ndarray:
    return np.array([patch.get_width() for patch in container])


def lefts(container: BarContainer) -> np.ndarray:
    return np.array([patch.get_x() for patch in container])


def error_spans(errorbar: ErrorbarContainer) -> np.ndarray:
    """The (from, to) x of each horizontal error bar."""
    segments = errorbar.lines[2][0].get_segments()
    return np.array([[segment[0][0], segment[1][0]] for segment in segments])


def line(ax, label: str):
    (found,) = [artist for artist in ax.get_lines() if artist.get_label() == label]
    return found


def tick_labels(ax) -> list[str]:
    return [t.get_text() for t in ax.get_yticklabels()]


def rendered(fig: Figure) -> Figure:
    """`fig`, drawn to PNG in memory (small): it draws without a display, and its layout
    fits (matplotlib warns when constrained layout cannot place the panels)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig.savefig(buffer, format="png", dpi=30)
    assert buffer.getvalue().startswith(b"\x89PNG")
    return fig


# ---------------------------------------------------------------------------- sensitivity


def test_sobol_bars_are_the_indices_with_their_intervals(sobol):
    fig = rendered(studies.sobol_indices(sobol))
    assert isinstance(fig, Figure) and len(fig.axes) == len(OUTCOMES)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [f"Sobol' indices: {outcome_name(outcome)}" for outcome in OUTCOMES]
    for ax, outcome in zip(fig.axes, OUTCOMES, strict=True):
        rows = sobol[sobol["outcome"] == outcome]
        assert rows[["S1", "ST"]].notna().all().all()
        assert tick_labels(ax) == list(PARAMETERS)
        assert ax.get_xlabel() == "Share of the outcome's variance (0–1)"
        for column, label in (
            ("S1", "first order S1 (alone)"),
            ("ST", "total ST (with interactions)"),
        ):
            container = bars(ax, label)
            np.testing.assert_allclose(widths(container), rows[column], rtol=1e-12)
            np.testing.assert_array_equal(lefts(container), 0.0)
            value, half = rows[column].to_numpy(), rows[f"{column}_conf"].to_numpy()
            expected = np.column_stack([value - half, value + half])
            np.testing.assert_allclose(error_spans(container.errorbar), expected, rtol=1e-12)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        "first order S1 (alone)", "total ST (with interactions)",
    ]  # fmt: skip


def test_sobol_draws_only_the_outcomes_asked(sobol):
    assert [ax.get_title() for ax in studies.sobol_indices(sobol, "profit_npv").axes] == [
        f"Sobol' indices: {outcome_name('profit_npv')}"
    ]
    fig = studies.sobol_indices(sobol, ["nps_true", "retention_of_initial"])
    assert len(fig.axes) == 2 and fig.axes[0].get_title().endswith(outcome_name("nps_true"))


def test_sobol_panel_of_an_outcome_that_does_not_vary_says_so(sobol):
    flat = sobol.assign(S1=np.nan, S1_conf=np.nan, ST=np.nan, ST_conf=np.nan)
    (ax,) = studies.sobol_indices(flat, "profit_npv").axes
    assert not [c for c in ax.containers if isinstance(c, BarContainer)]
    assert "indices undefined" in ax.texts[0].get_text()


def test_morris_points_are_mu_star_and_sigma_with_mu_star_intervals(morris):
    fig = rendered(studies.morris_indices(morris))
    assert len(fig.axes) == len(OUTCOMES)
    units = [outcome_unit(outcome) for outcome in OUTCOMES]
    for ax, outcome, unit in zip(fig.axes, OUTCOMES, units, strict=True):
        rows = morris[morris["outcome"] == outcome]
        (points,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
        xy = points.lines[0].get_xydata()
        np.testing.assert_allclose(xy[:, 0], rows["mu_star"], rtol=1e-12)
        np.testing.assert_allclose(xy[:, 1], rows["sigma"], rtol=1e-12)
        mu_star, half = rows["mu_star"].to_numpy(), rows["mu_star_conf"].to_numpy()
        expected = np.column_stack([mu_star - half, mu_star + half])
        np.testing.assert_allclose(error_spans(points), expected, rtol=1e-12)
        assert [t.get_text() for t in ax.texts] == list(PARAMETERS)
        assert ax.get_xlabel() == (
            f"μ*: mean absolute elementary effect\n({unit} per full range of a parameter)"
        )
        assert ax.get_ylabel().startswith("σ: spread of the elementary effects\n(" + unit)
        assert ax.get_title().startswith("Morris screening: ")
        diagonal = line(ax, "σ = μ*").get_xydata()
        assert diagonal[0].tolist() == [0.0, 0.0] and diagonal[1, 0] == diagonal[1, 1]


# ---------------------------------------------------------------------------- PRIM


@pytest.mark.slow
def test_prim_box_bars_are_the_limits_normalised_to_the_runs_ranges(discovery):
    result, runs = discovery
    fig = rendered(studies.prim_boxes(result, runs))
    assert len(fig.axes) == len(result.boxes) >= 1
    assert set(result.boxes[0].limits) == set(PARAMETERS)  # both parameters are drawn
    for index, (ax, box) in enumerate(zip(fig.axes, result.boxes, strict=True)):
        names = list(box.limits)
        assert len(names) >= 1
        assert [t.split("\n")[0] for t in tick_labels(ax)] == names
        inside = bars(ax, "range in the box")
        for row, name in enumerate(names):
            low, high = runs[name].min(), runs[name].max()
            box_low, box_high = box.limits[name]
            box_low = low if box_low is None else box_low
            box_high = high if box_high is None else box_high
            assert lefts(inside)[row] == pytest.approx((box_low - low) / (high - low), abs=1e-12)
            right = lefts(inside)[row] + widths(inside)[row]
            assert right == pytest.approx((box_high - low) / (high - low), abs=1e-12)
        np.testing.assert_array_equal(widths(bars(ax, "full range")), 1.0)
        written = sorted(t.get_text() for t in ax.texts)
        limits = [v for n in names for v in box.limits[n] if v is not None]
        assert written == sorted(f"{v:.4g}" for v in limits)
        assert ax.get_title() == (
            f"Box {index + 1}: coverage {box.coverage:.2f}, density {box.density:.2f}, "
            f"mass {box.mass:.2f}"
        )
        assert ax.get_xlabel().startswith("Position in the parameter's full range")
    assert len(studies.prim_boxes(result, runs, box=0).axes) == 1


@pytest.mark.slow
def test_prim_tradeoff_points_are_the_peeling_trajectory(discovery):
    result, _ = discovery
    fig = rendered(studies.prim_tradeoff(result, box=0))
    ax, colour_bar = fig.axes  # the panel and its colour bar
    trajectory = result.trajectories[0]
    steps, chosen = [c for c in ax.collections if isinstance(c, PathCollection)]
    np.testing.assert_array_equal(
        steps.get_offsets(), trajectory[["coverage", "density"]].to_numpy()
    )
    np.testing.assert_array_equal(steps.get_array(), trajectory["restricted"])
    box = result.boxes[0]
    np.testing.assert_array_equal(chosen.get_offsets(), [[box.coverage, box.density]])
    assert chosen.get_label() == f"box chosen ({len(box.limits)} restricted)"
    base = line(ax, "share of all cases of interest").get_ydata()
    assert base[0] == pytest.approx(result.of_interest / result.cases)
    assert ax.get_xlabel().startswith("Coverage") and ax.get_ylabel().startswith("Density")
    assert colour_bar.get_ylabel() == "Parameters restricted"
    assert len(studies.prim_tradeoff(result).axes) == len(result.boxes) + 1


def made_up_discovery() -> tuple[PrimResult, pd.DataFrame]:
    """A PRIM result by hand: box 1 limits x from 2 (up) and y to 30 (down); box 2 nothing."""
    inputs = pd.DataFrame({"x": [0.0, 2.0, 4.0, 10.0], "y": [10.0, 20.0, 30.0, 50.0]})
    trajectory = pd.DataFrame(
        {"coverage": [1.0, 1.0, 0.5], "density": [0.5, 0.67, 1.0], "restricted": [0, 1, 2]}
    )
    boxes = [
        Box({"x": (2.0, None), "y": (None, 30.0)}, 1.0, 1.0, 0.5, 2, 2),
        Box({}, 0.0, 0.0, 1.0, 4, 0),
    ]
    return PrimResult(boxes, [trajectory, trajectory], ["x", "y"], 4, 2), inputs


def test_prim_boxes_open_sides_run_to_the_ends_of_the_full_range():
    result, inputs = made_up_discovery()
    first, second = rendered(studies.prim_boxes(result, inputs)).axes
    inside = bars(first, "range in the box")
    np.testing.assert_allclose(lefts(inside), [0.2, 0.0])
    np.testing.assert_allclose(lefts(inside) + widths(inside), [1.0, 0.5])
    assert tick_labels(first) == ["x\n(0 to 10)", "y\n(10 to 50)"]
    assert second.texts[0].get_text() == "the box restricts no parameter"
    # A sweep's failed runs are left out of the ranges, as discovery leaves them out.
    runs = pd.concat([inputs.assign(status="ok"), pd.DataFrame({"x": [-10.0], "y": [0.0],
                                                                "status": ["error"]})])  # fmt: skip
    inside = bars(studies.prim_boxes(result, runs, box=0).axes[0], "range in the box")
    np.testing.assert_allclose(lefts(inside), [0.2, 0.0])


def test_figures_leave_pyplot_alone(sobol):
    result, inputs = made_up_discovery()
    studies.sobol_indices(sobol)
    rendered(studies.prim_tradeoff(result))
    rendered(studies.prim_boxes(result, inputs, box=1))
    studies.erlang_docking(
        pd.DataFrame({"calls_per_hour": [100], "aht_seconds": [180], "agents": [10],
                      "service_level": [0.9], "asa_seconds": [5.0], "abandon_rate": [0.0]})
    )  # fmt: skip
    assert _pylab_helpers.Gcf.get_num_fig_managers() == 0


# ---------------------------------------------------------------------------- docking


def assert_docking_panels(top, bottom, simulated, expected):
    np.testing.assert_allclose(line(top, "simulated").get_ydata(), simulated, rtol=1e-12)
    (closed,) = [a for a in top.get_lines() if a.get_label() != "simulated"]
    np.testing.assert_allclose(closed.get_ydata(), expected, rtol=1e-12)
    difference = line(bottom, "simulated − closed form").get_ydata()
    np.testing.assert_allclose(difference, np.asarray(simulated) - expected, atol=1e-12)
    return closed


def test_survival_docking_draws_the_share_of_initial_customers_and_r_to_the_t(survival_run):
    fig = rendered(studies.survival_docking(survival_run, 0.03))
    top, bottom = fig.axes
    shares = [
        g["initial_customers_active"].to_numpy() / g["active_start"].iloc[0]
        for _, g in survival_run.groupby("replication")
    ]
    simulated = np.mean(shares, axis=0)
    month = np.arange(1, 11, dtype=float)
    assert_docking_panels(top, bottom, simulated, 0.97**month)
    np.testing.assert_array_equal(line(top, "simulated").get_xdata(), month)
    band = 2 * np.sqrt(0.97**month * (1 - 0.97**month) / (1200 * 2))
    (area,) = bottom.collections
    assert area.get_label() == "± 2 standard errors"
    np.testing.assert_allclose(area.get_paths()[0].vertices[:, 1].max(), band.max())
    assert top.get_ylabel() == "Share of initial customers active (0–1)"
    assert bottom.get_ylabel() == "Difference (share)"
    assert bottom.get_xlabel() == "Months since the start"
    assert top.get_title() == "Survival of the initial customers against geometric survival"
    assert np.all(np.abs(simulated - 0.97**month) <= 2 * band + 1e-3)  # it docks


def test_bass_docking_draws_cumulative_adoption_and_the_bass_closed_form(bass_run):
    fig = rendered(studies.bass_docking(bass_run, 0.01, 0.3, 1200))
    top, bottom = fig.axes
    # Without churn, the customers acquired to date are the active customers.
    simulated = bass_run.groupby("month")["active"].mean().to_numpy() / 1200
    month = np.arange(1, 11, dtype=float)
    closed = assert_docking_panels(top, bottom, simulated, bass_cumulative(month, 0.01, 0.3))
    assert closed.get_label() == "Bass closed form (p = 0.01, q = 0.3)"
    assert top.get_ylabel() == "Share of the market adopted (0–1)"
    assert bottom.get_xlabel() == "Months since the start"


def test_erlang_docking_draws_each_metric_against_erlang_a_in_load_order(centre):
    fig = rendered(studies.erlang_docking(centre))
    assert len(fig.axes) == 6
    ordered = centre.sort_values("calls_per_hour")
    exact = [erlang_a(c, 180, 10, 300) for c in ordered["calls_per_hour"]]
    load = ordered["calls_per_hour"].to_numpy() * 180 / 3600 / 10
    for column, metric in enumerate(studies.QUEUE_METRICS):
        top, bottom = fig.axes[column], fig.axes[3 + column]
        expected = [getattr(q, metric) for q in exact]
        closed = assert_docking_panels(top, bottom, ordered[metric].to_numpy(), expected)
        assert closed.get_label() == "closed form (Erlang A)"
        np.testing.assert_allclose(line(top, "simulated").get_xdata(), load)
        assert bottom.get_xlabel() == "Offered load per agent (erlangs per agent)"
    assert [fig.axes[i].get_title() for i in range(3)] == [
        "Service level", "Average speed of answer", "Abandonment",
    ]  # fmt: skip
    assert fig.axes[0].get_ylabel() == "Service level (share answered within 20 s, 0–1)"
    assert fig.axes[4].get_ylabel() == "Difference (seconds)"


def test_erlang_docking_without_patience_is_against_erlang_c(centre):
    table = centre.drop(columns="patience_seconds")
    fig = studies.erlang_docking(table, metrics="asa_seconds")
    top, _ = fig.axes
    expected = [erlang_c(c, 180, 10).asa_seconds for c in sorted(table["calls_per_hour"])]
    (closed,) = [a for a in top.get_lines() if a.get_label() == "closed form (Erlang C)"]
    np.testing.assert_allclose(closed.get_ydata(), expected, rtol=1e-12)


# ---------------------------------------------------------------------------- bad input


def test_sensitivity_figures_name_the_missing_columns_and_outcomes(sobol, morris):
    with pytest.raises(ValueError, match=r"^sensitivity: lacks the columns S1, S1_conf, ST, ST_"):
        studies.sobol_indices(morris)
    with pytest.raises(ValueError, match=r"^sensitivity: lacks the columns mu_star, mu_star_c"):
        studies.morris_indices(sobol)
    with pytest.raises(ValueError, match=r"^sensitivity: got NoneType; need a Sobol' sweep's"):
        studies.sobol_indices(None)
    with pytest.raises(ValueError, match=r"^sensitivity: the table has no rows"):
        studies.sobol_indices(sobol.iloc[:0])
    with pytest.raises(ValueError, match=r"^outcome: 'churn' not in the sensitivity table; it"):
        studies.morris_indices(morris, ["nps_true", "churn"])


def test_prim_figures_name_the_missing_box_or_input():
    result, inputs = made_up_discovery()
    with pytest.raises(ValueError, match=r"^box: got 2; the discovery has boxes 0 to 1"):
        studies.prim_boxes(result, inputs, box=2)
    with pytest.raises(ValueError, match=r"^inputs: lacks the columns y; need the cases PRIM"):
        studies.prim_boxes(result, inputs[["x"]])
    with pytest.raises(ValueError, match=r"^discovery: found no box, so there is nothing"):
        studies.prim_tradeoff(PrimResult([], [], ["x"], 4, 0))
    with pytest.raises(ValueError, match=r"^discovery: got str; need the PrimResult of"):
        studies.prim_tradeoff("boxes")
    broken = PrimResult(result.boxes, [result.trajectories[0].drop(columns="restricted")], [], 4, 2)
    with pytest.raises(ValueError, match=r"^trajectory of box 1: lacks the columns restricted"):
        studies.prim_tradeoff(broken, box=0)


def test_docking_figures_name_the_missing_column_or_setting():
    timeseries = pd.DataFrame({"month": [1, 2], "active_start": [10, 9], "acquired": [1, 1]})
    with pytest.raises(ValueError, match=r"^timeseries: lacks the columns initial_customers_a"):
        studies.survival_docking(timeseries, 0.03)
    with pytest.raises(ValueError, match=r"^churn_per_month: got 1.5; must lie in \[0, 1\)"):
        studies.survival_docking(timeseries, 1.5)
    with pytest.raises(ValueError, match=r"^advertising_per_month: got 0.0; must be a finite"):
        studies.bass_docking(timeseries, 0.0, 0.3, 100)
    with pytest.raises(ValueError, match=r"^timeseries: lacks the columns acquired"):
        studies.bass_docking(timeseries.drop(columns="acquired"), 0.01, 0.3, 100)
    with pytest.raises(ValueError, match=r"^metrics: got \['wait'\]; choose among service_l"):
        studies.erlang_docking(timeseries, metrics=["wait"])
    with pytest.raises(ValueError, match=r"^simulated: lacks the columns calls_per_hour, aht_s"):
        studies.erlang_docking(timeseries)


def test_a_load_the_closed_forms_refuse_is_named(centre):
    with pytest.raises(
        ValueError, match=r"the row with calls_per_hour=220, .*no closed form \(aht_seconds"
    ):
        studies.erlang_docking(centre.assign(aht_seconds=-1.0))
