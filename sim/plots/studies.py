"""Figures of studies: sensitivity indices, PRIM boxes, and the simulation docked to closed forms.

Each function takes a table (or result) the project produces and returns a
`matplotlib.figure.Figure` built without pyplot, so nothing is left in pyplot's global state
and no display is needed; a notebook shows the returned figure, a script saves it with
``fig.savefig(path)``.

- `sobol_indices`, `morris_indices`: the sensitivity table of a Sobol' or Morris sweep
  (``result.sensitivity`` of `sim.experiments.sweep.run_sweep`, or ``sensitivity.parquet``).
- `prim_boxes`, `prim_tradeoff`: a `sim.experiments.prim.PrimResult` (from
  `sim.experiments.discover.discover` or `sim.experiments.prim.prim`), with the inputs it was
  found in for the ranges of the parameters.
- `survival_docking`, `bass_docking`, `erlang_docking`: the simulation against its closed
  forms (the set-ups of ``tests/test_docking.py`` and ``tests/contact_centre``): geometric
  survival, Bass diffusion (`sim.customers.rules.bass_cumulative`) and the Erlang C/A queue
  (`sim.support.contact_centre.erlang`). Each shows the simulated and the closed-form
  values on top and their difference below.
- `diffusion_curves`: adoption on several word-of-mouth networks against the Bass curve.
- `interval_widths`: how the width of a 95 % interval falls with replications, and how much
  common random numbers narrow a paired comparison.
- `customer_base_forecasts`: the forecasts of customer-base models (sBG survival, BG/NBD
  purchases) against what the simulated customers did.

Bad input (a missing column, an unknown outcome, an empty table, a box that does not exist)
raises `ValueError` naming what is missing and what was expected.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from sim.customers.rules import bass_cumulative
from sim.experiments.prim import PrimResult
from sim.plots.labels import outcome_name, outcome_unit
from sim.support.contact_centre.erlang import SECONDS_PER_HOUR, QueueMetrics, erlang_a, erlang_c

__all__ = [
    "bass_docking",
    "customer_base_forecasts",
    "diffusion_curves",
    "erlang_docking",
    "interval_widths",
    "morris_indices",
    "prim_boxes",
    "prim_tradeoff",
    "sobol_indices",
    "survival_docking",
]

PANEL_COLUMNS = 3
"""Most panels side by side in a figure of one panel per outcome or box."""

SIMULATED, CLOSED_FORM, DEVIATION = "simulated", "closed form", "simulated − closed form"
"""Labels of a docking figure's lines (also its legend entries)."""

SOBOL_COLUMNS = ("outcome", "parameter", "S1", "S1_conf", "ST", "ST_conf")
MORRIS_COLUMNS = ("outcome", "parameter", "mu_star", "mu_star_conf", "sigma")

QUEUE_LABELS = {
    "service_level": ("Service level", "share answered within {target:g} s, 0–1", "share"),
    "asa_seconds": ("Average speed of answer", "seconds, answered calls", "seconds"),
    "abandon_rate": ("Abandonment", "share of offered calls, 0–1", "share"),
    "p_wait": ("Probability of waiting", "share of offered calls, 0–1", "share"),
    "mean_wait_seconds": ("Mean wait of all callers", "seconds", "seconds"),
    "occupancy": ("Agent occupancy", "share of agent time, 0–1", "share"),
    "mean_queue_length": ("Mean queue length", "calls waiting", "calls"),
}
"""The contact-centre metrics `erlang_docking` can show (fields of `QueueMetrics`): title,
axis unit, unit of the difference."""
QUEUE_METRICS = ("service_level", "asa_seconds", "abandon_rate")
"""The metrics `erlang_docking` shows by default."""


# ---------------------------------------------------------------------------- sensitivity


def sobol_indices(sensitivity: pd.DataFrame, outcome: str | Sequence[str] | None = None) -> Figure:
    """First-order and total Sobol' indices of each parameter, one panel per outcome.

    For each parameter two horizontal bars: S1, the share of the outcome's variance due to the
    parameter alone, and ST, the share it takes part in, interactions included (ST − S1 is
    its interaction share); each with its bootstrap 95% confidence half-width as an error
    bar. Parameters are listed top to bottom in the table's (design) order, the same in every
    panel. An outcome whose indices are undefined (it does not vary, or is missing for some
    sample) gets a panel that says so.

    Args:
        sensitivity: the sensitivity table of a Sobol' sweep, one row per outcome ×
            parameter with columns outcome, parameter, S1, S1_conf, ST, ST_conf
            (``run_sweep(...).sensitivity`` or ``sensitivity.parquet``).
        outcome: the outcome(s) to show (default: every outcome of the table, in order).

    Returns:
        A figure of one panel per outcome. x axis: share of the outcome's variance (0–1,
        no unit); y axis: the parameters (dotted scenario paths).

    Raises:
        ValueError: `sensitivity` is not such a table (e.g. a Morris table or None), is
            empty, or lacks an asked outcome.
    """
    table = _table("sensitivity", sensitivity, SOBOL_COLUMNS, "a Sobol' sweep's sensitivity")
    outcomes = _outcomes(table, outcome)
    fig, axes = _panels(len(outcomes), width=5.2, height=0.9 + 0.55 * _parameter_count(table))
    for ax, name in zip(axes, outcomes, strict=True):
        rows = table[table["outcome"] == name]
        y = np.arange(len(rows), dtype=np.float64)
        if rows[["S1", "ST"]].isna().all().all():
            _undefined(ax)
        else:
            half = 0.38
            for column, shift, colour, text in (
                ("S1", -half / 2, "C0", "first order S1 (alone)"),
                ("ST", half / 2, "C1", "total ST (with interactions)"),
            ):
                ax.barh(
                    y + shift,
                    rows[column].to_numpy(np.float64),
                    height=half,
                    xerr=rows[f"{column}_conf"].to_numpy(np.float64),
                    color=colour,
                    ecolor="0.25",
                    capsize=2,
                    label=text,
                )
            ax.axvline(0.0, color="0.5", linewidth=0.8)
        ax.set_yticks(y, rows["parameter"].astype(str).tolist())
        ax.invert_yaxis()
        ax.set_xlabel("Share of the outcome's variance (0–1)")
        ax.set_title(f"Sobol' indices: {outcome_name(name)}")
    _figure_legend(fig, axes)
    return fig


