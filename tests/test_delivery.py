"""Delivery objects under rendered/_delivery/: CRD-valid, covering exactly the unit folders, from a valid
fleets/gitops.yaml; and unit folders that Argo CD and Flux can apply as they are."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from generator.cli import cli
from generator.kube import crds
from generator.manifests.delivery import COMPARE_OPTIONS, RESOURCES_FINALIZER, SERVER_SIDE_DIFF, SYNC_WAVE
from generator.manifests.delivery_check import DELIVERY_FOLDER
from generator.manifests.render import MANIFEST, NETWORK_UNIT, RECREATE_ANNOTATIONS
from generator.tree.write import OWNED_MARKER

ROOT = Path(__file__).resolve().parent.parent
DELIVERY_KINDS = {"Application", "ApplicationSet", "Kustomization"}


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def render_into(repo: Path, *options: str) -> tuple[int, str]:
    return run("render", "--fleets", str(repo / "fleets"), "--out", str(repo / "rendered"), *options)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example fleets rendered from scratch into a repository-shaped folder (fleets/ beside rendered/)."""
    root = tmp_path_factory.mktemp("repo")
    shutil.copytree(ROOT / "fleets", root / "fleets")
    code, output = render_into(root)
    assert code == 0, output
    return root


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A private copy of the example fleets, for tests that edit them."""
    shutil.copytree(ROOT / "fleets", tmp_path / "fleets")
    return tmp_path


def delivery_objects(repo: Path) -> dict[str, list[dict[str, Any]]]:
    """rendered/_delivery/ file (relative) -> its documents."""
    folder = repo / "rendered" / DELIVERY_FOLDER
    return {
        path.relative_to(folder).as_posix(): [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
        for path in sorted(folder.rglob("*.yaml"))
    }


def of_kind(repo: Path, kind: str) -> list[dict[str, Any]]:
    return [obj for objects in delivery_objects(repo).values() for obj in objects if obj["kind"] == kind]


def unit_folders(repo: Path) -> set[str]:
    """Every rendered/<pool>/<unit> folder, repository-relative; found by listing, not by fleetgen's code."""
    rendered = repo / "rendered"
    return {
        unit.relative_to(repo).as_posix()
        for pool in rendered.iterdir()
        if pool.is_dir() and pool.name != DELIVERY_FOLDER and not pool.name.startswith(".")
        for unit in pool.iterdir()
        if unit.is_dir()
    }


# --- Argo CD's git directory generator, as argo-cd's reposerver and applicationset/generators/git.go do it


def repository_directories(repo: Path) -> list[str]:
    """Every folder of the repository, relative, hidden ones (and everything under them) skipped."""
    found = []
    for current, folders, _ in os.walk(repo):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        found += [Path(current, name).relative_to(repo).as_posix() for name in folders]
    return found


