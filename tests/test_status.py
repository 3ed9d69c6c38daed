"""fleetgen status through the real CLI: the rendered example Pods, turned into what the API server returns
for running Pods, then changed the way a cluster changes them (Pending, ImagePullBackOff, evicted, ...)."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from test_render import EXAMPLES, documents

from generator.cli import cli

STATES = ["missing", "node-gone", "wrong-node", "outdated", "failed", "pending", "not-ready", "ok"]
HOST_IPS = {"fra-gs-01": "10.20.0.11", "fra-gs-02": "10.20.0.12", "fra-gs-03": "10.20.0.13", "fra-gs-04": "10.20.0.14"}
UNSCHEDULABLE = (
    "0/4 nodes are available: 1 node(s) didn't have free ports for the requested pod ports, 3 node(s) didn't "
    "match Pod's node affinity/selector. preemption: 0/4 nodes are available: 4 Preemption is not helpful for "
    "scheduling."
)
EVICTED = (
    "The node was low on resource: memory. Threshold quantity: 100Mi, available: 91520Ki. Container server was "
    "using 4012396Ki, request is 4Gi, has larger consumption of memory. "
)


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example fleets, rendered, as the working directory."""
    shutil.copytree(EXAMPLES, tmp_path / "fleets")
    monkeypatch.chdir(tmp_path)
    assert run("render")[0] == 0
    return tmp_path


def condition(kind: str, status: str = "True", reason: str = "", message: str = "") -> dict:
    found = {"type": kind, "status": status, "lastProbeTime": None, "lastTransitionTime": "2026-03-02T10:00:04Z"}
    return {**found, **({"reason": reason} if reason else {}), **({"message": message} if message else {})}


def container_status(container: dict, ready: bool = True, state: dict | None = None, restarts: int = 0) -> dict:
    """An entry of status.containerStatuses, running unless `state` says otherwise."""
    return {
        "name": container["name"],
        "image": container["image"],
        "imageID": container["image"].rsplit(":", 1)[0] + "@sha256:" + "4f" * 32,
        "containerID": "containerd://" + "a1" * 32,
        "ready": ready,
        "started": ready,
        "restartCount": restarts,
        "state": state or {"running": {"startedAt": "2026-03-02T10:00:03Z"}},
        "lastState": {},
    }


def served(pod: dict) -> dict:
    """A rendered Pod as `kubectl get pods -o json` shows it once it runs: bound to its node, with the API
    server's defaults and a Running status."""
    pod = copy.deepcopy(pod)
    spec, metadata = pod["spec"], pod["metadata"]
    node = spec.get("nodeName") or spec["nodeSelector"]["kubernetes.io/hostname"]
    metadata.update(uid="6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f", resourceVersion="48213")
    metadata["creationTimestamp"] = "2026-03-02T10:00:00Z"
    spec.update(nodeName=node, restartPolicy="Always", dnsPolicy="ClusterFirst", schedulerName="default-scheduler")
    spec.update(serviceAccountName="default", enableServiceLinks=True, priority=0)
    for container in spec["containers"]:
        container.setdefault("imagePullPolicy", "IfNotPresent")
        container.setdefault("terminationMessagePath", "/dev/termination-log")
    host_ip = HOST_IPS.get(node, "10.0.1.21")
    pod["status"] = {
        "phase": "Running",
        "conditions": [
            condition("PodReadyToStartContainers"),
            condition("Initialized"),
            condition("Ready"),
            condition("ContainersReady"),
            condition("PodScheduled"),
        ],
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "podIP": "10.8.1.17",
        "podIPs": [{"ip": "10.8.1.17"}],
        "qosClass": "Burstable",
        "startTime": "2026-03-02T10:00:01Z",
        "containerStatuses": [container_status(container) for container in spec["containers"]],
    }
    return pod


def live_pods(repo: Path) -> list[dict]:
    return [served(doc) for doc in documents(repo / "rendered") if doc["kind"] == "Pod"]


def pod_list(pods: list[dict], kind: str = "List") -> dict:
    return {"apiVersion": "v1", "kind": kind, "metadata": {"resourceVersion": ""}, "items": pods}


def node(
    name: str, ready: str = "True", reason: str = "KubeletReady", message: str = "kubelet is posting ready status"
) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "spec": {"podCIDR": "10.8.1.0/24"},
        "status": {
            "addresses": [{"type": "InternalIP", "address": HOST_IPS.get(name, "10.0.1.21")}],
            "conditions": [
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory"),
                condition("Ready", ready, reason, message),
            ],
        },
    }


