"""Shortfall: what did not fit and why, measured once everything is placed, and how full the pool is.

A render with its own lock says the same, since the answer depends only on the final placement.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..kube.taints import untolerated
from .pool_state import FleetPlan, NodeState, PoolState, Resource, first_blocker, resource_label, resources_of
from .spec import (
    RESOURCE_CPU,
    RESOURCE_MEMORY,
    RESOURCE_PODS,
    USAGE_WARNING_PERCENT,
    Server,
    Shortfall,
    labels_text,
    plural,
    ports_resource,
    selector_resource,
    static_resource,
)

# What did not fit, and how full the pool is


def shortfall(pool: PoolState, plan: FleetPlan, servers: Mapping[int, Server]) -> Shortfall:
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
        return Shortfall(fleet, unplaced, static_resource(number), plural(wanted, "server"), reason)
    placed: dict[int, int] = {}
    for server in servers.values():
        index = pool.by_name[server.node].index
        placed[index] = placed.get(index, 0) + 1
    tally: dict[Resource, int] = {}
    for node in nodes:
        blocker = first_blocker(node, plan)
        tally[blocker] = tally.get(blocker, 0) + 1
    order = resources_of(plan)
    resource = min(tally, key=lambda r: (-tally[r], order.index(r)))
    if resource[0] == "static":
        needed, available = _static_figures(int(resource[1]), nodes, placed, wanted)
    else:
        needed, available = _figures(plan, resource, nodes, placed, wanted)
    tainted = _tainted(pool, plan)
    if tainted:
        available += f"; {plural(len(tainted), 'more node')} {_keep_off(plan, tainted)}"
    return Shortfall(fleet, unplaced, resource_label(resource), needed, available)


TAINTS_RESOURCE = "nodes whose taints the fleet tolerates"


def _missing_nodes(pool: PoolState, plan: FleetPlan, wanted: int) -> tuple[str, str, str]:
    selector = plan.spec.node_selector
    matching = [node for node in pool.nodes if plan.selector <= node.labels]
    if not pool.nodes:
        return selector_resource(selector), plural(wanted, "server"), f"pool {pool.spec.name} has no nodes"
    if not matching:
        available = f"0 of {plural(len(pool.nodes), 'node')} carry {labels_text(selector)}"
        return selector_resource(selector), plural(wanted, "server"), available
    tainted = _tainted(pool, plan)
    noun = "matching node" if selector else "node"
    if tainted:
        resource = TAINTS_RESOURCE + (f" matching nodeSelector {labels_text(selector)}" if selector else "")
        cordoned = len(matching) - len(tainted)
        available = f"{plural(len(matching), noun)}: {len(tainted)} {_keep_off(plan, tainted)}"
        return resource, plural(wanted, "server"), available + (f", {cordoned} cordoned" if cordoned else "")
    resource = "schedulable " + selector_resource(selector) if selector else selector_resource(selector)
    return resource, plural(wanted, "server"), f"{plural(len(matching), noun)}, all cordoned"


def _tainted(pool: PoolState, plan: FleetPlan) -> list[NodeState]:
    """Schedulable nodes carrying the fleet's nodeSelector that a taint keeps its servers off."""
    return [
        node
        for node in pool.nodes
        if node.schedulable and plan.selector <= node.labels and untolerated(plan.tolerations, node.taints)
    ]


def _keep_off(plan: FleetPlan, tainted: list[NodeState]) -> str:
    """'with taints the fleet does not tolerate (dedicated=ranked:NoSchedule, ...)', each taint once, sorted."""
    taints = sorted({str(taint) for node in tainted for taint in untolerated(plan.tolerations, node.taints)})
    return f"with taints the fleet does not tolerate ({', '.join(taints)})"


def _static_figures(number: int, nodes: list[NodeState], placed: Mapping[int, int], wanted: int) -> tuple[str, str]:
    free = sum(1 for node in nodes if number not in node.taken or placed.get(node.index, 0) > 0)
    needed = f"{plural(wanted, 'server')} x port {number}, one server per node"
    return needed, f"port {number} free on {free} of {plural(len(nodes), 'eligible node')}"


def _figures(
    plan: FleetPlan, resource: Resource, nodes: list[NodeState], placed: Mapping[int, int], wanted: int
) -> tuple[str, str]:
    """Needed and available pods, cpu, memory or range ports; what the fleet itself holds counts as free."""
    per, free_of, amount, free_text = _meter(plan, resource)
    frees = [(free, n) for n in nodes if (free := free_of(n)) is not None]
    starts = [free + placed.get(n.index, 0) * per for free, n in frees]
    total, room = sum(starts), sum(free // per for free in starts)
    available = f"{free_text(total)} on {plural(len(starts), 'eligible node')}"
    if room < total // per:
        available += f", room for {plural(room, 'server')}"
    if resource[0] == "ports" and not starts:
        available = f'the pool defines no range "{resource[1]}"'
    return f"{plural(wanted, 'server')} x {amount(per)}", available


_Meter = tuple[int, Callable[[NodeState], int | None], Callable[[int], str], Callable[[int], str]]


def _meter(plan: FleetPlan, resource: Resource) -> _Meter:
    """(amount per server, free amount on a node or None if unlimited, amount wording, free wording)."""
    kind, spec = resource[0], plan.spec
    if kind == RESOURCE_PODS:
        return 1, _free_pods, lambda k: plural(k, "pod"), lambda k: plural(k, "free pod")
    if kind == RESOURCE_CPU:
        return spec.cpu_milli, _free_cpu, lambda k: f"{k:,}m cpu", lambda k: f"{k:,}m free cpu"
    if kind == RESOURCE_MEMORY:
        return spec.memory_bytes, _free_memory, lambda k: f"{_bytes(k)} memory", lambda k: f"{_bytes(k)} free memory"
    range_name = str(resource[1])

    def free_ports(node: NodeState) -> int | None:
        slots = node.slots.get(range_name)
        return None if slots is None else slots.free

    return dict(plan.needs)[range_name], free_ports, lambda k: plural(k, "port"), lambda k: plural(k, "free port")


def _free_pods(node: NodeState) -> int:
    return node.pods - node.count


def _free_cpu(node: NodeState) -> int | None:
    return None if node.cpu is None else node.cpu - node.cpu_used


def _free_memory(node: NodeState) -> int | None:
    return None if node.memory is None else node.memory - node.memory_used


def usage_warnings(pool: PoolState) -> list[str]:
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
            where = plural(len(counted), "schedulable node")
            share = f"{used * 100 // capacity}% ({show(used)} of {show(capacity)} on {where})"
            warnings.append(f"{label} at {share}, above {USAGE_WARNING_PERCENT}%")
    return warnings


def _number(number: int) -> str:
    return f"{number:,}"


def _millis(number: int) -> str:
    return f"{number:,}m"


def _bytes(number: int) -> str:
    for unit, size in (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if number >= size and number % size == 0:
            return f"{number // size:,}{unit}"
    return f"{number:,} bytes"
