"""The customer log: every interaction and every decision of every customer, row by row.

With the log on (`CXModel(..., customer_log=True)`, `sim.run(..., customer_log=True)`,
``cxm run --customer-log``) a run keeps two tables besides its aggregates:

- **interactions** (``customers.parquet``): one row per interaction a customer has in a
  month — each routine touchpoint met and each support touchpoint met after a problem —
  with the quality delivered and perceived, transaction satisfaction, effort, whether a
  problem arose, the support contact's outcome, and the customer's cumulative satisfaction
  once the month is evaluated (`INTERACTION_COLUMNS`);
- **decisions** (``decisions.parquet``): one row per decision (`DECISIONS`): churn (by
  the hazard or by not renewing), kept by a retention intervention, renewal, repeat
  purchase and upsell in ``customers.decide``, and adoption (with its source) in
  ``market.acquire`` (`DECISION_COLUMNS`).

Both engines feed the same `CustomerLog` from what they already computed (`sim.engines.contract.Met`
and `People`, the month's `Contacts` and `Decisions`), so every column is defined once
here and both engines write the same rows. Nothing here draws a random number or changes
the state of the run; with the log off the model never calls it.

A log is held in memory until the run is written, `INTERACTION_ROW_BYTES` and
`DECISION_ROW_BYTES` a row; `check_size` refuses, before anything runs, a log whose
estimate (`estimated_bytes`) exceeds `LOG_LIMIT_BYTES` unless forced.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from sim.choices import LOG_LIMIT_BYTES, shown_bytes
from sim.customers import journeys
from sim.customers.population import ADVERTISING, SWITCHED, WINBACK, WORD_OF_MOUTH
from sim.engines.contract import Decisions, Leaving, Met, Month, People
from sim.errors import OptionError
from sim.market import FIRM_COLUMN
from sim.scenario import Scenario, Segment, Support
from sim.scenario.firm import CHANNELS

INTERACTION_COLUMNS: dict[str, str] = {
    "replication": "int32",
    "month": "int16",
    "customer": "int32",
    "segment": "category",
    "touchpoint": "category",
    "delivered": "float32",
    "perceived": "float32",
    "satisfaction": "float32",
    "effort": "float32",
    "problem": "bool",
    "waited": "float32",
    "abandoned": "bool",
    "resolved": "bool",
    "repeats": "int8",
    "recovered": "bool",
    "channel": "category",
    "after_self_service": "bool",
    "satisfaction_after": "float32",
}
"""Columns of the interactions table and their types (categories have one-byte codes)."""

DECISION_COLUMNS: dict[str, str] = {
    "replication": "int32",
    "month": "int16",
    "customer": "int32",
    "segment": "category",
    "decision": "category",
    "how": "category",
    "source": "category",
    "amount": "float32",
    "satisfaction": "float32",
}
"""Columns of the decisions table and their types."""


def _row_bytes(columns: dict[str, str]) -> int:
    return sum(1 if kind == "category" else np.dtype(kind).itemsize for kind in columns.values())


INTERACTION_ROW_BYTES = _row_bytes(INTERACTION_COLUMNS)
"""Bytes of one interaction row in memory (41; a category is its code, one byte below 128
values)."""
DECISION_ROW_BYTES = _row_bytes(DECISION_COLUMNS)
"""Bytes of one decision row in memory (22)."""

DECISIONS = ("churn", "kept", "renewal", "repeat_purchase", "upsell", "adopt")
"""Values of the ``decision`` column, in the order they are taken in a month (and the order
of a customer's rows within the month)."""
CHURN, KEPT, RENEWAL, REPEAT, UPSELL, ADOPT = range(len(DECISIONS))
HOW = ("hazard", "not_renewed")
"""Values of ``how`` (churn and kept rows): the churn hazard took the customer away, or
they did not renew a contract that was due (the hazard is named when both would have)."""
SOURCES = ("advertising", "word_of_mouth", "winback", "switched")
"""Values of ``source`` (adopt rows), the `sim.customers.population` source codes by name."""
_SOURCE_CODE = np.full(max(ADVERTISING, WORD_OF_MOUTH, WINBACK, SWITCHED) + 1, -1, dtype=np.int8)
_SOURCE_CODE[[ADVERTISING, WORD_OF_MOUTH, WINBACK, SWITCHED]] = np.arange(len(SOURCES))


class CustomerLog:
    """One run's customer log, filled month by month by `sim.model.CXModel`.

    Args:
        scenario: the scenario being run.
        touchpoints: touchpoint names in model order.
        replication: the run's replication index (the ``replication`` column).
        firms: the market's firms in firm order; with several, both tables gain a ``firm``
            column (the firm of the customer's month, or the firm an adopter chose).
    """

    def __init__(
        self,
        scenario: Scenario,
        touchpoints: list[str],
        replication: int,
        firms: Sequence[str] = (),
    ) -> None:
        self.scenario = scenario
        self.firms = list(firms) if len(firms) > 1 else None
        self.touchpoints = touchpoints
        self.replication = replication
        self.segments = [s.name for s in scenario.market.segments]
        self.segment_code = _code_type(len(self.segments))
        self.touchpoint_code = _code_type(len(touchpoints))
        settings = [scenario.touchpoints[name] for name in touchpoints]
        self.effort = np.array([t.effort for t in settings], dtype=np.float64)
        self.is_support = np.array([t.when == "problem" for t in settings])
        segments = scenario.market.segments
        purchase = scenario.behaviour.purchase
        self.repeat_value = np.array([s.repeat_purchase_value for s in segments])
        self.upsell_value = np.array(
            [s.revenue_per_month * purchase.extra_product_revenue_share for s in segments]
        )
        self._interactions: list[dict[str, np.ndarray]] = []
        self._decisions: list[dict[str, np.ndarray]] = []
        self._pending: dict[str, np.ndarray] | None = None

    # ------------------------------------------------------------------ customers.evaluate

    def add_interactions(
        self,
        month: Month,
        delivered: np.ndarray,
        met: Met,
        people: People,
        support: Support | None = None,
    ) -> None:
        """The month's interactions, right after ``customers.evaluate``: `delivered` is the
        plan's quality of each touchpoint (model order), `met` the engine's interactions
        and `people` the state of the month's customers (`Month.who` order) now; `support`
        is the desk's settings of their firm (default the scenario's)."""
        present = ~np.isnan(met.perceived)
        row, k = np.nonzero(present)  # customer by customer, touchpoints in model order
        count = len(row)
        columns = {
            "month": np.full(count, month.number, dtype=np.int16),
            "customer": month.who[row].astype(np.int32),
            "segment": np.asarray(people.segment)[row].astype(self.segment_code),
            "touchpoint": k.astype(self.touchpoint_code),
            "delivered": np.asarray(delivered, dtype=np.float32)[k],
            "perceived": met.perceived[present].astype(np.float32),
            "satisfaction": met.satisfaction[present].astype(np.float32),
            "effort": self.effort[k],
            "problem": met.problem[present].astype(bool),
            "waited": np.full(count, np.nan, dtype=np.float32),
            "abandoned": np.zeros(count, dtype=bool),
            "resolved": np.zeros(count, dtype=bool),
            "repeats": np.zeros(count, dtype=np.int8),
            "recovered": np.zeros(count, dtype=bool),
            "channel": np.full(count, -1, dtype=np.int8),
            "after_self_service": np.zeros(count, dtype=bool),
            "satisfaction_after": np.asarray(people.satisfaction, dtype=np.float32)[row],
        }
        if self.firms is not None:
            columns[FIRM_COLUMN] = np.full(count, month.firm, dtype=np.int8)
        contact = self.is_support[k]
        if contact.any():
            self._add_contacts(month, row, contact, columns, support or self.scenario.support)
        columns["effort"] = columns["effort"].astype(np.float32)
        self._interactions.append(columns)

    def _add_contacts(
        self,
        month: Month,
        row: np.ndarray,
        contact: np.ndarray,
        columns: dict[str, np.ndarray],
        support: Support,
    ) -> None:
        """Fill the support rows (`contact`) from the desk's outcome of each caller (`support`:
        the desk's settings)."""
        c = month.contacts
        assert c is not None, "support touchpoints met without contacts"
        place = np.searchsorted(c.people, month.who[row[contact]])
        mine = c.at(place)
        effort = journeys.contact_effort(columns["effort"][contact], mine, support)
        columns["effort"][contact] = effort
        columns["waited"][contact] = mine.felt_wait_minutes
        columns["abandoned"][contact] = mine.abandoned
        columns["resolved"][contact] = ~mine.unresolved & ~mine.abandoned
        columns["repeats"][contact] = mine.unresolved
        columns["recovered"][contact] = mine.recovered
        columns["channel"][contact] = 0 if mine.channel is None else mine.channel
        if mine.failed_session is not None:
            columns["after_self_service"][contact] = mine.failed_session

    # ------------------------------------------------------------------ customers.decide

    def add_decisions(
        self, month: Month, leaving: Leaving, decisions: Decisions, people: People
    ) -> None:
        """The month's churn, kept, renewal and purchase decisions, right after
        ``customers.decide``; `people` is the state of the month's customers (`Month.who`
        order) then."""
        who, d = month.who, decisions
        stay = ~d.left
        satisfaction = np.asarray(people.satisfaction)
        how = np.where(leaving.hazard, 0, 1).astype(np.int8)
        stayers = np.flatnonzero(stay)
        seg_stay = d.segment[stay]
        parts = [
            (CHURN, np.flatnonzero(d.left), np.nan, True),
            (KEPT, np.flatnonzero(d.kept), np.nan, True),
            (RENEWAL, stayers[leaving.renewal[stay]], d.revenue[leaving.renewal[stay]], False),
            (REPEAT, stayers[d.repeat], self.repeat_value[seg_stay[d.repeat]], False),
            (UPSELL, stayers[d.upsell], self.upsell_value[seg_stay[d.upsell]], False),
        ]
        blocks = []
        for code, rows, amount, with_how in parts:
            blocks.append(
                {
                    "customer": who[rows],
                    "segment": d.segment[rows],
                    "decision": np.full(len(rows), code),
                    "how": how[rows] if with_how else np.full(len(rows), -1),
                    "source": np.full(len(rows), -1),
                    "amount": np.broadcast_to(amount, len(rows)),
                    "satisfaction": satisfaction[rows],
                }
                | self._firm_column(len(rows), month.firm)
            )
        # With several firms, each firm's decisions join the month's until its adoptions.
        self._pending = _joined(blocks if self._pending is None else [self._pending, *blocks])

    # ------------------------------------------------------------------ market.acquire

    def _firm_column(self, count: int, firm: np.ndarray | int | None) -> dict[str, np.ndarray]:
        """The ``firm`` codes of `count` rows (none with one firm)."""
        if self.firms is None:
            return {}
        return {FIRM_COLUMN: np.broadcast_to(np.asarray(firm, dtype=np.int8), count)}

    def add_adoptions(
        self, month: Month, who: np.ndarray, people: People, firms: np.ndarray | None = None
    ) -> None:
        """The month's adoptions, right after ``market.acquire``: the people `who` joined a
        firm (`Month.joined`, and with several firms those who switched from another at
        once), `people` their state then and `firms` the firm each chose. Closes the
        month's decisions."""
        count = len(who)
        adopt = {
            "customer": who,
            "segment": people.segment,
            "decision": np.full(count, ADOPT),
            "how": np.full(count, -1),
            "source": _SOURCE_CODE[np.asarray(people.source, dtype=np.intp)],
            "amount": np.full(count, np.nan),
            "satisfaction": people.satisfaction,
        } | self._firm_column(count, firms)
        blocks = [adopt] if self._pending is None else [self._pending, adopt]
        self._pending = None
        columns = _joined(blocks)
        order = np.lexsort((columns["decision"], columns["customer"]))
        self._decisions.append(
            {
                "month": np.full(len(order), month.number, dtype=np.int16),
                "customer": columns["customer"][order].astype(np.int32),
                "segment": columns["segment"][order].astype(self.segment_code),
                "decision": columns["decision"][order].astype(np.int8),
                "how": columns["how"][order].astype(np.int8),
                "source": columns["source"][order].astype(np.int8),
                "amount": columns["amount"][order].astype(np.float32),
                "satisfaction": columns["satisfaction"][order].astype(np.float32),
            }
            | {name: columns[name][order] for name in (FIRM_COLUMN,) if name in columns}
        )

    # ------------------------------------------------------------------ tables

    def tables(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The interactions and decisions tables of the run so far (`INTERACTION_COLUMNS`,
        `DECISION_COLUMNS`)."""
        categories = {
            "segment": self.segments,
            "touchpoint": self.touchpoints,
            "channel": CHANNELS,
            "decision": DECISIONS,
            "how": HOW,
            "source": SOURCES,
            FIRM_COLUMN: self.firms or [],
        }
        return (
            _frame(
                self._interactions, self._columns(INTERACTION_COLUMNS), categories, self.replication
            ),
            _frame(self._decisions, self._columns(DECISION_COLUMNS), categories, self.replication),
        )

    def _columns(self, declared: dict[str, str]) -> dict[str, str]:
        """A table's columns: as declared, with a ``firm`` column after ``customer`` when the
        market has several firms."""
        if self.firms is None:
            return declared
        columns: dict[str, str] = {}
        for name, kind in declared.items():
            columns[name] = kind
            if name == "customer":
                columns[FIRM_COLUMN] = "category"
        return columns


def _code_type(categories: int) -> type:
    """The integer type of the codes of a category with this many values (pandas' own)."""
    return np.int8 if categories < 2**7 else np.int16 if categories < 2**15 else np.int32


def _joined(blocks: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {name: np.concatenate([b[name] for b in blocks]) for name in blocks[0]}


def _frame(
    months: list[dict[str, np.ndarray]],
    columns: dict[str, str],
    categories: dict[str, list[str] | tuple[str, ...]],
    replication: int,
) -> pd.DataFrame:
    """One table from its months' arrays, with the declared types."""
    data: dict[str, object] = {}
    for name, kind in columns.items():
        if name == "replication":
            count = sum(len(m["month"]) for m in months)
            data[name] = np.full(count, replication, dtype=np.int32)
            continue
        values = (
            np.concatenate([m[name] for m in months])
            if months
            else np.zeros(0, dtype=np.int8 if kind == "category" else kind)
        )
        if kind == "category":
            data[name] = pd.Categorical.from_codes(values, categories[name])
        else:
            data[name] = values.astype(kind, copy=False)
    return pd.DataFrame(data)


# ---------------------------------------------------------------------------- size


class Estimate(NamedTuple):
    """The expected size of a run's customer log, before it runs."""

    customer_months: float
    """Upper bound of the customer-months: every person a customer in every month of every
    replication."""
    interactions: float
    """Expected interactions per customer-month (`interactions_per_customer_month`)."""
    decisions: float
    """Decisions per customer-month (`decisions_per_customer_month`)."""

    @property
    def bytes(self) -> float:
        """Bytes of both tables in memory."""
        per_customer_month = (
            self.interactions * INTERACTION_ROW_BYTES + self.decisions * DECISION_ROW_BYTES
        )
        return self.customer_months * per_customer_month


def interactions_per_customer_month(scenario: Scenario) -> float:
    """Expected interactions of a customer in a month, the most of any segment: each
    monthly touchpoint of the journey by its probability, each renewal touchpoint once a
    contract, each on-join touchpoint at the segment's churn rate (a customer base that
    replaces its leavers), and each support touchpoint by the chance of a problem (the sum
    of the routine touchpoints' problem probabilities, at most 1) times the segment's
    support propensity."""
    return max(_interactions(scenario, segment) for segment in scenario.market.segments)


def _interactions(scenario: Scenario, segment: Segment) -> float:
    routine = problem = support = 0.0
    for name in scenario.journeys[segment.journey]:
        touchpoint = scenario.touchpoints[name]
        if touchpoint.when == "problem":
            support += 1.0
            continue
        chance = {
            "monthly": touchpoint.probability_per_month,
            "on_join": segment.churn_per_month,
            "renewal": _renewals(segment),
        }[touchpoint.when]
        routine += chance
        problem += chance * touchpoint.problem_probability
    return routine + support * min(problem, 1.0) * segment.support_propensity


def _renewals(segment: Segment) -> float:
    """Renewals per month of a customer of `segment`."""
    return 1.0 / segment.contract_months if segment.contract_months else 0.0


def decisions_per_customer_month(scenario: Scenario) -> float:
    """Decisions of a customer in a month, the most of any segment: churn and an adoption
    to replace it at the segment's churn rate, a renewal once a contract, and a repeat
    purchase and an upsell at their chances for a fully satisfied customer."""
    behaviour = scenario.behaviour
    purchase, reference = behaviour.purchase, behaviour.churn.reference_satisfaction
    lift = float(np.exp(purchase.satisfaction_effect * (1.0 - reference)))
    buying = min(purchase.repeat_per_month * lift, 1.0) + min(purchase.upsell_per_month * lift, 1.0)
    return max(
        2.0 * segment.churn_per_month + _renewals(segment) + buying
        for segment in scenario.market.segments
    )


def estimate(scenario: Scenario, replications: int) -> Estimate:
    """The customer log's expected size for `replications` replications of `scenario`."""
    return Estimate(
        float(scenario.market.size) * scenario.months * replications,
        interactions_per_customer_month(scenario),
        decisions_per_customer_month(scenario),
    )


def check_size(scenario: Scenario, replications: int, force: bool = False) -> Estimate:
    """The log's estimate, refused above `LOG_LIMIT_BYTES` unless `force`.

    Raises:
        OptionError: naming ``customer_log``, the estimate, the limit and ``force``.
    """
    size = estimate(scenario, replications)
    if size.bytes > LOG_LIMIT_BYTES and not force:
        raise OptionError(
            "customer_log",
            f"estimated at {shown_bytes(size.bytes)} in memory ({scenario.market.size:,} "
            f"people × {scenario.months} months × {replications} replications, as if "
            f"everyone were a customer every month, × {size.interactions:.2f} interactions "
            f"of {INTERACTION_ROW_BYTES} bytes and {size.decisions:.2f} decisions of "
            f"{DECISION_ROW_BYTES} bytes each), more than the limit of "
            f"{shown_bytes(LOG_LIMIT_BYTES)}; run fewer replications or months or a smaller "
            "market, or pass {force} to keep it anyway",
            ("force",),
        )
    return size


HIGH_EFFORT_CES = 5.0
"""CES (1–7, higher = more effort) at and above which a service episode is high-effort."""
LOW_EFFORT_CES = 3.0
"""CES at and below which a service episode is low-effort."""
DISLOYAL_DROP = 0.5
"""Fall of the likelihood to recommend (0–10, ten times cumulative satisfaction) over the
episode's month that counts as more disloyal."""
DISLOYAL_MONTHS = 12
"""Months after a service episode (its own included) in which leaving counts as more
disloyal."""


def effort_gradient(customers: pd.DataFrame, decisions: pd.DataFrame) -> pd.DataFrame:
    """The effort gradient of service episodes, measured customer by customer (Dixon,
    Freeman & Toman 2010): per effort band, how many service episodes there were and the
    share after which the customer became more disloyal.

    A service episode is a customer's month with a support contact (rows with a `waited`
    value); its effort is the hardest contact's (0–1), banded by its latent CES, 1 + 6 ×
    effort: ``low`` at most `LOW_EFFORT_CES`, ``high`` at least `HIGH_EFFORT_CES`, ``middle``
    between. The customer became more disloyal if their likelihood to recommend (10 ×
    cumulative satisfaction) fell by at least `DISLOYAL_DROP` points from the end of the
    month before to the end of the episode's month, or they left within `DISLOYAL_MONTHS`
    months. Only episodes of customers who were customers the month before, and whose whole
    follow-up lies inside the run, count.

    Returns one row per band (low, middle, high): `episodes`, `more_disloyal`,
    `recommend_fell` and `left` (shares 0–1), and `recommend_change` (mean change of the
    likelihood to recommend, points).
    """
    keys = ["replication", "month", "customer"]
    state = customers.groupby(keys, sort=False)["satisfaction_after"].first()
    contacts = customers[customers["waited"].notna()]
    episodes = contacts.groupby(keys)["effort"].max().rename("effort").reset_index()
    last_month = int(customers["month"].max())
    episodes = episodes[episodes["month"] + DISLOYAL_MONTHS - 1 <= last_month]
    before = state.rename("before").reset_index()
    before["month"] += 1
    episodes = episodes.merge(before, on=keys, how="inner")
    episodes = episodes.merge(state.rename("after").reset_index(), on=keys, how="left")
    left = decisions.loc[decisions["decision"] == "churn", keys]
    follow = episodes[keys].merge(left, on=["replication", "customer"], suffixes=("", "_left"))
    within = (follow["month_left"] >= follow["month"]) & (
        follow["month_left"] < follow["month"] + DISLOYAL_MONTHS
    )
    gone = follow.loc[within, keys].drop_duplicates().assign(left=True)
    episodes = episodes.merge(gone, on=keys, how="left")
    episodes["left"] = episodes["left"].fillna(False).astype(bool)
    change = 10.0 * (episodes["after"] - episodes["before"])
    episodes["recommend_change"] = change
    episodes["recommend_fell"] = change <= -DISLOYAL_DROP
    episodes["more_disloyal"] = episodes["recommend_fell"] | episodes["left"]
    ces = 1.0 + 6.0 * episodes["effort"]
    episodes["band"] = np.where(
        ces <= LOW_EFFORT_CES, "low", np.where(ces >= HIGH_EFFORT_CES, "high", "middle")
    )
    table = episodes.groupby("band").agg(
        episodes=("effort", "size"),
        more_disloyal=("more_disloyal", "mean"),
        recommend_fell=("recommend_fell", "mean"),
        left=("left", "mean"),
        recommend_change=("recommend_change", "mean"),
    )
    return table.reindex(["low", "middle", "high"])
