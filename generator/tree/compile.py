"""Compile: validated pools + their previous locks -> desired files and new locks. Pure: no I/O here.

render, check and plan all run this and differ only in what they do with the result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from ..allocation.allocate import locked_servers
from ..allocation.lock import lock_text, parse_lock
from ..allocation.placement import allocate_honestly, pool_spec, workers_for
from ..allocation.rollout import FleetRevisions
from ..allocation.shortfall import TAINTS_RESOURCE
from ..allocation.spec import Allocation
from ..allocation.usage import Use, pool_usage
from ..diagnostics import Diagnostic, error, warning
from ..fleetfiles.model import MANAGED_BY_LABEL
from ..fleetfiles.rules import PoolSource, Validated
from ..kube.api import canonical_address
from ..manifests.admission import admission_objects, plan_notice
from ..manifests.delivery import GitOpsSource, delivery_files, target
from ..manifests.firewall import firewall_objects
from ..manifests.firewall_plan import unused_ports
from ..manifests.render import (
    MANAGER,
    POOL_LABEL,
    PodShapes,
    canonical,
    endpoints_configmaps,
    fleet_units,
    network_unit,
    pod_shapes,
    unit_files,
)
from ..manifests.verify import verify_pool
from ..parallel import ordered_map
from .record import PoolRecord
from .revisions import pool_revisions, revision_sources
from .survey import content_digests


@dataclass(frozen=True, slots=True)
class PoolOutput:
    """Everything fleetgen owns for one pool: files under rendered/<pool>/ and the lock text."""

    source: PoolSource
    allocation: Allocation
    files: dict[str, bytes]
    lock_text: str
    firewall_unused: tuple[str, ...]  # plan's lines on ports a quota opens that no server uses
    revisions: Mapping[str, FleetRevisions]  # fleet -> what the new lock says of it
    usage: tuple[Use, ...]  # the pool's resources in use, for its record
    digests: Mapping[str, bytes]  # path in `files` -> sha256 of its bytes, for the stamp

    @property
    def name(self) -> str:
        return self.source.name

    def pod_shapes(self) -> PodShapes:
        """Each fleet's Pod shape for every revision its servers run, and which one each server runs."""
        return pod_shapes(self.source, self.revisions, revision_sources(self.source, self.revisions))

    def record(self, diagnostics: Iterable[Diagnostic]) -> PoolRecord:
        """What a later render needs of this pool to reuse it; `diagnostics` are the whole render's.

        The record keeps the warnings a render of the pool as written would print again: those about the
        old lock (unreadable, not kept) are gone once the new lock is written, so they are left out.
        """
        source, servers = self.source, self.allocation.servers
        folder, lock = source.folder, str(source.lock_path)
        return PoolRecord(
            name=self.name,
            cluster=source.model.spec.cluster,
            namespace=source.model.spec.namespace,
            nodes=tuple(node.name for node in source.model.spec.nodes),
            addresses=tuple(canonical_address(node.address) or node.address for node in source.model.spec.nodes),
            units=tuple(sorted({path.split("/", 1)[0] for path in self.files})),
            servers=len(servers),
            nodes_used=len({server.node for server in servers}),
            usage=self.usage,
            firewall_unused=self.firewall_unused,
            pod_security=plan_notice(source.model),
            diagnostics=tuple(sorted(d for d in diagnostics if Path(d.path).is_relative_to(folder) and d.path != lock)),
        )


@dataclass(frozen=True, slots=True)
class Compiled:
    pools: tuple[PoolOutput, ...]  # the pools rendered this time
    diagnostics: tuple[Diagnostic, ...]  # all of them, reused pools' warnings included, as a full render's
    delivery: dict[str, bytes] = field(default_factory=dict)  # files under rendered/_delivery/
    records: tuple[PoolRecord, ...] = ()  # every pool's, rendered or reused, by name
    reused: frozenset[str] = frozenset()  # pools left as they are on disk
    gitops: GitOpsSource | None = None  # the delivery settings, when there are any
    workers: int = 1  # processes the pools compiled on; the sinks spread their per-pool work as wide

    @property
    def reused_files(self) -> int:
        """The files of the reused pools, unchanged by definition: one manifest a unit."""
        return sum(len(record.units) for record in self.records if record.name in self.reused)

    @property
    def shared_diagnostics(self) -> tuple[Diagnostic, ...]:
        """The diagnostics of no pool (gitops.yaml's): the stamp keeps them beside the pools' records."""
        held = {d for record in self.records for d in record.diagnostics}
        folders = [pool.source.folder for pool in self.pools]
        return tuple(
            d for d in self.diagnostics if d not in held and not any(Path(d.path).is_relative_to(f) for f in folders)
        )