def morris_indices(sensitivity: pd.DataFrame, outcome: str | Sequence[str] | None = None) -> Figure:
    """Morris screening: μ* against σ of each parameter, one panel per outcome.

    Each parameter is a point at (μ*, σ): μ* is the mean absolute elementary effect (small
    means unimportant), σ the spread of the effects (large means the effect changes with the
    point of the input space: non-linear or interacting). The horizontal error bar is μ*'s
    bootstrap 95% confidence half-width. The dashed line σ = μ* separates parameters whose
    effect is mostly steady (below) from those whose effect varies by as much as it averages
    (above). Points are labelled with the parameter's name.

    Args:
        sensitivity: the sensitivity table of a Morris sweep, one row per outcome ×
            parameter with columns outcome, parameter, mu_star, mu_star_conf, sigma
            (``run_sweep(...).sensitivity`` or ``sensitivity.parquet``; mu is not shown).
        outcome: the outcome(s) to show (default: every outcome of the table, in order).

    Returns:
        A figure of one panel per outcome. Both axes in the outcome's unit per full range of
        a parameter (effects are measured in unit coordinates, so parameters compare):
        x axis μ*, y axis σ.

    Raises:
        ValueError: `sensitivity` is not such a table (e.g. a Sobol' table or None), is
            empty, or lacks an asked outcome.
    """
    table = _table("sensitivity", sensitivity, MORRIS_COLUMNS, "a Morris sweep's sensitivity")
    outcomes = _outcomes(table, outcome)
    fig, axes = _panels(len(outcomes), width=5.8, height=4.8)
    for ax, name in zip(axes, outcomes, strict=True):
        rows = table[table["outcome"] == name]
        mu_star = rows["mu_star"].to_numpy(np.float64)
        sigma = rows["sigma"].to_numpy(np.float64)
        if np.isnan(mu_star).all():
            _undefined(ax)
        else:
            ax.errorbar(
                mu_star,
                sigma,
                xerr=rows["mu_star_conf"].to_numpy(np.float64),
                fmt="o",
                color="C0",
                ecolor="0.4",
                capsize=3,
                label="parameter (μ* ± 95% interval)",
            )
            for x, y, text in zip(mu_star, sigma, rows["parameter"].astype(str), strict=True):
                if np.isfinite(x) and np.isfinite(y):
                    ax.annotate(
                        text, (x, y), xytext=(4, 4), textcoords="offset points", fontsize="small"
                    )
            top = float(np.nanmax(np.concatenate([mu_star, sigma])))
            top = top if np.isfinite(top) and top > 0 else 1.0
            ax.plot([0.0, top], [0.0, top], linestyle="--", color="0.6", label="σ = μ*")
            ax.set_xlim(left=0.0)
            ax.set_ylim(bottom=0.0)
            ax.legend(loc="best", fontsize="small")
            ax.xaxis.set_major_locator(MaxNLocator(5))
        unit = outcome_unit(name) or "outcome units"
        ax.set_xlabel(
            f"μ*: mean absolute elementary effect\n({unit} per full range of a parameter)"
        )
        ax.set_ylabel(
            f"σ: spread of the elementary effects\n({unit} per full range of a parameter)"
        )
        ax.set_title(f"Morris screening: {outcome_name(name)}")
    return fig


# ---------------------------------------------------------------------------- PRIM


def prim_boxes(discovery: PrimResult, inputs: pd.DataFrame, box: int | None = None) -> Figure:
    """The parameters a PRIM box restricts: its range of each against the full range.

    One row per restricted parameter: a grey bar for the parameter's full range in the cases
    (normalised to 0–1) and a coloured bar for the part of it the box keeps, with the box's
    limits written at the ends it restricts (in the parameter's own unit); the full range
    is given under the parameter's name. The title gives the box's coverage, density and
    mass. This is the EMA Workbench's box inspection plot, drawn from the project's result.

    Args:
        discovery: a PRIM result (`sim.experiments.discover.discover` or
            `sim.experiments.prim.prim`).
        inputs: the cases PRIM searched, with a column per input of the result
            (``discovery.inputs``): the sweep's runs table (``run_sweep(...).runs`` or
            ``runs.parquet``; only its ok runs are used, as `discover` does, when it has
            a status column) or the frame given to `prim`. The full range of each
            parameter is its lowest and highest value there.
        box: the box to show, its index in ``discovery.boxes`` (0 for the first); default:
            every box, one panel each.

    Returns:
        A figure of one panel per box shown. x axis: position within the parameter's range
        in the cases (0 = its lowest value, 1 = its highest; no unit); y axis: the
        restricted parameters.

    Raises:
        ValueError: the result has no box or not the asked one, or `inputs` lacks an input.
    """
    chosen = _chosen_boxes(discovery, box)
    low, high = _input_ranges(discovery, inputs)
    restricted = max((len(discovery.boxes[i].limits) for i in chosen), default=1)
    fig, axes = _panels(len(chosen), width=6.4, height=2.2 + 0.65 * max(restricted, 1))
    for ax, index in zip(axes, chosen, strict=True):
        found = discovery.boxes[index]
        names = list(found.limits)
        y = np.arange(len(names), dtype=np.float64)
        if not names:
            ax.text(
                0.5, 0.5, "the box restricts no parameter", transform=ax.transAxes,
                ha="center", va="center", color="0.4",
            )  # fmt: skip
        ax.barh(y, np.ones(len(names)), left=0.0, height=0.5, color="0.88", label="full range")
        lefts, rights = [], []
        for name in names:
            lo, hi = found.limits[name]
            lefts.append(_normalised(lo, low[name], high[name], 0.0))
            rights.append(_normalised(hi, low[name], high[name], 1.0))
        ax.barh(
            y,
            np.subtract(rights, lefts),
            left=lefts,
            height=0.5,
            color="C0",
            label="range in the box",
        )
        for row, name in enumerate(names):
            lo, hi = found.limits[name]
            if lo is not None:
                ax.annotate(
                    f"{lo:.4g}", (lefts[row], row), xytext=(-3, 9), textcoords="offset points",
                    ha="right", fontsize="small",
                )  # fmt: skip
            if hi is not None:
                ax.annotate(
                    f"{hi:.4g}", (rights[row], row), xytext=(3, 9), textcoords="offset points",
                    ha="left", fontsize="small",
                )  # fmt: skip
        ticks = [f"{n}\n({low[n]:.4g} to {high[n]:.4g})" for n in names]
        ax.set_yticks(y, ticks)
        ax.set_ylim(max(len(names), 1) - 0.4, -0.6)
        ax.set_xlim(-0.05, 1.05)
        ax.set_xlabel("Position in the parameter's full range (0 = lowest, 1 = highest)")
        ax.set_title(
            f"Box {index + 1}: coverage {found.coverage:.2f}, density {found.density:.2f}, "
            f"mass {found.mass:.2f}"
        )
    _figure_legend(fig, axes)
    return fig


