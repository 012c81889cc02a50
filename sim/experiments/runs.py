"""Experiments: replications of a scenario, and paired comparisons of scenarios.

`run` executes a scenario for several replications (independent streams spawned from the
scenario seed) and returns tidy tables. `compare` runs a base and alternatives on the same
seeds — common random numbers — and reports paired differences with 95% intervals, which
are far narrower than the unpaired ones because both runs share the noise that does not
depend on the scenario.

Each replication is one task of `sim.experiments.parallel`: in this process, on a local Dask cluster
(``workers``) or on a Dask scheduler (``scheduler``). A replication is a pure function of
(scenario, seed, replication, engine), and the tables are assembled by scenario then
replication whatever order the tasks finish in, so they are the same for any workers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Unpack

import numpy as np
import pandas as pd

from sim.customer_log import check_size
from sim.errors import CXMError, OptionError
from sim.experiments import parallel
from sim.market import FIRM_COLUMN as FIRM
from sim.metrics import RETURNS, replication_outcomes
from sim.model import CXModel, check_fitted
from sim.scenario import Scenario
from sim.stats import mean_interval, summarise, welch_half_width

if TYPE_CHECKING:
    from sim.experiments.uncertainty import UncertainComparison
    from sim.experiments.uncertainty_spec import Uncertainty

Progress = Callable[[int], None]
"""Called with the number of months just simulated."""
Tables = tuple[
    pd.DataFrame,
    pd.DataFrame,
    pd.DataFrame,
    pd.DataFrame | None,
    pd.DataFrame | None,
    pd.DataFrame | None,
]
"""One replication's time series, touchpoint and segment tables, its customer log's
interactions and decisions (None without the log), and its switching flows (None with one
firm)."""


@dataclass(frozen=True)
class RunResult:
    """Tables of one scenario run over replications.

    Attributes:
        scenario: the resolved scenario.
        seed: the scenario seed used.
        timeseries: one row per replication × month, one column per metric.
        touchpoints: one row per replication × month × touchpoint.
        segments: one row per replication × month × segment.
        outcomes: one row per replication, headline metrics at the horizon and cumulative.
        summary: one row per outcome metric: mean, sd, 95% interval, n.
        customers: the customer log's interactions, one row per replication × month ×
            interaction (`sim.customer_log`); None unless the run kept the log.
        decisions: the customer log's decisions, one row per replication × month ×
            decision; None unless the run kept the log.
        switching: with several firms, the customers who left one firm and joined another
            at once, one row per replication × month × (from firm, to firm); None with one.
    """

    scenario: Scenario
    seed: int
    engine: str
    timeseries: pd.DataFrame
    touchpoints: pd.DataFrame
    segments: pd.DataFrame
    outcomes: pd.DataFrame
    summary: pd.DataFrame
    customers: pd.DataFrame | None = None
    decisions: pd.DataFrame | None = None
    switching: pd.DataFrame | None = None


def investment_returns(base: pd.DataFrame, alternative: pd.DataFrame) -> dict[str, float]:
    """ROI and payback of an alternative's extra investment against a base (one replication).

    Args:
        base: the base scenario's time series (one replication).
        alternative: the alternative's time series, same replication and seed.

    Returns:
        incremental_npv: alternative profit NPV less the base's (investment deducted);
        roi: incremental NPV per unit of extra investment (present values), NaN when the
        alternative invests no more than the base;
        payback_month: first month from which the cumulative incremental profit stays
        non-negative to the horizon, NaN if it never does.
    """
    gain = alternative["profit"].to_numpy() - base["profit"].to_numpy()
    factor = alternative["discount_factor"].to_numpy()
    incremental_npv = float((gain * factor).sum())
    extra = float(
        ((alternative["investment_cost"] - base["investment_cost"]).to_numpy() * factor).sum()
    )
    cumulative = np.cumsum(gain)
    negative = np.flatnonzero(cumulative < 0)
    if len(negative) == 0:
        payback = float(alternative["month"].iloc[0]) if gain.any() else float("nan")
    elif negative[-1] + 1 < len(cumulative):
        payback = float(alternative["month"].iloc[negative[-1] + 1])
    else:
        payback = float("nan")
    return {
        "incremental_npv": incremental_npv,
        "roi": incremental_npv / extra if extra > 0 else float("nan"),
        "payback_month": payback,
    }


def run_replication(
    scenario: Scenario,
    seed: int,
    replication: int,
    engine: str = "vector",
    progress: Progress | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate one replication to the horizon; its time series and touchpoint table."""
    model = finished_model(scenario, seed, replication, engine, progress, history=False)
    return _tables(model)[:2]


