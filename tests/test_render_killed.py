"""`fleetgen render` killed with SIGKILL at random points, or paused at each swap of a folder: every pool's tree
is old or new, never mixed (new plus the old units it drops, until the delivery objects no longer name them),
every delivery object names a folder that exists, and the next render converges to exactly what an
uninterrupted render writes."""

from __future__ import annotations

import os
import posixpath
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from generator.tree.stamp import STAMP_FILE

ROOT = Path(__file__).resolve().parent.parent
POOLS = ("eu-west-1", "us-east-1")


def tree(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def render(repo: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "generator", "render"], cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def grow(repo: Path) -> None:
    """A change that rewrites every unit: more servers everywhere and a new image."""
    for path in (repo / "fleets").glob("*/*.yaml"):
        text = path.read_text()
        text = text.replace("registry.example.com/", "registry.example.com/v2/")
        text = text.replace("pods: 110", "pods: 400").replace("pods: 58", "pods: 400")
        text = (
            text.replace('cpu: "32"', 'cpu: "900"').replace('cpu: "16"', 'cpu: "900"').replace("cpu: 7910m", "cpu: 900")
        )
        text = text.replace("memory: 128Gi", "memory: 9000Gi").replace("memory: 64Gi", "memory: 9000Gi")
        text = text.replace("memory: 30Gi", "memory: 9000Gi")
        text = re.sub(r"replicas: (?!2\b)\d+", "replicas: 300", text)  # community (Static port) stays at 2
        path.write_text(text)


def reshape(repo: Path) -> None:
    """`grow`, and units that come and go, so the delivery objects change too: eu-west-1 is cut into units
    of 100 servers (ranked-1 and ranked-2 come) and casual becomes arcade (casual-0 goes, arcade-0..2 come)."""
    grow(repo)
    pool = repo / "fleets/eu-west-1/pool.yaml"
    pool.write_text(
        pool.read_text().replace("  namespace: game-servers\n", "  namespace: game-servers\n  unitSize: 100\n")
    )
    casual = repo / "fleets/eu-west-1/casual.yaml"
    casual.write_text(casual.read_text().replace("  name: casual\n", "  name: arcade\n"))


def units(files: dict[str, bytes]) -> set[str]:
    return {path.split("/", 1)[0] for path in files}


def old_new_or_between(now: dict[str, bytes], old: dict[str, bytes], new: dict[str, bytes]) -> bool:
    """A pool folder is old, new, or new plus the old units it drops (kept until the delivery swap)."""
    dropped = {path: data for path, data in old.items() if path.split("/", 1)[0] not in units(new)}
    return now in (old, new, {**new, **dropped})


def missing_folders(repo: Path) -> list[str]:
    """Folders that a delivery object names and that do not exist: an Argo CD Application's source path, a
    Flux Kustomization's spec.path, and the pool folder whose sub-folders an ApplicationSet lists."""
    named = []
    for path in sorted((repo / "rendered/_delivery").rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            spec = document["spec"]
            if document["kind"] == "Application":
                named.append(spec["source"]["path"])
            elif document["kind"] == "Kustomization":
                named.append(posixpath.normpath(spec["path"]))
            elif document["kind"] == "ApplicationSet":
                directories = [entry for generator in spec["generators"] for entry in generator["git"]["directories"]]
                named += [posixpath.dirname(entry["path"]) for entry in directories if not entry.get("exclude")]
    return [folder for folder in named if not (repo / folder).is_dir()]


def repository(base: Path, name: str) -> Path:
    repo = base / name
    shutil.copytree(ROOT / "fleets", repo / "fleets")
    shutil.copytree(ROOT / "rendered", repo / "rendered")
    return repo


def test_a_killed_render_leaves_each_pool_old_or_new_and_the_next_render_converges(tmp_path: Path) -> None:
    expected = repository(tmp_path, "uninterrupted")
    old = {pool: tree(expected / "rendered" / pool) for pool in POOLS}
    reshape(expected)
    assert render(expected).wait() == 0
    new = {pool: tree(expected / "rendered" / pool) for pool in POOLS}
    new_locks = {pool: (expected / "fleets" / pool / "allocations.lock").read_bytes() for pool in POOLS}
    start = time.perf_counter()
    assert render(repository(tmp_path, "timing")).wait() == 0
    duration = time.perf_counter() - start
    chance = random.Random(20261122)
    for attempt in range(8):
        repo = repository(tmp_path, f"killed-{attempt}")
        reshape(repo)
        process = render(repo)
        time.sleep(chance.uniform(0.2, 1.0) * duration)
        process.send_signal(signal.SIGKILL)
        process.wait()
        for pool in POOLS:
            now = tree(repo / "rendered" / pool)
            assert old_new_or_between(now, old[pool], new[pool]), f"{pool} is a mix of old and new after a kill"
        assert missing_folders(repo) == [], "a delivery object names a folder that does not exist"
        assert render(repo).wait() == 0
        for pool in POOLS:
            assert tree(repo / "rendered" / pool) == new[pool]
            assert (repo / "fleets" / pool / "allocations.lock").read_bytes() == new_locks[pool]
        assert not (repo / "rendered" / ".fleetgen-staging").exists()
        assert (repo / "rendered" / STAMP_FILE).is_file()
        shutil.rmtree(repo)


def top_level(rendered: Path) -> list[tuple[str, int, int]]:
    """Each folder directly in rendered/ with its inode (a swap changes it) and mtime (a dropped unit does)."""
    entries = sorted(entry for entry in os.listdir(rendered) if not entry.startswith("."))
    return [(entry, (rendered / entry).lstat().st_ino, (rendered / entry).lstat().st_mtime_ns) for entry in entries]


def stopped(process: subprocess.Popen[bytes]) -> bool:
    """Wait until the process has stopped (True) or ended (False)."""
    while process.poll() is None:
        if Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T":
            return True
    return False


def paused_at_swaps(repo: Path, old: dict[str, dict[str, bytes]], new: dict[str, dict[str, bytes]]) -> int:
    """Render `repo`, pausing it whenever a folder of rendered/ changed and checking every folder then; how
    many times it was paused."""
    rendered = repo / "rendered"
    seen = top_level(rendered)
    process = render(repo)
    pauses = 0
    try:
        while process.poll() is None:
            if top_level(rendered) == seen:
                continue
            process.send_signal(signal.SIGSTOP)
            if stopped(process):
                pauses += 1
                assert missing_folders(repo) == [], f"after {pauses} swaps"
                for pool in POOLS:
                    now = tree(rendered / pool)
                    assert old_new_or_between(now, old[pool], new[pool]), f"{pool} after {pauses} swaps"
            seen = top_level(rendered)
            process.send_signal(signal.SIGCONT)
    finally:
        if process.poll() is None:
            process.kill()  # a failed check leaves no render stopped behind
    assert process.wait() == 0
    assert {pool: tree(rendered / pool) for pool in POOLS} == new
    return pauses


def test_at_every_swap_each_delivery_object_names_a_folder_that_exists(tmp_path: Path) -> None:
    """The render is paused as soon as a folder of rendered/ is swapped, added, removed or loses units, and the
    folders are checked: no Argo CD Application or Flux Kustomization may name a missing unit, no
    ApplicationSet a missing pool folder, and no pool may be anything but old, new or in between. The swaps
    follow each other closely, so a busy machine may let one render pass unseen: renders are watched until
    at least two pauses were seen in all."""
    expected = repository(tmp_path, "uninterrupted")
    old = {pool: tree(expected / "rendered" / pool) for pool in POOLS}
    reshape(expected)
    assert render(expected).wait() == 0
    new = {pool: tree(expected / "rendered" / pool) for pool in POOLS}
    assert units(old["eu-west-1"]) - units(new["eu-west-1"]) == {"casual-0"}, "the change drops a unit"

    pauses = 0
    for attempt in range(8):
        repo = repository(tmp_path, f"watched-{attempt}")
        reshape(repo)
        pauses += paused_at_swaps(repo, old, new)
        if pauses >= 2:
            break
    assert pauses >= 2, "the render should be seen between its swaps"
