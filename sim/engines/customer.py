"""Customer: one person of the market as a Mesa agent, meeting the firm one touchpoint at a time.

A `Customer` is a `mesa.Agent` (fixed in its node's cell when the market has a social
network) for every person in the market — prospect, customer or lapsed customer. It holds
its state as plain attributes (status, segment, tenure, expectation, satisfaction, effort,
products, revenue to date, source, frailty) and its journey history. Its methods are the
per-customer parts of a month, which the agents engine (`sim.engines.agents`) calls in random
order: `experience`, `consider_contacting`, `experience_support`, `evaluate`, `answer`,
`take_call_back`, `consider_leaving`, `decide`, `speak`, `listen`, `consider_adopting`,
`join` (and, before month 1, the warm-up's `be_replaced`). Each applies the mechanisms of
`sim.customers.journeys` and the rules of `sim.customers.rules` to the customer's own
numbers, and reads the customer's own random numbers (`model.draws`), so a customer's month
is the vector engine's for the same person.

For teaching: `model.customer(i)` is person i; `history` lists every interaction
(`Interaction`: month, touchpoint, perceived quality, transaction satisfaction, effort) and
`months` the state at each month's end (`MonthEnd`); `journey()` and `timeline()` give them
as tables.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

import pandas as pd
from mesa.discrete_space import Cell, FixedAgent

from sim import purposes
from sim.customers import journeys, rules, surveys
from sim.customers.journeys import NETWORK_SUBSTEPS, ContactOutcome
from sim.customers.population import ACTIVE, INITIAL, LAPSED, SWITCHED
from sim.scenario import Touchpoint

if TYPE_CHECKING:
    from sim.model import CXModel

STATUS = ("prospect", "active", "lapsed")
"""Names of the values of `Customer.status` (`sim.customers.population.PROSPECT`, `ACTIVE`,
`LAPSED`)."""

SOURCE = ("initial", "advertising", "word_of_mouth", "winback", "switched")
"""Names of the values of `Customer.source`."""

ADOPT_PURPOSES = tuple(purposes.adopt_substep(sub) for sub in range(NETWORK_SUBSTEPS))


class Interaction(NamedTuple):
    """One interaction of a customer's journey (quality, satisfaction and effort 0–1)."""

    month: int
    touchpoint: str
    perceived_quality: float
    satisfaction: float
    effort: float


class MonthEnd(NamedTuple):
    """A customer's state at the end of a month they began as a customer."""

    month: int
    status: str
    episode: float
    """Remembered satisfaction of the month's interactions (peak-end), NaN without any."""
    satisfaction: float
    effort: float
    expectation: float
    revenue: float
    """Revenue paid this month, currency."""


class Step(NamedTuple):
    """A touchpoint of a segment's journey, with the names of its random streams."""

    k: int
    """Position in the model's touchpoint order (stage order)."""
    name: str
    settings: Touchpoint
    effort: float
    at_random: bool
    """Whether it happens by a monthly draw (`journeys.occurs_at_random`)."""
    occurs: str
    noise: str
    problem: str


