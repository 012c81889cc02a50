"""`cxm notebooks`: the notebook suite runs with papermill, renders to HTML and is indexed;
failures are reported and do not stop the others; bad input is refused before anything runs;
the same parameters give the same outputs."""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
from pathlib import Path

import nbformat
import pytest

from sim import notebooks, output_paths
from sim.cli.main import main
from sim.errors import CXMError, OptionError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = "00_quickstart"


def cxm(*argv: str) -> tuple[int, str, str]:
    """Run `cxm` in this process: exit status, standard output, standard error."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(argv))
    return status, out.getvalue(), err.getvalue()


def git_head() -> str:
    done = subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
    )
    return done.stdout.strip() if done.returncode == 0 else "unknown"


def image_outputs(nb: nbformat.NotebookNode) -> int:
    return sum(
        "image/png" in output.get("data", {})
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )


ADDRESS = re.compile(r"0x[0-9a-fA-F]+")


def code_outputs(nb: nbformat.NotebookNode) -> list[list[object]]:
    """Each code cell's outputs (streams, errors and every data representation), with
    memory addresses masked; execution times and counts live elsewhere and are left out."""

    def masked(value: object) -> object:
        text = "".join(value) if isinstance(value, list) else value
        return ADDRESS.sub("0x…", text) if isinstance(text, str) else text

    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        shown: list[object] = []
        for output in cell.get("outputs", []):
            kind = output["output_type"]
            if kind == "stream":
                shown.append((kind, output["name"], masked(output["text"])))
            elif kind == "error":
                shown.append((kind, output["ename"], masked(output["evalue"])))
            else:
                data = {mime: masked(value) for mime, value in output.get("data", {}).items()}
                shown.append((kind, data))
        cells.append(shown)
    return cells


# ---------------------------------------------------------------------------- tiny notebooks


def write_notebook(
    folder: Path,
    name: str,
    parameters: str,
    cells: list[str],
    track: str = "research",
    requires: object = None,
) -> Path:
    """A notebook of the suite: a title, a parameters cell, then code cells; `requires`, when
    given, goes into its metadata as is."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["cxm"] = {
        "track": track,
        "title": f"Title of {name}",
        "question": f"What does {name} answer?",
        "quick": {"x": 2},
    }
    if requires is not None:
        nb.metadata["cxm"]["requires"] = requires
    nb.cells.append(nbformat.v4.new_markdown_cell(f"# {name}"))
    parameters_cell = nbformat.v4.new_code_cell(parameters)
    parameters_cell.metadata["tags"] = ["parameters"]
    nb.cells.append(parameters_cell)
    nb.cells += [nbformat.v4.new_code_cell(source) for source in cells]
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture
def tiny_suite(tmp_path, monkeypatch):
    """A notebooks folder with a notebook that fails in its fourth cell and one that runs,
    made the suite `cxm notebooks` reads."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(
        folder, "01_fails", "x = 1", ["y = x + 1", "raise ValueError(f'boom {y}')", "z = 3"]
    )
    write_notebook(folder, "02_runs", "x = 1", ["print('twice x is', 2 * x)"], track="strategist")
    monkeypatch.setattr(notebooks, "NOTEBOOKS_DIR", folder)
    return folder


# ---------------------------------------------------------------------------- the suite itself


def test_every_notebook_declares_its_track_title_question_and_quick_parameters():
    found = notebooks.discover()
    assert QUICKSTART in found
    for notebook in found.values():
        assert notebook.track in notebooks.TRACKS
        assert notebook.title and notebook.question
        assert set(notebook.quick) <= set(notebook.defaults)
    quickstart = found[QUICKSTART]
    assert "Quickstart" in quickstart.title
    assert quickstart.quick == {"replications": 2, "months": 6}
    assert quickstart.defaults["scenario_path"] == "scenarios/baseline.yaml"


def test_parameters_are_read_as_yaml():
    given = notebooks.parse_parameters(
        ["months=12", "scenario_path=scenarios/digital_first.yaml", "rate=0.5", "on=true"]
    )
    assert given == {
        "months": 12,
        "scenario_path": "scenarios/digital_first.yaml",
        "rate": 0.5,
        "on": True,
    }
    with pytest.raises(OptionError, match="given twice"):
        notebooks.parse_parameters(["months=1", "months=2"])


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["no_such_notebook"], "no notebook named 'no_such_notebook'; the notebooks are: "),
        (["--track", "managers"], "--track: got 'managers'; choose from strategist, research"),
        ([QUICKSTART, "-p", "colour=5"], "'colour' is not a parameter of notebook 00_quickstart"),
        ([QUICKSTART, "-p", "months"], "-p: got 'months'; expected KEY=VALUE"),
        ([QUICKSTART, "-p", "months=[1"], "-p: got 'months=[1'; the value is not readable YAML"),
        ([QUICKSTART, "-p", "scenario_path=nowhere.yaml"], "nowhere.yaml"),
    ],
    ids=["unknown-notebook", "unknown-track", "unknown-key", "no-equals", "bad-yaml", "scenario"],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, argv, expected):
    out = tmp_path / "out"
    status, stdout, stderr = cxm("notebooks", *argv, "--out", str(out))
    assert status == 2
    assert stdout == ""
    assert stderr.count("\n") == 1 and stderr.startswith("error: ")
    assert expected in stderr
    assert "Traceback" not in stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_unknown_notebook_lists_the_known_ones(tmp_path):
    _, _, stderr = cxm("notebooks", "nope", "--out", str(tmp_path / "out"))
    assert QUICKSTART in stderr


def test_unknown_key_names_the_notebooks_parameters(tmp_path):
    _, _, stderr = cxm("notebooks", QUICKSTART, "-p", "colour=5", "--out", str(tmp_path / "o"))
    assert "its parameters: scenario_path, replications, months, seed" in stderr


def test_a_folder_of_the_users_is_refused_and_left_untouched(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    status, _, stderr = cxm("notebooks", QUICKSTART, "--quick", "--out", str(out), "--overwrite")
    assert status == 2
    assert "is a folder that is not a cxm result" in stderr
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert (out / "notes.txt").read_text() == "my notes"


def test_a_notebook_suites_folder_is_replaced_only_whole_and_only_when_asked(tmp_path):
    """A notebook suite's folder is a result when it holds exactly the files its manifest
    lists; a file added to it makes it the user's."""
    out = tmp_path / "suite"
    out.mkdir()
    (out / "a.html").write_text("report")
    (out / "index.json").write_text("{}")
    manifest = {"kind": "notebooks", "files": ["a.html", "index.json"]}
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CXMError, match="holds a previous result"), output_paths.claim(out):
        pass
    with output_paths.claim(out, overwrite=True) as held:
        assert held.existing == "result"
    (out / "mine.ipynb").write_text("{}")
    refused = pytest.raises(CXMError, match=r"not a cxm result \(it holds mine.ipynb\)")
    with refused, output_paths.claim(out, overwrite=True):
        pass


