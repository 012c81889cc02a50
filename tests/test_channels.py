"""Support channels (sim/support/channels.py, docs/model.md §6.4): contacts start in the
phone, chat or self-service by the channels' shares; self-service that works deflects
contacts from the contact centre and lowers its cost, self-service that fails comes back as
a phone contact with more effort; investment raises a channel's level; a phone-only section
changes nothing; bad channel sections are one-line errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_notebook_runner import cxm

from sim.errors import OptionError, ScenarioError
from sim.experiments.optimise import optimise_allocation
from sim.experiments.runs import finished_model
from sim.metrics import NAMES
from sim.results import PROJECT_ROOT
from sim.scenario import Channels, Scenario, load_scenario, scenario_from_dict, with_overrides
from sim.scenario.sizing import at_own_size
from sim.support.channels import starting_channel

SCENARIOS = PROJECT_ROOT / "scenarios"
PHONE_ONLY = {"phone": {"share": 1.0}}
LEVELS = ("phone_level", "chat_level", "self_service_level")


def baseline(**changes: object) -> Scenario:
    return with_overrides(load_scenario(SCENARIOS / "baseline.yaml"), changes)


def series(scenario: Scenario, replication: int = 0) -> pd.DataFrame:
    return finished_model(scenario, scenario.seed, replication, "vector").recorder.timeseries()


def busy(**changes: object) -> Scenario:
    """A market with a contact centre of several agents: the baseline with eight times its
    product problems, 12 months."""
    return baseline(
        **{
            "market.size": 40_000,
            "months": 12,
            "touchpoints.product_use.problem_probability": 0.24,
        }
        | changes
    )


def test_a_phone_only_section_reproduces_the_run_without_channels():
    plain = baseline(**{"market.size": 3_000, "months": 12})
    phone = with_overrides(plain, {"support.channels": PHONE_ONLY})
    a, b = series(plain), series(phone)
    for column in NAMES:
        if column not in LEVELS:
            pd.testing.assert_series_equal(a[column], b[column], check_names=False, obj=column)
    assert a["phone_level"].isna().all() and (b["phone_level"] == 2.5).all()
    assert (b[["chat_contacts", "self_service_sessions", "channel_cost"]] == 0).all().all()


def test_contacts_start_in_each_channel_by_its_share():
    channels = Channels.model_validate(
        {"phone": {"share": 0.5}, "chat": {"share": 0.3}, "self_service": {"share": 0.2}}
    )
    n = 10_000
    start = starting_channel((np.arange(n) + 0.5) / n, channels)
    assert np.bincount(start).tolist() == [5_000, 3_000, 2_000]
    only_chat = Channels.model_validate({"phone": {"share": 0.0}, "chat": {"share": 1.0}})
    assert (starting_channel(np.array([0.0, 0.5, 0.999999]), only_chat) == 1).all()


@pytest.fixture(scope="module")
def deflection():
    """The busy market by phone only, and with 40 % of first contacts starting in a
    self-service that resolves 60 % of its sessions (24 % of contacts deflected)."""
    phone = busy(**{"support.channels": PHONE_ONLY})
    digital = busy(
        **{
            "support.channels": {
                "phone": {"share": 0.6},
                "self_service": {"share": 0.4, "resolution": 0.6},
            }
        }
    )
    return series(phone), series(digital)


def test_self_service_that_works_deflects_contacts_and_cuts_the_centres_cost(deflection):
    phone, digital = deflection
    assert phone["agents"].mean() > 3  # a centre of several agents, staffed to its load
    sessions, resolved = digital["self_service_sessions"].sum(), digital["self_service_resolved"]
    assert resolved.sum() / sessions == pytest.approx(0.6, abs=0.02)
    # the sessions that worked never reach the centre
    first_phone = phone["contacts"] - phone["repeat_contacts"]
    first_digital = digital["contacts"] - digital["repeat_contacts"]
    deflected = 1 - first_digital.sum() / first_phone.sum()
    assert deflected == pytest.approx(0.4 * 0.6, abs=0.02)
    assert digital["contacts"].sum() < 0.8 * phone["contacts"].sum()
    # a smaller centre: fewer agents on duty, less staffing and contact cost (less than in
    # proportion: a smaller centre pools less, and every opening hour keeps one agent)
    assert digital["agents"].mean() < 0.92 * phone["agents"].mean()
    assert digital["staffing_cost"].sum() < 0.92 * phone["staffing_cost"].sum()
    assert digital["support_cost"].sum() < 0.8 * phone["support_cost"].sum()
    # the sessions themselves cost their cost per session (no level bought: no holding)
    assert digital["channel_cost"].sum() == pytest.approx(0.25 * sessions)


def first_month(channels: dict[str, object]) -> pd.DataFrame:
    """The busy market's first month with these channels."""
    return series(busy(**{"months": 1, "support.channels": channels}))


