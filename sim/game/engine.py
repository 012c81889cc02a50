"""The classroom game: teams run competing firms in one market, round by round.

A game is a folder (`Game.create`; ``cxm game new``) holding everything it needs to go on:

- ``game.json``: the market (a scenario with one firm per team, `sim.market`), the seed,
  the rounds, the months of a round, the CX budget per month, the teams' names;
- ``secrets.json`` (readable by its owner only): each team's join code and the teacher's
  code, the secrets the server compares in constant time (`Game.team_of`,
  `Game.is_teacher`);
- ``log.json``: every completed round — the decisions applied, the events, its months;
- ``rounds/round-NN.parquet``: every firm's time series of the round's months;
- ``pending/``: the decisions submitted for the round under way (one file per team) and
  the events the teacher has triggered for it.

Every file is written whole or not at all (`sim.output_paths.atomic_write`), the round's
table before the log that marks it complete, so a game stopped or killed at any moment opens
(`Game.open`) at its last completed round with every submitted decision intact. The market
itself is not stored: it is rebuilt by replaying the logged decisions on the game's seed,
which gives the same numbers (common random numbers; `sim.model.CXModel.revise_firm`), and
the replay is checked against the stored tables, so the results of a game are the results
of a headless replay of its log (`replay`).

A round (`Game.advance`) applies every team's decision together — a team that has not
submitted keeps its last one (the defaults of `sim.game.decisions.Decision` in round 1) —
and the teacher's events, then simulates the round's months.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import CXMError, OptionError, ScenarioError
from sim.game.decisions import Decision, changes, decision
from sim.market import FIRM_COLUMN
from sim.model import CXModel
from sim.output_paths import atomic_write
from sim.results import json_text
from sim.scenario import Scenario, scenario_from_dict

GAME_FILE = "game.json"
SECRETS_FILE = "secrets.json"
LOG_FILE = "log.json"
ROUNDS_DIR = "rounds"
PENDING_DIR = "pending"
EVENTS_FILE = "events.json"
FORMAT = 1
"""Version of the game folder's layout."""
MAX_TEAMS = 32
"""Most teams a game holds (a market holds at most `sim.scenario.schema.MAX_FIRMS` firms)."""
ROUND_COLUMN = "round"
EVENT_KINDS = ("privacy_incident", "market_shock")
"""Events the teacher may trigger for the next round: a privacy incident at one firm (its
customers' trust falls, docs/model.md §12), or a market shock (everyone's expectation rises
at once by `expectation_rise`)."""
MAX_SHOCK = 0.2
"""Largest rise of everyone's expectation a market shock may bring (quality scale)."""


@dataclass(frozen=True)
class Settings:
    """What a game is: its market and its rules (``game.json``)."""

    name: str
    market: Scenario
    """The market: one firm per team, in team order, over the game's months."""
    seed: int
    rounds: int
    months_per_round: int
    budget_per_month: float
    """Each team's CX budget, cu per month."""

    @property
    def teams(self) -> list[str]:
        """The teams' names, in team order."""
        return [entry.name for entry in self.market.firms or []]

    def months_of(self, number: int) -> tuple[int, int]:
        """The first and last month of round `number` (1, 2, …)."""
        first = (number - 1) * self.months_per_round + 1
        return first, first + self.months_per_round - 1


def market_for(
    scenario: Scenario, teams: Sequence[str], rounds: int, months_per_round: int
) -> Scenario:
    """The game's market: `scenario`'s market with one firm per team, each the scenario's own
    firm (an even start), the initial customers split evenly, over rounds × months."""
    data = scenario.model_dump(mode="json")
    data.pop("firms", None)
    data.pop("profile", None)
    firms = [{"name": name} for name in teams]
    return scenario_from_dict(
        data | {"firms": firms, "months": rounds * months_per_round}, source=scenario.name
    )


