"""Budget allocation: the split of a fixed CX budget over capabilities that serves the firm best.

A scenario's budget (``firm.budget``: an amount per month from a first to a last month, and
the share of it each capability receives, docs/model.md §8.1) can be split in many ways.
`optimise_allocation` searches the splits over a set of capabilities for the one that
maximises an objective, each measured against the same scenario without the budget:

- ``npv``: the mean paired profit NPV difference (cu, present value; the budget deducted);
- ``roi``: the mean ROI of the budget, incremental NPV per cu of it (present values). With
  the amount and the months fixed, the budget's present value is the same for every split,
  so ROI ranks splits exactly as NPV does; it is offered to report the answer in that unit;
- ``retention``: the mean paired difference in the share of the initial customers still
  active at the horizon (0–1).

**Common random numbers.** Every evaluation runs the same replications on the same seed as
the base (the scenario without the budget), so the objective is a deterministic function of
the split: it changes only because the split does, and two splits are compared on the same
noise (paired differences, `sim.experiments.runs.paired_comparison`).

**Method.** The splits of a budget over ``k`` capabilities form the unit simplex. The search
has two stages:

1. a *start design* on the simplex, evaluated as one job: the even split (its centroid),
   every capability alone (its vertices, so the best single capability is always known),
   the scenario's own split and any named candidates, and optionally `search` random
   splits drawn uniformly on the simplex (Dirichlet(1, …, 1));
2. *Nelder–Mead* (`scipy.optimize.minimize(method="Nelder-Mead")`, Nelder & Mead 1965,
   with SciPy's standard coefficients) from the best start point, on
   ``k − 1`` coordinates of the plane of shares summing to 1 (an orthonormal Helmert basis,
   `scipy.linalg.helmert`), each point mapped to the simplex by Euclidean projection (Wang &
   Carreira-Perpiñán 2013, "Projection onto the probability simplex"). The first simplex
   moves `STEP` of the budget from the start's largest share to each other capability.

Why this method: the objective is a simulation, expensive (``replications`` runs a point)
and without gradients, and on common random numbers it is deterministic but not smooth at
fine scale (a small change of the split moves a few customers across a threshold), which
rules out finite-difference gradients. With the defaults a capability's gain is almost
linear in its spend (docs/model.md §8.4: spend far below ``cost_scale``), so the best split
often lies on an edge or a vertex of the simplex: a projection keeps such splits reachable
exactly (a softmax or log-ratio parametrisation reaches them only in the limit), works in
shares of the budget (so `STEP` and the tolerance read as "a fifth of the budget" and "half
a per cent of it"), and treats the capabilities symmetrically. Nelder–Mead needs nothing
but comparisons of objective values, suits the few tens of evaluations a simulation
affords, and is the search `sim.experiments.calibrate` already uses. A population method
such as differential evolution needs hundreds of evaluations in eight dimensions. Nelder–Mead
is a local search: the start design guards against a poor local optimum, and the result is
by construction at least as good as every start point (the even split and each capability
alone) on these random numbers, up to a tie (`TIE`). Whether it is better *beyond noise* is
a separate question that `AllocationResult.gains` answers with paired 95 % intervals.

The random start splits are drawn from the seed on a purpose of their own
(`sim.purposes.OPTIMISE_SEARCH`, a seed sequence, not a model stream), so they do not repeat
a calibration's Latin hypercube.

Shares are rounded to `RESOLUTION` (a tenth of a per cent of the budget); each distinct
rounded split is simulated once and counted as one evaluation. The replications run as
tasks of `sim.experiments.parallel` on one pool opened for the whole search, and are
assembled in replication order, so the search takes the same path and ends at the same
split for any workers.

**Uncertain assumptions.** With an uncertainty file (``uncertainty``), every split and the
base run in each of its drawn parameter sets, and the objective is the mean over the sets
of the split's mean paired difference: the split best *across* the assumptions nobody has
calibrated, with their spread set beside it (`sim.experiments.optimise_uncertain`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Unpack

import numpy as np
import pandas as pd
from scipy.linalg import helmert
from scipy.optimize import minimize

from sim import purposes
from sim.choices import OBJECTIVES, SPLIT_OVER
from sim.errors import CXMError, OptionError, check_whole
from sim.experiments import parallel
from sim.experiments.calibrate import check_options as check_counts
from sim.experiments.optimise_uncertain import (
    AssumptionSets,
    across_sets_table,
    averaged_run,
    draw_assumptions,
    spread_table,
)
from sim.experiments.runs import Comparison, RunResult, paired_comparison, replicate
from sim.experiments.uncertainty_spec import Uncertainty
from sim.scenario import Scenario, with_overrides
from sim.scenario.fields import SHARE_TOLERANCE
from sim.scenario.firm import CAPABILITIES
from sim.scenario.loading import valid_name
from sim.stats import mean_interval
from sim.streams import purpose_key

REPORTED = ("profit_npv", "roi", "retention_of_initial", "nps_true")
"""The measures `AllocationResult.gains` reports, besides the objective's."""
RESOLUTION = 0.001
"""Shares are rounded to this (a tenth of a per cent of the budget)."""
STEP = 0.2
"""Share of the budget the first Nelder–Mead simplex moves between capabilities."""
TOLERANCE = 0.005
"""Nelder–Mead stops when its simplex is this small (in shares of the budget)."""
TIE = 1e-9
"""A split must beat the best so far by more than this, relative (at least 1 in absolute
terms), to replace it: smaller differences are rounding in sums over customers and months,
and a tie keeps the split found first (the even split before the others)."""
MAX_BUDGET = 1e12
"""Largest budget per month accepted, cu."""
BASE = "no_budget"
"""Name of the base in the comparison: the scenario without the budget."""
OPTIMISED = "optimised"
"""Name of the best split in the comparison."""
EVEN = "even"
"""Name of the even split in the comparison."""
SINGLE = "only_"
"""Prefix of the name of each capability alone in the comparison (``only_technology``)."""
OWN = "own_split"
"""Name of the scenario's own split in the comparison, when it is not the even one."""
RANDOM = "random_"
"""Prefix of the names of the random start points."""
SEARCH = "search_"
"""Prefix of the names of the points Nelder–Mead visits (in the history)."""
Progress = Callable[[int, float], None]
"""Called with (evaluations so far, best objective so far)."""


