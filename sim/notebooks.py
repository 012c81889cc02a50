"""The notebook suite: find the notebooks, run them with papermill and render them to HTML.

Every notebook of ``notebooks/`` (and of ``notebooks/lessons/`` when that folder exists)
declares itself in its notebook metadata, under ``cxm``::

    {"track": "lesson", "title": "Quickstart: ...", "question": "How ...?",
     "quick": {"replications": 2, "months": 6}}

- ``track``: who it is for, one of `TRACKS`: ``strategist`` (a report for decision makers,
  rendered without its code), ``research`` (an analysis, code shown) or ``lesson`` (teaching,
  code shown);
- ``title``: one line, and ``question``: the question the notebook answers;
- ``quick``: the parameters ``--quick`` injects for a small, fast run (optional);
- ``requires``: the modules it imports beyond the project's own dependencies, by importable
  name, e.g. ``["pymc_marketing"]`` (optional; `EXTRAS` names the project extra that installs
  each);
- ``several_firms``: true if it reads a scenario of several firms (``firms:``) firm by firm
  (optional; a notebook that does not refuses such a scenario before anything runs).

A notebook whose required modules cannot be found (`importlib.util.find_spec`, checked before
anything runs) is not run. Selected by its track (or ``all``) it is skipped: `run_suite`
reports it with status ``skipped`` (`Report.skipped` says what is missing and the install
command, e.g. ``pip install -e ".[clv]"``; ``cxm notebooks`` prints that on one line of
standard error, ``-q`` or not), lists it so in ``index.json`` and ``index.html``, and the
others run; a suite with nothing failed but something skipped still succeeds (exit status 0),
so the core suite runs in an environment without the optional extras. Named explicitly, it
is bad input: one line naming the module and the install command, and nothing is written
(exit status 2), since the run asked for cannot be made.

Its parameters are the cell tagged ``parameters`` (read with `papermill.inspect_notebook`).
`run_suite` checks everything first (the notebooks, the track, every injected parameter, the
scenario a notebook names, the output folder), so bad input is refused before any notebook
runs and nothing is written. It then executes each notebook from the project root with
papermill (``MPLBACKEND=Agg`` for the kernel), renders it to a standalone HTML file
(figures embedded as data URIs) and writes ``index.html`` and ``index.json`` (what each
notebook answers, the parameters it ran with, the scenario's sha256, the git commit, its
time, ok or failed) and ``manifest.json`` (provenance, and the files the folder holds).

A notebook that fails does not stop the others: its executed (partial) notebook and its HTML
are still written, and its report names the cell and the error. The output folder follows
`sim.output_paths`: it is written whole (staged beside the target, then renamed into place),
and replaces only a previous notebook suite (or other cxm result) when asked.
"""

from __future__ import annotations

import ast
import contextlib
import html
import importlib.util
import keyword
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim import PROJECT_ROOT, output_paths, results
from sim.choices import ALL_TRACKS, TRACKS
from sim.errors import CXMError, OptionError, bounded_repr, one_line
from sim.scenario import load_scenario
from sim.scenario.reading import YAMLReadError, parse_yaml

if TYPE_CHECKING:
    import nbformat

NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
"""The folder of the suite (its ``lessons/`` sub-folder is part of it)."""
LESSONS = "lessons"
"""Sub-folder of `NOTEBOOKS_DIR` whose notebooks also belong to the suite."""
OUT_NAME = "notebooks"
"""Name of the default output folder in the results folder (``results/notebooks``)."""
SCENARIO_PARAMETER = "scenario_path"
"""The parameter naming a notebook's scenario file (relative paths: from the project root)."""
HIDDEN_INPUT_TRACKS = ("strategist",)
"""Tracks whose reports show outputs only."""
INDEX_FILES = ("index.html", "index.json")
"""The files of the suite's index."""
RESERVED_NAMES = ("index", "manifest")
"""Names a notebook may not have: its files would clash with the index or the manifest."""
KERNEL_LOG_LEVEL = "--IPKernelApp.log_level=ERROR"
"""Keeps the kernel's own start-up warnings off the terminal (cell output is unaffected)."""
PACKAGES = (*results.PACKAGES, "papermill", "nbconvert", "nbclient", "ipykernel", "matplotlib")
"""Packages whose versions the suite's manifest records."""
EXTRAS: dict[str, str] = {"pymc_marketing": "clv"}
"""The project extra (``pyproject.toml``) that installs an optional module a notebook
requires; a module not listed here is installed by its own name."""
_ERROR_MARKER_TAG = "papermill-error-cell-tag"
"""Tag of the cells papermill adds to a failed notebook to point at the error."""
_INJECTED_TAG = "injected-parameters"


