"""Template rules: what a fleet's Pod template gets wrong against Kubernetes' schema and the API server,
and what fleetgen sets itself (names, node pinning, hostPorts, FLEETGEN_* env) that a template may not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..diagnostics import Diagnostic
from ..kube import api
from ..kube.podchecks import scopes
from ..kube.quantity import parse_quantity
from .load import Document
from .model import ADDRESS_ENV, MANAGED_BY_LABEL, RESERVED_LABEL_PREFIX, SERVER_ENV, Fleet, port_env_name

ENV_HINT = (
    f"remove it: fleetgen gives every container {SERVER_ENV} and {ADDRESS_ENV}, "
    "and FLEETGEN_PORT_<NAME> for each port it holds"
)


def _template_shape_problems(template: dict[str, Any], document: Document, base: tuple) -> list[Diagnostic]:
    """What the schema lets through but a Pod cannot be: no containers, null items, bad quantities."""
    spec = template.get("spec")
    if not isinstance(spec, dict) or not spec.get("containers"):
        where = (*base, "spec", "containers") if isinstance(spec, dict) else (*base, "spec")
        return [document.error(where, "the template needs at least one container", "add spec.containers")]
    found = []
    for group in ("initContainers", "containers"):
        for index, container in enumerate(spec.get(group) or []):
            path = (*base, "spec", group, index)
            if not isinstance(container, dict):
                hint = "write the container as a mapping: name, image, ..."
                found.append(document.error(path, f"{group}[{index}] must be a container mapping", hint))
                continue
            if any(not isinstance(port, dict) for port in container.get("ports") or []):
                hint = "write each port as a mapping: - containerPort: 8080"
                found.append(document.error((*path, "ports"), "every port must be a mapping", hint))
            found += _quantity_problems(container.get("resources") or {}, document, (*path, "resources"))
    found += _quantity_problems(spec.get("resources") or {}, document, (*base, "spec", "resources"))
    found += _resource_list_problems(spec.get("overhead") or {}, document, (*base, "spec", "overhead"))
    return found


def env_problems(fleet: Fleet, document: Document) -> Iterator[Diagnostic]:
    """A name fleetgen sets, set again by the template, would be ambiguous, and server-side apply (Flux,
    Argo CD's server-side diff) refuses a container whose env repeats a name."""
    reserved = {
        SERVER_ENV: None,
        ADDRESS_ENV: None,
        **{port_env_name(port.name): port.name for port in fleet.spec.ports},
    }
    for base, container in scopes(fleet.spec.template, containers=True):
        for index, entry in enumerate(container.get("env") or []):
            name = entry.get("name") if isinstance(entry, dict) else None
            if name not in reserved:
                continue
            port = reserved[name]
            message = (
                f"env {name} is set by fleetgen in every container"
                if port is None
                else f"env {name} is reserved for the hostPort of fleet port {port!r}"
            )
            yield document.error(("spec", "template", *base, "env", index, "name"), message, ENV_HINT)


def _quantity_problems(resources: dict[str, Any], document: Document, path: tuple) -> list[Diagnostic]:
    """Requests and limits the allocator could not count."""
    return [
        problem
        for kind in ("requests", "limits")
        for problem in _resource_list_problems(resources.get(kind) or {}, document, (*path, kind))
    ]


def _resource_list_problems(amounts: dict[str, Any], document: Document, path: tuple) -> list[Diagnostic]:
    return [
        document.error((*path, name), f"{name} {value!r} is not a Kubernetes quantity", "write e.g. 500m or 2Gi")
        for name, value in sorted(amounts.items())
        if parse_quantity(value) is None
    ]


def template_problems(fleet: Fleet, document: Document, version: str) -> Iterator[Diagnostic]:
    template = fleet.spec.template
    base = ("spec", "template")
    problems = [
        document.error((*base, *p.path), p.message, _schema_hint(p), key=p.message.startswith("unknown field"))
        for p in api.schema_problems(template, "podtemplatespec-v1.json", version)
    ]
    problems = problems or _template_shape_problems(template, document, base)
    problems = problems or list(_null_problems(template, document, base))
    if problems:
        yield from problems
        return
    spec = template["spec"]
    metadata = template.get("metadata") or {}
    for field in ("name", "generateName", "namespace"):
        if field in metadata:
            yield document.error(
                (*base, "metadata", field),
                f"template.metadata.{field} is set by fleetgen",
                "remove it: Pods are named <fleet>-<ordinal> in the pool's namespace",
                key=True,
            )
    for key in sorted(metadata.get("labels") or {}):
        if key.startswith(RESERVED_LABEL_PREFIX) or key == MANAGED_BY_LABEL:
            yield document.error(
                (*base, "metadata", "labels", key), f"label {key!r} is set by fleetgen", "remove it", key=True
            )
    yield from _template_spec_problems(spec, document, (*base, "spec"))


def _null_problems(value: Any, document: Document, path: tuple) -> Iterator[Diagnostic]:
    """A key with no value (`metadata:` alone is null in YAML) where Kubernetes expects a value: the API
    server would drop it or refuse it, and a reviewer cannot tell which was meant."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        if item is None:
            where = f"{key!r}" if isinstance(key, str) else f"item {key} of {path[-1]!r}"
            yield document.error(
                (*path, key),
                f"{where} has no value (null)",
                "give it a value ({} for an empty mapping, [] for an empty list) or remove the line",
                key=isinstance(key, str),
            )
        else:
            yield from _null_problems(item, document, (*path, key))


def _schema_hint(problem: api.SchemaProblem) -> str:
    """The schema's hint, but for a field that only newer Kubernetes versions know."""
    if problem.path == ("spec", "resources") and problem.message.startswith("unknown field"):
        return "pod-level resources need Kubernetes 1.32 or later: pass --kubernetes-version 1.32 or newer"
    return problem.hint


def _template_spec_problems(spec: dict[str, Any], document: Document, base: tuple) -> Iterator[Diagnostic]:
    if spec.get("hostNetwork") is True:
        yield document.error(
            (*base, "hostNetwork"),
            "hostNetwork is not allowed: fleetgen assigns hostPorts",
            "remove hostNetwork and declare the server's ports under spec.ports",
        )
    if "ephemeralContainers" in spec:
        yield document.error(
            (*base, "ephemeralContainers"),
            "ephemeralContainers cannot be set in a Pod template: the API server refuses them when a Pod is created",
            "remove them; attach a debug container to a running server with `kubectl debug`",
            key=True,
        )
    if "nodeName" in spec:
        yield document.error((*base, "nodeName"), "nodeName is set by fleetgen's allocator", "remove it", key=True)
    if spec.get("nodeSelector"):
        yield document.error(
            (*base, "nodeSelector"),
            "set node labels in the fleet's spec.nodeSelector",
            "fleetgen checks spec.nodeSelector against the pool's nodes; move it there",
            key=True,
        )
    for group in ("initContainers", "containers"):
        for index, container in enumerate(spec.get(group) or []):
            for port_index, port in enumerate(container.get("ports") or []):
                if isinstance(port, dict) and "hostPort" in port:
                    yield document.error(
                        (*base, group, index, "ports", port_index, "hostPort"),
                        "hostPort is not allowed in the template",
                        "declare the port in the fleet's spec.ports so fleetgen allocates it",
                    )
