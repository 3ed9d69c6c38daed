"""`plan --base REF`: the fleet files against rendered/ and the locks at a git revision, through the real CLI
in a real git repository whose fleets folder is not at git's top level."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from test_render import EXAMPLES, ROOT, cordon_fra_gs_01, run, set_replicas, snapshot_of


def git(top: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=top, capture_output=True, text=True, check=True).stdout


@pytest.fixture
def deploy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A monorepo whose `deploy/` folder holds the examples, rendered and committed on main; the working
    directory is `deploy/`."""
    top = tmp_path / "monorepo"
    folder = top / "deploy"
    shutil.copytree(EXAMPLES, folder / "fleets")
    shutil.copytree(ROOT / "rendered", folder / "rendered")
    (top / "README.md").write_text("Not fleetgen's.\n")
    (folder / "rendered/extras").mkdir()
    (folder / "rendered/extras/quota.yaml").write_text("kind: ResourceQuota  # someone else's, left alone\n")
    git(top, "init", "-q", "-b", "main")
    git(top, "config", "user.email", "ops@example.com")
    git(top, "config", "user.name", "Game Ops")
    monkeypatch.chdir(folder)
    assert run("render")[0] == 0
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "Fleets as they run")
    git(top, "switch", "-q", "-c", "scale-ranked")
    return folder


def change_fleets(folder: Path) -> None:
    """Servers added, removed and moved: ranked to 8, relay to none (its unit goes), a premium node cordoned."""
    set_replicas(folder / "fleets/eu-west-1/ranked.yaml", "ranked", 8)
    set_replicas(folder / "fleets/us-east-1/fleets.yaml", "relay", 0)
    cordon_fra_gs_01(folder)


@pytest.mark.parametrize("output_format", ["text", "markdown"])
def test_plan_base_after_render_tells_what_plan_told_before_it(deploy: Path, output_format: str) -> None:
    change_fleets(deploy)
    code, before_render, stderr = run("plan", "--format", output_format)
    assert code == 0, stderr
    assert "ranked-7" in before_render and "relay-2" in before_render and "us-east-1/relay-0/" in before_render
    assert "extras" not in before_render
    run("render")
    git(deploy.parent, "commit", "-q", "-am", "Scale ranked, retire relay, cordon fra-gs-01")
    # Without --base, plan compares with the tree render just wrote: nothing left to do.
    assert run("plan", "--format", output_format)[1] != before_render
    untouched = snapshot_of(deploy.parent)
    code, stdout, stderr = run("plan", "--base", "main", "--format", output_format)
    assert (code, stderr) == (0, "")
    assert stdout == before_render
    assert snapshot_of(deploy.parent) == untouched
    assert git(deploy.parent, "status", "--porcelain") == ""


def test_plan_base_reads_the_revision_not_the_working_tree(deploy: Path) -> None:
    """Uncommitted files and the files of other commits do not count: only the tree at REF."""
    change_fleets(deploy)
    run("render")
    code, stdout, _ = run("plan", "--base", "HEAD")  # the branch has no commit of its own yet: HEAD is main
    assert code == 0
    assert "ranked-6" in stdout and "casual-0: fra-gs-01 -> " in stdout
    git(deploy.parent, "commit", "-q", "-am", "Scale")
    assert "pool eu-west-1: no changes" in run("plan", "--base", "HEAD")[1]


def test_plan_base_names_an_unknown_revision_and_exits_1(deploy: Path) -> None:
    for ref in ("origin/main", "--output=plan.txt"):
        code, stdout, stderr = run("plan", "--base", ref)
        assert code == 1 and stdout == ""
        assert f"--base {ref}: error: no commit {ref!r} in the git repository at {deploy.parent}" in stderr
        assert "hint: " in stderr and "git fetch" in stderr
        assert "Traceback" not in stderr
    assert not (deploy / "plan.txt").exists()


def test_plan_base_outside_a_git_repository_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "fleets")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    code, stdout, stderr = run("plan", "--base", "main")
    assert code == 1 and stdout == ""
    assert f"--base main: error: {tmp_path} is not in a git repository" in stderr
    assert "hint: " in stderr and "Traceback" not in stderr


def test_plan_base_says_when_git_is_missing_or_out_is_outside_the_repository(
    deploy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, stderr = run("plan", "--base", "main", "--out", str(tmp_path / "elsewhere"))
    assert code == 1
    assert f"--base main: error: --out {tmp_path / 'elsewhere'} is outside the git repository at" in stderr
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs"))
    code, _, stderr = run("plan", "--base", "main")
    assert code == 1 and "--base main: error: git is not installed" in stderr and "Traceback" not in stderr


def test_plan_base_lists_the_delivery_objects_a_merge_removes(deploy: Path) -> None:
    """The delivery objects are read at the revision too: a branch that rendered without gitops.yaml (with
    the option) shows, against main, the Applications and Kustomizations it takes away."""
    (deploy / "fleets/gitops.yaml").unlink()
    assert run("render", "--allow-delivery-removal")[0] == 0
    git(deploy.parent, "add", "-A")
    git(deploy.parent, "commit", "-q", "-m", "No more delivery objects")
    assert "ApplicationSet" not in run("plan")[1]
    code, stdout, _ = run("plan", "--base", "main")
    assert code == 0
    assert "ApplicationSet" in stdout and "Kustomization" in stdout
    assert "removed" in stdout
