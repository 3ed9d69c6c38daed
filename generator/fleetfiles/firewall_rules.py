"""Firewall rules: a pool's `firewall` section -> positioned diagnostics for what its providers refuse.

Checked here, at the line that says it, rather than left to a cloud controller that reports it an hour
later in a resource status nobody reads.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from typing import Any

from ..diagnostics import Diagnostic
from ..kube import api
from .load import Document
from .model import AwsOutput, AzureOutput, CalicoOutput, CiliumOutput, FirewallOutput, GcpOutput, NodePool

Path_ = tuple[str | int, ...]
BASE: Path_ = ("spec", "firewall")
GCP_TAG = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
GCP_NETWORK = re.compile(r"^(https://www\.googleapis\.com/compute/v1/)?projects/[^/]+/global/networks/[^/]+$")
AWS_VPC = re.compile(r"^vpc-([0-9a-f]{8}|[0-9a-f]{17})$")
CALICO_NETS = 256  # maxItems of source.nets
PROTOCOL_COUNT = 2  # TCP and UDP: a quota must leave room for a range of each


def firewall_problems(pool: NodePool, document: Document) -> Iterator[Diagnostic]:
    firewall = pool.spec.firewall
    yield from _source_problems(firewall.sourceRanges, document)
    seen: dict[str, int] = {}
    kinds = sorted(FirewallOutput.model_fields)
    for index, output in enumerate(firewall.outputs):
        path = (*BASE, "outputs", index)
        named = [kind for kind in kinds if getattr(output, kind) is not None]
        if len(named) != 1:
            what = "names none" if not named else f"names {len(named)} ({', '.join(named)})"
            hint = "give each output one kind; list one output per kind"
            yield document.error(path, f"an output names exactly one of {', '.join(kinds)}; this one {what}", hint)
            continue
        kind = named[0]
        if kind in seen:
            message = f"output {kind} is already listed as outputs[{seen[kind]}]"
            yield document.error((*path, kind), message, "list each output once", key=True)
        seen.setdefault(kind, index)
        yield from CHECKS.get(kind, _nothing)(getattr(output, kind), document, (*path, kind), pool)


def _nothing(settings: Any, document: Document, path: Path_, pool: NodePool) -> Iterator[Diagnostic]:
    return iter(())


def networks(ranges: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The valid CIDRs among `ranges` (the invalid ones have their own diagnostics)."""
    found = []
    for text in ranges:
        try:
            found.append(ipaddress.ip_network(text))
        except ValueError:
            continue
    return found


def _source_problems(ranges: list[str], document: Document) -> Iterator[Diagnostic]:
    path = (*BASE, "sourceRanges")
    if not ranges:
        yield document.error(
            path, "sourceRanges is empty: no player could connect", 'allow everyone with ["0.0.0.0/0", "::/0"]'
        )
    seen: dict[Any, int] = {}
    for index, text in enumerate(ranges):
        try:
            network = ipaddress.ip_network(text)
        except ValueError:
            yield document.error((*path, index), *_cidr_problem(text))
            continue
        if network in seen:
            yield document.error((*path, index), f"{text!r} repeats sourceRanges[{seen[network]}]", "remove it")
        seen.setdefault(network, index)


def _cidr_problem(text: str) -> tuple[str, str]:
    """The message and hint for a source range that is not a network."""
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return f"{text!r} is not an IPv4 or IPv6 CIDR", "write a network such as 203.0.113.0/24 or 2001:db8::/32"
    return f"{text!r} has host bits set", f"did you mean {network}?"


def _namespace_problem(namespace: str | None, document: Document, path: Path_) -> Iterator[Diagnostic]:
    problem = api.dns1123_label_problem(namespace) if namespace is not None else ""
    if problem:
        yield document.error(
            (*path, "namespace"), f"namespace {namespace!r} {problem}", "use a DNS-1123 label such as 'game-servers'"
        )


def _bounds(value: int | None, low: int, high: int, document: Document, path: Path_) -> Iterator[Diagnostic]:
    if value is not None and not low <= value <= high:
        yield document.error(
            path, f"{path[-1]} {value} is outside {low}-{high}", f"write a number from {low} to {high}"
        )


