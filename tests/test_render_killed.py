"""`fleetgen render` killed with SIGKILL at random points: every pool's tree is old or new, never mixed,
and the next render converges to exactly what an uninterrupted render writes."""

from __future__ import annotations

import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

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


def repository(base: Path, name: str) -> Path:
    repo = base / name
    shutil.copytree(ROOT / "fleets", repo / "fleets")
    shutil.copytree(ROOT / "rendered", repo / "rendered")
    return repo


def test_a_killed_render_leaves_each_pool_old_or_new_and_the_next_render_converges(tmp_path: Path) -> None:
    expected = repository(tmp_path, "uninterrupted")
    old = {pool: tree(expected / "rendered" / pool) for pool in POOLS}
    grow(expected)
    assert render(expected).wait() == 0
    new = {pool: tree(expected / "rendered" / pool) for pool in POOLS}
    new_locks = {pool: (expected / "fleets" / pool / "allocations.lock").read_bytes() for pool in POOLS}
    start = time.perf_counter()
    assert render(repository(tmp_path, "timing")).wait() == 0
    duration = time.perf_counter() - start
    chance = random.Random(20261122)
    for attempt in range(8):
        repo = repository(tmp_path, f"killed-{attempt}")
        grow(repo)
        process = render(repo)
        time.sleep(chance.uniform(0.2, 1.0) * duration)
        process.send_signal(signal.SIGKILL)
        process.wait()
        for pool in POOLS:
            now = tree(repo / "rendered" / pool)
            assert now in (old[pool], new[pool]), f"{pool} is a mix of old and new after a kill"
        assert render(repo).wait() == 0
        for pool in POOLS:
            assert tree(repo / "rendered" / pool) == new[pool]
            assert (repo / "fleets" / pool / "allocations.lock").read_bytes() == new_locks[pool]
        assert not (repo / "rendered" / ".fleetgen-staging").exists()
        assert (repo / "rendered" / STAMP_FILE).is_file()
        shutil.rmtree(repo)
