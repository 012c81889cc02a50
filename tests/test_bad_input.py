"""Bad input ends in one line: the corpus.

Every case feeds `cxm` one bad input (a scenario file, a ``--set`` override, a command-line
flag, a sweep file, a calibrate or discover option, a contact-centre option) and asserts
what a person at a terminal should see: exit status 2, exactly one ``error: ...`` line on
standard error naming the field or option and the offending value, no traceback, nothing
written (the working directory is byte-identical afterwards, no hidden temporary file is
left, the project's results/ folder is untouched), in bounded time and memory.

Cases run in this process (`sim.cli.main.main`) from a fresh working directory, except the few
that are about time and memory (alias bombs, huge values, deep nesting, huge counts), which
run as ``python -m sim.cli.main`` under an address-space limit and a timeout.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sim import output_paths, results
from sim.cli.main import main

pytestmark = pytest.mark.slow  # many runs or subprocesses: `make test-fast` leaves them out

PROJECT_ROOT = Path(results.PROJECT_ROOT)
RESULTS = PROJECT_ROOT / "results"
BASELINE = str(PROJECT_ROOT / "scenarios" / "baseline.yaml")

TIME_LIMIT_S = 15.0
"""Longest an in-process case may take (after the compiled code is loaded)."""
ALARM_S = 40
"""A case still running after this long is stopped."""
MEMORY_GROWTH_LIMIT_KB = 1024 * 1024
"""Most the process's peak resident memory may grow during one in-process case (1 GiB)."""
SUBPROCESS_MEMORY = 2 * 1024**3
"""Address-space limit of the subprocess cases (2 GiB)."""
SUBPROCESS_TIMEOUT_S = 60
LINE_LIMIT = 2000
"""Longest acceptable error line; the cases about huge values ask for less."""

ERROR_LINE = re.compile(r"^(cxm(?: [\w-]+)?: )?error: ")

# ---------------------------------------------------------------------------- inputs

TINY = "name: tiny\nmonths: 2\nreplications: 1\nmarket: {size: 200}\n"
"""A scenario that runs in a blink, so that a case whose check comes too late stays short."""

SWEEP = (
    "name: sw\nbase: {baseline}\ndesign: grid\nreplications: 1\nmonths: 2\n"
    "set:\n  market.size: 200\n"
)
"""The head of a small sweep file (append `parameters:` and the rest)."""
PARAMETERS = "parameters:\n  firm.capabilities.technology: {levels: [1.0, 2.0]}\n"
GOOD_SWEEP = SWEEP + PARAMETERS


def ranged(spec: str, design: str = "random", head: str = "samples: 4\n") -> str:
    """A sweep file of `design` varying market.initial_customers as `spec` (flow YAML)."""
    text = SWEEP.replace("design: grid", f"design: {design}") + head
    return text + "parameters:\n  market.initial_customers: {" + spec + "}\n"


CALIBRATE = (
    "calibrate", "s.yaml", "--max-evaluations", "8", "--search", "4", "-r", "1", "-q",
)  # fmt: skip
"""The start of a calibrate command on `TINY` (small budgets, so a late check stays short)."""
TARGET = ("--target", "nps_true=20")
FREE = ("--free", "market.segments.0.churn_per_month")

WHERE = ("--where", "retention_of_initial >= 0.5")
TWO = {"s.yaml": TINY, "t.yaml": TINY.replace("tiny", "tiny2")}
"""Two tiny scenarios with different names, for compare."""
EXTENDS_SECRET = {"s.yaml": "name: s\nextends: secret.txt\n"}

CENTRE = ("contact-centre", "--calls-per-hour", "100", "--aht-seconds", "300")

SECRET = "SECRET-MARKER-7f3a9c"
INF = ("inf", "Infinity", ".inf")
NAN = ("nan", "NaN", ".nan")


def _passwd_marker() -> str:
    try:
        return Path("/etc/passwd").read_text().splitlines()[0][:12]
    except (OSError, IndexError):
        return "root:x:0:0"


PASSWD_MARKER = _passwd_marker()


