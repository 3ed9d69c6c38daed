"""Allocate: a pool's fleets and the previous lock -> the node and hostPorts of every server (pure).

Rules, in the order they apply:

1. Locked servers that are still wanted stay on their node if it exists, is schedulable and carries
   the fleet's nodeSelector. If those servers no longer fit there (requests grew, capacity shrank),
   servers move off the node in the order: fleets by name, highest ordinal first, skipping servers
   that would not relieve the exceeded resource, until the rest fit. A kept server keeps every port
   whose spec is unchanged and whose number is still valid; once every kept number is claimed, its
   other ports get new numbers on the same node (Static first; if impossible, the server moves).
2. Every other server (new, or displaced by rule 1) is placed in (fleet name, ordinal) order on an
   eligible node: `Packed` picks the node with the most servers, `Distributed` the one with the
   fewest, ties going to the node listed first in the pool file.
3. On a node a number is held by at most one server port, TCP and UDP alike; `reserved` numbers are
   never handed out; Dynamic and Passthrough ports take the lowest free number of their range.

A fleet that does not fit gets a Shortfall, measured once everything is placed (so a render with its
own lock says the same): for each eligible node the first resource that keeps one more server off it
(pods, cpu, memory, a Static port, a range's ports), the most common one named, with the fleet's whole
need against what the rest of the pool leaves it.

Each (node, range) keeps a cursor (every number below it is taken, except those in a small heap of
holes), and each fleet walks a heap of its eligible nodes: the cost is about servers x ports plus
fleets x eligible nodes, never a range's width or all nodes per server.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
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
    warnings: tuple[str, ...]  # about the pool as placed (use above USAGE_WARNING_PERCENT)
    lock_warnings: tuple[str, ...] = ()  # about the previous lock (entries dropped): gone once it is rewritten


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
    meters: tuple[str | None, ...]
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
        self.bounds, self.allowed, self.reserved_in_ranges = _ranges(spec, self.reserved)
        free = {name: (lo, hi, self.allowed[name]) for name, (lo, hi) in self.bounds.items()}
        self.nodes = [_Node(i, node, free) for i, node in enumerate(spec.nodes)]
        self.by_name = {node.name: node for node in self.nodes}
        if len(self.by_name) != len(self.nodes):
            raise ValueError(f"internal error: pool {spec.name} lists a node name twice")
        self._eligible: dict[frozenset[tuple[str, str]], list[_Node]] = {}
        self.candidates: dict[tuple[str, int], tuple[tuple[LockedPort, ...], _Candidates]] = {}

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
        return _draw(node.slots[range_name], node.taken, self.reserved_in_ranges)


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


def _draw(slots: _Slots, taken: set[int], reserved: set[int]) -> int:
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
        meters=tuple(p.meter for p in ports),
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
        return _Port(port.name, str(port.policy), str(port.protocol), STATIC_RANGE, number, meter)
    meter = port.range if port.range in pool.bounds else None
    return _Port(port.name, str(port.policy), str(port.protocol), port.range, None, meter)


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
    """How many more servers of the fleet fit on the node (the hot path; `_blocker` explains a zero)."""
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


_Resource = tuple[str, str | int]  # (kind, detail): pods, cpu, memory, ("static", number), ("ports", range)


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


def _book(node: _Node, spec: FleetSpec, sign: int) -> None:
    node.count += sign
    node.cpu_used += sign * spec.cpu_milli
    node.memory_used += sign * spec.memory_bytes


# ---------------------------------------------------------------------------------------------------
# Rule 1: keep what the lock says


@dataclass(slots=True)
class _Kept:
    """A server kept on its node with some ports still to be numbered."""

    plan: _Plan
    ordinal: int
    node: _Node
    numbers: list[int | None]


def _keep_locked(
    pool: _Pool, plans: Mapping[str, _Plan], previous: Mapping[tuple[str, int], LockedServer]
) -> tuple[dict[str, dict[int, Server]], list[str]]:
    """Servers that stay where the lock put them; all kept numbers are claimed before any is drawn."""
    staying, warnings = _stayers(pool, plans, previous)
    kept: dict[str, dict[int, Server]] = {name: {} for name in plans}
    unfinished: list[_Kept] = []
    for plan, entry, node in staying:
        server = _admit(pool, plan, entry, node)
        if isinstance(server, Server):
            kept[entry.fleet][entry.ordinal] = server
        else:
            unfinished.append(server)
    for server in unfinished:
        if _complete(pool, server):
            host_ports = tuple(zip(server.plan.names, server.numbers, strict=True))
            name = server.plan.spec.name
            kept[name][server.ordinal] = Server(name, server.ordinal, server.node.name, host_ports)  # type: ignore[arg-type]
    return kept, warnings


_Stayer = tuple[_Plan, LockedServer, _Node]


def _stayers(
    pool: _Pool, plans: Mapping[str, _Plan], previous: Mapping[tuple[str, int], LockedServer]
) -> tuple[list[_Stayer], list[str]]:
    """Lock entries whose server may stay on its node, in (fleet, ordinal) order, booked on the node."""
    staying: list[_Stayer] = []
    dropped: dict[str, list[int]] = {}
    for key in sorted(previous):
        entry = previous[key]
        problem = _lock_problem(pool, plans, entry)
        if problem is not None:
            dropped.setdefault(problem, []).append(entry.line)
            continue
        plan, node = plans[entry.fleet], pool.by_name[entry.node]
        if node.schedulable and plan.selector <= node.labels and plan.blocked is None:
            _book(node, plan.spec, 1)
            staying.append((plan, entry, node))
    movers = _overflow(pool, staying)
    if movers:
        staying = [stayer for stayer in staying if (stayer[1].fleet, stayer[1].ordinal) not in movers]
    return staying, _drop_warnings(dropped)


def _overflow(pool: _Pool, staying: list[_Stayer]) -> set[tuple[str, int]]:
    """Servers that must leave nodes they no longer fit on: fleets by name, highest ordinal first."""
    over = {node.index for node in pool.nodes if _exceeded(node)}
    on_node: dict[int, list[_Stayer]] = {}
    for stayer in staying:
        if stayer[2].index in over:
            on_node.setdefault(stayer[2].index, []).append(stayer)
    movers: set[tuple[str, int]] = set()
    for index in sorted(on_node):
        for plan, entry, node in sorted(on_node[index], key=lambda s: (s[1].fleet, -s[1].ordinal)):
            exceeded = _exceeded(node)
            if not exceeded:
                break
            spec = plan.spec
            usage = {RESOURCE_PODS: 1, RESOURCE_CPU: spec.cpu_milli, RESOURCE_MEMORY: spec.memory_bytes}
            if any(usage[resource] > 0 for resource in exceeded):
                _book(node, spec, -1)
                movers.add((entry.fleet, entry.ordinal))
    return movers


def _exceeded(node: _Node) -> list[str]:
    """The resources a node's servers use more of than it has."""
    return [
        resource
        for resource, used, capacity in (
            (RESOURCE_PODS, node.count, node.pods),
            (RESOURCE_CPU, node.cpu_used, node.cpu),
            (RESOURCE_MEMORY, node.memory_used, node.memory),
        )
        if capacity is not None and used > capacity
    ]


