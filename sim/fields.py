"""Field types shared by the scenario's sections: strict frozen models and bounded numbers."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Share = Annotated[float, Field(ge=0.0, le=1.0)]
"""A share or fraction, 0–1."""
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
"""A probability, 0–1."""
NonNegative = Annotated[float, Field(ge=0.0)]
Level = Annotated[float, Field(ge=0.0, le=5.0)]
"""A capability level, 0 (absent) to 5 (leading)."""
Month = Annotated[int, Field(ge=1, le=600)]
"""A month of the run, 1-based."""


class Strict(BaseModel):
    """A frozen scenario section that rejects unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)
