"""`fleetgen init`: a new fleet repository that renders, checks, and whose workflow passes actionlint."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from test_render import set_replicas
from test_workflows import actionlint, run_step, step_script

from generator.cli import cli
from generator.edits.scaffold import SCHEMA, TEMPLATES, WORKFLOW
from generator.kube import crds
from generator.manifests.delivery_check import DELIVERY_FOLDER


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


def test_the_scaffolded_workflow_passes_actionlint_and_installs_what_install_from_says(empty: Path) -> None:
    run("init", "--repo-url", "https://git.example.com/games/fleets.git")
    result = actionlint(empty / WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr
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
    run("init", "--repo-url", "https://git.example.com/games/fleets.git")
    assert (empty / SCHEMA).read_text() == run("schema")[1]


COMMIT = "4f3c2b1a09e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4"
WHEEL = "https://files.example.com/fleetgen/fleetgen-0.1.0-py3-none-any.whl"
DIGEST = "9b0c" * 16
BARE_NAME = re.compile(r"fleetgen\s*(==.*)?")


def install_record(site: Path, direct_url: dict | None) -> Path:
    """A fleetgen distribution as pip leaves it in site-packages: METADATA, and direct_url.json unless it
    came from an index (PEP 610). It comes first on sys.path, so it is the fleetgen `init` asks about."""
    record = site / "fleetgen-0.1.0.dist-info"
    record.mkdir(parents=True)
    (record / "METADATA").write_text("Metadata-Version: 2.1\nName: fleetgen\nVersion: 0.1.0\n")
    if direct_url is not None:
        (record / "direct_url.json").write_text(json.dumps(direct_url))
    return site


def run_install_step(workflow: Path, requirement: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    """The install step, with a `python` that records what pip would have installed."""
    stub = tmp_path / "stub-bin"
    stub.mkdir(exist_ok=True)
    record = tmp_path / "pip-installed"
    (stub / "python").write_text(f'#!/bin/sh\necho "$*" > {record}\n')
    (stub / "python").chmod(0o755)
    env = {"PATH": f"{stub}:/usr/bin:/bin", "FLEETGEN_REQUIREMENT": requirement}
    return run_step(step_script(workflow, "Install fleetgen"), tmp_path, env), record


@pytest.mark.parametrize(
    ("direct_url", "requirement"),
    [
        (
            {
                "url": "https://github.com/acme/fleetgen.git",
                "vcs_info": {"vcs": "git", "commit_id": COMMIT, "requested_revision": "v0.1.0"},
            },
            f"fleetgen @ git+https://github.com/acme/fleetgen.git@{COMMIT}",
        ),
        (
            {
                "url": "https://github.com/acme/tools",
                "subdirectory": "fleetgen",
                "vcs_info": {"vcs": "git", "commit_id": COMMIT},
            },
            f"fleetgen @ git+https://github.com/acme/tools@{COMMIT}#subdirectory=fleetgen",
        ),
        ({"url": WHEEL, "archive_info": {"hashes": {"sha256": DIGEST}}}, f"fleetgen @ {WHEEL}#sha256={DIGEST}"),
        ({"url": WHEEL, "archive_info": {"hash": f"sha256={DIGEST}"}}, f"fleetgen @ {WHEEL}#sha256={DIGEST}"),
    ],
    ids=["git-commit", "git-subdirectory", "wheel-url", "wheel-url-legacy-hash"],
)
def test_init_pins_the_workflow_to_where_this_fleetgen_came_from(
    empty: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, direct_url: dict, requirement: str
) -> None:
    monkeypatch.syspath_prepend(str(install_record(tmp_path / "site", direct_url)))
    result = CliRunner().invoke(cli, ["init"])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr
    assert yaml.safe_load((empty / WORKFLOW).read_text())["env"]["FLEETGEN_REQUIREMENT"] == requirement
    assert requirement in (empty / "README.md").read_text()
    assert actionlint(empty / WORKFLOW).returncode == 0
    step, installed = run_install_step(empty / WORKFLOW, requirement, tmp_path)
    assert step.returncode == 0, step.stdout + step.stderr
    assert installed.read_text() == f"-m pip install {requirement}\n"


@pytest.mark.parametrize(
    "direct_url",
    [
        {"url": "file:///home/me/src/fleetgen", "dir_info": {"editable": True}},
        {"url": "file:///home/me/src/fleetgen", "dir_info": {}},
        {"url": "file:///home/me/src/fleetgen", "vcs_info": {"vcs": "git", "commit_id": COMMIT}},
        {"url": "file:///tmp/fleetgen-0.1.0-py3-none-any.whl", "archive_info": {"hashes": {"sha256": DIGEST}}},
        None,
    ],
    ids=["editable-folder", "folder", "local-clone", "local-wheel", "package-index"],
)
def test_init_warns_and_the_workflow_fails_at_once_when_the_source_is_unknown(
    empty: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, direct_url: dict | None
) -> None:
    monkeypatch.syspath_prepend(str(install_record(tmp_path / "site", direct_url)))
    result = CliRunner().invoke(cli, ["init"])
    assert result.exit_code == 0, result.output
    assert "warning" in result.stderr and "--install-from" in result.stderr
    assert "FLEETGEN_REQUIREMENT" in result.stderr
    assert (empty / "fleets/example/pool.yaml").is_file()
    workflow = (empty / WORKFLOW).read_text()
    requirement = yaml.safe_load(workflow)["env"]["FLEETGEN_REQUIREMENT"]
    assert requirement == "${{ vars.FLEETGEN_REQUIREMENT }}"
    installs = re.findall(r"pip install ([^#\n]*)", workflow + (empty / "README.md").read_text())
    assert {command.strip() for command in installs} == {'"$FLEETGEN_REQUIREMENT"'}
    assert actionlint(empty / WORKFLOW).returncode == 0
    # An unset repository variable is an empty string: the step stops before pip, saying what to set.
    step, installed = run_install_step(empty / WORKFLOW, "", tmp_path)
    assert step.returncode == 1
    assert step.stdout.startswith("::error") and "FLEETGEN_REQUIREMENT" in step.stdout
    assert not installed.exists()


def test_init_from_a_local_checkout_never_writes_a_bare_name(empty: Path) -> None:
    """This very test run: fleetgen is installed editable from its checkout, as its developers run it."""
    result = CliRunner().invoke(cli, ["init"])
    assert result.exit_code == 0 and "--install-from" in result.stderr
    requirement = yaml.safe_load((empty / WORKFLOW).read_text())["env"]["FLEETGEN_REQUIREMENT"]
    assert not BARE_NAME.fullmatch(requirement)


def test_init_warns_when_install_from_names_a_package_on_an_index(empty: Path) -> None:
    result = CliRunner().invoke(cli, ["init", "--install-from", "fleetgen==0.1.0"])
    assert result.exit_code == 0, result.output
    assert "warning: 'fleetgen==0.1.0' is a name on a package index" in result.stderr
    assert "hint: pin one exact fleetgen" in result.stderr
    result = CliRunner().invoke(cli, ["init", "again", "--install-from", f"fleetgen @ {WHEEL}#sha256={DIGEST}"])
    assert result.exit_code == 0 and "warning" not in result.stderr


def git(folder: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, check=True)


def runner_clone(source: Path, branch: str, target: Path) -> Path:
    """What actions/checkout with fetch-depth 2 leaves: the commit and its parents, nothing else."""
    git(source, "clone", "-q", "--depth", "2", "--branch", branch, f"file://{source}", str(target))
    return target


def steps_env(tmp_path: Path) -> dict[str, str]:
    """The runner's environment: fleetgen installed (this one), git, and the job summary file."""
    fleetgen = Path(sys.executable).parent
    return {"PATH": f"{fleetgen}:/usr/bin:/bin", "HOME": str(tmp_path), "GITHUB_STEP_SUMMARY": str(tmp_path / "sum")}


