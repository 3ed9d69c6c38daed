"""fleetgen probe against real sockets: a pool whose nodes are this machine's loopback addresses, real UDP and
TCP listeners on some of its servers' hostPorts, and nothing (or a silent socket) on the others.

Traffic goes to 127.0.0.1 and ::1 only, a few dozen packets a test, with short timeouts.
"""

from __future__ import annotations

import json
import random
import resource
import selectors
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import pytest
from click.testing import CliRunner

from generator.cli import cli

RANGE_SIZE = 40
TIMEOUT = "1"  # seconds: short, yet ample for an answer on loopback on a busy machine


def has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


LOOPBACKS = ["127.0.0.1", *(["::1"] if has_ipv6_loopback() else [])]


def family(address: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def is_free(address: str, port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        try:
            with socket.socket(family(address), kind) as sock:
                sock.bind((address, port))
        except OSError:
            return False
    return True


def free_range() -> int:
    """The first port of RANGE_SIZE ports that nothing on this machine holds, over TCP and UDP, on any loopback."""
    chooser = random.SystemRandom()
    for _ in range(50):
        base = chooser.randrange(20000, 29000)
        if all(is_free(address, port) for address in LOOPBACKS for port in range(base, base + RANGE_SIZE)):
            return base
    pytest.skip("no free block of loopback ports")


POOL = """\
apiVersion: fleetgen.dev/v1alpha1
kind: NodePool
metadata:
  name: loopback
spec:
  namespace: probe-test
  portRanges:
    default: {{min: {low}, max: {high}}}
  nodes:
{nodes}
"""
FLEETS = """\
apiVersion: fleetgen.dev/v1alpha1
kind: Fleet
metadata:
  name: arena
spec:
  replicas: {replicas}
  scheduling: Distributed
  ports:
    - {{name: game, containerPort: 7777}}
    - {{name: query, portPolicy: Passthrough, protocol: TCP}}
    - {{name: voice, containerPort: 9987, protocol: TCPUDP}}
  template:
    spec:
      containers:
        - {{name: server, image: registry.example.com/arena/server:2.0.1}}
---
apiVersion: fleetgen.dev/v1alpha1
kind: Fleet
metadata:
  name: lobby
spec:
  replicas: 1
  ports:
    - {{name: http, containerPort: 8080, protocol: TCP}}
  template:
    spec:
      containers:
        - {{name: lobby, image: registry.example.com/arena/lobby:1.3.0}}
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def write_pool(root: Path, replicas: int) -> None:
    base = free_range()
    nodes = "".join(f'    - {{name: local-{i}, address: "{address}"}}\n' for i, address in enumerate(LOOPBACKS))
    folder = root / "fleets" / "loopback"
    folder.mkdir(parents=True)
    (folder / "pool.yaml").write_text(POOL.format(low=base, high=base + RANGE_SIZE - 1, nodes=nodes.rstrip("\n")))
    (folder / "fleets.yaml").write_text(FLEETS.format(replicas=replicas))


@pytest.fixture
def pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A rendered pool of servers on this machine's loopback addresses, as the working directory."""
    write_pool(tmp_path, replicas=4)
    monkeypatch.chdir(tmp_path)
    code, _, err = run("render")
    assert code == 0, err
    return tmp_path


def endpoints() -> dict[str, dict]:
    """server -> its row of `fleetgen endpoints`."""
    code, out, _ = run("endpoints", "--format", "json")
    assert code == 0
    return {row["server"]: row for row in json.loads(out)}


class Listeners:
    """Real sockets on loopback, served on a thread: UDP ones echo what they get (or stay silent), TCP ones
    accept and close."""

    def __init__(self) -> None:
        self.selector = selectors.DefaultSelector()
        self.sockets: list[socket.socket] = []
        self.received: list[bytes] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def udp(self, address: str, port: int, echo: bool = True) -> None:
        sock = self._bound(address, port, socket.SOCK_DGRAM)
        if echo:
            self.selector.register(sock, selectors.EVENT_READ, "udp")

    def tcp(self, address: str, port: int) -> None:
        sock = self._bound(address, port, socket.SOCK_STREAM)
        sock.listen(16)
        self.selector.register(sock, selectors.EVENT_READ, "tcp")

    def _bound(self, address: str, port: int, kind: socket.SocketKind) -> socket.socket:
        sock = socket.socket(family(address), kind)
        sock.setblocking(False)
        sock.bind((address, port))
        self.sockets.append(sock)
        return sock

    def _serve(self) -> None:
        while not self.stop.is_set():
            for key, _ in self.selector.select(0.05):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if key.data == "tcp":
                    connection, _ = sock.accept()
                    connection.close()
                else:
                    data, peer = sock.recvfrom(65535)
                    self.received.append(data)
                    sock.sendto(b"ACK: " + data, peer)

    def __enter__(self) -> Listeners:
        self.thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop.set()
        self.thread.join()
        self.selector.close()
        for sock in self.sockets:
            sock.close()


def results(*args: str) -> tuple[int, list[dict]]:
    code, out, err = run("probe", "--timeout", TIMEOUT, "--format", "json", *args)
    assert code in (0, 1), err
    return code, json.loads(out)


def by_endpoint(rows: list[dict]) -> dict[tuple[str, str, str], str]:
    return {(row["server"], row["port"], row["protocol"]): row["result"] for row in rows}


@pytest.fixture
def listening(pool: Path) -> Iterator[tuple[dict[str, dict], Listeners]]:
    """arena-0: every port answers; arena-1: game and query answer, voice is closed; arena-2: game is a silent
    UDP socket, the rest closed; arena-3: all closed; lobby-0: its TCP port answers."""
    rows = endpoints()
    with Listeners() as listeners:
        for server, ports in {"arena-0": ("game", "query", "voice"), "arena-1": ("game", "query")}.items():
            address, numbers = rows[server]["address"], rows[server]["ports"]
            for port in ports:
                if port in ("game", "voice"):
                    listeners.udp(address, numbers[port])
                if port in ("query", "voice"):
                    listeners.tcp(address, numbers[port])
        listeners.udp(rows["arena-2"]["address"], rows["arena-2"]["ports"]["game"], echo=False)
        listeners.tcp(rows["lobby-0"]["address"], rows["lobby-0"]["ports"]["http"])
        yield rows, listeners


def test_listening_ports_are_reachable_and_the_others_refused_or_timed_out(listening: tuple) -> None:
    rows, listeners = listening
    code, found = results()
    assert code == 1
    assert by_endpoint(found) == {
        ("arena-0", "game", "UDP"): "reachable",
        ("arena-0", "query", "TCP"): "reachable",
        ("arena-0", "voice", "TCP"): "reachable",
        ("arena-0", "voice", "UDP"): "reachable",
        ("arena-1", "game", "UDP"): "reachable",
        ("arena-1", "query", "TCP"): "reachable",
        ("arena-1", "voice", "TCP"): "refused",
        ("arena-1", "voice", "UDP"): "refused",  # ICMP port unreachable, seen on the connected socket
        ("arena-2", "game", "UDP"): "timeout",  # a socket that never answers
        ("arena-2", "query", "TCP"): "refused",
        ("arena-2", "voice", "TCP"): "refused",
        ("arena-2", "voice", "UDP"): "refused",
        ("arena-3", "game", "UDP"): "refused",
        ("arena-3", "query", "TCP"): "refused",
        ("arena-3", "voice", "TCP"): "refused",
        ("arena-3", "voice", "UDP"): "refused",
        ("lobby-0", "http", "TCP"): "reachable",
    }
    assert {row["address"] for row in found} == set(LOOPBACKS), "IPv4 and IPv6 nodes are both dialled"
    assert listeners.received == [b"fleetgen-probe\n"] * 3, "each echoing UDP socket got the default payload once"
    first = found[0]
    assert list(first) == ["pool", "fleet", "server", "port", "protocol", "address", "hostPort", "result", "ms"]
    assert first["pool"] == "loopback" and first["hostPort"] == rows["arena-0"]["ports"]["game"]
    timed_out = next(row for row in found if row["result"] == "timeout")
    assert timed_out["ms"] >= 1000 and all(row["ms"] < 1000 for row in found if row["result"] != "timeout")


def test_filters_and_the_exit_code_when_all_are_reachable(listening: tuple) -> None:
    code, found = results("--fleet", "lobby")
    assert code == 0 and [row["result"] for row in found] == ["reachable"]
    code, found = results("--fleet", "arena", "--port", "query")
    assert code == 1
    assert [(row["server"], row["result"]) for row in found] == [
        ("arena-0", "reachable"),
        ("arena-1", "reachable"),
        ("arena-2", "refused"),
        ("arena-3", "refused"),
    ]
    code, table, _ = run("probe", "--timeout", TIMEOUT, "--port", "voice")
    assert code == 1
    lines = table.splitlines()
    assert lines[0].split() == ["POOL", "SERVER", "PORT", "PROTOCOL", "ENDPOINT", "RESULT", "MS"]
    assert lines[-1] == "8 endpoints: 2 reachable, 6 refused"
    if "::1" in LOOPBACKS:
        assert any("[::1]:" in line for line in lines), "an IPv6 endpoint is bracketed"


def test_the_udp_payload_is_what_the_options_say(listening: tuple) -> None:
    _, listeners = listening
    a2s_info = "ffffffff54536f7572636520456e67696e6520517565727900"  # Source engine's A2S_INFO query
    results("--fleet", "arena", "--port", "game", "--payload-hex", a2s_info)
    results("--fleet", "arena", "--port", "game", "--payload", "status")
    assert listeners.received == [bytes.fromhex(a2s_info)] * 2 + [b"status"] * 2


def test_usage_errors_exit_2(pool: Path) -> None:
    code, _, err = run("probe", "--payload", "a", "--payload-hex", "61")
    assert code == 2 and "not both" in err
    code, _, err = run("probe", "--payload-hex", "zz")
    assert code == 2 and "'zz' is not hex" in err
    code, _, err = run("probe", "--port", "gam")
    assert code == 2 and "did you mean 'game'?" in err
    assert run("probe", "--concurrency", "0")[0] == 2
    assert run("probe", "--timeout", "0")[0] == 2


def test_concurrency_is_bounded_by_the_open_file_limit(tmp_path: Path) -> None:
    """Under a limit of 48 open files, 96 endpoints are dialled, never more at once than the limit leaves."""
    write_pool(tmp_path, replicas=24)
    limit = 48

    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

    command = [sys.executable, "-m", "generator", "probe", "--fleet", "arena", "--timeout", TIMEOUT]
    done = subprocess.run(
        [*command, "--concurrency", "5000", "--format", "json"],
        cwd=tmp_path,
        preexec_fn=low_limit,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert f"--concurrency 5000 lowered to {limit - 32} by the open-file limit" in done.stderr
    found = json.loads(done.stdout)
    assert len(found) == 96 and {row["result"] for row in found} == {"refused"}


def test_the_probe_benchmark_runs_at_smoke_size_and_checks_every_result() -> None:
    """`benchmarks/bench_probe.py` as BENCHMARKS.md runs it, small: its figures are printed, never asserted."""
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "benchmarks/bench_probe.py", "--endpoints", "600", "--runs", "1", "--timeout", TIMEOUT],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("600 endpoints (300 servers on 3 loopback nodes)")
    assert lines[-1] == "verified: every result is what its port holds: 200 reachable, 399 refused, 1 timeout", (
        done.stdout
    )
