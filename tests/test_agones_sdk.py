"""spec.sdk.agones: Agones' SDK server in local mode as a native sidecar, each server's own GameServer
handed to it through the downward API, its requests counted by the allocator, and its rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from test_render import documents, repo, run
from test_validate import FLEET, POOL, assert_printed, edited, validate, write_pool

from generator.cli import cli
from generator.fleetfiles import agones_sdk, pod_security
from generator.kube import api as kube

__all__ = ["repo"]  # the fixture, used by name

SDK = "  sdk:\n    agones: {version: 1.56.0}\n"
# Every port policy, TCPUDP and a None port, on two nodes, one of them IPv6, with an init container.
SDK_POOL = """\
apiVersion: fleetgen.dev/v1alpha1
kind: NodePool
metadata:
  name: pool-a
spec:
  namespace: games
  portRanges:
    default: {min: 7000, max: 7099}
  nodes:
    - {name: node-1, address: 203.0.113.1, capacity: {pods: 2}}
    - {name: node-2, address: "2001:db8::2", capacity: {pods: 2}}
"""
SDK_FLEET = """\
apiVersion: fleetgen.dev/v1alpha1
kind: Fleet
metadata:
  name: arena
spec:
  replicas: 2
  scheduling: Distributed
  sdk:
    agones: {version: 1.56.0}
  ports:
    - {name: game, containerPort: 7777}
    - {name: admin, portPolicy: Static, hostPort: 7500, containerPort: 8080, protocol: TCP}
    - {name: query, portPolicy: Passthrough, protocol: TCP}
    - {name: voice, protocol: TCPUDP, containerPort: 9987}
    - {name: metrics, portPolicy: None, containerPort: 9100, protocol: TCP}
  template:
    spec:
      initContainers:
        - {name: maps, image: example.com/maps:3}
      containers:
        - {name: server, image: example.com/arena:1.0, imagePullPolicy: Always}