def write(path: Path, document: dict) -> str:
    path.write_text(json.dumps(document))
    return str(path)


def status_json(*args: str) -> tuple[int, dict]:
    code, out, err = run("status", *args, "--format", "json")
    assert code in (0, 1), err
    return code, json.loads(out)


def by_server(report: dict) -> dict[str, tuple[str, str]]:
    return {row["server"]: (row["state"], row["reason"]) for row in report["servers"]}


def the_pod(pods: list[dict], name: str) -> dict:
    return next(pod for pod in pods if pod["metadata"]["name"] == name)


def test_a_cluster_running_exactly_the_rendered_pods_is_all_ok(repo: Path) -> None:
    pods = live_pods(repo)
    nodes = [node(name) for name in (*HOST_IPS, "ip-10-0-1-21.ec2.internal", "ip-10-0-2-22.ec2.internal")]
    code, report = status_json(
        "--pods", write(repo / "pods.json", pod_list(pods)), "--nodes", write(repo / "n.json", pod_list(nodes))
    )
    assert code == 0
    assert len(report["servers"]) == 15 and {row["state"] for row in report["servers"]} == {"ok"}
    assert report["orphans"] == []
    assert report["summary"]["total"] == {state: (15 if state == "ok" else 0) for state in STATES}
    # The same Pods as `kubectl get pods -A -o yaml` prints them, piped in.
    code, table, _ = run("status", "--pods", "-", stdin=yaml.safe_dump(pod_list(pods, "PodList")))
    assert code == 0
    assert table.splitlines()[0].split() == ["POOL", "FLEET", "SERVER", "NODE", "STATE", "REASON"]
    assert "ranked-5     fra-gs-01                  ok" in table
    assert table.endswith("15 servers: 15 ok; 0 orphans\n")


def unschedulable(pod: dict) -> None:
    del pod["spec"]["nodeName"]
    message = UNSCHEDULABLE
    pod["status"] = {
        "phase": "Pending",
        "conditions": [condition("PodScheduled", "False", "Unschedulable", message)],
        "qosClass": "Burstable",
    }


def waiting(reason: str, message: str, phase: str = "Pending", restarts: int = 0) -> Callable[[dict], None]:
    """The server container waits for `reason`; the Pod is scheduled but not ready."""

    def change(pod: dict) -> None:
        status = pod["status"]
        status["phase"] = phase
        status["conditions"][2:4] = [
            condition("Ready", "False", "ContainersNotReady", "containers with unready status: [server]"),
            condition("ContainersReady", "False", "ContainersNotReady", "containers with unready status: [server]"),
        ]
        server = pod["spec"]["containers"][0]
        entry = container_status(server, False, {"waiting": {"reason": reason, "message": message}}, restarts)
        if restarts:
            entry["lastState"] = {
                "terminated": {"exitCode": 139, "reason": "Error", "finishedAt": "2026-03-02T10:20:00Z"}
            }
        status["containerStatuses"][0] = entry

    return change


def evicted(pod: dict) -> None:
    pod["status"].update(phase="Failed", reason="Evicted", message=EVICTED)
    terminated = {"terminated": {"exitCode": 137, "reason": "Error", "finishedAt": "2026-03-02T11:00:00Z"}}
    pod["status"]["containerStatuses"] = [container_status(c, False, terminated) for c in pod["spec"]["containers"]]


def exited(pod: dict) -> None:
    pod["status"]["phase"] = "Failed"
    terminated = {"terminated": {"exitCode": 2, "reason": "Error", "finishedAt": "2026-03-02T11:00:00Z"}}
    pod["status"]["containerStatuses"][0] = container_status(pod["spec"]["containers"][0], False, terminated)


def not_ready(pod: dict) -> None:
    waiting("", "", phase="Running")(pod)
    pod["status"]["containerStatuses"][0] = container_status(pod["spec"]["containers"][0], ready=False)


def on_node(name: str) -> Callable[[dict], None]:
    def change(pod: dict) -> None:
        pod["spec"]["nodeName"] = name

    return change


def older_image(pod: dict) -> None:
    pod["spec"]["containers"][0]["image"] = "registry.example.com/starfall/server:1.41.2"
    pod["status"]["containerStatuses"][0]["image"] = "registry.example.com/starfall/server:1.41.2"


