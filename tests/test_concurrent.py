"""Runs beside each other on one repository: an edit and a render never interleave (the run lock), and the
stamp vouches only for the bytes a render read, so `check` never says "up to date" over stale output.

The renders here compile both example pools (no stamp vouches for either) on two worker processes (`--jobs
2`), which they start only once every fleet file is read: a render paused right then (SIGSTOP to its process
group) has read the old files and written nothing, the moment where another writer must not slip in.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import selectors
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_edit import run

from generator.parallel import available_workers
from generator.tree.digest_cache import CACHE_FILE
from generator.tree.runlock import RUN_LOCK
from generator.tree.stamp import STAMP_FILE

ROOT = Path(__file__).resolve().parent.parent
RANKED = "fleets/eu-west-1/ranked.yaml"
SINCE = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
paused_by_its_workers = pytest.mark.skipif(
    available_workers() < 2, reason="a render is paused when it starts its compile workers, which takes two cores"
)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the example repository, as rendered and committed, as the working directory."""
    work = tmp_path / "work"
    shutil.copytree(ROOT / "fleets", work / "fleets")
    shutil.copytree(ROOT / "rendered", work / "rendered")
    monkeypatch.chdir(work)
    return work


_STARTED: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def no_process_left() -> Iterator[None]:
    """A test that fails while a render is paused must not leave it, or its workers, stopped for good."""
    yield
    while _STARTED:
        process = _STARTED.pop()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def fleetgen(repo: Path, *args: str) -> subprocess.Popen[str]:
    """The real command in its own process group (so that its compile workers are paused with it)."""
    command = [sys.executable, "-m", "generator", *args]
    process = subprocess.Popen(
        command, cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    _STARTED.append(process)
    return process


def paused_after_reading(process: subprocess.Popen[str], delay: float | None = None) -> bool:
    """Pause a render once it has read every fleet file (it has started its compile workers), or `delay`
    seconds after it started; False when it ended first."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    deadline = time.monotonic() + (delay if delay is not None else 60)
    while process.poll() is None:
        started = children.exists() and children.read_text().strip()
        if (delay is None and started) or time.monotonic() >= deadline:
            os.killpg(process.pid, signal.SIGSTOP)
            return True
        time.sleep(0.002)
    return False


def render_paused_after_reading(repo: Path, ranked: int | None = None) -> subprocess.Popen[str]:
    """A render of both pools (the stamp removed), after `ranked` replicas of ranked when given, paused
    once it has read every fleet file."""
    if ranked is not None:
        path = repo / RANKED
        path.write_text(path.read_text().replace("replicas: 6", f"replicas: {ranked}", 1))
    (repo / "rendered" / STAMP_FILE).unlink()
    render = fleetgen(repo, "render", "--jobs", "2")
    assert paused_after_reading(render)
    return render


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    """Let a process run to its end and give its exit code and stderr. It is continued again and again: a
    worker that it was forking as it was paused can stop after the first SIGCONT went by."""
    deadline = time.monotonic() + 120
    while True:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGCONT)
        try:
            _, stderr = process.communicate(timeout=0.2)
        except subprocess.TimeoutExpired:
            if time.monotonic() > deadline:
                raise
        else:
            return process.returncode, stderr


def until_done_or_waiting(process: subprocess.Popen[str], timeout: float = 30) -> str:
    """What the process wrote to stderr until it ended, or until it said that it waits for the run lock
    (read unbuffered, so that a later `finish` gets the rest)."""
    assert process.stderr is not None
    stream = process.stderr.fileno()
    said = ""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        while time.monotonic() < deadline and "waiting up to" not in said:
            if selector.select(timeout=0.05):
                chunk = os.read(stream, 65536)
                if not chunk:
                    break
                said += chunk.decode()
    return said


def with_digest_cache(repo: Path, cached: bool) -> None:
    """Make the repository a git checkout, whose surveys trust digests they recorded, and record them."""
    if cached:
        subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
        assert run("check")[0] == 0
        assert (repo / ".git" / CACHE_FILE).exists()


def check_without_stamp(repo: Path) -> int:
    """The truth: `check` with nothing reused, which compares every file with a render from nothing."""
    stamp, aside = repo / "rendered" / STAMP_FILE, repo.parent / "stamp-aside"
    had_stamp = stamp.exists()
    if had_stamp:
        os.rename(stamp, aside)
    try:
        return run("check")[0]
    finally:
        if had_stamp:
            os.rename(aside, stamp)


@pytest.mark.parametrize("cached", [False, True], ids=["no-git", "digest-cache"])
def test_an_edit_and_a_render_run_together_and_check_never_vouches_for_stale_output(repo: Path, cached: bool) -> None:
    """`fleetgen scale` and `fleetgen render` started together, again and again, the render paused at
    random moments (half the time just after it read the fleet files) while the scale runs on. After each
    round `check` says "up to date" only if a check that reuses nothing says so too; with the run lock the
    two never interleave, so the repository always ends up to date. In a git checkout, the same holds with
    the digests the surveys trust from `.git/fleetgen-cache`."""
    with_digest_cache(repo, cached)
    chance = random.Random(20260117)
    for round_number in range(8):
        (repo / "rendered" / STAMP_FILE).unlink(missing_ok=True)  # as after `render --pool`: render has work
        render = fleetgen(repo, "render", "--jobs", "2")
        paused_after_reading(render, None if round_number % 2 == 0 else chance.uniform(0.0, 1.2))
        scale = fleetgen(repo, "scale", "eu-west-1/ranked", str(7 + round_number % 3))
        said = until_done_or_waiting(scale)
        code, stderr = finish(render)
        assert code == 0, stderr
        code, stderr = finish(scale)
        assert code == 0, said + stderr

        truth = check_without_stamp(repo)
        code, stdout, _ = run("check")
        assert not (code == 0 and truth != 0), f"round {round_number}: check said {stdout!r} over stale output"
        assert (code, truth) == (0, 0), f"round {round_number}: the edit and the render interleaved"
        assert not (repo / RUN_LOCK).exists()
    assert (repo / ".git" / CACHE_FILE).exists() == cached


@paused_by_its_workers
@pytest.mark.parametrize("cached", [False, True], ids=["no-git", "digest-cache"])
@pytest.mark.parametrize("changed_back", [False, True], ids=["changed", "changed-and-changed-back"])
def test_a_fleet_file_changed_while_a_render_reads_is_not_vouched_for(
    repo: Path, changed_back: bool, cached: bool
) -> None:
    """Someone saves a fleet file after the render read it (even twice, ending with the same bytes: the
    render cannot tell which it read): the render writes what it read, says that the file changed, exits 1
    and writes no stamp, so check and the next render look at the files again."""
    with_digest_cache(repo, cached)
    render = render_paused_after_reading(repo)
    ranked = repo / RANKED
    original = ranked.read_text()
    ranked.write_text(original.replace("replicas: 6", "replicas: 7", 1))
    if changed_back:
        ranked.write_text(original)
    code, stderr = finish(render)

    assert code == 1
    assert "fleets/eu-west-1: error: changed while this render read it" in stderr
    assert (
        "hint: rendered holds the output of the files as this render read them: run `fleetgen render` again" in stderr
    )
    assert not (repo / "rendered" / STAMP_FILE).exists()
    code, _, stderr = run("check")
    if changed_back:
        assert code == 0
    else:
        assert code == 1 and "would write eu-west-1/ranked-0/manifest.yaml" in stderr
    assert run("render")[0] == 0
    assert run("check")[:2] == (0, "rendered: up to date\n")


@paused_by_its_workers
def test_a_second_writer_is_told_who_holds_the_repository_and_waits_or_gives_up(repo: Path) -> None:
    render = render_paused_after_reading(repo, ranked=7)
    holder = f"held by pid {render.pid} \\(`fleetgen render`\\) since {SINCE}"
    before = {path: path.read_bytes() for path in sorted(repo.rglob("*")) if path.is_file()}

    code, stdout, stderr = run("scale", "eu-west-1/ranked", "8", "--wait", "0")

    assert (code, stdout) == (1, "")
    assert re.search(
        f"^{RUN_LOCK}: error: another fleetgen run holds this repository: {holder}; waited 0 s$", stderr, re.M
    )
    assert "hint: let it finish, then run again; or give it longer with --wait SECONDS" in stderr
    assert {path: path.read_bytes() for path in sorted(repo.rglob("*")) if path.is_file()} == before

    scale = fleetgen(repo, "scale", "eu-west-1/ranked", "8", "--wait", "30")
    said = until_done_or_waiting(scale)
    assert re.search(f"^fleetgen: waiting up to 30 s for {RUN_LOCK}: {holder}$", said, re.M), said
    assert finish(render)[0] == 0
    assert finish(scale)[0] == 0
    assert "replicas: 8" in (repo / RANKED).read_text()
    assert run("check")[:2] == (0, "rendered: up to date\n")
    assert not (repo / RUN_LOCK).exists()


@paused_by_its_workers
def test_a_writer_killed_with_sigkill_leaves_the_repository_free(repo: Path) -> None:
    """`kill -9` of the render alone: its compile workers live on (paused here), yet the lock is free."""
    render = render_paused_after_reading(repo, ranked=7)
    os.kill(render.pid, signal.SIGKILL)
    render.wait(timeout=60)
    try:
        assert f'"pid": {render.pid}' in (repo / RUN_LOCK).read_text(), "left behind, unlocked"

        code, _, stderr = run("render", "--wait", "0")

        assert code == 0, stderr
        assert not (repo / RUN_LOCK).exists()
        assert run("check")[:2] == (0, "rendered: up to date\n")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(render.pid, signal.SIGKILL)


def test_a_link_where_the_run_lock_goes_is_refused(repo: Path) -> None:
    """The lock is never opened through a link: its target would be truncated and rewritten."""
    target = repo.parent / "precious"
    target.write_text("not fleetgen's\n")
    (repo / RUN_LOCK).symlink_to(target)

    code, stdout, stderr = run("render")

    assert (code, stdout) == (1, "")
    assert f"{RUN_LOCK}: error: the repository's lock is a symbolic link\n  hint: " in stderr
    assert target.read_text() == "not fleetgen's\n" and (repo / RUN_LOCK).is_symlink()
