"""Fuzzed fleet files: a seeded mutator edits the example repository as an editor, a merge or a cat on the
keyboard could, and `fleetgen validate` and `fleetgen render` must answer every case as the README promises:
exit 0 or 1, never a traceback or an internal error, every error at `file:line:column` (or at a path alone
for a whole file or folder that has no line to show) with a hint, and nothing written on exit 1.

The cases are seeded, so CI runs the same ones every time; `CASES` bounds the suite's share (a few seconds
per hundred), and more seeds can be run by hand with `check_case`.
"""

from __future__ import annotations

import os
import random
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli

REPOSITORY = Path(__file__).resolve().parent.parent
TARGETS = sorted(
    path.relative_to(REPOSITORY / "fleets").as_posix()
    for path in (REPOSITORY / "fleets").rglob("*")
    if path.suffix in (".yaml", ".lock")
)
CASES = 160
MOST_EDITS = 3

CONTROL = [bytes([code]) for code in [*range(0x20), 0x7F]] + ["\x85", "\u2028", "\ufeff", "\u202e"]
NOT_UTF8 = [b"\xff", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xc0\xaf", b"\x80"]
YAML_PIECES = [":", "- ", ": ", "[", "]", "{", "}", "&a ", "*a", "!foo ", "<<: *a", "---\n", "...\n", "#", "'", '"']
# Values of every type, and values that mean something to fleetgen somewhere else, to reach the later stages.
VALUES = [
    '"text"',
    "99999999999999999999999",
    "-1",
    "0",
    "1",
    "-0.5",
    "1e309",
    ".nan",
    "null",
    "~",
    "true",
    '""',
    "[]",
    "[1, a]",
    "{}",
    "{a: 1}",
    "2024-01-01",
    "a" * 300,
    "é\u0301",
    "7000",
    "65535",
    "150000",
    "30000",
    "Static",
    "Passthrough",
    "TCPUDP",
    "nodeName",
    "Distributed",
    "default",
    "voice",
    "server",
    "2001:db8::1",
    "203.0.113.11",
    "100m",
    "1Ti",
]
KEY_VALUE = re.compile(rb"^(\s*(?:- )?)([A-Za-z][\w./-]*)(:)( +\S.*)?$")


KINDS = ["delete", "duplicate", "swap", "indent", "truncate", "control", "not_utf8", "yaml", "scalar", "key", "bytes"]


@dataclass(frozen=True, slots=True)
class Mutation:
    target: str  # below fleets/
    what: str  # the kind of edit and where, to reproduce a failure by eye


def mutate(text: bytes, rng: random.Random) -> tuple[bytes, str]:
    """One random edit of `text` and a word on what it was, for the failure message."""
    lines = text.splitlines(keepends=True) or [b""]
    index = rng.randrange(len(lines))
    kind = rng.choice(KINDS)
    if kind == "delete":
        del lines[index]
    elif kind == "duplicate":
        lines.insert(index, lines[index])
    elif kind == "swap":
        other = rng.randrange(len(lines))
        lines[index], lines[other] = lines[other], lines[index]
    elif kind == "indent":
        stripped = lines[index].lstrip(b" ")
        width = max(len(lines[index]) - len(stripped) + rng.choice([-4, -2, -1, 1, 2, 4]), 0)
        lines[index] = b" " * width + stripped
    elif kind == "truncate":
        return text[: rng.randrange(len(text) + 1)], kind
    elif kind in ("control", "not_utf8", "yaml", "bytes"):
        piece = _piece(kind, rng)
        at = rng.randrange(len(text) + 1)
        return text[:at] + piece + text[at:], f"{kind} {piece!r} at byte {at}"
    else:
        return _replace(lines, kind, rng)
    return b"".join(lines), f"{kind} line {index + 1}"


def _piece(kind: str, rng: random.Random) -> bytes:
    if kind == "control":
        choice = rng.choice(CONTROL)
        return choice if isinstance(choice, bytes) else choice.encode()
    if kind == "not_utf8":
        return rng.choice(NOT_UTF8)
    if kind == "yaml":
        return rng.choice(YAML_PIECES).encode()
    return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 6)))


