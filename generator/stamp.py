"""Stamp: a digest of every input and output, so an unchanged repository is recognised without a render.

A full render ends by writing `rendered/.fleetgen-stamp`: the digest of fleetgen's own code, the
settings, every file under the fleets folder (locks included) and every file it owns under rendered/.
Rendering with the lock it just wrote changes nothing (guarantee 3), so when the digest of what is on
disk equals the stamp, render would write nothing and check would pass: both can stop there. Anything
else (an edited file, a new fleetgen, another --kubernetes-version) changes the digest and runs the
whole pipeline. The stamp is not YAML, and a dot-file, so neither Argo CD nor Flux reads it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from functools import cache
from importlib import metadata
from pathlib import Path

from .write import write_file_atomic

STAMP_FILE = ".fleetgen-stamp"
_DEPENDENCIES = ("kubernetes-validate", "pydantic", "PyYAML", "jsonschema")
_FORMAT = "fleetgen stamp v1"


@cache
def code_fingerprint() -> str:
    """fleetgen's own files and its dependencies' versions: a changed fleetgen never trusts an old stamp."""
    digest = hashlib.sha256(_FORMAT.encode())
    package = Path(__file__).resolve().parent
    for path in _files(package):
        if path.suffix != ".pyc":
            digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    for name in _DEPENDENCIES:
        digest.update(f"{name}={_version(name)}\0".encode())
    return digest.hexdigest()


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"


def _files(root: Path) -> Iterator[Path]:
    """Regular files below `root` in sorted order, never through a link; none when root is missing."""
    if root.is_symlink() or not root.is_dir():
        return
    for directory, folders, files in os.walk(root):
        folders[:] = sorted(f for f in folders if f not in ("__pycache__",) and not f.startswith(".fleetgen"))
        base = Path(directory)
        for name in sorted(files):
            path = base / name
            if not path.is_symlink() and name != STAMP_FILE:
                yield path


def repository_digest(fleets: Path, out: Path, settings: str) -> str:
    """The digest of code, settings, inputs and outputs as they are on disk now."""
    digest = hashlib.sha256(f"{code_fingerprint()}\0{settings}\0".encode())
    for label, root in (("fleets", fleets), ("rendered", out)):
        for path in _files(root):
            digest.update(f"{label}/{path.relative_to(root).as_posix()}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def fresh_replay(fleets: Path, out: Path, settings: str) -> str | None:
    """The warnings the certified render printed, when the repository is unchanged since; else None."""
    stamp = out / STAMP_FILE
    if stamp.is_symlink() or not stamp.is_file():
        return None
    recorded, _, replay = stamp.read_text(encoding="utf-8", errors="replace").partition("\n")
    return replay if recorded == repository_digest(fleets, out, settings) else None


def write_stamp(fleets: Path, out: Path, settings: str, replay: str) -> None:
    """Certify the repository as it is now; `replay` is what a render printed to stderr (warnings)."""
    write_file_atomic(out / STAMP_FILE, f"{repository_digest(fleets, out, settings)}\n{replay}".encode())


def remove_stamp(out: Path) -> None:
    """After a partial render (--pool) the repository as a whole is no longer certified."""
    stamp = out / STAMP_FILE
    if stamp.is_file() and not stamp.is_symlink():
        stamp.unlink()
