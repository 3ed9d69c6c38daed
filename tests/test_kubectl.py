"""Reading what kubectl prints: the three shapes it comes in, and every way it can be wrong, by object and field."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml

from generator.cluster.kubectl import read_objects, read_text

# The shape `kubectl get node NAME -o json` prints (trimmed to the fields fleetgen reads).
NODE = {
    "apiVersion": "v1",
    "kind": "Node",
    "metadata": {"name": "gke-game-eu-pool-1-a1b2c3d4-x7k2", "labels": {"kubernetes.io/hostname": "x7k2"}},
    "spec": {"podCIDR": "10.8.1.0/24"},
    "status": {
        "addresses": [{"type": "InternalIP", "address": "10.128.0.12"}, {"type": "ExternalIP", "address": "34.76.1.2"}],
        "allocatable": {"cpu": "3920m", "memory": "13364584Ki", "pods": "110"},
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
    },
}


def as_list(*items: dict, kind: str = "List") -> dict:
    return {"apiVersion": "v1", "kind": kind, "metadata": {"resourceVersion": ""}, "items": list(items)}


@pytest.mark.parametrize(
    "document",
    [as_list(NODE), as_list(NODE, kind="NodeList"), NODE],
    ids=["kubectl-list", "api-nodelist", "one-node"],
)
@pytest.mark.parametrize("dump", [json.dumps, yaml.safe_dump], ids=["json", "yaml"])
def test_every_shape_kubectl_prints_is_read(document: dict, dump) -> None:
    found = read_objects("nodes.json", dump(document), "Node")
    assert found.diagnostics == []
    assert [(o.name, o.body["status"]["addresses"][1]["address"]) for o in found.objects] == [
        ("gke-game-eu-pool-1-a1b2c3d4-x7k2", "34.76.1.2")
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "nodes.json: error: is empty"),
        ("{not: [json", "nodes.json: error: is neither JSON nor YAML at line 2, column 1"),
        ("[1, 2]", "expected a NodeList or a List, not a list"),
        (json.dumps(as_list(kind="PodList")), "expected a NodeList or a List of Nodes, not a PodList"),
        (json.dumps({**as_list(), "items": {"a": 1}}), "items must be a list, not a mapping"),
        (json.dumps(as_list(NODE, {**NODE, "kind": "Pod"})), "items[1] is a Pod, not a Node"),
        (json.dumps(as_list("node-1")), "items[0] must be a Node object, not a string"),
        (json.dumps(as_list({**NODE, "metadata": {}})), "Node <no name> (items[0]): metadata.name is missing"),
    ],
)
def test_what_is_not_a_node_list_is_named(text: str, message: str) -> None:
    found = read_objects("nodes.json", text, "Node")
    printed = [f"{d.path}: error: {d.message}" for d in found.diagnostics]
    assert any(message in line for line in printed), printed
    assert all(d.hint for d in found.diagnostics)


def test_a_field_of_the_wrong_type_is_named_by_object_and_field() -> None:
    broken = {**NODE, "status": {**NODE["status"], "addresses": "34.76.1.2"}}
    found = read_objects("nodes.json", json.dumps(as_list(NODE, broken)), "Node")
    first, second = found.objects
    assert found.get(first, "status.addresses", list)[0]["type"] == "InternalIP"
    assert found.get(second, "status.addresses", list) is None
    assert found.get(first, "spec.unschedulable", bool, False) is False
    assert found.get(first, "spec.taints", list, []) == []
    (problem,) = found.diagnostics
    assert problem.message == (
        "Node gke-game-eu-pool-1-a1b2c3d4-x7k2 (items[1]): status.addresses must be a list, not a string"
    )


def test_the_source_is_a_file_or_stdin_and_an_unreadable_one_says_so(tmp_path: Path) -> None:
    path = tmp_path / "nodes.json"
    path.write_text(json.dumps(NODE))
    assert read_text(str(path), io.StringIO()) == (json.dumps(NODE), None)
    assert read_text("-", io.StringIO("piped")) == ("piped", None)
    text, problem = read_text(str(tmp_path / "missing.json"), io.StringIO())
    assert text is None and problem is not None
    assert problem.message == "cannot be read: No such file or directory" and "kubectl get" in problem.hint
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00")
    assert read_text(str(tmp_path / "binary.json"), io.StringIO())[1] is not None
    assert read_objects("-", "", "Node").diagnostics[0].path == "<stdin>"