"""


@pytest.fixture
def fleets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return Path("fleets")


def rendered_pods(out: Path = Path("rendered")) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in documents(out) if doc["kind"] == "Pod"}


def endpoints() -> dict[str, dict[str, Any]]:
    code, out, err = run("endpoints", "--format", "json")
    assert code == 0, err
    return {row["server"]: row for row in json.loads(out)}


def test_the_sidecar_is_agones_sdk_server_in_local_mode_and_the_pod_validates(fleets: Path) -> None:
    write_pool(fleets, files={"pool.yaml": SDK_POOL, "fleet.yaml": SDK_FLEET})
    code, _, err = run("render")
    assert code == 0, err
    pod = rendered_pods()["arena-0"]
    assert kube.validate_object(pod, kube.latest_version()) == []
    sidecar, maps = pod["spec"]["initContainers"]
    assert maps["name"] == "maps"  # after the sidecar, so that it can call the SDK, as under Agones
    assert sidecar["name"] == "agones-gameserver-sidecar"
    assert sidecar["image"] == "us-docker.pkg.dev/agones-images/release/agones-sdk:1.56.0"
    assert sidecar["restartPolicy"] == "Always"
    assert sidecar["imagePullPolicy"] == "Always"  # pulled as the game server is
    assert sidecar["args"][0] == "--local" and "--grpc-port=9357" in sidecar["args"]
    assert "--http-port=9358" in sidecar["args"]
    # --file names the file the downward API writes from the Pod's annotation.
    (file_arg,) = [arg for arg in sidecar["args"] if arg.startswith("--file=")]
    (mount,) = sidecar["volumeMounts"]
    (volume,) = [v for v in pod["spec"]["volumes"] if v["name"] == mount["name"]]
    (item,) = volume["downwardAPI"]["items"]
    assert file_arg == f"--file={mount['mountPath']}/{item['path']}" and mount["readOnly"] is True
    assert item["fieldRef"]["fieldPath"] == "metadata.annotations['fleetgen.dev/agones-gameserver']"
    # Agones' env on every other container, init containers too, never on the sidecar.
    for container in [maps, *pod["spec"]["containers"]]:
        env = {entry["name"]: entry.get("value") for entry in container["env"]}
        assert env["AGONES_SDK_GRPC_PORT"] == "9357" and env["AGONES_SDK_HTTP_PORT"] == "9358"
    assert not [e for e in sidecar.get("env", []) if e["name"].startswith("AGONES_")]


def test_each_server_gets_its_gameserver_with_the_address_and_ports_endpoints_lists(fleets: Path) -> None:
    """Dynamic, Static, Passthrough and TCPUDP ports as `fleetgen endpoints` lists them; a None port's
    containerPort, as Agones' GameServerPort.Status gives it."""
    write_pool(fleets, files={"pool.yaml": SDK_POOL, "fleet.yaml": SDK_FLEET})
    assert run("render")[0] == 0
    listed = endpoints()
    pods = rendered_pods()
    assert sorted(pods) == sorted(listed) == ["arena-0", "arena-1"]
    addresses = {"node-1": "203.0.113.1", "node-2": "2001:db8::2"}
    for name, pod in pods.items():
        gameserver = json.loads(pod["metadata"]["annotations"]["fleetgen.dev/agones-gameserver"])
        assert (gameserver["apiVersion"], gameserver["kind"]) == ("agones.dev/v1", "GameServer")
        assert gameserver["metadata"] == {"name": name, "namespace": "games"}
        status = gameserver["status"]
        node = pod["spec"]["nodeSelector"]["kubernetes.io/hostname"]
        assert status["address"] == listed[name]["address"] == addresses[node]
        assert status["addresses"] == [{"address": addresses[node], "type": "ExternalIP"}]
        assert status["nodeName"] == node == listed[name]["node"]
        assert status["state"] == "Scheduled"
        # One entry per fleet port, in the fleet's order, as Agones lists spec.ports.
        assert [port["name"] for port in status["ports"]] == ["game", "admin", "query", "voice", "metrics"]
        numbers = {port["name"]: port["port"] for port in status["ports"]}
        assert numbers.pop("metrics") == 9100
        assert numbers == listed[name]["ports"]
    assert {pod["spec"]["nodeSelector"]["kubernetes.io/hostname"] for pod in pods.values()} == {"node-1", "node-2"}


def test_the_allocator_counts_the_sidecars_requests(fleets: Path) -> None:
    """A 1-cpu node fits four servers of 250m; with the SDK's 30m each, three."""
    pool = edited(POOL, 'capacity: {pods: 110, cpu: "16", memory: 64Gi}', 'capacity: {pods: 110, cpu: "1"}')
    fleet = edited(
        FLEET,
        "          image: example.com/arena:1.0\n",
        "          image: example.com/arena:1.0\n          resources: {requests: {cpu: 250m}}\n",
    )
    write_pool(fleets, files={"pool.yaml": pool, "fleet.yaml": fleet})
    assert most_replicas() == 4
    write_pool(fleets, files={"pool.yaml": pool, "fleet.yaml": edited(fleet, "  ports:\n", SDK + "  ports:\n")})
    assert most_replicas() == 3
    sdk_fleet = edited(fleet, "  ports:\n", SDK + "  ports:\n").replace("replicas: 2", "replicas: 4")
    write_pool(fleets, files={"pool.yaml": pool, "fleet.yaml": sdk_fleet})
    code, _, err = run("render")
    assert code == 1 and "cpu ran out" in err
    assert "needed 4 servers x 280m" in err
    assert not Path("rendered").exists()


def most_replicas() -> int:
    result = CliRunner().invoke(cli, ["capacity", "--format", "json"])
    assert result.exit_code == 0, result.output
    (fleet,) = json.loads(result.stdout)["pools"][0]["fleets"]
    return fleet["mostReplicas"]


