"""Benchmark fleetgen at Kubernetes' own limits: 5,000 nodes, 150,000 servers.

Generates a synthetic fleet repository, then measures (median of --runs) each command in a fresh
process: wall time, peak RSS and files written. Beside them, two anchors from the same run: the time
PyYAML's C dumper takes to write the same Pods, one file each, as a hand-written Python generator would,
and `git status` on the rendered tree beside the no-op render. Once rendered, the repository is a git
checkout, as a user's is (fleetgen keeps its digest cache in .git; the first no-op fills it), and an edit is
undone with `git checkout` between runs. The cluster-facing commands read what
kubectl would print for the repository (`cluster_lists.py`): `status` its 150,000 Pods running, `nodes
sync --all` its 5,000 Nodes.

    python benchmarks/bench.py                      # full size
    python benchmarks/bench.py --servers 3000       # smoke size
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import bench_probe

STAMP = ".fleetgen-stamp"
HERE = Path(__file__).resolve().parent
GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", "-c", "core.autocrlf=false"]
PORT_MIXES = [
    [("game", "Dynamic", "UDP")],
    [("game", "Dynamic", "UDP"), ("query", "Passthrough", "TCP")],
    [("game", "Dynamic", "TCPUDP"), ("voice", "Dynamic", "UDP"), ("rcon", "Dynamic", "TCP")],
]


def pool_text(pool: int, nodes: int) -> str:
    lines = [
        "apiVersion: fleetgen.dev/v1alpha1",
        "kind: NodePool",
        "metadata:",
        f"  name: pool-{pool:02d}",
        "spec:",
        f"  namespace: games-{pool:02d}",
        f"  cluster: cluster-{pool % 5}",
        '  reservedPorts: [7100, "7500-7509"]',
        "  nodes:",
    ]
    for node in range(nodes):
        host = pool * nodes + node
        lines += [
            f"    - name: node-{pool:02d}-{node:04d}",
            f"      address: 10.{host // 65536}.{host // 256 % 256}.{host % 256}",
            f"      labels: {{zone: z{node % 3}}}",
            '      capacity: {pods: 110, cpu: "64", memory: 256Gi}',
        ]
    return "\n".join(lines) + "\n"


def fleet_text(name: str, replicas: int, mix: int) -> str:
    ports = []
    for port, policy, protocol in PORT_MIXES[mix]:
        ports += [f"    - name: {port}", f"      portPolicy: {policy}", f"      protocol: {protocol}"]
        if policy != "Passthrough":
            ports.append(f"      containerPort: {7777 + len(ports)}")
    return (
        "\n".join(
            [
                "apiVersion: fleetgen.dev/v1alpha1",
                "kind: Fleet",
                "metadata:",
                f"  name: {name}",
                "spec:",
                f"  replicas: {replicas}",
                f"  scheduling: {'Packed' if mix != 1 else 'Distributed'}",
                "  ports:",
                *ports,
                "  template:",
                "    metadata:",
                f"      labels: {{game: {name}, team: platform}}",
                "    spec:",
                "      terminationGracePeriodSeconds: 30",
                "      containers:",
                "        - name: server",
                f"          image: registry.example.com/games/{name}:1.{mix}.0",
                f'          args: ["--map=de_{name}", "--tickrate=64", "--max-players=10"]',
                "          env:",
                "            - {name: LOG_FORMAT, value: json}",
                "            - {name: REGION, value: eu-west}",
                "          resources:",
                "            requests: {cpu: 500m, memory: 1Gi}",
                '            limits: {cpu: "1", memory: 1Gi}',
            ]
        )
        + "\n"
    )


def generate(root: Path, pools: int, nodes: int, servers: int, fleets_per_pool: int) -> None:
    per_pool = servers // pools
    for pool in range(pools):
        folder = root / "fleets" / f"pool-{pool:02d}"
        folder.mkdir(parents=True)
        (folder / "pool.yaml").write_text(pool_text(pool, nodes // pools))
        replicas = [per_pool // fleets_per_pool] * fleets_per_pool
        replicas[0] += per_pool - sum(replicas)
        docs = [fleet_text(f"g{pool:02d}f{i}", count, i % 3) for i, count in enumerate(replicas)]
        (folder / "fleets.yaml").write_text("---\n".join(docs))


@dataclass
class Measure:
    name: str
    seconds: float
    cpu_seconds: float
    rss_mib: float
    files: str
    locks: str


# Issue 22's targets (seconds at full size on the project's 2-core machines), and the anchor they were set
# against: PyYAML's C dumper took about 75 s for the same Pods there. A target is met when the measure's
# ratio to the anchor of the same run is at most target / 75, so a busier or slower machine neither hides
# nor fakes a gain.
ANCHOR_SECONDS = 75.0
TARGETS = {
    "fleetgen --help": 0.1,
    "fleetgen --version": 0.1,
    "full render (empty rendered/)": 3.0,
    "no-op render": 0.25,
    "check": 0.25,
    "plan, nothing reused (no stamp)": 3.0,
    "check, nothing reused (no stamp)": 3.0,
    "capacity, all pools": 2.0,
    "status": 15.0,
    "nodes sync --all, no change": 2.0,
    "nodes sync --all, 1 node replaced": 2.0,
    "nodes sync --all, 1 replaced, no render": 2.0,
    "one fleet +1 replica": 0.5,
    "check after +1 replica (stale)": 0.5,
    "plan after +1 replica": 0.5,
    "probe": 10.0,
}
RSS_TARGET_MIB = 512
STATUS_RSS_TARGET_MIB = 1024


def target_of(name: str) -> float | None:
    return TARGETS.get(name.split(",")[0] if name.startswith(("status,", "probe,")) else name)


def timed(root: Path, args: list[str], program: list[str] | None = None) -> tuple[float, float, float, str, str, int]:
    """One fresh process of fleetgen (or of `program`): wall and CPU time (its own and its children's), peak
    RSS, files written, locks, exit code.
    Its output goes to files, so that a long one (status) does not fill a pipe and stall it."""
    command = [*(program or [sys.executable, "-m", "generator"]), *args]
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=root, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        stdout.seek(0)
        stderr.seek(0)
        output = stdout.read(1 << 20).decode(errors="replace") + stderr.read(1 << 20).decode(errors="replace")
    match = re.search(r"wrote (\d+) files(?:, removed (\d+), \d+ unchanged; (\d+) locks)?", output)
    files = f"{match.group(1)}+{match.group(2) or 0}" if match else "0+0"
    locks = match.group(3) or "0" if match else "0"
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, cpu, usage.ru_maxrss / 1024, files, locks, os.waitstatus_to_exitcode(status)


def measure(
    root: Path, name: str, args: list[str], runs: int, prepare=None, expect: int = 0, program: list[str] | None = None
) -> Measure:
    """The median wall and CPU time of `runs` fresh processes, the highest peak RSS, the middle run's file
    counts."""
    results = []
    for _ in range(runs):
        if prepare:
            prepare()
        seconds, cpu, rss, files, locks, code = timed(root, args, program)
        if code != expect:
            raise SystemExit(f"{name}: exit {code}, expected {expect}")
        results.append((seconds, cpu, rss, files, locks))
    middle = sorted(results)[len(results) // 2]
    return Measure(
        name,
        statistics.median(r[0] for r in results),
        statistics.median(r[1] for r in results),
        max(r[2] for r in results),
        middle[3],
        middle[4],
    )


def drop_stamp(root: Path) -> None:
    (root / "rendered" / STAMP).unlink(missing_ok=True)


def restore(root: Path, saved: Path) -> None:
    """Put fleets/ and rendered/ back as they were saved (so every run of an edit starts from one state)."""
    for folder in ("fleets", "rendered"):
        shutil.rmtree(root / folder, ignore_errors=True)
        shutil.copytree(saved / folder, root / folder, symlinks=True)


def tree(root: Path) -> dict[str, str]:
    """path -> digest of every file: the benchmark process stays small, so the peak RSS of the commands it
    starts afterwards (a forked child starts with its parent's pages) is theirs alone."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for folder in ("fleets", "rendered")
        for p in sorted((root / folder).rglob("*"))
        if p.is_file()
    }


def verify_without_reuse(root: Path) -> int:
    """Render a copy of the repository without its stamp (so no pool is reused); every file, lock and the
    stamp must equal what the reusing render left. Returns how many files were compared."""
    twin = root.parent / f"{root.name}-no-reuse"
    restore(twin, root)
    drop_stamp(twin)
    *_, code = timed(twin, ["render"])
    if code != 0:
        raise SystemExit("the render without reuse failed")
    expected, found = tree(twin), tree(root)
    shutil.rmtree(twin)
    if expected != found:
        differ = sorted(path for path in expected.keys() | found.keys() if expected.get(path) != found.get(path))
        raise SystemExit(f"the reusing render differs from one without reuse: {differ[:5]}")
    return len(found)


def bump_replicas(root: Path) -> None:
    path = root / "fleets/pool-00/fleets.yaml"
    text = path.read_text()
    count = int(re.search(r"replicas: (\d+)", text).group(1))
    path.write_text(text.replace(f"replicas: {count}", f"replicas: {count + 1}", 1))


def toggle_cordon(root: Path) -> None:
    path = root / "fleets/pool-01/pool.yaml"
    text = path.read_text()
    marker = '      capacity: {pods: 110, cpu: "64", memory: 256Gi}\n'
    cordoned = marker + "      unschedulable: true\n"
    path.write_text(text.replace(cordoned, marker, 1) if cordoned in text else text.replace(marker, cordoned, 1))


def pyyaml_seconds(root: Path, sample: int) -> tuple[float, int]:
    """PyYAML's C dumper writing `sample` of the same Pods, one file each, built as dicts the way a script would."""
    import yaml

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from generator.fleetfiles.load import load_fleets
    from generator.fleetfiles.rules import validate_fleets
    from generator.kube import api as kube
    from generator.manifests.render import pod_object
    from generator.manifests.verify import fill
    from generator.tree.compile import compile_pools

    version = kube.latest_version()
    compiled = compile_pools(validate_fleets(load_fleets(root / "fleets"), version), version)
    pods = []
    for pool in compiled.pools:
        addresses = pool.source.addresses
        fleets = {fleet.name: fleet for fleet in pool.source.fleets}
        shapes = {name: pod_object(pool.source, fleet) for name, fleet in fleets.items()}
        for server in pool.allocation.servers:
            values = {"server": server.name, "node": server.node, "address": addresses[server.node]}
            values.update({f"port:{n}": p for n, p in server.host_ports})
            values.update({f"env:{n}": str(p) for n, p in server.host_ports})
            pods.append(fill(shapes[server.fleet], values))
            if len(pods) >= sample:
                break
        if len(pods) >= sample:
            break
    with tempfile.TemporaryDirectory(dir=root.parent) as folder:
        start = time.perf_counter()
        for pod in pods:
            with open(Path(folder, pod["metadata"]["name"] + ".yaml"), "w", encoding="utf-8") as handle:
                yaml.dump(pod, handle, Dumper=yaml.CSafeDumper, sort_keys=False)
        seconds = time.perf_counter() - start
    return seconds, len(pods)


def cluster_list(root: Path, what: str) -> Path:
    """What kubectl would print for the repository's Nodes or running Pods, written by a separate process."""
    out = root.parent / f"{root.name}-{what}.json"
    subprocess.run(
        [sys.executable, str(HERE / "cluster_lists.py"), what, str(root), str(out)], check=True, capture_output=True
    )
    return out


def with_node_discovery(root: Path, twin: Path) -> None:
    """A copy of the repository whose pools find their nodes in the Node list by a label of their own."""
    restore(twin, root)
    for pool_file in sorted((twin / "fleets").glob("*/pool.yaml")):
        discovery = (
            "spec:\n  nodeDiscovery:\n"
            f"    selector: {{bench.fleetgen.dev/pool: {pool_file.parent.name}}}\n"
            "    addressTypes: [InternalIP]\n    copyLabels: [zone]\n"
        )
        pool_file.write_text(pool_file.read_text().replace("spec:\n", discovery, 1))


def replace_node(nodes_json: Path, out: Path) -> None:
    """The Node list with pool-00's first node gone and a new one in its place (a node pool upgrade)."""
    text = nodes_json.read_text()
    out.write_text(text.replace("node-00-0000", "node-00-new0").replace('"10.0.0.0"', '"10.255.0.0"'))


def cluster_rows(root: Path, runs: int) -> list[Measure]:
    """status on every server's Pod running as rendered (all ok, exit 0), nodes sync from the same Nodes
    (no change) and from a list where one node was replaced, capacity."""
    pods_json = cluster_list(root, "pods")
    size = pods_json.stat().st_size / 2**20
    rows = [
        measure(root, "capacity, all pools", ["capacity"], runs),
        measure(root, f"status, {size:.0f} MiB of Pods", ["status", "--pods", str(pods_json)], runs),
    ]
    pods_json.unlink()
    twin = root.parent / f"{root.name}-nodes"
    with_node_discovery(root, twin)
    nodes_json = cluster_list(twin, "nodes")
    *_, code = timed(twin, ["nodes", "sync", "--all", "--from", str(nodes_json)])  # the pools take the Nodes' shape
    if code != 0 or timed(twin, ["render"])[-1] != 0:  # and rendered/ is what they render, as when committed
        raise SystemExit("the first nodes sync or its render failed")
    before = tree(twin)
    rows.append(
        measure(twin, "nodes sync --all, no change", ["nodes", "sync", "--all", "--from", str(nodes_json)], runs)
    )
    if tree(twin) != before:
        raise SystemExit("a nodes sync from the same Node list changed a file")
    saved = root.parent / f"{root.name}-nodes-saved"
    restore(saved, twin)
    replaced = root.parent / f"{root.name}-nodes-replaced.json"
    replace_node(nodes_json, replaced)
    args = ["nodes", "sync", "--all", "--from", str(replaced)]
    rows.append(measure(twin, "nodes sync --all, 1 node replaced", args, runs, lambda: restore(twin, saved)))
    rows.append(
        measure(
            twin, "nodes sync --all, 1 replaced, no render", [*args, "--no-render"], runs, lambda: restore(twin, saved)
        )
    )
    for path in (nodes_json, replaced):
        path.unlink()
    for folder in (twin, saved):
        shutil.rmtree(folder)
    return rows


def commit(root: Path) -> None:
    """Make the rendered repository a git checkout, as a user's is: fleetgen keeps its digest cache in .git."""
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "rendered"]):
        subprocess.run([*GIT, *args], cwd=root, check=True)


