"""Pods: what `kubectl get pods -o json` prints -> the facts about each Pod that live status compares.

Only what fleetgen sets and what tells how a Pod is doing is read: labels, node, images, ports,
`FLEETGEN_*` env, phase, conditions and container states. An absent field takes the API server's
default (a port's protocol is TCP); a field of the wrong type is a problem named by Pod and field.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterator
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
    found on the way (any of them means the facts cannot be trusted)."""
    pods, problems = stream_pods(source, stdin)
    return list(pods), problems


def stream_pods(source: str, stdin: Any) -> tuple[Iterator[PodFacts], list[Diagnostic]]:
    """The facts of every Pod of `source` (a path, or `-` for `stdin`), in its order, read as they are
    iterated, and the problems found on the way: the list fills as the Pods are read. Each Pod is read and
    let go in turn, so a caller that keeps less than the facts holds less than the list."""
    found = Objects("<stdin>" if source == STDIN else source)
    return (_facts(found, obj) for obj in stream_source(source, stdin, "Pod", found)), found.diagnostics


def _facts(found: Objects, obj: KubeObject) -> PodFacts:
    """A Pod as the API server writes it is read directly; any surprise in a field's type or presence sends
    it to the checked reader, which names the field (the two give the same facts for a well-formed Pod)."""
    try:
        return _trusted_pod(obj)
    except _Unusual:
        return _pod(found, obj)


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


# The trusted reader: a Pod as the API server writes it, read with plain dict access. The first field that
# is absent where it is required, of another type, or a section that is not a mapping raises _Unusual, and
# the checked reader above reads the Pod again and names the field. Nothing here may accept what the
# checked reader calls a problem, or read a value differently.


class _Unusual(Exception):
    """The Pod is not as the API server writes it: the checked reader takes it."""


_REQUIRED = object()


def _value(mapping: dict[str, Any], key: str, kind: type, default: Any = _REQUIRED) -> Any:
    """`mapping[key]` when it is exactly of `kind` (so never a bool for an int); `default` when absent or
    null; _Unusual for a required field that is absent, or a value of another type."""
    value = mapping.get(key)
    if value is None:
        if default is _REQUIRED:
            raise _Unusual
        return default
    if type(value) is not kind:
        raise _Unusual
    return value


def _section(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    """The mapping at `key`, {} when absent or null."""
    return _value(mapping, key, dict, {})


def _mappings(mapping: dict[str, Any], key: str, required: bool = False) -> list[dict[str, Any]]:
    """The list of mappings at `key`, [] when absent or null (unless `required`)."""
    items = _value(mapping, key, list) if required else _value(mapping, key, list, [])
    for item in items:
        if type(item) is not dict:
            raise _Unusual
    return items


def _trusted_pod(obj: KubeObject) -> PodFacts:
    body = obj.body
    metadata = body["metadata"]  # a mapping holding the name: the list's reader checked it
    spec, status = _section(body, "spec"), _section(body, "status")
    labels = _value(metadata, "labels", dict, {})
    return PodFacts(
        namespace=sys.intern(_value(metadata, "namespace", str)),
        name=obj.name,
        labels={sys.intern(key): sys.intern(value) for key, value in labels.items() if isinstance(value, str)},
        node=sys.intern(_value(spec, "nodeName", str, "")),
        phase=_value(status, "phase", str, "Pending"),
        reason=_value(status, "reason", str, ""),
        message=_value(status, "message", str, ""),
        conditions=_trusted_conditions(_mappings(status, "conditions")),
        containers=tuple(_trusted_container(item) for item in _mappings(spec, "containers", required=True)),
        states=(
            *(_trusted_state(item, init=True) for item in _mappings(status, "initContainerStatuses")),
            *(_trusted_state(item, init=False) for item in _mappings(status, "containerStatuses")),
        ),
    )


def _trusted_conditions(items: list[dict[str, Any]]) -> tuple[Condition, ...]:
    found = []
    for item in items:
        kind, status, reason, message = item.get("type"), item.get("status"), item.get("reason"), item.get("message")
        reason, message = "" if reason is None else reason, "" if message is None else message
        if type(kind) is not str or type(status) is not str or type(reason) is not str or type(message) is not str:
            raise _Unusual
        found.append(_shared_condition(kind, status, reason, message))
    return tuple(found)


# Conditions and container states repeat from Pod to Pod: one object for each, as with interned strings.
_shared_condition = functools.lru_cache(maxsize=4096)(Condition)
_shared_state = functools.lru_cache(maxsize=4096)(ContainerState)


def _trusted_container(item: dict[str, Any]) -> ContainerFacts:
    env = []
    for entry in _mappings(item, "env"):
        name = entry.get("name")
        if type(name) is not str:
            raise _Unusual
        if name.startswith(FLEETGEN_ENV_PREFIX):
            env.append((name, _value(entry, "value", str, "")))  # a value set `valueFrom` reads as ""
    name, image = item.get("name"), item.get("image")
    if type(name) is not str or type(image) is not str:
        raise _Unusual
    return ContainerFacts(
        name=sys.intern(name),
        image=sys.intern(image),
        ports=_trusted_ports(_mappings(item, "ports")),
        env=tuple(sorted(env)),
    )


def _trusted_ports(items: list[dict[str, Any]]) -> tuple[PortFacts, ...]:
    """The ports, in the order of their facts (sorted as plain tuples, which compare in C)."""
    found = []
    for item in items:
        name, number, protocol, host_port = (
            item.get("name"),
            item.get("containerPort"),
            item.get("protocol"),
            item.get("hostPort"),
        )
        port = ("" if name is None else name, number, "TCP" if protocol is None else protocol, host_port or 0)
        if type(port[0]) is not str or type(number) is not int or type(port[2]) is not str:
            raise _Unusual
        if host_port is not None and type(host_port) is not int:
            raise _Unusual
        found.append(port)
    return tuple(PortFacts(*port) for port in sorted(found))


def _trusted_state(item: dict[str, Any], init: bool) -> ContainerState:
    state = _section(item, "state")
    waiting, terminated = _section(state, "waiting"), _section(state, "terminated")
    name, ready, restarts = item.get("name"), item.get("ready"), item.get("restartCount")
    ready, restarts = False if ready is None else ready, 0 if restarts is None else restarts
    if type(name) is not str or type(ready) is not bool or type(restarts) is not int:
        raise _Unusual
    return _shared_state(
        name,
        init,
        ready,
        restarts,
        _value(waiting, "reason", str, "") if waiting else "",
        _value(waiting, "message", str, "") if waiting else "",
        _value(terminated, "reason", str, "") if terminated else "",
        _value(terminated, "exitCode", int, None) if terminated else None,
    )
