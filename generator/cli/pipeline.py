"""Commands that compile the repository or read its fleet files: validate, plan, schema;
and what render and check do once the stamp does not vouch for every pool."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..diagnostics import Diagnostic, error
from ..fleetfiles.schema import schema_text
from ..settings import Settings
from ..tree import diff, repository, revision, sinks, stamp
from ..tree.compile import Compiled
from ..tree.plan import plan_markdown, plan_text
from .options import (
    compile_options,
    fleets_option,
    kubernetes_version_option,
    pool_option,
    settings_for,
)
from .report import ExitCode, print_diagnostics, print_or_exit


def compiled_or_exit(
    settings: Settings, prior: stamp.Prior = stamp.NOTHING, writes: bool = False, deployable: bool = False
) -> Compiled:
    """The compiled repository, its diagnostics printed once; exit 1 when any is an error (with `deployable`,
    also when Argo CD could not clone the repository)."""
    outcome = repository.compile_repository(settings, prior)
    print_or_exit(outcome.diagnostics, settings.fleets, writes, deployable)
    if outcome.compiled is None:
        sys.exit(ExitCode.FAILED)
    return outcome.compiled


def render_compiled(settings: Settings, prior: stamp.Prior, allow_delivery_removal: bool) -> None:
    """render, past the stamp: compile what it does not vouch for, write it, stamp the result."""
    compiled = compiled_or_exit(settings, prior, writes=True)
    removals = sinks.delivery_removals(compiled, settings, allow_delivery_removal)
    if print_diagnostics(removals, True, settings.fleets) is ExitCode.FAILED:
        sys.exit(ExitCode.FAILED)
    written = sinks.write(compiled, settings.out, settings.pools)
    if written.blocked:
        print_diagnostics(written.blocked, writes=True)
        sys.exit(ExitCode.FAILED)
    if written.changes.conflicts:
        for conflict in written.changes.conflicts:
            click.echo(f"{settings.out / conflict.path}: {conflict.reason}", err=True)
        click.echo("fleetgen: refusing to write; nothing was changed", err=True)
        sys.exit(ExitCode.FAILED)
    changed = sinks.certify(compiled, settings, prior)
    for record in compiled.records:
        click.echo(record.summary)
    changes = written.changes
    click.echo(
        f"wrote {len(changes.written)} files, removed {len(changes.removed)}, "
        f"{changes.unchanged + compiled.reused_files} unchanged; {len(written.locks)} locks updated"
    )
    if changed:
        hint = f"{settings.out} holds the output of the files as this render read them: run `fleetgen render` again"
        print_diagnostics(error(part, 0, 0, "changed while this render read it", hint) for part in changed)
        sys.exit(ExitCode.FAILED)


def check_compiled(settings: Settings, prior: stamp.Prior, show_diff: bool) -> None:
    """check, past the stamp: compile what it does not vouch for and compare it with rendered/ and the locks."""
    compiled = compiled_or_exit(settings, prior, writes=False, deployable=True)
    staleness = sinks.compare(compiled, settings.out, settings.pools)
    if show_diff:
        for line in diff.diff_lines(diff.stale_files(compiled, settings.out, staleness)):
            click.echo(line)
    problems = staleness.paths + [f"{c.path}: {c.reason}" for c in staleness.changes.conflicts]
    problems += [f"{blocked.path}: {blocked.message}" for blocked in staleness.blocked]
    if not problems:
        click.echo(f"{settings.out}: up to date")
        return
    for line in problems[: sinks.LISTED]:
        click.echo(line, err=True)
    if len(problems) > sinks.LISTED:
        click.echo(f"... and {len(problems) - sinks.LISTED} more", err=True)
    click.echo(f"fleetgen: {len(problems)} stale paths; run `fleetgen render` and commit the result", err=True)
    sys.exit(ExitCode.FAILED)


@click.command()
@fleets_option
@pool_option
@kubernetes_version_option
def validate(fleets: Path, pools: tuple[str, ...], kubernetes_version: str) -> None:
    """Check the fleet files only; exit 1 when any is invalid."""
    settings = settings_for(fleets, pools, kubernetes_version)
    validated, _ = repository.validated_repository(settings)
    code = print_diagnostics(validated.diagnostics, fleets=settings.fleets)
    if code is ExitCode.OK:
        fleet_count = sum(len(pool.fleets) for pool in validated.pools)
        click.echo(f"{settings.fleets}: {len(validated.pools)} pools, {fleet_count} fleets: valid")
    sys.exit(code)


@click.command()
@compile_options
@click.option("--format", "output_format", type=click.Choice(["text", "markdown"]), default="text", show_default=True)
@click.option("--base", metavar="REF", help="Compare with rendered/ and the locks at this git revision, not on disk.")
def plan(
    fleets: Path,
    out: Path,
    pools: tuple[str, ...],
    kubernetes_version: str,
    jobs: int,
    output_format: str,
    base: str | None,
) -> None:
    """Tell what a render would change: servers added, removed, moved, ports changed, restarts."""
    settings = settings_for(fleets, pools, kubernetes_version, out, jobs)
    at = None if base is None else revision.open_revision(settings.fleets, settings.out, base)
    if isinstance(at, Diagnostic):
        sys.exit(print_diagnostics([at]))
    # The stamp vouches for pools against the files on disk, not against another revision's.
    compiled = compiled_or_exit(settings, stamp.prior_for(settings) if at is None else stamp.NOTHING)
    plans = sinks.describe(compiled, settings.out, settings.pools, at)
    click.echo(plan_markdown(plans) if output_format == "markdown" else plan_text(plans), nl=False)


@click.command()
@kubernetes_version_option
def schema(kubernetes_version: str) -> None:
    """Print the JSON Schema of fleet files (for yaml-language-server and other editors)."""
    settings = settings_for(Path("fleets"), (), kubernetes_version)
    click.echo(schema_text(settings.kubernetes_version), nl=False)