def finished_model(
    scenario: Scenario,
    seed: int,
    replication: int,
    engine: str = "vector",
    progress: Progress | None = None,
    history: bool = True,
    customer_log: bool = False,
) -> CXModel:
    """Simulate one replication to the horizon and return the finished model (with the
    agents engine, customers keep their journey history unless `history` is False; with
    `customer_log`, the model keeps the customer log, `CXModel.log`)."""
    model = CXModel(
        scenario,
        seed=seed,
        replication=replication,
        engine=engine,
        history=history,
        customer_log=customer_log,
    )
    while model.running:
        model.step()
        if progress is not None:
            progress(1)
    return model


def _tables(model: CXModel) -> Tables:
    """A finished replication's tables; with several firms, each firm's rows in firm order,
    named in a ``firm`` column."""
    ids = {"replication": model.replication, "seed": model.seed_value}
    customers, decisions = model.log.tables() if model.log is not None else (None, None)
    several = len(model.seats) > 1
    parts: list[list[pd.DataFrame]] = [[], [], []]
    for name, recorder in model.recorders():
        named = ids | ({FIRM: name} if several else {})
        parts[0].append(recorder.timeseries().assign(**named))
        parts[1].append(recorder.touchpoint_table().assign(**named))
        parts[2].append(recorder.segment_table().assign(**named))
    timeseries, touchpoints, segments = (
        frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True) for frames in parts
    )
    return timeseries, touchpoints, segments, customers, decisions, _switching(model, ids)


def _switching(model: CXModel, ids: dict[str, int]) -> pd.DataFrame | None:
    """A finished replication's switching flows, one row per month × (from firm, to firm),
    in firm order (None with one firm)."""
    if len(model.seats) == 1:
        return None
    names = [seat.name for seat in model.seats]
    pairs = [(a, b) for a in range(len(names)) for b in range(len(names)) if a != b]
    return pd.DataFrame(
        [
            ids
            | {
                "month": month,
                "from_firm": names[a],
                "to_firm": names[b],
                "customers": int(flows[a, b]),
            }
            for month, flows in enumerate(model.switching, start=1)
            for a, b in pairs
        ]
    )


class Replication(NamedTuple):
    """One task: replication `replication` of the scenario at index `scenario`."""

    scenario: int
    replication: int


class Replications(NamedTuple):
    """What every replication task of one job shares.

    Attributes:
        scenarios: the scenarios, indexed by `Replication.scenario`.
        seed: the seed of every replication.
        engine: the model engine.
        progress: called with months simulated, as they are; only when the tasks run in
            this process (a callback does not travel to a worker).
        customer_log: whether each replication keeps the customer log.
    """

    scenarios: tuple[Scenario, ...]
    seed: int
    engine: str
    progress: Progress | None = None
    customer_log: bool = False


def replication_tables(context: Replications, task: Replication) -> Tables:
    """Simulate one replication to the horizon; its time series, touchpoint and segment
    tables (a top-level function of (shared, task), as `sim.experiments.parallel` runs it)."""
    scenario = context.scenarios[task.scenario]
    model = finished_model(
        scenario,
        context.seed,
        task.replication,
        context.engine,
        context.progress,
        history=False,
        customer_log=context.customer_log,
    )
    return _tables(model)


