"""The support desk: the contact centre's two modes, and its coupling with the journey."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.cli.main import main
from sim.errors import ScenarioError
from sim.experiments.runs import compare, run_replication
from sim.metrics import DESK_METRICS
from sim.results import PROJECT_ROOT
from sim.scenario import Support, load_scenario, scenario_from_dict, with_overrides
from sim.stats import mean_interval
from sim.support.contact_centre import erlang_a
from sim.support.desk import ContactCentreDesk, ServiceLevelDesk, desk_for

SCENARIOS = PROJECT_ROOT / "scenarios"

CENTRE_COLUMNS = [*DESK_METRICS, "contacts", "repeat_contacts", "agents", "staffing_cost"]


def month_of_contacts(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    draws = np.random.default_rng(seed)
    return draws.random(n, dtype=np.float32), draws.random(n, dtype=np.float32)


@pytest.mark.slow
def test_simpy_and_erlang_modes_agree_on_a_month_of_contacts():
    # 5,000 first contacts over 220 hours: about 32 contacts an hour with repeats, offered
    # to 4 agents (3.8 erlangs); the simulated period holds about 40,000 contacts.
    centre = {"agents": 4, "min_simulated_contacts": 40_000, "max_simulated_contacts": 40_000}
    centre |= {"reuse_tolerance": 0.0}
    u_wait, u_resolve = month_of_contacts(5000)
    simpy = ContactCentreDesk(Support(mode="simpy", contact_centre=centre))
    erlang = ContactCentreDesk(Support(mode="erlang", contact_centre=centre))
    a = simpy.serve(1, u_wait, u_resolve, rng=np.random.default_rng(7))
    b = erlang.serve(1, u_wait, u_resolve)
    # Each customer's outcome is the quantile of their own draw, so both modes give the same
    # customers the long waits; what differs is the law of the waits (exponential in Erlang
    # mode) and the simulated period's noise. Over 12 seeds of the period the differences
    # averaged 0 with standard deviations of 1.8% (mean wait), 0.006 (hang-up share), 2.2%
    # (ASA), 0.005 (abandon rate), 0.007 (service level) and 0.004 (occupancy); the
    # tolerances are about 4 of those.
    assert a.wait_minutes.mean() == pytest.approx(b.wait_minutes.mean(), rel=0.08)
    assert a.abandoned.mean() == pytest.approx(b.abandoned.mean(), abs=0.025)
    assert a.metrics["asa_seconds"] == pytest.approx(b.metrics["asa_seconds"], rel=0.09)
    assert a.metrics["abandon_rate"] == pytest.approx(b.metrics["abandon_rate"], abs=0.02)
    assert a.metrics["service_level"] == pytest.approx(b.metrics["service_level"], abs=0.03)
    assert a.metrics["occupancy"] == pytest.approx(b.metrics["occupancy"], abs=0.018)
    assert a.metrics["aht_seconds"] == pytest.approx(420.0, rel=0.02)
    assert 0.05 < b.abandoned.mean() < 0.3  # a loaded centre, not a trivial one
    # A caller who hangs up never has the problem resolved.
    assert not (a.resolved & a.abandoned).any() and not (b.resolved & b.abandoned).any()


def test_a_customer_with_a_higher_draw_meets_a_worse_outcome():
    desk = ContactCentreDesk(Support(mode="erlang", contact_centre={"agents": 2}))
    u_wait = np.linspace(0.0, 0.999, 400, dtype=np.float32)
    outcome = desk.serve(1, u_wait, np.zeros(400, dtype=np.float32))
    gave_up = np.flatnonzero(outcome.abandoned)
    assert gave_up.size and (np.diff(gave_up) == 1).all() and gave_up[-1] == 399
    answered = outcome.wait_minutes[: gave_up[0]]
    # The lowest draws are answered at once; above them waits rise strictly with the draw.
    waited = np.flatnonzero(answered > 0)
    assert answered[0] == 0.0 and waited.size
    assert (answered[: waited[0]] == 0).all() and (np.diff(answered[waited[0] :]) > 0).all()


def test_erlang_mode_offers_the_first_contacts_and_their_repeats():
    """The offered rate is the fixed point: first contacts, plus one repeat for each that is
    not resolved, plus one for each other whose caller hangs up at the Erlang A rate."""
    desk = ContactCentreDesk(Support(mode="erlang", contact_centre={"agents": 1}))
    rate = desk.calls_per_hour(400, 100, 420.0)
    abandon = erlang_a(rate, 420.0, 1, 240.0).abandon_rate
    assert rate == pytest.approx((400 + 100 + abandon * 300) / 220.0, rel=1e-6)
    assert rate > 500 / 220.0


def test_service_level_desk_keeps_its_exponential_waits():
    settings = Support(mode="service_level", mean_wait_minutes=4.0)
    assert isinstance(desk_for(settings), ServiceLevelDesk)
    u_wait, u_resolve = month_of_contacts(20_000)
    outcome = desk_for(settings).serve(1, u_wait, u_resolve, wait_factor=1.5)
    assert outcome.wait_minutes.mean() == pytest.approx(6.0, rel=0.03)
    assert not outcome.abandoned.any()
    assert outcome.metrics["service_level"] == pytest.approx(1 - np.exp(-20 / 360), rel=1e-9)


def small(scenario):
    """A fifth of the baseline market, open a fifth of the hours: the centre's load per hour
    is the full market's, at a fifth of the cost."""
    hours = scenario.support.contact_centre.hours_per_month * 4000 / scenario.market.size
    return with_overrides(
        scenario,
        {"market.size": 4000, "months": 24, "support.contact_centre.hours_per_month": hours},
    )


