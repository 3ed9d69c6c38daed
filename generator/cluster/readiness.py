"""Node readiness: what `kubectl get nodes -o json` prints -> which Nodes exist and whether each is Ready.

Live status needs no more of a Node: a server whose planned node is absent or not Ready cannot run there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..diagnostics import Diagnostic
from .conditions import condition, read_conditions
from .kubectl import read_source, reason_and_message


@dataclass(frozen=True, slots=True)
class NodeReadiness:
    name: str
    ready: bool
    reason: str  # why not, from the Ready condition: "Unknown: NodeStatusUnknown: Kubelet stopped posting node status."


def read_node_readiness(source: str, stdin: Any) -> tuple[dict[str, NodeReadiness], list[Diagnostic]]:
    """Node name -> its readiness, for every Node of `source` (a path, or `-` for `stdin`), and the
    problems found on the way.

    Ready when the Ready condition's status is "True"; "False" and "Unknown" (the node controller's word
    for a kubelet that stopped reporting) are not, and neither is a Node without the condition.
    """
    found = read_source(source, stdin, "Node")
    readiness = {}
    for obj in found.objects:
        ready = condition(read_conditions(found, obj), "Ready")
        if ready is None:
            readiness[obj.name] = NodeReadiness(obj.name, False, "it has no Ready condition")
        else:
            readiness[obj.name] = NodeReadiness(
                obj.name, ready.status == "True", reason_and_message(ready.status, ready.why)
            )
    return readiness, found.diagnostics
