"""Scenario files: defaults, inheritance, overrides and every kind of bad input."""

from __future__ import annotations

import pytest

from sim.errors import ScenarioError
from sim.results import PROJECT_ROOT
from sim.scenario import load_scenario, scenario_from_dict, with_overrides
from sim.scenario.firm import CAPABILITIES

SCENARIOS = PROJECT_ROOT / "scenarios"

MINIMAL = "name: tiny\nmonths: 6\nmarket: {size: 500}\n"


def test_minimal_file_gets_every_default(scenario_file):
    scenario = load_scenario(scenario_file(MINIMAL))
    assert scenario.months == 6 and scenario.market.size == 500
    assert scenario.market.segments[0].churn_per_month == 0.015
    assert set(scenario.firm.capabilities) == set(CAPABILITIES)
    assert scenario.behaviour.satisfaction.loss_aversion == 2.0
    assert "support_contact" in scenario.journeys["standard"]


def test_name_defaults_to_file_stem(scenario_file):
    scenario = load_scenario(scenario_file("months: 3\n", name="my_case.yaml"))
    assert scenario.name == "my_case"


def test_scenario_is_frozen_and_hash_is_stable():
    a = load_scenario(SCENARIOS / "baseline.yaml")
    b = load_scenario(SCENARIOS / "baseline.yaml")
    assert a.sha256 == b.sha256 and len(a.sha256) == 64
    with pytest.raises(Exception, match="frozen"):
        a.months = 3
    assert with_overrides(a, {"months": 12}).sha256 != a.sha256


def test_library_scenarios_are_valid():
    files = sorted(SCENARIOS.glob("*.yaml"))
    assert len(files) >= 3
    names = {load_scenario(f).name for f in files}
    assert {"baseline", "service_excellence", "digital_first"} <= names


def test_extends_merges_mappings_and_keeps_the_rest():
    base = load_scenario(SCENARIOS / "baseline.yaml")
    alt = load_scenario(SCENARIOS / "service_excellence.yaml")
    assert alt.firm.capabilities["culture"] == 3.5
    assert alt.firm.capabilities["technology"] == base.firm.capabilities["technology"]
    assert alt.market == base.market and alt.journeys == base.journeys


def test_overrides_by_path_and_by_segment_name():
    scenario = load_scenario(
        SCENARIOS / "baseline.yaml",
        ["months=12", "market.segments.premium.churn_per_month=0.02", "firm.noise_sd=0.05"],
    )
    assert scenario.months == 12 and scenario.firm.noise_sd == 0.05
    assert scenario.market.segments[1].churn_per_month == 0.02


def test_validate_prints_resolved_yaml_roundtrip(scenario_file):
    scenario = load_scenario(scenario_file(MINIMAL))
    again = load_scenario(scenario_file(scenario.to_yaml(), name="again.yaml"))
    assert again == scenario


BAD = [
    ("malformed", "name: x\nmarket: {size: 10\n", "", "malformed YAML"),
    ("unknown key", "name: x\nmonthz: 3\n", "monthz", "unknown key; allowed keys: name"),
    ("nested unknown key", "name: x\nmarket: {sise: 3}\n", "market.sise", "allowed keys: size"),
    ("wrong type", "name: x\nmonths: many\n", "months", "integer"),
    ("negative", "name: x\nmarket: {size: -5}\n", "market.size", "greater than or equal to 1"),
    (
        "probability above one",
        "name: x\nsupport: {first_contact_resolution: 1.5}\n",
        "support.first_contact_resolution",
        "less than or equal to 1",
    ),
    (
        "shares",
        "name: x\nmarket:\n  segments:\n    - {name: a, share: 0.5}\n    - {name: b, share: 0.2}\n",
        "market.segments.*.share",
        "sum to 1",
    ),
    (
        "unknown capability",
        "name: x\ntouchpoints:\n  t: {stage: use, drivers: {magic: 1}}\n"
        "journeys: {standard: [t]}\n",
        "touchpoints.t.drivers.magic",
        "experience_strategy",
    ),
    (
        "unknown touchpoint",
        "name: x\njourneys: {standard: [advertising, teleport]}\n",
        "journeys.standard.1",
        "unknown touchpoint",
    ),
    (
        "unknown journey",
        "name: x\nmarket:\n  segments: [{name: a, journey: vip}]\n",
        "market.segments.0.journey",
        "unknown journey",
    ),
    (
        "unknown stage",
        "name: x\ntouchpoints: {t: {stage: lunch}}\n",
        "touchpoints.t.stage",
        "awareness",
    ),
    ("not a mapping", "- 1\n- 2\n", "", "YAML mapping"),
]


