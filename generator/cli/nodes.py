"""`fleetgen nodes sync`: make pools' node lists what the cluster's Nodes are, from what kubectl prints."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..cluster.kubectl import STDIN, Objects, read_objects, read_text
from ..diagnostics import error
from ..edits import edit, node_sync
from .edits import edit_options, finish_edit
from .options import settings_for
from .report import ExitCode, print_diagnostics
from .repository import hold_run_lock


@click.group()
def nodes() -> None:
    """Keep pools' nodes true to the cluster's Nodes."""


@nodes.command()
@click.argument("pools", nargs=-1, metavar="POOL...")
@click.option(
    "--from",
    "source",
    default=STDIN,
    show_default="stdin",
    metavar="FILE|-",
    help="What `kubectl get nodes -o json` (or -o yaml) prints.",
)
@click.option("--all", "every", is_flag=True, help="Every pool whose pool.yaml has spec.nodeDiscovery.")
@click.option("--dry-run", is_flag=True, help="Print what would change and the plan; write nothing.")
@edit_options
def sync(ctx: click.Context, pools: tuple[str, ...], source: str, every: bool, dry_run: bool, **options: Any) -> None:
    """Rewrite the nodes of each POOL's pool.yaml from the cluster's Nodes that its nodeDiscovery selects
    (comments and every other byte kept), then render and print the plan."""
    if bool(pools) == every:
        raise click.UsageError("name the pools to sync, or pass --all (not both)")
    settings = settings_for(options["fleets"], pools, options["kubernetes_version"], options["out"])
    read = _node_list(source)
    if not dry_run:
        hold_run_lock(settings.fleets, options["wait"])
    prior, loaded = edit.read_repository(settings)  # once, for choosing the pools and checking their sync
    chosen = pools or tuple(node_sync.discovering_pools(loaded))
    if not chosen:
        hint = node_sync.NO_DISCOVERY_HINT
        print_diagnostics([error(str(settings.fleets), 0, 0, "no pool has spec.nodeDiscovery to sync", hint)], True)
        sys.exit(ExitCode.FAILED)
    checked, syncs = node_sync.prepare_sync(settings, chosen, read, (prior, loaded))
    summary = [line for found in syncs for line in found.report]
    no_render = options["no_render"] or not edit.changed(checked)
    finish_edit(ctx, checked, settings, no_render, summary, dry_run)
    if dry_run:
        click.echo("dry run: no file was written", err=True)


def _node_list(source: str) -> Objects:
    """The Nodes of `source` (a path, or - for stdin); exit 1 when it is not a Node list, 2 when stdin is a
    terminal (nothing was piped in)."""
    if source == STDIN and sys.stdin.isatty():
        raise click.UsageError("pipe in what `kubectl get nodes -o json` prints, or pass --from FILE")
    text, problem = read_text(source, sys.stdin)
    read = read_objects(source, text or "", "Node")
    problems = [problem] if problem is not None else read.diagnostics
    if problems:
        print_diagnostics(problems, writes=True)
        sys.exit(ExitCode.FAILED)
    return read
