"""Output paths: nothing of a user's is lost, one writer at a time, interrupted replacements
repaired (kill -9 injected at every step), no leftovers after failures."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sim import output_paths
from sim.cli.main import main
from sim.errors import CXMError
from sim.results import PROJECT_ROOT

BASELINE = str(PROJECT_ROOT / "scenarios" / "baseline.yaml")
SMALL = ["--set", "market.size=800", "--months", "3", "-r", "2", "-q"]


def tree(root: Path) -> dict[str, str]:
    """Every path under `root` (hidden ones included) with the digest of its content."""
    found = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        found[key] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return found


def run(out: Path | str, *extra: str, seed: int = 1) -> int:
    return main(["run", BASELINE, *SMALL, "--seed", str(seed), "--out", str(out), *extra])


def test_a_users_folder_is_refused_and_left_as_it_was(tmp_path, capsys):
    folder = tmp_path / "userdata"
    folder.mkdir()
    (folder / "notes.txt").write_text("notes")
    (folder / "manifest.json").write_text('{"mine": true}')  # a manifest, but not ours
    before = tree(tmp_path)
    for extra in ((), ("--overwrite",)):
        assert run(folder, *extra) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "--out" in err and str(folder) in err
        assert "not a cxm result" in err
        assert tree(tmp_path) == before


def test_a_file_is_refused_and_left_as_it_was(tmp_path, capsys):
    file = tmp_path / "existing.txt"
    file.write_text("precious")
    before = tree(tmp_path)
    for out in (file, file / "sub"):
        for extra in ((), ("--overwrite",)):
            assert run(out, *extra) == 2
            assert "not a folder" in capsys.readouterr().err
            assert tree(tmp_path) == before


@pytest.mark.slow
def test_a_previous_result_is_replaced_only_with_overwrite(tmp_path, capsys):
    out = tmp_path / "result"
    assert run(out, seed=1) == 0
    first = tree(out)
    assert json.loads((out / "manifest.json").read_text())["kind"] == "run"
    assert run(out, seed=2) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert tree(out) == first
    assert run(out, "--overwrite", seed=2) == 0
    assert json.loads((out / "manifest.json").read_text())["seed"] == 2
    assert tree(out)["timeseries.parquet"] != first["timeseries.parquet"]
    (out / "notes.txt").write_text("a user's note put into a result")
    before = tree(tmp_path)
    assert run(out, "--overwrite", seed=3) == 2
    assert "holds notes.txt" in capsys.readouterr().err
    assert tree(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result"]  # no lock, no leftovers


@pytest.mark.slow
def test_an_empty_folder_and_missing_parents_are_fine(tmp_path):
    (tmp_path / "empty").mkdir()
    assert run(tmp_path / "empty") == 0
    assert run(tmp_path / "a" / "b" / "c") == 0
    assert (tmp_path / "a" / "b" / "c" / "manifest.json").exists()


@pytest.mark.slow
def test_default_results_go_to_the_working_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(output_paths.RESULTS_DIR_ENV, raising=False)
    assert main(["run", BASELINE, *SMALL]) == 0
    assert "written to results/baseline" in capsys.readouterr().out
    assert (tmp_path / "results" / "baseline" / "manifest.json").exists()
    elsewhere = tmp_path / "configured"
    monkeypatch.setenv(output_paths.RESULTS_DIR_ENV, str(elsewhere))
    assert main(["run", BASELINE, *SMALL]) == 0
    assert (elsewhere / "baseline" / "manifest.json").exists()


@pytest.mark.parametrize("name", [".", "..", ".hidden", "a/b", "", "..."])
def test_default_paths_stay_inside_the_results_folder(name, tmp_path, monkeypatch):
    monkeypatch.setenv(output_paths.RESULTS_DIR_ENV, str(tmp_path / "results"))
    with pytest.raises(CXMError, match="cannot name a result folder"):
        output_paths.default_path(name)


def test_a_link_out_of_the_results_folder_is_refused(tmp_path, monkeypatch):
    results = tmp_path / "results"
    results.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (results / "baseline").symlink_to(tmp_path / "elsewhere")
    monkeypatch.setenv(output_paths.RESULTS_DIR_ENV, str(results))
    with pytest.raises(CXMError, match="leads outside"):
        output_paths.default_path("baseline")


def test_failure_inside_the_write_leaves_nothing(tmp_path):
    target = tmp_path / "new" / "deeper" / "result"
    with pytest.raises(RuntimeError), output_paths.replace_directory(target) as staging:
        (staging / "timeseries.parquet").write_text("half")
        raise RuntimeError("the writer failed")
    assert list(tmp_path.iterdir()) == []  # no staging, no lock, no parents created for it


HOLDER = """
import sys, time
from sim.output_paths import claim
with claim(sys.argv[1]):
    print("held", flush=True)
    time.sleep(60)
