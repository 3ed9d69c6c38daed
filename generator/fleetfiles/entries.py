"""Entries: each path of the fleets folder that fleetgen reads, checked before it is opened.

fleetgen reads only regular files and folders inside the repository, the folder that holds fleets/. A link
out of it would print another file's lines into CI logs; a directory, a dangling link or a named pipe where a
file belongs would be skipped, and render would remove its servers (a pipe would block the read). A refusal
names the path, and a link's target, never what the target holds.
"""

from __future__ import annotations

import os
import stat
from enum import StrEnum
from pathlib import Path

from ..diagnostics import Diagnostic, error

LOCK_FILE = "allocations.lock"  # beside a pool's fleet files: what render allocated, read before it allocates


class Expected(StrEnum):
    FILE = "file"
    FOLDER = "folder"


def repository_of(fleets: Path) -> Path:
    """The repository root: the folder that holds the fleets folder, its links resolved."""
    return Path(os.path.abspath(fleets)).parent.resolve()


def refusal(path: Path, repository: Path, expected: Expected | None, hint: str = "") -> Diagnostic | None:
    """Why `path`, which exists (if only as a link), must not be read as `expected`, or None; `hint` says what
    to do when it is something else. With no `expected`, only where it leads is checked."""
    try:
        target = path.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a loop of links, before Python 3.13
        return _refused(path, "is a link that leads back to itself", "point the link at a file, or remove it")
    if not target.is_relative_to(repository):
        return _refused(
            path,
            f"leads outside the repository, to {target}",
            f"copy it into the repository ({repository}); fleetgen reads nothing outside the folder that holds fleets/",
        )
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return _refused(path, f"is a link to {target}, which does not exist", "point the link at a file, or remove it")
    except OSError as problem:
        return _refused(path, f"cannot be read: {problem.strerror}", "make it readable by the user who runs fleetgen")
    if expected is None or _kind(mode) == f"a {expected}":
        return None
    return _refused(path, f"is {_kind(mode)}, not a {expected}", hint)


def _refused(path: Path, message: str, hint: str) -> Diagnostic:
    return error(str(path), 0, 0, f"{path.name} {message}", hint)


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "a file"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device"