class Made:
    """A file-tree entry made by the test rather than written as text."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __repr__(self) -> str:
        return f"<{self.kind}>"


DIR = Made("empty directory")
SWEEP_RESULT = Made("finished sweep")
RUN_RESULT = Made("finished run")

FileSpec = str | bytes | Made | Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    """One bad input.

    Attributes:
        id: the test id.
        argv: the `cxm` arguments ({baseline} stands for the baseline scenario's path).
        expect: substrings the error line must hold; a tuple is a set of alternatives.
        files: files to create first, relative to the working directory.
        forbid: substrings the error output must not hold (file contents, secrets).
        max_line: longest acceptable error line.
    """

    id: str
    argv: tuple[str, ...]
    expect: tuple[str | tuple[str, ...], ...]
    files: Mapping[str, FileSpec] = field(default_factory=dict)
    forbid: tuple[str, ...] = ()
    max_line: int = LINE_LIMIT


def case(
    id: str,
    argv: tuple[str, ...] | list[str],
    *expect: str | tuple[str, ...],
    files: Mapping[str, FileSpec] | None = None,
    forbid: tuple[str, ...] = (),
    max_line: int = LINE_LIMIT,
) -> Case:
    return Case(id, tuple(argv), expect, dict(files or {}), forbid, max_line)


def scenario(
    id: str,
    text: FileSpec,
    *expect: str | tuple[str, ...],
    forbid: tuple[str, ...] = (),
    max_line: int = LINE_LIMIT,
) -> Case:
    """`cxm validate s.yaml` with `text` as the scenario file."""
    files = {"s.yaml": text}
    return case(id, ("validate", "s.yaml"), *expect, files=files, forbid=forbid, max_line=max_line)


def segment(fields: str) -> str:
    """A scenario with one segment holding `fields` (YAML flow text)."""
    return "name: s\nmarket:\n  segments:\n    - {name: a, " + fields + "}\n"


def touchpoint(fields: str) -> str:
    """A scenario with one touchpoint `web` holding `fields` (stage `use` unless given),
    journey `standard: [web]`."""
    if "stage:" not in fields:
        fields = "stage: use, " + fields
    return "name: s\ntouchpoints:\n  web: {" + fields + "}\njourneys:\n  standard: [web]\n"


def segments(*flows: str) -> str:
    """A scenario with these segments (YAML flow mappings)."""
    return "name: s\nmarket:\n  segments:\n" + "".join(f"    - {f}\n" for f in flows)


def section(path: str, value: str) -> str:
    """A scenario setting the dotted `path` to the YAML flow `value`."""
    keys = path.split(".")
    text = value
    for key in reversed(keys[1:]):
        text = "{" + key + ": " + text + "}"
    return f"name: s\n{keys[0]}: {text}\n"


def override(
    id: str, text: str, *expect: str | tuple[str, ...], max_line: int = LINE_LIMIT
) -> Case:
    """`cxm validate BASELINE --set text`."""
    return case(id, ("validate", "{baseline}", "--set", text), *expect, max_line=max_line)


def sweep(
    id: str,
    text: str,
    *expect: str | tuple[str, ...],
    extra: tuple[str, ...] = (),
    files: Mapping[str, FileSpec] | None = None,
) -> Case:
    """`cxm sweep sw.yaml -q EXTRA...` with `text` as the sweep file."""
    argv = ("sweep", "sw.yaml", "-q", *extra)
    return case(id, argv, *expect, files={"sw.yaml": text, **(files or {})})


def calibrate(
    id: str,
    options: tuple[str, ...],
    *expect: str | tuple[str, ...],
    files: Mapping[str, FileSpec] | None = None,
) -> Case:
    """`cxm calibrate` on the tiny scenario."""
    return case(id, (*CALIBRATE, *options), *expect, files={"s.yaml": TINY, **(files or {})})


def discover(
    id: str,
    options: tuple[str, ...],
    *expect: str | tuple[str, ...],
    files: Mapping[str, FileSpec] | None = None,
) -> Case:
    """`cxm discover` on a finished sweep."""
    argv = ("discover", "sweepdir", *options)
    return case(id, argv, *expect, files={"sweepdir": SWEEP_RESULT, **(files or {})})


def centre(id: str, options: tuple[str, ...], *expect: str | tuple[str, ...]) -> Case:
    return case(id, (*CENTRE, *options), *expect)


def run(
    id: str,
    options: tuple[str, ...],
    *expect: str | tuple[str, ...],
    files: Mapping[str, FileSpec] | None = None,
) -> Case:
    """`cxm run s.yaml -q OPTIONS...` on the tiny scenario."""
    argv = ("run", "s.yaml", "-q", *options)
    return case(id, argv, *expect, files={"s.yaml": TINY, **(files or {})})


# ---------------------------------------------------------------------------- the corpus
# fmt: off

OUT_CASES = [
    run("out-user-folder", ("--out", "my-notes"), "--out", "my-notes",
        files={"my-notes/notes.txt": "my own notes\n", "my-notes/data.csv": "a,b\n1,2\n"}),
    run("out-existing-file", ("--out", "existing.txt"), "--out", "existing.txt",
        files={"existing.txt": "keep me\n"}),
    run("out-previous-result-without-overwrite", ("--out", "previous"), "--overwrite",
        files={"previous": RUN_RESULT}),
    run("out-empty-string", ("--out", ""), "--out", ("''", '""', "empty")),
    run("out-proc", ("--out", "/proc/x"), "--out", "/proc"),
    run("out-below-a-file", ("--out", "plainfile/sub"), "--out", "plainfile",
        files={"plainfile": "a regular file\n"}),
    case("compare-out-user-folder", ("compare", "s.yaml", "t.yaml", "-q", "--out", "my-notes"),
         "--out", "my-notes",
         files={**TWO, "my-notes/notes.txt": "my own notes\n"}),
    case("compare-out-existing-file",
         ("compare", "s.yaml", "t.yaml", "-q", "--out", "existing.txt"), "--out", "existing.txt",
         files={**TWO, "existing.txt": "keep\n"}),
    case("compare-out-empty-string", ("compare", "s.yaml", "t.yaml", "-q", "--out", ""), "--out",
         ("''", '""', "empty"), files=TWO),
    sweep("sweep-out-existing-file", GOOD_SWEEP, "--out", "existing.txt",
          extra=("--out", "existing.txt"), files={"existing.txt": "keep me\n"}),
    sweep("sweep-out-user-folder", GOOD_SWEEP, "--out", "my-notes", extra=("--out", "my-notes"),
          files={"my-notes/notes.txt": "my own notes\n"}),
    sweep("sweep-out-below-a-file", GOOD_SWEEP, "--out", "plainfile",
          extra=("--out", "plainfile/sub"), files={"plainfile": "a regular file\n"}),
    sweep("sweep-out-empty-string", GOOD_SWEEP, "--out", ("''", '""', "empty"),
          extra=("--out", "")),
    sweep("sweep-out-proc", GOOD_SWEEP, "--out", "/proc", extra=("--out", "/proc/x")),
    sweep("sweep-out-previous-run-result", GOOD_SWEEP, "--out", "previous",
          extra=("--out", "previous"), files={"previous": RUN_RESULT}),
    calibrate("calibrate-out-existing-folder", (*TARGET, *FREE, "--out", "adir"), "--out", "adir",
              files={"adir/keep.txt": "mine\n"}),
    calibrate("calibrate-out-below-a-file", (*TARGET, *FREE, "--out", "plainfile/x.yaml"), "--out",
              "plainfile", files={"plainfile": "a regular file\n"}),
    discover("discover-out-a-users-file", (*WHERE, "--out", "notes.json"), "--out",
             "notes.json", files={"notes.json": '{"mine": true}\n'}),
    discover("discover-out-existing-folder", (*WHERE, "--out", "adir"), "--out", "adir",
             files={"adir/keep.txt": "mine\n"}),
]

NAME_CASES = [
    scenario("name-dot", "name: .\n", "name", ("'.'", '"."')),
    scenario("name-dotdot", "name: ..\n", "name", ("'..'", '".."')),
    scenario("name-hidden", "name: .hidden\n", "name", ".hidden"),
    run("run-name-dotdot", (), "name", ("'..'", '".."'),
        files={"s.yaml": TINY.replace("name: tiny", "name: ..")}),
    override("set-name-dotdot", "name=..", "name", ("'..'", '".."')),
    override("set-name-hidden", "name=.x", "name", ".x"),
    case("run-set-name-dotdot", ("run", "s.yaml", "-q", "--set", "name=.."), "name",
         ("'..'", '".."'), files={"s.yaml": TINY}),
    case("compare-set-name-dot", ("compare", "s.yaml", "t.yaml", "-q", "--set", "name=."), "name",
         ("'.'", '"."'), files=TWO),
]

EXECUTION_CASES = [
    sweep("scheduler-unknown-scheme", GOOD_SWEEP, "--scheduler", "foo://x",
          extra=("--scheduler", "foo://x")),
    sweep("scheduler-not-an-address", GOOD_SWEEP, "--scheduler", "not an address",
          extra=("--scheduler", "not an address")),
    sweep("workers-zero", GOOD_SWEEP, "--workers", "0", extra=("--workers", "0")),
    sweep("workers-negative", GOOD_SWEEP, "--workers", "-2", extra=("--workers", "-2")),
    sweep("workers-not-a-number", GOOD_SWEEP, ("--workers", "-w"), "abc",
          extra=("--workers", "abc")),
    sweep("workers-and-scheduler", GOOD_SWEEP, "--workers", "--scheduler",
          extra=("--workers", "2", "--scheduler", "tcp://127.0.0.1:1")),
    case("tls-cert-without-scheduler", ("sweep", "sw.yaml", "-q", "--tls-cert", "cert.pem"),
         "--tls-cert", "--scheduler",
         files={"sw.yaml": GOOD_SWEEP, "cert.pem": "-----BEGIN CERTIFICATE-----\n"}),
]

EXTENDS_PASSWD = "name: s\nextends: " + "../" * 40 + "etc/passwd\n"
SAFETY_CASES = [
    scenario("extends-etc-passwd", EXTENDS_PASSWD, "extends", "passwd", forbid=(PASSWD_MARKER,)),
    case("extends-secret-text-file", ("validate", "s.yaml"), "extends", "secret.txt",
         files={**EXTENDS_SECRET, "secret.txt": f"{SECRET} token=hunter2\nanother line\n"},
         forbid=(SECRET, "hunter2")),
    case("extends-secret-malformed-yaml", ("validate", "s.yaml"), "secret.txt",
         files={**EXTENDS_SECRET, "secret.txt": f"password: [{SECRET}, hunter2\n"},
         forbid=(SECRET, "hunter2")),
    case("extends-secret-list", ("validate", "s.yaml"), "secret.txt",
         files={**EXTENDS_SECRET, "secret.txt": f"- {SECRET}\n- hunter2\n"},
         forbid=(SECRET, "hunter2")),
    case("extends-missing-file", ("validate", "s.yaml"), "extends", "nope.yaml",
         files={"s.yaml": "name: s\nextends: nope.yaml\n"}),
    case("extends-cycle", ("validate", "a.yaml"), "extends", ("a.yaml", "b.yaml"),
         files={"a.yaml": "name: a\nextends: b.yaml\n", "b.yaml": "name: b\nextends: a.yaml\n"}),
    scenario("extends-not-a-string", "name: s\nextends: 5\n", "extends", "5"),
    case("extends-directory", ("validate", "s.yaml"), "extends", "adir",
         files={"s.yaml": "name: s\nextends: adir\n", "adir": DIR}),
]

FILE_CASES = [
    case("file-missing", ("validate", "nope.yaml"), "nope.yaml"),
    case("file-is-a-directory", ("validate", "adir"), "adir", files={"adir": DIR}),
    case("file-empty", ("validate", "empty.yaml"), "empty.yaml", files={"empty.yaml": ""}),
    case("file-comments-only", ("validate", "c.yaml"), "c.yaml", files={"c.yaml": "# nothing\n"}),
    case("file-a-list", ("validate", "list.yaml"), "list.yaml", files={"list.yaml": "- a\n- b\n"}),
    case("file-a-scalar", ("validate", "word.yaml"), "word.yaml",
         files={"word.yaml": "hello\n"}),
    case("file-not-utf8-latin1", ("validate", "l1.yaml"), "l1.yaml",
         ("UTF-8", "utf-8", "UTF8", "utf8", "encoding", "byte"),
         files={"l1.yaml": b'name: caf\xe9\nmonths: 12\n'}),
    case("file-not-utf8-bom-garbage", ("validate", "ff.yaml"), "ff.yaml",
         files={"ff.yaml": b'\xff\xfe\xff\xfe\x00\xd8name: s\n'}),
    case("file-nul-byte", ("validate", "nul.yaml"), "nul.yaml", "line", "column",
         files={"nul.yaml": "name: s\nmonths: 1\u00002\n"}),
    case("file-tab-indentation", ("validate", "tab.yaml"), "tab.yaml", "line 3", "column",
         files={"tab.yaml": "name: s\nmarket:\n\tsize: 300\n"}),
    case("file-unclosed-bracket", ("validate", "br.yaml"), "br.yaml", "line", "column",
         files={"br.yaml": "name: s\nmonths: [1, 2\n"}),
    case("file-unclosed-quote", ("validate", "q.yaml"), "q.yaml", "line", "column",
         files={"q.yaml": 'name: s\ndescription: "open\n'}),
    scenario("duplicate-key-top", "name: s\nmonths: 12\nmonths: 24\n", "months"),
    scenario("duplicate-key-nested", "name: s\nmarket:\n  size: 100\n  size: 200\n", "size"),
    scenario("duplicate-key-flow", "name: s\neconomics: {gross_margin: 0.5, gross_margin: 0.6}\n",
             "gross_margin"),
    case("run-missing-file", ("run", "nope.yaml", "-q"), "nope.yaml"),
    case("run-directory", ("run", "adir", "-q"), "adir", files={"adir": DIR}),
]

UNKNOWN_KEY_CASES = [
    scenario("unknown-key-top", "name: s\ncolour: red\n", "colour"),
    scenario("unknown-key-market", section("market", "{colour: red}"), "market.colour"),
    scenario("unknown-key-segment", segment("colour: red"), "market.segments.0.colour"),
    scenario("unknown-key-expectation", segment("expectation: {mean: 0.7, colour: red}"),
             "market.segments.0.expectation.colour"),
    scenario("unknown-key-network", section("market.network", "{colour: red}"),
             "market.network.colour"),
    scenario("unknown-key-touchpoint", touchpoint("colour: red"), "touchpoints.web.colour"),
    scenario("unknown-key-firm", section("firm", "{colour: red}"), "firm.colour"),
    scenario("unknown-key-firm-dynamics", section("firm.dynamics", "{colour: red}"),
             "firm.dynamics.colour"),
    scenario("unknown-key-firm-maturity", section("firm.maturity", "{colour: red}"),
             "firm.maturity.colour"),
    scenario("unknown-key-firm-employees", section("firm.employees", "{colour: red}"),
             "firm.employees.colour"),
    scenario("unknown-key-support", section("support", "{colour: red}"), "support.colour"),
    scenario("unknown-key-contact-centre", section("support.contact_centre", "{colour: red}"),
             "support.contact_centre.colour"),
    scenario("unknown-key-sourcing", section("support.sourcing", "{colour: red}"),
             "support.sourcing.colour"),
    scenario("unknown-key-acquisition", section("acquisition", "{colour: red}"),
             "acquisition.colour"),
    scenario("unknown-key-behaviour", section("behaviour", "{colour: red}"), "behaviour.colour"),
    scenario("unknown-key-behaviour-satisfaction",
             section("behaviour.satisfaction", "{colour: red}"), "behaviour.satisfaction.colour"),
    scenario("unknown-key-behaviour-churn", section("behaviour.churn", "{colour: red}"),
             "behaviour.churn.colour"),
    scenario("unknown-key-behaviour-purchase", section("behaviour.purchase", "{colour: red}"),
             "behaviour.purchase.colour"),
    scenario("unknown-key-behaviour-surveys", section("behaviour.surveys", "{colour: red}"),
             "behaviour.surveys.colour"),
    scenario("unknown-key-economics", section("economics", "{colour: red}"), "economics.colour"),
    scenario("unknown-capability-level", section("firm.capabilities", "{magic: 3}"),
             "firm.capabilities", "magic"),
]

TYPE_CASES = [
    scenario("months-true", "name: s\nmonths: true\n", "months", ("True", "true")),
    scenario("months-string", 'name: s\nmonths: "12"\n', "months", "12"),
    scenario("months-fraction", "name: s\nmonths: 12.5\n", "months", "12.5"),
    scenario("months-list", "name: s\nmonths: [12]\n", "months", "[12]"),
    scenario("size-word", section("market", "{size: big}"), "market.size", "big"),
    scenario("size-true", section("market", "{size: true}"), "market.size", ("True", "true")),
    scenario("market-a-list", "name: s\nmarket: [1, 2]\n", "market", "[1, 2]"),
    scenario("segments-a-mapping", section("market", "{segments: {a: 1}}"), "market.segments"),
    scenario("touchpoints-a-list", "name: s\ntouchpoints: [web]\n", "touchpoints", "web"),
    scenario("journey-a-string", "name: s\njourneys: {standard: billing}\n", "journeys.standard",
             "billing"),
    scenario("description-a-number", "name: s\ndescription: 5\n", "description", "5"),
    scenario("name-a-number", "name: 5\n", "name", "5"),
    scenario("staffed-maybe", touchpoint("staffed: maybe"), "touchpoints.web.staffed", "maybe"),
    scenario("share-a-word", segment("share: most"), "market.segments.0.share", "most"),
    scenario("drivers-a-list", touchpoint("drivers: [technology]"), "touchpoints.web.drivers",
             "technology"),
    scenario("seed-a-fraction", "name: s\nseed: 1.5\n", "seed", "1.5"),
    scenario("announces-wait-string", section("support.contact_centre", '{announces_wait: "no"}'),
             "support.contact_centre.announces_wait", "no"),
]

RANGE_CASES = [
    scenario("share-above-one", segment("share: 1.5"), "market.segments.0.share", "1.5"),
    scenario("share-zero", segment("share: 0"), "market.segments.0.share", "0"),
    scenario("revenue-negative", segment("revenue_per_month: -5"),
             "market.segments.0.revenue_per_month", "-5"),
    scenario("support-propensity-1.5", segment("support_propensity: 1.5"),
             "market.segments.0.support_propensity", "1.5"),
    scenario("churn-per-month-one", segment("churn_per_month: 1.0"),
             "market.segments.0.churn_per_month", "1.0"),
    scenario("tolerance-0.9", segment("tolerance: 0.9"), "market.segments.0.tolerance", "0.9"),
    scenario("expectation-sd-0.9", segment("expectation: {sd: 0.9}"),
             "market.segments.0.expectation.sd", "0.9"),
    scenario("contract-months-121", segment("contract_months: 121"),
             "market.segments.0.contract_months", "121"),
    scenario("months-zero", "name: s\nmonths: 0\n", "months", "0"),
    scenario("months-601", "name: s\nmonths: 601\n", "months", "601"),
    scenario("replications-zero", "name: s\nreplications: 0\n", "replications", "0"),
    scenario("seed-negative", "name: s\nseed: -1\n", "seed", "-1"),
    scenario("capability-level-6", section("firm.capabilities", "{technology: 6}"),
             "firm.capabilities.technology", "6"),
    scenario("capability-level-negative", section("firm.capabilities", "{culture: -1}"),
             "firm.capabilities.culture", "-1"),
    scenario("market-size-zero", section("market", "{size: 0}"), "market.size", "0"),
    scenario("market-size-huge", section("market", "{size: 100000001}"), "market.size",
             "100000001"),
    scenario("initial-customers-1.2", section("market", "{initial_customers: 1.2}"),
             "market.initial_customers", "1.2"),
    scenario("base-quality-1.5", touchpoint("base_quality: 1.5"), "touchpoints.web.base_quality",
             "1.5"),
    scenario("problem-probability-negative", touchpoint("problem_probability: -0.1"),
             "touchpoints.web.problem_probability", "-0.1"),
    scenario("gross-margin-negative", section("economics", "{gross_margin: -0.1}"),
             "economics.gross_margin", "-0.1"),
    scenario("discount-rate-1.5", section("economics", "{discount_rate_per_year: 1.5}"),
             "economics.discount_rate_per_year", "1.5"),
    scenario("agents-zero", section("support.contact_centre", "{agents: 0}"),
             "support.contact_centre.agents", "0"),
    scenario("hours-per-month-800", section("support.contact_centre", "{hours_per_month: 800}"),
             "support.contact_centre.hours_per_month", "800"),
    scenario("patience-negative", section("support.contact_centre", "{patience_seconds: -1}"),
             "support.contact_centre.patience_seconds", "-1"),
    scenario("first-contact-resolution-2", section("support", "{first_contact_resolution: 2}"),
             "support.first_contact_resolution", "2"),
    scenario("imitation-negative", section("acquisition", "{imitation_per_month: -0.3}"),
             "acquisition.imitation_per_month", "-0.3"),
    scenario("loss-aversion-0.5", section("behaviour.satisfaction", "{loss_aversion: 0.5}"),
             "behaviour.satisfaction.loss_aversion", "0.5"),
    scenario("renewal-max-leave-1.5", section("behaviour.churn", "{renewal_max_leave: 1.5}"),
             "behaviour.churn.renewal_max_leave", "1.5"),
    scenario("max-products-zero", section("behaviour.purchase", "{max_products: 0}"),
             "behaviour.purchase.max_products", "0"),
    scenario("nps-answer-sd-negative", section("behaviour.surveys", "{nps_answer_sd: -1}"),
             "behaviour.surveys.nps_answer_sd", "-1"),
    scenario("employees-staff-negative", section("firm.employees", "{staff: -3}"),
             "firm.employees.staff", "-3"),
    scenario("maturity-thresholds-decreasing",
             section("firm.maturity", "{thresholds: [4, 3, 2, 1]}"), "firm.maturity", "4"),
]

REFERENCE_CASES = [
    scenario("driver-unknown-capability", touchpoint("drivers: {magic: 1}"),
             "touchpoints.web.drivers", "magic"),
    scenario("drivers-all-zero", touchpoint("drivers: {technology: 0}"), "touchpoints.web.drivers",
             "technology"),
    scenario("journey-unknown-touchpoint", "name: s\njourneys: {standard: [billing, teleport]}\n",
             "journeys.standard.1", "teleport"),
    scenario("segment-unknown-journey", segment("journey: express"), "market.segments.0.journey",
             "express"),
    scenario("shares-do-not-sum-to-one",
             segments("{name: a, share: 0.5}", "{name: b, share: 0.4}"),
             "share", "0.4"),
    scenario("segment-names-duplicate",
             segments("{name: a, share: 0.5}", "{name: a, share: 0.5}"),
             "market.segments.1.name", "'a'"),
    scenario("segments-empty", section("market", "{segments: []}"), "market.segments", "[]"),
    scenario("segment-name-empty", "name: s\nmarket:\n  segments:\n    - {name: ''}\n",
             "market.segments.0.name", "''"),
    scenario("segment-without-name", "name: s\nmarket:\n  segments:\n    - {share: 1.0}\n",
             "market.segments.0.name"),
    scenario("journey-duplicate-touchpoint", "name: s\njourneys: {standard: [billing, billing]}\n",
             "journeys.standard.1", "billing"),
    scenario("journey-empty", "name: s\njourneys: {standard: []}\n", "journeys.standard", "[]"),
    scenario("watts-strogatz-odd-degree",
             section("market.network", "{kind: watts_strogatz, mean_degree: 5}"),
             "market.network.mean_degree", "5"),
    scenario("mean-degree-at-market-size",
             "name: s\nmarket: {size: 50, network: {kind: erdos_renyi, mean_degree: 50}}\n",
             "market.network.mean_degree", "50"),
    scenario("personalisation-unknown-touchpoint",
             section("firm.personalisation", "{enabled: true, touchpoints: [teleport]}"),
             "firm.personalisation.touchpoints.0", "teleport"),
    scenario("investment-without-rate", section("firm", "{investments: [{capability: culture}]}"),
             "firm.investments.0", ("per_month", "per_year")),
    scenario("investment-unknown-capability",
             section("firm", "{investments: [{capability: magic, per_month: 1000}]}"),
             "firm.investments.0.capability", "magic"),
    scenario("investment-ends-before-start",
             section("firm", "{investments: [{capability: culture, per_month: 10, start_month: 9,"
                     " end_month: 3}]}"),
             "firm.investments.0", "3"),
    scenario("budget-allocation-not-one",
             section("firm.budget", "{per_month: 1000, allocation: {culture: 0.5}}"), "firm.budget",
             "0.5"),
]

CHOICE_CASES = [
    scenario("stage-unknown", touchpoint("stage: space"), "touchpoints.web.stage", "space"),
    scenario("when-unknown", touchpoint("when: sometimes"), "touchpoints.web.when", "sometimes"),
    scenario("support-mode-unknown", section("support", "{mode: magic}"), "support.mode", "magic"),
    scenario("word-of-mouth-unknown", section("acquisition", "{word_of_mouth: shouting}"),
             "acquisition.word_of_mouth", "shouting"),
    scenario("network-kind-unknown", section("market.network", "{kind: lattice}"),
             "market.network.kind", "lattice"),
    scenario("handle-time-unknown", section("support.contact_centre", "{handle_time: uniform}"),
             "support.contact_centre.handle_time", "uniform"),
    scenario("maturity-level-unknown", section("firm.maturity", "{level: genius}"),
             "firm.maturity.level", "genius"),
    scenario("org-model-unknown", section("firm.organisation", "{model: anarchy}"),
             "firm.organisation.model", "anarchy"),
    scenario("sourcing-option-unknown", section("support.sourcing", "{option: moon}"),
             "support.sourcing.option", "moon"),
    scenario("dynamics-floor-unknown", section("firm.dynamics", "{floor: basement}"),
             "firm.dynamics.floor", "basement"),
]

NONFINITE_CASES = [
    scenario("revenue-inf", segment("revenue_per_month: .inf"),
             "market.segments.0.revenue_per_month", INF),
    scenario("revenue-nan", segment("revenue_per_month: .nan"),
             "market.segments.0.revenue_per_month", NAN),
    scenario("share-nan", segment("share: .nan"), "market.segments.0.share", NAN),
    scenario("driver-weight-inf", touchpoint("drivers: {technology: .inf}"),
             "touchpoints.web.drivers", INF),
    scenario("driver-weight-nan", touchpoint("drivers: {technology: .nan}"),
             "touchpoints.web.drivers", NAN),
    scenario("fixed-cost-inf", section("economics", "{fixed_cost_per_month: .inf}"),
             "economics.fixed_cost_per_month", INF),
    scenario("cost-per-acquisition-inf", section("acquisition", "{cost_per_acquisition: .inf}"),
             "acquisition.cost_per_acquisition", INF),
    scenario("detractor-weight-inf", section("acquisition", "{detractor_weight: .inf}"),
             "acquisition.detractor_weight", INF),
    scenario("tenure-scale-inf", section("behaviour.satisfaction", "{tenure_scale_months: .inf}"),
             "behaviour.satisfaction.tenure_scale_months", INF),
    scenario("cost-scale-inf", section("firm.dynamics", "{cost_scale: .inf}"),
             "firm.dynamics.cost_scale", INF),
    scenario("cost-per-contact-inf", section("support", "{cost_per_contact: .inf}"),
             "support.cost_per_contact", INF),
    scenario("mean-wait-nan", section("support", "{mean_wait_minutes: .nan}"),
             "support.mean_wait_minutes", NAN),
    scenario("agent-cost-inf", section("support.contact_centre", "{agent_cost_per_month: .inf}"),
             "support.contact_centre.agent_cost_per_month", INF),
    scenario("investment-inf",
             section("firm", "{investments: [{capability: culture, per_month: .inf}]}"),
             "firm.investments.0.per_month", INF),
    scenario("market-drift-minus-inf",
             section("behaviour.satisfaction", "{market_drift_per_month: -.inf}"),
             "behaviour.satisfaction.market_drift_per_month", INF),
    scenario("months-inf", "name: s\nmonths: .inf\n", "months", INF),
]

SET_CASES = [
    override("set-without-equals", "months", "override", "months"),
    override("set-unknown-path", "market.colour=3", "market.colour"),
    override("set-unknown-top", "colour=3", "colour"),
    override("set-below-plain-value", "months.x=3", "months.x"),
    override("set-index-out-of-range", "market.segments.5.share=0.5", "market.segments.5"),
    override("set-unknown-segment-name", "market.segments.gold.share=0.5", "gold"),
    override("set-bad-yaml", "months=[1,", "months", "[1,"),
    override("set-months-zero", "months=0", "months", "0"),
    override("set-share-1.5", "market.segments.0.share=1.5", "market.segments.0.share", "1.5"),
    override("set-months-word", "months=abc", "months", "abc"),
    override("set-months-inf", "months=.inf", "months", INF),
    override("set-months-true", "months=true", "months", ("True", "true")),
    override("set-months-quoted", 'months="12"', "months", "12"),
    override("set-capability-6", "firm.capabilities.technology=6", "firm.capabilities.technology",
             "6"),
    override("set-discount-nan", "economics.discount_rate_per_year=.nan",
             "economics.discount_rate_per_year", NAN),
    override("set-cost-inf", "acquisition.cost_per_acquisition=.inf",
             "acquisition.cost_per_acquisition", INF),
    override("set-empty-path", "=5", "override", "=5"),
    override("set-empty-journey", "journeys.standard=[]", "journeys.standard", "[]"),
    override("set-support-mode", "support.mode=magic", "support.mode", "magic"),
    override("set-size-negative", "market.size=-1", "market.size", "-1"),
    override("set-unknown-driver", "touchpoints.billing.drivers.magic=1", "magic"),
    case("run-set-months-zero", ("run", "s.yaml", "-q", "--set", "months=0"), "months", "0",
         files={"s.yaml": TINY}),
    case("bench-set-months-zero", ("bench", "--set", "months=0", "--customers", "500"), "months",
         "0"),
]

FLAG_CASES = [
    run("run-seed-negative", ("--seed", "-1"), "--seed", "-1"),
    run("run-replications-zero", ("-r", "0"), ("--replications", "-r"), "0"),
    run("run-replications-negative", ("-r", "-3"), ("--replications", "-r"), "-3"),
    run("run-months-zero", ("--months", "0"), "months", "0"),
    run("run-months-601", ("--months", "601"), "months", "601"),
    run("run-replications-word", ("-r", "abc"), ("--replications", "-r"), "abc"),
    run("run-seed-word", ("--seed", "abc"), "--seed", "abc"),
    run("run-months-fraction", ("--months", "1.5"), "--months", "1.5"),
    run("run-engine-unknown", ("--engine", "quantum"), "--engine", "quantum"),
    run("run-agents-engine-too-big", ("--engine", "agents", "--set", "market.size=300000"),
        "market.size", ("300000", "300,000")),
    run("run-unknown-option", ("--colour", "red"), "--colour"),
    run("run-out-without-value", ("--out",), "--out"),
    case("run-without-scenario", ("run",), ("scenario", "SCENARIO")),
    case("unknown-subcommand", ("fly",), "fly"),
    case("no-subcommand", (), ("COMMAND", "command")),
    case("top-level-unknown-option", ("--colour", "validate", "s.yaml"), "--colour",
         files={"s.yaml": TINY}),
    case("validate-extra-argument", ("validate", "s.yaml", "extra"), "extra",
         files={"s.yaml": TINY}),
    case("validate-replications-option", ("validate", "s.yaml", "-r", "3"), "-r",
         files={"s.yaml": TINY}),
    case("compare-one-scenario", ("compare", "s.yaml"), ("ALT", "alternatives"),
         files={"s.yaml": TINY}),
    case("compare-same-name", ("compare", "s.yaml", "t.yaml", "-q"), "tiny",
         files={"s.yaml": TINY, "t.yaml": TINY}),
    case("compare-missing-alternative", ("compare", "s.yaml", "nope.yaml", "-q"), "nope.yaml",
         files={"s.yaml": TINY}),
    case("compare-replications-zero", ("compare", "s.yaml", "t.yaml", "-q", "-r", "0"),
         ("--replications", "-r"), "0",
         files=TWO),
    case("compare-seed-negative", ("compare", "s.yaml", "t.yaml", "-q", "--seed", "-1"), "--seed",
         "-1", files=TWO),
    case("compare-bad-alternative", ("compare", "s.yaml", "t.yaml", "-q"), "months", "0",
         files={"s.yaml": TINY, "t.yaml": "name: t\nmonths: 0\n"}),
    case("bench-customers-zero", ("bench", "--customers", "0"), "--customers", "0"),
    case("bench-customers-negative", ("bench", "--customers", "-5"), "--customers", "-5"),
    case("bench-months-zero", ("bench", "--months", "0", "--customers", "500"), "--months", "0"),
    case("bench-customers-word", ("bench", "--customers", "many"), "--customers", "many"),
    case("bench-agents-engine-too-big", ("bench", "--engine", "agents", "--customers", "300000"),
         "--customers", "300000"),
    case("bench-missing-scenario", ("bench", "--scenario", "nope.yaml"), "nope.yaml"),
    case("bench-seed-negative",
         ("bench", "--seed", "-1", "--customers", "500", "--months", "2", "--json", "-q"), "--seed",
         "-1"),
]

SWEEP_CASES = [
    case("sweep-missing-file", ("sweep", "nope.yaml", "-q"), "nope.yaml"),
    case("sweep-directory", ("sweep", "adir", "-q"), "adir", files={"adir": DIR}),
    sweep("sweep-not-a-mapping", "- a\n- b\n", "sw.yaml"),
    sweep("sweep-unknown-key", GOOD_SWEEP + "colour: red\n", "colour"),
    sweep("sweep-unknown-design", GOOD_SWEEP.replace("design: grid", "design: factorial"), "design",
          "factorial"),
    sweep("sweep-missing-design", GOOD_SWEEP.replace("design: grid\n", ""), "design"),
    sweep("sweep-unknown-parameter-path",
          SWEEP + "parameters:\n  market.colour: {levels: [1, 2]}\n", "market.colour"),
    sweep("sweep-unknown-parameter-top", SWEEP + "parameters:\n  colour: {levels: [1, 2]}\n",
          "colour"),
    sweep("sweep-parameter-unknown-key",
          SWEEP + "parameters:\n  months: {levels: [1, 2], colour: red}\n", "colour"),
    sweep("sweep-range-one-number",
          ranged("range: [0.5]"),
          "range", "0.5"),
    sweep("sweep-range-words",
          ranged("range: [low, high]"),
          "range", "low"),
    sweep("sweep-range-low-above-high",
          ranged("range: [0.9, 0.1]"),
          "range", "0.9"),
    sweep("sweep-range-infinite",
          ranged("range: [0.1, .inf]"),
          "range", INF),
    sweep("sweep-range-out-of-schema",
          ranged("range: [1.5, 2.5]"),
          "market.initial_customers", "1.5"),
    sweep("sweep-reserved-seed", SWEEP + "parameters:\n  seed: {levels: [1, 2]}\n", "seed"),
    sweep("sweep-reserved-replications", SWEEP + "parameters:\n  replications: {levels: [1, 2]}\n",
          "replications"),
    sweep("sweep-reserved-name", SWEEP + "parameters:\n  name: {levels: [a, b]}\n",
          "parameters.name"),
    sweep("sweep-unknown-outcome", GOOD_SWEEP + "outcomes: [happiness]\n", "outcomes.0",
          "happiness"),
    sweep("sweep-missing-base", GOOD_SWEEP.replace("base: {baseline}\n", ""), "base"),
    sweep("sweep-base-not-found", GOOD_SWEEP.replace("{baseline}", "nope.yaml"), "base",
          "nope.yaml"),
    case("sweep-base-invalid", ("sweep", "sw.yaml", "-q"), "months", "0",
         files={"sw.yaml": GOOD_SWEEP.replace("{baseline}", "bad.yaml").replace("months: 2\n", ""),
                "bad.yaml": "name: bad\nmonths: 0\n"}),
    sweep("sweep-replications-zero", GOOD_SWEEP.replace("replications: 1", "replications: 0"),
          "replications", "0"),
    sweep("sweep-months-zero", GOOD_SWEEP.replace("months: 2", "months: 0"), "months", "0"),
    sweep("sweep-seed-negative", GOOD_SWEEP + "seed: -1\n", "seed", "-1"),
    sweep("sweep-name-with-space", GOOD_SWEEP.replace("name: sw", "name: my sweep"), "name",
          "my sweep"),
    sweep("sweep-grid-with-samples", GOOD_SWEEP + "samples: 4\n", "samples", "4"),
    sweep("sweep-random-without-samples", GOOD_SWEEP.replace("grid", "random"), "samples"),
    sweep("sweep-samples-zero", GOOD_SWEEP.replace("grid", "random") + "samples: 0\n", "samples",
          "0"),
    sweep("sweep-sobol-samples-not-power-of-two",
          ranged("range: [0.2, 0.4]", "sobol", "samples: 6\n"),
          "samples", "6"),
    sweep("sweep-morris-odd-levels",
          ranged("range: [0.2, 0.4]", "morris", "samples: 2\nmorris_levels: 3\n"),
          "morris_levels", "3"),
    sweep("sweep-levels-and-range",
          SWEEP + "parameters:\n  market.initial_customers: {levels: [0.2], range: [0.2, 0.4]}\n",
          "market.initial_customers"),
    sweep("sweep-grid-with-range",
          SWEEP + "parameters:\n  market.initial_customers: {range: [0.2, 0.4]}\n",
          "market.initial_customers", "levels"),
    sweep("sweep-level-out-of-range",
          SWEEP + "parameters:\n  firm.capabilities.technology: {levels: [7]}\n",
          "firm.capabilities.technology", "7"),
    sweep("sweep-parameters-empty", SWEEP + "parameters: {}\n", "parameters", "{}"),
    sweep("sweep-set-unknown-path", GOOD_SWEEP.replace("market.size: 200", "market.colour: 2"),
          "market.colour"),
    sweep("sweep-set-out-of-range", GOOD_SWEEP.replace("market.size: 200", "market.size: 0"),
          "market.size", "0"),
    sweep("sweep-triangular-mode-outside",
          ranged("range: [0.2, 0.4], distribution: triangular, mode: 0.9"),
          "mode", "0.9"),
]

CALIBRATE_CASES = [
    calibrate("calibrate-target-without-equals", ("--target", "nps_true", *FREE), "--target",
              "nps_true"),
    calibrate("calibrate-target-word", ("--target", "nps_true=abc", *FREE), "--target", "abc"),
    calibrate("calibrate-target-nan", ("--target", "nps_true=nan", *FREE), "--target", NAN),
    calibrate("calibrate-target-inf", ("--target", "nps_true=inf", *FREE), "--target", INF),
    calibrate("calibrate-unknown-target", ("--target", "happiness=3", *FREE), "--target",
              "happiness"),
    calibrate("calibrate-target-twice", ("--target", "nps_true=3", *TARGET, *FREE), "--target",
              "nps_true"),
    calibrate("calibrate-free-unknown-path", (*TARGET, "--free", "market.colour"), "--free",
              "market.colour"),
    calibrate("calibrate-free-below-plain-value", (*TARGET, "--free", "months.x"), "--free",
              "months.x"),
    calibrate("calibrate-free-not-a-number", (*TARGET, "--free", "support.mode"), "--free",
              "support.mode"),
    calibrate("calibrate-free-twice", (*TARGET, *FREE, *FREE), "--free",
              "market.segments.0.churn_per_month"),
    calibrate("calibrate-bounds-malformed",
              (*TARGET, *FREE, "--bounds", "market.segments.0.churn_per_month=abc"), "--bounds",
              "abc"),
    calibrate("calibrate-bounds-low-above-high",
              (*TARGET, *FREE, "--bounds", "market.segments.0.churn_per_month=0.5:0.1"), "--bounds",
              "0.5"),
    calibrate("calibrate-bounds-equal",
              (*TARGET, *FREE, "--bounds", "market.segments.0.churn_per_month=0.1:0.1"), "--bounds",
              "0.1"),
    calibrate("calibrate-bounds-outside-schema",
              (*TARGET, *FREE, "--bounds", "market.segments.0.churn_per_month=0:5"), "--bounds",
              "5"),
    calibrate("calibrate-bounds-not-free",
              (*TARGET, *FREE, "--bounds", "support.first_contact_resolution=0.5:0.9"), "--bounds",
              "support.first_contact_resolution"),
    calibrate("calibrate-replications-zero", (*TARGET, *FREE, "-r", "0"), ("--replications", "-r"),
              "0"),
    calibrate("calibrate-max-evaluations-zero", (*TARGET, *FREE, "--max-evaluations", "0"),
              "--max-evaluations", "0"),
    calibrate("calibrate-search-negative", (*TARGET, *FREE, "--search", "-1"), "--search", "-1"),
    calibrate("calibrate-months-zero", (*TARGET, *FREE, "--months", "0"), "months", "0"),
    calibrate("calibrate-seed-negative", (*TARGET, *FREE, "--seed", "-1"), "--seed", "-1"),
    calibrate("calibrate-without-target", FREE, "--target"),
    case("calibrate-missing-scenario", ("calibrate", "nope.yaml", *TARGET, *FREE, "-q"),
         "nope.yaml"),
]

DISCOVER_CASES = [
    case("discover-missing-dir", ("discover", "nodir", *WHERE), "nodir"),
    case("discover-not-a-sweep-dir", ("discover", "plain", *WHERE), "plain",
         files={"plain/notes.txt": "mine\n"}),
    case("discover-a-file", ("discover", "notes.txt", *WHERE), "notes.txt",
         files={"notes.txt": "mine\n"}),
    case("discover-a-run-result", ("discover", "previous", *WHERE), "previous",
         files={"previous": RUN_RESULT}),
    discover("discover-where-bad-syntax", ("--where", "retention_of_initial >> 0.5"), "--where",
             ">>"),
    discover("discover-where-not-a-number", ("--where", "retention_of_initial >= high"), "--where",
             "high"),
    discover("discover-where-empty", ("--where", ""), "--where"),
    discover("discover-where-unknown-outcome", ("--where", "happiness > 1"), "--where",
             "happiness"),
    discover("discover-where-nan", ("--where", "retention_of_initial >= nan"), "--where", NAN),
    discover("discover-without-where", (), "--where"),
    discover("discover-max-boxes-zero", (*WHERE, "--max-boxes", "0"), "--max-boxes", "0"),
    discover("discover-max-boxes-negative", (*WHERE, "--max-boxes", "-3"), "--max-boxes", "-3"),
    discover("discover-min-mass-1.5", (*WHERE, "--min-mass", "1.5"), "--min-mass", "1.5"),
    discover("discover-min-mass-zero", (*WHERE, "--min-mass", "0"), "--min-mass", "0"),
    discover("discover-min-mass-nan", (*WHERE, "--min-mass", "nan"), "--min-mass", NAN),
    discover("discover-min-mass-word", (*WHERE, "--min-mass", "abc"), "--min-mass", "abc"),
    discover("discover-peel-alpha-zero", (*WHERE, "--peel-alpha", "0"), "--peel-alpha", "0"),
    discover("discover-peel-alpha-one", (*WHERE, "--peel-alpha", "1"), "--peel-alpha", "1"),
    discover("discover-peel-alpha-nan", (*WHERE, "--peel-alpha", "nan"), "--peel-alpha", NAN),
    discover("discover-threshold-5", (*WHERE, "--threshold", "5"), "--threshold", "5"),
    discover("discover-threshold-negative", (*WHERE, "--threshold", "-0.5"), "--threshold", "-0.5"),
    discover("discover-threshold-nan", (*WHERE, "--threshold", "nan"), "--threshold", NAN),
]

CENTRE_CASES = [
    case("centre-calls-negative",
         ("contact-centre", "--calls-per-hour", "-5", "--aht-seconds", "300", "--agents", "3"),
         "--calls-per-hour", "-5"),
    case("centre-calls-nan",
         ("contact-centre", "--calls-per-hour", "nan", "--aht-seconds", "300", "--agents", "3"),
         "--calls-per-hour", NAN),
    case("centre-calls-inf",
         ("contact-centre", "--calls-per-hour", "inf", "--aht-seconds", "300", "--agents", "3"),
         "--calls-per-hour", INF),
    case("centre-calls-word",
         ("contact-centre", "--calls-per-hour", "many", "--aht-seconds", "300", "--agents", "3"),
         "--calls-per-hour", "many"),
    centre("centre-agents-zero", ("--agents", "0"), "--agents", "0"),
    centre("centre-agents-negative", ("--agents", "-1"), "--agents", "-1"),
    centre("centre-agents-1e9", ("--agents", "1e9"), "--agents", ("1e9", "1000000000")),
    centre("centre-agents-missing", (), "--agents"),
    centre("centre-target-1.5", ("--target-service-level", "1.5"), "--target-service-level", "1.5"),
    centre("centre-target-zero", ("--target-service-level", "0"), "--target-service-level", "0"),
    centre("centre-target-nan", ("--target-service-level", "nan"), "--target-service-level", NAN),
    case("centre-aht-zero",
         ("contact-centre", "--calls-per-hour", "100", "--aht-seconds", "0", "--agents", "3"),
         "--aht-seconds", "0"),
    case("centre-aht-nan",
         ("contact-centre", "--calls-per-hour", "100", "--aht-seconds", "nan", "--agents", "3"),
         "--aht-seconds", NAN),
    case("centre-aht-missing", ("contact-centre", "--calls-per-hour", "100", "--agents", "3"),
         "--aht-seconds"),
    centre("centre-patience-zero", ("--agents", "10", "--patience-seconds", "0"),
           "--patience-seconds", "0"),
    centre("centre-patience-nan", ("--agents", "10", "--patience-seconds", "nan"),
           "--patience-seconds", NAN),
    centre("centre-answer-within-negative", ("--agents", "10", "--answer-within-seconds", "-1"),
           "--answer-within-seconds", "-1"),
    centre("centre-answer-within-nan", ("--agents", "10", "--answer-within-seconds", "nan"),
           "--answer-within-seconds", NAN),
    centre("centre-hours-without-simpy", ("--agents", "10", "--hours", "5"), "--hours", "simpy"),
    centre("centre-hours-zero", ("--agents", "10", "--mode", "simpy", "--hours", "0"), "--hours",
           "0"),
    centre("centre-hours-nan", ("--agents", "10", "--mode", "simpy", "--hours", "nan"), "--hours",
           NAN),
    centre("centre-seed-negative",
           ("--agents", "10", "--mode", "simpy", "--hours", "1", "--seed", "-1"), "--seed", "-1"),
    centre("centre-mode-unknown", ("--agents", "10", "--mode", "magic"), "--mode", "magic"),
]

LONG = "x" * 900_000
"""A value of 900 kB: under a cap on file size, far over any sensible error line."""
MEDIUM = "x" * 9_000
"""A value of 9 kB: under a cap on value length, still far over a sensible error line."""

LONG_CASES = [
    scenario("long-name", f"name: {LONG} y\n", "s.yaml", "line", max_line=1000),
    scenario("long-string-for-a-number", f'name: s\nmonths: "{LONG}"\n', "s.yaml", "line",
             max_line=1000),
    scenario("long-unknown-key", f"name: s\n{LONG}: 1\n", "s.yaml", "line", max_line=1000),
    scenario("medium-name", f"name: {MEDIUM} y\n", "name", "xxxx", max_line=1000),
    scenario("medium-string-for-a-number", f'name: s\nmonths: "{MEDIUM}"\n', "months", "xxxx",
             max_line=1000),
    scenario("medium-unknown-choice", section("support", "{mode: " + MEDIUM + "}"),
             "support.mode", "xxxx", max_line=1000),
    scenario("medium-description-list", "name: s\ndescription: [" + ", ".join(["abc"] * 3000)
             + "]\n", "description", "abc", max_line=1000),
    override("set-long-value", f"name={LONG} y", "name", max_line=1000),
    override("set-long-path", f"market.{LONG}=1", "market", max_line=1000),
    override("set-medium-value", f"name={MEDIUM} y", "name", "xxxx", max_line=1000),
]

CASES = (
    OUT_CASES + LONG_CASES + NAME_CASES + EXECUTION_CASES + SAFETY_CASES + FILE_CASES
    + UNKNOWN_KEY_CASES + TYPE_CASES + RANGE_CASES + REFERENCE_CASES + CHOICE_CASES
    + NONFINITE_CASES + SET_CASES + FLAG_CASES + SWEEP_CASES + CALIBRATE_CASES + DISCOVER_CASES
    + CENTRE_CASES
)  # fmt: skip


# fmt: on
# ---------------------------------------------------------------------------- the checks


def _alias_bomb(value_key: str | None) -> str:
    """Nine levels of anchors, each a list of nine aliases of the one before (9^9 strings
    once expanded); the last level goes to `value_key` if given."""
    letters = "abcdefghi"
    lines = ["name: bomb", 'a: &a ["x","x","x","x","x","x","x","x","x"]']
    for previous, letter in itertools.pairwise(letters):
        items = ",".join([f"*{previous}"] * 9)
        key = value_key if (value_key and letter == "i") else letter
        lines.append(f"{key}: &{letter} [{items}]")
    return "\n".join(lines) + "\n"


def _huge(key: str, suffix: str = "") -> Callable[[Path], None]:
    def write(path: Path) -> None:
        with path.open("w") as f:
            f.write(f'name: s\n{key}: "')
            chunk = "x" * (1 << 20)
            for _ in range(50):
                f.write(chunk)
            f.write(f'{suffix}"\n')

    return write


@dataclass(frozen=True)
class SubprocessCase:
    id: str
    argv: tuple[str, ...]
    expect: tuple[str | tuple[str, ...], ...]
    files: Mapping[str, FileSpec] = field(default_factory=dict)
    max_line: int = LINE_LIMIT


SUBPROCESS_CASES = [
    SubprocessCase(
        "alias-bomb",
        ("validate", "bomb.yaml"),
        ("bomb.yaml",),
        {"bomb.yaml": _alias_bomb(None)},
        max_line=1000,
    ),
    SubprocessCase(
        "alias-bomb-in-a-field",
        ("validate", "bomb.yaml"),
        ("bomb.yaml",),
        {"bomb.yaml": _alias_bomb("description")},
        max_line=1000,
    ),
    SubprocessCase(
        "huge-description",
        ("validate", "big.yaml"),
        ("big.yaml",),
        {"big.yaml": _huge("description")},
        max_line=1000,
    ),
    SubprocessCase(
        "huge-name",
        ("validate", "big.yaml"),
        ("big.yaml",),
        {"big.yaml": _huge("name", " y")},
        max_line=1000,
    ),
    SubprocessCase(
        "deep-nesting",
        ("validate", "deep.yaml"),
        ("deep.yaml",),
        {"deep.yaml": "name: s\nmonths: " + "[" * 5000 + "]" * 5000 + "\n"},
        max_line=1000,
    ),
    SubprocessCase(
        "deep-nesting-unclosed",
        ("validate", "deep.yaml"),
        ("deep.yaml",),
        {"deep.yaml": "[" * 5000},
        max_line=1000,
    ),
    SubprocessCase(
        "sweep-samples-1e9",
        ("sweep", "sw.yaml", "-q", "--out", "out"),
        ("samples", "1000000000"),
        {"sw.yaml": ranged("range: [0.2, 0.4]", "random", "samples: 1000000000\n")},
    ),
    SubprocessCase(
        "run-replications-1e9",
        ("run", "s.yaml", "-q", "-r", "1000000000", "--out", "out"),
        (("--replications", "-r", "replications"), "1000000000"),
        {"s.yaml": TINY},
    ),
    SubprocessCase(
        "centre-agents-1000000000", (*CENTRE, "--agents", "1000000000"), ("--agents", "1000000000")
    ),
    SubprocessCase(
        "centre-hours-1e9",
        (*CENTRE, "--agents", "20", "--mode", "simpy", "--hours", "1e9"),
        ("--hours", ("1e9", "1e+09", "1000000000")),
    ),
]


def _sub(text: str, tmp: Path) -> str:
    return text.replace("{baseline}", BASELINE).replace("{tmp}", str(tmp))


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Made], Path]:
    """Finished results to copy into a case's directory, made on first use."""
    root = tmp_path_factory.mktemp("prepared")
    made: dict[str, Path] = {}

    def get(kind: Made) -> Path:
        if kind.kind not in made:
            target = root / kind.kind.replace(" ", "-")
            work = root / f"{target.name}-inputs"
            work.mkdir()
            if kind is RUN_RESULT:
                (work / "tiny.yaml").write_text(TINY)
                argv = ["run", str(work / "tiny.yaml"), "-q", "--out", str(target)]
            else:
                text = _sub(SWEEP, work) + (
                    "parameters:\n  firm.capabilities.technology: {levels: [1.0, 2.0, 3.0, 4.0]}\n"
                    "  market.initial_customers: {levels: [0.2, 0.3, 0.4]}\n"
                )
                (work / "sw.yaml").write_text(text)
                argv = [
                    "sweep",
                    str(work / "sw.yaml"),
                    "-q",
                    "--workers",
                    "1",
                    "--out",
                    str(target),
                ]
            assert main(argv) == 0, f"could not prepare a {kind}"
            made[kind.kind] = target
        return made[kind.kind]

    return get


@pytest.fixture(scope="module", autouse=True)
def _compiled_code_loaded() -> None:
    """Load the compiled simulation code once, so its one-off cost is not a case's."""
    from sim.experiments.runs import run_replication
    from sim.scenario import scenario_from_dict

    run_replication(scenario_from_dict({"name": "warm", "months": 1, "market": {"size": 100}}),
                    1, 0)  # fmt: skip


def _create(tmp: Path, files: Mapping[str, FileSpec], prepared: Callable[[Made], Path]) -> None:
    for name, spec in files.items():
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if spec is DIR:
            path.mkdir(exist_ok=True)
        elif isinstance(spec, Made):
            shutil.copytree(prepared(spec), path)
        elif isinstance(spec, bytes):
            path.write_bytes(spec)
        elif isinstance(spec, str):
            path.write_text(_sub(spec, tmp))
        else:
            spec(path)


def _tree(root: Path) -> dict[str, tuple[object, ...]]:
    """Every entry under `root` with its kind and, for files, a hash of the content."""
    entries: dict[str, tuple[object, ...]] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            entries[rel] = ("link", os.readlink(path))
        elif path.is_dir():
            entries[rel] = ("dir",)
        else:
            data = path.read_bytes()
            entries[rel] = ("file", len(data), hashlib.sha256(data).hexdigest())
    return entries


def _project_state() -> set[str]:
    """What a stray write in the project would change: results/ and hidden leftovers."""
    names = {p.relative_to(PROJECT_ROOT).as_posix() for p in RESULTS.rglob("*")}
    leftovers = (".tmp", ".partial", ".old")
    names |= {p.name for p in PROJECT_ROOT.iterdir() if p.name.endswith(leftovers)}
    return names


def _short(text: str, limit: int = 600) -> str:
    text = text.strip()
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def _problems(
    status: object,
    err: str,
    expect: tuple[str | tuple[str, ...], ...],
    forbid: tuple[str, ...],
    max_line: int,
) -> list[str]:
    """What is wrong with the outcome of a bad input, as short phrases (empty: all well)."""
    found = []
    if status != 2:
        found.append(f"exit status {status!r}, not 2")
    if "Traceback" in err:
        found.append("a traceback")
    lines = err.strip().splitlines()
    if len(lines) != 1:
        found.append(f"{len(lines)} lines on stderr, not 1")
    line = lines[-1] if lines else ""
    if lines and not ERROR_LINE.match(lines[0]):
        found.append("stderr does not start with 'error:'")
    if len(line) > max_line:
        found.append(f"error line of {len(line)} characters (limit {max_line})")
    for wanted in expect:
        options = (wanted,) if isinstance(wanted, str) else wanted
        if not any(option in err for option in options):
            found.append(f"stderr does not name {' or '.join(map(repr, options))}")
    for secret in forbid:
        if secret in err:
            found.append(f"stderr shows {secret!r}")
    return found


class CaseTimeout(BaseException):
    """A case ran longer than `ALARM_S`."""


def _on_alarm(signum: int, frame: object) -> None:
    raise CaseTimeout(f"still running after {ALARM_S} s")


@pytest.mark.parametrize("bad", CASES, ids=[c.id for c in CASES])
def test_bad_input_ends_in_one_line(
    bad: Case,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    prepared: Callable[[Made], Path],
) -> None:
    work = tmp_path / "cwd"
    work.mkdir()
    _create(work, bad.files, prepared)
    monkeypatch.chdir(work)
    # A default output folder would land in the working directory, where it is noticed.
    monkeypatch.delenv(output_paths.RESULTS_DIR_ENV, raising=False)
    argv = [_sub(arg, work) for arg in bad.argv]
    before, project_before = _tree(work), _project_state()
    capsys.readouterr()
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(ALARM_S)
    start = time.perf_counter()
    try:
        status: object = main(argv)
    except SystemExit as exc:
        status = exc.code
    except CaseTimeout as exc:
        status = f"stopped: {exc}"
    except Exception as exc:
        status = f"raised {type(exc).__name__}: {_short(str(exc), 200)}"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    seconds = time.perf_counter() - start
    growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
    err = capsys.readouterr().err
    problems = _problems(status, err, bad.expect, bad.forbid, bad.max_line)
    if seconds > TIME_LIMIT_S:
        problems.append(f"took {seconds:.1f} s (limit {TIME_LIMIT_S:g} s)")
    if growth > MEMORY_GROWTH_LIMIT_KB:
        problems.append(f"peak memory grew by {growth // 1024} MiB")
    after = _tree(work)
    if after != before:
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        problems.append(f"wrote or changed {changed[:6]}")
    stray = _project_state() - project_before
    if stray:
        problems.append(f"wrote into the project: {sorted(stray)[:6]}")
    assert not problems, f"{'; '.join(problems)} | stderr: {_short(err)}"


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (SUBPROCESS_MEMORY, SUBPROCESS_MEMORY))