def _replace(lines: list[bytes], kind: str, rng: random.Random) -> tuple[bytes, str]:
    """A value of another type for a key's value, or another name for the key."""
    candidates = [number for number, line in enumerate(lines) if KEY_VALUE.match(line.rstrip(b"\r\n"))]
    if not candidates:
        return b"".join(lines), f"{kind}: no key"
    number = rng.choice(candidates)
    match = KEY_VALUE.match(lines[number].rstrip(b"\r\n"))
    assert match is not None
    lead, key, colon, value = match.groups()
    if kind == "scalar":
        value = b" " + rng.choice(VALUES).encode()
    else:
        key = rng.choice([key.upper(), key[:-1], key + b"s", b"unknown", b"apiVersion", b"name", b"spec"])
    lines[number] = lead + key + colon + (value or b"") + b"\n"
    return b"".join(lines), f"{kind} line {number + 1}"


def mutated_repository(seed: int, root: Path) -> list[Mutation]:
    """The examples (fleets/ and rendered/) copied to `root`, and one to MOST_EDITS of their files edited."""
    rng = random.Random(seed)
    shutil.copytree(REPOSITORY / "fleets", root / "fleets", symlinks=True)
    shutil.copytree(REPOSITORY / "rendered", root / "rendered", symlinks=True)
    mutations = []
    for _ in range(rng.randint(1, MOST_EDITS)):
        target = rng.choice(TARGETS)
        path = root / "fleets" / target
        text, detail = mutate(path.read_bytes(), rng)
        path.write_bytes(text)
        mutations.append(Mutation(target, detail))
    return mutations


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under `root` with its bytes and modification time."""
    return {
        path.relative_to(root).as_posix(): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


ERROR_LINE = re.compile(r"^(?P<place>.+?): error: ")
POSITION = re.compile(r":(\d+):(\d+)$")


def unplaced_errors(output: str) -> list[str]:
    """Error blocks that name a file with lines but no line and column, or that give no hint."""
    problems = []
    blocks = re.split(r"\n(?=\S)", output)
    for block in blocks:
        found = ERROR_LINE.match(block)
        if found is None:
            continue
        place = found.group("place")
        if POSITION.search(place) is None and _has_lines(Path(place)):
            problems.append(f"no position: {block}")
        if "\n  hint: " not in block:
            problems.append(f"no hint: {block}")
    return problems


def _has_lines(path: Path) -> bool:
    return not path.is_symlink() and path.is_file() and path.stat().st_size > 0


def check_case(seed: int, root: Path) -> None:
    """Run validate and render on the mutated repository of `seed` and hold them to the promises above."""
    mutations = mutated_repository(seed, root)
    fleets, out = os.fspath(root / "fleets"), os.fspath(root / "rendered")
    before = snapshot(root)
    for arguments in (["validate", "--fleets", fleets], ["render", "--fleets", fleets, "--out", out]):
        result = CliRunner().invoke(cli, arguments)
        where = f"seed {seed}, {arguments[0]}, {mutations}:\n{result.output}"
        assert result.exception is None or isinstance(result.exception, SystemExit), f"{where}\n{result.exception!r}"
        assert result.exit_code in (0, 1), where
        assert "Traceback" not in result.output and "internal error" not in result.output, where
        assert not unplaced_errors(result.output), f"{where}\n" + "\n".join(unplaced_errors(result.output))
        if result.exit_code == 1 or arguments[0] == "validate":
            assert snapshot(root) == before, f"{where}\nfiles changed"


@pytest.mark.parametrize("block", range(4))
def test_fuzzed_examples_answer_with_placed_errors_and_write_nothing(block: int, tmp_path: Path) -> None:
    for seed in range(block, CASES, 4):
        check_case(seed, tmp_path / str(seed))