def replay(settings: Settings, log: Sequence[Mapping[str, Any]]) -> tuple[CXModel, pd.DataFrame]:
    """The game's market after the rounds of `log`, and every firm's time series so far (a
    `ROUND_COLUMN` and a `FIRM_COLUMN` on each row): the logged decisions and events applied
    round by round on the game's seed."""
    model = CXModel(settings.market, seed=settings.seed)
    frames = [play_round(model, settings, entry) for entry in log]
    return model, pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def play_round(model: CXModel, settings: Settings, entry: Mapping[str, Any]) -> pd.DataFrame:
    """Apply one round's decisions and events (a log entry) to `model`, simulate its months
    and return every firm's rows of them."""
    number = int(entry["round"])
    first, last = settings.months_of(number)
    if model.month != first - 1:
        raise CXMError(f"round {number} starts in month {first}; the market is at {model.month}")
    for index, name in enumerate(settings.teams):
        chosen = Decision.model_validate(entry["decisions"][name])
        model.revise_firm(index, changes(chosen, first, last))
    for event in entry.get("events", []):
        _apply_event(model, settings, event, first)
    for _ in range(settings.months_per_round):
        model.step()
    rows = []
    for name, recorder in model.recorders():
        series = recorder.timeseries()
        rows.append(series[series["month"] >= first].assign(**{FIRM_COLUMN: name}))
    return pd.concat(rows, ignore_index=True).assign(**{ROUND_COLUMN: number})


def _apply_event(model: CXModel, settings: Settings, event: Mapping[str, Any], month: int) -> None:
    """Carry out one of the teacher's events in `month`, the round's first."""
    if event["kind"] == "privacy_incident":
        index = settings.teams.index(event["team"])
        forced = model.seats[index].spec.firm.personalisation.forced_incident_months
        model.revise_firm(index, {"firm.personalisation.forced_incident_months": [*forced, month]})
    else:
        model.shock_expectations(float(event["expectation_rise"]))


