"""Figures of lessons on journeys, satisfaction and measurement: one customer, one rule, one survey.

Each function returns a `matplotlib.figure.Figure` built without pyplot, like the rest of
`sim.plots`, so nothing is left in pyplot's global state and no display is needed.

- `customer_journey` (with its table `remembered_months`): one customer of the agents
  engine month by month — every interaction's transaction satisfaction, the month's
  remembered episode (peak-end) against the plain mean of its moments, cumulative
  satisfaction and expectation. It reads `Customer.journey()` and `Customer.timeline()`
  (`sim.engines.customer`).
- `satisfaction_rule`: the model's own transaction-satisfaction rule
  (`sim.customers.journeys.interaction`: expectation-disconfirmation with a zone of
  tolerance and loss aversion) against perceived quality.
- `gains_and_losses`: the paired effect of raising something by +d against lowering it by
  −d, from a `sim.compare` of a base and the two changes.
- `measured_vs_true`, `survey_errors` (with its table `survey_error_table`) and
  `nps_difference`: what a survey measures against the true score, the error of the
  measurement under different survey settings, and a measured NPS difference between two
  runs with its sampling-error interval against the true difference.

Units: satisfaction, quality and expectation on the model's 0–1 scale; NPS in points from
−100 to 100; CSAT 1–5; CES 1–7 (higher = more effort); months counted from 1. Bad input (a
missing column, an unknown metric or alternative, an empty table) raises `ValueError` naming
what is missing and what was expected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from sim.customers import journeys, rules
from sim.customers.surveys import nps_margin_of_error
from sim.experiments.runs import Comparison, RunResult
from sim.plots.labels import axis_label, outcome_name, outcome_unit, timeseries_unit

__all__ = [
    "customer_journey",
    "gains_and_losses",
    "measured_vs_true",
    "nps_difference",
    "remembered_months",
    "satisfaction_rule",
    "survey_error_table",
    "survey_errors",
]

SURVEY_METRICS = {"nps": "NPS", "csat": "CSAT", "ces": "CES"}
"""The survey measures a run records true and measured (``<name>_true``, ``<name>_measured``)."""

JOURNEY_COLUMNS = ("month", "touchpoint", "satisfaction")
TIMELINE_COLUMNS = ("month", "episode", "satisfaction", "expectation")


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"{what}: expected a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: missing columns {missing}; expected {list(columns)}")


# ---------------------------------------------------------------------------- one customer


def remembered_months(
    journey: pd.DataFrame,
    timeline: pd.DataFrame,
    touchpoints: Sequence[str],
    peak_end_weight: float,
) -> pd.DataFrame:
    """How one customer remembered each month: its moments against the peak-end episode.

    A month's moments are its interactions' transaction satisfaction, in the model's
    touchpoint order (stage order, as `Customer.evaluate` takes them). The table gives
    their plain mean, the peak (the moment furthest from the customer's cumulative
    satisfaction before the month, the first on ties), the end (the last moment in stage
    order), the episode the model recorded (`Customer.timeline`) and the episode
    `sim.customers.rules.peak_end` recalls from the moments and the prior, where the prior
    is known (the end of the month before; not in a customer's first month).

    Args:
        journey: `Customer.journey()` (month, touchpoint, satisfaction, …).
        timeline: `Customer.timeline()` (month, episode, satisfaction, expectation, …).
        touchpoints: the model's touchpoint order (`CXModel.touchpoints`).
        peak_end_weight: the weight of peak and end against the mean (the scenario's
            ``behaviour.satisfaction.peak_end_weight``), 0–1.

    Returns:
        One row per month with interactions: ``month``, ``moments`` (count), ``mean``,
        ``peak``, ``peak_touchpoint``, ``end``, ``prior``, ``episode`` (recorded),
        ``recalled`` (recomputed; NaN without a prior) and ``satisfaction`` (cumulative, at
        the month's end); all on the 0–1 scale.
    """
    _require(journey, JOURNEY_COLUMNS, "journey")
    _require(timeline, TIMELINE_COLUMNS, "timeline")
    order = {name: k for k, name in enumerate(touchpoints)}
    unknown = sorted(set(journey["touchpoint"]) - set(order))
    if unknown:
        raise ValueError(f"journey: touchpoints {unknown} are not in {list(touchpoints)}")
    state = timeline.set_index("month")
    rows = []
    ranked = journey.assign(_order=journey["touchpoint"].map(order))
    for month, moments in ranked.sort_values(["month", "_order"], kind="stable").groupby("month"):
        values = moments["satisfaction"].to_numpy(np.float64)
        prior = float(state["satisfaction"].get(month - 1, np.nan))
        reference = prior if np.isfinite(prior) else float(np.mean(values))
        distance = np.abs(values - reference)
        peak_at = int(np.argmax(distance >= distance.max() - 1e-6))  # first of near-ties
        recalled = (
            float(rules.peak_end(values, prior, peak_end_weight)[0])
            if np.isfinite(prior)
            else np.nan
        )
        rows.append(
            {
                "month": int(month),
                "moments": len(values),
                "mean": float(values.mean()),
                "peak": float(values[peak_at]),
                "peak_touchpoint": moments["touchpoint"].iloc[peak_at],
                "end": float(values[-1]),
                "prior": prior,
                "episode": float(state["episode"].get(month, np.nan)),
                "recalled": recalled,
                "satisfaction": float(state["satisfaction"].get(month, np.nan)),
            }
        )
    return pd.DataFrame(rows)


def customer_journey(
    journey: pd.DataFrame,
    timeline: pd.DataFrame,
    touchpoints: Sequence[str],
    peak_end_weight: float,
    title: str | None = None,
) -> Figure:
    """One customer month by month: moments, the remembered episode, satisfaction, expectation.

    Dots are the customer's interactions (transaction satisfaction, one colour per
    touchpoint); the grey dotted line is the plain mean of each month's moments, the red
    line the episode the customer remembers (peak-end, `remembered_months`), the black line
    cumulative satisfaction at each month's end and the dashed line the expectation.

    Args:
        journey, timeline, touchpoints, peak_end_weight: as for `remembered_months`.
        title: the figure's title (default: a generic one).

    Returns:
        A figure with one axes: x the month, y the 0–1 satisfaction scale.
    """
    months = remembered_months(journey, timeline, touchpoints, peak_end_weight)
    fig = Figure(figsize=(9.5, 4.8), layout="constrained")
    ax = fig.subplots()
    for i, name in enumerate(t for t in touchpoints if t in set(journey["touchpoint"])):
        met = journey[journey["touchpoint"] == name]
        ax.scatter(
            met["month"], met["satisfaction"], s=28, color=f"C{i % 10}", label=name, zorder=3
        )
    ax.plot(months["month"], months["mean"], color="0.5", linestyle=":", marker="_",
            label="mean of the month's moments")  # fmt: skip
    ax.plot(months["month"], months["episode"], color="firebrick", linewidth=1.8, marker="o",
            markersize=4, label="remembered month (peak-end)")  # fmt: skip
    ax.plot(timeline["month"], timeline["satisfaction"], color="black", linewidth=2.0,
            label="cumulative satisfaction")  # fmt: skip
    ax.plot(timeline["month"], timeline["expectation"], color="0.3", linestyle="--",
            linewidth=1.2, label="expectation")  # fmt: skip
    ax.set_ylim(-0.02, 1.02)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("Month")
    ax.set_ylabel("Satisfaction (quality scale, 0–1)")
    ax.set_title(title or "One customer's journey: moments, memory and satisfaction")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig


# ---------------------------------------------------------------------------- the rule


def satisfaction_rule(
    expectation: float,
    tolerance: float,
    weight: float,
    loss_aversion: float,
    step: float | None = None,
) -> Figure:
    """The model's transaction satisfaction against perceived quality, for one expectation.

    Draws `sim.customers.journeys.interaction` over perceived quality 0–1 with the given
    loss aversion and, dashed, without it (loss aversion 1), shades the zone of tolerance
    around the expectation and, with `step`, marks what a quality `step` above and below the
    expectation's edge of tolerance does: the gain and the loss in satisfaction.

    Args:
        expectation: the customer's expectation, 0–1.
        tolerance: half-width of the zone of tolerance, 0–1.
        weight: the weight of disconfirmation (``disconfirmation_weight``), ≥ 0.
        loss_aversion: how much more a shortfall weighs than a surplus, ≥ 1.
        step: a quality change to mark (0–1), or None.

    Returns:
        A figure with one axes: x perceived quality, y transaction satisfaction (0–1).
    """
    for name, value in (("expectation", expectation), ("tolerance", tolerance)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name}: got {value!r}; must be within 0–1")
    if weight < 0 or loss_aversion < 1:
        raise ValueError(f"weight {weight!r} must be ≥ 0 and loss_aversion {loss_aversion!r} ≥ 1")
    quality = np.linspace(0.0, 1.0, 401)
    _, with_loss = journeys.interaction(quality, expectation, tolerance, weight, loss_aversion)
    _, symmetric = journeys.interaction(quality, expectation, tolerance, weight, 1.0)
    fig = Figure(figsize=(7.5, 5.0), layout="constrained")
    ax = fig.subplots()
    ax.axvspan(expectation - tolerance, expectation + tolerance, color="0.85",
               label=f"zone of tolerance (±{tolerance:g})")  # fmt: skip
    ax.axvline(expectation, color="0.4", linewidth=0.8, label=f"expectation ({expectation:g})")
    ax.plot(quality, quality, color="0.6", linewidth=0.8, linestyle=":",
            label="performance alone (no disconfirmation)")  # fmt: skip
    ax.plot(quality, symmetric, color="C0", linestyle="--",
            label="no loss aversion (loss ratio 1)")  # fmt: skip
    ax.plot(quality, with_loss, color="firebrick", linewidth=2.0,
            label=f"the model's rule (loss ratio {loss_aversion:g})")  # fmt: skip
    if step is not None:
        edges = (expectation + tolerance, expectation - tolerance)
        at = np.array([edges[0] + step, edges[1] - step, *edges])
        _, marks = journeys.interaction(at, expectation, tolerance, weight, loss_aversion)
        gain, loss = marks[0] - marks[2], marks[3] - marks[1]
        ax.vlines(at[0], marks[2], marks[0], color="forestgreen", linewidth=3,
                  label=f"gain from +{step:g} quality: {gain:+.3f}")  # fmt: skip
        ax.vlines(at[1], marks[1], marks[3], color="darkorange", linewidth=3,
                  label=f"loss from −{step:g} quality: {-loss:+.3f}")  # fmt: skip
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("Perceived quality at the touchpoint (quality scale, 0–1)")
    ax.set_ylabel("Transaction satisfaction (0–1)")
    ax.set_title("Expectation-disconfirmation with a zone of tolerance and loss aversion")
    ax.legend(fontsize=8, loc="upper left")
    return fig


# ---------------------------------------------------------------------------- +d against −d


def gains_and_losses(
    comparison: Comparison, gain: str, loss: str, metrics: Sequence[str]
) -> Figure:
    """What raising something gains against what lowering it by as much loses, paired.

    Reads ``comparison.paired`` (alternative − base, one row per alternative ×
    replication): for each outcome the gain is the `gain` alternative's difference and the
    loss the `loss` alternative's difference with its sign turned, so equal bars mean a
    symmetric effect. Bars are the means; dots the replications.

    Args:
        comparison: `sim.compare(base, raised, lowered, ...)`.
        gain: the name of the alternative that raises (e.g. quality + d).
        loss: the name of the alternative that lowers by as much.
        metrics: outcomes of the paired table (`sim.metrics.OUTCOMES`).

    Returns:
        A figure with one panel per outcome, in the outcome's unit.
    """
    paired = comparison.paired
    _require(paired, ["alternative", "replication", *metrics], "comparison.paired")
    names = set(paired["alternative"])
    for name in (gain, loss):
        if name not in names:
            raise ValueError(
                f"alternative {name!r} is not in the comparison; it has {sorted(names)}"
            )
    if not metrics:
        raise ValueError("metrics: got none; name one or more outcomes")
    fig = Figure(figsize=(3.2 * len(metrics), 4.0), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(metrics)))
    up = paired[paired["alternative"] == gain]
    down = paired[paired["alternative"] == loss]
    for ax, metric in zip(axes, metrics, strict=True):
        values = [up[metric].to_numpy(float), -down[metric].to_numpy(float)]
        colours = ("forestgreen", "darkorange")
        ax.bar([0, 1], [v.mean() for v in values], color=colours, width=0.6)
        for x, v in enumerate(values):
            ax.scatter(np.full(len(v), x), v, color="black", s=12, zorder=3)
        ax.set_xticks([0, 1], labels=[f"gain ({gain})", f"loss ({loss})"])
        ax.set_title(outcome_name(metric), fontsize=10)
        ax.set_ylabel(axis_label("size of the change", outcome_unit(metric)))
        ax.axhline(0, color="black", linewidth=0.6)
    fig.suptitle(
        "Paired effects: gain from raising against loss from lowering "
        "(bars: mean; dots: replications)"
    )
    return fig


# ---------------------------------------------------------------------------- surveys


def _columns(metric: str) -> tuple[str, str]:
    if metric not in SURVEY_METRICS:
        raise ValueError(f"metric: got {metric!r}; expected one of {list(SURVEY_METRICS)}")
    return f"{metric}_true", f"{metric}_measured"


def survey_error_table(result: RunResult, metric: str = "nps") -> pd.DataFrame:
    """Measured against true, replication by replication and month by month.

    Returns:
        One row per replication × month: ``replication``, ``month``, ``respondents``,
        ``true``, ``measured`` and ``error`` (measured − true), in the metric's unit.
    """
    true, measured = _columns(metric)
    table = result.timeseries
    _require(table, ["replication", "month", "respondents", true, measured], "timeseries")
    out = table[["replication", "month", "respondents", true, measured]].rename(
        columns={true: "true", measured: "measured"}
    )
    return out.assign(error=out["measured"] - out["true"]).reset_index(drop=True)


def measured_vs_true(result: RunResult, metric: str = "nps") -> Figure:
    """What the survey measured each month against the true score.

    Dots are each replication's measured score; the line is the true score (mean across
    replications). For NPS the band is the true score ± the conservative 95 % margin of
    error of a measured NPS with the month's mean number of respondents
    (`sim.customers.surveys.nps_margin_of_error`).

    Args:
        result: what `sim.run` returns.
        metric: ``nps``, ``csat`` or ``ces``.

    Returns:
        A figure with one axes: x the month, y the metric in its unit.
    """
    errors = survey_error_table(result, metric)
    by_month = errors.groupby("month")[["true", "respondents"]].mean()
    fig = Figure(figsize=(8.5, 4.6), layout="constrained")
    ax = fig.subplots()
    name = SURVEY_METRICS[metric]
    if metric == "nps":
        margin = nps_margin_of_error(by_month["respondents"].to_numpy())
        ax.fill_between(by_month.index, by_month["true"] - margin, by_month["true"] + margin,
                        color="C0", alpha=0.15, linewidth=0,
                        label="true ± 95 % margin of error of a survey")  # fmt: skip
    ax.scatter(errors["month"], errors["measured"], s=14, color="darkorange", zorder=3,
               label=f"measured {name} (one dot per replication)")  # fmt: skip
    ax.plot(by_month.index, by_month["true"], color="C0", linewidth=2.0, label=f"true {name}")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("Month")
    ax.set_ylabel(axis_label(name, timeseries_unit(f"{metric}_true")))
    ax.set_title(f"{name}: what the survey measured against the truth, {result.scenario.name}")
    ax.legend(fontsize=8)
    return fig


def survey_errors(results: Mapping[str, RunResult], metric: str = "nps") -> Figure:
    """The error of a measured score (measured − true) under different survey settings.

    One histogram per setting (labelled by its key) of every replication × month's error,
    with its mean as a vertical line: a shifted centre is response bias, a wide spread is
    sampling error.

    Args:
        results: setting label → `sim.run` result.
        metric: ``nps``, ``csat`` or ``ces``.

    Returns:
        A figure with one axes: x the error in the metric's unit, y months × replications.
    """
    if not results:
        raise ValueError("results: got none; pass one or more labelled results of sim.run")
    tables = {
        label: survey_error_table(r, metric)["error"].dropna() for label, r in results.items()
    }
    edges = np.histogram_bin_edges(np.concatenate([t.to_numpy() for t in tables.values()]), bins=30)
    fig = Figure(figsize=(8.5, 4.6), layout="constrained")
    ax = fig.subplots()
    for i, (label, error) in enumerate(tables.items()):
        ax.hist(error, bins=edges, histtype="step", linewidth=1.8, color=f"C{i}",
                label=f"{label} (mean {error.mean():+.2f}, sd {error.std():.2f})")  # fmt: skip
        ax.axvline(error.mean(), color=f"C{i}", linestyle="--", linewidth=1.0)
    ax.axvline(0, color="black", linewidth=0.8)
    name = SURVEY_METRICS[metric]
    ax.set_xlabel(axis_label(f"measured − true {name}", timeseries_unit(f"{metric}_true")))
    ax.set_ylabel("Months × replications")
    ax.set_title(f"Error of the measured {name}: bias (centre) and sampling error (spread)")
    ax.legend(fontsize=8)
    return fig


def nps_difference(
    base: RunResult, alternative: RunResult, replication: int | None = None
) -> Figure:
    """Two measured NPS values compared month by month, against the true difference.

    For one replication (the first unless given) of two runs on the same seed: each
    month's measured difference (alternative − base) with its conservative 95 %
    sampling-error interval, ± the root of the sum of both margins squared
    (`sim.customers.surveys.nps_margin_of_error`), and the true difference as a line.

    Returns:
        A figure with one axes: x the month, y the difference in NPS points.
    """
    a = survey_error_table(base, "nps")
    b = survey_error_table(alternative, "nps")
    chosen = int(a["replication"].min()) if replication is None else replication
    if chosen not in set(a["replication"]) or chosen not in set(b["replication"]):
        raise ValueError(f"replication {chosen!r} is not in both runs")
    a = a[a["replication"] == chosen].set_index("month")
    b = b[b["replication"] == chosen].set_index("month")
    measured = b["measured"] - a["measured"]
    true = b["true"] - a["true"]
    margin = np.hypot(nps_margin_of_error(a["respondents"]), nps_margin_of_error(b["respondents"]))
    fig = Figure(figsize=(8.5, 4.6), layout="constrained")
    ax = fig.subplots()
    ax.errorbar(measured.index, measured, yerr=margin, fmt="o", color="darkorange", capsize=2,
                label="measured difference ± 95 % sampling-error interval")  # fmt: skip
    ax.plot(true.index, true, color="C0", linewidth=2.0, label="true difference")
    ax.axhline(0, color="black", linewidth=0.6)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("Month")
    ax.set_ylabel("NPS difference (NPS points)")
    ax.set_title(
        f"Measured NPS: {alternative.scenario.name} − {base.scenario.name} (replication {chosen})"
    )
    ax.legend(fontsize=8)
    return fig
