"""The budget optimiser: it finds the one capability that pays on a scenario built so that
only that capability has an effect, is deterministic for a seed, and refuses bad options."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.errors import CXMError, OptionError
from sim.experiments.optimise import (
    BASE,
    EVEN,
    OPTIMISED,
    OWN,
    optimise_allocation,
    project,
    rounded,
)
from sim.results import PROJECT_ROOT
from sim.scenario import load_scenario, with_overrides
from sim.scenario.firm import CAPABILITIES

SCENARIOS = PROJECT_ROOT / "scenarios"
THREE = ("experience_strategy", "technology", "measurement")


def only_technology_matters(size: int, months: int):
    """The baseline where technology alone drives every touchpoint and every other channel
    of a capability is switched off (docs/model.md §4.1–4.3, §8.2, §8.5, §9): no
    consistency or prevention effect, no enablers, maturity fixed, no holding cost; a lag of
    one month and a steep quality slope make the effect large within a short run. Lump sums
    are taken as written (`firm.scale.with_size` off), so that a budget is measured against
    the default cost scale whatever the market's size."""
    scenario = load_scenario(SCENARIOS / "baseline.yaml")
    changes = {
        "market.size": size,
        "months": months,
        "support.mode": "service_level",
        "firm.consistency_per_level": 0.0,
        "firm.problem_prevention_per_level": 0.0,
        "firm.dynamics.enabler_effect": 0.0,
        "firm.dynamics.lag_months": 1.0,
        "firm.dynamics.holding_cost_per_customer": 0.0,
        "firm.maturity.level": "managed",
        "firm.quality_per_level": 0.1,
        "firm.scale.with_size": False,
    }
    changes |= {f"touchpoints.{name}.drivers": {"technology": 1.0} for name in scenario.touchpoints}
    return with_overrides(scenario, changes)


@pytest.fixture(scope="module")
def tiny():
    return only_technology_matters(800, 8)


def test_puts_the_budget_on_the_only_capability_that_works(tiny):
    seen = []
    result = optimise_allocation(
        tiny, budget_per_month=100_000, capabilities=THREE, objective="retention",
        replications=2, seed=5, max_evaluations=10, workers=1,
        progress=lambda n, best: seen.append((n, best)),
    )  # fmt: skip
    assert result.allocation["technology"] >= 0.8
    assert sum(result.allocation.values()) == pytest.approx(1.0, abs=1e-9)
    assert set(result.allocation) == set(THREE)
    assert result.best_single == "technology"
    # the start design: the even split, then each capability alone
    start = result.history[result.history["stage"] == "start"]
    assert list(start["name"]) == [EVEN, *(f"only_{c}" for c in THREE)]
    assert result.evaluations == len(result.history) <= 10
    assert [n for n, _ in seen] == list(range(1, result.evaluations + 1))
    assert seen[-1][1] == result.value == pytest.approx(result.history["objective"].max())
    # the optimised split is at least as good as every start point on the same numbers
    assert result.value >= start["objective"].max() - 1e-9
    gains = result.gains.set_index(["reference", "metric"])
    assert list(dict.fromkeys(result.gains["reference"])) == [BASE, EVEN, "only_technology"]
    assert gains.loc[(EVEN, "retention_of_initial"), "difference"] >= 0
    assert gains.loc[(BASE, "retention_of_initial"), "difference"] == pytest.approx(result.value)
    assert gains.loc[(BASE, "retention_of_initial"), "difference"] > 0.02
    # the comparison holds the base, the best split and every start point, on the same runs
    names = [run.scenario.name for run in result.comparison.runs]
    assert names == [BASE, OPTIMISED, EVEN, *(f"only_{c}" for c in THREE)]
    paired = result.comparison.paired.set_index("alternative")
    even = start.set_index("name").loc[EVEN, "retention_of_initial"]
    assert paired.loc[EVEN, "retention_of_initial"].mean() == pytest.approx(even, abs=1e-12)
    # the scenario of the best split
    budget = result.scenario.firm.budget
    assert result.scenario.name == f"{tiny.name}_optimised"
    assert budget.per_month == 100_000 and (budget.start_month, budget.end_month) == (1, 8)
    assert budget.allocation == {c: s for c, s in result.allocation.items() if s > 0}
    assert "retention" in result.scenario.description


