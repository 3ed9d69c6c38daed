"""Rollouts in waves through the real CLI on real files: a template change moves one wave, `rollout next` the
next, `rollout undo` every server back at once; servers outside the wave stay byte for byte, on their node
and ports; `rollout status` and `plan` say where each fleet stands."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from click.testing import CliRunner
from test_render import documents, snapshot_of
from test_status import pod_list, served, the_pod, waiting, write
from test_validate import FLEET as BASE_FLEET
from test_validate import IMAGE, Printed, assert_printed, edited, printed
from test_validate import POOL as BASE_POOL

from generator.cli import cli
from generator.edits import yaml_text
from generator.kube import api as kube

# Two nodes of six Pods each: the fleet's ten servers fill both.
POOL = edited(
    BASE_POOL,
    '      capacity: {pods: 110, cpu: "16", memory: 64Gi}\n',
    "      capacity: {pods: 6}\n    - name: node-2\n      address: 203.0.113.2\n      labels: {tier: premium}\n"
    "      capacity: {pods: 6}\n",
)
# Ten servers, three a wave, and comments where a release bot and its reviewers leave them.
FLEET = "# The arena fleet: ten matches.\n" + edited(
    edited(
        BASE_FLEET, "  replicas: 2\n", "  replicas: 10\n  rollout: {maxUnavailable: 3}   # three matches at a time\n"
    ),
    IMAGE,
    "          # the build players are on\n"
    "          image: example.com/arena:1.0   # bumped by the release bot\n"
    '          args: ["--tickrate=64"]',
)
OLD_IMAGE = "example.com/arena:1.0"
NEW_IMAGE = "example.com/arena:2.0"
FLEET_FILE = "fleets/pool-a/fleet.yaml"
LOCK_FILE = "fleets/pool-a/allocations.lock"


def place(text: str, found: str) -> str:
    """`fleet.yaml:line:column` of the first `found` in `text`."""
    head = text[: text.index(found)]
    return f"{FLEET_FILE}:{head.count(chr(10)) + 1}:{len(head) - head.rfind(chr(10))}"


MAX_UNAVAILABLE = place(FLEET, "3}   # three matches")  # where a diagnostic of maxUnavailable points
TEMPLATE_KEY = place(FLEET, "template:")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The pool with FLEET, rendered: ten servers on the old image."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "fleets" / "pool-a"
    folder.mkdir(parents=True)
    (folder / "pool.yaml").write_text(POOL)
    (folder / "fleet.yaml").write_text(FLEET)
    code, _, stderr = run("render")
    assert code == 0, stderr
    return tmp_path


def refused(repo: Path, args: list[str], where: str, message: str, hint: str | None = None) -> Printed:
    """The command exits 1 with the error `message` at `where`, says nothing was written, and changes no file."""
    before = snapshot_of(repo)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    found = assert_printed(result, where, message, hint)
    assert [d.place for d in printed(result.stderr) if d.severity == "error"] == [found.place]
    assert "nothing was written" in result.stderr
    assert snapshot_of(repo) == before
    return found


def change_fleet(repo: Path, old: str, new: str) -> None:
    path = repo / FLEET_FILE
    path.write_text(edited(path.read_text(), old, new))


def bump(repo: Path, image: str = NEW_IMAGE) -> None:
    """A new image in the template, as a release bot writes it."""
    path = repo / FLEET_FILE
    path.write_text(re.sub(r"image: \S+", f"image: {image}", path.read_text()))


def pod_texts(repo: Path) -> dict[str, str]:
    """Server name -> the exact text of its Pod in the rendered manifests."""
    found = {}
    for manifest in sorted((repo / "rendered" / "pool-a").glob("arena-*/manifest.yaml")):
        for document in re.split(r"^---\n", manifest.read_text().split("\n", 1)[1], flags=re.MULTILINE):
            found[yaml.safe_load(document)["metadata"]["name"]] = document
    return found


def images(repo: Path) -> dict[str, str]:
    return {name: yaml.safe_load(text)["spec"]["containers"][0]["image"] for name, text in pod_texts(repo).items()}


def on_new_image(repo: Path) -> list[str]:
    found = images(repo)
    return sorted((name for name, image in found.items() if image == NEW_IMAGE), key=lambda n: int(n.split("-")[1]))


def placement(repo: Path) -> dict[str, tuple[str, str]]:
    """Server -> (node, ports) as the lock holds them: what a rollout must never change."""
    found = {}
    for line in (repo / LOCK_FILE).read_text().splitlines():
        if line.startswith("arena "):
            fleet, ordinal, node, _, *ports = line.split()
            found[f"{fleet}-{ordinal}"] = (node, " ".join(ports))
    return found


def servers(names: range) -> list[str]:
    return [f"arena-{i}" for i in names]


# --- The first wave ----------------------------------------------------------------------------------


def test_an_image_bump_renders_three_new_pods_and_seven_unchanged_byte_for_byte(repo: Path) -> None:
    before, where = pod_texts(repo), placement(repo)
    bump(repo)
    code, _, stderr = run("render")
    assert code == 0, stderr
    after = pod_texts(repo)
    assert on_new_image(repo) == servers(range(3))
    assert {name: after[name] for name in servers(range(3, 10))} == {
        name: before[name] for name in servers(range(3, 10))
    }
    assert placement(repo) == where
    assert run("render")[1].startswith("wrote 0 files")  # a render with the lock it just wrote changes nothing
    assert run("check")[0] == 0


def test_the_plan_of_a_bump_says_which_wave_and_how_many_restart(repo: Path) -> None:
    bump(repo)
    code, stdout, _ = run("plan")
    assert code == 0
    assert "pool pool-a: 10 servers: +0 added, -0 removed, 0 moved, 0 port changes, 3 restart" in stdout
    assert re.search(
        r"  rollout:\n    arena: wave 1 of 4 to [0-9a-f]{10} \(server example.com/arena:2.0\): 3 servers restart "
        r"\(maxUnavailable 3\); still 7 on [0-9a-f]{10} \(server example.com/arena:1.0\)\n",
        stdout,
    ), stdout
    code, markdown, _ = run("plan", "--format", "markdown")
    assert "Rollout:\n\n- arena: wave 1 of 4 to " in markdown


def test_a_pod_of_each_revision_passes_kubernetes_validate(repo: Path) -> None:
    bump(repo)
    run("render")
    pods = [yaml.safe_load(text) for text in pod_texts(repo).values()]
    assert {pod["spec"]["containers"][0]["image"] for pod in pods} == {OLD_IMAGE, NEW_IMAGE}
    for pod in pods:
        kubernetes_validate.validate(pod, kube.latest_version(), strict=True)


def test_a_render_from_the_lock_alone_reproduces_the_servers_not_yet_updated(repo: Path) -> None:
    bump(repo)
    run("render")
    before = snapshot_of(repo / "rendered" / "pool-a")
    shutil.rmtree(repo / "rendered")
    assert run("render")[0] == 0
    after = snapshot_of(repo / "rendered" / "pool-a")
    assert {path: data for path, (data, _, _) in after.items()} == {path: data for path, (data, _, _) in before.items()}


# --- rollout next ------------------------------------------------------------------------------------


def test_rollout_next_three_more_times_reaches_ten_and_a_fourth_writes_nothing(repo: Path) -> None:
    where = placement(repo)
    bump(repo)
    run("render")
    for wave, reached in ((2, 6), (3, 9), (4, 10)):
        before = pod_texts(repo)
        code, stdout, stderr = run("rollout", "next")
        assert code == 0, stderr
        assert on_new_image(repo) == servers(range(reached))
        assert f"arena: wave {wave} of 4 to " in stdout
        restarted = reached - (reached - 1) // 3 * 3 if reached == 10 else 3
        assert f"{restarted} servers restart" in stdout or f"{restarted} server restart" in stdout
        unchanged = [name for name in before if name not in servers(range(reached))]
        assert all(pod_texts(repo)[name] == before[name] for name in unchanged)
        assert placement(repo) == where
        assert run("check")[0] == 0
    untouched = snapshot_of(repo)
    code, stdout, _ = run("rollout", "next")
    assert code == 0
    assert stdout == "nothing left to roll out: every server of every fleet runs its target; nothing was written\n"
    code, stdout, _ = run("rollout", "next", "pool-a/arena")
    assert code == 0
    assert re.match(r"pool-a/arena: nothing left to roll out: every server runs [0-9a-f]{10} \(server ", stdout)
    assert snapshot_of(repo) == untouched


def test_rollout_next_changes_only_the_lock_and_the_wave_s_pods(repo: Path) -> None:
    bump(repo)
    run("render")
    before = snapshot_of(repo)
    code, stdout, _ = run("rollout", "next", "--no-render")
    assert code == 0
    assert stdout.startswith("pool-a/arena: wave 2 to ")
    assert "arena-3, arena-4, arena-5; 2 more waves after it" in stdout
    after = snapshot_of(repo)
    assert sorted(path for path in after if after[path] != before[path]) == [LOCK_FILE]
    revisions = [line.split()[3] for line in (repo / LOCK_FILE).read_text().splitlines() if line.startswith("arena ")]
    assert revisions[:6] == [revisions[0]] * 6 and revisions[6:] == [revisions[9]] * 4 != revisions[:4]
    assert re.search(
        r"^@fleet arena target=[0-9a-f]{10} wave=2 previous=[0-9a-f]{10}$", after[LOCK_FILE][0].decode(), re.M
    )
    run("render")
    assert on_new_image(repo) == servers(range(6))


def test_rollout_next_refuses_a_template_change_not_rendered_yet_and_writes_nothing(repo: Path) -> None:
    bump(repo)
    refused(
        repo,
        ["rollout", "next", "pool-a/arena"],
        TEMPLATE_KEY,
        "pool-a/arena: its template changed since the last render; `fleetgen render` starts the rollout's first wave",
        "run `fleetgen render` first",
    )


def test_rollout_next_of_a_fleet_that_does_not_exist_says_which_do(repo: Path) -> None:
    code, _, stderr = run("rollout", "next", "pool-a/arnea")
    assert code == 1
    assert "pool-a/arnea: error: no fleet pool-a/arnea in the fleets folder" in stderr
    assert "did you mean 'pool-a/arena'?" in stderr
    assert run("rollout", "status", "arena")[0] == 2  # not POOL/FLEET: a usage error


# --- What starts a wave, and what does not ------------------------------------------------------------


def test_a_scale_up_during_a_rollout_starts_no_wave_and_its_new_servers_run_the_newest(repo: Path) -> None:
    bump(repo)
    run("render")
    before = pod_texts(repo)
    change_fleet(repo, "replicas: 10", "replicas: 12")
    code, _, stderr = run("render")
    assert code == 0, stderr
    assert on_new_image(repo) == [*servers(range(3)), "arena-10", "arena-11"]
    assert {name: pod_texts(repo)[name] for name in before} == before
    assert "wave=1 " in (repo / LOCK_FILE).read_text()


def test_a_second_change_mid_rollout_becomes_the_target_and_older_revisions_follow_in_waves(repo: Path) -> None:
    bump(repo)
    run("render")  # arena-0..2 on 2.0, the rest on 1.0
    bump(repo, "example.com/arena:3.0")
    code, stdout, _ = run("render")
    assert code == 0
    found = images(repo)
    assert [found[name] for name in servers(range(10))] == ["example.com/arena:3.0"] * 3 + [OLD_IMAGE] * 7
    code, stdout, _ = run("rollout", "status")
    assert "pool-a/arena: 3 of 10 servers on the target; wave 1 of 4 done, 3 waves left (maxUnavailable 3)" in stdout
    assert "undo returns to" in stdout and "(server example.com/arena:1.0)" in stdout.split("undo returns to")[1]
    assert "arena:2.0" not in (repo / LOCK_FILE).read_text()  # no server runs it: its template is not kept
    run("rollout", "next")
    assert [images(repo)[name] for name in servers(range(6))] == ["example.com/arena:3.0"] * 6


def test_servers_the_allocator_moves_take_the_newest_revision_and_no_other_changes(repo: Path) -> None:
    bump(repo)
    run("render")
    before, where = pod_texts(repo), placement(repo)
    pool = repo / "fleets/pool-a/pool.yaml"
    pool.write_text(
        edited(pool.read_text(), "capacity: {pods: 6}\n    - name: node-2", "capacity: {pods: 4}\n    - name: node-2")
    )
    code, _, stderr = run("render")
    assert code == 0, stderr
    moved = sorted(name for name, spot in placement(repo).items() if spot != where[name])
    assert moved and all(images(repo)[name] == NEW_IMAGE for name in moved)
    stayed = [name for name in servers(range(3, 10)) if name not in moved]
    assert all(pod_texts(repo)[name] == before[name] for name in stayed)


def test_without_spec_rollout_a_change_restarts_every_server_at_once(repo: Path) -> None:
    change_fleet(repo, "  rollout: {maxUnavailable: 3}   # three matches at a time\n", "")
    run("render")
    bump(repo)
    stdout = run("plan")[1]
    assert "10 restart" in stdout and "(the fleet has no spec.rollout); 10 servers restart" in stdout
    run("render")
    assert on_new_image(repo) == servers(range(10))


def test_removing_spec_rollout_mid_rollout_finishes_it_at_once(repo: Path) -> None:
    bump(repo)
    run("render")
    change_fleet(repo, "  rollout: {maxUnavailable: 3}   # three matches at a time\n", "")
    assert run("render")[0] == 0
    assert on_new_image(repo) == servers(range(10))


def test_a_v1_lock_is_read_as_every_server_on_the_current_template(repo: Path) -> None:
    lock = repo / LOCK_FILE
    v1 = ["# Generated by fleetgen. Do not edit; regenerate with `fleetgen render`.", "# fleetgen lock v1"]
    for line in lock.read_text().splitlines():
        if line.startswith("arena "):
            fleet, ordinal, node, _, *ports = line.split()
            v1.append(" ".join([fleet, ordinal, node, *ports]))
    lock.write_text("\n".join(v1) + "\n")
    before = pod_texts(repo)
    assert run("plan")[1].startswith("pool pool-a: no changes\n")
    assert run("render")[0] == 0
    assert pod_texts(repo) == before
    assert lock.read_text().splitlines()[1] == "# fleetgen lock v2"


# --- rollout undo ---------------------------------------------------------------------------------------


def test_undo_after_the_first_wave_restores_the_previous_image_everywhere_and_the_fleet_file(repo: Path) -> None:
    original = pod_texts(repo)
    bump(repo)
    run("render")
    code, stdout, stderr = run("rollout", "undo", "pool-a/arena")
    assert code == 0, stderr
    assert re.match(
        r"pool-a/arena: every server back to [0-9a-f]{10} \(server example.com/arena:1.0\) at once; "
        r"spec.template restored from the lock\n",
        stdout,
    )
    assert "3 restart" in stdout
    assert "arena: undo: every server back to" in stdout and "3 servers restart" in stdout
    assert (repo / FLEET_FILE).read_text() == FLEET  # comments and all
    assert pod_texts(repo) == original
    assert run("check")[0] == 0


def test_undo_after_the_last_wave_and_not_twice(repo: Path) -> None:
    original = pod_texts(repo)
    bump(repo)
    run("render")
    for _ in range(3):
        run("rollout", "next")
    assert on_new_image(repo) == servers(range(10))
    code, stdout, _ = run("rollout", "undo", "pool-a/arena")
    assert code == 0
    assert "10 servers restart" in stdout
    assert pod_texts(repo) == original and (repo / FLEET_FILE).read_text() == FLEET
    refused(repo, ["rollout", "undo", "pool-a/arena"], TEMPLATE_KEY, "there is no previous revision to go back to")


def render_and_undo(repo: Path) -> str:
    """Render the fleet file as edited, undo: the fleet file's text, which reads as FLEET again."""
    run("render")
    code, _, stderr = run("rollout", "undo", "pool-a/arena")
    assert code == 0, stderr
    text = (repo / FLEET_FILE).read_text()
    assert yaml.safe_load(text) == yaml.safe_load(FLEET)
    return text