def compile_pools(
    validated: Validated,
    kubernetes_version: str,
    gitops: GitOpsSource | None = None,
    reused: Sequence[PoolRecord] = (),
    jobs: int = 0,
) -> Compiled:
    """The whole render in memory; any error diagnostic means nothing may be written.

    `reused` are the records of pools the stamp vouches for: they are not in `validated`, their files stay
    as they are, and they take part only in the delivery objects and the diagnostics. Pools compile on
    `jobs` processes (0: one per core once there are PARALLEL_FROM servers); the output is the same.
    """
    diagnostics = list(validated.diagnostics)
    outputs = []
    compile_one = partial(_compile_pool, kubernetes_version=kubernetes_version)
    workers = workers_for(validated.pools, jobs)
    weights = [sum(fleet.model.spec.replicas for fleet in pool.fleets) for pool in validated.pools]
    for pool, parts in zip(validated.pools, ordered_map(compile_one, validated.pools, workers, weights), strict=True):
        outputs.append(
            PoolOutput(
                pool,
                parts.allocation,
                parts.files,
                parts.lock_text,
                parts.firewall_unused,
                parts.revisions,
                parts.usage,
                parts.digests,
            )
        )
        diagnostics += parts.diagnostics
    diagnostics += [d for record in reused for d in record.diagnostics]
    records = sorted([*(out.record(diagnostics) for out in outputs), *reused], key=_record_name)
    delivery: dict[str, bytes] = {}
    if gitops is not None:
        delivery, found = delivery_files(
            gitops, [target(gitops, r.name, r.cluster, r.namespace, r.units) for r in records]
        )
        diagnostics += found
    reused_names = frozenset(record.name for record in reused)
    found = tuple(sorted(set(diagnostics)))
    return Compiled(tuple(outputs), found, delivery, tuple(records), reused_names, gitops, workers)


def _record_name(record: PoolRecord) -> str:
    return record.name


@dataclass(frozen=True, slots=True)
class _PoolParts:
    """What compiling a pool adds to its source: all a worker process needs to send back, with what the
    parent would otherwise derive from it server by server or byte by byte (usage, digests) already done."""

    allocation: Allocation
    files: dict[str, bytes]
    lock_text: str
    firewall_unused: tuple[str, ...]
    diagnostics: list[Diagnostic]
    revisions: Mapping[str, FleetRevisions]
    usage: tuple[Use, ...]
    digests: dict[str, bytes]


def _compile_pool(pool: PoolSource, kubernetes_version: str) -> _PoolParts:
    previous = parse_lock(pool.lock_text or "")
    diagnostics = [warning(str(pool.lock_path), 0, 0, message) for message in previous.warnings]
    spec = pool_spec(pool)
    allocation, moved = allocate_honestly(spec, previous.entries)
    if moved:
        message = f"pool {pool.name!r}: the locked placement cannot all be kept; placed afresh, {moved} servers move"
        diagnostics.append(warning(str(pool.lock_path), 0, 0, message, "review the moves with `fleetgen plan`"))
    diagnostics += _allocation_diagnostics(pool, allocation)
    revisions = pool_revisions(pool, allocation, previous, kubernetes_version)
    lock_path = str(pool.lock_path)
    diagnostics += [warning(lock_path, 0, 0, f"pool {pool.name!r}: {message}") for message in revisions.warnings]
    shapes = pod_shapes(pool, revisions.fleets, revision_sources(pool, revisions.fleets))
    units = fleet_units(pool, allocation, shapes)
    network_objects = endpoints_configmaps(pool, allocation) + firewall_objects(pool, allocation)
    network_objects += _security_objects(pool)
    network = network_unit(network_objects)
    if network is not None:
        units.append(network)
    diagnostics += verify_pool(pool, allocation, shapes, network_objects, kubernetes_version)
    fleets = revisions.fleets
    lock = lock_text(locked_servers(allocation, spec, fleets), (fleet.locked() for fleet in fleets.values()))
    unused = unused_ports(pool, allocation, network_objects)
    files = unit_files(pool, units)
    digests = content_digests(files)
    usage = pool_usage(pool, allocation)
    return _PoolParts(allocation, files, lock, unused, diagnostics, fleets, usage, digests)


def _allocation_diagnostics(pool: PoolSource, allocation: Allocation) -> list[Diagnostic]:
    fleets = {fleet.name: fleet for fleet in pool.fleets}
    found = [warning(pool.document.path, 0, 0, f"pool {pool.name!r}: {message}") for message in allocation.warnings]
    lock = str(pool.lock_path)
    found += [warning(lock, 0, 0, f"pool {pool.name!r}: {message}") for message in allocation.lock_warnings]
    found += [
        warning(lock, repair.line, 1 if repair.line else 0, f"pool {pool.name!r}: {repair.message}", repair.hint)
        for repair in allocation.lock_repairs
    ]
    for shortfall in allocation.shortfalls:
        fleet = fleets[shortfall.fleet]
        line, column = fleet.document.position(("spec", "replicas"))
        message = (
            f"pool {pool.name!r}, fleet {shortfall.fleet!r}: {shortfall.unplaced} server(s) do not fit: "
            f"{shortfall.resource} ran out (needed {shortfall.needed}, available {shortfall.available})"
        )
        hint = _capacity_hint(shortfall.resource)
        found.append(error(fleet.document.path, line, column, message, hint))
    return found


def _capacity_hint(resource: str) -> str:
    if resource.startswith("ports"):
        return "lower replicas, add nodes, or widen the range in pool.yaml (portRanges)"
    if resource.startswith("Static port"):
        return "a Static port fits once per node: lower replicas or add nodes"
    if resource.startswith(("nodes matching", "schedulable nodes")):
        return "label more nodes in pool.yaml, or change the fleet's nodeSelector"
    if resource.startswith(TAINTS_RESOURCE):
        return "add a toleration for the taint to the fleet's template, or untaint nodes in pool.yaml"
    return f"lower replicas, lower the Pods' {resource} requests, or add nodes or {resource} capacity"


def _security_objects(pool: PoolSource) -> list[dict[str, Any]]:
    """The pool's Namespace (when managed) and Pod security admission policy, labelled like its other objects."""
    labels = {MANAGED_BY_LABEL: MANAGER, POOL_LABEL: pool.name}
    fleets = [fleet.model for fleet in pool.fleets]
    return [canonical(obj) for obj in admission_objects(pool.model, fleets, labels)]
