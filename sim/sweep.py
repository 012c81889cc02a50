"""Sweeps: one scenario run many times over a design of parameter values.

A sweep file names a base scenario, the parameters to vary (dotted scenario paths), a design
(grid, random, latin_hypercube, sobol, morris; see `sim.designs`), the replications of each
sample and the outcomes to keep. A *run* is one sample × one replication; it is a pure
function of (scenario, seed, replication), so runs can execute anywhere and in any order
(`sim.parallel`) and the dataset is the same.

Common random numbers: every sample runs replication r on the same stream r of the same seed
(the sweep's). Differences between samples then come from the parameters, not from luck,
which makes sensitivity indices and response surfaces far less noisy than independent seeds.

Nothing finished is lost: each run is stored as it completes, as one small file in
``DIR/.runs/`` written to a temporary name and renamed (atomic even under ``kill -9``). A
sweep restarted with ``resume=True`` runs only what is missing and ends with the same
dataset. At the end the result directory (runs.parquet, sensitivity.parquet, optional
timeseries.parquet, manifest.json) replaces DIR in one rename; ``.runs/`` goes with it.
Started without ``resume`` on a DIR that holds unfinished runs, a sweep refuses. The store
and the result directory are `sim.sweep_store`.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any, NamedTuple

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim import parallel, purposes
from sim import sweep_store as store
from sim.compiled import code_digest
from sim.designs import (
    MAX_DESIGN_SAMPLES,
    SOBOL_MIN_SAMPLES,
    Design,
    DesignKind,
    Parameter,
    design_size,
    make_design,
)
from sim.errors import ScenarioError
from sim.experiments import run_replication
from sim.fields import Name, Seed
from sim.metrics import replication_outcomes
from sim.output_paths import chosen_path, claim
from sim.results import provenance
from sim.scenario import (
    SCENARIO_SUFFIXES,
    Scenario,
    load_scenario,
    read_scenario_mapping,
    validation_message,
    with_overrides,
)
from sim.sensitivity import analyse
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
    """Also the folder of its results, results/sweep-<name>/ (see `sim.fields.NAME_RULE`)."""
    description: str = ""
    base: Annotated[str, Field(min_length=1)]
    """The base scenario file (.yaml or .yml), relative to the sweep file."""
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
    """

    spec: SweepSpec
    source: str
    base: Scenario
    seed: int
    outcomes: tuple[str, ...]
    design: Design

    @property
    def size(self) -> int:
        """Runs in the sweep: samples × replications."""
        return len(self.design) * self.spec.replications

    @property
    def context(self) -> RunContext:
        return RunContext(self.base, self.seed, self.outcomes, self.spec.timeseries)

    @property
    def fingerprint(self) -> str:
        """What makes two sweeps the same dataset: spec, resolved base scenario, seed, and
        the model's code (a resumed sweep must not mix runs of two model versions)."""
        spec = self.spec.model_dump(mode="json", by_alias=True, exclude={"description"})
        key = {"spec": spec, "base_sha256": self.base.sha256, "seed": self.seed}
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


@dataclass(frozen=True)
class SweepResult:
    """A finished sweep.

    Attributes:
        sweep: the sweep that was run (None when read back from disk alone).
        runs: one row per run, in run_id order: run_id, sample, replication, seed, each
            parameter, each outcome, status (ok/error), error, wall_seconds.
        sensitivity: Sobol' or Morris indices per outcome × parameter (None for other
            designs).
        timeseries: every run's time series, if the sweep keeps them.
        out: the result directory.
        executed: runs executed by this call; reused: runs found on disk from before.
        execution: where the runs executed.
    """

    sweep: Sweep | None
    runs: pd.DataFrame
    sensitivity: pd.DataFrame | None
    timeseries: pd.DataFrame | None
    out: Path
    executed: int
    reused: int
    execution: str


