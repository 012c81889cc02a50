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
from sim.threads import spread


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


def rate_touchpoints(
    satisfaction: np.ndarray,
    respondents: np.ndarray,
    who: np.ndarray,
    keys: np.ndarray,
    csat_answer_sd: float,
    out: np.ndarray,
) -> None:
    """Each respondent's rating of every touchpoint they met this month (NaN for the
    others), with answer noise from the touchpoint's stream (`keys`, one per column);
    spread over the threads for many respondents (`sim.threads`)."""
    loop = _rate_spread if spread(respondents.size) else _rate_rows
    loop(satisfaction, respondents, who, keys, csat_answer_sd, out)


@numba.njit(cache=True, nogil=True)
def _rate_one(j, satisfaction, respondents, who, keys, csat_answer_sd, out) -> None:  # noqa: ANN001
    """Respondent `j`'s ratings (`rate_touchpoints`)."""
    row = respondents[j]
    for k in range(keys.size):
        met = np.float64(satisfaction[row, k])
        if np.isnan(met):
            out[j, k] = np.nan
        else:
            noise = normal_at(keys[k], who[row])
            out[j, k] = surveys.touchpoint_rating(met, noise, csat_answer_sd)


@numba.njit(cache=True, nogil=True)
def _rate_rows(satisfaction, respondents, who, keys, csat_answer_sd, out) -> None:  # noqa: ANN001
    for j in range(respondents.size):
        _rate_one(j, satisfaction, respondents, who, keys, csat_answer_sd, out)


@numba.njit(cache=True, nogil=True, parallel=True)
def _rate_spread(satisfaction, respondents, who, keys, csat_answer_sd, out) -> None:  # noqa: ANN001
    for j in numba.prange(respondents.size):
        _rate_one(j, satisfaction, respondents, who, keys, csat_answer_sd, out)


def row_means(x: np.ndarray) -> np.ndarray:
    """Mean of each row's non-NaN entries (NaN for a row without any); spread over the
    threads for many rows (`sim.threads`)."""
    out = np.empty(x.shape[0])
    (_row_means_spread if spread(x.shape[0]) else _row_means)(x, out)
    return out


@numba.njit(cache=True, nogil=True)
def _row_mean(x: np.ndarray, i: int) -> float:
    total, count = 0.0, 0
    for k in range(x.shape[1]):
        if not np.isnan(x[i, k]):
            total += x[i, k]
            count += 1
    return total / count if count else np.nan


@numba.njit(cache=True, nogil=True)
def _row_means(x: np.ndarray, out: np.ndarray) -> None:
    for i in range(x.shape[0]):
        out[i] = _row_mean(x, i)


@numba.njit(cache=True, nogil=True, parallel=True)
def _row_means_spread(x: np.ndarray, out: np.ndarray) -> None:
    for i in numba.prange(x.shape[0]):
        out[i] = _row_mean(x, i)


def floats(*values: float) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


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
    problems, added in the order of `rows` whether or not the customers were spread over
    the threads (`sim.threads`)."""
    met = np.empty((2, rows.size))  # each customer's perceived quality and satisfaction
    loop = _meet_spread if spread(rows.size) else _meet_rows
    loop(
        rows, who, noise_key, problem_key, expectation, tolerance, delivery, settings,
        perceived, satisfaction, problem_at, had_problem, effort, interactions, met,
    )  # fmt: skip
    return _sums(met, problem_at, rows)


@numba.njit(cache=True, nogil=True)
def _meet_one(
    j, rows, who, noise_key, problem_key, expectation, tolerance, delivery, settings,  # noqa: ANN001
    perceived, satisfaction, problem_at, had_problem, effort, interactions, met,  # noqa: ANN001
) -> None:  # fmt: skip
    """Customer `j` of `rows` meets the touchpoint (`meet_touchpoint`)."""
    quality, fit_gain, spread_, problem_probability = delivery
    drop, weight, loss_aversion, touchpoint_effort = settings
    i = rows[j]
    person = who[i]
    problem = uniform_at(problem_key, person) < problem_probability
    noise = normal_at(noise_key, person)
    raw = journeys.touchpoint_quality(quality, fit_gain, spread_, noise, problem, drop)
    p, s = journeys.interaction(raw, expectation[i], tolerance[i], weight, loss_aversion)
    perceived[i] = p
    satisfaction[i] = s
    problem_at[i] = problem
    had_problem[i] |= problem
    effort[i] += touchpoint_effort
    interactions[i] += 1
    met[0, j] = p
    met[1, j] = s


@numba.njit(cache=True, nogil=True)
def _meet_rows(
    rows, who, noise_key, problem_key, expectation, tolerance, delivery, settings,  # noqa: ANN001
    perceived, satisfaction, problem_at, had_problem, effort, interactions, met,  # noqa: ANN001
) -> None:  # fmt: skip
    for j in range(rows.size):
        _meet_one(
            j, rows, who, noise_key, problem_key, expectation, tolerance, delivery, settings,
            perceived, satisfaction, problem_at, had_problem, effort, interactions, met,
        )  # fmt: skip


@numba.njit(cache=True, nogil=True, parallel=True)
def _meet_spread(
    rows, who, noise_key, problem_key, expectation, tolerance, delivery, settings,  # noqa: ANN001
    perceived, satisfaction, problem_at, had_problem, effort, interactions, met,  # noqa: ANN001
) -> None:  # fmt: skip
    for j in numba.prange(rows.size):
        _meet_one(
            j, rows, who, noise_key, problem_key, expectation, tolerance, delivery, settings,
            perceived, satisfaction, problem_at, had_problem, effort, interactions, met,
        )  # fmt: skip


@numba.njit(cache=True, nogil=True)
def _sums(met: np.ndarray, problem_at: np.ndarray, rows: np.ndarray) -> tuple[float, float, int]:
    """The sums of perceived quality and satisfaction and the problems, in `rows` order."""
    sum_perceived, sum_satisfaction, problems = 0.0, 0.0, 0
    for j in range(rows.size):
        sum_perceived += met[0, j]
        sum_satisfaction += met[1, j]
        problems += problem_at[rows[j]]
    return sum_perceived, sum_satisfaction, problems