@dataclass(frozen=True)
class AllocationResult:
    """The best split of a budget found, and how it compares.

    Attributes:
        scenario: the input scenario with the budget split the best way (named
            ``<name>_optimised``), ready to save or run.
        allocation: capability → share of the budget for every capability searched (zeros
            included; the shares sum to 1).
        objective: the objective maximised, a key of `OBJECTIVES`.
        value: the objective at the best split: the mean over replications of its paired
            measure against the scenario without the budget (cu for ``npv``; cu per cu for
            ``roi``; share 0–1 for ``retention``); with `assumptions`, the mean over the sets
            of that mean in each set.
        comparison: the paired comparison (as `sim.compare` returns it) of the scenario
            without the budget (`BASE`) against the best split (`OPTIMISED`), the even split
            (`EVEN`), each capability alone (``only_<capability>``), the scenario's own split
            (`OWN`, when it differs from the even one) and each named candidate; the same
            runs the search made, no new ones. With `assumptions`, of the runs averaged over
            the sets (`sim.experiments.optimise_uncertain.averaged_run`).
        gains: how much better the best split is, one row per reference × measure:
            ``reference`` (`BASE`, `EVEN` or the best ``only_<capability>``), ``metric`` (the
            objective's measure first, then `REPORTED`), ``optimised`` and ``reference_mean``
            (their means; for ROI against the base, the base has none), ``difference``
            (mean paired difference optimised − reference, on the same replications),
            ``ci_low``/``ci_high`` (its 95 % t-interval) and ``n``. With `assumptions`, the
            differences are averaged over the sets replication by replication: the interval
            is the noise of the replications with the sets held fixed, not the spread across
            the sets (that is in `splits` and `across_sets`).
        best_single: the capability that does best alone (by the objective).
        splits: one row per split of `comparison` (indexed by its name, in the comparison's
            order): each capability's share and the ``objective``; with `assumptions` also
            the objective's ``median``, ``p05`` and ``p95`` across the sets and
            ``probability_beaten``, the share of sets in which the best split beats this one
            (`sim.experiments.optimise_uncertain.spread_table`).
        history: one row per evaluation, in order: ``evaluation`` (from 1), ``stage``
            (``start`` or ``search``), ``name``, each capability's share, the mean paired
            ``profit_npv``, ``roi`` and ``retention_of_initial`` against the base, and the
            ``objective``.
        evaluations: distinct splits simulated (each `replications` runs).
        budget_per_month: the budget, cu per month.
        start_month, end_month: the months the budget is spent, inclusive.
        capabilities: the capabilities searched, in order.
        replications: runs per evaluation (in each set), on `seed`.
        seed: the seed of every evaluation.
        assumptions: the parameter sets of the uncertain assumptions averaged over (None:
            the assumptions as the scenario has them).
        across_sets: with `assumptions`, one row per set × split of `splits`: ``set``,
            ``split``, each assumption's value, and the split's mean paired ``profit_npv``,
            ``roi``, ``retention_of_initial`` and ``objective`` in that set; else None.
    """

    scenario: Scenario
    allocation: dict[str, float]
    objective: str
    value: float
    comparison: Comparison
    gains: pd.DataFrame
    best_single: str
    splits: pd.DataFrame
    history: pd.DataFrame
    evaluations: int
    budget_per_month: float
    start_month: int
    end_month: int
    capabilities: tuple[str, ...]
    replications: int
    seed: int
    assumptions: AssumptionSets | None = None
    across_sets: pd.DataFrame | None = None


