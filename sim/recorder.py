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
        self._npv = 0.0
        self._sums: dict[str, defaultdict[str, float]] = {}
        self._start_month()

    def _start_month(self) -> None:
        self._sums = {name: defaultdict(float) for name in self.touchpoints}

    def touchpoint(
        self,
        name: str,
        due: np.ndarray,
        perceived: np.ndarray,
        satisfaction: np.ndarray,
        problem: np.ndarray,
        delivered: float,
    ) -> None:
        """Add one batch of interactions at a touchpoint (masks and values per person)."""
        sums = self._sums[name]
        sums["experiences"] += float(due.sum())
        sums["perceived"] += float(perceived[due].sum(dtype=np.float64))
        sums["satisfaction"] += float(satisfaction[due].sum(dtype=np.float64))
        sums["problems"] += float(problem[due].sum())
        sums["delivered_quality"] = delivered

    def record_month(self, month: int, values: dict[str, float]) -> None:
        """Close a month: derive the economics and store its rows."""
        row = {"month": float(month)} | values
        row |= month_accounts(values, self.scenario, month, self.discount_per_month)
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
        self._start_month()

    def timeseries(self) -> pd.DataFrame:
        """One row per month, one column per metric."""
        frame = pd.DataFrame(self.rows)
        frame["month"] = frame["month"].astype(int)
        return frame

    def touchpoint_table(self) -> pd.DataFrame:
        """One row per month × touchpoint."""
        return pd.DataFrame(self.touchpoint_rows)
