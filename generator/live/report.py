"""Report: live status and probe results in words, as an aligned table, JSON for scripts, or Markdown for a
pull-request comment. Every list keeps the order it was given in (pool, fleet, ordinal), so the same
inputs print the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from ..allocation.spec import plural
from .probe import Probed, Result
from .status import LiveStatus, State

MARKDOWN_ROWS = 100  # servers listed in a Markdown comment (GitHub caps a comment at 65,536 characters)


def status_json(status: LiveStatus) -> str:
    servers = [
        {
            "pool": s.pool,
            "fleet": s.fleet,
            "server": s.server,
            "namespace": s.namespace,
            "node": s.node,
            "state": s.state.value,
            "reason": s.reason,
        }
        for s in status.servers
    ]
    orphans = [{"namespace": o.namespace, "name": o.name, "node": o.node or None} for o in status.orphans]
    pools: dict[str, dict[str, dict[str, int]]] = {}
    for (pool, fleet), counts in status.counts().items():
        pools.setdefault(pool, {})[fleet] = {state.value: count for state, count in counts.items()}
    summary = {
        "pools": pools,
        "total": {state.value: count for state, count in status.totals().items()},
        "servers": len(status.servers),
        "orphans": len(status.orphans),
    }
    return json.dumps({"servers": servers, "orphans": orphans, "summary": summary}, indent=2) + "\n"


def status_table(status: LiveStatus) -> str:
    """Every server with its state and why, the orphans, then the counts per pool and fleet."""
    rows = [("POOL", "FLEET", "SERVER", "NODE", "STATE", "REASON")]
    rows += [(s.pool, s.fleet, s.server, s.node, s.state.value, s.reason) for s in status.servers]
    text = aligned(rows)
    if status.orphans:
        orphans = [("ORPHAN POD", "NODE")] + [(f"{o.namespace}/{o.name}", o.node or "-") for o in status.orphans]
        text += "\n" + aligned(orphans)
    counts = [("POOL", "FLEET", "SERVERS", *(state.value.upper() for state in State))]
    for (pool, fleet), by_state in status.counts().items():
        counts.append((pool, fleet, str(sum(by_state.values())), *(str(n) for n in by_state.values())))
    return text + "\n" + aligned(counts) + status_summary(status) + "\n"


def status_summary(status: LiveStatus) -> str:
    """`10 servers: 8 ok, 1 pending, 1 failed; 1 orphan`."""
    states = ", ".join(f"{count} {state.value}" for state, count in status.totals().items() if count)
    orphans = len(status.orphans)
    return f"{plural(len(status.servers), 'server')}: {states or 'none'}; {plural(orphans, 'orphan')}"


def status_markdown(status: LiveStatus) -> str:
    totals = status.totals()
    lines = ["## fleetgen status", "", f"**{totals[State.OK]} of {plural(len(status.servers), 'server')} ok**, "]
    lines[-1] += f"{plural(len(status.orphans), 'orphan')}."
    lines += ["", "| pool | fleet | servers | " + " | ".join(state.value for state in State) + " |"]
    lines.append("| --- | --- | ---: |" + " ---: |" * len(State))
    for (pool, fleet), by_state in status.counts().items():
        figures = " | ".join(str(count) for count in by_state.values())
        lines.append(f"| `{pool}` | `{fleet}` | {sum(by_state.values())} | {figures} |")
    failing = [s for s in status.servers if s.state is not State.OK]
    if failing:
        lines += ["", f"### Servers not ok ({len(failing)})", "", "| pool | server | node | state | reason |"]
        lines.append("| --- | --- | --- | --- | --- |")
        for s in failing[:MARKDOWN_ROWS]:
            lines.append(f"| `{s.pool}` | `{s.server}` | `{s.node}` | {s.state.value} | {_cell(s.reason)} |")
        if len(failing) > MARKDOWN_ROWS:
            lines += ["", f"... and {len(failing) - MARKDOWN_ROWS} more: `fleetgen status --format json` lists all."]
    if status.orphans:
        lines += ["", f"### Orphans ({len(status.orphans)})", "", "| namespace | Pod | node |", "| --- | --- | --- |"]
        lines += [f"| `{o.namespace}` | `{o.name}` | {f'`{o.node}`' if o.node else '-'} |" for o in status.orphans]
    return "\n".join(lines) + "\n"


def probe_json(results: Iterable[Probed]) -> str:
    rows = [
        {
            "pool": p.endpoint.pool,
            "fleet": p.endpoint.fleet,
            "server": p.endpoint.server,
            "port": p.endpoint.port,
            "protocol": p.endpoint.protocol,
            "address": p.endpoint.address,
            "hostPort": p.endpoint.host_port,
            "result": p.result.value,
            "ms": p.ms,
        }
        for p in results
    ]
    return json.dumps(rows, indent=2) + "\n"


def probe_table(results: Sequence[Probed]) -> str:
    """One line per endpoint (an IPv6 address bracketed, so `address:port` reads one way), then the counts."""
    rows = [("POOL", "SERVER", "PORT", "PROTOCOL", "ENDPOINT", "RESULT", "MS")]
    for p in results:
        e = p.endpoint
        host = f"[{e.address}]" if ":" in e.address else e.address
        rows.append((e.pool, e.server, e.port, e.protocol, f"{host}:{e.host_port}", p.result.value, f"{p.ms:.1f}"))
    return aligned(rows) + probe_summary(results) + "\n"


def probe_summary(results: Sequence[Probed]) -> str:
    """`24 endpoints: 20 reachable, 3 refused, 1 timeout`."""
    counts = {result: sum(1 for p in results if p.result is result) for result in Result}
    found = ", ".join(f"{count} {result.value}" for result, count in counts.items() if count)
    return f"{plural(len(results), 'endpoint')}: {found or 'none'}"


def aligned(rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, two spaces apart; the last is not padded."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = (
        "  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]]) for row in rows
    )
    return "".join(line.rstrip() + "\n" for line in lines)


def _cell(text: Any) -> str:
    """Text safe in a Markdown table cell: no column break, no HTML tag."""
    return str(text).replace("|", "\\|").replace("<", "&lt;") or "-"
