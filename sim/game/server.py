"""The classroom game's server: the teacher's and the teams' pages, and the JSON API they use.

`app(folder)` serves one game folder (`sim.game.engine.Game`) with Starlette; `cxm game serve`
runs it with uvicorn, on the loopback address unless told otherwise. Whoever calls the API
says who they are with their code in an ``Authorization: Bearer CODE`` header: the teacher's
code, or a team's join code (`Game.is_teacher`, `Game.team_of`: compared in constant time).
Every input is checked here, on the server, whatever the page already checked.

- ``GET /`` (anyone): the page; it asks for a code, then shows the teacher's or the team's
  view;
- ``POST /api/login`` (anyone with a code): ``{"code"}`` → the role and the team it opens;
- ``GET /api/state`` (the teacher, the teams): the round, who has submitted, the
  leaderboard, the market; the teacher also gets the codes and the events, a team its firm;
- ``GET /api/teams/NAME`` (the teacher, team NAME): the firm's dashboard;
- ``POST /api/teams/NAME/decision`` (team NAME): the round's decision (400 naming the field
  when it breaks a rule);
- ``POST /api/advance`` (the teacher): play the round;
- ``POST /api/events`` (the teacher): a privacy incident or a market shock for the next round.

Answers: 401 without a valid code, 403 for another team's firm or a teacher's control, 400
for a bad input (``{"error", "field"}``), 409 when the game is over, 413 for a body over
`MAX_BODY` bytes. Changes go through one lock, and every change is written to the game folder
before the answer (the engine's atomic files), so killing the server loses nothing.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from sim.errors import ScenarioError
from sim.game.engine import Game
from sim.game.page import PAGE
from sim.market import FIRM_COLUMN
from sim.results import finite
from sim.scenario.firm import CAPABILITIES

MAX_BODY = 16_384
"""Largest request body the server reads, bytes."""
DASHBOARD = (
    "active",
    "market_share",
    "share_of_voice",
    "acquired",
    "churned",
    "switched_in",
    "switched_out",
    "churn_rate",
    "revenue",
    "profit",
    "npv_to_date",
    "nps_true",
    "nps_measured",
    "csat_measured",
    "ces_measured",
    "satisfaction_mean",
    "expectation_mean",
    "contacts",
    "service_level",
    "asa_seconds",
    "abandon_rate",
    "agents",
    "capability_index",
    "maturity",
    "investment_cost",
)
"""The time-series columns of a firm's dashboard, month by month."""
MARKET = ("active", "market_share", "nps_true", "npv_to_date")
"""The time-series columns every team sees of every firm."""


class RequestError(Exception):
    """A request the server refuses: its status and message."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.field = status, message, field


def app(folder: str | Path) -> Starlette:
    """The server of the game in `folder` (opened, and so resumed, now)."""
    game = Game.open(folder)
    lock = threading.Lock()
    played: dict[str, Any] = {}
    """What changes only when a round is played (the leaderboard, the market, each firm's
    months), kept until the next round is played."""

    def once_a_round(what: str, make: Any) -> Any:
        if played.get("rounds") != len(game.log):
            played.clear()
            played["rounds"] = len(game.log)
        if what not in played:
            played[what] = finite(make())
        return played[what]

    def guarded(handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            try:
                body = await _body(request)
                with lock:
                    return JSONResponse(finite(handler(request, body)))
            except RequestError as denied:
                return JSONResponse(
                    {"error": denied.message, "field": denied.field}, status_code=denied.status
                )

        return endpoint

    def login(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        code = body.get("code")
        if not isinstance(code, str):
            raise RequestError(400, "give your code", "code")
        return _role(game, code)

    def state(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        who = _who(game, request)
        view = {
            "name": game.settings.name,
            "round": game.round,
            "rounds": game.settings.rounds,
            "months_per_round": game.settings.months_per_round,
            "budget_per_month": game.settings.budget_per_month,
            "over": game.over,
            "teams": game.teams,
            "submitted": sorted(game.submitted()),
            "leaderboard": once_a_round("board", lambda: game.leaderboard().to_dict("records")),
            "market": once_a_round("market", lambda: _market(game)),
            "capabilities": list(CAPABILITIES),
        } | who
        if who["role"] == "teacher":
            view |= {"codes": game.join_codes(), "events": game.events()}
        else:
            view |= {"firm": firm(who["team"])}
        return view

    def firm(name: str) -> dict[str, Any]:
        months = once_a_round(f"dashboard of {name}", lambda: _dashboard(game, name))
        return months | {
            "decision": game.decision_of(name).model_dump(mode="json"),
            "submitted": name in game.submitted(),
        }

    def team(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        return firm(_own(game, request))

    def submit(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        name = _own(game, request, teacher=False)
        if game.over:
            raise RequestError(409, "the game is over: no round takes decisions")
        try:
            chosen = game.submit(name, body)
        except ScenarioError as exc:
            raise RequestError(400, exc.allowed, exc.path) from None
        return {"team": name, "round": game.round, "decision": chosen.model_dump(mode="json")}

    def advance(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        _teacher(game, request)
        if game.over:
            raise RequestError(409, "the game is over: every round has been played")
        board = game.advance()
        return {"round": game.round, "over": game.over, "leaderboard": board.to_dict("records")}

    def events(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        _teacher(game, request)
        if game.over:
            raise RequestError(409, "the game is over")
        try:
            event = game.trigger(body)
        except ScenarioError as exc:
            raise RequestError(400, exc.allowed, exc.path) from None
        return {"event": event, "events": game.events()}

    async def page(request: Request) -> Response:
        return HTMLResponse(PAGE, headers={"Cache-Control": "no-store"})

    return Starlette(
        routes=[
            Route("/", page),
            Route("/api/login", guarded(login), methods=["POST"]),
            Route("/api/state", guarded(state)),
            Route("/api/teams/{team}", guarded(team)),
            Route("/api/teams/{team}/decision", guarded(submit), methods=["POST"]),
            Route("/api/advance", guarded(advance), methods=["POST"]),
            Route("/api/events", guarded(events), methods=["POST"]),
        ]
    )


async def _body(request: Request) -> dict[str, Any]:
    """The request's JSON object (empty for a GET)."""
    if request.method == "GET":
        return {}
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise RequestError(413, f"the request is larger than {MAX_BODY} bytes")
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise RequestError(400, "the request's body must be a JSON object") from None
    if not isinstance(body, dict):
        raise RequestError(400, "the request's body must be a JSON object")
    return body


