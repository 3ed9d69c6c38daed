"""Pool rules: what a NodePool itself gets wrong: names, port ranges, reserved ports, nodes and their labels.

Every rule reports through the document it read, so each message carries `file:line:column`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ..diagnostics import Diagnostic
from ..kube import api
from ..kube.quantity import parse_quantity
from .firewall_rules import firewall_problems
from .load import Document
from .model import NodePool


def pool_problems(pool: NodePool, document: Document, folder_name: str) -> Iterator[Diagnostic]:
    spec = pool.spec
    name = pool.metadata.name
    if name != folder_name:
        yield document.error(
            ("metadata", "name"),
            f"pool name {name!r} differs from its folder {folder_name!r}",
            f"rename the folder or set metadata.name: {folder_name}",
        )
    yield from name_problems(document, ("metadata", "name"), name, "pool name")
    yield from name_problems(document, ("spec", "namespace"), spec.namespace, "namespace")
    yield from _range_problems(pool, document)
    yield from _reserved_problems(pool, document)
    yield from _node_problems(pool, document)
    yield from _discovery_problems(pool, document)
    yield from firewall_problems(pool, document)
    if spec.unitSize < 1:
        yield document.error(("spec", "unitSize"), "unitSize must be at least 1")


def name_problems(document: Document, path: tuple, value: str, what: str) -> Iterator[Diagnostic]:
    problem = api.dns1123_label_problem(value)
    if problem:
        yield document.error(path, f"{what} {value!r} {problem}", "use a DNS-1123 label such as 'eu-west-1'")


def port_number_problem(value: int) -> str:
    return "" if 1 <= value <= 65535 else f"port {value} is outside 1-65535"


def _range_problems(pool: NodePool, document: Document) -> Iterator[Diagnostic]:
    spec = pool.spec
    node_ports = spec.nodePortRange
    spans = [("nodePortRange", ("spec", "nodePortRange"), node_ports.min, node_ports.max)]
    spans += [(f"portRanges.{n}", ("spec", "portRanges", n), r.min, r.max) for n, r in sorted(spec.portRanges.items())]
    for label, path, low, high in spans:
        for key, value in (("min", low), ("max", high)):
            if port_number_problem(value):
                yield document.error((*path, key), f"{label}.{key}: {port_number_problem(value)}")
        if low > high:
            yield document.error(path, f"{label}: min {low} is greater than max {high}", "swap them")
    for name in sorted(spec.portRanges):
        problem = api.dns1123_label_problem(name)
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


_SPAN_NOUNS = {"reservedPorts": "reserved", "nodeDaemonPorts": "node daemon"}
_SPAN_HINT = 'ports are 1-65535, the lower first: write 9100 or "9100-9110"'


def _reserved_problems(pool: NodePool, document: Document) -> Iterator[Diagnostic]:
    for field, noun in _SPAN_NOUNS.items():
        for index, entry in enumerate(getattr(pool.spec, field)):
            span = parse_span(entry)
            path = ("spec", field, index)
            if span is None:
                yield document.error(path, f"{noun} port {entry!r} is not a port number or an 'a-b' span", _SPAN_HINT)
            elif any(port_number_problem(p) for p in span) or span[0] > span[1]:
                yield document.error(path, f"{noun} span {entry!r} must be ports in 1-65535, low to high", _SPAN_HINT)


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


def reserved_spans(pool: NodePool, field: str = "reservedPorts") -> Iterator[tuple[int, int]]:
    """The valid spans of `field` (reservedPorts or nodeDaemonPorts)."""
    for entry in getattr(pool.spec, field):
        span = parse_span(entry)
        if span is not None and span[0] <= span[1]:
            yield span


def _node_problems(pool: NodePool, document: Document) -> Iterator[Diagnostic]:
    seen: dict[str, int] = {}
    addresses: dict[str, int] = {}
    for index, node in enumerate(pool.spec.nodes):
        path = ("spec", "nodes", index)
        problem = api.dns1123_subdomain_problem(node.name)
        if problem:
            yield document.error((*path, "name"), f"node name {node.name!r} {problem}")
        if node.name in seen:
            yield document.error(
                (*path, "name"), f"node {node.name!r} is listed twice (first as nodes[{seen[node.name]}])"
            )
        seen.setdefault(node.name, index)
        address = api.canonical_address(node.address)
        if address is None:
            yield document.error(
                (*path, "address"),
                f"address {node.address!r} is not an IPv4 or IPv6 address",
                "give the external address clients dial, e.g. 203.0.113.10 or 2001:db8::10",
            )
        elif address in addresses:
            first = addresses[address]
            other = pool.spec.nodes[first].name
            yield shared_address(document, path, node.name, document, ("spec", "nodes", first), other)
        else:
            addresses[address] = index
        yield from label_problems(document, (*path, "labels"), node.labels)
        yield from _capacity_problems(document, (*path, "capacity"), node.capacity)
        yield from _taint_problems(document, (*path, "taints"), node)


def _taint_problems(document: Document, path: tuple, node: Any) -> Iterator[Diagnostic]:
    """A taint's key and value follow label rules, and a node holds one taint per key and effect (as the API
    server has it)."""
    seen: dict[tuple[str, str], int] = {}
    for index, taint in enumerate(node.taints):
        problem = api.label_key_problem(taint.key)
        if problem:
            yield document.error((*path, index, "key"), f"taint key {taint.key!r}: {problem}")
        problem = api.label_value_problem(taint.value)
        if problem:
            yield document.error((*path, index, "value"), f"taint value {taint.value!r}: {problem}")
        first = seen.setdefault((taint.key, taint.effect), index)
        if first != index:
            yield document.error(
                (*path, index),
                f"node {node.name!r} has two {taint.effect} taints with key {taint.key!r} (first as taints[{first}])",
                "a node holds one taint per key and effect: keep one",
            )


def _discovery_problems(pool: NodePool, document: Document) -> Iterator[Diagnostic]:
    discovery = pool.spec.nodeDiscovery
    if discovery is None:
        return
    path = ("spec", "nodeDiscovery")
    if not discovery.selector:
        yield document.error(
            (*path, "selector"),
            "nodeDiscovery.selector is empty: it would take every Node of the cluster into the pool",
            "name the label of the cluster's node pool, e.g. {cloud.google.com/gke-nodepool: game-eu}",
        )
    yield from label_problems(document, (*path, "selector"), discovery.selector)
    for field in ("addressTypes", "copyLabels"):
        values = getattr(discovery, field)
        for index, value in enumerate(values):
            if value in values[:index]:
                yield document.error((*path, field, index), f"{field} lists {value!r} twice")
    if not discovery.addressTypes:
        yield document.error((*path, "addressTypes"), "addressTypes is empty", "write [ExternalIP] or [InternalIP]")
    for index, key in enumerate(discovery.copyLabels):
        problem = api.label_key_problem(key)
        if problem:
            yield document.error((*path, "copyLabels", index), f"copyLabels: {key!r}: {problem}")
    overhead = discovery.overhead
    if overhead.pods < 0:
        yield document.error((*path, "overhead", "pods"), "overhead.pods must not be negative")
    yield from _quantity_problems(document, (*path, "overhead"), overhead)


def shared_address(
    document: Document, path: tuple, name: str, other: Document, other_path: tuple, other_name: str, pool: str = ""
) -> Diagnostic:
    """Two nodes that clients reach at one address: their servers' `address:port` endpoints would clash."""
    line, column = other.position((*other_path, "address"))
    where = f" of pool {pool!r}" if pool else ""
    return document.error(
        (*path, "address"),
        f"node {name!r} has the address of node {other_name!r}{where} ({other.path}:{line}:{column}): "
        "their servers would hand out the same address:port endpoints",
        "give each node the external address that reaches it and no other node",
    )


def _capacity_problems(document: Document, path: tuple, capacity: Any) -> Iterator[Diagnostic]:
    if capacity.pods < 0:
        yield document.error((*path, "pods"), "capacity.pods must not be negative")
    yield from _quantity_problems(document, path, capacity)


def _quantity_problems(document: Document, path: tuple, amounts: Any) -> Iterator[Diagnostic]:
    """cpu and memory of a capacity or an overhead are Kubernetes quantities."""
    for field in ("cpu", "memory"):
        value = getattr(amounts, field)
        if value is not None and parse_quantity(value) is None:
            yield document.error(
                (*path, field),
                f"{field} {value!r} is not a Kubernetes quantity",
                'write e.g. cpu: "15500m" or memory: 60Gi',
            )


def label_problems(document: Document, path: tuple, labels: dict[str, str]) -> Iterator[Diagnostic]:
    for key, value in sorted(labels.items()):
        problem = api.label_key_problem(key)
        if problem:
            yield document.error((*path, key), f"{key!r}: {problem}", key=True)
        problem = api.label_value_problem(value)
        if problem:
            yield document.error((*path, key), f"{value!r}: {problem}")
