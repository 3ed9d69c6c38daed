"""Tests for generator.write on real files: only changes are written, foreign files and links are never
touched, and a run killed at any moment leaves every pool folder fully old or fully new."""

from __future__ import annotations

import importlib.util
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.tree import staging, write
from generator.tree.files import write_file_atomic
from generator.tree.write import (
    OWNED_MARKER,
    STAGING_DIR,
    Conflict,
    TreeChanges,
    apply_tree,
    diff_tree,
)

OLD_NS = 1_000_000_000_000_000_000  # 2001-09-09: any rewrite gets a visibly newer mtime


def doc(text: str) -> bytes:
    return OWNED_MARKER + b"\n" + text.encode()


def desired_tree() -> dict[str, dict[str, bytes]]:
    return {
        "eu-west": {
            "network/manifest.yaml": doc("eu network"),
            "arena-0/manifest.yaml": doc("eu arena 0"),
            "arena-1000/manifest.yaml": doc("eu arena 1000"),
        },
        "us-east": {"network/manifest.yaml": doc("us network")},
        "_delivery": {"argocd.yaml": doc("apps")},
    }


def read_pools(out_dir: Path) -> dict[str, dict[str, bytes]]:
    """Every non-reserved top-level folder and its files, read without following links."""
    tree: dict[str, dict[str, bytes]] = {}
    for pool in sorted(os.listdir(out_dir)):
        root = out_dir / pool
        if pool.startswith(".") or root.is_symlink() or not root.is_dir():
            continue
        files: dict[str, bytes] = {}
        for dirpath, _dirs, names in os.walk(root):
            for name in names:
                path = Path(dirpath, name)
                files[path.relative_to(root).as_posix()] = path.read_bytes()
        tree[pool] = files
    return tree


def snapshot(root: Path) -> dict[str, tuple[object, ...]]:
    """Paths, kinds, bytes (or link targets), mtimes and inodes of everything under root, links unfollowed."""
    state: dict[str, tuple[object, ...]] = {}
    for dirpath, dirs, names in os.walk(root):
        for name in sorted(dirs + names):
            path = Path(dirpath, name)
            info = path.lstat()
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                state[rel] = ("link", os.readlink(path), info.st_mtime_ns, info.st_ino)
            elif path.is_dir():
                state[rel] = ("dir", info.st_ino)
            else:
                state[rel] = ("file", path.read_bytes(), info.st_mtime_ns, info.st_ino)
    return state


def file_stats(out_dir: Path) -> dict[str, tuple[int, int]]:
    """(mtime, inode) of every regular file: equal values mean the file was not rewritten."""
    stats: dict[str, tuple[int, int]] = {}
    for dirpath, _dirs, names in os.walk(out_dir):
        for name in names:
            info = Path(dirpath, name).lstat()
            stats[Path(dirpath, name).relative_to(out_dir).as_posix()] = (info.st_mtime_ns, info.st_ino)
    return stats


def backdate(out_dir: Path) -> None:
    for dirpath, _dirs, names in os.walk(out_dir):
        for name in names:
            os.utime(Path(dirpath, name), ns=(OLD_NS, OLD_NS), follow_symlinks=False)


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    """An output folder already holding desired_tree(), with old mtimes so any rewrite shows."""
    out = tmp_path / "rendered"
    apply_tree(out, desired_tree())
    backdate(out)
    return out


# --- only changes are written -----------------------------------------------------------------------


def test_first_apply_writes_all_files(tmp_path: Path) -> None:
    out = tmp_path / "rendered"
    changes = apply_tree(out, desired_tree())
    assert changes == TreeChanges(
        written=(
            "_delivery/argocd.yaml",
            "eu-west/arena-0/manifest.yaml",
            "eu-west/arena-1000/manifest.yaml",
            "eu-west/network/manifest.yaml",
            "us-east/network/manifest.yaml",
        ),
        removed=(),
        unchanged=0,
        conflicts=(),
    )
    assert read_pools(out) == desired_tree()
    assert not (out / STAGING_DIR).exists()


def test_second_apply_writes_nothing_and_keeps_mtimes_and_inodes(out_dir: Path) -> None:
    before = snapshot(out_dir)
    changes = apply_tree(out_dir, desired_tree())
    assert changes == TreeChanges(written=(), removed=(), unchanged=5, conflicts=())
    assert snapshot(out_dir) == before  # directories keep their inodes too: nothing was swapped
    assert diff_tree(out_dir, desired_tree()) == changes


