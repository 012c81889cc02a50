"""Surveys (docs/model.md §7.5, §9.3): who answers, what they answer, the measured and true
NPS, CSAT and CES, touchpoint ratings, and how the measurement capability changes the gap
between what the firm measures and the truth."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sim.customers import surveys
from sim.metrics import SURVEY_METRICS
from sim.scenario import SurveyRules

RULES = SurveyRules()  # s_N 1.7, s_C 0.6, s_E 0.8, r_M 0.2, β_0 4
NAN = np.nan


def answers_of(**fields) -> surveys.Answers:
    """An `Answers` of len(answered) people; fields not given are zeros."""
    n = len(fields["answered"])
    blank = {name: np.zeros(n) for name in surveys.Answers._fields}
    return surveys.Answers(**(blank | {k: np.asarray(v) for k, v in fields.items()}))


# ----------------------------------------------------------------- NPS arithmetic


@pytest.mark.parametrize(
    ("answers", "nps"),
    [
        ([10, 10, 9, 9, 9, 9, 8, 7, 6, 0], 40.0),  # 6 promoters, 2 passives, 2 detractors
        ([9, 9, 9, 9], 100.0),
        ([7, 8, 7, 8], 0.0),
        ([0, 6, 6], -100.0),
        ([9, 6], 0.0),  # the boundaries: 9 promotes, 6 detracts
        ([10, 8, 8, 0, 0], -20.0),
    ],
)
def test_net_promoter_score_of_known_answers(answers, nps):
    assert surveys.net_promoter_score(np.array(answers, dtype=float)) == pytest.approx(nps)


def test_net_promoter_score_of_nobody_is_missing():
    assert math.isnan(surveys.net_promoter_score(np.array([])))


@pytest.mark.parametrize(
    ("satisfaction", "nps"), [(0.75, 0.0), (0.70, -20.0), (0.80, 20.0), (0.85, 38.0)]
)
def test_true_nps_of_a_satisfaction_level_matches_the_model_card(satisfaction, nps):
    """§7.5 with s_N = 1.7: S = 0.75 → 0, 0.70 → −20, 0.80 → +20, 0.85 → +38 (the card
    rounds to whole points, hence the tolerance of half a point)."""
    truth = surveys.latent(RULES, np.full(3, satisfaction), np.full(3, 0.5), np.full(3, 0.5))
    wave = surveys.measure_wave(
        answers_of(answered=np.zeros(3, bool), promoter=truth.promoter, detractor=truth.detractor)
    )
    assert wave.measures["nps_true"] == pytest.approx(nps, abs=0.5)


def test_latent_csat_and_ces_map_the_quality_scale_onto_their_answer_scales():
    episode = np.array([0.0, 0.5, 1.0, NAN])
    effort = np.array([0.0, 0.5, 1.0, NAN])
    truth = surveys.latent(RULES, np.full(4, 0.75), episode, effort)
    np.testing.assert_allclose(truth.csat, [1.0, 3.0, 5.0, NAN])
    np.testing.assert_allclose(truth.ces, [1.0, 4.0, 7.0, NAN])  # higher = more effort
    np.testing.assert_allclose(truth.recommend, 7.5)


def test_given_answers_are_latent_plus_noise_rounded_and_clipped():
    truth = surveys.latent(
        RULES, np.array([0.73, 0.95, 0.02]), np.array([0.9, 0.4, 0.0]), np.array([0.1, 0.9, 0.5])
    )
    z = np.array([1.0, 1.0, -1.0])
    recommend, csat, ces = surveys.given_answers(RULES, truth, z, z, z)
    # NPS: 7.3 + 1.7 = 9.0; 9.5 + 1.7 → 10 (top of scale); 0.2 − 1.7 → 0
    np.testing.assert_array_equal(recommend, [9, 10, 0])
    # CSAT: 4.6 + 0.6 → 5; 2.6 + 0.6 = 3.2 → 3; 1.0 − 0.6 → 1
    np.testing.assert_array_equal(csat, [5, 3, 1])
    # CES: 1.6 + 0.8 = 2.4 → 2; 6.4 + 0.8 → 7; 4.0 − 0.8 = 3.2 → 3
    np.testing.assert_array_equal(ces, [2, 7, 3])
    silent = np.zeros(3)
    recommend, csat, ces = surveys.given_answers(RULES, truth, silent, silent, silent)
    np.testing.assert_array_equal(recommend, [7, 10, 0])  # rint(9.5) = 10 (half to even)


# ----------------------------------------------------------------- who answers


def test_measurement_scales_response_and_removes_self_selection():
    assert surveys.measurement_scale(RULES, 0.0) == 1.0
    assert surveys.measurement_scale(RULES, 2.5) == pytest.approx(1.5)
    assert surveys.measurement_scale(RULES, -2.5) == pytest.approx(0.5)
    assert surveys.measurement_scale(RULES, -10.0) == 0.0  # never negative
    assert surveys.selection_bias(RULES, 0.0) == 4.0
    assert surveys.selection_bias(RULES, 2.5) == pytest.approx(2.0)
    assert surveys.selection_bias(RULES, 5.0) == 0.0
    asked = surveys.conditions(RULES, np.array([0.6, 0.8, 1.0]), 3.5, 2.5)
    assert asked == pytest.approx((1.2, 4.0 * 0.3, 0.8))


def test_response_probability_shifts_on_the_logit_scale_with_satisfaction():
    # base 0.2 at reference measurement (scale 1), bias 4, satisfaction 0.1 above the mean:
    # logistic(ln 0.25 + 0.4) = 1 / (1 + 4·e^−0.4) = 0.27164
    asked = surveys.Conditions(1.0, 4.0, 0.7)
    p = 1.0 / (1.0 + 4.0 * math.exp(-0.4))
    assert p == pytest.approx(0.27164, abs=1e-5)
    who = surveys.responds(asked, np.full(2, 0.8), 0.2, np.array([p - 1e-6, p + 1e-6]))
    np.testing.assert_array_equal(who, [True, False])
    below = surveys.responds(asked, np.full(2, 0.6), 0.2, np.array([0.143, 0.144]))
    np.testing.assert_array_equal(below, [True, False])  # 1 / (1 + 4·e^0.4) = 0.14353
    # Without self-selection everyone answers with the scaled base probability.
    flat = surveys.Conditions(1.5, 0.0, 0.7)
    u = np.array([0.299, 0.301, 0.299])
    answered = surveys.responds(flat, np.array([0.1, 0.9, 1.0]), 0.2, u)
    np.testing.assert_array_equal(answered, [True, False, True])


def test_response_is_certain_or_impossible_at_the_ends():
    u = np.linspace(0.001, 0.999, 1000)
    sure = surveys.Conditions(1.5, 4.0, 0.7)
    assert surveys.responds(sure, np.full(1000, 0.7), 0.9, u).all()  # 0.9 × 1.5 → 1
    never = surveys.Conditions(0.0, 4.0, 0.7)
    assert not surveys.responds(never, np.full(1000, 0.9), 0.9, u).any()


# ----------------------------------------------------------------- a month's wave


def test_measure_an_empty_month():
    wave = surveys.measure_wave(answers_of(answered=np.zeros(0, bool)))
    assert set(wave.measures) == set(SURVEY_METRICS)
    assert wave.measures["respondents"] == 0.0
    assert all(math.isnan(v) for k, v in wave.measures.items() if k != "respondents")
    assert len(wave.respondents) == 0 and len(wave.recommend) == 0
    empty = np.zeros(0)
    nobody = np.zeros(0, dtype=np.int64)
    survey = surveys.survey(
        RULES, empty, empty, empty, nobody, np.array([0.2]), 2.5, 2.5, nobody, keys_from(1)
    )
    assert survey.measures.keys() == wave.measures.keys()
    assert survey.measures["respondents"] == 0.0 and math.isnan(survey.measures["nps_true"])


def test_measure_wave_counts_respondents_and_truth_over_their_own_groups():
    answers = answers_of(
        answered=np.array([True, True, True, False, False]),
        recommend=np.array([10.0, 6.0, 8.0, 0.0, 0.0]),
        promoter=np.array([0.6, 0.1, 0.3, 0.2, 0.3]),
        detractor=np.array([0.1, 0.5, 0.2, 0.6, 0.2]),
        csat_latent=np.array([4.5, NAN, 3.0, 2.0, NAN]),
        csat=np.array([5.0, 0.0, 3.0, 0.0, 0.0]),
        ces_latent=np.array([2.0, NAN, 3.0, 5.0, NAN]),
        ces=np.array([2.0, 0.0, 4.0, 0.0, 0.0]),
    )
    wave = surveys.measure_wave(answers)
    m = wave.measures
    assert m["respondents"] == 3.0
    np.testing.assert_array_equal(wave.respondents, [0, 1, 2])
    np.testing.assert_array_equal(wave.recommend, [10, 6, 8])
    assert m["nps_measured"] == pytest.approx(0.0)  # one promoter, one detractor, one passive
    assert m["nps_true"] == pytest.approx(100 * (1.5 - 1.6) / 5)  # over everyone asked
    # True CSAT/CES: everyone who met a touchpoint; measured: respondents who met one.
    assert m["csat_true"] == pytest.approx((4.5 + 3.0 + 2.0) / 3)
    assert m["csat_measured"] == pytest.approx(4.0)
    assert m["ces_true"] == pytest.approx(10.0 / 3)
    assert m["ces_measured"] == pytest.approx(3.0)
    nobody = surveys.measure_wave(answers._replace(answered=np.zeros(5, bool))).measures
    assert nobody["respondents"] == 0.0 and math.isnan(nobody["nps_measured"])
    assert math.isnan(nobody["csat_measured"]) and nobody["csat_true"] == m["csat_true"]


def keys_from(seed: int) -> surveys.AnswerKeys:
    """A survey's streams: whether each person answers, and their answers' noise."""
    words = np.random.default_rng(seed).integers(0, 2**63, 4, dtype=np.uint64)
    return surveys.AnswerKeys(*words)


def test_a_wave_without_noise_or_selection_reads_the_latent_answers():
    quiet = SurveyRules(nps_answer_sd=0.0, csat_answer_sd=0.0, ces_answer_sd=0.0)
    n = 1000
    satisfaction = np.full(n, 0.91)  # every answer rint(9.1) = 9: all promoters
    episode = np.where(np.arange(n) % 2 == 0, 0.5, NAN)  # half met no touchpoint
    effort = np.where(np.arange(n) % 2 == 0, 0.5, NAN)
    wave = surveys.survey(
        quiet, satisfaction, episode, effort, np.zeros(n, dtype=np.intp), np.array([0.3]), 5.0,
        2.5, np.arange(n), keys_from(2),
    )  # fmt: skip
    m = wave.measures
    assert m["nps_measured"] == 100.0
    assert m["csat_true"] == 3.0 and m["csat_measured"] == 3.0
    assert m["ces_true"] == 4.0 and m["ces_measured"] == 4.0
    # Response 0.3 × 1.5 = 0.45: binomial count within four standard deviations.
    assert abs(m["respondents"] - 0.45 * n) < 4 * math.sqrt(n * 0.45 * 0.55)


def expected_measured_nps(satisfaction: np.ndarray, base: float, level: float) -> float:
    """The measured NPS a wave is expected to give: promoter less detractor probabilities of
    each customer (normal tails, §7.5), weighted by each one's chance of answering."""
    b = min(base * max(1 + 0.2 * (level - 2.5), 0.0), 1.0)
    shift = 4.0 * max(1 - level / 5, 0.0) * (satisfaction - satisfaction.mean())
    p = 1 / (1 + np.exp(-(np.log(b / (1 - b)) + shift)))
    promoter = stats.norm.sf((8.5 - 10 * satisfaction) / 1.7)
    detractor = stats.norm.cdf((6.5 - 10 * satisfaction) / 1.7)
    return 100 * float(np.sum(p * (promoter - detractor)) / np.sum(p))


