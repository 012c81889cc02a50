"""Random-stream purposes are declared once (sim/purposes.py) and never spelt elsewhere."""

from __future__ import annotations

import re
from pathlib import Path

from sim import purposes
from sim.customers.surveys import ANSWER_NOISE
from sim.scenario import Scenario
from sim.streams import purpose_key

PACKAGE = Path(purposes.__file__).resolve().parent
PREFIXES = ("init", "support", "survey", "churn", "predict", "purchase", "acquire", "firm",
            "sweep", "uncertain", "touchpoint", "warm_up", "market")  # fmt: skip
LITERAL = re.compile(rf"""["']({"|".join(PREFIXES)}):[\w{{}}:]+["']""")
DRAW_BY_LITERAL = re.compile(r"""\b(uniform|normal|generator|key|purpose_key)\(\s*f?["']""")


def declared(touchpoints: list[str]) -> list[str]:
    """Every purpose a run of a scenario with these touchpoints draws from."""
    constants = [v for k, v in vars(purposes).items() if k.isupper() and isinstance(v, str)]
    per_touchpoint = [
        make(t)
        for t in touchpoints
        for make in (purposes.touchpoint_occurs, purposes.touchpoint_noise,
                     purposes.touchpoint_problem, purposes.survey_rating)
    ]  # fmt: skip
    answers = [purposes.survey_answer(name) for name in ANSWER_NOISE]
    substeps = [purposes.adopt_substep(k) for k in range(8)]
    return constants + per_touchpoint + answers + substeps


def test_no_module_spells_a_purpose_of_its_own():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "purposes.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if LITERAL.search(line) or DRAW_BY_LITERAL.search(line):
                offenders.append(f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}")
    assert offenders == []


def test_the_literal_pattern_would_catch_a_stray_purpose():
    assert LITERAL.search('draws.uniform("churn:hazzard")')
    assert LITERAL.search("f'touchpoint:{name}:noise'")
    assert not LITERAL.search('separators=(",", ":")')
    assert DRAW_BY_LITERAL.search('self.streams.generator("network", 0)')
    assert DRAW_BY_LITERAL.search('purpose_key("calibrate")')


def test_purposes_of_the_default_journey_have_distinct_keys():
    names = declared(list(Scenario(name="x").touchpoints))
    assert len(names) == len(set(names)) > 40
    keys = {purpose_key(name) for name in names}
    assert len(keys) == len(names)  # no CRC-32 collision: every stream is its own


def test_the_model_card_lists_every_purpose():
    card = (PACKAGE.parent / "docs" / "model.md").read_text()
    constants = [v for k, v in vars(purposes).items() if k.isupper() and isinstance(v, str)]
    patterns = [
        "touchpoint:<name>:occurs",
        "touchpoint:<name>:noise",
        "touchpoint:<name>:problem",
        "survey:touchpoint:<name>",
        "acquire:adopt:<s>",
    ]
    missing = [name for name in constants + patterns if f"`{name}`" not in card]
    assert missing == []
