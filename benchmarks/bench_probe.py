"""Benchmark: `fleetgen probe` against 30,000 endpoints on this machine's loopback (wall time, fresh processes).

Generates a pool whose nodes sit at 127.0.1.x (all of 127.0.0.0/8 is loopback on Linux) and one fleet with
a UDP and a TCP port, so that there are --endpoints endpoints. A listener process holds real sockets on a
third of the servers' ports (UDP ones echo, TCP ones accept), a silent UDP socket on one server in 300,
and nothing on the rest. The repository is rendered first, as a committed one is (probe then takes the
servers from the lock its stamp vouches for). Then `fleetgen endpoints` (a compile, no dialling) and
`fleetgen probe` run --runs times each in fresh processes, and every result is checked against what its
port holds.

    python benchmarks/bench_probe.py                     # 30,000 endpoints
    python benchmarks/bench_probe.py --endpoints 2000    # smoke size

Timings are printed, never asserted: a timed unit test would only measure the CI machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PODS_PER_NODE = 100
PORTS_PER_NODE = 2 * PODS_PER_NODE + 50
SILENT_EVERY = 300
FLEET = """\
apiVersion: fleetgen.dev/v1alpha1
kind: Fleet
metadata:
  name: arena
spec:
  replicas: {replicas}
  ports:
    - {{name: game, containerPort: 7777}}
    - {{name: query, portPolicy: Passthrough, protocol: TCP}}
  template:
    spec:
      containers:
        - {{name: server, image: registry.example.com/arena/server:2.0.1}}
"""


def node_address(index: int) -> str:
    return f"127.0.{1 + index // 250}.{1 + index % 250}"


def free_base() -> int:
    """The first of PORTS_PER_NODE ports that nothing holds on any address, over TCP and UDP: a wildcard bind
    fails when any address holds the port."""
    for base in range(20000, 29000, PORTS_PER_NODE):
        if all(_bindable(port) for port in range(base, base + PORTS_PER_NODE)):
            return base
    raise SystemExit("no free block of ports between 20000 and 29000")


def _bindable(port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        try:
            with socket.socket(socket.AF_INET, kind) as sock:
                sock.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def generate(root: Path, servers: int) -> None:
    base = free_base()
    nodes = -(-servers // PODS_PER_NODE)
    lines = [
        "apiVersion: fleetgen.dev/v1alpha1",
        "kind: NodePool",
        "metadata: {name: loopback}",
        "spec:",
        "  namespace: probe-bench",
        f"  portRanges: {{default: {{min: {base}, max: {base + PORTS_PER_NODE - 1}}}}}",
        "  nodes:",
        *(f"    - {{name: node-{i:04d}, address: {node_address(i)}, capacity: {{pods: 130}}}}" for i in range(nodes)),
    ]
    folder = root / "fleets" / "loopback"
    folder.mkdir(parents=True)
    (folder / "pool.yaml").write_text("\n".join(lines) + "\n")
    (folder / "fleet.yaml").write_text(FLEET.format(replicas=servers))


def behaviour(server: str) -> str:
    """What the listeners hold for a server: `listening` (both ports answer), `silent` (its UDP port is a
    socket that never answers, its TCP port is closed) or `closed`."""
    ordinal = int(server.rsplit("-", 1)[1])
    if ordinal % 3 == 0:
        return "listening"
    return "silent" if ordinal % SILENT_EVERY == 2 else "closed"


def expected(server: str, protocol: str) -> str:
    held = behaviour(server)
    if held == "listening":
        return "reachable"
    return "timeout" if held == "silent" and protocol == "UDP" else "refused"


def sockets_for(rows: list[dict]) -> list[tuple[str, int, str]]:
    """(address, port, kind) of every listener socket: `udp` echoes, `tcp` accepts, `silent` never reads."""
    found = []
    for row in rows:
        held = behaviour(row["server"])
        if held == "listening":
            found += [(row["address"], row["ports"]["game"], "udp"), (row["address"], row["ports"]["query"], "tcp")]
        elif held == "silent":
            found.append((row["address"], row["ports"]["game"], "silent"))
    return found


def serve(plan: Path) -> None:
    """The listener process: bind every socket of `plan`, say so, and serve until stdin closes."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
    selector = selectors.DefaultSelector()
    held = []
    for address, port, kind in json.loads(plan.read_text()):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM)
        sock.setblocking(False)
        sock.bind((address, port))
        if kind == "tcp":
            sock.listen(8)
        if kind != "silent":
            selector.register(sock, selectors.EVENT_READ, kind)
        held.append(sock)
    selector.register(sys.stdin, selectors.EVENT_READ, "stop")
    print(f"ready {len(held)}", flush=True)
    while True:
        for key, _ in selector.select():
            if key.data == "stop":
                return
            if key.data == "tcp":
                connection, _ = key.fileobj.accept()
                connection.close()
            else:
                data, peer = key.fileobj.recvfrom(65535)
                key.fileobj.sendto(data, peer)


