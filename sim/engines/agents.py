"""The agents engine: the customers' side of each month, one Mesa agent at a time.

Every person in the market is a `sim.engines.customer.Customer` in `model.agents`. For each
per-customer part of a month, `AgentCustomers` asks the customers concerned to act, in
random order (`AgentSet.shuffle_do`), then gathers what the firm's side of the month needs
(`CXModel` shares it with the vector engine): the contacts the desk must serve, the survey
answers, the churn risks to score, the decisions to book, the voices that inform the market.
Gathering walks the agents in market-index order, so sums come out the same whatever order
the agents acted in; it is the honest cost of one object per person.

Where state lives: in the agents, as plain attributes. `Population.initial` draws the
market at month 0 (so both engines start from the same people) and is then dropped;
`model.population` is None with this engine.

Random numbers: `MonthDraws` draws each purpose's numbers for the whole market once a month;
each customer reads its own element — the number the vector engine gives the same person.

Social networks: the graph becomes a Mesa `discrete_space.Network` (`model.space`) with
each customer fixed in its node's cell; on it, word of mouth runs in sub-steps of two
stages (every prospect `listen`s to the agents of the neighbouring cells, then each
`consider_adopting`), so no one hears a neighbour who adopted in the same sub-step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from mesa.agentset import AgentSet
from mesa.discrete_space import Network

from sim import purposes
from sim.choices import AGENTS_ENGINE_MAX_PEOPLE as AGENTS_ENGINE_MAX_PEOPLE
from sim.customers import journeys, surveys
from sim.customers.journeys import NETWORK_SUBSTEPS, ContactOutcome
from sim.customers.population import (
    ACTIVE,
    INITIAL,
    LAPSED,
    PROSPECT,
    Population,
    newcomers,
)
from sim.engines.contract import Contacts, Decisions, Leaving, Met, Month, People
from sim.engines.customer import Customer, Step
from sim.stats import mean_or_nan
from sim.streams import Streams

if TYPE_CHECKING:
    from sim.model import CXModel


class MonthDraws:
    """The month's random numbers for the agents engine: per purpose, one number per person,
    drawn on first use and kept for the month. Person i reads element i — the number the
    vector engine gives person i for the same purpose and month."""

    def __init__(self, streams: Streams, month: int) -> None:
        self.streams, self.month = streams, month
        self._uniform: dict[str, list[float]] = {}
        self._normal: dict[str, list[float]] = {}

    def uniform(self, purpose: str) -> list[float]:
        """U(0,1) of every person for `purpose` this month."""
        values = self._uniform.get(purpose)
        if values is None:
            values = self._uniform[purpose] = self.streams.uniform(purpose, self.month).tolist()
        return values

    def normal(self, purpose: str) -> list[float]:
        """N(0,1) of every person for `purpose` this month."""
        values = self._normal.get(purpose)
        if values is None:
            values = self._normal[purpose] = self.streams.normal(purpose, self.month).tolist()
        return values


@dataclass(kw_only=True)
class AgentsMonth(Month):
    """The month of the agents engine: the shared `Month` and whom it concerns."""

    customers: list[Customer]
    """The customers active at the start of the month, in market order (``start_month``)."""
    customer_set: AgentSet
    """The same customers as a Mesa `AgentSet`, to step them in random order."""
    contacting: list[Customer] = field(default_factory=list)
    """The customers who contacted support, in market order (``support.serve``)."""


class AgentCustomers:
    """The market as Mesa agents: asks them to act, phase by phase, and gathers the results.

    Args:
        model: the `CXModel`.
        population: the market at month 0 (each person becomes a `Customer`).
        history: whether customers keep their journey history.
    """

    def __init__(self, model: CXModel, population: Population, history: bool = True) -> None:
        self.model = model
        self.journey, self.support_steps = _journey_steps(model)
        self.rating_purposes = [purposes.survey_rating(t) for t in model.touchpoints]
        problem = [model.spec.touchpoints[t].when == "problem" for t in model.touchpoints]
        self.routine = [k for k, is_support in enumerate(problem) if not is_support]
        self.support = [k for k, is_support in enumerate(problem) if is_support]
        self.voice_per_customer = 1.0
        self.space: Network | None = None
        """The social network, Mesa's way (None under complete mixing)."""
        if model.graph is not None:
            self.space = Network(model.graph, capacity=1, random=model.random, layout=None)
        p, space = population, self.space
        self.people: list[Customer] = [
            Customer(
                model,
                i,
                *state,
                history=history,
                cell=space[i] if space is not None else None,
            )
            for i, state in enumerate(
                zip(
                    p.segment.tolist(),
                    p.status.tolist(),
                    p.tenure.tolist(),
                    p.expectation.tolist(),
                    p.satisfaction.tolist(),
                    p.effort.tolist(),
                    p.products.tolist(),
                    p.frailty.tolist(),
                    p.firm.tolist(),
                    strict=True,
                )
            )
        ]
        """Everyone in the market, by market index."""

    def _shuffle_do(self, people: list[Customer], method: str, *args: object) -> None:
        AgentSet(people, random=self.model.random).shuffle_do(method, *args)

    def start_month(self, number: int, firm: int | None = None) -> AgentsMonth:
        """Draws of the new month, and its customers (those active at its start; of `firm`
        only, when given)."""
        draws = self.model.draws
        if draws is None or draws.month != number:
            self.model.draws = MonthDraws(self.model.streams, number)
        customers = [
            p for p in self.people if p.status == ACTIVE and (firm is None or p.firm == firm)
        ]
        who = np.array([p.index for p in customers], dtype=np.int64)
        customer_set = AgentSet(customers, random=self.model.random)
        return AgentsMonth(number, who, firm, customers=customers, customer_set=customer_set)

    def acquisition_month(self, number: int, left: np.ndarray) -> AgentsMonth:
        """The market's month for acquisition: no customers of its own (the leavers know
        the month they left in, `Customer.lapsed_in`)."""
        none = np.zeros(0, dtype=np.int64)
        return AgentsMonth(
            number, none, customers=[], customer_set=AgentSet([], random=self.model.random)
        )

    # ------------------------------------------------------------------ journeys.experience

    def experience(self, month: AgentsMonth) -> None:
        """Every customer meets the touchpoints due this month; the month sums each
        touchpoint's interactions."""
        month.customer_set.shuffle_do("experience")
        month.problems = sum(p.had_problem for p in month.customers)
        for k, batch in self._interactions(month.customers, self.routine).items():
            if batch:
                self._record(month, k, batch)
                if self.model.spec.touchpoints[self.model.touchpoints[k]].staffed:
                    month.staffed_interactions += float(len(batch))

    def _interactions(
        self, people: list[Customer], ks: list[int]
    ) -> dict[int, list[tuple[Customer, float, float, bool]]]:
        """This month's interactions of `people` (in market order) at touchpoints `ks`."""
        batches: dict[int, list[tuple[Customer, float, float, bool]]] = {k: [] for k in ks}
        for person in people:
            for k, perceived, satisfaction, problem in person.met:
                if k in batches:
                    batches[k].append((person, perceived, satisfaction, problem))
        return batches

    def _record(
        self, month: AgentsMonth, k: int, batch: list[tuple[Customer, float, float, bool]]
    ) -> None:
        """Add a touchpoint's interactions to the month's sums."""
        _, perceived, satisfaction, problem = zip(*batch, strict=True) if batch else ((),) * 4
        month.touchpoints.add_batch(
            self.model.touchpoints[k],
            np.array(perceived, dtype=np.float64),
            np.array(satisfaction, dtype=np.float64),
            np.array(problem, dtype=bool),
        )

    # ------------------------------------------------------------------ support.serve

    def contact_support(self, month: AgentsMonth) -> tuple[np.ndarray, np.ndarray]:
        """Customers with a problem decide whether to contact support; returns their market
        indices and the problems they report per touchpoint."""
        month.customer_set.shuffle_do("consider_contacting")
        month.contacting = [p for p in month.customers if p.contacting]
        reported = np.zeros(len(self.model.touchpoints), dtype=np.int64)
        for person in month.contacting:
            for k, *_, problem in person.met:
                reported[k] += problem
        return np.array([p.index for p in month.contacting], dtype=np.int64), reported

    def experience_support(self, month: AgentsMonth, contacts: Contacts) -> None:
        """Each caller learns what the desk made of their contact, then experiences it."""
        quality = np.broadcast_to(contacts.quality_shift, contacts.people.shape)
        effort = np.broadcast_to(contacts.effort_shift, contacts.people.shape)
        by_phone = contacts.by_phone
        for j, person in enumerate(month.contacting):
            person.contact = ContactOutcome(
                float(contacts.felt_wait_minutes[j]),
                bool(contacts.unresolved[j]),
                bool(contacts.abandoned[j]),
                bool(contacts.recovered[j]),
                float(quality[j]),
                float(effort[j]),
                True if by_phone is None else bool(by_phone[j]),
            )
        self._shuffle_do(month.contacting, "experience_support")
        for k, batch in self._interactions(month.contacting, self.support).items():
            self._record(month, k, batch)  # every support touchpoint, once the desk has served
            staffed = self.model.spec.touchpoints[self.model.touchpoints[k]].staffed
            if staffed and journeys.front_line_answers_support(self.model.spec.support):
                # Staff answer the phone contacts that did not hang up, and the repeat of
                # each unresolved one.
                contacts = [person.contact for person, *_ in batch if person.contact.by_phone]
                answered = sum(not c.abandoned for c in contacts)
                month.staffed_interactions += float(answered + sum(c.unresolved for c in contacts))

    # ------------------------------------------------------------------ customers.evaluate

    def evaluate(self, month: AgentsMonth, trust_shock: float) -> None:
        """Customers fold the month into their memory."""
        month.customer_set.shuffle_do("evaluate", trust_shock)
        month.experiencing = sum(bool(p.met) for p in month.customers)

    def drift(self, drift: float) -> None:
        """Everyone's expectations drift."""
        self.model.agents_by_type[Customer].shuffle_do("drift", drift)

    # ------------------------------------------------------------------ customers.answer

    def answer(self, month: AgentsMonth) -> tuple[surveys.SurveyWave, np.ndarray]:
        """The survey's conditions (from everyone asked), everyone's answers, the wave, and
        each respondent's touchpoint ratings (one row per respondent)."""
        model, people = self.model, month.customers
        survey_rules = model.spec.behaviour.surveys
        if not people:
            empty = surveys.Answers(*[np.zeros(0)] * len(surveys.Answers._fields))
            return surveys.measure_wave(empty), np.zeros((0, len(model.touchpoints)))
        asked = surveys.conditions(
            survey_rules,
            np.array([p.satisfaction for p in people]),
            model.firm.level("measurement"),
            model.spec.firm.reference_level,
        )
        month.customer_set.shuffle_do("answer", asked)
        answers = surveys.Answers._make(
            np.array(column) for column in zip(*(p.answers for p in people), strict=True)
        )
        ratings = [p.ratings for p in people if p.ratings is not None]
        return surveys.measure_wave(answers), np.array(ratings).reshape(-1, len(model.touchpoints))

    def take_call_backs(self, month: AgentsMonth, detractors: np.ndarray, chance: float) -> None:
        """The detractors the firm calls back take the call."""
        self._shuffle_do([self.people[i] for i in detractors], "take_call_back", chance)

    # ------------------------------------------------------------------ customers.decide

    def consider_leaving(self, month: AgentsMonth) -> Leaving:
        """Each customer's churn risk, intent to leave and renewal (`Month.who` order)."""
        month.customer_set.shuffle_do("consider_leaving")
        people = month.customers
        return Leaving(
            np.array([p.risk for p in people], dtype=np.float64),
            np.array([p.would_leave for p in people], dtype=bool),
            np.array([p.renewal for p in people], dtype=bool),
            np.array([p.hazard_struck for p in people], dtype=bool),
        )

    def decide(self, month: AgentsMonth, flagged: np.ndarray | None) -> Decisions:
        """The firm's flags reach the customers; each decides; the decisions are gathered."""
        people = month.customers
        if flagged is not None:
            for person, flag in zip(people, flagged.tolist(), strict=True):
                person.flagged = flag
        month.customer_set.shuffle_do("decide")
        stayers = [p for p in people if p.status == ACTIVE]
        return Decisions(
            segment=np.array([p.segment for p in people], dtype=np.int64),
            left=np.array([p.status == LAPSED for p in people], dtype=bool),
            kept=np.array([p.kept for p in people], dtype=bool),
            repeat=np.array([p.repeat for p in stayers], dtype=bool),
            upsell=np.array([p.upsell for p in stayers], dtype=bool),
            revenue=np.array([p.revenue for p in stayers], dtype=np.float64),
            satisfaction=np.array([p.satisfaction for p in stayers], dtype=np.float64),
        )

    # ------------------------------------------------------------------ market.acquire

    def speak(self, month: AgentsMonth) -> np.ndarray:
        """Every active customer's word of mouth (market order)."""
        speakers = [p for p in self.people if p.status == ACTIVE]
        self._shuffle_do(speakers, "speak")
        month.speakers = np.array([p.index for p in speakers], dtype=np.int64)
        return np.array([p.voice for p in speakers], dtype=np.float64)

    def prospects(self) -> int:
        """Number of prospects in the market."""
        return sum(p.status == PROSPECT for p in self.people)

    def adopt(
        self, month: AgentsMonth, chance: float | None, ads_share: float | None, per_customer: float
    ) -> None:
        """Prospects and lapsed customers (not those who left this month) consider adopting —
        with the month's `chance` under complete mixing, or hearing their ties in sub-steps
        on a network (`chance` None) — and those who adopt join."""
        pool = [p for p in self.people if p.status != ACTIVE and p.lapsed_in != month.number]
        for person in pool:
            person.joined = False
        if chance is not None:
            self._shuffle_do(pool, "consider_adopting", chance)
        else:
            self.voice_per_customer = per_customer
            pool_set = AgentSet(pool, random=self.model.random)
            for sub in range(NETWORK_SUBSTEPS):
                pool_set.shuffle_do("listen")
                pool_set.shuffle_do("consider_adopting", None, sub)
        joiners = [p for p in pool if p.joined]
        month.joined = np.array([p.index for p in joiners], dtype=np.int64)
        self._shuffle_do(joiners, "join", ads_share)

    def switch(self, people: np.ndarray, firms: np.ndarray) -> None:
        """Leavers of this month join other firms at once."""
        for i, firm in zip(people.tolist(), firms.tolist(), strict=True):
            self.people[i].switch(firm)

    def firms_of(self, who: np.ndarray) -> np.ndarray:
        """The firm of each person at `who`."""
        return np.array([self.people[i].firm for i in who.tolist()], dtype=np.int8)

    def set_firms(self, who: np.ndarray, firms: np.ndarray) -> None:
        """The people at `who` are now with `firms`."""
        for i, firm in zip(who.tolist(), firms.tolist(), strict=True):
            self.people[i].firm = firm

    # ------------------------------------------------------------------ warm-up

    def replace_leavers(self, month: AgentsMonth) -> None:
        """Each customer who left this month makes way for a new customer of the same
        segment, in the same place (market order; their draws are the vector engine's)."""
        leavers = [p for p in month.customers if p.status == LAPSED]
        who = np.array([p.index for p in leavers], dtype=np.int64)
        segment = np.array([p.segment for p in leavers], dtype=np.int64)
        model = self.model
        expectation, frailty = newcomers(model.spec, model.streams, month.number, who, segment)
        for person, e, f in zip(leavers, expectation.tolist(), frailty.tolist(), strict=True):
            person.be_replaced(e, f)

    def end_warm_up(self) -> None:
        """Revenue to date back to 0 and journey histories emptied, for everyone."""
        for person in self.people:
            person.forget_warm_up()

    # ------------------------------------------------------------------ record

    def state(self, month: AgentsMonth) -> dict[str, float]:
        """Means of the state of the month's customers, and of those active now."""
        people = month.customers
        active = [
            p
            for p in self.people
            if p.status == ACTIVE and (month.firm is None or p.firm == month.firm)
        ]
        return {
            "satisfaction_mean": mean_or_nan([p.satisfaction for p in people]),
            "effort_mean": mean_or_nan([p.effort for p in people]),
            "expectation_mean": mean_or_nan([p.expectation for p in people]),
            "products_per_customer": mean_or_nan([p.products for p in active]) if active else 0.0,
            "initial_customers_active": float(sum(p.source == INITIAL for p in active)),
        }

    # ------------------------------------------------------------------ customer log

    def met(self, month: AgentsMonth) -> Met:
        """The month's interactions gathered from the customers, one row each."""
        shape = (len(month.customers), len(self.model.touchpoints))
        perceived = np.full(shape, np.nan, dtype=np.float32)
        satisfaction = np.full(shape, np.nan, dtype=np.float32)
        problem = np.zeros(shape, dtype=bool)
        for row, person in enumerate(month.customers):
            for k, p, s, arose in person.met:
                perceived[row, k], satisfaction[row, k], problem[row, k] = p, s, arose
        return Met(perceived, satisfaction, problem)

    def state_of(self, who: np.ndarray) -> People:
        """Segment, source and cumulative satisfaction of the people at `who`, now."""
        people = [self.people[i] for i in who.tolist()]
        return People(
            np.array([p.segment for p in people], dtype=np.int64),
            np.array([p.source for p in people], dtype=np.int64),
            np.array([p.satisfaction for p in people], dtype=np.float64),
        )


def _journey_steps(model: CXModel) -> tuple[list[list[Step]], list[list[Step]]]:
    """Each segment's journey (touchpoints in stage order) and its support touchpoints."""
    journey: list[list[Step]] = []
    support: list[list[Step]] = []
    for seg in range(len(model.spec.market.segments)):
        steps = [
            Step(
                k,
                name,
                model.spec.touchpoints[name],
                model.spec.touchpoints[name].effort,
                journeys.occurs_at_random(model.spec.touchpoints[name]),
                purposes.touchpoint_occurs(name),
                purposes.touchpoint_noise(name),
                purposes.touchpoint_problem(name),
            )
            for k, name in enumerate(model.touchpoints)
            if model.in_journey[seg, k]
        ]
        journey.append([s for s in steps if s.settings.when != "problem"])
        support.append([s for s in steps if s.settings.when == "problem"])
    return journey, support
