"""Kubernetes' own rules: the API schemas bundled with kubernetes-validate, and the checks they miss.

kubernetes-validate rebuilds its validator on every call; at 150,000 objects that is minutes, so the
schemas are loaded once per (version, schema file) and reused.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema
import referencing

from ..diagnostics import did_you_mean
from .shapes import Shapes
from .versions import bundled_versions as bundled_versions
from .versions import latest_version as latest_version
from .versions import resolve_version as resolve_version
from .versions import schema_root

_DEFINITIONS_URI = "/api/_definitions.json"
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_IANA_SVC_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_CONFIG_MAP_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
CONFIG_MAP_MAX_BYTES = 1024 * 1024
"""What the API server lets a ConfigMap's values add up to."""


@dataclass(frozen=True, slots=True)
class SchemaProblem:
    path: tuple[str | int, ...]
    message: str
    hint: str = ""


@cache
def definitions(version: str) -> dict[str, Any]:
    """Kubernetes' API definitions by name (`io.k8s.api.core.v1.PodSpec`) for `version`."""
    return _definitions_document(version)["$defs"]


@cache
def _definitions_document(version: str) -> dict[str, Any]:
    return json.loads(_folder(version).joinpath("_definitions.json").read_text(encoding="utf-8"))


@cache
def _registry(version: str) -> referencing.Registry:
    contents = _definitions_document(version)
    resource = referencing.Resource.from_contents(contents, default_specification=referencing.jsonschema.DRAFT202012)
    return referencing.Registry().with_resource(_DEFINITIONS_URI, resource).crawl()


def _folder(version: str) -> Any:
    return schema_root() / f"v{version}.0-local-strict"


@cache
def _validator(version: str, schema_file: str) -> jsonschema.protocols.Validator:
    schema = json.loads(_folder(version).joinpath(schema_file).read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema, registry=_registry(version))


def schema_file_for(api_version: str, kind: str) -> str:
    """kubernetes-validate's file name: `networking.k8s.io/v1` NetworkPolicy -> networkpolicy-networking-v1.json."""
    group, _, version = api_version.rpartition("/")
    group = group.split(".")[0]
    return f"{kind.lower()}-{group + '-' if group else ''}{version}.json"


def schema_problems(obj: Any, schema_file: str, version: str) -> list[SchemaProblem]:
    """Every violation of one of Kubernetes' schemas by `obj`; none at once for an object of a shape already
    found valid (see `_Shapes`)."""
    shapes = _shapes(version, schema_file)
    shape = shapes.shape_of(obj)
    if shape is not None and shape in shapes.valid:
        return []
    resource = schema_file.split("-")[0]
    problems = validator_problems(_validator(version, schema_file), obj, _EXPLAINED_AS.get(resource, resource))
    if shape is not None and not problems:
        shapes.remember(shape)
    return problems


@cache
def _shapes(version: str, schema_file: str) -> Shapes:
    validator = _validator(version, schema_file)
    schemas = [validator.schema, _definitions_document(version)]
    # A $ref reaches into its own document (`#/$defs/...`) or the definitions: both are scanned.
    return Shapes(schemas, ("#", _DEFINITIONS_URI + "#"), asserts_format=validator.format_checker is not None)


# A template's fields are its Pod's: `kubectl explain` knows them as pod.metadata and pod.spec.
_EXPLAINED_AS = {"podtemplatespec": "pod"}


def validator_problems(validator: jsonschema.protocols.Validator, obj: Any, resource: str) -> list[SchemaProblem]:
    """Every violation `validator` finds, worded for people, deepest first, sorted by path for stable output;
    hints point at `kubectl explain RESOURCE.field`."""
    problems = {_problem(e, resource) for e in _leaf_errors(validator.iter_errors(obj))}
    return sorted(problems, key=lambda p: ([str(s) for s in p.path], p.message))


def validate_object(obj: dict[str, Any], version: str) -> list[SchemaProblem]:
    return schema_problems(obj, schema_file_for(obj["apiVersion"], obj["kind"]), version)


def _leaf_errors(errors: Iterator[jsonschema.ValidationError]) -> Iterator[jsonschema.ValidationError]:
    for found in errors:
        if found.context:
            best = jsonschema.exceptions.best_match(found.context)
            yield best if best is not None else found
        else:
            yield found


