"""Metrics are declared once (sim.metrics): the recorder stores exactly the declared columns,
the economics total the declared cost lines, the outcomes follow their declared rules, and
the model card lists exactly what is declared."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import metrics
from sim.experiments.runs import run
from sim.recorder import Recorder
from sim.scenario import load_scenario, with_overrides
from sim.scenario.firm import CAPABILITIES

ROOT = Path(__file__).resolve().parents[1]
CARD = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")
IDS = ("replication", "seed", "month")


def card_section(start: str, end: str) -> str:
    return CARD[CARD.index(start) : CARD.index(end)]


def first_column_names(section: str) -> set[str]:
    """Every `name` in the first column of the section's tables (`cap_<capability>`
    standing for the eight capability columns)."""
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([^`]+)`", line.split("|")[1]))
    if "cap_<capability>" in names:
        names.discard("cap_<capability>")
        names.update(f"cap_{c}" for c in CAPABILITIES)
    return names


@pytest.mark.parametrize("engine", ["vector", "agents"])
def test_a_run_records_exactly_the_declared_columns_in_order(engine):
    scenario = with_overrides(
        load_scenario(ROOT / "scenarios" / "maturity_predictive.yaml"),
        {"market.size": 400, "months": 3},
    )
    result = run(scenario, replications=1, seed=5, engine=engine)
    assert tuple(result.timeseries.columns) == (*IDS, *metrics.NAMES)
    assert tuple(result.outcomes.columns) == (
        "replication",
        "seed",
        *(o.name for o in metrics.OUTCOMES),
    )


def test_the_model_card_lists_exactly_the_declared_time_series_columns():
    listed = first_column_names(card_section("### 13.3 Time series", "### 13.4 Touchpoint"))
    assert listed - set(IDS) == set(metrics.NAMES)


def test_the_model_card_lists_exactly_the_declared_cost_lines_and_outcomes():
    costs = first_column_names(card_section("### 13.1 Economics", "### 13.2 Against"))
    assert costs == {*metrics.FIRM_COST_LINES, *metrics.MARKET_COST_LINES, "total_cost"}
    outcomes = first_column_names(card_section("### 13.6 Headline outcomes", "### 13.7"))
    assert outcomes == {o.name for o in metrics.OUTCOMES}


def test_names_are_unique_and_every_declared_reference_exists():
    assert len(set(metrics.NAMES)) == len(metrics.NAMES)
    assert set(metrics.FIRM_COST_LINES + metrics.MARKET_COST_LINES) <= set(metrics.NAMES)
    assert {o.source for o in metrics.OUTCOMES} <= set(metrics.NAMES)
    assert set(metrics.HEADLINE) <= {o.name for o in metrics.OUTCOMES}
    assert set(metrics.LABELS) == {o.name for o in metrics.OUTCOMES} | set(metrics.RETURNS)
    answered = tuple(m.name for m in metrics.TIMESERIES if m.phase == "customers.answer")
    assert answered[: len(metrics.SURVEY_METRICS)] == metrics.SURVEY_METRICS


def test_the_recorder_refuses_a_month_with_a_missing_or_undeclared_metric():
    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    recorder = Recorder(scenario, list(scenario.touchpoints), 0.01)
    raw = [m.name for m in metrics.TIMESERIES if m.phase != "accounts"]
    values = dict.fromkeys(raw, 1.0) | {"active_start": 10.0, "churned": 1.0}
    with pytest.raises(ValueError, match=r"missing \['revenue'\]"):
        recorder.record_month(1, {k: v for k, v in values.items() if k != "revenue"})
    with pytest.raises(ValueError, match=r"undeclared \['surprise'\]"):
        recorder.record_month(1, values | {"surprise": 0.0})
    recorder.record_month(1, values)
    assert len(recorder.timeseries()) == 1


def test_outcomes_follow_their_declared_rules_on_a_hand_made_series():
    months = 4
    series = pd.DataFrame({name: np.zeros(months) for name in metrics.NAMES})
    series["active_start"] = [200.0, 190.0, 185.0, 180.0]
    series["initial_customers_active"] = [195.0, 180.0, 170.0, 150.0]
    series["churned"] = [10.0, 8.0, 6.0, 4.0]
    series["churn_rate"] = [0.05, 0.04, 0.03, 0.02]
    series["profit"] = [-100.0, 50.0, 75.0, 125.0]
    series["npv_to_date"] = [-99.0, -50.0, 20.0, 140.0]
    series["investment_cost"] = [100.0, 100.0, 0.0, 0.0]
    series["discount_factor"] = [0.99, 0.98, 0.97, 0.96]
    series["nps_true"] = [1.0, 2.0, 3.0, 12.5]
    out = metrics.replication_outcomes(series)
    assert list(out) == [o.name for o in metrics.OUTCOMES]
    assert out["retention_of_initial"] == 150.0 / 200.0
    assert out["churned_total"] == 28.0
    assert out["profit_total"] == 150.0
    assert out["profit_npv"] == 140.0
    assert out["churn_rate_mean"] == pytest.approx(0.035)
    assert out["investment_total"] == 200.0
    assert out["investment_pv"] == pytest.approx(99.0 + 98.0)
    assert out["nps_true"] == 12.5
    series["active_start"] = 0.0
    assert math.isnan(metrics.replication_outcomes(series)["retention_of_initial"])