def prim_tradeoff(discovery: PrimResult, box: int | None = None) -> Figure:
    """The peeling and pasting trajectory of PRIM: coverage against density at each step.

    Each step of the trajectory is a point at (coverage, density), coloured by how many
    parameters the step's box restricts; peeling moves from the whole input space (coverage
    1, density of all cases) towards small dense boxes. The box chosen is circled; the dashed
    line is the share of all cases that are of interest, the density of no box at all.

    Args:
        discovery: a PRIM result (`sim.experiments.discover.discover` or
            `sim.experiments.prim.prim`); its ``trajectories`` (columns coverage, density,
            restricted) and ``boxes``.
        box: the box whose trajectory to show, its index in ``discovery.boxes`` (0 for the
            first); default: every box, one panel each.

    Returns:
        A figure of one panel per box, and a colour bar of the number of restricted
        parameters. x axis: coverage (share of all cases of interest inside the box, 0–1);
        y axis: density (share of the box's cases that are of interest, 0–1).

    Raises:
        ValueError: the result has no box or not the asked one, or a trajectory lacks a
            column.
    """
    chosen = _chosen_boxes(discovery, box)
    trajectories = [
        _table(
            f"trajectory of box {i + 1}",
            discovery.trajectories[i] if i < len(discovery.trajectories) else None,
            ("coverage", "density", "restricted"),
            "PRIM's peeling trajectory",
        )
        for i in chosen
    ]
    most = max(int(t["restricted"].max()) for t in trajectories)
    norm = BoundaryNorm(np.arange(-0.5, most + 1.5), ncolors=most + 1)
    cmap = mpl.colormaps["viridis"].resampled(most + 1)
    fig, axes = _panels(len(chosen), width=5.4, height=4.4)
    points = None
    base = discovery.of_interest / discovery.cases if discovery.cases else math.nan
    for ax, index, trajectory in zip(axes, chosen, trajectories, strict=True):
        found = discovery.boxes[index]
        points = ax.scatter(
            trajectory["coverage"].to_numpy(np.float64),
            trajectory["density"].to_numpy(np.float64),
            c=trajectory["restricted"].to_numpy(np.int64),
            cmap=cmap,
            norm=norm,
            s=22,
            label="step of the trajectory",
        )
        ax.scatter(
            [found.coverage],
            [found.density],
            s=180,
            facecolors="none",
            edgecolors="C3",
            linewidths=1.8,
            label=f"box chosen ({len(found.limits)} restricted)",
        )
        ax.axhline(base, linestyle="--", color="0.5", label="share of all cases of interest")
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("Coverage (share of the cases of interest inside the box, 0–1)")
        ax.set_ylabel("Density (share of the box's cases of interest, 0–1)")
        ax.set_title(f"PRIM trade-off, box {index + 1}")
        ax.legend(loc="lower left", fontsize="small")
    bar = fig.colorbar(points, ax=list(axes), ticks=range(most + 1))
    bar.set_label("Parameters restricted")
    return fig


# ---------------------------------------------------------------------------- docking


