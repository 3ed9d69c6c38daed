"""`fleetgen --help` and `--version` start without loading the pipeline, and say exactly what they said."""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from generator.cli import COMMANDS, cli

ROOT = Path(__file__).resolve().parent.parent
PIPELINE = (
    "generator.cli.repository",
    "generator.cli.pipeline",
    "generator.cli.edits",
    "generator.cli.live",
    "generator.kube",
    "pydantic",
)


@pytest.mark.parametrize("option", ["--help", "--version"])
def test_help_and_version_load_no_command_module(option: str) -> None:
    program = (
        "import sys\nfrom generator.cli import cli\n"
        f"try:\n    cli([{option!r}], prog_name='fleetgen')\nexcept SystemExit:\n    pass\n"
        "print('loaded:', ' '.join(sorted(m for m in sys.modules if m.startswith(('generator.', 'pydantic')))))"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert "fleetgen" in result.stdout
    loaded = result.stdout.rsplit("loaded: ", 1)[1].split()
    assert not [module for module in loaded if module.startswith(PIPELINE)]


def eager_group() -> click.Group:
    """The group as it was before commands loaded lazily: every command object registered up front."""
    return click.Group("fleetgen", commands={name: cli.get_command(click.Context(cli), name) for name in COMMANDS})


@pytest.mark.parametrize("width", [60, 80, 120])
def test_the_command_list_is_what_the_commands_own_help_gives(width: int) -> None:
    listed = {}
    for group in (cli, eager_group()):
        formatter = click.HelpFormatter(width=width)
        group.format_commands(click.Context(group), formatter)
        listed[group is cli] = formatter.getvalue()
    assert listed[True] == listed[False]
    assert len(listed[True].splitlines()) == len(COMMANDS) + 1


def test_every_command_loads_under_its_name() -> None:
    for name in COMMANDS:
        command = cli.get_command(click.Context(cli), name)
        assert command is not None and command.name == name
    result = subprocess.run([sys.executable, "-m", "generator", "rendr"], capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "No such command 'rendr'. Did you mean 'render'?" in result.stderr


def test_version_is_the_distributions() -> None:
    result = CliRunner().invoke(cli, ["--version"], prog_name="fleetgen")
    assert result.exit_code == 0
    assert result.stdout == f"fleetgen, version {metadata.version('fleetgen')}\n"


# What deciding "the stamp matches" must not load: the fleet models, the schemas, the allocator, the emitters.
COMPILE_PATH = (
    "pydantic",
    "jsonschema",
    "yaml",
    "importlib.metadata",
    "generator.fleetfiles.model",
    "generator.fleetfiles.load",
    "generator.allocation.allocate",
    "generator.manifests.render",
    "generator.tree.compile",
    "generator.cli.pipeline",
)


@pytest.mark.parametrize("command", ["render", "check"])
def test_a_no_op_loads_no_compile_path(tmp_path: Path, command: str) -> None:
    shutil.copytree(ROOT / "fleets", tmp_path / "fleets")
    shutil.copytree(ROOT / "rendered", tmp_path / "rendered")
    program = (
        "import sys\nfrom generator.cli import cli\n"
        f"try:\n    cli([{command!r}], prog_name='fleetgen')\nexcept SystemExit:\n    pass\n"
        "print('loaded:', ' '.join(sorted(sys.modules)))"
    )
    subprocess.run([sys.executable, "-m", "generator", "render"], cwd=tmp_path, capture_output=True, check=True)
    result = subprocess.run([sys.executable, "-c", program], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert "stamp matches" in result.stdout or "up to date" in result.stdout
    loaded = result.stdout.rsplit("loaded: ", 1)[1].split()
    assert [module for module in loaded if module.startswith(COMPILE_PATH)] == []
