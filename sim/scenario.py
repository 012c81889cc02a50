"""Scenarios: a YAML file validated into a frozen, typed description of one simulated market.

A scenario says everything a run needs: the market and its segments, the touchpoints and the
journeys that string them together, the firm's capability profile, the support desk,
acquisition, the behavioural parameters and the economics. Every default lives here, in the
field definitions, and docs/model.md explains each one. This is the only module that reads
YAML; the model is built from a `Scenario`, never from a file.

Validation is strict: unknown keys, wrong types (no "12" for 12, no true for 1), numbers that
are not finite, values out of range, shares that do not sum to one, journeys naming unknown
touchpoints and drivers naming unknown capabilities are reported as a `ScenarioError` naming
the file, the field path, an excerpt of the value and what is allowed, in one line.

Scenario files are read defensively (`parse_yaml`, `read_scenario_mapping`): a regular UTF-8
file of at most 1 MB, safe YAML only, no duplicate keys, limits on aliases, nesting and the
length of a value, and ``extends:`` only to other .yaml/.yml files.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import stat
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import numpy as np
import yaml
from pydantic import BaseModel, Field, ValidationError

from sim.contact_centre.simulation import HANDLE_TIME_DISTRIBUTIONS
from sim.errors import ScenarioError, bounded_repr, one_line
from sim.fields import (
    NAME_MAX_LENGTH,
    NAME_PATTERN,
    NAME_RULE,
    SHARE_TOLERANCE,
    Name,
    NonNegative,
    Probability,
    Seed,
    Share,
    Strict,
)
from sim.firm_config import Capability, FirmSettings, Sourcing

STAGES: tuple[str, ...] = (
    "awareness",
    "sales",
    "onboarding",
    "delivery",
    "use",
    "support",
    "billing",
    "renewal",
)
"""Journey stages, in the order a customer meets them."""

Stage = Literal[STAGES]


class Expectation(Strict):
    """Distribution of a segment's initial expectations (quality units, 0–1)."""

    mean: Share = 0.75
    sd: Annotated[float, Field(ge=0.0, le=0.5)] = 0.06


class Segment(Strict):
    """A group of people who share expectations, value and behaviour."""

    name: Annotated[str, Field(min_length=1)]
    share: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0
    journey: Annotated[str, Field(min_length=1)] = "standard"
    expectation: Expectation = Expectation()
    tolerance: Annotated[float, Field(ge=0.0, le=0.5)] = 0.02
    """Half-width of the zone of tolerance around expectation (quality units)."""
    revenue_per_month: NonNegative = 40.0
    """Recurring revenue of one product held, currency per month."""
    repeat_purchase_value: NonNegative = 25.0
    """Revenue of one repeat purchase, currency."""
    churn_per_month: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.015
    """Base monthly churn probability at reference satisfaction and effort."""
    churn_frailty_sd: Annotated[float, Field(ge=0.0, le=3.0)] = 0.5
    """Spread (log scale) of a persistent personal multiplier on the churn hazard, mean 1:
    unobserved heterogeneity in propensity to leave (0: everyone alike)."""
    contract_months: Annotated[int, Field(ge=0, le=120)] = 12
    """Contract length in months; renewal decisions every this many months (0: none)."""
    support_propensity: Probability = 0.6
    """Probability that a customer with a problem contacts support."""
    survey_response: Probability = 0.15
    """Probability of answering a survey when asked, at average satisfaction."""


class Touchpoint(Strict):
    """One moment of the journey where the firm delivers an experience."""

    stage: Stage
    when: Literal["on_join", "monthly", "renewal", "problem"] = "monthly"
    """on_join: the first month as a customer; monthly: each month with
    `probability_per_month`; renewal: at each contract renewal; problem: when the
    customer contacts support about a problem."""
    probability_per_month: Probability = 1.0
    base_quality: Share = 0.78
    """Delivered quality (0–1) when every driving capability is at the reference level."""
    drivers: dict[Capability, NonNegative] = Field(default_factory=lambda: {"processes": 1.0})
    """Capability weights that move this touchpoint's quality (normalised to sum to 1)."""
    effort: Share = 0.2
    """Customer effort of the interaction (0 effortless – 1 maximal)."""
    staffed: bool = False
    """Delivered by front-line staff, so employee engagement moves its quality."""
    problem_probability: Probability = 0.02
    """Chance the interaction goes wrong and creates a problem for the customer."""


class Network(Strict):
    """The social network word of mouth runs over."""

    kind: Literal["complete", "erdos_renyi", "watts_strogatz", "barabasi_albert"] = "complete"
    """complete: everyone hears everyone (the Bass model); erdos_renyi: random ties;
    watts_strogatz: a ring lattice with a share of ties rewired (small world);
    barabasi_albert: preferential attachment (scale-free)."""
    mean_degree: Annotated[int, Field(ge=2, le=1000)] = 10
    """Mean number of ties per person (even for watts_strogatz)."""
    rewiring: Probability = 0.1
    """Share of lattice ties rewired at random (watts_strogatz only)."""


class Market(Strict):
    """The fixed population of people: prospects, customers and lapsed customers."""

    size: Annotated[int, Field(ge=1, le=100_000_000)] = 20_000
    initial_customers: Share = 0.3
    """Share of the market that are customers at month 0."""
    initial_tenure_months: Annotated[int, Field(ge=1, le=600)] = 36
    """Initial customers' tenure is uniform over 1..this many months."""
    segments: Annotated[list[Segment], Field(min_length=1)] = Field(
        default_factory=lambda: [Segment(name="all")]
    )
    network: Network = Network()