def only_self_service(resolution: float) -> dict[str, object]:
    """Every first contact starts in self-service, which resolves `resolution` of them."""
    return {"phone": {"share": 0.0}, "self_service": {"share": 1.0, "resolution": resolution}}


def test_failed_self_service_comes_back_as_a_phone_contact_with_more_effort():
    a, b = first_month(PHONE_ONLY), first_month(only_self_service(0.0))
    # the same customers reach the same centre on the same numbers ...
    for column in ("contacts", "repeat_contacts", "abandoned_contacts", "agents", "problems"):
        assert b[column].iloc[0] == a[column].iloc[0], column
    first = b["contacts"].iloc[0] - b["repeat_contacts"].iloc[0]
    assert b["self_service_sessions"].iloc[0] == first
    assert b["self_service_resolved"].iloc[0] == 0
    # ... after a session that failed: more effort, lower satisfaction
    assert b["effort_mean"].iloc[0] > a["effort_mean"].iloc[0] + 0.005
    assert b["ces_true"].iloc[0] > a["ces_true"].iloc[0]
    assert b["satisfaction_mean"].iloc[0] < a["satisfaction_mean"].iloc[0]


def test_self_service_that_always_works_lowers_effort_and_empties_the_centre():
    a, b = first_month(PHONE_ONLY), first_month(only_self_service(1.0))
    assert b["contacts"].iloc[0] == 0 and b["self_service_resolved"].iloc[0] > 1_000
    assert b["staffing_cost"].iloc[0] < a["staffing_cost"].iloc[0] / 3  # the minimum of one agent
    assert b["effort_mean"].iloc[0] < a["effort_mean"].iloc[0]


def test_chat_serves_its_share_with_its_own_waits_and_cost():
    chat = busy(
        **{
            "months": 3,
            "support.channels": {
                "phone": {"share": 0.5},
                "chat": {"share": 0.5, "first_contact_resolution": 1.0, "cost_per_contact": 5.0},
            },
        }
    )
    phone = busy(**{"months": 3, "support.channels": PHONE_ONLY})
    a, b = series(phone), series(chat)
    first = a["contacts"] - a["repeat_contacts"]
    assert (b["chat_contacts"] / first).mean() == pytest.approx(0.5, abs=0.03)
    assert b["channel_cost"].sum() == pytest.approx(5.0 * b["chat_contacts"].sum())
    assert b["contacts"].sum() < 0.6 * a["contacts"].sum()


def test_investment_raises_a_channels_level_and_resolution():
    base = with_overrides(
        load_scenario(SCENARIOS / "omnichannel.yaml"), {"market.size": 20_000, "months": 24}
    )
    invested = with_overrides(
        base,
        {"firm.investments": [{"channel": "self_service", "per_month": 10_000.0}]},
    )
    budgeted = with_overrides(
        base, {"firm.budget": {"per_month": 10_000.0, "allocation": {"chat": 1.0}}}
    )
    a, b, c = series(base), series(invested), series(budgeted)
    assert (a["self_service_level"] == 2.5).all()
    assert b["self_service_level"].iloc[-1] > 3.5 and (b["phone_level"] == 2.5).all()
    assert c["chat_level"].iloc[-1] > 3.5 and (c["self_service_level"] == 2.5).all()
    assert (b["investment_cost"] == 10_000.0).all() and (c["investment_cost"] == 10_000.0).all()
    rate = b["self_service_resolved"] / b["self_service_sessions"]
    base_rate = a["self_service_resolved"].sum() / a["self_service_sessions"].sum()
    assert rate.iloc[-6:].mean() > base_rate + 0.05
    # holding the higher level costs more than the base's channels
    assert b["channel_cost"].iloc[-1] > a["channel_cost"].iloc[-1]


