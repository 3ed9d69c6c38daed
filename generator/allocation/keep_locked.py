"""Keep locked: rule 1 of the allocator, the servers that stay where the previous lock put them.

All kept numbers are claimed before any is drawn, so a kept server never loses its number to a newcomer;
servers that no longer fit move off in a fixed order (fleets by name, highest ordinal first). A kept
number that the lock gives twice on one node, or that lies outside its range, is a lock fleetgen never
wrote: the server gets another number, and the repair is reported with the lock line and what moved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..fleetfiles.entries import LOCK_FILE
from .lock import LockedPort, LockedServer
from .pool_state import Candidates, FleetPlan, NodeState, PoolState, PortPlan, book, hosts
from .spec import RESOURCE_CPU, RESOURCE_MEMORY, RESOURCE_PODS, LockRepair, Server, plural

HINT_CLASH = (
    "fleetgen never writes two servers on one number of a node: was the lock edited by hand, or merged? "
    "The lock render writes holds the repair; review it with `fleetgen plan` and commit it"
)
HINT_BOUNDS = (
    "the pool's portRanges or reservedPorts no longer allow the number (or the lock was edited by hand); "
    "the lock render writes holds the repair"
)
Flaw = tuple[LockedServer, str, bool]  # a lock entry, what is impossible about one of its numbers, a clash?

# Rule 1: keep what the lock says


@dataclass(slots=True)
class _Kept:
    """A server kept on its node with some ports still to be numbered."""

    plan: FleetPlan
    ordinal: int
    node: NodeState
    numbers: list[int | None]


def keep_locked(
    pool: PoolState, plans: Mapping[str, FleetPlan], previous: Mapping[tuple[str, int], LockedServer]
) -> tuple[dict[str, dict[int, Server]], list[str], list[Flaw]]:
    """Servers that stay where the lock put them; all kept numbers are claimed before any is drawn. Also the
    warnings about entries dropped, and the flaws of entries kept whose numbers could not all be."""
    staying, warnings = _stayers(pool, plans, previous)
    kept: dict[str, dict[int, Server]] = {name: {} for name in plans}
    unfinished: list[_Kept] = []
    flaws: list[Flaw] = []
    holders = _Holders(pool, staying)
    for plan, entry, node in staying:
        server = _admit(pool, plan, entry, node)
        if isinstance(server, Server):
            kept[entry.fleet][entry.ordinal] = server
        else:
            unfinished.append(server)
            flaws += _flaws(pool, server, entry, holders)
    for server in unfinished:
        if _complete(pool, server):
            host_ports = tuple(zip(server.plan.names, server.numbers, strict=True))
            name = server.plan.spec.name
            kept[name][server.ordinal] = Server(name, server.ordinal, server.node.name, host_ports)  # type: ignore[arg-type]
    return kept, warnings, flaws


_Stayer = tuple[FleetPlan, LockedServer, NodeState]


def _stayers(
    pool: PoolState, plans: Mapping[str, FleetPlan], previous: Mapping[tuple[str, int], LockedServer]
) -> tuple[list[_Stayer], list[str]]:
    """Lock entries whose server may stay on its node, in (fleet, ordinal) order, booked on the node."""
    staying: list[_Stayer] = []
    dropped: dict[str, list[int]] = {}
    by_name = pool.by_name
    for key in sorted(previous):
        entry = previous[key]
        plan, node = plans.get(entry.fleet), by_name.get(entry.node)
        if plan is None or node is None or not 0 <= entry.ordinal < plan.spec.replicas:
            dropped.setdefault(_lock_problem(pool, plans, entry), []).append(entry.line)
            continue
        if hosts(node, plan) and plan.blocked is None:
            book(node, plan.spec, 1)
            staying.append((plan, entry, node))
    movers = _overflow(pool, staying)
    if movers:
        staying = [stayer for stayer in staying if (stayer[1].fleet, stayer[1].ordinal) not in movers]
    return staying, _drop_warnings(dropped)


def _overflow(pool: PoolState, staying: list[_Stayer]) -> set[tuple[str, int]]:
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
                book(node, spec, -1)
                movers.add((entry.fleet, entry.ordinal))
    return movers


def _exceeded(node: NodeState) -> list[str]:
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


def _lock_problem(pool: PoolState, plans: Mapping[str, FleetPlan], entry: LockedServer) -> str:
    """Why an entry whose fleet, ordinal or node is gone cannot stay."""
    plan = plans.get(entry.fleet)
    if plan is None:
        return f'fleet "{entry.fleet}" is not in pool {pool.spec.name}; its entries are dropped'
    if not 0 <= entry.ordinal < plan.spec.replicas:
        replicas = plural(plan.spec.replicas, "replica")
        return f'fleet "{entry.fleet}" has {replicas}; entries for higher ordinals are dropped'
    return f'node "{entry.node}" is not in pool {pool.spec.name}; its servers are placed again'


def _drop_warnings(dropped: Mapping[str, list[int]]) -> list[str]:
    """One warning per problem, naming its lines, in order of the first line."""
    warnings = []
    for problem, lines in sorted(dropped.items(), key=lambda item: (min(item[1]), item[0])):
        known = sorted(line for line in lines if line > 0)
        where = f":{_spans(known)}" if known else ""
        warnings.append(f"{LOCK_FILE}{where}: {problem} ({plural(len(lines), 'entry', 'entries')})")
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


def _admit(pool: PoolState, plan: FleetPlan, entry: LockedServer, node: NodeState) -> Server | _Kept:
    """Claim a staying server's still-valid numbers: a Server when they all stand, else a _Kept."""
    candidates, host_ports = _candidates(pool, plan, entry.ports)
    taken, slots = node.taken, node.slots
    if host_ports is not None and taken.isdisjoint(candidates):  # the rule, unless a lock was edited by hand
        taken.update(candidates)  # type: ignore[arg-type]
        for meter in plan.meters:
            if meter is not None:
                slots[meter].free -= 1
        return Server(plan.spec.name, entry.ordinal, node.name, host_ports)
    numbers: list[int | None] = []  # at least one None: missing, repeated or held on the node
    for number, meter in zip(candidates, plan.meters, strict=True):
        if number is None or number in taken:
            numbers.append(None)
            continue
        taken.add(number)
        if meter is not None:
            slots[meter].free -= 1
        numbers.append(number)
    return _Kept(plan, entry.ordinal, node, numbers)


