"""Pools compiled on several processes: the output, plan, capacity and errors are those of one process."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.parallel import available_workers, ordered_map
from generator.tree.stamp import STAMP_FILE

ROOT = Path(__file__).resolve().parent.parent
needs_fork = pytest.mark.skipif(available_workers() < 2, reason="needs two cores and fork")


def _slow_square(number: int) -> tuple[int, int]:
    time.sleep(0.05 * (4 - number))  # the first items finish last
    return number * number, os.getpid()


@needs_fork
def test_results_come_back_in_the_order_of_the_items() -> None:
    results = ordered_map(_slow_square, [0, 1, 2, 3], 2)
    assert [square for square, _ in results] == [0, 1, 4, 9]
    assert len({pid for _, pid in results}) == 2 and os.getpid() not in {pid for _, pid in results}


def _logged_start(item: tuple[Path, str]) -> str:
    log, name = item
    with log.open("a") as handle:
        handle.write(name + "\n")
    time.sleep(0.2)
    return name


@needs_fork
def test_the_heaviest_items_start_first_and_results_keep_the_order_of_the_items(tmp_path: Path) -> None:
    log = tmp_path / "started"
    items = [(log, name) for name in ("light", "middling", "heavy", "heaviest")]
    assert ordered_map(_logged_start, items, 2, weights=[1, 2, 3, 4]) == ["light", "middling", "heavy", "heaviest"]
    assert "heaviest" in log.read_text().splitlines()[:2]


def test_one_worker_runs_here() -> None:
    assert ordered_map(_slow_square, [3], 4) == [(9, os.getpid())]


def _copy(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    shutil.copytree(ROOT / "fleets", folder / "fleets")
    shutil.copytree(ROOT / "rendered", folder / "rendered")
    (folder / "rendered" / STAMP_FILE).unlink()
    pool = folder / "fleets/us-east-1/fleets.yaml"
    pool.write_text(pool.read_text().replace("replicas: 3", "replicas: 4", 1))
    return folder


def _run(folder: Path, *args: str) -> tuple[int, str, str, dict[str, bytes]]:
    cwd = Path.cwd()
    os.chdir(folder)
    try:
        result = CliRunner().invoke(cli, list(args))
    finally:
        os.chdir(cwd)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    files = {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    return result.exit_code, result.stdout, result.stderr, files


@needs_fork
@pytest.mark.parametrize(
    "command", [["render"], ["check"], ["plan", "--format", "markdown"], ["capacity", "--format", "json"]]
)
def test_two_processes_write_and_print_what_one_does(tmp_path: Path, command: list[str]) -> None:
    one = _run(_copy(tmp_path, "one"), *command, "--jobs", "1")
    two = _run(_copy(tmp_path, "two"), *command, "--jobs", "2")
    assert two == one


@needs_fork
def test_an_error_found_in_a_worker_is_reported_as_by_one_process(tmp_path: Path) -> None:
    folders = [_copy(tmp_path, name) for name in ("one", "two")]
    for folder in folders:
        pool = folder / "fleets/us-east-1/pool.yaml"
        pool.write_text(pool.read_text().replace("pods: 58", "pods: 1"))
    one, two = (_run(folder, "render", "--jobs", jobs) for folder, jobs in zip(folders, ("1", "2"), strict=True))
    assert two == one
    assert one[0] == 1 and "do not fit" in one[2]


def _committed(folder: Path) -> Path:
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "fleets"]):
        command = ["git", "-c", "user.email=ops@example.com", "-c", "user.name=Ops", *args]
        subprocess.run(command, cwd=folder, capture_output=True, check=True)
    return folder


@needs_fork
def test_two_processes_plan_against_a_git_revision_as_one_does(tmp_path: Path) -> None:
    """Each pool's plan is made on the compile's processes, reading the lock and files of the revision."""
    folders = [_committed(_copy(tmp_path, name)) for name in ("one", "two")]
    for folder in folders:
        assert _run(folder, "render", "--jobs", "1")[0] == 0
    one, two = (
        _run(folder, "plan", "--base", "main", "--jobs", jobs) for folder, jobs in zip(folders, ("1", "2"), strict=True)
    )
    assert two[:3] == one[:3]
    assert one[0] == 0 and "+1 added" in one[1] and "relay-3" in one[1]
