"""Edit: change fleet files in place, every byte outside the edited value kept, and refuse what would not render.

Operators, chat bots and scripts scale fleets and cordon nodes many times a day, and reviewers read the
diff. So an edit never re-emits a file: it replaces the text span of the one value it changes (found from
ruamel.yaml's round-trip composer, whose node marks are character offsets), inserts a line indented like
its neighbours, or cuts a list item's own lines. The result is parsed again and must equal the intended
data exactly, then validated and compiled in memory with every other pool: only an edit that would
render is written.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from . import sinks
from .diagnostics import Diagnostic, did_you_mean, error, format_diagnostic, has_errors
from .emit import scalar
from .load import POOL_FILE, Document, Loaded, PoolFolder, load_fleets, parse_documents
from .pipeline import compile_pools
from .plan import PoolPlan
from .rules import validate_fleets
from .settings import Settings
from .write import write_file_atomic

INTERNAL = "internal error: {what}; please report it with the file"


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
    return error(str(root), 0, 0, f"no pool folder named {name!r}", did_you_mean(name, known))


def _pool_document(folder: PoolFolder) -> Document | Diagnostic:
    documents = [d for d in folder.pool_documents if isinstance(d.data, dict) and d.data.get("kind") == "NodePool"]
    if len(documents) != 1:
        return error(str(folder.folder / POOL_FILE), 0, 0, "expected one NodePool to edit", "run fleetgen validate")
    return documents[0]


def _fleet_document(folder: PoolFolder, fleet: str) -> Document | Diagnostic:
    found = {_fleet_name(d): d for d in reversed(folder.fleet_documents) if _fleet_name(d)}
    if fleet in found:
        return found[fleet]
    message = f"pool {folder.name!r} has no fleet {fleet!r}"
    return error(str(folder.folder), 0, 0, message, did_you_mean(fleet, found))


def _fleet_name(document: Document) -> str:
    data = document.data
    if isinstance(data, dict) and data.get("kind") == "Fleet" and isinstance(data.get("metadata"), dict):
        return str(data["metadata"].get("name") or "")
    return ""


def _pool_file(loaded: Loaded, root: Path, pool: str) -> Document | Diagnostic:
    folder = pool_folder(loaded, root, pool)
    return folder if isinstance(folder, Diagnostic) else _pool_document(folder)


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
    return document.error(("spec", "nodes"), f"pool {pool!r} has no node {node!r}", did_you_mean(node, names))


def _nodes(data: Any) -> list[Any]:
    spec = data.get("spec") if isinstance(data, dict) else None
    nodes = spec.get("nodes") if isinstance(spec, dict) else None
    return nodes if isinstance(nodes, list) else []


# --- The edit commands -----------------------------------------------------------------------------------


def scale(loaded: Loaded, root: Path, pool: str, fleet: str, replicas: int) -> Proposal:
    """Set one fleet's spec.replicas."""
    folder = pool_folder(loaded, root, pool)
    document = folder if isinstance(folder, Diagnostic) else _fleet_document(folder, fleet)
    if isinstance(document, Diagnostic):
        return refusal(document)
    spec = document.data.get("spec")
    old = spec.get("replicas") if isinstance(spec, dict) else None
    summary = f"{pool}/{fleet}: replicas {old} -> {replicas}"
    return _proposal(document, ("spec",), _setter("replicas", replicas), summary)


def set_cordon(loaded: Loaded, root: Path, pool: str, node: str, cordoned: bool) -> Proposal:
    """Cordon (unschedulable: true) or uncordon a node; uncordoning a node without the key changes nothing."""
    found = _node(loaded, root, pool, node)
    if isinstance(found, Diagnostic):
        return refusal(found)
    document, index = found
    was = _nodes(document.data)[index].get("unschedulable") is True
    summary = f"{pool}/{node}: {'cordoned' if cordoned else 'uncordoned'}"
    if was == cordoned:
        return _unchanged(document, summary + " already")
    return _proposal(document, ("spec", "nodes", index), _setter("unschedulable", cordoned), summary)


def add_node(loaded: Loaded, root: Path, pool: str, node: dict[str, Any]) -> Proposal:
    """Append a node to spec.nodes, as a list item indented like the others."""
    document = _pool_file(loaded, root, pool)
    if isinstance(document, Diagnostic):
        return refusal(document)
    return _proposal(document, ("spec",), _appender("nodes", node), f"{pool}/{node['name']}: added")


