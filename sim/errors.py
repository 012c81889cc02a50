"""Errors a user can fix: bad scenario files, bad overrides, bad command-line values.

Every error names where the problem is (file and field path), the value found and what is
allowed, so the command line can print one clear line and exit with status 2.
"""

from __future__ import annotations

from typing import Any


class CXMError(Exception):
    """Base class of errors caused by user input (reported without a traceback)."""


class ScenarioError(CXMError):
    """A scenario file or override is invalid.

    Attributes:
        source: the file (or ``--set`` override) the problem came from.
        path: dotted field path inside the scenario, e.g. ``market.segments.0.share``.
        value: the offending value (or ``None`` when a field is missing).
        allowed: what would have been accepted.
    """

    def __init__(self, source: str, path: str, value: Any, allowed: str) -> None:
        self.source = source
        self.path = path
        self.value = value
        self.allowed = allowed
        where = f"{source}: " if source else ""
        if not path and value is None:
            super().__init__(f"{where}{allowed}")
            return
        field = f"field '{path}': " if path else ""
        super().__init__(f"{where}{field}got {value!r}; {allowed}")