def survival_docking(timeseries: pd.DataFrame, churn_per_month: float) -> Figure:
    """Share of the initial customers still active each month against geometric survival.

    With satisfaction effects, frailty and contract renewals switched off, every customer
    leaves with the same probability c each month, so the share of the initial customers
    still active after t months is S(t) = (1 − c)^t (the set-up of
    ``tests/test_docking.py``). Top: the simulated share (mean over replications) and S(t).
    Bottom: their difference, within a band of ± 2 binomial standard errors,
    ± 2·sqrt(S(1 − S) / (N·R)) for N initial customers and R replications, where the
    difference lies most months if the simulation docks.

    Args:
        timeseries: the time series of `sim.run` (``result.timeseries``): columns month,
            initial_customers_active, active_start (its first month is the initial
            customers) and, with several replications, replication.
        churn_per_month: the monthly churn probability c of the scenario's (single) segment,
            0 ≤ c < 1.

    Returns:
        A two-panel figure. x axis: months since the start; y axes: share of the initial
        customers still active (0–1), and its difference from the closed form (share).

    Raises:
        ValueError: a column missing, no rows, no initial customers, or c out of range.
    """
    _check_share("churn_per_month", churn_per_month)
    table = _table(
        "timeseries", timeseries, ("month", "initial_customers_active", "active_start"),
        "sim.run's time series",
    )  # fmt: skip
    frames = [g.sort_values("month") for _, g in _by_replication(table)]
    initial = np.array([float(g["active_start"].iloc[0]) for g in frames])
    if not (initial > 0).all():
        raise ValueError("timeseries: no initial customers (active_start of the first month is 0)")
    shares = pd.concat(
        [
            g.set_index("month")["initial_customers_active"].astype(np.float64) / n
            for g, n in zip(frames, initial, strict=True)
        ],
        axis=1,
    )
    month = shares.index.to_numpy(np.float64)
    simulated = shares.mean(axis=1).to_numpy(np.float64)
    expected = (1.0 - churn_per_month) ** month
    noise = 2.0 * np.sqrt(expected * (1.0 - expected) / (initial.mean() * len(frames)))
    fig = _docking(
        month,
        simulated,
        expected,
        band=noise,
        closed_label=f"closed form (1 − {churn_per_month:g})^t",
        xlabel="Months since the start",
        ylabel="Share of initial customers active (0–1)",
        deviation_label="Difference (share)",
        title="Survival of the initial customers against geometric survival",
    )
    return fig


def bass_docking(
    timeseries: pd.DataFrame,
    advertising_per_month: float,
    imitation_per_month: float,
    market_size: int,
) -> Figure:
    """Cumulative adoption against the Bass (1969) closed form.

    With no initial customers, no churn and word of mouth from customers, the share of the
    market that has adopted after t months follows F(t) of
    `sim.customers.rules.bass_cumulative` with p the advertising and q the imitation per
    month (the set-up of ``tests/test_docking.py``). The simulated share is the customers
    acquired to date over the market size (mean over replications). Top: the simulated
    share and F(t); bottom: their difference.

    Args:
        timeseries: the time series of `sim.run` (``result.timeseries``): columns month,
            acquired and, with several replications, replication.
        advertising_per_month: p, the monthly advertising hazard
            (``scenario.acquisition.advertising_per_month``), > 0.
        imitation_per_month: q, the monthly imitation (``...imitation_per_month``), ≥ 0.
        market_size: people in the market (``scenario.market.size``), > 0.

    Returns:
        A two-panel figure. x axis: months since the start; y axes: share of the market that
        has adopted (0–1), and its difference from the closed form (share).

    Raises:
        ValueError: a column missing, no rows, or a setting out of range.
    """
    _check_positive("advertising_per_month", advertising_per_month)
    if not _finite(imitation_per_month) or imitation_per_month < 0:
        raise ValueError(f"imitation_per_month: got {imitation_per_month!r}; must be ≥ 0")
    _check_positive("market_size", market_size)
    table = _table("timeseries", timeseries, ("month", "acquired"), "sim.run's time series")
    adopted = pd.concat(
        [
            g.sort_values("month").set_index("month")["acquired"].astype(np.float64).cumsum()
            / float(market_size)
            for _, g in _by_replication(table)
        ],
        axis=1,
    )
    month = adopted.index.to_numpy(np.float64)
    simulated = adopted.mean(axis=1).to_numpy(np.float64)
    expected = bass_cumulative(month, advertising_per_month, imitation_per_month)
    return _docking(
        month,
        simulated,
        expected,
        closed_label=f"Bass closed form (p = {advertising_per_month:g}, "
        f"q = {imitation_per_month:g})",
        xlabel="Months since the start",
        ylabel="Share of the market adopted (0–1)",
        deviation_label="Difference (share)",
        title="Cumulative adoption against the Bass model",
    )


