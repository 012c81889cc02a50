"""CXModel: one run of a scenario — a market of customers travelling journeys, month by month.

`CXModel` is a `mesa.Model`. One `step()` is one month, in named phases:

    firm.plan → journeys.experience → support.serve → customers.evaluate
    → customers.answer → customers.decide → market.acquire → firm.learn → record

`CXModel` orchestrates: each phase draws the month's firm-side random numbers and calls, in
order, the firm (`sim.firm.delivery`: delivery, investment, workforce, maturity, privacy), its
practices (`sim.firm.practices`: recovery, closing the loop, churn scoring and interventions,
reviews), the support desk (`sim.support.desk`), the market's Bass month, the cost lines
(`sim.firm.economics`) and the recorder. The customers' side is an engine's, through the
`sim.engines.contract.CustomerEngine` protocol and the month's declared state
(`sim.engines.contract.Month`):

- ``vector`` (`sim.engines.vector.VectorCustomers`): the population is a structure of arrays and
  each per-customer part is one numpy operation over all customers — for sweeps with millions;
- ``agents`` (`sim.engines.agents.AgentCustomers`): each person is a `mesa.Agent` in `model.agents`,
  stepped in random order with `shuffle_do` — for teaching (`model.customer(i)` shows one
  customer's journey), for extending the model the Mesa way, and as the reference the vector
  engine is checked and timed against.

Both apply the same mechanisms (`sim.customers.journeys`) and rules (`sim.customers.rules`) and
read the same random number for the same person and purpose (`sim.streams`), so they agree customer
by customer up to float32 rounding. Phase order is safe because each phase reads only what
earlier phases of the same month wrote: experiences are formed against last month's
expectations, evaluation folds them into memory, surveys and decisions use the updated
memory, people acquired this month start their journey next month, and what the firm learns
this month changes what it delivers from next month on.

Before month 1, a scenario may let the market run `market.warm_up_months` months of the
customers' phases, each leaver replaced by a new customer of their segment, so that month 1
starts from customers who have lived with the firm for a while (`CXModel._warm_up`); those
months are neither recorded nor counted.

Where a month's time goes: a model built with ``profile=True`` adds up the wall time of each
phase of `PHASES` (and of the engine's month start and the support desk) in
`CXModel.phase_times`; `cxm bench` reports the shares. Without it the model runs exactly the
code it runs otherwise, at no cost.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import mesa
import numpy as np
from mesa.discrete_space import Network

from sim import purposes
from sim.choices import AGENTS_ENGINE_MAX_PEOPLE, ENGINES
from sim.customer_log import CustomerLog
from sim.customers import journeys, network, rules
from sim.customers.population import Population
from sim.engines.agents import AgentCustomers, MonthDraws
from sim.engines.contract import ChannelTally, Contacts, CustomerEngine, DeskTally, Month
from sim.engines.customer import Customer
from sim.engines.vector import VectorCustomers
from sim.errors import CXMError, ScenarioError
from sim.firm import economics, practices
from sim.firm.delivery import Firm, TouchpointPlan
from sim.metrics import DESK_METRICS
from sim.recorder import Recorder
from sim.scenario import STAGES, Scenario
from sim.scenario.firm import CAPABILITIES, CHANNELS
from sim.scenario.sizing import at_own_size
from sim.streams import Streams
from sim.support import channels
from sim.support.desk import SupportDesk, desk_for

PHASES: dict[str, str] = {
    "firm.plan": "firm_plan",
    "journeys.experience": "experience_journeys",
    "support.serve": "serve_contacts",
    "customers.evaluate": "evaluate",
    "customers.answer": "answer_surveys",
    "customers.decide": "decide",
    "market.acquire": "acquire",
    "firm.learn": "firm_learn",
    "record": "record",
}
"""The named phases of `CXModel.step()`, in order: phase → the method that runs it."""
MONTH_START = "month.start"
"""What `CXModel.step()` does before the phases: the engine's `start_month` (who is active,
the month's state)."""
DESK = "support.desk"
"""The support desk's `serve` (the contact centre's SimPy period or Erlang laws, and its
staffing), which runs inside the ``support.serve`` phase."""
WARM_UP_MONTH = 1_000_000
"""Warm-up month k (1, 2, …) draws its random numbers from stream month `WARM_UP_MONTH` + k:
far above any horizon (a scenario has at most 600 months), so months 1, 2, … draw the same
numbers with and without a warm-up (`CXModel._warm_up`)."""


