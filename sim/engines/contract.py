"""The contract between `CXModel` and a customer engine: the methods and the month's state.

`CXModel` writes the firm's side of each month once; the customers' side is an engine's
(`sim.engines.vector.VectorCustomers`, `sim.engines.agents.AgentCustomers`). The model talks to an
engine only through `CustomerEngine`, and a month's state lives only in the `Month` the
engine creates in `start_month` and every later phase receives: nothing one phase leaves for
a later one is kept elsewhere. A new engine (or a second firm) implements this protocol and
extends `Month` with its own working state.

Each field of `Month` says which phase writes it; a phase reads only what earlier phases
of the same month wrote (the order is `CXModel.step`'s).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import NamedTuple, Protocol, TypeVar

import numpy as np

from sim.customers.surveys import SurveyWave


@dataclass(frozen=True)
class DeskTally:
    """What the support desk did this month (written by ``support.serve``; counts of
    contacts, waits in minutes)."""

    first_contacts: int = 0
    """Customers who contacted support."""
    repeat_contacts: int = 0
    """Contacts again, for each first contact not resolved (hung up or unresolved)."""
    abandoned: int = 0
    """First contacts that hung up before being answered."""
    wait_minutes: float = 0.0
    """Total wait of the first contacts, minutes."""
    resolved: int = 0
    """First contacts resolved."""
    recovered: int = 0
    """Complaints recovered (service recovery)."""
    metrics: dict[str, float] = field(default_factory=dict)
    """The desk's operational metrics (`sim.metrics.DESK_METRICS`; empty without contacts)."""

    @property
    def contacts(self) -> int:
        """All contacts: first contacts and their repeats."""
        return self.first_contacts + self.repeat_contacts


@dataclass(frozen=True)
class ChannelTally:
    """What the chat and self-service channels did in a month (written by ``support.serve``
    with `support.channels`; counts)."""

    chat_contacts: int = 0
    """Chats, first and repeat (one repeat for each chat that did not resolve)."""
    self_service_sessions: int = 0
    """Self-service sessions started."""
    self_service_resolved: int = 0
    """Sessions that resolved the problem (contacts deflected from the agents)."""


@dataclass
class TouchpointSums:
    """The month's interactions at each touchpoint: how many, the sums of perceived quality
    and transaction satisfaction (0–1 each) and how many created a problem. A touchpoint is
    listed once any batch of its interactions was added (even an empty one)."""

    by_name: dict[str, list[float]] = field(default_factory=dict)
    """Touchpoint name → [interactions, perceived-quality sum, satisfaction sum, problems]."""

    def add(
        self,
        touchpoint: str,
        interactions: int,
        perceived: float,
        satisfaction: float,
        problems: int,
    ) -> None:
        """Add a batch of `interactions` at `touchpoint` by its sums."""
        sums = self.by_name.setdefault(touchpoint, [0.0, 0.0, 0.0, 0.0])
        sums[0] += float(interactions)
        sums[1] += perceived
        sums[2] += satisfaction
        sums[3] += float(problems)

    def add_batch(
        self,
        touchpoint: str,
        perceived: np.ndarray,
        satisfaction: np.ndarray,
        problem: np.ndarray,
    ) -> None:
        """Add a batch of interactions at `touchpoint`, one entry each."""
        self.add(
            touchpoint,
            len(perceived),
            float(np.sum(perceived, dtype=np.float64)),
            float(np.sum(satisfaction, dtype=np.float64)),
            int(np.sum(problem)),
        )


@dataclass
class Month:
    """The month being simulated, shared by the model and the engine.

    The engine creates it in `CustomerEngine.start_month` (an engine's own subclass adds its
    working state, declared there); the phases fill in the rest.
    """

    number: int
    """Month number, 1 for the first simulated month."""
    who: np.ndarray
    """Market indices of the customers active at the start of the month, ascending."""
    firm: int | None = None
    """The firm whose customers these are, with several firms (None: the whole market's)."""
    problems: int = 0
    """Customers with at least one problem (written by ``journeys.experience``)."""
    touchpoints: TouchpointSums = field(default_factory=TouchpointSums)
    """The interactions at each touchpoint (written by ``journeys.experience`` and
    ``support.serve``)."""
    staffed_interactions: float = 0.0
    """Interactions at staffed touchpoints, support answers included (written by
    ``journeys.experience`` and ``support.serve``)."""
    desk: DeskTally = field(default_factory=DeskTally)
    """What the support desk did (written by ``support.serve``)."""
    channels: ChannelTally = field(default_factory=ChannelTally)
    """What chat and self-service did (written by ``support.serve``)."""
    privacy_incident: bool = False
    """Whether a privacy incident happened (written by ``customers.evaluate``)."""
    experiencing: int = 0
    """Customers with at least one interaction (written by ``customers.evaluate``)."""
    decisions: Decisions | None = None
    """What the month's customers decided (written by ``customers.decide``)."""
    contacts: Contacts | None = None
    """The month's first contacts with support and what the desk made of them (written by
    ``support.serve``; None without any)."""
    joined: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """Market indices of the people who adopted, ascending (written by ``market.acquire``)."""
    speakers: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """Market indices of the customers active after the decisions, ascending: those who
    speak (written by ``market.acquire``)."""


