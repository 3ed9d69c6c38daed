"""Scaffold: `fleetgen init` -> the files of a new fleet repository, written only where nothing is yet.

The files are package data (`data/init/`), filled in by plain token replacement: the workflow's own
`${{ }}` expressions must pass through untouched, so no template language is involved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path

from ..fleetfiles.schema import schema_text

# Target path in the new repository -> template name in data/init/ (no dot-files in package data).
TEMPLATES: dict[str, str] = {
    "README.md": "README.md",
    ".gitattributes": "gitattributes",
    ".gitignore": "gitignore",
    ".github/workflows/fleet-check.yml": "fleet-check.yml",
    "fleets/gitops.yaml": "gitops.yaml",
    "fleets/example/pool.yaml": "pool.yaml",
    "fleets/example/arena.yaml": "arena.yaml",
}
WORKFLOW = ".github/workflows/fleet-check.yml"
SCHEMA = "fleets/fleetgen.schema.json"
DEFAULT_NAME = "fleets"
_NOT_IN_LABEL = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What init did: files it wrote, and files it left alone because they existed."""

    written: tuple[str, ...]
    kept: tuple[str, ...]


def default_requirement() -> str:
    """The pip requirement of the fleetgen that is running, so CI renders exactly as its user does."""
    return f"fleetgen=={metadata.version('fleetgen')}"


def repository_name(directory: Path) -> str:
    """A DNS label from the folder's name (it prefixes Application names), or 'fleets'."""
    label = _NOT_IN_LABEL.sub("-", directory.resolve().name.lower()).strip("-")[:20].strip("-")
    return label or DEFAULT_NAME


def template(name: str, tokens: dict[str, str]) -> str:
    text = resources.files("generator").joinpath("data", "init", name).read_text(encoding="utf-8")
    for token, value in tokens.items():
        text = text.replace(f"@{token}@", value)
    return text


def workflow_text(requirement: str) -> str:
    """The fleet-check workflow installing fleetgen from `requirement` (fleetgen's own repository uses '.')."""
    return template(TEMPLATES[WORKFLOW], {"FLEETGEN_REQUIREMENT": requirement})


def scaffold_files(name: str, repo_url: str, requirement: str, kubernetes_version: str) -> dict[str, str]:
    """Every file of the new repository, path -> text; the schema is the one `fleetgen schema` prints."""
    tokens = {"NAME": name, "REPO_URL": repo_url, "FLEETGEN_REQUIREMENT": requirement}
    files = {path: template(source, tokens) for path, source in TEMPLATES.items()}
    files[SCHEMA] = schema_text(kubernetes_version)
    return dict(sorted(files.items()))


def write_new(directory: Path, files: dict[str, str]) -> Outcome:
    """Create each file that does not exist yet; never overwrite, never write through a link."""
    written, kept = [], []
    for relative, text in sorted(files.items()):
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with path.open("x", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
        except FileExistsError:
            kept.append(relative)
            continue
        written.append(relative)
    return Outcome(tuple(written), tuple(kept))