def optimise_allocation(
    scenario: Scenario,
    budget_per_month: float | None = None,
    start_month: int | None = None,
    end_month: int | None = None,
    capabilities: Sequence[str] | None = None,
    objective: str = "npv",
    replications: int = 4,
    seed: int | None = None,
    max_evaluations: int = 40,
    search: int = 0,
    candidates: Mapping[str, Mapping[str, float]] | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    *,
    over: str = "capabilities",
    uncertainty: Uncertainty | str | Path | None = None,
    samples: int | None = None,
    **execution: Unpack[parallel.ExecutionOptions],
) -> AllocationResult:
    """Find the split of a fixed budget over `capabilities` that maximises `objective`.

    The budget replaces the scenario's own ``firm.budget`` (its investment lines,
    ``firm.investments``, stay as they are, in the base too). A front-end that takes a total
    over years passes ``budget_per_month = total / (12 × years)`` and
    ``end_month = start_month + 12 × years − 1``.

    Args:
        scenario: the scenario (market, firm, horizon) the budget is spent in.
        budget_per_month: cu per month (default: the scenario's own budget, if it has one).
        start_month: first month of spend (default: the scenario budget's, else 1).
        end_month: last month of spend, inclusive, at most the horizon (default: the
            scenario budget's, cut at the horizon, else the horizon).
        capabilities: what to split over, at least two: capabilities (default: all eight,
            `sim.scenario.firm.CAPABILITIES`) or, with ``over="channels"``, support channels
            the scenario opens (default: all it opens); the others get nothing.
        objective: ``"npv"``, ``"roi"`` or ``"retention"`` (see the module docstring).
        replications: runs per evaluation (on the same seed every time).
        seed: the seed of every evaluation (default: the scenario's).
        max_evaluations: distinct splits simulated in all, start design included; at least
            the start design's size.
        search: random splits added to the start design (uniform on the simplex).
        candidates: name → split (capability → share, summing to 1) to evaluate in the
            start design and report in the comparison, e.g. ``{"focused": {...}}``.
        progress: optional callback, see `Progress`.
        workers: local worker processes for the replications, one cluster for the whole
            search (default: one per core, but fewer than
            `sim.experiments.parallel.SERIAL_BELOW` replications run in this process; 1: in
            this process).
        scheduler: address of a running Dask scheduler instead of local workers.
        uncertainty: uncertain assumptions to optimise across (an `Uncertainty` or the path
            of an uncertainty file, as for ``cxm compare --uncertain``): every split and the
            base run in each of its drawn sets, and the objective is the mean over the sets
            (see `sim.experiments.optimise_uncertain`). Its seed, if it has one, is the
            default `seed`.
        samples: parameter sets to draw from `uncertainty`, at least 2 (default: the file's).
        over: ``"capabilities"`` (the budget raises capability levels, docs/model.md §8) or
            ``"channels"`` (it raises the levels of the support channels,
            ``support.channels``, docs/model.md §6.4).
        execution: where Dask runs (`sim.experiments.parallel.ExecutionOptions`).

    Raises:
        CXMError: (an `OptionError` naming the option) a bad budget, months, capability,
            objective, count, seed, candidate or execution option, `samples` without
            `uncertainty`; (a `ScenarioError`) a bad uncertainty file or an assumption
            inside ``firm.budget``; all before anything runs.
    """
    check_counts(replications, None, max_evaluations, seed)
    parallel.check_options(workers, scheduler, **execution)
    if objective not in OBJECTIVES:
        raise OptionError(
            "objective", f"got {objective!r}; use one of {', '.join(map(repr, OBJECTIVES))}"
        )
    chosen = _targets(scenario, over, capabilities)
    per_month, start, end = _budget(scenario, budget_per_month, start_month, end_month)
    search = check_whole("search", search, 0, 1000)
    budget = {"per_month": per_month, "start_month": start, "end_month": end}
    base = with_overrides(scenario, {"name": BASE, "firm.budget": {"per_month": 0.0}})
    assumptions = None
    if uncertainty is not None:
        even = dict(zip(chosen, rounded(np.full(len(chosen), 1.0 / len(chosen))), strict=True))
        budgeted = with_overrides(scenario, {"firm.budget": budget | {"allocation": even}})
        assumptions = draw_assumptions(
            base, budgeted, uncertainty, samples, replications, seed, max_evaluations
        )
        seed = assumptions.seed
    elif samples is not None:
        raise OptionError(
            "samples", "only with {uncertainty} (the sets are drawn from it)", ("uncertainty",)
        )
    seed = scenario.seed if seed is None else int(seed)
    design = _start_design(scenario, chosen, candidates, search, seed)
    distinct = len({split for _, split in design})
    if max_evaluations < distinct:
        raise OptionError(
            "max_evaluations",
            f"got {max_evaluations}; must be at least the {distinct} splits of the start "
            f"design (the even split, each of the {len(chosen)} capabilities alone"
            + (", the scenario's own split" if any(n == OWN for n, _ in design) else "")
            + (", the candidates" if candidates else "")
            + (", the random splits" if search else "")
            + ")",
        )
    search_state = _Search(
        scenario, base, budget, chosen, OBJECTIVES[objective], replications, seed, progress,
        max_evaluations, assumptions,
    )  # fmt: skip
    # without a worker count, evaluations of few replications run in this process (as in
    # calibration); with one, the cluster is sized for the start design's job, the largest
    runs = replications * (1 if assumptions is None else assumptions.samples)
    tasks = runs if workers is None else (distinct + 1) * runs
    with parallel.pool(workers, scheduler, tasks, **execution) as where:
        search_state.pool = where
        search_state.start(design)
        search_state.nelder_mead()
    return search_state.result(objective)


