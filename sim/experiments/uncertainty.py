"""Comparisons across uncertain assumptions: how sure are we that an alternative is better?

A paired comparison (`sim.experiments.runs.compare`) reports 95 % intervals of random noise:
how far the mean difference would move with other random draws. With enough replications on
common random numbers they are narrow, and they say nothing about the assumptions the model
rests on. On the firm side many of those are plausibility choices (docs/model.md §15.4,
§15.5): what a capability level costs and how fast it comes and goes, what a level, a
recovered complaint or a redesign is worth. They move the answer far more than noise does.

An uncertainty file (`sim.experiments.uncertainty_spec`) names such assumptions by their
dotted scenario paths, each a range with a distribution. A study (`plan_study`, then
`run_study`; `compare_uncertain` does both):

1. draws `samples` parameter sets by Latin hypercube (McKay, Beckman & Conover 1979), from its
   own seed sequence (`sim.purposes.UNCERTAIN_DESIGN`);
2. adds the **median set** (every assumption at its median) and, for each assumption, two
   **one-at-a-time sets**: the median set with that assumption at its 5th and at its 95th
   percentile — a tornado of which assumptions move the answer most;
3. applies each set to every compared scenario, base and alternatives alike, and runs every
   scenario × set × replication on the same seed and replication streams (common random
   numbers), so differences between sets come from the assumptions, not from luck;
4. pairs each alternative with the base within each set (`paired_comparison`), and reports,
   across the drawn sets, the median and the 5–95 % range of the incremental profit NPV,
   ROI, payback month, Δ retention of the initial customers and Δ true NPS; the share of
   sets in which each difference is positive; and the share in which the alternative has the
   highest profit NPV of all the compared scenarios.

The comparison at the median set is kept whole: its paired interval is the noise of the
replications, which the output sets beside the spread across assumptions. The first says
how precisely the simulation answered the question for one set of assumptions; the second,
how much the answer depends on assumptions nobody has calibrated — what "how sure are we"
means.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Unpack

import numpy as np
import pandas as pd

from sim import purposes
from sim.errors import OptionError, ScenarioError, check_whole
from sim.experiments import parallel
from sim.experiments.designs import MAX_DESIGN_SAMPLES, Design, Parameter, make_design, to_values
from sim.experiments.runs import Comparison, Progress, paired_comparison, replicate
from sim.experiments.sweep_spec import MAX_RUNS
from sim.experiments.uncertainty_spec import (
    MIN_SAMPLES,
    Uncertainty,
    check_scenarios,
    load_uncertainty,
)
from sim.scenario import Scenario, with_overrides
from sim.streams import purpose_key

LOW_QUANTILE, MEDIAN_QUANTILE, HIGH_QUANTILE = 0.05, 0.5, 0.95
"""Where an assumption's distribution is read for the one-at-a-time sets."""
RANGE_PERCENTILES = (5.0, 95.0)
"""The ends of the reported range across parameter sets, in percent."""
SUMMARY_METRICS = ("profit_npv", "roi", "payback_month", "retention_of_initial", "nps_true")
"""The paired outcomes summarised across sets: the profit NPV difference (the incremental
NPV), the ROI and payback month of the extra investment, and the differences of retention of
the initial customers and true NPS."""
SIGNED_METRICS = ("profit_npv", "roi", "retention_of_initial", "nps_true")
"""Summary metrics whose sign is the answer (so `probability_positive` is reported)."""
TORNADO_METRICS = ("profit_npv", "roi")
"""The paired outcomes of the one-at-a-time sets (the tornado)."""


