"""Firewall: a pool's allocated ports -> the objects that let exactly those ports in, per output.

fleetgen knows every port it handed out, so the firewall can open those and nothing else. A
NetworkPolicy sees traffic after the hostPort DNAT, so it opens container ports, per fleet; cloud and
host firewalls see it before, so they open hostPorts. Only a port that carries a hostPort faces the
pool's sourceRanges: a None port is reachable only at its Pod's IP, so the NetworkPolicy opens it to
the Pods of the pool's namespace, and the outputs that filter traffic to the nodes never open it.
Ports are coalesced into contiguous ranges (`port_spans`). Each output can also be read back
(`firewall_plan`), which `plan` uses to say what a render opens and closes.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Callable, Iterable
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
from .port_spans import Ports, chunks, fit, span_text
from .render import FLEET_LABEL, MANAGER, POOL_LABEL, canonical

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
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"  # set by the API server on every Namespace
IN_CLUSTER_PREFIX = "namespace "

# --- What the pool uses --------------------------------------------------------------------------------


def _protocols(protocol: str) -> tuple[str, ...]:
    return PROTOCOLS if protocol == "TCPUDP" else (protocol,)


@dataclass(frozen=True, slots=True)
class FleetPorts:
    """The ports a fleet's Pods listen on, as a NetworkPolicy sees them (after the hostPort DNAT):
    `exposed` carry a hostPort and face the pool's sourceRanges; `internal` are None ports, with a
    containerPort and no hostPort, reachable only at the Pod's IP, so only from inside the cluster."""

    fleet: str
    exposed: Ports
    internal: Ports


def used_ports(pool: PoolSource, allocation: Allocation) -> tuple[Ports, tuple[FleetPorts, ...]]:
    """The hostPorts of the pool's servers per protocol (what a node or cloud firewall sees), and each
    placed fleet's container ports. A Passthrough port listens on its hostPort."""
    held: dict[tuple[str, str], set[int]] = {}
    placed: set[str] = set()
    for fleet, ports in {(server.fleet, server.host_ports) for server in allocation.servers}:
        placed.add(fleet)
        for name, number in ports:
            held.setdefault((fleet, name), set()).add(number)
    host: dict[str, set[int]] = {protocol: set() for protocol in PROTOCOLS}
    fleets = []
    for fleet in (fleet for fleet in pool.fleets if fleet.name in placed):
        exposed: dict[str, set[int]] = {protocol: set() for protocol in PROTOCOLS}
        internal: dict[str, set[int]] = {protocol: set() for protocol in PROTOCOLS}
        for port in fleet.model.spec.ports:
            numbers = held.get((fleet.name, port.name), set())
            listening = numbers if port.portPolicy == "Passthrough" else {port.containerPort}
            for protocol in _protocols(port.protocol):
                host[protocol] |= numbers
                facing = internal if port.portPolicy == "None" else exposed
                facing[protocol].update(number for number in listening if number is not None)
        fleets.append(FleetPorts(fleet.name, _frozen(exposed), _frozen(internal)))
    return _frozen(host), tuple(fleets)


def union(ports: Iterable[Ports]) -> Ports:
    found: dict[str, set[int]] = {protocol: set() for protocol in PROTOCOLS}
    for each in ports:
        for protocol, numbers in each.items():
            found[protocol] |= numbers
    return _frozen(found)


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
    fleets: tuple[FleetPorts, ...]

    @property
    def container(self) -> Ports:
        """Container ports behind a hostPort, over the pool's fleets."""
        return union(fleet.exposed for fleet in self.fleets)

    @property
    def internal(self) -> Ports:
        """Container ports of None ports, over the pool's fleets."""
        return union(fleet.internal for fleet in self.fleets)

    @property
    def namespace_source(self) -> str:
        return namespace_source(self.namespace)

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


def namespace_source(namespace: str) -> str:
    """How an in-cluster source, every Pod of a namespace, is named beside CIDRs in openings and plan."""
    return IN_CLUSTER_PREFIX + namespace


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
    """A policy per fleet, so that a port number one fleet exposes opens nothing on another fleet's Pods."""
    found = [_fleet_network_policy(ctx, settings, fleet) for fleet in ctx.fleets]
    if settings.defaultDeny:
        deny = {"podSelector": {}, "policyTypes": ["Ingress"]}
        metadata = ctx.metadata(NETWORK_POLICY, f"{ctx.base}-default-deny")
        found.append(_object("networking.k8s.io/v1", "NetworkPolicy", metadata, deny))
    return found


def _fleet_network_policy(ctx: Context, settings: NetworkPolicyOutput, fleet: FleetPorts) -> dict[str, Any]:
    """The fleet's exposed ports from sourceRanges, its None ports from the Pods of its own namespace."""
    namespace_peer = {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: ctx.namespace}}}
    audiences = (
        ([{"ipBlock": {"cidr": cidr}} for cidr in ctx.sources], fleet.exposed),
        ([namespace_peer], fleet.internal),
    )
    rules = []
    for peers, ports in audiences:
        entries = _policy_ports(ports, settings.endPort)
        if entries:
            rules.append({"from": peers, "ports": entries})
    spec = {
        "podSelector": {"matchLabels": {POOL_LABEL: ctx.pool, FLEET_LABEL: fleet.fleet}},
        "policyTypes": ["Ingress"],
        "ingress": rules,
    }
    # A dot cannot occur in a pool or fleet name, so no two (pool, fleet) pairs share a policy name.
    metadata = ctx.metadata(NETWORK_POLICY, f"{ctx.base}.{fleet.fleet}")
    return _object("networking.k8s.io/v1", "NetworkPolicy", metadata, spec)


def _policy_ports(ports: Ports, end_port: bool) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for protocol, spans in fit(ports, None).spans.items():
        for low, high in spans:
            if end_port:
                entries.append({"protocol": protocol, "port": low, **({"endPort": high} if high > low else {})})
            else:
                entries += [{"protocol": protocol, "port": port} for port in range(low, high + 1)]
    return entries


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
        for chunk in chunks(list(spans), CALICO_PORTS_PER_RULE)
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
            {"fromCIDR": list(ctx.sources), "toPorts": [{"ports": c} for c in chunks(entries, CILIUM_PORTS_PER_RULE)]}
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
