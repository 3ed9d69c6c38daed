"""Agones: Fleet and GameServer manifests (agones.dev/v1) -> fleet files, with nothing dropped silently.

fleetgen's port fields are Agones' own (portPolicy, containerPort, hostPort, protocol with TCPUDP,
container, range) and a Fleet's `spec.template.spec` is a GameServer spec whose `template` is the
PodTemplateSpec, so ports, template, replicas and scheduling carry over as they are. What only Agones'
controllers and SDK sidecar give meaning to (health, sdkServer, strategy, players, counters, lists, ...)
has no equivalent here: every such field is named in a warning, so the operator decides what to do.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..diagnostics import Diagnostic, error, has_errors, warning
from ..fleetfiles.load import POOL_FILE, Document, Loaded, load_documents
from ..fleetfiles.model import API_VERSION
from ..kube import api
from ..manifests.emit import emit
from .edit import FileEdit, Proposal, current_bytes, pool_folder, refusal

AGONES_API = "agones.dev/v1"
KINDS = ("Fleet", "GameServer")
MODELINE = "# yaml-language-server: $schema=../fleetgen.schema.json\n"
PORT_FIELDS = ("name", "portPolicy", "containerPort", "hostPort", "protocol", "range", "container")
MSG_DROPPED = "Agones {kind} {name!r}: not imported, no fleetgen meaning: {fields}"
HINT_DROPPED = "fleetgen runs no Agones controller or SDK sidecar; review these before the fleet goes live"
MSG_NO_SDK = (
    "fleetgen runs no Agones SDK server: a game server that calls the SDK (Ready, Health, Allocate) must not "
    "wait for it; it finds its ports in FLEETGEN_PORT_<NAME> and its address in FLEETGEN_ADDRESS"
)
# The fields an object's conversion reads, per mapping; anything else in these mappings is reported.
_READ = {
    "Fleet": {
        (): {"apiVersion", "kind", "metadata", "spec"},
        ("metadata",): {"name", "namespace"},
        ("spec",): {"replicas", "scheduling", "template"},
        ("spec", "template"): {"spec"},
        ("spec", "template", "spec"): {"container", "ports", "scheduling", "template"},
    },
    "GameServer": {
        (): {"apiVersion", "kind", "metadata", "spec"},
        ("metadata",): {"name", "generateName", "namespace"},
        ("spec",): {"container", "ports", "scheduling", "template"},
    },
}
_GAME_SERVER_SPEC = {"Fleet": ("spec", "template", "spec"), "GameServer": ("spec",)}
_SET_BY_FLEETGEN = ("name", "generateName", "namespace")

Path_ = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Imported:
    """One Agones object as a fleet document, with where it came from."""

    name: str
    fleet: dict[str, Any]
    origin: str
    document: Document
    base: Path_


def import_files(loaded: Loaded, root: Path, pool: str, files: Sequence[Path], force: bool) -> Proposal:
    """A new fleet file per Agones Fleet or GameServer in `files`, for an existing pool; warnings for the rest."""
    folder = pool_folder(loaded, root, pool)
    if isinstance(folder, Diagnostic):
        return refusal(folder)
    namespace = _pool_namespace(folder.pool_documents)
    imported: list[Imported] = []
    notes: list[Diagnostic] = [warning(str(files[0]), 0, 0, MSG_NO_SDK)] if files else []
    for path in files:
        documents, problems = load_documents(path)
        notes += problems
        for document, base in _objects(documents, notes):
            item, found = convert(document, base, namespace)
            notes += found
            if item is not None:
                imported.append(item)
    edits = []
    for item in imported:
        edit = _file_edit(folder.folder, item, force, edits)
        if isinstance(edit, Diagnostic):
            notes.append(edit)
        else:
            edits.append(edit)
    if not imported and not has_errors(notes):
        hint = "pass what `kubectl get fleets,gameservers -o yaml` prints"
        notes.append(error(str(files[0]), 0, 0, "no Agones Fleet or GameServer (agones.dev/v1) found", hint))
    return Proposal(tuple(edits), tuple(notes))


def _pool_namespace(documents: Sequence[Document]) -> str | None:
    for document in documents:
        spec = document.data.get("spec") if isinstance(document.data, dict) else None
        if isinstance(spec, dict):
            return str(spec.get("namespace", "default"))
    return None


def _objects(documents: Sequence[Document], notes: list[Diagnostic]) -> Iterator[tuple[Document, Path_]]:
    """Each Agones object: a whole document, or an item of a `kind: List` (as `kubectl get -o yaml` writes)."""
    for document in documents:
        data = document.data
        items = data.get("items") if isinstance(data, dict) and data.get("kind") == "List" else None
        bases: list[Path_] = [("items", i) for i in range(len(items))] if isinstance(items, list) else [()]
        for base in bases:
            found = _at(data, base)
            kind = found.get("kind") if isinstance(found, dict) else None
            api_version = found.get("apiVersion") if isinstance(found, dict) else None
            if api_version == AGONES_API and kind in KINDS:
                yield document, base
            else:
                shown = f"{api_version}/{kind}" if api_version or kind else "a document without apiVersion and kind"
                hint = "fleetgen imports agones.dev/v1 Fleet and GameServer objects"
                notes.append(document.warning(base, f"skipped: {shown} is not an Agones Fleet or GameServer", hint))


def _at(data: Any, path: Path_) -> Any:
    for segment in path:
        if isinstance(data, dict) and isinstance(segment, str):
            data = data.get(segment)
        elif isinstance(data, list) and isinstance(segment, int) and segment < len(data):
            data = data[segment]
        else:
            return None
    return data


def _mapping(data: Any, path: Path_) -> dict[str, Any]:
    found = _at(data, path)
    return found if isinstance(found, dict) else {}


def convert(document: Document, base: Path_, namespace: str | None) -> tuple[Imported | None, list[Diagnostic]]:
    """One Agones object (at `base` in `document`) -> a fleet document, and what the conversion has to say."""
    data = _at(document.data, base)
    kind = data["kind"]
    replicas, notes = _replicas(document, base, data)
    metadata = _mapping(data, ("metadata",))
    raw_name = str(metadata.get("name") or str(metadata.get("generateName") or "").rstrip("-"))
    if not raw_name:
        message = f"Agones {kind} has no metadata.name or generateName"
        return None, [document.error((*base, "metadata"), message, "give it a metadata.name")]
    name = _fleet_name(raw_name, replicas)
    notes += _metadata_notes(document, base, (raw_name, name), metadata.get("namespace"), namespace)
    spec, found = _fleet_spec(document, base, data, replicas)
    notes += found
    fleet = {"apiVersion": API_VERSION, "kind": "Fleet", "metadata": {"name": name}, "spec": spec}
    dropped = [*_unread(data, kind), *_unread_ports(data, kind), *_template_metadata(data, kind)]
    if dropped:
        message = MSG_DROPPED.format(kind=kind, name=raw_name, fields=", ".join(dropped))
        notes.append(document.warning(base, message, HINT_DROPPED))
    origin = f"Agones {kind} {raw_name!r} in {Path(document.path).name}"
    return Imported(name, fleet, origin, document, base), notes


def _metadata_notes(
    document: Document, base: Path_, names: tuple[str, str], namespace: Any, pool_namespace: str | None
) -> list[Diagnostic]:
    """A fleet name that had to change, and a namespace other than the pool's (fleetgen uses the pool's)."""
    notes = []
    raw, name = names
    if name != raw:
        message = f"name {raw!r} is not a fleet name fleetgen can use (servers are <fleet>-<ordinal>)"
        notes.append(document.warning((*base, "metadata"), f"{message}: imported as {name!r}"))
    if pool_namespace is not None and namespace not in (None, pool_namespace):
        message = f"namespace {namespace!r}: the servers go to the pool's namespace {pool_namespace!r}"
        notes.append(document.warning((*base, "metadata", "namespace"), message))
    return notes


def _replicas(document: Document, base: Path_, data: dict[str, Any]) -> tuple[int, list[Diagnostic]]:
    """A GameServer is one server; a Fleet without replicas has none in Agones (a FleetAutoscaler may set them)."""
    if data["kind"] == "GameServer":
        return 1, []
    replicas = _mapping(data, ("spec",)).get("replicas")
    if isinstance(replicas, int) and not isinstance(replicas, bool):
        return replicas, []
    hint = "set them with `fleetgen scale POOL/FLEET N`"
    return 0, [document.warning((*base, "spec"), "spec.replicas is not set: imported as 0", hint)]


def _fleet_name(raw: str, replicas: int) -> str:
    """A DNS-1123 label short enough for `<fleet>-<highest ordinal>` (Agones allows dots and 63 characters)."""
    limit = 63 - len(f"-{max(replicas - 1, 0)}")
    if not api.dns1123_label_problem(raw, limit):
        return raw
    name = re.sub(r"[^a-z0-9-]+", "-", raw.lower()).strip("-")[:limit].strip("-")
    return name or "fleet"


def _fleet_spec(
    document: Document, base: Path_, data: dict[str, Any], replicas: int
) -> tuple[dict[str, Any], list[Diagnostic]]:
    kind = data["kind"]
    server_path = _GAME_SERVER_SPEC[kind]
    server = _mapping(data, server_path)
    scheduling = _mapping(data, ("spec",)).get("scheduling") or "Packed"
    spec: dict[str, Any] = {"replicas": replicas, "scheduling": scheduling}
    template, selector, notes = _template(document, (*base, *server_path, "template"), server.get("template"))
    if selector is not None:
        spec["nodeSelector"] = selector
    if server.get("container"):
        spec["container"] = server["container"]
    ports, found = _ports(document, (*base, *server_path, "ports"), server.get("ports"))
    spec["ports"] = ports
    spec["template"] = template
    return spec, notes + found


def _template(document: Document, path: Path_, template: Any) -> tuple[dict[str, Any], Any, list[Diagnostic]]:
    """The PodTemplateSpec as it is, but for what fleetgen sets itself; a nodeSelector moves to the fleet's spec."""
    template = _plain(copy.deepcopy(template)) if isinstance(template, dict) else {}
    metadata = template.get("metadata")
    if isinstance(metadata, dict):
        for field in _SET_BY_FLEETGEN:
            metadata.pop(field, None)
        if not metadata:
            del template["metadata"]
    pod_spec = template.get("spec")
    selector = pod_spec.pop("nodeSelector", None) if isinstance(pod_spec, dict) else None
    if selector is None:
        return template, None, []
    message = "template.spec.nodeSelector moved to the fleet's spec.nodeSelector"
    hint = "fleetgen places servers only on nodes of the pool whose labels in pool.yaml match it"
    return template, selector, [document.warning((*path, "spec", "nodeSelector"), message, hint, key=True)]


