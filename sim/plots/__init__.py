"""Figures of the project's tidy tables, for notebooks, reports and the command line.

Every function takes the tables a run, a comparison or a study returns (`sim.run`,
`sim.compare`, `sim.run_sweep`, `sim.experiments.prim`, …) and returns a
`matplotlib.figure.Figure` built without pyplot's global state, so figures neither leak nor
need a display; a notebook shows a returned figure, a script saves it with `savefig`.

Runs and comparisons (`sim.plots.results`): `time_series`, `forest`, `profit_waterfall`,
`roi_payback`, `j_curve`, `tornado`, `touchpoint_heatmap`, `journey_funnel`,
`budget_splits`, and the tables behind them. Studies and docking (`sim.plots.studies`):
`sobol_indices`, `morris_indices`, `prim_boxes`, `prim_tradeoff`, `survival_docking`,
`bass_docking`, `erlang_docking`, `diffusion_curves`, `interval_widths`,
`customer_base_forecasts`. Text for reports (`sim.plots.labels`): `number`,
`difference_with_interval`.

The lessons' figures live in their own modules, imported by name: journeys, satisfaction
and surveys (`sim.plots.journeys`), the contact centre, word of mouth and maturity
(`sim.plots.service`), employees and privacy (`sim.plots.people`); the classroom page's live
charts, network and journey views are `sim.plots.classroom`.
"""

from sim.plots.results import *  # noqa: F403
from sim.plots.results import __all__ as _results
from sim.plots.studies import *  # noqa: F403
from sim.plots.studies import __all__ as _studies

__all__ = [*_results, *_studies]