@dataclass(frozen=True)
class UncertainStudy:
    """A validated study, ready to run (`run_study`).

    Attributes:
        uncertainty: the assumptions and their ranges.
        scenarios: the compared scenarios as given, base first.
        replications: replications of every scenario in every set.
        seed: the seed of every run; it also seeds the design.
        design: the drawn parameter sets (a Latin hypercube), in draw order.
        sets: every parameter set run, in order: the drawn ones, the median set, then for
            each assumption its low and its high one-at-a-time set.
        grid: for each set, the scenarios with its values applied (base first).
    """

    uncertainty: Uncertainty
    scenarios: tuple[Scenario, ...]
    replications: int
    seed: int
    design: Design
    sets: tuple[dict[str, Any], ...]
    grid: tuple[tuple[Scenario, ...], ...]

    @property
    def samples(self) -> int:
        """Drawn parameter sets (the median set is the next one)."""
        return len(self.design)

    @property
    def runs(self) -> int:
        """Runs in the study: sets × scenarios × replications."""
        return len(self.sets) * len(self.scenarios) * self.replications

    @property
    def months(self) -> int:
        """Months the study simulates, for a progress bar."""
        return len(self.sets) * self.replications * sum(s.months for s in self.scenarios)

    @property
    def design_seed(self) -> dict[str, Any]:
        """The seed sequence of the design, as a manifest records it."""
        return {"entropy": self.seed, "spawn_key": [purpose_key(purposes.UNCERTAIN_DESIGN)]}

    def one_at_a_time(self, parameter: str) -> tuple[int, int]:
        """The indices in `sets` of an assumption's low and high set."""
        j = list(self.uncertainty.parameters).index(parameter)
        return self.samples + 1 + 2 * j, self.samples + 2 + 2 * j


def plan_study(
    base: Scenario,
    *alternatives: Scenario,
    uncertainty: Uncertainty | str | Path,
    samples: int | None = None,
    replications: int | None = None,
    seed: int | None = None,
) -> UncertainStudy:
    """Validate a study and draw its parameter sets, before anything runs.

    Args:
        base, alternatives: the compared scenarios.
        uncertainty: the assumptions (`Uncertainty`, or the path of an uncertainty file).
        samples: parameter sets to draw (default: the file's).
        replications: of every scenario in every set (default: the base's).
        seed: of every run and of the design (default: the file's, else the base's).

    Raises:
        ValueError: no alternative.
        ScenarioError: a bad uncertainty file, an assumption a scenario cannot take, or a
            parameter set that is invalid for a scenario.
        OptionError: `samples` or `replications` out of range, or more than `MAX_RUNS` runs.
    """
    if not alternatives:
        raise ValueError("compare needs at least one alternative scenario")
    if not isinstance(uncertainty, Uncertainty):
        uncertainty = load_uncertainty(uncertainty)
    spec = uncertainty.spec
    drawn = spec.samples if samples is None else samples
    drawn = check_whole("samples", drawn, MIN_SAMPLES, MAX_DESIGN_SAMPLES)
    replications = base.replications if replications is None else replications
    replications = check_whole("replications", replications, 1, MAX_RUNS)
    seed = int(seed if seed is not None else spec.seed if spec.seed is not None else base.seed)
    scenarios = (base, *alternatives)
    check_scenarios(uncertainty, scenarios)
    runs = uncertainty.set_count(drawn) * len(scenarios) * replications
    if runs > MAX_RUNS:
        how = (
            f"({drawn:,} drawn + 1 median + {2 * len(uncertainty.parameters)} one-at-a-time "
            f"sets) × {len(scenarios)} scenarios × {replications:,} replications = {runs:,} "
            f"runs; at most {MAX_RUNS:,}"
        )
        if samples is None:
            raise ScenarioError(uncertainty.source, "samples", drawn, how)
        raise OptionError("samples", f"got {drawn:,}: {how}")
    design_seed = np.random.SeedSequence(seed, spawn_key=(purpose_key(purposes.UNCERTAIN_DESIGN),))
    design = make_design(uncertainty.parameters, "latin_hypercube", drawn, design_seed)
    sets = (*design.samples, *_one_at_a_time(uncertainty.parameters))
    grid = tuple(applied(uncertainty, scenarios, values, k) for k, values in enumerate(sets))
    return UncertainStudy(uncertainty, scenarios, replications, seed, design, sets, grid)


def _one_at_a_time(parameters: Mapping[str, Parameter]) -> list[dict[str, Any]]:
    """The median set, then each assumption's low and high set (the others at the median)."""
    quantiles = np.array([LOW_QUANTILE, MEDIAN_QUANTILE, HIGH_QUANTILE])
    values = {name: to_values(p, quantiles) for name, p in parameters.items()}
    median = {name: v[1] for name, v in values.items()}
    sets = [median]
    for name, (low, _, high) in values.items():
        sets += [median | {name: low}, median | {name: high}]
    return sets


