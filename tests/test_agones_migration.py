"""Coming from Agones: every Fleet and GameServer file of Agones' own examples imports and renders, what
`kubectl get fleets,gameservers -A -o yaml` prints of a live cluster imports, and what Agones accepts
(its container defaulting, a Fleet named by generateName, kubelet node labels) is not refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_agones import fleet, pods, pool_repo, warnings_of
from test_edit import run

from generator.edits import agones
from generator.fleetfiles import agones_sdk
from generator.kube import api as kube

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "agones"
UPSTREAM = FIXTURES / "upstream"
EXAMPLES = sorted((UPSTREAM / "examples").rglob("*.yaml"))
LIVE = FIXTURES / "live" / "kubectl-get-fleets-gameservers.yaml"

# Every node runs Linux on amd64 but one, a Windows node, which says so in its own labels.
POOL = """\
apiVersion: fleetgen.dev/v1alpha1
kind: NodePool
metadata:
  name: games
spec:
  namespace: games
  nodeLabels: {kubernetes.io/os: linux, kubernetes.io/arch: amd64}
  nodes:
    - name: node-a
      address: 203.0.113.1
      capacity: {pods: 20, cpu: "8", memory: 32Gi}
    - name: node-b
      address: 203.0.113.2
      capacity: {pods: 20, cpu: "8", memory: 32Gi}
    - name: node-win
      address: 203.0.113.3
      labels: {kubernetes.io/os: windows}
      capacity: {pods: 20, cpu: "8", memory: 32Gi}
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return pool_repo(tmp_path, monkeypatch, POOL)


def fleet_files(repo: Path) -> list[str]:
    return sorted(path.stem for path in (repo / "fleets/games").glob("*.yaml") if path.name != "pool.yaml")


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: str(path.relative_to(UPSTREAM / "examples")))
def test_every_agones_example_imports_renders_and_validates(repo: Path, example: Path) -> None:
    assert len(EXAMPLES) == 22  # every Fleet and GameServer file of Agones' examples/ (see upstream/README.md)
    code, _, err = run("import-agones", str(example), "--pool", "games")
    assert code == 0, err
    assert " error: " not in err
    (name,) = fleet_files(repo)
    assert fleet(repo, name)["spec"]["sdk"] == {"agones": {"version": agones_sdk.DEFAULT_VERSION}}
    rendered = pods(repo)
    assert len(rendered) == fleet(repo, name)["spec"]["replicas"]
    assert all(kube.validate_object(pod, kube.latest_version()) == [] for pod in rendered)
    assert all(pod["spec"]["initContainers"][0]["name"] == agones_sdk.SIDECAR_NAME for pod in rendered)
    assert run("check")[0] == 0


def test_a_container_name_agones_replaces_is_imported_as_agones_does(repo: Path) -> None:
    """examples/gameserver.yaml says `container: example-server` beside its one container, simple-game-server."""
    source = UPSTREAM / "examples/gameserver.yaml"
    code, _, err = run("import-agones", str(source), "--pool", "games")
    assert code == 0, err
    assert fleet(repo, "gds-example")["spec"]["container"] == "simple-game-server"
    assert (
        f"{source}:35:14: warning: spec.container 'example-server' is not the template's container; Agones uses the "
        "only one, 'simple-game-server', whatever container says: imported so"
    ) in err
    (pod,) = pods(repo)
    server = next(c for c in pod["spec"]["containers"] if c["name"] == "simple-game-server")
    assert [port["containerPort"] for port in server["ports"]] == [7654]


def test_a_replicas_placeholder_is_an_error_at_its_line_and_nothing_is_written(repo: Path) -> None:
    source = UPSTREAM / "test/load/allocation/performance-test-fleet-template.yaml"
    code, _, err = run("import-agones", str(source), "--pool", "games")
    assert code == 1
    assert (
        f"{source}:21:13: error: spec.replicas 'REPLICAS_REPLACEMENT' is not a number: Agones refuses it, and so "
        "does the import\n"
    ) in err
    assert "  hint: write the number of servers" in err
    assert "not set" not in err and "Traceback" not in err
    assert fleet_files(repo) == [] and not (repo / "rendered").exists()


