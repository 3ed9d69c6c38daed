"""Allocation: what the allocator reads of a pool and what it answers, and the words for resources.

Plain frozen values, so that pipeline, render, verify and capacity share them without the allocator's
working state (`pool_state`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..kube.taints import Taint, Toleration

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
    taints: tuple[Taint, ...] = ()


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
    tolerations: tuple[Toleration, ...] = ()  # its template's


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
class LockRepair:
    """A lock line whose numbers the allocator could not keep although their spec is unchanged: two servers
    on one number of a node, a number outside its range or reserved. Says what was wrong and what moved."""

    line: int  # 1-based line of the server's entry in the lock; 0 if unknown
    message: str
    hint: str


@dataclass(frozen=True, slots=True)
class Allocation:
    """The allocator's answer for one pool; servers sorted by (fleet, ordinal)."""

    pool: str
    servers: tuple[Server, ...]
    shortfalls: tuple[Shortfall, ...]
    warnings: tuple[str, ...]  # about the pool as placed (use above USAGE_WARNING_PERCENT)
    lock_warnings: tuple[str, ...] = ()  # about the previous lock (entries dropped): gone once it is rewritten
    lock_repairs: tuple[LockRepair, ...] = ()  # lock lines in a state fleetgen never writes, and what moved


def ports_resource(range_name: str) -> str:
    return f'ports in range "{range_name}"'


def static_resource(number: int) -> str:
    return f"Static port {number}"


def selector_resource(selector: tuple[tuple[str, str], ...]) -> str:
    return f"nodes matching nodeSelector {labels_text(selector)}" if selector else "schedulable nodes"


def plural(number: int, noun: str, many: str | None = None) -> str:
    """'1 server', '3 servers', '2 entries' (with `many`)."""
    return f"{number:,} {noun if number == 1 else many or noun + 's'}"


def labels_text(selector: tuple[tuple[str, str], ...]) -> str:
    return ",".join(f"{key}={value}" for key, value in sorted(selector))
