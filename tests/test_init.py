"""`fleetgen init`: a new fleet repository that renders, checks, and whose workflow passes actionlint."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from test_workflows import actionlint

from generator.cli import cli
from generator.edits.scaffold import SCHEMA, TEMPLATES, WORKFLOW, default_requirement
from generator.kube import crds
from generator.manifests.delivery import DELIVERY_FOLDER


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


@pytest.fixture
def empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "Star Fall"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def test_init_then_render_then_check_succeed_in_an_empty_folder(empty: Path) -> None:
    code, output = run("init", "--repo-url", "https://git.example.com/games/starfall.git")
    assert code == 0, output
    assert sorted(str(p.relative_to(empty)) for p in empty.rglob("*") if p.is_file()) == sorted([*TEMPLATES, SCHEMA])
    code, output = run("render")
    assert code == 0, output
    assert "example: 4 servers on 2 nodes, 2 units" in output
    assert run("check") == (0, "rendered: up to date\n")
    units = sorted(p.parent.name for p in (empty / "rendered" / "example").glob("*/manifest.yaml"))
    assert units == ["arena-0", "network"]


def test_without_repo_url_init_leaves_a_placeholder_that_render_warns_about_and_check_refuses(empty: Path) -> None:
    code, output = run("init")
    assert code == 0, output
    code, output = run("render")
    assert code == 0 and "fleets/gitops.yaml:10:12: warning: repoURL is still the placeholder" in output
    code, output = run("check")
    assert code == 1 and "fleets/gitops.yaml:10:12: error: repoURL is still the placeholder" in output


def test_the_scaffolded_delivery_objects_name_the_repository_and_validate(empty: Path) -> None:
    run("init", "--repo-url", "https://git.example.com/games/starfall.git")
    run("render")
    objects = [
        doc
        for path in sorted((empty / "rendered" / DELIVERY_FOLDER).rglob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
    ]
    assert [(obj["kind"], obj["metadata"]["name"]) for obj in objects] == [
        ("Application", "star-fall-example-network"),
        ("ApplicationSet", "star-fall-example"),
        ("Kustomization", "star-fall-example-network"),
        ("Kustomization", "star-fall-example-arena-0"),
    ]
    assert objects[0]["spec"]["source"]["repoURL"] == "https://git.example.com/games/starfall.git"
    assert all(crds.validate_object(obj) == [] for obj in objects)


def test_the_scaffolded_workflow_passes_actionlint_and_pins_this_fleetgen(empty: Path) -> None:
    run("init")
    result = actionlint(empty / WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr
    env = yaml.safe_load((empty / WORKFLOW).read_text())["env"]
    assert env["FLEETGEN_REQUIREMENT"] == default_requirement()
    run("init", "elsewhere", "--install-from", "fleetgen @ git+https://github.com/acme/fleetgen@v0.1.0")
    env = yaml.safe_load((empty / "elsewhere" / WORKFLOW).read_text())["env"]
    assert env["FLEETGEN_REQUIREMENT"] == "fleetgen @ git+https://github.com/acme/fleetgen@v0.1.0"


def test_init_never_overwrites_a_file(empty: Path) -> None:
    (empty / "README.md").write_text("ours\n")
    code, output = run("init")
    assert code == 0 and "README.md: exists, left alone" in output
    assert (empty / "README.md").read_text() == "ours\n"
    before = {p: p.read_bytes() for p in empty.rglob("*") if p.is_file()}
    code, output = run("init")
    assert code == 0 and "wrote 0 files" in output
    assert {p: p.read_bytes() for p in empty.rglob("*") if p.is_file()} == before


def test_the_scaffolded_schema_is_what_fleetgen_schema_prints(empty: Path) -> None:
    run("init")
    assert (empty / SCHEMA).read_text() == run("schema")[1]
