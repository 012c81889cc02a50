"""The budget optimiser across uncertain assumptions (sim/experiments/optimise_uncertain.py and
`cxm optimise --uncertain`): the same search when the assumptions cannot vary, the one
capability that works still found when they do, the objective the mean over the sets, and
the command line's files and refusals."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from test_notebook_runner import cxm
from test_optimise import THREE, only_technology_matters

from sim.errors import OptionError, ScenarioError
from sim.experiments.optimise import BASE, EVEN, OPTIMISED, optimise_allocation
from sim.experiments.runs import compare
from sim.experiments.uncertainty import plan_study
from sim.experiments.uncertainty_spec import uncertainty_from_dict
from sim.scenario import Scenario, with_overrides

OPTIONS = {"budget_per_month": 100_000, "capabilities": THREE, "objective": "retention",
           "replications": 2, "seed": 5, "workers": 1}  # fmt: skip
COST_SCALE = "firm.dynamics.cost_scale"
QUALITY = "firm.quality_per_level"
TECHNOLOGY_LEVEL = "firm.capabilities.technology"


def assumptions(parameters: dict, samples: int) -> dict:
    return {"name": "assumptions", "samples": samples, "parameters": parameters}


@pytest.fixture(scope="module")
def tiny() -> Scenario:
    return only_technology_matters(1000, 12)


@pytest.fixture(scope="module")
def two_matter() -> Scenario:
    """Technology and measurement drive every touchpoint equally, and measurement starts a
    level above the reference: whichever has more room to grow (docs/model.md §8.4: a level's
    gain is (5 − L)·(1 − exp(−spend/cost_scale))) pays more, so the initial technology level,
    left uncertain, decides which capability wins."""
    scenario = only_technology_matters(1500, 12)
    drivers = {"technology": 1.0, "measurement": 1.0}
    changes = {f"touchpoints.{name}.drivers": drivers for name in scenario.touchpoints}
    return with_overrides(scenario, changes | {"firm.capabilities.measurement": 3.0})


def test_assumptions_held_at_their_values_give_exactly_the_search_without_them(tiny):
    # four sets, so the mean of four equal numbers is exactly that number (a power of two)
    held = {COST_SCALE: {"range": [tiny.firm.dynamics.cost_scale] * 2},
            QUALITY: {"range": [tiny.firm.quality_per_level] * 2}}  # fmt: skip
    plain = optimise_allocation(tiny, max_evaluations=6, **OPTIONS)
    uncertain = optimise_allocation(
        tiny, max_evaluations=6, uncertainty=uncertainty_from_dict(assumptions(held, 4)),
        **OPTIONS,
    )  # fmt: skip
    pd.testing.assert_frame_equal(plain.history, uncertain.history, check_exact=True)
    assert uncertain.allocation == plain.allocation
    assert uncertain.value == plain.value
    assert uncertain.best_single == plain.best_single == "technology"
    assert plain.assumptions is None and plain.across_sets is None
    assert uncertain.assumptions.samples == 4 and uncertain.seed == 5
    # each set gives every split the objective it has without uncertainty
    sets = uncertain.across_sets
    assert len(sets) == 4 * len(plain.splits)
    for name, objective in plain.splits["objective"].items():
        assert (sets.loc[sets["split"] == name, "objective"] == objective).all()
    spread = uncertain.splits
    assert (spread["median"] == spread["objective"]).all()
    assert (spread["p05"] == spread["p95"]).all()
    # the gains are those of the plain search, up to rounding in the mean over the sets
    pd.testing.assert_frame_equal(plain.gains, uncertain.gains, rtol=1e-9)


def test_only_technology_still_wins_across_the_assumptions(tiny):
    ranges = {COST_SCALE: {"range": [375_000.0, 1_125_000.0]}, QUALITY: {"range": [0.05, 0.15]}}
    file = uncertainty_from_dict(assumptions(ranges, 3))
    result = optimise_allocation(tiny, max_evaluations=6, uncertainty=file, **OPTIONS)
    assert result.allocation["technology"] >= 0.8
    assert result.best_single == "technology"
    assert result.splits.loc[EVEN, "probability_beaten"] == 1.0
    # the sets are those `cxm compare --uncertain` draws from the same file and seed
    base = with_overrides(tiny, {"firm.budget": {"per_month": 0.0}})
    budgeted = result.comparison.runs[1].scenario
    study = plan_study(base, budgeted, uncertainty=file, replications=2, seed=5)
    assert result.assumptions.sets == study.sets[:3]
    assert result.assumptions.design_seed == study.design_seed
    assert len({s[COST_SCALE] for s in result.assumptions.sets}) == 3
    # the objective is the mean over the sets; the gain over no budget is the same mean,
    # taken replication by replication over the set-averaged runs
    best = result.across_sets[result.across_sets["split"] == OPTIMISED]
    assert result.value == pytest.approx(best["objective"].mean(), rel=1e-12)
    assert result.value > 0.02
    gains = result.gains.set_index(["reference", "metric"])
    assert gains.loc[(BASE, "retention_of_initial"), "difference"] == pytest.approx(
        result.value, rel=1e-9
    )
    assert gains.loc[(BASE, "retention_of_initial"), "n"] == 2


def test_the_answer_depends_on_the_assumptions_and_the_objective_is_their_mean(two_matter):
    file = uncertainty_from_dict(assumptions({TECHNOLOGY_LEVEL: {"range": [1.0, 5.0]}}, 4))
    result = optimise_allocation(two_matter, max_evaluations=6, uncertainty=file, **OPTIONS)
    sets = result.across_sets
    table = sets.pivot(index="set", columns="split", values="objective")
    level = sets.groupby("set")[TECHNOLOGY_LEVEL].first()
    # a capability wins where the other has less room to grow
    assert (table["only_measurement"] > table["only_technology"]).any()
    assert (table["only_technology"] > table["only_measurement"]).any()
    low, high = level.idxmin(), level.idxmax()
    assert level[low] < 2.0 < 4.0 < level[high]
    assert table.loc[low, "only_technology"] > table.loc[low, "only_measurement"]
    assert table.loc[high, "only_measurement"] > table.loc[high, "only_technology"]
    # each split's objective is the mean of its objectives in the sets
    splits = result.splits
    for name in splits.index:
        assert splits.loc[name, "objective"] == pytest.approx(table[name].mean(), rel=1e-12)
        p05, median, p95 = np.percentile(table[name], [5, 50, 95])
        assert splits.loc[name, ["p05", "median", "p95"]].tolist() == pytest.approx(
            [p05, median, p95], rel=1e-12
        )
    assert result.value == splits.loc[OPTIMISED, "objective"]
    assert result.value == pytest.approx(result.history["objective"].max(), rel=1e-12)
    single = f"only_{result.best_single}"
    beats = (table[OPTIMISED] > table[single]).mean()
    assert splits.loc[single, "probability_beaten"] == beats
    assert 0 < beats < 1
    # a set's objective is the paired comparison of that split and the base in that set
    k = int(high)
    values = result.assumptions.sets[k]
    alone = with_overrides(two_matter, {"firm.budget": {
        "per_month": 100_000, "start_month": 1, "end_month": 12,
        "allocation": {"measurement": 1.0}}} | values)  # fmt: skip
    base = with_overrides(two_matter, {"firm.budget": {"per_month": 0.0}} | values)
    check = compare(base, alone, replications=2, seed=5, workers=1)
    paired = check.paired["retention_of_initial"].mean()
    assert table.loc[k, "only_measurement"] == pytest.approx(paired, rel=1e-12)


@pytest.mark.slow
def test_two_workers_search_exactly_as_one(tiny):
    file = uncertainty_from_dict(assumptions({COST_SCALE: {"range": [375_000.0, 1e6]}}, 3))
    options = OPTIONS | {"max_evaluations": 5, "uncertainty": file}
    one = optimise_allocation(tiny, **options)
    two = optimise_allocation(tiny, **(options | {"workers": 2}))
    pd.testing.assert_frame_equal(one.history, two.history, check_exact=True)
    pd.testing.assert_frame_equal(one.gains, two.gains, check_exact=True)
    pd.testing.assert_frame_equal(one.across_sets, two.across_sets, check_exact=True)
    assert one.allocation == two.allocation


def test_bad_uncertain_options_are_clear_errors(tiny):
    file = uncertainty_from_dict(assumptions({COST_SCALE: {"range": [1e5, 1e6]}}, 3))
    with pytest.raises(OptionError, match=r"^samples: only with uncertainty"):
        optimise_allocation(tiny, samples=3, **OPTIONS)
    with pytest.raises(OptionError, match=r"^samples: got 1; must be a whole number from 2"):
        optimise_allocation(tiny, uncertainty=file, samples=1, **OPTIONS)
    with pytest.raises(OptionError, match=r"^samples: 40 max_evaluations × 20,000 sets × 2"):
        optimise_allocation(tiny, uncertainty=file, samples=20_000, **OPTIONS)
    budget = uncertainty_from_dict(
        assumptions({"firm.budget.allocation.technology": {"range": [0.0, 1.0]}}, 3)
    )
    with pytest.raises(ScenarioError, match=r"the optimiser sets firm\.budget itself") as caught:
        optimise_allocation(tiny, uncertainty=budget, **OPTIONS)
    assert caught.value.path == "parameters.firm.budget.allocation.technology"
    assert "\n" not in str(caught.value)


@pytest.fixture(scope="module")
def files(tmp_path_factory, two_matter):
    folder = tmp_path_factory.mktemp("optimise_uncertain")
    (folder / "two.yaml").write_text(two_matter.to_yaml())
    ranges = {TECHNOLOGY_LEVEL: {"range": [1.0, 5.0]}}
    (folder / "level.yaml").write_text(json.dumps(assumptions(ranges, 6)))
    budget = {"firm.budget.per_month": {"range": [1.0, 2.0]}}
    (folder / "budget.yaml").write_text(json.dumps(assumptions(budget, 3)))
    return folder


def test_cxm_optimise_uncertain_writes_the_sets_and_records_the_file(files, tmp_path):
    out = tmp_path / "best"
    argv = ["optimise", str(files / "two.yaml"), "--budget", "1200000", "--capabilities",
            ",".join(THREE), "--objective", "retention", "-r", "2", "-s", "5",
            "--max-evaluations", "5", "--workers", "1", "--uncertain",
            str(files / "level.yaml"), "--samples", "3", "--out", str(out), "-q"]  # fmt: skip
    status, stdout, stderr = cxm(*argv)
    assert status == 0, stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "across_sets.csv", "gains.csv", "history.csv", "manifest.json", "optimised.yaml",
        "splits.csv",
    ]  # fmt: skip
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["uncertainty_file"] == str(files / "level.yaml")
    assert manifest["uncertainty"]["parameters"][TECHNOLOGY_LEVEL]["range"] == [1.0, 5.0]
    assert len(manifest["uncertainty_sha256"]) == 64
    assert manifest["samples"] == 3 and manifest["design"] == "latin_hypercube"
    assert manifest["design_seed_sequence"]["entropy"] == 5
    sets = pd.read_csv(out / "across_sets.csv")
    assert len(sets) == 3 * 5  # 3 sets × (the best split, the even one, three alone)
    best = sets[sets["split"] == OPTIMISED]
    assert manifest["value"] == pytest.approx(best["objective"].mean(), rel=1e-12)
    splits = pd.read_csv(out / "splits.csv").set_index("split")
    beats = splits.loc[EVEN, "probability_beaten"]
    assert f"beats even in {round(beats * 3)} of 3 sets (P(beats even) {beats:.2f})" in stdout
    median = best["objective"].median()
    assert f"against no budget, set by set: median {median:+.4f}" in stdout
    assert "averaged over the 3 sets, random noise only" in stdout
    assert "the second is what 'how sure are we' means" in stdout
    assert "replications × 3 sets, seed 5" in stdout


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--samples", "3"], "error: --samples: only with --uncertain FILE"),
        (["--uncertain", "level.yaml", "--samples", "1"],
         "error: --samples: got 1; must be a whole number from 2"),
        (["--uncertain", "budget.yaml"], "the optimiser sets firm.budget itself"),
        (["--uncertain", "missing.yaml"], "missing.yaml: the uncertainty file does not exist"),
    ],
)  # fmt: skip
def test_bad_uncertain_options_are_one_line_and_nothing_is_written(
    files, tmp_path, options, message
):
    out = tmp_path / "never"
    options = [str(files / o) if o.endswith(".yaml") else o for o in options]
    status, stdout, stderr = cxm(
        "optimise", str(files / "two.yaml"), "--budget", "1200000", *options, "--out", str(out)
    )
    assert status == 2
    assert stderr.count("\n") == 1 and stderr.startswith("error: ")
    assert message in stderr
    assert stdout == ""
    assert not out.exists()
