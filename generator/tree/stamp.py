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

The stamp vouches only for what the render that wrote it read and wrote: the fleet files as surveyed before
they were loaded (a render whose inputs changed before it finished writes no stamp) and the output as the
render wrote it, never as it is found on disk afterwards (see `survey`). The survey takes a file's digest from
the local digest cache while the file's stat facts are the ones recorded with it (`digest_cache`), so a no-op
stats rendered/ rather than reads it; the stamp itself holds no stat fact and is the same on every machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..diagnostics import Diagnostic
from ..manifests.delivery_check import DELIVERY_FOLDER
from ..settings import Settings
from .digest_cache import UNCACHED, DigestCache
from .files import write_file_atomic
from .record import PoolRecord, diagnostics_from_json, diagnostics_to_json, expect_text, pools_overlap
from .survey import (
    Inputs,
    changed_since,
    content_digests,
    digest,
    inputs,
    listing,
    rendered_entries,
    written_entries,
)

if TYPE_CHECKING:  # deciding that the stamp matches must not load the compile path
    from .compile import Compiled

STAMP_FILE = ".fleetgen-stamp"
_DEPENDENCIES = ("kubernetes-validate", "pydantic", "PyYAML", "jsonschema")
_FORMAT = "fleetgen stamp v3"
_WORKERS = min(4, os.cpu_count() or 1)


def code_fingerprint(cached: DigestCache) -> str:
    """fleetgen's own files and its dependencies' versions: a changed fleetgen never trusts an old stamp."""
    hashed = hashlib.sha256(_FORMAT.encode())
    package = Path(__file__).resolve().parents[1]  # the whole generator package, every stage
    for relative, path in _tree(package):
        if not relative.endswith(".pyc"):
            hashed.update(relative.encode() + b"\0" + cached.digest(path, Path.read_bytes))
    versions = _versions(_DEPENDENCIES)
    for name in _DEPENDENCIES:
        hashed.update(f"{name}={versions.get(_normalized(name), '-')}\0".encode())
    return hashed.hexdigest()


def _versions(names: Iterable[str]) -> dict[str, str]:
    """Installed versions by normalized name, from the names of the metadata folders on sys.path (the first
    found that names a version, as importlib.metadata finds it): importing importlib.metadata costs more
    than a no-op render's whole survey of the repository."""
    wanted = {_normalized(name) for name in names}
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            folders = sorted(os.listdir(entry or "."))
        except OSError:
            continue
        for folder in folders:
            if folder.endswith((".dist-info", ".egg-info")):
                distribution, _, rest = folder.rpartition(".")[0].partition("-")
                if rest and _normalized(distribution) in wanted:
                    found.setdefault(_normalized(distribution), rest.split("-")[0])
    return found


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _tree(root: Path) -> Iterator[tuple[str, Path]]:
    """(posix path below `root`, path) of fleetgen's own files, in sorted order."""
    for directory, folders, files in os.walk(root):
        folders[:] = sorted(folder for folder in folders if folder != "__pycache__")
        for name in sorted(files):
            path = Path(directory) / name
            yield path.relative_to(root).as_posix(), path


@dataclass(frozen=True, slots=True)
class Survey:
    """The repository as it is on disk now: digests of the settings, the shared part, and each pool."""

    key: str  # code and settings
    shared: str  # what lies beside the pool folders: in fleets/, and in rendered/ but for _delivery
    delivery: str  # rendered/_delivery
    pools: dict[str, str | None]  # pool folder -> digest of its inputs and outputs (None: behind a link)


def survey(
    fleets: Path, out: Path, settings: str, before: Inputs | None = None, cached: DigestCache = UNCACHED
) -> Survey:
    """Digest what is on disk, each pool's output on its own thread (hashing and reading release the GIL);
    the fleet files as `before` found them, when given."""
    found = before or inputs(fleets, cached)

    def pool_digest(name: str) -> str | None:
        files = found.pools[name]
        if files is None:
            return None
        return digest(files.entries, rendered_entries(out / name, f"rendered/{name}", cached))

    names = sorted(found.pools)
    with ThreadPoolExecutor(max_workers=_WORKERS) as workers:
        pools = dict(zip(names, workers.map(pool_digest, names), strict=True))
    delivery = digest(rendered_entries(out / DELIVERY_FOLDER, f"rendered/{DELIVERY_FOLDER}", cached))
    return Survey(_key(settings, cached), _shared(found, out, cached), delivery, pools)


def _key(settings: str, cached: DigestCache) -> str:
    return hashlib.sha256(f"{code_fingerprint(cached)}\0{settings}".encode()).hexdigest()