@dataclass(frozen=True)
class Notebook:
    """A notebook of the suite, as its metadata declares it.

    Attributes:
        name: the file's stem, e.g. ``00_quickstart``.
        path: the notebook file.
        track: one of `TRACKS`.
        title: one line.
        question: what the notebook answers.
        quick: the parameters ``--quick`` injects.
        defaults: its parameters cell, name → default value (the source text when the
            default is not a literal).
        kernel: the Jupyter kernel it runs on.
        requires: modules it needs beyond the project's dependencies (importable names).
        several_firms: whether it reads a scenario of several firms (``firms:``) firm by
            firm; one that does not refuses such a scenario before anything runs.
    """

    name: str
    path: Path
    track: str
    title: str
    question: str
    quick: dict[str, Any]
    defaults: dict[str, Any]
    kernel: str
    requires: tuple[str, ...] = ()
    several_firms: bool = False


@dataclass(frozen=True)
class Failure:
    """Why a notebook failed.

    Attributes:
        cell: the failing cell's position in the notebook (1 for the first cell), or None
            when the failure belongs to no cell (the kernel did not start or died).
        execution_count: its ``In [n]`` number in the executed notebook, if any.
        error: the exception's name, e.g. ``ValueError``.
        message: the exception's message (one line).
    """

    cell: int | None
    execution_count: int | None
    error: str
    message: str

    def __str__(self) -> str:
        where = "" if self.cell is None else f"cell {self.cell}"
        if self.execution_count is not None:
            where += f" (In [{self.execution_count}])"
        where = f"{where.strip()} raised " if where else ""
        return f"{where}{self.error}: {self.message}" if self.message else f"{where}{self.error}"


@dataclass
class Report:
    """One executed notebook.

    Attributes:
        notebook: the notebook.
        parameters: every parameter it ran with (defaults, then the injected ones).
        injected: the parameters injected into it (``--quick``'s, then ``-p``).
        scenario_sha256: the sha256 of the scenario its `SCENARIO_PARAMETER` names, if any.
        seconds: wall time of its execution.
        failure: why it failed, or None.
        executed: file name of the executed notebook in the output folder (None if papermill
            wrote none).
        html: file name of its HTML report (None likewise).
        skipped: why it was not run (a module it requires is missing), or None.
    """

    notebook: Notebook
    parameters: dict[str, Any]
    injected: dict[str, Any]
    scenario_sha256: str | None
    seconds: float
    failure: Failure | None = None
    executed: str | None = None
    html: str | None = None
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        """Whether it ran and every cell ran without an error."""
        return self.failure is None and self.skipped is None

    @property
    def status(self) -> str:
        """``ok``, ``failed`` or ``skipped``."""
        if self.skipped is not None:
            return "skipped"
        return "ok" if self.ok else "failed"

    def line(self) -> str:
        """One line: name, seconds, ok or failed (and where and why), or skipped and why."""
        if self.skipped is not None:
            return f"{self.notebook.name}: skipped: {self.skipped}"
        text = f"{self.notebook.name}: {self.status} in {self.seconds:.1f} s"
        return text if self.failure is None else f"{text}: {self.failure}"


@dataclass
class Suite:
    """The notebooks a `run_suite` call executed, and where it wrote them.

    Attributes:
        out: the output folder.
        reports: one per notebook, in the order they ran.
        git_commit: the project's commit (``unknown`` outside git).
    """

    out: Path
    reports: list[Report] = field(default_factory=list)
    git_commit: str = "unknown"

    @property
    def failed(self) -> list[Report]:
        """The reports of the notebooks that failed."""
        return [report for report in self.reports if report.failure is not None]

    @property
    def skipped(self) -> list[Report]:
        """The reports of the notebooks skipped for a missing module."""
        return [report for report in self.reports if report.skipped is not None]