def _candidates(pool: PoolState, plan: FleetPlan, locked: tuple[LockedPort, ...]) -> Candidates:
    """Per numbered port, the locked number if the port's spec is unchanged and the number is in range
    and not reserved; plus the server's host_ports if every port has one, and no two the same. This does
    not depend on the node, and parse_lock shares port tuples between lines, so it is cached per tuple
    (the cache holds the tuple, so its id is not reused)."""
    key = (plan.spec.name, id(locked))
    hit = pool.candidates.get(key)
    if hit is not None and hit[0] is locked:
        return hit[1]
    held = {port.name: port for port in locked}
    numbers = tuple(_candidate(pool, port, held.get(port.name)) for port in plan.ports)
    complete = None not in numbers and len(set(numbers)) == len(numbers)
    found = (numbers, tuple(zip(plan.names, numbers, strict=True)) if complete else None)
    pool.candidates[key] = (locked, found)  # type: ignore[assignment]
    return found  # type: ignore[return-value]


def _candidate(pool: PoolState, port: PortPlan, locked: LockedPort | None) -> int | None:
    if locked is None or (locked.policy, locked.protocol, locked.range) != (port.policy, port.protocol, port.range):
        return None
    number = locked.host_port
    if port.static is not None:
        return number if number == port.static else None
    lo, hi = pool.bounds.get(port.range, (1, 0))
    return number if lo <= number <= hi and number not in pool.reserved_in_ranges else None


def _complete(pool: PoolState, kept: _Kept) -> bool:
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


def _evict(pool: PoolState, kept: _Kept) -> None:
    for port, number in zip(kept.plan.ports, kept.numbers, strict=True):
        if number is not None:
            pool.release(kept.node, number, port.meter)
    book(kept.node, kept.plan.spec, -1)


