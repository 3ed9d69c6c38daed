"""Desired: the placed pools -> each server's Pod as fleetgen renders it, in the facts status compares.

The facts come from the very Pod that render writes (`manifests.render.pod_object`, with the template of the
revision the server runs, its slots filled for the server), so status compares with `rendered/` as
`fleetgen render` would write it, servers a rollout has not reached yet included.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..cluster.pods import FLEETGEN_ENV_PREFIX, ContainerFacts, PortFacts
from ..manifests.emit import Slot
from ..manifests.render import TEMPLATE_HASH_LABEL, pod_object
from .placed import PlacedPool


@dataclass(frozen=True, slots=True)
class DesiredServer:
    pool: str
    fleet: str
    server: str
    namespace: str
    node: str
    template_hash: str
    containers: tuple[ContainerFacts, ...]


def desired_servers(pools: Iterable[PlacedPool], fleets: Iterable[str] = ()) -> list[DesiredServer]:
    """Every server of the pools (of `fleets` only, when given), by pool, fleet and ordinal."""
    wanted = set(fleets)
    found = []
    for pool in pools:
        source = pool.source
        shapes = pool.pod_shapes()
        pods: dict[int, dict[str, Any]] = {}  # one Pod of each shape: each revision a fleet's servers run
        addresses = source.addresses
        for server in pool.allocation.servers:
            if wanted and server.fleet not in wanted:
                continue
            shape = shapes.of(server)
            pod = pods.get(id(shape))
            if pod is None:
                pod = pods[id(shape)] = pod_object(source, shape.fleet)
            values = shape.values(server, addresses[server.node])
            containers = tuple(_container(container, values) for container in pod["spec"]["containers"])
            hash_label = pod["metadata"]["labels"][TEMPLATE_HASH_LABEL]
            found.append(
                DesiredServer(
                    pool.name,
                    server.fleet,
                    server.name,
                    source.model.spec.namespace,
                    server.node,
                    hash_label,
                    containers,
                )
            )
    return found


def _container(container: dict[str, Any], values: Mapping[str, str | int]) -> ContainerFacts:
    """The rendered container's facts, each slot filled with the server's value."""
    ports = (
        PortFacts(
            name=port.get("name", ""),
            container_port=int(_filled(port["containerPort"], values)),
            protocol=port.get("protocol", "TCP"),
            host_port=int(_filled(port.get("hostPort", 0), values)),
        )
        for port in container.get("ports", [])
    )
    env = (
        (entry["name"], str(_filled(entry.get("value", ""), values)))
        for entry in container.get("env", [])
        if entry["name"].startswith(FLEETGEN_ENV_PREFIX)
    )
    return ContainerFacts(container["name"], container["image"], tuple(sorted(ports)), tuple(sorted(env)))


def _filled(value: Any, values: Mapping[str, str | int]) -> Any:
    return values[value.name] if isinstance(value, Slot) else value