def test_a_fleet_named_by_generate_name_does_not_list_it_as_not_imported(repo: Path) -> None:
    source = UPSTREAM / "examples/cpp-simple/fleet.yaml"
    code, _, err = run("import-agones", str(source), "--pool", "games", "--no-render")
    assert code == 0, err
    assert fleet_files(repo) == ["cpp-simple"]
    assert "generateName" not in err and "it has no fleetgen meaning" not in err


def test_kubelet_labels_in_a_node_selector_are_met_by_the_pools_node_labels(repo: Path) -> None:
    """The Windows example lands on the one node whose own labels say windows; the pool says linux for the rest."""
    source = UPSTREAM / "examples/simple-game-server/gameserver-windows.yaml"
    code, _, err = run("import-agones", str(source), "--pool", "games")
    assert code == 0, err
    assert "the kubelet sets" not in err
    (pod,) = pods(repo)
    assert pod["spec"]["nodeSelector"] == {"kubernetes.io/hostname": "node-win"}


def test_kubelet_labels_no_node_declares_get_a_hint_to_declare_them_once(repo: Path) -> None:
    """A pool of Linux nodes that declares no os label: the import says how to, and renders nothing."""
    pool = POOL.replace("  nodeLabels: {kubernetes.io/os: linux, kubernetes.io/arch: amd64}\n", "")
    (repo / "fleets/games/pool.yaml").write_text(pool.replace("      labels: {kubernetes.io/os: windows}\n", ""))
    source = UPSTREAM / "examples/simple-game-server/gameserver-windows.yaml"
    code, _, err = run("import-agones", str(source), "--pool", "games")
    assert code == 1
    assert (
        f"{source}:38:9: warning: nodeSelector kubernetes.io/os=windows: the kubelet sets kubernetes.io/os on every "
        "node, but no node of pool 'games' declares it in pool.yaml, so the fleet's servers have no node\n"
    ) in err
    assert (
        "  hint: when every node of the pool is windows, declare it once: `nodeLabels: {kubernetes.io/os: windows}`"
        in err
    )
    assert "available 0 of 3 nodes carry kubernetes.io/os=windows" in err
    assert fleet_files(repo) == []


def test_live_kubectl_output_imports_the_fleet_and_the_standalone_gameserver(repo: Path) -> None:
    code, _, err = run("import-agones", str(LIVE), "--pool", "games")
    assert code == 0, err
    assert fleet_files(repo) == ["lobby", "simple-game-server"]
    notes = warnings_of(err)
    assert notes[0] == agones.MSG_SDK
    assert [note for note in notes if note.startswith("skipped:")] == [
        "skipped: Agones GameServer 'simple-game-server-7jpqz-2dqhv' is a server of GameServerSet "
        "'simple-game-server-7jpqz'",
        "skipped: Agones GameServer 'simple-game-server-7jpqz-q5w8m' is a server of GameServerSet "
        "'simple-game-server-7jpqz'",
    ]
    # What the API server, kubectl and Agones write on every object is not reported, nor refused.
    assert not [n for n in notes if any(word in n for word in ("status", "uid", "resourceVersion", "finalizers"))]
    assert not [n for n in notes if "creationTimestamp" in n or "annotations" in n]
    # The Agones release comes from the objects' agones.dev/sdk-version annotation.
    assert fleet(repo, "lobby")["spec"]["sdk"] == {"agones": {"version": "1.54.0"}}
    assert fleet(repo, "simple-game-server")["spec"]["sdk"] == {"agones": {"version": "1.54.0"}}
    assert fleet(repo, "simple-game-server")["spec"]["replicas"] == 2