def older_template(pod: dict) -> None:
    pod["metadata"]["labels"]["fleetgen.dev/template-hash"] = "0123456789"


def moved_ports(pod: dict) -> None:
    """The Pod of before a render gave the server other ports: its hostPort and FLEETGEN_PORT_GAME differ."""
    container = pod["spec"]["containers"][0]
    container["ports"][0]["hostPort"] = 7042
    next(env for env in container["env"] if env["name"] == "FLEETGEN_PORT_GAME")["value"] = "7042"


@pytest.mark.parametrize(
    ("server", "change", "state", "reason"),
    [
        ("ranked-1", unschedulable, "pending", "Unschedulable: " + UNSCHEDULABLE.rstrip()),
        (
            "ranked-2",
            waiting("ImagePullBackOff", 'Back-off pulling image "registry.example.com/starfall/server:1.42.0"'),
            "failed",
            'ImagePullBackOff: Back-off pulling image "registry.example.com/starfall/server:1.42.0" (container server)',
        ),
        (
            "ranked-2",
            waiting("ErrImagePull", "rpc error: code = NotFound desc = failed to pull and unpack image"),
            "failed",
            "ErrImagePull: rpc error: code = NotFound desc = failed to pull and unpack image (container server)",
        ),
        (
            "ranked-3",
            waiting(
                "CrashLoopBackOff",
                "back-off 5m0s restarting failed container=server pod=ranked-3_game-servers(6f1c2d3e)",
                phase="Running",
                restarts=12,
            ),
            "failed",
            "CrashLoopBackOff: back-off 5m0s restarting failed container=server pod=ranked-3_game-servers(6f1c2d3e) "
            "(container server, 12 restarts)",
        ),
        (
            "ranked-3",
            waiting("CreateContainerConfigError", 'secret "ranked-tokens" not found'),
            "failed",
            'CreateContainerConfigError: secret "ranked-tokens" not found (container server)',
        ),
        ("ranked-2", waiting("ContainerCreating", ""), "pending", "ContainerCreating (container server)"),
        ("ranked-4", evicted, "failed", "Evicted: " + EVICTED.rstrip()),
        ("ranked-4", exited, "failed", "container server: Error (exit code 2)"),
        ("ranked-5", not_ready, "not-ready", "ContainersNotReady: containers with unready status: [server]"),
        ("ranked-0", on_node("fra-gs-02"), "wrong-node", "the Pod is on node fra-gs-02, planned on fra-gs-01"),
        (
            "ranked-0",
            older_image,
            "outdated",
            "container server runs registry.example.com/starfall/server:1.41.2, "
            "rendered registry.example.com/starfall/server:1.42.0",
        ),
        ("ranked-0", older_template, "outdated", "template-hash 0123456789, rendered "),
        (
            "ranked-0",
            moved_ports,
            "outdated",
            "container server ports game 7042:7777/UDP, rendered game 7002:7777/UDP; "
            "container server FLEETGEN_PORT_GAME=7042, rendered 7002",
        ),
    ],
    ids=[
        "pending-unschedulable",
        "image-pull-backoff",
        "err-image-pull",
        "crash-loop-backoff",
        "create-container-config-error",
        "container-creating",
        "evicted",
        "exited",
        "not-ready",
        "wrong-node",
        "older-image",
        "older-template",
        "moved-ports",
    ],
)
def test_each_state_is_told_with_the_pods_own_reason(
    repo: Path,
    server: str,
    change: Callable[[dict], None],
    state: str,
    reason: str,
) -> None:
    pods = live_pods(repo)
    change(the_pod(pods, server))
    code, report = status_json("--pods", write(repo / "pods.json", pod_list(pods)))
    assert code == 1
    states = by_server(report)
    assert states.pop(server)[0] == state
    assert {found for found, _ in states.values()} == {"ok"}, "no other server is affected"
    (row,) = [row for row in report["servers"] if row["server"] == server]
    assert row["reason"].startswith(reason), row["reason"]
    assert report["summary"]["pools"]["eu-west-1"]["ranked"][state] == 1


def test_a_pod_the_kubelet_rejects_for_its_host_ports_is_failed(repo: Path) -> None:
    """us-east-1 pins with nodeName: no scheduler checks the fit, the kubelet rejects the Pod for good."""
    pods = live_pods(repo)
    pod = the_pod(pods, "community-0")
    message = "Pod was rejected: Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports"
    pod["status"] = {"phase": "Failed", "reason": "NodePorts", "message": message, "startTime": "2026-03-02T10:00:01Z"}
    code, report = status_json("--pods", write(repo / "p.json", pod_list(pods)), "--pool", "us-east-1")
    assert code == 1
    assert by_server(report)["community-0"] == ("failed", f"NodePorts: {message}")