def test_weak_measurement_flatters_measured_nps_and_strong_measurement_removes_the_bias():
    """Each wave's measured NPS is what its respondents' answer probabilities imply, and the
    flattering gap to the true NPS shrinks as measurement improves, to none at level 5."""
    n = 200_000
    rng = np.random.default_rng(7)
    satisfaction = rng.uniform(0.55, 0.95, n)
    who, keys = np.arange(n), keys_from(8)
    truth = surveys.latent(RULES, satisfaction, satisfaction, satisfaction)
    nps_true = 100 * float((truth.promoter - truth.detractor).mean())
    gaps, counts, means = [], [], []
    for level in (0.0, 2.5, 5.0):
        wave = surveys.survey(
            RULES, satisfaction, np.full(n, 0.7), np.full(n, 0.3), np.zeros(n, dtype=np.intp),
            np.array([0.15]), level, 2.5, who, keys,
        )  # fmt: skip
        m = wave.measures
        assert m["nps_true"] == pytest.approx(nps_true)
        # A share's sampling sd is at most 100/√n points: allow four of them.
        tolerance = 4 * 100 / math.sqrt(m["respondents"])
        expected = expected_measured_nps(satisfaction, 0.15, level)
        assert m["nps_measured"] == pytest.approx(expected, abs=tolerance), level
        gaps.append(m["nps_measured"] - nps_true)
        counts.append(m["respondents"])
        means.append(satisfaction[wave.respondents].mean())
    assert gaps[0] > gaps[1] > 5.0  # 17.0 and 8.1 points expected
    assert abs(gaps[2]) < 4 * 100 / math.sqrt(counts[2])
    # More answer as measurement grows: about 0.075, 0.15 and 0.225 of customers.
    assert counts[0] < counts[1] < counts[2]
    assert counts[2] == pytest.approx(0.225 * n, rel=0.02)
    # Respondents are more satisfied than customers, unless measurement is at level 5.
    assert means[0] > means[1] > satisfaction.mean() + 0.01
    assert means[2] == pytest.approx(satisfaction.mean(), abs=0.002)


