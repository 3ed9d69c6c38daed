"""YAML text: change one value, add or cut one list item, in a file's text, every other byte kept.

Spans come from the YAML composer's node marks, which are character offsets (libyaml's, as PyYAML's); a new line is
indented like its neighbours, and a cut list item takes its own comments with it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..manifests.emit import scalar

INTERNAL = "internal error: {what}; please report it with the file"


def internal(what: str) -> Any:
    """Stop on a broken invariant of an edit: a bug to report, never the user's mistake."""
    raise ValueError(INTERNAL.format(what=what))


def entry(mapping: MappingNode, key: str) -> tuple[Node, Node] | None:
    """The (key, value) nodes of `key` in a mapping, or None."""
    for key_node, value_node in mapping.value:
        if isinstance(key_node, ScalarNode) and key_node.value == key:
            return key_node, value_node
    return None


def is_empty(node: Node) -> bool:
    """`key:` with nothing after it (a plain empty scalar: libyaml says style '', PyYAML None; its mark may sit
    at the next token, a line later, so edits go by the key's colon instead)."""
    return isinstance(node, ScalarNode) and node.value == "" and not node.style


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
        return key.end_mark.index if is_empty(value) else _content_end(value)
    if isinstance(node, SequenceNode) and not node.flow_style and node.value:
        return _content_end(node.value[-1])
    return node.end_mark.index


def _colon_after(text: str, key: Node) -> int:
    return text.index(":", key.end_mark.index)


Splice = tuple[int, int, str]
"""Replace text[start:end] with the string; several splices, computed on one text, apply at once."""


def spliced(text: str, splices: Sequence[Splice]) -> str:
    """`text` with every splice applied: they come from this text and do not overlap; insertions at one
    place keep their order. One pass, whatever the number of splices."""
    pieces, at = [], 0
    for start, end, new in sorted(splices, key=lambda splice: (splice[0], splice[1])):
        if start < at:
            internal("two edits of one file overlap")
        pieces += [text[at:start], new]
        at = end
    pieces.append(text[at:])
    return "".join(pieces)


def set_value(text: str, mapping: MappingNode, key: str, value: str) -> str:
    """Replace the value of `key` with `value` (YAML text), or add the key after the mapping's last entry."""
    if entry(mapping, key) is None:
        return spliced(text, [new_keys(text, mapping, [(key, value)])])
    return spliced(text, [value_splice(text, mapping, key, value)])


def value_splice(text: str, mapping: MappingNode, key: str, value: str) -> Splice:
    """Replace an existing key's value with `value` (YAML text on one line); a block collection goes from
    its colon to its last leaf, so the key then reads `key: value`."""
    key_node, value_node = entry(mapping, key) or internal(f"no {key} to set")
    block = isinstance(value_node, MappingNode | SequenceNode) and not value_node.flow_style
    if is_empty(value_node) or block:
        at = _colon_after(text, key_node) + 1
        return at, at if is_empty(value_node) else _content_end(value_node), " " + value
    return value_node.start_mark.index, value_node.end_mark.index, value


def new_keys(text: str, mapping: MappingNode, pairs: Sequence[tuple[str, str]]) -> Splice:
    """Add `key: value` entries (values as YAML text) after a mapping's last entry, in its style."""
    if mapping.flow_style:
        at = _content_end(mapping.value[-1][1]) if mapping.value else mapping.start_mark.index + 1
        added = ", ".join(f"{scalar(key)}: {value}" for key, value in pairs)
        return at, at, (", " if mapping.value else "") + added
    column = mapping.value[0][0].start_mark.column
    at = _after_line(text, _content_end(mapping))
    return at, at, _lines_at(text, at, column, [f"{scalar(key)}: {value}" for key, value in pairs])


def _lines_at(text: str, at: int, column: int, lines: Sequence[str]) -> str:
    """Whole lines to insert at `at`, indented to `column`, in the file's line endings."""
    newline = _newline(text)
    head = "" if at == 0 or text[at - 1] == "\n" else newline
    return head + "".join(" " * column + line + newline for line in lines)


