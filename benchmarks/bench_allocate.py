"""Benchmark: allocate, lock_text and parse_lock at Kubernetes' scale limits (wall time, one process).

Run: .venv/bin/python benchmarks/bench_allocate.py --nodes 5000 --servers 150000
Timings are printed, never asserted: a timed unit test would only measure the CI machine.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from generator.allocation.allocate import allocate, locked_servers
from generator.allocation.lock import lock_text, parse_lock
from generator.allocation.rollout import FleetRevisions
from generator.allocation.spec import FleetSpec, NodeSpec, PoolSpec, PortSpec

T = TypeVar("T")
PORTS = (
    PortSpec("game", "Dynamic", "UDP", "default"),
    PortSpec("voice", "Passthrough", "TCPUDP", "voice"),
    PortSpec("query", "Dynamic", "TCP", "default"),
)


def build_pool(nodes: int, servers: int, fleets: int) -> PoolSpec:
    """A pool shaped like a large production one: zones, mixed scheduling, three ports a server."""
    node_specs = tuple(
        NodeSpec(
            name=f"node-{i}",
            address=f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}",
            labels=(("zone", f"z{i % 3}"),),
            pods=110,
            cpu_milli=32000,
            memory_bytes=128 * 2**30,
        )
        for i in range(nodes)
    )
    per_fleet, extra = divmod(servers, fleets)
    fleet_specs = tuple(
        FleetSpec(
            name=f"fleet-{f:02d}",
            replicas=per_fleet + (1 if f < extra else 0),
            scheduling="Packed" if f % 2 else "Distributed",
            ports=PORTS,
            cpu_milli=250,
            memory_bytes=2**30,
        )
        for f in range(fleets)
    )
    ranges = (("default", 7000, 8000), ("voice", 9000, 9999))
    return PoolSpec("bench", node_specs, ranges, ((7777, 7779),), fleet_specs)


def timed(label: str, run: Callable[[], T]) -> T:
    """Run once and print wall time (what the brief asks for) and this process's CPU time (steadier
    when other jobs share the machine)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    print(f"{label:<38} {time.perf_counter() - wall:7.3f} s wall {time.process_time() - cpu:7.3f} s cpu")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--servers", type=int, default=150000)
    parser.add_argument("--fleets", type=int, default=30)
    parser.add_argument("--no-gc", action="store_true", help="disable the cyclic garbage collector")
    args = parser.parse_args()
    if args.no_gc:
        gc.disable()
    pool = build_pool(args.nodes, args.servers, args.fleets)
    print(f"{args.nodes:,} nodes, {args.servers:,} servers x {len(PORTS)} ports, {args.fleets} fleets")
    fresh = timed("allocate from scratch", lambda: allocate(pool, {}))
    revisions = {fleet.name: FleetRevisions(fleet.name, "3f2a1b9c0d", 0, "", {}, {}) for fleet in pool.fleets}
    entries = timed("locked_servers", lambda: locked_servers(fresh, pool, revisions))
    text = timed("lock_text", lambda: lock_text(entries))
    parsed = timed("parse_lock", lambda: parse_lock(text))
    again = timed("allocate with the previous lock", lambda: allocate(pool, parsed.entries))
    grown = PoolSpec(pool.name, pool.nodes, pool.ranges, pool.reserved, _scaled(pool, 1))
    timed("allocate one server more, with lock", lambda: allocate(grown, parsed.entries))
    placed = len(fresh.servers)
    print(f"placed {placed:,}; lock {len(text.splitlines()):,} lines; unchanged with lock: {again == fresh}")


def _scaled(pool: PoolSpec, more: int) -> tuple[FleetSpec, ...]:
    first, *rest = pool.fleets
    bigger = FleetSpec(
        first.name,
        first.replicas + more,
        first.scheduling,
        first.node_selector,
        first.ports,
        first.cpu_milli,
        first.memory_bytes,
    )
    return (bigger, *rest)


if __name__ == "__main__":
    main()
