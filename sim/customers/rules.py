"""Behavioural rules: small pure functions over numbers or numpy arrays.

Each rule is written once and works on scalars and arrays alike, so the vector engine applies
it to a whole population and a one-customer-at-a-time engine applies it to one person. Most
are compiled with numba: elementwise rules are written for one person and made numpy
ufuncs (`numba.vectorize`), the others are compiled functions (`numba.njit`), so the vector
engine's compiled loops over people call the very same functions. Every quantity is on the
model's quality scale (0–1) unless its name says otherwise; probabilities are per month.
docs/model.md states each equation with its default and source.
"""

from __future__ import annotations

import ctypes
import math
from collections.abc import Callable, Sequence

import llvmlite.binding
import numba
import numpy as np
from numba.extending import get_cython_function_address
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

from sim.scenario.fields import MAX_LEVEL

Array = NDArray[np.floating]
Numbers = float | NDArray[np.floating]
"""A number or a numpy array of numbers: what the compiled (`numba.njit`) rules take (not
lists)."""


def delivered_quality(
    base_quality: ArrayLike, driver_level: ArrayLike, reference_level: float, per_level: float
) -> Array:
    """Quality the firm delivers at a touchpoint (0–1).

    Linear in the driver-weighted capability level around the reference level, clipped to
    the quality scale (CX capabilities shaping touchpoint quality; Homburg, Jozić & Kuehnl 2017).
    """
    q = np.asarray(base_quality) + per_level * (np.asarray(driver_level) - reference_level)
    return np.clip(q, 0.0, 1.0)


def consistency_spread(
    noise_sd: float, consistency_level: ArrayLike, reference_level: float, per_level: float
) -> Array:
    """Spread of perceived quality around delivered quality (0–1 scale).

    Standardised processes and governance make delivery more consistent: the spread falls
    by `per_level` (relative) per level above the reference, never below 10% of `noise_sd`.
    """
    factor = 1.0 - per_level * (np.asarray(consistency_level) - reference_level)
    return noise_sd * np.clip(factor, 0.1, None)


def clamp(value: float, low: float, high: float) -> float:
    """`value` within `low` to `high` (NaN stays NaN): ``float(np.clip(value, low, high))``
    for one number, without numpy's overhead."""
    return float(min(max(value, low), high))


@numba.njit(cache=True, nogil=True)
def clip_unit(x: Numbers) -> Numbers:
    """`x` clipped to the 0–1 scale."""
    return np.minimum(np.maximum(x, 0.0), 1.0)


@numba.njit(cache=True, nogil=True)
def disconfirmation(perceived: Numbers, expectation: Numbers, tolerance: Numbers = 0.0) -> Numbers:
    """Perceived quality less expectation, zero inside the zone of tolerance.

    Oliver (1980) expectation-disconfirmation; zone of tolerance after Zeithaml, Berry &
    Parasuraman (1993).
    """
    gap = perceived - expectation
    return np.sign(gap) * np.maximum(np.abs(gap) - tolerance, 0.0)


@numba.njit(cache=True, nogil=True)
def transaction_satisfaction(
    perceived: Numbers, disconfirmed: Numbers, weight: float, loss_aversion: float
) -> Numbers:
    """Satisfaction with one interaction (0–1): performance plus weighted disconfirmation.

    Negative disconfirmation weighs `loss_aversion` times more than positive (Anderson &
    Sullivan 1993; Mittal, Ross & Baldasare 1998).
    """
    asymmetric = disconfirmed + (loss_aversion - 1.0) * np.minimum(disconfirmed, 0.0)
    return clip_unit(perceived + weight * asymmetric)


