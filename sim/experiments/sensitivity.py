"""Sensitivity indices: how much of an outcome's variation each parameter accounts for.

Two methods, both computed with SALib from the outcomes of a design, in design order:

- **Sobol'** (variance based; Sobol' 2001, Saltelli et al. 2010): S1 is the share of the
  outcome's variance due to a parameter alone, ST the share it takes part in, interactions
  included (ST − S1 is its interaction share). Confidence half-widths come from a bootstrap.
- **Morris** (elementary effects; Morris 1991, Campolongo et al. 2007): mu is the mean
  change of the outcome for a step of one parameter, mu_star the mean absolute change (the
  screening measure: small means unimportant) and sigma its spread (large means non-linear
  or interacting). Effects are in outcome units per full range of the parameter, because
  designs are analysed in unit coordinates.

A sweep with replications first averages each sample's replications; since every sample uses
the same seeds (common random numbers), the averaged outcome is a smooth function of the
parameters and the indices carry little simulation noise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.experiments.designs import Design, unit_problem

SOBOL_COLUMNS = ("S1", "S1_conf", "ST", "ST_conf")
MORRIS_COLUMNS = ("mu", "mu_star", "mu_star_conf", "sigma")
RESAMPLES = 100
"""Bootstrap resamples for the confidence half-widths."""


def sobol_indices(
    names: list[str] | tuple[str, ...],
    y: np.ndarray,
    second_order: bool = False,
    seed: int = 1,
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """First-order and total Sobol' indices of one outcome.

    Args:
        names: the parameters, in design column order.
        y: the outcome of each sample of a Sobol' design, in design order.
        second_order: whether the design was drawn with second-order samples.
        seed: seeds the bootstrap of the confidence half-widths (must be non-zero).
        conf_level: level of the confidence half-widths.

    Returns:
        One row per parameter: parameter, S1, S1_conf, ST, ST_conf (NaN if the outcome is
        missing for some sample or does not vary).
    """
    from SALib.analyze import sobol

    y = np.asarray(y, dtype=np.float64)
    if not _usable(y):
        return _nan_table(names, SOBOL_COLUMNS)
    indices = sobol.analyze(
        _problem(names),
        y,
        calc_second_order=second_order,
        num_resamples=RESAMPLES,
        conf_level=conf_level,
        seed=_nonzero(seed),
    )
    return pd.DataFrame({"parameter": list(names)} | {c: indices[c] for c in SOBOL_COLUMNS})


def morris_indices(
    names: list[str] | tuple[str, ...],
    unit: np.ndarray,
    y: np.ndarray,
    levels: int = 4,
    seed: int = 1,
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """Morris elementary-effect statistics of one outcome.

    Args:
        names: the parameters, in design column order.
        unit: the design in unit coordinates (samples × parameters).
        y: the outcome of each sample, in design order.
        levels: the design's number of grid levels.
        seed: seeds the bootstrap of mu_star_conf.
        conf_level: level of the confidence half-width.

    Returns:
        One row per parameter: parameter, mu, mu_star, mu_star_conf, sigma (outcome units
        per full range of the parameter).
    """
    from SALib.analyze import morris

    y = np.asarray(y, dtype=np.float64)
    if not np.all(np.isfinite(y)):
        return _nan_table(names, MORRIS_COLUMNS)
    indices = morris.analyze(
        _problem(names),
        np.asarray(unit, dtype=np.float64),
        y,
        num_resamples=RESAMPLES,
        conf_level=conf_level,
        num_levels=levels,
        seed=_nonzero(seed),
    )
    return pd.DataFrame(
        {"parameter": list(names)} | {c: np.asarray(indices[c]) for c in MORRIS_COLUMNS}
    )


def analyse(design: Design, outcomes: pd.DataFrame, seed: int = 1) -> pd.DataFrame | None:
    """Indices of every outcome column for a Sobol' or Morris design.

    Args:
        design: the design the outcomes come from.
        outcomes: one row per sample in design order, one column per outcome.
        seed: seeds the bootstrap.

    Returns:
        One row per outcome × parameter with the method's columns, or None for designs
        without an index method (grid, random, latin_hypercube).
    """
    if design.kind not in ("sobol", "morris"):
        return None
    tables = []
    for outcome in outcomes.columns:
        y = outcomes[outcome].to_numpy(dtype=np.float64)
        if design.kind == "sobol":
            table = sobol_indices(design.names, y, design.second_order, seed)
        else:
            table = morris_indices(design.names, design.unit, y, design.morris_levels, seed)
        tables.append(table.assign(outcome=outcome))
    frame = pd.concat(tables, ignore_index=True)
    return frame[["outcome", *[c for c in frame.columns if c != "outcome"]]]


def _problem(names: list[str] | tuple[str, ...]) -> dict:
    return unit_problem(list(names))


def _usable(y: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(y))) and float(np.ptp(y)) > 0.0


def _nonzero(seed: int) -> int:
    # SALib's Sobol' analysis falls back to NumPy's global random state for a seed of 0.
    return int(seed) + 1


def _nan_table(names: list[str] | tuple[str, ...], columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({"parameter": list(names)} | dict.fromkeys(columns, np.nan))
