"""Unit tests of the behavioural rules, with hand-computed numbers."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from sim.customers import journeys, rules


def test_delivered_quality_moves_with_capability_and_clips():
    q = rules.delivered_quality(np.array([0.7, 0.7, 0.98]), np.array([2.5, 4.5, 5.0]), 2.5, 0.04)
    np.testing.assert_allclose(q, [0.7, 0.78, 1.0])


def test_consistency_spread_falls_with_level_but_not_below_floor():
    assert rules.consistency_spread(0.1, 2.5, 2.5, 0.08) == pytest.approx(0.1)
    assert rules.consistency_spread(0.1, 5.0, 2.5, 0.08) == pytest.approx(0.08)
    assert rules.consistency_spread(0.1, 50.0, 2.5, 0.08) == pytest.approx(0.01)


def test_disconfirmation_is_zero_inside_the_zone_of_tolerance():
    d = rules.disconfirmation(np.array([0.71, 0.80, 0.60]), 0.70, 0.02)
    np.testing.assert_allclose(d, [0.0, 0.08, -0.08])


def test_loss_aversion_negative_gap_hurts_twice_as_much_as_positive_helps():
    base = 0.7
    up = rules.transaction_satisfaction(base, 0.1, weight=0.5, loss_aversion=2.0) - base
    down = base - rules.transaction_satisfaction(base, -0.1, weight=0.5, loss_aversion=2.0)
    assert up == pytest.approx(0.05)
    assert down == pytest.approx(0.10)
    assert down / up == pytest.approx(2.0)


def test_peak_end_blends_extreme_and_last_moment_with_the_mean():
    nan = np.nan
    x = np.array(
        [
            [0.8, 0.8, 0.2, 0.8],  # a bad peak in the middle
            [0.6, nan, 0.9, nan],  # the end is the last moment that happened
            [nan, nan, nan, nan],  # nothing happened
        ]
    )
    baseline = np.array([0.7, 0.7, 0.7])  # each customer's satisfaction before the month
    episode = rules.peak_end(x, baseline, peak_end_weight=0.5)
    mean0 = 0.65
    assert episode[0] == pytest.approx(0.5 * 0.5 * (0.2 + 0.8) + 0.5 * mean0)
    # row 1: 0.9 is further from the baseline 0.7 than 0.6: the peak is the end, and the
    # episode leans to it, above the mean (0.75)
    assert episode[1] == pytest.approx(0.5 * 0.9 + 0.5 * 0.75)
    assert math.isnan(episode[2])
    # with weight 0 it is the plain mean
    assert rules.peak_end(x, baseline, 0.0)[0] == pytest.approx(mean0)


def test_two_moments_are_remembered_by_the_more_intense_one_not_by_their_mean():
    """Measured from the customer's baseline, two moments are rarely equally intense: the
    peak-end memory of a two-interaction month is not simply their mean."""
    # a good end after a bad start, for a customer used to 0.8: the bad start is the peak
    assert rules.peak_end([0.4, 0.9], 0.8, 0.5)[0] == pytest.approx(0.25 * (0.4 + 0.9) + 0.325)
    # the same moments for a customer used to 0.4: the good end is the peak
    assert rules.peak_end([0.4, 0.9], 0.4, 0.5)[0] == pytest.approx(0.5 * 0.9 + 0.325)
    moments = np.random.default_rng(0).uniform(0.3, 1.0, (10_000, 2))
    baseline = np.random.default_rng(1).uniform(0.5, 0.9, 10_000)
    episode = rules.peak_end(moments, baseline, 0.5)
    inert = np.isclose(episode, moments.mean(axis=1), rtol=0, atol=1e-9)
    # When the first moment is the more intense, peak and end are the two moments and
    # their average is the mean, as the rule says; when the end is also the peak the
    # memory leans to it. (Measured from the month's own mean, as before, the first moment
    # always tied as the peak and every two-moment month was remembered as its mean.)
    end_is_peak = np.abs(moments[:, 1] - baseline) > np.abs(moments[:, 0] - baseline)
    np.testing.assert_array_equal(inert, ~end_is_peak)
    assert 0.4 < inert.mean() < 0.6


def test_prior_weight_rises_with_tenure_from_new_to_loyal():
    w = rules.prior_weight(np.array([0, 24, 1e6]), 0.5, 0.85, 24.0)
    np.testing.assert_allclose(w, [0.5, 0.5 + 0.35 * (1 - math.exp(-1)), 0.85])


def test_anchor_and_adjust_keeps_prior_when_nothing_happened():
    s = rules.anchor_and_adjust(np.array([0.8, 0.8]), np.array([0.4, np.nan]), 0.75)
    np.testing.assert_allclose(s, [0.7, 0.8])


def test_expectations_adapt_and_drift():
    e = rules.adapted_expectation(np.array([0.7, 0.7]), np.array([0.8, np.nan]), 0.1, 0.001)
    np.testing.assert_allclose(e, [0.711, 0.701])


def test_churn_probability_is_base_at_reference_and_rises_when_dissatisfied():
    p0 = rules.churn_probability(0.02, 0.75, 0.25, 6.0, 2.0, 0.75, 0.25, 0.0, 1.0)
    assert p0 == pytest.approx(0.02)
    low = rules.churn_probability(0.02, 0.65, 0.25, 6.0, 2.0, 0.75, 0.25, 0.0, 1.0)
    hazard = -math.log(0.98) * math.exp(0.6)
    assert low == pytest.approx(1 - math.exp(-hazard))
    off = rules.churn_probability(0.02, 0.1, 0.9, 0.0, 0.0, 0.75, 0.25, 0.0, 1.0)
    assert off == pytest.approx(0.02)


def test_renewal_leave_is_half_of_max_at_threshold():
    assert rules.renewal_leave_probability(0.6, 0.4, 0.6, 20.0) == pytest.approx(0.2)
    # Logistic in satisfaction: 0.3 above the threshold at steepness 20 is 6 logits, so
    # 0.4 / (1 + e^6) = 0.00098905; 0.4 below is −8 logits, 0.4 / (1 + e^−8) = 0.39986586.
    assert rules.renewal_leave_probability(0.9, 0.4, 0.6, 20.0) == pytest.approx(
        0.00098905, rel=1e-5
    )
    assert rules.renewal_leave_probability(0.2, 0.4, 0.6, 20.0) == pytest.approx(
        0.39986586, rel=1e-8
    )
    # Symmetric about the threshold: leaving above + leaving below = the maximum.
    above = rules.renewal_leave_probability(0.65, 0.4, 0.6, 20.0)
    below = rules.renewal_leave_probability(0.55, 0.4, 0.6, 20.0)
    assert above + below == pytest.approx(0.4) and above < 0.2 < below


def test_purchase_probability_rises_with_satisfaction():
    p = rules.purchase_probability(0.05, np.array([0.65, 0.75, 0.85]), 4.0, 0.75)
    np.testing.assert_allclose(p, [0.05 * math.exp(-0.4), 0.05, 0.05 * math.exp(0.4)])


def test_bass_month_adoption_follows_the_closed_form_exactly():
    p, q, share = 0.01, 0.3, 0.0
    for month in range(1, 37):
        share += rules.bass_month_adoption(p, q, share, 1.0, 1.0 - share) * (1.0 - share)
        assert share == pytest.approx(rules.bass_cumulative(month, p, q), abs=1e-12)


def test_bass_month_adoption_without_carriers_is_a_constant_hazard():
    assert rules.bass_month_adoption(0.01, 0.3, 0.1, 0.0, 0.5) == pytest.approx(
        1 - math.exp(-(0.01 + 0.03))
    )


def test_negative_word_of_mouth_lowers_the_hazard_below_advertising_without_a_kink():
    p, q, eps = 0.004, 0.3, 1e-7
    h = lambda v: float(rules.adoption_hazard(p, q, v))  # noqa: E731
    assert h(0.02) == pytest.approx(p + q * 0.02, rel=1e-12)  # the Bass hazard
    assert h(0.0) == p
    # value and slope agree on both sides of a net voice of 0 (NPS 0): no kink
    assert (h(eps) - h(0.0)) / eps == pytest.approx(q, rel=1e-4)
    assert (h(0.0) - h(-eps)) / eps == pytest.approx(q, rel=1e-4)
    # detractors push acquisition below the advertising-only rate, toward zero
    assert h(-0.01) == pytest.approx(p * math.exp(-0.75), rel=1e-12)
    assert 0.0 < h(-0.05) < h(-0.01) < p
    # without advertising only a voice for the firm attracts anyone
    assert float(rules.adoption_hazard(0.0, q, -0.5)) == 0.0
    assert float(rules.adoption_hazard(0.0, q, 0.1)) == pytest.approx(0.03)
    # the month's adoption share is continuous across a net voice of 0
    below = rules.bass_month_adoption(p, q, -1e-9, -1e-8, 0.7)
    above = rules.bass_month_adoption(p, q, 1e-9, 1e-8, 0.7)
    assert below == pytest.approx(above, abs=1e-9)
    assert below == pytest.approx(1 - math.exp(-p), rel=1e-6)
    assert rules.bass_month_adoption(p, q, -0.01, -0.05, 0.7) == pytest.approx(
        1 - math.exp(-p * math.exp(-0.75)), rel=1e-12
    )


def test_bass_cumulative_textbook_shape():
    p, q = 0.03, 0.38  # Sultan, Farley & Lehmann (1990) mean coefficients, per year
    peak = math.log(q / p) / (p + q)  # time of the adoption peak (Bass 1969)
    f = rules.bass_cumulative(np.array([peak]), p, q)[0]
    assert f == pytest.approx(0.5 - p / (2 * q))


def test_nps_shares_are_normal_tail_probabilities():
    promoter, detractor = rules.nps_shares(np.array([8.5, 6.5]), 1.0)
    np.testing.assert_allclose(promoter, [0.5, 1 - 0.9772498680518208], atol=1e-12)
    np.testing.assert_allclose(detractor, [0.022750131948179195, 0.5], atol=1e-12)


def test_survey_answer_rounds_and_clips_to_the_scale():
    a = rules.survey_answer(np.array([9.6, 3.2, 0.2]), np.array([1.0, 0.0, -1.0]), 1.0, 0, 10)
    np.testing.assert_array_equal(a, [10, 3, 0])


def test_response_probability_self_selection():
    p = rules.response_probability(0.2, np.array([0.6, 0.75, 0.9]), 0.75, 4.0)
    # logit(0.2) = ln 0.25; ±0.15 satisfaction × 4 moves it by ∓0.6 logits:
    # 1 / (1 + 4·e^0.6) = 0.120649 and 1 / (1 + 4·e^−0.6) = 0.312965.
    np.testing.assert_allclose(p, [0.120649, 0.2, 0.312965], atol=1e-6)
    assert rules.response_probability(0.2, 0.9, 0.75, 0.0) == pytest.approx(0.2)


def test_clv_is_the_discounted_margin_of_each_month_survived_and_monthly_rate():
    # Σ_{t≥1} m·r^t / (1 + d)^t: a margin at the end of each month the customer survives.
    series = sum(10.0 * (0.97 / 1.01) ** t for t in range(1, 5000))
    assert rules.customer_lifetime_value(10.0, 0.97, 0.01) == pytest.approx(series, rel=1e-9)
    assert rules.customer_lifetime_value(10.0, 1.0, 0.01) == pytest.approx(1000.0)  # m / d
    assert math.isnan(rules.customer_lifetime_value(10.0, 1.0, 0.0))  # no finite sum
    assert (1 + rules.monthly_rate(0.1)) ** 12 == pytest.approx(1.1)
    assert rules.monthly_rate(0.1) == pytest.approx(0.00797414, rel=1e-6)  # §1.2: 0.797 %


def test_rules_work_on_scalars_and_arrays_alike():
    scalar = rules.transaction_satisfaction(0.7, -0.05, 0.5, 2.0)
    array = rules.transaction_satisfaction(np.array([0.7]), np.array([-0.05]), 0.5, 2.0)
    assert float(scalar) == pytest.approx(float(array[0]))


def test_compiled_rules_handle_empty_months_without_floating_point_warnings():
    # A customer with no interaction has NaN episode and effort and 0 interactions; the rules
    # must give NaN or keep the prior, quietly, as numbers and as arrays.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        effort = journeys.month_effort(np.array([0.0, 0.6, 3.0]), np.array([0.0, 2.0, 1.0]))
        np.testing.assert_allclose(effort, [np.nan, 0.3, 1.0])
        assert np.isnan(journeys.month_effort(0.0, 0))
        answers = rules.survey_answer(np.array([np.nan, 2.3, 7.9]), np.zeros(3), 1.0, 1, 5)
        np.testing.assert_allclose(answers, [np.nan, 2.0, 5.0])
        kept = rules.anchor_and_adjust(np.array([0.7, 0.7]), np.array([np.nan, 0.9]), 0.5)
        np.testing.assert_allclose(kept, [0.7, 0.8])
        moved = rules.adapted_expectation(np.array([0.7, 0.7]), np.array([np.nan, 0.9]), 0.5, 0.0)
        np.testing.assert_allclose(moved, [0.7, 0.8])
        assert not journeys.renewing(np.array([0, 12]), np.array([0, 5])).any()


def test_a_service_episode_harder_than_neutral_lowers_satisfaction_an_easier_one_repairs():
    shift = rules.service_effort_shift(np.array([0.2, 0.4, 0.75, np.nan]), 0.3, 0.4)
    np.testing.assert_allclose(shift, [0.06, 0.0, -0.105, 0.0])


def test_the_month_is_felt_through_its_service_episode_when_there_is_one():
    felt = journeys.felt_effort(np.array([0.15, 0.15, np.nan]), np.array([np.nan, 0.7, np.nan]))
    np.testing.assert_allclose(felt, [0.15, 0.7, np.nan])


def test_remembering_a_hard_service_episode_lowers_satisfaction_beyond_the_episode():
    from sim.scenario import SatisfactionRules

    s = SatisfactionRules()
    prior = journeys.Memory(0.8, 0.2, 0.75)
    service = np.array([np.nan, 0.2, 0.8])
    felt = journeys.felt_effort(np.full(3, 0.15), service)
    memory = journeys.Memory(
        *np.array(
            [
                journeys.remember(s, 0, prior, 0.7, f, e, 0.7, 0.0)
                for f, e in zip(felt, service, strict=True)
            ]
        ).T
    )
    # New customers weigh the prior by 0.5: 0.75 from the episode, then ±0.3 × (E − 0.4).
    np.testing.assert_allclose(memory.satisfaction, [0.75, 0.81, 0.63])
    np.testing.assert_allclose(memory.effort, [0.7 * 0.2 + 0.3 * e for e in (0.15, 0.2, 0.8)])
