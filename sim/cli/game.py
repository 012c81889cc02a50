"""The `cxm game` subcommands: the classroom game (`sim.game`).

`cxm game new SCENARIO.yaml --teams 4 --rounds 8 --months-per-round 3 [--budget 50000]
[--seed S] [--names a,b,c,d] [--set PATH=VALUE …] [--out results/games/NAME]` creates a game:
one firm per team in the scenario's market, each starting as the scenario's firm, and prints
the teacher's code and each team's join code (also kept in the game folder's
``secrets.json``, readable by its owner only).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.cli.options import add_out_options, add_set_option

DEFAULT_HOST = "127.0.0.1"
"""The address a game binds to by default: this machine only."""
DEFAULT_PORT = 8766
"""A game's default port (the classroom page's is 8765)."""
DEBRIEF = "09_game_debrief"
"""The notebook `cxm game report` runs (in `sim.notebooks.NOTEBOOKS_DIR`'s lessons)."""
MAX_SEEDS = 1000
"""Most seeds a debrief's luck replay takes."""
DEFAULT_TEAMS = 4
DEFAULT_ROUNDS = 8
DEFAULT_MONTHS_PER_ROUND = 3
DEFAULT_BUDGET = 50_000.0
"""Each team's CX budget by default, cu per month (a sixth of the baseline firm's monthly
profit, enough to move two capabilities by about half a level in two years)."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the game subcommands to `cxm`'s subparsers."""
    game = subparsers.add_parser(
        "game",
        help="the classroom game: teams run competing firms, round by round",
        description="The classroom game: student teams each run a firm in one market and "
        "decide every round (budget across the capabilities, contact-centre staffing, "
        "maturity practices, price, advertising); see docs/game.md.",
    )
    commands = game.add_subparsers(dest="game_command", required=True, metavar="COMMAND")
    new = commands.add_parser(
        "new",
        help="create a game from a scenario",
        description="Create a game: one firm per team in the scenario's market, each starting "
        "as the scenario's firm, over rounds × months-per-round months. Prints the teacher's "
        "code and each team's join code.",
    )
    new.add_argument("scenario", type=Path, help="scenario YAML file of the market")
    new.add_argument("--teams", type=int, default=DEFAULT_TEAMS, help="teams (default 4)")
    new.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help="rounds (default 8)")
    new.add_argument(
        "--months-per-round",
        type=int,
        default=DEFAULT_MONTHS_PER_ROUND,
        help="months simulated in a round (default 3)",
    )
    new.add_argument(
        "--budget",
        type=float,
        default=DEFAULT_BUDGET,
        help=f"each team's CX budget, currency per month (default {DEFAULT_BUDGET:,.0f})",
    )
    new.add_argument("--seed", "-s", type=int, help="random seed (default: the scenario's)")
    new.add_argument(
        "--names", help="the teams' names, comma-separated (default team-1, team-2, …)"
    )
    add_set_option(new)
    new.add_argument(
        "--out", type=Path, help="the game's folder (default results/games/<scenario name>)"
    )
    new.set_defaults(handler=_new)
    serve = commands.add_parser(
        "serve",
        help="serve a game: the teacher's page and the teams' pages",
        description="Serve a game's pages and API until interrupted. It opens the game at its "
        "last completed round with every submitted decision, so a server stopped or killed "
        "goes on where it was when started again.",
        epilog="It binds to 127.0.0.1 (this machine only) unless --host says otherwise; "
        "--host 0.0.0.0 lets the classroom's machines reach it (each team signs in with its "
        "join code, the teacher with the teacher's code).",
    )
    serve.add_argument("folder", type=Path, help="the game's folder (cxm game new)")
    serve.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST})"
    )
    serve.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    serve.set_defaults(handler=_serve)
    report = commands.add_parser(
        "report",
        help="the debrief of a game: a lesson notebook run on its folder (HTML)",
        description="Write the debrief of a game as HTML: each team's decisions round by "
        "round, the market's evolution, what made the winner's profit and share, and the "
        "same decisions replayed on other seeds to show how much was luck. It runs "
        f"notebooks/lessons/{DEBRIEF}.ipynb with papermill on the game's folder.",
        epilog="Exit status 1 if the notebook fails (its cell and error are printed).",
    )
    report.add_argument("folder", type=Path, help="the game's folder")
    report.add_argument(
        "--seeds",
        type=int,
        help=f"seeds of the luck replay, the game's own first (1 to {MAX_SEEDS}; default "
        "the notebook's, 20)",
    )
    report.add_argument(
        "--quick", action="store_true", help="fewer seeds (the notebook's quick settings)"
    )
    add_out_options(report, "results/debrief-<game folder name>/")
    report.set_defaults(handler=_report)


def _new(args: argparse.Namespace) -> int:
    """Create the game and print its codes."""
    from sim.game.engine import Game
    from sim.output_paths import output_path, results_dir
    from sim.scenario import load_scenario

    scenario = load_scenario(args.scenario, args.overrides)
    out = output_path(args.out) if args.out is not None else results_dir() / "games" / scenario.name
    names = None if args.names is None else [n.strip() for n in args.names.split(",")]
    game = Game.create(
        out,
        scenario,
        teams=args.teams if names is None else len(names),
        rounds=args.rounds,
        months_per_round=args.months_per_round,
        budget_per_month=args.budget,
        seed=args.seed,
        names=names,
    )
    s = game.settings
    print(
        f"game {s.name}: {len(game.teams)} teams, {s.rounds} rounds of {s.months_per_round} "
        f"months, a CX budget of {s.budget_per_month:,.0f} a month each; seed {s.seed}"
    )
    print(f"teacher's code: {game.teacher_code}")
    for team, code in game.join_codes().items():
        print(f"  {team:<20} join code {code}")
    print(f"written to {out} (the codes also in {Path(out) / 'secrets.json'}, yours only)")
    return 0


def _serve(args: argparse.Namespace) -> int:
    """Open the game, check the address, serve until interrupted."""
    import uvicorn

    from sim.cli.app import check_address, is_loopback
    from sim.errors import CXMError
    from sim.game.server import app

    if not 0 < args.port < 65536:
        raise CXMError(f"--port: got {args.port}; allowed: 1 to 65535")
    application = app(args.folder)
    check_address(args.host, args.port)
    if not is_loopback(args.host):
        print(
            f"warning: --host {args.host}: every machine that reaches this address can open "
            "the game's page; teams need their join code, the teacher's controls the "
            "teacher's code",
            file=sys.stderr,
        )
    print(f"game at http://{args.host}:{args.port}/ (Ctrl-C stops it)", flush=True)
    uvicorn.run(application, host=args.host, port=args.port, log_level="warning")
    return 0


def _report(args: argparse.Namespace) -> int:
    """Run the debrief notebook on the game; 1 if it failed, else 0."""
    from sim import output_paths
    from sim.cli.report import run_notebook
    from sim.errors import OptionError
    from sim.game.engine import Game

    if args.seeds is not None and not 1 <= args.seeds <= MAX_SEEDS:
        raise OptionError("seeds", f"got {args.seeds}; a whole number from 1 to {MAX_SEEDS}")
    folder = Path(args.folder).resolve()
    Game.open(folder)  # a game this version replays, or one line saying why not
    given: dict[str, object] = {"game_folder": str(folder)}
    if args.seeds is not None:
        given["seeds"] = args.seeds
    out = output_paths.chosen_path(args.out, f"debrief-{folder.name}")
    return run_notebook(DEBRIEF, args.quick, given, out, args, label="debrief")
