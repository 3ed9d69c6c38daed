"""CLI: click commands, each a thin shell that builds settings, runs the pipeline and reports."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from . import kube, sinks
from .diagnostics import has_errors
from .load import load_fleets
from .pipeline import Compiled, compile_pools
from .plan import plan_markdown, plan_text
from .report import ExitCode, print_diagnostics
from .rules import validate_fleets
from .schema import schema_text
from .settings import Settings


def _version_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--kubernetes-version",
        default=kube.latest_version,
        show_default="newest bundled",
        help="Kubernetes version whose API schemas templates and output are validated against.",
    )(function)


def _fleets_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--fleets",
        "fleets",
        type=click.Path(path_type=Path, file_okay=False),
        default=Path("fleets"),
        show_default=True,
        help="Folder with one sub-folder per node pool.",
    )(function)


def _pool_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--pool", "pools", multiple=True, help="Only this pool (repeatable).")(function)


def _settings(fleets: Path, pools: tuple[str, ...], kubernetes_version: str, out: Path = Path("rendered")) -> Settings:
    resolved = kube.resolve_version(kubernetes_version)
    if resolved is None:
        supported = ", ".join(kube.bundled_versions())
        raise click.BadParameter(
            f"{kubernetes_version!r} is not one of the bundled versions: {supported}", param_hint="--kubernetes-version"
        )
    return Settings(fleets=fleets, out=out, pools=tuple(sorted(set(pools))), kubernetes_version=resolved)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fleetgen")
def cli() -> None:
    """Compile game-server fleet files into deterministic Kubernetes manifests with pre-assigned hostPorts."""


@cli.command()
@_fleets_option
@_pool_option
@_version_option
def validate(fleets: Path, pools: tuple[str, ...], kubernetes_version: str) -> None:
    """Check the fleet files only; exit 1 when any is invalid."""
    settings = _settings(fleets, pools, kubernetes_version)
    validated = validate_fleets(load_fleets(settings.fleets, settings.pools), settings.kubernetes_version)
    code = print_diagnostics(validated.diagnostics)
    if code is ExitCode.OK:
        fleet_count = sum(len(pool.fleets) for pool in validated.pools)
        click.echo(f"{settings.fleets}: {len(validated.pools)} pools, {fleet_count} fleets: valid")
    sys.exit(code)


def _out_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--out",
        type=click.Path(path_type=Path, file_okay=False),
        default=Path("rendered"),
        show_default=True,
        help="Folder Argo CD or Flux applies; fleetgen owns the pool folders inside it.",
    )(function)


def _compile(settings: Settings) -> Compiled | None:
    """Load, validate and compile; print every diagnostic once. None when there was an error."""
    validated = validate_fleets(load_fleets(settings.fleets, settings.pools), settings.kubernetes_version)
    if has_errors(validated.diagnostics):
        print_diagnostics(validated.diagnostics)
        return None
    compiled = compile_pools(validated, settings.kubernetes_version)
    return None if print_diagnostics(compiled.diagnostics) is ExitCode.FAILED else compiled


@cli.command()
@_fleets_option
@_out_option
@_pool_option
@_version_option
def render(fleets: Path, out: Path, pools: tuple[str, ...], kubernetes_version: str) -> None:
    """Write rendered/ and the pools' allocations.lock files."""
    settings = _settings(fleets, pools, kubernetes_version, out)
    compiled = _compile(settings)
    if compiled is None:
        sys.exit(ExitCode.FAILED)
    written = sinks.write(compiled, settings.out, settings.pools)
    if written.changes.conflicts:
        for conflict in written.changes.conflicts:
            click.echo(f"{settings.out / conflict.path}: {conflict.reason}", err=True)
        click.echo("fleetgen: refusing to write; nothing was changed", err=True)
        sys.exit(ExitCode.FAILED)
    for pool in compiled.pools:
        click.echo(sinks.pool_summary(pool))
    changes = written.changes
    click.echo(
        f"wrote {len(changes.written)} files, removed {len(changes.removed)}, "
        f"{changes.unchanged} unchanged; {len(written.locks)} locks updated"
    )


@cli.command()
@_fleets_option
@_out_option
@_pool_option
@_version_option
def check(fleets: Path, out: Path, pools: tuple[str, ...], kubernetes_version: str) -> None:
    """Exit 1 when rendered/ or a lock is not what render would write."""
    settings = _settings(fleets, pools, kubernetes_version, out)
    compiled = _compile(settings)
    if compiled is None:
        sys.exit(ExitCode.FAILED)
    staleness = sinks.compare(compiled, settings.out, settings.pools)
    problems = staleness.paths + [f"{c.path}: {c.reason}" for c in staleness.changes.conflicts]
    if not problems:
        click.echo(f"{settings.out}: up to date")
        return
    for line in problems[: sinks.LISTED]:
        click.echo(line, err=True)
    if len(problems) > sinks.LISTED:
        click.echo(f"... and {len(problems) - sinks.LISTED} more", err=True)
    click.echo(f"fleetgen: {len(problems)} stale paths; run `fleetgen render` and commit the result", err=True)
    sys.exit(ExitCode.FAILED)


@cli.command()
@_fleets_option
@_out_option
@_pool_option
@_version_option
@click.option("--format", "output_format", type=click.Choice(["text", "markdown"]), default="text", show_default=True)
def plan(fleets: Path, out: Path, pools: tuple[str, ...], kubernetes_version: str, output_format: str) -> None:
    """Tell what a render would change: servers added, removed, moved, ports changed, restarts."""
    settings = _settings(fleets, pools, kubernetes_version, out)
    compiled = _compile(settings)
    if compiled is None:
        sys.exit(ExitCode.FAILED)
    plans = sinks.describe(compiled, settings.out, settings.pools)
    click.echo(plan_markdown(plans) if output_format == "markdown" else plan_text(plans), nl=False)


@cli.command()
@_fleets_option
@_pool_option
@_version_option
@click.option("--fleet", "fleet_names", multiple=True, help="Only this fleet (repeatable).")
@click.option("--format", "output_format", type=click.Choice(["json", "table"]), default="table", show_default=True)
def endpoints(
    fleets: Path, pools: tuple[str, ...], kubernetes_version: str, fleet_names: tuple[str, ...], output_format: str
) -> None:
    """Print every server's address and ports, as the pool's endpoints ConfigMaps hold them."""
    settings = _settings(fleets, pools, kubernetes_version)
    compiled = _compile(settings)
    if compiled is None:
        sys.exit(ExitCode.FAILED)
    rows = sinks.endpoint_rows(compiled, fleet_names)
    click.echo(sinks.endpoints_json(rows) if output_format == "json" else sinks.endpoints_table(rows), nl=False)


@cli.command()
@_version_option
def schema(kubernetes_version: str) -> None:
    """Print the JSON Schema of fleet files (for yaml-language-server and other editors)."""
    settings = _settings(Path("fleets"), (), kubernetes_version)
    click.echo(schema_text(settings.kubernetes_version), nl=False)


def main() -> None:
    """Entry point: usage errors exit 2 (click), bad input 1, and a bug says so instead of a traceback."""
    try:
        cli(standalone_mode=True)
    except Exception as problem:
        click.echo(f"fleetgen: internal error: {problem!r}; please report it with the input that caused it", err=True)
        sys.exit(ExitCode.INTERNAL)
