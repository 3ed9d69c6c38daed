"""Pool state: one allocation's working copy of a pool, free numbers per node and range, room per fleet.

Each (node, range) keeps a cursor (every number below it is taken, except those in a small heap of
holes), so drawing the lowest free number costs about one step, never a range's width.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from collections.abc import Mapping
from dataclasses import dataclass

from ..kube.taints import Toleration, untolerated
from .lock import MAX_PORT, STATIC_RANGE, LockedPort
from .spec import (
    RESOURCE_CPU,
    RESOURCE_MEMORY,
    RESOURCE_PODS,
    FleetSpec,
    NodeSpec,
    Policy,
    PoolSpec,
    PortSpec,
    ports_resource,
    static_resource,
)


class Slots:
    """Free numbers of one range on one node: all below `cursor` are taken, except those in `holes`."""

    __slots__ = ("cursor", "free", "holes")

    def __init__(self, cursor: int, free: int) -> None:
        self.cursor = cursor
        self.free = free
        self.holes: list[int] = []


class NodeState:
    """A node's capacity and what is used on it so far."""

    __slots__ = ("count", "cpu", "cpu_used", "index", "labels", "memory", "memory_used", "name")
    __slots__ += ("pods", "schedulable", "slots", "taints", "taken")

    def __init__(self, index: int, spec: NodeSpec, ranges: Mapping[str, tuple[int, int, int]]) -> None:
        self.index, self.name, self.schedulable = index, spec.name, spec.schedulable
        self.labels, self.taints = frozenset(spec.labels), spec.taints
        self.pods, self.cpu, self.memory = spec.pods, spec.cpu_milli, spec.memory_bytes
        self.count = self.cpu_used = self.memory_used = 0
        self.taken: set[int] = set()
        self.slots = {name: Slots(lo, free) for name, (lo, _hi, free) in ranges.items()}


@dataclass(frozen=True, slots=True)
class PortPlan:
    """A numbered port of a fleet, with what the allocator derives from its spec."""

    name: str
    policy: str
    protocol: str
    range: str  # STATIC_RANGE for Static
    static: int | None
    meter: str | None  # the range whose free count this port's number uses up, if any


@dataclass(frozen=True, slots=True)
class FleetPlan:
    """A fleet as the allocator works with it."""

    spec: FleetSpec
    selector: frozenset[tuple[str, str]]
    tolerations: tuple[Toleration, ...]
    ports: tuple[PortPlan, ...]  # numbered ports, in fleet order
    names: tuple[str, ...]
    meters: tuple[str | None, ...]
    template: tuple[int, ...]  # Static numbers in place, 0 where a number is drawn from a range
    statics: tuple[tuple[int, str | None], ...]  # (number, meter)
    draws: tuple[tuple[int, str], ...]  # (position, range) of Dynamic and Passthrough ports
    needs: tuple[tuple[str, int], ...]  # numbers each server uses up per range, by first use
    blocked: tuple[int, str] | None  # a Static number no node can ever give, and why


