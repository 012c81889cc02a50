"""Fields by dotted path (``firm.capabilities.technology``, ``market.segments.premium.share``):
overriding a value inside a scenario's data (``firm.capabilities.technology=4``), reading one,
and walking the schema to a field's type and bounds. The one place that walks paths."""

from __future__ import annotations

import math
import types
import typing
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel

from sim.errors import ScenarioError
from sim.scenario.reading import MAX_OVERRIDE_CHARS, YAMLReadError, parse_yaml
from sim.scenario.schema import Scenario


def apply_override(data: dict[str, Any], text: str) -> None:
    """Apply one ``dotted.path=value`` override (the value read as YAML) to a scenario's data.

    Raises:
        ScenarioError: the text is not an override, the value is not YAML, or the path names
            no field.
    """
    source = f"override {text}"
    if not isinstance(text, str):
        raise ScenarioError(source, "", text, "overrides take the form dotted.path=value")
    if len(text) > MAX_OVERRIDE_CHARS:
        raise ScenarioError(
            source,
            "",
            None,
            f"an override of {len(text):,} characters; at most {MAX_OVERRIDE_CHARS:,}",
        )
    if "=" not in text:
        raise ScenarioError(source, "", text, "overrides take the form dotted.path=value")
    dotted, _, value_text = text.partition("=")
    try:
        value = parse_yaml(value_text)
    except YAMLReadError as exc:
        raise ScenarioError(
            source, dotted.strip(), value_text, f"a YAML value (number, text, list): {exc}"
        ) from None
    set_path(data, dotted.strip(), value, source)


def set_path(data: dict[str, Any], dotted: str, value: Any, source: str) -> None:
    """Set the value at a dotted path of a scenario's data.

    The path may name any field the schema declares, also one the data does not hold yet
    (e.g. a capability a file does not list): the schema's annotations are walked alongside
    the data. Entries of free-form mappings (touchpoints, journeys) must exist.
    """
    keys = dotted.split(".")
    node: Any = data
    annotation: Any = Scenario
    for depth, key in enumerate(keys):
        here = ".".join(keys[: depth + 1])
        last = depth == len(keys) - 1
        if isinstance(node, list):
            index = _list_index(node, key)
            if index is None:
                names = [str(i) for i in range(len(node))]
                names += [
                    str(item["name"]) for item in node if isinstance(item, dict) and "name" in item
                ]
                raise ScenarioError(source, here, key, f"allowed: {', '.join(names)}")
            annotation = child_annotation(annotation, key)[1]
            if last:
                node[index] = value
            node = node[index]
        elif isinstance(node, dict):
            declared, child = child_annotation(annotation, key)
            if key not in node and not declared:
                raise ScenarioError(source, here, key, _no_such(annotation, node))
            if not last and node.get(key) is None and _is_mapping_type(child):
                node[key] = {}
            annotation = child
            if last:
                node[key] = value
            node = node.get(key)
        else:
            raise ScenarioError(source, here, key, "the path goes below a plain value")


def _index(key: str) -> int | None:
    """The list index a path part names, if it is a (short) number."""
    return int(key) if key.isdecimal() and len(key) <= 9 else None


def _list_index(items: list[Any], key: str) -> int | None:
    index = _index(key)
    if index is not None and index < len(items):
        return index
    for i, item in enumerate(items):
        if isinstance(item, dict) and item.get("name") == key:
            return i
    return None


def _no_such(annotation: Any, node: dict[str, Any]) -> str:
    """What a path may name instead of an unknown key."""
    kind = strip_annotation(annotation)
    if is_model(kind):
        return f"no such field; allowed: {', '.join(kind.model_fields)}"
    keys = _literal_values(get_args(kind)[0]) if get_origin(kind) is dict else None
    if keys is not None:
        return f"no such field; allowed: {', '.join(keys)}"
    existing = ", ".join(sorted(map(str, node))) or "(none)"
    if get_origin(kind) is dict:
        return f"no such entry; allowed: {existing} (new entries are added in the file)"
    return f"no such field; allowed: {existing}"


# ------------------------------------------------------------ walking the schema's annotations


