"""`cxm bench` (`sim.cli.bench`) and what it measures with (`sim.benchmark`): many small
runs, the phase shares, the machine's yardstick and the profile files; and the phase timing
of `CXModel(profile=True)`, which must not change a result."""

from __future__ import annotations

import inspect
import json
import pstats
import re

import pandas as pd
import pytest

from sim import benchmark
from sim.cli import bench
from sim.cli.main import main
from sim.model import DESK, MONTH_START, PHASES, CXModel
from sim.results import PROJECT_ROOT
from sim.scenario import load_scenario, with_overrides
from sim.threads import available

BASELINE = PROJECT_ROOT / "scenarios" / "baseline.yaml"
INITIAL_SHARE = load_scenario(BASELINE).market.initial_customers
TIMED = [benchmark.BUILD, MONTH_START, *PHASES, benchmark.TABLES, benchmark.OTHER]
"""Every entry of the phase shares, in order."""


def test_step_runs_exactly_the_declared_phases():
    # The timing wraps the methods PHASES names: a phase added to step() must be declared.
    called = re.findall(r"self\.(\w+)\(", inspect.getsource(CXModel.step))
    assert called == list(PHASES.values())


def test_many_small_runs_report_runs_per_second_phase_shares_and_the_yardstick(capsys):
    args = ["bench", "--runs", "3", "--customers", "300", "--months", "3", "--json", "-q"]
    assert main(args) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["runs"] == 3 and figures["months"] == 3
    assert figures["market_size"] == round(300 / INITIAL_SHARE)
    assert figures["runs_per_s"] > 0
    assert figures["runs_per_s"] == pytest.approx(3 / figures["seconds"], rel=0.01)
    # about 300 initial customers in each of 3 months of 3 runs, less churn, plus adoption
    assert 3 * 3 * 250 < figures["customer_months"] < 3 * 3 * 400
    shares = figures["phase_shares"]
    assert list(shares) == TIMED
    assert sum(shares.values()) == pytest.approx(1.0, abs=1e-6)
    assert all(share >= 0 for share in shares.values())
    assert 0 < figures["desk_share"] <= shares["support.serve"]
    assert figures["yardstick_normals_per_s"] > 1e6
    per_normal = figures["customer_months_per_s"] / figures["yardstick_normals_per_s"]
    assert figures["customer_months_per_normal"] == pytest.approx(per_normal, rel=1e-3)
    assert figures["yardstick_threads_speedup"] == 1.0 or figures["threads"] > 1


