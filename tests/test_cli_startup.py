"""The command line starts light: its parser, a subcommand's help, a refused option and
`cxm validate` load none of the libraries the model and the experiments need.

`cxm --help` used to take seconds because importing `sim.cli.main` loaded SciPy, numba,
Mesa, Dask, pandas and matplotlib. These tests check the import graph, not the time (which
depends on the machine): each case runs in a fresh interpreter and lists the modules it
loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sim.results import PROJECT_ROOT

BASELINE = str(PROJECT_ROOT / "scenarios" / "baseline.yaml")
HEAVY = (
    "scipy",
    "numba",
    "mesa",
    "dask",
    "distributed",
    "matplotlib",
    "simpy",
    "pandas",
    "pyarrow",
    "papermill",
    "nbformat",
    "solara",
    "networkx",
    "numpy",
    "tqdm",
)
"""Libraries of the model, the experiments and the front-ends: none is needed to parse a
command line or validate a scenario."""
SCHEMA = ("pydantic", "yaml")
"""What validating a scenario needs, and parsing a command line does not."""

PROBE = """
import contextlib, io, json, sys
from sim.cli.main import main
status = None
if sys.argv[1:]:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            status = main(sys.argv[1:])
        except SystemExit as exc:  # --help
            status = exc.code
print(json.dumps({"status": status, "modules": sorted(sys.modules)}))
"""


def loaded(*argv: str) -> tuple[int | None, set[str]]:
    """Run `cxm ARGV` (nothing: only import the command) in a fresh interpreter; its exit
    status and the top-level packages it loaded."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
        check=True,
    )
    probe = json.loads(done.stdout)
    return probe["status"], {name.partition(".")[0] for name in probe["modules"]}


def test_importing_the_command_loads_no_heavy_library():
    status, modules = loaded()
    assert status is None
    assert "sim" in modules  # the probe sees what the import loaded
    assert modules.isdisjoint(HEAVY + SCHEMA), sorted(modules & {*HEAVY, *SCHEMA})


@pytest.mark.parametrize(
    ("argv", "status"),
    [
        (["--help"], 0),
        (["run", "--help"], 0),
        (["compare", "--help"], 0),
        (["bench", "--help"], 0),
        (["sweep", "--help"], 0),
        (["optimise", "--help"], 0),
        (["notebooks", "--help"], 0),
        (["contact-centre", "--help"], 0),
        (["run"], 2),
        (["bench", "--runs", "0"], 2),
    ],
)
def test_help_and_parse_errors_load_no_heavy_library(argv, status):
    done, modules = loaded(*argv)
    assert done == status
    assert modules.isdisjoint(HEAVY + SCHEMA), sorted(modules & {*HEAVY, *SCHEMA})


def test_a_refused_count_loads_the_schema_only():
    # The bound of --replications is the schema's, so the schema loads; the model does not.
    status, modules = loaded("run", "x.yaml", "--replications", "0")
    assert status == 2
    assert "pydantic" in modules
    assert modules.isdisjoint(HEAVY), sorted(modules & set(HEAVY))


def test_validate_loads_the_schema_but_not_the_model():
    status, modules = loaded("validate", BASELINE)
    assert status == 0
    assert {"pydantic", "yaml"} <= modules
    assert modules.isdisjoint(HEAVY), sorted(modules & set(HEAVY))


def test_loading_a_scenario_loads_neither_scipy_nor_the_model():
    code = (
        "import json, sys, sim; sim.load_scenario(sys.argv[1]); print(json.dumps([*sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, BASELINE], capture_output=True, text=True, check=True
    )
    modules = {name.partition(".")[0] for name in json.loads(done.stdout)}
    assert modules.isdisjoint(HEAVY), sorted(modules & set(HEAVY))