def test_changing_one_file_rewrites_only_that_file(out_dir: Path) -> None:
    before = file_stats(out_dir)
    desired = desired_tree()
    desired["eu-west"]["arena-0/manifest.yaml"] = doc("eu arena 0, new image")
    assert diff_tree(out_dir, desired).written == ("eu-west/arena-0/manifest.yaml",)

    changes = apply_tree(out_dir, desired)

    assert changes.written == ("eu-west/arena-0/manifest.yaml",)
    assert (changes.removed, changes.unchanged, changes.conflicts) == ((), 4, ())
    assert read_pools(out_dir) == desired
    after = file_stats(out_dir)
    assert after.pop("eu-west/arena-0/manifest.yaml") != before.pop("eu-west/arena-0/manifest.yaml")
    assert after == before
    assert not (out_dir / STAGING_DIR).exists()


def test_rewrite_never_writes_into_an_existing_inode(out_dir: Path, tmp_path: Path) -> None:
    """A hard link someone made elsewhere keeps the old bytes: we replace files, never edit them."""
    elsewhere = tmp_path / "elsewhere.yaml"
    os.link(out_dir / "us-east/network/manifest.yaml", elsewhere)
    desired = desired_tree()
    desired["us-east"]["network/manifest.yaml"] = doc("us network v2")
    apply_tree(out_dir, desired)
    assert elsewhere.read_bytes() == doc("us network")
    assert (out_dir / "us-east/network/manifest.yaml").read_bytes() == doc("us network v2")


def test_file_no_longer_desired_is_deleted_with_its_empty_folder(out_dir: Path) -> None:
    before = file_stats(out_dir)
    desired = desired_tree()
    del desired["eu-west"]["arena-1000/manifest.yaml"]

    changes = apply_tree(out_dir, desired)

    assert changes.removed == ("eu-west/arena-1000/manifest.yaml",)
    assert changes.written == ()
    assert not (out_dir / "eu-west/arena-1000").exists()
    assert read_pools(out_dir) == desired
    del before["eu-west/arena-1000/manifest.yaml"]
    assert file_stats(out_dir) == before


def test_pool_no_longer_desired_is_removed(out_dir: Path) -> None:
    desired = desired_tree()
    del desired["us-east"]
    changes = apply_tree(out_dir, desired)
    assert changes.removed == ("us-east/network/manifest.yaml",)
    assert not (out_dir / "us-east").exists()
    assert read_pools(out_dir) == desired


def test_a_kept_pool_is_left_alone_though_not_desired(out_dir: Path) -> None:
    """A render that reuses a pool does not compute its files; `keep` says they stay as they are."""
    desired = desired_tree()
    kept = desired.pop("us-east")
    desired["eu-west"]["arena-0/manifest.yaml"] += b"# changed\n"
    before = file_stats(out_dir)
    assert diff_tree(out_dir, desired, keep=("us-east",)).removed == ()
    changes = apply_tree(out_dir, desired, keep=("us-east",))
    assert (changes.written, changes.removed) == (("eu-west/arena-0/manifest.yaml",), ())
    assert read_pools(out_dir) == {**desired, "us-east": kept}
    assert all(file_stats(out_dir)[path] == stat for path, stat in before.items() if path.startswith("us-east/"))


def test_pool_desired_empty_is_removed(out_dir: Path) -> None:
    desired = desired_tree()
    desired["us-east"] = {}
    apply_tree(out_dir, desired)
    assert not (out_dir / "us-east").exists()


def test_pool_outside_scope_is_untouched(out_dir: Path) -> None:
    before = snapshot(out_dir)
    desired = {"eu-west": {"network/manifest.yaml": doc("eu network v2")}}

    changes = apply_tree(out_dir, desired, scope=["eu-west"])

    assert changes.written == ("eu-west/network/manifest.yaml",)
    assert changes.removed == ("eu-west/arena-0/manifest.yaml", "eu-west/arena-1000/manifest.yaml")
    after = snapshot(out_dir)
    for prefix in ("us-east", "_delivery"):
        assert {k: v for k, v in after.items() if k.startswith(prefix)} == {
            k: v for k, v in before.items() if k.startswith(prefix)
        }


