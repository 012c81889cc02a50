"""The teaching notebooks run end to end through papermill and draw their plots."""

from __future__ import annotations

from pathlib import Path

import nbformat
import papermill
import pytest
from jupyter_client.kernelspec import find_kernel_specs

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
