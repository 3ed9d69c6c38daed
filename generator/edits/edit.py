"""Edit: change fleet files in place, every byte outside the edited value kept, and refuse what would not render.

Operators, chat bots and scripts scale fleets and cordon nodes many times a day, and reviewers read the
diff. So an edit never re-emits a file: it replaces the text span of the one value it changes (found from
the YAML composer, whose node marks are character offsets), inserts a line indented like
its neighbours, or cuts a list item's own lines. The result is parsed again and must equal the intended
data exactly, then validated and compiled in memory with every other pool: only an edit that would
render is written.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

from ..diagnostics import Diagnostic, did_you_mean, error, has_errors
from ..fleetfiles.load import LOCK_FILE, POOL_FILE, Document, Loaded, PoolFolder, load_fleets, parse_documents
from ..fleetfiles.rules import validate_fleets
from ..settings import Settings
from ..tree import sinks, stamp
from ..tree.compile import compile_pools
from ..tree.files import write_file_atomic
from ..tree.plan import PoolPlan
from .yaml_text import append_item, entry, flow, internal, is_empty, remove_item, set_value


@dataclass(frozen=True, slots=True)
class FileEdit:
    """New text for one file; `before` is what was read (None for a new file), checked again before writing."""

    path: Path
    before: bytes | None
    after: str
    summary: str


@dataclass(frozen=True, slots=True)
class Proposal:
    """What an edit command wants to write, and what it has to say (warnings; an error refuses it)."""

    edits: tuple[FileEdit, ...] = ()
    notes: tuple[Diagnostic, ...] = ()


@dataclass(frozen=True, slots=True)
class Checked:
    """A proposal after validation and an in-memory compile of its pool."""

    proposal: Proposal
    plans: tuple[PoolPlan, ...]
    diagnostics: tuple[Diagnostic, ...]  # the proposal's notes, then validation and compile findings

    @property
    def refused(self) -> bool:
        return has_errors(self.diagnostics)


def refusal(diagnostic: Diagnostic) -> Proposal:
    return Proposal((), (diagnostic,))


# --- Finding what to edit ------------------------------------------------------------------------------


def pool_folder(loaded: Loaded, root: Path, name: str) -> PoolFolder | Diagnostic:
    for folder in loaded.pools:
        if folder.name == name:
            return folder
    known = [folder.name for folder in loaded.pools]
    hint = did_you_mean(name, known, f"create {root / name / POOL_FILE} first")
    return error(str(root), 0, 0, f"no pool folder named {name!r}", hint)


def pool_document(folder: PoolFolder) -> Document | Diagnostic:
    documents = [d for d in folder.pool_documents if isinstance(d.data, dict) and d.data.get("kind") == "NodePool"]
    if len(documents) > 1:
        return documents[1].error((), "expected one NodePool to edit", "run fleetgen validate")
    if not documents:
        return error(str(folder.folder / POOL_FILE), 1, 1, "expected one NodePool to edit", "run fleetgen validate")
    return documents[0]


def _fleet_document(folder: PoolFolder, fleet: str) -> Document | Diagnostic:
    found = {_fleet_name(d): d for d in reversed(folder.fleet_documents) if _fleet_name(d)}
    if fleet in found:
        return found[fleet]
    message = f"pool {folder.name!r} has no fleet {fleet!r}"
    hint = did_you_mean(fleet, found, "the pool has no fleet yet: write one in a *.yaml file of its folder")
    return error(str(folder.folder), 0, 0, message, hint)


def fleet_document(loaded: Loaded, root: Path, pool: str, fleet: str) -> Document | Diagnostic:
    """The document of a pool's fleet, or why there is none."""
    folder = pool_folder(loaded, root, pool)
    return folder if isinstance(folder, Diagnostic) else _fleet_document(folder, fleet)


def _fleet_name(document: Document) -> str:
    data = document.data
    if isinstance(data, dict) and data.get("kind") == "Fleet" and isinstance(data.get("metadata"), dict):
        return str(data["metadata"].get("name") or "")
    return ""


