"""Sweep files: the base scenario, the parameters to vary, the design, the replications and the
outcomes to keep (and, for a paired sweep, the alternative compared with the base; see
`sim.experiments.paired`), validated into a `Sweep` ready to run
(`sim.experiments.sweep.run_sweep`). Every refusal names the sweep file, the field and what is
allowed."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NamedTuple

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim import purposes
from sim.compiled import code_digest
from sim.errors import ScenarioError
from sim.experiments.designs import (
    MAX_DESIGN_SAMPLES,
    SOBOL_MIN_SAMPLES,
    Design,
    DesignKind,
    Parameter,
    design_size,
    make_design,
)
from sim.experiments.paired import (
    ALTERNATIVE,
    DELTA,
    PREFIXES,
    RETURN_OUTCOMES,
    CompareSpec,
    alternative_overrides,
    check_alternative_parameter,
    check_pair,
    paired_outcome_names,
)
from sim.experiments.runs import run_replication
from sim.metrics import replication_outcomes
from sim.scenario import (
    SCENARIO_SUFFIXES,
    Scenario,
    load_scenario,
    read_scenario_mapping,
    validation_error,
    with_overrides,
)
from sim.scenario.fields import Name, Seed
from sim.streams import purpose_key

RESERVED = ("name", "seed", "replications")
"""Scenario fields a sweep may not vary (the sweep itself sets seed and replications)."""
PROBE_MARKET_SIZE = 200
"""People in the one-month run that lists the outcomes a scenario produces."""
Progress = Callable[[int, int], None]
"""Called with (runs done, runs in the sweep)."""
MAX_RUNS = 1_000_000
"""Most runs (samples × replications) in one sweep."""
MAX_PARAMETERS = 100
"""Most parameters a sweep varies."""


class SweepSpec(BaseModel):
    """A sweep file, validated (field by field; see docs/experiments.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    name: Name
    """Also the folder of its results, results/sweep-<name>/ (see
    `sim.scenario.fields.NAME_RULE`)."""
    description: str = ""
    base: Annotated[str, Field(min_length=1)]
    """The base scenario file (.yaml or .yml), relative to the sweep file."""
    compare: CompareSpec | None = None
    """A paired sweep: every run also runs this alternative on its seed and replication and
    records the differences (`sim.experiments.paired`)."""
    design: DesignKind
    parameters: Annotated[dict[str, Parameter], Field(min_length=1, max_length=MAX_PARAMETERS)]
    samples: Annotated[int, Field(ge=1, le=MAX_DESIGN_SAMPLES)] | None = None
    """random/latin_hypercube: samples; sobol: base sample N; morris: trajectories. The
    samples the design draws from it (e.g. N·(D+2) for Sobol') times the replications may
    be at most `MAX_RUNS`."""
    second_order: bool = False
    """Sobol' only: also draw the samples for second-order indices (N·(2D+2) runs)."""
    morris_levels: Annotated[int, Field(ge=2, le=100)] = 4
    replications: Annotated[int, Field(ge=1, le=100_000)] = 1
    seed: Seed | None = None
    """The seed of every run (default: the base scenario's); it also seeds the design."""
    outcomes: Annotated[list[str], Field(min_length=1)] | None = None
    """Outcomes to keep (default: every outcome of `replication_outcomes`)."""
    months: Annotated[int, Field(ge=1, le=600)] | None = None
    fixed: dict[str, Any] = Field(default_factory=dict, alias="set")
    """Fixed dotted-path overrides applied to the base scenario."""
    timeseries: bool = False
    """Keep every run's monthly time series (timeseries.parquet)."""


class RunTask(NamedTuple):
    """One run: a sample of the design and a replication."""

    run_id: int
    sample: int
    replication: int
    values: dict[str, Any]


class RunContext(NamedTuple):
    """What every run of a sweep shares."""

    base: Scenario
    seed: int
    outcomes: tuple[str, ...]
    timeseries: bool
    alternative: Scenario | None = None
    """The alternative of a paired sweep (with `set` and the horizon applied)."""


@dataclass(frozen=True)
class Sweep:
    """A validated sweep, ready to run.

    Attributes:
        spec: the sweep file's content.
        source: the sweep file (or ``<dict>``).
        base: the base scenario with `set` and `months` applied.
        seed: the seed of every run.
        outcomes: the outcomes kept.
        design: the samples, in design order.
        alternative: a paired sweep's alternative, with `set` and the base's horizon
            applied (None for an ordinary sweep).
    """

    spec: SweepSpec
    source: str
    base: Scenario
    seed: int
    outcomes: tuple[str, ...]
    design: Design
    alternative: Scenario | None = None

    @property
    def size(self) -> int:
        """Runs in the sweep: samples × replications."""
        return len(self.design) * self.spec.replications

    @property
    def context(self) -> RunContext:
        return RunContext(
            self.base, self.seed, self.outcomes, self.spec.timeseries, self.alternative
        )

    @property
    def fingerprint(self) -> str:
        """What makes two sweeps the same dataset: spec, resolved base scenario (and
        alternative), seed, and the model's code (a resumed sweep must not mix runs of two
        model versions, nor of two alternatives)."""
        unused = {"description"} | ({"compare"} if self.alternative is None else set())
        spec = self.spec.model_dump(mode="json", by_alias=True, exclude=unused)
        key = {"spec": spec, "base_sha256": self.base.sha256, "seed": self.seed}
        if self.alternative is not None:
            key["alternative_sha256"] = self.alternative.sha256
        key["code_sha256"] = code_digest()
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()

    def tasks(self) -> list[RunTask]:
        """Every run, in run_id order (sample-major: run_id = sample × replications + r)."""
        r = self.spec.replications
        return [
            RunTask(i * r + k, i, k, values)
            for i, values in enumerate(self.design.samples)
            for k in range(r)
        ]


# ---------------------------------------------------------------------------- loading


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file (the base and alternative paths are relative to it).

    Raises:
        ScenarioError: naming the sweep file, the field path, the value and what is allowed.
    """
    file = Path(path)
    raw = read_scenario_mapping(file, kind="sweep file")
    return sweep_from_dict(raw, str(file), file.parent)


def sweep_from_dict(
    raw: Mapping[str, Any], source: str = "<dict>", base_dir: str | Path = "."
) -> Sweep:
    """Validate a sweep given as a mapping (as parsed from YAML)."""
    if not isinstance(raw, Mapping):
        raise ScenarioError(source, "", None, "a sweep must be a mapping of fields")
    try:
        spec = SweepSpec.model_validate(dict(raw))
    except ValidationError as exc:
        raise validation_error(exc, dict(raw), source, SweepSpec) from None
    _check_design_options(spec, source)
    for name, parameter in spec.parameters.items():
        _check_parameter(spec, name, parameter, source)
    _check_size(spec, source)
    changes = None if spec.compare is None else alternative_overrides(spec.compare, source)
    base_file = _scenario_file(spec.base, base_dir, source, "base")
    base = _overridden(load_scenario(base_file), spec.fixed, source, "set", spec.months)
    alternative = _alternative(spec, changes, base, base_dir, source)
    for name, parameter in spec.parameters.items():
        first = parameter.levels[0] if parameter.levels is not None else parameter.range[0]
        if parameter.levels is None and parameter.integer:
            first = math.ceil(first)  # the lowest value an integer range draws
        _check_first_value(base, alternative, name, first, source)
    outcomes = _outcomes(spec, available_outcomes(base)[0], alternative is not None, source)
    seed = base.seed if spec.seed is None else spec.seed
    design_seed = np.random.SeedSequence(seed, spawn_key=(purpose_key(purposes.SWEEP_DESIGN),))
    design = make_design(
        spec.parameters,
        spec.design,
        spec.samples,
        design_seed,
        spec.second_order,
        spec.morris_levels,
    )
    return Sweep(spec, source, base, seed, outcomes, design, alternative)


def available_outcomes(scenario: Scenario) -> tuple[list[str], list[str]]:
    """The outcomes a run of `scenario` produces, and its time-series metrics.

    Found by a one-month run of a small market, so outcomes added to
    `replication_outcomes` later are known without a list kept here.
    """
    try:
        probe = with_overrides(
            scenario, {"months": 1, "market.size": min(scenario.market.size, PROBE_MARKET_SIZE)}
        )
    except ScenarioError:
        probe = with_overrides(scenario, {"months": 1})
    timeseries, _ = run_replication(probe, probe.seed, 0)
    ids = {"replication", "seed", "month"}
    metrics = [
        c
        for c in timeseries.columns
        if c not in ids and pd.api.types.is_numeric_dtype(timeseries[c])
    ]
    return list(replication_outcomes(timeseries)), metrics


def _check_design_options(spec: SweepSpec, source: str) -> None:
    given = spec.model_fields_set
    if spec.design == "grid" and spec.samples is not None:
        raise ScenarioError(
            source, "samples", spec.samples, "a grid runs every combination of levels; omit it"
        )
    if spec.design != "grid" and spec.samples is None:
        raise ScenarioError(source, "samples", None, f"required by the {spec.design} design")
    if spec.design == "sobol" and (
        spec.samples < SOBOL_MIN_SAMPLES or spec.samples & (spec.samples - 1)
    ):
        raise ScenarioError(
            source,
            "samples",
            spec.samples,
            f"the Sobol' base sample N must be a power of two, at least {SOBOL_MIN_SAMPLES} "
            "(the design has N·(D+2) runs, or N·(2D+2) with second_order)",
        )
    if "second_order" in given and spec.design != "sobol":
        raise ScenarioError(source, "second_order", spec.second_order, "applies to sobol only")
    if "morris_levels" in given and spec.design != "morris":
        raise ScenarioError(source, "morris_levels", spec.morris_levels, "applies to morris only")
    if spec.design == "morris" and spec.morris_levels % 2:
        raise ScenarioError(source, "morris_levels", spec.morris_levels, "an even number ≥ 2")


def _check_parameter(spec: SweepSpec, name: str, p: Parameter, source: str) -> None:
    where = f"parameters.{name}"
    if name.removeprefix(ALTERNATIVE) in RESERVED:
        raise ScenarioError(source, where, name, f"a sweep may not vary {', '.join(RESERVED)}")
    check_alternative_parameter(name, spec.compare is not None, source)
    if (p.levels is None) == (p.range is None):
        raise ScenarioError(
            source,
            where,
            p.model_dump(exclude_defaults=True),
            "give either levels: [...] or range: [low, high]",
        )
    if spec.design == "grid" and p.levels is None:
        raise ScenarioError(source, f"{where}.levels", None, "a grid needs levels, not a range")
    if p.levels is not None:
        extra = {k for k in ("distribution", "mode", "integer") if k in p.model_fields_set}
        if extra:
            raise ScenarioError(source, where, sorted(extra), "only a range takes these")
        for i, level in enumerate(p.levels):
            if isinstance(level, float) and not math.isfinite(level):
                raise ScenarioError(source, f"{where}.levels.{i}", level, "a finite number")
        return
    low, high = p.range
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        raise ScenarioError(source, f"{where}.range", p.range, "[low, high] with low ≤ high")
    if p.integer and math.ceil(low) > math.floor(high):
        raise ScenarioError(source, f"{where}.range", p.range, "an integer range holds an integer")
    if p.mode is not None and (p.distribution != "triangular" or not low <= p.mode <= high):
        raise ScenarioError(source, f"{where}.mode", p.mode, "a triangular peak within the range")


def _check_size(spec: SweepSpec, source: str) -> None:
    """The design's runs (samples × replications) are at most `MAX_RUNS`."""
    d, r = len(spec.parameters), spec.replications
    if spec.design == "grid":
        counts = [len(p.levels or ()) for p in spec.parameters.values()]
        samples = math.prod(counts)
        path, value = "parameters", counts
        how = f"a grid of {' × '.join(map(str, counts))} levels"
    else:
        samples = design_size(spec.design, d, spec.samples, spec.second_order)
        path, value = "samples", spec.samples
        formula = f"n = {spec.samples}"
        if spec.design == "sobol":
            per = (
                f"(2D+2) = {spec.samples}·{2 * d + 2}"
                if spec.second_order
                else f"(D+2) = {spec.samples}·{d + 2}"
            )
            formula = f"N·{per}"
        elif spec.design == "morris":
            formula = f"r·(D+1) = {spec.samples}·{d + 1}"
        how = f"{spec.design} with D = {d} parameters: {formula}"
    runs = samples * r
    if runs > MAX_RUNS:
        raise ScenarioError(
            source,
            path,
            value,
            f"{how} = {samples:,} samples × {r:,} replications = {runs:,} runs; a sweep "
            f"has at most {MAX_RUNS:,} runs",
        )


def _scenario_file(given: str, base_dir: str | Path, source: str, field: str) -> Path:
    """The scenario file a sweep file names at `field`, relative to the sweep file."""
    if Path(given).suffix.lower() not in SCENARIO_SUFFIXES:
        raise ScenarioError(source, field, given, "a scenario file ending in .yaml or .yml")
    file = Path(base_dir) / given
    if not file.exists():
        raise ScenarioError(source, field, given, f"no such scenario file ({file})")
    return file


def _overridden(
    scenario: Scenario,
    fixed: Mapping[str, Any],
    source: str,
    field: str,
    months: int | None = None,
) -> Scenario:
    """`scenario` with the overrides at the sweep file's `field` (and the horizon) applied;
    an error is reported at ``<field>.<path>``."""
    overrides = dict(fixed)
    if months is not None:
        overrides["months"] = months
    try:
        return with_overrides(scenario, overrides)
    except ScenarioError as exc:
        for key, value in fixed.items():
            if exc.path == key or key.startswith(exc.path + ".") or exc.path.startswith(key):
                raise _moved(exc, source, f"{field}.{key}", value, key) from None
        raise _moved(exc, source, field, dict(fixed), "") from None


def _alternative(
    spec: SweepSpec,
    changes: dict[str, Any] | None,
    base: Scenario,
    base_dir: str | Path,
    source: str,
) -> Scenario | None:
    """A paired sweep's alternative: the base with `changes` (``compare.alternative.set``),
    or a scenario file with the sweep's `set` and the base's horizon (its own seed and
    months give way to the sweep's); None for an ordinary sweep."""
    if spec.compare is None:
        return None
    if changes is not None:
        alternative = _overridden(base, changes, source, "compare.alternative.set")
    else:
        given = spec.compare.alternative
        file = _scenario_file(given, base_dir, source, "compare.alternative")
        try:
            alternative = _overridden(load_scenario(file), spec.fixed, source, "set", base.months)
        except ScenarioError as exc:
            if exc.source != source:
                raise
            allowed = f"in the alternative {given}: {exc.allowed}"
            raise ScenarioError(source, exc.path, exc.value, allowed) from None
    varied = any(name.startswith(ALTERNATIVE) for name in spec.parameters)
    check_pair(base, alternative, varied, source)
    return alternative


def _check_first_value(
    base: Scenario, alternative: Scenario | None, name: str, first: Any, source: str
) -> None:
    """A parameter's first value is valid in each scenario it applies to."""
    own = name.removeprefix(ALTERNATIVE)
    scenarios = [] if own != name else [(base, "")]
    if alternative is not None:
        scenarios.append((alternative, "in the alternative: "))
    for scenario, whose in scenarios:
        try:
            with_overrides(scenario, {own: first})
        except ScenarioError as exc:
            error = _moved(exc, source, f"parameters.{name}", first, own)
            raise ScenarioError(source, error.path, first, whose + error.allowed) from None


def _outcomes(spec: SweepSpec, available: list[str], paired: bool, source: str) -> tuple[str, ...]:
    """The outcomes a sweep keeps: those it names, or by default every outcome of a run
    (of a paired run: the returns and every ``delta_<o>``)."""
    allowed = paired_outcome_names(available, levels=True) if paired else available
    outcomes = tuple(spec.outcomes or (paired_outcome_names(available) if paired else available))
    for i, outcome in enumerate(outcomes):
        if outcome in allowed:
            continue
        if paired and f"{DELTA}{outcome}" in allowed:
            levels = ", ".join(PREFIXES[1:])
            why = f"a paired sweep records differences: {DELTA}{outcome} (or {levels})"
        elif paired:
            why = (
                f"not an outcome of a paired run; allowed: {', '.join(RETURN_OUTCOMES)}, or "
                f"{' or '.join(PREFIXES)} and an outcome of a run: {', '.join(available)}"
            )
        elif outcome in paired_outcome_names(available, levels=True):
            why = "an outcome of a paired sweep only; add compare: {alternative: …}"
        else:
            why = f"not an outcome of a run; allowed: {', '.join(available)}"
        raise ScenarioError(source, f"outcomes.{i}", outcome, why)
    return outcomes


def _moved(exc: ScenarioError, source: str, path: str, value: Any, own: str) -> ScenarioError:
    """The error of an override, reported at the sweep file's field."""
    allowed = exc.allowed if exc.path in ("", own) else f"at {exc.path}: {exc.allowed}"
    return ScenarioError(source, path, value, allowed)


# ---------------------------------------------------------------------------- one run
