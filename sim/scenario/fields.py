"""Field types shared by the scenario's sections: strict frozen models and bounded numbers."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Share = Annotated[float, Field(ge=0.0, le=1.0)]
"""A share or fraction, 0–1."""
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
"""A probability, 0–1."""
NonNegative = Annotated[float, Field(ge=0.0)]
MAX_LEVEL = 5.0
"""The top of the capability scale (leading)."""
Level = Annotated[float, Field(ge=0.0, le=MAX_LEVEL)]
"""A capability level, 0 (absent) to `MAX_LEVEL` 5 (leading)."""
MonthNumber = Annotated[int, Field(ge=1, le=600)]
"""A month of the run, 1-based."""
SEED_MAX = 2**63 - 1
"""The largest seed (seeds are stored in int64 columns)."""
Seed = Annotated[int, Field(ge=0, le=SEED_MAX)]
"""A random seed: a 64-bit signed integer ≥ 0 (it is stored in int64 columns)."""

SHARE_TOLERANCE = 1e-5
"""How far shares that must sum to 1 may miss it: six-decimal input (a three-way split
written 0.333333 sums to 0.999999) passes."""

NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$"
"""Scenario and sweep names: letters, digits, ``_ . -``, not starting with a dot or a dash
(a name is a folder under results/, so ``.`` and ``..`` must not be names)."""
NAME_MAX_LENGTH = 100
NAME_RULE = (
    f"a name of letters, digits, '_', '.' and '-' (at most {NAME_MAX_LENGTH} characters, "
    "not starting with '.' or '-')"
)
"""What a name may be, as error messages say it."""
Name = Annotated[str, Field(min_length=1, max_length=NAME_MAX_LENGTH, pattern=NAME_PATTERN)]


class Strict(BaseModel):
    """A frozen scenario section that rejects unknown keys and loose types.

    Strict types: an integer field takes an integer (not ``true``, not ``"12"``, not
    ``12.0``); a number field takes an integer or a float but neither a boolean nor text; a
    boolean field takes ``true`` or ``false`` only. Every number must be finite (no ``.inf``
    or ``.nan``), in dict values and lists too.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)