def test_missing_and_node_gone(repo: Path) -> None:
    pods = [pod for pod in live_pods(repo) if pod["metadata"]["name"] != "relay-2"]
    nodes = [
        node("fra-gs-01"),
        node("fra-gs-03", "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status."),
        node("ip-10-0-1-21.ec2.internal"),
        node("ip-10-0-2-22.ec2.internal"),
    ]
    code, report = status_json(
        "--pods", write(repo / "p.json", pod_list(pods)), "--nodes", write(repo / "n.json", pod_list(nodes))
    )
    assert code == 1
    states = by_server(report)
    assert states["relay-2"] == ("missing", "no Pod named relay-2 in namespace game-servers-us")
    assert states["casual-1"] == ("node-gone", "node fra-gs-02 is not in the cluster")
    assert states["casual-2"] == (
        "node-gone",
        "node fra-gs-03 is not Ready: Unknown: NodeStatusUnknown: Kubelet stopped posting node status.",
    )
    assert sum(state == "ok" for state, _ in states.values()) == 12
    # Without --nodes, nothing is known of the nodes: those servers' Pods run, so they are ok.
    code, report = status_json("--pods", str(repo / "p.json"))
    assert by_server(report)["casual-2"] == ("ok", "")


def test_the_first_state_that_applies_is_told(repo: Path) -> None:
    pods = live_pods(repo)
    for name, change in [("ranked-1", on_node("fra-gs-02")), ("ranked-1", evicted), ("ranked-2", older_image)]:
        change(the_pod(pods, name))
    waiting("CrashLoopBackOff", "back-off 40s restarting failed container=server", "Running", 3)(
        the_pod(pods, "ranked-2")
    )
    pods.remove(the_pod(pods, "casual-2"))
    nodes = [node(name, "False", "KubeletNotReady", "container runtime is down") for name in HOST_IPS]
    _, report = status_json(
        "--pods",
        write(repo / "p.json", pod_list(pods)),
        "--nodes",
        write(repo / "n.json", pod_list(nodes)),
        "--pool",
        "eu-west-1",
    )
    states = {server: state for server, (state, _) in by_server(report).items()}
    assert states["casual-2"] == "missing", "missing comes before node-gone"
    assert states["ranked-1"] == "node-gone", "node-gone comes before wrong-node"
    assert states["casual-0"] == "node-gone"
    nodes = [node(name) for name in HOST_IPS]
    _, report = status_json(
        "--pods", str(repo / "p.json"), "--nodes", write(repo / "n.json", pod_list(nodes)), "--pool", "eu-west-1"
    )
    states = {server: state for server, (state, _) in by_server(report).items()}
    assert states["ranked-1"] == "wrong-node", "wrong-node comes before failed"
    assert states["ranked-2"] == "outdated", "outdated comes before failed"


def test_a_pod_bound_to_no_node_yet_is_not_on_a_wrong_node(repo: Path) -> None:
    pods = live_pods(repo)
    pod = the_pod(pods, "casual-3")
    del pod["spec"]["nodeName"]
    pod["status"] = {"phase": "Pending", "qosClass": "Burstable"}  # created, not yet seen by the scheduler
    code, report = status_json("--pods", write(repo / "p.json", pod_list(pods)))
    assert by_server(report)["casual-3"] == ("pending", "not scheduled yet")
    assert code == 1


def fleetgen_pod(pods: list[dict], like: str, name: str, pool: str | None = None) -> dict:
    """A Pod fleetgen rendered once (`like`'s twin under another name, e.g. before a scale-down)."""
    pod = copy.deepcopy(the_pod(pods, like))
    pod["metadata"]["name"] = name
    pod["metadata"]["labels"]["fleetgen.dev/server"] = name
    if pool:
        pod["metadata"]["labels"]["fleetgen.dev/pool"] = pool
    return pod


