"""Revisions: a pool's fleets, its lock and its placement -> the template revision each server renders with.

A revision is named by the hash render labels its Pods with (`fleetgen.dev/template-hash`), computed here
for the file's template and for each template the lock keeps, so that a server still on an older revision
renders exactly as it did. The rules of a rollout are in `allocation.rollout`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from ..allocation.lock import LockedFleet, ParsedLock, template_json
from ..allocation.rollout import Current, FleetRevisions, fleet_revisions
from ..allocation.spec import Allocation
from ..fleetfiles.rules import FleetSource, PoolSource, revision_source, with_template
from ..manifests.render import template_hash
from .rollout import fleet_waves

MSG_UNRENDERABLE = (
    "fleet {fleet!r}: the lock's template of revision {revision} is not one a fleet may have; "
    "its servers take the fleet's current template"
)
MSG_LOST = "fleet {fleet!r}: {servers}; they take the fleet's current template"


@dataclass(frozen=True, slots=True)
class PoolRevisions:
    """Each fleet's revisions after this render, and what was wrong with the lock (said as warnings at it)."""

    fleets: Mapping[str, FleetRevisions]
    warnings: tuple[str, ...]


def current_revision(
    pool: PoolSource, fleet: FleetSource, locked: LockedFleet | None, version: str
) -> tuple[Current, list[str]]:
    """The fleet as its file says now, with the name today of every revision the lock keeps; and a warning per
    kept template that cannot be rendered."""
    text = template_json(fleet.model.spec.template)
    renamed, warnings = {}, []
    for old, kept in sorted((locked.templates if locked else {}).items()):
        source = fleet if kept == text else revision_source(fleet, json.loads(kept), version)
        if source is None:
            warnings.append(MSG_UNRENDERABLE.format(fleet=fleet.name, revision=old))
        else:
            renamed[old] = template_hash(pool, source)
    waves = fleet_waves(fleet)
    return Current(template_hash(pool, fleet), text, waves.size if waves else None, renamed), warnings


def revision_sources(pool: PoolSource, fleets: Mapping[str, FleetRevisions]) -> dict[tuple[str, str], FleetSource]:
    """(fleet, revision) -> the fleet with that revision's template, for every revision its servers run."""
    sources = {}
    for fleet in pool.fleets:
        revisions = fleets[fleet.name]
        for revision in sorted({revisions.target, *revisions.behind.values()}):
            template = json.loads(revisions.templates[revision])
            sources[fleet.name, revision] = fleet if revision == revisions.target else with_template(fleet, template)
    return sources


def pool_revisions(pool: PoolSource, allocation: Allocation, previous: ParsedLock, version: str) -> PoolRevisions:
    """Every fleet's revisions after a render that placed `allocation`, the lock it read being `previous`."""
    placed: dict[str, list] = {fleet.name: [] for fleet in pool.fleets}
    for server in allocation.servers:
        placed[server.fleet].append(server)
    entries: dict[str, dict] = {fleet.name: {} for fleet in pool.fleets}
    for (fleet_name, ordinal), entry in previous.entries.items():
        if fleet_name in entries:
            entries[fleet_name][ordinal] = entry
    fleets, warnings = {}, []
    for fleet in pool.fleets:
        locked = previous.fleets.get(fleet.name)
        current, found = current_revision(pool, fleet, locked, version)
        fleets[fleet.name], lost = fleet_revisions(fleet.name, current, locked, entries[fleet.name], placed[fleet.name])
        warnings += found + ([MSG_LOST.format(fleet=fleet.name, servers="; ".join(lost))] if lost else [])
    return PoolRevisions(fleets, tuple(warnings))