class _BudgetSpentError(Exception):
    """The evaluation budget is spent."""


class _Search:
    """The state of one search: the base run, every split evaluated, the best so far.

    Each split runs once in each parameter set of `assumptions` (once as it is without
    them); runs are kept as lists, one run per set.
    """

    def __init__(
        self,
        scenario: Scenario,
        base: Scenario,
        budget: dict[str, Any],
        capabilities: tuple[str, ...],
        metric: str,
        replications: int,
        seed: int,
        progress: Progress | None,
        max_evaluations: int,
        assumptions: AssumptionSets | None = None,
    ) -> None:
        self.scenario = scenario
        self.base = base
        self.budget = budget
        self.capabilities = capabilities
        self.metric = metric
        self.replications = replications
        self.seed = seed
        self.progress = progress
        self.max_evaluations = max_evaluations
        self.assumptions = assumptions
        self.pool: parallel.Pool | None = None
        self.base_runs: list[RunResult] | None = None
        self.rows: list[dict[str, Any]] = []
        self.values: dict[tuple[float, ...], float] = {}
        self.per_set: dict[tuple[float, ...], pd.DataFrame] = {}
        """Each split's measures in each set (one row per set)."""
        self.runs: dict[tuple[float, ...], list[RunResult]] = {}
        """Runs kept: the start design's and the best so far."""
        self.named: list[tuple[str, tuple[float, ...]]] = []
        """The start design's names and splits, in order."""
        self.best: tuple[float, ...] | None = None

    def scenario_for(self, name: str, shares: tuple[float, ...]) -> Scenario:
        allocation = {c: s for c, s in zip(self.capabilities, shares, strict=True) if s > 0}
        budget = self.budget | {"allocation": allocation}
        return with_overrides(self.scenario, {"name": name, "firm.budget": budget})

    def in_sets(self, scenario: Scenario) -> tuple[Scenario, ...]:
        """`scenario` in each parameter set (itself alone without uncertain assumptions)."""
        return (scenario,) if self.assumptions is None else self.assumptions.in_sets(scenario)

    def evaluate(self, points: Sequence[tuple[str, tuple[float, ...]]], stage: str) -> None:
        """Simulate the splits not yet evaluated (one job) and record each."""
        assert self.pool is not None
        new: list[tuple[tuple[float, ...], str]] = []
        for name, key in points:
            if key not in self.values and all(key != seen for seen, _ in new):
                new.append((key, name))
        if len(self.values) + len(new) > self.max_evaluations:
            raise _BudgetSpentError
        scenarios = [self.scenario_for(name, key) for key, name in new]
        if self.base_runs is None:
            scenarios.insert(0, self.base)
        grid = [applied for scenario in scenarios for applied in self.in_sets(scenario)]
        flat = replicate(self.pool, grid, self.replications, self.seed)
        width = len(flat) // len(scenarios)
        done = [flat[i : i + width] for i in range(0, len(flat), width)]
        if self.base_runs is None:
            self.base_runs, done = done[0], done[1:]
        for (key, name), runs in zip(new, done, strict=True):
            # the mean paired difference in each set, then the mean over the sets
            per_set = pd.DataFrame(
                [
                    paired_comparison([base, run]).paired.mean(numeric_only=True)
                    for base, run in zip(self.base_runs, runs, strict=True)
                ]
            )
            means = per_set.mean()
            value = float(means[self.metric])
            value = value if math.isfinite(value) else -math.inf
            self.values[key] = value
            measures = per_set[list(OBJECTIVES.values())]
            self.per_set[key] = measures.assign(objective=per_set[self.metric])
            better = self.best is None or _beats(value, self.values[self.best])
            if stage == "start" or better:
                self.runs[key] = runs
            if better:
                if self.best is not None and self.best not in dict(self.named).values():
                    self.runs.pop(self.best, None)
                self.best = key
            self.rows.append(
                {"evaluation": len(self.rows) + 1, "stage": stage, "name": name}
                | dict(zip(self.capabilities, key, strict=True))
                | {m: float(means[m]) for m in OBJECTIVES.values()}
                | {"objective": value}
            )
            if self.progress is not None:
                self.progress(len(self.rows), self.values[self.best])

    def start(self, design: list[tuple[str, tuple[float, ...]]]) -> None:
        self.named = design
        self.evaluate(design, "start")

    def nelder_mead(self) -> None:
        """Nelder–Mead from the best start point, on the plane of shares summing to 1, each
        point projected onto the simplex (see the module docstring)."""
        k = len(self.capabilities)
        if len(self.values) >= self.max_evaluations:
            return
        assert self.best is not None
        origin = np.array(self.best)
        basis = helmert(k).T  # k × (k − 1), orthonormal columns summing to 0
        largest = int(np.argmax(origin))
        simplex = [np.zeros(k - 1)] + [
            basis.T @ (STEP * (np.eye(k)[i] - np.eye(k)[largest])) for i in range(k) if i != largest
        ]

        def negative(v: np.ndarray) -> float:
            key = rounded(project(origin + basis @ v))
            if key not in self.values:
                self.evaluate([(f"{SEARCH}{len(self.rows) + 1}", key)], "search")
            value = self.values[key]
            return -value if math.isfinite(value) else math.inf

        with contextlib.suppress(_BudgetSpentError):
            minimize(
                negative,
                np.zeros(k - 1),
                method="Nelder-Mead",
                options={
                    "initial_simplex": np.array(simplex),
                    "xatol": TOLERANCE,
                    "fatol": math.inf,
                    "maxfev": 50 * self.max_evaluations,
                },
            )

    def result(self, objective: str) -> AllocationResult:
        assert self.best is not None and self.base_runs is not None
        if not math.isfinite(self.values[self.best]):
            raise CXMError(
                f"optimise: the objective {objective!r} is undefined for every split tried"
            )
        best = self.best
        allocation = dict(zip(self.capabilities, best, strict=True))
        described = self.scenario_for(f"{self.scenario.name}_optimised", best)
        description = (
            f"{self.budget['per_month']:,.2f} cu a month in months {self.budget['start_month']}"
            f" to {self.budget['end_month']}, split to maximise {objective} on "
            f"{self.replications} replications of seed {self.seed}"
            + (
                ""
                if self.assumptions is None
                else f" in each of {self.assumptions.samples} sets of the uncertain "
                f"assumptions {self.assumptions.uncertainty.spec.name} (their mean)"
            )
            + ": "
            + ", ".join(f"{c} {s:.3f}" for c, s in allocation.items() if s > 0)
        )
        optimised = with_overrides(described, {"description": description})
        base = self.base_runs[0]
        if self.assumptions is not None:
            base = averaged_run(self.base_runs, self.base)
        runs = [base, self._named_run(OPTIMISED, best)]
        runs += [self._named_run(name, key) for name, key in self.named]
        comparison = paired_comparison(runs)
        k = len(self.capabilities)
        singles = [self.values[_vertex(k, i)] for i in range(k)]
        first = 0  # the first capability alone that no later one beats by more than a tie
        for i in range(1, k):
            first = i if _beats(singles[i], singles[first]) else first
        best_single = self.capabilities[first]
        gains = gains_table(
            comparison, OBJECTIVES[objective], [BASE, EVEN, f"{SINGLE}{best_single}"]
        )
        splits = pd.DataFrame(
            [
                {"name": name}
                | dict(zip(self.capabilities, key, strict=True))
                | {"objective": self.values[key]}
                for name, key in [(OPTIMISED, best), *self.named]
            ]
        ).set_index("name")
        across_sets = None
        if self.assumptions is not None:
            per_set = {name: self.per_set[key] for name, key in [(OPTIMISED, best), *self.named]}
            across_sets = across_sets_table(self.assumptions, per_set)
            splits = splits.join(spread_table(across_sets, OPTIMISED))
        return AllocationResult(
            optimised,
            allocation,
            objective,
            self.values[best],
            comparison,
            gains,
            best_single,
            splits,
            pd.DataFrame(self.rows),
            len(self.rows),
            float(self.budget["per_month"]),
            int(self.budget["start_month"]),
            int(self.budget["end_month"]),
            self.capabilities,
            self.replications,
            self.seed,
            self.assumptions,
            across_sets,
        )

    def _named_run(self, name: str, key: tuple[float, ...]) -> RunResult:
        """The split's run named `name`; with uncertain assumptions, averaged over the sets."""
        if self.assumptions is not None:
            return averaged_run(self.runs[key], self.scenario_for(name, key))
        run = self.runs[key][0]
        return dataclasses.replace(run, scenario=with_overrides(run.scenario, {"name": name}))


