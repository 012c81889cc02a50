"""Practices the maturity levels unlock (docs/model.md §9.3–9.4): the voice-of-the-customer
window, the review cadence, the managed fix, the proactive driver analysis, redesign and
prevention, and how a decided change takes effect and what it costs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.firm.delivery import Firm
from sim.firm.practices import (
    Change,
    Improvement,
    VoiceOfCustomer,
    apply_change,
    closes_loop,
    flag_riskiest,
    intervention_measures,
    loop_measures,
    review,
    review_interval,
    scores_churn,
)
from sim.scenario import scenario_from_dict

NAN = np.nan


def firm_with(level: str = "managed", **firm) -> Firm:
    """A firm on the built-in seven touchpoints with its maturity fixed at `level`."""
    settings = {"maturity": {"level": level}} | firm
    if "maturity" in firm:
        settings["maturity"] = {"level": level} | firm["maturity"]
    scenario = scenario_from_dict({"name": "practices", "firm": settings})
    return Firm(scenario, list(scenario.touchpoints))


TOUCHPOINTS = list(scenario_from_dict({"name": "order"}).touchpoints)
"""The built-in touchpoints in the order a `Firm` built as above holds them."""


def voc_of(ratings: np.ndarray, recommend: np.ndarray) -> VoiceOfCustomer:
    voc = VoiceOfCustomer(ratings.shape[1])
    voc.observe(ratings, recommend)
    return voc


def driver_data(n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Ratings of four touchpoints by `n` respondents whose recommendation is 0/10 in turn:
    touchpoint 0 rises with the recommendation (a perfect driver, mean 0.8), touchpoint 1
    does not move with it (correlation exactly 0, mean 0.6), touchpoint 2 falls with it
    (negative correlation, mean 0.7), touchpoint 3 has only 5 ratings."""
    recommend = np.tile([0.0, 10.0], n // 2)
    ratings = np.full((n, 4), NAN)
    ratings[:, 0] = 0.7 + 0.02 * recommend  # 0.7 or 0.9
    ratings[:, 1] = np.tile([0.5, 0.5, 0.7, 0.7], n // 4)  # each level with 0 and 10
    ratings[:, 2] = 0.8 - 0.02 * recommend
    ratings[:5, 3] = 0.3
    return ratings, recommend


# ----------------------------------------------------------------- the voice of the customer


def test_voice_of_customer_counts_only_the_touchpoints_met_and_resets():
    voc = VoiceOfCustomer(3)
    voc.observe(np.array([[0.8, NAN, 0.4], [0.6, 0.9, NAN]]), np.array([10.0, 5.0]))
    np.testing.assert_array_equal(voc.n, [2, 1, 1])
    np.testing.assert_allclose(voc.sx, [1.4, 0.9, 0.4])
    np.testing.assert_allclose(voc.sxx, [0.64 + 0.36, 0.81, 0.16])
    # Recommendations are stored on the 0–1 scale, once per touchpoint met.
    np.testing.assert_allclose(voc.sy, [1.5, 0.5, 1.0])
    np.testing.assert_allclose(voc.syy, [1.25, 0.25, 1.0])
    np.testing.assert_allclose(voc.sxy, [0.8 + 0.3, 0.45, 0.4])
    # A second month adds to the same window.
    voc.observe(np.array([[1.0, 1.0, 1.0]]), np.array([0.0]))
    np.testing.assert_array_equal(voc.n, [3, 2, 2])
    np.testing.assert_allclose(voc.sxy, [1.1, 0.45, 0.4])
    voc.report_problems(np.array([2.0, 0.0, 1.0]))
    voc.report_problems(np.array([1.0, 4.0, 0.0]))
    np.testing.assert_array_equal(voc.problems, [3, 4, 1])
    voc.reset()
    for sums in (voc.n, voc.sx, voc.sxx, voc.sy, voc.syy, voc.sxy, voc.problems):
        np.testing.assert_array_equal(sums, np.zeros(3))
    assert np.isnan(voc.measured_satisfaction()).all()
    np.testing.assert_array_equal(voc.driver_importance(), np.zeros(3))


def test_measured_satisfaction_needs_ten_ratings():
    ratings = np.full((12, 2), NAN)
    ratings[:, 0] = np.linspace(0.5, 0.94, 12)  # mean 0.72
    ratings[:9, 1] = 0.9
    voc = voc_of(ratings, np.full(12, 7.0))
    measured = voc.measured_satisfaction()
    assert measured[0] == pytest.approx(0.72)
    assert np.isnan(measured[1])  # 9 ratings: not enough
    assert voc.measured_satisfaction(min_answers=9)[1] == pytest.approx(0.9)


def test_driver_importance_is_the_positive_correlation_with_recommendation():
    ratings, recommend = driver_data()
    importance = voc_of(ratings, recommend).driver_importance()
    assert importance[0] == pytest.approx(1.0)
    assert importance[1] == pytest.approx(0.0, abs=1e-9)
    assert importance[2] == 0.0  # a negative correlation counts as no importance
    assert importance[3] == 0.0  # too few ratings
    # A noisy driver: the window's correlation is Pearson's r of the ratings it holds.
    rng = np.random.default_rng(3)
    y = rng.integers(0, 11, 200).astype(float)
    x = np.clip(0.5 + 0.03 * y + rng.normal(0, 0.1, 200), 0, 1)
    expected = np.corrcoef(x, y)[0, 1]
    assert 0.5 < expected < 0.95
    got = voc_of(x[:, None], y).driver_importance()[0]
    assert got == pytest.approx(expected, rel=1e-9)


# ----------------------------------------------------------------- cadence


@pytest.mark.parametrize(
    ("governance", "months"),
    [(2.5, 6.0), (3.5, 5.0), (1.5, 7.5), (5.0, 4.0)],  # model card §9.4: 6, 5 and 7.5
)
def test_review_interval_shortens_with_governance(governance, months):
    firm = firm_with(capabilities={"governance": governance})
    assert review_interval(firm) == pytest.approx(months)


def test_review_interval_is_bounded_by_a_month_and_by_a_tenth_of_the_speed():
    fastest = firm_with(
        capabilities={"governance": 5.0},
        maturity={"review_every_months": 1.0, "review_speedup_per_governance_level": 1.0},
    )
    assert review_interval(fastest) == 1.0  # 1 / 3.5 months, but never under a month
    slowest = firm_with(
        capabilities={"governance": 0.0},
        maturity={"review_every_months": 6.0, "review_speedup_per_governance_level": 1.0},
    )
    # speed 1 + 1·(0 − 2.5) = −1.5 is floored at 0.1: ten times the interval
    assert review_interval(slowest) == pytest.approx(60.0)


# ----------------------------------------------------------------- what a review decides


def test_managed_review_fixes_the_worst_measured_touchpoint():
    firm = firm_with("managed")
    ratings, recommend = driver_data()
    voc = voc_of(ratings, recommend)
    changes = review(firm, voc, month=6, eligible=np.ones(4, dtype=bool))
    # Touchpoint 1 measures 0.6, the lowest with at least 10 ratings (3 has only 5).
    assert changes == [Change(due_month=8, touchpoint=1, kind="fix", size=pytest.approx(0.044))]
    # Hybrid organisation: latency 2 months, fix 0.04 × local speed 1.1.
    not_one = np.array([True, False, True, True])
    (fix,) = review(firm, voc, month=6, eligible=not_one)
    assert fix.touchpoint == 2  # next worst: 0.7


def test_managed_fix_size_and_latency_follow_the_organisation():
    distributed = firm_with("managed", organisation={"model": "distributed"})
    ratings, recommend = driver_data()
    (fix,) = review(distributed, voc_of(ratings, recommend), 10, np.ones(4, dtype=bool))
    assert fix.due_month == 11 and fix.size == pytest.approx(0.04 * 1.5)
    instant = firm_with("managed", organisation={"decision_latency_months": 0})
    (fix,) = review(instant, voc_of(ratings, recommend), 10, np.ones(4, dtype=bool))
    assert fix.due_month == 11  # a change takes at least a month to reach customers


def test_the_ratings_a_review_needs_are_a_setting():
    ratings, recommend = driver_data()
    voc = voc_of(ratings, recommend)
    lenient = firm_with("managed", maturity={"min_ratings_per_touchpoint": 5})
    (fix,) = review(lenient, voc, 6, np.ones(4, dtype=bool))
    assert fix.touchpoint == 3  # its 5 ratings of 0.3 now count, and it measures worst
    strict = firm_with("managed", maturity={"min_ratings_per_touchpoint": 41})
    assert review(strict, voc, 6, np.ones(4, dtype=bool)) == []  # 40 ratings at most


def test_a_review_without_enough_ratings_changes_nothing():
    ratings = np.full((9, 3), 0.5)  # 9 ratings each: below the 10 needed
    voc = voc_of(ratings, np.full(9, 3.0))
    voc.report_problems(np.array([5.0, 0.0, 0.0]))
    for level in ("managed", "proactive"):
        assert review(firm_with(level), voc, 6, np.ones(3, dtype=bool)) == []
    ratings, recommend = driver_data()
    nothing_eligible = np.zeros(4, dtype=bool)
    assert review(firm_with("managed"), voc_of(ratings, recommend), 6, nothing_eligible) == []


def test_proactive_review_redesigns_the_strongest_driver_not_the_worst_score():
    firm = firm_with("proactive", capabilities={"experience_design": 4.5})
    ratings, recommend = driver_data()
    voc = voc_of(ratings, recommend)
    changes = review(firm, voc, month=12, eligible=np.ones(4, dtype=bool))
    # Touchpoint 0 drives recommendation (r = 1) though it measures best (0.8); touchpoint 1
    # measures worst but does not move recommendation. No problems reported: no prevention.
    (redesign,) = changes
    assert redesign.kind == "redesign" and redesign.touchpoint == 0
    assert redesign.due_month == 14
    # 0.03 × local speed 1.1 × (1 + 0.1 × (4.5 − 2.5))
    assert redesign.size == pytest.approx(0.03 * 1.1 * 1.2)


def test_driver_priority_weighs_reach_and_room_to_improve():
    firm = firm_with("proactive")
    n = 40
    recommend = np.tile([0.0, 10.0], n // 2)
    # Two equally strong drivers: the one more customers rate wins...
    ratings = np.full((n, 2), NAN)
    ratings[:, 0] = 0.7 + 0.02 * recommend
    ratings[:20, 1] = 0.7 + 0.02 * recommend[:20]
    (change,) = review(firm, voc_of(ratings, recommend), 6, np.ones(2, dtype=bool))
    assert change.touchpoint == 0
    # ...and with equal reach, the one with more room to improve (lower measured score).
    ratings[:, 1] = 0.5 + 0.02 * recommend
    (change,) = review(firm, voc_of(ratings, recommend), 6, np.ones(2, dtype=bool))
    assert change.touchpoint == 1
    # A driver that is not eligible (already at quality 1) is passed over.
    (change,) = review(firm, voc_of(ratings, recommend), 6, np.array([True, False]))
    assert change.touchpoint == 0


def test_proactive_review_without_any_driver_makes_no_redesign():
    firm = firm_with("proactive")
    n = 40
    recommend = np.tile([0.0, 10.0], n // 2)
    # Both touchpoints fall as recommendation rises: correlations −1, so no importance.
    ratings = np.stack([0.8 - 0.02 * recommend, 0.6 - 0.01 * recommend], axis=1)
    assert review(firm, voc_of(ratings, recommend), 6, np.ones(2, dtype=bool)) == []


def test_proactive_review_prevents_the_most_reported_problem():
    firm = firm_with("proactive")
    ratings, recommend = driver_data()
    voc = voc_of(ratings, recommend)
    voc.report_problems(np.array([1.0, 0.0, 7.0, 3.0]))
    changes = review(firm, voc, 6, np.ones(4, dtype=bool))
    assert [c.kind for c in changes] == ["redesign", "prevention"]
    prevention = changes[1]
    assert prevention.touchpoint == 2 and prevention.size == 0.7 and prevention.due_month == 8
    # A managed firm has no prevention practice: the same window gives only the fix.
    managed = review(firm_with("managed"), voc, 6, np.ones(4, dtype=bool))
    assert [c.kind for c in managed] == ["fix"]


# ----------------------------------------------------------------- changes taking effect


@pytest.mark.parametrize(
    ("quality", "gain"),
    [(0.75, 0.04), (0.9, 0.016), (0.5, 0.08), (1.0, 0.0), (1.2, 0.0)],
)
def test_a_fix_closes_part_of_the_gap_to_quality_one(quality, gain):
    """Nominal size at quality 0.75; proportional to the gap 1 − q elsewhere (§9.4)."""
    firm = firm_with("managed")
    qualities = np.full(7, quality)
    cost = apply_change(firm, Change(3, 4, "fix", 0.04), qualities)
    assert cost == 15_000.0
    assert firm.improvement[4] == pytest.approx(gain)
    assert np.count_nonzero(firm.improvement) == (1 if gain else 0)


def test_changes_raise_delivered_quality_and_cost_their_price():
    firm = firm_with("proactive")
    use = TOUCHPOINTS.index("product_use")
    before = firm.plan()
    assert before.quality[use] == pytest.approx(0.80)  # base quality at reference levels
    cost = apply_change(firm, Change(2, use, "redesign", 0.03), before.quality)
    assert cost == 40_000.0
    # gap 0.2: 0.03 × 0.2 / 0.25 = 0.024
    after = firm.plan()
    assert after.quality[use] == pytest.approx(0.824)
    others = np.arange(7) != use
    np.testing.assert_allclose(after.quality[others], before.quality[others])
    # Improvements erode by 3 % a month (update_maturity).
    firm.update_maturity()
    assert firm.plan().quality[use] == pytest.approx(0.80 + 0.024 * 0.97)


def test_prevention_costs_money_compounds_and_erodes_like_a_fix():
    firm = firm_with("proactive")
    use = TOUCHPOINTS.index("product_use")
    onboarding = TOUCHPOINTS.index("onboarding")
    plan = firm.plan()
    assert plan.problem_probability[use] == pytest.approx(0.03)
    for k in (use, use, onboarding):
        assert apply_change(firm, Change(1, k, "prevention", 0.7), plan.quality) == 20_000.0
    np.testing.assert_allclose(firm.improvement, 0.0)
    after = firm.plan()
    assert after.problem_probability[use] == pytest.approx(0.03 * 0.49)
    # Onboarding receives a hand-off (hybrid breakdown 0.018), which prevention leaves alone:
    # 1 − (1 − 0.08 · 0.7)(1 − 0.018).
    assert plan.problem_probability[onboarding] == pytest.approx(1 - 0.92 * 0.982)
    assert after.problem_probability[onboarding] == pytest.approx(1 - 0.944 * 0.982)
    # A month on, 3 % of the prevented share of problems has come back, as fixes erode.
    firm.update_maturity()
    kept = 1 - 0.51 * 0.97  # problem factor after 0.7 × 0.7, eroding by 3 % of the gap to 1
    assert firm.plan().problem_probability[use] == pytest.approx(0.03 * kept)
    for _ in range(600):  # after fifty years the prevention has worn off
        firm.update_maturity()
    assert firm.plan().problem_probability[use] == pytest.approx(0.03, rel=1e-6)


# ----------------------------------------------------------------- the programme month by month


def test_the_improvement_programme_reviews_on_its_cadence_and_applies_changes_when_due():
    firm = firm_with("managed")  # reference governance: a review every 6 months
    programme = Improvement(4)
    ratings, recommend = driver_data()
    quality = np.full(4, 0.75)
    months = {}
    for month in range(1, 14):
        programme.voc.observe(ratings, recommend)
        months[month] = programme.learn(firm, month, quality)
        if month == 6:
            np.testing.assert_array_equal(programme.voc.n, 0)  # a new window
    assert [m for m, r in months.items() if r["reviews"]] == [6, 12]
    # The fix decided in month 6 reaches customers in month 8 (hybrid latency 2 months).
    assert [m for m, r in months.items() if r["improvements"]] == [8]
    # Each review costs its 5,000; the fix its 15,000 when it takes effect.
    assert months[6]["improvement_cost"] == months[12]["improvement_cost"] == 5_000.0
    assert months[8]["improvement_cost"] == 15_000.0
    assert sum(r["improvement_cost"] for r in months.values()) == 25_000.0
    # Six months give touchpoint 3 its 10 ratings (5 a month): at 0.3 it measures worst.
    assert firm.improvement[3] == pytest.approx(0.044)  # at quality 0.75: the nominal size
    assert np.count_nonzero(firm.improvement) == 1
    assert [c.due_month for c in programme.pending] == [14]  # month 12's fix, still waiting


def test_a_reactive_firm_never_reviews():
    firm = firm_with("reactive")
    programme = Improvement(4)
    ratings, recommend = driver_data()
    for month in range(1, 25):
        programme.voc.observe(ratings, recommend)
        assert programme.learn(firm, month, np.full(4, 0.75))["reviews"] == 0.0
    assert programme.pending == [] and not firm.improvement.any()


# ----------------------------------------------------------------- churn scores and flags


@pytest.mark.parametrize(
    ("level", "z", "flagged"),
    [
        (2.5, 0.9, 0),  # σ = 2.5 × (1 − 0.5) = 1.25: 1.125 beats logit 1
        (2.5, 0.7, 1),  # 0.875 does not
        (0.0, 0.5, 0),  # σ = 2.5: 1.25 beats it
        (5.0, 3.0, 1),  # σ = 0: the true risk decides
    ],
)
def test_churn_score_noise_falls_with_measurement_and_technology(level, z, flagged):
    """Two customers, one flag (share 0.5): risk 0.5 (logit 0) with score error z, and
    risk 1/(1 + e^−1) (logit 1) without error. §9.5: σ_s = σ_s0 · (1 − (M + T)/10)."""
    firm = firm_with(
        "predictive",
        capabilities={"measurement": level, "technology": level},
        maturity={"flag_share": 0.5},
    )
    risk = np.array([0.5, 1 / (1 + math.exp(-1))])
    flags = flag_riskiest(firm, risk, np.array([z, 0.0]))
    assert flags.sum() == 1 and flags[flagged]


def test_the_flag_share_of_the_riskiest_customers_is_flagged():
    firm = firm_with("predictive", capabilities={"measurement": 5.0, "technology": 5.0})
    risk = np.random.default_rng(5).uniform(0.0, 0.2, 1000)
    flags = flag_riskiest(firm, risk, np.random.default_rng(6).standard_normal(1000))
    assert flags.sum() == 30  # 3 % of 1,000
    assert risk[flags].min() > risk[~flags].max()  # without score error: the top 30
    assert not flag_riskiest(firm, risk[:10], np.zeros(10)).any()  # 0.3 rounds to none
    noisy = firm_with("predictive")
    flags = flag_riskiest(noisy, risk, np.random.default_rng(6).standard_normal(1000))
    assert flags.sum() == 30 and risk[flags].mean() > risk.mean() + 0.03


def test_intervention_measures_count_cost_and_score_the_flags():
    firm = firm_with("predictive")
    flagged = np.array([True, True, True, False, False, False])
    would_leave = np.array([True, False, False, True, True, False])
    kept = np.array([True])
    m = intervention_measures(firm, flagged, would_leave, kept)
    assert m["interventions"] == 3.0 and m["saved_customers"] == 1.0
    assert m["retention_cost"] == 30.0  # 3 × 10
    assert m["flag_precision"] == pytest.approx(1 / 3)
    assert m["flag_recall"] == pytest.approx(1 / 3)
    none = intervention_measures(firm_with("proactive"), None, would_leave, kept)
    assert none["interventions"] == 0.0 and none["retention_cost"] == 0.0
    assert math.isnan(none["flag_precision"]) and math.isnan(none["flag_recall"])
    nobody_leaves = intervention_measures(firm, flagged, np.zeros(6, bool), np.zeros(0, bool))
    assert nobody_leaves["flag_precision"] == 0.0 and math.isnan(nobody_leaves["flag_recall"])


def test_closing_the_loop_from_managed_on_at_its_price():
    assert [closes_loop(firm_with(level)) for level in ("reactive", "managed", "proactive")] == [
        False, True, True,
    ]  # fmt: skip
    assert loop_measures(firm_with("managed"), 7) == {"loop_calls": 7.0, "loop_cost": 105.0}
    assert not scores_churn(firm_with("proactive")) and scores_churn(firm_with("predictive"))
