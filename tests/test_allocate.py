"""allocate: every placement rule as a unit test, then properties against a brute-force reference."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.allocation.allocate import allocate, locked_servers
from generator.allocation.lock import LockedPort, LockedServer, lock_text, parse_lock
from generator.allocation.rollout import FleetRevisions
from generator.allocation.spec import Allocation, FleetSpec, NodeSpec, PoolSpec, PortSpec, Server

DEFAULT = (("default", 7000, 8000),)
GAME = PortSpec("game")
GiB = 2**30


def node(name: str, **fields: object) -> NodeSpec:
    return NodeSpec(name, f"192.0.2.{len(name)}", **fields)  # type: ignore[arg-type]


def fleet(name: str, replicas: int, *ports: PortSpec, **fields: object) -> FleetSpec:
    return FleetSpec(name, replicas, ports=ports, **fields)  # type: ignore[arg-type]


def pool(
    nodes: tuple[NodeSpec, ...] | list[NodeSpec],
    fleets: tuple[FleetSpec, ...] | list[FleetSpec],
    ranges: tuple[tuple[str, int, int], ...] = DEFAULT,
    reserved: tuple[tuple[int, int], ...] = (),
) -> PoolSpec:
    return PoolSpec("pool", tuple(nodes), ranges, reserved, tuple(fleets))


REVISION = "3f2a1b9c0d"


def one_revision(spec: PoolSpec) -> dict[str, FleetRevisions]:
    """Every server on one template revision: the allocator never looks at it."""
    return {fleet.name: FleetRevisions(fleet.name, REVISION, 0, "", {}, {}) for fleet in spec.fleets}


def lock_of(allocation: Allocation, spec: PoolSpec) -> dict[tuple[str, int], LockedServer]:
    """What the next render reads: the lock text, written and parsed back."""
    parsed = parse_lock(lock_text(locked_servers(allocation, spec, one_revision(spec))))
    assert parsed.warnings == ()
    return dict(parsed.entries)


def by_name(allocation: Allocation) -> dict[str, Server]:
    return {server.name: server for server in allocation.servers}


def numbers(allocation: Allocation, port: str = "game") -> list[int]:
    return [dict(server.host_ports)[port] for server in allocation.servers]


# ---------------------------------------------------------------------------------------------------
# Seed capacity figures and exhaustion messages


def test_1001_one_port_servers_fit_on_a_node_and_the_1002nd_is_a_ports_shortfall() -> None:
    fits = allocate(pool([node("a", pods=2000)], [fleet("arena", 1001, GAME)]), {})
    assert len(fits.servers) == 1001 and fits.shortfalls == ()
    assert numbers(fits) == list(range(7000, 8001))
    over = allocate(pool([node("a", pods=2000)], [fleet("arena", 1002, GAME)]), {})
    assert len(over.servers) == 1001
    (shortfall,) = over.shortfalls
    assert (shortfall.fleet, shortfall.unplaced) == ("arena", 1)
    assert shortfall.resource == 'ports in range "default"'
    assert shortfall.needed == "1,002 servers x 1 port"
    assert shortfall.available == "1,001 free ports on 1 eligible node"


def test_500_two_port_servers_fit_on_a_node() -> None:
    two = (GAME, PortSpec("query", protocol="TCP"))
    fits = allocate(pool([node("a", pods=2000)], [fleet("arena", 500, *two)]), {})
    assert len(fits.servers) == 500 and fits.shortfalls == ()
    over = allocate(pool([node("a", pods=2000)], [fleet("arena", 501, *two)]), {})
    (shortfall,) = over.shortfalls
    assert shortfall.unplaced == 1 and shortfall.needed == "501 servers x 2 ports"
    assert shortfall.available == "1,001 free ports on 1 eligible node"


def test_fragmented_ports_say_how_many_servers_the_free_numbers_hold() -> None:
    two = (GAME, PortSpec("query", protocol="TCP"))
    nodes = [node("a"), node("b")]
    allocation = allocate(pool(nodes, [fleet("arena", 3, *two)], ranges=(("default", 7000, 7002),)), {})
    (shortfall,) = allocation.shortfalls
    assert shortfall.unplaced == 1
    assert shortfall.available == "6 free ports on 2 eligible nodes, room for 2 servers"


def test_pods_shortfall() -> None:
    allocation = allocate(pool([node("a", pods=3), node("b", pods=2)], [fleet("arena", 7, GAME)]), {})
    (shortfall,) = allocation.shortfalls
    assert (shortfall.unplaced, shortfall.resource) == (2, "pods")
    assert (shortfall.needed, shortfall.available) == ("7 servers x 1 pod", "5 free pods on 2 eligible nodes")


def test_cpu_shortfall() -> None:
    nodes = [node("a", cpu_milli=1000), node("b", cpu_milli=1200)]
    allocation = allocate(pool(nodes, [fleet("arena", 5, GAME, cpu_milli=500)]), {})
    (shortfall,) = allocation.shortfalls
    assert (shortfall.unplaced, shortfall.resource) == (1, "cpu")
    assert shortfall.needed == "5 servers x 500m cpu"
    assert shortfall.available == "2,200m free cpu on 2 eligible nodes"
    nodes = [node("a", cpu_milli=900), node("b", cpu_milli=1400)]
    (shortfall,) = allocate(pool(nodes, [fleet("arena", 5, GAME, cpu_milli=500)]), {}).shortfalls
    assert shortfall.unplaced == 2
    assert shortfall.available == "2,300m free cpu on 2 eligible nodes, room for 3 servers"


def test_memory_shortfall() -> None:
    nodes = [node("a", memory_bytes=4 * GiB)]
    allocation = allocate(pool(nodes, [fleet("arena", 3, GAME, memory_bytes=2 * GiB)]), {})
    (shortfall,) = allocation.shortfalls
    assert (shortfall.unplaced, shortfall.resource) == (1, "memory")
    assert (shortfall.needed, shortfall.available) == ("3 servers x 2Gi memory", "4Gi free memory on 1 eligible node")


def test_unlimited_cpu_and_memory_never_run_out() -> None:
    allocation = allocate(pool([node("a", pods=50)], [fleet("arena", 50, GAME, cpu_milli=10**9)]), {})
    assert len(allocation.servers) == 50 and allocation.shortfalls == ()


def test_static_clash_sends_the_second_server_to_another_node() -> None:
    rcon = PortSpec("rcon", "Static", "TCP", host_port=27015)
    nodes = [node("a"), node("b")]
    allocation = allocate(pool(nodes, [fleet("arena", 1, rcon), fleet("lobby", 1, rcon)]), {})
    assert [(s.name, s.node, s.host_ports) for s in allocation.servers] == [
        ("arena-0", "a", (("rcon", 27015),)),
        ("lobby-0", "b", (("rcon", 27015),)),
    ]


def test_static_clash_with_no_other_node_is_a_shortfall() -> None:
    rcon = PortSpec("rcon", "Static", "TCP", host_port=27015)
    allocation = allocate(pool([node("a")], [fleet("arena", 1, rcon), fleet("lobby", 2, rcon)]), {})
    assert [s.name for s in allocation.servers] == ["arena-0"]
    (shortfall,) = allocation.shortfalls
    assert (shortfall.fleet, shortfall.unplaced, shortfall.resource) == ("lobby", 2, "Static port 27015")
    assert shortfall.needed == "2 servers x port 27015, one server per node"
    assert shortfall.available == "port 27015 free on 0 of 1 eligible node"


def test_a_static_port_holds_one_server_per_node() -> None:
    rcon = PortSpec("rcon", "Static", "UDP", host_port=27015)
    allocation = allocate(pool([node("a"), node("b")], [fleet("arena", 3, GAME, rcon)]), {})
    assert [s.node for s in allocation.servers] == ["a", "b"]
    assert allocation.shortfalls[0].available == "port 27015 free on 2 of 2 eligible nodes"


def test_static_inside_a_range_is_not_given_to_dynamic_ports() -> None:
    rcon = PortSpec("rcon", "Static", "TCP", host_port=7001)
    allocation = allocate(pool([node("a")], [fleet("arena", 1, rcon), fleet("lobby", 3, GAME)]), {})
    assert by_name(allocation)["arena-0"].host_ports == (("rcon", 7001),)
    assert [dict(by_name(allocation)[f"lobby-{i}"].host_ports)["game"] for i in range(3)] == [7000, 7002, 7003]


def test_static_port_on_a_reserved_number_never_fits() -> None:
    rcon = PortSpec("rcon", "Static", "TCP", host_port=22)
    allocation = allocate(pool([node("a")], [fleet("arena", 2, rcon)], reserved=((22, 22),)), {})
    assert allocation.servers == ()
    (shortfall,) = allocation.shortfalls
    assert (shortfall.resource, shortfall.available) == ("Static port 22", "port 22 is reserved in pool pool")


def test_no_node_matching_the_selector() -> None:
    nodes = [node("a", labels=(("tier", "basic"),)), node("b")]
    arena = fleet("arena", 2, GAME, node_selector=(("tier", "premium"),))
    (shortfall,) = allocate(pool(nodes, [arena]), {}).shortfalls
    assert (shortfall.unplaced, shortfall.resource) == (2, "nodes matching nodeSelector tier=premium")
    assert (shortfall.needed, shortfall.available) == ("2 servers", "0 of 2 nodes carry tier=premium")


def test_matching_nodes_all_cordoned() -> None:
    nodes = [node("a", labels=(("tier", "premium"),), schedulable=False), node("b")]
    arena = fleet("arena", 1, GAME, node_selector=(("tier", "premium"),))
    (shortfall,) = allocate(pool(nodes, [arena]), {}).shortfalls
    assert shortfall.resource == "schedulable nodes matching nodeSelector tier=premium"
    assert shortfall.available == "1 matching node, all cordoned"


def test_dominant_blocker_is_the_one_on_most_nodes() -> None:
    nodes = [node("a", pods=1), node("b", cpu_milli=100), node("c", cpu_milli=100)]
    (shortfall,) = allocate(pool(nodes, [fleet("arena", 3, GAME, cpu_milli=500)]), {}).shortfalls
    assert (shortfall.unplaced, shortfall.resource) == (2, "cpu")
    assert shortfall.available == "200m free cpu on 2 eligible nodes"


# ---------------------------------------------------------------------------------------------------
# Numbers


def test_reserved_ports_are_skipped() -> None:
    allocation = allocate(pool([node("a")], [fleet("arena", 4, GAME)], reserved=((7001, 7002), (7004, 7004))), {})
    assert numbers(allocation) == [7000, 7003, 7005, 7006]


def test_named_ranges() -> None:
    ranges = (("default", 7000, 7999), ("voice", 9000, 9099))
    voice = PortSpec("voice", "Passthrough", "TCPUDP", "voice")
    allocation = allocate(pool([node("a")], [fleet("arena", 2, GAME, voice)], ranges=ranges), {})
    assert [s.host_ports for s in allocation.servers] == [
        (("game", 7000), ("voice", 9000)),
        (("game", 7001), ("voice", 9001)),
    ]


def test_a_full_named_range_is_named_in_the_shortfall() -> None:
    ranges = (("default", 7000, 7999), ("voice", 9000, 9001))
    voice = PortSpec("voice", range="voice")
    (shortfall,) = allocate(pool([node("a")], [fleet("arena", 3, GAME, voice)], ranges=ranges), {}).shortfalls
    assert (shortfall.unplaced, shortfall.resource) == (1, 'ports in range "voice"')


def test_a_port_in_a_range_the_pool_lacks_never_fits() -> None:
    (shortfall,) = allocate(pool([node("a")], [fleet("arena", 1, PortSpec("game", range="nope"))]), {}).shortfalls
    assert (shortfall.resource, shortfall.available) == ('ports in range "nope"', 'the pool defines no range "nope"')


def test_tcp_and_udp_share_one_number_space_and_tcpudp_takes_one_number() -> None:
    ports = (PortSpec("game", protocol="UDP"), PortSpec("voice", protocol="TCPUDP"), PortSpec("q", protocol="TCP"))
    allocation = allocate(pool([node("a")], [fleet("arena", 2, *ports)]), {})
    assert [s.host_ports for s in allocation.servers] == [
        (("game", 7000), ("voice", 7001), ("q", 7002)),
        (("game", 7003), ("voice", 7004), ("q", 7005)),
    ]


def test_none_takes_no_number() -> None:
    ports = (PortSpec("metrics", "None"), GAME)
    allocation = allocate(pool([node("a")], [fleet("arena", 2, *ports)], ranges=(("default", 7000, 7001),)), {})
    assert [s.host_ports for s in allocation.servers] == [(("game", 7000),), (("game", 7001),)]


def test_lowest_free_number_below_a_kept_one() -> None:
    spec = pool([node("a")], [fleet("arena", 2, GAME)])
    previous = {("arena", 1): LockedServer("arena", 1, "a", (LockedPort("game", 7005, "Dynamic", "UDP", "default"),))}
    allocation = allocate(spec, previous)
    assert [(s.name, s.host_ports) for s in allocation.servers] == [
        ("arena-0", (("game", 7000),)),
        ("arena-1", (("game", 7005),)),
    ]


def test_numbers_are_per_node() -> None:
    allocation = allocate(pool([node("a"), node("b")], [fleet("arena", 2, GAME, scheduling="Distributed")]), {})
    assert [(s.node, s.host_ports) for s in allocation.servers] == [("a", (("game", 7000),)), ("b", (("game", 7000),))]


# ---------------------------------------------------------------------------------------------------
# Placement


def test_packed_fills_the_fullest_node_first() -> None:
    nodes = [node("a"), node("b", pods=3)]
    fleets = [fleet("arena", 1, GAME), fleet("lobby", 3, GAME)]
    allocation = allocate(pool(nodes, fleets, ranges=(("default", 7000, 7001),)), {})
    assert [(s.name, s.node) for s in allocation.servers] == [
        ("arena-0", "a"),
        ("lobby-0", "a"),
        ("lobby-1", "b"),
        ("lobby-2", "b"),
    ]


def test_packed_prefers_the_node_with_most_servers_over_node_order() -> None:
    nodes = [node("a"), node("b", labels=(("tier", "x"),))]
    fleets = [fleet("arena", 1, GAME, node_selector=(("tier", "x"),)), fleet("lobby", 2, GAME)]
    allocation = allocate(pool(nodes, fleets), {})
    assert [(s.name, s.node) for s in allocation.servers] == [("arena-0", "b"), ("lobby-0", "b"), ("lobby-1", "b")]


def test_distributed_picks_the_emptiest_node_ties_by_node_order() -> None:
    nodes = [node("a"), node("b"), node("c")]
    fleets = [fleet("arena", 1, GAME, node_selector=()), fleet("lobby", 5, GAME, scheduling="Distributed")]
    allocation = allocate(pool(nodes, fleets), {})
    assert [s.node for s in allocation.servers] == ["a", "b", "c", "a", "b", "c"]


def test_selector_and_cordon_limit_the_nodes() -> None:
    nodes = [node("a", labels=(("tier", "x"),), schedulable=False), node("b"), node("c", labels=(("tier", "x"),))]
    allocation = allocate(pool(nodes, [fleet("arena", 2, GAME, node_selector=(("tier", "x"),))]), {})
    assert {s.node for s in allocation.servers} == {"c"}


def test_usage_above_80_percent_warns_and_80_does_not() -> None:
    at_80 = allocate(pool([node("a", pods=10)], [fleet("arena", 8, GAME)]), {})
    assert at_80.warnings == ()
    at_90 = allocate(pool([node("a", pods=10)], [fleet("arena", 9, GAME)]), {})
    assert at_90.warnings == ("pods at 90% (9 of 10 on 1 schedulable node), above 80%",)


def test_usage_warning_for_cpu_memory_and_ports() -> None:
    nodes = [node("a", cpu_milli=1000, memory_bytes=GiB)]
    arena = fleet("arena", 5, GAME, cpu_milli=190, memory_bytes=GiB // 5)
    allocation = allocate(pool(nodes, [arena], ranges=(("default", 7000, 7005),)), {})
    assert allocation.warnings == (
        "cpu at 95% (950m of 1,000m on 1 schedulable node), above 80%",
        "memory at 99% (1,073,741,820 bytes of 1Gi on 1 schedulable node), above 80%",
        'ports in range "default" at 83% (5 of 6 on 1 schedulable node), above 80%',
    )


# ---------------------------------------------------------------------------------------------------
# Stability with the lock


def test_a_locked_server_keeps_its_node_and_ports_even_against_the_rules() -> None:
    spec = pool([node("a"), node("b")], [fleet("arena", 1, GAME)])
    previous = {("arena", 0): LockedServer("arena", 0, "b", (LockedPort("game", 7400, "Dynamic", "UDP", "default"),))}
    assert allocate(spec, previous).servers == (Server("arena", 0, "b", (("game", 7400),)),)


def test_a_changed_port_spec_gets_a_new_number_on_the_same_node() -> None:
    ranges = (("default", 7000, 7999), ("voice", 9000, 9099))
    before = pool([node("a"), node("b")], [fleet("arena", 2, GAME, PortSpec("q", protocol="TCP"))], ranges)
    first = allocate(before, {})
    assert [s.host_ports for s in first.servers] == [(("game", 7000), ("q", 7001)), (("game", 7002), ("q", 7003))]
    after = replace(before, fleets=(fleet("arena", 2, GAME, PortSpec("q", protocol="TCP", range="voice")),))
    second = allocate(after, lock_of(first, before))
    assert [(s.node, s.host_ports) for s in second.servers] == [
        ("a", (("game", 7000), ("q", 9000))),
        ("a", (("game", 7002), ("q", 9001))),
    ]


def test_a_changed_protocol_frees_the_old_number_and_takes_the_lowest() -> None:
    before = pool([node("a")], [fleet("arena", 2, PortSpec("q", protocol="TCP"), GAME)])
    first = allocate(before, {})
    lobby = fleet("lobby", 1, GAME)
    after = replace(before, fleets=(fleet("arena", 2, PortSpec("q", protocol="UDP"), GAME), lobby))
    second = allocate(after, lock_of(first, before))
    assert [s.host_ports for s in second.servers] == [
        (("q", 7000), ("game", 7001)),
        (("q", 7002), ("game", 7003)),
        (("game", 7004),),
    ]


def test_a_kept_number_outside_a_narrowed_range_is_renumbered() -> None:
    before = pool([node("a")], [fleet("arena", 3, GAME)])
    after = replace(before, ranges=(("default", 7001, 7100),))
    second = allocate(after, lock_of(allocate(before, {}), before))
    assert numbers(second) == [7003, 7001, 7002]


def test_cordoned_or_removed_node_moves_its_servers_and_only_those() -> None:
    nodes = [node("a"), node("b"), node("c")]
    before = pool(nodes, [fleet("arena", 6, GAME, scheduling="Distributed")])
    lock = lock_of(allocate(before, {}), before)
    cordoned = allocate(replace(before, nodes=(nodes[0], replace(nodes[1], schedulable=False), nodes[2])), lock)
    assert [s.node for s in cordoned.servers] == ["a", "a", "c", "a", "c", "c"]
    assert numbers(cordoned) == [7000, 7002, 7000, 7001, 7002, 7001]
    removed = allocate(replace(before, nodes=(nodes[0], nodes[2])), lock)
    assert removed.servers == cordoned.servers
    assert removed.lock_warnings == (
        'allocations.lock:4,7: node "b" is not in pool pool; its servers are placed again (2 entries)',
    )


def test_when_requests_grow_the_highest_ordinals_move() -> None:
    nodes = [node("a", cpu_milli=1000), node("b", cpu_milli=1000)]
    before = pool(nodes, [fleet("arena", 4, GAME, cpu_milli=250)])
    lock = lock_of(allocate(before, {}), before)
    grown = allocate(replace(before, fleets=(fleet("arena", 4, GAME, cpu_milli=300),)), lock)
    assert [(s.node, s.host_ports) for s in grown.servers] == [
        ("a", (("game", 7000),)),
        ("a", (("game", 7001),)),
        ("a", (("game", 7002),)),
        ("b", (("game", 7000),)),
    ]


def test_movers_are_taken_by_fleet_name_then_highest_ordinal() -> None:
    nodes = [node("a", cpu_milli=1200), node("b")]
    before = pool(nodes, [fleet("x", 2, GAME, cpu_milli=300), fleet("y", 2, GAME, cpu_milli=300)])
    lock = lock_of(allocate(before, {}), before)
    after = replace(before, fleets=(fleet("x", 2, GAME, cpu_milli=300), fleet("y", 2, GAME, cpu_milli=400)))
    assert [(s.name, s.node) for s in allocate(after, lock).servers] == [
        ("x-0", "a"),
        ("x-1", "b"),
        ("y-0", "a"),
        ("y-1", "a"),
    ]


def test_servers_that_would_not_relieve_the_node_do_not_move() -> None:
    nodes = [node("a", cpu_milli=1000), node("b")]
    x, w = fleet("x", 2, GAME), fleet("w", 0, GAME)
    before = pool(nodes, [w, x, fleet("y", 2, GAME, cpu_milli=250)])
    lock = lock_of(allocate(before, {}), before)
    after = replace(before, fleets=(replace(w, replicas=1), x, fleet("y", 2, GAME, cpu_milli=600)))
    assert [(s.name, s.node, s.host_ports) for s in allocate(after, lock).servers] == [
        ("w-0", "a", (("game", 7003),)),
        ("x-0", "a", (("game", 7000),)),
        ("x-1", "a", (("game", 7001),)),
        ("y-0", "a", (("game", 7002),)),
        ("y-1", "b", (("game", 7000),)),
    ]


def test_a_kept_number_that_became_reserved_is_renumbered() -> None:
    before = pool([node("a")], [fleet("arena", 3, GAME)])
    after = replace(before, reserved=((7001, 7001),))
    assert numbers(allocate(after, lock_of(allocate(before, {}), before))) == [7000, 7003, 7002]


def test_a_kept_servers_new_static_number_is_claimed_before_its_new_dynamic_ones() -> None:
    ports = (PortSpec("q", protocol="TCP"), PortSpec("rcon", "Static", "TCP", host_port=7000))
    spec = pool([node("a"), node("b")], [fleet("arena", 1, *ports), fleet("other", 1, GAME)])
    previous = {
        ("arena", 0): locked("arena", 0, "a", "q=7005/UDP/Dynamic/default", "rcon=27015/TCP/Static/-"),
        ("other", 0): locked("other", 0, "b", "game=7005/UDP/Dynamic/default"),
    }
    assert allocate(spec, previous).servers[0] == Server("arena", 0, "a", (("q", 7001), ("rcon", 7000)))


def test_two_lock_entries_claiming_one_number_the_first_in_order_wins() -> None:
    spec = pool([node("a")], [fleet("arena", 2, GAME)])
    entries = [locked("arena", i, "a", "game=7003/UDP/Dynamic/default") for i in (1, 0)]
    previous = {(e.fleet, e.ordinal): e for e in entries}
    assert list(previous) == [("arena", 1), ("arena", 0)]
    assert numbers(allocate(spec, previous)) == [7003, 7000]


def locked(fleet_name: str, ordinal: int, node_name: str, *ports: str) -> LockedServer:
    """A lock entry from port tokens such as 'game=7000/UDP/Dynamic/default'."""
    parsed = parse_lock(f"# fleetgen lock v1\n{fleet_name} {ordinal} {node_name} {' '.join(ports)}\n")
    return parsed.entries[fleet_name, ordinal]


def hole_scenario(*late: FleetSpec) -> Allocation:
    """beta-0 is kept, then moves (its voice range is full) after alpha-0 drew 7001: 7000 becomes a hole."""
    ranges = (("default", 7000, 7009), ("voice", 9000, 9000))
    fleets = [
        fleet("alpha", 1, PortSpec("q", protocol="TCP")),
        fleet("beta", 1, GAME, PortSpec("voice", range="voice")),
        fleet("gamma", 1, PortSpec("voice", range="voice")),
        *late,
    ]
    previous = [
        locked("alpha", 0, "a", "q=7005/UDP/Dynamic/default"),
        locked("beta", 0, "a", "game=7000/UDP/Dynamic/default", "voice=9000/TCP/Dynamic/voice"),
        locked("gamma", 0, "a", "voice=9000/UDP/Dynamic/voice"),
    ]
    allocation = allocate(pool([node("a")], fleets, ranges), {(e.fleet, e.ordinal): e for e in previous})
    assert [s.name for s in allocation.servers if s.fleet in ("alpha", "beta", "gamma")] == ["alpha-0", "gamma-0"]
    assert by_name(allocation)["alpha-0"].host_ports == (("q", 7001),)
    return allocation


def test_a_number_released_below_the_cursor_is_handed_out_again() -> None:
    allocation = hole_scenario(fleet("delta", 2, GAME))
    assert [dict(by_name(allocation)[f"delta-{i}"].host_ports)["game"] for i in range(2)] == [7000, 7002]


def test_a_released_number_claimed_by_a_static_port_is_not_handed_out_twice() -> None:
    allocation = hole_scenario(fleet("delta", 1, PortSpec("rcon", "Static", host_port=7000)), fleet("echo", 1, GAME))
    assert by_name(allocation)["delta-0"].host_ports == (("rcon", 7000),)
    assert by_name(allocation)["echo-0"].host_ports == (("game", 7002),)


def test_lock_entries_for_unknown_fleets_and_ordinals_past_replicas_are_dropped_with_warnings() -> None:
    before = pool([node("a")], [fleet("arena", 3, GAME), fleet("lobby", 1, GAME)])
    lock = lock_of(allocate(before, {}), before)
    after = allocate(replace(before, fleets=(fleet("arena", 1, GAME),)), lock)
    assert after.servers == (Server("arena", 0, "a", (("game", 7000),)),)
    assert after.lock_warnings == (
        'allocations.lock:4-5: fleet "arena" has 1 replica; entries for higher ordinals are dropped (2 entries)',
        'allocations.lock:6: fleet "lobby" is not in pool pool; its entries are dropped (1 entry)',
    )


def test_corrupt_lock_lines_are_dropped_and_the_rest_kept() -> None:
    spec = pool([node("a")], [fleet("arena", 3, GAME)])
    text = (
        "# fleetgen lock v1\n"
        "arena 0 a game=7010/UDP/Dynamic/default\n"
        "arena x a game=7011/UDP/Dynamic/default\n"
        "arena 2 a game=7012/UDP/Sideways/default\n"
    )
    parsed = parse_lock(text)
    assert [w.split(":")[1] for w in parsed.warnings] == ["3", "4"]
    assert numbers(allocate(spec, parsed.entries)) == [7010, 7000, 7001]


def test_without_a_lock_the_order_is_fleet_then_ordinal_regardless_of_input_order() -> None:
    fleets = [fleet("b", 2, GAME), fleet("a", 2, GAME)]
    allocation = allocate(pool([node("n")], fleets), {})
    assert [(s.name, dict(s.host_ports)["game"]) for s in allocation.servers] == [
        ("a-0", 7000),
        ("a-1", 7001),
        ("b-0", 7002),
        ("b-1", 7003),
    ]


def test_locked_servers_record_each_ports_spec() -> None:
    ports = (GAME, PortSpec("rcon", "Static", "TCP", host_port=27015), PortSpec("m", "None"))
    spec = pool([node("a")], [fleet("arena", 1, *ports)])
    (entry,) = locked_servers(allocate(spec, {}), spec, one_revision(spec))
    assert entry == LockedServer(
        "arena",
        0,
        "a",
        (LockedPort("game", 7000, "Dynamic", "UDP", "default"), LockedPort("rcon", 27015, "Static", "TCP", "-")),
        REVISION,
    )


# ---------------------------------------------------------------------------------------------------
# Brute-force reference: the rules as written, with plain sets and scans of every node and number.


class Reference:
    """Allocates one server at a time, scanning every node and every number of a range."""

    def __init__(self, spec: PoolSpec) -> None:
        self.spec = spec
        self.reserved = {n for lo, hi in spec.reserved for n in range(lo, hi + 1)}
        self.ranges = {name: (lo, hi) for name, lo, hi in spec.ranges}
        self.nodes = {n.name: n for n in spec.nodes}
        self.order = [n.name for n in spec.nodes]
        self.fleets = {f.name: f for f in spec.fleets}
        self.used: dict[str, set[int]] = {n: set() for n in self.order}
        self.load = {n: [0, 0, 0] for n in self.order}
        self.placed: dict[tuple[str, int], tuple[str, dict[str, int]]] = {}

    def numbered(self, spec: FleetSpec) -> list[PortSpec]:
        return [p for p in spec.ports if p.policy != "None"]

    def placeable(self, spec: FleetSpec) -> bool:
        statics = [p.host_port for p in self.numbered(spec) if p.policy == "Static"]
        return len(set(statics)) == len(statics) and not self.reserved & set(statics)

    def eligible(self, name: str, spec: FleetSpec) -> bool:
        n = self.nodes[name]
        return n.schedulable and set(spec.node_selector) <= set(n.labels) and self.placeable(spec)

    def may_host(self, name: str, spec: FleetSpec) -> bool:
        self.book(name, spec, 1)
        fits = not self.exceeded(name)
        self.book(name, spec, -1)
        return self.eligible(name, spec) and fits

    def exceeded(self, name: str) -> set[str]:
        n, (count, cpu, memory) = self.nodes[name], self.load[name]
        return {
            *(["pods"] if count > n.pods else []),
            *(["cpu"] if n.cpu_milli is not None and cpu > n.cpu_milli else []),
            *(["memory"] if n.memory_bytes is not None and memory > n.memory_bytes else []),
        }

    def book(self, name: str, spec: FleetSpec, sign: int) -> None:
        load = self.load[name]
        load[0] += sign
        load[1] += sign * spec.cpu_milli
        load[2] += sign * spec.memory_bytes

    def lowest(self, name: str, range_name: str) -> int | None:
        lo, hi = self.ranges.get(range_name, (1, 0))
        return next((n for n in range(lo, hi + 1) if n not in self.used[name] and n not in self.reserved), None)

    def fill(self, name: str, spec: FleetSpec, numbers: dict[str, int | None]) -> bool:
        """Number the missing ports (Static first); on failure release everything the server holds."""
        ports = sorted(self.numbered(spec), key=lambda p: p.policy != "Static")
        for port in ports:
            if numbers.get(port.name) is None:
                want = port.host_port if port.policy == "Static" else self.lowest(name, port.range)
                if want is None or want in self.used[name]:
                    self.used[name] -= {n for n in numbers.values() if n is not None}
                    return False
                numbers[port.name] = want
                self.used[name].add(want)
        return True

    def valid(self, name: str, port: PortSpec, locked: LockedPort | None) -> bool:
        if locked is None or locked.protocol != port.protocol or locked.policy != port.policy:
            return False
        if locked.host_port in self.used[name]:
            return False
        if port.policy == "Static":
            return locked.range == "-" and locked.host_port == port.host_port
        lo, hi = self.ranges.get(port.range, (1, 0))
        return locked.range == port.range and lo <= locked.host_port <= hi and locked.host_port not in self.reserved

    def keep(self, previous: Mapping[tuple[str, int], LockedServer]) -> None:
        staying = []
        for key in sorted(previous):
            entry = previous[key]
            spec = self.fleets.get(entry.fleet)
            if spec is None or entry.ordinal >= spec.replicas or entry.node not in self.nodes:
                continue
            if self.eligible(entry.node, spec):
                self.book(entry.node, spec, 1)
                staying.append((entry, spec))
        movers = self.overflow(staying)
        admitted = []
        for entry, spec in staying:
            if (entry.fleet, entry.ordinal) in movers:
                continue
            held = {p.name: p for p in entry.ports}
            numbers: dict[str, int | None] = {}
            for port in self.numbered(spec):
                ok = self.valid(entry.node, port, held.get(port.name))
                numbers[port.name] = held[port.name].host_port if ok else None
                if ok:
                    self.used[entry.node].add(held[port.name].host_port)
            admitted.append((entry, spec, numbers))
        for entry, spec, numbers in admitted:
            if self.fill(entry.node, spec, numbers):
                self.placed[entry.fleet, entry.ordinal] = (entry.node, numbers)
            else:
                self.book(entry.node, spec, -1)

    def overflow(self, staying: list[tuple[LockedServer, FleetSpec]]) -> set[tuple[str, int]]:
        """Per node, move servers (fleets by name, highest ordinal first) that relieve what is exceeded."""
        movers = set()
        for name in self.order:
            here = sorted((e for e in staying if e[0].node == name), key=lambda e: (e[0].fleet, -e[0].ordinal))
            for entry, spec in here:
                uses = {"pods", *(["cpu"] if spec.cpu_milli else []), *(["memory"] if spec.memory_bytes else [])}
                if self.exceeded(name) & uses:
                    self.book(name, spec, -1)
                    movers.add((entry.fleet, entry.ordinal))
                if not self.exceeded(name):
                    break
        return movers

    def place_new(self) -> None:
        for name in sorted(self.fleets):
            spec = self.fleets[name]
            for ordinal in range(spec.replicas):
                if (name, ordinal) in self.placed or not self.placeable(spec):
                    continue
                fits = [n for n in self.order if self.may_host(n, spec) and self.fits_ports(n, spec)]
                if not fits:
                    continue
                sign = -1 if spec.scheduling == "Packed" else 1
                chosen = min(fits, key=lambda n: (sign * self.load[n][0], self.order.index(n)))
                numbers: dict[str, int | None] = {}
                assert self.fill(chosen, spec, numbers)
                self.book(chosen, spec, 1)
                self.placed[name, ordinal] = (chosen, numbers)

    def fits_ports(self, name: str, spec: FleetSpec) -> bool:
        saved = set(self.used[name])
        ok = self.fill(name, spec, {})
        self.used[name] = saved
        return ok

    def run(self, previous: Mapping[tuple[str, int], LockedServer]) -> tuple[tuple[Server, ...], dict[str, int]]:
        self.keep(previous)
        self.place_new()
        servers = []
        for (fleet_name, ordinal), (name, numbers) in sorted(self.placed.items()):
            ports = tuple((p.name, numbers[p.name]) for p in self.numbered(self.fleets[fleet_name]))
            servers.append(Server(fleet_name, ordinal, name, ports))  # type: ignore[arg-type]
        missing = {f.name: f.replicas - sum(1 for k in self.placed if k[0] == f.name) for f in self.spec.fleets}
        return tuple(servers), {name: count for name, count in missing.items() if count > 0}


# ---------------------------------------------------------------------------------------------------
# Strategies: small pools, fleets and edits, so that ports, pods and requests all run out sometimes

LABELS = (("tier", "a"), ("tier", "b"), ("zone", "x"))
SELECTORS = ((), (("tier", "a"),), (("zone", "x"),), (("tier", "b"), ("zone", "x")))
FLEET_NAMES = ("alpha", "beta", "gamma", "delta", "arena-2", "arena-10")


@st.composite
def node_specs(draw: st.DrawFn, name: str) -> NodeSpec:
    labels = draw(st.lists(st.sampled_from(LABELS), max_size=2, unique_by=lambda kv: kv[0]))
    return NodeSpec(
        name=name,
        address="192.0.2.1",
        labels=tuple(labels),
        pods=draw(st.integers(0, 8)),
        cpu_milli=draw(st.none() | st.integers(0, 4).map(lambda k: k * 500)),
        memory_bytes=draw(st.none() | st.integers(0, 4)),
        schedulable=draw(st.sampled_from((True, True, True, False))),
    )


@st.composite
def port_specs(draw: st.DrawFn, name: str) -> PortSpec:
    policy = draw(st.sampled_from(("Dynamic", "Dynamic", "Passthrough", "Static", "None")))
    protocol = draw(st.sampled_from(("UDP", "TCP", "TCPUDP")))
    range_name = draw(st.sampled_from(("default", "default", "voice", "missing")))
    host_port = draw(st.sampled_from((7000, 7002, 7005, 7101, 27015))) if policy == "Static" else None
    return PortSpec(name, policy, protocol, range_name, host_port)


@st.composite
def fleet_specs(draw: st.DrawFn, name: str) -> FleetSpec:
    count = draw(st.integers(0, 3))
    return FleetSpec(
        name=name,
        replicas=draw(st.integers(0, 8)),
        scheduling=draw(st.sampled_from(("Packed", "Distributed"))),
        node_selector=draw(st.sampled_from(SELECTORS)),
        ports=tuple(draw(port_specs(f"p{i}")) for i in range(count)),
        cpu_milli=draw(st.sampled_from((0, 0, 250, 500, 1000))),
        memory_bytes=draw(st.integers(0, 2)),
    )


@st.composite
def pools(draw: st.DrawFn) -> PoolSpec:
    nodes = tuple(draw(node_specs(f"node-{i}")) for i in range(draw(st.integers(1, 6))))
    default_lo = draw(st.integers(7000, 7003))
    ranges = [("default", default_lo, default_lo + draw(st.integers(0, 7)))]
    if draw(st.booleans()):
        ranges.append(("voice", 7100, 7100 + draw(st.integers(0, 4))))
    spans = draw(st.lists(st.tuples(st.integers(6998, 7012), st.integers(0, 3)), max_size=2))
    names = draw(st.lists(st.sampled_from(FLEET_NAMES), min_size=1, max_size=4, unique=True))
    fleets = tuple(draw(fleet_specs(name)) for name in names)
    return PoolSpec("pool", nodes, tuple(ranges), tuple((lo, lo + width) for lo, width in spans), fleets)


EDITS = ("scale", "add_fleet", "remove_fleet", "add_node", "remove_node", "cordon", "port", "requests", "ranges")


@st.composite
def edits(draw: st.DrawFn, spec: PoolSpec) -> tuple[str, PoolSpec]:
    """One edit a pull request might make, and the pool after it."""
    kind = draw(st.sampled_from(EDITS))
    fleets, nodes = list(spec.fleets), list(spec.nodes)
    f = draw(st.integers(0, len(fleets) - 1)) if fleets else 0
    n = draw(st.integers(0, len(nodes) - 1))
    if kind == "scale" and fleets:
        fleets[f] = replace(fleets[f], replicas=draw(st.integers(0, 10)))
    elif kind == "add_fleet":
        fresh = [name for name in FLEET_NAMES if name not in {x.name for x in fleets}]
        fleets += [draw(fleet_specs(fresh[0]))] if fresh else []
    elif kind == "remove_fleet" and fleets:
        del fleets[f]
    elif kind == "add_node":
        taken = {x.name for x in nodes}
        nodes.append(draw(node_specs(next(f"node-{i}" for i in range(99) if f"node-{i}" not in taken))))
    elif kind == "remove_node" and len(nodes) > 1:
        del nodes[n]
    elif kind == "cordon":
        nodes[n] = replace(nodes[n], schedulable=False)
    elif kind == "port" and fleets and fleets[f].ports:
        ports = list(fleets[f].ports)
        i = draw(st.integers(0, len(ports) - 1))
        ports[i] = draw(port_specs(ports[i].name))
        fleets[f] = replace(fleets[f], ports=tuple(ports))
    elif kind == "requests" and fleets:
        fleets[f] = replace(fleets[f], cpu_milli=draw(st.sampled_from((0, 250, 500, 1000))))
    elif kind == "ranges":
        lo, hi = draw(st.integers(6999, 7004)), draw(st.integers(7000, 7010))
        reserved = (*spec.reserved, (draw(st.integers(6999, 7010)), draw(st.integers(6999, 7010))))
        return kind, replace(spec, ranges=(("default", lo, hi), *spec.ranges[1:]), reserved=reserved)
    return kind, replace(spec, fleets=tuple(fleets), nodes=tuple(nodes))


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------------------------------------------
# Properties


def check_invariants(spec: PoolSpec, allocation: Allocation) -> None:
    """No shared number on a node, numbers in range and not reserved, Static as given, capacity kept."""
    reserved = {n for lo, hi in spec.reserved for n in range(lo, hi + 1)}
    ranges = {name: (lo, hi) for name, lo, hi in spec.ranges}
    nodes = {n.name: n for n in spec.nodes}
    fleets = {f.name: f for f in spec.fleets}
    held: dict[str, set[int]] = {name: set() for name in nodes}
    load = {name: [0, 0, 0] for name in nodes}
    for server in allocation.servers:
        f, n = fleets[server.fleet], nodes[server.node]
        assert 0 <= server.ordinal < f.replicas and n.schedulable and set(f.node_selector) <= set(n.labels)
        numbered = [p for p in f.ports if p.policy != "None"]
        assert [name for name, _ in server.host_ports] == [p.name for p in numbered]
        for port, (_, number) in zip(numbered, server.host_ports, strict=True):
            assert number not in held[server.node] and number not in reserved
            held[server.node].add(number)
            if port.policy == "Static":
                assert number == port.host_port
            else:
                lo, hi = ranges[port.range]
                assert lo <= number <= hi
        load[server.node] = [a + b for a, b in zip(load[server.node], (1, f.cpu_milli, f.memory_bytes), strict=True)]
    for name, (count, cpu, memory) in load.items():
        n = nodes[name]
        assert count <= n.pods and (n.cpu_milli is None or cpu <= n.cpu_milli)
        assert n.memory_bytes is None or memory <= n.memory_bytes
    assert list(allocation.servers) == sorted(allocation.servers, key=lambda s: (s.fleet, s.ordinal))


def check_against_reference(spec: PoolSpec, previous: Mapping[tuple[str, int], LockedServer]) -> Allocation:
    allocation = allocate(spec, previous)
    servers, missing = Reference(spec).run(previous)
    assert allocation.servers == servers
    assert {s.fleet: s.unplaced for s in allocation.shortfalls} == missing
    check_invariants(spec, allocation)
    return allocation


@FAST
@given(pools())
def test_from_scratch_matches_the_reference(spec: PoolSpec) -> None:
    check_against_reference(spec, {})


@FAST
@given(st.data())
def test_edit_sequences_match_the_reference_and_keep_stability(data: st.DataObject) -> None:
    spec = data.draw(pools())
    allocation = check_against_reference(spec, {})
    for _ in range(data.draw(st.integers(1, 4))):
        kind, edited = data.draw(edits(spec))
        lock = lock_of(allocation, spec)
        after = check_against_reference(edited, lock)
        check_stability(kind, spec, edited, allocation, after)
        again = allocate(edited, lock_of(after, edited))
        assert (again.servers, again.shortfalls, again.warnings) == (after.servers, after.shortfalls, after.warnings)
        assert again.lock_warnings == (), "the lock a render writes raises no warning on the next"
        spec, allocation = edited, after


def check_stability(kind: str, before: PoolSpec, after: PoolSpec, old: Allocation, new: Allocation) -> None:
    """Only the servers an edit forces to move may change; every other placed server stays as it was.

    Forced: servers of a removed fleet or ordinal, on a removed or cordoned node, of a fleet whose port
    spec changed, or on a node that its servers no longer fit after a change of requests."""
    old_servers, new_servers = by_name(old), by_name(new)
    fleets_after = {f.name: f for f in after.fleets}
    nodes_after = {n.name: n for n in after.nodes if n.schedulable}
    changed = {f.name for f in before.fleets if kind in ("port", "ranges") and fleets_after.get(f.name) != f}
    if kind == "ranges":
        changed = {f.name for f in before.fleets}
    crowded = overflowing(after, old) if kind == "requests" else set()
    for name, server in old_servers.items():
        spec = fleets_after.get(server.fleet)
        if spec is None or server.ordinal >= spec.replicas:
            assert name not in new_servers
        elif server.node in nodes_after and server.fleet not in changed and server.node not in crowded:
            assert new_servers[name] == server, (kind, name)
    if kind in ("cordon", "remove_node") and not new.shortfalls:
        assert len(new_servers) == sum(f.replicas for f in after.fleets)


def overflowing(spec: PoolSpec, allocation: Allocation) -> set[str]:
    """Nodes whose servers, at the pool's current requests, use more cpu or memory than the node has."""
    fleets = {f.name: f for f in spec.fleets}
    use: dict[str, list[int]] = {}
    for server in allocation.servers:
        f = fleets.get(server.fleet)
        if f is not None:
            total = use.setdefault(server.node, [0, 0])
            total[0] += f.cpu_milli
            total[1] += f.memory_bytes
    limits = {n.name: (n.cpu_milli, n.memory_bytes) for n in spec.nodes}
    return {
        name
        for name, (cpu, memory) in use.items()
        if name in limits
        and any(cap is not None and used > cap for used, cap in zip((cpu, memory), limits[name], strict=True))
    }


