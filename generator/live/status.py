"""Status: the desired servers against the live Pods (and Nodes) -> one state per server, and the orphans.

Pure: what kubectl printed and what the repository compiles to go in, words come out. Each server gets
the first state of `State` that applies, so a server shows its most basic problem: a missing Pod before
its node, its node before what runs on it, a stale Pod before how that stale Pod is doing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from ..cluster.kubectl import reason_and_message
from ..cluster.pods import ContainerFacts, ContainerState, PodFacts, PortFacts
from ..cluster.readiness import NodeReadiness
from ..fleetfiles.model import MANAGED_BY_LABEL
from ..manifests.render import FLEET_LABEL, MANAGER, POOL_LABEL, TEMPLATE_HASH_LABEL
from .desired import DesiredServer

# A container waiting for one of these will not start without a change: a broken image, a crashing
# server, a missing Secret or ConfigMap.
FAILED_WAITING = ("CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError")


class State(StrEnum):
    """A server's state; the order is the order in which they are tried."""

    MISSING = "missing"
    NODE_GONE = "node-gone"
    WRONG_NODE = "wrong-node"
    OUTDATED = "outdated"
    FAILED = "failed"
    PENDING = "pending"
    NOT_READY = "not-ready"
    OK = "ok"


@dataclass(frozen=True, slots=True)
class ServerStatus:
    pool: str
    fleet: str
    server: str
    namespace: str
    node: str  # the planned node
    state: State
    reason: str  # why, in words: the Pod's own reason and message where it has them; "" when ok


@dataclass(frozen=True, slots=True)
class Orphan:
    """A Pod that fleetgen made for one of the asked pools and that the desired state no longer holds."""

    namespace: str
    name: str
    node: str  # "" while bound to no node


@dataclass(frozen=True, slots=True)
class LiveStatus:
    servers: tuple[ServerStatus, ...]  # by pool, fleet and ordinal
    orphans: tuple[Orphan, ...]  # by namespace and name

    @property
    def all_ok(self) -> bool:
        return not self.orphans and all(server.state is State.OK for server in self.servers)

    def counts(self) -> dict[tuple[str, str], dict[State, int]]:
        """(pool, fleet) -> servers in each state (every state, zeros too), in the servers' order."""
        counts: dict[tuple[str, str], dict[State, int]] = {}
        for server in self.servers:
            fleet = counts.setdefault((server.pool, server.fleet), dict.fromkeys(State, 0))
            fleet[server.state] += 1
        return counts

    def totals(self) -> dict[State, int]:
        totals = dict.fromkeys(State, 0)
        for server in self.servers:
            totals[server.state] += 1
        return totals


def live_status(
    desired: Sequence[DesiredServer],
    pods: Iterable[PodFacts],
    nodes: Mapping[str, NodeReadiness] | None,
    pools: Iterable[str],
    fleets: Iterable[str] = (),
) -> LiveStatus:
    """The state of every desired server, found by its name in its namespace, and the orphans: Pods
    labelled as fleetgen's, of one of `pools` (and of one of `fleets`, when given), that no desired
    server is. `nodes` is None when the Nodes were not given: no server is then `node-gone`.

    Each Pod is judged as it comes and let go, so `pods` may stream 150,000 of them: what is kept is a
    state per server and the orphans. A Pod listed twice (one name in one namespace) counts as its last."""
    wanted: dict[tuple[str, str], list[int]] = {}
    for index, server in enumerate(desired):
        wanted.setdefault((server.namespace, server.server), []).append(index)
    found: list[ServerStatus | None] = [None] * len(desired)
    asked_pools, asked_fleets = set(pools), set(fleets)
    orphans: dict[tuple[str, str], Orphan] = {}
    for pod in pods:
        key = (pod.namespace, pod.name)
        indices = wanted.get(key)
        if indices is not None:
            for index in indices:
                found[index] = _server_status(desired[index], pod, nodes)
        elif (
            pod.labels.get(MANAGED_BY_LABEL) == MANAGER
            and pod.labels.get(POOL_LABEL) in asked_pools
            and (not asked_fleets or pod.labels.get(FLEET_LABEL) in asked_fleets)
        ):
            orphans[key] = Orphan(pod.namespace, pod.name, pod.node)
        else:
            orphans.pop(key, None)
    servers = tuple(
        status if status is not None else _server_status(server, None, nodes)
        for server, status in zip(desired, found, strict=True)
    )
    return LiveStatus(servers, tuple(orphans[key] for key in sorted(orphans)))


def _server_status(
    server: DesiredServer, pod: PodFacts | None, nodes: Mapping[str, NodeReadiness] | None
) -> ServerStatus:
    state, reason = _state(server, pod, nodes)
    return ServerStatus(server.pool, server.fleet, server.server, server.namespace, server.node, state, reason)


