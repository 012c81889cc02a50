"""Scenarios: a YAML file validated into a frozen, typed description of one simulated market.

A scenario says everything a run needs: the market and its segments, the touchpoints and the
journeys that string them together, the firm's capability profile, the support desk,
acquisition, the behavioural parameters and the economics. Every default lives here, in the
field definitions, and docs/model.md explains each one. This is the only module that reads
YAML; the model is built from a `Scenario`, never from a file.

Validation is strict: unknown keys, wrong types, values out of range, shares that do not sum
to one, journeys naming unknown touchpoints and drivers naming unknown capabilities are
reported as a `ScenarioError` naming the file, the field path, the value and what is allowed.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError

from sim.contact_centre.simulation import HANDLE_TIME_DISTRIBUTIONS
from sim.errors import ScenarioError
from sim.fields import NonNegative, Probability, Share, Strict
from sim.firm_config import Capability, Firm, Sourcing

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
    hours_per_month: Annotated[float, Field(gt=0.0, le=744.0)] = 220.0
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

    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")]
    description: str = ""
    months: Annotated[int, Field(ge=1, le=600)] = 60
    seed: Annotated[int, Field(ge=0)] = 20261125
    replications: Annotated[int, Field(ge=1, le=100_000)] = 10
    market: Market = Market()
    touchpoints: dict[str, Touchpoint] = Field(default_factory=_default_touchpoints)
    journeys: dict[str, list[str]] = Field(
        default_factory=lambda: {"standard": list(_default_touchpoints())}
    )
    firm: Firm = Firm()
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
    raw = read_scenario_mapping(Path(path))
    raw.setdefault("name", Path(path).stem)
    return scenario_from_dict(raw, source=str(path), overrides=overrides)


def read_scenario_mapping(file: Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The raw mapping of a scenario file, with ``extends: other.yaml`` merged in.

    A file that extends another starts from that file's mapping (path relative to the
    extending file) and deep-merges its own keys over it: mappings merge key by key, any
    other value (lists included) replaces the inherited one.
    """
    source = str(file)
    if not file.is_file():
        raise ScenarioError(source, "", None, "the scenario file does not exist")
    try:
        raw = yaml.safe_load(file.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown place"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(source, "", None, f"malformed YAML at {where}: {problem}") from None
    if not isinstance(raw, dict):
        raise ScenarioError(source, "", raw, "a scenario file must be a YAML mapping")
    parent = raw.pop("extends", None)
    if parent is None:
        return raw
    if not isinstance(parent, str):
        raise ScenarioError(source, "extends", parent, "the path of another scenario file")
    parent_file = (file.parent / parent).resolve()
    if parent_file in _seen or parent_file == file.resolve():
        raise ScenarioError(source, "extends", parent, "scenario files may not extend in a cycle")
    if not parent_file.is_file():
        raise ScenarioError(source, "extends", parent, f"no such file ({parent_file})")
    base = read_scenario_mapping(parent_file, (*_seen, file.resolve()))
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
    scenario = _validate(dict(raw), source)
    overrides = list(overrides)
    if not overrides:
        return scenario
    data = scenario.model_dump(mode="json")
    for text in overrides:
        _apply_override(data, text)
    return _validate(data, source + " with " + " ".join(f"--set {o}" for o in overrides))


def with_overrides(scenario: Scenario, overrides: Mapping[str, Any]) -> Scenario:
    """A copy of `scenario` with dotted-path values replaced, validated like a file."""
    data = scenario.model_dump(mode="json")
    for dotted, value in overrides.items():
        _set_path(data, dotted, value, f"{dotted}={value!r}")
    return _validate(data, f"{scenario.name} with overrides")


def _apply_override(data: dict[str, Any], text: str) -> None:
    source = f"--set {text}"
    if "=" not in text:
        raise ScenarioError(source, "", text, "overrides take the form dotted.path=value")
    dotted, _, value_text = text.partition("=")
    try:
        value = yaml.safe_load(value_text)
    except yaml.YAMLError:
        raise ScenarioError(
            source, dotted, value_text, "a YAML value (number, text, list)"
        ) from None
    _set_path(data, dotted.strip(), value, source)


def _set_path(data: dict[str, Any], dotted: str, value: Any, source: str) -> None:
    keys = dotted.split(".")
    node: Any = data
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
            if last:
                node[index] = value
            node = node[index]
        elif isinstance(node, dict):
            if key not in node:
                allowed = ", ".join(sorted(node)) or "(none)"
                raise ScenarioError(source, here, key, f"no such field; allowed: {allowed}")
            if last:
                node[key] = value
            node = node[key]
        else:
            raise ScenarioError(source, here, key, "the path goes below a plain value")


def _list_index(items: list[Any], key: str) -> int | None:
    if key.isdigit() and int(key) < len(items):
        return int(key)
    for i, item in enumerate(items):
        if isinstance(item, dict) and item.get("name") == key:
            return i
    return None


def _validate(data: dict[str, Any], source: str) -> Scenario:
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise _scenario_error(exc, data, source) from None
    _check_references(scenario, source)
    return scenario


def _scenario_error(exc: ValidationError, data: dict[str, Any], source: str) -> ScenarioError:
    first = exc.errors()[0]
    loc = [str(part) for part in first["loc"] if part != "[key]"]
    path = ".".join(loc)
    kind = first["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        return ScenarioError(source, path, loc[-1], f"unknown key; allowed keys: {allowed}")
    if kind == "missing":
        return ScenarioError(source, path, None, "this field is required")
    allowed = first["msg"]
    ctx = first.get("ctx") or {}
    if "expected" in ctx:
        allowed = f"expected one of {ctx['expected']}"
    return ScenarioError(source, path, first.get("input"), allowed)


def _allowed_keys(loc: list[str]) -> str:
    model: Any = Scenario
    for part in loc:
        if part.isdigit() or model is None:
            continue
        fields = getattr(model, "model_fields", {})
        if part in fields:
            annotation = fields[part].annotation
            model = _model_in(annotation)
        elif model is not None and getattr(model, "model_fields", None) is None:
            model = None
    if model is None or not hasattr(model, "model_fields"):
        return "(see docs/model.md)"
    return ", ".join(model.model_fields)


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _check_references(scenario: Scenario, source: str) -> None:
    """Checks that span several fields: shares, names, journeys."""
    segments = scenario.market.segments
    total = sum(s.share for s in segments)
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        shares = [s.share for s in segments]
        raise ScenarioError(
            source,
            "market.segments.*.share",
            shares,
            f"shares must sum to 1 (they sum to {total:.6g})",
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
        raise ScenarioError(source, "market.network.mean_degree", network.mean_degree,
                            f"must be below the market size ({scenario.market.size})")  # fmt: skip
    if network.kind == "watts_strogatz" and network.mean_degree % 2:
        raise ScenarioError(source, "market.network.mean_degree", network.mean_degree,
                            "watts_strogatz needs an even mean degree")  # fmt: skip
    chosen = scenario.firm.personalisation.touchpoints or []
    for i, name in enumerate(chosen):
        if name not in scenario.touchpoints:
            allowed = ", ".join(scenario.touchpoints)
            raise ScenarioError(source, f"firm.personalisation.touchpoints.{i}", name,
                                f"unknown touchpoint; allowed: {allowed}")  # fmt: skip
    for name, touchpoint in scenario.touchpoints.items():
        if sum(touchpoint.drivers.values()) <= 0:
            raise ScenarioError(
                source,
                f"touchpoints.{name}.drivers",
                dict(touchpoint.drivers),
                "at least one driver weight must be positive",
            )
