"""Parse: documents -> pydantic models, with every structural problem as a positioned diagnostic."""

from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ValidationError

from ..diagnostics import Diagnostic, did_you_mean
from .load import Document
from .model import API_VERSION, KINDS, Strict

_TYPE_WORDS = {
    "int": "an integer",
    "string": "a string",
    "str": "a string",
    "bool": "true or false",
    "float": "a number",
    "dict": "a mapping",
    "list": "a list",
    "model": "a mapping",
    "none": "null",
}
_TYPE_HINTS = {
    "a mapping": "write it as keys indented below it, or as {key: value}",
    "a string": 'write it as text, quoted when YAML would read it otherwise ("true", "8080")',
    "an integer": "write a whole number, without quotes",
    "a number": "write a number, without quotes",
    "true or false": "write true or false, without quotes",
    "a list": "write it as a list: one '- item' a line, or [a, b]",
}


def parse_document(document: Document, expected: tuple[str, ...]) -> tuple[Strict | None, list[Diagnostic]]:
    """The model of one document whose kind is one of `expected`, or the reasons it is not one."""
    data = document.data
    if not isinstance(data, dict):
        message = f"expected a {' or '.join(expected)} mapping, got {_shown(data)}"
        hint = f"write the {expected[0]} as a mapping: apiVersion, kind, metadata, spec"
        return None, [document.error((), message, hint)]
    header = _header_problems(document, expected)
    if header:
        return None, header
    model_class = KINDS[data["kind"]]
    try:
        return model_class.model_validate(data), []
    except ValidationError as problem:
        return None, translate_errors(document, model_class, problem.errors(include_url=False))


def _header_problems(document: Document, expected: tuple[str, ...]) -> list[Diagnostic]:
    data = document.data
    api_version = data.get("apiVersion")
    if api_version != API_VERSION:
        path, key = (("apiVersion",), False) if "apiVersion" in data else ((), False)
        message = f"apiVersion must be {API_VERSION!r}" + (f", not {api_version!r}" if api_version else "")
        return [document.error(path, message, f"write apiVersion: {API_VERSION}", key=key)]
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in expected:
        where = "pool.yaml holds one NodePool" if expected == ("NodePool",) else "this file holds Fleets"
        shown = f"kind {kind!r}" if kind is not None else "a document without kind"
        hint = did_you_mean(str(kind), expected) if not isinstance(kind, str) or kind not in KINDS else where
        path = ("kind",) if "kind" in data else ()
        return [document.error(path, f"{shown} is not expected here: {where}", hint)]
    return []


def translate_errors(document: Document, model_class: type[BaseModel], errors: Iterable[dict]) -> list[Diagnostic]:
    """One diagnostic per place; union branches that failed together become one message."""
    by_place: dict[tuple, list[dict]] = {}
    for found in errors:
        path = _data_path(document.data, found["loc"], found["type"])
        by_place.setdefault(path, []).append(found)
    return [_diagnostic(document, model_class, path, found) for path, found in sorted(by_place.items(), key=_key)]


def _key(item: tuple[tuple, list]) -> list[str]:
    return [str(segment) for segment in item[0]]


def _data_path(data: Any, loc: tuple, kind: str) -> tuple:
    """The part of pydantic's location that exists in the data (it adds union branch names)."""
    path: list = []
    node = data
    for index, segment in enumerate(loc):
        last = index == len(loc) - 1
        if isinstance(node, dict) and isinstance(segment, str) and (segment in node or (last and kind == "missing")):
            path.append(segment)
            node = node.get(segment)
        elif isinstance(node, list) and isinstance(segment, int) and 0 <= segment < len(node):
            path.append(segment)
            node = node[segment]
    return tuple(path)


def _diagnostic(document: Document, model_class: type[BaseModel], path: tuple, errors: list[dict]) -> Diagnostic:
    first = errors[0]
    kind = first["type"]
    if kind == "extra_forbidden":
        allowed = _fields_at(model_class, path[:-1])
        where = _where(path[:-1])
        return document.error(
            path, f"unknown field {path[-1]!r}{where}", did_you_mean(str(path[-1]), allowed), key=True
        )
    if kind == "missing":
        return document.error(
            path[:-1],
            f"missing required field {path[-1]!r}{_where(path[:-1])}",
            f"add {path[-1]}: under {_dotted(path[:-1]) or 'the document'}",
        )
    value = first.get("input")
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", first["ctx"]["expected"])
        return document.error(
            path, f"{_shown(value)} is not one of {', '.join(choices)}", did_you_mean(str(value), choices)
        )
    expected = sorted({_expected(found) for found in errors})
    message = f"expected {' or '.join(expected)}, got {_shown(value)}"
    return document.error(path, message, _type_hint(expected, value, _fields_at(model_class, path)))


def _type_hint(expected: list[str], value: Any, fields: list[str]) -> str:
    """What to write instead: a value where there is none, the fields of a mapping, a value of the type."""
    if value is None:
        return "give it a value, or remove it"
    if expected == ["a mapping"] and fields:
        return "write its fields indented below it: " + ", ".join(fields)
    if len(expected) == 1 and expected[0] in _TYPE_HINTS:
        return _TYPE_HINTS[expected[0]]
    return f"write {' or '.join(expected)} here"


def _expected(found: dict) -> str:
    kind = found["type"]
    for prefix, words in _TYPE_WORDS.items():
        if kind.startswith(prefix):
            return words
    return found["msg"].lower()


def _where(path: tuple) -> str:
    dotted = _dotted(path)
    return f" in {dotted}" if dotted else ""


def _dotted(path: tuple) -> str:
    text = ""
    for segment in path:
        text += f"[{segment}]" if isinstance(segment, int) else (f".{segment}" if text else str(segment))
    return text


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value).lower()


def _fields_at(model_class: type[BaseModel], path: tuple) -> list[str]:
    """Field names of the model found by following `path` through field types (for did-you-mean)."""
    annotation: Any = model_class
    for segment in path:
        annotation = _step(annotation, segment)
        if annotation is None:
            return []
    model = _model_in(annotation)
    return sorted(model.model_fields) if model else []


def _step(annotation: Any, segment: str | int) -> Any:
    model = _model_in(annotation)
    if model is not None and isinstance(segment, str):
        field = model.model_fields.get(segment)
        return field.annotation if field else None
    for option in _options(annotation):
        origin = typing.get_origin(option)
        if origin is list and isinstance(segment, int):
            return typing.get_args(option)[0]
        if origin is dict and isinstance(segment, str):
            return typing.get_args(option)[1]
    return None


def _model_in(annotation: Any) -> type[BaseModel] | None:
    for option in _options(annotation):
        if isinstance(option, type) and issubclass(option, BaseModel):
            return option
    return None


def _options(annotation: Any) -> tuple:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return (annotation,)
