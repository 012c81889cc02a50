"""The contact-centre command, as a subcommand and as ``python -m
sim.support.contact_centre.cli``."""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sim.support.contact_centre import agents_for_service_level, erlang_a, erlang_c
from sim.support.contact_centre.cli import add_parser, main

ROOT = Path(__file__).resolve().parents[2]
SIX = (
    "p_wait",
    "asa_seconds",
    "mean_wait_seconds",
    "service_level",
    "abandon_rate",
    "occupancy",
)
"""The metrics the command prints, in order."""


def run(*argv):
    parser = argparse.ArgumentParser(prog="cxm")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["contact-centre", *argv])
    assert args.func is main
    return args.func(args)


def run_json(capsys, *argv):
    assert run(*argv, "--json") == 0
    return json.loads(capsys.readouterr().out)


def test_json_has_exactly_the_six_metrics(capsys):
    document = run_json(capsys, "--calls-per-hour", "200", "--aht-seconds", "180", "--agents", "14")
    assert set(document) == set(SIX)
    expected = erlang_c(200, 180, 14)
    for name in SIX:
        assert document[name] == pytest.approx(getattr(expected, name))


def test_patience_selects_erlang_a(capsys):
    argv = ["--calls-per-hour", "300", "--aht-seconds", "180", "--agents", "12"]
    document = run_json(capsys, *argv, "--patience-seconds", "120", "--answer-within-seconds", "30")
    expected = erlang_a(300, 180, 12, 120, answer_within_seconds=30)
    assert set(document) == set(SIX)
    assert document["abandon_rate"] == pytest.approx(expected.abandon_rate)
    assert document["service_level"] == pytest.approx(expected.service_level)
    # ASA over the answered calls, the mean wait over all of them (a quarter hang up).
    assert document["asa_seconds"] == pytest.approx(expected.asa_seconds)
    assert document["mean_wait_seconds"] == pytest.approx(expected.mean_wait_seconds)
    assert document["asa_seconds"] < document["mean_wait_seconds"]


def test_table_is_aligned_and_readable(capsys):
    assert run("--calls-per-hour", "200", "--aht-seconds", "180", "--agents", "14") == 0
    lines = capsys.readouterr().out.splitlines()
    assert "200 calls/hour" in lines[0] and "Erlang C" in lines[0]
    rows = lines[1:]
    assert [row.split()[0] for row in rows] == list(SIX)
    assert len({len(row) for row in rows}) == 1  # right-aligned values end in one column
    assert rows[3].split()[1] == "0.8884"


@pytest.mark.parametrize("patience", [None, "300"])
def test_target_service_level_answers_the_staffing(capsys, patience):
    argv = ["--calls-per-hour", "200", "--aht-seconds", "180", "--target-service-level", "0.8"]
    if patience:
        argv += ["--patience-seconds", patience]
    document = run_json(capsys, *argv)
    expected = agents_for_service_level(
        200, 180, 0.8, patience_seconds=None if patience is None else 300.0
    )
    assert document["agents_needed"] == expected
    assert set(document) == {*SIX, "agents_needed"}
    assert document["service_level"] >= 0.8
    assert run(*argv) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[1:]]
    assert rows[0] == ["agents_needed", str(expected)]


@pytest.mark.slow
def test_simpy_mode_simulates(capsys):
    argv = ["--calls-per-hour", "200", "--aht-seconds", "180", "--agents", "14"]
    document = run_json(capsys, *argv, "--mode", "simpy", "--hours", "50", "--seed", "3")
    again = run_json(capsys, *argv, "--mode", "simpy", "--hours", "50", "--seed", "3")
    assert set(document) == set(SIX) and document == again
    assert document["occupancy"] == pytest.approx(0.714, abs=0.05)