def test_same_seed_same_answer_and_the_scenario_s_own_split_is_a_start_point(tiny):
    own = with_overrides(
        tiny,
        {"firm.budget": {"per_month": 50_000, "start_month": 2, "end_month": 6,
                         "allocation": {"technology": 0.5, "measurement": 0.5}}},
    )  # fmt: skip
    options = {"capabilities": THREE, "replications": 2, "max_evaluations": 7, "workers": 1}
    one = optimise_allocation(own, seed=9, **options)
    two = optimise_allocation(own, seed=9, **options)
    pd.testing.assert_frame_equal(one.history, two.history, check_exact=True)
    pd.testing.assert_frame_equal(one.gains, two.gains, check_exact=True)
    assert one.allocation == two.allocation and one.value == two.value
    assert one.scenario.sha256 == two.scenario.sha256
    # the budget, its months and the scenario's own split come from the scenario
    assert (one.budget_per_month, one.start_month, one.end_month) == (50_000, 2, 6)
    assert list(one.history["name"][:2]) == [EVEN, OWN]
    assert one.history.loc[1, "technology"] == one.history.loc[1, "measurement"] == 0.5


def test_projection_and_rounding_keep_a_split_on_the_simplex():
    for y in (np.array([0.2, 0.3, 0.5]), np.array([2.0, -1.0, 0.1]), np.array([-5.0, -5, -5])):
        x = project(y)
        assert (x >= 0).all() and x.sum() == pytest.approx(1.0)
    assert project(np.array([0.2, 0.3, 0.5])) == pytest.approx([0.2, 0.3, 0.5])
    assert project(np.array([2.0, -1.0, 0.1])) == pytest.approx([1.0, 0.0, 0.0])
    assert sum(rounded(np.full(3, 1 / 3))) == pytest.approx(1.0, abs=1e-12)
    assert rounded(np.full(3, 1 / 3)) == (0.334, 0.333, 0.333)
    assert rounded(np.full(8, 1 / 8)) == (0.125,) * 8


def test_bad_options_are_clear_errors(tiny):
    def refused(match, **options):
        with pytest.raises(OptionError, match=match):
            optimise_allocation(tiny, **({"budget_per_month": 1000.0} | options))

    with pytest.raises(OptionError, match=r"^budget_per_month: scenario baseline has no budget"):
        optimise_allocation(tiny)
    refused("^budget_per_month: got -5", budget_per_month=-5)
    refused("^budget_per_month: got nan", budget_per_month=float("nan"))
    refused("^budget_per_month: got True", budget_per_month=True)
    refused("^objective: got 'profit'; use one of 'npv', 'roi', 'retention'", objective="profit")
    refused("^capabilities: 'tech' is not a capability", capabilities=["tech", "culture"])
    refused("^capabilities: a capability is named twice", capabilities=["culture", "culture"])
    refused("at least two capabilities", capabilities=["culture"])
    refused("give a list of capability names", capabilities="culture")
    refused(r"^end_month: got 9; must be a whole number from 1 to 8", end_month=9)
    refused("^end_month: got 2; must not come before start_month 3", start_month=3, end_month=2)
    refused("^start_month: got 0", start_month=0)
    refused("^replications: got 0", replications=0)
    refused("^seed: got -1", seed=-1)
    refused("^max_evaluations: got 5; must be at least the 9 splits of the start design",
            max_evaluations=5)  # fmt: skip
    refused("^search: got -1", search=-1)
    refused("^workers: got 0", workers=0)
    refused("cannot name a split", candidates={"even": {"culture": 1.0}})
    refused("cannot name a split", candidates={"bad name": {"culture": 1.0}})
    refused("sum to 0.9", candidates={"mine": {"culture": 0.5, "technology": 0.4}})
    refused("'culture' is not among the capabilities searched",
            capabilities=THREE, candidates={"mine": {"culture": 1.0}})  # fmt: skip
    refused("a share is from 0 to 1", candidates={"mine": {"culture": 1.5, "governance": -0.5}})
    assert issubclass(OptionError, CXMError)


