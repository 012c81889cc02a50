"""Scenario discovery: the input regions of a sweep where an outcome condition holds.

The conditions (``retention_of_initial >= 0.5``) mark each finished run of a sweep as a case
of interest or not; `sim.experiments.prim` then finds the boxes of the sweep's numeric
parameters where those cases concentrate. `prim`, `Box` and `PrimResult` are re-exported
here.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import CXMError, OptionError
from sim.experiments.prim import MAX_BOXES, Box, PrimResult, check_options, prim
from sim.experiments.sweep_store import read_manifest

__all__ = ["MAX_BOXES", "Box", "Condition", "PrimResult", "discover", "parse_condition", "prim"]

OPERATORS = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
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
        raise OptionError(
            "where",
            f"got {text!r}; expected OUTCOME OP NUMBER with OP one of "
            f"{', '.join(OPERATORS)}, e.g. 'retention_of_initial >= 0.5'",
        )
    return Condition(match.group(1), match.group(2), value)


def check_discover_options(
    min_mass: float, peel_alpha: float, threshold: float | None, max_boxes: int
) -> None:
    """Check the settings of `discover`, named by their parameters.

    Raises:
        OptionError: e.g. ``min_mass: got 1.5; must lie strictly between 0 and 1``.
    """
    shares = {"min_mass": min_mass, "peel_alpha": peel_alpha}
    check_options(shares, {"threshold": threshold}, {"max_boxes": max_boxes})


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
        CXMError: a setting out of range (checked first, named by its
            parameter), not a sweep directory, a malformed condition, an unknown outcome, or no
            numeric parameter.
    """
    check_discover_options(min_mass, peel_alpha, threshold, max_boxes)
    conditions = [parse_condition(text) for text in where]
    if not conditions:
        raise OptionError("where", "give at least one condition, e.g. 'profit_npv > 1e7'")
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
            raise OptionError(
                "where",
                f"{condition.outcome!r} is not an outcome of this sweep; "
                f"allowed: {', '.join(outcomes)}",
            )
    numeric = [p for p in parameters if pd.api.types.is_numeric_dtype(runs[p])]
    if not numeric or runs.empty:
        raise CXMError(f"{runs_dir}: no finished runs with numeric parameters to search")
    holds = np.logical_and.reduce([c.holds(runs) for c in conditions])
    result = prim(
        runs[numeric],
        holds,
        peel_alpha=peel_alpha,
        min_mass=min_mass,
        threshold=threshold,
        max_boxes=max_boxes,
    )
    skipped = [p for p in parameters if p not in numeric]
    return PrimResult(
        result.boxes,
        result.trajectories,
        result.inputs,
        result.cases,
        result.of_interest,
        [str(c) for c in conditions],
        skipped,
    )
