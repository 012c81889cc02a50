"""The levers a class moves on the classroom page, in CX words, and how each sets a scenario.

A lever is one control of the page (a slider or a selector) with a label a student reads
("Journey design", "Contact-centre agents"), a group it is shown in, its range, and the
scenario field(s) it sets. `settings_of` reads every lever's value from a scenario;
`apply_settings` writes changed values back as dotted-path overrides
(`sim.scenario.with_overrides`, validated like a file), so a setting a class picks is
always a valid scenario: every slider's range lies inside the schema's bounds
(`check_levers` holds the table to that), and a selector offers only allowed values. A
lever left at the scenario's own value writes nothing, so the page with no lever moved runs
the scenario exactly as the file states it.

Amounts of money scale with the market: the investment sliders run to
`INVESTMENT_PER_PERSON_PER_YEAR` cu per person in the market per year, so that a small,
fast classroom market offers the same range of programmes relative to its size as the
20,000-person baseline (up to 500 k cu a year per capability there).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sim.scenario import Scenario, with_overrides
from sim.scenario.firm import CAPABILITIES, MATURITY_LEVELS
from sim.scenario.overrides import field_annotation, field_constraints, value_at

CAPABILITY_WORDS: dict[str, str] = {
    "experience_strategy": "CX strategy",
    "customer_understanding": "Customer understanding",
    "experience_design": "Journey design",
    "governance": "Governance",
    "culture": "Customer-centric culture",
    "measurement": "Measurement (voice of the customer)",
    "technology": "Technology",
    "processes": "Processes",
}
"""Each of the eight CXM capabilities as a class names it."""

GROUPS: tuple[str, ...] = (
    "Market and run",
    "Capabilities (level 0–5)",
    "Extra investment (cu per year)",
    "Maturity and organisation",
    "Contact centre",
    "Surveys",
    "Word of mouth",
)
"""The page's groups of levers, in the order shown."""

CLASSROOM_MARKET_SIZES: tuple[int, ...] = (500, 1_000, 2_000, 5_000, 10_000, 20_000)
"""Market sizes (people) a class can pick; small markets step fast."""
CLASSROOM_MARKET_SIZE = 2_000
"""The page's default market (people): a month of three replications steps in a fraction
of a second, and its word-of-mouth network is small enough to draw."""
MAX_MONTHS = 120
"""Longest horizon the page offers, months."""
INVESTMENT_PER_PERSON_PER_YEAR = 25.0
"""Top of each investment slider, cu per person in the market per year."""
INVESTMENT_STEPS = 20
"""Positions of an investment slider above zero."""
MAX_AGENTS = 40
"""Most agents the contact-centre slider offers (0 means: staffed to the service-level
target every hour, ``agents: auto``)."""
AUTO_AGENTS = 0
"""The agents slider's position for ``agents: auto``."""
NETWORK_WORDS: dict[str, str] = {
    "complete": "Everyone hears everyone (Bass)",
    "erdos_renyi": "Random ties",
    "watts_strogatz": "Small world",
    "barabasi_albert": "A few very connected people (scale-free)",
}
"""The word-of-mouth networks as a class names them."""
MATURITY_WORDS: dict[str, str] = {"auto": "Follows the capabilities"} | {
    level: level.capitalize() for level in MATURITY_LEVELS
}
"""Maturity settings as shown."""
ORG_WORDS: dict[str, str] = {
    "centralised": "Central CX office",
    "distributed": "Owned by each unit",
    "hybrid": "Hybrid (central standards, local leads)",
    "executive_led": "Led by a chief customer officer",
}
"""The organisational models as shown."""
SOURCING_WORDS: dict[str, str] = {
    "in_house": "In house",
    "creative_partner": "Outsourced to a quality partner",
    "transactional_supplier": "Outsourced to a low-cost supplier",
}
"""The sourcing options of support as shown."""


@dataclass(frozen=True)
class Lever:
    """One control of the page.

    Attributes:
        key: its identifier (a Python name; the page's parameter).
        label: what the page shows, in CX words.
        group: one of `GROUPS`.
        path: the scenario field it sets (dotted path), or a description of the fields when
            `write` sets several.
        low, high, step: a slider's range and step (None for a selector).
        choices: a selector's values → the words shown (None for a slider).
        read: the lever's value in a scenario.
        write: the overrides (dotted path → value) that give the scenario this value.
        help: what moving it does, in one sentence (the table's documentation; Mesa's
            controls show the label only).
    """

    key: str
    label: str
    group: str
    path: str
    read: Callable[[Scenario], Any]
    write: Callable[[Scenario, Any], dict[str, Any]]
    low: float | None = None
    high: float | None = None
    step: float | None = None
    choices: Mapping[str, str] | None = None
    help: str = ""

    @property
    def is_slider(self) -> bool:
        """Whether the page shows it as a slider (else a selector)."""
        return self.choices is None

    @property
    def is_integer(self) -> bool:
        """Whether its slider takes whole numbers only."""
        return self.is_slider and all(
            float(v).is_integer() for v in (self.low, self.high, self.step)
        )

    def allowed(self, value: Any) -> bool:
        """Whether `value` is one the control can take."""
        if not self.is_slider:
            return value in self.choices
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if not math.isfinite(value) or not self.low <= value <= self.high:
            return False
        return not self.is_integer or float(value).is_integer()