def _pool_file(loaded: Loaded, root: Path, pool: str) -> Document | Diagnostic:
    folder = pool_folder(loaded, root, pool)
    return folder if isinstance(folder, Diagnostic) else pool_document(folder)


def _node(loaded: Loaded, root: Path, pool: str, node: str) -> tuple[Document, int] | Diagnostic:
    """The pool file's document and the index of the node in its spec.nodes."""
    document = _pool_file(loaded, root, pool)
    if isinstance(document, Diagnostic):
        return document
    nodes = _nodes(document.data)
    for index, item in enumerate(nodes):
        if isinstance(item, dict) and item.get("name") == node:
            return document, index
    names = [str(item.get("name")) for item in nodes if isinstance(item, dict)]
    hint = did_you_mean(node, names, "the pool has no node yet: add one with `fleetgen add-node`")
    return document.error(("spec", "nodes"), f"pool {pool!r} has no node {node!r}", hint)


def _nodes(data: Any) -> list[Any]:
    spec = data.get("spec") if isinstance(data, dict) else None
    nodes = spec.get("nodes") if isinstance(spec, dict) else None
    return nodes if isinstance(nodes, list) else []


# --- The edit commands -----------------------------------------------------------------------------------


def scale(loaded: Loaded, root: Path, pool: str, fleet: str, replicas: int) -> Proposal:
    """Set one fleet's spec.replicas."""
    document = fleet_document(loaded, root, pool, fleet)
    if isinstance(document, Diagnostic):
        return refusal(document)
    spec = document.data.get("spec")
    old = spec.get("replicas") if isinstance(spec, dict) else None
    summary = f"{pool}/{fleet}: replicas {old} -> {replicas}"
    return in_place(document, ("spec",), _setter("replicas", replicas), summary)


def set_cordon(loaded: Loaded, root: Path, pool: str, node: str, cordoned: bool) -> Proposal:
    """Cordon (unschedulable: true) or uncordon a node; uncordoning a node without the key changes nothing."""
    found = _node(loaded, root, pool, node)
    if isinstance(found, Diagnostic):
        return refusal(found)
    document, index = found
    was = _nodes(document.data)[index].get("unschedulable") is True
    summary = f"{pool}/{node}: {'cordoned' if cordoned else 'uncordoned'}"
    if was == cordoned:
        return unchanged(document, summary + " already")
    return in_place(document, ("spec", "nodes", index), _setter("unschedulable", cordoned), summary)


def add_node(loaded: Loaded, root: Path, pool: str, node: dict[str, Any]) -> Proposal:
    """Append a node to spec.nodes, as a list item indented like the others."""
    document = _pool_file(loaded, root, pool)
    if isinstance(document, Diagnostic):
        return refusal(document)
    return in_place(document, ("spec",), _appender("nodes", node), f"{pool}/{node['name']}: added")


