"""Agones fields: an Agones object's ports -> fleet ports, and the fields that have no fleetgen meaning.

What `kubectl get -o yaml` prints of a live GameServer is what Agones wrote into it (`pkg/portallocator`,
`pkg/gameservers/controller.go`): the hostPort it allocated on each Dynamic and Passthrough port (and on a
Passthrough port the same number as containerPort), and a TCPUDP port split into `<name>-tcp` and
`<name>-udp` on one hostPort. Those are read back as the spec they came from, each with a note.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..diagnostics import Diagnostic
from ..fleetfiles.load import Document
from ..fleetfiles.model import DEFAULT_RANGE
from ..kube import api

PORT_FIELDS = ("name", "portPolicy", "containerPort", "hostPort", "protocol", "range", "container")
ALLOCATED_POLICIES = ("Dynamic", "Passthrough")  # the policies whose hostPort Agones picks
MSG_DROPPED = "Agones {kind} {name!r}: {field} is not imported: it has no fleetgen meaning"
HINT_DROPPED = "fleetgen runs no Agones controller; review what it did for this server before the fleet goes live"
# What a few dropped fields did under Agones, and what takes their place.
FIELD_HINTS = {
    "health": "fleetgen checks no Health() pings: a livenessProbe on the game server container restarts it",
    "strategy": "fleetgen changes Pods through the GitOps sync of rendered/; `fleetgen plan` lists the restarts",
    "eviction": "fleetgen's Pods are plain Pods: keep nodes from draining under players as the README says",
}
# Written on every live object by the API server, kubectl or Agones: bookkeeping, never intent, left out
# without a word (the README lists them).
SERVER_METADATA = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink")
SERVER_ANNOTATIONS = (
    "kubectl.kubernetes.io/last-applied-configuration",
    "agones.dev/sdk-version",
    "agones.dev/ready-container-id",
    "agones.dev/last-allocated",
)
SERVER_FINALIZERS = ("agones.dev/controller",)

Path_ = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class _Port:
    """A port being converted: its fields and where it stands in the source (its first index)."""

    index: int
    fields: dict[str, Any]


def convert_ports(document: Document, path: Path_, ports: Any) -> tuple[list[dict[str, Any]], list[Diagnostic]]:
    """Agones ports field for field; fleetgen needs a Kubernetes port name on each, so one is made where missing.
    What Agones wrote into a live object's ports is read back as the spec it came from, with a note."""
    notes: list[Diagnostic] = []
    found = [
        _Port(index, {key: plain(port[key]) for key in PORT_FIELDS if key in port})
        for index, port in enumerate(ports if isinstance(ports, list) else [])
        if isinstance(port, dict)
    ]
    found = _joined(document, path, found, notes)
    converted: list[dict[str, Any]] = []
    taken: set[str] = set()
    for port in found:
        fields = _unallocated(document, (*path, port.index), port.fields, notes)
        raw = str(fields.get("name") or "")
        name = _port_name(raw, port.index, str(fields.get("protocol", "UDP")), taken)
        if name != raw:
            why = f"port name {raw!r} is not a Kubernetes port name" if raw else "port has no name"
            notes.append(
                document.warning((*path, port.index), f"{why}: named {name!r}", "fleetgen requires port names")
            )
        taken |= {name, f"{name}-tcp", f"{name}-udp"}
        converted.append({"name": name, **{key: value for key, value in fields.items() if key != "name"}})
    return converted, notes


def _joined(document: Document, path: Path_, ports: list[_Port], notes: list[Diagnostic]) -> list[_Port]:
    """A `<name>-tcp` TCP and a `<name>-udp` UDP port on one hostPort, the same otherwise, as Agones splits a
    TCPUDP port: one TCPUDP port again (as two, fleetgen would hand out two numbers)."""
    joined: list[_Port] = []
    used: set[int] = set()
    for port in ports:
        if port.index in used:
            continue
        partner = next((other for other in ports if _split_pair(port.fields, other.fields)), None)
        if partner is None:
            joined.append(port)
            continue
        used.add(partner.index)
        name = str(port.fields["name"])[: -len("-tcp")]
        number = port.fields["hostPort"]
        message = (
            f"ports {port.fields['name']!r} and {partner.fields['name']!r} share hostPort {number}: "
            f"they are how Agones runs a TCPUDP port; imported as TCPUDP port {name!r}"
        )
        notes.append(document.warning((*path, port.index, "name"), message))
        joined.append(_Port(port.index, {**port.fields, "name": name, "protocol": "TCPUDP"}))
    return joined