def erlang_docking(
    simulated: pd.DataFrame,
    answer_within_seconds: float = 20.0,
    metrics: str | Sequence[str] = QUEUE_METRICS,
) -> Figure:
    """Simulated contact-centre metrics against Erlang C or Erlang A at several loads.

    Each row of `simulated` is one simulated period of the contact centre (e.g. one call
    of `sim.support.contact_centre.simulate` per load); its closed form is computed here at
    the row's arrival rate, handle time and agents: Erlang A
    (`sim.support.contact_centre.erlang.erlang_a`) when the row has a finite
    patience_seconds, Erlang C (`...erlang_c`) otherwise. Rows are drawn in order of their
    offered load per agent. One column of panels per metric: top, the simulated and the
    closed-form values; bottom, their difference.

    A table from the simulation: ``pd.DataFrame([{"calls_per_hour": c, "aht_seconds": 180,
    "agents": 12, "patience_seconds": 300} | dataclasses.asdict(simulate(c, 180, 12, 200,
    seed, 300).metrics) for c in (150, 200, 250)])``.

    Args:
        simulated: one row per simulated load with columns calls_per_hour, aht_seconds,
            agents, the metrics to show (fields of `QueueMetrics`: service_level,
            asa_seconds, abandon_rate, p_wait, mean_wait_seconds, occupancy,
            mean_queue_length) and optionally patience_seconds (missing, NaN or infinite:
            callers who never hang up).
        answer_within_seconds: the service-level target time the simulation used (seconds).
        metrics: the metric or metrics to show, one column of panels each.

    Returns:
        A figure of two rows of panels, one column per metric. x axis: offered load per
        agent (calls per hour × handle time ÷ 3,600 ÷ agents; erlangs per agent); y axes:
        the metric in its unit (shares 0–1, seconds, calls), and the difference in the
        same unit. An overloaded centre without abandonment has no finite Erlang C waits
        (those points are left out of the closed form's curve).

    Raises:
        ValueError: a column or a metric missing, an unknown metric, no rows, or settings
            the closed forms refuse (named by the closed form's message).
    """
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    unknown = [m for m in metrics if m not in QUEUE_LABELS]
    if unknown or not metrics:
        raise ValueError(f"metrics: got {list(metrics)!r}; choose among {', '.join(QUEUE_LABELS)}")
    table = _table(
        "simulated", simulated, ("calls_per_hour", "aht_seconds", "agents", *metrics),
        "simulated contact-centre metrics, one row per load",
    )  # fmt: skip
    if "patience_seconds" in table:
        patience = pd.to_numeric(table["patience_seconds"]).astype(np.float64).to_numpy()
        patience = np.where(np.isfinite(patience), patience, math.inf)
    else:
        patience = np.full(len(table), math.inf)
    rate = table["calls_per_hour"].to_numpy(np.float64)
    aht = table["aht_seconds"].to_numpy(np.float64)
    agents = table["agents"].to_numpy()
    closed = [
        _queue(r, h, int(n), p, answer_within_seconds)
        for r, h, n, p in zip(rate, aht, agents, patience, strict=True)
    ]
    load = rate * aht / SECONDS_PER_HOUR / agents.astype(np.float64)
    order = np.argsort(load, kind="stable")
    model = "Erlang A" if np.isfinite(patience).all() else "Erlang C"
    if np.isfinite(patience).any() and not np.isfinite(patience).all():
        model = "Erlang C/A"
    fig = Figure(figsize=(4.6 * len(metrics), 6.0), layout="constrained")
    axes = fig.subplots(2, len(metrics), sharex="col", squeeze=False, height_ratios=[2, 1])
    for column, metric in enumerate(metrics):
        title, unit, difference = QUEUE_LABELS[metric]
        unit = unit.format(target=answer_within_seconds)
        values = table[metric].to_numpy(np.float64)[order]
        exact = np.array([getattr(q, metric) for q in closed], dtype=np.float64)[order]
        _draw_docking(
            axes[0, column],
            axes[1, column],
            load[order],
            values,
            exact,
            closed_label=f"closed form ({model})",
            ylabel=f"{title} ({unit})",
            deviation_label=f"Difference ({difference})",
        )
        axes[0, column].set_title(title)
        axes[1, column].set_xlabel("Offered load per agent (erlangs per agent)")
    fig.suptitle(f"Simulated contact centre against {model}")
    return fig


# ---------------------------------------------------------------------------- helpers


def _table(name: str, frame: object, columns: Sequence[str], expected: str) -> pd.DataFrame:
    """`frame` if it is a non-empty DataFrame with `columns`; a ValueError naming what lacks."""
    needed = ", ".join(columns)
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(
            f"{name}: got {type(frame).__name__}; need {expected} as a DataFrame with "
            f"columns {needed}"
        )
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{name}: lacks the columns {', '.join(missing)}; need {expected} with columns "
            f"{needed} (it has {', '.join(map(str, frame.columns)) or 'none'})"
        )
    if frame.empty:
        raise ValueError(f"{name}: the table has no rows; need {expected}")
    return frame


def _outcomes(table: pd.DataFrame, outcome: str | Sequence[str] | None) -> list[str]:
    """The outcomes to draw: `outcome` (checked against the table) or all, in table order."""
    present = list(dict.fromkeys(table["outcome"].astype(str)))
    if outcome is None:
        return present
    asked = [outcome] if isinstance(outcome, str) else list(outcome)
    unknown = [o for o in asked if o not in present]
    if unknown or not asked:
        raise ValueError(
            f"outcome: {', '.join(map(repr, unknown)) or 'none given'} not in the "
            f"sensitivity table; it has {', '.join(present)}"
        )
    return asked


def _parameter_count(table: pd.DataFrame) -> int:
    return int(table.groupby("outcome")["parameter"].size().max())


def _panels(count: int, width: float, height: float) -> tuple[Figure, list[Axes]]:
    """A figure of `count` panels, at most `PANEL_COLUMNS` a row (no empty axes left)."""
    columns = min(count, PANEL_COLUMNS)
    rows = math.ceil(count / columns)
    fig = Figure(figsize=(width * columns, height * rows), layout="constrained")
    grid = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax in grid[count:]:
        ax.remove()
    return fig, list(grid[:count])


def _figure_legend(fig: Figure, axes: Sequence[Axes]) -> None:
    """One legend for the whole figure, below its panels, from the first panel with entries."""
    for ax in axes:
        handles, labels = ax.get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="outside lower center", ncols=len(handles))
            return


def _undefined(ax: Axes) -> None:
    ax.text(
        0.5, 0.5, "indices undefined: the outcome does not vary\nor is missing for some sample",
        transform=ax.transAxes, ha="center", va="center", color="0.4",
    )  # fmt: skip


def _chosen_boxes(discovery: PrimResult, box: int | None) -> list[int]:
    if not isinstance(discovery, PrimResult):
        raise ValueError(
            f"discovery: got {type(discovery).__name__}; need the PrimResult of "
            "sim.experiments.discover.discover or sim.experiments.prim.prim"
        )
    count = len(discovery.boxes)
    if count == 0:
        raise ValueError("discovery: found no box, so there is nothing to draw")
    if box is None:
        return list(range(count))
    if isinstance(box, bool) or not isinstance(box, int | np.integer) or not 0 <= box < count:
        raise ValueError(f"box: got {box!r}; the discovery has boxes 0 to {count - 1}")
    return [int(box)]


def _input_ranges(
    discovery: PrimResult, inputs: pd.DataFrame
) -> tuple[dict[str, float], dict[str, float]]:
    """Lowest and highest value of each input over the cases (ok runs of a sweep)."""
    table = _table("inputs", inputs, discovery.inputs, "the cases PRIM searched")
    if "status" in table:
        table = table[table["status"] == "ok"]
        if table.empty:
            raise ValueError("inputs: the runs table has no ok runs")
    return (
        {name: float(table[name].min()) for name in discovery.inputs},
        {name: float(table[name].max()) for name in discovery.inputs},
    )


