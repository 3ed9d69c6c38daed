"""Allocate: a pool's fleets and the previous lock -> the node and hostPorts of every server (pure).

Rules, in the order they apply:

1. Locked servers that are still wanted keep their node if it exists, is schedulable, carries the
   fleet's nodeSelector and still has room (pods, cpu, memory), taken in (fleet name, ordinal) order:
   when requests grew, lower ordinals (and fleets earlier in name order) keep their place and the
   rest move. A kept server keeps every port whose spec is unchanged and whose number is still valid;
   once all kept numbers are claimed, its other ports get new numbers on the same node (if they
   cannot, the server moves).
2. Every other server (new, or displaced by rule 1) is placed in (fleet name, ordinal) order on an
   eligible node: `Packed` picks the node with the most servers, `Distributed` the one with the
   fewest, ties going to the node listed first in the pool file.
3. On a node a number is held by at most one server port, TCP and UDP alike; `reserved` numbers are
   never handed out; Dynamic and Passthrough ports take the lowest free number of their range.

Each (node, range) keeps a cursor (every number below it is taken, except those in a small heap of
holes), and each fleet walks a heap of eligible nodes, so the cost grows with servers x ports and
not with the width of a range or the number of nodes per server.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from generator.lock import LOCK_FILENAME, MAX_PORT, STATIC_RANGE, LockedPort, LockedServer

USAGE_WARNING_PERCENT = 80
RESOURCE_PODS = "pods"
RESOURCE_CPU = "cpu"
RESOURCE_MEMORY = "memory"


class Policy(StrEnum):
    """Agones' portPolicy values."""

    DYNAMIC = "Dynamic"
    STATIC = "Static"
    PASSTHROUGH = "Passthrough"
    NONE = "None"


class Scheduling(StrEnum):
    """Which eligible node a new server goes to."""

    PACKED = "Packed"
    DISTRIBUTED = "Distributed"


@dataclass(frozen=True, slots=True)
class PortSpec:
    """One port of a fleet's servers, as the allocator needs it."""

    name: str
    policy: str = Policy.DYNAMIC
    protocol: str = "UDP"
    range: str = "default"
    host_port: int | None = None  # Static only


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """One node of the pool; a capacity of None means no limit."""

    name: str
    address: str
    labels: tuple[tuple[str, str], ...] = ()
    pods: int = 110
    cpu_milli: int | None = None
    memory_bytes: int | None = None
    schedulable: bool = True


@dataclass(frozen=True, slots=True)
class FleetSpec:
    """One fleet; cpu and memory are the effective request of one of its Pods."""

    name: str
    replicas: int
    scheduling: str = Scheduling.PACKED
    node_selector: tuple[tuple[str, str], ...] = ()
    ports: tuple[PortSpec, ...] = ()
    cpu_milli: int = 0
    memory_bytes: int = 0