def flow(value: Any) -> str:
    """A value on one line, mappings and lists in flow style; a string plain when it reads back as itself,
    as people write `memory: 128Gi` (the canonical emitter would quote it, for any YAML reader's sake)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{flow(k)}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow(v) for v in value) + "]"
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
        internal("the list to append to is not a list")
    if sequence.flow_style or not sequence.value:
        at = _content_end(sequence.value[-1]) if sequence.value else sequence.start_mark.index + 1
        return text[:at] + (", " if sequence.value else "") + flow(item) + text[at:]
    at = _after_line(text, _content_end(sequence))
    return text[:at] + item_lines(text, sequence, at, item) + text[at:]


def item_lines(text: str, sequence: SequenceNode, at: int, item: dict[str, Any]) -> str:
    """A mapping as block list item lines to insert at `at`: one `key: value` line per key, the dash and the
    keys indented like the block list's last item."""
    last = sequence.value[-1]
    dash = text.rfind("-", 0, last.start_mark.index)
    dash_column = dash - _line_start(text, dash)
    same_line = "\n" not in text[dash : last.start_mark.index]
    key_column = last.start_mark.column if same_line and isinstance(last, MappingNode) else dash_column + 2
    lines = [f"{scalar(key)}: {flow(value)}" for key, value in item.items()]
    first = " " * dash_column + "-" + " " * (key_column - dash_column - 1) + lines[0]
    return _lines_at(text, at, 0, [first] + [" " * key_column + line for line in lines[1:]])


def block_list(text: str, mapping: MappingNode, key: str, items: Sequence[dict[str, Any]]) -> list[Splice]:
    """Make `key` of a mapping a block list of `items`, its dashes two columns in from the key: for a key
    that is absent, empty or an empty flow list."""
    found = entry(mapping, key)
    column = mapping.value[0][0].start_mark.column if found is None else found[0].start_mark.column
    body = []
    for item in items:
        lines = [f"{scalar(k)}: {flow(v)}" for k, v in item.items()]
        body += [" " * (column + 2) + "- " + lines[0], *(" " * (column + 4) + line for line in lines[1:])]
    if found is None:
        at = _after_line(text, _content_end(mapping))
        return [(at, at, _lines_at(text, at, 0, [" " * column + f"{scalar(key)}:", *body]))]
    colon = _colon_after(text, found[0]) + 1
    end = colon if is_empty(found[1]) else found[1].end_mark.index
    at = _after_line(text, end)
    return [(colon, end, ""), (at, at, _lines_at(text, at, 0, body))]


def remove_item(text: str, key: Node, sequence: Node, index: int) -> str:
    """Cut item `index` out of a list: a block item's lines with its own comments, or a flow item and a comma."""
    if not isinstance(sequence, SequenceNode):
        internal("the list to remove from is not a list")
    items = sequence.value
    if sequence.flow_style:
        if index + 1 < len(items):
            start, end = items[index].start_mark.index, items[index + 1].start_mark.index
        else:
            start = _content_end(items[index - 1]) if index else items[index].start_mark.index
            end = items[index].end_mark.index
        return text[:start] + text[end:]
    start, end = item_span(text, items[index])
    text = text[:start] + text[end:]
    if len(items) == 1:
        at = _colon_after(text, key) + 1
        text = text[:at] + " []" + text[at:]
    return text


def item_span(text: str, item: Node) -> tuple[int, int]:
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


# --- Make a value read as other data, touching only what differs --------------------------------------------


def reconciled(text: str, mapping: MappingNode, key: str, old: Any, new: Any) -> str:
    """The value of `key`, which reads as `old`, made to read as `new` by changing only the scalars, entries
    and items that differ (a restored template: an image, an env value), so that the comments and layout of
    all the rest stay byte for byte. Lists that changed length and collections that changed type are
    written anew, a block as a block, and so is the whole value when it uses an alias (one node in two
    places: changing it in place would change both)."""
    value = (entry(mapping, key) or internal(f"no {key} to change"))[1]
    if _aliased(value, set()):
        return spliced(text, [_replaced(text, (mapping, key), value, new)])
    return spliced(text, list(_differences(text, (mapping, key), value, old, new)))