class Game:
    """A game in its folder: its settings, its completed rounds and the market they built.

    Open one with `Game.open` (or make one with `Game.create`). Methods that change the game
    write it to its folder before they return.
    """

    def __init__(self, folder: Path, settings: Settings, codes: dict[str, Any]) -> None:
        self.folder = folder
        self.settings = settings
        self._codes = codes
        self.log: list[dict[str, Any]] = _read_json(folder / LOG_FILE, [])
        self.model, self.series = replay(settings, self.log)
        self._check_replay()
        self._pending: dict[str, Decision] = {}
        """The decisions submitted for the round under way (as written in ``pending/``)."""
        for index, name in enumerate(self.teams):
            record = _read_json(folder / PENDING_DIR / f"{index:02d}.json", None)
            if isinstance(record, dict) and record.get("round") == self.round:
                self._pending[name] = Decision.model_validate(record["decision"])
        record = _read_json(folder / PENDING_DIR / EVENTS_FILE, None)
        fresh = isinstance(record, dict) and record.get("round") == self.round
        self._events: list[dict[str, Any]] = list(record["events"]) if fresh else []
        self._board: pd.DataFrame | None = None

    # ------------------------------------------------------------------ making and opening

    @classmethod
    def create(
        cls,
        out: str | os.PathLike[str],
        scenario: Scenario,
        teams: int = 4,
        rounds: int = 8,
        months_per_round: int = 3,
        budget_per_month: float = 50_000.0,
        seed: int | None = None,
        names: Sequence[str] | None = None,
    ) -> Game:
        """A new game in the folder `out` (which must not exist, or be empty).

        Raises:
            OptionError: a bad count, budget or folder, naming the option.
            ScenarioError: the market the scenario makes is not valid.
        """
        _check_count("teams", teams, 2, MAX_TEAMS)
        _check_count("rounds", rounds, 1, 60)
        _check_count("months_per_round", months_per_round, 1, 24)
        if not (isinstance(budget_per_month, int | float) and 0 <= budget_per_month < 1e12):
            raise OptionError(
                "budget_per_month", f"got {budget_per_month!r}; a sum of money from 0 a month"
            )
        names = list(names) if names is not None else [f"team-{k + 1}" for k in range(teams)]
        if len(names) != teams or len(set(names)) != teams:
            raise OptionError("teams", f"got {len(names)} names for {teams} teams; name each once")
        market = market_for(scenario, names, rounds, months_per_round)
        settings = Settings(
            name=scenario.name,
            market=market,
            seed=scenario.seed if seed is None else int(seed),
            rounds=rounds,
            months_per_round=months_per_round,
            budget_per_month=float(budget_per_month),
        )
        folder = Path(out)
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise OptionError("out", f"{folder} exists and is not empty; name a new folder")
        codes = {
            "teacher": secrets.token_urlsafe(12),
            "teams": {name: secrets.token_urlsafe(9) for name in names},
        }
        staging = folder.with_name(f".{folder.name}.{os.getpid()}.partial")
        shutil.rmtree(staging, ignore_errors=True)
        try:
            (staging / ROUNDS_DIR).mkdir(parents=True)
            (staging / PENDING_DIR).mkdir()
            (staging / GAME_FILE).write_text(json_text(_settings_json(settings)))
            secret = staging / SECRETS_FILE
            secret.touch(mode=0o600)
            secret.write_text(json_text(codes))
            (staging / LOG_FILE).write_text(json_text([]))
            if folder.exists():
                folder.rmdir()  # empty, checked above
            os.replace(staging, folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return cls(folder, settings, codes)

    @classmethod
    def open(cls, folder: str | os.PathLike[str]) -> Game:
        """The game in `folder`, at its last completed round, with the decisions submitted
        for the next one.

        Raises:
            CXMError: the folder holds no game, or one this version cannot continue.
        """
        folder = Path(folder)
        data = _read_json(folder / GAME_FILE, None)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise CXMError(f"{folder}: no game here (no {GAME_FILE} of format {FORMAT})")
        settings = Settings(
            name=data["name"],
            market=scenario_from_dict(data["market"], source=str(folder / GAME_FILE)),
            seed=int(data["seed"]),
            rounds=int(data["rounds"]),
            months_per_round=int(data["months_per_round"]),
            budget_per_month=float(data["budget_per_month"]),
        )
        return cls(folder, settings, _read_json(folder / SECRETS_FILE, {}))

    def _check_replay(self) -> None:
        """The replayed rounds must give the stored tables, number for number."""
        for entry in self.log:
            number = int(entry["round"])
            stored = pd.read_parquet(self._round_file(number))
            replayed = self.series[self.series[ROUND_COLUMN] == number].reset_index(drop=True)
            if not stored.equals(replayed):
                raise CXMError(
                    f"{self.folder}: round {number} replays to other numbers than those "
                    "stored (the game was played with another version of the model)"
                )

    # ------------------------------------------------------------------ who is who

    @property
    def teams(self) -> list[str]:
        """The teams' names, in team order."""
        return self.settings.teams

    def team_of(self, code: str) -> str | None:
        """The team whose join code is `code` (None if none): every team's code is
        compared, in constant time."""
        found = None
        for name, secret in self._codes["teams"].items():
            if hmac.compare_digest(secret.encode(), str(code).encode()):
                found = name
        return found

    def is_teacher(self, code: str) -> bool:
        """Whether `code` is the teacher's (compared in constant time)."""
        return hmac.compare_digest(self._codes["teacher"].encode(), str(code).encode())

    def join_codes(self) -> dict[str, str]:
        """Each team's join code (for the teacher's eyes only)."""
        return dict(self._codes["teams"])

    @property
    def teacher_code(self) -> str:
        """The teacher's code."""
        return str(self._codes["teacher"])

    # ------------------------------------------------------------------ the round under way

    @property
    def round(self) -> int:
        """The round under way (1, 2, …), or rounds + 1 when the game is over."""
        return len(self.log) + 1

    @property
    def over(self) -> bool:
        """Whether every round has been played."""
        return len(self.log) >= self.settings.rounds

    def submit(self, team: str, data: Any) -> Decision:
        """Team `team`'s decision for the round under way (it replaces one submitted
        before), validated on the rules and written.

        Raises:
            ScenarioError: the decision breaks a rule (naming the field).
            CXMError: the game is over, or no such team.
        """
        if team not in self.teams:
            raise CXMError(f"no team {team!r} in this game")
        if self.over:
            raise CXMError("the game is over: no round takes decisions")
        chosen = decision(data, self.settings.budget_per_month, source=f"{team}'s decision")
        record = {"round": self.round, "team": team, "decision": chosen.model_dump(mode="json")}
        _write_json(self.folder / PENDING_DIR / f"{self.teams.index(team):02d}.json", record)
        self._pending[team] = chosen
        return chosen

    def submitted(self) -> dict[str, Decision]:
        """The decisions submitted for the round under way, by team (in team order)."""
        return {name: self._pending[name] for name in self.teams if name in self._pending}

    def decision_of(self, team: str) -> Decision:
        """What team `team` will play this round: its submission, else its last round's
        decision, else the defaults."""
        mine = self._pending.get(team)
        if mine is not None:
            return mine
        if self.log:
            return Decision.model_validate(self.log[-1]["decisions"][team])
        return Decision(
            marketing_per_person_per_month=self.settings.market.acquisition.marketing_per_person_per_month
        )

    def trigger(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """The teacher's event for the round under way: ``{"kind": "privacy_incident",
        "team": NAME}`` or ``{"kind": "market_shock", "expectation_rise": X}`` (0 < X ≤
        `MAX_SHOCK`), validated and written.

        Raises:
            ScenarioError: an unknown kind, team or size (naming the field).
        """
        kind = event.get("kind") if isinstance(event, Mapping) else None
        if kind not in EVENT_KINDS:
            raise ScenarioError("event", "kind", kind, f"allowed: {', '.join(EVENT_KINDS)}")
        if kind == "privacy_incident":
            team = event.get("team")
            if team not in self.teams:
                raise ScenarioError("event", "team", team, f"allowed: {', '.join(self.teams)}")
            clean: dict[str, Any] = {"kind": kind, "team": team}
        else:
            rise = event.get("expectation_rise")
            if (
                not isinstance(rise, int | float)
                or isinstance(rise, bool)
                or not 0 < rise <= MAX_SHOCK
            ):
                raise ScenarioError(
                    "event", "expectation_rise", rise, f"a number above 0 and at most {MAX_SHOCK}"
                )
            clean = {"kind": kind, "expectation_rise": float(rise)}
        events = [*self._events, clean]
        _write_json(
            self.folder / PENDING_DIR / EVENTS_FILE, {"round": self.round, "events": events}
        )
        self._events = events
        return clean

    def events(self) -> list[dict[str, Any]]:
        """The events triggered for the round under way."""
        return list(self._events)

    def advance(self) -> pd.DataFrame:
        """Play the round under way: every team's decision (`decision_of`) and the events,
        together, then the round's months; written (its table, then the log), and the
        leaderboard returned.

        Raises:
            CXMError: the game is over.
        """
        if self.over:
            raise CXMError("the game is over: every round has been played")
        entry = {
            "round": self.round,
            "months": list(self.settings.months_of(self.round)),
            "decisions": {
                name: self.decision_of(name).model_dump(mode="json") for name in self.teams
            },
            "submitted": sorted(self.submitted()),
            "events": self.events(),
            "played": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        rows = play_round(self.model, self.settings, entry)
        number = entry["round"]
        atomic_write(self._round_file(number), lambda path: rows.to_parquet(path, index=False))
        _write_json(self.folder / LOG_FILE, [*self.log, entry])
        self.log.append(entry)
        self.series = pd.concat([self.series, rows], ignore_index=True)
        self._pending, self._events, self._board = {}, [], None
        return self.leaderboard()

    def _round_file(self, number: int) -> Path:
        return self.folder / ROUNDS_DIR / f"round-{number:02d}.parquet"

    # ------------------------------------------------------------------ what everyone sees

    def leaderboard(self) -> pd.DataFrame:
        """Each team's standing after the rounds played: profit NPV to date (cu), market
        share and NPS (true) in the last month, mean monthly retention rate; ranked by
        profit NPV (empty before round 1)."""
        if self._board is None:
            self._board = self._standing()
        return self._board.copy()

    def _standing(self) -> pd.DataFrame:
        return standing(self.series, self.teams)


def standing(series: pd.DataFrame, teams: Sequence[str]) -> pd.DataFrame:
    """The leaderboard of a game's time series (`Game.leaderboard`): each team's profit NPV
    to date (cu), market share and NPS (true) in the last month and mean monthly retention
    rate, ranked by profit NPV (empty before round 1)."""
    if series.empty:
        return pd.DataFrame(
            columns=["rank", "team", "profit_npv", "market_share", "nps", "retention"]
        )
    last = series[series["month"] == series["month"].max()].set_index(FIRM_COLUMN)
    retention = series.groupby(FIRM_COLUMN)["retention_rate"].mean()
    table = pd.DataFrame(
        {
            "team": teams,
            "profit_npv": [float(last.loc[t, "npv_to_date"]) for t in teams],
            "market_share": [float(last.loc[t, "market_share"]) for t in teams],
            "nps": [float(last.loc[t, "nps_true"]) for t in teams],
            "retention": [float(retention[t]) for t in teams],
        }
    )
    table = table.sort_values("profit_npv", ascending=False, kind="stable")
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table.reset_index(drop=True)


def _check_count(option: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise OptionError(option, f"got {value!r}; a whole number from {low} to {high}")


def _settings_json(settings: Settings) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "kind": "game",
        "name": settings.name,
        "seed": settings.seed,
        "rounds": settings.rounds,
        "months_per_round": settings.months_per_round,
        "budget_per_month": settings.budget_per_month,
        "teams": settings.teams,
        "market": settings.market.model_dump(mode="json"),
    }


def _write_json(path: Path, data: Any) -> None:
    atomic_write(path, lambda temporary: temporary.write_text(json_text(data)))


def _read_json(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return default
    except (OSError, ValueError) as exc:
        raise CXMError(f"{path}: cannot be read ({exc})") from None
