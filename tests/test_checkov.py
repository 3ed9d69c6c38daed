"""A standard static analyser agrees: checkov's Kubernetes checks find nothing in the rendered examples but
the hostPort (CKV_K8S_26), which is the point of fleetgen, with no check skipped.

checkov lives in a venv of its own, `.venv-checkov` (see `.ci/checkov.txt`), which `.ci/run` and the
README's quick start create; without it these tests fail rather than skip, so CI cannot pass them unseen.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from generator.cli import cli

ROOT = Path(__file__).resolve().parent.parent
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
REQUIREMENT = ROOT / ".ci" / "checkov.txt"
HOST_PORT_CHECK = "CKV_K8S_26"
INSTALL = "python3 -m venv .venv-checkov && .venv-checkov/bin/pip install -q -r .ci/checkov.txt"


def pinned_version() -> str:
    (line,) = [line for line in REQUIREMENT.read_text().splitlines() if line and not line.startswith("#")]
    name, _, version = line.partition("==")
    assert name == "checkov" and version, "checkov is pinned to one version"
    return version


def checkov(folder: Path) -> dict[str, Any]:
    """checkov's JSON report on `folder`, offline (--skip-download: no guidelines or policies fetched)."""
    assert CHECKOV.is_file(), f"checkov is not installed; run, at the repository root: {INSTALL}"
    command = [str(CHECKOV), "--framework", "kubernetes", "-d", str(folder), "-o", "json", "--skip-download"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode in (0, 1) and "Traceback" not in result.stderr, result.stderr
    report = json.loads(result.stdout)
    summary = report["summary"]
    assert summary["checkov_version"] == pinned_version()
    assert summary["parsing_errors"] == 0 and summary["resource_count"] > 0
    return report


def failed(report: dict[str, Any]) -> dict[str, set[str]]:
    """check id -> the resources that fail it."""
    found: dict[str, set[str]] = {}
    for check in report["results"]["failed_checks"]:
        found.setdefault(check["check_id"], set()).add(check["resource"])
    return found


def rendered_pods(folder: Path) -> set[str]:
    return {
        f"Pod.{doc['metadata']['namespace']}.{doc['metadata']['name']}"
        for manifest in sorted(folder.glob("*/*/manifest.yaml"))
        for doc in yaml.safe_load_all(manifest.read_text())
        if doc and doc["kind"] == "Pod"
    }


def test_checkov_finds_only_the_host_ports_in_the_rendered_examples_and_skips_nothing() -> None:
    """Over the committed rendered/ (test_render holds it to what `render` writes)."""
    rendered = ROOT / "rendered"
    texts = [path.read_text() for path in sorted(rendered.rglob("*.yaml"))]
    assert not [text for text in texts if "checkov" in text], "no inline skip annotation in rendered objects"
    report = checkov(rendered)
    assert failed(report) == {HOST_PORT_CHECK: rendered_pods(rendered)}
    assert report["results"]["skipped_checks"] == [] and report["summary"]["skipped"] == 0
    assert report["summary"]["passed"] > 0


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "fleets", tmp_path / "fleets")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_checkov_does_flag_a_template_that_asks_for_a_token_or_a_writable_root(repo: Path) -> None:
    """So that the test above cannot pass by checking nothing: a template's own choices reach the Pods."""
    ranked = repo / "fleets/eu-west-1/ranked.yaml"
    ranked.write_text(
        ranked.read_text().replace("    spec:\n", "    spec:\n      automountServiceAccountToken: true\n")
    )
    relay = repo / "fleets/us-east-1/fleets.yaml"
    text = relay.read_text()
    cut = text.rindex("            readOnlyRootFilesystem: true\n")
    relay.write_text(text[:cut] + text[cut:].replace("            readOnlyRootFilesystem: true\n", "", 1))
    result = CliRunner().invoke(cli, ["render"])
    assert result.exit_code == 0, result.stderr
    found = failed(checkov(repo / "rendered"))
    assert found.pop(HOST_PORT_CHECK) == rendered_pods(repo / "rendered")
    assert found == {
        "CKV_K8S_38": {f"Pod.game-servers.ranked-{i}" for i in range(6)},
        "CKV_K8S_22": {f"Pod.game-servers-us.relay-{i}" for i in range(3)},
    }


def test_checkov_finds_only_the_host_ports_in_a_fleet_that_runs_the_agones_sdk(repo: Path) -> None:
    """The SDK sidecar fleetgen adds (spec.sdk.agones) passes every check, given its image pinned by digest as
    the examples pin theirs: limits, a read-only root, a high non-root UID, no capabilities, the pull policy."""
    mirror = "registry.example.com/mirror/agones-sdk:1.56.0@sha256:" + "5" * 64
    ranked = repo / "fleets/eu-west-1/ranked.yaml"
    sdk = f"  sdk:\n    agones: {{version: 1.56.0, image: '{mirror}'}}\n"
    ranked.write_text(ranked.read_text().replace("  ports:\n", sdk + "  ports:\n", 1))
    result = CliRunner().invoke(cli, ["render"])
    assert result.exit_code == 0, result.stderr
    sidecars = [
        doc["spec"]["initContainers"][0]
        for doc in yaml.safe_load_all((repo / "rendered/eu-west-1/ranked-0/manifest.yaml").read_text())
    ]
    assert len(sidecars) == 6 and all(sidecar["image"] == mirror for sidecar in sidecars)
    report = checkov(repo / "rendered")
    assert failed(report) == {HOST_PORT_CHECK: rendered_pods(repo / "rendered")}
    assert report["results"]["skipped_checks"] == []
