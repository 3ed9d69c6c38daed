"""Every server's address and ports, as the pools' endpoints ConfigMaps hold them: what `fleetgen endpoints`
prints, from the locks the stamp vouches for or from a compile (`placed`)."""

from __future__ import annotations

import json
from collections.abc import Iterable

from ..manifests.render import endpoint_entry
from .placed import PlacedPool


def endpoint_rows(pools: Iterable[PlacedPool], fleets: tuple[str, ...]) -> list[dict]:
    """One row per server (pool, fleet, ordinal order), optionally only of some fleets."""
    rows = []
    for pool in pools:
        addresses = pool.source.addresses
        for server in pool.allocation.servers:
            if not fleets or server.fleet in fleets:
                entry = endpoint_entry(server, addresses[server.node])
                rows.append({"pool": pool.name, "fleet": server.fleet, "server": server.name, **entry})
    return rows


def endpoints_json(rows: list[dict]) -> str:
    return json.dumps(rows, indent=2, sort_keys=True) + "\n"


def endpoints_table(rows: list[dict]) -> str:
    """Aligned columns; an IPv6 address is bracketed so `address:port` stays unambiguous."""
    table = [("POOL", "SERVER", "NODE", "ENDPOINTS")]
    for row in rows:
        host = f"[{row['address']}]" if ":" in row["address"] else row["address"]
        ports = " ".join(f"{name}={host}:{number}" for name, number in row["ports"].items())
        table.append((row["pool"], row["server"], row["node"], ports))
    widths = [max(len(line[i]) for line in table) for i in range(3)]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line[:3], widths, strict=True)) + "  " + line[3] + "\n"
        for line in table
    )