class ContactCentre(Strict):
    """The contact centre behind problem-triggered touchpoints (modes `simpy` and `erlang`).

    A month's contacts (first contacts and their repeats) arrive as a Poisson stream spread
    over the opening hours and queue for `agents` agents; callers hang up when their patience
    runs out. See docs/contact_centre.md, "Coupling with the journey".
    """

    agents: Annotated[int, Field(ge=1, le=100_000)] = 1
    """Agents answering during the opening hours (at least 1). The default is the smallest
    staffing that answers 80% of the baseline's contacts (about 1.6 an hour) within 20 s by
    Erlang A: one agent answers 84% and loses 11% of callers; two would answer 99%."""
    hours_per_month: Annotated[float, Field(ge=1.0, le=744.0)] = 220.0
    """Opening hours per month (shifts × hours), over which contacts arrive."""
    aht_seconds: Annotated[float, Field(gt=0.0, le=36_000.0)] = 420.0
    """Average handle time at engagement 0.5, seconds."""
    handle_time: Literal[HANDLE_TIME_DISTRIBUTIONS] = "exponential"
    """Distribution of handle times (mode `simpy`; `erlang` assumes exponential)."""
    handle_time_cv: Annotated[float, Field(gt=0.0, le=10.0)] = 1.0
    """Coefficient of variation of lognormal handle times."""
    patience_seconds: Annotated[float, Field(gt=0.0, le=86_400.0)] | None = 240.0
    """Mean (exponential) time a caller waits before hanging up, seconds; null: never."""
    answer_within_seconds: Annotated[float, Field(ge=0.0, le=3_600.0)] = 20.0
    """Service-level target: share of contacts answered within this many seconds."""
    aht_engagement_effect: Annotated[float, Field(ge=-1.0, le=1.0)] = -0.3
    """Relative change of handle time per unit of employee engagement above 0.5 (engaged
    agents are faster)."""
    agent_cost_per_month: NonNegative = 3_500.0
    """Cost of one agent for a month, currency (times the sourcing cost factor)."""
    announces_wait: bool = False
    """Whether callers are told their expected wait or place in the queue."""
    uncertain_wait_multiplier: Annotated[float, Field(ge=1.0, le=5.0)] = 1.5
    """How much longer an unannounced wait feels (Maister 1985: uncertain, unexplained waits
    feel longer); 1 when `announces_wait`."""
    simulated_hours: Annotated[float, Field(gt=0.0, le=100_000.0)] = 200.0
    """Length of the representative period simulated for a month (mode `simpy`), hours;
    stretched to hold `min_simulated_contacts` and cut to hold `max_simulated_contacts`."""
    min_simulated_contacts: Annotated[int, Field(ge=50, le=1_000_000)] = 500
    """Fewest contacts a simulated period holds, for a stable distribution of outcomes."""
    max_simulated_contacts: Annotated[int, Field(ge=50, le=1_000_000)] = 5_000
    """Cap on the contacts of a simulated period, so that a month's cost does not grow with
    the population (the cap wins over the minimum)."""
    reuse_tolerance: Annotated[float, Field(ge=0.0, le=0.2)] = 0.02
    """Relative step of the grid on which arrival rate and handle time are rounded in mode
    `simpy`, so that months of nearly the same load reuse one simulated period (0: simulate
    every month at its exact load)."""


class Support(Strict):
    """The support desk, as seen by customers: a staffed contact centre or a simple
    service-level model."""

    mode: Literal["simpy", "erlang", "service_level"] = "simpy"
    """How contacts are served: `simpy` draws each contact's outcome from a simulated
    representative period of the contact centre; `erlang` from the Erlang A (M/M/n+M) wait
    law; `service_level` gives exponential waits of `mean_wait_minutes` (no agents, no
    abandonment, no staffing cost)."""
    contact_centre: ContactCentre = ContactCentre()
    mean_wait_minutes: NonNegative = 4.0
    """Mean wait before an agent answers, minutes (mode `service_level`; waits are
    exponential)."""
    first_contact_resolution: Probability = 0.72
    wait_quality_per_minute: Annotated[float, Field(ge=0.0, le=0.1)] = 0.01
    """Fall of the perceived quality of a contact per minute waited (Maister 1985)."""
    wait_effort_per_minute: Annotated[float, Field(ge=0.0, le=0.1)] = 0.01
    """Extra effort (0–1 scale) per minute waited."""
    unresolved_quality_drop: Share = 0.2
    """Fall of the perceived quality of a contact that did not resolve the problem."""
    unresolved_effort: Share = 0.25
    """Extra effort of a problem that needs a repeat contact."""
    abandon_quality_drop: Share = 0.1
    """Further fall of the perceived quality of a contact whose caller hung up unanswered
    (on top of `unresolved_quality_drop`: the problem is not resolved either)."""
    abandon_effort: Share = 0.1
    """Further effort of a contact whose caller hung up unanswered (on top of
    `unresolved_effort`)."""
    problem_quality_drop: Share = 0.25
    """Fall of the perceived quality of an interaction that creates a problem."""
    cost_per_contact: NonNegative = 6.0
    """Cost of handling one contact (first or repeat), currency; in the contact-centre modes
    the cost beyond the agents' pay (telephony, systems), which is the staffing cost."""
    sourcing: Sourcing = Sourcing()

    @property
    def felt_wait_factor(self) -> float:
        """How much longer a wait feels than it lasts: unannounced queue waits feel longer
        (Maister 1985); the service-level desk's waits are taken as felt."""
        centre = self.contact_centre
        if self.mode == "service_level" or centre.announces_wait:
            return 1.0
        return centre.uncertain_wait_multiplier


