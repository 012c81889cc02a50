"""The classroom's model: a scenario with the class's settings, run as several replications
(and, to compare, the scenario without the class's change) one month per step.

`Classroom` is a `mesa.Model`, so Mesa's visualisation steps, plays and resets it like
any Mesa model. One step advances every replication by one month: replication r is
`CXModel(scenario, seed, replication=r)`, exactly the run `sim.run(scenario,
replications=R, seed=seed)` makes, so the page's numbers are the library's numbers. With
`compare` on, the same replications of the *reference* scenario (the file with only the
market and horizon of the class's settings) run beside them on the same seed, common
random numbers, and the page plots the paired difference.

The first replication keeps the customer log (`sim.customer_log`), from which the page
shows one customer's journey; its market's state colours the word-of-mouth network.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd

from sim import PROJECT_ROOT
from sim.classroom.levers import CLASSROOM_MARKET_SIZE, GROUPS, LEVERS, apply_settings
from sim.customers.population import ACTIVE, LAPSED, PROSPECT
from sim.customers.rules import DETRACTOR_BELOW, PROMOTER_FROM
from sim.errors import OptionError, ScenarioError, check_whole
from sim.model import CXModel
from sim.scenario import Scenario, load_scenario

DEFAULT_SCENARIO = PROJECT_ROOT / "scenarios" / "baseline.yaml"
"""The scenario the page opens with."""
MAX_REPLICATIONS = 10
"""Most replications the page runs at once."""
DEFAULT_REPLICATIONS = 3
"""Replications the page starts with: enough for a band, few enough to step fast."""
MARKET_AND_RUN = tuple(lever.key for lever in LEVERS if lever.group == GROUPS[0])
"""The levers the reference scenario of a comparison shares with the class's."""
PEOPLE_GROUPS: tuple[str, ...] = ("prospect", "promoter", "passive", "detractor", "lapsed")
"""How the network view classes people: not yet customers, customers by the answer they
would likely give to "would you recommend us?" (latent score from cumulative satisfaction:
promoters from `PROMOTER_FROM`, detractors below `DETRACTOR_BELOW`, on 0–10), and former
customers."""


def classroom_defaults() -> dict[str, Any]:
    """The settings a page opens with beyond the scenario's own: the classroom market."""
    return {"market_size": str(CLASSROOM_MARKET_SIZE)}


def resolve(path: str | os.PathLike[str]) -> Path:
    """A scenario path as the page takes it: relative paths from the project root."""
    path = Path(path)
    return path if path.is_absolute() else PROJECT_ROOT / path