def test_scope_folder_not_desired_is_emptied_and_desired_folder_outside_scope_ignored(out_dir: Path) -> None:
    changes = apply_tree(out_dir, {"new-pool": {"a.yaml": doc("a")}}, scope=["us-east"])
    assert changes.removed == ("us-east/network/manifest.yaml",)
    assert changes.written == ()
    assert not (out_dir / "us-east").exists()
    assert not (out_dir / "new-pool").exists()
    assert (out_dir / "eu-west").is_dir()


def test_diff_and_empty_apply_do_not_create_the_output_folder(tmp_path: Path) -> None:
    out = tmp_path / "rendered"
    assert diff_tree(out, desired_tree()).written
    assert apply_tree(out, {}) == TreeChanges((), (), 0, ())
    assert not out.exists()


# --- foreign files and links ------------------------------------------------------------------------


def test_foreign_file_in_pool_is_a_conflict_and_nothing_changes(out_dir: Path) -> None:
    (out_dir / "eu-west/arena-0/notes.yaml").write_bytes(b"kind: ConfigMap\n")
    before = snapshot(out_dir)
    desired = desired_tree()
    desired["eu-west"]["arena-0/manifest.yaml"] = doc("changed")
    desired["us-east"]["network/manifest.yaml"] = doc("changed too")

    changes = apply_tree(out_dir, desired)

    assert changes.conflicts == (
        Conflict(
            "eu-west/arena-0/notes.yaml",
            "not written by fleetgen (no '# Generated by fleetgen' header); move or delete it",
        ),
    )
    assert snapshot(out_dir) == before
    assert diff_tree(out_dir, desired) == changes


def test_foreign_file_where_a_desired_file_goes_is_not_overwritten(out_dir: Path) -> None:
    (out_dir / "eu-west/network/manifest.yaml").write_bytes(b"hand edited\n")
    before = snapshot(out_dir)
    changes = apply_tree(out_dir, desired_tree())
    assert [c.path for c in changes.conflicts] == ["eu-west/network/manifest.yaml"]
    assert snapshot(out_dir) == before


def test_foreign_files_at_top_level_are_left_alone(out_dir: Path) -> None:
    (out_dir / "README.md").write_text("hand written\n")
    (out_dir / ".gitattributes").write_text("* -diff\n")
    desired = desired_tree()
    del desired["us-east"]

    changes = apply_tree(out_dir, desired)

    assert changes.conflicts == ()
    assert (out_dir / "README.md").read_text() == "hand written\n"
    assert (out_dir / ".gitattributes").read_text() == "* -diff\n"


def test_folders_holding_no_owned_file_are_not_ours(out_dir: Path) -> None:
    (out_dir / "docs").mkdir()
    (out_dir / "docs/guide.md").write_text("hand written\n")
    (out_dir / "empty").mkdir()
    changes = apply_tree(out_dir, desired_tree())
    assert changes == TreeChanges((), (), 5, ())
    assert (out_dir / "docs/guide.md").read_text() == "hand written\n"
    assert (out_dir / "empty").is_dir()


def test_deleted_pool_with_a_foreign_file_is_a_conflict(out_dir: Path) -> None:
    """Leaving it would keep syncing a deleted pool; removing it would delete someone's file."""
    (out_dir / "us-east/keep-me.txt").write_text("mine\n")
    before = snapshot(out_dir)
    desired = desired_tree()
    del desired["us-east"]
    changes = apply_tree(out_dir, desired)
    assert [c.path for c in changes.conflicts] == ["us-east/keep-me.txt"]
    assert changes.removed == ("us-east/network/manifest.yaml",)
    assert snapshot(out_dir) == before