def gains_table(comparison: Comparison, metric: str, references: Sequence[str]) -> pd.DataFrame:
    """Paired differences `OPTIMISED` − each reference, replication by replication, for
    `metric` and each of `REPORTED`, with 95 % t-intervals (`sim.stats.mean_interval`).

    The reference `BASE` is the comparison's base (the difference is the comparison's own);
    any other is one of its alternatives (the difference of the two paired differences
    against the base, i.e. optimised − reference on the same replications; for ROI, the
    difference of the two ROIs).
    """
    paired = comparison.paired
    best = paired[paired["alternative"] == OPTIMISED].set_index("replication").sort_index()
    base_outcomes = comparison.runs[0].outcomes.set_index("replication").sort_index()
    rows = []
    for reference in references:
        for name in dict.fromkeys([metric, *REPORTED]):
            if reference == BASE:
                difference = best[name]
                reference_mean = math.nan if name == "roi" else float(base_outcomes[name].mean())
            else:
                other = paired[paired["alternative"] == reference]
                other = other.set_index("replication").sort_index()
                difference = best[name] - other[name]
                reference_mean = float(
                    other[name].mean()
                    if name == "roi"
                    else (base_outcomes[name] + other[name]).mean()
                )
            optimised = float(
                best[name].mean() if name == "roi" else (base_outcomes[name] + best[name]).mean()
            )
            interval = mean_interval(difference)
            rows.append(
                {
                    "reference": reference,
                    "metric": name,
                    "optimised": optimised,
                    "reference_mean": reference_mean,
                    "difference": interval["mean"],
                    "ci_low": interval["ci_low"],
                    "ci_high": interval["ci_high"],
                    "n": interval["n"],
                }
            )
    return pd.DataFrame(rows)


