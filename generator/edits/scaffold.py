"""Scaffold: `fleetgen init` -> the files of a new fleet repository, written only where nothing is yet.

The files are package data (`data/init/`), filled in by plain token replacement: the workflow's own
`${{ }}` expressions must pass through untouched, so no template language is involved.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from ..diagnostics import Diagnostic, warning
from ..fleetfiles.schema import schema_text

# Target path in the new repository -> template name in data/init/ (no dot-files in package data).
TEMPLATES: dict[str, str] = {
    "README.md": "README.md",
    ".gitattributes": "gitattributes",
    ".gitignore": "gitignore",
    ".github/workflows/fleet-check.yml": "fleet-check.yml",
    ".github/workflows/nodes-sync.yml": "nodes-sync.yml",
    ".github/workflows/rollout.yml": "rollout.yml",
    "fleets/gitops.yaml": "gitops.yaml",
    "fleets/example/pool.yaml": "pool.yaml",
    "fleets/example/arena.yaml": "arena.yaml",
}
WORKFLOW = ".github/workflows/fleet-check.yml"
SYNC_WORKFLOW = ".github/workflows/nodes-sync.yml"
ROLLOUT_WORKFLOW = ".github/workflows/rollout.yml"
SCHEMA = "fleets/fleetgen.schema.json"
DEFAULT_NAME = "fleets"
_NOT_IN_LABEL = re.compile(r"[^a-z0-9-]+")
# The workflow installs this when init cannot pin fleetgen: empty until someone sets the repository variable.
REQUIREMENT_VARIABLE = "${{ vars.FLEETGEN_REQUIREMENT }}"
_VCS = ("git", "hg", "bzr", "svn")  # PEP 610's vcs names, which are also pip's URL prefixes
_STRONG_HASHES = ("sha512", "sha384", "sha256")  # the ones pip checks in a URL's fragment, strongest first
_INDEX_NAME = re.compile(r"\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[[^\]]*\])?\s*([<>=!~;][^@/:]*)?")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What init did: files it wrote, and files it left alone because they existed."""

    written: tuple[str, ...]
    kept: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Installed:
    """Where the running fleetgen came from: a pip requirement CI can install it from, or why there is none."""

    requirement: str | None
    unknown_because: str = ""


def installed_fleetgen() -> Installed:
    """The requirement of the running fleetgen, from the direct_url.json pip records beside it (PEP 610), so
    that CI renders exactly as its user does.

    A local folder, file or clone is out of CI's reach. An install from a package index leaves no record of
    which index, and a bare name sends CI's pip to PyPI, where anyone may register it: neither is pinned.
    """
    try:
        text = metadata.distribution("fleetgen").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return Installed(None, "fleetgen is not installed as a package")
    if text is None:
        return Installed(None, "it was installed from a package index, by name")
    try:
        direct_url = json.loads(text)
    except ValueError:
        return Installed(None, "its direct_url.json cannot be read")
    return _from_direct_url(direct_url if isinstance(direct_url, dict) else {})


def _from_direct_url(direct_url: dict[str, Any]) -> Installed:
    url = direct_url.get("url")
    if not isinstance(url, str) or not url:
        return Installed(None, "its direct_url.json names no URL")
    if url.startswith("file:"):
        return Installed(None, f"it was installed from {url}, which CI cannot reach")
    subdirectory = direct_url.get("subdirectory")
    fragment = [f"subdirectory={subdirectory}"] if isinstance(subdirectory, str) and subdirectory else []
    vcs_info, archive_info = direct_url.get("vcs_info"), direct_url.get("archive_info")
    if isinstance(vcs_info, dict):
        vcs, commit = vcs_info.get("vcs"), vcs_info.get("commit_id")
        if vcs not in _VCS or not isinstance(commit, str) or not commit:
            return Installed(None, f"it was installed from {url}, at no commit fleetgen can pin")
        return Installed(_with_fragment(f"fleetgen @ {vcs}+{url}@{commit}", fragment))
    if isinstance(archive_info, dict):
        return Installed(_with_fragment(f"fleetgen @ {url}", [*_archive_hash(archive_info), *fragment]))
    return Installed(None, f"its direct_url.json records neither a commit nor an archive of {url}")


