"""Recorder: turns each simulated month into rows of tidy tables.

One row per month for the time series (one column per metric) and one row per month ×
touchpoint for the touchpoint table. Replication and seed columns are added by the
experiments layer, which knows them; the recorder only sees one run.
"""

from __future__ import annotations

import numba
import numpy as np
import pandas as pd

from sim.customers.rules import customer_lifetime_value
from sim.engines.contract import Decisions, TouchpointSums
from sim.firm.economics import month_accounts
from sim.metrics import check_month
from sim.scenario import Scenario


class Recorder:
    """Collects the metrics of one run, month by month.

    Args:
        scenario: the scenario being run (for the economics and touchpoint stages).
        touchpoints: touchpoint names in the model's order.
    """

    def __init__(
        self, scenario: Scenario, touchpoints: list[str], discount_per_month: float
    ) -> None:
        self.scenario = scenario
        self.touchpoints = touchpoints
        self.discount_per_month = discount_per_month
        self.rows: list[dict[str, float]] = []
        self.touchpoint_rows: list[dict[str, object]] = []
        self.segment_rows: list[dict[str, object]] = []
        self.segment_names = [segment.name for segment in scenario.market.segments]
        self._npv = 0.0

    def record_month(
        self,
        month: int,
        values: dict[str, float],
        touchpoints: TouchpointSums | None = None,
        delivered: np.ndarray | None = None,
        decisions: Decisions | None = None,
    ) -> None:
        """Close a month: its measures (`values`) and the economics derived from them, its
        interactions per touchpoint (with the quality `delivered` at each, in model order)
        and its customers' decisions per segment."""
        check_month(values)
        row = {"month": float(month)} | values
        row |= month_accounts(values, self.scenario, month, self.discount_per_month)
        row["discount_factor"] = (1.0 + self.discount_per_month) ** -month
        self._npv += row["discounted_profit"]
        row["npv_to_date"] = self._npv
        self.rows.append(row)
        met = touchpoints.by_name if touchpoints is not None else {}
        for k, name in enumerate(self.touchpoints):
            n, perceived, satisfaction, problems = met.get(name, (0.0, 0.0, 0.0, 0.0))
            seen = name in met and delivered is not None
            self.touchpoint_rows.append(
                {
                    "month": month,
                    "touchpoint": name,
                    "stage": self.scenario.touchpoints[name].stage,
                    "experiences": int(n),
                    "delivered_quality": delivered[k] if seen else np.nan,
                    "perceived_quality": perceived / n if n else np.nan,
                    "satisfaction": satisfaction / n if n else np.nan,
                    "problems": int(problems),
                }
            )
        if decisions is not None:
            self._record_segments(month, decisions)

    def _record_segments(self, month: int, decisions: Decisions) -> None:
        """Per-segment counts of the month's decisions (customers active at its start)."""
        sums = dict(
            zip(
                ("active_start", "churned", "revenue", "satisfaction_sum"),
                segment_sums(
                    decisions.segment,
                    decisions.left,
                    decisions.revenue,
                    decisions.satisfaction,
                    len(self.segment_names),
                ),
                strict=True,
            )
        )
        margin_share = self.scenario.economics.gross_margin
        for i, name in enumerate(self.segment_names):
            start = float(sums["active_start"][i])
            churned = float(sums["churned"][i])
            stayers = start - churned
            churn_rate = churned / start if start else float("nan")
            margin = margin_share * float(sums["revenue"][i])
            self.segment_rows.append(
                {
                    "month": month,
                    "segment": name,
                    "active_start": int(start),
                    "churned": int(churned),
                    "churn_rate": churn_rate,
                    "revenue": float(sums["revenue"][i]),
                    "margin": margin,
                    "satisfaction_mean": float(sums["satisfaction_sum"][i]) / stayers
                    if stayers
                    else float("nan"),
                    "clv": customer_lifetime_value(
                        margin / stayers, 1.0 - churn_rate, self.discount_per_month
                    )
                    if stayers
                    else float("nan"),
                }
            )

    def timeseries(self) -> pd.DataFrame:
        """One row per month, one column per metric."""
        frame = _frame(self.rows)
        frame["month"] = frame["month"].astype(int)
        return frame

    def touchpoint_table(self) -> pd.DataFrame:
        """One row per month × touchpoint."""
        return pd.DataFrame(self.touchpoint_rows)

    def segment_table(self) -> pd.DataFrame:
        """One row per month × segment: customers, churn, revenue, margin, CLV."""
        return pd.DataFrame(self.segment_rows)


def _frame(rows: list[dict[str, float]]) -> pd.DataFrame:
    """``pd.DataFrame(rows)``: when every row has the same metrics and every value is a
    float (the time series), made from one array at once."""
    names = list(rows[0]) if rows else []
    if not all(list(row) == names and all(type(v) is float for v in row.values()) for row in rows):
        return pd.DataFrame(rows)
    values = np.array([list(row.values()) for row in rows], dtype=np.float64)
    return pd.DataFrame(values, columns=pd.Index(names))


@numba.njit(cache=True, nogil=True)
def segment_sums(
    segment: np.ndarray,
    left: np.ndarray,
    revenue: np.ndarray,
    satisfaction: np.ndarray,
    segments: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per segment (`segment`: each customer's, 0 to `segments` − 1): customers, leavers
    (`left`: booleans), and the stayers' revenue (currency) and satisfaction (0–1) sums
    (`revenue`, `satisfaction`: one entry per stayer, in customer order). One pass, each
    sum added in customer order in float64: the numbers of ``np.bincount``."""
    customers = np.zeros(segments, dtype=np.int64)
    leavers, revenue_sum = np.zeros(segments), np.zeros(segments)
    satisfaction_sum = np.zeros(segments)
    stayer = 0
    for i in range(segment.size):
        s = segment[i]
        customers[s] += 1
        if left[i]:
            leavers[s] += 1.0
        else:
            revenue_sum[s] += np.float64(revenue[stayer])
            satisfaction_sum[s] += np.float64(satisfaction[stayer])
            stayer += 1
    return customers, leavers, revenue_sum, satisfaction_sum
