"""Model: the shape of NodePool and Fleet documents, as pydantic models with Agones' defaults.

These models check structure and types only; rules that span fields, documents or pools live in
`rules`, which knows where each value stands in its file.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

API_VERSION = "fleetgen.dev/v1alpha1"
DEFAULT_RANGE = "default"
DEFAULT_PORT_RANGE = {"min": 7000, "max": 8000}
DEFAULT_NODE_PORT_RANGE = {"min": 30000, "max": 32767}
# Ports that daemons of a Kubernetes node listen on, on the node's own addresses: a hostPort there takes
# their traffic. SSH; Calico BGP; etcd; Cilium health and Hubble; VXLAN and Geneve overlays; the API
# server; node-exporter; the kubelet (10250, read-only 10255), kube-proxy (10256), the controller
# managers and scheduler (10257-10259); WireGuard.
DEFAULT_NODE_DAEMON_PORTS: tuple[int | str, ...] = (
    22, 179, "2379-2380", 4240, 4244, 4789, 6081, 6443, 8472, 9100, 10250, "10255-10259", "51820-51821",
)  # fmt: skip
DEFAULT_UNIT_SIZE = 1000

PortPolicy = Literal["Dynamic", "Static", "Passthrough", "None"]
Protocol = Literal["UDP", "TCP", "TCPUDP"]
Scheduling = Literal["Packed", "Distributed"]
Pin = Literal["nodeSelector", "nodeName"]
PodSecurityLevel = Literal["none", "baseline", "restricted"]
PolicyAction = Literal["Deny", "Warn", "Audit"]
SdkLogLevel = Literal["Error", "Info", "Debug", "Trace"]
Quantity = str | int | float
PortNumber = int
TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]
NodeAddressType = Literal["ExternalIP", "InternalIP"]
IPFamily = Literal["IPv4", "IPv6"]


class Strict(BaseModel):
    """Unknown fields are errors and values are not coerced: YAML already typed them."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=False)


class Metadata(Strict):
    name: str = Field(description="DNS-1123 label.")


class PortRange(Strict):
    min: PortNumber = Field(description="First port of the range (inclusive).")
    max: PortNumber = Field(description="Last port of the range (inclusive).")


class Capacity(Strict):
    pods: int = Field(110, description="Most Pods the node runs (the kubelet's maxPods).")
    cpu: Quantity | None = Field(None, description="Allocatable CPU, a Kubernetes quantity; no limit when absent.")
    memory: Quantity | None = Field(
        None, description="Allocatable memory, a Kubernetes quantity; no limit when absent."
    )


class Taint(Strict):
    key: str = Field(description="As in a Node's spec.taints: a label key such as dedicated or example.com/role.")
    value: str = Field("", description="Optional; a label value.")
    effect: TaintEffect = Field(
        description="NoSchedule and NoExecute keep off servers whose template does not tolerate the taint; "
        "PreferNoSchedule keeps none off."
    )


class Node(Strict):
    name: str = Field(description="The Kubernetes node name (kubernetes.io/hostname).")
    address: str = Field(description="External IPv4 or IPv6 address that clients dial.")
    labels: dict[str, str] = Field(default_factory=dict, description="Labels fleets select with nodeSelector.")
    capacity: Capacity = Field(default_factory=Capacity)
    unschedulable: bool = Field(False, description="Cordoned: its servers move off on the next render.")
    taints: list[Taint] = Field(
        default_factory=list,
        description="The node's taints: a fleet's servers go only where its template tolerates them.",
    )


class Overhead(Strict):
    pods: int = Field(0, description="Pods that DaemonSets and system Pods run on every node.")
    cpu: Quantity | None = Field(None, description="CPU they request on every node, a Kubernetes quantity.")
    memory: Quantity | None = Field(None, description="Memory they request on every node, a Kubernetes quantity.")


