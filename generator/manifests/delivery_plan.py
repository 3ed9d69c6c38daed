"""Delivery plan: the Argo CD and Flux objects on disk against those a render writes -> what is added, changed
and removed, by name, and the pools whose servers a removal would take down.

Removing a delivery object deletes what it applied: Argo CD deletes an Application's resources with it (the
resources finalizer) and an ApplicationSet's Applications with it; Flux prunes what a deleted Kustomization
applied (`prune: true`). An object is known by the folder that applies it (`argocd`, or `flux/<cluster>`:
a Kustomization lives in the cluster whose folder holds it), its kind, namespace and name, so a Kustomization
that moves to another cluster's folder is removed from the first cluster. An Application whose destination
changes leaves its old Pods where they are (argoproj/argo-cd#9172): a change, not a removal. Pure: bytes in.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from ..diagnostics import Diagnostic, error, warning
from .delivery import UNIT_LABEL
from .delivery_check import ALLOW_REMOVAL_OPTION
from .render import NETWORK_UNIT, POOL_LABEL

ACTIONS = ("removed", "changed", "added")  # the order a pool's changes are listed in: the loudest first
FLUX_FOLDER = "flux/"
LISTED = 20
_FIELDS_LISTED = 3
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True, order=True)
class ObjectName:
    """What identifies a delivery object: the folder that applies it, its kind, namespace and name."""

    folder: str  # "argocd" or "flux/<cluster>"
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        cluster = self.folder.removeprefix(FLUX_FOLDER)
        where = f" (cluster {cluster})" if cluster != self.folder else ""
        return f"{self.kind} {self.namespace}/{self.name}{where}"


@dataclass(frozen=True, slots=True)
class _Object:
    pool: str
    unit: str | None  # None: every fleet unit of the pool (an ApplicationSet)
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DeliveryChange:
    pool: str
    action: str  # one of ACTIONS
    name: ObjectName
    fields: tuple[str, ...] = ()  # what changed, as dotted paths

    def describe(self) -> str:
        shown = list(self.fields[:_FIELDS_LISTED])
        if len(self.fields) > _FIELDS_LISTED:
            shown.append(f"... and {len(self.fields) - _FIELDS_LISTED} more")
        return f"{self.action} {self.name}" + (": " + ", ".join(shown) if shown else "")


@dataclass(frozen=True, slots=True)
class Takedown:
    """A pool the render keeps, with servers, whose delivery objects it would remove: its servers would go."""

    pool: str
    servers: int
    removed: tuple[ObjectName, ...]
    moved_to: tuple[str, ...] = ()  # the clusters its Kustomizations move to, when that is the whole removal

    def refusal(self) -> str:
        """Why render refuses it."""
        if self.moved_to:
            return (
                f"pool {self.pool!r} still has {self.servers} servers, but its Kustomizations move to cluster "
                f"{', '.join(self.moved_to)}, and Flux would delete its servers from the cluster they leave"
            )
        return (
            f"pool {self.pool!r} still has {self.servers} servers, but this render removes the delivery objects "
            "that apply them, and Argo CD and Flux would delete them from the cluster"
        )

    def notice(self) -> str:
        """What plan says of it, loudly."""
        return f"{self.refusal()}; render refuses this without {ALLOW_REMOVAL_OPTION}"


@dataclass(frozen=True, slots=True)
class Served:
    """What a render leaves of a pool: its servers and its unit folders."""

    servers: int
    units: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DeliveryPlan:
    changes: tuple[DeliveryChange, ...] = ()  # by pool, then removed, changed, added, then name
    takedowns: tuple[Takedown, ...] = ()  # by pool

    @property
    def pools(self) -> tuple[str, ...]:
        return tuple(sorted({change.pool for change in self.changes}))

    def lines(self, pool: str) -> tuple[str, ...]:
        return tuple(change.describe() for change in self.changes if change.pool == pool)

    def takedown(self, pool: str) -> Takedown | None:
        return next((found for found in self.takedowns if found.pool == pool), None)


def delivery_plan(old: Mapping[str, bytes], new: Mapping[str, bytes], pools: Mapping[str, Served]) -> DeliveryPlan:
    """`old` and `new` map paths under rendered/_delivery/ to their bytes; `pools` are those the render keeps.

    Only files whose bytes differ are read: an object keeps its file, so an unchanged file changes nothing.
    """
    differing = sorted(path for path in {*old, *new} if old.get(path) != new.get(path))
    before = _objects({path: old[path] for path in differing if path in old})
    after = _objects({path: new[path] for path in differing if path in new})
    changes = []
    for name in sorted(before.keys() | after.keys()):
        was, now = before.get(name), after.get(name)
        if was is None and now is not None:
            changes.append(DeliveryChange(now.pool, "added", name))
        elif now is None and was is not None:
            changes.append(DeliveryChange(was.pool, "removed", name))
        elif was is not None and now is not None and was.body != now.body:
            changes.append(DeliveryChange(now.pool, "changed", name, tuple(_changed_fields(was.body, now.body))))
    changes.sort(key=lambda change: (change.pool, ACTIONS.index(change.action), change.name))
    return DeliveryPlan(tuple(changes), _takedowns(changes, before, pools))


def _objects(files: Mapping[str, bytes]) -> dict[ObjectName, _Object]:
    """The objects of the files by name; a document that is not a named object (a file edited by hand) is
    not one, and a file that does not parse holds none."""
    found = {}
    for path, data in sorted(files.items()):
        try:
            documents = list(yaml.load_all(data, Loader=_LOADER))
        except yaml.YAMLError:
            continue
        for document in documents:
            metadata = document.get("metadata") if isinstance(document, dict) else None
            if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str):
                continue
            labels = metadata.get("labels") if isinstance(metadata.get("labels"), dict) else {}
            kind, namespace = str(document.get("kind")), str(metadata.get("namespace"))
            name = ObjectName(posixpath.dirname(path), kind, namespace, metadata["name"])
            found[name] = _Object(str(labels.get(POOL_LABEL, "")), labels.get(UNIT_LABEL), document)
    return found


def _changed_fields(old: Any, new: Any, path: str = "") -> Iterator[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys(), key=str):
            yield from _changed_fields(old.get(key), new.get(key), f"{path}.{key}" if path else str(key))
    elif old != new:
        yield path


def _takedowns(
    changes: list[DeliveryChange], before: Mapping[ObjectName, _Object], pools: Mapping[str, Served]
) -> tuple[Takedown, ...]:
    """The pools that keep servers in a unit a removed object applied (an ApplicationSet: every fleet unit)."""
    by_pool: dict[str, list[ObjectName]] = {}
    for change in changes:
        found, served = before.get(change.name), pools.get(change.pool)
        if change.action != "removed" or found is None or served is None or not served.servers:
            continue
        applied = {found.unit} if found.unit else set(served.units) - {NETWORK_UNIT}
        if applied & set(served.units):
            by_pool.setdefault(change.pool, []).append(change.name)
    return tuple(
        Takedown(pool, pools[pool].servers, tuple(names), _clusters_moved_to(pool, names, changes))
        for pool, names in sorted(by_pool.items())
    )


def _clusters_moved_to(pool: str, removed: list[ObjectName], changes: list[DeliveryChange]) -> tuple[str, ...]:
    """The clusters a pool's Kustomizations move to, when that is all its removal is (its cluster changed)."""
    if not all(name.folder.startswith(FLUX_FOLDER) for name in removed):
        return ()
    folders = {change.name.folder for change in changes if change.pool == pool and change.action == "added"}
    return tuple(sorted(folder.removeprefix(FLUX_FOLDER) for folder in folders if folder.startswith(FLUX_FOLDER)))


