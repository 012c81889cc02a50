"""Budget allocation under uncertain assumptions: the split that is best across them.

`sim.experiments.optimise` finds the split of a budget that maximises an objective with the
model's assumptions as they are. Many of those (what a capability level costs, how fast it
comes and goes, what it is worth to customers; docs/model.md §15.4) nobody has calibrated,
and the best split may change with them. With an uncertainty file
(`sim.experiments.uncertainty_spec`; the same file, design and seed as
``cxm compare --uncertain``, `sim.experiments.uncertainty`) the optimiser maximises instead
the *expected* objective over the assumptions, estimated on a fixed sample of them:

- ``N`` parameter sets are drawn once, by Latin hypercube from the seed
  (`sim.experiments.uncertainty.plan_study`), before the search starts;
- every split, and the base without the budget, runs in each set on the same seed and
  replication streams, so splits are compared on the same assumptions *and* the same noise
  (common random numbers across splits and sets);
- a split's objective is the mean over the sets of its mean paired difference in the set:
  a sample-average approximation of the expectation (Kleywegt, Shapiro & Homem-de-Mello
  2002, "The sample average approximation method for stochastic discrete optimization").
  On fixed sets it is a deterministic function of the split, so the search is unchanged.

This module holds what the uncertain search adds: the drawn sets (`AssumptionSets`), runs
averaged over the sets (`averaged_run`, on which the paired intervals of the result are
taken: the noise of the replications with the sets held fixed), and the spread across the
sets (`across_sets_table`, `spread_table`): each split's objective set by set, its median
and 5–95 % range, and the share of sets in which the best split beats it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import OptionError, ScenarioError, check_whole
from sim.experiments.designs import MAX_DESIGN_SAMPLES
from sim.experiments.runs import RunResult
from sim.experiments.sweep_spec import MAX_RUNS
from sim.experiments.uncertainty import RANGE_PERCENTILES, applied, plan_study
from sim.experiments.uncertainty_spec import MIN_SAMPLES, Uncertainty, load_uncertainty
from sim.scenario import Scenario
from sim.stats import summarise

BUDGET_PATH = "firm.budget"
"""The scenario field the optimiser sets: no assumption may lie inside it."""
IDS = ("replication", "seed", "month")
"""Columns that identify a row of a run's tables (with its text columns), kept when sets
are averaged."""


@dataclass(frozen=True)
class AssumptionSets:
    """The parameter sets an optimisation averages over.

    Attributes:
        uncertainty: the uncertain assumptions and their ranges.
        sets: the drawn parameter sets (path → value), in draw order.
        seed: the seed of the design and of every run.
        design: how the sets were drawn (``latin_hypercube``).
        design_seed: the design's seed sequence, as a manifest records it.
    """

    uncertainty: Uncertainty
    sets: tuple[dict[str, Any], ...]
    seed: int
    design: str
    design_seed: dict[str, Any]

    @property
    def samples(self) -> int:
        """Parameter sets drawn (N)."""
        return len(self.sets)

    def in_sets(self, scenario: Scenario) -> tuple[Scenario, ...]:
        """`scenario` with each set's values, in set order."""
        return tuple(
            applied(self.uncertainty, (scenario,), values, k)[0]
            for k, values in enumerate(self.sets)
        )