def _lock_problem(pool: _Pool, plans: Mapping[str, _Plan], entry: LockedServer) -> str | None:
    plan = plans.get(entry.fleet)
    if plan is None:
        return f'fleet "{entry.fleet}" is not in pool {pool.spec.name}; its entries are dropped'
    if not 0 <= entry.ordinal < plan.spec.replicas:
        replicas = _count(plan.spec.replicas, "replica")
        return f'fleet "{entry.fleet}" has {replicas}; entries for higher ordinals are dropped'
    if entry.node not in pool.by_name:
        return f'node "{entry.node}" is not in pool {pool.spec.name}; its servers are placed again'
    return None


def _drop_warnings(dropped: Mapping[str, list[int]]) -> list[str]:
    """One warning per problem, naming its lines, in order of the first line."""
    warnings = []
    for problem, lines in sorted(dropped.items(), key=lambda item: (min(item[1]), item[0])):
        known = sorted(line for line in lines if line > 0)
        where = f":{_spans(known)}" if known else ""
        warnings.append(f"{LOCK_FILENAME}{where}: {problem} ({_count(len(lines), 'entry', 'entries')})")
    return warnings


def _spans(numbers: list[int]) -> str:
    """'3-7,9' for [3, 4, 5, 6, 7, 9]."""
    spans: list[list[int]] = []
    for number in numbers:
        if spans and number == spans[-1][1] + 1:
            spans[-1][1] = number
        else:
            spans.append([number, number])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def _admit(pool: _Pool, plan: _Plan, entry: LockedServer, node: _Node) -> Server | _Kept:
    """Claim a staying server's still-valid numbers: a Server when they all stand, else a _Kept."""
    candidates, host_ports = _candidates(pool, plan, entry.ports)
    taken, slots, numbers = node.taken, node.slots, []
    for number, meter in zip(candidates, plan.meters, strict=True):
        if number is None or number in taken:
            numbers.append(None)
            host_ports = None
            continue
        taken.add(number)
        if meter is not None:
            slots[meter].free -= 1
        numbers.append(number)
    if host_ports is None:
        return _Kept(plan, entry.ordinal, node, numbers)
    return Server(plan.spec.name, entry.ordinal, node.name, host_ports)


