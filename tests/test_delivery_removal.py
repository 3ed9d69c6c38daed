"""Nothing deleted by accident: a render that would remove the Argo CD or Flux objects of a pool that still
has servers (Argo CD and Flux would then delete those servers) is refused unless asked for, and plan lists
every delivery object added, changed and removed, by name, flagging those removals."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from test_incremental import replace_in, run

from generator.manifests.delivery_check import DELIVERY_FOLDER

ROOT = Path(__file__).resolve().parent.parent
ALLOW = "--allow-delivery-removal"
EU_OBJECTS = [
    "Application argocd/starfall-eu-west-1-network",
    "ApplicationSet argocd/starfall-eu-west-1",
    "Kustomization flux-system/starfall-eu-west-1-casual-0 (cluster prod-eu)",
    "Kustomization flux-system/starfall-eu-west-1-network (cluster prod-eu)",
    "Kustomization flux-system/starfall-eu-west-1-ranked-0 (cluster prod-eu)",
]
US_FLUX = [
    "Kustomization flux-system/starfall-us-east-1-community-0 (cluster prod-us)",
    "Kustomization flux-system/starfall-us-east-1-network (cluster prod-us)",
    "Kustomization flux-system/starfall-us-east-1-relay-0 (cluster prod-us)",
]
US_OBJECTS = ["Application argocd/starfall-us-east-1-network", "ApplicationSet argocd/starfall-us-east-1", *US_FLUX]


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example repository, fleets and rendered/ (with its delivery objects), as the working directory."""
    shutil.copytree(ROOT / "fleets", tmp_path / "fleets")
    shutil.copytree(ROOT / "rendered", tmp_path / "rendered")
    monkeypatch.chdir(tmp_path)
    assert run("render")[0] == 0
    return tmp_path


def on_disk(repo: Path) -> dict[str, tuple[bytes, int]]:
    """Every file of rendered/ (the stamp included) and every lock: bytes and mtime, to prove nothing was written."""
    paths = [*(repo / "rendered").rglob("*"), *(repo / "fleets").glob("*/allocations.lock")]
    return {str(p.relative_to(repo)): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(paths) if p.is_file()}


def delivered(repo: Path) -> set[str]:
    """Every object under rendered/_delivery/, as `Kind namespace/name`, and the cluster of a Flux one."""
    root = repo / "rendered" / DELIVERY_FOLDER
    found = set()
    for path in sorted(root.rglob("*.yaml")):
        folder = path.parent.relative_to(root).as_posix()
        where = f" (cluster {folder.removeprefix('flux/')})" if folder.startswith("flux/") else ""
        for doc in yaml.safe_load_all(path.read_text()):
            found.add(f"{doc['kind']} {doc['metadata']['namespace']}/{doc['metadata']['name']}{where}")
    return found


def delete_gitops(repo: Path) -> None:
    (repo / "fleets/gitops.yaml").unlink()


def empty_gitops(repo: Path) -> None:
    (repo / "fleets/gitops.yaml").write_text("# delivery settings: none for now\n")


def cut_setting(repo: Path, key: str, next_key: str) -> None:
    """Remove `key` and its lines from gitops.yaml's spec, as a person deleting that block would."""
    path = repo / "fleets/gitops.yaml"
    text = path.read_text()
    path.write_text(text[: text.index(f"  {key}:")] + text[text.index(f"  {next_key}:") :])


def argocd_off(repo: Path) -> None:
    cut_setting(repo, "argocd", "flux")


def flux_off(repo: Path) -> None:
    cut_setting(repo, "flux", "pools")


def rename_prefix(repo: Path) -> None:
    replace_in(repo / "fleets/gitops.yaml", "name: starfall ", "name: starfall2 ")


# edit -> what the refusal must name, by pool
REMOVALS: dict[str, tuple[Callable[[Path], None], dict[str, list[str]]]] = {
    "gitops.yaml deleted": (delete_gitops, {"eu-west-1": EU_OBJECTS, "us-east-1": US_OBJECTS}),
    "gitops.yaml emptied": (empty_gitops, {"eu-west-1": EU_OBJECTS, "us-east-1": US_OBJECTS}),
    "argocd switched off": (argocd_off, {"eu-west-1": EU_OBJECTS[:2], "us-east-1": US_OBJECTS[:2]}),
    "flux switched off": (flux_off, {"eu-west-1": EU_OBJECTS[2:], "us-east-1": US_FLUX}),
    "every object renamed": (rename_prefix, {"eu-west-1": EU_OBJECTS, "us-east-1": US_OBJECTS}),
}
SERVERS = {"eu-west-1": 10, "us-east-1": 5}