def test_undo_takes_back_added_and_removed_keys_and_a_longer_list_keeping_the_comments(repo: Path) -> None:
    change_fleet(
        repo, 'args: ["--tickrate=64"]', 'args: ["--tickrate=128", "--ranked"]\n          env: [{name: MODE, value: x}]'
    )
    change_fleet(repo, "    metadata:\n      labels: {game: arena}\n", "")
    text = render_and_undo(repo)
    assert "# the build players are on" in text and "# bumped by the release bot" in text
    assert text.startswith("# The arena fleet: ten matches.\n")


def test_undo_refuses_while_the_template_is_not_rendered(repo: Path) -> None:
    bump(repo)
    run("render")
    bump(repo, "example.com/arena:3.0")
    refused(repo, ["rollout", "undo", "pool-a/arena"], TEMPLATE_KEY, "its template changed since the last render")


# --- rollout status -----------------------------------------------------------------------------------------


def test_rollout_status_counts_servers_per_revision_and_waves_done_and_left(repo: Path) -> None:
    code, stdout, _ = run("rollout", "status")
    assert code == 0
    assert (
        stdout.splitlines()[0] == "pool-a/arena: every server on the target; no rollout in progress (maxUnavailable 3)"
    )
    bump(repo)
    run("render")
    code, stdout, _ = run("rollout", "status", "pool-a/arena")
    assert code == 0
    lines = stdout.splitlines()
    assert lines[0] == "pool-a/arena: 3 of 10 servers on the target; wave 1 of 4 done, 3 waves left (maxUnavailable 3)"
    assert re.fullmatch(r"  target     3 servers  [0-9a-f]{10} \(server example.com/arena:2.0\)", lines[1])
    assert re.fullmatch(r"  older      7 servers  [0-9a-f]{10} \(server example.com/arena:1.0\)", lines[2])
    assert re.fullmatch(r"  undo returns to [0-9a-f]{10} \(server example.com/arena:1.0\)", lines[3])
    for _ in range(3):
        run("rollout", "next")
    assert run("rollout", "status")[1].splitlines()[0] == (
        "pool-a/arena: every server on the target; rollout complete in 4 waves (maxUnavailable 3)"
    )
    bump(repo, "example.com/arena:3.0")
    lines = run("rollout", "status")[1].splitlines()
    assert lines[1] == "  its template changed since the last render; `fleetgen render` starts the rollout's first wave"