def test_orphans_are_fleetgen_pods_of_the_asked_pools_that_the_desired_state_does_not_hold(repo: Path) -> None:
    pods = live_pods(repo)
    scaled_down = fleetgen_pod(pods, "ranked-5", "ranked-6")
    unbound = fleetgen_pod(pods, "relay-2", "relay-3")
    del unbound["spec"]["nodeName"]
    other_repository = fleetgen_pod(pods, "casual-0", "casual-9", pool="ap-south-1")
    foreign = copy.deepcopy(the_pod(pods, "ranked-0"))
    foreign["metadata"].update(name="coredns-5d78c9869d-7xk2p", namespace="kube-system", labels={"k8s-app": "kube-dns"})
    path = write(repo / "p.json", pod_list([*pods, scaled_down, unbound, other_repository, foreign]))
    code, report = status_json("--pods", path)
    assert code == 1, "an orphan alone fails the status"
    assert {state for state, _ in by_server(report).values()} == {"ok"}
    assert report["orphans"] == [
        {"namespace": "game-servers", "name": "ranked-6", "node": "fra-gs-01"},
        {"namespace": "game-servers-us", "name": "relay-3", "node": None},
    ]
    assert report["summary"]["orphans"] == 2
    code, report = status_json("--pods", path, "--pool", "us-east-1")
    assert [orphan["name"] for orphan in report["orphans"]] == ["relay-3"]
    code, report = status_json("--pods", path, "--fleet", "casual")
    assert report["orphans"] == []
    code, table, _ = run("status", "--pods", path)
    rows = [line.split() for line in table.splitlines()]
    at = rows.index(["ORPHAN", "POD", "NODE"])
    assert rows[at + 1 : at + 3] == [["game-servers/ranked-6", "fra-gs-01"], ["game-servers-us/relay-3", "-"]]
    assert table.endswith("15 servers: 15 ok; 2 orphans\n")


def test_pool_and_fleet_filters(repo: Path) -> None:
    path = write(repo / "p.json", pod_list(live_pods(repo)))
    code, report = status_json("--pods", path, "--pool", "eu-west-1", "--fleet", "ranked")
    assert code == 0
    assert [row["server"] for row in report["servers"]] == [f"ranked-{i}" for i in range(6)]
    assert list(report["summary"]["pools"]) == ["eu-west-1"]
    assert list(report["summary"]["pools"]["eu-west-1"]) == ["ranked"]
    code, _, err = run("status", "--pods", path, "--pool", "eu-west-1", "--fleet", "relay")
    assert code == 2 and "no fleet named 'relay'" in err, "relay is a fleet of another pool"
    code, _, err = run("status", "--pods", path, "--fleet", "rankd")
    assert code == 2 and "did you mean 'ranked'?" in err


def test_the_json_has_exactly_the_documented_shape(repo: Path) -> None:
    pods = live_pods(repo)
    unschedulable(the_pod(pods, "casual-0"))
    pods.append(fleetgen_pod(pods, "ranked-5", "ranked-6"))
    code, report = status_json("--pods", write(repo / "p.json", pod_list(pods)))
    assert code == 1
    assert list(report) == ["servers", "orphans", "summary"]
    assert report["servers"][0] == {
        "pool": "eu-west-1",
        "fleet": "casual",
        "server": "casual-0",
        "namespace": "game-servers",
        "node": "fra-gs-01",
        "state": "pending",
        "reason": "Unschedulable: " + UNSCHEDULABLE.rstrip(),
    }
    assert all(list(row) == list(report["servers"][0]) for row in report["servers"])
    assert report["orphans"] == [{"namespace": "game-servers", "name": "ranked-6", "node": "fra-gs-01"}]
    summary = report["summary"]
    assert summary["servers"] == 15 and summary["orphans"] == 1
    assert summary["pools"]["eu-west-1"]["casual"] == {state: {"pending": 1, "ok": 3}.get(state, 0) for state in STATES}
    assert summary["total"]["ok"] == 14 and list(summary["total"]) == STATES