class NodeDiscovery(Strict):
    selector: dict[str, str] = Field(
        description="Labels a cluster Node must carry to belong to the pool, e.g. {eks.amazonaws.com/nodegroup: game}."
    )
    addressTypes: list[NodeAddressType] = Field(
        default_factory=lambda: ["ExternalIP"],
        description="status.addresses types that give a node's address, in order of preference.",
    )
    ipFamily: IPFamily | None = Field(
        None, description="IPv4 or IPv6 for dual-stack nodes; absent: the first address of the first type that has one."
    )
    copyLabels: list[str] = Field(
        default_factory=list, description="Node label keys copied into the node's labels, for fleets' nodeSelector."
    )
    overhead: Overhead = Field(
        default_factory=Overhead, description="What DaemonSets and system Pods take on every node, off its allocatable."
    )


DEFAULT_SOURCE_RANGES = ("0.0.0.0/0", "::/0")
AWS_RULES_PER_GROUP = 60


class NetworkPolicyOutput(Strict):
    defaultDeny: bool = Field(False, description="Also deny all other ingress to every Pod of the namespace.")
    endPort: bool = Field(
        True, description="Port ranges with endPort; false: one entry per port (Cilium before 1.16 ignored endPort)."
    )


class NetworkRef(Strict):
    external: str | None = Field(None, description='"projects/<project>/global/networks/<network>".')
    name: str | None = Field(None, description="A ComputeNetwork object's name.")
    namespace: str | None = Field(None, description="The ComputeNetwork object's namespace (with name).")


class GcpOutput(Strict):
    networkRef: NetworkRef = Field(description="The VPC network the rules belong to (Config Connector networkRef).")
    targetTags: list[str] = Field(description="Network tags of the pool's instances.")
    priority: int = Field(1000, description="0-65535; lower wins.")
    projectId: str | None = Field(None, description="cnrm.cloud.google.com/project-id annotation.")
    namespace: str | None = Field(None, description="Namespace of the objects; default the pool's.")
    maxPortRanges: int | None = Field(None, description="Most port ranges in one rule (all protocols); no limit.")


class AwsOutput(Strict):
    vpcID: str = Field(description="The VPC of the pool's instances (vpc-...).")
    name: str | None = Field(None, description="Security group name; default fleetgen-<pool>.")
    namespace: str | None = Field(None, description="Namespace of the object; default the pool's.")
    maxRules: int = Field(
        AWS_RULES_PER_GROUP, description="Inbound rules quota per security group, per IP family (AWS default 60)."
    )


class AzureOutput(Strict):
    owner: str = Field(description="Name of the NetworkSecurityGroup object the rules belong to.")
    basePriority: int = Field(1000, description="Priority of the first rule; the others take the next three.")
    namespace: str | None = Field(None, description="Namespace of the objects; default the pool's.")
    maxPortRanges: int | None = Field(None, description="Most destination port ranges in one rule; no limit.")


class CalicoOutput(Strict):
    selector: str | None = Field(None, description="Host endpoints of the pool; default fleetgen.dev/pool == '<pool>'.")
    order: int = Field(100, description="Policy order; lower orders apply first.")


class CiliumOutput(Strict):
    nodeSelector: dict[str, str] | None = Field(None, description="Nodes of the pool; default fleetgen.dev/pool.")
    endPort: bool = Field(False, description="The cluster's Cilium is 1.16 or newer: ranges with endPort.")
    defaultDeny: bool = Field(
        False, description="Let this policy put the nodes in default deny for ingress (else other policies decide)."
    )


class FirewallOutput(Strict):
    """One output: exactly one of the fields, with its settings."""

    networkPolicy: NetworkPolicyOutput | None = None
    gcp: GcpOutput | None = None
    aws: AwsOutput | None = None
    azure: AzureOutput | None = None
    calico: CalicoOutput | None = None
    cilium: CiliumOutput | None = None