@pytest.mark.slow
def test_all_eight_capabilities_by_npv_with_candidates():
    scenario = only_technology_matters(1500, 12)
    focused = {"governance": 0.2, "culture": 0.2, "experience_design": 0.3, "technology": 0.3}
    result = optimise_allocation(
        scenario, budget_per_month=100_000, objective="npv", replications=2, seed=3,
        max_evaluations=16, search=2, candidates={"focused": focused}, workers=1,
    )  # fmt: skip
    assert result.allocation["technology"] >= 0.8
    assert result.best_single == "technology"
    assert result.capabilities == CAPABILITIES
    names = [run.scenario.name for run in result.comparison.runs]
    assert names[:4] == [BASE, OPTIMISED, EVEN, "focused"] and "random_2" in names
    gains = result.gains.set_index(["reference", "metric"])
    assert gains.loc[(EVEN, "profit_npv"), "difference"] > 0
    # a fixed budget: ROI ranks splits as NPV does
    history = result.history
    assert history["roi"].idxmax() == history["profit_npv"].idxmax()


def test_budget_splits_draws_each_share_as_a_segment():
    from matplotlib.container import BarContainer

    from sim.plots.results import budget_splits

    splits = pd.DataFrame(
        {"technology": [0.125, 1.0, 0.3], "culture": [0.875, 0.0, 0.7]},
        index=["even", "only_technology", "mixed"],
    )
    fig = budget_splits(splits, title="Three splits")
    ax = fig.axes[0]
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    # capabilities in the order of CAPABILITIES: culture before technology
    assert [b.get_label() for b in bars] == ["Culture", "Technology"]
    widths = {b.get_label(): [p.get_width() for p in b.patches] for b in bars}
    lefts = {b.get_label(): [p.get_x() for p in b.patches] for b in bars}
    assert widths["Culture"] == pytest.approx([87.5, 0.0, 70.0])
    assert widths["Technology"] == pytest.approx([12.5, 100.0, 30.0])
    assert lefts["Technology"] == pytest.approx([87.5, 0.0, 70.0])
    assert [t.get_text() for t in ax.get_yticklabels()] == list(splits.index)
    assert ax.get_xlim() == (0, 100) and ax.get_xlabel() == "Share of the budget (%)"
    assert ax.get_title() == "Three splits"
    shown = sorted(t.get_text() for t in ax.texts)
    assert shown == sorted(["88 %", "70 %", "12 %", "100 %", "30 %"])
    with pytest.raises(ValueError, match="'tech' is not a capability"):
        budget_splits(splits.rename(columns={"technology": "tech"}))
    with pytest.raises(ValueError, match=r"split 'mixed' sums to 0\.9"):
        budget_splits(splits.assign(culture=[0.875, 0.0, 0.6]))
    with pytest.raises(ValueError, match="from 0 to 1"):
        budget_splits(splits.assign(culture=[-0.1, 0.0, 0.7]))
    with pytest.raises(ValueError, match="empty"):
        budget_splits(splits.iloc[0:0])
    with pytest.raises(TypeError, match="DataFrame"):
        budget_splits({"even": {"culture": 1.0}})


@pytest.mark.slow
def test_two_workers_search_exactly_as_one(tiny):
    options = {"budget_per_month": 100_000, "capabilities": THREE, "replications": 2,
               "seed": 4, "max_evaluations": 6}  # fmt: skip
    one = optimise_allocation(tiny, workers=1, **options)
    two = optimise_allocation(tiny, workers=2, **options)
    pd.testing.assert_frame_equal(one.history, two.history, check_exact=True)
    pd.testing.assert_frame_equal(one.gains, two.gains, check_exact=True)
    assert one.allocation == two.allocation
