"""spec.nodeDiscovery: checked at its line, described by the JSON Schema, and read from Nodes as documented.

The reading cases start from the fixtures' Nodes and change the one field they are about.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from test_validate import FLEET, POOL, assert_printed, edited, validate, write_pool

from generator.cli import cli
from generator.cluster.kubectl import read_objects
from generator.cluster.nodes import Discovery, discover
from generator.kube.taints import Taint

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "nodes"
DISCOVERY = '  reservedPorts: [7100, "7500-7509"]\n'  # line 10 of POOL; nodeDiscovery goes after it (line 11 on)


@pytest.fixture
def fleets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return Path("fleets")


@pytest.mark.parametrize(
    ("discovery", "place", "message"),
    [
        ("  nodeDiscovery: {selector: {}}\n", "12:29", "nodeDiscovery.selector is empty: it would take every Node"),
        ("  nodeDiscovery: {selector: {pool: 'a b'}}\n", "12:36", "'a b': label value must be"),
        ("  nodeDiscovery: {selector: {p: a}, addressTypes: []}\n", "12:51", "addressTypes is empty"),
        (
            "  nodeDiscovery: {selector: {p: a}, addressTypes: [InternalIP, InternalIP]}\n",
            "12:64",
            "addressTypes lists 'InternalIP' twice",
        ),
        ("  nodeDiscovery: {selector: {p: a}, addressTypes: [Hostname]}\n", "12:52", '"Hostname" is not one of'),
        ("  nodeDiscovery: {selector: {p: a}, ipFamily: IPv5}\n", "12:47", '"IPv5" is not one of IPv4, IPv6'),
        ("  nodeDiscovery: {selector: {p: a}, copyLabels: [-zone]}\n", "12:50", "copyLabels: '-zone': label key"),
        ("  nodeDiscovery: {selector: {p: a}, overhead: {cpu: lots}}\n", "12:53", "cpu 'lots' is not a Kubernetes"),
        ("  nodeDiscovery: {selector: {p: a}, overhead: {pods: -1}}\n", "12:54", "overhead.pods must not be negative"),
        (
            "  nodeDiscovery: {selector: {p: a}, selectr: {}}\n",
            "12:37",
            "unknown field 'selectr' in spec.nodeDiscovery",
        ),
    ],
)
def test_node_discovery_mistakes_are_named_at_their_line(
    fleets: Path, discovery: str, place: str, message: str
) -> None:
    write_pool(fleets, files={"pool.yaml": edited(POOL, DISCOVERY, DISCOVERY + "  # discovery\n" + discovery),
                              "fleet.yaml": FLEET})  # fmt: skip
    result = validate()
    assert result.exit_code == 1
    assert_printed(result, f"fleets/pool-a/pool.yaml:{place}", message)


def test_the_schema_describes_node_discovery_and_taints() -> None:
    result = CliRunner().invoke(cli, ["schema"])
    schema = json.loads(result.stdout)
    definitions = schema["definitions"]
    discovery = definitions["NodeDiscovery"]
    assert discovery["required"] == ["selector"]
    assert set(discovery["properties"]) == {"selector", "addressTypes", "ipFamily", "copyLabels", "overhead"}
    assert discovery["properties"]["addressTypes"]["items"]["enum"] == ["ExternalIP", "InternalIP"]
    assert definitions["Taint"]["properties"]["effect"]["enum"] == ["NoSchedule", "PreferNoSchedule", "NoExecute"]
    pool = yaml.safe_load(POOL)
    pool["spec"]["nodeDiscovery"] = {"selector": {"eks.amazonaws.com/nodegroup": "game"}, "ipFamily": "IPv6"}
    pool["spec"]["nodes"][0]["taints"] = [{"key": "dedicated", "value": "ranked", "effect": "NoSchedule"}]
    validator = jsonschema.Draft7Validator(schema)
    assert validator.is_valid(pool)
    pool["spec"]["nodeDiscovery"]["addressTypes"] = ["ExternalDNS"]
    assert not validator.is_valid(pool)


# --- Reading Nodes ---------------------------------------------------------------------------------------------


def gke_node(**changes: Any) -> dict[str, Any]:
    """The first game-eu Node of gke.json, with `changes` applied to its spec and status."""
    node = copy.deepcopy(json.loads((FIXTURES / "gke.json").read_text())["items"][1])
    for field, value in changes.items():
        part, key = field.split("__")
        if value is None:
            node[part].pop(key, None)
        else:
            node[part][key] = value
    return node


GAME_EU = Discovery(selector=(("cloud.google.com/gke-nodepool", "game-eu"),))


def read(*nodes: dict[str, Any], discovery: Discovery = GAME_EU) -> Any:
    text = json.dumps({"apiVersion": "v1", "kind": "List", "items": list(nodes)})
    return discover(read_objects("nodes.json", text, "Node"), discovery)


def test_only_no_schedule_and_no_execute_taints_are_kept_and_not_the_condition_ones() -> None:
    taints = [
        {"key": "ToBeDeletedByClusterAutoscaler", "value": "1772442011", "effect": "NoSchedule"},
        {"key": "DeletionCandidateOfClusterAutoscaler", "value": "1772441900", "effect": "PreferNoSchedule"},
        {"key": "karpenter.sh/disrupted", "effect": "NoSchedule"},
        {"key": "node.kubernetes.io/memory-pressure", "effect": "NoSchedule", "timeAdded": "2026-03-02T09:20:11Z"},
        {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute", "timeAdded": "2026-03-02T09:20:11Z"},
    ]
    (node,) = read(gke_node(spec__taints=taints)).nodes
    assert node.taints == (
        Taint("ToBeDeletedByClusterAutoscaler", "1772442011", "NoSchedule"),
        Taint("karpenter.sh/disrupted", "", "NoSchedule"),
    )


def test_a_node_without_a_ready_condition_or_allocatable_pods() -> None:
    status = gke_node()["status"]
    status["conditions"] = [c for c in status["conditions"] if c["type"] != "Ready"]
    status["allocatable"] = {"cpu": "2"}
    (node,) = read(gke_node(status__conditions=status["conditions"], status__allocatable=status["allocatable"])).nodes
    assert node.unschedulable == ("it reports no Ready condition",)
    assert (node.pods, node.cpu_milli, node.memory_bytes) == (110, 2000, None)


def test_an_overhead_larger_than_a_node_leaves_it_no_room_and_says_so() -> None:
    found = read(gke_node(), discovery=Discovery(GAME_EU.selector, overhead_cpu_milli=8000, overhead_pods=8))
    (node,) = found.nodes
    assert (node.pods, node.cpu_milli) == (102, 0)
    (problem,) = found.diagnostics
    assert not problem.is_error
    assert problem.message == (
        "Node gke-prod-eu-game-eu-5f2a9c1e-7xkq (items[0]): nodeDiscovery.overhead.cpu is more than its allocatable cpu"
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"status__allocatable": {"pods": "many"}}, "status.allocatable.pods 'many' is not a quantity"),
        (
            {"status__addresses": [{"type": "ExternalIP", "address": "34.76.1"}]},
            "status.addresses: ExternalIP '34.76.1' is not an IP address",
        ),
        ({"spec__taints": [{"effect": "NoSchedule"}]}, "spec.taints[0] must have a key and an effect"),
        ({"status__addresses": None}, "status.addresses has no ExternalIP address (it has: none)"),
    ],
)
def test_a_picked_node_that_cannot_be_read_is_named_with_its_field(changes: dict[str, Any], message: str) -> None:
    found = read(gke_node(**changes))
    assert found.nodes == ()
    assert [d.message for d in found.diagnostics] == [f"Node gke-prod-eu-game-eu-5f2a9c1e-7xkq (items[0]): {message}"]


def test_a_broken_node_of_another_pool_is_not_this_pools_business() -> None:
    other = gke_node(status__addresses=None)
    other["metadata"]["labels"]["cloud.google.com/gke-nodepool"] = "default-pool"
    found = read(other, gke_node())
    assert [n.name for n in found.nodes] == ["gke-prod-eu-game-eu-5f2a9c1e-7xkq"] and found.diagnostics == ()
