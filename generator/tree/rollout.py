"""Rollout: where each fleet's rollout stands (`rollout status`), what a change does to it (plan's lines),
and the lock edits of `rollout next` and `rollout undo`, from the fleet files and the locks.

A lock edit changes only the lock; the render that follows reads it and renders the servers it moved, as the
render of any lock does (`allocation.rollout`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..allocation.lock import LockedFleet, ParsedLock, lock_text, parse_lock, template_json
from ..allocation.rollout import FleetRevisions, next_wave, undo
from ..allocation.spec import Server, plural
from ..diagnostics import Diagnostic, did_you_mean, error
from ..fleetfiles.model import wave_size
from ..fleetfiles.rules import FleetSource, PoolSource, Validated

NOT_RENDERED = "its template changed since the last render; `fleetgen render` starts the rollout's first wave"
HINT_RENDER = "run `fleetgen render` first (it starts wave 1 of the new template), then `fleetgen rollout next`"


@dataclass(frozen=True, slots=True)
class Waves:
    """How a fleet's rollout moves: at most `size` servers a wave, as its spec.rollout says it."""

    size: int
    setting: str  # "maxUnavailable 3", "maxUnavailable 25% (2 servers)"


def fleet_waves(fleet: FleetSource) -> Waves | None:
    """The fleet's waves; None without spec.rollout (a change restarts every server at once)."""
    rollout = fleet.model.spec.rollout
    if rollout is None:
        return None
    value, size = rollout.maxUnavailable, wave_size(rollout.maxUnavailable, fleet.model.spec.replicas)
    shown = f"maxUnavailable {value}" + (f" ({plural(size, 'server')})" if isinstance(value, str) else "")
    return Waves(size, shown)


def revision_label(revision: str, template: str | None) -> str:
    """`17fab334dd (server registry.example.com/game:1.43)`: the hash the Pods carry, and the images a
    reviewer knows the revision by."""
    if template is None:
        return revision
    spec = json.loads(template).get("spec") or {}
    images = [
        f"{container.get('name')} {container.get('image')}"
        for group in ("initContainers", "containers")
        for container in spec.get(group) or []
        if isinstance(container, dict)
    ]
    return f"{revision} ({', '.join(images)})" if images else revision


# --- Plan ------------------------------------------------------------------------------------------------


def rollout_lines(
    previous: ParsedLock,
    servers: Iterable[Server],
    revisions: Mapping[str, FleetRevisions],
    waves: Mapping[str, Waves | None],
) -> tuple[str, ...]:
    """Per fleet whose rollout this change starts, advances, finishes or undoes: which wave of which revision,
    and how many servers restart for it (servers added or moved restart anyway and are not counted)."""
    restarted: Counter[str] = Counter()
    for server in servers:
        old = previous.entries.get((server.fleet, server.ordinal))
        if old is not None and old.revision and old.revision != revisions[server.fleet].revision(server.ordinal):
            restarted[server.fleet] += 1
    behind_before = Counter(
        entry.fleet
        for entry in previous.entries.values()
        if entry.fleet in previous.fleets and entry.revision != previous.fleets[entry.fleet].target
    )
    lines = []
    for name, after in sorted(revisions.items()):
        before = previous.fleets.get(name)
        if before is not None:
            counts = (restarted[name], behind_before[name])
            line = _rollout_line(before, after, counts, waves.get(name))
            lines += [f"{name}: {line}"] if line else []
    return tuple(lines)


def _rollout_line(before: LockedFleet, after: FleetRevisions, counts: tuple[int, int], waves: Waves | None) -> str:
    restarted, behind_before = counts
    target = revision_label(after.target, after.templates.get(after.target))
    restart = f"{plural(restarted, 'server')} restart"
    if after.target != before.target and before.templates.get(before.target) == after.templates.get(after.target):
        if waves is None or not restarted:
            return ""
        return (
            f"every server on {target} at once, not in waves: what surrounds the template changed (ports, "
            f"container, namespace, pin or fleetgen's Pod format), so every Pod is new; {restart}"
        )
    if after.target != before.target and after.wave == 0 and after.target == before.previous:
        return (
            f"undo: every server back to {target} at once, not in waves; {restart}; the fleet file's "
            "spec.template is the one the lock kept for that revision"
        )
    if after.target != before.target or after.wave > before.wave:
        return _wave_line(after, target, restart, waves)
    if behind_before and not after.behind and restarted:
        return f"the rest of the rollout at once, not in waves: the fleet has no spec.rollout; {restart}"
    return ""