@FAST
@given(pools(), st.randoms(use_true_random=False))
def test_same_input_same_result_whatever_the_order_of_unordered_inputs(spec: PoolSpec, rnd: random.Random) -> None:
    first = allocate(spec, {})
    previous = lock_of(first, spec)
    again = allocate(spec, previous)
    assert again == first == allocate(spec, {})
    items = list(previous.items())
    rnd.shuffle(items)
    fleets = list(spec.fleets)
    rnd.shuffle(fleets)
    nodes = tuple(replace(n, labels=tuple(rnd.sample(n.labels, len(n.labels)))) for n in spec.nodes)
    shuffled = replace(
        spec, fleets=tuple(fleets), nodes=nodes, ranges=tuple(reversed(spec.ranges)), reserved=spec.reserved[::-1]
    )
    assert allocate(shuffled, dict(items)) == again


@FAST
@given(pools(), st.data())
def test_scale_up_changes_no_existing_server_and_scale_down_no_survivor(spec: PoolSpec, data: st.DataObject) -> None:
    first = allocate(spec, {})
    lock = lock_of(first, spec)
    target = data.draw(st.sampled_from(spec.fleets))
    delta = data.draw(st.integers(-8, 8))
    scaled = replace(target, replicas=max(0, target.replicas + delta))
    after = allocate(replace(spec, fleets=tuple(scaled if f is target else f for f in spec.fleets)), lock)
    new = by_name(after)
    for server in first.servers:
        if server.fleet != target.name or server.ordinal < scaled.replicas:
            assert new[server.name] == server
        else:
            assert server.name not in new