class Acquisition(Strict):
    """How prospects become customers: the Bass model with valenced word of mouth."""

    advertising_per_month: Probability = 0.004
    """Bass coefficient of innovation p, per month."""
    imitation_per_month: Annotated[float, Field(ge=0.0, le=1.0)] = 0.3
    """Bass coefficient of imitation q, per month."""
    word_of_mouth: Literal["net_promoters", "customers"] = "net_promoters"
    """What carries imitation: the promoters among active customers less
    `detractor_weight` × detractors (net_promoters), or every active customer (customers,
    the classic Bass model)."""
    detractor_weight: NonNegative = 1.0
    winback_factor: NonNegative = 0.3
    """Acquisition hazard of a lapsed customer relative to a prospect."""
    cost_per_acquisition: NonNegative = 120.0
    """Marketing and sales cost per new customer, currency."""


class SatisfactionRules(Strict):
    """Expectation-disconfirmation, episode memory and cumulative satisfaction."""

    disconfirmation_weight: Annotated[float, Field(ge=0.0, le=2.0)] = 0.5
    loss_aversion: Annotated[float, Field(ge=1.0, le=5.0)] = 2.0
    """Weight of negative disconfirmation relative to positive (Anderson & Sullivan 1993)."""
    peak_end_weight: Share = 0.5
    """Weight of the peak-end average against the plain mean in a month's episode."""
    prior_weight_new: Share = 0.5
    """Weight of prior cumulative satisfaction for a brand-new customer."""
    prior_weight_loyal: Share = 0.85
    """Weight of prior cumulative satisfaction for a long-tenure customer (Bolton 1998)."""
    tenure_scale_months: Annotated[float, Field(gt=0.0)] = 24.0
    expectation_adaptation: Share = 0.1
    """Share of the gap between experience and expectation closed each month."""
    market_drift_per_month: Annotated[float, Field(ge=-0.05, le=0.05)] = 0.0005
    """Rise of everyone's expectation per month as the market standard improves."""
    effort_memory: Share = 0.7
    """Weight of remembered effort against this month's effort."""


class ChurnRules(Strict):
    """Monthly churn hazard (proportional hazards) and the renewal decision."""

    satisfaction_effect: Annotated[float, Field(ge=0.0, le=50.0)] = 6.0
    """Log-hazard change per unit of satisfaction below the reference."""
    effort_effect: Annotated[float, Field(ge=0.0, le=50.0)] = 2.0
    """Log-hazard change per unit of remembered effort above the reference."""
    reference_satisfaction: Share = 0.75
    reference_effort: Share = 0.25
    renewal_max_leave: Probability = 0.4
    """Highest probability of leaving at renewal (reached for very dissatisfied customers)."""
    renewal_threshold: Share = 0.6
    """Satisfaction at which half of `renewal_max_leave` leave at renewal."""
    renewal_steepness: Annotated[float, Field(ge=0.0, le=200.0)] = 20.0


class PurchaseRules(Strict):
    """Repeat purchases and upsell, rising with satisfaction."""

    repeat_per_month: Probability = 0.05
    upsell_per_month: Probability = 0.01
    satisfaction_effect: Annotated[float, Field(ge=0.0, le=50.0)] = 4.0
    max_products: Annotated[int, Field(ge=1, le=20)] = 3
    extra_product_revenue_share: NonNegative = 0.5
    """Revenue of each product beyond the first, as a share of `revenue_per_month`."""


class SurveyRules(Strict):
    """How survey answers (NPS, CSAT, CES) are drawn from the latent state."""

    nps_answer_sd: Annotated[float, Field(ge=0.0, le=5.0)] = 1.7
    csat_answer_sd: Annotated[float, Field(ge=0.0, le=2.0)] = 0.6
    ces_answer_sd: Annotated[float, Field(ge=0.0, le=3.0)] = 0.8
    response_per_level: Annotated[float, Field(ge=0.0, le=1.0)] = 0.2
    """Relative rise of survey response per level of measurement above the reference."""
    selection_bias: Annotated[float, Field(ge=0.0, le=20.0)] = 4.0
    """Self-selection of respondents by satisfaction at measurement level 0; it falls
    linearly to 0 at measurement level 5."""


class Behaviour(Strict):
    satisfaction: SatisfactionRules = SatisfactionRules()
    churn: ChurnRules = ChurnRules()
    purchase: PurchaseRules = PurchaseRules()
    surveys: SurveyRules = SurveyRules()


class Economics(Strict):
    gross_margin: Share = 0.6
    """Share of revenue left after the cost of goods and service delivery."""
    discount_rate_per_year: Annotated[float, Field(ge=0.0, le=1.0)] = 0.10
    fixed_cost_per_month: NonNegative = 0.0