class PoolState:
    """The pool's nodes and ranges, and every claim made on them during one allocation."""

    def __init__(self, spec: PoolSpec) -> None:
        self.spec = spec
        self.reserved = _merge(spec.reserved)
        self.reserved_starts = [lo for lo, _ in self.reserved]
        self.bounds, self.allowed, self.reserved_in_ranges = _ranges(spec, self.reserved)
        free = {name: (lo, hi, self.allowed[name]) for name, (lo, hi) in self.bounds.items()}
        self.nodes = [NodeState(i, node, free) for i, node in enumerate(spec.nodes)]
        self.by_name = {node.name: node for node in self.nodes}
        if len(self.by_name) != len(self.nodes):
            raise ValueError(f"internal error: pool {spec.name} lists a node name twice")
        self._eligible: dict[tuple[frozenset[tuple[str, str]], tuple[Toleration, ...]], list[NodeState]] = {}
        self.candidates: dict[tuple[str, int], tuple[tuple[LockedPort, ...], Candidates]] = {}

    def is_reserved(self, number: int) -> bool:
        at = bisect.bisect_right(self.reserved_starts, number) - 1
        return at >= 0 and number <= self.reserved[at][1]

    def meter_of(self, number: int) -> str | None:
        """The range a number lies in; ranges do not overlap."""
        return next((name for name, (lo, hi) in self.bounds.items() if lo <= number <= hi), None)

    def eligible(self, plan: FleetPlan) -> list[NodeState]:
        """The nodes that may host the fleet's servers, in pool-file order (cached per selector and tolerations)."""
        key = (plan.selector, plan.tolerations)
        nodes = self._eligible.get(key)
        if nodes is None:
            nodes = [n for n in self.nodes if hosts(n, plan)]
            self._eligible[key] = nodes
        return nodes

    def claim(self, node: NodeState, number: int, meter: str | None) -> None:
        node.taken.add(number)
        if meter is not None:
            node.slots[meter].free -= 1

    def release(self, node: NodeState, number: int, meter: str | None) -> None:
        node.taken.discard(number)
        if meter is not None:
            slots = node.slots[meter]
            slots.free += 1
            if number < slots.cursor:
                heapq.heappush(slots.holes, number)

    def draw(self, node: NodeState, range_name: str) -> int:
        """Claim the lowest free number of a range on a node; the caller has checked one is free."""
        return draw_number(node.slots[range_name], node.taken, self.reserved_in_ranges)


def hosts(node: NodeState, plan: FleetPlan) -> bool:
    """Whether the scheduler would put the fleet's Pods on the node: schedulable, carrying the fleet's
    nodeSelector, and no NoSchedule or NoExecute taint its template does not tolerate."""
    return (
        node.schedulable
        and plan.selector <= node.labels
        and not (node.taints and untolerated(plan.tolerations, node.taints))
    )


def _ranges(
    spec: PoolSpec, reserved: list[tuple[int, int]]
) -> tuple[dict[str, tuple[int, int]], dict[str, int], set[int]]:
    """Each range's bounds and count of numbers it may hand out, and the reserved numbers inside ranges."""
    bounds = {name: (lo, hi) for name, lo, hi in sorted(spec.ranges)}
    spans = sorted((lo, hi) for lo, hi in bounds.values() if lo <= hi)
    if any(lo <= previous_hi for (_, previous_hi), (lo, _) in itertools.pairwise(spans)):
        raise ValueError(f"internal error: pool {spec.name} has overlapping port ranges")
    allowed: dict[str, int] = {}
    reserved_in_ranges: set[int] = set()
    for name, (lo, hi) in bounds.items():
        inside = {n for a, b in reserved for n in range(max(a, lo), min(b, hi) + 1)}
        allowed[name] = max(hi - lo + 1, 0) - len(inside)
        reserved_in_ranges |= inside
    return bounds, allowed, reserved_in_ranges


def draw_number(slots: Slots, taken: set[int], reserved: set[int]) -> int:
    """The lowest free number: a hole if any (skipping holes claimed since), else the cursor's next."""
    holes = slots.holes
    while holes:
        number = heapq.heappop(holes)
        if number not in taken:
            break
    else:
        number = slots.cursor
        while number in taken or number in reserved:
            number += 1
        slots.cursor = number + 1
    taken.add(number)
    slots.free -= 1
    return number


def _merge(spans: tuple[tuple[int, int], ...]) -> list[tuple[int, int]]:
    """Sorted, non-overlapping, non-adjacent spans."""
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(s for s in spans if s[0] <= s[1]):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def fleet_plan(fleet: FleetSpec, pool: PoolState) -> FleetPlan:
    ports = tuple(_port(p, pool) for p in fleet.ports if p.policy != Policy.NONE)
    statics = tuple((p.static, p.meter) for p in ports if p.static is not None)
    needs: dict[str, int] = {}
    for port in ports:
        if port.meter is not None:
            needs[port.meter] = needs.get(port.meter, 0) + 1
        elif port.static is None:  # a range the pool does not define: nothing can be drawn from it
            needs[port.range] = needs.get(port.range, 0) + 1
    return FleetPlan(
        spec=fleet,
        selector=frozenset(fleet.node_selector),
        tolerations=fleet.tolerations,
        ports=ports,
        names=tuple(p.name for p in ports),
        meters=tuple(p.meter for p in ports),
        template=tuple(p.static or 0 for p in ports),
        statics=statics,
        draws=tuple((i, p.range) for i, p in enumerate(ports) if p.static is None),
        needs=tuple(needs.items()),
        blocked=_static_problem([n for n, _ in statics], pool),
    )


