"""Agones SDK: what `spec.sdk.agones` adds to a fleet's Pods, and what that must not clash with.

Agones' controller gives every GameServer Pod its SDK server as a sidecar, and every other container
AGONES_SDK_GRPC_PORT and AGONES_SDK_HTTP_PORT (`pkg/gameservers/controller.go`). fleetgen runs the same
image in local mode (`--local`), which needs no cluster and answers GameServer() from a file (`--file`):
each server gets its own, from a Pod annotation through the downward API. The template as rendered is
built here, beside the model, because the allocator counts the sidecar's requests and the rules check it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ..diagnostics import Diagnostic
from ..kube.podchecks import scopes
from .load import Document
from .model import AgonesSdk, FleetSpec, NodePool
from .pool_rules import port_number_problem

SIDECAR_NAME = "agones-gameserver-sidecar"  # Agones' own name for it
VOLUME_NAME = "agones-sdk-gameserver"
MOUNT_PATH = "/etc/agones-sdk"
FILE_NAME = "gameserver.json"
GAMESERVER_ANNOTATION = "fleetgen.dev/agones-gameserver"
GRPC_PORT_ENV = "AGONES_SDK_GRPC_PORT"
HTTP_PORT_ENV = "AGONES_SDK_HTTP_PORT"
# Agones' release registry since 1.29.0 (gcr.io/agones-images before), as its Helm chart sets SIDECAR_IMAGE.
REGISTRY = "us-docker.pkg.dev/agones-images/release/agones-sdk"
FIRST_RELEASE_IN_REGISTRY = (1, 29, 0)
DEFAULT_VERSION = "1.56.0"
# Init containers with restartPolicy: Always (native sidecars) are on by default from Kubernetes 1.29.
SIDECAR_KUBERNETES = (1, 29)
# The image's own user (distroless `nonroot`), given as a number so that runAsNonRoot can be checked.
SIDECAR_USER = 65532
# Agones' default sidecar request is 30m of cpu (Helm `agones.image.sdk.cpuRequest`); the memory and the
# limits are fleetgen's, small and fixed so that a namespace quota on limits admits the Pod.
SIDECAR_RESOURCES = {"requests": {"cpu": "30m", "memory": "32Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}}
LINUX_SECURITY = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "runAsUser": SIDECAR_USER,
    "runAsGroup": SIDECAR_USER,
    "seccompProfile": {"type": "RuntimeDefault"},
}
_RELEASE = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")


def agones_sdk(spec: FleetSpec) -> AgonesSdk | None:
    return spec.sdk.agones if spec.sdk is not None else None


def release(version: str) -> tuple[int, ...] | None:
    """(major, minor, patch) of an Agones release number such as 1.56.0, else None."""
    found = _RELEASE.fullmatch(version)
    return tuple(int(part) for part in found.groups()) if found else None


def sdk_image(sdk: AgonesSdk) -> str:
    return sdk.image or f"{REGISTRY}:{sdk.version}"


def rendered_template(spec: FleetSpec) -> dict[str, Any]:
    """The fleet's Pod template as its Pods run it: with the SDK sidecar first among the init containers (as
    Agones puts it, so that other init containers can call the SDK), its volume, and the SDK's env in every
    other container; the template itself when the fleet asks for no SDK."""
    sdk = agones_sdk(spec)
    template = spec.template
    if sdk is None:
        return template
    pod_spec = dict(template.get("spec") or {})
    env = [{"name": GRPC_PORT_ENV, "value": str(sdk.grpcPort)}, {"name": HTTP_PORT_ENV, "value": str(sdk.httpPort)}]
    for group in ("initContainers", "containers"):
        if group in pod_spec:
            pod_spec[group] = [{**c, "env": [*(c.get("env") or []), *env]} for c in pod_spec[group]]
    windows = (pod_spec.get("os") or {}).get("name") == "windows"
    sidecar = _sidecar(sdk, _pull_policy(spec), windows)
    pod_spec["initContainers"] = [sidecar, *(pod_spec.get("initContainers") or [])]
    pod_spec["volumes"] = [*(pod_spec.get("volumes") or []), _volume()]
    return {**template, "spec": pod_spec}


def _pull_policy(spec: FleetSpec) -> str | None:
    """The game server container's imagePullPolicy: the sidecar is pulled as the game server is."""
    containers = (spec.template.get("spec") or {}).get("containers") or []
    chosen = spec.container or (containers[0].get("name") if containers else None)
    game = next((c for c in containers if c.get("name") == chosen), {})
    return game.get("imagePullPolicy")


def _sidecar(sdk: AgonesSdk, pull_policy: str | None, windows: bool) -> dict[str, Any]:
    """The SDK server's container; on a Pod that says it runs Windows (`spec.os.name`), where the API server
    refuses Linux's security settings, only runAsNonRoot (Agones' Windows image runs as ContainerUser)."""
    sidecar: dict[str, Any] = {
        "name": SIDECAR_NAME,
        "image": sdk_image(sdk),
        "restartPolicy": "Always",
        "args": [
            "--local",
            f"--file={MOUNT_PATH}/{FILE_NAME}",
            f"--grpc-port={sdk.grpcPort}",
            f"--http-port={sdk.httpPort}",
        ],
        "resources": SIDECAR_RESOURCES,
        "securityContext": {"runAsNonRoot": True} if windows else LINUX_SECURITY,
        "volumeMounts": [{"name": VOLUME_NAME, "mountPath": MOUNT_PATH, "readOnly": True}],
    }
    if pull_policy is not None:
        sidecar["imagePullPolicy"] = pull_policy
    return sidecar