def test_the_sidecar_passes_the_restricted_profile_and_checks_nothing_of_the_template(fleets: Path) -> None:
    write_pool(fleets, files={"pool.yaml": SDK_POOL, "fleet.yaml": SDK_FLEET})
    assert run("render")[0] == 0
    pod = rendered_pods()["arena-0"]
    found = [
        (rule.name, path)
        for rule in pod_security.rules_for("restricted")
        for check in rule.checks
        for path, _ in check.find(pod)
    ]
    assert found and not [(name, path) for name, path in found if path[:3] == ("spec", "initContainers", 0)]


POSITIONS = "fleets/pool-a/fleet.yaml"


@pytest.mark.parametrize(
    ("old", "new", "place", "message", "hint"),
    [
        (
            "agones: {version: 1.56.0}",
            "agones: {version: v1.56.0}",
            "10:23",
            "version 'v1.56.0' is not an Agones release (MAJOR.MINOR.PATCH)",
            "without a 'v', e.g. 1.56.0",
        ),
        (
            "agones: {version: 1.56.0}",
            "agones: {version: 1.28.0}",
            "10:23",
            "Agones 1.28.0 published its SDK server to gcr.io/agones-images",
            "set image: to the SDK server image you run",
        ),
        (
            "          image: example.com/arena:1.0\n",
            "          image: example.com/arena:1.0\n          ports: [{containerPort: 9357}]\n",
            "10:13",
            "grpcPort 9357 is also a port of the template's containers 'server': the containers of a Pod share "
            "its ports",
            "pick another port for the SDK server",
        ),
        (
            "agones: {version: 1.56.0}",
            "agones: {version: 1.56.0, httpPort: 9357}",
            "10:41",
            "httpPort 9357 is the grpcPort too",
            None,
        ),
        (
            "      containerPort: 7777\n",
            "      containerPort: 7777\n    - {name: rcon, portPolicy: Passthrough, protocol: TCP, range: sdk}\n",
            "10:13",
            "httpPort 9358 is also in range 'sdk', from which Passthrough port 'rcon' draws",
            None,
        ),
        (
            "          image: example.com/arena:1.0\n",
            "          image: example.com/arena:1.0\n          env: [{name: AGONES_SDK_GRPC_PORT, value: '1'}]\n",
            "21:24",
            "env AGONES_SDK_GRPC_PORT is set by fleetgen from spec.sdk.agones, as Agones sets it",
            "set spec.sdk.agones.grpcPort or httpPort to move the SDK server",
        ),
        (
            "          image: example.com/arena:1.0\n",
            "          image: example.com/arena:1.0\n        - {name: agones-gameserver-sidecar, image: x:1}\n",
            "21:18",
            "container name 'agones-gameserver-sidecar' is the Agones SDK sidecar's",
            "rename it",
        ),
    ],
    ids=["not-a-release", "before-the-registry", "port-clash", "two-apis-one-port", "passthrough-range", "env", "name"],
)
def test_sdk_rules(fleets: Path, old: str, new: str, place: str, message: str, hint: str | None) -> None:
    pool = edited(
        POOL,
        "    voice: {min: 9000, max: 9099}\n",
        "    voice: {min: 9000, max: 9099}\n    sdk: {min: 9300, max: 9399}\n",
    )
    fleet = edited(edited(FLEET, "  ports:\n", SDK + "  ports:\n"), old, new)
    write_pool(fleets, files={"pool.yaml": pool, "fleet.yaml": fleet})
    result = validate()
    assert result.exit_code == 1
    assert_printed(result, f"{POSITIONS}:{place}", message, hint)


