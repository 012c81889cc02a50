"""Loading a scenario: a file (following ``extends:``) or a mapping, with overrides, validated into
a `Scenario`; validation errors become one-line `ScenarioError`s naming the file, the field
path, the value and what is allowed."""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.errors import ScenarioError, bounded_repr, one_line
from sim.scenario.fields import (
    NAME_MAX_LENGTH,
    NAME_PATTERN,
    NAME_RULE,
    SHARE_TOLERANCE,
)
from sim.scenario.firm import CHANNELS, FirmSettings
from sim.scenario.overrides import (
    apply_override,
    child_annotation,
    is_model,
    set_path,
    strip_annotation,
)
from sim.scenario.reading import (
    MAX_EXTENDS_CHAIN,
    SCENARIO_SUFFIXES,
    YAMLReadError,
    _kind_of,
    _read_text,
    parse_yaml,
)
from sim.scenario.schema import Scenario, Support


def load_scenario(path: str | Path, overrides: Iterable[str] = ()) -> Scenario:
    """Read, override and validate a scenario file.

    Args:
        path: the YAML file.
        overrides: ``dotted.path=value`` strings applied before validation; the value is
            parsed as YAML (``3``, ``0.2``, ``true``, ``[1, 2]``).

    Raises:
        ScenarioError: the file is missing or malformed, or a value is invalid.
    """
    file = Path(path)
    raw = read_scenario_mapping(file)
    if "name" not in raw:
        if not valid_name(file.stem):
            raise ScenarioError(
                str(path),
                "name",
                file.stem,
                "the file gives no name, so its "
                f"file name is used, which is not {NAME_RULE}; add name: …",
            )
        raw["name"] = file.stem
    return scenario_from_dict(raw, source=str(path), overrides=overrides)


def valid_name(name: Any) -> bool:
    """Whether `name` is a valid scenario or sweep name (see `sim.scenario.fields.NAME_PATTERN`)."""
    return (
        isinstance(name, str)
        and len(name) <= NAME_MAX_LENGTH
        and re.fullmatch(NAME_PATTERN, name) is not None
    )


def read_scenario_mapping(
    file: Path, _seen: tuple[Path, ...] = (), kind: str = "scenario file"
) -> dict[str, Any]:
    """The raw mapping of a scenario file, with ``extends: other.yaml`` merged in.

    A file that extends another starts from that file's mapping (path relative to the
    extending file) and deep-merges its own keys over it: mappings merge key by key, any
    other value (lists included) replaces the inherited one. Sweep files are read here too.

    The file must be a regular UTF-8 file of at most `MAX_FILE_BYTES`; its YAML is read by
    `parse_yaml` (limits on aliases, nesting and value length; no duplicate keys). The file
    an ``extends:`` names must end in .yaml or .yml and hold a mapping; errors about it name
    it and the problem, never its content.
    """
    source = str(file)
    try:
        raw = parse_yaml(_read_text(file, kind))
    except YAMLReadError as exc:
        raise ScenarioError(source, "", None, str(exc)) from None
    if not isinstance(raw, dict):
        raise ScenarioError(
            source,
            "",
            None,
            f"a {kind} must be a YAML mapping (key: value lines); this one holds {_kind_of(raw)}",
        )
    parent = raw.pop("extends", None)
    if parent is None:
        return raw
    allowed = f"the path of another {kind} ending in .yaml or .yml"
    if not isinstance(parent, str) or not parent.strip():
        raise ScenarioError(source, "extends", parent, allowed)
    try:
        here = file.resolve()
        parent_file = (file.parent / parent).resolve()
    except (OSError, RuntimeError, ValueError):
        raise ScenarioError(source, "extends", parent, f"{allowed}; it cannot be read") from None
    if not all(p.suffix.lower() in SCENARIO_SUFFIXES for p in (Path(parent), parent_file)):
        raise ScenarioError(source, "extends", parent, allowed)
    if parent_file in _seen or parent_file == here:
        raise ScenarioError(source, "extends", parent, "scenario files may not extend in a cycle")
    if len(_seen) + 2 > MAX_EXTENDS_CHAIN:  # the files read so far, this one and its parent
        raise ScenarioError(
            source, "extends", parent, f"at most {MAX_EXTENDS_CHAIN} files in a chain of extends"
        )
    if not parent_file.exists():
        raise ScenarioError(source, "extends", parent, f"no such file ({parent_file})")
    base = read_scenario_mapping(parent_file, (*_seen, here), kind)
    base.pop("name", None)
    return _deep_merge(base, raw)


