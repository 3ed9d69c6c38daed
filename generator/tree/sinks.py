"""Sinks: the three ends of one pipeline. render writes, check compares, plan describes."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Protocol

from ..allocation.lock import parse_lock
from ..diagnostics import Diagnostic, error
from ..fleetfiles.load import GITOPS_FILE
from ..manifests.delivery_check import DELIVERY_FOLDER
from ..manifests.delivery_plan import DeliveryPlan, Served, Takedown, delivery_plan, removal_diagnostics
from ..manifests.firewall_plan import FirewallPlan, firewall_plan
from ..manifests.render import MANIFEST, NETWORK_UNIT
from ..parallel import ordered_map
from ..settings import Settings
from . import revision, stamp
from .compile import Compiled, PoolOutput
from .files import obstacle, write_file_atomic
from .plan import PoolPlan, plan_pool
from .record import PoolRecord
from .rollout import fleet_waves, rollout_lines
from .write import OWNED_MARKER, TreeChanges, apply_tree, diff_tree

_HASH_LINE = re.compile(rb"fleetgen\.dev/fleet: ([a-z0-9-]+)\n(?:.*\n)*?\s*fleetgen\.dev/template-hash: \"?([0-9a-f]+)")
LISTED = 20
_HEAD = 64 * 1024  # bytes of a unit manifest that hold its first Pod, and so its template hash


def desired_tree(compiled: Compiled) -> dict[str, dict[str, bytes]]:
    """Top-level folder -> its files: one folder per pool, plus the delivery objects when there are any."""
    tree = {pool.name: pool.files for pool in compiled.pools}
    if compiled.delivery:
        tree[DELIVERY_FOLDER] = compiled.delivery
    return tree


@dataclass(frozen=True, slots=True)
class Written:
    changes: TreeChanges
    locks: tuple[str, ...]
    blocked: tuple[Diagnostic, ...] = ()  # a lock or the stamp that cannot be written: nothing was


def blocked_paths(compiled: Compiled, out: Path) -> tuple[Diagnostic, ...]:
    """The files a render writes beside the output tree (each pool's lock, the stamp), checked before
    anything is written: a link, a folder or a device where one goes is refused, never written through."""
    found = []
    for pool in compiled.pools:
        reason = obstacle(pool.source.lock_path)
        if reason:
            hint = (
                "replace the link with a copy of the file it leads to, then render"
                if reason == "is a symbolic link"
                else "move it out of the pool folder, then render"
            )
            message = f"the pool's lock {reason}; fleetgen writes it only as a regular file, never through a link"
            found.append(error(str(pool.source.lock_path), 0, 0, message, hint))
    reason = obstacle(out / stamp.STAMP_FILE)
    if reason:
        hint = "delete it, then render: the render writes its stamp anew (the stamp is only a cache)"
        message = f"fleetgen's stamp {reason}; fleetgen writes it only as a regular file, never through a link"
        found.append(error(str(out / stamp.STAMP_FILE), 0, 0, message, hint))
    return tuple(found)


def write(compiled: Compiled, out: Path, pools: tuple[str, ...]) -> Written:
    """Every path checked first; then the rendered tree, each pool swapped in whole, then the locks (the
    next render converges)."""
    blocked = blocked_paths(compiled, out)
    if blocked:
        return Written(TreeChanges((), (), 0, ()), (), blocked)
    changes = apply_tree(out, desired_tree(compiled), pools or None, compiled.reused)
    if changes.conflicts:
        return Written(changes, ())
    locks = tuple(
        str(pool.source.lock_path)
        for pool in compiled.pools
        if write_file_atomic(pool.source.lock_path, pool.lock_text.encode("utf-8"))
    )
    return Written(changes, locks)


@dataclass(frozen=True, slots=True)
class Staleness:
    changes: TreeChanges
    stale_locks: tuple[str, ...]
    blocked: tuple[Diagnostic, ...] = ()  # what render would refuse to write through

    @property
    def paths(self) -> list[str]:
        changes = self.changes
        return (
            [f"would write {p}" for p in changes.written]
            + [f"would remove {p}" for p in changes.removed]
            + [f"would write {p}" for p in self.stale_locks]
        )


def compare(compiled: Compiled, out: Path, pools: tuple[str, ...]) -> Staleness:
    changes = diff_tree(out, desired_tree(compiled), pools or None, compiled.reused)
    stale_locks = tuple(
        str(pool.source.lock_path) for pool in compiled.pools if (pool.source.lock_text or "") != pool.lock_text
    )
    return Staleness(changes, stale_locks, blocked_paths(compiled, out))


class Before(Protocol):
    """What plan compares the desired state with: rendered/ and the locks, on disk or at a git revision."""

    def changes(self, pools: tuple[str, ...], keep: frozenset[str]) -> TreeChanges: ...

    def lock_text(self, pool: PoolOutput) -> str | None: ...

    def file(self, path: str) -> bytes | None: ...

    def unit_heads(self, pool: str) -> Iterator[bytes]: ...

    def delivery_files(self) -> dict[str, bytes]: ...


@dataclass(frozen=True, slots=True)
class OnDisk:
    """rendered/ and the locks as they are on disk, which a render would replace; links are never read."""

    out: Path
    desired: Mapping[str, Mapping[str, bytes]]

    def changes(self, pools: tuple[str, ...], keep: frozenset[str]) -> TreeChanges:
        return diff_tree(self.out, self.desired, pools or None, keep)

    def lock_text(self, pool: PoolOutput) -> str | None:
        """The lock on disk, which an edit's compile (of a lock too, for `rollout`) has not written yet."""
        try:
            return pool.source.lock_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def file(self, path: str) -> bytes | None:
        on_disk = self.out / path
        links = (on_disk, *on_disk.parents[: path.count("/")])
        return None if any(p.is_symlink() for p in links) or not on_disk.is_file() else on_disk.read_bytes()

    def unit_heads(self, pool: str) -> Iterator[bytes]:
        """The head of each unit manifest of the pool, enough for a Pod's template hash."""
        folder = self.out / pool
        if folder.is_symlink() or not folder.is_dir():
            return
        for manifest in sorted(folder.glob(f"*/{MANIFEST}")):
            if not manifest.is_symlink():
                with manifest.open("rb") as handle:
                    yield handle.read(_HEAD)

    def delivery_files(self) -> dict[str, bytes]:
        """rendered/_delivery/'s files, by relative path; links, files that are not fleetgen's and files that
        cannot be read are left out (render refuses to touch them anyway, and says why)."""
        root = self.out / DELIVERY_FOLDER
        found: dict[str, bytes] = {}
        if root.is_symlink() or not root.is_dir():
            return found
        for directory, _, files in os.walk(root):
            for name in files:
                path = Path(directory, name)
                try:
                    data = b"" if path.is_symlink() or not path.is_file() else path.read_bytes()
                except OSError:
                    continue
                if data.startswith(OWNED_MARKER):
                    found[path.relative_to(root).as_posix()] = data
        return found


def delivery_changes(compiled: Compiled, before: Before, pools: tuple[str, ...]) -> DeliveryPlan:
    """The delivery objects before (on disk, or at a revision) against the render's; a --pool run leaves
    them alone."""
    if pools:
        return DeliveryPlan()
    served = {record.name: Served(record.servers, record.units) for record in compiled.records}
    return delivery_plan(before.delivery_files(), compiled.delivery, served)


def delivery_removals(compiled: Compiled, settings: Settings, allowed: bool) -> list[Diagnostic]:
    """Errors, one per pool whose servers the render would take down by removing its delivery objects;
    warnings instead when the removal is `allowed`."""
    plan = delivery_changes(compiled, OnDisk(settings.out, {}), settings.pools)
    places = {takedown.pool: _removal_place(compiled, settings, takedown) for takedown in plan.takedowns}
    return removal_diagnostics(plan, places, allowed)


def _removal_place(compiled: Compiled, settings: Settings, takedown: Takedown) -> tuple[str, int, int]:
    """The setting behind a removal: where the pool's cluster is set when only that changed, else the
    delivery settings (a missing fleets/gitops.yaml has no line; one that holds no document, its first)."""
    gitops, pool = compiled.gitops, takedown.pool
    if gitops is None:
        path = settings.fleets / GITOPS_FILE
        return (str(path), 1, 1) if path.is_file() else (str(path), 0, 0)
    entry = gitops.model.spec.pools.get(pool)
    sources = [output.source for output in compiled.pools if output.name == pool]
    if takedown.moved_to and not (entry and entry.cluster) and sources:
        document = sources[0].document
        return document.path, *document.position(("spec", "cluster"))
    setting = ("spec", "pools", pool, "cluster") if takedown.moved_to else ("spec",)
    return gitops.document.path, *gitops.document.position(setting, key=not takedown.moved_to)


def describe(
    compiled: Compiled, out: Path, pools: tuple[str, ...], base: revision.Revision | None = None
) -> list[PoolPlan]:
    """A plan per pool, by name, against the files on disk, or against those of the git revision `base`, with
    its delivery objects added, changed and removed; a pool the stamp vouches for is unchanged but for those,
    as its record tells; a pool folder deleted has a plan too."""
    desired = desired_tree(compiled)
    before: Before = OnDisk(out, desired) if base is None else revision.AtRevision(base, desired)
    changes = before.changes(pools, compiled.reused)
    touched = [*changes.written, *changes.removed]
    records = {record.name: record for record in compiled.records}
    plans = [_unchanged(record) for name, record in records.items() if name in compiled.reused]
    plan_one = partial(_pool_plan, before=before, touched=touched, records=records)
    weights = [records[pool.name].servers for pool in compiled.pools]
    plans += ordered_map(plan_one, compiled.pools, compiled.workers, weights)
    delivery = delivery_changes(compiled, before, pools)
    gone = {path.split("/", 1)[0] for path in touched} | set(delivery.pools)
    plans += [_gone(name, touched) for name in sorted(gone - records.keys() - {DELIVERY_FOLDER, ""})]
    return sorted((_with_delivery(plan, delivery) for plan in plans), key=_plan_pool)


def _pool_plan(pool: PoolOutput, before: Before, touched: list[str], records: Mapping[str, PoolRecord]) -> PoolPlan:
    """One compiled pool's plan: its servers against the lock before, its files, firewall and rollout; on
    a worker process when the compile used several (it reads the lock and files before, server by server)."""
    record = records[pool.name]
    previous = parse_lock(before.lock_text(pool) or "")
    # A v1 lock does not say which revision a server runs: the template hash of the Pods on disk does.
    v1 = any(not entry.revision for entry in previous.entries.values())
    old_hashes = _template_hashes(before.unit_heads(pool.name)) if v1 else {}
    files = [path for path in touched if path.split("/", 1)[0] == pool.name]
    found = plan_pool(
        pool.name,
        pool.allocation.servers,
        previous.entries,
        old_hashes,
        pool.revisions,
        files,
        record.usage,
        _firewall_plan(pool, before),
        record.pod_security,
    )
    waves = {fleet.name: fleet_waves(fleet) for fleet in pool.source.fleets}
    rollout = rollout_lines(previous, pool.allocation.servers, pool.revisions, waves)
    return replace(found, rollout=rollout)


def _plan_pool(plan: PoolPlan) -> str:
    return plan.pool


def _unchanged(record: PoolRecord) -> PoolPlan:
    firewall = FirewallPlan(unused=record.firewall_unused)
    return PoolPlan(record.name, record.servers, (), (), (), (), (), (), record.usage, firewall, record.pod_security)


def _gone(pool: str, touched: list[str]) -> PoolPlan:
    """A pool whose folder left fleets/: its rendered files and delivery objects go with it."""
    files = tuple(path for path in touched if path.split("/", 1)[0] == pool)
    return PoolPlan(pool, 0, (), (), (), (), (), files, (), gone=True)


def _with_delivery(plan: PoolPlan, delivery: DeliveryPlan) -> PoolPlan:
    takedown = delivery.takedown(plan.pool)
    return replace(plan, delivery=delivery.lines(plan.pool), takedown=takedown.notice() if takedown else "")


def _template_hashes(heads: Iterable[bytes]) -> dict[str, str]:
    """fleet -> template hash, read from the Pods of each unit manifest's head (its first Pod is enough)."""
    hashes: dict[str, str] = {}
    for head in heads:
        match = _HASH_LINE.search(head[:_HEAD])
        if match:
            hashes.setdefault(match.group(1).decode(), match.group(2).decode())
    return hashes


def _firewall_plan(pool: PoolOutput, before: Before) -> FirewallPlan:
    """The pool's network manifest before (unless missing or behind a link) against the new one."""
    path = f"{NETWORK_UNIT}/{MANIFEST}"
    return firewall_plan(pool.source, pool.allocation, before.file(f"{pool.name}/{path}"), pool.files.get(path))


def certify(compiled: Compiled, settings: Settings, prior: stamp.Prior) -> list[str]:
    """After a render, stamp the repository so the next render or check can stop early; a partial render
    (--pool) certifies nothing, so it removes the stamp. Returns the parts of the fleets folder that changed
    while the render ran, which it does not vouch for."""
    return stamp.certify(compiled, settings.fleets, settings.out, settings.stamp_key, prior)