def _plain(value: Any) -> Any:
    """Data the canonical emitter writes: a float (`cpu: 0.5`) becomes the string Kubernetes reads the same."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return repr(value) if isinstance(value, float) else value


def _ports(document: Document, path: Path_, ports: Any) -> tuple[list[dict[str, Any]], list[Diagnostic]]:
    """Agones ports field for field; fleetgen needs a Kubernetes port name on each, so one is made where missing."""
    converted: list[dict[str, Any]] = []
    notes: list[Diagnostic] = []
    taken: set[str] = set()
    for index, port in enumerate(ports if isinstance(ports, list) else []):
        port = port if isinstance(port, dict) else {}
        fields = {key: _plain(port[key]) for key in PORT_FIELDS if key in port}
        raw = str(fields.get("name") or "")
        name = _port_name(raw, index, str(fields.get("protocol", "UDP")), taken)
        if name != raw:
            why = f"port name {raw!r} is not a Kubernetes port name" if raw else "port has no name"
            notes.append(document.warning((*path, index), f"{why}: named {name!r}", "fleetgen requires port names"))
        taken |= {name, f"{name}-tcp", f"{name}-udp"}
        converted.append({"name": name, **{key: value for key, value in fields.items() if key != "name"}})
    return converted, notes


def _port_name(raw: str, index: int, protocol: str, taken: set[str]) -> str:
    """The name as it is when Kubernetes takes it, else a cleaned one; `default` (as Agones' examples) when unnamed."""
    limit = 11 if protocol == "TCPUDP" else 15
    name = raw or ("default" if "default" not in taken else f"port-{index}")
    if api.port_name_problem(name, limit):
        name = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", name.lower())).strip("-")[:limit].strip("-")
    if api.port_name_problem(name, limit) or {name, f"{name}-tcp", f"{name}-udp"} & taken:
        name = f"port-{index}"
    return name


def _unread(data: dict[str, Any], kind: str) -> list[str]:
    """Dotted paths of the fields conversion does not read (status included: it is Agones' runtime state)."""
    found = []
    for path, read in _READ[kind].items():
        found += [".".join((*path, key)) for key in _mapping(data, path) if key not in read]
    return found


def _unread_ports(data: dict[str, Any], kind: str) -> list[str]:
    path = _GAME_SERVER_SPEC[kind]
    ports = _at(data, (*path, "ports"))
    prefix = ".".join((*path, "ports"))
    return [
        f"{prefix}[{index}].{key}"
        for index, port in enumerate(ports if isinstance(ports, list) else [])
        if isinstance(port, dict)
        for key in port
        if key not in PORT_FIELDS
    ]


def _template_metadata(data: dict[str, Any], kind: str) -> list[str]:
    path = (*_GAME_SERVER_SPEC[kind], "template", "metadata")
    return [".".join((*path, key)) for key in _mapping(data, path) if key in _SET_BY_FLEETGEN]


def fleet_file(item: Imported) -> str:
    """The file's text: the editor modeline, where it came from, then the fleet in canonical block YAML."""
    return MODELINE + f"# Imported from {item.origin} by `fleetgen import-agones`.\n" + emit(item.fleet)


def _file_edit(folder: Path, item: Imported, force: bool, planned: Sequence[FileEdit]) -> FileEdit | Diagnostic:
    """`fleets/<pool>/<fleet>.yaml`; an existing file is replaced only with --force, and never pool.yaml."""
    path = folder / f"{item.name}.yaml"
    where = (*item.base, "metadata")
    if path.name == POOL_FILE or any(edit.path == path for edit in planned):
        reason = "pool.yaml holds the NodePool" if path.name == POOL_FILE else "another imported object has it"
        return item.document.error(where, f"cannot write {path}: {reason}", "rename the Agones object")
    before = current_bytes(path)
    if before is not None and not force:
        return item.document.error(where, f"{path} exists", "pass --force to replace it, or rename the Agones object")
    return FileEdit(path, before, fleet_file(item), f"written from {item.origin}")
