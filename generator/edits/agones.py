"""Agones: Fleet and GameServer manifests (agones.dev/v1), as files or as `kubectl get -o yaml` prints them
from a live cluster -> fleet files, with nothing of meaning dropped silently.

fleetgen's port fields are Agones' own (portPolicy, containerPort, hostPort, protocol with TCPUDP,
container, range) and a Fleet's `spec.template.spec` is a GameServer spec whose `template` is the
PodTemplateSpec, so ports, template, replicas and scheduling carry over as they are, after Agones' own
defaulting (`ApplyDefaults` in `pkg/apis/agones/v1/gameserver.go`). Every Agones game server calls the
SDK, so each fleet gets `spec.sdk.agones` unless the caller says otherwise. What only Agones' controllers
give meaning to (health, strategy, eviction, counters, lists, ...) is named in a warning at its line.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..diagnostics import Diagnostic, error, has_errors, warning
from ..fleetfiles.agones_sdk import DEFAULT_VERSION, release
from ..fleetfiles.load import POOL_FILE, Document, Loaded, load_documents
from ..fleetfiles.model import API_VERSION, AgonesSdk
from ..kube import api
from ..manifests.emit import emit
from .agones_fields import at, convert_ports, dropped_fields, dropped_port_fields, mapping, plain
from .agones_nodes import node_selector_notes
from .edit import FileEdit, Proposal, current_bytes, pool_folder, refusal

AGONES_API = "agones.dev/v1"
KINDS = ("Fleet", "GameServer")
OWNER_KINDS = ("Fleet", "GameServerSet")  # a GameServer they own is one of a Fleet's servers
VERSION_ANNOTATION = "agones.dev/sdk-version"
MODELINE = "# yaml-language-server: $schema=../fleetgen.schema.json\n"
MSG_SDK = (
    "every imported fleet runs Agones' SDK server in local mode beside each server (spec.sdk.agones): GameServer() "
    "answers with the server's name, address and ports; Ready(), Health() and Shutdown() are accepted, and nothing "
    "in the cluster acts on them"
)
HINT_SDK = "pass --no-sdk when the game servers do not call the Agones SDK"
MSG_NO_SDK = (
    "fleetgen runs no Agones SDK server (--no-sdk): a game server that calls the SDK (Ready, Health, Allocate) must "
    "not wait for it; it finds its ports in FLEETGEN_PORT_<NAME> and its address in FLEETGEN_ADDRESS"
)
MSG_DEFAULT_VERSION = "Agones {kind} {name!r}: {why}: spec.sdk.agones.version set to {version}"
HINT_DEFAULT_VERSION = "set spec.sdk.agones.version to the Agones release your game server's SDK is built for"
MSG_OWNED = "skipped: Agones GameServer {name!r} is a server of {owner_kind} {owner!r}"
HINT_OWNED = "fleetgen makes a fleet's servers from its Fleet: import the Fleet"
# The fields an object's conversion reads, per mapping; anything else in these mappings is reported.
_READ: dict[str, dict[tuple[str, ...], set[str]]] = {
    "Fleet": {
        (): {"apiVersion", "kind", "metadata", "spec"},
        ("metadata",): {"name", "generateName", "namespace"},
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
# Agones' `sdkServer` fields, which `spec.sdk.agones` takes as they are.
_SDK_SERVER_FIELDS = ("grpcPort", "httpPort", "logLevel")

Path_ = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Imported:
    """One Agones object as a fleet document, with where it came from."""

    name: str
    fleet: dict[str, Any]
    origin: str
    document: Document
    base: Path_
    selector_path: Path_  # where the template's nodeSelector was, for notes about its labels


def import_files(
    loaded: Loaded, root: Path, pool: str, files: Sequence[Path], force: bool, sdk: bool = True
) -> Proposal:
    """A new fleet file per Agones Fleet or GameServer in `files`, for an existing pool; warnings for the rest."""
    folder = pool_folder(loaded, root, pool)
    if isinstance(folder, Diagnostic):
        return refusal(folder)
    pool_data = folder.pool_documents[0].data if folder.pool_documents else None
    namespace = _pool_namespace(pool_data)
    imported: list[Imported] = []
    notes: list[Diagnostic] = []
    if files:
        notes.append(warning(str(files[0]), 0, 0, *((MSG_SDK, HINT_SDK) if sdk else (MSG_NO_SDK,))))
    for path in files:
        documents, problems = load_documents(path)
        notes += problems
        for document, base in _objects(documents, notes):
            item, found = convert(document, base, namespace, sdk)
            notes += found
            if item is not None:
                imported.append(item)
                selector = item.fleet["spec"].get("nodeSelector") or {}
                notes += node_selector_notes(item.document, item.selector_path, selector, pool_data)
    edits = []
    for item in imported:
        edit = _file_edit(folder.folder, item, force, edits)
        if isinstance(edit, Diagnostic):
            notes.append(edit)
        else:
            edits.append(edit)
    if not imported and not has_errors(notes):
        hint = "pass what `kubectl get fleets,gameservers -o yaml` prints"
        message = "no Agones Fleet or GameServer (agones.dev/v1) found to import"
        notes.append(error(str(files[0]), 0, 0, message, hint))
    return Proposal(tuple(edits), tuple(notes))


def _pool_namespace(data: Any) -> str | None:
    spec = data.get("spec") if isinstance(data, dict) else None
    return str(spec.get("namespace", "default")) if isinstance(spec, dict) else None


def _objects(documents: Sequence[Document], notes: list[Diagnostic]) -> Iterator[tuple[Document, Path_]]:
    """Each Agones object to import: a whole document, or an item of a `kind: List` (as `kubectl get -o yaml`
    writes); a GameServer that a Fleet or GameServerSet owns is one of that Fleet's servers, not a fleet."""
    for document in documents:
        data = document.data
        items = data.get("items") if isinstance(data, dict) and data.get("kind") == "List" else None
        bases: list[Path_] = [("items", i) for i in range(len(items))] if isinstance(items, list) else [()]
        for base in bases:
            found = at(data, base)
            kind = found.get("kind") if isinstance(found, dict) else None
            api_version = found.get("apiVersion") if isinstance(found, dict) else None
            if api_version != AGONES_API or kind not in KINDS:
                shown = f"{api_version}/{kind}" if api_version or kind else "a document without apiVersion and kind"
                hint = "fleetgen imports agones.dev/v1 Fleet and GameServer objects"
                notes.append(document.warning(base, f"skipped: {shown} is not an Agones Fleet or GameServer", hint))
                continue
            owner = _owner(found)
            if kind == "GameServer" and owner is not None:
                name = mapping(found, ("metadata",)).get("name")
                message = MSG_OWNED.format(name=name, owner_kind=owner[0], owner=owner[1])
                notes.append(document.warning((*base, "metadata", "ownerReferences"), message, HINT_OWNED, key=True))
                continue
            yield document, base