# name: (stage, when, base quality, drivers, effort, problem probability)
_DEFAULT_JOURNEY: dict[str, tuple[str, str, float, dict[str, float], float, float]] = {
    "advertising": ("awareness", "on_join", 0.78,
                    {"experience_strategy": 0.5, "customer_understanding": 0.5}, 0.1, 0.0),
    "purchase": ("sales", "on_join", 0.79,
                 {"experience_design": 0.5, "technology": 0.5}, 0.3, 0.05),
    "onboarding": ("onboarding", "on_join", 0.77,
                   {"processes": 0.5, "experience_design": 0.5}, 0.35, 0.08),
    "product_use": ("use", "monthly", 0.80,
                    {"experience_design": 0.5, "technology": 0.5}, 0.15, 0.03),
    "support_contact": ("support", "problem", 0.75,
                        {"culture": 0.4, "processes": 0.3, "technology": 0.3}, 0.4, 0.0),
    "billing": ("billing", "monthly", 0.79, {"processes": 0.6, "technology": 0.4}, 0.15, 0.02),
    "renewal_offer": ("renewal", "renewal", 0.77,
                      {"customer_understanding": 0.6, "processes": 0.4}, 0.3, 0.03),
}  # fmt: skip


_STAFFED = ("onboarding", "support_contact")


def _default_touchpoints() -> dict[str, Touchpoint]:
    fields = ("stage", "when", "base_quality", "drivers", "effort", "problem_probability")
    return {
        name: Touchpoint.model_validate(
            dict(zip(fields, values, strict=True)) | {"staffed": name in _STAFFED}
        )
        for name, values in _DEFAULT_JOURNEY.items()
    }


