"""Recorder: turns each simulated month into rows of tidy tables.

One row per month for the time series (one column per metric) and one row per month ×
touchpoint for the touchpoint table. Replication and seed columns are added by the
experiments layer, which knows them; the recorder only sees one run.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd

from sim.economics import month_accounts
from sim.rules import customer_lifetime_value
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
        self._segment_month: dict[str, np.ndarray] = {}
        self._npv = 0.0
        self._sums: dict[str, defaultdict[str, float]] = {}
        self._start_month()

    def _start_month(self) -> None:
        self._sums = {name: defaultdict(float) for name in self.touchpoints}

    def touchpoint(
        self,
        name: str,
        perceived: np.ndarray,
        satisfaction: np.ndarray,
        problem: np.ndarray,
        delivered: float,
    ) -> None:
        """Add one batch of interactions at a touchpoint (one entry per interaction)."""
        self.touchpoint_sums(
            name,
            len(perceived),
            float(np.sum(perceived, dtype=np.float64)),
            float(np.sum(satisfaction, dtype=np.float64)),
            int(np.sum(problem)),
            delivered,
        )

    def touchpoint_sums(
        self,
        name: str,
        experiences: int,
        perceived: float,
        satisfaction: float,
        problems: int,
        delivered: float,
    ) -> None:
        """Add a batch of `experiences` interactions at a touchpoint by its sums of perceived
        quality and satisfaction (0–1 each) and its count of problems."""
        sums = self._sums[name]
        sums["experiences"] += float(experiences)
        sums["perceived"] += perceived
        sums["satisfaction"] += satisfaction
        sums["problems"] += float(problems)
        sums["delivered_quality"] = delivered

    def segments(
        self,
        segment: np.ndarray,
        left: np.ndarray,
        segment_of_stayers: np.ndarray,
        revenue: np.ndarray,
        satisfaction_of_stayers: np.ndarray,
    ) -> None:
        """Per-segment counts of the month's decisions (customers active at its start)."""
        count = len(self.segment_names)
        self._segment_month = {
            "active_start": np.bincount(segment, minlength=count),
            "churned": np.bincount(segment, weights=left, minlength=count),
            "revenue": np.bincount(segment_of_stayers, weights=revenue, minlength=count),
            "satisfaction_sum": np.bincount(
                segment_of_stayers, weights=satisfaction_of_stayers, minlength=count
            ),
        }

    def record_month(self, month: int, values: dict[str, float]) -> None:
        """Close a month: derive the economics and store its rows."""
        row = {"month": float(month)} | values
        row |= month_accounts(values, self.scenario, month, self.discount_per_month)
        row["discount_factor"] = (1.0 + self.discount_per_month) ** -month
        self._npv += row["discounted_profit"]
        row["npv_to_date"] = self._npv
        self.rows.append(row)
        for name in self.touchpoints:
            sums = self._sums[name]
            n = sums.get("experiences", 0.0)
            self.touchpoint_rows.append(
                {
                    "month": month,
                    "touchpoint": name,
                    "stage": self.scenario.touchpoints[name].stage,
                    "experiences": int(n),
                    "delivered_quality": sums.get("delivered_quality", np.nan),
                    "perceived_quality": sums["perceived"] / n if n else np.nan,
                    "satisfaction": sums["satisfaction"] / n if n else np.nan,
                    "problems": int(sums.get("problems", 0.0)),
                }
            )
        self._record_segments(month)
        self._start_month()

    def _record_segments(self, month: int) -> None:
        sums = self._segment_month
        if not sums:
            return
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
        self._segment_month = {}

    def timeseries(self) -> pd.DataFrame:
        """One row per month, one column per metric."""
        frame = pd.DataFrame(self.rows)
        frame["month"] = frame["month"].astype(int)
        return frame

    def touchpoint_table(self) -> pd.DataFrame:
        """One row per month × touchpoint."""
        return pd.DataFrame(self.touchpoint_rows)

    def segment_table(self) -> pd.DataFrame:
        """One row per month × segment: customers, churn, revenue, margin, CLV."""
        return pd.DataFrame(self.segment_rows)
