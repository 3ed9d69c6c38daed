"""Plain data: a YAML node tree -> the dicts, lists and scalars a fleet file means, refusing what YAML
allows but a fleet file must not use (duplicate keys, merge keys, custom tags, alias bombs), each at its
position."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

from ..diagnostics import Diagnostic, error

MAX_EXPANDED_NODES = 1_000_000

_SCALARS = yaml.constructor.SafeConstructor()
_STR_TAG = "tag:yaml.org,2002:str"
_SCALAR_TAGS = {
    _STR_TAG: str,
    "tag:yaml.org,2002:int": _SCALARS.construct_yaml_int,
    "tag:yaml.org,2002:float": _SCALARS.construct_yaml_float,
    "tag:yaml.org,2002:bool": _SCALARS.construct_yaml_bool,
    "tag:yaml.org,2002:null": _SCALARS.construct_yaml_null,
    # Kubernetes treats dates as strings; so do we.
    "tag:yaml.org,2002:timestamp": str,
}
_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


class _ExpandedTooFar(Exception):
    """The document is built past MAX_EXPANDED_NODES nodes: building stops there."""


class Builder:
    """Turns a node tree into plain data, refusing what YAML allows but a fleet file must not use."""

    def __init__(self, display: str, aliased: bool) -> None:
        self.display = display
        self._aliased = aliased  # the text may hold aliases
        self.diagnostics: list[Diagnostic] = []
        self._sizes: dict[int, int] = {}
        self._built = 0  # nodes built so far, an alias's every time it is used

    def build(self, root: yaml.Node) -> Any:
        """The document's data, or None with the reasons. With aliases, the expanded size is measured first,
        so that a bomb is refused before it is built; without (no `*` in the file) it is the node count, so
        nodes are counted as they are built, and the parts a problem left unbuilt are measured after."""
        if self._aliased and self._expanded_size(root) > MAX_EXPANDED_NODES:
            return self._too_large(root)
        try:
            data = self._value(root)
        except _ExpandedTooFar:
            return self._too_large(root)
        if self.diagnostics and not self._aliased and self._expanded_size(root) > MAX_EXPANDED_NODES:
            return self._too_large(root)
        return data

    def _too_large(self, root: yaml.Node) -> None:
        self.diagnostics = []
        self._fail(
            root,
            f"aliases expand this document to more than {MAX_EXPANDED_NODES:,} nodes",
            "write the repeated parts out, or use fewer nested aliases",
        )

    def _expanded_size(self, node: yaml.Node) -> int:
        known = self._sizes.get(id(node))
        if known is not None:
            return known
        self._sizes[id(node)] = 1  # a recursive alias counts once here and is refused by _value
        size = 1 + sum(self._expanded_size(child) for child in _children(node))
        self._sizes[id(node)] = size
        return size

    def _fail(self, node: yaml.Node, message: str, hint: str = "") -> None:
        mark = node.start_mark
        self.diagnostics.append(error(self.display, mark.line + 1, mark.column + 1, message, hint))

    def _value(self, node: yaml.Node, depth: int = 0) -> Any:
        self._built += 1
        if self._built > MAX_EXPANDED_NODES:
            raise _ExpandedTooFar
        if depth > 100:
            hint = "an alias that refers to its own anchor never ends; else write fewer levels"
            self._fail(node, "nesting is deeper than 100 levels (a recursive alias?)", hint)
            return None
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.tag not in _COLLECTION_TAGS:
            self._fail(node, f"unsupported YAML tag {node.tag!r}", "remove the tag; plain values are enough")
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self._value(item, depth + 1) for item in node.value]
        construct = _SCALAR_TAGS.get(node.tag)
        if construct is None:
            self._fail(node, f"unsupported YAML tag {node.tag!r}", "remove the tag; plain values are enough")
            return None
        return node.value if construct is str else construct(node)

    def _mapping(self, node: yaml.MappingNode, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self._fail(key_node, "merge keys (<<) are not supported", "write the keys out in full")
                continue
            key = self._value(key_node, depth + 1)
            if not isinstance(key, str):
                shown = key_node.value if isinstance(key_node, yaml.ScalarNode) else "a collection"
                self._fail(key_node, f"mapping key {shown!r} is not a string", f'quote it: "{shown}"')
                continue
            if key in result:
                self._fail(key_node, f"duplicate key {key!r} (first at line {first_line[key]})", "remove one of them")
                continue
            first_line[key] = key_node.start_mark.line + 1
            result[key] = self._value(value_node, depth + 1)
        return result


def _children(node: yaml.Node) -> Iterator[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            yield key_node
            yield value_node
    elif isinstance(node, yaml.SequenceNode):
        yield from node.value