def peak_end(experiences: ArrayLike, reference: ArrayLike, peak_end_weight: float) -> Array:
    """Remembered satisfaction of a month's episode (0–1), one row per person.

    `experiences` has one column per touchpoint in stage order, NaN where none happened;
    `reference` is each person's affective baseline, their cumulative satisfaction before
    the month. The memory blends the mean with the average of the peak (the most intense
    moment: the one furthest from the baseline, for better or worse; the first such moment
    on ties) and the end (the last moment), after Kahneman et al. (1993) and Fredrickson &
    Kahneman (1993). Rows with no experience give NaN.
    """
    x = np.asarray(experiences)
    x = x.reshape(1, -1) if x.ndim == 1 else x
    if x.dtype not in (np.float32, np.float64):
        x = x.astype(np.float64)
    baseline = np.broadcast_to(np.asarray(reference, dtype=np.float64), x.shape[:1])
    out = np.empty(x.shape[0], dtype=np.float64)
    _peak_end_rows(0, x.shape[0], x, np.ascontiguousarray(baseline), float(peak_end_weight), out)
    return out


@numba.njit(cache=True, nogil=True)
def _peak_end_rows(
    start: int, stop: int, x: np.ndarray, baseline: np.ndarray, weight: float, out: np.ndarray
) -> None:
    for i in range(start, stop):
        out[i] = peak_end_row(x, i, baseline[i], weight)


@numba.njit(cache=True, nogil=True)
def peak_end_row(x: np.ndarray, i: int, baseline: float, weight: float) -> float:
    """`peak_end` of row `i` of `x` with its `baseline`."""
    # Written without branches on NaN (`value == value` is False for NaN), which the
    # compiler turns into selects: rows are short and their gaps unpredictable.
    count = 0
    total = 0.0
    end = np.nan
    peak = np.nan
    furthest = -1.0
    for k in range(x.shape[1]):
        value = np.float64(x[i, k])
        seen = value == value
        count += seen
        total += value if seen else 0.0
        end = value if seen else end
        # NaN compares False: unseen moments never win. Moments about equally far from
        # the baseline differ only by rounding: the first one stays.
        distance = abs(value - baseline)
        further = distance > furthest + _TIE
        peak = value if further else peak
        furthest = distance if further else furthest
    mean = total / count if count else np.nan
    return weight * 0.5 * (peak + end) + (1.0 - weight) * mean


_TIE = 1e-6
"""Distances from the baseline closer than this are ties in `peak_end`: above the rounding
that separates the engines (float32 state in one, float64 in the other), far below any
difference a customer would feel on the 0–1 scale."""


@numba.vectorize(cache=True)
def prior_weight(tenure_months: ArrayLike, new: float, loyal: float, scale_months: float) -> Array:
    """Weight on prior cumulative satisfaction, rising with tenure (Bolton 1998)."""
    return new + (loyal - new) * (1.0 - np.exp(-tenure_months / scale_months))


@numba.vectorize(cache=True)
def anchor_and_adjust(prior: ArrayLike, new: ArrayLike, weight_on_prior: ArrayLike) -> Array:
    """Anchoring and adjustment: move from `prior` towards `new` by 1 − weight (Hogarth &
    Einhorn 1992). Where `new` is NaN (nothing happened) the prior is kept."""
    if np.isnan(new):
        return prior
    return weight_on_prior * prior + (1.0 - weight_on_prior) * new


@numba.vectorize(cache=True)
def service_effort_shift(effort: ArrayLike, effect: float, neutral: float) -> Array:
    """Change of cumulative satisfaction (0–1 scale) a service episode of `effort` (0–1)
    leaves: −`effect` × (effort − `neutral`), so an episode harder than `neutral` makes the
    customer more disloyal and an easier one repairs some of what the problem cost (Dixon,
    Freeman & Toman 2010); no episode (NaN) leaves nothing."""
    if np.isnan(effort):
        return 0.0
    return -effect * (effort - neutral)


@numba.vectorize(cache=True)
def adapted_expectation(
    expectation: ArrayLike, experienced: ArrayLike, adaptation: float, drift: float
) -> Array:
    """Expectation after a month: adapts to experience and drifts with the market standard.

    Adaptive expectations (Oliver 1980; Johnson, Anderson & Fornell 1995); `drift` is the
    monthly rise of the market's standard. Where nothing was experienced only drift applies.
    """
    moved = expectation
    if not np.isnan(experienced):
        moved = expectation + adaptation * (experienced - expectation)
    return min(max(moved + drift, 0.0), 1.0)


