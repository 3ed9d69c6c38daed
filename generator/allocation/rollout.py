"""Rollout: which template revision each server of a fleet runs, and the waves that bring servers to the newest.

Pure. A revision is named by its template hash, which the caller computes (it is how Pods are labelled); a
template is opaque text here (`lock.template_json`). The allocator has already placed every server: a
rollout never moves one, it only decides which template each renders with.

Rules, for one fleet, at each render:

1. A new server, or one the allocator moved (another node or other numbers), runs the newest revision:
   it is recreated anyway.
2. A template change (the file's template is not the lock's target) makes the file's revision the target
   and starts wave 1: the lowest ordinals among the servers still on another revision, at most the
   wave size. The servers on the previous target stay as they were, byte for byte.
3. Anything else (a scale, a node, no change at all) starts no wave: every other server keeps its revision.
4. Without `spec.rollout`, or when what surrounds the template changed (ports, container, namespace, pin,
   fleetgen's Pod format: every hash changes), every server runs the target at once, as before rollouts.

`next_wave` and `undo` are the lock edits of `fleetgen rollout next` and `rollout undo`: the render that
follows reads them through rule 3. The lock keeps the template of the target, of every revision a server
runs, and of the previous revision (the last one every server ran before the target, for undo).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .lock import LockedFleet, LockedServer, ParsedLock
from .spec import Server


@dataclass(frozen=True, slots=True)
class Current:
    """A fleet as its file says now, and the lock's revisions as they are named now.

    `renamed` maps each revision whose template the lock keeps to the hash that template has today: the same
    name, unless what surrounds the template changed.
    """

    revision: str
    template: str  # lock.template_json of the file's template
    wave_size: int | None  # None: no spec.rollout, a change restarts every server at once
    renamed: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FleetRevisions:
    """What the new lock says of a fleet: its target, the servers on another revision, and the templates kept."""

    fleet: str
    target: str
    wave: int
    previous: str  # "" when undo has nowhere to go
    behind: Mapping[int, str]  # ordinal -> revision, for the servers not on the target
    templates: Mapping[str, str]  # revision -> template_json: the target, the previous one, all of `behind`

    def revision(self, ordinal: int) -> str:
        return self.behind.get(ordinal, self.target)

    def locked(self) -> LockedFleet:
        return LockedFleet(self.fleet, self.target, self.wave, self.previous, self.templates)


def fleet_revisions(
    fleet: str,
    current: Current,
    locked: LockedFleet | None,
    entries: Mapping[int, LockedServer],
    servers: Iterable[Server],
) -> tuple[FleetRevisions, list[str]]:
    """The fleet's revisions after a render that placed `servers`, from the lock's `locked` and `entries`;
    also a warning per server whose revision the lock holds no template of (it takes the target)."""
    renamed = current.renamed
    old_target = renamed.get(locked.target, "") if locked else ""
    at_once = current.wave_size is None or not old_target or any(old != new for old, new in renamed.items())
    changed = bool(old_target) and old_target != current.revision
    revisions: dict[int, str] = {}
    lost: list[str] = []
    for server in servers:
        revision = current.revision
        entry = entries.get(server.ordinal)
        if not at_once and entry is not None and entry.node == server.node and _numbers(entry) == server.host_ports:
            revision = renamed.get(entry.revision, "")
            if not revision:
                lost.append(f"{server.name} runs revision {entry.revision}, whose template the lock does not keep")
                revision = current.revision
        revisions[server.ordinal] = revision
    if changed and not at_once:
        waiting = sorted(ordinal for ordinal, revision in revisions.items() if revision != current.revision)
        revisions.update(dict.fromkeys(waiting[: current.wave_size], current.revision))
    behind = {ordinal: revision for ordinal, revision in revisions.items() if revision != current.revision}
    if changed:
        previous, wave = _previous(locked, entries, renamed), 1
    else:
        previous, wave = (renamed.get(locked.previous, ""), locked.wave) if locked else ("", 0)
    previous = "" if previous == current.revision else previous  # undo would change nothing
    known = {new: locked.templates[old] for old, new in renamed.items()} if locked else {}
    templates = _templates({**known, current.revision: current.template}, current.revision, previous, behind)
    return FleetRevisions(fleet, current.revision, wave, previous, behind, templates), lost


def _previous(locked: LockedFleet | None, entries: Mapping[int, LockedServer], renamed: Mapping[str, str]) -> str:
    """What undo returns to once the target changes: the old target if every server ran it, else the revision
    the lock already kept (the last one every server ran)."""
    if locked is None:
        return ""
    old_target = renamed.get(locked.target, "")
    if all(renamed.get(entry.revision) == old_target for entry in entries.values()):
        return old_target
    return renamed.get(locked.previous, "")


def _numbers(entry: LockedServer) -> tuple[tuple[str, int], ...]:
    return tuple((port.name, port.host_port) for port in entry.ports)


def _templates(known: Mapping[str, str], target: str, previous: str, behind: Mapping[int, str]) -> dict[str, str]:
    """The templates a lock keeps: the target's, the previous revision's and those some server runs."""
    wanted = {target, previous, *behind.values()} - {""}
    return {revision: known[revision] for revision in sorted(wanted) if revision in known}


# --- Lock edits: `rollout next` and `rollout undo` --------------------------------------------------------


def next_wave(lock: ParsedLock, fleet: str, wave_size: int) -> tuple[ParsedLock, tuple[int, ...]]:
    """The lock with the next wave of `fleet` on its target: the lowest ordinals not on it, at most
    `wave_size`; and those ordinals (none when every server already runs the target)."""
    locked = lock.fleets[fleet]
    waiting = sorted(
        o for (name, o), entry in lock.entries.items() if name == fleet and entry.revision != locked.target
    )
    wave = tuple(waiting[:wave_size])
    if not wave:
        return lock, ()
    entries = dict(lock.entries)
    for ordinal in wave:
        entries[fleet, ordinal] = _on(entries[fleet, ordinal], locked.target)
    revisions = {entry.revision for (name, _), entry in entries.items() if name == fleet}
    templates = {r: t for r, t in locked.templates.items() if r in revisions | {locked.target, locked.previous}}
    moved = LockedFleet(fleet, locked.target, locked.wave + 1, locked.previous, templates)
    return ParsedLock(entries, lock.warnings, {**lock.fleets, fleet: moved}), wave


def undo(lock: ParsedLock, fleet: str) -> ParsedLock:
    """The lock with every server of `fleet` on its previous revision, which becomes the target, at once;
    nothing is left to undo after it."""
    locked = lock.fleets[fleet]
    previous = locked.previous
    entries = {key: _on(entry, previous) if key[0] == fleet else entry for key, entry in lock.entries.items()}
    back = LockedFleet(fleet, previous, 0, "", {previous: locked.templates[previous]})
    return ParsedLock(entries, lock.warnings, {**lock.fleets, fleet: back})


def _on(entry: LockedServer, revision: str) -> LockedServer:
    return LockedServer(entry.fleet, entry.ordinal, entry.node, entry.ports, revision, entry.line)
