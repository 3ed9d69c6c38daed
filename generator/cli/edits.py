"""Commands that write fleet files: init, the day-2 edits (scale, cordon, nodes), and the Agones import."""

from __future__ import annotations

import dataclasses
import sys
import tempfile
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import click

from ..diagnostics import Diagnostic, format_diagnostic
from ..edits import agones, edit, scaffold
from ..edits.edit import Checked, FileEdit, Proposal
from ..manifests.delivery_check import PLACEHOLDER_REPO_URL
from ..settings import Settings
from ..tree.plan import plan_text
from .options import fleets_option, kubernetes_version_option, out_option, pool_and_name, settings_for, wait_option
from .report import ExitCode, print_diagnostics
from .repository import hold_run_lock, render


@click.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False), default=Path("."))
@click.option("--repo-url", default=PLACEHOLDER_REPO_URL, show_default=True, help="URL Argo CD clones.")
@click.option(
    "--install-from",
    "requirement",
    default=None,
    show_default="where this fleetgen was installed from",
    help="pip requirement the fleet-check workflow installs fleetgen from.",
)
@kubernetes_version_option
def init(directory: Path, repo_url: str, requirement: str | None, kubernetes_version: str) -> None:
    """Scaffold a fleet repository in DIRECTORY: an example pool, fleets/gitops.yaml, the workflow, README."""
    settings = settings_for(directory / "fleets", (), kubernetes_version, directory / "rendered")
    if requirement is not None and (not requirement.strip() or any(c in requirement for c in "\r\n")):
        raise click.BadParameter("give one pip requirement on one line", param_hint="--install-from")
    installed = scaffold.Installed(requirement) if requirement else scaffold.installed_fleetgen()
    name = scaffold.repository_name(directory)
    files = scaffold.scaffold_files(name, repo_url, installed.requirement, settings.kubernetes_version)
    outcome = scaffold.write_new(directory, files)
    for path in outcome.kept:
        click.echo(f"{directory / path}: exists, left alone", err=True)
    if scaffold.WORKFLOW in outcome.written:
        print_diagnostics(scaffold.install_warnings(installed, directory / scaffold.WORKFLOW))
    click.echo(f"wrote {len(outcome.written)} files in {directory}; next: cd there, `fleetgen render`, commit")


def edit_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """What every in-place edit takes besides its own arguments; the command passes them on as **options."""
    help_text = "Edit and print the plan, but leave rendered/ and the lock for a later `fleetgen render`."
    function = click.option("--no-render", is_flag=True, help=help_text)(function)
    return click.pass_context(fleets_option(out_option(kubernetes_version_option(wait_option(function)))))


def _apply_edit(ctx: click.Context, pool: str, propose: Callable[..., Proposal], **options: Any) -> None:
    """Write an edit that validates and compiles, render, print the plan; a refused edit writes nothing, exit 1.

    `propose(loaded, root)` says what to write; `options` are the ones `edit_options` adds. The run lock is
    held from before the fleet files are read until the render's stamp is written.
    """
    hold_run_lock(options["fleets"], options["wait"])
    settings = settings_for(options["fleets"], (pool,), options["kubernetes_version"], options["out"])
    checked = edit.prepare(settings, pool, partial(propose, root=settings.fleets))
    finish_edit(ctx, checked, settings, options["no_render"], edit.summary_lines(checked))


def finish_edit(
    ctx: click.Context, checked: Checked, settings: Settings, no_render: bool, summary: list[str], dry_run: bool = False
) -> None:
    """Write a checked edit (unless `dry_run`), print `summary`, render (unless `no_render`), print the plan;
    a refused edit writes nothing and exits 1."""
    problems = [] if checked.refused or dry_run else edit.write(checked)
    shown = checked.diagnostics if no_render or dry_run or checked.refused else checked.proposal.notes
    for line in _formatted([*shown, *problems], checked.proposal.edits):
        click.echo(line, err=True)
    if checked.refused or problems:
        click.echo("fleetgen: edit refused; no file was changed", err=True)
        sys.exit(ExitCode.FAILED)
    for line in summary:
        click.echo(line)
    if not (no_render or dry_run):
        out, version = settings.out, settings.kubernetes_version
        try:
            ctx.invoke(render, fleets=settings.fleets, out=out, kubernetes_version=version)
        except SystemExit as stop:
            if stop.code:
                click.echo("fleetgen: the edit was written, but the render failed; fix that, then render", err=True)
            raise
    click.echo(plan_text(checked.plans), nl=False)