def small_hours(scenario):
    """The conftest baseline (4,000 people) with its opening hours shrunk in proportion."""
    return with_overrides(scenario, {"support.contact_centre.hours_per_month": 44.0})


def per_replication(run, column: str, how: str = "mean") -> np.ndarray:
    return run.timeseries.groupby("replication")[column].agg(how).to_numpy()


@pytest.mark.slow
def test_fewer_agents_mean_longer_waits_more_effort_less_satisfaction():
    well = small(load_scenario(SCENARIOS / "well_staffed_support.yaml"))
    under = small(load_scenario(SCENARIOS / "understaffed_support.yaml"))
    comparison = compare(well, under, replications=8, seed=5, workers=1)
    base, alt = comparison.runs

    def difference(column: str) -> dict:
        return mean_interval(per_replication(alt, column) - per_replication(base, column))

    # Monthly means per replication, paired by replication (common random numbers).
    for column in ("asa_seconds", "abandon_rate", "repeat_contacts", "effort_mean", "ces_true"):
        assert difference(column)["ci_low"] > 0, column
    for column in ("service_level", "satisfaction_mean"):
        assert difference(column)["ci_high"] < 0, column
    assert difference("asa_seconds")["mean"] > 30.0
    # The support contact itself is experienced much worse.
    support = [
        run.touchpoints.query("touchpoint == 'support_contact'")
        .groupby("replication")["satisfaction"]
        .mean()
        .to_numpy()
        for run in (base, alt)
    ]
    assert mean_interval(support[1] - support[0])["ci_high"] < -0.05
    # Churn moves little at this size (only customers with a problem meet the centre; at
    # full size it rises, see docs/contact_centre.md): its interval must not exclude more.
    summary = comparison.summary.set_index("metric")
    assert summary.loc["churned_total", "ci_high"] > 0
    # The thin centre saves two agents' pay every month.
    assert difference("staffing_cost")["mean"] == pytest.approx(-2 * 3500.0)


@pytest.mark.slow
def test_same_seed_same_contact_centre_metrics(baseline):
    a, _ = run_replication(small_hours(baseline), seed=3, replication=1)
    b, _ = run_replication(small_hours(baseline), seed=3, replication=1)
    pd.testing.assert_frame_equal(a[CENTRE_COLUMNS], b[CENTRE_COLUMNS])
    agents = baseline.support.contact_centre.agents
    assert a["asa_seconds"].notna().all() and (a["agents"] == agents).all()
    assert (a["staffing_cost"] == agents * 3500.0).all()
    c, _ = run_replication(small_hours(baseline), seed=4, replication=1)
    assert not np.array_equal(a["asa_seconds"], c["asa_seconds"])


