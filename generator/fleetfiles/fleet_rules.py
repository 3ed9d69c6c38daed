"""Fleet rules: what a Fleet gets wrong against its pool: ports (as Agones checks them, and what it misses)
and containers; its Pod template has rules of its own (`template_rules`).

Every rule reports through the document it read, so each message carries `file:line:column`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..diagnostics import Diagnostic, did_you_mean
from ..kube import api
from . import pod_security
from .agones_sdk import sdk_problems
from .image_rules import image_problems
from .load import Document
from .model import (
    DEFAULT_RANGE,
    NUMBERED_POLICIES,
    PERCENTAGE,
    Fleet,
    NodePool,
    Port,
)
from .pool_rules import PORT_NUMBER_HINT, label_problems, name_problems, port_number_problem, reserved_spans
from .template_rules import env_problems, template_problems

MAX_REPLICAS = 150_000
"""Kubernetes' documented limit of Pods in one cluster."""


def fleet_problems(
    fleet: Fleet, document: Document, pool: NodePool, reserved: tuple[tuple[int, int], ...], version: str
) -> Iterator[Diagnostic]:
    spec = fleet.spec
    name = fleet.metadata.name
    yield from name_problems(document, ("metadata", "name"), name, "fleet name")
    longest = f"{name}-{max(spec.replicas - 1, 0)}"
    if len(longest) > 63:
        yield document.error(
            ("metadata", "name"),
            f"server name {longest!r} would be longer than 63 characters",
            "shorten the fleet name",
        )
    if spec.replicas < 0:
        yield document.error(("spec", "replicas"), "replicas must not be negative", "write 0 or more")
    elif spec.replicas > MAX_REPLICAS:
        yield document.error(
            ("spec", "replicas"),
            f"replicas {spec.replicas} is more than one cluster runs: Kubernetes supports at most "
            f"{MAX_REPLICAS:,} Pods a cluster",
            "lower replicas, or split the fleet across pools in other clusters",
        )
    yield from label_problems(document, ("spec", "nodeSelector"), spec.nodeSelector)
    yield from _rollout_problems(fleet, document)
    template_found = list(template_problems(fleet, document, version))
    yield from template_found
    if any(d.is_error for d in template_found):
        return
    containers = container_names(spec.template)
    yield from _container_problems(fleet, document, containers)
    yield from _ports_problems(fleet, document, pool, reserved, containers)
    yield from image_problems(fleet, document, pool)
    yield from env_problems(fleet, document)
    yield from sdk_problems(fleet.spec, document, pool, version)
    yield from pod_security.template_problems(spec.template, document, pool.spec.podSecurity)


MAX_UNAVAILABLE_HINT = 'write a count of at least 1 (maxUnavailable: 3) or a percentage from 1% to 100% ("25%")'


def _rollout_problems(fleet: Fleet, document: Document) -> Iterator[Diagnostic]:
    """maxUnavailable as Kubernetes takes it for a Deployment: a count or a percentage, and never 0, for a
    rollout whose waves restart nothing would never end."""
    rollout = fleet.spec.rollout
    if rollout is None:
        return
    value, path = rollout.maxUnavailable, ("spec", "rollout", "maxUnavailable")
    if isinstance(value, str) and not PERCENTAGE.fullmatch(value):
        problem = f"maxUnavailable {value!r} is neither a count nor a percentage"
    elif isinstance(value, str) and not 1 <= int(value[:-1]) <= 100:
        problem = f"maxUnavailable {value} is not a percentage from 1% to 100%"
    elif isinstance(value, int) and value < 1:
        problem = f"maxUnavailable {value} would restart no server: a wave restarts at least one"
    else:
        return
    yield document.error(path, problem, MAX_UNAVAILABLE_HINT)


def container_names(template: dict[str, Any]) -> list[str]:
    return [c.get("name", "") for c in (template.get("spec") or {}).get("containers") or []]


