"""Options: each command-line option defined once and shared, and the settings they add up to."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..diagnostics import did_you_mean
from ..kube import versions
from ..manifests.delivery_check import ALLOW_REMOVAL_OPTION
from ..settings import Settings

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

kubernetes_version_option: Decorator = click.option(
    "--kubernetes-version",
    default=versions.latest_version,
    show_default="newest bundled",
    help="Kubernetes version whose API schemas templates and output are validated against.",
)

fleets_option: Decorator = click.option(
    "--fleets",
    "fleets",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("fleets"),
    show_default=True,
    help="Folder with one sub-folder per node pool.",
)

wait_option: Decorator = click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=60,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for another render or edit of this repository to finish; then exit 1.",
)

out_option: Decorator = click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("rendered"),
    show_default=True,
    help="Folder Argo CD or Flux applies; fleetgen owns the pool folders inside it.",
)

pool_option: Decorator = click.option("--pool", "pools", multiple=True, help="Only this pool (repeatable).")

fleet_option: Decorator = click.option("--fleet", "fleet_names", multiple=True, help="Only this fleet (repeatable).")


def pods_option(required: bool, purpose: str = "") -> Decorator:
    """--pods FILE|-: the live Pods, as kubectl prints them."""
    text = "What `kubectl get pods -A -o json` prints (JSON or YAML); - reads it from stdin."
    return click.option(
        "--pods", "pods_source", required=required, metavar="FILE|-", help=" ".join(filter(None, [text, purpose]))
    )


jobs_option: Decorator = click.option(
    "--jobs",
    type=click.IntRange(min=0),
    default=0,
    show_default="one per core from 10,000 servers",
    help="Processes to compile pools on; the output is the same whatever the number.",
)

allow_delivery_removal_option: Decorator = click.option(
    ALLOW_REMOVAL_OPTION,
    "allow_delivery_removal",
    is_flag=True,
    help="Remove Argo CD and Flux objects whose pools still have servers (Argo CD and Flux then delete them).",
)


def compile_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """What render, check and plan all take: the folders, the pools, the Kubernetes version, the processes."""
    for option in (jobs_option, kubernetes_version_option, pool_option, out_option, fleets_option):
        function = option(function)
    return function


def settings_for(
    fleets: Path, pools: tuple[str, ...], kubernetes_version: str, out: Path = Path("rendered"), jobs: int = 0
) -> Settings:
    """One frozen value from the options; an unknown Kubernetes version is a usage error (exit 2)."""
    resolved = versions.resolve_version(kubernetes_version)
    if resolved is None:
        supported = ", ".join(versions.bundled_versions())
        raise click.BadParameter(
            f"{kubernetes_version!r} is not one of the bundled versions: {supported}", param_hint="--kubernetes-version"
        )
    return Settings(fleets=fleets, out=out, pools=tuple(sorted(set(pools))), kubernetes_version=resolved, jobs=jobs)


def pool_and_name(value: str, what: str) -> tuple[str, str]:
    """POOL/NAME as given on the command line, split; anything else is a usage error."""
    pool, slash, name = value.partition("/")
    if not (pool and slash and name):
        raise click.BadParameter(f"{value!r} is not POOL/{what}", param_hint=f"POOL/{what}")
    return pool, name


def known_or_usage_error(asked: tuple[str, ...], known: set[str], option: str) -> None:
    """A usage error (exit 2) naming each of `asked` that is none of `known`, with a did-you-mean."""
    for name in asked:
        if name not in known:
            raise click.BadParameter(
                f"no {option.lstrip('-')} named {name!r}; {did_you_mean(name, known)}", param_hint=option
            )
