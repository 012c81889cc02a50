"""What every notebook of the suite must be, read from the saved files: no model logic (no
function or class definitions: all computation goes through `sim`), a parameters cell of
literal values only, saved without outputs, and a title that is the metadata's title."""

from __future__ import annotations

import ast

import nbformat
import pytest

from sim import notebooks

SUITE = sorted(notebooks.discover())


def code_of(cell: nbformat.NotebookNode) -> str:
    """A code cell's Python, IPython magics and shell escapes left out."""
    lines = cell.source.splitlines()
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)


def read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(notebooks.discover()[name].path, as_version=4)


@pytest.mark.parametrize("name", SUITE)
def test_a_notebook_defines_no_functions_or_classes(name):
    nb = read(name)
    defined = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(code_of(cell))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                defined.append(f"cell {index + 1}: {node.name}")
    assert not defined, f"{name} defines {defined}; computation belongs in sim"


@pytest.mark.parametrize("name", SUITE)
def test_the_parameters_cell_holds_literal_assignments_only(name):
    nb = read(name)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{name}: {len(tagged)} cells tagged parameters"
    for node in ast.parse(code_of(tagged[0])).body:
        assert isinstance(node, ast.Assign), f"{name}: {ast.unparse(node)} is not an assignment"
        assert all(isinstance(target, ast.Name) for target in node.targets)
        ast.literal_eval(node.value)  # raises on anything but a literal


@pytest.mark.parametrize("name", SUITE)
def test_a_notebook_is_saved_without_outputs_and_opens_with_its_title(name):
    nb = read(name)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), name
    first = nb.cells[0]
    assert first.cell_type == "markdown"
    assert first.source.splitlines()[0] == f"# {notebooks.discover()[name].title}"