def replicate(
    pool: parallel.Pool,
    scenarios: Sequence[Scenario],
    replications: int,
    seed: int,
    engine: str = "vector",
    progress: Progress | None = None,
    customer_log: bool = False,
) -> list[RunResult]:
    """Run every scenario for `replications` replications on an open
    `sim.experiments.parallel.pool`.

    Every scenario runs replication r on stream r of `seed` (common random numbers). Each
    scenario × replication is one task; the tables are assembled by scenario, then
    replication, whatever order the tasks finish in.

    Args:
        pool: where the replications run (see `sim.experiments.parallel.pool`).
        scenarios: the validated scenarios.
        replications: replications of each scenario (at least 1).
        seed: the seed of every replication.
        engine: the model engine, ``"vector"`` or ``"agents"``.
        progress: optional callback receiving months simulated (in this process: month by
            month; on a cluster: a replication's months when it finishes).
        customer_log: keep every replication's customer log (`RunResult.customers` and
            `RunResult.decisions`, in replication order).

    Returns:
        One `RunResult` per scenario, in the order given.

    Raises:
        ValueError: fewer than one replication.
        ScenarioError: a scenario with an unfitted `profile` (before anything runs).
    """
    replications = _checked_replications(replications)
    scenarios = tuple(scenarios)
    for scenario in scenarios:
        check_fitted(scenario)
    live = progress if pool.in_process else None
    context = Replications(scenarios, seed, engine, live, customer_log)
    tasks = [Replication(i, r) for i in range(len(scenarios)) for r in range(replications)]
    done: dict[Replication, Tables] = {}

    def keep(task: Replication, tables: Tables) -> None:
        done[task] = tables
        if progress is not None and live is None:
            progress(scenarios[task.scenario].months)

    pool.execute(replication_tables, context, tasks, keep)
    return [
        _run_result(scenario, seed, engine, [done[Replication(i, r)] for r in range(replications)])
        for i, scenario in enumerate(scenarios)
    ]


def _checked_replications(replications: int) -> int:
    """`replications` as an int.

    Raises:
        ValueError: fewer than one.
    """
    replications = int(replications)
    if replications < 1:
        raise ValueError(f"replications: got {replications}; must be at least 1")
    return replications


def _run_result(scenario: Scenario, seed: int, engine: str, tables: list[Tables]) -> RunResult:
    """A scenario's result from its replications' tables, in replication order."""
    several = FIRM in tables[0][0].columns
    outcomes = [
        {"replication": r, "seed": seed} | firm | replication_outcomes(series)
        for r, t in enumerate(tables)
        for firm, series in (
            (({FIRM: name}, part) for name, part in t[0].groupby(FIRM, sort=False))
            if several
            else [({}, t[0])]
        )
    ]
    timeseries, touchpoints, segments = (
        _ids_first(pd.concat([t[i] for t in tables], ignore_index=True)) for i in range(3)
    )
    customers, decisions, switching = (
        None if tables[0][i] is None else pd.concat([t[i] for t in tables], ignore_index=True)
        for i in (3, 4, 5)
    )
    outcome_table = pd.DataFrame(outcomes)
    summary = summarise(
        outcome_table.drop(columns=["replication", "seed"]), by=FIRM if several else None
    )
    return RunResult(
        scenario,
        seed,
        engine,
        timeseries,
        touchpoints,
        segments,
        outcome_table,
        summary,
        customers,
        decisions,
        switching,
    )