@pytest.mark.parametrize("rendered", [True, False], ids=["rendered", "not-rendered"])
def test_the_scaffolded_workflow_checks_and_plans_a_pull_request_as_github_checks_it_out(
    empty: Path, tmp_path: Path, rendered: bool
) -> None:
    """A pull request to a repository made by init: GitHub checks out the pull request merged into the base
    branch (base first); the steps run there, as bash -e."""
    run("init", "--repo-url", "https://git.example.com/games/fleets.git")
    run("render")
    git(empty, "init", "-q", "-b", "main")
    git(empty, "add", "-A")
    git(empty, "-c", "user.name=Ops", "-c", "user.email=ops@example.com", "commit", "-q", "-m", "Fleets")
    git(empty, "switch", "-q", "-c", "more-arenas")
    set_replicas(empty / "fleets/example/arena.yaml", "arena", 6)
    if rendered:
        run("render")
    git(empty, "-c", "user.name=Ops", "-c", "user.email=ops@example.com", "commit", "-q", "-am", "6 arenas")
    git(empty, "switch", "-q", "--detach", "main")
    git(empty, "-c", "user.name=GitHub", "-c", "user.email=gh@example.com", "merge", "-q", "--no-ff", "more-arenas")
    git(empty, "branch", "pull-1-merge")
    clone, env = runner_clone(empty, "pull-1-merge", tmp_path / "runner"), steps_env(tmp_path)
    workflow = clone / WORKFLOW
    assert run_step(step_script(workflow, "Validate the fleet files"), clone, env).returncode == 0
    check = run_step(step_script(workflow, "Check that rendered/ and the locks are current"), clone, env)
    if rendered:
        assert check.returncode == 0, check.stdout + check.stderr
    else:
        assert check.returncode == 1
        assert "--- a/fleets/example/allocations.lock" in check.stdout and "+arena 5 " in check.stdout
        assert "::error title=rendered/ is stale::" in check.stdout
    plan = run_step(step_script(workflow, "Add the plan to the job summary"), clone, env)
    assert plan.returncode == 0, plan.stderr
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    assert summary.startswith("## fleetgen plan") and "| `example` | 6 | 2 | 0 | 0 | 0 | 0 |" in summary
    assert "- `arena-4`" in summary and "- `arena-5`" in summary


