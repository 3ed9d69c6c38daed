"""Report: diagnostics and summaries to the terminal, and the exit code they add up to."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

import click

from ..diagnostics import Diagnostic, format_diagnostic
from ..fleetfiles.entries import repository_of
from ..manifests.delivery_check import as_check_errors
from .exit_codes import ExitCode


def diagnostics_text(diagnostics: Iterable[Diagnostic], repository: Path | None = None) -> str:
    """Errors and warnings, sorted, as printed, with source lines only from files inside `repository`."""
    return "".join(format_diagnostic(diagnostic, repository) + "\n" for diagnostic in sorted(diagnostics))


def print_diagnostics(diagnostics: Iterable[Diagnostic], writes: bool = False, fleets: Path | None = None) -> ExitCode:
    """Print errors and warnings once, sorted, to stderr; FAILED when any is an error. A command that
    `writes` says that it wrote nothing; one that never writes does not make the reader wonder. Given the
    `fleets` folder, source lines come only from files of its repository: never another file's in a CI log."""
    ordered = sorted(diagnostics)
    click.echo(diagnostics_text(ordered, None if fleets is None else repository_of(fleets)), err=True, nl=False)
    errors = sum(1 for d in ordered if d.is_error)
    if errors:
        click.echo(
            f"fleetgen: {errors} error{'s' if errors != 1 else ''}{'; nothing was written' if writes else ''}", err=True
        )
        return ExitCode.FAILED
    return ExitCode.OK


def print_or_exit(diagnostics: Iterable[Diagnostic], fleets: Path, writes: bool, deployable: bool = False) -> None:
    """Print the diagnostics once (with `deployable`, the warnings that make a repository undeployable as
    errors); exit 1 when any is an error."""
    shown = as_check_errors(diagnostics) if deployable else diagnostics
    if print_diagnostics(shown, writes, fleets) is ExitCode.FAILED:
        sys.exit(ExitCode.FAILED)