def run(
    scenario: Scenario,
    replications: int | None = None,
    seed: int | None = None,
    engine: str = "vector",
    progress: Progress | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    *,
    customer_log: bool = False,
    force: bool = False,
    **execution: Unpack[parallel.ExecutionOptions],
) -> RunResult:
    """Run a scenario for several replications.

    Args:
        scenario: the validated scenario.
        replications: how many (default `scenario.replications`).
        seed: the scenario seed (default `scenario.seed`); replication r uses the r-th
            stream spawned from it, so results do not depend on how many run, in which
            order or where.
        engine: the model engine, ``"vector"`` or ``"agents"``.
        progress: optional callback receiving months simulated.
        workers: local worker processes, one replication per task (default: one per core,
            but fewer than `sim.experiments.parallel.SERIAL_BELOW` replications run in this process;
            1: in this process).
        scheduler: address of a running Dask scheduler instead of local workers.
        customer_log: also keep every customer's interactions and decisions
            (`RunResult.customers`, `RunResult.decisions`; see `sim.customer_log`); the
            other tables are the same with or without it.
        force: keep the customer log even when its estimated size exceeds
            `sim.customer_log.LOG_LIMIT_BYTES`.
        execution: where Dask runs (`sim.experiments.parallel.ExecutionOptions`).

    Raises:
        ValueError: fewer than one replication.
        CXMError: bad execution options (before anything runs).
        OptionError: a customer log estimated above the limit without `force`, or `force`
            without `customer_log` (before anything runs).
    """
    replications = _checked_replications(
        scenario.replications if replications is None else replications
    )
    seed = scenario.seed if seed is None else int(seed)
    check_customer_log(scenario, replications, customer_log, force)
    with parallel.pool(workers, scheduler, replications, **execution) as where:
        return replicate(where, [scenario], replications, seed, engine, progress, customer_log)[0]


def check_customer_log(
    scenario: Scenario, replications: int, customer_log: bool, force: bool
) -> None:
    """Refuse `force` without `customer_log`, and a log estimated above its limit without
    `force` (`sim.customer_log.check_size`).

    Raises:
        OptionError: naming ``force`` or ``customer_log``.
    """
    if force and not customer_log:
        raise OptionError(
            "force",
            "only with {customer_log} (it lets a customer log past its size limit)",
            ("customer_log",),
        )
    if customer_log:
        check_size(scenario, replications, force)


def _ids_first(frame: pd.DataFrame) -> pd.DataFrame:
    first = ["replication", "seed", *([FIRM] if FIRM in frame.columns else []), "month"]
    return frame[first + [c for c in frame.columns if c not in first]]


@dataclass(frozen=True)
class Comparison:
    """Paired comparison of alternatives against a base scenario.

    Attributes:
        runs: the run of each scenario, base first.
        paired: one row per alternative × replication: each outcome's difference alt − base.
        summary: one row per alternative × outcome: base and alternative means, the mean
            paired difference with its 95% interval, and the unpaired interval half-width
            for reference.
    """

    runs: list[RunResult]
    paired: pd.DataFrame
    summary: pd.DataFrame


def compare(
    base: Scenario,
    *alternatives: Scenario,
    replications: int | None = None,
    seed: int | None = None,
    engine: str = "vector",
    progress: Progress | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    uncertainty: Uncertainty | str | Path | None = None,
    samples: int | None = None,
    **execution: Unpack[parallel.ExecutionOptions],
) -> Comparison | UncertainComparison:
    """Run base and alternatives with common random numbers; paired differences.

    Every scenario runs replication r on the same stream of the same seed (the base's seed
    unless given), so each difference is paired by replication. Each scenario ×
    replication is one task; `workers`, `scheduler` and `execution` (where Dask runs,
    `sim.experiments.parallel.ExecutionOptions`) are as in `run` (fewer than
    `sim.experiments.parallel.SERIAL_BELOW` tasks run in this process unless a worker count is
    given), and the tables do not depend on them.

    With `uncertainty` (an uncertainty file, or a loaded
    `sim.experiments.uncertainty_spec.Uncertainty`) the comparison is repeated across parameter
    sets of its uncertain assumptions (`samples` of them, default the file's) and an
    `UncertainComparison` is returned instead
    (`sim.experiments.uncertainty.compare_uncertain`).

    Raises:
        ValueError: no alternative, or fewer than one replication.
        CXMError: bad execution options (before anything runs); with `uncertainty`, a bad
            uncertainty file; `samples` without `uncertainty`.
    """
    if uncertainty is not None:
        from sim.experiments.uncertainty import compare_uncertain

        return compare_uncertain(
            base,
            *alternatives,
            uncertainty=uncertainty,
            samples=samples,
            replications=replications,
            seed=seed,
            engine=engine,
            progress=progress,
            workers=workers,
            scheduler=scheduler,
            **execution,
        )
    if samples is not None:
        raise OptionError("samples", "only with {uncertainty}", ("uncertainty",))
    if not alternatives:
        raise ValueError("compare needs at least one alternative scenario")
    replications = _checked_replications(
        base.replications if replications is None else replications
    )
    seed = base.seed if seed is None else int(seed)
    scenarios = [base, *alternatives]
    tasks = len(scenarios) * replications
    with parallel.pool(workers, scheduler, tasks, **execution) as where:
        runs = replicate(where, scenarios, replications, seed, engine, progress)
    return paired_comparison(runs)


