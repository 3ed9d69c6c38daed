"""The pool compile's shortcuts say exactly what the plain way says: endpoint lines by formatting equal
json.dumps, and the conflict check (which judges a port's number once per fleet, port and number) still
names every broken guarantee, server by server, in order."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from test_validate import FLEET, POOL, edited, write_pool

from generator.allocation.spec import Allocation, Server
from generator.cli.options import settings_for
from generator.fleetfiles.rules import PoolSource
from generator.kube.api import config_map_key_problem, config_map_keys_valid, latest_version
from generator.manifests.render import JsonTexts, endpoint_entry, endpoint_json
from generator.manifests.verify import conflicts
from generator.tree.repository import validated_repository

names = st.text(min_size=1, max_size=12)
numbers = st.integers(min_value=0, max_value=2**70)


@settings(max_examples=300, deadline=None)
@given(names, names, st.lists(st.tuples(names, numbers), max_size=5))
def test_endpoint_json_is_json_dumps(address: str, node: str, host_ports: list[tuple[str, int]]) -> None:
    server = Server("arena", 0, node, tuple(host_ports))
    expected = json.dumps(endpoint_entry(server, address), sort_keys=True, separators=(",", ":"))
    texts = JsonTexts()
    assert endpoint_json(server, address, texts) == expected
    assert endpoint_json(server, address, texts) == expected  # from what the first call kept


TWO_PORTS = edited(
    FLEET,
    "    - name: game\n      containerPort: 7777\n",
    "    - name: game\n      containerPort: 7777\n"
    "    - name: admin\n      portPolicy: Static\n      hostPort: 7200\n"
    "      protocol: TCP\n      containerPort: 8080\n",
)


def _pool(tmp_path: Path) -> PoolSource:
    write_pool(tmp_path / "fleets", files={"pool.yaml": POOL, "fleet.yaml": TWO_PORTS})
    validated, _ = validated_repository(settings_for(tmp_path / "fleets", (), latest_version(), tmp_path / "out"))
    assert not validated.diagnostics
    return validated.pools[0]


def test_conflicts_names_every_broken_guarantee_in_server_order(tmp_path: Path) -> None:
    long = 10**60  # a name of 67 characters
    servers = (
        Server("arena", 0, "node-1", (("game", 7000), ("admin", 7200))),
        Server("arena", 1, "node-1", (("game", 7000), ("admin", 7201))),  # a clash, and a Static port moved
        Server("arena", 2, "node-2", (("game", 8500), ("admin", 7200))),  # out of range
        Server("arena", 3, "node-2", (("game", 7100), ("admin", 7200))),  # reserved, and a clash on node-2
        Server("arena", 4, "node-3", (("game", 8500), ("admin", 7200))),  # the same number judged again
        Server("arena", long, "node-3", (("game", 7001), ("admin", 7200))),  # a bad name, a clash on node-3
    )
    found = list(conflicts(_pool(tmp_path), Allocation("pool-a", servers, (), ())))
    assert found == [
        "hostPort 7000 on node node-1 is held by arena-0/game and arena-1/game",
        "arena-1/admin got 7201 instead of its Static port 7200",
        "arena-2/game got 8500, outside range 'default'",
        "arena-3/game got reserved port 7100",
        "hostPort 7200 on node node-2 is held by arena-2/admin and arena-3/admin",
        "arena-4/game got 8500, outside range 'default'",
        f"server name 'arena-{long}' must be at most 63 characters (is 67)",
        f"hostPort 7200 on node node-3 is held by arena-4/admin and arena-{long}/admin",
    ]


keys = st.lists(st.one_of(st.text(max_size=6), st.from_regex(r"[-._a-zA-Z0-9]{1,8}", fullmatch=True)), max_size=6)


@settings(max_examples=300, deadline=None)
@given(keys)
def test_config_map_keys_are_valid_together_only_when_each_is(found: list[str]) -> None:
    each = all(not config_map_key_problem(key) for key in found)
    assert config_map_keys_valid(found) <= each
    if all("\n" not in key for key in found):
        assert config_map_keys_valid(found) == each
