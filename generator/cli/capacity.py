"""The capacity command: it loads and validates the fleet files and allocates each pool, and compiles nothing,
so it imports none of the manifest or output-tree stages."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..allocation.capacity import capacity_json, capacity_report, capacity_table, over_limit
from ..fleetfiles.load import load_fleets
from ..fleetfiles.rules import validate_fleets
from .options import fleets_option, jobs_option, kubernetes_version_option, pool_option, settings_for
from .report import ExitCode, print_diagnostics


@click.command()
@fleets_option
@pool_option
@kubernetes_version_option
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--fail-above", type=click.FloatRange(0, 100), metavar="PCT", help="Exit 1 past PCT percent use.")
@jobs_option
def capacity(
    fleets: Path,
    pools: tuple[str, ...],
    kubernetes_version: str,
    output_format: str,
    fail_above: float | None,
    jobs: int,
) -> None:
    """Used and free pods, cpu, memory and ports per pool and node, and how many more servers of each fleet fit."""
    settings = settings_for(fleets, pools, kubernetes_version, jobs=jobs)
    validated = validate_fleets(load_fleets(settings.fleets, settings.pools), settings.kubernetes_version)
    if print_diagnostics(validated.diagnostics, fleets=settings.fleets) is ExitCode.FAILED:
        sys.exit(ExitCode.FAILED)
    report = capacity_report(validated.pools, settings.jobs)
    click.echo(capacity_json(report) if output_format == "json" else capacity_table(report), nl=False)
    reasons = over_limit(report, fail_above)
    for reason in reasons:
        click.echo(f"fleetgen: {reason}", err=True)
    sys.exit(ExitCode.FAILED if reasons else ExitCode.OK)
