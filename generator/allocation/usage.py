"""Usage: how much of a pool's pods, ports, cpu and memory an allocation uses."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..fleetfiles.model import PortRange
from ..fleetfiles.rules import PoolSource
from .spec import Allocation, Server


@dataclass(frozen=True, slots=True)
class Use:
    resource: str
    used: int
    total: int
    unit: str = ""

    @property
    def percent(self) -> float:
        return 100.0 * self.used / self.total if self.total else 0.0

    @property
    def free(self) -> int:
        return max(self.total - self.used, 0)

    def amount(self, value: int) -> str:
        """`value` in this resource's unit, as people read it (cores, Gi)."""
        return _amount(value, self.unit)

    def describe(self) -> str:
        return f"{self.resource} {_amount(self.used, self.unit)}/{_amount(self.total, self.unit)} ({self.percent:.0f}%)"


def _amount(value: int, unit: str) -> str:
    if unit == "m":
        return f"{value / 1000:g}"
    if unit == "B":
        return f"{value / 2**30:.1f}Gi"
    return str(value)


def pool_usage(pool: PoolSource, allocation: Allocation) -> tuple[Use, ...]:
    """Use of each resource over the pool's schedulable nodes (a limitless cpu or memory is left out)."""
    nodes = [n for n in pool.model.spec.nodes if not n.unschedulable]
    schedulable = {n.name for n in nodes}
    servers = [s for s in allocation.servers if s.node in schedulable]
    fleets = {fleet.name: fleet for fleet in pool.fleets}
    uses = [Use("pods", len(servers), sum(n.capacity.pods for n in nodes))]
    uses += _port_uses(pool, allocation, len(nodes), schedulable)
    index = {n.name: i for i, n in enumerate(pool.model.spec.nodes)}
    for resource, limits, attribute, unit in (
        ("cpu", pool.node_cpu_milli, "cpu_milli", "m"),
        ("memory", pool.node_memory_bytes, "memory_bytes", "B"),
    ):
        limited = [n.name for n in nodes if limits[index[n.name]] is not None]
        if limited:
            per_fleet = {name: getattr(fleet, attribute) for name, fleet in fleets.items()}
            hosts = set(limited)
            used = sum(per_fleet[s.fleet] for s in servers if s.node in hosts)
            uses.append(Use(resource, used, sum(limits[index[name]] or 0 for name in limited), unit))
    return tuple(uses)


def _port_uses(pool: PoolSource, allocation: Allocation, node_count: int, schedulable: set[str]) -> list[Use]:
    fleets = {fleet.name: fleet for fleet in pool.fleets}
    servers = [server for server in allocation.servers if server.node in schedulable]
    uses = []
    for name, span in sorted(pool.model.spec.portRanges.items()):
        used = _range_used(fleets, name, span, servers)
        uses.append(Use(f'ports "{name}"', used, _range_size(pool, span) * node_count))
    return uses


def _range_size(pool: PoolSource, span: PortRange) -> int:
    """Numbers of a range a node can hand out: its width less the reserved ports inside it (counted by
    interval, as a range may be 60,000 wide and is asked about on every node)."""
    reserved, cursor = 0, span.min
    for low, high in sorted(pool.reserved):
        low, high = max(low, cursor), min(high, span.max)
        if low <= high:
            reserved += high - low + 1
            cursor = high + 1
    return span.max - span.min + 1 - reserved


def _range_used(fleets: dict, name: str, span: PortRange, servers: Iterable[Server]) -> int:
    return sum(
        1
        for server in servers
        for port_name, number in server.host_ports
        if span.min <= number <= span.max and _port_range(fleets, server.fleet, port_name) == name
    )


def node_usage(pool: PoolSource, allocation: Allocation) -> tuple[tuple[Use, ...], ...]:
    """Use of each resource on each node, in pool-file order, resources as in `pool_usage`.

    A cordoned node shows what it would hold after a render (nothing); a limitless cpu or memory is left out.
    """
    fleets = {fleet.name: fleet for fleet in pool.fleets}
    on_node: dict[str, list[Server]] = {}
    for server in allocation.servers:
        on_node.setdefault(server.node, []).append(server)
    spec = pool.model.spec
    ranges = [(name, span, _range_size(pool, span)) for name, span in sorted(spec.portRanges.items())]
    rows = []
    for node, cpu, memory in zip(spec.nodes, pool.node_cpu_milli, pool.node_memory_bytes, strict=True):
        servers = on_node.get(node.name, [])
        uses = [Use("pods", len(servers), node.capacity.pods)]
        for name, span, size in ranges:
            uses.append(Use(f'ports "{name}"', _range_used(fleets, name, span, servers), size))
        if cpu is not None:
            uses.append(Use("cpu", sum(fleets[s.fleet].cpu_milli for s in servers), cpu, "m"))
        if memory is not None:
            uses.append(Use("memory", sum(fleets[s.fleet].memory_bytes for s in servers), memory, "B"))
        rows.append(tuple(uses))
    return tuple(rows)


def _port_range(fleets: dict, fleet: str, port_name: str) -> str | None:
    for port in fleets[fleet].model.spec.ports:
        if port.name == port_name:
            return port.range if port.portPolicy in ("Dynamic", "Passthrough") else None
    return None