def paired_comparison(runs: list[RunResult]) -> Comparison:
    """Paired differences of finished runs on the same seed: each alternative (`runs[1:]`)
    against the base (`runs[0]`), replication by replication (and firm by firm, with
    several firms), with the returns of each alternative's extra investment; what `compare`
    reports once it has run them.

    Raises:
        CXMError: the runs do not name the same firms.
    """
    keys = [FIRM, "replication"] if FIRM in runs[0].outcomes.columns else ["replication"]
    base_outcomes = runs[0].outcomes.set_index(keys)
    paired_rows, summary_rows = [], []
    base_series = dict(iter(runs[0].timeseries.groupby(keys, sort=False)))
    for alt_run in runs[1:]:
        if _firm_names(alt_run) != _firm_names(runs[0]):
            raise CXMError(
                f"compare: {alt_run.scenario.name} names the firms {_firm_names(alt_run)}, "
                f"{runs[0].scenario.name} {_firm_names(runs[0])}; paired differences need the "
                "same firms, in the same order"
            )
        alt_outcomes = alt_run.outcomes.set_index(keys)
        metrics = [c for c in base_outcomes.columns if c != "seed"]
        diff = alt_outcomes[metrics] - base_outcomes[metrics]
        rows = []
        for key, series in alt_run.timeseries.groupby(keys, sort=False):
            named = dict(zip(keys, key, strict=True))
            rows.append(named | investment_returns(base_series[key], series))
        returns = pd.DataFrame(rows).set_index(keys)
        diff = diff.join(returns[list(RETURNS)])
        paired_rows.append(diff.reset_index().assign(alternative=alt_run.scenario.name))
        groups = [((), diff, alt_outcomes, base_outcomes)]
        if len(keys) > 1:
            groups = [
                ({FIRM: firm}, diff.xs(firm), alt_outcomes.xs(firm), base_outcomes.xs(firm))
                for firm in _firm_names(runs[0])
            ]
        for firm, d_part, alt_part, base_part in groups:
            for metric in [*metrics, *RETURNS]:
                d = mean_interval(d_part[metric])
                if metric in RETURNS:  # defined only for the pair
                    a = b = np.full(len(d_part), np.nan)
                else:
                    a, b = alt_part[metric].to_numpy(), base_part[metric].to_numpy()
                summary_rows.append(
                    {"alternative": alt_run.scenario.name}
                    | dict(firm)
                    | {
                        "metric": metric,
                        "base_mean": _nanmean(b),
                        "alternative_mean": _nanmean(a),
                        "difference": d["mean"],
                        "ci_low": d["ci_low"],
                        "ci_high": d["ci_high"],
                        "unpaired_half_width": welch_half_width(a, b),
                        "n": d["n"],
                    }
                )
    paired = pd.concat(paired_rows, ignore_index=True)
    first = ["alternative", *keys]
    paired = paired[[*first, *[c for c in paired if c not in first]]]
    return Comparison(runs, paired, pd.DataFrame(summary_rows))


def _firm_names(run: RunResult) -> list[str]:
    """The firms of a run's outcomes, in firm order ([] with one firm)."""
    if FIRM not in run.outcomes.columns:
        return []
    return list(dict.fromkeys(run.outcomes[FIRM]))


def _nanmean(values: np.ndarray) -> float:
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if len(finite) else float("nan")
