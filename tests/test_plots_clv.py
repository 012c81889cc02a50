"""`sim.plots.studies.customer_base_forecasts`: what is drawn is the numbers of the tables.

The figure takes plain tables (forecast and actual survival by holdout month, forecast and
actual holdout purchases by calibration frequency), so it is tested without pymc-marketing:
lines, points, bands and bars are read back from the artists and must equal the tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.container import BarContainer
from test_plots_studies import rendered

from sim.plots import studies

MONTHS = np.arange(1, 13, dtype=float)
SETTINGS = ["no feedback", "baseline"]


@pytest.fixture
def retention() -> pd.DataFrame:
    rows = []
    for index, setting in enumerate(SETTINGS):
        actual = (1 - 0.012 - 0.002 * index) ** MONTHS
        rows.append(
            pd.DataFrame(
                {
                    "setting": setting,
                    "month": MONTHS,
                    "forecast": (1 - 0.011) ** MONTHS,
                    "actual": actual,
                    "standard_error": np.sqrt(actual * (1 - actual) / 900),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


@pytest.fixture
def purchases() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "setting": np.repeat(SETTINGS, 4),
            "frequency": ["0", "1", "2", "3+"] * 2,
            "forecast": [0.40, 0.45, 0.60, 0.85, 0.45, 0.50, 0.70, 1.00],
            "actual": [0.42, 0.47, 0.43, 0.50, 0.49, 0.49, 0.50, 0.47],
            "customers": [700, 250, 100, 50, 690, 260, 100, 50],
        }
    )


def by_label(ax, label: str):
    (found,) = [artist for artist in ax.lines if artist.get_label() == label]
    return found


def test_left_panel_draws_forecast_lines_actual_points_and_bands(retention, purchases):
    fig = rendered(studies.customer_base_forecasts(retention, purchases))
    left, _ = fig.axes
    for setting, part in retention.groupby("setting", sort=False):
        forecast = by_label(left, f"{setting}: forecast")
        actual = by_label(left, f"{setting}: actual")
        np.testing.assert_array_equal(forecast.get_xdata(), MONTHS)
        np.testing.assert_allclose(forecast.get_ydata(), part["forecast"])
        np.testing.assert_allclose(actual.get_ydata(), part["actual"])
        assert actual.get_linestyle() == "None" and actual.get_marker() == "o"
        assert (
            forecast.get_color()
            != by_label(left, f"{SETTINGS[1 - SETTINGS.index(setting)]}: forecast").get_color()
        )
    bands = left.collections
    assert len(bands) == 2
    top = bands[0].get_paths()[0].vertices[:, 1].max()
    first = retention[retention["setting"] == SETTINGS[0]]
    np.testing.assert_allclose(top, (first["actual"] + 2 * first["standard_error"]).max())
    assert left.get_xlabel() == "Months into the holdout"
    assert left.get_ylabel() == "Share still active (0–1)"
    assert left.get_title() == "Survival of the active customers: forecast and actual"


def test_right_panel_draws_actual_bars_and_forecast_markers_by_group(retention, purchases):
    fig = rendered(studies.customer_base_forecasts(retention, purchases))
    _, right = fig.axes
    bars = [c for c in right.containers if isinstance(c, BarContainer)]
    assert len(bars) == 2
    for container, (setting, part) in zip(
        bars, purchases.groupby("setting", sort=False), strict=True
    ):
        heights = [patch.get_height() for patch in container.patches]
        np.testing.assert_allclose(heights, part["actual"])
        centres = [patch.get_x() + patch.get_width() / 2 for patch in container.patches]
        forecast = by_label(right, f"{setting}: forecast")
        np.testing.assert_allclose(forecast.get_xdata(), centres)
        np.testing.assert_allclose(forecast.get_ydata(), part["forecast"])
    assert [t.get_text() for t in right.get_xticklabels()] == ["0", "1", "2", "3+"]
    assert right.get_xlabel() == "Purchases in calibration (repeat purchases)"
    assert right.get_ylabel() == "Mean purchases per customer in the holdout"


def test_no_standard_error_draws_no_band(retention, purchases):
    fig = studies.customer_base_forecasts(retention.drop(columns="standard_error"), purchases)
    assert len(fig.axes[0].collections) == 0


@pytest.mark.parametrize(
    ("table", "change", "match"),
    [
        ("retention", lambda t: t.drop(columns="actual"), "actual"),
        ("retention", lambda t: t.assign(forecast=1.5), "shares in"),
        ("purchases", lambda t: t.assign(actual=-1.0), "≥ 0"),
        ("purchases", lambda t: t.drop(columns="customers"), "customers"),
        ("retention", lambda t: t.iloc[:0], "no rows"),
    ],
)
def test_bad_tables_are_refused(retention, purchases, table, change, match):
    tables = {"retention": retention, "purchases": purchases}
    tables[table] = change(tables[table])
    with pytest.raises(ValueError, match=match):
        studies.customer_base_forecasts(tables["retention"], tables["purchases"])
