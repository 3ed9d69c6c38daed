"""Hostile files in a fleet repository: characters YAML refuses, bytes that are not UTF-8, things that are not
files where fleet files belong, and links out of the repository. Each is an error at `file:line:column` (or at
the path, for what has no lines) with a hint, exit 1, nothing written, and never a line of a file outside the
repository in the output.

Each test runs the real CLI in a copy of the example repository (the current directory); `outside/` beside it
stands for the rest of the machine.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator.cli import cli
from generator.diagnostics import error, format_diagnostic

ROOT = Path(__file__).resolve().parent.parent
CASUAL = "fleets/eu-west-1/casual.yaml"  # line 8 is "  replicas: 4", its value at column 13
PASSWD = "root:x:0:0:root:/root:/bin/bash\n"
CREDENTIALS = "[default]\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example repository, rendered, as the current directory; `outside/` stands beside it."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "fleets", repo / "fleets")
    shutil.copytree(ROOT / "rendered", repo / "rendered")
    (tmp_path / "outside").mkdir()
    monkeypatch.chdir(repo)
    return repo


def run(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    return result


def disk(*roots: Path) -> dict[str, tuple[str | bytes, int]]:
    """Every entry under `roots` (links not followed, pipes not opened): its content or target, and its mtime."""
    found: dict[str, tuple[str | bytes, int]] = {}
    for root in roots:
        for folder, folders, names in os.walk(root):
            for name in sorted([*folders, *names]):
                path = Path(folder, name)
                status = path.lstat()
                if path.is_symlink():
                    found[str(path)] = ("-> " + os.readlink(path), status.st_mtime_ns)
                elif stat.S_ISREG(status.st_mode):
                    found[str(path)] = (path.read_bytes(), status.st_mtime_ns)
                else:
                    found[str(path)] = (stat.filemode(status.st_mode), status.st_mtime_ns)
    return found


def assert_refused(result: Result, header: str, hint: str) -> None:
    """Exit 1 with the diagnostic that starts with `header` and has a hint containing `hint`."""
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    starts = [number for number, line in enumerate(lines) if line.startswith(header)]
    assert starts, f"no {header!r} in:\n{result.output}"
    block = []
    for line in lines[starts[0] + 1 :]:
        if not line.startswith("  "):
            break
        block.append(line)
    assert any(line.startswith("  hint: ") and hint in line for line in block), result.output


def replace_bytes(path: Path, old: bytes, new: bytes) -> None:
    content = path.read_bytes()
    assert content.count(old) == 1
    path.write_bytes(content.replace(old, new))


# Characters and bytes: a line and a column, never the parser's "position 896" -------------------------


def test_a_control_character_is_an_error_at_its_line_and_column(repo: Path) -> None:
    replace_bytes(repo / CASUAL, b"replicas: 4", b"replicas: \x1b[31m4")
    result = run("validate")
    assert_refused(result, f"{CASUAL}:8:13: error: control character U+001B", r'"\x1b"')
    assert "position" not in result.output
    assert "\x1b" not in result.output  # the excerpt shows it as U+FFFD: it never reaches the terminal
    assert "  replicas: \ufffd[31m4\n" + " " * 14 + "^" in result.output


def test_invalid_utf8_is_an_error_at_its_line_and_column(repo: Path) -> None:
    replace_bytes(repo / CASUAL, b"replicas: 4", b"replicas: \xff4")
    result = run("validate")
    assert_refused(result, f"{CASUAL}:8:13: error: file is not UTF-8 text: byte 0xff", "save the file as UTF-8")


def test_a_lock_that_is_not_utf8_is_ignored_with_a_warning_at_the_byte(repo: Path) -> None:
    lock = "fleets/us-east-1/allocations.lock"
    line = next(n for n, text in enumerate((repo / lock).read_bytes().splitlines(), 1) if text.startswith(b"relay 1 "))
    replace_bytes(repo / lock, b"relay 1 ", b"relay \xe91 ")
    result = run("validate")
    assert result.exit_code == 0
    assert f"{lock}:{line}:7: warning: lock ignored: file is not UTF-8 text: byte 0xe9" in result.output


def test_a_line_break_that_editors_do_not_show_is_refused(repo: Path) -> None:
    """YAML ends a line at U+2028; an editor or a pull request shows `replicas: 4 hostNetwork: true` on one."""
    replace_bytes(repo / CASUAL, b"replicas: 4\n", "replicas: 4\u2028\n".encode())
    result = run("validate")
    assert_refused(result, f"{CASUAL}:8:14: error: U+2028 (line separator): YAML reads it as a line break", "delete")


# What stands where a file belongs ---------------------------------------------------------------------


def _make(path: Path, kind: str) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()
    if kind == "a folder":
        path.mkdir()
        (path / "casual.yaml").write_text("# a fleet file inside is not read either\n")
    elif kind == "a dangling link":
        path.symlink_to("removed.yaml")
    elif kind == "a named pipe (FIFO)":
        os.mkfifo(path)


@pytest.mark.parametrize(
    ("place", "kind", "message", "hint"),
    [
        ("fleets/us-east-1/fleets.yaml", "a folder", "fleets.yaml is a folder, not a file", "make it a file"),
        (
            "fleets/us-east-1/fleets.yaml",
            "a dangling link",
            "fleets.yaml is a link to {repo}/fleets/us-east-1/removed.yaml, which does not exist",
            "point the link at a file",
        ),
        ("fleets/us-east-1/pool.yaml", "a folder", "pool.yaml is a folder, not a file", "NodePool"),
        ("fleets/gitops.yaml", "a dangling link", "gitops.yaml is a link to", "point the link at a file"),
    ],
)
def test_what_is_not_a_file_where_one_belongs_is_refused_and_render_writes_nothing(
    repo: Path, place: str, kind: str, message: str, hint: str
) -> None:
    """Skipped in silence, a fleet file that became a folder or a dangling link would remove its servers."""
    _make(repo / place, kind)
    before = disk(repo)
    result = run("render")
    assert_refused(result, f"{place}: error: {message.format(repo=repo)}", hint)
    assert disk(repo) == before


def test_a_named_pipe_where_a_fleet_file_belongs_is_refused_without_opening_it(repo: Path) -> None:
    """A subprocess, so that a pipe opened by mistake fails the test by its timeout instead of hanging it."""
    _make(repo / "fleets/us-east-1/fleets.yaml", "a named pipe (FIFO)")
    before = disk(repo)
    command = [sys.executable, "-m", "generator", "render"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1, result.stderr
    header = "fleets/us-east-1/fleets.yaml: error: fleets.yaml is a named pipe (FIFO), not a file"
    assert header in result.stderr.splitlines()
    assert disk(repo) == before


# Links out of the repository --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "place",
    [
        "fleets/us-east-1/fleets.yaml",
        "fleets/us-east-1/pool.yaml",
        "fleets/us-east-1/allocations.lock",
        "fleets/us-east-1",
        "fleets/gitops.yaml",
        "fleets",
    ],
)
def test_a_link_out_of_the_repository_is_refused_and_nothing_is_written(repo: Path, place: str) -> None:
    """What it leads to would render (and a lock be written through it): the repository must hold its inputs."""
    target = repo.parent / "outside" / Path(place).name
    shutil.move(repo / place, target)
    (repo / place).symlink_to(target)
    before = disk(repo, target.parent)
    result = run("render")
    name = Path(place).name
    assert_refused(result, f"{place}: error: {name} leads outside the repository, to {target}", "copy it into")
    assert disk(repo, target.parent) == before


@pytest.mark.parametrize("content", [PASSWD, CREDENTIALS], ids=["passwd", "credentials"])
def test_a_fleet_file_linked_out_of_the_repository_never_shows_what_it_holds(repo: Path, content: str) -> None:
    secret = repo.parent / "outside" / "secret"
    secret.write_text(content)
    (repo / "fleets/eu-west-1/extra.yaml").symlink_to(secret)
    result = run("validate")
    assert_refused(result, "fleets/eu-west-1/extra.yaml: error: extra.yaml leads outside the repository", "copy")
    assert "root:x" not in result.output and "aws_secret" not in result.output


def test_a_source_line_is_never_shown_from_a_file_outside_the_repository(tmp_path: Path) -> None:
    """The excerpt reads the file again when printing: it reads only inside the repository it is given."""
    secret = tmp_path / "outside.yaml"
    secret.write_text("password: hunter2\n")
    (tmp_path / "repo").mkdir()
    shown = format_diagnostic(error(str(secret), 1, 11, "expected an integer", "write a number"), tmp_path / "repo")
    assert "hunter2" not in shown
    assert shown.startswith(f"{secret}:1:11: error: expected an integer")
