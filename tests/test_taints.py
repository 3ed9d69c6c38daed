"""Taints: a server goes only to a node whose NoSchedule and NoExecute taints its template tolerates, as the
scheduler would place it; a shortfall caused by taints names them; bad taints are refused at their line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from test_validate import FLEET, IMAGE, POOL, assert_printed, edited, validate, write_pool

from generator.cli import cli
from generator.kube.taints import Taint, Toleration, untolerated

DEDICATED = Taint("dedicated", "ranked", "NoSchedule")


@pytest.mark.parametrize(
    ("toleration", "taint", "tolerated"),
    [
        pytest.param(Toleration("dedicated", "Equal", "ranked", "NoSchedule"), DEDICATED, True, id="equal"),
        pytest.param(Toleration("dedicated", "", "ranked", "NoSchedule"), DEDICATED, True, id="no-operator-is-equal"),
        pytest.param(Toleration("dedicated", "Equal", "casual", "NoSchedule"), DEDICATED, False, id="other-value"),
        pytest.param(Toleration("dedicated", "Exists", "", "NoSchedule"), DEDICATED, True, id="exists-any-value"),
        pytest.param(Toleration("dedicated", "Exists"), DEDICATED, True, id="no-effect-is-every-effect"),
        pytest.param(Toleration("dedicated", "Exists", "", "NoExecute"), DEDICATED, False, id="other-effect"),
        pytest.param(Toleration("", "Exists"), DEDICATED, True, id="empty-key-exists-is-everything"),
        pytest.param(Toleration("gpu", "Exists"), DEDICATED, False, id="other-key"),
        pytest.param(Toleration("dedicated", "Gt", "1"), DEDICATED, False, id="alpha-operator-tolerates-nothing"),
        pytest.param(
            Toleration("spot", "Equal", "", "NoSchedule"), Taint("spot", "", "NoSchedule"), True, id="no-value"
        ),
    ],
)
def test_tolerations_match_taints_as_kubernetes_does(toleration: Toleration, taint: Taint, tolerated: bool) -> None:
    assert toleration.tolerates(taint) is tolerated
    assert untolerated([toleration], [taint]) == ([] if tolerated else [taint])


def test_only_no_schedule_and_no_execute_keep_a_pod_off() -> None:
    soft = Taint("DeletionCandidateOfClusterAutoscaler", "1700000000", "PreferNoSchedule")
    hard = Taint("karpenter.sh/disrupted", "", "NoSchedule")
    evicting = Taint("example.com/maintenance", "", "NoExecute")
    assert untolerated([], [soft, hard, evicting]) == [hard, evicting]


# The pool: node-1 tainted dedicated=ranked:NoSchedule, node-2 untainted, both premium.
TWO_NODES = edited(
    POOL,
    '      capacity: {pods: 110, cpu: "16", memory: 64Gi}\n',
    '      capacity: {pods: 110, cpu: "16", memory: 64Gi}\n'
    "      taints: [{key: dedicated, value: ranked, effect: NoSchedule}]\n"
    "    - name: node-2\n"
    "      address: 203.0.113.2\n"
    "      labels: {tier: premium}\n",
)
TOLERATION = IMAGE + "\n      tolerations: [{key: dedicated, operator: Equal, value: ranked, effect: NoSchedule}]"


def render(fleets: Path, pool: str, fleet: str) -> tuple[int, str, dict[int, str]]:
    """Render one pool; the exit code, stderr and each arena server's node from the lock."""
    write_pool(fleets, files={"pool.yaml": pool, "fleet.yaml": fleet})
    result = CliRunner().invoke(cli, ["render"])
    assert "Traceback" not in result.output
    lock = fleets / "pool-a/allocations.lock"
    lines = lock.read_text().splitlines() if lock.exists() else []
    nodes = {int(line.split()[1]): line.split()[2] for line in lines if line.startswith("arena ")}
    return result.exit_code, result.stderr, nodes


@pytest.fixture
def fleets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return Path("fleets")


def test_servers_avoid_a_node_whose_taint_they_do_not_tolerate(fleets: Path) -> None:
    code, err, nodes = render(fleets, TWO_NODES, edited(FLEET, "replicas: 2", "replicas: 3"))
    assert code == 0, err
    assert nodes == {0: "node-2", 1: "node-2", 2: "node-2"}


def test_a_toleration_lets_servers_on_the_tainted_node(fleets: Path) -> None:
    fleet = edited(edited(FLEET, "replicas: 2", "replicas: 3"), IMAGE, TOLERATION)
    code, err, nodes = render(fleets, TWO_NODES, fleet)
    assert code == 0, err
    assert nodes == {0: "node-1", 1: "node-1", 2: "node-1"}  # Packed: the first node listed fills first


