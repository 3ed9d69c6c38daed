"""Revision: `rendered/` and the locks as they are at a git revision, read with git and never checked out,
for `plan --base`.

The repository is the one that holds the fleets folder, wherever that sits below git's top level. Files are
compared by git's blob ids, so plan reads from git only what it looks into: the locks, the network
manifests, the unit manifests that differ, and the files a render would remove (whose header says whether
they are fleetgen's).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..diagnostics import Diagnostic, error
from ..fleetfiles.load import LOCK_FILE
from ..manifests.delivery_check import DELIVERY_FOLDER
from ..manifests.render import MANIFEST
from .compile import PoolOutput
from .write import OWNED_MARKER, TreeChanges

_HASHES = {40: "sha1", 64: "sha256"}  # git's object formats, by the length of an object id in hex
_LINK_MODE = "120000"


@dataclass(frozen=True, slots=True)
class Revision:
    """The output folder's files and the pools' locks at one commit, as blob ids (read on demand)."""

    top: Path  # git's top level
    commit: str
    files: Mapping[str, str]  # path below the output folder -> blob id; links and dot-folders left out
    locks: Mapping[str, str]  # pool -> blob id of its allocations.lock

    def read(self, blobs: Iterable[str]) -> dict[str, bytes]:
        """Blob id -> content, in one `git cat-file --batch`."""
        wanted = sorted(set(blobs))
        if not wanted:
            return {}
        batch = _git(self.top, "cat-file", "--batch", stdin="".join(f"{blob}\n" for blob in wanted).encode())
        if batch.returncode != 0:
            raise RuntimeError(f"git cat-file failed: {batch.stderr.decode(errors='replace').strip()}")
        return dict(zip(wanted, _batch_contents(batch.stdout), strict=True))

    def blob_id(self, data: bytes) -> str:
        """The id git gives a file of these bytes, so that equal files are known without reading them."""
        digest = hashlib.new(_HASHES[len(self.commit)], b"blob %d\0" % len(data))
        digest.update(data)
        return digest.hexdigest()


def open_revision(fleets: Path, out: Path, ref: str) -> Revision | Diagnostic:
    """The revision `ref` of the git repository holding `fleets`, or what stands in the way."""
    place = f"--base {ref}"
    top = _top_level(fleets.resolve().parent, place)
    if isinstance(top, Diagnostic):
        return top
    commit = _git(top, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    if commit.returncode != 0:
        hint = (
            "name a branch, tag or commit that `git rev-parse` knows: fetch it first (`git fetch origin BRANCH`), "
            "and in a shallow clone enough history (actions/checkout's fetch-depth: 2 for HEAD^1)"
        )
        return error(place, 0, 0, f"no commit {ref!r} in the git repository at {top}", hint)
    where = {"--out": out.resolve(), "--fleets": fleets.resolve()}
    outside = [option for option, path in where.items() if not path.is_relative_to(top)]
    if outside:
        message = f"{outside[0]} {where[outside[0]]} is outside the git repository at {top}"
        return error(place, 0, 0, message, "--base compares with the folders of the repository that holds them")
    commit_id = commit.stdout.decode().strip()
    listing = _git(top, "ls-tree", "-r", "-z", "--full-tree", commit_id)
    if listing.returncode != 0:
        return error(place, 0, 0, f"cannot list the commit: {_said(listing)}", f"check that `git ls-tree {ref}` works")
    relative = {option: path.relative_to(top).as_posix() for option, path in where.items()}
    files, locks = _classified(_entries(listing.stdout), relative["--out"], relative["--fleets"])
    return Revision(top, commit_id, files, locks)


def _top_level(folder: Path, place: str) -> Path | Diagnostic:
    """git's top level for `folder`, the one that holds the fleets folder."""
    try:
        found = _git(folder, "rev-parse", "--show-toplevel")
    except (FileNotFoundError, NotADirectoryError) as problem:
        missing = "git is not installed" if problem.filename == "git" else f"{folder} is not a folder"
        return error(place, 0, 0, missing, "install git, or run plan without --base")
    if found.returncode != 0:
        hint = "--base reads rendered/ and the locks from git; without it, plan compares with those on disk"
        return error(place, 0, 0, f"{folder} is not in a git repository", hint)
    return Path(os.fsdecode(found.stdout.rstrip(b"\n")))


def _git(folder: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=folder, input=stdin, capture_output=True, check=False)


def _said(result: subprocess.CompletedProcess[bytes]) -> str:
    return result.stderr.decode(errors="replace").strip().removeprefix("fatal: ") or f"exit {result.returncode}"