def test_kubernetes_before_native_sidecars_is_refused(fleets: Path) -> None:
    pool = edited(POOL, "  namespace: games\n", "  namespace: games\n  podSecurity: none\n")
    write_pool(fleets, files={"pool.yaml": pool, "fleet.yaml": edited(FLEET, "  ports:\n", SDK + "  ports:\n")})
    assert validate("--kubernetes-version", "1.29").exit_code == 0
    result = validate("--kubernetes-version", "1.28")
    assert result.exit_code == 1
    assert_printed(
        result,
        f"{POSITIONS}:10:5",
        "the Agones SDK server runs as a native sidecar (an init container with restartPolicy: Always), which "
        "Kubernetes runs from 1.29 on; the target is 1.28",
        "target --kubernetes-version 1.29 or later, or remove spec.sdk",
    )


def test_a_pool_that_requires_digests_requires_one_on_the_sdk_image(fleets: Path) -> None:
    digest = "sha256:" + "4" * 64
    pool = edited(POOL, "  namespace: games\n", "  namespace: games\n  images: {requireDigest: true}\n")
    pinned = edited(FLEET, "image: example.com/arena:1.0", f"image: example.com/arena:1.0@{digest}")
    write_pool(fleets, files={"pool.yaml": pool, "fleet.yaml": edited(pinned, "  ports:\n", SDK + "  ports:\n")})
    result = validate()
    assert result.exit_code == 1
    assert_printed(
        result,
        f"{POSITIONS}:10:23",
        "image 'us-docker.pkg.dev/agones-images/release/agones-sdk:1.56.0' is not pinned by digest, and pool "
        "'pool-a' sets images.requireDigest",
        "set it as spec.sdk.agones.image",
    )
    mirror = f"registry.example.com/mirror/agones-sdk:1.56.0@{digest}"
    sdk = f"  sdk:\n    agones: {{version: 1.56.0, image: '{mirror}'}}\n"
    write_pool(fleets, files={"pool.yaml": pool, "fleet.yaml": edited(pinned, "  ports:\n", sdk + "  ports:\n")})
    assert validate().exit_code == 0
    assert run("render", "--fleets", "fleets")[0] == 0
    assert rendered_pods()["arena-0"]["spec"]["initContainers"][0]["image"] == mirror


def test_only_the_fleet_that_asks_for_the_sdk_changes_and_plan_restarts_it(repo: Path) -> None:
    before = {path: path.read_bytes() for path in sorted(Path("rendered").rglob("manifest.yaml"))}
    casual = Path("fleets/eu-west-1/casual.yaml")
    casual.write_text(edited(casual.read_text(), "  container: server\n", "  container: server\n" + SDK))
    code, out, err = run("plan")
    assert code == 0, err
    assert "casual-0" in out and "ranked-0" not in out
    assert run("render")[0] == 0
    after = {path: path.read_bytes() for path in sorted(Path("rendered").rglob("manifest.yaml"))}
    changed = sorted(str(path) for path in before if before[path] != after[path])
    assert changed == ["rendered/eu-west-1/casual-0/manifest.yaml"]
    for pod in yaml.safe_load_all(Path(changed[0]).read_text().split("\n", 1)[1]):
        assert pod["spec"]["initContainers"][0]["name"] == agones_sdk.SIDECAR_NAME


def test_on_a_windows_pod_the_sidecar_asks_only_for_a_non_root_user(fleets: Path) -> None:
    """The API server refuses Linux's security settings on a Pod whose spec.os.name is windows; Agones'
    Windows SDK image runs as ContainerUser, which runAsNonRoot accepts."""
    windows = SDK_FLEET.replace(
        "    spec:\n      initContainers:", "    spec:\n      os: {name: windows}\n      initContainers:"
    )
    write_pool(fleets, files={"pool.yaml": SDK_POOL, "fleet.yaml": windows})
    assert run("render")[0] == 0
    sidecar = rendered_pods()["arena-0"]["spec"]["initContainers"][0]
    assert sidecar["securityContext"] == {"runAsNonRoot": True}
    write_pool(fleets, files={"pool.yaml": SDK_POOL, "fleet.yaml": SDK_FLEET})
    assert run("render")[0] == 0
    assert rendered_pods()["arena-0"]["spec"]["initContainers"][0]["securityContext"]["runAsUser"] == 65532
