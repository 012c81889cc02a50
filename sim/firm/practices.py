"""What the firm does with what it measures: the practices that maturity levels unlock.

- reactive: recovers individual complaints (service recovery, in the support phase);
- managed: a voice-of-the-customer programme collects survey answers per touchpoint, calls
  back the detractors who answered (closing the loop, in the survey phase) and, at each
  review (a cadence set by governance), fixes the touchpoint that *measures* worst;
- proactive: the review ranks touchpoints by driver analysis — how strongly satisfaction
  there moves customers' likelihood to recommend, times how many meet it, times room to
  improve — and redesigns the top one; it also prevents the most reported problem at its
  source;
- predictive: scores every customer's churn risk and intervenes before the flagged leave
  (in the decide phase);
- transformative: raises the quality frontier and sets the market's expectations (in
  `Firm.update_maturity`).

Everything here uses measured data (survey answers with their noise and self-selection,
problems reported in contacts), never the true latent values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np

from sim.customers import rules
from sim.firm.delivery import Firm
from sim.scenario.fields import MAX_LEVEL

NOMINAL_QUALITY = 0.75
"""Delivered quality at which a fix or redesign gains its nominal size."""
MIN_DESIGN_FACTOR = 0.1
"""A redesign is never smaller than this share of its nominal size, however weak design."""


@dataclass
class Change:
    """An improvement decided at a review, reaching customers at `due_month`."""

    due_month: int
    touchpoint: int
    kind: str  # "fix", "redesign" or "prevention"
    size: float


@dataclass
class VoiceOfCustomer:
    """Survey answers per touchpoint since the last review (sums for means and
    correlations with likelihood to recommend)."""

    touchpoints: int
    n: np.ndarray = field(init=False)
    sx: np.ndarray = field(init=False)
    sxx: np.ndarray = field(init=False)
    sy: np.ndarray = field(init=False)
    syy: np.ndarray = field(init=False)
    sxy: np.ndarray = field(init=False)
    problems: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Start a new review window."""
        shape = self.touchpoints
        self.n, self.sx, self.sxx = np.zeros(shape), np.zeros(shape), np.zeros(shape)
        self.sy, self.syy, self.sxy = np.zeros(shape), np.zeros(shape), np.zeros(shape)
        self.problems = np.zeros(shape)

    def observe(self, touchpoint_answers: np.ndarray, recommend: np.ndarray) -> None:
        """Add respondents' answers: satisfaction per touchpoint (0–1, NaN where not met,
        shape respondents × touchpoints) and likelihood to recommend (0–10)."""
        sums = np.stack([self.n, self.sx, self.sxx, self.sy, self.syy, self.sxy])
        _add_answers(np.asarray(touchpoint_answers, dtype=np.float64), recommend / 10.0, sums)
        self.n, self.sx, self.sxx, self.sy, self.syy, self.sxy = sums

    def report_problems(self, per_touchpoint: np.ndarray) -> None:
        """Add problems customers reported to support, per touchpoint where they arose."""
        self.problems += per_touchpoint

    def measured_satisfaction(self, min_answers: int = 10) -> np.ndarray:
        """Mean measured satisfaction per touchpoint (NaN with too few answers)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.n >= min_answers, self.sx / self.n, np.nan)

    def driver_importance(self, min_answers: int = 10) -> np.ndarray:
        """Correlation of touchpoint satisfaction with likelihood to recommend (key driver
        analysis), 0 where it cannot be estimated or is negative."""
        n = np.maximum(self.n, 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            cov = self.sxy / n - (self.sx / n) * (self.sy / n)
            vx = self.sxx / n - (self.sx / n) ** 2
            vy = self.syy / n - (self.sy / n) ** 2
            corr = cov / np.sqrt(vx * vy)
        corr = np.where((self.n >= min_answers) & np.isfinite(corr), corr, 0.0)
        return np.maximum(corr, 0.0)


def review_interval(firm: Firm) -> float:
    """Months between reviews: faster with stronger governance."""
    maturity = firm.settings.maturity
    speed = 1.0 + maturity.review_speedup_per_governance_level * (
        firm.level("governance") - firm.settings.reference_level
    )
    return max(maturity.review_every_months / max(speed, 0.1), 1.0)


def review(firm: Firm, voc: VoiceOfCustomer, month: int, eligible: np.ndarray) -> list[Change]:
    """Decide this review's improvements from the measured data.

    Args:
        firm: the firm (maturity, organisation, settings).
        voc: the review window's survey answers and reported problems.
        month: the current month.
        eligible: touchpoints that can be improved (not already at quality 1).
    """
    maturity = firm.settings.maturity
    latency = int(firm.organisation["decision_latency_months"])
    speed = firm.organisation["local_fix_speed"]
    due = month + max(latency, 1)
    measured = voc.measured_satisfaction(maturity.min_ratings_per_touchpoint)
    known = eligible & ~np.isnan(measured)
    changes: list[Change] = []
    if not known.any():
        return changes
    if firm.at_least("proactive"):
        reach = voc.n / max(voc.n.sum(), 1.0)
        importance = voc.driver_importance(maturity.min_ratings_per_touchpoint)
        priority = importance * reach * (1.0 - np.nan_to_num(measured, nan=1.0))
        priority = np.where(known, priority, -np.inf)
        if np.isfinite(priority).any() and priority.max() > 0:
            design_above = firm.level("experience_design") - firm.settings.reference_level
            design = 1.0 + maturity.redesign_per_design_level * design_above
            size = maturity.redesign_size * speed * max(design, MIN_DESIGN_FACTOR)
            changes.append(Change(due, int(priority.argmax()), "redesign", size))
        if voc.problems.max() > 0:
            changes.append(
                Change(due, int(voc.problems.argmax()), "prevention", maturity.prevention_factor)
            )
    else:
        worst = int(np.where(known, measured, np.inf).argmin())
        changes.append(Change(due, worst, "fix", maturity.fix_size * speed))
    return changes


def apply_change(firm: Firm, change: Change, quality: np.ndarray) -> float:
    """Make a decided change take effect; returns its cost, currency.

    A fix or redesign closes part of the gap between the touchpoint's delivered `quality`
    and 1: its nominal size at `NOMINAL_QUALITY`, less above, more below.
    """
    maturity = firm.settings.maturity
    if change.kind == "prevention":
        firm.problem_factor[change.touchpoint] *= change.size
        return maturity.prevention_cost
    gap = max(1.0 - float(quality[change.touchpoint]), 0.0)
    firm.improvement[change.touchpoint] += change.size * gap / (1.0 - NOMINAL_QUALITY)
    return maturity.redesign_cost if change.kind == "redesign" else maturity.fix_cost


class Improvement:
    """The firm's improvement programme (managed and above): the voice of the customer
    gathered since the last review, reviews at the governance-set cadence, and the changes
    decided but not yet in effect.

    Args:
        touchpoints: number of touchpoints (model order).
    """

    def __init__(self, touchpoints: int) -> None:
        self.voc = VoiceOfCustomer(touchpoints)
        self.pending: list[Change] = []
        """Changes decided at reviews, waiting for their due month."""
        self.last_review = 0
        """Month of the last review (0 before the first)."""

    def learn(self, firm: Firm, month: int, quality: np.ndarray) -> dict[str, float]:
        """Hold a review if one is due (improving only touchpoints below quality 1), then
        make the changes that fall due this month take effect (`quality`: this month's
        delivered quality per touchpoint). Returns the month's cost of the programme
        (currency: the review, and the changes that take effect) and the counts of
        reviews, improvements and preventions."""
        reviews = 0.0
        if firm.at_least("managed") and month - self.last_review >= review_interval(firm):
            self.pending += review(firm, self.voc, month, quality < 1.0)
            self.voc.reset()
            self.last_review = month
            reviews = 1.0
        due = [c for c in self.pending if c.due_month <= month]
        self.pending = [c for c in self.pending if c.due_month > month]
        review_cost = reviews * firm.settings.maturity.review_cost
        improvement_cost = review_cost + sum(apply_change(firm, c, quality) for c in due)
        return {
            "improvement_cost": float(improvement_cost),
            "reviews": reviews,
            "improvements": float(sum(c.kind != "prevention" for c in due)),
            "preventions": float(sum(c.kind == "prevention" for c in due)),
        }


def closes_loop(firm: Firm) -> bool:
    """Whether the firm calls back the detractors who answered its survey (managed and
    above; Reichheld & Markey 2011)."""
    return firm.at_least("managed")


def loop_measures(firm: Firm, calls: int) -> dict[str, float]:
    """The month's call-backs to detractors and their cost, currency."""
    return {"loop_calls": float(calls), "loop_cost": calls * firm.settings.maturity.close_loop_cost}