def test_live_ports_lose_what_agones_allocated_and_tcpudp_is_one_port_again(repo: Path) -> None:
    code, _, err = run("import-agones", str(LIVE), "--pool", "games")
    assert code == 0, err
    assert fleet(repo, "lobby")["spec"]["ports"] == [
        {"name": "game", "portPolicy": "Passthrough", "protocol": "UDP", "range": "default", "container": "lobby"},
        {
            "name": "voice",
            "portPolicy": "Dynamic",
            "containerPort": 9987,
            "protocol": "TCPUDP",
            "range": "default",
            "container": "lobby",
        },
        {
            "name": "admin",
            "portPolicy": "Static",
            "containerPort": 7777,
            "hostPort": 7777,
            "protocol": "TCPUDP",
            "range": "default",
            "container": "lobby",
        },
    ]
    notes = warnings_of(err)
    assert (
        "hostPort 7034 of Passthrough port 'game' is one Agones allocated: not imported, fleetgen allocates the port "
        "itself (and sets containerPort to it, as Agones did with 7034)"
    ) in notes
    assert (
        "hostPort 7035 of Dynamic port 'voice' is one Agones allocated: not imported, fleetgen allocates the port "
        "itself"
    ) in notes
    assert (
        "ports 'admin-tcp' and 'admin-udp' share hostPort 7777: they are how Agones runs a TCPUDP port; imported as "
        "TCPUDP port 'admin'"
    ) in notes
    assert f"{LIVE}:260:17: warning: hostPort 7034" in err  # at the hostPort's own line
    (lobby,) = [pod for pod in pods(repo) if pod["metadata"]["name"] == "lobby-0"]
    ports = {port["name"]: port for c in lobby["spec"]["containers"] for port in c.get("ports", [])}
    assert ports["voice-tcp"]["hostPort"] == ports["voice-udp"]["hostPort"]
    assert ports["admin-tcp"]["hostPort"] == ports["admin-udp"]["hostPort"] == 7777


def test_without_the_sdk_the_import_says_the_game_server_must_not_wait_for_it(repo: Path) -> None:
    code, _, err = run("import-agones", str(LIVE), "--pool", "games", "--no-sdk")
    assert code == 0, err
    assert "sdk" not in fleet(repo, "lobby")["spec"]
    notes = warnings_of(err)
    assert notes[0] == agones.MSG_NO_SDK
    assert "Agones GameServer 'lobby': spec.sdkServer is not imported: it has no fleetgen meaning" in notes
    assert all("initContainers" not in pod["spec"] for pod in pods(repo))


def test_a_release_the_import_cannot_tell_is_the_stated_default(repo: Path) -> None:
    source = UPSTREAM / "examples/simple-game-server/fleet.yaml"
    code, _, err = run("import-agones", str(source), "--pool", "games", "--no-render")
    assert code == 0, err
    assert (
        f"Agones Fleet 'simple-game-server': no agones.dev/sdk-version annotation names its Agones release: "
        f"spec.sdk.agones.version set to {agones_sdk.DEFAULT_VERSION}"
    ) in warnings_of(err)
    assert "  hint: set spec.sdk.agones.version to the Agones release your game server's SDK is built for" in err


def test_a_pools_node_labels_hold_on_every_node_but_where_a_node_says_otherwise(repo: Path) -> None:
    """lobby.eu-1 selects kubernetes.io/os=linux: node-a and node-b carry it from nodeLabels, node-win does not."""
    code, _, err = run("import-agones", str(FIXTURES / "kubectl-list.yaml"), "--pool", "games")
    assert code == 0, err
    assert "the kubelet sets" not in err
    (pod,) = pods(repo)
    assert pod["spec"]["nodeSelector"]["kubernetes.io/hostname"] in ("node-a", "node-b")
    pool = repo / "fleets/games/pool.yaml"
    pool.write_text(POOL.replace("kubernetes.io/os: linux,", "kubernetes.io/os: linux, 'no spaces': x,"))
    code, _, err = run("validate")
    assert code == 1
    assert "fleets/games/pool.yaml:7:41: error: 'no spaces': label key name must be 1-63 characters" in err
