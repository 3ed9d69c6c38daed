"""Rollout edits: `rollout next` writes locks, `rollout undo` a lock and the fleet file whose template it restores.

The lock texts come from `tree.rollout`; here they become file edits, checked and written like any other
edit, so that a refused one writes nothing and the plan is the one of the render that follows.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..diagnostics import Diagnostic, has_errors
from ..fleetfiles.load import LOCK_FILE, Loaded
from .edit import DataEdit, FileEdit, Proposal, TextEdit, current_bytes, fleet_document, in_place, refusal
from .yaml_text import MappingNode, reconciled


def lock_edits(root: Path, locks: Mapping[str, str], summary: str) -> tuple[FileEdit, ...]:
    """The new lock of each pool, as an edit of the lock on disk."""
    edits = []
    for pool, text in sorted(locks.items()):
        path = root / pool / LOCK_FILE
        edits.append(FileEdit(path, current_bytes(path), text, summary))
    return tuple(edits)


def propose_locks(loaded: Loaded, root: Path, locks: Mapping[str, str], summary: str) -> Proposal:
    """`rollout next`: the locks, nothing else."""
    return Proposal(lock_edits(root, locks, summary))


def propose_undo(
    loaded: Loaded, root: Path, pool: str, fleet: str, template: dict[str, Any], lock: str, summary: str
) -> Proposal:
    """`rollout undo`: the fleet's spec.template restored from the lock, and the lock with every server on it."""
    restored = restore_template(loaded, root, pool, fleet, template, summary)
    if has_errors(restored.notes):
        return restored
    return Proposal((*restored.edits, *lock_edits(root, {pool: lock}, summary)), restored.notes)


def restore_template(
    loaded: Loaded, root: Path, pool: str, fleet: str, template: dict[str, Any], summary: str
) -> Proposal:
    """Make a fleet's spec.template read as `template`, changing only the values that differ so that the
    template's comments survive; when that cannot be done in place, the template is written anew as a block."""
    document = fleet_document(loaded, root, pool, fleet)
    if isinstance(document, Diagnostic):
        return refusal(document)
    spec = document.data.get("spec")
    current = spec.get("template") if isinstance(spec, dict) else None
    proposal = in_place(document, ("spec",), _reconciler("template", current, template), summary)
    if has_errors(proposal.notes):
        proposal = in_place(document, ("spec",), _reconciler("template", None, template), summary)
    return proposal


def _reconciler(key: str, old: Any, new: Any) -> tuple[TextEdit, DataEdit]:
    def text_edit(text: str, mapping: MappingNode) -> str:
        return reconciled(text, mapping, key, old, new)

    def data_edit(data: dict[str, Any]) -> None:
        data[key] = new

    return text_edit, data_edit
