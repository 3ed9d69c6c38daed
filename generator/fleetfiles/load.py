"""Load: fleet files -> plain documents that remember where every key and value came from.

libyaml's composer (through PyYAML) parses fast and keeps line and column on every node; we build the
plain data ourselves (`plain`) so that duplicate keys, merge keys, custom tags and alias bombs are refused with a
position instead of being resolved silently. Positions are looked up from the node tree only when a
diagnostic needs one.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..diagnostics import Diagnostic, error, warning
from .entries import LOCK_FILE, Expected, refusal, repository_of
from .plain import Builder
from .yaml_errors import explain, place, refused_character

POOL_FILE = "pool.yaml"
GITOPS_FILE = "gitops.yaml"
MAX_FILE_BYTES = 8 * 1024 * 1024

_PARSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RESOLVER = yaml.resolver.Resolver()


@functools.lru_cache(maxsize=1 << 16)
def _scalar_tag(value: str, implicit: tuple[bool, bool]) -> str:
    """The tag YAML's implicit rules give a scalar: the safe loader has no path resolvers, so its text and
    quoting decide, and the answer can be kept."""
    return _RESOLVER.resolve(yaml.ScalarNode, value, implicit)


class _Loader(_PARSER):
    """libyaml's composer (through PyYAML), with each distinct scalar's tag resolved once: YAML's regular
    expressions for numbers, booleans and dates were a third of the time it took to compose a pool file."""

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode:
            return _scalar_tag(value, implicit)
        return super().resolve(kind, value, implicit)


_PathKey = str | int
Path_ = tuple[_PathKey, ...]


@dataclass(frozen=True, slots=True)
class Document:
    """One YAML document: its plain data and the node tree that says where each part stands."""

    path: str
    index: int
    data: Any
    root: yaml.Node = field(repr=False, compare=False)

    def position(self, path: Path_, *, key: bool = False) -> tuple[int, int]:
        """1-based (line, column) of the value at `path` (or of its key), or of the nearest parent."""
        node: yaml.Node = self.root
        mark = node.start_mark
        for segment in path:
            found = _child(node, segment)
            if found is None:
                break
            key_node, node = found
            mark = key_node.start_mark if key and key_node is not None else node.start_mark
        return mark.line + 1, mark.column + 1

    def error(self, path: Path_, message: str, hint: str = "", *, key: bool = False) -> Diagnostic:
        line, column = self.position(path, key=key)
        return error(self.path, line, column, message, hint)

    def warning(self, path: Path_, message: str, hint: str = "", *, key: bool = False) -> Diagnostic:
        line, column = self.position(path, key=key)
        return warning(self.path, line, column, message, hint)


@dataclass(frozen=True, slots=True)
class PoolFolder:
    """The files of one pool folder, in sorted order."""

    name: str
    folder: Path
    pool_documents: tuple[Document, ...]
    fleet_documents: tuple[Document, ...]
    lock_path: Path
    lock_text: str | None


@dataclass(frozen=True, slots=True)
class Loaded:
    pools: tuple[PoolFolder, ...]
    diagnostics: tuple[Diagnostic, ...]


def _missing_fleets_hint(root: Path) -> str:
    """Run from inside fleets/ or a pool folder, the way out is the repository root, which holds fleets/."""
    if not root.is_absolute():
        here = Path.cwd()
        for parent in here.parents:
            if (parent / root).is_dir():
                return f"run fleetgen from the repository root, the folder that holds {root}/: cd {parent}"
    return "run fleetgen from the repository root, the folder that holds fleets/, or pass --fleets DIR"


def load_fleets(root: Path, pool_names: tuple[str, ...] = (), skip: Collection[str] = ()) -> Loaded:
    """Read every pool folder under `root` (or only the named ones, and never those in `skip`) in sorted
    path order."""
    if not os.path.lexists(root):
        return Loaded((), (error(str(root), 0, 0, "fleets folder not found", _missing_fleets_hint(root)),))
    repository = repository_of(root)
    refused = refusal(root, repository, Expected.FOLDER, "pass --fleets the folder that holds the pool folders")
    if refused is not None:
        return Loaded((), (refused,))
    folders, refused_links = _pool_folders(root, repository)
    known = {folder.name for folder in folders} | {Path(d.path).name for d in refused_links}

    def wanted(name: str) -> bool:
        return (not pool_names or name in pool_names) and name not in skip

    diagnostics = [d for d in refused_links if wanted(Path(d.path).name)]
    diagnostics += [
        error(str(root), 0, 0, f"no pool folder named {name!r}", _pool_hint(known))
        for name in pool_names
        if name not in known
    ]
    pools = []
    for folder in folders:
        if not wanted(folder.name):
            continue
        pool, found = _load_pool_folder(folder, repository)
        diagnostics += found
        if pool is not None:
            pools.append(pool)
    return Loaded(tuple(pools), tuple(diagnostics))


def _pool_folders(root: Path, repository: Path) -> tuple[list[Path], list[Diagnostic]]:
    """The pool folders of `root`, sorted, and the links in it that lead nowhere or out of the repository
    (a link to a file inside it is no pool folder, and is left alone)."""
    folders: list[Path] = []
    diagnostics: list[Diagnostic] = []
    for entry in sorted((p for p in root.iterdir() if not p.name.startswith(".")), key=_name):
        refused = refusal(entry, repository, None) if entry.is_symlink() else None
        if refused is not None:
            diagnostics.append(refused)
        elif entry.is_dir():
            folders.append(entry)
    return folders, diagnostics


def load_gitops(root: Path) -> tuple[list[Document], list[Diagnostic]]:
    """The repository's delivery settings, a file beside the pool folders; no documents when absent."""
    path = root / GITOPS_FILE
    if not os.path.lexists(path):
        return [], []
    refused = refusal(path, repository_of(root), Expected.FILE, f"make {GITOPS_FILE} a file, or remove it")
    return ([], [refused]) if refused is not None else load_documents(path)


