"""Uncertainty files: the uncertain assumptions a comparison is repeated across.

An uncertainty file names assumptions the model rests on that nobody has calibrated (on the
firm side, what a capability level costs and how fast it comes and goes, what a level, a
recovered complaint or a redesign is worth; docs/model.md §15.4, §15.5) by their dotted
scenario paths, each a range with a distribution
(`sim.experiments.designs.Parameter`: uniform, triangular or truncated normal), and says how
many parameter sets to draw (``samples``, default `DEFAULT_SAMPLES`) and, optionally, the seed
of the draw and of every run. It is validated into an `Uncertainty` (`load_uncertainty`,
`uncertainty_from_dict`), which a study runs (`sim.experiments.uncertainty`) and the budget
optimiser averages over (`sim.experiments.optimise_uncertain`); docs/experiments.md shows the
format.

Refused, each in one `ScenarioError` that names the file, the field path, the value and what
is allowed:

- an unknown or mistyped field, ``samples`` below `MIN_SAMPLES` (one set has no spread) or
  above `sim.experiments.designs.MAX_DESIGN_SAMPLES`, no assumption or more than
  `sim.experiments.sweep_spec.MAX_PARAMETERS`;
- ``levels`` (an assumption is a range; levels are for sweeps), a range with low > high, an
  integer range that holds no integer, or a ``mode`` that is not a triangular peak within the
  range;
- a scenario field the comparison itself sets (`RESERVED`), or a path inside another path of
  the file;

and, once the compared scenarios are known (`check_scenarios`):

- an assumption that a compared scenario cannot take at either end of its range (checked with
  the scenario's own validation);
- an assumption whose value differs between the compared scenarios: varying it would erase
  the difference the comparison is about.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.errors import ScenarioError
from sim.experiments.designs import MAX_DESIGN_SAMPLES, Parameter, to_values
from sim.experiments.sweep_spec import MAX_PARAMETERS
from sim.scenario import Scenario, read_scenario_mapping, validation_error, with_overrides
from sim.scenario.fields import Name, Seed
from sim.scenario.overrides import value_at

DEFAULT_SAMPLES = 32
"""Parameter sets drawn when a file does not say."""
MIN_SAMPLES = 2
"""Fewest parameter sets: one set has no spread."""
RESERVED = ("name", "seed", "replications", "months")
"""Scenario fields that are not assumptions: the comparison itself sets them."""


class UncertaintySpec(BaseModel):
    """An uncertainty file, validated field by field (see docs/experiments.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    name: Name
    description: str = ""
    samples: Annotated[int, Field(ge=MIN_SAMPLES, le=MAX_DESIGN_SAMPLES)] = DEFAULT_SAMPLES
    """Parameter sets drawn by Latin hypercube (``--samples`` overrides it)."""
    seed: Seed | None = None
    """Seeds the draw and every run (default: the base scenario's; ``--seed`` overrides)."""
    parameters: Annotated[dict[str, Parameter], Field(min_length=1, max_length=MAX_PARAMETERS)]
    """Dotted scenario paths, each a `range` with a distribution (not `levels`)."""


@dataclass(frozen=True)
class Uncertainty:
    """A validated uncertainty file.

    Attributes:
        spec: its content.
        source: the file (or ``<dict>``).
    """

    spec: UncertaintySpec
    source: str

    @property
    def parameters(self) -> dict[str, Parameter]:
        return self.spec.parameters

    @property
    def content(self) -> dict[str, Any]:
        """The validated content, as JSON data."""
        return self.spec.model_dump(mode="json", exclude_none=True)

    @property
    def sha256(self) -> str:
        """SHA-256 of the validated content as canonical JSON (sorted keys, no spaces)."""
        text = json.dumps(self.content, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def set_count(self, samples: int | None = None) -> int:
        """Parameter sets a study runs: `samples` drawn (default: the file's), the median set,
        and a low and a high set per assumption."""
        drawn = self.spec.samples if samples is None else samples
        return drawn + 1 + 2 * len(self.parameters)


def load_uncertainty(path: str | Path) -> Uncertainty:
    """Read and validate an uncertainty file.

    Raises:
        ScenarioError: naming the file, the field path, the value and what is allowed.
    """
    file = Path(path)
    raw = read_scenario_mapping(file, kind="uncertainty file")
    return uncertainty_from_dict(raw, str(file))


def uncertainty_from_dict(raw: Mapping[str, Any], source: str = "<dict>") -> Uncertainty:
    """Validate an uncertainty file given as a mapping (as parsed from YAML); whether its
    assumptions suit the compared scenarios is checked by `check_scenarios`."""
    if not isinstance(raw, Mapping):
        raise ScenarioError(source, "", None, "an uncertainty file must be a mapping of fields")
    try:
        spec = UncertaintySpec.model_validate(dict(raw))
    except ValidationError as exc:
        raise validation_error(exc, dict(raw), source, UncertaintySpec) from None
    for name, parameter in spec.parameters.items():
        _check_parameter(name, parameter, list(spec.parameters), source)
    return Uncertainty(spec, source)


def _check_parameter(name: str, p: Parameter, names: list[str], source: str) -> None:
    where = f"parameters.{name}"
    if name in RESERVED:
        allowed = f"not an assumption: a comparison sets {', '.join(RESERVED)} itself"
        raise ScenarioError(source, where, name, allowed)
    inside = next((other for other in names if name.startswith(other + ".")), None)
    if inside is not None:
        raise ScenarioError(source, where, name, f"lies inside parameters.{inside}; vary one")
    if p.levels is not None:
        raise ScenarioError(
            source, f"{where}.levels", p.levels, "an assumption is a range: range: [low, high]"
        )
    if p.range is None:
        raise ScenarioError(
            source, where, p.model_dump(exclude_defaults=True), "range: [low, high]"
        )
    low, high = p.range
    if low > high:
        raise ScenarioError(source, f"{where}.range", p.range, "[low, high] with low ≤ high")
    if p.integer and math.ceil(low) > math.floor(high):
        raise ScenarioError(source, f"{where}.range", p.range, "an integer range holds an integer")
    if p.mode is not None and (p.distribution != "triangular" or not low <= p.mode <= high):
        raise ScenarioError(source, f"{where}.mode", p.mode, "a triangular peak within the range")


def check_scenarios(uncertainty: Uncertainty, scenarios: tuple[Scenario, ...]) -> None:
    """Refuse an assumption that a compared scenario cannot take at either end of its range,
    or whose value differs between the compared scenarios (varying it would erase the
    difference the comparison is about).

    Raises:
        ScenarioError: at ``parameters.<path>`` of the uncertainty file, naming the scenario.
    """
    source = uncertainty.source
    for name, p in uncertainty.parameters.items():
        where = f"parameters.{name}"
        ends = to_values(p, np.array([0.0, 1.0]))
        for scenario in scenarios:
            for value in ends:
                try:
                    with_overrides(scenario, {name: value})
                except ScenarioError as exc:
                    why = exc.allowed if exc.path in ("", name) else f"at {exc.path}: {exc.allowed}"
                    raise ScenarioError(
                        source, where, value, f"not valid in scenario {scenario.name}: {why}"
                    ) from None
        own = {s.name: value_at(s.model_dump(mode="json"), name) for s in scenarios}
        if len({json.dumps(v, sort_keys=True) for v in own.values()}) > 1:
            raise ScenarioError(
                source,
                where,
                own,
                "the compared scenarios differ in it; an assumption must be the same in all "
                "of them (varying it would erase the difference being compared)",
            )
