"""Child process for the kill test in test_write.py: applies a generated tree so the parent can SIGKILL it
mid-write. Run as `python _render_child.py OUT_DIR old|new`; prints `ready` just before applying (so the
parent's random delay falls inside the apply, not inside interpreter start-up) and `done SECONDS` after."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from generator.tree.write import OWNED_MARKER, apply_tree

SHARED_POOLS = ("pool-a", "pool-b", "pool-c")
BIG = 256 * 1024


def _manifest(pool: str, unit: int, version: str) -> bytes:
    """Deterministic content; big every 8th unit so a write takes long enough to be killed inside."""
    head = f"{OWNED_MARKER.decode()}; do not edit\n# pool {pool} unit {unit} version {version}\n"
    size = BIG if unit % 8 == 0 else 4096
    line = f"- {{pool: {pool}, unit: {unit}, version: {version}}}\n"
    return (head + line * (size // len(line))).encode()


def build_tree(version: str) -> dict[str, dict[str, bytes]]:
    """`old` and `new` share most bytes; `new` changes every third unit, drops two, adds two, drops the
    pool `pool-gone` and adds `pool-added`, so one apply exercises every kind of change."""
    units = range(0, 40) if version == "old" else range(2, 42)
    pools = (*SHARED_POOLS, "pool-gone" if version == "old" else "pool-added")
    tree: dict[str, dict[str, bytes]] = {}
    for pool in pools:
        files = {"network/manifest.yaml": _manifest(pool, -1, version)}
        for unit in units:
            content_version = version if unit % 3 == 0 else "same"
            files[f"unit-{unit:02d}/manifest.yaml"] = _manifest(pool, unit, content_version)
        tree[pool] = files
    return tree


def main() -> None:
    out_dir, version = Path(sys.argv[1]), sys.argv[2]
    desired = build_tree(version)
    print("ready", flush=True)
    start = time.perf_counter()
    apply_tree(out_dir, desired)
    print(f"done {time.perf_counter() - start:.6f}", flush=True)


if __name__ == "__main__":
    main()