# ---------------------------------------------------------------------------- running


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """`cxm notebooks 00_quickstart --quick --out DIR`, once for the module."""
    out = tmp_path_factory.mktemp("quick") / "notebooks"
    status, stdout, stderr = cxm("notebooks", QUICKSTART, "--quick", "--out", str(out))
    return out, status, stdout, stderr


@pytest.mark.slow
def test_quick_quickstart_writes_notebook_html_and_index(quick_run):
    out, status, stdout, stderr = quick_run
    assert status == 0, stderr
    assert sorted(p.name for p in out.iterdir()) == [
        f"{QUICKSTART}.html",
        f"{QUICKSTART}.ipynb",
        "index.html",
        "index.json",
        "manifest.json",
    ]
    assert f"{QUICKSTART}: running" in stderr
    assert re.search(rf"{QUICKSTART}: ok in \d+\.\d s", stderr)
    assert "1 ok, 0 failed" in stdout

    executed = nbformat.read(out / f"{QUICKSTART}.ipynb", as_version=4)
    errors = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs if "ename" in o]
    assert not errors
    images = image_outputs(executed)
    assert images >= 3
    page = (out / f"{QUICKSTART}.html").read_text()
    assert page.count("data:image/png;base64") >= images
    title = notebooks.discover()[QUICKSTART].title
    assert f"<title>{title}</title>" in page
    assert "scenario_path" in page  # a lesson shows its code

    index = json.loads((out / "index.json").read_text())
    assert index["git_commit"] == git_head()
    [entry] = index["notebooks"]
    assert entry["name"] == QUICKSTART
    assert entry["title"] == title
    assert entry["track"] == "lesson"
    assert entry["status"] == "ok" and entry["error"] is None
    assert entry["injected"] == {"replications": 2, "months": 6}
    assert entry["parameters"] == {
        "scenario_path": "scenarios/baseline.yaml",
        "replications": 2,
        "months": 6,
        "seed": 20261125,
    }
    assert entry["git_commit"] == git_head()
    assert re.fullmatch(r"[0-9a-f]{64}", entry["scenario_sha256"])
    assert entry["seconds"] > 0
    assert (entry["executed"], entry["html"]) == (f"{QUICKSTART}.ipynb", f"{QUICKSTART}.html")

    listing = (out / "index.html").read_text()
    assert f'href="{QUICKSTART}.html"' in listing
    assert title in listing and git_head() in listing and ">ok<" in listing
    assert "replications = 2" in listing and "seed = 20261125" in listing
    assert entry["scenario_sha256"][:12] in listing


