"""Comparisons across uncertain assumptions (sim/experiments/uncertainty.py, the uncertainty
file of sim/experiments/uncertainty_spec.py, the figures and `cxm compare --uncertain`)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from test_plots_studies import rendered

import sim
from sim.cli.main import main
from sim.errors import OptionError, ScenarioError
from sim.experiments.designs import to_values
from sim.experiments.runs import Comparison
from sim.experiments.uncertainty import (
    SUMMARY_METRICS,
    UncertainComparison,
    compare_uncertain,
    plan_study,
)
from sim.experiments.uncertainty_spec import (
    check_scenarios,
    load_uncertainty,
    uncertainty_from_dict,
)
from sim.plots import uncertainty as figures
from sim.results import PROJECT_ROOT
from sim.scenario import Scenario, load_scenario, with_overrides
from sim.scenario.overrides import value_at

SCENARIOS = PROJECT_ROOT / "scenarios"
READY = SCENARIOS / "uncertainty" / "firm_effects.yaml"
BASELINE = str(SCENARIOS / "baseline.yaml")
TECHNOLOGY = str(SCENARIOS / "invest_technology.yaml")
SMALL = {
    "market.size": 2000,
    "months": 24,
    "support.mode": "service_level",  # the desk's closed form: a run takes a tenth of the time
    # the ready programme's 33 333 a month is the baseline's; in a tenth of its market it
    # keeps that weight against the cost scale only with lump sums as written
    "firm.scale.with_size": False,
    "firm.maturity.level": "managed",  # no maturity switch: alignment_bonus cannot matter
}
SMALL_OPTIONS = ["--set", "market.size=1500", "--months", "12"]
SMALL_OPTIONS += ["--set", "support.mode=service_level", "-q"]
COST_SCALE = "firm.dynamics.cost_scale"
ALIGNMENT = "firm.dynamics.alignment_bonus"


def small(path: str) -> Scenario:
    return with_overrides(load_scenario(path), SMALL)


def assumptions(cost_scale: list[float], alignment: list[float], samples: int = 6) -> dict:
    return {
        "name": "two_assumptions",
        "samples": samples,
        "parameters": {
            COST_SCALE: {"range": cost_scale},
            ALIGNMENT: {"range": alignment},
        },
    }


@pytest.fixture(scope="module")
def scenarios() -> tuple[Scenario, Scenario, Scenario]:
    """The baseline; a technology programme that cannot pay back in 24 months of a small
    market; and a lean firm that saves its CX overhead (a pure cost saving) and spends a
    token 100 cu a month on measurement, so that its ROI is defined and large."""
    base = small(BASELINE)
    lean = with_overrides(
        base,
        {
            "name": "lean",
            "firm.organisation.overhead_per_customer": 0.0,
            "firm.investments": [{"capability": "measurement", "per_month": 100.0}],
        },
    )
    return base, small(TECHNOLOGY), lean


@pytest.fixture(scope="module")
def wide(scenarios) -> UncertainComparison:
    """Six Latin-hypercube sets of a wide cost-scale range and of the alignment bonus, which
    acts only at transformative maturity; 2 replications each."""
    spec = uncertainty_from_dict(assumptions([375_000.0, 1_125_000.0], [0.1, 0.3]))
    return compare_uncertain(*scenarios, uncertainty=spec, replications=2, workers=1)


def spread(result: UncertainComparison, alternative: str, metric: str = "profit_npv") -> float:
    row = result.summary.set_index(["alternative", "metric"]).loc[(alternative, metric)]
    return float(row["p95"] - row["p05"])


# ---------------------------------------------------------------------------- the file


def test_the_design_is_a_latin_hypercube_on_its_own_stream(scenarios):
    spec = uncertainty_from_dict(assumptions([375_000.0, 1_125_000.0], [0.1, 0.3], samples=8))
    study = plan_study(*scenarios[:2], uncertainty=spec, replications=2)
    strata = np.floor(study.design.unit * 8).astype(int)
    for j in range(2):  # one draw in each of the 8 equal-probability strata of each parameter
        assert sorted(strata[:, j]) == list(range(8))
    assert len(study.sets) == 8 + 1 + 2 * 2 and study.runs == 13 * 2 * 2
    assert study.sets[8] == {COST_SCALE: 750_000.0, ALIGNMENT: pytest.approx(0.2)}
    assert study.sets[study.one_at_a_time(COST_SCALE)[0]][COST_SCALE] == 412_500.0
    assert study.sets[study.one_at_a_time(COST_SCALE)[1]][COST_SCALE] == 1_087_500.0
    again = plan_study(*scenarios[:2], uncertainty=spec, replications=2)
    assert again.sets == study.sets  # the seed fixes the draw
    other = plan_study(*scenarios[:2], uncertainty=spec, replications=2, seed=7)
    assert other.sets[:8] != study.sets[:8] and other.sets[8:] == study.sets[8:]
    # every scenario of a set carries its values
    assert [s.firm.dynamics.cost_scale for s in study.grid[3]] == [study.sets[3][COST_SCALE]] * 2


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ({"samples": 1}, "samples", "greater than or equal to 2"),
        ({"sample": 4}, "sample", "allowed"),
        ({"parameters": {"seed": {"range": [1.0, 2.0]}}}, "parameters.seed", "not an assumption"),
        ({"parameters": {COST_SCALE: {"range": [2.0, 1.0]}}}, f"parameters.{COST_SCALE}.range",
         "low ≤ high"),
        ({"parameters": {COST_SCALE: {"levels": [1.0, 2.0]}}}, f"parameters.{COST_SCALE}.levels",
         "range: [low, high]"),
        ({"parameters": {COST_SCALE: {"range": [1.0, 2.0], "mode": 3.0,
                                      "distribution": "triangular"}}},
         f"parameters.{COST_SCALE}.mode", "within the range"),
        ({"parameters": {"firm.dynamics": {"range": [1.0, 2.0]}, COST_SCALE: {"range": [1, 2]}}},
         f"parameters.{COST_SCALE}", "lies inside parameters.firm.dynamics"),
    ],
)  # fmt: skip
def test_a_bad_file_is_refused_at_its_field(change, path, message):
    raw = assumptions([1.0, 2.0], [0.1, 0.3]) | change
    with pytest.raises(ScenarioError) as caught:
        uncertainty_from_dict(raw, "firm.yaml")
    assert caught.value.source == "firm.yaml" and caught.value.path == path
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_an_assumption_must_suit_every_compared_scenario(scenarios):
    base, technology, _ = scenarios
    too_short = uncertainty_from_dict(assumptions([1.0, 2.0], [0.1, 0.3]) | {
        "parameters": {"firm.dynamics.lag_months": {"range": [0.5, 3.0]}}})  # fmt: skip
    with pytest.raises(ScenarioError, match=r"parameters\.firm\.dynamics\.lag_months") as caught:
        check_scenarios(too_short, (base, technology))
    assert "not valid in scenario baseline" in str(caught.value)
    excellence = small(str(SCENARIOS / "service_excellence.yaml"))
    culture = uncertainty_from_dict(assumptions([1.0, 2.0], [0.1, 0.3]) | {
        "parameters": {"firm.capabilities.culture": {"range": [2.0, 3.0]}}})  # fmt: skip
    with pytest.raises(ScenarioError, match="the compared scenarios differ in it"):
        check_scenarios(culture, (base, excellence))
    with pytest.raises(OptionError, match="samples: got 1"):
        plan_study(base, technology, uncertainty=culture, samples=1)
    plain = uncertainty_from_dict(assumptions([1.0, 2.0], [0.1, 0.3]))
    with pytest.raises(OptionError, match="runs; at most 1,000,000"):
        plan_study(base, technology, uncertainty=plain, samples=999_990, replications=2)


# ---------------------------------------------------------------------------- the study


def test_the_spread_widens_with_the_range(scenarios, wide):
    narrow_spec = uncertainty_from_dict(assumptions([700_000.0, 800_000.0], [0.1, 0.3]))
    narrow = compare_uncertain(*scenarios[:2], uncertainty=narrow_spec, replications=2, workers=1)
    # measured: 2 712 cu over the wide range (375 000–1 125 000) against 285 over the narrow
    # one (700 000–800 000), on the same Latin-hypercube coordinates
    assert spread(wide, "invest_technology") > 5 * spread(narrow, "invest_technology") > 0
    assert spread(wide, "invest_technology", "roi") > 5 * spread(narrow, "invest_technology", "roi")


def test_with_ranges_of_zero_width_the_answer_is_the_plain_comparison(scenarios):
    base, technology, _ = scenarios
    spec = uncertainty_from_dict(assumptions([750_000.0, 750_000.0], [0.2, 0.2], samples=4))
    result = compare_uncertain(base, technology, uncertainty=spec, replications=2, workers=1)
    plain = sim.compare(base, technology, replications=2, workers=1)
    assert isinstance(plain, Comparison)
    paired = plain.summary.set_index("metric")
    summary = result.summary.set_index("metric")
    for metric in ("profit_npv", "roi", "retention_of_initial", "nps_true"):
        row, exact = summary.loc[metric], paired.loc[metric]
        assert row["p05"] == row["median"] == row["p95"] == exact["difference"]
        assert exact["ci_low"] <= row["median"] <= exact["ci_high"]
        half = (exact["ci_high"] - exact["ci_low"]) / 2
        np.testing.assert_allclose(row["noise_half_width"], half, rtol=1e-12)
    assert summary.loc["profit_npv", "median"] == pytest.approx(-721_110, abs=1)
    assert (result.tornado["swing"] == 0.0).all()
    pd.testing.assert_frame_equal(result.median.summary, plain.summary)


def test_the_tornado_ranks_what_matters_and_the_odds_are_certain_where_they_must_be(wide):
    tornado = wide.tornado.set_index(["alternative", "metric", "rank"])
    for alternative in ("invest_technology", "lean"):
        for metric in ("profit_npv", "roi"):
            first, second = (
                tornado.loc[(alternative, metric, 1)],
                tornado.loc[(alternative, metric, 2)],
            )
            assert first["parameter"] == COST_SCALE and first["swing"] > 0
            # the alignment bonus acts only at transformative maturity: exactly no effect
            assert second["parameter"] == ALIGNMENT and second["swing"] == 0.0
            assert second["low"] == second["high"] == second["median"]
    technology = tornado.loc[("invest_technology", "profit_npv", 1)]
    assert (technology["low_value"], technology["high_value"]) == (412_500.0, 1_087_500.0)
    # a dearer capability (higher cost scale) earns less: measured −718 994 against −722 763
    assert technology["high"] < technology["median"] < technology["low"]
    summary = wide.summary.set_index(["alternative", "metric"])
    # 800 000 cu of technology cannot pay back in 24 months of 600 customers: ROI ≈ −0.99
    assert summary.loc[("invest_technology", "roi"), "probability_positive"] == 0.0
    assert summary.loc[("invest_technology", "roi"), "p95"] < -0.9
    assert summary.loc[("invest_technology", "profit_npv"), "probability_best"] == 0.0
    # the lean firm saves ~45 300 cu of overhead for 2 400 cu of investment: ROI ≈ 20.8
    assert summary.loc[("lean", "roi"), "probability_positive"] == 1.0
    assert summary.loc[("lean", "roi"), "p05"] > 20
    assert summary.loc[("lean", "profit_npv"), "probability_best"] == 1.0
    assert np.isnan(summary.loc[("lean", "payback_month"), "probability_positive"])
    assert summary.loc[("invest_technology", "payback_month"), "n"] == 0  # never pays back


def test_the_sets_table_holds_each_sets_values_and_paired_outcomes(wide):
    sets = wide.sets
    assert len(sets) == 6 * 2 and list(sets["set"].unique()) == list(range(6))
    assert {COST_SCALE, ALIGNMENT, *SUMMARY_METRICS, "best", "base_profit_npv"} <= set(sets)
    lean = sets[sets["alternative"] == "lean"]
    assert (lean["alternative_profit_npv"] - lean["base_profit_npv"]).to_numpy() == (
        pytest.approx(lean["profit_npv"].to_numpy(), rel=1e-9)
    )
    # within a set both alternatives face the same base run
    by_set = sets.groupby("set")["base_profit_npv"].nunique()
    assert (by_set == 1).all()


@pytest.mark.slow
def test_one_worker_and_two_give_the_same_tables(scenarios):
    spec = uncertainty_from_dict(assumptions([375_000.0, 1_125_000.0], [0.1, 0.3], samples=4))
    one = compare_uncertain(*scenarios[:2], uncertainty=spec, replications=2, workers=1)
    two = compare_uncertain(*scenarios[:2], uncertainty=spec, replications=2, workers=2)
    for table in ("sets", "summary", "tornado"):
        pd.testing.assert_frame_equal(getattr(one, table), getattr(two, table), check_exact=True)


def test_compare_hands_over_when_given_an_uncertainty(scenarios):
    spec = uncertainty_from_dict(assumptions([750_000.0, 750_000.0], [0.2, 0.2], samples=2))
    result = sim.compare(*scenarios[:2], replications=1, uncertainty=spec, samples=3, workers=1)
    assert isinstance(result, sim.UncertainComparison) and result.study.samples == 3
    with pytest.raises(OptionError, match="samples: only with uncertainty"):
        sim.compare(*scenarios[:2], replications=1, samples=3)


# ---------------------------------------------------------------------------- figures


def test_the_figures_draw_the_tables(wide):
    fig = rendered(figures.tornado(wide, "invest_technology"))
    bars = [p for p in fig.axes[0].patches]
    assert len(bars) == 2 * 2  # a low and a high bar per assumption
    assert "invest_technology against baseline" in fig.get_suptitle()
    fig = rendered(figures.outcome_distribution(wide, "roi"))
    points = fig.axes[0].collections[0].get_offsets()
    assert len(points) == 6  # one point per drawn set, first alternative
    np.testing.assert_allclose(
        np.sort(points[:, 0]),
        np.sort(wide.sets.loc[wide.sets["alternative"] == "invest_technology", "roi"]),
    )
    rendered(figures.outcome_distribution(wide, "payback_month"))  # undefined for one
    with pytest.raises(ValueError, match="alternative: got 'nope'"):
        figures.tornado(wide, "nope")
    with pytest.raises(ValueError, match="metric: got 'churn'"):
        figures.outcome_distribution(wide, "churn")


# ---------------------------------------------------------------------------- the ready file


def test_the_ready_file_validates_against_the_baseline_and_its_median_is_the_default():
    spec = load_uncertainty(READY)
    baseline = load_scenario(BASELINE)
    check_scenarios(spec, (baseline, load_scenario(TECHNOLOGY)))
    study = plan_study(baseline, load_scenario(TECHNOLOGY), uncertainty=spec, replications=1)
    data = baseline.model_dump(mode="json")
    for path, value in study.sets[study.samples].items():
        assert value == pytest.approx(value_at(data, path), rel=1e-12), path
    assert study.samples == 32 and len(study.sets) == 32 + 1 + 2 * len(spec.parameters)


def card_ranges(text: str) -> dict[str, tuple[float, float, float]]:
    """The table of the model card's section "Uncertain assumptions": path → (default, low,
    high), numbers as the card writes them (spaces between thousands, '–' between ends)."""
    lines = text.splitlines()
    headings = [i for i, line in enumerate(lines) if line.startswith("#")]
    start = next((i for i in headings if "Uncertain assumptions" in lines[i]), None)
    assert start is not None, "the model card has no section 'Uncertain assumptions'"
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("#"):
            break
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif rows:
            break

    def number(cell: str) -> float:
        return float(re.sub(r"[\s\u202f\u00a0]", "", cell).replace("−", "-"))

    table = {}
    for cells in rows[2:]:  # after the header and the separator
        low, high = cells[3].split("–")
        table[cells[1].strip("`")] = (number(cells[2]), number(low), number(high))
    return table


def test_the_ready_file_uses_the_model_cards_ranges():
    card = card_ranges((PROJECT_ROOT / "docs" / "model.md").read_text())
    spec = load_uncertainty(READY)
    defaults = Scenario(name="defaults").model_dump(mode="json")
    assert set(card) == set(spec.parameters)
    for path, (default, low, high) in card.items():
        parameter = spec.parameters[path]
        assert parameter.range == [low, high], path
        assert parameter.distribution == "triangular" and parameter.mode == default, path
        assert value_at(defaults, path) == default, path
        assert to_values(parameter, np.array([0.5]))[0] == pytest.approx(default, rel=1e-12)


# ---------------------------------------------------------------------------- the command line


def write_uncertainty(tmp_path, **changes) -> str:
    raw = assumptions([375_000.0, 1_125_000.0], [0.1, 0.3], samples=4) | changes
    path = tmp_path / "assumptions.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


@pytest.mark.slow
def test_cxm_compare_uncertain_writes_the_folder_and_explains_the_two_intervals(tmp_path):
    file = write_uncertainty(tmp_path)
    out = tmp_path / "uncertain"
    command = [sys.executable, "-m", "sim.cli.main", "compare", BASELINE, TECHNOLOGY,
               "--uncertain", file, "--samples", "4", "-r", "2", "-w", "1", "--plot",
               "--out", str(out), *SMALL_OPTIONS]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    printed = done.stdout
    assert "invest_technology vs baseline" in printed and "5–95% across assumptions" in printed
    assert "noise ± is half the paired 95% interval of 2 replications" in printed
    assert "the second is what 'how sure are we' means" in printed
    assert f"  {COST_SCALE}" in printed  # the top of the tornado
    # 800 000 cu of technology never pays back in 12 months of 450 customers
    assert "highest profit NPV of the 2 scenarios in 0 of 4 sets" in printed
    assert "baseline itself has the highest profit NPV in 4 of 4 sets" in printed
    assert {p.name for p in out.iterdir()} == {
        "uncertainty_summary.csv", "uncertainty_sets.parquet", "uncertainty_sets.csv",
        "tornado.csv", "manifest.json", "tornado_invest_technology.png",
        "npv_distribution.png", "roi_distribution.png",
    }  # fmt: skip
    sets = pd.read_parquet(out / "uncertainty_sets.parquet")
    assert len(sets) == 4 and COST_SCALE in sets
    summary = pd.read_csv(out / "uncertainty_summary.csv")
    assert list(summary["metric"]) == list(SUMMARY_METRICS)
    manifest = json.loads((out / "manifest.json").read_text())
    spec = load_uncertainty(file)
    assert manifest["kind"] == "uncertain_comparison" and manifest["samples"] == 4
    assert manifest["uncertainty_sha256"] == spec.sha256
    assert manifest["uncertainty"]["parameters"][COST_SCALE]["range"] == [375000.0, 1125000.0]
    assert manifest["sets"] == {"drawn": 4, "median": 1, "one_at_a_time": 4, "total": 9}
    assert manifest["replications"] == 2 and manifest["seed"] == 20261125
    assert manifest["design_seed_sequence"]["entropy"] == 20261125
    assert set(manifest["scenario_sha256"]) == {"baseline", "invest_technology"}
    # a second run replaces the folder only when asked
    again = subprocess.run([*command, "--overwrite"], capture_output=True, text=True,
                           cwd=tmp_path, timeout=300)  # fmt: skip
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--samples", "4"], "--samples: only with --uncertain FILE"),
        (["--uncertain", "{file}", "--samples", "1"], "--samples: got 1; must be a whole number"),
        (["--uncertain", "{file}", "--excel"], "--excel: not with --uncertain"),
        (["--uncertain", "{lagging}"], "parameters.firm.dynamics.lag_months"),
    ],
)
@pytest.mark.slow
def test_bad_uncertain_comparisons_exit_2_in_one_line_and_write_nothing(
    tmp_path, arguments, message
):
    files = {
        "file": write_uncertainty(tmp_path),
        "lagging": str(tmp_path / "lagging.yaml"),
    }
    lagging = {"name": "lag", "parameters": {"firm.dynamics.lag_months": {"range": [0.5, 3.0]}}}
    (tmp_path / "lagging.yaml").write_text(yaml.safe_dump(lagging))
    before = sorted(p.name for p in tmp_path.iterdir())
    out = tmp_path / "never"
    arguments = [a.format(**files) for a in arguments]
    command = [sys.executable, "-m", "sim.cli.main", "compare", BASELINE, TECHNOLOGY,
               *arguments, "--out", str(out), *SMALL_OPTIONS]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


@pytest.mark.parametrize(
    ("file", "arguments", "message"),
    [
        ({"parameters": {"seed": {"range": [1.0, 2.0]}}}, [], "field 'parameters.seed'"),
        ({"parameters": {"firm.nope": {"range": [1.0, 2.0]}}}, [], "parameters.firm.nope"),
        ({"parameters": {COST_SCALE: {"levels": [1.0]}}}, [], "an assumption is a range"),
        ({"samples": 1}, [], "field 'samples': got 1"),
        ({"parameters": {"firm.capabilities.culture": {"range": [2.0, 3.0]}}},
         ["--uncertain-alternative"], "the compared scenarios differ in it"),
        ({}, ["--samples", "999999"], "runs; at most 1,000,000"),
        ({"parameters": {COST_SCALE: {"range": [2.0, 1.0]}}}, [], "low ≤ high"),
        (None, [], "missing.yaml"),
    ],
)  # fmt: skip
def test_more_refusals_are_one_line_before_anything_runs(
    tmp_path, capsys, file, arguments, message
):
    path = write_uncertainty(tmp_path, **file) if file is not None else "missing.yaml"
    alternative = TECHNOLOGY
    if arguments == ["--uncertain-alternative"]:
        alternative, arguments = str(SCENARIOS / "service_excellence.yaml"), []
    out = tmp_path / "never"
    command = ["compare", BASELINE, alternative, "--uncertain", path, *arguments,
               "--out", str(out), *SMALL_OPTIONS]  # fmt: skip
    assert main(command) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err
    assert not out.exists()