def _problem(found: jsonschema.ValidationError, resource: str) -> SchemaProblem:
    path = tuple(found.absolute_path)
    explained = _explain(resource, path)
    if found.validator == "additionalProperties":
        allowed = sorted(found.schema.get("properties", {}))
        extra = sorted(set(found.instance) - set(allowed)) if isinstance(found.instance, dict) else []
        if extra:
            return SchemaProblem((*path, extra[0]), f"unknown field {extra[0]!r}", _closest(extra[0], allowed))
    if found.validator == "required":
        return SchemaProblem(
            path, found.message.replace("is a required property", "is required"), "add it: " + explained
        )
    if found.validator == "type":
        expected = found.validator_value
        shown = json.dumps(found.instance)[:60]
        hint = _NULL_HINT if found.instance is None else f"write {_kind_name(expected)} here: {explained}"
        return SchemaProblem(path, f"expected {_kind_name(expected)}, got {shown}", hint)
    if found.validator == "enum":
        choices = [str(c) for c in found.validator_value]
        return SchemaProblem(
            path, f"{found.instance!r} is not one of {', '.join(choices)}", _closest(str(found.instance), choices)
        )
    return SchemaProblem(path, found.message, explained)


_NULL_HINT = "give it a value ({} for an empty mapping, [] for an empty list) or remove the line"


def _explain(resource: str, path: tuple[str | int, ...]) -> str:
    """Where Kubernetes documents the field: `kubectl explain` takes the path without list indexes."""
    fields = [resource, *(part for part in path if isinstance(part, str))]
    return f"see `kubectl explain {'.'.join(fields)}`"


def _kind_name(expected: Any) -> str:
    names = {
        "string": "a string",
        "integer": "an integer",
        "boolean": "true or false",
        "object": "a mapping",
        "array": "a list",
        "number": "a number",
        "null": "null",
    }
    if isinstance(expected, list):
        return " or ".join(names.get(e, e) for e in expected)
    return names.get(expected, str(expected))


def _closest(word: str, choices: list[str]) -> str:
    return did_you_mean(word, choices)


def dns1123_label_problem(value: str, limit: int = 63) -> str:
    if len(value) > limit:
        return f"must be at most {limit} characters (is {len(value)})"
    if not _DNS1123_LABEL.match(value):
        return "must be lower-case letters, digits and '-', starting and ending with a letter or digit"
    return ""


def dns1123_subdomain_problem(value: str) -> str:
    if len(value) > 253:
        return f"must be at most 253 characters (is {len(value)})"
    if not _DNS1123_SUBDOMAIN.match(value):
        return "must be lower-case letters, digits, '-' and '.', starting and ending with a letter or digit"
    return ""


LABEL_HINT = "write a label such as tier: premium or example.com/tier: premium"


def label_key_problem(key: str) -> str:
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or dns1123_subdomain_problem(prefix)):
        return f"label key prefix {prefix!r} must be a DNS subdomain"
    if not name or len(name) > 63 or not _QUALIFIED_NAME.match(name):
        return "label key name must be 1-63 characters: letters, digits, '-', '_', '.', alphanumeric at both ends"
    return ""


def label_value_problem(value: str) -> str:
    if len(value) > 63 or not _LABEL_VALUE.match(value):
        return "label value must be at most 63 characters: letters, digits, '-', '_', '.', alphanumeric at both ends"
    return ""


def port_name_problem(name: str, limit: int = 15) -> str:
    """IANA_SVC_NAME, as the API server checks container port names."""
    if len(name) > limit:
        return f"must be at most {limit} characters (is {len(name)})"
    if not _IANA_SVC_NAME.match(name) or "--" in name:
        return "must be lower-case letters, digits and single '-', starting and ending with a letter or digit"
    if not any(c.isalpha() for c in name):
        return "must contain at least one letter"
    return ""


def config_map_key_problem(key: str) -> str:
    """The API server's IsConfigMapKey."""
    if len(key) > 253:
        return f"must be at most 253 characters (is {len(key)})"
    if not _CONFIG_MAP_KEY.match(key):
        return "must be letters, digits, '-', '_' or '.'"
    if key in (".", "..") or key.startswith(".."):
        return "must not be '.' or '..' or start with '..'"
    return ""


# Lines of which none has a config_map_key_problem: 1-253 of its characters, not "." and not starting "..".
_CONFIG_MAP_KEY_LINES = re.compile(r"(?:(?!\.\.|\.\n)[-._a-zA-Z0-9]{1,253}\n)*")


def config_map_keys_valid(keys: Iterable[Any]) -> bool:
    """True only when no key has a `config_map_key_problem`: one regex over all of a ConfigMap's keys, where a
    key at a time costs a call each (False does not say which key has a problem; ask each key)."""
    keys = list(keys)
    if set(map(type, keys)) - {str}:
        return False
    return _CONFIG_MAP_KEY_LINES.fullmatch("\n".join(keys) + "\n" if keys else "") is not None


def env_name_problem(name: str) -> str:
    return "" if _ENV_NAME.match(name) else "must be letters, digits, '_', '-' or '.', not starting with a digit"


def canonical_address(value: str) -> str | None:
    """One spelling per address (IPv6 compressed and lower case, an IPv4-mapped IPv6 as IPv4), so that
    `2001:DB8:0::1` and `2001:db8::1` compare equal; None when `value` is not an address."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)