class Scenario(Strict):
    """A validated scenario: frozen, typed, with every default filled."""

    name: Name
    description: str = ""
    months: Annotated[int, Field(ge=1, le=600)] = 60
    seed: Seed = 20261125
    replications: Annotated[int, Field(ge=1, le=100_000)] = 10
    market: Market = Market()
    touchpoints: dict[str, Touchpoint] = Field(default_factory=_default_touchpoints)
    journeys: dict[str, list[str]] = Field(
        default_factory=lambda: {"standard": list(_default_touchpoints())}
    )
    firm: FirmSettings = FirmSettings()
    support: Support = Support()
    acquisition: Acquisition = Acquisition()
    behaviour: Behaviour = Behaviour()
    economics: Economics = Economics()

    @property
    def sha256(self) -> str:
        """Hash of the resolved scenario (canonical JSON), the key of its provenance."""
        return hashlib.sha256(canonical_json(self).encode()).hexdigest()

    def capability(self, name: str) -> float:
        """Capability level (0–5), the reference level for one not named."""
        return self.firm.capabilities.get(name, self.firm.reference_level)

    def to_yaml(self) -> str:
        """The resolved scenario as YAML, defaults filled."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False, width=100)


def canonical_json(scenario: Scenario) -> str:
    """Deterministic JSON text of a scenario (sorted keys, no whitespace)."""
    return json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


# --------------------------------------------------------------------------- limits

MAX_FILE_BYTES = 1_000_000
"""Largest scenario or sweep file read (1 MB); the ready scenarios are a few kB."""
MAX_SCALAR_CHARS = 10_000
"""Longest single value (text, number or key) in a file or override, in characters."""
MAX_ALIASES = 100
"""Most YAML aliases (``*name``) in one document; a scenario needs few or none."""
MAX_ALIAS_VALUES = 10_000
"""Most values the aliases of one document may stand for, all together (so that a few
aliases of aliases cannot expand into billions of values)."""
MAX_VALUES = 20_000
"""Most values (mappings, lists and the items in them, aliases expanded) in one document;
a scenario holds a few hundred. This bounds the time a file takes to read."""
MAX_NESTING = 50
"""Deepest nesting of mappings and lists in a document (a scenario nests about 5 deep)."""
MAX_OVERRIDE_CHARS = 10_000
"""Longest ``--set dotted.path=value`` override, in characters."""
MAX_EXTENDS_CHAIN = 10
"""Most files in one chain of ``extends:``."""
SCENARIO_SUFFIXES = (".yaml", ".yml")
"""What the name of a file that ``extends:`` (or a sweep's ``base:``) names must end in."""


# --------------------------------------------------------------------------- reading YAML


class YAMLReadError(Exception):
    """YAML text that cannot be read as a scenario document; the message is one line."""


class _Refused(yaml.MarkedYAMLError):
    """A document refused before validation: too many aliases, too deep, a duplicate key…"""


class _GuardedLoader(yaml.SafeLoader):
    """The safe loader, with limits checked while the document is composed: aliases and
    what they expand to, nesting depth and value length; and no duplicate mapping keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._aliases = 0
        self._alias_values = 0
        self._depth = 0
        self._values = 0
        self._sizes: dict[yaml.Node, int] = {}

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _Refused(
                    problem=f"more than {MAX_ALIASES} aliases (*name); a scenario "
                    "needs few or none",
                    problem_mark=event.start_mark,
                )
            target = self.anchors.get(event.anchor)
            if target is not None:
                size = self._sizes.get(target)
                if size is None:
                    raise _Refused(
                        problem=f"the alias *{event.anchor} is inside the value it "
                        "names (a structure that contains itself)",
                        problem_mark=event.start_mark,
                    )
                self._alias_values += size
                self._values += size  # the alias's expansion is part of its parent's size
                if self._alias_values > MAX_ALIAS_VALUES:
                    raise _Refused(
                        problem=f"the aliases stand for more than "
                        f"{MAX_ALIAS_VALUES:,} values in all",
                        problem_mark=event.start_mark,
                    )
            return super().compose_node(parent, index)
        if isinstance(event, yaml.ScalarEvent) and len(event.value) > MAX_SCALAR_CHARS:
            raise _Refused(
                problem=f"a value of {len(event.value):,} characters; at most {MAX_SCALAR_CHARS:,}",
                problem_mark=event.start_mark,
            )
        self._depth += 1
        if self._depth > MAX_NESTING:
            raise _Refused(
                problem=f"mappings and lists nested deeper than {MAX_NESTING} levels",
                problem_mark=event.start_mark,
            )
        before = self._values
        self._values += 1
        if self._values > MAX_VALUES:
            raise _Refused(
                problem=f"more than {MAX_VALUES:,} values in one document; a scenario holds "
                "a few hundred",
                problem_mark=event.start_mark,
            )
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        self._sizes[node] = self._values - before
        return node

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError, ArithmeticError) as exc:
            # e.g. a date 2001-13-01 or an integer of more than 4,300 digits
            raise _Refused(
                problem=f"cannot read this value ({exc})", problem_mark=node.start_mark
            ) from None

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            first_seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=deep)
                try:
                    first = first_seen.setdefault(key, key_node.start_mark)
                except TypeError:  # an unhashable key: the safe loader refuses it
                    continue
                if first is not key_node.start_mark:
                    raise _Refused(
                        problem=f"duplicate key {bounded_repr(key, 60)} (first at "
                        f"line {first.line + 1}); each key may appear once",
                        problem_mark=key_node.start_mark,
                    )
        return super().construct_mapping(node, deep)


_GuardedLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)
"""Numbers such as 1e6 and 7.5e5 are floats (as in YAML 1.2 and JSON); YAML 1.1 would read
them as text, which the strict number fields refuse."""


def parse_yaml(text: str) -> Any:
    """Parse one YAML document safely and within the limits above.

    Raises:
        YAMLReadError: malformed YAML, a refused document or a value that cannot be read; the
            message (one line) says where (line and column) and what is wrong.
    """
    loader = None
    try:
        loader = _GuardedLoader(text)  # reads the text: may raise a ReaderError
        return loader.get_single_data()
    except _Refused as exc:
        raise YAMLReadError(f"{_where(exc)}: {exc.problem}") from None
    except yaml.MarkedYAMLError as exc:
        context = ""
        if exc.context:
            context = f" ({exc.context}"
            if exc.context_mark is not None and exc.context_mark is not exc.problem_mark:
                context += f" that starts at line {exc.context_mark.line + 1}"
            context += ")"
        raise YAMLReadError(f"malformed YAML at {_where(exc)}: {exc.problem}{context}") from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        name = "a NUL character" if exc.character == 0 else f"character #x{exc.character:04x}"
        raise YAMLReadError(
            f"line {line}, column {column}: {name}, which YAML does not allow"
        ) from None
    except yaml.YAMLError as exc:
        raise YAMLReadError(f"malformed YAML: {exc}") from None
    except RecursionError:
        raise YAMLReadError(f"nested deeper than {MAX_NESTING} levels") from None
    finally:
        if loader is not None:
            loader.dispose()


def _where(exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    if mark is None:
        return "an unknown place"
    return f"line {mark.line + 1}, column {mark.column + 1}"


def _read_text(file: Path, kind: str = "scenario file") -> str:
    """The text of a regular UTF-8 file of at most `MAX_FILE_BYTES` bytes."""
    source = str(file)
    try:
        status = file.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise ScenarioError(source, "", None, f"the {kind} does not exist") from None
    except (OSError, ValueError) as exc:
        raise ScenarioError(source, "", None, f"cannot read the {kind} ({_reason(exc)})") from None
    if not stat.S_ISREG(status.st_mode):
        raise ScenarioError(source, "", None, f"the {kind} is not a regular file")
    try:
        with file.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(source, "", None, f"cannot read the {kind} ({_reason(exc)})") from None
    if len(data) > MAX_FILE_BYTES:
        raise ScenarioError(
            source,
            "",
            None,
            f"the {kind} is larger than 1 MB ({MAX_FILE_BYTES:,} bytes), the most a {kind} may be",
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ScenarioError(
            source,
            "",
            None,
            f"not UTF-8 text: byte 0x{data[exc.start]:02x} at "
            f"line {line} (byte {exc.start}) cannot be decoded; save the "
            "file as UTF-8",
        ) from None


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or type(exc).__name__


def _kind_of(value: Any) -> str:
    """What a document holds, in words, without quoting it."""
    if value is None:
        return "nothing"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "plain text"
    if isinstance(value, bool | int | float):
        return "a single number or boolean"
    return f"a single {type(value).__name__} value"


# --------------------------------------------------------------------------- loading


def load_scenario(path: str | Path, overrides: Iterable[str] = ()) -> Scenario:
    """Read, override and validate a scenario file.

    Args:
        path: the YAML file.
        overrides: ``dotted.path=value`` strings applied before validation; the value is
            parsed as YAML (``3``, ``0.2``, ``true``, ``[1, 2]``).

    Raises:
        ScenarioError: the file is missing or malformed, or a value is invalid.
    """
    file = Path(path)
    raw = read_scenario_mapping(file)
    if "name" not in raw:
        if not valid_name(file.stem):
            raise ScenarioError(
                str(path),
                "name",
                file.stem,
                "the file gives no name, so its "
                f"file name is used, which is not {NAME_RULE}; add name: …",
            )
        raw["name"] = file.stem
    return scenario_from_dict(raw, source=str(path), overrides=overrides)


def valid_name(name: Any) -> bool:
    """Whether `name` is a valid scenario or sweep name (see `sim.fields.NAME_PATTERN`)."""
    return (
        isinstance(name, str)
        and len(name) <= NAME_MAX_LENGTH
        and re.fullmatch(NAME_PATTERN, name) is not None
    )


def read_scenario_mapping(
    file: Path, _seen: tuple[Path, ...] = (), kind: str = "scenario file"
) -> dict[str, Any]:
    """The raw mapping of a scenario file, with ``extends: other.yaml`` merged in.

    A file that extends another starts from that file's mapping (path relative to the
    extending file) and deep-merges its own keys over it: mappings merge key by key, any
    other value (lists included) replaces the inherited one. Sweep files are read here too.

    The file must be a regular UTF-8 file of at most `MAX_FILE_BYTES`; its YAML is read by
    `parse_yaml` (limits on aliases, nesting and value length; no duplicate keys). The file
    an ``extends:`` names must end in .yaml or .yml and hold a mapping; errors about it name
    it and the problem, never its content.
    """
    source = str(file)
    try:
        raw = parse_yaml(_read_text(file, kind))
    except YAMLReadError as exc:
        raise ScenarioError(source, "", None, str(exc)) from None
    if not isinstance(raw, dict):
        raise ScenarioError(
            source,
            "",
            None,
            f"a {kind} must be a YAML mapping (key: value lines); this one holds {_kind_of(raw)}",
        )
    parent = raw.pop("extends", None)
    if parent is None:
        return raw
    allowed = f"the path of another {kind} ending in .yaml or .yml"
    if not isinstance(parent, str) or not parent.strip():
        raise ScenarioError(source, "extends", parent, allowed)
    try:
        here = file.resolve()
        parent_file = (file.parent / parent).resolve()
    except (OSError, RuntimeError, ValueError):
        raise ScenarioError(source, "extends", parent, f"{allowed}; it cannot be read") from None
    if not all(p.suffix.lower() in SCENARIO_SUFFIXES for p in (Path(parent), parent_file)):
        raise ScenarioError(source, "extends", parent, allowed)
    if parent_file in _seen or parent_file == here:
        raise ScenarioError(source, "extends", parent, "scenario files may not extend in a cycle")
    if len(_seen) + 2 > MAX_EXTENDS_CHAIN:  # the files read so far, this one and its parent
        raise ScenarioError(
            source, "extends", parent, f"at most {MAX_EXTENDS_CHAIN} files in a chain of extends"
        )
    if not parent_file.exists():
        raise ScenarioError(source, "extends", parent, f"no such file ({parent_file})")
    base = read_scenario_mapping(parent_file, (*_seen, here), kind)
    base.pop("name", None)
    return _deep_merge(base, raw)


def _deep_merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def scenario_from_dict(
    raw: Mapping[str, Any], source: str = "<dict>", overrides: Iterable[str] = ()
) -> Scenario:
    """Validate a scenario given as a plain mapping (as parsed from YAML)."""
    if not isinstance(raw, Mapping):
        raise ScenarioError(source, "", None, "a scenario must be a mapping of fields")
    scenario = _validate(dict(raw), source)
    overrides = list(overrides)
    if not overrides:
        return scenario
    data = scenario.model_dump(mode="json")
    for text in overrides:
        _apply_override(data, text)
    sets = " ".join(f"--set {one_line(o, 60)}" for o in overrides)
    return _validate(data, f"{source} with {sets}")


def with_overrides(scenario: Scenario, overrides: Mapping[str, Any]) -> Scenario:
    """A copy of `scenario` with dotted-path values replaced, validated like a file.

    Numpy scalars are taken as the plain Python numbers they hold.
    """
    data = scenario.model_dump(mode="json")
    for dotted, value in overrides.items():
        plain = value.item() if isinstance(value, np.generic) else value
        label = f"{one_line(str(dotted), 80)}={bounded_repr(value, 60)}"
        if not isinstance(dotted, str):
            raise ScenarioError(label, "", dotted, "an override names a dotted field path")
        _set_path(data, dotted, plain, label)
    return _validate(data, f"{scenario.name} with overrides")


def _apply_override(data: dict[str, Any], text: str) -> None:
    source = f"--set {text}"
    if not isinstance(text, str):
        raise ScenarioError(source, "", text, "overrides take the form dotted.path=value")
    if len(text) > MAX_OVERRIDE_CHARS:
        raise ScenarioError(
            source,
            "",
            None,
            f"an override of {len(text):,} characters; at most {MAX_OVERRIDE_CHARS:,}",
        )
    if "=" not in text:
        raise ScenarioError(source, "", text, "overrides take the form dotted.path=value")
    dotted, _, value_text = text.partition("=")
    try:
        value = parse_yaml(value_text)
    except YAMLReadError as exc:
        raise ScenarioError(
            source, dotted.strip(), value_text, f"a YAML value (number, text, list): {exc}"
        ) from None
    _set_path(data, dotted.strip(), value, source)


def _set_path(data: dict[str, Any], dotted: str, value: Any, source: str) -> None:
    """Set the value at a dotted path of a scenario's data.

    The path may name any field the schema declares, also one the data does not hold yet
    (e.g. a capability a file does not list): the schema's annotations are walked alongside
    the data. Entries of free-form mappings (touchpoints, journeys) must exist.
    """
    keys = dotted.split(".")
    node: Any = data
    annotation: Any = Scenario
    for depth, key in enumerate(keys):
        here = ".".join(keys[: depth + 1])
        last = depth == len(keys) - 1
        if isinstance(node, list):
            index = _list_index(node, key)
            if index is None:
                names = [str(i) for i in range(len(node))]
                names += [
                    str(item["name"]) for item in node if isinstance(item, dict) and "name" in item
                ]
                raise ScenarioError(source, here, key, f"allowed: {', '.join(names)}")
            annotation = _child(annotation, key)[1]
            if last:
                node[index] = value
            node = node[index]
        elif isinstance(node, dict):
            declared, child = _child(annotation, key)
            if key not in node and not declared:
                raise ScenarioError(source, here, key, _no_such(annotation, node))
            if not last and node.get(key) is None and _is_mapping_type(child):
                node[key] = {}
            annotation = child
            if last:
                node[key] = value
            node = node.get(key)
        else:
            raise ScenarioError(source, here, key, "the path goes below a plain value")


def _index(key: str) -> int | None:
    """The list index a path part names, if it is a (short) number."""
    return int(key) if key.isdecimal() and len(key) <= 9 else None


def _list_index(items: list[Any], key: str) -> int | None:
    index = _index(key)
    if index is not None and index < len(items):
        return index
    for i, item in enumerate(items):
        if isinstance(item, dict) and item.get("name") == key:
            return i
    return None


def _no_such(annotation: Any, node: dict[str, Any]) -> str:
    """What a path may name instead of an unknown key."""
    kind = _strip(annotation)
    if _is_model(kind):
        return f"no such field; allowed: {', '.join(kind.model_fields)}"
    keys = _literal_values(get_args(kind)[0]) if get_origin(kind) is dict else None
    if keys is not None:
        return f"no such field; allowed: {', '.join(keys)}"
    existing = ", ".join(sorted(map(str, node))) or "(none)"
    if get_origin(kind) is dict:
        return f"no such entry; allowed: {existing} (new entries are added in the file)"
    return f"no such field; allowed: {existing}"


# ------------------------------------------------------------ walking the schema's annotations


def _strip(annotation: Any) -> Any:
    """An annotation without Annotated[...] and `| None`; of a union of a model, dict or
    list with plain types (e.g. ``Literal["initial"] | Level``), the container."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, UnionType):
            options = [_strip(a) for a in get_args(annotation) if a is not type(None)]
            containers = [a for a in options if _is_model(a) or get_origin(a) in _CONTAINERS]
            if containers:
                return containers[0]
            return options[0] if len(options) == 1 else annotation
        else:
            return annotation


