"""Where results go, and how a new result replaces an old one without losing anything.

A command that writes a result *claims* its output path before any work starts and holds
the claim until the result is in place:

- **What may be replaced.** A result folder is written into a folder that does not exist,
  an empty folder, or a folder that holds a previous result of this project: its
  ``manifest.json`` says so and it holds nothing but result files (a notebook suite's
  folder: nothing but the files its manifest lists). A previous result is
  replaced only when the user asks (``--overwrite``). A result file (a calibrated scenario,
  a discovery) likewise replaces only a file this project wrote, and only when asked.
  Anything else (a user's folder or file, a path under a file, a path that cannot be
  created) is refused, with one line naming the option and the path, before the work.
- **One writer at a time.** The claim is a lock file beside the target (``.NAME.lock``)
  held with ``flock`` for the whole command: a second command writing the same path stops
  at once, before computing anything.
- **Replacement in steps that can be repaired.** The new result is written whole in
  ``.NAME.PID.partial``; the previous result moves to ``.NAME.PID.old``; the new one takes
  its place; the old one is deleted. A process killed between two steps leaves a state the
  next claim of the path repairs: the previous result is put back if the new one never
  arrived (and the user is told), and leftovers of dead processes (``.partial``, ``.old``,
  ``.tmp``) are removed. The lock guarantees that such leftovers belong to no live writer.

The default place for results is ``results/`` in the working directory, or the folder
named by the environment variable ``CXM_RESULTS_DIR``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sim.errors import OptionError

RESULTS_DIR_ENV = "CXM_RESULTS_DIR"
"""Environment variable naming the folder of default result paths."""
RESULT_KINDS = ("run", "comparison", "sweep", "notebooks")
"""`kind` of the manifest of a result folder."""
LISTED_KINDS = ("notebooks",)
"""Kinds of result folder that hold exactly the files their manifest lists (``files``)
besides the manifest, and no sub-folders (a notebook suite: its executed notebooks, their
HTML reports and its index)."""
RESULT_FILES = re.compile(
    r"(timeseries|touchpoints|segments|outcomes|customers|decisions|switching|compare|compare_summary"
    r"|runs|sensitivity)\.parquet|compare_summary\.csv|summary\.json|manifest\.json"
    r"|comparison\.xlsx"
    r"|discovery\.json|forest\.png|timeseries_\w+\.png"
    r"|optimised\.yaml|(splits|gains|history|across_sets)\.csv"
    r"|uncertainty_summary\.csv|uncertainty_sets\.(parquet|csv)|tornado\.csv"
    r"|tornado_[\w.-]+\.png|(npv|roi)_distribution\.png"
    r"|profile_(small|big)\.json|profile_small\.(prof|txt)"
)
"""Names of the files a result folder may hold (in it or in one level of sub-folders); the
PNG files are the figures of ``cxm compare --plot``, the workbook ``cxm compare --excel``'s;
the YAML and the CSV files besides the summary, ``cxm optimise``'s; the ``uncertainty_``
and ``tornado`` tables and the tornado and distribution figures, ``cxm compare
--uncertain``'s; the ``profile_`` files, ``cxm bench --profile``'s."""
SWEEP_STORE_FILES = re.compile(r"run-\d+\.json|run-\d+\.timeseries\.parquet|sweep\.json|\..+\.tmp")
"""Names of the files of an unfinished sweep's run store (``.runs/``)."""
SWEEP_STORE = ".runs"
CALIBRATED_HEADER = "# Calibrated "
"""First characters of a calibrated scenario file."""

Kind = Literal["directory", "file", "sweep"]

_held: dict[Path, Claim] = {}
"""Claims held by this process, by resolved target path."""


@dataclass
class Claim:
    """A held claim on an output path: the lock, and what the claim repaired.

    Attributes:
        path: the target (as given, made absolute).
        existing: what the target held when claimed: None (nothing), "result" or "empty".
        repairs: one line per repair made when claiming (a previous result put back, a
            leftover removed), for the user to read.
    """

    path: Path
    option: str
    existing: str | None
    repairs: list[str] = field(default_factory=list)
    _lock: int = -1
    _lock_path: Path | None = None
    _created: list[Path] = field(default_factory=list)