def _owner(data: dict[str, Any]) -> tuple[str, str] | None:
    for reference in mapping(data, ("metadata",)).get("ownerReferences") or []:
        if (
            isinstance(reference, dict)
            and reference.get("kind") in OWNER_KINDS
            and str(reference.get("apiVersion", "")).startswith("agones.dev/")
        ):
            return str(reference["kind"]), str(reference.get("name", ""))
    return None


def convert(
    document: Document, base: Path_, namespace: str | None, sdk: bool = True
) -> tuple[Imported | None, list[Diagnostic]]:
    """One Agones object (at `base` in `document`) -> a fleet document, and what the conversion has to say."""
    data = at(document.data, base)
    kind = data["kind"]
    replicas, notes = _replicas(document, base, data)
    metadata = mapping(data, ("metadata",))
    raw_name = str(metadata.get("name") or str(metadata.get("generateName") or "").rstrip("-"))
    if not raw_name:
        message = f"Agones {kind} has no metadata.name or generateName"
        return None, [document.error((*base, "metadata"), message, "give it a metadata.name")]
    name = _fleet_name(raw_name, replicas)
    notes += _metadata_notes(document, base, (raw_name, name), metadata.get("namespace"), namespace)
    spec, found = _fleet_spec(document, base, data, replicas)
    notes += found
    if sdk:
        agones, found = _sdk(document, base, data, raw_name)
        template = spec.pop("template")  # the SDK reads before the long template
        spec["sdk"] = {"agones": agones}
        spec["template"] = template
        notes += found
    fleet = {"apiVersion": API_VERSION, "kind": "Fleet", "metadata": {"name": name}, "spec": spec}
    notes += _dropped(document, base, data, raw_name, sdk)
    origin = f"Agones {kind} {raw_name!r} in {Path(document.path).name}"
    selector_path = (*base, *_GAME_SERVER_SPEC[kind], "template", "spec", "nodeSelector")
    return Imported(name, fleet, origin, document, base, selector_path), notes