def _shared(found: Inputs, out: Path, cached: DigestCache) -> str:
    """What lies beside the pool folders: the fleet files as `found`, and rendered/ as it is on disk."""
    ignored = {*found.pools, DELIVERY_FOLDER}
    beside = [
        rendered_entries(entry, f"rendered/{entry.name}", cached) for entry in listing(out) if entry.name not in ignored
    ]
    return digest(found.shared.entries, *beside)


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
    """What the stamp vouches for: every pool and the shared part (`whole`), or some pools, or nothing; and
    the fleet files as they were before the run read any (None: a --pool run, which certifies nothing)."""

    whole: bool
    reused: tuple[PoolRecord, ...]
    shared_diagnostics: tuple[Diagnostic, ...]
    digests: dict[str, str | None] = field(default_factory=dict)  # of the reused pools, as surveyed
    inputs: Inputs | None = None

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        """Every warning the render that wrote the stamp printed, when `whole`."""
        return tuple(sorted({*self.shared_diagnostics, *(d for r in self.reused for d in r.diagnostics)}))


NOTHING = Prior(False, (), ())


def prior_for(settings: Settings) -> Prior:
    """What the stamp vouches for; a --pool run trusts nothing."""
    return NOTHING if settings.pools else prior(settings.fleets, settings.out, settings.stamp_key)


def prior(fleets: Path, out: Path, settings: str) -> Prior:
    """What the stamp vouches for now; the fleet files are surveyed first, before anything reads them."""
    cached = DigestCache.of(fleets)
    before = inputs(fleets, cached)
    stamp = read_stamp(fleets, out)
    if stamp is None:
        cached.save(complete=False)
        return Prior(False, (), (), inputs=before)
    now = survey(fleets, out, settings, before, cached)
    cached.save(complete=True)
    headers = [header for header in stamp.headers if (header.key, header.shared) == (now.key, now.shared)]
    if not headers:
        return Prior(False, (), (), inputs=before)
    reused = tuple(
        stamp.records[name][pool_digest]
        for name, pool_digest in sorted(now.pools.items())
        if pool_digest is not None and pool_digest in stamp.records.get(name, {})
    )
    if pools_overlap(reused):
        return Prior(False, (), (), inputs=before)  # pools that each rendered alone, brought together by a merge
    delivered = [header for header in headers if header.delivery == now.delivery]
    whole = bool(delivered) and len(reused) == len(now.pools)
    digests = {record.name: now.pools[record.name] for record in reused}
    return Prior(whole, reused, (delivered or headers)[0].diagnostics, digests, before)


def certify(compiled: Compiled, fleets: Path, out: Path, settings: str, prior: Prior) -> list[str]:
    """Stamp the repository after a render, vouching only for the bytes it read and wrote: each pool's
    fleet files as surveyed before it read them, the output as it wrote it. When a fleet file changed in
    between (or the set of pool folders did), nothing is vouched for: the stamp is removed and the parts
    that changed are returned. A run that surveyed nothing first (--pool) vouches for nothing either."""
    if prior.inputs is None:
        remove_stamp(out)
        return []
    cached = DigestCache.of(fleets)
    after = inputs(fleets, cached)
    locks = {pool.name: pool.lock_text for pool in compiled.pools}
    changed = changed_since(fleets, prior.inputs, after, locks, [record.name for record in compiled.records])
    if changed:
        remove_stamp(out)
        return changed
    digests = {name: value for name, value in prior.digests.items() if name in compiled.reused}
    for pool in compiled.pools:
        files = after.pools[pool.name]
        if files is not None:
            digests[pool.name] = digest(files.entries, written_entries(f"rendered/{pool.name}", pool.digests))
    header = {
        "key": _key(settings, cached),
        "shared": _shared(after, out, cached),
        "delivery": digest(written_entries(f"rendered/{DELIVERY_FOLDER}", content_digests(compiled.delivery))),
        "diagnostics": diagnostics_to_json(compiled.shared_diagnostics, fleets),
    }
    lines = [_FORMAT, _json(header)]
    for record in compiled.records:
        pool_digest = digests.get(record.name)
        if pool_digest is not None:
            lines.append(_json({"pool": record.name, "digest": pool_digest, "record": record.to_json(fleets)}))
    write_file_atomic(out / STAMP_FILE, ("\n".join(lines) + "\n").encode("utf-8"))
    cached.save(complete=False)
    return []


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def remove_stamp(out: Path) -> None:
    """After a partial render (--pool), or one whose inputs changed while it ran, nothing is certified."""
    stamp = out / STAMP_FILE
    if stamp.is_file() and not stamp.is_symlink():
        stamp.unlink()
