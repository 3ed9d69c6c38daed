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
    PROTOCOLS,
    Ports,
    context,
    output_kind,
    runs,
    span_text,
)

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
LISTED_RANGES = 8
ANY = "ANY"  # a rule that names no protocol
EVERY_PORT = (1, 65535)  # what a rule that names no port opens

Grant = tuple[str, int, int, tuple[str, ...]]  # protocol, first port, last port, sources


@dataclass(frozen=True, slots=True)
class Opening:
    """What one output lets in: ports per protocol, and the sources they are open to."""

    ports: dict[str, frozenset[int]] = field(default_factory=dict)
    sources: frozenset[str] = frozenset()


def openings(objects: Iterable[dict[str, Any]]) -> dict[str, Opening]:
    """output -> what its objects let in, for objects fleetgen labelled as firewall objects."""
    ports: dict[str, dict[str, set[int]]] = {}
    sources: dict[str, set[str]] = {}
    for obj in objects:
        output = ((obj.get("metadata") or {}).get("labels") or {}).get(FIREWALL_LABEL)
        if output is None or obj.get("kind") not in READERS:
            continue
        found = ports.setdefault(output, {})
        seen = sources.setdefault(output, set())
        for protocol, low, high, origin in READERS[obj["kind"]](obj.get("spec") or {}):
            found.setdefault(protocol, set()).update(range(low, high + 1))
            seen.update(origin)
    return {
        output: Opening({p: frozenset(n) for p, n in sorted(ports[output].items())}, frozenset(sources[output]))
        for output in sorted(ports)
    }


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
        sources = tuple(peer.get("ipBlock", {}).get("cidr", ANYWHERE) for peer in rule.get("from") or [{}])
        for entry in rule.get("ports") or [{"protocol": ANY, "port": 1, "endPort": EVERY_PORT[1]}]:
            yield entry.get("protocol", "TCP"), entry["port"], entry.get("endPort", entry["port"]), sources


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


def used_by(output: str, host: Ports, container: Ports) -> Ports:
    """The ports an output must open: container ports for a NetworkPolicy, hostPorts for the others."""
    return container if output in CONTAINER_PORT_OUTPUTS else host


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
        for protocol in sorted({*before.ports, *after.ports}):
            was, now = before.ports.get(protocol, frozenset()), after.ports.get(protocol, frozenset())
            lines += [f"{output}: open {protocol} {ranges_text(now - was)}"] if now - was else []
            lines += [f"{output}: close {protocol} {ranges_text(was - now)}"] if was - now else []
        lines += [f"{output}: allow from {s}" for s in sorted(after.sources - before.sources)]
        lines += [f"{output}: no longer from {s}" for s in sorted(before.sources - after.sources)]
    return tuple(lines)


def unused(new: Mapping[str, Opening], host: Ports, container: Ports) -> tuple[str, ...]:
    """Per output, how many open ports no server uses: what fitting a provider's quota cost."""
    lines = []
    for output, opening in sorted(new.items()):
        used = used_by(output, host, container)
        extra = sum(len(ports - used.get(protocol, frozenset())) for protocol, ports in opening.ports.items())
        if extra:
            lines.append(f"{output}: {extra} open port{'s' if extra != 1 else ''} no server uses (to fit the quota)")
    return tuple(lines)


def coverage_problems(
    objects: Iterable[dict[str, Any]], outputs: Iterable[str], sources: Iterable[str], host: Ports, container: Ports
) -> Iterator[str]:
    """Broken firewall guarantees: a used port an output leaves closed, or a source nobody allowed."""
    found = openings(objects)
    allowed = set(sources)
    for output in sorted(set(outputs)):
        opening = found.get(output, Opening())
        for protocol, ports in sorted(used_by(output, host, container).items()):
            missing = ports - opening.ports.get(protocol, frozenset())
            if missing:
                yield f"firewall output {output} leaves used {protocol} ports closed: {ranges_text(missing)}"
        for protocol in sorted(set(opening.ports) - set(PROTOCOLS)):
            yield f"firewall output {output} opens {protocol} {ranges_text(opening.ports[protocol])}"
        if opening.sources - allowed:
            yield f"firewall output {output} lets in {', '.join(sorted(opening.sources - allowed))}"


def pool_coverage_problems(pool: PoolSource, allocation: Allocation, objects: Iterable[dict[str, Any]]) -> list[str]:
    """`coverage_problems` for a pool's rendered objects and its configured outputs."""
    ctx = context(pool, allocation)
    outputs = [output_kind(output)[0] for output in pool.model.spec.firewall.outputs]
    return list(coverage_problems(objects, outputs, ctx.sources, ctx.host, ctx.container))


def unused_ports(pool: PoolSource, allocation: Allocation, objects: Iterable[dict[str, Any]]) -> tuple[str, ...]:
    """`unused` for a pool's rendered objects: what plan says of its firewall when nothing changes."""
    ctx = context(pool, allocation)
    return unused(openings(objects), ctx.host, ctx.container)


@dataclass(frozen=True, slots=True)
class FirewallPlan:
    """What a render changes in a pool's firewall, and what quotas cost, as lines for people."""

    changes: tuple[str, ...] = ()
    unused: tuple[str, ...] = ()


def firewall_plan(
    pool: PoolSource, allocation: Allocation, old_manifest: bytes | None, new_manifest: bytes | None
) -> FirewallPlan:
    """The pool's network manifest on disk against the one a render would write."""
    ctx = context(pool, allocation)
    new = manifest_openings(new_manifest)
    return FirewallPlan(changes(manifest_openings(old_manifest), new), unused(new, ctx.host, ctx.container))
