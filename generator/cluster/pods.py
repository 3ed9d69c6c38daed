"""Pods: what `kubectl get pods -o json` prints -> the facts about each Pod that live status compares.

Only what fleetgen sets and what tells how a Pod is doing is read: labels, node, images, ports,
`FLEETGEN_*` env, phase, conditions and container states. An absent field takes the API server's
default (a port's protocol is TCP); a field of the wrong type is a problem named by Pod and field.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from ..diagnostics import Diagnostic
from .conditions import Condition, condition, read_conditions
from .kubectl import STDIN, KubeObject, Objects, stream_source

FLEETGEN_ENV_PREFIX = "FLEETGEN_"


@dataclass(frozen=True, slots=True, order=True)
class PortFacts:
    """One container port; `host_port` 0 when the port opens none."""

    name: str
    container_port: int
    protocol: str
    host_port: int

    def __str__(self) -> str:
        """`game 7002:7777/UDP` (hostPort:containerPort, as `docker -p`), `metrics 9100/TCP` without a hostPort."""
        numbers = f"{self.host_port}:{self.container_port}" if self.host_port else str(self.container_port)
        return f"{self.name or '<unnamed>'} {numbers}/{self.protocol}"


@dataclass(frozen=True, slots=True)
class ContainerFacts:
    """What fleetgen sets in a container: its image, its ports and its FLEETGEN_* env, each sorted by name."""

    name: str
    image: str
    ports: tuple[PortFacts, ...]
    env: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class ContainerState:
    """One entry of `status.containerStatuses` (or `initContainerStatuses`, then `init`)."""

    name: str
    init: bool
    ready: bool
    restarts: int
    waiting: str  # the waiting reason (ImagePullBackOff, ...), "" when not waiting
    waiting_message: str
    terminated: str  # the terminated reason (Error, OOMKilled, ...), "" when not terminated
    exit_code: int | None


@dataclass(frozen=True, slots=True)
class PodFacts:
    namespace: str
    name: str
    labels: dict[str, str]
    node: str  # spec.nodeName; "" while the Pod is bound to no node
    phase: str
    reason: str  # status.reason (Evicted, OutOfcpu, ...)
    message: str
    conditions: tuple[Condition, ...]
    containers: tuple[ContainerFacts, ...]
    states: tuple[ContainerState, ...]  # init containers first, each list in the API's order

    def condition(self, kind: str) -> Condition | None:
        return condition(self.conditions, kind)


def read_pods(source: str, stdin: Any) -> tuple[list[PodFacts], list[Diagnostic]]:
    """The facts of every Pod of `source` (a path, or `-` for `stdin`), in its order, and the problems
    found on the way (any of them means the facts cannot be trusted). Each Pod is read and let go in turn:
    only its facts are kept."""
    found = Objects("<stdin>" if source == STDIN else source)
    return [_pod(found, obj) for obj in stream_source(source, stdin, "Pod", found)], found.diagnostics


def _pod(found: Objects, obj: KubeObject) -> PodFacts:
    labels = found.get(obj, "metadata.labels", dict, {})
    # A Pod's labels, namespace and node repeat across thousands of Pods: one copy of each is kept.
    return PodFacts(
        namespace=sys.intern(found.get(obj, "metadata.namespace", str) or ""),
        name=obj.name,
        labels={sys.intern(key): sys.intern(value) for key, value in labels.items() if isinstance(value, str)},
        node=sys.intern(found.get(obj, "spec.nodeName", str, "")),
        phase=found.get(obj, "status.phase", str, "Pending"),
        reason=found.get(obj, "status.reason", str, ""),
        message=found.get(obj, "status.message", str, ""),
        conditions=read_conditions(found, obj),
        containers=tuple(_container(found, obj, at) for at in found.mappings(obj, "spec.containers", required=True)),
        states=(
            *(_state(found, obj, at, init=True) for at in found.mappings(obj, "status.initContainerStatuses")),
            *(_state(found, obj, at) for at in found.mappings(obj, "status.containerStatuses")),
        ),
    )


def _container(found: Objects, obj: KubeObject, at: str) -> ContainerFacts:
    env = ((found.get(obj, f"{e}.name", str) or "", e) for e in found.mappings(obj, f"{at}.env"))
    return ContainerFacts(
        name=sys.intern(found.get(obj, f"{at}.name", str) or ""),
        image=sys.intern(found.get(obj, f"{at}.image", str) or ""),
        ports=tuple(sorted(_port(found, obj, port) for port in found.mappings(obj, f"{at}.ports"))),
        # a value set `valueFrom` elsewhere reads as ""
        env=tuple(
            sorted(
                (name, found.get(obj, f"{e}.value", str, "")) for name, e in env if name.startswith(FLEETGEN_ENV_PREFIX)
            )
        ),
    )


def _port(found: Objects, obj: KubeObject, at: str) -> PortFacts:
    return PortFacts(
        name=found.get(obj, f"{at}.name", str, ""),
        container_port=found.get(obj, f"{at}.containerPort", int) or 0,
        protocol=found.get(obj, f"{at}.protocol", str, "TCP"),
        host_port=found.get(obj, f"{at}.hostPort", int, 0),
    )


def _state(found: Objects, obj: KubeObject, at: str, init: bool = False) -> ContainerState:
    return ContainerState(
        name=found.get(obj, f"{at}.name", str) or "",
        init=init,
        ready=found.get(obj, f"{at}.ready", bool, False),
        restarts=found.get(obj, f"{at}.restartCount", int, 0),
        waiting=found.get(obj, f"{at}.state.waiting.reason", str, ""),
        waiting_message=found.get(obj, f"{at}.state.waiting.message", str, ""),
        terminated=found.get(obj, f"{at}.state.terminated.reason", str, ""),
        exit_code=found.get(obj, f"{at}.state.terminated.exitCode", int, None),
    )
