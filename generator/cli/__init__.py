"""CLI: click commands, each a thin shell that builds settings, calls a stage, prints and exits.

`repository` holds the commands that compile the repository, `edits` those that write fleet files, `nodes`
the node sync, `live` those that hold the repository against the live cluster (status, probe), `rollout`
the rollout group (status, next wave, undo); `options` defines every shared option once, `report` prints
diagnostics and knows the exit codes.
"""

from __future__ import annotations

import gc
import sys

import click

from . import edits, live, nodes, repository, rollout
from .report import ExitCode


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fleetgen")
def cli() -> None:
    """Compile game-server fleet files into deterministic Kubernetes manifests with pre-assigned hostPorts."""


for _command in (
    repository.validate,
    repository.render,
    repository.check,
    repository.plan,
    repository.endpoints,
    repository.schema,
    edits.init,
    repository.capacity,
    live.status,
    live.probe,
    edits.scale,
    edits.cordon,
    edits.uncordon,
    edits.add_node,
    edits.remove_node,
    edits.import_agones,
    nodes.nodes,
    rollout.rollout,
):
    cli.add_command(_command)


def main() -> None:
    """Entry point: usage errors exit 2 (click), bad input 1, and a bug says so instead of a traceback."""
    # A one-shot process that builds 150,000 servers' worth of small objects and frees them at exit:
    # the cyclic collector's frequent passes cost a third of the run and find nothing to free.
    gc.set_threshold(500_000, 50, 50)
    try:
        cli(standalone_mode=True)
    except Exception as problem:
        click.echo(f"fleetgen: internal error: {problem!r}; please report it with the input that caused it", err=True)
        sys.exit(ExitCode.INTERNAL)
