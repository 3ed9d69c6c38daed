"""Rollouts as properties: random pools and fleets, then random template changes, scale changes and waves, each
through the real CLI on real files. After every step: no wave restarts more than maxUnavailable servers, no
server changes node or port because of a rollout, a server whose revision and place did not change keeps its
Pod byte for byte, and a render with the lock it just wrote changes nothing."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from generator.allocation.lock import parse_lock
from generator.cli import cli
from generator.fleetfiles.model import wave_size
from generator.tree.stamp import STAMP_FILE

FLEETS = ("alpha", "beta")


@dataclass(frozen=True)
class FleetCase:
    name: str
    replicas: int
    max_unavailable: int | str | None  # None: no spec.rollout
    scheduling: str


@dataclass(frozen=True)
class Server:
    """A server as the lock and rendered/ say it is."""

    node: str
    ports: str
    revision: str
    image: str  # the image of its revision's template, as the lock keeps it
    pod: str  # its Pod's text in rendered/


def fleet_text(fleet: FleetCase, image: str) -> str:
    rollout = (
        "" if fleet.max_unavailable is None else f"  rollout: {{maxUnavailable: {json.dumps(fleet.max_unavailable)}}}\n"
    )
    return (
        f"apiVersion: fleetgen.dev/v1alpha1\nkind: Fleet\nmetadata:\n  name: {fleet.name}\nspec:\n"
        f"  replicas: {fleet.replicas}\n  scheduling: {fleet.scheduling}\n{rollout}"
        "  ports:\n    - {name: game, containerPort: 7777}\n"
        "  template:\n    spec:\n      containers:\n"
        f"        - {{name: server, image: {image}}}\n"
    )


def pool_text(pods: list[int]) -> str:
    nodes = "".join(
        f"    - {{name: node-{i}, address: 192.0.2.{i + 1}, capacity: {{pods: {count}}}}}\n"
        for i, count in enumerate(pods)
    )
    return (
        "apiVersion: fleetgen.dev/v1alpha1\nkind: NodePool\nmetadata:\n  name: pool\nspec:\n"
        f"  portRanges: {{default: {{min: 7000, max: 7007}}}}\n  nodes:\n{nodes}"
    )


MAX_UNAVAILABLE = st.none() | st.integers(1, 4) | st.sampled_from(["10%", "25%", "50%", "100%"])
FLEET_CASES = st.builds(
    FleetCase,
    name=st.sampled_from(FLEETS),
    replicas=st.integers(0, 7),
    max_unavailable=MAX_UNAVAILABLE,
    scheduling=st.sampled_from(["Packed", "Distributed"]),
)
STEP_KINDS = st.sampled_from(["image", "image", "scale", "next", "next", "next-all"])


@contextmanager
def repository(pods: list[int], fleets: list[FleetCase]) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="fleetgen-rollout-") as scratch:
        root = Path(scratch)
        folder = root / "fleets" / "pool"
        folder.mkdir(parents=True)
        (folder / "pool.yaml").write_text(pool_text(pods))
        for fleet in fleets:
            (folder / f"{fleet.name}.yaml").write_text(fleet_text(fleet, "example.com/game:0"))
        yield root


def run(root: Path, *args: str) -> tuple[int, str]:
    paths = ["--fleets", str(root / "fleets"), "--out", str(root / "rendered")]
    result = CliRunner().invoke(cli, [*args, *paths])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.output


def state(root: Path) -> dict[str, Server]:
    lock = parse_lock((root / "fleets/pool/allocations.lock").read_text())
    assert lock.warnings == ()
    pods: dict[str, str] = {}
    for manifest in sorted((root / "rendered/pool").glob("*/manifest.yaml")):
        for document in re.split(r"^---\n", manifest.read_text().split("\n", 1)[1], flags=re.MULTILINE):
            data = yaml.safe_load(document)
            if data["kind"] == "Pod":
                pods[data["metadata"]["name"]] = document
    found = {}
    for (fleet, ordinal), entry in lock.entries.items():
        template = json.loads(lock.fleets[fleet].templates[entry.revision])
        image = template["spec"]["containers"][0]["image"]
        ports = " ".join(f"{port.name}={port.host_port}" for port in entry.ports)
        found[f"{fleet}-{ordinal}"] = Server(entry.node, ports, entry.revision, image, pods[f"{fleet}-{ordinal}"])
    assert set(found) == set(pods)
    return found


def edit_fleet(root: Path, name: str, pattern: str, replacement: str) -> str:
    """Change the fleet's file; its text before."""
    path = root / "fleets/pool" / f"{name}.yaml"
    before = path.read_text()
    path.write_text(re.sub(pattern, replacement, before))
    return before


