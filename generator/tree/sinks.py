"""Sinks: the three ends of one pipeline. render writes, check compares, plan describes."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..allocation.lock import parse_lock
from ..diagnostics import Diagnostic, error
from ..manifests.delivery import DELIVERY_FOLDER
from ..manifests.firewall_plan import FirewallPlan, firewall_plan
from ..manifests.render import MANIFEST, NETWORK_UNIT, endpoint_entry, template_hash
from ..settings import Settings
from . import stamp
from .compile import Compiled, PoolOutput
from .files import obstacle, write_file_atomic
from .plan import PoolPlan, plan_pool
from .record import PoolRecord
from .write import TreeChanges, apply_tree, diff_tree

_HASH_LINE = re.compile(rb"fleetgen\.dev/fleet: ([a-z0-9-]+)\n(?:.*\n)*?\s*fleetgen\.dev/template-hash: \"?([0-9a-f]+)")
LISTED = 20


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


def describe(compiled: Compiled, out: Path, pools: tuple[str, ...]) -> list[PoolPlan]:
    """A plan per pool, by name; a pool the stamp vouches for is unchanged, as its record tells."""
    changes = diff_tree(out, desired_tree(compiled), pools or None, compiled.reused)
    touched = [*changes.written, *changes.removed]
    records = {record.name: record for record in compiled.records}
    plans = [_unchanged(record) for name, record in records.items() if name in compiled.reused]
    for pool in compiled.pools:
        record = records[pool.name]
        previous = parse_lock(pool.source.lock_text or "").entries
        new_hashes = {fleet.name: template_hash(pool.source, fleet) for fleet in pool.source.fleets}
        files = [path for path in touched if path.split("/", 1)[0] == pool.name]
        plans.append(
            plan_pool(
                pool.name,
                pool.allocation.servers,
                previous,
                _rendered_hashes(out / pool.name),
                new_hashes,
                files,
                record.usage,
                _firewall_plan(pool, out),
                record.pod_security,
            )
        )
    return sorted(plans, key=_plan_pool)


def _plan_pool(plan: PoolPlan) -> str:
    return plan.pool


def _unchanged(record: PoolRecord) -> PoolPlan:
    firewall = FirewallPlan(unused=record.firewall_unused)
    return PoolPlan(record.name, record.servers, (), (), (), (), (), (), record.usage, firewall, record.pod_security)


def _rendered_hashes(folder: Path) -> dict[str, str]:
    """fleet -> template hash, read from the Pods on disk (first Pod of each unit is enough)."""
    hashes: dict[str, str] = {}
    if folder.is_symlink() or not folder.is_dir():
        return hashes
    for manifest in sorted(folder.glob(f"*/{MANIFEST}")):
        if manifest.is_symlink():
            continue
        with manifest.open("rb") as handle:
            head = handle.read(64 * 1024)
        match = _HASH_LINE.search(head)
        if match:
            hashes.setdefault(match.group(1).decode(), match.group(2).decode())
    return hashes


def _firewall_plan(pool: PoolOutput, out: Path) -> FirewallPlan:
    """The pool's network manifest on disk (unless missing or behind a link) against the new one."""
    path = f"{NETWORK_UNIT}/{MANIFEST}"
    folder = out / pool.name
    on_disk = folder / path
    links = (folder, on_disk.parent, on_disk)
    old = None if any(p.is_symlink() for p in links) or not on_disk.is_file() else on_disk.read_bytes()
    return firewall_plan(pool.source, pool.allocation, old, pool.files.get(path))


def endpoint_rows(compiled: Compiled, fleets: tuple[str, ...]) -> list[dict]:
    """One row per server (pool, fleet, ordinal order), optionally only of some fleets."""
    rows = []
    for pool in compiled.pools:
        addresses = pool.source.addresses
        for server in pool.allocation.servers:
            if not fleets or server.fleet in fleets:
                entry = endpoint_entry(server, addresses[server.node])
                rows.append({"pool": pool.name, "fleet": server.fleet, "server": server.name, **entry})
    return rows


def endpoints_json(rows: list[dict]) -> str:
    return json.dumps(rows, indent=2, sort_keys=True) + "\n"


def endpoints_table(rows: list[dict]) -> str:
    """Aligned columns; an IPv6 address is bracketed so `address:port` stays unambiguous."""
    table = [("POOL", "SERVER", "NODE", "ENDPOINTS")]
    for row in rows:
        host = f"[{row['address']}]" if ":" in row["address"] else row["address"]
        ports = " ".join(f"{name}={host}:{number}" for name, number in row["ports"].items())
        table.append((row["pool"], row["server"], row["node"], ports))
    widths = [max(len(line[i]) for line in table) for i in range(3)]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line[:3], widths, strict=True)) + "  " + line[3] + "\n"
        for line in table
    )


def certify(compiled: Compiled, settings: Settings, prior: stamp.Prior) -> list[str]:
    """After a render, stamp the repository so the next render or check can stop early; a partial render
    (--pool) certifies nothing, so it removes the stamp. Returns the parts of the fleets folder that changed
    while the render ran, which it does not vouch for."""
    return stamp.certify(compiled, settings.fleets, settings.out, settings.stamp_key, prior)