@dataclass(frozen=True)
class _Plan:
    notebook: Notebook
    injected: dict[str, Any]
    scenario_sha256: str | None


# ------------------------------------------------------------------------ discovery


def discover(notebooks_dir: str | os.PathLike[str] | None = None) -> dict[str, Notebook]:
    """Every notebook of the suite by name: ``*.ipynb`` of `notebooks_dir` (default
    `NOTEBOOKS_DIR`) and of its ``lessons/`` sub-folder, in file-name order.

    Raises:
        CXMError: a notebook that cannot be read, lacks or misstates its ``cxm`` metadata,
            has a reserved name, or shares its name with another.
    """
    folder = Path(NOTEBOOKS_DIR if notebooks_dir is None else notebooks_dir)
    if not folder.is_dir():
        raise CXMError(f"{folder}: no such folder of notebooks")
    found: dict[str, Notebook] = {}
    for sub in (folder, folder / LESSONS):
        if not sub.is_dir():
            continue
        for path in sorted(sub.glob("*.ipynb")):
            if path.name.startswith("."):
                continue
            notebook = read_notebook(path)
            if notebook.name in found:
                raise CXMError(
                    f"{path}: a notebook named {notebook.name!r} is already at "
                    f"{found[notebook.name].path}; names must differ"
                )
            found[notebook.name] = notebook
    return found


def read_notebook(path: str | os.PathLike[str]) -> Notebook:
    """A notebook of the suite, from its file.

    Raises:
        CXMError: the file is not a notebook, or its ``cxm`` metadata is missing or wrong
            (the message names the file and the field).
    """
    import nbformat

    path = Path(path)
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # unreadable, not JSON, not a notebook
        raise CXMError(f"{path}: not a readable notebook ({one_line(exc, 200)})") from None
    name = path.stem
    if name in RESERVED_NAMES:
        raise CXMError(
            f"{path}: a notebook may not be named {name!r} (its report would replace the "
            "suite's index or manifest); rename it"
        )
    meta = nb.metadata.get("cxm")
    if not isinstance(meta, Mapping):
        raise CXMError(
            f"{path}: its notebook metadata has no 'cxm' entry; give it "
            '{"track": ..., "title": ..., "question": ..., "quick": {...}} '
            "(see notebooks/README.md)"
        )
    track = meta.get("track")
    if track not in TRACKS:
        raise CXMError(
            f"{path}: metadata 'cxm.track': got {bounded_repr(track)}; allowed: {', '.join(TRACKS)}"
        )
    texts = {}
    for key in ("title", "question"):
        value = meta.get(key)
        if not isinstance(value, str) or not value.strip():
            raise CXMError(f"{path}: metadata 'cxm.{key}': got {bounded_repr(value)}; give text")
        texts[key] = " ".join(value.split())
    quick = meta.get("quick", {})
    if not isinstance(quick, Mapping):
        raise CXMError(
            f"{path}: metadata 'cxm.quick': got {bounded_repr(quick)}; give a mapping of "
            "parameter names to values"
        )
    defaults = notebook_parameters(path)
    for key in quick:
        if key not in defaults:
            raise CXMError(
                f"{path}: metadata 'cxm.quick' sets {key!r}, which its parameters cell does not "
                f"define ({_parameters_text(defaults)})"
            )
    kernel = nb.metadata.get("kernelspec", {}).get("name") or "python3"
    requires = meta.get("requires", [])
    if not isinstance(requires, list) or not all(
        isinstance(module, str) and all(part.isidentifier() for part in module.split("."))
        for module in requires
    ):
        raise CXMError(
            f"{path}: metadata 'cxm.requires': got {bounded_repr(requires)}; give a list of "
            'importable module names, e.g. ["pymc_marketing"]'
        )
    several_firms = meta.get("several_firms", False)
    if not isinstance(several_firms, bool):
        raise CXMError(
            f"{path}: metadata 'cxm.several_firms': got {bounded_repr(several_firms)}; give "
            "true or false"
        )
    return Notebook(
        name,
        path,
        track,
        texts["title"],
        texts["question"],
        dict(quick),
        defaults,
        kernel,
        tuple(requires),
        several_firms,
    )


