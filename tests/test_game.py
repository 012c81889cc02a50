"""The classroom game's engine (`sim.game`): a game folder, the rules of a decision, rounds
that apply every team's decision together, resumption after a crash, and the game as a
replay of its log."""

from __future__ import annotations

import json
import stat

import numpy as np
import pandas as pd
import pytest

from sim.cli.main import main
from sim.errors import CXMError, ScenarioError
from sim.game import engine
from sim.game.engine import Game, replay
from sim.scenario import load_scenario, with_overrides
from tests.conftest import PROJECT_ROOT

BASELINE = PROJECT_ROOT / "scenarios" / "baseline.yaml"
SMALL = {"market.size": 3_000, "support.mode": "erlang"}


@pytest.fixture(scope="module")
def scenario():
    return with_overrides(load_scenario(BASELINE), SMALL)


def _game(folder, scenario, **rules) -> Game:
    settings = {"teams": 3, "rounds": 3, "months_per_round": 2, "budget_per_month": 40_000.0}
    return Game.create(folder, scenario, **(settings | rules))


def test_cxm_game_new_writes_the_market_and_the_codes(tmp_path, capsys):
    out = tmp_path / "class"
    args = ["game", "new", str(BASELINE), "--teams", "3", "--rounds", "4"]
    assert (
        main([*args, "--months-per-round", "2", "--set", "market.size=2000", "--out", str(out)])
        == 0
    )
    printed = capsys.readouterr().out
    settings = json.loads((out / "game.json").read_text())
    assert settings["teams"] == ["team-1", "team-2", "team-3"]
    assert settings["market"]["months"] == 8 and len(settings["market"]["firms"]) == 3
    assert settings["market"]["market"]["size"] == 2000
    secrets = out / "secrets.json"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600  # the codes are the owner's only
    codes = json.loads(secrets.read_text())
    assert codes["teacher"] in printed
    assert all(code in printed for code in codes["teams"].values())
    assert len({codes["teacher"], *codes["teams"].values()}) == 4
    assert json.loads((out / "log.json").read_text()) == []
    # a second game never replaces the first
    assert main(["game", "new", str(BASELINE), "--out", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert json.loads((out / "secrets.json").read_text()) == codes


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--teams", "1"], "--teams: got 1; a whole number from 2 to 32"),
        (["--teams", "33"], "--teams: got 33"),
        (["--rounds", "0"], "--rounds: got 0"),
        (["--months-per-round", "25"], "--months-per-round: got 25"),
        (["--budget", "-1"], "--budget: got -1.0"),
        (["--names", "a,a"], "--teams: got 2 names for 2 teams; name each once"),
        (["--names", "a,b c"], "firms.1.name"),
    ],
)
def test_bad_game_options_are_refused_before_anything_is_written(tmp_path, capsys, args, message):
    out = tmp_path / "class"
    assert main(["game", "new", str(BASELINE), *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_a_code_opens_its_own_team_only(tmp_path, scenario):
    game = _game(tmp_path / "g", scenario)
    codes = game.join_codes()
    for team, code in codes.items():
        assert game.team_of(code) == team
        assert not game.is_teacher(code)
    assert game.team_of(game.teacher_code) is None and game.is_teacher(game.teacher_code)
    for wrong in ("", "x", codes["team-1"][:-1], codes["team-1"] + "x", "team-1"):
        assert game.team_of(wrong) is None and not game.is_teacher(wrong)


@pytest.mark.parametrize(
    ("decision", "path", "message"),
    [
        ({"allocation": {"technology": 30_000, "culture": 15_000}}, "allocation", "budget"),
        ({"allocation": {"technology": -1}}, "allocation.technology", "greater than or equal"),
        ({"allocation": {"magic": 1}}, "allocation.magic", "experience_strategy"),
        ({"price": 2.5}, "price", "less than or equal to 2"),
        ({"price": "cheap"}, "price", "a number"),
        ({"agents": 0}, "agents", "auto"),
        ({"maturity": "heroic"}, "maturity", "transformative"),
        ({"marketing_per_person_per_month": -0.1}, "marketing_per_person_per_month", "0"),
        ({"colour": "red"}, "colour", "unknown key"),
    ],
)
def test_a_decision_that_breaks_a_rule_is_refused_naming_the_field(
    tmp_path, scenario, decision, path, message
):
    game = _game(tmp_path / "g", scenario)
    with pytest.raises(ScenarioError) as caught:
        game.submit("team-2", decision)
    assert caught.value.path == path and message in str(caught.value)
    assert game.submitted() == {}
    assert not any((tmp_path / "g" / "pending").iterdir())


def test_a_round_applies_every_team_s_decision_together(tmp_path, scenario):
    game = _game(tmp_path / "g", scenario)
    game.submit("team-1", {"price": 1.2})
    game.submit("team-2", {"allocation": {"technology": 40_000}, "maturity": "proactive"})
    game.submit("team-2", {"allocation": {"technology": 30_000}})  # replaces the first
    assert set(game.submitted()) == {"team-1", "team-2"}
    board = game.advance()
    assert list(board["rank"]) == [1, 2, 3] and set(board["team"]) == set(game.teams)
    assert board["profit_npv"].is_monotonic_decreasing
    assert board["market_share"].sum() == pytest.approx(1.0)
    series = game.series.set_index(["firm", "month"])
    assert series.loc[("team-2", 1), "investment_cost"] == 30_000.0
    assert series.loc[("team-1", 1), "investment_cost"] == 0.0
    prices = [seat.spec.firm.price for seat in game.model.seats]
    assert prices == [1.2, 1.0, 1.0]
    assert game.model.seats[1].spec.firm.maturity.level == "auto"  # the replaced decision's
    # round 2: nobody submits; every team keeps its decision
    assert game.round == 2 and game.submitted() == {}
    assert game.decision_of("team-2").allocation == {"technology": 30_000.0}
    game.advance()
    assert (
        game.series.set_index(["firm", "month"]).loc[("team-2", 3), "investment_cost"] == 30_000.0
    )
    assert [entry["submitted"] for entry in game.log] == [["team-1", "team-2"], []]


def test_a_game_killed_mid_round_opens_at_its_last_round_with_every_decision(
    tmp_path, scenario, monkeypatch
):
    """A crash after the round's table is written but before the log marks it complete:
    the game opens at that round, with its decisions and events still submitted, and plays
    on to the same numbers as a game never interrupted."""
    plays = [
        {"team-1": {"allocation": {"culture": 20_000}}, "team-3": {"price": 0.9}},
        {"team-2": {"agents": 2, "marketing_per_person_per_month": 1.0}},
        {"team-1": {"maturity": "predictive"}},
    ]
    shock = {"kind": "market_shock", "expectation_rise": 0.01}

    def play(game: Game, number: int) -> None:
        for team, chosen in plays[number - 1].items():
            game.submit(team, chosen)
        if number == 2:
            game.trigger(shock)

    whole = _game(tmp_path / "whole", scenario)
    for number in (1, 2, 3):
        play(whole, number)
        whole.advance()

    game = _game(tmp_path / "broken", scenario)
    play(game, 1)
    game.advance()
    play(game, 2)
    real = engine._write_json

    def crash(path, data):
        if path.name == engine.LOG_FILE:
            raise KeyboardInterrupt  # killed between the round's table and the log
        real(path, data)

    monkeypatch.setattr(engine, "_write_json", crash)
    with pytest.raises(KeyboardInterrupt):
        game.advance()
    monkeypatch.setattr(engine, "_write_json", real)
    assert (tmp_path / "broken" / "rounds" / "round-02.parquet").exists()

    opened = Game.open(tmp_path / "broken")
    assert opened.round == 2 and len(opened.log) == 1
    assert opened.submitted()["team-2"].agents == 2 and set(opened.submitted()) == {"team-2"}
    assert opened.events() == [shock]
    opened.advance()
    play(opened, 3)
    opened.advance()
    assert opened.over
    pd.testing.assert_frame_equal(opened.series, whole.series, check_exact=True)
    assert opened.leaderboard().equals(whole.leaderboard())
    # the shock moved everyone's expectation at the start of round 2
    before = whole.series[whole.series["month"] == 2].set_index("firm")["expectation_mean"]
    after = whole.series[whole.series["month"] == 3].set_index("firm")["expectation_mean"]
    assert (after - before > 0.008).all()


def test_a_game_is_the_replay_of_its_log(tmp_path, scenario):
    game = _game(tmp_path / "g", scenario, rounds=2)
    game.submit("team-3", {"allocation": {"processes": 10_000, "governance": 10_000}})
    game.trigger({"kind": "privacy_incident", "team": "team-1"})
    game.advance()
    game.submit("team-1", {"price": 1.1})
    game.advance()
    log = json.loads((tmp_path / "g" / "log.json").read_text())
    model, series = replay(game.settings, log)
    pd.testing.assert_frame_equal(series, game.series, check_exact=True)
    assert model.month == 4
    incident = series.set_index(["firm", "month"])["privacy_incident"]
    assert incident.loc[("team-1", 1)] == 1.0 and incident.drop(("team-1", 1)).eq(0.0).all()
    stored = pd.concat(
        [pd.read_parquet(tmp_path / "g" / "rounds" / f"round-0{n}.parquet") for n in (1, 2)],
        ignore_index=True,
    )
    pd.testing.assert_frame_equal(stored, game.series, check_exact=True)
    # a table that the log does not replay to is refused
    tampered = stored[stored["round"] == 2].copy()
    tampered.loc[tampered.index[0], "revenue"] += 1.0
    tampered.to_parquet(tmp_path / "g" / "rounds" / "round-02.parquet", index=False)
    with pytest.raises(CXMError, match="round 2 replays to other numbers"):
        Game.open(tmp_path / "g")


def test_events_are_checked_and_a_finished_game_takes_no_more(tmp_path, scenario):
    game = _game(tmp_path / "g", scenario, rounds=1)
    for bad, path in (
        ({"kind": "meteor"}, "kind"),
        ({"kind": "privacy_incident", "team": "team-9"}, "team"),
        ({"kind": "market_shock", "expectation_rise": 0.5}, "expectation_rise"),
        ({"kind": "market_shock", "expectation_rise": True}, "expectation_rise"),
    ):
        with pytest.raises(ScenarioError) as caught:
            game.trigger(bad)
        assert caught.value.path == path
    assert game.events() == []
    game.advance()
    assert game.over and game.round == 2
    with pytest.raises(CXMError, match="over"):
        game.advance()
    with pytest.raises(CXMError, match="over"):
        game.submit("team-1", {})
    assert np.isfinite(game.leaderboard()["profit_npv"]).all()


def test_the_debrief_takes_profit_and_customers_apart_and_replays_the_luck(tmp_path, scenario):
    from sim.game import debrief

    game = _game(tmp_path / "g", scenario, rounds=2)
    game.submit("team-1", {"allocation": {"experience_design": 30_000}})
    game.submit("team-2", {"price": 0.85, "marketing_per_person_per_month": 0.8})
    game.advance()
    game.advance()
    decisions = debrief.decisions_table(game)
    assert len(decisions) == 6 and decisions["submitted"].sum() == 2
    assert decisions.set_index(["round", "team"]).loc[(2, "team-1"), "experience_design"] == 30_000
    drivers = debrief.profit_drivers(game).set_index("team")
    costs = drivers[list(debrief.COST_LINES)].sum(axis=1)
    np.testing.assert_allclose(drivers["margin"] - costs, drivers["profit_npv"], rtol=1e-12)
    present = 30_000 * game.series.query("firm == 'team-1'")["discount_factor"].sum()
    assert drivers.loc["team-1", "investment_cost"] == pytest.approx(present)
    shares = debrief.share_drivers(game)
    won = shares["start"] + shares["won_from_the_market"] + shares["won_from_rivals"]
    assert (won - shares["lost_lapsing"] - shares["lost_to_rivals"] == shares["end"]).all()
    assert shares["won_from_rivals"].sum() == shares["lost_to_rivals"].sum()
    seeds = [game.settings.seed, game.settings.seed + 1, game.settings.seed + 2]
    replays = debrief.luck(game, seeds)
    played = replays[replays["played"]].set_index("team")
    board = game.leaderboard().set_index("team")
    assert (played["profit_npv"] == board["profit_npv"]).all()
    other = replays[~replays["played"]]
    assert (
        set(other["seed"]) == set(seeds[1:])
        and not other["profit_npv"].isin(board["profit_npv"]).any()
    )
    summary = debrief.luck_summary(replays)
    assert summary["wins"].sum() == pytest.approx(1.0) and set(summary["rank_played"]) == {1, 2, 3}


@pytest.mark.slow
def test_cxm_game_report_writes_the_debrief_of_a_played_game(tmp_path, scenario, capsys):
    game = _game(tmp_path / "g", scenario, rounds=1)
    game.submit("team-3", {"price": 0.9})
    game.advance()
    out = tmp_path / "debrief"
    assert main(["game", "report", str(tmp_path / "g"), "--seeds", "2", "--out", str(out)]) == 0
    page = (out / "09_game_debrief.html").read_text()
    assert "Debrief of the classroom game" in page and "data:image/png;base64" in page
    executed = (out / "09_game_debrief.ipynb").read_text()
    assert str(tmp_path / "g") in executed and "wins on" in executed
    assert main(["game", "report", str(tmp_path / "nothing"), "--out", str(tmp_path / "x")]) == 2
    assert "no game here" in capsys.readouterr().err and not (tmp_path / "x").exists()