"""


@pytest.mark.slow
def test_a_second_writer_stops_at_once(tmp_path, capsys):
    out = tmp_path / "shared"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(out)], stdout=subprocess.PIPE, text=True,
        cwd=PROJECT_ROOT,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        start = time.perf_counter()
        assert run(out, "--overwrite") == 2
        captured = capsys.readouterr()
        assert "another cxm command is writing" in captured.err
        assert "active customers" not in captured.out  # refused before simulating
        assert time.perf_counter() - start < 30
    finally:
        holder.kill()
        holder.wait()
    assert not out.exists()
    assert run(out) == 0  # the dead holder's lock does not stand in the way


# A replacement killed with SIGKILL at one of its steps, in a forked child: the new result
# is written into the staging folder; `os.rename` moves the previous result away (call 1)
# and the new one in (call 2); `shutil.rmtree` then removes the previous result.
STEPS = ["while_staging", "before_move_old", "before_move_new", "before_remove_old"]


def replace_and_die(target: Path, step: str, new_files: dict[str, bytes]) -> None:
    """In a forked child: replace `target` by `new_files`, killed at `step`."""
    real_rename, real_rmtree = os.rename, shutil.rmtree
    calls = []

    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    def rename(src, dst):
        calls.append(src)
        if (step, len(calls)) in (("before_move_old", 1), ("before_move_new", 2)):
            die()
        return real_rename(src, dst)

    def rmtree(path, *args, **kwargs):
        if step == "before_remove_old" and str(path).endswith(".old"):
            die()
        return real_rmtree(path, *args, **kwargs)

    os.rename, shutil.rmtree = rename, rmtree
    with output_paths.replace_directory(target, overwrite=True) as staging:
        for i, (name, content) in enumerate(new_files.items()):
            if step == "while_staging" and i == 1:
                die()
            (staging / name).write_bytes(content)
    os._exit(0)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:This process .* fork:DeprecationWarning")
@pytest.mark.parametrize("step", STEPS)
def test_kill_at_each_step_of_a_replacement_is_repaired(step, tmp_path, capsys):
    out = tmp_path / "result"
    assert run(out, seed=1) == 0
    previous = tree(out)
    new_files = {name: b"new " + name.encode() for name in previous}
    new_files["manifest.json"] = json.dumps({"kind": "run", "seed": 9}).encode()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child never returns
        try:
            replace_and_die(out, step, new_files)
        finally:
            os._exit(1)
    _, status = os.waitpid(child, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "result"]
    assert any(name.endswith((".partial", ".old")) for name in leftovers), leftovers
    # The next command on the path repairs first, then decides: without --overwrite it
    # refuses (the previous or the new result is there), and says what it repaired.
    assert run(out, seed=5) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result"]
    if step == "before_move_new":
        assert "put back the previous result" in err[0]
    if step == "before_remove_old":
        assert tree(out) == {name: hashlib.sha256(c).hexdigest() for name, c in new_files.items()}
    else:
        assert tree(out) == previous  # the previous result, whole
    assert all(line.startswith("note: ") for line in err[:-1]) and len(err) >= 2
    assert err[-1].startswith("error: --out:")


@pytest.mark.slow
def test_a_killed_command_line_run_is_repaired(tmp_path, capsys):
    """The same, end to end: `cxm run --overwrite` killed as it moves the new result in."""
    out = tmp_path / "result"
    assert run(out, seed=1) == 0
    previous = tree(out)
    killed = subprocess.run(
        [sys.executable, "-c", KILLER, str(out), BASELINE], cwd=PROJECT_ROOT,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not out.exists()
    assert run(out, seed=5) == 2
    assert "put back the previous result" in capsys.readouterr().err
    assert tree(out) == previous


KILLER = """
import os, signal, sys
real_rename, calls = os.rename, []
def rename(src, dst):
    calls.append(src)
    if len(calls) == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return real_rename(src, dst)
os.rename = rename
from sim.cli.main import main
sys.exit(main(["run", sys.argv[2], "--set", "market.size=800", "--months", "3", "-r", "2",
               "-q", "--seed", "9", "--out", sys.argv[1], "--overwrite"]))
"""


@pytest.mark.slow
def test_sweep_output_rules(tmp_path, capsys):
    sweep = tmp_path / "tiny.yaml"
    sweep.write_text(
        textwrap.dedent(f"""
        name: tiny
        base: {BASELINE}
        design: grid
        parameters:
          firm.capabilities.technology: {{levels: [2, 3]}}
        replications: 1
        months: 2
        set: {{market.size: 300}}
        """)
    )
    file = tmp_path / "existing.txt"
    file.write_text("precious")
    assert main(["sweep", str(sweep), "--out", str(file), "-q"]) == 2
    assert "not a folder" in capsys.readouterr().err and file.read_text() == "precious"
    out = tmp_path / "sweep"
    assert main(["sweep", str(sweep), "--out", str(out), "-q", "--workers", "1"]) == 0
    first = tree(out)
    assert main(["sweep", str(sweep), "--out", str(out), "-q", "--workers", "1"]) == 2
    assert "--overwrite" in capsys.readouterr().err and tree(out) == first
    assert main(["sweep", str(sweep), "--out", str(out), "-q", "--resume"]) == 0
    assert main(["sweep", str(sweep), "--out", str(out), "-q", "-w", "1", "--overwrite"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.txt", "sweep", "tiny.yaml"]


def test_result_files_replace_only_their_own_kind(tmp_path):
    target = tmp_path / "calibrated.yaml"
    target.write_text("name: mine\n")
    with pytest.raises(CXMError, match="not written by this project"):
        output_paths.replace_file(target, lambda p: p.write_text("# Calibrated x\n"), True)
    assert target.read_text() == "name: mine\n"
    ours = tmp_path / "ours.yaml"
    output_paths.replace_file(ours, lambda p: p.write_text("# Calibrated a\n"))
    with pytest.raises(CXMError, match="overwrite"):
        output_paths.replace_file(ours, lambda p: p.write_text("# Calibrated b\n"))
    output_paths.replace_file(ours, lambda p: p.write_text("# Calibrated b\n"), True)
    assert ours.read_text() == "# Calibrated b\n"
    with pytest.raises(CXMError, match="is a folder"):
        output_paths.replace_file(tmp_path, lambda p: p.write_text("x"), True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calibrated.yaml", "ours.yaml"]
    assert not any(name.endswith(".tmp") for name in os.listdir(tmp_path))
