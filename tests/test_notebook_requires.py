"""`cxm notebooks` and a notebook whose metadata ``requires`` a module that is not installed:
selected by its track it is skipped (one line, status ``skipped``, exit 0); named, it is bad
input (one line naming the module and the install command, exit 2, nothing written)."""

from __future__ import annotations

import json

import pytest
from test_notebook_runner import cxm, write_notebook

from sim import notebooks
from sim.errors import CXMError

MISSING = "cxm_no_such_module_for_tests"
"""A module name that no environment has."""


@pytest.fixture
def suite_dir(tmp_path, monkeypatch):
    """A suite of two notebooks: one needs a missing module (and a present one), one needs
    nothing beyond the project."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder, "01_needs", "x = 1", ["print(2 * x)"], requires=["json", MISSING])
    write_notebook(folder, "02_plain", "x = 1", ["print(2 * x)"])
    monkeypatch.setattr(notebooks, "NOTEBOOKS_DIR", folder)
    return folder


def test_requires_is_read_from_the_metadata(suite_dir):
    found = notebooks.discover(suite_dir)
    assert found["01_needs"].requires == ("json", MISSING)
    assert found["02_plain"].requires == ()
    assert notebooks.missing_modules(found["01_needs"]) == [MISSING]
    assert notebooks.missing_modules(found["02_plain"]) == []


def test_a_missing_dotted_module_is_missing_not_an_error(suite_dir):
    notebook = notebooks.discover(suite_dir)["02_plain"]
    dotted = notebooks.Notebook(**{**notebook.__dict__, "requires": (f"{MISSING}.sub",)})
    assert notebooks.missing_modules(dotted) == [f"{MISSING}.sub"]


def test_the_install_command_names_the_project_extra():
    assert notebooks.install_command(["pymc_marketing"]) == 'pip install -e ".[clv]"'
    assert notebooks.install_command([MISSING]) == f"pip install {MISSING}"


@pytest.mark.parametrize("requires", ["pymc_marketing", [1], ["not a name"], {"a": 1}])
def test_a_bad_requires_entry_is_refused_with_the_field_named(tmp_path, requires):
    path = write_notebook(tmp_path, "bad", "x = 1", ["print(2 * x)"], requires=requires)
    with pytest.raises(CXMError, match=r"metadata 'cxm.requires'"):
        notebooks.read_notebook(path)


def test_named_with_a_missing_module_exits_2_with_one_line_and_writes_nothing(suite_dir, tmp_path):
    out = tmp_path / "out"
    status, stdout, stderr = cxm("notebooks", "01_needs", "02_plain", "--out", str(out))
    assert status == 2
    assert stdout == ""
    assert stderr.count("\n") == 1
    assert stderr.startswith(f"error: notebook 01_needs needs {MISSING}, which is not installed")
    assert f"pip install {MISSING}" in stderr
    assert not out.exists()


def test_the_library_refuses_a_named_notebook_whose_module_is_missing(suite_dir, tmp_path):
    with pytest.raises(CXMError, match=f"notebook 01_needs needs {MISSING}"):
        notebooks.run_suite(["01_needs"], out=tmp_path / "out", notebooks_dir=suite_dir)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
@pytest.mark.parametrize("selection", [[], ["--track", "research"]])
def test_selected_by_track_it_is_skipped_and_the_others_run(suite_dir, tmp_path, selection):
    out = tmp_path / "out"
    status, stdout, stderr = cxm("notebooks", *selection, "-q", "--out", str(out))
    assert status == 0, stderr
    skip_lines = [line for line in stderr.splitlines() if "01_needs" in line]
    assert skip_lines == [
        f"01_needs: skipped: needs {MISSING}, which is not installed; install with "
        f"`pip install {MISSING}`"
    ]
    assert "2 notebook(s): 1 ok, 0 failed, 1 skipped" in stdout

    index = json.loads((out / "index.json").read_text())
    assert (index["ok"], index["failed"], index["skipped"]) == (1, 0, 1)
    needs, plain = index["notebooks"]
    assert (needs["name"], needs["status"], needs["executed"], needs["html"]) == (
        "01_needs",
        "skipped",
        None,
        None,
    )
    assert MISSING in needs["skipped"] and needs["error"] is None
    assert (plain["name"], plain["status"], plain["skipped"]) == ("02_plain", "ok", None)
    listing = (out / "index.html").read_text()
    assert ">skipped<" in listing and "1 skipped" in listing
    assert sorted(p.name for p in out.iterdir()) == [
        "02_plain.html",
        "02_plain.ipynb",
        "index.html",
        "index.json",
        "manifest.json",
    ]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["skipped"] == ["01_needs"] and manifest["failed"] == []


def test_only_skipped_notebooks_still_write_the_index(tmp_path, monkeypatch):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder, "01_needs", "x = 1", ["print(2 * x)"], requires=[MISSING])
    monkeypatch.setattr(notebooks, "NOTEBOOKS_DIR", folder)
    out = tmp_path / "out"
    status, stdout, stderr = cxm("notebooks", "--out", str(out))
    assert status == 0
    assert stderr.startswith("01_needs: skipped: ") and stderr.count("\n") == 1
    assert "1 notebook(s): 0 ok, 0 failed, 1 skipped" in stdout
    assert json.loads((out / "index.json").read_text())["notebooks"][0]["status"] == "skipped"
