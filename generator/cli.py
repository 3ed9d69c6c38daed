"""CLI: click commands, each a thin shell that builds settings, runs the pipeline and reports."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from . import kube
from .load import load_fleets
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
        raise click.BadParameter(f"{kubernetes_version!r} is not one of the bundled versions: {supported}",
                                 param_hint="--kubernetes-version")
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
    except Exception as problem:  # noqa: BLE001 - the last line of defence against a traceback
        click.echo(f"fleetgen: internal error: {problem!r}; please report it with the input that caused it",
                   err=True)
        sys.exit(ExitCode.INTERNAL)
