"""Survey: digests of the repository's parts as they are on disk, or as a render wrote them.

A part's digest is taken over the sorted (path, digest of content) of its files, paths relative to the
repository (`fleets/...`, `rendered/...`), so the same files give the same digest whether they are read
from disk or taken from the bytes a render just wrote. A link stands for its target text; under fleets/,
where the loader reads through links, also for the bytes it leads to.

The fleet files are surveyed with marks too (inode, size, times, of a link's target as well): a render
surveys its inputs before it reads them and again after it writes, and vouches for nothing that changed in
between, not even a file changed and changed back (the kernel moves ctime on every change). Content digests
come through a `DigestCache`, which reads only the files whose stat facts changed since it recorded them.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..fleetfiles.entries import LOCK_FILE
from .digest_cache import UNCACHED, DigestCache

Entry = tuple[str, bytes]  # (path from the repository root, sha256 of the content)


@dataclass(frozen=True, slots=True)
class Files:
    """What one part of the fleets folder held: its entries, and what says each file was not rewritten."""

    entries: tuple[Entry, ...]
    marks: tuple[tuple[str, tuple[int, ...]], ...]


@dataclass(frozen=True, slots=True)
class Inputs:
    """The fleets folder: what lies beside the pool folders, and each pool folder (None: behind a link)."""

    shared: Files
    pools: dict[str, Files | None]


def listing(folder: Path) -> list[Path]:
    """Non-dot entries of a folder, sorted by name; none when it is missing or a link."""
    if folder.is_symlink() or not folder.is_dir():
        return []
    return sorted((entry for entry in folder.iterdir() if not entry.name.startswith(".")), key=lambda p: p.name)


def inputs(fleets: Path, cache: DigestCache = UNCACHED) -> Inputs:
    """The fleets folder as it is now: a pool folder is any folder in it, as the loader sees them."""
    pools: dict[str, Files | None] = {}
    shared: list[tuple[Path, str]] = []
    for entry in listing(fleets):
        if not entry.is_dir():
            shared.append((entry, f"fleets/{entry.name}"))
        elif entry.is_symlink():
            pools[entry.name] = None
        else:
            pools[entry.name] = _files([(entry, f"fleets/{entry.name}")], cache)
    return Inputs(_files(shared, cache), pools)


def _files(roots: Iterable[tuple[Path, str]], cache: DigestCache) -> Files:
    """Each mark is taken before the content is read, so a change while reading shows in one or the other."""
    entries: list[Entry] = []
    marks: list[tuple[str, tuple[int, ...]]] = []
    for root, label in roots:
        for path, file in walk(root, label):
            marks.append((path, _mark(file)))
            entries.append((path, cache.digest(file, _followed)))
    return Files(tuple(entries), tuple(marks))


def walk(root: Path, label: str) -> Iterator[tuple[str, Path]]:
    """(`label/relative path`, path) of every file and link below `root`, or of root itself when it is not a
    folder; a folder behind a link is not entered. Nothing when root does not exist."""
    if root.is_symlink() or not root.is_dir():
        if os.path.lexists(root):
            yield label, root
        return
    for directory, folders, names in os.walk(root):
        base = Path(directory)
        links = [name for name in folders if (base / name).is_symlink()]
        folders[:] = sorted(name for name in folders if name not in links)
        for name in sorted([*names, *links]):
            path = base / name
            yield f"{label}/{path.relative_to(root).as_posix()}", path


def _content(path: Path, follow: bool) -> bytes:
    """A file's bytes. A link stands for its target text, so adding, removing or re-pointing one counts;
    with `follow` (fleet files, which the loader reads through links) also for the bytes it leads to. A
    file that is gone since it was listed, or cannot be read, stands for its error."""
    try:
        if path.is_symlink():
            text = b"link\0" + os.readlink(path).encode()
            return text + b"\0" + path.read_bytes() if follow and path.is_file() else text
        return path.read_bytes() if path.is_file() else b"not a regular file"
    except OSError as problem:
        return f"cannot be read\0{problem.errno}".encode()


def _followed(path: Path) -> bytes:
    return _content(path, follow=True)


def _unfollowed(path: Path) -> bytes:
    return _content(path, follow=False)


def _mark(path: Path) -> tuple[int, ...]:
    """What changes whenever a file is rewritten or replaced: inode, size, mtime and ctime (and the target's)."""
    try:
        info = os.lstat(path)
        mark = (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
        if stat.S_ISLNK(info.st_mode):
            target = os.stat(path)
            mark += (target.st_dev, target.st_ino, target.st_size, target.st_mtime_ns, target.st_ctime_ns)
    except OSError:
        return ()
    return mark


def rendered_entries(root: Path, label: str, cache: DigestCache = UNCACHED) -> list[Entry]:
    """The entries of a folder of the output as it is on disk (links are never followed there)."""
    return [(path, cache.digest(file, _unfollowed)) for path, file in walk(root, label)]


def content_digests(files: Mapping[str, bytes]) -> dict[str, bytes]:
    """path -> sha256 of the bytes a render writes there (taken where the bytes are made: a compile worker)."""
    return {relative: hashlib.sha256(data).digest() for relative, data in files.items()}


def written_entries(label: str, digests: Mapping[str, bytes]) -> list[Entry]:
    """The entries of an output folder that holds exactly the files of `digests` (`content_digests`), as a
    render has just written it."""
    return [(f"{label}/{relative}", sha) for relative, sha in digests.items()]


def digest(*parts: Iterable[Entry]) -> str:
    """One digest of several parts' entries, in path order."""
    hashed = hashlib.sha256()
    for path, content in sorted(entry for part in parts for entry in part):
        hashed.update(path.encode() + b"\0" + content)
    return hashed.hexdigest()


def changed_since(
    fleets: Path, before: Inputs, after: Inputs, locks: Mapping[str, str], loaded: Collection[str]
) -> list[str]:
    """The parts of the fleets folder (itself, or a pool folder) that a render cannot vouch for: changed
    between `before` (taken before it read them) and `after` (taken after it wrote), beyond the `locks` it
    wrote (pool -> text); `loaded` are the pools it read or reused, which must be the pools on disk."""
    changed = []
    if before.shared != after.shared or not before.pools.keys() == after.pools.keys() == set(loaded):
        changed.append(str(fleets))
    for pool, text in sorted(locks.items()):
        old, new = before.pools.get(pool), after.pools.get(pool)
        if old is None or new is None:
            continue  # a pool folder behind a link is never vouched for
        lock = f"fleets/{pool}/{LOCK_FILE}"
        expected = {**dict(old.entries), lock: hashlib.sha256(text.encode("utf-8")).digest()}
        old_marks = [mark for mark in old.marks if mark[0] != lock]
        if dict(new.entries) != expected or [mark for mark in new.marks if mark[0] != lock] != old_marks:
            changed.append(str(fleets / pool))
    return changed