def project(y: np.ndarray) -> np.ndarray:
    """The Euclidean projection of `y` onto the unit simplex {x ≥ 0, Σx = 1} (Wang &
    Carreira-Perpiñán 2013, algorithm 1)."""
    y = np.asarray(y, dtype=np.float64)
    u = np.sort(y)[::-1]
    cumulative = np.cumsum(u) - 1.0
    index = np.arange(1, len(y) + 1)
    rho = index[u - cumulative / index > 0][-1]
    return np.maximum(y - cumulative[rho - 1] / rho, 0.0)


def rounded(shares: np.ndarray) -> tuple[float, ...]:
    """Shares rounded to `RESOLUTION`, the rounding error put on the largest share, so that
    they sum to 1 (within the schema's tolerance)."""
    steps = np.round(np.asarray(shares, dtype=np.float64) / RESOLUTION)
    steps[int(np.argmax(steps))] += round(1.0 / RESOLUTION) - steps.sum()
    return tuple(round(float(s) * RESOLUTION, 10) for s in steps)


def _beats(value: float, best: float) -> bool:
    """Whether `value` is better than `best` by more than a tie (`TIE`)."""
    if not math.isfinite(best):
        return value > best
    return value > best + TIE * max(1.0, abs(best))


def _vertex(k: int, i: int) -> tuple[float, ...]:
    return tuple(1.0 if j == i else 0.0 for j in range(k))