@pytest.mark.slow
def test_same_parameters_give_the_same_outputs(quick_run, tmp_path):
    """The suite's reproducibility check: a second run with the same parameters prints the
    same tables and draws the same figures."""
    first, status, _, stderr = quick_run
    assert status == 0, stderr
    second = tmp_path / "again"
    status, _, stderr = cxm("notebooks", QUICKSTART, "--quick", "--out", str(second), "-q")
    assert status == 0, stderr
    assert stderr == ""
    a = nbformat.read(first / f"{QUICKSTART}.ipynb", as_version=4)
    b = nbformat.read(second / f"{QUICKSTART}.ipynb", as_version=4)
    outputs = code_outputs(a)
    assert sum(len(cell) for cell in outputs) >= 5
    assert outputs == code_outputs(b)
    before = json.loads((first / "index.json").read_text())["notebooks"][0]
    after = json.loads((second / "index.json").read_text())["notebooks"][0]
    for key in ("parameters", "scenario_sha256", "git_commit", "status"):
        assert before[key] == after[key]


@pytest.mark.slow
def test_a_failing_notebook_is_reported_and_the_others_still_run(tiny_suite, tmp_path):
    out = tmp_path / "out"
    status, stdout, stderr = cxm("notebooks", "--out", str(out), "-p", "x=5")
    assert status == 1
    failures = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(failures) == 1
    assert failures[0].startswith("error: 01_fails: failed in ")
    assert failures[0].endswith("cell 4 (In [4]) raised ValueError: boom 6")
    assert re.search(r"^02_runs: ok in \d+\.\d s$", stderr, re.MULTILINE)
    assert "2 notebook(s): 1 ok, 1 failed" in stdout

    index = json.loads((out / "index.json").read_text())
    fails, runs = index["notebooks"]
    assert (fails["name"], fails["status"]) == ("01_fails", "failed")
    assert fails["error"] == {
        "cell": 4,
        "execution_count": 4,
        "name": "ValueError",
        "message": "boom 6",
    }
    assert fails["parameters"] == {"x": 5} and fails["injected"] == {"x": 5}
    assert fails["scenario_sha256"] is None
    assert (runs["name"], runs["status"], runs["error"]) == ("02_runs", "ok", None)

    partial = nbformat.read(out / "01_fails.ipynb", as_version=4)
    ran = [c for c in partial.cells if c.cell_type == "code" and c.get("execution_count")]
    assert len(ran) == 4  # parameters, injected parameters, y = x + 1, the raise; not z = 3
    assert "ValueError" in (out / "01_fails.html").read_text()
    listing = (out / "index.html").read_text()
    assert ">failed<" in listing and "cell 4 (In [4])" in listing and "boom 6" in listing

    good = nbformat.read(out / "02_runs.ipynb", as_version=4)
    assert "twice x is 10" in good.cells[-1].outputs[0]["text"]
    report = (out / "02_runs.html").read_text()
    assert "twice x is 10" in report
    assert "print(" not in report  # a strategist report hides the code


