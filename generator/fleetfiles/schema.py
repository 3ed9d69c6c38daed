"""Schema: the JSON Schema of fleet files, for editors (yaml-language-server) and for tests."""

from __future__ import annotations

import json
import re
from typing import Any

from ..kube import api
from .model import Fleet, NodePool

_DEFINITIONS = "#/definitions/{model}"
_K8S_REF = re.compile(r"^(?:/api/_definitions\.json)?#/\$defs/(.+)$")
_POD_TEMPLATE = "io.k8s.api.core.v1.PodTemplateSpec"


def fleet_file_schema(kubernetes_version: str) -> dict[str, Any]:
    """One draft-07 schema for both kinds; a Fleet's template is Kubernetes' own PodTemplateSpec."""
    definitions: dict[str, Any] = {}
    for model in (NodePool, Fleet):
        schema = model.model_json_schema(ref_template=_DEFINITIONS)
        definitions.update(schema.pop("$defs", {}))
        definitions[model.__name__] = schema
    definitions["FleetSpec"]["properties"]["template"] = {"$ref": _DEFINITIONS.format(model=_POD_TEMPLATE)}
    definitions.update(_kubernetes_definitions(_POD_TEMPLATE, kubernetes_version))
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "fleetgen fleet file (NodePool or Fleet)",
        "oneOf": [{"$ref": _DEFINITIONS.format(model="NodePool")}, {"$ref": _DEFINITIONS.format(model="Fleet")}],
        "definitions": dict(sorted(definitions.items())),
    }


def schema_text(kubernetes_version: str) -> str:
    return json.dumps(fleet_file_schema(kubernetes_version), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _kubernetes_definitions(root: str, version: str) -> dict[str, Any]:
    """`root` and every definition it reaches, with references rewritten to this document."""
    available = api.definitions(version)
    wanted, found = [root], {}
    while wanted:
        name = wanted.pop()
        if name in found:
            continue
        found[name] = _rewrite(available[name], wanted)
    return found


def _rewrite(node: Any, wanted: list[str]) -> Any:
    if isinstance(node, dict):
        result = {}
        for key, value in node.items():
            match = _K8S_REF.match(value) if key == "$ref" and isinstance(value, str) else None
            if match:
                wanted.append(match.group(1))
                value = _DEFINITIONS.format(model=match.group(1))
            result[key] = _rewrite(value, wanted) if key != "$ref" else value
        return result
    if isinstance(node, list):
        return [_rewrite(item, wanted) for item in node]
    return node
