"""Check that a change keeps behaviour identical: every ready scenario, both engines, the
whole time series, here and at another git revision, must be equal.

Usage (from the project root)::

    .venv/bin/python tools/same_series.py            # against HEAD (uncommitted changes)
    .venv/bin/python tools/same_series.py main~3     # against any revision
    .venv/bin/python tools/same_series.py main~3 --added market_share,share_of_voice
                                                     # a change that adds these columns
    .venv/bin/python tools/same_series.py main~3 --size 200000 --months 6 --engines vector
                                                     # markets big enough for the threads
    .venv/bin/python tools/same_series.py --scenarios 'scenarios/market/*.yaml'
                                                     # the several-firm markets
    .venv/bin/python tools/same_series.py --set market.network.kind=watts_strogatz \
        --set acquisition.word_of_mouth=customers    # paths no ready scenario takes

The revision is checked out in a temporary git worktree; each side runs every scenario of
``scenarios/*.yaml`` (``--scenarios``: another pattern, from the project root; ``--set``:
overrides applied to each, validated as by the command line) in a small market (both
engines, two replications; ``--size``, ``--months`` and ``--engines`` change them: the
vector engine spreads a pass over the threads from 50,000 people,
`sim.threads.PARALLEL_FROM`) in its own Python process and writes its tables to Parquet;
then every table (time series, touchpoints, segments, outcomes) is compared, column by
column, for exact equality. Exit status 0 when everything is identical, 1 otherwise (the
differing scenario, engine, table and columns are listed).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZE = 1_500
"""People in each scenario's market (small, so both engines run in seconds)."""
MONTHS = 18
REPLICATIONS = 2
SCENARIOS = "scenarios/*.yaml"
"""The scenario files compared by default: the ready ones."""
ENGINES = ("vector", "agents")
TABLES = ("timeseries", "touchpoints", "segments", "outcomes")

RUNNER = """
import sys
from pathlib import Path
import sim
from sim.scenario import load_scenario, with_overrides
out, files = Path(sys.argv[1]), sys.argv[2:]
assert Path(sim.__file__).resolve().parent == Path.cwd().resolve() / "sim", sim.__file__
for file in map(Path, files):
    scenario = with_overrides(
        load_scenario(file, %(overrides)r), {"market.size": %(size)d, "months": %(months)d}
    )
    for engine in %(engines)r:
        result = sim.run(scenario, replications=%(replications)d, seed=7, engine=engine)
        for table in %(tables)r:
            getattr(result, table).to_parquet(out / f"{file.stem}.{engine}.{table}.parquet")
"""


def run_side(
    checkout: Path, out: Path, files: list[Path], size: int = SIZE, months: int = MONTHS,
    engines: tuple[str, ...] = ENGINES, overrides: tuple[str, ...] = (),
) -> None:  # fmt: skip
    """Run the scenario `files` with `checkout`'s own code, with `overrides` (``PATH=VALUE``),
    in a market of `size` people for `months` months on `engines`; tables go to `out`."""
    out.mkdir(parents=True, exist_ok=True)
    code = RUNNER % {
        "size": size, "months": months, "replications": REPLICATIONS, "tables": TABLES,
        "engines": engines, "overrides": list(overrides),
    }  # fmt: skip
    subprocess.run(
        [sys.executable, "-c", code, str(out), *map(str, files)],
        cwd=checkout, env=os.environ | {"PYTHONPATH": str(checkout)}, check=True,
    )  # fmt: skip


def differences(here: Path, there: Path, added: frozenset[str] = frozenset()) -> list[str]:
    """Every table that differs between the two output folders, with its columns; columns
    named in `added` may be found here only (a change that adds a metric)."""
    import pandas as pd

    found = []
    names = sorted(p.name for p in here.glob("*.parquet"))
    missing = sorted({p.name for p in there.glob("*.parquet")} ^ set(names))
    found += [f"{name}: only on one side" for name in missing]
    for name in names:
        if not (there / name).exists():
            continue
        a, b = pd.read_parquet(here / name), pd.read_parquet(there / name)
        columns = sorted((set(a.columns) - added) ^ (set(b.columns)))
        if columns:
            found.append(f"{name}: columns on one side only: {', '.join(columns)}")
        shared = [c for c in a.columns if c in b.columns]
        if len(a) != len(b):
            found.append(f"{name}: {len(a)} rows against {len(b)}")
            continue
        unequal = [c for c in shared if not a[c].equals(b[c])]
        if unequal:
            found.append(f"{name}: differs in {', '.join(unequal)}")
    return found


def main(argv: list[str] | None = None) -> int:
    """Compare this checkout with a revision; print the differences; 0 if none."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("revision", nargs="?", default="HEAD", help="git revision (HEAD)")
    parser.add_argument(
        "--added",
        default="",
        metavar="COLUMNS",
        help="comma-separated columns this checkout adds (every other column must match)",
    )
    parser.add_argument("--size", type=int, default=SIZE, help=f"people per market ({SIZE})")
    parser.add_argument("--months", type=int, default=MONTHS, help=f"months ({MONTHS})")
    parser.add_argument(
        "--engines", default=",".join(ENGINES), help="comma-separated engines (both)"
    )
    parser.add_argument(
        "--scenarios",
        default=SCENARIOS,
        help=f"scenario files, a pattern from the root ({SCENARIOS})",
    )
    parser.add_argument(
        "--set", action="append", default=[], metavar="PATH=VALUE", dest="overrides",
        help="override a value of every scenario by its dotted path (repeatable)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    files = sorted(ROOT.glob(args.scenarios))
    if not files:
        parser.error(f"--scenarios: no file matches {args.scenarios!r} under {ROOT}")
    engines = tuple(name for name in args.engines.split(",") if name)
    added = frozenset(name for name in args.added.split(",") if name)
    with tempfile.TemporaryDirectory(prefix="same-series-") as temporary:
        work = Path(temporary)
        worktree = work / "worktree"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(worktree),
             args.revision], check=True, capture_output=True,
        )  # fmt: skip
        try:
            sides = ((ROOT, work / "here"), (worktree, work / "there"))
            for checkout, out in sides:
                there = [checkout / file.relative_to(ROOT) for file in files]
                run_side(
                    checkout, out, there, args.size, args.months, engines, tuple(args.overrides)
                )
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)],
                check=False, capture_output=True,
            )  # fmt: skip
        found = differences(work / "here", work / "there", added)
    compared = len(files)
    if found:
        print("\n".join(found))
        print(f"NOT identical to {args.revision}")
        return 1
    more = f" (with the added columns {', '.join(sorted(added))})" if added else ""
    more += "".join(f", {change}" for change in args.overrides)
    print(
        f"identical to {args.revision}: {compared} scenarios × {len(engines)} engine(s) × "
        f"{len(TABLES)} tables, {args.size:,} people, {args.months} months" + more
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
