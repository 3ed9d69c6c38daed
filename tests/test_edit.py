"""scale, cordon, uncordon, add-node, remove-node: in-place edits whose diff is exactly the edited value."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from generator.cli import cli
from generator.edits import edit, yaml_text
from generator.kube import api as kube
from generator.settings import Settings

ROOT = Path(__file__).resolve().parent.parent

# Odd but valid on purpose: four-space and indentless blocks, quotes of both kinds, flow and block
# mappings, comments everywhere, a blank line inside the list, a flow-style node.
POOL = """\
# yaml-language-server: $schema=../fleetgen.schema.json
# A lab pool, formatted the way people really do it.
apiVersion: 'fleetgen.dev/v1alpha1'   # single-quoted
kind: NodePool
metadata: {name: lab}
spec:
    namespace: "lab"          # four spaces here
    portRanges:
        default: {min: 7000,   max: 7019}
    reservedPorts: [ 7005 ]
    nodes:
    # indentless: the dashes sit at the key's column
    - name: lab-1     # the first
      address: "192.0.2.1"
      labels:
          tier: gold
      capacity: {pods: 10, cpu: '4', memory: 8Gi}

    # lab-2 is block style and cordoned
    - name: lab-2
      address: 192.0.2.2
      capacity:
        pods: 10
      unschedulable: true    # ticket OPS-1
      # a trailing note about lab-2
    - {name: lab-3, address: 192.0.2.3, labels: {tier: gold}}   # flow style
# end of the pool
"""

FLEETS = """\
# yaml-language-server: $schema=../fleetgen.schema.json
---
# the first fleet
apiVersion: fleetgen.dev/v1alpha1
kind: Fleet
metadata:
  name: alpha
spec:
  replicas:    2     # two to start
  nodeSelector: {tier: gold}
  ports:
  - {name: game, containerPort: 7777}
  template:
    spec:
      containers:
      - name: server
        image: "registry.example.com/alpha:1"   # pinned
        args: ["--x", '--y']