@pytest.mark.slow
def test_engaged_staff_handle_contacts_faster(baseline):
    def run_with(engagement: float, culture: float, mode: str) -> pd.DataFrame:
        scenario = with_overrides(
            small_hours(baseline),
            {
                "support.mode": mode,
                "firm.employees.initial_engagement": engagement,
                "firm.capabilities.culture": culture,
                "months": 12,
            },
        )
        return run_replication(scenario, seed=2, replication=0)[0]

    high, low = run_with(0.9, 5.0, "simpy"), run_with(0.1, 0.0, "simpy")
    assert high["engagement"].mean() > low["engagement"].mean() + 0.3
    assert high["aht_seconds"].mean() < low["aht_seconds"].mean() - 40.0
    # Erlang mode takes the handle time exactly: 420 s × (1 − 0.3 × (engagement − 0.5)),
    # with the engagement the month starts with (the previous month's closing value).
    exact = run_with(0.9, 5.0, "erlang")
    start = np.concatenate([[0.9], exact["engagement"].to_numpy()[:-1]])
    np.testing.assert_allclose(exact["aht_seconds"], 420.0 * (1 - 0.3 * (start - 0.5)))


@pytest.mark.slow
def test_staffing_cost_is_a_cost_line_in_every_month(baseline):
    supplier = with_overrides(
        small_hours(baseline), {"support.sourcing.option": "transactional_supplier"}
    )
    unpaid = with_overrides(supplier, {"support.contact_centre.agent_cost_per_month": 0.0})
    paid_ts, _ = run_replication(supplier, seed=1, replication=0)
    unpaid_ts, _ = run_replication(unpaid, seed=1, replication=0)
    # Each agent costs 3,500 a month, times the supplier's cost factor 0.6; nothing else moves.
    pay = supplier.support.contact_centre.agents * 3500.0 * 0.6
    np.testing.assert_allclose(paid_ts["staffing_cost"], pay)
    np.testing.assert_allclose(unpaid_ts["profit"] - paid_ts["profit"], pay)
    np.testing.assert_allclose(paid_ts["churned"], unpaid_ts["churned"])
    plain, _ = run_replication(
        with_overrides(baseline, {"support.mode": "service_level"}), seed=1, replication=0
    )
    assert (plain["staffing_cost"] == 0.0).all() and (plain["agents"] == 0).all()
    assert plain["aht_seconds"].isna().all() and (plain["abandon_rate"] == 0).all()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("agents", 0),
        ("aht_seconds", -3),
        ("handle_time", "gamma"),
        ("patience_seconds", 0),
        ("answer_within_seconds", -1),
    ],
)
def test_bad_contact_centre_settings_name_the_field(field, value):
    raw = {"name": "bad", "support": {"contact_centre": {field: value}}}
    with pytest.raises(ScenarioError) as error:
        scenario_from_dict(raw)
    assert error.value.path == f"support.contact_centre.{field}"
    assert f"support.contact_centre.{field}" in str(error.value)


def test_unknown_mode_is_refused():
    with pytest.raises(ScenarioError, match=r"support\.mode"):
        scenario_from_dict({"name": "bad", "support": {"mode": "queue"}})


@pytest.mark.parametrize(
    "setting", ["agents: 0", "aht_seconds: -3", "handle_time: weibull"], ids=str
)
def test_bad_contact_centre_settings_exit_2_from_the_command_line(
    setting, scenario_file, capsys, tmp_path
):
    path = scenario_file(
        f"extends: {SCENARIOS / 'baseline.yaml'}\nsupport:\n  contact_centre:\n    {setting}\n"
    )
    assert main(["validate", str(path)]) == 2
    assert main(["run", str(path), "--quiet", "--out", str(tmp_path / "out")]) == 2
    field = setting.split(":")[0]
    assert f"support.contact_centre.{field}" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
