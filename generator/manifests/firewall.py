"""Firewall: a pool's allocated ports -> the objects that let exactly those ports in, per output.

fleetgen knows every port it handed out, so the firewall can open those and nothing else. A
NetworkPolicy sees traffic after the hostPort DNAT, so it opens container ports; cloud and host
firewalls see it before, so they open hostPorts. Ports are coalesced into contiguous ranges; where a
provider caps the number of rules or ranges, the smallest gaps are closed first, which opens the
fewest ports no server uses, and `plan` says how many that is. Each output can also be read back
(`grants`), which `plan` uses to say what a render opens and closes.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..allocation.spec import Allocation
from ..fleetfiles.model import (
    MANAGED_BY_LABEL,
    AwsOutput,
    AzureOutput,
    CalicoOutput,
    CiliumOutput,
    FirewallOutput,
    GcpOutput,
    NetworkPolicyOutput,
)
from ..fleetfiles.rules import PoolSource
from .render import MANAGER, POOL_LABEL, canonical

TCP, UDP = "TCP", "UDP"
PROTOCOLS = (TCP, UDP)
FIREWALL_LABEL = "fleetgen.dev/firewall"
NETWORK_POLICY = "networkPolicy"
CONTAINER_PORT_OUTPUTS = frozenset({NETWORK_POLICY})
GCP_NAME_LIMIT = 63  # Compute Engine resource names (RFC 1035)
AZURE_NAME_LIMIT = 80  # NSG rule names
CALICO_PORTS_PER_RULE = 50  # maxItems of destination.ports
CALICO_RULES = 1024  # maxItems of ingress
CILIUM_PORTS_PER_RULE = 40  # Cilium's maxPorts per toPorts entry
ANYWHERE = "*"

Span = tuple[int, int]
Ports = Mapping[str, frozenset[int]]


# --- Ranges under a quota ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fitted:
    """Ranges per protocol (ascending), and how many of their ports no server uses."""

    spans: dict[str, tuple[Span, ...]]
    extra: int

    @property
    def count(self) -> int:
        return sum(len(spans) for spans in self.spans.values())


def runs(ports: Iterable[int]) -> list[Span]:
    """The contiguous runs of `ports`, ascending."""
    spans: list[Span] = []
    for port in sorted(set(ports)):
        if spans and spans[-1][1] == port - 1:
            spans[-1] = (spans[-1][0], port)
        else:
            spans.append((port, port))
    return spans


def fit(ports: Ports, limit: int | None) -> Fitted:
    """The fewest ranges covering `ports`, at most `limit` of them over all protocols (when it allows one
    per protocol): the smallest gaps are closed first, ties in protocol and port order, so the fewest
    unused ports are opened and the same input always gives the same ranges."""
    spans = {protocol: runs(ports[protocol]) for protocol in sorted(ports) if ports[protocol]}
    surplus = sum(len(s) for s in spans.values()) - (limit if limit is not None else 0)
    if limit is None or surplus <= 0:
        return Fitted({p: tuple(s) for p, s in spans.items()}, 0)
    gaps = sorted((s[i + 1][0] - s[i][1] - 1, p, i) for p, s in spans.items() for i in range(len(s) - 1))
    closed = gaps[:surplus]
    joined = {(p, i) for _, p, i in closed}
    return Fitted({p: tuple(_join(s, p, joined)) for p, s in spans.items()}, sum(gap for gap, _, _ in closed))


def _join(spans: list[Span], protocol: str, joined: set[tuple[str, int]]) -> Iterator[Span]:
    low = spans[0][0]
    for index, (_, high) in enumerate(spans):
        if (protocol, index) not in joined:
            yield low, high
            if index + 1 < len(spans):
                low = spans[index + 1][0]


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def span_text(span: Span, separator: str = "-") -> str:
    low, high = span
    return str(low) if low == high else f"{low}{separator}{high}"


# --- What the pool uses --------------------------------------------------------------------------------


def _protocols(protocol: str) -> tuple[str, ...]:
    return PROTOCOLS if protocol == "TCPUDP" else (protocol,)


def used_ports(pool: PoolSource, allocation: Allocation) -> tuple[Ports, Ports]:
    """(hostPorts, container ports) of the pool's servers, per protocol. A node or cloud firewall sees
    the hostPort; a NetworkPolicy sees the traffic after the DNAT, on the container port: a Passthrough
    port listens on its hostPort, a None port has a containerPort and no hostPort."""
    held: dict[tuple[str, str], set[int]] = {}
    for fleet, ports in {(server.fleet, server.host_ports) for server in allocation.servers}:
        for name, number in ports:
            held.setdefault((fleet, name), set()).add(number)
    placed = {server.fleet for server in allocation.servers}
    host: dict[str, set[int]] = {protocol: set() for protocol in PROTOCOLS}
    container: dict[str, set[int]] = {protocol: set() for protocol in PROTOCOLS}
    for fleet in (fleet for fleet in pool.fleets if fleet.name in placed):
        for port in fleet.model.spec.ports:
            numbers = held.get((fleet.name, port.name), set())
            listening = numbers if port.portPolicy == "Passthrough" else {port.containerPort}
            for protocol in _protocols(port.protocol):
                host[protocol] |= numbers
                container[protocol].update(number for number in listening if number is not None)
    return _frozen(host), _frozen(container)


def _frozen(ports: dict[str, set[int]]) -> dict[str, frozenset[int]]:
    return {protocol: frozenset(numbers) for protocol, numbers in ports.items()}


# --- Objects -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Context:
    """What every output needs to know of the pool."""

    pool: str
    namespace: str
    sources: tuple[str, ...]  # IPv4 first, then IPv6, each sorted, normalized
    host: Ports
    container: Ports

    def family(self, version: int) -> tuple[str, ...]:
        return tuple(s for s in self.sources if ipaddress.ip_network(s).version == version)

    def families(self) -> list[tuple[str, tuple[str, ...]]]:
        return [(f"ipv{v}", self.family(v)) for v in (4, 6) if self.family(v)]

    def metadata(self, output: str, name: str, namespace: str | None = "", **extra: Any) -> dict[str, Any]:
        labels = {MANAGED_BY_LABEL: MANAGER, POOL_LABEL: self.pool, FIREWALL_LABEL: output}
        found = {"name": name, "labels": labels, **extra}
        if namespace is not None:
            found["namespace"] = namespace or self.namespace
        return found

    @property
    def base(self) -> str:
        return f"fleetgen-{self.pool}"

    @property
    def description(self) -> str:
        return f"Game server ports of node pool {self.pool}, written by fleetgen"


def source_ranges(ranges: Iterable[str]) -> tuple[str, ...]:
    """Normalized CIDRs, IPv4 first, without repeats (rules has refused the invalid ones)."""
    networks = {ipaddress.ip_network(text) for text in ranges}
    return tuple(str(n) for n in sorted(networks, key=lambda n: (n.version, n.network_address, n.prefixlen)))


def context(pool: PoolSource, allocation: Allocation) -> Context:
    spec = pool.model.spec
    sources = source_ranges(spec.firewall.sourceRanges)
    return Context(pool.name, spec.namespace, sources, *used_ports(pool, allocation))


def firewall_objects(pool: PoolSource, allocation: Allocation) -> list[dict[str, Any]]:
    """Every firewall object of the pool, in output order, canonical."""
    ctx = context(pool, allocation)
    found = []
    for output in pool.model.spec.firewall.outputs:
        kind, settings = output_kind(output)
        found += [canonical(obj) for obj in BUILDERS[kind](ctx, settings)]
    return found


def output_kind(output: FirewallOutput) -> tuple[str, Any]:
    """The one output an entry sets (rules has made sure there is exactly one)."""
    name = next(name for name in type(output).model_fields if getattr(output, name) is not None)
    return name, getattr(output, name)


def bounded(name: str, limit: int) -> str:
    """`name`, or when too long for the provider, its head and a short hash: still unique and stable."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:6]
    return f"{name[: limit - 7].rstrip('-')}-{digest}"