def scores_churn(firm: Firm) -> bool:
    """Whether the firm scores its customers' churn risk (predictive and above)."""
    return firm.at_least("predictive")


def flag_riskiest(firm: Firm, risk: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Score each customer's churn risk (`risk`: the true probability of leaving this month;
    `noise`: their standard normal score error) and flag the highest scores.

    The score is the logit of the risk plus an error whose spread falls from
    `score_noise_at_zero` at measurement and technology level 0 to none at `MAX_LEVEL`; the
    `flag_share` of customers with the highest scores are flagged.
    """
    settings = firm.settings.maturity
    accuracy = (firm.level("measurement") + firm.level("technology")) / (2 * MAX_LEVEL)
    noise_sd = settings.score_noise_at_zero * max(1.0 - accuracy, 0.0)
    score = rules.churn_score(np.clip(risk, 0.0, 1.0), noise, noise_sd)
    count = round(settings.flag_share * len(risk))
    flagged = np.zeros(len(risk), dtype=bool)
    if count:
        flagged[np.argpartition(-score, count - 1)[:count]] = True
    return flagged


def intervention_measures(
    firm: Firm, flagged: np.ndarray | None, would_leave: np.ndarray, kept: np.ndarray
) -> dict[str, float]:
    """The month's retention interventions: how many, whom they saved, their cost
    (currency), and the precision and recall of the flags (NaN when undefined; no flags
    below predictive maturity, `flagged` None)."""
    if flagged is None:
        return {
            "interventions": 0.0,
            "saved_customers": 0.0,
            "retention_cost": 0.0,
            "flag_precision": np.nan,
            "flag_recall": np.nan,
        }
    true_flags = float((flagged & would_leave).sum())
    return {
        "interventions": float(flagged.sum()),
        "saved_customers": float(kept.sum()),
        "retention_cost": float(flagged.sum()) * firm.settings.maturity.intervention_cost,
        "flag_precision": true_flags / flagged.sum() if flagged.any() else np.nan,
        "flag_recall": true_flags / would_leave.sum() if would_leave.any() else np.nan,
    }


@numba.njit(cache=True, nogil=True)
def _add_answers(x: np.ndarray, y: np.ndarray, sums: np.ndarray) -> None:
    """Add each respondent's touchpoint answers `x` (NaN where not met) and recommendation
    `y` (0–1) to the per-touchpoint count and sums of x, x², y, y² and xy (rows of `sums`)."""
    for i in range(x.shape[0]):
        for k in range(x.shape[1]):
            value = x[i, k]
            if not np.isnan(value):
                sums[0, k] += 1.0
                sums[1, k] += value
                sums[2, k] += value * value
                sums[3, k] += y[i]
                sums[4, k] += y[i] * y[i]
                sums[5, k] += value * y[i]
