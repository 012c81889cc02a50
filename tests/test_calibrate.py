"""Calibration: a known parameter is recovered from its own simulated KPI."""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest
import yaml

from sim.cli.main import main
from sim.cli.options import parse_bounds, parse_targets
from sim.errors import CXMError
from sim.experiments import parallel
from sim.experiments.calibrate import calibrate, check_options, measure
from sim.results import PROJECT_ROOT
from sim.scenario import load_scenario, with_overrides
from sim.scenario.overrides import field_constraints

BASELINE = PROJECT_ROOT / "scenarios" / "baseline.yaml"
CHURN = "market.segments.mainstream.churn_per_month"
SMALL = {"market.size": 1500, "months": 8, "support.mode": "service_level"}


@pytest.fixture(scope="module")
def small():
    return with_overrides(load_scenario(BASELINE), SMALL)


@pytest.mark.slow
def test_recovers_a_known_churn_rate(small):
    truth = with_overrides(small, {CHURN: 0.02})
    target = measure(truth, ["churn_rate_mean"], replications=3, seed=11)
    start = with_overrides(small, {CHURN: 0.01})
    result = calibrate(
        start, target, [CHURN], bounds={CHURN: (0.001, 0.05)}, replications=3, seed=11,
        max_evaluations=40,
    )  # fmt: skip
    assert result.values[CHURN] == pytest.approx(0.02, abs=0.001)
    fit = result.fit.set_index("target")
    assert abs(fit.loc["churn_rate_mean", "relative_error"]) < 0.01
    assert result.evaluations <= 40 and len(result.history) == result.evaluations
    assert result.scenario.name == "baseline_calibrated"
    assert result.scenario.market.segments[0].churn_per_month == result.values[CHURN]
    assert "churn_rate_mean" in result.scenario.description


@pytest.mark.slow
def test_two_targets_two_parameters_fit_closely(small):
    truth = with_overrides(small, {CHURN: 0.025, "firm.capabilities.culture": 4.0})
    names = ["churn_rate_mean", "nps_true_mean"]
    target = measure(truth, names, replications=2, seed=3)
    result = calibrate(
        small, target, [CHURN, "firm.capabilities.culture"],
        bounds={CHURN: (0.005, 0.05)}, replications=2, seed=3, max_evaluations=60,
    )  # fmt: skip
    assert result.objective < 1e-3
    assert result.fit["relative_error"].abs().max() < 0.03
    assert result.bounds["firm.capabilities.culture"] == (0.0, 5.0)  # from the schema


@pytest.mark.slow
def test_two_workers_calibrate_exactly_as_one_on_one_cluster(small, monkeypatch):
    clusters = []
    open_cluster = parallel._local_client

    def counted(*args, **kwargs):
        clusters.append(args)
        return open_cluster(*args, **kwargs)

    monkeypatch.setattr(parallel, "_local_client", counted)
    short = with_overrides(small, {"months": 6})
    options = {"bounds": {CHURN: (0.001, 0.05)}, "replications": 2, "seed": 11, "search": 3,
               "max_evaluations": 8}  # fmt: skip
    one = calibrate(short, {"churn_rate_mean": 0.02}, [CHURN], workers=1, **options)
    assert clusters == []
    two = calibrate(short, {"churn_rate_mean": 0.02}, [CHURN], workers=2, **options)
    assert len(clusters) == 1  # one cluster for every evaluation
    pd.testing.assert_frame_equal(one.history, two.history, check_exact=True)
    pd.testing.assert_frame_equal(one.fit, two.fit, check_exact=True)
    assert one.values == two.values and one.objective == two.objective
    assert one.scenario.sha256 == two.scenario.sha256


def test_schema_bounds_of_fields():
    assert field_constraints(CHURN) == (0.0, pytest.approx(1.0), False)
    assert field_constraints(CHURN)[1] < 1.0  # exclusive bound moved inside
    assert field_constraints("firm.capabilities.technology") == (0.0, 5.0, False)
    assert field_constraints("market.size")[2] is True
    low, high, _ = field_constraints("support.mean_wait_minutes")
    assert low == 0.0 and math.isinf(high)
    with pytest.raises(LookupError, match="has no field 'nope'"):
        field_constraints("support.nope")
    with pytest.raises(LookupError, match="goes below a plain value at 'x'"):
        field_constraints("market.size.x")
    # a named list item and a mapping entry resolve to their fields' bounds
    low, high, _ = field_constraints("market.segments.premium.share")  # share > 0, ≤ 1
    assert 0.0 < low < 1e-8 and high == 1.0


def test_bad_requests_are_clear_errors(small):
    with pytest.raises(CXMError, match="not a target"):
        calibrate(small, {"happiness": 1.0}, [CHURN])
    with pytest.raises(CXMError, match=r"^bounds: .*; give bounds support\.mean_wait_minutes="):
        calibrate(small, {"churn_rate_mean": 0.01}, ["support.mean_wait_minutes"])
    with pytest.raises(CXMError, match="is not a value of scenario"):
        calibrate(small, {"churn_rate_mean": 0.01}, ["market.segments.nobody.churn_per_month"])
    with pytest.raises(CXMError, match="allowed range"):
        calibrate(small, {"churn_rate_mean": 0.01}, [CHURN], bounds={CHURN: (0.0, 2.0)})
    assert parse_targets(["nps_true=25", "churn_rate_mean = 0.015"]) == {
        "nps_true": 25.0, "churn_rate_mean": 0.015,
    }  # fmt: skip
    assert parse_bounds([f"{CHURN}=0.001:0.05"]) == {CHURN: (0.001, 0.05)}
    for bad in (["x"], ["x=1", "x=2"], ["x=high"]):
        with pytest.raises(CXMError, match="--target"):
            parse_targets(bad)
    with pytest.raises(CXMError, match="LOW:HIGH"):
        parse_bounds(["x=1-2"])


