"""A sweep on disk: the store of finished runs while it runs, and its result directory.

While a sweep runs, each finished run is written to ``out/.runs/`` (its time series first,
then the record that marks it done, each file atomically), next to ``sweep.json``, which
holds the sweep's fingerprint (spec, base scenario, seed and model code). An interrupted
sweep therefore loses nothing, and ``--resume`` runs only the missing runs, after checking
the fingerprint. At the end the result directory (runs, sensitivity indices, time series,
manifest), written by `sim.results.write_sweep`, replaces ``out`` and its run store in one
rename.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import CXMError, OptionError
from sim.output_paths import atomic_write
from sim.results import json_text

WORK_DIR = ".runs"
STATE_FILE = "sweep.json"


def is_complete(out: Path, fingerprint: str, resume: bool, overwrite: bool = False) -> bool:
    """Whether `out` holds a finished sweep to reuse (only with `resume`, and only of the
    same fingerprint); with `overwrite`, a finished sweep is run again and replaced.

    Raises:
        CXMError: `out` holds something else, or a finished sweep and neither `resume` nor
            `overwrite`, or (with `resume`) a sweep of another fingerprint.
    """
    if (out / WORK_DIR).is_dir() or not out.exists() or not any(out.iterdir()):
        return False
    manifest = _read_json(out / "manifest.json")
    if manifest is None or manifest.get("kind") != "sweep":
        raise OptionError("out", f"{out} exists and holds no sweep result; choose another")
    if overwrite and not resume:
        return False
    if not resume:
        raise OptionError(
            "out",
            f"{out} holds a finished sweep; pass {{resume}} to reuse it, {{overwrite}} to "
            "run it again and replace it, or choose another",
            ("resume", "overwrite"),
        )
    if manifest.get("fingerprint") != fingerprint:
        raise OptionError(
            "resume",
            f"{out} holds a finished sweep of a different spec, base scenario or "
            "model code; run without {resume} to replace it, or choose another {out}",
            ("resume", "out"),
        )
    return True


def open_work_dir(
    out: Path, name: str, fingerprint: str, size: int, resume: bool
) -> tuple[Path, bool]:
    """The run store in ``out/.runs``, created or checked; and whether it is new.

    Raises:
        CXMError: an unfinished sweep is there and `resume` is false, or its fingerprint
            differs.
    """
    work = out / WORK_DIR
    if work.is_dir():
        state = _read_json(work / STATE_FILE) or {}
        if not resume:
            runs = len(list(work.glob("run-*.json")))
            raise OptionError(
                "out",
                f"{out} holds an unfinished sweep ({runs} of its runs are done); pass "
                "{resume} to finish it, or choose another",
                ("resume",),
            )
        if state.get("fingerprint") != fingerprint:
            raise OptionError(
                "resume",
                f"the unfinished sweep in {out} has a different spec, base scenario "
                "or model code (sim/); restore them, or choose another {out}",
                ("out",),
            )
        for stale in work.glob(".*.tmp"):
            stale.unlink(missing_ok=True)
        return work, False
    work.mkdir(parents=True)
    state = {"name": name, "fingerprint": fingerprint, "runs": size}
    atomic_write(work / STATE_FILE, lambda p: p.write_text(json_text(state)))
    return work, True


def only_work_dir(out: Path) -> bool:
    """Whether `out` holds nothing but the run store."""
    return [p.name for p in out.iterdir()] == [WORK_DIR]


def stored_runs(work: Path, timeseries: bool) -> dict[int, dict[str, Any]]:
    """Finished runs on disk; a file torn by a machine crash is dropped (its run reruns)."""
    import pyarrow.parquet as pq

    done = {}
    for path in work.glob("run-*.json"):
        try:
            record = json.loads(path.read_text())
            if timeseries:
                pq.read_metadata(path.with_suffix(".timeseries.parquet"))
        except (OSError, ValueError):
            path.unlink(missing_ok=True)
            continue
        done[int(record["run_id"])] = record
    return done


def write_run(work: Path, result: dict[str, Any]) -> None:
    """Store one finished run: its time series first, then the record that marks it done."""
    stem = f"run-{result['record']['run_id']:07d}"
    series = result["timeseries"]
    if series is not None:
        atomic_write(
            work / f"{stem}.timeseries.parquet", lambda p: series.to_parquet(p, index=False)
        )
    text = json_text(result["record"])
    atomic_write(work / f"{stem}.json", lambda p: p.write_text(text))


def timeseries_table(work: Path, runs: pd.DataFrame) -> pd.DataFrame:
    """The stored time series of the runs that finished ok, one table."""
    tables = []
    for run_id, sample in runs[runs["status"] == "ok"][["run_id", "sample"]].itertuples(False):
        table = pd.read_parquet(work / f"run-{run_id:07d}.timeseries.parquet")
        tables.append(table.assign(run_id=run_id, sample=sample))
    frame = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    first = [c for c in ("run_id", "sample", "replication", "seed", "month") if c in frame]
    return frame[first + [c for c in frame.columns if c not in first]]


def read_tables(out: Path) -> dict[str, pd.DataFrame | None]:
    """A finished sweep directory's tables: runs, sensitivity and timeseries (None where
    the sweep has none)."""
    tables: dict[str, pd.DataFrame | None] = {}
    for name in ("runs", "sensitivity", "timeseries"):
        path = out / f"{name}.parquet"
        tables[name] = pd.read_parquet(path) if path.exists() else None
    return tables


def read_manifest(out: str | Path) -> dict[str, Any]:
    """The manifest of a finished sweep directory.

    Raises:
        CXMError: `out` holds no finished sweep.
    """
    manifest = _read_json(Path(out) / "manifest.json")
    finished = (Path(out) / "runs.parquet").exists()
    if manifest is None or manifest.get("kind") != "sweep" or not finished:
        raise CXMError(f"{out}: not a finished sweep directory (no runs.parquet / manifest.json)")
    return manifest


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