def _network_policy(ctx: Context, settings: NetworkPolicyOutput) -> list[dict[str, Any]]:
    entries = []
    for protocol, spans in fit(ctx.container, None).spans.items():
        for low, high in spans:
            if settings.endPort:
                entries.append({"protocol": protocol, "port": low, **({"endPort": high} if high > low else {})})
            else:
                entries += [{"protocol": protocol, "port": port} for port in range(low, high + 1)]
    peers = [{"ipBlock": {"cidr": cidr}} for cidr in ctx.sources]
    spec = {
        "podSelector": {"matchLabels": {POOL_LABEL: ctx.pool}},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": peers, "ports": entries}] if entries else [],
    }
    found = [_object("networking.k8s.io/v1", "NetworkPolicy", ctx.metadata(NETWORK_POLICY, ctx.base), spec)]
    if settings.defaultDeny:
        deny = {"podSelector": {}, "policyTypes": ["Ingress"]}
        metadata = ctx.metadata(NETWORK_POLICY, f"{ctx.base}-default-deny")
        found.append(_object("networking.k8s.io/v1", "NetworkPolicy", metadata, deny))
    return found


def _object(api_version: str, kind: str, metadata: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, "spec": spec}


def _gcp(ctx: Context, settings: GcpOutput) -> list[dict[str, Any]]:
    """One rule per IP family: a Compute Engine firewall rule holds IPv4 or IPv6 sources, not both."""
    fitted = fit(ctx.host, settings.maxPortRanges)
    allow = [{"protocol": p.lower(), "ports": [span_text(s) for s in spans]} for p, spans in fitted.spans.items()]
    annotations = {"cnrm.cloud.google.com/project-id": settings.projectId} if settings.projectId else {}
    found = []
    for family, cidrs in ctx.families() if allow else ():
        spec = {
            "networkRef": settings.networkRef.model_dump(exclude_none=True),
            "direction": "INGRESS",
            "priority": settings.priority,
            "sourceRanges": list(cidrs),
            "targetTags": list(settings.targetTags),
            "allow": allow,
            "description": ctx.description,
        }
        name = bounded(f"{ctx.base}-{family}", GCP_NAME_LIMIT)
        extra = {"annotations": annotations} if annotations else {}
        metadata = ctx.metadata("gcp", name, settings.namespace or "", **extra)
        found.append(_object("compute.cnrm.cloud.google.com/v1beta1", "ComputeFirewall", metadata, spec))
    return found


