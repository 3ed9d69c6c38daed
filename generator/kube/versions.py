"""Kubernetes versions: which minor versions' schemas kubernetes-validate ships, found without importing it.

Every command resolves --kubernetes-version before it does anything else, and importing kubernetes-validate
(jsonschema, referencing) costs more than a no-op render; its schema folder is found from the package's spec.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from packaging.version import InvalidVersion, Version

SCHEMA_FOLDER = "kubernetes-json-schema"


def schema_root() -> Path:
    """kubernetes-validate's folder of schemas, one folder per version."""
    spec = find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("kubernetes-validate is not installed")
    return Path(spec.submodule_search_locations[0]) / SCHEMA_FOLDER


def bundled_versions() -> list[str]:
    """Kubernetes minor versions whose schemas kubernetes-validate ships, oldest first."""
    root = schema_root()
    found = {entry.name.split("-")[0].lstrip("v") for entry in root.iterdir() if entry.name.startswith("v")}
    return sorted((_minor(v) for v in found), key=Version)


def latest_version() -> str:
    return bundled_versions()[-1]


def resolve_version(requested: str) -> str | None:
    """The newest bundled minor version not newer than `requested`, or None when there is none."""
    try:
        wanted = Version(_minor(requested.lstrip("v")))
    except InvalidVersion:
        return None
    bundled = bundled_versions()
    if wanted > Version(bundled[-1]):
        return None
    candidates = [v for v in bundled if Version(v) <= wanted]
    return candidates[-1] if candidates else None


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])
