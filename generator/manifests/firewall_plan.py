"""Firewall plan: firewall objects -> what each output lets in, and what a render opens and closes.

A reader takes a rule as its provider does: a rule that names no port or no source opens every port
or lets everyone in, so a mistake in a builder shows up as more than the pool uses.

Reading the objects back, rather than recomputing them from the lock, makes `plan` describe what the
cluster will actually see, settings changes included, and lets `verify` check the built objects
against the ports the allocation uses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..allocation.spec import Allocation
from ..fleetfiles.rules import PoolSource
from .firewall import (
    ANYWHERE,
    CONTAINER_PORT_OUTPUTS,
    FIREWALL_LABEL,
    IN_CLUSTER_PREFIX,
    NAMESPACE_NAME_LABEL,
    PROTOCOLS,
    Context,
    context,
    namespace_source,
    output_kind,
)
from .port_spans import Ports, runs, span_text

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
LISTED_RANGES = 8
ANY = "ANY"  # a rule that names no protocol
EVERY_PORT = (1, 65535)  # what a rule that names no port opens
IN_CLUSTER_ONLY = " from inside the cluster only"

Grant = tuple[str, int, int, tuple[str, ...]]  # protocol, first port, last port, sources


@dataclass(frozen=True, slots=True)
class Opening:
    """What one output lets in: ports per protocol open to anything outside the cluster (a CIDR, or
    everyone), ports open only to in-cluster sources (`internal`), and every source named."""

    ports: dict[str, frozenset[int]] = field(default_factory=dict)
    sources: frozenset[str] = frozenset()
    internal: dict[str, frozenset[int]] = field(default_factory=dict)


def in_cluster(source: str) -> bool:
    return source.startswith(IN_CLUSTER_PREFIX)


def openings(objects: Iterable[dict[str, Any]]) -> dict[str, Opening]:
    """output -> what its objects let in, for objects fleetgen labelled as firewall objects."""
    outside: dict[str, dict[str, set[int]]] = {}
    inside: dict[str, dict[str, set[int]]] = {}
    sources: dict[str, set[str]] = {}
    for obj in objects:
        output = ((obj.get("metadata") or {}).get("labels") or {}).get(FIREWALL_LABEL)
        if output is None or obj.get("kind") not in READERS:
            continue
        outside.setdefault(output, {})
        seen = sources.setdefault(output, set())
        for protocol, low, high, origin in READERS[obj["kind"]](obj.get("spec") or {}):
            audience = inside if all(in_cluster(source) for source in origin) else outside
            audience.setdefault(output, {}).setdefault(protocol, set()).update(range(low, high + 1))
            seen.update(origin)
    found = {}
    for output in sorted(outside):
        ports = outside[output]
        internal = {p: n - ports.get(p, set()) for p, n in inside.get(output, {}).items()}
        found[output] = Opening(_sorted_ports(ports), frozenset(sources[output]), _sorted_ports(internal))
    return found


def _sorted_ports(ports: Mapping[str, set[int]]) -> dict[str, frozenset[int]]:
    return {protocol: frozenset(numbers) for protocol, numbers in sorted(ports.items()) if numbers}


def manifest_openings(text: bytes | None) -> dict[str, Opening]:
    """Openings of the firewall documents of a network manifest; the rest is not even parsed."""
    if not text:
        return {}
    label = FIREWALL_LABEL.encode()
    documents = [doc for doc in text.split(b"\n---\n") if label in doc]
    return openings(obj for doc in documents if isinstance(obj := yaml.load(doc, Loader=_LOADER), dict))


def _span(text: Any, separator: str) -> tuple[int, int]:
    """A port, a range written with `separator`, or "*" (every port, as Azure writes it)."""
    if text == ANYWHERE:
        return EVERY_PORT
    low, _, high = str(text).partition(separator)
    return int(low), int(high or low)


def _read_network_policy(spec: dict[str, Any]) -> Iterator[Grant]:
    for rule in spec.get("ingress") or []:
        sources = tuple(_peer_source(peer) for peer in rule.get("from") or [{}])
        for entry in rule.get("ports") or [{"protocol": ANY, "port": 1, "endPort": EVERY_PORT[1]}]:
            yield entry.get("protocol", "TCP"), entry["port"], entry.get("endPort", entry["port"]), sources


def _peer_source(peer: dict[str, Any]) -> str:
    """An ipBlock's CIDR (its `except` narrows it, so reading the CIDR is the wider view); every Pod of one
    namespace; or, for any other peer (all namespaces, a Pod selector), everyone, so as to err wide."""
    if "ipBlock" in peer:
        return peer["ipBlock"].get("cidr", ANYWHERE)
    selector = peer.get("namespaceSelector") or {}
    labels = selector.get("matchLabels") or {}
    if (
        set(peer) == {"namespaceSelector"}
        and set(selector) == {"matchLabels"}
        and set(labels) == {NAMESPACE_NAME_LABEL}
    ):
        return namespace_source(labels[NAMESPACE_NAME_LABEL])
    return ANYWHERE


def _read_gcp(spec: dict[str, Any]) -> Iterator[Grant]:
    sources = tuple(spec.get("sourceRanges") or [ANYWHERE])
    for allow in spec.get("allow") or []:
        for text in allow.get("ports") or [ANYWHERE]:
            yield (allow["protocol"].upper(), *_span(text, "-"), sources)


def _read_aws(spec: dict[str, Any]) -> Iterator[Grant]:
    for rule in spec.get("ingressRules") or []:
        v4 = [entry["cidrIP"] for entry in rule.get("ipRanges") or []]
        v6 = [entry["cidrIPv6"] for entry in rule.get("ipv6Ranges") or []]
        yield rule["ipProtocol"].upper(), rule["fromPort"], rule["toPort"], (*v4, *v6)


def _read_azure(spec: dict[str, Any]) -> Iterator[Grant]:
    sources = tuple(spec.get("sourceAddressPrefixes") or [spec.get("sourceAddressPrefix", ANYWHERE)])
    for text in spec.get("destinationPortRanges") or [spec.get("destinationPortRange", ANYWHERE)]:
        yield (spec["protocol"].upper(), *_span(text, "-"), sources)


def _read_calico(spec: dict[str, Any]) -> Iterator[Grant]:
    for rule in spec.get("ingress") or []:
        sources = tuple((rule.get("source") or {}).get("nets") or [ANYWHERE])
        for port in (rule.get("destination") or {}).get("ports") or [ANYWHERE]:
            yield (rule.get("protocol", ANY), *_span(port, ":"), sources)


def _read_cilium(spec: dict[str, Any]) -> Iterator[Grant]:
    for rule in spec.get("ingress") or []:
        sources = tuple(rule.get("fromCIDR") or [ANYWHERE])
        every = [{"ports": [{"port": "0"}]}]
        for entry in (port for to in rule.get("toPorts") or every for port in to.get("ports") or every[0]["ports"]):
            low = int(entry["port"])
            high = entry.get("endPort", low) if low else EVERY_PORT[1]
            yield entry.get("protocol", ANY), max(low, 1), high, sources


READERS: dict[str, Callable[[dict[str, Any]], Iterator[Grant]]] = {
    "NetworkPolicy": _read_network_policy,
    "ComputeFirewall": _read_gcp,
    "SecurityGroup": _read_aws,
    "NetworkSecurityGroupsSecurityRule": _read_azure,
    "GlobalNetworkPolicy": _read_calico,
    "CiliumClusterwideNetworkPolicy": _read_cilium,
}


def used_by(output: str, ctx: Context) -> Ports:
    """The ports an output must open to sourceRanges: container ports behind a hostPort for a
    NetworkPolicy, hostPorts for the others."""
    return ctx.container if output in CONTAINER_PORT_OUTPUTS else ctx.host


def ranges_text(ports: Iterable[int]) -> str:
    spans = runs(ports)
    shown = ", ".join(span_text(span) for span in spans[:LISTED_RANGES])
    more = f", ... {len(spans) - LISTED_RANGES} more ranges" if len(spans) > LISTED_RANGES else ""
    count = sum(high - low + 1 for low, high in spans)
    return f"{shown}{more} ({count} port{'s' if count != 1 else ''})"


def changes(old: Mapping[str, Opening], new: Mapping[str, Opening]) -> tuple[str, ...]:
    """Ranges each output opens and closes, and sources it adds and drops, from `old` to `new`."""
    lines = []
    empty = Opening()
    for output in sorted({*old, *new}):
        before, after = old.get(output, empty), new.get(output, empty)
        lines += _port_changes(output, before.ports, after.ports, "")
        lines += _port_changes(output, before.internal, after.internal, IN_CLUSTER_ONLY)
        lines += [f"{output}: allow from {s}" for s in sorted(after.sources - before.sources)]
        lines += [f"{output}: no longer from {s}" for s in sorted(before.sources - after.sources)]
    return tuple(lines)


def _port_changes(output: str, before: Ports, after: Ports, audience: str) -> list[str]:
    lines = []
    for protocol in sorted({*before, *after}):
        was, now = before.get(protocol, frozenset()), after.get(protocol, frozenset())
        lines += [f"{output}: open {protocol} {ranges_text(now - was)}{audience}"] if now - was else []
        lines += [f"{output}: close {protocol} {ranges_text(was - now)}{audience}"] if was - now else []
    return lines


def unused(new: Mapping[str, Opening], ctx: Context) -> tuple[str, ...]:
    """Per output, how many open ports no server uses: what fitting a provider's quota cost."""
    lines = []
    for output, opening in sorted(new.items()):
        used = used_by(output, ctx)
        extra = sum(len(ports - used.get(protocol, frozenset())) for protocol, ports in opening.ports.items())
        if extra:
            lines.append(f"{output}: {extra} open port{'s' if extra != 1 else ''} no server uses (to fit the quota)")
    return tuple(lines)


