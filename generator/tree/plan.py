"""Plan: old state vs new state -> sorted change sets per pool, then words for people or markdown."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import click

from ..allocation.lock import LockedServer
from ..allocation.rollout import FleetRevisions
from ..allocation.spec import Server
from ..allocation.usage import Use
from ..manifests.firewall_plan import FirewallPlan

LISTED = 20
GONE = "removed: its folder is no longer in fleets/, so its servers and delivery objects go"


@dataclass(frozen=True, slots=True)
class PoolPlan:
    pool: str
    servers: int
    added: tuple[str, ...]
    removed: tuple[str, ...]
    moved: tuple[tuple[str, str, str], ...]  # server, old node, new node
    ports_changed: tuple[tuple[str, str], ...]  # server, "game 7000 -> 7004"
    restarts: tuple[str, ...]
    files: tuple[str, ...]  # files that would be written or removed
    usage: tuple[Use, ...]
    firewall: FirewallPlan = field(default_factory=FirewallPlan)  # ranges opened and closed
    pod_security: tuple[bool, str] = (False, "")  # (in bold?, what it says): security.plan_notice
    delivery: tuple[str, ...] = ()  # Argo CD and Flux objects added, changed and removed
    takedown: str = ""  # said in bold: removing the delivery objects deletes servers the pool still has
    gone: bool = False  # the pool's folder left fleets/
    rollout: tuple[str, ...] = ()  # per fleet, which wave of which revision this is (rollout.rollout_lines)

    @property
    def changed(self) -> bool:
        moves = self.added or self.removed or self.moved or self.ports_changed or self.restarts
        return bool(moves or self.files or self.firewall.changes or self.delivery or self.gone or self.rollout)


def plan_pool(
    pool: str,
    servers: Iterable[Server],
    previous: Mapping[tuple[str, int], LockedServer],
    old_hashes: Mapping[str, str],
    revisions: Mapping[str, FleetRevisions],
    files: Iterable[str],
    usage: tuple[Use, ...],
    firewall: FirewallPlan | None = None,
    pod_security: tuple[bool, str] = (False, ""),
) -> PoolPlan:
    """Which servers appear, vanish, move, change ports or restart: a server restarts when its template
    revision changes, which the lock says (`old_hashes`, fleet -> template hash of its rendered Pods, stands
    in for a v1 lock, which does not)."""
    current = {(s.fleet, s.ordinal): s for s in servers}
    added, moved, ports_changed, restarts = [], [], [], []
    for key, server in current.items():
        old = previous.get(key)
        if old is None:
            added.append(server.name)
            continue
        old_ports = {port.name: port.host_port for port in old.ports}
        changes = [
            f"{name} {old_ports.get(name, '-')} -> {number}"
            for name, number in server.host_ports
            if old_ports.get(name) != number
        ]
        if old.node != server.node:
            moved.append((server.name, old.node, server.node))
        ports_changed += [(server.name, change) for change in changes]
        old_revision = old.revision or old_hashes.get(server.fleet)
        if old.node != server.node or changes or old_revision != revisions[server.fleet].revision(server.ordinal):
            restarts.append(server.name)
    removed = [f"{fleet}-{ordinal}" for fleet, ordinal in previous if (fleet, ordinal) not in current]
    order = _server_order
    return PoolPlan(
        pool,
        len(current),
        tuple(sorted(added, key=order)),
        tuple(sorted(removed, key=order)),
        tuple(sorted(moved, key=lambda m: order(m[0]))),
        tuple(sorted(ports_changed, key=lambda c: (order(c[0]), c[1]))),
        tuple(sorted(restarts, key=order)),
        tuple(sorted(files)),
        usage,
        firewall or FirewallPlan(),
        pod_security,
    )


def _server_order(name: str) -> tuple[str, int]:
    fleet, _, ordinal = name.rpartition("-")
    return fleet, int(ordinal)


def _listed(items: list[str]) -> list[str]:
    shown = items[:LISTED]
    if len(items) > LISTED:
        shown.append(f"... and {len(items) - LISTED} more")
    return shown


def _sections(plan: PoolPlan) -> list[tuple[str, list[str]]]:
    return [
        ("added", list(plan.added)),
        ("removed", list(plan.removed)),
        ("moved", [f"{server}: {old} -> {new}" for server, old, new in plan.moved]),
        ("ports changed", [f"{server}: {change}" for server, change in plan.ports_changed]),
        ("restart", list(plan.restarts)),
        ("firewall", [*plan.firewall.changes, *plan.firewall.unused]),
        ("delivery", list(plan.delivery)),
        ("files", list(plan.files)),
    ]


def _headline(plan: PoolPlan) -> str:
    if plan.gone:
        return GONE
    if not plan.changed:
        return "no changes"
    return (
        f"{plan.servers} servers: +{len(plan.added)} added, -{len(plan.removed)} removed, "
        f"{len(plan.moved)} moved, {len(plan.ports_changed)} port changes, {len(plan.restarts)} restart"
    )


def plan_text(plans: Iterable[PoolPlan]) -> str:
    lines = []
    for plan in plans:
        lines.append(f"pool {plan.pool}: {_headline(plan)}")
        if plan.takedown:
            lines.append("  " + click.style(plan.takedown, bold=True))
        if plan.rollout:
            lines += ["  rollout:", *(f"    {line}" for line in plan.rollout)]
        for title, items in _sections(plan):
            if items:
                lines.append(f"  {title}:")
                lines += [f"    {item}" for item in _listed(items)]
        if not plan.gone:
            lines.append("  use: " + ", ".join(use.describe() for use in plan.usage))
        bold, notice = plan.pod_security
        if notice:
            lines.append("  " + click.style(notice, bold=bold))
    return "\n".join(lines) + "\n"


def plan_markdown(plans: Iterable[PoolPlan]) -> str:
    plans = list(plans)
    lines = [
        "## fleetgen plan",
        "",
        "| pool | servers | added | removed | moved | port changes | restart |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for plan in plans:
        lines.append(
            f"| `{plan.pool}` | {plan.servers} | {len(plan.added)} | {len(plan.removed)} | {len(plan.moved)} "
            f"| {len(plan.ports_changed)} | {len(plan.restarts)} |"
        )
    for plan in plans:
        lines += ["", f"### `{plan.pool}`", ""]
        if plan.takedown:
            lines += [f"**{plan.takedown}**", ""]
        lines.append(GONE if plan.gone else "Use: " + ", ".join(use.describe() for use in plan.usage))
        bold, notice = plan.pod_security
        if notice:
            lines += ["", f"**{notice}**" if bold else notice]
        if plan.rollout:
            lines += ["", "Rollout:", "", *(f"- {line}" for line in plan.rollout)]
        for title, items in _sections(plan):
            if items:
                lines += ["", f"<details><summary>{title} ({len(items)})</summary>", ""]
                lines += [f"- `{item}`" for item in _listed(items)]
                lines += ["", "</details>"]
    return "\n".join(lines) + "\n"
