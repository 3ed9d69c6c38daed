"""Repository: a fleet repository's files -> the validated pools and their compiled output, reusing what the
stamp vouches for; every diagnostic collected, none printed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..diagnostics import Diagnostic, has_errors
from ..fleetfiles.load import load_fleets, load_gitops
from ..fleetfiles.rules import Validated, validate_fleets
from ..manifests.delivery import GitOpsSource, parse_gitops
from ..settings import Settings
from . import stamp
from .compile import Compiled, compile_pools
from .record import PoolRecord, pools_overlap


@dataclass(frozen=True, slots=True)
class Outcome:
    compiled: Compiled | None  # None when any diagnostic is an error
    diagnostics: tuple[Diagnostic, ...]


def validated_repository(
    settings: Settings, reused: Sequence[PoolRecord] = ()
) -> tuple[Validated, GitOpsSource | None]:
    """The fleet files and fleets/gitops.yaml, checked together so that every problem is reported once; the
    folders of `reused` pools are not read."""
    skipped = {record.name for record in reused}
    loaded = load_fleets(settings.fleets, settings.pools, skipped)
    validated = validate_fleets(loaded, settings.kubernetes_version)
    documents, found = load_gitops(settings.fleets)
    pool_names = None if settings.pools else [*(pool.name for pool in loaded.pools), *skipped]
    gitops, more = parse_gitops(documents, validated.pools, pool_names)
    return replace(validated, diagnostics=tuple(sorted({*validated.diagnostics, *found, *more}))), gitops


def compile_repository(settings: Settings, prior: stamp.Prior = stamp.NOTHING) -> Outcome:
    """Load, validate and compile all but the pools `prior` vouches for.

    The rules that span pools see a reused pool only through its record, so on any error, or when a record
    says that two pools share a node or a namespace, every pool is read again: the diagnostics then name
    both places, exactly as a render from nothing would.
    """
    validated, gitops = validated_repository(settings, prior.reused)
    if prior.reused and has_errors(validated.diagnostics):
        return compile_repository(settings)
    if has_errors(validated.diagnostics):
        return Outcome(None, validated.diagnostics)
    compiled = compile_pools(validated, settings.kubernetes_version, gitops, prior.reused, settings.jobs)
    if prior.reused and pools_overlap(compiled.records):
        return compile_repository(settings)
    return Outcome(None if has_errors(compiled.diagnostics) else compiled, compiled.diagnostics)