def removal_diagnostics(
    plan: DeliveryPlan, places: Mapping[str, tuple[str, int, int]], allowed: bool
) -> list[Diagnostic]:
    """One per pool a removal takes down, at the setting behind it (`places`, by pool: path, line, column): an
    error that refuses the render, or, when the removal is `allowed`, a warning that says what goes."""
    found = []
    for takedown in plan.takedowns:
        path, line, column = places[takedown.pool]
        names = [str(name) for name in takedown.removed[:LISTED]]
        if len(takedown.removed) > LISTED:
            names.append(f"... and {len(takedown.removed) - LISTED} more")
        removed = ", ".join(names)
        if allowed:
            message = (
                f"removing the delivery of pool {takedown.pool!r}, as {ALLOW_REMOVAL_OPTION} asks: Argo CD and "
                f"Flux will delete its {takedown.servers} servers from the cluster: {removed}"
            )
            found.append(warning(path, line, column, message))
            continue
        undo = "keep the pool's cluster (pool.yaml, or its entry in gitops.yaml)" if takedown.moved_to else ""
        proceed = f"to do this on purpose, run `fleetgen render {ALLOW_REMOVAL_OPTION}`"
        hint = f"{undo or f'undo the change to {path}'}, or, {proceed}"
        found.append(error(path, line, column, f"{takedown.refusal()}: {removed}", hint))
    return found
