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
        plans: dict[int, _PodPlan] = {}  # one of each shape: each revision a fleet's servers run
        addresses = source.addresses
        namespace = source.model.spec.namespace
        for server in pool.allocation.servers:
            if wanted and server.fleet not in wanted:
                continue
            shape = shapes.of(server)
            plan = plans.get(id(shape))
            if plan is None:
                plan = plans[id(shape)] = _PodPlan.of(pod_object(source, shape.fleet))
            values = shape.values(server, addresses[server.node])
            containers = tuple(container.facts(values) for container in plan.containers)
            found.append(
                DesiredServer(pool.name, server.fleet, server.name, namespace, server.node, plan.hash_label, containers)
            )
    return found


@dataclass(frozen=True, slots=True)
class _ContainerPlan:
    """A rendered container's facts with the server's values still to fill (each a value or a Slot), in the
    order the facts keep them, worked out once per Pod shape rather than once per server."""

    name: str
    image: str
    ports: tuple[tuple[str, Any, str, Any], ...]  # name, containerPort, protocol, hostPort
    env: tuple[tuple[str, Any], ...]  # the FLEETGEN_* variables: name, value
    sorted_by_name: bool  # no two ports and no two variables share a name: the order is known before filling

    @classmethod
    def of(cls, container: dict[str, Any]) -> _ContainerPlan:
        ports = tuple(
            (port.get("name", ""), port["containerPort"], port.get("protocol", "TCP"), port.get("hostPort", 0))
            for port in container.get("ports", [])
        )
        env = tuple(
            (entry["name"], entry.get("value", ""))
            for entry in container.get("env", [])
            if entry["name"].startswith(FLEETGEN_ENV_PREFIX)
        )
        unique = len({port[0] for port in ports}) == len(ports) and len({entry[0] for entry in env}) == len(env)
        if unique:
            ports, env = tuple(sorted(ports, key=_first)), tuple(sorted(env, key=_first))
        return cls(container["name"], container["image"], ports, env, unique)

    def facts(self, values: Mapping[str, str | int]) -> ContainerFacts:
        """The container's facts, each slot filled with the server's value."""
        ports = tuple(
            PortFacts(name, int(_filled(container_port, values)), protocol, int(_filled(host_port, values)))
            for name, container_port, protocol, host_port in self.ports
        )
        env = tuple((name, str(_filled(value, values))) for name, value in self.env)
        if not self.sorted_by_name:
            ports, env = tuple(sorted(ports)), tuple(sorted(env))
        return ContainerFacts(self.name, self.image, ports, env)


@dataclass(frozen=True, slots=True)
class _PodPlan:
    hash_label: str  # the template-hash label
    containers: tuple[_ContainerPlan, ...]

    @classmethod
    def of(cls, pod: dict[str, Any]) -> _PodPlan:
        containers = tuple(_ContainerPlan.of(container) for container in pod["spec"]["containers"])
        return cls(pod["metadata"]["labels"][TEMPLATE_HASH_LABEL], containers)


def _first(item: tuple[Any, ...]) -> Any:
    return item[0]


def _filled(value: Any, values: Mapping[str, str | int]) -> Any:
    return values[value.name] if isinstance(value, Slot) else value