def missing_modules(notebook: Notebook) -> list[str]:
    """The modules `notebook` requires that cannot be found here (none are imported)."""
    missing = []
    for module in notebook.requires:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):  # a parent package is missing
            found = False
        if not found:
            missing.append(module)
    return missing


def install_command(modules: Sequence[str]) -> str:
    """The command that installs `modules`: the project's extras that hold them (`EXTRAS`),
    else the modules by name."""
    extras = [EXTRAS[m] for m in modules if m in EXTRAS]
    others = [m for m in modules if m not in EXTRAS]
    commands = [f'pip install -e ".[{",".join(dict.fromkeys(extras))}]"'] if extras else []
    commands += [f"pip install {' '.join(others)}"] if others else []
    return " and ".join(commands)


def _missing_text(modules: Sequence[str]) -> str:
    return (
        f"needs {', '.join(modules)}, which {'is' if len(modules) == 1 else 'are'} not "
        f"installed; install with `{install_command(modules)}`"
    )


def notebook_parameters(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The parameters cell of a notebook (the cell tagged ``parameters``), name → default
    value: a Python literal as its value, anything else as its source text."""
    import papermill

    try:
        inspected = papermill.inspect_notebook(Path(path))
    except Exception as exc:  # a parameters cell papermill cannot read
        raise CXMError(
            f"{path}: its parameters cell cannot be read ({one_line(exc, 200)})"
        ) from None
    return {name: _literal(entry.get("default")) for name, entry in inspected.items()}


def _literal(source: Any) -> Any:
    if not isinstance(source, str):
        return source
    try:
        return ast.literal_eval(source)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return source


def select(
    notebooks: Mapping[str, Notebook], names: Sequence[str] = (), track: str = ALL_TRACKS
) -> list[Notebook]:
    """The notebooks named (by file stem, ``.ipynb`` allowed) or, when none are, every
    notebook of `track`.

    Raises:
        OptionError: an unknown track, or a track no notebook has.
        CXMError: an unknown name, or a named notebook of another track than `track`.
    """
    if track != ALL_TRACKS and track not in TRACKS:
        raise OptionError(
            "track", f"got {bounded_repr(track)}; choose from {', '.join((*TRACKS, ALL_TRACKS))}"
        )
    if not names:
        chosen = [nb for nb in notebooks.values() if track in (ALL_TRACKS, nb.track)]
        if not chosen:
            tracks = sorted({nb.track for nb in notebooks.values()})
            raise OptionError(
                "track",
                f"no notebook of the {track} track (the notebooks' tracks: "
                f"{', '.join(tracks) or 'none, there are no notebooks'})",
            )
        return chosen
    chosen = []
    for given in dict.fromkeys(names):
        name = given.removesuffix(".ipynb")
        if name not in notebooks:
            raise CXMError(
                f"no notebook named {bounded_repr(given)}; the notebooks are: "
                f"{', '.join(notebooks) or 'none'}"
            )
        notebook = notebooks[name]
        if track not in (ALL_TRACKS, notebook.track):
            raise CXMError(
                f"notebook {name} is of the {notebook.track} track, not {track}; drop "
                "--track or the name"
            )
        chosen.append(notebook)
    return chosen


# ------------------------------------------------------------------------ parameters


def parse_parameters(texts: Sequence[str]) -> dict[str, Any]:
    """``-p KEY=VALUE`` options as a mapping, each value read as YAML (as ``--set`` reads
    its values): a number, text, true/false, null, a list or a mapping.

    Raises:
        OptionError: a text that is not KEY=VALUE with a Python name as KEY and a readable
            value, or a key given twice.
    """
    given: dict[str, Any] = {}
    for text in texts:
        key, sep, value_text = str(text).partition("=")
        key = key.strip()
        shown = bounded_repr(text)
        if not sep or not value_text.strip():
            raise OptionError(
                "parameters", f"got {shown}; expected KEY=VALUE, e.g. -p replications=3"
            )
        if not key.isidentifier() or keyword.iskeyword(key):
            raise OptionError(
                "parameters", f"got {shown}; KEY must be a Python name, e.g. replications"
            )
        if key in given:
            raise OptionError("parameters", f"{key!r} is given twice")
        try:
            value = parse_yaml(value_text)
        except YAMLReadError as exc:
            raise OptionError(
                "parameters", f"got {shown}; the value is not readable YAML: {exc}"
            ) from None
        if not _plain(value):
            raise OptionError(
                "parameters",
                f"got {shown}; the value must be a number, text, true/false, null, a list or a "
                "mapping (quote a date or time to pass it as text)",
            )
        given[key] = value
    return given


def _plain(value: Any) -> bool:
    if value is None or isinstance(value, bool | int | float | str):
        return True
    if isinstance(value, list):
        return all(_plain(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def injected_parameters(
    notebook: Notebook, quick: bool = False, given: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """What papermill injects into `notebook`: its quick parameters when `quick`, then
    `given`.

    Raises:
        OptionError: a key of `given` that the notebook's parameters cell does not define.
    """
    given = dict(given or {})
    for key in given:
        if key not in notebook.defaults:
            raise OptionError(
                "parameters",
                f"{key!r} is not a parameter of notebook {notebook.name} "
                f"({_parameters_text(notebook.defaults)})",
            )
    return (dict(notebook.quick) if quick else {}) | given


def _parameters_text(defaults: Mapping[str, Any]) -> str:
    if not defaults:
        return "it has no parameters cell"
    return "its parameters: " + ", ".join(defaults)


def scenario_sha256(notebook: Notebook, parameters: Mapping[str, Any]) -> str | None:
    """The sha256 of the scenario the notebook's `SCENARIO_PARAMETER` names (a relative path
    read from the project root, as the notebooks read it), or None if it has no such
    parameter. It is the hash of the file as loaded (`sim.load_scenario`), before any change
    the notebook itself makes (such as its ``months`` parameter).

    Raises:
        CXMError: the scenario cannot be loaded (the message names the notebook and the
            file).
    """
    if SCENARIO_PARAMETER not in notebook.defaults:
        return None
    value = parameters.get(SCENARIO_PARAMETER, notebook.defaults[SCENARIO_PARAMETER])
    if not isinstance(value, str) or not value.strip():
        raise OptionError(
            "parameters",
            f"notebook {notebook.name}: {SCENARIO_PARAMETER} is {bounded_repr(value)}; give "
            "the path of a scenario file",
        )
    path = Path(value)
    if not path.is_absolute():
        path = PROJECT_ROOT / path
    try:
        scenario = load_scenario(path)
    except CXMError as exc:
        raise CXMError(f"notebook {notebook.name}: {SCENARIO_PARAMETER}: {exc}") from None
    if scenario.firms is not None and len(scenario.firms) > 1 and not notebook.several_firms:
        raise CXMError(
            f"notebook {notebook.name}: {SCENARIO_PARAMETER}: {value} names several firms; this "
            "notebook studies one firm (00_quickstart, `cxm run` and `cxm compare` report "
            "each firm of a market)"
        )
    return scenario.sha256


def check_kernels(notebooks: Sequence[Notebook]) -> None:
    """Every notebook's kernel is installed.

    Raises:
        CXMError: one is not.
    """
    from jupyter_client.kernelspec import find_kernel_specs

    installed = find_kernel_specs()
    for notebook in notebooks:
        if notebook.kernel not in installed:
            raise CXMError(
                f"notebook {notebook.name}: its Jupyter kernel {notebook.kernel!r} is not "
                "installed; run `python -m ipykernel install --sys-prefix --name python3` in "
                "this environment (`make env` does it)"
            )


# ------------------------------------------------------------------------ running


def run_suite(
    names: Sequence[str] = (),
    track: str = ALL_TRACKS,
    quick: bool = False,
    parameters: Mapping[str, Any] | None = None,
    out: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    *,
    notebooks_dir: str | os.PathLike[str] | None = None,
    started: Callable[[Notebook], object] | None = None,
    finished: Callable[[Report], object] | None = None,
    report: Callable[[str], object] | None = None,
    command: list[str] | None = None,
) -> Suite:
    """Execute notebooks of the suite and write them, their HTML reports and the index.

    Args:
        names: the notebooks to run, by file stem; none: every notebook of `track`.
        track: one of `TRACKS`, or ``all``.
        quick: inject each notebook's quick parameters (a small, fast run).
        parameters: parameters injected into every notebook (after the quick ones); each
            must be defined by every notebook's parameters cell.
        out: the output folder (default ``results/notebooks``, see `sim.output_paths`).
        overwrite: whether a previous result there may be replaced.
        notebooks_dir: the folder of the suite (default `NOTEBOOKS_DIR`).
        started: called with each notebook as it starts.
        finished: called with each notebook's report as it finishes.
        report: called with one line per repair of the output path (see
            `sim.output_paths.claim`).
        command: the command line, for the manifest.

    Returns:
        The reports; a failing notebook is one of them (`Suite.failed`), not an exception.

    Raises:
        CXMError: bad input, found before any notebook runs (nothing is written then).
    """
    chosen = select(discover(notebooks_dir), names, track)
    missing = {nb.name: found for nb in chosen if (found := missing_modules(nb))}
    if names and missing:
        name, modules = next(iter(missing.items()))
        raise CXMError(f"notebook {name} {_missing_text(modules)}")
    given = dict(parameters or {})
    plans = []
    for notebook in chosen:
        injected = injected_parameters(notebook, quick, given)
        plans.append(_Plan(notebook, injected, scenario_sha256(notebook, injected)))
    check_kernels(chosen)
    target = output_paths.chosen_path(out, OUT_NAME)
    suite = Suite(target)
    begun = datetime.now(UTC)
    with (
        output_paths.claim(target, overwrite=overwrite, report=report),
        output_paths.replace_directory(target, overwrite) as staging,
    ):
        for plan in plans:
            if plan.notebook.name in missing:
                done = Report(
                    plan.notebook,
                    plan.notebook.defaults | plan.injected,
                    plan.injected,
                    plan.scenario_sha256,
                    0.0,
                    skipped=_missing_text(missing[plan.notebook.name]),
                )
                suite.reports.append(done)
                if finished is not None:
                    finished(done)
                continue
            if started is not None:
                started(plan.notebook)
            done = _execute(plan, staging, target)
            suite.reports.append(done)
            if finished is not None:
                finished(done)
        about = results.provenance(begun, datetime.now(UTC), command, PACKAGES)
        suite.git_commit = about["git_commit"] or "unknown"
        index = index_data(suite, quick, track)
        output_paths.atomic_write(
            staging / "index.json", lambda path: path.write_text(results.json_text(index))
        )
        page = index_html(index)
        output_paths.atomic_write(
            staging / "index.html", lambda path: path.write_text(page, encoding="utf-8")
        )
        files = sorted(entry.name for entry in staging.iterdir() if not entry.name.startswith("."))
        manifest = {
            "kind": "notebooks",
            "files": files,
            "notebooks": [r.notebook.name for r in suite.reports],
            "failed": [r.notebook.name for r in suite.failed],
            "skipped": [r.notebook.name for r in suite.skipped],
        } | about
        output_paths.atomic_write(
            staging / "manifest.json", lambda path: path.write_text(results.json_text(manifest))
        )
    return suite


@contextlib.contextmanager
def _environment(**values: str) -> Iterator[None]:
    """Set environment variables (which the kernel inherits) for the block."""
    before = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _execute(plan: _Plan, staging: Path, target: Path) -> Report:
    """Run one notebook into `staging`; write its executed copy and its HTML there."""
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    notebook = plan.notebook
    running = staging / f".{notebook.name}.running.ipynb"
    failure = None
    clock = time.perf_counter()
    try:
        with _environment(MPLBACKEND="Agg"):
            papermill.execute_notebook(
                str(notebook.path),
                str(running),
                parameters=plan.injected,
                kernel_name=notebook.kernel,
                cwd=str(PROJECT_ROOT),
                progress_bar=False,
                extra_arguments=[KERNEL_LOG_LEVEL],
            )
    except PapermillExecutionError as exc:
        failure = Failure(None, exc.exec_count, str(exc.ename), _message(exc.evalue))
    except Exception as exc:  # the kernel did not start, died or timed out
        failure = Failure(None, None, type(exc).__name__, _message(exc))
    seconds = round(time.perf_counter() - clock, 2)
    planned = notebook.defaults | plan.injected
    done = Report(notebook, planned, plan.injected, plan.scenario_sha256, seconds, failure)
    if not running.exists():  # papermill wrote nothing: the notebook could not be read
        return done
    executed = nbformat.read(running, as_version=4)
    done.parameters = executed_parameters(running, executed)
    running.unlink()
    if failure is not None:
        cell = _failing_cell(executed)
        done.failure = Failure(cell, failure.execution_count, failure.error, failure.message)
    executed.metadata.setdefault("papermill", {})["output_path"] = str(
        target / f"{notebook.name}.ipynb"
    )
    done.executed = f"{notebook.name}.ipynb"
    output_paths.atomic_write(
        staging / done.executed, lambda path: nbformat.write(executed, str(path))
    )
    page = render_html(executed, notebook)
    done.html = f"{notebook.name}.html"
    output_paths.atomic_write(
        staging / done.html, lambda path: path.write_text(page, encoding="utf-8")
    )
    return done


def _message(value: object) -> str:
    return one_line(str(value).strip(), 300)


def _failing_cell(nb: nbformat.NotebookNode) -> int | None:
    """The position (1 for the first cell) in the notebook as written of the first cell that
    failed in its executed copy, not counting the cells papermill added."""
    position = 0
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if _ERROR_MARKER_TAG in tags or _INJECTED_TAG in tags:
            continue
        position += 1
        failed = any(o.get("output_type") == "error" for o in cell.get("outputs", []))
        if failed or cell.get("metadata", {}).get("papermill", {}).get("exception") is True:
            return position
    return None


def executed_parameters(path: str | os.PathLike[str], nb: nbformat.NotebookNode) -> dict[str, Any]:
    """Every parameter the executed notebook `nb` (read from `path`) ran with: its parameters
    cell's defaults, then what papermill injected (as its metadata records)."""
    injected = nb.metadata.get("papermill", {}).get("parameters", {})
    return notebook_parameters(path) | dict(injected)