def _wave_line(after: FleetRevisions, target: str, restart: str, waves: Waves | None) -> str:
    if waves is None:
        return f"{target} on every server at once (the fleet has no spec.rollout); {restart}"
    total = after.wave + -(-len(after.behind) // waves.size)
    line = f"wave {after.wave} of {total} to {target}: {restart} ({waves.setting})"
    if not after.behind:
        return line + "; every server runs it"
    left = Counter(after.behind.values())
    on = ", ".join(f"{count} on {revision_label(r, after.templates.get(r))}" for r, count in sorted(left.items()))
    return f"{line}; still {on}"


# --- rollout status ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FleetRollout:
    """Where one fleet's rollout stands, from its lock and its file."""

    pool: str
    fleet: str
    locked: LockedFleet | None  # None: the lock says nothing of the fleet yet (never rendered, or a v1 lock)
    servers: Mapping[str, int]  # revision -> servers running it
    rendered: bool  # the file's template is the lock's target
    waves: Waves | None

    def _progress(self, locked: LockedFleet) -> str:
        waves = self.waves
        if waves is None:
            return "no spec.rollout: a template change restarts every server at once"
        behind = sum(count for revision, count in self.servers.items() if revision != locked.target)
        left = -(-behind // waves.size)
        if left:
            done = f"wave {locked.wave} of {locked.wave + left} done, {plural(left, 'wave')} left"
        elif locked.wave:
            done = f"rollout complete in {plural(locked.wave, 'wave')}"
        else:
            done = "no rollout in progress"
        return f"{done} ({waves.setting})"

    def lines(self) -> list[str]:
        """A headline, then one line per revision (target first), then where undo goes."""
        name, locked = f"{self.pool}/{self.fleet}", self.locked
        if locked is None:
            return [f"{name}: not rendered with this fleetgen yet; `fleetgen render` records its revisions"]
        total = sum(self.servers.values())
        on_target = self.servers.get(locked.target, 0)
        state = "every server" if on_target == total else f"{on_target} of {total} servers"
        lines = [f"{name}: {state} on the target; {self._progress(locked)}"]
        if not self.rendered:
            lines.append(f"  {NOT_RENDERED}")
        order = [locked.target, *sorted(r for r in self.servers if r != locked.target)]
        for revision in order:
            role = "target" if revision == locked.target else "older"
            label = revision_label(revision, locked.templates.get(revision))
            lines.append(f"  {role:<6}  {plural(self.servers.get(revision, 0), 'server'):>12}  {label}")
        if locked.previous:
            lines.append(f"  undo returns to {revision_label(locked.previous, locked.templates.get(locked.previous))}")
        return lines


def fleet_rollouts(validated: Validated, targets: Sequence[tuple[str, str]]) -> list[FleetRollout] | Diagnostic:
    """Every fleet's rollout (of `targets`, POOL/FLEET pairs, when given), by pool and fleet; or the target
    that names no fleet."""
    chosen = _chosen(validated, targets)
    if isinstance(chosen, Diagnostic):
        return chosen
    found = []
    for pool, fleet in chosen:
        lock = _lock(pool)
        locked = lock.fleets.get(fleet.name)
        servers = Counter(entry.revision for (name, _), entry in lock.entries.items() if name == fleet.name)
        text = template_json(fleet.model.spec.template)
        rendered = locked is not None and locked.templates.get(locked.target) == text
        found.append(FleetRollout(pool.name, fleet.name, locked, dict(servers), rendered, fleet_waves(fleet)))
    return found


def _lock(pool: PoolSource) -> ParsedLock:
    return parse_lock(pool.lock_text or "")


def _chosen(
    validated: Validated, targets: Sequence[tuple[str, str]]
) -> list[tuple[PoolSource, FleetSource]] | Diagnostic:
    every = [(pool, fleet) for pool in validated.pools for fleet in pool.fleets]
    if not targets:
        return every
    by_name = {(pool.name, fleet.name): (pool, fleet) for pool, fleet in every}
    for target in targets:
        if target not in by_name:
            known = [f"{pool}/{fleet}" for pool, fleet in by_name]
            where = "/".join(target)
            return error(where, 0, 0, f"no fleet {where} in the fleets folder", did_you_mean(where, known))
    return [by_name[target] for target in sorted(set(targets))]


# --- rollout next and undo: lock edits -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LockEdits:
    """New lock texts by pool, a line per fleet saying what they do, and why a fleet was refused."""

    locks: Mapping[str, str]
    report: tuple[str, ...]
    problems: tuple[Diagnostic, ...]
    on_target: Mapping[tuple[str, str], tuple[str, ...]]  # (pool, fleet) -> its servers already on the target


def next_waves(validated: Validated, targets: Sequence[tuple[str, str]]) -> LockEdits | Diagnostic:
    """The locks with the next wave of each fleet of `targets` (or of every fleet with servers left to
    update) on its target; a fleet whose template changed since the last render is refused (the render
    starts its rollout), one with nothing left is reported as such."""
    chosen = _chosen(validated, targets)
    if isinstance(chosen, Diagnostic):
        return chosen
    locks: dict[str, ParsedLock] = {}
    edited: set[str] = set()
    report, problems, on_target = [], [], {}
    for pool, fleet in chosen:
        if pool.name not in locks:
            locks[pool.name] = _lock(pool)
        lock = locks[pool.name]
        locked, name = lock.fleets.get(fleet.name), f"{pool.name}/{fleet.name}"
        ordinals = sorted(o for (owner, o) in lock.entries if owner == fleet.name)
        behind = [o for o in ordinals if locked is None or lock.entries[fleet.name, o].revision != locked.target]
        if not targets and (locked is None or not behind):
            continue
        rendered = _rendered(fleet, name, locked)
        if isinstance(rendered, Diagnostic):
            problems.append(rendered)
        elif not behind:
            report.append(f"{name}: nothing left to roll out: every server runs {_target(rendered)}")
        else:
            waves = fleet_waves(fleet)
            locks[pool.name], wave = next_wave(lock, fleet.name, waves.size if waves else fleet.model.spec.replicas)
            edited.add(pool.name)
            on = [o for o in ordinals if lock.entries[fleet.name, o].revision == rendered.target]
            on_target[pool.name, fleet.name] = tuple(f"{fleet.name}-{o}" for o in on)
            report.append(_next_line(name, rendered, wave, len(behind) - len(wave), waves))
    texts = {name: lock_text(locks[name].entries.values(), locks[name].fleets.values()) for name in sorted(edited)}
    return LockEdits(texts, tuple(report), tuple(problems), on_target)


def _next_line(name: str, locked: LockedFleet, wave: tuple[int, ...], left: int, waves: Waves | None) -> str:
    """`pool/arena: wave 2 to <revision>: arena-3, arena-4, arena-5; 2 more waves after it`."""
    servers = ", ".join(f"{name.split('/')[1]}-{ordinal}" for ordinal in wave)
    waves_after = -(-left // waves.size) if waves else 0
    after = f"{plural(waves_after, 'more wave')} after it" if waves_after else "the last one"
    return f"{name}: wave {locked.wave + 1} to {_target(locked)}: {servers}; {after}"


def undo_rollout(validated: Validated, target: tuple[str, str]) -> tuple[str, dict, str] | Diagnostic:
    """The lock with every server of the fleet back on its previous revision, which becomes the target; that
    revision's template, for the fleet file; and a line saying what it does. Refused when the lock keeps
    no previous revision or the file's template is not the lock's target."""
    chosen = _chosen(validated, [target])
    if isinstance(chosen, Diagnostic):
        return chosen
    ((pool, fleet),) = chosen
    lock, name = _lock(pool), "/".join(target)
    locked = _rendered(fleet, name, lock.fleets.get(fleet.name))
    if isinstance(locked, Diagnostic):
        return locked
    if locked.previous not in locked.templates:
        hint = "the lock keeps the revision a fleet ran before its template changed, until undo or the next change"
        message = f"{name}: there is no previous revision to go back to"
        return fleet.document.error(("spec", "template"), message, hint, key=True)
    edited = undo(lock, fleet.name)
    text = lock_text(edited.entries.values(), edited.fleets.values())
    label = revision_label(locked.previous, locked.templates[locked.previous])
    line = f"{name}: every server back to {label} at once; spec.template restored from the lock"
    return text, json.loads(locked.templates[locked.previous]), line


def _rendered(fleet: FleetSource, name: str, locked: LockedFleet | None) -> LockedFleet | Diagnostic:
    """The lock's fleet line, or why the lock cannot be edited for the fleet yet: it records no revisions of
    it, or the fleet file's template is not the lock's target (the render of a template change starts its
    rollout)."""
    if locked is None:
        message = f"{name}: the lock records no revisions of it yet; `fleetgen render` records them"
        return fleet.document.error(("spec", "template"), message, "run `fleetgen render` first", key=True)
    if locked.templates.get(locked.target) != template_json(fleet.model.spec.template):
        return fleet.document.error(("spec", "template"), f"{name}: {NOT_RENDERED}", HINT_RENDER, key=True)
    return locked


def _target(locked: LockedFleet) -> str:
    return revision_label(locked.target, locked.templates.get(locked.target))