def _role(game: Game, code: str) -> dict[str, Any]:
    """Who `code` opens: the teacher, or a team."""
    if game.is_teacher(code):
        return {"role": "teacher", "team": None}
    team = game.team_of(code)
    if team is None:
        raise RequestError(401, "this code opens no team of this game")
    return {"role": "team", "team": team}


def _who(game: Game, request: Request) -> dict[str, Any]:
    """Who the request's code opens (401 without a valid one)."""
    header = request.headers.get("authorization", "")
    scheme, _, code = header.partition(" ")
    if scheme.lower() != "bearer" or not code:
        raise RequestError(401, "sign in with your code")
    return _role(game, code.strip())


def _own(game: Game, request: Request, teacher: bool = True) -> str:
    """The team of the request's path, if the request's code may act for it: its own team,
    or (for reading, `teacher`) the teacher."""
    who = _who(game, request)
    name = request.path_params["team"]
    if name not in game.teams:
        raise RequestError(404, f"no team {name!r} in this game")
    if who["team"] == name or (teacher and who["role"] == "teacher"):
        return name
    raise RequestError(403, "a team reads and decides for its own firm only")


def _teacher(game: Game, request: Request) -> None:
    if _who(game, request)["role"] != "teacher":
        raise RequestError(403, "only the teacher plays a round or triggers an event")


def _market(game: Game) -> dict[str, Any]:
    """Every firm's market figures, month by month."""
    series = game.series
    if series.empty:
        return {"months": [], "firms": {}}
    months = sorted(series["month"].astype(int).unique().tolist())
    return {
        "months": months,
        "firms": {
            name: {column: part[column].tolist() for column in MARKET}
            for name, part in series.groupby(FIRM_COLUMN, sort=False)
        },
    }


def _dashboard(game: Game, team: str) -> dict[str, Any]:
    """A firm's dashboard of the rounds played: its metrics month by month (its customers'
    survey answers among them), its capabilities and its touchpoints in the last month."""
    series = game.series[game.series[FIRM_COLUMN] == team] if not game.series.empty else None
    index = game.teams.index(team)
    view: dict[str, Any] = {
        "team": team,
        "months": [],
        "metrics": {},
        "capabilities": {},
        "touchpoints": [],
    }
    if series is None or series.empty:
        return view
    view["months"] = series["month"].astype(int).tolist()
    view["metrics"] = {column: series[column].tolist() for column in DASHBOARD}
    last = series.iloc[-1]
    view["capabilities"] = {c: float(last[f"cap_{c}"]) for c in CAPABILITIES}
    _, recorder = game.model.recorders()[index]
    touchpoints = recorder.touchpoint_table()
    latest = touchpoints[touchpoints["month"] == touchpoints["month"].max()]
    columns = ["touchpoint", "experiences", "delivered_quality", "perceived_quality"]
    view["touchpoints"] = latest[[*columns, "satisfaction", "problems"]].to_dict("records")
    return view
