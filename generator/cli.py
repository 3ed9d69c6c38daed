"""CLI: click commands, each a thin shell that builds settings, runs the pipeline and reports."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import click

from . import agones, edit, kube, scaffold, sinks, stamp
from .capacity import capacity_json, capacity_report, capacity_table, over_limit
from .delivery import GitOpsSource, parse_gitops
from .diagnostics import has_errors
from .edit import Proposal
from .load import load_fleets, load_gitops
from .pipeline import Compiled, compile_pools
from .plan import plan_markdown, plan_text
from .record import PoolRecord, pools_overlap
from .report import ExitCode, diagnostics_text, print_diagnostics
from .rules import Validated, validate_fleets
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


def _jobs_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--jobs",
        type=click.IntRange(min=0),
        default=0,
        show_default="one per core from 10,000 servers",
        help="Processes to compile pools on; the output is the same whatever the number.",
    )(function)


def _settings(
    fleets: Path, pools: tuple[str, ...], kubernetes_version: str, out: Path = Path("rendered"), jobs: int = 0
) -> Settings:
    resolved = kube.resolve_version(kubernetes_version)
    if resolved is None:
        supported = ", ".join(kube.bundled_versions())
        raise click.BadParameter(
            f"{kubernetes_version!r} is not one of the bundled versions: {supported}", param_hint="--kubernetes-version"
        )
    return Settings(fleets=fleets, out=out, pools=tuple(sorted(set(pools))), kubernetes_version=resolved, jobs=jobs)


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
    validated, _ = _validated(settings)
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


def _validated(settings: Settings, reused: Sequence[PoolRecord] = ()) -> tuple[Validated, GitOpsSource | None]:
    """The fleet files and fleets/gitops.yaml, checked together so that every problem prints once; the
    folders of `reused` pools are not read."""
    skipped = {record.name for record in reused}
    loaded = load_fleets(settings.fleets, settings.pools, skipped)
    validated = validate_fleets(loaded, settings.kubernetes_version)
    documents, found = load_gitops(settings.fleets)
    pool_names = None if settings.pools else [*(pool.name for pool in loaded.pools), *skipped]
    gitops, more = parse_gitops(documents, validated.pools, pool_names)
    return replace(validated, diagnostics=tuple(sorted({*validated.diagnostics, *found, *more}))), gitops


def _compile(settings: Settings, prior: stamp.Prior = stamp.NOTHING) -> Compiled | None:
    """Load, validate and compile (all but the pools `prior` vouches for); print every diagnostic once.
    None when there was an error.

    The rules that span pools see a reused pool only through its record, so on any error, or when a record
    says that two pools share a node or a namespace, every pool is read again: the diagnostics then name
    both places, exactly as a render from nothing would.
    """
    validated, gitops = _validated(settings, prior.reused)
    if prior.reused and has_errors(validated.diagnostics):
        return _compile(settings)
    if has_errors(validated.diagnostics):
        print_diagnostics(validated.diagnostics)
        return None
    compiled = compile_pools(validated, settings.kubernetes_version, gitops, prior.reused, settings.jobs)
    if prior.reused and pools_overlap(compiled.records):
        return _compile(settings)
    return None if print_diagnostics(compiled.diagnostics) is ExitCode.FAILED else compiled


def _prior(settings: Settings) -> stamp.Prior:
    """What the stamp vouches for; a --pool run trusts nothing."""
    return stamp.NOTHING if settings.pools else stamp.prior(settings.fleets, settings.out, settings.stamp_key)


def _unchanged(prior: stamp.Prior) -> bool:
    """True when the stamp vouches for everything: the warnings of the render it certifies print again."""
    if prior.whole:
        click.echo(diagnostics_text(prior.diagnostics), err=True, nl=False)
    return prior.whole


@cli.command()
@_fleets_option
@_out_option
@_pool_option
@_version_option
@_jobs_option
def render(fleets: Path, out: Path, pools: tuple[str, ...], kubernetes_version: str, jobs: int) -> None:
    """Write rendered/ and the pools' allocations.lock files."""
    settings = _settings(fleets, pools, kubernetes_version, out, jobs)
    prior = _prior(settings)
    if _unchanged(prior):
        click.echo("wrote 0 files: nothing changed since the last render (its stamp matches)")
        return
    compiled = _compile(settings, prior)
    if compiled is None:
        sys.exit(ExitCode.FAILED)
    written = sinks.write(compiled, settings.out, settings.pools)
    if written.changes.conflicts:
        for conflict in written.changes.conflicts:
            click.echo(f"{settings.out / conflict.path}: {conflict.reason}", err=True)
        click.echo("fleetgen: refusing to write; nothing was changed", err=True)
        sys.exit(ExitCode.FAILED)
    sinks.certify(compiled, settings, prior)
    for record in compiled.records:
        click.echo(record.summary)
    changes = written.changes
    click.echo(
        f"wrote {len(changes.written)} files, removed {len(changes.removed)}, "
        f"{changes.unchanged + compiled.reused_files} unchanged; {len(written.locks)} locks updated"
    )


