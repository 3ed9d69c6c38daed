"""`fleetgen nodes sync`: each provider's Node list becomes a pool's nodes, and only what changed changes.

Every case runs the real CLI on a repository in tmp_path, from the Node lists in tests/fixtures/nodes/ (the
shapes GKE, EKS, AKS, kubeadm and a dual-stack node report), and reads the files it wrote.
"""

from __future__ import annotations

import copy
import difflib
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from test_validate import write_pool

from generator.cli import cli
from generator.edits import edit

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "nodes"

FLEET = """\
apiVersion: fleetgen.dev/v1alpha1
kind: Fleet
metadata:
  name: arena
spec:
  replicas: {replicas}
  scheduling: Distributed
  ports:
    - name: game
      containerPort: 7777
  template:
    spec:
      containers:
        - name: server
          image: example.com/arena:1.0
          resources: {{requests: {{cpu: "1", memory: 2Gi}}}}
"""


def pool(name: str, discovery: str, nodes: str = "  nodes: []\n") -> str:
    """A pool.yaml with `discovery` as the body of spec.nodeDiscovery (indented four spaces) and `nodes`."""
    return (
        f"apiVersion: fleetgen.dev/v1alpha1\nkind: NodePool\nmetadata:\n  name: {name}\nspec:\n"
        f"  namespace: {name}\n  nodeDiscovery:\n{discovery}{nodes}"
    )


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(root: Path, name: str, pool_text: str, replicas: int = 2, fleet: str = FLEET) -> Path:
    files = {"pool.yaml": pool_text, "arena.yaml": fleet.format(replicas=replicas)}
    return write_pool(root / "fleets", name, files) / "pool.yaml"


