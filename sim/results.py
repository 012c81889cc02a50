"""Results on disk: Parquet tables, a JSON summary and a manifest of provenance.

Together with `sim.output_paths` (which decides where a result may go and replaces the old
one safely), this is the only module that writes results: runs, comparisons, sweeps,
calibrated scenarios and discoveries, and every JSON file (`json_text`). The other writers
are a sweep's journal of finished runs (`sim.experiments.sweep_store`), which the sweep's
result replaces, and the notebook suite (`sim.notebooks`), whose executed notebooks papermill
writes and whose HTML reports nbconvert renders, into a staged folder like the others. A
result directory is written whole or not at all: everything goes to a hidden staging
directory beside the target, which then takes the target's place, so an interrupted or
failed run never leaves half a result, and a previous result is replaced only when the
caller asks.
"""

from __future__ import annotations

import json
import math
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sim import PROJECT_ROOT
from sim.compiled import code_digest
from sim.experiments.runs import Comparison, RunResult
from sim.metrics import LABELS
from sim.output_paths import CALIBRATED_HEADER, replace_directory, replace_file

if TYPE_CHECKING:
    import cProfile

    from matplotlib.figure import Figure

    from sim.experiments.calibrate import CalibrationResult
    from sim.experiments.discover import PrimResult
    from sim.experiments.fit_firm import FirmFit
    from sim.experiments.optimise import AllocationResult
    from sim.experiments.uncertainty import UncertainComparison
    from sim.scenario import Scenario

PACKAGES = ("cxm-lab", "mesa", "numpy", "pandas", "pyarrow", "pydantic", "scipy", "simpy")
"""Packages whose versions every manifest records."""


def provenance(
    started: datetime,
    finished: datetime,
    command: list[str] | None,
    packages: tuple[str, ...] = PACKAGES,
) -> dict[str, Any]:
    """Where and how a result was made: versions of `packages`, the model code's sha256
    (`sim.compiled.code_digest`), the git commit and whether the working tree had
    uncommitted changes (None outside a git checkout), times, command line."""
    versions = {"python": platform.python_version()}
    for package in packages:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "package_versions": versions,
        "code_sha256": code_digest(),
        "git_commit": _git(["rev-parse", "HEAD"]) or None,
        "git_uncommitted_changes": _uncommitted_changes(),
        "platform": platform.platform(),
        "started": started.astimezone(UTC).isoformat(),
        "finished": finished.astimezone(UTC).isoformat(),
        "wall_seconds": round((finished - started).total_seconds(), 3),
        "command": list(sys.argv if command is None else command),
    }


def _uncommitted_changes() -> bool | None:
    """Whether the checkout's tracked or new files differ from its commit (None: no git)."""
    status = _git(["status", "--porcelain", "--untracked-files=normal"])
    return None if status is None else bool(status)


def _git(arguments: list[str]) -> str | None:
    """The stripped output of a git command in the project's checkout; None when git or the
    checkout is missing, or the command fails."""
    try:
        out = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), *arguments],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def run_manifest(result: RunResult) -> dict[str, Any]:
    """The scenario-specific part of a run's manifest."""
    replications = int(result.outcomes["replication"].max()) + 1
    return {
        "kind": "run",
        "scenario": result.scenario.model_dump(mode="json"),
        "scenario_sha256": result.scenario.sha256,
        "seed": result.seed,
        "replications": replications,
        "replication_streams": replication_streams(result.seed, replications),
        "engine": result.engine,
        "customer_log": result.customers is not None,
    }


def replication_streams(seed: int, replications: int) -> list[dict[str, Any]]:
    """How each replication's random numbers are seeded, for a manifest: replication r draws
    from ``SeedSequence(seed, spawn_key=[r])``."""
    return [
        {"replication": r, "seed_sequence": {"entropy": seed, "spawn_key": [r]}}
        for r in range(replications)
    ]