def test_symlink_inside_pool_is_a_conflict_and_its_target_is_untouched(out_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "outside.yaml"
    target.write_bytes(doc("outside, owned-looking"))
    (out_dir / "eu-west/arena-0/linked.yaml").symlink_to(target)
    before, target_before = snapshot(out_dir), snapshot(tmp_path)
    desired = desired_tree()
    del desired["eu-west"]  # would remove the folder if the link did not stop it

    changes = apply_tree(out_dir, desired)

    assert changes.conflicts == (Conflict("eu-west/arena-0/linked.yaml", write._SYMLINK),)
    assert snapshot(out_dir) == before
    assert snapshot(tmp_path) == target_before


def test_pool_folder_that_is_a_symlink_is_a_conflict(out_dir: Path, tmp_path: Path) -> None:
    real = tmp_path / "real-pool"
    real.mkdir()
    (real / "network").mkdir()
    (real / "network/manifest.yaml").write_bytes(doc("old"))
    (out_dir / "ap-south").symlink_to(real, target_is_directory=True)
    before_out, before_real = snapshot(out_dir), snapshot(real)
    desired = desired_tree()
    desired["ap-south"] = {"network/manifest.yaml": doc("new")}

    changes = apply_tree(out_dir, desired)

    assert [c.path for c in changes.conflicts] == ["ap-south"]
    assert snapshot(out_dir) == before_out
    assert snapshot(real) == before_real


def test_a_link_directly_in_the_output_folder_stops_a_whole_apply(out_dir: Path, tmp_path: Path) -> None:
    """It may stand where a pool was, and Argo CD or Flux would follow it: a whole apply (and its diff, which
    check reports) refuses it; an apply scoped to other folders (render --pool) leaves it to a whole one."""
    (out_dir / "elsewhere").symlink_to(tmp_path, target_is_directory=True)
    desired = desired_tree()
    desired["us-east"]["network/manifest.yaml"] = doc("changed")
    before = snapshot(out_dir)

    assert apply_tree(out_dir, desired).conflicts == (Conflict("elsewhere", write._SYMLINK),)
    assert diff_tree(out_dir, desired).conflicts == (Conflict("elsewhere", write._SYMLINK),)
    assert snapshot(out_dir) == before

    assert apply_tree(out_dir, desired, scope=["us-east"]).conflicts == ()
    assert (out_dir / "elsewhere").is_symlink()


def test_output_folder_that_is_a_symlink_is_a_conflict(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "rendered").symlink_to(real, target_is_directory=True)
    changes = apply_tree(tmp_path / "rendered", desired_tree())
    assert [c.path for c in changes.conflicts] == ["."]
    assert list(real.iterdir()) == []


def test_special_file_in_pool_is_a_conflict_and_is_not_opened(out_dir: Path) -> None:
    os.mkfifo(out_dir / "eu-west/pipe")
    changes = apply_tree(out_dir, desired_tree())
    assert changes.conflicts == (Conflict("eu-west/pipe", "is not a regular file"),)


def test_file_where_a_pool_folder_goes_is_a_conflict(out_dir: Path) -> None:
    (out_dir / "ap-south").write_bytes(doc("a file, not a folder"))
    desired = desired_tree()
    desired["ap-south"] = {"network/manifest.yaml": doc("new")}
    changes = apply_tree(out_dir, desired)
    assert [c.path for c in changes.conflicts] == ["ap-south"]
    assert (out_dir / "ap-south").read_bytes() == doc("a file, not a folder")


def test_staging_name_taken_by_a_link_is_a_conflict(out_dir: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious").write_text("x")
    (out_dir / STAGING_DIR).symlink_to(victim, target_is_directory=True)
    desired = desired_tree()
    desired["us-east"]["network/manifest.yaml"] = doc("changed")
    changes = apply_tree(out_dir, desired)
    assert [c.path for c in changes.conflicts] == [STAGING_DIR]
    assert (victim / "precious").read_text() == "x"
    assert (out_dir / "us-east/network/manifest.yaml").read_bytes() == doc("us network")


# --- internal errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("folder", "path"),
    [
        ("eu-west", "/etc/passwd"),
        ("eu-west", "../escape.yaml"),
        ("eu-west", "a/../../escape.yaml"),
        ("eu-west", "a//b.yaml"),
        ("eu-west", "a/./b.yaml"),
        ("eu-west", "a/"),
        ("eu-west", ""),
        ("..", "x.yaml"),
        ("a/b", "x.yaml"),
        ("", "x.yaml"),
        (".fleetgen-staging", "x.yaml"),
    ],
)
def test_bad_paths_are_internal_errors(tmp_path: Path, folder: str, path: str) -> None:
    with pytest.raises(ValueError, match="internal error"):
        apply_tree(tmp_path, {folder: {path: doc("x")}})
    with pytest.raises(ValueError, match="internal error"):
        diff_tree(tmp_path, {folder: {path: doc("x")}})
    assert list(tmp_path.iterdir()) == []


def test_path_desired_as_file_and_folder_is_an_internal_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="both as a file and as a folder"):
        apply_tree(tmp_path, {"p": {"a/b": doc("x"), "a/b/c.yaml": doc("y")}})


