"""The classroom game's server (`cxm game serve`), run as a teacher runs it: a process bound
to the loopback address, started and stopped (also killed) by the test, driven over HTTP and
by headless Chromium (Debian's package, through Playwright)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from sim.game.engine import Game, replay
from sim.scenario import load_scenario, with_overrides
from tests.conftest import PROJECT_ROOT, free_port, wait_until_serving

BASELINE = PROJECT_ROOT / "scenarios" / "baseline.yaml"
START_SECONDS = 90


class Server:
    """`cxm game serve FOLDER` in a process of its own, on a free loopback port."""

    def __init__(self, folder: Path, log: Path) -> None:
        self.folder, self.log, self.port = folder, log, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "sim.cli.main", "game", "serve", str(self.folder)]
        with self.log.open("a") as out:
            self.process = subprocess.Popen(
                [*command, "--port", str(self.port)],
                cwd=PROJECT_ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until_serving(self.process, self.url + "/", self.log, START_SECONDS, pause=0.3)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=30)

    def call(
        self, path: str, code: str | None = None, body: object = None, raw: bytes | None = None
    ):
        """(status, JSON answer) of a request."""
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        request = urllib.request.Request(
            self.url + path, data=data, method="POST" if data is not None else "GET"
        )
        if code is not None:
            request.add_header("Authorization", f"Bearer {code}")
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())


@pytest.fixture
def game_folder(tmp_path):
    scenario = with_overrides(
        load_scenario(BASELINE), {"market.size": 3_000, "support.mode": "erlang"}
    )
    Game.create(
        tmp_path / "game",
        scenario,
        teams=3,
        rounds=3,
        months_per_round=2,
        budget_per_month=40_000.0,
    )
    return tmp_path / "game"


@pytest.fixture
def server(game_folder, tmp_path):
    running = Server(game_folder, tmp_path / "server.log")
    running.start()
    try:
        yield running
    finally:
        running.kill(signal.SIGTERM)


def codes(folder: Path) -> dict:
    return json.loads((folder / "secrets.json").read_text())


def test_the_server_answers_each_code_for_its_own_role_only(server, game_folder):
    secret = codes(game_folder)
    teacher, one, two = secret["teacher"], secret["teams"]["team-1"], secret["teams"]["team-2"]
    assert server.call("/api/login", body={"code": one}) == (
        200,
        {"role": "team", "team": "team-1"},
    )
    assert server.call("/api/login", body={"code": teacher})[1]["role"] == "teacher"
    assert server.call("/api/login", body={"code": one + "x"})[0] == 401
    assert server.call("/api/state")[0] == 401
    assert server.call("/api/state", code="nonsense")[0] == 401
    status, state = server.call("/api/state", code=one)
    assert status == 200 and state["firm"]["team"] == "team-1" and "codes" not in state
    status, state = server.call("/api/state", code=teacher)
    assert status == 200 and state["codes"] == secret["teams"] and "firm" not in state
    # a team reads and decides for its own firm only
    assert server.call("/api/teams/team-2", code=one)[0] == 403
    status, answer = server.call("/api/teams/team-2/decision", code=one, body={"price": 1.9})
    assert status == 403 and "own firm" in answer["error"]
    assert server.call("/api/teams/team-9/decision", code=one, body={})[0] == 404
    assert server.call("/api/teams/team-2", code=teacher)[0] == 200  # the teacher reads all
    assert server.call("/api/teams/team-1/decision", code=teacher, body={})[0] == 403
    # only the teacher plays a round or triggers an event
    assert server.call("/api/advance", code=two, body={})[0] == 403
    assert server.call("/api/events", code=two, body={"kind": "market_shock"})[0] == 403
    assert server.call("/api/state", code=teacher)[1]["round"] == 1
    assert not any((game_folder / "pending").iterdir())


def test_the_server_checks_every_input_itself(server, game_folder):
    one = codes(game_folder)["teams"]["team-1"]
    path = "/api/teams/team-1/decision"
    for body, field, words in (
        ({"allocation": {"technology": 30_000, "culture": 20_000}}, "allocation", "budget"),
        ({"allocation": {"culture": -10}}, "allocation.culture", "greater than or equal to 0"),
        ({"price": 0.1}, "price", "greater than or equal to 0.5"),
        ({"team": "team-2"}, "team", "unknown key"),
    ):
        status, answer = server.call(path, code=one, body=body)
        assert status == 400 and answer["field"] == field and words in answer["error"], answer
    assert server.call(path, code=one, raw=b"{not json")[0] == 400
    assert server.call(path, code=one, raw=b"[1, 2]")[0] == 400
    assert server.call(path, code=one, raw=b" " * 20_000)[0] == 413
    teacher = codes(game_folder)["teacher"]
    status, answer = server.call(
        "/api/events", code=teacher, body={"kind": "market_shock", "expectation_rise": 1}
    )
    assert status == 400 and answer["field"] == "expectation_rise"
    assert not any((game_folder / "pending").iterdir())  # nothing refused was kept


def test_a_killed_server_goes_on_where_it_was(server, game_folder):
    """SIGKILL after round 1 with decisions submitted for round 2: started again, the game is
    at round 2 with those decisions and the same leaderboard, and its final results are the
    headless replay of its log."""
    secret = codes(game_folder)
    teacher, teams = secret["teacher"], secret["teams"]
    server.call(
        "/api/teams/team-1/decision",
        code=teams["team-1"],
        body={"allocation": {"technology": 40_000}},
    )
    server.call("/api/teams/team-3/decision", code=teams["team-3"], body={"price": 0.85})
    assert server.call("/api/advance", code=teacher, body={})[0] == 200
    server.call(
        "/api/teams/team-2/decision",
        code=teams["team-2"],
        body={"agents": 2, "maturity": "proactive"},
    )
    server.call("/api/events", code=teacher, body={"kind": "privacy_incident", "team": "team-3"})
    before = server.call("/api/state", code=teacher)[1]
    server.kill(signal.SIGKILL)
    server.start()
    after = server.call("/api/state", code=teacher)[1]
    assert after["round"] == 2 and after["submitted"] == ["team-2"]
    assert after["leaderboard"] == before["leaderboard"] and after["events"] == before["events"]
    for _ in range(2):
        assert server.call("/api/advance", code=teacher, body={})[0] == 200
    final = server.call("/api/state", code=teacher)[1]
    assert final["over"] and server.call("/api/advance", code=teacher, body={})[0] == 409
    game = Game.open(game_folder)
    _, series = replay(game.settings, json.loads((game_folder / "log.json").read_text()))
    pd.testing.assert_frame_equal(series, game.series, check_exact=True)
    board = game.leaderboard()
    assert [row["team"] for row in final["leaderboard"]] == list(board["team"])
    assert [row["profit_npv"] for row in final["leaderboard"]] == pytest.approx(
        list(board["profit_npv"]), rel=1e-12
    )
    assert game.log[1]["decisions"]["team-2"]["agents"] == 2
    assert game.log[1]["events"] == [{"kind": "privacy_incident", "team": "team-3"}]


def test_the_server_binds_to_this_machine_unless_told(game_folder, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "sim.cli.main", "game", "serve", str(tmp_path / "nothing")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2 and "no game here" in done.stderr and "Traceback" not in done.stderr
    from sim.cli.game import DEFAULT_HOST

    assert DEFAULT_HOST == "127.0.0.1"


# ---------------------------------------------------------------------------- in a browser


def sign_in(browser, url: str, code: str):
    """A new browser context (a machine of its own) signed in with `code`; the page and the
    problems it meets (failed requests, script errors)."""
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    problems: list[str] = []
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    page.on("pageerror", lambda e: problems.append(f"error: {e}"))
    page.goto(url + "/")
    page.fill("#code", code)
    page.click("#join")
    page.locator("#app").wait_for(state="visible", timeout=30_000)
    return context, page, problems


@pytest.mark.slow
def test_a_teacher_and_three_teams_play_in_their_browsers(server, game_folder, browser):
    secret = codes(game_folder)
    contexts = []
    try:
        teacher_context, teacher, teacher_problems = sign_in(browser, server.url, secret["teacher"])
        contexts.append(teacher_context)
        teams = {}
        for name, code in secret["teams"].items():
            context, page, problems = sign_in(browser, server.url, code)
            contexts.append(context)
            teams[name] = (page, problems)
        # every team sees its own firm; the teacher sees every join code
        for name, (page, _) in teams.items():
            assert page.locator("#team-name").inner_text() == name
            assert page.locator("#teacher").is_hidden()
        codes_table = teacher.locator("#codes").inner_text()
        assert all(code in codes_table for code in secret["teams"].values())

        # round 1: team 1 tries to overspend, and is refused with the field named
        one = teams["team-1"][0]
        one.fill("#alloc-technology", "30000")
        one.fill("#alloc-culture", "20000")
        one.click("#submit")
        one.locator("#decision-msg.error").wait_for(timeout=10_000)
        assert "allocation" in one.locator("#decision-msg").inner_text()
        assert "budget" in one.locator("#decision-msg").inner_text()
        # … and to submit for team 2 with its own code, which the server refuses
        answer = one.evaluate(
            """async () => {
                const code = sessionStorage.getItem("cxm-game-code");
                const r = await fetch("/api/teams/team-2/decision", {method: "POST",
                  headers: {"Authorization": "Bearer " + code, "Content-Type": "application/json"},
                  body: JSON.stringify({price: 2.0})});
                return [r.status, (await r.json()).error];
            }"""
        )
        assert answer[0] == 403 and "own firm" in answer[1]
        one.fill("#alloc-culture", "10000")
        one.click("#submit")
        one.locator("#decision-msg.ok").wait_for(timeout=10_000)
        three = teams["team-3"][0]
        three.fill("#price", "0.9")
        three.click("#submit")
        three.locator("#decision-msg.ok").wait_for(timeout=10_000)
        teacher.locator("#codes", has_text="yes").wait_for(timeout=10_000)
        teacher.click("#advance")
        teacher.locator("#advance-msg", has_text="Round 2 is open").wait_for(timeout=60_000)
        board_after_one = teacher.locator("#leaderboard").inner_text()
        assert all(name in board_after_one for name in teams)

        # the server is killed and started again: the pages go on, the leaderboard intact
        server.kill(signal.SIGKILL)
        server.start()
        teacher.reload()
        teacher.locator("#round", has_text="2").wait_for(timeout=30_000)
        teacher.locator("#leaderboard", has_text="team-1").wait_for(timeout=30_000)
        assert teacher.locator("#leaderboard").inner_text() == board_after_one

        # round 2: team 2 staffs its contact centre; the teacher plays the round
        two = teams["team-2"][0]
        two.reload()
        two.locator("#team-name", has_text="team-2").wait_for(timeout=30_000)
        two.fill("#agents", "2")
        two.click("#submit")
        two.locator("#decision-msg.ok").wait_for(timeout=10_000)
        teacher.click("#advance")
        teacher.locator("#advance-msg", has_text="Round 3 is open").wait_for(timeout=60_000)
        # each team's dashboard shows its own months and touchpoints
        two.locator("#touchpoints", has_text="support_contact").wait_for(timeout=30_000)
        assert two.locator("#firm-active polyline").count() == 1
        assert teacher.locator("#share-chart polyline").count() == 3

        game = Game.open(game_folder)
        assert game.log[0]["decisions"]["team-1"]["allocation"] == {
            "technology": 30_000.0,
            "culture": 10_000.0,
        }
        assert game.log[0]["decisions"]["team-3"]["price"] == 0.9
        assert game.log[1]["decisions"]["team-2"]["agents"] == 2
        _, series = replay(game.settings, game.log)
        pd.testing.assert_frame_equal(series, game.series, check_exact=True)
        problems = teacher_problems + [p for _, (_, ps) in teams.items() for p in ps]
        # the only failed requests are the pages' polls while the server was down
        assert all("/api/state" in p for p in problems if p.startswith("failed")), problems
        assert not [p for p in problems if p.startswith("error")], problems
    finally:
        for context in contexts:
            context.close()