def summary_json(result: RunResult) -> dict[str, Any]:
    """Headline metrics: mean and 95% interval across replications (NaN where undefined,
    written as null by `json_text`); with several firms, under ``firms`` by firm."""
    from sim.market import FIRM_COLUMN

    def metrics(summary: pd.DataFrame) -> dict[str, dict[str, float]]:
        return {
            row["metric"]: {k: row[k] for k in ("mean", "ci_low", "ci_high", "sd", "n")}
            for row in summary.to_dict("records")
        }

    head = {
        "scenario": result.scenario.name,
        "months": result.scenario.months,
        "replications": int(result.outcomes["replication"].nunique()),
    }
    if FIRM_COLUMN not in result.summary.columns:
        return head | {"metrics": metrics(result.summary)}
    firms = result.summary.groupby(FIRM_COLUMN, sort=False)
    return head | {"firms": {str(name): metrics(part) for name, part in firms}}


def write_run(
    result: RunResult,
    out_dir: Path,
    started: datetime,
    finished: datetime,
    command: list[str] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write timeseries.parquet, touchpoints.parquet, segments.parquet, outcomes.parquet,
    summary.json and manifest.json to `out_dir` — and customers.parquet and
    decisions.parquet when the run kept the customer log, switching.parquet with several
    firms — atomically; a previous result
    there is replaced only if `overwrite` (see `sim.output_paths`)."""
    with replace_directory(out_dir, overwrite) as staging:
        _write_run_files(result, staging)
        manifest = run_manifest(result) | provenance(started, finished, command)
        _write_json(staging / "manifest.json", manifest)
    return Path(out_dir)


def _write_run_files(result: RunResult, directory: Path) -> None:
    result.timeseries.to_parquet(directory / "timeseries.parquet", index=False)
    result.touchpoints.to_parquet(directory / "touchpoints.parquet", index=False)
    result.segments.to_parquet(directory / "segments.parquet", index=False)
    result.outcomes.to_parquet(directory / "outcomes.parquet", index=False)
    if result.customers is not None and result.decisions is not None:
        result.customers.to_parquet(directory / "customers.parquet", index=False)
        result.decisions.to_parquet(directory / "decisions.parquet", index=False)
    if result.switching is not None:
        result.switching.to_parquet(directory / "switching.parquet", index=False)
    _write_json(directory / "summary.json", summary_json(result))


def write_comparison(
    comparison: Comparison,
    out_dir: Path,
    started: datetime,
    finished: datetime,
    command: list[str] | None = None,
    overwrite: bool = False,
    excel: bool = False,
) -> Path:
    """Write compare.parquet (paired differences per replication), compare_summary.parquet
    and .csv, one sub-directory per scenario with its run, and manifest.json, atomically;
    with `excel` also comparison.xlsx (`comparison_workbook`); a previous result there is
    replaced only if `overwrite`."""
    with replace_directory(out_dir, overwrite) as staging:
        comparison.paired.to_parquet(staging / "compare.parquet", index=False)
        comparison.summary.to_parquet(staging / "compare_summary.parquet", index=False)
        comparison.summary.to_csv(staging / "compare_summary.csv", index=False)
        if excel:
            comparison_workbook(comparison, staging / WORKBOOK)
        for result in comparison.runs:
            sub = staging / result.scenario.name
            sub.mkdir()
            _write_run_files(result, sub)
            _write_json(sub / "manifest.json", run_manifest(result))
        manifest = {
            "kind": "comparison",
            "base": comparison.runs[0].scenario.name,
            "alternatives": [r.scenario.name for r in comparison.runs[1:]],
            "scenario_sha256": {r.scenario.name: r.scenario.sha256 for r in comparison.runs},
            "seed": comparison.runs[0].seed,
            "common_random_numbers": True,
        } | provenance(started, finished, command)
        _write_json(staging / "manifest.json", manifest)
    return Path(out_dir)


WORKBOOK = "comparison.xlsx"
"""The workbook ``cxm compare --excel`` adds to the comparison's folder."""
WORKBOOK_NOTE = (
    "Differences are alternative minus base, paired replication by replication on common "
    "random numbers. The 95% intervals show simulation noise only (how much the mean would move "
    "with other random draws), not uncertainty about the model's assumptions."
)


def comparison_workbook(comparison: Comparison, path: Path) -> None:
    """Write a comparison as an Excel workbook (openpyxl) with four sheets: About (what was
    compared, seed, replications, months, how to read the intervals), Summary (one row per
    alternative × metric, labelled as in the printed table), Per replication (the paired
    differences) and Time series (every scenario's months, one row per scenario ×
    replication × month). Amounts are in currency units (cu), rates per month, as in the
    tables on disk."""
    base = comparison.runs[0]
    about = pd.DataFrame(
        {
            "item": ["base", "alternatives", "seed", "replications", "months", "note"],
            "value": [
                base.scenario.name,
                ", ".join(r.scenario.name for r in comparison.runs[1:]),
                base.seed,
                int(base.outcomes["replication"].nunique()),
                base.scenario.months,
                WORKBOOK_NOTE,
            ],
        }
    )
    summary = comparison.summary.copy()
    summary.insert(2, "label", summary["metric"].map(LABELS).fillna(summary["metric"]))
    series = pd.concat(
        [run.timeseries.assign(scenario=run.scenario.name) for run in comparison.runs],
        ignore_index=True,
    )
    series = series[["scenario", *[c for c in series if c != "scenario"]]]
    with pd.ExcelWriter(path, engine="openpyxl") as book:
        about.to_excel(book, sheet_name="About", index=False)
        summary.to_excel(book, sheet_name="Summary", index=False)
        comparison.paired.to_excel(book, sheet_name="Per replication", index=False)
        series.to_excel(book, sheet_name="Time series", index=False)


FIGURE_DPI = 150
"""Resolution of the figures a result folder holds (dots per inch)."""


def write_uncertainty(
    result: UncertainComparison,
    out_dir: Path,
    started: datetime,
    finished: datetime,
    command: list[str] | None = None,
    overwrite: bool = False,
    figures: dict[str, Figure] | None = None,
) -> Path:
    """Write a comparison across uncertain assumptions, atomically (a previous result there
    is replaced only if `overwrite`): uncertainty_summary.csv (one row per alternative ×
    metric), uncertainty_sets.parquet and .csv (one row per parameter set × alternative),
    tornado.csv, each of `figures` (file name → figure) as PNG, and manifest.json: the
    uncertainty file's content and sha256, the scenarios' sha256, the seed, the sets, the
    replications and the seed sequence of the design."""
    study = result.study
    figures = figures or {}
    with replace_directory(out_dir, overwrite) as staging:
        result.summary.to_csv(staging / "uncertainty_summary.csv", index=False)
        result.sets.to_parquet(staging / "uncertainty_sets.parquet", index=False)
        result.sets.to_csv(staging / "uncertainty_sets.csv", index=False)
        result.tornado.to_csv(staging / "tornado.csv", index=False)
        for name, figure in figures.items():
            figure.savefig(staging / name, dpi=FIGURE_DPI)
        parameters = len(study.uncertainty.parameters)
        manifest = {
            "kind": "uncertain_comparison",
            "base": study.scenarios[0].name,
            "alternatives": result.alternatives,
            "uncertainty_file": study.uncertainty.source,
            "uncertainty": study.uncertainty.content,
            "uncertainty_sha256": study.uncertainty.sha256,
            "scenario_sha256": {s.name: s.sha256 for s in study.scenarios},
            "seed": study.seed,
            "samples": study.samples,
            "sets": {
                "drawn": study.samples,
                "median": 1,
                "one_at_a_time": 2 * parameters,
                "total": len(study.sets),
            },
            "replications": study.replications,
            "replication_streams": replication_streams(study.seed, study.replications),
            "design": study.design.kind,
            "design_seed_sequence": study.design_seed,
            "engine": result.median.runs[0].engine,
            "common_random_numbers": True,
            "figures": list(figures),
        } | provenance(started, finished, command)
        _write_json(staging / "manifest.json", manifest)
    return Path(out_dir)


def json_text(data: Any) -> str:
    """`data` as indented JSON text: numpy scalars as numbers, NaN and infinities as null
    (JSON has no such numbers), so every file this project writes is standard JSON."""
    return json.dumps(finite(data), indent=1, allow_nan=False) + "\n"


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json_text(data))


