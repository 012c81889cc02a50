"""CXM Lab: simulate customer experience management — customers, journeys and the firm.

The public API:

- `load_scenario(path, overrides=())`: read and validate a scenario file;
- `run(scenario, replications=..., seed=...)`: replications of a scenario, as tidy tables;
- `compare(base, *alternatives, ...)`: paired differences on common random numbers;
- `CXModel(scenario, seed=..., engine="vector" | "agents")`: one run as a `mesa.Model`;
  `step()` advances one month; with ``engine="agents"`` every person is a `mesa.Agent` and
  `model.customer(i).journey()` shows one customer's journey;
- `run_sweep(spec)`: a design of runs (grid, random, Latin hypercube, Sobol, Morris), serial
  or on Dask, resumable, with sensitivity indices; `sim.calibrate.calibrate(...)` fits free
  parameters to observed KPIs and `sim.discover.prim(...)` finds input regions.
"""

from sim.compiled import use_cache_for_this_source

use_cache_for_this_source()  # before anything imports numba

from sim.errors import CXMError, ScenarioError  # noqa: E402
from sim.experiments import Comparison, RunResult, compare, run  # noqa: E402
from sim.model import CXModel  # noqa: E402
from sim.scenario import Scenario, load_scenario, scenario_from_dict, with_overrides  # noqa: E402
from sim.sweep import run_sweep  # noqa: E402

__all__ = [
    "CXMError",
    "CXModel",
    "Comparison",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "compare",
    "load_scenario",
    "run",
    "run_sweep",
    "scenario_from_dict",
    "with_overrides",
]