# ----------------------------------------------------------------- touchpoint ratings


def test_touchpoint_rating_adds_a_quarter_of_the_csat_noise_and_clips():
    satisfaction = np.array([0.6, 0.6, 0.95, 0.05])
    noise = np.array([0.0, 1.0, 1.0, -1.0])
    rating = surveys.touchpoint_rating(satisfaction, noise, 0.6)
    # 0.6 / 4 = 0.15 on the 0–1 scale per unit of noise.
    np.testing.assert_allclose(rating, [0.6, 0.75, 1.0, 0.0])
    with np.errstate(invalid="ignore"):  # a touchpoint not met stays unrated
        assert np.isnan(surveys.touchpoint_rating(np.array([NAN]), np.zeros(1), 0.6)).all()
    assert surveys.touchpoint_rating(0.7, 2.0, 0.0) == pytest.approx(0.7)
    spread = surveys.touchpoint_rating(
        np.full(100_000, 0.5), np.random.default_rng(4).standard_normal(100_000), 0.6
    )
    assert spread.std() == pytest.approx(0.15, rel=0.02)


def test_the_compiled_wave_is_the_rules_over_arrays_on_any_threads(on_each_thread_count):
    """`survey`'s one compiled pass gives, bit for bit, what `responds`, `latent` and
    `given_answers` give over arrays (the agents engine's rules), on one thread and spread
    over two in blocks."""
    from sim.streams import normal_at, uniform_at

    n = 30_000  # four blocks of `threads.BLOCK`
    rng = np.random.default_rng(11)
    satisfaction = rng.uniform(0.3, 0.97, n)
    met = rng.random(n) < 0.7
    episode = np.where(met, rng.uniform(0.0, 1.0, n), NAN)
    effort = np.where(met, rng.uniform(0.0, 0.6, n), NAN)
    segment, segment_response = rng.integers(0, 3, n), np.array([0.1, 0.2, 0.35])
    base = segment_response[segment]
    who = rng.permutation(3 * n)[:n].astype(np.int64)
    keys = keys_from(4)
    waves = on_each_thread_count(
        lambda: surveys.survey(
            RULES, satisfaction, episode, effort, segment, segment_response, 1.5, 2.5, who, keys
        )
    )

    def draws(draw, key, people) -> np.ndarray:
        return np.array([draw(key, person) for person in who[people]], dtype=np.float32)

    asked = surveys.conditions(RULES, satisfaction, 1.5, 2.5)
    answered = surveys.responds(
        asked, satisfaction, base, draws(uniform_at, keys.respond, slice(None))
    )
    truth = surveys.latent(RULES, satisfaction, episode, effort)
    respondents = np.flatnonzero(answered)
    noise = (draws(normal_at, key, respondents) for key in keys[1:])
    given = surveys.given_answers(RULES, surveys.Latent(*(v[respondents] for v in truth)), *noise)
    full = []
    for values in given:
        column = np.zeros(n)
        column[respondents] = values
        full.append(column)
    expected = surveys.measure_wave(
        surveys.Answers(answered, full[0], truth.promoter, truth.detractor, truth.csat,
                        full[1], truth.ces, full[2])
    )  # fmt: skip
    assert 0.1 * n < len(respondents) < 0.5 * n
    for wave in waves.values():
        np.testing.assert_array_equal(wave.respondents, expected.respondents)
        np.testing.assert_array_equal(wave.recommend, expected.recommend)
        assert wave.measures.keys() == expected.measures.keys()
        for name, value in expected.measures.items():
            assert wave.measures[name] == value or (
                math.isnan(value) and math.isnan(wave.measures[name])
            ), name
