"""Surveys: who answers, what they answer, and what the firm therefore sees.

A relationship survey asks every active customer for likelihood to recommend (NPS, 0–10);
customers who met touchpoints this month are also asked CSAT (1–5) about the month and CES
(1–7, higher = more effort) and rate each touchpoint they met. Answers are drawn from the
latent state with noise; who answers is self-selected by satisfaction, less so as the
measurement capability grows, and more answer as it grows. The true values are computed
from the latent state of everyone, so the gap between measured and true is visible.

`responds`, `latent`, `given_answers` and `answer` are one person's part (scalars) or
everyone's (arrays); `conditions` and `measure_wave` are the firm's side, the same for both
engines; `survey` runs a whole wave over arrays, drawing answers only for respondents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np
from numpy.typing import ArrayLike

from sim.customers import rules
from sim.metrics import SURVEY_METRICS
from sim.scenario import SurveyRules
from sim.scenario.fields import MAX_LEVEL
from sim.stats import mean_or_nan
from sim.streams import normal_at, uniform_at
from sim.threads import BLOCK, block_count, compiled_pass, positions


@dataclass(frozen=True)
class SurveyWave:
    """One month's survey: headline measures and the respondents' answers."""

    measures: dict[str, float]
    respondents: np.ndarray
    """Positions (within the month's active customers) of those who answered."""
    recommend: np.ndarray
    """Their likelihood-to-recommend answers, 0–10."""


def measurement_scale(survey_rules: SurveyRules, measurement_above_reference: float) -> float:
    """Multiplier on response rates from the measurement capability."""
    return max(1.0 + survey_rules.response_per_level * measurement_above_reference, 0.0)


def selection_bias(survey_rules: SurveyRules, measurement_level: float) -> float:
    """Self-selection strength: full at measurement level 0, none at level 5."""
    return survey_rules.selection_bias * max(1.0 - measurement_level / MAX_LEVEL, 0.0)


class Conditions(NamedTuple):
    """How a month's survey reaches customers: the same for everyone asked."""

    response_scale: float
    """Multiplier on each segment's response probability (measurement capability)."""
    selection_bias: float
    """Self-selection strength (logit shift per unit of satisfaction above the mean)."""
    mean_satisfaction: float
    """Mean cumulative satisfaction of the customers asked, 0–1."""


class Answers(NamedTuple):
    """Survey answers of one person (scalars) or of each person asked (aligned arrays)."""

    answered: np.ndarray
    """Whether the person answered."""
    recommend: np.ndarray
    """Likelihood-to-recommend answer, 0–10 (meaningful where answered)."""
    promoter: np.ndarray
    """True probability of being a promoter (from the latent state)."""
    detractor: np.ndarray
    """True probability of being a detractor."""
    csat_latent: np.ndarray
    """Latent CSAT of the month, 1–5 (NaN without an interaction)."""
    csat: np.ndarray
    """CSAT answer, 1–5 (meaningful where answered and an interaction happened)."""
    ces_latent: np.ndarray
    """Latent CES of the month, 1–7 (NaN without an interaction)."""
    ces: np.ndarray
    """CES answer, 1–7."""


def conditions(
    survey_rules: SurveyRules,
    satisfaction: np.ndarray,
    measurement_level: float,
    reference_level: float,
) -> Conditions:
    """The month's survey conditions, from the measurement capability (0–5) and the
    cumulative satisfaction of everyone asked."""
    return Conditions(
        measurement_scale(survey_rules, measurement_level - reference_level),
        selection_bias(survey_rules, measurement_level),
        float(satisfaction.mean()),
    )


def responds(
    asked: Conditions,
    satisfaction: ArrayLike,
    base_response: ArrayLike,
    u_respond: ArrayLike,
) -> ArrayLike:
    """Whether a person (or each person) asked answers: self-selected by satisfaction.

    Args:
        asked: the month's `Conditions`.
        satisfaction: cumulative satisfaction, 0–1.
        base_response: the segment's response probability.
        u_respond: uniform draw deciding whether to answer.
    """
    p_answer = rules.response_probability(
        np.clip(base_response * asked.response_scale, 0.0, 1.0),
        satisfaction,
        asked.mean_satisfaction,
        asked.selection_bias,
    )
    return u_respond < p_answer


class Latent(NamedTuple):
    """What a person's answers would be without noise (scalars, or arrays of people)."""

    recommend: ArrayLike
    """Latent likelihood to recommend, 0–10."""
    promoter: ArrayLike
    """True probability of being a promoter."""
    detractor: ArrayLike
    """True probability of being a detractor."""
    csat: ArrayLike
    """Latent CSAT of the month, 1–5 (NaN without an interaction)."""
    ces: ArrayLike
    """Latent CES of the month, 1–7 (NaN without an interaction)."""


def latent(
    survey_rules: SurveyRules, satisfaction: ArrayLike, episode: ArrayLike, month_effort: ArrayLike
) -> Latent:
    """The latent answers of a person (or of each person) from their state: cumulative
    satisfaction, the month's remembered satisfaction and mean effort (0–1, NaN for no
    interaction)."""
    score = 10.0 * satisfaction
    promoter, detractor = rules.nps_shares(score, survey_rules.nps_answer_sd)
    return Latent(score, promoter, detractor, *_latent_scales(episode, month_effort))


@numba.njit(cache=True, nogil=True)
def latent_scales(episode: float, month_effort: float) -> tuple[float, float]:
    """Latent CSAT (1–5) of the month's remembered satisfaction and latent CES (1–7,
    higher = more effort) of its felt effort (both 0–1; NaN, none, without an
    interaction)."""
    csat = episode if np.isnan(episode) else min(max(1.0 + 4.0 * episode, 1.0), 5.0)
    ces = month_effort if np.isnan(month_effort) else min(max(1.0 + 6.0 * month_effort, 1.0), 7.0)
    return csat, ces


def _latent_scales(episode: ArrayLike, month_effort: ArrayLike) -> tuple[ArrayLike, ArrayLike]:
    """`latent_scales` of a person (numbers) or of each person (arrays)."""
    csat, ces = rules.each_person(_scales, (episode, month_effort), 2)
    return csat, ces


@numba.njit(cache=True, nogil=True)
def _scales(episode, month_effort, csat, ces) -> None:  # noqa: ANN001
    for i in range(csat.size):
        csat[i], ces[i] = latent_scales(episode[i], month_effort[i])


def given_answers(
    survey_rules: SurveyRules, truth: Latent, z_nps: ArrayLike, z_csat: ArrayLike, z_ces: ArrayLike
) -> tuple[ArrayLike, ArrayLike, ArrayLike]:
    """The NPS (0–10), CSAT (1–5) and CES (1–7) answers given: the latent answers plus the
    standard normal noise of each, on the survey's integer scales."""
    return (
        rules.survey_answer(truth.recommend, z_nps, survey_rules.nps_answer_sd, 0, 10),
        rules.survey_answer(truth.csat, z_csat, survey_rules.csat_answer_sd, 1, 5),
        rules.survey_answer(truth.ces, z_ces, survey_rules.ces_answer_sd, 1, 7),
    )


def answer(
    survey_rules: SurveyRules,
    answered: ArrayLike,
    satisfaction: ArrayLike,
    episode: ArrayLike,
    month_effort: ArrayLike,
    z_nps: ArrayLike,
    z_csat: ArrayLike,
    z_ces: ArrayLike,
) -> Answers:
    """Answers of a person (or of each person) asked, drawn from the latent state with the
    given standard normals (which matter only where the person answered; see `responds`).

    Args:
        survey_rules: survey parameters.
        answered: whether the person answered.
        satisfaction: cumulative satisfaction, 0–1.
        episode: the month's remembered satisfaction (NaN for no interaction), 0–1.
        month_effort: the month's effort as felt (`journeys.felt_effort`; NaN for none), 0–1.
        z_nps, z_csat, z_ces: standard normal answer noise.
    """
    truth = latent(survey_rules, satisfaction, episode, month_effort)
    recommend, csat, ces = given_answers(survey_rules, truth, z_nps, z_csat, z_ces)
    return Answers(
        answered, recommend, truth.promoter, truth.detractor, truth.csat, csat, truth.ces, ces
    )


ANSWER_NOISE = ("nps", "csat", "ces")
"""The answers drawn with noise, each from its own stream (`sim.purposes.survey_answer`)."""


def measure_wave(answers: Answers, respondents: np.ndarray | None = None) -> SurveyWave:
    """The month's wave from everyone's answers (arrays): true and measured NPS, CSAT and
    CES, and who answered what (`respondents`: the positions where `answers.answered` is
    True, when the caller has them already)."""
    n = len(answers.answered)
    if n == 0:
        return _no_wave()
    if respondents is None:
        respondents = positions(answers.answered)
    # of everyone who met a touchpoint, in people order
    csat_true, ces_true = _where_known(answers.csat_latent, answers.ces_latent)
    asked = respondents[~np.isnan(answers.csat_latent[respondents])]  # met a touchpoint
    recommend = answers.recommend[respondents]
    measures = {
        "nps_true": 100.0 * float(answers.promoter.mean() - answers.detractor.mean()),
        "nps_measured": net_promoter_score(recommend),
        "csat_true": mean_or_nan(csat_true),
        "csat_measured": mean_or_nan(answers.csat[asked]),
        "ces_true": mean_or_nan(ces_true),
        "ces_measured": mean_or_nan(answers.ces[asked]),
        "respondents": float(len(respondents)),
    }
    return SurveyWave(measures, respondents, recommend)


@numba.njit(cache=True, nogil=True)
def _where_known(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The entries of `first` that are numbers (not NaN) and those of `second` at the same
    places, in order: ``first[keep], second[keep]`` with ``keep = ~np.isnan(first)``, in
    one pass."""
    kept_first, kept_second = np.empty(first.size), np.empty(first.size)
    kept = 0
    for i in range(first.size):  # written each time, kept only when a number: no branch
        kept_first[kept], kept_second[kept] = first[i], second[i]
        kept += not np.isnan(first[i])
    return kept_first[:kept], kept_second[:kept]


class AnswerKeys(NamedTuple):
    """The month's per-person streams of a survey (`sim.streams.Streams.key`)."""

    respond: np.uint64
    """Whether each person answers (uniform)."""
    nps: np.uint64
    """The noise of their likelihood-to-recommend answer (standard normal)."""
    csat: np.uint64
    """The noise of their CSAT answer."""
    ces: np.uint64
    """The noise of their CES answer."""


def survey(
    survey_rules: SurveyRules,
    satisfaction: np.ndarray,
    episode: np.ndarray,
    month_effort: np.ndarray,
    segment: np.ndarray,
    segment_response: np.ndarray,
    measurement_level: float,
    reference_level: float,
    who: np.ndarray,
    keys: AnswerKeys,
) -> SurveyWave:
    """Run one month's survey of the active customers (arrays, one entry per customer).

    One compiled pass over the customers (in blocks over the threads when there are many,
    `sim.threads`) decides who answers (`responds`), works out everyone's latent answers
    (`latent`) and draws the respondents' answers (`given_answers`) from each person's
    streams; the wave's sums over people follow, in people order (`measure_wave`).

    Args:
        survey_rules: survey parameters.
        satisfaction: cumulative satisfaction of each active customer, 0–1 (float64).
        episode: the month's remembered satisfaction (NaN for no interaction), 0–1.
        month_effort: the month's effort as felt (`journeys.felt_effort`; NaN for none), 0–1.
        segment: each customer's segment (an index of `segment_response`).
        segment_response: each segment's base response probability.
        measurement_level: the firm's measurement capability, 0–5.
        reference_level: the capability reference level.
        who: each customer's index in the streams (their market index).
        keys: the month's streams of the survey.
    """
    n = len(satisfaction)
    if n == 0:
        return _no_wave()
    asked = conditions(survey_rules, satisfaction, measurement_level, reference_level)
    answers = Answers(np.empty(n, dtype=np.bool_), *(np.empty(n) for _ in range(7)))
    scale = float(asked.response_scale)
    log_odds = _log_odds(np.asarray(segment_response, dtype=np.float64), scale)
    settings = (
        float(asked.selection_bias),
        float(asked.mean_satisfaction),
        float(survey_rules.nps_answer_sd),
        float(survey_rules.csat_answer_sd),
        float(survey_rules.ces_answer_sd),
    )
    args = (
        who, satisfaction.astype(np.float64, copy=False), episode.astype(np.float64, copy=False),
        month_effort.astype(np.float64, copy=False), segment.astype(np.intp, copy=False), log_odds,
        settings, tuple(np.uint64(key) for key in keys), *answers,
    )  # fmt: skip
    compiled_pass(n, _answer, _answer_blocks, *args)
    return measure_wave(answers)


@numba.njit(cache=True, nogil=True)
def _log_odds(segment_response: np.ndarray, scale: float) -> np.ndarray:
    """`rules.response_log_odds` of each segment's base response probability scaled by the
    month's `scale` (within 0–1), as `responds` takes it."""
    log_odds = np.empty(segment_response.size)
    for g in range(segment_response.size):
        log_odds[g] = rules.response_log_odds(min(max(segment_response[g] * scale, 0.0), 1.0))
    return log_odds


@numba.njit(cache=True, nogil=True)
def _answer(
    start, stop, who, satisfaction, episode, month_effort, segment, log_odds, settings, keys,  # noqa: ANN001
    answered, recommend, promoter, detractor, csat_latent, csat, ces_latent, ces,  # noqa: ANN001
) -> None:  # fmt: skip
    """`survey`'s answers of the customers `start` to `stop` − 1 (given answers 0 for those
    who do not answer): `responds` (from their segment's `log_odds`), `latent` and
    `given_answers`, person by person."""
    bias, mean_satisfaction, nps_sd, csat_sd, ces_sd = settings
    for i in range(start, stop):
        person, s = who[i], satisfaction[i]
        p_answer = rules.self_selected(log_odds[segment[i]], s, mean_satisfaction, bias)
        answers = uniform_at(keys[0], person) < p_answer
        score = 10.0 * s
        promoter[i], detractor[i] = rules.promoter_detractor(score, nps_sd)
        csat_now, ces_now = latent_scales(episode[i], month_effort[i])
        answered[i], csat_latent[i], ces_latent[i] = answers, csat_now, ces_now
        if answers:
            recommend[i] = rules.survey_answer(score, normal_at(keys[1], person), nps_sd, 0, 10)
            csat[i] = rules.survey_answer(csat_now, normal_at(keys[2], person), csat_sd, 1, 5)
            ces[i] = rules.survey_answer(ces_now, normal_at(keys[3], person), ces_sd, 1, 7)
        else:
            recommend[i], csat[i], ces[i] = 0.0, 0.0, 0.0


@numba.njit(cache=True, nogil=True, parallel=True)
def _answer_blocks(
    who, satisfaction, episode, month_effort, segment, log_odds, settings, keys, answered,  # noqa: ANN001
    recommend, promoter, detractor, csat_latent, csat, ces_latent, ces,  # noqa: ANN001
) -> None:  # fmt: skip
    n = who.size
    for block in numba.prange(block_count(n)):
        start = block * BLOCK
        _answer(
            start, min(start + BLOCK, n), who, satisfaction, episode, month_effort, segment,
            log_odds, settings, keys, answered, recommend, promoter, detractor, csat_latent,
            csat, ces_latent, ces,
        )  # fmt: skip


@numba.vectorize(cache=True)
def touchpoint_rating(
    satisfaction: ArrayLike, noise: ArrayLike, csat_answer_sd: float
) -> ArrayLike:
    """A respondent's rating of a touchpoint they met (0–1; NaN where not met): their
    transaction satisfaction there plus answer noise (standard normal `noise`), with the
    spread of CSAT answers (`csat_answer_sd`, on the 1–5 scale) brought to the 0–1 scale."""
    return rules.clip_unit(satisfaction + csat_answer_sd / 4.0 * noise)


def net_promoter_score(answers: np.ndarray) -> float:
    """Net Promoter Score of 0–10 answers: % promoters (9–10) less % detractors (0–6)."""
    if len(answers) == 0:
        return float("nan")
    return 100.0 * float(np.mean(answers >= 9) - np.mean(answers <= 6))


def nps_margin_of_error(respondents: ArrayLike, z: float = 1.96) -> np.ndarray:
    """Conservative margin of error of a measured NPS from `respondents` answers, NPS points.

    A measured NPS is 100 × (mean of x) with x = +1 (promoter), 0 (passive) or −1
    (detractor), so its standard error is 100·√((p + d − (p − d)²)/n), largest (100/√n)
    when everyone is a promoter or a detractor in equal shares. The margin is z times that
    bound: at least the 95 % sampling-error half-width (z = 1.96) of any NPS, whatever its
    shares; it covers sampling error only, not who chose to answer. NaN without answers.
    """
    n = np.asarray(respondents, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, z * 100.0 / np.sqrt(n), np.nan)


def _no_wave() -> SurveyWave:
    """The wave of a month without customers: no measures, no respondents."""
    empty = np.zeros(0, dtype=np.int64)
    return SurveyWave(dict.fromkeys(SURVEY_METRICS, np.nan) | {"respondents": 0.0}, empty, empty)