class Classroom(mesa.Model):
    """A scenario with a class's settings, several replications, one month per step.

    Args:
        scenario_path: the scenario file (relative paths from the project root).
        settings: lever key → value (`sim.classroom.levers`); levers not named keep the
            scenario's values; default `classroom_defaults` (the classroom market).
        replications: how many replications run side by side (1 to `MAX_REPLICATIONS`).
        compare: also run the reference scenario (the file with only the class's market and
            horizon), same seed and replications, to plot the difference.
        seed: the scenario seed (default: the scenario's).

    Raises:
        ScenarioError: an unreadable or invalid scenario file, or settings it cannot take.
        OptionError: replications not a whole number from 1 to `MAX_REPLICATIONS`, or
            compare not a boolean (the page shows either as its one-line error).
    """

    def __init__(
        self,
        scenario_path: str = str(DEFAULT_SCENARIO),
        settings: Mapping[str, Any] | None = None,
        replications: int = DEFAULT_REPLICATIONS,
        compare: bool = False,
        seed: int | None = None,
    ) -> None:
        replications = check_whole("replications", replications, 1, MAX_REPLICATIONS)
        if not isinstance(compare, bool):
            raise OptionError("compare", f"got {compare!r}; must be true or false")
        self.scenario_path = resolve(scenario_path)
        self.file_scenario: Scenario = load_scenario(self.scenario_path)
        firms = self.file_scenario.firms
        if firms is not None and len(firms) > 1:
            raise ScenarioError(
                str(self.scenario_path),
                "firms",
                ", ".join(entry.name for entry in firms),
                "the classroom page shows one firm; a market of several firms is played in "
                "the classroom game (`cxm game new`, docs/game.md)",
            )
        self.settings = dict(classroom_defaults() if settings is None else settings)
        self.spec: Scenario = apply_settings(self.file_scenario, self.settings)
        shared = {k: v for k, v in self.settings.items() if k in MARKET_AND_RUN}
        self.reference: Scenario = apply_settings(self.file_scenario, shared)
        self.seed_value = self.spec.seed if seed is None else int(seed)
        super().__init__(rng=np.random.default_rng(self.seed_value))
        self.replications = int(replications)
        self.compare = bool(compare)
        self.month = 0
        self.runs = [
            CXModel(self.spec, seed=self.seed_value, replication=r, customer_log=r == 0)
            for r in range(self.replications)
        ]
        self.references = (
            [
                CXModel(self.reference, seed=self.seed_value, replication=r)
                for r in range(self.replications)
            ]
            if self.compare
            else []
        )

    @property
    def months(self) -> int:
        """The horizon, months."""
        return self.spec.months

    def step(self) -> None:
        """Advance every replication (and every reference replication) by one month."""
        if self.month >= self.months:
            self.running = False
            return
        for model in (*self.runs, *self.references):
            model.step()
        self.month += 1
        self.running = self.month < self.months

    # ------------------------------------------------------------------ what the page shows

    def timeseries(self) -> pd.DataFrame:
        """The months so far: one row per replication × month, the columns of
        `sim.RunResult.timeseries` (empty before the first step)."""
        return _timeseries(self.runs)

    def reference_timeseries(self) -> pd.DataFrame:
        """The reference scenario's months so far (empty without `compare`)."""
        return _timeseries(self.references)

    def difference(self, metrics: list[str]) -> pd.DataFrame:
        """The class's scenario minus the reference, replication by replication and month by
        month (paired on common random numbers), for `metrics` (empty without `compare`)."""
        ours, theirs = self.timeseries(), self.reference_timeseries()
        if theirs.empty:
            return pd.DataFrame(columns=["replication", "month", *metrics])
        keys = ["replication", "month"]
        joined = ours[keys + metrics].merge(theirs[keys + metrics], on=keys, suffixes=("", "_ref"))
        for metric in metrics:
            joined[metric] = joined[metric] - joined[f"{metric}_ref"]
        return joined[keys + metrics]

    def people(self) -> pd.DataFrame:
        """Everyone in the first replication's market now: ``group`` (one of
        `PEOPLE_GROUPS`) and ``satisfaction`` (cumulative, 0–1; NaN for prospects)."""
        population = self.runs[0].population
        status, satisfaction = population.status, population.satisfaction.astype(float)
        score = 10.0 * satisfaction
        group = np.select(
            [
                status == PROSPECT,
                status == LAPSED,
                (status == ACTIVE) & (score >= PROMOTER_FROM),
                (status == ACTIVE) & (score < DETRACTOR_BELOW),
            ],
            ["prospect", "lapsed", "promoter", "detractor"],
            default="passive",
        )
        return pd.DataFrame(
            {"group": group, "satisfaction": np.where(status == PROSPECT, np.nan, satisfaction)}
        )

    def interactions(self) -> pd.DataFrame:
        """The first replication's customer log so far: one row per interaction
        (`sim.customer_log.INTERACTION_COLUMNS`; empty before the first step)."""
        if self.month == 0:
            return pd.DataFrame(columns=["customer"])
        return self.runs[0].log.tables()[0]

    def journey(self, customer: int) -> pd.DataFrame:
        """One customer's interactions in the first replication, in order: month, touchpoint,
        quality delivered and perceived, satisfaction with the interaction and cumulative
        satisfaction after the month (0–1 each), effort (0–1), and a support contact's
        outcome."""
        log = self.interactions()
        if log.empty:
            return log
        return log[log["customer"] == int(customer)].reset_index(drop=True)

    def followed(self, count: int = 40) -> list[int]:
        """Up to `count` customers of the first replication with the most interactions so
        far (ties: lower number first), to pick one from."""
        log = self.interactions()
        if log.empty:
            return []
        counts = log.groupby("customer", observed=True).size()
        order = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        return [int(customer) for customer, _ in order[:count]]


def _timeseries(models: list[CXModel]) -> pd.DataFrame:
    frames = [
        m.recorder.timeseries().assign(replication=m.replication) for m in models if m.month > 0
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