class Customer(FixedAgent):
    """A person of the market — prospect, customer or lapsed customer — who meets the firm
    one touchpoint at a time.

    Args:
        model: the `CXModel`.
        index: the person's place in the market (fixed; it picks their random numbers).
        segment: index of their segment in `scenario.market.segments`.
        status, tenure, expectation, satisfaction, effort, products, frailty: initial state.
        firm: the firm they are with (or were last with; `NO_FIRM` if none).
        history: whether to keep the journey history.
        cell: their node's cell when the market has a social network.
    """

    def __init__(
        self,
        model: CXModel,
        index: int,
        segment: int,
        status: int,
        tenure: int,
        expectation: float,
        satisfaction: float,
        effort: float,
        products: int,
        frailty: float,
        firm: int = 0,
        history: bool = True,
        cell: Cell | None = None,
    ) -> None:
        super().__init__(model)
        self.index = index
        self.segment = segment
        self.profile = model.spec.market.segments[segment]
        self.status = status
        self.tenure = tenure
        self.expectation = expectation
        self.satisfaction = satisfaction
        self.effort = effort
        self.products = products
        self.revenue_to_date = 0.0
        self.source = INITIAL
        self.frailty = frailty
        self.firm = firm
        """The firm I am with, or was last with (`sim.customers.population.NO_FIRM` if
        none)."""
        self.history: list[Interaction] | None = [] if history else None
        self.months: list[MonthEnd] | None = [] if history else None
        self.voice = 0.0
        self.lapsed_in = 0  # month of the last departure
        self.met: list[tuple[int, float, float, bool]] = []
        """This month's interactions: (touchpoint position, perceived quality, transaction
        satisfaction, whether a problem arose)."""
        self.effort_sum, self.interactions = 0.0, 0
        self.service_effort = math.nan
        """Effort of this month's service episode (NaN without one)."""
        self.contact: ContactOutcome | None = None
        """What the support desk made of this month's contact (None without one)."""
        self.episode = self.month_effort = math.nan
        """The month's remembered satisfaction and felt effort (NaN without interactions)."""
        self.contacting = False
        """Whether I contact support this month."""
        self.answers: surveys.Answers | None = None
        """My survey answers this month."""
        self.ratings: list[float] | None = None
        """My rating of each touchpoint this month (0–1, NaN where not met; None unless I
        answered the survey)."""
        self.renewal = False
        """Whether my contract is due for renewal this month."""
        self.risk = 0.0
        """My probability of leaving this month."""
        self.would_leave = False
        """Whether I mean to leave this month (before any intervention)."""
        self.hazard_struck = False
        """Whether the churn hazard alone would take me away this month."""
        self.flagged = False
        """Whether the firm flagged me as a churn risk this month."""
        self.kept = False
        """Whether an intervention kept me although I meant to leave."""
        self.repeat = self.upsell = False
        """Whether I made a repeat purchase and took one more product this month."""
        self.revenue = 0.0
        """What I paid this month, currency."""
        self.hazard = 0.0
        """My adoption hazard this sub-step, per month (on a network)."""
        self.joined = False
        """Whether I adopted this month."""
        if cell is not None:
            self.cell = cell

    # ------------------------------------------------------------------ journeys.experience

    def experience(self) -> None:
        """Meet the touchpoints of the journey due this month, in stage order: perceive the
        quality delivered (plus fit and noise, less a problem's drop) and judge it against
        what I expected."""
        model, i = self.model, self.index
        plan, draws = model.plan, model.draws
        self.met = []
        self.effort_sum, self.interactions = 0.0, 0
        self.service_effort = math.nan
        self.contact = None
        renewal = journeys.renewing(self.profile.contract_months, self.tenure)
        drop = model.spec.support.problem_quality_drop
        for step in model.customers.journey[self.segment]:
            occurs = draws.uniform(step.occurs)[i] if step.at_random else None
            if not journeys.is_due(step.settings, self.tenure, renewal, occurs):
                continue
            k = step.k
            problem = draws.uniform(step.problem)[i] < plan.problem_probability[k]
            raw = journeys.touchpoint_quality(
                plan.quality[k],
                plan.fit_gain[k],
                plan.spread[k],
                draws.normal(step.noise)[i],
                problem,
                drop,
            )
            self._meet(step, raw, step.effort, problem)

    def _meet(self, step: Step, raw_quality: float, effort: float, problem: bool) -> None:
        satisfaction_rules = self.model.spec.behaviour.satisfaction
        perceived, satisfaction = journeys.interaction(
            raw_quality,
            self.expectation,
            self.profile.tolerance,
            satisfaction_rules.disconfirmation_weight,
            satisfaction_rules.loss_aversion,
        )
        perceived, satisfaction, effort = float(perceived), float(satisfaction), float(effort)
        self.met.append((step.k, perceived, satisfaction, bool(problem)))
        self.effort_sum += effort
        self.interactions += 1
        if self.history is not None:
            self.history.append(
                Interaction(self.model.month, step.name, perceived, satisfaction, effort)
            )

    @property
    def had_problem(self) -> bool:
        """Whether an interaction this month created a problem."""
        return any(problem for *_, problem in self.met)

    # ------------------------------------------------------------------ support.serve

    def consider_contacting(self) -> None:
        """With a problem this month, contact support (if my journey has it) by my segment's
        propensity."""
        self.contacting = (
            self.had_problem
            and bool(self.model.customers.support_steps[self.segment])
            and self.model.draws.uniform(purposes.SUPPORT_CONTACT)[self.index]
            < self.profile.support_propensity
        )

    def experience_support(self) -> None:
        """Meet the support touchpoints of my journey as the desk served me (`contact`)."""
        model, i = self.model, self.index
        plan, desk = model.plan, model.spec.support
        recovery_effect = model.spec.firm.maturity.recovery_effect
        for step in model.customers.support_steps[self.segment]:
            k = step.k
            noise = model.draws.normal(step.noise)[i]
            raw = journeys.contact_quality(
                plan.quality[k], plan.spread[k], noise, self.contact, desk, recovery_effect
            )
            effort = float(journeys.contact_effort(step.effort, self.contact, desk))
            if not effort <= self.service_effort:  # the hardest of the month's contacts
                self.service_effort = effort
            self._meet(step, raw, effort, False)

    # ------------------------------------------------------------------ customers.evaluate

    def evaluate(self, trust_shock: float) -> None:
        """As a customer, remember the month (peak-end), fold it into my satisfaction
        (anchoring, less a privacy incident's `trust_shock`), my effort and my
        expectation."""
        self._remember(trust_shock)

    def drift(self, drift: float) -> None:
        """As anyone, expect more as the market's standard rises by `drift`."""
        self.expectation = min(max(self.expectation + drift, 0.0), 1.0)

    def _remember(self, trust_shock: float) -> None:
        s = self.model.spec.behaviour.satisfaction
        met = sorted(self.met)  # in stage order, support contacts in their place
        episode = math.nan
        if met:
            moments = [m[2] for m in met]
            episode = float(rules.peak_end(moments, self.satisfaction, s.peak_end_weight)[0])
        month_effort = journeys.month_effort(self.effort_sum, self.interactions)
        self.month_effort = float(journeys.felt_effort(month_effort, self.service_effort))
        mean_perceived = sum(m[1] for m in met) / len(met) if met else math.nan
        prior = journeys.Memory(self.satisfaction, self.effort, self.expectation)
        memory = journeys.remember(
            s,
            self.tenure,
            prior,
            episode,
            self.month_effort,
            self.service_effort,
            mean_perceived,
            trust_shock,
        )
        self.satisfaction, self.effort, self.expectation = (float(x) for x in memory)
        self.episode = episode

    # ------------------------------------------------------------------ customers.answer

    def answer(self, asked: surveys.Conditions) -> None:
        """Perhaps answer the month's survey (`answers`) and, if so, rate each touchpoint I
        met (`ratings`, NaN for the others)."""
        model, i, draws = self.model, self.index, self.model.draws
        survey_rules = model.spec.behaviour.surveys
        answered = surveys.responds(
            asked,
            self.satisfaction,
            self.profile.survey_response,
            draws.uniform(purposes.SURVEY_RESPOND)[i],
        )
        self.answers = surveys.answer(
            survey_rules,
            answered,
            self.satisfaction,
            self.episode,
            self.month_effort,
            *(draws.normal(purposes.survey_answer(name))[i] for name in surveys.ANSWER_NOISE),
        )
        self.ratings = None
        if self.answers.answered:
            moments = {k: satisfaction for k, _, satisfaction, _ in self.met}
            self.ratings = [
                float(
                    surveys.touchpoint_rating(
                        moments[k], draws.normal(purpose)[i], survey_rules.csat_answer_sd
                    )
                )
                if k in moments
                else math.nan
                for k, purpose in enumerate(model.customers.rating_purposes)
            ]

    def take_call_back(self, chance: float) -> None:
        """A detractor the firm calls back: a call that succeeds (by `chance`) recovers
        some of my satisfaction."""
        if self.model.draws.uniform(purposes.SURVEY_CLOSE_LOOP)[self.index] < chance:
            effect = self.model.spec.firm.maturity.close_loop_effect
            self.satisfaction = float(journeys.lifted(self.satisfaction, effect))

    # ------------------------------------------------------------------ customers.decide

    def consider_leaving(self) -> None:
        """Weigh leaving: the churn hazard of my satisfaction and effort, and whether to
        renew a contract that is due; `risk` is the probability, `would_leave` the intent."""
        model, i, draws = self.model, self.index, self.model.draws
        churn = model.spec.behaviour.churn
        p_churn = float(
            journeys.churn_chance(
                churn,
                self.profile.churn_per_month,
                self.satisfaction,
                self.effort,
                model.firm.trust_shock,
                journeys.priced(self.frailty, journeys.price_hazard_factor(model.spec)),
            )
        )
        self.renewal = bool(journeys.renewing(self.profile.contract_months, self.tenure))
        p_leave = float(journeys.renewal_leave_chance(churn, self.satisfaction))
        u_hazard = draws.uniform(purposes.CHURN_HAZARD)[i]
        risk, would_leave = journeys.leaving(
            p_churn,
            self.renewal,
            p_leave,
            u_hazard,
            draws.uniform(purposes.CHURN_RENEWAL)[i],
        )
        self.would_leave, self.risk = bool(would_leave), float(risk)
        self.hazard_struck = u_hazard < p_churn
        self.flagged = False

    def decide(self) -> None:
        """If the firm flagged me, its intervention may work (lifting my satisfaction and
        keeping me if I meant to leave); then leave, or stay, buy and pay."""
        model, i, draws = self.model, self.index, self.model.draws
        settings = model.spec.firm.maturity
        self.kept = False
        u_success = draws.uniform(purposes.PREDICT_SUCCESS)[i]
        if journeys.intervention_succeeds(self.flagged, u_success, settings.intervention_success):
            gain = settings.intervention_satisfaction_gain
            self.satisfaction = float(journeys.lifted(self.satisfaction, gain))
            self.kept = self.would_leave
        self.revenue = 0.0
        if self.would_leave and not self.kept:
            self.status, self.products, self.voice = LAPSED, 0, 0.0
            self.lapsed_in = model.month
        else:
            self._buy_and_pay()
        if self.months is not None:
            self.months.append(
                MonthEnd(
                    model.month,
                    STATUS[self.status],
                    self.episode,
                    self.satisfaction,
                    self.effort,
                    self.expectation,
                    self.revenue,
                )
            )

    def _buy_and_pay(self) -> None:
        model, i, draws = self.model, self.index, self.model.draws
        b = model.spec.behaviour
        repeat, upsell = journeys.purchases(
            b.purchase,
            b.churn.reference_satisfaction,
            self.satisfaction,
            self.products,
            draws.uniform(purposes.PURCHASE_REPEAT)[i],
            draws.uniform(purposes.PURCHASE_UPSELL)[i],
        )
        self.repeat, self.upsell = bool(repeat), bool(upsell)
        self.products += int(self.upsell)
        self.revenue = float(
            journeys.month_revenue(
                self.profile.revenue_per_month,
                self.products,
                self.repeat,
                self.profile.repeat_purchase_value,
                b.purchase.extra_product_revenue_share,
                model.spec.firm.price,
            )
        )
        self.revenue_to_date += self.revenue
        self.tenure += 1

    # ------------------------------------------------------------------ market.acquire

    def speak(self) -> None:
        """As a customer, speak for (or against) the firm: my word of mouth this month."""
        a = self.model.spec.acquisition
        sd = self.model.spec.behaviour.surveys.nps_answer_sd
        self.voice = float(
            journeys.voice(self.satisfaction, a.word_of_mouth, sd, a.detractor_weight)
        )

    def listen(self) -> None:
        """Hear my ties (the agents in the neighbouring cells): my adoption hazard follows
        their mean net voice (0 without ties), below p when they warn against the firm."""
        voices = [neighbour.voice for neighbour in self.cell.neighborhood.agents]
        heard = sum(voices) / len(voices) if voices else 0.0
        a = self.model.spec.acquisition
        self.hazard = float(
            rules.adoption_hazard(a.innovation_per_month, a.imitation_per_month, heard)
        )

    def consider_adopting(self, chance: float | None = None, sub: int = 0) -> None:
        """Perhaps adopt (`joined`): with the month's `chance` under complete mixing, or, on
        a network, in sub-step `sub` by my hazard — then speak like an average customer.
        A lapsed customer needs more persuading."""
        if self.joined:
            return
        a = self.model.spec.acquisition
        reluctant = journeys.reluctance(self.status == LAPSED, a.winback_factor)
        if chance is not None:
            u = self.model.draws.uniform(purposes.ACQUIRE_ADOPT)[self.index]
            self.joined = bool(journeys.adopts(u, chance, reluctant))
            return
        p_sub = journeys.substep_adoption(self.hazard, reluctant)
        if self.model.draws.uniform(ADOPT_PURPOSES[sub])[self.index] < p_sub:
            self.joined = True
            self.voice = self.model.customers.voice_per_customer

    def join(self, ads_share: float | None) -> None:
        """Become a customer (again): new tenure, one product, satisfaction at what I
        expect; attributed to advertising or word of mouth in proportion to the hazards."""
        a = self.model.spec.acquisition
        if ads_share is None:  # on a network: my own hazard's advertising share
            ads_share = journeys.advertising_share(a.innovation_per_month, self.hazard)
        u_source = self.model.draws.uniform(purposes.ACQUIRE_SOURCE)[self.index]
        self._start(int(journeys.adoption_source(self.status == LAPSED, u_source, ads_share)))

    def switch(self, firm: int) -> None:
        """I left my firm this month and join `firm` at once, as anyone joins."""
        self._start(SWITCHED)
        self.firm = firm

    def _start(self, source: int) -> None:
        """Become a customer, won by `source`: new tenure, one product, satisfaction at what
        I expect, remembered effort at the reference."""
        self.source = source
        self.status, self.tenure, self.products = ACTIVE, 0, 1
        self.satisfaction = self.expectation
        self.effort = self.model.spec.behaviour.churn.reference_effort

    # ------------------------------------------------------------------ warm-up

    def be_replaced(self, expectation: float, frailty: float) -> None:
        """I left in a warm-up month: a new customer of my segment takes my place, with
        their own `expectation` and churn `frailty`, and starts as `join` starts anyone
        (source initial: the warm-up builds the customers of month 1)."""
        self.expectation, self.frailty = expectation, frailty
        self._start(INITIAL)
        self.revenue_to_date, self.voice, self.lapsed_in = 0.0, 0.0, 0

    def forget_warm_up(self) -> None:
        """Month 1 starts a fresh record: no revenue to date, no journey history."""
        self.revenue_to_date = 0.0
        if self.history is not None:
            self.history.clear()
        if self.months is not None:
            self.months.clear()

    # ------------------------------------------------------------------ teaching

    def journey(self) -> pd.DataFrame:
        """My interactions, one row each: month, touchpoint, perceived quality,
        satisfaction, effort."""
        return pd.DataFrame(self.history or [], columns=Interaction._fields)

    def timeline(self) -> pd.DataFrame:
        """My state at the end of each month I began as a customer."""
        return pd.DataFrame(self.months or [], columns=MonthEnd._fields)

    def __repr__(self) -> str:
        return (
            f"Customer({self.index}, {self.profile.name}, {STATUS[self.status]}, "
            f"{SOURCE[self.source]}, tenure {self.tenure}, satisfaction {self.satisfaction:.3f})"
        )