def _archive_hash(archive_info: dict[str, Any]) -> list[str]:
    """`name=digest` of the strongest hash pip can check, from `hashes` or the older single `hash`."""
    hashes = archive_info.get("hashes")
    found = dict(hashes) if isinstance(hashes, dict) else {}
    legacy = archive_info.get("hash")
    if isinstance(legacy, str) and "=" in legacy:
        name, _, digest = legacy.partition("=")
        found.setdefault(name, digest)
    return [f"{name}={found[name]}" for name in _STRONG_HASHES if isinstance(found.get(name), str)][:1]


def _with_fragment(requirement: str, fragment: list[str]) -> str:
    return f"{requirement}#{'&'.join(fragment)}" if fragment else requirement


def names_an_index_package(requirement: str) -> bool:
    """True for a bare name, maybe with extras and a version (`fleetgen`, `fleetgen==0.1.0`): pip looks it up
    on an index, PyPI unless told otherwise, instead of installing one exact thing."""
    return _INDEX_NAME.fullmatch(requirement) is not None


def repository_name(directory: Path) -> str:
    """A DNS label from the folder's name (it prefixes Application names), or 'fleets'."""
    label = _NOT_IN_LABEL.sub("-", directory.resolve().name.lower()).strip("-")[:20].strip("-")
    return label or DEFAULT_NAME


def template(name: str, tokens: dict[str, str]) -> str:
    text = resources.files("generator").joinpath("data", "init", name).read_text(encoding="utf-8")
    for token, value in tokens.items():
        text = text.replace(f"@{token}@", value)
    return text


def install_warnings(installed: Installed, workflow: Path) -> list[Diagnostic]:
    """What the user must do when the workflow cannot install one exact fleetgen on its own."""
    example = "--install-from 'fleetgen @ git+https://github.com/OWNER/fleetgen@COMMIT'"
    if installed.requirement is None:
        message = (
            f"cannot tell which fleetgen CI should install: {installed.unknown_because}; the workflow installs "
            "the repository variable FLEETGEN_REQUIREMENT and fails until it is set"
        )
        hint = (
            "set that variable (Settings > Secrets and variables > Actions > Variables) to the pip requirement "
            f"of the fleetgen you render with, or delete the workflow and run init again with {example}"
        )
        return [warning(str(workflow), 0, 0, message, hint)]
    if names_an_index_package(installed.requirement):
        message = (
            f"{installed.requirement!r} is a name on a package index: CI's pip takes it from PyPI, where anyone "
            "may register it, unless PIP_INDEX_URL names your index"
        )
        return [warning(str(workflow), 0, 0, message, f"pin one exact fleetgen instead, e.g. {example}")]
    return []


def _requirement_tokens(requirement: str | None) -> dict[str, str]:
    """The workflow's `env` value (YAML) and the README's install command; None installs the variable."""
    if requirement is None:
        command = 'pip install "$FLEETGEN_REQUIREMENT"   # the repository variable that CI installs'
        return {"FLEETGEN_REQUIREMENT": REQUIREMENT_VARIABLE, "INSTALL_COMMAND": command}
    command = f"pip install {shlex.quote(requirement)}   # as .github/workflows/fleet-check.yml does"
    return {"FLEETGEN_REQUIREMENT": json.dumps(requirement), "INSTALL_COMMAND": command}


def workflow_text(requirement: str | None, path: str = WORKFLOW) -> str:
    """The workflow at `path` installing fleetgen from `requirement` (fleetgen's own repository uses '.'),
    or from the repository variable FLEETGEN_REQUIREMENT when None."""
    return template(TEMPLATES[path], _requirement_tokens(requirement))


def scaffold_files(name: str, repo_url: str, requirement: str | None, kubernetes_version: str) -> dict[str, str]:
    """Every file of the new repository, path -> text; the schema is the one `fleetgen schema` prints."""
    tokens = {"NAME": name, "REPO_URL": repo_url, **_requirement_tokens(requirement)}
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