# Lock entries in a state fleetgen never writes: repaired, and said so


class _Holders:
    """Which lock entry (and port) first claims each kept number of a node; built only once a lock turns out
    to give one number twice, since a lock fleetgen wrote never does."""

    def __init__(self, pool: PoolState, staying: list[_Stayer]) -> None:
        self._pool, self._staying = pool, staying
        self._first: dict[tuple[int, int], tuple[LockedServer, str]] | None = None

    def of(self, node: NodeState, number: int) -> tuple[LockedServer, str]:
        if self._first is None:
            self._first = {}
            for plan, entry, stayer_node in self._staying:
                numbers, _ = _candidates(self._pool, plan, entry.ports)
                for name, candidate in zip(plan.names, numbers, strict=True):
                    if candidate is not None:
                        self._first.setdefault((stayer_node.index, candidate), (entry, name))
        return self._first[node.index, number]


def _flaws(pool: PoolState, kept: _Kept, entry: LockedServer, holders: _Holders) -> list[Flaw]:
    """Why numbers of a kept server whose spec is unchanged could not be kept (a changed spec is no flaw)."""
    candidates, _ = _candidates(pool, kept.plan, entry.ports)
    held = {port.name: port for port in entry.ports}
    found: list[Flaw] = []
    for port, candidate, number in zip(kept.plan.ports, candidates, kept.numbers, strict=True):
        if candidate is not None and number is None:
            other, other_port = holders.of(kept.node, candidate)
            who = f"its own port {other_port}" if other is entry else f"{_server(other)}{_on_line(other)}"
            found.append((entry, f"port {port.name} {candidate} on node {kept.node.name} is held by {who} too", True))
        elif candidate is None:
            problem = _out_of_bounds(pool, port, held.get(port.name))
            if problem is not None:
                found.append((entry, problem, False))
    return found


def _out_of_bounds(pool: PoolState, port: PortPlan, locked: LockedPort | None) -> str | None:
    if locked is None or port.static is not None or port.range not in pool.bounds:
        return None
    if (locked.policy, locked.protocol, locked.range) != (port.policy, port.protocol, port.range):
        return None  # the port's spec changed: a new number is the rule, not a repair
    number, (low, high) = locked.host_port, pool.bounds[port.range]
    if not low <= number <= high:
        return f"port {port.name} {number} is outside range {port.range} ({low}-{high})"
    if number in pool.reserved_in_ranges:
        return f"port {port.name} {number} is one of the pool's reservedPorts"
    return None


def lock_repairs(flaws: list[Flaw], placed: Mapping[str, Mapping[int, Server]]) -> tuple[LockRepair, ...]:
    """One repair per flawed lock line, in lock order: what was wrong, and where the server is now."""
    by_entry: dict[tuple[str, int], list[Flaw]] = {}
    for flaw in flaws:
        by_entry.setdefault((flaw[0].fleet, flaw[0].ordinal), []).append(flaw)
    repairs = []
    for found in by_entry.values():
        entry = found[0][0]
        problems = "; ".join(problem for _, problem, _ in found)
        moved = _moved(entry, placed[entry.fleet].get(entry.ordinal))
        hint = HINT_CLASH if any(clash for _, _, clash in found) else HINT_BOUNDS
        repairs.append(LockRepair(entry.line, f"{_server(entry)}: {problems}; {moved}", hint))
    return tuple(repairs)


def _moved(entry: LockedServer, server: Server | None) -> str:
    if server is None:
        return "it is not placed (see the capacity error)"
    old = {port.name: port.host_port for port in entry.ports}
    ports = ", ".join(f"{name} {old[name]} -> {n}" for name, n in server.host_ports if old.get(name, n) != n)
    if server.node == entry.node:
        return f"renumbered on node {server.node}: {ports}"
    return f"moved from node {entry.node} to {server.node}" + (f": {ports}" if ports else "")


def _server(entry: LockedServer) -> str:
    return f"{entry.fleet}-{entry.ordinal}"


def _on_line(entry: LockedServer) -> str:
    return f" (line {entry.line})" if entry.line else ""
