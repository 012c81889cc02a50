"""Calibration: fit free scenario parameters so that simulated KPIs match observed ones.

A firm knows its own numbers — monthly churn, NPS, CSAT — but not the behavioural parameters
behind them. Calibration searches the free parameters (dotted scenario paths, each within
bounds) for values whose simulated outcomes come closest to the targets, by the sum of
squared relative errors ``Σ ((simulated − target) / |target|)²`` (absolute error for a target
of 0).

Targets are named like outcomes:

- any outcome of `sim.metrics.OUTCOMES` (``churn_rate_mean``, ``nps_true``,
  ``retention_of_initial``…), with its meaning there (value at the horizon, total, or mean
  over months), averaged over replications;
- ``<metric>_mean`` for any time-series metric ``<metric>`` (``csat_true_mean``,
  ``satisfaction_mean_mean``…): its mean over all months and replications.

Simulation-based optimisation with common random numbers: every evaluation runs the same
replications on the same seed, so the objective changes only because the parameters do and
is close to smooth. The search has two stages in the unit cube of the bounds: a coarse Latin
hypercube (plus the scenario's own values), then Nelder–Mead from the best point.

The replications of each evaluation are tasks of `sim.experiments.parallel` (in this process, on a
local Dask cluster or on a scheduler), on one pool opened for the whole calibration; each
evaluation's outcomes are assembled in replication order, so the search takes the same path
and ends at the same values for any workers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Unpack

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from sim import purposes
from sim.errors import CXMError, OptionError, ScenarioError, check_whole
from sim.experiments import parallel
from sim.experiments import runs as experiments
from sim.experiments.designs import unit_samples
from sim.experiments.sweep_spec import available_outcomes
from sim.scenario import Scenario, with_overrides
from sim.scenario.fields import SEED_MAX
from sim.scenario.overrides import field_constraints, value_at
from sim.streams import purpose_key

PENALTY = 1e12
"""Objective of a parameter set the scenario rejects or whose outcomes are missing."""
MAX_REPLICATIONS = 1_000
"""Most replications per evaluation."""
MAX_EVALUATIONS = 100_000
"""Most scenario evaluations of one calibration."""
MAX_SEARCH = 10_000
"""Most points of the Latin-hypercube stage."""
MAX_RUNS = 1_000_000
"""Most simulation runs of one calibration: evaluations × replications."""
Progress = Callable[[int, float], None]
"""Called with (evaluations so far, best objective so far)."""


@dataclass(frozen=True)
class CalibrationResult:
    """A fitted scenario and how well it fits.

    Attributes:
        scenario: the calibrated scenario (the input with the fitted values).
        values: dotted path → fitted value.
        fit: one row per target: target, value, achieved, relative_error.
        objective: the sum of squared relative errors at the fitted values.
        evaluations: scenario evaluations made (each `replications` runs).
        history: one row per evaluation: each free parameter and the objective.
        bounds: dotted path → (low, high) searched.
    """

    scenario: Scenario
    values: dict[str, float]
    fit: pd.DataFrame
    objective: float
    evaluations: int
    history: pd.DataFrame
    bounds: dict[str, tuple[float, float]]


def calibrate(
    scenario: Scenario,
    targets: Mapping[str, float],
    free: Sequence[str],
    bounds: Mapping[str, tuple[float, float]] | None = None,
    replications: int = 4,
    seed: int | None = None,
    search: int | None = None,
    max_evaluations: int = 150,
    progress: Progress | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    **execution: Unpack[parallel.ExecutionOptions],
) -> CalibrationResult:
    """Fit `free` parameters of `scenario` to `targets`.

    Args:
        scenario: the scenario to calibrate (its other values stay as they are).
        targets: outcome name → observed value (see the module docstring for names).
        free: dotted paths of the parameters to fit.
        bounds: path → (low, high); a path without one takes its schema bounds if both are
            finite.
        replications: runs per evaluation (on the same seed every time).
        seed: the seed of every evaluation (default: the scenario's).
        search: points of the coarse Latin-hypercube stage (default 4 + 4 × free).
        max_evaluations: evaluations in all (both stages).
        progress: optional callback, see `Progress`.
        workers: local worker processes for the replications of each evaluation, one
            cluster for the whole calibration (default: one per core, but evaluations of
            fewer than `sim.experiments.parallel.SERIAL_BELOW` replications run in this process; 1:
            in this process).
        scheduler: address of a running Dask scheduler instead of local workers.
        execution: where Dask runs (`sim.experiments.parallel.ExecutionOptions`).

    Raises:
        CXMError: unknown target names, unknown or repeated free paths, missing or bad
            bounds, too few evaluations, or bad execution options.
    """
    check_options(replications, search, max_evaluations, seed)
    parallel.check_options(workers, scheduler, **execution)
    free = list(free)
    if not free or not targets:
        raise OptionError(
            "free", "calibration needs at least one {targets} and one {free}", ("targets", "free")
        )
    if len(set(free)) != len(free):
        raise OptionError("free", f"a parameter is named twice in {free}")
    check_targets(scenario, targets)
    limits = {path: _bounds(scenario, path, (bounds or {}).get(path)) for path in free}
    integer = {path: _constraints(path)[2] for path in free}
    seed = scenario.seed if seed is None else int(seed)
    search = 4 + 4 * len(free) if search is None else search
    if max_evaluations < search + 2:
        raise OptionError(
            "max_evaluations", f"got {max_evaluations}; must exceed the {search} search points by 2"
        )
    with parallel.pool(workers, scheduler, replications, **execution) as where:

        def evaluate(values: Mapping[str, Any]) -> float:
            return _objective(scenario, values, targets, replications, seed, where)

        table = _search(
            evaluate, scenario, free, limits, integer, seed, search, max_evaluations, progress
        )
        if table["objective"].min() >= PENALTY:
            raise CXMError("calibrate: no parameter set within the bounds produced the targets")
        fitted = table.loc[table["objective"].idxmin(), free].to_dict()
        fitted = {p: int(v) if integer[p] else float(v) for p, v in fitted.items()}
        fitted_scenario = with_overrides(scenario, fitted)
        achieved = measure(fitted_scenario, list(targets), replications, seed, where)
    fit = fit_table(targets, achieved)
    calibrated = with_overrides(
        scenario,
        fitted | {"name": f"{scenario.name}_calibrated", "description": _description(fit)},
    )
    return CalibrationResult(
        calibrated, fitted, fit, float(table["objective"].min()), len(table), table, limits
    )


def _search(
    evaluate: Callable[[Mapping[str, Any]], float],
    scenario: Scenario,
    free: Sequence[str],
    limits: Mapping[str, tuple[float, float]],
    integer: Mapping[str, bool],
    seed: int,
    search: int,
    max_evaluations: int,
    progress: Progress | None,
) -> pd.DataFrame:
    """Search the unit cube of the bounds (`integer` parameters rounded): the scenario's own
    values and a Latin hypercube of `search` points, then Nelder–Mead from the best; each
    distinct parameter set is evaluated once. Returns one row per evaluation, in evaluation
    order: each free parameter and the objective."""
    low = np.array([limits[p][0] for p in free])
    width = np.array([limits[p][1] - limits[p][0] for p in free])
    history: list[dict[str, float]] = []
    cache: dict[tuple[float, ...], float] = {}

    def values_at(z: np.ndarray) -> dict[str, Any]:
        x = low + np.clip(z, 0.0, 1.0) * width
        pairs = zip(free, x.tolist(), strict=True)
        return {p: round(v) if integer[p] else v for p, v in pairs}

    def objective(z: np.ndarray) -> float:
        values = values_at(z)
        key = tuple(values.values())
        if key not in cache:
            cache[key] = evaluate(values)
            history.append(values | {"objective": cache[key]})
            if progress is not None:
                progress(len(history), min(cache.values()))
        return cache[key]

    start = np.array(
        [(_current(scenario, p) - limits[p][0]) / w for p, w in zip(free, width, strict=True)]
    )
    rng = np.random.default_rng(
        np.random.SeedSequence(seed, spawn_key=(purpose_key(purposes.CALIBRATE_SEARCH),))
    )
    candidates = [np.clip(start, 0.0, 1.0), *unit_samples(len(free), search, rng)]
    best = min(candidates, key=objective)
    step = 0.5 / search ** (1 / len(free))
    simplex = [best] + [
        np.where(np.arange(len(free)) == j, best + (step if best[j] < 0.5 else -step), best)
        for j in range(len(free))
    ]
    minimize(
        objective,
        best,
        method="Nelder-Mead",
        bounds=[(0.0, 1.0)] * len(free),
        options={
            "maxfev": max_evaluations - len(history),
            "initial_simplex": np.array(simplex),
            "xatol": 1e-4,
            "fatol": 1e-10,
        },
    )
    return pd.DataFrame(history)


def check_options(
    replications: int, search: int | None, max_evaluations: int, seed: int | None = None
) -> None:
    """Refuse counts that are out of range before any work: each is bounded above, and so is
    the number of runs, ``max_evaluations × replications``.

    Raises:
        CXMError: naming the option, the value and the allowed range.
    """
    check_whole("replications", replications, 1, MAX_REPLICATIONS)
    check_whole("max_evaluations", max_evaluations, 1, MAX_EVALUATIONS)
    if search is not None:
        check_whole("search", search, 1, MAX_SEARCH)
    if seed is not None:
        check_whole("seed", seed, 0, SEED_MAX)
    runs = max_evaluations * replications
    if runs > MAX_RUNS:
        raise OptionError(
            "max_evaluations",
            f"{max_evaluations} evaluations × {replications} {{replications}} = {runs} runs; "
            f"must be at most {MAX_RUNS}",
            ("replications",),
        )


def measure(
    scenario: Scenario,
    names: Sequence[str],
    replications: int,
    seed: int,
    pool: parallel.Pool | None = None,
) -> dict[str, float]:
    """Simulated value of each target name, averaged over replications (NaN-aware).

    The replications run on `pool` (see `sim.experiments.parallel.pool`) if given, else as
    `sim.experiments.runs.run` runs them by default.
    """
    if pool is None:
        result = experiments.run(scenario, replications, seed)
    else:
        result = experiments.replicate(pool, [scenario], replications, seed)[0]
    values = {}
    for name in names:
        if name in result.outcomes:
            values[name] = float(np.nanmean(result.outcomes[name]))
        else:
            per_run = result.timeseries.groupby("replication")[name.removesuffix("_mean")].mean()
            values[name] = float(np.nanmean(per_run))
    return values


def fit_table(targets: Mapping[str, float], achieved: Mapping[str, float]) -> pd.DataFrame:
    """Target, value, achieved and relative error (absolute for a target of 0) per target."""
    rows = []
    for name, value in targets.items():
        scale = abs(value) or 1.0
        rows.append(
            {
                "target": name,
                "value": float(value),
                "achieved": achieved[name],
                "relative_error": (achieved[name] - value) / scale,
            }
        )
    return pd.DataFrame(rows)


def check_targets(scenario: Scenario, targets: Mapping[str, float]) -> None:
    """Reject target names that are neither outcomes nor ``<metric>_mean``.

    Raises:
        CXMError: naming the target and the allowed names.
    """
    outcomes, metrics = available_outcomes(scenario)
    allowed = set(outcomes) | {f"{m}_mean" for m in metrics}
    for name, value in targets.items():
        if name not in allowed:
            raise OptionError(
                "targets",
                f"{name!r} is not a target; use an outcome "
                f"({', '.join(outcomes)}) or METRIC_mean for a time-series metric "
                f"({', '.join(metrics)})",
            )
        if not math.isfinite(value):
            raise OptionError("targets", f"{name}={value}; a finite number is needed")


def _bounds(
    scenario: Scenario, path: str, given: tuple[float, float] | None
) -> tuple[float, float]:
    _current(scenario, path)  # the path must name a numeric value of this scenario
    low, high, _ = _constraints(path)
    if given is not None:
        if not (math.isfinite(given[0]) and math.isfinite(given[1]) and given[0] < given[1]):
            raise OptionError("bounds", f"{path}={given[0]}:{given[1]}; need finite LOW < HIGH")
        if given[0] < low or given[1] > high:
            raise OptionError(
                "bounds",
                f"{path}={given[0]}:{given[1]} leaves the allowed range [{low}, {high}]",
            )
        return float(given[0]), float(given[1])
    if not (math.isfinite(low) and math.isfinite(high)):
        raise OptionError(
            "bounds",
            f"{path} has no finite bounds in the scenario schema "
            f"(allowed [{low}, {high}]); give {{bounds}} {path}=LOW:HIGH",
            ("bounds",),
        )
    return low, high


def _current(scenario: Scenario, path: str) -> float:
    """The scenario's numeric value at a dotted path (list items by index or by name)."""
    node = value_at(scenario.model_dump(mode="json"), path)
    if node is None:
        raise OptionError("free", f"{path!r} is not a value of scenario {scenario.name}")
    if not isinstance(node, int | float) or isinstance(node, bool):
        raise OptionError("free", f"{path} is {node!r}; only numeric values can be fitted")
    return float(node)


def _constraints(path: str) -> tuple[float, float, bool]:
    """`field_constraints` of a free parameter, refused when it names no field."""
    try:
        return field_constraints(path)
    except LookupError as exc:
        raise OptionError("free", f"{path!r} {exc.args[0]}") from None


def _objective(
    scenario: Scenario,
    values: Mapping[str, Any],
    targets: Mapping[str, float],
    replications: int,
    seed: int,
    pool: parallel.Pool,
) -> float:
    try:
        candidate = with_overrides(scenario, values)
    except ScenarioError:
        return PENALTY
    achieved = measure(candidate, list(targets), replications, seed, pool)
    errors = fit_table(targets, achieved)["relative_error"].to_numpy()
    return float(np.sum(errors**2)) if np.all(np.isfinite(errors)) else PENALTY


def _description(fit: pd.DataFrame) -> str:
    parts = [f"{r.target}={r.value:g} (achieved {r.achieved:.4g})" for r in fit.itertuples()]
    return "Calibrated to " + ", ".join(parts)