def test_prefer_no_schedule_keeps_no_server_off(fleets: Path) -> None:
    soft = TWO_NODES.replace("effect: NoSchedule", "effect: PreferNoSchedule")
    code, err, nodes = render(fleets, soft, FLEET)
    assert code == 0, err
    assert nodes == {0: "node-1", 1: "node-1"}


def test_a_new_taint_moves_only_the_servers_of_that_node(fleets: Path) -> None:
    distributed = edited(edited(FLEET, "replicas: 2", "replicas: 4"), "scheduling: Packed", "scheduling: Distributed")
    untainted = TWO_NODES.replace("      taints: [{key: dedicated, value: ranked, effect: NoSchedule}]\n", "")
    code, err, before = render(fleets, untainted, distributed)
    assert code == 0, err
    assert before == {0: "node-1", 1: "node-2", 2: "node-1", 3: "node-2"}
    evicting = TWO_NODES.replace("effect: NoSchedule", "effect: NoExecute")
    code, err, after = render(fleets, evicting, distributed)
    assert code == 0, err
    assert after == {0: "node-2", 1: "node-2", 2: "node-2", 3: "node-2"}


@pytest.mark.parametrize(
    ("more", "message", "hint"),
    [
        pytest.param(
            "      taints: [{key: dedicated, value: casual, effect: NoExecute}]\n",
            "fleet 'arena': 2 server(s) do not fit: nodes whose taints the fleet tolerates matching nodeSelector "
            "tier=premium ran out (needed 2 servers, available 2 matching nodes: 2 with taints the fleet does not "
            "tolerate (dedicated=casual:NoExecute, dedicated=ranked:NoSchedule))\n",
            "add a toleration for the taint to the fleet's template, or untaint nodes in pool.yaml",
            id="every-node-tainted",
        ),
        pytest.param(
            "      capacity: {pods: 1}\n",
            "pods ran out (needed 2 servers x 1 pod, available 1 free pod on 1 eligible node; 1 more node with taints "
            "the fleet does not tolerate (dedicated=ranked:NoSchedule))\n",
            "lower replicas, lower the Pods' pods requests, or add nodes or pods capacity",
            id="the-untainted-node-full",
        ),
    ],
)
def test_a_shortfall_names_the_taints_that_keep_servers_off(fleets: Path, more: str, message: str, hint: str) -> None:
    code, err, _ = render(fleets, TWO_NODES + more, FLEET)
    assert code == 1
    assert message in err
    assert f"  hint: {hint}\n" in err


def test_capacity_counts_only_nodes_whose_taints_a_fleet_tolerates(fleets: Path) -> None:
    write_pool(fleets, files={"pool.yaml": TWO_NODES, "fleet.yaml": FLEET})
    result = CliRunner().invoke(cli, ["capacity", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    untainted = TWO_NODES.replace("      taints: [{key: dedicated, value: ranked, effect: NoSchedule}]\n", "")
    write_pool(fleets, files={"pool.yaml": untainted, "fleet.yaml": FLEET})
    (fleets / "pool-a/allocations.lock").unlink(missing_ok=True)
    both = CliRunner().invoke(cli, ["capacity", "--format", "json"])
    assert '"mostReplicas": 110' in result.stdout
    assert '"mostReplicas": 220' in both.stdout


@pytest.mark.parametrize(
    ("taints", "place", "message"),
    [
        ("[{key: -bad, effect: NoSchedule}]", "fleets/pool-a/pool.yaml:16:22", "taint key '-bad'"),
        ("[{key: a, value: 'no spaces', effect: NoSchedule}]", "fleets/pool-a/pool.yaml:16:32", "taint value"),
        (
            "[{key: a, effect: NoSchedule}, {key: a, value: b, effect: NoSchedule}]",
            "fleets/pool-a/pool.yaml:16:46",
            "node 'node-1' has two NoSchedule taints with key 'a' (first as taints[0])",
        ),
        ("[{key: a, effect: Never}]", "fleets/pool-a/pool.yaml:16:33", '"Never" is not one of NoSchedule'),
    ],
)
def test_bad_taints_are_refused_at_their_line(fleets: Path, taints: str, place: str, message: str) -> None:
    pool = POOL + f"      taints: {taints}\n"
    write_pool(fleets, files={"pool.yaml": pool, "fleet.yaml": FLEET})
    result = validate()
    assert result.exit_code == 1
    assert_printed(result, place, message)