def _simple(path: str) -> tuple[Callable[[Scenario], Any], Callable[[Scenario, Any], dict]]:
    """Read and write one field by its dotted path."""

    def read(scenario: Scenario) -> Any:
        return value_at(scenario.model_dump(mode="json"), path)

    def write(scenario: Scenario, value: Any) -> dict[str, Any]:
        return {path: value}

    return read, write


def _capability(name: str) -> Lever:
    _, write = _simple(f"firm.capabilities.{name}")
    return Lever(
        key=f"level_{name}",
        label=CAPABILITY_WORDS[name],
        group=GROUPS[1],
        path=f"firm.capabilities.{name}",
        read=lambda s: float(s.capability(name)),
        write=write,
        low=0.0,
        high=5.0,
        step=0.25,
        help=f"How well the firm does {CAPABILITY_WORDS[name].lower()} today: 0 absent, 5 leading.",
    )


def _investment(name: str) -> Lever:
    def read(scenario: Scenario) -> float:
        return 0.0

    def write(scenario: Scenario, value: float) -> dict[str, Any]:
        existing = [i.model_dump(mode="json") for i in scenario.firm.investments]
        added = {"capability": name, "per_year": float(value), "start_month": 1}
        return {"firm.investments": [*existing, added]}

    return Lever(
        key=f"invest_{name}",
        label=CAPABILITY_WORDS[name],
        group=GROUPS[2],
        path=f"firm.investments (capability {name}, per_year, from month 1)",
        read=read,
        write=write,
        low=0.0,
        high=1.0,  # scaled to the market by `levers_for`
        step=1.0,
        help=(
            f"Money put into {CAPABILITY_WORDS[name].lower()} every year from month 1, on top of "
            "what the scenario already invests; it raises the level after a lag."
        ),
    )


def _survey_response() -> Lever:
    def read(scenario: Scenario) -> float:
        segments = scenario.market.segments
        total = sum(s.share for s in segments)
        mean = sum(s.share * s.survey_response for s in segments) / total
        return round(mean, 2)

    def write(scenario: Scenario, value: float) -> dict[str, Any]:
        return {
            f"market.segments.{s.name}.survey_response": float(value)
            for s in scenario.market.segments
        }

    return Lever(
        key="survey_response",
        label="Share of customers who answer a survey",
        group=GROUPS[5],
        path="market.segments.<every segment>.survey_response",
        read=read,
        write=write,
        low=0.01,
        high=1.0,
        step=0.01,
        help="Who answers is self-selected: the happy and the angry answer more often.",
    )


def _agents() -> Lever:
    def read(scenario: Scenario) -> int:
        agents = scenario.support.contact_centre.agents
        return AUTO_AGENTS if agents == "auto" else min(int(agents), MAX_AGENTS)

    def write(scenario: Scenario, value: int) -> dict[str, Any]:
        agents = "auto" if int(value) == AUTO_AGENTS else int(value)
        return {"support.contact_centre.agents": agents}

    return Lever(
        key="agents",
        label="Contact-centre agents on duty (0: staffed to the 80/20 target)",
        group=GROUPS[4],
        path="support.contact_centre.agents",
        read=read,
        write=write,
        low=0,
        high=MAX_AGENTS,
        step=1,
        help="Fewer agents: longer waits, more callers hanging up, more effort.",
    )


def _choice(
    key: str, label: str, group: str, path: str, words: Mapping[str, str], help: str
) -> Lever:
    read, write = _simple(path)
    return Lever(key, label, group, path, read, write, choices=dict(words), help=help)


def _market_size() -> Lever:
    def read(scenario: Scenario) -> int:
        return int(scenario.market.size)

    return Lever(
        key="market_size",
        label="People in the market",
        group=GROUPS[0],
        path="market.size",
        read=read,
        write=lambda scenario, value: {"market.size": int(value)},
        choices={str(n): f"{n:,}" for n in CLASSROOM_MARKET_SIZES},
        help="Prospects, customers and lapsed customers; small markets step fast.",
    )


def _months() -> Lever:
    read, write = _simple("months")
    return Lever(
        key="months",
        label="Months to simulate",
        group=GROUPS[0],
        path="months",
        read=read,
        write=write,
        low=6,
        high=MAX_MONTHS,
        step=6,
        help="The horizon: Run stops here.",
    )


