"""The digest cache (`.git/fleetgen-cache`): a no-op trusts a file's recorded digest only while its stat facts
are the recorded ones, never a racily clean file's, never another checkout's, and never a damaged cache's."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import pytest
from test_incremental import git, run

from generator.tree.digest_cache import CACHE_FILE, DigestCache

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = "rendered/eu-west-1/ranked-0/manifest.yaml"

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example repository in a git checkout, rendered and checked once: the cache holds every file."""
    work = tmp_path / "work"
    shutil.copytree(ROOT / "fleets", work / "fleets")
    shutil.copytree(ROOT / "rendered", work / "rendered")
    assert git(work, "init", "-q").returncode == 0
    monkeypatch.chdir(work)
    assert run("render")[0] == 0
    assert run("check")[:2] == (0, "rendered: up to date\n")
    return work


def cached_paths(repo: Path) -> set[str]:
    entries = json.loads((repo / ".git" / CACHE_FILE).read_bytes())["entries"]
    return {str(Path(key).relative_to(repo)) for key in entries if Path(key).is_relative_to(repo)}


def edit_keeping_size_and_mtime(path: Path, replaced: bool) -> None:
    """Change one byte of `path`, in place or by a new file renamed over it, and set its mtime back."""
    before = path.stat()
    data = bytearray(path.read_bytes())
    at = data.index(b"replicas") if b"replicas" in data else len(data) // 2
    data[at] = ord("R") if data[at] != ord("R") else ord("r")
    if replaced:
        fresh = path.with_name(path.name + ".new")
        fresh.write_bytes(data)
        os.replace(fresh, path)
    else:
        with path.open("r+b") as handle:
            handle.write(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def test_a_no_op_records_every_file_it_read(repo: Path) -> None:
    cached = cached_paths(repo)
    assert MANIFEST in cached and "fleets/eu-west-1/ranked.yaml" in cached
    assert run("render")[:2] == (0, "wrote 0 files: nothing changed since the last render (its stamp matches)\n")


@pytest.mark.parametrize("replaced", [False, True], ids=["in-place", "replaced"])
@pytest.mark.parametrize("path", [MANIFEST, "fleets/eu-west-1/ranked.yaml"])
def test_an_edit_that_keeps_size_and_mtime_is_seen(repo: Path, path: str, replaced: bool) -> None:
    """git's answer: the ctime (and the inode, when replaced) moves on every write, and no one sets it back."""
    assert path in cached_paths(repo)
    edit_keeping_size_and_mtime(repo / path, replaced)
    code, _, stderr = run("check")
    assert code == 1, stderr


def test_a_racily_clean_file_is_never_recorded_and_its_edit_is_seen(tmp_path: Path) -> None:
    """A file whose mtime is not strictly older than the clock mark taken before its stat could be written
    again within the same timestamp tick without changing its stat facts (kernels without fine-grained
    ctimes): it is hashed on every run, never recorded, until it is older than a run's mark."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "fleets").mkdir()
    racy, settled = tmp_path / "fleets" / "racy.yaml", tmp_path / "fleets" / "settled.yaml"
    for path in (racy, settled):
        path.write_bytes(b"replicas: 1\n")
    ahead = time.time_ns() + 3600 * 10**9  # mtime ahead of any mark this hour: as if written in the mark's tick
    os.utime(racy, ns=(ahead, ahead))
    os.utime(settled, ns=(ahead - 7200 * 10**9,) * 2)
    time.sleep(0.1)  # settled's ctime (now) must be older than the mark, which is at most a tick coarse
    cache = DigestCache.of(tmp_path / "fleets")
    for path in (racy, settled):
        assert cache.digest(path, Path.read_bytes) == hashlib.sha256(b"replicas: 1\n").digest()
    cache.save(complete=True)
    assert cached_paths(tmp_path) == {"fleets/settled.yaml"}

    with racy.open("r+b") as handle:
        handle.write(b"replicas: 2\n")
    os.utime(racy, ns=(ahead, ahead))
    assert (
        DigestCache.of(tmp_path / "fleets").digest(racy, Path.read_bytes) == hashlib.sha256(b"replicas: 2\n").digest()
    )


@pytest.mark.parametrize("damage", [b"\x00garbage", b'{"format": "fleetgen digest cache v1", "entries": {"a": [1]}}'])
def test_a_damaged_cache_is_ignored_and_written_again(repo: Path, damage: bytes) -> None:
    (repo / ".git" / CACHE_FILE).write_bytes(damage)
    assert run("check")[:2] == (0, "rendered: up to date\n")
    assert MANIFEST in cached_paths(repo)
    edit_keeping_size_and_mtime(repo / MANIFEST, replaced=False)
    (repo / ".git" / CACHE_FILE).write_bytes(damage)
    assert run("check")[0] == 1


def test_a_fresh_clone_hashes_everything_and_trusts_no_other_checkouts_cache(repo: Path, tmp_path: Path) -> None:
    assert git(repo, "add", "-A").returncode == 0
    assert git(repo, "commit", "-q", "-m", "rendered").returncode == 0
    clone = tmp_path / "clone"
    assert git(tmp_path, "clone", "-q", str(repo), str(clone)).returncode == 0
    shutil.copy(repo / ".git" / CACHE_FILE, clone / ".git" / CACHE_FILE)  # the same files, by another path
    os.chdir(clone)
    assert run("check")[:2] == (0, "rendered: up to date\n")
    assert MANIFEST in cached_paths(clone)
    edit_keeping_size_and_mtime(clone / MANIFEST, replaced=False)
    assert run("check")[0] == 1
    os.chdir(repo)
    assert run("check")[:2] == (0, "rendered: up to date\n")
