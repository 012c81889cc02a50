"""Sweep throughput: runs per second of a sweep on 1 and 2 Dask workers (docs/experiments.md,
"Throughput").

Usage (from the project root)::

    .venv/bin/python tools/bench_sweep.py                 # every case, two rounds
    .venv/bin/python tools/bench_sweep.py --case sobol448 --rounds 1

Cases (each from ``scenarios/sweeps/sobol_drivers.yaml``, 5,000 people × 24 months, SimPy
contact centre unless said):

- ``sobol192``: ``samples: 16`` (192 runs);
- ``sobol448``: a fifth parameter (``firm.capabilities.processes`` in [1, 4.5]),
  ``samples: 64``, one replication: 64 × (5 + 2) = 448 runs;
- ``short``: ``samples: 128``, 4 months, 600 people, the service-level desk (1,536 runs of
  a few milliseconds).

Each round times ``workers=1`` (in process) then ``workers=2`` (a local cluster, started
inside the timing) for every case, into a fresh temporary folder, each from an empty library
of simulated contact-centre periods (a fresh ``CXM_PERIODS_DIR``, which the workers inherit,
and the process's library emptied): what a study costs the first time, not when its periods
are already on disk. The best of the rounds is printed per case and number of workers, with
the seconds. Figures vary with the load of the machine: compare numbers from one run of the
script.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from sim.experiments.sweep import run_sweep, sweep_from_dict
from sim.scenario import read_scenario_mapping
from sim.support.desk import PERIODS, PERIODS_DIR_VARIABLE

ROOT = Path(__file__).resolve().parent.parent
FILE = ROOT / "scenarios" / "sweeps" / "sobol_drivers.yaml"
CASES = {
    "sobol192": {"samples": 16},
    "sobol448": {"samples": 64, "replications": 1, "extra": True},
    "short": {
        "samples": 128,
        "months": 4,
        "set": {"market.size": 600, "support.mode": "service_level"},
    },
}


def spec_for(case: str) -> dict:
    """The sweep specification of a case."""
    changes = dict(CASES[case])
    spec = read_scenario_mapping(FILE)
    if changes.pop("extra", False):
        spec["parameters"] = dict(spec["parameters"]) | {
            "firm.capabilities.processes": {"range": [1.0, 4.5]}
        }
    return spec | changes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    best: dict[tuple[str, int], tuple[float, float, int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.rounds):
            for case in args.case:
                sweep = sweep_from_dict(spec_for(case), str(FILE), FILE.parent)
                for workers in (1, 2):
                    out = Path(tmp) / f"{case}-{workers}-{i}"
                    periods = out.with_name(out.name + "-periods")
                    periods.mkdir()
                    os.environ[PERIODS_DIR_VARIABLE] = str(periods)
                    PERIODS.use_folder(periods)
                    PERIODS.clear()
                    start = time.perf_counter()
                    result = run_sweep(sweep, workers=workers, out=out)
                    seconds = time.perf_counter() - start
                    rate = result.executed / seconds
                    print(f"round {i + 1} {case} workers={workers}: {result.executed} runs, "
                          f"{seconds:.1f} s, {rate:.2f} runs/s", flush=True)  # fmt: skip
                    if rate > best.get((case, workers), (0.0,))[0]:
                        best[case, workers] = (rate, seconds, result.executed)
    for (case, workers), (rate, seconds, runs) in best.items():
        print(f"best {case} workers={workers}: {runs} runs in {seconds:.1f} s, {rate:.2f} runs/s")


if __name__ == "__main__":  # a LocalCluster spawns processes: keep the guard
    main()