class Firewall(Strict):
    sourceRanges: list[str] = Field(
        default_factory=lambda: list(DEFAULT_SOURCE_RANGES), description="CIDRs players connect from (IPv4, IPv6)."
    )
    outputs: list[FirewallOutput] = Field(
        default_factory=lambda: [FirewallOutput(networkPolicy=NetworkPolicyOutput())],
        description="Firewall objects to render into the pool's network unit; default a NetworkPolicy.",
    )


class Images(Strict):
    requireDigest: bool = Field(
        False, description="Every container image must be pinned by digest (image@sha256:<64 hex digits>)."
    )


class Disruption(Strict):
    evictable: bool = Field(
        False,
        description="Let the cluster autoscaler and Karpenter evict the servers to remove a node. Default: "
        "Pods carry safe-to-evict: false and do-not-disrupt: true, so nodes leave through a node sync.",
    )


class NodePoolSpec(Strict):
    namespace: str = Field("default", description="Namespace of the pool's objects.")
    cluster: str | None = Field(None, description="Destination cluster name for Argo CD or Flux.")
    portRanges: dict[str, PortRange] = Field(
        default_factory=lambda: {DEFAULT_RANGE: PortRange(**DEFAULT_PORT_RANGE)},
        description="Named inclusive hostPort ranges; Dynamic and Passthrough ports draw from them.",
    )
    nodePortRange: PortRange = Field(
        default_factory=lambda: PortRange(**DEFAULT_NODE_PORT_RANGE),
        description="The cluster's Service NodePort range, never used for hostPorts.",
    )
    reservedPorts: list[int | str] = Field(
        default_factory=list, description='Ports or "a-b" spans something else uses on these nodes.'
    )
    nodeDaemonPorts: list[int | str] = Field(
        default_factory=lambda: list(DEFAULT_NODE_DAEMON_PORTS),
        description='Ports or "a-b" spans the nodes\' own daemons listen on (SSH, kubelet, etcd, ...): never '
        "allocated, refused as Static hostPorts. Replace the list to match your nodes.",
    )
    nodeLabels: dict[str, str] = Field(
        default_factory=dict,
        description="Labels every node of the pool carries, under each node's own labels (which win), e.g. "
        "kubernetes.io/os: linux and kubernetes.io/arch: amd64, which the kubelet sets on every node.",
    )
    nodes: list[Node] = Field(default_factory=list)
    nodeDiscovery: NodeDiscovery | None = Field(
        None, description="Which cluster Nodes make up the pool: `fleetgen nodes sync` rewrites nodes from them."
    )
    pin: Pin = Field("nodeSelector", description="How a Pod is bound to its node.")
    unitSize: int = Field(
        DEFAULT_UNIT_SIZE, description="Servers per sync unit (one Argo CD app or Flux Kustomization)."
    )
    firewall: Firewall = Field(default_factory=Firewall, description="What the pool's firewall lets in.")
    podSecurity: PodSecurityLevel = Field(
        "baseline",
        description="Pod Security Standards level every Pod of the namespace is held to, hostPorts in the "
        "pool's ranges and Static ports excepted; enforced by a rendered ValidatingAdmissionPolicy. none: off.",
    )
    podSecurityActions: list[PolicyAction] = Field(
        default_factory=lambda: ["Deny"],
        description="validationActions of the policy binding: [Deny] enforces, [Warn, Audit] rolls it out.",
    )
    manageNamespace: bool = Field(
        False, description="Render the namespace with its Pod Security labels (else plan prints them)."
    )
    images: Images = Field(default_factory=Images, description="What every fleet of the pool must do with its images.")
    disruption: Disruption = Field(
        default_factory=Disruption, description="Whether autoscalers may evict the pool's servers to remove a node."
    )


class NodePool(Strict):
    apiVersion: Literal["fleetgen.dev/v1alpha1"]
    kind: Literal["NodePool"]
    metadata: Metadata
    spec: NodePoolSpec


