"""capacity: use per pool and node, and the number of servers that fit, which `scale` must then honour."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_edit import run

from generator.allocation.capacity import most_replicas, pool_capacity
from generator.diagnostics import has_errors
from generator.edits import edit
from generator.fleetfiles.load import load_fleets
from generator.fleetfiles.rules import validate_fleets
from generator.kube import api as kube
from generator.manifests.emit import emit
from generator.settings import Settings
from generator.tree.compile import compile_pools

ROOT = Path(__file__).resolve().parent.parent
VERSION = kube.latest_version()

SMALL_POOL = """\
apiVersion: fleetgen.dev/v1alpha1
kind: NodePool
metadata:
  name: small
spec:
  portRanges:
    default: {min: 7000, max: 7009}
  reservedPorts: [7001]
  nodes:
    - name: n1
      address: 192.0.2.1
      capacity: {pods: 4, cpu: "2", memory: 4Gi}
    - name: n2
      address: 192.0.2.2
      capacity: {pods: 4}
      unschedulable: true
"""

WEB = """\
apiVersion: fleetgen.dev/v1alpha1
kind: Fleet
metadata:
  name: web
spec:
  replicas: {replicas}
  ports:
    - name: game
      containerPort: 7777
  template:
    spec:
      containers:
        - name: server
          image: registry.example.com/web:1
          resources:
            requests: {{cpu: 500m, memory: 1Gi}}
"""


@pytest.fixture
def small(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "fleets" / "small"
    folder.mkdir(parents=True)
    (folder / "pool.yaml").write_text(SMALL_POOL)
    (folder / "web.yaml").write_text(WEB.format(replicas=2))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_table_per_pool_node_and_fleet(small: Path) -> None:
    code, out, err = run("capacity")
    assert code == 0, err
    assert out == (
        'pool small: 2 servers; pods 2/4 (50%), ports "default" 2/9 (22%), cpu 1/2 (50%), memory 2.0Gi/4.0Gi (50%)\n'
        '  NODE  STATE     pods used/free  ports "default" used/free  cpu used/free  memory used/free\n'
        "  n1    ready     2/2             2/7                        1/1            2.0Gi/2.0Gi\n"
        "  n2    cordoned  0/4             0/9                        -              -\n"
        "  FLEET  REPLICAS  MOST THAT FIT  MORE\n"
        "  web    2         4              +2\n"
    )


def test_json_has_raw_units(small: Path) -> None:
    code, out, _ = run("capacity", "--format", "json")
    assert code == 0
    report = json.loads(out)
    assert report["warningPercent"] == 80
    pool = report["pools"][0]
    assert pool["fleets"] == [{"fleet": "web", "replicas": 2, "mostReplicas": 4, "more": 2}]
    cpu = next(r for r in pool["resources"] if r["resource"] == "cpu")
    assert cpu == {
        "resource": "cpu",
        "unit": "millicores",
        "used": 1000,
        "free": 1000,
        "total": 2000,
        "percent": 50.0,
        "warning": False,
    }
    n2 = pool["nodes"][1]
    assert n2["schedulable"] is False and [r["resource"] for r in n2["resources"]] == ["pods", 'ports "default"']


def test_warning_above_80_percent_and_fail_above(small: Path) -> None:
    (small / "fleets/small/web.yaml").write_text(WEB.format(replicas=4))
    code, out, _ = run("capacity")
    assert code == 0
    assert "pods 4/4 (100%) !" in out
    assert "  warning: pods at 100%, above 80%\n" in out
    assert "  web    4         4              +0\n" in out
    code, _, err = run("capacity", "--fail-above", "90")
    assert code == 1
    assert "fleetgen: pool small: pods at 100.0%, above 90%" in err
    assert run("capacity", "--fail-above", "100")[0] == 0


def test_a_pool_over_capacity_says_so_and_fails(small: Path) -> None:
    (small / "fleets/small/web.yaml").write_text(WEB.format(replicas=6))
    code, out, err = run("capacity")
    assert code == 1
    assert "  web    6         4              -2\n" in out
    assert "  over capacity: fleet web: 2 server(s) do not fit: pods ran out" in out
    assert "fleetgen: pool small: 1 fleet(s) do not fit" in err


RELAY = """\
apiVersion: fleetgen.dev/v1alpha1
kind: Fleet
metadata:
  name: relay
spec:
  replicas: 1
  ports:
    - name: game
      portPolicy: None
      containerPort: 7777
  template:
    spec:
      containers:
        - name: relay
          image: registry.example.com/relay:1
          resources:
            requests: {cpu: 100m, memory: 128Mi}
