"""Load check of the classroom game's server: many team clients at once on one server.

Usage (from the project root)::

    .venv/bin/python tools/bench_game.py                       # 4, 8, 16 and 30 teams
    .venv/bin/python tools/bench_game.py --teams 30 --clients 30 --rounds 3

For each number of teams it creates a game of the default classroom market
(``scenarios/baseline.yaml``: 20,000 people; three months a round), starts
``cxm game serve`` on a free loopback port and, each round, lets ``--clients`` simulated team
clients (threads; the teams' codes dealt round-robin) sign in and submit a decision at the
same moment, then read the state as the page does; then the teacher plays the round. It
prints each round's submission latencies (median and slowest), the state reads' median, the
time to play the round (the teacher's request) and any failed request, and, at the end, the
largest number of teams for which every request succeeded, every submission answered within
a second and every round played within ten seconds. Figures vary with the machine's load:
compare numbers from one run of the script (docs/game.md).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUBMIT_LIMIT = 1.0
"""Slowest submission a class tolerates, seconds."""
ROUND_LIMIT = 10.0
"""Longest a class waits for a round to be played, seconds."""


def call(url: str, code: str, body: object = None) -> tuple[int, float]:
    """(status, seconds) of one request."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="GET" if data is None else "POST")
    request.add_header("Authorization", f"Bearer {code}")
    request.add_header("Content-Type", "application/json")
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except OSError:
        status = 0
    return status, time.perf_counter() - start


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2] if ordered else float("nan")


def submit_together(
    url: str, codes: dict[str, dict[str, str]], clients: int
) -> tuple[list[float], list[float], list[int]]:
    """`clients` team clients submit at the same moment, then read the state three times:
    the submissions' seconds, the reads' seconds, the statuses of failed requests."""
    names = list(codes["teams"])
    submits: list[float] = []
    reads: list[float] = []
    failed: list[int] = []
    barrier = threading.Barrier(clients)
    lock = threading.Lock()

    def client(k: int) -> None:
        team = names[k % len(names)]
        code = codes["teams"][team]
        decision = {"allocation": {"technology": 1000.0 * (k % 20)}, "price": 1.0}
        barrier.wait()
        status, seconds = call(f"{url}/api/teams/{team}/decision", code, decision)
        got = [(status, seconds)] + [call(url + "/api/state", code) for _ in range(3)]
        with lock:
            submits.append(seconds)
            reads.extend(s for _, s in got[1:])
            failed.extend(st for st, _ in got if st != 200)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return submits, reads, failed


def check(teams: int, clients: int, rounds: int, folder: Path) -> dict[str, object]:
    """One game of `teams` teams under `clients` clients for `rounds` rounds."""
    cxm = [sys.executable, "-m", "sim.cli.main"]
    game = folder / f"teams-{teams}"
    subprocess.run(
        [*cxm, "game", "new", str(ROOT / "scenarios" / "baseline.yaml"), "--teams", str(teams),
         "--rounds", str(rounds), "--out", str(game)],
        check=True, capture_output=True, cwd=ROOT,
    )  # fmt: skip
    codes = json.loads((game / "secrets.json").read_text())
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [*cxm, "game", "serve", str(game), "--port", str(port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while call(url + "/api/state", codes["teacher"])[0] != 200:
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the server did not start")
            time.sleep(0.3)
        report = []
        for number in range(1, rounds + 1):
            submits, reads, failed = submit_together(url, codes, clients)
            status, played = call(url + "/api/advance", codes["teacher"], {})
            if status != 200:
                failed.append(status)
            report.append(
                {
                    "round": number,
                    "submit_median_s": round(median(submits), 4),
                    "submit_max_s": round(max(submits), 4),
                    "state_median_s": round(median(reads), 4),
                    "round_s": round(played, 3),
                    "failed": len(failed),
                }
            )
            print(f"  {teams} teams, round {number}: {report[-1]}", flush=True)
        return {"teams": teams, "clients": clients, "rounds": report}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def handles(result: dict[str, object]) -> bool:
    """Whether a class of that size is served well (see the module docstring)."""
    rounds = result["rounds"]
    return all(
        r["failed"] == 0 and r["submit_max_s"] <= SUBMIT_LIMIT and r["round_s"] <= ROUND_LIMIT
        for r in rounds  # type: ignore[union-attr]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teams", type=int, nargs="+", default=[4, 8, 16, 30])
    parser.add_argument("--clients", type=int, default=30, help="simultaneous team clients")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for teams in args.teams:
            print(f"{teams} teams, {args.clients} clients:", flush=True)
            results.append(check(teams, args.clients, args.rounds, Path(folder)))
    served = [r["teams"] for r in results if handles(r)]
    print(f"largest class served well here: {max(served) if served else 'none'} teams")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
