"""Sweeps: one scenario run many times over a design of parameter values.

A sweep file names a base scenario, the parameters to vary (dotted scenario paths), a design
(grid, random, latin_hypercube, sobol, morris; see `sim.experiments.designs`), the replications of
each sample and the outcomes to keep. A *run* is one sample × one replication; it is a pure
function of (scenario, seed, replication), so runs can execute anywhere and in any order
(`sim.experiments.parallel`) and the dataset is the same.

Common random numbers: every sample runs replication r on the same stream r of the same seed
(the sweep's). Differences between samples then come from the parameters, not from luck,
which makes sensitivity indices and response surfaces far less noisy than independent seeds.
A paired sweep (``compare:``) runs each sample's base and alternative within one run, on that
run's seed and replication, and records their differences (`sim.experiments.paired`).

Nothing finished is lost: each run is stored as it completes, as one small file in
``DIR/.runs/`` written to a temporary name and renamed (atomic even under ``kill -9``). A
sweep restarted with ``resume=True`` runs only what is missing and ends with the same
dataset. At the end the result directory (runs.parquet, sensitivity.parquet, optional
timeseries.parquet, manifest.json) replaces DIR in one rename; ``.runs/`` goes with it.
Started without ``resume`` on a DIR that holds unfinished runs, a sweep refuses. The store
and the result directory are `sim.experiments.sweep_store`.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Unpack

import numpy as np
import pandas as pd

from sim import purposes, results
from sim.compiled import code_digest
from sim.experiments import paired, parallel
from sim.experiments import sweep_store as store
from sim.experiments.runs import run_replication
from sim.experiments.sensitivity import analyse
from sim.experiments.sweep_spec import (
    Progress,
    RunContext,
    RunTask,
    Sweep,
    load_sweep,
    sweep_from_dict,
)
from sim.metrics import replication_outcomes
from sim.output_paths import chosen_path, claim
from sim.results import PACKAGES, provenance, replication_streams
from sim.scenario import (
    with_overrides,
)
from sim.streams import purpose_key


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


def evaluate_run(context: RunContext, task: RunTask) -> dict[str, Any]:
    """Run one sample × replication; its record (and time series if kept).

    A run that fails (a parameter combination the scenario rejects, a numerical error) is
    recorded with status ``error`` and its message, so one bad corner does not stop a sweep.
    A run of a paired sweep runs the base and the alternative (`sim.experiments.paired.run_pair`).
    """
    start = time.perf_counter()
    timeseries = None
    try:
        if context.alternative is None:
            scenario = with_overrides(context.base, task.values)
            series, _ = run_replication(scenario, context.seed, task.replication)
            produced = replication_outcomes(series)
        else:
            produced, series = paired.run_pair(
                context.base, context.alternative, task.values, context.seed, task.replication
            )
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
    **execution: Unpack[parallel.ExecutionOptions],
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
        execution: where Dask runs (`sim.experiments.parallel.ExecutionOptions`).

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
    parallel.check_options(workers, scheduler, **execution)
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
            where = parallel.execute(
                evaluate_run, sweep.context, missing, keep, workers, scheduler, **execution
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
        manifest = _manifest(sweep, runs, counts, where, started, finished, command)
        results.write_sweep(out, runs, sensitivity, timeseries, manifest)
        return SweepResult(sweep, runs, sensitivity, timeseries, out, len(missing), reused, where)


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
    packages = (*PACKAGES, "dask", "distributed", "SALib", "tqdm")
    stamp = provenance(started, finished, command, packages)
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
        "paired": sweep.alternative is not None,
        "comparison": _comparison(sweep),
        "seed": sweep.seed,
        "replications": sweep.spec.replications,
        "common_random_numbers": True,
        "replication_streams": replication_streams(sweep.seed, sweep.spec.replications),
        "runs": counts | {"ok": ok, "error": len(runs) - ok},
        "execution": execution,
        "runs_per_second": round(counts["executed"] / seconds, 3),
    } | stamp


def _comparison(sweep: Sweep) -> dict[str, Any] | None:
    """A paired sweep's alternative, for the manifest: as the sweep file gives it, resolved,
    and the scenario paths at which it differs from the base (before any parameter)."""
    if sweep.alternative is None:
        return None
    alternative = sweep.alternative.model_dump(mode="json")
    return {
        "alternative": sweep.spec.model_dump(mode="json", by_alias=True)["compare"]["alternative"],
        "alternative_scenario_sha256": sweep.alternative.sha256,
        "alternative_scenario": alternative,
        "differs_at": paired.differences(sweep.base.model_dump(mode="json"), alternative),
    }


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
