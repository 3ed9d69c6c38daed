"""`fleetgen rollout`: where each fleet's rollout stands, its next wave, and undo."""

from __future__ import annotations

import dataclasses
import sys
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import click

from ..cluster.pods import read_pods
from ..diagnostics import Diagnostic, has_errors
from ..edits import edit
from ..edits.rollout import propose_locks, propose_undo
from ..fleetfiles.rules import Validated
from ..live.gate import wave_gate
from ..settings import Settings
from ..tree import repository
from ..tree.rollout import LockEdits, fleet_rollouts, next_waves, undo_rollout
from .edits import edit_options, finish_edit
from .options import fleets_option, kubernetes_version_option, pods_option, pool_and_name, settings_for
from .report import ExitCode, print_diagnostics
from .repository import hold_run_lock

T = TypeVar("T")
NOTHING_LEFT = "nothing left to roll out: every server of every fleet runs its target; nothing was written"


@click.group()
def rollout() -> None:
    """Roll a fleet's template change out in waves (spec.rollout), see where it stands, go back."""


def _targets(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [pool_and_name(value, "FLEET") for value in values]


def _validated_or_exit(settings: Settings, edits: bool) -> Validated:
    """The validated fleet files; exit 1 on an error. Warnings are printed here unless the command `edits`
    (then the render that follows the edit prints them, once)."""
    validated, _ = repository.validated_repository(settings)
    shown = validated.diagnostics if not edits or has_errors(validated.diagnostics) else ()
    if print_diagnostics(shown, edits) is ExitCode.FAILED:
        sys.exit(ExitCode.FAILED)
    return validated


def _or_exit(found: T | Diagnostic, writes: bool) -> T:
    """`found`, unless it is the diagnostic of a target that names no fleet (then exit 1)."""
    if isinstance(found, Diagnostic):
        print_diagnostics([found], writes)
        sys.exit(ExitCode.FAILED)
    return found


@rollout.command()
@click.argument("targets", nargs=-1, metavar="[POOL/FLEET]...")
@fleets_option
@kubernetes_version_option
def status(targets: tuple[str, ...], fleets: Path, kubernetes_version: str) -> None:
    """Per fleet: its revisions and how many servers run each, the waves done and left, where undo goes.
    Only reports (exit 0 for valid fleet files)."""
    settings = settings_for(fleets, (), kubernetes_version)
    rollouts = _or_exit(fleet_rollouts(_validated_or_exit(settings, False), _targets(targets)), False)
    for found in rollouts:
        for line in found.lines():
            click.echo(line)


@rollout.command("next")
@click.argument("targets", nargs=-1, metavar="[POOL/FLEET]...")
@pods_option(required=False, purpose="Refuse unless every server already on the target revision is ok.")
@edit_options
def next_command(ctx: click.Context, targets: tuple[str, ...], pods_source: str | None, **options: Any) -> None:
    """Put the next wave of each fleet (of every fleet with servers left, when none is named) on its target
    revision in the lock, then render and print the plan. Nothing is written when nothing is left, or when
    --pods shows a server already on the target that is not ok."""
    hold_run_lock(options["fleets"], options["wait"])
    settings = settings_for(options["fleets"], (), options["kubernetes_version"], options["out"])
    edits = _or_exit(next_waves(_validated_or_exit(settings, True), _targets(targets)), True)
    if print_diagnostics(edits.problems, writes=True) is ExitCode.FAILED:
        sys.exit(ExitCode.FAILED)
    if not edits.locks:
        for line in edits.report:
            click.echo(line)
        click.echo(NOTHING_LEFT if not targets else "nothing was written")
        return
    if pods_source is not None:
        _gate_or_exit(settings, edits, pods_source)
    propose = partial(propose_locks, root=settings.fleets, locks=edits.locks, summary="the next wave")
    checked = edit.prepare_pools(settings, tuple(sorted(edits.locks)), propose)
    finish_edit(ctx, checked, settings, options["no_render"], list(edits.report))


def _gate_or_exit(settings: Settings, edits: LockEdits, pods_source: str) -> None:
    """Exit 1, having named them, when a server already on its fleet's target is not ok in the live Pods."""
    pods, problems = read_pods(pods_source, sys.stdin)
    if print_diagnostics(problems, writes=True) is ExitCode.FAILED:
        sys.exit(ExitCode.FAILED)
    pools = tuple(sorted({pool for pool, _ in edits.on_target}))
    outcome = repository.compile_repository(dataclasses.replace(settings, pools=pools))
    if outcome.compiled is None:  # the edit's own check prints the warnings, once
        print_diagnostics(outcome.diagnostics, writes=True)
        sys.exit(ExitCode.FAILED)
    if print_diagnostics(wave_gate(outcome.compiled, pods, edits.on_target, pods_source), True) is ExitCode.FAILED:
        sys.exit(ExitCode.FAILED)


@rollout.command()
@click.argument("target", metavar="POOL/FLEET")
@edit_options
def undo(ctx: click.Context, target: str, **options: Any) -> None:
    """Put every server of the fleet back on the revision it ran before, at once (not in waves): the fleet
    file's spec.template is restored from the lock, which becomes the target; then render and print the plan."""
    hold_run_lock(options["fleets"], options["wait"])
    settings = settings_for(options["fleets"], (), options["kubernetes_version"], options["out"])
    pool, fleet = pool_and_name(target, "FLEET")
    lock, template, line = _or_exit(undo_rollout(_validated_or_exit(settings, True), (pool, fleet)), True)
    propose = partial(
        propose_undo, root=settings.fleets, pool=pool, fleet=fleet, template=template, lock=lock, summary=line
    )
    checked = edit.prepare_pools(settings, (pool,), propose)
    finish_edit(ctx, checked, settings, options["no_render"], [line])
