"""Experiments: replications of a scenario, and paired comparisons of scenarios.

`run` executes a scenario for several replications (independent streams spawned from the
scenario seed) and returns tidy tables. `compare` runs a base and alternatives on the same
seeds — common random numbers — and reports paired differences with 95% intervals, which
are far narrower than the unpaired ones because both runs share the noise that does not
depend on the scenario.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.model import CXModel
from sim.scenario import Scenario
from sim.stats import mean_interval, summarise, welch_half_width

AT_HORIZON = (
    "active",
    "churn_rate",
    "satisfaction_mean",
    "nps_true",
    "nps_measured",
    "csat_true",
    "csat_measured",
    "ces_true",
    "ces_measured",
    "clv",
)
"""Metrics reported as their value in the last month."""

HEADLINE = (
    "active",
    "retention_of_initial",
    "churned_total",
    "acquired_total",
    "revenue_total",
    "profit_total",
    "profit_npv",
    "nps_true",
    "nps_measured",
    "csat_measured",
    "ces_measured",
)
"""The outcomes a strategist looks at first, in table order."""

RETURN_METRICS = ("roi", "payback_month")
"""Pairwise measures of an alternative's extra investment (see `investment_returns`)."""

Progress = Callable[[int], None]
"""Called with the number of months just simulated."""


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
    """

    scenario: Scenario
    seed: int
    engine: str
    timeseries: pd.DataFrame
    touchpoints: pd.DataFrame
    segments: pd.DataFrame
    outcomes: pd.DataFrame
    summary: pd.DataFrame


def replication_outcomes(timeseries: pd.DataFrame) -> dict[str, float]:
    """Headline outcomes of one replication from its time series."""
    last = timeseries.iloc[-1]
    initial = timeseries["active_start"].iloc[0]
    outcomes = {name: float(last[name]) for name in AT_HORIZON}
    outcomes |= {
        "retention_of_initial": float(last["initial_customers_active"] / initial)
        if initial
        else float("nan"),
        "churned_total": float(timeseries["churned"].sum()),
        "acquired_total": float(timeseries["acquired"].sum()),
        "revenue_total": float(timeseries["revenue"].sum()),
        "profit_total": float(timeseries["profit"].sum()),
        "profit_npv": float(last["npv_to_date"]),
        "churn_rate_mean": float(timeseries["churn_rate"].mean()),
        "investment_total": float(timeseries["investment_cost"].sum()),
        "investment_pv": float(
            (timeseries["investment_cost"] * timeseries["discount_factor"]).sum()
        ),
    }
    return outcomes


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
    model = simulate(scenario, seed, replication, engine, progress, history=False)
    return _tables(model)[:2]


def simulate(
    scenario: Scenario,
    seed: int,
    replication: int,
    engine: str = "vector",
    progress: Progress | None = None,
    history: bool = True,
) -> CXModel:
    """Simulate one replication to the horizon and return the finished model (with the
    agents engine, customers keep their journey history unless `history` is False)."""
    model = CXModel(scenario, seed=seed, replication=replication, engine=engine, history=history)
    while model.running:
        model.step()
        if progress is not None:
            progress(1)
    return model


def _tables(model: CXModel) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    ids = {"replication": model.replication, "seed": model.seed_value}
    recorder = model.recorder
    return (
        recorder.timeseries().assign(**ids),
        recorder.touchpoint_table().assign(**ids),
        recorder.segment_table().assign(**ids),
    )


def run(
    scenario: Scenario,
    replications: int | None = None,
    seed: int | None = None,
    engine: str = "vector",
    progress: Progress | None = None,
) -> RunResult:
    """Run a scenario for several replications.

    Args:
        scenario: the validated scenario.
        replications: how many (default `scenario.replications`).
        seed: the scenario seed (default `scenario.seed`); replication r uses the r-th
            stream spawned from it, so results do not depend on how many run or in which
            order.
        engine: the model engine, ``"vector"`` or ``"agents"``.
        progress: optional callback receiving months simulated.
    """
    replications = scenario.replications if replications is None else int(replications)
    if replications < 1:
        raise ValueError(f"replications: got {replications}; must be at least 1")
    seed = scenario.seed if seed is None else int(seed)
    tables: list[tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]] = []
    outcomes = []
    for r in range(replications):
        model = simulate(scenario, seed, r, engine, progress, history=False)
        tables.append(_tables(model))
        outcomes.append({"replication": r, "seed": seed} | replication_outcomes(tables[-1][0]))
    timeseries, touchpoints, segments = (
        _ids_first(pd.concat([t[i] for t in tables], ignore_index=True)) for i in range(3)
    )
    outcome_table = pd.DataFrame(outcomes)
    summary = summarise(outcome_table.drop(columns=["replication", "seed"]))
    return RunResult(
        scenario, seed, engine, timeseries, touchpoints, segments, outcome_table, summary
    )


def _ids_first(frame: pd.DataFrame) -> pd.DataFrame:
    first = ["replication", "seed", "month"]
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
) -> Comparison:
    """Run base and alternatives with common random numbers; paired differences.

    Every scenario runs replication r on the same stream of the same seed (the base's seed
    unless given), so each difference is paired by replication.
    """
    if not alternatives:
        raise ValueError("compare needs at least one alternative scenario")
    replications = base.replications if replications is None else int(replications)
    seed = base.seed if seed is None else int(seed)
    runs = [run(s, replications, seed, engine, progress) for s in (base, *alternatives)]
    base_outcomes = runs[0].outcomes.set_index("replication")
    paired_rows, summary_rows = [], []
    base_series = dict(iter(runs[0].timeseries.groupby("replication")))
    for alt_run in runs[1:]:
        alt_outcomes = alt_run.outcomes.set_index("replication")
        metrics = [c for c in base_outcomes.columns if c != "seed"]
        diff = alt_outcomes[metrics] - base_outcomes[metrics]
        returns = pd.DataFrame(
            {
                r: investment_returns(base_series[r], series)
                for r, series in alt_run.timeseries.groupby("replication")
            }
        ).T
        diff = diff.join(returns[list(RETURN_METRICS)])
        paired_rows.append(diff.reset_index().assign(alternative=alt_run.scenario.name))
        for metric in [*metrics, *RETURN_METRICS]:
            d = mean_interval(diff[metric])
            if metric in RETURN_METRICS:  # defined only for the pair
                a = b = np.full(len(diff), np.nan)
            else:
                a, b = alt_outcomes[metric].to_numpy(), base_outcomes[metric].to_numpy()
            summary_rows.append(
                {
                    "alternative": alt_run.scenario.name,
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
    paired = paired[
        [
            "alternative",
            "replication",
            *[c for c in paired if c not in ("alternative", "replication")],
        ]
    ]
    return Comparison(runs, paired, pd.DataFrame(summary_rows))


def _nanmean(values: np.ndarray) -> float:
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if len(finite) else float("nan")