def _deep_merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def scenario_from_dict(
    raw: Mapping[str, Any], source: str = "<dict>", overrides: Iterable[str] = ()
) -> Scenario:
    """Validate a scenario given as a plain mapping (as parsed from YAML)."""
    if not isinstance(raw, Mapping):
        raise ScenarioError(source, "", None, "a scenario must be a mapping of fields")
    scenario = _validate(dict(raw), source)
    overrides = list(overrides)
    if not overrides:
        return scenario
    data = scenario.model_dump(mode="json")
    for text in overrides:
        apply_override(data, text)
    sets = ", ".join(one_line(o, 60) for o in overrides)
    plural = "s" if len(overrides) > 1 else ""
    return _validate(data, f"{source} with override{plural} {sets}")


def with_overrides(scenario: Scenario, overrides: Mapping[str, Any]) -> Scenario:
    """A copy of `scenario` with dotted-path values replaced, validated like a file.

    Numpy scalars are taken as the plain Python numbers they hold.
    """
    data = scenario.model_dump(mode="json")
    # A numpy scalar exists only once numpy is loaded: validation itself does not load it.
    numpy = sys.modules.get("numpy")
    for dotted, value in overrides.items():
        plain = value.item() if numpy is not None and isinstance(value, numpy.generic) else value
        label = f"{one_line(str(dotted), 80)}={bounded_repr(value, 60)}"
        if not isinstance(dotted, str):
            raise ScenarioError(label, "", dotted, "an override names a dotted field path")
        set_path(data, dotted, plain, label)
    return _validate(data, f"{scenario.name} with overrides")


def _with_firm_templates(data: dict[str, Any]) -> dict[str, Any]:
    """`data` with each entry of ``firms:`` completed by the scenario's own ``firm:`` and
    ``support:``: the entry's sections are deep-merged over them (an entry states only how
    its firm differs). Anything malformed is left for validation to name."""
    firms = data.get("firms")
    if not isinstance(firms, list):
        return data
    entries = []
    for entry in firms:
        if isinstance(entry, Mapping):
            entry = dict(entry)
            for section in ("firm", "support"):
                template, own = data.get(section, {}), entry.get(section, {})
                if isinstance(template, Mapping) and isinstance(own, Mapping):
                    entry[section] = _deep_merge(dict(template), own)
        entries.append(entry)
    return data | {"firms": entries}


def _validate(data: dict[str, Any], source: str) -> Scenario:
    data = _with_firm_templates(data)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, data, source) from None
    except RecursionError:
        raise ScenarioError(source, "", None, "the values nest too deeply") from None
    _check_references(scenario, source)
    return scenario


_TYPE_MESSAGES = {
    "int_type": "expected an integer (a whole number, without quotes; not true/false or 12.0)",
    "float_type": "expected a number (without quotes; not true/false)",
    "bool_type": "expected true or false",
    "finite_number": "expected a finite number (not .inf or .nan)",
    "string_type": "expected text",
    "dict_type": "expected a mapping (key: value)",
    "model_type": "expected a mapping (key: value)",
    "model_attributes_type": "expected a mapping (key: value)",
    "list_type": "expected a list",
    "tuple_type": "expected a list",
}