def _split_pair(tcp: dict[str, Any], udp: dict[str, Any]) -> bool:
    name = tcp.get("name")
    if not isinstance(name, str) or not name.endswith("-tcp") or tcp.get("hostPort") is None:
        return False
    same = ("portPolicy", "containerPort", "hostPort", "container")
    return (
        udp.get("name") == name[: -len("-tcp")] + "-udp"
        and (tcp.get("protocol"), udp.get("protocol")) == ("TCP", "UDP")
        and all(tcp.get(key) == udp.get(key) for key in same)
        # Agones' UDP copy of a Static port has no range (`syncGameServerCreatingState`); it has no meaning there
        and (tcp.get("range", DEFAULT_RANGE) == udp.get("range", DEFAULT_RANGE) or tcp.get("portPolicy") == "Static")
    )


def _unallocated(document: Document, path: Path_, fields: dict[str, Any], notes: list[Diagnostic]) -> dict[str, Any]:
    """Without the hostPort Agones allocated to a Dynamic or Passthrough port (and a Passthrough port's
    containerPort, which Agones sets to it): fleetgen allocates its own."""
    number = fields.get("hostPort")
    policy = fields.get("portPolicy", "Dynamic")
    if number is None or policy not in ALLOCATED_POLICIES:
        return fields
    dropped = ["hostPort"]
    if policy == "Passthrough" and fields.get("containerPort") == number:
        dropped.append("containerPort")
    message = (
        f"hostPort {number} of {policy} port {fields.get('name', '')!r} is one Agones allocated: not imported, "
        "fleetgen allocates the port itself"
    )
    if len(dropped) == 2:
        message += f" (and sets containerPort to it, as Agones did with {number})"
    hint = "clients of this server get a new port once, when fleetgen's Pod replaces Agones' (see the README)"
    notes.append(document.warning((*path, "hostPort"), message, hint))
    return {key: value for key, value in fields.items() if key not in dropped}


def _port_name(raw: str, index: int, protocol: str, taken: set[str]) -> str:
    """The name as it is when Kubernetes takes it, else a cleaned one; `default` (as Agones' examples) when unnamed."""
    limit = 11 if protocol == "TCPUDP" else 15
    name = raw or ("default" if "default" not in taken else f"port-{index}")
    if api.port_name_problem(name, limit):
        name = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", name.lower())).strip("-")[:limit].strip("-")
    if api.port_name_problem(name, limit) or {name, f"{name}-tcp", f"{name}-udp"} & taken:
        name = f"port-{index}"
    return name


def plain(value: Any) -> Any:
    """Data the canonical emitter writes: a float (`cpu: 0.5`) becomes the string Kubernetes reads the same."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return repr(value) if isinstance(value, float) else value


# --- Fields with no fleetgen meaning -------------------------------------------------------------------


def dropped_fields(
    document: Document, base: Path_, data: dict[str, Any], read: dict[Path_, set[str]], name: str
) -> Iterator[Diagnostic]:
    """A warning at each field conversion does not read, but what a live cluster writes on every object."""
    kind = data["kind"]
    for path, keys in read.items():
        fields = mapping(data, path)
        for key, value in fields.items():
            if key in keys or _server_written(path, key, value):
                continue
            message = MSG_DROPPED.format(kind=kind, name=name, field=".".join((*path, key)))
            yield document.warning((*base, *path, key), message, FIELD_HINTS.get(key, HINT_DROPPED), key=True)


def dropped_port_fields(
    document: Document, base: Path_, ports_path: tuple[str, ...], data: dict[str, Any], name: str
) -> Iterator[Diagnostic]:
    ports = at(data, ports_path)
    for index, port in enumerate(ports if isinstance(ports, list) else []):
        for key in port if isinstance(port, dict) else ():
            if key not in PORT_FIELDS:
                field = f"{'.'.join(ports_path)}[{index}].{key}"
                message = MSG_DROPPED.format(kind=data["kind"], name=name, field=field)
                yield document.warning((*base, *ports_path, index, key), message, HINT_DROPPED, key=True)


def _server_written(path: tuple[str, ...], key: str, value: Any) -> bool:
    """True for what the API server, kubectl and Agones write on a live object, and nothing else: status,
    bookkeeping metadata, their own annotations and finalizer, and kubectl's `creationTimestamp: null`."""
    if key == "metadata" and isinstance(value, dict) and value and all(v is None for v in value.values()):
        return set(value) == {"creationTimestamp"}
    if path == () and key == "status":
        return True
    if path != ("metadata",):
        return False
    if key == "annotations" and isinstance(value, dict):
        return all(annotation in SERVER_ANNOTATIONS for annotation in value)
    if key == "finalizers" and isinstance(value, list):
        return all(finalizer in SERVER_FINALIZERS for finalizer in value)
    return key in SERVER_METADATA


def at(data: Any, path: Path_) -> Any:
    for segment in path:
        if isinstance(data, dict) and isinstance(segment, str):
            data = data.get(segment)
        elif isinstance(data, list) and isinstance(segment, int) and segment < len(data):
            data = data[segment]
        else:
            return None
    return data


def mapping(data: Any, path: Path_) -> dict[str, Any]:
    found = at(data, path)
    return found if isinstance(found, dict) else {}
