"""Errors a user can fix: bad scenario files, bad overrides, bad command-line values.

Every error names where the problem is (file and field path), the value found and what is
allowed, so the command line can print one clear line and exit with status 2. The line is
bounded: a value is quoted by `bounded_repr` (at most `VALUE_EXCERPT_CHARS` characters, never
expanding a large structure) and every part is flattened to one line and clipped.
"""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Callable
from typing import Any

EXIT_BAD_INPUT = 2
"""Exit status of a command refused for bad input (a file, field, value or option)."""

VALUE_EXCERPT_CHARS = 200
"""Most characters of an offending value quoted in an error message."""
SOURCE_CHARS = 240
"""Most characters of the source (file or override) in an error message."""
PATH_CHARS = 160
"""Most characters of the field path in an error message."""
ALLOWED_CHARS = 320
"""Most characters of the "what is allowed" part of an error message."""
_NESTING = 20
"""Depth below which `bounded_repr` writes ``...`` instead of going further."""


class CXMError(Exception):
    """Base class of errors caused by user input (reported without a traceback)."""


class OptionError(CXMError):
    """A bad argument of a library call, named by its parameter.

    The library speaks of parameters (``max_evaluations``); a front-end renders the same
    problem with its own names (the command line: ``--max-evaluations``) through `rendered`.

    Attributes:
        option: the parameter at fault, e.g. ``"max_evaluations"``.
        problem: what is wrong and what is allowed; each parameter of `mentions` it names is
            written ``{name}`` and rendered like `option` (other text is left as it is).
        mentions: the other parameters `problem` names.
    """

    def __init__(self, option: str, problem: str, mentions: tuple[str, ...] = ()) -> None:
        self.option = option
        self.problem = problem
        self.mentions = mentions
        super().__init__(self.rendered(str))

    def rendered(self, name: Callable[[str], str]) -> str:
        """The message with every parameter shown as ``name(parameter)``."""
        text = self.problem
        for mention in self.mentions:
            text = text.replace(f"{{{mention}}}", name(mention))
        return f"{name(self.option)}: {text}"


class ScenarioError(CXMError):
    """A scenario file or override is invalid.

    The attributes keep what was given; the message (``str(error)``) is one line of bounded
    length.

    Attributes:
        source: the file (or override) the problem came from.
        path: dotted field path inside the scenario, e.g. ``market.segments.0.share``.
        value: the offending value (or ``None`` when a field is missing).
        allowed: what would have been accepted.
    """

    def __init__(self, source: str, path: str, value: Any, allowed: str) -> None:
        self.source = source
        self.path = path
        self.value = value
        self.allowed = allowed
        where = f"{one_line(source, SOURCE_CHARS, middle=True)}: " if source else ""
        allowed_text = one_line(allowed, ALLOWED_CHARS)
        if not path and value is None:
            super().__init__(f"{where}{allowed_text}")
            return
        field = f"field '{one_line(path, PATH_CHARS, middle=True)}': " if path else ""
        super().__init__(f"{where}{field}got {bounded_repr(value)}; {allowed_text}")


def one_line(text: str, limit: int, middle: bool = False) -> str:
    """`text` on one line (line breaks and other control characters escaped), clipped to
    about `limit` characters with '…' (in the middle when `middle`, else at the end)."""
    text = str(text)
    if len(text) > 4 * limit:  # escaping can only lengthen: look at what can be shown
        text = text[: 2 * limit] + text[-2 * limit :] if middle else text[: 4 * limit]
    flat = "".join(ch if ch.isprintable() else _escape(ch) for ch in text)
    if len(flat) <= limit:
        return flat
    if middle:
        head = (limit - 1) // 2
        return flat[:head] + "…" + flat[len(flat) - (limit - 1 - head) :]
    return flat[: limit - 1] + "…"


def _escape(ch: str) -> str:
    return ch.encode("unicode_escape", "backslashreplace").decode("ascii")


def bounded_repr(value: Any, limit: int = VALUE_EXCERPT_CHARS) -> str:
    """A repr of `value` of at most `limit` characters, ending in '…' when cut.

    Containers are walked item by item and the walk stops once `limit` characters are
    written, so a huge or deeply nested value (or one that contains itself) costs no more
    than a small one.
    """
    parts: list[str] = []
    budget = [limit + 1]

    def emit(text: str) -> None:
        parts.append(text[: budget[0]])
        budget[0] -= len(text)
        if budget[0] <= 0:
            raise _ExcerptFullError

    def walk(item: Any, depth: int) -> None:
        if depth > _NESTING:
            emit("...")
        elif isinstance(item, dict):
            emit("{")
            for i, (key, sub) in enumerate(item.items()):
                emit(", " if i else "")
                walk(key, depth + 1)
                emit(": ")
                walk(sub, depth + 1)
            emit("}")
        elif isinstance(item, list | tuple | set | frozenset):
            opening, closing = _BRACKETS.get(type(item), ("[", "]"))
            if isinstance(item, set | frozenset) and not item:
                emit(f"{type(item).__name__}()")
                return
            emit(opening)
            for i, sub in enumerate(item):
                emit(", " if i else "")
                walk(sub, depth + 1)
            emit("," + closing if isinstance(item, tuple) and len(item) == 1 else closing)
        elif isinstance(item, str | bytes):
            emit(repr(item[: limit + 1]))
        else:
            try:
                text = repr(item)
            except Exception:  # e.g. an integer of more digits than int → str allows
                text = f"<{type(item).__name__} that cannot be shown>"
            emit(text)

    with contextlib.suppress(_ExcerptFullError):
        walk(value, 0)
    return one_line("".join(parts), limit)


_BRACKETS = {tuple: ("(", ")"), set: ("{", "}"), frozenset: ("frozenset({", "})")}


class _ExcerptFullError(Exception):
    """The excerpt is long enough."""


def check_whole(option: str, value: object, low: int, high: int) -> int:
    """`value` as an int from `low` to `high` (a boolean is not a number).

    Raises:
        OptionError: ``"<option>: got <value>; must be a whole number from <low> to <high>"``.
    """
    whole = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not whole or not low <= value <= high:
        raise OptionError(
            option, f"got {shown_number(value)}; must be a whole number from {low} to {high}"
        )
    return int(value)


def shown_number(value: object) -> str:
    """A value for a message: numbers plainly (3, 1.5, nan), anything else as its repr."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return repr(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    return repr(float(value))