def test_the_channels_cost_scale_follows_the_firms_size():
    small = with_overrides(
        load_scenario(SCENARIOS / "omnichannel.yaml"), {"market.size": 5_000}
    )  # a quarter of the reference firm
    assert at_own_size(small).support.channels.cost_scale == pytest.approx(37_500.0)
    assert at_own_size(baseline(**{"market.size": 5_000})).support.channels is None


@pytest.mark.parametrize(
    ("changes", "path", "message"),
    [
        (
            {"support": {"channels": {"phone": {"share": 0.5}, "chat": {"share": 0.4}}}},
            "support.channels",
            "shares must sum to 1",
        ),
        (
            {"support": {"channels": {"phone": {"share": 0.5}, "self_service": {
                "share": 0.5, "fallback": "chat"}}}},
            "support.channels",
            "not open",
        ),
        (
            {"support": {"channels": {}}},
            "support.channels",
            "open at least one channel",
        ),
        (
            {"firm": {"investments": [{"channel": "chat", "per_month": 1_000.0}]}},
            "firm.investments.0.channel",
            "open: none",
        ),
        (
            {
                "support": {"channels": {"phone": {"share": 1.0}}},
                "firm": {"budget": {"per_month": 1_000.0, "allocation": {"self_service": 1.0}}},
            },
            "firm.budget.allocation.self_service",
            "open: phone",
        ),
        (
            {"firm": {"investments": [
                {"channel": "chat", "capability": "culture", "per_month": 1.0}]}},
            "firm.investments.0",
            "exactly one of capability or channel",
        ),
    ],
)  # fmt: skip
def test_bad_channel_sections_are_one_line_errors(changes, path, message):
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict({"name": "bad"} | changes, source="bad.yaml")
    text = str(caught.value)
    assert "\n" not in text and "bad.yaml" in text and path in text and message in text


def test_cxm_validate_refuses_a_channel_that_is_not_open(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "extends: " + str(SCENARIOS / "omnichannel.yaml") + "\nname: bad\n"
        "support:\n  channels:\n    chat: null\n    phone: {share: 0.8}\n"
        "firm:\n  investments:\n    - {channel: chat, per_year: 1000}\n"
    )
    status, _, stderr = cxm("validate", str(path))
    assert status == 2 and "Traceback" not in stderr
    assert "firm.investments.0.channel" in stderr and "open: phone, self_service" in stderr


@pytest.mark.slow
def test_optimise_over_channels_puts_the_budget_where_it_works():
    """Self-service alone gains from its level (phone and chat: no effect of their levels,
    and their contacts are all the same), so the budget goes to self-service."""
    scenario = with_overrides(
        load_scenario(SCENARIOS / "omnichannel.yaml"),
        {
            "market.size": 4_000,
            "months": 12,
            "support.mode": "service_level",
            "firm.dynamics.lag_months": 1.0,
            "firm.quality_per_level": 0.0,
            "support.channels.phone.resolution_per_level": 0.0,
            "support.channels.chat.resolution_per_level": 0.0,
            "support.channels.self_service.resolution_per_level": 0.2,
            "support.channels.self_service.effort_shift": -0.3,
            "support.channels.self_service.share": 0.6,
            "support.channels.phone.share": 0.2,
        },
    )
    result = optimise_allocation(
        scenario, budget_per_month=30_000.0, over="channels", objective="retention",
        replications=2, seed=3, max_evaluations=8, workers=1,
    )  # fmt: skip
    assert set(result.allocation) == {"phone", "chat", "self_service"}
    assert result.best_single == "self_service"
    assert result.allocation["self_service"] >= 0.8


def test_optimise_over_channels_needs_open_channels():
    plain = baseline(**{"market.size": 2_000, "months": 6})
    with pytest.raises(OptionError, match="opens 0 support channel"):
        optimise_allocation(plain, budget_per_month=1_000.0, over="channels")
    omni = with_overrides(load_scenario(SCENARIOS / "omnichannel.yaml"), {"months": 6})
    with pytest.raises(OptionError, match="'video' is not a channel"):
        optimise_allocation(
            omni, budget_per_month=1_000.0, over="channels", capabilities=["phone", "video"]
        )
    with pytest.raises(OptionError, match="over"):
        optimise_allocation(omni, budget_per_month=1_000.0, over="touchpoints")