_Candidates = tuple[tuple[int | None, ...], tuple[tuple[str, int], ...] | None]


def _candidates(pool: _Pool, plan: _Plan, locked: tuple[LockedPort, ...]) -> _Candidates:
    """Per numbered port, the locked number if the port's spec is unchanged and the number is in range
    and not reserved; plus the server's host_ports if every port has one. This does not depend on the
    node, and parse_lock shares port tuples between lines, so it is cached per tuple (the cache holds
    the tuple, so its id is not reused)."""
    key = (plan.spec.name, id(locked))
    hit = pool.candidates.get(key)
    if hit is not None and hit[0] is locked:
        return hit[1]
    held = {port.name: port for port in locked}
    numbers = tuple(_candidate(pool, port, held.get(port.name)) for port in plan.ports)
    complete = None not in numbers
    found = (numbers, tuple(zip(plan.names, numbers, strict=True)) if complete else None)
    pool.candidates[key] = (locked, found)  # type: ignore[assignment]
    return found  # type: ignore[return-value]


def _candidate(pool: _Pool, port: _Port, locked: LockedPort | None) -> int | None:
    if locked is None or (locked.policy, locked.protocol, locked.range) != (port.policy, port.protocol, port.range):
        return None
    number = locked.host_port
    if port.static is not None:
        return number if number == port.static else None
    lo, hi = pool.bounds.get(port.range, (1, 0))
    return number if lo <= number <= hi and number not in pool.reserved_in_ranges else None


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


def _fill(pool: _Pool, node: _Node, plan: _Plan, ordinals: list[int], out: dict[int, Server]) -> None:
    """Place servers on a node that has room for them all. The hot loop, hence the hoisted locals."""
    taken, reserved, fleet, names = node.taken, pool.reserved_in_ranges, plan.spec.name, plan.names
    draws = [(position, node.slots[range_name]) for position, range_name in plan.draws]
    for ordinal in ordinals:
        for number, meter in plan.statics:
            pool.claim(node, number, meter)
        numbers = list(plan.template)
        for position, slots in draws:
            if slots.holes:
                numbers[position] = _draw(slots, taken, reserved)
                continue
            number = slots.cursor
            while number in taken or number in reserved:
                number += 1
            slots.cursor = number + 1
            slots.free -= 1
            taken.add(number)
            numbers[position] = number
        out[ordinal] = Server(fleet, ordinal, node.name, tuple(zip(names, numbers, strict=False)))
    _book(node, plan.spec, len(ordinals))


def _pack(pool: _Pool, plan: _Plan, ordinals: list[int], out: dict[int, Server]) -> None:
    """Fill the fullest eligible node, then the next: it stays the fullest while it is being filled."""
    heap = [(-node.count, node.index) for node in pool.eligible(plan)]
    heapq.heapify(heap)
    start = 0
    while heap and start < len(ordinals):
        node = pool.nodes[heapq.heappop(heap)[1]]
        room = min(_room(node, plan), len(ordinals) - start)
        if room > 0:
            _fill(pool, node, plan, ordinals[start : start + room], out)
            start += room