# --- Bad input ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "maxUnavailable 0 would restart no server: a wave restarts at least one"),
        ("-2", "maxUnavailable -2 would restart no server"),
        ('"0%"', "maxUnavailable 0% is not a percentage from 1% to 100%"),
        ('"101%"', "maxUnavailable 101% is not a percentage from 1% to 100%"),
        ('"three"', "maxUnavailable 'three' is neither a count nor a percentage"),
        ('"3"', "maxUnavailable '3' is neither a count nor a percentage"),
        ('"2.5%"', "maxUnavailable '2.5%' is neither a count nor a percentage"),
        ("2.5", "expected a string or an integer, got 2.5"),
        ("true", "expected a string or an integer, got true"),
    ],
)
def test_a_bad_max_unavailable_is_an_error_at_its_line_and_nothing_is_written(
    repo: Path, value: str, message: str
) -> None:
    change_fleet(repo, "rollout: {maxUnavailable: 3}", f"rollout: {{maxUnavailable: {value}}}")
    found = refused(repo, ["render"], MAX_UNAVAILABLE, message)
    if "expected" not in message:
        assert 'write a count of at least 1 (maxUnavailable: 3) or a percentage from 1% to 100% ("25%")' in found.hint


@pytest.mark.parametrize(
    ("value", "replicas", "wave", "setting"),
    [
        ('"25%"', 10, 2, "maxUnavailable 25% (2 servers)"),
        ('"33%"', 10, 3, "maxUnavailable 33% (3 servers)"),
        ('"1%"', 10, 1, "maxUnavailable 1% (1 server)"),
        ('"100%"', 10, 10, "maxUnavailable 100% (10 servers)"),
        ('"50%"', 3, 1, "maxUnavailable 50% (1 server)"),
        ("4", 10, 4, "maxUnavailable 4"),
        ("20", 10, 10, "maxUnavailable 20"),
    ],
)
def test_max_unavailable_as_a_count_or_a_percentage_rounded_down_at_least_one(
    repo: Path, value: str, replicas: int, wave: int, setting: str
) -> None:
    change_fleet(repo, "rollout: {maxUnavailable: 3}", f"rollout: {{maxUnavailable: {value}}}")
    change_fleet(repo, "replicas: 10", f"replicas: {replicas}")
    assert run("render")[0] == 0
    bump(repo)
    code, _, stderr = run("render")
    assert code == 0, stderr
    assert on_new_image(repo) == servers(range(wave))
    assert f"({setting})" in run("rollout", "status")[1]


