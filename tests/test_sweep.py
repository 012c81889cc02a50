"""Sweeps: files validated, runs stored as they finish, resumed after kill -9, failures kept."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim.cli.main import main
from sim.errors import CXMError, ScenarioError
from sim.experiments import sweep as sweep_module
from sim.experiments import sweep_spec
from sim.experiments.runs import run_replication
from sim.experiments.sweep import read_sweep, run_sweep
from sim.experiments.sweep_spec import load_sweep
from sim.metrics import replication_outcomes
from sim.results import PROJECT_ROOT
from sim.scenario import load_scenario, with_overrides

BASELINE = PROJECT_ROOT / "scenarios" / "baseline.yaml"
OUTCOMES = ["retention_of_initial", "profit_npv", "nps_true"]


def write_sweep(directory: Path, name: str = "sweep.yaml", **fields) -> Path:
    """A small sweep file over the baseline (600 people, 4 months, the simple service-level
    support desk), with `fields` replaced."""
    spec = {
        "name": "tiny",
        "base": str(BASELINE),
        "design": "latin_hypercube",
        "samples": 6,
        "replications": 2,
        "seed": 5,
        "months": 4,
        "set": {"market.size": 600, "support.mode": "service_level"},
        "parameters": {
            "firm.capabilities.technology": {"range": [1.0, 4.0]},
            "support.mean_wait_minutes": {"range": [1.0, 10.0]},
        },
        "outcomes": OUTCOMES,
    } | fields
    path = directory / name
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def comparable(runs: pd.DataFrame) -> pd.DataFrame:
    return runs.drop(columns=["wall_seconds"])


def test_serial_sweep_writes_runs_manifest_and_no_indices_for_lhs(tmp_path):
    out = tmp_path / "out"
    result = run_sweep(write_sweep(tmp_path), workers=1, out=out)
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 12 and list(runs["run_id"]) == list(range(12))
    assert list(runs.columns) == [
        "run_id", "sample", "replication", "seed", "firm.capabilities.technology",
        "support.mean_wait_minutes", *OUTCOMES, "status", "error", "wall_seconds",
    ]  # fmt: skip
    assert list(runs["sample"]) == [i // 2 for i in range(12)]
    assert list(runs["replication"]) == [0, 1] * 6
    assert (runs["status"] == "ok").all() and (runs["seed"] == 5).all()
    assert runs["firm.capabilities.technology"].between(1, 4).all()
    pd.testing.assert_frame_equal(runs, result.runs)
    assert result.sensitivity is None and not (out / "sensitivity.parquet").exists()
    assert not (out / ".runs").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "sweep" and manifest["runs"]["ok"] == 12
    assert manifest["common_random_numbers"] is True and manifest["seed"] == 5
    assert manifest["base_scenario_sha256"] == result.sweep.base.sha256
    assert manifest["spec"]["set"] == {"market.size": 600, "support.mode": "service_level"}
    assert manifest["package_versions"]["SALib"] and manifest["package_versions"]["dask"]
    assert manifest["execution"] == "serial"


def test_each_run_is_the_pure_run_of_its_sample_on_common_random_numbers(tmp_path):
    result = run_sweep(write_sweep(tmp_path), workers=1, out=tmp_path / "out")
    base = with_overrides(load_scenario(BASELINE), {"market.size": 600, "months": 4})
    base = with_overrides(base, {"support.mode": "service_level"})
    row = result.runs.iloc[7]
    values = {p: row[p] for p in ("firm.capabilities.technology", "support.mean_wait_minutes")}
    timeseries, _ = run_replication(with_overrides(base, values), 5, int(row["replication"]))
    expected = replication_outcomes(timeseries)
    for outcome in OUTCOMES:
        assert row[outcome] == expected[outcome]


@pytest.mark.slow
def test_sobol_sweep_writes_indices_and_timeseries(tmp_path):
    path = write_sweep(tmp_path, design="sobol", samples=8, replications=1, timeseries=True)
    result = run_sweep(path, workers=1, out=tmp_path / "out")
    assert len(result.runs) == 8 * (2 + 2)
    indices = pd.read_parquet(tmp_path / "out" / "sensitivity.parquet")
    assert len(indices) == 2 * len(OUTCOMES)
    assert {"outcome", "parameter", "S1", "S1_conf", "ST", "ST_conf"} == set(indices)
    assert indices["ST"].notna().all()
    series = pd.read_parquet(tmp_path / "out" / "timeseries.parquet")
    assert len(series) == 32 * 4 and list(series.columns[:5]) == [
        "run_id", "sample", "replication", "seed", "month",
    ]  # fmt: skip


def test_morris_sweep_writes_elementary_effects(tmp_path):
    path = write_sweep(tmp_path, design="morris", samples=3, morris_levels=4, replications=1)
    result = run_sweep(path, workers=1, out=tmp_path / "out")
    assert len(result.runs) == 3 * (2 + 1)
    assert {"mu", "mu_star", "mu_star_conf", "sigma"} <= set(result.sensitivity)


def test_failing_runs_are_recorded_and_do_not_stop_the_sweep(tmp_path):
    parameters = {
        "firm.capabilities.technology": {"levels": [2.0, 3.0]},
        "support.first_contact_resolution": {"levels": [0.7, 1.4]},
    }
    path = write_sweep(tmp_path, design="grid", samples=None, parameters=parameters)
    spec = yaml.safe_load(path.read_text())
    del spec["samples"]
    path.write_text(yaml.safe_dump(spec))
    runs = run_sweep(path, workers=1, out=tmp_path / "out").runs
    bad = runs["support.first_contact_resolution"] == 1.4
    assert (runs.loc[bad, "status"] == "error").all() and (runs.loc[~bad, "status"] == "ok").all()
    assert runs.loc[bad, "error"].str.contains("first_contact_resolution").all()
    assert runs.loc[bad, OUTCOMES].isna().all().all()
    assert runs.loc[~bad, OUTCOMES].notna().all().all()
    assert (runs.loc[~bad, "error"] == "").all()


@pytest.mark.parametrize(
    ("fields", "path", "value", "allowed"),
    [
        ({"parameters": {"firm.capabilities.nope": {"range": [1, 2]}}},
         "parameters.firm.capabilities.nope", 1, "no such field"),
        ({"parameters": {"support.mean_wait_minutes": {"range": [5, 1]}}},
         "parameters.support.mean_wait_minutes.range", [5.0, 1.0], "low ≤ high"),
        ({"design": "factorial"}, "design", "factorial", "latin_hypercube"),
        ({"outcomes": ["happiness"]}, "outcomes.0", "happiness", "retention_of_initial"),
        ({"design": "sobol", "samples": 4}, "samples", 4, "power of two"),
        ({"design": "sobol", "samples": 12}, "samples", 12, "power of two"),
        ({"design": "morris", "morris_levels": 3}, "morris_levels", 3, "even"),
        ({"sample": 3}, "sample", "sample", "allowed keys"),
        ({"samples": None}, "samples", None, "required"),
        ({"set": {"market.nope": 1}}, "set.market.nope", 1, "no such field"),
        ({"base": "missing.yaml"}, "base", "missing.yaml", "no such scenario file"),
        ({"parameters": {"seed": {"levels": [1, 2]}}}, "parameters.seed", "seed", "may not"),
        ({"parameters": {"support.mean_wait_minutes": {"range": [1, 2], "levels": [1]}}},
         "parameters.support.mean_wait_minutes", None, "either levels"),
    ],
)  # fmt: skip
def test_bad_sweep_files_name_file_path_value_and_allowed(tmp_path, fields, path, value, allowed):
    file = write_sweep(tmp_path, **fields)
    with pytest.raises(ScenarioError) as caught:
        load_sweep(file)
    error = caught.value
    assert error.source == str(file)
    assert error.path == path
    if value is not None:
        assert error.value == value
    assert allowed in error.allowed


def test_bad_sweep_file_through_the_cli_exits_2_and_writes_nothing(tmp_path, capsys):
    file = write_sweep(tmp_path, design="sobol", samples=5)
    out = tmp_path / "never"
    assert main(["sweep", str(file), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "samples" in err and str(file) in err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep.yaml"]


@pytest.mark.slow
def test_bad_sweep_file_in_a_subprocess_has_no_traceback(tmp_path):
    file = write_sweep(tmp_path, parameters={"firm.nope": {"range": [0, 1]}})
    command = [sys.executable, "-m", "sim.cli.main", "sweep", str(file), "-q"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "parameters.firm.nope" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep.yaml"]


def test_partial_directory_without_resume_is_refused(tmp_path, capsys):
    file = write_sweep(tmp_path)
    out = tmp_path / "out"
    (out / ".runs").mkdir(parents=True)
    assert main(["sweep", str(file), "--out", str(out), "-q"]) == 2
    assert "--resume" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == [".runs"]


def test_directories_that_are_not_sweeps_are_left_alone(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    for options in ({}, {"overwrite": True}, {"resume": True}):
        with pytest.raises(CXMError, match="not a cxm result"):
            run_sweep(write_sweep(tmp_path), workers=1, out=out, **options)
        assert [p.name for p in out.iterdir()] == ["notes.txt"]
        assert (out / "notes.txt").read_text() == "keep me"


@pytest.mark.slow
def test_rerun_replaces_a_finished_sweep_and_resume_of_it_does_nothing(tmp_path):
    file, out = write_sweep(tmp_path), tmp_path / "out"
    first = run_sweep(file, workers=1, out=out)
    with pytest.raises(CXMError, match="pass resume to reuse it, overwrite to"):
        run_sweep(file, workers=1, out=out)
    (out / "discovery.json").write_text('{"kind": "discovery"}')
    again = run_sweep(file, workers=1, out=out, overwrite=True)
    assert not (out / "discovery.json").exists() and again.executed == 12
    resumed = run_sweep(file, workers=1, out=out, resume=True)
    assert resumed.executed == 0 and resumed.reused == 12
    pd.testing.assert_frame_equal(comparable(resumed.runs), comparable(first.runs))
    changed = write_sweep(tmp_path, seed=6)
    with pytest.raises(CXMError, match="different spec"):
        run_sweep(changed, workers=1, out=out, resume=True)


def test_resume_with_a_changed_spec_is_refused(tmp_path):
    out = tmp_path / "out"
    run_sweep(write_sweep(tmp_path), workers=1, out=out)
    (out / ".runs").mkdir()
    (out / ".runs" / "sweep.json").write_text(json.dumps({"fingerprint": "other"}))
    with pytest.raises(CXMError, match="different spec"):
        run_sweep(write_sweep(tmp_path), workers=1, out=out, resume=True)


def test_resume_after_the_model_code_changed_is_refused(tmp_path, monkeypatch):
    file, out = write_sweep(tmp_path), tmp_path / "out"
    run_sweep(file, workers=1, out=out)
    monkeypatch.setattr(sweep_spec, "code_digest", lambda: "another model version")
    with pytest.raises(CXMError, match="model code"):
        run_sweep(file, workers=1, out=out, resume=True)


@pytest.mark.slow
def test_killed_sweep_resumes_with_only_the_missing_runs(tmp_path, monkeypatch):
    """kill -9 mid-sweep, then --resume: same dataset, only missing runs executed."""
    file = write_sweep(
        tmp_path,
        samples=24,
        months=6,
        set={"market.size": 3000, "support.mode": "service_level"},
        timeseries=True,
    )
    out = tmp_path / "out"
    command = [sys.executable, "-m", "sim.cli.main", "sweep", str(file),
               "--workers", "1", "--out", str(out), "-q"]  # fmt: skip
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while len(list(out.glob(".runs/run-*.json"))) < 6:
            assert process.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline, "no runs appeared"
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    stored = {int(p.name[4:11]) for p in out.glob(".runs/run-*.json")}
    assert 6 <= len(stored) < 48 and not (out / "runs.parquet").exists()

    executed = []
    real = sweep_module.evaluate_run

    def counting(context, task):
        executed.append(task.run_id)
        return real(context, task)

    monkeypatch.setattr(sweep_module, "evaluate_run", counting)
    with pytest.raises(CXMError, match="pass resume to finish it"):
        run_sweep(file, workers=1, out=out)
    resumed = run_sweep(file, workers=1, out=out, resume=True)
    assert sorted(executed) == sorted(set(range(48)) - stored)
    assert resumed.executed == 48 - len(stored) and resumed.reused == len(stored)
    monkeypatch.setattr(sweep_module, "evaluate_run", real)
    whole = run_sweep(file, workers=1, out=tmp_path / "whole")
    on_disk = pd.read_parquet(out / "runs.parquet")
    pd.testing.assert_frame_equal(comparable(on_disk), comparable(whole.runs))
    pd.testing.assert_frame_equal(pd.read_parquet(out / "timeseries.parquet"), whole.timeseries)
    assert read_sweep(out).runs.equals(on_disk)


def test_local_workers_and_a_scheduler_are_refused_together(tmp_path, capsys):
    out = tmp_path / "out"
    args = ["sweep", str(write_sweep(tmp_path)), "--workers", "2", "--scheduler", "tcp://h:1"]
    assert main([*args, "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert "--scheduler" in err and "--workers" in err
    assert not out.exists()


# ------------------------------------------------------------------ hostile or broken input


def assert_one_line(error: BaseException, *parts: str) -> str:
    message = str(error)
    assert "\n" not in message and len(message) <= 1_000
    for part in parts:
        assert part in message, (part, message)
    return message


@pytest.mark.parametrize(
    ("fields", "path", "value", "allowed"),
    [
        ({"samples": 1_000_000_000}, "samples", 1_000_000_000, "less than or equal to 1000000"),
        ({"samples": 1000, "replications": 1001}, "samples", 1000,
         "latin_hypercube with D = 2 parameters: n = 1000 = 1,000 samples × 1,001 replications "
         "= 1,001,000 runs; a sweep has at most 1,000,000 runs"),
        ({"design": "sobol", "samples": 2**18, "replications": 1}, "samples", 2**18,
         "N·(D+2) = 262144·4 = 1,048,576 samples"),
        ({"design": "sobol", "samples": 2**16, "second_order": True, "replications": 3},
         "samples", 2**16, "N·(2D+2) = 65536·6"),
        ({"design": "morris", "samples": 400_000}, "samples", 400_000, "r·(D+1) = 400000·3"),
        ({"design": "grid", "samples": None, "replications": 2,
          "parameters": {"firm.capabilities.technology": {"levels": list(range(1000))},
                         "firm.capabilities.culture": {"levels": list(range(501))}}},
         "parameters", [1000, 501], "a grid of 1000 × 501 levels = 501,000 samples × 2"),
        ({"parameters": {"firm.capabilities.technology": {"levels": [1] * 1001}}},
         "parameters.firm.capabilities.technology.levels", None, "at most 1000 items"),
        ({"replications": 100_001}, "replications", 100_001, "less than or equal to 100000"),
        ({"samples": "6"}, "samples", "6", "expected an integer"),
        ({"samples": True}, "samples", True, "expected an integer"),
        ({"samples": 6.0}, "samples", 6.0, "expected an integer"),
        ({"timeseries": "yes"}, "timeseries", "yes", "expected true or false"),
        ({"seed": 2**63}, "seed", 2**63, "less than or equal to 9223372036854775807"),
        ({"parameters": {"support.mean_wait_minutes": {"range": [1, float("inf")]}}},
         "parameters.support.mean_wait_minutes.range.1", float("inf"), "finite number"),
        ({"parameters": {"support.mean_wait_minutes": {"levels": [1.0, float("nan")]}}},
         "parameters.support.mean_wait_minutes.levels.1", None, "a finite number"),
        ({"set": {"economics.fixed_cost_per_month": float("inf")}},
         "set.economics.fixed_cost_per_month", float("inf"), "finite number"),
        ({"name": ".."}, "name", "..", "not starting with '.'"),
        ({"name": "."}, "name", ".", "letters, digits"),
        ({"name": ".hidden"}, "name", ".hidden", "at most 100 characters"),
        ({"name": "x" * 101}, "name", "x" * 101, "at most 100 characters"),
        ({"base": "/etc/passwd"}, "base", "/etc/passwd", "ending in .yaml or .yml"),
    ],
)  # fmt: skip
def test_sweep_sizes_types_names_and_numbers_are_checked(tmp_path, fields, path, value, allowed):
    file = write_sweep(tmp_path)
    file.write_text(yaml.safe_dump(yaml.safe_load(file.read_text()) | fields, sort_keys=False))
    with pytest.raises(ScenarioError) as caught:
        load_sweep(file)
    error = caught.value
    assert error.path == path
    if value is not None:
        assert error.value == value
    assert_one_line(error, str(file), f"field '{path}'", allowed)


def test_huge_sweeps_are_refused_before_anything_is_drawn(tmp_path):
    file = write_sweep(tmp_path, samples=10**9)
    with pytest.raises(ScenarioError):
        load_sweep(file)  # at once: nothing of 10⁹ samples is allocated


def test_sweep_files_go_through_the_guarded_reader(tmp_path):
    file = write_sweep(tmp_path)
    text = file.read_text()
    file.write_text(text + "samples: 7\n")
    with pytest.raises(ScenarioError) as caught:
        load_sweep(file)
    assert_one_line(caught.value, str(file), "duplicate key 'samples'", "first at line")
    file.write_bytes(text.encode() + b"description: \xff\n")
    with pytest.raises(ScenarioError) as caught:
        load_sweep(file)
    assert_one_line(caught.value, str(file), "not UTF-8 text: byte 0xff")
    lines = ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    file.write_text("\n".join(lines) + "\ndescription: *a8\n" + text)
    with pytest.raises(ScenarioError) as caught:
        load_sweep(file)
    assert_one_line(caught.value, str(file), "aliases stand for more than 10,000 values")
    file.write_text(text.replace("name: tiny", "name: " + "[" * 5_000 + "]" * 5_000))
    with pytest.raises(ScenarioError) as caught:
        load_sweep(file)
    assert_one_line(caught.value, str(file), "nested deeper than 50 levels")
    with pytest.raises(ScenarioError) as caught:
        load_sweep(tmp_path)
    assert_one_line(caught.value, str(tmp_path), "the sweep file is not a regular file")
    with pytest.raises(ScenarioError) as caught:
        load_sweep(tmp_path / "missing.yaml")
    assert_one_line(caught.value, "the sweep file does not exist")


@pytest.mark.slow
def test_ready_sweeps_validate_and_integer_ranges_start_at_an_integer():
    sizes = {  # runs = samples the design draws × replications (the files' comments)
        "capabilities_lhs": 64 * 2,
        "morris_screening": 12 * (10 + 1) * 2,
        "sobol_drivers": 32 * (4 + 2) * 2,
    }
    files = sorted((PROJECT_ROOT / "scenarios" / "sweeps").glob("*.yaml"))
    assert set(sizes) <= {file.stem for file in files}
    for file in files:
        size = load_sweep(file).size
        assert size == sizes.get(file.stem, size) and size > 0, file.stem
    morris = load_sweep(PROJECT_ROOT / "scenarios" / "sweeps" / "morris_screening.yaml")
    agents = {sample["support.contact_centre.agents"] for sample in morris.design.samples}
    assert agents <= {1, 2, 3, 4, 5} and all(type(a) is int for a in agents)