def _targets(scenario: Scenario, over: str, names: Sequence[str] | None) -> tuple[str, ...]:
    """The capabilities or channels to split over, checked: `names`, or all there are."""
    if over not in SPLIT_OVER:
        raise OptionError("over", f"got {over!r}; use one of {', '.join(map(repr, SPLIT_OVER))}")
    if over == "capabilities":
        allowed, kind = CAPABILITIES, "capability"
    else:
        channels = scenario.support.channels
        allowed, kind = tuple(channels.open()) if channels is not None else (), "channel"
        if len(allowed) < 2 and names is None:
            raise OptionError(
                "over",
                f"scenario {scenario.name} opens {len(allowed)} support channel(s) "
                f"({', '.join(allowed) or 'none'}); splitting over channels needs at least two "
                "in support.channels",
            )
    if names is None:
        return allowed
    if isinstance(names, str) or not isinstance(names, Sequence):
        raise OptionError("capabilities", f"got {names!r}; give a list of {kind} names")
    chosen = tuple(names)
    unknown = [c for c in chosen if c not in allowed]
    if unknown:
        raise OptionError(
            "capabilities",
            f"{', '.join(map(repr, unknown))} is not a {kind} to split over; use "
            f"{', '.join(allowed) or '(none open)'}",
        )
    if len(set(chosen)) != len(chosen):
        raise OptionError("capabilities", f"a {kind} is named twice in {list(chosen)}")
    if len(chosen) < 2:
        plural = "capabilities" if over == "capabilities" else "channels"
        raise OptionError(
            "capabilities", f"got {list(chosen)}; a split needs at least two {plural}"
        )
    return chosen