def test_markdown_is_a_table_for_a_pull_request_comment(repo: Path) -> None:
    pods = live_pods(repo)
    unschedulable(the_pod(pods, "casual-0"))
    pods.remove(the_pod(pods, "relay-0"))
    code, text, _ = run("status", "--pods", write(repo / "p.json", pod_list(pods)), "--format", "markdown")
    assert code == 1
    lines = text.splitlines()
    assert lines[:3] == ["## fleetgen status", "", "**13 of 15 servers ok**, 0 orphans."]
    assert (
        "| pool | fleet | servers | missing | node-gone | wrong-node | outdated | failed | pending | not-ready | ok |"
        in lines
    )
    assert "| `eu-west-1` | `casual` | 4 | 0 | 0 | 0 | 0 | 0 | 1 | 0 | 3 |" in lines
    assert "### Servers not ok (2)" in lines
    assert f"| `eu-west-1` | `casual-0` | `fra-gs-01` | pending | Unschedulable: {UNSCHEDULABLE.rstrip()} |" in lines
    missing = "| `us-east-1` | `relay-0` | `ip-10-0-1-21.ec2.internal` | missing |"
    assert f"{missing} no Pod named relay-0 in namespace game-servers-us |" in lines


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "pods.json: error: cannot be read: No such file or directory"),
        ("", "pods.json: error: is empty"),
        (json.dumps(pod_list([node("fra-gs-01")], "NodeList")), "expected a PodList or a List of Pods, not a NodeList"),
        (
            json.dumps(
                pod_list(
                    [
                        {
                            "kind": "Pod",
                            "metadata": {"name": "ranked-0", "namespace": "game-servers"},
                            "spec": {"containers": "server"},
                        }
                    ]
                )
            ),
            "Pod ranked-0 (items[0]): spec.containers must be a list, not a string",
        ),
        (
            json.dumps(
                pod_list(
                    [
                        {
                            "kind": "Pod",
                            "metadata": {"name": "ranked-0", "namespace": "g"},
                            "spec": {
                                "containers": [{"name": "server", "image": "a", "ports": [{"containerPort": "7777"}]}]
                            },
                        }
                    ]
                )
            ),
            "Pod ranked-0 (items[0]): spec.containers[0].ports[0].containerPort must be a number, not a string",
        ),
    ],
    ids=["absent", "empty", "node-list", "containers-not-a-list", "port-not-a-number"],
)
def test_what_cannot_be_read_is_named_and_exits_1(repo: Path, content: str | None, message: str) -> None:
    if content is not None:
        (repo / "pods.json").write_text(content)
    code, out, err = run("status", "--pods", "pods.json")
    assert code == 1
    assert message in err and "hint: " in err
    assert out == "" and "Traceback" not in err


def test_usage_errors_exit_2(repo: Path) -> None:
    assert run("status")[0] == 2, "--pods is required"
    code, _, err = run("status", "--pods", "-", "--nodes", "-")
    assert code == 2 and "cannot both read stdin" in err
    assert run("status", "--pods", "-", "--format", "yaml")[0] == 2


def other_apps_pod(index: int) -> dict:
    """A Pod of another team's Deployment, as `kubectl get pods -A` lists it beside fleetgen's: applied with
    `kubectl apply`, so it carries its whole last-applied configuration (tens of KB) as an annotation."""
    name = f"web-7d4b9c8f5d-{index:05d}"
    applied = json.dumps({"kind": "Deployment", "spec": {"template": {"data": "x" * 20_000}}})
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "shop",
            "labels": {"app": "web", "pod-template-hash": "7d4b9c8f5d"},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": applied},
        },
        "spec": {"nodeName": "ip-10-0-1-21.ec2.internal", "containers": [{"name": "web", "image": "nginx:1.27"}]},
        "status": {"phase": "Running", "conditions": [condition("Ready")]},
    }


def peak_rss_mib(repo: Path, pods: Path) -> float:
    """`fleetgen status --pods PODS` in a fresh process, which must find every server ok: its peak RSS."""
    command = [sys.executable, "-m", "generator", "status", "--pods", str(pods)]
    process = subprocess.Popen(command, cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return usage.ru_maxrss / 1024


def test_a_large_pod_list_is_read_pod_by_pod_not_held_whole(repo: Path) -> None:
    """150,000 Pods are about 1.5 GB of JSON: status keeps what it needs of each Pod, never the whole text
    or a parsed copy of it. Here 120 MB of other teams' Pods may add no more than a fraction of that."""
    pods = live_pods(repo)
    small = Path(write(repo / "small.json", pod_list(pods)))
    large = repo / "large.json"
    with large.open("w") as handle:  # written a Pod at a time, as kubectl prints it (indent 4)
        handle.write('{\n    "apiVersion": "v1",\n    "items": [\n')
        for index in range(6_000):
            handle.write(json.dumps(other_apps_pod(index), indent=4) + ",\n")
        handle.write(",\n".join(json.dumps(pod, indent=4) for pod in pods))
        handle.write('\n    ],\n    "kind": "List",\n    "metadata": {"resourceVersion": ""}\n}\n')
    assert large.stat().st_size > 110 * 2**20
    assert peak_rss_mib(repo, large) - peak_rss_mib(repo, small) < 40
