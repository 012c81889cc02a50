"""`cxm report` writes one standalone HTML investment case (and its executed notebook) whose
headline table is `cxm compare`'s; `cxm compare --plot` saves its figures as PNG files; bad
input is refused with one line before anything runs."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from test_notebook_runner import cxm

from sim import notebooks
from sim.cli import report as report_cli
from sim.cli.main import COMPARE_FIGURES, build_parser
from sim.metrics import LABELS
from sim.results import PROJECT_ROOT
from sim.scenario import load_scenario

BASELINE = str(PROJECT_ROOT / "scenarios" / "baseline.yaml")
DESIGN = str(PROJECT_ROOT / "scenarios" / "invest_design.yaml")
SMALL = ["-r", "2", "--seed", "7", "--months", "6"]
"""The same replications, seed and horizon for both commands (a market of 1,000 people)."""
TABLE_SCHEMA = "application/vnd.dataresource+json"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
REPORT_FILES = {
    "investment_case.html",
    "investment_case.ipynb",
    "index.html",
    "index.json",
    "manifest.json",
}


def headline_data(nb: nbformat.NotebookNode) -> pd.DataFrame:
    """The headline table of an executed report, as the notebook displayed it (its
    table-schema representation: full precision)."""
    tables = [
        output["data"][TABLE_SCHEMA]
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if TABLE_SCHEMA in output.get("data", {})
    ]
    assert len(tables) == 1, f"{len(tables)} tables shown as data; expected the headline table"
    return pd.DataFrame(tables[0]["data"])


# ---------------------------------------------------------------------------- cxm report


@pytest.mark.slow
def test_report_writes_html_with_figures_and_summary_and_matches_compare(tmp_path):
    out = tmp_path / "report"
    status, printed, errors = cxm(
        "report",
        BASELINE,
        DESIGN,
        *SMALL,
        "--market-size",
        "1000",
        "--study-replications",
        "1",
        "--out",
        str(out),
        "-q",
    )
    assert status == 0, errors
    assert errors == ""
    assert "investment_case.html" in printed
    assert {p.name for p in out.iterdir()} == REPORT_FILES

    page = (out / "investment_case.html").read_text(encoding="utf-8")
    assert page.count("data:image/png") >= 5  # forest, waterfall, J-curve, ROI, tornado
    assert "Summary: invest_design against baseline" in page
    assert "1,000 people in the market, 6 months, 2 replications" in page
    assert "Verdict" in page and "Headline table" in page
    assert "import sim" not in page  # a strategist's report: no code
    assert "All 6 claims hold" in page

    index = json.loads((out / "index.json").read_text())
    (entry,) = index["notebooks"]
    assert entry["status"] == "ok" and entry["html"] == "investment_case.html"
    expected = {
        "base_path": "scenarios/baseline.yaml",
        "alternative_paths": ["scenarios/invest_design.yaml"],
        "replications": 2,
        "seed": 7,
        "months": 6,
        "market_size": 1000,
        "study_replications": 1,
        "study_spread": 0.25,
    }
    assert entry["parameters"] == expected
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "notebooks"
    assert set(manifest["files"]) == REPORT_FILES - {"manifest.json"}

    # The report's headline table is the table `cxm compare` writes on the same runs.
    compared = tmp_path / "compare"
    status, _, errors = cxm(
        "compare",
        BASELINE,
        DESIGN,
        *SMALL,
        "--set",
        "market.size=1000",
        "--out",
        str(compared),
        "-q",
    )
    assert status == 0, errors
    shown = headline_data(nbformat.read(out / "investment_case.ipynb", as_version=4))
    table = pd.read_csv(compared / "compare_summary.csv")
    table["metric"] = table["metric"].map(LABELS)
    expected = shown[["alternative", "metric"]].merge(table, on=["alternative", "metric"])
    assert len(expected) == len(shown) == 11  # every headline outcome of the one programme
    columns = ["base_mean", "alternative_mean", "difference", "ci_low", "ci_high"]
    columns += ["unpaired_half_width", "n"]
    np.testing.assert_allclose(
        shown[columns].to_numpy(float),
        expected[columns].to_numpy(float),
        rtol=1e-9,
        atol=1e-9,
        equal_nan=True,
    )


def test_report_defaults_replications_and_seed_to_the_base_scenario(monkeypatch):
    # As `cxm compare` does, so that the two commands agree without options; --quick's own
    # settings win over the scenario's, and the options given win over both.
    monkeypatch.chdir(PROJECT_ROOT)
    notebook = notebooks.read_notebook(notebooks.NOTEBOOKS_DIR / "investment_case.ipynb")
    scenario = load_scenario(BASELINE)

    def injected(*options: str) -> dict[str, object]:
        args = build_parser().parse_args(["report", "scenarios/baseline.yaml", DESIGN, *options])
        given, base = report_cli.report_parameters(args, notebook)
        assert base.name == "baseline"
        return given

    given = injected()
    assert given == {
        "base_path": "scenarios/baseline.yaml",  # as the notebook reads it: from the root
        "alternative_paths": ["scenarios/invest_design.yaml"],
        "replications": scenario.replications,
        "seed": scenario.seed,
    }
    assert notebook.quick["replications"] != scenario.replications
    assert "replications" not in injected("--quick")  # --quick injects the notebook's own
    given = injected("--quick", "-r", "4", "--market-size", "800", "--study-spread", "0.1")
    assert given["replications"] == 4 and given["market_size"] == 800
    assert given["study_spread"] == 0.1 and given["seed"] == scenario.seed


@pytest.mark.slow
def test_report_whose_notebook_fails_exits_1_with_one_line(tmp_path, monkeypatch):
    # A stand-in investment case, with the real one's parameters, that fails in its 3rd cell.
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["cxm"] = {"track": "strategist", "title": "Stand-in", "question": "Fails?"}
    real = notebooks.read_notebook(notebooks.NOTEBOOKS_DIR / "investment_case.ipynb")
    parameters = nbformat.v4.new_code_cell(
        "\n".join(f"{key} = {value!r}" for key, value in real.defaults.items())
    )
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Stand-in"),
        parameters,
        nbformat.v4.new_code_cell("raise ValueError(f'no report for {alternative_paths}')"),
    ]
    nbformat.write(nb, folder / "investment_case.ipynb")
    monkeypatch.setattr(notebooks, "NOTEBOOKS_DIR", folder)
    out = tmp_path / "report"
    status, _, errors = cxm("report", BASELINE, DESIGN, "--out", str(out), "-q")
    assert status == 1, errors
    (line,) = errors.splitlines()
    assert line.startswith("error: investment_case: failed in ")
    assert "cell 3" in line and "ValueError: no report for ['scenarios/invest_design.yaml']" in line
    assert (out / "investment_case.ipynb").exists()  # the executed notebook, up to the error


# ---------------------------------------------------------------------------- bad input


def bad_scenario(folder: Path) -> str:
    path = folder / "bad.yaml"
    path.write_text("name: bad\nmonths: -4\n")
    return str(path)


def other_named_baseline(folder: Path) -> str:
    path = folder / "copy.yaml"
    path.write_text(Path(BASELINE).read_text())
    return str(path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([BASELINE, "scenarios/missing.yaml"], "does not exist"),
        ([BASELINE, "{in}/nothing.yaml"], "does not exist"),
        ([BASELINE, "{bad}"], "months"),
        ([BASELINE, "{copy}"], "'baseline' is used twice"),
        ([BASELINE, DESIGN, "-r", "0"], "--replications: got 0"),
        ([BASELINE, DESIGN, "--seed", "-1"], "--seed: got -1"),
        ([BASELINE, DESIGN, "--months", "0"], "--months: got 0"),
        ([BASELINE, DESIGN, "--market-size", "0"], "--market-size: got 0"),
        ([BASELINE, DESIGN, "--study-replications", "0"], "--study-replications: got 0"),
        ([BASELINE, DESIGN, "--study-spread", "1.5"], "--study-spread: got 1.5"),
        ([BASELINE, DESIGN, "-r", "two"], "invalid int value"),
        ([BASELINE], "required: ALT"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_runs_and_writes_nothing(
    tmp_path, monkeypatch, args, message
):
    given = tmp_path / "in"
    given.mkdir()
    files = {"in": str(given), "bad": bad_scenario(given), "copy": other_named_baseline(given)}

    def never(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a notebook ran")

    monkeypatch.setattr(notebooks, "_execute", never)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    argv = [arg.format(**files) for arg in args]
    status, printed, errors = cxm("report", *argv, "--out", str(out), "-q")
    assert status == 2
    assert printed == ""
    (line,) = errors.splitlines()
    assert line.startswith("error: ") and message in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_report_refuses_a_users_folder_and_a_previous_result_without_overwrite(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(notebooks, "_execute", lambda *a, **k: pytest.fail("a notebook ran"))
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    status, _, errors = cxm("report", BASELINE, DESIGN, "--out", str(mine), "-q")
    assert status == 2 and "not a cxm result" in errors and len(errors.splitlines()) == 1
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    previous = tmp_path / "previous"
    previous.mkdir()
    (previous / "index.json").write_text("{}")
    manifest = {"kind": "notebooks", "files": ["index.json"]}
    (previous / "manifest.json").write_text(json.dumps(manifest))
    status, _, errors = cxm("report", BASELINE, DESIGN, "--out", str(previous), "-q")
    assert status == 2 and "--overwrite" in errors
    assert sorted(p.name for p in previous.iterdir()) == ["index.json", "manifest.json"]


# ---------------------------------------------------------------------------- compare --plot


def is_png(path: Path) -> bool:
    data = path.read_bytes()
    return len(data) > len(PNG_SIGNATURE) and data.startswith(PNG_SIGNATURE)


@pytest.mark.slow
def test_compare_plot_saves_pngs_beside_the_tables_and_only_when_asked(tmp_path):
    small = [*SMALL, "--set", "market.size=800", "-q"]
    names = {name for name, _ in COMPARE_FIGURES.values()}
    assert names == {"forest.png", "timeseries_active.png", "timeseries_npv_to_date.png"}

    plotted = tmp_path / "plotted"
    status, _, errors = cxm("compare", BASELINE, DESIGN, *small, "--plot", "--out", str(plotted))
    assert status == 0, errors
    files = {p.name for p in plotted.iterdir()}
    assert names | {"compare_summary.csv", "compare.parquet", "manifest.json"} <= files
    for name in names:
        assert is_png(plotted / name), name
    manifest = json.loads((plotted / "manifest.json").read_text())
    assert manifest["kind"] == "comparison"
    assert manifest["figures"] == [name for name, _ in COMPARE_FIGURES.values()]
    assert not [p.name for p in plotted.parent.iterdir() if p.name.startswith(".")]

    plain = tmp_path / "plain"
    assert cxm("compare", BASELINE, DESIGN, *small, "--out", str(plain))[0] == 0
    assert not list(plain.glob("*.png"))
    assert "figures" not in json.loads((plain / "manifest.json").read_text())
    # The tables do not depend on --plot.
    pd.testing.assert_frame_equal(
        pd.read_csv(plotted / "compare_summary.csv"), pd.read_csv(plain / "compare_summary.csv")
    )

    # A folder with figures is still a cxm result: --overwrite replaces it (with or without
    # figures), and without --overwrite it is refused.
    status, _, errors = cxm("compare", BASELINE, DESIGN, *small, "--plot", "--out", str(plotted))
    assert status == 2 and "--overwrite" in errors
    again = ("compare", BASELINE, DESIGN, *small, "--out", str(plotted), "--overwrite")
    assert cxm(*again, "--plot")[0] == 0
    assert {p.name for p in plotted.iterdir()} == files
    assert cxm(*again)[0] == 0
    assert not list(plotted.glob("*.png"))