def _container_problems(fleet: Fleet, document: Document, containers: list[str]) -> Iterator[Diagnostic]:
    chosen = fleet.spec.container
    if chosen is None and len(containers) > 1:
        yield document.error(
            ("spec",),
            "Container is required when using multiple containers in the pod template",
            "set spec.container to one of: " + ", ".join(sorted(containers)),
        )
    elif chosen is not None and chosen not in containers:
        yield document.error(
            ("spec", "container"),
            "Container must be empty or the name of a container in the pod template",
            did_you_mean(chosen, containers, "add the container to template.spec.containers"),
        )


def _ports_problems(
    fleet: Fleet, document: Document, pool: NodePool, reserved: tuple[tuple[int, int], ...], containers: list[str]
) -> Iterator[Diagnostic]:
    names: dict[str, int] = {}
    host_ports: dict[int, int] = {}
    container_ports: dict[tuple[str, int, str], int] = {}
    default_container = fleet.spec.container or (containers[0] if containers else "")
    for index, port in enumerate(fleet.spec.ports):
        path = ("spec", "ports", index)
        yield from _port_problems(port, document, path, pool, reserved, containers)
        for kube_name in _kube_port_names(port):
            if kube_name in names:
                yield document.error(
                    (*path, "name"),
                    f"port name {kube_name!r} is already used by ports[{names[kube_name]}]",
                    "port names must be unique in a fleet (TCPUDP adds -tcp and -udp)",
                )
            names.setdefault(kube_name, index)
        if port.portPolicy == "Static" and port.hostPort is not None:
            if port.hostPort in host_ports:
                yield document.error(
                    (*path, "hostPort"),
                    f"hostPort {port.hostPort} is already used by ports[{host_ports[port.hostPort]}]",
                    "use protocol: TCPUDP for one number that serves both protocols",
                )
            host_ports.setdefault(port.hostPort, index)
        container = port.container or default_container
        for protocol in _protocols(port):
            key = (container, port.containerPort or 0, protocol)
            if port.containerPort and key in container_ports:
                yield document.error(
                    (*path, "containerPort"),
                    f"containerPort {port.containerPort}/{protocol} on "
                    f"container {container!r} is already used by ports[{container_ports[key]}]",
                    "give each port of a container its own containerPort, or use protocol: TCPUDP",
                )
            container_ports.setdefault(key, index)
    yield from _template_port_clashes(fleet, document, default_container)


def _kube_port_names(port: Port) -> list[str]:
    return [f"{port.name}-tcp", f"{port.name}-udp"] if port.protocol == "TCPUDP" else [port.name]


def _protocols(port: Port) -> tuple[str, ...]:
    return ("TCP", "UDP") if port.protocol == "TCPUDP" else (port.protocol,)


def _port_problems(
    port: Port,
    document: Document,
    path: tuple,
    pool: NodePool,
    reserved: tuple[tuple[int, int], ...],
    containers: list[str],
) -> Iterator[Diagnostic]:
    policy = port.portPolicy
    limit = 11 if port.protocol == "TCPUDP" else 15
    problem = api.port_name_problem(port.name, limit)
    if problem:
        suffix = " (TCPUDP adds -tcp/-udp)" if port.protocol == "TCPUDP" else ""
        hint = f"use a name such as 'game', at most {limit} characters"
        yield document.error((*path, "name"), f"port name {port.name!r} {problem}{suffix}", hint)
    if policy in ("Dynamic", "Static", "None") and port.containerPort is None:
        message = "ContainerPort must be defined for Dynamic and Static PortPolicies"
        if policy == "None":
            message = "ContainerPort must be defined for a None port (it is a plain container port)"
        yield document.error(path, message, "add containerPort: <the port your server listens on>")
    if policy == "Passthrough" and port.containerPort is not None:
        yield document.error(
            (*path, "containerPort"),
            "ContainerPort cannot be specified with Passthrough PortPolicy",
            "remove it: Passthrough sets containerPort to the allocated hostPort",
        )
    if port.containerPort is not None and port_number_problem(port.containerPort):
        message = f"containerPort: {port_number_problem(port.containerPort)}"
        yield document.error((*path, "containerPort"), message, PORT_NUMBER_HINT)
    if port.hostPort is not None and policy in NUMBERED_POLICIES:
        yield document.error(
            (*path, "hostPort"),
            "HostPort cannot be specified with a Dynamic or Passthrough PortPolicy",
            "remove it, or use portPolicy: Static",
        )
    if port.hostPort is not None and policy == "None":
        message = "hostPort cannot be specified with portPolicy None"
        yield document.error((*path, "hostPort"), message, "remove it: a port with portPolicy None opens no hostPort")
    if policy == "Static":
        yield from _static_problems(port, document, path, pool, reserved)
    yield from _port_range_problems(port, document, path, pool)
    if port.container is not None and port.container not in containers:
        yield document.error(
            (*path, "container"),
            "Container must be empty or the name of a container in the pod template",
            did_you_mean(port.container, containers, "add the container to template.spec.containers"),
        )