def aws_range_limit(ctx: Context, max_rules: int) -> int:
    """AWS counts a rule per (port range, CIDR), IPv4 and IPv6 separately: ranges that fit the quota."""
    return max_rules // max(len(ctx.family(4)), len(ctx.family(6)), 1)


def _aws(ctx: Context, settings: AwsOutput) -> list[dict[str, Any]]:
    """One security group, kept even when empty: instances refer to it, so deleting it would fail."""
    fitted = fit(ctx.host, aws_range_limit(ctx, settings.maxRules))
    v4, v6 = ctx.family(4), ctx.family(6)
    rules = []
    for protocol, spans in fitted.spans.items():
        for low, high in spans:
            rule: dict[str, Any] = {"ipProtocol": protocol.lower(), "fromPort": low, "toPort": high}
            if v4:
                rule["ipRanges"] = [{"cidrIP": cidr, "description": ctx.description} for cidr in v4]
            if v6:
                rule["ipv6Ranges"] = [{"cidrIPv6": cidr, "description": ctx.description} for cidr in v6]
            rules.append(rule)
    tags = [{"key": MANAGED_BY_LABEL, "value": MANAGER}, {"key": POOL_LABEL, "value": ctx.pool}]
    spec = {
        "name": settings.name or ctx.base,
        "description": ctx.description,
        "vpcID": settings.vpcID,
        "ingressRules": rules,
        "tags": tags,
    }
    metadata = ctx.metadata("aws", ctx.base, settings.namespace or "")
    return [_object("ec2.services.k8s.aws/v1alpha1", "SecurityGroup", metadata, spec)]


