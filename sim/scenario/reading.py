"""Reading scenario files defensively: a regular UTF-8 file of at most 1 MB, safe YAML only,
no duplicate keys, and limits on aliases, nesting and the length of a value (`parse_yaml`).
This is the only module that parses YAML."""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any

import yaml

from sim.errors import ScenarioError, bounded_repr

MAX_FILE_BYTES = 1_000_000
"""Largest scenario or sweep file read (1 MB); the ready scenarios are a few kB."""
MAX_SCALAR_CHARS = 10_000
"""Longest single value (text, number or key) in a file or override, in characters."""
MAX_ALIASES = 100
"""Most YAML aliases (``*name``) in one document; a scenario needs few or none."""
MAX_ALIAS_VALUES = 10_000
"""Most values the aliases of one document may stand for, all together (so that a few
aliases of aliases cannot expand into billions of values)."""
MAX_VALUES = 20_000
"""Most values (mappings, lists and the items in them, aliases expanded) in one document;
a scenario holds a few hundred. This bounds the time a file takes to read."""
MAX_NESTING = 50
"""Deepest nesting of mappings and lists in a document (a scenario nests about 5 deep)."""
MAX_OVERRIDE_CHARS = 10_000
"""Longest ``--set dotted.path=value`` override, in characters."""
MAX_EXTENDS_CHAIN = 10
"""Most files in one chain of ``extends:``."""
SCENARIO_SUFFIXES = (".yaml", ".yml")
"""What the name of a file that ``extends:`` (or a sweep's ``base:``) names must end in."""


# --------------------------------------------------------------------------- reading YAML


class YAMLReadError(Exception):
    """YAML text that cannot be read as a scenario document; the message is one line."""


class _Refused(yaml.MarkedYAMLError):
    """A document refused before validation: too many aliases, too deep, a duplicate key…"""


class _GuardedLoader(yaml.SafeLoader):
    """The safe loader, with limits checked while the document is composed: aliases and
    what they expand to, nesting depth and value length; and no duplicate mapping keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._aliases = 0
        self._alias_values = 0
        self._depth = 0
        self._values = 0
        self._sizes: dict[yaml.Node, int] = {}

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _Refused(
                    problem=f"more than {MAX_ALIASES} aliases (*name); a scenario "
                    "needs few or none",
                    problem_mark=event.start_mark,
                )
            target = self.anchors.get(event.anchor)
            if target is not None:
                size = self._sizes.get(target)
                if size is None:
                    raise _Refused(
                        problem=f"the alias *{event.anchor} is inside the value it "
                        "names (a structure that contains itself)",
                        problem_mark=event.start_mark,
                    )
                self._alias_values += size
                self._values += size  # the alias's expansion is part of its parent's size
                if self._alias_values > MAX_ALIAS_VALUES:
                    raise _Refused(
                        problem=f"the aliases stand for more than "
                        f"{MAX_ALIAS_VALUES:,} values in all",
                        problem_mark=event.start_mark,
                    )
            return super().compose_node(parent, index)
        if isinstance(event, yaml.ScalarEvent) and len(event.value) > MAX_SCALAR_CHARS:
            raise _Refused(
                problem=f"a value of {len(event.value):,} characters; at most {MAX_SCALAR_CHARS:,}",
                problem_mark=event.start_mark,
            )
        self._depth += 1
        if self._depth > MAX_NESTING:
            raise _Refused(
                problem=f"mappings and lists nested deeper than {MAX_NESTING} levels",
                problem_mark=event.start_mark,
            )
        before = self._values
        self._values += 1
        if self._values > MAX_VALUES:
            raise _Refused(
                problem=f"more than {MAX_VALUES:,} values in one document; a scenario holds "
                "a few hundred",
                problem_mark=event.start_mark,
            )
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        self._sizes[node] = self._values - before
        return node

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError, ArithmeticError) as exc:
            # e.g. a date 2001-13-01 or an integer of more than 4,300 digits
            raise _Refused(
                problem=f"cannot read this value ({exc})", problem_mark=node.start_mark
            ) from None

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            first_seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=deep)
                try:
                    first = first_seen.setdefault(key, key_node.start_mark)
                except TypeError:  # an unhashable key: the safe loader refuses it
                    continue
                if first is not key_node.start_mark:
                    raise _Refused(
                        problem=f"duplicate key {bounded_repr(key, 60)} (first at "
                        f"line {first.line + 1}); each key may appear once",
                        problem_mark=key_node.start_mark,
                    )
        return super().construct_mapping(node, deep)


_GuardedLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)
"""Numbers such as 1e6 and 7.5e5 are floats (as in YAML 1.2 and JSON); YAML 1.1 would read
them as text, which the strict number fields refuse."""


def parse_yaml(text: str) -> Any:
    """Parse one YAML document safely and within the limits above.

    Raises:
        YAMLReadError: malformed YAML, a refused document or a value that cannot be read; the
            message (one line) says where (line and column) and what is wrong.
    """
    loader = None
    try:
        loader = _GuardedLoader(text)  # reads the text: may raise a ReaderError
        return loader.get_single_data()
    except _Refused as exc:
        raise YAMLReadError(f"{_where(exc)}: {exc.problem}") from None
    except yaml.MarkedYAMLError as exc:
        context = ""
        if exc.context:
            context = f" ({exc.context}"
            if exc.context_mark is not None and exc.context_mark is not exc.problem_mark:
                context += f" that starts at line {exc.context_mark.line + 1}"
            context += ")"
        raise YAMLReadError(f"malformed YAML at {_where(exc)}: {exc.problem}{context}") from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        name = "a NUL character" if exc.character == 0 else f"character #x{exc.character:04x}"
        raise YAMLReadError(
            f"line {line}, column {column}: {name}, which YAML does not allow"
        ) from None
    except yaml.YAMLError as exc:
        raise YAMLReadError(f"malformed YAML: {exc}") from None
    except RecursionError:
        raise YAMLReadError(f"nested deeper than {MAX_NESTING} levels") from None
    finally:
        if loader is not None:
            loader.dispose()


def _where(exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    if mark is None:
        return "an unknown place"
    return f"line {mark.line + 1}, column {mark.column + 1}"


def _read_text(file: Path, kind: str = "scenario file") -> str:
    """The text of a regular UTF-8 file of at most `MAX_FILE_BYTES` bytes."""
    source = str(file)
    try:
        status = file.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise ScenarioError(source, "", None, f"the {kind} does not exist") from None
    except (OSError, ValueError) as exc:
        raise ScenarioError(source, "", None, f"cannot read the {kind} ({_reason(exc)})") from None
    if not stat.S_ISREG(status.st_mode):
        raise ScenarioError(source, "", None, f"the {kind} is not a regular file")
    try:
        with file.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(source, "", None, f"cannot read the {kind} ({_reason(exc)})") from None
    if len(data) > MAX_FILE_BYTES:
        raise ScenarioError(
            source,
            "",
            None,
            f"the {kind} is larger than 1 MB ({MAX_FILE_BYTES:,} bytes), the most a {kind} may be",
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ScenarioError(
            source,
            "",
            None,
            f"not UTF-8 text: byte 0x{data[exc.start]:02x} at "
            f"line {line} (byte {exc.start}) cannot be decoded; save the "
            "file as UTF-8",
        ) from None


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or type(exc).__name__


def _kind_of(value: Any) -> str:
    """What a document holds, in words, without quoting it."""
    if value is None:
        return "nothing"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "plain text"
    if isinstance(value, bool | int | float):
        return "a single number or boolean"
    return f"a single {type(value).__name__} value"


# --------------------------------------------------------------------------- loading
