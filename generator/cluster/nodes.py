"""Nodes: the cluster's Node objects -> the plain facts a pool's node entry is made of.

A pool's discovery settings come in as plain values (a label selector, address types, an IP family,
label keys, an overhead), so that this module knows Kubernetes' Node and nothing of fleet files. Every
problem names the Node and the field, and only the Nodes the selector picks are read closely: a broken
Node of another pool is not this pool's business.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..diagnostics import Diagnostic, error, has_errors, warning
from ..kube import api
from ..kube.quantity import parse_quantity, to_bytes, to_millicores
from ..kube.taints import REPELLING, Taint
from .kubectl import KubeObject, Objects

HOSTNAME_LABEL = "kubernetes.io/hostname"
CONDITION_TAINTS = "node.kubernetes.io/"
"""Taints the node lifecycle controller sets from a Node's conditions (not-ready, unreachable, unschedulable,
memory-pressure, ...): `unschedulable` and the Ready condition already say what matters of them, and the
pressure ones come and go with load, which would move servers back and forth."""
DEFAULT_PODS = 110
"""The kubelet's default maxPods, for a Node that reports no allocatable pods."""


@dataclass(frozen=True, slots=True)
class Discovery:
    """Which Nodes belong to a pool and how their facts are read; plain values from its nodeDiscovery."""

    selector: tuple[tuple[str, str], ...]
    address_types: tuple[str, ...] = ("ExternalIP",)
    ip_family: str | None = None  # "IPv4", "IPv6", or None: the first address of the first type that has one
    copy_labels: tuple[str, ...] = ()
    overhead_pods: int = 0
    overhead_cpu_milli: int = 0
    overhead_memory_bytes: int = 0

    def picks(self, labels: Mapping[str, Any]) -> bool:
        return all(labels.get(key) == value for key, value in self.selector)

    @property
    def selector_text(self) -> str:
        return ",".join(f"{key}={value}" for key, value in self.selector)


@dataclass(frozen=True, slots=True)
class NodeFacts:
    """What a pool's node entry takes from one Node; capacity already less the overhead."""

    name: str
    label: str  # how messages name the Node: `Node NAME (items[3])`
    address: str
    hostname: str | None  # its kubernetes.io/hostname label, which a nodeSelector pin must match
    labels: tuple[tuple[str, str], ...]  # the copied keys it carries, in copyLabels order
    pods: int
    cpu_milli: int | None
    memory_bytes: int | None
    unschedulable: tuple[str, ...]  # why it takes no servers; () when it does
    taints: tuple[Taint, ...]  # NoSchedule and NoExecute, sorted


@dataclass(frozen=True, slots=True)
class Discovered:
    """The Nodes a pool's selector picks, in name order, and what is wrong with them."""

    nodes: tuple[NodeFacts, ...]
    diagnostics: tuple[Diagnostic, ...]
    listed: frozenset[str]  # the name of every Node in the list, picked or not


@dataclass(frozen=True, slots=True)
class NodeList:
    """A Node list with its Nodes indexed by label, read once, so that each of many pools finds its own
    Nodes by one lookup (50 pools of a 5,000-Node list: 5,000 label reads, not 250,000)."""

    read: Objects
    names: frozenset[str]  # the name of every Node in the list, picked or not
    by_label: dict[tuple[str, str], list[KubeObject]]  # (key, value) -> the Nodes carrying it, in list order

    @classmethod
    def of(cls, read: Objects) -> NodeList:
        by_label: dict[tuple[str, str], list[KubeObject]] = {}
        for obj in read.objects:
            for pair in _plain_labels(obj).items():
                if isinstance(pair[1], str):
                    by_label.setdefault(pair, []).append(obj)
        return cls(read, frozenset(obj.name for obj in read.objects), by_label)

    def picked(self, discovery: Discovery) -> list[KubeObject]:
        """The Nodes the selector picks, in list order."""
        if not discovery.selector:
            return list(self.read.objects)
        candidates = self.by_label.get(discovery.selector[0], [])
        return [obj for obj in candidates if discovery.picks(_plain_labels(obj))]


def discover(nodes: NodeList | Objects, discovery: Discovery) -> Discovered:
    """The facts of every Node of the list that the selector picks, and the problems of those Nodes."""
    listed = nodes if isinstance(nodes, NodeList) else NodeList.of(nodes)
    found = Objects(listed.read.source, listed.read.objects)  # problems of this pool's Nodes only
    picked = listed.picked(discovery)
    facts = [fact for obj in sorted(picked, key=_name) if (fact := _facts(found, obj, discovery)) is not None]
    return Discovered(tuple(facts), (*found.diagnostics, *_shared_addresses(found, facts)), listed.names)


def _name(obj: KubeObject) -> str:
    return obj.name


def _plain_labels(obj: KubeObject) -> Mapping[str, Any]:
    """The labels of any Node, unchecked: a Node that is not picked is not this pool's to complain about."""
    metadata = obj.body.get("metadata")
    labels = metadata.get("labels") if isinstance(metadata, dict) else None
    return labels if isinstance(labels, dict) else {}


