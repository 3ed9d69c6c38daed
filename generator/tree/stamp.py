"""Stamp: digests of every input and output, so that unchanged pools are recognised without rendering them.

A render ends by writing `rendered/.fleetgen-stamp`. Its header holds the digest of fleetgen's own code and
the settings, of what lies outside the pool folders (fleets/gitops.yaml, files beside the pools) and of
rendered/_delivery; then one line per pool holds the digest of `fleets/<pool>/` (lock included) with
`rendered/<pool>/`, and the pool's record (`record.PoolRecord`).

Rendering with the lock it just wrote changes nothing (guarantee 3), and a pool's files depend on nothing
outside its own folder, so a pool whose digest still matches would be rendered to exactly what is on disk:
render and check reuse it unread. When everything matches, they stop before reading any fleet file. Anything
else (an edited file, a new fleetgen, another --kubernetes-version, a changed gitops.yaml) makes the pools
concerned, or all of them, render again. One line per pool also lets git merge the stamps of two pull
requests that changed different pools. The stamp is not YAML, and a dot-file, so neither Argo CD nor Flux
reads it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path

from ..diagnostics import Diagnostic
from ..manifests.delivery import DELIVERY_FOLDER
from .files import write_file_atomic
from .record import PoolRecord, diagnostics_from_json, diagnostics_to_json, expect_text, pools_overlap

STAMP_FILE = ".fleetgen-stamp"
_DEPENDENCIES = ("kubernetes-validate", "pydantic", "PyYAML", "jsonschema")
_FORMAT = "fleetgen stamp v2"
_WORKERS = min(4, os.cpu_count() or 1)


@cache
def code_fingerprint() -> str:
    """fleetgen's own files and its dependencies' versions: a changed fleetgen never trusts an old stamp."""
    digest = hashlib.sha256(_FORMAT.encode())
    package = Path(__file__).resolve().parents[1]  # the whole generator package, every stage
    for relative, content in _tree(package):
        if not relative.endswith(".pyc"):
            digest.update(relative.encode() + b"\0" + content)
    for name in _DEPENDENCIES:
        digest.update(f"{name}={_version(name)}\0".encode())
    return digest.hexdigest()


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"


def _tree(root: Path, follow: bool = False) -> Iterator[tuple[str, bytes]]:
    """(posix path below `root`, content) in sorted order; a folder behind a link is not entered. Nothing
    when root is not a folder."""
    if root.is_symlink() or not root.is_dir():
        return
    for directory, folders, files in os.walk(root):
        base = Path(directory)
        links = sorted(name for name in folders if (base / name).is_symlink())
        skipped = {*links, "__pycache__"}
        folders[:] = sorted(f for f in folders if f not in skipped and not f.startswith(".fleetgen"))
        for name in sorted([*files, *links]):
            if name != STAMP_FILE:
                path = base / name
                yield path.relative_to(root).as_posix(), _content(path, follow)


def _content(path: Path, follow: bool) -> bytes:
    """A file's bytes. A link stands for its target text, so adding, removing or re-pointing one counts;
    with `follow` (fleet files, which the loader reads through links) also for the bytes it leads to."""
    if path.is_symlink():
        text = b"link\0" + os.readlink(path).encode()
        return text + b"\0" + path.read_bytes() if follow and path.is_file() else text
    return path.read_bytes() if path.is_file() else b"not a regular file"


def _digest(parts: Iterable[tuple[str, Path]]) -> str:
    """One digest of several trees (or single files), each under its label; links are followed to the files
    they lead to under the label "fleets" only."""
    digest = hashlib.sha256()
    for label, root in parts:
        follow = label == "fleets"
        if root.is_dir() and not root.is_symlink():
            entries: Iterable[tuple[str, bytes]] = _tree(root, follow)
        else:
            entries = [("", _content(root, follow))] if os.path.lexists(root) else []
        for relative, content in entries:
            digest.update(f"{label}/{relative}\0".encode())
            digest.update(hashlib.sha256(content).digest())
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Survey:
    """The repository as it is on disk now: digests of the settings, the shared part, and each pool."""

    key: str  # code and settings
    shared: str  # what lies beside the pool folders: in fleets/, and in rendered/ but for _delivery
    delivery: str  # rendered/_delivery
    pools: dict[str, str | None]  # pool folder -> digest of its inputs and outputs (None: behind a link)


def survey(fleets: Path, out: Path, settings: str, known: Mapping[str, str | None] | None = None) -> Survey:
    """Digest what is on disk, each pool on its own thread (hashing and reading release the GIL); the
    pools in `known` are taken as they are (a render that did not touch them)."""
    pools = sorted(entry.name for entry in _entries(fleets) if entry.is_dir())
    known = known or {}

    def pool_digest(name: str) -> str | None:
        if name in known:
            return known[name]
        return None if (fleets / name).is_symlink() else _digest([("fleets", fleets / name), ("rendered", out / name)])

    with ThreadPoolExecutor(max_workers=_WORKERS) as workers:
        digests = dict(zip(pools, workers.map(pool_digest, pools), strict=True))
    shared = [("fleets", entry) for entry in _entries(fleets) if entry.name not in digests]
    ignored = {*digests, DELIVERY_FOLDER}
    shared += [("rendered", entry) for entry in _entries(out) if entry.name not in ignored]
    key = hashlib.sha256(f"{code_fingerprint()}\0{settings}".encode()).hexdigest()
    return Survey(key, _digest(shared), _digest([("delivery", out / DELIVERY_FOLDER)]), digests)


def _entries(folder: Path) -> list[Path]:
    """Non-dot entries of a folder, sorted by name; none when it is missing or a link."""
    if folder.is_symlink() or not folder.is_dir():
        return []
    return sorted((entry for entry in folder.iterdir() if not entry.name.startswith(".")), key=lambda p: p.name)


@dataclass(frozen=True, slots=True)
class Header:
    """What a render recorded beside the pools: code and settings, the shared part, rendered/_delivery."""

    key: str
    shared: str
    delivery: str
    diagnostics: tuple[Diagnostic, ...]  # warnings outside the pool folders (gitops.yaml)


@dataclass(frozen=True, slots=True)
class Stamp:
    """A stamp as read. Usually one header and a line per pool; after git's union merge (see
    .gitattributes) both sides' lines of a conflicting hunk are there, and each line still vouches only
    for the digest it names."""

    headers: tuple[Header, ...]
    records: dict[str, dict[str, PoolRecord]]  # pool -> digest -> record


def read_stamp(fleets: Path, out: Path) -> Stamp | None:
    """The stamp on disk, or None when there is none or it cannot be read (the whole repository renders)."""
    path = out / STAMP_FILE
    if path.is_symlink() or not path.is_file():
        return None
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    if not lines or lines[0] != _FORMAT:
        return None
    headers: list[Header] = []
    records: dict[str, dict[str, PoolRecord]] = {}
    try:
        for row in map(json.loads, lines[1:]):
            if "pool" in row:
                record = PoolRecord.from_json(row["record"], fleets)
                if record.name != row["pool"]:
                    raise ValueError("a pool's line holds another pool's record")
                records.setdefault(record.name, {})[expect_text(row["digest"])] = record
            else:
                key, shared, delivery = (expect_text(row[name]) for name in ("key", "shared", "delivery"))
                headers.append(Header(key, shared, delivery, diagnostics_from_json(row["diagnostics"], fleets)))
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return Stamp(tuple(headers), records) if headers else None


@dataclass(frozen=True, slots=True)
class Prior:
    """What the stamp vouches for: every pool and the shared part (`whole`), or some pools, or nothing."""

    whole: bool
    reused: tuple[PoolRecord, ...]
    shared_diagnostics: tuple[Diagnostic, ...]
    digests: dict[str, str | None] = field(default_factory=dict)  # of the reused pools, as surveyed

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        """Every warning the render that wrote the stamp printed, when `whole`."""
        return tuple(sorted({*self.shared_diagnostics, *(d for r in self.reused for d in r.diagnostics)}))


NOTHING = Prior(False, (), ())


def prior(fleets: Path, out: Path, settings: str) -> Prior:
    stamp = read_stamp(fleets, out)
    if stamp is None:
        return NOTHING
    now = survey(fleets, out, settings)
    headers = [header for header in stamp.headers if (header.key, header.shared) == (now.key, now.shared)]
    if not headers:
        return NOTHING
    reused = tuple(
        stamp.records[name][digest]
        for name, digest in sorted(now.pools.items())
        if digest is not None and digest in stamp.records.get(name, {})
    )
    if pools_overlap(reused):
        return NOTHING  # pools that each rendered alone, brought together by a merge
    delivered = [header for header in headers if header.delivery == now.delivery]
    whole = bool(delivered) and len(reused) == len(now.pools)
    digests = {record.name: now.pools[record.name] for record in reused}
    return Prior(whole, reused, (delivered or headers)[0].diagnostics, digests)


def write_stamp(
    fleets: Path,
    out: Path,
    settings: str,
    records: Iterable[PoolRecord],
    shared_diagnostics: Iterable[Diagnostic],
    untouched: Mapping[str, str | None],
) -> None:
    """Certify the repository as it is now: every pool's record, and the warnings found outside the pools.
    `untouched` are the digests of the pools the render reused (it did not write them: no need to read)."""
    now = survey(fleets, out, settings, untouched)
    by_name = {record.name: record for record in records}
    header = {
        "key": now.key,
        "shared": now.shared,
        "delivery": now.delivery,
        "diagnostics": diagnostics_to_json(shared_diagnostics, fleets),
    }
    lines = [_FORMAT, _json(header)]
    for name, digest in sorted(now.pools.items()):
        if digest is not None and name in by_name:
            lines.append(_json({"pool": name, "digest": digest, "record": by_name[name].to_json(fleets)}))
    write_file_atomic(out / STAMP_FILE, ("\n".join(lines) + "\n").encode("utf-8"))


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def remove_stamp(out: Path) -> None:
    """After a partial render (--pool) the repository as a whole is no longer certified."""
    stamp = out / STAMP_FILE
    if stamp.is_file() and not stamp.is_symlink():
        stamp.unlink()