@numba.vectorize(cache=True)
def churn_probability(
    base_per_month: ArrayLike,
    satisfaction: ArrayLike,
    effort: ArrayLike,
    satisfaction_effect: float,
    effort_effect: float,
    reference_satisfaction: float,
    reference_effort: float,
    extra_log_hazard: float,
    frailty: ArrayLike,
) -> Array:
    """Monthly churn probability from a proportional hazard (Cox 1972).

    hazard = −ln(1 − base) · φ · exp(β_s (S_ref − S) + β_e (E − E_ref) + x); probability =
    1 − exp(−hazard), where φ is the person's frailty (mean 1; Vaupel, Manton & Stallard
    1979) and x a market-wide shock (e.g. after a privacy incident). At the reference, with
    φ = 1 (or with both effects zero, no shock and no frailty) it equals `base`, so survival
    is geometric.
    """
    return hazard_churn(
        base_hazard(base_per_month),
        satisfaction,
        effort,
        satisfaction_effect,
        effort_effect,
        reference_satisfaction,
        reference_effort,
        extra_log_hazard,
        frailty,
    )


@numba.njit(cache=True, nogil=True)
def base_hazard(base_per_month: float) -> float:
    """The monthly hazard −ln(1 − base) of a base churn probability per month."""
    return -np.log1p(-base_per_month)


@numba.njit(cache=True, nogil=True)
def hazard_churn(
    hazard_at_reference: float,
    satisfaction: float,
    effort: float,
    satisfaction_effect: float,
    effort_effect: float,
    reference_satisfaction: float,
    reference_effort: float,
    extra_log_hazard: float,
    frailty: float,
) -> float:
    """`churn_probability` from the base rate's hazard per month (`base_hazard`), which a
    pass over many people of few segments works out once per segment."""
    log_ratio = satisfaction_effect * (reference_satisfaction - satisfaction)
    log_ratio = log_ratio + effort_effect * (effort - reference_effort)
    log_ratio = log_ratio + extra_log_hazard
    hazard = hazard_at_reference * frailty * np.exp(min(log_ratio, 50.0))
    return -np.expm1(-hazard)


@numba.vectorize(cache=True)
def renewal_leave_probability(
    satisfaction: ArrayLike, max_leave: float, threshold: float, steepness: float
) -> Array:
    """Probability of not renewing a contract: logistic in satisfaction below a threshold."""
    z = steepness * (satisfaction - threshold)
    return max_leave / (1.0 + np.exp(min(max(z, -50.0), 50.0)))


@numba.vectorize(cache=True)
def purchase_probability(
    base_per_month: float, satisfaction: ArrayLike, effect: float, reference: float
) -> Array:
    """Monthly probability of a repeat purchase or upsell, rising with satisfaction
    (Anderson & Mittal 2000; Bolton, Lemon & Verhoef 2004): `purchase_chance` of the base
    probability and the `purchase_lift` of satisfaction."""
    return purchase_chance(base_per_month, purchase_lift(satisfaction, effect, reference))


@numba.njit(cache=True, nogil=True)
def purchase_lift(satisfaction: float, effect: float, reference: float) -> float:
    """The factor on every purchase probability of a customer with cumulative satisfaction
    `satisfaction` (0–1): exp(effect × (satisfaction − reference)); the same for a repeat
    purchase and an upsell, so worked out once for both."""
    return np.exp(effect * (satisfaction - reference))


@numba.njit(cache=True, nogil=True)
def purchase_chance(base_per_month: float, lift: float) -> float:
    """Monthly probability of a purchase: the base probability times the customer's
    `purchase_lift`, within 0–1."""
    return min(max(base_per_month * lift, 0.0), 1.0)


