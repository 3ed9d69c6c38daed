"""YAML text: change one value, add or cut one list item, in a file's text, every other byte kept.

Spans come from ruamel.yaml's round-trip composer, whose node marks are character offsets; a new line is
indented like its neighbours, and a cut list item takes its own comments with it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import yaml
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

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
        return key.end_mark.index if is_empty(value) else _content_end(value)
    if isinstance(node, SequenceNode) and not node.flow_style and node.value:
        return _content_end(node.value[-1])
    return node.end_mark.index


def _colon_after(text: str, key: Node) -> int:
    return text.index(":", key.end_mark.index)


def set_value(text: str, mapping: MappingNode, key: str, value: str) -> str:
    """Replace the value of `key` with `value` (YAML text), or add the key after the mapping's last entry."""
    found = entry(mapping, key)
    if found is not None and is_empty(found[1]):
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
    last = sequence.value[-1]
    dash = text.rfind("-", 0, last.start_mark.index)
    dash_column = dash - _line_start(text, dash)
    same_line = "\n" not in text[dash : last.start_mark.index]
    key_column = last.start_mark.column if same_line and isinstance(last, MappingNode) else dash_column + 2
    lines = [f"{scalar(key)}: {flow(value)}" for key, value in item.items()]
    first = " " * dash_column + "-" + " " * (key_column - dash_column - 1) + lines[0]
    block = [first] + [" " * key_column + line for line in lines[1:]]
    return _insert_lines(text, _after_line(text, _content_end(sequence)), 0, block)


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


# --- Make a value read as other data, touching only what differs --------------------------------------------

_Splice = tuple[int, int, str]  # text[start:end] becomes the string; splices of one text never overlap


def reconciled(text: str, mapping: MappingNode, key: str, old: Any, new: Any) -> str:
    """The value of `key`, which reads as `old`, made to read as `new` by changing only the scalars, entries
    and items that differ (a restored template: an image, an env value), so that the comments and layout of
    all the rest stay byte for byte. Lists that changed length and collections that changed style are
    written anew, in the style they had."""
    key_node, value = entry(mapping, key) or internal(f"no {key} to change")
    splices = sorted(_differences(text, key_node, value, old, new), reverse=True)
    for start, end, replacement in splices:
        text = text[:start] + replacement + text[end:]
    return text


def _differences(text: str, key: Node | None, node: Node, old: Any, new: Any) -> Iterator[_Splice]:
    if _same(old, new):
        return
    if isinstance(old, dict) and isinstance(new, dict) and isinstance(node, MappingNode) and node.value:
        for key_node, value_node in node.value:
            if key_node.value in new:
                yield from _differences(text, key_node, value_node, old[key_node.value], new[key_node.value])
            else:
                yield _cut_entry(text, node, key_node)
        added = [(name, value) for name, value in new.items() if name not in old]
        if added:
            yield _new_entries(text, node, added)
    elif isinstance(old, list) and isinstance(new, list) and isinstance(node, SequenceNode) and len(old) == len(new):
        for item, old_item, new_item in zip(node.value, old, new, strict=True):
            yield from _differences(text, None, item, old_item, new_item)
    else:
        yield _replaced(text, key, node, new)


def _same(old: Any, new: Any) -> bool:
    """Equal as data, types included (YAML's 1, 1.0 and true are not the same value; Python's == says so)."""
    return json.dumps(old, sort_keys=True) == json.dumps(new, sort_keys=True)


def _replaced(text: str, key: Node | None, node: Node, new: Any) -> _Splice:
    """A whole value written anew: a block collection as a block in its column, anything else on one line."""
    block = isinstance(node, MappingNode | SequenceNode) and not node.flow_style and node.value
    if key is not None and (block or is_empty(node)):
        at = _colon_after(text, key) + 1
        end = at if is_empty(node) else _content_end(node)
        if block and isinstance(new, dict | list) and new:
            return at, end, _newline(text) + _newline(text).join(_block_lines(new, node.start_mark.column))
        return at, end, " " + flow(new)
    if block and isinstance(new, dict | list) and new:
        lines = _block_lines(new, node.start_mark.column)
        return node.start_mark.index, _content_end(node), _newline(text).join([lines[0].lstrip(" "), *lines[1:]])
    return node.start_mark.index, _content_end(node), flow(new)


def _block_lines(value: Any, column: int) -> list[str]:
    dumped = yaml.safe_dump(value, default_flow_style=False, sort_keys=False, allow_unicode=True, width=2**16)
    return [" " * column + line for line in dumped.splitlines()]


def _cut_entry(text: str, mapping: MappingNode, key: Node) -> _Splice:
    """An entry out of a mapping: a block entry's lines (or, sharing its line with a list's dash, up to the next
    key), a flow entry with its comma."""
    index = next(i for i, (key_node, _) in enumerate(mapping.value) if key_node is key)
    value = mapping.value[index][1]
    end = key.end_mark.index if is_empty(value) else _content_end(value)
    following = mapping.value[index + 1][0].start_mark.index if index + 1 < len(mapping.value) else None
    if mapping.flow_style:
        if following is not None:
            return key.start_mark.index, following, ""
        start = _content_end(mapping.value[index - 1][1]) if index else key.start_mark.index
        return start, end, ""
    line_start = _line_start(text, key.start_mark.index)
    if text[line_start : key.start_mark.index].strip() and following is not None:
        return key.start_mark.index, following, ""
    return line_start, _after_line(text, end), ""


def _new_entries(text: str, mapping: MappingNode, pairs: Sequence[tuple[str, Any]]) -> _Splice:
    """Entries added after a mapping's last one, in its style and column."""
    entries = [f"{scalar(name)}: {flow(value)}" for name, value in pairs]
    if mapping.flow_style:
        at = _content_end(mapping.value[-1][1])
        return at, at, "".join(f", {added}" for added in entries)
    at = _after_line(text, _content_end(mapping))
    newline, column = _newline(text), mapping.value[0][0].start_mark.column
    head = "" if at == 0 or text[at - 1] == "\n" else newline
    return at, at, head + "".join(" " * column + added + newline for added in entries)