@cli.command()
@_fleets_option
@_out_option
@_pool_option
@_version_option
@_jobs_option
def check(fleets: Path, out: Path, pools: tuple[str, ...], kubernetes_version: str, jobs: int) -> None:
    """Exit 1 when rendered/ or a lock is not what render would write."""
    settings = _settings(fleets, pools, kubernetes_version, out, jobs)
    prior = _prior(settings)
    if _unchanged(prior):
        click.echo(f"{settings.out}: up to date")
        return
    compiled = _compile(settings, prior)
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
@_jobs_option
@click.option("--format", "output_format", type=click.Choice(["text", "markdown"]), default="text", show_default=True)
def plan(
    fleets: Path, out: Path, pools: tuple[str, ...], kubernetes_version: str, jobs: int, output_format: str
) -> None:
    """Tell what a render would change: servers added, removed, moved, ports changed, restarts."""
    settings = _settings(fleets, pools, kubernetes_version, out, jobs)
    compiled = _compile(settings, _prior(settings))
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


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False), default=Path("."))
@click.option("--repo-url", default=scaffold.DEFAULT_REPO_URL, show_default=True, help="URL Argo CD clones.")
@click.option(
    "--install-from",
    "requirement",
    default=None,
    show_default="this fleetgen's version",
    help="pip requirement the fleet-check workflow installs fleetgen from.",
)
@_version_option
def init(directory: Path, repo_url: str, requirement: str | None, kubernetes_version: str) -> None:
    """Scaffold a fleet repository in DIRECTORY: an example pool, fleets/gitops.yaml, the workflow, README."""
    settings = _settings(directory / "fleets", (), kubernetes_version, directory / "rendered")
    name = scaffold.repository_name(directory)
    files = scaffold.scaffold_files(
        name, repo_url, requirement or scaffold.default_requirement(), settings.kubernetes_version
    )
    outcome = scaffold.write_new(directory, files)
    for path in outcome.kept:
        click.echo(f"{directory / path}: exists, left alone", err=True)
    click.echo(f"wrote {len(outcome.written)} files in {directory}; next: cd there, `fleetgen render`, commit")


# --- Day-2 operations: capacity, in-place edits, Agones import (the logic lives in capacity, edit, agones) ---


@cli.command()
@_fleets_option
@_pool_option
@_version_option
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--fail-above", type=click.FloatRange(0, 100), metavar="PCT", help="Exit 1 past PCT percent use.")
@_jobs_option
def capacity(
    fleets: Path,
    pools: tuple[str, ...],
    kubernetes_version: str,
    output_format: str,
    fail_above: float | None,
    jobs: int,
) -> None:
    """Used and free pods, cpu, memory and ports per pool and node, and how many more servers of each fleet fit."""
    settings = _settings(fleets, pools, kubernetes_version, jobs=jobs)
    validated = validate_fleets(load_fleets(settings.fleets, settings.pools), settings.kubernetes_version)
    if print_diagnostics(validated.diagnostics) is ExitCode.FAILED:
        sys.exit(ExitCode.FAILED)
    report = capacity_report(validated.pools, settings.jobs)
    click.echo(capacity_json(report) if output_format == "json" else capacity_table(report), nl=False)
    reasons = over_limit(report, fail_above)
    for reason in reasons:
        click.echo(f"fleetgen: {reason}", err=True)
    sys.exit(ExitCode.FAILED if reasons else ExitCode.OK)


def _edit_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """What every in-place edit takes besides its own arguments; the command passes them on as **options."""
    help_text = "Edit and print the plan, but leave rendered/ and the lock for a later `fleetgen render`."
    function = click.option("--no-render", is_flag=True, help=help_text)(function)
    return click.pass_context(_fleets_option(_out_option(_version_option(function))))


def _target(value: str, what: str) -> tuple[str, str]:
    pool, slash, name = value.partition("/")
    if not (pool and slash and name):
        raise click.BadParameter(f"{value!r} is not POOL/{what}", param_hint=f"POOL/{what}")
    return pool, name