---
apiVersion: fleetgen.dev/v1alpha1
kind: Fleet
metadata: {name: beta}
spec: {replicas: 1, template: {spec: {containers: [{name: s, image: "registry.example.com/beta:2"}]}}}
...
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository with one oddly formatted pool, rendered once, as the working directory."""
    folder = tmp_path / "fleets" / "lab"
    folder.mkdir(parents=True)
    (folder / "pool.yaml").write_text(POOL)
    (folder / "fleets.yaml").write_text(FLEETS)
    monkeypatch.chdir(tmp_path)
    assert run("render")[0] == 0
    return tmp_path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def changed_lines(before: str, after: str) -> list[str]:
    """The diff without context or headers: '-old' and '+new' lines, in order."""
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    return [line for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def pool_text(repo: Path) -> str:
    return (repo / "fleets/lab/pool.yaml").read_text()


def fleets_text(repo: Path) -> str:
    return (repo / "fleets/lab/fleets.yaml").read_text()


def files(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()
    }


# --- Round trips: each command changes exactly the edited value ----------------------------------------


def test_scale_changes_only_the_replicas_value(repo: Path) -> None:
    code, out, _ = run("scale", "lab/alpha", "3", "--no-render")
    assert code == 0, out
    assert changed_lines(FLEETS, fleets_text(repo)) == [
        "-  replicas:    2     # two to start",
        "+  replicas:    3     # two to start",
    ]
    assert fleets_text(repo) == FLEETS.replace("replicas:    2 ", "replicas:    3 ")
    assert pool_text(repo) == POOL


def test_scale_inside_a_flow_mapping(repo: Path) -> None:
    assert run("scale", "lab/beta", "2", "--no-render")[0] == 0
    assert fleets_text(repo) == FLEETS.replace("spec: {replicas: 1,", "spec: {replicas: 2,")


def test_cordon_adds_one_line_indented_like_the_other_keys(repo: Path) -> None:
    assert run("cordon", "lab/lab-1", "--no-render")[0] == 0
    assert changed_lines(POOL, pool_text(repo)) == ["+      unschedulable: true"]
    assert pool_text(repo) == POOL.replace("memory: 8Gi}\n", "memory: 8Gi}\n      unschedulable: true\n")


def test_cordon_a_flow_style_node(repo: Path) -> None:
    assert run("cordon", "lab/lab-3", "--no-render")[0] == 0
    assert pool_text(repo) == POOL.replace("labels: {tier: gold}}", "labels: {tier: gold}, unschedulable: true}")


def test_uncordon_changes_only_the_value_and_keeps_its_comment(repo: Path) -> None:
    assert run("uncordon", "lab/lab-2", "--no-render")[0] == 0
    assert changed_lines(POOL, pool_text(repo)) == [
        "-      unschedulable: true    # ticket OPS-1",
        "+      unschedulable: false    # ticket OPS-1",
    ]


def test_cordon_twice_and_uncordon_a_schedulable_node_change_nothing(repo: Path) -> None:
    before = files(repo / "fleets")
    code, out, _ = run("cordon", "lab/lab-2", "--no-render")
    assert code == 0 and "cordoned already (no change)" in out
    code, out, _ = run("uncordon", "lab/lab-1", "--no-render")
    assert code == 0 and "(no change)" in out
    assert files(repo / "fleets") == before


def test_add_node_appends_an_item_like_its_neighbours(repo: Path) -> None:
    args = ["add-node", "lab", "lab-4", "--address", "192.0.2.4", "--label", "tier=gold", "--cpu", "4"]
    code, out, err = run(*args, "--memory", "8Gi", "--pods", "10", "--no-render")
    assert code == 0, err
    new = (
        "    - name: lab-4\n"
        "      address: 192.0.2.4\n"
        "      labels: {tier: gold}\n"
        '      capacity: {pods: 10, cpu: "4", memory: 8Gi}\n'
    )
    anchor = "labels: {tier: gold}}   # flow style\n"
    assert pool_text(repo) == POOL.replace(anchor, anchor + new)
    assert "lab/lab-4: added" in out


def test_remove_node_cuts_the_item_with_its_own_comments(repo: Path) -> None:
    assert run("remove-node", "lab/lab-2", "--no-render")[0] == 0
    assert changed_lines(POOL, pool_text(repo)) == [
        "-    # lab-2 is block style and cordoned",
        "-    - name: lab-2",
        "-      address: 192.0.2.2",
        "-      capacity:",
        "-        pods: 10",
        "-      unschedulable: true    # ticket OPS-1",
        "-      # a trailing note about lab-2",
    ]


def test_remove_a_flow_style_node(repo: Path) -> None:
    assert run("remove-node", "lab/lab-3", "--no-render")[0] == 0
    assert changed_lines(POOL, pool_text(repo)) == [
        "-    - {name: lab-3, address: 192.0.2.3, labels: {tier: gold}}   # flow style"
    ]


def test_crlf_files_keep_their_line_breaks(repo: Path) -> None:
    path = repo / "fleets/lab/pool.yaml"
    path.write_bytes(POOL.replace("\n", "\r\n").encode())
    assert run("cordon", "lab/lab-1", "--no-render")[0] == 0
    expected = POOL.replace("memory: 8Gi}\n", "memory: 8Gi}\n      unschedulable: true\n")
    assert path.read_bytes() == expected.replace("\n", "\r\n").encode()


def test_a_file_with_a_byte_order_mark_keeps_it(repo: Path) -> None:
    path = repo / "fleets/lab/pool.yaml"
    path.write_text("\ufeff" + POOL, encoding="utf-8")
    assert run("uncordon", "lab/lab-2", "--no-render")[0] == 0
    expected = POOL.replace("unschedulable: true    # ticket", "unschedulable: false    # ticket")
    assert path.read_text(encoding="utf-8") == "\ufeff" + expected


# --- Text surgery on its own: edge cases the commands reach rarely -------------------------------------


def _edit_node(text: str, *path: str | int) -> tuple[str, object]:
    node = yaml.compose(text, Loader=yaml.CSafeLoader)
    for segment in path:
        node = node.value[segment] if isinstance(segment, int) else yaml_text.entry(node, segment)[1]
    return text, node


def test_set_value_of_an_empty_key_and_at_the_end_of_a_file_without_newline() -> None:
    text, mapping = _edit_node("a:\nb: 1")
    assert yaml_text.set_value(text, mapping, "a", "x") == "a: x\nb: 1"
    assert yaml_text.set_value(text, mapping, "c", "2") == "a:\nb: 1\nc: 2\n"


def test_append_to_an_empty_flow_list_and_remove_the_only_block_item() -> None:
    text, mapping = _edit_node("spec:\n  nodes: []\n", "spec")
    key, sequence = yaml_text.entry(mapping, "nodes")
    assert yaml_text.append_item(text, sequence, {"name": "n", "address": "192.0.2.9"}) == (
        "spec:\n  nodes: [{name: n, address: 192.0.2.9}]\n"
    )
    text, mapping = _edit_node("spec:\n  nodes:\n    - name: n  # only\n  pin: nodeName\n", "spec")
    key, sequence = yaml_text.entry(mapping, "nodes")
    assert yaml_text.remove_item(text, key, sequence, 0) == "spec:\n  nodes: []\n  pin: nodeName\n"


def test_plain_strings_only_when_they_read_back_the_same() -> None:
    assert yaml_text.flow({"cpu": "4", "memory": "8Gi", "x": "yes", "y": "a: b", "z": "2001:db8::1"}) == (
        '{cpu: "4", memory: 8Gi, x: "yes", y: "a: b", z: 2001:db8::1}'
    )
    for value in ("4", "8Gi", "yes", "a: b", "2001:db8::1", "~", "1e3", "0x1F", "12:30"):
        assert yaml.safe_load("{k: " + yaml_text.flow(value) + "}") == {"k": value}


# --- Refusals: nothing on disk changes ------------------------------------------------------------------


def test_scale_past_capacity_is_refused_and_changes_no_file(repo: Path) -> None:
    before = files(repo)
    code, _, err = run("scale", "lab/alpha", "40")
    assert code == 1
    assert "fleets/lab/fleets.yaml:9:16: error: pool 'lab', fleet 'alpha'" in err
    assert "  replicas:    40     # two to start" in err  # the excerpt shows the edited text
    assert "edit refused; no file was changed" in err
    assert files(repo) == before


def test_invalid_node_is_refused_with_the_position_in_the_edited_text(repo: Path) -> None:
    before = files(repo)
    code, _, err = run("add-node", "lab", "lab-4", "--address", "not-an-ip")
    assert code == 1
    assert "fleets/lab/pool.yaml:28:16: error: address 'not-an-ip' is not an IPv4 or IPv6 address" in err
    assert "        address: not-an-ip\n                 ^" in err
    assert files(repo) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["scale", "lab/alfa", "1"], "pool 'lab' has no fleet 'alfa'\n  hint: did you mean 'alpha'?"),
        (["scale", "lob/alpha", "1"], "no pool folder named 'lob'\n  hint: did you mean 'lab'?"),
        (["cordon", "lab/lab-9"], "pool 'lab' has no node 'lab-9'"),
        (["add-node", "lab", "lab-1", "--address", "192.0.2.9"], "node 'lab-1' is listed twice"),
    ],
)
def test_refusals_name_the_problem(repo: Path, args: list[str], message: str) -> None:
    before = files(repo)
    code, _, err = run(*args)
    assert code == 1
    assert message in err
    assert files(repo) == before


def test_removing_the_last_node_a_fleet_can_use_is_refused(repo: Path) -> None:
    assert run("remove-node", "lab/lab-3")[0] == 0
    before = files(repo)
    code, _, err = run("remove-node", "lab/lab-1")
    assert code == 1
    assert "fleet 'alpha': 2 server(s) do not fit" in err
    assert files(repo) == before


def test_a_file_that_does_not_load_is_named_when_its_fleet_is_not_found(repo: Path) -> None:
    (repo / "fleets/lab/fleets.yaml").write_text(FLEETS.replace("  replicas:    2", "  replicas:  [2"))
    code, _, err = run("scale", "lab/alpha", "3")
    assert code == 1
    assert "fleets/lab/fleets.yaml:" in err and "YAML syntax error" in err
    assert "pool 'lab' has no fleet 'alpha'" in err


def test_usage_errors_exit_2(repo: Path) -> None:
    assert run("scale", "alpha", "3")[0] == 2
    assert run("scale", "lab/alpha", "-1")[0] == 2
    assert run("add-node", "lab", "x", "--address", "192.0.2.9", "--label", "novalue")[0] == 2


def test_a_value_shared_through_an_anchor_is_not_edited_in_place(repo: Path) -> None:
    path = repo / "fleets/lab/fleets.yaml"
    shared = FLEETS.replace("replicas:    2 ", "replicas:    &two 2 ").replace(
        "    spec:\n      containers:", "    spec:\n      terminationGracePeriodSeconds: *two\n      containers:"
    )
    path.write_text(shared)
    code, _, err = run("scale", "lab/alpha", "3")
    assert code == 1
    assert "fleets/lab/fleets.yaml:9:3: error: cannot edit in place (lab/alpha: replicas 2 -> 3)" in err
    assert "YAML anchor" in err
    assert path.read_text() == shared


def test_a_file_changed_since_it_was_read_is_not_overwritten(repo: Path) -> None:
    settings = Settings(Path("fleets"), Path("rendered"), ("lab",), kube.latest_version())
    checked = edit.prepare(settings, "lab", lambda loaded: edit.scale(loaded, Path("fleets"), "lab", "alpha", 3))
    assert not checked.refused
    path = repo / "fleets/lab/fleets.yaml"
    path.write_text(FLEETS.replace("two to start", "someone else's edit"))
    problems = edit.write(checked)
    assert [p.message for p in problems] == ["changed on disk since it was read; nothing was written"]
    assert "someone else's edit" in path.read_text()


# --- With render: the edit, the render and the plan, in one command -------------------------------------


def test_scale_renders_and_prints_the_plan(repo: Path) -> None:
    code, out, err = run("scale", "lab/alpha", "4")
    assert code == 0, err
    assert "fleets/lab/fleets.yaml: lab/alpha: replicas 2 -> 4" in out
    assert "pool lab: 5 servers: +2 added" in out
    assert "    alpha-2\n    alpha-3\n" in out
    assert run("check")[0] == 0  # rendered/ and the lock match the edited files
    lock = (repo / "fleets/lab/allocations.lock").read_text()
    assert "alpha 3 lab-" in lock


def test_a_broken_other_pool_fails_the_render_after_the_edit_is_written(repo: Path) -> None:
    other = repo / "fleets/other"
    other.mkdir()
    pool = POOL.replace("metadata: {name: lab}", "metadata: {name: other}").replace("lab-", "other-")
    pool = pool.replace("192.0.2.", "198.51.100.")
    (other / "pool.yaml").write_text(pool.replace('namespace: "lab"', 'namespace: "other"'))
    (other / "fleets.yaml").write_text(FLEETS.replace("replicas:    2 ", "replicas:    90 "))
    code, out, err = run("scale", "lab/alpha", "3")
    assert code == 1
    assert "fleets/other/fleets.yaml:9:16: error: pool 'other', fleet 'alpha': 61 server(s) do not fit" in err
    assert "the edit was written, but the render failed" in err
    assert "fleets/lab/fleets.yaml: lab/alpha: replicas 2 -> 3" in out
    assert "replicas:    3 " in fleets_text(repo)


def test_cordon_moves_servers_off_the_node(repo: Path) -> None:
    lock = (repo / "fleets/lab/allocations.lock").read_text()
    node = lock.split("alpha 0 ", 1)[1].split()[0]
    code, out, err = run("cordon", f"lab/{node}")
    assert code == 0, err
    assert f"alpha-0: {node} -> " in out
    assert f"alpha 0 {node} " not in (repo / "fleets/lab/allocations.lock").read_text()
    assert run("check")[0] == 0


def test_the_example_pools_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every command on the committed examples: each touches only its own lines."""
    shutil.copytree(ROOT / "fleets", tmp_path / "fleets")
    monkeypatch.chdir(tmp_path)
    pool = tmp_path / "fleets/eu-west-1/pool.yaml"
    original = pool.read_text()
    assert run("uncordon", "eu-west-1/fra-gs-04", "--no-render")[0] == 0
    assert changed_lines(original, pool.read_text()) == [
        "-      unschedulable: true   # cordoned: disk replacement, ticket OPS-4411",
        "+      unschedulable: false   # cordoned: disk replacement, ticket OPS-4411",
    ]
    assert run("remove-node", "eu-west-1/fra-gs-04", "--no-render")[0] == 0
    node = ["fra-gs-04", "--address", "203.0.113.14", "--label", "tier=standard", "--pods", "110"]
    assert run("add-node", "eu-west-1", *node, "--cpu", "16", "--memory", "64Gi", "--cordoned", "--no-render")[0] == 0
    assert changed_lines(original, pool.read_text()) == [
        "-      unschedulable: true   # cordoned: disk replacement, ticket OPS-4411",
        "+      unschedulable: true",
    ]