def finite(value: Any) -> Any:
    """`value` with numpy scalars as Python numbers and NaN or infinite floats as None, in
    nested dicts, lists and tuples too."""
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return finite(value.item())
    return value


# ---------------------------------------------------------------------------- experiments' results


def write_sweep(
    out: Path,
    runs: pd.DataFrame,
    sensitivity: pd.DataFrame | None,
    timeseries: pd.DataFrame | None,
    manifest: dict[str, Any],
) -> Path:
    """Write runs.parquet, sensitivity.parquet, timeseries.parquet and manifest.json,
    replacing `out` (and its run store) in one rename (see `sim.output_paths`)."""
    with replace_directory(out, kind="sweep") as staging:
        runs.to_parquet(staging / "runs.parquet", index=False)
        if sensitivity is not None:
            sensitivity.to_parquet(staging / "sensitivity.parquet", index=False)
        if timeseries is not None:
            timeseries.to_parquet(staging / "timeseries.parquet", index=False)
        (staging / "manifest.json").write_text(json_text(manifest))
    return out


def write_calibrated(result: CalibrationResult, path: str | Path, overwrite: bool = False) -> Path:
    """Write the calibrated scenario as YAML, its fit in a comment header (atomically; a
    previous calibrated file is replaced only if `overwrite`, see `sim.output_paths`)."""
    title = (
        f"{result.scenario.name}: {result.evaluations} evaluations, "
        f"objective {result.objective:.4g} (sum of squared relative errors)"
    )
    fit = [
        f"target {r.target} = {r.value:g}: achieved {r.achieved:.6g} "
        f"(relative error {r.relative_error:+.2%})"
        for r in result.fit.itertuples()
    ]
    return _write_fitted_scenario(result.scenario, title, result.values, fit, path, overwrite)