def validation_message(error: Mapping[str, Any], path: str = "") -> str:
    """What is allowed, in words, for one error of a pydantic `ValidationError`."""
    kind = error["type"]
    if path == "name" and kind.startswith("string_"):
        return NAME_RULE
    given = error.get("input")
    if kind == "float_type" and isinstance(given, int) and not isinstance(given, bool):
        return "expected a number below 1.8e308 (the largest floating-point number)"
    if kind in _TYPE_MESSAGES:
        return _TYPE_MESSAGES[kind]
    ctx = error.get("ctx") or {}
    if "expected" in ctx:
        return f"expected one of {ctx['expected']}"
    return str(error["msg"])


def _data_path(data: Any, loc: Sequence[Any]) -> list[str]:
    """The part of an error location that names data (without pydantic's union tags)."""
    path: list[str] = []
    node = data
    for part in loc:
        in_list = isinstance(node, list | tuple) and isinstance(part, int) and part < len(node)
        if not (in_list or (isinstance(node, dict) and part in node)):
            break
        node = node[part]
        path.append(str(part))
    return path


def validation_error(
    exc: ValidationError, data: Any, source: str, root: type[BaseModel] = Scenario
) -> ScenarioError:
    """The first problem pydantic found when validating `data` as `root` (a scenario, a
    sweep), as one `ScenarioError` naming the field path: an unknown key with the keys
    allowed there, a missing field, or a bad value with what is allowed (every alternative
    of a union)."""
    errors = exc.errors()
    first = errors[0]
    loc = [part for part in first["loc"] if part != "[key]"]
    kind = first["type"]
    if kind == "extra_forbidden":
        names = [str(part) for part in loc]
        allowed = _allowed_keys(root, names[:-1])
        return ScenarioError(
            source, ".".join(names), loc[-1], f"unknown key; allowed keys: {allowed}"
        )
    if kind == "missing":
        return ScenarioError(source, ".".join(map(str, loc)), None, "this field is required")
    names = _data_path(data, loc) if loc else []
    path = ".".join(names)
    if len(names) < len(loc):  # a union: say every alternative
        same = [e for e in errors if _data_path(data, e["loc"]) == names]
        messages = list(dict.fromkeys(validation_message(e, path) for e in same))
        if all(m.startswith("expected ") for m in messages):
            messages = ["expected " + " or ".join(m.removeprefix("expected ") for m in messages)]
        return ScenarioError(source, path, first.get("input"), " or ".join(messages))
    return ScenarioError(source, path, first.get("input"), validation_message(first, path))


def _allowed_keys(root: type[BaseModel], loc: list[str]) -> str:
    annotation: Any = root
    for part in loc:
        annotation = child_annotation(annotation, part)[1]
    kind = strip_annotation(annotation)
    if not is_model(kind):
        return "(see docs/model.md)"
    return ", ".join(field.alias or name for name, field in kind.model_fields.items())


def _known_touchpoint(scenario: Scenario, source: str, path: str, name: str) -> None:
    """Refuse a touchpoint name the scenario does not define, naming those it does."""
    if name not in scenario.touchpoints:
        allowed = ", ".join(scenario.touchpoints)
        raise ScenarioError(source, path, name, f"unknown touchpoint; allowed: {allowed}")


