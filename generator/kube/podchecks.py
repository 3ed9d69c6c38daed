"""Pod checks: one field, list or map of a Pod that must (not) hold some values, tested in Python on a
fleet template and written in CEL for the admission policy, so that the two can never disagree.

Paths are relative to the Pod (or PodTemplateSpec): `spec`, `metadata`, or one container's fields.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

Path_ = tuple[str | int, ...]
Finding = tuple[Path_, str]

CONTAINERS_VARIABLE = "containers"
CONTAINER_GROUPS = ("containers", "initContainers", "ephemeralContainers")
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
# Every container of the admitted Pod, bound as `variables.containers` in the policy.
ALL_CONTAINERS = "object.spec.containers" + "".join(
    f" + (has(object.spec.{group}) ? object.spec.{group} : [])" for group in CONTAINER_GROUPS[1:]
)


class Check(Protocol):
    def find(self, pod: dict[str, Any]) -> Iterator[Finding]:
        """The offending places of a Pod (or PodTemplateSpec), relative to it, with what is wrong."""
        ...

    def cel(self) -> str:
        """True when the admitted Pod (`object`) passes; `variables.containers` holds every container."""
        ...


_MISSING = object()


def _get(obj: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(obj, dict) or key not in obj or obj[key] is None:
            return _MISSING
        obj = obj[key]
    return obj


def scopes(pod: dict[str, Any], containers: bool) -> Iterator[tuple[Path_, dict[str, Any]]]:
    """The Pod spec, or every container of every kind, with its path."""
    spec = pod.get("spec") if isinstance(pod.get("spec"), dict) else {}
    if not containers:
        yield ("spec",), spec
        return
    for group in CONTAINER_GROUPS:
        for index, container in enumerate(spec.get(group) or []):
            if isinstance(container, dict):
                yield ("spec", group, index), container


def _is_one_of(value: Any, values: tuple[Any, ...]) -> bool:
    """Membership without Python's True == 1: a schema-valid value never mixes the two, but be exact."""
    return any(type(value) is type(v) and value == v for v in values)


def _show(value: Any) -> str:
    return json.dumps(value)


def _has(base: str, path: tuple[str, ...]) -> str:
    """CEL's has() down a path, one guard per step, so that no step reads a missing field."""
    guards = [f"has({base}.{'.'.join(path[: i + 1])})" for i in range(len(path))]
    return guards[0] if len(guards) == 1 else "(" + " && ".join(guards) + ")"


def _ref(base: str, path: tuple[str, ...]) -> str:
    return f"{base}.{'.'.join(path)}"


def cel_list(values: Iterable[Any]) -> str:
    return "[" + ", ".join(_cel_literal(v) for v in values) + "]"


def _cel_membership(ref: str, values: tuple[Any, ...], allowed: bool) -> str:
    """`ref` is (or is not) one of `values`, as == or != when there is only one."""
    if len(values) == 1:
        return f"{ref} {'==' if allowed else '!='} {_cel_literal(values[0])}"
    test = f"{ref} in {cel_list(values)}"
    return test if allowed else f"!({test})"


def _cel_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _base(containers: bool) -> str:
    return "c" if containers else "object.spec"


def _over_scope(expression: str, containers: bool) -> str:
    return f"variables.{CONTAINERS_VARIABLE}.all(c, {expression})" if containers else expression


@dataclass(frozen=True, slots=True)
class Field:
    """A scalar that, when set, must be one of `values` (or none of them, when not `allowed`).

    `required`: it must also be set. `containers`: it is checked in every container, not the Pod spec.
    """

    path: tuple[str, ...]
    values: tuple[Any, ...]
    allowed: bool = True
    containers: bool = False
    required: bool = False

    def find(self, pod: dict[str, Any]) -> Iterator[Finding]:
        for base, obj in scopes(pod, self.containers):
            value = _get(obj, self.path)
            if value is _MISSING:
                if self.required:
                    yield (*base, *self.path), f"must be set to {' or '.join(map(_show, self.values))}"
            elif _is_one_of(value, self.values) != self.allowed:
                yield (*base, *self.path), f"is {_show(value)}"

    def cel(self) -> str:
        base = _base(self.containers)
        test = _cel_membership(_ref(base, self.path), self.values, self.allowed)
        guard = _has(base, self.path)
        return _over_scope(f"{guard} && {test}" if self.required else f"!{guard} || {test}", self.containers)


def pod_and_containers(path: tuple[str, ...], values: tuple[Any, ...], allowed: bool = True) -> tuple[Field, ...]:
    """The same Field on the Pod's securityContext and on every container's."""
    return Field(path, values, allowed), Field(path, values, allowed, containers=True)


