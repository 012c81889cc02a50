"""The vector engine: every customer's part of a month as numpy operations over all of them.

The market is a structure of arrays (`sim.customers.population.Population`): one array per
attribute, one entry per person, no per-person Python object and no Python loop over people (the
hottest passes are loops compiled with numba, calling the same rules). Each method below is
one per-customer part of a month (`CXModel.step` calls them in order between the firm's
phases) and applies the mechanisms of `sim.customers.journeys` and the rules of
`sim.customers.rules` to whole arrays at once. Within a phase every customer reads only their own
state and their own random numbers, so the order in which an array is processed does not matter;
across phases, each reads what earlier phases of the month wrote.

The month's working arrays live in its `VectorMonth` (the engine contract's `Month`, with
every array declared), created by `start_month` and handed to every later phase; the engine
itself keeps only the market and memory it reuses from month to month.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from sim import purposes
from sim.customers import journeys, network, rules, surveys
from sim.customers.population import (
    ACTIVE,
    INITIAL,
    PROSPECT,
    SWITCHED,
    Population,
    newcomers,
)
from sim.engines import kernels
from sim.engines.contract import Contacts, Decisions, Leaving, Met, Month, People
from sim.stats import mean_or_nan
from sim.threads import PARALLEL_FROM, blocks, count, gather, positions, reuse_freed_memory

if TYPE_CHECKING:
    from sim.model import CXModel
    from sim.scenario.schema import Touchpoint


def _none() -> np.ndarray:
    return np.zeros(0)


@dataclass(kw_only=True)
class VectorMonth(Month):
    """The month of the vector engine: the shared `Month` and the engine's working arrays
    (one row per customer active at the start of the month, in `Month.who` order; one
    column per touchpoint in model order, NaN where nothing happened)."""

    segment: np.ndarray
    """Segment of each customer (``start_month``)."""
    satisfaction: np.ndarray = field(default_factory=_none)
    """Transaction satisfaction of each interaction, 0–1 (``journeys.experience``,
    ``support.serve``)."""
    perceived: np.ndarray = field(default_factory=_none)
    """Perceived quality of each interaction, 0–1 (same phases)."""
    problem_at: np.ndarray = field(default_factory=_none)
    """Whether each interaction created a problem (``journeys.experience``)."""
    had_problem: np.ndarray = field(default_factory=_none)
    """Whether each customer had a problem (``journeys.experience``)."""
    effort: np.ndarray = field(default_factory=_none)
    """Sum of each customer's effort over their interactions (``journeys.experience``,
    ``support.serve``)."""
    interactions: np.ndarray = field(default_factory=_none)
    """Each customer's number of interactions (same phases)."""
    service_effort: np.ndarray = field(default_factory=_none)
    """Effort of each customer's service episode, NaN without one (``support.serve``)."""
    contact_rows: np.ndarray = field(default_factory=_none)
    """Rows of the customers who contacted support (``support.serve``)."""
    episode: np.ndarray = field(default_factory=_none)
    """Each customer's remembered satisfaction of the month, NaN without interactions
    (``customers.evaluate``)."""
    month_effort: np.ndarray = field(default_factory=_none)
    """Each customer's effort of the month as felt (`journeys.felt_effort`), NaN without
    interactions (``customers.evaluate``)."""
    would_leave: np.ndarray = field(default_factory=_none)
    """Whether each customer means to leave (``customers.decide``)."""
    left: np.ndarray = field(default_factory=_none)
    """Market indices of the customers who left (``customers.decide``)."""
    voice: np.ndarray = field(default_factory=_none)
    """Word of mouth of each speaker (``market.acquire``)."""


