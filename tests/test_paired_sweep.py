"""Paired sweeps: each run is the base and an alternative on common random numbers; its
differences equal `compare`'s, resume gives the same table, discovery reads it, and bad
``compare:`` fields are refused in one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from test_sweep import comparable

from sim.cli.main import main
from sim.errors import CXMError, ScenarioError
from sim.experiments import paired
from sim.experiments.runs import compare, investment_returns
from sim.experiments.sweep import run_sweep
from sim.experiments.sweep_spec import load_sweep
from sim.metrics import replication_outcomes
from sim.results import PROJECT_ROOT
from sim.scenario import load_scenario, with_overrides

BASELINE = PROJECT_ROOT / "scenarios" / "baseline.yaml"
INVEST = PROJECT_ROOT / "scenarios" / "invest_technology.yaml"
# lump sums as written (firm.scale.with_size off): the swept programme is weighed against the
# default cost scale in this tiny market, as the paired machinery's cases were built
FIXED = {"market.size": 600, "support.mode": "service_level", "firm.scale.with_size": False}
PROGRAMME = [{"capability": "technology", "per_year": 400_000, "start_month": 1}]
SIZE = "alternative.firm.investments.0.per_year"
QUALITY = "firm.quality_per_level"
OUTCOMES = [
    "incremental_npv", "roi", "payback_month", "delta_retention_of_initial", "delta_nps_true",
    "delta_profit_npv", "base_profit_npv", "alternative_profit_npv",
]  # fmt: skip


def write_paired(directory: Path, name: str = "paired.yaml", **fields) -> Path:
    """A small paired sweep over the baseline (600 people, 6 months, the simple support
    desk): the alternative adds a technology programme whose size is swept, with `fields`
    replaced."""
    spec = {
        "name": "pair",
        "base": str(BASELINE),
        "compare": {"alternative": {"set": {"firm.investments": PROGRAMME}}},
        "design": "latin_hypercube",
        "samples": 4,
        "replications": 2,
        "seed": 5,
        "months": 6,
        "set": FIXED,
        "parameters": {
            SIZE: {"range": [20_000.0, 200_000.0]},
            QUALITY: {"range": [0.04, 0.2]},
        },
        "outcomes": OUTCOMES,
    } | fields
    path = directory / name
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_paired_outcomes_are_compare_on_the_same_seed_and_values(tmp_path):
    out = tmp_path / "out"
    result = run_sweep(write_paired(tmp_path), workers=1, out=out)
    runs = result.runs
    assert list(runs.columns[4:6]) == [SIZE, QUALITY]
    assert list(runs.columns[6:-3]) == OUTCOMES and (runs["status"] == "ok").all()
    fixed = with_overrides(load_scenario(BASELINE), FIXED | {"months": 6})
    programme = with_overrides(fixed, {"firm.investments": PROGRAMME})
    for sample in (1, 3):
        rows = runs[runs["sample"] == sample].set_index("replication")
        quality, size = rows[QUALITY].iloc[0], rows[SIZE].iloc[0]
        base = with_overrides(fixed, {QUALITY: quality})
        own = {QUALITY: quality, SIZE.removeprefix(paired.ALTERNATIVE): size}
        alternative = with_overrides(programme, own)
        comparison = compare(base, alternative, replications=2, seed=5, workers=1)
        expected = comparison.paired.set_index("replication")
        series = [dict(iter(run.timeseries.groupby("replication"))) for run in comparison.runs]
        for r in (0, 1):
            returns = investment_returns(series[0][r], series[1][r])
            row = rows.loc[r]
            assert row["incremental_npv"] == pytest.approx(returns["incremental_npv"], rel=1e-12)
            assert row["incremental_npv"] == pytest.approx(
                expected.loc[r, "profit_npv"], rel=1e-9
            )  # the difference of profit NPVs, summed in another order
            for ours, theirs in [
                ("roi", "roi"),
                ("payback_month", "payback_month"),
                ("delta_retention_of_initial", "retention_of_initial"),
                ("delta_nps_true", "nps_true"),
                ("delta_profit_npv", "profit_npv"),
            ]:
                np.testing.assert_allclose(row[ours], expected.loc[r, theirs], rtol=1e-12)
            own = replication_outcomes(series[0][r])
            assert row["base_profit_npv"] == own["profit_npv"]
    # six months of a programme do not pay for it
    assert (runs["roi"] < 0).all() and (runs["incremental_npv"] < 0).all()
    assert runs["delta_nps_true"].abs().max() > 0  # the runs differ
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["paired"] is True and manifest["outcomes"] == OUTCOMES
    comparison = manifest["comparison"]
    assert comparison["alternative"] == {"set": {"firm.investments": PROGRAMME}}
    assert comparison["alternative_scenario_sha256"] == result.sweep.alternative.sha256
    assert comparison["differs_at"] == ["firm.investments"]


def test_paired_sweep_from_a_file_keeps_both_series_and_the_sweep_horizon(tmp_path):
    """The alternative file's own horizon (and seed) give way to the sweep's."""
    programme = {
        "extends": str(INVEST), "name": "programme", "months": 36, "seed": 99,
        "firm": {"investments": [{"capability": "technology", "per_year": 90_000}]},
    }  # fmt: skip
    (tmp_path / "programme.yaml").write_text(yaml.safe_dump(programme))
    file = write_paired(
        tmp_path,
        compare={"alternative": "programme.yaml"},
        samples=2,
        replications=1,
        timeseries=True,
    )
    sweep = load_sweep(file)
    assert sweep.alternative.months == sweep.base.months == 6
    assert sweep.alternative.market == sweep.base.market
    result = run_sweep(sweep, workers=1, out=tmp_path / "out")
    series = pd.read_parquet(tmp_path / "out" / "timeseries.parquet")
    assert len(series) == 2 * 2 * 6  # runs × (base, alternative) × months
    assert list(series.columns[:6]) == [
        "run_id",
        "sample",
        "replication",
        "seed",
        "month",
        "scenario",
    ]
    assert list(series["scenario"][:12]) == ["base"] * 6 + ["alternative"] * 6
    first = series[series["run_id"] == 0]
    base, alternative = (first[first["scenario"] == s] for s in ("base", "alternative"))
    expected = paired.paired_outcomes(
        base.reset_index(drop=True), alternative.reset_index(drop=True)
    )
    assert result.runs.loc[0, "roi"] == expected["roi"]
    assert (alternative["investment_cost"].to_numpy() > base["investment_cost"].to_numpy()).all()


def test_a_morris_paired_sweep_leaves_roi_without_indices_where_nothing_is_invested(tmp_path):
    """A size of 0 is on the Morris grid: no extra investment, so no ROI for that sample,
    and SALib needs every sample; the other outcomes keep their indices."""
    file = write_paired(
        tmp_path,
        design="morris",
        samples=2,
        replications=1,
        parameters={SIZE: {"range": [0.0, 300_000.0]}, QUALITY: {"range": [0.04, 0.2]}},
        outcomes=["incremental_npv", "roi", "payback_month", "delta_nps_true"],
    )
    result = run_sweep(file, workers=1, out=tmp_path / "out")
    runs = result.runs
    none = runs[SIZE] == 0.0
    assert none.any() and (~none).any() and (runs["status"] == "ok").all()
    assert runs.loc[none, "roi"].isna().all() and runs.loc[~none, "roi"].notna().all()
    assert (runs.loc[none, "incremental_npv"] == 0.0).all()
    assert runs.loc[none, "payback_month"].isna().all()
    indices = result.sensitivity.set_index(["outcome", "parameter"])
    assert indices.loc["roi", "mu_star"].isna().all()
    assert indices.loc["incremental_npv", "mu_star"].notna().all()
    assert indices.loc[("incremental_npv", SIZE), "mu_star"] > 0


def test_an_interrupted_paired_sweep_resumes_to_the_same_table(tmp_path):
    file = write_paired(tmp_path)
    whole = run_sweep(file, workers=1, out=tmp_path / "whole")

    class StopError(Exception):
        pass

    def stop_after_three(done: int, total: int) -> None:
        if done >= 3:
            raise StopError

    out = tmp_path / "out"
    with pytest.raises(StopError):
        run_sweep(file, workers=1, out=out, progress=stop_after_three)
    assert len(list((out / ".runs").glob("run-*.json"))) == 3
    resumed = run_sweep(file, workers=1, out=out, resume=True)
    assert (resumed.executed, resumed.reused) == (5, 3)
    pd.testing.assert_frame_equal(comparable(resumed.runs), comparable(whole.runs))
    on_disk = pd.read_parquet(out / "runs.parquet")
    pd.testing.assert_frame_equal(comparable(on_disk), comparable(whole.runs))


def test_a_changed_alternative_is_another_sweep(tmp_path):
    """The fingerprint holds the resolved alternative: an edited alternative file (same
    path, same sweep file) is refused on resume, as is an alternative set changed."""
    (tmp_path / "alt.yaml").write_text(
        yaml.safe_dump({"extends": str(INVEST), "name": "alt"}, sort_keys=False)
    )
    file = write_paired(tmp_path, compare={"alternative": "alt.yaml"}, samples=2)
    before = load_sweep(file)
    out = tmp_path / "out"
    run_sweep(before, workers=1, out=out)
    (tmp_path / "alt.yaml").write_text(
        yaml.safe_dump(
            {"extends": str(INVEST), "name": "alt", "firm": {"quality_per_level": 0.05}},
            sort_keys=False,
        )
    )
    after = load_sweep(file)
    assert after.spec == before.spec and after.fingerprint != before.fingerprint
    with pytest.raises(CXMError, match="different spec"):
        run_sweep(after, workers=1, out=out, resume=True)


@pytest.mark.slow
def test_cxm_sweep_and_discover_on_a_paired_sweep(tmp_path):
    """The command line a researcher types: the sweep, then where ROI clears a bar."""
    file = write_paired(tmp_path, samples=8, replications=1)
    out = tmp_path / "sweep"
    sweep = [sys.executable, "-m", "sim.cli.main", "sweep", str(file), "--workers", "1",
             "--out", str(out), "-q"]  # fmt: skip
    done = subprocess.run(sweep, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "paired: each run is the alternative" in done.stdout
    runs = pd.read_parquet(out / "runs.parquet")
    assert list(runs.columns[6:-3]) == OUTCOMES and len(runs) == 8
    assert runs["roi"].notna().all()
    cut = float(runs["roi"].median())
    discover = [sys.executable, "-m", "sim.cli.main", "discover", str(out),
                "--where", f"roi > {cut!r}"]  # fmt: skip
    done = subprocess.run(discover, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"roi > {cut:g}: 4 of 8 runs" in done.stdout
    found = json.loads((out / "discovery.json").read_text())
    assert (found["cases"], found["of_interest"]) == (8, 4)
    assert found["boxes"] and set(found["boxes"][0]["limits"]) <= {SIZE, QUALITY}
    # a level that lifts quality more returns more: the box bounds it from below
    box = found["boxes"][0]
    assert box["limits"][QUALITY]["low"] > 0.04 and box["limits"][QUALITY]["high"] is None
    assert box["density"] == 1.0


# ------------------------------------------------------------------------------ bad files

ALT = "compare.alternative"


@pytest.mark.parametrize(
    ("fields", "path", "value", "allowed"),
    [
        ({"compare": {"alternative": "missing.yaml"}}, ALT, "missing.yaml",
         "no such scenario file"),
        ({"compare": {"alternative": "/etc/passwd"}}, ALT, "/etc/passwd",
         "a scenario file ending in .yaml or .yml"),
        ({"compare": {"alternative": 3}}, ALT, 3, "expected text or a mapping"),
        ({"compare": {"alternative": {"set": {}, "why": 1}}}, f"{ALT}.why", "why",
         "unknown key; allowed keys: set"),
        ({"compare": {"alternatives": "x.yaml"}}, ALT, None, "this field is required"),
        ({"compare": {"alternative": {"set": {"firm.nope": 1}}}}, f"{ALT}.set.firm.nope", 1,
         "no such field"),
        ({"compare": {"alternative": {"set": {"firm.capabilities.technology": 9}}}},
         f"{ALT}.set.firm.capabilities.technology", 9, "less than or equal to 5"),
        ({"compare": {"alternative": {"set": {"market.size": 900}}}}, ALT, None,
         "the alternative's market differs from the base's (market.size)"),
        ({"compare": {"alternative": {"set": {}}}, "parameters": {QUALITY: {"range": [0, 0.2]}}},
         ALT, None, "the alternative is the base itself"),
        ({"compare": None}, f"parameters.{SIZE}", SIZE,
         "varies the alternative of a paired sweep; add compare"),
        ({"parameters": {"alternative.market.size": {"range": [500, 900]}}},
         "parameters.alternative.market.size", "alternative.market.size",
         "the alternative shares the base's market"),
        ({"parameters": {"alternative.seed": {"levels": [1, 2]}}}, "parameters.alternative.seed",
         "alternative.seed", "a sweep may not vary name, seed, replications"),
        ({"parameters": {"alternative.firm.investments.3.per_year": {"range": [1, 2]}}},
         "parameters.alternative.firm.investments.3.per_year", 1.0,
         "in the alternative: at firm.investments.3: allowed: 0"),
        ({"parameters": {SIZE: {"range": [-5, 2]}}}, f"parameters.{SIZE}", -5.0,
         "in the alternative: Input should be greater than or equal to 0"),
        ({"outcomes": ["retention_of_initial"]}, "outcomes.0", "retention_of_initial",
         "a paired sweep records differences: delta_retention_of_initial"),
        ({"outcomes": ["delta_happiness"]}, "outcomes.0", "delta_happiness",
         "not an outcome of a paired run; allowed: incremental_npv, roi, payback_month"),
        ({"compare": None, "parameters": {QUALITY: {"range": [0, 0.2]}}, "outcomes": ["roi"]},
         "outcomes.0", "roi", "an outcome of a paired sweep only; add compare"),
    ],
)  # fmt: skip
def test_bad_compare_fields_name_file_path_value_and_allowed(
    tmp_path, fields, path, value, allowed
):
    file = write_paired(tmp_path, **fields)
    with pytest.raises(ScenarioError) as caught:
        load_sweep(file)
    error = caught.value
    assert (error.source, error.path) == (str(file), path)
    if value is not None:
        assert error.value == value
    assert allowed in error.allowed
    message = str(error)
    assert "\n" not in message and str(file) in message and f"field '{path}'" in message


def test_an_alternative_file_must_share_the_market_and_accept_the_parameters(tmp_path):
    (tmp_path / "other_market.yaml").write_text(
        yaml.safe_dump({"extends": str(INVEST), "market": {"initial_customers": 0.5}})
    )
    file = write_paired(tmp_path, compare={"alternative": "other_market.yaml"})
    with pytest.raises(ScenarioError, match=r"market differs .*market.initial_customers"):
        load_sweep(file)
    # A shared parameter the base takes but the alternative (without investments) does not.
    file = write_paired(
        tmp_path,
        base=str(INVEST),
        compare={"alternative": {"set": {"firm.investments": []}}},
        parameters={"firm.investments.0.per_year": {"range": [1.0, 2.0]}},
    )
    with pytest.raises(ScenarioError) as caught:
        load_sweep(file)
    assert caught.value.path == "parameters.firm.investments.0.per_year"
    assert caught.value.allowed.startswith("in the alternative: at firm.investments.0")


def test_a_bad_paired_sweep_through_the_cli_exits_2_and_writes_nothing(tmp_path, capsys):
    file = write_paired(tmp_path, compare={"alternative": {"set": {"market.size": 900}}})
    out = tmp_path / "never"
    assert main(["sweep", str(file), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert f"{file}: field 'compare.alternative'" in err and "market differs" in err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["paired.yaml"]


# ------------------------------------------------------------------------------ ready file


def test_the_ready_paired_sweep_loads_and_varies_the_programme():
    sweep = load_sweep(PROJECT_ROOT / "scenarios" / "sweeps" / "paired_roi.yaml")
    assert sweep.size == 20 * 2 and sweep.spec.design == "latin_hypercube"
    assert sweep.outcomes == (
        "incremental_npv", "roi", "payback_month", "delta_retention_of_initial",
        "delta_nps_true",
    )  # fmt: skip
    assert sweep.alternative.firm.investments[0].capability == "technology"
    assert not sweep.base.firm.investments
    assert sweep.alternative.market == sweep.base.market and sweep.base.months == 60
    sizes = [s[SIZE] for s in sweep.design.samples]
    assert min(sizes) >= 10_000 and max(sizes) <= 60_000
    text = (PROJECT_ROOT / "scenarios" / "sweeps" / "paired_roi.yaml").read_text()
    assert 'cxm discover results/sweep-paired_roi --where "roi > 1"' in text


def test_paired_outcome_names_are_declared_once():
    names = paired.paired_outcome_names(["nps_true", "clv"])
    assert names == ["incremental_npv", "roi", "payback_month", "delta_nps_true", "delta_clv"]
    with_levels = paired.paired_outcome_names(["clv"], levels=True)
    assert with_levels[3:] == ["delta_clv", "base_clv", "alternative_clv"]
    shared, own = paired.split_values({QUALITY: 0.1, SIZE: 5.0})
    assert shared == {QUALITY: 0.1} and own == {"firm.investments.0.per_year": 5.0}