"""


def test_a_fleet_that_fits_keeps_its_number_beside_one_that_does_not(small: Path) -> None:
    """web runs out of pods; relay still fits beside the web servers that are placed, and says so."""
    (small / "fleets/small/web.yaml").write_text(WEB.format(replicas=6))
    (small / "fleets/small/relay.yaml").write_text(RELAY)
    code, out, _ = run("capacity")
    assert code == 1
    assert "  relay  1         1              +0\n" in out
    assert "  web    6         3              -3\n" in out
    rooms = {
        room["fleet"]: room["mostReplicas"]
        for room in json.loads(run("capacity", "--format", "json")[1])["pools"][0]["fleets"]
    }
    assert rooms == {"relay": 1, "web": 3}
    assert run("scale", "small/web", "3")[0] == 0
    assert run("scale", "small/relay", "2")[0] == 1


def test_the_example_pools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(ROOT / "fleets", tmp_path / "fleets")
    monkeypatch.chdir(tmp_path)
    code, out, err = run("capacity", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    for pool in report["pools"]:
        assert all(room["mostReplicas"] >= room["replicas"] for room in pool["fleets"])
    code, out, _ = run("capacity", "--pool", "eu-west-1")
    assert code == 0 and out.startswith("pool eu-west-1: ") and "us-east-1" not in out


# --- The honest number: what the allocator places, checked through `scale` on random pools -------------


def _node(index: int, draw: Any) -> dict[str, Any]:
    node: dict[str, Any] = {"name": f"n{index}", "address": f"192.0.2.{index + 1}"}
    if draw(st.booleans()):
        node["labels"] = {"tier": draw(st.sampled_from(["a", "b"]))}
    capacity: dict[str, Any] = {"pods": draw(st.integers(1, 8))}
    if draw(st.booleans()):
        capacity["cpu"] = f"{draw(st.integers(1, 8)) * 500}m"
    if draw(st.booleans()):
        capacity["memory"] = f"{draw(st.integers(1, 8))}Gi"
    node["capacity"] = capacity
    if draw(st.integers(0, 4)) == 0:
        node["unschedulable"] = True
    return node


_PORTS = {
    "udp": {"portPolicy": "Dynamic", "containerPort": 7777},
    "tcp": {"portPolicy": "Passthrough", "protocol": "TCP"},
    "both": {"portPolicy": "Dynamic", "protocol": "TCPUDP", "containerPort": 7778},
    "static": {"portPolicy": "Static", "containerPort": 7779, "protocol": "TCP"},
    "none": {"portPolicy": "None", "containerPort": 7780},
}


def _fleet(index: int, draw: Any) -> dict[str, Any]:
    kinds = draw(st.lists(st.sampled_from(sorted(_PORTS)), max_size=3, unique=True))
    ports = [{"name": kind, **_PORTS[kind]} for kind in kinds]
    for port in ports:
        if port["portPolicy"] == "Static":
            port["hostPort"] = draw(st.sampled_from([9000, 9001]))
    requests = {"cpu": draw(st.sampled_from(["0", "250m", "1"])), "memory": draw(st.sampled_from(["0", "1Gi"]))}
    spec: dict[str, Any] = {
        "replicas": draw(st.integers(0, 4)),
        "scheduling": draw(st.sampled_from(["Packed", "Distributed"])),
    }
    if draw(st.booleans()):
        spec["nodeSelector"] = {"tier": "a"}
    spec["ports"] = ports
    container = {"name": "s", "image": "registry.example.com/s:1", "resources": {"requests": requests}}
    spec["template"] = {"spec": {"containers": [container]}}
    return {"apiVersion": "fleetgen.dev/v1alpha1", "kind": "Fleet", "metadata": {"name": f"f{index}"}, "spec": spec}


@st.composite
def random_pools(draw: Any) -> tuple[dict[str, Any], list[dict[str, Any]], list[int] | None]:
    """A pool, its fleets, and optionally the replicas of an earlier render whose lock is on disk."""
    nodes = [_node(i, draw) for i in range(draw(st.integers(1, 4)))]
    top = 7000 + draw(st.integers(1, 12))
    spec = {"portRanges": {"default": {"min": 7000, "max": top}}, "reservedPorts": [7001], "nodes": nodes}
    pool = {"apiVersion": "fleetgen.dev/v1alpha1", "kind": "NodePool", "metadata": {"name": "p"}, "spec": spec}
    fleets = [_fleet(i, draw) for i in range(draw(st.integers(1, 3)))]
    earlier = draw(st.one_of(st.none(), st.lists(st.integers(0, 6), min_size=len(fleets), max_size=len(fleets))))
    return pool, fleets, earlier


def _write(root: Path, pool: dict[str, Any], fleets: list[dict[str, Any]]) -> None:
    folder = root / "fleets" / "p"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pool.yaml").write_text(emit(pool))
    (folder / "fleets.yaml").write_text("---\n".join(emit(fleet) for fleet in fleets))


def _with_replicas(fleets: list[dict[str, Any]], replicas: list[int]) -> list[dict[str, Any]]:
    return [{**f, "spec": {**f["spec"], "replicas": n}} for f, n in zip(fleets, replicas, strict=True)]


def _render_lock(settings_: Settings) -> None:
    """Leave the lock of an earlier allocation (of the servers that fitted, if not all did)."""
    validated = validate_fleets(load_fleets(settings_.fleets), VERSION)
    for pool in compile_pools(validated, VERSION).pools:
        pool.source.lock_path.write_text(pool.lock_text)


def _scale_fits(settings_: Settings, fleet: str, replicas: int) -> bool:
    checked = edit.prepare(settings_, "p", lambda loaded: edit.scale(loaded, settings_.fleets, "p", fleet, replicas))
    capacity_errors = [d for d in checked.diagnostics if d.is_error and "do not fit" in d.message]
    assert [d for d in checked.diagnostics if d.is_error] == capacity_errors  # nothing else may refuse it
    return not checked.refused


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_pools())
def test_scaling_to_the_number_capacity_gives_fits_and_one_more_does_not(case: Any) -> None:
    pool, fleets, earlier = case
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        settings_ = Settings(root / "fleets", root / "rendered", (), VERSION)
        if earlier is not None:
            _write(root, pool, _with_replicas(fleets, earlier))
            _render_lock(settings_)
        _write(root, pool, fleets)
        validated = validate_fleets(load_fleets(settings_.fleets), VERSION)
        assert not has_errors(validated.diagnostics), validated.diagnostics
        report = pool_capacity(validated.pools[0])
        short = {shortfall.fleet for shortfall in report.shortfalls}
        for room in report.fleets:
            if short:
                # scale refuses any edit while another fleet is short: each fleet's own room is its number
                assert room.fleet in short or (room.most is not None and room.most >= room.replicas), room
            elif room.most is None:
                assert not _scale_fits(settings_, room.fleet, 0)
            else:
                assert _scale_fits(settings_, room.fleet, room.most), room
                assert not _scale_fits(settings_, room.fleet, room.most + 1), room


def test_the_search_asks_the_allocator_only_a_few_times(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first probe is an estimate from the free room, so a plain pool needs about two allocations."""
    from generator.allocation import placement as pipeline
    from generator.allocation.allocate import allocate
    from generator.allocation.spec import FleetSpec, NodeSpec, PoolSpec, PortSpec

    calls = []

    def counted(spec: PoolSpec, previous: Any) -> Any:
        calls.append(spec)
        return allocate(spec, previous)

    monkeypatch.setattr(pipeline, "allocate", counted)
    nodes = tuple(NodeSpec(f"n{i}", f"192.0.2.{i}", pods=110) for i in range(1, 51))
    fleet = FleetSpec("big", 1000, ports=(PortSpec("game"),))
    spec = PoolSpec("p", nodes, (("default", 7000, 7999),), (), (fleet,))
    assert most_replicas(spec, {}, "big") == 5500
    assert len(calls) <= 3


def test_capacity_loads_no_compile_or_output_tree_stage(small: Path) -> None:
    """capacity allocates and prints: the compile, stamp, diff and sinks (`tree/`) are not even imported."""
    program = (
        "import sys\nfrom generator.cli import cli\n"
        "try:\n    cli(['capacity'], prog_name='fleetgen')\nexcept SystemExit as stop:\n    assert stop.code == 0\n"
        "print('loaded:', ' '.join(sorted(m for m in sys.modules if m.startswith('generator.'))))"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True, cwd=small)
    assert result.stdout.startswith("pool small: 2 servers")
    loaded = result.stdout.rsplit("loaded: ", 1)[1].split()
    assert "generator.allocation.capacity" in loaded
    assert not [module for module in loaded if module.startswith(("generator.tree", "generator.cli.repository"))]