def go_path_match(pattern: str, name: str) -> bool:
    """Go's path.Match for the patterns fleetgen writes: `*` and `?` never cross a `/`."""
    assert not set(pattern) & set("[\\"), f"pattern {pattern!r} needs a fuller path.Match"
    regex = "".join("[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, name) is not None


def generated_paths(generator: dict[str, Any], directories: list[str]) -> set[str]:
    """filterApps: a folder matching any include and no exclude pattern becomes an Application."""
    items = generator["git"]["directories"]
    chosen = set()
    for directory in directories:
        included = any(go_path_match(i["path"], directory) for i in items if not i.get("exclude"))
        excluded = any(go_path_match(i["path"], directory) for i in items if i.get("exclude"))
        if included and not excluded:
            chosen.add(directory)
    return chosen


# --- the objects -------------------------------------------------------------------------------------


def test_every_delivery_file_is_owned_and_every_object_validates_against_its_crd_schema(repo: Path) -> None:
    files = delivery_objects(repo)
    assert sorted(files) == [
        "argocd/eu-west-1.yaml",
        "argocd/us-east-1.yaml",
        "flux/prod-eu/eu-west-1.yaml",
        "flux/prod-us/us-east-1.yaml",
    ]
    for path in (repo / "rendered" / DELIVERY_FOLDER).rglob("*"):
        assert path.is_dir() or path.read_bytes().startswith(OWNED_MARKER), path
    objects = [obj for found in files.values() for obj in found]
    assert {obj["kind"] for obj in objects} == DELIVERY_KINDS
    for obj in objects:
        assert crds.knows(obj)
        assert crds.validate_object(obj) == [], (obj["kind"], obj["metadata"]["name"])


def test_the_crd_schemas_do_catch_a_wrong_object(repo: Path) -> None:
    """The check above would pass vacuously if the schemas accepted anything."""
    kustomization = of_kind(repo, "Kustomization")[0]
    broken = {**kustomization, "spec": {**kustomization["spec"], "prune": "yes"}}
    assert [problem.path for problem in crds.validate_object(broken)] == [("spec", "prune")]


def test_argo_cd_generates_one_application_per_unit_folder_and_nothing_else(repo: Path) -> None:
    directories = repository_directories(repo)
    application_sets = of_kind(repo, "ApplicationSet")
    networks = of_kind(repo, "Application")
    assert len(application_sets) == 2
    covered: list[str] = [app["spec"]["source"]["path"] for app in networks]
    for application_set in application_sets:
        (generator,) = application_set["spec"]["generators"]
        covered += sorted(generated_paths(generator, directories))
    assert len(covered) == len(set(covered)), "a unit folder would be two Applications"
    assert set(covered) == unit_folders(repo)
    assert all(path.endswith(f"/{NETWORK_UNIT}") for path in covered[: len(networks)])


def test_the_directory_patterns_ignore_a_folder_added_beside_the_units_nowhere_else(repo: Path) -> None:
    """Only rendered/<pool>/<unit> is an application: not _delivery, not deeper folders, not other pools."""
    directories = repository_directories(repo)
    extra = ["rendered/_delivery/argocd", "rendered/eu-west-1/ranked-0/deeper", "docs/eu-west-1/ranked-0"]
    (generator,) = of_kind(repo, "ApplicationSet")[0]["spec"]["generators"]
    assert generated_paths(generator, directories + extra) == generated_paths(generator, directories)


def test_argo_cd_applications_sync_automatically_without_recreating_unchanged_pods(repo: Path) -> None:
    templates = [appset["spec"]["template"] for appset in of_kind(repo, "ApplicationSet")]
    for app in [*of_kind(repo, "Application"), *templates]:
        spec, metadata = app["spec"], app["metadata"]
        assert spec["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
        assert spec["syncPolicy"]["syncOptions"] == ["ApplyOutOfSyncOnly=true"]
        assert metadata["annotations"][COMPARE_OPTIONS] == SERVER_SIDE_DIFF
        assert metadata["finalizers"] == [RESOURCES_FINALIZER]
        assert spec["source"]["repoURL"] == "https://github.com/example/starfall-fleets.git"
        assert spec["source"]["targetRevision"] == "main"
    destinations = {
        appset["metadata"]["name"]: appset["spec"]["template"]["spec"]["destination"]
        for appset in of_kind(repo, "ApplicationSet")
    }
    assert destinations == {
        "starfall-eu-west-1": {"name": "prod-eu", "namespace": "game-servers"},
        "starfall-us-east-1": {"name": "prod-us", "namespace": "game-servers-us"},
    }


def test_the_network_unit_syncs_in_an_earlier_wave_than_the_fleet_units(repo: Path) -> None:
    for objects in (objs for path, objs in delivery_objects(repo).items() if path.startswith("argocd/")):
        network, application_set = objects
        assert network["kind"] == "Application" and application_set["kind"] == "ApplicationSet"
        assert int(network["metadata"]["annotations"][SYNC_WAVE]) < int(
            application_set["metadata"]["annotations"][SYNC_WAVE]
        )


def test_every_pod_is_recreated_when_it_changes(repo: Path) -> None:
    """The Pod side of the bargain: Argo CD and Flux replace a changed Pod instead of failing to patch it."""
    for folder in unit_folders(repo):
        for doc in yaml.safe_load_all((repo / folder / MANIFEST).read_text()):
            if doc["kind"] == "Pod":
                assert RECREATE_ANNOTATIONS.items() <= doc["metadata"]["annotations"].items()


def test_flux_has_one_kustomization_per_unit_whose_path_exists(repo: Path) -> None:
    kustomizations = of_kind(repo, "Kustomization")
    paths = [k["spec"]["path"] for k in kustomizations]
    assert all(path.startswith("./") and (repo / path).is_dir() for path in paths)
    assert sorted(path.removeprefix("./") for path in paths) == sorted(unit_folders(repo))
    names = {k["metadata"]["name"]: k for k in kustomizations}
    for kustomization in kustomizations:
        spec = kustomization["spec"]
        assert spec["prune"] is True and spec["wait"] is False
        assert spec["sourceRef"] == {"kind": "GitRepository", "name": "flux-system", "namespace": "flux-system"}
        pool = kustomization["metadata"]["labels"]["fleetgen.dev/pool"]
        assert spec["targetNamespace"] == {"eu-west-1": "game-servers", "us-east-1": "game-servers-us"}[pool]
        if spec["path"].endswith(f"/{NETWORK_UNIT}"):
            assert "dependsOn" not in spec
            continue
        (dependency,) = spec["dependsOn"]
        network = names[dependency["name"]]
        assert network["spec"]["path"] == f"./rendered/{pool}/{NETWORK_UNIT}"
        assert network["metadata"]["namespace"] == kustomization["metadata"]["namespace"]


def test_every_unit_folder_holds_only_its_manifest_of_kubernetes_objects(repo: Path) -> None:
    """What Flux's kustomize-controller demands of a path, and what keeps Argo CD a directory app."""
    for folder in unit_folders(repo):
        assert [entry.name for entry in (repo / folder).iterdir()] == [MANIFEST], folder
        documents = list(yaml.safe_load_all((repo / folder / MANIFEST).read_text()))
        assert documents, folder
        for doc in documents:
            assert isinstance(doc, dict), folder
            assert doc.get("apiVersion") and doc.get("kind") and doc.get("metadata", {}).get("name"), folder


def test_delivery_objects_are_the_same_bytes_on_every_render(repo: Path, scratch: Path) -> None:
    assert render_into(scratch)[0] == 0
    folder = Path("rendered", DELIVERY_FOLDER)
    first = {p.relative_to(repo): p.read_bytes() for p in (repo / folder).rglob("*.yaml")}
    second = {p.relative_to(scratch): p.read_bytes() for p in (scratch / folder).rglob("*.yaml")}
    assert first == second


# --- the settings file -------------------------------------------------------------------------------


def gitops_error(scratch: Path, old: str, new: str) -> str:
    """Edit fleets/gitops.yaml, render, and return what was printed; the render must fail writing nothing."""
    path = scratch / "fleets" / "gitops.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    code, output = render_into(scratch)
    assert code == 1 and not (scratch / "rendered").exists(), output
    return output


def test_an_unknown_setting_is_an_error_with_its_place_and_a_suggestion(scratch: Path) -> None:
    output = gitops_error(scratch, "  revision: main", "  revison: main")
    assert "gitops.yaml:11:3: error: unknown field 'revison' in spec" in output
    assert "did you mean 'revision'?" in output


def test_a_pool_entry_must_name_a_pool_and_keep_its_namespace(scratch: Path) -> None:
    output = gitops_error(scratch, "eu-west-1: {cluster: prod-eu, namespace: game-servers}", "eu-west-2: {}")
    assert "no pool folder named 'eu-west-2'" in output and "did you mean 'eu-west-1'?" in output
    output = gitops_error(scratch, "eu-west-2: {}", "us-east-1: {namespace: game-servers}")
    assert "namespace 'game-servers' differs from 'game-servers-us', where the Pods are" in output


def test_a_value_the_crd_schema_refuses_points_at_its_setting(scratch: Path) -> None:
    output = gitops_error(scratch, "interval: 10m", "interval: 10 minutes")
    assert re.search(r"gitops\.yaml:\d+:5: error: Kustomization spec\.interval: '10 minutes' does not match", output)
    assert output.count("error: Kustomization spec.interval") == 1, "one problem, not one per Kustomization"


def test_names_that_do_not_fit_in_a_label_are_refused(scratch: Path) -> None:
    output = gitops_error(scratch, "name: starfall ", "name: " + "s" * 50 + " ")
    assert "is longer than 63 characters" in output


PLACEHOLDER = "https://github.com/OWNER/REPO.git"  # what `fleetgen init` writes without --repo-url


def in_repo(repo: Path, command: str) -> tuple[int, str]:
    paths = ["--fleets", str(repo / "fleets")] + (["--out", str(repo / "rendered")] if command != "validate" else [])
    return run(command, *paths)


def test_the_placeholder_repo_url_is_a_warning_and_fails_check(scratch: Path) -> None:
    gitops = scratch / "fleets" / "gitops.yaml"
    gitops.write_text(gitops.read_text().replace("https://github.com/example/starfall-fleets.git", PLACEHOLDER))
    warning = re.compile(r"gitops\.yaml:10:12: warning: repoURL is still the placeholder that `fleetgen init` writes")
    for command in ("render", "plan", "validate"):
        code, output = in_repo(scratch, command)
        assert code == 0 and len(warning.findall(output)) == 1, (command, output)
    code, output = in_repo(scratch, "check")
    assert code == 1 and "gitops.yaml:10:12: error: repoURL is still the placeholder" in output
    assert "Argo CD cannot clone it" in output and "hint: set it to the URL Argo CD clones" in output
    code, output = in_repo(scratch, "render")
    assert code == 0 and "nothing changed since the last render (its stamp matches)" in output
    assert len(warning.findall(output)) == 1, "the stamp replays the warning"
    assert in_repo(scratch, "check")[0] == 1, "and check fails, though the stamp vouches for every file"
    gitops.write_text(gitops.read_text().replace(PLACEHOLDER, "https://git.example.com/games/fleets.git"))
    assert render_into(scratch)[0] == 0
    assert in_repo(scratch, "check") == (0, f"{scratch / 'rendered'}: up to date\n")


def test_the_placeholder_is_no_problem_when_no_argo_cd_object_uses_it(scratch: Path) -> None:
    """Flux takes the repository from its GitRepository: repoURL goes nowhere without Argo CD."""
    gitops = scratch / "fleets" / "gitops.yaml"
    text = gitops.read_text().replace("https://github.com/example/starfall-fleets.git", PLACEHOLDER)
    gitops.write_text(text[: text.index("  argocd:")] + text[text.index("  flux:") :])
    code, output = render_into(scratch)
    assert code == 0 and "placeholder" not in output
    assert in_repo(scratch, "check")[0] == 0


def test_without_gitops_yaml_there_are_no_delivery_objects_and_old_ones_go(scratch: Path) -> None:
    assert render_into(scratch)[0] == 0
    assert (scratch / "rendered" / DELIVERY_FOLDER).is_dir()
    (scratch / "fleets" / "gitops.yaml").unlink()
    assert render_into(scratch)[0] == 1, "refused: the pools still have servers (tests/test_delivery_removal.py)"
    assert render_into(scratch, "--allow-delivery-removal")[0] == 0
    assert not (scratch / "rendered" / DELIVERY_FOLDER).exists()
    folders = {p.name for p in (scratch / "rendered").iterdir() if not p.name.startswith(".")}  # dot-names: internal
    assert folders == {"eu-west-1", "us-east-1"}


def test_a_one_pool_render_leaves_the_delivery_objects_alone(scratch: Path) -> None:
    assert render_into(scratch)[0] == 0
    before = {p: p.read_bytes() for p in (scratch / "rendered" / DELIVERY_FOLDER).rglob("*.yaml")}
    gitops = scratch / "fleets" / "gitops.yaml"
    gitops.write_text(gitops.read_text().replace("project: default", "project: games"))
    args = ["--fleets", str(scratch / "fleets"), "--out", str(scratch / "rendered"), "--pool", "eu-west-1"]
    assert run("render", *args)[0] == 0
    assert {p: p.read_bytes() for p in (scratch / "rendered" / DELIVERY_FOLDER).rglob("*.yaml")} == before
    code, output = run("check", *args[:4])
    assert code == 1 and "would write _delivery/argocd/eu-west-1.yaml" in output


def test_the_readme_setup_examples_validate_against_the_crd_schemas() -> None:
    """The Application and Kustomization people copy from the README are as valid as what render writes."""
    blocks = re.findall(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    examples = [yaml.safe_load(block) for block in blocks if "kind: " in block]
    found = [obj for obj in examples if isinstance(obj, dict) and obj.get("kind") in DELIVERY_KINDS]
    assert sorted(obj["kind"] for obj in found) == ["Application", "Kustomization"]
    assert all(crds.validate_object(obj) == [] for obj in found)
