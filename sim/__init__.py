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

from sim.errors import CXMError, ScenarioError
from sim.experiments import Comparison, RunResult, compare, run
from sim.model import CXModel
from sim.scenario import Scenario, load_scenario, scenario_from_dict, with_overrides
from sim.sweep import run_sweep

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
