"""kubectl output: a list of Kubernetes objects as `kubectl get -o json|yaml` prints it, read and checked.

`kubectl get nodes -o json` prints `{"kind": "List", "items": [...]}`; the API server's own list is a
`NodeList`; `kubectl get node NAME -o json` prints one object. All three are taken. Problems are named
by object and field (`Node ip-10-0-1-21 (items[3]): status.addresses: ...`), as kubectl output has no
lines worth pointing at.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..diagnostics import Diagnostic, error
from .json_stream import CHUNK, ITEM, top_level

STDIN = "-"
_MISSING = object()
_TYPE_NAMES = {dict: "a mapping", list: "a list", str: "a string", int: "a number", bool: "true or false"}


@dataclass(frozen=True, slots=True)
class KubeObject:
    """One object of the list, with what names it in a message."""

    kind: str
    name: str
    index: int | None  # its place in the list's items; None for a lone object
    body: dict[str, Any]

    @property
    def label(self) -> str:
        where = f" (items[{self.index}])" if self.index is not None else ""
        return f"{self.kind} {self.name or '<no name>'}{where}"


@dataclass(slots=True)
class Objects:
    """What a source held: the objects of the asked kind, and the problems found on the way."""

    source: str
    objects: list[KubeObject] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def problem(self, obj: KubeObject | None, message: str, hint: str) -> None:
        prefix = f"{obj.label}: " if obj is not None else ""
        self.diagnostics.append(error(self.source, 0, 0, prefix + message, hint))

    def get(self, obj: KubeObject, path: str, kind: type, default: Any = _MISSING) -> Any:
        """The field at dotted `path` of `obj` (`spec.containers[0].image` reaches into lists), checked to
        be of `kind`; `default` when absent (an absent field without a default, or one of another type, is
        a problem, and gives `default` or None)."""
        value: Any = obj.body
        for key, position in _steps(path):
            value = value.get(key, _MISSING) if isinstance(value, dict) else _MISSING
            if position is not None:
                value = value[position] if isinstance(value, list) and position < len(value) else _MISSING
            if value is _MISSING or value is None:
                if default is _MISSING:
                    self.problem(obj, f"{path} is missing", _FROM_KUBECTL)
                    return None
                return default
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.problem(
                obj, f"{path} must be {_TYPE_NAMES.get(kind, kind.__name__)}, not {_shown(value)}", _FROM_KUBECTL
            )
            return default if default is not _MISSING else None
        return value

    def mappings(self, obj: KubeObject, path: str, required: bool = False) -> list[str]:
        """The paths (`path[0]`, `path[1]`, ...) of the mappings in the list at `path`, for `get`; an item
        that is not a mapping is a problem, and so is an absent list when `required`."""
        items = self.get(obj, path, list) if required else self.get(obj, path, list, [])
        return [f"{path}[{i}]" for i in range(len(items or [])) if self.get(obj, f"{path}[{i}]", dict) is not None]


_FROM_KUBECTL = "pass what `kubectl get ... -o json` prints, unedited"


@functools.lru_cache(maxsize=4096)
def _steps(path: str) -> tuple[tuple[str, int | None], ...]:
    """`spec.containers[0].image` as (key, list index) steps, worked out once per path, not once per Pod."""
    steps = []
    for part in path.split("."):
        key, _, index = part.partition("[")
        steps.append((key, int(index.rstrip("]")) if index else None))
    return tuple(steps)


def read_text(source: str, stdin: Any) -> tuple[str | None, Diagnostic | None]:
    """The text of `source`, a path or `-` (read from `stdin`); a problem instead when it cannot be read."""
    try:
        if source == STDIN:
            return stdin.read(), None
        with open(source, encoding="utf-8") as handle:
            return handle.read(), None
    except (OSError, UnicodeDecodeError) as problem:
        return None, _unreadable(source, problem)


def _unreadable(source: str, problem: OSError | UnicodeDecodeError) -> Diagnostic:
    reason = problem.strerror if isinstance(problem, OSError) and problem.strerror else str(problem)
    hint = "save what `kubectl get ... -o json` prints to a file and pass its path, or pass - and pipe it in"
    return error(_source_name(source), 0, 0, f"cannot be read: {reason}", hint)


def read_source(source: str, stdin: Any, kind: str) -> Objects:
    """The `kind` objects of `source` (a path, or `-` for `stdin`), or the problem of reading it."""
    text, problem = read_text(source, stdin)
    if text is None:
        return Objects(_source_name(source), diagnostics=[problem] if problem is not None else [])
    return read_objects(source, text, kind)


def stream_source(source: str, stdin: Any, kind: str, found: Objects) -> Iterator[KubeObject]:
    """The `kind` objects of `source` (a path, or `-` for `stdin`) one at a time, its problems added to
    `found` on the way: a JSON list (what `-o json` prints) is decoded item by item, so that a list of
    150,000 Pods is never held whole; YAML (`-o yaml`) is read whole. The list's kind comes after its items
    in kubectl's output, so objects may be yielded before a wrong kind is found: any problem means the
    objects cannot be trusted."""
    try:
        handle = stdin if source == STDIN else open(source, encoding="utf-8")  # noqa: SIM115 (closed below)
    except OSError as problem:
        found.diagnostics.append(_unreadable(source, problem))
        return
    try:
        start = handle.read(CHUNK)
        if start.lstrip()[:1] != "{":
            whole = read_objects(source, start + handle.read(), kind)
            found.diagnostics.extend(whole.diagnostics)
            yield from whole.objects
            return
        yield from _streamed(source, start, handle, kind, found)
    except UnicodeDecodeError as problem:
        found.diagnostics.append(_unreadable(source, problem))
    finally:
        if handle is not stdin:
            handle.close()


def _streamed(source: str, start: str, handle: Any, kind: str, found: Objects) -> Iterator[KubeObject]:
    command = f"kubectl get {kind.lower()}s -o json"
    members: dict[str, Any] = {}
    index = 0
    try:
        for key, value in top_level(start, handle.read):
            if key == ITEM:
                yield from _checked(found, value, index, kind, command)
                index += 1
            else:
                members[key] = value
    except ValueError as problem:
        if source != STDIN:  # JSON it is not: read it again, whole, as YAML may still take it
            again = read_source(source, None, kind)
            found.diagnostics.extend(again.diagnostics)
            yield from again.objects
            return
        found.problem(None, f"is neither JSON nor YAML: {problem}", "pass what `kubectl get ... -o json` prints")
        return
    # What is left is small (the list's kind and metadata, or a lone object): the checks of a whole read.
    rest = read_objects(source, json.dumps(members), kind)
    found.diagnostics.extend(rest.diagnostics)
    yield from rest.objects


def reason_and_message(reason: str, message: str) -> str:
    """A status's machine `reason` and human `message` as one line, as `kubectl describe` pairs them."""
    return ": ".join(part for part in (reason, " ".join(message.split())) if part)