_CONTAINERS = (dict, list, tuple)


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _is_mapping_type(annotation: Any) -> bool:
    kind = _strip(annotation)
    return _is_model(kind) or get_origin(kind) is dict


def _literal_values(annotation: Any) -> tuple[Any, ...] | None:
    kind = _strip(annotation)
    return get_args(kind) if get_origin(kind) is Literal else None


def _child(annotation: Any, key: str) -> tuple[bool, Any]:
    """Whether the schema at `annotation` declares `key`, and the annotation below it
    (None when unknown). Keys of a free-form mapping (``dict[str, …]``) are not declared."""
    kind = _strip(annotation)
    if _is_model(kind):
        field = kind.model_fields.get(key)
        return (True, field.annotation) if field is not None else (False, None)
    origin, args = get_origin(kind), get_args(kind)
    if origin is dict and len(args) == 2:
        keys = _literal_values(args[0])
        return (keys is not None and key in keys), args[1]
    if origin is list and args:
        return False, args[0]
    if origin is tuple and args:
        if len(args) == 2 and args[1] is Ellipsis:
            return False, args[0]
        return False, args[min(_index(key) or 0, len(args) - 1)]
    return False, None


# --------------------------------------------------------------------------- validating


def _validate(data: dict[str, Any], source: str) -> Scenario:
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise _scenario_error(exc, data, source) from None
    except RecursionError:
        raise ScenarioError(source, "", None, "the values nest too deeply") from None
    _check_references(scenario, source)
    return scenario


