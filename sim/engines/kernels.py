"""The vector engine's compiled kernels: loops over the customers of a phase, compiled with numba,
that call the same rules as the agents engine, and the month's reusable working memory.

Each kernel reads one customer's own state and random numbers per iteration (counter-based
streams, `sim.streams.normal_at` and `uniform_at`), so the order of the loop does not matter.
"""

from __future__ import annotations

import functools
import math

import numba
import numpy as np

from sim.customers import journeys, rules, surveys
from sim.customers.population import ACTIVE, INITIAL, LAPSED, PROSPECT
from sim.streams import normal_at, uniform_at
from sim.threads import BLOCK, block_count, compiled_blocks, compiled_pass, positions


class Buffers:
    """The month's working arrays, reused from month to month (written afresh each time)."""

    def __init__(self) -> None:
        self._memory: dict[str, np.ndarray] = {}

    def take(self, name: str, shape: tuple[int, ...], dtype: type) -> np.ndarray:
        """An array of `shape`, left as it was, in memory kept from earlier months."""
        size = math.prod(shape)
        memory = self._memory.get(name)
        if memory is None or memory.size < size or memory.dtype != dtype:
            # A quarter more than asked, so that a growing customer base does not make
            # every month allocate afresh.
            memory = self._memory[name] = np.empty(max(size + size // 4, 1), dtype=dtype)
        return memory[:size].reshape(shape)


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
    spread over the threads in blocks of respondents when there are many (`sim.threads`)."""
    args = (satisfaction, respondents, who, keys, csat_answer_sd, out)
    compiled_pass(respondents.size, _rate, _rate_blocks, *args)


@numba.njit(cache=True, nogil=True)
def _rate(start, stop, satisfaction, respondents, who, keys, csat_answer_sd, out) -> None:  # noqa: ANN001
    """`rate_touchpoints` for respondents `start` to `stop` − 1."""
    for j in range(start, stop):
        row = respondents[j]
        for k in range(keys.size):
            met = np.float64(satisfaction[row, k])
            if np.isnan(met):
                out[j, k] = np.nan
            else:
                noise = normal_at(keys[k], who[row])
                out[j, k] = surveys.touchpoint_rating(met, noise, csat_answer_sd)


@numba.njit(cache=True, nogil=True, parallel=True)
def _rate_blocks(satisfaction, respondents, who, keys, csat_answer_sd, out) -> None:  # noqa: ANN001
    n = respondents.size
    for block in numba.prange(block_count(n)):
        start = block * BLOCK
        _rate(
            start, min(start + BLOCK, n), satisfaction, respondents, who, keys, csat_answer_sd, out
        )


@numba.njit(cache=True, nogil=True)
def _row_mean(x: np.ndarray, i: int) -> float:
    """Mean of row `i`'s non-NaN entries (NaN without any)."""
    total, count = 0.0, 0
    for k in range(x.shape[1]):
        if not np.isnan(x[i, k]):
            total += x[i, k]
            count += 1
    return total / count if count else np.nan


def consider_leaving(
    who: np.ndarray,
    segment: np.ndarray,
    people: tuple[np.ndarray, ...],
    by_segment: tuple[np.ndarray, np.ndarray],
    settings: tuple[float, ...],
    keys: tuple[np.uint64, np.uint64],
    out: tuple[np.ndarray, ...],
) -> None:
    """Each customer's churn considerations (`sim.engines.contract.Leaving`), in one pass:
    their churn chance (`journeys.churn_chance` of their segment's base rate, cumulative
    satisfaction, remembered effort and frailty times the price's factor), whether their
    contract is due (`journeys.renewing`) and the chance they do not renew it, their hazard
    draw and, where a contract is due, their renewal draw (`journeys.leaving`).

    `who`: the customers' market indices; `segment`: each one's segment; `people`: the
    market's satisfaction, effort, frailty (float32) and tenure (months); `by_segment`: the
    segments' base churn per month and contract months; `settings`: satisfaction effect,
    effort effect, reference satisfaction, reference effort, the month's extra log-hazard,
    renewal's most leaving, threshold and steepness, and the price's factor on the hazard;
    `keys`: the streams of the hazard and renewal draws; `out`: risk, would leave, renewal
    due and hazard (one entry per customer). Spread over the threads in blocks when there
    are many (`sim.threads`)."""
    base, contract = by_segment
    hazards = np.array([rules.base_hazard(rate) for rate in base], dtype=np.float64)
    args = (who, segment, *people, hazards, contract, settings, *keys, *out)
    compiled_pass(who.size, _leave, _leave_blocks, *args)


@numba.njit(cache=True, nogil=True)
def _leave(
    start, stop, who, segment, satisfaction, effort, frailty, tenure, base, contract,  # noqa: ANN001
    settings, hazard_key, renewal_key, risk, would_leave, renewal, hazard,  # noqa: ANN001
) -> None:  # fmt: skip
    """`consider_leaving` for the customers ``who[start:stop]`` (`base`: each segment's
    `rules.base_hazard`)."""
    s_effect, e_effect, s_ref, e_ref, shock, most, threshold, steepness, factor = settings
    price = np.float32(factor)
    for i in range(start, stop):
        person, seg = who[i], segment[i]
        liked = satisfaction[person]
        frail = frailty[person]
        if factor != 1.0:  # `journeys.priced`: float32 times the factor, as numpy does
            frail = frail * price
        p_churn = rules.hazard_churn(
            base[seg], liked, effort[person], s_effect, e_effect, s_ref, e_ref, shock, frail
        )
        due = journeys.renewing(contract[seg], tenure[person])
        # The chance of not renewing only where a contract is due (0 × it adds 0 elsewhere)
        p_leave = rules.renewal_leave_probability(liked, most, threshold, steepness) if due else 0.0
        by_hazard = uniform_at(hazard_key, person) < p_churn
        leaves = by_hazard
        if due and not by_hazard:  # the renewal draw only where it can matter
            leaves = uniform_at(renewal_key, person) < p_leave
        risk[i] = p_churn + np.float64(due) * p_leave
        would_leave[i] = leaves
        renewal[i] = due
        hazard[i] = by_hazard


@numba.njit(cache=True, nogil=True, parallel=True)
def _leave_blocks(
    who, segment, satisfaction, effort, frailty, tenure, base, contract, settings,  # noqa: ANN001
    hazard_key, renewal_key, risk, would_leave, renewal, hazard,  # noqa: ANN001
) -> None:  # fmt: skip
    n = who.size
    for block in numba.prange(block_count(n)):
        start = block * BLOCK
        _leave(
            start, min(start + BLOCK, n), who, segment, satisfaction, effort, frailty, tenure,
            base, contract, settings, hazard_key, renewal_key, risk, would_leave, renewal,
            hazard,
        )  # fmt: skip


def evaluate(
    who: np.ndarray,
    met: tuple[np.ndarray, ...],
    people: tuple[np.ndarray, ...],
    peak_end_weight: float,
    settings: tuple[float, ...],
    trust_shock: float,
    out: tuple[np.ndarray, np.ndarray],
) -> None:
    """Each customer's memory of the month, in one pass: the episode they remember
    (`rules.peak_end` of their transaction satisfaction, on their cumulative satisfaction
    before it), the effort they felt (`journeys.month_effort`, `journeys.felt_effort`), and
    their cumulative satisfaction, remembered effort and expectation after it
    (`journeys.remembered`, from the mean quality they perceived), written back to the
    market.

    `who`: the customers' market indices; `met`: the month's satisfaction and perceived
    quality (one row per customer, NaN where nothing happened), each one's effort summed
    over their interactions, number of interactions and service effort (NaN without
    one); `people`: the market's satisfaction, effort, expectation (float32) and tenure
    (months); `settings`: `journeys.memory_settings`; `out`: each customer's episode and
    felt effort (NaN without interactions). Spread over the threads in blocks when there
    are many (`sim.threads`)."""
    weights = tenure_weights(settings)
    args = (who, *met, *people, peak_end_weight, settings, weights, trust_shock, *out)
    compiled_pass(who.size, _evaluate, _evaluate_blocks, *args)


TENURE_WEIGHTS = 1_200
"""Tenures (months) whose `journeys.tenure_weight` `evaluate` looks up (`tenure_weights`;
longer ones are worked out person by person): one `exp` per tenure and set of memory
settings instead of one per customer and month."""


@functools.lru_cache(maxsize=16)
def tenure_weights(settings: tuple[float, ...]) -> np.ndarray:
    """`journeys.tenure_weight` of tenures 0 to `TENURE_WEIGHTS` − 1 months under the
    memory `settings` (`journeys.memory_settings`), worked out once for each set of
    settings and kept (they change only when a classroom or game round revises the
    scenario). Read only by `evaluate`: not to be written."""
    return _tenure_weights(settings, TENURE_WEIGHTS)


@numba.njit(cache=True, nogil=True)
def _tenure_weights(settings: tuple[float, ...], count: int) -> np.ndarray:
    """`journeys.tenure_weight` of tenures 0 to `count` − 1 months."""
    weights = np.empty(count)
    for months in range(count):
        weights[months] = journeys.tenure_weight(settings, months)
    return weights


@numba.njit(cache=True, nogil=True)
def _evaluate(
    start, stop, who, satisfaction, perceived, effort_sum, interactions, service_effort,  # noqa: ANN001
    cumulative, effort, expectation, tenure, peak_end_weight, settings, weights,  # noqa: ANN001
    trust_shock, episode, felt,  # noqa: ANN001
) -> None:  # fmt: skip
    """`evaluate` for the customers ``who[start:stop]`` (`weights`: `tenure_weights`)."""
    for i in range(start, stop):
        person = who[i]
        prior = cumulative[person]
        remembered = rules.peak_end_row(satisfaction, i, np.float64(prior), peak_end_weight)
        service = service_effort[i]
        felt_now = journeys.felt_effort(
            journeys.month_effort(effort_sum[i], interactions[i]), service
        )
        months = tenure[person]
        weight = (
            weights[months] if months < weights.size else journeys.tenure_weight(settings, months)
        )
        cumulative[person], effort[person], expectation[person] = journeys.remembered(
            settings,
            weight,
            prior,
            effort[person],
            expectation[person],
            remembered,
            felt_now,
            service,
            _row_mean(perceived, i),
            trust_shock,
        )
        episode[i] = remembered
        felt[i] = felt_now


@numba.njit(cache=True, nogil=True, parallel=True)
def _evaluate_blocks(
    who, satisfaction, perceived, effort_sum, interactions, service_effort, cumulative,  # noqa: ANN001
    effort, expectation, tenure, peak_end_weight, settings, weights, trust_shock, episode,  # noqa: ANN001
    felt,  # noqa: ANN001
) -> None:  # fmt: skip
    n = who.size
    for block in numba.prange(block_count(n)):
        start = block * BLOCK
        _evaluate(
            start, min(start + BLOCK, n), who, satisfaction, perceived, effort_sum,
            interactions, service_effort, cumulative, effort, expectation, tenure,
            peak_end_weight, settings, weights, trust_shock, episode, felt,
        )  # fmt: skip


def decide(
    who: np.ndarray,
    segment: np.ndarray,
    would_leave: np.ndarray,
    flagged: np.ndarray | None,
    people: tuple[np.ndarray, ...],
    by_segment: tuple[np.ndarray, np.ndarray],
    settings: tuple[float, ...],
    keys: tuple[np.uint64, np.uint64, np.uint64],
) -> tuple[np.ndarray, ...]:
    """The month's decisions of the customers (`sim.engines.vector.VectorCustomers.decide`)
    in two passes: first, a retention intervention reaches each flagged customer and, if it
    works (`journeys.intervention_succeeds`), lifts their satisfaction (`journeys.lifted`)
    and keeps them if they meant to leave; then leavers lapse with no products, and stayers
    make their repeat purchase and upsell (`rules.purchase_probability`), pay the month
    (`journeys.month_revenue`) and age by a month.

    `who`: the customers' market indices; `segment`: each one's segment; `would_leave`:
    each one's intent; `flagged`: whether each is flagged for an intervention (None: no
    programme); `people`: the market's satisfaction (float32), status, products, revenue
    to date (float32) and tenure (months); `by_segment`: the segments' revenue per month
    and repeat purchase value (currency); `settings`: intervention success, its
    satisfaction gain, repeat and upsell chances per month, the purchases' satisfaction
    effect and reference, most products, extra product revenue share and the firm's
    relative price; `keys`: the streams of the success, repeat and upsell draws.

    Returns whether each customer leaves and was kept, the leavers' market indices, and
    the stayers' repeat purchases, upsells, revenue (currency) and satisfaction (in
    customer order). Spread over the threads in blocks when there are many
    (`sim.threads`); the stayers of a block are written after those of the blocks before
    it, so the order is the customers' whatever the threads."""
    satisfaction = people[0]
    n = who.size
    leaves, kept = np.empty(n, dtype=np.bool_), np.empty(n, dtype=np.bool_)
    stayers = np.empty(block_count(n), dtype=np.int64)
    intervening = flagged is not None
    flags = flagged if intervening else np.zeros(0, dtype=np.bool_)
    first = (who, would_leave, flags, intervening, satisfaction, settings, keys[0])
    compiled_blocks(n, _keep_all, _keep_blocks, *first, leaves, kept, stayers)
    before = np.cumsum(stayers) - stayers  # stayers in the blocks before each block
    count = int(stayers.sum())
    out = (
        np.empty(n - count, dtype=who.dtype),
        np.empty(count, dtype=np.bool_),
        np.empty(count, dtype=np.bool_),
        np.empty(count),
        np.empty(count, dtype=satisfaction.dtype),
    )
    second = (who, segment, leaves, before, *people, *by_segment, settings, *keys[1:], *out)
    compiled_blocks(n, _stay_all, _stay_blocks, *second)
    return leaves, kept, *out


@numba.njit(cache=True, nogil=True)
def _keep(block, who, would_leave, flagged, intervening, satisfaction, settings, success_key,  # noqa: ANN001
          leaves, kept, stayers) -> None:  # noqa: ANN001  # fmt: skip
    """The first pass of `decide` for block `block` of the customers."""
    success, gain = settings[0], np.float32(settings[1])
    stop = min((block + 1) * BLOCK, who.size)
    staying = 0
    for i in range(block * BLOCK, stop):
        saved = False
        if intervening and flagged[i]:
            person = who[i]
            if uniform_at(success_key, person) < success:  # `journeys.intervention_succeeds`
                # `journeys.lifted` in float32, as numpy lifts the market's float32 array
                satisfaction[person] = min(satisfaction[person] + gain, np.float32(1.0))
                saved = would_leave[i]
        kept[i] = saved
        leaves[i] = would_leave[i] and not saved
        staying += not leaves[i]
    stayers[block] = staying


@numba.njit(cache=True, nogil=True)
def _stay(block, who, segment, leaves, before, satisfaction, status, products,  # noqa: ANN001
          revenue_to_date, tenure, revenue_per_month, repeat_value, settings, repeat_key,  # noqa: ANN001
          upsell_key, left, repeat, upsell, revenue, liked) -> None:  # noqa: ANN001  # fmt: skip
    """The second pass of `decide` for block `block` of the customers."""
    repeat_chance, upsell_chance, effect, reference = settings[2:6]
    most, extra_share, price = settings[6], settings[7], settings[8]
    start = block * BLOCK
    j = before[block]  # this block's first stayer, and its first leaver
    gone = start - j
    for i in range(start, min(start + BLOCK, who.size)):
        person = who[i]
        if leaves[i]:
            left[gone] = person
            status[person] = LAPSED
            products[person] = 0
            gone += 1
            continue
        s = satisfaction[person]
        lift = rules.purchase_lift(s, effect, reference)  # `rules.purchase_probability`
        p_repeat = rules.purchase_chance(repeat_chance, lift)
        p_upsell = rules.purchase_chance(upsell_chance, lift)
        bought = uniform_at(repeat_key, person) < p_repeat
        more = uniform_at(upsell_key, person) < p_upsell and products[person] < most
        products[person] += more
        seg = segment[i]
        paid = journeys.month_revenue(
            revenue_per_month[seg], products[person], bought, repeat_value[seg], extra_share, price
        )
        revenue_to_date[person] += np.float32(paid)
        tenure[person] += 1
        repeat[j], upsell[j], revenue[j], liked[j] = bought, more, paid, s
        j += 1


@numba.njit(cache=True, nogil=True)
def _keep_all(who, would_leave, flagged, intervening, satisfaction, settings, success_key,  # noqa: ANN001
              leaves, kept, stayers) -> None:  # noqa: ANN001  # fmt: skip
    for block in range(stayers.size):
        _keep(block, who, would_leave, flagged, intervening, satisfaction, settings,
              success_key, leaves, kept, stayers)  # fmt: skip


@numba.njit(cache=True, nogil=True)
def _stay_all(who, segment, leaves, before, satisfaction, status, products,  # noqa: ANN001
              revenue_to_date, tenure, revenue_per_month, repeat_value, settings,  # noqa: ANN001
              repeat_key, upsell_key, left, repeat, upsell, revenue, liked) -> None:  # noqa: ANN001  # fmt: skip
    for block in range(before.size):
        _stay(block, who, segment, leaves, before, satisfaction, status, products,
              revenue_to_date, tenure, revenue_per_month, repeat_value, settings,
              repeat_key, upsell_key, left, repeat, upsell, revenue, liked)  # fmt: skip


@numba.njit(cache=True, nogil=True, parallel=True)
def _keep_blocks(who, would_leave, flagged, intervening, satisfaction, settings, success_key,  # noqa: ANN001
                 leaves, kept, stayers) -> None:  # noqa: ANN001  # fmt: skip
    for block in numba.prange(stayers.size):
        _keep(block, who, would_leave, flagged, intervening, satisfaction, settings,
              success_key, leaves, kept, stayers)  # fmt: skip


@numba.njit(cache=True, nogil=True, parallel=True)
def _stay_blocks(who, segment, leaves, before, satisfaction, status, products,  # noqa: ANN001
                 revenue_to_date, tenure, revenue_per_month, repeat_value, settings,  # noqa: ANN001
                 repeat_key, upsell_key, left, repeat, upsell, revenue, liked) -> None:  # noqa: ANN001  # fmt: skip
    for block in numba.prange(before.size):
        _stay(block, who, segment, leaves, before, satisfaction, status, products,
              revenue_to_date, tenure, revenue_per_month, repeat_value, settings,
              repeat_key, upsell_key, left, repeat, upsell, revenue, liked)  # fmt: skip


def floats(*values: float) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


WAITS, EVERY_MONTH, ON_JOIN, AT_RENEWAL, AT_RANDOM = range(5)
"""When a touchpoint happens (`experience`'s codes): it waits for support (a problem
touchpoint), every month, in the customer's first month, at a contract renewal, or by the
month's draw (`journeys.is_due`, `journeys.occurs_at_random`)."""


def experience(
    who: np.ndarray,
    segment: np.ndarray,
    people: tuple[np.ndarray, np.ndarray],
    by_segment: tuple[np.ndarray, np.ndarray, np.ndarray],
    touchpoints: tuple[np.ndarray, np.ndarray, np.ndarray],
    delivery: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    keys: np.ndarray,
    settings: tuple[float, float, float],
    out: tuple[np.ndarray, ...],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Each customer meets the touchpoints due this month, in stage order, in one pass over
    the customers: whether each is due (`journeys.is_due`, within the customer's journey),
    then its problem and noise draws, perceived quality and transaction satisfaction
    (`journeys.touchpoint_quality`, `journeys.interaction`); the month's effort and count
    of interactions grow, and whether the customer had a problem.

    `who`: the customers' market indices; `segment`: each one's segment; `people`: the
    market's tenure (months) and expectation (float32); `by_segment`: each segment's
    contract months, tolerance and which touchpoints its journey holds (segments ×
    touchpoints); `touchpoints`: each one's code (`WAITS` … `AT_RANDOM`), chance per
    month (float32, for `AT_RANDOM`) and effort; `delivery`: each one's quality, fit
    gain, spread and problem probability this month; `keys`: each one's streams of noise,
    problem and occurrence (touchpoints × 3); `settings`: the problem's quality drop, the
    disconfirmation weight and loss aversion; `out`: each customer's perceived quality,
    satisfaction and problem per touchpoint (NaN and False where none happened), whether
    they had a problem, their effort summed and their interactions, and working memory
    of 2 × touchpoints × customers floats.

    Returns, per touchpoint, the interactions, the sums of perceived quality and
    satisfaction (added in customer order, whatever the threads) and the problems, and
    how many customers had a problem. Spread over the threads in blocks when there are
    many (`sim.threads`)."""
    n, count = who.size, keys.shape[0]
    tallies = np.zeros((block_count(n), 3, count), dtype=np.int64)
    args = (who, segment, *people, *by_segment, *touchpoints, *delivery, keys, settings, *out)
    compiled_blocks(n, _touch_all, _touch_blocks, *args, tallies)
    interactions, problems = tallies[:, 0].sum(axis=0), tallies[:, 1].sum(axis=0)
    sums = np.zeros((2, count))
    compiled_blocks(n, _met_sums_all, _met_sums_each, out[-1], interactions, sums)
    return interactions, sums[0], sums[1], problems, int(tallies[:, 2, 0].sum())


@numba.njit(cache=True, nogil=True)
def _touch(
    block, who, segment, tenure, expectation, contract, tolerance, in_journey, when,  # noqa: ANN001
    chance, effort_per_touch, quality, fit_gain, spread_, problem_probability, keys,  # noqa: ANN001
    settings, perceived, satisfaction, problem_at, had_problem, effort, interactions, met,  # noqa: ANN001
    tallies,  # noqa: ANN001
) -> None:  # fmt: skip
    """`experience` for block `block` of the customers (its tallies in ``tallies[block]``:
    interactions and problems per touchpoint, and customers with a problem)."""
    drop, weight, loss_aversion = settings
    for i in range(block * BLOCK, min((block + 1) * BLOCK, who.size)):
        person, seg = who[i], segment[i]
        months = tenure[person]
        renewal = journeys.renewing(contract[seg], months)
        had, felt, touches = False, 0.0, 0.0
        for k in range(keys.shape[0]):
            code = when[k]
            if code == EVERY_MONTH:
                due = True
            elif code == ON_JOIN:
                due = months == 0
            elif code == AT_RENEWAL:
                due = renewal
            elif code == AT_RANDOM:  # in float32, as numpy compares the month's draws
                due = uniform_at(keys[k, 2], person) < chance[k]
            else:
                due = False
            if not (due and in_journey[seg, k]):
                perceived[i, k] = np.nan
                satisfaction[i, k] = np.nan
                problem_at[i, k] = False
                met[0, k, i] = np.nan
                continue
            problem = uniform_at(keys[k, 1], person) < problem_probability[k]
            noise = normal_at(keys[k, 0], person)
            raw = journeys.touchpoint_quality(
                quality[k], fit_gain[k], spread_[k], noise, problem, drop
            )
            p, s = journeys.interaction(
                raw, expectation[person], tolerance[seg], weight, loss_aversion
            )
            perceived[i, k] = p
            satisfaction[i, k] = s
            problem_at[i, k] = problem
            met[0, k, i] = p
            met[1, k, i] = s
            had |= problem
            felt += effort_per_touch[k]
            touches += 1.0
            tallies[block, 0, k] += 1
            tallies[block, 1, k] += problem
        had_problem[i] = had
        effort[i] = felt
        interactions[i] = touches
        tallies[block, 2, 0] += had


@numba.njit(cache=True, nogil=True)
def _touch_all(
    who, segment, tenure, expectation, contract, tolerance, in_journey, when, chance,  # noqa: ANN001
    effort_per_touch, quality, fit_gain, spread_, problem_probability, keys, settings,  # noqa: ANN001
    perceived, satisfaction, problem_at, had_problem, effort, interactions, met, tallies,  # noqa: ANN001
) -> None:  # fmt: skip
    for block in range(tallies.shape[0]):
        _touch(
            block, who, segment, tenure, expectation, contract, tolerance, in_journey, when,
            chance, effort_per_touch, quality, fit_gain, spread_, problem_probability, keys,
            settings, perceived, satisfaction, problem_at, had_problem, effort, interactions,
            met, tallies,
        )  # fmt: skip


@numba.njit(cache=True, nogil=True, parallel=True)
def _touch_blocks(
    who, segment, tenure, expectation, contract, tolerance, in_journey, when, chance,  # noqa: ANN001
    effort_per_touch, quality, fit_gain, spread_, problem_probability, keys, settings,  # noqa: ANN001
    perceived, satisfaction, problem_at, had_problem, effort, interactions, met, tallies,  # noqa: ANN001
) -> None:  # fmt: skip
    for block in numba.prange(tallies.shape[0]):
        _touch(
            block, who, segment, tenure, expectation, contract, tolerance, in_journey, when,
            chance, effort_per_touch, quality, fit_gain, spread_, problem_probability, keys,
            settings, perceived, satisfaction, problem_at, had_problem, effort, interactions,
            met, tallies,
        )  # fmt: skip


@numba.njit(cache=True, nogil=True)
def _met_sums(met: np.ndarray, k: int, interactions: np.ndarray, sums: np.ndarray) -> None:
    """Touchpoint `k`'s sums of perceived quality and satisfaction over the customers who
    met it, in customer order (``met[:, k]``: NaN where a customer did not)."""
    if interactions[k] == 0:
        return
    perceived, satisfaction = 0.0, 0.0
    for i in range(met.shape[2]):
        if not np.isnan(met[0, k, i]):
            perceived += met[0, k, i]
            satisfaction += met[1, k, i]
    sums[0, k], sums[1, k] = perceived, satisfaction


@numba.njit(cache=True, nogil=True)
def _met_sums_all(met: np.ndarray, interactions: np.ndarray, sums: np.ndarray) -> None:
    for k in range(met.shape[1]):
        _met_sums(met, k, interactions, sums)


@numba.njit(cache=True, nogil=True, parallel=True)
def _met_sums_each(met: np.ndarray, interactions: np.ndarray, sums: np.ndarray) -> None:
    for k in numba.prange(met.shape[1]):  # one touchpoint's sums per thread at a time
        _met_sums(met, k, interactions, sums)


@numba.njit(cache=True, nogil=True)
def met_at_support(
    rows: np.ndarray,
    due: np.ndarray,
    column: int,
    met: tuple[np.ndarray, np.ndarray, np.ndarray],
    month: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> None:
    """The support touchpoint in `column` as the month's callers met it, written into
    their month: `rows` are the callers' rows of the month, `due` whether the touchpoint
    is in each one's journey, `met` each one's perceived quality, satisfaction and effort
    of the contact; `month` the month's perceived quality and satisfaction (one row per
    customer, float32), effort, service effort (NaN before any) and interactions. Where
    due: quality and satisfaction written, the effort added, the service effort the larger
    of the two (numpy's ``fmax``), one interaction more. One pass over the callers."""
    perceived, satisfaction, effort = met
    month_perceived, month_satisfaction, month_effort, service_effort, interactions = month
    for j in range(rows.size):
        if due[j]:
            row, felt = rows[j], effort[j]
            month_perceived[row, column] = perceived[j]
            month_satisfaction[row, column] = satisfaction[j]
            month_effort[row] += felt
            before = service_effort[row]
            if np.isnan(before) or felt > before:
                service_effort[row] = felt
            interactions[row] += 1.0


@numba.njit(cache=True, nogil=True)
def column_counts(marks: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """How many of the `rows` of `marks` (booleans, one row per customer) are True in each
    column: ``marks[rows].sum(axis=0)`` (int64) in one pass over those rows, without the
    copy (numpy's sum down the columns of a narrow array is several times slower)."""
    counts = np.zeros(marks.shape[1], dtype=np.int64)
    for row in rows:
        for column in range(marks.shape[1]):
            counts[column] += marks[row, column]
    return counts


@numba.njit(cache=True, nogil=True)
def positive_sums(group: np.ndarray, values: np.ndarray, groups: int) -> np.ndarray:
    """The sum of each group's positive `values` (`group`: each value's, 0 to `groups` − 1),
    added in order in float64: the numbers of ``np.bincount(group, np.maximum(values, 0),
    groups)`` in one pass, without its copies."""
    sums = np.zeros(groups)
    if groups == 1:  # one running sum, kept in a register
        total = 0.0
        for i in range(values.size):
            total += max(np.float64(values[i]), 0.0)
        sums[0] = total
        return sums
    for i in range(values.size):  # adding 0.0 where a value is not positive: the same sums
        sums[group[i]] += max(np.float64(values[i]), 0.0)
    return sums


def speak(
    status: np.ndarray, satisfaction: np.ndarray, settings: tuple[bool, float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Who speaks this month, the active people of the market (`status`, one per person;
    their market indices, ascending), and the word of mouth of each (`journeys.voice` of
    their `satisfaction`, float32: `settings` are whether it is their `journeys.net_voice`
    rather than 1 each, the NPS answer's spread and the detractors' weight): a compiled
    pass over the speakers, spread over the threads when there are many (`sim.threads`)."""
    speakers = positions(status, ACTIVE)
    voice = np.empty(speakers.size)
    compiled_pass(speakers.size, _voices, _voices_blocks, speakers, satisfaction, settings, voice)
    return speakers, voice


@numba.njit(cache=True, nogil=True)
def _voices(start, stop, speakers, satisfaction, settings, voice) -> None:  # noqa: ANN001
    """`speak`'s word of mouth of speakers `start` to `stop` − 1."""
    net, answer_sd, detractor_weight = settings
    for i in range(start, stop):
        voice[i] = (
            journeys.net_voice(satisfaction[speakers[i]], answer_sd, detractor_weight)
            if net
            else 1.0
        )


@numba.njit(cache=True, nogil=True, parallel=True)
def _voices_blocks(speakers, satisfaction, settings, voice) -> None:  # noqa: ANN001
    n = speakers.size
    for block in numba.prange(block_count(n)):
        start = block * BLOCK
        _voices(start, min(start + BLOCK, n), speakers, satisfaction, settings, voice)


def adopters(
    status: np.ndarray, left: np.ndarray, chance: float, winback_factor: float, key: np.uint64
) -> tuple[np.ndarray, np.ndarray]:
    """The prospects and lapsed people of the market (`status`, one per person), but not
    this month's leavers (`left`, ascending market indices), who adopt under complete
    mixing: the month's `chance` times their `journeys.reluctance` against their uniform
    draw in the stream of `key` (`journeys.adopts`). Returns their market indices,
    ascending, and whether each was lapsed. Compiled passes over the market, spread over
    the threads when it is big (`sim.threads`): everyone's mark, then where they are."""
    joins = np.empty(status.size, dtype=np.bool_)
    args = (status, left, chance, _reluctance_by_status(winback_factor), key, joins)
    compiled_pass(status.size, _adopt, _adopt_blocks, *args)
    new = positions(joins)
    return new, status[new] == LAPSED


@numba.njit(cache=True, nogil=True)
def _adopt(start, stop, status, left, chance, reluctance, key, joins) -> None:  # noqa: ANN001
    """`adopters`' marks of people `start` to `stop` − 1 (`reluctance`: each status's
    factor, `_reluctance_by_status`)."""
    for person in range(start, stop):  # everyone's draw; outside the pool a factor of 0
        factor = reluctance[status[person]]
        joins[person] = journeys.adopts(uniform_at(key, person), chance, factor)
    for leaver in _leavers_in(left, start, stop):
        joins[leaver] = False


def _reluctance_by_status(winback_factor: float) -> np.ndarray:
    """The `journeys.reluctance` factor of each status (indexed by its code) for those in
    the adoption pool (`_in_pool`), and 0 for the others, whose chance is then 0: one
    lookup per person, where a choice between a prospect's and a lapsed person's factor
    made person by person keeps the compiler from a fast loop (about twice as slow)."""
    factors = np.zeros(max(PROSPECT, ACTIVE, LAPSED) + 1)
    for status in (PROSPECT, ACTIVE, LAPSED):
        pool, lapsed = _in_pool(np.int8(status))
        factors[status] = journeys.reluctance(lapsed, winback_factor) if pool else 0.0
    return factors


@numba.njit(cache=True, nogil=True)
def _in_pool(status):  # noqa: ANN001
    """Whether a person of `status` is in the month's adoption pool, a prospect or lapsed
    (unless one of the month's leavers, `_leavers_in`: they are not), and whether lapsed."""
    lapsed = status == LAPSED
    return (status == PROSPECT) | lapsed, lapsed


@numba.njit(cache=True, nogil=True)
def _leavers_in(left, start, stop):  # noqa: ANN001
    """The month's leavers (`left`, ascending market indices) from person `start` to
    `stop` − 1: out of the adoption pool, though lapsed. Taken out after a pass over
    everyone, not found during it: a walk along the leavers beside the people is a chain
    of dependent reads that the pass would wait on at every person."""
    return left[np.searchsorted(left, start) : np.searchsorted(left, stop)]


def adoption_pool(status: np.ndarray, left: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Who of the market (`status`, one per person) is in the month's adoption pool, and
    who of them was lapsed (booleans, one per person): the prospects, and the lapsed but
    not this month's leavers (`left`, ascending market indices), as `adopters` takes them;
    one compiled pass over the market."""
    pool, lapsed = np.empty(status.size, dtype=np.bool_), np.empty(status.size, dtype=np.bool_)
    _pools(status, left, pool, lapsed)
    return pool, lapsed


@numba.njit(cache=True, nogil=True)
def _pools(status, left, pool, lapsed) -> None:  # noqa: ANN001
    for person in range(status.size):
        pool[person], lapsed[person] = _in_pool(status[person])
    for leaver in _leavers_in(left, 0, status.size):
        pool[leaver] = lapsed[leaver] = False


@numba.njit(cache=True, nogil=True, parallel=True)
def _adopt_blocks(status, left, chance, reluctance, key, joins) -> None:  # noqa: ANN001
    n = status.size
    for block in numba.prange(block_count(n)):
        start = block * BLOCK
        _adopt(start, min(start + BLOCK, n), status, left, chance, reluctance, key, joins)


def holdings(
    status: np.ndarray, firms: np.ndarray, firm: int, products: np.ndarray, source: np.ndarray
) -> tuple[int, int, int]:
    """The products held, the initial customers and the customers among the market's
    active people (of `firm`; every firm's when it is −1): `status`, `firms`, `products`
    and `source` hold each person's. Counted in blocks over the threads when the market is
    big (whole numbers: the same in any order)."""
    n = status.size
    tallies = np.zeros((block_count(n), 3), dtype=np.int64)
    compiled_blocks(n, _held_all, _held_blocks, status, firms, firm, products, source, tallies)
    held, initial, active = tallies.sum(axis=0).tolist()
    return held, initial, active


@numba.njit(cache=True, nogil=True)
def _held(block, status, firms, firm, products, source, tallies) -> None:  # noqa: ANN001
    """`holdings` of block `block`, in ``tallies[block]``."""
    held = initial = active = 0
    for person in range(block * BLOCK, min((block + 1) * BLOCK, status.size)):
        mine = (status[person] == ACTIVE) & ((firm < 0) | (firms[person] == firm))
        held += products[person] * mine
        initial += (source[person] == INITIAL) & mine
        active += mine
    tallies[block, 0], tallies[block, 1], tallies[block, 2] = held, initial, active


@numba.njit(cache=True, nogil=True)
def _held_all(status, firms, firm, products, source, tallies) -> None:  # noqa: ANN001
    for block in range(tallies.shape[0]):
        _held(block, status, firms, firm, products, source, tallies)


@numba.njit(cache=True, nogil=True, parallel=True)
def _held_blocks(status, firms, firm, products, source, tallies) -> None:  # noqa: ANN001
    for block in numba.prange(tallies.shape[0]):
        _held(block, status, firms, firm, products, source, tallies)
