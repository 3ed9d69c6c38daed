"""Diff: `check --diff`, a unified diff of each stale file from what is on disk to what render would write.

Labels are git's (`a/<path>`, `b/<path>`, `/dev/null` for a file that is missing or would be removed) and
carry no timestamp, so the output is the same on every machine and `git apply` takes it. It is cut to a
bounded size, saying how much was left out: a stale tree can differ by a whole fleet.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

from .compile import Compiled
from .sinks import OnDisk, Staleness, desired_tree

LINES_PER_FILE = 200
LINES_IN_ALL = 2000
NO_NEWLINE = "\\ No newline at end of file"
_LINE = re.compile(r"[^\n]*\n|[^\n]+\Z")
Opcode = tuple[str, int, int, int, int]  # difflib's: tag, old start, old end, new start, new end


@dataclass(frozen=True, slots=True)
class StaleFile:
    """A file `check` found stale: its path as shown, its bytes on disk and render's (None: absent)."""

    path: str
    old: bytes | None
    new: bytes | None


def stale_files(compiled: Compiled, out: Path, staleness: Staleness) -> list[StaleFile]:
    """Every stale file of the tree and every stale lock, by path; a file behind a link is shown as absent
    (check reports the link), so that a diff never shows what lies outside the output folder."""
    desired = desired_tree(compiled)
    on_disk = OnDisk(out, desired)
    found = []
    for relative in (*staleness.changes.written, *staleness.changes.removed):
        folder, _, inside = relative.partition("/")
        new = desired.get(folder, {}).get(inside)
        found.append(StaleFile((out / relative).as_posix(), on_disk.file(relative), new))
    for pool in compiled.pools:
        lock = str(pool.source.lock_path)
        if lock in staleness.stale_locks:
            old = None if pool.source.lock_text is None else pool.source.lock_text.encode("utf-8")
            found.append(StaleFile(Path(lock).as_posix(), old, pool.lock_text.encode("utf-8")))
    return sorted(found, key=_path)


def _path(stale: StaleFile) -> str:
    return stale.path


def diff_lines(files: list[StaleFile], per_file: int = LINES_PER_FILE, in_all: int = LINES_IN_ALL) -> Iterator[str]:
    """The diffs of `files`, at most `per_file` lines each and `in_all` lines together, each cut announced."""
    budget = in_all
    for index, stale in enumerate(files):
        if budget <= 0:
            yield f"... the diffs of {len(files) - index} more files are not shown; run `fleetgen render` to see them"
            return
        lines = _file_diff(stale)
        shown = min(len(lines), per_file, budget)
        yield from lines[:shown]
        if shown < len(lines):
            yield f"... {len(lines) - shown} more lines of the diff of {stale.path} are not shown"
        budget -= shown


def _file_diff(stale: StaleFile) -> list[str]:
    old, new = _lines(stale.old), _lines(stale.new)
    groups = list(_grouped(_opcodes(old, new)))
    if not groups:
        return []
    lines = [
        f"--- a/{stale.path.lstrip('/')}" if stale.old is not None else "--- /dev/null",
        f"+++ b/{stale.path.lstrip('/')}" if stale.new is not None else "+++ /dev/null",
    ]
    for group in groups:
        (_, old_start, _, new_start, _), (_, _, old_end, _, new_end) = group[0], group[-1]
        lines.append(f"@@ -{_range(old_start, old_end)} +{_range(new_start, new_end)} @@")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += _marked(" ", old[i1:i2])
            else:
                lines += _marked("-", old[i1:i2]) + _marked("+", new[j1:j2])
    return lines


def _lines(data: bytes | None) -> list[str]:
    """Lines with their newline kept, so that a missing last newline shows as git shows it."""
    return [] if data is None else _LINE.findall(data.decode("utf-8", errors="replace"))


def _marked(mark: str, lines: list[str]) -> list[str]:
    shown = []
    for line in lines:
        shown.append(mark + line.removesuffix("\n"))
        if not line.endswith("\n"):
            shown.append(NO_NEWLINE)
    return shown


def _range(start: int, stop: int) -> str:
    """A hunk's `start,length` as unified diffs count: from 1, and an empty range starts a line earlier."""
    if stop - start == 1:
        return str(start + 1)
    return f"{start + 1 if stop > start else start},{stop - start}"


def _opcodes(old: list[str], new: list[str]) -> list[Opcode]:
    """difflib's opcodes, matched a YAML document at a time, then line by line within each pair of changed
    documents: difflib on a whole manifest, a thousand Pods of alike lines, takes seconds."""
    old_cuts, new_cuts = _documents(old), _documents(new)
    old_docs = ["".join(old[a:b]) for a, b in itertools.pairwise(old_cuts)]
    new_docs = ["".join(new[a:b]) for a, b in itertools.pairwise(new_cuts)]
    codes: list[Opcode] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, old_docs, new_docs, autojunk=False).get_opcodes():
        if tag == "equal":
            codes.append((tag, old_cuts[i1], old_cuts[i2], new_cuts[j1], new_cuts[j2]))
            continue
        pairs = min(i2 - i1, j2 - j1)
        for k in range(pairs):
            (a1, a2), (b1, b2) = old_cuts[i1 + k : i1 + k + 2], new_cuts[j1 + k : j1 + k + 2]
            inner = SequenceMatcher(None, old[a1:a2], new[b1:b2], autojunk=False).get_opcodes()
            codes += [(t, a1 + x1, a1 + x2, b1 + y1, b1 + y2) for t, x1, x2, y1, y2 in inner]
        if i1 + pairs < i2:
            codes.append(("delete", old_cuts[i1 + pairs], old_cuts[i2], new_cuts[j2], new_cuts[j2]))
        if j1 + pairs < j2:
            codes.append(("insert", old_cuts[i2], old_cuts[i2], new_cuts[j1 + pairs], new_cuts[j2]))
    return _merged(codes)


def _documents(lines: list[str]) -> list[int]:
    """Where each YAML document starts (at its `---`), and the end: [0, ..., len(lines)]."""
    return sorted({0, len(lines), *(number for number, line in enumerate(lines) if line == "---\n")})


def _merged(codes: list[Opcode]) -> list[Opcode]:
    """Adjacent opcodes of one tag as one, so that a run of equal lines gets its context cut like difflib's."""
    merged: list[Opcode] = []
    for code in codes:
        if merged and merged[-1][0] == code[0]:
            tag, i1, _, j1, _ = merged[-1]
            merged[-1] = (tag, i1, code[2], j1, code[4])
        else:
            merged.append(code)
    return merged


def _grouped(codes: list[Opcode], context: int = 3) -> Iterator[list[Opcode]]:
    """The changes in hunks with `context` equal lines around them, as difflib's get_grouped_opcodes."""
    if not codes:
        return
    if codes[0][0] == "equal":
        tag, i1, i2, j1, j2 = codes[0]
        codes[0] = (tag, max(i1, i2 - context), i2, max(j1, j2 - context), j2)
    if codes[-1][0] == "equal":
        tag, i1, i2, j1, j2 = codes[-1]
        codes[-1] = (tag, i1, min(i2, i1 + context), j1, min(j2, j1 + context))
    group: list[Opcode] = []
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal" and i2 - i1 > 2 * context:
            group.append((tag, i1, i1 + context, j1, j1 + context))
            yield group
            group = []
            i1, j1 = i2 - context, j2 - context
        group.append((tag, i1, i2, j1, j2))
    if group and not (len(group) == 1 and group[0][0] == "equal"):
        yield group