def _entries(listing: bytes) -> Iterator[tuple[str, str, str, str]]:
    """(mode, type, blob id, path) of each `git ls-tree -z` record."""
    for record in listing.split(b"\0"):
        if record:
            head, _, path = record.partition(b"\t")
            mode, kind, blob = head.decode().split(" ")
            yield mode, kind, blob, os.fsdecode(path)


def _classified(
    entries: Iterable[tuple[str, str, str, str]], out: str, fleets: str
) -> tuple[dict[str, str], dict[str, str]]:
    """The files below the output folder (not its dot-entries, as a render leaves those alone) and the locks."""
    files, locks = {}, {}
    out_prefix, fleets_prefix = _prefix(out), _prefix(fleets)
    for mode, kind, blob, path in entries:
        if kind != "blob" or mode == _LINK_MODE:
            continue
        if path.startswith(out_prefix) and not path.removeprefix(out_prefix).startswith("."):
            files[path.removeprefix(out_prefix)] = blob
        pool, slash, name = path.removeprefix(fleets_prefix).partition("/")
        if path.startswith(fleets_prefix) and slash and name == LOCK_FILE:
            locks[pool] = blob
    return files, locks


def _prefix(folder: str) -> str:
    return "" if folder == "." else f"{folder}/"


def _batch_contents(output: bytes) -> Iterator[bytes]:
    """The contents in `git cat-file --batch` output: `<id> <type> <size>\\n<content>\\n` each."""
    at = 0
    while at < len(output):
        header_end = output.index(b"\n", at)
        size = int(output[at:header_end].rsplit(b" ", 1)[1])
        yield output[header_end + 1 : header_end + 1 + size]
        at = header_end + 1 + size + 1


@dataclass(frozen=True, slots=True)
class AtRevision:
    """What plan compares with for `--base`: the revision's files, where they equal the desired ones taken
    from those instead of from git."""

    revision: Revision
    desired: Mapping[str, Mapping[str, bytes]]

    def changes(self, pools: tuple[str, ...], keep: frozenset[str]) -> TreeChanges:
        """What a render over the revision's tree would write and remove, as `write.diff_tree` tells it."""
        by_folder: dict[str, dict[str, str]] = defaultdict(dict)
        for path, blob in self.revision.files.items():
            folder, _, inside = path.partition("/")
            by_folder[folder][inside] = blob
        scope = set(pools) if pools else {*self.desired, *(f for f in by_folder if f not in keep)}
        written, candidates, unchanged = [], {}, 0
        for folder in sorted(scope):
            wanted, there = self.desired.get(folder, {}), by_folder.get(folder, {})
            for inside, data in wanted.items():
                if there.get(inside) == self.revision.blob_id(data):
                    unchanged += 1
                else:
                    written.append(f"{folder}/{inside}")
            candidates.update({f"{folder}/{inside}": blob for inside, blob in there.items() if inside not in wanted})
        contents = self.revision.read(candidates.values())
        removed = [path for path, blob in candidates.items() if contents[blob].startswith(OWNED_MARKER)]
        return TreeChanges(tuple(sorted(written)), tuple(sorted(removed)), unchanged, ())

    def lock_text(self, pool: PoolOutput) -> str | None:
        blob = self.revision.locks.get(pool.name)
        return None if blob is None else self.revision.read([blob])[blob].decode("utf-8", errors="replace")

    def file(self, path: str) -> bytes | None:
        return self.files([path]).get(path)

    def unit_heads(self, pool: str) -> Iterator[bytes]:
        units = sorted(path for path in self.revision.files if _is_unit_manifest(path, pool))
        found = self.files(units)
        yield from (found[path] for path in units)

    def delivery_files(self) -> dict[str, bytes]:
        """The revision's rendered/_delivery/ files that fleetgen wrote, by path below that folder."""
        prefix = f"{DELIVERY_FOLDER}/"
        found = self.files(path for path in self.revision.files if path.startswith(prefix))
        return {path.removeprefix(prefix): data for path, data in found.items() if data.startswith(OWNED_MARKER)}

    def files(self, paths: Iterable[str]) -> dict[str, bytes]:
        """Path -> content at the revision, for those of `paths` it holds."""
        found, unread = {}, {}
        for path in paths:
            blob = self.revision.files.get(path)
            folder, _, inside = path.partition("/")
            same = self.desired.get(folder, {}).get(inside)
            if same is not None and blob == self.revision.blob_id(same):
                found[path] = same
            elif blob is not None:
                unread[path] = blob
        contents = self.revision.read(unread.values())
        return found | {path: contents[blob] for path, blob in unread.items()}


def _is_unit_manifest(path: str, pool: str) -> bool:
    parts = path.split("/")
    return len(parts) == 3 and parts[0] == pool and parts[2] == MANIFEST