def node_entry(
    name: str,
    address: str,
    labels: dict[str, str],
    capacity: dict[str, int | str | None],
    cordoned: bool,
    taints: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """A spec.nodes item in the pool file's own key order; absent options stay absent (the defaults apply)."""
    entry: dict[str, Any] = {"name": name, "address": address}
    if labels:
        entry["labels"] = labels
    given = {key: value for key, value in capacity.items() if value is not None}
    if given:
        entry["capacity"] = given
    if cordoned:
        entry["unschedulable"] = True
    if taints:
        entry["taints"] = taints
    return entry


def remove_node(loaded: Loaded, root: Path, pool: str, node: str) -> Proposal:
    """Cut a node's list item (with the comments that belong to it) out of spec.nodes."""
    found = _node(loaded, root, pool, node)
    if isinstance(found, Diagnostic):
        return refusal(found)
    document, index = found
    return in_place(document, ("spec",), _remover("nodes", index), f"{pool}/{node}: removed")


_COMPOSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's composer, as `load` uses it: fast, and its marks are character offsets into the text."""
_BOM = "\ufeff"

# An edit is two views of one change: on the text of the mapping it touches, and on the plain data it must give.
TextEdit = Callable[[str, MappingNode], str]
DataEdit = Callable[[dict[str, Any]], None]


def _setter(key: str, value: Any) -> tuple[TextEdit, DataEdit]:
    def text_edit(text: str, mapping: MappingNode) -> str:
        return set_value(text, mapping, key, flow(value))

    def data_edit(data: dict[str, Any]) -> None:
        data[key] = value

    return text_edit, data_edit


def _appender(key: str, item: dict[str, Any]) -> tuple[TextEdit, DataEdit]:
    def text_edit(text: str, mapping: MappingNode) -> str:
        found = entry(mapping, key)
        if found is None or is_empty(found[1]):
            return set_value(text, mapping, key, flow([item]))
        return append_item(text, found[1], item)

    def data_edit(data: dict[str, Any]) -> None:
        data[key] = [*(data.get(key) or []), item]

    return text_edit, data_edit


def _remover(key: str, index: int) -> tuple[TextEdit, DataEdit]:
    def text_edit(text: str, mapping: MappingNode) -> str:
        key_node, sequence = entry(mapping, key) or internal(f"no {key} to remove from")
        return remove_item(text, key_node, sequence, index)

    def data_edit(data: dict[str, Any]) -> None:
        del data[key][index]

    return text_edit, data_edit


def unchanged(document: Document, summary: str) -> Proposal:
    before = Path(document.path).read_bytes()
    return Proposal((FileEdit(Path(document.path), before, before.decode("utf-8"), summary),))


def in_place(
    document: Document, path: tuple[str | int, ...], edit: tuple[TextEdit, DataEdit], summary: str
) -> Proposal:
    """Edit the mapping at `path` of one document; the new text must read as exactly the old data, data-edited."""
    file = Path(document.path)
    before = file.read_bytes()
    text = before.decode("utf-8")
    text_edit, data_edit = edit
    bom = _BOM if text.startswith(_BOM) else ""  # libyaml's offsets do not count it
    mapping = _walk(list(yaml.compose_all(text[len(bom) :], Loader=_COMPOSER))[document.index], path)
    if mapping is None:
        hint = "run fleetgen validate and fix the file first"
        return refusal(document.error(path, f"cannot edit {'.'.join(map(str, path))}: not a mapping", hint))
    after = bom + text_edit(text[len(bom) :], mapping)
    documents, _ = parse_documents(document.path, text)
    expected = [d.data for d in documents]
    target = expected[[d.index for d in documents].index(document.index)]
    for segment in path:
        target = target[segment]
    data_edit(target)
    found, problems = parse_documents(document.path, after)
    if problems or [d.data for d in found] != expected:
        message = f"cannot edit in place ({summary}): the file would then read differently elsewhere too"
        hint = "is the value shared through a YAML anchor (&name) and alias (*name)? edit the file by hand"
        return refusal(document.error(path, message, hint))
    return Proposal((FileEdit(file, before, after, summary),))


def _walk(node: Node, path: tuple[str | int, ...]) -> MappingNode | None:
    for segment in path:
        if isinstance(segment, int) and isinstance(node, SequenceNode) and segment < len(node.value):
            node = node.value[segment]
        elif isinstance(node, MappingNode) and (found := entry(node, str(segment))) is not None:
            node = found[1]
        else:
            return None
    return node if isinstance(node, MappingNode) else None


# --- Check, then write -----------------------------------------------------------------------------------


def prepare(settings: Settings, pool: str, propose: Callable[[Loaded], Proposal]) -> Checked:
    """Load every pool, apply the proposal in memory, validate everything and compile `pool`: nothing is written."""
    return prepare_pools(settings, (pool,), propose)


def read_repository(settings: Settings) -> tuple[stamp.Prior, Loaded]:
    """What the stamp vouches for (surveyed before any file is read), then the fleet files."""
    return stamp.prior(settings.fleets, settings.out, settings.stamp_key), load_fleets(settings.fleets)


def prepare_pools(
    settings: Settings,
    pools: Sequence[str],
    propose: Callable[[Loaded], Proposal],
    repository: tuple[stamp.Prior, Loaded] | None = None,
) -> Checked:
    """`prepare` for an edit of several pools, each compiled but those the edit leaves as they are and the
    stamp vouches for (a node sync of 50 pools where one node changed compiles one pool, not 50); the
    repository is read now unless the caller read it to choose the pools (`read_repository`)."""
    prior, loaded = repository or read_repository(settings)
    proposal = propose(loaded)
    if has_errors(proposal.notes):  # a file that does not load may be why the fleet or node was not found
        return Checked(proposal, (), (*loaded.diagnostics, *proposal.notes))
    folders = {folder.folder: folder.name for folder in loaded.pools}
    edited = {folders.get(edit.path.parent) for edit in changed_edits(proposal.edits)}
    trusted = () if None in edited else prior.reused  # an edit outside the pool folders: compile them all
    reused = tuple(record for record in trusted if record.name in pools and record.name not in edited)
    skipped = {record.name for record in reused}
    validated = validate_fleets(_substituted(loaded, proposal.edits), settings.kubernetes_version, skipped)
    if has_errors(validated.diagnostics):
        return Checked(proposal, (), (*proposal.notes, *validated.diagnostics))
    compiled_pools = tuple(p for p in validated.pools if p.name in pools and p.name not in skipped)
    compiled = compile_pools(
        dataclasses.replace(validated, pools=compiled_pools), settings.kubernetes_version, None, reused
    )
    if has_errors(compiled.diagnostics):
        return Checked(proposal, (), (*proposal.notes, *compiled.diagnostics))
    plans = sinks.describe(compiled, settings.out, tuple(sorted(pools)))
    return Checked(proposal, tuple(plans), (*proposal.notes, *compiled.diagnostics))


def _substituted(loaded: Loaded, edits: Sequence[FileEdit]) -> Loaded:
    """The loaded folders as they would read with the edits written (same paths, so diagnostics name the files);
    an edit of a pool's lock (`rollout`) replaces the lock text the compile reads."""
    texts = {str(edit.path): edit.after for edit in changed_edits(edits)}  # the others read as loaded
    diagnostics = [d for d in loaded.diagnostics if d.path not in texts]
    folders = []
    for folder in loaded.pools:
        pool_documents, fleet_documents = list(folder.pool_documents), list(folder.fleet_documents)
        lock_text = folder.lock_text
        for path, text in texts.items():
            if Path(path).parent != folder.folder:
                continue
            if Path(path).name == LOCK_FILE:
                lock_text = text
                continue
            documents, found = parse_documents(path, text)
            diagnostics += found
            if Path(path).name == POOL_FILE:
                pool_documents = documents
            else:
                fleet_documents = [d for d in fleet_documents if d.path != path] + documents
        fleet_documents.sort(key=lambda d: (Path(d.path).name, d.index))
        edited = {"pool_documents": tuple(pool_documents), "fleet_documents": tuple(fleet_documents)}
        folders.append(dataclasses.replace(folder, **edited, lock_text=lock_text))
    return Loaded(tuple(folders), tuple(diagnostics))


def changed(checked: Checked) -> list[FileEdit]:
    return changed_edits(checked.proposal.edits)


def changed_edits(edits: Sequence[FileEdit]) -> list[FileEdit]:
    return [edit for edit in edits if edit.before != edit.after.encode("utf-8")]


def write(checked: Checked) -> list[Diagnostic]:
    """Write the edited files atomically, first making sure none changed since it was read; the problems, if any."""
    edits = changed(checked)
    hint = "someone else changed it meanwhile; run the command again"
    moved = [
        error(str(edit.path), 0, 0, "changed on disk since it was read; nothing was written", hint)
        for edit in edits
        if current_bytes(edit.path) != edit.before
    ]
    if moved:
        return moved
    for edit in edits:
        write_file_atomic(edit.path, edit.after.encode("utf-8"))
    return []


def summary_lines(checked: Checked) -> list[str]:
    """One line per file: what the edit did to it, or that it was already so."""
    edited = {id(edit) for edit in changed(checked)}
    return [
        f"{edit.path}: {edit.summary}" + ("" if id(edit) in edited else " (no change)")
        for edit in checked.proposal.edits
    ]


def current_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