@click.command()
@click.argument("target", metavar="POOL/FLEET")
@click.argument("replicas", type=click.IntRange(min=0))
@edit_options
def scale(ctx: click.Context, target: str, replicas: int, **options: Any) -> None:
    """Set a fleet's replicas in its file (no other byte changes), then render and print the plan."""
    pool, fleet = pool_and_name(target, "FLEET")
    _apply_edit(ctx, pool, partial(edit.scale, pool=pool, fleet=fleet, replicas=replicas), **options)


def _cordon_command(name: str, cordoned: bool, summary: str) -> click.Command:
    @click.command(name, help=summary)
    @click.argument("target", metavar="POOL/NODE")
    @edit_options
    def command(ctx: click.Context, target: str, **options: Any) -> None:
        pool, node = pool_and_name(target, "NODE")
        _apply_edit(ctx, pool, partial(edit.set_cordon, pool=pool, node=node, cordoned=cordoned), **options)

    return command


cordon = _cordon_command(
    "cordon", True, "Mark a node unschedulable in pool.yaml: its servers move to other nodes on this render."
)
uncordon = _cordon_command(
    "uncordon", False, "Make a cordoned node schedulable again (servers that moved off stay where they are)."
)


def _labels(pairs: tuple[str, ...]) -> dict[str, str]:
    labels = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--label")
        labels[key] = value
    return labels


@click.command("add-node")
@click.argument("pool")
@click.argument("name")
@click.option("--address", required=True, help="External IPv4 or IPv6 address that clients dial.")
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE", help="A node label (repeatable).")
@click.option("--pods", type=click.IntRange(min=0), help="Capacity: most Pods on the node (default 110).")
@click.option("--cpu", help="Capacity: allocatable cpu, a Kubernetes quantity such as 32 or 15500m.")
@click.option("--memory", help="Capacity: allocatable memory, a Kubernetes quantity such as 128Gi.")
@click.option("--cordoned", is_flag=True, help="Add the node cordoned (unschedulable).")
@edit_options
def add_node(ctx: click.Context, pool: str, name: str, labels: tuple[str, ...], **options: Any) -> None:
    """Append a node to a pool's spec.nodes, indented like the others, then render and print the plan."""
    capacity = {key: options.pop(key) for key in ("pods", "cpu", "memory")}
    node = edit.node_entry(name, options.pop("address"), _labels(labels), capacity, options.pop("cordoned"))
    _apply_edit(ctx, pool, partial(edit.add_node, pool=pool, node=node), **options)


@click.command("remove-node")
@click.argument("target", metavar="POOL/NODE")
@edit_options
def remove_node(ctx: click.Context, target: str, **options: Any) -> None:
    """Remove a node (and its own comments) from pool.yaml: its servers are placed again on this render."""
    pool, node = pool_and_name(target, "NODE")
    _apply_edit(ctx, pool, partial(edit.remove_node, pool=pool, node=node), **options)


@click.command("import-agones")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--pool", required=True, help="The pool folder the fleets go to; it must exist.")
@click.option("--force", is_flag=True, help="Replace fleet files that already exist.")
@click.option("--no-sdk", is_flag=True, help="Run no Agones SDK server beside the servers (no spec.sdk.agones).")
@edit_options
def import_agones(
    ctx: click.Context, files: tuple[Path, ...], pool: str, force: bool, no_sdk: bool, **options: Any
) -> None:
    """Write fleets/POOL/<fleet>.yaml from Agones Fleet and GameServer manifests (kubectl's output too);
    unmapped fields are listed."""
    propose = partial(agones.import_files, pool=pool, files=files, force=force, sdk=not no_sdk)
    _apply_edit(ctx, pool, propose, **options)


def _formatted(diagnostics: Sequence[Diagnostic], edits: Sequence[FileEdit]) -> list[str]:
    """Each diagnostic as `file:line:col`, with its source line taken from the edited text when the file was
    edited (the file on disk still holds the old text, or does not exist yet)."""
    shown = []
    with tempfile.TemporaryDirectory(prefix="fleetgen-edit-") as scratch:
        copies = {}
        for number, edit in enumerate(edits):
            copy = Path(scratch) / f"{number}.yaml"
            copy.write_text(edit.after, encoding="utf-8")
            copies[str(edit.path)] = str(copy)
        for diagnostic in sorted(diagnostics):
            copy = copies.get(diagnostic.path)
            if copy is None or not diagnostic.line:
                shown.append(format_diagnostic(diagnostic))
            else:
                text = format_diagnostic(dataclasses.replace(diagnostic, path=copy))
                shown.append(diagnostic.path + text[len(copy) :])
    return shown
