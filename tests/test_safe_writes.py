"""Every path a render writes is checked before the first write: a lock or a stamp that is a link or a folder,
or a link where a deleted pool's folder was, is refused with exit 1 and a message naming it, and check reports
it; nothing on disk changes."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.tree.stamp import STAMP_FILE

ROOT = Path(__file__).resolve().parent.parent
EU_LOCK = "fleets/eu-west-1/allocations.lock"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the example repository with one more casual server, so that a render has files to write."""
    work = tmp_path / "work"
    shutil.copytree(ROOT / "fleets", work / "fleets")
    shutil.copytree(ROOT / "rendered", work / "rendered")
    casual = work / "fleets/eu-west-1/casual.yaml"
    casual.write_text(casual.read_text().replace("replicas: 4", "replicas: 5", 1))
    monkeypatch.chdir(work)
    return work


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def state(root: Path) -> dict[str, tuple[object, ...]]:
    """Every entry below root, links unfollowed: kind, bytes or link target, mtime and inode (a folder's inode
    only: the run lock comes and goes beside fleets/)."""
    found: dict[str, tuple[object, ...]] = {}
    for directory, folders, files in os.walk(root):
        for name in sorted([*folders, *files]):
            path = Path(directory, name)
            info = path.lstat()
            if path.is_symlink():
                found[str(path.relative_to(root))] = ("link", os.readlink(path), info.st_mtime_ns, info.st_ino)
            elif path.is_dir():
                found[str(path.relative_to(root))] = ("folder", info.st_ino)
            else:
                found[str(path.relative_to(root))] = ("file", path.read_bytes(), info.st_mtime_ns, info.st_ino)
    return found


def lock_is_a_link(repo: Path) -> tuple[str, str]:
    target = repo.parent / "elsewhere.lock"
    shutil.copyfile(repo / EU_LOCK, target)
    (repo / EU_LOCK).unlink()
    (repo / EU_LOCK).symlink_to(target)
    return EU_LOCK, "the pool's lock is a symbolic link"


def lock_is_a_folder(repo: Path) -> tuple[str, str]:
    (repo / EU_LOCK).unlink()
    (repo / EU_LOCK).mkdir()
    (repo / EU_LOCK / "notes.txt").write_text("kept by someone\n")
    return EU_LOCK, "the pool's lock is a directory"


def stamp_is_a_link(repo: Path) -> tuple[str, str]:
    target = repo.parent / "elsewhere-stamp"
    shutil.copyfile(repo / "rendered" / STAMP_FILE, target)
    (repo / "rendered" / STAMP_FILE).unlink()
    (repo / "rendered" / STAMP_FILE).symlink_to(target)
    return f"rendered/{STAMP_FILE}", "fleetgen's stamp is a symbolic link"


@pytest.mark.parametrize("obstacle", [lock_is_a_link, lock_is_a_folder, stamp_is_a_link])
def test_a_lock_or_stamp_that_is_not_a_file_is_refused_before_anything_is_written(
    repo: Path, obstacle: Callable[[Path], tuple[str, str]]
) -> None:
    path, message = obstacle(repo)
    before = state(repo.parent)

    code, stdout, stderr = run("render")

    assert code == 1, stderr
    assert (
        f"{path}: error: {message}; fleetgen writes it only as a regular file, never through a link\n  hint: " in stderr
    )
    assert stderr.endswith("fleetgen: 1 error; nothing was written\n")
    assert "Traceback" not in stderr and stdout == ""
    assert state(repo.parent) == before
    code, _, stderr = run("check")
    assert code == 1 and f"{path}: {message}" in stderr


def test_a_link_where_a_deleted_pool_was_is_refused_by_render_and_reported_by_check(repo: Path) -> None:
    elsewhere = repo.parent / "elsewhere"
    shutil.move(repo / "rendered/us-east-1", elsewhere)
    (repo / "rendered/us-east-1").symlink_to(elsewhere, target_is_directory=True)
    shutil.rmtree(repo / "fleets/us-east-1")
    before = state(repo.parent)

    code, _, stderr = run("render")

    assert code == 1
    assert "rendered/us-east-1: is a symbolic link; fleetgen never follows or replaces links in its output" in stderr
    assert state(repo.parent) == before
    code, stdout, stderr = run("check")
    assert (code, stdout) == (1, "") and "us-east-1: is a symbolic link" in stderr

    (repo / "rendered/us-east-1").unlink()
    assert run("render")[0] == 0
    assert run("check")[:2] == (0, "rendered: up to date\n")
