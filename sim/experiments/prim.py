"""PRIM, the Patient Rule Induction Method: the boxes of input space where cases of interest
concentrate, for scenario discovery (`sim.experiments.discover`).

PRIM, the Patient Rule Induction Method (Friedman & Fisher 1999; as used for scenario
discovery by Bryant & Lempert 2010), looks for a box — a lower and upper limit on some
inputs — inside which the cases of interest (runs where, say, ``retention_of_initial >= 0.5``)
are concentrated. Peeling, pasting and covering are the EMA Workbench's
(``ema_workbench.analysis.prim.Prim``, Kwakkel 2017) with Friedman & Fisher's original
objective; this module chooses the box on the trajectory and reports it:

- **peeling** (workbench): starting from the box holding every case, repeatedly cut off the
  thin slice (a share `peel_alpha` of the box's cases, at the low or high end of one input)
  whose removal leaves the densest box, until the box would hold less than `min_mass` of
  all cases; each step is one box of the *trajectory*;
- **pasting** (workbench): widen the last box again, a share `paste_alpha` of the cases next
  to it at a time, while that raises its density; each widening is a further box of the
  trajectory;
- **selection** (here): the largest-coverage box of the trajectory whose density reaches a
  `threshold`; by default, the densest box's density less one binomial standard error
  (the one-standard-error rule of CART), so noise does not buy a tiny box a spurious edge;
- **covering** (workbench, checked here): to find further boxes, take out the cases in the
  box and start again; a further box must be denser than the data as a whole.

A box is judged by its *coverage* (the share of all cases of interest that it holds), its
*density* (the share of its cases that are of interest) and its *mass* (the share of all
cases that it holds); all three are shares from 0 to 1, computed here from the cases inside
the box's limits. Inputs are the sweep's numeric parameters; each finished run is a case.

What the workbench costs, measured with ema_workbench 3.0.0 and pandas 3.1 against the
numpy PRIM this module used to hold:

- it adds scikit-learn, statsmodels, Platypus-Opt, joblib, threadpoolctl, narwhals, patsy,
  formulaic, interface-meta and wrapt (about 160 MB installed, no version conflicts) and
  2.4–4.3 s of import time on two shared cores, paid only when `prim` first runs (it is
  imported there, so the other ``cxm`` commands start as fast as before);
- it is slower: 0.4–2.5 s for 1,000 cases × 3 inputs (0.03 s before), 1.6 s for 400 × 10
  (0.1 s), 4–5 s for 2,000–10,000 × 10–20 (0.2–0.9 s), small next to the sweep it analyses;
- its boxes agree: on ten sets of 1,000 uniform points with the true box x1 > 0.6 and
  x2 < 0.3, its limits lie within 0.025 of the true ones (0.025 before), with density 1 and
  coverage 0.97 on average (0.98 before); with 5 % of the labels flipped, within 0.034
  (0.21 before), density 0.97 and coverage 0.59 (0.97 and 0.62 before);
- its default objective ("lenient1", density gained per case removed) stops as soon as no
  slice raises the density, so it finds no box at all when the cases of interest sit in two
  opposite corners; the original objective, used here, finds both.

Three of its limits are worked around here: integer columns make its pasting fail under
pandas 3 (a half-way limit written into an integer frame), so every input is passed as a
float and limits of integer or boolean inputs are rounded inward to whole numbers, which
keeps the same cases; peeling and pasting recurse once per step, so the recursion limit is
raised by the number of cases while it runs (a small `peel_alpha` can take over a thousand
steps); and its import-time warnings, pandas deprecation warnings and log records are kept
out of the output.
"""

from __future__ import annotations

import contextlib
import logging
import math
import sys
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import CXMError, OptionError, check_whole, shown_number


@dataclass(frozen=True)
class Box:
    """A box of inputs and how well it captures the cases of interest.

    Attributes:
        limits: input → (low, high), inclusive, for the inputs the box restricts; a side
            left at the data's own extreme is None.
        coverage: share of all cases of interest inside the box.
        density: share of the box's cases that are of interest.
        mass: share of all cases inside the box.
        cases: cases inside the box; of_interest: of them, cases of interest.
    """

    limits: dict[str, tuple[float | None, float | None]]
    coverage: float
    density: float
    mass: float
    cases: int
    of_interest: int

    def describe(self) -> str:
        """The box as a readable conjunction, e.g. ``x1 >= 0.61 and x2 <= 0.29``."""
        parts = []
        for name, (low, high) in self.limits.items():
            if low is not None and high is not None:
                parts.append(f"{low:.4g} <= {name} <= {high:.4g}")
            elif low is not None:
                parts.append(f"{name} >= {low:.4g}")
            else:
                parts.append(f"{name} <= {high:.4g}")
        return " and ".join(parts) or "(the whole input space)"

    def to_dict(self) -> dict[str, Any]:
        limits = {k: {"low": lo, "high": hi} for k, (lo, hi) in self.limits.items()}
        figures = ("coverage", "density", "mass", "cases", "of_interest")
        return {"limits": limits, "rule": self.describe()} | {k: getattr(self, k) for k in figures}