def render_html(nb: nbformat.NotebookNode, notebook: Notebook) -> str:
    """The executed notebook as one standalone HTML page titled with the notebook's title;
    figures are embedded as data URIs; a strategist report hides the code."""
    from nbconvert import HTMLExporter

    hidden = notebook.track in HIDDEN_INPUT_TRACKS
    exporter = HTMLExporter(
        exclude_input=hidden, exclude_input_prompt=hidden, exclude_output_prompt=hidden
    )
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": notebook.title}})
    return body


# ------------------------------------------------------------------------ the index


def index_data(suite: Suite, quick: bool = False, track: str = ALL_TRACKS) -> dict[str, Any]:
    """What ``index.json`` holds: the git commit, and for each notebook its title, track,
    question, parameters (all, and which were injected), scenario sha256, files, time and
    status (with the failing cell and error)."""
    entries = []
    for done in suite.reports:
        failure = done.failure
        entries.append(
            {
                "name": done.notebook.name,
                "title": done.notebook.title,
                "track": done.notebook.track,
                "question": done.notebook.question,
                "source": _shown(done.notebook.path),
                "executed": done.executed,
                "html": done.html,
                "parameters": done.parameters,
                "injected": done.injected,
                "scenario_sha256": done.scenario_sha256,
                "git_commit": suite.git_commit,
                "seconds": done.seconds,
                "status": done.status,
                "skipped": done.skipped,
                "error": None
                if failure is None
                else {
                    "cell": failure.cell,
                    "execution_count": failure.execution_count,
                    "name": failure.error,
                    "message": failure.message,
                },
            }
        )
    return {
        "kind": "notebooks-index",
        "git_commit": suite.git_commit,
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "track": track,
        "quick": quick,
        "ok": sum(1 for r in suite.reports if r.ok),
        "failed": len(suite.failed),
        "skipped": len(suite.skipped),
        "notebooks": entries,
    }


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #222; }
h1 { font-size: 1.6rem; } .meta { color: #555; }
table { border-collapse: collapse; width: 100%; margin-top: 1rem; }
th, td { border-bottom: 1px solid #ddd; padding: .5rem; text-align: left; vertical-align: top; }
th { background: #f5f5f5; } code { font-size: .85rem; } ul { margin: 0; padding-left: 1rem; }
.ok { color: #0a6b2d; font-weight: 600; } .failed { color: #b00020; font-weight: 600; }
.skipped { color: #8a5a00; font-weight: 600; }
.injected { font-weight: 600; }
"""


def index_html(index: Mapping[str, Any]) -> str:
    """``index.html``: a table linking every report, from `index_data`'s facts."""
    e = html.escape
    rows = []
    for entry in index["notebooks"]:
        title = e(entry["title"])
        link = f'<a href="{e(entry["html"])}">{title}</a>' if entry["html"] else title
        if entry["executed"]:
            link += f' <span class="meta">(<a href="{e(entry["executed"])}">notebook</a>)</span>'
        params = "".join(
            f"<li{' class=injected' if key in entry['injected'] else ''}>"
            f"<code>{e(key)} = {e(repr(value))}</code></li>"
            for key, value in entry["parameters"].items()
        )
        sha = entry["scenario_sha256"]
        status = f'<span class="{e(entry["status"])}">{e(entry["status"])}</span>'
        error = entry["error"]
        if error is not None:
            where = f"cell {error['cell']}" if error["cell"] is not None else ""
            if error["execution_count"] is not None:
                where += f" (In [{error['execution_count']}])"
            status += (
                f"<br>{e(where.strip())} <code>{e(error['name'])}: {e(error['message'])}</code>"
            )
        if entry.get("skipped"):
            status += f"<br>{e(entry['skipped'])}"
        rows.append(
            "<tr>"
            f"<td>{link}<br><span class=meta>{e(entry['name'])}</span></td>"
            f"<td>{e(entry['track'])}</td>"
            f"<td>{e(entry['question'])}</td>"
            f"<td><ul>{params}</ul></td>"
            f"<td>{f'<code title={e(sha)}>{e(sha[:12])}</code>' if sha else '—'}</td>"
            f"<td><code title={e(entry['git_commit'])}>{e(entry['git_commit'][:12])}</code></td>"
            f"<td>{entry['seconds']:.1f}</td>"
            f"<td>{status}</td>"
            "</tr>"
        )
    summary = f"{index['ok']} ok, {index['failed']} failed"
    if index.get("skipped"):
        summary += f", {index['skipped']} skipped"
    quick = " with --quick parameters" if index["quick"] else ""
    return (
        "<!DOCTYPE html>\n<html lang=en>\n<head>\n<meta charset=utf-8>\n"
        "<title>CXM Lab notebooks</title>\n"
        f"<style>{_STYLE}</style>\n</head>\n<body>\n"
        "<h1>CXM Lab notebooks</h1>\n"
        f"<p class=meta>{e(summary)}{e(quick)}; git commit <code>{e(index['git_commit'])}</code>; "
        f"generated {e(index['generated'])}. Parameters in bold were injected; the others are "
        "the notebook's defaults. Machine-readable: <a href=index.json>index.json</a>.</p>\n"
        "<table>\n<tr><th>report</th><th>track</th><th>question</th><th>parameters</th>"
        "<th>scenario sha256</th><th>git commit</th><th>seconds</th><th>status</th></tr>\n"
        + "\n".join(rows)
        + "\n</table>\n</body>\n</html>\n"
    )