@pytest.mark.parametrize("bad", SUBPROCESS_CASES, ids=[c.id for c in SUBPROCESS_CASES])
def test_bad_input_bounded_in_time_and_memory(
    bad: SubprocessCase, tmp_path: Path, prepared: Callable[[Made], Path]
) -> None:
    work = tmp_path / "cwd"
    work.mkdir()
    _create(work, bad.files, prepared)
    before, project_before = _tree(work), _project_state()
    command = [sys.executable, "-m", "sim.cli.main", *(_sub(a, work) for a in bad.argv)]
    start = time.perf_counter()
    try:
        done = subprocess.run(
            command, cwd=work, capture_output=True, text=True, errors="replace",
            timeout=SUBPROCESS_TIMEOUT_S, preexec_fn=_limit_memory,
        )  # fmt: skip
        status, err = done.returncode, done.stderr
    except subprocess.TimeoutExpired as exc:
        status = f"still running after {SUBPROCESS_TIMEOUT_S} s"
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else ""
    seconds = time.perf_counter() - start
    problems = _problems(status, err, bad.expect, (), bad.max_line)
    after = _tree(work)
    if after != before:
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        problems.append(f"wrote or changed {changed[:6]}")
    stray = _project_state() - project_before
    if stray:
        problems.append(f"wrote into the project: {sorted(stray)[:6]}")
    assert not problems, f"{'; '.join(problems)} ({seconds:.1f} s) | stderr: {_short(err)}"


def test_zero_discount_rate_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A discount rate of 0 is a valid scenario (no discounting), not a bad input."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text(TINY)
    out = tmp_path / "out"
    argv = ["run", "s.yaml", "-q", "--set", "economics.discount_rate_per_year=0", "--out", str(out)]
    assert main(argv) == 0
    assert (out / "manifest.json").is_file()


def test_the_corpus_is_large_and_its_ids_unique() -> None:
    ids = [c.id for c in CASES] + [c.id for c in SUBPROCESS_CASES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 150
