"""Capacity: how full each pool and node is, and how many more servers of each fleet the allocator would place.

The "how many more" figure is never estimated from free resources alone: ports, Static numbers, node
selectors and Packed/Distributed placement interact, so the allocator itself is asked. It is pure and fast,
and a render asks it the same question, so the number `capacity` prints is one `scale` then honours.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..fleetfiles.rules import PoolSource
from ..kube.taints import untolerated
from ..parallel import ordered_map
from .allocate import allocate, allocate_traced
from .lock import LockedServer, parse_lock
from .placement import allocate_honestly, pool_spec, workers_for
from .room import Proof, proofs
from .spec import USAGE_WARNING_PERCENT, Allocation, FleetSpec, PoolSpec, Shortfall
from .usage import Use, node_usage, pool_usage

Previous = Mapping[tuple[str, int], LockedServer]


@dataclass(frozen=True, slots=True)
class FleetRoom:
    """A fleet's replicas and the most the allocator places, the other fleets held as they are."""

    fleet: str
    replicas: int
    most: int | None  # None: not even 0 fits

    @property
    def more(self) -> int | None:
        return None if self.most is None else self.most - self.replicas


@dataclass(frozen=True, slots=True)
class NodeCapacity:
    name: str
    schedulable: bool
    uses: tuple[Use, ...]


@dataclass(frozen=True, slots=True)
class PoolCapacity:
    pool: str
    servers: int
    uses: tuple[Use, ...]
    nodes: tuple[NodeCapacity, ...]
    fleets: tuple[FleetRoom, ...]
    shortfalls: tuple[Shortfall, ...]

    @property
    def peak(self) -> float:
        """The highest utilisation of any pool resource, in percent."""
        return max((use.percent for use in self.uses), default=0.0)


def capacity_report(pools: Sequence[PoolSource], jobs: int = 0) -> list[PoolCapacity]:
    """Every pool's capacity, the pools spread over the cores as a render spreads them."""
    return ordered_map(pool_capacity, pools, workers_for(pools, jobs))


def pool_capacity(pool: PoolSource) -> PoolCapacity:
    """Use per pool and node as the next render would leave it (the lock on disk kept), and each fleet's room."""
    allocation, rooms = fleet_rooms(pool_spec(pool), parse_lock(pool.lock_text or "").entries)
    nodes = tuple(
        NodeCapacity(node.name, not node.unschedulable, uses)
        for node, uses in zip(pool.model.spec.nodes, node_usage(pool, allocation), strict=True)
    )
    return PoolCapacity(
        pool.name, len(allocation.servers), pool_usage(pool, allocation), nodes, rooms, allocation.shortfalls
    )


def fleet_rooms(spec: PoolSpec, previous: Previous) -> tuple[Allocation, tuple[FleetRoom, ...]]:
    """The pool's allocation as a render makes it, and each fleet's room, by name: what that allocation
    proves (`room`) spares the search most of its allocations, and at full size all of them."""
    traced = allocate_traced(spec, previous)
    allocation = allocate_honestly(spec, previous)[0] if traced.allocation.shortfalls else traced.allocation
    proven = proofs(previous, traced)
    rooms = tuple(
        FleetRoom(f.name, f.replicas, most_replicas(spec, previous, f.name, allocation, proven.get(f.name)))
        for f in sorted(spec.fleets, key=lambda f: f.name)
    )
    return allocation, rooms


def most_replicas(
    spec: PoolSpec, previous: Previous, fleet: str, current: Allocation | None = None, proof: Proof | None = None
) -> int | None:
    """The largest replicas of `fleet` for which a render places all of that fleet's servers (keeping the
    lock, or placing afresh when only that fits) and leaves no other fleet shorter than it is now; when the
    pool fits as written, that is "the whole pool fits". None when even 0 does not. The search keeps "lo
    fits, hi does not" at every step, so the answer fits and one more does not, whatever the allocator's
    heuristics do in between. `current` is the allocation of `spec` as is; the allocator is not asked about
    counts `proof` decides (`room`), nor at all when it settles the answer.
    """
    if proof is not None and proof.settled:
        return proof.most
    replicas = _fleet(spec, fleet).replicas
    current = current or allocate_honestly(spec, previous)[0]
    others_short = {name: count for name, count in _unplaced(current).items() if name != fleet}

    def fits(count: int) -> bool:
        if proof is not None:
            proven = proof.fits(count)
            # past the fleet's room where the lock is kept, a render fits only by placing from nothing (`room`)
            return proven if proven is not None else not allocate(with_replicas(spec, fleet, count), {}).shortfalls
        allocation = current if count == replicas else allocate_honestly(with_replicas(spec, fleet, count), previous)[0]
        unplaced = _unplaced(allocation)
        return fleet not in unplaced and all(n <= others_short.get(name, 0) for name, n in unplaced.items())

    if not fits(replicas):
        return None if replicas == 0 or not fits(0) else _bisect(fits, 0, replicas)
    lo, hi, ceiling = replicas, None, _pod_ceiling(spec, fleet)
    guess = min(_estimate(spec, current, fleet), ceiling)
    if guess > lo:
        lo, hi = (guess, None) if fits(guess) else (lo, guess)
    step = 1
    while hi is None:
        probe = min(lo + step, ceiling)
        lo, hi = (probe, None) if fits(probe) else (lo, probe)
        step *= 2
    return _bisect(fits, lo, hi)