@pytest.mark.parametrize(("case", "text", "path", "allowed"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_names_file_path_value_and_allowed(scenario_file, case, text, path, allowed):
    file = scenario_file(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    error = info.value
    assert error.source == str(file)
    assert error.path == path
    assert allowed in str(error)
    assert str(file) in str(error)


def test_missing_file():
    with pytest.raises(ScenarioError, match="does not exist"):
        load_scenario("scenarios/no_such_file.yaml")


@pytest.mark.parametrize(
    ("override", "path", "message"),
    [
        ("market.sizze=3", "market.sizze", "no such field; allowed:"),
        ("market.segments.gold.share=1", "market.segments.gold", "allowed: 0, 1, mainstream"),
        ("months=-1", "months", "greater than or equal to 1"),
        ("months", "", "dotted.path=value"),
        ("months.x=1", "months.x", "below a plain value"),
    ],
)
def test_bad_overrides(override, path, message):
    with pytest.raises(ScenarioError) as info:
        load_scenario(SCENARIOS / "baseline.yaml", [override])
    assert info.value.path == path
    assert message in str(info.value)
    assert "override" in str(info.value)


def test_extends_cycle_and_missing_parent(scenario_file):
    scenario_file("extends: b.yaml\n", name="a.yaml")
    b = scenario_file("extends: a.yaml\n", name="b.yaml")
    with pytest.raises(ScenarioError, match="cycle"):
        load_scenario(b)
    orphan = scenario_file("extends: nowhere.yaml\n", name="orphan.yaml")
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(orphan)


def test_scenario_from_dict_rejects_duplicate_segment_names():
    with pytest.raises(ScenarioError, match="unique"):
        scenario_from_dict({"name": "x", "market": {"segments": [{"name": "a", "share": 0.5}] * 2}})


# ------------------------------------------------------------------ hostile or broken input


def one_line_error(error: BaseException, *parts: str) -> str:
    """The error's message, checked to be one bounded line holding every one of `parts`."""
    message = str(error)
    assert "\n" not in message and "\r" not in message
    assert len(message) <= 1_000
    for part in parts:
        assert part in message, (part, message)
    return message


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """A small YAML document whose aliases of aliases expand to width**levels values."""
    lines = [f"a0: &a0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    return "\n".join(lines) + f"\nname: *a{levels - 1}\n"


def test_alias_bomb_is_refused_before_it_expands(scenario_file):
    text = alias_bomb()
    assert len(text) < 500
    file = scenario_file(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    one_line_error(info.value, str(file), "line ", "aliases stand for more than 10,000 values")


def test_too_many_aliases_and_self_containing_aliases_are_refused(scenario_file):
    many = "x: &x 1\nlist: [" + ", ".join(["*x"] * 101) + "]\n"
    with pytest.raises(ScenarioError) as info:
        load_scenario(scenario_file(many))
    one_line_error(info.value, "more than 100 aliases")
    with pytest.raises(ScenarioError) as info:
        load_scenario(scenario_file("name: x\nmarket: &m {segments: [*m]}\n"))
    one_line_error(info.value, "line 2", "*m is inside the value it names")


def test_a_few_aliases_still_work(scenario_file):
    text = (
        "name: x\ntouchpoints:\n  a: &tp {stage: use, drivers: {technology: 1.0}}\n"
        "  b: *tp\njourneys: {standard: [a, b]}\n"
    )
    scenario = load_scenario(scenario_file(text))
    assert scenario.touchpoints["a"] == scenario.touchpoints["b"]


def test_error_messages_quote_a_bounded_excerpt_of_huge_values():
    bomb: list = ["lol"] * 9
    for _ in range(8):
        bomb = [bomb] * 9  # 9**9 values, shared: cheap to build, costly to print
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict({"name": "x", "months": bomb})
    message = one_line_error(info.value, "field 'months'", "got [[[[", "…", "expected an integer")
    assert len(message) < 400
    assert info.value.value is bomb  # the attribute keeps what was given
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict({"name": "x", "months": "9" * 50_000_000})
    one_line_error(info.value, "got '999", "…", "expected an integer")


def test_huge_files_and_values_are_refused_quickly(scenario_file, tmp_path):
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as stream:  # a 50 MB single-line value
        stream.write(b"name: x\ndescription: ")
        stream.write(b"y" * 50_000_000)
    with pytest.raises(ScenarioError) as info:
        load_scenario(huge)
    one_line_error(info.value, str(huge), "larger than 1 MB (1,000,000 bytes)")
    long_value = scenario_file("name: x\ndescription: " + "y" * 20_000 + "\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(long_value)
    one_line_error(info.value, "line 2, column 14", "20,000 characters; at most 10,000")
    with pytest.raises(ScenarioError) as info:
        load_scenario(SCENARIOS / "baseline.yaml", ["description=" + "y" * 50_000_000])
    one_line_error(info.value, "override description=yyy", "…", "at most 10,000")


@pytest.mark.slow
@pytest.mark.parametrize(
    "nested",
    ["[" * 10_000 + "]" * 10_000, "{a: " * 10_000 + "1" + "}" * 10_000,
     "".join(f"\n{'  ' * (i + 1)}k:" for i in range(60)) + " 1"],
    ids=["lists", "flow mappings", "block mappings"],
)  # fmt: skip
def test_deep_nesting_is_refused_in_one_line(scenario_file, nested):
    file = scenario_file(f"name: x\nmarket: {nested}\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    one_line_error(info.value, str(file), "line ", "nested deeper than 50 levels")
    with pytest.raises(ScenarioError) as info:
        load_scenario(SCENARIOS / "baseline.yaml", [f"months={nested[:4_000]}{nested[-4_000:]}"])
    one_line_error(info.value, "override months=", "nested deeper than 50 levels")


def test_deeply_nested_python_values_give_a_scenario_error():
    deep: dict = {}
    for _ in range(10_000):
        deep = {"a": deep}
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict({"name": "x", "months": deep})
    one_line_error(info.value, "field 'months'", "...", "expected an integer")


def test_duplicate_keys_are_refused_naming_key_and_lines(scenario_file):
    file = scenario_file("name: x\nmonths: 12\nmarket:\n  size: 500\n  size: 600\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    one_line_error(info.value, str(file), "line 5, column 3", "duplicate key 'size'",
                   "first at line 4")  # fmt: skip
    with pytest.raises(ScenarioError) as info:
        load_scenario(scenario_file("name: x\nmonths: 3\nname: y\n"))
    one_line_error(info.value, "line 3", "duplicate key 'name' (first at line 1)")


def test_merge_keys_may_be_overridden_without_being_duplicates(scenario_file):
    text = (
        "name: x\ntouchpoints:\n  a: &tp {stage: use, drivers: {technology: 1.0}}\n"
        "  b: {<<: *tp, effort: 0.5}\njourneys: {standard: [a, b]}\n"
    )
    assert load_scenario(scenario_file(text)).touchpoints["b"].effort == 0.5


def test_non_utf8_nul_and_syntax_errors_are_one_line(tmp_path, scenario_file):
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("name: x\ndescription: café\n".encode("latin-1"))
    with pytest.raises(ScenarioError) as info:
        load_scenario(latin1)
    one_line_error(info.value, str(latin1), "not UTF-8", "byte 0xe9 at line 2")
    with pytest.raises(ScenarioError) as info:
        load_scenario(scenario_file("name: x\ndescription: a\x00b\n"))
    one_line_error(info.value, "line 2, column 15", "NUL character")
    cases = {
        "name: x\nmarket: {size: 10\n": "malformed YAML at line 3, column 1",
        "name: x\n\tmonths: 3\n": "malformed YAML at line 2, column 1",
        "name: [x\nmonths: 3\n": "malformed YAML at line",
        "name: x\n---\nname: y\n": "single document",
        "name: !!python/object:os.system x\n": "line 1, column 7",
        "name: x\ndescription: 2001-13-01\n": "cannot read this value (month must be in 1..12)",
        "name: x\nseed: " + "9" * 5_000 + "\n": "line 2, column 7: cannot read this value",
    }
    for text, expected in cases.items():
        file = scenario_file(text)
        with pytest.raises(ScenarioError) as info:
            load_scenario(file)
        one_line_error(info.value, str(file), expected)


def test_bad_files_through_the_cli_print_one_line_and_exit_2(tmp_path, capsys):
    from sim.cli.main import main

    texts = [alias_bomb(), "name: x\nmarket: " + "[" * 5_000 + "]" * 5_000,
             "name: x\nmonths: 1\nmonths: 2\n", "name: x\nmarket: {size: 10\n",
             "extends: ../../../../../etc/passwd\n", "name: x\nmonths: true\n"]  # fmt: skip
    for i, text in enumerate(texts):
        file = tmp_path / f"bad{i}.yaml"
        file.write_text(text)
        assert main(["validate", str(file)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {file}: ") and err.count("\n") == 1, err
        assert len(err) < 1_000 and "Traceback" not in err


def test_extends_names_only_yaml_scenario_files_and_never_echoes_content(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:SECRET-CONTENT:/root:/bin/bash\n")
    child = tmp_path / "child.yaml"
    for parent in ("secret.txt", "../../../../../../etc/passwd", str(secret), "secret"):
        child.write_text(f"extends: {parent}\nname: c\n")
        with pytest.raises(ScenarioError) as info:
            load_scenario(child)
        message = one_line_error(
            info.value, str(child), "field 'extends'", "ending in .yaml or .yml"
        )
        assert "SECRET" not in message and "root:" not in message
    listing = tmp_path / "listing.yaml"
    listing.write_text("- SECRET-CONTENT one\n- SECRET-CONTENT two\n")
    child.write_text("extends: listing.yaml\nname: c\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(child)
    message = one_line_error(info.value, str(listing), "must be a YAML mapping", "holds a list")
    assert "SECRET" not in message
    (tmp_path / "folder.yaml").mkdir()
    child.write_text("extends: folder.yaml\nname: c\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(child)
    one_line_error(info.value, "folder.yaml", "not a regular file")


def test_scenario_files_must_be_regular_files(tmp_path):
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path)
    one_line_error(info.value, str(tmp_path), "not a regular file")
    with pytest.raises(ScenarioError) as info:
        load_scenario("/dev/null")
    one_line_error(info.value, "/dev/null", "not a regular file")


def test_long_extends_chains_are_refused(tmp_path):
    (tmp_path / "f0.yaml").write_text("months: 3\n")
    for i in range(1, 12):
        (tmp_path / f"f{i}.yaml").write_text(f"extends: f{i - 1}.yaml\n")
    assert load_scenario(tmp_path / "f9.yaml").months == 3
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "f11.yaml")
    one_line_error(info.value, "at most 10 files in a chain of extends")


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("market:\n  segments: [{name: a, revenue_per_month: .inf}]\n",
         "market.segments.0.revenue_per_month"),
        ("market:\n  segments: [{name: a, expectation: {mean: .nan}}]\n",
         "market.segments.0.expectation.mean"),
        ("touchpoints: {t: {stage: use, drivers: {technology: .inf}}}\n"
         "journeys: {standard: [t]}\n", "touchpoints.t.drivers.technology"),
        ("economics: {fixed_cost_per_month: -.inf}\n", "economics.fixed_cost_per_month"),
        ("firm: {maturity: {thresholds: [1, 2, 3, .inf]}}\n", "firm.maturity.thresholds.3"),
        ("firm: {dynamics: {floor: .nan}}\n", "firm.dynamics.floor"),
    ],
)  # fmt: skip
def test_numbers_must_be_finite(scenario_file, text, path):
    file = scenario_file("name: x\n" + text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    assert info.value.path == path
    one_line_error(info.value, str(file), f"field '{path}'", "finite number")


def test_driver_weights_must_have_a_finite_sum(scenario_file):
    text = (
        "name: x\ntouchpoints: {t: {stage: use, drivers: {technology: 1e308, culture: 1e308}}}"
        "\njourneys: {standard: [t]}\n"
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(scenario_file(text))
    one_line_error(info.value, "touchpoints.t.drivers", "sum finite")
    with pytest.raises(ScenarioError) as info:
        load_scenario(SCENARIOS / "baseline.yaml", ["firm.noise_sd=.nan"])
    one_line_error(info.value, "override firm.noise_sd=.nan", "finite number")


@pytest.mark.parametrize(
    ("text", "path", "value", "allowed"),
    [
        ("months: true\n", "months", "True", "expected an integer"),
        ("months: '12'\n", "months", "'12'", "expected an integer"),
        ("months: 12.0\n", "months", "12.0", "expected an integer"),
        ("market: {size: 5.5e3}\n", "market.size", "5500.0", "expected an integer"),
        ("firm: {noise_sd: '0.1'}\n", "firm.noise_sd", "'0.1'", "expected a number"),
        ("firm: {noise_sd: false}\n", "firm.noise_sd", "False", "expected a number"),
        ("support: {contact_centre: {announces_wait: 1}}\n",
         "support.contact_centre.announces_wait", "1", "expected true or false"),
        ("support: {contact_centre: {announces_wait: 'yes'}}\n",
         "support.contact_centre.announces_wait", "'yes'", "expected true or false"),
        ("seed: 9223372036854775808\n", "seed", "9223372036854775808",
         "Input should be less than or equal to 9223372036854775807"),
    ],
)  # fmt: skip
def test_numbers_and_booleans_are_strictly_typed(scenario_file, text, path, value, allowed):
    file = scenario_file("name: x\n" + text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    assert info.value.path == path
    one_line_error(info.value, str(file), f"field '{path}': got {value}; {allowed}")


def test_strict_types_keep_ints_for_numbers_overrides_and_roundtrips():
    import numpy as np

    scenario = load_scenario(SCENARIOS / "baseline.yaml", ["months=12", "firm.noise_sd=0"])
    assert scenario.months == 12 and scenario.firm.noise_sd == 0.0
    assert isinstance(scenario.firm.noise_sd, float)
    assert with_overrides(scenario, {"months": np.int64(7), "firm.noise_sd": np.float32(0.5)})
    assert with_overrides(scenario, {"market.size": 900}).market.size == 900
    exponents = load_scenario(SCENARIOS / "baseline.yaml", ["firm.dynamics.cost_scale=1e6"])
    assert exponents.firm.dynamics.cost_scale == 1_000_000.0  # 1e6 is a number, not text
    for file in sorted(SCENARIOS.glob("*.yaml")):
        scenario = load_scenario(file)
        again = scenario_from_dict(scenario.model_dump(mode="json"))
        assert again == scenario and again.sha256 == scenario.sha256


def test_set_any_declared_field_even_when_the_file_lists_only_some(scenario_file):
    file = scenario_file("name: x\nfirm: {capabilities: {culture: 3.0}}\n")
    scenario = load_scenario(file, ["firm.capabilities.technology=4"])
    assert scenario.firm.capabilities == {"culture": 3.0, "technology": 4.0}
    assert (
        with_overrides(scenario, {"firm.capabilities.governance": 1}).capability("governance") == 1
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(file, ["firm.capabilities.magic=4"])
    one_line_error(info.value, "field 'firm.capabilities.magic'", "no such field; allowed: "
                   "experience_strategy, customer_understanding")  # fmt: skip
    with pytest.raises(ScenarioError) as info:
        load_scenario(file, ["touchpoints.chatbot.stage=use"])
    one_line_error(info.value, "field 'touchpoints.chatbot'", "no such entry; allowed: advertising")
    with pytest.raises(ScenarioError) as info:
        load_scenario(file, ["firm.capabilities.technology.level=4"])
    one_line_error(info.value, "below a plain value")


def test_shares_sum_to_one_within_a_tolerance_for_six_decimals(scenario_file):
    thirds = "name: x\nmarket:\n  segments:\n" + "".join(
        f"    - {{name: s{i}, share: 0.333333}}\n" for i in range(3)
    )
    assert len(load_scenario(scenario_file(thirds)).market.segments) == 3
    with pytest.raises(ScenarioError) as info:
        load_scenario(scenario_file(thirds.replace("0.333333", "0.3333")))
    one_line_error(info.value, "market.segments.*.share", "got [0.3333, 0.3333, 0.3333]",
                   "shares must sum to 1 (within 1e-05); they sum to 0.9999")  # fmt: skip
    budget = "name: x\nfirm:\n  budget: {per_month: 1000, allocation: {culture: 0.333333, " \
        "technology: 0.333333, processes: 0.333333}}\n"  # fmt: skip
    assert load_scenario(scenario_file(budget)).firm.budget.per_month == 1000
    with pytest.raises(ScenarioError) as info:
        load_scenario(scenario_file(budget.replace("0.333333", "0.3")))
    one_line_error(info.value, "firm.budget", "must sum to 1 (within 1e-05); they sum to 0.9")


@pytest.mark.parametrize("name", [".", "..", ".hidden", "-rf", "a/b", "a" * 101, "", "a b"])
def test_scenario_names_cannot_be_dot_folders_or_too_long(scenario_file, name):
    file = scenario_file(f"name: '{name}'\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    assert info.value.path == "name"
    one_line_error(info.value, str(file), "field 'name'", "letters, digits", "at most 100")


def test_names_from_file_stems_are_checked_too(scenario_file):
    assert load_scenario(scenario_file("months: 3\n", name="ok.v2.yaml")).name == "ok.v2"
    assert load_scenario(scenario_file(f"name: {'a' * 100}\n")).name == "a" * 100
    hidden = scenario_file("months: 3\n", name=".hidden.yaml")
    with pytest.raises(ScenarioError) as info:
        load_scenario(hidden)
    one_line_error(info.value, str(hidden), "got '.hidden'", "file name is used", "add name:")
    assert load_scenario(scenario_file("name: fine\n", name=".hidden.yaml")).name == "fine"


def test_loading_a_scenario_loads_neither_the_model_nor_simpy():
    """`sim.load_scenario` is light: the model, its engines, numba and SimPy load on first use
    of `sim.run`, `sim.CXModel` and the rest."""
    import subprocess
    import sys

    code = (
        "import sys, sim; sim.load_scenario('scenarios/baseline.yaml'); "
        "print(sorted(m for m in ('simpy', 'numba', 'mesa', 'sim.model') if m in sys.modules)); "
        "sim.run; print('simpy' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT
    ).stdout.split("\n")
    assert out[0] == "[]" and out[1] == "True"
