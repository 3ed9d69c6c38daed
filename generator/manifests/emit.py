"""Emit: plain data -> canonical block YAML text, fast, read alike by YAML 1.1 and YAML 1.2 loaders."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

Scalar = str | int | bool | None

# A string is written plain only when no loader could read it as anything but that same string:
# it starts with a letter, `_` or `/` (so never a number, date, base-60 value, `.inf`, `~`, indicator
# or directive) and holds only ASCII letters, digits and `_./-`, plus `:` when a non-colon follows it
# (image references, URLs) so that `: ` and a trailing `:` never occur.
_PLAIN = re.compile(r"[A-Za-z_/](?:[A-Za-z0-9_./-]|:(?=[A-Za-z0-9_./-]))*")
# Letter-only words that YAML 1.1 or 1.2 resolve to a bool or null, in any case variant.
_RESERVED = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})

# Escaped: what is outside YAML's printable set, the line breaks YAML 1.1 folds (U+0085, U+2028,
# U+2029), the BOM, and the bidirectional controls that could make a reviewed diff read differently
# from what is applied. Surrogates are matched only to be refused in `_escape`.
_NEEDS_ESCAPE = re.compile(
    r'[\x00-\x1f"\\\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069'
    r"\ud800-\udfff\ufeff\ufffe\uffff]"
)
_ESCAPES = {
    "\0": "\\0",
    "\a": "\\a",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\v": "\\v",
    "\f": "\\f",
    "\r": "\\r",
    "\x1b": "\\e",
    '"': '\\"',
    "\\": "\\\\",
    "\x85": "\\N",
    "\u2028": "\\L",
    "\u2029": "\\P",
}

# Printable ASCII but `'`: safe between single quotes, where nothing is escaped. Used for strings that
# double quotes would fill with backslashes (JSON in a ConfigMap), so they stay readable and cheap.
_SINGLE_QUOTABLE = re.compile(r"[ -&(-~]*")

# YAML loaders give up on an implicit key longer than 1024 characters; longer keys use `? key`.
_MAX_IMPLICIT_KEY = 1000

# Bounded so that 150,000 one-off server names cannot grow it without limit, but large enough to hold a pool's
# server names from its Pods to its endpoints ConfigMaps; output never depends on it.
_CACHE_SIZE = 32768
_CACHEABLE_LENGTH = 256
_str_cache: dict[str, str] = {}
_key_cache: dict[str, str] = {}


def _escape(match: re.Match[str]) -> str:
    """The escape of one character; a surrogate is refused because libyaml, and so go-yaml (kubectl,
    Argo CD, Flux), rejects a `\\uD800` escape, and a raw one cannot be encoded to UTF-8."""
    char = match.group()
    escape = _ESCAPES.get(char)
    if escape is not None:
        return escape
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        raise ValueError(f"cannot emit the lone surrogate U+{code:04X} in {match.string!r}")
    return f"\\x{code:02X}" if code < 0x100 else f"\\u{code:04X}"


def _text(value: str) -> str:
    """Plain when unambiguous, else quoted (single quotes where that avoids escapes).

    Cached because the same few strings recur in every Pod.
    """
    if _PLAIN.fullmatch(value) is not None and value.lower() not in _RESERVED:
        text = value
    elif ('"' in value or "\\" in value) and _SINGLE_QUOTABLE.fullmatch(value) is not None:
        text = "'" + value + "'"
    else:
        text = '"' + _NEEDS_ESCAPE.sub(_escape, value) + '"'
    if len(value) <= _CACHEABLE_LENGTH:
        if len(_str_cache) >= _CACHE_SIZE:
            _str_cache.clear()
        _str_cache[value] = text
    return text


def scalar(value: Scalar) -> str:
    """The YAML text of one scalar, always on one line so that it can fill a template hole."""
    if value.__class__ is str:
        return _str_cache.get(value) or _text(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, str):
        # A str subclass (a str-valued enum): its value, never its repr.
        return _text(str.__str__(value))
    raise TypeError(f"cannot emit {type(value).__name__} {value!r}: only str, int, bool and None")


@dataclass(frozen=True, slots=True)
class Slot:
    """A hole in a template, filled per server by name."""

    name: str


Leaf = Callable[[object], "str | Slot"]


def _key(key: object, indent: str) -> str:
    """`key:`; a key too long for an implicit key is written `? key` with `:` on the next line."""
    if key.__class__ is not str:
        if not isinstance(key, str):
            raise TypeError(f"mapping keys must be str, not {type(key).__name__} {key!r}")
        key = str.__str__(key)
    text = _str_cache.get(key) or _text(key)
    if len(text) > _MAX_IMPLICIT_KEY:
        return f"? {text}\n{indent}:"
    if len(_key_cache) >= _CACHE_SIZE:
        _key_cache.clear()
    _key_cache[key] = text + ":"
    return text + ":"


def _block(head: str, value: object, indent: str, out: list[str | Slot], leaf: Leaf) -> None:
    """Write `head` and then `value`: on the same line when it is a scalar or empty, else below it."""
    kind = value.__class__
    if kind is str:
        out.append(f"{head} {_str_cache.get(value) or _text(value)}\n")
    elif kind is dict or (kind is not list and isinstance(value, dict)):
        if value:
            out.append(head + "\n")
            _mapping(value, indent, indent, out, leaf)
        else:
            out.append(head + " {}\n")
    elif kind is list or isinstance(value, list):
        if value:
            out.append(head + "\n")
            _sequence(value, indent, indent, out, leaf)
        else:
            out.append(head + " []\n")
    else:
        text = leaf(value)
        if text.__class__ is str:
            out.append(f"{head} {text}\n")
        else:
            out.extend((head + " ", text, "\n"))


def _mapping(obj: dict, first: str, indent: str, out: list[str | Slot], leaf: Leaf) -> None:
    """Write a non-empty mapping at `indent`; its first line starts with `first` (`- ` in a list)."""
    prefix = first
    child = indent + "  "
    for key, value in obj.items():
        head = prefix + (_key_cache.get(key) or _key(key, indent))
        prefix = indent
        kind = value.__class__
        if kind is str:
            out.append(f"{head} {_str_cache.get(value) or _text(value)}\n")
        elif kind is int:
            out.append(f"{head} {value:d}\n")
        else:
            _block(head, value, child, out, leaf)


def _sequence(items: list, first: str, indent: str, out: list[str | Slot], leaf: Leaf) -> None:
    """Write a non-empty sequence at `indent`; a non-empty container item starts on its `- ` line."""
    head = first + "-"
    dash = indent + "-"
    child = indent + "  "
    for item in items:
        kind = item.__class__
        if item and (kind is dict or (kind is not list and isinstance(item, dict))):
            _mapping(item, head + " ", child, out, leaf)
        elif item and (kind is list or isinstance(item, list)):
            _sequence(item, head + " ", child, out, leaf)
        else:
            _block(head, item, child, out, leaf)
        head = dash


def _parts(obj: dict, leaf: Leaf) -> list[str | Slot]:
    """The document as literal text with Slots left in place; emit and templates share it."""
    if not isinstance(obj, dict):
        raise TypeError(f"a document must be a dict, not {type(obj).__name__}")
    if not obj:
        return ["{}\n"]
    out: list[str | Slot] = []
    _mapping(obj, "", "", out, leaf)
    return out


def emit(obj: dict) -> str:
    """One block-style document in the dict's own key order (the caller owns canonical order)."""
    return "".join(_parts(obj, scalar))