def step(root: Path, kind: str, fleet: str, number: int) -> tuple[int, str]:
    """A template change or a scale, rendered; or the next wave of the fleet, or of every fleet."""
    if kind == "image":
        edit_fleet(root, fleet, r"image: example.com/game:\d+", f"image: example.com/game:{number}")
    if kind == "scale":
        edit_fleet(root, fleet, r"replicas: \d+", f"replicas: {number}")
    if kind == "next":
        return run(root, "rollout", "next", f"pool/{fleet}")
    if kind == "next-all":
        return run(root, "rollout", "next")
    return run(root, "render")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.integers(2, 6), min_size=1, max_size=3),
    st.lists(FLEET_CASES, min_size=1, max_size=2, unique_by=lambda fleet: fleet.name),
    st.data(),
)
def test_waves_restart_at_most_max_unavailable_and_never_move_a_server(
    pods: list[int], fleets: list[FleetCase], data: st.DataObject
) -> None:
    with repository(pods, fleets) as root:
        if run(root, "render")[0] != 0:
            event("the fleets do not fit the pool")
            return
        cases = {fleet.name: fleet for fleet in fleets}
        for index in range(data.draw(st.integers(1, 8), label="steps")):
            kind, name = data.draw(STEP_KINDS, label="kind"), data.draw(st.sampled_from(sorted(cases)), label="fleet")
            # a scale's replicas; an image's tag: a new one, or the first (0), or one an earlier step may have set
            tags = st.sampled_from([100 + index, 100 + index, 0, 101])
            size = data.draw(st.integers(0, 7) if kind == "scale" else tags, label="number")
            before = state(root)
            text = (root / "fleets/pool" / f"{name}.yaml").read_text()
            code, output = step(root, kind, name, size)
            if code != 0:  # a scale past what the pool holds: refused, nothing written
                assert kind == "scale" and "do not fit" in output, output
                (root / "fleets/pool" / f"{name}.yaml").write_text(text)
                continue
            if kind == "scale":
                cases[name] = FleetCase(name, size, cases[name].max_unavailable, cases[name].scheduling)
            after = state(root)
            event(f"{kind}: {sum(after[s].revision != before[s].revision for s in after if s in before)} restarted")
            check_step(kind, name, cases, before, after)
            (root / "rendered" / STAMP_FILE).unlink(missing_ok=True)  # so that check compiles from the files
            code, output = run(root, "check")
            assert code == 0 and output.endswith(f"{root / 'rendered'}: up to date\n"), output


def check_step(
    kind: str, name: str, cases: dict[str, FleetCase], before: dict[str, Server], after: dict[str, Server]
) -> None:
    kept = [server for server in after if server in before]
    for server in after.values():
        assert server.image in server.pod  # every Pod is its own revision's
    for server in kept:
        old, new = before[server], after[server]
        if (old.node, old.ports) == (new.node, new.ports) and old.revision == new.revision:
            assert new.pod == old.pod, f"{server} changed though neither its place nor its revision did"
    if kind in ("image", "next", "next-all"):  # nothing but revisions may change
        assert all((before[s].node, before[s].ports) == (after[s].node, after[s].ports) for s in kept)
        assert set(after) == set(before)
    for fleet, case in cases.items():
        restarted = [s for s in kept if s.startswith(fleet + "-") and before[s].revision != after[s].revision]
        if kind == "scale" or (kind == "image" and fleet != name):
            assert restarted == [] or (case.max_unavailable is None and fleet == name), restarted
        elif case.max_unavailable is not None:
            assert len(restarted) <= wave_size(case.max_unavailable, case.replicas), (fleet, restarted)
