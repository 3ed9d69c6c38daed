"""capacity's room from one allocation (`allocation/room.py`) gives the search's own answer, asking the allocator
only about counts it cannot decide: checked against the search without it on random pools and locks, and at
the edges where one resource runs out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_allocate import GAME, edits, fleet, lock_of, node, pool, pools

from generator.allocation import capacity, placement
from generator.allocation.allocate import allocate, allocate_traced
from generator.allocation.capacity import fleet_rooms, most_replicas
from generator.allocation.lock import LockedServer
from generator.allocation.room import proofs
from generator.allocation.spec import PoolSpec, PortSpec
from generator.kube.taints import Taint, Toleration

Lock = Mapping[tuple[str, int], LockedServer]
TAINT = Taint("dedicated", "ranked", "NoSchedule")
TOLERATION = Toleration("dedicated", "Equal", "ranked", "NoSchedule")


def both_answers(spec: PoolSpec, previous: Lock) -> list[tuple[str, int | None, int | None]]:
    """Per fleet: the search's answer without a proof, and with what the pool's one allocation proves."""
    traced = allocate_traced(spec, previous)
    current = placement.allocate_honestly(spec, previous)[0]
    proven = proofs(previous, traced)
    return [
        (
            f.name,
            most_replicas(spec, previous, f.name, current),
            most_replicas(spec, previous, f.name, current, proven.get(f.name)),
        )
        for f in spec.fleets
    ]


def assert_same(spec: PoolSpec, previous: Lock) -> None:
    for name, searched, proven in both_answers(spec, previous):
        assert proven == searched, (name, spec, previous)


@st.composite
def tainted(draw: st.DrawFn, spec: PoolSpec) -> PoolSpec:
    """Some nodes tainted and some fleets tolerating it, so that taints narrow where fleets may go."""
    nodes = tuple(replace(n, taints=(TAINT,)) if draw(st.integers(0, 3)) == 0 else n for n in spec.nodes)
    fleets = tuple(replace(f, tolerations=(TOLERATION,)) if draw(st.booleans()) else f for f in spec.fleets)
    return replace(spec, nodes=nodes, fleets=fleets)


ROOMY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@ROOMY
@given(st.data())
def test_the_proven_answer_is_the_searched_one_after_any_edits(data: st.DataObject) -> None:
    spec = data.draw(pools().flatmap(tainted))
    assert_same(spec, {})
    allocation = allocate(spec, {})
    for _ in range(data.draw(st.integers(1, 3))):
        _, edited = data.draw(edits(spec))
        lock = lock_of(allocation, spec) if data.draw(st.integers(0, 5)) else {}
        assert_same(edited, lock)
        spec, allocation = edited, placement.allocate_honestly(edited, lock)[0]


@ROOMY
@given(st.data())
def test_the_proven_answer_is_the_searched_one_with_the_pools_own_lock(data: st.DataObject) -> None:
    """The usual case: the lock a render wrote, then one fleet scaled (its proof has the most to carry)."""
    spec = data.draw(pools().flatmap(tainted))
    lock = lock_of(placement.allocate_honestly(spec, {})[0], spec)
    assert_same(spec, lock)
    index = data.draw(st.integers(0, len(spec.fleets) - 1))
    scaled = replace(spec.fleets[index], replicas=data.draw(st.integers(0, 12)))
    assert_same(replace(spec, fleets=(*spec.fleets[:index], scaled, *spec.fleets[index + 1 :])), lock)


# --- Edges: the answer, and that it needed no allocation beyond the pool's own ------------------------------


@pytest.fixture
def allocations(monkeypatch: pytest.MonkeyPatch) -> list[PoolSpec]:
    """Every allocation the search asks for (the pool's own is made before, without it)."""
    calls: list[PoolSpec] = []

    def counted(spec: PoolSpec, previous: Any) -> Any:
        calls.append(spec)
        return allocate(spec, previous)

    monkeypatch.setattr(placement, "allocate", counted)
    monkeypatch.setattr(capacity, "allocate", counted)
    return calls


def rendered(spec: PoolSpec) -> Lock:
    """The lock a render of `spec` writes."""
    return lock_of(allocate(spec, {}), spec)


def answers(spec: PoolSpec, previous: Lock, calls: list[PoolSpec]) -> dict[str, int | None]:
    """capacity's answers, each checked against the search; `calls` is left with the allocations they asked."""
    searched = {name: answer for name, answer, _ in both_answers(spec, previous)}
    calls.clear()
    _, rooms = fleet_rooms(spec, previous)
    assert {room.fleet: room.most for room in rooms} == searched
    return searched


def test_a_range_running_out_settles_without_the_allocator(allocations: list[PoolSpec]) -> None:
    spec = pool(
        [node("a", pods=100), node("b", pods=100)], [fleet("f", 3, GAME, PortSpec("voice"))], (("default", 7000, 7009),)
    )
    assert answers(spec, rendered(spec), allocations) == {"f": 10}
    assert allocations == []


def test_cpu_running_out_on_every_node_settles(allocations: list[PoolSpec]) -> None:
    nodes = [node("a", cpu_milli=2000), node("b", cpu_milli=1000)]
    spec = pool(nodes, [fleet("f", 1, GAME, cpu_milli=500), fleet("g", 2, GAME, cpu_milli=250)])
    assert answers(spec, rendered(spec), allocations) == {"f": 5, "g": 10}
    assert allocations == []


def test_memory_left_in_pieces_too_small_asks_the_allocator_past_the_proven_room(
    allocations: list[PoolSpec],
) -> None:
    """1 GiB free on each node, 2 GiB in all: a kept placement gives g no room, and only a placement from
    nothing can tell whether the pieces join (they do not)."""
    nodes = [node("a", memory_bytes=4), node("b", memory_bytes=4)]
    spec = pool(nodes, [fleet("f", 2, GAME, memory_bytes=3), fleet("g", 0, GAME, memory_bytes=2)])
    assert answers(spec, rendered(spec), allocations) == {"f": 2, "g": 0}
    assert allocations, "the count past the proven room is the allocator's to answer"


def test_pods_per_node_and_a_cordoned_node(allocations: list[PoolSpec]) -> None:
    nodes = [node("a", pods=3), node("b", pods=5, schedulable=False), node("c", pods=2)]
    spec = pool(nodes, [fleet("f", 2, GAME), fleet("g", 1, GAME, scheduling="Distributed")])
    assert answers(spec, rendered(spec), allocations) == {"f": 4, "g": 3}
    assert allocations == []


def test_a_cordoned_node_holding_locked_servers_leaves_the_fleets_before_them_to_the_search(
    allocations: list[PoolSpec],
) -> None:
    """g's servers on b are placed again, after f's extra ones would be: only g's own room is proven."""
    nodes = [node("a", pods=4), node("b", pods=4), node("c", pods=4)]
    spec = pool(nodes, [fleet("f", 3, GAME), fleet("g", 3, GAME)])
    lock = rendered(spec)
    assert {entry.node for key, entry in lock.items() if key[0] == "g"} == {"a", "b"}
    cordoned = replace(spec, nodes=(nodes[0], replace(nodes[1], schedulable=False), nodes[2]))
    assert set(proofs(lock, allocate_traced(cordoned, lock))) == {"g"}
    assert answers(cordoned, lock, allocations) == {"f": 5, "g": 5}
    assert allocations and all(dict((f.name, f.replicas) for f in s.fleets)["g"] == 3 for s in allocations)


def test_taints_keep_a_fleet_to_the_nodes_it_tolerates_and_a_fresh_placement_may_fit_more(
    allocations: list[PoolSpec],
) -> None:
    nodes = [node("a", pods=4, taints=(TAINT,)), node("b", pods=2)]
    spec = pool(nodes, [fleet("f", 1, GAME), fleet("g", 1, GAME, tolerations=(TOLERATION,))])
    assert answers(spec, rendered(spec), allocations) == {"f": 2, "g": 5}
    assert allocations, "f's second server fits only in a placement from nothing (g then on a)"


def test_passthrough_and_tcpudp_ports_each_take_one_number(allocations: list[PoolSpec]) -> None:
    ports = (PortSpec("game", "Passthrough", "TCP"), PortSpec("both", "Dynamic", "TCPUDP"))
    spec = pool([node("a", pods=50)], [fleet("f", 1, *ports)], (("default", 7000, 7007),), ((7003, 7003),))
    assert answers(spec, rendered(spec), allocations) == {"f": 3}
    assert allocations == []


def test_a_static_port_holds_one_server_per_node(allocations: list[PoolSpec]) -> None:
    static = PortSpec("query", "Static", "TCP", host_port=27015)
    spec = pool([node("a"), node("b"), node("c")], [fleet("f", 1, GAME, static), fleet("g", 1, static)])
    assert answers(spec, rendered(spec), allocations) == {"f": 2, "g": 2}
    assert allocations == []


def test_a_pool_whose_lock_no_longer_fits_where_it_is_falls_back_to_the_search(allocations: list[PoolSpec]) -> None:
    """f's requests grew: kept where the lock says, f0 no longer fits; a placement from nothing fits all."""
    nodes = [node("a", cpu_milli=2000), node("b", cpu_milli=1000)]
    before = pool(nodes, [fleet("f", 1, GAME, cpu_milli=500), fleet("g", 1, GAME, cpu_milli=500)])
    lock = rendered(before)
    grown = replace(before, fleets=(fleet("f", 1, GAME, cpu_milli=2000), before.fleets[1]))
    assert allocate(grown, lock).shortfalls and placement.allocate_honestly(grown, lock)[1] > 0
    assert proofs(lock, allocate_traced(grown, lock)) == {}
    assert answers(grown, lock, allocations) == {"f": 1, "g": 2}


def test_lock_entries_past_the_replicas_leave_that_fleet_to_the_search(allocations: list[PoolSpec]) -> None:
    nodes = [node("a", pods=4), node("b", pods=4)]
    spec = pool(nodes, [fleet("f", 4, GAME), fleet("g", 2, GAME)])
    lock = rendered(spec)
    scaled_down = replace(spec, fleets=(fleet("f", 2, GAME), spec.fleets[1]))
    traced = allocate_traced(scaled_down, lock)
    assert "f" not in proofs(lock, traced) and "g" in proofs(lock, traced)
    assert answers(scaled_down, lock, allocations) == {"f": 6, "g": 6}