def _gcp_problems(settings: GcpOutput, document: Document, path: Path_, pool: NodePool) -> Iterator[Diagnostic]:
    ref = settings.networkRef
    if (ref.external is None) == (ref.name is None):
        yield document.error(
            (*path, "networkRef"),
            "networkRef needs exactly one of external and name",
            "external: projects/P/global/networks/N",
        )
    if ref.external is not None and not GCP_NETWORK.match(ref.external):
        yield document.error(
            (*path, "networkRef", "external"),
            f"{ref.external!r} is not a network's path",
            "write projects/<project>/global/networks/<network>",
        )
    if ref.namespace is not None and ref.name is None:
        hint = "remove namespace, or name the ComputeNetwork object with name instead of external"
        yield document.error((*path, "networkRef", "namespace"), "namespace goes with name, not external", hint)
    if not settings.targetTags:
        yield document.error(
            (*path, "targetTags"),
            "targetTags is empty: the rules would open every instance of the network",
            "list the pool's instance network tags",
        )
    for index, tag in enumerate(settings.targetTags):
        if not GCP_TAG.match(tag):
            yield document.error(
                (*path, "targetTags", index),
                f"{tag!r} is not a network tag",
                "lower-case letters, digits and '-', at most 63, starting with a letter",
            )
    yield from _bounds(settings.priority, 0, 65535, document, (*path, "priority"))
    yield from _bounds(settings.maxPortRanges, PROTOCOL_COUNT, 65535, document, (*path, "maxPortRanges"))
    yield from _namespace_problem(settings.namespace, document, path)


def _aws_problems(settings: AwsOutput, document: Document, path: Path_, pool: NodePool) -> Iterator[Diagnostic]:
    if not AWS_VPC.match(settings.vpcID):
        yield document.error(
            (*path, "vpcID"), f"{settings.vpcID!r} is not a VPC id", "write vpc- and 8 or 17 hex digits"
        )
    name = settings.name
    if name is not None and (not 1 <= len(name) <= 255 or name.lower().startswith("sg-")):
        yield document.error(
            (*path, "name"),
            f"security group name {name!r} must be 1-255 characters, not starting with sg-",
            "rename it, or leave name out for fleetgen-<pool>",
        )
    sources = networks(pool.spec.firewall.sourceRanges)
    widest = max((sum(1 for n in sources if n.version == v) for v in (4, 6)), default=0)
    if widest and settings.maxRules // widest < PROTOCOL_COUNT:
        yield document.error(
            (*path, "maxRules") if "maxRules" in settings.model_fields_set else path,
            f"maxRules {settings.maxRules} leaves no room for a TCP and a UDP range from {widest} source ranges "
            "(AWS counts a rule per port range and CIDR)",
            f"raise the quota to at least {PROTOCOL_COUNT * widest}, or list fewer sourceRanges",
        )
    yield from _namespace_problem(settings.namespace, document, path)


def _azure_problems(settings: AzureOutput, document: Document, path: Path_, pool: NodePool) -> Iterator[Diagnostic]:
    problem = api.dns1123_subdomain_problem(settings.owner)
    if problem:
        yield document.error(
            (*path, "owner"), f"owner {settings.owner!r} {problem}", "name the NetworkSecurityGroup object"
        )
    yield from _bounds(settings.basePriority, 100, 4093, document, (*path, "basePriority"))
    yield from _bounds(settings.maxPortRanges, 1, 65535, document, (*path, "maxPortRanges"))
    yield from _namespace_problem(settings.namespace, document, path)


def _calico_problems(settings: CalicoOutput, document: Document, path: Path_, pool: NodePool) -> Iterator[Diagnostic]:
    if settings.selector is not None and not settings.selector.strip():
        yield document.error((*path, "selector"), "selector is empty", "leave it out to select fleetgen.dev/pool")
    count = len(pool.spec.firewall.sourceRanges)
    if count > CALICO_NETS:
        yield document.error(
            (*BASE, "sourceRanges"),
            f"Calico takes at most {CALICO_NETS} source nets in a rule, not {count}",
            f"merge neighbouring ranges into wider ones, {CALICO_NETS} at the most",
        )


def _cilium_problems(settings: CiliumOutput, document: Document, path: Path_, pool: NodePool) -> Iterator[Diagnostic]:
    selector = settings.nodeSelector
    if selector is not None and not selector:
        yield document.error(
            (*path, "nodeSelector"),
            "nodeSelector is empty: the policy would apply to every node",
            "leave it out to select fleetgen.dev/pool",
        )
    for key, value in sorted((selector or {}).items()):
        problem = api.label_key_problem(key) or api.label_value_problem(value)
        if problem:
            yield document.error((*path, "nodeSelector", key), f"{key!r}: {problem}", api.LABEL_HINT)


CHECKS: dict[str, Callable[[Any, Document, Path_, NodePool], Iterator[Diagnostic]]] = {
    "gcp": _gcp_problems,
    "aws": _aws_problems,
    "azure": _azure_problems,
    "calico": _calico_problems,
    "cilium": _cilium_problems,
}