def test_overloaded_erlang_c_has_null_wait(capsys):
    argv = ["--calls-per-hour", "200", "--aht-seconds", "180", "--agents", "9"]
    document = run_json(capsys, *argv)
    assert document["asa_seconds"] is None and document["mean_wait_seconds"] is None
    assert document["service_level"] == 0.0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--aht-seconds", "-3", "--agents", "5"], "error: --aht-seconds: got -3; must be"),
        (["--aht-seconds", "180"], "error: --agents: required unless --target-service-level"),
        (["--aht-seconds", "180", "--agents", "0"], "error: --agents: got 0; must be >= 1 when"),
        (
            ["--aht-seconds", "180", "--agents", "5", "--patience-seconds", "0"],
            "error: --patience-",
        ),
        (
            ["--aht-seconds", "180", "--target-service-level", "1.5"],
            "error: --target-service-level: got 1.5",
        ),
        (["--aht-seconds", "180", "--agents", "5", "--hours", "10"], "error: --hours: only"),
        (
            ["--aht-seconds", "180", "--agents", "5", "--mode", "simpy", "--hours", "0"],
            "error: --hours: got 0",
        ),
    ],
)
def test_bad_input_is_one_error_line_and_status_2(capsys, argv, message):
    assert run("--calls-per-hour", "100", *argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(message)
    assert captured.err.count("\n") == 1


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--agents", "1e9"], "--agents: got 1000000000; must be a whole number from 0 to 100000"),
        (["--agents", "-1"], "--agents: got -1; must be a whole number from 0 to 100000"),
        (["--agents", "2.5"], "--agents: got 2.5; must be a whole number from 0 to 100000"),
        (["--agents", "many"], "--agents: got 'many'; must be a whole number from 0 to 100000"),
        (["--agents", "5", "--aht-seconds", "0"],
         "--aht-seconds: got 0; must be a number > 0 and at most 86400"),
        (["--agents", "5", "--aht-seconds", "1e6"],
         "--aht-seconds: got 1000000; must be a number > 0 and at most 86400"),
        (["--agents", "5", "--calls-per-hour", "nan"],
         "--calls-per-hour: got nan; must be a number >= 0 and at most 1000000"),
        (["--agents", "5", "--calls-per-hour", "inf"],
         "--calls-per-hour: got inf; must be a number >= 0 and at most 1000000"),
        (["--agents", "5", "--calls-per-hour", "1e9"],
         "--calls-per-hour: got 1000000000; must be a number >= 0 and at most 1000000"),
        (["--agents", "5", "--patience-seconds", "inf"],
         "--patience-seconds: got inf; must be a number > 0 and at most 3600"),
        (["--agents", "5", "--patience-seconds", "nan"],
         "--patience-seconds: got nan; must be a number > 0 and at most 3600"),
        (["--agents", "5", "--answer-within-seconds", "-1"],
         "--answer-within-seconds: got -1; must be a number >= 0 and at most 3600"),
        (["--agents", "5", "--answer-within-seconds", "1e5"],
         "--answer-within-seconds: got 100000; must be a number >= 0 and at most 3600"),
        (["--agents", "5", "--mode", "simpy", "--hours", "1e9"],
         "--hours: got 1000000000; must be a number > 0 and at most 100000"),
        (["--agents", "5", "--mode", "simpy", "--hours", "nan"],
         "--hours: got nan; must be a number > 0 and at most 100000"),
        (["--agents", "5", "--seed", "5e9"], "--seed: got 5000000000; must be a whole number"),
        (["--agents", "5", "--seed", "-1"], "--seed: got -1; must be a whole number from 0"),
        (["--target-service-level", "1.5"], "--target-service-level: got 1.5; must be in (0, 1)"),
        (["--target-service-level", "nan"], "--target-service-level: got nan; must be in (0, 1)"),
        (["--target-service-level", "0.8", "--calls-per-hour", "1e6", "--aht-seconds", "86400"],
         "--target-service-level: got 0.8; must be reachable with at most 100000 agents"),
        # the work of a simulation is bounded too: calls per hour × hours
        (["--agents", "5", "--mode", "simpy", "--hours", "1e5"],
         "--hours: got 100000 at --calls-per-hour 100: about 1e+07 calls to simulate"),
        (["--agents", "900", "--mode", "simpy", "--calls-per-hour", "1e4"],
         "--hours: got 1000 (the default) at --calls-per-hour 10000: about 1e+07 calls"),
    ],
)  # fmt: skip
def test_every_number_is_bounded_and_checked_before_any_work(capsys, argv, message):
    assert run("--calls-per-hour", "100", "--aht-seconds", "180", *argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"error: {message}")
    assert captured.err.count("\n") == 1


def test_whole_numbers_written_as_floats_are_accepted(capsys):
    argv = ["--calls-per-hour", "2e2", "--aht-seconds", "180", "--agents", "1.4e1"]
    assert run_json(capsys, *argv) == run_json(capsys, *argv[:-1], "14")
    simulated = ["--mode", "simpy", "--hours", "5", "--seed", "1e1"]
    assert run_json(capsys, *argv, *simulated) == run_json(capsys, *argv, *simulated[:-1], "10")


def test_cxm_reports_the_bounds_in_one_line(capsys):
    from sim.cli.main import main as cxm

    argv = ["contact-centre", "--calls-per-hour", "100", "--aht-seconds", "180"]
    assert cxm([*argv, "--agents", "1e9"]) == 2
    err = capsys.readouterr().err
    assert err == "error: --agents: got 1000000000; must be a whole number from 0 to 100000\n"


def module(*argv):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "sim.support.contact_centre.cli", *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_runs_as_a_module():
    ok = module("--calls-per-hour", "200", "--aht-seconds", "180", "--agents", "14", "--json")
    assert ok.returncode == 0 and set(json.loads(ok.stdout)) == set(SIX)
    bad = module("--calls-per-hour", "200", "--aht-seconds", "-3", "--agents", "14")
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr == "error: --aht-seconds: got -3; must be a number > 0 and at most 86400\n"
    assert "Traceback" not in bad.stderr


@pytest.mark.slow
def test_help_explains_the_options_with_units():
    text = module("--help").stdout
    for phrase in ("calls per hour", "in seconds", "default: 20)", "in hours", "in (0, 1)"):
        assert phrase in text