def checkout(root: Path) -> None:
    """Undo an edit and its render as git does, rewriting only the files that changed."""
    subprocess.run([*GIT, "checkout", "-q", "--", "."], cwd=root, check=True)
    subprocess.run([*GIT, "clean", "-q", "-f", "-d", "--", "fleets", "rendered"], cwd=root, check=True)


def git_status_row(root: Path, runs: int) -> Measure:
    """`git status` on the rendered repository, committed: what a no-op render is compared with."""
    subprocess.run([*GIT, "status", "--porcelain"], cwd=root, check=True, capture_output=True)  # the index refreshed
    return measure(root, "git status (anchor)", ["status", "--porcelain"], runs, program=GIT)


def probe_row(endpoints: int, runs: int) -> Measure:
    """`probe` of `endpoints` loopback endpoints, a third listening (`bench_probe.py`), every result checked."""
    found = bench_probe.run_probe(endpoints, runs, "1.0")
    return Measure(
        f"probe, {endpoints} loopback endpoints",
        statistics.median(run[0] for run in found.probe_runs),
        statistics.median(run[1] for run in found.probe_runs),
        max(run[2] for run in found.probe_runs),
        "0+0",
        "0",
    )


def report(rows: list[Measure], anchor: float, judged: bool) -> str:
    """The table, each measure against its target through the anchor, and which targets are met (`judged`:
    the targets are set for full size; at another size the ratios are shown and nothing is judged)."""
    lines = [
        f"{'measure':40} {'wall s':>8} {'CPU s':>8} {'peak RSS MiB':>13} {'files +removed':>15} {'locks':>6} "
        f"{'x PyYAML':>9} {'target s':>9} {'target x':>9}  met"
    ]
    met, missed = [], []
    for row in rows:
        ratio = row.seconds / anchor
        target = target_of(row.name)
        verdict = "-"
        if target is not None and judged:
            verdict = "yes" if ratio <= target / ANCHOR_SECONDS else "no"
            (met if verdict == "yes" else missed).append(row.name)
        goal = f"{target:9.2f} {target / ANCHOR_SECONDS:9.4f}" if target is not None else f"{'-':>9} {'-':>9}"
        lines.append(
            f"{row.name:40} {row.seconds:8.2f} {row.cpu_seconds:8.2f} {row.rss_mib:13.0f} {row.files:>15} "
            f"{row.locks:>6} {ratio:9.4f} {goal}  {verdict}"
        )
    over = [
        f"{row.name} ({row.rss_mib:.0f})"
        for row in rows
        if row.rss_mib > (STATUS_RSS_TARGET_MIB if row.name.startswith("status,") else RSS_TARGET_MIB)
    ]
    if not judged:
        lines.append("time targets: not judged (they are set for 5,000 nodes and 150,000 servers)")
    else:
        lines.append(f"time targets met (by ratio to the anchor): {len(met)} of {len(met) + len(missed)}")
    if missed:
        lines.append("not met: " + "; ".join(missed))
    rss = f"over: {'; '.join(over)}" if over else "met by every command"
    lines.append(f"peak RSS <= {RSS_TARGET_MIB} MiB (status <= {STATUS_RSS_TARGET_MIB} MiB): {rss}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--servers", type=int, default=150_000)
    parser.add_argument("--pools", type=int, default=50)
    parser.add_argument("--fleets-per-pool", type=int, default=6)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pyyaml-sample", type=int, default=20_000, help="Pods PyYAML emits (scaled linearly)")
    parser.add_argument("--probe-endpoints", type=int, help="endpoints probed on loopback (default: servers / 5)")
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="fleetgen-bench-"))
    if root.exists() and any(root.iterdir()):
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    generate(root, args.pools, args.nodes, args.servers, args.fleets_per_pool)

    def clean() -> None:
        shutil.rmtree(root / "rendered", ignore_errors=True)
        for lock in (root / "fleets").glob("*/allocations.lock"):
            lock.unlink()

    rows = [
        measure(root, "fleetgen --help", ["--help"], args.runs),
        measure(root, "fleetgen --version", ["--version"], args.runs),
        measure(root, "full render (empty rendered/)", ["render"], args.runs, clean),
    ]
    commit(root)
    rows += [
        measure(root, "no-op render", ["render"], args.runs),
        git_status_row(root, args.runs),
        measure(root, "check", ["check"], args.runs),
        measure(root, "plan", ["plan"], args.runs),
    ]
    saved = root.parent / f"{root.name}-saved"
    restore(saved, root)
    rows.append(measure(root, "plan, nothing reused (no stamp)", ["plan"], args.runs, partial(drop_stamp, root)))
    rows.append(measure(root, "check, nothing reused (no stamp)", ["check"], args.runs, partial(drop_stamp, root)))
    restore(root, saved)
    rows += cluster_rows(root, args.runs)
    timed(root, ["check"])  # the digest cache as a checkout where fleetgen ran before has it

    def edited(change):
        return lambda: (checkout(root), change(root))

    rows.append(measure(root, "one fleet +1 replica", ["render"], args.runs, edited(bump_replicas)))
    compared = [verify_without_reuse(root)]
    rows += [
        measure(root, "check after +1 replica (stale)", ["check"], args.runs, edited(bump_replicas), expect=1),
        measure(root, "plan after +1 replica", ["plan"], args.runs, edited(bump_replicas)),
        measure(root, "one node cordoned", ["render"], args.runs, edited(toggle_cordon)),
    ]
    compared.append(verify_without_reuse(root))
    shutil.rmtree(saved)
    emit_seconds, sampled = pyyaml_seconds(root, min(args.pyyaml_sample, args.servers))
    pyyaml_full = emit_seconds * args.servers / sampled
    rows.append(probe_row(args.probe_endpoints or args.servers // 5, args.runs))
    print(f"{args.pools} pools, {args.nodes} nodes, {args.servers} servers; median of {args.runs} runs")
    print(report(rows, pyyaml_full, judged=args.servers >= 150_000 and args.nodes >= 5000))
    print(
        f"PyYAML CSafeDumper, one file a Pod: {pyyaml_full:.2f} s for {args.servers} Pods "
        f"(measured on {sampled}, scaled linearly); load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    counts = " and ".join(str(count) for count in compared)
    print(f"verified: renders without reuse write the same {counts} files (rendered/, locks, stamp), byte for byte")
    if not args.keep:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
