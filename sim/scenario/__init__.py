"""Scenarios: a YAML file validated into a frozen, typed description of one simulated market.

A scenario says everything a run needs: the market and its segments, the touchpoints and the
journeys that string them together, the firm's capability profile, the support desk,
acquisition, the behavioural parameters and the economics. The model is built from a
`Scenario`, never from a file.

Validation is strict: unknown keys, wrong types (no "12" for 12, no true for 1), numbers that
are not finite, values out of range, shares that do not sum to one, journeys naming unknown
touchpoints and drivers naming unknown capabilities are reported as a `ScenarioError` naming
the file, the field path, an excerpt of the value and what is allowed, in one line.

The package:

- `schema`: the validated types, with every default (docs/model.md explains each field);
- `firm`: the firm's section (capabilities, investments, maturity, organisation, employees,
  personalisation, sourcing);
- `fields`: the bounded field types they share;
- `reading`: scenario files read defensively — a regular UTF-8 file of at most 1 MB, safe
  YAML only, no duplicate keys, limits on aliases, nesting and the length of a value (the
  only module that parses YAML);
- `loading`: files (following ``extends:``, only to other .yaml/.yml files), mappings and
  overrides, validated, with one-line errors;
- `overrides`: dotted field paths.

The names below are the package's public interface.
"""

from sim.scenario.loading import (
    load_scenario,
    read_scenario_mapping,
    scenario_from_dict,
    valid_name,
    validation_error,
    with_overrides,
)
from sim.scenario.reading import SCENARIO_SUFFIXES, YAMLReadError, parse_yaml
from sim.scenario.schema import (
    STAGES,
    Acquisition,
    Behaviour,
    Channels,
    ChurnRules,
    ContactCentre,
    Economics,
    Expectation,
    Market,
    Network,
    Profile,
    PurchaseRules,
    SatisfactionRules,
    Scenario,
    Segment,
    Stage,
    Support,
    SurveyRules,
    Touchpoint,
    canonical_json,
)

__all__ = [
    "SCENARIO_SUFFIXES",
    "STAGES",
    "Acquisition",
    "Behaviour",
    "Channels",
    "ChurnRules",
    "ContactCentre",
    "Economics",
    "Expectation",
    "Market",
    "Network",
    "Profile",
    "PurchaseRules",
    "SatisfactionRules",
    "Scenario",
    "Segment",
    "Stage",
    "Support",
    "SurveyRules",
    "Touchpoint",
    "YAMLReadError",
    "canonical_json",
    "load_scenario",
    "parse_yaml",
    "read_scenario_mapping",
    "scenario_from_dict",
    "valid_name",
    "validation_error",
    "with_overrides",
]
