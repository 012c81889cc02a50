"""Progress bars for long work, on standard error (hidden when it is not a terminal)."""

from __future__ import annotations

import sys

from tqdm import tqdm


def progress_bar(total: int | None, quiet: bool, label: str, unit: str = "month") -> tqdm:
    """A tqdm bar with done, rate and time left; `quiet` hides it."""
    return tqdm(
        total=total, unit=unit, desc=label, disable=quiet or None, leave=False, file=sys.stderr
    )
