"""Two nodes that clients reach at one address would give clashing `address:port` endpoints: refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_incremental import replace_in, tree
from test_validate import FLEET, POOL, POOL_B, assert_printed, edited, validate, write_pool

from generator.cli import cli

ROOT = Path(__file__).resolve().parent.parent


def with_second_node(pool: str, address: str) -> str:
    """POOL with node-2 (lines 16-17) at `address`: its value starts at column 16 of line 17."""
    return edited(pool, "64Gi}\n", f"64Gi}}\n    - name: node-2\n      address: {address}\n")


@pytest.fixture
def fleets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return Path("fleets")


@pytest.mark.parametrize(
    "address",
    [
        pytest.param("203.0.113.1", id="same-text"),
        pytest.param('"::ffff:203.0.113.1"', id="ipv4-mapped-ipv6"),
    ],
)
def test_two_nodes_of_a_pool_with_one_address(fleets: Path, address: str) -> None:
    write_pool(fleets, files={"pool.yaml": with_second_node(POOL, address), "fleet.yaml": FLEET})
    result = validate()
    assert result.exit_code == 1
    found = assert_printed(
        result,
        "fleets/pool-a/pool.yaml:17:16",
        "node 'node-2' has the address of node 'node-1' (fleets/pool-a/pool.yaml:13:16)",
        "give each node the external address that reaches it and no other node",
    )
    assert "address:port endpoints" in found.message


def test_ipv6_addresses_are_compared_whatever_their_spelling(fleets: Path) -> None:
    pool = edited(POOL, "203.0.113.1", '"2001:db8::1"')
    write_pool(fleets, files={"pool.yaml": with_second_node(pool, '"2001:db8::2"'), "fleet.yaml": FLEET})
    assert validate().exit_code == 0
    write_pool(fleets, files={"pool.yaml": with_second_node(pool, '"2001:DB8:0::1"'), "fleet.yaml": FLEET})
    result = validate()
    assert result.exit_code == 1
    assert_printed(
        result, "fleets/pool-a/pool.yaml:17:16", "has the address of node 'node-1' (fleets/pool-a/pool.yaml:13:16)"
    )


def test_nodes_of_two_pools_with_one_address(fleets: Path) -> None:
    write_pool(fleets)
    pool_b = edited(POOL_B, "namespace: games", "namespace: other").replace("203.0.113.2", "203.0.113.1")
    write_pool(fleets, "pool-b", {"pool.yaml": pool_b, "fleet.yaml": FLEET})
    result = validate()
    assert result.exit_code == 1
    assert_printed(
        result,
        "fleets/pool-b/pool.yaml:13:16",
        "node 'node-2' has the address of node 'node-1' of pool 'pool-a' (fleets/pool-a/pool.yaml:13:16)",
    )


def test_a_pool_reused_from_the_stamp_still_sees_the_other_pools_addresses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """eu-west-1 is unchanged, so render would reuse it unread; its record holds its addresses."""
    shutil.copytree(ROOT / "fleets", tmp_path / "fleets")
    shutil.copytree(ROOT / "rendered", tmp_path / "rendered")
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(cli, ["render"]).exit_code == 0
    replace_in(tmp_path / "fleets/us-east-1/pool.yaml", "address: 198.51.100.22", "address: 203.0.113.12")
    before = tree(tmp_path)
    result = CliRunner().invoke(cli, ["render"])
    assert result.exit_code == 1, result.output
    found = assert_printed(
        result, "fleets/us-east-1/pool.yaml:20:16", "of pool 'eu-west-1' (fleets/eu-west-1/pool.yaml:22:16)"
    )
    assert "fra-gs-02" in found.message
    assert tree(tmp_path) == before


def test_add_node_with_an_address_in_use_changes_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(ROOT / "fleets", tmp_path / "fleets")
    monkeypatch.chdir(tmp_path)
    before = tree(tmp_path)
    result = CliRunner().invoke(cli, ["add-node", "eu-west-1", "fra-gs-05", "--address", "2001:db8:10:0::13"])
    assert result.exit_code == 1, result.output
    assert "has the address of node 'fra-gs-03'" in result.stderr
    assert tree(tmp_path) == before