def _azure(ctx: Context, settings: AzureOutput) -> list[dict[str, Any]]:
    """One rule per protocol and IP family, at fixed priority offsets so that a rule keeps its priority."""
    found = []
    for offset, (protocol, family) in enumerate((p, f) for p in PROTOCOLS for f in ("ipv4", "ipv6")):
        spans = fit({protocol: ctx.host.get(protocol, frozenset())}, settings.maxPortRanges).spans.get(protocol)
        cidrs = ctx.family(int(family[-1]))
        if not spans or not cidrs:
            continue
        spec = {
            "owner": {"name": settings.owner},
            "access": "Allow",
            "direction": "Inbound",
            "priority": settings.basePriority + offset,
            "protocol": protocol.title(),
            "sourceAddressPrefixes": list(cidrs),
            "sourcePortRange": ANYWHERE,
            "destinationAddressPrefix": ANYWHERE,
            "destinationPortRanges": [span_text(span) for span in spans],
            "description": ctx.description,
        }
        name = bounded(f"{ctx.base}-{protocol.lower()}-{family}", AZURE_NAME_LIMIT)
        metadata = ctx.metadata("azure", name, settings.namespace or "")
        found.append(_object("network.azure.com/v1api20240301", "NetworkSecurityGroupsSecurityRule", metadata, spec))
    return found


def _calico(ctx: Context, settings: CalicoOutput) -> list[dict[str, Any]]:
    """Pre-DNAT, so the rules see the hostPort before kube-proxy or the portmap plugin rewrites it."""
    fitted = fit(ctx.host, CALICO_PORTS_PER_RULE * (CALICO_RULES - len(PROTOCOLS)))
    rules = [
        {
            "action": "Allow",
            "protocol": protocol,
            "source": {"nets": list(ctx.sources)},
            "destination": {"ports": [low if low == high else f"{low}:{high}" for low, high in chunk]},
        }
        for protocol, spans in fitted.spans.items()
        for chunk in _chunks(list(spans), CALICO_PORTS_PER_RULE)
    ]
    if not rules:
        return []
    spec = {
        "selector": settings.selector or f"{POOL_LABEL} == '{ctx.pool}'",
        "order": settings.order,
        "types": ["Ingress"],
        "preDNAT": True,
        "applyOnForward": True,
        "ingress": rules,
    }
    return [_object("projectcalico.org/v3", "GlobalNetworkPolicy", ctx.metadata("calico", ctx.base, None), spec)]


def _cilium(ctx: Context, settings: CiliumOutput) -> list[dict[str, Any]]:
    """Per-port entries unless the cluster's Cilium knows endPort (1.16): older ones drop it silently."""
    entries = []
    for protocol, spans in fit(ctx.host, None).spans.items():
        for low, high in spans:
            if settings.endPort:
                entries.append({"port": str(low), "protocol": protocol, **({"endPort": high} if high > low else {})})
            else:
                entries += [{"port": str(port), "protocol": protocol} for port in range(low, high + 1)]
    if not entries:
        return []
    spec: dict[str, Any] = {
        "description": ctx.description,
        "nodeSelector": {"matchLabels": dict(settings.nodeSelector or {POOL_LABEL: ctx.pool})},
        "ingress": [
            {"fromCIDR": list(ctx.sources), "toPorts": [{"ports": c} for c in _chunks(entries, CILIUM_PORTS_PER_RULE)]}
        ],
    }
    if not settings.defaultDeny:
        spec["enableDefaultDeny"] = {"ingress": False}
    metadata = ctx.metadata("cilium", ctx.base, None)
    return [_object("cilium.io/v2", "CiliumClusterwideNetworkPolicy", metadata, spec)]


BUILDERS: dict[str, Callable[[Context, Any], list[dict[str, Any]]]] = {
    NETWORK_POLICY: _network_policy,
    "gcp": _gcp,
    "aws": _aws,
    "azure": _azure,
    "calico": _calico,
    "cilium": _cilium,
}
