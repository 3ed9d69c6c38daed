"""Commands that hold the repository against the live cluster: status (its Pods) and probe (its endpoints);
and endpoints, which lists what probe dials."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..cluster.kubectl import STDIN
from ..cluster.pods import stream_pods
from ..cluster.readiness import read_node_readiness
from ..live import probe as dial
from ..live.desired import desired_servers
from ..live.endpoints import endpoint_rows, endpoints_json, endpoints_table
from ..live.placed import PlacedPool, compiled_pools, fleets_of, vouched_pools
from ..live.report import probe_json, probe_table, status_json, status_markdown, status_table
from ..live.status import live_status
from ..settings import Settings
from ..tree.stamp import prior_for
from .options import (
    fleet_option,
    fleets_option,
    known_or_usage_error,
    kubernetes_version_option,
    pods_option,
    pool_option,
    settings_for,
)
from .pipeline import compiled_or_exit
from .report import ExitCode, print_diagnostics

STATUS_FORMATS = {"table": status_table, "json": status_json, "markdown": status_markdown}
PROBE_FORMATS = {"table": probe_table, "json": probe_json}


@click.command()
@fleets_option
@pool_option
@fleet_option
@kubernetes_version_option
@pods_option(required=True)
@click.option(
    "--nodes",
    "nodes_source",
    metavar="FILE|-",
    help="What `kubectl get nodes -o json` prints: a server whose node is absent or not Ready is node-gone.",
)
@click.option("--format", "output_format", type=click.Choice(list(STATUS_FORMATS)), default="table", show_default=True)
def status(
    fleets: Path,
    pools: tuple[str, ...],
    fleet_names: tuple[str, ...],
    kubernetes_version: str,
    pods_source: str,
    nodes_source: str | None,
    output_format: str,
) -> None:
    """Each server's live state (missing, node-gone, wrong-node, outdated, failed, pending, not-ready, ok)
    and the orphaned Pods; exit 1 unless every server is ok and nothing is orphaned."""
    if pods_source == STDIN and nodes_source == STDIN:
        raise click.BadParameter("--pods and --nodes cannot both read stdin", param_hint="--nodes")
    settings = settings_for(fleets, pools, kubernetes_version)
    # The repository first, kept only as the servers' facts: the compile's worker processes (when the stamp
    # does not vouch for it) then do not start with Pods in memory, and its files are let go before the Pods
    # are read. The Pods are judged as they are read, each let go in turn.
    placed = placed_or_exit(settings)
    known_or_usage_error(fleet_names, fleets_of(placed), "--fleet")
    pool_names = [pool.name for pool in placed]
    desired = desired_servers(placed, fleet_names)
    del placed
    nodes, problems = (None, []) if nodes_source is None else read_node_readiness(nodes_source, sys.stdin)
    pods, pod_problems = stream_pods(pods_source, sys.stdin)
    found = live_status(desired, pods, nodes, pool_names, fleet_names)
    if print_diagnostics([*pod_problems, *problems]) is ExitCode.FAILED:
        sys.exit(ExitCode.FAILED)
    click.echo(STATUS_FORMATS[output_format](found), nl=False)
    sys.exit(ExitCode.OK if found.all_ok else ExitCode.FAILED)


@click.command()
@fleets_option
@pool_option
@fleet_option
@kubernetes_version_option
@click.option("--port", "port_names", multiple=True, help="Only the port of this name (repeatable).")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=dial.DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds to wait for each endpoint's answer.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=dial.DEFAULT_CONCURRENCY,
    show_default=True,
    help="Endpoints dialled at once; lowered to what the open-file limit (ulimit -n) allows.",
)
@click.option("--payload", help=f"What a UDP probe sends, as text [default: {dial.DEFAULT_PAYLOAD.decode()!r}].")
@click.option("--payload-hex", metavar="HEX", help="What a UDP probe sends, in hex (a game's query packet).")
@click.option("--format", "output_format", type=click.Choice(list(PROBE_FORMATS)), default="table", show_default=True)
def probe(
    fleets: Path,
    pools: tuple[str, ...],
    fleet_names: tuple[str, ...],
    kubernetes_version: str,
    port_names: tuple[str, ...],
    timeout: float,
    concurrency: int,
    payload: str | None,
    payload_hex: str | None,
    output_format: str,
) -> None:
    """Dial every endpoint `endpoints` lists (TCP: connect; UDP: send the payload, wait for any reply):
    reachable, refused, timeout or unreachable; exit 1 unless all are reachable."""
    datagram = _payload(payload, payload_hex)
    placed = placed_or_exit(settings_for(fleets, pools, kubernetes_version))
    known_or_usage_error(fleet_names, fleets_of(placed), "--fleet")
    known_or_usage_error(port_names, {port for _, _, port in dial.port_protocols(placed)}, "--port")
    allowed = dial.concurrency_limit(concurrency)
    if allowed < concurrency:
        click.echo(
            f"fleetgen: --concurrency {concurrency} lowered to {allowed} by the open-file limit (ulimit -n)", err=True
        )
    results = dial.probe(dial.probe_endpoints(placed, fleet_names, port_names), timeout, allowed, datagram)
    click.echo(PROBE_FORMATS[output_format](results), nl=False)
    reachable = all(result.result is dial.Result.REACHABLE for result in results)
    sys.exit(ExitCode.OK if reachable else ExitCode.FAILED)


def placed_or_exit(settings: Settings) -> list[PlacedPool]:
    """Every pool's servers as `render` places them: from the locks when the stamp vouches for the whole
    repository (the warnings of the render it certifies printed again), else compiled; exit 1 on an error."""
    prior = prior_for(settings)
    placed = vouched_pools(settings, prior)
    if placed is None:
        return compiled_pools(compiled_or_exit(settings))
    if print_diagnostics(prior.diagnostics, fleets=settings.fleets) is ExitCode.FAILED:
        sys.exit(ExitCode.FAILED)
    return placed


def _payload(text: str | None, hex_text: str | None) -> bytes:
    """The UDP payload the options ask for; both, or hex that is not hex, is a usage error."""
    if text is not None and hex_text is not None:
        raise click.BadParameter("give --payload or --payload-hex, not both", param_hint="--payload-hex")
    if hex_text is not None:
        try:
            return bytes.fromhex(hex_text)
        except ValueError:
            raise click.BadParameter(
                f"{hex_text!r} is not hex (pairs of 0-9, a-f)", param_hint="--payload-hex"
            ) from None
    return dial.DEFAULT_PAYLOAD if text is None else text.encode("utf-8")


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
    placed = placed_or_exit(settings_for(fleets, pools, kubernetes_version))
    rows = endpoint_rows(placed, fleet_names)
    click.echo(endpoints_json(rows) if output_format == "json" else endpoints_table(rows), nl=False)