def read_objects(source: str, text: str, kind: str) -> Objects:
    """The `kind` objects (e.g. Node) of `text`, read from `source` (a path, or `-` for stdin)."""
    found = Objects(_source_name(source))
    document = _parse(text, found)
    if document is None:
        return found
    command = f"kubectl get {kind.lower()}s -o json"
    if not isinstance(document, dict):
        found.problem(None, f"expected a {kind}List or a List, not {_shown(document)}", f"pass what `{command}` prints")
        return found
    list_kind = document.get("kind")
    if list_kind == kind:
        found.objects.extend(_checked(found, document, None, kind, command))
        return found
    if list_kind not in ("List", f"{kind}List"):
        shown = f"a {list_kind}" if isinstance(list_kind, str) and list_kind else "a document without a kind"
        found.problem(None, f"expected a {kind}List or a List of {kind}s, not {shown}", f"pass what `{command}` prints")
        return found
    items = document.get("items")
    if items is None:
        items = []
    if not isinstance(items, list):
        found.problem(None, f"items must be a list, not {_shown(items)}", f"pass what `{command}` prints")
        return found
    for index, item in enumerate(items):
        found.objects.extend(_checked(found, item, index, kind, command))
    return found


def _checked(found: Objects, item: Any, index: int | None, kind: str, command: str) -> Iterator[KubeObject]:
    where = f"items[{index}]" if index is not None else "the document"
    if not isinstance(item, dict):
        found.problem(None, f"{where} must be a {kind} object, not {_shown(item)}", f"pass what `{command}` prints")
        return
    item_kind = item.get("kind", kind)
    metadata = item.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    obj = KubeObject(kind, name if isinstance(name, str) else "", index, item)
    if item_kind != kind:
        found.problem(None, f"{where} is a {item_kind}, not a {kind}", f"pass what `{command}` prints, nothing else")
        return
    if not obj.name:
        found.problem(obj, "metadata.name is missing", _FROM_KUBECTL)
        return
    yield obj


def _parse(text: str, found: Objects) -> Any:
    """JSON first (what `-o json` prints, and fast), then YAML (`-o yaml`)."""
    if not text.strip():
        found.problem(None, "is empty", "pass what `kubectl get ... -o json` prints")
        return None
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as problem:
        mark = getattr(problem, "problem_mark", None)
        place = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        found.problem(None, f"is neither JSON nor YAML{place}", "pass what `kubectl get ... -o json` prints")
        return None


def _source_name(source: str) -> str:
    return "<stdin>" if source == STDIN else source


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    name = _TYPE_NAMES.get(type(value))
    return name if name is not None else type(value).__name__