def test_runs_default_to_a_market_of_five_thousand_people(capsys):
    assert main(["bench", "--runs", "1", "--months", "2", "--json", "-q"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["market_size"] == bench.SMALL_PEOPLE == 5000
    assert figures["runs"] == 1 and figures["months"] == 2


def test_small_runs_print_a_table_of_phases(capsys):
    assert main(["bench", "--runs", "2", "--customers", "300", "--months", "2", "-q"]) == 0
    printed = capsys.readouterr().out
    assert "market of 1000 people, 2 months, 2 runs" in printed
    assert re.search(r"runs_per_s  \d", printed)
    for name in TIMED:
        assert re.search(rf"\n    {re.escape(name)} +\d+\.\d%", printed), name
    assert "inside support.serve" in printed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--runs", "0"], "--runs: got 0; must be a whole number from 1 to"),
        (["--runs", "-1"], "--runs: got -1; must be a whole number from 1 to"),
        (["--runs", "many"], "--runs"),
        (["--big-customers", "500"], "--big-customers: is used only with --profile"),
        (["--profile", "p", "--big-months", "0"], "--big-months: got 0"),
        (["--speedup", "--threads", "1"], "--speedup: needs two threads or more; --threads is 1"),
        (["--speedup", "--runs", "2"], "--runs: cannot be used with --speedup"),
        (["--speedup", "--profile", "p"], "--profile: cannot be used with --speedup"),
    ],
)
def test_bad_bench_options_are_one_line(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    assert main(["bench", *args, "--customers", "300", "--months", "2", "-q"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1
    assert message in captured.err
    assert list(tmp_path.iterdir()) == []


def test_profile_refuses_a_folder_of_the_users(tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    small = ["--customers", "300", "--months", "2", "-q"]
    for overwrite in ([], ["--overwrite"]):
        assert main(["bench", "--profile", str(folder), *small, *overwrite]) == 2
        error = capsys.readouterr().err
        assert error.startswith("error: --profile: ") and error.count("\n") == 1
        assert "not a cxm result" in error
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    assert (folder / "notes.txt").read_text() == "mine"


def test_profile_writes_both_sizes_and_a_cprofile(tmp_path, capsys):
    out = tmp_path / "profile"
    args = ["bench", "--profile", str(out), "--runs", "2", "--customers", "300", "--months", "3"]
    args += ["--big-customers", "600", "--big-months", "4", "-q"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert f"written to {out}" in printed and "yardstick:" in printed
    files = {"profile_small.json", "profile_big.json", "profile_small.prof", "profile_small.txt"}
    assert {p.name for p in out.iterdir()} == files | {"manifest.json"}
    small = json.loads((out / "profile_small.json").read_text())
    big = json.loads((out / "profile_big.json").read_text())
    assert (small["runs"], small["market_size"], small["months"]) == (2, 1000, 3)
    assert (big["runs"], big["market_size"], big["months"]) == (1, 2000, 4)
    for profile in (small, big):
        phases = profile["phases"]
        assert list(phases) == TIMED
        assert sum(p["share"] for p in phases.values()) == pytest.approx(1.0, abs=1e-6)
        assert sum(p["seconds"] for p in phases.values()) == pytest.approx(profile["seconds"], 1e-2)
        months = profile["runs"] * profile["months"]
        assert all(phases[name]["calls"] == months for name in (MONTH_START, *PHASES))
        assert phases[benchmark.BUILD]["calls"] == profile["runs"]
        desk = profile["inside"][DESK]
        assert desk["within"] == "support.serve" and desk["calls"] == months
        assert 0 < desk["seconds"] <= phases["support.serve"]["seconds"]
        assert profile["yardstick_normals_per_s"] > 1e6
    stats = pstats.Stats(str(out / "profile_small.prof"))
    assert stats.total_calls > 1000
    assert any(name == "step" for _, _, name in stats.stats)
    text = (out / "profile_small.txt").read_text()
    assert "Ordered by: cumulative time" in text and "function calls" in text
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "profile" and manifest["package_versions"]["cxm-lab"]
    # a second profile into the same folder replaces the first only when asked
    assert main(args) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0


@pytest.mark.parametrize("engine", ["vector", "agents"])
@pytest.mark.parametrize("mode", ["simpy", "service_level"])
def test_phase_timing_does_not_change_results(engine, mode):
    scenario = with_overrides(
        load_scenario(BASELINE), {"market.size": 1500, "months": 12, "support.mode": mode}
    )
    plain = CXModel(scenario, seed=11, replication=1, engine=engine)
    timed = CXModel(scenario, seed=11, replication=1, engine=engine, profile=True)
    plain.run_to_horizon()
    timed.run_to_horizon()
    assert plain.phase_times is None
    for table in ("timeseries", "touchpoint_table", "segment_table"):
        pd.testing.assert_frame_equal(
            getattr(plain.recorder, table)(), getattr(timed.recorder, table)()
        )
    times = timed.phase_times
    assert times is not None
    assert set(times.seconds) == {MONTH_START, *PHASES, DESK}
    assert all(times.calls[name] == 12 for name in (MONTH_START, *PHASES, DESK))
    assert times.seconds[DESK] <= times.seconds["support.serve"]


def test_timed_runs_add_up_and_count_customer_months():
    scenario = with_overrides(load_scenario(BASELINE), {"market.size": 1000, "months": 3})
    timing = benchmark.time_runs(scenario, 2, seed=4)
    assert sum(timing.phases.values()) == pytest.approx(timing.seconds, rel=1e-9)
    assert sum(timing.shares().values()) == pytest.approx(1.0, abs=1e-12)
    assert timing.calls["firm.plan"] == 2 * 3 and timing.calls[benchmark.BUILD] == 2
    expected = 0
    for replication in range(2):
        model = CXModel(scenario, seed=4, replication=replication, history=False)
        model.run_to_horizon()
        expected += int(model.recorder.timeseries()["active_start"].sum())
    assert timing.customer_months == expected


def test_the_yardstick_counts_normal_draws_per_second():
    rate = benchmark.normal_draw_rate(seconds=0.05, block=100_000)
    assert 1e6 < rate < 1e11


def test_the_yardstick_draws_on_every_thread_at_once():
    measured = benchmark.yardstick(2, seconds=0.1, block=100_000)
    assert measured.threads == 2 and 1e6 < measured.normals_per_s < 1e11
    # two threads drawing at once, their draws added up: about twice as many as one
    # thread's on a quiet machine, about as many when the other core is busy; the rounds
    # are short here (20 ms), so the bounds leave room for the machine's jitter
    assert 0.5 < measured.threads_speedup < 3.0
    assert benchmark.yardstick(1, seconds=0.05, block=100_000).threads_speedup == 1.0


TWO_CORES = pytest.mark.skipif(available() < 2, reason="needs two threads")


@TWO_CORES
def test_months_alternating_between_thread_counts_are_a_plain_runs(monkeypatch):
    # Every pass spread over the threads when they are two (from ten people): seven months
    # alternate 1, 2 | 2, 1 | 1, 2 | 2 threads and give the plain run's tables; the pairs,
    # the customer-months on each side and the process's thread count afterwards.
    import sim.threads as threads

    monkeypatch.setattr(threads, "PARALLEL_FROM", 10)
    scenario = with_overrides(load_scenario(BASELINE), {"market.size": 3000, "months": 7})
    plain = CXModel(scenario, seed=5, replication=0, history=False)
    plain.run_to_horizon()
    used: list[int] = []
    monkeypatch.setattr(benchmark, "set_threads", lambda count: used.append(count))
    before = threads.threads()
    alternating = CXModel(scenario, seed=5, replication=0, history=False)
    measured = benchmark.time_alternating(alternating, 2)
    assert used == [1, 2, 2, 1, 1, 2, 2, before]
    for table in ("timeseries", "touchpoint_table", "segment_table"):
        pd.testing.assert_frame_equal(
            getattr(plain.recorder, table)(), getattr(alternating.recorder, table)()
        )
    active = plain.recorder.timeseries()["active_start"].to_numpy()
    assert measured.customer_months == (
        int(active[[0, 3, 4]].sum()),
        int(active[[1, 2, 5, 6]].sum()),
    )
    assert measured.threads == 2 and all(s > 0 for s in measured.seconds)
    # three pairs, less those in which the desk simulated a period
    assert len(measured.pair_speedups) <= 3 and all(r > 0 for r in measured.pair_speedups)
    if measured.pair_speedups:
        assert measured.speedup == float(pd.Series(measured.pair_speedups).median())
    no_pair = measured._replace(pair_speedups=())
    assert no_pair.speedup != no_pair.speedup  # NaN
    assert no_pair.speedup_of_totals == measured.speedup_of_totals > 0


@TWO_CORES
def test_bench_speedup_needs_a_pair_of_months(capsys):
    assert main(["bench", "--speedup", "--customers", "300", "--months", "1", "-q"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "error: --months: got 1; must be 2 or more with --speedup\n"


@TWO_CORES
def test_bench_speedup_reports_both_sides_and_the_yardstick(capsys):
    args = ["bench", "--speedup", "--customers", "300", "--months", "4", "--threads", "2"]
    assert main([*args, "--json", "-q"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert list(figures) == [
        "threads", "month_pairs", "seconds_one_thread", "seconds_threads",
        "customer_months_per_s_one_thread", "customer_months_per_s_threads",
        "threads_speedup", "threads_speedup_of_totals", "yardstick_threads_speedup",
        "periods_simulated",
    ]  # fmt: skip
    assert figures["threads"] == 2 and 0 <= figures["month_pairs"] <= 2
    assert figures["seconds_one_thread"] > 0 and figures["seconds_threads"] > 0
    assert 0.5 < figures["yardstick_threads_speedup"] < 3.0
    assert main([*args, "-q"]) == 0
    printed = capsys.readouterr().out
    assert "4 months alternating between 1 and 2 threads" in printed
    assert re.search(r"\n +threads_speedup  \d", printed)