def write_fitted(result: FirmFit, path: str | Path, overwrite: bool = False) -> Path:
    """Write a fitted firm's scenario as YAML, its levers and fit in a comment header
    (atomically; a previous calibrated file is replaced only if `overwrite`, see
    `sim.output_paths`)."""
    state = "every figure within tolerance" if result.converged else "NOT every figure fitted"
    title = f"{result.scenario.name} by cxm fit-firm: {result.iterations} iterations, {state}"
    fit = [
        f"{r.figure}: target {r.target:g}, achieved {r.achieved:.6g} "
        f"[{r.ci_low:.6g}, {r.ci_high:.6g}] (error {r.error:+.4g}, tolerance {r.tolerance})"
        for r in result.fit.itertuples()
    ]
    return _write_fitted_scenario(result.scenario, title, result.levers, fit, path, overwrite)


def _write_fitted_scenario(
    scenario: Scenario,
    title: str,
    values: dict[str, Any],
    fit: list[str],
    path: str | Path,
    overwrite: bool,
) -> Path:
    """A calibrated scenario's file: a comment header (`CALIBRATED_HEADER` and `title`, each
    fitted value, each line of `fit`), then the scenario as YAML; written atomically."""
    lines = [f"{CALIBRATED_HEADER}{title}"]
    lines += [f"#   {name}: {value!r}" for name, value in values.items()]
    lines += [f"#   {line}" for line in fit]
    text = "\n".join(lines) + "\n" + scenario.to_yaml()
    return replace_file(Path(path), lambda temporary: temporary.write_text(text), overwrite)