def results_dir() -> Path:
    """The folder of default result paths: ``$CXM_RESULTS_DIR`` or ``./results``."""
    configured = os.environ.get(RESULTS_DIR_ENV)
    return Path(configured) if configured else Path.cwd() / "results"


def default_path(name: str, option: str = "out") -> Path:
    """``results/<name>`` for a result named `name`, proven to stay inside the results
    folder (no separators, not ``.``/``..``, no leading dot, no symbolic link out).

    Raises:
        CXMError: the name cannot be a folder of its own in the results folder.
    """
    if not name or name in (".", "..") or name.startswith(".") or "/" in name or "\\" in name:
        raise OptionError(
            option,
            f"none given, and the name {name!r} cannot name a result folder (no '/', not '.' "
            "or '..', no leading dot); give one, or rename the scenario",
        )
    root = results_dir()
    path = root / name
    if path.resolve().parent != root.resolve():
        raise OptionError(
            option, f"none given, and {path} leads outside {root} (a symbolic link?); give one"
        )
    return path


def output_path(text: str | os.PathLike[str], option: str = "out") -> Path:
    """An output path given on the command line, made absolute.

    Raises:
        CXMError: the path is empty or holds a NUL character.
    """
    text = os.fspath(text)
    if not text.strip():
        raise OptionError(option, f"got {text!r}; give a path")
    if "\0" in text:
        raise OptionError(option, f"got {text!r}; a path may not hold a NUL character")
    return Path(os.path.abspath(text))


def chosen_path(given: str | os.PathLike[str] | None, default_name: str) -> Path:
    """The output path given on the command line (`output_path`), or else the default
    ``results/<default_name>`` (`default_path`)."""
    return output_path(given) if given is not None else default_path(default_name)


@contextlib.contextmanager
def claim(
    path: str | os.PathLike[str],
    kind: Kind = "directory",
    overwrite: bool = False,
    option: str = "out",
    report: Callable[[str], object] | None = None,
) -> Iterator[Claim]:
    """Check `path` as an output, lock it, repair what an interrupted writer left, and hold
    it for the block. Re-entrant: a path this process already holds is yielded again.

    Args:
        path: the target folder (or file, for ``kind="file"``).
        kind: "directory" (a result folder), "file" (a result file) or "sweep" (a sweep's
            folder, which may also hold an unfinished sweep's run store).
        overwrite: whether a previous result there may be replaced.
        option: the command-line option that gave the path, for messages.
        report: called with one line per repair as it is made (also when the claim then
            fails), e.g. to tell the user.

    Raises:
        CXMError: the path may not be written (see the module docstring); another process
            holds it.
    """
    target = output_path(path, option)
    held = _held.get(target)
    if held is not None:
        yield held
        return
    _check_ancestors(target, option)
    result = Claim(target, option, None)
    result._created = _make_parents(target.parent, option)
    try:
        _lock(result)
        result.repairs += _repair(target)
        for line in result.repairs if report is not None else ():
            report(line)
        result.existing = _check_target(target, kind, overwrite, option)
        _held[target] = result
        yield result
    except BaseException:
        _release(result)
        for folder in reversed(result._created):
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    else:
        _release(result)


@contextlib.contextmanager
def replace_directory(
    target: str | os.PathLike[str], overwrite: bool = False, kind: Kind = "directory"
) -> Iterator[Path]:
    """Yield an empty staging folder; when the block succeeds, it replaces `target` (see the
    module docstring for the steps). Claims `target` for the block unless already held.

    Raises:
        CXMError: as `claim`.
    """
    with claim(target, kind, overwrite) as held:
        staging = _sibling(held.path, "partial")
        staging.mkdir()
        try:
            yield staging
            _swap(staging, held.path)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)


