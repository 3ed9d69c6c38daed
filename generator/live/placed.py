"""Placed: the repository -> each pool's servers as `render` places them (node, hostPorts, template revision),
without rendering a Pod when the stamp vouches for every pool.

status and probe need the servers, not the Pods' text. A pool the stamp vouches for was rendered from the
fleet files and the lock that are on disk, and rendering it again with that lock changes nothing
(guarantee 3): its lock lists the very servers of `rendered/`, and its fleet files give their Pods, for the
cost of loading the fleet files, without emitting or validating 150,000 Pods.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..allocation.lock import parse_lock
from ..allocation.rollout import FleetRevisions
from ..allocation.spec import Allocation, Server
from ..diagnostics import has_errors
from ..fleetfiles.rules import PoolSource
from ..manifests.render import PodShapes, pod_shapes
from ..settings import Settings
from ..tree.compile import Compiled
from ..tree.repository import validated_repository
from ..tree.revisions import pool_revisions, revision_sources
from ..tree.stamp import Prior


@dataclass(frozen=True, slots=True)
class PlacedPool:
    source: PoolSource
    allocation: Allocation
    revisions: Mapping[str, FleetRevisions]  # fleet -> the revisions its servers run

    @property
    def name(self) -> str:
        return self.source.name

    def pod_shapes(self) -> PodShapes:
        """Each fleet's Pod shape for every revision its servers run, and which one each server runs."""
        return pod_shapes(self.source, self.revisions, revision_sources(self.source, self.revisions))


def vouched_pools(settings: Settings, prior: Prior) -> list[PlacedPool] | None:
    """Every pool, placed from its lock, when the stamp vouches for the whole repository; None when it does
    not, or when the fleet files no longer validate (the compile then says why, as it always has)."""
    if not prior.whole:
        return None
    validated, _ = validated_repository(settings)
    if has_errors(validated.diagnostics):
        return None
    return [_placed(pool, settings.kubernetes_version) for pool in validated.pools]


def _placed(pool: PoolSource, kubernetes_version: str) -> PlacedPool:
    """The pool as the render that wrote its lock placed it: the lock lists exactly that render's servers, in
    its order (fleet, ordinal), each port in its fleet's order (`allocation.lock.locked_servers`), so the
    allocator need not be asked again."""
    previous = parse_lock(pool.lock_text or "")
    servers = tuple(
        Server(entry.fleet, entry.ordinal, entry.node, tuple((port.name, port.host_port) for port in entry.ports))
        for _, entry in sorted(previous.entries.items())
    )
    allocation = Allocation(pool.name, servers, (), ())
    revisions = pool_revisions(pool, allocation, previous, kubernetes_version)
    return PlacedPool(pool, allocation, revisions.fleets)


def compiled_pools(compiled: Compiled) -> list[PlacedPool]:
    """The pools a compile rendered, as placed."""
    return [PlacedPool(pool.source, pool.allocation, pool.revisions) for pool in compiled.pools]


def fleets_of(pools: Iterable[PlacedPool]) -> set[str]:
    return {fleet.name for pool in pools for fleet in pool.source.fleets}
