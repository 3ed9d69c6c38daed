"""Probe: dial every endpoint fleetgen handed out, as an operator would by hand with `nc` and `nc -u`.

TCP: a connect, refused on a reset. UDP: a datagram from a connected socket, then any reply; on Linux an
ICMP port unreachable comes back to a connected UDP socket as ECONNREFUSED, so a closed UDP port is
refused too. One event loop and a fixed number of workers, each holding at most one socket (never a
thread or a task per endpoint), so the open-file limit caps the concurrency, not the number of endpoints.
"""

from __future__ import annotations

import asyncio
import ipaddress
import resource
import socket
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

from .endpoints import endpoint_rows
from .placed import PlacedPool

DEFAULT_CONCURRENCY = 256
DEFAULT_TIMEOUT = 1.0
DEFAULT_PAYLOAD = b"fleetgen-probe\n"
# Files the process holds besides the probes' sockets: stdio, the event loop's selector and self-pipe,
# whatever Python keeps open.
RESERVED_FILES = 32
_MAX_DATAGRAM = 65535


class Result(StrEnum):
    REACHABLE = "reachable"  # TCP accepted, or a UDP reply came back
    REFUSED = "refused"  # TCP reset, or ICMP port unreachable on the UDP socket
    TIMEOUT = "timeout"  # no answer in time: dropped by a firewall, or a UDP server that ignores the payload
    UNREACHABLE = "unreachable"  # no route: the network or host is unreachable from here (ENETUNREACH, ...)


@dataclass(frozen=True, slots=True)
class Endpoint:
    pool: str
    fleet: str
    server: str
    port: str  # the port's name in the fleet
    protocol: str  # TCP or UDP: a TCPUDP port is two endpoints
    address: str
    host_port: int


@dataclass(frozen=True, slots=True)
class Probed:
    endpoint: Endpoint
    result: Result
    ms: float  # from the first packet to the result, to 0.1 ms


def probe_endpoints(
    pools: Sequence[PlacedPool], fleets: Iterable[str] = (), ports: Iterable[str] = ()
) -> list[Endpoint]:
    """Every endpoint `fleetgen endpoints` lists (of `fleets` and `ports` only, when given), per protocol,
    in its order."""
    wanted = set(ports)
    protocols = port_protocols(pools)
    found = []
    for row in endpoint_rows(pools, tuple(fleets)):
        for name, number in row["ports"].items():
            if wanted and name not in wanted:
                continue
            protocol = protocols[row["pool"], row["fleet"], name]
            for each in ("TCP", "UDP") if protocol == "TCPUDP" else (protocol,):
                found.append(Endpoint(row["pool"], row["fleet"], row["server"], name, each, row["address"], number))
    return found


def port_protocols(pools: Iterable[PlacedPool]) -> dict[tuple[str, str, str], str]:
    """(pool, fleet, port name) -> its protocol as the fleet file says: UDP, TCP or TCPUDP."""
    return {
        (pool.name, fleet.name, port.name): port.protocol
        for pool in pools
        for fleet in pool.source.fleets
        for port in fleet.model.spec.ports
    }


def concurrency_limit(asked: int) -> int:
    """`asked`, lowered to what the open-file limit (RLIMIT_NOFILE's soft limit) leaves for sockets."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return asked
    return max(1, min(asked, soft - RESERVED_FILES))


def probe(endpoints: Sequence[Endpoint], timeout: float, concurrency: int, payload: bytes) -> list[Probed]:
    """Each endpoint's result, in the endpoints' order whatever order the answers came in."""
    return asyncio.run(_probe_all(endpoints, timeout, max(1, concurrency), payload))


async def _probe_all(endpoints: Sequence[Endpoint], timeout: float, concurrency: int, payload: bytes) -> list[Probed]:
    results: list[Probed | None] = [None] * len(endpoints)
    turns: Iterator[int] = iter(range(len(endpoints)))  # shared: each worker takes the next endpoint

    async def worker() -> None:
        for index in turns:
            results[index] = await _probe_one(endpoints[index], timeout, payload)

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(endpoints)))))
    return [result for result in results if result is not None]


async def _probe_one(endpoint: Endpoint, timeout: float, payload: bytes) -> Probed:
    start = time.perf_counter()
    result = await _dial(endpoint, timeout, payload)
    return Probed(endpoint, result, round((time.perf_counter() - start) * 1000, 1))


async def _dial(endpoint: Endpoint, timeout: float, payload: bytes) -> Result:
    family = socket.AF_INET6 if ipaddress.ip_address(endpoint.address).version == 6 else socket.AF_INET
    tcp = endpoint.protocol == "TCP"
    loop = asyncio.get_running_loop()
    target = (endpoint.address, endpoint.host_port)
    with socket.socket(family, socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        try:
            async with asyncio.timeout(timeout):
                if tcp:
                    await loop.sock_connect(sock, target)
                else:
                    sock.connect(target)
                    sock.send(payload)
                    await loop.sock_recv(sock, _MAX_DATAGRAM)
        except TimeoutError:
            return Result.TIMEOUT
        except (ConnectionRefusedError, ConnectionResetError):
            return Result.REFUSED
        except OSError:
            return Result.UNREACHABLE
    return Result.REACHABLE
