"""Docking: the simulation against closed forms.

(a) With satisfaction effects off, survival is geometric: S(t) = r^t, mean lifetime
    1/(1 − r), and the discounted margin per customer is m·r/(1 + d − r) (margins booked at
    the end of each month survived; month t discounted by (1 + d)^t).
(b) With no churn and constant experience, cumulative adoption follows the Bass closed form.
(c) Loss aversion: a negative disconfirmation lowers cumulative satisfaction more than an
    equal positive one raises it, in the running model.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.customers import rules
from sim.experiments.runs import run_replication
from sim.scenario import scenario_from_dict

NO_FEEDBACK = {
    "churn": {"satisfaction_effect": 0.0, "effort_effect": 0.0, "renewal_max_leave": 0.0},
    "purchase": {"repeat_per_month": 0.0, "upsell_per_month": 0.0},
}


def constant_customers(size: int, months: int, churn: float, margin: float):
    return scenario_from_dict(
        {
            "name": "geometric",
            "months": months,
            "market": {
                "size": size,
                "initial_customers": 1.0,
                "segments": [
                    {
                        "name": "all",
                        "churn_per_month": churn,
                        "churn_frailty_sd": 0.0,
                        "revenue_per_month": margin,
                    }
                ],
            },
            "acquisition": {"advertising_per_month": 0.0, "imitation_per_month": 0.0},
            "behaviour": NO_FEEDBACK,
            "economics": {"gross_margin": 1.0, "discount_rate_per_year": 0.12},
        }
    )


@pytest.mark.slow
def test_survival_is_geometric_and_lifetime_is_one_over_one_minus_r():
    size, months, churn = 20_000, 240, 0.03
    r = 1.0 - churn
    ts, _ = run_replication(constant_customers(size, months, churn, 10.0), seed=7, replication=0)
    survival = ts["active"].to_numpy() / size
    t = ts["month"].to_numpy()
    expected = r**t
    band = 4.0 * np.sqrt(expected * (1 - expected) / size) + 1e-4
    assert np.all(np.abs(survival - expected) <= band)
    # Lifetime (months until the month of leaving, inclusive) = 1 + months survived.
    lifetime = 1.0 + survival.sum()
    truncated = 1.0 + r * (1 - r**months) / (1 - r)
    se = math.sqrt(r) / (1 - r) / math.sqrt(size)
    assert lifetime == pytest.approx(truncated, abs=4 * se)
    assert truncated == pytest.approx(1 / (1 - r), rel=0.001)


@pytest.mark.slow
def test_discounted_margin_per_customer_matches_clv_formula():
    size, months, churn, margin = 20_000, 360, 0.03, 10.0
    scenario = constant_customers(size, months, churn, margin)
    ts, _ = run_replication(scenario, seed=11, replication=0)
    d = rules.monthly_rate(scenario.economics.discount_rate_per_year)
    discount = (1.0 + d) ** -ts["month"].to_numpy()
    simulated = float((ts["margin"].to_numpy() * discount).sum()) / size
    r = 1.0 - churn
    clv = rules.customer_lifetime_value(margin, r, d)
    assert clv == pytest.approx(margin * r / (1 + d - r))
    # Binomial noise of survival: well under 1% of CLV for 20,000 customers.
    assert simulated == pytest.approx(clv, rel=0.01)
    # The model's own monthly estimate is the formula at the month's observed churn, which
    # is noisy once few customers remain: judge it while at least 2,000 do (about 74 months).
    many = ts["active"] >= 2_000
    assert ts.loc[many, "clv"].median() == pytest.approx(clv, rel=0.02)


@pytest.mark.slow
def test_adoption_follows_the_bass_closed_form():
    size, p, q, months = 50_000, 0.01, 0.3, 36
    scenario = scenario_from_dict(
        {
            "name": "bass",
            "months": months,
            "market": {
                "size": size,
                "initial_customers": 0.0,
                "segments": [{"name": "all", "churn_per_month": 0.0}],
            },
            "acquisition": {
                "advertising_per_month": p,
                "imitation_per_month": q,
                "word_of_mouth": "customers",
            },
            "behaviour": NO_FEEDBACK,
        }
    )
    ts, _ = run_replication(scenario, seed=3, replication=0)
    adopted = ts["active"].to_numpy() / size
    expected = rules.bass_cumulative(ts["month"].to_numpy(), p, q)
    # Binomial noise compounds through imitation; 0.01 is about 5 standard errors here.
    np.testing.assert_allclose(adopted, expected, atol=0.01)
    assert np.abs(adopted - expected).mean() < 0.004
    assert int(ts["churned"].sum()) == 0


def test_loss_aversion_in_the_running_model():
    """Customers meeting quality 0.1 below expectation lose about twice as much
    satisfaction as customers meeting quality 0.1 above it gain."""

    def outcome(quality: float) -> tuple[float, float]:
        scenario = scenario_from_dict(
            {
                "name": "loss",
                "months": 1,
                "market": {
                    "size": 5000,
                    "initial_customers": 1.0,
                    "segments": [
                        {
                            "name": "all",
                            "expectation": {"mean": 0.7, "sd": 0.0},
                            "tolerance": 0.0,
                            "contract_months": 0,
                        }
                    ],
                },
                "touchpoints": {
                    "use": {"stage": "use", "base_quality": quality, "problem_probability": 0.0}
                },
                "journeys": {"standard": ["use"]},
                # Reactive: no call-backs to detractors, whose number differs between cases.
                "firm": {"noise_sd": 0.0, "maturity": {"level": "reactive"}},
                "behaviour": NO_FEEDBACK,
            }
        )
        ts, tp = run_replication(scenario, seed=1, replication=0)
        return float(ts["satisfaction_mean"].iloc[0]), float(tp["satisfaction"].iloc[0])

    (neutral, t_neutral), (better, t_better), (worse, t_worse) = (
        outcome(0.7),
        outcome(0.8),
        outcome(0.6),
    )
    gain, loss = better - neutral, neutral - worse
    assert gain > 0 and loss > 0
    # Transaction satisfaction: +0.1 + 0.5·0.1 vs −0.1 − 0.5·2·0.1, i.e. 0.15 vs 0.20,
    # carried into cumulative satisfaction in the same ratio (float32 state: 4 digits).
    assert loss / gain == pytest.approx(0.20 / 0.15, rel=1e-4)
    # The disconfirmation part alone (beyond the ±0.1 of performance) is 2:1.
    assert (t_neutral - t_worse - 0.1) / (t_better - t_neutral - 0.1) == pytest.approx(
        2.0, rel=1e-3
    )