@pytest.mark.slow
def test_quick_parameters_and_the_library_call(tiny_suite, tmp_path):
    """The library takes the notebooks folder as a parameter; --quick injects each
    notebook's quick parameters, -p comes after them."""
    seen = []
    suite = notebooks.run_suite(
        ["02_runs"],
        quick=True,
        out=tmp_path / "out",
        notebooks_dir=tiny_suite,
        finished=seen.append,
    )
    [report] = suite.reports
    assert seen == [report] and report.ok and not suite.failed
    assert report.injected == {"x": 2} and report.parameters == {"x": 2}
    executed = nbformat.read(tmp_path / "out" / "02_runs.ipynb", as_version=4)
    assert "twice x is 4" in executed.cells[-1].outputs[0]["text"]
    with pytest.raises(OptionError, match="'y' is not a parameter of notebook 02_runs"):
        notebooks.run_suite(["02_runs"], parameters={"y": 1}, notebooks_dir=tiny_suite)


# ---------------------------------------------------------------------------- the suite

SUITE = sorted(set(notebooks.discover()) - {QUICKSTART})
"""Every notebook of the suite but the quickstart (which the tests above run)."""
RUNNABLE = [name for name in SUITE if not notebooks.missing_modules(notebooks.discover()[name])]
"""The notebooks of `SUITE` whose optional modules are installed (`make test` installs them)."""


@pytest.fixture(scope="module")
def quick_suite(tmp_path_factory):
    """`cxm notebooks NAME ... --quick --out DIR` over the whole suite, once for the module."""
    out = tmp_path_factory.mktemp("suite") / "notebooks"
    status, stdout, stderr = cxm("notebooks", *RUNNABLE, "--quick", "--out", str(out))
    return out, status, stdout, stderr


@pytest.mark.slow
@pytest.mark.parametrize("name", SUITE)
def test_every_notebook_runs_quick_and_its_claims_hold(quick_suite, name):
    """Each notebook ends with a cell asserting its claims on the numbers it computed: it
    runs to the end with no error, and its report holds its figures and its title."""
    missing = notebooks.missing_modules(notebooks.discover()[name])
    if missing:
        pytest.skip(f"{name} needs {', '.join(missing)}: {notebooks.install_command(missing)}")
    out, _, _, stderr = quick_suite
    entry = {e["name"]: e for e in json.loads((out / "index.json").read_text())["notebooks"]}
    assert entry[name]["status"] == "ok", stderr
    executed = nbformat.read(out / f"{name}.ipynb", as_version=4)
    errors = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs if "ename" in o]
    assert not errors
    images = image_outputs(executed)
    assert images >= 1
    page = (out / f"{name}.html").read_text()
    assert page.count("data:image/png;base64") >= images
    notebook = notebooks.discover()[name]
    assert f"<title>{notebook.title}</title>" in page
    code_shown = '<span class="kn">import</span>' in page  # nbconvert's highlighted code
    if notebook.track in notebooks.HIDDEN_INPUT_TRACKS:
        # a report for decision makers: its summary is there, its code is not
        assert ">Summary" in page
        assert not code_shown
    else:
        assert code_shown
