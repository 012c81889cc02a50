"""Experimental designs: which parameter values a sweep runs, sample by sample.

A sweep varies scenario parameters, each named by its dotted path
(``firm.capabilities.technology``). A parameter is either a list of `levels` (a factor) or
a `range` with a distribution (an uncertainty). A design turns the parameters into an ordered
list of samples, each a mapping from path to value:

- **grid**: every combination of levels (the last parameter varies fastest);
- **random**: independent draws;
- **latin_hypercube**: a Latin hypercube (McKay, Beckman & Conover 1979), one draw in each
  of `samples` equal-probability strata of every parameter;
- **sobol**: Saltelli's extension of the Sobol' sequence (Saltelli 2002; SALib), N·(D+2)
  samples, or N·(2D+2) with second-order indices, for variance-based sensitivity indices;
- **morris**: r one-at-a-time trajectories on a p-level grid (Morris 1991; SALib), r·(D+1)
  samples, for elementary-effects screening.

Every design except the grid is first drawn in the unit hypercube and then mapped to values
by each parameter's inverse distribution function, so one mapping serves all designs and the
sensitivity analysis can work in unit coordinates (a Morris effect is then the change of an
outcome per full range of a parameter, comparable across parameters).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

DesignKind = Literal["grid", "random", "latin_hypercube", "sobol", "morris"]
DESIGNS: tuple[str, ...] = ("grid", "random", "latin_hypercube", "sobol", "morris")
SOBOL_MIN_SAMPLES = 8
"""The smallest base sample N of a Sobol' design (a power of two)."""
MAX_DESIGN_SAMPLES = 1_000_000
"""Most samples of a design, and the largest `samples` (n, N or r) a design takes."""
MAX_LEVELS = 1_000
"""Most levels of one parameter."""
NORMAL_HALF_WIDTH_SD = 3.0
"""A `normal` parameter is a normal truncated to its range, which spans ± this many sd."""