def _bisect(fits: Callable[[int], bool], lo: int, hi: int) -> int:
    """The last count that fits between `lo` (fits) and `hi` (does not), each probe keeping that invariant."""
    while hi - lo > 1:
        middle = (lo + hi) // 2
        lo, hi = (middle, hi) if fits(middle) else (lo, middle)
    return lo


def _unplaced(allocation: Allocation) -> dict[str, int]:
    """Servers left out, per fleet."""
    found: dict[str, int] = {}
    for shortfall in allocation.shortfalls:
        found[shortfall.fleet] = found.get(shortfall.fleet, 0) + shortfall.unplaced
    return found


def with_replicas(spec: PoolSpec, fleet: str, replicas: int) -> PoolSpec:
    fleets = tuple(dataclasses.replace(f, replicas=replicas) if f.name == fleet else f for f in spec.fleets)
    return dataclasses.replace(spec, fleets=fleets)


def _fleet(spec: PoolSpec, name: str) -> FleetSpec:
    return next(fleet for fleet in spec.fleets if fleet.name == name)


def _eligible(spec: PoolSpec, fleet: FleetSpec) -> list[int]:
    """Indexes of the schedulable nodes carrying the fleet's nodeSelector, whose taints it tolerates."""
    wanted = set(fleet.node_selector)
    return [
        i
        for i, node in enumerate(spec.nodes)
        if node.schedulable and wanted <= set(node.labels) and not untolerated(fleet.tolerations, node.taints)
    ]


def _pod_ceiling(spec: PoolSpec, fleet: str) -> int:
    """A count that surely does not fit: one more than the pods of every node the fleet may use."""
    return sum(spec.nodes[i].pods for i in _eligible(spec, _fleet(spec, fleet))) + 1


@dataclass(slots=True)
class _Load:
    """What the allocation puts on one node."""

    count: int = 0
    cpu: int = 0
    memory: int = 0
    taken: set[int] = dataclasses.field(default_factory=set)


def _loads(spec: PoolSpec, allocation: Allocation) -> list[_Load]:
    fleets = {f.name: f for f in spec.fleets}
    index = {node.name: i for i, node in enumerate(spec.nodes)}
    loads = [_Load() for _ in spec.nodes]
    for server in allocation.servers:
        load, fleet = loads[index[server.node]], fleets[server.fleet]
        load.count += 1
        load.cpu += fleet.cpu_milli
        load.memory += fleet.memory_bytes
        load.taken.update(number for _, number in server.host_ports)
    return loads