@pytest.mark.parametrize("edit", sorted(REMOVALS))
def test_a_render_that_removes_the_delivery_of_pools_with_servers_is_refused(repo: Path, edit: str) -> None:
    change, removed = REMOVALS[edit]
    assert delivered(repo) >= {name for names in removed.values() for name in names}
    change(repo)
    before = on_disk(repo)
    code, stdout, stderr = run("render")
    assert (code, stdout) == (1, "")
    assert on_disk(repo) == before, "nothing written: not a file, not a lock, not the stamp"
    for pool, names in removed.items():
        (line,) = [line for line in stderr.splitlines() if f"pool {pool!r} still has" in line]
        assert f"error: pool {pool!r} still has {SERVERS[pool]} servers" in line
        assert "Argo CD and Flux would delete them from the cluster" in line
        assert line.endswith(": " + ", ".join(names)), "every object that would go, by kind, namespace and name"
    assert stderr.count("still has") == len(removed)
    assert f"run `fleetgen render {ALLOW}`" in stderr
    assert "fleets/gitops.yaml" in stderr
    assert run("render")[0] == 1 and on_disk(repo) == before, "and so is the next one"


def test_the_refusal_is_at_the_first_line_of_a_gitops_yaml_that_holds_no_document(repo: Path) -> None:
    """Emptied (as a bad merge can leave it), the file still has a line to point at; deleted, it has none."""
    empty_gitops(repo)
    code, _, stderr = run("render")
    assert code == 1
    assert "fleets/gitops.yaml:1:1: error: pool 'eu-west-1' still has" in stderr
    delete_gitops(repo)
    assert "fleets/gitops.yaml: error: pool 'eu-west-1' still has" in run("render")[2]


@pytest.mark.parametrize("edit", sorted(REMOVALS))
def test_the_removal_is_done_when_asked_for_and_said_loudly(repo: Path, edit: str) -> None:
    change, removed = REMOVALS[edit]
    change(repo)
    code, _, stderr = run("render", ALLOW)
    assert code == 0
    for pool in removed:
        assert f"warning: removing the delivery of pool {pool!r}, as {ALLOW} asks" in stderr
        assert f"delete its {SERVERS[pool]} servers" in stderr
    assert delivered(repo).isdisjoint(name for names in removed.values() for name in names)
    assert run("check") == (0, "rendered: up to date\n", "")
    assert run("render")[:2] == (0, "wrote 0 files: nothing changed since the last render (its stamp matches)\n")


def test_no_gitops_yaml_means_no_delivery_objects_until_some_are_rendered(tmp_path: Path, monkeypatch) -> None:
    """The file's own comment: delete it to write none. A repository that never had any renders as before;
    once some are rendered, deleting the file is a removal like any other."""
    shutil.copytree(ROOT / "fleets", tmp_path / "fleets")
    gitops = tmp_path / "fleets/gitops.yaml"
    settings = gitops.read_bytes()
    gitops.unlink()
    monkeypatch.chdir(tmp_path)
    assert run("render")[::2] == (0, "")
    assert not (tmp_path / "rendered" / DELIVERY_FOLDER).exists()
    gitops.write_bytes(settings)
    assert run("render")[::2] == (0, "")
    gitops.unlink()
    code, _, stderr = run("render")
    assert code == 1 and "pool 'eu-west-1' still has 10 servers" in stderr


@pytest.mark.parametrize("output_format", ["text", "markdown"])
def test_plan_lists_the_removed_objects_by_name_and_flags_pools_that_still_have_servers(
    repo: Path, output_format: str
) -> None:
    delete_gitops(repo)
    before = on_disk(repo)
    code, plan, _ = run("plan", "--format", output_format)
    assert code == 0 and on_disk(repo) == before
    assert "no changes" not in plan
    for pool, names in (("eu-west-1", EU_OBJECTS), ("us-east-1", US_OBJECTS)):
        notice = f"pool {pool!r} still has {SERVERS[pool]} servers, but this render removes the delivery objects"
        assert notice in plan and f"render refuses this without {ALLOW}" in plan
        for name in names:
            assert (f"- `removed {name}`" if output_format == "markdown" else f"    removed {name}\n") in plan
    if output_format == "markdown":
        assert "**pool 'eu-west-1' still has 10 servers" in plan, "in bold"
        assert "<summary>delivery (5)</summary>" in plan


