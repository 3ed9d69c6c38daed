"""A lock edited by hand into a state fleetgen never writes is repaired, and the render says so: a warning at
the lock's line naming the server, what was wrong and what moved."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_validate import FLEET, POOL, assert_printed, edited, printed, write_pool

from generator.cli import cli

# Two nodes, a range of two numbers, three one-port servers: render packs arena-0 and arena-1 on node-1.
RANGE = '    default: {min: 7000, max: 7001}\n    voice: {min: 9000, max: 9099}\n  reservedPorts: [7100, "7500-7509"]'
TWO_NODES = edited(
    POOL, "64Gi}\n", "64Gi}\n    - name: node-2\n      address: 203.0.113.2\n      labels: {tier: premium}\n"
)
POOL_SMALL = edited(
    TWO_NODES,
    '    default: {min: 7000, max: 7999}\n    voice: {min: 9000, max: 9099}\n  reservedPorts: [7100, "7500-7509"]',
    RANGE,
)
FLEET_OF_3 = edited(FLEET, "replicas: 2", "replicas: 3")
# The servers' lines, after the header, the version, and the fleet's @fleet and @template lines.
ENTRIES = """\
arena 0 node-1 {rev} game=7000/UDP/Dynamic/default
arena 1 node-1 {rev} game=7001/UDP/Dynamic/default
arena 2 node-2 {rev} game=7000/UDP/Dynamic/default
"""
LOCK_PATH = "fleets/pool-a/allocations.lock"


@dataclass(frozen=True)
class Rendered:
    """The pool rendered once; its lock is `lock`: `head`, then ENTRIES on the fleet's one revision."""

    path: Path
    head: str
    revision: str

    @property
    def lock(self) -> str:
        return self.head + ENTRIES.format(rev=self.revision)

    def entries(self, text: str) -> str:
        return text.format(rev=self.revision)


@pytest.fixture
def rendered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Rendered:
    monkeypatch.chdir(tmp_path)
    folder = write_pool(Path("fleets"), files={"pool.yaml": POOL_SMALL, "fleet.yaml": FLEET_OF_3})
    assert render().exit_code == 0
    text = (folder / "allocations.lock").read_text()
    head = "".join(line for line in text.splitlines(keepends=True) if line.startswith(("#", "@")))
    revision = re.search(r"^@fleet arena target=([0-9a-f]+) wave=0$", head, re.MULTILINE)
    assert revision is not None and len(head.splitlines()) == 4
    found = Rendered(folder / "allocations.lock", head, revision.group(1))
    assert text == found.lock
    return found


def render() -> object:
    return CliRunner().invoke(cli, ["render", "--fleets", "fleets", "--out", "rendered"])


@pytest.mark.parametrize(
    ("old", "new", "line", "message", "hint"),
    [
        pytest.param(
            "arena 1 node-1 {rev} game=7001",
            "arena 1 node-1 {rev} game=7000",
            6,
            "arena-1: port game 7000 on node node-1 is held by arena-0 (line 5) too; "
            "renumbered on node node-1: game 7000 -> 7001",
            "fleetgen never writes two servers on one number of a node",
            id="two-servers-on-one-port-renumbered",
        ),
        pytest.param(
            "arena 2 node-2 {rev} game=7000",
            "arena 2 node-1 {rev} game=7001",
            7,
            "arena-2: port game 7001 on node node-1 is held by arena-1 (line 6) too; "
            "moved from node node-1 to node-2: game 7001 -> 7000",
            "was the lock edited by hand, or merged?",
            id="two-servers-on-one-port-moved",
        ),
        pytest.param(
            "arena 0 node-1 {rev} game=7000",
            "arena 0 node-1 {rev} game=7005",
            5,
            "arena-0: port game 7005 is outside range default (7000-7001); "
            "renumbered on node node-1: game 7005 -> 7000",
            "no longer allow the number (or the lock was edited by hand)",
            id="port-outside-its-range",
        ),
    ],
)
def test_an_impossible_lock_is_repaired_with_a_warning_at_its_line(
    rendered: Rendered, old: str, new: str, line: int, message: str, hint: str
) -> None:
    rendered.path.write_text(edited(rendered.lock, rendered.entries(old), rendered.entries(new)))
    result = render()
    assert result.exit_code == 0, result.output
    found = assert_printed(result, f"{LOCK_PATH}:{line}:1", f"pool 'pool-a': {message}", hint, severity="warning")
    assert [d.place for d in printed(result.stderr)] == [found.place]
    assert rendered.path.read_text() == rendered.lock
    again = render()
    assert again.exit_code == 0 and printed(again.stderr) == []


def test_a_server_holding_one_number_twice(rendered: Rendered) -> None:
    pool = edited(POOL_SMALL, "{min: 7000, max: 7001}", "{min: 7000, max: 7003}")
    fleet = edited(
        FLEET_OF_3,
        "      containerPort: 7777",
        "      containerPort: 7777\n    - name: query\n      containerPort: 7778",
    )
    (rendered.path.parent / "pool.yaml").write_text(pool)
    (rendered.path.parent / "fleet.yaml").write_text(fleet)
    assert render().exit_code == 0
    lock = rendered.path.read_text()
    line = next(text for text in lock.splitlines() if text.startswith("arena 0 "))
    assert re.fullmatch(r"arena 0 node-1 [0-9a-f]+ game=7000/UDP/Dynamic/default query=7002/UDP/Dynamic/default", line)
    rendered.path.write_text(lock.replace(line, line.replace("query=7002", "query=7000")))
    result = render()
    assert result.exit_code == 0
    assert_printed(
        result,
        f"{LOCK_PATH}:5:1",
        "arena-0: port query 7000 on node node-1 is held by its own port game too; "
        "renumbered on node node-1: query 7000 -> 7002",
        severity="warning",
    )
    assert rendered.path.read_text() == lock
