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

Each (node, range) keeps a cursor (`pool_state`), and each fleet walks a heap of its eligible nodes:
the cost is about servers x ports plus fleets x eligible nodes, never a range's width or all nodes per
server. Rule 1 lives in `keep_locked`, the shortfalls and warnings in `shortfall`.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import islice

from .keep_locked import keep_locked, lock_repairs
from .lock import STATIC_RANGE, LockedPort, LockedServer
from .pool_state import FleetPlan, NodeState, PoolState, book, draw_number, fleet_plan, room_for
from .rollout import FleetRevisions
from .shortfall import shortfall, usage_warnings
from .spec import Allocation, Policy, PoolSpec, PortSpec, Scheduling, Server


def allocate(pool: PoolSpec, previous: Mapping[tuple[str, int], LockedServer]) -> Allocation:
    """Place every server of the pool, keeping what the previous lock says wherever it still holds."""
    return allocate_traced(pool, previous).allocation


@dataclass(frozen=True, slots=True)
class Traced:
    """An allocation with the allocator's working state at its end, its fleet plans, and how many servers of
    each fleet rule 1 kept: what `capacity` needs to count a fleet's room without allocating again."""

    allocation: Allocation
    state: PoolState
    plans: Mapping[str, FleetPlan]
    kept: Mapping[str, int]


def allocate_traced(pool: PoolSpec, previous: Mapping[tuple[str, int], LockedServer]) -> Traced:
    """`allocate`, keeping what it worked with."""
    state = PoolState(pool)
    plans = {fleet.name: fleet_plan(fleet, state) for fleet in sorted(pool.fleets, key=lambda f: f.name)}
    if len(plans) != len(pool.fleets):
        raise ValueError(f"internal error: pool {pool.name} lists a fleet name twice")
    servers, warnings, flaws = keep_locked(state, plans, previous)
    kept = {name: len(found) for name, found in servers.items()}
    for name, plan in plans.items():
        _place_fleet(state, plan, servers[name])
    shortfalls = tuple(
        shortfall(state, plan, servers[name]) for name, plan in plans.items() if len(servers[name]) < plan.spec.replicas
    )
    ordered = tuple(server for name in plans for server in _by_ordinal(servers[name]))
    repairs = lock_repairs(flaws, servers)
    allocation = Allocation(pool.name, ordered, shortfalls, tuple(usage_warnings(state)), tuple(warnings), repairs)
    return Traced(allocation, state, plans, kept)


def _place_fleet(pool: PoolState, plan: FleetPlan, out: dict[int, Server]) -> None:
    """Place the fleet's servers that were not kept, lowest ordinal first. No more ordinals are drawn than
    the eligible nodes have room for, so replicas far beyond the pool cost no time or memory."""
    if plan.blocked is not None:
        return
    room = sum(room_for(node, plan) for node in pool.eligible(plan))
    ordinals = list(islice((ordinal for ordinal in range(plan.spec.replicas) if ordinal not in out), room))
    if ordinals:
        place = _spread if plan.spec.scheduling == Scheduling.DISTRIBUTED else _pack
        place(pool, plan, ordinals, out)


def _by_ordinal(servers: Mapping[int, Server]) -> list[Server]:
    return [servers[ordinal] for ordinal in sorted(servers)]


def locked_servers(
    allocation: Allocation, pool: PoolSpec, revisions: Mapping[str, FleetRevisions]
) -> tuple[LockedServer, ...]:
    """The lock entries of an allocation: each port with the spec it was allocated under, each server with the
    template revision it runs.

    Servers of a fleet repeat the same numbers on many nodes, so ports and port tuples are shared."""
    specs = {fleet.name: {port.name: port for port in fleet.ports} for fleet in pool.fleets}
    tuples: dict[tuple[str, tuple[tuple[str, int], ...]], tuple[LockedPort, ...]] = {}
    ports: dict[tuple[str, str, int], LockedPort] = {}
    entries = []
    for server in allocation.servers:
        fleet = server.fleet
        key = (fleet, server.host_ports)
        locked = tuples.get(key)
        if locked is None:
            locked = tuples[key] = tuple(
                _locked_port(ports, specs[fleet][n], fleet, n, number) for n, number in server.host_ports
            )
        revision = revisions[fleet].revision(server.ordinal)
        entries.append(LockedServer(fleet, server.ordinal, server.node, locked, revision))
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


# ---------------------------------------------------------------------------------------------------
# Rule 2: place the rest


def _fill(pool: PoolState, node: NodeState, plan: FleetPlan, ordinals: list[int], out: dict[int, Server]) -> None:
    """Place servers on a node that has room for them all. The hot loop, hence the hoisted locals."""
    taken, reserved, fleet, names = node.taken, pool.reserved_in_ranges, plan.spec.name, plan.names
    draws = [(position, node.slots[range_name]) for position, range_name in plan.draws]
    for ordinal in ordinals:
        for number, meter in plan.statics:
            pool.claim(node, number, meter)
        numbers = list(plan.template)
        for position, slots in draws:
            if slots.holes:
                numbers[position] = draw_number(slots, taken, reserved)
                continue
            number = slots.cursor
            while number in taken or number in reserved:
                number += 1
            slots.cursor = number + 1
            slots.free -= 1
            taken.add(number)
            numbers[position] = number
        out[ordinal] = Server(fleet, ordinal, node.name, tuple(zip(names, numbers, strict=False)))
    book(node, plan.spec, len(ordinals))


def _pack(pool: PoolState, plan: FleetPlan, ordinals: list[int], out: dict[int, Server]) -> None:
    """Fill the fullest eligible node, then the next: it stays the fullest while it is being filled."""
    heap = [(-node.count, node.index) for node in pool.eligible(plan)]
    heapq.heapify(heap)
    start = 0
    while heap and start < len(ordinals):
        node = pool.nodes[heapq.heappop(heap)[1]]
        room = min(room_for(node, plan), len(ordinals) - start)
        if room > 0:
            _fill(pool, node, plan, ordinals[start : start + room], out)
            start += room


def _spread(pool: PoolState, plan: FleetPlan, ordinals: list[int], out: dict[int, Server]) -> None:
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
                room = room_for(pool.nodes[index], plan)
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