def adoption_hazard(advertising: float, imitation: float, net_voice: ArrayLike) -> Array:
    """Monthly adoption hazard of a prospect, per month, who hears a net share `net_voice`
    of word of mouth: promoters less weighted detractors, as a share of the market (complete
    mixing) or of the person's ties (a network).

    Where the voice is for the firm (v ≥ 0) it is the Bass hazard p + q·v (Bass 1969;
    Goldenberg, Libai & Muller 2001). Where detractors outweigh promoters (v < 0) it is
    p·exp(q·v/p): below the advertising-only rate p and falling toward zero as warnings
    drown out advertising (negative word of mouth, Goldenberg, Libai, Moldovan & Muller
    2007). The two pieces meet with the same value p and slope q at v = 0, so acquisition
    has no kink at a net promoter score of 0. Without advertising (p = 0) only a positive
    voice attracts anyone.
    """
    v = np.asarray(net_voice, dtype=np.float64)
    p, q = advertising, imitation
    if p <= 0.0:
        return q * np.maximum(v, 0.0)
    return np.where(v >= 0.0, p + q * v, p * np.exp(q * np.minimum(v, 0.0) / p))


def bass_month_adoption(
    advertising: float,
    imitation: float,
    informed_share: float,
    informed_per_adopter: float,
    prospect_share: float,
) -> float:
    """Probability that a prospect adopts during one month of Bass (1969) diffusion.

    Within the month the hazard p + q·s acts on the prospect pool X while each adopter adds
    κ = `informed_per_adopter` to the informed share s, so s + κX = C stays constant and
    ds/dt = (p + q s)(C − s). Its exact solution over one month,
    (p + q s₁)/(C − s₁) = e^{p + qC} (p + q s₀)/(C − s₀), gives the share of prospects who
    adopt, (s₁ − s₀)/(C − s₀). With κ = 1 and the whole market as prospects and adopters
    this is the Bass closed form at monthly points exactly; with κ = 0 it is 1 − e^{−(p+qs₀)}.
    When detractors outweigh promoters (s₀ < 0, and so κ < 0) the month's hazard is
    `adoption_hazard`'s, held for the month: 1 − e^{−h(s₀)}.
    """
    p, q, s0 = advertising, imitation, informed_share
    gap = max(informed_per_adopter, 0.0) * prospect_share
    if s0 < 0.0 or gap <= 1e-12 or p + q * s0 <= 0.0:
        return float(-np.expm1(-adoption_hazard(p, q, s0)))
    c = s0 + gap
    ratio = math.exp(p + q * c) * (p + q * s0) / gap
    s1 = (ratio * c - p) / (ratio + q)
    return clamp((s1 - s0) / gap, 0.0, 1.0)


def bass_cumulative(t: ArrayLike, p: float, q: float) -> Array:
    """Closed-form Bass (1969) cumulative adoption share F(t) for t in the model's time unit."""
    t = np.asarray(t, dtype=np.float64)
    e = np.exp(-(p + q) * t)
    return (1.0 - e) / (1.0 + (q / p) * e)


PROMOTER_FROM = 8.5
"""Likelihood to recommend (0–10, before rounding) from which an answer rounds to a promoter's
9 or 10 (Reichheld 2003)."""
DETRACTOR_BELOW = 6.5
"""Likelihood to recommend (0–10, before rounding) below which an answer rounds to a
detractor's 0 to 6."""


def _scipy_ndtr() -> numba.types.ExternalFunction:
    """SciPy's standard normal CDF (``scipy.special.ndtr``: the very function behind its
    ufunc, from ``scipy.special.cython_special``) for compiled code: a symbol of the JIT's
    linker, so that the functions calling it can still be cached. Raises ImportError if
    SciPy's compiled function does not give the ufunc's numbers."""
    address = get_cython_function_address("scipy.special.cython_special", "__pyx_fuse_1ndtr")
    check = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double)(address)
    probes = (-38.5, -6.0, -0.7071, 0.0, 0.3, 1.25, 8.0)
    if any(check(x) != ndtr(x) for x in probes):
        raise ImportError("scipy.special.cython_special's ndtr differs from scipy.special.ndtr")
    llvmlite.binding.add_symbol("cxm_scipy_ndtr", address)
    return numba.types.ExternalFunction("cxm_scipy_ndtr", numba.types.float64(numba.types.float64))


_ndtr = _scipy_ndtr()


