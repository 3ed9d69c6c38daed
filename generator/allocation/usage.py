"""Usage: how much of a pool's pods, ports, cpu and memory an allocation uses."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a stamp's records hold `Use`s, and reading them must not load the fleet models
    from ..fleetfiles.model import Node as NodeModel
    from ..fleetfiles.model import PortRange
    from ..fleetfiles.rules import FleetSource, PoolSource
    from .spec import Allocation


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
    spec, held = pool.model.spec, _held(allocation)
    nodes = [(node, held.get(node.name, {})) for node in spec.nodes if not node.unschedulable]
    on_nodes = Counter[str]()
    for _, fleets in nodes:
        on_nodes.update(fleets)
    uses = [Use("pods", on_nodes.total(), sum(node.capacity.pods for node, _ in nodes))]
    for name, span in sorted(spec.portRanges.items()):
        used = _sum(on_nodes, {fleet.name: _range_ports(fleet, name) for fleet in pool.fleets})
        uses.append(Use(f'ports "{name}"', used, _range_size(pool, span) * len(nodes)))
    limits = {node.name: (cpu, memory) for node, cpu, memory in _with_limits(pool)}
    for resource, which, attribute, unit in (("cpu", 0, "cpu_milli", "m"), ("memory", 1, "memory_bytes", "B")):
        limited = [(node, fleets) for node, fleets in nodes if limits[node.name][which] is not None]
        if limited:
            per_fleet = {fleet.name: getattr(fleet, attribute) for fleet in pool.fleets}
            used = sum(_sum(fleets, per_fleet) for _, fleets in limited)
            uses.append(Use(resource, used, sum(limits[node.name][which] or 0 for node, _ in limited), unit))
    return tuple(uses)


def _held(allocation: Allocation) -> dict[str, Counter[str]]:
    """Servers per fleet on each node: every figure here is a sum over it, which is far cheaper than a sum
    over 150,000 servers and their ports."""
    held: dict[str, Counter[str]] = {}
    for (node, fleet), count in Counter((server.node, server.fleet) for server in allocation.servers).items():
        held.setdefault(node, Counter())[fleet] = count
    return held


def _sum(servers: Mapping[str, int], each: Mapping[str, int]) -> int:
    """What servers (per fleet) use of a resource, `each` giving one server's use per fleet."""
    return sum(count * each[fleet] for fleet, count in servers.items())


def _range_ports(fleet: FleetSource, range_name: str) -> int:
    """Numbers of the range one server of the fleet holds: its Dynamic and Passthrough ports drawing from it
    (the allocator keeps or draws such a number only inside the range)."""
    return sum(
        1 for p in fleet.model.spec.ports if p.range == range_name and p.portPolicy in ("Dynamic", "Passthrough")
    )


def _with_limits(pool: PoolSource) -> Iterable[tuple[NodeModel, int | None, int | None]]:
    return zip(pool.model.spec.nodes, pool.node_cpu_milli, pool.node_memory_bytes, strict=True)


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


def node_usage(pool: PoolSource, allocation: Allocation) -> tuple[tuple[Use, ...], ...]:
    """Use of each resource on each node, in pool-file order, resources as in `pool_usage`.

    A cordoned node shows what it would hold after a render (nothing); a limitless cpu or memory is left out.
    """
    held, spec = _held(allocation), pool.model.spec
    ranges = [
        (name, _range_size(pool, span), {fleet.name: _range_ports(fleet, name) for fleet in pool.fleets})
        for name, span in sorted(spec.portRanges.items())
    ]
    cpus = {fleet.name: fleet.cpu_milli for fleet in pool.fleets}
    memories = {fleet.name: fleet.memory_bytes for fleet in pool.fleets}
    rows = []
    for node, cpu, memory in _with_limits(pool):
        fleets = held.get(node.name, Counter())
        uses = [Use("pods", fleets.total(), node.capacity.pods)]
        uses += [Use(f'ports "{name}"', _sum(fleets, ports), size) for name, size, ports in ranges]
        if cpu is not None:
            uses.append(Use("cpu", _sum(fleets, cpus), cpu, "m"))
        if memory is not None:
            uses.append(Use("memory", _sum(fleets, memories), memory, "B"))
        rows.append(tuple(uses))
    return tuple(rows)
