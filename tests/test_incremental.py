"""Reusing unchanged pools (the stamp's per-pool digests): a render that reuses pools must write, print and
refuse exactly what a render from nothing would, and must reuse only what is truly unchanged."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.cli import cli
from generator.kube import api as kube
from generator.settings import Settings
from generator.tree.digest_cache import UNCACHED
from generator.tree.stamp import STAMP_FILE, prior, read_stamp, survey

ROOT = Path(__file__).resolve().parent.parent
EU, US = "eu-west-1", "us-east-1"
US_NODE = "ip-10-0-1-21.ec2.internal"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example repository, rendered once with a warning in us-east-1 (so its record carries one)."""
    work = tmp_path / "work"
    shutil.copytree(ROOT / "fleets", work / "fleets")
    shutil.copytree(ROOT / "rendered", work / "rendered")
    pool = work / "fleets/us-east-1/pool.yaml"
    pool.write_text(pool.read_text().replace("pods: 58", "pods: 3"))
    monkeypatch.chdir(work)
    code, _, stderr = run("render")
    assert code == 0 and "above 80%" in stderr
    return work


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def tree(root: Path) -> dict[str, bytes]:
    """Every file and link below root (links as their target), by relative path."""
    found = {}
    for path in sorted(root.rglob("*")):
        relative = str(path.relative_to(root))
        if path.is_symlink():
            found[relative] = b"-> " + os.readlink(path).encode()
        elif path.is_file():
            found[relative] = path.read_bytes()
    return found


def reused_pools(repo: Path, kubernetes_version: str = kube.latest_version()) -> list[str]:
    """The pools the stamp vouches for, as render and check see them."""
    key = Settings(repo / "fleets", repo / "rendered", (), kubernetes_version).stamp_key
    return [record.name for record in prior(repo / "fleets", repo / "rendered", key).reused]


def from_nothing(repo: Path, command: str) -> tuple[tuple[int, str, str], dict[str, bytes]]:
    return from_nothing_run(repo, [command])


def from_nothing_run(repo: Path, command: list[str]) -> tuple[tuple[int, str, str], dict[str, bytes]]:
    """`command` in a copy of the repository without its stamp: the result a reusing run must match."""
    twin = repo.parent / "twin"
    shutil.rmtree(twin, ignore_errors=True)
    shutil.copytree(repo, twin, symlinks=True)
    (twin / "rendered" / STAMP_FILE).unlink()
    os.chdir(twin)
    try:
        return run(*command), tree(twin)
    finally:
        os.chdir(repo)


def bump_casual(repo: Path) -> None:
    replace_in(repo / "fleets/eu-west-1/casual.yaml", "replicas: 4", "replicas: 5")


def cordon_eu_node(repo: Path) -> None:
    replace_in(
        repo / "fleets/eu-west-1/pool.yaml",
        "      labels: {tier: standard}\n",
        "      labels: {tier: standard}\n      unschedulable: true\n",
    )


def new_image(repo: Path) -> None:
    path = repo / "fleets/eu-west-1/ranked.yaml"
    text = path.read_text()
    head, marker, tail = text.partition("image: ")
    path.write_text(head + marker + "registry.example.com/other:9" + tail[tail.index("\n") :])


def lose_eu_lock(repo: Path) -> None:
    (repo / "fleets/eu-west-1/allocations.lock").unlink()


def tamper_reused_output(repo: Path) -> None:
    """A hand edit in the output of a pool whose fleet files did not change."""
    manifest = repo / "rendered/us-east-1/relay-0/manifest.yaml"
    manifest.write_bytes(manifest.read_bytes().replace(b"image: ", b"image: evil/", 1))


def tamper_reused_lock(repo: Path) -> None:
    path = repo / "fleets/us-east-1/allocations.lock"
    path.write_text(path.read_text() + "\n")