def _apply_edit(ctx: click.Context, pool: str, propose: Callable[..., Proposal], **options: Any) -> None:
    """Write an edit that validates and compiles, render, print the plan; a refused edit writes nothing, exit 1.

    `propose(loaded, root)` says what to write; `options` are the ones `_edit_options` adds.
    """
    fleets, no_render = options["fleets"], options["no_render"]
    settings = _settings(fleets, (pool,), options["kubernetes_version"], options["out"])
    checked = edit.prepare(settings, pool, partial(propose, root=fleets))
    problems = [] if checked.refused else edit.write(checked)
    shown = checked.diagnostics if no_render or checked.refused else checked.proposal.notes
    for line in edit.formatted([*shown, *problems], checked.proposal.edits):
        click.echo(line, err=True)
    if checked.refused or problems:
        click.echo("fleetgen: edit refused; no file was changed", err=True)
        sys.exit(ExitCode.FAILED)
    for line in edit.summary_lines(checked):
        click.echo(line)
    if not no_render:
        try:
            ctx.invoke(render, fleets=fleets, out=settings.out, kubernetes_version=settings.kubernetes_version)
        except SystemExit as stop:
            if stop.code:
                click.echo("fleetgen: the edit was written, but the render failed; fix that, then render", err=True)
            raise
    click.echo(plan_text(checked.plans), nl=False)


@cli.command()
@click.argument("target", metavar="POOL/FLEET")
@click.argument("replicas", type=click.IntRange(min=0))
@_edit_options
def scale(ctx: click.Context, target: str, replicas: int, **options: Any) -> None:
    """Set a fleet's replicas in its file (no other byte changes), then render and print the plan."""
    pool, fleet = _target(target, "FLEET")
    _apply_edit(ctx, pool, partial(edit.scale, pool=pool, fleet=fleet, replicas=replicas), **options)


@cli.command()
@click.argument("target", metavar="POOL/NODE")
@_edit_options
def cordon(ctx: click.Context, target: str, **options: Any) -> None:
    """Mark a node unschedulable in pool.yaml: its servers move to other nodes on this render."""
    pool, node = _target(target, "NODE")
    _apply_edit(ctx, pool, partial(edit.set_cordon, pool=pool, node=node, cordoned=True), **options)


@cli.command()
@click.argument("target", metavar="POOL/NODE")
@_edit_options
def uncordon(ctx: click.Context, target: str, **options: Any) -> None:
    """Make a cordoned node schedulable again (servers that moved off stay where they are)."""
    pool, node = _target(target, "NODE")
    _apply_edit(ctx, pool, partial(edit.set_cordon, pool=pool, node=node, cordoned=False), **options)


def _labels(pairs: tuple[str, ...]) -> dict[str, str]:
    labels = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--label")
        labels[key] = value
    return labels


@cli.command("add-node")
@click.argument("pool")
@click.argument("name")
@click.option("--address", required=True, help="External IPv4 or IPv6 address that clients dial.")
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE", help="A node label (repeatable).")
@click.option("--pods", type=click.IntRange(min=0), help="Capacity: most Pods on the node (default 110).")
@click.option("--cpu", help="Capacity: allocatable cpu, a Kubernetes quantity such as 32 or 15500m.")
@click.option("--memory", help="Capacity: allocatable memory, a Kubernetes quantity such as 128Gi.")
@click.option("--cordoned", is_flag=True, help="Add the node cordoned (unschedulable).")
@_edit_options
def add_node(ctx: click.Context, pool: str, name: str, labels: tuple[str, ...], **options: Any) -> None:
    """Append a node to a pool's spec.nodes, indented like the others, then render and print the plan."""
    capacity = {key: options.pop(key) for key in ("pods", "cpu", "memory")}
    node = edit.node_entry(name, options.pop("address"), _labels(labels), capacity, options.pop("cordoned"))
    _apply_edit(ctx, pool, partial(edit.add_node, pool=pool, node=node), **options)


@cli.command("remove-node")
@click.argument("target", metavar="POOL/NODE")
@_edit_options
def remove_node(ctx: click.Context, target: str, **options: Any) -> None:
    """Remove a node (and its own comments) from pool.yaml: its servers are placed again on this render."""
    pool, node = _target(target, "NODE")
    _apply_edit(ctx, pool, partial(edit.remove_node, pool=pool, node=node), **options)


@cli.command("import-agones")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--pool", required=True, help="The pool folder the fleets go to; it must exist.")
@click.option("--force", is_flag=True, help="Replace fleet files that already exist.")
@_edit_options
def import_agones(ctx: click.Context, files: tuple[Path, ...], pool: str, force: bool, **options: Any) -> None:
    """Write fleets/POOL/<fleet>.yaml from Agones Fleet and GameServer manifests; unmapped fields are listed."""
    _apply_edit(ctx, pool, partial(agones.import_files, pool=pool, files=files, force=force), **options)


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