def _dropped(document: Document, base: Path_, data: dict[str, Any], name: str, sdk: bool) -> list[Diagnostic]:
    """A warning at each field with no fleetgen meaning; `sdkServer` has one when the fleet runs the SDK."""
    kind = data["kind"]
    server_path = _GAME_SERVER_SPEC[kind]
    mapped = {"sdkServer"} if sdk else set()  # into spec.sdk.agones
    read = {path: keys | (mapped if path == server_path else set()) for path, keys in _READ[kind].items()}
    found = [*dropped_fields(document, base, data, read, name)]
    found += dropped_port_fields(document, base, (*server_path, "ports"), data, name)
    template_metadata = (*server_path, "template", "metadata")
    for field in _SET_BY_FLEETGEN:
        if field in mapping(data, template_metadata):
            message = f"Agones {kind} {name!r}: {'.'.join(template_metadata)}.{field} is set by fleetgen: not imported"
            found.append(document.warning((*base, *template_metadata, field), message, key=True))
    return found


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
    spec = mapping(data, ("spec",))
    replicas = spec.get("replicas")
    if isinstance(replicas, int) and not isinstance(replicas, bool):
        return replicas, []
    if "replicas" in spec:
        message = f"spec.replicas {replicas!r} is not a number: Agones refuses it, and so does the import"
        hint = "write the number of servers (a placeholder such as REPLICAS_REPLACEMENT is filled in before use)"
        return 0, [document.error((*base, "spec", "replicas"), message, hint)]
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
    server = mapping(data, server_path)
    scheduling = mapping(data, ("spec",)).get("scheduling") or "Packed"
    spec: dict[str, Any] = {"replicas": replicas, "scheduling": scheduling}
    template, selector, notes = _template(document, (*base, *server_path, "template"), server.get("template"))
    if selector is not None:
        spec["nodeSelector"] = selector
    container, found = _container(document, (*base, *server_path), server.get("container"), template)
    notes += found
    if container:
        spec["container"] = container
    ports, found = convert_ports(document, (*base, *server_path, "ports"), server.get("ports"))
    spec["ports"] = ports
    spec["template"] = template
    return spec, notes + found


def _container(
    document: Document, path: Path_, container: Any, template: dict[str, Any]
) -> tuple[Any, list[Diagnostic]]:
    """Agones' defaulting: with one container in the template, `container` is that container's name,
    whatever the file says (`applyContainerDefaults`)."""
    names = [c.get("name") for c in mapping(template, ("spec",)).get("containers") or [] if isinstance(c, dict)]
    if len(names) != 1 or container in (None, "", names[0]):
        return container, []
    message = (
        f"spec.container {container!r} is not the template's container; Agones uses the only one, {names[0]!r}, "
        "whatever container says: imported so"
    )
    return names[0], [document.warning((*path, "container"), message, "as Agones' ApplyDefaults does")]


def _template(document: Document, path: Path_, template: Any) -> tuple[dict[str, Any], Any, list[Diagnostic]]:
    """The PodTemplateSpec as it is, but for what fleetgen sets itself (and kubectl's `creationTimestamp:
    null`); a nodeSelector moves to the fleet's spec."""
    template = plain(copy.deepcopy(template)) if isinstance(template, dict) else {}
    metadata = template.get("metadata")
    if isinstance(metadata, dict):
        for field in (*_SET_BY_FLEETGEN, *(["creationTimestamp"] if metadata.get("creationTimestamp") is None else [])):
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


def _sdk(document: Document, base: Path_, data: dict[str, Any], name: str) -> tuple[dict[str, Any], list[Diagnostic]]:
    """`spec.sdk.agones`: the Agones release the object names in its agones.dev/sdk-version annotation (a
    live object carries it) or the default, with its `sdkServer` settings where they differ from Agones'."""
    version = mapping(data, ("metadata", "annotations")).get(VERSION_ANNOTATION)
    agones: dict[str, Any] = {"version": DEFAULT_VERSION}
    notes = []
    if isinstance(version, str) and release(version) is not None:
        agones["version"] = version
    else:
        why = (
            f"its {VERSION_ANNOTATION} annotation {version!r} is not an Agones release"
            if version
            else f"no {VERSION_ANNOTATION} annotation names its Agones release"
        )
        message = MSG_DEFAULT_VERSION.format(kind=data["kind"], name=name, why=why, version=DEFAULT_VERSION)
        notes.append(document.warning((*base, "metadata"), message, HINT_DEFAULT_VERSION, key=True))
    settings = mapping(data, (*_GAME_SERVER_SPEC[data["kind"]], "sdkServer"))
    defaults = AgonesSdk(version=DEFAULT_VERSION)
    for field in _SDK_SERVER_FIELDS:
        if field in settings and settings[field] != getattr(defaults, field):
            agones[field] = settings[field]
    return agones, notes


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
