"""CXModel: one run of a scenario — a market of customers travelling journeys, month by month.

`CXModel` is a `mesa.Model`. One `step()` is one month, in named phases:

    firm.plan → journeys.experience → support.serve → customers.evaluate → market.expect
    → customers.answer → customers.decide → market.acquire → firm.learn → record

With several firms (``firms:``, `sim.market`), each firm's phases run on its own customers,
firm after firm, with its own state (its scenario, firm, desk, improvement programme,
recorder and firm-side random streams: `CXModel._enter` makes one firm's current), while
``market.expect`` (the market's expectations) and ``market.acquire`` (switching, adoption and
the choice of a firm) span the firms. With one firm this is the one-firm model, number for
number.

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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import mesa
import numpy as np
from mesa.discrete_space import Network

from sim import market, purposes
from sim.choices import AGENTS_ENGINE_MAX_PEOPLE, ENGINES
from sim.customer_log import CustomerLog
from sim.customers import journeys, network, rules
from sim.customers.population import ACTIVE, NO_FIRM, WINBACK, WORD_OF_MOUTH, Population
from sim.engines import kernels
from sim.engines.agents import AgentCustomers, MonthDraws
from sim.engines.contract import ChannelTally, Contacts, CustomerEngine, DeskTally, Month
from sim.engines.customer import Customer
from sim.engines.vector import VectorCustomers
from sim.errors import CXMError, ScenarioError
from sim.firm import economics, practices
from sim.firm.delivery import Firm, TouchpointPlan
from sim.metrics import DESK_METRICS
from sim.recorder import Recorder
from sim.scenario import STAGES, Scenario, with_overrides
from sim.scenario.firm import CAPABILITIES, CHANNELS
from sim.streams import Streams
from sim.support import channels
from sim.support.desk import ServiceLevelDesk, SupportDesk, desk_for

PHASES: dict[str, str] = {
    "firm.plan": "firm_plan",
    "journeys.experience": "experience_journeys",
    "support.serve": "serve_contacts",
    "customers.evaluate": "evaluate",
    "market.expect": "drift_expectations",
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
REVISABLE = ("firm.", "support.", "acquisition.marketing_per_person_per_month")
"""What of a firm's scenario `CXModel.revise_firm` may change during a run: its own
settings, not the market's."""
WARM_UP_COPIES = ("firm", "improvement", "support")
"""What of each firm's state a warm-up runs on copies of (`CXModel._warm_up`): what it
learns or suffers during the warm-up does not carry into month 1."""


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
        self.seats = market.seats(scenario)
        """The market's firms (one without ``firms:``), in order: each firm's index is its
        place here (`Population.firm`)."""
        self._whole_scenario = scenario
        self.market_spec = market.market_scenario(scenario, self.seats)
        """The scenario the market's phases read (the first firm's when it is alone)."""
        scenario = self.seats[0].spec
        self.seed_value = scenario.seed if seed is None else int(seed)
        seed_sequence = np.random.SeedSequence(self.seed_value, spawn_key=(replication,))
        super().__init__(rng=np.random.default_rng(seed_sequence.spawn(1)[0]))
        self.engine = engine
        self.replication = replication
        self.month = 0
        market_streams = Streams(seed_sequence, scenario.market.size)
        self.touchpoints = sorted(
            scenario.touchpoints, key=lambda t: STAGES.index(scenario.touchpoints[t].stage)
        )
        graph_seed = int(market_streams.generator(purposes.NETWORK, 0).integers(2**31 - 1))
        self.graph = network.build_graph(scenario.market.network, scenario.market.size, graph_seed)
        self.discount_per_month = rules.monthly_rate(scenario.economics.discount_rate_per_year)
        self.log: CustomerLog | None = None
        """The customer log (None unless asked for)."""
        if customer_log:
            names = [seat.name for seat in self.seats]
            self.log = CustomerLog(scenario, self.touchpoints, replication, names)
        self.in_journey = np.array(
            [
                [t in scenario.journeys[s.journey] for t in self.touchpoints]
                for s in scenario.market.segments
            ]
        )
        # Each firm's own state; the model's attributes of these names are the current
        # firm's (`_enter`).
        self.spec: Scenario
        self.streams: Streams
        self.firm: Firm
        self.support: SupportDesk
        self.chat: ServiceLevelDesk | None
        """The chat channel's desk (None unless `support.channels` opens chat)."""
        self.recorder: Recorder
        self.improvement: practices.Improvement
        self.plan: TouchpointPlan
        self._states: list[dict[str, Any]] = []
        for i, seat in enumerate(self.seats):
            firm = Firm(seat.spec, self.touchpoints)
            self._states.append(
                {
                    "spec": seat.spec,
                    "streams": market_streams if i == 0 else market_streams.for_firm(i),
                    "firm": firm,
                    "support": (support if i == 0 else None) or desk_for(seat.spec.support),
                    "chat": channels.chat_desk(seat.spec.support),
                    "recorder": Recorder(seat.spec, self.touchpoints, self.discount_per_month),
                    "improvement": practices.Improvement(len(self.touchpoints)),
                    "plan": firm.plan(),
                }
            )
        self._market_state = {"spec": self.market_spec, "streams": market_streams}
        self.switching: list[np.ndarray] = []
        """Each month's switches between firms: customers from firm (rows) to firm (columns),
        in month order (empty with one firm)."""
        self._current: int | None = None
        self._enter(0)
        population = Population.initial(scenario, self.streams)
        if len(self.seats) > 1:
            population.firm[:] = self._initial_firms(population.status)
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

    def _enter(self, index: int | None) -> None:
        """Make firm `index` the current one: the model's per-firm attributes (`spec`,
        `streams`, `firm`, `support`, `chat`, `recorder`, `improvement`, `plan`) become that
        firm's, and those of the firm left are kept for it. None enters the market's phases:
        the market's scenario and streams, the other attributes left as they are."""
        if index == self._current:
            return
        if self._current is not None:
            state = self._states[self._current]
            for name in state:
                state[name] = getattr(self, name)
        for name, value in (self._market_state if index is None else self._states[index]).items():
            setattr(self, name, value)
        self._current = index

    def revise_firm(self, index: int, changes: Mapping[str, Any]) -> None:
        """From the next month on, firm `index` runs with `changes`: dotted paths of its
        scenario under `REVISABLE` (its capabilities' investment lines or budget, maturity
        practices, organisation, price, personalisation, support desk and staffing,
        advertising spend), validated as a scenario file's are. What the firm has built
        carries on (`Firm.revise`); its desk is set up afresh from the new settings; the
        market's advertising is the firms' new total. A decision taken between months, as a
        team's in the classroom game (each firm's own streams stay as they were, so
        decisions that change nothing give the same numbers as no decision).

        Raises:
            ScenarioError: a path outside `REVISABLE`, or a value its field refuses.
        """
        for path in changes:
            if not path.startswith(REVISABLE):
                allowed = ", ".join(f"{p}…" for p in REVISABLE)
                raise ScenarioError(
                    self.seats[index].name,
                    path,
                    changes[path],
                    f"not revisable; allowed: {allowed}",
                )
        self._enter(index)
        spec = with_overrides(self.spec, dict(changes))
        self.spec = spec
        self.seats[index] = self.seats[index]._replace(spec=spec)
        self.firm.revise(spec, self.month + 1)
        self.support = desk_for(spec.support)
        self.chat = channels.chat_desk(spec.support)
        self.recorder.scenario = spec
        self.market_spec = market.market_scenario(self._whole_scenario, self.seats)
        self._market_state["spec"] = self.market_spec

    def shock_expectations(self, rise: float) -> None:
        """Everyone's expectation rises at once by `rise` (quality scale, within 0–1): a
        market shock, between months."""
        self.customers.drift(rise)

    def _initial_firms(self, status: np.ndarray) -> np.ndarray:
        """Which firm each initial customer is with, by the firms' initial shares
        (`purposes.INIT_FIRM`); `NO_FIRM` for everyone else."""
        shares = np.array([seat.initial_share for seat in self.seats])
        active = np.flatnonzero(status == ACTIVE)
        u = self.streams.uniform(purposes.INIT_FIRM, 0, active)
        firms = np.full(len(status), NO_FIRM, dtype=np.int8)
        firms[active] = market.choose(shares[None, :] / shares.sum(), u)
        return firms

    def _time_phases(self) -> PhaseTimes:
        """Time this model's phases, the engine's month start and the desk's `serve`:
        instance attributes that wrap the methods in timers, so that a model built without
        ``profile`` runs exactly the code it runs otherwise. (A desk passed as ``support``
        has its `serve` wrapped too.)"""
        times = PhaseTimes()
        self.customers.start_month = times.timed(MONTH_START, self.customers.start_month)
        for name, method in PHASES.items():
            setattr(self, method, times.timed(name, getattr(self, method)))
        self._enter(0)
        for state in self._states:
            state["support"].serve = times.timed(DESK, state["support"].serve)
        self.support = self._states[0]["support"]
        return times

    def recorders(self) -> list[tuple[str, Recorder]]:
        """Each firm's name and recorder, in firm order."""
        pairs = zip(self.seats, self._states, strict=True)
        return [(seat.name, state["recorder"]) for seat, state in pairs]

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
        self._enter(0)
        self._enter(None)  # every firm's state is in `_states`
        before = (self._states, self.log, self.draws)
        # The scenarios are frozen: no need to copy them.
        shared = {id(state["spec"]): state["spec"] for state in self._states}
        self._states = [
            state | copy.deepcopy({name: state[name] for name in WARM_UP_COPIES}, shared)
            for state in self._states
        ]
        self.log = None
        try:
            for k in range(1, months + 1):
                self._warm_up_month(WARM_UP_MONTH + k)
        finally:
            self._enter(None)
            self._states, self.log, self.draws = before
            self._current = None
            self._enter(0)
            self.month = 0
        self.customers.end_warm_up()

    def _warm_up_month(self, number: int) -> None:
        """One warm-up month (stream month `number`): each firm's customers' phases, then
        the leavers' places filled (each by a new customer of the same firm)."""
        self.month = number
        months = []
        for customers_of in _each_firm(self):
            month = self.customers.start_month(number, customers_of)
            self.experience_journeys(month)
            self.serve_contacts(month)
            self.customers.evaluate(month, trust_shock=0.0)
            months.append(month)
        for month in _each_firms_month(self, months):
            self.answer_surveys(month)
            self.decide(month)
            self.customers.replace_leavers(month)

    # ------------------------------------------------------------------ the month

    def step(self) -> None:
        """Advance one month: the named phases, in order. With several firms, each firm's
        phases run on its own customers, firm after firm, up to ``customers.evaluate`` (then
        the market's expectations move once), again for ``customers.answer`` and
        ``customers.decide``, then ``market.acquire`` spans the firms, and each firm learns
        and records its month."""
        self.month += 1
        months = []
        for customers_of in _each_firm(self):
            month = self.customers.start_month(self.month, customers_of)
            self.firm_plan()
            self.experience_journeys(month)
            self.serve_contacts(month)
            self.evaluate(month)
            months.append(month)
        self.drift_expectations(months)
        reported = []
        for month in _each_firms_month(self, months):
            reported.append(self.answer_surveys(month) | self.decide(month))
        acquired = self.acquire(months)
        for month, answered, won in zip(
            _each_firms_month(self, months), reported, acquired, strict=True
        ):
            learned = self.firm_learn(month)
            self.record(month, answered | won | learned)

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
        expectations adapt to what was experienced. A privacy incident this month shocks
        every customer's satisfaction and raises the churn hazard. (Then everyone's
        expectations drift with the market: `drift_expectations`.)
        """
        m = month.number
        month.privacy_incident = self.firm.privacy_incident(
            m, lambda: self.streams.generator(purposes.FIRM_PRIVACY, m).random()
        )
        trust_shock = self.firm.suffer_privacy_incident() if month.privacy_incident else 0.0
        self.customers.evaluate(month, trust_shock)
        if self.log is not None:
            customers = self.customers
            met, people = customers.met(month), customers.state_of(month.who)
            self.log.add_interactions(month, self.plan.quality, met, people, self.spec.support)

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
            "churned": float(np.count_nonzero(d.left)),
            "renewal_due": float(np.count_nonzero(renewal)),
            "repeat_purchases": float(np.count_nonzero(d.repeat)),
            "upsells": float(np.count_nonzero(d.upsell)),
            "revenue": float(d.revenue.sum()),
        } | practices.intervention_measures(self.firm, flagged, would_leave, d.kept)

    def drift_expectations(self, months: list[Month]) -> None:
        """market.expect, once every firm's customers have evaluated: every person's
        expectation drifts with the market (`sim.market.market_drift`: the market's drift,
        the frontier of a transformative firm, the pull of the best firm's delivered
        quality; `months` are the firms' months)."""
        base = self.spec.behaviour.satisfaction.market_drift_per_month
        drifts, quality = [], []
        for i in range(len(self.seats)):
            self._enter(i)
            drifts.append(self.firm.expectation_drift(base))
            quality.append(float(np.mean(self.plan.quality)))
        customers = [len(month.who) for month in months]
        self.customers.drift(market.market_drift(self.market_spec, drifts, quality, customers))

    def acquire(self, months: list[Month]) -> list[dict[str, float]]:
        """market.acquire: leavers may switch firms; prospects and lapsed customers adopt by
        the Bass hazard and choose a firm. Returns each firm's counts (`months` are the
        firms' months).

        Imitation is carried by the promoters among active customers, less detractors
        (``word_of_mouth: net_promoters``), or by all customers (``customers``, the classic
        Bass model), of every firm. With complete mixing the informed share is taken over
        the whole market and the month is solved exactly; on a network each person hears
        their own ties, in `journeys.NETWORK_SUBSTEPS` sub-steps. Customers who left this
        month are not won back in the same month, except by another firm at once (with
        several firms, `competition.switching_share` of them; `sim.market`). Each adopter
        chooses a firm by the market's choice model.
        """
        self._enter(None)
        a, size, m = self.spec.acquisition, self.spec.market.size, self.month
        count = len(self.seats)
        left = [month.who[month.decisions.left] for month in months]
        everyone_left = np.sort(np.concatenate(left)) if count > 1 else left[0]
        month = self.customers.acquisition_month(m, everyone_left)
        voice = self.customers.speak(month)
        speaker_firms = self._firms_of(month.speakers)
        utility = self._choice_utilities(voice, speaker_firms)
        switched = np.zeros((count, count))
        switchers = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int8))
        if count > 1 and len(everyone_left):
            switched, switchers = self._switch(everyone_left, utility)
        if count > 1:
            self.switching.append(switched)
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
        self.customers.adopt(month, chance, ads_share, per_customer)
        joined = month.joined
        if count > 1:
            u = self.streams.uniform(purposes.MARKET_CHOICE, m, joined)
            firms = market.choose(market.choice_shares(utility), u)
        else:
            firms = np.zeros(len(joined), dtype=np.int8)
        self.customers.set_firms(joined, firms)
        if self.log is not None:
            who = np.concatenate([switchers[0], joined])
            chose = np.concatenate([switchers[1], firms])
            self.log.add_adoptions(month, who, self.customers.state_of(who), chose)
        source = self.customers.state_of(joined).source
        promoting = kernels.positive_sums(speaker_firms, voice, count)
        kept = [len(mo.who) - np.count_nonzero(mo.decisions.left) for mo in months]
        return _acquisition_counts(firms, source, switched, promoting, kept, informed / size)

    def _firms_of(self, people: np.ndarray) -> np.ndarray:
        """The firm of each of `people` (all the first firm's when it is alone)."""
        if len(self.seats) == 1:
            return np.zeros(len(people), dtype=np.intp)
        return self.customers.firms_of(people).astype(np.intp)

    def _choice_utilities(self, voice: np.ndarray, firms: np.ndarray) -> np.ndarray:
        """Each firm's utility in the choice of a firm (`sim.market.choice_utilities`): its
        reputation is the mean word of mouth of its customers who speak (`voice`, of firms
        `firms`), 0 without any."""
        count = len(self.seats)
        if count == 1:
            return np.zeros(1)
        voiced = np.bincount(firms, voice, count)
        speakers = np.bincount(firms, minlength=count)
        reputation = np.divide(voiced, speakers, out=np.zeros(count), where=speakers > 0)
        spend = np.array(
            [seat.spec.acquisition.marketing_per_person_per_month for seat in self.seats]
        )
        price = np.array([seat.spec.firm.price for seat in self.seats])
        return market.choice_utilities(self.market_spec, reputation, spend, price)

    def _switch(
        self, left: np.ndarray, utility: np.ndarray
    ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """Of this month's leavers `left`, `competition.switching_share` switch at once to
        another firm, chosen by the choice model among the others. Returns the switches,
        from firm (rows) to firm (columns), and who switched to which firm."""
        count, m = len(self.seats), self.month
        share = self.spec.competition.switching_share
        switching = self.streams.uniform(purposes.MARKET_SWITCH, m, left) < share
        people = left[switching]
        own = self.customers.firms_of(people).astype(np.intp)
        allowed = np.ones((len(people), count), dtype=bool)
        allowed[np.arange(len(people)), own] = False
        u = self.streams.uniform(purposes.MARKET_CHOICE, m, people)
        firms = market.choose(market.choice_shares(utility, allowed), u)
        self.customers.switch(people, firms)
        switched = np.zeros((count, count))
        np.add.at(switched, (own, firms.astype(np.intp)), 1.0)
        return switched, (people, firms)

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


def _each_firm(model: CXModel) -> Iterator[int | None]:
    """Make each firm of `model` the current one in turn (`CXModel._enter`), yielding
    whose customers its month concerns: the firm's own (its index), or everyone's (None)
    when it is alone."""
    alone = len(model.seats) == 1
    for index in range(len(model.seats)):
        model._enter(index)
        yield None if alone else index


def _each_firms_month(model: CXModel, months: list[Month]) -> Iterator[Month]:
    """Make each firm of `model` the current one in turn, yielding its month (`months` in
    firm order)."""
    for index, month in enumerate(months):
        model._enter(index)
        yield month


def _acquisition_counts(
    firms: np.ndarray,
    source: np.ndarray,
    switched: np.ndarray,
    promoting: np.ndarray,
    kept: list[int],
    informed_share: float,
) -> list[dict[str, float]]:
    """Each firm's counts of ``market.acquire``: the month's adopters (their `firms` and
    `source`) and switchers (`switched`, from firm to firm) it won, those it lost to rivals,
    its share of the promoting voice (`promoting`, by firm) and its market share at the end
    of the month (its customers `kept` after the decisions, plus those won)."""
    counts = []
    for f, stayed in enumerate(kept):
        mine = firms == f
        won = float(mine.sum() + switched[:, f].sum())
        counts.append(
            {
                "acquired": won,
                "acquired_prospects": float((mine & (source != WINBACK)).sum()),
                "acquired_by_word_of_mouth": float((mine & (source == WORD_OF_MOUTH)).sum()),
                "informed_share": informed_share,
                "switched_in": float(switched[:, f].sum()),
                "switched_out": float(switched[f, :].sum()),
                "share_of_voice": (
                    float(promoting[f] / promoting.sum()) if promoting.sum() > 0 else np.nan
                ),
                "market_share": float(stayed) + won,
            }
        )
    total = sum(c["market_share"] for c in counts)
    for c in counts:
        c["market_share"] = c["market_share"] / total if total else np.nan
    return counts
