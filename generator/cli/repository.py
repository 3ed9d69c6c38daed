"""Commands that end early when the stamp vouches for every pool: render and check.

This module loads only what deciding "the stamp matches" needs (the stamp, its survey, the options); the
compile path, in `pipeline`, loads past that point, when some pool must be compiled.
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

import click

from ..diagnostics import Diagnostic
from ..settings import Settings
from ..tree import runlock, stamp
from .options import allow_delivery_removal_option, compile_options, settings_for, wait_option
from .report import ExitCode, print_diagnostics, print_or_exit


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


def up_to_date(settings: Settings, prior: stamp.Prior, said: str, writes: bool, deployable: bool = False) -> bool:
    """When the stamp vouches for everything: replay the warnings of the render it certifies (exit 1 when
    `deployable` makes one an error), say `said`, and True."""
    if not prior.whole:
        return False
    print_or_exit(prior.diagnostics, settings.fleets, writes, deployable)
    click.echo(said)
    return True


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
    prior = stamp.prior_for(settings)
    if not up_to_date(
        settings, prior, "wrote 0 files: nothing changed since the last render (its stamp matches)", True
    ):
        from .pipeline import render_compiled  # past the stamp: the compile path loads only now

        render_compiled(settings, prior, allow_delivery_removal)


@click.command()
@compile_options
@click.option("--diff", "show_diff", is_flag=True, help="Print a unified diff of each stale file (bounded).")
def check(fleets: Path, out: Path, pools: tuple[str, ...], kubernetes_version: str, jobs: int, show_diff: bool) -> None:
    """Exit 1 when rendered/ or a lock is not what render would write."""
    settings = settings_for(fleets, pools, kubernetes_version, out, jobs)
    prior = stamp.prior_for(settings)
    if not up_to_date(settings, prior, f"{settings.out}: up to date", writes=False, deployable=True):
        from .pipeline import check_compiled  # past the stamp: the compile path loads only now

        check_compiled(settings, prior, show_diff)