def sync(*args: str, stdin: str | None = None) -> Result:
    result = CliRunner().invoke(cli, ["nodes", "sync", *args], input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result


def nodes_of(path: Path) -> str:
    """The text of spec.nodes: from the `  nodes:` line to the end (the pools here end with it)."""
    text = path.read_text()
    return text[text.index("  nodes:") :]


def files(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()
    }


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


# --- Each provider's Nodes -----------------------------------------------------------------------------------


GKE = """\
    selector: {cloud.google.com/gke-nodepool: game-eu}
    copyLabels: [topology.kubernetes.io/zone, node.kubernetes.io/instance-type]
    overhead: {pods: 8, cpu: 410m, memory: 1Gi}
"""


def test_gke_external_ips_capacity_less_overhead_and_a_node_that_stopped_reporting(root: Path) -> None:
    path = write(root, "game-eu", pool("game-eu", GKE))
    result = sync("game-eu", "--from", str(FIXTURES / "gke.json"))
    assert result.exit_code == 0, result.stderr
    zone, machine = "topology.kubernetes.io/zone", "node.kubernetes.io/instance-type: e2-standard-8"
    assert nodes_of(path) == (
        "  nodes:\n"
        "    - name: gke-prod-eu-game-eu-5f2a9c1e-7xkq\n"
        "      address: 203.0.113.12\n"
        f"      labels: {{{zone}: europe-west1-b, {machine}}}\n"
        "      capacity: {pods: 102, cpu: 7500m, memory: 28209524Ki}\n"
        "    - name: gke-prod-eu-game-eu-5f2a9c1e-m4zt\n"
        "      address: 203.0.113.13\n"
        f"      labels: {{{zone}: europe-west1-c, {machine}}}\n"
        "      capacity: {pods: 102, cpu: 7500m, memory: 28209524Ki}\n"
        "      unschedulable: true\n"
        "    - name: gke-prod-eu-game-eu-5f2a9c1e-q9vd\n"
        "      address: 203.0.113.14\n"
        f"      labels: {{{zone}: europe-west1-d, {machine}}}\n"
        "      capacity: {pods: 102, cpu: 7500m, memory: 28209524Ki}\n"
    )
    assert "unschedulable: Ready is Unknown (NodeStatusUnknown)" in result.stdout
    assert "default-pool" not in path.read_text()
    assert sync("game-eu", "--from", str(FIXTURES / "gke.json")).exit_code == 0
    assert CliRunner().invoke(cli, ["check"]).exit_code == 0


def test_eks_external_ip_not_dns_a_cordoned_node_and_a_spot_label(root: Path) -> None:
    discovery = "    selector: {eks.amazonaws.com/nodegroup: game}\n    copyLabels: [eks.amazonaws.com/capacityType]\n"
    path = write(root, "game", pool("game", discovery))
    result = sync("game", "--from", str(FIXTURES / "eks.json"), "--no-render")
    assert result.exit_code == 0, result.stderr
    text = nodes_of(path)
    assert [line.split(": ", 1)[1] for line in text.splitlines() if "address:" in line] == [
        "203.0.113.21",
        "203.0.113.22",
        "203.0.113.23",
    ]
    assert "    - name: ip-10-0-2-22.eu-west-1.compute.internal\n" in text
    assert "      capacity: {pods: 58, cpu: 7910m, memory: 15076868Ki}\n      unschedulable: true\n" in text
    assert "      labels: {eks.amazonaws.com/capacityType: SPOT}\n" in text
    assert "ip-10-0-1-9" not in text  # the system node group
    assert "ip-10-0-2-22.eu-west-1.compute.internal: added (203.0.113.22, 58 pods" in result.stdout
    assert "unschedulable: cordoned in the cluster (spec.unschedulable))" in result.stdout


def test_aks_nodes_without_public_ips_have_no_external_ip(root: Path) -> None:
    path = write(root, "game", pool("game", "    selector: {kubernetes.azure.com/agentpool: game}\n"))
    before = files(root)
    result = sync("game", "--from", str(FIXTURES / "aks.json"))
    assert result.exit_code == 1
    assert (
        "error: Node aks-game-31415926-vmss000000 (items[0]): status.addresses has no ExternalIP address (it has: "
        "Hostname aks-game-31415926-vmss000000, InternalIP 10.224.0.4)"
    ) in result.stderr
    assert "AKS reports an ExternalIP only for node pools with node public IPs" in result.stderr
    assert "edit refused; no file was changed" in result.stderr
    assert files(root) == before
    path.write_text(
        pool("game", "    selector: {kubernetes.azure.com/agentpool: game}\n    addressTypes: [InternalIP]\n")
    )
    assert sync("game", "--from", str(FIXTURES / "aks.json"), "--no-render").exit_code == 0
    assert "      address: 10.224.0.4\n" in nodes_of(path) and "      address: 10.224.0.5\n" in nodes_of(path)


SPOT_TOLERATION = """\
      tolerations:
        - {{key: kubernetes.azure.com/scalesetpriority, operator: Equal, value: spot, effect: NoSchedule}}
"""


def test_aks_node_public_ips_and_the_spot_taint(root: Path) -> None:
    path = write(root, "gamepip", pool("gamepip", "    selector: {kubernetes.azure.com/agentpool: gamepip}\n"))
    result = sync("gamepip", "--from", str(FIXTURES / "aks.json"))
    assert result.exit_code == 1, "servers that do not tolerate spot have nowhere to go"
    assert "nodes whose taints the fleet tolerates ran out" in result.stderr
    assert "kubernetes.azure.com/scalesetpriority=spot:NoSchedule" in result.stderr
    write(root, "gamepip", path.read_text(), fleet=FLEET + SPOT_TOLERATION)
    result = sync("gamepip", "--from", str(FIXTURES / "aks.json"))
    assert result.exit_code == 0, result.stderr
    assert nodes_of(path) == (
        "  nodes:\n"
        "    - name: aks-gamepip-27182818-vmss000000\n"
        "      address: 203.0.113.36\n"
        "      capacity: {pods: 250, cpu: 7820m, memory: 28380676Ki}\n"
        "      taints: [{key: kubernetes.azure.com/scalesetpriority, value: spot, effect: NoSchedule}]\n"
        "    - name: aks-gamepip-27182818-vmss000003\n"
        "      address: 203.0.113.39\n"
        "      capacity: {pods: 250, cpu: 7820m, memory: 28380676Ki}\n"
        "      taints: [{key: kubernetes.azure.com/scalesetpriority, value: spot, effect: NoSchedule}]\n"
    )


def test_kubeadm_bare_metal_internal_ips_from_yaml_and_a_tainted_worker(root: Path) -> None:
    discovery = "    selector: {example.com/pool: metal-fra}\n    addressTypes: [InternalIP]\n"
    path = write(root, "metal", pool("metal", discovery))
    result = sync("metal", "--from", str(FIXTURES / "kubeadm.yaml"), "--no-render")
    assert result.exit_code == 0, result.stderr
    assert nodes_of(path) == (
        "  nodes:\n"
        "    - name: fra-gs-01\n"
        "      address: 203.0.113.41\n"
        '      capacity: {pods: 110, cpu: "32", memory: 131634004Ki}\n'
        "    - name: fra-gs-02\n"
        "      address: 203.0.113.42\n"
        '      capacity: {pods: 110, cpu: "32", memory: 131634004Ki}\n'
        "      taints: [{key: dedicated, value: ranked, effect: NoSchedule}]\n"
    )


@pytest.mark.parametrize(
    ("family", "address"),
    [("", "203.0.113.51"), ("    ipFamily: IPv4\n", "203.0.113.51"), ("    ipFamily: IPv6\n", "2001:db8:51::5")],
    ids=["first", "ipv4", "ipv6"],
)
def test_a_dual_stack_node_read_from_stdin(root: Path, family: str, address: str) -> None:
    discovery = "    selector: {example.com/pool: dual}\n    addressTypes: [ExternalIP, InternalIP]\n" + family
    path = write(root, "dual", pool("dual", discovery))
    result = sync("dual", "--from", "-", "--no-render", stdin=(FIXTURES / "dual-stack.json").read_text())
    assert result.exit_code == 0, result.stderr
    assert f"      address: {address}\n" in nodes_of(path)


# --- Stability: only the servers of a node that went away move; a sync that changes nothing writes nothing ----


def ready_gke() -> dict[str, Any]:
    """gke.json with every Node Ready."""
    nodes = fixture("gke.json")
    for item in nodes["items"]:
        item["status"]["conditions"] = copy.deepcopy(nodes["items"][1]["status"]["conditions"])
        item["spec"].pop("taints", None)
    return nodes


def replaced(nodes: dict[str, Any], old: str, new: str, address: str) -> dict[str, Any]:
    """The list with Node `old` gone and a Node `new` at `address` in its place, as after a node upgrade."""
    nodes = copy.deepcopy(nodes)
    item = next(item for item in nodes["items"] if item["metadata"]["name"] == old)
    item["metadata"]["name"] = item["metadata"]["labels"]["kubernetes.io/hostname"] = new
    item["status"]["addresses"] = [
        {"address": address if entry["type"] == "ExternalIP" else new if entry["type"] == "Hostname" else "10.132.0.15",
         "type": entry["type"]}
        for entry in item["status"]["addresses"]
    ]  # fmt: skip
    return nodes


def dump(root: Path, name: str, nodes: dict[str, Any]) -> str:
    path = root / name
    path.write_text(json.dumps(nodes, indent=4))
    return str(path)


def pods(root: Path) -> dict[str, str]:
    """Every rendered Pod's text, by server name."""
    found = {}
    for manifest in sorted((root / "rendered").glob("*/arena-*/manifest.yaml")):
        for document in manifest.read_text().split("\n---\n"):
            name = document.split("\n  name: ", 1)[1].split("\n", 1)[0]
            found[name] = document
    return found


def changed_lines(before: str, after: str) -> list[str]:
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    return [line for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---"))]


OLD, NEW = "gke-prod-eu-game-eu-5f2a9c1e-q9vd", "gke-prod-eu-game-eu-5f2a9c1e-zr2w"


def test_a_replaced_node_moves_only_its_servers(root: Path) -> None:
    path = write(root, "game-eu", pool("game-eu", GKE), replicas=9)
    assert sync("game-eu", "--from", dump(root, "a.json", ready_gke())).exit_code == 0
    lock = root / "fleets/game-eu/allocations.lock"
    lock_before, pods_before, pool_before = lock.read_text(), pods(root), path.read_text()
    moving = {f"arena-{line.split()[1]}" for line in lock_before.splitlines() if f" {OLD} " in line}
    assert len(moving) == 3
    result = sync("game-eu", "--from", dump(root, "b.json", replaced(ready_gke(), OLD, NEW, "203.0.113.15")))
    assert result.exit_code == 0, result.stderr
    assert f"  - {OLD}: removed (not in the Node list)" in result.stdout
    assert f"  + {NEW}: added (203.0.113.15, 102 pods, 7500m cpu, 28209524Ki memory)" in result.stdout
    assert "3 moved" in result.stdout
    lock_changes = changed_lines(lock_before, lock.read_text())
    assert [line for line in lock_changes if line.startswith("-")] == [
        line for line in ("-" + text for text in lock_before.splitlines()) if f" {OLD} " in line
    ]
    assert all(f" {NEW} " in line for line in lock_changes if line.startswith("+"))
    pods_after = pods(root)
    assert {name for name in pods_before if pods_after[name] != pods_before[name]} == moving
    assert all(NEW in pods_after[name] for name in moving)
    # The old entry is cut and the new one, last in name order, takes its place: lines that read the same stay.
    entry = "    - name: {}\n      address: {}\n"
    assert path.read_text() == pool_before.replace(entry.format(OLD, "203.0.113.14"), entry.format(NEW, "203.0.113.15"))


def test_a_sync_that_changes_nothing_writes_nothing(root: Path) -> None:
    write(root, "game-eu", pool("game-eu", GKE), replicas=4)
    nodes = dump(root, "nodes.json", ready_gke())
    assert sync("game-eu", "--from", nodes).exit_code == 0
    before = files(root)
    result = sync("game-eu", "--from", nodes)
    assert result.exit_code == 0, result.stderr
    assert "fleets/game-eu/pool.yaml: pool game-eu: 3 nodes, as in the cluster (no change)" in result.stdout
    assert "pool game-eu: no changes" in result.stdout
    assert files(root) == before


def test_a_sync_of_every_pool_compiles_only_the_pools_whose_nodes_changed(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scheduled sync of a cluster's 50 pools, where one node was replaced, costs one pool's compile:
    the others are left as the stamp vouches for them, and the plan is what a sync reusing nothing says."""
    write(root, "game-eu", pool("game-eu", GKE), replicas=4)
    write(root, "game-us", pool("game-us", GKE.replace("game-eu", "game-us")), replicas=4)
    eu = ready_gke()
    us = json.loads(json.dumps(eu).replace("game-eu", "game-us").replace("203.0.113.", "198.51.100."))
    both = {**eu, "items": eu["items"] + us["items"]}
    assert sync("--all", "--from", dump(root, "a.json", both)).exit_code == 0
    compiled: list[list[str]] = []
    compile_pools = edit.compile_pools

    def spy(validated: Any, *args: Any) -> Any:
        compiled.append([p.name for p in validated.pools])
        return compile_pools(validated, *args)

    monkeypatch.setattr(edit, "compile_pools", spy)
    replacement = dump(root, "b.json", replaced(both, OLD, NEW, "203.0.113.15"))
    reusing = sync("--all", "--from", replacement, "--dry-run")
    assert reusing.exit_code == 0, reusing.stderr
    assert compiled == [["game-eu"]]
    (root / "rendered/.fleetgen-stamp").unlink()
    from_nothing = sync("--all", "--from", replacement, "--dry-run")
    assert compiled[1] == ["game-eu", "game-us"]
    assert reusing.stdout == from_nothing.stdout
    assert "pool game-us: no changes" in reusing.stdout and "1 moved" in reusing.stdout


def test_a_selector_of_two_labels_picks_only_the_nodes_that_carry_both(root: Path) -> None:
    """The Node list is indexed by label once for all pools: a selector of two labels still asks for both, and
    a label value that is not text (a hand-edited list) matches nothing and breaks nothing."""
    nodes = ready_gke()
    labels = {item["metadata"]["name"]: item["metadata"]["labels"] for item in nodes["items"]}
    labels["gke-prod-eu-game-eu-5f2a9c1e-7xkq"]["tier"] = "premium"
    labels[OLD]["tier"] = "premium"
    labels["gke-prod-eu-game-eu-5f2a9c1e-m4zt"]["tier"] = ["premium"]
    selector = "    selector: {cloud.google.com/gke-nodepool: game-eu, tier: premium}\n"
    path = write(root, "game-eu", pool("game-eu", selector))
    result = sync("game-eu", "--from", dump(root, "tiers.json", nodes), "--no-render")
    assert result.exit_code == 0, result.stderr
    names = [line.split()[-1] for line in nodes_of(path).splitlines() if line.startswith("    - name: ")]
    assert names == ["gke-prod-eu-game-eu-5f2a9c1e-7xkq", OLD]


def test_a_node_that_a_pool_the_stamp_vouches_for_holds_is_refused_to_another(root: Path) -> None:
    """A pool whose files a sync leaves as they are is not checked again on its own, but the rules across pools
    still see its nodes: a Node that two pools' selectors pick is refused, in the words of a check from nothing."""
    write(root, "game-eu", pool("game-eu", GKE), replicas=4)
    write(root, "game-us", pool("game-us", "    selector: {fleet-us: 'yes'}\n"), replicas=1)
    nodes = ready_gke()
    for item in nodes["items"]:
        if item["metadata"]["name"] == OLD:
            item["metadata"]["labels"].update({"cloud.google.com/gke-nodepool": "game-us", "fleet-us": "yes"})
    assert sync("--all", "--from", dump(root, "a.json", nodes)).exit_code == 0
    for item in nodes["items"]:
        if item["metadata"]["name"] == OLD:
            item["metadata"]["labels"]["cloud.google.com/gke-nodepool"] = "game-eu"
    both = dump(root, "b.json", nodes)
    reusing = refused(root, "--all", "--from", both, "--dry-run")
    assert f"error: node '{OLD}' already belongs to pool 'game-eu'" in reusing
    (root / "rendered/.fleetgen-stamp").unlink()
    assert refused(root, "--all", "--from", both, "--dry-run") == reusing


# Every byte that is not a node entry the sync changes must stay: comments, blank lines, quotes, flow and
# block styles, a label of our own, a key the sync does not own.
COMMENTED = """\
# yaml-language-server: $schema=../fleetgen.schema.json
# The EKS node group "game" in eu-west-1, kept true to the cluster by `fleetgen nodes sync`.
apiVersion: fleetgen.dev/v1alpha1
kind: NodePool
metadata:
  name: game      # equals the folder
spec:
  namespace: game
  nodeDiscovery:                      # which Nodes are ours
    selector: {eks.amazonaws.com/nodegroup: game}
    copyLabels: [topology.kubernetes.io/zone]   # fleets select zones
  nodes:
    # a: the first node, typed in before syncs
    - name: ip-10-0-1-21.eu-west-1.compute.internal
      address: 203.0.113.21     # elastic IP, ticket NET-12
      labels: {topology.kubernetes.io/zone: eu-west-1a, tier: premium}   # tier is ours
      capacity: {pods: 58, cpu: 7910m, memory: 15076868Ki}

    # b: replaced by AWS since
    - name: ip-10-0-9-99.eu-west-1.compute.internal
      address: 203.0.113.99
      capacity: {pods: 58}
      # a trailing note about b

    - name: ip-10-0-2-22.eu-west-1.compute.internal   # c: cordoned in the cluster
      address: "203.0.113.22"
      labels:
        topology.kubernetes.io/zone: eu-west-1b
      capacity:
        pods: 58
        cpu: "7910m"
        memory: 15076868Ki
  pin: nodeSelector   # the default, said out loud
# end of the pool
"""


def test_a_comment_rich_pool_changes_only_in_the_node_entries_that_change(root: Path) -> None:
    path = write(root, "game", COMMENTED)
    nodes = fixture("eks.json")
    nodes["items"][0]["status"]["addresses"][1]["address"] = "203.0.113.121"  # its elastic IP moved
    result = sync("game", "--from", dump(root, "eks.json", nodes), "--no-render")
    assert result.exit_code == 0, result.stderr
    assert changed_lines(COMMENTED, path.read_text()) == [
        "-      address: 203.0.113.21     # elastic IP, ticket NET-12",
        "+      address: 203.0.113.121     # elastic IP, ticket NET-12",
        "-    # b: replaced by AWS since",
        "-    - name: ip-10-0-9-99.eu-west-1.compute.internal",
        "-      address: 203.0.113.99",
        "-      capacity: {pods: 58}",
        "-      # a trailing note about b",
        "+      unschedulable: true",
        "+    - name: ip-10-0-3-23.eu-west-1.compute.internal",
        "+      address: 203.0.113.23",
        "+      labels: {topology.kubernetes.io/zone: eu-west-1c}",
        "+      capacity: {pods: 58, cpu: 7910m, memory: 15076868Ki}",
    ]
    assert result.stdout.splitlines()[:5] == [
        "fleets/game/pool.yaml: pool game: 1 added, 1 removed, 2 changed, 0 unchanged",
        "  ~ ip-10-0-1-21.eu-west-1.compute.internal: address 203.0.113.21 -> 203.0.113.121",
        "  - ip-10-0-9-99.eu-west-1.compute.internal: removed (not in the Node list)",
        "  ~ ip-10-0-2-22.eu-west-1.compute.internal: unschedulable: cordoned in the cluster (spec.unschedulable)",
        "  + ip-10-0-3-23.eu-west-1.compute.internal: added (203.0.113.23, 58 pods, 7910m cpu, 15076868Ki memory)",
    ]
    again = sync("game", "--from", str(root / "eks.json"), "--no-render")
    assert again.exit_code == 0 and "(no change)" in again.stdout


# --- Refusals: exit 1, the node or field named, nothing on disk changed ---------------------------------------


def refused(root: Path, *args: str, stdin: str | None = None) -> str:
    """Run a sync that must be refused; its stderr, once sure that no file changed."""
    before = files(root)
    result = sync(*args, stdin=stdin)
    assert result.exit_code == 1, result.output
    assert files(root) == before
    return result.stderr


def synced_gke(root: Path, replicas: int = 2) -> None:
    write(root, "game-eu", pool("game-eu", GKE), replicas=replicas)
    assert sync("game-eu", "--from", dump(root, "ready.json", ready_gke())).exit_code == 0


def test_what_is_not_a_node_list_is_refused(root: Path) -> None:
    synced_gke(root)
    pods_list = json.dumps({"apiVersion": "v1", "kind": "PodList", "items": []})
    err = refused(root, "game-eu", stdin=pods_list)
    assert "<stdin>: error: expected a NodeList or a List of Nodes, not a PodList" in err
    assert "fleetgen: 1 error; nothing was written" in err
    err = refused(root, "game-eu", "--from", str(root / "missing.json"))
    assert "missing.json: error: cannot be read: No such file or directory" in err


def test_two_nodes_with_one_address_are_refused(root: Path) -> None:
    write(root, "game", pool("game", "    selector: {eks.amazonaws.com/nodegroup: game}\n"))
    nodes = fixture("eks.json")
    nodes["items"][2]["status"]["addresses"][1]["address"] = "203.0.113.21"
    err = refused(root, "game", "--from", dump(root, "eks.json", nodes))
    assert (
        "error: Node ip-10-0-3-23.eu-west-1.compute.internal (items[2]): has the address 203.0.113.21 of Node "
        "ip-10-0-1-21.eu-west-1.compute.internal (items[0]): their servers would hand out the same address:port"
    ) in err


def test_a_pool_without_node_discovery_is_refused_with_what_to_add(root: Path) -> None:
    write(root, "game", pool("game", "").replace("  nodeDiscovery:\n", ""))
    err = refused(root, "game", "--from", str(FIXTURES / "eks.json"))
    assert "fleets/game/pool.yaml:6:3: error: pool 'game' has no spec.nodeDiscovery" in err
    assert "hint: add the label of the cluster's node pool to pool.yaml, e.g. spec.nodeDiscovery:" in err


def test_a_sync_after_which_the_fleets_do_not_fit_is_refused_naming_the_nodes_that_went(root: Path) -> None:
    synced_gke(root, replicas=21)  # 7 servers of 1 cpu fill each node's 7.5 cpu
    two = copy.deepcopy(ready_gke())
    two["items"] = [item for item in two["items"] if item["metadata"]["name"] != OLD]
    err = refused(root, "game-eu", "--from", dump(root, "two.json", two))
    assert (
        "fleets/game-eu/arena.yaml:6:13: error: pool 'game-eu', fleet 'arena': 7 server(s) do not fit: cpu ran out "
        "(needed 21 servers x 1,000m cpu, available 15,000m free cpu on 2 eligible nodes, room for 14 servers)"
    ) in err
    assert (
        f"fleets/game-eu/pool.yaml: error: the sync takes these nodes from pool 'game-eu': {OLD} (not in the Node "
        "list); what is left does not render (above)"
    ) in err


def test_a_node_list_from_another_cluster_does_not_empty_the_pool(root: Path) -> None:
    synced_gke(root)
    err = refused(root, "game-eu", "--from", str(FIXTURES / "eks.json"))
    assert ("fleets/game-eu/pool.yaml:8:15: error: no Node of ") in err and (
        "(4 Nodes) carries cloud.google.com/gke-nodepool=game-eu: the sync would remove every node of pool 'game-eu'"
    ) in err
    assert "to empty the pool on purpose, use `fleetgen remove-node`" in err


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "GKE_Node_1", "Node GKE_Node_1 (items[1]): metadata.name must be lower-case letters"),
        ("hostname", "gke-node-1", "its kubernetes.io/hostname label is 'gke-node-1', not its name: a Pod pinned"),
    ],
)
def test_a_node_that_a_pod_could_not_be_pinned_to_is_refused(root: Path, field: str, value: str, message: str) -> None:
    synced_gke(root)
    nodes = ready_gke()
    metadata = nodes["items"][1]["metadata"]
    if field == "name":
        metadata["name"] = value
    else:
        metadata["labels"]["kubernetes.io/hostname"] = value
    err = refused(root, "game-eu", "--from", dump(root, "odd.json", nodes))
    assert message in err