def _state(server: DesiredServer, pod: PodFacts | None, nodes: Mapping[str, NodeReadiness] | None) -> tuple[State, str]:
    if pod is None:
        return State.MISSING, f"no Pod named {server.server} in namespace {server.namespace}"
    if nodes is not None:
        node = nodes.get(server.node)
        if node is None:
            return State.NODE_GONE, f"node {server.node} is not in the cluster"
        if not node.ready:
            return State.NODE_GONE, f"node {server.node} is not Ready: {node.reason}"
    if pod.node and pod.node != server.node:
        return State.WRONG_NODE, f"the Pod is on node {pod.node}, planned on {server.node}"
    differences = _outdated(server, pod)
    if differences:
        return State.OUTDATED, "; ".join(differences)
    for check in (_failed, _pending, _not_ready):
        found = check(pod)
        if found is not None:
            return found
    return State.OK, ""


def _outdated(server: DesiredServer, pod: PodFacts) -> list[str]:
    """How the Pod differs from the rendered one in what fleetgen sets, in words; [] when it does not."""
    differences = []
    live_hash = pod.labels.get(TEMPLATE_HASH_LABEL, "")
    if live_hash != server.template_hash:
        differences.append(f"template-hash {live_hash or '(none)'}, rendered {server.template_hash}")
    live = {container.name: container for container in pod.containers}
    for container in server.containers:
        differences += _container_differences(container, live.get(container.name))
    return differences


def _container_differences(rendered: ContainerFacts, live: ContainerFacts | None) -> list[str]:
    name = rendered.name
    if live is None:
        return [f"no container {name}"]
    if live == rendered:
        return []
    found = []
    if live.image != rendered.image:
        found.append(f"container {name} runs {live.image}, rendered {rendered.image}")
    if live.ports != rendered.ports:
        live_only, rendered_only = set(live.ports) - set(rendered.ports), set(rendered.ports) - set(live.ports)
        found.append(f"container {name} ports {_ports(live_only)}, rendered {_ports(rendered_only)}")
    live_env, rendered_env = dict(live.env), dict(rendered.env)
    for key in sorted(live_env.keys() | rendered_env.keys()):
        if live_env.get(key) != rendered_env.get(key):
            found.append(
                f"container {name} {key}={_shown(live_env.get(key))}, rendered {_shown(rendered_env.get(key))}"
            )
    return found


def _ports(ports: set[PortFacts]) -> str:
    return ", ".join(str(port) for port in sorted(ports)) or "(none)"


def _shown(value: str | None) -> str:
    return "(unset)" if value is None else value


def _failed(pod: PodFacts) -> tuple[State, str] | None:
    if pod.phase == "Failed":
        return State.FAILED, reason_and_message(pod.reason, pod.message) or _terminated(pod.states) or "phase Failed"
    if pod.phase == "Succeeded":
        return State.FAILED, "Succeeded: every container has exited and none restarts"
    for state in pod.states:
        if state.waiting in FAILED_WAITING:
            restarts = f", {state.restarts} restarts" if state.restarts else ""
            detail = reason_and_message(state.waiting, state.waiting_message)
            return State.FAILED, f"{detail} (container {state.name}{restarts})"
    return None


def _terminated(states: Sequence[ContainerState]) -> str:
    """The first terminated container, in words: `container server: Error (exit code 1)`."""
    for state in states:
        if state.terminated or state.exit_code is not None:
            code = f" (exit code {state.exit_code})" if state.exit_code is not None else ""
            return f"container {state.name}: {state.terminated or 'terminated'}{code}"
    return ""


def _pending(pod: PodFacts) -> tuple[State, str] | None:
    if pod.phase != "Pending":
        return None
    scheduled = pod.condition("PodScheduled")
    if scheduled is not None and scheduled.status != "True":
        return State.PENDING, scheduled.why or "not scheduled yet"
    if not pod.node:
        return State.PENDING, "not scheduled yet"
    waiting = next((state for state in pod.states if state.waiting), None)
    if waiting is not None:
        return (
            State.PENDING,
            f"{reason_and_message(waiting.waiting, waiting.waiting_message)} (container {waiting.name})",
        )
    return State.PENDING, reason_and_message(pod.reason, pod.message) or "Pending"


def _not_ready(pod: PodFacts) -> tuple[State, str] | None:
    """Running but a container not ready (or without a status yet); any phase but the four is not ready."""
    if pod.phase not in ("Running", "Pending", "Succeeded", "Failed"):
        return State.NOT_READY, f"phase {pod.phase}"
    ready = {state.name for state in pod.states if not state.init and state.ready}
    unready = [container.name for container in pod.containers if container.name not in ready]
    if not unready:
        return None
    condition = pod.condition("Ready") or pod.condition("ContainersReady")
    if condition is not None and condition.status != "True" and condition.why:
        return State.NOT_READY, condition.why
    return State.NOT_READY, f"containers not ready: {', '.join(unready)}"