_TYPE_MESSAGES = {
    "int_type": "expected an integer (a whole number, without quotes; not true/false or 12.0)",
    "float_type": "expected a number (without quotes; not true/false)",
    "bool_type": "expected true or false",
    "finite_number": "expected a finite number (not .inf or .nan)",
    "string_type": "expected text",
    "dict_type": "expected a mapping (key: value)",
    "model_type": "expected a mapping (key: value)",
    "model_attributes_type": "expected a mapping (key: value)",
    "list_type": "expected a list",
    "tuple_type": "expected a list",
}


def validation_message(error: Mapping[str, Any], path: str = "") -> str:
    """What is allowed, in words, for one error of a pydantic `ValidationError`."""
    kind = error["type"]
    if path == "name" and kind.startswith("string_"):
        return NAME_RULE
    given = error.get("input")
    if kind == "float_type" and isinstance(given, int) and not isinstance(given, bool):
        return "expected a number below 1.8e308 (the largest floating-point number)"
    if kind in _TYPE_MESSAGES:
        return _TYPE_MESSAGES[kind]
    ctx = error.get("ctx") or {}
    if "expected" in ctx:
        return f"expected one of {ctx['expected']}"
    return str(error["msg"])


def _data_path(data: Any, loc: Sequence[Any]) -> list[str]:
    """The part of an error location that names data (without pydantic's union tags)."""
    path: list[str] = []
    node = data
    for part in loc:
        in_list = isinstance(node, list | tuple) and isinstance(part, int) and part < len(node)
        if not (in_list or (isinstance(node, dict) and part in node)):
            break
        node = node[part]
        path.append(str(part))
    return path