def _volume() -> dict[str, Any]:
    field = f"metadata.annotations['{GAMESERVER_ANNOTATION}']"
    return {"name": VOLUME_NAME, "downwardAPI": {"items": [{"path": FILE_NAME, "fieldRef": {"fieldPath": field}}]}}


# --- Rules ---------------------------------------------------------------------------------------------


def sdk_problems(spec: FleetSpec, document: Document, pool: NodePool, kubernetes_version: str) -> Iterator[Diagnostic]:
    """What `spec.sdk.agones` gets wrong: the release, the Kubernetes target, and clashes with the template."""
    sdk = agones_sdk(spec)
    if sdk is None:
        return
    path = ("spec", "sdk", "agones")
    numbers = release(sdk.version)
    if numbers is None:
        yield document.error(
            (*path, "version"),
            f"version {sdk.version!r} is not an Agones release (MAJOR.MINOR.PATCH)",
            f"write the release of your Agones installation without a 'v', e.g. {DEFAULT_VERSION}",
        )
    elif sdk.image is None and numbers < FIRST_RELEASE_IN_REGISTRY:
        yield document.error(
            (*path, "version"),
            f"Agones {sdk.version} published its SDK server to gcr.io/agones-images, not {REGISTRY}",
            "use 1.29.0 or later, or set image: to the SDK server image you run",
        )
    target = tuple(int(part) for part in kubernetes_version.split(".")[:2])
    if target < SIDECAR_KUBERNETES:
        yield document.error(
            path,
            "the Agones SDK server runs as a native sidecar (an init container with restartPolicy: Always), "
            f"which Kubernetes runs from 1.29 on; the target is {kubernetes_version}",
            "target --kubernetes-version 1.29 or later, or remove spec.sdk",
            key=True,
        )
    yield from _port_problems(spec, sdk, document, pool)
    yield from _name_problems(spec, document)


def _port_problems(spec: FleetSpec, sdk: AgonesSdk, document: Document, pool: NodePool) -> Iterator[Diagnostic]:
    """The SDK server listens on TCP in the Pod's network namespace, which every container shares."""
    taken = _tcp_ports_of_the_pod(spec, pool)
    for field in ("grpcPort", "httpPort"):
        number = getattr(sdk, field)
        where = ("spec", "sdk", "agones", field)
        if port_number_problem(number):
            yield document.error(where, f"{field}: {port_number_problem(number)}")
        elif field == "httpPort" and number == sdk.grpcPort:
            yield document.error(where, f"httpPort {number} is the grpcPort too", "give the two APIs two ports")
        elif number in taken:
            yield document.error(
                where,
                f"{field} {number} is also {taken[number]}: the containers of a Pod share its ports",
                "pick another port for the SDK server (the game server reads it from the env AGONES_SDK_*)",
            )


def _tcp_ports_of_the_pod(spec: FleetSpec, pool: NodePool) -> dict[int, str]:
    """TCP port -> what listens on it: template ports, fleet ports, and the ranges Passthrough draws from."""
    taken: dict[int, str] = {}
    for base, container in scopes(spec.template, containers=True):
        for port in container.get("ports") or []:
            if port.get("protocol", "TCP") == "TCP" and isinstance(port.get("containerPort"), int):
                taken.setdefault(port["containerPort"], f"a port of the template's {base[1]} {container.get('name')!r}")
    for port in spec.ports:
        if port.protocol == "UDP":
            continue
        if port.portPolicy == "Passthrough" and port.range in pool.spec.portRanges:
            numbers = pool.spec.portRanges[port.range]
            for number in range(numbers.min, numbers.max + 1):
                taken.setdefault(number, f"in range {port.range!r}, from which Passthrough port {port.name!r} draws")
        elif port.containerPort is not None:
            taken.setdefault(port.containerPort, f"the containerPort of fleet port {port.name!r}")
    return taken


def _name_problems(spec: FleetSpec, document: Document) -> Iterator[Diagnostic]:
    """Names the sidecar takes: its container's, its volume's, and the two env variables Agones sets."""
    base = ("spec", "template")
    for where, container in scopes(spec.template, containers=True):
        if container.get("name") == SIDECAR_NAME:
            yield document.error(
                (*base, *where, "name"), f"container name {SIDECAR_NAME!r} is the Agones SDK sidecar's", "rename it"
            )
        for index, entry in enumerate(container.get("env") or []):
            if isinstance(entry, dict) and entry.get("name") in (GRPC_PORT_ENV, HTTP_PORT_ENV):
                yield document.error(
                    (*base, *where, "env", index, "name"),
                    f"env {entry['name']} is set by fleetgen from spec.sdk.agones, as Agones sets it",
                    "remove it; set spec.sdk.agones.grpcPort or httpPort to move the SDK server",
                )
    for index, volume in enumerate((spec.template.get("spec") or {}).get("volumes") or []):
        if isinstance(volume, dict) and volume.get("name") == VOLUME_NAME:
            yield document.error(
                (*base, "spec", "volumes", index, "name"),
                f"volume name {VOLUME_NAME!r} is the one that holds the server's GameServer for the SDK",
                "rename it",
            )
