"""Delivery check: what render, check and plan need of the delivery objects before deciding to build them.

Their folder in rendered/, render's option that lets it remove one, and the warning that makes a repository
undeployable for `check`: a run the stamp vouches for replays the warnings, and reads no model, schema or
fleet file to do it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from ..diagnostics import Diagnostic, Severity

DELIVERY_FOLDER = "_delivery"
ALLOW_REMOVAL_OPTION = "--allow-delivery-removal"  # what render needs to remove a delivered unit
# What `fleetgen init` writes until told the repository's URL: Argo CD cannot clone it.
PLACEHOLDER_REPO_URL = "https://github.com/OWNER/REPO.git"
PLACEHOLDER_WARNING = "repoURL is still the placeholder that `fleetgen init` writes; Argo CD cannot clone it"


def as_check_errors(diagnostics: Iterable[Diagnostic]) -> tuple[Diagnostic, ...]:
    """The diagnostics as `check` sees them: a repository Argo CD cannot clone is not deployable, so the
    placeholder's warning (which render prints and its stamp replays) is an error there."""
    return tuple(
        replace(found, severity=Severity.ERROR) if found.message == PLACEHOLDER_WARNING else found
        for found in diagnostics
    )