def test_all_pools_with_discovery_or_none(root: Path) -> None:
    manual = pool("manual", "", "  nodes: [{name: n1, address: 192.0.2.1}]\n").replace("  nodeDiscovery:\n", "")
    write(root, "manual", manual)
    err = refused(root, "--all", "--from", str(FIXTURES / "gke.json"))
    assert "fleets: error: no pool has spec.nodeDiscovery to sync" in err
    write(root, "game-eu", pool("game-eu", GKE))
    result = sync("--all", "--from", str(FIXTURES / "gke.json"), "--no-render")
    assert result.exit_code == 0, result.stderr
    assert "pool game-eu: 3 added" in result.stdout and "manual" not in result.stdout


@pytest.mark.parametrize("args", [[], ["game-eu", "--all"]], ids=["nothing", "both"])
def test_pools_or_all_is_a_usage_error_otherwise(root: Path, args: list[str]) -> None:
    result = sync(*args, "--from", str(FIXTURES / "gke.json"))
    assert result.exit_code == 2
    assert "name the pools to sync, or pass --all (not both)" in result.stderr


def test_a_dry_run_prints_the_plan_and_writes_nothing(root: Path) -> None:
    synced_gke(root, replicas=6)
    nodes = dump(root, "b.json", replaced(ready_gke(), OLD, NEW, "203.0.113.15"))
    before = files(root)
    result = sync("game-eu", "--dry-run", "--from", nodes)
    assert result.exit_code == 0, result.stderr
    assert f"  + {NEW}: added" in result.stdout and "2 moved" in result.stdout
    assert "dry run: no file was written" in result.stderr
    assert files(root) == before
