"""The vector engine's compiled kernels: loops over the customers of a phase, compiled with numba,
that call the same rules as the agents engine, and the month's reusable working memory.

Each kernel reads one customer's own state and random numbers per iteration (counter-based
streams, `sim.streams.normal_at` and `uniform_at`), so the order of the loop does not matter.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from sim.customers import journeys, surveys
from sim.streams import normal_at, uniform_at


class Buffers:
    """The month's working arrays, reused from month to month (filled afresh each time)."""

    def __init__(self) -> None:
        self._memory: dict[str, np.ndarray] = {}

    def take(self, name: str, shape: tuple[int, ...], dtype: type, fill: float) -> np.ndarray:
        """An array of `shape` filled with `fill`, in memory kept from earlier months."""
        size = math.prod(shape)
        memory = self._memory.get(name)
        if memory is None or memory.size < size or memory.dtype != dtype:
            # A quarter more than asked, so that a growing customer base does not make
            # every month allocate afresh.
            memory = self._memory[name] = np.empty(max(size + size // 4, 1), dtype=dtype)
        array = memory[:size].reshape(shape)
        array.fill(fill)
        return array


@numba.njit(cache=True, nogil=True)
def rate_touchpoints(
    satisfaction: np.ndarray,
    respondents: np.ndarray,
    who: np.ndarray,
    keys: np.ndarray,
    csat_answer_sd: float,
    out: np.ndarray,
) -> None:
    """Each respondent's rating of every touchpoint they met this month (NaN for the
    others), with answer noise from the touchpoint's stream (`keys`, one per column)."""
    for j in range(respondents.size):
        row = respondents[j]
        for k in range(keys.size):
            met = np.float64(satisfaction[row, k])
            if np.isnan(met):
                out[j, k] = np.nan
            else:
                noise = normal_at(keys[k], who[row])
                out[j, k] = surveys.touchpoint_rating(met, noise, csat_answer_sd)


@numba.njit(cache=True, nogil=True)
def row_means(x: np.ndarray) -> np.ndarray:
    """Mean of each row's non-NaN entries (NaN for a row without any)."""
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        total, count = 0.0, 0
        for k in range(x.shape[1]):
            if not np.isnan(x[i, k]):
                total += x[i, k]
                count += 1
        out[i] = total / count if count else np.nan
    return out


def floats(*values: float) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


@numba.njit(cache=True, nogil=True)
def meet_touchpoint(
    rows: np.ndarray,
    who: np.ndarray,
    noise_key: np.uint64,
    problem_key: np.uint64,
    expectation: np.ndarray,
    tolerance: np.ndarray,
    delivery: tuple[float, float, float, float],
    settings: tuple[float, float, float, float],
    perceived: np.ndarray,
    satisfaction: np.ndarray,
    problem_at: np.ndarray,
    had_problem: np.ndarray,
    effort: np.ndarray,
    interactions: np.ndarray,
) -> tuple[float, float, int]:
    """One touchpoint for the customers at `rows` (positions in `who`): each one's noise and
    problem draws, perceived quality and transaction satisfaction, written into the month's
    columns at their row; the effort and count of interactions grow, and whether the customer
    had a problem this month. `delivery` is the touchpoint's (quality, fit gain, spread,
    problem probability) and `settings` (problem drop, disconfirmation weight, loss aversion,
    effort). Returns the sums of perceived quality and satisfaction and the number of
    problems."""
    quality, fit_gain, spread, problem_probability = delivery
    drop, weight, loss_aversion, touchpoint_effort = settings
    sum_perceived, sum_satisfaction, problems = 0.0, 0.0, 0
    for j in range(rows.size):
        i = rows[j]
        person = who[i]
        problem = uniform_at(problem_key, person) < problem_probability
        noise = normal_at(noise_key, person)
        raw = journeys.touchpoint_quality(quality, fit_gain, spread, noise, problem, drop)
        p, s = journeys.interaction(raw, expectation[i], tolerance[i], weight, loss_aversion)
        perceived[i] = p
        satisfaction[i] = s
        problem_at[i] = problem
        had_problem[i] |= problem
        effort[i] += touchpoint_effort
        interactions[i] += 1
        sum_perceived += p
        sum_satisfaction += s
        problems += problem
    return sum_perceived, sum_satisfaction, problems
