"""Digest cache: what a file's content digest was, trusted while the file's stat facts stay the same.

Surveying the repository hashes every fleet file and the whole of rendered/ (250 MB at full size). Like git's
index, this cache lets a survey trust a file's recorded digest while its (device, inode, size, mtime, ctime,
mode) are the ones recorded: any write or replacement moves the ctime, which no one can set back. It lives in
the repository's git folder (`.git/fleetgen-cache`), so it is local and never committed: the stamp stays the
same on every machine, and a fresh clone, or a repository with no git folder, simply hashes everything.

Git's racy-timestamp problem: a file written in the same timestamp tick as its stat was recorded can change
again within that tick without changing its stat facts. So a digest is recorded only when the file's mtime
and ctime are strictly older than a clock mark taken, on the same device, before its stat: the file system's
own time, read from a mark file created in the git folder. A file that is not yet that old ("racily clean")
is hashed again on each run until it is.

Entries are keyed by absolute path, so a moved or copied repository trusts nothing; a damaged cache is
ignored and written again.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import stat
import threading
from collections.abc import Callable
from pathlib import Path

from ..fleetfiles.entries import repository_of
from .files import write_new_file

CACHE_FILE = "fleetgen-cache"
_FORMAT = "fleetgen digest cache v1"

Facts = tuple[int, ...]  # device, inode, size, mtime_ns, ctime_ns, mode


def git_folder(fleets: Path) -> Path | None:
    """The git folder of the repository that holds `fleets` (a worktree's `.git` file followed), or None."""
    root = repository_of(fleets)
    for folder in (root, *root.parents):
        dot_git = folder / ".git"
        if dot_git.is_dir():
            return dot_git
        if dot_git.is_file():
            text = dot_git.read_text(encoding="utf-8", errors="replace")
            target = folder / text.removeprefix("gitdir:").strip() if text.startswith("gitdir:") else None
            return target if target is not None and target.is_dir() else None
    return None


class DigestCache:
    """The cache of one run: entries loaded, entries confirmed or recorded by this run."""

    def __init__(self, folder: Path | None) -> None:
        self._folder = folder  # None: nothing is cached
        self._known = _load(folder / CACHE_FILE) if folder is not None else {}
        self._seen: dict[str, tuple[Facts, str]] = {}
        self._changed = False
        self._clock: tuple[int, int] | None = None  # (device, mtime_ns) of the mark, once taken
        self._lock = threading.Lock()

    @classmethod
    def of(cls, fleets: Path) -> DigestCache:
        return cls(git_folder(fleets))

    def digest(self, path: Path, content: Callable[[Path], bytes]) -> bytes:
        """sha256 of `content(path)`, from the cache when `path` is a regular file whose stat facts are the
        recorded ones."""
        facts = _facts(path) if self._folder is not None else None
        if facts is None:
            return hashlib.sha256(content(path)).digest()
        key = os.path.abspath(path)
        known = self._known.get(key)
        if known is not None and known[0] == facts:
            self._seen[key] = known
            return bytes.fromhex(known[1])
        clock = self._mark()
        facts = _facts(path)  # taken after the mark: what the content read next is trusted by
        found = hashlib.sha256(content(path)).digest()
        with self._lock:
            self._changed = True
            if facts is not None and clock is not None and facts[0] == clock[0] and max(facts[3:5]) < clock[1]:
                self._seen[key] = (facts, found.hex())
        return found

    def save(self, complete: bool) -> None:
        """Write the cache atomically when this run changed it; `complete` when the run surveyed every file
        of the repository, so that entries it did not see are dropped."""
        if self._folder is None:
            return
        entries = self._seen if complete else {**self._known, **self._seen}
        if not self._changed and entries.keys() == self._known.keys():
            return
        document = {"format": _FORMAT, "entries": {key: [*facts, digest] for key, (facts, digest) in entries.items()}}
        target = self._folder / CACHE_FILE
        temporary = self._folder / f"{CACHE_FILE}.{os.getpid()}.tmp"
        try:
            write_new_file(temporary, json.dumps(document, sort_keys=True).encode())
            os.replace(temporary, target)
        except OSError:
            temporary.unlink(missing_ok=True)  # a read-only git folder: the next run hashes again

    def _mark(self) -> tuple[int, int] | None:
        """The file system's time now, as the mtime of a file created for it; None when none can be made."""
        with self._lock:
            if self._clock is None and self._folder is not None:
                name = self._folder / f"{CACHE_FILE}-clock.{secrets.token_hex(6)}"
                try:
                    handle = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    try:
                        info = os.fstat(handle)
                    finally:
                        os.close(handle)
                        os.unlink(name)
                except OSError:
                    return None
                self._clock = (info.st_dev, info.st_mtime_ns)
            return self._clock


def _facts(path: Path) -> Facts | None:
    """A regular file's stat facts; None for anything else (links and what cannot be read are not cached)."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_mode)


def _load(path: Path) -> dict[str, tuple[Facts, str]]:
    """The recorded entries; none when the cache is missing or damaged in any way."""
    try:
        document = json.loads(path.read_bytes())
        if document["format"] != _FORMAT:
            return {}
        entries: dict[str, tuple[Facts, str]] = {}
        for key, row in document["entries"].items():
            *facts, digest = row
            if len(facts) != 6 or not all(type(value) is int for value in facts) or len(bytes.fromhex(digest)) != 32:
                return {}
            entries[key] = (tuple(facts), digest)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}
    return entries


UNCACHED = DigestCache(None)  # hashes every file: for a survey that must not trust what was recorded