def _budget(
    scenario: Scenario,
    per_month: float | None,
    start_month: int | None,
    end_month: int | None,
) -> tuple[float, int, int]:
    """The budget per month and its first and last months, checked."""
    own = scenario.firm.budget
    has_own = own.per_month > 0
    if per_month is None:
        if not has_own:
            raise OptionError(
                "budget_per_month",
                f"scenario {scenario.name} has no budget (firm.budget.per_month is 0); "
                "give the amount to split, cu per month",
            )
        per_month = own.per_month
    real = isinstance(per_month, numbers.Real) and not isinstance(per_month, bool)
    if not real or not math.isfinite(per_month) or not 0 < per_month <= MAX_BUDGET:
        raise OptionError(
            "budget_per_month",
            f"got {per_month!r}; must be a number of cu above 0 and at most {MAX_BUDGET:g}",
        )
    horizon = scenario.months
    if start_month is None:
        start_month = own.start_month if has_own else 1
        if start_month > horizon:
            raise OptionError(
                "start_month",
                f"the scenario's budget starts in month {start_month}, after its horizon of "
                f"{horizon} months; give {{start_month}}",
                ("start_month",),
            )
    else:
        start_month = check_whole("start_month", start_month, 1, horizon)
    if end_month is None:
        end_month = min(own.end_month or horizon, horizon) if has_own else horizon
        end_month = max(end_month, start_month)
    else:
        end_month = check_whole("end_month", end_month, 1, horizon)
        if end_month < start_month:
            raise OptionError(
                "end_month",
                f"got {end_month}; must not come before {{start_month}} {start_month}",
                ("start_month",),
            )
    return float(per_month), int(start_month), int(end_month)


def _start_design(
    scenario: Scenario,
    capabilities: tuple[str, ...],
    candidates: Mapping[str, Mapping[str, float]] | None,
    search: int,
    seed: int,
) -> list[tuple[str, tuple[float, ...]]]:
    """The start design's (name, rounded split) pairs, each split once, in order: the even
    split, the scenario's own (if it lies in `capabilities` and is not the even one), the
    candidates, each capability alone, then `search` random splits."""
    k = len(capabilities)
    design: list[tuple[str, tuple[float, ...]]] = [(EVEN, rounded(np.full(k, 1.0 / k)))]
    own = scenario.firm.budget
    if own.per_month > 0 and set(own.allocation) <= set(capabilities):
        split = rounded(np.array([own.allocation.get(c, 0.0) for c in capabilities]))
        if split != design[0][1]:
            design.append((OWN, split))
    reserved = (BASE, OPTIMISED, EVEN, OWN)
    for name, split in (candidates or {}).items():
        if not valid_name(name) or name in reserved or name.startswith((SINGLE, RANDOM)):
            raise OptionError(
                "candidates",
                f"{name!r} cannot name a split: use letters, digits, '_', '.' and '-', and "
                f"none of {', '.join(reserved)} or a name starting {SINGLE} or {RANDOM}",
            )
        design.append((name, _candidate(name, split, capabilities)))
    design += [(f"{SINGLE}{c}", _vertex(k, i)) for i, c in enumerate(capabilities)]
    if search:
        rng = np.random.default_rng(
            np.random.SeedSequence(seed, spawn_key=(purpose_key(purposes.OPTIMISE_SEARCH),))
        )
        design += [
            (f"{RANDOM}{i + 1}", rounded(x))
            for i, x in enumerate(rng.dirichlet(np.ones(k), search))
        ]
    return design


def _candidate(
    name: str, split: Mapping[str, float], capabilities: tuple[str, ...]
) -> tuple[float, ...]:
    if not isinstance(split, Mapping) or not split:
        raise OptionError(
            "candidates", f"{name}: got {split!r}; give capability → share, summing to 1"
        )
    outside = [c for c in split if c not in capabilities]
    if outside:
        raise OptionError(
            "candidates",
            f"{name}: {', '.join(map(repr, outside))} is not among the capabilities searched "
            f"({', '.join(capabilities)})",
        )
    shares = []
    for c in capabilities:
        share = split.get(c, 0.0)
        real = isinstance(share, numbers.Real) and not isinstance(share, bool)
        if not real or not 0.0 <= share <= 1.0:
            raise OptionError("candidates", f"{name}: {c}={share!r}; a share is from 0 to 1")
        shares.append(float(share))
    total = sum(shares)
    if not math.isclose(total, 1.0, abs_tol=max(SHARE_TOLERANCE, RESOLUTION / 2)):
        raise OptionError(
            "candidates", f"{name}: the shares sum to {total:.6g}; they must sum to 1"
        )
    return rounded(np.array(shares))


__all__ = [
    "OBJECTIVES",
    "AllocationResult",
    "gains_table",
    "optimise_allocation",
    "project",
    "rounded",
]