def add_pool(repo: Path) -> None:
    """A third pool: a copy of us-east-1 with its own name, namespace and nodes."""
    folder = repo / "fleets/ap-south-1"
    shutil.copytree(repo / "fleets/us-east-1", folder)
    (folder / "allocations.lock").unlink()
    pool = folder / "pool.yaml"
    pool.write_text(
        pool.read_text()
        .replace("name: us-east-1", "name: ap-south-1")
        .replace("game-servers-us", "game-servers-ap")
        .replace(".ec2.internal", ".ap.internal")
        .replace("198.51.100.", "192.0.2.")
    )
    fleets = folder / "fleets.yaml"
    fleets.write_text(fleets.read_text().replace("game-servers-us", "game-servers-ap"))


EDITS: dict[str, tuple[Callable[[Path], None], list[str]]] = {
    "one fleet +1 replica": (bump_casual, [US]),
    "a node cordoned": (cordon_eu_node, [US]),
    "a new image": (new_image, [US]),
    "a lock deleted": (lose_eu_lock, [US]),
    "a reused pool's output edited by hand": (tamper_reused_output, [EU]),
    "a reused pool's lock edited": (tamper_reused_lock, [EU]),
    "a pool added": (add_pool, [EU, US]),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_a_render_that_reuses_pools_writes_and_prints_what_a_render_from_nothing_does(repo: Path, edit: str) -> None:
    change, expected_reused = EDITS[edit]
    change(repo)
    assert reused_pools(repo) == expected_reused
    expected, expected_tree = from_nothing(repo, "render")
    assert run("render") == expected
    assert tree(repo) == expected_tree, "files, locks and the stamp are byte for byte a full render's"
    assert run("render")[1].startswith("wrote 0 files: nothing changed"), "and the next render is a no-op"


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_check_after_an_edit_reports_what_a_check_from_nothing_does(repo: Path, edit: str) -> None:
    EDITS[edit][0](repo)
    before = tree(repo)
    expected, _ = from_nothing(repo, "check")
    assert run("check") == expected
    assert expected[0] == 1 and tree(repo) == before


@pytest.mark.parametrize("edit", ["nothing", *sorted(EDITS)])
@pytest.mark.parametrize("output_format", ["text", "markdown"])
def test_plan_after_an_edit_says_what_a_plan_from_nothing_says(repo: Path, edit: str, output_format: str) -> None:
    """Reused pools are described from their records: servers, use, firewall quota cost, pod security."""
    if edit != "nothing":
        EDITS[edit][0](repo)
    before = tree(repo)
    command = ["plan", "--format", output_format]
    expected, _ = from_nothing_run(repo, command)
    assert run(*command) == expected
    assert expected[0] == 0 and tree(repo) == before


def test_a_delivery_removal_is_refused_and_planned_alike_when_other_pools_are_reused(repo: Path) -> None:
    replace_in(repo / "fleets/us-east-1/pool.yaml", "cluster: prod-us", "cluster: prod-us2")
    assert reused_pools(repo) == [EU]
    before = tree(repo)
    for command in (["render"], ["plan"], ["plan", "--format", "markdown"]):
        expected, _ = from_nothing_run(repo, command)
        assert run(*command) == expected
        assert "pool 'us-east-1' still has 5 servers" in expected[1] + expected[2]
    assert expected[0] == 0 and tree(repo) == before
    assert run("render")[0] == 1 and tree(repo) == before


@pytest.mark.parametrize("output_format", ["text", "markdown"])
def test_plan_lists_delivery_objects_of_reused_pools_as_a_plan_from_nothing_does(
    repo: Path, output_format: str
) -> None:
    """Every pool's digest matches, but rendered/_delivery/ was deleted: each reused pool's objects come back."""
    shutil.rmtree(repo / "rendered/_delivery")
    assert reused_pools(repo) == [EU, US]
    command = ["plan", "--format", output_format]
    expected, _ = from_nothing_run(repo, command)
    assert run(*command) == expected
    assert "added ApplicationSet argocd/starfall-eu-west-1" in expected[1]
    assert "added Kustomization flux-system/starfall-us-east-1-relay-0 (cluster prod-us)" in expected[1]


def test_a_warning_in_a_reused_pool_is_printed_as_a_full_render_prints_it(repo: Path) -> None:
    bump_casual(repo)
    code, _, stderr = run("render")
    assert code == 0 and "fleets/us-east-1/pool.yaml" in stderr and "above 80%" in stderr


def test_a_node_taken_from_a_reused_pool_is_refused_with_both_places(repo: Path) -> None:
    replace_in(repo / "fleets/eu-west-1/pool.yaml", "name: fra-gs-04", f"name: {US_NODE}")
    before = tree(repo)
    expected, _ = from_nothing(repo, "render")
    code, _, stderr = run("render")
    assert (code, stderr) == (expected[0], expected[2])
    assert code == 1 and f"node {US_NODE!r} already belongs to pool" in stderr and "pool.yaml:" in stderr
    assert tree(repo) == before


def test_pools_that_clash_only_after_a_merge_are_refused(repo: Path) -> None:
    """Two pull requests each give a node the same new name in a different pool, each renders (and each
    stamp vouches for its own pool), and git merges the stamps line by line: both pools' digests match,
    but together they are invalid. The records show the clash, so every pool is read again."""
    base = repo.parent / "base"
    shutil.copytree(repo, base)
    replace_in(repo / "fleets/eu-west-1/pool.yaml", "name: fra-gs-04", "name: shared-node")
    assert run("render")[0] == 0
    eu_line = _stamp_line(repo, EU)
    os.chdir(base)
    replace_in(base / "fleets/us-east-1/pool.yaml", f"name: {US_NODE}", "name: shared-node")
    assert run("render")[0] == 0
    us_line = _stamp_line(base, US)
    os.chdir(repo)
    shutil.rmtree(repo / "fleets/us-east-1")
    shutil.copytree(base / "fleets/us-east-1", repo / "fleets/us-east-1")
    shutil.rmtree(repo / "rendered/us-east-1")
    shutil.copytree(base / "rendered/us-east-1", repo / "rendered/us-east-1")
    stamp = repo / "rendered" / STAMP_FILE
    lines = stamp.read_text().splitlines()
    stamp.write_text("\n".join(us_line if f'"pool":"{US}"' in line else line for line in lines) + "\n")
    assert _stamp_line(repo, EU) == eu_line
    key = Settings(repo / "fleets", repo / "rendered", (), kube.latest_version()).stamp_key
    recorded = read_stamp(repo / "fleets", repo / "rendered").records
    now = survey(repo / "fleets", repo / "rendered", key).pools
    assert all(now[pool] in recorded[pool] for pool in (EU, US)), "each pool alone is vouched for"
    assert reused_pools(repo) == [], "together they are not"
    code, _, stderr = run("render")
    assert code == 1 and "node 'shared-node' already belongs to pool 'eu-west-1'" in stderr


def _stamp_line(repo: Path, pool: str) -> str:
    return next(
        line for line in (repo / "rendered" / STAMP_FILE).read_text().splitlines() if f'"pool":"{pool}"' in line
    )


@pytest.mark.parametrize(
    "garbage", ["", "fleetgen stamp v3\n", "fleetgen stamp v3\n{}\n", "fleetgen stamp v3\n[1]\n{\n"]
)
def test_a_damaged_stamp_means_a_render_from_nothing(repo: Path, garbage: str) -> None:
    bump_casual(repo)
    (repo / "rendered" / STAMP_FILE).write_text(garbage)
    assert reused_pools(repo) == []
    code, stdout, _ = run("render")
    assert code == 0 and "wrote 2 files" in stdout


def test_a_link_added_to_a_reused_pool_folder_is_seen(repo: Path) -> None:
    """A link is never followed; a render from nothing refuses one in its output, so reuse must notice it."""
    bump_casual(repo)
    (repo / "rendered/us-east-1/extra").symlink_to("/etc")
    assert reused_pools(repo) == []
    expected, _ = from_nothing(repo, "render")
    assert run("render") == expected
    assert expected[0] == 1 and "symbolic link" in expected[2]


def test_another_kubernetes_version_or_gitops_file_reuses_nothing(repo: Path) -> None:
    bump_casual(repo)
    assert reused_pools(repo) == [US]
    assert reused_pools(repo, "1.33") == []
    replace_in(repo / "fleets/gitops.yaml", "apiVersion", "# a comment\napiVersion")
    assert reused_pools(repo) == []
    expected, expected_tree = from_nothing(repo, "render")
    assert run("render") == expected and tree(repo) == expected_tree


def test_a_reused_pool_still_reports_what_its_firewall_quota_costs(repo: Path) -> None:
    pool = repo / "fleets/eu-west-1/pool.yaml"
    aws = "      - aws: {vpcID: vpc-0abc1234, maxRules: 2}\n"
    replace_in(pool, "      - networkPolicy:", aws + "      - networkPolicy:")
    assert run("render")[0] == 0
    tamper_reused_lock(repo)
    assert reused_pools(repo) == [EU]
    expected, _ = from_nothing_run(repo, ["plan"])
    assert run("plan") == expected
    assert "aws: 3983 open ports no server uses (to fit the quota)" in expected[1]


def test_a_fleet_file_behind_a_link_is_digested_by_what_it_leads_to(repo: Path) -> None:
    """The loader reads fleet files through links (inside the repository), so editing the file a link leads to
    must count."""
    shared = repo / "shared-fleets.yaml"
    fleets = repo / "fleets/us-east-1/fleets.yaml"
    shared.write_bytes(fleets.read_bytes())
    fleets.unlink()
    fleets.symlink_to("../../shared-fleets.yaml")  # relative: the stamp-less twin's link leads to its own copy
    assert run("render")[0] == 0
    assert reused_pools(repo) == [EU, US]
    shared.write_text(shared.read_text().replace("replicas: 3", "replicas: 4", 1))
    assert reused_pools(repo) == [EU]
    expected, expected_tree = from_nothing(repo, "render")
    assert run("render") == expected and tree(repo) == expected_tree
    assert "us-east-1: 6 servers" in expected[1]


# --- any sequence of edits ---------------------------------------------------------------------------

FLEET_FILES = {
    "casual": "eu-west-1/casual.yaml",
    "ranked": "eu-west-1/ranked.yaml",
    "community": "us-east-1/fleets.yaml",
    "relay": "us-east-1/fleets.yaml",
}
EU_NODES = ("fra-gs-01", "fra-gs-02", "fra-gs-03")
UNITS = ("eu-west-1/casual-0", "eu-west-1/network", "us-east-1/relay-0", "us-east-1/network")


def set_replicas(repo: Path, fleet: str, replicas: int) -> None:
    path = repo / "fleets" / FLEET_FILES[fleet]
    head, marker, tail = path.read_text().partition(f"  name: {fleet}\n")
    before, _, after = tail.partition("  replicas: ")
    path.write_text(head + marker + before + f"  replicas: {replicas}" + after[after.index("\n") :])


def toggle_cordon(repo: Path, node: str) -> None:
    path = repo / "fleets/eu-west-1/pool.yaml"
    head, marker, tail = path.read_text().partition(f"    - name: {node}\n")
    entry, rest = [*tail.split("\n    - name: ", 1), ""][:2]
    cordon = "      unschedulable: true"
    lines = [line for line in entry.split("\n") if line != cordon]
    if len(lines) == len(entry.split("\n")):
        lines.insert(len(lines) - 1 if lines[-1] == "" else len(lines), cordon)
    joined = "\n".join(lines)
    path.write_text(head + marker + joined + ("\n    - name: " + rest if rest else ""))


def apply_edit(repo: Path, edit: tuple[str, Any]) -> None:
    kind, argument = edit
    if kind == "replicas":
        set_replicas(repo, *argument)
    elif kind == "cordon":
        toggle_cordon(repo, argument)
    elif kind == "lose lock":
        (repo / "fleets" / argument / "allocations.lock").unlink(missing_ok=True)
    elif kind == "edit output":
        manifest = repo / "rendered" / argument / "manifest.yaml"
        if manifest.is_file():
            manifest.write_bytes(manifest.read_bytes() + b"# edited by hand\n")
    elif kind == "drop unit":
        shutil.rmtree(repo / "rendered" / argument, ignore_errors=True)


edits = st.one_of(
    st.tuples(st.just("replicas"), st.tuples(st.sampled_from(sorted(FLEET_FILES)), st.integers(0, 6))),
    st.tuples(st.just("cordon"), st.sampled_from(EU_NODES)),
    st.tuples(st.just("lose lock"), st.sampled_from([EU, US])),
    st.tuples(st.just("edit output"), st.sampled_from(UNITS)),
    st.tuples(st.just("drop unit"), st.sampled_from(UNITS)),
    st.tuples(st.just("nothing"), st.none()),
)


@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.lists(edits, min_size=1, max_size=3), min_size=1, max_size=3))
def test_any_sequence_of_edits_renders_as_a_render_that_reuses_nothing(repo: Path, steps: list[list[Any]]) -> None:
    """After each batch of edits, check, plan and render with the stamp and without it: the same exit codes,
    the same lines, the same files. The repository starts from the fixture's state for every example."""
    start = repo.parent / "start"
    if not start.exists():
        shutil.copytree(repo, start, symlinks=True)
    shutil.rmtree(repo)
    shutil.copytree(start, repo, symlinks=True)
    os.chdir(repo)  # the working folder was the one just removed
    for batch in steps:
        for edit in batch:
            apply_edit(repo, edit)
        for command in ("check", "plan"):
            assert run(command) == from_nothing(repo, command)[0], (command, batch)
        expected, expected_tree = from_nothing(repo, "render")
        before = tree(repo)
        code, stdout, stderr = run("render")
        assert (code, stderr) == (expected[0], expected[2]), batch
        if stdout.startswith("wrote 0 files: nothing changed"):
            assert re.search(r"^wrote 0 files, removed 0, \d+ unchanged; 0 locks updated$", expected[1], re.M), batch
        else:
            assert stdout == expected[1], batch
        assert tree(repo) == (expected_tree if code == 0 else before), batch