# ---------------------------------------------------------------------------- loading


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file (the base path is relative to it).

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
        raise _spec_error(exc, source) from None
    _check_design_options(spec, source)
    for name, parameter in spec.parameters.items():
        _check_parameter(spec, name, parameter, source)
    _check_size(spec, source)
    base_file = Path(base_dir) / spec.base
    if Path(spec.base).suffix.lower() not in SCENARIO_SUFFIXES:
        raise ScenarioError(source, "base", spec.base, "a scenario file ending in .yaml or .yml")
    if not base_file.exists():
        raise ScenarioError(source, "base", spec.base, f"no such scenario file ({base_file})")
    base = _fixed_base(load_scenario(base_file), spec, source)
    for name, parameter in spec.parameters.items():
        first = parameter.levels[0] if parameter.levels is not None else parameter.range[0]
        if parameter.levels is None and parameter.integer:
            first = math.ceil(first)  # the lowest value an integer range draws
        try:
            with_overrides(base, {name: first})
        except ScenarioError as exc:
            raise _moved(exc, source, f"parameters.{name}", first, name) from None
    available = available_outcomes(base)[0]
    outcomes = tuple(spec.outcomes or available)
    for i, outcome in enumerate(outcomes):
        if outcome not in available:
            allowed = f"not an outcome of a run; allowed: {', '.join(available)}"
            raise ScenarioError(source, f"outcomes.{i}", outcome, allowed)
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
    return Sweep(spec, source, base, seed, outcomes, design)


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


def _spec_error(exc: ValidationError, source: str) -> ScenarioError:
    first = exc.errors()[0]
    loc = [str(part) for part in first["loc"]]
    path = ".".join(loc)
    if first["type"] == "extra_forbidden":
        model = Parameter if loc[0] == "parameters" else SweepSpec
        keys = [f.alias or k for k, f in model.model_fields.items()]
        return ScenarioError(source, path, loc[-1], f"unknown key; allowed keys: {', '.join(keys)}")
    if first["type"] == "missing":
        return ScenarioError(source, path, None, "this field is required")
    return ScenarioError(source, path, first.get("input"), validation_message(first, path))


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
    if name in RESERVED:
        raise ScenarioError(source, where, name, f"a sweep may not vary {', '.join(RESERVED)}")
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


def _fixed_base(base: Scenario, spec: SweepSpec, source: str) -> Scenario:
    overrides = dict(spec.fixed)
    if spec.months is not None:
        overrides["months"] = spec.months
    try:
        return with_overrides(base, overrides)
    except ScenarioError as exc:
        for key, value in spec.fixed.items():
            if exc.path == key or key.startswith(exc.path + ".") or exc.path.startswith(key):
                raise _moved(exc, source, f"set.{key}", value, key) from None
        raise _moved(exc, source, "set", spec.fixed, "") from None


def _moved(exc: ScenarioError, source: str, path: str, value: Any, own: str) -> ScenarioError:
    """The error of an override, reported at the sweep file's field."""
    allowed = exc.allowed if exc.path in ("", own) else f"at {exc.path}: {exc.allowed}"
    return ScenarioError(source, path, value, allowed)


# ---------------------------------------------------------------------------- one run


def evaluate_run(context: RunContext, task: RunTask) -> dict[str, Any]:
    """Run one sample × replication; its record (and time series if kept).

    A run that fails (a parameter combination the scenario rejects, a numerical error) is
    recorded with status ``error`` and its message, so one bad corner does not stop a sweep.
    """
    start = time.perf_counter()
    timeseries = None
    try:
        scenario = with_overrides(context.base, task.values)
        series, _ = run_replication(scenario, context.seed, task.replication)
        produced = replication_outcomes(series)
        outcomes = {name: _finite(produced[name]) for name in context.outcomes}
        status, error = "ok", ""
        timeseries = series if context.timeseries else None
    except Exception as exc:  # recorded, not raised: see the docstring
        outcomes = dict.fromkeys(context.outcomes)
        status, error = "error", f"{type(exc).__name__}: {exc}"
    record = {
        "run_id": task.run_id,
        "sample": task.sample,
        "replication": task.replication,
        "seed": context.seed,
        "parameters": task.values,
        "outcomes": outcomes,
        "status": status,
        "error": error,
        "wall_seconds": time.perf_counter() - start,
    }
    return {"record": record, "timeseries": timeseries}


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


