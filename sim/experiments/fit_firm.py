"""Fit a firm: from the key figures its managers know to a calibrated scenario of the firm.

A scenario's `profile` states the firm as a strategist knows it: active customers, monthly
churn, NPS (or CSAT), revenue per customer, contacts per customer, the contact centre's
service level and the annual CX budget. `fit_firm` turns it into a scenario that runs as
that firm, in one step:

**Set directly** (no simulation needed):

- *size*: a market of `simulated_customers` customers (by default the smaller of the firm's
  customers and the reference firm's 6 000) at the scenario's initial customer share; when
  it is smaller than the firm, it stands in for it (`firm.scale.stands_for_customers`): the
  firm's own amounts are then written for the real firm and resolved to the stand-in's size,
  and the lump sums follow the stand-in's size (`sim.scenario.sizing`, docs/model.md §13.8);
- *service level*: the contact centre is staffed to `service_level` within
  `support.contact_centre.answer_within_seconds` (`target_service_level`);
- *CX budget*: what holding the capabilities at their levels costs a year
  (`firm.dynamics.holding_cost_per_customer` = budget ÷ 12 ÷ customers ÷ Σ level^κ, §8.5);
- *a steady start*: `warm_up_months` of warm-up (§2.4), so that the figures are matched in
  the steady state and month 1 is already there.

**Fitted by simulation**, one lever for each figure, all moved together:

| figure | lever | update |
|---|---|---|
| churn per month | each segment's `churn_per_month` × `k_churn` | `k ← k · target / measured` |
| contacts per customer | each touchpoint's `problem_probability` × `k_problems` (≤ 1) | same |
| revenue per customer | each segment's revenue and repeat-purchase value × `k_revenue` | same |
| NPS or CSAT (measured) | each touchpoint's `base_quality` + `δ` (in 0–1) | secant step on `δ` |

Each iteration runs `replications` replications of `FIT_MONTHS` months after the warm-up on
the same seed (common random numbers, so the measured figures move only because the levers
do) and measures the figures over those months: churn as churned ÷ active at the start of
the months, contacts (phone contacts with repeats, chats, self-service sessions) and revenue
per active customer, the NPS or CSAT the firm's surveys measure (their monthly mean). The
multiplicative updates are fixed-point iterations, exact for a figure proportional to its
lever; the levers interact (more problems lower satisfaction and so raise churn and lower
NPS), which the joint iteration absorbs. NPS and CSAT say how good the firm's experience is
against what its customers expect; the market's expectations are the scenario's, so their
lever is the quality the firm delivers (a shift of expectations would fade as they adapt to
experience, docs/model.md §5.5). The first step on `δ` assumes `NPS_PER_QUALITY` (or
`CSAT_PER_QUALITY`) per unit of quality, later steps use the secant through the last two
iterations, each step at most `MAX_QUALITY_STEP`. The fit stops when every figure is within
its tolerance (`TOLERANCE`) or after `max_iterations`; the fit table reports each figure's
target, the value reached with its 95 % interval over replications, and whether it is
within tolerance.

The replications of every iteration run as tasks of `sim.experiments.parallel` on one pool
opened for the whole fit, assembled in replication order, so the fit takes the same path
and ends at the same scenario for any number of workers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Unpack

import numpy as np
import pandas as pd

from sim.errors import ScenarioError, check_whole
from sim.experiments import parallel
from sim.experiments.runs import replicate
from sim.scenario import Profile, Scenario, with_overrides
from sim.scenario.fields import SEED_MAX
from sim.scenario.firm import CAPABILITIES
from sim.scenario.sizing import stand_in_factor
from sim.stats import mean_interval

FIT_MONTHS = 12
"""Months after the warm-up over which the figures are measured."""
NPS_PER_QUALITY = 200.0
"""First guess of the change of NPS per unit of delivered quality (points)."""
CSAT_PER_QUALITY = 4.0
"""First guess of the change of CSAT (1–5) per unit of delivered quality."""
MAX_QUALITY_STEP = 0.05
"""Largest change of the quality shift in one iteration (quality units)."""
TOLERANCE: dict[str, tuple[str, float]] = {
    "churn_per_month": ("relative", 0.02),
    "nps": ("absolute", 1.0),
    "csat": ("absolute", 0.02),
    "arpu_per_month": ("relative", 0.01),
    "contacts_per_customer_per_month": ("relative", 0.02),
}
"""How close each fitted figure must come to its target: relative or absolute error."""
MAX_ITERATIONS = 50
"""Most iterations a fit may be given."""
Progress = Callable[[int, float], None]
"""Called with (iterations so far, largest error as a share of its tolerance)."""


@dataclass(frozen=True)
class FirmFit:
    """A fitted firm and how well it fits.

    Attributes:
        scenario: the fitted scenario (runnable: no `profile`; its months and replications
            the input's).
        fit: one row per figure: ``figure``, ``target``, ``achieved`` (mean over
            replications), ``ci_low``, ``ci_high`` (95 %), ``error`` (achieved − target,
            relative for a relative tolerance), ``tolerance``, ``within``.
        levers: each lever's fitted value (``k_churn``, ``k_problems``, ``k_revenue``,
            ``quality_shift``) and the values set directly.
        history: one row per iteration: the levers and the figures measured.
        iterations: iterations run.
        stand_in: simulated customers ÷ the firm's customers (1: the market is the firm's).
    """

    scenario: Scenario
    fit: pd.DataFrame
    levers: dict[str, float]
    history: pd.DataFrame
    iterations: int
    stand_in: float

    @property
    def converged(self) -> bool:
        """Whether every figure is within its tolerance."""
        return bool(self.fit["within"].all())


def fit_firm(
    scenario: Scenario,
    replications: int = 4,
    seed: int | None = None,
    max_iterations: int = 15,
    progress: Progress | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    **execution: Unpack[parallel.ExecutionOptions],
) -> FirmFit:
    """Fit `scenario`'s `profile` (see the module docstring).

    Args:
        scenario: a scenario with a `profile` section.
        replications: runs per iteration (on the same seed every time).
        seed: the seed of every iteration (default: the scenario's).
        max_iterations: most iterations, 1 to `MAX_ITERATIONS`.
        progress: optional callback, see `Progress`.
        workers: local worker processes for each iteration's replications (default: one per
            core, but fewer than `sim.experiments.parallel.SERIAL_BELOW` replications run in
            this process; 1: in this process).
        scheduler: address of a running Dask scheduler instead of local workers.
        execution: where Dask runs (`sim.experiments.parallel.ExecutionOptions`).

    Raises:
        CXMError: (a `ScenarioError`) no profile, or a figure the scenario cannot show (a
            service level without a staffed contact centre, no initial customers); (an
            `OptionError`) a bad count or seed; all before anything runs.
    """
    replications = check_whole("replications", replications, 1, 1000)
    max_iterations = check_whole("max_iterations", max_iterations, 1, MAX_ITERATIONS)
    if seed is not None:
        seed = check_whole("seed", seed, 0, SEED_MAX)
    parallel.check_options(workers, scheduler, **execution)
    profile = scenario.profile
    if profile is None:
        raise ScenarioError(
            scenario.name, "profile", None, "no profile section: state the firm's key figures"
        )
    start = _direct(scenario, profile)
    targets = _targets(profile)
    seed = scenario.seed if seed is None else int(seed)
    levers = {"k_churn": 1.0, "k_problems": 1.0, "k_revenue": 1.0, "quality_shift": 0.0}
    rows: list[dict[str, float]] = []
    with parallel.pool(workers, scheduler, replications, **execution) as where:
        for iteration in range(1, max_iterations + 1):
            trial = with_overrides(_with_levers(start, levers), {"months": FIT_MONTHS})
            run = replicate(where, [trial], replications, seed)[0]
            measured = figures(run.timeseries)
            means = {name: float(values.mean()) for name, values in measured.items()}
            rows.append(levers | {f"measured_{n}": means[n] for n in targets})
            worst = max(_error(n, means[n], t) / TOLERANCE[n][1] for n, t in targets.items())
            if progress is not None:
                progress(iteration, worst)
            if worst <= 1.0 or iteration == max_iterations:
                break
            levers = _step(levers, targets, means, rows)
    fitted = _with_levers(start, levers)
    fit = _fit_table(targets, measured)
    fitted = with_overrides(
        fitted, {"name": f"{scenario.name}_fitted", "description": _description(profile, fit)}
    )
    direct = {
        "market.size": float(fitted.market.size),
        "firm.dynamics.holding_cost_per_customer": fitted.firm.dynamics.holding_cost_per_customer,
        "support.contact_centre.target_service_level": (
            fitted.support.contact_centre.target_service_level
        ),
    }
    return FirmFit(
        fitted, fit, levers | direct, pd.DataFrame(rows), len(rows), stand_in_factor(fitted)
    )


def figures(timeseries: pd.DataFrame) -> dict[str, pd.Series]:
    """Each figure a profile can state, per replication, over the months of `timeseries`:
    churn per month, revenue and contacts (phone contacts with repeats, chats, self-service
    sessions) per active customer per month, and the monthly mean of measured NPS and CSAT."""
    by = timeseries.groupby("replication")
    active = by["active_start"].sum()
    contacts = by[["contacts", "chat_contacts", "self_service_sessions"]].sum().sum(axis=1)
    return {
        "churn_per_month": by["churned"].sum() / active,
        "nps": by["nps_measured"].mean(),
        "csat": by["csat_measured"].mean(),
        "arpu_per_month": by["revenue"].sum() / active,
        "contacts_per_customer_per_month": contacts / active,
    }


def _targets(profile: Profile) -> dict[str, float]:
    """The figures the profile states, by name."""
    named = {name: getattr(profile, name) for name in TOLERANCE}
    return {name: float(value) for name, value in named.items() if value is not None}


def _direct(scenario: Scenario, profile: Profile) -> Scenario:
    """The scenario with what the profile sets without simulation: size, stand-in, warm-up,
    service level, holding cost; the profile itself removed."""
    share = scenario.market.initial_customers
    if share <= 0:
        raise ScenarioError(
            scenario.name, "market.initial_customers", share,
            "a firm to fit needs customers at month 0 (a share above 0)",
        )  # fmt: skip
    simulated = profile.simulated_customers
    if simulated is None:
        simulated = min(profile.customers, scenario.firm.scale.reference_customers)
    size = max(round(simulated / share), 1)
    changes: dict[str, Any] = {
        "profile": None,
        "market.size": size,
        "market.warm_up_months": profile.warm_up_months,
        "firm.scale.stands_for_customers": (
            None if math.isclose(size * share, profile.customers, rel_tol=1e-9)
            else profile.customers
        ),
    }  # fmt: skip
    if profile.service_level is not None:
        if scenario.support.mode == "service_level":
            raise ScenarioError(
                scenario.name, "profile.service_level", profile.service_level,
                "a service level needs a staffed contact centre: support.mode simpy or erlang",
            )  # fmt: skip
        changes["support.contact_centre.target_service_level"] = profile.service_level
    if profile.cx_budget_per_year is not None:
        dynamics = scenario.firm.dynamics
        held = sum(scenario.capability(c) ** dynamics.holding_cost_exponent for c in CAPABILITIES)
        if held <= 0:
            raise ScenarioError(
                scenario.name, "profile.cx_budget_per_year", profile.cx_budget_per_year,
                "every capability is at level 0: there is nothing for a CX budget to hold",
            )  # fmt: skip
        per_customer = profile.cx_budget_per_year / 12.0 / profile.customers / held
        changes["firm.dynamics.holding_cost_per_customer"] = per_customer
    return with_overrides(scenario, changes)


def _with_levers(scenario: Scenario, levers: dict[str, float]) -> Scenario:
    """`scenario` with the levers applied to every segment and touchpoint."""
    segments = []
    for segment in scenario.market.segments:
        data = segment.model_dump()
        data["churn_per_month"] = min(data["churn_per_month"] * levers["k_churn"], 1.0)
        data["revenue_per_month"] *= levers["k_revenue"]
        data["repeat_purchase_value"] *= levers["k_revenue"]
        segments.append(data)
    touchpoints = {}
    for name, touchpoint in scenario.touchpoints.items():
        data = touchpoint.model_dump()
        data["problem_probability"] = min(data["problem_probability"] * levers["k_problems"], 1.0)
        quality = data["base_quality"] + levers["quality_shift"]
        data["base_quality"] = float(np.clip(quality, 0.0, 1.0))
        touchpoints[name] = data
    return with_overrides(scenario, {"market.segments": segments, "touchpoints": touchpoints})


def _error(name: str, value: float, target: float) -> float:
    """Distance of `value` from `target` in the figure's tolerance units (relative or
    absolute); infinite for a figure that could not be measured."""
    if not math.isfinite(value):
        return math.inf
    kind, _ = TOLERANCE[name]
    return abs(value - target) / abs(target) if kind == "relative" else abs(value - target)


def _step(
    levers: dict[str, float],
    targets: dict[str, float],
    measured: dict[str, float],
    history: list[dict[str, float]],
) -> dict[str, float]:
    """The levers of the next iteration (see the module docstring)."""
    new = dict(levers)
    ratios = {
        "churn_per_month": "k_churn",
        "contacts_per_customer_per_month": "k_problems",
        "arpu_per_month": "k_revenue",
    }
    for figure, lever in ratios.items():
        if figure in targets and measured[figure] > 0:
            new[lever] = levers[lever] * targets[figure] / measured[figure]
    for score, guess in (("nps", NPS_PER_QUALITY), ("csat", CSAT_PER_QUALITY)):
        if score in targets and math.isfinite(measured[score]):
            slope = guess
            if len(history) >= 2:
                before, now = history[-2], history[-1]
                run = now["quality_shift"] - before["quality_shift"]
                rise = now[f"measured_{score}"] - before[f"measured_{score}"]
                if run != 0 and rise / run > 0:
                    slope = rise / run
            step = (targets[score] - measured[score]) / slope
            step = float(np.clip(step, -MAX_QUALITY_STEP, MAX_QUALITY_STEP))
            new["quality_shift"] = levers["quality_shift"] + step
    return new


def _fit_table(targets: dict[str, float], measured: dict[str, pd.Series]) -> pd.DataFrame:
    """One row per fitted figure: target, value reached with its 95 % interval, error."""
    rows = []
    for name, target in targets.items():
        interval = mean_interval(measured[name])
        mean = interval["mean"]
        kind, tolerance = TOLERANCE[name]
        error = mean - target
        if kind == "relative":
            error /= abs(target)
        rows.append(
            {
                "figure": name,
                "target": target,
                "achieved": mean,
                "ci_low": interval["ci_low"],
                "ci_high": interval["ci_high"],
                "error": error,
                "tolerance": f"{tolerance:g} {kind}",
                "within": bool(abs(error) <= tolerance),
            }
        )
    return pd.DataFrame(rows)


def _description(profile: Profile, fit: pd.DataFrame) -> str:
    """The fitted scenario's description: what it stands for and how well it fits."""
    reached = ", ".join(
        f"{r.figure} {r.achieved:.4g} (target {r.target:g})" for r in fit.itertuples()
    )
    return (
        f"Fitted to a firm of {profile.customers:,.0f} customers over {FIT_MONTHS} months "
        f"after a {profile.warm_up_months}-month warm-up: {reached}."
    )
