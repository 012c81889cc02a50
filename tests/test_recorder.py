"""The recorder (docs/model.md §13.3–13.5): what a month hands it appears in the time series,
touchpoint sums become means, and segment decisions become per-segment tallies."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.engines.contract import Decisions, TouchpointSums
from sim.metrics import FIRM_COST_LINES, REPORTED
from sim.recorder import Recorder
from sim.scenario import scenario_from_dict

SCENARIO = scenario_from_dict(
    {
        "name": "recorded",
        "economics": {"gross_margin": 0.5},
        "acquisition": {"cost_per_acquisition": 100.0, "marketing_per_person_per_month": 0.0},
        "support": {"cost_per_contact": 5.0},
        "market": {
            "segments": [
                {"name": "mainstream", "share": 0.7},
                {"name": "premium", "share": 0.2},
                {"name": "niche", "share": 0.1},
            ]
        },
    }
)
TOUCHPOINTS = list(SCENARIO.touchpoints)
D = 0.01


def raw_month(**changes: float) -> dict[str, float]:
    """A month's reported metrics (every declared one, in order; 0 unless set): 100
    customers at its start, 4 leave, 6 join, revenue 4,000, 10 support contacts."""
    given = {
        "active_start": 100.0, "churned": 4.0, "acquired": 6.0, "acquired_prospects": 6.0,
        "revenue": 4000.0,
        "contacts": 10.0, "support_cost_factor": 1.0, "repeat_purchases": 12.0,
        "satisfaction_mean": 0.74, "nps_true": 3.5,
    } | changes  # fmt: skip
    assert set(given) <= set(REPORTED) and set(FIRM_COST_LINES) <= set(REPORTED)
    values = dict.fromkeys(REPORTED, 0.0)
    values.update(given)  # keeps the declared order
    return values


def decisions(segment, left, revenue, satisfaction) -> Decisions:
    """The month's decisions of customers in `segment` (`revenue` and `satisfaction` of
    those who stayed, in order)."""
    segment, left = np.asarray(segment, dtype=np.int16), np.asarray(left, dtype=bool)
    stayers = int((~left).sum())
    none = np.zeros(stayers, dtype=bool)
    return Decisions(
        segment, left, np.zeros(len(segment), bool), none, none,
        np.asarray(revenue, dtype=float), np.asarray(satisfaction, dtype=float),
    )  # fmt: skip


def test_a_recorded_months_values_and_accounts_appear_in_the_time_series():
    recorder = Recorder(SCENARIO, TOUCHPOINTS, D)
    recorder.record_month(1, raw_month())
    recorder.record_month(2, raw_month(revenue=5000.0, churned=0.0, nps_true=-2.0))
    ts = recorder.timeseries()
    assert list(ts["month"]) == [1, 2] and ts["month"].dtype.kind == "i"
    np.testing.assert_array_equal(ts["satisfaction_mean"], [0.74, 0.74])
    np.testing.assert_array_equal(ts["nps_true"], [3.5, -2.0])
    np.testing.assert_array_equal(ts["active"], [102.0, 106.0])
    # profit: 0.5 × revenue − 6 × 100 acquisitions − 10 × 5 support contacts
    np.testing.assert_allclose(ts["profit"], [1350.0, 1850.0])
    np.testing.assert_allclose(ts["discount_factor"], [1 / 1.01, 1 / 1.01**2])
    np.testing.assert_allclose(ts["npv_to_date"], [1350 / 1.01, 1350 / 1.01 + 1850 / 1.0201])
    np.testing.assert_allclose(ts["churn_rate"], [0.04, 0.0])


def test_a_month_must_report_exactly_the_declared_metrics():
    recorder = Recorder(SCENARIO, TOUCHPOINTS, D)
    short = raw_month()
    del short["nps_true"]
    with pytest.raises(ValueError, match="nps_true"):
        recorder.record_month(1, short)
    with pytest.raises(ValueError, match="happiness"):
        recorder.record_month(1, raw_month() | {"happiness": 1.0})
    assert recorder.rows == []


def test_touchpoint_sums_become_means_per_month():
    recorder = Recorder(SCENARIO, TOUCHPOINTS, D)
    use, billing = "product_use", "billing"
    delivered = np.linspace(0.70, 0.82, len(TOUCHPOINTS))
    month = TouchpointSums()
    month.add_batch(
        use, np.array([0.8, 0.6], np.float32), np.array([0.7, 0.5]), np.array([True, False])
    )
    # A second batch at the same touchpoint in the same month (e.g. another segment's).
    month.add(use, 3, 2.4, 1.8, 2)
    month.add_batch(billing, np.array([0.9]), np.array([0.95]), np.array([False]))
    recorder.record_month(1, raw_month(), month, delivered)
    later = TouchpointSums()
    later.add_batch(use, np.array([0.5]), np.array([0.4]), np.array([True]))
    recorder.record_month(2, raw_month(), later, delivered)
    table = recorder.touchpoint_table().set_index(["month", "touchpoint"])
    assert len(table) == 2 * len(TOUCHPOINTS)
    first = table.loc[(1, use)]
    assert first["experiences"] == 5 and first["problems"] == 3
    assert first["perceived_quality"] == pytest.approx((0.8 + 0.6 + 2.4) / 5, rel=1e-6)
    assert first["satisfaction"] == pytest.approx((0.7 + 0.5 + 1.8) / 5)
    assert first["delivered_quality"] == delivered[TOUCHPOINTS.index(use)]
    assert first["stage"] == "use"
    assert table.loc[(1, billing), "satisfaction"] == pytest.approx(0.95)
    # Month 2 holds only month 2's interaction.
    second = table.loc[(2, use)]
    assert second["experiences"] == 1 and second["problems"] == 1
    assert second["perceived_quality"] == pytest.approx(0.5)
    # A touchpoint nobody met: no experiences, no means, no delivered quality reported.
    quiet = table.loc[(2, billing)]
    assert quiet["experiences"] == 0 and quiet["problems"] == 0
    assert math.isnan(quiet["perceived_quality"]) and math.isnan(quiet["satisfaction"])
    assert math.isnan(quiet["delivered_quality"])
    # A month recorded without touchpoint sums lists every touchpoint as not met.
    recorder.record_month(3, raw_month())
    third = recorder.touchpoint_table().query("month == 3")
    assert (third["experiences"] == 0).all() and third["delivered_quality"].isna().all()


def test_segment_tallies_of_a_month():
    recorder = Recorder(SCENARIO, TOUCHPOINTS, D)
    # Six customers at the start: segments 0, 0, 0, 1, 1, 0; the second and fifth leave, so
    # the stayers are of segments 0, 0, 1, 0.
    segment = [0, 0, 0, 1, 1, 0]
    left = [False, True, False, False, True, False]
    revenue = [40.0, 40.0, 90.0, 65.0]  # of the four who stayed, in that order
    satisfaction = [0.7, 0.8, 0.6, 0.9]
    recorder.record_month(1, raw_month(), decisions=decisions(segment, left, revenue, satisfaction))
    table = recorder.segment_table().set_index("segment")
    assert list(table.index) == ["mainstream", "premium", "niche"]
    main, premium, niche = (table.loc[name] for name in ("mainstream", "premium", "niche"))
    assert (main["active_start"], main["churned"]) == (4, 1)
    assert main["churn_rate"] == 0.25 and main["revenue"] == 145.0
    assert main["margin"] == 72.5  # gross margin 0.5
    assert main["satisfaction_mean"] == pytest.approx((0.7 + 0.8 + 0.9) / 3)
    # CLV of the segment: margin per stayer 72.5 / 3 at retention 0.75.
    assert main["clv"] == pytest.approx((72.5 / 3) * 0.75 / (1 + D - 0.75))
    assert (premium["active_start"], premium["churned"], premium["churn_rate"]) == (2, 1, 0.5)
    assert premium["satisfaction_mean"] == pytest.approx(0.6) and premium["revenue"] == 90.0
    # A segment without customers this month: counts 0, rates and means missing.
    assert (niche["active_start"], niche["churned"], niche["revenue"]) == (0, 0, 0.0)
    assert math.isnan(niche["churn_rate"]) and math.isnan(niche["satisfaction_mean"])
    assert math.isnan(niche["clv"])
    # Segment counts add up to the month's totals.
    assert table["active_start"].sum() == 6 and table["churned"].sum() == 2


def test_segment_rows_are_only_written_for_months_that_reported_decisions():
    recorder = Recorder(SCENARIO, TOUCHPOINTS, D)
    recorder.record_month(1, raw_month())  # no decisions: no rows
    assert recorder.segment_table().empty
    recorder.record_month(2, raw_month(), decisions=decisions([2], [False], [30.0], [0.8]))
    recorder.record_month(3, raw_month())  # the tallies do not carry over
    table = recorder.segment_table()
    assert list(table["month"]) == [2, 2, 2]
    assert table.set_index("segment").loc["niche", "revenue"] == 30.0


def test_segment_clv_is_missing_without_discounting_when_nobody_leaves():
    recorder = Recorder(SCENARIO, TOUCHPOINTS, 0.0)
    kept_all = decisions([0, 0, 0], [False] * 3, [40.0] * 3, [0.8] * 3)
    recorder.record_month(1, raw_month(churned=0.0), decisions=kept_all)
    row = recorder.segment_table().iloc[0]
    assert row["churn_rate"] == 0.0 and math.isnan(row["clv"])


def test_segment_sums_and_positive_sums_add_in_order_as_bincount_does():
    from sim.engines.kernels import positive_sums
    from sim.recorder import segment_sums

    rng = np.random.default_rng(11)
    n = 200_000
    segment = rng.integers(0, 3, n).astype(np.intp)
    left = rng.random(n) < 0.1
    stayers = int((~left).sum())
    revenue = rng.lognormal(3.0, 1.0, stayers)  # sums whose last bits depend on the order
    satisfaction = rng.random(stayers).astype(np.float32)
    customers, leavers, revenue_sum, satisfaction_sum = segment_sums(
        segment, left, revenue, satisfaction, 4
    )
    stayer_segment = segment[~left]
    assert customers.tolist() == np.bincount(segment, minlength=4).tolist()
    assert customers[3] == 0 and revenue_sum[3] == 0.0  # a segment without customers
    assert leavers.tolist() == np.bincount(segment, weights=left, minlength=4).tolist()
    expected = np.bincount(stayer_segment, weights=revenue, minlength=4)
    assert revenue_sum.tolist() == expected.tolist()  # bit for bit
    assert (
        revenue_sum.tolist()
        != np.bincount(  # another order would differ
            stayer_segment[::-1], weights=revenue[::-1], minlength=4
        ).tolist()
    )
    expected = np.bincount(stayer_segment, weights=satisfaction, minlength=4)
    assert satisfaction_sum.tolist() == expected.tolist()
    voice = rng.normal(0.1, 0.5, n)
    voice[::13] = -0.0
    firm = rng.integers(0, 2, n).astype(np.intp)
    sums = positive_sums(firm, voice, 3)
    assert sums.tolist() == np.bincount(firm, np.maximum(voice, 0.0), 3).tolist()
    assert sums[0] > 10_000 and sums[2] == 0.0
    alone = np.zeros(n, dtype=np.intp)  # one firm: its own running sum
    assert (
        positive_sums(alone, voice, 1).tolist()
        == np.bincount(alone, np.maximum(voice, 0.0), 1).tolist()
    )


def test_a_mean_of_the_record_is_numpys_mean_to_the_last_bit():
    # `mean_or_nan` does `mean()`'s own steps for float32 and float64 arrays: the same bits,
    # for sizes on either side of numpy's pairwise blocks; other dtypes go to `mean()` itself
    import numpy as np

    from sim.stats import mean_or_nan

    rng = np.random.default_rng(3)
    for dtype in (np.float16, np.float32, np.float64, np.int32, np.bool_):
        for size in (1, 7, 8, 9, 127, 128, 129, 1_000, 12_345):
            values = (rng.random(size) * 10).astype(dtype)
            got, want = mean_or_nan(values), float(values.mean())
            assert type(got) is float and got == want, (dtype, size)
    assert np.isnan(mean_or_nan(np.zeros(0, np.float32))) and mean_or_nan([1.0, 2.0]) == 1.5