def test_a_one_pool_run_leaves_the_delivery_objects_alone(repo: Path) -> None:
    """`--pool` never covers rendered/_delivery/ (it depends on every pool): it neither plans nor removes it."""
    delete_gitops(repo)
    assert "removed Application" in run("plan")[1]
    delivery = {p: p.read_bytes() for p in (repo / "rendered" / DELIVERY_FOLDER).rglob("*.yaml")}
    code, plan, _ = run("plan", "--pool", "eu-west-1")
    assert code == 0 and "delivery" not in plan and "still has" not in plan
    assert run("render", "--pool", "eu-west-1")[0] == 0
    assert {p: p.read_bytes() for p in (repo / "rendered" / DELIVERY_FOLDER).rglob("*.yaml")} == delivery


def test_plan_lists_changed_and_added_objects_with_what_changed(repo: Path) -> None:
    replace_in(repo / "fleets/gitops.yaml", "project: default", "project: games")
    code, plan, _ = run("plan")
    assert code == 0
    assert "    changed Application argocd/starfall-eu-west-1-network: spec.project\n" in plan
    assert "    changed ApplicationSet argocd/starfall-us-east-1: spec.template.spec.project\n" in plan
    assert "removed" not in plan.replace("-0 removed", "") and "still has" not in plan
    assert run("render")[0] == 0, "a change deletes nothing: no refusal"
    shutil.rmtree(repo / "rendered" / DELIVERY_FOLDER)
    code, plan, _ = run("plan")
    assert [line.strip() for line in plan.splitlines() if line.startswith("    added ")] == [
        *(f"added {name}" for name in sorted(EU_OBJECTS, key=_by_kind_and_name)),
        *(f"added {name}" for name in sorted(US_OBJECTS, key=_by_kind_and_name)),
    ]


def _by_kind_and_name(name: str) -> tuple[bool, str]:
    return name.startswith("Kustomization"), name


def test_moving_a_pool_to_another_cluster_is_refused_at_the_setting_that_moves_it(repo: Path) -> None:
    """Flux in the old cluster prunes the pool's Kustomizations, and so its servers; Argo CD's Applications only
    change destination (Argo CD leaves what ran in the old cluster)."""
    replace_in(repo / "fleets/us-east-1/pool.yaml", "cluster: prod-us", "cluster: prod-us2")
    before = on_disk(repo)
    code, _, stderr = run("render")
    assert code == 1 and on_disk(repo) == before
    line = next(line for line in stderr.splitlines() if "still has" in line)
    assert re.match(r"fleets/us-east-1/pool\.yaml:\d+:\d+: error: pool 'us-east-1' still has 5 servers", line)
    assert "its Kustomizations move to cluster prod-us2, and Flux would delete its servers" in line
    assert line.endswith(": " + ", ".join(US_FLUX))
    code, plan, _ = run("plan")
    assert "    changed Application argocd/starfall-us-east-1-network: spec.destination.name\n" in plan
    assert "    added Kustomization flux-system/starfall-us-east-1-network (cluster prod-us2)\n" in plan
    assert "    removed Kustomization flux-system/starfall-us-east-1-network (cluster prod-us)\n" in plan
    replace_in(repo / "fleets/gitops.yaml", "pools:", "pools:\n    us-east-1: {cluster: prod-us}")
    assert run("render")[0] == 0, "the pool's entry in gitops.yaml keeps it where it was"


def test_a_pool_folder_deleted_on_purpose_takes_its_delivery_objects_along(repo: Path) -> None:
    """Deleting fleets/<pool>/ is the explicit word: the pool's servers go, and the objects that applied them."""
    shutil.rmtree(repo / "fleets/us-east-1")
    code, plan, _ = run("plan")
    assert code == 0
    assert "pool us-east-1: removed: its folder is no longer in fleets/" in plan
    assert "still has" not in plan
    assert all(f"    removed {name}\n" in plan for name in US_OBJECTS)
    assert "    us-east-1/relay-0/manifest.yaml\n" in plan
    assert run("render")[0] == 0
    assert sorted(p.name for p in (repo / "rendered" / DELIVERY_FOLDER).rglob("*.yaml")) == ["eu-west-1.yaml"] * 2


def test_a_pool_scaled_to_zero_servers_may_lose_its_delivery(repo: Path) -> None:
    """Its servers are removed on purpose (and plan lists them), so the objects that applied them may go too."""
    replace_in(repo / "fleets/eu-west-1/ranked.yaml", "replicas: 6", "replicas: 0")
    replace_in(repo / "fleets/eu-west-1/casual.yaml", "replicas: 4", "replicas: 0")
    argocd_off(repo)
    code, _, stderr = run("render")
    assert code == 1 and "pool 'us-east-1' still has 5 servers" in stderr
    assert "pool 'eu-west-1' still has" not in stderr