def applied(
    uncertainty: Uncertainty, scenarios: tuple[Scenario, ...], values: dict[str, Any], k: int
) -> tuple[Scenario, ...]:
    """`scenarios` with the values of parameter set `k` of `uncertainty`.

    Raises:
        ScenarioError: at ``parameters`` of the uncertainty file, naming the set and the
            scenario in which its values together are invalid.
    """
    done = []
    for scenario in scenarios:
        try:
            done.append(with_overrides(scenario, values))
        except ScenarioError as exc:
            raise ScenarioError(
                uncertainty.source,
                "parameters",
                values,
                f"parameter set {k} together is not valid in scenario {scenario.name}: at "
                f"{exc.path}: {exc.allowed}",
            ) from None
    return tuple(done)


@dataclass(frozen=True)
class UncertainComparison:
    """A comparison across uncertain assumptions.

    Attributes:
        study: what ran: scenarios, assumptions, parameter sets, seed, replications.
        sets: one row per drawn set × alternative: ``set``, ``alternative``, the set's value
            of every assumption (a column per path), the mean paired difference of every
            outcome and of ``roi`` and ``payback_month`` over the replications (a column per
            metric, as `Comparison.summary`'s ``difference``), ``base_profit_npv`` and
            ``alternative_profit_npv`` (means, cu), and ``best``: the alternative's profit NPV
            is higher than every other compared scenario's in that set.
        summary: one row per alternative × metric of `SUMMARY_METRICS`: ``median``, ``p05``
            and ``p95`` across the drawn sets, ``n`` (sets in which the metric is defined),
            ``probability_positive`` (share of those sets with a difference above 0; NaN for
            the payback month), ``probability_best`` (share of sets in which the alternative
            has the highest profit NPV), and at the median set ``median_set_difference``
            (the mean paired difference) and ``noise_half_width`` (half its paired 95 %
            interval over the replications).
        tornado: one row per alternative × metric of `TORNADO_METRICS` × assumption:
            ``low_value`` and ``high_value`` (its 5th and 95th percentiles), ``low`` and
            ``high`` (the mean paired difference with it there and every other assumption
            at its median), ``median`` (at the median set), ``swing`` (``|high − low|``) and
            ``rank`` (1: the widest swing of that alternative and metric); sorted by rank.
        median: the paired comparison at the median set.
    """

    study: UncertainStudy
    sets: pd.DataFrame
    summary: pd.DataFrame
    tornado: pd.DataFrame
    median: Comparison

    @property
    def alternatives(self) -> list[str]:
        return [s.name for s in self.study.scenarios[1:]]


def run_study(
    study: UncertainStudy,
    engine: str = "vector",
    progress: Progress | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    dashboard: bool = False,
    tls_ca_file: str | Path | None = None,
    tls_cert: str | Path | None = None,
    tls_key: str | Path | None = None,
) -> UncertainComparison:
    """Run every scenario × set × replication of a study on common random numbers and
    summarise it. Each run is one task of `sim.experiments.parallel`; `workers`,
    `scheduler`, `dashboard` and the TLS files (the keys of
    `sim.experiments.parallel.ExecutionOptions`) are as in `sim.experiments.runs.run`, and the
    tables do not depend on them.

    Raises:
        CXMError: bad execution options (before anything runs).
    """
    flat = [scenario for scenarios in study.grid for scenario in scenarios]
    tls = {"tls_ca_file": tls_ca_file, "tls_cert": tls_cert, "tls_key": tls_key}
    tasks = len(flat) * study.replications
    with parallel.pool(workers, scheduler, tasks, dashboard=dashboard, **tls) as where:
        runs = replicate(where, flat, study.replications, study.seed, engine, progress)
    width = len(study.scenarios)
    comparisons = [
        paired_comparison(runs[k * width : (k + 1) * width]) for k in range(len(study.sets))
    ]
    median = comparisons[study.samples]
    sets = _sets_table(study, comparisons[: study.samples])
    return UncertainComparison(
        study, sets, _summary(study, sets, median), _tornado(study, comparisons), median
    )