def timed(root: Path, args: list[str]) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds and peak RSS (MiB) of one fresh `fleetgen` process, and what it printed."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "generator", *args], cwd=root, stdout=subprocess.PIPE, text=True)
    output = process.stdout.read() if process.stdout else ""
    _, _, usage = os.wait4(process.pid, 0)
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, output


@dataclass
class ProbeRuns:
    """The runs of `endpoints` and `probe`: (wall s, CPU s, peak RSS MiB) each, and what the probes found."""

    endpoints: int
    nodes: int
    sockets: int
    compile_runs: list[tuple[float, float, float]]
    probe_runs: list[tuple[float, float, float]]
    counts: dict[str, int]


def run_probe(endpoints: int, runs: int, timeout: str) -> ProbeRuns:
    """Generate the loopback pool, start the listeners, time `endpoints` and `probe`, and check every result."""
    root = Path(tempfile.mkdtemp(prefix="fleetgen-bench-probe-"))
    servers = endpoints // 2
    generate(root, servers)
    repository = Path(__file__).resolve().parents[1]
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(repository), os.environ.get("PYTHONPATH")]))
    timed(root, ["render"])  # the repository as committed: rendered and stamped, so probe reads its lock
    compile_runs = [timed(root, ["endpoints", "--format", "json"]) for _ in range(runs)]
    rows = json.loads(compile_runs[0][3])
    plan = root / "listeners.json"
    plan.write_text(json.dumps(sockets_for(rows)))
    listener = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(plan)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    ready = listener.stdout.readline() if listener.stdout else ""
    if not ready.startswith("ready"):
        raise SystemExit(f"the listener process did not start: {ready!r}")
    probe_runs = [timed(root, ["probe", "--format", "json", "--timeout", timeout]) for _ in range(runs)]
    if listener.stdin:
        listener.stdin.close()
    listener.wait()
    counts: dict[str, int] = {}
    for *_, output in probe_runs:
        results = json.loads(output)
        if len(results) != endpoints:
            raise SystemExit(f"probed {len(results)} endpoints, expected {endpoints}")
        wrong = [r for r in results if r["result"] != expected(r["server"], r["protocol"])]
        if wrong:
            raise SystemExit(f"{len(wrong)} results differ from what the ports hold, e.g. {wrong[0]}")
        counts = {name: sum(1 for r in results if r["result"] == name) for name in ("reachable", "refused", "timeout")}
    shutil.rmtree(root)
    return ProbeRuns(
        endpoints,
        -(-servers // PODS_PER_NODE),
        int(ready.split()[1]),
        [run[:3] for run in compile_runs],
        [run[:3] for run in probe_runs],
        counts,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoints", type=int, default=30_000, help="two a server: UDP game, TCP query")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", default="1.0", help="fleetgen probe --timeout")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    found = run_probe(args.endpoints, args.runs, args.timeout)
    compile_s = statistics.median(run[0] for run in found.compile_runs)
    probe_s = statistics.median(run[0] for run in found.probe_runs)
    print(
        f"{found.endpoints} endpoints ({found.endpoints // 2} servers on {found.nodes} loopback nodes), "
        f"{found.sockets} listener sockets"
    )
    print(f"median of {args.runs} runs; fleetgen probe's default concurrency, --timeout {args.timeout}")
    print(f"{'measure':36} {'wall s':>8} {'peak RSS MiB':>13}")
    print(f"{'endpoints (no dialling)':36} {compile_s:8.2f} {max(r[2] for r in found.compile_runs):13.0f}")
    print(f"{'probe (the lock read, every dial)':36} {probe_s:8.2f} {max(r[2] for r in found.probe_runs):13.0f}")
    print("verified: every result is what its port holds: " + ", ".join(f"{n} {k}" for k, n in found.counts.items()))


if __name__ == "__main__":
    main()