def _port(port: PortSpec, pool: PoolState) -> PortPlan:
    if port.policy == Policy.STATIC:
        number = port.host_port or 0
        meter = pool.meter_of(number)
        return PortPlan(port.name, str(port.policy), str(port.protocol), STATIC_RANGE, number, meter)
    meter = port.range if port.range in pool.bounds else None
    return PortPlan(port.name, str(port.policy), str(port.protocol), port.range, None, meter)


def _static_problem(numbers: list[int], pool: PoolState) -> tuple[int, str] | None:
    for number in numbers:
        if not 1 <= number <= MAX_PORT:
            return number, f"{number} is not a port number"
        if numbers.count(number) > 1:
            return number, f"the fleet declares Static port {number} twice"
        if pool.is_reserved(number):
            return number, f"port {number} is reserved in pool {pool.spec.name}"
    return None


Candidates = tuple[tuple[int | None, ...], tuple[tuple[str, int], ...] | None]


# ---------------------------------------------------------------------------------------------------
# Room on a node

# Room on a node


def room_for(node: NodeState, plan: FleetPlan) -> int:
    """How many more servers of the fleet fit on the node (the hot path; `first_blocker` explains a zero)."""
    if plan.blocked is not None:
        return 0
    spec = plan.spec
    room = node.pods - node.count
    if node.cpu is not None and spec.cpu_milli > 0:
        room = min(room, (node.cpu - node.cpu_used) // spec.cpu_milli)
    if node.memory is not None and spec.memory_bytes > 0:
        room = min(room, (node.memory - node.memory_used) // spec.memory_bytes)
    if plan.statics:
        if any(number in node.taken for number, _ in plan.statics):
            return 0
        room = min(room, 1)
    for range_name, need in plan.needs:
        slots = node.slots.get(range_name)
        room = min(room, slots.free // need if slots is not None else 0)
    return max(room, 0)


Resource = tuple[str, str | int]  # (kind, detail): pods, cpu, memory, ("static", number), ("ports", range)


def resource_label(resource: Resource) -> str:
    kind, detail = resource
    if kind == "static":
        return static_resource(int(detail))
    return ports_resource(str(detail)) if kind == "ports" else kind


def resources_of(plan: FleetPlan) -> list[Resource]:
    """The resources a fleet's server needs, in the order a blocked node is diagnosed."""
    fixed: list[Resource] = [(RESOURCE_PODS, ""), (RESOURCE_CPU, ""), (RESOURCE_MEMORY, "")]
    return fixed + [("static", n) for n, _ in plan.statics] + [("ports", r) for r, _ in plan.needs]


def first_blocker(node: NodeState, plan: FleetPlan) -> Resource:
    """The first resource, in `resources_of` order, that keeps one more server off the node."""
    spec = plan.spec
    if node.count >= node.pods:
        return (RESOURCE_PODS, "")
    if node.cpu is not None and node.cpu_used + spec.cpu_milli > node.cpu:
        return (RESOURCE_CPU, "")
    if node.memory is not None and node.memory_used + spec.memory_bytes > node.memory:
        return (RESOURCE_MEMORY, "")
    for number, _ in plan.statics:
        if number in node.taken:
            return ("static", number)
    for range_name, need in plan.needs:
        slots = node.slots.get(range_name)
        if slots is None or slots.free < need:
            return ("ports", range_name)
    raise AssertionError(f"internal error: node {node.name} has room for fleet {spec.name}")


def book(node: NodeState, spec: FleetSpec, sign: int) -> None:
    node.count += sign
    node.cpu_used += sign * spec.cpu_milli
    node.memory_used += sign * spec.memory_bytes
