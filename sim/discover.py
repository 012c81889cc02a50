"""Scenario discovery: the input regions of a sweep where an outcome condition holds.

PRIM, the Patient Rule Induction Method (Friedman & Fisher 1999; as used for scenario
discovery by Bryant & Lempert 2010), looks for a box — a lower and upper limit on some
inputs — inside which the cases of interest (runs where, say, ``retention_of_initial >= 0.5``)
are concentrated:

- **peeling**: starting from the box holding every case, repeatedly cut off the thin slice
  (a share `peel_alpha` of the box's cases, at the low or high end of one input) whose
  removal raises the density most, until the box holds less than `min_mass` of the cases;
  each step is one box of the *peeling trajectory*;
- **selection**: the largest-coverage box of the trajectory whose density reaches a
  `threshold`; by default, the densest box's density less one binomial standard error
  (the one-standard-error rule of CART), so noise does not buy a tiny box a spurious edge;
- **pasting**: widen the chosen box again, a slice at a time, while that keeps or raises its
  density;
- **covering**: to find further boxes, take out the cases in the box and start again.

A box is judged by its *coverage* (the share of all cases of interest that it holds), its
*density* (the share of its cases that are of interest) and its *mass* (the share of all
cases that it holds). Inputs are the sweep's numeric parameters; each finished run is a case.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import CXMError, check_whole, shown_number
from sim.output_paths import replace_file
from sim.sweep_store import read_manifest

OPERATORS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
             "==": operator.eq, "!=": operator.ne}  # fmt: skip
_CONDITION = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(>=|<=|==|!=|>|<)\s*(\S+)\s*$")


@dataclass(frozen=True)
class Condition:
    """An outcome condition such as ``retention_of_initial >= 0.5``."""

    outcome: str
    op: str
    value: float

    def __str__(self) -> str:
        return f"{self.outcome} {self.op} {self.value:g}"

    def holds(self, frame: pd.DataFrame) -> np.ndarray:
        """Whether the condition holds in each row (False where the outcome is missing)."""
        values = frame[self.outcome].to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore"):
            return OPERATORS[self.op](values, self.value) & ~np.isnan(values)


def parse_condition(text: str) -> Condition:
    """Parse ``NAME OP NUMBER`` with OP one of >=, <=, >, <, ==, != and a finite NUMBER.

    Raises:
        CXMError: the text is not such a condition.
    """
    match = _CONDITION.match(text)
    try:
        value = float(match.group(3)) if match else math.nan
    except ValueError:
        value = math.nan
    if match is None or not math.isfinite(value):
        raise CXMError(
            f"--where: got {text!r}; expected OUTCOME OP NUMBER with OP one of "
            f"{', '.join(OPERATORS)}, e.g. 'retention_of_initial >= 0.5'"
        )
    return Condition(match.group(1), match.group(2), value)


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
        trajectories: per box, the peeling trajectory (coverage, density, mass per step).
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
    """Find boxes of `inputs` where `of_interest` is concentrated.

    Args:
        inputs: one row per case, one numeric column per input.
        of_interest: whether each case is of interest.
        peel_alpha: share of the box's cases removed per peeling step (0.01–0.2 is usual).
        paste_alpha: share of the box's cases added per pasting step.
        min_mass: peeling stops before the box holds less than this share of all cases.
        threshold: choose the largest-coverage box with at least this density (default: the
            highest density on the peeling trajectory less one binomial standard error).
        max_boxes: boxes to find by covering; fewer come back when no further box is
            denser than the data as a whole.
    """
    shares = {"peel_alpha": peel_alpha, "paste_alpha": paste_alpha, "min_mass": min_mass}
    check_options(shares, {"threshold": threshold}, {"max_boxes": max_boxes})
    x = inputs.to_numpy(dtype=np.float64)
    y = np.asarray(of_interest, dtype=bool)
    if len(x) != len(y):
        raise ValueError(f"{len(x)} input rows but {len(y)} outcome values")
    total, interesting = len(y), int(y.sum())
    boxes, trajectories = [], []
    remaining = np.ones(total, dtype=bool)
    while len(boxes) < max_boxes and interesting and y[remaining].any():
        xs, ys = x[remaining], y[remaining]
        trajectory = _peel(xs, ys, peel_alpha, min_mass * total)
        low, high = _select(trajectory, threshold)
        low, high = _paste(xs, ys, low, high, paste_alpha)
        inside = _inside(xs, low, high)
        if boxes and ys[inside].mean() <= interesting / total:
            break  # a further box must be denser than the data as a whole
        boxes.append(_box(inputs.columns, xs, low, high, ys, inside, total, interesting))
        trajectories.append(_trajectory_frame(trajectory, total, interesting))
        remaining[np.flatnonzero(remaining)[inside]] = False
    return PrimResult(boxes, trajectories, list(inputs.columns), total, interesting)


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
            raise CXMError(f"{name}: got {shown_number(value)}; must lie strictly between 0 and 1")
    for name, value in densities.items():
        if value is not None and (not _is_number(value) or not 0 <= value <= 1):
            raise CXMError(
                f"{name}: got {shown_number(value)}; must lie between 0 and 1 (a density)"
            )
    for name, value in counts.items():
        check_whole(name, value, 1, MAX_BOXES)


def check_discover_options(
    min_mass: float, peel_alpha: float, threshold: float | None, max_boxes: int
) -> None:
    """Check the settings of `discover`, named by their ``cxm discover`` options.

    Raises:
        CXMError: e.g. ``--min-mass: got 1.5; must lie strictly between 0 and 1``.
    """
    shares = {"--min-mass": min_mass, "--peel-alpha": peel_alpha}
    check_options(shares, {"--threshold": threshold}, {"--max-boxes": max_boxes})


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool)


def _inside(x: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    return np.all((x >= low) & (x <= high), axis=1)


def _peel(x: np.ndarray, y: np.ndarray, alpha: float, min_cases: float) -> list[dict[str, Any]]:
    low, high = x.min(axis=0), x.max(axis=0)
    inside = np.ones(len(y), dtype=bool)
    trajectory = [_step(low, high, y, inside)]
    while True:
        best = None
        xb, yb = x[inside], y[inside]
        for j in range(x.shape[1]):
            for side in ("low", "high"):
                cut = _peel_cut(xb[:, j], alpha, side)
                if cut is None:
                    continue
                keep = xb[:, j] >= cut if side == "low" else xb[:, j] <= cut
                if keep.sum() < min_cases or keep.all():
                    continue
                score = (yb[keep].mean(), keep.sum())
                if best is None or score > best[0]:
                    best = (score, j, side, cut)
        if best is None:
            break
        _, j, side, cut = best
        low, high = low.copy(), high.copy()
        if side == "low":
            low[j] = cut
        else:
            high[j] = cut
        inside = _inside(x, low, high)
        trajectory.append(_step(low, high, y, inside))
    return trajectory


def _peel_cut(values: np.ndarray, alpha: float, side: str) -> float | None:
    """The new limit that removes about `alpha` of the values at one end (ties together)."""
    distinct = np.unique(values)
    if len(distinct) < 2:
        return None
    if side == "low":
        cut = np.quantile(values, alpha, method="higher")
        return float(cut if cut > distinct[0] else distinct[1])
    cut = np.quantile(values, 1 - alpha, method="lower")
    return float(cut if cut < distinct[-1] else distinct[-2])


def _step(low: np.ndarray, high: np.ndarray, y: np.ndarray, inside: np.ndarray) -> dict[str, Any]:
    n = int(inside.sum())
    return {"low": low, "high": high, "cases": n, "of_interest": int(y[inside].sum())}


def _select(trajectory: list[dict[str, Any]], threshold: float | None) -> tuple[np.ndarray, ...]:
    def density(step: dict[str, Any]) -> float:
        return step["of_interest"] / step["cases"] if step["cases"] else 0.0

    if threshold is None:
        densest = max(trajectory, key=density)
        d, n = density(densest), densest["cases"]
        threshold = d - math.sqrt(d * (1 - d) / n)
    reaching = [s for s in trajectory if density(s) >= threshold] or trajectory
    chosen = max(reaching, key=lambda s: (s["of_interest"], density(s)))
    return chosen["low"], chosen["high"]


def _paste(
    x: np.ndarray, y: np.ndarray, low: np.ndarray, high: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    low, high = low.copy(), high.copy()
    inside = _inside(x, low, high)
    while True:
        current = y[inside].mean() if inside.any() else 0.0
        step = max(1, round(alpha * inside.sum()))
        best = None
        for j in range(x.shape[1]):
            others = np.ones(len(y), dtype=bool)
            for k in range(x.shape[1]):
                if k != j:
                    others &= (x[:, k] >= low[k]) & (x[:, k] <= high[k])
            for side in ("low", "high"):
                outside = others & ((x[:, j] < low[j]) if side == "low" else (x[:, j] > high[j]))
                if not outside.any():
                    continue
                values = np.sort(x[outside, j])
                limit = values[-step:][0] if side == "low" else values[:step][-1]
                new_low, new_high = low.copy(), high.copy()
                if side == "low":
                    new_low[j] = limit
                else:
                    new_high[j] = limit
                grown = _inside(x, new_low, new_high)
                score = (y[grown].mean(), grown.sum())
                if score[0] >= current and (best is None or score > best[0]):
                    best = (score, new_low, new_high, grown)
        if best is None:
            return low, high
        _, low, high, inside = best


def _box(
    columns: pd.Index,
    x: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    y: np.ndarray,
    inside: np.ndarray,
    total: int,
    interesting: int,
) -> Box:
    limits = {}
    full_low, full_high = x.min(axis=0), x.max(axis=0)
    for j, name in enumerate(columns):
        lo = float(low[j]) if low[j] > full_low[j] else None
        hi = float(high[j]) if high[j] < full_high[j] else None
        if lo is not None or hi is not None:
            limits[str(name)] = (lo, hi)
    cases, hits = int(inside.sum()), int(y[inside].sum())
    return Box(limits, hits / interesting, hits / cases if cases else 0.0, cases / total, cases,
               hits)  # fmt: skip


def _trajectory_frame(
    trajectory: list[dict[str, Any]], total: int, interesting: int
) -> pd.DataFrame:
    rows = [
        {
            "step": i,
            "coverage": s["of_interest"] / interesting,
            "density": s["of_interest"] / s["cases"] if s["cases"] else 0.0,
            "mass": s["cases"] / total,
        }
        for i, s in enumerate(trajectory)
    ]
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- on a sweep


def discover(
    runs_dir: str | Path,
    where: Sequence[str],
    min_mass: float = 0.05,
    peel_alpha: float = 0.05,
    threshold: float | None = None,
    max_boxes: int = 1,
) -> PrimResult:
    """PRIM on a finished sweep: boxes of its parameters where every `where` holds.

    Args:
        runs_dir: a sweep result directory (runs.parquet and manifest.json).
        where: conditions such as ``"retention_of_initial >= 0.5"``, all of which must hold.
        min_mass, peel_alpha, threshold, max_boxes: as in `prim`.

    Raises:
        CXMError: a setting out of range (checked first, named by its ``cxm discover``
            option), not a sweep directory, a malformed condition, an unknown outcome, or no
            numeric parameter.
    """
    check_discover_options(min_mass, peel_alpha, threshold, max_boxes)
    conditions = [parse_condition(text) for text in where]
    if not conditions:
        raise CXMError("--where: give at least one condition, e.g. 'profit_npv > 1e7'")
    manifest = read_manifest(runs_dir)
    try:
        runs = pd.read_parquet(Path(runs_dir) / "runs.parquet")
        runs = runs[runs["status"] == "ok"].reset_index(drop=True)
        outcomes = list(manifest["outcomes"])
        parameters = list(manifest["design"]["parameters"])
        missing = [p for p in parameters if p not in runs]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise CXMError(f"{runs_dir}: not a readable sweep result ({reason})") from None
    if missing:
        raise CXMError(f"{runs_dir}: runs.parquet lacks the parameters {', '.join(missing)}")
    for condition in conditions:
        if condition.outcome not in outcomes:
            raise CXMError(
                f"--where: {condition.outcome!r} is not an outcome of this sweep; "
                f"allowed: {', '.join(outcomes)}"
            )
    numeric = [p for p in parameters if pd.api.types.is_numeric_dtype(runs[p])]
    if not numeric or runs.empty:
        raise CXMError(f"{runs_dir}: no finished runs with numeric parameters to search")
    holds = np.logical_and.reduce([c.holds(runs) for c in conditions])
    result = prim(runs[numeric], holds, peel_alpha=peel_alpha, min_mass=min_mass,
                  threshold=threshold, max_boxes=max_boxes)  # fmt: skip
    skipped = [p for p in parameters if p not in numeric]
    return PrimResult(result.boxes, result.trajectories, result.inputs, result.cases,
                      result.of_interest, [str(c) for c in conditions], skipped)  # fmt: skip


def write_discovery(result: PrimResult, path: str | Path, overwrite: bool = False) -> Path:
    """Write the boxes as JSON (to a temporary name, then renamed; a previous discovery is
    replaced only if `overwrite`, see `sim.output_paths`)."""
    text = json.dumps({"kind": "discovery"} | result.to_dict(), indent=1) + "\n"
    return replace_file(path, lambda temporary: temporary.write_text(text), overwrite)