@dataclass(frozen=True)
class Contacts:
    """The month's first contacts with support and what the desk made of each (aligned
    arrays, ascending market index)."""

    people: np.ndarray
    felt_wait_minutes: np.ndarray
    unresolved: np.ndarray
    abandoned: np.ndarray
    recovered: np.ndarray
    quality_shift: np.ndarray | float = 0.0
    """Change of the contact's perceived quality from its channel (`sim.support.channels`)."""
    effort_shift: np.ndarray | float = 0.0
    """Change of the contact's effort from its channel."""
    by_phone: np.ndarray | None = None
    """Whether each contact went to the phone desk (None: all did)."""
    channel: np.ndarray | None = None
    """The channel that served each contact, as its index in
    `sim.scenario.firm.CHANNELS` (None: the phone for all)."""
    failed_session: np.ndarray | None = None
    """Whether each contact followed a self-service session that failed (None: none did)."""

    def at(self, rows: np.ndarray) -> Contacts:
        """The contacts at positions `rows`."""

        def pick(values: np.ndarray | float | None) -> np.ndarray | float | None:
            return values if values is None or np.ndim(values) == 0 else np.asarray(values)[rows]

        return Contacts(*(pick(getattr(self, f.name)) for f in fields(self)))  # type: ignore[arg-type]


class Leaving(NamedTuple):
    """The month's churn considerations of the customers active at its start (`Month.who`
    order)."""

    risk: np.ndarray
    """Probability of leaving this month (hazard, plus renewal where a contract is due)."""
    would_leave: np.ndarray
    """Whether each customer means to leave (before any retention intervention)."""
    renewal: np.ndarray
    """Whether each customer's contract is due for renewal."""
    hazard: np.ndarray
    """Whether the churn hazard alone would take each customer away (the others who mean
    to leave do not renew a contract that is due)."""


class Decisions(NamedTuple):
    """The month's decisions of the customers active at its start (`Month.who` order)."""

    segment: np.ndarray
    """Segment of each customer."""
    left: np.ndarray
    """Whether each customer left (switching to another firm included)."""
    kept: np.ndarray
    """Whether each customer would have left but an intervention kept them."""
    repeat: np.ndarray
    """Whether each stayer made a repeat purchase (stayers in `Month.who` order)."""
    upsell: np.ndarray
    """Whether each stayer took one more product."""
    revenue: np.ndarray
    """Revenue of each stayer this month, currency."""
    satisfaction: np.ndarray
    """Cumulative satisfaction of each stayer, 0–1."""


class Met(NamedTuple):
    """The month's interactions of its customers, for the customer log (`sim.customer_log`):
    one row per customer (`Month.who` order), one column per touchpoint in model order."""

    perceived: np.ndarray
    """Perceived quality of each interaction, 0–1, NaN where the customer did not meet the
    touchpoint."""
    satisfaction: np.ndarray
    """Transaction satisfaction of each interaction, 0–1, NaN where not met."""
    problem: np.ndarray
    """Whether each interaction created a problem (False where not met)."""


class People(NamedTuple):
    """Some people's state now, for the customer log (aligned arrays)."""

    segment: np.ndarray
    """Segment of each person (index into `scenario.market.segments`)."""
    source: np.ndarray
    """How each was acquired (`sim.customers.population` source codes)."""
    satisfaction: np.ndarray
    """Cumulative satisfaction of each, 0–1."""


M = TypeVar("M", bound=Month)