def node_entry(
    name: str,
    address: str,
    labels: dict[str, str],
    capacity: dict[str, int | str | None],
    cordoned: bool,
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
    return entry


def remove_node(loaded: Loaded, root: Path, pool: str, node: str) -> Proposal:
    """Cut a node's list item (with the comments that belong to it) out of spec.nodes."""
    found = _node(loaded, root, pool, node)
    if isinstance(found, Diagnostic):
        return refusal(found)
    document, index = found
    return _proposal(document, ("spec",), _remover("nodes", index), f"{pool}/{node}: removed")


# An edit is two views of one change: on the text of the mapping it touches, and on the plain data it must give.
_TextEdit = Callable[[str, MappingNode], str]
_DataEdit = Callable[[dict[str, Any]], None]


def _setter(key: str, value: Any) -> tuple[_TextEdit, _DataEdit]:
    def text_edit(text: str, mapping: MappingNode) -> str:
        return set_value(text, mapping, key, _flow(value))

    def data_edit(data: dict[str, Any]) -> None:
        data[key] = value

    return text_edit, data_edit


def _appender(key: str, item: dict[str, Any]) -> tuple[_TextEdit, _DataEdit]:
    def text_edit(text: str, mapping: MappingNode) -> str:
        found = _entry(mapping, key)
        if found is None or _is_empty(found[1]):
            return set_value(text, mapping, key, _flow([item]))
        return append_item(text, found[1], item)

    def data_edit(data: dict[str, Any]) -> None:
        data[key] = [*(data.get(key) or []), item]

    return text_edit, data_edit


def _remover(key: str, index: int) -> tuple[_TextEdit, _DataEdit]:
    def text_edit(text: str, mapping: MappingNode) -> str:
        key_node, sequence = _entry(mapping, key) or _internal(f"no {key} to remove from")
        return remove_item(text, key_node, sequence, index)

    def data_edit(data: dict[str, Any]) -> None:
        del data[key][index]

    return text_edit, data_edit


def _unchanged(document: Document, summary: str) -> Proposal:
    before = Path(document.path).read_bytes()
    return Proposal((FileEdit(Path(document.path), before, before.decode("utf-8"), summary),))


def _proposal(
    document: Document, path: tuple[str | int, ...], edit: tuple[_TextEdit, _DataEdit], summary: str
) -> Proposal:
    """Edit the mapping at `path` of one document; the new text must read as exactly the old data, data-edited."""
    file = Path(document.path)
    before = file.read_bytes()
    text = before.decode("utf-8")
    text_edit, data_edit = edit
    mapping = _walk(list(YAML().compose_all(text))[document.index], path)
    if mapping is None:
        hint = "run fleetgen validate and fix the file first"
        return refusal(document.error(path, f"cannot edit {'.'.join(map(str, path))}: not a mapping", hint))
    after = text_edit(text, mapping)
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
        elif isinstance(node, MappingNode) and (found := _entry(node, str(segment))) is not None:
            node = found[1]
        else:
            return None
    return node if isinstance(node, MappingNode) else None


def _internal(what: str) -> Any:
    raise ValueError(INTERNAL.format(what=what))


# --- Text surgery ----------------------------------------------------------------------------------------


def _entry(mapping: MappingNode, key: str) -> tuple[Node, Node] | None:
    for key_node, value_node in mapping.value:
        if isinstance(key_node, ScalarNode) and key_node.value == key:
            return key_node, value_node
    return None


def _is_empty(node: Node) -> bool:
    """`key:` with nothing after it (ruamel marks that empty value at the next token, maybe a line later)."""
    return isinstance(node, ScalarNode) and node.value == "" and node.style is None


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _after_line(text: str, end: int) -> int:
    """Just past the line break that ends the line on which the text before `end` ends."""
    if end > 0 and text[end - 1] == "\n":
        return end
    found = text.find("\n", end)
    return len(text) if found < 0 else found + 1


def _content_end(node: Node) -> int:
    """Where a node's own text ends: a block collection ends with its last leaf, not with the comments after it."""
    if isinstance(node, MappingNode) and not node.flow_style and node.value:
        key, value = node.value[-1]
        return key.end_mark.index if _is_empty(value) else _content_end(value)
    if isinstance(node, SequenceNode) and not node.flow_style and node.value:
        return _content_end(node.value[-1])
    return node.end_mark.index


def _colon_after(text: str, key: Node) -> int:
    return text.index(":", key.end_mark.index)


def set_value(text: str, mapping: MappingNode, key: str, value: str) -> str:
    """Replace the value of `key` with `value` (YAML text), or add the key after the mapping's last entry."""
    found = _entry(mapping, key)
    if found is not None and _is_empty(found[1]):
        at = _colon_after(text, found[0]) + 1
        return text[:at] + " " + value + text[at:]
    if found is not None:
        start, end = found[1].start_mark.index, found[1].end_mark.index
        return text[:start] + value + text[end:]
    if mapping.flow_style:
        at = _content_end(mapping.value[-1][1]) if mapping.value else mapping.start_mark.index + 1
        return text[:at] + (", " if mapping.value else "") + f"{scalar(key)}: {value}" + text[at:]
    column = mapping.value[0][0].start_mark.column
    return _insert_lines(text, _after_line(text, _content_end(mapping)), column, [f"{scalar(key)}: {value}"])


def _insert_lines(text: str, at: int, column: int, lines: Sequence[str]) -> str:
    newline = _newline(text)
    head = "" if at == 0 or text[at - 1] == "\n" else newline
    body = "".join(" " * column + line + newline for line in lines)
    return text[:at] + head + body + text[at:]


def _flow(value: Any) -> str:
    """A value on one line, mappings and lists in flow style; a string plain when it reads back as itself,
    as people write `memory: 128Gi` (the canonical emitter would quote it, for any YAML reader's sake)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_flow(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, str) and _reads_back(value):
        return value
    return scalar(value)


def _reads_back(value: str) -> bool:
    """Whether `value` written plain reads as the same string, alone and inside a flow mapping."""
    if not value or value != value.strip() or any(c in value for c in "\n#,[]{}&*!|>'\"%@`"):
        return False
    try:
        return yaml.safe_load(value) == value and yaml.safe_load("{k: " + value + "}") == {"k": value}
    except yaml.YAMLError:
        return False


def append_item(text: str, sequence: Node, item: dict[str, Any]) -> str:
    """Append a mapping to a list: one `key: value` line per key, the dash and keys indented like the last item."""
    if not isinstance(sequence, SequenceNode):
        _internal("the list to append to is not a list")
    if sequence.flow_style or not sequence.value:
        at = _content_end(sequence.value[-1]) if sequence.value else sequence.start_mark.index + 1
        return text[:at] + (", " if sequence.value else "") + _flow(item) + text[at:]
    last = sequence.value[-1]
    dash = text.rfind("-", 0, last.start_mark.index)
    dash_column = dash - _line_start(text, dash)
    same_line = "\n" not in text[dash : last.start_mark.index]
    key_column = last.start_mark.column if same_line and isinstance(last, MappingNode) else dash_column + 2
    lines = [f"{scalar(key)}: {_flow(value)}" for key, value in item.items()]
    first = " " * dash_column + "-" + " " * (key_column - dash_column - 1) + lines[0]
    block = [first] + [" " * key_column + line for line in lines[1:]]
    return _insert_lines(text, _after_line(text, _content_end(sequence)), 0, block)


def remove_item(text: str, key: Node, sequence: Node, index: int) -> str:
    """Cut item `index` out of a list: a block item's lines with its own comments, or a flow item and a comma."""
    if not isinstance(sequence, SequenceNode):
        _internal("the list to remove from is not a list")
    items = sequence.value
    if sequence.flow_style:
        if index + 1 < len(items):
            start, end = items[index].start_mark.index, items[index + 1].start_mark.index
        else:
            start = _content_end(items[index - 1]) if index else items[index].start_mark.index
            end = items[index].end_mark.index
        return text[:start] + text[end:]
    start, end = _item_lines(text, items[index])
    text = text[:start] + text[end:]
    if len(items) == 1:
        at = _colon_after(text, key) + 1
        text = text[:at] + " []" + text[at:]
    return text


def _item_lines(text: str, item: Node) -> tuple[int, int]:
    """The lines of a block list item: from its dash's line (and the comment lines right above at the dash's
    indentation) to the end of its content (and the comment lines right below, indented deeper than the dash)."""
    dash = text.rfind("-", 0, item.start_mark.index)
    column = dash - _line_start(text, dash)
    start = _line_start(text, dash)
    for line_start, line in _lines_before(text, start):
        if not (line.strip().startswith("#") and _indent(line) == column):
            break
        start = line_start
    end = _after_line(text, _content_end(item))
    for line_end, line in _lines_after(text, end):
        if not (line.strip().startswith("#") and _indent(line) > column):
            break
        end = line_end
    return start, end


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _lines_before(text: str, start: int) -> Iterator[tuple[int, str]]:
    while start > 0:
        previous = _line_start(text, start - 1)
        yield previous, text[previous:start]
        start = previous


def _lines_after(text: str, end: int) -> Iterator[tuple[int, str]]:
    while end < len(text):
        line_end = _after_line(text, end + 1)
        yield line_end, text[end:line_end]
        end = line_end


# --- Check, then write -----------------------------------------------------------------------------------


def prepare(settings: Settings, pool: str, propose: Callable[[Loaded], Proposal]) -> Checked:
    """Load every pool, apply the proposal in memory, validate everything and compile `pool`: nothing is written."""
    loaded = load_fleets(settings.fleets)
    proposal = propose(loaded)
    if has_errors(proposal.notes):  # a file that does not load may be why the fleet or node was not found
        return Checked(proposal, (), (*loaded.diagnostics, *proposal.notes))
    validated = validate_fleets(_substituted(loaded, proposal.edits), settings.kubernetes_version)
    if has_errors(validated.diagnostics):
        return Checked(proposal, (), (*proposal.notes, *validated.diagnostics))
    chosen = dataclasses.replace(validated, pools=tuple(p for p in validated.pools if p.name == pool))
    compiled = compile_pools(chosen, settings.kubernetes_version)
    if has_errors(compiled.diagnostics):
        return Checked(proposal, (), (*proposal.notes, *compiled.diagnostics))
    plans = sinks.describe(compiled, settings.out, (pool,))
    return Checked(proposal, tuple(plans), (*proposal.notes, *compiled.diagnostics))


def _substituted(loaded: Loaded, edits: Sequence[FileEdit]) -> Loaded:
    """The loaded folders as they would read with the edits written (same paths, so diagnostics name the files)."""
    texts = {str(edit.path): edit.after for edit in edits}
    diagnostics = [d for d in loaded.diagnostics if d.path not in texts]
    folders = []
    for folder in loaded.pools:
        pool_documents, fleet_documents = list(folder.pool_documents), list(folder.fleet_documents)
        for path, text in texts.items():
            if Path(path).parent != folder.folder:
                continue
            documents, found = parse_documents(path, text)
            diagnostics += found
            if Path(path).name == POOL_FILE:
                pool_documents = documents
            else:
                fleet_documents = [d for d in fleet_documents if d.path != path] + documents
        fleet_documents.sort(key=lambda d: (Path(d.path).name, d.index))
        edited = {"pool_documents": tuple(pool_documents), "fleet_documents": tuple(fleet_documents)}
        folders.append(dataclasses.replace(folder, **edited))
    return Loaded(tuple(folders), tuple(diagnostics))


def changed(checked: Checked) -> list[FileEdit]:
    return [edit for edit in checked.proposal.edits if edit.before != edit.after.encode("utf-8")]


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


def formatted(diagnostics: Sequence[Diagnostic], edits: Sequence[FileEdit]) -> list[str]:
    """Each diagnostic as `file:line:col`, with its source line taken from the edited text when the file was
    edited (the file on disk still holds the old text, or does not exist yet)."""
    shown = []
    with tempfile.TemporaryDirectory(prefix="fleetgen-edit-") as scratch:
        copies = {}
        for number, edit in enumerate(edits):
            copy = Path(scratch) / f"{number}.yaml"
            copy.write_text(edit.after, encoding="utf-8")
            copies[str(edit.path)] = str(copy)
        for diagnostic in sorted(diagnostics):
            copy = copies.get(diagnostic.path)
            if copy is None or not diagnostic.line:
                shown.append(format_diagnostic(diagnostic))
            else:
                text = format_diagnostic(dataclasses.replace(diagnostic, path=copy))
                shown.append(diagnostic.path + text[len(copy) :])
    return shown
