"""Where compiled code is cached: only in folders nobody else can write."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from sim import compiled

DIGEST = "0123456789abcdef" + "0" * 48
OTHER_UID = 4243


@pytest.fixture
def places(tmp_path, monkeypatch):
    """XDG cache, home and temporary folders inside `tmp_path`, in that order of choice."""
    xdg, home, temporary = tmp_path / "xdg", tmp_path / "home", tmp_path / "tmp"
    for folder in (xdg, home, temporary):
        folder.mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(xdg))
    monkeypatch.setattr(compiled.Path, "home", classmethod(lambda cls: home))
    monkeypatch.setattr(compiled.tempfile, "gettempdir", lambda: str(temporary))
    return {
        "xdg": xdg / "cxm-lab",
        "home": home / ".cache" / "cxm-lab",
        "tmp": temporary / f"cxm-lab-{os.getuid()}",
    }


def digest_dir(root: Path) -> Path:
    return root / "numba" / DIGEST[:16]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def owned_by_someone_else(path: Path, monkeypatch) -> None:
    """Make `path` belong to another user: really (as root), or by changing who we are."""
    if os.getuid() == 0:
        os.chown(path, OTHER_UID, OTHER_UID)
    else:
        real = os.getuid()
        monkeypatch.setattr(compiled.os, "getuid", lambda: real + 1)


def test_fresh_folders_are_made_private_and_used(places):
    directory = compiled.cache_directory(DIGEST)
    assert directory == digest_dir(places["xdg"])
    for folder in (places["xdg"], places["xdg"] / "numba", directory):
        assert mode(folder) == 0o700


def test_existing_folder_readable_by_others_but_writable_only_by_us_is_used(places):
    for folder in (places["xdg"], places["xdg"] / "numba", digest_dir(places["xdg"])):
        folder.mkdir(mode=0o755)
        folder.chmod(0o755)
    assert compiled.cache_directory(DIGEST) == digest_dir(places["xdg"])


@pytest.mark.parametrize("level", ["root", "numba", "digest"])
@pytest.mark.parametrize("bits", [0o777, 0o775, 0o757])
def test_folder_writable_by_others_is_refused_for_the_next_candidate(places, level, bits):
    root = places["xdg"]
    folder = {"root": root, "numba": root / "numba", "digest": digest_dir(root)}[level]
    folder.mkdir(parents=True)
    folder.chmod(bits)
    assert compiled.cache_directory(DIGEST) == digest_dir(places["home"])
    assert mode(folder) == bits  # left as it was: not ours to repair


def test_folder_of_another_user_is_refused(places, monkeypatch):
    places["xdg"].mkdir(mode=0o700)
    owned_by_someone_else(places["xdg"], monkeypatch)
    chosen = compiled.cache_directory(DIGEST)
    if os.getuid() == 0:
        assert chosen == digest_dir(places["home"])
    else:  # every folder is now someone else's, the temporary one too
        assert chosen is None


def test_all_user_folders_refused_falls_back_to_the_private_temporary_folder(places):
    for root in (places["xdg"], places["home"]):
        root.mkdir(parents=True)
        root.chmod(0o777)
    directory = compiled.cache_directory(DIGEST)
    assert directory == digest_dir(places["tmp"])
    assert mode(places["tmp"]) == 0o700


def test_shared_temporary_folder_or_link_is_refused(places, tmp_path):
    for root in (places["xdg"], places["home"]):
        root.mkdir(parents=True)
        root.chmod(0o777)
    places["tmp"].mkdir()
    places["tmp"].chmod(0o777)
    assert compiled.cache_directory(DIGEST) is None
    places["tmp"].rmdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    places["tmp"].symlink_to(elsewhere)
    assert compiled.cache_directory(DIGEST) is None


def test_a_file_in_the_way_is_skipped(places):
    places["xdg"].write_text("not a folder")
    assert compiled.cache_directory(DIGEST) == digest_dir(places["home"])


def test_numba_is_pointed_at_the_chosen_folder(places, monkeypatch):
    numba = pytest.importorskip("numba")
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setattr(numba.config, "CACHE_DIR", numba.config.CACHE_DIR)
    monkeypatch.setattr(compiled, "code_digest", lambda: DIGEST)
    compiled.use_cache_for_this_source()
    expected = str(digest_dir(places["xdg"]))
    in_numba = numba.config.CACHE_DIR
    assert os.environ["NUMBA_CACHE_DIR"] == expected and in_numba == expected


def test_numba_cache_dir_set_by_the_user_is_left_alone(places, monkeypatch, tmp_path):
    chosen = tmp_path / "mine"
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(chosen))
    compiled.use_cache_for_this_source()
    assert os.environ["NUMBA_CACHE_DIR"] == str(chosen)
    assert not places["xdg"].exists()