class CustomerEngine(Protocol[M]):
    """The customers' side of a month, phase by phase (see `CXModel.step` for the order).

    Every method works on the month's customers (`Month.who`) unless it says otherwise;
    arrays come back in `Month.who` order (market order for the whole market).
    """

    def start_month(self, number: int, firm: int | None = None) -> M:
        """The new month: its customers (those active at its start; of firm `firm` only,
        when given) and empty working state."""
        ...

    def acquisition_month(self, number: int, left: np.ndarray) -> M:
        """The market's month for ``market.acquire`` with several firms' customers: no
        customers of its own, and `left` (market indices, ascending) those who left any firm
        this month."""
        ...

    def experience(self, month: M) -> None:
        """journeys.experience: each customer meets the touchpoints due this month (their
        interactions are added to `Month.touchpoints`)."""
        ...

    def contact_support(self, month: M) -> tuple[np.ndarray, np.ndarray]:
        """support.serve (before the desk): who contacts support (market indices,
        ascending) and the problems they report per touchpoint."""
        ...

    def experience_support(self, month: M, contacts: Contacts) -> None:
        """support.serve (after the desk): each caller meets the support touchpoints as the
        desk served them (added to `Month.touchpoints`)."""
        ...

    def evaluate(self, month: M, trust_shock: float) -> None:
        """customers.evaluate: fold the month into memory (less a privacy incident's
        `trust_shock` of satisfaction)."""
        ...

    def drift(self, drift: float) -> None:
        """customers.evaluate (after every firm's customers have evaluated): every person's
        expectation moves by `drift` with the market, within 0–1."""
        ...

    def answer(self, month: M) -> tuple[SurveyWave, np.ndarray]:
        """customers.answer: the survey wave and each respondent's touchpoint ratings
        (0–1, NaN where not met; one row per respondent)."""
        ...

    def take_call_backs(self, month: M, detractors: np.ndarray, chance: float) -> None:
        """customers.answer: the detractors called back (market indices) take the call; it
        succeeds by `chance`."""
        ...

    def consider_leaving(self, month: M) -> Leaving:
        """customers.decide: each customer's churn risk, intent and renewal."""
        ...

    def decide(self, month: M, flagged: np.ndarray | None) -> Decisions:
        """customers.decide: the firm's interventions reach the `flagged` (None below
        predictive maturity); leavers lapse; stayers buy, pay and age."""
        ...

    def speak(self, month: M) -> np.ndarray:
        """market.acquire: the word of mouth of each customer active now (market order; who
        they are in `Month.speakers`)."""
        ...

    def prospects(self) -> int:
        """market.acquire: the number of prospects in the market."""
        ...

    def adopt(
        self, month: M, chance: float | None, ads_share: float | None, per_customer: float
    ) -> None:
        """market.acquire: prospects and lapsed customers (not those who left this month)
        adopt, with the month's `chance` (complete mixing; `ads_share` of adoptions due to
        advertising) or over the network (`chance` None; a new adopter speaks with
        `per_customer`), and join (`Month.joined`; their source says how each was won)."""
        ...

    def switch(self, people: np.ndarray, firms: np.ndarray) -> None:
        """market.acquire: `people` (market indices) who left a firm this month join firms
        `firms` at once, as a new customer joins (source switched)."""
        ...

    def firms_of(self, who: np.ndarray) -> np.ndarray:
        """The firm each person at market indices `who` is with, or was last with."""
        ...

    def set_firms(self, who: np.ndarray, firms: np.ndarray) -> None:
        """The people at market indices `who` are now with `firms`."""
        ...

    def replace_leavers(self, month: M) -> None:
        """warm-up, in place of market.acquire: each customer who left this month is
        replaced at the same market index by a new customer of the same segment — fresh
        expectation and churn frailty (`sim.customers.population.newcomers`), satisfaction
        at that expectation, remembered effort at the reference, tenure 0, one product,
        source initial."""
        ...

    def end_warm_up(self) -> None:
        """After the warm-up: every person's revenue to date back to 0 and nothing of the
        warm-up kept in any history, so that month 1 starts a fresh record."""
        ...

    def state(self, month: M) -> dict[str, float]:
        """record: means of the state of the month's customers and of those active now."""
        ...

    def met(self, month: M) -> Met:
        """customers.evaluate (after it), for the customer log only: the month's
        interactions, one row per customer."""
        ...

    def state_of(self, who: np.ndarray) -> People:
        """For the customer log only: the segment, source and cumulative satisfaction of
        the people at market indices `who`, as they are now."""
        ...
