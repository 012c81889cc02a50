"""CXM Lab: simulate customer experience management — customers, journeys and the firm.

The public API:

- `load_scenario(path, overrides=())`: read and validate a scenario file;
- `run(scenario, replications=..., seed=...)`: replications of a scenario, as tidy tables
  (with ``customer_log=True`` also every customer's interactions and decisions);
- `compare(base, *alternatives, ...)`: paired differences on common random numbers; with
  ``uncertainty=FILE``, across the file's uncertain assumptions (`UncertainComparison`);
- `CXModel(scenario, seed=..., engine="vector" | "agents")`: one run as a `mesa.Model`;
  `step()` advances one month; with ``engine="agents"`` every person is a `mesa.Agent` and
  `model.customer(i).journey()` shows one customer's journey;
- `run_sweep(spec)`: a design of runs (grid, random, Latin hypercube, Sobol, Morris), serial
  or on Dask, resumable, with sensitivity indices; `sim.experiments.calibrate.calibrate(...)` fits
  free parameters to observed KPIs and `sim.experiments.discover.prim(...)` finds input regions.
"""

from pathlib import Path
from typing import TYPE_CHECKING

from sim.compiled import use_cache_for_this_source

# Numba reads its cache folder once, when it is first imported, so the folder is chosen here,
# before any module of the package can import numba: every way in (the command line, the
# library, a Dask worker unpickling a task) passes through this file. See `sim.compiled`.
use_cache_for_this_source()

PROJECT_ROOT = Path(__file__).resolve().parents[1]
"""The project's checkout (its ready scenarios and git commit); results go to the working
directory's results/ instead (`sim.output_paths.results_dir`)."""

from sim.errors import CXMError, ScenarioError  # noqa: E402

if TYPE_CHECKING:
    from sim.experiments.runs import Comparison, RunResult, compare, run
    from sim.experiments.sweep import run_sweep
    from sim.experiments.uncertainty import UncertainComparison
    from sim.model import CXModel
    from sim.scenario import Scenario, load_scenario, scenario_from_dict, with_overrides

_LAZY = {
    "Scenario": "sim.scenario",
    "load_scenario": "sim.scenario",
    "scenario_from_dict": "sim.scenario",
    "with_overrides": "sim.scenario",
    "CXModel": "sim.model",
    "Comparison": "sim.experiments.runs",
    "RunResult": "sim.experiments.runs",
    "UncertainComparison": "sim.experiments.uncertainty",
    "compare": "sim.experiments.runs",
    "run": "sim.experiments.runs",
    "run_sweep": "sim.experiments.sweep",
}
"""Names imported on first use: loading a scenario needs neither the model nor SimPy, and
the command line's parser needs not even the scenario schema (pydantic)."""


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


__all__ = [
    "CXMError",
    "CXModel",
    "Comparison",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "UncertainComparison",
    "compare",
    "load_scenario",
    "run",
    "run_sweep",
    "scenario_from_dict",
    "with_overrides",
]