def strip_annotation(annotation: Any) -> Any:
    """An annotation without Annotated[...] and `| None`; of a union of a model, dict or
    list with plain types (e.g. ``Literal["initial"] | Level``), the container."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, UnionType):
            options = [strip_annotation(a) for a in get_args(annotation) if a is not type(None)]
            containers = [a for a in options if is_model(a) or get_origin(a) in _CONTAINERS]
            if containers:
                return containers[0]
            return options[0] if len(options) == 1 else annotation
        else:
            return annotation


_CONTAINERS = (dict, list, tuple)


def is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _is_mapping_type(annotation: Any) -> bool:
    kind = strip_annotation(annotation)
    return is_model(kind) or get_origin(kind) is dict


def _literal_values(annotation: Any) -> tuple[Any, ...] | None:
    kind = strip_annotation(annotation)
    return get_args(kind) if get_origin(kind) is Literal else None


def child_annotation(annotation: Any, key: str) -> tuple[bool, Any]:
    """Whether the schema at `annotation` declares `key`, and the annotation below it
    (None when unknown). Keys of a free-form mapping (``dict[str, …]``) are not declared."""
    kind = strip_annotation(annotation)
    if is_model(kind):
        field = kind.model_fields.get(key)
        if field is None:
            return False, None
        if field.metadata:  # pydantic keeps a field's constraints beside its annotation
            return True, Annotated[(field.annotation, *field.metadata)]
        return True, field.annotation
    origin, args = get_origin(kind), get_args(kind)
    if origin is dict and len(args) == 2:
        keys = _literal_values(args[0])
        return (keys is not None and key in keys), args[1]
    if origin is list and args:
        return False, args[0]
    if origin is tuple and args:
        if len(args) == 2 and args[1] is Ellipsis:
            return False, args[0]
        return False, args[min(_index(key) or 0, len(args) - 1)]
    return False, None


# --------------------------------------------------------------------------- validating


# --------------------------------------------------------------------- fields by path


def value_at(data: Any, dotted: str) -> Any:
    """The value at a dotted path of a scenario's data (list items by index or by name), or
    None when the path names nothing there."""
    node = data
    for key in dotted.split("."):
        if isinstance(node, list):
            index = _list_index(node, key)
            node = None if index is None else node[index]
        elif isinstance(node, dict):
            node = node.get(key)
        else:
            return None
        if node is None:
            return None
    return node


def field_annotation(dotted: str) -> Any:
    """The schema's annotation, constraints included, of the field at a dotted path; list
    items and mapping entries may be named by any key.

    Raises:
        LookupError: with the reason, e.g. ``has no field 'x'``.
    """
    annotation: Any = Scenario
    for key in dotted.split("."):
        kind = strip_annotation(annotation)
        if not (is_model(kind) or get_origin(kind) in _CONTAINERS):
            raise LookupError(f"goes below a plain value at {key!r}")
        declared, annotation = child_annotation(annotation, key)
        if is_model(kind) and not declared:
            raise LookupError(f"has no field {key!r}")
    return annotation


def field_constraints(dotted: str) -> tuple[float, float, bool]:
    """The schema bounds (low, high) of the field at a dotted path and whether it is an
    integer. Exclusive bounds are moved inward by a relative 1e-9 so they can be searched; a
    side without a bound is infinite.

    Raises:
        LookupError: the path does not lead to a field of the scenario schema.
    """
    annotation, metadata = _constrained(field_annotation(dotted))
    low, high = -math.inf, math.inf
    for item in metadata:
        if isinstance(item, annotated_types.Ge):
            low = max(low, float(item.ge))
        elif isinstance(item, annotated_types.Gt):
            low = max(low, float(item.gt) + 1e-9 * max(1.0, abs(float(item.gt))))
        elif isinstance(item, annotated_types.Le):
            high = min(high, float(item.le))
        elif isinstance(item, annotated_types.Lt):
            high = min(high, float(item.lt) - 1e-9 * max(1.0, abs(float(item.lt))))
    return low, high, annotation is int


def _constrained(annotation: Any) -> tuple[Any, list[Any]]:
    """A type without Annotated and Optional, and the constraints Annotated held."""
    metadata: list[Any] = []
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            base, *extra = typing.get_args(annotation)
            for item in extra:
                metadata = [*metadata, *getattr(item, "metadata", [item])]
            annotation = base
        elif origin in (typing.Union, types.UnionType):
            options = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = options[0]
        else:
            return annotation, metadata
