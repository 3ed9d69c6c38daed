"""Shapes: objects that a schema cannot tell apart, so that one validation vouches for all of them.

A schema built only of keywords whose verdict follows from an object's structure and types (type,
properties, additionalProperties, required, items, allOf, anyOf, oneOf, $ref, min/max items and
properties), of `enum`, and of annotations (description, x-kubernetes-*, and `format`, which a validator
without a format checker does not assert) gives the same verdict to two objects of the same *shape*: the
same keys in every mapping (or keys that both are no property's name), lists of the same lengths, the same
type at every place, the same booleans, nulls and floats, and strings and integers that are equal or both
among no enum's values. Once an object of a shape is valid, so is every later one, and validating it again
proves nothing new: a fleet's Pods and a pool's ConfigMaps differ only in names, label keys and numbers.
A schema with any other keyword (pattern, minLength, minimum, const, not...) has no shapes: each object is
validated.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# Keywords whose verdict depends on the shape alone; `enum`, `required` and `properties` are handled apart (the
# values and names they list join the shape).
_STRUCTURAL = frozenset({"type", "minItems", "maxItems", "minProperties", "maxProperties", "$ref", "$schema", "$id"})
_SUBSCHEMA_MAPS = frozenset({"properties", "$defs", "definitions"})
_SUBSCHEMAS = frozenset({"additionalProperties", "items"})
_SUBSCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf", "items"})
_ANNOTATIONS = frozenset({"description", "title", "default", "examples", "deprecated", "readOnly", "writeOnly"})
_VALID_SHAPES_HELD = 4096  # per schema; output never depends on it


class _Unshapeable(Exception):
    """A schema keyword, $ref or value outside what shapes are proven for."""


class _Any:
    """Stands for every string (or integer) that no enum of the schema lists."""

    __slots__ = ()


_OTHER_STRING, _OTHER_INTEGER, _OTHER_KEY = _Any(), _Any(), _Any()


class Shapes:
    """The shapes a schema cannot tell apart, and those already found valid."""

    def __init__(self, schemas: Iterable[Any], documents: tuple[str, ...], asserts_format: bool) -> None:
        """`schemas` must hold every document a $ref may reach; `documents` are the $ref prefixes that reach them."""
        self._strings: set[str] = set()
        self._numbers: set[int | float] = set()
        self._names: set[str] = set()  # every key a `properties` or `required` names
        self.valid: set[Any] = set()
        try:
            if asserts_format:
                raise _Unshapeable("format")
            for schema in schemas:
                self._scan(schema, documents)
            self.usable = True
        except _Unshapeable:
            self.usable = False

    def shape_of(self, obj: Any) -> Any:
        """The object's shape (hashable), or None when the schema, or a value in `obj`, has none."""
        if not self.usable:
            return None
        try:
            return self._shape(obj)
        except _Unshapeable:
            return None

    def remember(self, shape: Any) -> None:
        if len(self.valid) >= _VALID_SHAPES_HELD:
            self.valid.clear()
        self.valid.add(shape)

    def _shape(self, value: Any) -> Any:
        if isinstance(value, str):
            return str.__str__(value) if value in self._strings else _OTHER_STRING
        if isinstance(value, bool) or value is None or isinstance(value, float):
            return (value.__class__, value)
        if isinstance(value, int):
            return int.__int__(value) if value in self._numbers else _OTHER_INTEGER
        if isinstance(value, dict):
            return (dict, *((self._key(key), self._shape(item)) for key, item in value.items()))
        if isinstance(value, list):
            return (list, *(self._shape(item) for item in value))
        raise _Unshapeable(type(value).__name__)

    def _key(self, key: Any) -> Any:
        """A key no `properties` or `required` names is validated as any other such key would be."""
        return _OTHER_KEY if key.__class__ is str and key not in self._names else key

    def _scan(self, schema: Any, documents: tuple[str, ...]) -> None:
        """Check every keyword of `schema` and its subschemas, and gather the values its enums list."""
        if isinstance(schema, bool):
            return
        if not isinstance(schema, dict):
            raise _Unshapeable("schema")
        for keyword, value in schema.items():
            if keyword.startswith("x-") or keyword in _ANNOTATIONS or keyword == "format":
                continue
            if keyword == "$ref" and not (isinstance(value, str) and value.startswith(documents)):
                raise _Unshapeable(keyword)
            if keyword == "enum":
                self._gather(value)
            elif keyword == "required" and isinstance(value, list) and all(isinstance(n, str) for n in value):
                self._names.update(value)
            elif keyword in _SUBSCHEMA_MAPS and isinstance(value, dict):
                if keyword == "properties":
                    self._names.update(value)
                for subschema in value.values():
                    self._scan(subschema, documents)
            elif keyword in _SUBSCHEMA_LISTS and isinstance(value, list):
                for subschema in value:
                    self._scan(subschema, documents)
            elif keyword in _SUBSCHEMAS:
                self._scan(value, documents)
            elif keyword not in _STRUCTURAL:
                raise _Unshapeable(keyword)

    def _gather(self, values: Any) -> None:
        if not isinstance(values, list):
            raise _Unshapeable("enum")
        for value in values:
            if isinstance(value, str):
                self._strings.add(value)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                self._numbers.add(value)
            elif not (isinstance(value, bool) or value is None):
                raise _Unshapeable("enum")
