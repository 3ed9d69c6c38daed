"""A key with no value (null) anywhere Kubernetes expects a mapping or a list is refused at its line.

`metadata:` alone under a template once passed `validate` and crashed `render`; the paths here come from
Kubernetes' own PodTemplateSpec schema, so every object or list field a template may hold is tried.
"""

from __future__ import annotations

import itertools
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.cli import cli
from generator.kube import api

ROOT = Path(__file__).resolve().parent.parent
FLEET = ROOT / "fleets" / "eu-west-1" / "ranked.yaml"
_REF = "#/$defs/"


def _resolve(schema: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = definitions[schema["$ref"].removeprefix(_REF)]
    return schema


def structured_paths(depth: int = 5) -> list[tuple[str | int, ...]]:
    """Paths in a PodTemplateSpec to every field whose value is an object or a list, to `depth` levels
    (a list's first item stands for all of them)."""
    definitions = api.definitions(api.latest_version())
    found: list[tuple[str | int, ...]] = []

    def walk(schema: dict[str, Any], path: tuple[str | int, ...]) -> None:
        schema = _resolve(schema, definitions)
        if len(path) >= depth:
            return
        for name, field in sorted((schema.get("properties") or {}).items()):
            field = _resolve(field, definitions)
            types = field.get("type") if isinstance(field.get("type"), list) else [field.get("type")]
            if {"array", "object"} & set(types) or "properties" in field or "additionalProperties" in field:
                found.append((*path, name))
                if "array" in types and "items" in field:
                    walk(field["items"], (*path, name, 0))
                else:
                    walk(field, (*path, name))

    walk(definitions["io.k8s.api.core.v1.PodTemplateSpec"], ())
    return found


PATHS = structured_paths()


def with_null(template: dict[str, Any], path: tuple[str | int, ...]) -> dict[str, Any]:
    """The template with the field at `path` set to null, the mappings and lists on the way made as needed."""
    node: Any = template
    for part, after in itertools.pairwise(path):
        empty: Any = [] if isinstance(after, int) else {}
        if isinstance(part, int):
            if not node:
                node.append({})
            node = node[part]
        else:
            if not isinstance(node.get(part), dict | list):
                node[part] = empty
            node = node[part]
    if isinstance(path[-1], int):
        node.insert(0, None)
    else:
        node[path[-1]] = None
    return template


def test_the_schema_offers_the_fields_that_broke() -> None:
    assert ("metadata",) in PATHS and ("metadata", "labels") in PATHS
    assert ("spec", "containers", 0, "resources") in PATHS and ("spec", "securityContext") in PATHS


@settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PATHS))
def test_a_null_object_or_list_anywhere_in_a_template_is_refused_at_its_line(path: tuple[str | int, ...]) -> None:
    fleet = yaml.safe_load(FLEET.read_text())
    fleet["spec"]["template"] = with_null(fleet["spec"]["template"], path)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        shutil.copytree(ROOT / "fleets", root / "fleets")
        text = yaml.safe_dump(fleet, sort_keys=False)
        (root / "fleets/eu-west-1/ranked.yaml").write_text(text)
        for command in ("validate", "render"):
            result = CliRunner().invoke(
                cli,
                [command, "--fleets", str(root / "fleets"), "--out", str(root / "out")][
                    : 3 if command == "validate" else 5
                ],
            )
            assert result.exit_code == 1, (path, result.output)
            positions = re.findall(r"ranked\.yaml:(\d+):(\d+): error: ", result.stderr)
            assert positions, (path, result.stderr)
            assert "hint: " in result.stderr
        assert not (root / "out").exists()
