"""render, check and plan through the real CLI, on the example pools copied to a temporary folder."""

from __future__ import annotations

import os
import re
import shutil
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from click.testing import CliRunner

from generator.cli import cli
from generator.kube import api as kube
from generator.tree.stamp import STAMP_FILE

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "fleets"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the example repository (fleets and rendered), as the working directory."""
    shutil.copytree(EXAMPLES, tmp_path / "fleets")
    if (ROOT / "rendered").is_dir():
        shutil.copytree(ROOT / "rendered", tmp_path / "rendered")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def snapshot_of(folder: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file under `folder`: bytes, mtime and inode, to prove what was (not) touched."""
    return {
        str(path.relative_to(folder)): (path.read_bytes(), path.stat().st_mtime_ns, path.stat().st_ino)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def manifests_of(folder: Path) -> dict[str, bytes]:
    """What Argo CD or Flux reads under `folder`: the stamp (a digest of fleetgen's own code) left out."""
    return {path: data for path, (data, _, _) in snapshot_of(folder).items() if path != STAMP_FILE}


def documents(folder: Path) -> list[dict]:
    found = []
    for manifest in sorted(folder.rglob("manifest.yaml")):
        found += [doc for doc in yaml.safe_load_all(manifest.read_text()) if doc is not None]
    return found


def set_replicas(path: Path, fleet: str, replicas: int) -> None:
    """Edit one fleet's replicas in place, the way a person would."""
    text = path.read_text()
    head, marker, tail = text.partition(f"  name: {fleet}\n")
    before, _, after = tail.partition("  replicas: ")
    _, newline, rest = after.partition("\n")
    path.write_text(head + marker + before + f"  replicas: {replicas}" + newline + rest)


def test_committed_rendered_tree_is_up_to_date() -> None:
    """The committed example output can never go stale: this is `fleetgen check` in the repository."""
    result = CliRunner().invoke(cli, ["check", "--fleets", str(EXAMPLES), "--out", str(ROOT / "rendered")])
    assert result.exit_code == 0, result.stderr


def test_rendered_examples_match_snapshot(repo: Path, snapshot) -> None:
    shutil.rmtree(repo / "rendered")
    code, _, stderr = run("render")
    assert code == 0, stderr
    files = {path: data.decode() for path, data in manifests_of(repo / "rendered").items()}
    locks = {str(p.relative_to(repo)): p.read_text() for p in sorted((repo / "fleets").glob("*/allocations.lock"))}
    assert files == snapshot(name="rendered")
    assert locks == snapshot(name="locks")


def test_every_rendered_object_passes_kubernetes_validate(repo: Path) -> None:
    run("render")
    objects = documents(repo / "rendered")
    assert objects
    version = kube.latest_version()
    for obj in objects:
        if obj["apiVersion"] in ("v1", "networking.k8s.io/v1"):
            kubernetes_validate.validate(obj, version, strict=True)


def test_no_two_server_ports_share_a_host_port_on_a_node(repo: Path) -> None:
    """An independent check of the allocator's first guarantee, read back from the YAML."""
    run("render")
    holders: dict[tuple[str, int], list[str]] = defaultdict(list)
    for pod in documents(repo / "rendered"):
        if pod["kind"] != "Pod":
            continue
        spec = pod["spec"]
        node = spec.get("nodeName") or spec["nodeSelector"]["kubernetes.io/hostname"]
        numbers = {p["hostPort"] for c in spec["containers"] for p in c.get("ports", []) if "hostPort" in p}
        for number in numbers:
            holders[(node, number)].append(pod["metadata"]["name"])
    shared = {key: names for key, names in holders.items() if len(names) > 1}
    assert not shared


def test_pods_carry_labels_annotations_env_and_pinning(repo: Path) -> None:
    run("render")
    pods = {pod["metadata"]["name"]: pod for pod in documents(repo / "rendered") if pod["kind"] == "Pod"}
    casual = pods["casual-0"]
    labels = casual["metadata"]["labels"]
    assert labels["app.kubernetes.io/managed-by"] == "fleetgen"
    assert (labels["fleetgen.dev/pool"], labels["fleetgen.dev/fleet"]) == ("eu-west-1", "casual")
    assert labels["fleetgen.dev/server"] == "casual-0" and labels["mode"] == "casual"
    node = casual["spec"]["nodeSelector"]["kubernetes.io/hostname"]
    address = casual["metadata"]["annotations"]["fleetgen.dev/address"]
    server, relay = casual["spec"]["containers"]
    env = {e["name"]: e["value"] for e in server["env"]}
    assert env["FLEETGEN_ADDRESS"] == address and env["FLEETGEN_SERVER"] == "casual-0"
    assert env["FLEETGEN_PORT_GAME"] == str({p["name"]: p for p in server["ports"]}["game"]["hostPort"])
    voice = {p["name"]: p for p in relay["ports"]}
    assert voice["voice-tcp"]["hostPort"] == voice["voice-udp"]["hostPort"]
    assert {voice["voice-tcp"]["protocol"], voice["voice-udp"]["protocol"]} == {"TCP", "UDP"}
    assert 9000 <= voice["voice-tcp"]["hostPort"] <= 9099
    assert node != "fra-gs-04", "a cordoned node gets no servers"
    relay_pod = pods["relay-0"]
    assert relay_pod["spec"]["nodeName"].startswith("ip-10-0-")
    port = {p["name"]: p for p in relay_pod["spec"]["containers"][0]["ports"]}["relay"]
    assert port["containerPort"] == port["hostPort"], "Passthrough: containerPort equals hostPort"
    community = pods["community-0"]["spec"]["containers"][0]["ports"]
    assert {p["name"]: p.get("hostPort") for p in community}["rcon"] == 27015
    assert "hostPort" not in {p["name"]: p for p in community}["metrics"]


def pods_by_name(folder: Path) -> dict[str, dict]:
    return {pod["metadata"]["name"]: pod for pod in documents(folder) if pod["kind"] == "Pod"}


def env_names(container: dict) -> list[str]:
    return [entry["name"] for entry in container.get("env", [])]


def test_pods_get_no_service_account_token_unless_the_template_asks(repo: Path) -> None:
    """Game servers never call the API server, so no Pod holds its namespace's token by default."""
    ranked = repo / "fleets/eu-west-1/ranked.yaml"
    ranked.write_text(
        ranked.read_text().replace("    spec:\n", "    spec:\n      automountServiceAccountToken: true\n", 1)
    )
    code, _, stderr = run("render")
    assert code == 0, stderr
    tokens = {
        name: pod["spec"].get("automountServiceAccountToken") for name, pod in pods_by_name(repo / "rendered").items()
    }
    assert {name for name, token in tokens.items() if token is not False} == {f"ranked-{i}" for i in range(6)}
    assert {tokens[f"ranked-{i}"] for i in range(6)} == {True}, "the template's own choice is kept"


def test_every_container_learns_its_server_and_address_but_only_its_own_ports(repo: Path) -> None:
    """A sidecar (a second container, or a native sidecar: an init container that keeps running) is told
    which server it serves and where; each container gets the FLEETGEN_PORT_* of the ports it holds."""
    casual = repo / "fleets/eu-west-1/casual.yaml"
    sidecar = (
        "      initContainers:\n"
        "        - name: log-shipper\n"
        "          image: registry.example.com/starfall/log-shipper:2.0.1\n"
        "          restartPolicy: Always\n"
    )
    casual.write_text(casual.read_text().replace("      containers:\n", sidecar + "      containers:\n", 1))
    code, _, stderr = run("render")
    assert code == 0, stderr
    pod = pods_by_name(repo / "rendered")["casual-2"]
    containers = {c["name"]: c for group in ("initContainers", "containers") for c in pod["spec"][group]}
    identity = ["FLEETGEN_ADDRESS", "FLEETGEN_SERVER"]
    assert {name: [n for n in env_names(c) if n.startswith("FLEETGEN_")] for name, c in containers.items()} == {
        "log-shipper": identity,
        "server": ["FLEETGEN_PORT_GAME", *identity],
        "voice-relay": ["FLEETGEN_PORT_VOICE", *identity],
    }
    values = {(c, e["name"]): e["value"] for c, container in containers.items() for e in container["env"]}
    for name in containers:
        assert values[(name, "FLEETGEN_SERVER")] == "casual-2"
        assert values[(name, "FLEETGEN_ADDRESS")] == pod["metadata"]["annotations"]["fleetgen.dev/address"]
    voice = {p["name"]: p["hostPort"] for p in containers["voice-relay"]["ports"]}
    assert values[("voice-relay", "FLEETGEN_PORT_VOICE")] == str(voice["voice-udp"])


def test_render_twice_writes_nothing(repo: Path) -> None:
    run("render")
    before = snapshot_of(repo)
    code, stdout, _ = run("render")
    assert code == 0
    assert "wrote 0 files" in stdout
    assert snapshot_of(repo) == before


def test_one_more_replica_rewrites_only_its_unit_the_network_unit_and_the_lock(repo: Path) -> None:
    run("render")
    before = snapshot_of(repo)
    set_replicas(repo / "fleets/eu-west-1/ranked.yaml", "ranked", 7)
    code, _, stderr = run("render")
    assert code == 0, stderr
    after = snapshot_of(repo)
    changed = sorted(path for path in after if after[path] != before.get(path))
    assert changed == [
        "fleets/eu-west-1/allocations.lock",
        "fleets/eu-west-1/ranked.yaml",
        f"rendered/{STAMP_FILE}",
        "rendered/eu-west-1/network/manifest.yaml",
        "rendered/eu-west-1/ranked-0/manifest.yaml",
    ]
    old_pods = {
        p["metadata"]["name"]: p for p in yaml.safe_load_all(before["rendered/eu-west-1/ranked-0/manifest.yaml"][0])
    }
    new_pods = {
        p["metadata"]["name"]: p for p in yaml.safe_load_all(after["rendered/eu-west-1/ranked-0/manifest.yaml"][0])
    }
    assert sorted(set(new_pods) - set(old_pods)) == ["ranked-6"]
    assert all(new_pods[name] == pod for name, pod in old_pods.items()), "no existing Pod changes"


def test_invalid_input_writes_nothing(repo: Path) -> None:
    run("render")
    before = snapshot_of(repo)
    fleet = repo / "fleets/eu-west-1/ranked.yaml"
    fleet.write_text(fleet.read_text().replace("scheduling: Packed", "scheduling: Pakced"))
    before["fleets/eu-west-1/ranked.yaml"] = snapshot_of(repo)["fleets/eu-west-1/ranked.yaml"]
    code, _, stderr = run("render")
    assert code == 1
    assert "fleets/eu-west-1/ranked.yaml:9:15: error:" in stderr
    assert "Traceback" not in stderr
    assert snapshot_of(repo) == before


def test_capacity_error_names_pool_fleet_and_resource_and_writes_nothing(repo: Path) -> None:
    run("render")
    set_replicas(repo / "fleets/us-east-1/fleets.yaml", "community", 3)
    before = snapshot_of(repo)
    code, _, stderr = run("render")
    assert code == 1
    assert "fleets/us-east-1/fleets.yaml:8:13: error: pool 'us-east-1', fleet 'community'" in stderr
    assert "Static port 27015" in stderr
    assert snapshot_of(repo) == before


def test_check_lists_stale_missing_and_extra_paths(repo: Path) -> None:
    run("render")
    (repo / "rendered/eu-west-1/ranked-0/manifest.yaml").write_text("# Generated by fleetgen\nedited: true\n")
    (repo / "rendered/us-east-1/relay-0/manifest.yaml").unlink()
    (repo / "rendered/us-east-1/old-0").mkdir()
    (repo / "rendered/us-east-1/old-0/manifest.yaml").write_text("# Generated by fleetgen from an old render\n")
    before = snapshot_of(repo)
    code, _, stderr = run("check")
    assert code == 1
    assert "would write eu-west-1/ranked-0/manifest.yaml" in stderr
    assert "would write us-east-1/relay-0/manifest.yaml" in stderr
    assert "would remove us-east-1/old-0/manifest.yaml" in stderr
    assert "run `fleetgen render`" in stderr
    assert snapshot_of(repo) == before


def test_check_fails_on_a_stale_lock(repo: Path) -> None:
    run("render")
    lock = repo / "fleets/eu-west-1/allocations.lock"
    lock.write_text(lock.read_text() + "ranked 99 fra-gs-01 game=7900/UDP/Dynamic/default\n")
    code, _, stderr = run("check")
    assert code == 1
    assert "allocations.lock" in stderr


def test_render_refuses_a_foreign_file_in_a_pool_folder(repo: Path) -> None:
    run("render")
    foreign = repo / "rendered/eu-west-1/ranked-0/notes.yaml"
    foreign.write_text("kind: Notes\n")
    set_replicas(repo / "fleets/eu-west-1/ranked.yaml", "ranked", 7)
    before = snapshot_of(repo)
    code, _, stderr = run("render")
    assert code == 1
    assert "notes.yaml" in stderr and "not written by fleetgen" in stderr
    assert snapshot_of(repo) == before


def cordon_fra_gs_01(repo: Path) -> None:
    """Cordon the premium node that ranked and casual share: their servers there move."""
    pool = repo / "fleets/eu-west-1/pool.yaml"
    pool.write_text(
        pool.read_text().replace(
            "address: 203.0.113.11\n      labels: {tier: premium}",
            "address: 203.0.113.11\n      labels: {tier: premium}\n      unschedulable: true",
        )
    )


def test_plan_tells_added_removed_moved_and_restarts(repo: Path) -> None:
    run("render")
    set_replicas(repo / "fleets/eu-west-1/ranked.yaml", "ranked", 8)
    set_replicas(repo / "fleets/us-east-1/fleets.yaml", "relay", 1)
    cordon_fra_gs_01(repo)
    code, stdout, stderr = run("plan")
    assert code == 0, stderr
    assert "ranked-6" in stdout and "ranked-7" in stdout
    assert "relay-1" in stdout and "relay-2" in stdout
    assert "casual-0: fra-gs-01 -> " in stdout
    assert "restart:" in stdout
    code, markdown, _ = run("plan", "--format", "markdown")
    assert markdown.startswith("## fleetgen plan")
    assert "| `eu-west-1` |" in markdown


def scale_relay_to_300(repo: Path) -> None:
    """A change too big to list: us-east-1 gets the room, and relay 300 servers."""
    pool = repo / "fleets/us-east-1/pool.yaml"
    pool.write_text(
        pool.read_text()
        .replace("pods: 58", "pods: 500")
        .replace("cpu: 7910m", "cpu: 700")
        .replace("memory: 30Gi", "memory: 900Gi")
    )
    set_replicas(repo / "fleets/us-east-1/fleets.yaml", "relay", 300)


def test_plan_summarises_instead_of_listing_every_server(repo: Path) -> None:
    scale_relay_to_300(repo)
    code, stdout, stderr = run("plan")
    assert code == 0, stderr
    assert "... and 27" in stdout
    assert len(stdout.splitlines()) < 120


@pytest.mark.parametrize(
    "env", [{"PYTHONHASHSEED": "1", "LC_ALL": "C"}, {"PYTHONHASHSEED": "777", "LC_ALL": "C.UTF-8"}]
)
def test_output_does_not_depend_on_hash_seed_or_locale(repo: Path, env: dict[str, str]) -> None:
    import subprocess
    import sys

    shutil.rmtree(repo / "rendered")
    for lock in (repo / "fleets").glob("*/allocations.lock"):
        lock.unlink()
    subprocess.run(
        [sys.executable, "-m", "generator", "render"],
        check=True,
        capture_output=True,
        env={**os.environ, **env},
        cwd=repo,
    )
    assert manifests_of(repo / "rendered") == manifests_of(ROOT / "rendered")


def test_endpoints_prints_every_server_address_and_port(repo: Path) -> None:
    code, table, _ = run("endpoints", "--pool", "eu-west-1")
    assert code == 0
    assert "casual-2" in table and "[2001:db8:10::13]:" in table, "IPv6 endpoints are bracketed"
    assert "relay-0" not in table
    code, text, _ = run("endpoints", "--fleet", "relay", "--format", "json")
    import json

    rows = json.loads(text)
    assert [row["server"] for row in rows] == ["relay-0", "relay-1", "relay-2"]
    configmap = yaml.safe_load_all((repo / "rendered/us-east-1/network/manifest.yaml").read_text())
    data = next(doc for doc in configmap if doc["metadata"]["name"] == "fleetgen-endpoints-relay-0")["data"]
    for row in rows:
        assert json.loads(data[row["server"]]) == {k: row[k] for k in ("address", "node", "ports")}


def test_an_unchanged_repository_is_recognised_by_its_stamp(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run("render")
    monkeypatch.setattr(
        "generator.tree.repository.compile_repository",
        lambda settings, prior: pytest.fail("compiled although nothing changed"),
    )
    assert run("render")[:2] == (0, "wrote 0 files: nothing changed since the last render (its stamp matches)\n")
    assert run("check")[:2] == (0, "rendered: up to date\n")


def test_any_change_to_inputs_outputs_or_settings_voids_the_stamp(repo: Path) -> None:
    run("render")
    manifest = repo / "rendered/eu-west-1/ranked-0/manifest.yaml"
    manifest.write_bytes(manifest.read_bytes().replace(b"image: ", b"image: evil/", 1))
    code, _, stderr = run("check")
    assert code == 1 and "would write eu-west-1/ranked-0/manifest.yaml" in stderr
    run("render")
    code, stdout, _ = run("render", "--kubernetes-version", "1.33")
    assert code == 0 and "wrote 0 files, removed 0" in stdout, "another version runs the whole pipeline"


def test_a_one_pool_render_removes_the_stamp_and_warnings_are_replayed(repo: Path) -> None:
    pool = repo / "fleets/us-east-1/pool.yaml"
    pool.write_text(pool.read_text().replace("pods: 58", "pods: 3"))
    code, _, first = run("render")
    assert code == 0 and "above 80%" in first
    assert "placed afresh" in first
    code, stdout, again = run("render")
    assert "stamp matches" in stdout and "above 80%" in again, "a no-op render still warns"
    assert "placed afresh" not in again, "but not of the old lock, which the first render replaced"
    run("render", "--pool", "us-east-1")
    assert not (repo / "rendered" / STAMP_FILE).exists()


def test_a_lock_that_cannot_be_kept_is_replaced_when_a_fresh_placement_fits(repo: Path) -> None:
    """The lock put every relay beside community-0; with 3 pods a node, keeping it cannot fit all, a fresh
    placement can, so capacity is not reported as exhausted."""
    pool = repo / "fleets/us-east-1/pool.yaml"
    pool.write_text(pool.read_text().replace("pods: 58", "pods: 3"))
    code, _, stderr = run("render")
    assert code == 0, stderr
    assert "the locked placement cannot all be kept; placed afresh, 1 servers move" in stderr
    per_node: dict[str, int] = defaultdict(int)
    for pod in documents(repo / "rendered/us-east-1"):
        if pod["kind"] == "Pod":
            per_node[pod["spec"]["nodeName"]] += 1
    assert sorted(per_node.values()) == [2, 3]


@pytest.mark.parametrize("inside", ["fleets", "fleets/eu-west-1", "rendered"])
def test_run_from_inside_the_repository_says_to_run_from_its_root(
    repo: Path, monkeypatch: pytest.MonkeyPatch, inside: str
) -> None:
    monkeypatch.chdir(repo / inside)
    before = snapshot_of(repo)
    code, _, stderr = run("render")
    assert code == 1
    assert f"hint: run fleetgen from the repository root, the folder that holds fleets/: cd {repo}\n" in stderr
    assert snapshot_of(repo) == before


@pytest.mark.parametrize("command", ["check", "plan", "endpoints", "validate"])
def test_commands_that_never_write_do_not_say_nothing_was_written(repo: Path, command: str) -> None:
    (repo / "fleets/eu-west-1/pool.yaml").write_text("kind: NodePool\n")
    code, _, stderr = run(command)
    assert code == 1 and re.search(r"\nfleetgen: \d+ errors?\n\Z", stderr), stderr
    assert "nothing was written" not in stderr
    assert run("render")[2].rstrip().endswith("; nothing was written")


DO_NOT_DISRUPT = {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false", "karpenter.sh/do-not-disrupt": "true"}


def test_pods_keep_autoscalers_from_evicting_them_unless_the_pool_allows_it(repo: Path) -> None:
    """As Agones' eviction.safe: Never: a node leaves through a node sync that moves its servers first. A
    pool may allow eviction; a fleet's template may still say otherwise for its own Pods."""
    assert run("render")[0] == 0
    pods = [doc for doc in documents(repo / "rendered") if doc["kind"] == "Pod"]
    assert pods and all(DO_NOT_DISRUPT.items() <= pod["metadata"]["annotations"].items() for pod in pods)
    pool = repo / "fleets/us-east-1/pool.yaml"
    pool.write_text(pool.read_text() + "  disruption: {evictable: true}\n")
    casual = repo / "fleets/eu-west-1/casual.yaml"
    labels = "      labels: {game: starfall, mode: casual}\n"
    casual.write_text(
        casual.read_text().replace(labels, labels + '      annotations: {karpenter.sh/do-not-disrupt: "false"}\n')
    )
    code, _, stderr = run("render")
    assert code == 0, stderr
    found = {}
    for pod in (doc for doc in documents(repo / "rendered") if doc["kind"] == "Pod"):
        annotations = pod["metadata"]["annotations"]
        found[pod["metadata"]["labels"]["fleetgen.dev/fleet"]] = {key: annotations.get(key) for key in DO_NOT_DISRUPT}
    assert found == {
        "ranked": DO_NOT_DISRUPT,
        "casual": {**DO_NOT_DISRUPT, "karpenter.sh/do-not-disrupt": "false"},
        "community": dict.fromkeys(DO_NOT_DISRUPT),
        "relay": dict.fromkeys(DO_NOT_DISRUPT),
    }


# --- every path a render writes is checked before the first write ---------------------------------------

EU_LOCK = "fleets/eu-west-1/allocations.lock"


def state(root: Path) -> dict[str, tuple[object, ...]]:
    """Every entry below root, links unfollowed: kind, bytes or link target, mtime and inode (a folder's inode
    only: the run lock comes and goes beside fleets/). What links lead to lies below root too."""
    found: dict[str, tuple[object, ...]] = {}
    for directory, folders, files in os.walk(root):
        for name in sorted([*folders, *files]):
            path = Path(directory, name)
            info = path.lstat()
            if path.is_symlink():
                found[str(path.relative_to(root))] = ("link", os.readlink(path), info.st_mtime_ns, info.st_ino)
            elif path.is_dir():
                found[str(path.relative_to(root))] = ("folder", info.st_ino)
            else:
                found[str(path.relative_to(root))] = ("file", path.read_bytes(), info.st_mtime_ns, info.st_ino)
    return found


def bump_casual(repo: Path) -> None:
    """One more casual server, so that a render has files to write."""
    casual = repo / "fleets/eu-west-1/casual.yaml"
    casual.write_text(casual.read_text().replace("replicas: 4", "replicas: 5", 1))


def lock_is_a_link(repo: Path) -> tuple[str, str]:
    target = repo / "elsewhere.lock"
    shutil.copyfile(repo / EU_LOCK, target)
    (repo / EU_LOCK).unlink()
    (repo / EU_LOCK).symlink_to(target)
    return EU_LOCK, "the pool's lock is a symbolic link"


def lock_is_a_folder(repo: Path) -> tuple[str, str]:
    (repo / EU_LOCK).unlink()
    (repo / EU_LOCK).mkdir()
    (repo / EU_LOCK / "notes.txt").write_text("kept by someone\n")
    return EU_LOCK, "the pool's lock is a directory"


def stamp_is_a_link(repo: Path) -> tuple[str, str]:
    target = repo / "elsewhere-stamp"
    shutil.copyfile(repo / "rendered" / STAMP_FILE, target)
    (repo / "rendered" / STAMP_FILE).unlink()
    (repo / "rendered" / STAMP_FILE).symlink_to(target)
    return f"rendered/{STAMP_FILE}", "fleetgen's stamp is a symbolic link"


@pytest.mark.parametrize("obstacle", [lock_is_a_link, lock_is_a_folder, stamp_is_a_link])
def test_a_lock_or_stamp_that_is_not_a_file_is_refused_before_anything_is_written(
    repo: Path, obstacle: Callable[[Path], tuple[str, str]]
) -> None:
    bump_casual(repo)
    path, message = obstacle(repo)
    before = state(repo)

    code, stdout, stderr = run("render")

    assert code == 1, stderr
    assert (
        f"{path}: error: {message}; fleetgen writes it only as a regular file, never through a link\n  hint: " in stderr
    )
    assert stderr.endswith("fleetgen: 1 error; nothing was written\n")
    assert "Traceback" not in stderr and stdout == ""
    assert state(repo) == before
    code, _, stderr = run("check")
    assert code == 1 and f"{path}: {message}" in stderr


def test_a_link_where_a_deleted_pool_was_is_refused_by_render_and_reported_by_check(repo: Path) -> None:
    bump_casual(repo)
    elsewhere = repo / "elsewhere"
    shutil.move(repo / "rendered/us-east-1", elsewhere)
    (repo / "rendered/us-east-1").symlink_to(elsewhere, target_is_directory=True)
    shutil.rmtree(repo / "fleets/us-east-1")
    before = state(repo)

    code, _, stderr = run("render")

    assert code == 1
    assert "rendered/us-east-1: is a symbolic link; fleetgen never follows or replaces links in its output" in stderr
    assert state(repo) == before
    code, stdout, stderr = run("check")
    assert (code, stdout) == (1, "") and "us-east-1: is a symbolic link" in stderr

    (repo / "rendered/us-east-1").unlink()
    assert run("render")[0] == 0
    assert run("check")[:2] == (0, "rendered: up to date\n")