def _pool_hint(known: set[str]) -> str:
    return "pool folders: " + ", ".join(sorted(known)) if known else "fleets/ holds no pool folder"


def _name(path: Path) -> str:
    return path.name


def _load_pool_folder(folder: Path, repository: Path) -> tuple[PoolFolder | None, list[Diagnostic]]:
    diagnostics: list[Diagnostic] = []
    pool_path = folder / POOL_FILE
    if not os.path.lexists(pool_path):
        hint = f"create {pool_path} with one NodePool, or move the folder out of the fleets folder"
        return None, [error(str(folder), 0, 0, f"pool folder has no {POOL_FILE}", hint)]
    refused = refusal(pool_path, repository, Expected.FILE, f"make {POOL_FILE} a file that holds the pool's NodePool")
    if refused is not None:
        return None, [refused]
    pool_documents, found = load_documents(pool_path)
    diagnostics += found
    fleet_documents: list[Document] = []
    for entry in sorted(folder.iterdir(), key=_name):
        if entry.name.startswith(".") or entry.name in (POOL_FILE, LOCK_FILE):
            continue
        if entry.suffix == ".yaml":
            hint = "fleetgen reads every *.yaml file of a pool folder: make it a file, or rename it"
            refused = refusal(entry, repository, Expected.FILE, hint)
            documents, found = ([], [refused]) if refused is not None else load_documents(entry)
            fleet_documents += documents
            diagnostics += found
        elif entry.suffix == ".yml":
            hint = f"rename it to {entry.stem}.yaml"
            diagnostics.append(warning(str(entry), 0, 0, "ignored: fleetgen reads only *.yaml files", hint))
    lock_path = folder / LOCK_FILE
    lock_text = _read_lock(lock_path, repository, diagnostics)
    pool = PoolFolder(folder.name, folder, tuple(pool_documents), tuple(fleet_documents), lock_path, lock_text)
    return pool, diagnostics


def _read_lock(path: Path, repository: Path, diagnostics: list[Diagnostic]) -> str | None:
    """The previous lock's text, or None when there is none to read. A link out of the repository is refused
    (lock warnings quote its lines); a folder or a pipe is never opened: its type is the writer's to refuse."""
    refused = refusal(path, repository, None) if path.is_symlink() else None
    if refused is not None:
        diagnostics.append(refused)
    if refused is not None or not path.is_file():
        return None
    hint = "delete it; the next render writes a fresh one"
    try:
        raw = path.read_bytes()
    except OSError as problem:
        diagnostics.append(warning(str(path), 0, 0, f"lock ignored: cannot read it: {problem.strerror}", hint))
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as problem:
        line, column, message = _not_utf8(raw, problem)
        diagnostics.append(warning(str(path), line, column, f"lock ignored: {message}", hint))
        return None


def load_documents(path: Path) -> tuple[list[Document], list[Diagnostic]]:
    """Every non-empty document of one file, or the reasons it cannot be read."""
    display = str(path)
    try:
        raw = path.read_bytes()
    except OSError as problem:
        hint = "make it readable by the user who runs fleetgen"
        return [], [error(display, 0, 0, f"cannot read file: {problem.strerror}", hint)]
    if len(raw) > MAX_FILE_BYTES:
        limit = MAX_FILE_BYTES // (1024 * 1024)
        return [], [error(display, 0, 0, f"file is larger than {limit} MiB", "split it into several files")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as problem:
        line, column, message = _not_utf8(raw, problem)
        hint = "save the file as UTF-8 (it may be Latin-1 or Windows-1252), or type the character at the caret again"
        return [], [error(display, line, column, message, hint)]
    return parse_documents(display, text)


def _not_utf8(raw: bytes, problem: UnicodeDecodeError) -> tuple[int, int, str]:
    """Line, column and message of the first byte that is not UTF-8, counted in the characters before it, as
    an editor counts."""
    valid = raw[: problem.start].decode("utf-8")
    line, column = place(valid, len(valid))
    return line, column, f"file is not UTF-8 text: byte 0x{raw[problem.start]:02x} is not valid UTF-8 here"


def parse_documents(display: str, text: str) -> tuple[list[Document], list[Diagnostic]]:
    refused = refused_character(text)
    if refused is not None:
        return [], [error(display, *refused)]
    documents: list[Document] = []
    try:
        roots = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as problem:
        return [], [_syntax_error(display, text, problem)]
    except yaml.YAMLError as problem:
        return [], [error(display, 0, 0, f"YAML error: {problem}", "check the file's text around its last edit")]
    aliased = "*" in text
    for index, root in enumerate(roots):
        if root is None:
            continue
        builder = Builder(display, aliased)
        try:
            data = builder.build(root)
        except RecursionError:
            hint = "write the document with fewer nested levels"
            return [], [error(display, root.start_mark.line + 1, 1, "document is nested too deeply", hint)]
        if builder.diagnostics:
            return [], builder.diagnostics
        if data is not None:
            documents.append(Document(display, index, data, root))
    return documents, []


def _syntax_error(display: str, text: str, problem: yaml.MarkedYAMLError) -> Diagnostic:
    """At the parser's position, in fleetgen's words for the common mistakes."""
    mark = problem.problem_mark or problem.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
    message, hint = explain(problem, text)
    return error(display, line, column, message, hint)


def _child(node: yaml.Node, segment: _PathKey) -> tuple[yaml.Node | None, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == segment:
                return key_node, value_node
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(segment, int) and 0 <= segment < len(node.value):
        item = node.value[segment]
        return item, item
    return None