# --- rollout next --pods: the gate on live health ---------------------------------------------------------


def live(repo: Path, *changes: tuple[str, Callable[[dict], None]]) -> str:
    """What `kubectl get pods -A -o json` prints for the rendered Pods, running, but for `changes`; its path."""
    pods = [served(doc) for doc in documents(repo / "rendered") if doc["kind"] == "Pod"]
    for name, change in changes:
        change(the_pod(pods, name))
    return write(repo / "pods.json", pod_list(pods))


IMAGE_PULL = waiting("ImagePullBackOff", 'Back-off pulling image "example.com/arena:2.0"')


def test_rollout_next_with_pods_refuses_when_a_wave_server_cannot_pull_its_image(repo: Path) -> None:
    bump(repo)
    run("render")
    pods = live(repo, ("arena-1", IMAGE_PULL))
    refused(
        repo,
        ["rollout", "next", "--pods", pods],
        pods,
        "pool-a/arena: 1 of the 3 servers already on the target revision are not ok: arena-1 failed "
        '(ImagePullBackOff: Back-off pulling image "example.com/arena:2.0" (container server))',
        "or go back with `fleetgen rollout undo pool-a/arena`",
    )
    code, _, stderr = run("rollout", "next", "--pods", live(repo))
    assert code == 0, stderr
    assert on_new_image(repo) == servers(range(6))


