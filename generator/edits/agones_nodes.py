"""Agones nodes: an imported fleet's nodeSelector on labels the kubelet sets on every node, against the pool.

Agones' GameServers select nodes by the labels the cluster's Nodes carry, and the kubelet gives every Node
`kubernetes.io/os` and `kubernetes.io/arch`. fleetgen knows a node's labels only from pool.yaml, so the
import says when no node of the pool declares such a label, and how to declare it once for all of them.
"""

from __future__ import annotations

from typing import Any

from ..diagnostics import Diagnostic
from ..fleetfiles.load import Document

KUBELET_LABELS = ("kubernetes.io/arch", "kubernetes.io/os")

Path_ = tuple[str | int, ...]


def node_selector_notes(
    document: Document, selector_path: Path_, selector: dict[str, Any], pool: Any
) -> list[Diagnostic]:
    """A warning per kubelet label of `selector` that no node of `pool` (its pool.yaml data) declares: a mixed
    pool declares it where it holds, but a pool of one kind may not have thought of it."""
    spec = pool.get("spec") if isinstance(pool, dict) else None
    if not isinstance(spec, dict):
        return []
    name = (pool.get("metadata") or {}).get("name") if isinstance(pool.get("metadata"), dict) else None
    shared = spec.get("nodeLabels") if isinstance(spec.get("nodeLabels"), dict) else {}
    nodes = [node for node in spec.get("nodes") or [] if isinstance(node, dict)]
    labels = [{**shared, **(node.get("labels") if isinstance(node.get("labels"), dict) else {})} for node in nodes]
    notes = []
    for key in sorted(set(selector) & set(KUBELET_LABELS)):
        value = selector[key]
        if any(node_labels.get(key) == value for node_labels in labels):
            continue
        message = (
            f"nodeSelector {key}={value}: the kubelet sets {key} on every node, but no node of pool {name!r} "
            "declares it in pool.yaml, so the fleet's servers have no node"
        )
        hint = (
            f"when every node of the pool is {value}, declare it once: `nodeLabels: {{{key}: {value}}}` in the "
            "pool's spec (a node's own labels win); else label the nodes that are"
        )
        notes.append(document.warning((*selector_path, key), message, hint, key=True))
    return notes
