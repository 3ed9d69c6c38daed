"""`fleetgen --help` and `--version` start without loading the pipeline, and say exactly what they said."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from generator.cli import COMMANDS, cli

PIPELINE = ("generator.cli.repository", "generator.cli.edits", "generator.cli.live", "generator.kube", "pydantic")


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
