"""Rules: models -> validated pools, checking what spans fields, documents and pools.

A pool's own rules are in `pool_rules`, a fleet's in `fleet_rules`; here are the sources they build and
the rules across documents and pools. Every rule reports through the document it read, so each message
carries `file:line:column`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..diagnostics import Diagnostic, error
from ..kube import api
from ..kube.quantity import parse_quantity, to_bytes, to_millicores
from ..kube.requests import effective_requests
from . import pod_security
from .agones_sdk import rendered_template
from .fleet_rules import container_names, fleet_problems
from .load import Document, Loaded, PoolFolder
from .model import API_VERSION, Fleet, Node, NodePool
from .parse import parse_document
from .pool_rules import pool_problems, reserved_spans, shared_address
from .template_rules import template_problems


@dataclass(frozen=True, slots=True)
class FleetSource:
    """A valid Fleet, where it came from, and what the allocator needs to know of its Pods."""

    model: Fleet
    document: Document
    container: str
    cpu_milli: int
    memory_bytes: int

    @property
    def name(self) -> str:
        return self.model.metadata.name


@dataclass(frozen=True, slots=True)
class PoolSource:
    """A valid NodePool with its fleets (sorted by name) and its previous lock."""

    model: NodePool
    document: Document
    folder: Path
    fleets: tuple[FleetSource, ...]
    reserved: tuple[tuple[int, int], ...]
    node_cpu_milli: tuple[int | None, ...]
    node_memory_bytes: tuple[int | None, ...]
    lock_path: Path
    lock_text: str | None

    @property
    def name(self) -> str:
        return self.model.metadata.name

    @property
    def addresses(self) -> dict[str, str]:
        """Node name -> the address clients dial."""
        return {node.name: node.address for node in self.model.spec.nodes}


@dataclass(frozen=True, slots=True)
class Validated:
    pools: tuple[PoolSource, ...]
    diagnostics: tuple[Diagnostic, ...]


def validate_fleets(loaded: Loaded, kubernetes_version: str, vouched: Collection[str] = ()) -> Validated:
    """Every problem in every file, in one pass; pools come back only when the whole input is valid.

    The pools named in `vouched` are ones a render already checked in these very files, with this code and
    Kubernetes version (the stamp says so): their models are built for the rules across pools, but their
    own rules are not run again, so their warnings are left to the caller, who has them from the stamp.
    On any error every pool's own rules are run, so that the warnings are shown beside it as always.
    """
    diagnostics = list(loaded.diagnostics)
    pools: list[PoolSource] = []
    unreadable = {d.path for d in loaded.diagnostics if d.is_error}
    for folder in loaded.pools:
        pool, found = _validate_pool(folder, kubernetes_version, unreadable, folder.name in vouched)
        diagnostics += found
        if pool is not None:
            pools.append(pool)
    diagnostics += _cross_pool_problems(pools)
    diagnostics += pod_security.shared_namespace_problems((pool.model, pool.document) for pool in pools)
    if vouched and any(d.is_error for d in diagnostics):
        return validate_fleets(loaded, kubernetes_version)
    return Validated(tuple(pools), tuple(sorted(set(diagnostics))))


def _validate_pool(
    folder: PoolFolder, version: str, unreadable: set[str], vouched: bool
) -> tuple[PoolSource | None, list[Diagnostic]]:
    diagnostics: list[Diagnostic] = []
    pool_models = []
    for document in folder.pool_documents:
        model, found = parse_document(document, ("NodePool",))
        diagnostics += found
        if model is not None:
            pool_models.append((model, document))
    if len(folder.pool_documents) > 1:
        extra = folder.pool_documents[1]
        diagnostics.append(extra.error((), "pool.yaml must hold exactly one NodePool", "move Fleets to their own file"))
    pool_file = folder.folder / "pool.yaml"
    if not folder.pool_documents and str(pool_file) not in unreadable:
        hint = f"write the pool's NodePool in it (apiVersion: {API_VERSION}, kind: NodePool, metadata, spec)"
        diagnostics.append(error(str(pool_file), 1, 1, "pool.yaml holds no NodePool document", hint))
    fleets = _parse_fleets(folder.fleet_documents, diagnostics)
    if len(pool_models) != 1:
        return None, diagnostics
    pool, document = pool_models[0]
    reserved = tuple(sorted(reserved_spans(pool)))
    never_allocated = tuple(sorted({*reserved, *reserved_spans(pool, "nodeDaemonPorts")}))
    sources = []
    if vouched:
        sources = [_fleet_source(fleet, fleet_document) for fleet, fleet_document in fleets]
    else:
        diagnostics += pool_problems(pool, document, folder.name)
        diagnostics += pod_security.pool_problems(pool, document, version)
        for fleet, fleet_document in fleets:
            found = list(fleet_problems(fleet, fleet_document, pool, reserved, version))
            diagnostics += found
            if not any(d.is_error for d in found):
                sources.append(_fleet_source(fleet, fleet_document))
        diagnostics += _duplicate_fleet_names(fleets)
    cpu = tuple(_quantity(n.capacity.cpu, to_millicores) for n in pool.spec.nodes)
    memory = tuple(_quantity(n.capacity.memory, to_bytes) for n in pool.spec.nodes)
    source = PoolSource(
        pool,
        document,
        folder.folder,
        tuple(sorted(sources, key=_fleet_name)),
        never_allocated,
        cpu,
        memory,
        folder.lock_path,
        folder.lock_text,
    )
    return source, diagnostics


def _fleet_name(source: FleetSource) -> str:
    return source.name


def _parse_fleets(documents: Iterable[Document], diagnostics: list[Diagnostic]) -> list[tuple[Fleet, Document]]:
    fleets = []
    for document in documents:
        model, found = parse_document(document, ("Fleet",))
        diagnostics += found
        if isinstance(model, Fleet):
            fleets.append((model, document))
    return fleets


def _duplicate_fleet_names(fleets: list[tuple[Fleet, Document]]) -> Iterator[Diagnostic]:
    first: dict[str, Document] = {}
    for fleet, document in fleets:
        name = fleet.metadata.name
        if name in first:
            other = first[name]
            line, _ = other.position(("metadata", "name"))
            yield document.error(
                ("metadata", "name"),
                f"fleet {name!r} is already defined in {other.path}:{line}",
                "give each fleet of a pool its own name",
            )
        else:
            first[name] = document


def _quantity(value: str | int | float | None, convert: Any) -> int | None:
    if value is None:
        return None
    amount = parse_quantity(value)
    return None if amount is None else convert(amount)


def _fleet_source(fleet: Fleet, document: Document) -> FleetSource:
    containers = container_names(fleet.spec.template)
    container = fleet.spec.container or containers[0]
    cpu, memory = effective_requests(rendered_template(fleet.spec).get("spec", {}))
    return FleetSource(fleet, document, container, cpu, memory)


def revision_source(fleet: FleetSource, template: Any, version: str) -> FleetSource | None:
    """The fleet as it was with an earlier template (one a lock keeps), all else as its file says now; None
    when that template is not one a fleet may have (a lock edited by hand), so that it is never rendered."""
    if not isinstance(template, dict):
        return None
    model = _with_template(fleet.model, template)
    if any(problem.is_error for problem in template_problems(model, fleet.document, version)):
        return None
    return _fleet_source(model, fleet.document)


def with_template(fleet: FleetSource, template: dict[str, Any]) -> FleetSource:
    """The fleet with another template, one a compile has vouched for (`revision_source`)."""
    return _fleet_source(_with_template(fleet.model, template), fleet.document)


def _with_template(fleet: Fleet, template: dict[str, Any]) -> Fleet:
    return fleet.model_copy(update={"spec": fleet.spec.model_copy(update={"template": template})})


# --- Across pools --------------------------------------------------------------------------------------


def _cross_pool_problems(pools: list[PoolSource]) -> Iterator[Diagnostic]:
    for pool, index, other, other_index in _nodes_in_two_pools(pools, _node_name):
        line, _ = other.document.position(("spec", "nodes", other_index, "name"))
        name = pool.model.spec.nodes[index].name
        yield pool.document.error(
            ("spec", "nodes", index, "name"),
            f"node {name!r} already belongs to pool {other.name!r} ({other.document.path}:{line})",
            "a node belongs to one pool only",
        )
    for pool, index, other, other_index in _nodes_in_two_pools(pools, _node_address):
        yield shared_address(
            pool.document,
            ("spec", "nodes", index),
            pool.model.spec.nodes[index].name,
            other.document,
            ("spec", "nodes", other_index),
            other.model.spec.nodes[other_index].name,
            other.name,
        )
    fleet_home: dict[tuple[str | None, str, str], tuple[PoolSource, FleetSource]] = {}
    for pool in pools:
        for fleet in pool.fleets:
            key = (pool.model.spec.cluster, pool.model.spec.namespace, fleet.name)
            if key in fleet_home and fleet_home[key][0] is not pool:
                other_pool, other = fleet_home[key]
                line, _ = other.document.position(("metadata", "name"))
                yield fleet.document.error(
                    ("metadata", "name"),
                    f"fleet {fleet.name!r} also exists in pool {other_pool.name!r} "
                    f"({other.document.path}:{line}), in the same namespace "
                    f"{key[1]!r}: their Pods would collide",
                    "rename one fleet or give the pools different namespaces",
                )
            else:
                fleet_home.setdefault(key, (pool, fleet))


def _node_name(node: Node) -> str | None:
    return node.name


def _node_address(node: Node) -> str | None:
    return api.canonical_address(node.address)


def _nodes_in_two_pools(
    pools: list[PoolSource], key: Callable[[Node], str | None]
) -> Iterator[tuple[PoolSource, int, PoolSource, int]]:
    """(pool, node index, other pool, its node index) for each node whose key a node of an earlier pool holds."""
    first: dict[str, tuple[PoolSource, int]] = {}
    for pool in pools:
        for index, node in enumerate(pool.model.spec.nodes):
            value = key(node)
            if value is None:
                continue
            if value in first and first[value][0] is not pool:
                yield pool, index, *first[value]
            first.setdefault(value, (pool, index))
