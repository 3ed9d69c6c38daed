"""Staging: one top-level folder of the output replaced by its new content in a single atomic swap.

The complete new folder is built under `.fleetgen-staging/` (unchanged files hard-linked so their inode
and mtime survive, changed files written fresh) and exchanged with the live one by
`renameat2(RENAME_EXCHANGE)`; a run killed at any point leaves each folder fully old or fully new (a pool
folder may keep, for a while, units it no longer has: see `write`), and `recover` clears what it left.
Only this package's `write` uses it.
"""

from __future__ import annotations

import fcntl
import os
import posixpath
import shutil
import stat
from collections.abc import Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .files import exchange, fsync_dir, link_or_copy, write_new_file

STAGING_DIR = ".fleetgen-staging"
"""Our scratch area inside the output folder (dot-names there are reserved; git ignores this one)."""

_NEW = "new"  # staged trees; after an exchange, the old tree they replaced (garbage either way)
_BACKUP = "backup"  # fallback swap only: the live tree moved aside; restored if the live one is missing
_TRASH = "trash"  # whole pool folders being removed (garbage)
_STAGING_THREADS = 4  # folders staged at once: enough to keep the disk busy while one waits on fsync


@dataclass
class FolderPlan:
    """One top-level folder in scope: what it should hold, and which live files can be kept as they are."""

    name: str
    files: dict[str, bytes]
    keep: set[str] = field(default_factory=set)
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    live_exists: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.written or self.removed)

    @property
    def vanishing_units(self) -> list[str]:
        """The sub-folders (units) whose every file goes: the ones a delivery object may still name."""
        kept = {relative.split("/", 1)[0] for relative in self.files}
        return sorted({relative.split("/", 1)[0] for relative in self.removed if "/" in relative} - kept)


# --- applying ---------------------------------------------------------------------------------------


@contextmanager
def locked(out_dir: Path) -> Iterator[None]:
    """Serialise concurrent runs on one output folder (they would clear each other's staging area).

    flock on the folder itself: no lock file to commit or clean up, released by the kernel on kill -9.
    """
    fd = os.open(out_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def recover(out_dir: Path) -> None:
    """Undo what a killed run left behind: restore a folder moved aside by the fallback swap if its live
    copy is missing (it is then the complete old tree), and delete everything else in staging. Only a real
    folder of regular files is restored: a link there is not ours, and is deleted, never moved in."""
    staging = out_dir / STAGING_DIR
    if not staging.is_dir():
        return
    backups = staging / _BACKUP
    if backups.is_dir() and not backups.is_symlink():
        for entry in sorted(os.listdir(backups)):
            if not os.path.lexists(out_dir / entry) and _plain_folder(backups / entry):
                os.rename(backups / entry, out_dir / entry)
                fsync_dir(out_dir)
    shutil.rmtree(staging)
    fsync_dir(out_dir)


def _plain_folder(path: Path) -> bool:
    """A folder (not a link to one) holding only folders and regular files, as fleetgen writes them."""
    if path.is_symlink() or not path.is_dir():
        return False
    for directory, folders, files in os.walk(path):
        for name in [*folders, *files]:
            mode = os.lstat(Path(directory, name)).st_mode
            if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
                return False
    return True


def stage_folders(out_dir: Path, folders: Collection[FolderPlan]) -> dict[str, Path]:
    """Build the new content of each folder under staging, several at once: writing and fsync wait on the
    disk, not on Python, so threads overlap them. Nothing live is touched; `publish_folder` swaps each in."""
    parent = _staging_subdir(out_dir, _NEW)
    staged = {folder.name: parent / folder.name for folder in folders}
    with ThreadPoolExecutor(max_workers=_STAGING_THREADS) as threads:
        done = [threads.submit(_stage, out_dir / folder.name, staged[folder.name], folder) for folder in folders]
    for future in done:
        future.result()
    return staged


def publish_folder(out_dir: Path, folder: FolderPlan, staged: Path | None, lingering: Collection[str] = ()) -> None:
    """Replace one top-level folder by its `staged` content (None: no content, the folder goes) in a single
    atomic step, then drop the old tree. The `lingering` units of the live folder are carried into the new
    one as they are (see `drop_units`)."""
    staging = out_dir / STAGING_DIR
    live = out_dir / folder.name
    if staged is None:
        if folder.live_exists:
            trash = _staging_subdir(out_dir, _TRASH) / folder.name
            os.rename(live, trash)
            fsync_dir(out_dir)
            shutil.rmtree(trash)
        return
    for unit in lingering:
        _carry(live / unit, staged / unit)
    if not folder.live_exists:
        os.rename(staged, live)
        fsync_dir(out_dir)
        return
    if exchange(staged, live):
        old = staged
        fsync_dir(out_dir)
        fsync_dir(staged.parent)
    else:
        # No RENAME_EXCHANGE: two renames, with a window where the folder is missing. The backup lives
        # under staging/backup so the next run can put it back (see recover).
        old = _staging_subdir(out_dir, _BACKUP) / folder.name
        os.rename(live, old)
        os.rename(staged, live)
        for directory in (out_dir, old.parent, staging / _NEW):
            fsync_dir(directory)
    shutil.rmtree(old)


def drop_units(out_dir: Path, name: str, units: Collection[str]) -> None:
    """Remove the units a pool folder kept past its swap, once no delivery object names them."""
    if not units:
        return
    trash = _staging_subdir(out_dir, _TRASH) / name
    trash.mkdir()
    for unit in units:
        os.rename(out_dir / name / unit, trash / unit)
    fsync_dir(out_dir / name)
    shutil.rmtree(trash)


def _staging_subdir(out_dir: Path, kind: str) -> Path:
    path = out_dir / STAGING_DIR / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def _stage(live: Path, staged: Path, folder: FolderPlan) -> None:
    """Build the complete new folder: unchanged files hard-linked (same inode and mtime), others fresh."""
    staged.mkdir()
    made: set[str] = {""}
    for rel in sorted(folder.files):
        parent = posixpath.dirname(rel)
        if parent not in made:
            (staged / parent).mkdir(parents=True, exist_ok=True)
            parts = parent.split("/")
            made.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
        target = staged / rel
        if rel in folder.keep:
            link_or_copy(live / rel, target, folder.files[rel])
        else:
            write_new_file(target, folder.files[rel])
    for parent in sorted(made, key=lambda p: (-p.count("/"), p)):
        fsync_dir(staged / parent if parent else staged)


def _carry(live: Path, staged: Path) -> None:
    """A live unit into the staged folder as it is, hard-linked file by file (the plan saw only our files)."""
    for directory, folders, files in os.walk(live):
        folders.sort()
        target = staged / Path(directory).relative_to(live)
        target.mkdir()
        for name in sorted(files):
            link_or_copy(Path(directory, name), target / name)
        fsync_dir(target)
    fsync_dir(staged.parent)