def _aliased(node: Node, seen: set[int]) -> bool:
    """Whether a node appears twice below `node` (an alias reuses its anchor's node)."""
    if id(node) in seen:
        return True
    seen.add(id(node))
    if isinstance(node, MappingNode):
        return any(_aliased(child, seen) for pair in node.value for child in pair)
    if isinstance(node, SequenceNode):
        return any(_aliased(child, seen) for child in node.value)
    return False


def _differences(text: str, owner: tuple[MappingNode, str] | None, node: Node, old: Any, new: Any) -> Iterator[Splice]:
    """The splices that make `node` (the value of `owner`'s key, or a list item) read as `new`."""
    if _same(old, new):
        return
    kept = [key.value in new for key, _ in node.value] if isinstance(node, MappingNode) else []
    if isinstance(old, dict) and isinstance(new, dict) and any(kept):
        for index, (key_node, value_node) in enumerate(node.value):
            if kept[index]:
                yield from _differences(
                    text, (node, key_node.value), value_node, old[key_node.value], new[key_node.value]
                )
            elif index == 0 or kept[index - 1]:
                yield _cut_entries(text, node, index, kept)
        added = [(name, flow(value)) for name, value in new.items() if name not in old]
        if added:
            yield new_keys(text, node, added)
    elif isinstance(old, list) and isinstance(new, list) and isinstance(node, SequenceNode) and len(old) == len(new):
        for item, old_item, new_item in zip(node.value, old, new, strict=True):
            yield from _differences(text, None, item, old_item, new_item)
    else:
        yield _replaced(text, owner, node, new)


def _same(old: Any, new: Any) -> bool:
    """Equal as data, types included (YAML's 1, 1.0 and true are not the same value; Python's == says so)."""
    return json.dumps(old, sort_keys=True) == json.dumps(new, sort_keys=True)


def _replaced(text: str, owner: tuple[MappingNode, str] | None, node: Node, new: Any) -> Splice:
    """A whole value written anew: a block collection as a block in its column, anything else on one line."""
    block = isinstance(node, MappingNode | SequenceNode) and not node.flow_style and node.value
    if not (block and isinstance(new, dict | list) and new):
        if owner is not None:
            return value_splice(text, *owner, flow(new))
        return node.start_mark.index, _content_end(node), flow(new)
    lines = [" " * node.start_mark.column + line for line in _block_text(new).splitlines()]
    if owner is not None:
        key = (entry(*owner) or internal(f"no {owner[1]} to change"))[0]
        at = _colon_after(text, key) + 1
        return at, _content_end(node), _newline(text) + _newline(text).join(lines)
    return node.start_mark.index, _content_end(node), _newline(text).join([lines[0].lstrip(" "), *lines[1:]])


def _block_text(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=False, sort_keys=False, allow_unicode=True, width=2**16)


def _cut_entries(text: str, mapping: MappingNode, first: int, kept: list[bool]) -> Splice:
    """The run of entries that starts at `first` and that `kept` says go, out of a mapping that keeps others:
    their lines (or, on a list's dash line, up to the next key), flow entries with their commas."""
    last = first + kept[first:].index(True) - 1 if True in kept[first:] else len(kept) - 1
    key, value = mapping.value[first][0], mapping.value[last][1]
    end = mapping.value[last][0].end_mark.index if is_empty(value) else _content_end(value)
    following = mapping.value[last + 1][0].start_mark.index if last + 1 < len(kept) else None
    line_start = _line_start(text, key.start_mark.index)
    if following is not None and (mapping.flow_style or text[line_start : key.start_mark.index].strip()):
        return key.start_mark.index, following, ""
    if mapping.flow_style:
        return _content_end(mapping.value[first - 1][1]), end, ""
    return line_start, _after_line(text, end), ""