def _estimate(spec: PoolSpec, allocation: Allocation, name: str) -> int:
    """Replicas plus the room left on each eligible node; only a first probe for `most_replicas`, never trusted."""
    fleet = _fleet(spec, name)
    loads = _loads(spec, allocation)
    room = 0
    for i in _eligible(spec, fleet):
        node, load = spec.nodes[i], loads[i]
        limits = [node.pods - load.count, *_port_limits(spec, fleet, load.taken)]
        if node.cpu_milli is not None and fleet.cpu_milli:
            limits.append((node.cpu_milli - load.cpu) // fleet.cpu_milli)
        if node.memory_bytes is not None and fleet.memory_bytes:
            limits.append((node.memory_bytes - load.memory) // fleet.memory_bytes)
        room += max(min(limits), 0)
    return fleet.replicas + room


def _port_limits(spec: PoolSpec, fleet: FleetSpec, taken: set[int]) -> list[int]:
    """How many more servers a node's free numbers allow: per range the fleet draws from, and for Static ports."""
    limits = [0 if port.host_port in taken else 1 for port in fleet.ports if port.policy == "Static"]
    needs: dict[str, int] = {}
    for port in fleet.ports:
        if port.policy in ("Dynamic", "Passthrough"):
            needs[port.range] = needs.get(port.range, 0) + 1
    bounds = {name: (lo, hi) for name, lo, hi in spec.ranges}
    for range_name, need in needs.items():
        lo, hi = bounds.get(range_name, (1, 0))
        reserved = sum(max(0, min(b, hi) - max(a, lo) + 1) for a, b in spec.reserved)
        used = sum(1 for n in taken if lo <= n <= hi and not any(a <= n <= b for a, b in spec.reserved))
        limits.append(max(hi - lo + 1 - reserved - used, 0) // need)
    return limits


# --- Reports ---------------------------------------------------------------------------------------------


def _warned(use: Use) -> bool:
    return use.used * 100 > use.total * USAGE_WARNING_PERCENT


def _cell(use: Use | None) -> str:
    return "-" if use is None else f"{use.amount(use.used)}/{use.amount(use.free)}"


def _columns(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


def _node_rows(pool: PoolCapacity) -> list[list[str]]:
    resources = [use.resource for use in pool.uses]
    rows = [["NODE", "STATE", *(f"{name} used/free" for name in resources)]]
    for node in pool.nodes:
        uses = {use.resource: use for use in node.uses}
        state = "ready" if node.schedulable else "cordoned"
        rows.append([node.name, state, *(_cell(uses.get(name)) for name in resources)])
    return rows


def _fleet_rows(pool: PoolCapacity) -> list[list[str]]:
    rows = [["FLEET", "REPLICAS", "MOST THAT FIT", "MORE"]]
    for room in pool.fleets:
        most = "none" if room.most is None else str(room.most)
        more = "-" if room.more is None else f"{room.more:+d}"
        rows.append([room.fleet, str(room.replicas), most, more])
    return rows


def _pool_lines(pool: PoolCapacity) -> list[str]:
    uses = ", ".join(use.describe() + (" !" if _warned(use) else "") for use in pool.uses)
    lines = [f"pool {pool.pool}: {pool.servers} servers; {uses}"]
    lines += _columns(_node_rows(pool))
    if pool.fleets:
        lines += _columns(_fleet_rows(pool))
    lines += [
        f"  warning: {use.resource} at {use.percent:.0f}%, above {USAGE_WARNING_PERCENT}%"
        for use in pool.uses
        if _warned(use)
    ]
    lines += [
        f"  over capacity: fleet {s.fleet}: {s.unplaced} server(s) do not fit: {s.resource} ran out "
        f"(needed {s.needed}, available {s.available})"
        for s in pool.shortfalls
    ]
    return lines


def capacity_table(pools: Iterable[PoolCapacity]) -> str:
    """For people: a headline per pool, a row per node (used/free per resource), a row per fleet."""
    lines = [line for pool in pools for line in _pool_lines(pool)]
    return "\n".join(lines) + "\n"


def _use_json(use: Use) -> dict[str, object]:
    return {
        "resource": use.resource,
        "unit": {"m": "millicores", "B": "bytes"}.get(use.unit, "count"),
        "used": use.used,
        "free": use.free,
        "total": use.total,
        "percent": round(use.percent, 2),
        "warning": _warned(use),
    }


def _pool_json(pool: PoolCapacity) -> dict[str, object]:
    return {
        "pool": pool.pool,
        "servers": pool.servers,
        "resources": [_use_json(use) for use in pool.uses],
        "nodes": [
            {"node": n.name, "schedulable": n.schedulable, "resources": [_use_json(u) for u in n.uses]}
            for n in pool.nodes
        ],
        "fleets": [
            {"fleet": r.fleet, "replicas": r.replicas, "mostReplicas": r.most, "more": r.more} for r in pool.fleets
        ],
        "shortfalls": [dataclasses.asdict(s) for s in pool.shortfalls],
    }


def capacity_json(pools: Iterable[PoolCapacity]) -> str:
    """For scripts and chat bots: the same figures, in raw units (millicores, bytes)."""
    document = {"warningPercent": USAGE_WARNING_PERCENT, "pools": [_pool_json(pool) for pool in pools]}
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def over_limit(pools: Iterable[PoolCapacity], fail_above: float | None) -> list[str]:
    """Why CI should fail: a pool that does not fit, or one used past `fail_above` percent."""
    reasons = []
    for pool in pools:
        if pool.shortfalls:
            reasons.append(f"pool {pool.pool}: {len(pool.shortfalls)} fleet(s) do not fit")
        if fail_above is not None and pool.peak > fail_above:
            worst = max(pool.uses, key=lambda use: use.percent)
            reasons.append(f"pool {pool.pool}: {worst.resource} at {worst.percent:.1f}%, above {fail_above:g}%")
    return reasons