def _levers() -> tuple[Lever, ...]:
    return (
        _market_size(),
        _months(),
        *(_capability(c) for c in CAPABILITIES),
        *(_investment(c) for c in CAPABILITIES),
        _choice(
            "maturity",
            "Maturity level",
            GROUPS[3],
            "firm.maturity.level",
            MATURITY_WORDS,
            "Which CX practices the firm runs: reviews and fixes (managed), redesigns "
            "(proactive), prediction (predictive), aligned strategy (transformative).",
        ),
        _choice(
            "organisation",
            "Organisational model",
            GROUPS[3],
            "firm.organisation.model",
            ORG_WORDS,
            "Who owns CX: consistency, speed of local fixes, silos between units, overhead.",
        ),
        _agents(),
        _choice(
            "sourcing",
            "Who runs support",
            GROUPS[4],
            "support.sourcing.option",
            SOURCING_WORDS,
            "Outsourcing costs less per contact and changes quality, resolution and waits.",
        ),
        _survey_response(),
        _choice(
            "network",
            "Who talks to whom",
            GROUPS[6],
            "market.network.kind",
            NETWORK_WORDS,
            "The social network word of mouth travels over.",
        ),
    )


LEVERS: tuple[Lever, ...] = _levers()
"""Every lever of the page, in the order shown (by `GROUPS`)."""


def levers_for(scenario: Scenario) -> tuple[Lever, ...]:
    """The levers for `scenario`: `LEVERS`, with the investment sliders' range scaled to its
    market (`INVESTMENT_PER_PERSON_PER_YEAR`) and, for a scenario whose desk has no agents
    (mode ``service_level``), without the agents slider."""
    top = INVESTMENT_PER_PERSON_PER_YEAR * scenario.market.size
    out = []
    for lever in LEVERS:
        if lever.key == "agents" and scenario.support.mode == "service_level":
            continue
        if lever.key.startswith("invest_"):
            step = float(round(top / INVESTMENT_STEPS))
            lever = Lever(**{**lever.__dict__, "high": step * INVESTMENT_STEPS, "step": step})
        if lever.key == "market_size" and str(scenario.market.size) not in lever.choices:
            size = scenario.market.size
            lever = Lever(
                **{**lever.__dict__, "choices": {**lever.choices, str(size): f"{size:,}"}}
            )
        out.append(lever)
    return tuple(out)


def settings_of(scenario: Scenario) -> dict[str, Any]:
    """Every lever's value in `scenario` (lever key → value; market size as text, since the
    page offers sizes as a list)."""
    values = {lever.key: lever.read(scenario) for lever in levers_for(scenario)}
    values["market_size"] = str(values["market_size"])
    return values


def apply_settings(scenario: Scenario, settings: Mapping[str, Any]) -> Scenario:
    """`scenario` with every lever whose setting differs from the scenario's own value set.

    Raises:
        ScenarioError: an unknown lever, or a value the lever cannot take (the message names
            the lever and what is allowed; the page never sends one).
    """
    from sim.errors import ScenarioError

    size = settings.get("market_size")
    if size is not None and size != str(scenario.market.size) and size in _sizes(scenario):
        scenario = with_overrides(scenario, {"market.size": int(size)})
    levers = {lever.key: lever for lever in levers_for(scenario)}
    current = settings_of(scenario)
    overrides: dict[str, Any] = {}
    for key, value in settings.items():
        lever = levers.get(key)
        if lever is None:
            raise ScenarioError("classroom settings", key, value, f"levers: {', '.join(levers)}")
        if not lever.allowed(value):
            allowed = (
                ", ".join(lever.choices)
                if not lever.is_slider
                else f"{lever.low:g} to {lever.high:g} in steps of {lever.step:g}"
            )
            raise ScenarioError("classroom settings", key, value, f"allowed: {allowed}")
        if value != current[key]:
            overrides |= lever.write(scenario, value)
    return with_overrides(scenario, overrides) if overrides else scenario


def _sizes(scenario: Scenario) -> Mapping[str, str]:
    return next(lever.choices for lever in levers_for(scenario) if lever.key == "market_size")


def check_levers() -> list[str]:
    """Every slider range that leaves its field's schema bounds (none, when the table is
    right): so that no slider position can make an invalid scenario."""
    problems = []
    for lever in LEVERS:
        if not lever.is_slider or not lever.path.replace("_", "").replace(".", "").isalnum():
            continue
        field_annotation(lever.path)
        low, high, _ = field_constraints(lever.path)
        lowest = AUTO_AGENTS + 1 if lever.key == "agents" else lever.low  # 0 is `auto`
        if lowest < low or lever.high > high:
            problems.append(f"{lever.key}: {lever.low}–{lever.high} outside {low}–{high}")
    return problems