def _static_problems(
    port: Port, document: Document, path: tuple, pool: NodePool, reserved: tuple[tuple[int, int], ...]
) -> Iterator[Diagnostic]:
    number = port.hostPort
    if number is None:
        yield document.error(path, "a Static port needs a hostPort", "add hostPort: <the port clients dial>")
        return
    if port_number_problem(number):
        yield document.error((*path, "hostPort"), f"hostPort: {port_number_problem(number)}", PORT_NUMBER_HINT)
    node_ports = pool.spec.nodePortRange
    if node_ports.min <= number <= node_ports.max:
        yield document.error(
            (*path, "hostPort"),
            f"hostPort {number} is inside the pool's nodePortRange ({node_ports.min}-{node_ports.max})",
            "pick a port outside the Service NodePort range",
        )
    for low, high in reserved:
        if low <= number <= high:
            yield document.error(
                (*path, "hostPort"),
                f"hostPort {number} is in the pool's reservedPorts ({low}-{high})",
                "something else uses it on these nodes; pick another port",
            )
    for low, high in reserved_spans(pool, "nodeDaemonPorts"):
        if low <= number <= high:
            yield document.error(
                (*path, "hostPort"),
                f"hostPort {number} is one of the pool's nodeDaemonPorts ({low}-{high}): a daemon of the node "
                "listens there (SSH, the kubelet, etcd, ...) and a hostPort would take its traffic",
                "pick another port; if no daemon listens on it on these nodes, drop it from spec.nodeDaemonPorts",
            )


def _port_range_problems(port: Port, document: Document, path: tuple, pool: NodePool) -> Iterator[Diagnostic]:
    ranges = pool.spec.portRanges
    if port.portPolicy in NUMBERED_POLICIES and port.range not in ranges:
        yield document.error(
            (*path, "range") if "range" in port.model_fields_set else path,
            f"range {port.range!r} is not a portRanges entry of pool {pool.metadata.name!r}",
            did_you_mean(port.range, ranges, "add the range to the pool's spec.portRanges"),
        )
    elif port.portPolicy not in NUMBERED_POLICIES and "range" in port.model_fields_set and port.range != DEFAULT_RANGE:
        yield document.error((*path, "range"), f"range has no meaning for a {port.portPolicy} port", "remove it")


def _template_port_clashes(fleet: Fleet, document: Document, default_container: str) -> Iterator[Diagnostic]:
    containers = fleet.spec.template.get("spec", {}).get("containers", [])
    for index, port in enumerate(fleet.spec.ports):
        container_name = port.container or default_container
        container = next((c for c in containers if c.get("name") == container_name), {})
        for template_index, template_port in enumerate(container.get("ports") or []):
            where = ("spec", "template", "spec", "containers", containers.index(container), "ports", template_index)
            if template_port.get("name") in _kube_port_names(port):
                yield document.error(
                    where,
                    f"template port name {template_port['name']!r} clashes with fleet port ports[{index}]",
                    "remove one of them or rename it",
                )
            number = template_port.get("containerPort")
            protocol = template_port.get("protocol", "TCP")
            if port.containerPort is not None and number == port.containerPort and protocol in _protocols(port):
                yield document.error(
                    where,
                    f"template port {number}/{protocol} clashes with fleet port "
                    f"{port.name!r} on container {container_name!r}",
                    "remove it from the template: fleetgen adds the fleet's ports",
                )