@dataclass(frozen=True, slots=True)
class PoolSpec:
    """Everything the allocator reads about one pool; nodes in pool-file order."""

    name: str
    nodes: tuple[NodeSpec, ...]
    ranges: tuple[tuple[str, int, int], ...]  # (name, min, max), inclusive, not overlapping
    reserved: tuple[tuple[int, int], ...] = ()  # inclusive spans never handed out
    fleets: tuple[FleetSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class Server:
    """One placed server: its node and the hostPort of each numbered port, in the fleet's port order."""

    fleet: str
    ordinal: int
    node: str
    host_ports: tuple[tuple[str, int], ...]

    @property
    def name(self) -> str:
        return f"{self.fleet}-{self.ordinal}"


@dataclass(frozen=True, slots=True)
class Shortfall:
    """Servers of one fleet that did not fit, and the resource that ran out first on most nodes."""

    fleet: str
    unplaced: int
    resource: str
    needed: str
    available: str


@dataclass(frozen=True, slots=True)
class Allocation:
    """The allocator's answer for one pool; servers sorted by (fleet, ordinal)."""

    pool: str
    servers: tuple[Server, ...]
    shortfalls: tuple[Shortfall, ...]
    warnings: tuple[str, ...]


def ports_resource(range_name: str) -> str:
    return f'ports in range "{range_name}"'


def static_resource(number: int) -> str:
    return f"Static port {number}"


def selector_resource(selector: tuple[tuple[str, str], ...]) -> str:
    return f"nodes matching nodeSelector {_labels(selector)}" if selector else "schedulable nodes"


# ---------------------------------------------------------------------------------------------------
# Pool state


class _Slots:
    """Free numbers of one range on one node: all below `cursor` are taken, except those in `holes`."""

    __slots__ = ("cursor", "free", "holes")

    def __init__(self, cursor: int, free: int) -> None:
        self.cursor = cursor
        self.free = free
        self.holes: list[int] = []


class _Node:
    """A node's capacity and what is used on it so far."""

    __slots__ = ("count", "cpu", "cpu_used", "index", "labels", "memory", "memory_used", "name")
    __slots__ += ("pods", "schedulable", "slots", "taken")

    def __init__(self, index: int, spec: NodeSpec, ranges: Mapping[str, tuple[int, int, int]]) -> None:
        self.index, self.name, self.schedulable = index, spec.name, spec.schedulable
        self.labels = frozenset(spec.labels)
        self.pods, self.cpu, self.memory = spec.pods, spec.cpu_milli, spec.memory_bytes
        self.count = self.cpu_used = self.memory_used = 0
        self.taken: set[int] = set()
        self.slots = {name: _Slots(lo, free) for name, (lo, _hi, free) in ranges.items()}


@dataclass(frozen=True, slots=True)
class _Port:
    """A numbered port of a fleet, with what the allocator derives from its spec."""

    name: str
    policy: str
    protocol: str
    range: str  # STATIC_RANGE for Static
    static: int | None
    meter: str | None  # the range whose free count this port's number uses up, if any


@dataclass(frozen=True, slots=True)
class _Plan:
    """A fleet as the allocator works with it."""

    spec: FleetSpec
    selector: frozenset[tuple[str, str]]
    ports: tuple[_Port, ...]  # numbered ports, in fleet order
    names: tuple[str, ...]
    template: tuple[int, ...]  # Static numbers in place, 0 where a number is drawn from a range
    statics: tuple[tuple[int, str | None], ...]  # (number, meter)
    draws: tuple[tuple[int, str], ...]  # (position, range) of Dynamic and Passthrough ports
    needs: tuple[tuple[str, int], ...]  # numbers each server uses up per range, by first use
    blocked: tuple[int, str] | None  # a Static number no node can ever give, and why


class _Pool:
    """The pool's nodes and ranges, and every claim made on them during one allocation."""

    def __init__(self, spec: PoolSpec) -> None:
        self.spec = spec
        self.reserved = _merge(spec.reserved)
        self.reserved_starts = [lo for lo, _ in self.reserved]
        self.bounds = {name: (lo, hi) for name, lo, hi in sorted(spec.ranges)}
        self.allowed: dict[str, int] = {}
        self.reserved_in_ranges: set[int] = set()
        for name, (lo, hi) in self.bounds.items():
            inside = {n for a, b in self.reserved for n in range(max(a, lo), min(b, hi) + 1)}
            self.allowed[name] = max(hi - lo + 1, 0) - len(inside)
            self.reserved_in_ranges |= inside
        free = {name: (lo, hi, self.allowed[name]) for name, (lo, hi) in self.bounds.items()}
        self.nodes = [_Node(i, node, free) for i, node in enumerate(spec.nodes)]
        self.by_name = {node.name: node for node in self.nodes}
        if len(self.by_name) != len(self.nodes):
            raise ValueError(f"internal error: pool {spec.name} lists a node name twice")
        self._eligible: dict[frozenset[tuple[str, str]], list[_Node]] = {}

    def is_reserved(self, number: int) -> bool:
        at = bisect.bisect_right(self.reserved_starts, number) - 1
        return at >= 0 and number <= self.reserved[at][1]

    def meter_of(self, number: int) -> str | None:
        """The range a number lies in; ranges do not overlap."""
        return next((name for name, (lo, hi) in self.bounds.items() if lo <= number <= hi), None)

    def eligible(self, plan: _Plan) -> list[_Node]:
        """Schedulable nodes carrying the fleet's labels, in pool-file order (cached per selector)."""
        nodes = self._eligible.get(plan.selector)
        if nodes is None:
            nodes = [n for n in self.nodes if n.schedulable and plan.selector <= n.labels]
            self._eligible[plan.selector] = nodes
        return nodes

    def claim(self, node: _Node, number: int, meter: str | None) -> None:
        node.taken.add(number)
        if meter is not None:
            node.slots[meter].free -= 1

    def release(self, node: _Node, number: int, meter: str | None) -> None:
        node.taken.discard(number)
        if meter is not None:
            slots = node.slots[meter]
            slots.free += 1
            if number < slots.cursor:
                heapq.heappush(slots.holes, number)

    def draw(self, node: _Node, range_name: str) -> int:
        """Claim the lowest free number of a range on a node; the caller has checked one is free."""
        slots, taken = node.slots[range_name], node.taken
        holes = slots.holes
        while holes:
            number = heapq.heappop(holes)
            if number not in taken:
                break
        else:
            number, reserved = slots.cursor, self.reserved_in_ranges
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


def _plan(fleet: FleetSpec, pool: _Pool) -> _Plan:
    ports = tuple(_port(p, pool) for p in fleet.ports if p.policy != Policy.NONE)
    statics = tuple((p.static, p.meter) for p in ports if p.static is not None)
    needs: dict[str, int] = {}
    for port in ports:
        if port.meter is not None:
            needs[port.meter] = needs.get(port.meter, 0) + 1
        elif port.static is None:  # a range the pool does not define: nothing can be drawn from it
            needs[port.range] = needs.get(port.range, 0) + 1
    return _Plan(
        spec=fleet,
        selector=frozenset(fleet.node_selector),
        ports=ports,
        names=tuple(p.name for p in ports),
        template=tuple(p.static or 0 for p in ports),
        statics=statics,
        draws=tuple((i, p.range) for i, p in enumerate(ports) if p.static is None),
        needs=tuple(needs.items()),
        blocked=_static_problem([n for n, _ in statics], pool),
    )


def _port(port: PortSpec, pool: _Pool) -> _Port:
    if port.policy == Policy.STATIC:
        number = port.host_port or 0
        meter = pool.meter_of(number)
        return _Port(port.name, port.policy, port.protocol, STATIC_RANGE, number, meter)
    meter = port.range if port.range in pool.bounds else None
    return _Port(port.name, port.policy, port.protocol, port.range, None, meter)


def _static_problem(numbers: list[int], pool: _Pool) -> tuple[int, str] | None:
    for number in numbers:
        if not 1 <= number <= MAX_PORT:
            return number, f"{number} is not a port number"
        if numbers.count(number) > 1:
            return number, f"the fleet declares Static port {number} twice"
        if pool.is_reserved(number):
            return number, f"port {number} is reserved in pool {pool.spec.name}"
    return None


# ---------------------------------------------------------------------------------------------------
# Room on a node


def _room(node: _Node, plan: _Plan) -> int:
    """How many more servers of the fleet fit on the node (the hot path; `_limits` explains a zero)."""
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


_Resource = tuple[str, str | int]  # (kind, range name or Static number); kind is one of _KINDS
_KINDS = ("pods", "cpu", "memory", "static", "ports")


def _label(resource: _Resource) -> str:
    kind, detail = resource
    if kind == "static":
        return static_resource(int(detail))
    return ports_resource(str(detail)) if kind == "ports" else kind


def _resources(plan: _Plan) -> list[_Resource]:
    """The resources a fleet's server needs, in the order a blocked node is diagnosed."""
    fixed: list[_Resource] = [(RESOURCE_PODS, ""), (RESOURCE_CPU, ""), (RESOURCE_MEMORY, "")]
    return fixed + [("static", n) for n, _ in plan.statics] + [("ports", r) for r, _ in plan.needs]


def _blocker(node: _Node, plan: _Plan) -> _Resource:
    """The first resource, in `_resources` order, that keeps one more server off the node."""
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


def _fits_requests(node: _Node, spec: FleetSpec) -> bool:
    return (
        node.count < node.pods
        and (node.cpu is None or node.cpu_used + spec.cpu_milli <= node.cpu)
        and (node.memory is None or node.memory_used + spec.memory_bytes <= node.memory)
    )


def _book(node: _Node, spec: FleetSpec, sign: int) -> None:
    node.count += sign
    node.cpu_used += sign * spec.cpu_milli
    node.memory_used += sign * spec.memory_bytes


# ---------------------------------------------------------------------------------------------------
# Rule 1: keep what the lock says


@dataclass(slots=True)
class _Kept:
    plan: _Plan
    ordinal: int
    node: _Node
    numbers: list[int | None]


def _keep_locked(
    pool: _Pool, plans: Mapping[str, _Plan], previous: Mapping[tuple[str, int], LockedServer]
) -> tuple[list[_Kept], list[str]]:
    """Servers that stay where the lock put them; all kept numbers are claimed before any is drawn."""
    admitted: list[_Kept] = []
    dropped: dict[str, list[int]] = {}
    for key in sorted(previous):
        entry = previous[key]
        problem = _lock_problem(pool, plans, entry)
        if problem is not None:
            dropped.setdefault(problem, []).append(entry.line)
            continue
        kept = _admit(pool, plans[entry.fleet], entry, pool.by_name[entry.node])
        if kept is not None:
            admitted.append(kept)
    return [kept for kept in admitted if _complete(pool, kept)], _drop_warnings(dropped)


def _lock_problem(pool: _Pool, plans: Mapping[str, _Plan], entry: LockedServer) -> str | None:
    plan = plans.get(entry.fleet)
    if plan is None:
        return f'fleet "{entry.fleet}" is not in pool {pool.spec.name}; its entries are dropped'
    if not 0 <= entry.ordinal < plan.spec.replicas:
        replicas = plan.spec.replicas
        return f'fleet "{entry.fleet}" has {replicas} replicas; entries for higher ordinals are dropped'
    if entry.node not in pool.by_name:
        return f'node "{entry.node}" is not in pool {pool.spec.name}; its servers are placed again'
    return None


def _drop_warnings(dropped: Mapping[str, list[int]]) -> list[str]:
    """One warning per problem, naming its lines, in order of the first line."""
    warnings = []
    for problem, lines in sorted(dropped.items(), key=lambda item: (min(item[1]), item[0])):
        known = sorted(line for line in lines if line > 0)
        where = f" {'line' if len(known) == 1 else 'lines'} {_spans(known)}" if known else ""
        warnings.append(f"{LOCK_FILENAME}{where}: {problem} ({_count(len(lines), 'entry', 'entries')})")
    return warnings


def _spans(numbers: list[int]) -> str:
    """'3-7, 9' for [3, 4, 5, 6, 7, 9]."""
    spans: list[list[int]] = []
    for number in numbers:
        if spans and number == spans[-1][1] + 1:
            spans[-1][1] = number
        else:
            spans.append([number, number])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def _admit(pool: _Pool, plan: _Plan, entry: LockedServer, node: _Node) -> _Kept | None:
    """Keep the server on its node if it still may and can be there; claim its still-valid numbers."""
    eligible = node.schedulable and plan.selector <= node.labels and plan.blocked is None
    if not eligible or not _fits_requests(node, plan.spec):
        return None
    held = {port.name: port for port in entry.ports}
    numbers: list[int | None] = []
    for port in plan.ports:
        locked = held.get(port.name)
        number = locked.host_port if locked is not None and _still_valid(pool, node, port, locked) else None
        if number is not None:
            pool.claim(node, number, port.meter)
        numbers.append(number)
    _book(node, plan.spec, 1)
    return _Kept(plan, entry.ordinal, node, numbers)


def _still_valid(pool: _Pool, node: _Node, port: _Port, locked: LockedPort) -> bool:
    same_spec = (locked.policy, locked.protocol, locked.range) == (port.policy, port.protocol, port.range)
    number = locked.host_port
    if not same_spec or number in node.taken:
        return False
    if port.static is not None:
        return number == port.static
    bounds = pool.bounds.get(port.range)
    return bounds is not None and bounds[0] <= number <= bounds[1] and number not in pool.reserved_in_ranges


def _complete(pool: _Pool, kept: _Kept) -> bool:
    """Give a kept server's other ports numbers on its node (Static first); if impossible, it moves."""
    node, numbers = kept.node, kept.numbers
    if None not in numbers:
        return True
    order = sorted(range(len(numbers)), key=lambda i: kept.plan.ports[i].static is None)
    for i in order:
        port = kept.plan.ports[i]
        if numbers[i] is not None:
            continue
        if port.static is not None and port.static not in node.taken:
            pool.claim(node, port.static, port.meter)
            numbers[i] = port.static
        elif port.static is None and port.meter is not None and node.slots[port.meter].free > 0:
            numbers[i] = pool.draw(node, port.meter)
        else:
            _evict(pool, kept)
            return False
    return True


def _evict(pool: _Pool, kept: _Kept) -> None:
    for port, number in zip(kept.plan.ports, kept.numbers, strict=True):
        if number is not None:
            pool.release(kept.node, number, port.meter)
    _book(kept.node, kept.plan.spec, -1)


# ---------------------------------------------------------------------------------------------------
# Rule 2: place the rest


def _new_server(pool: _Pool, node: _Node, plan: _Plan, ordinal: int) -> Server:
    for number, meter in plan.statics:
        pool.claim(node, number, meter)
    numbers = list(plan.template)
    for position, range_name in plan.draws:
        numbers[position] = pool.draw(node, range_name)
    _book(node, plan.spec, 1)
    return Server(plan.spec.name, ordinal, node.name, tuple(zip(plan.names, numbers, strict=True)))


def _pack(pool: _Pool, plan: _Plan, ordinals: list[int], out: dict[int, Server]) -> dict[int, int]:
    """Fill the fullest eligible node, then the next: it stays the fullest while it is being filled."""
    heap = [(-node.count, node.index) for node in pool.eligible(plan)]
    heapq.heapify(heap)
    placed: dict[int, int] = {}
    start = 0
    while heap and start < len(ordinals):
        node = pool.nodes[heapq.heappop(heap)[1]]
        room = min(_room(node, plan), len(ordinals) - start)
        for ordinal in ordinals[start : start + room]:
            out[ordinal] = _new_server(pool, node, plan, ordinal)
        if room > 0:
            placed[node.index] = room
        start += room
    return placed


def _spread(pool: _Pool, plan: _Plan, ordinals: list[int], out: dict[int, Server]) -> dict[int, int]:
    """Put each server on the emptiest eligible node; a node leaves the heap once it is full."""
    heap = [(node.count, node.index) for node in pool.eligible(plan)]
    heapq.heapify(heap)
    rooms: dict[int, int] = {}
    placed: dict[int, int] = {}
    for ordinal in ordinals:
        while heap:
            count, index = heap[0]
            room = rooms.get(index)
            if room is None:
                room = rooms[index] = _room(pool.nodes[index], plan)
            if room > 0:
                break
            heapq.heappop(heap)
        else:
            break
        out[ordinal] = _new_server(pool, pool.nodes[index], plan, ordinal)
        rooms[index] = room - 1
        placed[index] = placed.get(index, 0) + 1
        heapq.heapreplace(heap, (count + 1, index))
    return placed


# ---------------------------------------------------------------------------------------------------
# What did not fit, and how full the pool is


def _shortfall(pool: _Pool, plan: _Plan, wanted: int, placed: Mapping[int, int]) -> Shortfall:
    """Name the resource that blocks most eligible nodes, with needed vs. free before this fleet's turn."""
    fleet, unplaced = plan.spec.name, wanted - sum(placed.values())
    nodes = pool.eligible(plan)
    if not nodes:
        return Shortfall(fleet, unplaced, *_missing_nodes(pool, plan, wanted))
    if plan.blocked is not None:
        number, reason = plan.blocked
        return Shortfall(fleet, unplaced, static_resource(number), _count(wanted, "server"), reason)
    tally: dict[_Resource, int] = {}
    for node in nodes:
        blocker = _blocker(node, plan)
        tally[blocker] = tally.get(blocker, 0) + 1
    order = _resources(plan)
    resource = min(tally, key=lambda r: (-tally[r], order.index(r)))
    if resource[0] == "static":
        return Shortfall(fleet, unplaced, _label(resource), *_static_figures(int(resource[1]), nodes, placed, wanted))
    return Shortfall(fleet, unplaced, _label(resource), *_figures(plan, resource, nodes, placed, wanted))


def _missing_nodes(pool: _Pool, plan: _Plan, wanted: int) -> tuple[str, str, str]:
    selector = plan.spec.node_selector
    matching = sum(1 for node in pool.nodes if plan.selector <= node.labels)
    if not pool.nodes:
        return selector_resource(selector), _count(wanted, "server"), f"pool {pool.spec.name} has no nodes"
    if not matching:
        available = f"0 of {_count(len(pool.nodes), 'node')} carry {_labels(selector)}"
        return selector_resource(selector), _count(wanted, "server"), available
    resource = "schedulable " + selector_resource(selector) if selector else selector_resource(selector)
    return resource, _count(wanted, "server"), f"{_count(matching, 'matching node')}, all cordoned"


def _static_figures(number: int, nodes: list[_Node], placed: Mapping[int, int], wanted: int) -> tuple[str, str]:
    free = sum(1 for node in nodes if number not in node.taken or placed.get(node.index, 0) > 0)
    needed = f"{_count(wanted, 'server')} x port {number}, one server per node"
    return needed, f"port {number} free on {free} of {_count(len(nodes), 'eligible node')}"


def _figures(
    plan: _Plan, resource: _Resource, nodes: list[_Node], placed: Mapping[int, int], wanted: int
) -> tuple[str, str]:
    """Needed and available pods, cpu, memory or range ports, counting what this fleet just took as free."""
    per, free_of, amount, free_text = _meter(plan, resource)
    frees = [(free, n) for n in nodes if (free := free_of(n)) is not None]
    starts = [free + placed.get(n.index, 0) * per for free, n in frees]
    total, room = sum(starts), sum(free // per for free in starts)
    available = f"{free_text(total)} on {_count(len(starts), 'eligible node')}"
    if room < total // per:
        available += f", room for {_count(room, 'server')}"
    if resource[0] == "ports" and not starts:
        available = f'the pool defines no range "{resource[1]}"'
    return f"{_count(wanted, 'server')} x {amount(per)}", available


_Meter = tuple[int, Callable[[_Node], int | None], Callable[[int], str], Callable[[int], str]]


def _meter(plan: _Plan, resource: _Resource) -> _Meter:
    """(amount per server, free amount on a node or None if unlimited, amount wording, free wording)."""
    kind, spec = resource[0], plan.spec
    if kind == RESOURCE_PODS:
        return 1, _free_pods, lambda k: _count(k, "pod"), lambda k: _count(k, "free pod")
    if kind == RESOURCE_CPU:
        return spec.cpu_milli, _free_cpu, lambda k: f"{k:,}m cpu", lambda k: f"{k:,}m free cpu"
    if kind == RESOURCE_MEMORY:
        return spec.memory_bytes, _free_memory, lambda k: f"{_bytes(k)} memory", lambda k: f"{_bytes(k)} free memory"
    range_name = str(resource[1])

    def free_ports(node: _Node) -> int | None:
        slots = node.slots.get(range_name)
        return None if slots is None else slots.free

    return dict(plan.needs)[range_name], free_ports, lambda k: _count(k, "port"), lambda k: _count(k, "free port")


def _free_pods(node: _Node) -> int:
    return node.pods - node.count


def _free_cpu(node: _Node) -> int | None:
    return None if node.cpu is None else node.cpu - node.cpu_used


def _free_memory(node: _Node) -> int | None:
    return None if node.memory is None else node.memory - node.memory_used


def _usage_warnings(pool: _Pool) -> list[str]:
    """Warn for each resource the pool uses more than USAGE_WARNING_PERCENT of (schedulable nodes only)."""
    nodes = [node for node in pool.nodes if node.schedulable]
    cpu_nodes = [node for node in nodes if node.cpu is not None]
    memory_nodes = [node for node in nodes if node.memory is not None]
    figures = [
        (RESOURCE_PODS, nodes, sum(n.count for n in nodes), sum(n.pods for n in nodes), _number),
        (RESOURCE_CPU, cpu_nodes, sum(n.cpu_used for n in cpu_nodes), sum(n.cpu or 0 for n in cpu_nodes), _millis),
        (
            RESOURCE_MEMORY,
            memory_nodes,
            sum(n.memory_used for n in memory_nodes),
            sum(n.memory or 0 for n in memory_nodes),
            _bytes,
        ),
    ]
    for name, allowed in pool.allowed.items():
        used = sum(allowed - node.slots[name].free for node in nodes)
        figures.append((ports_resource(name), nodes, used, allowed * len(nodes), _number))
    warnings = []
    for label, counted, used, capacity, show in figures:
        if capacity > 0 and used * 100 > capacity * USAGE_WARNING_PERCENT:
            where = _count(len(counted), "schedulable node")
            share = f"{used * 100 // capacity}% ({show(used)} of {show(capacity)} on {where})"
            warnings.append(f"{label} at {share}, above {USAGE_WARNING_PERCENT}%")
    return warnings


def _count(number: int, noun: str, plural: str | None = None) -> str:
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"


def _number(number: int) -> str:
    return f"{number:,}"


def _millis(number: int) -> str:
    return f"{number:,}m"


def _bytes(number: int) -> str:
    for unit, size in (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if number >= size and number % size == 0:
            return f"{number // size:,}{unit}"
    return f"{number:,} bytes"


def _labels(selector: tuple[tuple[str, str], ...]) -> str:
    return ",".join(f"{key}={value}" for key, value in sorted(selector))


# ---------------------------------------------------------------------------------------------------
# Entry points


def allocate(pool: PoolSpec, previous: Mapping[tuple[str, int], LockedServer]) -> Allocation:
    """Place every server of the pool, keeping what the previous lock says wherever it still holds."""
    state = _Pool(pool)
    plans = {fleet.name: _plan(fleet, state) for fleet in sorted(pool.fleets, key=lambda f: f.name)}
    if len(plans) != len(pool.fleets):
        raise ValueError(f"internal error: pool {pool.name} lists a fleet name twice")
    kept, warnings = _keep_locked(state, plans, previous)
    servers: dict[str, dict[int, Server]] = {name: {} for name in plans}
    for k in kept:
        host_ports = tuple(zip(k.plan.names, k.numbers, strict=True))
        servers[k.plan.spec.name][k.ordinal] = Server(k.plan.spec.name, k.ordinal, k.node.name, host_ports)  # type: ignore[arg-type]
    shortfalls = []
    for name, plan in plans.items():
        out = servers[name]
        ordinals = [ordinal for ordinal in range(plan.spec.replicas) if ordinal not in out]
        place = _spread if plan.spec.scheduling == Scheduling.DISTRIBUTED else _pack
        placed = place(state, plan, ordinals, out) if plan.blocked is None else {}
        if sum(placed.values()) < len(ordinals):
            shortfalls.append(_shortfall(state, plan, len(ordinals), placed))
    ordered = tuple(server for name in plans for _, server in sorted(servers[name].items()))
    return Allocation(pool.name, ordered, tuple(shortfalls), tuple(warnings + _usage_warnings(state)))


def locked_servers(allocation: Allocation, pool: PoolSpec) -> tuple[LockedServer, ...]:
    """The lock entries of an allocation: each port with the spec it was allocated under."""
    specs = {fleet.name: {port.name: port for port in fleet.ports} for fleet in pool.fleets}
    cache: dict[tuple[str, str, int], LockedPort] = {}
    entries = []
    for server in allocation.servers:
        ports = []
        for name, number in server.host_ports:
            port = cache.get((server.fleet, name, number))
            if port is None:
                port = cache[server.fleet, name, number] = _locked_port(specs[server.fleet][name], number)
            ports.append(port)
        entries.append(LockedServer(server.fleet, server.ordinal, server.node, tuple(ports)))
    return tuple(entries)


def _locked_port(spec: PortSpec, number: int) -> LockedPort:
    static = spec.policy == Policy.STATIC
    range_name = STATIC_RANGE if static else spec.range
    return LockedPort(spec.name, number, str(spec.policy), str(spec.protocol), range_name)