def test_the_gate_names_wave_servers_the_cluster_has_not_updated_and_ignores_the_others(repo: Path) -> None:
    bump(repo)
    run("render")
    old_pod = {"arena-2": images(repo)["arena-3"]}

    def not_synced(pod: dict) -> None:
        pod["spec"]["containers"][0]["image"] = old_pod["arena-2"]

    crashing = waiting("CrashLoopBackOff", "back-off 5m0s restarting failed container=server", "Running", 7)
    result = CliRunner().invoke(
        cli, ["rollout", "next", "--pods", live(repo, ("arena-2", not_synced), ("arena-8", crashing))]
    )
    assert result.exit_code == 1
    (found,) = printed(result.stderr)
    assert "1 of the 3 servers already on the target revision are not ok: arena-2 outdated" in found.message
    assert "arena-8" not in result.stderr  # not on the target yet: the rollout is what will replace it
    assert run("rollout", "next", "--pods", live(repo, ("arena-8", crashing)))[0] == 0


def test_the_gate_reads_the_pods_before_anything_and_a_bad_list_writes_nothing(repo: Path) -> None:
    bump(repo)
    run("render")
    (repo / "pods.json").write_text('{"kind": "PodList", "items": [{"kind": "Pod"}]}')
    before = snapshot_of(repo)
    code, _, stderr = run("rollout", "next", "--pods", "pods.json")
    assert code == 1 and "pods.json" in stderr and "nothing was written" in stderr
    assert snapshot_of(repo) == before