@dataclass(frozen=True)
class PrimResult:
    """The boxes found, best first, and what they were found in.

    Attributes:
        boxes: one box per covering step.
        trajectories: per box, its peeling and pasting trajectory, one row per step with
            the step's coverage, density and mass (shares 0–1), cases, of_interest (counts)
            and restricted (how many inputs the box limits).
        inputs: the input columns used; cases: all cases; of_interest: cases of interest.
    """

    boxes: list[Box]
    trajectories: list[pd.DataFrame]
    inputs: list[str]
    cases: int
    of_interest: int
    conditions: list[str] = field(default_factory=list)
    skipped_inputs: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "conditions": self.conditions,
            "inputs": self.inputs,
            "skipped_inputs": self.skipped_inputs,
            "cases": self.cases,
            "of_interest": self.of_interest,
            "base_density": self.of_interest / self.cases if self.cases else None,
            "boxes": [box.to_dict() for box in self.boxes],
        }


def prim(
    inputs: pd.DataFrame,
    of_interest: np.ndarray | Sequence[bool],
    peel_alpha: float = 0.05,
    paste_alpha: float = 0.05,
    min_mass: float = 0.05,
    threshold: float | None = None,
    max_boxes: int = 1,
) -> PrimResult:
    """Find boxes of `inputs` where `of_interest` is concentrated (EMA Workbench PRIM).

    Args:
        inputs: one row per case, one numeric column per input (integer and boolean columns
            are allowed; their limits are whole numbers).
        of_interest: whether each case is of interest, one value per row of `inputs`.
        peel_alpha: share of the box's cases removed per peeling step (0.01–0.2 is usual).
        paste_alpha: share of the cases next to the box added per pasting step.
        min_mass: peeling stops before the box holds less than this share of all cases.
        threshold: choose the largest-coverage box with at least this density (default: the
            highest density on the trajectory less one binomial standard error); when no box
            of the trajectory reaches it, the densest box.
        max_boxes: boxes to find by covering; fewer come back when no further box is
            denser than the data as a whole.

    Raises:
        CXMError: a setting out of range (named by its argument), a non-numeric or
            non-finite input, or `of_interest` not one value per case.
    """
    shares = {"peel_alpha": peel_alpha, "paste_alpha": paste_alpha, "min_mass": min_mass}
    check_options(shares, {"threshold": threshold}, {"max_boxes": max_boxes})
    x, whole = _input_matrix(inputs)
    y = np.asarray(of_interest, dtype=bool).reshape(-1)
    if len(x) != len(y):
        raise CXMError(f"of_interest: got {len(y)} values for {len(x)} cases; need one per case")
    total, interesting = len(y), int(y.sum())
    boxes: list[Box] = []
    trajectories: list[pd.DataFrame] = []
    remaining = np.ones(total, dtype=bool)
    # Plain column names: the workbench drops a column called "scenario".
    frame = pd.DataFrame(x, columns=[f"x{j}" for j in range(x.shape[1])])
    with _quiet_workbench(extra_depth=total):
        workbench = _workbench_prim()
        search = workbench.Prim(
            frame,
            y.astype(np.int64),
            obj_function=workbench.PRIMObjectiveFunctions.ORIGINAL,
            peel_alpha=peel_alpha,
            paste_alpha=paste_alpha,
            mass_min=min_mass,
        )
        while len(boxes) < max_boxes and y[remaining].any():
            found = search.find_box()
            if found is None:
                break
            trajectory = _trajectory_frame(found.peeling_trajectory)
            step = _select(trajectory, threshold)
            found.select(step)
            limits = found.box_lims[step]
            low = limits.loc[0, frame.columns].to_numpy(np.float64, copy=True)
            high = limits.loc[1, frame.columns].to_numpy(np.float64, copy=True)
            low[whole], high[whole] = np.ceil(low[whole]), np.floor(high[whole])
            inside = remaining & _inside(x, low, high)
            if not inside.any() or (boxes and y[inside].mean() <= interesting / total):
                break  # a further box must be denser than the data as a whole
            boxes.append(_box(inputs.columns, x, low, high, y, inside))
            trajectories.append(trajectory)
            remaining &= ~inside
    return PrimResult(boxes, trajectories, [str(c) for c in inputs.columns], total, interesting)


MAX_BOXES = 100
"""Most boxes one discovery may look for."""


