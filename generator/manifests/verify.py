"""Verify: what we rendered passes Kubernetes' schemas and the API server's own rules.

Schemas are checked once per Pod shape (a fleet's Pods differ only in names, node and numbers), and
`kube.shapes` skips an object whose shape a schema already found valid (another fleet's Pod, another
unit's ConfigMap); the rules schemas miss (names, label values, port numbers, one (hostPort, protocol) per
node) are checked on every server, independently of the allocator, so an allocator bug cannot reach the
cluster.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ..allocation.spec import Allocation, Server
from ..diagnostics import Diagnostic, error
from ..fleetfiles.model import Port
from ..fleetfiles.rules import PoolSource
from ..kube import api, crds
from .emit import Slot
from .firewall_plan import pool_coverage_problems
from .render import PodShapes, pod_object

INTERNAL = "internal error (please report it): "
INTERNAL_HINT = "the fleet files are not at fault: report this with them, and keep the previous rendered/"


def fill(value: Any, values: dict[str, Any]) -> Any:
    """`value` with every Slot replaced by its value: the real object one server gets."""
    if isinstance(value, Slot):
        return values[value.name]
    if isinstance(value, dict):
        return {key: fill(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [fill(item, values) for item in value]
    return value


def verify_pool(
    pool: PoolSource,
    allocation: Allocation,
    shapes: PodShapes,
    others: Iterable[dict[str, Any]],
    kubernetes_version: str,
) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    addresses = pool.addresses
    first_servers: dict[int, Server] = {}  # one server of each shape: every revision a server runs
    for server, shape in shapes.each(allocation.servers):
        first_servers.setdefault(id(shape), server)
    for server in first_servers.values():
        shape = shapes.of(server)
        pod = fill(pod_object(pool, shape.fleet), shape.values(server, addresses[server.node]))
        for problem in api.validate_object(pod, kubernetes_version):
            where = ".".join(str(p) for p in problem.path)
            found.append(
                shape.fleet.document.error(
                    (), f"rendered Pod {server.name} is invalid at {where}: {problem.message}", problem.hint
                )
            )
    others = list(others)
    for obj in others:
        for problem in schema_problems(obj, kubernetes_version):
            where = ".".join(str(p) for p in problem.path)
            name = obj["metadata"]["name"]
            found.append(
                error(
                    pool.document.path,
                    0,
                    0,
                    f"{INTERNAL}rendered {obj['kind']} {name} at {where}: {problem.message}",
                    INTERNAL_HINT,
                )
            )
    broken = [*conflicts(pool, allocation), *pool_coverage_problems(pool, allocation, others)]
    found += [error(pool.document.path, 0, 0, INTERNAL + message, INTERNAL_HINT) for message in broken]
    return found


def schema_problems(obj: dict[str, Any], kubernetes_version: str) -> list[api.SchemaProblem]:
    """A provider's object against its CRD's schema; Kubernetes' own kinds against kubernetes-validate."""
    if crds.knows(obj):
        return crds.validate_object(obj)
    if (obj.get("apiVersion"), obj.get("kind")) == ("v1", "ConfigMap"):
        return _config_map_problems(obj, kubernetes_version)
    return api.validate_object(obj, kubernetes_version)


def _config_map_problems(obj: dict[str, Any], kubernetes_version: str) -> list[api.SchemaProblem]:
    """By shape, like Pods: the schema sees the ConfigMap with one data entry (an endpoints ConfigMap holds
    a thousand, each a walk through jsonschema), and every entry gets the API server's rules: a config
    key, a string value, and all values within the size limit."""
    data = obj.get("data")
    if not isinstance(data, dict) or not data:
        return api.validate_object(obj, kubernetes_version)
    first = min(data)
    found = api.validate_object({**obj, "data": {first: data[first]}}, kubernetes_version)
    strings = set(map(type, data.values())) == {str}
    if not (strings and api.config_map_keys_valid(data)):  # else no entry has a problem: skip the walk
        found += _entry_problems(data)
    if strings:
        size = len("".join(data.values()).encode())
    else:
        size = sum(len(value.encode()) for value in data.values() if isinstance(value, str))
    if size > api.CONFIG_MAP_MAX_BYTES:
        found.append(api.SchemaProblem(("data",), f"values add up to {size} bytes, over {api.CONFIG_MAP_MAX_BYTES}"))
    return found


def _entry_problems(data: dict[Any, Any]) -> list[api.SchemaProblem]:
    """The API server's rules on each entry of a ConfigMap's data: a config key and a string value."""
    found = []
    for key, value in sorted(data.items()):
        problem = api.config_map_key_problem(key) if isinstance(key, str) else "must be a string"
        if problem:
            found.append(api.SchemaProblem(("data", key), f"key {problem}"))
        if not isinstance(value, str):
            found.append(api.SchemaProblem(("data", key), f"must be a string, not {type(value).__name__}"))
    return found


def conflicts(pool: PoolSource, allocation: Allocation) -> Iterator[str]:
    """Every broken guarantee: a number twice on a node, outside its range, reserved, or a bad name.

    A port's number is judged against its spec once per (fleet, port, number), and against reservedPorts
    once per number, as the same numbers recur on many nodes; only the holder of each (node, number) is looked
    up per server."""
    port_specs = {fleet.name: {port.name: port for port in fleet.model.spec.ports} for fleet in pool.fleets}
    ranges = {name: (r.min, r.max) for name, r in pool.model.spec.portRanges.items()}
    judged: dict[tuple[str, str, int], tuple[str, ...]] = {}
    reserved = _Reserved(pool.reserved)
    holders: dict[tuple[str, int], tuple[str, str]] = {}
    for server in allocation.servers:
        name, node, fleet = server.name, server.node, server.fleet
        name_problem = api.dns1123_label_problem(name)
        if name_problem:
            yield f"server name {name!r} {name_problem}"
        for port_name, number in server.host_ports:
            holder = (name, port_name)
            owner = holders.setdefault((node, number), holder)
            if owner is not holder and owner != holder:
                yield f"hostPort {number} on node {node} is held by {owner[0]}/{owner[1]} and {name}/{port_name}"
            problems = judged.get((fleet, port_name, number))
            if problems is None:
                problems = judged[fleet, port_name, number] = _number_problems(
                    port_specs[fleet][port_name], number, ranges, reserved
                )
            for problem in problems:
                yield f"{name}/{port_name} {problem}"


class _Reserved(dict[int, bool]):
    """Whether a reservedPorts span holds a number, worked out once per number."""

    def __init__(self, spans: Iterable[tuple[int, int]]) -> None:
        super().__init__()
        self._spans = tuple(spans)

    def __missing__(self, number: int) -> bool:
        held = self[number] = any(low <= number <= high for low, high in self._spans)
        return held


def _number_problems(
    spec: Port, number: int, ranges: dict[str, tuple[int, int]], reserved: _Reserved
) -> tuple[str, ...]:
    """What is wrong with a port of this spec holding `number`, whichever server holds it."""
    found = []
    if spec.portPolicy == "Static" and number != spec.hostPort:
        found.append(f"got {number} instead of its Static port {spec.hostPort}")
    if spec.portPolicy != "Static" and not ranges[spec.range][0] <= number <= ranges[spec.range][1]:
        found.append(f"got {number}, outside range {spec.range!r}")
    if reserved[number]:
        found.append(f"got reserved port {number}")
    return tuple(found)
