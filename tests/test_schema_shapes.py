"""Objects of a shape already found valid are not validated again: the answer is always the one a full
validation gives, for objects that differ in any value, key, type or length."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from test_status_reuse import field_paths

from generator.kube import api
from generator.kube.shapes import Shapes

VERSION = api.latest_version()
POD_SCHEMA = "pod-v1.json"
POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "arena-0", "namespace": "games", "labels": {"fleetgen.dev/fleet": "arena"}},
    "spec": {
        "automountServiceAccountToken": False,
        "nodeSelector": {"kubernetes.io/hostname": "node-1"},
        "containers": [
            {
                "name": "server",
                "image": "example.com/arena:1.0",
                "ports": [{"name": "game", "containerPort": 7777, "hostPort": 7000, "protocol": "UDP"}],
                "env": [{"name": "FLEETGEN_PORT_GAME", "value": "7000"}],
                "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}},
            }
        ],
    },
}


def full_validation(obj: Any) -> list[api.SchemaProblem]:
    """What Kubernetes' schema says of `obj`, asked every time."""
    return api.validator_problems(api._validator(VERSION, POD_SCHEMA), obj, "pod")


def test_a_pod_of_a_known_valid_shape_is_valid_and_any_other_is_validated() -> None:
    assert api.schema_problems(POD, POD_SCHEMA, VERSION) == []
    renamed = copy.deepcopy(POD)
    renamed["metadata"]["name"], renamed["spec"]["containers"][0]["ports"][0]["hostPort"] = "arena-7", 7001
    assert api.schema_problems(renamed, POD_SCHEMA, VERSION) == []
    wrong_kind = {**POD, "kind": "Pods"}  # the same shape but for a value an enum lists
    assert [p.message for p in api.schema_problems(wrong_kind, POD_SCHEMA, VERSION)] == ["'Pods' is not one of Pod"]
    wrong_type = copy.deepcopy(POD)
    wrong_type["spec"]["containers"][0]["ports"][0]["hostPort"] = "7000"
    problems = api.schema_problems(wrong_type, POD_SCHEMA, VERSION)
    assert problems == full_validation(wrong_type) and problems


leaves = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["Pod", "v1", "ConfigMap", "UDP"]),
    st.integers(-3, 70000),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False),
    st.just([]),
    st.just({}),
)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_the_answer_is_always_a_full_validations(data: st.DataObject) -> None:
    assert api.schema_problems(POD, POD_SCHEMA, VERSION) == []  # its shape is known valid from here on
    pod = copy.deepcopy(POD)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(field_paths(pod)))
        parent = pod
        for step in path[:-1]:
            parent = parent[step]
        if data.draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(leaves)
        if isinstance(parent, dict) and data.draw(st.booleans()):
            parent[data.draw(st.text(max_size=6))] = data.draw(leaves)
    assert api.schema_problems(pod, POD_SCHEMA, VERSION) == full_validation(pod)


def test_a_schema_that_reads_values_has_no_shapes() -> None:
    for schema in (
        {"type": "string", "pattern": "^a"},
        {"properties": {"name": {"maxLength": 3}}},
        {"not": {"type": "string"}},
        {"enum": [{"a": 1}]},
        {"$ref": "https://example.com/elsewhere.json"},
    ):
        assert not Shapes([schema], ("#",), asserts_format=False).usable, schema
    assert not Shapes([{"type": "string", "format": "ipv4"}], ("#",), asserts_format=True).usable
    usable = Shapes(
        [{"type": "string", "format": "ipv4", "enum": ["a"], "x-kubernetes-map-type": "atomic"}], ("#",), False
    )
    assert usable.usable and usable.shape_of("a") != usable.shape_of("b") == usable.shape_of("c")


def test_keys_that_no_property_names_are_one_shape() -> None:
    shapes = Shapes(
        [{"properties": {"a": {"type": "integer"}}, "additionalProperties": {"type": "string"}}], ("#",), False
    )
    assert shapes.shape_of({"x": "1"}) == shapes.shape_of({"y": "2"}) != shapes.shape_of({"a": "1"})
    assert shapes.shape_of({"x": "1", "y": "2"}) != shapes.shape_of({"x": "1"})