@dataclass(frozen=True, slots=True)
class EachIn:
    """Every item of a list (or its `key` field) must be one of `values`."""

    path: tuple[str, ...]
    values: tuple[str, ...]
    containers: bool = False
    key: str | None = None

    def find(self, pod: dict[str, Any]) -> Iterator[Finding]:
        for base, obj in scopes(pod, self.containers):
            items = _get(obj, self.path)
            for index, item in enumerate(items if isinstance(items, list) else []):
                value = item.get(self.key) if self.key and isinstance(item, dict) else item
                if value not in self.values:
                    where = (*base, *self.path, index, *((self.key,) if self.key else ()))
                    yield where, f"is {_show(value)}, not one of {', '.join(self.values)}"

    def cel(self) -> str:
        base = _base(self.containers)
        item = f"x.{self.key}" if self.key else "x"
        test = f"{_ref(base, self.path)}.all(x, {item} in {cel_list(self.values)})"
        return _over_scope(f"!{_has(base, self.path)} || {test}", self.containers)


@dataclass(frozen=True, slots=True)
class Contains:
    """A container's list must hold `value` (capabilities.drop: ALL)."""

    path: tuple[str, ...]
    value: str

    def find(self, pod: dict[str, Any]) -> Iterator[Finding]:
        for base, obj in scopes(pod, containers=True):
            items = _get(obj, self.path)
            if not isinstance(items, list) or self.value not in items:
                yield (*base, *self.path), f"must hold {_show(self.value)}"

    def cel(self) -> str:
        return _over_scope(f"{_has('c', self.path)} && {_cel_literal(self.value)} in c.{'.'.join(self.path)}", True)


@dataclass(frozen=True, slots=True)
class Defaulted:
    """A container setting that falls back to the Pod's: the effective value of each container must be
    set and one of `values`, and the Pod's, when set, too (Pod Security's runAsNonRoot and seccomp)."""

    path: tuple[str, ...]
    values: tuple[Any, ...]

    def find(self, pod: dict[str, Any]) -> Iterator[Finding]:
        yield from Field(self.path, self.values).find(pod)
        pod_value = _get(pod, ("spec", *self.path))
        for base, container in scopes(pod, containers=True):
            value = _get(container, self.path)
            if value is _MISSING and pod_value is _MISSING:
                yield (*base, *self.path), f"must be {' or '.join(map(_show, self.values))} here or in the Pod's"
            elif value is not _MISSING and not _is_one_of(value, self.values):
                yield (*base, *self.path), f"is {_show(value)}"

    def cel(self) -> str:
        values = cel_list(self.values)
        pod = f"({_has('object.spec', self.path)} && {_ref('object.spec', self.path)} in {values})"
        container = f"{_has('c', self.path)} ? {_ref('c', self.path)} in {values} : {pod}"
        return f"({Field(self.path, self.values).cel()}) && {_over_scope(container, True)}"


@dataclass(frozen=True, slots=True)
class VolumeSources:
    """Every volume's source must be one of `sources` (or none of them, when not `allowed`)."""

    sources: tuple[str, ...]
    allowed: bool

    def find(self, pod: dict[str, Any]) -> Iterator[Finding]:
        volumes = _get(pod, ("spec", "volumes"))
        for index, volume in enumerate(volumes if isinstance(volumes, list) else []):
            kinds = sorted(key for key in volume if key != "name")
            bad = [k for k in kinds if (k in self.sources) != self.allowed]
            if bad:
                yield ("spec", "volumes", index), f"is a volume of type {bad[0]}"

    def cel(self) -> str:
        found = " || ".join(f"has(v.{source})" for source in self.sources)
        test = f"({found})" if self.allowed else f"!({found})"
        return f"!has(object.spec.volumes) || object.spec.volumes.all(v, {test})"


@dataclass(frozen=True, slots=True)
class AppArmorAnnotations:
    """The AppArmor annotations that predate securityContext.appArmorProfile: runtime/default or localhost/*."""

    def find(self, pod: dict[str, Any]) -> Iterator[Finding]:
        annotations = _get(pod, ("metadata", "annotations"))
        for key, value in sorted(annotations.items() if isinstance(annotations, dict) else []):
            if key.startswith(APPARMOR_ANNOTATION) and not _confined_apparmor(value):
                yield ("metadata", "annotations", key), f"is {_show(value)}"

    def cel(self) -> str:
        value = "object.metadata.annotations[k]"
        allowed = f"{value} == '' || {value} == 'runtime/default' || {value}.startsWith('localhost/')"
        test = f"!k.startsWith('{APPARMOR_ANNOTATION}') || {allowed}"
        return f"!has(object.metadata.annotations) || object.metadata.annotations.all(k, {test})"


def _confined_apparmor(value: Any) -> bool:
    return isinstance(value, str) and (value in ("", "runtime/default") or value.startswith("localhost/"))