def coverage_problems(objects: Iterable[dict[str, Any]], outputs: Iterable[str], ctx: Context) -> Iterator[str]:
    """Broken firewall guarantees: a used port an output leaves closed, a None port open beyond the
    cluster, or a source nobody allowed."""
    found = openings(objects)
    allowed = {*ctx.sources, ctx.namespace_source}
    for output in sorted(set(outputs)):
        opening = found.get(output, Opening())
        for protocol, ports in sorted(used_by(output, ctx).items()):
            missing = ports - opening.ports.get(protocol, frozenset())
            if missing:
                yield f"firewall output {output} leaves used {protocol} ports closed: {ranges_text(missing)}"
        if output in CONTAINER_PORT_OUTPUTS:
            yield from _internal_problems(output, opening, ctx)
        for protocol in sorted(set(opening.ports) - set(PROTOCOLS)):
            yield f"firewall output {output} opens {protocol} {ranges_text(opening.ports[protocol])}"
        if opening.sources - allowed:
            yield f"firewall output {output} lets in {', '.join(sorted(opening.sources - allowed))}"


def _internal_problems(output: str, opening: Opening, ctx: Context) -> Iterator[str]:
    """None ports: open to the pool's namespace, and to nothing outside the cluster unless another
    fleet of the pool exposes the same number (then its own policy keeps it off these Pods)."""
    exposed = ctx.container
    for protocol, ports in sorted(ctx.internal.items()):
        public = opening.ports.get(protocol, frozenset())
        missing = ports - opening.internal.get(protocol, frozenset()) - public
        if missing:
            yield f"firewall output {output} leaves None {protocol} ports closed to the cluster: {ranges_text(missing)}"
        leaked = (ports - exposed.get(protocol, frozenset())) & public
        if leaked:
            yield f"firewall output {output} opens None {protocol} ports beyond the cluster: {ranges_text(leaked)}"


def pool_coverage_problems(pool: PoolSource, allocation: Allocation, objects: Iterable[dict[str, Any]]) -> list[str]:
    """`coverage_problems` for a pool's rendered objects and its configured outputs."""
    outputs = [output_kind(output)[0] for output in pool.model.spec.firewall.outputs]
    return list(coverage_problems(objects, outputs, context(pool, allocation)))


def unused_ports(pool: PoolSource, allocation: Allocation, objects: Iterable[dict[str, Any]]) -> tuple[str, ...]:
    """`unused` for a pool's rendered objects: what plan says of its firewall when nothing changes."""
    return unused(openings(objects), context(pool, allocation))


@dataclass(frozen=True, slots=True)
class FirewallPlan:
    """What a render changes in a pool's firewall, and what quotas cost, as lines for people."""

    changes: tuple[str, ...] = ()
    unused: tuple[str, ...] = ()


def firewall_plan(
    pool: PoolSource, allocation: Allocation, old_manifest: bytes | None, new_manifest: bytes | None
) -> FirewallPlan:
    """The pool's network manifest on disk against the one a render would write."""
    new = manifest_openings(new_manifest)
    return FirewallPlan(changes(manifest_openings(old_manifest), new), unused(new, context(pool, allocation)))