def git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    identity = [
        "-c",
        "user.name=fleetgen tests",
        "-c",
        "user.email=tests@fleetgen.invalid",
        "-c",
        "commit.gpgsign=false",
    ]
    return subprocess.run(["git", *identity, *args], cwd=repo, capture_output=True, text=True, check=False)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_branches_that_rendered_different_pools_merge_cleanly_and_reuse_both(repo: Path) -> None:
    """With the .gitattributes fleetgen ships (merge=union on the stamp), git keeps both branches' lines
    of the stamp; each still vouches for its own pool, so the merge needs no render to be up to date."""
    shutil.copy(ROOT / ".gitattributes", repo / ".gitattributes")
    assert git(repo, "init", "-q", "-b", "main").returncode == 0
    git(repo, "add", "-A")
    assert git(repo, "commit", "-q", "-m", "base").returncode == 0
    git(repo, "checkout", "-q", "-b", "more-relays")
    set_replicas(repo, "relay", 4)
    assert run("render")[0] == 0
    git(repo, "commit", "-q", "-am", "relay 4")
    git(repo, "checkout", "-q", "main")
    set_replicas(repo, "casual", 5)
    assert run("render")[0] == 0
    git(repo, "commit", "-q", "-am", "casual 5")
    merged = git(repo, "merge", "--no-edit", "more-relays")
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert reused_pools(repo) == [EU, US]
    expected, _ = from_nothing(repo, "check")
    assert run("check") == expected == (0, "rendered: up to date\n", expected[2])
    assert run("render")[:2] == (0, "wrote 0 files: nothing changed since the last render (its stamp matches)\n")


def test_the_stamp_fingerprints_every_stage_of_fleetgen(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stamp trusts nothing rendered by other code: the key covers every module of every stage."""
    import generator
    from generator.tree import stamp

    read: list[str] = []
    walk = stamp._tree

    def recorded(root: Path) -> Any:
        for relative, path in walk(root):
            read.append(relative)
            yield relative, path

    monkeypatch.setattr(stamp, "_tree", recorded)
    stamp.code_fingerprint(UNCACHED)
    package = Path(generator.__file__).parent
    modules = {path.relative_to(package).as_posix() for path in package.rglob("*.py")}
    assert modules <= set(read) and "kube/api.py" in modules