def emit_all(objs: Iterable[dict]) -> str:
    """A multi-document stream: documents separated by `---` lines, none before the first."""
    return "---\n".join([emit(obj) for obj in objs])


def _scalar_or_slot(value: object) -> str | Slot:
    """The leaf of a template: a Slot stays a hole, anything else is formatted now."""
    return value if isinstance(value, Slot) else scalar(value)


class Template:
    """A document emitted once with holes; `fill` only formats the holes, so 150,000 Pods stay cheap."""

    __slots__ = ("_holes", "_parts", "names")

    def __init__(self, parts: list[str | Slot]) -> None:
        merged: list[str] = []
        holes: dict[str, list[int]] = {}
        literal: list[str] = []
        for part in parts:
            if isinstance(part, Slot):
                merged.append("".join(literal))
                literal = []
                holes.setdefault(part.name, []).append(len(merged))
                merged.append("")
            else:
                literal.append(part)
        merged.append("".join(literal))
        self._parts: tuple[str, ...] = tuple(merged)
        # Each slot name with every position it fills: a value that fills several holes is formatted once.
        self._holes: tuple[tuple[str, tuple[int, ...]], ...] = tuple(
            (name, tuple(positions)) for name, positions in holes.items()
        )
        self.names: frozenset[str] = frozenset(holes)

    def fill(self, values: Mapping[str, Scalar]) -> str:
        """Exactly `emit` of the object with each Slot replaced by `values[slot.name]`."""
        parts = list(self._parts)
        cache = _str_cache
        for name, positions in self._holes:
            value = values[name]
            kind = value.__class__
            if kind is str:
                text = cache.get(value) or _text(value)
            else:
                text = int.__repr__(value) if kind is int else scalar(value)
            for index in positions:
                parts[index] = text
        return "".join(parts)


def compile_template(obj: dict) -> Template:
    """Emit `obj` once, leaving a hole at every Slot (a value or list item, never a key)."""
    return Template(_parts(obj, _scalar_or_slot))
