"""The benchmark at smoke size: it must run from the README command and its renders must be right."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_benchmark_runs_at_smoke_size_and_writes_only_what_changed() -> None:
    command = [sys.executable, "benchmarks/bench.py", "--servers", "3000", "--nodes", "100", "--pools", "5"]
    result = subprocess.run(
        [*command, "--runs", "1", "--pyyaml-sample", "500"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    rows = {line[:40].strip(): line[40:].split() for line in lines[2:] if line[:1].isalpha()}
    files, locks = 3, 4  # columns after wall time, CPU time and peak RSS
    assert rows["full render (empty rendered/)"][files] == "35+0"
    assert rows["no-op render"][files] == "0+0", "a no-op render writes no file"
    assert rows["check after +1 replica (stale)"][files] == "0+0", "check writes nothing"
    assert rows["one fleet +1 replica"][files] == "2+0", "only the fleet's unit and the network unit change"
    assert rows["one fleet +1 replica"][locks] == "1", "and the pool's lock"
    assert rows["one node cordoned"][files] in ("2+0", "3+0")
    assert rows["nodes sync --all, no change"][files] == "0+0", "a sync from the same Nodes writes nothing"
    assert rows["nodes sync --all, 1 node replaced"][locks] == "1", "only the replaced node's pool renders"
    assert {"fleetgen --help", "fleetgen --version", "git status (anchor)", "capacity, all pools"} <= rows.keys()
    assert any(name.startswith("status, ") for name in rows), "status reads the Pods of every server (all ok)"
    assert "probe, 600 loopback endpoints" in rows, "probe dials a fifth as many endpoints as servers, all checked"
    assert "time targets: not judged (they are set for 5,000 nodes and 150,000 servers)" in lines
    assert any(line.startswith("peak RSS <= 512 MiB") for line in lines)
    verified = lines[-1]
    assert verified.startswith("verified: renders without reuse write the same"), verified
