"""Choices and limits the command line states before any work: declared here, once.

`cxm --help`, `cxm run --help` and a refused option answer from the parser alone, which
lists the engines, the notebook tracks and the optimisation objectives and states the
largest market of the agents engine and the largest customer log. The modules that use
these names (`sim.model`, `sim.engines.agents`, `sim.customer_log`, `sim.notebooks`,
`sim.experiments.optimise`) load numpy, pandas, SciPy, numba or Mesa; this one loads
nothing, so the parser can be built in milliseconds (`tests/test_cli_startup.py` checks
that the command line's parser and `cxm validate` load none of those libraries). Each name
is imported from here by the module that uses it, so the help and the code cannot disagree.
"""

from __future__ import annotations

ENGINES = ("vector", "agents")
"""The customer engines of `sim.model.CXModel`: numpy arrays over all customers, or one Mesa
agent per person."""

AGENTS_ENGINE_MAX_PEOPLE = 200_000
"""Most people (prospects included) the agents engine takes. Each person is a Python object
of about 2 kB (plus about 1 kB for the month's random numbers) and 0.45 kB per interaction
of journey history; a customer-month costs about 0.13 ms (`cxm bench --engine agents`). At
the limit a 60-month baseline run takes about 10 minutes and, with history, several GB.
Larger markets are the vector engine's job."""

LOG_LIMIT_BYTES = 2**30
"""Largest customer log (1 GiB in memory, by `sim.customer_log.estimate`) a run keeps
unless forced."""

TRACKS = ("strategist", "research", "lesson")
"""Who a notebook is for: decision makers (code hidden), analysts, learners."""
ALL_TRACKS = "all"
"""The track that selects every notebook."""

OBJECTIVES: dict[str, str] = {
    "npv": "profit_npv",
    "roi": "roi",
    "retention": "retention_of_initial",
}
"""What `sim.experiments.optimise` may maximise: objective name → the paired measure it
maximises (a metric of ``Comparison.paired``)."""


def shown_bytes(count: float) -> str:
    """A size for a message: ``512 MiB``, ``1.2 GiB``."""
    if count >= 2**30:
        return f"{count / 2**30:.3g} GiB"
    return f"{count / 2**20:.3g} MiB"


SPLIT_OVER = ("capabilities", "channels")
"""What `sim.experiments.optimise` may split a budget over: the eight capabilities, or the
support channels a scenario opens (``support.channels``)."""