def _normalised(value: float | None, low: float, high: float, default: float) -> float:
    """`value`'s position in [low, high] (0–1); `default` for an open side."""
    if value is None:
        return default
    if high <= low:
        return default
    return float(np.clip((value - low) / (high - low), 0.0, 1.0))


def _by_replication(table: pd.DataFrame) -> list[tuple[object, pd.DataFrame]]:
    if "replication" in table:
        return list(table.groupby("replication", sort=True))
    return [(0, table)]


def _docking(
    x: np.ndarray,
    simulated: np.ndarray,
    expected: np.ndarray,
    *,
    closed_label: str,
    xlabel: str,
    ylabel: str,
    deviation_label: str,
    title: str,
    band: np.ndarray | None = None,
) -> Figure:
    """A two-panel docking figure: the curves above, their difference below."""
    fig = Figure(figsize=(6.4, 6.0), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    _draw_docking(
        top, bottom, x, simulated, expected, closed_label=closed_label, ylabel=ylabel,
        deviation_label=deviation_label, band=band,
    )  # fmt: skip
    top.set_title(title)
    bottom.set_xlabel(xlabel)
    return fig


def _draw_docking(
    top: Axes,
    bottom: Axes,
    x: np.ndarray,
    simulated: np.ndarray,
    expected: np.ndarray,
    *,
    closed_label: str,
    ylabel: str,
    deviation_label: str,
    band: np.ndarray | None = None,
) -> None:
    top.plot(x, expected, color="0.2", linewidth=1.6, label=closed_label)
    top.plot(x, simulated, "o", color="C0", markersize=4, label=SIMULATED)
    top.set_ylabel(ylabel)
    top.legend(fontsize="small")
    with np.errstate(invalid="ignore"):
        difference = simulated - expected
    if band is not None:
        bottom.fill_between(
            x, -band, band, color="C0", alpha=0.15, linewidth=0, label="± 2 standard errors"
        )
    bottom.axhline(0.0, color="0.5", linewidth=0.8)
    bottom.plot(x, difference, "o-", color="C3", markersize=3, linewidth=1, label=DEVIATION)
    bottom.set_ylabel(deviation_label)
    bottom.legend(fontsize="small")


def _queue(rate: float, aht: float, agents: int, patience: float, target: float) -> QueueMetrics:
    """Erlang A (finite patience) or Erlang C of one load; a ValueError naming the row."""
    try:
        if math.isinf(patience):
            return erlang_c(rate, aht, agents, target)
        return erlang_a(rate, aht, agents, patience, target)
    except ValueError as exc:
        raise ValueError(
            f"simulated: the row with calls_per_hour={rate:g}, aht_seconds={aht:g}, "
            f"agents={agents} has no closed form ({exc})"
        ) from None


def _finite(value: object) -> bool:
    return (
        isinstance(value, int | float | np.number)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _check_positive(name: str, value: object) -> None:
    if not _finite(value) or value <= 0:
        raise ValueError(f"{name}: got {value!r}; must be a finite number > 0")


def _check_share(name: str, value: object) -> None:
    if not _finite(value) or not 0 <= value < 1:
        raise ValueError(f"{name}: got {value!r}; must lie in [0, 1) (a monthly probability)")


# ---------------------------------------------------------------------------- replications


def interval_widths(widths: pd.DataFrame, pairing: pd.DataFrame | None = None) -> Figure:
    """How the 95 % interval of a mean narrows with replications, and how much pairing helps.

    Left panel, on log–log axes: for each metric, the standard error of the mean of R
    replications (filled markers) and the half-width of its Student-t 95 % interval (open
    markers), both in units of the standard deviation of one replication, against R; with
    the reference lines 1/√R (the standard error of independent replications) and
    t₀.₉₇₅(R − 1)/√R (the half-width, wider for few replications because the t quantile
    is). Right panel (with `pairing`): for each comparison and metric, how many times
    narrower the paired (common random numbers) 95 % interval of the difference is than
    the unpaired one, on a log axis with 1 (no gain) marked.

    Args:
        widths: one row per metric × replications: ``metric`` (an outcome name, labelled by
            `sim.plots.labels.outcome_name`), ``replications`` (R ≥ 2), ``standard_error``
            and ``half_width``, both divided by the metric's standard deviation across
            replications (dimensionless, > 0).
        pairing: optional; one row per comparison × metric: ``comparison`` (a label),
            ``metric``, ``paired_half_width`` and ``unpaired_half_width`` (95 % half-widths
            of the difference, in the metric's unit, ≥ 0). A paired half-width of 0 (two
            identical scenarios) is drawn at the axis's right end, labelled "exact".

    Returns:
        A figure with one axes (x: replications R; y: width in standard deviations of one
        replication), or two with `pairing` (x: unpaired ÷ paired half-width, times; y: one
        row per comparison × metric).

    Raises:
        ValueError: a column missing, no rows, fewer than two replications, or a width that
            is not a positive finite number.
    """
    from scipy import stats

    table = _table(
        "widths", widths, ("metric", "replications", "standard_error", "half_width"),
        "interval widths by metric and replications",
    )  # fmt: skip
    counts = table["replications"].to_numpy(np.float64)
    values = table[["standard_error", "half_width"]].to_numpy(np.float64)
    if not (np.isfinite(counts).all() and (counts >= 2).all()):
        raise ValueError("widths: replications must be whole numbers ≥ 2")
    if not (np.isfinite(values).all() and (values > 0).all()):
        raise ValueError("widths: standard_error and half_width must be finite and > 0")
    panels = 1 if pairing is None else 2
    fig = Figure(figsize=(6.4 * panels, 4.8), layout="constrained")
    axes = fig.subplots(1, panels, squeeze=False).ravel()
    ax = axes[0]
    grid = np.geomspace(counts.min(), counts.max(), 50)
    ax.plot(grid, 1.0 / np.sqrt(grid), color="0.2", linewidth=1.4, label="1/√R")
    ax.plot(
        grid, stats.t.ppf(0.975, grid - 1.0) / np.sqrt(grid), color="0.2",
        linestyle="--", linewidth=1.2, label="t₀.₉₇₅(R − 1)/√R",
    )  # fmt: skip
    for index, (metric, part) in enumerate(table.groupby("metric", sort=False)):
        part = part.sort_values("replications")
        color = f"C{index % 10}"
        ax.plot(
            part["replications"], part["standard_error"], "o", color=color,
            label=f"{outcome_name(str(metric))}: standard error",
        )  # fmt: skip
        ax.plot(
            part["replications"], part["half_width"], "o", markerfacecolor="none",
            color=color, label=f"{outcome_name(str(metric))}: 95 % half-width",
        )  # fmt: skip
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(sorted(set(counts)), labels=[f"{c:g}" for c in sorted(set(counts))])
    ax.set_xlabel("Replications R")
    ax.set_ylabel("Width (standard deviations of one replication)")
    ax.set_title("The interval of a mean narrows like 1/√R")
    ax.legend(fontsize="x-small", ncols=1)
    if pairing is not None:
        pairs = _table(
            "pairing", pairing,
            ("comparison", "metric", "paired_half_width", "unpaired_half_width"),
            "paired and unpaired half-widths by comparison and metric",
        )  # fmt: skip
        paired = pairs["paired_half_width"].to_numpy(np.float64)
        unpaired = pairs["unpaired_half_width"].to_numpy(np.float64)
        if not (np.isfinite(paired).all() and np.isfinite(unpaired).all()):
            raise ValueError("pairing: half-widths must be finite numbers")
        if (paired < 0).any() or (unpaired <= 0).any():
            raise ValueError("pairing: half-widths must be ≥ 0 (unpaired > 0)")
        exact = paired == 0
        ratio = np.divide(unpaired, paired, out=np.full(len(paired), np.nan), where=~exact)
        top = float(np.nanmax(ratio)) * 3.0 if (~exact).any() else 10.0
        shown = np.where(exact, top, ratio)
        right = axes[1]
        rows = np.arange(len(pairs))[::-1]
        right.barh(rows, shown - 1.0, left=1.0, color=np.where(exact, "0.7", "C0"), height=0.6)
        right.axvline(1.0, color="0.2", linewidth=1.0, linestyle="--", label="no gain (1×)")
        for row, value, is_exact in zip(rows, shown, exact, strict=True):
            right.annotate(
                "exact" if is_exact else f"{value:.1f}×", (value, row), xytext=(3, 0),
                textcoords="offset points", va="center", fontsize=8,
            )  # fmt: skip
        right.set_yticks(
            rows,
            labels=[
                f"{outcome_name(str(m))}\n{c}"
                for c, m in zip(pairs["comparison"], pairs["metric"], strict=True)
            ],
            fontsize=8,
        )
        right.set_xscale("log")
        right.set_xlim(0.5, top * 2.0)
        right.set_xlabel("Unpaired ÷ paired 95 % half-width of the difference (times)")
        right.set_title("Common random numbers narrow a comparison")
        right.legend(fontsize="small", loc="lower right")
    return fig


# ------------------------------------------------------------------- diffusion on networks

from sim.experiments.runs import RunResult  # noqa: E402


def diffusion_curves(
    runs: Sequence[RunResult], advertising_per_month: float, imitation_per_month: float
) -> Figure:
    """Cumulative adoption of several runs against the Bass (1969) curve, and each month's.

    Meant for the same diffusion market run on different social networks
    (``market.network``) or with different settings: no initial customers, no churn, word of
    mouth from customers. A run's adopted share in month t is the customers it acquired in
    months 1..t over its market size. Top: for each run (labelled by its scenario's name)
    the mean adopted share across replications with its Student-t 95 % band
    (`sim.stats.mean_interval`), and the Bass closed form F(t) of
    `sim.customers.rules.bass_cumulative` at p and q. Bottom: the share of the market
    adopting in each month (mean with its band) and the closed form's F(t) − F(t − 1).

    Args:
        runs: one or more results of `sim.run` (time series with columns replication,
            month, acquired), each with its scenario (for the market size and the name).
        advertising_per_month: p, the monthly advertising hazard, > 0.
        imitation_per_month: q, the monthly imitation, ≥ 0.

    Returns:
        A two-panel figure. x axis: months since the start; y axes: share of the market
        that has adopted (0–1), and share of the market adopting in the month (0–1).

    Raises:
        ValueError: no run, a column missing, or a setting out of range.
    """
    from sim.stats import mean_interval

    _check_positive("advertising_per_month", advertising_per_month)
    if not _finite(imitation_per_month) or imitation_per_month < 0:
        raise ValueError(f"imitation_per_month: got {imitation_per_month!r}; must be ≥ 0")
    runs = list(runs)
    if not runs:
        raise ValueError("runs: got none; pass one or more results of sim.run")
    fig = Figure(figsize=(8.0, 6.4), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    last = 0
    for run in runs:
        table = _table(
            "timeseries", run.timeseries, ("replication", "month", "acquired"),
            "sim.run's time series",
        )  # fmt: skip
        acquired = table.pivot(index="month", columns="replication", values="acquired")
        acquired = acquired.sort_index().astype(np.float64) / float(run.scenario.market.size)
        month = acquired.index.to_numpy(np.float64)
        last = max(last, int(month.max()))
        for ax, shares in ((top, acquired.cumsum()), (bottom, acquired)):
            band = pd.DataFrame([mean_interval(row) for _, row in shares.iterrows()])
            (line,) = ax.plot(
                month, band["mean"], marker="o", markersize=3, linewidth=1.2,
                label=run.scenario.name,
            )  # fmt: skip
            ax.fill_between(
                month, band["ci_low"], band["ci_high"], color=line.get_color(), alpha=0.2,
                linewidth=0,
            )  # fmt: skip
    grid = np.arange(0, last + 1, dtype=np.float64)
    closed = bass_cumulative(grid, advertising_per_month, imitation_per_month)
    label = f"Bass closed form (p = {advertising_per_month:g}, q = {imitation_per_month:g})"
    top.plot(grid, closed, color="0.2", linewidth=1.8, linestyle="--", label=label)
    bottom.plot(grid[1:], np.diff(closed), color="0.2", linewidth=1.8, linestyle="--", label=label)
    top.set_ylabel("Share of the market adopted (0–1)")
    bottom.set_ylabel("Share adopting in the month (0–1)")
    bottom.set_xlabel("Months since the start")
    top.legend(fontsize="small")
    top.set_title("Cumulative adoption against the Bass model (mean, 95 % interval)")
    return fig


# ------------------------------------------------------------------- customer-base models


def customer_base_forecasts(retention: pd.DataFrame, purchases: pd.DataFrame) -> Figure:
    """Forecasts of customer-base models against what the simulated customers did.

    Left: survival through a holdout period of the customers active at the end of their
    calibration period, as a contractual model such as the shifted-beta-geometric (sBG) of
    Fader & Hardie (2007) forecasts it (lines) and as the simulated customers did (dots,
    with a band of ± 2 binomial standard errors where ``standard_error`` is given), one
    colour per setting. Right: the conditional expectations of a purchase model such as
    BG/NBD (Fader, Hardie & Lee 2005): the mean number of purchases per customer in the
    holdout by the number made in calibration, forecast (lines, open markers) and actual
    (bars), one group of bars per setting.

    Args:
        retention: one row per setting × holdout month: ``setting`` (a label), ``month``
            (months into the holdout, ≥ 1), ``forecast`` and ``actual`` (share of the
            customers active at the end of calibration who are still active, 0–1) and,
            optionally, ``standard_error`` (of ``actual``, share).
        purchases: one row per setting × calibration-frequency group: ``setting``,
            ``frequency`` (a label such as ``"0"`` or ``"3+"``, drawn in the order given),
            ``forecast`` and ``actual`` (mean holdout purchases per customer, ≥ 0) and
            ``customers`` (how many customers the group holds, ≥ 1).

    Returns:
        A two-panel figure. Left: x months into the holdout, y share still active (0–1).
        Right: x purchases in calibration (groups), y mean purchases per customer in the
        holdout (purchases).

    Raises:
        ValueError: a column missing, no rows, a share outside [0, 1] or a negative mean.
    """
    kept = _table(
        "retention", retention, ("setting", "month", "forecast", "actual"),
        "forecast and actual survival by setting and holdout month",
    )  # fmt: skip
    bought = _table(
        "purchases", purchases, ("setting", "frequency", "forecast", "actual", "customers"),
        "forecast and actual holdout purchases by setting and calibration frequency",
    )  # fmt: skip
    shares = kept[["forecast", "actual"]].to_numpy(np.float64)
    if not (np.isfinite(shares).all() and (shares >= 0).all() and (shares <= 1).all()):
        raise ValueError("retention: forecast and actual must be shares in [0, 1]")
    means = bought[["forecast", "actual"]].to_numpy(np.float64)
    if not (np.isfinite(means).all() and (means >= 0).all()):
        raise ValueError("purchases: forecast and actual must be finite and ≥ 0")
    fig = Figure(figsize=(12.0, 4.8), layout="constrained")
    left, right = fig.subplots(1, 2)
    settings = list(dict.fromkeys([*kept["setting"], *bought["setting"]]))
    colour = {setting: f"C{index % 10}" for index, setting in enumerate(settings)}
    for setting, part in kept.groupby("setting", sort=False):
        part = part.sort_values("month")
        month = part["month"].to_numpy(np.float64)
        c = colour[setting]
        left.plot(month, part["forecast"], color=c, linewidth=1.8, label=f"{setting}: forecast")
        left.plot(
            month, part["actual"], "o", color=c, markersize=4, label=f"{setting}: actual",
        )  # fmt: skip
        if "standard_error" in part:
            se = part["standard_error"].to_numpy(np.float64)
            left.fill_between(
                month, part["actual"] - 2 * se, part["actual"] + 2 * se, color=c, alpha=0.15,
                linewidth=0,
            )  # fmt: skip
    left.set_xlabel("Months into the holdout")
    left.set_ylabel("Share still active (0–1)")
    left.set_title("Survival of the active customers: forecast and actual")
    left.legend(fontsize="small")
    groups = list(dict.fromkeys(bought["frequency"].astype(str)))
    width = 0.8 / max(len(settings), 1)
    x = np.arange(len(groups), dtype=np.float64)
    for index, (setting, part) in enumerate(bought.groupby("setting", sort=False)):
        part = part.set_index(part["frequency"].astype(str)).reindex(groups)
        at = x - 0.4 + width * (index + 0.5)
        c = colour[setting]
        right.bar(at, part["actual"], width=width * 0.9, color=c, alpha=0.45,
                  label=f"{setting}: actual")  # fmt: skip
        right.plot(
            at, part["forecast"], marker="o", markerfacecolor="none", color=c, linewidth=1.4,
            label=f"{setting}: forecast",
        )  # fmt: skip
    right.set_xticks(x, labels=groups)
    right.set_xlabel("Purchases in calibration (repeat purchases)")
    right.set_ylabel("Mean purchases per customer in the holdout")
    right.set_title("Holdout purchases by calibration purchases")
    right.legend(fontsize="small")
    return fig
