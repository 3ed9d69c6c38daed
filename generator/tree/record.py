"""Pool records: what a render keeps of each pool, so that a later render can reuse an unchanged pool unread.

A record holds what the rest of the repository needs of a pool: where its Pods go (cluster, namespace,
nodes) for the rules that span pools, its units for the delivery objects, what render and plan print for
it when it does not change, and the warnings a full render would print again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..allocation.usage import Use
from ..diagnostics import Diagnostic, Severity


@dataclass(frozen=True, slots=True)
class PoolRecord:
    name: str
    cluster: str | None
    namespace: str
    nodes: tuple[str, ...]
    addresses: tuple[str, ...]  # the nodes' addresses, one spelling each (kube.api.canonical_address)
    units: tuple[str, ...]
    servers: int
    nodes_used: int
    usage: tuple[Use, ...]  # as plan prints it for a pool that does not change
    firewall_unused: tuple[str, ...]
    pod_security: tuple[bool, str]
    diagnostics: tuple[Diagnostic, ...]

    @property
    def summary(self) -> str:
        """The line render prints for the pool."""
        return f"{self.name}: {self.servers} servers on {self.nodes_used} nodes, {len(self.units)} units"

    def to_json(self, fleets: Path) -> dict[str, Any]:
        """Diagnostic paths relative to the fleets folder, so a record does not care how it was spelled."""
        return {
            "name": self.name,
            "cluster": self.cluster,
            "namespace": self.namespace,
            "nodes": list(self.nodes),
            "addresses": list(self.addresses),
            "units": list(self.units),
            "servers": self.servers,
            "nodes_used": self.nodes_used,
            "usage": [[use.resource, use.used, use.total, use.unit] for use in self.usage],
            "firewall_unused": list(self.firewall_unused),
            "pod_security": list(self.pod_security),
            "diagnostics": diagnostics_to_json(self.diagnostics, fleets),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], fleets: Path) -> PoolRecord:
        """Raises KeyError, TypeError or ValueError on a record that is not one (the stamp is then ignored)."""
        cluster = data["cluster"]
        bold, notice = data["pod_security"]
        return cls(
            name=expect_text(data["name"]),
            cluster=None if cluster is None else expect_text(cluster),
            namespace=expect_text(data["namespace"]),
            nodes=_texts(data["nodes"]),
            addresses=_texts(data["addresses"]),
            units=_texts(data["units"]),
            servers=_number(data["servers"]),
            nodes_used=_number(data["nodes_used"]),
            usage=tuple(
                Use(expect_text(resource), _number(used), _number(total), expect_text(unit))
                for resource, used, total, unit in data["usage"]
            ),
            firewall_unused=_texts(data["firewall_unused"]),
            pod_security=(_flag(bold), expect_text(notice)),
            diagnostics=diagnostics_from_json(data["diagnostics"], fleets),
        )


def diagnostics_to_json(diagnostics: Iterable[Diagnostic], fleets: Path) -> list[list[Any]]:
    """One row per diagnostic; a path inside the fleets folder is kept relative to it (flag true)."""
    rows = []
    for d in sorted(diagnostics):
        path = Path(d.path)
        inside = path.is_relative_to(fleets)
        shown = path.relative_to(fleets).as_posix() if inside else d.path
        rows.append([shown, inside, d.line, d.column, d.message, d.hint, d.severity.value])
    return rows


def diagnostics_from_json(rows: Iterable[Any], fleets: Path) -> tuple[Diagnostic, ...]:
    found = []
    for path, inside, line, column, message, hint, severity in rows:
        shown = str(fleets / expect_text(path)) if _flag(inside) else expect_text(path)
        found.append(
            Diagnostic(
                shown, _number(line), _number(column), expect_text(message), expect_text(hint), Severity(severity)
            )
        )
    return tuple(sorted(found))


def expect_text(value: object) -> str:
    """`value` when it is a string; a TypeError for a record that is not one."""
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {type(value).__name__}")
    return value


def _texts(values: Iterable[object]) -> tuple[str, ...]:
    """`values` when every one is a string (a pool's hundred node names: checked in one pass, not a call each)."""
    found = tuple(values)
    if not all(isinstance(value, str) for value in found):
        raise TypeError("expected a list of text")
    return found  # type: ignore[return-value]


def _number(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    return value


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {type(value).__name__}")
    return value


def pools_overlap(records: Iterable[PoolRecord]) -> bool:
    """Whether two pools share a node, a node address or a namespace of one cluster: the rules that span pools
    must then read both pools' files to say exactly where (reused pools are only vouched for one by one)."""
    nodes: set[str] = set()
    addresses: set[str] = set()
    namespaces: set[tuple[str | None, str]] = set()
    for record in records:
        place = (record.cluster, record.namespace)
        if place in namespaces or not nodes.isdisjoint(record.nodes) or not addresses.isdisjoint(record.addresses):
            return True
        namespaces.add(place)
        nodes.update(record.nodes)
        addresses.update(record.addresses)
    return False