class Parameter(BaseModel):
    """One varied scenario value: a factor with `levels` or an uncertainty with a `range`.

    Attributes:
        levels: the values a grid runs through; other designs draw among them with equal
            probability.
        range: ``[low, high]`` in the parameter's own unit.
        distribution: how values spread over the range: uniform, normal (mean at the
            midpoint, truncated to the range, which spans ±3 sd) or triangular (peak at
            `mode`, default the midpoint).
        mode: the peak of a triangular distribution.
        integer: values are whole numbers (each integer of the range equally likely under
            the uniform distribution, rounded otherwise).

    Numbers must be finite; a parameter has at most `MAX_LEVELS` levels.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    levels: Annotated[list[Any], Field(min_length=1, max_length=MAX_LEVELS)] | None = None
    range: Annotated[list[float], Field(min_length=2, max_length=2)] | None = None
    distribution: Literal["uniform", "normal", "triangular"] = "uniform"
    mode: float | None = None
    integer: bool = False


@dataclass(frozen=True)
class Design:
    """An ordered list of samples of the varied parameters.

    Attributes:
        kind: grid, random, latin_hypercube, sobol or morris.
        names: the parameter paths, in column order.
        samples: one mapping from path to value per sample, in design order.
        unit: the samples in unit-hypercube coordinates (samples × parameters); None for a
            grid.
        second_order: a Sobol' design that supports second-order indices.
        morris_levels: the number of grid levels of a Morris design.
    """

    kind: str
    names: tuple[str, ...]
    samples: list[dict[str, Any]]
    unit: np.ndarray | None
    second_order: bool = False
    morris_levels: int = 4

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def problem(self) -> dict[str, Any]:
        """The SALib problem (unit bounds; the mapping to values is applied afterwards)."""
        return unit_problem(self.names)


def unit_problem(names: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """A SALib problem definition over the unit hypercube."""
    return {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}


def make_design(
    parameters: Mapping[str, Parameter],
    kind: str,
    samples: int | None = None,
    seed: int | np.random.SeedSequence = 0,
    second_order: bool = False,
    morris_levels: int = 4,
) -> Design:
    """Draw a design.

    Args:
        parameters: path → parameter, in column order.
        kind: one of `DESIGNS`.
        samples: random and latin_hypercube: the number of samples; sobol: the base sample
            N (a power of two, at least 8); morris: the number of trajectories r. Not used by
            a grid.
        seed: seeds the sampling (nothing else is random here).
        second_order: Sobol' only: N·(2D+2) samples instead of N·(D+2).
        morris_levels: Morris only: grid levels p (even, at least 2).

    Raises:
        ValueError: a parameter does not suit the design, or `samples` is missing or too small.
    """
    names = tuple(parameters)
    if kind == "grid":
        missing = [name for name, p in parameters.items() if p.levels is None]
        if missing:
            raise ValueError(f"a grid needs levels for every parameter; missing: {missing}")
        size = math.prod(len(p.levels) for p in parameters.values())
        if size > MAX_DESIGN_SAMPLES:
            raise ValueError(f"a grid of {size:,} samples; at most {MAX_DESIGN_SAMPLES:,}")
        combos = itertools.product(*(parameters[n].levels for n in names))
        return Design(kind, names, [dict(zip(names, c, strict=True)) for c in combos], None)
    if samples is None or samples < 1:
        raise ValueError(f"the {kind} design needs samples ≥ 1 (got {samples})")
    size = design_size(kind, len(names), samples, second_order)
    if size > MAX_DESIGN_SAMPLES:
        raise ValueError(f"a {kind} design of {size:,} samples; at most {MAX_DESIGN_SAMPLES:,}")
    rng = np.random.default_rng(seed)
    d = len(names)
    if kind == "random":
        unit = rng.random((samples, d))
    elif kind == "latin_hypercube":
        unit = unit_samples(d, samples, rng)
    elif kind == "sobol":
        if samples < SOBOL_MIN_SAMPLES or samples & (samples - 1):
            raise ValueError(f"a Sobol' design needs N a power of two ≥ 8 (got {samples})")
        from SALib.sample import sobol

        unit = sobol.sample(unit_problem(names), samples, calc_second_order=second_order, seed=rng)
    elif kind == "morris":
        if morris_levels < 2 or morris_levels % 2:
            raise ValueError(f"Morris needs an even number of levels ≥ 2 (got {morris_levels})")
        from SALib.sample import morris

        unit = morris.sample(unit_problem(names), samples, num_levels=morris_levels, seed=rng)
    else:
        raise ValueError(f"unknown design {kind!r}; allowed: {', '.join(DESIGNS)}")
    columns = [to_values(parameters[name], unit[:, j]) for j, name in enumerate(names)]
    rows = [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
    return Design(kind, names, rows, unit, second_order, morris_levels)


def design_size(kind: str, n_parameters: int, samples: int, second_order: bool = False) -> int:
    """Samples in a sobol (N·(D+2) or N·(2D+2)), morris (r·(D+1)) or random/LHS design."""
    if kind == "sobol":
        return samples * ((2 * n_parameters + 2) if second_order else (n_parameters + 2))
    if kind == "morris":
        return samples * (n_parameters + 1)
    return samples


def unit_samples(n_parameters: int, samples: int, rng: np.random.Generator) -> np.ndarray:
    """A Latin hypercube in the unit cube (samples × parameters), e.g. for a coarse search."""
    from scipy.stats import qmc  # when first needed, as SALib: a run needs none of them

    return qmc.LatinHypercube(n_parameters, rng=rng).random(samples)


def to_values(parameter: Parameter, u: np.ndarray) -> list[Any]:
    """Map unit coordinates to parameter values by the inverse distribution function.

    Args:
        parameter: the parameter (levels or range).
        u: coordinates in [0, 1].

    Returns:
        Plain Python values (float, int, or the levels' own type), one per coordinate.
    """
    u = np.clip(np.asarray(u, dtype=np.float64), 0.0, 1.0)
    if parameter.levels is not None:
        k = len(parameter.levels)
        index = np.minimum((u * k).astype(np.int64), k - 1)
        return [parameter.levels[i] for i in index]
    low, high = parameter.range
    if parameter.integer and parameter.distribution == "uniform":
        first, count = math.ceil(low), math.floor(high) - math.ceil(low) + 1
        steps = np.minimum(np.floor(u * count), count - 1)
        return [first + int(s) for s in steps]
    x = _inverse_cdf(parameter, u) if high > low else np.full_like(u, low)
    if parameter.integer:
        return [int(v) for v in np.clip(np.rint(x), math.ceil(low), math.floor(high))]
    return [float(v) for v in x]


def _inverse_cdf(parameter: Parameter, u: np.ndarray) -> np.ndarray:
    from scipy import stats

    low, high = parameter.range
    width = high - low
    if parameter.distribution == "normal":
        h = NORMAL_HALF_WIDTH_SD
        return stats.truncnorm.ppf(u, -h, h, loc=(low + high) / 2, scale=width / (2 * h))
    if parameter.distribution == "triangular":
        mode = (low + high) / 2 if parameter.mode is None else parameter.mode
        return stats.triang.ppf(u, (mode - low) / width, loc=low, scale=width)
    return low + u * width
