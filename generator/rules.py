"""Rules: models -> validated pools, checking what spans fields, documents and pools.

Every rule reports through the document it read, so each message carries `file:line:column`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import kube, security
from .diagnostics import Diagnostic, did_you_mean, error
from .firewall_rules import firewall_problems
from .load import Document, Loaded, PoolFolder
from .model import DEFAULT_RANGE, Fleet, NodePool, Port
from .parse import parse_document
from .quantity import parse_quantity, to_bytes, to_millicores
from .requests import effective_requests

RESERVED_LABEL_PREFIX = "fleetgen.dev/"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
HOSTNAME_LABEL = "kubernetes.io/hostname"
NUMBERED_POLICIES = ("Dynamic", "Passthrough")


@dataclass(frozen=True, slots=True)
class FleetSource:
    """A valid Fleet, where it came from, and what the allocator needs to know of its Pods."""

    model: Fleet
    document: Document
    container: str
    cpu_milli: int
    memory_bytes: int

    @property
    def name(self) -> str:
        return self.model.metadata.name


@dataclass(frozen=True, slots=True)
class PoolSource:
    """A valid NodePool with its fleets (sorted by name) and its previous lock."""

    model: NodePool
    document: Document
    folder: Path
    fleets: tuple[FleetSource, ...]
    reserved: tuple[tuple[int, int], ...]
    node_cpu_milli: tuple[int | None, ...]
    node_memory_bytes: tuple[int | None, ...]
    lock_path: Path
    lock_text: str | None

    @property
    def name(self) -> str:
        return self.model.metadata.name

    @property
    def addresses(self) -> dict[str, str]:
        """Node name -> the address clients dial."""
        return {node.name: node.address for node in self.model.spec.nodes}


@dataclass(frozen=True, slots=True)
class Validated:
    pools: tuple[PoolSource, ...]
    diagnostics: tuple[Diagnostic, ...]


def validate_fleets(loaded: Loaded, kubernetes_version: str) -> Validated:
    """Every problem in every file, in one pass; pools come back only when the whole input is valid."""
    diagnostics = list(loaded.diagnostics)
    pools: list[PoolSource] = []
    unreadable = {d.path for d in loaded.diagnostics if d.is_error}
    for folder in loaded.pools:
        pool, found = _validate_pool(folder, kubernetes_version, unreadable)
        diagnostics += found
        if pool is not None:
            pools.append(pool)
    diagnostics += _cross_pool_problems(pools)
    diagnostics += security.shared_namespace_problems((pool.model, pool.document) for pool in pools)
    return Validated(tuple(pools), tuple(sorted(set(diagnostics))))


def _validate_pool(
    folder: PoolFolder, version: str, unreadable: set[str]
) -> tuple[PoolSource | None, list[Diagnostic]]:
    diagnostics: list[Diagnostic] = []
    pool_models = []
    for document in folder.pool_documents:
        model, found = parse_document(document, ("NodePool",))
        diagnostics += found
        if model is not None:
            pool_models.append((model, document))
    if len(folder.pool_documents) > 1:
        extra = folder.pool_documents[1]
        diagnostics.append(extra.error((), "pool.yaml must hold exactly one NodePool", "move Fleets to their own file"))
    pool_file = folder.folder / "pool.yaml"
    if not folder.pool_documents and str(pool_file) not in unreadable:
        diagnostics.append(_file_error(pool_file, "pool.yaml holds no NodePool document"))
    fleets = _parse_fleets(folder.fleet_documents, diagnostics)
    if len(pool_models) != 1:
        return None, diagnostics
    pool, document = pool_models[0]
    diagnostics += _pool_problems(pool, document, folder.name)
    diagnostics += security.pool_problems(pool, document, version)
    reserved = tuple(sorted(_reserved_spans(pool)))
    sources = []
    for fleet, fleet_document in fleets:
        found = list(_fleet_problems(fleet, fleet_document, pool, reserved, version))
        diagnostics += found
        if not any(d.is_error for d in found):
            sources.append(_fleet_source(fleet, fleet_document))
    diagnostics += _duplicate_fleet_names(fleets)
    cpu = tuple(_quantity(n.capacity.cpu, to_millicores) for n in pool.spec.nodes)
    memory = tuple(_quantity(n.capacity.memory, to_bytes) for n in pool.spec.nodes)
    source = PoolSource(
        pool,
        document,
        folder.folder,
        tuple(sorted(sources, key=_fleet_name)),
        reserved,
        cpu,
        memory,
        folder.lock_path,
        folder.lock_text,
    )
    return source, diagnostics


def _fleet_name(source: FleetSource) -> str:
    return source.name


def _file_error(path: Path, message: str) -> Diagnostic:
    return error(str(path), 0, 0, message)


def _parse_fleets(documents: Iterable[Document], diagnostics: list[Diagnostic]) -> list[tuple[Fleet, Document]]:
    fleets = []
    for document in documents:
        model, found = parse_document(document, ("Fleet",))
        diagnostics += found
        if isinstance(model, Fleet):
            fleets.append((model, document))
    return fleets


def _duplicate_fleet_names(fleets: list[tuple[Fleet, Document]]) -> Iterator[Diagnostic]:
    first: dict[str, Document] = {}
    for fleet, document in fleets:
        name = fleet.metadata.name
        if name in first:
            other = first[name]
            line, _ = other.position(("metadata", "name"))
            yield document.error(
                ("metadata", "name"),
                f"fleet {name!r} is already defined in {other.path}:{line}",
                "give each fleet of a pool its own name",
            )
        else:
            first[name] = document


def _quantity(value: str | int | float | None, convert: Any) -> int | None:
    if value is None:
        return None
    amount = parse_quantity(value)
    return None if amount is None else convert(amount)


# --- NodePool rules ------------------------------------------------------------------------------------


def _pool_problems(pool: NodePool, document: Document, folder_name: str) -> Iterator[Diagnostic]:
    spec = pool.spec
    name = pool.metadata.name
    if name != folder_name:
        yield document.error(
            ("metadata", "name"),
            f"pool name {name!r} differs from its folder {folder_name!r}",
            f"rename the folder or set metadata.name: {folder_name}",
        )
    yield from _name_problems(document, ("metadata", "name"), name, "pool name")
    yield from _name_problems(document, ("spec", "namespace"), spec.namespace, "namespace")
    yield from _range_problems(pool, document)
    yield from _reserved_problems(pool, document)
    yield from _node_problems(pool, document)
    yield from firewall_problems(pool, document)
    if spec.unitSize < 1:
        yield document.error(("spec", "unitSize"), "unitSize must be at least 1")


def _name_problems(document: Document, path: tuple, value: str, what: str) -> Iterator[Diagnostic]:
    problem = kube.dns1123_label_problem(value)
    if problem:
        yield document.error(path, f"{what} {value!r} {problem}", "use a DNS-1123 label such as 'eu-west-1'")


def _port_number_problem(value: int) -> str:
    return "" if 1 <= value <= 65535 else f"port {value} is outside 1-65535"


def _range_problems(pool: NodePool, document: Document) -> Iterator[Diagnostic]:
    spec = pool.spec
    node_ports = spec.nodePortRange
    spans = [("nodePortRange", ("spec", "nodePortRange"), node_ports.min, node_ports.max)]
    spans += [(f"portRanges.{n}", ("spec", "portRanges", n), r.min, r.max) for n, r in sorted(spec.portRanges.items())]
    for label, path, low, high in spans:
        for key, value in (("min", low), ("max", high)):
            if _port_number_problem(value):
                yield document.error((*path, key), f"{label}.{key}: {_port_number_problem(value)}")
        if low > high:
            yield document.error(path, f"{label}: min {low} is greater than max {high}", "swap them")
    for name in sorted(spec.portRanges):
        problem = kube.dns1123_label_problem(name)
        if problem:
            yield document.error(("spec", "portRanges", name), f"range name {name!r} {problem}", key=True)
    for index, (label, path, low, high) in enumerate(spans):
        for other_label, _, other_low, other_high in spans[:index]:
            if low <= other_high and other_low <= high:
                yield document.error(
                    path,
                    f"{label} ({low}-{high}) overlaps {other_label} ({other_low}-{other_high})",
                    "ranges must not share any port, not even an end port",
                )


def _reserved_problems(pool: NodePool, document: Document) -> Iterator[Diagnostic]:
    for index, entry in enumerate(pool.spec.reservedPorts):
        span = parse_span(entry)
        path = ("spec", "reservedPorts", index)
        if span is None:
            yield document.error(
                path, f"reserved port {entry!r} is not a port number or an 'a-b' span", 'write 9100 or "9100-9110"'
            )
        elif any(_port_number_problem(p) for p in span) or span[0] > span[1]:
            yield document.error(path, f"reserved span {entry!r} must be ports in 1-65535, low to high")


_SPAN = re.compile(r"([0-9]{1,5})(?:-([0-9]{1,5}))?")


def parse_span(entry: int | str) -> tuple[int, int] | None:
    """`7100` or `"7500-7509"` (ASCII digits, no spaces) as an inclusive span."""
    if isinstance(entry, int):
        return entry, entry
    match = _SPAN.fullmatch(entry)
    if match is None:
        return None
    low = int(match.group(1))
    return low, int(match.group(2)) if match.group(2) else low


def _reserved_spans(pool: NodePool) -> Iterator[tuple[int, int]]:
    for entry in pool.spec.reservedPorts:
        span = parse_span(entry)
        if span is not None and span[0] <= span[1]:
            yield span


def _node_problems(pool: NodePool, document: Document) -> Iterator[Diagnostic]:
    seen: dict[str, int] = {}
    for index, node in enumerate(pool.spec.nodes):
        path = ("spec", "nodes", index)
        problem = kube.dns1123_subdomain_problem(node.name)
        if problem:
            yield document.error((*path, "name"), f"node name {node.name!r} {problem}")
        if node.name in seen:
            yield document.error(
                (*path, "name"), f"node {node.name!r} is listed twice (first as nodes[{seen[node.name]}])"
            )
        seen.setdefault(node.name, index)
        if kube.address_problem(node.address):
            yield document.error(
                (*path, "address"),
                f"address {node.address!r} is not an IPv4 or IPv6 address",
                "give the external address clients dial, e.g. 203.0.113.10 or 2001:db8::10",
            )
        yield from _label_problems(document, (*path, "labels"), node.labels)
        yield from _capacity_problems(document, (*path, "capacity"), node.capacity)


def _capacity_problems(document: Document, path: tuple, capacity: Any) -> Iterator[Diagnostic]:
    if capacity.pods < 0:
        yield document.error((*path, "pods"), "capacity.pods must not be negative")
    for field in ("cpu", "memory"):
        value = getattr(capacity, field)
        if value is not None and parse_quantity(value) is None:
            yield document.error(
                (*path, field),
                f"{field} {value!r} is not a Kubernetes quantity",
                'write e.g. cpu: "15500m" or memory: 60Gi',
            )


def _label_problems(document: Document, path: tuple, labels: dict[str, str]) -> Iterator[Diagnostic]:
    for key, value in sorted(labels.items()):
        problem = kube.label_key_problem(key)
        if problem:
            yield document.error((*path, key), f"{key!r}: {problem}", key=True)
        problem = kube.label_value_problem(value)
        if problem:
            yield document.error((*path, key), f"{value!r}: {problem}")


# --- Fleet rules ---------------------------------------------------------------------------------------


def _fleet_problems(
    fleet: Fleet, document: Document, pool: NodePool, reserved: tuple[tuple[int, int], ...], version: str
) -> Iterator[Diagnostic]:
    spec = fleet.spec
    name = fleet.metadata.name
    yield from _name_problems(document, ("metadata", "name"), name, "fleet name")
    longest = f"{name}-{max(spec.replicas - 1, 0)}"
    if len(longest) > 63:
        yield document.error(
            ("metadata", "name"),
            f"server name {longest!r} would be longer than 63 characters",
            "shorten the fleet name",
        )
    if spec.replicas < 0:
        yield document.error(("spec", "replicas"), "replicas must not be negative")
    yield from _label_problems(document, ("spec", "nodeSelector"), spec.nodeSelector)
    template_found = list(_template_problems(fleet, document, version))
    yield from template_found
    if any(d.is_error for d in template_found):
        return
    containers = _container_names(spec.template)
    yield from _container_problems(fleet, document, containers)
    yield from _ports_problems(fleet, document, pool, reserved, containers)
    yield from security.template_problems(spec.template, document, pool.spec.podSecurity)


def _container_names(template: dict[str, Any]) -> list[str]:
    return [c.get("name", "") for c in (template.get("spec") or {}).get("containers") or []]


def _template_shape_problems(template: dict[str, Any], document: Document, base: tuple) -> list[Diagnostic]:
    """What the schema lets through but a Pod cannot be: no containers, null items, bad quantities."""
    spec = template.get("spec")
    if not isinstance(spec, dict) or not spec.get("containers"):
        where = (*base, "spec", "containers") if isinstance(spec, dict) else (*base, "spec")
        return [document.error(where, "the template needs at least one container", "add spec.containers")]
    found = []
    for group in ("initContainers", "containers"):
        for index, container in enumerate(spec.get(group) or []):
            path = (*base, "spec", group, index)
            if not isinstance(container, dict):
                found.append(document.error(path, f"{group}[{index}] must be a container mapping"))
                continue
            if any(not isinstance(port, dict) for port in container.get("ports") or []):
                found.append(document.error((*path, "ports"), "every port must be a mapping"))
            found += _quantity_problems(container.get("resources") or {}, document, (*path, "resources"))
    return found


def _quantity_problems(resources: dict[str, Any], document: Document, path: tuple) -> list[Diagnostic]:
    return [
        document.error((*path, kind, name), f"{name} {value!r} is not a Kubernetes quantity", "write e.g. 500m or 2Gi")
        for kind in ("requests", "limits")
        for name, value in sorted((resources.get(kind) or {}).items())
        if parse_quantity(value) is None
    ]


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
            did_you_mean(chosen, containers),
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
    problem = kube.port_name_problem(port.name, limit)
    if problem:
        suffix = " (TCPUDP adds -tcp/-udp)" if port.protocol == "TCPUDP" else ""
        yield document.error((*path, "name"), f"port name {port.name!r} {problem}{suffix}")
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
    if port.containerPort is not None and _port_number_problem(port.containerPort):
        yield document.error((*path, "containerPort"), f"containerPort: {_port_number_problem(port.containerPort)}")
    if port.hostPort is not None and policy in NUMBERED_POLICIES:
        yield document.error(
            (*path, "hostPort"),
            "HostPort cannot be specified with a Dynamic or Passthrough PortPolicy",
            "remove it, or use portPolicy: Static",
        )
    if port.hostPort is not None and policy == "None":
        yield document.error((*path, "hostPort"), "hostPort cannot be specified with portPolicy None")
    if policy == "Static":
        yield from _static_problems(port, document, path, pool, reserved)
    yield from _port_range_problems(port, document, path, pool)
    if port.container is not None and port.container not in containers:
        yield document.error(
            (*path, "container"),
            "Container must be empty or the name of a container in the pod template",
            did_you_mean(port.container, containers),
        )


def _static_problems(
    port: Port, document: Document, path: tuple, pool: NodePool, reserved: tuple[tuple[int, int], ...]
) -> Iterator[Diagnostic]:
    number = port.hostPort
    if number is None:
        yield document.error(path, "a Static port needs a hostPort", "add hostPort: <the port clients dial>")
        return
    if _port_number_problem(number):
        yield document.error((*path, "hostPort"), f"hostPort: {_port_number_problem(number)}")
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


def _port_range_problems(port: Port, document: Document, path: tuple, pool: NodePool) -> Iterator[Diagnostic]:
    ranges = pool.spec.portRanges
    if port.portPolicy in NUMBERED_POLICIES and port.range not in ranges:
        yield document.error(
            (*path, "range") if "range" in port.model_fields_set else path,
            f"range {port.range!r} is not a portRanges entry of pool {pool.metadata.name!r}",
            did_you_mean(port.range, ranges),
        )
    elif port.portPolicy not in NUMBERED_POLICIES and "range" in port.model_fields_set and port.range != DEFAULT_RANGE:
        yield document.error((*path, "range"), f"range has no meaning for a {port.portPolicy} port", "remove it")


def _template_problems(fleet: Fleet, document: Document, version: str) -> Iterator[Diagnostic]:
    template = fleet.spec.template
    base = ("spec", "template")
    problems = [
        document.error((*base, *p.path), p.message, p.hint, key=p.message.startswith("unknown field"))
        for p in kube.schema_problems(template, "podtemplatespec-v1.json", version)
    ]
    problems = problems or _template_shape_problems(template, document, base)
    if problems:
        yield from problems
        return
    spec = template["spec"]
    metadata = template.get("metadata") or {}
    for field in ("name", "generateName", "namespace"):
        if field in metadata:
            yield document.error(
                (*base, "metadata", field),
                f"template.metadata.{field} is set by fleetgen",
                "remove it: Pods are named <fleet>-<ordinal> in the pool's namespace",
                key=True,
            )
    for key in sorted(metadata.get("labels") or {}):
        if key.startswith(RESERVED_LABEL_PREFIX) or key == MANAGED_BY_LABEL:
            yield document.error(
                (*base, "metadata", "labels", key), f"label {key!r} is set by fleetgen", "remove it", key=True
            )
    yield from _template_spec_problems(spec, document, (*base, "spec"))


def _template_spec_problems(spec: dict[str, Any], document: Document, base: tuple) -> Iterator[Diagnostic]:
    if spec.get("hostNetwork") is True:
        yield document.error(
            (*base, "hostNetwork"),
            "hostNetwork is not allowed: fleetgen assigns hostPorts",
            "remove hostNetwork and declare the server's ports under spec.ports",
        )
    if "nodeName" in spec:
        yield document.error((*base, "nodeName"), "nodeName is set by fleetgen's allocator", "remove it", key=True)
    if spec.get("nodeSelector"):
        yield document.error(
            (*base, "nodeSelector"),
            "set node labels in the fleet's spec.nodeSelector",
            "fleetgen checks spec.nodeSelector against the pool's nodes; move it there",
            key=True,
        )
    for group in ("initContainers", "containers"):
        for index, container in enumerate(spec.get(group) or []):
            for port_index, port in enumerate(container.get("ports") or []):
                if isinstance(port, dict) and "hostPort" in port:
                    yield document.error(
                        (*base, group, index, "ports", port_index, "hostPort"),
                        "hostPort is not allowed in the template",
                        "declare the port in the fleet's spec.ports so fleetgen allocates it",
                    )


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


def _fleet_source(fleet: Fleet, document: Document) -> FleetSource:
    containers = _container_names(fleet.spec.template)
    container = fleet.spec.container or containers[0]
    cpu, memory = effective_requests(fleet.spec.template.get("spec", {}))
    return FleetSource(fleet, document, container, cpu, memory)


# --- Across pools --------------------------------------------------------------------------------------


def _cross_pool_problems(pools: list[PoolSource]) -> Iterator[Diagnostic]:
    node_home: dict[str, tuple[PoolSource, int]] = {}
    for pool in pools:
        for index, node in enumerate(pool.model.spec.nodes):
            if node.name in node_home and node_home[node.name][0] is not pool:
                other, other_index = node_home[node.name]
                line, _ = other.document.position(("spec", "nodes", other_index, "name"))
                yield pool.document.error(
                    ("spec", "nodes", index, "name"),
                    f"node {node.name!r} already belongs to pool {other.name!r} ({other.document.path}:{line})",
                    "a node belongs to one pool only",
                )
            node_home.setdefault(node.name, (pool, index))
    fleet_home: dict[tuple[str | None, str, str], tuple[PoolSource, FleetSource]] = {}
    for pool in pools:
        for fleet in pool.fleets:
            key = (pool.model.spec.cluster, pool.model.spec.namespace, fleet.name)
            if key in fleet_home and fleet_home[key][0] is not pool:
                other_pool, other = fleet_home[key]
                line, _ = other.document.position(("metadata", "name"))
                yield fleet.document.error(
                    ("metadata", "name"),
                    f"fleet {fleet.name!r} also exists in pool {other_pool.name!r} "
                    f"({other.document.path}:{line}), in the same namespace "
                    f"{key[1]!r}: their Pods would collide",
                    "rename one fleet or give the pools different namespaces",
                )
            else:
                fleet_home.setdefault(key, (pool, fleet))