def test_unowned_desired_bytes_are_an_internal_error(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="internal error"):
        apply_tree(tmp_path, {"p": {"x.yaml": b"kind: Pod\n"}})
    assert list(tmp_path.iterdir()) == []


def test_caller_data_is_not_mutated(tmp_path: Path) -> None:
    desired = desired_tree()
    apply_tree(tmp_path / "out", desired)
    assert desired == desired_tree()


# --- atomic swap: fallback and recovery -------------------------------------------------------------


def test_fallback_without_rename_exchange_converges(out_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where renameat2 is missing the swap is two renames; the result must be the same."""
    monkeypatch.setattr(staging, "exchange", lambda a, b: False)
    before = file_stats(out_dir)
    desired = desired_tree()
    desired["eu-west"]["arena-0/manifest.yaml"] = doc("changed")
    apply_tree(out_dir, desired)
    assert read_pools(out_dir) == desired
    after = file_stats(out_dir)
    assert after.pop("eu-west/arena-0/manifest.yaml") != before.pop("eu-west/arena-0/manifest.yaml")
    assert after == before
    assert not (out_dir / STAGING_DIR).exists()


def test_interrupted_fallback_swap_is_recovered(out_dir: Path) -> None:
    """Killed between the fallback's two renames: the pool is missing and its old tree is the backup."""
    staging = out_dir / STAGING_DIR
    (staging / "backup").mkdir(parents=True)
    (staging / "new/eu-west/arena-0").mkdir(parents=True)
    (staging / "new/eu-west/arena-0/manifest.yaml").write_bytes(doc("half"))
    os.rename(out_dir / "eu-west", staging / "backup/eu-west")
    assert diff_tree(out_dir, desired_tree()).written == (
        "eu-west/arena-0/manifest.yaml",
        "eu-west/arena-1000/manifest.yaml",
        "eu-west/network/manifest.yaml",
    )
    before = file_stats(staging / "backup")

    changes = apply_tree(out_dir, desired_tree())

    assert changes == TreeChanges((), (), 5, ())  # the restored backup already was the desired tree
    assert read_pools(out_dir) == desired_tree()
    restored = {k: v for k, v in file_stats(out_dir).items() if k.startswith("eu-west/")}
    assert restored == before  # same inodes and mtimes: the backup was moved back, not rewritten
    assert not staging.exists()


def test_stale_backup_is_dropped_when_the_live_folder_exists(out_dir: Path) -> None:
    staging = out_dir / STAGING_DIR
    (staging / "backup/eu-west").mkdir(parents=True)
    (staging / "backup/eu-west/old.yaml").write_bytes(doc("old"))
    assert apply_tree(out_dir, desired_tree()) == TreeChanges((), (), 5, ())
    assert read_pools(out_dir) == desired_tree()
    assert not staging.exists()


def test_recovery_never_moves_a_link_into_the_output_folder(out_dir: Path, tmp_path: Path) -> None:
    """Only a real folder of regular files is put back from the backup: a link there, or a folder holding one,
    is deleted with the staging area; what it leads to is untouched."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "manifest.yaml").write_bytes(doc("someone else's"))
    backup = out_dir / STAGING_DIR / "backup"
    (backup / "ap-south/network").mkdir(parents=True)
    (backup / "ap-south/network/manifest.yaml").symlink_to(victim / "manifest.yaml")
    (backup / "sa-east").symlink_to(victim, target_is_directory=True)
    before = snapshot(victim)

    changes = apply_tree(out_dir, desired_tree())

    assert changes == TreeChanges((), (), 5, ())
    assert sorted(os.listdir(out_dir)) == ["_delivery", "eu-west", "us-east"]
    assert snapshot(victim) == before


# --- write_file_atomic (lock files) ----------------------------------------------------------------


def test_write_file_atomic_skips_identical_bytes(tmp_path: Path) -> None:
    lock = tmp_path / "allocations.lock"
    assert write_file_atomic(lock, b"a 1\n") is True
    os.utime(lock, ns=(OLD_NS, OLD_NS))
    before = snapshot(tmp_path)
    assert write_file_atomic(lock, b"a 1\n") is False
    assert snapshot(tmp_path) == before


def test_write_file_atomic_replaces_with_new_bytes_and_keeps_mode(tmp_path: Path) -> None:
    lock = tmp_path / "allocations.lock"
    lock.write_bytes(b"a 1\n")
    lock.chmod(0o640)
    old_inode = lock.stat().st_ino
    assert write_file_atomic(lock, b"a 2\n") is True
    assert lock.read_bytes() == b"a 2\n"
    assert lock.stat().st_ino != old_inode  # replaced by rename, never truncated in place
    assert lock.stat().st_mode & 0o777 == 0o640
    assert sorted(os.listdir(tmp_path)) == ["allocations.lock"]  # no temporary file left behind


def test_write_file_atomic_refuses_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "target.lock"
    target.write_bytes(b"old\n")
    (tmp_path / "allocations.lock").symlink_to(target)
    with pytest.raises(OSError, match="symbolic link"):
        write_file_atomic(tmp_path / "allocations.lock", b"new\n")
    assert target.read_bytes() == b"old\n"
    assert (tmp_path / "allocations.lock").is_symlink()


# --- property: apply converges, and a second apply is a no-op --------------------------------------

_paths = st.lists(st.sampled_from(["u0", "u1", "_x"]), min_size=0, max_size=2).map(
    lambda dirs: "/".join([*dirs, "m.yaml"])
)
_trees = st.dictionaries(
    st.sampled_from(["eu", "us", "_delivery"]),
    st.dictionaries(_paths, st.sampled_from([b"", b"a", b"b\n"]).map(lambda b: OWNED_MARKER + b), max_size=4),
    max_size=3,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=_trees, second=_trees)
def test_apply_converges_and_keeps_unchanged_files(
    first: dict[str, dict[str, bytes]], second: dict[str, dict[str, bytes]]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rendered"
        apply_tree(out, first)
        stats = file_stats(out) if out.exists() else {}
        changes = apply_tree(out, second)
        expected = {pool: files for pool, files in second.items() if files}
        assert (read_pools(out) if out.exists() else {}) == expected
        assert diff_tree(out, second) == TreeChanges((), (), changes.unchanged + len(changes.written), ())
        kept = {
            f"{pool}/{rel}"
            for pool, files in second.items()
            for rel, data in files.items()
            if first.get(pool, {}).get(rel) == data
        }
        assert changes.unchanged == len(kept)
        now = file_stats(out) if out.exists() else {}
        assert {k: now[k] for k in kept} == {k: stats[k] for k in kept}
        assert not (out / STAGING_DIR).exists()


# --- kill -9 at random moments ----------------------------------------------------------------------


def _load_child() -> ModuleType:
    path = Path(__file__).with_name("_render_child.py")
    spec = importlib.util.spec_from_file_location("_render_child", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_child(out_dir: Path, version: str, delay: float | None) -> tuple[int, str]:
    """Start the child, wait until it is about to apply, then kill it after `delay` (None: let it finish)."""
    child = Path(__file__).with_name("_render_child.py")
    process = subprocess.Popen([sys.executable, str(child), str(out_dir), version], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline() == "ready\n"
    if delay is not None:
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
    output = process.stdout.read()
    return process.wait(timeout=30), output


def test_kill_at_any_moment_leaves_each_pool_old_or_new(tmp_path: Path) -> None:
    trees = _load_child()
    old, new = trees.build_tree("old"), trees.build_tree("new")
    out = tmp_path / "rendered"
    apply_tree(out, old)

    code, output = _run_child(out, "new", None)  # calibrate: how long does the child's apply take?
    assert code == 0 and read_pools(out) == new
    runtime = float(output.split()[1])

    rng = random.Random(20240611)
    killed = 0
    for _ in range(20):
        apply_tree(out, old)
        assert read_pools(out) == old
        code, _output = _run_child(out, "new", rng.uniform(0, runtime * 1.2))
        killed += code == -signal.SIGKILL

        on_disk = read_pools(out)
        for pool in sorted(old.keys() | new.keys()):
            state = on_disk.get(pool, {})
            assert state in (old.get(pool, {}), new.get(pool, {})), f"{pool} is neither old nor new"
        assert set(on_disk) <= old.keys() | new.keys()

        apply_tree(out, new)
        assert read_pools(out) == new
        assert sorted(os.listdir(out)) == sorted(new)
        assert diff_tree(out, new) == TreeChanges((), (), sum(map(len, new.values())), ())
    assert killed >= 5, "the kills should mostly land while the child is still writing"