def _facts(found: Objects, obj: KubeObject, discovery: Discovery) -> NodeFacts | None:
    before = len(found.diagnostics)
    problem = api.dns1123_subdomain_problem(obj.name)
    if problem:
        found.problem(obj, f"metadata.name {problem}", "a Node's name is a DNS subdomain; pass the list unedited")
    labels = _plain_labels(obj)
    address = _address(found, obj, discovery)
    pods, cpu, memory = _allocatable(found, obj, discovery)
    why = tuple(_unschedulable(found, obj))
    taints = tuple(sorted(_taints(found, obj)))
    if has_errors(found.diagnostics[before:]) or address is None:
        return None
    hostname = labels.get(HOSTNAME_LABEL)
    return NodeFacts(
        name=obj.name,
        label=obj.label,
        address=address,
        hostname=hostname if isinstance(hostname, str) else None,
        labels=tuple((key, labels[key]) for key in discovery.copy_labels if isinstance(labels.get(key), str)),
        pods=pods,
        cpu_milli=cpu,
        memory_bytes=memory,
        unschedulable=why,
        taints=taints,
    )


# --- Address -------------------------------------------------------------------------------------------


_ADDRESS_HINT = (
    "set spec.nodeDiscovery.addressTypes to what the Nodes report: [InternalIP] for bare metal or a private "
    "network; AKS reports an ExternalIP only for node pools with node public IPs"
)


def _address(found: Objects, obj: KubeObject, discovery: Discovery) -> str | None:
    """The first address of the first asked type (of the asked IP family), canonical."""
    entries = [e for e in found.get(obj, "status.addresses", list, []) or [] if isinstance(e, dict)]
    for wanted in discovery.address_types:
        for entry in entries:
            if entry.get("type") != wanted:
                continue
            text = entry.get("address")
            try:
                address = ipaddress.ip_address(text if isinstance(text, str) else "")
            except ValueError:
                found.problem(obj, f"status.addresses: {wanted} {text!r} is not an IP address", _ADDRESS_HINT)
                return None
            if discovery.ip_family is None or f"IPv{address.version}" == discovery.ip_family:
                return str(address)
    asked = " or ".join(discovery.address_types) + (f" {discovery.ip_family}" if discovery.ip_family else "")
    held = ", ".join(f"{e.get('type')} {e.get('address')}" for e in entries) or "none"
    found.problem(obj, f"status.addresses has no {asked} address (it has: {held})", _ADDRESS_HINT)
    return None


def _shared_addresses(found: Objects, facts: list[NodeFacts]) -> Iterator[Diagnostic]:
    first: dict[str, NodeFacts] = {}
    for fact in facts:
        other = first.setdefault(fact.address, fact)
        if other is not fact:
            message = (
                f"{fact.label}: has the address {fact.address} of {other.label}: their servers would hand out "
                "the same address:port endpoints"
            )
            yield error(found.source, 0, 0, message, "choose addressTypes that give each Node its own address")


# --- Capacity ------------------------------------------------------------------------------------------


def _allocatable(found: Objects, obj: KubeObject, discovery: Discovery) -> tuple[int, int | None, int | None]:
    """pods, cpu and memory that the Node reports as allocatable, less the overhead (never below 0)."""
    allocatable = found.get(obj, "status.allocatable", dict, {}) or {}
    pods = _amount(found, obj, allocatable, "pods", int)
    cpu = _amount(found, obj, allocatable, "cpu", to_millicores)
    memory = _amount(found, obj, allocatable, "memory", to_bytes)
    figures = (
        ("pods", DEFAULT_PODS if pods is None else pods, discovery.overhead_pods),
        ("cpu", cpu, discovery.overhead_cpu_milli),
        ("memory", memory, discovery.overhead_memory_bytes),
    )
    left = []
    for resource, amount, overhead in figures:
        if amount is not None and overhead > amount:
            message = f"{obj.label}: nodeDiscovery.overhead.{resource} is more than its allocatable {resource}"
            found.diagnostics.append(warning(found.source, 0, 0, message, "its capacity is 0; lower the overhead"))
        left.append(None if amount is None else max(amount - overhead, 0))
    return left[0] or 0, left[1], left[2]


def _amount(found: Objects, obj: KubeObject, allocatable: Mapping[str, Any], resource: str, unit: Any) -> int | None:
    value = allocatable.get(resource)
    if value is None:
        return None
    amount = parse_quantity(value) if isinstance(value, str | int) else None
    if amount is None or (unit is int and amount != int(amount)):
        found.problem(obj, f"status.allocatable.{resource} {value!r} is not a quantity", "pass the list unedited")
        return None
    return unit(amount)


# --- Schedulable -----------------------------------------------------------------------------------------


def _unschedulable(found: Objects, obj: KubeObject) -> Iterator[str]:
    """Why the Node takes no new Pods: cordoned, or its Ready condition is not True."""
    if found.get(obj, "spec.unschedulable", bool, False):
        yield "cordoned in the cluster (spec.unschedulable)"
    conditions = [c for c in found.get(obj, "status.conditions", list, []) or [] if isinstance(c, dict)]
    ready = next((c for c in conditions if c.get("type") == "Ready"), None)
    if ready is None:
        yield "it reports no Ready condition"
    elif ready.get("status") != "True":
        reason = ready.get("reason") or ready.get("message")
        yield f"Ready is {ready.get('status')}" + (f" ({reason})" if reason else "")


def _taints(found: Objects, obj: KubeObject) -> Iterator[Taint]:
    for index, entry in enumerate(found.get(obj, "spec.taints", list, []) or []):
        key, value, effect = (entry.get(f) if isinstance(entry, dict) else None for f in ("key", "value", "effect"))
        if not isinstance(key, str) or not isinstance(effect, str) or not isinstance(value, str | None):
            found.problem(obj, f"spec.taints[{index}] must have a key and an effect", "pass the list unedited")
        elif effect in REPELLING and not key.startswith(CONDITION_TAINTS):
            yield Taint(key, value or "", effect)