def replace_file(
    target: str | os.PathLike[str],
    write: Callable[[Path], object],
    overwrite: bool = False,
    option: str = "out",
) -> Path:
    """Write a result file whole or not at all, under a claim of `target`."""
    with claim(target, "file", overwrite, option) as held:
        atomic_write(held.path, write)
    return held.path


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Write one file whole or not at all: `write` fills a hidden temporary name beside
    `path` (``.NAME.PID.tmp``), which then replaces `path` in one rename; on failure the
    temporary file is removed."""
    temporary = _sibling(path, "tmp")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


# ------------------------------------------------------------------------ the steps


def _sibling(path: Path, suffix: str) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{suffix}")


def _swap(staging: Path, target: Path) -> None:
    """Put `staging` in the place of `target`; the previous target goes through ``.old``."""
    old = _sibling(target, "old")
    if target.exists():
        os.rename(target, old)
    os.rename(staging, target)
    if old.exists():
        shutil.rmtree(old)


def _leftovers(target: Path) -> dict[str, list[Path]]:
    pattern = re.compile(rf"\.{re.escape(target.name)}\.(\w+)\.(partial|old|tmp)")
    found: dict[str, list[Path]] = {"partial": [], "old": [], "tmp": []}
    with contextlib.suppress(OSError):
        for entry in target.parent.iterdir():
            match = pattern.fullmatch(entry.name)
            if match:
                found[match.group(2)].append(entry)
    return found


def _repair(target: Path) -> list[str]:
    """Undo or finish what a writer killed while replacing `target` left (under the lock,
    every leftover is a dead process's)."""
    found = _leftovers(target)
    repairs = []
    olds = sorted(found["old"], key=lambda p: p.stat().st_mtime, reverse=True)
    if olds and not target.exists() and not target.is_symlink():
        os.rename(olds.pop(0), target)
        repairs.append(
            f"{target}: put back the previous result (an earlier replacement of it was interrupted)"
        )
    for leftover in (*olds, *found["partial"], *found["tmp"]):
        _remove(leftover)
        repairs.append(f"removed {leftover.name} (left by an interrupted write of {target})")
    return repairs


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


# ------------------------------------------------------------------------ checks


def _check_ancestors(target: Path, option: str) -> None:
    """The nearest existing ancestor of `target` must be a folder."""
    for ancestor in target.parents:
        if ancestor.exists():
            if not ancestor.is_dir():
                raise OptionError(option, f"{target} lies under {ancestor}, which is not a folder")
            return


def _make_parents(folder: Path, option: str) -> list[Path]:
    """Create `folder` and its missing parents; return the ones created, outermost first."""
    missing = []
    for ancestor in (folder, *folder.parents):
        if ancestor.exists():
            break
        missing.append(ancestor)
    created = []
    for ancestor in reversed(missing):
        try:
            ancestor.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            for made in reversed(created):
                with contextlib.suppress(OSError):
                    made.rmdir()
            raise OptionError(option, f"cannot create {ancestor} ({_reason(exc)})") from None
        created.append(ancestor)
    return created


def _lock(held: Claim) -> None:
    """Take the lock file beside the target, or fail at once if another process holds it."""
    lock_path = held.path.with_name(f".{held.path.name}.lock")
    while True:
        try:
            descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise OptionError(
                held.option, f"cannot write to {held.path.parent} ({_reason(exc)})"
            ) from None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(descriptor)
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise OptionError(
                    held.option,
                    f"another cxm command is writing {held.path}; wait for it "
                    "to finish or choose another path",
                ) from None
            raise OptionError(held.option, f"cannot lock {lock_path} ({_reason(exc)})") from None
        # The file may have been removed (by its releasing holder) between open and lock:
        # then the lock is on a deleted file, and the claim starts again.
        try:
            same = os.stat(lock_path).st_ino == os.fstat(descriptor).st_ino
        except FileNotFoundError:
            same = False
        if same:
            held._lock, held._lock_path = descriptor, lock_path
            return
        os.close(descriptor)


def _release(held: Claim) -> None:
    _held.pop(held.path, None)
    if held._lock < 0:
        return
    if held._lock_path is not None:
        with contextlib.suppress(OSError):
            held._lock_path.unlink()
    os.close(held._lock)
    held._lock = -1


def _check_target(target: Path, kind: Kind, overwrite: bool, option: str) -> str | None:
    """What `target` holds ("result", "empty" or None), if it may be written.

    Raises:
        CXMError: it holds something that is not a result of this project, or a previous
            result and `overwrite` is false.
    """
    if target.is_symlink():
        raise OptionError(option, f"{target} is a symbolic link; give the path it points to")
    if not target.exists():
        return None
    if kind == "file":
        return _check_file(target, overwrite, option)
    if not target.is_dir():
        raise OptionError(
            option,
            f"{target} is a file, not a folder; a result is written to a new folder "
            "(or replaces a previous result with {overwrite})",
            ("overwrite",),
        )
    entries = list(target.iterdir())
    if not entries:
        return "empty"
    if kind == "sweep" and (target / SWEEP_STORE).is_dir():
        return "result"  # an unfinished sweep: the sweep decides (resume or refuse)
    reason = _not_a_result(target)
    if reason is not None:
        raise OptionError(
            option,
            f"{target} is a folder that is not a cxm result ({reason}); nothing is "
            "written there (choose a new folder)",
        )
    if kind == "sweep":
        return "result"  # a finished sweep: the sweep decides (reuse, replace or refuse)
    if not overwrite:
        raise OptionError(
            option,
            f"{target} holds a previous result; pass {{overwrite}} to replace it, or "
            "choose a new folder",
            ("overwrite",),
        )
    return "result"


def _not_a_result(folder: Path) -> str | None:
    """Why `folder` is not a result of this project (a manifest that says so, and nothing
    but result files, one level of sub-folders deep), or None if it is one."""
    manifest = _read_json(folder / "manifest.json")
    if not _is_result_manifest(manifest):
        return "it has no cxm manifest.json"
    if manifest.get("kind") in LISTED_KINDS:
        return _not_listed(folder, manifest)
    for entry in sorted(folder.iterdir()):
        if entry.is_symlink():
            return f"it holds the link {entry.name}"
        if entry.is_dir():
            files = SWEEP_STORE_FILES if entry.name == SWEEP_STORE else RESULT_FILES
            for inner in sorted(entry.iterdir()):
                if inner.is_symlink() or not inner.is_file() or not files.fullmatch(inner.name):
                    return f"it holds {entry.name}/{inner.name}"
        elif not RESULT_FILES.fullmatch(entry.name):
            return f"it holds {entry.name}"
    return None


def _not_listed(folder: Path, manifest: dict[str, Any]) -> str | None:
    """Why `folder` is not the result its manifest describes (an entry the manifest's
    ``files`` does not list, a sub-folder, a link), or None if it is."""
    files = manifest.get("files")
    if not isinstance(files, list):
        return "its manifest.json lists no files"
    listed = {name for name in files if isinstance(name, str)} | {"manifest.json"}
    for entry in sorted(folder.iterdir()):
        if entry.is_symlink():
            return f"it holds the link {entry.name}"
        if entry.name not in listed or not entry.is_file():
            return f"it holds {entry.name}"
    return None


def _is_result_manifest(manifest: dict[str, Any] | None) -> bool:
    if manifest is None:
        return False
    if manifest.get("kind") in RESULT_KINDS:
        return True
    versions = manifest.get("package_versions")
    return isinstance(versions, dict) and "cxm-lab" in versions


def _check_file(target: Path, overwrite: bool, option: str) -> str:
    if not target.is_file():
        raise OptionError(option, f"{target} is a folder; give the path of a file")
    if not _is_result_file(target):
        raise OptionError(
            option,
            f"{target} exists and was not written by this project; nothing is "
            "written there (choose a new file)",
        )
    if not overwrite:
        raise OptionError(
            option,
            f"{target} holds a previous result; pass {{overwrite}} to replace it, or "
            "choose a new file",
            ("overwrite",),
        )
    return "result"


def _is_result_file(path: Path) -> bool:
    """Whether `path` is a calibrated scenario or a discovery this project wrote."""
    if path.suffix in (".yaml", ".yml"):
        try:
            with path.open("rb") as handle:
                return handle.read(len(CALIBRATED_HEADER)).decode(errors="replace") == (
                    CALIBRATED_HEADER
                )
        except OSError:
            return False
    data = _read_json(path)
    if data is None:
        return False
    return data.get("kind") == "discovery" or {"conditions", "boxes"} <= set(data)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        with path.open("rb") as handle:
            data = json.loads(handle.read(1_000_000))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__
