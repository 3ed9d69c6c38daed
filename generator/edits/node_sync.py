"""Node sync: a pool's nodes made true to the cluster's Node list, as an in-place edit of pool.yaml.

The Nodes that a pool's nodeDiscovery selects become its nodes. A node entry whose Node is still listed
keeps its place, its comments and every value that did not change; a Node the pool lacks is added in
name order; an entry whose Node is gone is cut with its own comments. The edit then goes through the
check every edit goes through (validate every pool, compile the synced ones, refuse what does not
render), and the allocator's stability guarantee makes the plan show exactly the servers that move.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from ..cluster.kubectl import Objects
from ..cluster.nodes import Discovered, Discovery, NodeFacts, NodeList, discover
from ..diagnostics import Diagnostic, error, has_errors
from ..fleetfiles.load import Document, Loaded
from ..fleetfiles.model import NodePool
from ..fleetfiles.parse import parse_document
from ..kube.quantity import to_bytes, to_millicores
from ..settings import Settings
from ..tree.stamp import Prior
from .edit import (
    Checked,
    Proposal,
    in_place,
    pool_document,
    pool_folder,
    prepare_pools,
    refusal,
    unchanged,
)
from .node_list import Change, NodeChange, NodesPlan, amount

NO_DISCOVERY = "pool {pool!r} has no spec.nodeDiscovery: nodes sync does not know which cluster Nodes are its own"
NO_DISCOVERY_HINT = (
    "add the label of the cluster's node pool to pool.yaml, e.g. spec.nodeDiscovery: "
    "{selector: {cloud.google.com/gke-nodepool: game-eu}} (EKS: eks.amazonaws.com/nodegroup, "
    "AKS: kubernetes.azure.com/agentpool)"
)


@dataclass(frozen=True, slots=True)
class PoolSync:
    """What the sync does to one pool's nodes, node by node: its entries in file order, then the new ones."""

    pool: str
    path: str
    changes: tuple[NodeChange, ...]

    @property
    def report(self) -> list[str]:
        """The pool's line, then a line per node that changes or takes no servers, saying why."""
        counts = {kind: sum(1 for c in self.changes if c.change is kind) for kind in Change}
        kept = len(self.changes) - counts[Change.REMOVED]
        if kept == counts[Change.UNCHANGED]:
            head = f"{self.path}: pool {self.pool}: {kept} nodes, as in the cluster (no change)"
        else:
            head = (
                f"{self.path}: pool {self.pool}: {counts[Change.ADDED]} added, {counts[Change.REMOVED]} removed, "
                f"{counts[Change.CHANGED]} changed, {counts[Change.UNCHANGED]} unchanged"
            )
        return [head] + [c.line for c in self.changes if c.change is not Change.UNCHANGED or c.details]

    def departure(self) -> Diagnostic | None:
        """Why the pool has less room after the sync: the nodes that go or take no more servers."""
        gone = [c for c in self.changes if c.departs]
        if not gone:
            return None
        names = ", ".join(f"{c.name} ({', '.join(c.details) or 'not in the Node list'})" for c in gone)
        message = f"the sync takes these nodes from pool {self.pool!r}: {names}; what is left does not render (above)"
        hint = "add nodes to the cluster's node pool, or lower replicas, then sync again"
        return error(self.path, 0, 0, message, hint)


def discovering_pools(loaded: Loaded) -> list[str]:
    """The pools whose pool.yaml has a spec.nodeDiscovery, in name order."""
    names = []
    for folder in loaded.pools:
        document = pool_document(folder)
        data = None if isinstance(document, Diagnostic) else document.data
        spec = data.get("spec") if isinstance(data, dict) else None
        if isinstance(spec, dict) and spec.get("nodeDiscovery") is not None:
            names.append(folder.name)
    return names


def prepare_sync(
    settings: Settings, pools: Sequence[str], read: Objects, repository: tuple[Prior, Loaded]
) -> tuple[Checked, tuple[PoolSync, ...]]:
    """Propose the sync of `pools` from the Nodes `read` holds, and check it as any edit; nothing is written.
    A sync refused because what is left does not render also names the nodes it takes away."""
    syncs: list[PoolSync] = []

    def propose(loaded: Loaded) -> Proposal:
        proposal, found = sync_pools(loaded, settings, pools, read)
        syncs.extend(found)
        return proposal

    checked = prepare_pools(settings, pools, propose, repository)
    if checked.refused and not has_errors(checked.proposal.notes):
        departures = [found for sync in syncs if (found := sync.departure()) is not None]
        checked = dataclasses.replace(checked, diagnostics=(*checked.diagnostics, *departures))
    return checked, tuple(syncs)