# --- Undo's text surgery: only what differs changes -------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        pytest.param(
            "t:\n  c:\n    - name: s   # main\n      image: a:1   # bot\n",
            {"c": [{"name": "s", "image": "a:2"}]},
            "t:\n  c:\n    - name: s   # main\n      image: a:2   # bot\n",
            id="a-scalar",
        ),
        pytest.param(
            "t:\n  a: 1   # one\n  b: 2\n  # about c\n  c: 3\n",
            {"a": 1, "c": 3, "d": [4]},
            "t:\n  a: 1   # one\n  # about c\n  c: 3\n  d: [4]\n",
            id="block-keys-cut-and-added",
        ),
        pytest.param(
            "t:\n  args:\n    - --a   # first\n    - --b\n  x: 1\n",
            {"args": ["--a", "--b", "--c"], "x": 1},
            "t:\n  args:\n    - --a\n    - --b\n    - --c\n  x: 1\n",
            id="a-longer-block-list-as-a-block",
        ),
        pytest.param(
            "t: {a: 1, b: 2, c: 3}  # flow\n",
            {"b": 2, "c": 4, "e": "x y"},
            "t: {b: 2, c: 4, e: x y}  # flow\n",
            id="flow-entries",
        ),
        pytest.param(
            "t:\n  - name: s\n    env: [{name: A, value: '1'}]\n    image: a:1\n",
            [{"image": "a:1"}],
            "t:\n  - image: a:1\n",
            id="keys-beside-a-dash",
        ),
        pytest.param(
            "t:\r\n  c:\r\n    x: 1\r\n  d: 2\r\n",
            {"c": {"w": {"z": True}}, "d": "2"},
            't:\r\n  c:\r\n    w:\r\n      z: true\r\n  d: "2"\r\n',
            id="crlf-and-types",
        ),
        pytest.param(
            "t:\n  c:\n    x: 1\n  d: 2\n",
            {"c": [1, 2], "d": 2},
            "t:\n  c:\n    - 1\n    - 2\n  d: 2\n",
            id="a-block-mapping-becomes-a-block-list",
        ),
    ],
)
def test_reconciled_changes_only_what_differs(before: str, after: object, expected: str) -> None:
    root = yaml.compose(before, Loader=yaml.CSafeLoader)
    text = yaml_text.reconciled(before, root, "t", yaml.safe_load(before)["t"], after)
    assert text == expected
    assert yaml.safe_load(text) == {"t": after}