def compare_uncertain(
    base: Scenario,
    *alternatives: Scenario,
    uncertainty: Uncertainty | str | Path,
    samples: int | None = None,
    replications: int | None = None,
    seed: int | None = None,
    engine: str = "vector",
    progress: Progress | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    **execution: Unpack[parallel.ExecutionOptions],
) -> UncertainComparison:
    """Compare alternatives with a base across uncertain assumptions: `plan_study`, then
    `run_study` (see there for the arguments and errors); `execution`: where Dask runs
    (`sim.experiments.parallel.ExecutionOptions`)."""
    parallel.check_options(workers, scheduler, **execution)
    study = plan_study(
        base,
        *alternatives,
        uncertainty=uncertainty,
        samples=samples,
        replications=replications,
        seed=seed,
    )
    return run_study(study, engine, progress, workers, scheduler, **execution)


def _differences(comparison: Comparison) -> pd.DataFrame:
    """The mean paired difference of every metric: alternatives × metrics."""
    summary = comparison.summary
    return summary.pivot(index="alternative", columns="metric", values="difference")


def _sets_table(study: UncertainStudy, comparisons: list[Comparison]) -> pd.DataFrame:
    rows = []
    names = [s.name for s in study.scenarios]
    for k, comparison in enumerate(comparisons):
        differences = _differences(comparison)
        npv = comparison.summary[comparison.summary["metric"] == "profit_npv"]
        means = {names[0]: float(npv["base_mean"].iloc[0])}
        means |= dict(zip(npv["alternative"], npv["alternative_mean"].astype(float), strict=True))
        for alternative in names[1:]:
            rivals = max(v for name, v in means.items() if name != alternative)
            rows.append(
                {"set": k, "alternative": alternative}
                | study.sets[k]
                | differences.loc[alternative].to_dict()
                | {
                    "base_profit_npv": means[names[0]],
                    "alternative_profit_npv": means[alternative],
                    "best": means[alternative] > rivals,
                }
            )
    return pd.DataFrame(rows)


def _summary(study: UncertainStudy, sets: pd.DataFrame, median: Comparison) -> pd.DataFrame:
    at_median = median.summary.set_index(["alternative", "metric"])
    rows = []
    for alternative in (s.name for s in study.scenarios[1:]):
        part = sets[sets["alternative"] == alternative]
        for metric in SUMMARY_METRICS:
            values = part[metric].to_numpy(dtype=np.float64)
            defined = values[~np.isnan(values)]
            p05, middle, p95 = (
                np.percentile(defined, [RANGE_PERCENTILES[0], 50.0, RANGE_PERCENTILES[1]])
                if len(defined)
                else (math.nan,) * 3
            )
            positive = float((defined > 0).mean()) if len(defined) else math.nan
            noise = at_median.loc[(alternative, metric)]
            rows.append(
                {
                    "alternative": alternative,
                    "metric": metric,
                    "median": float(middle),
                    "p05": float(p05),
                    "p95": float(p95),
                    "n": len(defined),
                    "probability_positive": positive if metric in SIGNED_METRICS else math.nan,
                    "probability_best": float(part["best"].mean()),
                    "median_set_difference": float(noise["difference"]),
                    "noise_half_width": float(noise["ci_high"] - noise["ci_low"]) / 2,
                }
            )
    return pd.DataFrame(rows)


def _tornado(study: UncertainStudy, comparisons: list[Comparison]) -> pd.DataFrame:
    alternatives = [s.name for s in study.scenarios[1:]]
    at_median = _differences(comparisons[study.samples])
    rows = []
    for parameter in study.uncertainty.parameters:
        low_set, high_set = study.one_at_a_time(parameter)
        low, high = _differences(comparisons[low_set]), _differences(comparisons[high_set])
        for a, alternative in enumerate(alternatives):
            for m, metric in enumerate(TORNADO_METRICS):
                at_low, at_high = low.at[alternative, metric], high.at[alternative, metric]
                rows.append(
                    {
                        "alternative": alternative,
                        "metric": metric,
                        "parameter": parameter,
                        "low_value": study.sets[low_set][parameter],
                        "high_value": study.sets[high_set][parameter],
                        "low": float(at_low),
                        "high": float(at_high),
                        "median": float(at_median.at[alternative, metric]),
                        "swing": abs(float(at_high) - float(at_low)),
                        "_a": a,
                        "_m": m,
                    }
                )
    table = pd.DataFrame(rows).sort_values(
        ["_a", "_m", "swing"], ascending=[True, True, False], na_position="last", kind="stable"
    )
    table["rank"] = table.groupby(["_a", "_m"]).cumcount() + 1
    return table.drop(columns=["_a", "_m"]).reset_index(drop=True)
