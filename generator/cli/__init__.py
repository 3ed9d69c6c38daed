"""CLI: click commands, each a thin shell that builds settings, calls a stage, prints and exits.

`repository` holds render and check, which end early when the stamp vouches for every pool; `pipeline` what
they do past it, and the other commands that compile the repository or read its fleet files; `capacity` the
one that only allocates; `edits` those that write fleet files, `nodes` the node sync, `live` those that read
the servers as placed, from the locks the stamp vouches for (endpoints) and hold them against the live
cluster (status, probe), `rollout` the rollout group (status, next wave, undo); `options` defines every
shared option once, `report` prints diagnostics, `exit_codes` names what commands exit with.
"""

from __future__ import annotations

import gc
import importlib
import sys
from typing import NamedTuple

import click

from .exit_codes import ExitCode

__version__ = "0.1.0"  # the distribution's: pyproject.toml reads it from here, and --version prints it


class LazyCommand(NamedTuple):
    """Where a command lives, and the first paragraph of its help (what `fleetgen --help` shows of it)."""

    module: str
    attribute: str
    summary: str


# By name; `fleetgen --help` lists them sorted, as click does. A test holds each summary to the command's help.
COMMANDS = {
    "validate": LazyCommand("pipeline", "validate", "Check the fleet files only; exit 1 when any is invalid."),
    "render": LazyCommand("repository", "render", "Write rendered/ and the pools' allocations.lock files."),
    "check": LazyCommand("repository", "check", "Exit 1 when rendered/ or a lock is not what render would write."),
    "plan": LazyCommand(
        "pipeline",
        "plan",
        "Tell what a render would change: servers added, removed, moved, ports changed, restarts.",
    ),
    "endpoints": LazyCommand(
        "live",
        "endpoints",
        "Print every server's address and ports, as the pool's endpoints ConfigMaps hold them.",
    ),
    "schema": LazyCommand(
        "pipeline", "schema", "Print the JSON Schema of fleet files (for yaml-language-server and other editors)."
    ),
    "init": LazyCommand(
        "edits",
        "init",
        "Scaffold a fleet repository in DIRECTORY: an example pool, fleets/gitops.yaml, the workflow, README.",
    ),
    "capacity": LazyCommand(
        "capacity",
        "capacity",
        "Used and free pods, cpu, memory and ports per pool and node, and how many more servers of each fleet fit.",
    ),
    "status": LazyCommand(
        "live",
        "status",
        "Each server's live state (missing, node-gone, wrong-node, outdated, failed, pending, not-ready, ok) "
        "and the orphaned Pods; exit 1 unless every server is ok and nothing is orphaned.",
    ),
    "probe": LazyCommand(
        "live",
        "probe",
        "Dial every endpoint `endpoints` lists (TCP: connect; UDP: send the payload, wait for any reply): "
        "reachable, refused, timeout or unreachable; exit 1 unless all are reachable.",
    ),
    "scale": LazyCommand(
        "edits", "scale", "Set a fleet's replicas in its file (no other byte changes), then render and print the plan."
    ),
    "cordon": LazyCommand(
        "edits", "cordon", "Mark a node unschedulable in pool.yaml: its servers move to other nodes on this render."
    ),
    "uncordon": LazyCommand(
        "edits", "uncordon", "Make a cordoned node schedulable again (servers that moved off stay where they are)."
    ),
    "add-node": LazyCommand(
        "edits",
        "add_node",
        "Append a node to a pool's spec.nodes, indented like the others, then render and print the plan.",
    ),
    "remove-node": LazyCommand(
        "edits",
        "remove_node",
        "Remove a node (and its own comments) from pool.yaml: its servers are placed again on this render.",
    ),
    "import-agones": LazyCommand(
        "edits",
        "import_agones",
        "Write fleets/POOL/<fleet>.yaml from Agones Fleet and GameServer manifests (kubectl's output too); "
        "unmapped fields are listed.",
    ),
    "nodes": LazyCommand("nodes", "nodes", "Keep pools' nodes true to the cluster's Nodes."),
    "rollout": LazyCommand(
        "rollout",
        "rollout",
        "Roll a fleet's template change out in waves (spec.rollout), see where it stands, go back.",
    ),
}


class LazyGroup(click.Group):
    """A group that imports a command's module when that command runs: `--help` and `--version` then start
    without the pipeline (pydantic, jsonschema, the Kubernetes schemas), which is most of a run's start-up."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        lazy = COMMANDS.get(cmd_name)
        if lazy is None:
            return None
        module = importlib.import_module(f"{__name__}.{lazy.module}")
        command: click.Command = getattr(module, lazy.attribute)
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """As click resolves it, with the did-you-mean drawn from every command, loaded or not."""
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.NoSuchCommand:
            raise click.exceptions.NoSuchCommand(args[0], possibilities=list(COMMANDS), ctx=ctx) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from the summaries, shortened by click's own rule, so no command module loads."""
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [
            (name, click.Command(name, help=COMMANDS[name].summary).get_short_help_str(limit))
            for name in sorted(COMMANDS)
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=__version__)
def cli() -> None:
    """Compile game-server fleet files into deterministic Kubernetes manifests with pre-assigned hostPorts."""


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