class VectorCustomers:
    """The population as arrays, stepped a whole phase at a time.

    Args:
        model: the `CXModel` (scenario, firm plan, streams).
        population: the market at month 0.
    """

    def __init__(self, model: CXModel, population: Population) -> None:
        self.model = model
        self.population = population
        if len(population.status) >= PARALLEL_FROM:  # a big market: whole-market arrays
            reuse_freed_memory()
        scenario = model.spec
        segments = scenario.market.segments

        def column(field: str) -> np.ndarray:
            return np.array([getattr(s, field) for s in segments], dtype=np.float64)

        self.seg_churn = column("churn_per_month")
        self.seg_revenue = column("revenue_per_month")
        self.seg_repeat_value = column("repeat_purchase_value")
        self.seg_tolerance = column("tolerance")
        self.seg_contract = np.array([s.contract_months for s in segments], dtype=np.int32)
        self.seg_support = column("support_propensity")
        self.seg_response = column("survey_response")
        self.in_journey = model.in_journey
        self.seg_has_support = self.in_journey[:, model.firm.is_support].any(axis=1)
        touchpoints = [scenario.touchpoints[name] for name in model.touchpoints]
        self.tp_when = np.array([_when(tp) for tp in touchpoints], dtype=np.int8)
        # float32: numpy compares the month's float32 draws with it in float32
        self.tp_chance = np.array([tp.probability_per_month for tp in touchpoints], np.float32)
        self.tp_effort = np.array([tp.effort for tp in touchpoints], dtype=np.float64)
        self._buffers: dict[int | None, kernels.Buffers] = {}
        """Working arrays of each firm's months (a month of one firm is still read while
        the next firm's is built)."""

    def start_month(self, number: int, firm: int | None = None) -> VectorMonth:
        """The new month and its customers (those active at its start; of `firm` only, when
        given)."""
        pop = self.population
        if firm is None:
            who = positions(pop.status, ACTIVE)
        else:
            who = positions((pop.status == ACTIVE) & (pop.firm == firm))
        # A person's segment never changes; held as an index type for the many lookups.
        segment = gather(pop.segment, who, np.empty(len(who), dtype=np.intp))
        return VectorMonth(number, who, firm, segment=segment)

    def acquisition_month(self, number: int, left: np.ndarray) -> VectorMonth:
        """The market's month for acquisition: no customers of its own, `left` the
        leavers of every firm."""
        none = np.zeros(0, dtype=np.int64)
        return VectorMonth(number, none, segment=none.astype(np.intp), left=left)

    # ------------------------------------------------------------------ journeys.experience

    def experience(self, month: VectorMonth) -> None:
        """Each active customer meets the touchpoints due this month, in stage order: one
        compiled pass over the customers (`kernels.experience`) for who is due, their
        draws, perceived quality and transaction satisfaction. Problem-triggered
        touchpoints wait for support."""
        model, pop, plan, m = self.model, self.population, self.model.plan, month.number
        streams, who, names = model.streams, month.who, model.touchpoints
        n, k_count = len(who), len(names)
        buffers = self._buffers.setdefault(month.firm, kernels.Buffers())
        # Row-major: a customer's month is one row, read whole by memory and surveys.
        month.satisfaction = buffers.take("satisfaction", (n, k_count), np.float32)
        month.perceived = buffers.take("perceived", (n, k_count), np.float32)
        month.problem_at = buffers.take("problem_at", (n, k_count), np.bool_)
        month.had_problem = buffers.take("had_problem", (n,), np.bool_)
        month.effort, month.interactions = np.empty(n), np.empty(n)
        month.service_effort = np.full(n, np.nan)
        keys = np.zeros((k_count, 3), dtype=np.uint64)  # noise, problem, occurrence
        for k, name in enumerate(names):
            if self.tp_when[k] != kernels.WAITS:
                keys[k, 0] = streams.key(purposes.touchpoint_noise(name), m)
                keys[k, 1] = streams.key(purposes.touchpoint_problem(name), m)
            if self.tp_when[k] == kernels.AT_RANDOM:
                keys[k, 2] = streams.key(purposes.touchpoint_occurs(name), m)
        rules_ = model.spec.behaviour.satisfaction
        interactions, perceived, satisfaction, problems, month.problems = kernels.experience(
            who,
            month.segment,
            (pop.tenure, pop.expectation),
            (self.seg_contract, self.seg_tolerance, self.in_journey),
            (self.tp_when, self.tp_chance, self.tp_effort),
            tuple(
                np.asarray(values, dtype=np.float64)
                for values in (plan.quality, plan.fit_gain, plan.spread, plan.problem_probability)
            ),
            keys,
            kernels.floats(
                model.spec.support.problem_quality_drop,
                rules_.disconfirmation_weight,
                rules_.loss_aversion,
            ),
            (
                month.perceived,
                month.satisfaction,
                month.problem_at,
                month.had_problem,
                month.effort,
                month.interactions,
                buffers.take("met", (2, k_count, n), np.float64),
            ),
        )
        for k, name in enumerate(names):
            if self.tp_when[k] == kernels.WAITS or interactions[k] == 0:
                continue
            if model.spec.touchpoints[name].staffed:
                month.staffed_interactions += float(interactions[k])
            month.touchpoints.add(
                name, int(interactions[k]), float(perceived[k]), float(satisfaction[k]),
                int(problems[k]),
            )  # fmt: skip

    # ------------------------------------------------------------------ support.serve

    def contact_support(self, month: VectorMonth) -> tuple[np.ndarray, np.ndarray]:
        """Customers with a problem whose journey has support contact it by their segment's
        propensity; returns their market indices and the problems they report per
        touchpoint."""
        # Each one's draw only where it can matter: the same numbers (`sim.streams`).
        rows = positions(month.had_problem)
        seg = month.segment[rows]
        u_contact = self.model.streams.uniform(
            purposes.SUPPORT_CONTACT, month.number, month.who[rows]
        )
        calling = rows[self.seg_has_support[seg] & (u_contact < self.seg_support[seg])]
        month.contact_rows = calling
        return month.who[calling], kernels.column_counts(month.problem_at, calling)

    def experience_support(self, month: VectorMonth, contacts: Contacts) -> None:
        """Each contacting customer meets the support touchpoints of their journey, as the
        desk served them."""
        model, pop, plan, m = self.model, self.population, self.model.plan, month.number
        desk, idx = model.spec.support, month.contact_rows
        seg = pop.segment[contacts.people]
        expectation = pop.expectation[contacts.people]
        tolerance = self.seg_tolerance[seg]
        recovery_effect = model.spec.firm.maturity.recovery_effect
        satisfaction_rules = model.spec.behaviour.satisfaction
        written = (
            month.perceived,
            month.satisfaction,
            month.effort,
            month.service_effort,
            month.interactions,
        )
        for k, name in enumerate(model.touchpoints):
            tp = model.spec.touchpoints[name]
            if tp.when != "problem":
                continue
            due = self.in_journey[seg, k]
            noise = model.streams.normal(purposes.touchpoint_noise(name), m, contacts.people)
            raw = journeys.contact_quality(
                plan.quality[k], plan.spread[k], noise, contacts, desk, recovery_effect
            )
            perceived, satisfaction = journeys.interaction(
                raw,
                expectation,
                tolerance,
                satisfaction_rules.disconfirmation_weight,
                satisfaction_rules.loss_aversion,
            )
            effort = journeys.contact_effort(tp.effort, contacts, desk)
            kernels.met_at_support(idx, due, k, (perceived, satisfaction, effort), written)
            if tp.staffed and journeys.front_line_answers_support(self.model.spec.support):
                by_phone = due if contacts.by_phone is None else due & contacts.by_phone
                answered = by_phone & ~contacts.abandoned
                unresolved = contacts.unresolved & by_phone
                month.staffed_interactions += float(answered.sum() + unresolved.sum())
            no_problem = np.zeros(int(due.sum()), dtype=bool)
            month.touchpoints.add_batch(name, perceived[due], satisfaction[due], no_problem)

    # ------------------------------------------------------------------ customers.evaluate

    def evaluate(self, month: VectorMonth, trust_shock: float) -> None:
        """Episode memory (peak-end), cumulative satisfaction (anchoring, less a privacy
        incident's `trust_shock`), remembered effort and expectations: one compiled pass
        over the customers (`kernels.evaluate`)."""
        pop, who = self.population, month.who
        satisfaction_rules = self.model.spec.behaviour.satisfaction
        month.episode, month.month_effort = np.empty(len(who)), np.empty(len(who))
        kernels.evaluate(
            who,
            (
                month.satisfaction,
                month.perceived,
                month.effort,
                month.interactions,
                month.service_effort,
            ),
            (pop.satisfaction, pop.effort, pop.expectation, pop.tenure),
            float(satisfaction_rules.peak_end_weight),
            journeys.memory_settings(satisfaction_rules),
            float(trust_shock),
            (month.episode, month.month_effort),
        )
        month.experiencing = count(len(who), lambda people: ~np.isnan(month.episode[people]))

    def drift(self, drift: float) -> None:
        """Every person's expectation moves by `drift`, within 0–1."""
        expectation = self.population.expectation

        def part(people: slice) -> None:
            np.clip(expectation[people] + drift, 0.0, 1.0, out=expectation[people])

        blocks(len(expectation), part)

    # ------------------------------------------------------------------ customers.answer

    def answer(self, month: VectorMonth) -> tuple[surveys.SurveyWave, np.ndarray]:
        """The month's survey wave, and each respondent's rating of every touchpoint
        (0–1, NaN where not met; one row per respondent)."""
        model, pop, who, m = self.model, self.population, month.who, month.number
        survey_rules = model.spec.behaviour.surveys
        satisfaction = gather(pop.satisfaction, who, np.empty(len(who)))
        wave = surveys.survey(
            survey_rules,
            satisfaction,
            month.episode,
            month.month_effort,
            month.segment,
            self.seg_response,
            model.firm.level("measurement"),
            model.spec.firm.reference_level,
            who,
            surveys.AnswerKeys(
                model.streams.key(purposes.SURVEY_RESPOND, m),
                *(
                    model.streams.key(purposes.survey_answer(name), m)
                    for name in surveys.ANSWER_NOISE
                ),
            ),
        )
        keys = [model.streams.key(purposes.survey_rating(t), m) for t in model.touchpoints]
        ratings = np.empty((len(wave.respondents), len(model.touchpoints)))
        kernels.rate_touchpoints(
            month.satisfaction,
            wave.respondents,
            who,
            np.array(keys, dtype=np.uint64),
            survey_rules.csat_answer_sd,
            ratings,
        )
        return wave, ratings

    def take_call_backs(self, month: VectorMonth, detractors: np.ndarray, chance: float) -> None:
        """Detractors the firm calls back: a call that succeeds (by `chance`) recovers some
        of their satisfaction."""
        pop = self.population
        u = self.model.streams.uniform(purposes.SURVEY_CLOSE_LOOP, month.number, detractors)
        recovered = detractors[u < chance]
        effect = self.model.spec.firm.maturity.close_loop_effect
        pop.satisfaction[recovered] = journeys.lifted(pop.satisfaction[recovered], effect)

    # ------------------------------------------------------------------ customers.decide

    def consider_leaving(self, month: VectorMonth) -> Leaving:
        """Each customer's churn risk (hazard plus renewal, per month), whether they would
        leave this month (hazard, or not renewing a contract that is due) and whether a
        contract is due: one compiled pass over them (`kernels.consider_leaving`)."""
        pop, who, m = self.population, month.who, month.number
        churn, streams = self.model.spec.behaviour.churn, self.model.streams
        n = len(who)
        leaving = Leaving(np.empty(n), *(np.empty(n, dtype=np.bool_) for _ in range(3)))
        kernels.consider_leaving(
            who,
            month.segment,
            (pop.satisfaction, pop.effort, pop.frailty, pop.tenure),
            (self.seg_churn, self.seg_contract),
            kernels.floats(
                churn.satisfaction_effect,
                churn.effort_effect,
                churn.reference_satisfaction,
                churn.reference_effort,
                self.model.firm.trust_shock,
                churn.renewal_max_leave,
                churn.renewal_threshold,
                churn.renewal_steepness,
                journeys.price_hazard_factor(self.model.spec),
            ),
            (streams.key(purposes.CHURN_HAZARD, m), streams.key(purposes.CHURN_RENEWAL, m)),
            leaving,
        )
        month.would_leave = leaving.would_leave
        return leaving

    def decide(self, month: VectorMonth, flagged: np.ndarray | None) -> Decisions:
        """Interventions reach the flagged (a success lifts satisfaction and keeps one who
        would leave); leavers lapse; stayers buy, pay and age by a month: two compiled
        passes over the customers (`kernels.decide`)."""
        pop, m = self.population, month.number
        b, streams = self.model.spec.behaviour, self.model.streams
        settings = self.model.spec.firm.maturity
        leaves, kept, month.left, repeat, upsell, revenue, s_stay = kernels.decide(
            month.who,
            month.segment,
            month.would_leave,
            flagged,
            (pop.satisfaction, pop.status, pop.products, pop.revenue_to_date, pop.tenure),
            (self.seg_revenue, self.seg_repeat_value),
            kernels.floats(
                settings.intervention_success,
                settings.intervention_satisfaction_gain,
                b.purchase.repeat_per_month,
                b.purchase.upsell_per_month,
                b.purchase.satisfaction_effect,
                b.churn.reference_satisfaction,
                b.purchase.max_products,
                b.purchase.extra_product_revenue_share,
                self.model.spec.firm.price,
            ),
            tuple(
                streams.key(purpose, m)
                for purpose in (
                    purposes.PREDICT_SUCCESS,
                    purposes.PURCHASE_REPEAT,
                    purposes.PURCHASE_UPSELL,
                )
            ),
        )
        return Decisions(month.segment, leaves, kept, repeat, upsell, revenue, s_stay)

    # ------------------------------------------------------------------ market.acquire

    def speak(self, month: VectorMonth) -> np.ndarray:
        """Word of mouth of each active customer (ascending market index): a compiled pass
        over them (`kernels.speak`)."""
        pop, a = self.population, self.model.spec.acquisition
        sd = self.model.spec.behaviour.surveys.nps_answer_sd
        settings = (a.word_of_mouth != "customers", float(sd), float(a.detractor_weight))
        month.speakers, month.voice = kernels.speak(pop.status, pop.satisfaction, settings)
        return month.voice

    def prospects(self) -> int:
        """Number of prospects in the market."""
        status = self.population.status
        return count(len(status), lambda people: status[people] == PROSPECT)

    def adopt(
        self,
        month: VectorMonth,
        chance: float | None,
        ads_share: float | None,
        per_customer: float,
    ) -> None:
        """Prospects and lapsed customers (not those who left this month) adopt: with the
        month's `chance` under complete mixing, or by hearing their ties speak over the
        network in sub-steps (`chance` None); then they join (`Month.joined`)."""
        pop, a, m = self.population, self.model.spec.acquisition, month.number
        if chance is None:
            pool, lapsed = kernels.adoption_pool(pop.status, month.left)
            speaking = np.zeros(pop.size, dtype=np.float32)
            speaking[month.speakers] = month.voice
            joins, ads_share = self._adopt_network(month, pool, lapsed, speaking, per_customer)
            new = positions(joins)
            was_lapsed = lapsed[new]
        else:  # each person's draw only where it can matter: the same numbers (`sim.streams`)
            key = self.model.streams.key(purposes.ACQUIRE_ADOPT, m)
            chances = (chance, a.winback_factor)
            new, was_lapsed = kernels.adopters(pop.status, month.left, *chances, key)
        u_source = self.model.streams.uniform(purposes.ACQUIRE_SOURCE, m, new)
        month.joined = new
        share = ads_share[new] if np.ndim(ads_share) else ads_share
        self._join(new, journeys.adoption_source(was_lapsed, u_source, share))

    def _join(self, new: np.ndarray, source: np.ndarray | int) -> None:
        """The people `new` become customers: tenure 0, one product, satisfaction at their
        expectation, remembered effort at the reference, won by `source`."""
        pop = self.population
        pop.source[new] = source
        pop.status[new] = ACTIVE
        pop.tenure[new] = 0
        pop.products[new] = 1
        pop.satisfaction[new] = pop.expectation[new]
        pop.effort[new] = self.model.spec.behaviour.churn.reference_effort

    def switch(self, people: np.ndarray, firms: np.ndarray) -> None:
        """Leavers of this month join other firms at once (source switched)."""
        self._join(people, SWITCHED)
        self.population.firm[people] = firms

    def firms_of(self, who: np.ndarray) -> np.ndarray:
        """The firm of each person at `who`."""
        return self.population.firm[who]

    def set_firms(self, who: np.ndarray, firms: np.ndarray) -> None:
        """The people at `who` are now with `firms`."""
        self.population.firm[who] = firms

    def _adopt_network(
        self,
        month: Month,
        pool: np.ndarray,
        lapsed: np.ndarray,
        speaking: np.ndarray,
        per_customer: float,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Network: each person's hazard is p + q × their ties' net voice. The month is
        split into sub-steps so that people adopting early in the month already speak later
        in it; a new adopter speaks with the mean voice of a customer. `pool` and `lapsed`
        are `kernels.adoption_pool`'s (one per person)."""
        a, pop = self.model.spec.acquisition, self.population
        reluctant = journeys.reluctance(lapsed, a.winback_factor)
        joined = np.zeros(pop.size, dtype=bool)
        hazard = np.full(pop.size, a.innovation_per_month)
        for sub in range(journeys.NETWORK_SUBSTEPS):
            heard = network.informed_share(self.model.ties, speaking)
            hazard = rules.adoption_hazard(a.innovation_per_month, a.imitation_per_month, heard)
            p_sub = journeys.substep_adoption(hazard, reluctant)
            u = self.model.streams.uniform(purposes.adopt_substep(sub), month.number)
            new = pool & ~joined & (u < p_sub)
            joined |= new
            speaking[new] = per_customer
        return joined, journeys.advertising_share(a.innovation_per_month, hazard)

    # ------------------------------------------------------------------ warm-up

    def replace_leavers(self, month: VectorMonth) -> None:
        """Each customer who left this month is replaced in place by a new customer of the
        same segment: fresh expectation and frailty, the state `adopt` gives a newcomer,
        source initial."""
        pop, left = self.population, month.left
        pop.expectation[left], pop.frailty[left] = newcomers(
            self.model.spec, self.model.streams, month.number, left, pop.segment[left]
        )
        self._join(left, INITIAL)

    def end_warm_up(self) -> None:
        """Revenue to date back to 0 for everyone."""
        self.population.revenue_to_date[:] = 0.0

    # ------------------------------------------------------------------ record

    def state(self, month: VectorMonth) -> dict[str, float]:
        """Means of the state of the month's customers, and of those active now."""
        pop, who = self.population, month.who
        satisfaction, effort, expectation = (
            gather(values, who, np.empty(len(who), dtype=values.dtype))
            for values in (pop.satisfaction, pop.effort, pop.expectation)
        )
        firm = -1 if month.firm is None else month.firm
        products, initial, active = kernels.holdings(
            pop.status, pop.firm, firm, pop.products, pop.source
        )
        return {
            "satisfaction_mean": mean_or_nan(satisfaction),
            "effort_mean": mean_or_nan(effort),
            "expectation_mean": mean_or_nan(expectation),
            # Whole numbers: the sum over ranges is the sum over everyone, exactly.
            "products_per_customer": products / active if active else 0.0,
            "initial_customers_active": float(initial),
        }

    # ------------------------------------------------------------------ customer log

    def met(self, month: VectorMonth) -> Met:
        """The month's interactions (its working columns, valid until the next month)."""
        return Met(month.perceived, month.satisfaction, month.problem_at)

    def state_of(self, who: np.ndarray) -> People:
        """Segment, source and cumulative satisfaction of the people at `who`, now."""
        pop = self.population
        return People(pop.segment[who], pop.source[who], pop.satisfaction[who])


def _when(touchpoint: Touchpoint) -> int:
    """When `touchpoint` happens, as `kernels.experience` codes it."""
    if touchpoint.when == "problem":
        return kernels.WAITS
    if touchpoint.when == "on_join":
        return kernels.ON_JOIN
    if touchpoint.when == "renewal":
        return kernels.AT_RENEWAL
    return kernels.AT_RANDOM if journeys.occurs_at_random(touchpoint) else kernels.EVERY_MONTH
