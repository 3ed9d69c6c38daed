"""Commands that read the repository and compile it: validate, render, check, plan, endpoints, schema."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from functools import partial
from pathlib import Path

import click

from ..diagnostics import Diagnostic, error
from ..fleetfiles.schema import schema_text
from ..manifests.delivery import as_check_errors
from ..settings import Settings
from ..tree import diff, repository, revision, runlock, sinks, stamp
from ..tree.compile import Compiled
from ..tree.plan import plan_markdown, plan_text
from .options import (
    allow_delivery_removal_option,
    compile_options,
    fleet_option,
    fleets_option,
    kubernetes_version_option,
    pool_option,
    settings_for,
    wait_option,
)
from .report import ExitCode, print_diagnostics


def compiled_or_exit(
    settings: Settings, prior: stamp.Prior = stamp.NOTHING, writes: bool = False, deployable: bool = False
) -> Compiled:
    """The compiled repository, its diagnostics printed once; exit 1 when any is an error (with `deployable`,
    also when Argo CD could not clone the repository)."""
    outcome = repository.compile_repository(settings, prior)
    _print_or_exit(settings, outcome.diagnostics, writes, deployable)
    if outcome.compiled is None:
        sys.exit(ExitCode.FAILED)
    return outcome.compiled


def _print_or_exit(settings: Settings, diagnostics: Iterable[Diagnostic], writes: bool, deployable: bool) -> None:
    """Print the diagnostics once (with `deployable`, the warnings that make a repository undeployable as
    errors); exit 1 when any is an error."""
    shown = as_check_errors(diagnostics) if deployable else diagnostics
    if print_diagnostics(shown, writes, settings.fleets) is ExitCode.FAILED:
        sys.exit(ExitCode.FAILED)


def _stale_or_none(
    settings: Settings, up_to_date: str, writes: bool, deployable: bool = False
) -> tuple[Compiled, stamp.Prior] | None:
    """None, having said `up_to_date` and replayed the warnings of the render the stamp certifies, when
    the stamp vouches for everything; else the compiled repository and what the stamp vouched for."""
    prior = repository.prior_for(settings)
    if prior.whole:
        _print_or_exit(settings, prior.diagnostics, writes, deployable)
        click.echo(up_to_date)
        return None
    return compiled_or_exit(settings, prior, writes, deployable), prior


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


def hold_run_lock(fleets: Path, wait: float) -> None:
    """Hold the repository's run lock until the running command ends (an edit's render runs under the
    edit's); exit 1 when another run keeps it past `wait` seconds."""
    ctx = click.get_current_context()
    held = runlock.acquire(fleets, f"fleetgen {ctx.info_name}", wait, partial(click.echo, err=True))
    if isinstance(held, Diagnostic):
        print_diagnostics([held], writes=True)
        sys.exit(ExitCode.FAILED)
    if held is not None:
        ctx.call_on_close(held.release)


@click.command()
@compile_options
@allow_delivery_removal_option
@wait_option
def render(
    fleets: Path,
    out: Path,
    pools: tuple[str, ...],
    kubernetes_version: str,
    jobs: int,
    allow_delivery_removal: bool,
    wait: float,
) -> None:
    """Write rendered/ and the pools' allocations.lock files."""
    settings = settings_for(fleets, pools, kubernetes_version, out, jobs)
    hold_run_lock(settings.fleets, wait)
    found = _stale_or_none(
        settings, "wrote 0 files: nothing changed since the last render (its stamp matches)", writes=True
    )
    if found is None:
        return
    compiled, prior = found
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


@click.command()
@compile_options
@click.option("--diff", "show_diff", is_flag=True, help="Print a unified diff of each stale file (bounded).")
def check(fleets: Path, out: Path, pools: tuple[str, ...], kubernetes_version: str, jobs: int, show_diff: bool) -> None:
    """Exit 1 when rendered/ or a lock is not what render would write."""
    settings = settings_for(fleets, pools, kubernetes_version, out, jobs)
    found = _stale_or_none(settings, f"{settings.out}: up to date", writes=False, deployable=True)
    if found is None:
        return
    staleness = sinks.compare(found[0], settings.out, settings.pools)
    if show_diff:
        for line in diff.diff_lines(diff.stale_files(found[0], settings.out, staleness)):
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
    compiled = compiled_or_exit(settings, repository.prior_for(settings) if at is None else stamp.NOTHING)
    plans = sinks.describe(compiled, settings.out, settings.pools, at)
    click.echo(plan_markdown(plans) if output_format == "markdown" else plan_text(plans), nl=False)


@click.command()
@fleets_option
@pool_option
@kubernetes_version_option
@fleet_option
@click.option("--format", "output_format", type=click.Choice(["json", "table"]), default="table", show_default=True)
def endpoints(
    fleets: Path, pools: tuple[str, ...], kubernetes_version: str, fleet_names: tuple[str, ...], output_format: str
) -> None:
    """Print every server's address and ports, as the pool's endpoints ConfigMaps hold them."""
    compiled = compiled_or_exit(settings_for(fleets, pools, kubernetes_version))
    rows = sinks.endpoint_rows(compiled, fleet_names)
    click.echo(sinks.endpoints_json(rows) if output_format == "json" else sinks.endpoints_table(rows), nl=False)


@click.command()
@kubernetes_version_option
def schema(kubernetes_version: str) -> None:
    """Print the JSON Schema of fleet files (for yaml-language-server and other editors)."""
    settings = settings_for(Path("fleets"), (), kubernetes_version)
    click.echo(schema_text(settings.kubernetes_version), nl=False)