def check_options(
    shares: dict[str, float],
    densities: dict[str, float | None],
    counts: dict[str, int],
) -> None:
    """Check PRIM's settings, each named as the caller knows it (argument or option name).

    Args:
        shares: name → a share that must lie strictly between 0 and 1 (peel_alpha,
            paste_alpha, min_mass).
        densities: name → a density threshold in [0, 1], or None for none.
        counts: name → a number of boxes, from 1 to `MAX_BOXES`.

    Raises:
        CXMError: ``"<name>: got <value>; must ..."``, for NaN and infinity too.
    """
    for name, value in shares.items():
        if not _is_number(value) or not 0 < value < 1:
            raise OptionError(name, f"got {shown_number(value)}; must lie strictly between 0 and 1")
    for name, value in densities.items():
        if value is not None and (not _is_number(value) or not 0 <= value <= 1):
            raise OptionError(
                name, f"got {shown_number(value)}; must lie between 0 and 1 (a density)"
            )
    for name, value in counts.items():
        check_whole(name, value, 1, MAX_BOXES)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool)


def _input_matrix(inputs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The inputs as a float matrix, and which columns hold whole numbers (int or bool)."""
    if not isinstance(inputs, pd.DataFrame) or inputs.empty or inputs.shape[1] == 0:
        raise CXMError("inputs: need a DataFrame with at least one case and one input column")
    odd = [str(c) for c in inputs.columns if not pd.api.types.is_numeric_dtype(inputs[c])]
    if odd:
        raise CXMError(f"inputs: columns {', '.join(odd)} are not numeric")
    x = inputs.to_numpy(dtype=np.float64)
    if not np.isfinite(x).all():
        bad = [str(c) for j, c in enumerate(inputs.columns) if not np.isfinite(x[:, j]).all()]
        raise CXMError(f"inputs: columns {', '.join(bad)} hold missing or infinite values")
    whole = np.array(
        [
            pd.api.types.is_integer_dtype(inputs[c]) or pd.api.types.is_bool_dtype(inputs[c])
            for c in inputs.columns
        ],
        dtype=bool,
    )
    return x, whole


def _workbench_prim() -> ModuleType:
    """``ema_workbench.analysis.prim``, imported on first use (it takes seconds)."""
    from ema_workbench.analysis import prim as workbench

    return workbench


@contextlib.contextmanager
def _quiet_workbench(extra_depth: int) -> Iterator[None]:
    """Run the workbench without its warnings or log records below ERROR, with room to recurse.

    Its peeling and pasting call themselves once per step; a step removes or adds at least
    one case, so `extra_depth` (the number of cases) more frames always suffice.
    """
    logger = logging.getLogger(_WORKBENCH_LOGGER)
    level, limit = logger.level, sys.getrecursionlimit()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logger.setLevel(logging.ERROR)
        sys.setrecursionlimit(limit + extra_depth)
        try:
            yield
        finally:
            sys.setrecursionlimit(limit)
            logger.setLevel(level)


_WORKBENCH_LOGGER = "EMA"
"""The logger under which the EMA Workbench logs."""


def _inside(x: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    return np.all((x >= low) & (x <= high), axis=1)


def _trajectory_frame(trajectory: pd.DataFrame) -> pd.DataFrame:
    """The workbench's peeling and pasting trajectory: one row per box, in order."""
    return pd.DataFrame(
        {
            "step": np.arange(len(trajectory)),
            "coverage": trajectory["coverage"].to_numpy(np.float64),
            "density": trajectory["density"].to_numpy(np.float64),
            "mass": trajectory["mass"].to_numpy(np.float64),
            "cases": trajectory["n"].to_numpy(np.int64),
            "of_interest": trajectory["k"].to_numpy(np.int64),
            "restricted": trajectory["res_dim"].to_numpy(np.int64),
        }
    )


def _select(trajectory: pd.DataFrame, threshold: float | None) -> int:
    """The step chosen: the most coverage with at least `threshold` density (see `prim`)."""
    density = trajectory["density"].to_numpy()
    coverage = trajectory["coverage"].to_numpy()
    if threshold is None:
        densest = int(np.argmax(density))
        d, n = density[densest], trajectory["cases"].iloc[densest]
        threshold = d - math.sqrt(d * (1 - d) / n)
    reaching = np.flatnonzero(density >= threshold - _TOLERANCE)
    if not len(reaching):
        reaching = np.flatnonzero(density == density.max())
    return int(max(reaching, key=lambda i: (coverage[i], density[i])))


_TOLERANCE = 1e-12
"""Slack for a density equal to the threshold but for rounding."""


def _box(
    columns: pd.Index,
    x: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    y: np.ndarray,
    inside: np.ndarray,
) -> Box:
    limits = {}
    full_low, full_high = x.min(axis=0), x.max(axis=0)
    for j, name in enumerate(columns):
        lo = float(low[j]) if low[j] > full_low[j] else None
        hi = float(high[j]) if high[j] < full_high[j] else None
        if lo is not None or hi is not None:
            limits[str(name)] = (lo, hi)
    total, interesting = len(y), int(y.sum())
    cases, hits = int(inside.sum()), int(y[inside].sum())
    return Box(
        limits, hits / interesting, hits / cases if cases else 0.0, cases / total, cases, hits
    )
