"""Files: the file-system steps a safe write is made of, each durable (fsync) and never through a link.

Only this package's `write` and its lock and stamp writers use them.
"""

from __future__ import annotations

import ctypes
import errno
import os
import secrets
import stat
from collections.abc import Callable
from functools import cache
from pathlib import Path

# linkat() failures that mean "this file system cannot hard-link here", not "something is wrong".
_NO_HARDLINK = frozenset({errno.EPERM, errno.EMLINK, errno.EXDEV, errno.ENOTSUP, errno.EOPNOTSUPP})
# renameat2() failures that mean "no RENAME_EXCHANGE here" (old kernel or libc, or file system).
_NO_EXCHANGE = frozenset({errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP})
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def write_file_atomic(path: Path, data: bytes) -> bool:
    """Replace `path` with `data` atomically (same-folder temp file, fsync, os.replace); for lock files.

    Returns False, touching nothing, when the file already holds exactly these bytes, so a no-op render
    leaves mtimes alone. A symbolic link at `path` is refused (OSError) rather than followed or replaced.
    """
    path = Path(path)
    data = bytes(data)
    old_mode: int | None = None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        pass
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OSError(errno.ELOOP, "is a symbolic link; refusing to write through it", str(path)) from exc
        raise
    else:
        with os.fdopen(fd, "rb") as handle:
            old_mode = stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
            if handle.read() == data:
                return False
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        write_new_file(tmp, data, mode=old_mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return True


def obstacle(path: Path) -> str | None:
    """What stands where a regular file is to be written (a link, a folder, a device...), or None when the
    path is free or holds a regular file. Nothing is followed."""
    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as problem:
        return f"cannot be reached ({problem.strerror})"
    if stat.S_ISLNK(mode):
        return "is a symbolic link"
    if stat.S_ISDIR(mode):
        return "is a directory"
    return None if stat.S_ISREG(mode) else "is not a regular file"


def link_or_copy(source: Path, target: Path, data: bytes | None = None) -> None:
    """Hard-link an unchanged file; where the file system cannot, write it anew (`data`, or the source's
    bytes, never read through a link) but keep its times."""
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError as exc:
        if exc.errno not in _NO_HARDLINK:
            raise
        before = os.lstat(source)
        if data is None:
            with os.fdopen(os.open(source, os.O_RDONLY | os.O_NOFOLLOW), "rb") as handle:
                data = handle.read()
        write_new_file(target, data, mode=stat.S_IMODE(before.st_mode))
        os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns), follow_symlinks=False)


def write_new_file(path: Path, data: bytes, mode: int | None = None) -> None:
    """Create a file that must not exist yet (never writes through a link), with its bytes on disk."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Make renames and new entries in a folder durable, not just visible."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@cache
def _renameat2() -> Callable[..., int] | None:
    """libc's renameat2, or None where libc has none (non-Linux, glibc < 2.28, musl < 1.2.?)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = libc.renameat2
    except (AttributeError, OSError, TypeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


def exchange(a: Path, b: Path) -> bool:
    """Atomically swap two existing paths; False when the platform or file system cannot."""
    function = _renameat2()
    if function is None:
        return False
    result = function(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in _NO_EXCHANGE:
        return False
    raise OSError(code, os.strerror(code), str(a), None, str(b))