def test_undo_of_a_template_that_uses_an_alias_rewrites_it_whole_and_right(repo: Path) -> None:
    """An image anchored and reused in args: changing the anchor in place would change both places."""
    change_fleet(repo, "image: example.com/arena:1.0   # bumped", "image: &build example.com/arena:2.0   # bumped")
    change_fleet(repo, 'args: ["--tickrate=64"]', "args: [*build]")
    text = render_and_undo(repo)
    assert "&build" not in text and text.startswith(FLEET.split("  template:")[0])
    assert on_new_image(repo) == []


def test_status_holds_each_server_to_the_revision_it_runs_mid_rollout(repo: Path) -> None:
    bump(repo)
    run("render")
    code, stdout, _ = run("status", "--pods", live(repo))
    assert code == 0 and stdout.endswith("10 servers: 10 ok; 0 orphans\n")

    def updated_too_early(pod: dict) -> None:
        pod["spec"]["containers"][0]["image"] = NEW_IMAGE

    code, stdout, _ = run("status", "--pods", live(repo, ("arena-5", updated_too_early)))
    assert code == 1
    assert re.search(
        r"arena-5 +node-\d +outdated +.*container server runs example.com/arena:2.0, rendered example.com/arena:1.0",
        stdout,
    )


def test_rollout_next_on_a_lock_from_before_rollouts_asks_for_a_render_first(repo: Path) -> None:
    lock = repo / LOCK_FILE
    lock.write_text("".join(line for line in lock.read_text().splitlines(keepends=True) if not line.startswith("@")))
    refused(repo, ["rollout", "next", "pool-a/arena"], TEMPLATE_KEY, "the lock records no revisions of it yet")
    code, stdout, _ = run("rollout", "status")
    assert code == 0 and stdout.startswith("pool-a/arena: not rendered with this fleetgen yet")