class Port(Strict):
    name: str = Field(description="Kubernetes port name (IANA_SVC_NAME, at most 15 characters).")
    portPolicy: PortPolicy = Field("Dynamic", description="As Agones: Dynamic, Static, Passthrough or None.")
    containerPort: PortNumber | None = None
    hostPort: PortNumber | None = Field(None, description="Static only.")
    protocol: Protocol = "UDP"
    range: str = Field(DEFAULT_RANGE, description="Name of a pool port range (Dynamic and Passthrough).")
    container: str | None = Field(None, description="Container that gets the port; default spec.container.")


class AgonesSdk(Strict):
    """Agones' SDK server in local mode beside the game server; the fields of Agones' `sdkServer` too."""

    version: str = Field(description="Agones release of the SDK server image (e.g. 1.56.0); 1.29.0 or later.")
    image: str | None = Field(
        None, description="The whole image reference instead of Agones' own for `version` (a mirror, a digest)."
    )
    grpcPort: PortNumber = Field(9357, description="Port the SDK server's gRPC API listens on (localhost).")
    httpPort: PortNumber = Field(9358, description="Port the SDK server's HTTP API listens on (localhost).")
    logLevel: SdkLogLevel = Field("Info", description="The SDK server's log level, as Agones' sdkServer.logLevel.")


class Sdk(Strict):
    agones: AgonesSdk | None = Field(None, description="Run Agones' SDK server beside every server of the fleet.")


DEFAULT_MAX_UNAVAILABLE = "25%"
PERCENTAGE = re.compile(r"[0-9]+%")
"""A percentage as Kubernetes writes one in an IntOrString: digits and a percent sign, nothing else."""


class Rollout(Strict):
    maxUnavailable: int | str = Field(
        DEFAULT_MAX_UNAVAILABLE,
        description='Most servers one wave restarts: a count, or a percentage of replicas ("25%", rounded down, '
        "at least 1).",
    )


class FleetSpec(Strict):
    replicas: int = Field(description="Servers in the fleet, named <fleet>-<ordinal>.")
    scheduling: Scheduling = "Packed"
    nodeSelector: dict[str, str] = Field(default_factory=dict, description="Node labels a host must carry.")
    container: str | None = Field(None, description="The game-server container; required with several.")
    ports: list[Port] = Field(default_factory=list)
    images: Images = Field(
        default_factory=Images, description="What this fleet must do with its images, on top of the pool's rule."
    )
    sdk: Sdk | None = Field(None, description="A game-server SDK fleetgen runs beside each server.")
    rollout: Rollout | None = Field(
        None,
        description="Roll a template change out in waves (`fleetgen rollout next`); without it every server "
        "restarts at once.",
    )
    template: dict[str, Any] = Field(description="A Kubernetes PodTemplateSpec.")


class Fleet(Strict):
    apiVersion: Literal["fleetgen.dev/v1alpha1"]
    kind: Literal["Fleet"]
    metadata: Metadata
    spec: FleetSpec


KINDS: dict[str, type[Strict]] = {"NodePool": NodePool, "Fleet": Fleet}


# Label keys and policy groups the rules, render and firewall share.
RESERVED_LABEL_PREFIX = "fleetgen.dev/"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
HOSTNAME_LABEL = "kubernetes.io/hostname"
# Environment variables fleetgen sets: the identity in every container, a port's number in its container.
SERVER_ENV = "FLEETGEN_SERVER"
ADDRESS_ENV = "FLEETGEN_ADDRESS"


def port_env_name(port_name: str) -> str:
    return "FLEETGEN_PORT_" + port_name.upper().replace("-", "_")


def wave_size(max_unavailable: int | str, replicas: int) -> int:
    """The most servers one wave restarts: a count, or a percentage of replicas rounded down, at least 1 (as
    Kubernetes rounds a Deployment's maxUnavailable). Takes a value the fleet rules accepted."""
    if isinstance(max_unavailable, str):
        return max(1, replicas * int(max_unavailable[:-1]) // 100)
    return max(1, max_unavailable)


NUMBERED_POLICIES = ("Dynamic", "Passthrough")