def _check_references(scenario: Scenario, source: str) -> None:
    """Checks that span several fields: shares, names, journeys."""
    segments = scenario.market.segments
    total = sum(s.share for s in segments)
    if not math.isclose(total, 1.0, abs_tol=SHARE_TOLERANCE):
        shares = [s.share for s in segments]
        raise ScenarioError(
            source,
            "market.segments.*.share",
            shares,
            f"shares must sum to 1 (within {SHARE_TOLERANCE:g}); they sum to {total:.6g}",
        )
    names = [s.name for s in segments]
    for i, name in enumerate(names):
        if names.index(name) != i:
            raise ScenarioError(
                source, f"market.segments.{i}.name", name, "segment names must be unique"
            )
    for i, segment in enumerate(segments):
        if segment.journey not in scenario.journeys:
            allowed = ", ".join(scenario.journeys) or "(no journeys defined)"
            raise ScenarioError(
                source,
                f"market.segments.{i}.journey",
                segment.journey,
                f"unknown journey; allowed: {allowed}",
            )
    for journey, steps in scenario.journeys.items():
        if not steps:
            raise ScenarioError(
                source, f"journeys.{journey}", steps, "a journey needs at least one touchpoint"
            )
        for j, step in enumerate(steps):
            _known_touchpoint(scenario, source, f"journeys.{journey}.{j}", step)
            if steps.index(step) != j:
                raise ScenarioError(
                    source, f"journeys.{journey}.{j}", step, "a touchpoint appears once per journey"
                )
    network = scenario.market.network
    if network.kind != "complete" and network.mean_degree >= scenario.market.size:
        raise ScenarioError(
            source,
            "market.network.mean_degree",
            network.mean_degree,
            f"must be below the market size ({scenario.market.size})",
        )
    if network.kind == "watts_strogatz" and network.mean_degree % 2:
        raise ScenarioError(
            source,
            "market.network.mean_degree",
            network.mean_degree,
            "watts_strogatz needs an even mean degree",
        )
    _check_channel_spend(scenario.firm, scenario.support, source)
    chosen = scenario.firm.personalisation.touchpoints or []
    for i, name in enumerate(chosen):
        _known_touchpoint(scenario, source, f"firm.personalisation.touchpoints.{i}", name)
    _check_firms(scenario, source)
    for name, touchpoint in scenario.touchpoints.items():
        weight = sum(touchpoint.drivers.values())
        if not 0 < weight < math.inf:
            raise ScenarioError(
                source,
                f"touchpoints.{name}.drivers",
                dict(touchpoint.drivers),
                "at least one driver weight must be positive, and their sum finite",
            )


def _check_channel_spend(
    firm: FirmSettings, support: Support, source: str, prefix: str = ""
) -> None:
    """Refuse investment or budget of `firm` aimed at a support channel its `support` does not
    open (field paths start with `prefix`, e.g. ``firms.1.``)."""
    channels = support.channels
    opened = list(channels.open()) if channels is not None else []
    allowed = ", ".join(opened) if opened else f"none ({prefix}support.channels is not set)"
    aimed = [
        (f"{prefix}firm.investments.{i}.channel", line.channel)
        for i, line in enumerate(firm.investments)
        if line.channel is not None
    ]
    aimed += [
        (f"{prefix}firm.budget.allocation.{name}", name)
        for name in firm.budget.allocation
        if name in CHANNELS
    ]
    for path, name in aimed:
        if name not in opened:
            raise ScenarioError(source, path, name, f"not an open support channel; open: {allowed}")


def _check_firms(scenario: Scenario, source: str) -> None:
    """Checks of ``firms:``: unique names, initial shares that add up, and each firm's own
    channel spend and personalised touchpoints."""
    if scenario.firms is None:
        return
    if scenario.profile is not None:
        raise ScenarioError(
            source, "profile", "...", "a profile fits one firm; leave it out with firms:"
        )
    names = [entry.name for entry in scenario.firms]
    for i, name in enumerate(names):
        if names.index(name) != i:
            raise ScenarioError(source, f"firms.{i}.name", name, "firm names must be unique")
    shares = [entry.initial_share for entry in scenario.firms]
    given = sum(share for share in shares if share is not None)
    if given > 1.0 + SHARE_TOLERANCE or (
        None not in shares and not math.isclose(given, 1.0, abs_tol=SHARE_TOLERANCE)
    ):
        raise ScenarioError(
            source,
            "firms.*.initial_share",
            shares,
            f"initial shares must sum to 1 when every firm gives one, and to at most 1 "
            f"otherwise (within {SHARE_TOLERANCE:g}); they sum to {given:.6g}",
        )
    for i, entry in enumerate(scenario.firms):
        prefix = f"firms.{i}."
        _check_channel_spend(entry.firm, entry.support, source, prefix)
        for j, name in enumerate(entry.firm.personalisation.touchpoints or []):
            path = f"{prefix}firm.personalisation.touchpoints.{j}"
            _known_touchpoint(scenario, source, path, name)