def test_the_scaffolded_workflow_on_the_first_push_to_main_says_there_is_no_plan(empty: Path, tmp_path: Path) -> None:
    run("init", "--repo-url", "https://git.example.com/games/fleets.git")
    run("render")
    git(empty, "init", "-q", "-b", "main")
    git(empty, "add", "-A")
    git(empty, "-c", "user.name=Ops", "-c", "user.email=ops@example.com", "commit", "-q", "-m", "Fleets")
    clone, env = runner_clone(empty, "main", tmp_path / "runner"), steps_env(tmp_path)
    for name in ("Validate the fleet files", "Check that rendered/ and the locks are current"):
        assert run_step(step_script(clone / WORKFLOW, name), clone, env).returncode == 0
    plan = run_step(step_script(clone / WORKFLOW, "Add the plan to the job summary"), clone, env)
    assert plan.returncode == 0, plan.stderr
    assert Path(env["GITHUB_STEP_SUMMARY"]).read_text() == "No plan: this is the repository's first commit.\n"


def test_the_scaffolded_workflow_reports_on_every_pull_request_and_on_main(empty: Path) -> None:
    """No paths filter: a required check must report on pull requests that touch no fleet file."""
    run("init", "--repo-url", "https://git.example.com/games/fleets.git")
    triggers = yaml.safe_load((empty / WORKFLOW).read_text())[True]
    assert triggers == {"pull_request": None, "push": {"branches": ["main"]}, "merge_group": None}


