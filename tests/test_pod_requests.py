"""A Pod's requests as the scheduler counts them, seen through the CLI: what one server uses of its node."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_render import snapshot_of
from test_validate import POOL, assert_printed

from generator.cli import cli

Mi = 2**20
FLEET = """\
apiVersion: fleetgen.dev/v1alpha1
kind: Fleet
metadata:
  name: arena
spec:
  replicas: 1
  ports:
    - name: game
      containerPort: 7777
  template:
    spec:
"""
SERVER = """\
containers:
  - name: server
    image: example.com/arena:1.0
    resources: {requests: {cpu: 500m, memory: 512Mi}}
"""


@pytest.fixture
def fleets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return Path("fleets")


def write(fleets: Path, pod_spec: str, pool: str = POOL, replicas: int = 1) -> None:
    folder = fleets / "pool-a"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pool.yaml").write_text(pool)
    fleet = FLEET.replace("replicas: 1", f"replicas: {replicas}") + textwrap.indent(pod_spec, " " * 6)
    (folder / "fleet.yaml").write_text(fleet)


def used_by_one_server(fleets: Path) -> tuple[int, int]:
    """(millicores, bytes) the node gives the fleet's one server, as `capacity --format json` reports it."""
    result = CliRunner().invoke(cli, ["capacity", "--fleets", str(fleets), "--format", "json"])
    assert result.exit_code == 0, result.output
    node = json.loads(result.stdout)["pools"][0]["nodes"][0]
    used = {resource["resource"]: resource["used"] for resource in node["resources"]}
    return used["cpu"], used["memory"]


RULES = [
    pytest.param(SERVER, (500, 512 * Mi), id="app-container"),
    pytest.param(
        "containers:\n  - {name: server, image: x:1, resources: {limits: {cpu: '2', memory: 1Gi}}}\n",
        (2000, 1024 * Mi),
        id="a-limit-without-request-is-the-request",
    ),
    pytest.param(
        "initContainers:\n"
        "  - {name: agent, image: x:1, restartPolicy: Always, resources: {requests: {cpu: '1', memory: 256Mi}}}\n"
        + SERVER,
        (1500, 768 * Mi),
        id="sidecars-add-to-the-app-containers",
    ),
    pytest.param(
        "initContainers:\n  - {name: warm, image: x:1, resources: {requests: {cpu: '3', memory: 128Mi}}}\n" + SERVER,
        (3000, 512 * Mi),
        id="the-largest-init-container-per-resource",
    ),
    pytest.param(
        "initContainers:\n"
        "  - {name: agent, image: x:1, restartPolicy: Always, resources: {requests: {cpu: '1'}}}\n"
        "  - {name: warm, image: x:1, resources: {requests: {cpu: '3'}}}\n" + SERVER,
        (4000, 512 * Mi),
        id="an-init-container-runs-beside-the-sidecars-started-before-it",
    ),
    pytest.param(
        "initContainers:\n"
        "  - {name: warm, image: x:1, resources: {requests: {cpu: '3'}}}\n"
        "  - {name: agent, image: x:1, restartPolicy: Always, resources: {requests: {cpu: '1'}}}\n" + SERVER,
        (3000, 512 * Mi),
        id="but-not-beside-sidecars-started-after-it",
    ),
    pytest.param(
        "resources: {requests: {cpu: '6'}}\n" + SERVER,
        (6000, 512 * Mi),
        id="pod-level-requests-win-per-resource",
    ),
    pytest.param(
        "resources: {limits: {cpu: '4', memory: 2Gi}}\n"
        "containers:\n  - {name: server, image: x:1, resources: {requests: {memory: 512Mi}}}\n",
        (4000, 512 * Mi),
        id="pod-level-limits-count-for-what-no-container-states",
    ),
    pytest.param(
        "overhead: {cpu: 250m, memory: 120Mi}\n" + SERVER,
        (750, 632 * Mi),
        id="overhead-adds-to-the-containers",
    ),
    pytest.param(
        "overhead: {cpu: 250m}\nresources: {requests: {cpu: '2'}}\n" + SERVER,
        (2250, 512 * Mi),
        id="overhead-adds-to-pod-level-requests",
    ),
]


@pytest.mark.parametrize(("pod_spec", "expected"), RULES)
def test_a_server_uses_what_the_scheduler_counts(fleets: Path, pod_spec: str, expected: tuple[int, int]) -> None:
    write(fleets, pod_spec)
    assert used_by_one_server(fleets) == expected


def test_pod_level_requests_keep_servers_off_a_node_they_do_not_fit(fleets: Path) -> None:
    """The issue's case: ten servers asking 6 CPU each at the Pod level do not fit on an 8-CPU node."""
    write(fleets, "resources: {requests: {cpu: '6'}}\n" + SERVER, POOL.replace('cpu: "16"', 'cpu: "8"'), replicas=10)
    before = snapshot_of(fleets)
    result = CliRunner().invoke(cli, ["render", "--fleets", str(fleets), "--out", "rendered"])
    assert result.exit_code == 1, result.output
    assert_printed(
        result,
        "fleets/pool-a/fleet.yaml:6:13",
        "9 server(s) do not fit: cpu ran out (needed 10 servers x 6,000m cpu, available 8,000m free cpu",
    )
    assert snapshot_of(fleets) == before
    assert not Path("rendered").exists()


@pytest.mark.parametrize(
    ("pod_spec", "place"),
    [
        pytest.param("resources: {requests: {cpu: lots}}\n" + SERVER, "fleet.yaml:12:35", id="pod-level"),
        pytest.param("overhead: {memory: 1Qi}\n" + SERVER, "fleet.yaml:12:26", id="overhead"),
    ],
)
def test_a_pod_level_amount_that_is_not_a_quantity(fleets: Path, pod_spec: str, place: str) -> None:
    write(fleets, pod_spec)
    result = CliRunner().invoke(cli, ["validate", "--fleets", str(fleets)])
    assert result.exit_code == 1
    assert_printed(result, f"fleets/pool-a/{place}", "is not a Kubernetes quantity", "write e.g. 500m or 2Gi")


def test_pod_level_resources_before_kubernetes_1_32_say_which_version_knows_them(fleets: Path) -> None:
    write(fleets, "resources: {requests: {cpu: '6'}}\n" + SERVER)
    result = CliRunner().invoke(cli, ["validate", "--fleets", str(fleets), "--kubernetes-version", "1.31"])
    assert result.exit_code == 1
    assert_printed(
        result, "fleets/pool-a/fleet.yaml:12:7", "unknown field 'resources'", "need Kubernetes 1.32 or later"
    )