@FAST
@given(pools(), st.data())
def test_cordoning_a_node_moves_exactly_its_servers(spec: PoolSpec, data: st.DataObject) -> None:
    first = allocate(spec, {})
    i = data.draw(st.integers(0, len(spec.nodes) - 1))
    gone = spec.nodes[i].name
    nodes = tuple(replace(n, schedulable=False) if n.name == gone else n for n in spec.nodes)
    after = allocate(replace(spec, nodes=nodes), lock_of(first, spec))
    new = by_name(after)
    for server in first.servers:
        if server.node == gone:
            assert server.name not in new or new[server.name].node != gone
        else:
            assert new[server.name] == server
    if not after.shortfalls:
        assert len(after.servers) == sum(f.replicas for f in spec.fleets)


@FAST
@given(st.data())
def test_port_bound_capacity_is_exactly_the_seed_formula(data: st.DataObject) -> None:
    ranges = (
        ("default", 7000, 7000 + data.draw(st.integers(0, 12))),
        ("voice", 7100, 7100 + data.draw(st.integers(0, 5))),
    )
    spans = data.draw(st.lists(st.tuples(st.integers(6998, 7012), st.integers(0, 2)), max_size=2))
    reserved = tuple((lo, lo + w) for lo, w in spans)
    picks = data.draw(st.lists(st.sampled_from(("default", "voice")), min_size=1, max_size=3))
    ports = tuple(
        PortSpec(f"p{i}", data.draw(st.sampled_from(("Dynamic", "Passthrough"))), "UDP", r) for i, r in enumerate(picks)
    )
    nodes = tuple(node(f"n{i}", pods=10**6) for i in range(data.draw(st.integers(1, 6))))
    replicas = data.draw(st.integers(0, 60))
    scheduling = data.draw(st.sampled_from(("Packed", "Distributed")))
    spec = pool(nodes, [fleet("arena", replicas, *ports, scheduling=scheduling)], ranges, reserved)
    free = {r: sum(1 for n in range(lo, hi + 1) if not any(a <= n <= b for a, b in reserved)) for r, lo, hi in ranges}
    per_node = min(free[r] // picks.count(r) for r in set(picks))
    allocation = allocate(spec, {})
    assert len(allocation.servers) == min(replicas, per_node * len(nodes))
    assert sum(s.unplaced for s in allocation.shortfalls) == max(0, replicas - per_node * len(nodes))


@FAST
@given(pools(), st.randoms(use_true_random=False))
def test_a_damaged_lock_is_never_fatal(spec: PoolSpec, rnd: random.Random) -> None:
    """Entries naming other nodes, numbers and specs still give a valid allocation, the reference's."""
    entries = list(lock_of(allocate(spec, {}), spec).values())
    damaged = {}
    for entry in entries:
        ports = tuple(replace(p, host_port=rnd.choice((p.host_port, 7001, 7003, 65000))) for p in entry.ports)
        node_name = rnd.choice([entry.node, "node-0", "node-1", "ghost"])
        damaged[entry.fleet, entry.ordinal] = replace(entry, node=node_name, ports=ports)
    check_against_reference(spec, damaged)
    items = list(damaged.items())
    rnd.shuffle(items)
    assert allocate(spec, dict(items)) == allocate(spec, damaged)


HASH_SEED_SCRIPT = """
from generator.allocation.allocate import allocate, locked_servers
from generator.allocation.spec import FleetSpec, NodeSpec, PoolSpec, PortSpec
from generator.allocation.lock import lock_text
from generator.allocation.rollout import FleetRevisions
labels = [(("zone", z), ("tier", t), ("rack", str(i))) for i, (z, t) in enumerate([("a", "x"), ("b", "y")] * 4)]
nodes = tuple(NodeSpec(f"node-{i}", "192.0.2.1", labels[i], pods=9) for i in range(8))
ports = (PortSpec("game"), PortSpec("voice", "Passthrough", "TCPUDP", "voice"), PortSpec("q", protocol="TCP"))
fleets = tuple(
    FleetSpec(name, 11, scheduling, selector, ports)
    for name, scheduling, selector in [
        ("zeta", "Distributed", (("zone", "a"),)),
        ("alpha", "Packed", ()),
        ("mu", "Distributed", (("tier", "y"), ("zone", "b"))),
    ]
)
spec = PoolSpec("p", nodes, (("voice", 9000, 9010), ("default", 7000, 7020)), ((7003, 7005),), fleets)
allocation = allocate(spec, {})
revisions = {fleet.name: FleetRevisions(fleet.name, "a1", 0, "", {}, {}) for fleet in fleets}
print(lock_text(locked_servers(allocation, spec, revisions)), allocation.shortfalls, allocation.warnings)
print(allocation.lock_warnings)
"""


def test_output_does_not_depend_on_the_hash_seed() -> None:
    root = Path(__file__).resolve().parents[1]
    outputs = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(root)}
        result = subprocess.run(
            [sys.executable, "-c", HASH_SEED_SCRIPT], env=env, capture_output=True, text=True, check=True
        )
        outputs.add(result.stdout)
    assert len(outputs) == 1


def test_a_billion_replicas_on_a_small_pool_is_a_shortfall_in_constant_memory() -> None:
    """The allocator draws no more ordinals than the nodes have room for, whatever replicas asks."""
    import tracemalloc

    nodes = tuple(NodeSpec(f"n{i}", f"192.0.2.{i}", pods=110) for i in range(1, 4))
    fleet = FleetSpec("huge", 1_000_000_000, ports=(PortSpec("game"),))
    spec = PoolSpec("p", nodes, (("default", 7000, 7999),), (), (fleet,))
    tracemalloc.start()
    allocation = allocate(spec, {})
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(allocation.servers) == 330
    assert allocation.shortfalls[0].unplaced == 1_000_000_000 - 330
    assert peak < 20 * 1024 * 1024, peak
