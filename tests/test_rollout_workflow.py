"""The `rollout` workflow `fleetgen init` writes: actionlint-clean, pinned, least-privileged, and its steps, run
as GitHub runs them (bash -e) in a clone of a repository made by init, with kubectl and gh stood in for:
a pull request per wave while the servers on the new revision are ok, none when one cannot pull its image."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from test_init import git, run, steps_env
from test_render import documents
from test_status import pod_list, served, the_pod, waiting
from test_workflows import PINNED, actionlint, run_step, step_script

from generator.edits.scaffold import ROLLOUT_WORKFLOW

BRANCH = "fleetgen/rollout-next-wave"
COMMIT = ("-c", "user.name=Ops", "-c", "user.email=ops@example.com", "commit", "-q")
STEPS = ("Wait while a wave's pull request is open", "Read the live Pods", "Put the next wave in the locks")


def scaffolded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *options: str) -> Path:
    """A repository `fleetgen init` made, as the working directory."""
    folder = tmp_path / "fleets-repo"
    folder.mkdir()
    monkeypatch.chdir(folder)
    assert run("init", "--repo-url", "https://git.example.com/games/fleets.git", *options)[0] == 0
    return folder


def workflow(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True)  # PyYAML reads the `on` key as True (YAML 1.1)
    return data


def test_init_writes_a_rollout_workflow_that_is_actionlint_clean_pinned_and_least_privileged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = scaffolded(tmp_path, monkeypatch) / ROLLOUT_WORKFLOW
    result = actionlint(path)
    assert result.returncode == 0, result.stdout + result.stderr
    uses = [line for line in path.read_text().splitlines() if line.lstrip().startswith(("uses:", "- uses:"))]
    assert uses and all(PINNED.match(line) for line in uses), uses
    data = workflow(path)
    assert set(data["on"]) == {"schedule", "workflow_dispatch"}
    assert data["permissions"] == {}
    (job,) = data["jobs"].values()
    assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
    checkout = next(step for step in job["steps"] if step.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["persist-credentials"] is False
    assert "${{ secrets.KUBECONFIG }}" in path.read_text()


def stub(folder: Path, name: str, script: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text("#!/bin/sh\n" + script)
    (folder / name).chmod(0o755)


def rolled_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, str]]:
    """A repository made by init whose arena took a new image (wave 1 rendered, merged, pushed to origin), and a
    runner's clone of it with kubectl and gh stood in for, and the environment the steps get."""
    folder = scaffolded(tmp_path, monkeypatch, "--install-from", "fleetgen==0.1.0")
    run("render")
    arena = folder / "fleets/example/arena.yaml"
    arena.write_text(arena.read_text().replace("server:1.0.0", "server:1.1.0"))
    run("render")
    git(folder, "init", "-q", "-b", "main")
    git(folder, "add", "-A")
    git(folder, *COMMIT, "-m", "arena 1.1.0: wave 1")
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(folder), str(origin))
    clone = tmp_path / "runner"
    git(tmp_path, "clone", "-q", f"file://{origin}", str(clone))
    stubs, temp = tmp_path / "stubs", tmp_path / "runner-temp"
    temp.mkdir()
    stub(stubs, "kubectl", f'echo "$KUBECONFIG $*" > {tmp_path}/kubectl-args\ncat {tmp_path}/pods.json\n')
    # gh: no pull request open; `pr create` is recorded.
    stub(stubs, "gh", f'case "$1 $2" in "pr create") echo "$*" > {tmp_path}/gh-create;; esac\n')
    env = steps_env(tmp_path) | {
        "PATH": f"{stubs}:{steps_env(tmp_path)['PATH']}",
        "RUNNER_TEMP": str(temp),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "BRANCH": BRANCH,
        "FLEETS": "",
        "GH_TOKEN": "token",
        "KUBECONFIG_TEXT": "apiVersion: v1\nkind: Config\n",
        "GIT_CONFIG_GLOBAL": str(tmp_path / "gitconfig"),
    }
    return clone, env


def live_pods(clone: Path, tmp_path: Path, *broken: str) -> None:
    pods = [served(doc) for doc in documents(clone / "rendered") if doc["kind"] == "Pod"]
    for name in broken:
        waiting("ImagePullBackOff", 'Back-off pulling image "registry.example.com/my-game/server:1.1.0"')(
            the_pod(pods, name)
        )
    (tmp_path / "pods.json").write_text(json.dumps(pod_list(pods)))


def steps(clone: Path, env: dict[str, str], names: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    for name in names:
        result = run_step(step_script(clone / ROLLOUT_WORKFLOW, name), clone, env)
        if result.returncode:
            return result
    return result


def test_the_rollout_workflow_opens_a_pull_request_with_the_next_wave(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clone, env = rolled_out(tmp_path, monkeypatch)
    live_pods(clone, tmp_path)
    result = steps(clone, env, (*STEPS, "Open the wave's pull request"))
    assert result.returncode == 0, result.stdout + result.stderr
    kubeconfig, *args = (tmp_path / "kubectl-args").read_text().split(" ", 1)
    assert args == ["get pods --all-namespaces --selector app.kubernetes.io/managed-by=fleetgen --output json\n"]
    assert kubeconfig == env["RUNNER_TEMP"] + "/kubeconfig" and not Path(kubeconfig).exists()
    assert "changed=true" in (tmp_path / "output").read_text()
    pushed = subprocess.run(
        ["git", "show", f"{BRANCH}:fleets/example/allocations.lock"],
        cwd=tmp_path / "origin.git",
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert re.search(r"^@fleet arena target=[0-9a-f]{10} wave=2 previous=[0-9a-f]{10}$", pushed, re.MULTILINE)
    created = (tmp_path / "gh-create").read_text()
    assert created.startswith(f"pr create --head {BRANCH} --title Rollout: the next wave --body-file ")
    body = Path(created.split("--body-file ")[1].strip()).read_text()
    assert body.startswith("## fleetgen plan") and "- arena: wave 2 of 4 to " in body


def test_the_rollout_workflow_stops_when_a_server_on_the_new_revision_is_not_ok(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clone, env = rolled_out(tmp_path, monkeypatch)
    live_pods(clone, tmp_path, "arena-0")
    result = steps(clone, env, STEPS)
    assert result.returncode == 1
    assert "::error title=The next wave waits::" in result.stdout
    assert "arena-0 failed (ImagePullBackOff" in result.stderr
    assert git_status(clone) == ""
    assert not (tmp_path / "gh-create").exists()


def test_the_rollout_workflow_waits_while_a_wave_is_in_review(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clone, env = rolled_out(tmp_path, monkeypatch)
    stub(tmp_path / "stubs", "gh", "echo 12\n")
    result = run_step(step_script(clone / ROLLOUT_WORKFLOW, STEPS[0]), clone, env)
    assert result.returncode == 0
    assert "::notice title=A wave waits for review::merge or close pull request #12 first" in result.stdout
    assert "number=12" in (tmp_path / "output").read_text()
    later = workflow(clone / ROLLOUT_WORKFLOW)["jobs"]["next-wave"]["steps"][2:]
    assert all("steps.open.outputs.number == ''" in step["if"] or "steps.wave" in step["if"] for step in later)


def git_status(folder: Path) -> str:
    return subprocess.run(
        ["git", "status", "--porcelain"], cwd=folder, capture_output=True, text=True, check=True
    ).stdout