def _spread(pool: _Pool, plan: _Plan, ordinals: list[int], out: dict[int, Server]) -> None:
    """Put each server on the emptiest eligible node; a node leaves the heap once it is full.

    Nodes share no numbers, so servers are first assigned to nodes and then numbered a node at a
    time, in ordinal order, which gives the same numbers as placing them one by one.
    """
    heap = [(node.count, node.index) for node in pool.eligible(plan)]
    heapq.heapify(heap)
    rooms: dict[int, int] = {}
    chosen: dict[int, list[int]] = {}
    for ordinal in ordinals:
        while heap:
            count, index = heap[0]
            room = rooms.get(index)
            if room is None:
                room = _room(pool.nodes[index], plan)
            if room > 0:
                break
            heapq.heappop(heap)
        else:
            break
        chosen.setdefault(index, []).append(ordinal)
        rooms[index] = room - 1
        heapq.heapreplace(heap, (count + 1, index))
    for index, assigned in chosen.items():
        _fill(pool, pool.nodes[index], plan, assigned, out)


# ---------------------------------------------------------------------------------------------------
# What did not fit, and how full the pool is


def _shortfall(pool: _Pool, plan: _Plan, servers: Mapping[int, Server]) -> Shortfall:
    """Name the resource that blocks most eligible nodes once all is placed, with the fleet's need vs.

    what the rest of the pool leaves it. Measured at the end, so a render with its own lock says the same.
    """
    fleet, wanted = plan.spec.name, plan.spec.replicas
    unplaced = wanted - len(servers)
    nodes = pool.eligible(plan)
    if not nodes:
        return Shortfall(fleet, unplaced, *_missing_nodes(pool, plan, wanted))
    if plan.blocked is not None:
        number, reason = plan.blocked
        return Shortfall(fleet, unplaced, static_resource(number), _count(wanted, "server"), reason)
    placed: dict[int, int] = {}
    for server in servers.values():
        index = pool.by_name[server.node].index
        placed[index] = placed.get(index, 0) + 1
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
    """Needed and available pods, cpu, memory or range ports; what the fleet itself holds counts as free."""
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
    servers, warnings = _keep_locked(state, plans, previous)
    for name, plan in plans.items():
        _place_fleet(state, plan, servers[name])
    shortfalls = tuple(
        _shortfall(state, plan, servers[name])
        for name, plan in plans.items()
        if len(servers[name]) < plan.spec.replicas
    )
    ordered = tuple(server for name in plans for server in _by_ordinal(servers[name]))
    return Allocation(pool.name, ordered, shortfalls, tuple(_usage_warnings(state)), tuple(warnings))


def _place_fleet(pool: _Pool, plan: _Plan, out: dict[int, Server]) -> None:
    """Place the fleet's servers that were not kept, lowest ordinal first."""
    ordinals = [ordinal for ordinal in range(plan.spec.replicas) if ordinal not in out]
    if ordinals and plan.blocked is None:
        place = _spread if plan.spec.scheduling == Scheduling.DISTRIBUTED else _pack
        place(pool, plan, ordinals, out)


def _by_ordinal(servers: Mapping[int, Server]) -> list[Server]:
    return [servers[ordinal] for ordinal in sorted(servers)]


def locked_servers(allocation: Allocation, pool: PoolSpec) -> tuple[LockedServer, ...]:
    """The lock entries of an allocation: each port with the spec it was allocated under.

    Servers of a fleet repeat the same numbers on many nodes, so ports and port tuples are shared."""
    specs = {fleet.name: {port.name: port for port in fleet.ports} for fleet in pool.fleets}
    tuples: dict[tuple[str, tuple[tuple[str, int], ...]], tuple[LockedPort, ...]] = {}
    ports: dict[tuple[str, str, int], LockedPort] = {}
    entries = []
    for server in allocation.servers:
        key = (server.fleet, server.host_ports)
        locked = tuples.get(key)
        if locked is None:
            locked = tuples[key] = tuple(
                _locked_port(ports, specs[server.fleet][n], server.fleet, n, number) for n, number in server.host_ports
            )
        entries.append(LockedServer(server.fleet, server.ordinal, server.node, locked))
    return tuple(entries)


def _locked_port(
    cache: dict[tuple[str, str, int], LockedPort], spec: PortSpec, fleet: str, name: str, number: int
) -> LockedPort:
    port = cache.get((fleet, name, number))
    if port is None:
        range_name = STATIC_RANGE if spec.policy == Policy.STATIC else spec.range
        port = LockedPort(name, number, str(spec.policy), str(spec.protocol), range_name)
        cache[fleet, name, number] = port
    return port