# ---------------------------------------------------------------------------- running


def run_sweep(
    spec: str | Path | Mapping[str, Any] | Sweep,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    out: str | Path | None = None,
    progress: Progress | None = None,
    command: list[str] | None = None,
    overwrite: bool = False,
    *,
    dashboard: bool = False,
    tls_ca_file: str | Path | None = None,
    tls_cert: str | Path | None = None,
    tls_key: str | Path | None = None,
) -> SweepResult:
    """Run a sweep and write its result directory.

    Args:
        spec: a sweep file, a mapping with its content (base relative to the working
            directory) or a loaded `Sweep`.
        workers: local worker processes (default: cores; 1 runs in this process).
        scheduler: address of a running Dask scheduler instead of local workers.
        resume: finish the unfinished sweep in `out`, running only its missing runs.
        out: result directory (default ``results/sweep-<name>/``); it must not exist, be
            empty or hold a sweep (see `sim.output_paths`), and is locked while the sweep
            runs.
        progress: called with (runs done, runs in the sweep) as runs finish.
        command: the command line, for the manifest.
        overwrite: run again and replace a finished sweep in `out`.
        dashboard, tls_ca_file, tls_cert, tls_key: as in `sim.parallel.execute` (the local
            cluster's dashboard; TLS files for `scheduler`).

    Raises:
        ScenarioError: the sweep file is invalid (nothing is written).
        CXMError: `out` holds unfinished runs and `resume` is false, or runs of another
            sweep, or a finished sweep and neither `resume` nor `overwrite`, or something
            else than a sweep; another process writes `out`; bad execution options.
    """
    if isinstance(spec, Sweep):
        sweep = spec
    elif isinstance(spec, Mapping):
        sweep = sweep_from_dict(spec)
    else:
        sweep = load_sweep(spec)
    options = {
        "dashboard": dashboard,
        "tls_ca_file": tls_ca_file,
        "tls_cert": tls_cert,
        "tls_key": tls_key,
    }
    parallel.check_options(workers, scheduler, **options)
    out = sweep_out_dir(sweep, out)
    with claim(out, "sweep", overwrite) as held:
        started = datetime.now(UTC)
        if store.is_complete(out, sweep.fingerprint, resume, overwrite):
            return read_sweep(out, sweep)
        work, fresh = store.open_work_dir(
            out, sweep.spec.name, sweep.fingerprint, sweep.size, resume
        )
        done = store.stored_runs(work, sweep.spec.timeseries)
        reused = len(done)
        missing = [task for task in sweep.tasks() if task.run_id not in done]
        if progress is not None:
            progress(len(done), sweep.size)

        def keep(task: RunTask, result: dict[str, Any]) -> None:
            store.write_run(work, result)
            done[task.run_id] = result["record"]
            if progress is not None:
                progress(len(done), sweep.size)

        try:
            execution = parallel.execute(
                evaluate_run, sweep.context, missing, keep, workers, scheduler, **options
            )
        except BaseException:
            if fresh and not done:
                only_ours = held.existing is None and store.only_work_dir(out)
                shutil.rmtree(out if only_ours else work, ignore_errors=True)
            raise
        runs = _runs_table([done[i] for i in sorted(done)], sweep)
        timeseries = store.timeseries_table(work, runs) if sweep.spec.timeseries else None
        sensitivity = _sensitivity(sweep, runs)
        finished = datetime.now(UTC)
        counts = {"total": sweep.size, "executed": len(missing), "reused": reused}
        manifest = _manifest(sweep, runs, counts, execution, started, finished, command)
        store.write_sweep(out, runs, sensitivity, timeseries, manifest)
        return SweepResult(
            sweep, runs, sensitivity, timeseries, out, len(missing), reused, execution
        )