@numba.njit(cache=True, nogil=True)
def promoter_detractor(latent_score: float, answer_sd: float) -> tuple[float, float]:
    """Expected promoter and detractor probabilities of a person with a latent 0–10 score.

    An answer is the latent score plus normal noise of `answer_sd`, rounded: promoters
    answer 9–10 (≥ 8.5 before rounding), detractors 0–6 (< 6.5) (Reichheld 2003).
    """
    sd = max(answer_sd, 1e-9)
    promoter = 1.0 - _ndtr((PROMOTER_FROM - latent_score) / sd)
    return promoter, _ndtr((DETRACTOR_BELOW - latent_score) / sd)


def nps_shares(latent_score: ArrayLike, answer_sd: float) -> tuple[Numbers, Numbers]:
    """`promoter_detractor` of each latent 0–10 score (a number or an array, in float64)."""
    promoter, detractor = each_person(_nps_shares, (latent_score,), 2, answer_sd)
    return promoter, detractor


def each_person(
    loop: Callable[..., None], inputs: Sequence[ArrayLike], outputs: int, *settings: float
) -> tuple[Numbers, ...]:
    """A compiled rule of each person over arrays: the `inputs` (numbers or arrays) are
    broadcast together in float64 and flattened, ``loop(*inputs, *settings, *outputs)``
    fills `outputs` float64 arrays of their shape, one entry per person, and those come
    back (numbers when every input is a number)."""
    arrays = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in inputs))
    results = [np.empty(arrays[0].shape) for _ in range(outputs)]
    loop(
        *(np.ascontiguousarray(array).reshape(-1) for array in arrays),
        *(float(setting) for setting in settings),
        *(result.reshape(-1) for result in results),
    )
    return tuple(result[()] if result.ndim == 0 else result for result in results)


@numba.njit(cache=True, nogil=True)
def _nps_shares(score, answer_sd, promoter, detractor) -> None:  # noqa: ANN001
    for i in range(score.size):
        promoter[i], detractor[i] = promoter_detractor(score[i], answer_sd)


@numba.vectorize(cache=True)
def survey_answer(latent: ArrayLike, noise: ArrayLike, sd: float, low: int, high: int) -> Array:
    """A survey answer on an integer scale: latent value plus noise, rounded (half to even)
    and clipped."""
    answer = np.rint(latent + sd * noise)
    if np.isnan(answer):  # no latent answer (no interaction this month): none given
        return answer
    return min(max(answer, low), high)


@numba.njit(cache=True, nogil=True)
def response_chance(
    base: float, satisfaction: float, mean_satisfaction: float, selection_bias: float
) -> float:
    """Probability of answering a survey: self-selection by satisfaction (logit shift) of
    the `base` probability (`self_selected` of its `response_log_odds`)."""
    return self_selected(response_log_odds(base), satisfaction, mean_satisfaction, selection_bias)


@numba.njit(cache=True, nogil=True)
def response_log_odds(base: float) -> float:
    """Log-odds of a base probability of answering (held within 1e-9 of 0 and 1)."""
    b = min(max(base, 1e-9), 1 - 1e-9)
    return math.log(b / (1.0 - b))


@numba.njit(cache=True, nogil=True)
def self_selected(
    log_odds: float, satisfaction: float, mean_satisfaction: float, selection_bias: float
) -> float:
    """Probability of answering a survey from the base probability's `log_odds`
    (`response_log_odds`), shifted by `selection_bias` per unit of cumulative satisfaction
    (0–1) above the mean of those asked."""
    logit = log_odds + selection_bias * (satisfaction - mean_satisfaction)
    return 1.0 / (1.0 + math.exp(-logit))


def response_probability(
    base: ArrayLike, satisfaction: ArrayLike, mean_satisfaction: float, selection_bias: float
) -> Numbers:
    """`response_chance` of each person (numbers or arrays, in float64)."""
    inputs, settings = (base, satisfaction), (mean_satisfaction, selection_bias)
    return each_person(_response_chances, inputs, 1, *settings)[0]


@numba.njit(cache=True, nogil=True)
def _response_chances(base, satisfaction, mean_satisfaction, selection_bias, out) -> None:  # noqa: ANN001
    for i in range(out.size):
        out[i] = response_chance(base[i], satisfaction[i], mean_satisfaction, selection_bias)


