"""The JSON Schema for editors: committed, current, and true to the example files."""

from __future__ import annotations

import copy
import difflib
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from generator.cli import cli

EXAMPLES = Path(__file__).resolve().parent.parent / "fleets"
SCHEMA_PATH = EXAMPLES / "fleetgen.schema.json"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*/*.yaml"))
MODELINE = re.compile(r"^# yaml-language-server: \$schema=(?P<target>\S+)$")


@cache
def validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


@cache
def example_documents() -> dict[str, Any]:
    """The first document of each kind found in the examples, by kind."""
    found: dict[str, Any] = {}
    for path in EXAMPLE_FILES:
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(document, dict):
                found.setdefault(document["kind"], document)
    return found


def test_examples_exist() -> None:
    assert len(EXAMPLE_FILES) >= 4
    assert {"Fleet", "NodePool"} <= set(example_documents())


def test_schema_command_prints_the_committed_schema() -> None:
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0, result.output
    committed = SCHEMA_PATH.read_text(encoding="utf-8")
    if result.stdout != committed:
        diff = difflib.unified_diff(
            committed.splitlines(), result.stdout.splitlines(), "committed", "fleetgen schema", lineterm="", n=1
        )
        shown = "\n".join(list(diff)[:40])
        pytest.fail(f"{SCHEMA_PATH.name} is stale; run `fleetgen schema > fleets/fleetgen.schema.json`:\n{shown}")


def test_schema_command_refuses_an_unknown_kubernetes_version() -> None:
    result = CliRunner().invoke(cli, ["schema", "--kubernetes-version", "9.99"])
    assert result.exit_code == 2
    assert "--kubernetes-version" in result.stderr


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_example_documents_validate_against_the_schema(path: Path) -> None:
    documents = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    assert documents
    for index, document in enumerate(documents):
        assert validator().is_valid(document), f"document {index}: {_explain(document)}"


def _explain(document: Any) -> str:
    """The deepest problem of the document against its own kind's definition (oneOf says only 'no match')."""
    schema = validator().schema
    kind = document.get("kind") if isinstance(document, dict) else None
    if kind not in schema["definitions"]:
        return f"no definition for kind {kind!r}"
    branch = {"definitions": schema["definitions"], "$ref": f"#/definitions/{kind}"}
    problem = jsonschema.exceptions.best_match(jsonschema.Draft7Validator(branch).iter_errors(document))
    if problem is None:
        return "valid against its kind, yet not against the schema's oneOf"
    return f"at {'/'.join(map(str, problem.absolute_path)) or 'the top'}: {problem.message[:300]}"


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_example_files_name_the_committed_schema(path: Path) -> None:
    first_line = path.read_text(encoding="utf-8").splitlines()[0]
    modeline = MODELINE.match(first_line)
    assert modeline, f"{path} must start with '# yaml-language-server: $schema=...', not {first_line!r}"
    assert (path.parent / modeline["target"]).resolve() == SCHEMA_PATH.resolve()


def _set(document: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    node: Any = document
    for segment in path[:-1]:
        node = node[segment]
    node[path[-1]] = value


def _rename(document: dict[str, Any], path: tuple[str | int, ...], new_key: str) -> None:
    node: Any = document
    for segment in path[:-1]:
        node = node[segment]
    node[new_key] = node.pop(path[-1])


INVALID = [
    pytest.param("Fleet", _rename, ("spec", "replicas"), "replica", id="fleet-unknown-field"),
    pytest.param("Fleet", _set, ("spec", "scheduling"), "packed", id="fleet-scheduling-enum"),
    pytest.param("Fleet", _set, ("spec", "replicas"), "3", id="fleet-replicas-string"),
    pytest.param("Fleet", _set, ("spec", "ports", 0, "portPolicy"), "static", id="port-policy-enum"),
    pytest.param("Fleet", _set, ("spec", "ports", 0, "protocol"), "SCTP", id="port-protocol-enum"),
    pytest.param("Fleet", _rename, ("spec", "ports", 0, "name"), "nmae", id="port-unknown-field"),
    pytest.param("Fleet", _rename, ("spec", "template", "spec", "containers", 0, "image"), "imagee", id="template"),
    pytest.param("Fleet", _set, ("kind",), "Flet", id="kind-enum"),
    pytest.param("Fleet", _set, ("apiVersion",), "fleetgen.dev/v1", id="apiVersion"),
    pytest.param("NodePool", _set, ("spec", "pin"), "hostname", id="pool-pin-enum"),
    pytest.param("NodePool", _rename, ("spec", "reservedPorts"), "reservedPort", id="pool-unknown-field"),
    pytest.param("NodePool", _rename, ("spec", "nodes", 0, "address"), "adress", id="node-unknown-field"),
    pytest.param("NodePool", _set, ("spec", "nodes", 0, "unschedulable"), "yes", id="node-bool-string"),
]


@pytest.mark.parametrize(("kind", "change", "path", "value"), INVALID)
def test_invalid_documents_fail_the_schema(kind: str, change: Any, path: tuple[str | int, ...], value: Any) -> None:
    document = copy.deepcopy(example_documents()[kind])
    assert validator().is_valid(document)
    change(document, path, value)
    assert not validator().is_valid(document)
