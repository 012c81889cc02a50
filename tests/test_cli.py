"""The `cxm` command end to end: run, compare, validate, bench and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.cli.main import main
from sim.compiled import code_digest
from sim.results import PROJECT_ROOT
from sim.scenario import load_scenario

BASELINE = str(PROJECT_ROOT / "scenarios" / "baseline.yaml")
ALTERNATIVE = str(PROJECT_ROOT / "scenarios" / "service_excellence.yaml")
SMALL = ["--set", "market.size=1500", "--months", "12", "-q"]
RUN_FILES = ("timeseries", "touchpoints", "segments", "outcomes")
BENCH_KEYS = [
    "threads",
    "customer_months",
    "seconds",
    "customer_months_per_s",
    "peak_rss_mb",
    "yardstick_normals_per_s",
    "yardstick_threads_speedup",
    "customer_months_per_normal",
    "phase_shares",
    "desk_share",
    "periods_simulated",
]
"""What `cxm bench --json` prints for one big run, in order (either engine)."""


@pytest.mark.slow
def test_run_writes_tables_summary_and_manifest(tmp_path, capsys):
    out = tmp_path / "run"
    status = main(["run", BASELINE, "-r", "3", "--seed", "5", "--out", str(out), *SMALL])
    assert status == 0
    printed = capsys.readouterr().out
    assert "active customers" in printed and "95% interval" in printed
    files = {p.name for p in out.iterdir()}
    assert {"timeseries.parquet", "touchpoints.parquet", "summary.json", "manifest.json"} <= files
    ts = pd.read_parquet(out / "timeseries.parquet")
    assert len(ts) == 3 * 12 and set(ts["replication"]) == {0, 1, 2}
    expected = {"active", "churn_rate", "retention_rate", "revenue", "profit", "nps_true"}
    expected |= {"nps_measured", "csat_measured", "ces_measured", "repeat_purchase_rate"}
    assert expected <= set(ts)
    tp = pd.read_parquet(out / "touchpoints.parquet")
    assert len(tp) == 3 * 12 * 8
    summary = json.loads((out / "summary.json").read_text())
    active = summary["metrics"]["active"]
    assert active["ci_low"] <= active["mean"] <= active["ci_high"]
    manifest = json.loads((out / "manifest.json").read_text())
    scenario = load_scenario(BASELINE, ["market.size=1500", "months=12"])
    assert manifest["scenario_sha256"] == scenario.sha256
    assert manifest["scenario"]["market"]["size"] == 1500
    assert manifest["seed"] == 5 and manifest["engine"] == "vector"
    assert len(manifest["replication_streams"]) == 3
    assert manifest["package_versions"]["mesa"]
    assert manifest["wall_seconds"] >= 0 and "run" in manifest["command"]
    assert "git_commit" in manifest
    assert manifest["code_sha256"] == code_digest()
    status = subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), "status", "--porcelain"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert manifest["git_uncommitted_changes"] is bool(status.stdout.strip())


@pytest.mark.slow
def test_same_command_same_results(tmp_path):
    for name in ("a", "b"):
        assert main(["run", BASELINE, "-r", "2", "--out", str(tmp_path / name), *SMALL]) == 0
    a = pd.read_parquet(tmp_path / "a" / "timeseries.parquet")
    b = pd.read_parquet(tmp_path / "b" / "timeseries.parquet")
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.slow
def test_compare_prints_paired_table_and_writes_it(tmp_path, capsys):
    alt = str(PROJECT_ROOT / "scenarios" / "service_excellence.yaml")
    out = tmp_path / "cmp"
    assert main(["compare", BASELINE, alt, "-r", "3", "--out", str(out), *SMALL]) == 0
    printed = capsys.readouterr().out
    assert "service_excellence vs baseline" in printed and "difference" in printed
    paired = pd.read_parquet(out / "compare.parquet")
    assert len(paired) == 3 and "revenue_total" in paired
    assert (out / "baseline" / "timeseries.parquet").exists()
    assert (out / "service_excellence" / "summary.json").exists()


def test_compare_excel_holds_the_tables_on_disk(tmp_path, capsys):
    out = tmp_path / "cmp"
    args = ["compare", BASELINE, ALTERNATIVE, "-r", "2", "--excel", "--out", str(out), *SMALL]
    assert main(args) == 0
    assert "workbook: comparison.xlsx" in capsys.readouterr().out
    book = pd.read_excel(out / "comparison.xlsx", sheet_name=None)
    assert list(book) == ["About", "Summary", "Per replication", "Time series"]
    about = book["About"].set_index("item")["value"]
    assert about["base"] == "baseline" and about["alternatives"] == "service_excellence"
    assert "noise only" in about["note"]
    summary = pd.read_csv(out / "compare_summary.csv")
    sheet = book["Summary"]
    assert list(sheet["metric"]) == list(summary["metric"])
    assert sheet.loc[sheet["metric"] == "active", "label"].item() == "active customers"
    for column in ("base_mean", "alternative_mean", "difference", "ci_low", "ci_high"):
        np.testing.assert_allclose(sheet[column], summary[column], rtol=1e-12)
    paired = pd.read_parquet(out / "compare.parquet")
    np.testing.assert_allclose(
        book["Per replication"]["profit_npv"], paired["profit_npv"], rtol=1e-12
    )
    series = book["Time series"]
    assert len(series) == 2 * 2 * 12
    active = series[series["scenario"] == "service_excellence"]["active"].to_numpy()
    on_disk = pd.read_parquet(out / "service_excellence" / "timeseries.parquet")["active"]
    np.testing.assert_array_equal(active, on_disk.to_numpy())
    # a folder holding a workbook is a cxm result: --overwrite replaces it
    assert main([*args, "--overwrite"]) == 0


def test_validate_prints_resolved_yaml(capsys):
    assert main(["validate", BASELINE, "--set", "months=7"]) == 0
    text = capsys.readouterr().out
    resolved = yaml.safe_load(text)
    assert resolved["months"] == 7
    assert resolved["behaviour"]["churn"]["satisfaction_effect"] == 6.0  # a filled default


def test_bench_json_keys(capsys):
    assert main(["bench", "--customers", "3000", "--months", "3", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert list(figures) == BENCH_KEYS
    assert figures["customer_months"] > 3 * 2500


def test_bench_takes_scenario_overrides(capsys):
    # Much heavier advertising wins more customers, hence more customer-months.
    args = ["bench", "--customers", "3000", "--months", "3", "--json"]
    assert main([*args, "--set", "support.mode=service_level"]) == 0
    served = json.loads(capsys.readouterr().out)["customer_months"]
    assert main([*args, "--set", "acquisition.advertising_per_month=0.2"]) == 0
    advertised = json.loads(capsys.readouterr().out)["customer_months"]
    assert advertised > served


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "scenarios/missing.yaml"], "does not exist"),
        (["run", BASELINE, "--set", "market.nope=1"], "market.nope"),
        (["run", BASELINE, "--set", "market.size=-3"], "market.size"),
        (["run", BASELINE, "-r", "0"], "--replications"),
        (["compare", BASELINE, BASELINE], "used twice"),
        (["run", BASELINE, "--workers", "0"], "--workers: got 0"),
        (["compare", BASELINE, ALTERNATIVE, "--scheduler", "bad"], "--scheduler: got 'bad'"),
    ],
)
@pytest.mark.slow
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, args, message):
    out = tmp_path / "never"
    command = [sys.executable, "-m", "sim.cli.main", *args, "--out", str(out), "-q"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("error: ")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_run_on_two_workers_writes_the_tables_of_one(tmp_path, capsys):
    for workers in ("1", "2"):
        out = tmp_path / workers
        args = ["run", BASELINE, "-r", "3", "--seed", "5", "--workers", workers]
        assert main([*args, "--out", str(out), *SMALL]) == 0
    assert "active customers" in capsys.readouterr().out
    for name in RUN_FILES:
        one = pd.read_parquet(tmp_path / "1" / f"{name}.parquet")
        two = pd.read_parquet(tmp_path / "2" / f"{name}.parquet")
        pd.testing.assert_frame_equal(one, two, check_exact=True)
    summaries = [(tmp_path / w / "summary.json").read_text() for w in ("1", "2")]
    assert summaries[0] == summaries[1]


@pytest.mark.parametrize(
    "command",
    [
        ["run", BASELINE],
        ["compare", BASELINE, ALTERNATIVE],
        ["calibrate", BASELINE, "--target", "churn_rate_mean=0.02", "--free", "firm.noise_sd"],
        ["optimise", BASELINE, "--budget", "100000"],
    ],
    ids=["run", "compare", "calibrate", "optimise"],
)
@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--workers", "0"], "--workers: got 0; must be at least 1"),
        (["-w", "-3"], "--workers: got -3; must be at least 1"),
        (["--workers", "x"], "argument --workers/-w: invalid int value: 'x'"),
        (["--scheduler", "bad"], "--scheduler: got 'bad'; must be tcp://HOST:PORT"),
        (["--workers", "2", "--scheduler", "tcp://h:1"], "not allowed with argument"),
        (["--tls-cert", "c.pem"], "--tls-cert: only with --scheduler"),
        (["--workers", "1", "--dashboard"], "--dashboard: needs a local cluster"),
    ],
)
def test_bad_execution_options_exit_2_in_one_line(tmp_path, capsys, command, options, message):
    out = tmp_path / "never"
    assert main([*command, *options, "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err
    assert not out.exists()


@pytest.mark.slow
def test_help_is_useful():
    done = subprocess.run(
        [sys.executable, "-m", "sim.cli.main", "run", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0
    for option in ("--replications", "--seed", "--out", "--set", "--months", "--workers"):
        assert option in done.stdout


@pytest.mark.slow
def test_failed_run_leaves_no_partial_directory(tmp_path, monkeypatch):
    from sim import results

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(results, "_write_json", explode)
    out = tmp_path / "partial"
    with pytest.raises(RuntimeError):
        main(["run", BASELINE, "-r", "1", "--out", str(out), *SMALL])
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == []


@pytest.mark.slow
def test_rerun_replaces_previous_result_whole(tmp_path):
    out = tmp_path / "again"
    assert main(["run", BASELINE, "-r", "1", "--out", str(out), *SMALL]) == 0
    (out / "segments.parquet").unlink()  # a result file that the new result will bring back
    command = ["run", BASELINE, "-r", "1", "--out", str(out), *SMALL, "--overwrite"]
    assert main(command) == 0
    assert (out / "segments.parquet").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again"]


def test_console_script_entry_point_is_declared():
    text = Path(PROJECT_ROOT / "pyproject.toml").read_text()
    assert 'cxm = "sim.cli.main:main"' in text


@pytest.mark.slow
def test_output_cut_short_by_the_reader_gives_no_traceback():
    command = f"'{sys.executable}' -m sim.cli.main validate '{BASELINE}' | head -1"
    done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=60)
    assert done.stdout.startswith("# ")
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


def test_library_errors_name_parameters_and_the_command_line_its_flags(tmp_path, capsys):
    """The library names a parameter as Python does; `cxm` shows the same problem with its
    own flag, other parameters the message names included."""
    from sim.cli.options import flag
    from sim.errors import OptionError
    from sim.experiments import parallel

    with pytest.raises(OptionError) as caught:
        parallel.check_options(None, "tcp://10.0.0.5:8786", tls_key=tmp_path / "key.pem")
    error = caught.value
    assert str(error).startswith("tls_key: needs a TLS scheduler address (tls://HOST:PORT); ")
    assert error.rendered(flag).startswith("--tls-key: needs a TLS scheduler address")
    assert error.rendered(flag).endswith("--scheduler is 'tcp://10.0.0.5:8786'")
    assert flag("max_evaluations") == "--max-evaluations" and flag("targets") == "--target"
    assert flag("--seed") == "--seed"
    # only the parameters a message declares are rendered; other braces stay as given
    assert OptionError("where", "got '{x} > 1'", ("scheduler",)).rendered(flag) == (
        "--where: got '{x} > 1'"
    )
    baseline = str(PROJECT_ROOT / "scenarios" / "baseline.yaml")
    assert main(["run", baseline, "--dashboard", "--workers", "1", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        "error: --dashboard: needs a local cluster; not with --workers 1\n"
    )