def stub(folder: Path, name: str, script: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text("#!/bin/sh\n" + script)
    (folder / name).chmod(0o755)


def test_the_nodes_sync_workflow_opens_one_pull_request_and_none_when_nothing_changed(
    empty: Path, tmp_path: Path
) -> None:
    """The workflow's steps as the runner runs them (bash -e), with kubectl printing a GKE Node list and gh
    recording what it is asked; origin is a bare repository, as GitHub's would be."""
    run("init", "--repo-url", "https://git.example.com/games/fleets.git")
    workflow = empty / ".github/workflows/nodes-sync.yml"
    assert actionlint(workflow).returncode == 0
    pool = empty / "fleets/example/pool.yaml"
    discovery = "  nodeDiscovery:\n    selector: {cloud.google.com/gke-nodepool: game-eu}\n"
    pool.write_text(pool.read_text().replace("  nodes:\n", discovery + "  nodes:\n"))
    assert run("render")[0] == 0
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    for args in (("init", "-q", "-b", "main"), ("add", "-A"), ("commit", "-q", "-m", "Fleets"),
                 ("remote", "add", "origin", str(origin)), ("push", "-q", "origin", "main")):  # fmt: skip
        git(empty, "-c", "user.name=Ops", "-c", "user.email=ops@example.com", *args)
    bin_dir, calls = tmp_path / "stubs", tmp_path / "gh-calls"
    nodes = Path(__file__).parent / "fixtures/nodes/gke.json"
    stub(bin_dir, "kubectl", f'[ "$*" = "get nodes -o json" ] && cat {nodes}\n')
    stub(bin_dir, "gh", f'echo "$*" >> {calls}\n')
    env = steps_env(tmp_path)
    env |= {"PATH": f"{bin_dir}:{env['PATH']}", "RUNNER_TEMP": str(tmp_path), "GITHUB_OUTPUT": str(tmp_path / "out")}
    env |= {"FLEETGEN_KUBECONFIG": "apiVersion: v1\nkind: Config\n", "SYNC_BRANCH": "fleetgen/nodes-sync"}
    env |= {"GH_TOKEN": "token"}
    names = ("Find the pools to sync", "Get the cluster's Nodes", "Sync the pools' nodes",
             "Open or update the pull request")  # fmt: skip
    for name in names:
        result = run_step(step_script(workflow, name), empty, env)
        assert result.returncode == 0, (name, result.stdout, result.stderr)
    assert (tmp_path / "out").read_text() == "sync=true\n"
    synced = subprocess.run(
        ["git", "--git-dir", str(origin), "show", "fleetgen/nodes-sync:fleets/example/pool.yaml"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "gke-prod-eu-game-eu-5f2a9c1e-7xkq" in synced and "gs-node-1" not in synced
    assert "default-pool" not in synced
    (created,) = calls.read_text().splitlines()[1:]
    assert created.startswith("pr create --head fleetgen/nodes-sync --base main ")
    # The next hour, with the pull request not merged yet: main is as before, the same Nodes: the same change
    # is pushed again and the open pull request's text is updated; with nothing to change, nothing at all.
    git(empty, "switch", "-q", "main")
    git(empty, "reset", "-q", "--hard", "origin/main")
    stub(bin_dir, "gh", f'echo "$*" >> {calls}\n[ "$1 $2" = "pr list" ] && echo 7\nexit 0\n')
    calls.unlink()
    for name in names:
        assert run_step(step_script(workflow, name), empty, env).returncode == 0
    assert calls.read_text().splitlines()[1].startswith("pr edit fleetgen/nodes-sync --body-file ")
    git(empty, "switch", "-q", "main")
    git(empty, "reset", "-q", "--hard", "fleetgen/nodes-sync")  # the pull request merged
    assert run_step(step_script(workflow, "Sync the pools' nodes"), empty, env).returncode == 0
    calls.unlink()
    quiet = run_step(step_script(workflow, "Open or update the pull request"), empty, env)
    assert quiet.returncode == 0 and "no pull request" in quiet.stdout
    assert not calls.exists()
