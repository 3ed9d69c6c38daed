"""Node list: a pool's node entries against the Nodes its discovery picks -> the new list, as data and as
splices of the pool file's text, and what changes for each node and why.

A kept entry changes only in the keys whose meaning changes (an address spelled otherwise, or a capacity
written in other units, is the same), so a sync of an unchanged cluster changes no byte.
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from yaml.nodes import MappingNode, SequenceNode

from ..cluster.nodes import Discovered, Discovery, NodeFacts
from ..fleetfiles.load import Document
from ..fleetfiles.model import Node, NodePool
from ..kube.quantity import bytes_text, millicores_text, parse_quantity, to_bytes, to_millicores
from ..kube.taints import Taint
from .edit import node_entry
from .yaml_text import (
    Splice,
    block_list,
    entry,
    flow,
    internal,
    is_empty,
    item_lines,
    item_span,
    new_keys,
    spliced,
    value_splice,
)


class Change(StrEnum):
    ADDED = "+"
    REMOVED = "-"
    CHANGED = "~"
    UNCHANGED = " "


@dataclass(frozen=True, slots=True)
class NodeChange:
    """What the sync does to one node, and why."""

    name: str
    change: Change
    details: tuple[str, ...] = ()
    departs: bool = False  # its servers must move: it is gone, or newly cordoned or tainted

    @property
    def line(self) -> str:
        """`  + name: added (address, capacity)`, `  - name: removed (why)`, `  ~ name: what changed`."""
        details = ", ".join(self.details)
        if self.change is Change.ADDED:
            return f"  + {self.name}: added ({details})"
        if self.change is Change.REMOVED:
            return f"  - {self.name}: removed ({details})"
        return f"  {self.change.value} {self.name}: {details}"


# --- The new node list ------------------------------------------------------------------------------------


class NodesPlan:
    """The pool's node list after the sync, as data and as splices of the pool file's text."""

    def __init__(self, model: NodePool, document: Document, discovery: Discovery, found: Discovered) -> None:
        spec = document.data["spec"]
        self.old_items: list[dict[str, Any]] = list(spec.get("nodes") or [])
        facts = {fact.name: fact for fact in found.nodes}
        self.updates: list[dict[str, Any] | None] = []  # per old item: its changed keys, or None when it goes
        self.before: dict[int, list[dict[str, Any]]] = {}  # new entries to insert before old item i
        self.changes: list[NodeChange] = []
        kept: list[tuple[int, str]] = []
        seen: set[str] = set()
        for index, node in enumerate(model.spec.nodes):
            fact = facts.get(node.name) if node.name not in seen else None
            seen.add(node.name)
            if fact is None:
                self.updates.append(None)
                self.changes.append(NodeChange(node.name, Change.REMOVED, (_gone(node.name, found, discovery),), True))
                continue
            updates, change = _updated(node, fact, discovery)
            self.updates.append(updates)
            self.changes.append(change)
            kept.append((index, node.name))
        self.after: list[dict[str, Any]] = []  # new entries after the last item
        following = _first_greater(kept)
        for fact in found.nodes:
            if fact.name in seen:
                continue
            index = following(fact.name)
            (self.after if index is None else self.before.setdefault(index, [])).append(_entry(fact))
            self.changes.append(NodeChange(fact.name, Change.ADDED, _added_details(fact)))
        self.edited = any(c.change is not Change.UNCHANGED for c in self.changes)

    def new_items(self) -> list[dict[str, Any]]:
        items = []
        for index, (old, updates) in enumerate(zip(self.old_items, self.updates, strict=True)):
            items += self.before.get(index, [])
            if updates is not None:
                items.append({**old, **updates})
        return items + self.after

    def data_edit(self, spec: dict[str, Any]) -> None:
        spec["nodes"] = self.new_items()

    def text_edit(self, text: str, spec: MappingNode) -> str:
        found = entry(spec, "nodes")
        sequence = None if found is None or is_empty(found[1]) else found[1]
        if sequence is None or (isinstance(sequence, SequenceNode) and sequence.flow_style and not sequence.value):
            return spliced(text, block_list(text, spec, "nodes", self.new_items()))
        if not isinstance(sequence, SequenceNode) or len(sequence.value) != len(self.old_items):
            internal("spec.nodes does not read as the list it was parsed from")
        if sequence.flow_style:
            return spliced(text, [(sequence.start_mark.index, sequence.end_mark.index, flow(self.new_items()))])
        return spliced(text, self._block_splices(text, sequence))

    def _block_splices(self, text: str, sequence: SequenceNode) -> list[Splice]:
        splices: list[Splice] = []
        for index, (item, updates) in enumerate(zip(sequence.value, self.updates, strict=True)):
            start, end = item_span(text, item)
            splices += [(start, start, item_lines(text, sequence, start, new)) for new in self.before.get(index, [])]
            if updates is None:
                splices.append((start, end, ""))
            elif updates:
                splices += _item_splices(text, item, updates)
        end = item_span(text, sequence.value[-1])[1]
        return splices + [(end, end, item_lines(text, sequence, end, new)) for new in self.after]


def _first_greater(kept: list[tuple[int, str]]) -> Callable[[str], int | None]:
    """For a new node's name, the first kept entry (in file order) whose name sorts after it: new nodes go
    before it, so a list in name order stays in name order. A lookup costs log n, not a scan."""
    by_name = sorted(kept, key=lambda pair: pair[1])
    names = [name for _, name in by_name]
    earliest: list[int | None] = [None] * (len(by_name) + 1)  # the lowest index among by_name[i:]
    for i in range(len(by_name) - 1, -1, -1):
        later = earliest[i + 1]
        earliest[i] = by_name[i][0] if later is None else min(by_name[i][0], later)
    return lambda name: earliest[bisect.bisect_right(names, name)]


def _item_splices(text: str, item: Any, updates: dict[str, Any]) -> list[Splice]:
    if not isinstance(item, MappingNode):
        internal("a node of spec.nodes is not a mapping")
    splices = [value_splice(text, item, key, flow(value)) for key, value in updates.items() if entry(item, key)]
    added = [(key, flow(value)) for key, value in updates.items() if entry(item, key) is None]
    return splices + ([new_keys(text, item, added)] if added else [])


def _gone(name: str, found: Discovered, discovery: Discovery) -> str:
    if name in found.listed:
        return f"no longer carries {discovery.selector_text}"
    return "not in the Node list"


# --- One node ----------------------------------------------------------------------------------------------


def _entry(fact: NodeFacts) -> dict[str, Any]:
    """A new node entry in the pool file's key order."""
    return node_entry(
        fact.name, fact.address, dict(fact.labels), _capacity(fact), bool(fact.unschedulable), _taints(fact.taints)
    )