def sync_pools(
    loaded: Loaded, settings: Settings, pools: Sequence[str], read: Objects
) -> tuple[Proposal, list[PoolSync]]:
    """One proposal for every pool's pool.yaml; any error refuses the whole sync."""
    edits, notes, syncs = [], [], []
    nodes = NodeList.of(read)
    for pool in pools:
        proposal, sync = _sync_pool(loaded, settings, pool, nodes)
        edits += proposal.edits
        notes += proposal.notes
        if sync is not None:
            syncs.append(sync)
    return Proposal(tuple(edits), tuple(notes)), syncs


def _sync_pool(loaded: Loaded, settings: Settings, pool: str, nodes: NodeList) -> tuple[Proposal, PoolSync | None]:
    folder = pool_folder(loaded, settings.fleets, pool)
    document = folder if isinstance(folder, Diagnostic) else pool_document(folder)
    if isinstance(document, Diagnostic):
        return refusal(document), None
    model, problems = parse_document(document, ("NodePool",))
    if not isinstance(model, NodePool):
        return Proposal((), tuple(problems)), None
    if model.spec.nodeDiscovery is None:
        return refusal(document.error(("spec",), NO_DISCOVERY.format(pool=pool), NO_DISCOVERY_HINT)), None
    discovery = _discovery(model)
    found = discover(nodes, discovery)
    notes = [*found.diagnostics, *_pin_problems(model, found.nodes, nodes.read.source)]
    if not found.nodes and model.spec.nodes:
        notes.append(_picks_none(document, pool, discovery, nodes.read, found))
    if has_errors(notes):
        return Proposal((), tuple(notes)), None
    plan = NodesPlan(model, document, discovery, found)
    sync = PoolSync(pool, document.path, tuple(plan.changes))
    if not plan.edited:
        return dataclasses.replace(unchanged(document, sync.report[0]), notes=tuple(notes)), sync
    summary = sync.report[0].removeprefix(f"{document.path}: ")
    proposal = in_place(document, ("spec",), (plan.text_edit, plan.data_edit), summary)
    return dataclasses.replace(proposal, notes=(*notes, *proposal.notes)), sync


def _discovery(model: NodePool) -> Discovery:
    settings = model.spec.nodeDiscovery
    assert settings is not None
    overhead = settings.overhead
    return Discovery(
        selector=tuple(sorted(settings.selector.items())),
        address_types=tuple(settings.addressTypes),
        ip_family=settings.ipFamily,
        copy_labels=tuple(settings.copyLabels),
        overhead_pods=max(overhead.pods, 0),
        overhead_cpu_milli=amount(overhead.cpu, to_millicores) or 0,
        overhead_memory_bytes=amount(overhead.memory, to_bytes) or 0,
    )


def _pin_problems(model: NodePool, nodes: Sequence[NodeFacts], source: str) -> list[Diagnostic]:
    """With `pin: nodeSelector` a Pod selects its node by kubernetes.io/hostname, which must be the Node's name."""
    if model.spec.pin != "nodeSelector":
        return []
    found = []
    for node in nodes:
        if node.hostname != node.name:
            label = f"is {node.hostname!r}, not its name" if node.hostname is not None else "is missing"
            message = (
                f"{node.label}: its kubernetes.io/hostname label {label}: a Pod pinned with pin: nodeSelector "
                "would never be scheduled there"
            )
            found.append(error(source, 0, 0, message, "set spec.pin: nodeName in the pool's pool.yaml"))
    return found


def _picks_none(document: Document, pool: str, discovery: Discovery, read: Objects, found: Discovered) -> Diagnostic:
    """A Node list in which the selector picks nothing is from another cluster, or the selector is wrong: a
    sync that emptied the pool would take away every server, so it is refused."""
    message = (
        f"no Node of {read.source} ({len(found.listed)} Nodes) carries {discovery.selector_text}: the sync would "
        f"remove every node of pool {pool!r}"
    )
    hint = (
        "check that the list comes from the pool's cluster and the selector names its node pool; to empty the "
        "pool on purpose, use `fleetgen remove-node`"
    )
    return document.error(("spec", "nodeDiscovery", "selector"), message, hint)