def _scenario_error(exc: ValidationError, data: dict[str, Any], source: str) -> ScenarioError:
    errors = exc.errors()
    first = errors[0]
    loc = [part for part in first["loc"] if part != "[key]"]
    kind = first["type"]
    if kind == "extra_forbidden":
        names = [str(part) for part in loc]
        allowed = _allowed_keys(names[:-1])
        return ScenarioError(
            source, ".".join(names), loc[-1], f"unknown key; allowed keys: {allowed}"
        )
    if kind == "missing":
        return ScenarioError(source, ".".join(map(str, loc)), None, "this field is required")
    names = _data_path(data, loc) if loc else []
    path = ".".join(names)
    if len(names) < len(loc):  # a union: say every alternative
        same = [e for e in errors if _data_path(data, e["loc"]) == names]
        messages = list(dict.fromkeys(validation_message(e, path) for e in same))
        if all(m.startswith("expected ") for m in messages):
            messages = ["expected " + " or ".join(m.removeprefix("expected ") for m in messages)]
        return ScenarioError(source, path, first.get("input"), " or ".join(messages))
    return ScenarioError(source, path, first.get("input"), validation_message(first, path))


def _allowed_keys(loc: list[str]) -> str:
    annotation: Any = Scenario
    for part in loc:
        annotation = _child(annotation, part)[1]
    kind = _strip(annotation)
    return ", ".join(kind.model_fields) if _is_model(kind) else "(see docs/model.md)"


def _check_references(scenario: Scenario, source: str) -> None:
    """Checks that span several fields: shares, names, journeys."""
    segments = scenario.market.segments
    total = sum(s.share for s in segments)
    if not math.isclose(total, 1.0, abs_tol=SHARE_TOLERANCE):
        shares = [s.share for s in segments]
        raise ScenarioError(
            source,
            "market.segments.*.share",
            shares,
            f"shares must sum to 1 (within {SHARE_TOLERANCE:g}); they sum to {total:.6g}",
        )
    names = [s.name for s in segments]
    for i, name in enumerate(names):
        if names.index(name) != i:
            raise ScenarioError(
                source, f"market.segments.{i}.name", name, "segment names must be unique"
            )
    for i, segment in enumerate(segments):
        if segment.journey not in scenario.journeys:
            allowed = ", ".join(scenario.journeys) or "(no journeys defined)"
            raise ScenarioError(
                source,
                f"market.segments.{i}.journey",
                segment.journey,
                f"unknown journey; allowed: {allowed}",
            )
    for journey, steps in scenario.journeys.items():
        if not steps:
            raise ScenarioError(
                source, f"journeys.{journey}", steps, "a journey needs at least one touchpoint"
            )
        for j, step in enumerate(steps):
            if step not in scenario.touchpoints:
                allowed = ", ".join(scenario.touchpoints)
                raise ScenarioError(
                    source,
                    f"journeys.{journey}.{j}",
                    step,
                    f"unknown touchpoint; allowed: {allowed}",
                )
            if steps.index(step) != j:
                raise ScenarioError(
                    source, f"journeys.{journey}.{j}", step, "a touchpoint appears once per journey"
                )
    network = scenario.market.network
    if network.kind != "complete" and network.mean_degree >= scenario.market.size:
        raise ScenarioError(
            source,
            "market.network.mean_degree",
            network.mean_degree,
            f"must be below the market size ({scenario.market.size})",
        )
    if network.kind == "watts_strogatz" and network.mean_degree % 2:
        raise ScenarioError(
            source,
            "market.network.mean_degree",
            network.mean_degree,
            "watts_strogatz needs an even mean degree",
        )
    chosen = scenario.firm.personalisation.touchpoints or []
    for i, name in enumerate(chosen):
        if name not in scenario.touchpoints:
            allowed = ", ".join(scenario.touchpoints)
            raise ScenarioError(
                source,
                f"firm.personalisation.touchpoints.{i}",
                name,
                f"unknown touchpoint; allowed: {allowed}",
            )
    for name, touchpoint in scenario.touchpoints.items():
        weight = sum(touchpoint.drivers.values())
        if not 0 < weight < math.inf:
            raise ScenarioError(
                source,
                f"touchpoints.{name}.drivers",
                dict(touchpoint.drivers),
                "at least one driver weight must be positive, and their sum finite",
            )
