"""Where compiled code is kept between runs, and the digest of the source it came from.

The vector engine's inner loops and the per-person random streams are compiled with numba,
which caches the machine code on disk. numba checks only the timestamp of the file that
defines a function, so a change to a function it calls from another module would go
unnoticed. The cache therefore lives in a directory named after the digest of the whole
package's source (under ``$XDG_CACHE_HOME/cxm-lab/numba``, by default ``~/.cache``, or a
private folder in the temporary folder if those cannot be written): any change to the source
compiles afresh.

Loading cached machine code runs it, so a cache folder is used only if nobody else can have
put code there: the ``cxm-lab`` folder, its ``numba`` folder and the digest folder must each
be owned by the current user (or root) and writable by nobody else (no group or other write
bit); otherwise the next candidate is tried.

Setting ``NUMBA_CACHE_DIR`` chooses another place. That is the user's explicit choice and is
used as it is, without these checks: it should be a folder only the user can write.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import sys
import tempfile
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def code_digest() -> str:
    """sha256 of the `sim` package's source files (paths and contents, in sorted order)."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def use_cache_for_this_source() -> None:
    """Point numba's cache at the directory of this source's digest, unless
    ``NUMBA_CACHE_DIR`` is set. Call it before the package's compiled functions are defined;
    if numba is already imported, its configuration is changed in place. Where the user's
    cache folder cannot be written, or is not private (see the module docstring), a private
    folder in the system's temporary folder is used; where neither can, numba's default."""
    if "NUMBA_CACHE_DIR" in os.environ:
        return
    directory = cache_directory()
    if directory is None:
        return
    os.environ["NUMBA_CACHE_DIR"] = str(directory)
    if "numba" in sys.modules:  # imported before us: it has read its settings
        sys.modules["numba"].config.CACHE_DIR = str(directory)


def cache_directory(digest: str | None = None, kind: str = "numba") -> Path | None:
    """The first candidate cache directory of `kind` (``numba``: compiled code; ``periods``:
    the contact centre's simulated periods, `sim.support.desk.PeriodLibrary`) for `digest`
    (default: this source's) that can be made, is private from the cache root down and can
    be written; None if there is none."""
    name = Path(kind) / (digest or code_digest())[:16]
    for root in _cache_roots():
        chain = [root, root / name.parent, root / name]
        try:
            root.parent.mkdir(parents=True, exist_ok=True)
            for folder in chain:  # each made private (mkdir's parents=True would not be)
                folder.mkdir(mode=0o700, exist_ok=True)
        except OSError:
            continue
        directory = chain[-1]
        if all(_is_private(folder) for folder in chain) and os.access(directory, os.W_OK):
            return directory
    return None


def _is_private(folder: Path) -> bool:
    """Whether `folder` is a directory owned by us (or root) that no one else can write.

    Where there are no user ids (Windows), any directory passes."""
    try:
        status = folder.stat()
    except OSError:
        return False
    if not stat.S_ISDIR(status.st_mode):
        return False
    if not hasattr(os, "getuid"):
        return True
    return status.st_uid in (os.getuid(), 0) and not status.st_mode & 0o022


def _cache_roots() -> list[Path]:
    """Candidate folders for the cache, first choice first."""
    roots = []
    if os.environ.get("XDG_CACHE_HOME"):
        roots.append(Path(os.environ["XDG_CACHE_HOME"]) / "cxm-lab")
    with contextlib.suppress(RuntimeError):  # no home directory
        roots.append(Path.home() / ".cache" / "cxm-lab")
    private = _private_temporary_folder()
    if private is not None:
        roots.append(private)
    return roots


def _private_temporary_folder() -> Path | None:
    """``cxm-lab-<uid>`` in the temporary folder, if it is ours and only we can write it
    (a shared, predictable path must not let another user plant compiled code). A symbolic
    link there is refused."""
    uid = os.getuid() if hasattr(os, "getuid") else None
    folder = Path(tempfile.gettempdir()) / f"cxm-lab-{uid if uid is not None else 'user'}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        status = folder.lstat()
    except OSError:
        return None
    if not stat.S_ISDIR(status.st_mode):
        return None
    if uid is not None and (status.st_uid != uid or status.st_mode & 0o022):
        return None
    return folder
