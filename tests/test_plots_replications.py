"""`sim.plots.studies.interval_widths`: what is drawn is the numbers of the tables.

The figure is read back from its artists: the markers must be the standard errors and
half-widths given, the reference lines 1/√R and t₀.₉₇₅(R − 1)/√R, and the bars of the
pairing panel the ratios of unpaired to paired half-widths, drawn from 1 (no gain).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from scipy import stats

from sim.plots.labels import outcome_name
from sim.plots.studies import interval_widths

COUNTS = [2, 4, 8, 16]


@pytest.fixture
def widths() -> pd.DataFrame:
    """Two metrics: standard errors near 1/√R and half-widths t·se, in sd units."""
    rows = []
    for metric, factor in (("profit_npv", 1.1), ("nps_true", 0.9)):
        for r in COUNTS:
            se = factor / np.sqrt(r)
            rows.append(
                {
                    "metric": metric,
                    "replications": r,
                    "standard_error": se,
                    "half_width": stats.t.ppf(0.975, r - 1) * se,
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture
def pairing() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "comparison": ["b − a", "b − a", "a − a"],
            "metric": ["profit_npv", "nps_true", "active"],
            "paired_half_width": [1_000.0, 0.5, 0.0],
            "unpaired_half_width": [12_000.0, 1.0, 40.0],
        }
    )


def _line(ax, label: str):
    return next(line for line in ax.get_lines() if line.get_label() == label)


def test_left_panel_draws_the_widths_given_on_log_axes_with_the_reference_lines(widths):
    fig = interval_widths(widths)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlabel() == "Replications R"
    assert "standard deviations of one replication" in ax.get_ylabel()
    for metric, part in widths.groupby("metric"):
        name = outcome_name(metric)
        se = _line(ax, f"{name}: standard error")
        half = _line(ax, f"{name}: 95 % half-width")
        np.testing.assert_allclose(se.get_xdata(), part["replications"])
        np.testing.assert_allclose(se.get_ydata(), part["standard_error"])
        np.testing.assert_allclose(half.get_ydata(), part["half_width"])
        assert half.get_markerfacecolor() == "none"
    root = _line(ax, "1/√R")
    x = np.asarray(root.get_xdata())
    assert x.min() == pytest.approx(2) and x.max() == pytest.approx(16)
    np.testing.assert_allclose(root.get_ydata(), 1 / np.sqrt(x))
    t_line = _line(ax, "t₀.₉₇₅(R − 1)/√R")
    np.testing.assert_allclose(t_line.get_ydata(), stats.t.ppf(0.975, x - 1) / np.sqrt(x))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2", "4", "8", "16"]


def test_right_panel_bars_are_the_ratios_from_one_and_an_identical_pair_is_exact(widths, pairing):
    fig = interval_widths(widths, pairing)
    assert len(fig.axes) == 2
    right = fig.axes[1]
    assert right.get_xscale() == "log"
    bars = sorted(right.patches, key=lambda p: -p.get_y())  # top row first, as in the table
    assert len(bars) == 3
    lefts = [b.get_x() for b in bars]
    ends = [b.get_x() + b.get_width() for b in bars]
    np.testing.assert_allclose(lefts, 1.0)
    np.testing.assert_allclose(ends[:2], [12.0, 2.0])
    assert ends[2] == pytest.approx(12.0 * 3)  # the exact pair at the axis's right end
    texts = [t.get_text() for t in right.texts]
    assert texts == ["12.0×", "2.0×", "exact"]
    labels = {round(t.get_position()[1]): t.get_text() for t in right.get_yticklabels()}
    assert labels[2] == f"{outcome_name('profit_npv')}\nb − a"  # the table's first row on top
    assert labels[0] == f"{outcome_name('active')}\na − a"
    assert "Unpaired ÷ paired" in right.get_xlabel()
    assert any(line.get_xdata()[0] == 1.0 for line in right.get_lines())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda w: w.drop(columns="half_width"), "lacks the columns half_width"),
        (lambda w: w.iloc[0:0], "no rows"),
        (lambda w: w.assign(replications=1), "replications must be"),
        (lambda w: w.assign(standard_error=0.0), "finite and > 0"),
        (lambda w: w.assign(half_width=np.nan), "finite and > 0"),
    ],
)
def test_bad_widths_are_refused_naming_what_is_wrong(widths, change, message):
    with pytest.raises(ValueError, match=message):
        interval_widths(change(widths))


def test_bad_pairing_is_refused(widths, pairing):
    with pytest.raises(ValueError, match="lacks the columns"):
        interval_widths(widths, pairing.drop(columns="comparison"))
    with pytest.raises(ValueError, match="≥ 0"):
        interval_widths(widths, pairing.assign(paired_half_width=-1.0))