@dataclass
class PhaseTimes:
    """Wall time of each phase of a profiled model (`CXModel` with ``profile=True``).

    Attributes:
        seconds: phase (a key of `PHASES`, `MONTH_START` or `DESK`) → wall time, seconds.
        calls: phase → how many times it ran.
    """

    seconds: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)

    def timed(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        """`function`, adding the wall time of each call to phase `name`."""
        self.seconds.setdefault(name, 0.0)
        self.calls.setdefault(name, 0)

        @functools.wraps(function)
        def phase(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - start
                self.calls[name] += 1

        return phase


def check_fitted(scenario: Scenario, source: str = "") -> None:
    """Refuse a scenario whose `profile` has not been fitted: its key figures say what the
    firm is, but none of its parameters match them yet.

    Raises:
        ScenarioError: naming `profile` and the command that fits it.
    """
    if scenario.profile is not None:
        raise ScenarioError(
            source or scenario.name,
            "",
            None,
            f"scenario {scenario.name} states the firm's key figures (profile:); fit them "
            "first with `cxm fit-firm FILE` and run the fitted scenario it writes",
        )


def check_engine(scenario: Scenario, engine: str, source: str = "") -> None:
    """Refuse a market the engine cannot hold: the agents engine keeps one Python object per
    person, so it takes at most `AGENTS_ENGINE_MAX_PEOPLE` people.

    Raises:
        ScenarioError: naming `market.size` (and `source`, the scenario file, if given).
    """
    size = scenario.market.size
    if engine == "agents" and size > AGENTS_ENGINE_MAX_PEOPLE:
        raise ScenarioError(
            source,
            "market.size",
            size,
            f"the agents engine holds at most {AGENTS_ENGINE_MAX_PEOPLE:,} people "
            "(one Mesa agent each); use the vector engine for larger markets",
        )


class Callers(NamedTuple):
    """The month's first contacts with support and their own random numbers (aligned,
    ascending market index)."""

    people: np.ndarray
    u_wait: np.ndarray
    """Uniform of each contact's wait (`support:wait`)."""
    u_resolve: np.ndarray
    """Uniform of whether it resolves (`support:resolve`)."""
    recovered: np.ndarray
    """Whether its complaint is recovered if an agent answers it (`support:recovery`)."""

    def at(self, rows: np.ndarray) -> Callers:
        """The callers at positions `rows`."""
        return Callers(*(values[rows] for values in self))


class CXModel(mesa.Model):
    """A market of customers experiencing a firm's touchpoints, one month per step.

    Args:
        scenario: the validated scenario (see `sim.load_scenario`); the model runs it with
            its lump sums resolved for the firm's size (`sim.scenario.sizing.at_own_size`),
            which is `spec`.
        seed: the scenario seed; defaults to `scenario.seed`.
        replication: which replication stream of that seed to use (0, 1, …).
        engine: ``"vector"`` (numpy over all customers at once) or ``"agents"`` (one
            `mesa.Agent` per person, at most `AGENTS_ENGINE_MAX_PEOPLE`).
        support: a support desk; defaults to the scenario's desk.
        history: agents engine: each customer keeps its journey history (see
            `sim.engines.customer.Customer.history`).
        customer_log: keep every customer's interactions and decisions, row by row
            (`sim.customer_log`; `log`); off, the model does no work for it.
        profile: add up the wall time of each phase in `phase_times` (see `PhaseTimes`);
            the results are the same either way.

    Raises:
        ValueError: an unknown engine.
        ScenarioError: a market too large for the agents engine.
    """

    def __init__(
        self,
        scenario: Scenario,
        seed: int | None = None,
        replication: int = 0,
        engine: str = "vector",
        support: SupportDesk | None = None,
        history: bool = True,
        customer_log: bool = False,
        profile: bool = False,
    ) -> None:
        if engine not in ENGINES:
            raise ValueError(f"engine: got {engine!r}; allowed: {', '.join(ENGINES)}")
        check_engine(scenario, engine)
        check_fitted(scenario)
        scenario = at_own_size(scenario)
        self.seed_value = scenario.seed if seed is None else int(seed)
        seed_sequence = np.random.SeedSequence(self.seed_value, spawn_key=(replication,))
        super().__init__(rng=np.random.default_rng(seed_sequence.spawn(1)[0]))
        self.spec = scenario
        self.engine = engine
        self.replication = replication
        self.month = 0
        self.streams = Streams(seed_sequence, scenario.market.size)
        self.touchpoints = sorted(
            scenario.touchpoints, key=lambda t: STAGES.index(scenario.touchpoints[t].stage)
        )
        self.firm = Firm(scenario, self.touchpoints)
        self.support = support or desk_for(scenario.support)
        self.chat = channels.chat_desk(scenario.support)
        """The chat channel's desk (None unless `support.channels` opens chat)."""
        graph_seed = int(self.streams.generator(purposes.NETWORK, 0).integers(2**31 - 1))
        self.graph = network.build_graph(scenario.market.network, scenario.market.size, graph_seed)
        self.discount_per_month = rules.monthly_rate(scenario.economics.discount_rate_per_year)
        self.recorder = Recorder(scenario, self.touchpoints, self.discount_per_month)
        self.log: CustomerLog | None = None
        """The customer log (None unless asked for)."""
        if customer_log:
            self.log = CustomerLog(scenario, self.touchpoints, replication)
        self.improvement = practices.Improvement(len(self.touchpoints))
        self.in_journey = np.array(
            [
                [t in scenario.journeys[s.journey] for t in self.touchpoints]
                for s in scenario.market.segments
            ]
        )
        self.plan: TouchpointPlan = self.firm.plan()
        population = Population.initial(scenario, self.streams)
        self.customers: CustomerEngine
        self.population: Population | None = None  # vector engine: the market's arrays
        self.ties = None  # vector engine: the social network as a sparse adjacency
        self.space: Network | None = None  # agents engine: the social network, Mesa's way
        self.draws: MonthDraws | None = None  # agents engine: the month's random numbers
        if engine == "vector":
            self.population = population
            self.ties = network.adjacency(self.graph, scenario.market.size)
            self.customers = VectorCustomers(self, population)
        else:
            self.draws = MonthDraws(self.streams, 0)
            agents = AgentCustomers(self, population, history)
            self.space = agents.space
            self.customers = agents
        if scenario.market.warm_up_months:
            self._warm_up(scenario.market.warm_up_months)
        self.phase_times: PhaseTimes | None = None
        """Wall time of each phase so far (None unless built with ``profile=True``)."""
        if profile:
            self.phase_times = self._time_phases()

    def _time_phases(self) -> PhaseTimes:
        """Time this model's phases, the engine's month start and the desk's `serve`:
        instance attributes that wrap the methods in timers, so that a model built without
        ``profile`` runs exactly the code it runs otherwise. (A desk passed as ``support``
        has its `serve` wrapped too.)"""
        times = PhaseTimes()
        self.customers.start_month = times.timed(MONTH_START, self.customers.start_month)
        for name, method in PHASES.items():
            setattr(self, method, times.timed(name, getattr(self, method)))
        self.support.serve = times.timed(DESK, self.support.serve)
        return times

    def customer(self, index: int) -> Customer:
        """Person `index` of the market as a `Customer` agent (agents engine only)."""
        if not isinstance(self.customers, AgentCustomers):
            raise CXMError(
                "customer(): the vector engine holds no per-person objects; "
                "build the model with engine='agents'"
            )
        return self.customers.people[index]

    # ------------------------------------------------------------------ warm-up

    def _warm_up(self, months: int) -> None:
        """Let the initial customers live `months` months before month 1, so that month 1
        starts from a market that has run for a while (`market.warm_up_months`).

        A warm-up month runs the customers' phases of a month — journeys, support,
        evaluation, surveys (and call-backs), decisions (and retention interventions) —
        against the firm as it stands at the start, with no privacy incident and no market
        drift; then, in place of acquisition, each leaver is replaced in place by a new
        customer of the same segment (`CustomerEngine.replace_leavers`). The base keeps its
        size and segment mix while tenure, satisfaction, expectations, effort memory,
        products and the frailty mix settle towards the steady state of that renewal
        process: the frailest leave first, so the survivors are the less frail (Vaupel,
        Manton & Stallard 1979). Satisfaction and effort memory settle within about two
        years; the frailty mix more slowly, as its least frail stay for years (docs/model.md
        §2.2). Prospects are untouched.

        Warm-up month k draws from stream month `WARM_UP_MONTH` + k, so months 1, 2, … draw
        the numbers they draw without a warm-up, and scenarios that differ only from month 1
        on share their warm-up (common random numbers). The firm's side (firm, improvement
        programme, support desk, plan) runs on copies that are then dropped, and nothing is
        recorded or logged: nothing the firm learned or suffered carries into month 1.
        Afterwards revenue to date is 0 and every customer counts as an initial customer.
        """
        before = (self.firm, self.improvement, self.support, self.plan, self.log, self.draws)
        shared = {id(self.spec): self.spec}  # the scenario is frozen: no need to copy it
        self.firm, self.improvement, self.support = copy.deepcopy(before[:3], shared)
        self.log = None
        try:
            for k in range(1, months + 1):
                self._warm_up_month(WARM_UP_MONTH + k)
        finally:
            self.firm, self.improvement, self.support, self.plan, self.log, self.draws = before
            self.month = 0
        self.customers.end_warm_up()

    def _warm_up_month(self, number: int) -> None:
        """One warm-up month (stream month `number`): the customers' phases, then the
        leavers' places filled."""
        self.month = number
        month = self.customers.start_month(number)
        self.experience_journeys(month)
        self.serve_contacts(month)
        self.customers.evaluate(month, trust_shock=0.0, drift=0.0)
        self.answer_surveys(month)
        self.decide(month)
        self.customers.replace_leavers(month)

    # ------------------------------------------------------------------ the month

    def step(self) -> None:
        """Advance one month: the named phases, in order."""
        self.month += 1
        month = self.customers.start_month(self.month)
        self.firm_plan()
        self.experience_journeys(month)
        self.serve_contacts(month)
        self.evaluate(month)
        answers = self.answer_surveys(month)
        decisions = self.decide(month)
        acquired = self.acquire(month)
        learned = self.firm_learn(month)
        self.record(month, answers | decisions | acquired | learned)

    def run_to_horizon(self) -> None:
        """Step until the scenario's horizon (`scenario.months`)."""
        while self.running:
            self.step()

    # ------------------------------------------------------------------ phases

    def firm_plan(self) -> None:
        """firm.plan: what every touchpoint delivers this month."""
        self.plan = self.firm.plan()

    def experience_journeys(self, month: Month) -> None:
        """journeys.experience: each customer meets the touchpoints due this month, in stage
        order, and judges each against what they expected (problem-triggered touchpoints
        wait for support)."""
        self.customers.experience(month)

    def serve_contacts(self, month: Month) -> None:
        """support.serve: customers with a problem may contact support; the desk answers.

        The desk of the scenario's `support.mode` serves the month's first contacts together
        and gives each its wait, whether the caller hung up and whether the problem was
        resolved; engagement moves handle time and resolution, sourcing resolution and
        waits; a complaint may be recovered. With `support.channels`, contacts start in the
        phone, chat or self-service and the desk serves the phone's (`_by_channel`,
        `sim.support.channels`). Each caller then experiences the contact
        (`journeys.contact_quality`, `journeys.contact_effort`).
        """
        people, reported = self.customers.contact_support(month)
        if not len(people):
            return
        m = month.number
        callers = Callers(
            people,
            self.streams.uniform(purposes.SUPPORT_WAIT, m, people),
            self.streams.uniform(purposes.SUPPORT_RESOLVE, m, people),
            self.streams.uniform(purposes.SUPPORT_RECOVERY, m, people)
            < self.firm.recovery_chance(),
        )
        if self.spec.support.channels is None:
            contacts = self._by_phone(month, callers)
        else:
            contacts = self._by_channel(month, callers)
        self.improvement.voc.report_problems(reported)
        month.contacts = contacts
        self.customers.experience_support(month, contacts)

    def _by_phone(self, month: Month, callers: Callers, resolution_shift: float = 0.0) -> Contacts:
        """The phone desk serves `callers`; `resolution_shift` is the phone channel's, from
        its level. Writes `month.desk`."""
        plan, desk = self.plan, self.spec.support
        people, recovered = callers.people, callers.recovered
        outcome = self.support.serve(
            month.number,
            callers.u_wait,
            callers.u_resolve,
            resolution_shift=plan.resolution_shift + resolution_shift,
            wait_factor=plan.wait_factor,
            aht_factor=self.firm.handle_time_factor(desk.contact_centre.aht_engagement_effect),
            streams=self.streams,
        )
        unresolved = ~outcome.resolved  # hung up, or answered without a resolution
        month.desk = DeskTally(
            first_contacts=len(people),
            repeat_contacts=int(unresolved.sum()),
            abandoned=int(outcome.abandoned.sum()),
            wait_minutes=float(outcome.wait_minutes.sum()),
            resolved=int(outcome.resolved.sum()),
            recovered=int(recovered.sum()),
            metrics=outcome.metrics,
        )
        felt_wait = desk.felt_wait_factor * outcome.wait_minutes
        return Contacts(people, felt_wait, unresolved, outcome.abandoned, recovered)

    def _by_channel(self, month: Month, callers: Callers) -> Contacts:
        """Route the month's first contacts through the open channels (`sim.support.channels`):
        self-service first, its failures joining their fallback channel, then chat and phone.
        Writes `month.desk` (the phone's) and `month.channels`."""
        spec, m, people = self.spec, month.number, callers.people
        n = len(people)
        opened = spec.support.channels.open()
        names = list(opened)
        levels = self.firm.channels
        above = {name: levels.above_reference(name) for name in names}
        per_level = spec.firm.quality_per_level
        start = channels.starting_channel(
            self.streams.uniform(purposes.SUPPORT_CHANNEL, m, people), spec.support.channels
        )
        route = np.array(names, dtype=object)[start]
        felt_wait, quality, effort = np.zeros(n), np.zeros(n), np.zeros(n)
        unresolved, abandoned = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
        kept = callers.recovered.copy()  # only an agent recovers a complaint
        sessions = solved = 0
        if "self_service" in opened:
            ss = opened["self_service"]
            session = np.flatnonzero(route == "self_service")
            u = self.streams.uniform(purposes.SUPPORT_SELF_SERVICE, m, people[session])
            works = u < channels.self_service_resolution(ss, above["self_service"])
            done, failed = session[works], session[~works]
            sessions, solved = len(session), len(done)
            quality[done] = channels.quality_shift(ss, above["self_service"], per_level)
            effort[done] = ss.effort_shift
            kept[done] = False
            route[failed] = ss.fallback
            quality[failed] -= ss.failure_quality_drop
            effort[failed] += ss.failure_effort
        chats = 0
        if "chat" in opened:
            chat = opened["chat"]
            rows = np.flatnonzero(route == "chat")
            if len(rows):
                outcome = self.chat.serve(
                    m,
                    callers.u_wait[rows],
                    callers.u_resolve[rows],
                    resolution_shift=self.plan.resolution_shift
                    + channels.level_resolution_shift(chat, above["chat"]),
                    wait_factor=self.plan.wait_factor,
                )
                felt_wait[rows] = outcome.wait_minutes
                unresolved[rows] = ~outcome.resolved
                chats = len(rows) + int(unresolved[rows].sum())
                quality[rows] += channels.quality_shift(chat, above["chat"], per_level)
                effort[rows] += chat.effort_shift
        by_phone = route == "phone"
        if by_phone.any():
            phone = opened["phone"]
            rows = np.flatnonzero(by_phone)
            served = self._by_phone(
                month,
                callers.at(rows),
                channels.level_resolution_shift(phone, above["phone"]),
            )
            felt_wait[rows] = served.felt_wait_minutes
            unresolved[rows] = served.unresolved
            abandoned[rows] = served.abandoned
            quality[rows] += channels.quality_shift(phone, above["phone"], per_level)
            effort[rows] += phone.effort_shift
        month.channels = ChannelTally(chats, sessions, solved)
        month.desk = dataclasses.replace(month.desk, recovered=int(kept.sum()))
        served = np.zeros(n, dtype=np.int8)
        for code, name in enumerate(CHANNELS):
            served[route == name] = code
        failed_session = np.zeros(n, dtype=bool)
        if "self_service" in opened:
            failed_session[failed] = True
        return Contacts(
            people, felt_wait, unresolved, abandoned, kept, quality, effort, by_phone,
            served, failed_session,
        )  # fmt: skip

    def evaluate(self, month: Month) -> None:
        """customers.evaluate: episode memory, cumulative satisfaction, effort, expectation.

        The month's episode is remembered by the peak-end rule; cumulative satisfaction is
        anchored on the prior with a weight that grows with tenure; remembered effort and
        expectations adapt to what was experienced; everyone's expectations drift with the
        market. A privacy incident this month shocks every customer's satisfaction and
        raises the churn hazard.
        """
        m = month.number
        month.privacy_incident = self.firm.privacy_incident(
            m, lambda: self.streams.generator(purposes.FIRM_PRIVACY, m).random()
        )
        trust_shock = self.firm.suffer_privacy_incident() if month.privacy_incident else 0.0
        drift = self.firm.expectation_drift(self.spec.behaviour.satisfaction.market_drift_per_month)
        self.customers.evaluate(month, trust_shock, drift)
        if self.log is not None:
            customers = self.customers
            met, people = customers.met(month), customers.state_of(month.who)
            self.log.add_interactions(month, self.plan.quality, met, people)

    def answer_surveys(self, month: Month) -> dict[str, float]:
        """customers.answer: a self-selected sample answers NPS, CSAT and CES surveys and
        rates the touchpoints it met; the firm's voice-of-the-customer data grows. Managed
        and above, the firm calls back the detractors who answered (Reichheld & Markey 2011).
        """
        wave, ratings = self.customers.answer(month)
        if len(wave.respondents):
            self.improvement.voc.observe(ratings, wave.recommend)
        if not practices.closes_loop(self.firm):
            return wave.measures | practices.loop_measures(self.firm, 0)
        detractors = month.who[wave.respondents][wave.recommend <= 6]
        self.customers.take_call_backs(month, detractors, self.firm.recovery_chance())
        return wave.measures | practices.loop_measures(self.firm, len(detractors))

    def decide(self, month: Month) -> dict[str, float]:
        """customers.decide: churn (hazard and renewal), retention interventions, then
        purchases and revenue.

        At predictive maturity the firm scores churn risk, flags the riskiest customers and
        intervenes; an intervention that succeeds keeps a customer who would have left.
        Revenue is booked for those still active after the churn decision, so a customer
        pays for each month survived (the convention of the CLV formula m·r/(1+d−r)).
        """
        leaving = self.customers.consider_leaving(month)
        risk, would_leave, renewal = leaving.risk, leaving.would_leave, leaving.renewal
        flagged = None
        if practices.scores_churn(self.firm) and len(month.who):
            noise = self.streams.normal(purposes.PREDICT_SCORE, month.number, month.who)
            flagged = practices.flag_riskiest(self.firm, risk, noise)
        d = self.customers.decide(month, flagged)
        month.decisions = d
        if self.log is not None:
            self.log.add_decisions(month, leaving, d, self.customers.state_of(month.who))
        return {
            "active_start": float(len(month.who)),
            "churned": float(d.left.sum()),
            "renewal_due": float(renewal.sum()),
            "repeat_purchases": float(d.repeat.sum()),
            "upsells": float(d.upsell.sum()),
            "revenue": float(d.revenue.sum()),
        } | practices.intervention_measures(self.firm, flagged, would_leave, d.kept)

    def acquire(self, month: Month) -> dict[str, float]:
        """market.acquire: prospects and lapsed customers adopt by the Bass hazard.

        Imitation is carried by the promoters among active customers, less detractors
        (``word_of_mouth: net_promoters``), or by all customers (``customers``, the classic
        Bass model). With complete mixing the informed share is taken over the whole market
        and the month is solved exactly; on a network each person hears their own ties, in
        `journeys.NETWORK_SUBSTEPS` sub-steps. Customers who left this month are not won
        back in the same month.
        """
        a, size = self.spec.acquisition, self.spec.market.size
        voice = self.customers.speak(month)
        informed = float(voice.sum())  # net: negative when detractors outweigh promoters
        per_customer = informed / len(voice) if len(voice) else 1.0
        chance = ads_share = None
        if self.graph is None:
            # Complete mixing: the month's Bass dynamics solved exactly for everyone.
            chance = rules.bass_month_adoption(
                a.innovation_per_month,
                a.imitation_per_month,
                informed / size,
                per_customer,
                float(self.customers.prospects()) / size,
            )
            hazard = float(
                rules.adoption_hazard(
                    a.innovation_per_month, a.imitation_per_month, informed / size
                )
            )
            ads_share = journeys.advertising_share(a.innovation_per_month, hazard)
        counts = self.customers.adopt(month, chance, ads_share, per_customer)
        if self.log is not None:
            self.log.add_adoptions(month, self.customers.state_of(month.joined))
        return counts | {"informed_share": informed / size}

    def firm_learn(self, month: Month) -> dict[str, float]:
        """firm.learn: invest, move engagement and staff, update maturity, let the trust
        shock fade, review and improve touchpoints from the measured data; the month's
        firm-side costs."""
        firm, m = self.firm, month.number
        spend = firm.invest(m)
        u_attrition = self.streams.generator(purposes.FIRM_ATTRITION, m).random()
        firm.update_workforce(month.staffed_interactions, u_attrition)
        firm.update_maturity()
        firm.fade_trust_shock()
        customers = float(len(month.who))
        channel_cost = (
            0.0
            if firm.channels is None
            else channels.channel_cost(self.spec, firm.channels, month.channels, customers)
        )
        return (
            {"investment_cost": spend}
            | economics.firm_running_costs(firm, month.desk.recovered, customers)
            | self.improvement.learn(firm, m, self.plan.quality)
            | {"channel_cost": channel_cost}
        )

    def record(self, month: Month, values: dict[str, float]) -> None:
        """record: the month's state measures and everything the phases reported."""
        self.recorder.record_month(
            month.number,
            self._snapshot(month) | values,
            month.touchpoints,
            self.plan.quality,
            month.decisions,
        )
        if month.number >= self.spec.months:
            self.running = False

    def _snapshot(self, month: Month) -> dict[str, float]:
        """State measures of the month: satisfaction, effort, support, the firm."""
        firm, state = self.firm, self.customers.state(month)
        desk = month.desk
        first = desk.first_contacts
        values = {
            "satisfaction_mean": state["satisfaction_mean"],
            "effort_mean": state["effort_mean"],
            "expectation_mean": state["expectation_mean"],
            "experiencing": float(month.experiencing),
            "problems": float(month.problems),
            "contacts": float(desk.contacts),
            "repeat_contacts": float(desk.repeat_contacts),
            "abandoned_contacts": float(desk.abandoned),
            "mean_wait_minutes": desk.wait_minutes / first if first else np.nan,
            "first_contact_resolution": desk.resolved / first if first else np.nan,
            "recovered_complaints": float(desk.recovered),
            "products_per_customer": state["products_per_customer"],
            "initial_customers_active": state["initial_customers_active"],
            "capability_index": firm.capability_index,
            "maturity": float(firm.maturity),
            "engagement": float(firm.engagement),
            "staff": firm.staff,
            "staff_leavers": firm.staff_leavers,
            "privacy_incident": float(month.privacy_incident),
            "personalisation": firm.personalisation_level(),
            "support_cost_factor": firm.sourcing["cost_factor"],
        }
        values |= {name: float(desk.metrics.get(name, np.nan)) for name in DESK_METRICS}
        values["agents"], values["staffing_cost"] = economics.staffing(
            self.spec.support, firm.sourcing["cost_factor"], desk.metrics.get("agents")
        )
        tally, levels = month.channels, firm.channels
        values |= {
            "chat_contacts": float(tally.chat_contacts),
            "self_service_sessions": float(tally.self_service_sessions),
            "self_service_resolved": float(tally.self_service_resolved),
        }
        values |= {
            f"{name}_level": levels.level(name) if levels is not None else np.nan
            for name in CHANNELS
        }
        values |= {
            f"cap_{c}": float(level) for c, level in zip(CAPABILITIES, firm.levels, strict=True)
        }
        return values
