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

from sim.firm import Firm


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
    m = firm.settings.maturity
    speed = 1.0 + m.review_speedup_per_governance_level * (
        firm.level("governance") - firm.settings.reference_level
    )
    return max(m.review_every_months / max(speed, 0.1), 1.0)


def review(firm: Firm, voc: VoiceOfCustomer, month: int, eligible: np.ndarray) -> list[Change]:
    """Decide this review's improvements from the measured data.

    Args:
        firm: the firm (maturity, organisation, settings).
        voc: the review window's survey answers and reported problems.
        month: the current month.
        eligible: touchpoints that can be improved (not already at quality 1).
    """
    m = firm.settings.maturity
    latency = int(firm.organisation["decision_latency_months"])
    speed = firm.organisation["local_fix_speed"]
    due = month + max(latency, 1)
    measured = voc.measured_satisfaction()
    known = eligible & ~np.isnan(measured)
    changes: list[Change] = []
    if not known.any():
        return changes
    if firm.at_least("proactive"):
        reach = voc.n / max(voc.n.sum(), 1.0)
        priority = voc.driver_importance() * reach * (1.0 - np.nan_to_num(measured, nan=1.0))
        priority = np.where(known, priority, -np.inf)
        if np.isfinite(priority).any() and priority.max() > 0:
            design = 1.0 + 0.1 * (firm.level("experience_design") - firm.settings.reference_level)
            size = m.redesign_size * speed * max(design, 0.1)
            changes.append(Change(due, int(priority.argmax()), "redesign", size))
        if voc.problems.max() > 0:
            changes.append(
                Change(due, int(voc.problems.argmax()), "prevention", m.prevention_factor)
            )
    else:
        worst = int(np.where(known, measured, np.inf).argmin())
        changes.append(Change(due, worst, "fix", m.fix_size * speed))
    return changes


def apply_change(firm: Firm, change: Change, quality: np.ndarray) -> float:
    """Make a decided change take effect; returns its cost, currency.

    A fix or redesign closes part of the gap between the touchpoint's delivered `quality`
    and 1: its nominal size at quality 0.75, less above, more below.
    """
    m = firm.settings.maturity
    if change.kind == "prevention":
        firm.problem_factor[change.touchpoint] *= change.size
        return 0.0
    gap = max(1.0 - float(quality[change.touchpoint]), 0.0)
    firm.improvement[change.touchpoint] += change.size * gap / 0.25
    return m.redesign_cost if change.kind == "redesign" else m.fix_cost


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
