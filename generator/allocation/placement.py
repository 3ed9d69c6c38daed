"""Placement: a validated pool -> the allocator's view of it, and the placement render and capacity both trust."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..fleetfiles.rules import FleetSource, PoolSource
from ..kube.taints import Taint, tolerations_of
from ..parallel import available_workers
from .allocate import allocate
from .lock import LockedServer
from .spec import Allocation, FleetSpec, NodeSpec, PoolSpec, PortSpec


def allocate_honestly(spec: PoolSpec, previous: Mapping[tuple[str, int], LockedServer]) -> tuple[Allocation, int]:
    """Keep the lock's placement when everything fits with it; when keeping it leaves servers out but a
    placement from nothing fits them all, take that (and say how many move): capacity is only ever
    reported as exhausted when it is."""
    kept = allocate(spec, previous)
    if not kept.shortfalls or not previous:
        return kept, 0
    fresh = allocate(spec, {})
    if fresh.shortfalls:
        return kept, 0
    old_nodes = {key: entry.node for key, entry in previous.items()}
    moved = sum(1 for s in fresh.servers if old_nodes.get((s.fleet, s.ordinal), s.node) != s.node)
    return fresh, moved


def pool_spec(pool: PoolSource) -> PoolSpec:
    """The allocator's view of a pool: plain numbers, in file order."""
    spec = pool.model.spec
    nodes = tuple(
        NodeSpec(
            name=node.name,
            address=node.address,
            labels=tuple(sorted(node.labels.items())),
            pods=node.capacity.pods,
            cpu_milli=cpu,
            memory_bytes=memory,
            schedulable=not node.unschedulable,
            taints=tuple(Taint(t.key, t.value, t.effect) for t in node.taints),
        )
        for node, cpu, memory in zip(spec.nodes, pool.node_cpu_milli, pool.node_memory_bytes, strict=True)
    )
    ranges = tuple((name, r.min, r.max) for name, r in sorted(spec.portRanges.items()))
    return PoolSpec(pool.name, nodes, ranges, pool.reserved, tuple(_fleet_spec(fleet) for fleet in pool.fleets))


def _fleet_spec(fleet: FleetSource) -> FleetSpec:
    spec = fleet.model.spec
    ports = tuple(PortSpec(p.name, p.portPolicy, p.protocol, p.range, p.hostPort) for p in spec.ports)
    return FleetSpec(
        name=fleet.name,
        replicas=spec.replicas,
        scheduling=spec.scheduling,
        node_selector=tuple(sorted(spec.nodeSelector.items())),
        ports=ports,
        cpu_milli=fleet.cpu_milli,
        memory_bytes=fleet.memory_bytes,
        tolerations=tolerations_of(spec.template.get("spec")),
    )


PARALLEL_FROM = 10_000
"""Servers from which a render spreads its pools over the cores (below, starting processes costs more)."""


def workers_for(pools: Sequence[PoolSource], jobs: int) -> int:
    """`jobs` when set; else every core once the pools hold PARALLEL_FROM servers, one below."""
    if jobs:
        return jobs
    servers = sum(fleet.model.spec.replicas for pool in pools for fleet in pool.fleets)
    return available_workers() if servers >= PARALLEL_FROM else 1