def customer_lifetime_value(margin_per_month: float, retention: float, discount: float) -> float:
    """CLV of a customer with constant margin and retention (Gupta & Lehmann 2003).

    m·r/(1 + d − r): margins are received at the end of each month survived, discounted at
    `discount` per month. Undefined (NaN) when 1 + d − r is 0, i.e. without discounting and
    with retention 1: the undiscounted margins of a customer who never leaves have no finite
    sum.
    """
    denominator = 1.0 + discount - retention
    if denominator <= 0.0:
        return math.nan
    return margin_per_month * retention / denominator


def monthly_rate(rate_per_year: float) -> float:
    """Monthly compound rate equivalent to an annual rate."""
    return (1.0 + rate_per_year) ** (1.0 / 12.0) - 1.0


# ---------------------------------------------------------------------------- the firm


def capability_step(
    level: ArrayLike, realised_spend: ArrayLike, cost_scale: float, decay: float, floor: ArrayLike
) -> Array:
    """Capability levels (0–5) after one month of realised investment and decay.

    gain = (5 − L)(1 − exp(−spend / cost_scale)): each unit of spend buys less as spend
    grows and as the level nears 5 (diminishing returns; resource-based view, Helfat &
    Peteraf 2003). decay = δ·max(L − floor, 0): capabilities erode without upkeep (Dierickx
    & Cool 1989).
    """
    level = np.asarray(level, dtype=np.float64)
    gain = (MAX_LEVEL - level) * -np.expm1(-np.asarray(realised_spend) / cost_scale)
    loss = decay * np.maximum(level - np.asarray(floor), 0.0)
    return np.clip(level + gain - loss, 0.0, MAX_LEVEL)


def investment_effectiveness(enablers_above_reference: float, enabler_effect: float) -> float:
    """Multiplier on investment from governance and culture (mean level above the reference):
    enabling capabilities make other investments work (Homburg, Jozić & Kuehnl 2017)."""
    return max(1.0 + enabler_effect * enablers_above_reference, 0.1)


def maturity_from_index(index: float, thresholds: tuple[float, ...]) -> int:
    """Maturity level (0 reactive … 4 transformative) reached by a capability index."""
    return int(np.searchsorted(np.asarray(thresholds), index, side="right"))


def engagement_target(
    culture_above_reference: float,
    technology_above_reference: float,
    workload: float,
    culture_effect: float,
    technology_effect: float,
    workload_effect: float,
) -> float:
    """Employee engagement (0–1) that culture, tools and workload sustain; 0.5 at the
    reference with normal workload (service-profit chain, Heskett et al. 1994)."""
    target = (
        0.5
        + culture_effect * culture_above_reference
        + technology_effect * technology_above_reference
        - workload_effect * max(workload - 1.0, 0.0)
    )
    return clamp(target, 0.0, 1.0)


def staff_attrition(base_per_month: float, engagement: float, effect: float) -> float:
    """Monthly staff attrition, falling with engagement (Harter, Schmidt & Hayes 2002)."""
    return float(min(base_per_month * np.exp(-effect * (engagement - 0.5)), 1.0))


def privacy_incident_probability(
    full_rate: float, personalisation: float, governance_above_reference: float, protection: float
) -> float:
    """Monthly privacy-incident probability: grows with the data personalisation uses,
    falls with governance (Martin, Borah & Palmatier 2017 on data privacy failures)."""
    rate = full_rate * personalisation * np.exp(-protection * governance_above_reference)
    return clamp(rate, 0.0, 1.0)


def churn_score(true_probability: ArrayLike, noise: ArrayLike, noise_sd: float) -> Array:
    """A churn-risk score: the logit of the true churn probability plus model error.

    Precision and recall of the flagged customers follow from `noise_sd` (logit units).
    """
    p = np.clip(np.asarray(true_probability, dtype=np.float64), 1e-9, 1 - 1e-9)
    return np.log(p / (1.0 - p)) + noise_sd * np.asarray(noise)
