"""verify's schema check of ConfigMaps, which validates one entry against the schema and every entry against
the API server's rules: it must still refuse whatever the API server would."""

from __future__ import annotations

from typing import Any

import pytest

from generator.kube import api as kube
from generator.manifests.verify import schema_problems

VERSION = kube.latest_version()


def config_map(data: Any, name: str = "fleetgen-endpoints-casual-0") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "games"}, "data": data}


def messages(obj: dict[str, Any]) -> list[str]:
    return [f"{'.'.join(str(p) for p in problem.path)}: {problem.message}" for problem in schema_problems(obj, VERSION)]


def test_a_valid_endpoints_config_map_passes() -> None:
    data = {f"casual-{i}": '{"address":"192.0.2.1","ports":{"game":7000}}' for i in range(1000)}
    assert messages(config_map(data)) == []


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("bad key", "key must be letters, digits, '-', '_' or '.'"),
        ("..hidden", "key must not be '.' or '..' or start with '..'"),
        ("k" * 254, "key must be at most 253 characters (is 254)"),
    ],
)
def test_every_key_gets_the_api_servers_rule(key: str, expected: str) -> None:
    data = {"casual-0": "{}", key: "{}", "casual-1": "{}"}
    assert messages(config_map(data)) == [f"data.{key}: {expected}"]


def test_every_value_must_be_a_string_not_only_the_first() -> None:
    data = {"a-0": "{}", "z-9": 7}
    assert messages(config_map(data)) == ["data.z-9: must be a string, not int"]


def test_the_values_must_fit_the_size_limit() -> None:
    data = {f"s-{i}": "x" * 1024 for i in range(1025)}
    assert messages(config_map(data)) == [f"data: values add up to {1025 * 1024} bytes, over {1024 * 1024}"]


def test_the_rest_of_the_object_still_meets_the_schema() -> None:
    obj = config_map({"casual-0": "{}"})
    obj["metadata"]["labels"] = ["not", "a", "map"]
    obj["immutable"] = "yes"
    found = messages(obj)
    assert any(line.startswith("metadata.labels") for line in found), found
    assert any(line.startswith("immutable") for line in found), found
