"""Surveys: who answers, what they answer, and what the firm therefore sees.

A relationship survey asks every active customer for likelihood to recommend (NPS, 0–10);
customers who met touchpoints this month are also asked CSAT (1–5) about the month and CES
(1–7, higher = more effort) and rate each touchpoint they met. Answers are drawn from the
latent state with noise; who answers is self-selected by satisfaction, less so as the
measurement capability grows, and more answer as it grows. The true values are computed
from the latent state of everyone, so the gap between measured and true is visible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim import rules
from sim.scenario import SurveyRules


@dataclass(frozen=True)
class SurveyWave:
    """One month's survey: headline measures and the respondents' answers."""

    measures: dict[str, float]
    respondents: np.ndarray
    """Positions (within the month's active customers) of those who answered."""
    recommend: np.ndarray
    """Their likelihood-to-recommend answers, 0–10."""


METRICS = (
    "nps_true",
    "nps_measured",
    "csat_true",
    "csat_measured",
    "ces_true",
    "ces_measured",
    "respondents",
)


def measurement_scale(rules_: SurveyRules, measurement_above_reference: float) -> float:
    """Multiplier on response rates from the measurement capability."""
    return max(1.0 + rules_.response_per_level * measurement_above_reference, 0.0)


def selection_bias(rules_: SurveyRules, measurement_level: float) -> float:
    """Self-selection strength: full at measurement level 0, none at level 5."""
    return rules_.selection_bias * max(1.0 - measurement_level / 5.0, 0.0)


def survey(
    rules_: SurveyRules,
    satisfaction: np.ndarray,
    episode: np.ndarray,
    month_effort: np.ndarray,
    base_response: np.ndarray,
    measurement_level: float,
    reference_level: float,
    draws: dict[str, np.ndarray],
) -> SurveyWave:
    """Run one month's survey of the active customers.

    Args:
        rules_: survey parameters.
        satisfaction: cumulative satisfaction of each active customer, 0–1.
        episode: the month's remembered satisfaction (NaN for no interaction), 0–1.
        month_effort: the month's mean effort per interaction (NaN for none), 0–1.
        base_response: each customer's segment response probability.
        measurement_level: the firm's measurement capability, 0–5.
        reference_level: the capability reference level.
        draws: uniform ``respond`` and normal ``nps``, ``csat``, ``ces`` per customer.
    """
    if len(satisfaction) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return SurveyWave(dict.fromkeys(METRICS, np.nan) | {"respondents": 0.0}, empty, empty)
    satisfaction = satisfaction.astype(np.float64)
    scale = measurement_scale(rules_, measurement_level - reference_level)
    p_answer = rules.response_probability(
        np.clip(base_response * scale, 0.0, 1.0),
        satisfaction,
        float(satisfaction.mean()),
        selection_bias(rules_, measurement_level),
    )
    answers = draws["respond"] < p_answer
    latent = 10.0 * satisfaction
    promoter, detractor = rules.nps_shares(latent, rules_.nps_answer_sd)
    recommend = rules.survey_answer(latent, draws["nps"], rules_.nps_answer_sd, 0, 10)
    experienced = ~np.isnan(episode)
    csat_latent = np.clip(1.0 + 4.0 * episode, 1.0, 5.0)
    ces_latent = np.clip(1.0 + 6.0 * month_effort, 1.0, 7.0)
    asked = answers & experienced
    csat = rules.survey_answer(csat_latent, draws["csat"], rules_.csat_answer_sd, 1, 5)[asked]
    ces = rules.survey_answer(ces_latent, draws["ces"], rules_.ces_answer_sd, 1, 7)[asked]
    measures = {
        "nps_true": 100.0 * float(promoter.mean() - detractor.mean()),
        "nps_measured": net_promoter_score(recommend[answers]),
        "csat_true": _mean(csat_latent[experienced]),
        "csat_measured": _mean(csat),
        "ces_true": _mean(ces_latent[experienced]),
        "ces_measured": _mean(ces),
        "respondents": float(answers.sum()),
    }
    return SurveyWave(measures, np.flatnonzero(answers), recommend[answers])


def net_promoter_score(answers: np.ndarray) -> float:
    """Net Promoter Score of 0–10 answers: % promoters (9–10) less % detractors (0–6)."""
    if len(answers) == 0:
        return float("nan")
    return 100.0 * float(np.mean(answers >= 9) - np.mean(answers <= 6))


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else float("nan")
