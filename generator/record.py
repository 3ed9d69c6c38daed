"""Pool records: what a render keeps of each pool, so that a later render can reuse an unchanged pool unread.

A record holds what the rest of the repository needs of a pool: where its Pods go (cluster, namespace,
nodes) for the rules that span pools, its units for the delivery objects, the line render prints for it,
and the warnings a full render would print again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .diagnostics import Diagnostic, Severity


@dataclass(frozen=True, slots=True)
class PoolRecord:
    name: str
    cluster: str | None
    namespace: str
    nodes: tuple[str, ...]
    units: tuple[str, ...]
    summary: str
    diagnostics: tuple[Diagnostic, ...]

    def to_json(self, fleets: Path) -> dict[str, Any]:
        """Diagnostic paths relative to the fleets folder, so a record does not care how it was spelled."""
        return {
            "name": self.name,
            "cluster": self.cluster,
            "namespace": self.namespace,
            "nodes": list(self.nodes),
            "units": list(self.units),
            "summary": self.summary,
            "diagnostics": diagnostics_to_json(self.diagnostics, fleets),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], fleets: Path) -> PoolRecord:
        """Raises KeyError, TypeError or ValueError on a record that is not one (the stamp is then ignored)."""
        cluster = data["cluster"]
        return cls(
            name=_text(data["name"]),
            cluster=None if cluster is None else _text(cluster),
            namespace=_text(data["namespace"]),
            nodes=tuple(_text(node) for node in data["nodes"]),
            units=tuple(_text(unit) for unit in data["units"]),
            summary=_text(data["summary"]),
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
        if not (isinstance(inside, bool) and isinstance(line, int) and isinstance(column, int)):
            raise TypeError("a diagnostic's flag, line and column must be a boolean and numbers")
        shown = str(fleets / _text(path)) if inside else _text(path)
        found.append(Diagnostic(shown, line, column, _text(message), _text(hint), Severity(severity)))
    return tuple(sorted(found))


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {type(value).__name__}")
    return value


def pools_overlap(records: Iterable[PoolRecord]) -> bool:
    """Whether two pools share a node or a namespace of one cluster: the rules that span pools must then read
    both pools' files to say exactly where (reused pools are only vouched for one by one)."""
    nodes: set[str] = set()
    namespaces: set[tuple[str | None, str]] = set()
    for record in records:
        place = (record.cluster, record.namespace)
        if place in namespaces or not nodes.isdisjoint(record.nodes):
            return True
        namespaces.add(place)
        nodes.update(record.nodes)
    return False