@pytest.mark.slow
def test_cxm_calibrate_writes_a_loadable_scenario(tmp_path, capsys):
    out = tmp_path / "fitted.yaml"
    args = ["calibrate", str(BASELINE), "--target", "churn_rate_mean=0.02", "--free", CHURN,
            "--bounds", f"{CHURN}=0.001:0.06", "-r", "2", "--months", "6", "--set",
            "market.size=1000", "--set", "support.mode=erlang", "--max-evaluations", "30",
            "--out", str(out), "-q"]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "churn_rate_mean" in printed and "relative_error" in printed
    text = out.read_text()
    assert text.startswith("# Calibrated baseline_calibrated")
    fitted = load_scenario(out)
    assert fitted.market.size == 1000 and fitted.months == 6
    assert yaml.safe_load(text)["name"] == "baseline_calibrated"
    assert 0.001 <= fitted.market.segments[0].churn_per_month <= 0.06
    assert [p.name for p in tmp_path.iterdir()] == ["fitted.yaml"]


def test_cxm_calibrate_bad_input_exits_2_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "never.yaml"
    args = ["calibrate", str(BASELINE), "--target", "nps=3", "--free", CHURN, "--out", str(out)]
    assert main(args) == 2
    assert capsys.readouterr().err.startswith("error: --target")
    assert not out.exists()


@pytest.mark.parametrize(
    "texts, message",
    [
        (["churn_rate_mean=nan"], "--target: got 'churn_rate_mean=nan'; the value must be a"),
        (["churn_rate_mean=inf"], "--target: got 'churn_rate_mean=inf'; the value must be a"),
        (["churn_rate_mean=-inf"], "--target: got 'churn_rate_mean=-inf'; the value must be"),
        (["nps_true=2 5"], "--target: got 'nps_true=2 5'; the value must be a finite number"),
        (["nps_true=1\n2"], "--target: got 'nps_true=1\\n2'; the value must be a finite number"),
        (["=3"], "--target: got '=3'; expected NAME=VALUE"),
        (["nps_true=1", " nps_true =2"], "--target: 'nps_true' is given twice"),
    ],
)  # fmt: skip
def test_targets_must_be_finite_numbers(texts, message):
    with pytest.raises(CXMError) as caught:
        parse_targets(texts)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "text",
    ["x=nan:1", "x=0:inf", "x=-inf:1", "x=1:0", "x=1:1", "x=0.1", "x=a:b", "x=1:2:3", "x=:1"],
)
def test_bounds_must_be_finite_and_ordered(text):
    with pytest.raises(CXMError) as caught:
        parse_bounds([text])
    assert str(caught.value) == (
        f"--bounds: got {text!r}; expected PATH=LOW:HIGH with finite numbers LOW < HIGH, "
        "e.g. 0.005:0.05"
    )


@pytest.mark.parametrize(
    "options, message",
    [
        ({"replications": 0}, "replications: got 0; must be a whole number from 1 to 1000"),
        ({"replications": 1001}, "replications: got 1001; must be a whole number from 1 to 1000"),
        ({"max_evaluations": 0}, "max_evaluations: got 0; must be a whole number from 1 to 1"),
        ({"max_evaluations": 10**6}, "max_evaluations: got 1000000; must be a whole number"),
        ({"search": 0}, "search: got 0; must be a whole number from 1 to 10000"),
        ({"search": 20_000}, "search: got 20000; must be a whole number from 1 to 10000"),
        ({"seed": -1}, "seed: got -1; must be a whole number from 0 to"),
        ({"replications": 1000, "max_evaluations": 5000},
         "max_evaluations: 5000 evaluations × 1000 replications = 5000000 runs; must be at most "
         "1000000"),
    ],
)  # fmt: skip
def test_counts_are_bounded_before_any_work(small, monkeypatch, options, message):
    def no_work(*args, **kwargs):
        raise AssertionError("a scenario was evaluated")

    monkeypatch.setattr("sim.experiments.calibrate.experiments.run", no_work)
    monkeypatch.setattr("sim.experiments.calibrate.available_outcomes", no_work)
    with pytest.raises(CXMError) as caught:
        calibrate(small, {"churn_rate_mean": 0.01}, [CHURN], **options)
    assert str(caught.value).startswith(message)
    defaults = {"replications": 4, "search": None, "max_evaluations": 150, "seed": None}
    with pytest.raises(CXMError, match=f"^{re.escape(message)}"):
        check_options(**(defaults | options))


def test_cxm_calibrate_bounds_replications_in_one_line(tmp_path, capsys):
    out = tmp_path / "never.yaml"
    args = ["calibrate", str(BASELINE), "--target", "churn_rate_mean=0.02", "--free", CHURN,
            "--replications", "5000", "--out", str(out)]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err == "error: --replications: got 5000; must be a whole number from 1 to 1000\n"
    assert not out.exists()
