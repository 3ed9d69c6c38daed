"""Run lock: one writing run at a time per repository, so that render and the edits never interleave.

A run that writes (render, the edits, which render too) holds `.fleetgen.lock`, beside the fleets folder,
from before it reads a fleet file until its stamp is written. It is a POSIX record lock (lockf), which
belongs to the process alone: the compile workers it forks do not inherit it, and the kernel releases it
when the process ends, even on kill -9 (an flock would live on in a worker left behind). Nothing else in
the process may open the file, since closing any descriptor of it would release the lock.

While held, the file names its holder (pid, command, start time) so that a run that waits, or gives up,
can say for whom. The holder deletes the file as it leaves, so nothing is left to commit; one killed with
-9 leaves it behind, unlocked, and the next run takes it over. Read-only runs (check, plan) take no lock:
the stamp never vouches for bytes a render did not read, so they cannot be misled by a render beside them.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..diagnostics import Diagnostic, error

RUN_LOCK = ".fleetgen.lock"
_POLL_SECONDS = 0.1
_HELD: set[Path] = set()  # the locks this process holds, by absolute path: taking one again is a no-op
_WAIT_HINT = "let it finish, then run again; or give it longer with --wait SECONDS"


@dataclass(frozen=True, slots=True)
class RunLock:
    """A held lock: release it when the run ends (the kernel does so anyway if the process dies)."""

    path: Path  # absolute
    fd: int

    def release(self) -> None:
        """Delete the file (only if it is still ours), then unlock: a run waiting on the deleted file sees
        that it is gone and opens the new one, so two runs never both hold "the" lock."""
        try:
            if _same_file(self.path, self.fd):
                os.unlink(self.path)
        finally:
            os.close(self.fd)
            _HELD.discard(self.path)


def lock_path(fleets: Path) -> Path:
    """The lock of the repository that holds `fleets`, however the folder was named (`fleets`, `.`, `x/..`)."""
    return Path(os.path.normpath(fleets.absolute())).parent / RUN_LOCK


def acquire(fleets: Path, command: str, wait: float, waiting: Callable[[str], None]) -> RunLock | Diagnostic | None:
    """Take the repository's lock for `command` (e.g. `fleetgen render`), waiting up to `wait` seconds and
    telling `waiting` once whom it waits for. None when there is no repository to lock (the folder that would
    hold fleets/ does not exist: the run fails on its own) or when this process holds it already (an edit's
    render runs under the edit's); a Diagnostic when the lock cannot be had."""
    path = lock_path(fleets)
    if path in _HELD:
        return None
    deadline = time.monotonic() + wait
    told = False
    while True:
        opened = _open(path)
        if not isinstance(opened, int):
            return opened
        if _try_lock(opened):
            if _same_file(path, opened):
                _write_holder(opened, command)
                _HELD.add(path)
                return RunLock(path, opened)
            os.close(opened)  # the holder deleted it as we locked it: take the new one
            continue
        holder = _holder(opened)
        os.close(opened)
        if time.monotonic() >= deadline:
            message = f"another fleetgen run holds this repository: {holder}; waited {wait:g} s"
            return error(_shown(path), 0, 0, message, _WAIT_HINT)
        if not told:
            waiting(f"fleetgen: waiting up to {wait:g} s for {_shown(path)}: {holder}")
            told = True
        time.sleep(_POLL_SECONDS)


def _shown(path: Path) -> str:
    """The path as messages name it: relative to the working folder when it lies below it."""
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


def _open(path: Path) -> int | Diagnostic | None:
    """The lock file, created if need be; never through a link, never anything but a regular file."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
    except FileNotFoundError:
        return None
    except OSError as problem:
        reason = "is a symbolic link" if problem.errno == errno.ELOOP else f"cannot be opened ({problem.strerror})"
        hint = f"fleetgen keeps {RUN_LOCK} there while it writes, and deletes it after; remove what is in the way"
        return error(_shown(path), 0, 0, f"the repository's lock {reason}", hint)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return error(_shown(path), 0, 0, "the repository's lock is not a regular file", f"remove {_shown(path)}")
    return fd


def _try_lock(fd: int) -> bool:
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as problem:
        if problem.errno in (errno.EACCES, errno.EAGAIN):
            return False
        raise
    return True


def _same_file(path: Path, fd: int) -> bool:
    try:
        on_disk = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (on_disk.st_dev, on_disk.st_ino) == (held.st_dev, held.st_ino)


def _write_holder(fd: int, command: str) -> None:
    """Who holds the lock; the only place fleetgen writes the time, and the file is never committed."""
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    text = json.dumps({"pid": os.getpid(), "command": command, "since": since}, sort_keys=True) + "\n"
    os.ftruncate(fd, 0)
    os.pwrite(fd, text.encode(), 0)


def _holder(fd: int) -> str:
    """The holder as its lock file names it: `pid 1234 (`fleetgen render`) since 2026-01-02T03:04:05Z`."""
    try:
        holder = json.loads(os.pread(fd, 4096, 0))
        return f"held by pid {int(holder['pid'])} (`{holder['command']}`) since {holder['since']}"
    except (ValueError, KeyError, TypeError, OSError):
        return "held by a run that has not yet written its name"