def sweep_out_dir(sweep: Sweep, out: str | Path | None) -> Path:
    """Where a sweep's results go: `out`, or ``results/sweep-<name>/``."""
    return chosen_path(out, f"sweep-{sweep.spec.name}")


def _sensitivity(sweep: Sweep, runs: pd.DataFrame) -> pd.DataFrame | None:
    """Indices on each sample's replication-averaged outcomes (ok runs), in design order."""
    ok = runs[runs["status"] == "ok"]
    means = ok.groupby("sample")[list(sweep.outcomes)].mean()
    means = means.reindex(range(len(sweep.design)))
    return analyse(sweep.design, means, seed=sweep.seed)


def _runs_table(records: list[dict[str, Any]], sweep: Sweep) -> pd.DataFrame:
    rows = [
        {k: r[k] for k in ("run_id", "sample", "replication", "seed")}
        | r["parameters"]
        | r["outcomes"]
        | {k: r[k] for k in ("status", "error", "wall_seconds")}
        for r in records
    ]
    columns = ["run_id", "sample", "replication", "seed", *sweep.design.names]
    columns += [*sweep.outcomes, "status", "error", "wall_seconds"]
    frame = pd.DataFrame(rows, columns=columns)
    outcomes = list(sweep.outcomes)
    frame[outcomes] = frame[outcomes].astype(np.float64)
    return frame


def _manifest(
    sweep: Sweep,
    runs: pd.DataFrame,
    counts: dict[str, int],
    execution: str,
    started: datetime,
    finished: datetime,
    command: list[str] | None,
) -> dict[str, Any]:
    ok = int((runs["status"] == "ok").sum())
    seconds = max((finished - started).total_seconds(), 1e-9)
    stamp = provenance(started, finished, command)
    for package in ("dask", "distributed", "SALib", "tqdm"):
        try:
            stamp["package_versions"][package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            stamp["package_versions"][package] = None
    return {
        "kind": "sweep",
        "name": sweep.spec.name,
        "sweep_file": sweep.source,
        "spec": sweep.spec.model_dump(mode="json", by_alias=True),
        "fingerprint": sweep.fingerprint,
        "code_sha256": code_digest(),
        "base_scenario_sha256": sweep.base.sha256,
        "scenario": sweep.base.model_dump(mode="json"),
        "design": {
            "kind": sweep.design.kind,
            "parameters": list(sweep.design.names),
            "samples": len(sweep.design),
            "second_order": sweep.design.second_order,
            "morris_levels": sweep.design.morris_levels,
            "sampling_seed_sequence": {
                "entropy": sweep.seed,
                "spawn_key": [purpose_key(purposes.SWEEP_DESIGN)],
            },
        },
        "outcomes": list(sweep.outcomes),
        "seed": sweep.seed,
        "replications": sweep.spec.replications,
        "common_random_numbers": True,
        "replication_streams": [
            {"replication": r, "seed_sequence": {"entropy": sweep.seed, "spawn_key": [r]}}
            for r in range(sweep.spec.replications)
        ],
        "runs": counts | {"ok": ok, "error": len(runs) - ok},
        "execution": execution,
        "runs_per_second": round(counts["executed"] / seconds, 3),
    } | stamp


def read_sweep(out: str | Path, sweep: Sweep | None = None) -> SweepResult:
    """A finished sweep's result directory, read back (`sweep` is attached if given)."""
    out = Path(out)
    manifest = store.read_manifest(out)
    tables = store.read_tables(out)
    runs = tables["runs"]
    execution = manifest.get("execution", "")
    return SweepResult(
        sweep, runs, tables["sensitivity"], tables["timeseries"], out, 0, len(runs), execution
    )
