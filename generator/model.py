"""Model: the shape of NodePool and Fleet documents, as pydantic models with Agones' defaults.

These models check structure and types only; rules that span fields, documents or pools live in
`rules`, which knows where each value stands in its file.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

API_VERSION = "fleetgen.dev/v1alpha1"
DEFAULT_RANGE = "default"
DEFAULT_PORT_RANGE = {"min": 7000, "max": 8000}
DEFAULT_NODE_PORT_RANGE = {"min": 30000, "max": 32767}
DEFAULT_UNIT_SIZE = 1000

PortPolicy = Literal["Dynamic", "Static", "Passthrough", "None"]
Protocol = Literal["UDP", "TCP", "TCPUDP"]
Scheduling = Literal["Packed", "Distributed"]
Pin = Literal["nodeSelector", "nodeName"]
PodSecurityLevel = Literal["none", "baseline", "restricted"]
PolicyAction = Literal["Deny", "Warn", "Audit"]
Quantity = str | int | float
PortNumber = int


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


class Node(Strict):
    name: str = Field(description="The Kubernetes node name (kubernetes.io/hostname).")
    address: str = Field(description="External IPv4 or IPv6 address that clients dial.")
    labels: dict[str, str] = Field(default_factory=dict, description="Labels fleets select with nodeSelector.")
    capacity: Capacity = Field(default_factory=Capacity)
    unschedulable: bool = Field(False, description="Cordoned: its servers move off on the next render.")


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
    nodes: list[Node] = Field(default_factory=list)
    pin: Pin = Field("nodeSelector", description="How a Pod is bound to its node.")
    unitSize: int = Field(
        DEFAULT_UNIT_SIZE, description="Servers per sync unit (one Argo CD app or Flux Kustomization)."
    )
    firewall: dict[str, Any] = Field(default_factory=dict, description="Firewall outputs for the pool.")
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


class FleetSpec(Strict):
    replicas: int = Field(description="Servers in the fleet, named <fleet>-<ordinal>.")
    scheduling: Scheduling = "Packed"
    nodeSelector: dict[str, str] = Field(default_factory=dict, description="Node labels a host must carry.")
    container: str | None = Field(None, description="The game-server container; required with several.")
    ports: list[Port] = Field(default_factory=list)
    template: dict[str, Any] = Field(description="A Kubernetes PodTemplateSpec.")


class Fleet(Strict):
    apiVersion: Literal["fleetgen.dev/v1alpha1"]
    kind: Literal["Fleet"]
    metadata: Metadata
    spec: FleetSpec


KINDS: dict[str, type[Strict]] = {"NodePool": NodePool, "Fleet": Fleet}