def _capacity(fact: NodeFacts) -> dict[str, int | str | None]:
    cpu = None if fact.cpu_milli is None else millicores_text(fact.cpu_milli)
    memory = None if fact.memory_bytes is None else bytes_text(fact.memory_bytes)
    return {"pods": fact.pods, "cpu": cpu, "memory": memory}


def _taints(taints: Sequence[Taint]) -> list[dict[str, str]]:
    return [{"key": t.key, **({"value": t.value} if t.value else {}), "effect": t.effect} for t in taints]


def _capacity_text(pods: int, cpu: int | None, memory: int | None) -> str:
    parts = [f"{pods} pods"]
    parts += [] if cpu is None else [f"{millicores_text(cpu)} cpu"]
    parts += [] if memory is None else [f"{bytes_text(memory)} memory"]
    return ", ".join(parts)


def _added_details(fact: NodeFacts) -> tuple[str, ...]:
    details = [fact.address, _capacity_text(fact.pods, fact.cpu_milli, fact.memory_bytes)]
    details += [f"taint {taint}" for taint in fact.taints]
    details += [f"unschedulable: {why}" for why in fact.unschedulable]
    return tuple(details)


def _updated(node: Node, fact: NodeFacts, discovery: Discovery) -> tuple[dict[str, Any], NodeChange]:
    """The keys of a kept node entry that change, with what the summary says of them."""
    updates: dict[str, Any] = {}
    details: list[str] = []
    if _canonical(node.address) != fact.address:
        updates["address"] = fact.address
        details.append(f"address {node.address} -> {fact.address}")
    labels = {k: v for k, v in node.labels.items() if k not in discovery.copy_labels} | dict(fact.labels)
    if labels != node.labels:
        updates["labels"] = labels
        details += _label_changes(node.labels, labels)
    old = (node.capacity.pods, amount(node.capacity.cpu, to_millicores), amount(node.capacity.memory, to_bytes))
    new = (fact.pods, fact.cpu_milli, fact.memory_bytes)
    if old != new:
        updates["capacity"] = {k: v for k, v in _capacity(fact).items() if v is not None}
        details.append(f"capacity {_capacity_text(*old)} -> {_capacity_text(*new)}")
    old_taints = {Taint(t.key, t.value, t.effect) for t in node.taints}
    if old_taints != set(fact.taints):
        updates["taints"] = _taints(fact.taints)
        details += [f"+taint {t}" for t in sorted(set(fact.taints) - old_taints)]
        details += [f"-taint {t}" for t in sorted(old_taints - set(fact.taints))]
    cordoned = bool(fact.unschedulable)
    if cordoned != node.unschedulable:
        updates["unschedulable"] = cordoned
        details += [] if cordoned else ["schedulable again"]
    details += [f"unschedulable: {why}" for why in fact.unschedulable]
    departs = (cordoned and not node.unschedulable) or bool(set(fact.taints) - old_taints)
    change = Change.CHANGED if updates else Change.UNCHANGED
    return updates, NodeChange(node.name, change, tuple(details), departs)


def _label_changes(old: dict[str, str], new: dict[str, str]) -> list[str]:
    changes = [f"label {k}: {old[k]} -> {new[k]}" for k in sorted(old.keys() & new.keys()) if old[k] != new[k]]
    changes += [f"+label {k}={new[k]}" for k in sorted(new.keys() - old.keys())]
    return changes + [f"-label {k}" for k in sorted(old.keys() - new.keys())]


def _canonical(address: str) -> str:
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return address


def amount(value: str | int | float | None, unit: Any) -> int | None:
    """A quantity in millicores or bytes; None when absent or not a quantity (validation reports that)."""
    amount = None if value is None else parse_quantity(value)
    return None if amount is None else unit(amount)