def write_allocation(
    result: AllocationResult,
    out_dir: str | Path,
    started: datetime,
    finished: datetime,
    command: list[str] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a budget optimisation, atomically (a previous result there is replaced only if
    `overwrite`): ``optimised.yaml`` (the scenario of the best split, runnable),
    ``splits.csv`` (each reported split's shares and objective), ``gains.csv`` (the best
    split against the base, the even split and the best single capability, paired 95%
    intervals), ``history.csv`` (every evaluation in order) and ``manifest.json``; across
    uncertain assumptions also ``across_sets.csv`` (each split's measures in each parameter
    set), and the manifest records the uncertainty file's path, content and sha256, the sets
    drawn and the design's seed sequence."""
    with replace_directory(out_dir, overwrite) as staging:
        (staging / "optimised.yaml").write_text(result.scenario.to_yaml())
        result.splits.rename_axis("split").reset_index().to_csv(staging / "splits.csv", index=False)
        result.gains.to_csv(staging / "gains.csv", index=False)
        result.history.to_csv(staging / "history.csv", index=False)
        uncertain: dict[str, Any] = {}
        if result.assumptions is not None and result.across_sets is not None:
            result.across_sets.to_csv(staging / "across_sets.csv", index=False)
            sets = result.assumptions
            uncertain = {
                "uncertainty_file": sets.uncertainty.source,
                "uncertainty": sets.uncertainty.content,
                "uncertainty_sha256": sets.uncertainty.sha256,
                "samples": sets.samples,
                "design": sets.design,
                "design_seed_sequence": sets.design_seed,
            }
        manifest = {
            "kind": "allocation",
            "scenario": result.scenario.name,
            "scenario_sha256": result.scenario.sha256,
            "objective": result.objective,
            "value": result.value,
            "allocation": result.allocation,
            "best_single": result.best_single,
            "budget_per_month": result.budget_per_month,
            "start_month": result.start_month,
            "end_month": result.end_month,
            "capabilities": list(result.capabilities),
            "evaluations": result.evaluations,
            "replications": result.replications,
            "seed": result.seed,
            "common_random_numbers": True,
        }
        manifest |= uncertain | provenance(started, finished, command)
        _write_json(staging / "manifest.json", manifest)
    return Path(out_dir)


def write_discovery(result: PrimResult, path: str | Path, overwrite: bool = False) -> Path:
    """Write the boxes as JSON (to a temporary name, then renamed; a previous discovery is
    replaced only if `overwrite`, see `sim.output_paths`)."""
    text = json_text({"kind": "discovery"} | result.to_dict())
    return replace_file(path, lambda temporary: temporary.write_text(text), overwrite)


# ---------------------------------------------------------------------------- bench profiles

PROFILE_TOP = 30
"""Functions listed in ``profile_small.txt`` (the most time, callees included, first)."""


def write_profile(
    out_dir: str | Path,
    profiles: dict[str, dict[str, Any]],
    profiler: cProfile.Profile,
    started: datetime,
    finished: datetime,
    command: list[str] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write where a run's time goes (``cxm bench --profile``), atomically (a previous
    profile there is replaced only if `overwrite`): ``profile_<size>.json`` for each size of
    `profiles` (``small``, ``big``: phase → seconds, share, calls), the cProfile of the small
    run as ``profile_small.prof`` (for ``python -m pstats`` or snakeviz) and its top
    `PROFILE_TOP` functions by cumulative time as ``profile_small.txt``, and manifest.json."""
    import io
    import pstats

    with replace_directory(out_dir, overwrite) as staging:
        for size, profile in profiles.items():
            _write_json(staging / f"profile_{size}.json", profile)
        profiler.dump_stats(staging / "profile_small.prof")
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(PROFILE_TOP)
        (staging / "profile_small.txt").write_text(text.getvalue())
        files = [f"profile_{size}.json" for size in profiles]
        manifest = {
            "kind": "profile",
            "files": [*files, "profile_small.prof", "profile_small.txt"],
        } | provenance(started, finished, command)
        _write_json(staging / "manifest.json", manifest)
    return Path(out_dir)
