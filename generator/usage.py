"""Usage: how much of a pool's pods, ports, cpu and memory an allocation uses."""

from __future__ import annotations

from dataclasses import dataclass

from .allocate import Allocation
from .rules import PoolSource


@dataclass(frozen=True, slots=True)
class Use:
    resource: str
    used: int
    total: int
    unit: str = ""

    @property
    def percent(self) -> float:
        return 100.0 * self.used / self.total if self.total else 0.0

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
            used = sum(getattr(fleets[s.fleet], attribute) for s in servers if s.node in set(limited))
            uses.append(Use(resource, used, sum(limits[index[name]] or 0 for name in limited), unit))
    return tuple(uses)


def _port_uses(pool: PoolSource, allocation: Allocation, node_count: int, schedulable: set[str]) -> list[Use]:
    fleets = {fleet.name: fleet for fleet in pool.fleets}
    uses = []
    for name, span in sorted(pool.model.spec.portRanges.items()):
        free = sum(
            1 for port in range(span.min, span.max + 1) if not any(low <= port <= high for low, high in pool.reserved)
        )
        used = sum(
            1
            for server in allocation.servers
            if server.node in schedulable
            for port_name, number in server.host_ports
            if span.min <= number <= span.max and _port_range(fleets, server.fleet, port_name) == name
        )
        uses.append(Use(f'ports "{name}"', used, free * node_count))
    return uses


def _port_range(fleets: dict, fleet: str, port_name: str) -> str | None:
    for port in fleets[fleet].model.spec.ports:
        if port.name == port_name:
            return port.range if port.portPolicy in ("Dynamic", "Passthrough") else None
    return None
