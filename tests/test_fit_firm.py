"""A firm in its own numbers (sim/experiments/fit_firm.py, docs/strategy.md): a profile of key
figures is fitted in one step to a scenario that shows them in its steady state, from month
1; a smaller market stands in for a large firm, whose own amounts are resolved to it; an
unfitted profile does not run; bad profiles are one-line errors."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import yaml
from test_notebook_runner import cxm

from sim.errors import ScenarioError
from sim.experiments.fit_firm import FIT_MONTHS, figures, fit_firm
from sim.experiments.runs import run
from sim.model import CXModel
from sim.output_paths import CALIBRATED_HEADER
from sim.results import PROJECT_ROOT
from sim.scenario import Scenario, load_scenario, scenario_from_dict, with_overrides
from sim.scenario.firm import CAPABILITIES
from sim.scenario.sizing import at_own_size, stand_in_factor

SCENARIOS = PROJECT_ROOT / "scenarios"
TELECOM = SCENARIOS / "telecom" / "profile.yaml"


def baseline(**changes: object) -> Scenario:
    return with_overrides(load_scenario(SCENARIOS / "baseline.yaml"), changes)


@pytest.fixture(scope="module")
def telecom():
    """The ready telecom profile, fitted with the defaults."""
    return fit_firm(load_scenario(TELECOM), workers=1)


@pytest.mark.slow
def test_the_telecom_profile_is_fitted_in_one_step(telecom):
    assert telecom.converged and telecom.iterations <= 10
    fit = telecom.fit.set_index("figure")
    assert fit.loc["churn_per_month", "achieved"] == pytest.approx(0.018, rel=0.02)
    assert fit.loc["nps", "achieved"] == pytest.approx(12.0, abs=1.0)
    assert fit.loc["arpu_per_month", "achieved"] == pytest.approx(40.0, rel=0.01)
    assert fit.loc["contacts_per_customer_per_month", "achieved"] == pytest.approx(0.25, rel=0.02)
    fitted = telecom.scenario
    assert fitted.profile is None and fitted.name == "telecom_fitted"
    # set directly: the stand-in's size, the firm it stands for, warm-up, service level,
    # and the holding cost that makes the capabilities cost the CX budget at the firm's size
    assert fitted.market.size == 20_000 and fitted.market.warm_up_months == 24
    assert fitted.firm.scale.stands_for_customers == 200_000
    assert stand_in_factor(fitted) == pytest.approx(0.03)
    assert fitted.support.contact_centre.target_service_level == 0.8
    held = sum(fitted.capability(c) ** 1.5 for c in CAPABILITIES)
    per_year = fitted.firm.dynamics.holding_cost_per_customer * 200_000 * held * 12
    assert per_year == pytest.approx(3_000_000.0)
    # the levers moved the way the figures asked: more churn, more problems, less revenue
    assert telecom.levers["k_churn"] > 1 and telecom.levers["k_problems"] > 4
    assert telecom.levers["k_revenue"] < 1
    assert len(telecom.history) == telecom.iterations


@pytest.mark.slow
def test_a_fitted_firm_starts_in_its_steady_state(telecom):
    """Month 1 of the fitted firm lies within noise of its steady state: no spike of churn
    or slump of NPS from a market that starts from nothing."""
    result = run(telecom.scenario, replications=8, workers=1)
    ts = result.timeseries
    months = ts.groupby("month")
    churn = months["churned"].sum() / months["active_start"].sum()
    steady = churn.loc[1:FIT_MONTHS].mean()
    spread = churn.loc[1:FIT_MONTHS].std()
    assert abs(churn.loc[1] - steady) < 3 * spread
    assert churn.loc[1] == pytest.approx(0.018, rel=0.15)
    nps = months["nps_true"].mean()
    assert abs(nps.loc[1] - nps.loc[1:FIT_MONTHS].mean()) < 3 * nps.loc[1:FIT_MONTHS].std()
    # the first year's figures are the fit's
    first_year = figures(ts[ts["month"] <= FIT_MONTHS])
    assert first_year["churn_per_month"].mean() == pytest.approx(0.018, rel=0.05)


def test_a_stand_in_resolves_the_firms_own_amounts():
    """A market of 6 000 customers standing for 200 000: the firm's own amounts are written
    for the real firm and resolved to 3 % of them; resolving twice changes nothing."""
    scenario = baseline(
        **{
            "firm.scale.stands_for_customers": 200_000.0,
            "firm.investments": [{"capability": "technology", "per_year": 1_500_000.0}],
            "firm.budget": {"per_month": 100_000.0, "allocation": {"culture": 1.0}},
            "economics.fixed_cost_per_month": 50_000.0,
        }
    )
    resolved = at_own_size(scenario)
    assert resolved.firm.investments[0].per_year == pytest.approx(45_000.0)
    assert resolved.firm.budget.per_month == pytest.approx(3_000.0)
    assert resolved.economics.fixed_cost_per_month == pytest.approx(1_500.0)
    assert resolved.firm.dynamics.cost_scale == scenario.firm.dynamics.cost_scale  # 6 000
    assert at_own_size(resolved) is resolved
    assert at_own_size(baseline()) is not None and stand_in_factor(baseline()) == 1.0


def test_an_unfitted_profile_does_not_run():
    scenario = baseline(**{"profile": {"customers": 6_000.0, "churn_per_month": 0.02}})
    with pytest.raises(ScenarioError, match="fit them first with `cxm fit-firm FILE`"):
        CXModel(scenario)
    with pytest.raises(ScenarioError, match="profile"):
        run(scenario, replications=1, workers=1)


@pytest.mark.slow
def test_cxm_fit_firm_writes_a_runnable_fitted_scenario(tmp_path):
    """CSAT instead of NPS, no stand-in (the firm is small), a short warm-up."""
    source = tmp_path / "shop.yaml"
    source.write_text(
        yaml.safe_dump(
            {
                "extends": str(SCENARIOS / "baseline.yaml"),
                "name": "shop",
                "months": 12,
                "profile": {
                    "customers": 1_500.0,
                    "churn_per_month": 0.02,
                    "csat": 4.1,
                    "arpu_per_month": 60.0,
                    "warm_up_months": 12,
                },
            }
        )
    )
    out = tmp_path / "fitted.yaml"
    status, stdout, stderr = cxm("fit-firm", str(source), "-r", "3", "--out", str(out), "-q")
    assert status == 0, stderr
    assert "csat" in stdout and "ok" in stdout and "stand in" not in stdout
    text = out.read_text()
    assert text.startswith(CALIBRATED_HEADER + "shop_fitted by cxm fit-firm")
    fitted = load_scenario(out)
    assert fitted.profile is None and fitted.firm.scale.stands_for_customers is None
    assert fitted.market.size == 5_000 and fitted.market.warm_up_months == 12
    status, _, stderr = cxm("validate", str(out))
    assert status == 0, stderr
    achieved = figures(run(fitted, replications=3, workers=1).timeseries)
    assert np.mean(achieved["csat"]) == pytest.approx(4.1, abs=0.03)
    assert np.mean(achieved["churn_per_month"]) == pytest.approx(0.02, rel=0.05)
    # a second fit into the same file needs --overwrite
    status, _, stderr = cxm("fit-firm", str(source), "--out", str(out), "-q")
    assert status == 2 and "--overwrite" in stderr


@pytest.mark.parametrize(
    ("profile", "changes", "message"),
    [
        ({"customers": 1e4, "nps": 10, "csat": 4.0}, {}, "give nps or csat, not both"),
        ({"customers": 0.5}, {}, "profile.customers"),
        ({"customers": 1e4, "churn_per_month": 0.0}, {}, "profile.churn_per_month"),
        ({"customers": 1e4, "service_level": 0.8}, {"support": {"mode": "service_level"}},
         "a service level needs a staffed contact centre"),
        ({"customers": 1e4}, {"market": {"initial_customers": 0.0}},
         "a firm to fit needs customers at month 0"),
    ],
)  # fmt: skip
def test_bad_profiles_are_one_line_errors(profile, changes, message):
    with pytest.raises(ScenarioError) as caught:
        scenario = scenario_from_dict({"name": "bad", "profile": profile} | changes, "bad.yaml")
        fit_firm(scenario, max_iterations=1, workers=1)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_cxm_fit_firm_refuses_a_scenario_without_a_profile(tmp_path):
    out = tmp_path / "never.yaml"
    status, stdout, stderr = cxm("fit-firm", str(SCENARIOS / "baseline.yaml"), "--out", str(out))
    assert status == 2 and stdout == "" and stderr.count("\n") == 1
    assert "no profile section" in stderr and not out.exists()


@pytest.mark.slow
def test_the_strategy_sequence_runs_as_documented(tmp_path, monkeypatch):
    """docs/strategy.md's commands, from a copy of the scenario library, in a small stand-in
    and a short horizon: the fit writes results/telecom_fitted.yaml, which the two telecom
    alternatives extend, and the comparison across uncertain channel assumptions reports
    both."""
    shutil.copytree(SCENARIOS, tmp_path / "scenarios")
    monkeypatch.chdir(tmp_path)
    small = ["--set", "profile.simulated_customers=1500", "--set", "profile.warm_up_months=6"]
    status, stdout, stderr = cxm("fit-firm", "scenarios/telecom/profile.yaml", *small, "-q")
    assert status == 0, stderr
    assert "written to results/telecom_fitted.yaml" in stdout and "stand in" in stdout
    status, stdout, stderr = cxm(
        "compare", "results/telecom_fitted.yaml", "scenarios/telecom/contact_centre.yaml",
        "scenarios/telecom/self_service.yaml",
        "--uncertain", "scenarios/uncertainty/channel_effects.yaml", "--samples", "2",
        "-r", "2", "--months", "12", "--workers", "1", "-q",
    )  # fmt: skip
    assert status == 0, stderr
    assert "telecom_contact_centre vs telecom_fitted" in stdout
    assert "telecom_self_service vs telecom_fitted" in stdout
    assert "ROI of extra investment" in stdout and "5–95%" in stdout
    assert "telecom_contact_centre beats telecom_self_service on profit NPV in " in stdout
    # the alternatives spend the telecom's 1.5 million a year, resolved to the stand-in
    alternative = at_own_size(load_scenario("scenarios/telecom/self_service.yaml"))
    assert alternative.firm.investments[0].per_year == pytest.approx(1_500_000 * 1_500 / 200_000)
