"""Mangled fleet files: whatever an editor (or a cat on the keyboard) does to them, `fleetgen validate`
answers with diagnostics and exit 0 or 1, never with a traceback or an internal error.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from generator.cli import cli

EXAMPLES = Path(__file__).resolve().parent.parent / "fleets"
EXAMPLE_FILES = sorted(str(path.relative_to(EXAMPLES)) for path in EXAMPLES.glob("*/*.yaml"))
ORIGINALS = {name: (EXAMPLES / name).read_text(encoding="utf-8") for name in EXAMPLE_FILES}

# Characters that mean something to YAML, whitespace that breaks it, and text that is not ASCII.
SPECIAL = [":", "-", "[", "]", "{", "}", "&", "*", "!", "|", ">", "#", "'", '"', ",", "?", "%", "@", "`", "<<"]
ODD = ["\t", " ", "\n", "\r\n", "\ufeff", "\u00a0", "\u2028", "\x85", "é", "日本", "😀", "\x00", "\x1b", "\u202e"]
FRAGMENTS = [
    *SPECIAL,
    *ODD,
    "- ",
    ": ",
    "&a ",
    "*a",
    "!foo ",
    "!!python/object:os.system ",
    "<<: *a",
    "---\n",
    "...\n",
    "key: value",
    "  extra: 1\n",
    "- name: x\n",
    "[1, 2",
    "{a: 1",
]
SCALARS = [
    "0",
    "-1",
    "65536",
    "99999999999999999999999",
    "1.5",
    ".inf",
    ".nan",
    "true",
    "null",
    "~",
    '""',
    "''",
    "[]",
    "{}",
    "[1, 2]",
    "{a: 1}",
    "[null]",
    "[x]",
    "yes",
    "0x1F",
    "2001-12-14",
    '"3"',
    "a" * 70,
    "Packed",
    "nodeName",
    "default",
    "server",
    "7000-8000",
    "-",
    "é",
]
KEY_VALUE = re.compile(r"^(\s*(?:- )?[A-Za-z][\w./-]*:)( +)(\S.*)$")
SHIFTS = [-4, -2, -1, 1, 2, 4]
KINDS = ["delete_line", "duplicate_line", "swap_lines", "insert_text", "reindent", "truncate", "replace_scalar"]

# One edit: (file, kind, a, b, text); a and b pick lines, positions, shifts and scalars modulo their counts.
Edit = tuple[str, str, int, int, str]
PIECES = st.one_of(
    st.sampled_from(FRAGMENTS),
    st.lists(st.sampled_from([*SPECIAL, *ODD, "a", "1"]), min_size=1, max_size=6).map("".join),
    st.text(min_size=1, max_size=4),
)
EDITS = st.tuples(
    st.sampled_from(EXAMPLE_FILES), st.sampled_from(KINDS), st.integers(0, 10_000), st.integers(0, 10_000), PIECES
)


def apply_edit(text: str, kind: str, a: int, b: int, piece: str) -> str:
    lines = text.splitlines(keepends=True)
    if kind == "insert_text":
        at = a % (len(text) + 1)
        return text[:at] + piece + text[at:]
    if kind == "truncate":
        return text[: a % (len(text) + 1)]
    if not lines:
        return text
    index = a % len(lines)
    if kind == "delete_line":
        del lines[index]
    elif kind == "duplicate_line":
        lines.insert(index, lines[index])
    elif kind == "swap_lines":
        other = b % len(lines)
        lines[index], lines[other] = lines[other], lines[index]
    elif kind == "reindent":
        stripped = lines[index].lstrip(" ")
        indent = max(len(lines[index]) - len(stripped) + SHIFTS[b % len(SHIFTS)], 0)
        lines[index] = " " * indent + stripped
    elif kind == "replace_scalar":
        candidates = [line for line in lines if KEY_VALUE.match(line)]
        match = KEY_VALUE.match(candidates[index % len(candidates)]) if candidates else None
        if match:
            lines[lines.index(match.string)] = f"{match.group(1)} {SCALARS[b % len(SCALARS)]}\n"
    return "".join(lines)


def run_validate_on_mangled(edits: list[Edit]) -> None:
    mangled = dict(ORIGINALS)
    for name, kind, a, b, piece in edits:
        mangled[name] = apply_edit(mangled[name], kind, a, b, piece)
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary) / "fleets"
        shutil.copytree(EXAMPLES, root)
        for name, text in mangled.items():
            (root / name).write_bytes(text.encode("utf-8", errors="surrogatepass"))
        result = CliRunner().invoke(cli, ["validate", "--fleets", os.fspath(root)])
    output = result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 1), output
    assert "Traceback" not in output
    assert "internal error" not in output


# A non-scalar `kind` once ended in a traceback; this explicit example keeps it covered on every run.
KIND_AS_LIST = ("eu-west-1/casual.yaml", "replace_scalar", 1, SCALARS.index("[1, 2]"), "")


@example(edits=[KIND_AS_LIST])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(EDITS, min_size=1, max_size=4))
def test_mangled_examples_get_diagnostics_not_tracebacks(edits: list[Edit]) -> None:
    run_validate_on_mangled(edits)