def draw_assumptions(
    base: Scenario,
    budgeted: Scenario,
    uncertainty: Uncertainty | str | Path,
    samples: int | None,
    replications: int,
    seed: int | None,
    max_evaluations: int,
) -> AssumptionSets:
    """Check an uncertainty file against the optimisation and draw its sets, as
    ``cxm compare --uncertain`` draws them for `base` against `budgeted`.

    Args:
        base: the scenario without the budget.
        budgeted: the scenario with the budget (any split).
        uncertainty: an `Uncertainty` or the path of an uncertainty file.
        samples: parameter sets to draw (default: the file's), at least 2.
        replications: runs of each split in each set.
        seed: of the design and every run (default: the file's, else the scenario's).
        max_evaluations: splits simulated at most, to bound the runs.

    Raises:
        ScenarioError: a bad file, an assumption inside ``firm.budget`` (the optimiser sets
            it), or one the scenario cannot take.
        OptionError: `samples` out of range, or more than `MAX_RUNS` runs in all.
    """
    if not isinstance(uncertainty, Uncertainty):
        uncertainty = load_uncertainty(uncertainty)
    for name in uncertainty.parameters:
        if name == BUDGET_PATH or name.startswith(BUDGET_PATH + "."):
            raise ScenarioError(
                uncertainty.source,
                f"parameters.{name}",
                name,
                f"not an assumption here: the optimiser sets {BUDGET_PATH} itself (the amount, "
                "its months and its split)",
            )
    drawn = uncertainty.spec.samples if samples is None else samples
    drawn = check_whole("samples", drawn, MIN_SAMPLES, MAX_DESIGN_SAMPLES)
    runs = max_evaluations * drawn * replications
    if runs > MAX_RUNS:
        raise OptionError(
            "samples",
            f"{max_evaluations:,} {{max_evaluations}} × {drawn:,} sets × {replications:,} "
            f"{{replications}} = {runs:,} runs; at most {MAX_RUNS:,}",
            ("max_evaluations", "replications"),
        )
    study = plan_study(
        base,
        budgeted,
        uncertainty=uncertainty,
        samples=drawn,
        replications=replications,
        seed=seed,
    )
    sets = tuple(study.sets[: study.samples])
    return AssumptionSets(uncertainty, sets, study.seed, study.design.kind, study.design_seed)


def averaged_run(runs: Sequence[RunResult], scenario: Scenario) -> RunResult:
    """One run whose every table is the mean over the sets of `runs` (one scenario in each
    set, on the same seed), row by row (replication, month, touchpoint, segment).

    A paired difference of two averaged runs is the mean over the sets of the paired
    differences, replication by replication (the return on the budget too: its present
    value is the same in every set).

    Args:
        runs: the run in each set.
        scenario: what the averaged run is of (the scenario without the sets' values).
    """
    first = runs[0]
    tables = {
        name: _mean_over_sets([getattr(run, name) for run in runs])
        for name in ("timeseries", "touchpoints", "segments", "outcomes")
    }
    summary = summarise(tables["outcomes"].drop(columns=["replication", "seed"]))
    return RunResult(scenario, first.seed, first.engine, summary=summary, **tables)


def _mean_over_sets(tables: list[pd.DataFrame]) -> pd.DataFrame:
    columns = tables[0].columns
    keys = [c for c in columns if c in IDS or not pd.api.types.is_numeric_dtype(tables[0][c])]
    mean = pd.concat(tables, ignore_index=True).groupby(keys, sort=False).mean()
    return mean.reset_index()[list(columns)]


def across_sets_table(
    assumptions: AssumptionSets, per_set: Mapping[str, pd.DataFrame]
) -> pd.DataFrame:
    """One row per set × split: ``set`` (from 0, draw order), ``split``, each assumption's
    value in the set (a column per path), and the split's measures in the set.

    Args:
        assumptions: the sets.
        per_set: split name → its measures, one row per set in set order (mean paired
            differences against the base over the replications, and the ``objective``).
    """
    rows = [
        {"set": k, "split": name} | values | table.iloc[k].to_dict()
        for k, values in enumerate(assumptions.sets)
        for name, table in per_set.items()
    ]
    return pd.DataFrame(rows)


def spread_table(across_sets: pd.DataFrame, best: str) -> pd.DataFrame:
    """Each split's objective across the sets, indexed by split (in `across_sets`' order):
    ``median``, ``p05`` and ``p95`` (`RANGE_PERCENTILES`, linear interpolation, over the sets
    in which it is defined) and ``probability_beaten``: the share of sets in which the split
    `best` has a higher objective than this one (NaN for `best` itself)."""
    objective = across_sets.pivot(index="set", columns="split", values="objective")
    rows = {}
    for name in across_sets["split"].unique():
        values = objective[name].to_numpy(dtype=np.float64)
        defined = values[np.isfinite(values)]
        low, middle, high = (
            np.percentile(defined, [RANGE_PERCENTILES[0], 50.0, RANGE_PERCENTILES[1]])
            if len(defined)
            else (np.nan,) * 3
        )
        beaten = np.nan if name == best else float((objective[best] > objective[name]).mean())
        rows[name] = {
            "median": float(middle),
            "p05": float(low),
            "p95": float(high),
            "probability_beaten": beaten,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


__all__ = [
    "AssumptionSets",
    "across_sets_table",
    "averaged_run",
    "draw_assumptions",
    "spread_table",
]
