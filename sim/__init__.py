"""CXM Lab: simulate customer experience management — customers, journeys and the firm.

The public API:

- `load_scenario(path, overrides=())`: read and validate a scenario file;
- `run(scenario, replications=..., seed=...)`: replications of a scenario, as tidy tables;
- `compare(base, *alternatives, ...)`: paired differences on common random numbers;
- `CXModel(scenario, seed=...)`: one run as a `mesa.Model`; `step()` advances one month.
"""

from sim.errors import CXMError, ScenarioError
from sim.experiments import Comparison, RunResult, compare, run
from sim.model import CXModel
from sim.scenario import Scenario, load_scenario, scenario_from_dict, with_overrides

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
    "scenario_from_dict",
    "with_overrides",
]
