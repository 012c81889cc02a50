"""The teaching notebooks run end to end through papermill and draw their plots."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import papermill
import pytest
from jupyter_client.kernelspec import find_kernel_specs
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from sim import notebooks

PROJECT_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = PROJECT_ROOT / "notebooks"
KERNEL = "python3"


def execute(notebook: Path, output: Path, parameters: dict[str, object]) -> nbformat.NotebookNode:
    """Run a notebook with papermill from the project root; the executed notebook."""
    if KERNEL not in find_kernel_specs():
        pytest.fail(
            f"Jupyter kernel {KERNEL!r} is not installed; run "
            f"`python -m ipykernel install --sys-prefix --name {KERNEL}` in this environment "
            "(`make env` does it)"
        )
    papermill.execute_notebook(
        str(notebook),
        str(output),
        parameters=parameters,
        kernel_name=KERNEL,
        cwd=str(PROJECT_ROOT),
        progress_bar=False,
    )
    return nbformat.read(output, as_version=4)


@pytest.mark.slow
def test_quickstart_runs_and_plots(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    parameters = {"replications": 2, "months": 6}
    nb = execute(NOTEBOOKS / "00_quickstart.ipynb", tmp_path / "00_quickstart.ipynb", parameters)

    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    outputs = [output for cell in code_cells for output in cell.get("outputs", [])]
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors, [f"{o.ename}: {o.evalue}" for o in errors]

    injected = [c for c in code_cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    assert "replications = 2" in injected[0].source
    assert "months = 6" in injected[0].source

    with_images = [
        cell
        for cell in code_cells
        if any("image/png" in o.get("data", {}) for o in cell.get("outputs", []))
    ]
    assert len(with_images) >= 3


UNUSED_ACCOUNT_MANAGER = """\
extends: {baseline}
name: no_account_manager
description: The baseline with the premium segment on the standard journey.
journeys:
  premium: [advertising, purchase, onboarding, product_use, support_contact, billing, renewal_offer]
"""


@pytest.mark.slow
def test_quickstart_runs_when_a_touchpoint_is_never_met(tmp_path, monkeypatch):
    """A scenario defines `account_manager` but no journey includes it: its heatmap row is
    empty (no interactions in any month) and the notebook still runs to the end."""
    monkeypatch.setenv("MPLBACKEND", "Agg")
    scenario = tmp_path / "no_account_manager.yaml"
    scenario.write_text(
        UNUSED_ACCOUNT_MANAGER.format(baseline=PROJECT_ROOT / "scenarios" / "baseline.yaml")
    )
    parameters = {"scenario_path": str(scenario), "replications": 2, "months": 6}
    nb = execute(NOTEBOOKS / "00_quickstart.ipynb", tmp_path / "00_quickstart.ipynb", parameters)

    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    outputs = [output for cell in code_cells for output in cell.get("outputs", [])]
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors, [f"{o.ename}: {o.evalue}" for o in errors]
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "no_account_manager" in printed
    with_images = [
        cell
        for cell in code_cells
        if any("image/png" in o.get("data", {}) for o in cell.get("outputs", []))
    ]
    assert len(with_images) >= 3


# ------------------------------------------------------------------ every ready scenario

SCENARIOS = sorted(p.name for p in (PROJECT_ROOT / "scenarios").glob("*.yaml"))
TAKES_A_SCENARIO = sorted(
    name for name, nb in notebooks.discover().items() if notebooks.SCENARIO_PARAMETER in nb.defaults
)
SMALLER = {
    "00_quickstart": {"replications": 1, "months": 3},
    "budget_allocation": {"market_size": 400, "months": 2},
    "own_numbers": {
        "customers": 300,
        "fit_months": 1,
        "max_evaluations": 22,
        "months": 3,
        "programme_replications": 2,
    },
    "replications_and_crn": {"market_size": 200, "months": 1},
    "validation": {
        "market_size": 300,
        "replications": 1,
        "months": 6,
        "erlang_hours": 20,
        "engine_market_size": 300,
        "engine_months": 3,
    },
}
"""Parameters that shrink a notebook's quick run further for the run on every scenario: too
small for its claims, which the suite's quick run checks on its default scenario."""


def run_on_each(name: str, scenarios: list[Path]) -> dict[str, str]:
    """Run notebook `name` once for each scenario in one kernel, with its quick parameters
    and `SMALLER`'s, up to (not including) its last cell, the check of its claims: scenario
    → the error of the first cell that failed (none: all ran)."""
    if KERNEL not in find_kernel_specs():
        pytest.fail(f"Jupyter kernel {KERNEL!r} is not installed (`make env` installs it)")
    notebook = notebooks.discover()[name]
    nb = nbformat.read(notebook.path, as_version=4)
    start = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    code = [c for c in nb.cells[start + 1 :] if c.cell_type == "code"][:-1]
    client = NotebookClient(
        nb, kernel_name=KERNEL, timeout=600, resources={"metadata": {"path": str(PROJECT_ROOT)}}
    )
    failures: dict[str, str] = {}
    with client.setup_kernel():
        for scenario in scenarios:
            values = notebook.defaults | notebook.quick | SMALLER.get(name, {})
            values["scenario_path"] = str(scenario)
            cells = [
                nbformat.v4.new_code_cell("\n".join(f"{k} = {v!r}" for k, v in values.items()))
            ]
            cells += [copy.deepcopy(cell) for cell in code]
            for index, cell in enumerate(cells):
                try:
                    client.execute_cell(cell, index)
                except CellExecutionError as error:
                    failures[scenario.name] = f"cell {index}: {str(error)[-400:]}"
                    break
    return failures


@pytest.mark.slow
@pytest.mark.parametrize("name", TAKES_A_SCENARIO)
def test_a_notebook_that_takes_a_scenario_runs_on_every_ready_one(name, tmp_path, monkeypatch):
    """Each notebook with a `scenario_path` runs (all but the check of its claims, at a size
    too small for them) on every ready scenario and on one whose journeys leave a
    touchpoint unused."""
    monkeypatch.setenv("MPLBACKEND", "Agg")
    unused = tmp_path / "no_account_manager.yaml"
    unused.write_text(
        UNUSED_ACCOUNT_MANAGER.format(baseline=PROJECT_ROOT / "scenarios" / "baseline.yaml")
    )
    scenarios = [PROJECT_ROOT / "scenarios" / s for s in SCENARIOS] + [unused]
    assert run_on_each(name, scenarios) == {}
